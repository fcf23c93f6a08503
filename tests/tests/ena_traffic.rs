//! ENA bring-up and traffic between two models back to back, through the
//! real driver: plain frames, checksum offload, TSO, jumbo MTU.

use cloudnic_common::nic::{NetDevice, RxChecksum};
use cloudnic_models::net::{self, pattern, CsumMode, FrameBuilder};
use cloudnic_tests::testbed::BackToBack;

const MAC_A: [u8; 6] = [0x02, 0, 0, 0, 0, 0xa];
const MAC_B: [u8; 6] = [0x02, 0, 0, 0, 0, 0xb];

fn udp(len: usize, seed: u8, csum: CsumMode) -> Vec<u8> {
    FrameBuilder::udp4([10, 0, 0, 1], [10, 0, 0, 2], 4000 + seed as u16, 5000)
        .macs(MAC_A, MAC_B)
        .payload(&pattern(len, seed))
        .csum(csum)
        .build()
}

/// Frames arrive spread over RSS queues, so compare as multisets, without
/// printing kilobytes of bytes on failure.
fn assert_same_frames(got: &[cloudnic_tests::testbed::Received], sent: &[Vec<u8>]) {
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

#[test]
fn bring_up_reads_attributes_and_logs_like_aws() {
    let mut t = BackToBack::new();
    let info = *t.a.dev().info();
    assert_eq!(info.mac, t.a.model.borrow().config().mac);
    assert!(info.max_mtu >= 9001);
    assert!(t.a.dev().is_open());
    let log = t.a.plat.log_sink();
    assert!(
        log.contains("ena device version: 0.10"),
        "{:?}",
        log.lines()
    );
    assert!(log.contains("Elastic Network Adapter (ENA) found at mem"));
    assert!(t.a.dev().link_up());
    t.teardown_and_check();
}

#[test]
fn frames_cross_both_ways_intact() {
    let mut t = BackToBack::new();
    let frames: Vec<Vec<u8>> = (0..200)
        .map(|i| udp(64 + i * 7, i as u8, CsumMode::Full))
        .collect();
    let got = t.transfer('a', 0, &frames, false, 0);
    assert_same_frames(&got, &frames);
    assert!(got.iter().all(|g| g.csum == RxChecksum::Good));
    let back = t.transfer('b', 1, &frames[..50], false, 0);
    assert_eq!(back.len(), 50);
    assert_eq!(t.a.stat("queue_0_tx_cnt"), Some(200));
    assert_eq!(t.b.stat("queue_1_tx_cnt"), Some(50));
    t.teardown_and_check();
}

#[test]
fn checksum_offload_fills_partial_checksums() {
    let mut t = BackToBack::new();
    let frames: Vec<Vec<u8>> = (0..20).map(|i| udp(300, i, CsumMode::Partial)).collect();
    let got = t.transfer('a', 2, &frames, true, 0);
    assert_eq!(got.len(), 20);
    for g in &got {
        assert_eq!(
            g.csum,
            RxChecksum::Good,
            "device must have filled the checksum"
        );
        let p = net::parse(&g.frame).unwrap();
        assert_eq!(net::l4_csum_ok(&g.frame, &p), Some(true));
    }
    t.teardown_and_check();
}

#[test]
fn tso_segments_a_64k_send_and_payload_reassembles() {
    let mut t = BackToBack::new();
    let payload = pattern(60_000, 9);
    let frame = FrameBuilder::tcp4([10, 0, 0, 1], [10, 0, 0, 2], 40000, 80)
        .macs(MAC_A, MAC_B)
        .seq(1000)
        .payload(&payload)
        .csum(CsumMode::Partial)
        .build();
    let got = t.transfer('a', 0, &[frame], true, 1448);
    assert_eq!(got.len(), 60_000usize.div_ceil(1448));
    let mut joined = Vec::new();
    for g in &got {
        assert_eq!(g.csum, RxChecksum::Good);
        let p = net::parse(&g.frame).unwrap();
        joined.extend_from_slice(&g.frame[p.payload_offset()..]);
    }
    assert_eq!(joined, payload);
    t.teardown_and_check();
}

#[test]
fn jumbo_mtu_9001_spans_several_rx_buffers() {
    let mut t = BackToBack::new();
    t.a.dev().set_mtu(9001).unwrap();
    t.b.dev().set_mtu(9001).unwrap();
    assert_eq!(t.b.model.borrow().mtu(), 9001);
    let frames: Vec<Vec<u8>> = (0..10).map(|i| udp(9001 - 28, i, CsumMode::Full)).collect();
    let got = t.transfer('a', 0, &frames, false, 0);
    assert_same_frames(&got, &frames);
    assert!(
        got.iter().all(|g| g.buffers >= 3),
        "9015-byte frames in 4 KiB buffers span 3"
    );
    t.teardown_and_check();
}
