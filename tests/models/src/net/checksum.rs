//! The Internet checksum (RFC 1071) and its incremental update (RFC 1624).
//!
//! Sums are kept in a `u64` accumulator of big-endian 16-bit words and folded
//! only at the end, so any number of pieces (pseudo-header, header, payload)
//! can be added in any order, and a piece may start on an odd byte: the
//! accumulator remembers the pending odd byte.

/// A running one's-complement sum of big-endian 16-bit words.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Checksum {
    sum: u64,
    /// The high byte of a word whose low byte has not been seen yet.
    odd: Option<u8>,
}

impl Checksum {
    /// An empty sum.
    pub const fn new() -> Self {
        Checksum { sum: 0, odd: None }
    }

    /// Add bytes (continuing any odd byte left by a previous call).
    pub fn add_bytes(&mut self, mut data: &[u8]) -> &mut Self {
        if let Some(hi) = self.odd.take() {
            match data.split_first() {
                Some((&lo, rest)) => {
                    self.sum += u64::from(u16::from_be_bytes([hi, lo]));
                    data = rest;
                }
                None => {
                    self.odd = Some(hi);
                    return self;
                }
            }
        }
        let mut chunks = data.chunks_exact(8);
        for c in &mut chunks {
            // Four 16-bit words at once; each fits easily in the 64-bit sum.
            let w = u64::from_be_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]);
            self.sum += (w >> 48) + ((w >> 32) & 0xFFFF) + ((w >> 16) & 0xFFFF) + (w & 0xFFFF);
        }
        let mut words = chunks.remainder().chunks_exact(2);
        for w in &mut words {
            self.sum += u64::from(u16::from_be_bytes([w[0], w[1]]));
        }
        if let [b] = words.remainder() {
            self.odd = Some(*b);
        }
        self
    }

    /// Add one 16-bit word (must be word aligned in the summed stream).
    pub fn add_u16(&mut self, w: u16) -> &mut Self {
        self.sum += u64::from(w);
        self
    }

    /// Add a 32-bit value as two words.
    pub fn add_u32(&mut self, v: u32) -> &mut Self {
        self.sum += u64::from(v >> 16) + u64::from(v & 0xFFFF);
        self
    }

    /// The folded 16-bit one's-complement sum (not complemented). A pending
    /// odd byte is padded with zero, as RFC 1071 prescribes.
    pub fn fold(&self) -> u16 {
        let mut s = self.sum;
        if let Some(hi) = self.odd {
            s += u64::from(hi) << 8;
        }
        fold64(s)
    }

    /// The checksum to store: the complement of [`Checksum::fold`].
    pub fn finish(&self) -> u16 {
        !self.fold()
    }
}

/// Fold a 64-bit sum of 16-bit words into 16 bits with end-around carry.
pub const fn fold64(mut s: u64) -> u16 {
    while s > 0xFFFF {
        s = (s & 0xFFFF) + (s >> 16);
    }
    s as u16
}

/// Internet checksum of `data` (complemented, ready to store).
pub fn internet_checksum(data: &[u8]) -> u16 {
    Checksum::new().add_bytes(data).finish()
}

/// One's-complement sum of an IPv4 pseudo-header (RFC 793/768): source,
/// destination, protocol and L4 length. Not folded, not complemented.
pub fn pseudo_header_v4(src: [u8; 4], dst: [u8; 4], proto: u8, l4_len: u32) -> Checksum {
    let mut c = Checksum::new();
    c.add_bytes(&src)
        .add_bytes(&dst)
        .add_u16(u16::from(proto))
        .add_u32(l4_len);
    c
}

/// One's-complement sum of an IPv6 pseudo-header (RFC 8200 §8.1).
pub fn pseudo_header_v6(src: [u8; 16], dst: [u8; 16], next_header: u8, l4_len: u32) -> Checksum {
    let mut c = Checksum::new();
    c.add_bytes(&src)
        .add_bytes(&dst)
        .add_u32(l4_len)
        .add_u16(u16::from(next_header));
    c
}

/// Incrementally update a stored checksum when one 16-bit word of the
/// covered data changes from `old` to `new` (RFC 1624 eqn. 3:
/// HC' = ~(~HC + ~m + m')).
pub fn update_u16(stored: u16, old: u16, new: u16) -> u16 {
    let s = u64::from(!stored) + u64::from(!old) + u64::from(new);
    !fold64(s)
}

/// Incremental update for a changed 32-bit field (two words).
pub fn update_u32(stored: u16, old: u32, new: u32) -> u16 {
    let c = update_u16(stored, (old >> 16) as u16, (new >> 16) as u16);
    update_u16(c, old as u16, new as u16)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc1071_example() {
        // RFC 1071 §3: bytes 00 01 f2 03 f4 f5 f6 f7 sum to 0xddf2.
        let data = [0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7];
        assert_eq!(Checksum::new().add_bytes(&data).fold(), 0xddf2);
        assert_eq!(internet_checksum(&data), !0xddf2);
    }

    #[test]
    fn known_ipv4_header() {
        // The classic Wikipedia example header; its checksum is 0xb861.
        let mut h = [
            0x45, 0x00, 0x00, 0x73, 0x00, 0x00, 0x40, 0x00, 0x40, 0x11, 0x00, 0x00, 0xc0, 0xa8,
            0x00, 0x01, 0xc0, 0xa8, 0x00, 0xc7,
        ];
        assert_eq!(internet_checksum(&h), 0xb861);
        h[10..12].copy_from_slice(&0xb861u16.to_be_bytes());
        assert_eq!(internet_checksum(&h), 0, "a correct header sums to zero");
    }

    #[test]
    fn split_at_odd_offsets_matches_whole() {
        let data: Vec<u8> = (0..1001u32).map(|i| (i * 37 + 11) as u8).collect();
        let whole = internet_checksum(&data);
        for cut in [0, 1, 2, 3, 7, 8, 9, 500, 1000, 1001] {
            let mut c = Checksum::new();
            c.add_bytes(&data[..cut]).add_bytes(&data[cut..]);
            assert_eq!(c.finish(), whole, "cut at {cut}");
        }
        let mut c = Checksum::new();
        for b in &data {
            c.add_bytes(std::slice::from_ref(b));
        }
        assert_eq!(c.finish(), whole);
    }

    #[test]
    fn incremental_update_matches_recompute() {
        let mut data: Vec<u8> = (0..64u8).collect();
        let before = internet_checksum(&data);
        let old = u16::from_be_bytes([data[10], data[11]]);
        data[10..12].copy_from_slice(&0xBEEFu16.to_be_bytes());
        assert_eq!(update_u16(before, old, 0xBEEF), internet_checksum(&data));
        let old32 = u32::from_be_bytes([data[20], data[21], data[22], data[23]]);
        data[20..24].copy_from_slice(&0xDEAD_BEEFu32.to_be_bytes());
        let c = update_u16(before, old, 0xBEEF);
        assert_eq!(update_u32(c, old32, 0xDEAD_BEEF), internet_checksum(&data));
    }
}
