//! The platform contract: everything the core needs from an OS, on one screen.
//!
//! Modelled on ena_com's platform header and virtio-drivers' `Hal`. Locks are
//! not part of it: the control path is one object taken `&mut` under the
//! shim's mutex/worker, each queue one object taken `&mut` in its NAPI/DPC.
//! Offsets passed to [`DmaRegion`] and [`RegisterBar`] are computed by the core
//! from masked ring indices and checked constants; implementations must still
//! refuse (ignore writes, read zero) anything outside the mapping, so even a
//! core bug cannot touch memory it does not own.

use core::fmt;
use core::ops::DerefMut;
use core::sync::atomic::{fence, Ordering};

use crate::Error;

/// Log severity, mapped by the shim onto `dev_err`/`dev_info`/... or ETW.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum LogLevel {
    /// Something failed; the driver will recover (reset) or give up.
    Error,
    /// Unexpected but tolerated (e.g. "Feature X isn't supported").
    Warn,
    /// Normal life-cycle events (bring-up, reset completed).
    Info,
    /// Developer detail.
    Debug,
}

/// One mapped device BAR (uncached registers, or write-combining for ENA LLQ).
pub trait RegisterBar {
    /// 32-bit MMIO load (with the ordering of the OS's `readl`).
    fn read32(&self, offset: u32) -> u32;
    /// 32-bit MMIO store, ordered after all earlier DMA-memory writes (`writel`).
    fn write32(&self, offset: u32, value: u32);
    /// 32-bit MMIO store without the implied write barrier (`writel_relaxed`).
    fn write32_relaxed(&self, offset: u32, value: u32) {
        self.write32(offset, value)
    }
    /// Copy whole 64-bit words into device memory (ENA LLQ entries, WC BAR2).
    fn write64_block(&self, offset: u32, words: &[u64]);
    /// One 64-bit MMIO store, ordered like [`RegisterBar::write32`] (MANA
    /// doorbells are single 64-bit writes, mana.md §1.5).
    fn write64(&self, offset: u32, value: u64) {
        self.write64_block(offset, &[value])
    }
}

/// A DMA-coherent region shared with the device. All accesses are volatile
/// (the device changes it behind the compiler's back).
pub trait DmaRegion {
    /// Bus (IOVA) address the device uses.
    fn bus_addr(&self) -> u64;
    /// Size in bytes.
    fn len(&self) -> usize;
    /// True if the region has no bytes.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// Volatile 32-bit load at a byte offset (4-aligned).
    fn read32(&self, offset: usize) -> u32;
    /// Volatile 64-bit load at a byte offset (8-aligned).
    fn read64(&self, offset: usize) -> u64;
    /// Volatile 32-bit store at a byte offset (4-aligned).
    fn write32(&self, offset: usize, value: u32);
    /// Volatile 64-bit store at a byte offset (8-aligned).
    fn write64(&self, offset: usize, value: u64);
    /// `words[0]` at `offset`, then `words[1]` at `offset + 8`: one 16-byte
    /// descriptor (ENA SQ entries are 16 B, ena.md §5.2, §5.5), so an
    /// implementation can check bounds once for both stores.
    fn write64_pair(&self, offset: usize, words: [u64; 2]) {
        self.write64(offset, words[0]);
        self.write64(offset.wrapping_add(8), words[1]);
    }
    /// Copy out `dst.len()` bytes starting at `offset`.
    fn read_bytes(&self, offset: usize, dst: &mut [u8]);
    /// Copy in `src` starting at `offset`.
    fn write_bytes(&self, offset: usize, src: &[u8]);
}

/// What an OS provides to the core.
pub trait Platform {
    /// DMA-coherent memory, freed on drop.
    type Dma: DmaRegion;
    /// Zero-initialised bookkeeping memory sized at run time, freed on drop.
    type Table<T>: DerefMut<Target = [T]>;

    /// Allocate `size` bytes of zeroed DMA-coherent memory aligned to `align`.
    fn alloc_dma(&self, size: usize, align: usize) -> Result<Self::Dma, Error>;
    /// Allocate a table of `len` elements, element `i` initialised to `init(i)`.
    fn alloc_table<T>(
        &self,
        len: usize,
        init: impl FnMut(usize) -> T,
    ) -> Result<Self::Table<T>, Error>;
    /// Monotonic time in microseconds.
    fn now_us(&self) -> u64;
    /// Busy-wait (atomic context allowed).
    fn delay_us(&self, us: u32);
    /// Sleep (process context only; init, reset and admin polling).
    fn sleep_us(&self, us: u32);
    /// Emit one log line with the device's context prefix.
    fn log(&self, level: LogLevel, args: fmt::Arguments<'_>);

    /// Order device-written DMA reads after the read of a valid flag (`dma_rmb`).
    fn dma_read_barrier(&self) {
        fence(Ordering::Acquire)
    }
    /// Order CPU writes to DMA memory before a later doorbell (`wmb`).
    fn write_barrier(&self) {
        fence(Ordering::Release)
    }
    /// Full barrier (`mb`).
    fn full_barrier(&self) {
        fence(Ordering::SeqCst)
    }
}
