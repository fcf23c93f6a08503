//! Byte-exact tests of the wire formats against the tables of mana.md §1–§8.

use core::mem::offset_of;

use zerocopy::{FromBytes, FromZeros, IntoBytes};

use super::eth::*;
use super::eth_dp::*;
use super::eth_stats::*;
use super::gdma::*;
use super::gdma_objects::*;
use super::hwc::*;
use super::msg::*;
use super::queue::*;
use super::regs::*;
use super::smc::*;

fn le32(b: &[u8], off: usize) -> u32 {
    u32::from_le_bytes(b[off..off + 4].try_into().unwrap())
}

#[test]
fn vf_regmap_offsets() {
    // mana.md §1.3: 0x08 db page offset, 0x10 db page size, 0x18 SMC offset, 0x20 SMC size.
    assert_eq!(
        offset_of!(VfRegMap, db_page_offset),
        offset::DB_PAGE_OFFSET as usize
    );
    assert_eq!(
        offset_of!(VfRegMap, db_page_size),
        offset::DB_PAGE_SIZE as usize
    );
    assert_eq!(
        offset_of!(VfRegMap, shm_offset),
        offset::SHM_OFFSET as usize
    );
    assert_eq!(offset_of!(VfRegMap, shm_size), offset::SHM_SIZE as usize);
    let m = VfRegMap {
        micro_version: 1,
        minor_version: 0,
        major_version: 1,
        ..Default::default()
    };
    assert_eq!(RegVersion(le32(m.as_bytes(), 0)), RegVersion::new(1, 0, 1));
    assert_eq!(RegVersion::new(1, 2, 3).major(), 1);
    assert_eq!(RegVersion::new(1, 2, 3).minor(), 2);
    assert_eq!(RegVersion::new(1, 2, 3).micro(), 3);
    assert_eq!(RegLayout::for_device_id(0xB9), RegLayout::Pf);
    assert_eq!(RegLayout::for_device_id(0xBA), RegLayout::Vf);
    assert_eq!(RegLayout::for_device_id(0xC1), RegLayout::Vf);
}

#[test]
fn doorbells() {
    // SQ: 0–23 id, 32–63 bytes.
    let d = WqDoorbell::sq(0x12_3456, 0x8000_0040);
    assert_eq!(d.0, 0x8000_0040_0012_3456);
    assert_eq!((d.queue_id(), d.tail_bytes()), (0x12_3456, 0x8000_0040));
    // RQ with wqe_cnt in 24–31; a queue id wider than 24 bits is masked.
    let d = WqDoorbell::rq(0xFF12_3456, 3, 0x20);
    assert_eq!(d.0, 0x0000_0020_0312_3456);
    assert_eq!(d.wqe_cnt(), 3);
    // CQ: index 31 bits, arm bit 63.
    let d = CqDoorbell::new(7, 0xFFFF_FFFF, true);
    assert_eq!(d.0, 0xFFFF_FFFF_0000_0007);
    let d = CqDoorbell::new(7, 0x1234, false);
    assert_eq!(d.0, 0x0000_1234_0000_0007);
    assert!(!d.arm());
    assert_eq!(d.index(), 0x1234);
    // EQ: 16-bit id.
    let d = EqDoorbell::new(0x1_0005, 9, true);
    assert_eq!(d.0, 0x8000_0009_0000_0005);
    assert_eq!((d.queue_id(), d.index(), d.arm()), (5, 9, true));
    // DIM: usec 32–41 + valid 47, comps 48–55 + valid 63.
    let d = DimDoorbell::new(3, Some(1023), Some(255));
    assert_eq!(d.0, 0x80FF_83FF_0000_0003);
    assert_eq!((d.usec(), d.comps()), (Some(1023), Some(255)));
    assert_eq!(DimDoorbell::new(3, None, None).0, 3);
    assert_eq!(RqClientDoorbell::new(2, 1, 0xABCD).0, 0x0000_ABCD_0100_0002);
    // Short doorbells (DPDK 32-bit).
    let s = ShortCqEqDoorbell::new(0x123, 5, true);
    assert_eq!(s.0, 0x8123_0005);
    assert_eq!((s.queue_id(), s.increment(), s.arm()), (0x123, 5, true));
    assert_eq!(ShortWqDoorbell::new(0x45, 64).0, 0x0045_0040);
    // Offsets in the page (mana.md §1.4).
    assert_eq!(
        (db_offset::SQ, db_offset::RQ, db_offset::CQ, db_offset::EQ),
        (0, 0x400, 0x800, 0xFF8)
    );
}

#[test]
fn smc_header_and_establish() {
    let h = SmcHeader::request(SMC_MSG_ESTABLISH_HWC, 0, false);
    assert_eq!(h.0, 1);
    assert_eq!(
        SmcHeader::request(SMC_MSG_REPORT_HWC_TIMEOUT, 1, true).0,
        4 | 1 << 3 | 1 << 24
    );
    let r = SmcHeader::response(1, 0, 0);
    assert_eq!(r.0, 1 | 1 << 7);
    assert!(r.is_valid_response_to(h));
    assert!(!SmcHeader::response(1, 0, 3).is_valid_response_to(h));
    assert!(!SmcHeader::response(2, 0, 0).is_valid_response_to(h));
    assert!(!SmcHeader::response(1, 1, 0).is_valid_response_to(h));
    assert!(!SmcHeader(1).is_valid_response_to(h));
    assert!(SmcHeader(SmcHeader::OWNER_IS_PF).owner_is_pf());

    // PFNs: EQ 0x1_0000_0000 (PFN 0x10_0000), SQ with bit 50 set in the PFN.
    let eq = 0x1_0000_0000u64;
    let cq = 0x2000u64;
    let rq = 0x0003_0000u64;
    let sq = (1u64 << 50 | 0x1234) << 12;
    let m = SmcEstablishHwc::new(eq, cq, rq, sq, 0x77);
    let b = m.as_bytes();
    assert_eq!(&b[0..6], &[0x00, 0x00, 0x10, 0x00, 0x00, 0x00]);
    assert_eq!(&b[6..12], &[0x02, 0, 0, 0, 0, 0]);
    assert_eq!(&b[12..18], &[0x30, 0, 0, 0, 0, 0]);
    assert_eq!(&b[18..24], &[0x34, 0x12, 0, 0, 0, 0]);
    // SQ high nibble (PFN bits 48–51 = 0x4) lands in bits 12–15.
    assert_eq!(u16::from_le_bytes([b[24], b[25]]), 0x4000);
    assert_eq!(u16::from_le_bytes([b[26], b[27]]), 0x77);
    assert_eq!(le32(b, 28), 1);
    assert_eq!(
        (m.eq_addr(), m.cq_addr(), m.rq_addr(), m.sq_addr()),
        (eq, cq, rq, sq)
    );
    let dw = window_dwords(b.try_into().unwrap());
    assert_eq!(dw[7], 1);
    assert!(SmcEstablishHwc::address_ok(0x3000));
    assert!(!SmcEstablishHwc::address_ok(0x3008));

    let t = SmcReportHwcTimeout::new(1, 2, 3, 4, 0x0200_0000, true, true);
    let b = t.as_bytes();
    assert_eq!(
        (le32(b, 0), le32(b, 4), le32(b, 8), le32(b, 12)),
        (1, 2, 3, 4)
    );
    assert_eq!(le32(b, 24), 0x00FF_FFFF | 1 << 24 | 1 << 25);
    assert_eq!(le32(b, 28), 4 | 1 << 3);
}

#[test]
fn message_headers() {
    let h = GdmaReqHdr::new(
        super::gdma::code::LIST_DEVICES,
        40,
        296,
        1,
        1,
        GdmaDevId::HWC,
    );
    let b = h.as_bytes();
    assert_eq!(le32(b, 0), GDMA_STANDARD_HEADER_TYPE);
    assert_eq!(le32(b, 4), 3);
    assert_eq!(u16::from_le_bytes([b[8], b[9]]), 1);
    assert_eq!(le32(b, 12), 40);
    assert_eq!(le32(b, 16 + 4), 3);
    assert_eq!(le32(b, 16 + 12), 296);
    assert_eq!(u16::from_le_bytes([b[32], b[33]]), GDMA_DEVICE_HWC);
    assert_eq!(offset_of!(GdmaReqHdr, activity_id), REQ_ACTIVITY_ID_OFFSET);
    assert_eq!(
        offset_of!(GdmaReqHdr, req) + offset_of!(GdmaMsgHdr, hwc_msg_id),
        REQ_HWC_MSG_ID_OFFSET
    );
    assert_eq!(offset_of!(GdmaRespHdr, activity_id), 20);
    assert_eq!(offset_of!(GdmaRespHdr, status), 24);
    // The trait picks sizes and versions.
    let h = QueryDevConfigReq::header(GdmaDevId::new(GDMA_DEVICE_MANA, 1));
    assert_eq!(
        (
            h.req.msg_size,
            h.resp.msg_size,
            h.req.msg_version,
            h.resp.msg_version
        ),
        (88, 80, 1, 3)
    );
    let h = CreateDmaRegionReq::header_sized(GdmaDevId::NONE, 64 + 8 * 3);
    assert_eq!((h.req.msg_size, h.resp.msg_size), (88, 40));
}

#[test]
fn gdma_bodies() {
    assert_eq!(offset_of!(VerifyVersionReq, protocol_ver_min), 40);
    assert_eq!(offset_of!(VerifyVersionReq, gd_drv_cap_flags1), 56);
    assert_eq!(offset_of!(VerifyVersionReq, drv_ver), 88);
    assert_eq!(offset_of!(VerifyVersionReq, os_type), 96);
    assert_eq!(offset_of!(VerifyVersionReq, os_ver_major), 104);
    assert_eq!(offset_of!(VerifyVersionReq, os_ver_str1), 128);
    assert_eq!(offset_of!(VerifyVersionReq, os_ver_str4), 512);
    assert_eq!(offset_of!(VerifyVersionResp, pf_cap_flags1), 40);
    assert_eq!(offset_of!(QueryMaxResourcesResp, max_sq), 36);
    assert_eq!(offset_of!(QueryMaxResourcesResp, max_msix), 68);
    assert_eq!(offset_of!(ListDevicesResp, devs), 40);
    assert_eq!(offset_of!(RegisterDeviceResp, db_id), 40);
    assert_eq!(offset_of!(CreateQueueReq, gdma_region), 56);
    assert_eq!(offset_of!(CreateQueueReq, queue_size), 68);
    assert_eq!(offset_of!(CreateQueueReq, cq_parent_eq_id), 84);
    assert_eq!(offset_of!(CreateQueueReq, rq_drop_on_overrun), 88);
    assert_eq!(offset_of!(CreateQueueReq, sq_hw_db), 91);
    assert_eq!(offset_of!(DisableQueueReq, alloc_res_id_on_creation), 48);
    assert_eq!(offset_of!(CreateDmaRegionReq, page_addr_list_len), 60);
    assert_eq!(offset_of!(DmaRegionAddPagesReq, page_addr_list_len), 48);
    assert_eq!(offset_of!(CreateMrReq, params), 56);
    assert_eq!(offset_of!(CreateMrReq, dm_length), 80);
    assert_eq!(offset_of!(QueryHwcTimeoutResp, timeout_ms), 32);
    let mut mr = CreateMrReq::new_zeroed();
    mr.gva(0x11, 0x22, MrAccessFlags::LOCAL_WRITE);
    assert_eq!(mr.as_bytes()[56], 0x11);
    assert_eq!(mr.as_bytes()[64], 0x22);
    assert_eq!(le32(mr.as_bytes(), 72), 2);
    assert_eq!(le32(mr.as_bytes(), 48), mr_type::GVA);
    // Linux 7.2.13 capability word (mana.md §14).
    let linux = DriverCapFlags1::EQ_SHARING_MULTI_VPORT
        | DriverCapFlags1::NAPI_WKDONE_FIX
        | DriverCapFlags1::HWC_TIMEOUT_RECONFIG
        | DriverCapFlags1::VARIABLE_INDIRECTION_TABLE
        | DriverCapFlags1::HW_VPORT_LINK_AWARE
        | DriverCapFlags1::LIST_DEVICES_HOLES
        | DriverCapFlags1::DYNAMIC_MSIX
        | DriverCapFlags1::SELF_RESET_ON_EQE
        | DriverCapFlags1::FPGA_RECONFIG_SELF_RESET
        | DriverCapFlags1::STALLED_SQ_RECOVERY
        | DriverCapFlags1::PER_VPORT_EQ_MSIX
        | DriverCapFlags1::SKB_LINEARIZE
        | DriverCapFlags1::PERIODIC_STATS_QUERY
        | DriverCapFlags1::PROBE_RECOVERY
        | DriverCapFlags1::HWC_TIMEOUT_RECOVERY;
    assert_eq!(linux.bits(), 0x27e_686d);
}

#[test]
fn hwc_formats() {
    assert_eq!(HwcInitEqIdDb(0x0003_0010).eq_id(), 0x10);
    assert_eq!(HwcInitEqIdDb(0x0003_0010).doorbell(), 3);
    let d = HwcTypeData::new(init_data::MAX_NUM_CQS, 0x1234);
    assert_eq!(d.0, 0x0700_1234);
    assert_eq!((d.data_type(), d.value()), (7, 0x1234));
    assert_eq!(
        HwcSocService::new(soc_service::RDMA_RESUME, 5).0,
        0x2000_0005
    );
    let o = HwcTxOob::vf(0x11, 0x22);
    let b = o.as_bytes();
    assert_eq!(
        (le32(b, 8), le32(b, 12), le32(b, 16), le32(b, 20)),
        (0, 0, 0x11, 0x22)
    );
    assert_eq!(le32(HwcTxOob::pf(1, 2, 3, 4).as_bytes(), 16), 1 | 1 << 26);
    let r = HwcRxOob::response(0x40, 72);
    let b = r.as_bytes();
    assert_eq!(le32(b, 0), 0xC0);
    assert_eq!(le32(b, 12), 0x40);
    assert_eq!(le32(b, 24), 72);
}

#[test]
fn wqe_and_completion_formats() {
    assert_eq!((MAX_TX_WQE_SGES, MAX_RX_WQE_SGES), (30, 15));
    // Typical sizes (mana.md §4.2).
    assert_eq!(wqe_size(INLINE_OOB_SMALL, 1), 32);
    assert_eq!(wqe_size(INLINE_OOB_SMALL, 1), 32);
    assert_eq!(wqe_size(INLINE_OOB_LARGE, 1), 64);
    assert_eq!(sgl_offset(INLINE_OOB_LARGE), 32);
    assert_eq!(wqe_size(INLINE_OOB_SMALL, 30), 512);
    assert_eq!(oob_size_code(24), Some(6));
    assert_eq!(oob_size_code(12), None);
    let p = WqeParams::new(2, 6, true, 1448);
    assert_eq!(p.0, 2 | 6 << 8 | 1 << 11 | 1448 << 16);
    assert_eq!(
        (
            p.num_sge(),
            p.oob_size(),
            p.oob_in_sgl(),
            p.client_data_unit()
        ),
        (2, 24, true, 1448)
    );
    let h = WqeHeader::new(54, p);
    assert_eq!(le32(h.as_bytes(), 0), 54 << 24);
    let s = Sge {
        address: 0x1122_3344_5566_7788,
        mem_key: 9,
        size: 1500,
    };
    assert_eq!(&s.as_bytes()[0..8], &0x1122_3344_5566_7788u64.to_le_bytes());
    assert_eq!(le32(s.as_bytes(), 8), 9);
    assert_eq!(le32(s.as_bytes(), 12), 1500);

    let info = CqeInfo::new(0x12_3456, true, 5);
    assert_eq!(info.0, 0x12_3456 | 1 << 24 | 5 << 29);
    assert_eq!(
        (info.wq_num(), info.is_sq(), info.owner()),
        (0x12_3456, true, 5)
    );
    let e = EqeInfo::new(eqe_type::HWC_RESET_REQUEST, 7);
    assert_eq!(e.0, 135 | 7 << 29);
    assert_eq!(EqeInfo(2 << 16).client_id(), 2);
    // Owner rule (mana.md §4.5): head starts at N, so the first pass expects 1.
    assert_eq!(expected_owner(64, 64), 1);
    assert_eq!(empty_owner(64, 64), 0);
    assert_eq!(expected_owner(64 * 8, 64), 0);
    assert_eq!(empty_owner(64 * 8, 64), 7);
    // A ring never created (0 entries) reads as pass 0, without a panic.
    assert_eq!((expected_owner(5, 0), empty_owner(5, 0)), (0, 7));
}

#[test]
fn eth_bodies() {
    assert_eq!(offset_of!(QueryDevConfigReq, proto_major_ver), 72);
    assert_eq!(offset_of!(QueryDevConfigResp, max_num_vports), 64);
    assert_eq!(offset_of!(QueryDevConfigResp, bm_hostmode), 66);
    assert_eq!(offset_of!(QueryDevConfigResp, max_num_eqs), 68);
    assert_eq!(offset_of!(QueryDevConfigResp, adapter_mtu), 72);
    assert_eq!(offset_of!(QueryVportConfigResp, mac_addr), 48);
    assert_eq!(offset_of!(QueryVportConfigResp, vport), 56);
    assert_eq!(offset_of!(ConfigVportTxReq, doorbell_pageid), 52);
    assert_eq!(offset_of!(ConfigVportTxResp, short_form_allowed), 34);
    assert_eq!(offset_of!(CreateWqObjReq, wq_gdma_region), 56);
    assert_eq!(offset_of!(CreateWqObjReq, cq_parent_qid), 84);
    assert_eq!(offset_of!(CreateWqObjReqV3, cq_moderation_comps), 90);
    assert_eq!(offset_of!(CreateWqObjReqV3, cq_moderation_usec), 92);
    assert_eq!(offset_of!(CreateWqObjResp, wq_obj), 40);
    assert_eq!(offset_of!(CreateWqObjRespV2, cq_moderation_enabled), 52);
    assert_eq!(offset_of!(DestroyWqObjReq, wq_obj_handle), 48);
    assert_eq!(offset_of!(ConfigVportRxReq, num_indir_entries), 48);
    assert_eq!(offset_of!(ConfigVportRxReq, rx_enable), 52);
    assert_eq!(offset_of!(ConfigVportRxReq, update_default_rxobj), 60);
    assert_eq!(offset_of!(ConfigVportRxReq, default_rxobj), 64);
    assert_eq!(offset_of!(ConfigVportRxReq, hashkey), 72);
    assert_eq!(
        offset_of!(ConfigVportRxReq, cqe_coalescing_enable),
        CONFIG_VPORT_RX_V1_SIZE as usize
    );
    assert_eq!(offset_of!(QueryLinkConfigResp, link_speed_mbps), 40);
    assert_eq!(offset_of!(SetBwClampReq, link_speed_mbps), 52);
    assert_eq!(offset_of!(QueryGfStatResp, counters), 40);
    assert_eq!(offset_of!(RegisterHwPortReq, allow_all_ether_types), 44);
    assert_eq!(offset_of!(RegisterFilterReq, mac_addr), 48);
    assert_eq!(GF_STAT_ALL, 0x7FF_FFFF);
    assert_eq!(GfStatFlags::all().bits(), GF_STAT_ALL);
}

#[test]
fn tx_oob_formats() {
    let f = TxShortOob::IS_OUTER_IPV4 | TxShortOob::COMP_IP_CSUM | TxShortOob::COMP_TCP_CSUM;
    let s = TxShortOob::new(TX_PKT_FMT_SHORT, f, 0xAB_CDEF, 34, 0x12_3456, 0x7F);
    assert_eq!(s.dword0, 0x14 | 0x20 | 0xAB_CDEF << 8);
    // vsq_frame = SQ id bits 10–23 = 0x48D.
    assert_eq!(s.dword1, 34 | 0x48D << 10 | 0x7F << 24);
    assert_eq!(
        (
            s.cq_id(),
            s.trans_off(),
            s.vsq_frame(),
            s.short_vport_offset()
        ),
        (0xAB_CDEF, 34, 0x48D, 0x7F)
    );
    let l = TxLongOob::new(Some((5, true, 0xFFE)), 0x123);
    assert_eq!(l.dword2, 1 << 3 | 5 << 16 | 1 << 19 | 0xFFE << 20);
    assert_eq!(l.dword3, 0x123 << 16);
    assert_eq!(l.vlan(), Some((5, true, 0xFFE)));
    assert_eq!(TxLongOob::new(None, 0).vlan(), None);
    let o = TxOob { s, l };
    assert_eq!(le32(o.as_bytes(), 8), l.dword2);
}

#[test]
fn completion_oobs() {
    let h = CqeHeader::new(cqe_type::TX_MTU_DROP, MANA_CQE_COMPLETION, 0x12);
    assert_eq!(h.0, 34 | 1 << 6 | 0x12 << 8);
    assert_eq!(
        (h.cqe_type(), h.client_type(), h.vendor_err()),
        (34, 1, 0x12)
    );
    let mut data = [0u8; 60];
    data[0..4].copy_from_slice(&CqeHeader::new(cqe_type::TX_OKAY, 1, 0).0.to_le_bytes());
    data[8..12].copy_from_slice(&(0x40u32 << 5 | 3).to_le_bytes());
    let t = TxCompOob::read_from_bytes(&data).unwrap();
    assert_eq!(t.tx_wqe_offset(), 0x40);
    assert_eq!(t.header().cqe_type(), 32);

    let flags = RxCompFlags::new(
        Some(100),
        NdisHashType::TCP_IPV4,
        RxCompFlags::IP_CSUM_OK | RxCompFlags::TCP_CSUM_OK,
    );
    assert_eq!(flags.0, 100 | 1 << 12 | 2 << 16 | 1 << 25 | 1 << 27);
    assert_eq!(flags.vlan(), Some(100));
    assert_eq!(flags.hash_type(), NdisHashType::TCP_IPV4);
    let mut rx = RxCompOob::new_zeroed();
    rx.cqe_hdr = CqeHeader::new(cqe_type::RX_COALESCED_4, 1, 0).0;
    rx.flags = flags.0;
    rx.ppi[1] = RxPerPktInfo {
        pkt_len: 1514,
        reserved1: 0,
        reserved2: 0,
        pkt_hash: 0xDEAD_BEEF,
    };
    rx.rx_wqe_offset = 0x1000;
    let b = rx.as_bytes();
    assert_eq!(u16::from_le_bytes([b[20], b[21]]), 1514);
    assert_eq!(le32(b, 28), 0xDEAD_BEEF);
    assert_eq!(le32(b, 56), 0x1000);
    assert!(NdisHashType::L4.contains(NdisHashType::UDP_IPV6_EX));
    assert!(!NdisHashType::L3.intersects(NdisHashType::L4));
}
