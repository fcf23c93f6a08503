//! Interrupt unmask and NUMA config registers (ena.md §5.7).

/// Interrupt register bits 14:0: RX delay.
pub const INTR_RX_DELAY_MASK: u32 = 0x7FFF;
/// Interrupt register bits 29:15: TX delay.
pub const INTR_TX_DELAY_SHIFT: u32 = 15;
/// Width mask of the TX delay (15 bits).
pub const INTR_TX_DELAY_MASK: u32 = 0x7FFF;
/// Interrupt register bit 30: unmask.
pub const INTR_UNMASK: u32 = 1 << 30;
/// Interrupt register bit 31: keep the previous delays.
pub const INTR_NO_MODERATION_UPDATE: u32 = 1 << 31;
/// Largest delay either field can hold (in device delay-resolution units).
pub const INTR_DELAY_MAX: u32 = 0x7FFF;

/// Decoded interrupt unmask register (ena.md §5.7).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct IntrCtrl {
    /// RX delay in device resolution units (saturates at [`INTR_DELAY_MAX`]).
    pub rx_delay: u32,
    /// TX delay in device resolution units (saturates at [`INTR_DELAY_MAX`]).
    pub tx_delay: u32,
    /// Re-arm the vector.
    pub unmask: bool,
    /// Ignore the delay fields (keep the previous moderation).
    pub no_moderation_update: bool,
}

impl IntrCtrl {
    /// Register value; delays above the 15-bit fields saturate.
    pub const fn encode(&self) -> u32 {
        let rx = if self.rx_delay > INTR_DELAY_MAX {
            INTR_DELAY_MAX
        } else {
            self.rx_delay
        };
        let tx = if self.tx_delay > INTR_DELAY_MAX {
            INTR_DELAY_MAX
        } else {
            self.tx_delay
        };
        let mut v = rx | tx << INTR_TX_DELAY_SHIFT;
        if self.unmask {
            v |= INTR_UNMASK;
        }
        if self.no_moderation_update {
            v |= INTR_NO_MODERATION_UPDATE;
        }
        v
    }
    /// Decode a register value (device side).
    pub const fn decode(v: u32) -> Self {
        IntrCtrl {
            rx_delay: v & INTR_RX_DELAY_MASK,
            tx_delay: (v >> INTR_TX_DELAY_SHIFT) & INTR_TX_DELAY_MASK,
            unmask: v & INTR_UNMASK != 0,
            no_moderation_update: v & INTR_NO_MODERATION_UPDATE != 0,
        }
    }
}

/// NUMA config register bits 7:0: node.
pub const NUMA_NODE_MASK: u32 = 0xFF;
/// NUMA config register bit 31: enable.
pub const NUMA_ENABLE: u32 = 1 << 31;

/// NUMA config register value for `node` (enable bit set) (ena.md §5.7).
pub const fn numa_config(node: u8) -> u32 {
    node as u32 | NUMA_ENABLE
}
