//! Test-only fakes: a host `Platform` over a byte arena with fake bus
//! addresses and a virtual clock, a `RegisterBar` that forwards MMIO to a
//! small MANA device fake ([`dev::FakeDev`]). Just enough device to drive
//! the driver's state machines; the real device model lives in
//! `tests/models` and is not this.

extern crate std;

pub mod dev;
pub mod hwc;

use core::cell::{Cell, RefCell};
use core::fmt;
use std::boxed::Box;
use std::rc::Rc;
use std::string::String;
use std::vec::Vec;

use cloudnic_common::{DmaRegion, Error, LogLevel, Platform, RegisterBar};

pub use dev::FakeDev;

/// First fake bus address (like the project's arena).
pub const BUS_BASE: u64 = 0x1_0000_0000;

/// Guest memory: one growing arena; bus address = BUS_BASE + offset.
#[derive(Default)]
pub struct Mem {
    bytes: Vec<u8>,
}

impl Mem {
    fn alloc(&mut self, size: usize, align: usize) -> u64 {
        let align = align.max(8);
        let start = self.bytes.len().div_ceil(align) * align;
        self.bytes.resize(start + size, 0);
        BUS_BASE + start as u64
    }
    /// Read guest memory (panics outside the arena: strict DMA checking).
    pub fn read(&self, bus: u64, out: &mut [u8]) {
        let o = (bus - BUS_BASE) as usize;
        out.copy_from_slice(&self.bytes[o..o + out.len()]);
    }
    /// Write guest memory.
    pub fn write(&mut self, bus: u64, data: &[u8]) {
        let o = (bus - BUS_BASE) as usize;
        self.bytes[o..o + data.len()].copy_from_slice(data);
    }
    /// Read a u32.
    pub fn r32(&self, bus: u64) -> u32 {
        let mut b = [0u8; 4];
        self.read(bus, &mut b);
        u32::from_le_bytes(b)
    }
}

/// A DMA region in the arena.
pub struct FakeDma {
    base: u64,
    len: usize,
    mem: Rc<RefCell<Mem>>,
}

impl DmaRegion for FakeDma {
    fn bus_addr(&self) -> u64 {
        self.base
    }
    fn len(&self) -> usize {
        self.len
    }
    fn read32(&self, offset: usize) -> u32 {
        assert!(offset + 4 <= self.len);
        self.mem.borrow().r32(self.base + offset as u64)
    }
    fn read64(&self, offset: usize) -> u64 {
        assert!(offset + 8 <= self.len);
        let mut b = [0u8; 8];
        self.mem.borrow().read(self.base + offset as u64, &mut b);
        u64::from_le_bytes(b)
    }
    fn write32(&self, offset: usize, value: u32) {
        self.write_bytes(offset, &value.to_le_bytes());
    }
    fn write64(&self, offset: usize, value: u64) {
        self.write_bytes(offset, &value.to_le_bytes());
    }
    fn read_bytes(&self, offset: usize, dst: &mut [u8]) {
        assert!(offset + dst.len() <= self.len, "DMA read out of region");
        self.mem.borrow().read(self.base + offset as u64, dst);
    }
    fn write_bytes(&self, offset: usize, src: &[u8]) {
        assert!(offset + src.len() <= self.len, "DMA write out of region");
        self.mem.borrow_mut().write(self.base + offset as u64, src);
    }
}

/// The shared state behind a [`FakePlat`] and a [`FakeBar`].
pub struct Shared {
    /// Guest memory.
    pub mem: Rc<RefCell<Mem>>,
    /// The device.
    pub dev: RefCell<FakeDev>,
    /// Virtual time in µs.
    pub now: Cell<u64>,
    /// Log lines.
    pub log: RefCell<Vec<String>>,
    /// Fail DMA allocations after this many (None = never).
    pub fail_alloc_after: Cell<Option<u32>>,
}

/// Test platform.
#[derive(Clone)]
pub struct FakePlat(pub Rc<Shared>);

/// Test BAR0.
#[derive(Clone)]
pub struct FakeBar(pub Rc<Shared>);

/// A new device + platform + BAR.
pub fn setup(dev: FakeDev) -> (FakePlat, FakeBar, Rc<Shared>) {
    let s = Rc::new(Shared {
        mem: Rc::new(RefCell::new(Mem::default())),
        dev: RefCell::new(dev),
        now: Cell::new(1_000_000),
        log: RefCell::new(Vec::new()),
        fail_alloc_after: Cell::new(None),
    });
    (FakePlat(s.clone()), FakeBar(s.clone()), s)
}

impl Shared {
    /// Let the device act on time-based work (delayed responses).
    pub fn tick(&self) {
        let now = self.now.get();
        self.dev.borrow_mut().tick(&mut self.mem.borrow_mut(), now);
    }
}

impl Platform for FakePlat {
    type Dma = FakeDma;
    type Table<T> = Box<[T]>;

    fn alloc_dma(&self, size: usize, align: usize) -> Result<FakeDma, Error> {
        if let Some(n) = self.0.fail_alloc_after.get() {
            if n == 0 {
                return Err(Error::NoMemory);
            }
            self.0.fail_alloc_after.set(Some(n - 1));
        }
        let base = self.0.mem.borrow_mut().alloc(size, align);
        Ok(FakeDma {
            base,
            len: size,
            mem: self.0.mem.clone(),
        })
    }
    fn alloc_table<T>(&self, len: usize, init: impl FnMut(usize) -> T) -> Result<Box<[T]>, Error> {
        Ok((0..len).map(init).collect())
    }
    fn now_us(&self) -> u64 {
        self.0.now.get()
    }
    fn delay_us(&self, us: u32) {
        self.0.now.set(self.0.now.get() + u64::from(us));
        self.0.tick();
    }
    fn sleep_us(&self, us: u32) {
        self.delay_us(us);
    }
    fn log(&self, level: LogLevel, args: fmt::Arguments<'_>) {
        self.0
            .log
            .borrow_mut()
            .push(std::format!("{level:?}: {args}"));
    }
}

impl RegisterBar for FakeBar {
    fn read32(&self, offset: u32) -> u32 {
        self.0.dev.borrow_mut().mmio_read(offset)
    }
    fn write32(&self, offset: u32, value: u32) {
        let now = self.0.now.get();
        self.0
            .dev
            .borrow_mut()
            .mmio_write32(&mut self.0.mem.borrow_mut(), offset, value, now);
    }
    fn write64_block(&self, offset: u32, words: &[u64]) {
        let now = self.0.now.get();
        for (i, w) in words.iter().enumerate() {
            self.0.dev.borrow_mut().mmio_write64(
                &mut self.0.mem.borrow_mut(),
                offset + 8 * i as u32,
                *w,
                now,
            );
        }
    }
}
