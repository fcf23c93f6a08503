//! The short path of [`TxRing::post`]: host-placement packets in one
//! segment without checksum, TSO or tag request — the common case — each
//! written as one data descriptor with no meta descriptor and nothing else
//! to decide. Anything else, and anything this path would refuse, is left
//! to the general path, which validates, counts and refuses.
//!
//! The path takes a run of packets at once ([`TxRing::post_plain_run`]):
//! the ring position, its phase, the id free list and the byte count stay in
//! registers for the run and are written back once, so a burst of packets
//! (NDIS send chains, `xmit_more` batches, the benchmark's 64) pays the
//! per-call work once. One packet is a run of one.

use cloudnic_common::nic::TxPacket;
use cloudnic_common::reqid::SlabRun;
use cloudnic_common::stats::{add, inc};
use cloudnic_common::{DmaRegion, Platform};

use super::{TxRing, TxSlot, TX_MAX_DESC_LEN};
use crate::defs::io::{TxDesc, TxDescCtrl, TX_DESC_SIZE};
use crate::io::tx_offload::{host_header_len, plain_ctrl};

/// The data descriptor's first word carries the phase bit; the rest of the
/// descriptor is the same in both phases, so a run flips one local bit at
/// each wrap instead of re-encoding it.
const DESC_Q0_PHASE: u64 = TxDesc::data(0, 0, 0, TxDescCtrl::PHASE, 0, 0).to_qwords()[0]
    ^ TxDesc::data(0, 0, 0, TxDescCtrl::empty(), 0, 0).to_qwords()[0];

impl<P: Platform> TxRing<P> {
    /// The short path of [`TxRing::post`] alone: true if the packet was
    /// posted; false, with nothing changed, if it needs
    /// [`TxRing::post_general`] (which then decides, counts and refuses).
    /// Lets a caller keep what only the general path needs out of line.
    /// Not a run of one ([`TxRing::post_plain_run`]): the run's setup costs
    /// this per-packet path (Linux's `ndo_start_xmit`) about 10 more
    /// instructions (`cloudnic-bench`, "tx_post each").
    #[inline]
    pub fn try_post_plain(&mut self, pkt: &TxPacket<'_>, now_us: u64) -> bool {
        // The host SQ exists exactly when the placement is host (`new`).
        let Some(sq) = self.sq.as_ref() else {
            return false;
        };
        // One descriptor needs one free slot: in use < depth − 1 (max_sgl ≥
        // 1 by construction, so one descriptor is never too many).
        let counter = self.sq_pos.counter();
        if counter.wrapping_sub(self.next_to_comp) >= self.sq_pos.mask() {
            return false;
        }
        let mut ids = self.ids.run();
        let Some((len, q)) = plain_desc(pkt, self.max_header, &mut ids, now_us) else {
            return false;
        };
        drop(ids);
        let phase = if self.sq_pos.phase() {
            DESC_Q0_PHASE
        } else {
            0
        };
        let off = usize::from(self.sq_pos.index()) * TX_DESC_SIZE;
        sq.write64_pair(off, [q[0] | phase, q[1]]);
        self.sq_pos.advance_one();
        inc(&mut self.stats.cnt);
        add(&mut self.stats.bytes, u64::from(len));
        true
    }

    /// [`TxRing::try_post_plain`] for the leading packets of `pkts`: stops
    /// at the first packet the short path does not take, with that packet
    /// and the rest unchanged (the general path then decides and counts).
    /// The ring position, its phase, the id free list and the counters stay
    /// local for the run and are written back once. Returns how many were
    /// posted (no doorbell; see [`TxRing::kick`]).
    #[inline]
    pub fn post_plain_run(&mut self, pkts: &[TxPacket<'_>], now_us: u64) -> usize {
        let Some(sq) = self.sq.as_ref() else {
            return 0;
        };
        let mask = self.sq_pos.mask();
        let start = self.sq_pos.counter();
        // In use ≤ mask: what is left is the room, one slot kept empty.
        let room = usize::from(mask.wrapping_sub(start.wrapping_sub(self.next_to_comp)));
        let pkts = pkts.get(..room.min(pkts.len())).unwrap_or_default();
        let mut counter = start;
        let mut phase = if self.sq_pos.phase() {
            DESC_Q0_PHASE
        } else {
            0
        };
        let mut ids = self.ids.run();
        let mut bytes = 0u64;
        let mut posted = 0usize;
        'run: while posted < pkts.len() {
            // Up to the end of the ring's current pass the phase is the same.
            let pass_end = posted + usize::from(mask - (counter & mask)) + 1;
            for pkt in pkts
                .get(posted..pass_end.min(pkts.len()))
                .unwrap_or_default()
            {
                let Some((len, q)) = plain_desc(pkt, self.max_header, &mut ids, now_us) else {
                    break 'run;
                };
                let off = usize::from(counter & mask) * TX_DESC_SIZE;
                sq.write64_pair(off, [q[0] | phase, q[1]]);
                counter = counter.wrapping_add(1);
                bytes += u64::from(len);
                posted += 1;
            }
            phase ^= DESC_Q0_PHASE;
        }
        drop(ids);
        // posted ≤ room ≤ mask < depth ≤ 32768: fits in u16.
        self.sq_pos.advance(posted as u16);
        add(&mut self.stats.cnt, posted as u64);
        add(&mut self.stats.bytes, bytes);
        posted
    }
}

/// One short-path packet (host placement, one segment of 1..=64 KiB − 1
/// bytes, no checksum, TSO or tag request) as its data descriptor, phase
/// 0: first, last, completion requested, the DF bit and the advisory header
/// length exactly as the general path writes them, no meta descriptor (and
/// the meta cache untouched, as there). Takes an id for it, or returns
/// `None` with nothing taken if the packet is not of that kind or no id is
/// free.
#[inline(always)]
fn plain_desc(
    pkt: &TxPacket<'_>,
    max_header: u16,
    ids: &mut SlabRun<'_, TxSlot>,
    now_us: u64,
) -> Option<(u32, [u64; 2])> {
    let [seg] = pkt.segments else { return None };
    let o = &pkt.offload;
    if o.l4_csum || o.ipv4_csum || o.tso_mss != 0 || o.vlan_tci.is_some() {
        return None;
    }
    let len = seg.len;
    // 1..=TX_MAX_DESC_LEN; a length of 0 wraps to u32::MAX and declines.
    if len.wrapping_sub(1) >= TX_MAX_DESC_LEN {
        return None;
    }
    let req_id = ids.alloc(TxSlot {
        token: pkt.token,
        posted_us: now_us,
        slots: 1,
        missed: false,
    })?;
    let ctrl = TxDescCtrl::COMP_REQ | TxDescCtrl::FIRST | TxDescCtrl::LAST;
    let header_len = host_header_len(o, len, max_header);
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
    Some((len, q))
}
