//! Guest memory: what a model reaches by DMA.
//!
//! In process it is an [`Arena`] of 64-bit cells with fake bus addresses
//! above 4 GiB (so 48-bit address splitting is exercised); behind vfio-user
//! it will be the guest's shared memory. Single-threaded by design: driver
//! and model run in one thread and take turns, so no `unsafe` is needed.

use std::cell::{Cell, RefCell};

/// A DMA access outside memory the driver owns.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DmaFault {
    /// Bus address of the access.
    pub addr: u64,
    /// Length of the access.
    pub len: usize,
}

/// Memory a device can read and write at bus addresses.
pub trait GuestMemory {
    /// Copy `buf.len()` bytes from `addr`.
    fn read(&self, addr: u64, buf: &mut [u8]) -> Result<(), DmaFault>;
    /// Copy `data` to `addr`.
    fn write(&self, addr: u64, data: &[u8]) -> Result<(), DmaFault>;
    /// Little-endian u32 at `addr`.
    fn read_u32(&self, addr: u64) -> Result<u32, DmaFault> {
        let mut b = [0u8; 4];
        self.read(addr, &mut b)?;
        Ok(u32::from_le_bytes(b))
    }
    /// Little-endian u64 at `addr`.
    fn read_u64(&self, addr: u64) -> Result<u64, DmaFault> {
        let mut b = [0u8; 8];
        self.read(addr, &mut b)?;
        Ok(u64::from_le_bytes(b))
    }
}

/// Bus address of the arena's first byte.
pub const ARENA_BUS_BASE: u64 = 0x1_0000_0000;

/// A block of simulated physical memory with an allocator and a ledger of
/// live allocations (a leak shows up as a live allocation after teardown).
#[derive(Debug)]
pub struct Arena {
    cells: Box<[Cell<u64>]>,
    allocs: RefCell<Vec<(u64, u64)>>, // (offset, len), sorted by offset
    strict: Cell<bool>,
    faults: Cell<u64>,
}

impl Arena {
    /// An arena of `bytes` (rounded up to 8).
    pub fn new(bytes: usize) -> Self {
        let words = bytes.div_ceil(8);
        Self {
            cells: (0..words).map(|_| Cell::new(0)).collect(),
            allocs: RefCell::new(Vec::new()),
            strict: Cell::new(true),
            faults: Cell::new(0),
        }
    }

    /// Strict mode (default) refuses device access outside live allocations;
    /// off, only the arena bounds are checked (benchmarks).
    pub fn set_strict(&self, strict: bool) {
        self.strict.set(strict);
    }

    /// DMA accesses refused so far.
    pub fn faults(&self) -> u64 {
        self.faults.get()
    }

    /// Allocate `size` zeroed bytes aligned to `align` (power of two, at least 8).
    pub fn alloc(&self, size: usize, align: usize) -> Option<u64> {
        let size = (size.max(1) as u64).div_ceil(8) * 8;
        let align = align.max(8) as u64;
        if !align.is_power_of_two() {
            return None;
        }
        let cap = (self.cells.len() * 8) as u64;
        let mut allocs = self.allocs.borrow_mut();
        let mut cursor = 0u64;
        let mut insert_at = allocs.len();
        for (i, &(off, len)) in allocs.iter().enumerate() {
            let start = cursor.div_ceil(align) * align;
            if start + size <= off {
                insert_at = i;
                cursor = start;
                break;
            }
            cursor = off + len;
        }
        if insert_at == allocs.len() {
            cursor = cursor.div_ceil(align) * align;
            if cursor + size > cap {
                return None;
            }
        }
        allocs.insert(insert_at, (cursor, size));
        for w in (cursor / 8)..((cursor + size) / 8) {
            self.cells[w as usize].set(0);
        }
        Some(ARENA_BUS_BASE + cursor)
    }

    /// Free an allocation made by [`Arena::alloc`]; returns false if `bus` is not one.
    pub fn free(&self, bus: u64) -> bool {
        let Some(off) = bus.checked_sub(ARENA_BUS_BASE) else {
            return false;
        };
        let mut allocs = self.allocs.borrow_mut();
        match allocs.binary_search_by_key(&off, |a| a.0) {
            Ok(i) => {
                allocs.remove(i);
                true
            }
            Err(_) => false,
        }
    }

    /// The 64-bit cells backing `len` bytes at bus address `bus`, if that
    /// range lies inside the arena and is 8-aligned (driver-side fast path for
    /// DMA regions; the region's owner keeps the arena alive).
    pub fn cells(&self, bus: u64, len: usize) -> Option<&[Cell<u64>]> {
        let off = bus.checked_sub(ARENA_BUS_BASE)?;
        if !off.is_multiple_of(8) {
            return None;
        }
        let first = usize::try_from(off / 8).ok()?;
        self.cells.get(first..first.checked_add(len.div_ceil(8))?)
    }

    /// Number of live allocations.
    pub fn live_allocations(&self) -> usize {
        self.allocs.borrow().len()
    }

    fn check(&self, addr: u64, len: usize) -> Result<u64, DmaFault> {
        let fault = DmaFault { addr, len };
        let off = addr.checked_sub(ARENA_BUS_BASE).ok_or(fault)?;
        let end = off.checked_add(len as u64).ok_or(fault)?;
        if end > (self.cells.len() * 8) as u64 {
            self.faults.set(self.faults.get() + 1);
            return Err(fault);
        }
        if self.strict.get() && len > 0 {
            let allocs = self.allocs.borrow();
            let i = allocs.partition_point(|a| a.0 <= off);
            let inside = i > 0 && {
                let (s, l) = allocs[i - 1];
                end <= s + l
            };
            if !inside {
                self.faults.set(self.faults.get() + 1);
                return Err(fault);
            }
        }
        Ok(off)
    }

    fn get_byte(&self, off: u64) -> u8 {
        (self.cells[(off / 8) as usize].get() >> ((off % 8) * 8)) as u8
    }

    fn set_byte(&self, off: u64, b: u8) {
        let c = &self.cells[(off / 8) as usize];
        let sh = (off % 8) * 8;
        c.set((c.get() & !(0xFFu64 << sh)) | ((b as u64) << sh));
    }

    /// 64-bit load at an 8-aligned bus address (driver side; bounds-checked
    /// against the arena only). Returns 0 outside.
    #[inline]
    pub fn load64(&self, addr: u64) -> u64 {
        match addr.checked_sub(ARENA_BUS_BASE) {
            Some(off) if off.is_multiple_of(8) => {
                self.cells.get((off / 8) as usize).map_or(0, Cell::get)
            }
            _ => {
                let mut b = [0u8; 8];
                let _ = self.read(addr, &mut b);
                u64::from_le_bytes(b)
            }
        }
    }

    /// 64-bit store at an 8-aligned bus address (driver side). Ignored outside.
    #[inline]
    pub fn store64(&self, addr: u64, value: u64) {
        match addr.checked_sub(ARENA_BUS_BASE) {
            Some(off) if off.is_multiple_of(8) => {
                if let Some(c) = self.cells.get((off / 8) as usize) {
                    c.set(value)
                }
            }
            _ => {
                let _ = self.write(addr, &value.to_le_bytes());
            }
        }
    }

    /// Byte copy out of the arena without the strict-mode check (driver side).
    pub fn load_bytes(&self, addr: u64, buf: &mut [u8]) {
        let strict = self.strict.replace(false);
        if self.read(addr, buf).is_err() {
            buf.fill(0);
        }
        self.strict.set(strict);
    }

    /// Byte copy into the arena without the strict-mode check (driver side).
    pub fn store_bytes(&self, addr: u64, data: &[u8]) {
        let strict = self.strict.replace(false);
        let _ = self.write(addr, data);
        self.strict.set(strict);
    }
}

impl GuestMemory for Arena {
    fn read(&self, addr: u64, buf: &mut [u8]) -> Result<(), DmaFault> {
        let off = self.check(addr, buf.len())?;
        let mut i = 0usize;
        while i < buf.len() {
            let o = off + i as u64;
            if o.is_multiple_of(8) && buf.len() - i >= 8 {
                let w = self.cells[(o / 8) as usize].get();
                buf[i..i + 8].copy_from_slice(&w.to_le_bytes());
                i += 8;
            } else {
                buf[i] = self.get_byte(o);
                i += 1;
            }
        }
        Ok(())
    }

    fn write(&self, addr: u64, data: &[u8]) -> Result<(), DmaFault> {
        let off = self.check(addr, data.len())?;
        let mut i = 0usize;
        while i < data.len() {
            let o = off + i as u64;
            if o.is_multiple_of(8) && data.len() - i >= 8 {
                let mut w = [0u8; 8];
                w.copy_from_slice(&data[i..i + 8]);
                self.cells[(o / 8) as usize].set(u64::from_le_bytes(w));
                i += 8;
            } else {
                self.set_byte(o, data[i]);
                i += 1;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn alloc_free_reuse_and_faults() {
        let a = Arena::new(1 << 16);
        let x = a.alloc(100, 4096).unwrap();
        assert_eq!((x - ARENA_BUS_BASE) % 4096, 0);
        let y = a.alloc(8, 8).unwrap();
        assert!(y >= x + 104);
        a.write(x + 3, &[1, 2, 3, 4, 5, 6, 7, 8, 9]).unwrap();
        let mut b = [0u8; 9];
        a.read(x + 3, &mut b).unwrap();
        assert_eq!(b, [1, 2, 3, 4, 5, 6, 7, 8, 9]);
        assert!(
            a.read(x + 100, &mut [0u8; 8]).is_err(),
            "past allocation end"
        );
        assert_eq!(a.faults(), 1);
        assert!(a.free(x));
        assert!(!a.free(x));
        assert_eq!(a.live_allocations(), 1);
        let z = a.alloc(64, 8).unwrap();
        assert_eq!(z, x, "freed space is reused");
        assert!(a.alloc(1 << 20, 8).is_none());
    }
}
