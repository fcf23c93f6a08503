//! IO-path unit tests: TX with offloads (host and LLQ placement), RX
//! splitting, RSS, interrupts, IO faults and the ledger, with two models
//! back to back on a `Port::pair()` cable.

use cloudnic_common::rss::{queue_for_hash, toeplitz_hash, RssInput};
use cloudnic_ena::defs::admin::{
    BasicStats, FeatureId, GetStatsCmd, RssHashFunction, RssHashKeyBuffer, RssIndEntry,
    RssIndTable, SetFeatureCmd, STATS_TYPE_BASIC,
};
use cloudnic_ena::defs::io::{
    tx_offload_ctrl, RxCdescStatus, TxDesc, TxDescCtrl, TxDescMetaCtrl, TxMeta, TxMetaDesc,
    L3_PROTO_IPV4, L3_PROTO_IPV6, L4_PROTO_TCP, L4_PROTO_UDP,
};
use zerocopy::IntoBytes;

use super::test_driver::{Offload, Pair, RawDriver};
use super::EnaModelConfig;
use crate::ledger::BufKind;
use crate::net::{tso_segment, CsumMode, FrameBuilder};
use crate::wire::Port;
use crate::{Device, GuestMemory};

pub(super) const A: [u8; 4] = [192, 168, 1, 1];
pub(super) const B: [u8; 4] = [192, 168, 1, 2];

fn csum_offload(partial: bool) -> Offload {
    let mut flags = TxDescMetaCtrl::L3_CSUM_EN | TxDescMetaCtrl::L4_CSUM_EN;
    if partial {
        flags |= TxDescMetaCtrl::L4_CSUM_PARTIAL;
    }
    Offload {
        l3_proto: L3_PROTO_IPV4,
        l4_proto: L4_PROTO_TCP,
        flags,
        meta: None,
    }
}

/// Two brought-up devices on one cable, one queue pair each (vector 1).
pub(super) fn cable(cfg: EnaModelConfig) -> (RawDriver, Pair, RawDriver, Pair) {
    let (pa, pb) = Port::pair();
    let mut a = RawDriver::bring_up(cfg.clone());
    a.dev.connect(pa);
    let mut b = RawDriver::bring_up(cfg);
    b.dev.connect(pb);
    let qa = a.create_pair(1, 256, false);
    let qb = b.create_pair(1, 256, false);
    (a, qa, b, qb)
}

#[test]
fn tx_one_packet_with_checksum_offload_arrives_at_peer() {
    let (mut a, mut qa, mut b, mut qb) = cable(EnaModelConfig::default());
    let bufs = b.post_rx(&mut qb, 8, 2048, 100);
    let partial = FrameBuilder::tcp4(A, B, 40000, 80)
        .payload_len(700)
        .csum(CsumMode::Partial)
        .build();
    let full = FrameBuilder::tcp4(A, B, 40000, 80).payload_len(700).build();
    // Two buffers: headers and payload.
    a.queue_tx(
        &mut qa,
        7,
        &[&partial[..54], &partial[54..]],
        csum_offload(true),
    );
    a.ring_tx(&qa);
    let c = a.poll_tx(&mut qa);
    assert_eq!(c.len(), 1);
    assert_eq!(c[0].req_id, 7);
    assert!(!a.irq.take(1), "vector masked until the driver unmasks it");
    a.unmask(&qa);
    assert!(a.irq.take(1), "pending completion fires on unmask");
    assert!(a.dev.vector_masked(1), "and the vector auto-masks again");
    // The peer picks it up on tick and fills the checksums' verdict.
    b.unmask(&qb);
    b.dev.tick();
    let rx = b.poll_rx(&mut qb);
    assert_eq!(rx.len(), 1);
    let f = rx[0].flags();
    assert!(f.contains(RxCdescStatus::FIRST | RxCdescStatus::LAST | RxCdescStatus::BUFFER));
    assert!(f.contains(RxCdescStatus::L4_CSUM_CHECKED));
    assert!(!f.intersects(RxCdescStatus::L3_CSUM_ERR | RxCdescStatus::L4_CSUM_ERR));
    assert_eq!(
        (rx[0].l3_proto(), rx[0].l4_proto()),
        (L3_PROTO_IPV4, L4_PROTO_TCP)
    );
    assert_eq!(rx[0].req_id, 100);
    assert_eq!(usize::from(rx[0].length), full.len());
    assert_eq!(
        b.bytes(bufs[0], full.len()),
        full,
        "device computed the exact checksums"
    );
    assert!(b.irq.take(1));
    assert_eq!(a.dev.counters().frames_tx, 1);
    assert_eq!(b.dev.counters().frames_rx, 1);
    // Basic stats over the admin queue.
    let s: BasicStats = a
        .ok(&GetStatsCmd::new(STATS_TYPE_BASIC))
        .response()
        .unwrap();
    assert_eq!((s.tx_pkts_low, s.tx_bytes_low as usize), (1, full.len()));
    a.dev.ledger().check_clean(false).unwrap();
    assert!(b.dev.ledger().outstanding(Some(BufKind::Rx)).len() == 7);
}

#[test]
fn full_checksum_mode_and_bad_rx_checksums() {
    let (mut a, mut qa, mut b, mut qb) = cable(EnaModelConfig::default());
    b.post_rx(&mut qb, 4, 2048, 0);
    let zero = FrameBuilder::udp4(A, B, 5000, 53)
        .payload_len(33)
        .csum(CsumMode::Zero)
        .build();
    let off = Offload {
        l3_proto: L3_PROTO_IPV4,
        l4_proto: L4_PROTO_UDP,
        flags: TxDescMetaCtrl::L3_CSUM_EN | TxDescMetaCtrl::L4_CSUM_EN,
        meta: None,
    };
    a.queue_tx(&mut qa, 0, &[&zero], off);
    // A frame with a broken TCP checksum, sent without offload.
    let bad = FrameBuilder::tcp4(A, B, 1, 2)
        .payload_len(10)
        .csum(CsumMode::BadL4)
        .build();
    a.queue_tx(&mut qa, 1, &[&bad], Offload::default());
    a.ring_tx(&qa);
    assert_eq!(a.poll_tx(&mut qa).len(), 2);
    b.dev.tick();
    let rx = b.poll_rx(&mut qb);
    assert_eq!(rx.len(), 2);
    assert!(!rx[0].flags().contains(RxCdescStatus::L4_CSUM_ERR));
    assert_eq!(rx[0].l4_proto(), L4_PROTO_UDP);
    assert!(rx[1]
        .flags()
        .contains(RxCdescStatus::L4_CSUM_CHECKED | RxCdescStatus::L4_CSUM_ERR));
    assert_eq!(b.dev.counters().rx_l4_csum_bad, 1);
}

#[test]
fn tso_with_meta_and_meta_caching() {
    let (mut a, mut qa, b, _qb) = cable(EnaModelConfig::default());
    let frame = FrameBuilder::tcp4(A, B, 1234, 5201)
        .payload_len(9000)
        .csum(CsumMode::Partial)
        .build();
    let meta = TxMeta {
        mss: 1448,
        l3_hdr_len: 20,
        l3_hdr_offset: 14,
        l4_hdr_len_words: 5,
    };
    let flags = TxDescMetaCtrl::TSO_EN | TxDescMetaCtrl::L3_CSUM_EN | TxDescMetaCtrl::L4_CSUM_EN;
    let off = Offload {
        l3_proto: L3_PROTO_IPV4,
        l4_proto: L4_PROTO_TCP,
        flags,
        meta: Some(meta),
    };
    a.queue_tx(
        &mut qa,
        3,
        &[&frame[..54], &frame[54..5054], &frame[5054..]],
        off,
    );
    // Second packet: no meta descriptor, the cached one (MSS 1448) applies.
    a.queue_tx(&mut qa, 4, &[&frame], Offload { meta: None, ..off });
    a.ring_tx(&qa);
    let c = a.poll_tx(&mut qa);
    assert_eq!(c.iter().map(|c| c.req_id).collect::<Vec<_>>(), vec![3, 4]);
    assert_eq!(
        b.dev.port().unwrap().pending(),
        14,
        "7 segments per packet on the peer's wire"
    );
    assert_eq!(a.dev.counters().frames_tx, 14);
    assert_eq!(a.dev.counters().tso_packets, 2);
    assert_eq!(a.dev.counters().tx_meta_mismatch, 0);
    let expect = tso_segment(&frame, 1448).unwrap();
    assert_eq!(expect.len(), 7);
}

#[test]
fn tso_frames_on_the_wire_match_reference_segmentation() {
    let (pa, pb) = Port::pair();
    let mut a = RawDriver::bring_up(EnaModelConfig::default());
    a.dev.connect(pa);
    let mut qa = a.create_pair(1, 64, false);
    let frame = FrameBuilder::tcp6([0x20; 16], [0x21; 16], 1, 2)
        .payload_len(4000)
        .csum(CsumMode::Partial)
        .build();
    let meta = TxMeta {
        mss: 1000,
        l3_hdr_len: 40,
        l3_hdr_offset: 14,
        l4_hdr_len_words: 5,
    };
    let off = Offload {
        l3_proto: L3_PROTO_IPV6,
        l4_proto: L4_PROTO_TCP,
        flags: TxDescMetaCtrl::TSO_EN | TxDescMetaCtrl::L4_CSUM_EN,
        meta: Some(meta),
    };
    a.queue_tx(&mut qa, 9, &[&frame], off);
    a.ring_tx(&qa);
    let got: Vec<Vec<u8>> = std::iter::from_fn(|| pb.recv()).collect();
    assert_eq!(got, tso_segment(&frame, 1000).unwrap());
    assert_eq!(a.dev.counters().tx_meta_mismatch, 0);
}

/// Write one 128-byte LLQ line to BAR2 (2 descriptors before the header).
fn llq_line(a: &mut RawDriver, base: u32, line: u16, descs: &[[u64; 2]], header: &[u8]) {
    let mut buf = [0u8; 128];
    for (i, d) in descs.iter().enumerate() {
        buf[i * 16..i * 16 + 8].copy_from_slice(&d[0].to_le_bytes());
        buf[i * 16 + 8..i * 16 + 16].copy_from_slice(&d[1].to_le_bytes());
    }
    buf[32..32 + header.len()].copy_from_slice(header);
    let at = u64::from(base) + u64::from(line) * 128;
    for (i, w) in buf.chunks_exact(8).enumerate() {
        a.dev.mmio_write(
            2,
            at + 8 * i as u64,
            8,
            u64::from_le_bytes(w.try_into().unwrap()),
        );
    }
}

#[test]
fn llq_tx_with_inline_header() {
    let (pa, pb) = Port::pair();
    let mut a = RawDriver::bring_up(EnaModelConfig::default());
    a.dev.connect(pa);
    a.enable_llq();
    let mut q = a.create_pair(1, 64, true);
    let base = q.llq_off.unwrap();
    let frame = FrameBuilder::udp4(A, B, 7, 9)
        .payload_len(300)
        .csum(CsumMode::Zero)
        .build();
    let (hdr, rest) = frame.split_at(42);
    let buf = a.arena.alloc(rest.len(), 64).unwrap();
    a.arena.write(buf, rest).unwrap();
    // Line 0: meta + first data descriptor, then the pushed header.
    let meta = TxMeta {
        mss: 0,
        l3_hdr_len: 20,
        l3_hdr_offset: 14,
        l4_hdr_len_words: 2,
    };
    let m = TxMetaDesc::new(&meta, true).to_qwords();
    let offload = tx_offload_ctrl(
        L3_PROTO_IPV4,
        L4_PROTO_UDP,
        TxDescMetaCtrl::L3_CSUM_EN | TxDescMetaCtrl::L4_CSUM_EN,
    );
    let d = TxDesc::data(
        rest.len() as u16,
        11,
        buf,
        TxDescCtrl::PHASE | TxDescCtrl::COMP_REQ | TxDescCtrl::LAST,
        offload,
        42,
    )
    .to_qwords();
    llq_line(&mut a, base, 0, &[m, d], hdr);
    // Second packet: header only (no buffers), one descriptor of length 0.
    let small = FrameBuilder::udp4(A, B, 7, 9).payload_len(10).build();
    let d = TxDesc::data(
        0,
        12,
        0,
        TxDescCtrl::PHASE | TxDescCtrl::FIRST | TxDescCtrl::COMP_REQ | TxDescCtrl::LAST,
        0,
        small.len() as u8,
    )
    .to_qwords();
    llq_line(&mut a, base, 1, &[d], &small);
    q.tx_tail = 2;
    a.ring_tx(&q);
    assert_eq!(
        a.poll_tx(&mut q)
            .iter()
            .map(|c| c.req_id)
            .collect::<Vec<_>>(),
        vec![11, 12]
    );
    let f1 = pb.recv().unwrap();
    let full = FrameBuilder::udp4(A, B, 7, 9).payload_len(300).build();
    assert_eq!(f1, full);
    assert_eq!(pb.recv().unwrap(), small);
    assert_eq!(a.dev.counters().tx_desc_errors, 0);
}

#[test]
fn rx_splits_over_buffers_and_waits_for_buffers() {
    let (a_port, b_port) = Port::pair();
    let mut b = RawDriver::bring_up(EnaModelConfig::default());
    b.dev.connect(b_port);
    let mut q = b.create_pair(1, 16, false);
    let bufs = b.post_rx(&mut q, 2, 1024, 0);
    let big = FrameBuilder::tcp4(A, B, 1, 2).payload_len(1800).build();
    a_port.send(big.clone());
    a_port.send(big.clone());
    b.dev.tick();
    let rx = b.poll_rx(&mut q);
    assert_eq!(rx.len(), 2);
    assert!(
        rx[0].flags().contains(RxCdescStatus::FIRST)
            && !rx[0].flags().contains(RxCdescStatus::LAST)
    );
    assert!(
        rx[1].flags().contains(RxCdescStatus::LAST)
            && !rx[1].flags().contains(RxCdescStatus::FIRST)
    );
    assert_eq!(usize::from(rx[0].length + rx[1].length), big.len());
    let mut joined = b.bytes(bufs[0], 1024);
    joined.extend(b.bytes(bufs[1], usize::from(rx[1].length)));
    assert_eq!(joined, big);
    // Second frame waits for buffers, arrives with the next refill.
    assert!(b.poll_rx(&mut q).is_empty());
    b.post_rx(&mut q, 2, 1024, 2);
    assert_eq!(b.poll_rx(&mut q).len(), 2);
    b.dev.ledger().check_clean(false).unwrap();
}

#[test]
fn rss_spreads_by_programmed_key_and_table() {
    let (a_port, b_port) = Port::pair();
    let mut b = RawDriver::bring_up(EnaModelConfig::default());
    b.dev.connect(b_port);
    let mut qs: Vec<Pair> = (0..4).map(|i| b.create_pair(i + 1, 64, false)).collect();
    for q in qs.iter_mut() {
        b.post_rx(q, 32, 2048, 0);
    }
    let key: [u8; 40] = core::array::from_fn(|i| (i * 7 + 3) as u8);
    let kbuf = b.arena.alloc(48, 8).unwrap();
    b.arena
        .write(
            kbuf,
            RssHashKeyBuffer {
                key_parts: 10,
                reserved: 0,
                key,
            }
            .as_bytes(),
        )
        .unwrap();
    b.ok(&SetFeatureCmd::new(
        FeatureId::RssHashFunction,
        &RssHashFunction {
            supported_func: 0,
            selected_func: 2,
            init_val: 0,
        },
    )
    .with_ctrl_buffer(kbuf, 48));
    // Table entry i -> RX CQ of queue (i % 3): queue 3 gets nothing.
    let rx_cqs: Vec<u16> = qs
        .iter()
        .map(|q| b.dev.io.sq(q.rx_sq).unwrap().cq)
        .collect();
    let table: Vec<u16> = (0..128).map(|i| rx_cqs[i % 3]).collect();
    let tbuf = b.arena.alloc(512, 8).unwrap();
    let bytes: Vec<u8> = table
        .iter()
        .flat_map(|&c| {
            RssIndEntry {
                cq_idx: c,
                reserved: 0,
            }
            .as_bytes()
            .to_vec()
        })
        .collect();
    b.arena.write(tbuf, &bytes).unwrap();
    b.ok(&SetFeatureCmd::new(
        FeatureId::RssIndirectionTableConfig,
        &RssIndTable {
            size: 7,
            inline_index: u32::MAX,
            ..Default::default()
        },
    )
    .with_ctrl_buffer(tbuf, 512));
    let mut expected = [0usize; 4];
    for port in 0..40u16 {
        let f = FrameBuilder::udp4(A, B, 1000 + port, 4789)
            .payload_len(20)
            .build();
        let h = toeplitz_hash(
            &key,
            RssInput::ipv4_ports(A, B, 1000 + port, 4789).as_bytes(),
        );
        let cq = queue_for_hash(&table, h).unwrap();
        expected[rx_cqs.iter().position(|&c| c == cq).unwrap()] += 1;
        a_port.send(f);
        b.dev.tick();
        let got: Vec<(usize, u32)> = qs
            .iter_mut()
            .enumerate()
            .flat_map(|(i, q)| b.poll_rx(q).into_iter().map(move |c| (i, c.hash)))
            .collect();
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].1, h, "hash reported in the completion");
        assert_eq!(rx_cqs[got[0].0], cq, "steered by table[hash % 128]");
    }
    assert_eq!(expected[3], 0);
    assert!(expected[..3].iter().all(|&n| n > 0));
}

#[test]
fn zero_latency_mode_skips_the_ledger() {
    let cfg = EnaModelConfig {
        zero_latency: true,
        ..Default::default()
    };
    let (mut a, mut qa, mut b, mut qb) = cable(cfg);
    b.post_rx(&mut qb, 64, 2048, 0);
    let f = FrameBuilder::udp4(A, B, 1, 2).payload_len(64).build();
    for round in 0..10u16 {
        for i in 0..20u16 {
            a.queue_tx(&mut qa, round * 20 + i, &[&f], Offload::default());
        }
        a.ring_tx(&qa);
        assert_eq!(a.poll_tx(&mut qa).len(), 20);
        b.dev.tick();
        let n = b.poll_rx(&mut qb).len();
        b.post_rx(&mut qb, n as u16, 2048, 0);
    }
    assert_eq!(b.dev.counters().frames_rx, 200);
    assert_eq!(a.dev.ledger().counts().posted, 0);
}

/// Rough per-packet cost of the model's hot path (run with
/// `cargo test --release -p cloudnic-models -- --ignored --nocapture`).
#[test]
#[ignore]
fn zero_latency_throughput() {
    let cfg = EnaModelConfig {
        zero_latency: true,
        ..Default::default()
    };
    let (mut a, mut qa, mut b, mut qb) = cable(cfg);
    a.arena.set_strict(false);
    b.arena.set_strict(false);
    b.post_rx(&mut qb, 255, 2048, 0);
    let rx_buf = b.arena.alloc(2048, 64).unwrap();
    let f = FrameBuilder::udp4(A, B, 1, 2).payload_len(18).build();
    // Pre-build one ring's worth of descriptors pointing at one buffer.
    let buf = a.arena.alloc(f.len(), 64).unwrap();
    a.arena.write(buf, &f).unwrap();
    let t = std::time::Instant::now();
    let rounds = 2000u32;
    for _ in 0..rounds {
        for i in 0..64u16 {
            let phase = (qa.tx_tail / qa.depth).is_multiple_of(2);
            let mut ctrl = TxDescCtrl::FIRST | TxDescCtrl::LAST | TxDescCtrl::COMP_REQ;
            if phase {
                ctrl |= TxDescCtrl::PHASE;
            }
            let q = TxDesc::data(f.len() as u16, i, buf, ctrl, 0, 0).to_qwords();
            let slot = u64::from(qa.tx_tail % qa.depth);
            a.arena.store64(qa.tx_ring + slot * 16, q[0]);
            a.arena.store64(qa.tx_ring + slot * 16 + 8, q[1]);
            qa.tx_tail = qa.tx_tail.wrapping_add(1);
        }
        a.ring_tx(&qa);
        assert_eq!(a.poll_tx(&mut qa).len(), 64);
        b.dev.tick();
        let n = b.poll_rx(&mut qb).len() as u16;
        // Re-post one shared buffer (contents do not matter here).
        for _ in 0..n {
            let phase = (qb.rx_tail / qb.depth).is_multiple_of(2);
            let q = cloudnic_ena::defs::io::RxDesc::new(2048, 0, rx_buf, phase).to_qwords();
            let slot = u64::from(qb.rx_tail % qb.depth);
            b.arena.store64(qb.rx_ring + slot * 16, q[0]);
            b.arena.store64(qb.rx_ring + slot * 16 + 8, q[1]);
            qb.rx_tail = qb.rx_tail.wrapping_add(1);
        }
        b.w(qb.rx_db, u32::from(qb.rx_tail));
    }
    let pkts = u64::from(rounds) * 64;
    let ns = t.elapsed().as_nanos() as u64 / pkts;
    println!("model TX+RX: {ns} ns/packet ({} packets)", pkts);
    assert_eq!(b.dev.counters().frames_rx, pkts);
}
