//! ENA TX ring: submission queue in host memory or LLQ device memory, the
//! TX completion queue, request ids and per-packet bookkeeping (ena.md §5.1–§5.4,
//! §5.8, §5.9, §6.2).
//!
//! Positions are free-running `u16` counters (wrapping arithmetic, masked on
//! use): `sq_pos` (with its phase) counts SQ slots produced — descriptors, or
//! lines with LLQ — and is what the doorbell carries; `next_to_comp` counts
//! slots the device gave back; `cq_pos` counts completions consumed. A
//! packet's slots are credited when its completion arrives; completions may
//! arrive in any order (the req_id names the packet).

use cloudnic_common::nic::{DmaSegment, Released, Token, TxError, TxPacket};
use cloudnic_common::reqid::ReqIdSlab;
use cloudnic_common::ring::{entries_free, PhaseRing};
use cloudnic_common::stats::{add, inc};
use cloudnic_common::{DmaRegion, Error, Platform, RegisterBar, ResetReason};

use crate::defs::io::{
    TxCdesc, TxMetaDesc, TX_CDESC_W0_MBZ, TX_CDESC_W0_PHASE, TX_CDESC_WORDS, TX_DESC_SIZE,
};
use crate::io::intr::QueueIntr;
use crate::io::llq::{LlqConfig, LlqWriter, LLQ_MAX_ENTRY_QWORDS};
pub use crate::io::stats::TxQueueStats;
use crate::io::tx_desc::{HostSink, PacketDescs};
use crate::io::tx_offload::{host_header_len, plain_ctrl, prepare_offload, ZERO_META};

/// CQ rings are 4 KiB aligned (ena.md §5.1).
pub const CQ_ALIGN: usize = 4096;
/// Largest descriptor buffer length (16-bit field, ena.md §5.2).
pub const TX_MAX_DESC_LEN: u32 = 0xFFFF;
const CDESC_SIZE: usize = TX_CDESC_WORDS as usize * 4;
/// Phase bit of a TX completion read as one little-endian 64-bit word.
const CDESC_Q0_PHASE: u64 = TX_CDESC_W0_PHASE as u64;
/// Must-be-zero bits of a TX completion read as one 64-bit word.
const CDESC_Q0_MBZ: u64 = TX_CDESC_W0_MBZ as u64;

/// Where the TX submission ring lives.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TxPlacement {
    /// Host memory, fetched by the device.
    Host,
    /// Device memory in BAR 2, written by the CPU (LLQ).
    Llq(LlqConfig),
}

/// Parameters of one TX ring.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TxRingParams {
    /// Ring depth (power of two, SQ and CQ alike).
    pub depth: u16,
    /// Most descriptors per packet, meta descriptor included.
    pub max_sgl: u16,
    /// Device's largest header length (MAX_QUEUES `max_header_size`).
    pub max_header_size: u16,
    /// Host or LLQ placement.
    pub placement: TxPlacement,
    /// The device has the CDESC_MBZ capability: check must-be-zero bits.
    pub cdesc_mbz_checked: bool,
}

/// Per-request-id bookkeeping, kept in the id slab with the id's in-flight
/// flag (valid while the id is in flight).
#[derive(Clone, Copy, Debug, Default)]
struct TxSlot {
    token: Token,
    posted_us: u64,
    slots: u16,
    missed: bool,
}

/// One ENA TX queue. See the module docs for the counter model.
pub struct TxRing<P: Platform> {
    sq: Option<P::Dma>,
    cq: P::Dma,
    ids: ReqIdSlab<P, TxSlot>,
    llq: Option<LlqConfig>,
    bounce: [u64; LLQ_MAX_ENTRY_QWORDS],
    sq_pos: PhaseRing,
    cq_pos: PhaseRing,
    next_to_comp: u16,
    kicked_tail: u16,
    max_sgl: u16,
    max_header: u16,
    cached_meta: Option<TxMetaDesc>,
    burst_left: u16,
    sq_db: u32,
    llq_base: u32,
    intr: QueueIntr,
    mbz_checked: bool,
    stats: TxQueueStats,
}

impl<P: Platform> TxRing<P> {
    /// Allocate the rings (SQ only for host placement; CQ 4 KiB aligned) and
    /// the bookkeeping tables. Refuses geometries where a maximal packet
    /// could never be posted.
    pub fn new(plat: &P, params: &TxRingParams) -> Result<Self, Error> {
        let sq_pos = PhaseRing::new(params.depth.into())?;
        let mask = sq_pos.mask();
        let llq = match params.placement {
            TxPlacement::Host => None,
            TxPlacement::Llq(c) => Some(c),
        };
        let max_sgl = params.max_sgl;
        let worst = match &llq {
            None => max_sgl,
            Some(c) => {
                if c.entry_qwords() > LLQ_MAX_ENTRY_QWORDS || !c.entry_size.is_multiple_of(8) {
                    return Err(Error::IncompatibleDevice);
                }
                c.entries_for(max_sgl)
            }
        };
        if max_sgl == 0 || worst > mask {
            return Err(Error::IncompatibleDevice);
        }
        if let Some(c) = &llq {
            if c.burst_entries != 0 && c.burst_entries < worst {
                return Err(Error::IncompatibleDevice);
            }
        }
        let depth = usize::from(params.depth);
        let sq = match llq {
            None => Some(plat.alloc_dma(depth * TX_DESC_SIZE, CQ_ALIGN)?),
            Some(_) => None,
        };
        let cq = plat.alloc_dma((depth * CDESC_SIZE).max(CQ_ALIGN), CQ_ALIGN)?;
        let ids = ReqIdSlab::new(plat, params.depth.into(), TxSlot::default())?;
        let max_header = match &llq {
            None => params.max_header_size,
            Some(c) => params.max_header_size.min(c.max_header_size),
        };
        Ok(TxRing {
            sq,
            cq,
            ids,
            burst_left: llq.map_or(0, |c| c.burst_entries),
            llq,
            bounce: [0; LLQ_MAX_ENTRY_QWORDS],
            sq_pos,
            cq_pos: sq_pos,
            next_to_comp: 0,
            kicked_tail: 0,
            max_sgl,
            max_header,
            cached_meta: None,
            sq_db: 0,
            llq_base: 0,
            intr: QueueIntr::new(0),
            mbz_checked: params.cdesc_mbz_checked,
            stats: TxQueueStats::default(),
        })
    }

    /// Bus address of the host SQ ring (for CREATE_SQ); `None` with LLQ.
    pub fn sq_bus_addr(&self) -> Option<u64> {
        self.sq.as_ref().map(|s| s.bus_addr())
    }
    /// Bus address of the CQ ring (for CREATE_CQ).
    pub fn cq_bus_addr(&self) -> u64 {
        self.cq.bus_addr()
    }
    /// CQ entry size in 32-bit words for CREATE_CQ (8-byte completions).
    pub fn cq_entry_words(&self) -> u8 {
        TX_CDESC_WORDS
    }
    /// Ring depth.
    pub fn depth(&self) -> u16 {
        self.sq_pos.mask().wrapping_add(1)
    }
    /// Largest header length accepted for this placement.
    pub fn max_header_size(&self) -> u16 {
        self.max_header
    }
    /// Record the offsets from CREATE_SQ / CREATE_CQ: SQ doorbell (BAR 0),
    /// LLQ descriptors base (BAR 2, LLQ only) and interrupt unmask (BAR 0).
    pub fn attach(&mut self, sq_doorbell_offset: u32, llq_desc_offset: u32, unmask_offset: u32) {
        self.sq_db = sq_doorbell_offset;
        self.llq_base = llq_desc_offset;
        self.intr = QueueIntr::new(unmask_offset);
    }
    /// The queue pair's interrupt register.
    pub fn intr(&self) -> QueueIntr {
        self.intr
    }

    /// SQ slots (descriptors, or LLQ lines) free now; one is kept empty.
    #[inline]
    pub fn free_slots(&self) -> u16 {
        entries_free(
            self.sq_pos.depth(),
            self.sq_pos.counter(),
            self.next_to_comp,
        )
    }
    fn worst_case_slots(&self) -> u16 {
        match &self.llq {
            None => self.max_sgl,
            Some(c) => c.entries_for(self.max_sgl),
        }
    }
    /// Packets of the worst-case size that still fit.
    pub fn space(&self) -> u32 {
        u32::from(self.free_slots()) / u32::from(self.worst_case_slots().max(1))
    }
    /// True if `descs` descriptors fit, with Linux's test: host = free ≥ n,
    /// LLQ = free > n / descs_per_entry + 2 (ena.md §5.8 "Space check").
    pub fn has_room_for(&self, descs: u16) -> bool {
        let free = self.free_slots();
        match &self.llq {
            None => free >= descs,
            Some(c) => free > (descs / c.descs_per_entry.max(1)).saturating_add(2),
        }
    }
    /// §6.2: stop the OS queue when fewer than `max_sgl + 2` descriptors fit.
    pub fn should_stop(&self) -> bool {
        !self.has_room_for(self.max_sgl.saturating_add(2))
    }
    /// §6.2: wake a stopped OS queue once `max_sgl + 2` descriptors fit again.
    pub fn can_wake(&self) -> bool {
        self.has_room_for(self.max_sgl.saturating_add(2))
    }
    /// Packets posted and not completed.
    pub fn in_flight(&self) -> u16 {
        self.ids.in_flight()
    }

    /// Write one packet's descriptors (no doorbell; see [`TxRing::kick`]).
    /// `bar2` is required for LLQ placement. The token stays with the caller
    /// on error.
    ///
    /// The common packet — host placement, one segment, no checksum or TSO
    /// request — takes a short path ([`TxRing::try_post_plain`]); every
    /// other packet, and any packet that path would refuse, goes through the
    /// general path ([`TxRing::post_general`]), which validates, counts and
    /// refuses.
    #[inline]
    pub fn post<R: RegisterBar>(
        &mut self,
        plat: &P,
        bar0: &R,
        bar2: Option<&R>,
        pkt: &TxPacket<'_>,
        now_us: u64,
    ) -> Result<(), TxError> {
        if self.try_post_plain(pkt, now_us) {
            return Ok(());
        }
        self.post_general(plat, bar0, bar2, pkt, now_us)
    }

    /// General path of [`TxRing::post`]: any placement, segment count and
    /// offload; counts `prepare_ctx_err` for refused requests. Kept out of
    /// line so the short path stays small where it is inlined.
    #[inline(never)]
    pub fn post_general<R: RegisterBar>(
        &mut self,
        plat: &P,
        bar0: &R,
        bar2: Option<&R>,
        pkt: &TxPacket<'_>,
        now_us: u64,
    ) -> Result<(), TxError> {
        let r = self.post_inner(plat, bar0, bar2, pkt, now_us);
        // NoSpace is ordinary back-pressure; anything else is a bad request.
        if matches!(r, Err(e) if e != TxError::NoSpace) {
            inc(&mut self.stats.prepare_ctx_err);
        }
        r
    }

    #[inline(always)]
    fn post_inner<R: RegisterBar>(
        &mut self,
        plat: &P,
        bar0: &R,
        bar2: Option<&R>,
        pkt: &TxPacket<'_>,
        now_us: u64,
    ) -> Result<(), TxError> {
        let segs = pkt.segments;
        if self.llq.is_some() && bar2.is_none() {
            return Err(TxError::NotRunning);
        }
        // ENA has no VLAN offload: no tag field in the TX descriptors and no
        // VLAN bit in STATELESS_OFFLOAD (ena.md §3.6, §5.2–§5.3); Linux `ena` never
        // advertises CTAG TX, so the stack tags in software. A tag request is
        // refused (counted in prepare_ctx_err), never silently dropped.
        if pkt.offload.vlan_tci.is_some() {
            return Err(TxError::Invalid);
        }
        let mut total: u32 = 0;
        for s in segs {
            if s.len == 0 || s.len > TX_MAX_DESC_LEN {
                return Err(TxError::Invalid);
            }
            total = total.checked_add(s.len).ok_or(TxError::Invalid)?;
        }
        if total == 0 {
            return Err(TxError::Invalid);
        }
        let o = &pkt.offload;
        let (offload, want_meta) = if o.l4_csum || o.ipv4_csum || o.tso_mss != 0 {
            prepare_offload(o)?
        } else {
            (plain_ctrl(o), None)
        };
        // Meta caching (ena.md §5.3): emit only when it differs from what the
        // queue holds, or always when the device disabled caching.
        let meta = match (want_meta, &self.llq) {
            (m, Some(c)) if c.disable_meta_caching => Some(m.unwrap_or(ZERO_META)),
            (Some(m), _) if self.cached_meta != Some(m) => Some(m),
            _ => None,
        };
        // Header pushed inline (LLQ) or announced (host), and data descriptors.
        let (header_len, skip, data_descs) = match &self.llq {
            None => {
                let h = host_header_len(o, total, self.max_header);
                (h, 0, u16::try_from(segs.len()).unwrap_or(u16::MAX))
            }
            Some(_) => {
                let push = total
                    .min(u32::from(self.max_header))
                    .min(pkt.header.len() as u32);
                if push == 0 {
                    return Err(TxError::Invalid);
                }
                (push as u8, push, count_after_skip(segs, push).max(1))
            }
        };
        let descs = data_descs.saturating_add(u16::from(meta.is_some()));
        if descs > self.max_sgl {
            return Err(TxError::TooManySegments);
        }
        let need = match &self.llq {
            None => descs,
            Some(c) => c.entries_for(descs),
        };
        // free_slots() inline: depth − 1 − in use (in use ≤ depth − 1 by
        // construction, so the subtraction cannot wrap).
        let in_use = self.sq_pos.counter().wrapping_sub(self.next_to_comp);
        if need > self.sq_pos.mask().saturating_sub(in_use) {
            return Err(TxError::NoSpace);
        }
        let slot = TxSlot {
            token: pkt.token,
            posted_us: now_us,
            slots: need,
            missed: false,
        };
        let req_id = self.ids.alloc(slot).ok_or(TxError::NoSpace)?;
        let pd = PacketDescs {
            segs,
            skip,
            req_id,
            offload,
            header_len,
            meta,
        };
        match (&self.llq, bar2, self.sq.as_ref()) {
            (Some(cfg), Some(bar2), _) => {
                let cfg = *cfg;
                if cfg.burst_entries != 0 && need > self.burst_left {
                    self.kick(bar0);
                }
                let hdr = pkt.header.get(..skip as usize).unwrap_or(&[]);
                let mut w = LlqWriter::start(
                    &cfg,
                    bar2,
                    &mut self.bounce,
                    self.llq_base,
                    &mut self.sq_pos,
                    hdr,
                );
                pd.emit(&mut w);
                let lines = w.finish();
                self.burst_left = self.burst_left.saturating_sub(lines);
                // Order the write-combining line copies before the doorbell.
                plat.write_barrier();
            }
            (None, _, Some(sq)) => pd.emit(&mut HostSink {
                sq,
                pos: &mut self.sq_pos,
            }),
            // Excluded above (LLQ without BAR 2) or by construction (host
            // placement always has an SQ).
            _ => {
                let _ = self.ids.take(req_id);
                return Err(TxError::NotRunning);
            }
        }
        if meta.is_some() {
            self.cached_meta = meta;
        }
        inc(&mut self.stats.cnt);
        add(&mut self.stats.bytes, u64::from(total));
        Ok(())
    }

    /// Ring the SQ doorbell with the free-running tail if anything was posted
    /// since the last kick (ena.md §5.9). Resets the LLQ burst budget.
    pub fn kick<R: RegisterBar>(&mut self, bar0: &R) {
        let tail = self.sq_pos.counter();
        if tail == self.kicked_tail {
            return;
        }
        bar0.write32(self.sq_db, u32::from(tail));
        self.kicked_tail = tail;
        self.burst_left = self.llq.map_or(0, |c| c.burst_entries);
        inc(&mut self.stats.doorbells);
    }

    /// True if entries were posted but no doorbell rung yet.
    pub fn kick_pending(&self) -> bool {
        self.sq_pos.counter() != self.kicked_tail
    }

    /// True if the completion at the CQ head is valid (peek, no side effects).
    pub fn cq_has_completion(&self) -> bool {
        let w0 = self
            .cq
            .read32(usize::from(self.cq_pos.index()) * CDESC_SIZE);
        self.cq_pos.is_new(w0 & TX_CDESC_W0_PHASE != 0)
    }

    /// Reap up to `budget` completions, handing each packet's token to `done`.
    /// A req_id that is out of range or not in flight, or (with CDESC_MBZ)
    /// set must-be-zero bits, stop the poll and return the reset reason;
    /// completions before it were delivered.
    ///
    /// The whole 8-byte completion is read with one 64-bit load: req_id and
    /// the flags (phase, MBZ) sit in its first 32-bit word, so the load that
    /// sees the new phase sees that entry's req_id too (an aligned 64-bit
    /// load is single-copy atomic). The DMA read barrier after the phase
    /// check still orders everything that follows, as ena.md §5.4's protocol
    /// (phase, `dma_rmb`, fields) asks. The head position and the expected
    /// phase (a bit in the entry's position, flipped when the index wraps,
    /// as [`PhaseRing`] does) are kept locally and written back once, so
    /// phase and MBZ are one test per completion.
    pub fn poll<F: FnMut(Token)>(
        &mut self,
        plat: &P,
        budget: u32,
        mut done: F,
    ) -> Result<u32, ResetReason> {
        inc(&mut self.stats.tx_poll);
        let mask = self.cq_pos.mask();
        let mut counter = self.cq_pos.counter();
        let mut want = if self.cq_pos.phase() {
            CDESC_Q0_PHASE
        } else {
            0
        };
        let checked = if self.mbz_checked {
            CDESC_Q0_PHASE | CDESC_Q0_MBZ
        } else {
            CDESC_Q0_PHASE
        };
        let mut next_to_comp = self.next_to_comp;
        let mut ids = self.ids.run();
        let mut n = 0u32;
        // Completed packets the health check had marked late: they leave
        // the `pending_timedout_pkts` gauge (≤ n ≤ budget).
        let mut late_done = 0u32;
        let mut verdict = Ok(());
        while n < budget {
            let q = self.cq.read64(usize::from(counter & mask) * CDESC_SIZE);
            let odd = (q ^ want) & checked;
            if odd & CDESC_Q0_PHASE != 0 {
                break; // not written by the device yet
            }
            plat.dma_read_barrier();
            if odd != 0 {
                verdict = Err(ResetReason::TxDescriptorMalformed);
                break;
            }
            // The slab refuses ids out of range or not in flight (duplicates).
            let Ok(slot) = ids.take(TxCdesc::from_qword(q).req_id) else {
                inc(&mut self.stats.bad_req_id);
                verdict = Err(ResetReason::InvalidTxReqId);
                break;
            };
            next_to_comp = next_to_comp.wrapping_add(slot.slots);
            late_done += u32::from(slot.missed);
            let token = slot.token;
            counter = counter.wrapping_add(1);
            if counter & mask == 0 {
                want ^= CDESC_Q0_PHASE;
            }
            n += 1;
            done(token);
        }
        drop(ids);
        // The counter is free-running: n's low 16 bits advance it exactly.
        self.cq_pos.advance(n as u16);
        self.next_to_comp = next_to_comp;
        if late_done != 0 {
            let p = &mut self.stats.pending_timedout_pkts;
            *p = p.saturating_sub(u64::from(late_done));
        }
        verdict.map(|()| n)
    }

    /// Give back every in-flight packet's token (queue destroyed or device
    /// reset). The ring must be re-created with the device before reuse.
    pub fn release_all(&mut self, f: &mut dyn FnMut(Released)) {
        self.ids.for_each_in_flight(|_, s| f(Released::Tx(s.token)));
        self.ids.reset();
        self.next_to_comp = self.sq_pos.counter();
        // Nothing is pending any more; `missed_tx` keeps the history.
        self.stats.pending_timedout_pkts = 0;
    }

    /// Make the ring like new for re-creation on the device (after a reset,
    /// once [`TxRing::release_all`] ran): every position back to 0 / phase 1,
    /// ring memory zeroed (stale entries would otherwise look valid on the
    /// new first pass), meta cache and burst budget cleared. Stats are kept.
    pub fn reinit(&mut self) {
        if let Some(sq) = &self.sq {
            zero_dma(sq);
        }
        zero_dma(&self.cq);
        self.ids.reset();
        self.sq_pos.reset();
        self.cq_pos.reset();
        self.next_to_comp = 0;
        self.kicked_tail = 0;
        self.cached_meta = None;
        self.burst_left = self.llq.map_or(0, |c| c.burst_entries);
    }

    /// Re-arm the pair's interrupt with the given delays (device units) and
    /// count `unmask_interrupt`.
    pub fn unmask<R: RegisterBar>(&mut self, bar0: &R, rx_delay: u32, tx_delay: u32) {
        self.intr.unmask(bar0, rx_delay, tx_delay);
        inc(&mut self.stats.unmask_interrupt);
    }

    /// Counters, in ethtool order.
    pub fn stats(&self) -> &TxQueueStats {
        &self.stats
    }
    /// Counters the device layer maintains (queue_stop, napi_comp, ...).
    pub fn stats_mut(&mut self) -> &mut TxQueueStats {
        &mut self.stats
    }
}

/// Zero a whole ring region with 64-bit stores.
pub(crate) fn zero_dma(d: &impl DmaRegion) {
    for off in (0..d.len() / 8).map(|q| q * 8) {
        d.write64(off, 0);
    }
}

/// Number of descriptors the segments need after the first `skip` bytes.
#[inline]
fn count_after_skip(segs: &[DmaSegment], mut skip: u32) -> u16 {
    let mut n = 0u16;
    for s in segs {
        if skip >= s.len {
            skip -= s.len;
        } else {
            skip = 0;
            n = n.saturating_add(1);
        }
    }
    n
}

#[path = "tx_health.rs"]
mod health;
#[path = "tx_plain.rs"]
mod plain;

#[cfg(test)]
#[path = "tx_llq_tests.rs"]
mod llq_tests;
#[cfg(test)]
#[path = "tx_tests.rs"]
mod tests;
