//! TX ring tests: the test plays the device by reading descriptors from the
//! fake SQ / BAR 2 memory and writing completions into the CQ memory.

extern crate std;

use std::vec::Vec;

use cloudnic_common::nic::{DmaSegment, L3Proto, L4Proto, Released, TxError, TxOffload, TxPacket};
use cloudnic_common::ResetReason;

use super::*;
use crate::defs::io::*;
use crate::io::test_support::{FakeBar, FakePlat, TxDev as Dev};

const DB: u32 = 0x100;
const UNMASK: u32 = 0x200;
const LLQ_BASE: u32 = 0x1000;

fn host(depth: u16, max_sgl: u16) -> TxRingParams {
    TxRingParams {
        depth,
        max_sgl,
        max_header_size: 96,
        placement: TxPlacement::Host,
        cdesc_mbz_checked: true,
    }
}

fn ring(plat: &FakePlat, p: &TxRingParams) -> TxRing<FakePlat> {
    let mut r = TxRing::new(plat, p).unwrap();
    r.attach(DB, LLQ_BASE, UNMASK);
    r
}

fn pkt<'a>(segs: &'a [DmaSegment], header: &'a [u8], token: u64) -> TxPacket<'a> {
    TxPacket {
        segments: segs,
        header,
        offload: TxOffload::default(),
        token,
    }
}

fn seg(addr: u64, len: u32) -> DmaSegment {
    DmaSegment { addr, len }
}

fn poll_all(r: &mut TxRing<FakePlat>, plat: &FakePlat) -> Result<Vec<u64>, ResetReason> {
    let mut got = Vec::new();
    r.poll(plat, 1024, &mut |t| got.push(t))?;
    Ok(got)
}

#[test]
fn host_post_kick_complete() {
    let plat = FakePlat::new();
    let bar = FakeBar::default();
    let mut r = ring(&plat, &host(8, 4));
    let mut dev = Dev::new(&plat, &r);
    assert_eq!(r.cq_entry_words(), 2);
    assert_eq!(r.cq_bus_addr() % 4096, 0);
    let segs = [seg(0x1_0000_1000, 1000), seg(0x2_0000_0000, 500)];
    r.post(&plat, &bar, None, &pkt(&segs, &[], 77), 5).unwrap();
    assert!(bar.writes_to(DB).is_empty(), "no doorbell before kick");
    r.kick(&bar);
    r.kick(&bar); // nothing new: no second write
    assert_eq!(bar.writes_to(DB), [2]);
    let d0 = dev.sq_desc(0);
    let d1 = dev.sq_desc(1);
    assert_eq!(
        d0.ctrl(),
        TxDescCtrl::PHASE | TxDescCtrl::FIRST | TxDescCtrl::COMP_REQ
    );
    assert_eq!(
        (d0.length(), d0.addr(), d0.req_id()),
        (1000, 0x1_0000_1000, 0)
    );
    assert_eq!(d1.ctrl(), TxDescCtrl::PHASE | TxDescCtrl::LAST);
    assert_eq!((d1.length(), d1.addr()), (500, 0x2_0000_0000));
    assert_eq!(r.free_slots(), 5);
    assert!(!r.cq_has_completion());
    dev.complete(0);
    assert!(r.cq_has_completion());
    let before = plat.read_barriers.get();
    assert_eq!(poll_all(&mut r, &plat).unwrap(), [77]);
    assert_eq!(plat.read_barriers.get(), before + 1);
    assert_eq!(r.free_slots(), 7);
    let s = r.stats();
    assert_eq!((s.cnt, s.bytes, s.doorbells, s.tx_poll), (1, 1500, 1, 1));
}

#[test]
fn wraps_many_times_with_out_of_order_completions() {
    let plat = FakePlat::new();
    let bar = FakeBar::default();
    let mut r = ring(&plat, &host(8, 2));
    let mut dev = Dev::new(&plat, &r);
    let mut next_token = 0u64;
    let mut expect = Vec::new();
    let mut sq_slot = 0u16;
    for round in 0..200u32 {
        // Three packets of 2 descriptors fit in a depth-8 ring (7 usable).
        let mut ids = Vec::new();
        for _ in 0..3 {
            let segs = [seg(0x1000, 60), seg(0x2000, 40)];
            r.post(&plat, &bar, None, &pkt(&segs, &[], next_token), 0)
                .unwrap();
            let d = dev.sq_desc(sq_slot);
            assert_eq!(
                d.ctrl().contains(TxDescCtrl::PHASE),
                sq_slot & 8 == 0,
                "SQ phase at {sq_slot}"
            );
            ids.push(d.req_id());
            expect.push(next_token);
            next_token += 1;
            sq_slot = sq_slot.wrapping_add(2);
        }
        let two = [seg(1, 1), seg(2, 2)];
        assert_eq!(
            r.post(&plat, &bar, None, &pkt(&two, &[], 999), 0),
            Err(TxError::NoSpace)
        );
        r.kick(&bar);
        if round % 2 == 1 {
            ids.reverse();
            let n = expect.len();
            expect[n - 3..].reverse();
        }
        for id in ids {
            dev.complete(id);
        }
        assert_eq!(poll_all(&mut r, &plat).unwrap(), expect[expect.len() - 3..]);
        assert_eq!(r.in_flight(), 0);
        assert_eq!(r.free_slots(), 7);
    }
    assert_eq!(r.stats().cnt, 600);
    assert_eq!(*bar.writes_to(DB).last().unwrap(), u32::from(sq_slot));
}

#[test]
fn bad_and_duplicate_req_ids() {
    let plat = FakePlat::new();
    let bar = FakeBar::default();
    let mut r = ring(&plat, &host(8, 2));
    let mut dev = Dev::new(&plat, &r);
    r.post(&plat, &bar, None, &pkt(&[seg(1, 10)], &[], 1), 0)
        .unwrap();
    dev.complete(8); // out of range
    assert_eq!(poll_all(&mut r, &plat), Err(ResetReason::InvalidTxReqId));
    assert_eq!(r.stats().bad_req_id, 1);

    let mut r = ring(&plat, &host(8, 2));
    let mut dev = Dev::new(&plat, &r);
    r.post(&plat, &bar, None, &pkt(&[seg(1, 10)], &[], 1), 0)
        .unwrap();
    dev.complete(0);
    dev.complete(0); // duplicate
    let mut got = Vec::new();
    assert_eq!(
        r.poll(&plat, 8, &mut |t| got.push(t)),
        Err(ResetReason::InvalidTxReqId)
    );
    assert_eq!(got, [1], "the first completion was delivered exactly once");
    dev.complete(3); // in range, never posted
    let mut r2 = ring(&plat, &host(8, 2));
    let mut dev2 = Dev::new(&plat, &r2);
    dev2.complete(3);
    assert_eq!(poll_all(&mut r2, &plat), Err(ResetReason::InvalidTxReqId));
}

#[test]
fn mbz_bits_checked_only_with_capability() {
    let plat = FakePlat::new();
    let bar = FakeBar::default();
    for checked in [true, false] {
        let mut p = host(8, 2);
        p.cdesc_mbz_checked = checked;
        let mut r = ring(&plat, &p);
        let mut dev = Dev::new(&plat, &r);
        r.post(&plat, &bar, None, &pkt(&[seg(1, 10)], &[], 5), 0)
            .unwrap();
        dev.complete_raw(0, 0x80);
        let res = poll_all(&mut r, &plat);
        if checked {
            assert_eq!(res, Err(ResetReason::TxDescriptorMalformed));
        } else {
            assert_eq!(res.unwrap(), [5]);
        }
    }
}

fn tcp4_csum() -> TxOffload {
    TxOffload {
        l3: L3Proto::Ipv4,
        l4: L4Proto::Tcp,
        l3_offset: 14,
        l3_len: 20,
        l4_len: 32,
        l4_csum: true,
        l4_csum_partial: true,
        ipv4_df: true,
        ..TxOffload::default()
    }
}

#[test]
fn meta_descriptor_and_caching() {
    let plat = FakePlat::new();
    let bar = FakeBar::default();
    let mut r = ring(&plat, &host(16, 4));
    let dev = Dev::new(&plat, &r);
    let segs = [seg(0x5000, 1514)];
    let mut p = pkt(&segs, &[], 1);
    p.offload = tcp4_csum();
    r.post(&plat, &bar, None, &p, 0).unwrap();
    let m = TxMetaDesc::from_qwords(dev.sq_desc(0).to_qwords());
    assert!(m.ctrl().contains(
        TxMetaCtrl::META_DESC | TxMetaCtrl::FIRST | TxMetaCtrl::PHASE | TxMetaCtrl::META_STORE
    ));
    assert_eq!(
        m.meta(),
        TxMeta {
            mss: 0,
            l3_hdr_len: 20,
            l3_hdr_offset: 14,
            l4_hdr_len_words: 0
        }
    );
    let d = dev.sq_desc(1);
    assert_eq!(
        d.ctrl(),
        TxDescCtrl::PHASE | TxDescCtrl::COMP_REQ | TxDescCtrl::LAST,
        "FIRST is on the meta"
    );
    assert_eq!((d.l3_proto(), d.l4_proto()), (L3_PROTO_IPV4, L4_PROTO_TCP));
    assert_eq!(
        d.offload_flags(),
        TxDescMetaCtrl::L4_CSUM_EN | TxDescMetaCtrl::L4_CSUM_PARTIAL | TxDescMetaCtrl::DF
    );
    assert_eq!(d.header_len(), 66, "host mode: L4 header end");
    // Same metadata again: cached, no meta descriptor.
    p.token = 2;
    r.post(&plat, &bar, None, &p, 0).unwrap();
    assert!(!dev.sq_desc(2).is_meta());
    assert!(dev.sq_desc(2).ctrl().contains(TxDescCtrl::FIRST));
    // TSO changes the metadata: meta again, with MSS and L4 length.
    p.offload.tso_mss = 1448;
    p.token = 3;
    r.post(&plat, &bar, None, &p, 0).unwrap();
    let m = TxMetaDesc::from_qwords(dev.sq_desc(3).to_qwords());
    assert_eq!(
        m.meta(),
        TxMeta {
            mss: 1448,
            l3_hdr_len: 20,
            l3_hdr_offset: 14,
            l4_hdr_len_words: 8
        }
    );
    let d = dev.sq_desc(4);
    assert_eq!(
        d.offload_flags(),
        TxDescMetaCtrl::TSO_EN
            | TxDescMetaCtrl::L4_CSUM_EN
            | TxDescMetaCtrl::L3_CSUM_EN
            | TxDescMetaCtrl::DF
    );
    // No offload: no meta, cache untouched.
    let plain = pkt(&segs, &[], 4);
    r.post(&plat, &bar, None, &plain, 0).unwrap();
    assert!(!dev.sq_desc(5).is_meta());
    assert_eq!(dev.sq_desc(5).header_len(), 0);
}

#[test]
fn post_validation() {
    let plat = FakePlat::new();
    let bar = FakeBar::default();
    let mut r = ring(&plat, &host(16, 2));
    assert_eq!(
        r.post(&plat, &bar, None, &pkt(&[], &[], 1), 0),
        Err(TxError::Invalid)
    );
    assert_eq!(
        r.post(&plat, &bar, None, &pkt(&[seg(1, 0)], &[], 1), 0),
        Err(TxError::Invalid)
    );
    assert_eq!(
        r.post(&plat, &bar, None, &pkt(&[seg(1, 65536)], &[], 1), 0),
        Err(TxError::Invalid)
    );
    let three = [seg(1, 1), seg(2, 1), seg(3, 1)];
    assert_eq!(
        r.post(&plat, &bar, None, &pkt(&three, &[], 1), 0),
        Err(TxError::TooManySegments)
    );
    // Two segments plus a meta descriptor exceed max_sgl = 2.
    let mut p = pkt(&three[..2], &[], 1);
    p.offload = tcp4_csum();
    assert_eq!(
        r.post(&plat, &bar, None, &p, 0),
        Err(TxError::TooManySegments)
    );
    p.offload.tso_mss = 1000;
    p.offload.l4 = L4Proto::Udp;
    assert_eq!(
        r.post(&plat, &bar, None, &pkt(&three[..1], &[], 1), 0),
        Ok(())
    );
    let mut bad = pkt(&three[..1], &[], 1);
    bad.offload = p.offload; // TSO over UDP
    assert_eq!(r.post(&plat, &bar, None, &bad, 0), Err(TxError::Invalid));
    assert_eq!(r.stats().prepare_ctx_err, 6);
    assert_eq!(r.stats().cnt, 1);
    assert_eq!(r.in_flight(), 1, "refused packets hold no req_id");
}

#[test]
fn release_timeouts_and_oldest() {
    let plat = FakePlat::new();
    let bar = FakeBar::default();
    let mut r = ring(&plat, &host(8, 1));
    let mut dev = Dev::new(&plat, &r);
    for (tok, t) in [(10u64, 100u64), (11, 200), (12, 300)] {
        r.post(&plat, &bar, None, &pkt(&[seg(1, 10)], &[], tok), t)
            .unwrap();
    }
    assert_eq!(r.oldest_pending_us(), Some(100));
    assert_eq!(r.timed_out_packets(1_000, 750), 2);
    assert_eq!(r.timed_out_packets(1_000, 750), 2);
    assert_eq!(r.stats().missed_tx, 2, "each late packet counted once");
    assert_eq!(r.stats().pending_timedout_pkts, 2);
    // Completions waiting in the CQ, peeked: only late packets count.
    dev.complete(0);
    dev.complete(2);
    assert_eq!(r.late_completions_in_cq(&plat), 1);
    assert_eq!(
        r.late_completions_in_cq(&plat),
        1,
        "peeking consumes nothing"
    );
    assert_eq!(poll_all(&mut r, &plat).unwrap(), [10, 12]);
    assert_eq!(r.late_completions_in_cq(&plat), 0);
    assert_eq!(
        r.stats().pending_timedout_pkts,
        1,
        "a completed late packet leaves the gauge"
    );
    assert_eq!(r.stats().missed_tx, 2, "the history stays");
    assert_eq!(r.oldest_pending_us(), Some(200));
    let mut rel = Vec::new();
    r.release_all(&mut |x| rel.push(x));
    assert_eq!(rel, [Released::Tx(11)]);
    assert_eq!(
        r.stats().pending_timedout_pkts,
        0,
        "released: nothing pending"
    );
    assert_eq!(r.oldest_pending_us(), None);
    assert_eq!(r.in_flight(), 0);
    r.unmask(&bar, 20, 64);
    assert_eq!(bar.writes_to(UNMASK), [20 | 64 << 15 | 1 << 30]);
    assert_eq!(r.stats().unmask_interrupt, 1);
}

#[test]
fn stop_wake_and_space() {
    let plat = FakePlat::new();
    let bar = FakeBar::default();
    let mut r = ring(&plat, &host(32, 4));
    assert_eq!(r.space(), 31 / 4);
    assert!(!r.should_stop());
    let segs = [seg(1, 1), seg(2, 1), seg(3, 1), seg(4, 1)];
    let mut n = 0;
    while !r.should_stop() {
        r.post(&plat, &bar, None, &pkt(&segs, &[], n), 0).unwrap();
        n += 1;
    }
    // Stops once fewer than max_sgl + 2 = 6 descriptors are free.
    assert!(r.free_slots() < 6);
    assert!(!r.can_wake());
    assert_eq!(n, 7);
}

#[test]
fn reinit_after_release_starts_a_fresh_pass() {
    let plat = FakePlat::new();
    let bar = FakeBar::default();
    let mut r = ring(&plat, &host(8, 1));
    let mut dev = Dev::new(&plat, &r);
    for t in 0..3 {
        r.post(&plat, &bar, None, &pkt(&[seg(1, 10)], &[], t), 0)
            .unwrap();
    }
    dev.complete(0);
    assert_eq!(poll_all(&mut r, &plat).unwrap(), [0]);
    let mut rel = Vec::new();
    r.release_all(&mut |x| rel.push(x));
    assert_eq!(rel.len(), 2);
    r.reinit();
    assert!(
        !r.cq_has_completion(),
        "the old phase-1 completion was wiped"
    );
    assert_eq!(r.free_slots(), 7);
    let mut dev = Dev::new(&plat, &r);
    r.post(&plat, &bar, None, &pkt(&[seg(1, 10)], &[], 42), 0)
        .unwrap();
    r.kick(&bar);
    assert_eq!(bar.writes_to(DB).last(), Some(&1), "tail restarts at 0");
    assert_eq!(dev.sq_desc(0).req_id(), 0);
    dev.complete(0);
    assert_eq!(poll_all(&mut r, &plat).unwrap(), [42]);
}

/// The short path (`post`) and the general path (`post_general`) leave the
/// same descriptors, req_ids, tokens, counters and refusals for every
/// one-segment packet, across ring wraps, a full ring and out-of-order
/// completions.
#[test]
fn plain_path_matches_general_path() {
    let plat = FakePlat::new();
    let bar = FakeBar::default();
    let mut fast = ring(&plat, &host(16, 4));
    let mut slow = ring(&plat, &host(16, 4));
    let mut dev_fast = Dev::new(&plat, &fast);
    let mut dev_slow = Dev::new(&plat, &slow);
    let df = TxOffload {
        l3: L3Proto::Ipv4,
        ipv4_df: true,
        ..TxOffload::default()
    };
    let udp = TxOffload {
        l3: L3Proto::Ipv4,
        l4: L4Proto::Udp,
        l3_offset: 14,
        l3_len: 20,
        l4_len: 8,
        ipv4_df: true,
        ..TxOffload::default()
    };
    let offloads = [TxOffload::default(), df, udp, tcp4_csum()];
    let lens = [60u32, 1, 42, 65535, 0, 65536, 1514];
    let mut rng: u32 = 0x2545_F491;
    let mut posted: Vec<u16> = Vec::new();
    for step in 0..3000u32 {
        rng ^= rng << 13;
        rng ^= rng >> 17;
        rng ^= rng << 5;
        if !rng.is_multiple_of(3) || posted.is_empty() {
            let segs = [seg(
                0x1_0000_0000 + u64::from(step) * 64,
                lens[(rng >> 4) as usize % lens.len()],
            )];
            let mut p = pkt(&segs, &[], u64::from(step));
            p.offload = offloads[(rng >> 8) as usize % offloads.len()];
            let start = fast.sq_pos.counter();
            let a = fast.post(&plat, &bar, None, &p, u64::from(step));
            let b = slow.post_general(&plat, &bar, None, &p, u64::from(step));
            assert_eq!(a, b, "step {step}");
            assert_eq!(fast.sq_pos, slow.sq_pos);
            let end = fast.sq_pos.counter();
            let mut slot = start;
            while slot != end {
                let (da, db) = (dev_fast.sq_desc(slot), dev_slow.sq_desc(slot));
                assert_eq!(da, db, "step {step}");
                if !da.is_meta() {
                    posted.push(da.req_id());
                }
                slot = slot.wrapping_add(1);
            }
        } else {
            // Complete one in-flight packet, not necessarily the oldest.
            let id = posted.swap_remove((rng >> 12) as usize % posted.len());
            dev_fast.complete(id);
            dev_slow.complete(id);
            assert_eq!(poll_all(&mut fast, &plat), poll_all(&mut slow, &plat));
        }
        assert_eq!(fast.stats(), slow.stats(), "step {step}");
        assert_eq!(fast.free_slots(), slow.free_slots());
    }
    assert!(fast.stats().cnt > 1000 && fast.stats().prepare_ctx_err > 100);
}

/// A run through the short path (`post_plain_run`, then `post` for the
/// packet it stops at, as `EnaDevice::tx_post_burst` does) leaves the same
/// descriptors, outcomes, counters and free slots as one `post` per packet:
/// random batches of plain, offloaded, tagged, multi-segment and invalid
/// packets, across ring wraps, full rings and out-of-order completions.
#[test]
fn plain_run_matches_one_post_per_packet() {
    let plat = FakePlat::new();
    let bar = FakeBar::default();
    let mut run = ring(&plat, &host(32, 4));
    let mut each = ring(&plat, &host(32, 4));
    let mut dev_run = Dev::new(&plat, &run);
    let mut dev_each = Dev::new(&plat, &each);
    let tagged = TxOffload {
        vlan_tci: Some(7),
        ..TxOffload::default()
    };
    let plain = TxOffload::default();
    let offloads = [
        plain,
        plain,
        plain,
        plain,
        plain,
        plain,
        tcp4_csum(),
        tagged,
    ];
    let lens = [
        60u32, 1514, 9000, 128, 1000, 300, 42, 0, 65536, 1514, 60, 60, 60, 60, 60, 60,
    ];
    let mut rng: u32 = 0x1357_9BDF;
    let mut next = || {
        rng ^= rng << 13;
        rng ^= rng >> 17;
        rng ^= rng << 5;
        rng
    };
    let mut in_flight: Vec<u16> = Vec::new();
    let mut full_rings = 0u32;
    for round in 0..800u32 {
        if next() % 4 != 0 && !in_flight.is_empty() {
            // Complete some in-flight packets, not necessarily the oldest.
            for _ in 0..=(next() % 24) {
                if in_flight.is_empty() {
                    break;
                }
                let id = in_flight.swap_remove(next() as usize % in_flight.len());
                dev_run.complete(id);
                dev_each.complete(id);
            }
            assert_eq!(poll_all(&mut run, &plat), poll_all(&mut each, &plat));
        }
        let n = 1 + next() as usize % 40;
        let segs: Vec<[DmaSegment; 2]> = (0..n)
            .map(|i| {
                let base = 0x2_0000_0000 + u64::from(round) * 0x10_0000 + i as u64 * 0x1000;
                let r = next();
                [
                    seg(base, lens[r as usize % lens.len()]),
                    seg(base + 0x800, 100),
                ]
            })
            .collect();
        let pkts: Vec<TxPacket<'_>> = segs
            .iter()
            .enumerate()
            .map(|(i, s)| {
                let r = next();
                // One packet in eight has two segments (general path).
                let segments = if r % 8 == 0 { &s[..] } else { &s[..1] };
                TxPacket {
                    segments,
                    header: &[],
                    offload: offloads[(r >> 4) as usize % offloads.len()],
                    token: u64::from(round) << 8 | i as u64,
                }
            })
            .collect();
        let start = run.sq_pos.counter();
        // The burst: short-path runs, the general path for each stopper.
        let mut posted = 0;
        let burst_err = loop {
            posted += run.post_plain_run(&pkts[posted..], u64::from(round));
            let Some(p) = pkts.get(posted) else {
                break None;
            };
            match run.post_general(&plat, &bar, None, p, u64::from(round)) {
                Ok(()) => posted += 1,
                Err(e) => break Some(e),
            }
        };
        // One at a time, stopping at the same refusal.
        let mut each_posted = 0;
        let each_err = loop {
            let Some(p) = pkts.get(each_posted) else {
                break None;
            };
            match each.post(&plat, &bar, None, p, u64::from(round)) {
                Ok(()) => each_posted += 1,
                Err(e) => break Some(e),
            }
        };
        assert_eq!(
            (posted, burst_err),
            (each_posted, each_err),
            "round {round}"
        );
        full_rings += u32::from(burst_err == Some(TxError::NoSpace));
        assert_eq!(run.sq_pos, each.sq_pos, "round {round}");
        let mut slot = start;
        while slot != run.sq_pos.counter() {
            let (a, b) = (dev_run.sq_desc(slot), dev_each.sq_desc(slot));
            assert_eq!(a, b, "round {round} slot {slot}");
            if !a.is_meta() && a.ctrl().contains(TxDescCtrl::FIRST) {
                in_flight.push(a.req_id());
            }
            slot = slot.wrapping_add(1);
        }
        assert_eq!(run.stats(), each.stats(), "round {round}");
        assert_eq!(run.free_slots(), each.free_slots());
    }
    let s = run.stats();
    assert!(s.cnt > 2000 && s.prepare_ctx_err > 100, "{s:?}");
    assert!(full_rings > 5, "the ring filled up {full_rings} times");
}
