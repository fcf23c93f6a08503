//! Per-queue-pair interrupt unmask register writes (ena.md §5.7, §6.6).
//!
//! The device's MSI-X vectors auto-mask when they fire; the driver re-arms a
//! queue pair's vector by writing the unmask register named in CREATE_CQ's
//! response (TX and RX CQ of a pair share it), carrying the moderation delays
//! in device resolution units at the same time.

use cloudnic_common::RegisterBar;

use crate::defs::io::IntrCtrl;

/// The interrupt register of one queue pair (offset in BAR 0; 0 = none given).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct QueueIntr {
    offset: u32,
}

impl QueueIntr {
    /// Wrap the offset from the CREATE_CQ response.
    pub const fn new(offset: u32) -> Self {
        QueueIntr { offset }
    }

    /// BAR 0 offset of the register.
    pub const fn offset(&self) -> u32 {
        self.offset
    }

    /// Re-arm the vector and program the delays (`rx_delay`/`tx_delay` in
    /// device resolution units; values above 15 bits saturate).
    #[inline]
    pub fn unmask(&self, bar0: &impl RegisterBar, rx_delay: u32, tx_delay: u32) {
        let v = IntrCtrl {
            rx_delay,
            tx_delay,
            unmask: true,
            no_moderation_update: false,
        }
        .encode();
        bar0.write32(self.offset, v);
    }

    /// Re-arm the vector and keep the device's current delays.
    #[inline]
    pub fn unmask_keep_moderation(&self, bar0: &impl RegisterBar) {
        let v = IntrCtrl {
            rx_delay: 0,
            tx_delay: 0,
            unmask: true,
            no_moderation_update: true,
        }
        .encode();
        bar0.write32(self.offset, v);
    }

    /// The Linux "lost interrupt" recovery write: delays only, with both the
    /// unmask and the no-moderation-update bits clear (ena.md §5.7).
    pub fn write_delays_only(&self, bar0: &impl RegisterBar, rx_delay: u32, tx_delay: u32) {
        let v = IntrCtrl {
            rx_delay,
            tx_delay,
            unmask: false,
            no_moderation_update: false,
        }
        .encode();
        bar0.write32(self.offset, v);
    }
}
