//! GDMA work queues (SQ and RQ): a power-of-two byte ring of 32-byte basic
//! units, WQE building within the size and SGE limits, free-space
//! accounting and the producer offset for doorbells (mana.md §4.1, §4.2).
//!
//! `head` and `tail` are free-running u32 counts of basic units; the ring
//! offset of a BU is `(bu × 32) & (size − 1)` and the doorbell carries
//! `head × 32` wrapping. Header and inline OOB (≤ 32 bytes) always start on a
//! BU boundary and so never cross the ring end; the SGL may wrap and is
//! written one 16-byte SGE at a time at its wrapped offset.

use cloudnic_common::{DmaRegion, Error, Platform};

use crate::defs::queue::{
    oob_size_code, sgl_offset, wqe_size, Sge, WqeHeader, WqeParams, MAX_RQ_WQE_SIZE,
    MAX_SQ_WQE_SIZE, MIN_QUEUE_SIZE, SGE_SIZE, WQE_BU_SHIFT, WQE_BU_SIZE, WQE_HEADER_SIZE,
};

/// Which kind of work queue (sets the WQE size limit).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WqKind {
    /// Send queue: WQEs up to 512 bytes.
    Send,
    /// Receive queue: WQEs up to 256 bytes, OOB must be the 8-byte zero slot.
    Receive,
}

/// A WQE to post.
#[derive(Clone, Copy, Debug)]
pub struct WqeRequest<'a> {
    /// Inline client OOB: 8 or 24 bytes (RQ: must be 8 zero bytes).
    pub oob: &'a [u8],
    /// Scatter-gather list (at least one entry).
    pub sgl: &'a [Sge],
    /// Client data unit (TSO MSS; 14 bits).
    pub client_data_unit: u32,
    /// Client OOB carried in the SGL (TSO), `last_vbytes` = SGE0 size.
    pub oob_in_sgl: bool,
}

/// Where a posted WQE sits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PostedWqe {
    /// Byte offset of the WQE in the ring.
    pub offset: u32,
    /// Size in basic units.
    pub size_bu: u32,
}

/// Why a WQE could not be built.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WqeError {
    /// Not enough free space in the ring.
    NoSpace,
    /// Too many SGEs for the queue's maximum WQE size.
    TooManySges,
    /// Empty SGL, unsupported OOB size, RQ OOB, or a field out of range.
    Invalid,
}

/// Byte offset of an SGE's `mem_key`/`size` word (after the 8-byte address; mana.md §4.2).
const SGE_KEY_SIZE_OFFSET: usize = 8;

/// Inline OOB of a receive WQE: the 8-byte zero slot (mana.md §4.2).
const RQ_OOB_SIZE: u32 = 8;
/// A receive WQE with one SGE: 32 bytes, one BU (mana.md §4.2).
const RQ_WQE_SIZE: u32 = wqe_size(RQ_OOB_SIZE, 1);
/// Header of that WQE (1 SGE, 8-byte OOB, no TSO) as one little-endian word.
const RQ_WQE_HEADER_WORD: u64 = {
    let code = match oob_size_code(RQ_OOB_SIZE) {
        Some(c) => c,
        None => panic!("8-byte OOB has a size code"),
    };
    let h = WqeHeader::new(0, WqeParams::new(1, code, false, 0));
    h.dword0 as u64 | ((h.params as u64) << 32)
};
const _: () = assert!(RQ_WQE_SIZE == WQE_BU_SIZE);

/// A work queue ring in DMA memory.
pub struct WorkQueue<P: Platform> {
    mem: P::Dma,
    size: u32,
    kind: WqKind,
    id: u32,
    head_bu: u32,
    tail_bu: u32,
}

impl<P: Platform> WorkQueue<P> {
    /// Allocate a ring of `size` bytes (power of two, ≥ 4 KiB, 4 KiB aligned).
    pub fn new(plat: &P, size: u32, kind: WqKind) -> Result<Self, Error> {
        if size < MIN_QUEUE_SIZE || !size.is_power_of_two() {
            return Err(Error::Unsupported);
        }
        let mem = plat.alloc_dma(size as usize, MIN_QUEUE_SIZE as usize)?;
        Ok(WorkQueue {
            mem,
            size,
            kind,
            id: u32::MAX,
            head_bu: 0,
            tail_bu: 0,
        })
    }

    /// The ring memory (for the DMA region / SMC).
    pub fn mem(&self) -> &P::Dma {
        &self.mem
    }
    /// Ring size in bytes.
    pub fn size(&self) -> u32 {
        self.size
    }
    /// Device queue id (set once the device created the queue).
    pub fn id(&self) -> u32 {
        self.id
    }
    /// Record the device's queue id.
    pub fn set_id(&mut self, id: u32) {
        self.id = id;
    }
    /// Free-running head in BUs.
    pub fn head_bu(&self) -> u32 {
        self.head_bu
    }
    /// Free-running tail in BUs.
    pub fn tail_bu(&self) -> u32 {
        self.tail_bu
    }
    /// Producer offset for the doorbell: head × 32, wrapping (mana.md §1.5).
    pub fn doorbell_tail_bytes(&self) -> u32 {
        self.head_bu.wrapping_shl(WQE_BU_SHIFT)
    }
    /// Bytes in use (saturates at the ring size if the counters disagree).
    pub fn used_bytes(&self) -> u32 {
        self.head_bu
            .wrapping_sub(self.tail_bu)
            .saturating_mul(WQE_BU_SIZE)
            .min(self.size)
    }
    /// Free bytes: size − (head − tail) × 32 (mana.md §4.2).
    pub fn free_bytes(&self) -> u32 {
        self.size - self.used_bytes()
    }
    /// Largest WQE this queue accepts.
    pub fn max_wqe_size(&self) -> u32 {
        match self.kind {
            WqKind::Send => MAX_SQ_WQE_SIZE,
            WqKind::Receive => MAX_RQ_WQE_SIZE,
        }
    }
    /// Ring offset of the BU at free-running position `bu`.
    pub fn offset_of(&self, bu: u32) -> u32 {
        bu.wrapping_shl(WQE_BU_SHIFT) & (self.size - 1)
    }

    /// Size in bytes a WQE with `oob_len` and `num_sge` would take, if legal here.
    pub fn wqe_size_for(&self, oob_len: u32, num_sge: usize) -> Result<u32, WqeError> {
        if num_sge == 0
            || oob_size_code(oob_len).is_none()
            || oob_len > WQE_BU_SIZE - WQE_HEADER_SIZE
        {
            return Err(WqeError::Invalid);
        }
        let n = u32::try_from(num_sge).map_err(|_| WqeError::TooManySges)?;
        if n > (self.max_wqe_size() - sgl_offset(oob_len)) / SGE_SIZE {
            return Err(WqeError::TooManySges);
        }
        Ok(wqe_size(oob_len, n))
    }

    /// Write a WQE at the head and advance it. No doorbell.
    pub fn post(&mut self, req: &WqeRequest<'_>) -> Result<PostedWqe, WqeError> {
        let sgl = req.sgl;
        self.post_sges(
            req.oob,
            sgl.len(),
            req.client_data_unit,
            req.oob_in_sgl,
            |i| sgl.get(i).copied().unwrap_or_default(),
        )
    }

    /// [`WorkQueue::post`] with SGE `i` (of `num_sge`) produced by `sge_at`,
    /// so callers need not stage a full-size SGL array (TX hot path).
    pub fn post_sges(
        &mut self,
        oob: &[u8],
        num_sge: usize,
        client_data_unit: u32,
        oob_in_sgl: bool,
        sge_at: impl Fn(usize) -> Sge,
    ) -> Result<PostedWqe, WqeError> {
        let oob_len = u32::try_from(oob.len()).map_err(|_| WqeError::Invalid)?;
        let size = self.wqe_size_for(oob_len, num_sge)?;
        if self.kind == WqKind::Receive
            && (oob_len != 8 || oob.iter().any(|b| *b != 0) || oob_in_sgl)
        {
            return Err(WqeError::Invalid);
        }
        if client_data_unit > WqeParams::CDU_MASK || (oob_in_sgl && num_sge < 2) {
            return Err(WqeError::Invalid);
        }
        if size > self.free_bytes() {
            return Err(WqeError::NoSpace);
        }
        let code = oob_size_code(oob_len).ok_or(WqeError::Invalid)?;
        // Pad-by-SGE0: last_vbytes = SGE0 size (headers ≤ 255 bytes); num_sge ≥ 1 was checked.
        let last_vbytes = if oob_in_sgl {
            u8::try_from(sge_at(0).size).map_err(|_| WqeError::Invalid)?
        } else {
            0
        };
        let params = WqeParams::new(num_sge as u8, code, oob_in_sgl, client_data_unit);
        // Header + OOB as whole little-endian words (every WQE field is
        // 8-byte aligned: BU-aligned start, 16/32-byte SGL offset, 16-byte
        // SGEs), written with 64-bit stores instead of a byte copy each.
        let hdr = WqeHeader::new(last_vbytes, params);
        let mut head = [0u64; (WQE_BU_SIZE / WQE_HEADER_SIZE) as usize];
        head[0] = u64::from(hdr.dword0) | (u64::from(hdr.params) << 32);
        for (w, chunk) in head[1..]
            .iter_mut()
            .zip(oob.chunks(WQE_HEADER_SIZE as usize))
        {
            let mut b = [0u8; WQE_HEADER_SIZE as usize];
            b[..chunk.len()].copy_from_slice(chunk);
            *w = u64::from_le_bytes(b);
        }
        let start = self.offset_of(self.head_bu);
        // Header + OOB ≤ 32 bytes from a BU boundary: never wraps.
        let sgl_off = sgl_offset(oob_len);
        let head_words = (sgl_off.min(WQE_BU_SIZE) / WQE_HEADER_SIZE) as usize;
        for (i, w) in head.iter().take(head_words).enumerate() {
            self.mem
                .write64(start as usize + i * WQE_HEADER_SIZE as usize, *w);
        }
        let mask = self.size - 1;
        for i in 0..num_sge {
            let off = (start
                .wrapping_add(sgl_off)
                .wrapping_add(SGE_SIZE * i as u32)
                & mask) as usize;
            self.write_sge(off, &sge_at(i));
        }
        let size_bu = size >> WQE_BU_SHIFT;
        self.head_bu = self.head_bu.wrapping_add(size_bu);
        Ok(PostedWqe {
            offset: start,
            size_bu,
        })
    }

    /// Store one SGE as two little-endian words at 8-aligned ring offset `off`.
    fn write_sge(&self, off: usize, sge: &Sge) {
        self.mem.write64(off, sge.address);
        self.mem.write64(
            off + SGE_KEY_SIZE_OFFSET,
            u64::from(sge.mem_key) | (u64::from(sge.size) << 32),
        );
    }

    /// Receive fast path: the only RQ WQE shape (header, the 8-byte zero OOB
    /// slot, one SGE = exactly one BU, mana.md §4.2) written as four words.
    /// Same result as [`WorkQueue::post`] with that request, without
    /// re-validating a request that is fixed by construction.
    pub fn post_receive(&mut self, sge: &Sge) -> Result<PostedWqe, WqeError> {
        if self.kind != WqKind::Receive {
            return Err(WqeError::Invalid);
        }
        if RQ_WQE_SIZE > self.free_bytes() {
            return Err(WqeError::NoSpace);
        }
        let start = self.offset_of(self.head_bu);
        // One BU from a BU boundary: never wraps.
        let base = start as usize;
        self.mem.write64(base, RQ_WQE_HEADER_WORD);
        self.mem.write64(base + WQE_HEADER_SIZE as usize, 0);
        self.write_sge(base + sgl_offset(RQ_OOB_SIZE) as usize, sge);
        let size_bu = RQ_WQE_SIZE >> WQE_BU_SHIFT;
        self.head_bu = self.head_bu.wrapping_add(size_bu);
        Ok(PostedWqe {
            offset: start,
            size_bu,
        })
    }

    /// Release `bu` basic units at the tail (their completion was consumed).
    /// Refuses to move past the head (device-driven callers validate first).
    pub fn advance_tail(&mut self, bu: u32) -> Result<(), Error> {
        if bu > self.head_bu.wrapping_sub(self.tail_bu) {
            return Err(Error::Malformed);
        }
        self.tail_bu = self.tail_bu.wrapping_add(bu);
        Ok(())
    }

    /// Forget every posted WQE (queue destroyed / re-created).
    pub fn reset(&mut self) {
        self.head_bu = 0;
        self.tail_bu = 0;
    }
}
