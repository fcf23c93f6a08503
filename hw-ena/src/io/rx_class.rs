//! What an RX completion's protocol and checksum bits tell the stack, by the
//! Linux policy (ena.md §5.6), and a one-entry per-queue cache of it.
//!
//! The verdict depends only on a few status bits (protocol indices, the
//! checksum error/checked bits, the fragment bit). A queue's traffic repeats
//! the same pattern packet after packet, so the ring keeps the last pattern
//! and its verdict and decodes again only when the pattern changes.

use cloudnic_common::nic::{L3Proto, L4Proto, RssHashType, RxChecksum};
use cloudnic_common::stats::add;

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

    /// Add `n` packets to the checksum counter this verdict names, if any.
    fn count(&self, stats: &mut RxQueueStats, n: u64) {
        match self.counter {
            CsumCounter::Good => add(&mut stats.csum_good, n),
            CsumCounter::Bad => add(&mut stats.csum_bad, n),
            CsumCounter::Unchecked => add(&mut stats.csum_unchecked, n),
            CsumCounter::Nothing => {}
        }
    }
}

/// The last status pattern seen on a queue and its verdict.
#[derive(Clone, Copy, Debug)]
pub(crate) struct RxClassCache {
    key: u32,
    class: RxClass,
    /// Packets classified with the cached verdict whose checksum counter
    /// is not yet in the stats: one increment per packet instead of a
    /// dispatch on the verdict; added on a verdict change and by
    /// [`RxClassCache::flush`] (at the end of every poll, so the stats are
    /// exact whenever anyone else can read them).
    pending: u64,
}

impl RxClassCache {
    /// An empty cache (the first completion decodes).
    pub(crate) const fn new() -> Self {
        RxClassCache {
            key: NO_KEY,
            class: RxClass {
                csum: RxChecksum::NotChecked,
                hash_type: RssHashType::None,
                l3: L3Proto::Unknown,
                l4: L4Proto::Unknown,
                counter: CsumCounter::Nothing,
            },
            pending: 0,
        }
    }

    /// The verdict for a completion status word; the packet's checksum
    /// counter is owed to `stats` until the verdict changes or
    /// [`RxClassCache::flush`].
    #[inline(always)]
    pub(crate) fn classify(&mut self, status: u32, stats: &mut RxQueueStats) -> RxClass {
        let key = status & CLASS_BITS;
        if key != self.key {
            self.refill(key, stats);
        }
        self.pending = self.pending.wrapping_add(1);
        self.class
    }

    /// Add the packets owed under the cached verdict to `stats`.
    #[inline]
    pub(crate) fn flush(&mut self, stats: &mut RxQueueStats) {
        if self.pending != 0 {
            self.class.count(stats, self.pending);
            self.pending = 0;
        }
    }

    #[inline(never)]
    fn refill(&mut self, key: u32, stats: &mut RxQueueStats) {
        self.flush(stats);
        self.class = RxClass::decode(key);
        self.key = key;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The cache answers exactly what a fresh decode does, whatever order
    /// the patterns come in, and for bits outside the pattern too; after a
    /// flush the checksum counters are exactly one per packet.
    #[test]
    fn cache_matches_decode() {
        let mut cache = RxClassCache::new();
        let mut stats = RxQueueStats::default();
        let mut want = RxQueueStats::default();
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
            let fresh = RxClass::decode(status);
            fresh.count(&mut want, 1);
            assert_eq!(cache.classify(status, &mut stats), fresh, "{status:#x}");
        }
        cache.flush(&mut stats);
        assert_eq!(stats.csum_good, want.csum_good);
        assert_eq!(stats.csum_bad, want.csum_bad);
        assert_eq!(stats.csum_unchecked, want.csum_unchecked);
        assert_ne!(want.csum_good, 0);
    }
}
