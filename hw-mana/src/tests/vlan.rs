//! VLAN through the device-neutral interface: `TxOffload::vlan_tci` becomes
//! the long TX OOB's inject-tag bit with PCP/DEI/VID (mana.md §6.6); the RX
//! CQE's VLAN fields become `RxPacket::vlan_tci` (§6.8); RX_COALESCED_8 is
//! refused as a type this driver never asked for.

extern crate std;

use std::vec::Vec;

use zerocopy::FromBytes;

use cloudnic_common::nic::{NetDevice, OffloadCaps, RxPacket};
use cloudnic_common::ResetReason;

use super::{open, post_tcp, refill};
use crate::defs::eth_dp::{
    cqe_type, CqeHeader, NdisHashType, RxCompFlags, RxCompOob, RxPerPktInfo, TxLongOob, TxShortOob,
    MANA_CQE_COMPLETION, TX_PKT_FMT_LONG,
};

fn rq_id(d: &super::Dev, q: u16) -> u32 {
    d.port(0).unwrap().qp(q).unwrap().rx.rq.id()
}

#[test]
fn mana_advertises_vlan_insert_and_strip() {
    let (d, _) = open(1);
    assert!(d
        .info()
        .offloads
        .contains(OffloadCaps::TX_VLAN_INSERT | OffloadCaps::RX_VLAN_STRIP));
}

#[test]
fn a_tag_request_selects_the_long_oob_with_pcp_dei_and_vid() {
    let (mut d, sh) = open(1);
    // PCP 6, DEI 1, VID 0xABC; then an untagged packet keeps the short OOB.
    post_tcp(&mut d, &sh, Some(6 << 13 | 1 << 12 | 0xABC), 1);
    post_tcp(&mut d, &sh, None, 2);
    d.tx_kick(0);
    let cq = d.port(0).unwrap().qp(0).unwrap().tx.cq.id();
    {
        let dev = sh.dev.borrow();
        let rec = &dev.tx_log[0];
        assert_eq!(rec.oob.len(), 24, "long OOB");
        let s = TxShortOob::read_from_bytes(&rec.oob[..8]).unwrap();
        assert_eq!(s.pkt_fmt(), TX_PKT_FMT_LONG);
        assert_eq!((s.cq_id(), s.trans_off()), (cq, 34));
        assert_eq!(
            s.flags(),
            TxShortOob::IS_OUTER_IPV4 | TxShortOob::COMP_IP_CSUM | TxShortOob::COMP_TCP_CSUM
        );
        let l = TxLongOob::read_from_bytes(&rec.oob[8..]).unwrap();
        assert_eq!(l.vlan(), Some((6, true, 0xABC)));
        assert_eq!(
            l.dword2,
            TxLongOob::INJECT_VLAN_TAG | 6 << 16 | 1 << 19 | 0xABC << 20,
            "mana.md §6.6 bit positions"
        );
        assert_eq!(dev.tx_log[1].oob.len(), 8, "untagged: short OOB");
    }
    let mut done = Vec::new();
    d.tx_poll(0, 64, &mut |t| done.push(t));
    assert_eq!(done, [1, 2]);
    let s = d.port(0).unwrap().tx_stats(0);
    assert_eq!((s.long_pkt_fmt, s.short_pkt_fmt), (1, 1));
}

#[test]
fn a_stripped_tag_reaches_rx_packet_and_untagged_frames_report_none() {
    let (mut d, sh) = open(1);
    assert_eq!(refill(&mut d, &sh, 0, 2, 2048, 900), 2);
    let rq = rq_id(&d, 0);
    let frame: Vec<u8> = (0..80u8).collect();
    let ok = RxCompFlags::IP_CSUM_OK | RxCompFlags::UDP_CSUM_OK;
    for vlan in [Some(0xFED), None] {
        let flags = RxCompFlags::new(vlan, NdisHashType::UDP_IPV4, ok);
        assert!(sh
            .dev
            .borrow_mut()
            .deliver_rx(&mut sh.mem.borrow_mut(), rq, &frame, flags, 7));
    }
    let mut got = Vec::new();
    d.rx_poll(0, 64, &mut |p: &RxPacket<'_>| {
        got.push((p.frags[0].token, p.len, p.vlan_tci))
    });
    assert_eq!(got, [(900, 80, Some(0xFED)), (901, 80, None)]);
}

#[test]
fn rx_coalesced_8_is_never_enabled_so_it_is_refused_as_unknown() {
    let (mut d, sh) = open(1);
    assert_eq!(refill(&mut d, &sh, 0, 8, 2048, 0), 8);
    let rq = rq_id(&d, 0);
    let mut oob = RxCompOob {
        cqe_hdr: CqeHeader::new(cqe_type::RX_COALESCED_8, MANA_CQE_COMPLETION, 0).0,
        ..Default::default()
    };
    for p in oob.ppi.iter_mut() {
        *p = RxPerPktInfo {
            pkt_len: 64,
            ..Default::default()
        };
    }
    sh.dev
        .borrow_mut()
        .post_rx_oob(&mut sh.mem.borrow_mut(), rq, &oob, 8);
    let mut n = 0;
    assert_eq!(d.rx_poll(0, 64, &mut |_: &RxPacket<'_>| n += 1), 0);
    assert_eq!(n, 0, "nothing delivered from an unrequested layout");
    let s = d.port(0).unwrap().rx_stats(0);
    assert_eq!((s.cqe_unknown_type, s.bad_cqe), (1, 1));
    assert_eq!(d.pending_reset(), Some(ResetReason::RxDescriptorMalformed));
}
