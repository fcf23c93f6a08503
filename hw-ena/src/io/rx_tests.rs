//! RX ring tests: the test plays the device by reading RX descriptors from
//! the fake SQ memory and writing completions into the CQ memory.

extern crate std;

use std::vec::Vec;

use cloudnic_common::nic::{
    L3Proto, L4Proto, Released, RssHashType, RxBuffer, RxChecksum, RxFragment,
};
use cloudnic_common::{DmaRegion, ResetReason};

use super::*;
use crate::defs::io::*;
use crate::io::test_support::{FakeBar, FakeDma, FakePlat};

const DB: u32 = 0x300;

struct Dev {
    cq: FakeDma,
    sq: FakeDma,
    pos: u16,
    depth: u16,
}

/// What the test's device writes into one completion.
#[derive(Clone, Copy)]
struct Cd {
    req_id: u16,
    len: u16,
    flags: RxCdescStatus,
    l3: u8,
    l4: u8,
    offset: u8,
}

fn cd(req_id: u16, len: u16, flags: RxCdescStatus) -> Cd {
    Cd {
        req_id,
        len,
        flags,
        l3: L3_PROTO_IPV4,
        l4: L4_PROTO_TCP,
        offset: 0,
    }
}

const FL: RxCdescStatus = RxCdescStatus::FIRST
    .union(RxCdescStatus::LAST)
    .union(RxCdescStatus::L4_CSUM_CHECKED);

impl Dev {
    fn new(plat: &FakePlat, r: &RxRing<FakePlat>) -> Self {
        Dev {
            cq: plat.region(r.cq_bus_addr()),
            sq: plat.region(r.sq_bus_addr()),
            pos: 0,
            depth: r.depth(),
        }
    }
    fn sq_desc(&self, slot: u16) -> RxDesc {
        let off = usize::from(slot & (self.depth - 1)) * 16;
        RxDesc::from_qwords([self.sq.read64(off), self.sq.read64(off + 8)])
    }
    fn write(&mut self, c: Cd) {
        let mut flags = c.flags;
        if self.pos & self.depth == 0 {
            flags |= RxCdescStatus::PHASE;
        }
        let st = RxCdesc::status_word(flags, c.l3, c.l4, 0);
        let q = RxCdesc::new(st, c.len, c.req_id, 0x1234_5678, c.offset).to_qwords();
        let off = usize::from(self.pos & (self.depth - 1)) * 16;
        self.cq.write64(off, q[0]);
        self.cq.write64(off + 8, q[1]);
        self.pos = self.pos.wrapping_add(1);
    }
}

fn setup() -> (FakePlat, FakeBar) {
    (FakePlat::new(), FakeBar::default())
}

fn bufs(first_token: u64, n: usize, len: u32) -> Vec<RxBuffer> {
    (0..n as u64)
        .map(|i| RxBuffer {
            addr: 0x1_0000_0000 + (first_token + i) * 0x1000,
            len,
            token: first_token + i,
        })
        .collect()
}

/// Delivered packet, owned.
#[derive(Debug, PartialEq)]
struct Got {
    frags: Vec<RxFragment>,
    offset: u32,
    len: u32,
    csum: RxChecksum,
    hash_type: RssHashType,
    l3: L3Proto,
    l4: L4Proto,
}

fn poll(r: &mut RxRing<FakePlat>, plat: &FakePlat, budget: u32) -> Result<Vec<Got>, ResetReason> {
    let mut got = Vec::new();
    r.poll(plat, budget, &mut |p: &RxPacket<'_>| {
        got.push(Got {
            frags: p.frags.to_vec(),
            offset: p.offset,
            len: p.len,
            csum: p.csum,
            hash_type: p.hash_type,
            l3: p.l3,
            l4: p.l4,
        })
    })?;
    Ok(got)
}

fn frag(token: u64, len: u32) -> RxFragment {
    RxFragment { token, len }
}

#[test]
fn refill_writes_descriptors_and_one_doorbell() {
    let (plat, bar) = setup();
    let mut r = RxRing::new(&plat, 8, 4, true).unwrap();
    r.attach(DB, 0x400);
    let dev = Dev::new(&plat, &r);
    assert_eq!(r.cq_entry_words(), 4);
    assert!(r.is_empty());
    assert_eq!(r.refill(&bar, &bufs(100, 3, 2048)), 3);
    assert_eq!(bar.writes_to(DB), [3]);
    for i in 0..3u16 {
        let d = dev.sq_desc(i);
        assert_eq!(
            d.flags(),
            RxDescCtrl::PHASE | RxDescCtrl::FIRST | RxDescCtrl::LAST | RxDescCtrl::COMP_REQ
        );
        assert_eq!(
            (d.req_id, d.buffer_len(), d.addr()),
            (i, 2048, 0x1_0000_0000 + (100 + u64::from(i)) * 0x1000)
        );
    }
    // 7 usable slots: only 4 more fit.
    assert_eq!(r.refill(&bar, &bufs(200, 6, 2048)), 4);
    assert_eq!(r.space(), 0);
    assert_eq!(r.refill(&bar, &bufs(300, 1, 2048)), 0);
    assert_eq!(bar.writes_to(DB), [3, 7], "no doorbell for an empty batch");
}

#[test]
fn refill_stops_at_unusable_buffer() {
    let (plat, bar) = setup();
    let mut r = RxRing::new(&plat, 8, 4, true).unwrap();
    let mut b = bufs(0, 3, 4096);
    b[1].len = 0;
    assert_eq!(r.refill(&bar, &b), 1);
    b[1] = RxBuffer {
        addr: 1 << 48,
        len: 10,
        token: 1,
    };
    assert_eq!(r.refill(&bar, &b[1..]), 0);
    let big = [RxBuffer {
        addr: 0x1000,
        len: 100_000,
        token: 9,
    }];
    assert_eq!(r.refill(&bar, &big), 1);
    assert_eq!(
        Dev::new(&plat, &r).sq_desc(1).length,
        0,
        "capped at 64 KiB, encoded as 0"
    );
}

#[test]
fn single_and_multi_buffer_packets() {
    let (plat, bar) = setup();
    let mut r = RxRing::new(&plat, 16, 4, true).unwrap();
    let mut dev = Dev::new(&plat, &r);
    r.refill(&bar, &bufs(10, 5, 2048));
    assert!(!r.cq_has_completion());
    dev.write(Cd {
        offset: 2,
        ..cd(0, 100, FL)
    });
    dev.write(cd(1, 2048, RxCdescStatus::FIRST));
    dev.write(cd(2, 2048, RxCdescStatus::empty()));
    dev.write(cd(
        3,
        10,
        RxCdescStatus::LAST | RxCdescStatus::L4_CSUM_CHECKED,
    ));
    assert!(r.cq_has_completion());
    let got = poll(&mut r, &plat, 64).unwrap();
    assert_eq!(got.len(), 2);
    assert_eq!(
        got[0],
        Got {
            frags: std::vec![frag(10, 100)],
            offset: 2,
            len: 100,
            csum: RxChecksum::Good,
            hash_type: RssHashType::L4,
            l3: L3Proto::Ipv4,
            l4: L4Proto::Tcp
        }
    );
    assert_eq!(got[1].frags, [frag(11, 2048), frag(12, 2048), frag(13, 10)]);
    assert_eq!((got[1].len, got[1].offset), (4106, 0));
    assert_eq!(r.stats().cnt, 2);
    assert_eq!(r.stats().bytes, 4206);
    assert_eq!(r.stats().csum_good, 2);
    assert_eq!(r.posted(), 1);
}

#[test]
fn packet_split_across_polls_and_budget() {
    let (plat, bar) = setup();
    let mut r = RxRing::new(&plat, 16, 4, true).unwrap();
    let mut dev = Dev::new(&plat, &r);
    r.refill(&bar, &bufs(0, 6, 1000));
    dev.write(cd(0, 1000, RxCdescStatus::FIRST));
    assert_eq!(poll(&mut r, &plat, 8).unwrap(), []);
    dev.write(cd(1, 5, RxCdescStatus::LAST));
    let got = poll(&mut r, &plat, 8).unwrap();
    assert_eq!(got[0].frags, [frag(0, 1000), frag(1, 5)]);
    for i in 2..5 {
        dev.write(cd(i, 60, FL));
    }
    assert_eq!(
        poll(&mut r, &plat, 2).unwrap().len(),
        2,
        "budget counts packets"
    );
    assert_eq!(poll(&mut r, &plat, 2).unwrap().len(), 1);
}

#[test]
fn wraps_many_times() {
    let (plat, bar) = setup();
    let mut r = RxRing::new(&plat, 8, 2, true).unwrap();
    let mut dev = Dev::new(&plat, &r);
    let mut token = 0u64;
    for _ in 0..300 {
        let space = r.space() as usize;
        let b = bufs(token, space, 512);
        assert_eq!(r.refill(&bar, &b) as usize, space);
        // The device consumes descriptors in order; its ids come from the SQ.
        let mut expect = Vec::new();
        let first = dev.pos;
        for k in 0..space as u16 {
            let d = dev.sq_desc(first.wrapping_add(k));
            dev.write(cd(d.req_id, 64, FL));
            expect.push(token + u64::from(k));
        }
        let got = poll(&mut r, &plat, 64).unwrap();
        assert_eq!(
            got.iter().map(|g| g.frags[0].token).collect::<Vec<_>>(),
            expect
        );
        token += space as u64;
        assert!(r.is_empty());
    }
}

fn one_posted(depth: u16, max_sgl: u16, mbz: bool) -> (FakePlat, FakeBar, RxRing<FakePlat>) {
    let (plat, bar) = setup();
    let mut r = RxRing::new(&plat, depth, max_sgl, mbz).unwrap();
    r.refill(&bar, &bufs(0, 4, 1000));
    (plat, bar, r)
}

#[test]
fn invalid_req_ids() {
    for bad in [8u16, 5, 0xFFFF] {
        let (plat, _bar, mut r) = one_posted(8, 4, true);
        let mut dev = Dev::new(&plat, &r);
        dev.write(cd(bad, 10, FL));
        assert_eq!(
            poll(&mut r, &plat, 8),
            Err(ResetReason::InvalidRxReqId),
            "req_id {bad}"
        );
        assert_eq!(r.stats().bad_req_id, 1);
    }
    // Duplicate: the same buffer completed twice.
    let (plat, _bar, mut r) = one_posted(8, 4, true);
    let mut dev = Dev::new(&plat, &r);
    dev.write(cd(0, 10, FL));
    dev.write(cd(0, 10, FL));
    let mut n = 0;
    assert_eq!(
        r.poll(&plat, 8, &mut |_: &RxPacket<'_>| n += 1),
        Err(ResetReason::InvalidRxReqId)
    );
    assert_eq!(n, 1);
}

#[test]
fn malformed_completions() {
    // `first` on a non-first completion.
    let (plat, _bar, mut r) = one_posted(8, 4, true);
    let mut dev = Dev::new(&plat, &r);
    dev.write(cd(0, 10, RxCdescStatus::FIRST));
    dev.write(cd(1, 10, FL));
    assert_eq!(
        poll(&mut r, &plat, 8),
        Err(ResetReason::RxDescriptorMalformed)
    );
    // MBZ bits: only with the capability.
    for mbz in [RxCdescStatus::MBZ7, RxCdescStatus::MBZ17] {
        for checked in [true, false] {
            let (plat, _bar, mut r) = one_posted(8, 4, checked);
            let mut dev = Dev::new(&plat, &r);
            dev.write(cd(0, 10, FL | mbz));
            let res = poll(&mut r, &plat, 8);
            if checked {
                assert_eq!(res, Err(ResetReason::RxDescriptorMalformed));
            } else {
                assert_eq!(res.unwrap().len(), 1);
            }
        }
    }
    // Length beyond the posted buffer, alone or with the offset.
    let (plat, _bar, mut r) = one_posted(8, 4, true);
    let mut dev = Dev::new(&plat, &r);
    dev.write(cd(0, 1001, FL));
    assert_eq!(
        poll(&mut r, &plat, 8),
        Err(ResetReason::RxDescriptorMalformed)
    );
    let (plat, _bar, mut r) = one_posted(8, 4, true);
    let mut dev = Dev::new(&plat, &r);
    dev.write(Cd {
        offset: 2,
        ..cd(0, 999, FL)
    });
    assert_eq!(
        poll(&mut r, &plat, 8),
        Err(ResetReason::RxDescriptorMalformed)
    );
}

#[test]
fn too_many_descriptors_then_release_everything_once() {
    let (plat, _bar, mut r) = one_posted(8, 2, true);
    let mut dev = Dev::new(&plat, &r);
    dev.write(cd(0, 1000, RxCdescStatus::FIRST));
    dev.write(cd(1, 1000, RxCdescStatus::empty()));
    dev.write(cd(2, 1000, RxCdescStatus::LAST));
    assert_eq!(poll(&mut r, &plat, 8), Err(ResetReason::TooManyRxDescs));
    assert_eq!(r.stats().bad_desc_num, 1);
    let mut rel = Vec::new();
    r.release_all(&mut |x| rel.push(x));
    rel.sort_by_key(|x| match x {
        Released::Rx(t) | Released::Tx(t) => *t,
    });
    assert_eq!(
        rel,
        [
            Released::Rx(0),
            Released::Rx(1),
            Released::Rx(2),
            Released::Rx(3)
        ]
    );
    assert!(r.is_empty());
}

#[test]
fn checksum_and_hash_translation() {
    let cases = [
        (
            L3_PROTO_IPV4,
            L4_PROTO_TCP,
            RxCdescStatus::L4_CSUM_CHECKED,
            RxChecksum::Good,
            RssHashType::L4,
        ),
        (
            L3_PROTO_IPV4,
            L4_PROTO_UDP,
            RxCdescStatus::L3_CSUM_ERR,
            RxChecksum::Bad,
            RssHashType::L4,
        ),
        (
            L3_PROTO_IPV6,
            L4_PROTO_TCP,
            RxCdescStatus::L3_CSUM_ERR,
            RxChecksum::NotChecked,
            RssHashType::L4,
        ),
        (
            L3_PROTO_IPV6,
            L4_PROTO_UDP,
            RxCdescStatus::L4_CSUM_ERR,
            RxChecksum::Bad,
            RssHashType::L4,
        ),
        (
            L3_PROTO_IPV4,
            L4_PROTO_TCP,
            RxCdescStatus::IPV4_FRAG,
            RxChecksum::NotChecked,
            RssHashType::L3,
        ),
        (
            L3_PROTO_IPV4,
            0,
            RxCdescStatus::L4_CSUM_CHECKED,
            RxChecksum::NotChecked,
            RssHashType::L3,
        ),
        (
            0,
            0,
            RxCdescStatus::empty(),
            RxChecksum::NotChecked,
            RssHashType::None,
        ),
    ];
    let (plat, bar) = setup();
    let mut r = RxRing::new(&plat, 16, 4, true).unwrap();
    let mut dev = Dev::new(&plat, &r);
    r.refill(&bar, &bufs(0, cases.len(), 100));
    for (i, (l3, l4, f, _, _)) in cases.iter().enumerate() {
        dev.write(Cd {
            req_id: i as u16,
            len: 60,
            flags: *f | RxCdescStatus::FIRST | RxCdescStatus::LAST,
            l3: *l3,
            l4: *l4,
            offset: 0,
        });
    }
    let got = poll(&mut r, &plat, 64).unwrap();
    for (g, (_, _, _, csum, ht)) in got.iter().zip(cases.iter()) {
        assert_eq!((g.csum, g.hash_type), (*csum, *ht));
    }
    let s = r.stats();
    assert_eq!((s.csum_good, s.csum_bad, s.csum_unchecked), (1, 2, 1));
}

#[test]
fn reinit_after_release_starts_a_fresh_pass() {
    let (plat, bar, mut r) = one_posted(8, 4, true);
    let mut dev = Dev::new(&plat, &r);
    dev.write(cd(0, 10, FL));
    assert_eq!(poll(&mut r, &plat, 8).unwrap().len(), 1);
    let mut n = 0;
    r.release_all(&mut |_| n += 1);
    assert_eq!(n, 3);
    r.reinit();
    assert!(!r.cq_has_completion());
    assert_eq!(r.refill(&bar, &bufs(50, 2, 100)), 2);
    let mut dev = Dev::new(&plat, &r);
    dev.write(cd(0, 10, FL));
    assert_eq!(poll(&mut r, &plat, 8).unwrap()[0].frags, [frag(50, 10)]);
}
