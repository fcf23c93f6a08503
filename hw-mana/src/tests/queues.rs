//! GDMA queue primitives: WQE layout and wrap, free space, owner counts.

extern crate std;

use zerocopy::{FromBytes, IntoBytes};

use cloudnic_common::{DmaRegion, Error};

use crate::cq::{CompletionQueue, EventQueue, QueueEntry};
use crate::defs::queue::{CqeInfo, EqeInfo, Sge, WqeHeader};
use crate::fake::{setup, FakeDev, FakePlat};
use crate::wq::{WorkQueue, WqKind, WqeError, WqeRequest};

fn plat() -> FakePlat {
    setup(FakeDev::new()).0
}

fn sge(i: u32) -> Sge {
    Sge {
        address: 0x1000 * u64::from(i + 1),
        mem_key: 7,
        size: 100 + i,
    }
}

#[test]
fn wqe_layout_and_sgl_wrap() {
    let p = plat();
    let mut sq = WorkQueue::new(&p, 4096, WqKind::Send).unwrap();
    // 127 one-BU WQEs (8-byte OOB + 1 SGE = 32 bytes), then free 10 BUs.
    for i in 0..127 {
        let w = sq
            .post(&WqeRequest {
                oob: &[0xAA; 8],
                sgl: &[sge(i)],
                client_data_unit: 0,
                oob_in_sgl: false,
            })
            .unwrap();
        assert_eq!(
            w,
            crate::wq::PostedWqe {
                offset: 32 * i,
                size_bu: 1
            }
        );
    }
    assert_eq!(sq.free_bytes(), 32);
    sq.advance_tail(10).unwrap();
    // 24-byte OOB + 6 SGEs = 128 bytes at 4064: header + OOB fill the last
    // BU, the whole SGL wraps to offset 0.
    let sgl: std::vec::Vec<Sge> = (0..6).map(sge).collect();
    let w = sq
        .post(&WqeRequest {
            oob: &[0x55; 24],
            sgl: &sgl,
            client_data_unit: 1448,
            oob_in_sgl: true,
        })
        .unwrap();
    assert_eq!(
        w,
        crate::wq::PostedWqe {
            offset: 4064,
            size_bu: 4
        }
    );
    let mem = sq.mem();
    let mut hdr = [0u8; 8];
    mem.read_bytes(4064, &mut hdr);
    let h = WqeHeader::read_from_bytes(&hdr).unwrap();
    assert_eq!(
        (
            h.params().num_sge(),
            h.params().oob_size(),
            h.params().client_data_unit(),
            h.last_vbytes()
        ),
        (6, 24, 1448, 100)
    );
    assert!(h.params().oob_in_sgl());
    let mut oob = [0u8; 24];
    mem.read_bytes(4072, &mut oob);
    assert_eq!(oob, [0x55; 24]);
    let mut s = [0u8; 16];
    for (i, want) in sgl.iter().enumerate() {
        mem.read_bytes(16 * i, &mut s);
        assert_eq!(Sge::read_from_bytes(&s).unwrap(), *want);
    }
    assert_eq!(sq.free_bytes(), 7 * 32);
    assert_eq!(sq.doorbell_tail_bytes(), 131 * 32);
    let big: std::vec::Vec<Sge> = (0..14).map(sge).collect();
    assert_eq!(
        sq.post(&WqeRequest {
            oob: &[0; 8],
            sgl: &big,
            client_data_unit: 0,
            oob_in_sgl: false
        }),
        Err(WqeError::NoSpace)
    );
    // The tail cannot pass the head.
    assert_eq!(sq.advance_tail(122), Err(Error::Malformed));
    sq.advance_tail(121).unwrap();
    assert_eq!(sq.free_bytes(), 4096);
}

#[test]
fn wqe_limits() {
    let p = plat();
    let mut sq = WorkQueue::new(&p, 4096, WqKind::Send).unwrap();
    let many: std::vec::Vec<Sge> = (0..31).map(sge).collect();
    // 8-byte OOB: (512 − 16) / 16 = 31 SGEs fit; 24-byte OOB: 30.
    assert_eq!(sq.wqe_size_for(8, 31), Ok(512));
    assert_eq!(sq.wqe_size_for(24, 31), Err(WqeError::TooManySges));
    assert_eq!(
        sq.post(&WqeRequest {
            oob: &[0; 24],
            sgl: &many,
            client_data_unit: 0,
            oob_in_sgl: false
        }),
        Err(WqeError::TooManySges)
    );
    assert_eq!(
        sq.post(&WqeRequest {
            oob: &[0; 12],
            sgl: &many[..1],
            client_data_unit: 0,
            oob_in_sgl: false
        }),
        Err(WqeError::Invalid)
    );
    assert_eq!(
        sq.post(&WqeRequest {
            oob: &[0; 8],
            sgl: &[],
            client_data_unit: 0,
            oob_in_sgl: false
        }),
        Err(WqeError::Invalid)
    );
    assert_eq!(
        sq.post(&WqeRequest {
            oob: &[0; 8],
            sgl: &many[..1],
            client_data_unit: 0x4000,
            oob_in_sgl: false
        }),
        Err(WqeError::Invalid)
    );
    assert_eq!(
        sq.post(&WqeRequest {
            oob: &[0; 8],
            sgl: &many[..1],
            client_data_unit: 0,
            oob_in_sgl: true
        }),
        Err(WqeError::Invalid)
    );
    let mut rq = WorkQueue::new(&p, 4096, WqKind::Receive).unwrap();
    assert_eq!(rq.wqe_size_for(8, 15), Ok(256));
    assert_eq!(rq.wqe_size_for(8, 16), Err(WqeError::TooManySges));
    assert_eq!(
        rq.post(&WqeRequest {
            oob: &[1; 8],
            sgl: &many[..1],
            client_data_unit: 0,
            oob_in_sgl: false
        }),
        Err(WqeError::Invalid)
    );
    assert!(WorkQueue::<FakePlat>::new(&p, 2048, WqKind::Send).is_err());
    assert!(WorkQueue::<FakePlat>::new(&p, 6144, WqKind::Send).is_err());
}

fn write_cqe(cq: &CompletionQueue<FakePlat>, idx: u32, wq: u32, owner: u32) {
    let mut c = [0u8; 64];
    c[60..].copy_from_slice(&CqeInfo::new(wq, false, owner).0.to_le_bytes());
    cq.mem().write_bytes(idx as usize * 64, &c);
}

#[test]
fn cq_owner_count_across_wraps_and_overflow() {
    let p = plat();
    let mut cq = CompletionQueue::new(&p, 64).unwrap();
    assert_eq!(cq.poll(&p), QueueEntry::Empty);
    // Passes 1..=9 over the ring: owner (pass & 7).
    for pass in 1..=9u32 {
        for i in 0..64 {
            write_cqe(&cq, i, pass * 100 + i, pass & 7);
        }
        for i in 0..64 {
            match cq.poll(&p) {
                QueueEntry::Entry(c) => assert_eq!(c.info().wq_num(), pass * 100 + i),
                other => panic!("pass {pass} entry {i}: {other:?}"),
            }
        }
        assert_eq!(cq.poll(&p), QueueEntry::Empty);
    }
    assert_eq!(cq.peek_count(10), 0);
    // The device writes two passes ahead: overflow, the head does not move.
    let head = cq.head();
    write_cqe(&cq, 0, 1, (head / 64 + 1) & 7);
    assert_eq!(cq.poll(&p), QueueEntry::Overflow);
    assert_eq!(cq.head(), head);
}

#[test]
fn eq_entries_and_peek() {
    let p = plat();
    let mut eq = EventQueue::new(&p, 256).unwrap();
    let e = crate::defs::queue::Eqe {
        details: [42, 0, 0],
        info: EqeInfo::new(3, 1).0,
    };
    eq.mem().write_bytes(0, e.as_bytes());
    assert!(eq.has_entry());
    match eq.poll(&p) {
        QueueEntry::Entry(got) => assert_eq!((got.details[0], got.info().event_type()), (42, 3)),
        other => panic!("{other:?}"),
    }
    assert!(!eq.has_entry());
    assert!(EventQueue::<FakePlat>::new(&p, 100).is_err());
}

#[test]
fn post_receive_matches_generic_post() {
    // The RQ fast path must write exactly what the generic builder writes,
    // across a full wrap, and refuse when full or on a send queue.
    let p = plat();
    let mut fast = WorkQueue::new(&p, 4096, WqKind::Receive).unwrap();
    let mut slow = WorkQueue::new(&p, 4096, WqKind::Receive).unwrap();
    for i in 0..(4096 / 32 + 7) {
        let s = sge(i);
        let a = fast.post_receive(&s);
        let b = slow.post(&WqeRequest {
            oob: &[0; 8],
            sgl: &[s],
            client_data_unit: 0,
            oob_in_sgl: false,
        });
        assert_eq!(a, b);
        if a.is_err() {
            assert_eq!(a, Err(WqeError::NoSpace));
            fast.advance_tail(1).unwrap();
            slow.advance_tail(1).unwrap();
            continue;
        }
        let (mut x, mut y) = ([0u8; 4096], [0u8; 4096]);
        fast.mem().read_bytes(0, &mut x);
        slow.mem().read_bytes(0, &mut y);
        assert_eq!(x, y);
        assert_eq!(fast.doorbell_tail_bytes(), slow.doorbell_tail_bytes());
    }
    let mut sq = WorkQueue::new(&p, 4096, WqKind::Send).unwrap();
    assert_eq!(sq.post_receive(&sge(0)), Err(WqeError::Invalid));
}
