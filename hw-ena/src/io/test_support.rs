//! A tiny fake platform for the ring unit tests: Vec-backed DMA regions that
//! the test can also reach by bus address (to play the device), and a BAR
//! that records every register write and keeps 64-bit block writes as memory.

extern crate std;

use core::cell::{Cell, RefCell};
use core::fmt;
use std::collections::BTreeMap;
use std::rc::Rc;
use std::vec::Vec;

use cloudnic_common::{DmaRegion, Error, LogLevel, Platform, RegisterBar};

use crate::defs::io::{TxCdesc, TxDesc};
use crate::io::tx::TxRing;

/// Shared bytes of one fake DMA region.
pub struct DmaMem {
    bus: u64,
    bytes: RefCell<Vec<u8>>,
}

/// Handle to a fake DMA region (clones share memory).
#[derive(Clone)]
pub struct FakeDma(pub Rc<DmaMem>);

impl FakeDma {
    fn get<const N: usize>(&self, off: usize) -> [u8; N] {
        let b = self.0.bytes.borrow();
        let mut out = [0u8; N];
        if let Some(s) = b.get(off..off + N) {
            out.copy_from_slice(s);
        }
        out
    }
    fn put(&self, off: usize, src: &[u8]) {
        let mut b = self.0.bytes.borrow_mut();
        if let Some(d) = b.get_mut(off..off + src.len()) {
            d.copy_from_slice(src);
        }
    }
}

impl DmaRegion for FakeDma {
    fn bus_addr(&self) -> u64 {
        self.0.bus
    }
    fn len(&self) -> usize {
        self.0.bytes.borrow().len()
    }
    fn read32(&self, offset: usize) -> u32 {
        u32::from_le_bytes(self.get(offset))
    }
    fn read64(&self, offset: usize) -> u64 {
        u64::from_le_bytes(self.get(offset))
    }
    fn write32(&self, offset: usize, value: u32) {
        self.put(offset, &value.to_le_bytes())
    }
    fn write64(&self, offset: usize, value: u64) {
        self.put(offset, &value.to_le_bytes())
    }
    fn read_bytes(&self, offset: usize, dst: &mut [u8]) {
        let b = self.0.bytes.borrow();
        if let Some(s) = b.get(offset..offset + dst.len()) {
            dst.copy_from_slice(s);
        }
    }
    fn write_bytes(&self, offset: usize, src: &[u8]) {
        self.put(offset, src)
    }
}

/// Fake platform: hands out fake bus addresses, remembers every region.
pub struct FakePlat {
    next_bus: Cell<u64>,
    regions: RefCell<Vec<FakeDma>>,
    /// Number of `dma_read_barrier` calls (checks the poll protocol).
    pub read_barriers: Cell<u32>,
}

impl FakePlat {
    /// New platform with no allocations.
    pub fn new() -> Self {
        FakePlat {
            next_bus: Cell::new(0x1_0000_0000),
            regions: RefCell::new(Vec::new()),
            read_barriers: Cell::new(0),
        }
    }
    /// The region whose bus address is `bus`.
    pub fn region(&self, bus: u64) -> FakeDma {
        self.regions
            .borrow()
            .iter()
            .find(|r| r.0.bus == bus)
            .cloned()
            .expect("no region at bus address")
    }
}

impl Platform for FakePlat {
    type Dma = FakeDma;
    type Table<T> = Vec<T>;

    fn alloc_dma(&self, size: usize, align: usize) -> Result<FakeDma, Error> {
        let align = align.max(1) as u64;
        let bus = self.next_bus.get().div_ceil(align) * align;
        self.next_bus.set(bus + size as u64 + 0x1000);
        let r = FakeDma(Rc::new(DmaMem {
            bus,
            bytes: RefCell::new(std::vec![0u8; size]),
        }));
        self.regions.borrow_mut().push(r.clone());
        Ok(r)
    }
    fn alloc_table<T>(&self, len: usize, init: impl FnMut(usize) -> T) -> Result<Vec<T>, Error> {
        Ok((0..len).map(init).collect())
    }
    fn now_us(&self) -> u64 {
        0
    }
    fn delay_us(&self, _us: u32) {}
    fn sleep_us(&self, _us: u32) {}
    fn log(&self, _level: LogLevel, _args: fmt::Arguments<'_>) {}
    fn dma_read_barrier(&self) {
        self.read_barriers.set(self.read_barriers.get() + 1);
    }
}

/// Fake BAR: a log of 32-bit writes and a sparse qword memory for block writes.
#[derive(Default)]
pub struct FakeBar {
    /// Every `write32` as (offset, value), in order.
    pub writes: RefCell<Vec<(u32, u32)>>,
    /// Qwords written by `write64_block`, by byte offset.
    pub mem: RefCell<BTreeMap<u32, u64>>,
    /// Number of `write64_block` calls.
    pub blocks: Cell<u32>,
}

impl FakeBar {
    /// Values written to `offset`, in order.
    pub fn writes_to(&self, offset: u32) -> Vec<u32> {
        self.writes
            .borrow()
            .iter()
            .filter(|w| w.0 == offset)
            .map(|w| w.1)
            .collect()
    }
    /// The qword at byte `offset` of the block memory (0 if never written).
    pub fn qword(&self, offset: u32) -> u64 {
        self.mem.borrow().get(&offset).copied().unwrap_or(0)
    }
}

impl RegisterBar for FakeBar {
    fn read32(&self, _offset: u32) -> u32 {
        0
    }
    fn write32(&self, offset: u32, value: u32) {
        self.writes.borrow_mut().push((offset, value));
    }
    fn write64_block(&self, offset: u32, words: &[u64]) {
        self.blocks.set(self.blocks.get() + 1);
        let mut m = self.mem.borrow_mut();
        for (i, w) in words.iter().enumerate() {
            m.insert(offset + 8 * i as u32, *w);
        }
    }
}

/// The device side of one TX queue: its own CQ position and phase.
pub struct TxDev {
    cq: FakeDma,
    sq: Option<FakeDma>,
    pos: u16,
    depth: u16,
}

impl TxDev {
    pub fn new(plat: &FakePlat, ring: &TxRing<FakePlat>) -> Self {
        TxDev {
            cq: plat.region(ring.cq_bus_addr()),
            sq: ring.sq_bus_addr().map(|a| plat.region(a)),
            pos: 0,
            depth: ring.depth(),
        }
    }
    /// Write a completion for `req_id` with extra flag bits.
    pub fn complete_raw(&mut self, req_id: u16, flags_extra: u8) {
        let phase = self.pos & self.depth == 0;
        let mut c = TxCdesc::new(req_id, phase, 0);
        c.flags |= flags_extra;
        self.cq
            .write64(usize::from(self.pos & (self.depth - 1)) * 8, c.to_qword());
        self.pos = self.pos.wrapping_add(1);
    }
    /// Write a completion for `req_id`.
    pub fn complete(&mut self, req_id: u16) {
        self.complete_raw(req_id, 0)
    }
    /// The host SQ descriptor at free-running position `slot`.
    pub fn sq_desc(&self, slot: u16) -> TxDesc {
        let sq = self.sq.as_ref().unwrap();
        let off = usize::from(slot & (self.depth - 1)) * 16;
        TxDesc::from_qwords([sq.read64(off), sq.read64(off + 8)])
    }
}
