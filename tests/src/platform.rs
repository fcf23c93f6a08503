//! [`HostPlatform`]: the platform contract implemented over the device models,
//! in one thread, in virtual time. The one fixture every host test, the demo
//! and the benchmark use.

use std::cell::{Cell, RefCell};
use std::fmt;
use std::ptr::NonNull;
use std::rc::Rc;

use cloudnic_common::{DmaRegion, Error, LogLevel, Platform, RegisterBar};
use cloudnic_models::{Arena, Device, VirtualClock};

/// A shared, dynamically typed device model.
pub type SharedDevice = Rc<RefCell<dyn Device>>;

/// Log lines captured from the driver, with a device prefix like the kernel's
/// `ena 0000:00:05.0 eth0:`.
#[derive(Debug, Default)]
pub struct LogSink {
    lines: RefCell<Vec<(LogLevel, String)>>,
    echo: Cell<bool>,
}

impl LogSink {
    /// Every line so far.
    pub fn lines(&self) -> Vec<(LogLevel, String)> {
        self.lines.borrow().clone()
    }
    /// True if some line contains `needle`.
    pub fn contains(&self, needle: &str) -> bool {
        self.lines.borrow().iter().any(|(_, l)| l.contains(needle))
    }
    /// Number of lines containing `needle`.
    pub fn count(&self, needle: &str) -> usize {
        self.lines
            .borrow()
            .iter()
            .filter(|(_, l)| l.contains(needle))
            .count()
    }
    /// Forget captured lines.
    pub fn clear(&self) {
        self.lines.borrow_mut().clear();
    }
    /// Print lines to stdout as they arrive (demo).
    pub fn set_echo(&self, echo: bool) {
        self.echo.set(echo);
    }
}

/// Driver-side view of the models: DMA memory from the arena, registers from
/// the device model, time from the virtual clock.
#[derive(Clone)]
pub struct HostPlatform {
    arena: Rc<Arena>,
    clock: Rc<VirtualClock>,
    device: SharedDevice,
    log: Rc<LogSink>,
    prefix: Rc<str>,
    /// Fail the n-th next DMA allocation (1 = the next one); 0 = never.
    fail_dma_after: Rc<Cell<u32>>,
    dma_allocs: Rc<Cell<u64>>,
    /// Fail the n-th next bookkeeping-table allocation (1 = the next one); 0 = never.
    fail_table_after: Rc<Cell<u32>>,
    table_allocs: Rc<Cell<u64>>,
    deferred: DeferredWrites,
}

/// MMIO writes held back instead of reaching the model (benchmark mode: the
/// driver's per-packet work is measured apart from the model's).
pub type DeferredWrites = Rc<RefCell<Option<Vec<(u8, u64, u8, u64)>>>>;

impl HostPlatform {
    /// A platform for `device`, logging with `prefix` (e.g. "ena 0000:00:05.0").
    pub fn new(
        arena: Rc<Arena>,
        clock: Rc<VirtualClock>,
        device: SharedDevice,
        prefix: &str,
    ) -> Self {
        Self {
            arena,
            clock,
            device,
            log: Rc::new(LogSink::default()),
            prefix: prefix.into(),
            fail_dma_after: Rc::new(Cell::new(0)),
            dma_allocs: Rc::new(Cell::new(0)),
            fail_table_after: Rc::new(Cell::new(0)),
            table_allocs: Rc::new(Cell::new(0)),
            deferred: Rc::new(RefCell::new(None)),
        }
    }
    /// Hold MMIO writes back (true) until [`HostPlatform::flush_mmio_writes`],
    /// or deliver them at once (false, the default).
    pub fn defer_mmio_writes(&self, on: bool) {
        let mut d = self.deferred.borrow_mut();
        if on {
            d.get_or_insert_with(Vec::new);
        } else if let Some(pending) = d.take() {
            drop(d);
            self.replay(pending);
        }
    }
    /// Deliver the held-back MMIO writes to the model, in order.
    pub fn flush_mmio_writes(&self) {
        let pending = match self.deferred.borrow_mut().as_mut() {
            Some(v) => std::mem::take(v),
            None => return,
        };
        self.replay(pending);
    }
    fn replay(&self, writes: Vec<(u8, u64, u8, u64)>) {
        let mut d = self.device.borrow_mut();
        for (bar, off, size, val) in writes {
            d.mmio_write(bar, off, size, val);
        }
    }
    /// Captured driver log.
    pub fn log_sink(&self) -> &Rc<LogSink> {
        &self.log
    }
    /// Guest memory.
    pub fn arena(&self) -> &Rc<Arena> {
        &self.arena
    }
    /// Virtual clock.
    pub fn clock(&self) -> &Rc<VirtualClock> {
        &self.clock
    }
    /// A register BAR of the device.
    pub fn bar(&self, bar: u8) -> HostBar {
        HostBar {
            device: self.device.clone(),
            bar,
            deferred: self.deferred.clone(),
        }
    }
    /// Fault injection: the `n`-th DMA allocation from now fails (1 = next).
    pub fn fail_dma_allocation(&self, n: u32) {
        self.fail_dma_after.set(n);
    }
    /// DMA allocations made so far.
    pub fn dma_allocations(&self) -> u64 {
        self.dma_allocs.get()
    }
    /// Fault injection: the `n`-th bookkeeping-table allocation
    /// ([`Platform::alloc_table`]) from now fails (1 = next).
    pub fn fail_table_allocation(&self, n: u32) {
        self.fail_table_after.set(n);
    }
    /// Bookkeeping-table allocations made so far.
    pub fn table_allocations(&self) -> u64 {
        self.table_allocs.get()
    }
    /// Advance virtual time and let the device run its timers.
    pub fn advance_us(&self, us: u64) {
        self.clock.advance_us(us);
        if let Ok(mut d) = self.device.try_borrow_mut() {
            d.tick();
        }
    }
}

impl Platform for HostPlatform {
    type Dma = HostDma;
    type Table<T> = Box<[T]>;

    fn alloc_dma(&self, size: usize, align: usize) -> Result<HostDma, Error> {
        let n = self.fail_dma_after.get();
        if n > 0 {
            self.fail_dma_after.set(n - 1);
            if n == 1 {
                return Err(Error::NoMemory);
            }
        }
        let bus = self.arena.alloc(size, align).ok_or(Error::NoMemory)?;
        self.dma_allocs.set(self.dma_allocs.get() + 1);
        let cells = match self.arena.cells(bus, size) {
            Some(c) => NonNull::from(c).cast::<Cell<u64>>(),
            None => {
                self.arena.free(bus);
                return Err(Error::NoMemory);
            }
        };
        Ok(HostDma {
            arena: self.arena.clone(),
            cells,
            bus,
            len: size,
            word_end: size & !7,
        })
    }

    fn alloc_table<T>(&self, len: usize, init: impl FnMut(usize) -> T) -> Result<Box<[T]>, Error> {
        let n = self.fail_table_after.get();
        if n > 0 {
            self.fail_table_after.set(n - 1);
            if n == 1 {
                return Err(Error::NoMemory);
            }
        }
        self.table_allocs.set(self.table_allocs.get() + 1);
        Ok((0..len).map(init).collect())
    }

    fn now_us(&self) -> u64 {
        self.clock.now_us()
    }

    fn delay_us(&self, us: u32) {
        self.advance_us(us as u64);
    }

    fn sleep_us(&self, us: u32) {
        self.advance_us(us as u64);
    }

    fn log(&self, level: LogLevel, args: fmt::Arguments<'_>) {
        let line = format!("{}: {}", self.prefix, args);
        if self.log.echo.get() {
            println!("[{:>10.6}] {}", self.clock.now_us() as f64 / 1e6, line);
        }
        self.log.lines.borrow_mut().push((level, line));
    }
}

/// One BAR of a model, accessed through its MMIO handlers.
#[derive(Clone)]
pub struct HostBar {
    device: SharedDevice,
    bar: u8,
    deferred: DeferredWrites,
}

impl HostBar {
    fn write(&self, offset: u64, size: u8, value: u64) {
        if let Some(q) = self.deferred.borrow_mut().as_mut() {
            q.push((self.bar, offset, size, value));
            return;
        }
        self.device
            .borrow_mut()
            .mmio_write(self.bar, offset, size, value)
    }
}

impl RegisterBar for HostBar {
    fn read32(&self, offset: u32) -> u32 {
        self.device
            .borrow_mut()
            .mmio_read(self.bar, offset as u64, 4) as u32
    }
    fn write32(&self, offset: u32, value: u32) {
        self.write(offset as u64, 4, value as u64)
    }
    fn write64_block(&self, offset: u32, words: &[u64]) {
        for (i, w) in words.iter().enumerate() {
            self.write(offset as u64 + 8 * i as u64, 8, *w);
        }
    }
}

/// A DMA-coherent region carved from the arena; freed on drop.
///
/// Word accesses go straight to the arena's cells through a pointer taken at
/// allocation (the per-packet path: one bounds check, then a plain load or
/// store, as close to a kernel's volatile access as safe host code allows).
pub struct HostDma {
    arena: Rc<Arena>,
    cells: NonNull<Cell<u64>>,
    bus: u64,
    len: usize,
    /// End of the last whole 8-byte word inside `len` (`len` rounded down
    /// to 8): an aligned offset is in bounds iff `offset < word_end`.
    word_end: usize,
}

impl HostDma {
    #[inline]
    fn in_bounds(&self, offset: usize, n: usize) -> bool {
        offset.checked_add(n).is_some_and(|end| end <= self.len)
    }
    #[inline]
    fn cell(&self, offset: usize) -> Option<&Cell<u64>> {
        // An aligned offset is in bounds iff `< word_end` (offset + 8 ≤ len):
        // one compare, no overflow check. The alignment test folds away when
        // the caller's offset is a multiple of 8 by construction (ring index
        // × entry size).
        if !offset.is_multiple_of(8) || offset >= self.word_end {
            return None;
        }
        let index = offset / 8;
        // SAFETY: `cells` points at the arena's cells for this region
        // (`Arena::cells(bus, len)` at allocation), which cover `len` bytes
        // rounded up to words; 8-alignment and `offset < word_end` (so
        // `offset + 8 <= len`) were just checked, so word `offset / 8` is
        // inside the region. The arena's storage is
        // never moved or freed while `self.arena` (an `Rc`) keeps it alive,
        // and `Cell` makes shared mutation sound in this single-threaded rig.
        Some(unsafe { self.cells.add(index).as_ref() })
    }
    /// The two words at `offset` and `offset + 8`, with one bounds check.
    #[inline]
    fn cell_pair(&self, offset: usize) -> Option<[&Cell<u64>; 2]> {
        // `offset < word_end - 8` (so `offset + 16 <= len`): both words are inside.
        if !offset.is_multiple_of(8) || offset >= self.word_end.saturating_sub(8) {
            return None;
        }
        let index = offset / 8;
        // SAFETY: as in `cell`: 8-alignment and `offset + 16 <= len` were
        // just checked, so words `index` and `index + 1` are inside the
        // region's cells, which the arena keeps alive and in place.
        Some(unsafe {
            [
                self.cells.add(index).as_ref(),
                self.cells.add(index + 1).as_ref(),
            ]
        })
    }
}

impl DmaRegion for HostDma {
    #[inline]
    fn bus_addr(&self) -> u64 {
        self.bus
    }
    #[inline]
    fn len(&self) -> usize {
        self.len
    }
    #[inline]
    fn read32(&self, offset: usize) -> u32 {
        match self.cell(offset & !7) {
            Some(c) if self.in_bounds(offset, 4) => (c.get() >> ((offset & 4) * 8)) as u32,
            _ => 0,
        }
    }
    #[inline]
    fn read64(&self, offset: usize) -> u64 {
        self.cell(offset).map_or(0, Cell::get)
    }
    #[inline]
    fn write32(&self, offset: usize, value: u32) {
        if let Some(c) = self.cell(offset & !7) {
            if self.in_bounds(offset, 4) {
                let shift = (offset & 4) * 8;
                c.set((c.get() & !(0xFFFF_FFFFu64 << shift)) | ((value as u64) << shift));
            }
        }
    }
    #[inline]
    fn write64(&self, offset: usize, value: u64) {
        if let Some(c) = self.cell(offset) {
            c.set(value)
        }
    }
    #[inline]
    fn write64_pair(&self, offset: usize, words: [u64; 2]) {
        match self.cell_pair(offset) {
            Some([a, b]) => {
                a.set(words[0]);
                b.set(words[1]);
            }
            None => {
                self.write64(offset, words[0]);
                self.write64(offset.wrapping_add(8), words[1]);
            }
        }
    }
    fn read_bytes(&self, offset: usize, dst: &mut [u8]) {
        if self.in_bounds(offset, dst.len()) {
            self.arena.load_bytes(self.bus + offset as u64, dst);
        } else {
            dst.fill(0);
        }
    }
    fn write_bytes(&self, offset: usize, src: &[u8]) {
        if self.in_bounds(offset, src.len()) {
            self.arena.store_bytes(self.bus + offset as u64, src);
        }
    }
}

impl Drop for HostDma {
    fn drop(&mut self) {
        self.arena.free(self.bus);
    }
}

#[cfg(test)]
mod tests {
    use cloudnic_common::{DmaRegion, Platform};

    use crate::testbed::BackToBack;

    /// `write64_pair` stores both words with one bounds check, and past the
    /// end behaves as the two single stores would: what fits is written.
    #[test]
    fn write64_pair_checks_bounds_once_and_degrades_like_two_stores() {
        let t = BackToBack::small();
        let d = t.a.plat.alloc_dma(32, 8).expect("dma");
        d.write64_pair(0, [1, 2]);
        d.write64_pair(16, [3, 4]);
        assert_eq!(
            (0..4).map(|i| d.read64(i * 8)).collect::<Vec<_>>(),
            [1, 2, 3, 4]
        );
        // The second word would be past the end: only the first is stored.
        d.write64_pair(24, [5, 6]);
        assert_eq!(d.read64(24), 5);
        // Misaligned or wholly outside: nothing stored, nothing panics.
        d.write64_pair(4, [7, 8]);
        d.write64_pair(32, [9, 9]);
        d.write64_pair(usize::MAX - 3, [9, 9]);
        assert_eq!(
            (0..4).map(|i| d.read64(i * 8)).collect::<Vec<_>>(),
            [1, 2, 3, 5]
        );
        drop(d);
        t.teardown_and_check();
    }
}
