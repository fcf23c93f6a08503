//! `NetDevice::tx_post_burst`: a run of packets in one call, with the same
//! per-packet checks and outcome as `tx_post`. ENA takes the short path for
//! a run of plain packets and the general path for each packet the run stops
//! at; MANA uses the trait's per-packet loop. Checked end to end through the
//! models: mixed offloads in one burst arrive intact, a refused packet stops
//! the burst with its reason and nothing after it posted, a full ring stops
//! it with `NoSpace`, many bursts cross the ring's wrap, and the ledgers
//! show every buffer back exactly once.

use cloudnic_common::nic::{NetDevice, RxChecksum, TxError, TxOffload};
use cloudnic_models::ena::EnaModelConfig;
use cloudnic_models::net::{self, pattern, CsumMode, FrameBuilder};
use cloudnic_tests::stack::offload_for;
use cloudnic_tests::testbed::mana::ManaPair;
use cloudnic_tests::testbed::{BackToBack, NodeOptions, Received};

const MAC_A: [u8; 6] = [0x02, 0, 0, 0, 0, 0xa];
const MAC_B: [u8; 6] = [0x02, 0, 0, 0, 0, 0xb];
const V6A: [u8; 16] = [0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1];
const V6B: [u8; 16] = [0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2];
const MSS: u16 = 1448;
const TSO_PAYLOAD: usize = 5000;

fn udp4(seed: u8, len: usize) -> Vec<u8> {
    FrameBuilder::udp4([10, 0, 0, 1], [10, 0, 0, 2], 4000 + u16::from(seed), 5000)
        .macs(MAC_A, MAC_B)
        .payload(&pattern(len, seed))
        .csum(CsumMode::Full)
        .build()
}

/// A burst mixing what each path takes: plain frames (ENA's short path)
/// between a checksum request, a TSO request and an IPv6 frame.
fn mixed_burst() -> Vec<(Vec<u8>, TxOffload)> {
    let plain = |f: Vec<u8>| (f, TxOffload::default());
    let tcp_csum = FrameBuilder::tcp4([10, 0, 0, 1], [10, 0, 0, 2], 4100, 80)
        .macs(MAC_A, MAC_B)
        .payload(&pattern(700, 1))
        .csum(CsumMode::Partial)
        .build();
    let tso = FrameBuilder::tcp4([10, 0, 0, 1], [10, 0, 0, 2], 4200, 80)
        .macs(MAC_A, MAC_B)
        .seq(9)
        .payload(&pattern(TSO_PAYLOAD, 2))
        .csum(CsumMode::Partial)
        .build();
    let udp6 = FrameBuilder::udp6(V6A, V6B, 4300, 53)
        .macs(MAC_A, MAC_B)
        .payload(&pattern(300, 3))
        .csum(CsumMode::Full)
        .build();
    let csum_off = offload_for(&tcp_csum, 0);
    let tso_off = offload_for(&tso, MSS);
    vec![
        plain(udp4(10, 100)),
        plain(udp4(11, 1200)),
        (tcp_csum, csum_off),
        plain(udp4(12, 60)),
        (tso, tso_off),
        plain(udp6),
        plain(udp4(13, 1400)),
    ]
}

fn as_refs(frames: &[(Vec<u8>, TxOffload)]) -> Vec<(&[u8], TxOffload)> {
    frames.iter().map(|(f, o)| (f.as_slice(), *o)).collect()
}

/// What the receiver must see for `mixed_burst`: the plain frames byte for
/// byte, the checksum frame completed, the TSO frame as MSS-sized segments
/// carrying its payload; every checksum good.
fn check_mixed(got: &[Received], sent: &[(Vec<u8>, TxOffload)]) {
    let segs = TSO_PAYLOAD.div_ceil(usize::from(MSS));
    assert_eq!(got.len(), sent.len() - 1 + segs, "frames received");
    for g in got {
        let p = net::parse(&g.frame).expect("parses");
        assert_eq!(net::l4_csum_ok(&g.frame, &p), Some(true));
        assert_eq!(g.csum, RxChecksum::Good);
    }
    for (f, o) in sent {
        if o.tso_mss == 0 && !o.l4_csum {
            assert_eq!(
                got.iter().filter(|g| g.frame == *f).count(),
                1,
                "a plain {}-byte frame arrived once and intact",
                f.len()
            );
        }
    }
    let mut tso_payload = Vec::new();
    for g in got {
        let p = net::parse(&g.frame).unwrap();
        if p.l4.is_some_and(|l4| l4.src_port == 4200) {
            tso_payload.extend_from_slice(&g.frame[p.payload_offset()..]);
        }
    }
    assert_eq!(tso_payload, pattern(TSO_PAYLOAD, 2), "TSO payload in order");
}

/// Post `mixed_burst` from A in one call, ring, and check what B received.
fn ena_mixed_burst_crosses(t: &mut BackToBack) -> Vec<(Vec<u8>, TxOffload)> {
    let frames = mixed_burst();
    let burst = t.a.send_burst(0, &as_refs(&frames));
    assert_eq!((burst.posted, burst.stopped), (frames.len(), None));
    t.a.kick(0);
    t.settle();
    check_mixed(&t.b.take_received(), &frames);
    frames
}

#[test]
fn ena_burst_mixes_the_short_and_general_paths() {
    let mut t = BackToBack::new();
    let frames = ena_mixed_burst_crosses(&mut t);
    assert_eq!(t.a.stat("queue_0_tx_cnt"), Some(frames.len() as u64));
    let bytes: usize = frames.iter().map(|(f, _)| f.len()).sum();
    assert_eq!(t.a.stat("queue_0_tx_bytes"), Some(bytes as u64));
    t.teardown_and_check();
}

#[test]
fn ena_burst_with_llq_takes_the_general_path_for_every_packet() {
    let llq = |name: &str| {
        let mut o = NodeOptions::new(name);
        o.model.bar2_size = EnaModelConfig::default().bar2_size;
        o
    };
    let mut t = BackToBack::with(llq("eth0"), llq("eth1"));
    ena_mixed_burst_crosses(&mut t);
    t.teardown_and_check();
}

#[test]
fn ena_refused_packet_stops_the_burst_with_its_reason() {
    let mut t = BackToBack::new();
    let tagged = TxOffload {
        vlan_tci: Some(100),
        ..TxOffload::default()
    };
    let frames: Vec<(Vec<u8>, TxOffload)> = vec![
        (udp4(1, 100), TxOffload::default()),
        (udp4(2, 100), TxOffload::default()),
        // No checksum or TSO request: the short path's kind but for the tag,
        // which ENA cannot insert.
        (udp4(3, 100), tagged),
        (udp4(4, 100), TxOffload::default()),
    ];
    let burst = t.a.send_burst(0, &as_refs(&frames));
    assert_eq!((burst.posted, burst.stopped), (2, Some(TxError::Invalid)));
    assert_eq!(t.a.stat("queue_0_tx_prepare_ctx_err"), Some(1));
    assert_eq!(
        t.a.stat("queue_0_tx_cnt"),
        Some(2),
        "nothing after the refusal"
    );
    // The caller resumes after the refused packet.
    let rest = t.a.send_burst(0, &as_refs(&frames[3..]));
    assert_eq!((rest.posted, rest.stopped), (1, None));
    t.a.kick(0);
    t.settle();
    let got = t.b.take_received();
    assert_eq!(got.len(), 3);
    for i in [0, 1, 3] {
        assert!(got.iter().any(|g| g.frame == frames[i].0), "frame {i}");
    }
    assert_eq!(t.a.dev().pending_reset(), None, "a bad request is no fault");
    t.teardown_and_check();
}

#[test]
fn ena_full_ring_stops_the_burst_and_bursts_cross_the_wrap() {
    // 256 TX slots (the device's minimum ring), one kept empty; 100-packet
    // bursts wrap the ring every third round, so each pass's phase is
    // written and read back.
    let mut t = BackToBack::small();
    assert_eq!(t.a.dev().queue_config().tx_ring_size, 256);
    let frames: Vec<(Vec<u8>, TxOffload)> = (0..300u16)
        .map(|i| (udp4(i as u8, 64 + usize::from(i)), TxOffload::default()))
        .collect();
    let burst = t.a.send_burst(0, &as_refs(&frames));
    assert_eq!((burst.posted, burst.stopped), (255, Some(TxError::NoSpace)));
    assert_eq!(
        t.a.stat("queue_0_tx_prepare_ctx_err"),
        Some(0),
        "back-pressure is no error"
    );
    t.a.kick(0);
    t.settle();
    assert_eq!(t.b.take_received().len(), 255);
    for round in 0..10 {
        let chunk = &frames[(round * 20)..(round * 20 + 100)];
        let burst = t.a.send_burst(0, &as_refs(chunk));
        assert_eq!((burst.posted, burst.stopped), (100, None), "round {round}");
        t.a.kick(0);
        t.settle();
        let got = t.b.take_received();
        assert_eq!(got.len(), 100, "round {round}");
        for (f, _) in chunk {
            assert!(got.iter().any(|g| g.frame == *f), "round {round}");
        }
    }
    assert_eq!(t.a.stat("queue_0_tx_cnt"), Some(1255));
    t.teardown_and_check();
}

#[test]
fn mana_burst_posts_packet_by_packet_with_the_same_outcome() {
    let mut t = ManaPair::new();
    let frames = mixed_burst();
    let burst = t.a.send_burst(0, 1, &as_refs(&frames));
    assert_eq!((burst.posted, burst.stopped), (frames.len(), None));
    t.a.kick(0, 1);
    t.settle();
    check_mixed(&t.b.take_received(), &frames);
    t.teardown_and_check();
}
