//! Hardware channel and GDMA requests: correlation, timeouts, depth, DMA regions.

extern crate std;

use std::rc::Rc;

use zerocopy::{FromZeros, IntoBytes};

use cloudnic_common::{DmaRegion, Error, Platform};

use super::cfg;
use crate::bar::BarLayout;
use crate::defs::gdma::{code, QueryMaxResourcesReq, QueryMaxResourcesResp};
use crate::defs::msg::{GdmaDevId, GdmaRequest};
use crate::defs::regs::RegLayout;
use crate::fake::{dev::FAKE_BAR_LEN, setup, FakeBar, FakeDev, FakePlat, Shared};
use crate::gdma::{Gdma, GdmaConfig};
use crate::hwc::HwcHealth;

fn gdma_with(
    fake: FakeDev,
    tweak: impl FnOnce(&mut GdmaConfig),
) -> (Gdma<FakePlat>, FakePlat, FakeBar, Rc<Shared>) {
    let (plat, bar, sh) = setup(fake);
    let mut g = cfg().gdma;
    g.hwc.timeout_us = 1_000_000;
    tweak(&mut g);
    let layout = BarLayout::read(&bar, RegLayout::Vf, FAKE_BAR_LEN).unwrap();
    let gdma = Gdma::bring_up(&plat, &bar, layout, &g).unwrap();
    (gdma, plat, bar, sh)
}

fn query(
    g: &mut Gdma<FakePlat>,
    p: &FakePlat,
    b: &FakeBar,
) -> Result<QueryMaxResourcesResp, Error> {
    g.send(
        p,
        b,
        &QueryMaxResourcesReq {
            hdr: QueryMaxResourcesReq::header(GdmaDevId::NONE),
        },
    )
}

#[test]
fn timeout_kills_the_channel_and_is_reported() {
    let (mut g, p, b, sh) = gdma_with(FakeDev::new(), |_| {});
    sh.dev.borrow_mut().faults.drop_responses = 1;
    let t0 = p.now_us();
    assert_eq!(query(&mut g, &p, &b).err(), Some(Error::Timeout));
    assert!(p.now_us() - t0 >= 1_000_000);
    assert_eq!(g.hwc.health(), HwcHealth::Dead);
    assert_eq!(g.hwc.stats().hwc_timeouts, 1);
    // Typed: later requests fail at once as "channel dead", not as a device refusal.
    let t1 = p.now_us();
    assert_eq!(query(&mut g, &p, &b).err(), Some(Error::ChannelDead));
    assert_eq!(p.now_us(), t1);
    // REPORT_HWC_TIMEOUT went out over the SMC.
    assert!(sh.dev.borrow().smc_log.contains(&4));
}

#[test]
fn device_status_keeps_the_channel() {
    let (mut g, p, b, sh) = gdma_with(FakeDev::new(), |_| {});
    sh.dev.borrow_mut().faults.status = Some((code::QUERY_MAX_RESOURCES, 7, 1));
    assert_eq!(query(&mut g, &p, &b).err(), Some(Error::DeviceStatus(7)));
    assert_eq!(g.hwc.health(), HwcHealth::Running);
    assert_eq!(query(&mut g, &p, &b).unwrap().max_sq, 64);
}

#[test]
fn responses_are_matched_by_activity_id() {
    let (mut g, p, b, sh) = gdma_with(FakeDev::new(), |_| {});
    let dev = g.registration().dev;
    // A MANA command answered first with a wrong activity id, then the right one.
    sh.dev.borrow_mut().faults.bad_activity = 1;
    let cfg = g.query_dev_config(&p, &b).unwrap();
    assert_eq!(cfg.max_num_vports, 1);
    assert_eq!(g.hwc.stats().hwc_bad_responses, 1);
    // The stray response is a protocol violation: the health check will reset.
    assert_eq!(g.hwc.health(), HwcHealth::Violation);
    let _ = dev;
}

#[test]
fn duplicate_response_never_completes_another_request() {
    let (mut g, p, b, sh) = gdma_with(FakeDev::new(), |_| {});
    sh.dev.borrow_mut().faults.duplicate = 1;
    assert_eq!(query(&mut g, &p, &b).unwrap().max_rq, 64);
    // The duplicate is still in the CQ; the next request must get its own answer.
    let c = g.query_dev_config(&p, &b).unwrap();
    assert_eq!(c.adapter_mtu, 9014);
    assert_eq!(g.hwc.stats().hwc_bad_responses, 1);
}

#[test]
fn several_requests_in_flight_complete_out_of_order() {
    let mut fake = FakeDev::new();
    fake.cfg.hwc_depth = 4;
    let (mut g, p, b, _) = gdma_with(fake, |c| c.hwc.max_inflight = 4);
    assert_eq!(g.hwc.depth(), 4);
    let req = QueryMaxResourcesReq {
        hdr: QueryMaxResourcesReq::header(GdmaDevId::NONE),
    };
    let before = g.hwc.engine_stats().completed;
    let ids: std::vec::Vec<u16> = (0..3)
        .map(|_| g.hwc.submit(&p, &b, |w| w.put(req.as_bytes())).unwrap())
        .collect();
    assert!(ids[0] != ids[1] && ids[1] != ids[2] && ids[0] != ids[2]);
    for id in ids.iter().rev() {
        let mut r = QueryMaxResourcesResp::new_zeroed();
        let h = g.hwc.wait(&p, &b, *id, r.as_mut_bytes()).unwrap();
        assert_eq!(h.status, 0);
        assert_eq!(r.max_eq, 64);
    }
    assert_eq!(g.hwc.engine_stats().completed - before, 3);
    assert_eq!(g.hwc.health(), HwcHealth::Running);
}

#[test]
fn dma_region_over_one_message_uses_add_pages() {
    let mut fake = FakeDev::new();
    // 640-byte requests carry (640 − 64) / 8 = 72 pages, ADD_PAGES (640 − 56) / 8 = 73.
    fake.cfg.max_request = 640;
    let (mut g, p, b, sh) = gdma_with(fake, |_| {});
    let mem = p.alloc_dma(256 * 4096, 4096).unwrap();
    let before = sh.dev.borrow().requests.len();
    let h = g.create_dma_region(&p, &b, &mem).unwrap();
    let dev = sh.dev.borrow();
    assert_eq!(
        &dev.requests[before..],
        &[
            code::CREATE_DMA_REGION,
            code::DMA_REGION_ADD_PAGES,
            code::DMA_REGION_ADD_PAGES,
            code::DMA_REGION_ADD_PAGES
        ]
    );
    let (pages, count) = &dev.regions[&h];
    assert_eq!(*count, 256);
    assert_eq!(pages.len(), 256);
    assert!(pages
        .iter()
        .enumerate()
        .all(|(i, a)| *a == mem.bus_addr() + 4096 * i as u64));
}

#[test]
fn add_pages_failure_destroys_the_region() {
    let mut fake = FakeDev::new();
    fake.cfg.max_request = 640;
    fake.faults.status = Some((code::DMA_REGION_ADD_PAGES, 3, 1));
    let (mut g, p, b, sh) = gdma_with(fake, |_| {});
    let mem = p.alloc_dma(128 * 4096, 4096).unwrap();
    assert_eq!(
        g.create_dma_region(&p, &b, &mem).err(),
        Some(Error::DeviceStatus(3))
    );
    let dev = sh.dev.borrow();
    assert_eq!(dev.requests.last(), Some(&code::DESTROY_DMA_REGION));
    assert!(dev.regions.is_empty());
}

#[test]
fn fail_fast_while_a_reset_is_pending() {
    let (mut g, p, b, sh) = gdma_with(FakeDev::new(), |_| {});
    let eq = sh.dev.borrow().hwc.unwrap().0;
    sh.dev.borrow_mut().post_eqe(
        &mut sh.mem.borrow_mut(),
        eq,
        crate::defs::queue::eqe_type::HWC_RESET_REQUEST,
        1,
    );
    g.hwc.process_interrupt(&p, &b);
    assert_eq!(g.hwc.events().reset_request, Some(1));
    g.hwc.set_fail_fast(true);
    assert_eq!(query(&mut g, &p, &b).err(), Some(Error::NotRunning));
}

#[test]
fn hwc_timeout_reconfiguration_event() {
    let (mut g, p, b, sh) = gdma_with(FakeDev::new(), |_| {});
    let eq = sh.dev.borrow().hwc.unwrap().0;
    let d =
        crate::defs::hwc::HwcTypeData::new(crate::defs::hwc::reconfig_data::HWC_TIMEOUT, 2500).0;
    sh.dev.borrow_mut().post_eqe(
        &mut sh.mem.borrow_mut(),
        eq,
        crate::defs::queue::eqe_type::HWC_SOC_RECONFIG_DATA,
        d,
    );
    g.hwc.process_interrupt(&p, &b);
    assert_eq!(g.hwc.timeout_us(), 2_500_000);
}

#[test]
fn query_hwc_timeout_when_the_pf_supports_it() {
    let mut fake = FakeDev::new();
    fake.cfg.pf_caps = crate::defs::gdma::PfCapFlags1::QUERY_HWC_TIMEOUT.bits();
    let (g, _, _, sh) = gdma_with(fake, |_| {});
    assert!(sh.dev.borrow().requests.contains(&code::QUERY_HWC_TIMEOUT));
    assert_eq!(g.hwc.timeout_us(), 5_000_000);
}
