//! Little-endian field access on OID information buffers. OID payloads are
//! read and written field by field at `offset_of!` positions instead of
//! transmuting structs, so padding bytes are never read and a short buffer
//! is an error, not undefined behaviour.

/// `u16` at `off`, if in bounds.
pub fn read_u16(b: &[u8], off: usize) -> Option<u16> {
    let s = b.get(off..off.checked_add(2)?)?;
    Some(u16::from_le_bytes([s[0], s[1]]))
}

/// `u32` at `off`, if in bounds.
pub fn read_u32(b: &[u8], off: usize) -> Option<u32> {
    let s = b.get(off..off.checked_add(4)?)?;
    Some(u32::from_le_bytes([s[0], s[1], s[2], s[3]]))
}

/// Byte at `off`, if in bounds.
pub fn read_u8(b: &[u8], off: usize) -> Option<u8> {
    b.get(off).copied()
}

/// Writes into a caller-sized buffer; the first write that does not fit
/// marks the writer short, and [`Writer::finish`] reports the size needed.
pub struct Writer<'a> {
    buf: &'a mut [u8],
    end: usize,
    short: bool,
}

impl<'a> Writer<'a> {
    /// A writer over `buf`.
    pub fn new(buf: &'a mut [u8]) -> Self {
        Writer {
            buf,
            end: 0,
            short: false,
        }
    }

    /// Write `bytes` at `off`.
    pub fn put(&mut self, off: usize, bytes: &[u8]) {
        let Some(end) = off.checked_add(bytes.len()) else {
            self.short = true;
            return;
        };
        self.end = self.end.max(end);
        match self.buf.get_mut(off..end) {
            Some(dst) => dst.copy_from_slice(bytes),
            None => self.short = true,
        }
    }

    /// Write a `u8`.
    pub fn u8(&mut self, off: usize, v: u8) {
        self.put(off, &[v]);
    }

    /// Write a little-endian `u16`.
    pub fn u16(&mut self, off: usize, v: u16) {
        self.put(off, &v.to_le_bytes());
    }

    /// Write a little-endian `u32`.
    pub fn u32(&mut self, off: usize, v: u32) {
        self.put(off, &v.to_le_bytes());
    }

    /// Write a little-endian `u64`.
    pub fn u64(&mut self, off: usize, v: u64) {
        self.put(off, &v.to_le_bytes());
    }

    /// `Ok(bytes written)`, or `Err(bytes needed)` if anything did not fit.
    pub fn finish(self) -> Result<usize, usize> {
        if self.short {
            Err(self.end)
        } else {
            Ok(self.end)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_are_bounds_checked() {
        let b = [1u8, 2, 3, 4, 5];
        assert_eq!(read_u16(&b, 0), Some(0x0201));
        assert_eq!(read_u32(&b, 1), Some(0x0504_0302));
        assert_eq!(read_u32(&b, 2), None);
        assert_eq!(read_u16(&b, usize::MAX), None);
        assert_eq!(read_u8(&b, 5), None);
    }

    #[test]
    fn writer_reports_size_needed() {
        let mut b = [0u8; 6];
        let mut w = Writer::new(&mut b);
        w.u32(0, 0xAABBCCDD);
        w.u16(4, 0x1122);
        assert_eq!(w.finish(), Ok(6));
        assert_eq!(b, [0xDD, 0xCC, 0xBB, 0xAA, 0x22, 0x11]);
        let mut small = [0u8; 4];
        let mut w = Writer::new(&mut small);
        w.u64(0, 1);
        assert_eq!(w.finish(), Err(8));
    }
}
