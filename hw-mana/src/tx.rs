//! MANA TX queue: SQ + CQ, short/long TX OOB with checksum, TSO and VLAN,
//! in-order completions, stall bookkeeping (mana.md §6.6, §6.7, §6.11).
//!
//! Completions are strictly FIFO (Linux frees `wqe_size_in_bu` per CQE from
//! its list of posted skbs), so the queue keeps a ring of pending packets in
//! post order. A CQE for the wrong WQ, of unknown type, or with nothing
//! pending is a device fault: counted, a reset requested, processing stops.

use zerocopy::{FromBytes, IntoBytes};

use cloudnic_common::nic::Token;
use cloudnic_common::nic::{DmaSegment, L3Proto, L4Proto, TxError, TxPacket};
use cloudnic_common::reset::ResetTrigger;
use cloudnic_common::{stats, Error, Platform, RegisterBar, ResetReason};

use crate::bar::DoorbellPage;
use crate::cq::{CompletionQueue, QueueEntry};
use crate::defs::eth_dp::{
    cqe_type, TxCompOob, TxLongOob, TxOob, TxShortOob, TX_PKT_FMT_LONG, TX_PKT_FMT_SHORT,
    TX_TRANS_OFF_MAX,
};
use crate::defs::queue::{Sge, MAX_SQ_WQE_SIZE, MAX_TX_WQE_SGES, WQE_BU_SIZE};
use crate::wq::{WorkQueue, WqKind, WqeError};

cloudnic_common::counters! {
    /// Per-TX-queue counters: Linux `tx_N_*` names first (mana.md §8), then cloudnic extras.
    pub struct TxStats {
        /// Packets completed.
        packets,
        /// Bytes completed.
        bytes,
        /// XDP transmits (always 0 here).
        xdp_xmit,
        /// TSO packets posted.
        tso_packets,
        /// TSO payload bytes posted.
        tso_bytes,
        /// Encapsulated TSO packets (always 0: no encapsulation offload).
        tso_inner_packets,
        /// Encapsulated TSO bytes (always 0).
        tso_inner_bytes,
        /// Packets posted with the long OOB.
        long_pkt_fmt,
        /// Packets posted with the short OOB.
        short_pkt_fmt,
        /// Packets posted with an L4 checksum request.
        csum_partial,
        /// DMA mapping errors (done by the shim; always 0 here).
        mana_map_err,
        /// TX CQEs with an error type 33–42 (Linux global `tx_cq_err`).
        cq_err,
        /// TX CQEs of unknown type (Linux global `tx_cqe_unknown_type`).
        cqe_unknown_type,
        /// Posts refused for lack of ring space (Linux global `stop_queue`).
        stop_queue,
        /// Space regained after a refusal (Linux global `wake_queue`).
        wake_queue,
        /// CQEs naming another WQ, overflows, completions with nothing pending.
        bad_cqe,
        /// Packets marked overdue by the health check.
        missed_tx,
        /// SQ doorbells rung.
        doorbells,
    }
}

/// One posted packet.
#[derive(Clone, Copy, Debug, Default)]
struct Pending {
    token: Token,
    bytes: u32,
    size_bu: u32,
    sent_us: u64,
    timed_out: bool,
}

/// Per-port TX parameters from CONFIG_VPORT_TX and REGISTER_DEVICE.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TxParams {
    /// vPort offset for the OOB.
    pub vport_offset: u16,
    /// The short OOB may be used.
    pub short_form_allowed: bool,
    /// Memory key for SGEs.
    pub gpa_mkey: u32,
}

/// A TX queue.
pub struct TxQueue<P: Platform> {
    /// Send queue.
    pub sq: WorkQueue<P>,
    /// Its completion queue.
    pub cq: CompletionQueue<P>,
    /// WQ object handle (INVALID until created).
    pub obj_handle: u64,
    pending: P::Table<Pending>,
    pend_head: u32,
    pend_tail: u32,
    params: TxParams,
    stopped: bool,
    clock_us: u64,
    timed_out_pending: u64,
    /// Counters.
    pub stats: TxStats,
}

impl<P: Platform> TxQueue<P> {
    /// Allocate rings for `ring_size` WQE slots (SQ = size × 32 bytes, CQ = size entries; mana.md §6.5).
    pub fn new(plat: &P, ring_size: u32, params: TxParams) -> Result<Self, Error> {
        let sq = WorkQueue::new(
            plat,
            ring_size
                .checked_mul(WQE_BU_SIZE)
                .ok_or(Error::Unsupported)?,
            WqKind::Send,
        )?;
        let cq = CompletionQueue::new(plat, ring_size)?;
        let pending = plat.alloc_table(ring_size as usize, |_| Pending::default())?;
        Ok(TxQueue {
            sq,
            cq,
            obj_handle: u64::MAX,
            pending,
            pend_head: 0,
            pend_tail: 0,
            params,
            stopped: false,
            clock_us: 0,
            timed_out_pending: 0,
            stats: TxStats::default(),
        })
    }

    fn pend_mask(&self) -> u32 {
        self.pending.len() as u32 - 1
    }
    /// Packets posted and not completed.
    pub fn in_flight(&self) -> u32 {
        self.pend_tail.wrapping_sub(self.pend_head)
    }
    /// Worst-case packets that still fit (one 512-byte WQE each).
    pub fn space(&self) -> u32 {
        let free_slots = (self.pending.len() as u32).saturating_sub(self.in_flight());
        (self.sq.free_bytes() / MAX_SQ_WQE_SIZE).min(free_slots)
    }
    /// Refresh the cached clock used to stamp posted packets.
    pub fn set_clock(&mut self, now_us: u64) {
        self.clock_us = now_us;
    }

    /// Build and write the WQE for one packet (no doorbell). A VLAN tag in
    /// `pkt.offload.vlan_tci` selects the long OOB with the inject-tag bit,
    /// PCP, DEI and VLAN id (mana.md §6.6: "long format if VLAN tag
    /// insertion is needed").
    pub fn post(&mut self, pkt: &TxPacket<'_>) -> Result<(), TxError> {
        let off = &pkt.offload;
        let segs = pkt.segments;
        if segs.is_empty() || segs.iter().any(|s| s.len == 0) {
            return Err(TxError::Invalid);
        }
        if self.in_flight() >= self.pending.len() as u32 {
            return self.refuse();
        }
        let tso = off.tso_mss != 0;
        let hdr_len = u32::from(off.l3_offset) + u32::from(off.l3_len) + u32::from(off.l4_len);
        let trans_off = u32::from(off.l3_offset) + u32::from(off.l3_len);
        let total = pkt.len();
        let mut flags = 0u32;
        match off.l3 {
            L3Proto::Ipv4 if tso || off.l4_csum || off.ipv4_csum => {
                flags |= TxShortOob::IS_OUTER_IPV4
            }
            L3Proto::Ipv6 if tso || off.l4_csum => flags |= TxShortOob::IS_OUTER_IPV6,
            _ => {}
        }
        if tso {
            // TSO: TCP over IP, headers alone in SGE0 (≤ 255: last_vbytes is 8 bits), MSS in 14 bits.
            if off.l4 != L4Proto::Tcp
                || off.l3 == L3Proto::Unknown
                || u32::from(off.tso_mss) > 0x3FFF
                || off.l4_len == 0
                || hdr_len > 255
                || segs[0].len < hdr_len
                || total <= hdr_len
            {
                return Err(TxError::Invalid);
            }
            flags |= TxShortOob::COMP_TCP_CSUM;
            if off.l3 == L3Proto::Ipv4 {
                flags |= TxShortOob::COMP_IP_CSUM;
            }
        } else {
            if off.ipv4_csum && off.l3 == L3Proto::Ipv4 {
                flags |= TxShortOob::COMP_IP_CSUM;
            }
            if off.l4_csum {
                match off.l4 {
                    L4Proto::Tcp => flags |= TxShortOob::COMP_TCP_CSUM,
                    L4Proto::Udp => flags |= TxShortOob::COMP_UDP_CSUM,
                    L4Proto::Unknown => return Err(TxError::Invalid),
                }
                if off.l3 == L3Proto::Unknown {
                    return Err(TxError::Invalid);
                }
            }
        }
        let needs_offsets = tso || off.l4_csum;
        if needs_offsets && trans_off > TX_TRANS_OFF_MAX {
            return Err(TxError::Invalid);
        }
        // SGL: TSO splits SGE0 at the header end when the first segment holds payload too.
        let split = tso && segs[0].len > hdr_len;
        let nsge = segs.len() + usize::from(split);
        if nsge > MAX_TX_WQE_SGES as usize {
            return Err(TxError::TooManySegments);
        }
        // SGEs are produced straight into the ring (no staged SGL array).
        let key = self.params.gpa_mkey;
        let sge_at = |i: usize| -> Sge {
            let seg = |j: usize| {
                segs.get(j).map_or(Sge::default(), |s: &DmaSegment| Sge {
                    address: s.addr,
                    mem_key: key,
                    size: s.len,
                })
            };
            match (split, i) {
                (true, 0) => Sge {
                    address: segs[0].addr,
                    mem_key: key,
                    size: hdr_len,
                },
                (true, 1) => Sge {
                    address: segs[0].addr.wrapping_add(u64::from(hdr_len)),
                    mem_key: key,
                    size: segs[0].len - hdr_len,
                },
                (true, _) => seg(i - 1),
                (false, _) => seg(i),
            }
        };
        let vlan = off.vlan_tci;
        let long =
            vlan.is_some() || self.params.vport_offset > 0xFF || !self.params.short_form_allowed;
        let cq_id = self.cq.id();
        let sq_id = self.sq.id();
        let t = if needs_offsets { trans_off } else { 0 };
        let mut oob = TxOob::default();
        let oob_bytes: &[u8] = if long {
            oob.s = TxShortOob::new(TX_PKT_FMT_LONG, flags, cq_id, t, sq_id, 0);
            // TCI = PCP (15–13) | DEI (12) | VID (11–0), IEEE 802.1Q.
            let v = vlan.map(|tci| (((tci >> 13) & 7) as u8, tci & 0x1000 != 0, tci & 0xFFF));
            oob.l = TxLongOob::new(v, self.params.vport_offset);
            oob.as_bytes()
        } else {
            oob.s = TxShortOob::new(
                TX_PKT_FMT_SHORT,
                flags,
                cq_id,
                t,
                sq_id,
                self.params.vport_offset as u8,
            );
            oob.s.as_bytes()
        };
        let cdu = if tso { u32::from(off.tso_mss) } else { 0 };
        let posted = match self.sq.post_sges(oob_bytes, nsge, cdu, tso, sge_at) {
            Ok(p) => p,
            Err(WqeError::NoSpace) => return self.refuse(),
            Err(WqeError::TooManySges) => return Err(TxError::TooManySegments),
            Err(WqeError::Invalid) => return Err(TxError::Invalid),
        };
        let idx = (self.pend_tail & self.pend_mask()) as usize;
        if let Some(p) = self.pending.get_mut(idx) {
            *p = Pending {
                token: pkt.token,
                bytes: total,
                size_bu: posted.size_bu,
                sent_us: self.clock_us,
                timed_out: false,
            };
        }
        self.pend_tail = self.pend_tail.wrapping_add(1);
        if tso {
            stats::inc(&mut self.stats.tso_packets);
            stats::add(&mut self.stats.tso_bytes, u64::from(total - hdr_len));
        }
        if off.l4_csum {
            stats::inc(&mut self.stats.csum_partial);
        }
        if long {
            stats::inc(&mut self.stats.long_pkt_fmt);
        } else {
            stats::inc(&mut self.stats.short_pkt_fmt);
        }
        Ok(())
    }

    fn refuse(&mut self) -> Result<(), TxError> {
        if !self.stopped {
            self.stopped = true;
            stats::inc(&mut self.stats.stop_queue);
        }
        Err(TxError::NoSpace)
    }

    /// Ring the SQ doorbell with the producer offset.
    pub fn kick<R: RegisterBar>(&mut self, plat: &P, bar: &R, db: &DoorbellPage) {
        db.ring_sq(plat, bar, self.sq.id(), self.sq.doorbell_tail_bytes());
        stats::inc(&mut self.stats.doorbells);
    }

    /// Reap up to `budget` completions, in order.
    pub fn poll<R: RegisterBar>(
        &mut self,
        plat: &P,
        bar: &R,
        db: &DoorbellPage,
        budget: u32,
        trigger: &ResetTrigger,
        done: &mut dyn FnMut(Token),
    ) -> u32 {
        let mut n = 0u32;
        while n < budget {
            let cqe = match self.cq.poll(plat) {
                QueueEntry::Empty => break,
                QueueEntry::Overflow => {
                    self.fault(trigger, ResetReason::TxDescriptorMalformed);
                    break;
                }
                QueueEntry::Entry(c) => c,
            };
            let info = cqe.info();
            if !info.is_sq() || info.wq_num() != self.sq.id() {
                self.fault(trigger, ResetReason::TxDescriptorMalformed);
                break;
            }
            let Ok((oob, _)) = TxCompOob::read_from_prefix(&cqe.data) else {
                break;
            };
            match oob.header().cqe_type() {
                cqe_type::TX_OKAY => {}
                // Errors still complete the packet (Linux frees the skb and counts).
                cqe_type::TX_SA_DROP..=cqe_type::TX_VLAN_TAGGING_VIOLATION => {
                    stats::inc(&mut self.stats.cq_err)
                }
                cqe_type::TX_GDMA_ERR => {
                    // The device disabled the queue: complete, then recover by reset.
                    stats::inc(&mut self.stats.cq_err);
                    trigger.trigger(ResetReason::TxDescriptorMalformed);
                }
                _ => {
                    stats::inc(&mut self.stats.cqe_unknown_type);
                    self.fault(trigger, ResetReason::TxDescriptorMalformed);
                    break;
                }
            }
            if self.pend_head == self.pend_tail {
                // A completion with nothing pending: a spurious id.
                self.fault(trigger, ResetReason::InvalidTxReqId);
                break;
            }
            let idx = (self.pend_head & self.pend_mask()) as usize;
            let p = self.pending.get(idx).copied().unwrap_or_default();
            if self.sq.advance_tail(p.size_bu).is_err() {
                self.fault(trigger, ResetReason::InvalidTxReqId);
                break;
            }
            self.pend_head = self.pend_head.wrapping_add(1);
            if p.timed_out {
                self.timed_out_pending = self.timed_out_pending.saturating_sub(1);
            }
            stats::inc(&mut self.stats.packets);
            stats::add(&mut self.stats.bytes, u64::from(p.bytes));
            done(p.token);
            n += 1;
        }
        self.cq.maybe_ring_unarmed(plat, bar, db);
        if self.stopped && self.sq.free_bytes() >= MAX_SQ_WQE_SIZE {
            self.stopped = false;
            stats::inc(&mut self.stats.wake_queue);
        }
        n
    }

    fn fault(&mut self, trigger: &ResetTrigger, reason: ResetReason) {
        stats::inc(&mut self.stats.bad_cqe);
        trigger.trigger(reason);
    }

    /// Hand every pending token to `release` and forget them (close/reset).
    pub fn release_all(&mut self, release: &mut dyn FnMut(Token)) {
        while self.pend_head != self.pend_tail {
            let idx = (self.pend_head & self.pend_mask()) as usize;
            if let Some(p) = self.pending.get(idx) {
                release(p.token);
            }
            self.pend_head = self.pend_head.wrapping_add(1);
        }
        self.sq.reset();
        self.timed_out_pending = 0;
        self.stopped = false;
    }

    /// Send time of the oldest pending packet.
    pub fn oldest_pending_us(&self) -> Option<u64> {
        (self.pend_head != self.pend_tail).then(|| {
            self.pending
                .get((self.pend_head & self.pend_mask()) as usize)
                .map_or(0, |p| p.sent_us)
        })
    }

    /// Mark packets older than `timeout_us` as overdue (health check); returns overdue pending.
    pub fn mark_timed_out(&mut self, now_us: u64, timeout_us: u64) -> u64 {
        let mask = self.pend_mask();
        let mut i = self.pend_head;
        while i != self.pend_tail {
            if let Some(p) = self.pending.get_mut((i & mask) as usize) {
                if !p.timed_out && now_us.saturating_sub(p.sent_us) > timeout_us {
                    p.timed_out = true;
                    self.timed_out_pending = self.timed_out_pending.saturating_add(1);
                    stats::inc(&mut self.stats.missed_tx);
                }
            }
            i = i.wrapping_add(1);
        }
        self.timed_out_pending
    }

    /// Overdue packets whose completions already sit in the CQ. Completions
    /// are in order and the overdue packets are the oldest, so this is the
    /// number of valid CQEs at the head, capped at the overdue count.
    pub fn timed_out_in_cq(&self) -> u64 {
        let cap = u32::try_from(self.timed_out_pending).unwrap_or(u32::MAX);
        u64::from(self.cq.peek_count(cap))
    }
}
