//! Device memory behind a BAR that the host maps straight into the guest.
//!
//! ENA's LLQ lives in BAR2 (ena.md §5.8): the driver writes whole TX lines
//! there with plain stores and only rings a doorbell in BAR0. In process the
//! model keeps that memory in a `Vec`; behind a vfio-user server the same
//! bytes must be a shared mapping (a memfd that QEMU maps into the guest), or
//! every 8-byte store would be a socket message (vfio-user.md §4: 20–40 µs
//! each). [`DeviceMemory`] is the seam: a model given one reads and writes it
//! instead of its own buffer, and behaves identically otherwise.

use std::cell::RefCell;

/// Byte-addressed device memory of fixed length (offsets are BAR offsets).
pub trait DeviceMemory {
    /// Length in bytes.
    fn len(&self) -> usize;
    /// True if the memory has no bytes.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// Copy `buf.len()` bytes from `off`; false (and `buf` untouched) if the
    /// range is outside the memory.
    fn read(&self, off: usize, buf: &mut [u8]) -> bool;
    /// Copy `data` to `off`; false if the range is outside the memory.
    fn write(&self, off: usize, data: &[u8]) -> bool;
    /// Zero every byte (device reset).
    fn zero(&self);
}

/// A [`DeviceMemory`] in a heap buffer (tests of the shared-BAR path).
#[derive(Debug, Default)]
pub struct LocalDeviceMemory {
    bytes: RefCell<Vec<u8>>,
}

impl LocalDeviceMemory {
    /// `len` zeroed bytes.
    pub fn new(len: usize) -> Self {
        LocalDeviceMemory {
            bytes: RefCell::new(vec![0; len]),
        }
    }
}

impl DeviceMemory for LocalDeviceMemory {
    fn len(&self) -> usize {
        self.bytes.borrow().len()
    }
    fn read(&self, off: usize, buf: &mut [u8]) -> bool {
        let b = self.bytes.borrow();
        match off.checked_add(buf.len()).and_then(|end| b.get(off..end)) {
            Some(src) => {
                buf.copy_from_slice(src);
                true
            }
            None => false,
        }
    }
    fn write(&self, off: usize, data: &[u8]) -> bool {
        let mut b = self.bytes.borrow_mut();
        match off
            .checked_add(data.len())
            .and_then(|end| b.get_mut(off..end))
        {
            Some(dst) => {
                dst.copy_from_slice(data);
                true
            }
            None => false,
        }
    }
    fn zero(&self) {
        self.bytes.borrow_mut().fill(0);
    }
}
