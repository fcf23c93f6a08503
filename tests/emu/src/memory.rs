//! Memory shared with QEMU: the guest's RAM (reached by DMA) and BAR memory
//! the guest maps directly (ENA's LLQ in BAR2).
//!
//! Guest RAM arrives in vfio-user DMA_MAP messages as (IOVA, size, fd, file
//! offset); the guest has no vIOMMU, so the IOVA is the guest-physical
//! address the driver programs into descriptors (vfio-user.md §2). Each
//! region is mapped `MAP_SHARED` and accesses are bounds-checked copies.
//! QEMU's memory backend must be a shared memfd (`share=on`), otherwise
//! DMA_MAP carries no fd and DMA is impossible with this crate (§5); such
//! regions are recorded as unreachable and every access to them faults.
//!
//! The guest's vCPUs write these pages concurrently. All device-side
//! accesses are raw-pointer copies, never Rust references into the mapping,
//! and the ordering the protocol needs (descriptor writes before the
//! doorbell) comes from the socket message that carries the doorbell.

use std::cell::RefCell;
use std::fs::File;
use std::os::fd::{AsRawFd, FromRawFd};

use cloudnic_models::{DeviceMemory, DmaFault, GuestMemory};

/// One `mmap` of a file, unmapped on drop.
#[derive(Debug)]
pub struct Mapping {
    ptr: *mut u8,
    len: usize,
}

impl Mapping {
    /// Map `len` bytes of `fd` at file `offset`, shared and writable.
    pub fn new(fd: &File, offset: u64, len: usize) -> std::io::Result<Mapping> {
        let off = libc::off_t::try_from(offset)
            .map_err(|_| std::io::Error::from(std::io::ErrorKind::InvalidInput))?;
        // SAFETY: a fresh shared mapping of a file descriptor we hold; the
        // kernel validates fd, length and offset.
        let p = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_SHARED,
                fd.as_raw_fd(),
                off,
            )
        };
        if p == libc::MAP_FAILED {
            return Err(std::io::Error::last_os_error());
        }
        Ok(Mapping { ptr: p.cast(), len })
    }

    /// Length in bytes.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Copy out of the mapping; false if `off..off+len` is outside it.
    pub fn read(&self, off: usize, buf: &mut [u8]) -> bool {
        if off.checked_add(buf.len()).is_none_or(|end| end > self.len) {
            return false;
        }
        // SAFETY: the range is inside the live mapping (checked above); the
        // copy goes through raw pointers, never a reference into memory the
        // guest may write concurrently.
        unsafe { std::ptr::copy_nonoverlapping(self.ptr.add(off), buf.as_mut_ptr(), buf.len()) };
        true
    }

    /// Copy into the mapping; false if `off..off+len` is outside it.
    pub fn write(&self, off: usize, data: &[u8]) -> bool {
        if off.checked_add(data.len()).is_none_or(|end| end > self.len) {
            return false;
        }
        // The guest polls CQEs/EQEs while the device writes them: a
        // completion body must be visible before its owner/phase word,
        // which the models write with a later call. Keep this copy after
        // every earlier one (x86 keeps store order; the fence stops the
        // compiler from reordering the copies).
        std::sync::atomic::fence(std::sync::atomic::Ordering::Release);
        // SAFETY: as in `read`.
        unsafe { std::ptr::copy_nonoverlapping(data.as_ptr(), self.ptr.add(off), data.len()) };
        true
    }

    /// Zero the whole mapping.
    pub fn zero(&self) {
        // SAFETY: the whole live mapping.
        unsafe { std::ptr::write_bytes(self.ptr, 0, self.len) };
    }
}

impl Drop for Mapping {
    fn drop(&mut self) {
        // SAFETY: unmapping exactly what `new` mapped.
        unsafe { libc::munmap(self.ptr.cast(), self.len) };
    }
}

/// One DMA_MAP region of guest memory.
#[derive(Debug)]
struct DmaRegion {
    iova: u64,
    size: u64,
    /// None: the region came without an fd (not shareable).
    map: Option<Mapping>,
}

/// Guest RAM as the device sees it: the union of the DMA_MAP regions.
#[derive(Debug, Default)]
pub struct GuestRam {
    regions: RefCell<Vec<DmaRegion>>,
    faults: std::cell::Cell<u64>,
}

impl GuestRam {
    /// No memory mapped yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// DMA_MAP: make `size` bytes at `iova` reachable through `fd`.
    pub fn map(&self, iova: u64, size: u64, fd: Option<File>, offset: u64) -> std::io::Result<()> {
        let len = usize::try_from(size)
            .map_err(|_| std::io::Error::from(std::io::ErrorKind::InvalidInput))?;
        let map = match fd {
            Some(f) => Some(Mapping::new(&f, offset, len)?),
            None => None,
        };
        let mut r = self.regions.borrow_mut();
        r.retain(|x| x.iova != iova);
        r.push(DmaRegion { iova, size, map });
        Ok(())
    }

    /// DMA_UNMAP of one region, or of all.
    pub fn unmap(&self, iova: u64, size: u64, all: bool) {
        self.regions
            .borrow_mut()
            .retain(|r| !(all || (r.iova == iova && r.size == size)));
    }

    /// Regions mapped (with an fd) and unreachable (without one).
    pub fn region_counts(&self) -> (usize, usize) {
        let r = self.regions.borrow();
        let with = r.iter().filter(|x| x.map.is_some()).count();
        (with, r.len() - with)
    }

    /// Accesses refused so far.
    pub fn faults(&self) -> u64 {
        self.faults.get()
    }

    fn access(
        &self,
        addr: u64,
        len: usize,
        f: impl FnOnce(&Mapping, usize) -> bool,
    ) -> Result<(), DmaFault> {
        let fault = DmaFault { addr, len };
        let end = addr.checked_add(len as u64).ok_or(fault)?;
        let r = self.regions.borrow();
        let hit = r
            .iter()
            .find(|x| addr >= x.iova && end <= x.iova.saturating_add(x.size));
        let ok = match hit.and_then(|x| x.map.as_ref().map(|m| (m, x.iova))) {
            Some((m, base)) => f(m, (addr - base) as usize),
            None => false,
        };
        if ok {
            Ok(())
        } else {
            self.faults.set(self.faults.get() + 1);
            Err(fault)
        }
    }
}

impl GuestMemory for GuestRam {
    fn read(&self, addr: u64, buf: &mut [u8]) -> Result<(), DmaFault> {
        let n = buf.len();
        self.access(addr, n, |m, off| m.read(off, buf))
    }
    fn write(&self, addr: u64, data: &[u8]) -> Result<(), DmaFault> {
        self.access(addr, data.len(), |m, off| m.write(off, data))
    }
}

/// Device memory in a memfd: the server maps it, and hands the fd to QEMU
/// (sparse-mmap capability) so the guest maps the same pages.
#[derive(Debug)]
pub struct SharedBar {
    file: File,
    map: Mapping,
}

impl SharedBar {
    /// A zeroed memfd of `len` bytes, mapped.
    pub fn new(name: &str, len: usize) -> std::io::Result<SharedBar> {
        let cname = std::ffi::CString::new(name)
            .map_err(|_| std::io::Error::from(std::io::ErrorKind::InvalidInput))?;
        // SAFETY: plain syscall with a valid C string.
        let fd = unsafe { libc::memfd_create(cname.as_ptr(), libc::MFD_CLOEXEC) };
        if fd < 0 {
            return Err(std::io::Error::last_os_error());
        }
        // SAFETY: `fd` is a fresh descriptor we own.
        let file = unsafe { File::from_raw_fd(fd) };
        file.set_len(len as u64)?;
        let map = Mapping::new(&file, 0, len)?;
        Ok(SharedBar { file, map })
    }

    /// The memfd (for the region's mmap capability).
    pub fn file(&self) -> &File {
        &self.file
    }
}

impl DeviceMemory for SharedBar {
    fn len(&self) -> usize {
        self.map.len()
    }
    fn read(&self, off: usize, buf: &mut [u8]) -> bool {
        self.map.read(off, buf)
    }
    fn write(&self, off: usize, data: &[u8]) -> bool {
        self.map.write(off, data)
    }
    fn zero(&self) {
        self.map.zero()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn guest_ram_translates_and_checks_bounds() {
        let bar = SharedBar::new("t", 8192).unwrap();
        let ram = GuestRam::new();
        ram.map(0x10_0000, 8192, Some(bar.file().try_clone().unwrap()), 0)
            .unwrap();
        ram.map(0x20_0000, 4096, None, 0).unwrap();
        assert_eq!(ram.region_counts(), (1, 1));
        ram.write(0x10_0ffc, &[1, 2, 3, 4, 5, 6, 7, 8]).unwrap();
        let mut b = [0u8; 8];
        assert!(DeviceMemory::read(&bar, 0xffc, &mut b));
        assert_eq!(b, [1, 2, 3, 4, 5, 6, 7, 8]);
        assert!(ram.read(0x10_1ffc, &mut b).is_err(), "crosses the end");
        assert!(ram.read(0x20_0000, &mut b).is_err(), "no fd");
        assert!(ram.read(0x5000, &mut b).is_err(), "unmapped");
        assert_eq!(ram.faults(), 3);
        ram.unmap(0x10_0000, 8192, false);
        assert!(ram.read(0x10_0000, &mut b).is_err());
        ram.unmap(0, 0, true);
        assert_eq!(ram.region_counts(), (0, 0));
    }
}
