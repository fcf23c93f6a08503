//! MANA traffic between two device models through the real driver:
//! checksum offload (IPv4/IPv6, TCP/UDP), TSO, jumbo MTU, several vPorts.

use cloudnic_common::nic::{NetDevice, RxChecksum};
use cloudnic_models::mana::ManaModelConfig;
use cloudnic_models::net::offload::{ipv4_header_csum_ok, l4_csum_ok};
use cloudnic_models::net::{parse, pattern, CsumMode, FrameBuilder};
use cloudnic_tests::testbed::mana::{ManaPair, NodeOptions};

const V6A: [u8; 16] = [0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1];
const V6B: [u8; 16] = [0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2];

/// Every received frame carries correct checksums and a "good" verdict.
fn all_csums_ok(got: &[cloudnic_tests::testbed::mana::Received]) {
    for g in got {
        let p = parse(&g.frame).expect("parses");
        assert_ne!(ipv4_header_csum_ok(&g.frame, &p), Some(false));
        assert_eq!(l4_csum_ok(&g.frame, &p), Some(true));
        assert_eq!(g.csum, RxChecksum::Good);
    }
}

#[test]
fn checksum_offload_fills_tcp_udp_over_ipv4_and_ipv6() {
    let mut t = ManaPair::new();
    let frames = vec![
        FrameBuilder::tcp4([10, 0, 0, 1], [10, 0, 0, 2], 4000, 80)
            .payload(&pattern(700, 1))
            .csum(CsumMode::Partial)
            .build(),
        FrameBuilder::udp4([10, 0, 0, 1], [10, 0, 0, 2], 4001, 53)
            .payload(&pattern(300, 2))
            .csum(CsumMode::Zero)
            .build(),
        FrameBuilder::tcp6(V6A, V6B, 4002, 443)
            .payload(&pattern(900, 3))
            .csum(CsumMode::Partial)
            .build(),
        FrameBuilder::udp6(V6A, V6B, 4003, 123)
            .payload(&pattern(64, 4))
            .csum(CsumMode::Partial)
            .build(),
    ];
    let got = t.transfer('a', 0, 1, &frames, true, 0);
    assert_eq!(got.len(), 4);
    all_csums_ok(&got);
    assert_eq!(t.a.stat(0, "tx_1_csum_partial"), Some(4));
    assert_eq!(
        t.b.stat(0, "rx_0_csum_good").unwrap_or(0)
            + t.b.stat(0, "rx_1_csum_good").unwrap_or(0)
            + t.b.stat(0, "rx_2_csum_good").unwrap_or(0)
            + t.b.stat(0, "rx_3_csum_good").unwrap_or(0),
        4
    );
    // A corrupted frame sent without offload is reported bad.
    let bad = FrameBuilder::udp4([10, 0, 0, 1], [10, 0, 0, 2], 1, 2)
        .payload(&[9; 40])
        .csum(CsumMode::BadL4)
        .build();
    let got = t.transfer('a', 0, 0, &[bad], false, 0);
    assert_eq!(got[0].csum, RxChecksum::Bad);
    assert_eq!(t.b.model.borrow().counters().rx_l4_csum_bad, 1);
    t.teardown_and_check();
}

#[test]
fn tso_segments_a_64k_send_into_mss_sized_frames() {
    let mut t = ManaPair::new();
    let payload = pattern(60_000, 7);
    let big = FrameBuilder::tcp4([10, 0, 0, 1], [10, 0, 0, 2], 5000, 80)
        .seq(77)
        .payload(&payload)
        .csum(CsumMode::Partial)
        .build();
    let v6 = FrameBuilder::tcp6(V6A, V6B, 5001, 80)
        .payload(&payload[..20_000])
        .csum(CsumMode::Partial)
        .build();
    let got = t.transfer('a', 0, 2, &[big, v6], true, 1448);
    let v4: Vec<_> = got
        .iter()
        .filter(|g| parse(&g.frame).unwrap().is_ipv4())
        .collect();
    assert_eq!(v4.len(), 60_000usize.div_ceil(1448));
    assert_eq!(got.len() - v4.len(), 20_000usize.div_ceil(1448));
    all_csums_ok(&got);
    let mut flow: Vec<_> = v4
        .iter()
        .map(|g| {
            (
                u32::from_be_bytes(g.frame[38..42].try_into().unwrap()),
                g.frame[54..].to_vec(),
            )
        })
        .collect();
    flow.sort();
    let joined: Vec<u8> = flow.into_iter().flat_map(|(_, d)| d).collect();
    assert_eq!(joined, payload, "payload reassembles in sequence order");
    assert_eq!(t.a.stat(0, "tx_2_tso_packets"), Some(2));
    assert_eq!(t.a.model.borrow().counters().tso_packets, 2);
    t.teardown_and_check();
}

#[test]
fn jumbo_mtu_9000_frames_and_tso_pass_both_ways() {
    let mut a = NodeOptions::new("a");
    a.qcfg.mtu = 9000;
    let b = a.clone();
    let mut t = ManaPair::with(a, b);
    assert_eq!(t.a.nd(0).info().max_mtu, 9000, "adapter MTU 9014 − 14");
    let jumbo = FrameBuilder::udp4([10, 0, 0, 1], [10, 0, 0, 2], 9, 9)
        .payload(&pattern(9000 - 28, 5))
        .csum(CsumMode::Partial)
        .build();
    assert_eq!(jumbo.len(), 9014);
    for side in ['a', 'b'] {
        let got = t.transfer(side, 0, 3, std::slice::from_ref(&jumbo), true, 0);
        assert_eq!(got.len(), 1);
        all_csums_ok(&got);
        assert_eq!(got[0].frame.len(), 9014);
    }
    let tso = FrameBuilder::tcp4([10, 0, 0, 1], [10, 0, 0, 2], 1, 2)
        .payload(&pattern(40_000, 6))
        .csum(CsumMode::Partial)
        .build();
    let got = t.transfer('b', 0, 0, &[tso], true, 8948);
    assert_eq!(got.len(), 5);
    assert!(got.iter().all(|g| g.frame.len() <= 9014));
    all_csums_ok(&got);
    t.teardown_and_check();
}

#[test]
fn several_vports_each_with_own_mac_queues_and_wire() {
    let mut a = NodeOptions::new("a");
    a.model = ManaModelConfig::default().with_vports(3);
    a.qcfg.num_queues = 2;
    a.driver.num_msix = 1 + 4;
    let b = a.clone();
    let mut t = ManaPair::with(a, b);
    assert_eq!(t.a.num_ports(), 3);
    let macs: Vec<[u8; 6]> = (0..3).map(|p| t.a.nd(p).info().mac).collect();
    assert_eq!(
        macs,
        t.a.opts
            .model
            .vports
            .iter()
            .map(|v| v.mac)
            .collect::<Vec<_>>()
    );
    assert_ne!(t.b.nd(0).info().mac, macs[0], "the peer has its own MACs");
    t.assert_traffic_both_ways(2);
    for p in 0..3 {
        assert_eq!(
            t.a.model.borrow().vport_queues(p).0.len(),
            2,
            "vPort {p}: its own SQs"
        );
        assert!(t.a.model.borrow().rx_enabled(p));
    }
    // Closing one vPort leaves the others running.
    t.a.close(1);
    assert!(!t.a.model.borrow().rx_enabled(1));
    let got = t.transfer(
        'b',
        2,
        0,
        &[FrameBuilder::udp4([1, 1, 1, 1], [2, 2, 2, 2], 5, 6).build()],
        false,
        0,
    );
    assert_eq!((got.len(), got[0].port), (1, 2));
    t.teardown_and_check();
}

#[test]
fn device_statistics_reach_ethtool_names_through_the_periodic_query() {
    use cloudnic_models::mana::gf;
    let mut t = ManaPair::new();
    t.assert_traffic_both_ways(3);
    let bcast = FrameBuilder::udp4([10, 0, 0, 1], [10, 0, 0, 255], 1, 2)
        .macs([2, 0, 0, 0, 0, 1], [0xFF; 6])
        .build();
    assert_eq!(t.transfer('a', 0, 0, &[bcast], false, 0).len(), 1);
    assert!(t.run_for(3_000_000).is_empty());
    let g = *t.a.model.borrow().gf_stats();
    assert_eq!(g.get(gf::TX_UCAST_PKTS), 12);
    assert_eq!(g.get(gf::TX_BCAST_PKTS), 1);
    assert_eq!(g.get(gf::RX_UCAST_PKTS), 12);
    for (name, idx) in [
        ("hc_tx_ucast_pkts", gf::TX_UCAST_PKTS),
        ("hc_tx_bcast_pkts", gf::TX_BCAST_PKTS),
        ("hc_tx_bytes", gf::TX_BYTES),
        ("hc_rx_ucast_bytes", gf::RX_UCAST_BYTES),
    ] {
        assert_eq!(t.a.stat(0, name), Some(g.get(idx)), "{name}");
    }
    assert_eq!(
        t.a.stat(0, "hc_tc0_tx_pkt_phy"),
        Some(13),
        "PHY counters queried too"
    );
    let rx: u64 = (0..4)
        .map(|q| t.b.stat(0, &format!("rx_{q}_packets")).unwrap_or(0))
        .sum();
    assert_eq!(rx, 13);
    t.teardown_and_check();
}

#[test]
fn long_oob_when_short_form_is_refused_or_the_vport_offset_is_large() {
    for (short_allowed, base) in [(false, 0u16), (true, 300)] {
        let mut a = NodeOptions::new("a");
        a.model.short_form_allowed = short_allowed;
        a.model.tx_vport_offset_base = base;
        let mut t = ManaPair::with(a, NodeOptions::new("b"));
        t.assert_traffic_both_ways(2);
        assert_eq!(
            t.a.stat(0, "tx_0_long_pkt_fmt"),
            Some(2),
            "short allowed {short_allowed}, offset {base}"
        );
        assert_eq!(t.a.stat(0, "tx_0_short_pkt_fmt"), Some(0));
        assert_eq!(t.a.model.borrow().counters().tx_errors, 0, "OOB accepted");
        t.teardown_and_check();
    }
}
