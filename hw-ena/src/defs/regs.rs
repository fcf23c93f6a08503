//! BAR 0 register map and register field encodings (ena.md §1.2–§1.4, §2).
//!
//! Registers are plain 32-bit words; each field is exposed as a named mask /
//! shift pair plus small encode/decode helpers so neither the driver nor the
//! device model ever writes a bare "+ 28" or "<< 16".

use zerocopy_derive::{FromBytes, Immutable, IntoBytes, KnownLayout};

/// BAR 0 register offsets (ena.md §1.2).
pub mod offset {
    /// Device (spec) version, read-only.
    pub const VERSION: u32 = 0x00;
    /// Controller version and implementation id, read-only.
    pub const CONTROLLER_VERSION: u32 = 0x04;
    /// Capabilities: reset timeout, DMA width, admin timeout.
    pub const CAPS: u32 = 0x08;
    /// Extended capabilities; no fields are published (ena.md §11).
    pub const CAPS_EXT: u32 = 0x0C;
    /// Admin SQ base address bits 31:0.
    pub const AQ_BASE_LO: u32 = 0x10;
    /// Admin SQ base address bits 63:32.
    pub const AQ_BASE_HI: u32 = 0x14;
    /// Admin SQ depth and entry size.
    pub const AQ_CAPS: u32 = 0x18;
    /// Admin CQ base address bits 31:0.
    pub const ACQ_BASE_LO: u32 = 0x20;
    /// Admin CQ base address bits 63:32.
    pub const ACQ_BASE_HI: u32 = 0x24;
    /// Admin CQ depth and entry size.
    pub const ACQ_CAPS: u32 = 0x28;
    /// Admin SQ doorbell: the free-running tail.
    pub const AQ_DB: u32 = 0x2C;
    /// Admin CQ tail; defined but unused by drivers.
    pub const ACQ_TAIL: u32 = 0x30;
    /// AENQ depth and entry size.
    pub const AENQ_CAPS: u32 = 0x34;
    /// AENQ base address bits 31:0.
    pub const AENQ_BASE_LO: u32 = 0x38;
    /// AENQ base address bits 63:32.
    pub const AENQ_BASE_HI: u32 = 0x3C;
    /// AENQ head doorbell: the free-running head counter.
    pub const AENQ_HEAD_DB: u32 = 0x40;
    /// AENQ tail; defined but unused by drivers.
    pub const AENQ_TAIL: u32 = 0x44;
    /// Admin/AENQ interrupt mask (1 = masked, driver polls).
    pub const INTR_MASK: u32 = 0x4C;
    /// Device control: reset, AQ restart, quiescent, IO resume, reset reason.
    pub const DEV_CTL: u32 = 0x54;
    /// Device status.
    pub const DEV_STS: u32 = 0x58;
    /// Readless read request: `(offset << 16) | req_id`.
    pub const MMIO_REG_READ: u32 = 0x5C;
    /// Readless response buffer address bits 31:0.
    pub const MMIO_RESP_LO: u32 = 0x60;
    /// Readless response buffer address bits 63:32.
    pub const MMIO_RESP_HI: u32 = 0x64;
    /// Single RSS table entry update; unused by drivers.
    pub const RSS_IND_ENTRY_UPDATE: u32 = 0x68;
    /// PTP clock doorbell (the real offset comes from GET_FEATURE PHC).
    pub const PHC_DB: u32 = 0x100;
}

/// VERSION register (ena.md §1.3): bits 7:0 minor, 15:8 major.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Version(pub u32);

impl Version {
    /// Minor version field mask.
    pub const MINOR_MASK: u32 = 0xFF;
    /// Major version field shift.
    pub const MAJOR_SHIFT: u32 = 8;
    /// Major version field mask (after shifting).
    pub const MAJOR_MASK: u32 = 0xFF;

    /// Encode a (major, minor) pair.
    pub const fn new(major: u8, minor: u8) -> Self {
        Version(((major as u32) << Self::MAJOR_SHIFT) | minor as u32)
    }
    /// Major version.
    pub const fn major(self) -> u8 {
        ((self.0 >> Self::MAJOR_SHIFT) & Self::MAJOR_MASK) as u8
    }
    /// Minor version.
    pub const fn minor(self) -> u8 {
        (self.0 & Self::MINOR_MASK) as u8
    }
}

/// CONTROLLER_VERSION register (ena.md §1.3): 7:0 subminor, 15:8 minor,
/// 23:16 major, 31:24 implementation id.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ControllerVersion(pub u32);

impl ControllerVersion {
    /// Minor field shift.
    pub const MINOR_SHIFT: u32 = 8;
    /// Major field shift.
    pub const MAJOR_SHIFT: u32 = 16;
    /// Implementation id field shift.
    pub const IMPL_ID_SHIFT: u32 = 24;
    /// Width mask of every field.
    pub const FIELD_MASK: u32 = 0xFF;
    /// Oldest controller the driver accepts, as (major, minor, subminor)
    /// packed without the implementation id: 0.0.1 (ena.md §1.3).
    pub const MIN_SUPPORTED: u32 = 0x00_00_01;
    /// Mask of the major/minor/subminor part used for the minimum check.
    pub const VERSION_MASK: u32 = 0x00FF_FFFF;

    /// Encode a controller version.
    pub const fn new(major: u8, minor: u8, subminor: u8, impl_id: u8) -> Self {
        ControllerVersion(
            ((impl_id as u32) << Self::IMPL_ID_SHIFT)
                | ((major as u32) << Self::MAJOR_SHIFT)
                | ((minor as u32) << Self::MINOR_SHIFT)
                | subminor as u32,
        )
    }
    /// Sub-minor version.
    pub const fn subminor(self) -> u8 {
        (self.0 & Self::FIELD_MASK) as u8
    }
    /// Minor version.
    pub const fn minor(self) -> u8 {
        ((self.0 >> Self::MINOR_SHIFT) & Self::FIELD_MASK) as u8
    }
    /// Major version.
    pub const fn major(self) -> u8 {
        ((self.0 >> Self::MAJOR_SHIFT) & Self::FIELD_MASK) as u8
    }
    /// Implementation id (ignored by the version check).
    pub const fn impl_id(self) -> u8 {
        ((self.0 >> Self::IMPL_ID_SHIFT) & Self::FIELD_MASK) as u8
    }
    /// True when at least 0.0.1 (ena.md §1.3, implementation id ignored).
    pub const fn is_supported(self) -> bool {
        (self.0 & Self::VERSION_MASK) >= Self::MIN_SUPPORTED
    }
}

/// CAPS register (ena.md §1.3).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Caps(pub u32);

impl Caps {
    /// Bit 0: contiguous queue memory required.
    pub const CONTIGUOUS_QUEUE_REQUIRED: u32 = 1 << 0;
    /// Bits 5:1: reset timeout in 100 ms units.
    pub const RESET_TIMEOUT_SHIFT: u32 = 1;
    /// Reset timeout mask (after shifting).
    pub const RESET_TIMEOUT_MASK: u32 = 0x1F;
    /// Bits 15:8: DMA address width in bits.
    pub const DMA_ADDR_WIDTH_SHIFT: u32 = 8;
    /// DMA width mask (after shifting).
    pub const DMA_ADDR_WIDTH_MASK: u32 = 0xFF;
    /// Bits 19:16: admin command timeout in 100 ms units (0 = default).
    pub const ADMIN_CMD_TO_SHIFT: u32 = 16;
    /// Admin timeout mask (after shifting).
    pub const ADMIN_CMD_TO_MASK: u32 = 0xF;
    /// Unit of both timeout fields, in microseconds (100 ms).
    pub const TIMEOUT_UNIT_US: u32 = 100_000;
    /// Narrowest DMA width the driver accepts (ena.md §1.3).
    pub const MIN_DMA_WIDTH: u8 = 32;
    /// Widest DMA width the driver accepts (ena.md §1.3).
    pub const MAX_DMA_WIDTH: u8 = 48;

    /// Encode a CAPS value (used by the device model).
    pub const fn new(
        contiguous: bool,
        reset_timeout_100ms: u8,
        dma_width: u8,
        admin_to_100ms: u8,
    ) -> Self {
        Caps(
            (contiguous as u32)
                | (((reset_timeout_100ms as u32) & Self::RESET_TIMEOUT_MASK)
                    << Self::RESET_TIMEOUT_SHIFT)
                | ((dma_width as u32) << Self::DMA_ADDR_WIDTH_SHIFT)
                | (((admin_to_100ms as u32) & Self::ADMIN_CMD_TO_MASK) << Self::ADMIN_CMD_TO_SHIFT),
        )
    }
    /// Contiguous queue memory required.
    pub const fn contiguous_queue_required(self) -> bool {
        self.0 & Self::CONTIGUOUS_QUEUE_REQUIRED != 0
    }
    /// Reset timeout in 100 ms units (0 is invalid, ena.md §6.3).
    pub const fn reset_timeout_100ms(self) -> u8 {
        ((self.0 >> Self::RESET_TIMEOUT_SHIFT) & Self::RESET_TIMEOUT_MASK) as u8
    }
    /// DMA address width in bits.
    pub const fn dma_addr_width(self) -> u8 {
        ((self.0 >> Self::DMA_ADDR_WIDTH_SHIFT) & Self::DMA_ADDR_WIDTH_MASK) as u8
    }
    /// Admin command timeout in 100 ms units (0 = driver default).
    pub const fn admin_cmd_to_100ms(self) -> u8 {
        ((self.0 >> Self::ADMIN_CMD_TO_SHIFT) & Self::ADMIN_CMD_TO_MASK) as u8
    }
}

bitflags::bitflags! {
    /// DEV_CTL command bits (ena.md §1.3); the reset reason lives in the
    /// high byte, see [`dev_ctl_reset`].
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub struct DevCtl: u32 {
        /// Device reset.
        const DEV_RESET = 1 << 0;
        /// Admin queue restart.
        const AQ_RESTART = 1 << 1;
        /// Enter quiescent state.
        const QUIESCENT = 1 << 2;
        /// Resume IO.
        const IO_RESUME = 1 << 3;
        /// Keep the reason bits when round-tripping through bitflags.
        const _ = !0;
    }
}

/// DEV_CTL bits 31:28: reset reason bits 3:0 (ena.md §1.3).
pub const DEV_CTL_RESET_REASON_SHIFT: u32 = 28;
/// DEV_CTL bits 27:24: reset reason bits 7:4 (ena.md §1.3).
pub const DEV_CTL_RESET_REASON_EXT_SHIFT: u32 = 24;
/// Width mask of each 4-bit reason field.
pub const DEV_CTL_REASON_NIBBLE_MASK: u32 = 0xF;
/// Reason substituted for codes ≥ 16 on devices without the
/// `EXTENDED_RESET_REASONS` capability (ena.md §1.4).
pub const RESET_REASON_GENERIC: u8 = 13;
/// First reset reason code that needs the extension nibble.
pub const RESET_REASON_FIRST_EXTENDED: u8 = 16;

/// DEV_CTL value that starts a reset with `reason` (ena.md §1.4): bits 3:0
/// of the reason go to 31:28; bits 7:4 go to 27:24 only when the device
/// supports extended reasons, otherwise a reason ≥ 16 becomes GENERIC.
pub const fn dev_ctl_reset(reason: u8, extended_reasons: bool) -> u32 {
    let reason = if !extended_reasons && reason >= RESET_REASON_FIRST_EXTENDED {
        RESET_REASON_GENERIC
    } else {
        reason
    };
    let low = (reason as u32) & DEV_CTL_REASON_NIBBLE_MASK;
    let high = ((reason as u32) >> 4) & DEV_CTL_REASON_NIBBLE_MASK;
    DevCtl::DEV_RESET.bits()
        | (low << DEV_CTL_RESET_REASON_SHIFT)
        | (high << DEV_CTL_RESET_REASON_EXT_SHIFT)
}

/// Reset reason carried by a DEV_CTL value (inverse of [`dev_ctl_reset`]).
pub const fn dev_ctl_reset_reason(value: u32) -> u8 {
    let low = (value >> DEV_CTL_RESET_REASON_SHIFT) & DEV_CTL_REASON_NIBBLE_MASK;
    let high = (value >> DEV_CTL_RESET_REASON_EXT_SHIFT) & DEV_CTL_REASON_NIBBLE_MASK;
    ((high << 4) | low) as u8
}

bitflags::bitflags! {
    /// DEV_STS bits (ena.md §1.3).
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub struct DevSts: u32 {
        /// Device ready for reset / admin init.
        const READY = 1 << 0;
        /// Admin queue restart in progress.
        const AQ_RESTART_IN_PROGRESS = 1 << 1;
        /// Admin queue restart finished.
        const AQ_RESTART_FINISHED = 1 << 2;
        /// Reset in progress.
        const RESET_IN_PROGRESS = 1 << 3;
        /// Reset finished.
        const RESET_FINISHED = 1 << 4;
        /// Fatal error.
        const FATAL_ERROR = 1 << 5;
        /// Quiescent state in progress.
        const QUIESCENT_STATE_IN_PROGRESS = 1 << 6;
        /// Quiescent state achieved.
        const QUIESCENT_STATE_ACHIEVED = 1 << 7;
        /// Undocumented bits are kept, never interpreted.
        const _ = !0;
    }
}

/// MMIO_REG_READ bits 15:0: request id (ena.md §1.3).
pub const MMIO_REG_READ_REQ_ID_MASK: u32 = 0xFFFF;
/// MMIO_REG_READ bits 31:16: register offset.
pub const MMIO_REG_READ_OFFSET_SHIFT: u32 = 16;

/// MMIO_REG_READ request word `(offset << 16) | req_id` (ena.md §2).
pub const fn mmio_reg_read_request(req_id: u16, reg_offset: u16) -> u32 {
    ((reg_offset as u32) << MMIO_REG_READ_OFFSET_SHIFT) | req_id as u32
}

/// Decode an MMIO_REG_READ word into (req_id, register offset).
pub const fn mmio_reg_read_decode(value: u32) -> (u16, u16) {
    (
        (value & MMIO_REG_READ_REQ_ID_MASK) as u16,
        (value >> MMIO_REG_READ_OFFSET_SHIFT) as u16,
    )
}

/// Added to the sequence number to pre-fill the response's req_id, so a
/// stale buffer can never look answered (ena.md §2).
pub const READLESS_PREFILL_ADD: u16 = 0xDEAD;

/// Value returned for a readless read that timed out or answered the wrong
/// register (ena.md §2).
pub const READLESS_FAILED: u32 = 0xFFFF_FFFF;

/// The 8-byte readless read response the device DMA-writes (ena.md §2).
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
#[repr(C)]
pub struct MmioReadResp {
    /// Echo of the request id (sequence number).
    pub req_id: u16,
    /// Echo of the register offset.
    pub reg_off: u16,
    /// Register value.
    pub reg_val: u32,
}
/// ENA spec: the readless response buffer is 8 bytes (ena.md §2).
const _: () = assert!(core::mem::size_of::<MmioReadResp>() == 8);

impl MmioReadResp {
    /// Byte offset of `req_id` in the buffer.
    pub const REQ_ID_OFFSET: usize = 0;
    /// Byte offset of `reg_off`.
    pub const REG_OFF_OFFSET: usize = 2;
    /// Byte offset of `reg_val`.
    pub const REG_VAL_OFFSET: usize = 4;
    /// Size of the buffer.
    pub const SIZE: usize = 8;
}

/// AQ_CAPS / ACQ_CAPS / AENQ_CAPS bits 15:0: depth (ena.md §1.3).
pub const QUEUE_CAPS_DEPTH_MASK: u32 = 0xFFFF;
/// Bits 31:16: entry size in bytes.
pub const QUEUE_CAPS_ENTRY_SIZE_SHIFT: u32 = 16;

/// Queue caps word `depth | entry_size << 16` (ena.md §3.1, §4).
pub const fn queue_caps(depth: u16, entry_size: u16) -> u32 {
    ((entry_size as u32) << QUEUE_CAPS_ENTRY_SIZE_SHIFT) | depth as u32
}

/// Decode a queue caps word into (depth, entry size).
pub const fn queue_caps_decode(value: u32) -> (u16, u16) {
    (
        (value & QUEUE_CAPS_DEPTH_MASK) as u16,
        (value >> QUEUE_CAPS_ENTRY_SIZE_SHIFT) as u16,
    )
}

/// INTR_MASK value for polling mode: admin/AENQ interrupt masked (ena.md §3.4).
pub const INTR_MASK_MASKED: u32 = 1;
/// INTR_MASK value for interrupt mode (ena.md §3.4).
pub const INTR_MASK_UNMASKED: u32 = 0;

/// RSS_IND_ENTRY_UPDATE bits 15:0 table index, 31:16 CQ index (ena.md §1.3).
pub const fn rss_ind_entry_update(table_index: u16, cq_index: u16) -> u32 {
    ((cq_index as u32) << 16) | table_index as u32
}

/// PHC_DB bits 15:0: request id (ena.md §1.3).
pub const PHC_DB_REQ_ID_MASK: u32 = 0xFFFF;

/// Split a 64-bit bus address into the (LO, HI) register pair values.
pub const fn addr_lo_hi(addr: u64) -> (u32, u32) {
    (addr as u32, (addr >> 32) as u32)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reset_reason_encoding() {
        // KEEP_ALIVE_TO (1): low nibble in 31:28.
        assert_eq!(dev_ctl_reset(1, false), 0x1000_0001);
        // DEVICE_REQUEST (19) = 0x13: 3 in 31:28, 1 in 27:24 when extended.
        assert_eq!(dev_ctl_reset(19, true), 0x3100_0001);
        // Without the capability it becomes GENERIC (13 = 0xD).
        assert_eq!(dev_ctl_reset(19, false), 0xD000_0001);
        for r in 0..=20u8 {
            assert_eq!(dev_ctl_reset_reason(dev_ctl_reset(r, true)), r);
        }
    }

    #[test]
    fn field_accessors() {
        let v = ControllerVersion::new(0, 0, 1, 1);
        assert_eq!(
            (v.major(), v.minor(), v.subminor(), v.impl_id()),
            (0, 0, 1, 1)
        );
        assert!(v.is_supported());
        assert!(!ControllerVersion::new(0, 0, 0, 7).is_supported());
        let ver = Version::new(0, 10);
        assert_eq!((ver.major(), ver.minor()), (0, 10));
        let caps = Caps::new(true, 5, 48, 3);
        assert!(caps.contiguous_queue_required());
        assert_eq!(caps.reset_timeout_100ms(), 5);
        assert_eq!(caps.dma_addr_width(), 48);
        assert_eq!(caps.admin_cmd_to_100ms(), 3);
        assert_eq!(mmio_reg_read_request(1, 0x58), 0x0058_0001);
        assert_eq!(mmio_reg_read_decode(0x0058_0001), (1, 0x58));
        assert_eq!(queue_caps(32, 64), 0x0040_0020);
        assert_eq!(queue_caps_decode(0x0040_0010), (16, 64));
        // The AWS doc's failed read: prefill of seq 1 is 57006.
        assert_eq!(1u16.wrapping_add(READLESS_PREFILL_ADD), 57006);
    }
}
