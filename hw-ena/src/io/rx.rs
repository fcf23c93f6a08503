//! ENA RX ring: host-memory submission queue of single-buffer descriptors and
//! the RX completion queue (ena.md §5.1, §5.5, §5.6).
//!
//! `sq_pos` counts descriptors posted, `next_to_comp` descriptors whose
//! completion was consumed, `cq_pos` completions consumed (all free-running
//! u16 with the ENA phase). A packet may span several completions (first …
//! last); the buffers gathered so far live in `frags` until `last` arrives,
//! so a packet split across two polls is finished on the next one and
//! nothing is lost if the device misbehaves in between.

use cloudnic_common::nic::{Released, RxBuffer, RxFragment, RxPacket};
use cloudnic_common::reqid::ReqIdSlab;
use cloudnic_common::ring::{entries_free, entries_in_use, PhaseRing};
use cloudnic_common::stats::{add, inc};
use cloudnic_common::{DmaRegion, Error, Platform, RegisterBar, ResetReason};

use crate::defs::io::{
    RxCdesc, RxCdescStatus, RxDesc, RX_CDESC_STATUS_MBZ, RX_CDESC_WORDS, RX_DESC_SIZE,
};
use crate::io::intr::QueueIntr;
use crate::io::rx_class::RxClassCache;
pub use crate::io::stats::RxQueueStats;
use crate::io::tx::{zero_dma, CQ_ALIGN};

/// Most buffers one packet may span that this ring can gather (Linux caps
/// the device's limit at 19; the stack array of fragments is this long).
pub const RX_MAX_FRAGS: usize = 32;
/// Largest buffer an RX descriptor can describe (length 0 = 64 KiB, §5.5).
pub const RX_MAX_BUF_LEN: u32 = 0x1_0000;
/// Bus addresses above 48 bits cannot be described (§5.5).
const ADDR_LIMIT: u64 = 1 << 48;
const CDESC_SIZE: usize = RX_CDESC_WORDS as usize * 4;
const STATUS_PHASE: u32 = RxCdescStatus::PHASE.bits();
const STATUS_LAST: u32 = RxCdescStatus::LAST.bits();
/// The phase bit's place in a descriptor's first 64-bit word (the only
/// difference between the two phases' encodings), so the refill loop can
/// flip it in a local word instead of re-encoding it per descriptor.
const DESC_Q0_PHASE: u64 =
    RxDesc::new(0, 0, 0, true).to_qwords()[0] ^ RxDesc::new(0, 0, 0, false).to_qwords()[0];

/// Per-request-id bookkeeping, kept in the id slab with the id's in-flight
/// flag (valid while the id is in flight).
#[derive(Clone, Copy, Debug, Default)]
struct RxSlot {
    token: u64,
    len: u32,
}

/// One ENA RX queue.
pub struct RxRing<P: Platform> {
    sq: P::Dma,
    cq: P::Dma,
    ids: ReqIdSlab<P, RxSlot>,
    sq_pos: PhaseRing,
    cq_pos: PhaseRing,
    next_to_comp: u16,
    max_sgl: u16,
    mbz_checked: bool,
    sq_db: u32,
    intr: QueueIntr,
    frags: [RxFragment; RX_MAX_FRAGS],
    nfrags: u16,
    pkt_offset: u32,
    /// Bytes gathered so far (≤ 32 buffers of ≤ 65535 bytes: fits in u32).
    pkt_len: u32,
    class: RxClassCache,
    stats: RxQueueStats,
}

impl<P: Platform> RxRing<P> {
    /// Allocate the SQ and CQ rings (4 KiB aligned) and the bookkeeping.
    /// `max_sgl` (the device's RX descriptors per packet) is capped at
    /// [`RX_MAX_FRAGS`].
    pub fn new(plat: &P, depth: u16, max_sgl: u16, cdesc_mbz_checked: bool) -> Result<Self, Error> {
        let sq_pos = PhaseRing::new(depth.into())?;
        let max_sgl = max_sgl.min(RX_MAX_FRAGS as u16);
        if max_sgl == 0 {
            return Err(Error::IncompatibleDevice);
        }
        let n = usize::from(depth);
        Ok(RxRing {
            sq: plat.alloc_dma((n * RX_DESC_SIZE).max(CQ_ALIGN), CQ_ALIGN)?,
            cq: plat.alloc_dma((n * CDESC_SIZE).max(CQ_ALIGN), CQ_ALIGN)?,
            ids: ReqIdSlab::new(plat, depth.into(), RxSlot::default())?,
            sq_pos,
            cq_pos: sq_pos,
            next_to_comp: 0,
            max_sgl,
            mbz_checked: cdesc_mbz_checked,
            sq_db: 0,
            intr: QueueIntr::new(0),
            frags: [RxFragment::default(); RX_MAX_FRAGS],
            nfrags: 0,
            pkt_offset: 0,
            pkt_len: 0,
            class: RxClassCache::new(),
            stats: RxQueueStats::default(),
        })
    }

    /// Bus address of the SQ ring (for CREATE_SQ).
    pub fn sq_bus_addr(&self) -> u64 {
        self.sq.bus_addr()
    }
    /// Bus address of the CQ ring (for CREATE_CQ).
    pub fn cq_bus_addr(&self) -> u64 {
        self.cq.bus_addr()
    }
    /// CQ entry size in 32-bit words for CREATE_CQ (16-byte completions).
    pub fn cq_entry_words(&self) -> u8 {
        RX_CDESC_WORDS
    }
    /// Ring depth.
    pub fn depth(&self) -> u16 {
        self.sq_pos.mask().wrapping_add(1)
    }
    /// Record the SQ doorbell and interrupt unmask offsets (BAR 0).
    pub fn attach(&mut self, sq_doorbell_offset: u32, unmask_offset: u32) {
        self.sq_db = sq_doorbell_offset;
        self.intr = QueueIntr::new(unmask_offset);
    }
    /// The queue pair's interrupt register.
    pub fn intr(&self) -> QueueIntr {
        self.intr
    }

    /// Buffers the ring can still take (one slot stays empty).
    pub fn space(&self) -> u32 {
        entries_free(
            self.sq_pos.depth(),
            self.sq_pos.counter(),
            self.next_to_comp,
        )
        .into()
    }
    /// Buffers posted and not yet returned.
    pub fn posted(&self) -> u16 {
        entries_in_use(self.sq_pos.counter(), self.next_to_comp)
    }
    /// True if the device holds no buffer (health check "empty RX ring").
    pub fn is_empty(&self) -> bool {
        self.posted() == 0
    }

    /// Post one descriptor per buffer (first = last = comp_req) and ring the
    /// doorbell once for the batch. Stops at the first buffer it cannot
    /// describe (length 0, address beyond 48 bits) or when the ring is full;
    /// returns how many buffers were taken. Lengths above 64 KiB are
    /// announced as 64 KiB (the descriptor's maximum).
    pub fn refill<R: RegisterBar>(&mut self, bar0: &R, bufs: &[RxBuffer]) -> u32 {
        let room = self.space() as usize;
        let bufs = bufs.get(..room.min(bufs.len())).unwrap_or_default();
        // Position and phase kept locally for the batch (the phase flips
        // when the index wraps, as in `PhaseRing`); written back once.
        let mask = self.sq_pos.mask();
        let mut counter = self.sq_pos.counter();
        let mut phase_bit = if self.sq_pos.phase() {
            DESC_Q0_PHASE
        } else {
            0
        };
        let mut ids = self.ids.run();
        let mut taken = 0usize;
        'run: while taken < bufs.len() {
            // Up to the end of the ring's current pass the phase is the same.
            let pass_end = taken + usize::from(mask - (counter & mask)) + 1;
            for b in bufs
                .get(taken..pass_end.min(bufs.len()))
                .unwrap_or_default()
            {
                if b.len == 0 || b.addr >= ADDR_LIMIT {
                    break 'run;
                }
                let len = b.len.min(RX_MAX_BUF_LEN);
                let slot = RxSlot {
                    token: b.token,
                    len,
                };
                let Some(id) = ids.alloc(slot) else {
                    break 'run;
                };
                // Encoded with phase 0, then the pass's phase bit ORed in.
                let q = RxDesc::new(len, id, b.addr, false).to_qwords();
                let off = usize::from(counter & mask) * RX_DESC_SIZE;
                self.sq.write64_pair(off, [q[0] | phase_bit, q[1]]);
                counter = counter.wrapping_add(1);
                taken += 1;
            }
            phase_bit ^= DESC_Q0_PHASE;
        }
        drop(ids);
        // taken ≤ room < depth ≤ 32768.
        let taken = taken as u32;
        self.sq_pos.advance(taken as u16);
        if taken != 0 {
            bar0.write32(self.sq_db, u32::from(self.sq_pos.counter()));
        }
        taken
    }

    /// True if the completion at the CQ head is valid (peek, no side effects).
    pub fn cq_has_completion(&self) -> bool {
        let st = self
            .cq
            .read32(usize::from(self.cq_pos.index()) * CDESC_SIZE);
        self.cq_pos.is_new(st & STATUS_PHASE != 0)
    }

    /// Deliver up to `budget` packets. Validation (ena.md §5.6): `first` on a
    /// non-first completion, or must-be-zero bits with CDESC_MBZ →
    /// RxDescriptorMalformed; req_id out of range or not posted →
    /// InvalidRxReqId; more than `max_sgl` completions → TooManyRxDescs;
    /// a length beyond the posted buffer (offset included for the first) →
    /// RxDescriptorMalformed (stricter than Linux: a device must never claim
    /// more bytes than it was given). Packets before the bad one were delivered.
    ///
    /// The completion's first 64-bit word (status with phase and MBZ bits,
    /// length, req_id) is read with one load, so the load that sees the new
    /// phase sees that entry's length and req_id too (an aligned 64-bit load
    /// is single-copy atomic); the DMA read barrier then orders the read of
    /// the second word (hash, offset) after it (ena.md §5.6 protocol: phase,
    /// `dma_rmb`, fields). The head position, the expected phase (a bit in
    /// the status word's position, flipped when the index wraps, as
    /// [`PhaseRing`] does) and `next_to_comp` are kept locally and written
    /// back once. A packet in one buffer (no gather in progress, `last` set)
    /// is delivered straight from the completion with a one-fragment list on
    /// the stack; others are gathered ([`RxRing::gather`]), which leaves the
    /// ring state the same way for the same completions.
    pub fn poll<F: FnMut(&RxPacket<'_>)>(
        &mut self,
        plat: &P,
        budget: u32,
        mut deliver: F,
    ) -> Result<u32, ResetReason> {
        let checked = if self.mbz_checked {
            STATUS_PHASE | RX_CDESC_STATUS_MBZ.bits()
        } else {
            STATUS_PHASE
        };
        let mask = self.cq_pos.mask();
        let mut counter = self.cq_pos.counter();
        let mut want = if self.cq_pos.phase() { STATUS_PHASE } else { 0 };
        let mut next_to_comp = self.next_to_comp;
        let mut pkts = 0u32;
        // The id free list's head stays local on the one-buffer path; the
        // gather path works on the slab itself.
        let mut ids = self.ids.run();
        let verdict = loop {
            if pkts >= budget {
                break Ok(());
            }
            let off = usize::from(counter & mask) * CDESC_SIZE;
            let q0 = self.cq.read64(off);
            // The status word is the low half of the first 64-bit word.
            let odd = (q0 as u32 ^ want) & checked;
            if odd & STATUS_PHASE != 0 {
                break Ok(()); // not written by the device yet
            }
            plat.dma_read_barrier();
            let c = RxCdesc::from_qwords([q0, self.cq.read64(off + 8)]);
            let mbz_violated = odd != 0;
            if self.nfrags == 0 && c.status & STATUS_LAST != 0 {
                // A packet in one buffer.
                if mbz_violated {
                    break Err(ResetReason::RxDescriptorMalformed);
                }
                // The slab refuses ids out of range, never posted, or
                // completed twice.
                let Ok(&slot) = ids.take(c.req_id) else {
                    inc(&mut self.stats.bad_req_id);
                    break Err(ResetReason::InvalidRxReqId);
                };
                next_to_comp = next_to_comp.wrapping_add(1);
                let frag = RxFragment {
                    token: slot.token,
                    len: c.length.into(),
                };
                let offset = u32::from(c.offset);
                // length ≤ 65535 and offset ≤ 255: no overflow.
                if frag.len + offset > slot.len {
                    // The buffer is ours again: keep it for `release_all`.
                    if let Some(f) = self.frags.first_mut() {
                        *f = frag;
                        self.nfrags = 1;
                    }
                    break Err(ResetReason::RxDescriptorMalformed);
                }
                finish(
                    &mut self.stats,
                    &mut self.class,
                    &[frag],
                    offset,
                    frag.len,
                    &c,
                    &mut deliver,
                );
                pkts += 1;
            } else {
                drop(ids);
                let gathered = self.gather(c, mbz_violated, &mut next_to_comp, &mut deliver);
                ids = self.ids.run();
                match gathered {
                    Ok(delivered) => pkts += u32::from(delivered),
                    Err(reason) => break Err(reason),
                }
            }
            // The completion is retired.
            counter = counter.wrapping_add(1);
            if counter & mask == 0 {
                want ^= STATUS_PHASE;
            }
        };
        drop(ids);
        // Checksum counters owed by the verdict cache; `pkts` counts exactly
        // the packets `finish` delivered (fast path and gathered).
        self.class.flush(&mut self.stats);
        add(&mut self.stats.cnt, u64::from(pkts));
        self.cq_pos
            .advance(counter.wrapping_sub(self.cq_pos.counter()));
        self.next_to_comp = next_to_comp;
        verdict.map(|()| pkts)
    }

    /// One completion of a packet spanning several buffers (or a first
    /// completion without `last`): gather it in `frags`, deliver on `last`.
    /// On `Ok` the completion is retired (the caller advances the head);
    /// `next_to_comp` counts the buffer as soon as it is ours again.
    #[inline(never)]
    fn gather<F: FnMut(&RxPacket<'_>)>(
        &mut self,
        c: RxCdesc,
        mbz_violated: bool,
        next_to_comp: &mut u16,
        deliver: &mut F,
    ) -> Result<bool, ResetReason> {
        let flags = c.flags();
        if flags.contains(RxCdescStatus::FIRST) && self.nfrags != 0 {
            return Err(ResetReason::RxDescriptorMalformed);
        }
        if mbz_violated {
            return Err(ResetReason::RxDescriptorMalformed);
        }
        if self.nfrags >= self.max_sgl {
            inc(&mut self.stats.bad_desc_num);
            return Err(ResetReason::TooManyRxDescs);
        }
        // The slab refuses ids out of range, never posted, or completed twice.
        let Ok(&slot) = self.ids.take(c.req_id) else {
            inc(&mut self.stats.bad_req_id);
            return Err(ResetReason::InvalidRxReqId);
        };
        // The buffer is ours again: keep it in `frags` even if the length
        // check below fails, so `release_all` still returns it.
        let idx = usize::from(self.nfrags);
        if let Some(f) = self.frags.get_mut(idx) {
            *f = RxFragment {
                token: slot.token,
                len: c.length.into(),
            };
        }
        self.nfrags += 1;
        *next_to_comp = next_to_comp.wrapping_add(1);
        let offset = if idx == 0 { u32::from(c.offset) } else { 0 };
        if u32::from(c.length) + offset > slot.len {
            return Err(ResetReason::RxDescriptorMalformed);
        }
        if idx == 0 {
            self.pkt_offset = offset;
            self.pkt_len = 0;
        }
        self.pkt_len += u32::from(c.length);
        if !flags.contains(RxCdescStatus::LAST) {
            return Ok(false);
        }
        let n = usize::from(self.nfrags).min(RX_MAX_FRAGS);
        self.nfrags = 0;
        let frags = self.frags.get(..n).unwrap_or(&[]);
        finish(
            &mut self.stats,
            &mut self.class,
            frags,
            self.pkt_offset,
            self.pkt_len,
            &c,
            deliver,
        );
        Ok(true)
    }

    /// Give back every posted buffer and any partly gathered packet (queue
    /// destroyed or device reset). The ring must be re-created before reuse.
    pub fn release_all(&mut self, f: &mut dyn FnMut(Released)) {
        for frag in self.frags.iter().take(usize::from(self.nfrags)) {
            f(Released::Rx(frag.token));
        }
        self.nfrags = 0;
        self.ids.for_each_in_flight(|_, s| f(Released::Rx(s.token)));
        self.ids.reset();
        self.next_to_comp = self.sq_pos.counter();
    }

    /// Make the ring like new for re-creation on the device (after a reset,
    /// once [`RxRing::release_all`] ran): positions back to 0 / phase 1 and
    /// ring memory zeroed so stale completions cannot look valid. Stats are kept.
    pub fn reinit(&mut self) {
        zero_dma(&self.sq);
        zero_dma(&self.cq);
        self.ids.reset();
        self.sq_pos.reset();
        self.cq_pos.reset();
        self.next_to_comp = 0;
        self.nfrags = 0;
    }

    /// Re-arm the pair's interrupt (the TX ring counts `unmask_interrupt`;
    /// use this when only the RX ring is at hand).
    pub fn unmask<R: RegisterBar>(&self, bar0: &R, rx_delay: u32, tx_delay: u32) {
        self.intr.unmask(bar0, rx_delay, tx_delay);
    }

    /// Counters, in ethtool order.
    pub fn stats(&self) -> &RxQueueStats {
        &self.stats
    }
    /// Counters the device layer maintains (refil_partial, empty_rx_ring, ...).
    pub fn stats_mut(&mut self) -> &mut RxQueueStats {
        &mut self.stats
    }
}

/// Translate the last completion's fields (Linux policy, ena.md §5.6, via
/// the queue's cache), count its bytes and hand it over (the caller counts
/// packets once per poll).
#[inline(always)]
fn finish<F: FnMut(&RxPacket<'_>)>(
    stats: &mut RxQueueStats,
    class: &mut RxClassCache,
    frags: &[RxFragment],
    offset: u32,
    len: u32,
    c: &RxCdesc,
    deliver: &mut F,
) {
    let class = class.classify(c.status, stats);
    add(&mut stats.bytes, u64::from(len));
    deliver(&RxPacket {
        frags,
        offset,
        len,
        csum: class.csum,
        hash: c.hash,
        hash_type: class.hash_type,
        l3: class.l3,
        l4: class.l4,
        // ENA does not strip tags: a tagged frame arrives whole (the
        // completion only counts source VLANs, ena.md §5.6).
        vlan_tci: None,
    });
}

#[cfg(test)]
#[path = "rx_tests.rs"]
mod tests;
