//! Data-path unit tests: TX OOB checks, checksum fill, TSO, VLAN insertion,
//! RX checksum reporting, Toeplitz RSS over several RQs, coalescing,
//! truncation, fences, malformed-CQE faults and the ledger. Raw driver only.

use cloudnic_common::rss::{toeplitz_hash, RssInput, DEFAULT_RSS_KEY};
use cloudnic_mana::defs::eth::{DestroyWqObjReq, FenceRqReq, WQ_TYPE_RQ, WQ_TYPE_SQ};
use cloudnic_mana::defs::eth_dp::{
    cqe_type, NdisHashType, RxCompFlags, RxCompOob, TxCompOob, TxLongOob, TxOob, TxShortOob,
    TX_PKT_FMT_LONG, TX_PKT_FMT_SHORT,
};
use cloudnic_mana::defs::msg::GdmaRequest;
use cloudnic_mana::defs::queue::{eqe_type, Cqe};
use zerocopy::{FromBytes, IntoBytes};

use super::faults::{CqeMalformation, CqeTarget, ManaFault};
use super::test_driver::{RawDriver, RawPair, Ring};
use super::{ManaModel, ManaModelConfig};
use crate::ledger::BufKind;
use crate::net::offload::{ipv4_header_csum_ok, l4_csum_ok};
use crate::net::{parse, pattern, CsumMode, FrameBuilder};
use crate::wire::Port;
use crate::Device;

/// A raw driver with one vPort wired to a capture port, an EQ on vector 1
/// and one queue pair; RX steered (no RSS) to its RQ.
pub(super) fn rig(cfg: ManaModelConfig) -> (RawDriver, Port, Ring, RawPair, u64) {
    let mut d = RawDriver::up(cfg);
    let (mine, peer) = Port::pair();
    d.dev.connect(mine);
    let eq = d.create_eq(1);
    let vport = d.vport(0);
    let pair = d.create_pair(vport, &eq);
    assert_eq!(
        d.steer(vport, false, DEFAULT_RSS_KEY, &[pair.rq_obj], false),
        0
    );
    (d, peer, eq, pair, vport)
}

fn short_oob(p: &RawPair, flags: u32, trans_off: u32) -> [u8; 8] {
    let o = TxShortOob::new(TX_PKT_FMT_SHORT, flags, p.sq_cq.id, trans_off, p.sq.id, 0);
    o.as_bytes().try_into().unwrap()
}

pub(super) fn tx_cqe(d: &RawDriver, cq: &mut Ring) -> (u8, Cqe) {
    let c = d.poll_cqe(cq).expect("TX CQE");
    (
        TxCompOob::read_from_prefix(&c.data)
            .unwrap()
            .0
            .header()
            .cqe_type(),
        c,
    )
}

fn rx_oob(d: &RawDriver, cq: &mut Ring) -> (RxCompOob, Cqe) {
    let c = d.poll_cqe(cq).expect("RX CQE");
    (RxCompOob::read_from_bytes(&c.data).unwrap(), c)
}

#[test]
fn tx_fills_checksums_completes_in_order_and_interrupts_when_armed() {
    let (mut d, peer, mut eq, mut p, _) = rig(ManaModelConfig::default());
    let frame = FrameBuilder::tcp4([1, 1, 1, 1], [2, 2, 2, 2], 10, 20)
        .payload(&pattern(300, 3))
        .csum(CsumMode::Zero)
        .build();
    let flags = TxShortOob::IS_OUTER_IPV4 | TxShortOob::COMP_IP_CSUM | TxShortOob::COMP_TCP_CSUM;
    let oob = short_oob(&p, flags, 34);
    let irq = d.irq.count(1);
    let off = d.post_tx(&mut p.sq, &oob, &frame, None, 0);
    let sent = peer.recv().expect("frame on the wire");
    let pp = parse(&sent).unwrap();
    assert_eq!(ipv4_header_csum_ok(&sent, &pp), Some(true));
    assert_eq!(l4_csum_ok(&sent, &pp), Some(true));
    let (ty, c) = tx_cqe(&d, &mut p.sq_cq);
    assert_eq!(
        (ty, c.info().wq_num(), c.info().is_sq()),
        (cqe_type::TX_OKAY, p.sq.id, true)
    );
    assert_eq!(
        TxCompOob::read_from_prefix(&c.data).unwrap().0.tx_offsets,
        off
    );
    // The armed CQ posted one COMPLETION EQE; the armed EQ raised vector 1.
    let e = d.poll_eqe(&mut eq).unwrap();
    assert_eq!(
        (e.info().event_type(), e.details[0]),
        (eqe_type::COMPLETION, p.sq_cq.id)
    );
    assert_eq!(d.irq.count(1), irq + 1);
    // Unarmed CQ: a second packet completes silently.
    d.post_tx(&mut p.sq, &oob, &frame, None, 0);
    assert_eq!(tx_cqe(&d, &mut p.sq_cq).0, cqe_type::TX_OKAY);
    assert!(d.poll_eqe(&mut eq).is_none());
    assert_eq!(d.irq.count(1), irq + 1);
    let l = d.dev.ledger().counts();
    assert_eq!((l.posted, l.completed), (2, 2));
}

#[test]
fn tx_oob_violations_complete_with_error_types_and_gf_counters() {
    let (mut d, peer, _, mut p, _) = rig(ManaModelConfig::default());
    let frame = FrameBuilder::udp4([1, 1, 1, 1], [2, 2, 2, 2], 10, 20)
        .payload(&[7; 50])
        .build();
    // Wrong CQ id in the OOB.
    let bad = TxShortOob::new(TX_PKT_FMT_SHORT, 0, p.sq_cq.id + 1, 0, p.sq.id, 0);
    d.post_tx(&mut p.sq, bad.as_bytes(), &frame, None, 0);
    assert_eq!(tx_cqe(&d, &mut p.sq_cq).0, cqe_type::TX_INVALID_OOB);
    // Wrong vPort offset.
    let bad = TxShortOob::new(TX_PKT_FMT_SHORT, 0, p.sq_cq.id, 0, p.sq.id, 9);
    d.post_tx(&mut p.sq, bad.as_bytes(), &frame, None, 0);
    assert_eq!(
        tx_cqe(&d, &mut p.sq_cq).0,
        cqe_type::TX_VPORT_IDX_OUT_OF_RANGE
    );
    // Checksum asked at the wrong transport offset.
    let oob = short_oob(
        &p,
        TxShortOob::IS_OUTER_IPV4 | TxShortOob::COMP_UDP_CSUM,
        30,
    );
    d.post_tx(&mut p.sq, &oob, &frame, None, 0);
    assert_eq!(
        tx_cqe(&d, &mut p.sq_cq).0,
        cqe_type::TX_HDR_PROCESSING_ERROR
    );
    // Above the adapter MTU.
    let big = FrameBuilder::udp4([1, 1, 1, 1], [2, 2, 2, 2], 10, 20)
        .payload(&vec![0; 9100])
        .build();
    let o = short_oob(&p, 0, 0);
    d.post_tx(&mut p.sq, &o, &big, None, 0);
    assert_eq!(tx_cqe(&d, &mut p.sq_cq).0, cqe_type::TX_MTU_DROP);
    assert!(peer.recv().is_none(), "nothing sent");
    let gf = d.dev.gf_stats();
    assert_eq!(
        (
            gf.get(super::gf::TX_ERR_INVAL_OOB),
            gf.get(super::gf::TX_ERR_INVAL_VPORT_OFFSET),
            gf.get(super::gf::TX_ERR_MTU_VIOLATION)
        ),
        (1, 1, 1)
    );
}

#[test]
fn tso_segments_with_headers_in_sge0_and_long_oob_inserts_vlan() {
    let (mut d, peer, _, mut p, _) = rig(ManaModelConfig::default());
    let frame = FrameBuilder::tcp4([1, 1, 1, 1], [2, 2, 2, 2], 10, 20)
        .payload(&pattern(5000, 9))
        .csum(CsumMode::Partial)
        .build();
    let flags = TxShortOob::IS_OUTER_IPV4 | TxShortOob::COMP_IP_CSUM | TxShortOob::COMP_TCP_CSUM;
    let oob = TxOob {
        s: TxShortOob::new(TX_PKT_FMT_LONG, flags, p.sq_cq.id, 34, p.sq.id, 0),
        l: TxLongOob::new(Some((5, false, 100)), 0),
    };
    d.post_tx(&mut p.sq, oob.as_bytes(), &frame, Some(54), 1400);
    assert_eq!(tx_cqe(&d, &mut p.sq_cq).0, cqe_type::TX_OKAY);
    let mut total = 0;
    let mut n = 0;
    while let Some(f) = peer.recv() {
        let pp = parse(&f).unwrap();
        assert_eq!(pp.vlan, Some(5 << 13 | 100));
        assert_eq!(l4_csum_ok(&f, &pp), Some(true));
        assert_eq!(ipv4_header_csum_ok(&f, &pp), Some(true));
        total += f.len() - 58;
        n += 1;
    }
    assert_eq!((n, total), (4, 5000), "ceil(5000 / 1400) segments");
    assert_eq!(d.dev.counters().tso_packets, 1);
    // Headers not alone in SGE0: header processing error.
    d.post_tx(&mut p.sq, oob.as_bytes(), &frame, Some(60), 1400);
    assert_eq!(
        tx_cqe(&d, &mut p.sq_cq).0,
        cqe_type::TX_HDR_PROCESSING_ERROR
    );
}

#[test]
fn rx_reports_checksums_lengths_and_strips_vlan() {
    let (mut d, peer, _, mut p, _) = rig(ManaModelConfig::default());
    let bufs: Vec<u64> = (0..3).map(|_| d.post_rx(&mut p.rq, 2048)).collect();
    let good = FrameBuilder::tcp4([3, 3, 3, 3], [4, 4, 4, 4], 1, 2)
        .payload(&pattern(100, 1))
        .build();
    let bad = FrameBuilder::udp4([3, 3, 3, 3], [4, 4, 4, 4], 1, 2)
        .payload(&pattern(100, 1))
        .csum(CsumMode::BadL4)
        .build();
    let tagged = FrameBuilder::udp4([3, 3, 3, 3], [4, 4, 4, 4], 1, 2)
        .vlan(0x2007)
        .payload(&[1; 20])
        .build();
    for f in [&good, &bad, &tagged] {
        peer.send(f.clone());
    }
    d.dev.tick();
    let (o, c) = rx_oob(&d, &mut p.rq_cq);
    assert_eq!(
        (
            o.header().cqe_type(),
            c.info().wq_num(),
            o.ppi[0].pkt_len as usize
        ),
        (cqe_type::RX_OKAY, p.rq.id, good.len())
    );
    let f = o.rx_flags();
    assert!(f.has(RxCompFlags::IP_CSUM_OK) && f.has(RxCompFlags::TCP_CSUM_OK));
    let mut got = vec![0u8; good.len()];
    d.arena.load_bytes(bufs[0], &mut got);
    assert_eq!(got, good);
    let (o, _) = rx_oob(&d, &mut p.rq_cq);
    assert!(o.rx_flags().has(RxCompFlags::UDP_CSUM_FAIL));
    let (o, _) = rx_oob(&d, &mut p.rq_cq);
    assert_eq!(o.rx_flags().vlan(), Some(7));
    assert_eq!(o.ppi[0].pkt_len as usize, tagged.len() - 4, "tag stripped");
    assert_eq!(d.dev.counters().rx_l4_csum_bad, 1);
}

#[test]
fn rss_spreads_over_four_rqs_by_toeplitz_over_the_programmed_key_and_table() {
    let mut d = RawDriver::up(ManaModelConfig::default());
    let (mine, peer) = Port::pair();
    d.dev.connect(mine);
    let eq = d.create_eq(1);
    let vport = d.vport(0);
    let mut pairs: Vec<RawPair> = (0..4).map(|_| d.create_pair(vport, &eq)).collect();
    let key: [u8; 40] = core::array::from_fn(|i| (i as u8).wrapping_mul(37) ^ 0x5A);
    let table: Vec<u64> = (0..64).map(|i| pairs[(i * 7 + i / 3) % 4].rq_obj).collect();
    assert_eq!(d.steer(vport, true, key, &table, false), 0);
    for p in pairs.iter_mut() {
        for _ in 0..100 {
            d.post_rx(&mut p.rq, 2048);
        }
    }
    let flows: Vec<(u16, u16)> = (0..100).map(|i| (1000 + i * 13, 80 + i % 7)).collect();
    for (s, t) in &flows {
        peer.send(
            FrameBuilder::tcp4([10, 1, 0, 1], [10, 1, 0, 2], *s, *t)
                .payload(&[0; 10])
                .build(),
        );
    }
    d.dev.tick();
    let mut per_q = [0usize; 4];
    let mut i = 0;
    for (qi, p) in pairs.iter_mut().enumerate() {
        while let Some(c) = d.poll_cqe(&mut p.rq_cq) {
            let o = RxCompOob::read_from_bytes(&c.data).unwrap();
            assert_eq!(o.rx_flags().hash_type(), NdisHashType::TCP_IPV4);
            let h = o.ppi[0].pkt_hash;
            let want = table[h as usize % 64];
            assert_eq!(want, p.rq_obj, "steered by table[hash % 64]");
            per_q[qi] += 1;
            i += 1;
        }
    }
    assert_eq!(i, flows.len(), "{per_q:?}");
    assert!(per_q.iter().all(|n| *n >= 10), "spread: {per_q:?}");
    // The hash is Toeplitz over (src, dst, sport, dport) with the programmed key.
    let h0 = RssInput::ipv4_ports([10, 1, 0, 1], [10, 1, 0, 2], 1000, 80).hash(&key);
    assert_eq!(
        h0,
        toeplitz_hash(&key, &[10, 1, 0, 1, 10, 1, 0, 2, 0x03, 0xE8, 0, 80])
    );
    let (rss, k, t) = d.dev.rss(0).unwrap();
    assert!(rss && k == key && t.len() == 64);
}

#[test]
fn coalescing_truncation_and_fence() {
    let (mut d, peer, _, mut p, vport) = rig(ManaModelConfig::default());
    assert_eq!(d.steer(vport, false, DEFAULT_RSS_KEY, &[p.rq_obj], true), 0);
    for _ in 0..6 {
        d.post_rx(&mut p.rq, 256);
    }
    for i in 0..5u8 {
        peer.send(
            FrameBuilder::udp4([5, 5, 5, 5], [6, 6, 6, 6], 1, 2)
                .payload(&[i; 40])
                .build(),
        );
    }
    d.dev.tick();
    let (o, _) = rx_oob(&d, &mut p.rq_cq);
    assert_eq!(o.header().cqe_type(), cqe_type::RX_COALESCED_4);
    assert!(o.ppi.iter().all(|x| x.pkt_len == 82));
    let (o, _) = rx_oob(&d, &mut p.rq_cq);
    assert_eq!(
        (o.header().cqe_type(), o.ppi[1].pkt_len),
        (cqe_type::RX_OKAY, 0)
    );
    peer.send(
        FrameBuilder::udp4([5, 5, 5, 5], [6, 6, 6, 6], 1, 2)
            .payload(&[0; 400])
            .build(),
    );
    d.dev.tick();
    assert_eq!(
        rx_oob(&d, &mut p.rq_cq).0.header().cqe_type(),
        cqe_type::RX_TRUNCATED
    );
    let (s, _) = d.send(FenceRqReq {
        hdr: FenceRqReq::header(d.mana),
        wq_obj_handle: p.rq_obj,
    });
    assert_eq!(s, 0);
    assert_eq!(
        rx_oob(&d, &mut p.rq_cq).0.header().cqe_type(),
        cqe_type::RX_OBJECT_FENCE
    );
}

#[test]
fn malformed_cqe_faults_break_wq_number_owner_and_length() {
    let (mut d, peer, _, mut p, _) = rig(ManaModelConfig::default());
    for _ in 0..3 {
        d.post_rx(&mut p.rq, 1024);
    }
    let frame = FrameBuilder::udp4([1, 1, 1, 1], [2, 2, 2, 2], 10, 20)
        .payload(&[1; 30])
        .build();
    d.dev.inject(ManaFault::MalformedCqe {
        target: CqeTarget::Rx(None),
        kind: CqeMalformation::BadWqNumber,
        count: 1,
    });
    d.dev.inject(ManaFault::MalformedCqe {
        target: CqeTarget::Rx(Some(p.rq.id)),
        kind: CqeMalformation::BadLength,
        count: 1,
    });
    peer.send(frame.clone());
    peer.send(frame.clone());
    d.dev.tick();
    let (_, c) = rx_oob(&d, &mut p.rq_cq);
    assert_ne!(c.info().wq_num(), p.rq.id);
    let (o, _) = rx_oob(&d, &mut p.rq_cq);
    assert_eq!(o.ppi[0].pkt_len, 0xFFFF);
    d.dev.inject(ManaFault::MalformedCqe {
        target: CqeTarget::Tx(None),
        kind: CqeMalformation::WrongOwner,
        count: 1,
    });
    let o = short_oob(&p, 0, 0);
    d.post_tx(&mut p.sq, &o, &frame, None, 0);
    let mut raw = [0u8; 64];
    crate::GuestMemory::read(&*d.arena, p.sq_cq.base, &mut raw).unwrap();
    let owner = Cqe::read_from_bytes(&raw).unwrap().info().owner();
    assert_eq!(
        owner,
        (p.sq_cq.expected() + 2) & 7,
        "neither valid nor empty"
    );
    let _ = ManaModel::<crate::Arena>::new;
}

#[test]
fn withheld_tx_completions_are_written_on_clear_and_destroy_flushes_the_ledger() {
    let (mut d, peer, _, mut p, _) = rig(ManaModelConfig::default());
    d.dev.inject(ManaFault::TxCompletionsWithheld { sq: None });
    let frame = FrameBuilder::udp4([1, 1, 1, 1], [2, 2, 2, 2], 10, 20).build();
    let o = short_oob(&p, 0, 0);
    d.post_tx(&mut p.sq, &o, &frame, None, 0);
    assert!(peer.recv().is_some(), "transmitted");
    assert!(d.poll_cqe(&mut p.sq_cq).is_none(), "held back");
    assert_eq!(d.dev.ledger().outstanding(Some(BufKind::Tx)).len(), 1);
    d.dev
        .clear_fault(ManaFault::TxCompletionsWithheld { sq: None });
    assert_eq!(tx_cqe(&d, &mut p.sq_cq).0, cqe_type::TX_OKAY);
    let buf = d.post_rx(&mut p.rq, 1024);
    assert_eq!(d.dev.ledger().outstanding(Some(BufKind::Rx))[0].addr, buf);
    let (s, _) = d.send(DestroyWqObjReq {
        hdr: DestroyWqObjReq::header(d.mana),
        wq_type: WQ_TYPE_RQ,
        reserved: 0,
        wq_obj_handle: p.rq_obj,
    });
    assert_eq!(s, 0);
    assert_eq!(d.dev.ledger().counts().flushed, 1);
    assert_eq!(
        d.dev.ledger().lost().len(),
        1,
        "flushed, not yet released by a driver"
    );
    let (s, _) = d.send(DestroyWqObjReq {
        hdr: DestroyWqObjReq::header(d.mana),
        wq_type: WQ_TYPE_SQ,
        reserved: 0,
        wq_obj_handle: p.sq_obj,
    });
    assert_eq!(s, 0);
    assert_eq!(
        d.dev.live_objects().wqs,
        2,
        "only the HWC SQ and RQ are left"
    );
}

#[test]
fn cq_filled_eight_wraps_without_a_doorbell_breaks_the_hardware_rule() {
    let (mut d, peer, _, mut p, _) = rig(ManaModelConfig::default());
    let frame = FrameBuilder::udp4([1, 1, 1, 1], [2, 2, 2, 2], 10, 20).build();
    let o = short_oob(&p, 0, 0);
    // 64-entry TX CQ: 8 wraps = 512 CQEs, all consumed, none acknowledged.
    for i in 0..513 {
        d.post_tx(&mut p.sq, &o, &frame, None, 0);
        assert!(d.poll_cqe(&mut p.sq_cq).is_some(), "CQE {i}");
        peer.recv();
    }
    assert_eq!(d.dev.counters().cq_doorbell_rule_violations, 1);
    assert_eq!(p.sq_cq.expected(), (513 / 64 + 1) & 7);
}

#[test]
fn zero_latency_mode_keeps_no_ledger() {
    let (mut d, peer, _, mut p, _) = rig(ManaModelConfig {
        zero_latency: true,
        ..Default::default()
    });
    let frame = FrameBuilder::udp4([1, 1, 1, 1], [2, 2, 2, 2], 10, 20).build();
    let o = short_oob(&p, 0, 0);
    d.post_tx(&mut p.sq, &o, &frame, None, 0);
    d.post_rx(&mut p.rq, 1024);
    assert!(peer.recv().is_some());
    assert_eq!(d.dev.ledger().counts(), Default::default());
}
