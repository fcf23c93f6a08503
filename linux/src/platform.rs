// SPDX-License-Identifier: GPL-2.0 OR MIT
//! The Linux implementation of the platform contract (`cloudnic_common::Platform`).
//!
//! The shared crates forbid `unsafe`; this file holds the only `unsafe` of the module: volatile
//! access to DMA-coherent memory, each behind a bounds and alignment check, so no offset a
//! core computes can reach memory outside its allocation, and the DMA-mask call. Register access goes through the
//! kernel's checked MMIO accessors (`Io::try_read32` etc.), which refuse out-of-range offsets.
//!
//! Lifetimes carry the resource rules of 7.2's driver model: everything here borrows the
//! `'bound` device, so it cannot outlive the binding; it is dropped when the driver data is
//! dropped at unbind (or when probe fails), which unmaps the BARs and frees the DMA memory.

use core::fmt;
use core::ptr;

use cloudnic_common::{DmaRegion, LogLevel, Platform, RegisterBar};
use kernel::device::{Bound, Core, Device};
use kernel::dma::{Coherent, Device as _, DmaMask};
use kernel::io::Io;
use kernel::pci;
use kernel::prelude::*;
use kernel::time::{delay, Delta, Instant, Monotonic};

/// Largest single `udelay` (the kernel's MAX_UDELAY_MS is 5 ms on x86); longer busy-waits
/// are split into chunks of this size.
const UDELAY_CHUNK_US: u32 = 1000;
/// dma_alloc_coherent returns memory aligned to the page order of its size; requests with a
/// larger alignment are rounded up in size to get it (checked after allocation).
const PAGE_SIZE: usize = 4096;

/// Set the streaming and coherent DMA masks to `bits`. Only from probe, before any DMA
/// memory of the device is allocated or mapped.
pub(crate) fn set_dma_mask(pdev: &pci::Device<Core<'_>>, bits: u32) -> Result {
    let mask = DmaMask::try_new(bits)?;
    // SAFETY: called from probe before this driver allocates or maps any DMA memory for the
    // device, so no DMA operation races with the mask change.
    unsafe { pdev.dma_set_mask_and_coherent(mask) }
}

/// `Platform` for one bound PCI device: DMA allocations and log lines are attributed to it.
pub(crate) struct LinuxPlatform<'bound> {
    dev: &'bound Device<Bound>,
    /// Time zero of `now_us` (monotonic clock, taken at probe).
    epoch: Instant<Monotonic>,
}

impl<'bound> LinuxPlatform<'bound> {
    pub(crate) fn new(pdev: &'bound pci::Device<Bound>) -> Self {
        Self {
            dev: pdev.as_ref(),
            epoch: Instant::now(),
        }
    }
}

impl Platform for LinuxPlatform<'_> {
    type Dma = LinuxDma;
    type Table<T> = KVVec<T>;

    fn alloc_dma(&self, size: usize, align: usize) -> Result<LinuxDma, cloudnic_common::Error> {
        if size == 0 || !align.is_power_of_two() {
            return Err(cloudnic_common::Error::Unsupported);
        }
        let bytes = if align > PAGE_SIZE {
            size.max(align)
        } else {
            size
        };
        let words = bytes.div_ceil(8);
        let mem = Coherent::<u64>::zeroed_slice(self.dev, words, GFP_KERNEL)
            .map_err(|_| cloudnic_common::Error::NoMemory)?;
        if mem.dma_handle() % (align as u64) != 0 {
            self.log(
                LogLevel::Error,
                format_args!("DMA buffer not {align}-byte aligned"),
            );
            return Err(cloudnic_common::Error::NoMemory);
        }
        Ok(LinuxDma { mem, len: size })
    }

    fn alloc_table<T>(
        &self,
        len: usize,
        mut init: impl FnMut(usize) -> T,
    ) -> Result<KVVec<T>, cloudnic_common::Error> {
        let mut v =
            KVVec::with_capacity(len, GFP_KERNEL).map_err(|_| cloudnic_common::Error::NoMemory)?;
        for i in 0..len {
            v.push_within_capacity(init(i))
                .map_err(|_| cloudnic_common::Error::NoMemory)?;
        }
        Ok(v)
    }

    fn now_us(&self) -> u64 {
        u64::try_from(self.epoch.elapsed().as_nanos() / 1000).unwrap_or(0)
    }

    fn delay_us(&self, us: u32) {
        let mut left = us;
        while left > 0 {
            let step = left.min(UDELAY_CHUNK_US);
            delay::udelay(Delta::from_micros(i64::from(step)));
            left -= step;
        }
    }

    fn sleep_us(&self, us: u32) {
        delay::fsleep(Delta::from_micros(i64::from(us)));
    }

    fn log(&self, level: LogLevel, args: fmt::Arguments<'_>) {
        let line = format_args!("{args}\n");
        match level {
            LogLevel::Error => self.dev.pr_err(line),
            LogLevel::Warn => self.dev.pr_warn(line),
            LogLevel::Info => self.dev.pr_info(line),
            // The shared core's debug lines only with debug=1 (module parameter).
            LogLevel::Debug if crate::net::debug_enabled() => self.dev.pr_info(line),
            LogLevel::Debug => {}
        }
    }
}

/// A DMA-coherent region (`dma_alloc_coherent`), freed on drop. Backed by `u64` words so the
/// CPU mapping is 8-byte aligned; `len` is the size the core asked for.
pub(crate) struct LinuxDma {
    mem: Coherent<[u64]>,
    len: usize,
}

impl LinuxDma {
    /// CPU pointer to byte `offset` if `[offset, offset + size)` lies inside the region and
    /// `offset` is a multiple of `align`.
    fn at(&self, offset: usize, size: usize, align: usize) -> Option<*mut u8> {
        let end = offset.checked_add(size)?;
        if end > self.len || !offset.is_multiple_of(align) {
            return None;
        }
        // `offset < len <= allocation size`, so the result stays inside the allocation.
        Some(self.mem.as_mut_ptr().cast::<u8>().wrapping_add(offset))
    }
}

impl DmaRegion for LinuxDma {
    fn bus_addr(&self) -> u64 {
        self.mem.dma_handle()
    }

    fn len(&self) -> usize {
        self.len
    }

    fn read32(&self, offset: usize) -> u32 {
        match self.at(offset, 4, 4) {
            // SAFETY: `at` checked that the 4 aligned bytes lie inside the live allocation.
            // The device may write them concurrently: a volatile load (READ_ONCE) is the
            // kernel's accepted way to read such memory (see `Coherent::field_read`).
            Some(p) => unsafe { ptr::read_volatile(p.cast::<u32>()) },
            None => 0,
        }
    }

    fn read64(&self, offset: usize) -> u64 {
        match self.at(offset, 8, 8) {
            // SAFETY: as in `read32`, for 8 aligned bytes.
            Some(p) => unsafe { ptr::read_volatile(p.cast::<u64>()) },
            None => 0,
        }
    }

    fn write32(&self, offset: usize, value: u32) {
        if let Some(p) = self.at(offset, 4, 4) {
            // SAFETY: `at` checked bounds and alignment; volatile store = WRITE_ONCE.
            unsafe { ptr::write_volatile(p.cast::<u32>(), value) }
        }
    }

    fn write64(&self, offset: usize, value: u64) {
        if let Some(p) = self.at(offset, 8, 8) {
            // SAFETY: as in `write32`, for 8 aligned bytes.
            unsafe { ptr::write_volatile(p.cast::<u64>(), value) }
        }
    }

    fn write64_pair(&self, offset: usize, words: [u64; 2]) {
        match self.at(offset, 16, 8) {
            Some(p) => {
                let p = p.cast::<u64>();
                // SAFETY: `at` checked that 16 bytes from the 8-aligned `p`
                // lie inside the live allocation: both words are in bounds.
                unsafe {
                    ptr::write_volatile(p, words[0]);
                    ptr::write_volatile(p.add(1), words[1]);
                }
            }
            None => {
                self.write64(offset, words[0]);
                self.write64(offset.wrapping_add(8), words[1]);
            }
        }
    }

    fn read_bytes(&self, offset: usize, dst: &mut [u8]) {
        let Some(p) = self.at(offset, dst.len(), 1) else {
            dst.fill(0);
            return;
        };
        for (i, b) in dst.iter_mut().enumerate() {
            // SAFETY: `at` checked that `dst.len()` bytes from `p` lie inside the allocation.
            *b = unsafe { ptr::read_volatile(p.add(i)) };
        }
    }

    fn write_bytes(&self, offset: usize, src: &[u8]) {
        let Some(p) = self.at(offset, src.len(), 1) else {
            return;
        };
        for (i, b) in src.iter().enumerate() {
            // SAFETY: `at` checked that `src.len()` bytes from `p` lie inside the allocation.
            unsafe { ptr::write_volatile(p.add(i), *b) };
        }
    }
}

/// One mapped PCI BAR (`pci_iomap`), unmapped and released on drop. All accesses use the
/// kernel's run-time checked accessors: an offset outside the BAR reads 0 and writes nothing,
/// as the platform contract asks.
pub(crate) struct LinuxBar<'bound> {
    bar: pci::Bar<'bound>,
}

impl<'bound> LinuxBar<'bound> {
    pub(crate) fn map(
        pdev: &'bound pci::Device<Bound>,
        index: u32,
        name: &'static CStr,
    ) -> Result<Self> {
        Ok(Self {
            bar: pdev.iomap_region(index, name)?,
        })
    }

    /// Size of the mapping in bytes.
    pub(crate) fn len(&self) -> usize {
        self.bar.maxsize()
    }
}

impl RegisterBar for LinuxBar<'_> {
    fn read32(&self, offset: u32) -> u32 {
        self.bar.try_read32(offset as usize).unwrap_or(0)
    }

    fn write32(&self, offset: u32, value: u32) {
        let _ = self.bar.try_write32(value, offset as usize);
    }

    fn write32_relaxed(&self, offset: u32, value: u32) {
        let _ = self.bar.relaxed().try_write32(value, offset as usize);
    }

    fn write64_block(&self, offset: u32, words: &[u64]) {
        let mut off = offset as usize;
        for &w in words {
            if self.bar.relaxed().try_write64(w, off).is_err() {
                return;
            }
            off = off.wrapping_add(8);
        }
    }
}
