//! RX steering (ena.md §6.7, §3.6): flow-steering rules first, then RSS —
//! the programmed hash function (Toeplitz from `cloudnic_common::rss`, or
//! CRC32) over the fields selected for the packet's protocol slot, with the
//! optional L3/L4 input sorting, looked up in the indirection table of
//! device CQ indices.
//!
//! Hash input order: L2 SA, L2 DA, L3 SA, L3 DA, L4 SP, L4 DP (network
//! order), each only if selected — the standard Toeplitz tuple order. With
//! sorting enabled, addresses (ports) are swapped when DA < SA (DP < SP), so
//! both directions of a flow hash alike. The hash-function init value is
//! applied to CRC32 only (its meaning for Toeplitz is unpublished).

use cloudnic_common::rss::{queue_for_hash, toeplitz_hash};
use cloudnic_ena::defs::admin::{
    flow_type, rss_proto, RssFields, RSS_HASH_FUNCTION_CRC32, RSS_INPUT_L3_SORT, RSS_INPUT_L4_SORT,
};

use super::EnaModel;
use crate::mem::GuestMemory;
use crate::net::parse::{Parsed, IPPROTO_TCP, IPPROTO_UDP, L3};

/// Longest hash input: MACs (12) + IPv6 addresses (32) + ports (4).
const MAX_INPUT: usize = 48;

/// Protocol slot of a parsed frame (ena.md §3.6 "RSS protocol slots").
fn proto_slot(p: &Parsed) -> usize {
    let l4 = p.l4.map(|l| l.proto);
    match p.l3 {
        L3::V4 { fragment: true, .. } => rss_proto::IP4_FRAG,
        L3::V4 { .. } => match l4 {
            Some(IPPROTO_TCP) => rss_proto::TCP4,
            Some(IPPROTO_UDP) => rss_proto::UDP4,
            _ => rss_proto::IP4,
        },
        L3::V6 {
            has_ext: true,
            next_header,
            ..
        } => {
            if next_header == IPPROTO_TCP {
                rss_proto::TCP6_EX
            } else {
                rss_proto::IP6_EX
            }
        }
        L3::V6 { .. } => match l4 {
            Some(IPPROTO_TCP) => rss_proto::TCP6,
            Some(IPPROTO_UDP) => rss_proto::UDP6,
            _ => rss_proto::IP6,
        },
        L3::Other => rss_proto::NOT_IP,
    }
}

/// Reflected CRC32 (polynomial 0xEDB88320) seeded with `init`, no final xor.
fn crc32(init: u32, data: &[u8]) -> u32 {
    let mut crc = init;
    for &b in data {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 != 0 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    crc
}

fn push(buf: &mut [u8; MAX_INPUT], len: &mut usize, bytes: &[u8]) {
    let end = (*len + bytes.len()).min(MAX_INPUT);
    buf[*len..end].copy_from_slice(&bytes[..end - *len]);
    *len = end;
}

impl<M: GuestMemory + ?Sized> EnaModel<M> {
    /// The RSS hash of a frame under the programmed function and fields.
    pub(crate) fn rss_hash(&self, p: Option<&Parsed>) -> u32 {
        let Some(p) = p else { return 0 };
        let fields = RssFields::from_bits_truncate(self.feat.rss_fields[proto_slot(p)]);
        let sort = self.feat.rss_sort;
        let mut buf = [0u8; MAX_INPUT];
        let mut len = 0usize;
        let (mut sa, mut da) = (p.src_mac, p.dst_mac);
        if da < sa && sort & RSS_INPUT_L3_SORT != 0 {
            core::mem::swap(&mut sa, &mut da);
        }
        if fields.contains(RssFields::L2_SA) {
            push(&mut buf, &mut len, &sa);
        }
        if fields.contains(RssFields::L2_DA) {
            push(&mut buf, &mut len, &da);
        }
        let mut addrs = [[0u8; 16]; 2];
        let alen = match p.l3 {
            L3::V4 { src, dst, .. } => {
                addrs[0][..4].copy_from_slice(&src);
                addrs[1][..4].copy_from_slice(&dst);
                4
            }
            L3::V6 { src, dst, .. } => {
                addrs = [src, dst];
                16
            }
            L3::Other => 0,
        };
        if alen > 0 {
            if sort & RSS_INPUT_L3_SORT != 0 && addrs[1][..alen] < addrs[0][..alen] {
                addrs.swap(0, 1);
            }
            if fields.contains(RssFields::L3_SA) {
                push(&mut buf, &mut len, &addrs[0][..alen]);
            }
            if fields.contains(RssFields::L3_DA) {
                push(&mut buf, &mut len, &addrs[1][..alen]);
            }
        }
        if let Some(l4) = p.l4 {
            let (mut sp, mut dp) = (l4.src_port, l4.dst_port);
            if sort & RSS_INPUT_L4_SORT != 0 && dp < sp {
                core::mem::swap(&mut sp, &mut dp);
            }
            if fields.contains(RssFields::L4_SP) {
                push(&mut buf, &mut len, &sp.to_be_bytes());
            }
            if fields.contains(RssFields::L4_DP) {
                push(&mut buf, &mut len, &dp.to_be_bytes());
            }
        }
        if self.feat.rss_func == RSS_HASH_FUNCTION_CRC32 {
            crc32(self.feat.rss_init, &buf[..len])
        } else {
            toeplitz_hash(&self.feat.rss_key, &buf[..len])
        }
    }

    /// The indirection table in force, as device CQ indices: the programmed
    /// one, or the default spread over RX queues in creation order.
    pub(crate) fn effective_rss_table(&self) -> Vec<u16> {
        if !self.feat.rss_table.is_empty() {
            return self.feat.rss_table.clone();
        }
        let n = 1usize << self.feat.rss_table_log2.min(16);
        let rx = &self.io.rx_order;
        (0..n)
            .map(|i| {
                rx.get(i % rx.len().max(1))
                    .and_then(|&sq| self.io.sq(sq))
                    .map_or(0, |s| s.cq)
            })
            .collect()
    }

    /// RX SQ for a frame and the hash to report; `None` when no RX queue exists.
    pub(crate) fn steer(&mut self, p: Option<&Parsed>) -> Option<(u16, u32)> {
        let first = *self.io.rx_order.first()?;
        let hash = self.rss_hash(p);
        if let Some(sq) = p.and_then(|p| self.flow_rule_queue(p)) {
            return Some((sq, hash));
        }
        if self.feat.rss_table.is_empty() {
            let rx = &self.io.rx_order;
            let i = (hash as usize % (1usize << self.feat.rss_table_log2.min(16))) % rx.len();
            return Some((rx[i], hash));
        }
        let cq = queue_for_hash(&self.feat.rss_table, hash).unwrap_or(0);
        let sq = self
            .io
            .cqs
            .get(usize::from(cq))
            .and_then(Option::as_ref)
            .and_then(|c| c.sq);
        match sq.filter(|&s| self.io.rx_order.contains(&s)) {
            Some(s) => Some((s, hash)),
            None => {
                self.counters.rss_unmapped += 1;
                Some((first, hash))
            }
        }
    }

    /// First flow-steering rule matching the frame: its RX queue (an index
    /// into the RX queues in creation order).
    fn flow_rule_queue(&self, p: &Parsed) -> Option<u16> {
        if self.feat.flow_rules.iter().all(Option::is_none) {
            return None;
        }
        let l4 = p.l4.map(|l| l.proto);
        let (src, dst, tos) = match p.l3 {
            L3::V4 { src, dst, .. } => {
                let mut s = [0u8; 16];
                let mut d = [0u8; 16];
                s[..4].copy_from_slice(&src);
                d[..4].copy_from_slice(&dst);
                (s, d, 0u8)
            }
            L3::V6 { src, dst, .. } => (src, dst, 0u8),
            L3::Other => return None,
        };
        let (sp, dp) = p.l4.map_or((0, 0), |l| (l.src_port, l.dst_port));
        for r in self.feat.flow_rules.iter().flatten() {
            let type_ok = match r.flow_type {
                flow_type::IPV4 => p.is_ipv4(),
                flow_type::IPV6 => p.is_ipv6(),
                flow_type::TCP4 => p.is_ipv4() && l4 == Some(IPPROTO_TCP),
                flow_type::TCP6 => p.is_ipv6() && l4 == Some(IPPROTO_TCP),
                flow_type::UDP4 => p.is_ipv4() && l4 == Some(IPPROTO_UDP),
                flow_type::UDP6 => p.is_ipv6() && l4 == Some(IPPROTO_UDP),
                _ => false,
            };
            let masked = |a: &[u8; 16], v: &[u8; 16], m: &[u8; 16]| {
                (0..16).all(|i| a[i] & m[i] == v[i] & m[i])
            };
            let k = &r.rule;
            let hit = type_ok
                && masked(&src, &k.src_ip, &k.src_ip_mask)
                && masked(&dst, &k.dst_ip, &k.dst_ip_mask)
                && sp & k.src_port_mask == k.src_port & k.src_port_mask
                && dp & k.dst_port_mask == k.dst_port & k.dst_port_mask
                && tos & k.tos_mask == k.tos & k.tos_mask;
            if hit {
                return self.io.rx_order.get(usize::from(r.rx_queue)).copied();
            }
        }
        None
    }
}
