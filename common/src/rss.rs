//! Receive-side scaling: the Toeplitz hash, its input tuples, and the
//! indirection table.
//!
//! Both devices hash with Toeplitz (ENA default function, ena.md §6.7; MANA
//! and Windows NDIS only offer Toeplitz). The driver needs it to validate
//! user keys and tables and to pick default ones; the device models need it
//! to steer packets exactly like the hardware. The algorithm and input
//! layout follow Microsoft's "RSS hashing functions" page: for every input
//! bit from the most significant bit of the first byte, if the bit is 1 XOR
//! the leftmost 32 bits of the key into the result, then shift the key left
//! by one. Inputs are the packet's fields in network byte order: source
//! address, destination address, source port, destination port.

use crate::ConfigError;

/// Default key length: 40 bytes = 10 dwords (ENA §6.7; also MANA and NDIS).
pub const RSS_KEY_LEN: usize = 40;

/// Longest key any supported device takes (room for IPv6 + ports input
/// plus the 32-bit window, and for devices with 52-byte keys).
pub const RSS_KEY_MAX_LEN: usize = 52;

/// Longest hash input: two IPv6 addresses and two ports.
pub const RSS_INPUT_MAX_LEN: usize = 36;

/// Default key: the one Microsoft publishes with its RSS verification suite
/// (also DPDK's default). Drivers may prefer a random key per boot (Linux
/// `netdev_rss_key_fill`); this one is deterministic for tests.
pub const DEFAULT_RSS_KEY: [u8; RSS_KEY_LEN] = [
    0x6d, 0x5a, 0x56, 0xda, 0x25, 0x5b, 0x0e, 0xc2, 0x41, 0x67, 0x25, 0x3d, 0x43, 0xa3, 0x8f, 0xb0,
    0xd0, 0xca, 0x2b, 0xcb, 0xae, 0x7b, 0x30, 0xb4, 0x77, 0xcb, 0x2d, 0xa3, 0x80, 0x30, 0xf2, 0x0c,
    0x6a, 0x42, 0xb7, 0x3b, 0xbe, 0xac, 0x01, 0xfa,
];

/// Toeplitz hash of `input` under `key`. Key bits past the end of `key`
/// count as zero, so any lengths are accepted (a useful key is at least
/// `input.len() + 4` bytes long).
pub fn toeplitz_hash(key: &[u8], input: &[u8]) -> u32 {
    let key_byte = |i: usize| key.get(i).copied().unwrap_or(0);
    // Leftmost 32 bits of the (shifting) key.
    let mut window = u32::from_be_bytes([key_byte(0), key_byte(1), key_byte(2), key_byte(3)]);
    let mut result = 0u32;
    for (i, &byte) in input.iter().enumerate() {
        // The key byte whose bits shift into the window while this input byte is consumed.
        let incoming = key_byte(i.saturating_add(4));
        for bit in (0..8).rev() {
            if (byte >> bit) & 1 == 1 {
                result ^= window;
            }
            window = (window << 1) | u32::from((incoming >> bit) & 1);
        }
    }
    result
}

/// A hash input tuple, built in network byte order without allocation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RssInput {
    buf: [u8; RSS_INPUT_MAX_LEN],
    len: u8,
}

impl RssInput {
    fn from_parts(parts: &[&[u8]]) -> Self {
        let mut buf = [0u8; RSS_INPUT_MAX_LEN];
        let mut len = 0usize;
        for part in parts {
            let end = len.saturating_add(part.len()).min(RSS_INPUT_MAX_LEN);
            if let (Some(dst), Some(src)) = (buf.get_mut(len..end), part.get(..end - len)) {
                dst.copy_from_slice(src);
            }
            len = end;
        }
        RssInput {
            buf,
            len: len as u8,
        }
    }

    /// IPv4 source and destination addresses (8 bytes; NDIS_HASH_IPV4).
    pub fn ipv4(src: [u8; 4], dst: [u8; 4]) -> Self {
        Self::from_parts(&[&src, &dst])
    }
    /// IPv4 addresses and TCP/UDP ports (12 bytes; NDIS_HASH_TCP_IPV4).
    pub fn ipv4_ports(src: [u8; 4], dst: [u8; 4], src_port: u16, dst_port: u16) -> Self {
        Self::from_parts(&[&src, &dst, &src_port.to_be_bytes(), &dst_port.to_be_bytes()])
    }
    /// IPv6 source and destination addresses (32 bytes; NDIS_HASH_IPV6).
    pub fn ipv6(src: [u8; 16], dst: [u8; 16]) -> Self {
        Self::from_parts(&[&src, &dst])
    }
    /// IPv6 addresses and TCP/UDP ports (36 bytes; NDIS_HASH_TCP_IPV6).
    pub fn ipv6_ports(src: [u8; 16], dst: [u8; 16], src_port: u16, dst_port: u16) -> Self {
        Self::from_parts(&[&src, &dst, &src_port.to_be_bytes(), &dst_port.to_be_bytes()])
    }
    /// The input bytes.
    pub fn as_bytes(&self) -> &[u8] {
        self.buf.get(..usize::from(self.len)).unwrap_or(&[])
    }
    /// Toeplitz hash of this input under `key`.
    pub fn hash(&self, key: &[u8]) -> u32 {
        toeplitz_hash(key, self.as_bytes())
    }
}

/// Fill an indirection table with the default spread: entry `i` → queue
/// `i mod num_queues` (Linux `ethtool_rxfh_indir_default`, ena.md §6.7).
/// `num_queues == 0` is treated as 1.
pub fn fill_default_table(table: &mut [u16], num_queues: u16) {
    let n = usize::from(num_queues.max(1));
    for (i, entry) in table.iter_mut().enumerate() {
        *entry = (i % n) as u16;
    }
}

/// Check a user-supplied indirection table: exactly `expected_len` entries,
/// each naming an open queue (`< num_queues`). The error is
/// [`ConfigError::RssTableSize`] if the size is wrong, else names the first
/// offending entry.
pub fn validate_table(
    table: &[u16],
    expected_len: usize,
    num_queues: u16,
) -> Result<(), ConfigError> {
    if table.len() != expected_len {
        return Err(ConfigError::RssTableSize {
            given: saturate_u32(table.len()),
            expected: saturate_u32(expected_len),
        });
    }
    match table.iter().position(|&q| q >= num_queues) {
        Some(i) => {
            let value = table.get(i).copied().map_or(0, u32::from);
            Err(ConfigError::RssTable {
                index: saturate_u32(i),
                value,
            })
        }
        None => Ok(()),
    }
}

/// Check a user-supplied key length against the device's.
pub fn validate_key(key: &[u8], expected_len: usize) -> Result<(), ConfigError> {
    if key.len() == expected_len {
        Ok(())
    } else {
        Err(ConfigError::RssKeyLength {
            given: saturate_u32(key.len()),
            expected: saturate_u32(expected_len),
        })
    }
}

/// Queue the table steers `hash` to: entry `hash mod table.len()` (the low
/// bits of the hash for power-of-two tables, as NDIS specifies). `None`
/// for an empty table.
pub fn queue_for_hash(table: &[u16], hash: u32) -> Option<u16> {
    let len = table.len();
    if len == 0 {
        return None;
    }
    table.get(hash as usize % len).copied()
}

fn saturate_u32(v: usize) -> u32 {
    u32::try_from(v).unwrap_or(u32::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Microsoft "Verifying the RSS Hash Calculation", IPv4 table:
    /// (destination, dst port, source, src port, IPv4 only, IPv4 with TCP).
    type V4Case = ([u8; 4], u16, [u8; 4], u16, u32, u32);
    const V4: [V4Case; 5] = [
        (
            [161, 142, 100, 80],
            1766,
            [66, 9, 149, 187],
            2794,
            0x323e_8fc2,
            0x51cc_c178,
        ),
        (
            [65, 69, 140, 83],
            4739,
            [199, 92, 111, 2],
            14230,
            0xd718_262a,
            0xc626_b0ea,
        ),
        (
            [12, 22, 207, 184],
            38024,
            [24, 19, 198, 95],
            12898,
            0xd2d0_a5de,
            0x5c2b_394a,
        ),
        (
            [209, 142, 163, 6],
            2217,
            [38, 27, 205, 30],
            48228,
            0x8298_9176,
            0xafc7_327f,
        ),
        (
            [202, 188, 127, 2],
            1303,
            [153, 39, 163, 191],
            44251,
            0x5d18_09c5,
            0x10e8_28a2,
        ),
    ];

    /// Parse a fully written-out IPv6 address given as eight groups.
    fn v6(groups: [u16; 8]) -> [u8; 16] {
        let mut out = [0u8; 16];
        for (i, g) in groups.iter().enumerate() {
            out[2 * i..2 * i + 2].copy_from_slice(&g.to_be_bytes());
        }
        out
    }

    #[test]
    fn microsoft_ipv4_vectors() {
        for (dst, dport, src, sport, ip_only, with_tcp) in V4 {
            assert_eq!(
                RssInput::ipv4(src, dst).hash(&DEFAULT_RSS_KEY),
                ip_only,
                "{src:?} -> {dst:?}"
            );
            assert_eq!(
                RssInput::ipv4_ports(src, dst, sport, dport).hash(&DEFAULT_RSS_KEY),
                with_tcp
            );
        }
    }

    #[test]
    fn microsoft_ipv6_vectors() {
        // (destination, dst port, source, src port, IPv6 only, IPv6 with TCP)
        let cases = [
            (
                v6([0x3ffe, 0x2501, 0x200, 3, 0, 0, 0, 1]),
                1766,
                v6([0x3ffe, 0x2501, 0x200, 0x1fff, 0, 0, 0, 7]),
                2794,
                0x2cc1_8cd5,
                0x4020_7d3d,
            ),
            (
                v6([0xff02, 0, 0, 0, 0, 0, 0, 1]),
                4739,
                v6([0x3ffe, 0x501, 8, 0, 0x260, 0x97ff, 0xfe40, 0xefab]),
                14230,
                0x0f0c_461c,
                0xdde5_1bbf,
            ),
            (
                v6([0xfe80, 0, 0, 0, 0x200, 0xf8ff, 0xfe21, 0x67cf]),
                38024,
                v6([0x3ffe, 0x1900, 0x4545, 3, 0x200, 0xf8ff, 0xfe21, 0x67cf]),
                44251,
                0x4b61_e985,
                0x02d1_feef,
            ),
        ];
        for (dst, dport, src, sport, ip_only, with_tcp) in cases {
            assert_eq!(RssInput::ipv6(src, dst).hash(&DEFAULT_RSS_KEY), ip_only);
            assert_eq!(
                RssInput::ipv6_ports(src, dst, sport, dport).hash(&DEFAULT_RSS_KEY),
                with_tcp
            );
        }
    }

    #[test]
    fn input_layout_is_network_order() {
        let i = RssInput::ipv4_ports([1, 2, 3, 4], [5, 6, 7, 8], 0x1122, 0x3344);
        assert_eq!(
            i.as_bytes(),
            &[1, 2, 3, 4, 5, 6, 7, 8, 0x11, 0x22, 0x33, 0x44]
        );
        assert_eq!(
            RssInput::ipv6_ports([0; 16], [0; 16], 0, 0)
                .as_bytes()
                .len(),
            36
        );
    }

    #[test]
    fn short_keys_and_empty_input_do_not_panic() {
        assert_eq!(toeplitz_hash(&[], &[0xff; 8]), 0);
        assert_eq!(toeplitz_hash(&DEFAULT_RSS_KEY, &[]), 0);
        // A 1-bit input picks exactly the key's leftmost 32 bits.
        assert_eq!(
            toeplitz_hash(&[0xde, 0xad, 0xbe, 0xef, 0x80], &[0x80]),
            0xdead_beef
        );
        assert_eq!(
            toeplitz_hash(&[0xde, 0xad, 0xbe, 0xef, 0x80], &[0x40]),
            0xbd5b_7ddf
        );
        let long = [0xa5u8; 64];
        let _ = toeplitz_hash(&long, &[0x5a; 200]);
    }

    #[test]
    fn default_table_and_validation() {
        let mut t = [99u16; 10];
        fill_default_table(&mut t, 4);
        assert_eq!(t, [0, 1, 2, 3, 0, 1, 2, 3, 0, 1]);
        assert_eq!(validate_table(&t, 10, 4), Ok(()));
        assert_eq!(
            validate_table(&t, 10, 3),
            Err(ConfigError::RssTable { index: 3, value: 3 })
        );
        assert_eq!(
            validate_table(&t, 128, 4),
            Err(ConfigError::RssTableSize {
                given: 10,
                expected: 128
            })
        );
        fill_default_table(&mut t, 0);
        assert!(t.iter().all(|&q| q == 0));
        assert_eq!(validate_key(&DEFAULT_RSS_KEY, 40), Ok(()));
        assert_eq!(
            validate_key(&[0; 52], 40),
            Err(ConfigError::RssKeyLength {
                given: 52,
                expected: 40
            })
        );
    }

    #[test]
    fn steering() {
        let mut t = [0u16; 128];
        fill_default_table(&mut t, 8);
        assert_eq!(queue_for_hash(&t, 0x51cc_c178), Some((0x78 % 8) as u16));
        assert_eq!(queue_for_hash(&[], 5), None);
    }
}
