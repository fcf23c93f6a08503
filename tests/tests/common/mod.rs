//! Helpers shared by the RSS, configuration, LLQ and reset-restore tests:
//! deterministic flow generators, the RSS hash the device is expected to
//! report (computed independently with `cloudnic_common::rss`), the
//! shim-side bookkeeping around `reconfigure`, and a both-ways traffic check.
//!
//! Each integration test binary compiles this module separately and uses a
//! different subset of it.
#![allow(dead_code)]

use std::collections::BTreeSet;

use cloudnic_common::nic::{NetDevice, QueueConfig, Released, RssHashType, TxError};
use cloudnic_common::rss::{queue_for_hash, RssInput, RSS_KEY_MAX_LEN};
use cloudnic_common::Error;
use cloudnic_models::ledger::BufKind;
use cloudnic_models::net::{self, CsumMode, FrameBuilder, L3};
use cloudnic_tests::testbed::{histogram, BackToBack, EnaNode, NodeOptions, Received};

/// MAC of node a.
pub const MAC_A: [u8; 6] = [0x02, 0, 0, 0, 0, 0xa];
/// MAC of node b.
pub const MAC_B: [u8; 6] = [0x02, 0, 0, 0, 0, 0xb];

/// IPv4 protocol number used for "IP but neither TCP nor UDP" frames (ICMP).
const IPPROTO_ICMP: u8 = 1;
/// IPv6 next header "no next header" (RFC 8200 §4.7): plain IPv6, no L4.
const IPV6_NO_NEXT_HEADER: u8 = 59;
/// Offset of the IPv4 protocol byte / IPv6 next-header byte in the L3 header.
const IPV4_PROTO_OFFSET: usize = 9;
const IPV6_NEXT_HEADER_OFFSET: usize = 6;

/// A small deterministic generator (xorshift32): reproducible "random" flows.
pub struct Rng(u32);

impl Rng {
    /// Seeded generator (a zero seed is replaced).
    pub fn new(seed: u32) -> Self {
        Rng(seed.max(1))
    }
    /// Next 32-bit value.
    pub fn next_u32(&mut self) -> u32 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        self.0 = x;
        x
    }
    /// Next 16-bit value.
    pub fn next_u16(&mut self) -> u16 {
        (self.next_u32() >> 8) as u16
    }
    /// `N` random bytes.
    pub fn bytes<const N: usize>(&mut self) -> [u8; N] {
        let mut out = [0u8; N];
        for b in out.iter_mut() {
            *b = (self.next_u32() >> 11) as u8;
        }
        out
    }
}

/// Transport and network protocol of a generated flow.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FlowKind {
    /// TCP over IPv4.
    Tcp4,
    /// UDP over IPv4.
    Udp4,
    /// TCP over IPv6.
    Tcp6,
    /// UDP over IPv6.
    Udp6,
}

/// All four kinds.
pub const FLOW_KINDS: [FlowKind; 4] = [
    FlowKind::Tcp4,
    FlowKind::Udp4,
    FlowKind::Tcp6,
    FlowKind::Udp6,
];

/// One frame of a random flow of `kind` (addresses and ports in both
/// orders, so the device's input sorting matters), with correct checksums.
pub fn random_flow(kind: FlowKind, rng: &mut Rng, payload: usize) -> Vec<u8> {
    let (sp, dp) = (rng.next_u16(), rng.next_u16());
    let b = match kind {
        FlowKind::Tcp4 | FlowKind::Udp4 => {
            let (s, d) = (rng.bytes::<4>(), rng.bytes::<4>());
            if kind == FlowKind::Tcp4 {
                FrameBuilder::tcp4(s, d, sp, dp)
            } else {
                FrameBuilder::udp4(s, d, sp, dp)
            }
        }
        FlowKind::Tcp6 | FlowKind::Udp6 => {
            let (s, d) = (rng.bytes::<16>(), rng.bytes::<16>());
            if kind == FlowKind::Tcp6 {
                FrameBuilder::tcp6(s, d, sp, dp)
            } else {
                FrameBuilder::udp6(s, d, sp, dp)
            }
        }
    };
    b.macs(MAC_A, MAC_B)
        .payload(&net::pattern(payload, sp as u8))
        .csum(CsumMode::Full)
        .build()
}

/// `per_kind` random flows of every kind, one frame each.
pub fn mixed_flows(seed: u32, per_kind: usize) -> Vec<Vec<u8>> {
    let mut rng = Rng::new(seed);
    let mut out = Vec::with_capacity(per_kind * FLOW_KINDS.len());
    for i in 0..per_kind {
        for kind in FLOW_KINDS {
            out.push(random_flow(kind, &mut rng, 16 + i % 48));
        }
    }
    out
}

/// UDP/IPv4 frames of distinct flows, intact on the wire (no offload needed).
pub fn udp_frames(seed: u16, n: usize, payload: usize) -> Vec<Vec<u8>> {
    (0..n)
        .map(|i| {
            let sport = seed.wrapping_mul(97).wrapping_add(i as u16);
            FrameBuilder::udp4([10, 0, 0, 1], [10, 0, 0, 2], sport, 5000 + (i as u16 % 13))
                .macs(MAC_A, MAC_B)
                .payload(&net::pattern(payload, i as u8))
                .csum(CsumMode::Full)
                .build()
        })
        .collect()
}

/// An IPv4 frame that is IP but not TCP/UDP (ICMP protocol number), so the
/// device hashes it over the addresses only (RSS slot IPv4).
pub fn ip_only_v4(src: [u8; 4], dst: [u8; 4]) -> Vec<u8> {
    let mut f = FrameBuilder::udp4(src, dst, 1, 2)
        .macs(MAC_A, MAC_B)
        .payload_len(24)
        .build();
    let p = net::parse(&f).expect("frame parses");
    f[p.l3_offset + IPV4_PROTO_OFFSET] = IPPROTO_ICMP;
    // Re-fill the header checksum for the changed protocol byte.
    f[p.l3_offset + net::parse::IPV4_CSUM_OFFSET..][..2].fill(0);
    let p = net::parse(&f).expect("frame parses");
    net::fill_ipv4_header_csum(&mut f, &p);
    f
}

/// An IPv6 frame without an upper-layer header (RSS slot IPv6).
pub fn ip_only_v6(src: [u8; 16], dst: [u8; 16]) -> Vec<u8> {
    let mut f = FrameBuilder::udp6(src, dst, 1, 2)
        .macs(MAC_A, MAC_B)
        .payload_len(24)
        .build();
    let p = net::parse(&f).expect("frame parses");
    f[p.l3_offset + IPV6_NEXT_HEADER_OFFSET] = IPV6_NO_NEXT_HEADER;
    f
}

/// The RSS hash ENA reports for `frame` under `key`, derived from the
/// configuration the driver programs (ena.md §6.7): Toeplitz; TCP/UDP over
/// IPv4/IPv6 hashed over source + destination address and port, other IP
/// over the addresses (IPv4 fragments too); L3 and L4 input sorting enabled, i.e. each
/// (source, destination) pair is put in ascending order first, so both
/// directions of a flow hash alike. The tuple is then laid out as Microsoft
/// specifies (addresses, then ports, network order) and hashed with
/// `cloudnic_common::rss::RssInput` — the same function whose unit tests
/// check Microsoft's published vectors.
pub fn ena_hash(frame: &[u8], key: &[u8]) -> (u32, RssHashType) {
    let p = net::parse(frame).expect("frame parses");
    let ports = p.l4.map(|l| {
        let (a, b) = (l.src_port, l.dst_port);
        if b < a {
            (b, a)
        } else {
            (a, b)
        }
    });
    let input = match p.l3 {
        // Fragments hash over the addresses only (slot IPv4-frag, §6.7).
        L3::V4 {
            src,
            dst,
            fragment: true,
            ..
        } => {
            let (s, d) = if dst < src { (dst, src) } else { (src, dst) };
            (RssInput::ipv4(s, d), RssHashType::L3)
        }
        L3::V4 {
            src,
            dst,
            fragment: false,
            ..
        } => {
            let (s, d) = if dst < src { (dst, src) } else { (src, dst) };
            match ports {
                Some((sp, dp)) => (RssInput::ipv4_ports(s, d, sp, dp), RssHashType::L4),
                None => (RssInput::ipv4(s, d), RssHashType::L3),
            }
        }
        L3::V6 {
            src,
            dst,
            has_ext: false,
            ..
        } => {
            let (s, d) = if dst < src { (dst, src) } else { (src, dst) };
            match ports {
                Some((sp, dp)) => (RssInput::ipv6_ports(s, d, sp, dp), RssHashType::L4),
                None => (RssInput::ipv6(s, d), RssHashType::L3),
            }
        }
        _ => panic!("ena_hash: only IPv4 and IPv6 without extension headers"),
    };
    (input.0.hash(key), input.1)
}

/// The driver's RSS key and indirection table (ethtool -x).
pub fn rss_of(node: &mut EnaNode) -> (Vec<u8>, Vec<u16>) {
    let dev = node.dev();
    let mut key = [0u8; RSS_KEY_MAX_LEN];
    let mut table = vec![0u16; dev.info().rss_table_size as usize];
    let (kl, tl) = dev.get_rss(&mut key, &mut table);
    table.truncate(tl);
    (key[..kl].to_vec(), table)
}

/// Every received frame carries the hash Toeplitz over `key` predicts and
/// arrived on the queue `table[hash mod len]` names (the low bits of the
/// hash for ENA's power-of-two tables).
pub fn assert_rss_mapping(got: &[Received], key: &[u8], table: &[u16]) {
    assert!(!got.is_empty(), "no frames received");
    for (i, g) in got.iter().enumerate() {
        let (hash, kind) = ena_hash(&g.frame, key);
        assert_eq!(
            g.hash, hash,
            "frame {i}: reported hash differs from Toeplitz over the programmed key"
        );
        assert_eq!(g.hash_type, kind, "frame {i}: hash type");
        let want = queue_for_hash(table, hash).expect("table not empty");
        assert_eq!(
            g.queue,
            want,
            "frame {i}: hash {hash:#010x} -> entry {} names queue {want}",
            hash as usize % table.len()
        );
    }
}

/// Frames per receive queue.
pub fn per_queue(got: &[Received]) -> std::collections::BTreeMap<u16, usize> {
    histogram(got.iter().map(|g| g.queue))
}

/// Give released tokens back to the host pool and tell the model's ledger,
/// as the fixture's (private) close path does: every buffer the device still
/// held whose token came back is released, so a buffer the driver never
/// returned still shows up as lost at teardown.
pub fn give_back_all(node: &mut EnaNode, released: Vec<Released>) {
    let mut tx = BTreeSet::new();
    let mut rx = BTreeSet::new();
    for r in released {
        let (set, tok, kind, seen) = match r {
            Released::Tx(t) => (&mut node.ledger.tx, t, "TX", &mut tx),
            Released::Rx(t) => (&mut node.ledger.rx, t, "RX", &mut rx),
        };
        if !set.remove(&tok) {
            node.ledger.violations.push(format!(
                "{kind} token {tok:#x} released but not outstanding"
            ));
        }
        seen.insert(tok);
        node.plat.arena().free(tok);
    }
    let mut model = node.model.borrow_mut();
    for e in model.ledger().lost() {
        let tokens = if e.key.kind == BufKind::Tx { &tx } else { &rx };
        // The device records a buffer by the first byte it reads, which lies
        // inside the token's buffer.
        let owner = tokens.range(..=e.addr).next_back();
        if owner.is_some_and(|t| e.addr - t < u64::from(u16::MAX)) {
            model
                .ledger_mut()
                .release(e.key.kind, e.key.queue, e.key.id);
        }
    }
}

/// `ethtool -L/-G`: reconfigure, account every released token, then refill
/// and re-arm the (new or restored) queues like the shim's open path.
pub fn reconfigure(node: &mut EnaNode, cfg: QueueConfig) -> Result<(), Error> {
    let mut released = Vec::new();
    let r = node.dev().reconfigure(cfg, &mut |x| released.push(x));
    give_back_all(node, released);
    if node.dev().is_open() {
        for q in 0..node.dev().queue_config().num_queues {
            node.refill(q);
            node.dev().unmask_queue_interrupt(q);
        }
    }
    r
}

/// Post minimal frames on queue `q` without a doorbell until the ring is
/// full; returns how many fit (then rings the doorbell).
pub fn fill_tx_ring(node: &mut EnaNode, q: u16) -> usize {
    let frames = udp_frames(q.wrapping_add(900), 4096, 18);
    let mut n = 0;
    for f in &frames {
        match node.send(q, f, false, 0, 4096) {
            Ok(()) => n += 1,
            Err(TxError::NoSpace) => break,
            Err(e) => panic!("tx_post: {e:?}"),
        }
    }
    node.kick(q);
    n
}

/// Run a reset with `reason` on `node` and check it completed.
pub fn reset(node: &mut EnaNode, reason: cloudnic_common::ResetReason) {
    if let Err(e) = node.try_reset(reason) {
        panic!(
            "reset {reason:?} failed: {e}; log: {:?}",
            node.log().lines()
        );
    }
    assert!(!node.dev().is_failed());
}

/// Frames arrive spread over queues: compare as multisets.
pub fn assert_same_frames(got: &[Received], sent: &[Vec<u8>]) {
    assert_eq!(got.len(), sent.len(), "frame count");
    let mut a: Vec<&Vec<u8>> = got.iter().map(|g| &g.frame).collect();
    let mut b: Vec<&Vec<u8>> = sent.iter().collect();
    a.sort();
    b.sort();
    for (i, (x, y)) in a.iter().zip(&b).enumerate() {
        assert!(
            x == y,
            "frame {i} differs: got {} bytes, sent {} bytes",
            x.len(),
            y.len()
        );
    }
}

/// 24 frames a→b on a's last queue and 24 b→a on b's last queue arrive intact.
pub fn assert_traffic_both_ways(t: &mut BackToBack) {
    for (from, seed) in [('a', 1u16), ('b', 2u16)] {
        let q = t.node(from).dev().queue_config().num_queues - 1;
        let frames = udp_frames(seed, 24, 200);
        let got = t.transfer(from, q, &frames, false, 0);
        assert_same_frames(&got, &frames);
    }
}

/// Default node options with `n` queue pairs allowed by the shim.
pub fn node_with_queues(name: &str, n: u16) -> NodeOptions {
    let mut o = NodeOptions::new(name);
    o.driver.max_queues = n;
    o
}
