//! What the health check (ena.md §6.4) asks of a TX ring: the oldest
//! packet still in flight, marking packets late, and — when a reset is
//! decided with the poll idle — how many late packets the device did
//! complete (completions waiting in the CQ: the interrupt is missing, not
//! the completion). Control path only; nothing here runs per packet.

use cloudnic_common::stats::add;
use cloudnic_common::{DmaRegion, Platform};

use super::{TxRing, CDESC_Q0_PHASE, CDESC_SIZE};
use crate::defs::io::TxCdesc;

impl<P: Platform> TxRing<P> {
    /// Count in-flight packets posted more than `timeout_us` ago; each one
    /// bumps `missed_tx` the first time it is seen late (ena.md §6.4). The
    /// count is also stored in `pending_timedout_pkts`, a gauge: completing
    /// a late packet ([`TxRing::poll`]) takes it out again, and
    /// [`TxRing::release_all`] clears it.
    pub fn timed_out_packets(&mut self, now_us: u64, timeout_us: u64) -> u32 {
        let mut late = 0u32;
        let mut newly_missed = 0u64;
        self.ids.for_each_in_flight_mut(|_, slot| {
            if now_us.saturating_sub(slot.posted_us) > timeout_us {
                late += 1;
                if !slot.missed {
                    slot.missed = true;
                    newly_missed += 1;
                }
            }
        });
        add(&mut self.stats.missed_tx, newly_missed);
        self.stats.pending_timedout_pkts = u64::from(late);
        late
    }

    /// Post time of the oldest in-flight packet.
    pub fn oldest_pending_us(&self) -> Option<u64> {
        let mut oldest: Option<u64> = None;
        self.ids.for_each_in_flight(|_, s| {
            oldest = Some(oldest.map_or(s.posted_us, |o| o.min(s.posted_us)));
        });
        oldest
    }

    /// How many completions waiting in the CQ (peek, no side effects)
    /// belong to packets the health check marked late: the device did
    /// complete those, only the poll — the interrupt — is missing (ena.md
    /// §6.4 MISS_INTERRUPT / MISS_FIRST_INTERRUPT). Looks at most one pass
    /// of the ring; ids that name no in-flight packet are not counted (the
    /// poll will reject them).
    pub fn late_completions_in_cq(&self, plat: &P) -> u32 {
        let mut pos = self.cq_pos;
        let mut late = 0u32;
        for _ in 0..=self.cq_pos.mask() {
            let q = self.cq.read64(usize::from(pos.index()) * CDESC_SIZE);
            if !pos.is_new(q & CDESC_Q0_PHASE != 0) {
                break;
            }
            plat.dma_read_barrier();
            let id = TxCdesc::from_qword(q).req_id;
            late += u32::from(self.ids.get(id).is_some_and(|s| s.missed));
            pos.advance_one();
        }
        late
    }
}
