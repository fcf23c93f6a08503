//! Device-side GDMA queues (mana.md §4): queue memory described by DMA
//! regions (a list of 4 KiB pages, mana.md §5), EQs and CQs written with the
//! 3-bit owner count, work queues with byte producer/consumer offsets, and
//! the one-shot arming rules of §4.6.
//!
//! Device tails are free-running counts that start at the ring size, so the
//! first pass writes owner 1 over zeroed memory (owner 0 = "empty" to the
//! driver). An entry is written body first, owner dword last. Arming follows
//! the OpenVMM emulator's reading of the hardware: an arm doorbell whose
//! index equals the device tail arms; one that is 1..N entries behind fires
//! at once (the event raced the arm); anything else is ignored as overflow.

use std::collections::{BTreeMap, VecDeque};

use cloudnic_mana::defs::queue::{CqeInfo, EqeInfo, CQE_SIZE};
use cloudnic_mana::defs::queue::{Sge, CQE_DATA_SIZE, CQE_INFO_OFFSET, EQE_SIZE, OWNER_MASK};
use zerocopy::IntoBytes;

use crate::mem::{DmaFault, GuestMemory};

/// Page size of queue memory (mana.md §4.1: 4 KiB even on larger-page hosts).
pub const QUEUE_PAGE: u64 = 4096;
/// Byte offset of the owner dword in an EQE.
const EQE_INFO_OFFSET: usize = 12;
/// Hardware rule: the consumer must ring a CQ at least once per 8 wraps (mana.md §4.6).
const CQ_DOORBELL_WRAP_LIMIT: u32 = 8;

/// Ring memory: the pages of a DMA region (or one HWC page), in order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct QueueMem {
    pub pages: Vec<u64>,
    pub size: u32,
}

impl QueueMem {
    /// A physically contiguous ring (the HWC's single pages).
    pub fn contiguous(base: u64, size: u32) -> Self {
        let n = (u64::from(size)).div_ceil(QUEUE_PAGE);
        QueueMem {
            pages: (0..n).map(|i| base + i * QUEUE_PAGE).collect(),
            size,
        }
    }

    /// Walk `len` bytes from ring offset `off` (wrapping at the ring end)
    /// as (bus address, chunk length) pieces that never cross a page.
    fn pieces(
        &self,
        off: u32,
        len: usize,
        mut f: impl FnMut(u64, usize, usize) -> Result<(), DmaFault>,
    ) -> Result<(), DmaFault> {
        let size = u64::from(self.size.max(1));
        let mut done = 0usize;
        let mut pos = u64::from(off) % size;
        while done < len {
            let page = (pos / QUEUE_PAGE) as usize;
            let in_page = pos % QUEUE_PAGE;
            let room = (QUEUE_PAGE - in_page).min(size - pos) as usize;
            let n = room.min(len - done);
            let base = *self.pages.get(page).ok_or(DmaFault { addr: pos, len })?;
            f(base + in_page, done, n)?;
            done += n;
            pos = (pos + n as u64) % size;
        }
        Ok(())
    }

    /// Copy out of the ring.
    pub fn read<M: GuestMemory + ?Sized>(
        &self,
        mem: &M,
        off: u32,
        buf: &mut [u8],
    ) -> Result<(), DmaFault> {
        let len = buf.len();
        self.pieces(off, len, |addr, at, n| mem.read(addr, &mut buf[at..at + n]))
    }

    /// Copy into the ring.
    pub fn write<M: GuestMemory + ?Sized>(
        &self,
        mem: &M,
        off: u32,
        data: &[u8],
    ) -> Result<(), DmaFault> {
        self.pieces(off, data.len(), |addr, at, n| {
            mem.write(addr, &data[at..at + n])
        })
    }
}

/// A DMA region (mana.md §5): complete once every page was listed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Region {
    pub length: u64,
    pub page_count: u32,
    pub pages: Vec<u64>,
}

impl Region {
    pub fn complete(&self) -> bool {
        self.pages.len() == self.page_count as usize
    }
}

/// Who created a queue: the doorbell page it answers on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct QueueOwner {
    pub db_page: u32,
    pub hwc: bool,
}

/// An event queue.
#[derive(Debug)]
pub(crate) struct Eq {
    pub mem: QueueMem,
    pub entries: u32,
    pub tail: u32,
    pub consumer: u32,
    pub armed: bool,
    pub msix: u16,
    pub owner: QueueOwner,
}

/// A completion queue.
#[derive(Debug)]
pub(crate) struct Cq {
    pub mem: QueueMem,
    pub entries: u32,
    pub tail: u32,
    pub consumer: u32,
    /// Entries written since the last CQ doorbell.
    pub since_db: u32,
    pub armed: bool,
    pub eq: u32,
    pub owner: QueueOwner,
}

/// SQ or RQ.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum WqKind {
    Send,
    Receive,
}

/// A receive WQE fetched at its doorbell.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct RxWqe {
    /// Ring byte offset of the WQE.
    pub offset: u32,
    /// Size in bytes.
    pub size: u32,
    /// Buffers.
    pub sges: Vec<Sge>,
}

/// A received frame waiting for a receive WQE.
#[derive(Clone, Debug)]
pub(crate) struct Backlogged {
    pub frame: Vec<u8>,
    pub hash: u32,
    pub hash_type: u32,
}

/// A packet written into a receive WQE whose CQE is not written yet (CQE
/// coalescing gathers up to four, mana.md §6.7).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct RxDone {
    /// Ring byte offset of the consumed WQE.
    pub offset: u32,
    /// Frame length (as received; the buffer may be smaller if truncated).
    pub len: u32,
    pub hash: u32,
    /// RX OOB flags word.
    pub flags: u32,
    pub truncated: bool,
    /// Ledger id (first buffer address).
    pub id: u64,
}

/// A CQE written later (TX completions withheld by a fault).
#[derive(Clone, Debug)]
pub(crate) struct HeldCqe {
    pub data: [u8; CQE_DATA_SIZE],
    /// Ledger id of the completed packet (its first buffer's address).
    pub id: u64,
}

/// A work queue.
#[derive(Debug)]
pub(crate) struct Wq {
    pub kind: WqKind,
    pub mem: QueueMem,
    pub size: u32,
    pub cq: u32,
    pub owner: QueueOwner,
    /// Bytes the device consumed (free-running).
    pub consumer: u32,
    /// Producer offset from the last accepted doorbell (free-running bytes).
    pub producer: u32,
    /// RQ: bytes already fetched into `rx` (free-running).
    pub fetched: u32,
    pub rx: VecDeque<RxWqe>,
    /// The vPort of a MANA WQ object.
    pub vport: Option<u16>,
    /// Object handle (MANA) or 0 (HWC).
    pub handle: u64,
    /// A GDMA error disabled the queue.
    pub disabled: bool,
    pub backlog: VecDeque<Backlogged>,
    pub held: Vec<HeldCqe>,
    /// RX completions being coalesced into one CQE.
    pub coalesce: Vec<RxDone>,
}

impl Wq {
    pub fn new(kind: WqKind, mem: QueueMem, cq: u32, owner: QueueOwner) -> Self {
        let size = mem.size;
        Wq {
            kind,
            mem,
            size,
            cq,
            owner,
            consumer: 0,
            producer: 0,
            fetched: 0,
            rx: VecDeque::new(),
            vport: None,
            handle: 0,
            disabled: false,
            backlog: VecDeque::new(),
            held: Vec::new(),
            coalesce: Vec::new(),
        }
    }
    /// Ring byte offset of free-running position `pos`.
    pub fn ring_offset(&self, pos: u32) -> u32 {
        pos & (self.size - 1)
    }
}

/// Every queue and region the device knows.
#[derive(Debug, Default)]
pub(crate) struct QueueTable {
    pub eqs: BTreeMap<u32, Eq>,
    pub cqs: BTreeMap<u32, Cq>,
    pub wqs: BTreeMap<u32, Wq>,
    pub regions: BTreeMap<u64, Region>,
    pub next_region: u64,
    /// MANA WQ object handle → WQ id.
    pub obj_handles: BTreeMap<u64, u32>,
    pub next_handle: u64,
}

/// First id of each id space: distinct ranges catch a driver that rings a
/// CQ doorbell with an SQ id (OpenVMM also starts above 0).
pub(crate) const EQ_ID_BASE: u32 = 8;
/// First CQ id.
pub(crate) const CQ_ID_BASE: u32 = 16;
/// First WQ (SQ and RQ) id.
pub(crate) const WQ_ID_BASE: u32 = 32;

/// Lowest free id in `[base, limit)`.
pub(crate) fn alloc_id<T>(map: &BTreeMap<u32, T>, base: u32, limit: u32) -> Option<u32> {
    (base..limit).find(|id| !map.contains_key(id))
}

/// Owner count of entry number `tail` of a ring of `entries`: `(tail / N) & 7`.
pub(crate) fn owner_of(tail: u32, entries: u32) -> u32 {
    (tail / entries.max(1)) & OWNER_MASK
}

/// What a CQ/EQ arm doorbell means against the device tail (mana.md §4.6).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ArmOutcome {
    /// Index equals the tail: armed.
    Armed,
    /// Index 1..N behind: there is unconsumed work, fire now.
    FireNow,
    /// Ahead of the tail or more than a ring behind: ignored.
    Ignored,
}

/// Classify a consumer index (mod 8N) against the device tail.
pub(crate) fn arm_outcome(tail: u32, index: u32, entries: u32) -> ArmOutcome {
    let modulus = entries.wrapping_mul(OWNER_MASK + 1);
    let behind = tail.wrapping_sub(index) & modulus.wrapping_sub(1);
    if behind == 0 {
        ArmOutcome::Armed
    } else if behind <= entries {
        ArmOutcome::FireNow
    } else {
        ArmOutcome::Ignored
    }
}

/// Entries written since the consumer index (mod 8N) the driver last rang.
pub(crate) fn unconsumed(tail: u32, consumer: u32, entries: u32) -> u32 {
    let modulus = entries.wrapping_mul(OWNER_MASK + 1);
    tail.wrapping_sub(consumer) & modulus.wrapping_sub(1)
}

impl Eq {
    /// Write one EQE at the tail (body, then the owner dword) and advance.
    /// Returns whether the consumer had fallen a whole ring behind.
    pub fn write<M: GuestMemory + ?Sized>(
        &mut self,
        mem: &M,
        event_type: u8,
        details: [u32; 3],
    ) -> Result<bool, DmaFault> {
        let off = (self.tail & (self.entries - 1)) * EQE_SIZE;
        let info = EqeInfo::new(event_type, owner_of(self.tail, self.entries));
        self.mem.write(mem, off, details.as_bytes())?;
        self.mem
            .write(mem, off + EQE_INFO_OFFSET as u32, &info.0.to_le_bytes())?;
        let overrun = unconsumed(self.tail, self.consumer, self.entries) >= self.entries;
        self.tail = self.tail.wrapping_add(1);
        Ok(overrun)
    }
}

impl Cq {
    /// Write one CQE at the tail with `info_fn(owner)` as its info dword;
    /// returns (overrun, doorbell-rule violated).
    pub fn write<M: GuestMemory + ?Sized>(
        &mut self,
        mem: &M,
        data: &[u8; CQE_DATA_SIZE],
        info: impl FnOnce(u32) -> CqeInfo,
    ) -> Result<(bool, bool), DmaFault> {
        let off = (self.tail & (self.entries - 1)) * CQE_SIZE;
        let info = info(owner_of(self.tail, self.entries));
        self.mem.write(mem, off, data)?;
        self.mem
            .write(mem, off + CQE_INFO_OFFSET as u32, &info.0.to_le_bytes())?;
        let overrun = unconsumed(self.tail, self.consumer, self.entries) >= self.entries;
        self.since_db = self.since_db.saturating_add(1);
        let rule = self.since_db
            == self
                .entries
                .saturating_mul(CQ_DOORBELL_WRAP_LIMIT)
                .saturating_add(1);
        self.tail = self.tail.wrapping_add(1);
        Ok((overrun, rule))
    }
}
