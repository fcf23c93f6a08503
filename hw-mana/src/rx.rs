//! MANA RX queue: RQ + CQ, one-SGE receive WQEs, every RX CQE type
//! (okay, coalesced, fence, truncated), checksum/hash/stripped-VLAN reporting and buffer
//! recycling (mana.md §6.7–§6.9).
//!
//! Receive WQEs are consumed in post order, one per packet, so the queue
//! keeps its posted buffers in a FIFO. A coalesced CQE describes up to four
//! packets in consecutive WQEs; packets beyond the poll budget are kept in
//! `carry` and delivered by the next poll, so a poll never exceeds its budget.
//! Dropped packets (truncated, zero length) re-post their buffer.

use zerocopy::FromBytes;

use cloudnic_common::nic::Token;
use cloudnic_common::nic::{
    L3Proto, L4Proto, RssHashType, RxBuffer, RxChecksum, RxFragment, RxPacket,
};
use cloudnic_common::reset::ResetTrigger;
use cloudnic_common::{stats, Error, Platform, RegisterBar, ResetReason};

use crate::bar::DoorbellPage;
use crate::cq::{CompletionQueue, QueueEntry};
use crate::defs::eth_dp::{cqe_type, NdisHashType, RxCompFlags, RxCompOob, RXCOMP_OOB_NUM_PPI};
use crate::defs::queue::{Sge, WQE_BU_SIZE};
use crate::wq::{WorkQueue, WqKind};

cloudnic_common::counters! {
    /// Per-RX-queue counters: Linux `rx_N_*` names first (mana.md §8), then cloudnic extras.
    pub struct RxStats {
        /// Packets delivered.
        packets,
        /// Bytes delivered.
        bytes,
        /// XDP drops (always 0 here).
        xdp_drop,
        /// XDP TX (always 0).
        xdp_tx,
        /// XDP redirects (always 0).
        xdp_redirect,
        /// Packets with length 0.
        pkt_len0_err,
        /// Coalesced CQEs carrying 2 packets.
        coalesced_cqe_2,
        /// Coalesced CQEs carrying 3 packets.
        coalesced_cqe_3,
        /// Coalesced CQEs carrying 4 packets.
        coalesced_cqe_4,
        /// RX CQEs of unknown type (Linux global `rx_cqe_unknown_type`).
        cqe_unknown_type,
        /// Truncated packets dropped.
        truncated,
        /// CQEs naming another WQ, overflows, lengths above the buffer, nothing posted.
        bad_cqe,
        /// Fence completions.
        fences,
        /// Checksums verified good by the device.
        csum_good,
        /// Checksums reported bad.
        csum_bad,
        /// RQ doorbells rung.
        doorbells,
    }
}

/// Packets of a coalesced CQE still to deliver.
#[derive(Clone, Copy, Debug)]
struct Carry {
    oob: RxCompOob,
    next: usize,
}

/// An RX queue.
pub struct RxQueue<P: Platform> {
    /// Receive queue.
    pub rq: WorkQueue<P>,
    /// Its completion queue.
    pub cq: CompletionQueue<P>,
    /// WQ object handle (INVALID until created).
    pub obj_handle: u64,
    posted: P::Table<RxBuffer>,
    head: u32,
    tail: u32,
    gpa_mkey: u32,
    carry: Option<Carry>,
    fence_seen: bool,
    /// Counters.
    pub stats: RxStats,
}

impl<P: Platform> RxQueue<P> {
    /// Allocate rings for `ring_size` buffers (RQ = size × 32 bytes, CQ = size entries; mana.md §6.5).
    pub fn new(plat: &P, ring_size: u32, gpa_mkey: u32) -> Result<Self, Error> {
        let rq = WorkQueue::new(
            plat,
            ring_size
                .checked_mul(WQE_BU_SIZE)
                .ok_or(Error::Unsupported)?,
            WqKind::Receive,
        )?;
        let cq = CompletionQueue::new(plat, ring_size)?;
        let posted = plat.alloc_table(ring_size as usize, |_| RxBuffer::default())?;
        Ok(RxQueue {
            rq,
            cq,
            obj_handle: u64::MAX,
            posted,
            head: 0,
            tail: 0,
            gpa_mkey,
            carry: None,
            fence_seen: false,
            stats: RxStats::default(),
        })
    }

    fn mask(&self) -> u32 {
        self.posted.len() as u32 - 1
    }
    /// Buffers posted and not yet returned.
    pub fn posted(&self) -> u32 {
        self.tail.wrapping_sub(self.head)
    }
    /// Buffers the ring can still take.
    pub fn space(&self) -> u32 {
        (self.posted.len() as u32)
            .saturating_sub(self.posted())
            .min(self.rq.free_bytes() / WQE_BU_SIZE)
    }

    fn push(&mut self, buf: RxBuffer) -> bool {
        if self.space() == 0 {
            return false;
        }
        let sge = Sge {
            address: buf.addr,
            mem_key: self.gpa_mkey,
            size: buf.len,
        };
        // One-SGE WQE with the 8-byte zero OOB slot the RQ requires (mana.md §4.2).
        if self.rq.post_receive(&sge).is_err() {
            return false;
        }
        let idx = (self.tail & self.mask()) as usize;
        if let Some(s) = self.posted.get_mut(idx) {
            *s = buf;
        }
        self.tail = self.tail.wrapping_add(1);
        true
    }

    fn ring<R: RegisterBar>(&mut self, plat: &P, bar: &R, db: &DoorbellPage) {
        db.ring_rq(plat, bar, self.rq.id(), self.rq.doorbell_tail_bytes());
        stats::inc(&mut self.stats.doorbells);
    }

    /// Post buffers (zero-length ones are refused) and ring the doorbell; returns how many were taken.
    pub fn refill<R: RegisterBar>(
        &mut self,
        plat: &P,
        bar: &R,
        db: &DoorbellPage,
        bufs: &[RxBuffer],
    ) -> u32 {
        let mut n = 0u32;
        for b in bufs {
            if b.len == 0 || !self.push(*b) {
                break;
            }
            n += 1;
        }
        if n > 0 {
            self.ring(plat, bar, db);
        }
        n
    }

    /// Pop the buffer of the next consumed WQE.
    fn pop(&mut self) -> Option<RxBuffer> {
        if self.head == self.tail {
            return None;
        }
        let b = self
            .posted
            .get((self.head & self.mask()) as usize)
            .copied()?;
        self.head = self.head.wrapping_add(1);
        self.rq.advance_tail(1).ok()?;
        Some(b)
    }

    /// True once a FENCE CQE was seen since the last call (clears it).
    pub fn take_fence(&mut self) -> bool {
        core::mem::take(&mut self.fence_seen)
    }

    /// Reap up to `budget` packets.
    pub fn poll<R: RegisterBar>(
        &mut self,
        plat: &P,
        bar: &R,
        db: &DoorbellPage,
        budget: u32,
        trigger: &ResetTrigger,
        deliver: &mut dyn FnMut(&RxPacket<'_>),
    ) -> u32 {
        let mut n = 0u32;
        let mut recycled = false;
        'outer: while n < budget {
            let (oob, start) = match self.carry.take() {
                Some(c) => (c.oob, c.next),
                None => match self.next_cqe(plat, trigger) {
                    Some(o) => (o, 0),
                    None => break,
                },
            };
            let ty = oob.header().cqe_type();
            let count = match ty {
                cqe_type::RX_OKAY | cqe_type::RX_TRUNCATED => 1,
                cqe_type::RX_COALESCED_4 => {
                    if start == 0 {
                        let k = oob.ppi.iter().take_while(|p| p.pkt_len != 0).count();
                        match k {
                            2 => stats::inc(&mut self.stats.coalesced_cqe_2),
                            3 => stats::inc(&mut self.stats.coalesced_cqe_3),
                            4 => stats::inc(&mut self.stats.coalesced_cqe_4),
                            _ => {}
                        }
                    }
                    RXCOMP_OOB_NUM_PPI
                }
                cqe_type::RX_OBJECT_FENCE => {
                    self.fence_seen = true;
                    stats::inc(&mut self.stats.fences);
                    continue;
                }
                _ => {
                    // Includes RX_COALESCED_8 (type 7), which we never
                    // enable: see `defs::eth_dp::cqe_type::RX_COALESCED_8`.
                    stats::inc(&mut self.stats.cqe_unknown_type);
                    self.fault(trigger, ResetReason::RxDescriptorMalformed);
                    break;
                }
            };
            for i in start..count {
                if n >= budget {
                    self.carry = Some(Carry { oob, next: i });
                    break 'outer;
                }
                let Some(ppi) = oob.ppi.get(i) else { break };
                let len = u32::from(ppi.pkt_len);
                if len == 0 {
                    if i == 0 {
                        // Zero length in the first slot still consumed a WQE.
                        stats::inc(&mut self.stats.pkt_len0_err);
                        recycled |= self.recycle_next(trigger);
                    }
                    break;
                }
                let Some(buf) = self.pop() else {
                    self.fault(trigger, ResetReason::InvalidRxReqId);
                    break 'outer;
                };
                if ty == cqe_type::RX_TRUNCATED {
                    stats::inc(&mut self.stats.truncated);
                    recycled |= self.push(buf);
                    continue;
                }
                if len > buf.len {
                    self.fault(trigger, ResetReason::RxDescriptorMalformed);
                    recycled |= self.push(buf);
                    break 'outer;
                }
                let pkt = build_packet(&oob, i, len, &mut self.stats);
                deliver(&RxPacket {
                    frags: &[RxFragment {
                        token: buf.token,
                        len,
                    }],
                    ..pkt
                });
                stats::inc(&mut self.stats.packets);
                stats::add(&mut self.stats.bytes, u64::from(len));
                n += 1;
            }
        }
        if recycled {
            self.ring(plat, bar, db);
        }
        self.cq.maybe_ring_unarmed(plat, bar, db);
        n
    }

    fn recycle_next(&mut self, trigger: &ResetTrigger) -> bool {
        match self.pop() {
            Some(b) => self.push(b),
            None => {
                self.fault(trigger, ResetReason::InvalidRxReqId);
                false
            }
        }
    }

    fn next_cqe(&mut self, plat: &P, trigger: &ResetTrigger) -> Option<RxCompOob> {
        match self.cq.poll(plat) {
            QueueEntry::Empty => None,
            QueueEntry::Overflow => {
                self.fault(trigger, ResetReason::RxDescriptorMalformed);
                None
            }
            QueueEntry::Entry(cqe) => {
                let info = cqe.info();
                if info.is_sq() || info.wq_num() != self.rq.id() {
                    self.fault(trigger, ResetReason::RxDescriptorMalformed);
                    return None;
                }
                RxCompOob::read_from_bytes(&cqe.data).ok()
            }
        }
    }

    fn fault(&mut self, trigger: &ResetTrigger, reason: ResetReason) {
        stats::inc(&mut self.stats.bad_cqe);
        trigger.trigger(reason);
    }

    /// Hand every posted buffer to `release` and forget them (close/reset).
    pub fn release_all(&mut self, release: &mut dyn FnMut(Token)) {
        while self.head != self.tail {
            if let Some(b) = self.posted.get((self.head & self.mask()) as usize) {
                release(b.token);
            }
            self.head = self.head.wrapping_add(1);
        }
        self.carry = None;
        self.rq.reset();
    }
}

/// Checksum, hash and protocol fields of packet `i` of a completion (mana.md §6.8).
fn build_packet<'a>(oob: &RxCompOob, i: usize, len: u32, stats: &mut RxStats) -> RxPacket<'a> {
    let f: RxCompFlags = oob.rx_flags();
    let ht = f.hash_type();
    let tcp = f.has(RxCompFlags::TCP_CSUM_OK)
        || f.has(RxCompFlags::TCP_CSUM_FAIL)
        || ht.intersects(
            NdisHashType::TCP_IPV4 | NdisHashType::TCP_IPV6 | NdisHashType::TCP_IPV6_EX,
        );
    let udp = f.has(RxCompFlags::UDP_CSUM_OK)
        || f.has(RxCompFlags::UDP_CSUM_FAIL)
        || ht.intersects(
            NdisHashType::UDP_IPV4 | NdisHashType::UDP_IPV6 | NdisHashType::UDP_IPV6_EX,
        );
    let v4 = ht.intersects(NdisHashType::IPV4 | NdisHashType::TCP_IPV4 | NdisHashType::UDP_IPV4);
    let v6 = ht.intersects(
        NdisHashType::IPV6
            | NdisHashType::TCP_IPV6
            | NdisHashType::UDP_IPV6
            | NdisHashType::IPV6_EX
            | NdisHashType::TCP_IPV6_EX
            | NdisHashType::UDP_IPV6_EX,
    );
    let ip_ok = f.has(RxCompFlags::IP_CSUM_OK);
    let ip_fail = f.has(RxCompFlags::IP_CSUM_FAIL);
    // Linux: CHECKSUM_UNNECESSARY only when IP ok and TCP or UDP ok.
    let csum = if ip_fail || f.has(RxCompFlags::TCP_CSUM_FAIL) || f.has(RxCompFlags::UDP_CSUM_FAIL)
    {
        stats::inc(&mut stats.csum_bad);
        RxChecksum::Bad
    } else if ip_ok && (f.has(RxCompFlags::TCP_CSUM_OK) || f.has(RxCompFlags::UDP_CSUM_OK)) {
        stats::inc(&mut stats.csum_good);
        RxChecksum::Good
    } else {
        RxChecksum::NotChecked
    };
    let hash_type = if ht.intersects(NdisHashType::L4) {
        RssHashType::L4
    } else if ht.intersects(NdisHashType::L3) {
        RssHashType::L3
    } else {
        RssHashType::None
    };
    RxPacket {
        frags: &[],
        offset: 0,
        len,
        csum,
        hash: oob.ppi.get(i).map_or(0, |p| p.pkt_hash),
        hash_type,
        l3: if v6 {
            L3Proto::Ipv6
        } else if v4 || ip_ok || ip_fail {
            L3Proto::Ipv4
        } else {
            L3Proto::Unknown
        },
        l4: if tcp {
            L4Proto::Tcp
        } else if udp {
            L4Proto::Udp
        } else {
            L4Proto::Unknown
        },
        // The device strips the tag and reports its VLAN id (12 bits) with
        // the tag-present bit; PCP/DEI are not in the CQE (mana.md §6.8).
        vlan_tci: f.vlan(),
    }
}
