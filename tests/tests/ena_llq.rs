//! LLQ ("push mode", ena.md §5.8): with the model's BAR 2 present the
//! driver negotiates device placement for TX, writes whole entry lines into
//! device memory with the packet header inline, and counts the SQ tail in
//! lines. Checked here: the negotiated geometry (128-B default, 256-B large
//! LLQ when asked or recommended), traffic both ways with checksum offload
//! and TSO, the header bytes found in BAR 2 right after the two descriptor
//! slots, the TX burst limit and meta-caching accel flags, and every
//! documented fallback to host placement with AWS's log lines.

mod common;

use cloudnic_common::nic::{NetDevice, QueueConfig, RxChecksum};
use cloudnic_common::{ConfigError, Error, ResetReason};
use cloudnic_ena::defs::io::{LlqAccelFlags, LlqEntrySize, LlqHeaderLocation};
use cloudnic_ena::defs::pci::MEM_BAR;
use cloudnic_ena::io::llq::LlqConfig;
use cloudnic_models::ena::{AdminFilter, EnaFault, EnaModelConfig};
use cloudnic_models::net::{self, pattern, CsumMode, FrameBuilder};
use cloudnic_models::Device;
use cloudnic_tests::testbed::{BackToBack, EnaNode, NodeOptions};

use common::*;

/// LLQ feature id (ena.md §3.5).
const FEATURE_LLQ: u8 = 4;
/// SET_FEATURE opcode (ena.md §3.5).
const OPCODE_SET_FEATURE: u8 = 9;
/// Bytes of descriptors in front of the inline header in an entry's first
/// line (2 descriptors × 16 B, ena.md §5.8 driver default).
const HEADER_OFFSET_IN_LINE: usize = 32;

const FALLBACK_NOT_SUPPORTED: &str = "LLQ is not supported Fallback to host mode policy.";
const FALLBACK_CONFIG_FAILED: &str =
    "Failed to configure the device mode. Fallback to host mode policy.";
const FALLBACK_NO_BAR: &str = "ENA device does not expose LLQ bar. Fallback to host mode policy.";

/// Default node options with the model's BAR 2 (1 MiB) present.
fn llq_node(name: &str) -> NodeOptions {
    let mut o = NodeOptions::new(name);
    o.model.bar2_size = EnaModelConfig::default().bar2_size;
    o
}

fn llq_pair() -> BackToBack {
    BackToBack::with(llq_node("eth0"), llq_node("eth1"))
}

fn llq_of(node: &mut EnaNode) -> Option<LlqConfig> {
    node.dev().negotiated().llq
}

/// Linux's default LLQ geometry (ena.md §5.8): 128-B entries, inline
/// header after 2 descriptors, multiple descriptors per entry.
const DEFAULT_LLQ: LlqConfig = LlqConfig {
    entry_size: 128,
    descs_before_header: 2,
    descs_per_entry: 8,
    max_header_size: 96,
    burst_entries: 0,
    disable_meta_caching: false,
};

/// Offsets in BAR 2 where `needle` occurs.
fn find_in_bar2(node: &EnaNode, needle: &[u8]) -> Vec<usize> {
    let size = node.model.borrow().config().bar2_size as usize;
    let mut mem = vec![0u8; size];
    let mut m = node.model.borrow_mut();
    for off in (0..size).step_by(8) {
        mem[off..off + 8].copy_from_slice(&m.mmio_read(MEM_BAR, off as u64, 8).to_le_bytes());
    }
    mem.windows(needle.len())
        .enumerate()
        .filter(|(_, w)| *w == needle)
        .map(|(i, _)| i)
        .collect()
}

/// Frames that exercise the push path: shorter than, equal to and longer
/// than the pushed header, up to a full 1500-byte MTU frame.
fn push_sizes(seed: u16) -> Vec<Vec<u8>> {
    [18usize, 40, 54, 55, 100, 209, 1000, 1472]
        .iter()
        .enumerate()
        .map(|(i, &len)| udp_frames(seed.wrapping_add(i as u16), 1, len).remove(0))
        .collect()
}

/// Checksum-offload frames of every L3/L4 kind with partial checksums.
fn partial_csum_frames() -> Vec<Vec<u8>> {
    let v6a = [0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1];
    let v6b = [0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2];
    let mut out = Vec::new();
    for i in 0..4u16 {
        let p = pattern(300 + usize::from(i) * 77, i as u8);
        out.push(
            FrameBuilder::udp4([10, 0, 0, 1], [10, 0, 0, 2], 100 + i, 53)
                .payload(&p)
                .csum(CsumMode::Partial)
                .build(),
        );
        out.push(
            FrameBuilder::tcp4([10, 0, 0, 1], [10, 0, 0, 2], 200 + i, 80)
                .payload(&p)
                .csum(CsumMode::Partial)
                .build(),
        );
        out.push(
            FrameBuilder::udp6(v6a, v6b, 300 + i, 53)
                .payload(&p)
                .csum(CsumMode::Partial)
                .build(),
        );
        out.push(
            FrameBuilder::tcp6(v6a, v6b, 400 + i, 80)
                .payload(&p)
                .csum(CsumMode::Partial)
                .build(),
        );
    }
    out
}

/// Plain, checksum-offload and TSO (IPv4 and IPv6) traffic from `from`.
fn full_traffic(t: &mut BackToBack, from: char) {
    let nq = t.node(from).dev().queue_config().num_queues;
    let plain = push_sizes(if from == 'a' { 10 } else { 20 });
    let got = t.transfer(from, 0, &plain, false, 0);
    assert_same_frames(&got, &plain);

    let csum = partial_csum_frames();
    let got = t.transfer(from, 1 % nq, &csum, true, 0);
    assert_eq!(got.len(), csum.len());
    for g in &got {
        assert_eq!(g.csum, RxChecksum::Good);
        let p = net::parse(&g.frame).unwrap();
        assert_eq!(net::l4_csum_ok(&g.frame, &p), Some(true));
    }

    let v6a = [0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xa];
    let v6b = [0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xb];
    let payload = pattern(60_000, 3);
    for b in [
        FrameBuilder::tcp4([10, 0, 0, 1], [10, 0, 0, 2], 40000, 80),
        FrameBuilder::tcp6(v6a, v6b, 40001, 80),
    ] {
        let frame = b
            .macs(MAC_A, MAC_B)
            .seq(7)
            .payload(&payload)
            .csum(CsumMode::Partial)
            .build();
        let got = t.transfer(from, 2 % nq, &[frame], true, 1440);
        assert_eq!(got.len(), 60_000usize.div_ceil(1440));
        let mut joined = Vec::new();
        for g in &got {
            assert_eq!(g.csum, RxChecksum::Good);
            let p = net::parse(&g.frame).unwrap();
            joined.extend_from_slice(&g.frame[p.payload_offset()..]);
        }
        assert_eq!(joined, payload);
    }
}

/// The sending device saw well-formed LLQ lines only.
fn assert_clean_llq_tx(node: &EnaNode) {
    let c = node.model.borrow().counters().clone();
    assert_eq!(c.tx_desc_errors, 0, "malformed LLQ descriptors");
    assert_eq!(
        c.tx_meta_mismatch, 0,
        "offload request disagrees with the frame"
    );
    assert_eq!(c.tx_missing_meta, 0);
    assert_eq!(c.llq_burst_exceeded, 0);
    assert_eq!(c.tx_dropped, 0);
}

#[test]
fn llq_is_negotiated_with_the_linux_default_geometry() {
    let mut t = llq_pair();
    for side in ['a', 'b'] {
        let n = t.node(side);
        assert_eq!(llq_of(n), Some(DEFAULT_LLQ));
        assert!(
            !n.log().contains("Fallback to host mode policy"),
            "{:?}",
            n.log().lines()
        );
        assert_eq!(
            n.dev().queue_config().tx_ring_size,
            1024,
            "min(TX CQ depth, max LLQ depth)"
        );
        assert_eq!(n.dev().info().max_tx_ring_size, 1024);
    }
    t.teardown_and_check();
}

#[test]
fn llq_traffic_both_ways_with_checksum_offload_and_tso() {
    let mut t = llq_pair();
    full_traffic(&mut t, 'a');
    full_traffic(&mut t, 'b');
    assert_clean_llq_tx(&t.a);
    assert_clean_llq_tx(&t.b);
    t.assert_traffic_both_ways(8);
    t.teardown_and_check();
}

#[test]
fn llq_pushes_the_header_inline_after_two_descriptors() {
    let mut t = llq_pair();
    let frame = FrameBuilder::udp4([10, 9, 8, 7], [10, 6, 5, 4], 0xBEEF, 0xCAFE)
        .macs(MAC_A, MAC_B)
        .payload(&pattern(700, 0x5A))
        .build();
    let got = t.transfer('a', 3, std::slice::from_ref(&frame), false, 0);
    assert_same_frames(&got, std::slice::from_ref(&frame));
    // The first 96 bytes (the most a 128-B entry carries) sit in device
    // memory at byte 32 of an entry line.
    let at = find_in_bar2(&t.a, &frame[..96]);
    assert_eq!(at.len(), 1, "header pushed exactly once");
    assert_eq!(at[0] % 128, HEADER_OFFSET_IN_LINE);
    // The 97th byte onwards went by DMA, not into the line.
    assert!(
        find_in_bar2(&t.a, &frame[..97]).is_empty(),
        "only 96 bytes fit inline"
    );
    t.teardown_and_check();
}

#[test]
fn large_llq_when_the_driver_asks_for_it() {
    let mut a = llq_node("eth0");
    a.driver.large_llq = true;
    let mut t = BackToBack::with(a, llq_node("eth1"));
    let want = LlqConfig {
        entry_size: 256,
        descs_per_entry: 16,
        max_header_size: 224,
        ..DEFAULT_LLQ
    };
    assert_eq!(llq_of(&mut t.a), Some(want));
    assert_eq!(llq_of(&mut t.b), Some(DEFAULT_LLQ));
    // TX ring limited to the device's wide-LLQ depth (ena.md §5.8).
    let cfg = t.a.dev().queue_config();
    assert_eq!(cfg.tx_ring_size, 512);
    assert_eq!(t.a.dev().info().max_tx_ring_size, 512);
    let e = reconfigure(
        &mut t.a,
        QueueConfig {
            tx_ring_size: 1024,
            ..cfg
        },
    )
    .unwrap_err();
    assert_eq!(
        e,
        Error::InvalidConfig(ConfigError::RingSizeOutOfRange {
            requested: 1024,
            min: 256,
            max: 512
        })
    );
    full_traffic(&mut t, 'a');
    full_traffic(&mut t, 'b');
    assert_clean_llq_tx(&t.a);
    // A 224-byte header (IPv4 and TCP options) pushed at byte 32 of a 256-B line.
    let frame = FrameBuilder::tcp4([10, 1, 1, 1], [10, 2, 2, 2], 0x1357, 0x2468)
        .macs(MAC_A, MAC_B)
        .ipv4_options(&[1; 40])
        .tcp_options(&[1; 40])
        .payload(&pattern(900, 0x77))
        .build();
    let got = t.transfer('a', 0, std::slice::from_ref(&frame), false, 0);
    assert_same_frames(&got, std::slice::from_ref(&frame));
    let at = find_in_bar2(&t.a, &frame[..224]);
    assert_eq!(at.len(), 1);
    assert_eq!(at[0] % 256, HEADER_OFFSET_IN_LINE);
    t.teardown_and_check();
}

#[test]
fn large_llq_when_the_device_recommends_it() {
    let mut b = llq_node("eth1");
    b.model.llq.recommended_entry = LlqEntrySize::B256;
    let mut t = BackToBack::with(llq_node("eth0"), b);
    assert_eq!(llq_of(&mut t.b).map(|c| c.entry_size), Some(256));
    assert_eq!(t.b.dev().queue_config().tx_ring_size, 512);
    full_traffic(&mut t, 'b');
    assert_clean_llq_tx(&t.b);
    t.teardown_and_check();
}

#[test]
fn large_llq_request_falls_back_to_128_byte_entries_the_device_offers() {
    let mut b = llq_node("eth1");
    b.model.llq.entry_size = LlqEntrySize::B128;
    b.driver.large_llq = true;
    let mut t = BackToBack::with(llq_node("eth0"), b);
    assert_eq!(llq_of(&mut t.b), Some(DEFAULT_LLQ));
    assert_eq!(t.b.dev().queue_config().tx_ring_size, 1024);
    full_traffic(&mut t, 'b');
    t.teardown_and_check();
}

/// Remove node b's driver, let `prepare` change the model, probe and open
/// again with `opts`' driver configuration. Returns nothing; the log of
/// the new probe is in `t.b.log()`.
fn reprobe_b(t: &mut BackToBack, opts: &NodeOptions, prepare: impl FnOnce(&mut EnaNode)) {
    t.b.remove();
    t.b.log().clear();
    prepare(&mut t.b);
    t.b.probe(opts.driver).expect("probe");
    t.b.open().expect("open");
    t.settle();
}

#[test]
fn llq_refused_by_the_device_falls_back_to_host_mode_with_aws_log_lines() {
    let opts = llq_node("eth1");
    let mut t = BackToBack::with(llq_node("eth0"), opts.clone());
    reprobe_b(&mut t, &opts, |n| {
        n.model.borrow_mut().inject(EnaFault::FeatureRefused {
            feature: FEATURE_LLQ,
            hide: false,
        })
    });
    assert_eq!(llq_of(&mut t.b), None);
    assert!(
        t.b.log()
            .contains(&format!("Feature {FEATURE_LLQ} isn't supported")),
        "{:?}",
        t.b.log().lines()
    );
    assert!(t.b.log().contains(FALLBACK_NOT_SUPPORTED));
    full_traffic(&mut t, 'b');
    full_traffic(&mut t, 'a');
    t.teardown_and_check();
}

#[test]
fn llq_absent_from_supported_features_falls_back_quietly() {
    let mut b = llq_node("eth1");
    b.model.supported_features &= !(1 << FEATURE_LLQ);
    let mut t = BackToBack::with(llq_node("eth0"), b);
    assert_eq!(llq_of(&mut t.b), None);
    assert!(t.b.log().contains(FALLBACK_NOT_SUPPORTED));
    // The driver never asks for a feature the device does not list.
    assert!(!t
        .b
        .log()
        .contains(&format!("Feature {FEATURE_LLQ} isn't supported")));
    full_traffic(&mut t, 'b');
    t.teardown_and_check();
}

#[test]
fn llq_set_feature_failure_falls_back_to_host_mode() {
    let opts = llq_node("eth1");
    let mut t = BackToBack::with(llq_node("eth0"), opts.clone());
    reprobe_b(&mut t, &opts, |n| {
        n.model.borrow_mut().inject(EnaFault::AdminStatus {
            filter: AdminFilter::feature(OPCODE_SET_FEATURE, FEATURE_LLQ),
            status: 5,
            count: 1,
        })
    });
    assert_eq!(llq_of(&mut t.b), None);
    assert!(
        t.b.log().contains(FALLBACK_CONFIG_FAILED),
        "{:?}",
        t.b.log().lines()
    );
    full_traffic(&mut t, 'b');
    t.teardown_and_check();
}

#[test]
fn llq_header_location_mismatch_falls_back_to_host_mode() {
    let mut b = llq_node("eth1");
    b.model.llq.header_location = LlqHeaderLocation::SEPARATE_RING;
    let mut t = BackToBack::with(llq_node("eth0"), b);
    assert_eq!(llq_of(&mut t.b), None);
    assert!(
        t.b.log()
            .contains("Invalid header location control, supported: 0x2"),
        "{:?}",
        t.b.log().lines()
    );
    assert!(t.b.log().contains(FALLBACK_CONFIG_FAILED));
    full_traffic(&mut t, 'b');
    t.teardown_and_check();
}

#[test]
fn without_bar2_the_driver_uses_host_placement() {
    let mut t = BackToBack::new();
    assert_eq!(llq_of(&mut t.a), None);
    assert!(t.a.log().contains(FALLBACK_NO_BAR));
    full_traffic(&mut t, 'a');
    t.teardown_and_check();
}

#[test]
fn llq_tx_burst_limit_rings_the_doorbell_early() {
    let mut b = llq_node("eth1");
    b.model.llq.accel = LlqAccelFlags::LIMIT_TX_BURST;
    b.model.llq.max_tx_burst_bytes = 1024; // 8 lines of 128 B per doorbell
    let mut t = BackToBack::with(llq_node("eth0"), b);
    assert_eq!(llq_of(&mut t.b).map(|c| c.burst_entries), Some(8));
    let frames = udp_frames(40, 100, 300);
    let doorbells = t.b.model.borrow().counters().tx_doorbells;
    let got = t.transfer('b', 0, &frames, false, 0);
    assert_same_frames(&got, &frames);
    // One line per packet: 100 lines need at least 13 doorbells of ≤ 8.
    let rung = t.b.model.borrow().counters().tx_doorbells - doorbells;
    assert!(rung >= 13, "{rung} doorbells");
    assert_clean_llq_tx(&t.b);
    full_traffic(&mut t, 'b');
    assert_clean_llq_tx(&t.b);
    t.teardown_and_check();
}

#[test]
fn llq_with_meta_caching_disabled_sends_meta_on_every_packet() {
    let mut b = llq_node("eth1");
    b.model.llq.accel = LlqAccelFlags::DISABLE_META_CACHING;
    let mut t = BackToBack::with(llq_node("eth0"), b);
    assert_eq!(llq_of(&mut t.b).map(|c| c.disable_meta_caching), Some(true));
    full_traffic(&mut t, 'b');
    assert_clean_llq_tx(&t.b);
    t.teardown_and_check();
}

#[test]
fn llq_is_renegotiated_after_a_reset() {
    let mut t = llq_pair();
    reset(&mut t.b, ResetReason::UserTrigger);
    assert_eq!(llq_of(&mut t.b), Some(DEFAULT_LLQ));
    full_traffic(&mut t, 'b');
    assert_clean_llq_tx(&t.b);
    t.teardown_and_check();
}

#[test]
fn llq_queue_count_is_bounded_by_max_llq_num() {
    let mut b = llq_node("eth1");
    b.model.llq.max_llq_num = 2;
    let mut t = BackToBack::with(llq_node("eth0"), b);
    assert!(llq_of(&mut t.b).is_some());
    assert_eq!(
        t.b.dev().info().max_queues,
        2,
        "ena.md §6.2: TX SQ limit is max_llq_num with LLQ"
    );
    assert_eq!(t.b.dev().queue_config().num_queues, 2);
    full_traffic(&mut t, 'b');
    t.teardown_and_check();
}

#[test]
fn llq_queues_are_recreated_by_reconfigure_under_traffic() {
    let mut t = llq_pair();
    let cfg = t.b.dev().queue_config();
    for want in [
        QueueConfig {
            num_queues: 2,
            tx_ring_size: 256,
            ..cfg
        },
        QueueConfig {
            num_queues: 4,
            tx_ring_size: 1024,
            ..cfg
        },
    ] {
        for f in udp_frames(9, 30, 500) {
            t.b.send(0, &f, false, 0, 4096).unwrap();
        }
        t.b.kick(0);
        reconfigure(&mut t.b, want).unwrap();
        t.settle();
        assert_eq!(
            t.a.take_received().len(),
            30,
            "pushed before the change, all sent"
        );
        assert_eq!(t.b.dev().queue_config(), want);
        // LLQ ring of the new depth: depth − 1 single-line packets fit.
        assert_eq!(fill_tx_ring(&mut t.b, 1), want.tx_ring_size as usize - 1);
        t.settle();
        assert_eq!(t.a.take_received().len(), want.tx_ring_size as usize - 1);
        full_traffic(&mut t, 'b');
        assert_clean_llq_tx(&t.b);
    }
    t.teardown_and_check();
}
