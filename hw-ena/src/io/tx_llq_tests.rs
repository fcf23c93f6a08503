//! TX ring tests with LLQ placement: entries are read back from the fake
//! BAR 2 memory and compared byte for byte with the layout of ena.md §5.8.

extern crate std;

use std::vec::Vec;

use cloudnic_common::nic::{DmaSegment, L3Proto, L4Proto, TxError, TxOffload, TxPacket};
use cloudnic_common::ResetReason;

use super::*;
use crate::defs::io::*;
use crate::io::llq::LlqConfig;
use crate::io::test_support::{FakeBar, FakePlat, TxDev as Dev};

const DB: u32 = 0x100;
const UNMASK: u32 = 0x200;
const LLQ_BASE: u32 = 0x1000;

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
    TxRingParams {
        depth,
        max_sgl: 19,
        max_header_size: 128,
        placement: TxPlacement::Llq(cfg),
        cdesc_mbz_checked: true,
    }
}

fn line(bar: &FakeBar, entry: u16) -> Vec<u8> {
    (0..16u32)
        .flat_map(|q| {
            bar.qword(LLQ_BASE + u32::from(entry) * 128 + q * 8)
                .to_le_bytes()
        })
        .collect()
}

#[test]
fn llq_entry_layout_byte_exact() {
    let plat = FakePlat::new();
    let bar0 = FakeBar::default();
    let bar2 = FakeBar::default();
    let cfg = llq_cfg(LlqAccelFlags::empty(), 0);
    assert_eq!(
        (
            cfg.max_header_size,
            cfg.descs_per_entry,
            cfg.header_offset()
        ),
        (96, 8, 32)
    );
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
    let meta = TxMetaDesc::new(
        &TxMeta {
            mss: 0,
            l3_hdr_len: 20,
            l3_hdr_offset: 14,
            l4_hdr_len_words: 0,
        },
        true,
    );
    assert_eq!(&l0[0..16], zerocopy::IntoBytes::as_bytes(&meta));
    let off = tx_offload_ctrl(
        L3_PROTO_IPV4,
        L4_PROTO_TCP,
        TxDescMetaCtrl::L4_CSUM_EN | TxDescMetaCtrl::L4_CSUM_PARTIAL | TxDescMetaCtrl::DF,
    );
    let d0 = TxDesc::data(
        4,
        0,
        0xA000 + 96,
        TxDescCtrl::PHASE | TxDescCtrl::COMP_REQ,
        off,
        96,
    );
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
        r.post(
            &plat,
            &bar0,
            Some(&bar2),
            &pkt(&segs, &frame, u64::from(i)),
            0,
        )
        .unwrap();
        let l = line(&bar2, i & 7);
        let want_phase = i & 8 == 0;
        let d = TxDesc::data(
            0,
            0,
            0,
            TxDescCtrl::FIRST
                | TxDescCtrl::LAST
                | TxDescCtrl::COMP_REQ
                | if want_phase {
                    TxDescCtrl::PHASE
                } else {
                    TxDescCtrl::empty()
                },
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
    assert_eq!(
        r.post(&plat, &bar0, None, &pkt(&segs, &frame, 1), 0),
        Err(TxError::NotRunning)
    );
    assert_eq!(
        r.post(&plat, &bar0, Some(&bar2), &pkt(&segs, &[], 1), 0),
        Err(TxError::Invalid)
    );
}

#[test]
fn llq_meta_caching_disabled_and_burst_limit() {
    let plat = FakePlat::new();
    let bar0 = FakeBar::default();
    let bar2 = FakeBar::default();
    // 384-byte bursts = 3 lines per doorbell.
    let cfg = llq_cfg(
        LlqAccelFlags::DISABLE_META_CACHING | LlqAccelFlags::LIMIT_TX_BURST,
        384,
    );
    assert_eq!(cfg.burst_entries, 3);
    let mut p = llq_params(cfg, 64);
    p.max_sgl = 4;
    let mut r = ring(&plat, &p);
    let frame = [0u8; 200];
    let segs = [seg(0xC000, 200)];
    for i in 0..4u16 {
        // Every packet: meta (all zero, no offload) + data.
        r.post(&plat, &bar0, Some(&bar2), &pkt(&segs, &frame, 0), 0)
            .unwrap();
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
        LlqConfig::new(
            LlqHeaderLocation::INLINE,
            entry,
            before,
            stride,
            LlqAccelFlags::empty(),
            0,
        )
    };
    let big = e(
        LlqEntrySize::B256,
        LlqDescsBeforeHeader::D2,
        LlqStride::MULTIPLE_DESCS_PER_ENTRY,
    )
    .unwrap();
    assert_eq!((big.max_header_size, big.descs_per_entry), (224, 16));
    assert_eq!(big.entries_for(2), 1);
    assert_eq!(big.entries_for(18), 2);
    assert_eq!(big.entries_for(19), 3);
    let small = e(
        LlqEntrySize::B128,
        LlqDescsBeforeHeader::D2,
        LlqStride::MULTIPLE_DESCS_PER_ENTRY,
    )
    .unwrap();
    assert_eq!(
        (
            small.entries_for(1),
            small.entries_for(3),
            small.entries_for(10),
            small.entries_for(11)
        ),
        (1, 2, 2, 3)
    );
    let single = e(
        LlqEntrySize::B128,
        LlqDescsBeforeHeader::D1,
        LlqStride::SINGLE_DESC_PER_ENTRY,
    )
    .unwrap();
    assert_eq!((single.max_header_size, single.entries_for(3)), (112, 3));
    assert!(e(
        LlqEntrySize::B128,
        LlqDescsBeforeHeader::empty(),
        LlqStride::MULTIPLE_DESCS_PER_ENTRY
    )
    .is_err());
    assert!(e(
        LlqEntrySize::B128 | LlqEntrySize::B256,
        LlqDescsBeforeHeader::D2,
        LlqStride::SINGLE_DESC_PER_ENTRY
    )
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
