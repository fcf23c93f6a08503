//! The Asynchronous Event Notification Queue (ena.md §4): 16 × 64-byte
//! entries the device writes with a phase bit; the driver consumes them in
//! order, dispatches by group, and returns credits by writing its free-running
//! head counter (initially 16, i.e. every entry available) to AENQ_HEAD_DB
//! after each batch.
//!
//! Every group and syndrome is validated: unknown values are counted and
//! logged, never acted on. Decisions (carrier, reset) are returned as
//! [`AenqEvent`]s for the device object to apply.

use zerocopy::FromBytes;

use cloudnic_common::{
    cn_err, cn_info, cn_warn, DmaRegion, Error, Platform, RegisterBar, ResetReason,
};

use crate::defs::admin::HwHints;
use crate::defs::aenq::{
    AenqEntry, AenqGroup, ConfNotificationsPayload, KeepAlivePayload, LinkChangePayload,
    AENQ_DEPTH, AENQ_ENTRY_SIZE, AENQ_FLAGS_OFFSET, AENQ_FLAG_PHASE, LINK_CHANGE_FLAG_LINK_UP,
    NOTIFICATION_SYNDROME_UPDATE_HINTS,
};
use crate::defs::regs::{addr_lo_hi, offset, queue_caps};

const ENTRY: usize = AENQ_ENTRY_SIZE as usize;
const MASK: u16 = AENQ_DEPTH - 1;
const RING_ALIGN: usize = 4096;

/// What an AENQ entry asks the driver to do.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AenqEvent {
    /// Carrier on/off.
    LinkChange {
        /// New link state.
        up: bool,
    },
    /// Keep-alive: re-arm the watchdog, store the device's drop counters.
    KeepAlive {
        /// Cumulative RX drops.
        rx_drops: u64,
        /// Cumulative TX drops.
        tx_drops: u64,
        /// Cumulative RX overruns.
        rx_overruns: u64,
    },
    /// New HW hints to apply.
    HintsUpdate(HwHints),
    /// A reset is needed (device request, or capability refresh with NORMAL).
    Reset(ResetReason),
}

/// AENQ counters.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct AenqStats {
    /// Entries consumed.
    pub events: u64,
    /// Keep-alive events.
    pub keep_alive: u64,
    /// Entries with an unknown group or syndrome (ignored).
    pub unknown: u64,
}

/// The AENQ ring.
pub struct AenqRing<P: Platform> {
    ring: P::Dma,
    head: u16,
    phase: bool,
    stats: AenqStats,
}

impl<P: Platform> AenqRing<P> {
    /// Allocate the ring and program its base and caps (ena.md §4).
    pub fn new<R: RegisterBar>(plat: &P, bar0: &R) -> Result<Self, Error> {
        let ring = plat.alloc_dma(usize::from(AENQ_DEPTH) * ENTRY, RING_ALIGN)?;
        let mut q = AenqRing {
            ring,
            head: AENQ_DEPTH,
            phase: true,
            stats: AenqStats::default(),
        };
        q.restart(bar0);
        Ok(q)
    }

    /// After a device reset: clear the ring, head back to 16, phase 1,
    /// re-program base and caps.
    pub fn restart<R: RegisterBar>(&mut self, bar0: &R) {
        let zero = [0u8; ENTRY];
        for i in 0..usize::from(AENQ_DEPTH) {
            self.ring.write_bytes(i * ENTRY, &zero);
        }
        self.head = AENQ_DEPTH;
        self.phase = true;
        let (lo, hi) = addr_lo_hi(self.ring.bus_addr());
        bar0.write32(offset::AENQ_BASE_LO, lo);
        bar0.write32(offset::AENQ_BASE_HI, hi);
        bar0.write32(offset::AENQ_CAPS, queue_caps(AENQ_DEPTH, AENQ_ENTRY_SIZE));
    }

    /// Give the device every entry: `AENQ_HEAD_DB ← head` (16 after init),
    /// done once interrupts are enabled (ena.md §4, §6.1 step 11).
    pub fn enable<R: RegisterBar>(&self, bar0: &R) {
        bar0.write32(offset::AENQ_HEAD_DB, u32::from(self.head));
    }

    /// Counters.
    pub fn stats(&self) -> AenqStats {
        self.stats
    }

    fn entry_valid(&self, index: u16) -> bool {
        let slot = usize::from(index & MASK) * ENTRY;
        let flags = (self.ring.read32(slot + AENQ_FLAGS_OFFSET) & 0xFF) as u8;
        let expect_phase = if index & MASK < self.head & MASK {
            !self.phase
        } else {
            self.phase
        };
        (flags & AENQ_FLAG_PHASE != 0) == expect_phase
    }

    /// True if an unprocessed keep-alive sits in the ring: the management
    /// interrupt is missing rather than the device silent (ena.md §6.4).
    pub fn has_pending_keep_alive(&self) -> bool {
        let mut idx = self.head;
        for _ in 0..AENQ_DEPTH {
            if !self.entry_valid(idx) {
                return false;
            }
            let group = self.ring.read32(usize::from(idx & MASK) * ENTRY) & 0xFFFF;
            if group == u32::from(AenqGroup::KeepAlive as u16) {
                return true;
            }
            idx = idx.wrapping_add(1);
        }
        false
    }

    /// Consume every valid entry, calling `on_event` for those that need
    /// action, then return credits with one doorbell. Returns entries consumed.
    pub fn process<R: RegisterBar>(
        &mut self,
        plat: &P,
        bar0: &R,
        on_event: &mut dyn FnMut(AenqEvent),
    ) -> u32 {
        let mut n = 0u32;
        while n < u32::from(AENQ_DEPTH) {
            let slot = usize::from(self.head & MASK) * ENTRY;
            let flags = (self.ring.read32(slot + AENQ_FLAGS_OFFSET) & 0xFF) as u8;
            if (flags & AENQ_FLAG_PHASE != 0) != self.phase {
                break;
            }
            plat.dma_read_barrier();
            let mut raw = [0u8; ENTRY];
            self.ring.read_bytes(slot, &mut raw);
            self.head = self.head.wrapping_add(1);
            if self.head & MASK == 0 {
                self.phase = !self.phase;
            }
            n += 1;
            if let Ok(e) = AenqEntry::read_from_bytes(&raw) {
                self.dispatch(plat, &e, on_event);
            }
        }
        if n > 0 {
            self.stats.events = self.stats.events.wrapping_add(u64::from(n));
            plat.full_barrier();
            bar0.write32(offset::AENQ_HEAD_DB, u32::from(self.head));
        }
        n
    }

    fn unknown(&mut self, plat: &P, e: &AenqEntry) {
        self.stats.unknown = self.stats.unknown.wrapping_add(1);
        cn_warn!(
            plat,
            "Invalid AENQ event: group {} syndrome {}",
            e.common.group,
            e.common.syndrome
        );
    }

    fn dispatch(&mut self, plat: &P, e: &AenqEntry, on_event: &mut dyn FnMut(AenqEvent)) {
        let Some(group) = AenqGroup::from_u16(e.common.group) else {
            self.unknown(plat, e);
            return;
        };
        match group {
            AenqGroup::LinkChange => {
                let up = e
                    .payload_as::<LinkChangePayload>()
                    .is_some_and(|p| p.flags & LINK_CHANGE_FLAG_LINK_UP != 0);
                cn_info!(plat, "Link is {}", if up { "up" } else { "down" });
                on_event(AenqEvent::LinkChange { up });
            }
            AenqGroup::KeepAlive => {
                self.stats.keep_alive = self.stats.keep_alive.wrapping_add(1);
                let p = e.payload_as::<KeepAlivePayload>().unwrap_or_default();
                on_event(AenqEvent::KeepAlive {
                    rx_drops: p.rx_drops(),
                    tx_drops: p.tx_drops(),
                    rx_overruns: p.rx_overruns(),
                });
            }
            AenqGroup::Notification => {
                if e.common.syndrome == NOTIFICATION_SYNDROME_UPDATE_HINTS {
                    if let Some(h) = e.hints() {
                        on_event(AenqEvent::HintsUpdate(h));
                    }
                } else {
                    self.unknown(plat, e);
                }
            }
            AenqGroup::FatalError => {
                cn_err!(plat, "AENQ fatal error event received (unimplemented)")
            }
            AenqGroup::Warning => cn_warn!(plat, "AENQ warning event received (unimplemented)"),
            AenqGroup::RefreshCapabilities => {
                cn_info!(plat, "Device requested capability refresh");
                on_event(AenqEvent::Reset(ResetReason::Normal));
            }
            AenqGroup::ConfNotifications => {
                let bitmap = e
                    .payload_as::<ConfNotificationsPayload>()
                    .map_or(0, |p| p.notifications_bitmap);
                for bit in 0..64u32 {
                    if bitmap & (1u64 << bit) != 0 {
                        cn_warn!(plat, "Sub-optimal configuration notification code: {}. Refer to AWS ENA documentation for additional details and mitigation options.", bit + 1);
                    }
                }
            }
            AenqGroup::DeviceRequestReset => {
                cn_warn!(
                    plat,
                    "The device has detected an unhealthy state, reset is requested"
                );
                on_event(AenqEvent::Reset(ResetReason::DeviceRequest));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    extern crate std;
    use super::*;
    use crate::defs::aenq::AENQ_ENABLED_GROUPS_MASK;
    use crate::test_support::{FakeBar, FakePlat};
    use std::vec::Vec;

    #[test]
    fn dispatch_and_doorbell() {
        let plat = FakePlat::default();
        let bar = FakeBar::with_device(&plat);
        let mut q = AenqRing::new(&plat, &bar).unwrap();
        assert_eq!(bar.reg(offset::AENQ_CAPS), 16 | 64 << 16);
        q.enable(&bar);
        assert_eq!(bar.reg(offset::AENQ_HEAD_DB), 16);
        let mut events = Vec::new();
        assert_eq!(q.process(&plat, &bar, &mut |e| events.push(e)), 0);
        {
            let mut d = bar.dev_mut();
            d.push_aenq(AenqGroup::KeepAlive, 0, &KeepAlivePayload::new(1, 2, 3));
            d.push_aenq(AenqGroup::LinkChange, 0, &LinkChangePayload { flags: 1 });
            d.push_aenq(AenqGroup::DeviceRequestReset, 0, &[0u8; 0]);
            d.push_aenq(AenqGroup::Notification, 9, &[0u8; 0]);
        }
        assert!(q.has_pending_keep_alive());
        assert_eq!(q.process(&plat, &bar, &mut |e| events.push(e)), 4);
        assert_eq!(bar.reg(offset::AENQ_HEAD_DB), 20);
        assert_eq!(
            events,
            [
                AenqEvent::KeepAlive {
                    rx_drops: 1,
                    tx_drops: 2,
                    rx_overruns: 3
                },
                AenqEvent::LinkChange { up: true },
                AenqEvent::Reset(ResetReason::DeviceRequest),
            ]
        );
        assert_eq!(q.stats().unknown, 1);
        assert!(!q.has_pending_keep_alive());
        // Wrap the ring several times.
        for _ in 0..40 {
            bar.dev_mut()
                .push_aenq(AenqGroup::KeepAlive, 0, &KeepAlivePayload::new(0, 0, 0));
            assert_eq!(q.process(&plat, &bar, &mut |_| {}), 1);
        }
        assert_eq!(q.stats().keep_alive, 41);
        assert_eq!(
            AENQ_ENABLED_GROUPS_MASK & AenqGroup::RefreshCapabilities.bit(),
            0
        );
    }
}
