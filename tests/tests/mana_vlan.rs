//! 802.1Q VLAN through the device-neutral interface between two MANA models
//! and the real driver: the stack asks for tag insertion in
//! `TxOffload::vlan_tci`, the device puts a real 802.1Q header on the wire
//! (long TX OOB, mana.md §6.6) — per TSO segment, checksums still right —
//! and the receiving device strips it into the RX CQE, which the driver
//! reports in `RxPacket::vlan_tci` (VLAN id only, mana.md §6.8).

use cloudnic_common::nic::{NetDevice, OffloadCaps, RxChecksum};
use cloudnic_models::net::offload::{ipv4_header_csum_ok, l4_csum_ok};
use cloudnic_models::net::parse::{ETHERTYPE_VLAN, IPPROTO_TCP};
use cloudnic_models::net::{parse, pattern, CsumMode, FrameBuilder};
use cloudnic_tests::testbed::mana::{ManaPair, NodeOptions, Received};

const V6A: [u8; 16] = [0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1];
const V6B: [u8; 16] = [0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2];
const MSS: u16 = 1448;

/// TCP payload of every TCP frame in `got`, joined in sequence order.
fn tcp_stream(got: &[&Received]) -> Vec<u8> {
    let mut segs: Vec<(u32, Vec<u8>)> = got
        .iter()
        .map(|g| {
            let p = parse(&g.frame).expect("parses");
            let l4 = p.l4.expect("tcp");
            let seq_at = p.l4_offset + 4;
            let seq = u32::from_be_bytes(g.frame[seq_at..seq_at + 4].try_into().unwrap());
            assert_eq!(l4.proto, IPPROTO_TCP);
            (seq, g.frame[p.payload_offset()..].to_vec())
        })
        .collect();
    segs.sort();
    segs.into_iter().flat_map(|(_, d)| d).collect()
}

/// Checksums right and reported good.
fn csums_good(g: &Received) {
    let p = parse(&g.frame).expect("parses");
    assert_ne!(ipv4_header_csum_ok(&g.frame, &p), Some(false));
    assert_eq!(l4_csum_ok(&g.frame, &p), Some(true));
    assert_eq!(g.csum, RxChecksum::Good);
}

#[test]
fn tagged_tso_and_checksum_traffic_both_ways_arrives_stripped_with_its_vlan_id() {
    let mut t = ManaPair::new();
    let both = OffloadCaps::TX_VLAN_INSERT | OffloadCaps::RX_VLAN_STRIP;
    assert!(t.a.nd(0).info().offloads.contains(both));
    let payload = pattern(20_000, 3);
    let tcp4 = FrameBuilder::tcp4([10, 0, 0, 1], [10, 0, 0, 2], 5000, 80)
        .seq(1000)
        .payload(&payload)
        .csum(CsumMode::Partial)
        .build();
    let udp4 = FrameBuilder::udp4([10, 0, 0, 1], [10, 0, 0, 2], 5001, 53)
        .payload(&pattern(700, 4))
        .csum(CsumMode::Partial)
        .build();
    let tcp6 = FrameBuilder::tcp6(V6B, V6A, 6000, 443)
        .seq(9)
        .payload(&payload[..9000])
        .csum(CsumMode::Partial)
        .build();
    // a -> b: PCP 5, VID 100 on queue 1 (TSO and UDP checksum).
    let tci_a = 5 << 13 | 100;
    t.a.send_tagged(0, 1, &tcp4, MSS, tci_a)
        .expect("tagged TSO");
    t.a.send_tagged(0, 1, &udp4, 0, tci_a).expect("tagged UDP");
    t.a.kick(0, 1);
    t.settle();
    let got = t.b.take_received();
    assert_eq!(got.len(), 20_000usize.div_ceil(usize::from(MSS)) + 1);
    for g in &got {
        assert_eq!(
            g.vlan_tci,
            Some(100),
            "VLAN id reported, PCP not in the CQE"
        );
        assert_eq!(parse(&g.frame).unwrap().vlan, None, "tag stripped");
        assert!(g.frame.len() <= 1514);
        csums_good(g);
    }
    let tcp: Vec<&Received> = got
        .iter()
        .filter(|g| parse(&g.frame).unwrap().l4.unwrap().proto == IPPROTO_TCP)
        .collect();
    assert_eq!(tcp_stream(&tcp), payload, "TSO payload intact");
    let udp = got.iter().find(|g| g.frame.len() == udp4.len()).unwrap();
    assert_eq!(udp.frame[42..], udp4[42..], "UDP payload intact");
    assert_eq!(t.a.stat(0, "tx_1_long_pkt_fmt"), Some(2));
    assert_eq!(t.a.stat(0, "tx_1_tso_packets"), Some(1));
    // b -> a: IPv6 TSO with DEI set and VID 7.
    t.b.send_tagged(0, 2, &tcp6, MSS, 1 << 12 | 7)
        .expect("tagged v6 TSO");
    t.b.kick(0, 2);
    t.settle();
    let got = t.a.take_received();
    assert_eq!(got.len(), 9000usize.div_ceil(usize::from(MSS)));
    assert!(got.iter().all(|g| g.vlan_tci == Some(7)));
    got.iter().for_each(csums_good);
    let refs: Vec<&Received> = got.iter().collect();
    assert_eq!(tcp_stream(&refs), payload[..9000]);
    // Untagged traffic keeps the short OOB and reports no tag.
    let got = t.transfer('a', 0, 3, std::slice::from_ref(&udp4), true, 0);
    assert_eq!((got.len(), got[0].vlan_tci), (1, None));
    assert_eq!(got[0].frame.len(), udp4.len(), "no tag added");
    assert_eq!(got[0].frame[42..], udp4[42..], "payload intact");
    csums_good(&got[0]);
    assert_eq!(t.a.stat(0, "tx_3_short_pkt_fmt"), Some(1));
    assert_eq!(t.a.stat(0, "tx_3_long_pkt_fmt"), Some(0));
    t.teardown_and_check();
}

#[test]
fn the_wire_carries_a_real_802_1q_header_per_tso_segment() {
    // The receiving model passes tags through, so the frame as the sender's
    // device put it on the wire reaches b's stack byte for byte.
    let a = NodeOptions::new("a");
    let mut b = NodeOptions::new("b");
    b.model.rx_vlan_strip = false;
    let mut t = ManaPair::with(a, b);
    let payload = pattern(5000, 8);
    let tcp4 = FrameBuilder::tcp4([10, 0, 0, 1], [10, 0, 0, 2], 7000, 80)
        .seq(5)
        .payload(&payload)
        .csum(CsumMode::Partial)
        .build();
    let tci = 3 << 13 | 1 << 12 | 0xABC;
    t.a.send_tagged(0, 0, &tcp4, 1400, tci).expect("tagged TSO");
    t.a.kick(0, 0);
    t.settle();
    let got = t.b.take_received();
    assert_eq!(got.len(), 4, "ceil(5000 / 1400)");
    for g in &got {
        let f = &g.frame;
        assert_eq!(g.vlan_tci, None, "nothing stripped");
        assert_eq!(f[..12], tcp4[..12], "MACs first");
        assert_eq!(u16::from_be_bytes([f[12], f[13]]), ETHERTYPE_VLAN);
        assert_eq!(u16::from_be_bytes([f[14], f[15]]), tci, "PCP, DEI, VID");
        assert_eq!(f[16..18], tcp4[12..14], "inner EtherType follows the tag");
        let p = parse(f).unwrap();
        assert_eq!((p.vlan, p.l3_offset), (Some(tci), 18));
        assert!(f.len() <= 1514 + 4, "MTU counts the frame without the tag");
        csums_good(g);
    }
    let refs: Vec<&Received> = got.iter().collect();
    assert_eq!(tcp_stream(&refs), payload);
    t.teardown_and_check();
}
