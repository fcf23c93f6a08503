//! Control-path unit tests: BAR0 maps, the SMC handshake, HWC bring-up and
//! requests, DMA regions, EQ owner counts and arming, control faults. The
//! model is driven with raw register writes (see `test_driver`).

use cloudnic_mana::defs::eth::{QueryDevConfigReq, QueryVportConfigReq};
use cloudnic_mana::defs::gdma::{
    code, CreateDmaRegionReq, DmaRegionAddPagesReq, GenerateTestEqeReq, ListDevicesReq,
    PfCapFlags1, QueryMaxResourcesReq, VerifyVersionReq,
};
use cloudnic_mana::defs::hwc::{init_data, reconfig_data, HwcTypeData};
use cloudnic_mana::defs::msg::{
    GdmaDevId, GdmaRequest, GDMA_DEVICE_MANA, GDMA_STATUS_CMD_UNSUPPORTED, GDMA_STATUS_MORE_ENTRIES,
};
use cloudnic_mana::defs::queue::eqe_type;
use cloudnic_mana::defs::regs::{db_offset, offset, EqDoorbell, RegVersion};
use cloudnic_mana::defs::smc::{SmcHeader, SMC_MSG_DESTROY_HWC};
use zerocopy::{FromZeros, IntoBytes};

use super::faults::{HwcCorruption, HwcFilter, ManaFault, FOREVER};
use super::test_driver::RawDriver;
use super::{ManaModelConfig, VportConfig};
use crate::Device;

fn version_req() -> VerifyVersionReq {
    let mut r = VerifyVersionReq::new_zeroed();
    r.hdr = VerifyVersionReq::header(GdmaDevId::NONE);
    (r.protocol_ver_min, r.protocol_ver_max) = (1, 1);
    r
}

#[test]
fn vf_and_pf_register_maps_locate_doorbells_and_smc() {
    let mut d = RawDriver::new(ManaModelConfig::default());
    assert_eq!(RegVersion(d.r32(offset::VERSION.into())).major(), 1);
    assert_eq!(d.r32(offset::DB_PAGE_OFFSET.into()), 0x1000);
    assert_eq!(d.r32(offset::DB_PAGE_SIZE.into()), 0x1000);
    assert_eq!(d.r32(offset::SHM_OFFSET.into()), 0x28);
    assert_eq!(d.r32(offset::SHM_SIZE.into()), 32);
    let mut p = RawDriver::new(ManaModelConfig::pf());
    assert_eq!(p.r32(offset::PF_DB_PAGE_OFFSET.into()), 0x1000);
    assert_eq!(p.r32(offset::PF_DB_PAGE_SIZE.into()), 0x1000);
    let sriov = u64::from(p.r32(offset::PF_SRIOV_BASE.into()));
    let rel = u64::from(p.r32(sriov + u64::from(offset::PF_SRIOV_SHM_OFFSET)));
    assert_eq!(sriov + rel, p.dev.config().smc_offset());
    assert_eq!(p.dev.pci_identity().unwrap().device_id, 0x00B9);
    assert_eq!(d.dev.pci_identity().unwrap().vendor_id, 0x1414);
    // The PF HWC speaks through the PF layout too.
    assert_eq!(p.establish().status(), 0);
    assert!(p.init.iter().any(|(t, _)| *t == init_data::PF_DEST_RQ_ID));
}

#[test]
fn establish_posts_init_eqes_with_owner_one_and_interrupts_vector_zero() {
    let mut d = RawDriver::new(ManaModelConfig::default());
    let h = d.establish();
    assert!(
        h.is_response() && !h.owner_is_pf() && h.status() == 0,
        "{h:?}"
    );
    let kinds: Vec<u8> = d.init.iter().map(|(t, _)| *t).collect();
    assert_eq!(
        kinds,
        [1, 2, 3, 4, 5, 6, 7, 8, 9],
        "CQ/RQ/SQ ids, depth, sizes, max CQs, PDID, mkey"
    );
    assert_eq!(d.eq.head, 256 + 11, "EQ id/db + 9 data + done, first pass");
    assert_eq!(
        d.irq.count(0),
        1,
        "the EQ starts armed: one interrupt, then disarmed"
    );
    // A second ESTABLISH is refused; DESTROY drops everything.
    assert_eq!(d.establish().status(), 1);
    let smc = d.dev.config().smc_offset();
    d.w32(
        smc + 28,
        SmcHeader::request(SMC_MSG_DESTROY_HWC, 0, false).0,
    );
    assert_eq!(SmcHeader(d.r32(smc + 28)).status(), 0);
    assert!(!d.dev.hwc_established());
    assert_eq!(d.dev.live_objects(), Default::default());
}

#[test]
fn smc_window_stays_owned_until_the_device_answers() {
    let cfg = ManaModelConfig {
        smc_delay_us: 500,
        ..Default::default()
    };
    let mut d = RawDriver::new(cfg);
    let h = d.establish();
    assert!(
        h.owner_is_pf() && !h.is_response(),
        "owned while processing: {h:?}"
    );
    d.clock.advance_us(500);
    d.dev.tick();
    let smc = d.dev.config().smc_offset();
    let h = SmcHeader(d.r32(smc + 28));
    assert!(h.is_response() && !h.owner_is_pf() && h.status() == 0);
    // Faults: no response keeps the window owned for a minute.
    let mut d = RawDriver::new(ManaModelConfig::default());
    d.dev.inject(ManaFault::SmcNoResponse { count: 1 });
    assert!(d.establish().owner_is_pf());
    d.clock.advance_us(60_000_000);
    d.dev.tick();
    let h = SmcHeader(d.r32(smc + 28));
    assert!(!h.owner_is_pf() && !h.is_response());
    d.dev.inject(ManaFault::SmcStatus {
        status: 5,
        count: 1,
    });
    assert_eq!(d.establish().status(), 5);
    assert_eq!(d.establish().status(), 0);
}

#[test]
fn hwc_requests_echo_slot_activity_and_device() {
    let mut d = RawDriver::new(ManaModelConfig::default());
    d.establish();
    let (s, r) = d.send(version_req());
    assert_eq!((s, r.gdma_protocol_ver), (0, 1));
    assert_eq!(r.pf_cap_flags1, PfCapFlags1::QUERY_HWC_TIMEOUT.bits());
    let (_, r) = d.send(ListDevicesReq {
        hdr: ListDevicesReq::header(GdmaDevId::NONE),
    });
    assert_eq!(r.num_of_devs, 2);
    assert_eq!(r.devs[1], GdmaDevId::new(GDMA_DEVICE_MANA, 1));
    let (_, m) = d.send(QueryMaxResourcesReq {
        hdr: QueryMaxResourcesReq::header(GdmaDevId::NONE),
    });
    assert_eq!((m.max_sq, m.max_cq, m.max_msix), (64, 256, 65));
    d.msg_id = 0;
    d.register();
    // MANA commands echo the activity id (checked inside `send`) and dev id.
    let mut q = QueryDevConfigReq {
        hdr: QueryDevConfigReq::header(d.mana),
        ..Default::default()
    };
    q.proto_minor_ver = 1;
    let (s, c) = d.send(q);
    assert_eq!(
        (s, c.hdr.resp.msg_version, c.adapter_mtu, c.max_num_vports),
        (0, 3, 9014, 1)
    );
    assert_eq!(c.hdr.dev_id, d.mana);
    // An unknown code is CMD_UNSUPPORTED; a MANA command to the wrong device is refused.
    let mut unknown = version_req();
    unknown.hdr.req.msg_type = 0x77;
    assert_eq!(d.send(unknown).0, GDMA_STATUS_CMD_UNSUPPORTED);
    let (s, _) = d.send(QueryVportConfigReq {
        hdr: QueryVportConfigReq::header(GdmaDevId::HWC),
        vport_index: 0,
    });
    assert_ne!(s, 0);
    assert_eq!(d.dev.counters().hwc(code::VERIFY_VF_DRIVER_VERSION), 1);
    assert_eq!(d.dev.counters().hwc(0x77), 1);
    assert_eq!(d.dev.counters().hwc_errors, 2);
}

#[test]
fn dma_region_in_parts_with_add_pages() {
    let mut d = RawDriver::up(ManaModelConfig::default());
    let base = d.alloc(4 * 4096);
    let first = CreateDmaRegionReq {
        hdr: CreateDmaRegionReq::header_sized(GdmaDevId::NONE, 64 + 8),
        length: 4 * 4096,
        page_count: 4,
        page_addr_list_len: 1,
        ..Default::default()
    };
    let mut b = first.as_bytes().to_vec();
    b.extend_from_slice(&base.to_le_bytes());
    let (h, resp) = d.hwc_raw(&b).unwrap();
    assert_eq!(h.status, GDMA_STATUS_MORE_ENTRIES);
    let handle = u64::from_le_bytes(resp[32..40].try_into().unwrap());
    let add = |n: u64, from: u64| {
        let r = DmaRegionAddPagesReq {
            hdr: DmaRegionAddPagesReq::header_sized(GdmaDevId::NONE, 56 + 8 * n as usize),
            dma_region_handle: handle,
            page_addr_list_len: n as u32,
            reserved3: 0,
        };
        let mut b = r.as_bytes().to_vec();
        for i in 0..n {
            b.extend_from_slice(&(base + (from + i) * 4096).to_le_bytes());
        }
        b
    };
    assert_eq!(
        d.hwc_raw(&add(2, 1)).unwrap().0.status,
        GDMA_STATUS_MORE_ENTRIES
    );
    assert_eq!(
        d.hwc_raw(&add(2, 3)).unwrap().0.status,
        1,
        "more pages than the region has"
    );
    assert_eq!(d.hwc_raw(&add(1, 3)).unwrap().0.status, 0);
    assert_eq!(d.dev.live_objects().regions, 1);
    // Failure fault: status, then a zero handle.
    d.dev.inject(ManaFault::DmaRegionFailure {
        kind: super::RegionFailure::Status(9),
        count: 1,
    });
    let mut one = first;
    (one.length, one.page_count) = (4096, 1);
    let mut b = one.as_bytes().to_vec();
    b.extend_from_slice(&base.to_le_bytes());
    assert_eq!(d.hwc_raw(&b).unwrap().0.status, 9);
    d.dev.inject(ManaFault::DmaRegionFailure {
        kind: super::RegionFailure::ZeroHandle,
        count: 1,
    });
    let (h, resp) = d.hwc_raw(&b).unwrap();
    assert_eq!((h.status, &resp[32..40]), (0, &[0u8; 8][..]));
}

#[test]
fn eq_owner_count_wraps_and_arming_is_one_shot() {
    let mut d = RawDriver::up(ManaModelConfig::default());
    let mut eq = d.create_eq(3);
    let fired = d.irq.count(3);
    let test = |d: &mut RawDriver, id: u32| {
        d.send(GenerateTestEqeReq {
            hdr: GenerateTestEqeReq::header(d.mana),
            queue_index: id,
        })
        .0
    };
    // Armed: the next EQE interrupts once, the following ones do not.
    test(&mut d, eq.id);
    test(&mut d, eq.id);
    assert_eq!(d.irq.count(3), fired + 1);
    // Consume one, arm at a stale index: one unconsumed EQE → fires at once.
    assert!(d.poll_eqe(&mut eq).is_some());
    d.ring(
        d.db,
        db_offset::EQ,
        EqDoorbell::new(eq.id, eq.db_index(), true).0,
    );
    assert_eq!(d.irq.count(3), fired + 2);
    assert_eq!(d.dev.counters().arms_fired, 1);
    // An index ahead of the device is ignored.
    d.ring(
        d.db,
        db_offset::EQ,
        EqDoorbell::new(eq.id, eq.db_index() + 5, true).0,
    );
    assert_eq!(d.dev.counters().arms_ignored, 1);
    assert!(d.poll_eqe(&mut eq).is_some());
    // Fill past the end of the 256-entry ring: owner count becomes 2.
    for _ in 0..300 {
        test(&mut d, eq.id);
        assert!(
            d.poll_eqe(&mut eq).is_some(),
            "every test EQE readable with the expected owner"
        );
    }
    assert_eq!(eq.expected(), 2);
    // Doorbell on the wrong page is refused.
    d.ring(
        0,
        db_offset::EQ,
        EqDoorbell::new(eq.id, eq.db_index(), true).0,
    );
    assert_eq!(d.dev.counters().bad_doorbells, 1);
}

#[test]
fn hwc_response_faults_drop_delay_duplicate_corrupt_and_fail() {
    let mut d = RawDriver::up(ManaModelConfig::default());
    let dev_cfg = |d: &RawDriver| QueryDevConfigReq {
        hdr: QueryDevConfigReq::header(d.mana),
        ..Default::default()
    };
    let filter = HwcFilter::code(QueryDevConfigReq::CODE);
    d.dev.inject(ManaFault::HwcNoResponse { filter, count: 1 });
    assert!(d.hwc_raw(dev_cfg(&d).as_bytes()).is_none(), "swallowed");
    d.post_hwc_rx();
    d.dev.inject(ManaFault::HwcDelayResponse {
        filter,
        delay_us: 1000,
        count: 1,
    });
    let req = dev_cfg(&d);
    assert!(d.hwc_raw(req.as_bytes()).is_none(), "late");
    d.clock.advance_us(1000);
    d.dev.tick();
    assert_eq!(d.response().map(|r| r.0.status), Some(0));
    d.dev
        .inject(ManaFault::HwcDuplicateResponse { filter, count: 1 });
    assert!(d.hwc_raw(req.as_bytes()).is_some());
    assert!(d.response().is_some(), "the same response a second time");
    d.dev.inject(ManaFault::HwcStatus {
        filter,
        status: 0x1234,
        count: FOREVER,
    });
    assert_eq!(d.send(dev_cfg(&d)).0, 0x1234);
    assert_eq!(d.send(dev_cfg(&d)).0, 0x1234);
    d.dev.clear_fault(ManaFault::HwcStatus {
        filter,
        status: 0,
        count: 0,
    });
    assert_eq!(d.send(dev_cfg(&d)).0, 0);
    d.dev.inject(ManaFault::HwcCorruptResponse {
        filter,
        kind: HwcCorruption::WrongActivityId,
        count: 1,
    });
    let (h, _) = d.hwc_raw(dev_cfg(&d).as_bytes()).unwrap();
    assert_ne!(h.activity_id, 0, "activity id changed");
    assert_eq!(d.dev.counters().hwc(QueryDevConfigReq::CODE), 7);
}

#[test]
fn service_and_link_events_arrive_on_the_hwc_eq() {
    let mut d = RawDriver::up(ManaModelConfig::default());
    let before = d.irq.count(0);
    d.ring(
        d.hwc_db,
        db_offset::EQ,
        EqDoorbell::new(d.eq.id, d.eq.db_index(), true).0,
    );
    d.dev.inject(ManaFault::ResetRequest { data: 1 });
    d.dev.inject(ManaFault::FpgaReconfig);
    d.dev.inject(ManaFault::LinkDown);
    d.dev.inject(ManaFault::HwcTimeoutReconfig { ms: 5000 });
    let mut eq = d.eq;
    let mut seen = Vec::new();
    while let Some(e) = d.poll_eqe(&mut eq) {
        if e.info().event_type() != eqe_type::COMPLETION {
            seen.push((e.info().event_type(), e.details[0]));
        }
    }
    let link_down = HwcTypeData::new(reconfig_data::LINK_DISCONNECT, 0).0;
    let timeout = HwcTypeData::new(reconfig_data::HWC_TIMEOUT, 5000).0;
    assert_eq!(seen, [(135, 1), (132, 0), (133, link_down), (133, timeout)]);
    assert_eq!(d.irq.count(0), before + 1, "one interrupt: the EQ disarms");
    assert!(!d.dev.link_up());
    // Lost interrupt: the EQE is written but the vector never fires.
    d.eq = eq;
    d.ring(
        d.hwc_db,
        db_offset::EQ,
        EqDoorbell::new(eq.id, eq.db_index(), true).0,
    );
    d.dev.inject(ManaFault::LostInterrupts {
        vector: Some(0),
        count: 1,
    });
    d.dev.inject(ManaFault::LinkUp);
    assert_eq!(d.irq.count(0), before + 1);
    assert_eq!(d.dev.counters().irq_dropped, 1);
    assert!(d.poll_eqe(&mut eq).is_some());
}

#[test]
fn several_vports_have_their_own_mac_and_handle() {
    let cfg = ManaModelConfig::default().with_vports(3);
    let mut d = RawDriver::up(cfg);
    let mut handles = Vec::new();
    for i in 0..3 {
        let (s, r) = d.send(QueryVportConfigReq {
            hdr: QueryVportConfigReq::header(d.mana),
            vport_index: i,
        });
        assert_eq!(s, 0);
        assert_eq!(r.mac_addr[5], 1 + i as u8);
        assert_eq!((r.max_num_sq, r.num_indirection_ent), (16, 64));
        handles.push(r.vport);
    }
    handles.dedup();
    assert_eq!(handles.len(), 3);
    let (s, _) = d.send(QueryVportConfigReq {
        hdr: QueryVportConfigReq::header(d.mana),
        vport_index: 3,
    });
    assert_ne!(s, 0);
    let _ = VportConfig::new([0; 6]);
}
