//! TX ring tests: the test plays the device by reading descriptors from the
//! fake SQ / BAR 2 memory and writing completions into the CQ memory.

extern crate std;

use std::vec::Vec;

use cloudnic_common::nic::{DmaSegment, L3Proto, L4Proto, Released, TxError, TxOffload, TxPacket};
use cloudnic_common::{DmaRegion, ResetReason};

use super::*;
use crate::defs::io::*;
use crate::io::llq::LlqConfig;
use crate::io::test_support::{FakeBar, FakeDma, FakePlat};

const DB: u32 = 0x100;
const UNMASK: u32 = 0x200;
const LLQ_BASE: u32 = 0x1000;

/// The device side of one TX queue: its own CQ position and phase.
struct Dev {
    cq: FakeDma,
    sq: Option<FakeDma>,
    pos: u16,
    depth: u16,
}

impl Dev {
    fn new(plat: &FakePlat, ring: &TxRing<FakePlat>) -> Self {
        Dev {
            cq: plat.region(ring.cq_bus_addr()),
            sq: ring.sq_bus_addr().map(|a| plat.region(a)),
            pos: 0,
            depth: ring.depth(),
        }
    }
    fn complete_raw(&mut self, req_id: u16, flags_extra: u8) {
        let phase = self.pos & self.depth == 0;
        let mut c = TxCdesc::new(req_id, phase, 0);
        c.flags |= flags_extra;
        self.cq.write64(usize::from(self.pos & (self.depth - 1)) * 8, c.to_qword());
        self.pos = self.pos.wrapping_add(1);
    }
    fn complete(&mut self, req_id: u16) {
        self.complete_raw(req_id, 0)
    }
    fn sq_desc(&self, slot: u16) -> TxDesc {
        let sq = self.sq.as_ref().unwrap();
        let off = usize::from(slot & (self.depth - 1)) * 16;
        TxDesc::from_qwords([sq.read64(off), sq.read64(off + 8)])
    }
}

fn host(depth: u16, max_sgl: u16) -> TxRingParams {
    TxRingParams { depth, max_sgl, max_header_size: 96, placement: TxPlacement::Host, cdesc_mbz_checked: true }
}

fn ring(plat: &FakePlat, p: &TxRingParams) -> TxRing<FakePlat> {
    let mut r = TxRing::new(plat, p).unwrap();
    r.attach(DB, LLQ_BASE, UNMASK);
    r
}

fn pkt<'a>(segs: &'a [DmaSegment], header: &'a [u8], token: u64) -> TxPacket<'a> {
    TxPacket { segments: segs, header, offload: TxOffload::default(), token }
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
    assert_eq!(d0.ctrl(), TxDescCtrl::PHASE | TxDescCtrl::FIRST | TxDescCtrl::COMP_REQ);
    assert_eq!((d0.length(), d0.addr(), d0.req_id()), (1000, 0x1_0000_1000, 0));
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
            r.post(&plat, &bar, None, &pkt(&segs, &[], next_token), 0).unwrap();
            let d = dev.sq_desc(sq_slot);
            assert_eq!(d.ctrl().contains(TxDescCtrl::PHASE), sq_slot & 8 == 0, "SQ phase at {sq_slot}");
            ids.push(d.req_id());
            expect.push(next_token);
            next_token += 1;
            sq_slot = sq_slot.wrapping_add(2);
        }
        let two = [seg(1, 1), seg(2, 2)];
        assert_eq!(r.post(&plat, &bar, None, &pkt(&two, &[], 999), 0), Err(TxError::NoSpace));
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
    r.post(&plat, &bar, None, &pkt(&[seg(1, 10)], &[], 1), 0).unwrap();
    dev.complete(8); // out of range
    assert_eq!(poll_all(&mut r, &plat), Err(ResetReason::InvalidTxReqId));
    assert_eq!(r.stats().bad_req_id, 1);

    let mut r = ring(&plat, &host(8, 2));
    let mut dev = Dev::new(&plat, &r);
    r.post(&plat, &bar, None, &pkt(&[seg(1, 10)], &[], 1), 0).unwrap();
    dev.complete(0);
    dev.complete(0); // duplicate
    let mut got = Vec::new();
    assert_eq!(r.poll(&plat, 8, &mut |t| got.push(t)), Err(ResetReason::InvalidTxReqId));
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
        r.post(&plat, &bar, None, &pkt(&[seg(1, 10)], &[], 5), 0).unwrap();
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
    assert!(m.ctrl().contains(TxMetaCtrl::META_DESC | TxMetaCtrl::FIRST | TxMetaCtrl::PHASE | TxMetaCtrl::META_STORE));
    assert_eq!(m.meta(), TxMeta { mss: 0, l3_hdr_len: 20, l3_hdr_offset: 14, l4_hdr_len_words: 0 });
    let d = dev.sq_desc(1);
    assert_eq!(d.ctrl(), TxDescCtrl::PHASE | TxDescCtrl::COMP_REQ | TxDescCtrl::LAST, "FIRST is on the meta");
    assert_eq!((d.l3_proto(), d.l4_proto()), (L3_PROTO_IPV4, L4_PROTO_TCP));
    assert_eq!(d.offload_flags(), TxDescMetaCtrl::L4_CSUM_EN | TxDescMetaCtrl::L4_CSUM_PARTIAL | TxDescMetaCtrl::DF);
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
    assert_eq!(m.meta(), TxMeta { mss: 1448, l3_hdr_len: 20, l3_hdr_offset: 14, l4_hdr_len_words: 8 });
    let d = dev.sq_desc(4);
    assert_eq!(
        d.offload_flags(),
        TxDescMetaCtrl::TSO_EN | TxDescMetaCtrl::L4_CSUM_EN | TxDescMetaCtrl::L3_CSUM_EN | TxDescMetaCtrl::DF
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
    assert_eq!(r.post(&plat, &bar, None, &pkt(&[], &[], 1), 0), Err(TxError::Invalid));
    assert_eq!(r.post(&plat, &bar, None, &pkt(&[seg(1, 0)], &[], 1), 0), Err(TxError::Invalid));
    assert_eq!(r.post(&plat, &bar, None, &pkt(&[seg(1, 65536)], &[], 1), 0), Err(TxError::Invalid));
    let three = [seg(1, 1), seg(2, 1), seg(3, 1)];
    assert_eq!(r.post(&plat, &bar, None, &pkt(&three, &[], 1), 0), Err(TxError::TooManySegments));
    // Two segments plus a meta descriptor exceed max_sgl = 2.
    let mut p = pkt(&three[..2], &[], 1);
    p.offload = tcp4_csum();
    assert_eq!(r.post(&plat, &bar, None, &p, 0), Err(TxError::TooManySegments));
    p.offload.tso_mss = 1000;
    p.offload.l4 = L4Proto::Udp;
    assert_eq!(r.post(&plat, &bar, None, &pkt(&three[..1], &[], 1), 0), Ok(()));
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
        r.post(&plat, &bar, None, &pkt(&[seg(1, 10)], &[], tok), t).unwrap();
    }
    assert_eq!(r.oldest_pending_us(), Some(100));
    assert_eq!(r.timed_out_packets(1_000, 750), 2);
    assert_eq!(r.timed_out_packets(1_000, 750), 2);
    assert_eq!(r.stats().missed_tx, 2, "each late packet counted once");
    assert_eq!(r.stats().pending_timedout_pkts, 2);
    dev.complete(0);
    assert_eq!(poll_all(&mut r, &plat).unwrap(), [10]);
    assert_eq!(r.oldest_pending_us(), Some(200));
    let mut rel = Vec::new();
    r.release_all(&mut |x| rel.push(x));
    assert_eq!(rel, [Released::Tx(11), Released::Tx(12)]);
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

fn llq_cfg(accel: LlqAccelFlags, burst_bytes: u16) -> LlqConfig {
    LlqConfig::new(
        LlqHeaderLocation::INLINE,
        LlqEntrySize::B128,
        LlqDescsBeforeHeader::D2,
        LlqStride::MULTIPLE_DESCS_PER_ENTRY,
        accel,
        burst_bytes,
    )
    .unwrap()
}

fn llq_params(cfg: LlqConfig, depth: u16) -> TxRingParams {
    TxRingParams { depth, max_sgl: 19, max_header_size: 128, placement: TxPlacement::Llq(cfg), cdesc_mbz_checked: true }
}

fn line(bar: &FakeBar, entry: u16) -> Vec<u8> {
    (0..16u32).flat_map(|q| bar.qword(LLQ_BASE + u32::from(entry) * 128 + q * 8).to_le_bytes()).collect()
}

#[test]
fn llq_entry_layout_byte_exact() {
    let plat = FakePlat::new();
    let bar0 = FakeBar::default();
    let bar2 = FakeBar::default();
    let cfg = llq_cfg(LlqAccelFlags::empty(), 0);
    assert_eq!((cfg.max_header_size, cfg.descs_per_entry, cfg.header_offset()), (96, 8, 32));
    let mut r = ring(&plat, &llq_params(cfg, 16));
    assert_eq!(r.sq_bus_addr(), None);
    assert_eq!(r.max_header_size(), 96);
    let header: Vec<u8> = (0..120u8).collect();
    // 200-byte frame in two segments; 96 bytes pushed, 104 left in two pieces.
    let segs = [seg(0xA000, 100), seg(0xB000, 100)];
    let mut p = pkt(&segs, &header, 9);
    p.offload = tcp4_csum();
    r.post(&plat, &bar0, Some(&bar2), &p, 0).unwrap();
    // meta + 2 data = 3 descriptors: line 0 holds meta + data0 + header, line 1 data1.
    let l0 = line(&bar2, 0);
    let meta = TxMetaDesc::new(&TxMeta { mss: 0, l3_hdr_len: 20, l3_hdr_offset: 14, l4_hdr_len_words: 0 }, true);
    assert_eq!(&l0[0..16], zerocopy::IntoBytes::as_bytes(&meta));
    let off = tx_offload_ctrl(
        L3_PROTO_IPV4,
        L4_PROTO_TCP,
        TxDescMetaCtrl::L4_CSUM_EN | TxDescMetaCtrl::L4_CSUM_PARTIAL | TxDescMetaCtrl::DF,
    );
    let d0 = TxDesc::data(4, 0, 0xA000 + 96, TxDescCtrl::PHASE | TxDescCtrl::COMP_REQ, off, 96);
    assert_eq!(&l0[16..32], zerocopy::IntoBytes::as_bytes(&d0));
    assert_eq!(&l0[32..128], &header[..96]);
    let l1 = line(&bar2, 1);
    let d1 = TxDesc::data(100, 0, 0xB000, TxDescCtrl::PHASE | TxDescCtrl::LAST, 0, 0);
    assert_eq!(&l1[0..16], zerocopy::IntoBytes::as_bytes(&d1));
    assert!(l1[16..].iter().all(|&b| b == 0));
    assert_eq!(bar2.blocks.get(), 2);
    r.kick(&bar0);
    assert_eq!(bar0.writes_to(DB), [2], "tail counts lines");
    // Completion credits both lines.
    let mut dev = Dev::new(&plat, &r);
    dev.complete(0);
    assert_eq!(poll_all(&mut r, &plat).unwrap(), [9]);
    assert_eq!(r.free_slots(), 15);
}

#[test]
fn llq_small_packet_pushed_whole_and_phase_wrap() {
    let plat = FakePlat::new();
    let bar0 = FakeBar::default();
    let bar2 = FakeBar::default();
    let mut r = ring(&plat, &llq_params(llq_cfg(LlqAccelFlags::empty(), 0), 8));
    let mut dev = Dev::new(&plat, &r);
    let frame: Vec<u8> = (0..60u8).collect();
    let segs = [seg(0xC000, 60)];
    for i in 0..20u16 {
        r.post(&plat, &bar0, Some(&bar2), &pkt(&segs, &frame, u64::from(i)), 0).unwrap();
        let l = line(&bar2, i & 7);
        let want_phase = i & 8 == 0;
        let d = TxDesc::data(
            0,
            0,
            0,
            TxDescCtrl::FIRST | TxDescCtrl::LAST | TxDescCtrl::COMP_REQ | if want_phase { TxDescCtrl::PHASE } else { TxDescCtrl::empty() },
            0,
            60,
        );
        assert_eq!(&l[0..16], zerocopy::IntoBytes::as_bytes(&d), "packet {i}");
        assert!(l[16..32].iter().all(|&b| b == 0));
        assert_eq!(&l[32..92], &frame[..]);
        r.kick(&bar0);
        dev.complete(0);
        assert_eq!(poll_all(&mut r, &plat).unwrap(), [u64::from(i)]);
    }
    // LLQ without BAR 2 is refused; an empty header cannot be pushed.
    assert_eq!(r.post(&plat, &bar0, None, &pkt(&segs, &frame, 1), 0), Err(TxError::NotRunning));
    assert_eq!(r.post(&plat, &bar0, Some(&bar2), &pkt(&segs, &[], 1), 0), Err(TxError::Invalid));
}

#[test]
fn llq_meta_caching_disabled_and_burst_limit() {
    let plat = FakePlat::new();
    let bar0 = FakeBar::default();
    let bar2 = FakeBar::default();
    // 384-byte bursts = 3 lines per doorbell.
    let cfg = llq_cfg(LlqAccelFlags::DISABLE_META_CACHING | LlqAccelFlags::LIMIT_TX_BURST, 384);
    assert_eq!(cfg.burst_entries, 3);
    let mut p = llq_params(cfg, 64);
    p.max_sgl = 4;
    let mut r = ring(&plat, &p);
    let frame = [0u8; 200];
    let segs = [seg(0xC000, 200)];
    for i in 0..4u16 {
        // Every packet: meta (all zero, no offload) + data.
        r.post(&plat, &bar0, Some(&bar2), &pkt(&segs, &frame, 0), 0).unwrap();
        let l = line(&bar2, i);
        let m = TxMetaDesc::from_qwords([
            u64::from_le_bytes(l[0..8].try_into().unwrap()),
            u64::from_le_bytes(l[8..16].try_into().unwrap()),
        ]);
        assert!(m.ctrl().contains(TxMetaCtrl::META_DESC));
        assert_eq!(m.meta(), TxMeta::default());
    }
    // The 4th line exceeded the 3-line budget: a doorbell (tail 3) went first.
    assert_eq!(bar0.writes_to(DB), [3]);
    r.kick(&bar0);
    assert_eq!(bar0.writes_to(DB), [3, 4]);
    assert_eq!(r.stats().doorbells, 2);
    // A burst budget smaller than the worst-case packet is refused.
    let tiny = llq_cfg(LlqAccelFlags::LIMIT_TX_BURST, 128);
    assert!(TxRing::<FakePlat>::new(&plat, &llq_params(tiny, 64)).is_err());
}

#[test]
fn llq_config_geometry() {
    let e = |entry, before, stride| {
        LlqConfig::new(LlqHeaderLocation::INLINE, entry, before, stride, LlqAccelFlags::empty(), 0)
    };
    let big = e(LlqEntrySize::B256, LlqDescsBeforeHeader::D2, LlqStride::MULTIPLE_DESCS_PER_ENTRY).unwrap();
    assert_eq!((big.max_header_size, big.descs_per_entry), (224, 16));
    assert_eq!(big.entries_for(2), 1);
    assert_eq!(big.entries_for(18), 2);
    assert_eq!(big.entries_for(19), 3);
    let small = e(LlqEntrySize::B128, LlqDescsBeforeHeader::D2, LlqStride::MULTIPLE_DESCS_PER_ENTRY).unwrap();
    assert_eq!((small.entries_for(1), small.entries_for(3), small.entries_for(10), small.entries_for(11)), (1, 2, 2, 3));
    let single = e(LlqEntrySize::B128, LlqDescsBeforeHeader::D1, LlqStride::SINGLE_DESC_PER_ENTRY).unwrap();
    assert_eq!((single.max_header_size, single.entries_for(3)), (112, 3));
    assert!(e(LlqEntrySize::B128, LlqDescsBeforeHeader::empty(), LlqStride::MULTIPLE_DESCS_PER_ENTRY).is_err());
    assert!(e(LlqEntrySize::B128 | LlqEntrySize::B256, LlqDescsBeforeHeader::D2, LlqStride::SINGLE_DESC_PER_ENTRY)
        .is_err());
    let sep = LlqConfig::new(
        LlqHeaderLocation::SEPARATE_RING,
        LlqEntrySize::B128,
        LlqDescsBeforeHeader::D2,
        LlqStride::MULTIPLE_DESCS_PER_ENTRY,
        LlqAccelFlags::empty(),
        0,
    );
    assert!(sep.is_err());
}
