//! What an RX completion's protocol and checksum bits tell the stack, by the
//! Linux policy (ena.md §5.6), and a one-entry per-queue cache of it.
//!
//! The verdict depends only on a few status bits (protocol indices, the
//! checksum error/checked bits, the fragment bit). A queue's traffic repeats
//! the same pattern packet after packet, so the ring keeps the last pattern
//! and its verdict and decodes again only when the pattern changes.

use cloudnic_common::nic::{L3Proto, L4Proto, RssHashType, RxChecksum};
use cloudnic_common::stats::inc;

use crate::defs::io::{
    RxCdescStatus, L3_PROTO_IPV4, L3_PROTO_IPV6, L4_PROTO_TCP, L4_PROTO_UDP,
    RX_CDESC_L3_PROTO_IDX_MASK, RX_CDESC_L4_PROTO_IDX_MASK, RX_CDESC_L4_PROTO_IDX_SHIFT,
};
use crate::io::stats::RxQueueStats;

/// The status bits the verdict depends on.
const CLASS_BITS: u32 = RX_CDESC_L3_PROTO_IDX_MASK
    | RX_CDESC_L4_PROTO_IDX_MASK << RX_CDESC_L4_PROTO_IDX_SHIFT
    | RxCdescStatus::L3_CSUM_ERR.bits()
    | RxCdescStatus::L4_CSUM_ERR.bits()
    | RxCdescStatus::IPV4_FRAG.bits()
    | RxCdescStatus::L4_CSUM_CHECKED.bits();

/// A key no masked status equals (bit 31 is outside [`CLASS_BITS`]).
const NO_KEY: u32 = 1 << 31;
const _: () = assert!(CLASS_BITS & NO_KEY == 0);

/// Which checksum counter a verdict bumps.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum CsumCounter {
    /// None (fragments, non-TCP/UDP packets).
    Nothing,
    /// `csum_good`.
    Good,
    /// `csum_bad`.
    Bad,
    /// `csum_unchecked`.
    Unchecked,
}

/// The stack-facing meaning of one completion's status bits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct RxClass {
    /// Checksum verdict.
    pub csum: RxChecksum,
    /// What the RSS hash covers.
    pub hash_type: RssHashType,
    /// L3 protocol.
    pub l3: L3Proto,
    /// L4 protocol.
    pub l4: L4Proto,
    counter: CsumCounter,
}

impl RxClass {
    /// Decode `status` (Linux policy, ena.md §5.6): IPv4 with an L3 error →
    /// bad; TCP/UDP: L4 error → bad, else checked → good, else unchecked;
    /// fragments and other protocols → not checked, uncounted. The hash is
    /// L4 only for unfragmented TCP/UDP; other IP packets were hashed over
    /// addresses (default RSS fields, §6.7).
    fn decode(status: u32) -> Self {
        let flags = RxCdescStatus::from_bits_truncate(status);
        let l3 = match (status & RX_CDESC_L3_PROTO_IDX_MASK) as u8 {
            L3_PROTO_IPV4 => L3Proto::Ipv4,
            L3_PROTO_IPV6 => L3Proto::Ipv6,
            _ => L3Proto::Unknown,
        };
        let l4 = match ((status >> RX_CDESC_L4_PROTO_IDX_SHIFT) & RX_CDESC_L4_PROTO_IDX_MASK) as u8
        {
            L4_PROTO_TCP => L4Proto::Tcp,
            L4_PROTO_UDP => L4Proto::Udp,
            _ => L4Proto::Unknown,
        };
        let frag = flags.contains(RxCdescStatus::IPV4_FRAG);
        let (csum, counter) = if frag {
            (RxChecksum::NotChecked, CsumCounter::Nothing)
        } else if l3 == L3Proto::Ipv4 && flags.contains(RxCdescStatus::L3_CSUM_ERR) {
            (RxChecksum::Bad, CsumCounter::Bad)
        } else if l4 == L4Proto::Unknown {
            (RxChecksum::NotChecked, CsumCounter::Nothing)
        } else if flags.contains(RxCdescStatus::L4_CSUM_ERR) {
            (RxChecksum::Bad, CsumCounter::Bad)
        } else if flags.contains(RxCdescStatus::L4_CSUM_CHECKED) {
            (RxChecksum::Good, CsumCounter::Good)
        } else {
            (RxChecksum::NotChecked, CsumCounter::Unchecked)
        };
        let hash_type = if l4 != L4Proto::Unknown && !frag {
            RssHashType::L4
        } else if l3 != L3Proto::Unknown {
            RssHashType::L3
        } else {
            RssHashType::None
        };
        RxClass {
            csum,
            hash_type,
            l3,
            l4,
            counter,
        }
    }

    /// Bump the checksum counter this verdict names, if any.
    #[inline(always)]
    pub fn count(&self, stats: &mut RxQueueStats) {
        match self.counter {
            CsumCounter::Good => inc(&mut stats.csum_good),
            CsumCounter::Bad => inc(&mut stats.csum_bad),
            CsumCounter::Unchecked => inc(&mut stats.csum_unchecked),
            CsumCounter::Nothing => {}
        }
    }
}

/// The last status pattern seen on a queue and its verdict.
#[derive(Clone, Copy, Debug)]
pub(crate) struct RxClassCache {
    key: u32,
    class: RxClass,
}

impl RxClassCache {
    /// An empty cache (the first completion decodes).
    pub const fn new() -> Self {
        RxClassCache {
            key: NO_KEY,
            class: RxClass {
                csum: RxChecksum::NotChecked,
                hash_type: RssHashType::None,
                l3: L3Proto::Unknown,
                l4: L4Proto::Unknown,
                counter: CsumCounter::Nothing,
            },
        }
    }

    /// The verdict for a completion status word.
    #[inline(always)]
    pub fn classify(&mut self, status: u32) -> RxClass {
        let key = status & CLASS_BITS;
        if key != self.key {
            self.refill(key);
        }
        self.class
    }

    #[inline(never)]
    fn refill(&mut self, key: u32) {
        self.class = RxClass::decode(key);
        self.key = key;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The cache answers exactly what a fresh decode does, whatever order
    /// the patterns come in, and for bits outside the pattern too.
    #[test]
    fn cache_matches_decode() {
        let mut cache = RxClassCache::new();
        let mut x: u32 = 0x1234_5678;
        for _ in 0..50_000 {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            // Mostly a few patterns (cache hits), sometimes anything.
            let status = if x.is_multiple_of(4) {
                x
            } else {
                x & 0x0001_E00F | 0x0C08
            };
            assert_eq!(
                cache.classify(status),
                RxClass::decode(status),
                "{status:#x}"
            );
        }
    }
}
