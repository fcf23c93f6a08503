//! IO queues (ena.md §5.1, §3.6 CREATE/DESTROY): SQs and CQs, their BAR0
//! registers, the per-vector MSI-X state and the LLQ memory in BAR2.
//!
//! Per-queue registers have no fixed offsets on real devices; this model
//! places them at `SQ_DB_BASE + 4·sq`, `INTR_REG_BASE + 4·vector` (so the TX
//! and RX CQ of a pair share one unmask register, ena.md §5.7),
//! `NUMA_REG_BASE + 4·cq` and `CQ_HEAD_DB_BASE + 4·cq`, all inside 8 KiB.

use std::collections::VecDeque;
use std::fmt;
use std::rc::Rc;

use cloudnic_ena::defs::admin::{
    AdminStatus, CreateCqCmd, CreateCqResp, CreateSqCmd, CreateSqResp, DestroyCqCmd, DestroySqCmd,
    SqDirection, COMPLETION_POLICY_DESC, PLACEMENT_POLICY_DEV, PLACEMENT_POLICY_HOST,
};
use cloudnic_ena::defs::io::{
    IntrCtrl, TxMeta, RX_CDESC_EXT_WORDS, RX_CDESC_WORDS, TX_CDESC_EXT_WORDS, TX_CDESC_WORDS,
};

use super::admin::AdminReply;
use super::config::EnaModelConfig;
use super::features::LlqActive;
use super::tx::TxWalk;
use super::EnaModel;
use crate::devmem::DeviceMemory;
use crate::ledger::BufKind;
use crate::mem::GuestMemory;

/// First BAR0 offset of the per-queue register block.
pub(crate) const QUEUE_REGS_BASE: u32 = 0x1000;
/// SQ doorbells: `SQ_DB_BASE + 4 × sq index`.
pub const SQ_DB_BASE: u32 = 0x1000;
/// Interrupt unmask registers: `INTR_REG_BASE + 4 × MSI-X vector`.
pub const INTR_REG_BASE: u32 = 0x1400;
/// NUMA config registers: `NUMA_REG_BASE + 4 × cq index`.
pub const NUMA_REG_BASE: u32 = 0x1800;
/// CQ head doorbells (unused by drivers): `CQ_HEAD_DB_BASE + 4 × cq index`.
pub const CQ_HEAD_DB_BASE: u32 = 0x1C00;
/// Queues/vectors addressable per register block (0x400 / 4).
const MAX_INDEX: usize = 256;

/// Where a TX ring lives.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Placement {
    /// In guest memory at this bus address.
    Host(u64),
    /// In BAR2 at this offset, with the LLQ geometry in force at creation.
    Llq { offset: u32, geo: LlqActive },
}

/// One posted RX buffer.
#[derive(Clone, Copy, Debug)]
pub(crate) struct RxBuf {
    pub(crate) addr: u64,
    pub(crate) len: u32,
    pub(crate) req_id: u16,
}

/// A submission queue.
#[derive(Debug)]
pub(crate) struct Sq {
    pub(crate) dir: SqDirection,
    pub(crate) cq: u16,
    pub(crate) depth: u16,
    pub(crate) placement: Placement,
    /// Free-running tail from the last doorbell.
    pub(crate) tail: u16,
    /// Next entry (descriptor or LLQ line) the device will read.
    pub(crate) head: u16,
    /// Cached TX metadata (meta_store).
    pub(crate) meta: Option<TxMeta>,
    /// RX buffers fetched and not yet used.
    pub(crate) rx_avail: VecDeque<RxBuf>,
    /// Frames steered here with their RSS hash, waiting for buffers.
    pub(crate) backlog: VecDeque<(Vec<u8>, u32)>,
    /// TX completions held back by a fault: (req_id, sq head after the packet).
    pub(crate) withheld: VecDeque<(u16, u16)>,
}

/// A completion queue.
#[derive(Debug)]
pub(crate) struct Cq {
    pub(crate) base: u64,
    pub(crate) depth: u16,
    pub(crate) entry_size: u16,
    pub(crate) vector: u16,
    pub(crate) interrupts: bool,
    pub(crate) tail: u16,
    pub(crate) phase: bool,
    pub(crate) sq: Option<u16>,
    pub(crate) numa: u32,
}

impl Cq {
    /// Bus address of the next entry.
    pub(crate) fn slot_addr(&self) -> u64 {
        self.base + u64::from(self.tail & self.depth.wrapping_sub(1)) * u64::from(self.entry_size)
    }
    /// Move to the next entry, flipping the phase on wrap.
    pub(crate) fn advance(&mut self) {
        self.tail = self.tail.wrapping_add(1);
        if self.tail & self.depth.wrapping_sub(1) == 0 {
            self.phase = !self.phase;
        }
    }
}

/// Per-vector MSI-X state (ena.md §5.7: auto-mask until the unmask write).
#[derive(Clone, Copy, Debug)]
pub(crate) struct VectorState {
    pub(crate) masked: bool,
    pub(crate) pending: bool,
    pub(crate) rx_delay: u32,
    pub(crate) tx_delay: u32,
}

impl Default for VectorState {
    fn default() -> Self {
        VectorState {
            masked: true,
            pending: false,
            rx_delay: 0,
            tx_delay: 0,
        }
    }
}

/// All IO queue state; rebuilt by a device reset.
#[derive(Debug)]
pub(crate) struct IoState {
    pub(crate) sqs: Vec<Option<Sq>>,
    pub(crate) cqs: Vec<Option<Cq>>,
    pub(crate) vectors: Vec<VectorState>,
    pub(crate) bar2: Bar2Store,
    /// LLQ regions in BAR2: (offset, length), sorted.
    llq_regions: Vec<(u32, u32)>,
    /// RX SQ indices in creation order (the default RSS spread).
    pub(crate) rx_order: Vec<u16>,
    /// Scratch reused by the TX path (no allocation per packet).
    pub(crate) tx_walk: TxWalk,
    pub(crate) tx_frame: Vec<u8>,
    pub(crate) rx_bufs: Vec<RxBuf>,
}

/// BAR2 bytes: the model's own buffer, or memory shared with the host
/// (see [`crate::devmem`]). A device reset zeroes either.
pub(crate) enum Bar2Store {
    Local(Vec<u8>),
    Shared(Rc<dyn DeviceMemory>),
}

impl fmt::Debug for Bar2Store {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Bar2Store::Local(v) => write!(f, "Local({} bytes)", v.len()),
            Bar2Store::Shared(m) => write!(f, "Shared({} bytes)", m.len()),
        }
    }
}

impl Bar2Store {
    fn new(len: usize, shared: Option<Rc<dyn DeviceMemory>>) -> Self {
        match shared {
            Some(m) => {
                m.zero();
                Bar2Store::Shared(m)
            }
            None => Bar2Store::Local(vec![0; len]),
        }
    }
    pub(crate) fn len(&self) -> usize {
        match self {
            Bar2Store::Local(v) => v.len(),
            Bar2Store::Shared(m) => m.len(),
        }
    }
    /// Copy `buf.len()` bytes at `off`; false if out of range.
    pub(crate) fn read(&self, off: usize, buf: &mut [u8]) -> bool {
        match self {
            Bar2Store::Local(v) => match off.checked_add(buf.len()).and_then(|e| v.get(off..e)) {
                Some(b) => {
                    buf.copy_from_slice(b);
                    true
                }
                None => false,
            },
            Bar2Store::Shared(m) => m.read(off, buf),
        }
    }
    /// Store `data` at `off`; false if out of range.
    pub(crate) fn write(&mut self, off: usize, data: &[u8]) -> bool {
        match self {
            Bar2Store::Local(v) => {
                match off.checked_add(data.len()).and_then(|e| v.get_mut(off..e)) {
                    Some(b) => {
                        b.copy_from_slice(data);
                        true
                    }
                    None => false,
                }
            }
            Bar2Store::Shared(m) => m.write(off, data),
        }
    }
    /// Append bytes `start..end` to `out`; nothing if the range is invalid.
    pub(crate) fn append(&self, start: usize, end: usize, out: &mut Vec<u8>) {
        let Some(n) = end.checked_sub(start).filter(|&n| start + n <= self.len()) else {
            return;
        };
        let at = out.len();
        out.resize(at + n, 0);
        if !self.read(start, &mut out[at..]) {
            out.truncate(at);
        }
    }
}

impl IoState {
    pub(crate) fn new(cfg: &EnaModelConfig, shared_bar2: Option<Rc<dyn DeviceMemory>>) -> Self {
        let slots = (cfg.max_queues as usize * 2).min(MAX_INDEX);
        IoState {
            sqs: (0..slots).map(|_| None).collect(),
            cqs: (0..slots).map(|_| None).collect(),
            vectors: vec![VectorState::default(); usize::from(cfg.msix_vectors).min(MAX_INDEX)],
            bar2: Bar2Store::new(cfg.bar2_size as usize, shared_bar2),
            llq_regions: Vec::new(),
            rx_order: Vec::new(),
            tx_walk: TxWalk::default(),
            tx_frame: Vec::new(),
            rx_bufs: Vec::new(),
        }
    }

    pub(crate) fn bar2_read(&self, off: u64, size: u8) -> u64 {
        let n = usize::from(size.clamp(1, 8));
        let mut w = [0u8; 8];
        match usize::try_from(off) {
            Ok(o) if self.bar2.read(o, &mut w[..n]) => u64::from_le_bytes(w),
            _ => u64::MAX,
        }
    }

    pub(crate) fn bar2_write(&mut self, off: u64, size: u8, value: u64) -> bool {
        let n = usize::from(size.clamp(1, 8));
        match usize::try_from(off) {
            Ok(o) => self.bar2.write(o, &value.to_le_bytes()[..n]),
            Err(_) => false,
        }
    }

    fn llq_alloc(&mut self, len: u32, align: u32) -> Option<u32> {
        let mut cursor = 0u32;
        let mut at = self.llq_regions.len();
        for (i, &(off, l)) in self.llq_regions.iter().enumerate() {
            let start = cursor.div_ceil(align) * align;
            if start.checked_add(len)? <= off {
                at = i;
                cursor = start;
                break;
            }
            cursor = off + l;
        }
        if at == self.llq_regions.len() {
            cursor = cursor.div_ceil(align) * align;
        }
        if u64::from(cursor) + u64::from(len) > self.bar2.len() as u64 {
            return None;
        }
        self.llq_regions.insert(at, (cursor, len));
        Some(cursor)
    }

    fn llq_free(&mut self, off: u32) {
        self.llq_regions.retain(|r| r.0 != off);
    }

    pub(crate) fn sq(&self, idx: u16) -> Option<&Sq> {
        self.sqs.get(usize::from(idx)).and_then(Option::as_ref)
    }
    /// SQ `idx`, if created.
    pub(crate) fn sq_mut(&mut self, idx: u16) -> Option<&mut Sq> {
        self.sqs.get_mut(usize::from(idx)).and_then(Option::as_mut)
    }
}

impl<M: GuestMemory + ?Sized> EnaModel<M> {
    /// True if the driver's ring at `addr` of `len` bytes is readable.
    fn ring_ok(&mut self, addr: u64, len: usize) -> bool {
        if addr == 0 {
            return false;
        }
        if self.cfg.zero_latency {
            return true;
        }
        let mut probe = vec![0u8; len];
        self.dma_read(addr, &mut probe)
    }

    pub(crate) fn create_cq(&mut self, c: &CreateCqCmd) -> AdminReply {
        let words = c.entry_size_words();
        let depth = c.cq_depth;
        let max_depth = self.cfg.max_tx_depth.max(self.cfg.max_rx_depth);
        let valid_words = [
            TX_CDESC_WORDS,
            TX_CDESC_EXT_WORDS,
            RX_CDESC_WORDS,
            RX_CDESC_EXT_WORDS,
        ]
        .contains(&words);
        if !depth.is_power_of_two() || u32::from(depth) > max_depth || !valid_words {
            return AdminReply::err(AdminStatus::IllegalParameter);
        }
        let Ok(vector) = u16::try_from(c.msix_vector) else {
            return AdminReply::err(AdminStatus::IllegalParameter);
        };
        if usize::from(vector) >= self.io.vectors.len() {
            return AdminReply::err(AdminStatus::IllegalParameter);
        }
        let entry_size = u16::from(words) * 4;
        let base = c.cq_ba.get();
        if !self.ring_ok(base, usize::from(depth) * usize::from(entry_size)) {
            return AdminReply::err(AdminStatus::MalformedRequest);
        }
        let Some(idx) = self.io.cqs.iter().position(Option::is_none) else {
            return AdminReply::err(AdminStatus::ResourceAllocationFailure);
        };
        self.io.cqs[idx] = Some(Cq {
            base,
            depth,
            entry_size,
            vector,
            interrupts: c.interrupt_mode(),
            tail: 0,
            phase: true,
            sq: None,
            numa: 0,
        });
        AdminReply::ok(&CreateCqResp {
            cq_idx: idx as u16,
            cq_actual_depth: depth,
            numa_node_register_offset: NUMA_REG_BASE + 4 * idx as u32,
            cq_head_db_register_offset: CQ_HEAD_DB_BASE + 4 * idx as u32,
            cq_interrupt_unmask_register_offset: INTR_REG_BASE + 4 * u32::from(vector),
        })
    }

    pub(crate) fn destroy_cq(&mut self, c: &DestroyCqCmd) -> AdminReply {
        match self.io.cqs.get_mut(usize::from(c.cq_idx)) {
            Some(slot @ Some(_)) => {
                if slot.as_ref().is_some_and(|cq| cq.sq.is_some()) {
                    return AdminReply::err(AdminStatus::ResourceBusy);
                }
                *slot = None;
                AdminReply::done()
            }
            _ => AdminReply::err(AdminStatus::IllegalParameter),
        }
    }

    pub(crate) fn create_sq(&mut self, c: &CreateSqCmd) -> AdminReply {
        let Some(dir) = SqDirection::from_identity(c.sq_identity) else {
            return AdminReply::err(AdminStatus::IllegalParameter);
        };
        if c.completion_policy() != COMPLETION_POLICY_DESC {
            // Policies 1–3 have no published semantics (ena.md §11).
            return AdminReply::err(AdminStatus::UnsupportedOpcode);
        }
        let same_dir = self
            .io
            .sqs
            .iter()
            .flatten()
            .filter(|s| s.dir == dir)
            .count();
        if same_dir as u32 >= self.cfg.max_queues {
            return AdminReply::err(AdminStatus::ResourceAllocationFailure);
        }
        // The CQ must exist, be unbound, and (RX) hold 16-byte completions.
        let min_entry = if dir == SqDirection::Rx { 16 } else { 8 };
        let cq_free = self
            .io
            .cqs
            .get(usize::from(c.cq_idx))
            .and_then(Option::as_ref)
            .is_some_and(|cq| cq.sq.is_none() && cq.entry_size >= min_entry);
        let depth = c.sq_depth;
        let max = if dir == SqDirection::Tx {
            self.cfg.max_tx_depth
        } else {
            self.cfg.max_rx_depth
        };
        if !cq_free || !depth.is_power_of_two() || u32::from(depth) > max {
            return AdminReply::err(AdminStatus::IllegalParameter);
        }
        let Some(idx) = self.io.sqs.iter().position(Option::is_none) else {
            return AdminReply::err(AdminStatus::ResourceAllocationFailure);
        };
        let mut llq_off = 0;
        let placement = match (c.placement_policy(), dir) {
            (PLACEMENT_POLICY_HOST, _) => {
                let base = c.sq_ba.get();
                if !self.ring_ok(base, usize::from(depth) * 16) {
                    return AdminReply::err(AdminStatus::MalformedRequest);
                }
                Placement::Host(base)
            }
            (PLACEMENT_POLICY_DEV, SqDirection::Tx) => {
                let Some(geo) = self.feat.llq else {
                    return AdminReply::err(AdminStatus::IllegalParameter);
                };
                let l = &self.cfg.llq;
                let max_depth = if geo.entry_size > 128 && l.max_wide_llq_depth != 0 {
                    u32::from(l.max_wide_llq_depth)
                } else {
                    l.max_llq_depth
                };
                if u32::from(depth) > max_depth {
                    return AdminReply::err(AdminStatus::IllegalParameter);
                }
                let len = u32::from(depth) * u32::from(geo.entry_size);
                let Some(off) = self.io.llq_alloc(len, 4096) else {
                    return AdminReply::err(AdminStatus::ResourceAllocationFailure);
                };
                llq_off = off;
                Placement::Llq { offset: off, geo }
            }
            _ => return AdminReply::err(AdminStatus::IllegalParameter),
        };
        if let Some(cq) = self
            .io
            .cqs
            .get_mut(usize::from(c.cq_idx))
            .and_then(Option::as_mut)
        {
            cq.sq = Some(idx as u16);
        }
        self.io.sqs[idx] = Some(Sq {
            dir,
            cq: c.cq_idx,
            depth,
            placement,
            tail: 0,
            head: 0,
            meta: None,
            rx_avail: VecDeque::new(),
            backlog: VecDeque::new(),
            withheld: VecDeque::new(),
        });
        if dir == SqDirection::Rx {
            self.io.rx_order.push(idx as u16);
        }
        AdminReply::ok(&CreateSqResp {
            sq_idx: idx as u16,
            reserved: 0,
            sq_doorbell_offset: SQ_DB_BASE + 4 * idx as u32,
            llq_descriptors_offset: llq_off,
            llq_headers_offset: 0,
        })
    }

    pub(crate) fn destroy_sq(&mut self, c: &DestroySqCmd) -> AdminReply {
        let idx = c.sq_idx;
        let dir = SqDirection::from_identity(c.sq_identity);
        let Some(sq) = self.io.sqs.get(usize::from(idx)).and_then(Option::as_ref) else {
            return AdminReply::err(AdminStatus::IllegalParameter);
        };
        if dir != Some(sq.dir) {
            return AdminReply::err(AdminStatus::IllegalParameter);
        }
        let Some(sq) = self.io.sqs[usize::from(idx)].take() else {
            return AdminReply::err(AdminStatus::IllegalParameter);
        };
        if let Some(cq) = self
            .io
            .cqs
            .get_mut(usize::from(sq.cq))
            .and_then(Option::as_mut)
        {
            cq.sq = None;
        }
        if let Placement::Llq { offset, .. } = sq.placement {
            self.io.llq_free(offset);
        }
        self.io.rx_order.retain(|&q| q != idx);
        // Frames still waiting for buffers die with the queue.
        self.counters.rx_dropped += sq.backlog.len() as u64;
        self.stats.rx_drops += sq.backlog.len() as u64;
        if !self.cfg.zero_latency {
            let kind = if sq.dir == SqDirection::Tx {
                BufKind::Tx
            } else {
                BufKind::Rx
            };
            self.ledger.flush_queue(kind, idx);
        }
        AdminReply::done()
    }

    /// A store into the per-queue register block; false if nothing is there.
    pub(crate) fn write_queue_reg(&mut self, off: u32, val: u32) -> bool {
        let index = |base: u32| usize::try_from((off - base) / 4).unwrap_or(usize::MAX);
        match off {
            o if (SQ_DB_BASE..INTR_REG_BASE).contains(&o) => {
                let sq = index(SQ_DB_BASE) as u16;
                match self.io.sq(sq).map(|s| s.dir) {
                    Some(SqDirection::Tx) => self.tx_doorbell(sq, val as u16),
                    Some(SqDirection::Rx) => self.rx_doorbell(sq, val as u16),
                    None => return false,
                }
                true
            }
            o if (INTR_REG_BASE..NUMA_REG_BASE).contains(&o) => {
                self.intr_reg_write(index(INTR_REG_BASE), val)
            }
            o if (NUMA_REG_BASE..CQ_HEAD_DB_BASE).contains(&o) => {
                match self
                    .io
                    .cqs
                    .get_mut(index(NUMA_REG_BASE))
                    .and_then(Option::as_mut)
                {
                    Some(cq) => {
                        cq.numa = val;
                        true
                    }
                    None => false,
                }
            }
            // CQ head doorbells: accepted, no published semantics (ena.md §11).
            o if (CQ_HEAD_DB_BASE..CQ_HEAD_DB_BASE + 0x400).contains(&o) => true,
            _ => false,
        }
    }

    /// Interrupt register (ena.md §5.7): record delays unless told to keep
    /// them; unmask re-arms the vector and fires it if an event is pending.
    fn intr_reg_write(&mut self, vector: usize, val: u32) -> bool {
        let Some(v) = self.io.vectors.get_mut(vector) else {
            return false;
        };
        let c = IntrCtrl::decode(val);
        if !c.no_moderation_update {
            v.rx_delay = c.rx_delay;
            v.tx_delay = c.tx_delay;
        }
        if c.unmask {
            self.counters.irq_unmasks += 1;
            v.masked = false;
            if v.pending {
                self.signal_vector(vector as u16);
            }
        }
        true
    }

    /// An event on `vector`: fire and auto-mask, or leave pending if masked.
    pub(crate) fn signal_vector(&mut self, vector: u16) {
        let Some(v) = self.io.vectors.get_mut(usize::from(vector)) else {
            return;
        };
        if v.masked {
            v.pending = true;
            self.counters.irq_masked += 1;
            return;
        }
        v.masked = true;
        v.pending = false;
        self.deliver_msix(vector);
    }

    /// An event on a CQ (completions written): signal its vector.
    pub(crate) fn signal_cq(&mut self, cq: u16) {
        if let Some(c) = self.io.cqs.get(usize::from(cq)).and_then(Option::as_ref) {
            if c.interrupts {
                let v = c.vector;
                self.signal_vector(v);
            }
        }
    }
}
