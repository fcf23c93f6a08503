//! GDMA completion and event queues: entries marked by a 3-bit owner count
//! (common [`OwnerCount`]), read-barrier-then-copy parsing, overflow
//! detection, and the arming/doorbell rules (mana.md §4.3–§4.6).
//!
//! The owner bits live in the last dword of each entry (CQE @60, EQE @12).
//! The driver reads that dword, classifies it against its own head, issues
//! a read barrier, then copies the entry. An entry that is neither "empty"
//! nor "valid" means the device lapped the driver: it is reported as
//! [`QueueEntry::Overflow`] and the head does not move.

use zerocopy::FromBytes;

use cloudnic_common::ring::{OwnerCount, OwnerState};
use cloudnic_common::{DmaRegion, Error, Platform, RegisterBar};

use crate::bar::DoorbellPage;
use crate::defs::queue::{Cqe, CqeInfo, Eqe, CQE_INFO_OFFSET, CQE_SIZE, EQE_SIZE, MIN_QUEUE_SIZE};

/// Hardware rule: ring the CQ doorbell at least once per 8 wraps; Linux does
/// it after 4 wraps of unarmed work (mana.md §4.6).
pub const CQ_DOORBELL_WRAPS: u32 = 4;
/// Byte offset of the info dword inside an EQE.
const EQE_INFO_OFFSET: usize = 12;

/// Result of looking at the head of a CQ/EQ.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum QueueEntry<T> {
    /// No new entry.
    Empty,
    /// A new entry (the head advanced past it).
    Entry(T),
    /// The device overwrote entries the driver had not consumed.
    Overflow,
}

/// Shared ring logic of CQs and EQs.
struct OwnerRing<P: Platform> {
    mem: P::Dma,
    owner: OwnerCount,
    entry_size: u32,
    info_offset: usize,
    id: u32,
}

impl<P: Platform> OwnerRing<P> {
    fn new(plat: &P, entries: u32, entry_size: u32, info_offset: usize) -> Result<Self, Error> {
        let bytes = entries.checked_mul(entry_size).ok_or(Error::Unsupported)?;
        if bytes < MIN_QUEUE_SIZE || !bytes.is_power_of_two() {
            return Err(Error::Unsupported);
        }
        let owner = OwnerCount::new(entries)?;
        let mem = plat.alloc_dma(bytes as usize, MIN_QUEUE_SIZE as usize)?;
        Ok(OwnerRing {
            mem,
            owner,
            entry_size,
            info_offset,
            id: u32::MAX,
        })
    }

    fn slot(&self) -> usize {
        // index < entries, entries × entry_size was checked to fit u32.
        (self.owner.index() * self.entry_size) as usize
    }

    fn classify(&self) -> (OwnerState, u32) {
        let info = self.mem.read32(self.slot() + self.info_offset);
        // The owner field is bits 29–31 for both CQE and EQE.
        (
            self.owner.classify((info >> CqeInfo::OWNER_SHIFT) as u8),
            info,
        )
    }

    /// Copy out the head entry if it is valid, and advance.
    fn pop<const N: usize>(&mut self, plat: &P) -> QueueEntry<[u8; N]> {
        match self.classify().0 {
            OwnerState::Empty => QueueEntry::Empty,
            OwnerState::Overflow => QueueEntry::Overflow,
            OwnerState::Valid => {
                plat.dma_read_barrier();
                // Whole 64-bit loads (entries are 16/64 bytes, 8-aligned)
                // instead of a byte copy.
                let mut raw = [0u8; N];
                let base = self.slot();
                for (i, chunk) in raw.chunks_exact_mut(8).enumerate() {
                    chunk.copy_from_slice(&self.mem.read64(base + i * 8).to_le_bytes());
                }
                self.owner.advance(1);
                QueueEntry::Entry(raw)
            }
        }
    }

    fn reset(&mut self) {
        let entries = self.owner.depth();
        // Zeroed memory reads as "empty" for the first pass (owner 0 vs expected 1).
        let zero = [0u8; 64];
        let total = entries as usize * self.entry_size as usize;
        let mut off = 0;
        while off < total {
            let n = zero.len().min(total - off);
            self.mem.write_bytes(off, &zero[..n]);
            off += n;
        }
        self.owner = OwnerCount::new(entries).unwrap_or(self.owner);
    }
}

/// A completion queue of 64-byte CQEs.
pub struct CompletionQueue<P: Platform> {
    ring: OwnerRing<P>,
    head_at_doorbell: u32,
}

impl<P: Platform> CompletionQueue<P> {
    /// Allocate `entries` CQEs (entries × 64 a power of two ≥ 4 KiB).
    pub fn new(plat: &P, entries: u32) -> Result<Self, Error> {
        let ring = OwnerRing::new(plat, entries, CQE_SIZE, CQE_INFO_OFFSET)?;
        let head = ring.owner.head();
        Ok(CompletionQueue {
            ring,
            head_at_doorbell: head,
        })
    }
    /// Ring memory.
    pub fn mem(&self) -> &P::Dma {
        &self.ring.mem
    }
    /// Size in bytes.
    pub fn size_bytes(&self) -> u32 {
        self.ring.owner.depth() * CQE_SIZE
    }
    /// Entries.
    pub fn entries(&self) -> u32 {
        self.ring.owner.depth()
    }
    /// Device queue id.
    pub fn id(&self) -> u32 {
        self.ring.id
    }
    /// Record the device's queue id.
    pub fn set_id(&mut self, id: u32) {
        self.ring.id = id;
    }
    /// Free-running head.
    pub fn head(&self) -> u32 {
        self.ring.owner.head()
    }
    /// Take the next CQE.
    pub fn poll(&mut self, plat: &P) -> QueueEntry<Cqe> {
        match self.ring.pop::<{ CQE_SIZE as usize }>(plat) {
            QueueEntry::Entry(raw) => match Cqe::read_from_bytes(&raw) {
                Ok(c) => QueueEntry::Entry(c),
                Err(_) => QueueEntry::Overflow,
            },
            QueueEntry::Empty => QueueEntry::Empty,
            QueueEntry::Overflow => QueueEntry::Overflow,
        }
    }
    /// Peek: is a valid CQE at the head (health check; consumes nothing).
    pub fn has_entry(&self) -> bool {
        self.ring.classify().0 == OwnerState::Valid
    }
    /// Count valid CQEs from the head, up to `max`, without consuming any.
    pub fn peek_count(&self, max: u32) -> u32 {
        let mut probe = self.ring.owner;
        let mut n = 0;
        while n < max.min(self.entries()) {
            let off = (probe.index() * CQE_SIZE) as usize + CQE_INFO_OFFSET;
            let owner = (self.ring.mem.read32(off) >> CqeInfo::OWNER_SHIFT) as u8;
            if probe.classify(owner) != OwnerState::Valid {
                break;
            }
            probe.advance(1);
            n += 1;
        }
        n
    }
    /// Peek at the info dword of the head entry if it is valid.
    pub fn peek_info(&self) -> Option<CqeInfo> {
        match self.ring.classify() {
            (OwnerState::Valid, info) => Some(CqeInfo(info)),
            _ => None,
        }
    }
    /// Ring the CQ doorbell (arm = interrupt on the next CQE, one shot).
    pub fn ring_doorbell<R: RegisterBar>(
        &mut self,
        plat: &P,
        bar: &R,
        db: &DoorbellPage,
        arm: bool,
    ) {
        db.ring_cq(
            plat,
            bar,
            self.ring.id,
            self.ring.owner.doorbell_value(),
            arm,
        );
        self.head_at_doorbell = self.ring.owner.head();
    }
    /// After a poll without arming: ring (arm 0) if 4 or more wraps passed
    /// since the last doorbell, keeping the 8-wrap hardware rule (mana.md §4.6).
    pub fn maybe_ring_unarmed<R: RegisterBar>(
        &mut self,
        plat: &P,
        bar: &R,
        db: &DoorbellPage,
    ) -> bool {
        let since = self.ring.owner.head().wrapping_sub(self.head_at_doorbell);
        if since >= self.entries().saturating_mul(CQ_DOORBELL_WRAPS) {
            self.ring_doorbell(plat, bar, db, false);
            true
        } else {
            false
        }
    }
    /// Zero the ring and return to the initial head (queue re-created).
    pub fn reset(&mut self) {
        self.ring.reset();
        self.head_at_doorbell = self.ring.owner.head();
    }
}

/// An event queue of 16-byte EQEs.
pub struct EventQueue<P: Platform> {
    ring: OwnerRing<P>,
}

impl<P: Platform> EventQueue<P> {
    /// Allocate `entries` EQEs (entries × 16 a power of two ≥ 4 KiB).
    pub fn new(plat: &P, entries: u32) -> Result<Self, Error> {
        Ok(EventQueue {
            ring: OwnerRing::new(plat, entries, EQE_SIZE, EQE_INFO_OFFSET)?,
        })
    }
    /// Ring memory.
    pub fn mem(&self) -> &P::Dma {
        &self.ring.mem
    }
    /// Size in bytes.
    pub fn size_bytes(&self) -> u32 {
        self.ring.owner.depth() * EQE_SIZE
    }
    /// Entries.
    pub fn entries(&self) -> u32 {
        self.ring.owner.depth()
    }
    /// Device queue id.
    pub fn id(&self) -> u32 {
        self.ring.id
    }
    /// Record the device's queue id.
    pub fn set_id(&mut self, id: u32) {
        self.ring.id = id;
    }
    /// Free-running head.
    pub fn head(&self) -> u32 {
        self.ring.owner.head()
    }
    /// Take the next EQE.
    pub fn poll(&mut self, plat: &P) -> QueueEntry<Eqe> {
        match self.ring.pop::<{ EQE_SIZE as usize }>(plat) {
            QueueEntry::Entry(raw) => match Eqe::read_from_bytes(&raw) {
                Ok(e) => QueueEntry::Entry(e),
                Err(_) => QueueEntry::Overflow,
            },
            QueueEntry::Empty => QueueEntry::Empty,
            QueueEntry::Overflow => QueueEntry::Overflow,
        }
    }
    /// Peek: a valid EQE is waiting.
    pub fn has_entry(&self) -> bool {
        self.ring.classify().0 == OwnerState::Valid
    }
    /// Ring the EQ doorbell with the head (arm = interrupt on the next EQE).
    pub fn ring_doorbell<R: RegisterBar>(&self, plat: &P, bar: &R, db: &DoorbellPage, arm: bool) {
        db.ring_eq(
            plat,
            bar,
            self.ring.id,
            self.ring.owner.doorbell_value(),
            arm,
        );
    }
    /// Zero the ring and return to the initial head.
    pub fn reset(&mut self) {
        self.ring.reset();
    }
}
