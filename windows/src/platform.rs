//! The shared core's [`Platform`] on Windows — the only place the core's
//! register, memory, time and logging needs touch NDIS or the kernel.
//!
//! - Registers: volatile 32-bit loads/stores on the BAR mapping, with the
//!   ordering `READ/WRITE_REGISTER_ULONG` give on x64 (a compiler barrier;
//!   x86 keeps UC stores ordered after earlier stores to WB memory).
//! - DMA memory: `NdisMAllocateSharedMemory` (cache-coherent on x64), with
//!   over-allocation when the returned block is not aligned as asked.
//! - Tables: `NdisAllocateMemoryWithTagPriority` (nonpaged, 16-byte aligned).
//! - Time: `KeQueryPerformanceCounter`; `KeStallExecutionProcessor` to
//!   busy-wait; `NdisMSleep` (PASSIVE_LEVEL only, as the contract says).
//! - Logging: `DbgPrintEx` under the IHV networking component.

use core::ffi::c_void;
use core::fmt::{self, Write};
use core::ops::{Deref, DerefMut};
use core::ptr::{self, NonNull};
use core::sync::atomic::{compiler_fence, fence, Ordering};

use cloudnic_common::{DmaRegion, Error, LogLevel, Platform, RegisterBar};

use crate::ndis::ffi;
use crate::ndis::NDIS_HANDLE;

/// Pool tag of every allocation ("cnic", little-endian as pool tags are).
pub const POOL_TAG: u32 = u32::from_le_bytes(*b"cnic");

/// The Windows platform: the miniport adapter handle plus the counter
/// frequency. Copied into every object of the core that needs it.
#[derive(Clone, Copy)]
pub struct WinPlatform {
    adapter: NDIS_HANDLE,
    perf_freq: u64,
}

impl WinPlatform {
    /// A platform for `adapter` (the MiniportAdapterHandle).
    pub fn new(adapter: NDIS_HANDLE) -> Self {
        let mut freq = 0i64;
        // SAFETY: KeQueryPerformanceCounter writes the frequency.
        unsafe { ffi::KeQueryPerformanceCounter(&mut freq) };
        WinPlatform {
            adapter,
            perf_freq: u64::try_from(freq).unwrap_or(0).max(1),
        }
    }

    /// The miniport adapter handle.
    pub fn adapter(&self) -> NDIS_HANDLE {
        self.adapter
    }

    /// Nonpaged pool bytes, zeroed; `None` when the pool is exhausted.
    pub fn alloc_pool(&self, bytes: usize) -> Option<NonNull<u8>> {
        let len = u32::try_from(bytes).ok()?;
        // SAFETY: plain allocation call; NULL on failure.
        let p = unsafe {
            ffi::NdisAllocateMemoryWithTagPriority(
                self.adapter,
                len.max(1),
                POOL_TAG,
                ffi::NORMAL_POOL_PRIORITY,
            )
        };
        let p = NonNull::new(p.cast::<u8>())?;
        // SAFETY: freshly allocated `bytes` bytes.
        unsafe { ptr::write_bytes(p.as_ptr(), 0, bytes) };
        Some(p)
    }

    /// Free what [`Self::alloc_pool`] returned.
    ///
    /// # Safety
    /// `p` came from `alloc_pool` on this adapter and is not used again.
    pub unsafe fn free_pool(&self, p: NonNull<u8>) {
        // SAFETY: per the caller's guarantee.
        unsafe { ffi::NdisFreeMemoryWithTagPriority(self.adapter, p.as_ptr().cast(), POOL_TAG) };
    }
}

/// A mapped BAR.
#[derive(Clone, Copy)]
pub struct WinBar {
    base: *mut u8,
    len: u32,
}

impl WinBar {
    /// Wrap a mapping of `len` bytes at `base`.
    ///
    /// # Safety
    /// `base..base+len` must stay mapped device memory while the bar is used.
    pub unsafe fn new(base: *mut u8, len: u32) -> Self {
        WinBar { base, len }
    }

    fn reg(&self, offset: u32, bytes: u32) -> Option<*mut u8> {
        let end = offset.checked_add(bytes)?;
        (end <= self.len && offset.is_multiple_of(bytes.min(8)))
            .then(|| self.base.wrapping_add(offset as usize))
    }
}

impl RegisterBar for WinBar {
    fn read32(&self, offset: u32) -> u32 {
        match self.reg(offset, 4) {
            // SAFETY: in-bounds, aligned MMIO location.
            Some(p) => {
                let v = unsafe { ptr::read_volatile(p.cast::<u32>()) };
                compiler_fence(Ordering::SeqCst);
                v
            }
            None => 0,
        }
    }

    fn write32(&self, offset: u32, value: u32) {
        if let Some(p) = self.reg(offset, 4) {
            // Earlier writes to DMA memory become visible before the store.
            fence(Ordering::Release);
            // SAFETY: in-bounds, aligned MMIO location.
            unsafe { ptr::write_volatile(p.cast::<u32>(), value) };
        }
    }

    fn write32_relaxed(&self, offset: u32, value: u32) {
        if let Some(p) = self.reg(offset, 4) {
            compiler_fence(Ordering::SeqCst);
            // SAFETY: in-bounds, aligned MMIO location.
            unsafe { ptr::write_volatile(p.cast::<u32>(), value) };
        }
    }

    fn write64_block(&self, offset: u32, words: &[u64]) {
        let Some(bytes) = u32::try_from(words.len())
            .ok()
            .and_then(|n| n.checked_mul(8))
        else {
            return;
        };
        if self.reg(offset, 8).is_none() || offset.checked_add(bytes).is_none_or(|e| e > self.len) {
            return;
        }
        fence(Ordering::Release);
        for (i, w) in words.iter().enumerate() {
            // SAFETY: whole block checked in bounds and 8-aligned above.
            unsafe {
                ptr::write_volatile(self.base.add(offset as usize + i * 8).cast::<u64>(), *w)
            };
        }
        // Drain write-combining buffers before a later doorbell (sfence/mfence).
        fence(Ordering::SeqCst);
    }
}

/// Shared (DMA-coherent) memory from `NdisMAllocateSharedMemory`.
pub struct WinDma {
    adapter: NDIS_HANDLE,
    /// Block as allocated (for the free call).
    alloc_va: *mut u8,
    alloc_pa: i64,
    alloc_len: u32,
    /// Aligned region handed to the core.
    va: *mut u8,
    pa: u64,
    len: usize,
}

impl WinDma {
    fn allocate(adapter: NDIS_HANDLE, len: u32) -> Option<(*mut u8, i64)> {
        let mut va: *mut c_void = ptr::null_mut();
        let mut pa = 0i64;
        // SAFETY: outputs are written by NDIS; cached = TRUE (x64 DMA is coherent).
        unsafe { ffi::NdisMAllocateSharedMemory(adapter, len, 1, &mut va, &mut pa) };
        (!va.is_null()).then_some((va.cast::<u8>(), pa))
    }

    fn free(adapter: NDIS_HANDLE, va: *mut u8, pa: i64, len: u32) {
        // SAFETY: `va`/`pa`/`len` are exactly what the allocation returned.
        unsafe { ffi::NdisMFreeSharedMemory(adapter, len, 1, va.cast(), pa) };
    }

    fn slot<T>(&self, offset: usize) -> Option<*mut T> {
        let size = core::mem::size_of::<T>();
        let end = offset.checked_add(size)?;
        (end <= self.len && offset.is_multiple_of(size))
            .then(|| self.va.wrapping_add(offset).cast::<T>())
    }

    /// CPU address of the region (RX buffers hand it to `NdisAllocateMdl`).
    pub fn va(&self) -> *mut u8 {
        self.va
    }
}

impl Drop for WinDma {
    fn drop(&mut self) {
        Self::free(self.adapter, self.alloc_va, self.alloc_pa, self.alloc_len);
    }
}

impl DmaRegion for WinDma {
    fn bus_addr(&self) -> u64 {
        self.pa
    }
    fn len(&self) -> usize {
        self.len
    }
    fn read32(&self, offset: usize) -> u32 {
        // SAFETY: in-bounds, aligned location of the region.
        self.slot::<u32>(offset)
            .map_or(0, |p| unsafe { ptr::read_volatile(p) })
    }
    fn read64(&self, offset: usize) -> u64 {
        // SAFETY: as above.
        self.slot::<u64>(offset)
            .map_or(0, |p| unsafe { ptr::read_volatile(p) })
    }
    fn write32(&self, offset: usize, value: u32) {
        if let Some(p) = self.slot::<u32>(offset) {
            // SAFETY: as above.
            unsafe { ptr::write_volatile(p, value) };
        }
    }
    fn write64(&self, offset: usize, value: u64) {
        if let Some(p) = self.slot::<u64>(offset) {
            // SAFETY: as above.
            unsafe { ptr::write_volatile(p, value) };
        }
    }
    fn read_bytes(&self, offset: usize, dst: &mut [u8]) {
        if offset.checked_add(dst.len()).is_some_and(|e| e <= self.len) {
            for (i, d) in dst.iter_mut().enumerate() {
                // SAFETY: range checked above.
                *d = unsafe { ptr::read_volatile(self.va.add(offset + i)) };
            }
        }
    }
    fn write_bytes(&self, offset: usize, src: &[u8]) {
        if offset.checked_add(src.len()).is_some_and(|e| e <= self.len) {
            for (i, s) in src.iter().enumerate() {
                // SAFETY: range checked above.
                unsafe { ptr::write_volatile(self.va.add(offset + i), *s) };
            }
        }
    }
}

/// A run-time sized table in nonpaged pool.
pub struct WinTable<T> {
    plat: WinPlatform,
    ptr: NonNull<T>,
    len: usize,
}

impl<T> Deref for WinTable<T> {
    type Target = [T];
    fn deref(&self) -> &[T] {
        // SAFETY: `len` initialised elements at `ptr`.
        unsafe { core::slice::from_raw_parts(self.ptr.as_ptr(), self.len) }
    }
}

impl<T> DerefMut for WinTable<T> {
    fn deref_mut(&mut self) -> &mut [T] {
        // SAFETY: as above, uniquely borrowed.
        unsafe { core::slice::from_raw_parts_mut(self.ptr.as_ptr(), self.len) }
    }
}

impl<T> Drop for WinTable<T> {
    fn drop(&mut self) {
        // SAFETY: drop the initialised elements, then free the block.
        unsafe {
            ptr::drop_in_place(ptr::slice_from_raw_parts_mut(self.ptr.as_ptr(), self.len));
            self.plat.free_pool(self.ptr.cast());
        }
    }
}

/// Pool allocations are 16-byte aligned on x64.
const POOL_ALIGN: usize = 16;

impl Platform for WinPlatform {
    type Dma = WinDma;
    type Table<T> = WinTable<T>;

    fn alloc_dma(&self, size: usize, align: usize) -> Result<WinDma, Error> {
        let len = u32::try_from(size).map_err(|_| Error::NoMemory)?;
        let align = align.max(1);
        if !align.is_power_of_two() || len == 0 {
            return Err(Error::NoMemory);
        }
        let mask = align as u64 - 1;
        let (va, pa) = Self::first_fit(self.adapter, len, mask).ok_or(Error::NoMemory)?;
        let dma = match (va, pa) {
            (Some(va), pa) => WinDma {
                adapter: self.adapter,
                alloc_va: va,
                alloc_pa: pa,
                alloc_len: len,
                va,
                pa: pa as u64,
                len: size,
            },
            (None, _) => {
                // Over-allocate and align the bus address; the CPU address
                // moves by the same amount (same page offset).
                let big = len
                    .checked_add(u32::try_from(align).map_err(|_| Error::NoMemory)?)
                    .ok_or(Error::NoMemory)?;
                let (bva, bpa) = WinDma::allocate(self.adapter, big).ok_or(Error::NoMemory)?;
                let skip = ((bpa as u64).wrapping_neg() & mask) as usize;
                WinDma {
                    adapter: self.adapter,
                    alloc_va: bva,
                    alloc_pa: bpa,
                    alloc_len: big,
                    va: bva.wrapping_add(skip),
                    pa: bpa as u64 + skip as u64,
                    len: size,
                }
            }
        };
        // SAFETY: `len` bytes of the region belong to us.
        unsafe { ptr::write_bytes(dma.va, 0, size) };
        Ok(dma)
    }

    fn alloc_table<T>(
        &self,
        len: usize,
        mut init: impl FnMut(usize) -> T,
    ) -> Result<WinTable<T>, Error> {
        if core::mem::align_of::<T>() > POOL_ALIGN {
            return Err(Error::NoMemory);
        }
        let bytes = len
            .checked_mul(core::mem::size_of::<T>())
            .ok_or(Error::NoMemory)?;
        let p = self.alloc_pool(bytes).ok_or(Error::NoMemory)?.cast::<T>();
        for i in 0..len {
            // SAFETY: element i of the fresh block.
            unsafe { p.as_ptr().add(i).write(init(i)) };
        }
        Ok(WinTable {
            plat: *self,
            ptr: p,
            len,
        })
    }

    fn now_us(&self) -> u64 {
        // SAFETY: no out-parameter.
        let c =
            u64::try_from(unsafe { ffi::KeQueryPerformanceCounter(ptr::null_mut()) }).unwrap_or(0);
        // Split to avoid overflow without u128: whole seconds, then the rest.
        let f = self.perf_freq;
        (c / f)
            .wrapping_mul(1_000_000)
            .wrapping_add((c % f).wrapping_mul(1_000_000) / f)
    }

    fn delay_us(&self, us: u32) {
        // SAFETY: busy-wait, any IRQL.
        unsafe { ffi::KeStallExecutionProcessor(us) };
    }

    fn sleep_us(&self, us: u32) {
        // SAFETY: PASSIVE_LEVEL per the Platform contract.
        unsafe { ffi::NdisMSleep(us) };
    }

    fn log(&self, level: LogLevel, args: fmt::Arguments<'_>) {
        debug_print(level, args);
    }
}

impl WinPlatform {
    /// Allocate `len` bytes; `Some((Some(va), pa))` if already aligned to
    /// `mask + 1`, `Some((None, _))` if a retry with padding is needed.
    fn first_fit(adapter: NDIS_HANDLE, len: u32, mask: u64) -> Option<(Option<*mut u8>, i64)> {
        let (va, pa) = WinDma::allocate(adapter, len)?;
        if pa as u64 & mask == 0 {
            return Some((Some(va), pa));
        }
        WinDma::free(adapter, va, pa, len);
        Some((None, 0))
    }
}

/// Format into a fixed stack buffer (truncating) and `DbgPrintEx` it.
pub fn debug_print(level: LogLevel, args: fmt::Arguments<'_>) {
    struct Line {
        buf: [u8; 200],
        len: usize,
    }
    impl Write for Line {
        fn write_str(&mut self, s: &str) -> fmt::Result {
            for &b in s.as_bytes() {
                // Keep room for the NUL; replace '%' so DbgPrintEx sees no directives.
                if self.len + 1 < self.buf.len() {
                    self.buf[self.len] = if b == b'%' || b == 0 { b'?' } else { b };
                    self.len += 1;
                }
            }
            Ok(())
        }
    }
    let mut line = Line {
        buf: [0; 200],
        len: 0,
    };
    let _ = line.write_fmt(args);
    line.buf[line.len] = 0;
    let lvl = match level {
        LogLevel::Error => ffi::DPFLTR_ERROR_LEVEL,
        LogLevel::Warn => ffi::DPFLTR_WARNING_LEVEL,
        LogLevel::Info => ffi::DPFLTR_INFO_LEVEL,
        LogLevel::Debug => ffi::DPFLTR_TRACE_LEVEL,
    };
    // SAFETY: NUL-terminated format and argument.
    unsafe {
        ffi::DbgPrintEx(
            ffi::DPFLTR_IHVNETWORK_ID,
            lvl,
            c"cloudnic: %s\n".as_ptr().cast(),
            line.buf.as_ptr(),
        )
    };
}
