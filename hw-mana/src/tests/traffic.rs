//! Open/close, TX WQE/OOB building, RX completions, RSS, stats.

extern crate std;

use std::vec::Vec;

use zerocopy::FromBytes;

use cloudnic_common::nic::{
    DmaSegment, L3Proto, L4Proto, NetDevice, Released, RssConfig, RssHashType, RxChecksum,
    RxPacket, TxError, TxOffload, TxPacket,
};
use cloudnic_common::ConfigError;
use cloudnic_common::Error;

use super::{buf, open, probe, qcfg, refill, send};
use crate::defs::eth::code as mana;
use crate::defs::eth_dp::{
    cqe_type, CqeHeader, NdisHashType, RxCompFlags, RxCompOob, RxPerPktInfo, TxOob, TxShortOob,
    MANA_CQE_COMPLETION,
};
use crate::fake::FakeDev;

fn rq_id(d: &super::Dev, q: u16) -> u32 {
    d.port(0).unwrap().qp(q).unwrap().rx.rq.id()
}

#[test]
fn open_creates_queues_in_linux_order_and_steers() {
    let (d, sh) = open(2);
    let dev = sh.dev.borrow();
    let after_probe = dev
        .requests
        .iter()
        .position(|c| *c == mana::CONFIG_VPORT_TX)
        .unwrap();
    let ops: Vec<u32> = dev.requests[after_probe..].to_vec();
    use crate::defs::gdma::code::*;
    let per_qp = [
        CREATE_DMA_REGION,
        CREATE_QUEUE,
        GENERATE_TEST_EQE,
        CREATE_DMA_REGION,
        CREATE_DMA_REGION,
        mana::CREATE_WQ_OBJ,
        CREATE_DMA_REGION,
        CREATE_DMA_REGION,
        mana::CREATE_WQ_OBJ,
    ];
    let mut want = std::vec![mana::CONFIG_VPORT_TX];
    want.extend_from_slice(&per_qp);
    want.extend_from_slice(&per_qp);
    want.push(mana::CONFIG_VPORT_RX);
    assert_eq!(ops, want);
    assert!(dev.rx_cfg.enabled && dev.rx_cfg.rss);
    assert_eq!(dev.rx_cfg.table.len(), 64);
    let h0 = d.port(0).unwrap().qp(0).unwrap().rx.obj_handle;
    let h1 = d.port(0).unwrap().qp(1).unwrap().rx.obj_handle;
    assert_eq!(dev.rx_cfg.default_obj, h0);
    assert_eq!(&dev.rx_cfg.table[..4], &[h0, h1, h0, h1]);
    assert_eq!(dev.rx_cfg.key.len(), 40);
    // Every DMA region was consumed by a queue.
    assert!(dev.regions.is_empty());
    assert!(d.link_up());
}

#[test]
fn bad_configuration_is_rejected_cleanly() {
    let (mut d, sh) = probe(FakeDev::new());
    let before = sh.dev.borrow().requests.len();
    let mut c = qcfg(1);
    c.tx_ring_size = 100;
    assert_eq!(
        d.open(c),
        Err(Error::InvalidConfig(ConfigError::RingSizeOutOfRange {
            requested: 100,
            min: 128,
            max: 16384
        }))
    );
    c.tx_ring_size = 384;
    assert_eq!(
        d.open(c),
        Err(Error::InvalidConfig(ConfigError::RingSizeNotPowerOfTwo {
            requested: 384
        }))
    );
    let mut c = qcfg(17);
    assert!(matches!(
        d.open(c),
        Err(Error::InvalidConfig(
            ConfigError::QueueCountOutOfRange { .. }
        ))
    ));
    c = qcfg(1);
    c.mtu = 9001;
    assert!(matches!(
        d.open(c),
        Err(Error::InvalidConfig(ConfigError::MtuOutOfRange {
            max: 9000,
            ..
        }))
    ));
    // Nothing reached the device.
    assert_eq!(sh.dev.borrow().requests.len(), before);
    assert!(!d.is_open());
    d.open(qcfg(1)).unwrap();
    assert_eq!(
        d.open(qcfg(1)),
        Err(Error::InvalidConfig(ConfigError::WrongState))
    );
}

#[test]
fn tx_short_oob_with_checksum() {
    let (mut d, sh) = open(1);
    let data = super::post_tcp(&mut d, &sh, None, 77);
    assert!(sh.dev.borrow().tx_log.is_empty(), "no doorbell before kick");
    d.tx_kick(0);
    let (sq, cq) = {
        let qp = d.port(0).unwrap().qp(0).unwrap();
        (qp.tx.sq.id(), qp.tx.cq.id())
    };
    {
        let dev = sh.dev.borrow();
        let rec = &dev.tx_log[0];
        assert_eq!(rec.data, data);
        assert_eq!(rec.sq, sq);
        assert_eq!(rec.oob.len(), 8);
        let s = TxShortOob::read_from_bytes(&rec.oob).unwrap();
        assert_eq!(
            s.flags(),
            TxShortOob::IS_OUTER_IPV4 | TxShortOob::COMP_IP_CSUM | TxShortOob::COMP_TCP_CSUM
        );
        assert_eq!(
            (s.cq_id(), s.trans_off(), s.vsq_frame()),
            (cq, 34, sq >> 10)
        );
        assert_eq!(rec.sgl[0].mem_key, 0x99);
    }
    let mut done = Vec::new();
    assert_eq!(d.tx_poll(0, 64, &mut |t| done.push(t)), 1);
    assert_eq!(done, [77]);
    let s = d.port(0).unwrap().tx_stats(0);
    assert_eq!(
        (s.packets, s.bytes, s.short_pkt_fmt, s.csum_partial),
        (1, 60, 1, 1)
    );
}

#[test]
fn tso_splits_headers_into_sge0_and_uses_the_long_oob_when_needed() {
    let mut fake = FakeDev::new();
    fake.cfg.vport_offset = 300; // > 255: long format
    let (mut d, sh) = probe(fake);
    d.open(qcfg(1)).unwrap();
    let payload: Vec<u8> = (0..200u32).map(|i| i as u8).collect();
    let seg = [
        DmaSegment {
            addr: buf(&sh, &payload, 200),
            len: 120,
        },
        DmaSegment {
            addr: buf(&sh, &payload[120..], 80),
            len: 80,
        },
    ];
    let off = TxOffload {
        l3: L3Proto::Ipv6,
        l4: L4Proto::Tcp,
        l3_offset: 14,
        l3_len: 40,
        l4_len: 20,
        l4_csum: true,
        tso_mss: 1400,
        ..Default::default()
    };
    d.tx_post(
        0,
        &TxPacket {
            segments: &seg,
            header: &payload,
            offload: off,
            token: 1,
        },
    )
    .unwrap();
    d.tx_kick(0);
    let dev = sh.dev.borrow();
    let rec = &dev.tx_log[0];
    let p = rec.hdr.params();
    assert!(p.oob_in_sgl());
    assert_eq!(p.client_data_unit(), 1400);
    assert_eq!(p.num_sge(), 3);
    assert_eq!(rec.hdr.last_vbytes(), 74);
    assert_eq!(
        (rec.sgl[0].size, rec.sgl[1].size, rec.sgl[2].size),
        (74, 46, 80)
    );
    assert_eq!(rec.sgl[1].address, rec.sgl[0].address + 74);
    assert_eq!(rec.oob.len(), 24);
    let o = TxOob::read_from_bytes(&rec.oob).unwrap();
    assert_eq!(o.s.pkt_fmt(), 1);
    assert_eq!(
        o.s.flags(),
        TxShortOob::IS_OUTER_IPV6 | TxShortOob::COMP_TCP_CSUM
    );
    assert_eq!(o.l.long_vport_offset(), 300);
    assert_eq!(rec.data.len(), 200);
    drop(dev);
    let s = d.port(0).unwrap().tx_stats(0);
    assert_eq!((s.tso_packets, s.tso_bytes, s.long_pkt_fmt), (1, 126, 1));
}

#[test]
fn tx_validation() {
    let (mut d, sh) = open(1);
    let a = buf(&sh, &[0; 64], 64);
    let segs: Vec<DmaSegment> = (0..31).map(|_| DmaSegment { addr: a, len: 2 }).collect();
    assert_eq!(
        d.tx_post(0, &pkt(&segs, TxOffload::default())),
        Err(TxError::TooManySegments)
    );
    assert_eq!(
        d.tx_post(0, &pkt(&segs[..30], TxOffload::default())),
        Ok(())
    );
    assert_eq!(
        d.tx_post(0, &pkt(&[], TxOffload::default())),
        Err(TxError::Invalid)
    );
    assert_eq!(
        d.tx_post(
            0,
            &pkt(&[DmaSegment { addr: a, len: 0 }], TxOffload::default())
        ),
        Err(TxError::Invalid)
    );
    // TSO with headers not all in the first segment.
    let tso = TxOffload {
        l3: L3Proto::Ipv4,
        l4: L4Proto::Tcp,
        l3_offset: 14,
        l3_len: 20,
        l4_len: 20,
        tso_mss: 1000,
        ..Default::default()
    };
    assert_eq!(d.tx_post(0, &pkt(&segs[..3], tso),), Err(TxError::Invalid));
    // UDP TSO is not TCP segmentation.
    let bad = TxOffload {
        l4: L4Proto::Udp,
        ..tso
    };
    assert_eq!(
        d.tx_post(
            0,
            &pkt(
                &[
                    DmaSegment { addr: a, len: 64 },
                    DmaSegment { addr: a, len: 64 }
                ],
                bad
            )
        ),
        Err(TxError::Invalid)
    );
    assert_eq!(
        d.tx_post(1, &pkt(&segs[..1], TxOffload::default())),
        Err(TxError::NotRunning)
    );
    // Fill the ring until NoSpace, then completions wake it.
    let mut n = 0;
    while send(&mut d, &sh, 0, &[1; 60], 100 + n).is_ok() {
        n += 1;
    }
    assert_eq!(d.tx_space(0), 0);
    assert!(n > 50);
    d.tx_kick(0);
    let mut done = 0;
    d.tx_poll(0, 1000, &mut |_| done += 1);
    assert_eq!(done, n + 1);
    let s = d.port(0).unwrap().tx_stats(0);
    assert_eq!((s.stop_queue, s.wake_queue), (1, 1));
    assert_eq!(d.port(0).unwrap().tx_linear_pkt_cnt, 1);
}

fn pkt(s: &[DmaSegment], off: TxOffload) -> TxPacket<'_> {
    TxPacket {
        segments: s,
        header: &[],
        offload: off,
        token: 0,
    }
}

#[test]
fn rx_checksum_hash_and_truncation() {
    let (mut d, sh) = open(1);
    assert_eq!(refill(&mut d, &sh, 0, 4, 2048, 500), 4);
    assert_eq!(d.rx_space(0), 124);
    let rq = rq_id(&d, 0);
    let frame: Vec<u8> = (0..100u8).collect();
    let flags = RxCompFlags::new(
        None,
        NdisHashType::TCP_IPV4,
        RxCompFlags::IP_CSUM_OK | RxCompFlags::TCP_CSUM_OK,
    );
    assert!(sh
        .dev
        .borrow_mut()
        .deliver_rx(&mut sh.mem.borrow_mut(), rq, &frame, flags, 0xABCD));
    let big = std::vec![7u8; 3000];
    assert!(sh
        .dev
        .borrow_mut()
        .deliver_rx(&mut sh.mem.borrow_mut(), rq, &big, RxCompFlags(0), 0));
    let bad = RxCompFlags::new(None, NdisHashType::UDP_IPV6, RxCompFlags::UDP_CSUM_FAIL);
    assert!(sh
        .dev
        .borrow_mut()
        .deliver_rx(&mut sh.mem.borrow_mut(), rq, &frame[..64], bad, 5));
    let mut got = Vec::new();
    let n = d.rx_poll(0, 64, &mut |p: &RxPacket<'_>| {
        got.push((
            p.frags[0].token,
            p.len,
            p.csum,
            p.hash,
            p.hash_type,
            p.l3,
            p.l4,
        ))
    });
    assert_eq!(n, 2);
    assert_eq!(
        got[0],
        (
            500,
            100,
            RxChecksum::Good,
            0xABCD,
            RssHashType::L4,
            L3Proto::Ipv4,
            L4Proto::Tcp
        )
    );
    // The truncated packet's buffer (501) was recycled, so 502 carries the third frame.
    assert_eq!(
        got[1],
        (
            502,
            64,
            RxChecksum::Bad,
            5,
            RssHashType::L4,
            L3Proto::Ipv6,
            L4Proto::Udp
        )
    );
    let s = d.port(0).unwrap().rx_stats(0);
    assert_eq!(
        (s.packets, s.bytes, s.truncated, s.csum_good, s.csum_bad),
        (2, 164, 1, 1, 1)
    );
    // 501 was re-posted at the tail: 2 buffers remain (501 and 503).
    assert_eq!(d.rx_space(0), 126);
}

#[test]
fn coalesced_completion_respects_the_budget() {
    let (mut d, sh) = open(1);
    refill(&mut d, &sh, 0, 8, 2048, 10);
    let rq = rq_id(&d, 0);
    let mut oob = RxCompOob {
        cqe_hdr: CqeHeader::new(cqe_type::RX_COALESCED_4, MANA_CQE_COMPLETION, 0).0,
        ..Default::default()
    };
    for (i, len) in [60u16, 61, 62].iter().enumerate() {
        oob.ppi[i] = RxPerPktInfo {
            pkt_len: *len,
            reserved1: 0,
            reserved2: 0,
            pkt_hash: i as u32,
        };
    }
    sh.dev
        .borrow_mut()
        .post_rx_oob(&mut sh.mem.borrow_mut(), rq, &oob, 3);
    let mut got = Vec::new();
    assert_eq!(
        d.rx_poll(0, 2, &mut |p: &RxPacket<'_>| got.push((
            p.frags[0].token,
            p.len,
            p.hash
        ))),
        2
    );
    assert_eq!(
        d.rx_poll(0, 2, &mut |p: &RxPacket<'_>| got.push((
            p.frags[0].token,
            p.len,
            p.hash
        ))),
        1
    );
    assert_eq!(got, [(10, 60, 0), (11, 61, 1), (12, 62, 2)]);
    assert_eq!(d.port(0).unwrap().rx_stats(0).coalesced_cqe_3, 1);
}

#[test]
fn loopback_and_close_return_every_token_once() {
    let (mut d, sh) = open(1);
    sh.dev.borrow_mut().loopback = true;
    refill(&mut d, &sh, 0, 16, 2048, 1000);
    for i in 0..5 {
        send(&mut d, &sh, 0, &[i as u8; 100], i).unwrap();
    }
    d.tx_kick(0);
    let mut rx = Vec::new();
    assert_eq!(
        d.rx_poll(0, 64, &mut |p: &RxPacket<'_>| rx.push(p.frags[0].token)),
        5
    );
    assert_eq!(rx, [1000, 1001, 1002, 1003, 1004]);
    // Two more packets never complete.
    sh.dev.borrow_mut().faults.withhold_tx_cqe = true;
    sh.dev.borrow_mut().loopback = false;
    send(&mut d, &sh, 0, &[9; 60], 50).unwrap();
    send(&mut d, &sh, 0, &[9; 60], 51).unwrap();
    d.tx_kick(0);
    let mut done = Vec::new();
    d.tx_poll(0, 64, &mut |t| done.push(t));
    assert_eq!(done, [0, 1, 2, 3, 4]);
    let mut rel = Vec::new();
    d.close(&mut |r| rel.push(r)).unwrap();
    let mut tx: Vec<u64> = rel
        .iter()
        .filter_map(|r| {
            if let Released::Tx(t) = r {
                Some(*t)
            } else {
                None
            }
        })
        .collect();
    let mut rxr: Vec<u64> = rel
        .iter()
        .filter_map(|r| {
            if let Released::Rx(t) = r {
                Some(*t)
            } else {
                None
            }
        })
        .collect();
    tx.sort();
    rxr.sort();
    assert_eq!(tx, [50, 51]);
    assert_eq!(rxr, (1005..1016).collect::<Vec<u64>>());
    let dev = sh.dev.borrow();
    assert!(dev.objs.is_empty(), "WQ objects destroyed");
    assert_eq!(dev.eqs.len(), 1, "only the HWC EQ is left");
    assert!(!dev.rx_cfg.enabled);
    assert!(dev.requests.contains(&mana::FENCE_RQ));
    drop(dev);
    assert!(!d.is_open());
    // Counters survive the close.
    assert_eq!(d.port(0).unwrap().rx_stats(0).packets, 5);
}

#[test]
fn rss_updates_are_validated_and_sent() {
    let (mut d, sh) = open(4);
    let mut key = [0u8; 40];
    key[0] = 0x6d;
    assert_eq!(
        d.set_rss(&RssConfig {
            key: Some(&key[..39]),
            table: None
        }),
        Err(Error::InvalidConfig(ConfigError::RssKeyLength {
            given: 39,
            expected: 40
        }))
    );
    let mut table = [0u16; 64];
    table[5] = 4;
    assert!(matches!(
        d.set_rss(&RssConfig {
            key: None,
            table: Some(&table)
        }),
        Err(Error::InvalidConfig(ConfigError::RssTable { .. }))
    ));
    table[5] = 3;
    d.set_rss(&RssConfig {
        key: Some(&key),
        table: Some(&table),
    })
    .unwrap();
    let h3 = d.port(0).unwrap().qp(3).unwrap().rx.obj_handle;
    let h0 = d.port(0).unwrap().qp(0).unwrap().rx.obj_handle;
    {
        let dev = sh.dev.borrow();
        assert_eq!(dev.rx_cfg.key[0], 0x6d);
        assert_eq!(dev.rx_cfg.table[5], h3);
        assert_eq!(dev.rx_cfg.table[6], h0);
    }
    let (mut k2, mut t2) = ([0u8; 40], [0u16; 64]);
    assert_eq!(d.get_rss(&mut k2, &mut t2), (40, 64));
    assert_eq!((k2, t2), (key, table));
    // A device refusal keeps the old configuration.
    sh.dev.borrow_mut().faults.status = Some((mana::CONFIG_VPORT_RX, 9, 1));
    let t3 = [1u16; 64];
    assert_eq!(
        d.set_rss(&RssConfig {
            key: None,
            table: Some(&t3)
        }),
        Err(Error::DeviceStatus(9))
    );
    d.get_rss(&mut k2, &mut t2);
    assert_eq!(t2, table);
}

#[test]
fn reconfigure_and_stats_names() {
    let (mut d, sh) = open(1);
    let mut rel = Vec::new();
    d.reconfigure(qcfg(2), &mut |r| rel.push(r)).unwrap();
    assert_eq!(d.queue_config().num_queues, 2);
    assert!(d.port(0).unwrap().qp(1).is_some());
    send(&mut d, &sh, 1, &[3; 80], 9).unwrap();
    d.tx_kick(1);
    d.tx_poll(1, 8, &mut |_| {});
    d.health_check();
    let mut names = Vec::new();
    d.for_each_stat(&mut |n, v| names.push((std::format!("{n}"), v)));
    let pos = |s: &str| {
        names
            .iter()
            .position(|(n, _)| n == s)
            .unwrap_or_else(|| panic!("missing {s}"))
    };
    assert!(pos("stop_queue") < pos("hc_rx_discards_no_wqe"));
    assert!(pos("hc_tx_err_gdma") < pos("hc_tc7_tx_pause_phy"));
    assert!(pos("hc_tc7_tx_pause_phy") < pos("rx_0_packets"));
    assert!(pos("rx_1_packets") < pos("tx_0_packets"));
    assert_eq!(names[pos("tx_1_packets")].1, 1);
    // GF stats were fetched by the health check: hc_tx_bytes = 80.
    assert_eq!(names[pos("hc_tx_bytes")].1, 80);
    assert!(pos("total_resets") > pos("tx_1_packets"));
}

#[test]
fn arming_raises_one_interrupt_and_cq_doorbell_every_four_wraps() {
    let (mut d, sh) = open(1);
    let (eq, tx_cq, sq) = {
        let qp = d.port(0).unwrap().qp(0).unwrap();
        (qp.eq.id(), qp.tx.cq.id(), qp.tx.sq.id())
    };
    assert!(sh.dev.borrow().wqs[&sq].is_sq);
    d.note_queue_interrupt(0);
    d.unmask_queue_interrupt(0);
    send(&mut d, &sh, 0, &[1; 60], 1).unwrap();
    send(&mut d, &sh, 0, &[1; 60], 2).unwrap();
    d.tx_kick(0);
    // Armed CQ → one COMPLETION EQE → armed EQ → one interrupt; the second CQE is silent.
    assert_eq!(sh.dev.borrow().irqs(eq), 1);
    d.note_queue_interrupt(0);
    assert_eq!(d.tx_poll(0, 64, &mut |_| {}), 2);
    d.unmask_queue_interrupt(0);
    assert_eq!(d.port(0).unwrap().qp(0).unwrap().eq_stats.eqes, 1);
    // Busy polling without re-arming: the CQ doorbell still goes out (arm 0)
    // once 4 × 128 CQEs were consumed.
    sh.dev.borrow_mut().cq_doorbells.clear();
    let mut total = 0;
    while total < 4 * 128 {
        for i in 0..100 {
            send(&mut d, &sh, 0, &[2; 60], i).unwrap();
        }
        d.tx_kick(0);
        total += d.tx_poll(0, 1000, &mut |_| {});
    }
    let dbs: Vec<(u32, u32, bool)> = sh
        .dev
        .borrow()
        .cq_doorbells
        .iter()
        .copied()
        .filter(|c| c.0 == tx_cq)
        .collect();
    assert_eq!(dbs.len(), 1);
    assert!(!dbs[0].2);
    // The index carries the phase: head mod (entries × 8).
    let head = d.port(0).unwrap().qp(0).unwrap().tx.cq.head();
    assert!(dbs[0].1 <= head % (128 * 8));
}

#[test]
fn vports_have_their_own_mac_queues_and_share_one_reset() {
    let mut fake = FakeDev::new();
    fake.cfg.vports.push([0x02, 0, 0, 0, 0, 0x22]);
    let (plat, bar, sh) = crate::fake::setup(fake);
    let mut c = super::cfg();
    c.max_ports = 2;
    let mut d = crate::ManaDevice::probe(plat, bar, c).unwrap();
    d.port_view(0).unwrap().open(qcfg(1)).unwrap();
    {
        let mut p1 = d.port_view(1).unwrap();
        assert_eq!(p1.info().mac, [0x02, 0, 0, 0, 0, 0x22]);
        p1.open(qcfg(2)).unwrap();
        assert_eq!(p1.queue_config().num_queues, 2);
    }
    let (h0, h1) = (
        d.port(0).unwrap().info.handle,
        d.port(1).unwrap().info.handle,
    );
    assert_ne!(h0, h1);
    assert_ne!(
        d.port(0).unwrap().qp(0).unwrap().tx.sq.id(),
        d.port(1).unwrap().qp(0).unwrap().tx.sq.id()
    );
    let mut rel = Vec::new();
    d.port_view(1).unwrap().close(&mut |r| rel.push(r)).unwrap();
    assert!(d.is_open() && !d.port(1).unwrap().is_open());
    d.port_view(1).unwrap().open(qcfg(2)).unwrap();
    // A reset through either view covers the whole function.
    d.port_view(1)
        .unwrap()
        .reset(cloudnic_common::ResetReason::UserTrigger, &mut |r| {
            rel.push(r)
        })
        .unwrap();
    assert!(d.is_open() && d.port(1).unwrap().is_open());
    assert_eq!(d.port(1).unwrap().num_open(), 2);
    assert_eq!(sh.dev.borrow().objs.len(), 6);
}
