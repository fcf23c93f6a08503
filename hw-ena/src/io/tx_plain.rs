//! The short path of [`TxRing::post`]: a host-placement packet in one
//! segment without checksum or TSO request — the common case — written as
//! one data descriptor with no meta descriptor and nothing else to decide.
//! Anything else, and anything this path would refuse, is left to the
//! general path, which validates, counts and refuses.

use cloudnic_common::nic::{DmaSegment, Token, TxOffload, TxPacket};
use cloudnic_common::stats::{add, inc};
use cloudnic_common::{DmaRegion, Platform};

use super::{TxRing, TxSlot, TX_MAX_DESC_LEN};
use crate::defs::io::{TxDesc, TxDescCtrl, TX_DESC_SIZE};
use crate::io::tx_offload::{host_header_len, plain_ctrl};

impl<P: Platform> TxRing<P> {
    /// The short path of [`TxRing::post`] alone: true if the packet was
    /// posted; false, with nothing changed, if it needs
    /// [`TxRing::post_general`] (which then decides, counts and refuses).
    /// Lets a caller keep what only the general path needs out of line.
    #[inline]
    pub fn try_post_plain(&mut self, pkt: &TxPacket<'_>, now_us: u64) -> bool {
        match pkt.segments {
            [seg] => self.post_plain_host(seg, &pkt.offload, pkt.token, now_us),
            _ => false,
        }
    }

    /// Short path of [`TxRing::post`] for a host-placement, one-segment
    /// packet without checksum/TSO request: one data descriptor (first,
    /// last, completion requested), the DF bit and the advisory header
    /// length exactly as the general path writes them, no meta descriptor
    /// (and the meta cache untouched, as there). Returns false, having
    /// changed nothing, if the packet is not of that kind or would be
    /// refused (bad length, no room, no id): the general path then decides
    /// and counts.
    #[inline(always)]
    fn post_plain_host(
        &mut self,
        seg: &DmaSegment,
        o: &TxOffload,
        token: Token,
        now_us: u64,
    ) -> bool {
        // The host SQ exists exactly when the placement is host (`new`).
        let Some(sq) = self.sq.as_ref() else {
            return false;
        };
        if o.l4_csum || o.ipv4_csum || o.tso_mss != 0 {
            return false;
        }
        let len = seg.len;
        // 1..=TX_MAX_DESC_LEN; a length of 0 wraps to u32::MAX and declines.
        if len.wrapping_sub(1) >= TX_MAX_DESC_LEN {
            return false;
        }
        // One descriptor needs one free slot: in use < depth − 1 (max_sgl ≥ 1
        // by construction, so one descriptor is never too many).
        let in_use = self.sq_pos.counter().wrapping_sub(self.next_to_comp);
        if in_use >= self.sq_pos.mask() {
            return false;
        }
        let slot = TxSlot {
            token,
            posted_us: now_us,
            slots: 1,
            missed: false,
        };
        let Some(req_id) = self.ids.alloc(slot) else {
            return false;
        };
        inc(&mut self.stats.cnt);
        let mut ctrl = TxDescCtrl::COMP_REQ | TxDescCtrl::FIRST | TxDescCtrl::LAST;
        if self.sq_pos.phase() {
            ctrl |= TxDescCtrl::PHASE;
        }
        let header_len = host_header_len(o, len, self.max_header);
        // len ≤ TX_MAX_DESC_LEN = u16::MAX was checked above.
        let q = TxDesc::data(
            len as u16,
            req_id,
            seg.addr,
            ctrl,
            plain_ctrl(o),
            header_len,
        )
        .to_qwords();
        let off = usize::from(self.sq_pos.index()) * TX_DESC_SIZE;
        sq.write64(off, q[0]);
        sq.write64(off + 8, q[1]);
        self.sq_pos.advance_one();
        add(&mut self.stats.bytes, u64::from(len));
        true
    }
}
