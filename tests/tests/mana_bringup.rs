//! MANA bring-up against the device model: BAR0 layout (VF and PF), SMC,
//! HWC init EQEs, GDMA negotiation, registration, vPort discovery, open and
//! a clean teardown that leaves nothing on the device.

use cloudnic_common::nic::NetDevice;
use cloudnic_mana::defs::eth::code as eth;
use cloudnic_mana::defs::gdma::{code as gdma, DriverCapFlags1, GDMA_OS_TYPE_LINUX};
use cloudnic_models::mana::ManaModelConfig;
use cloudnic_tests::testbed::mana::{ManaPair, NodeOptions};

#[test]
fn probe_negotiates_registers_and_opens_every_queue() {
    let mut t = ManaPair::new();
    assert!(t.a.probe_error.is_none(), "probe: {:?}", t.a.probe_error);
    {
        let m = t.a.model.borrow();
        let c = m.counters();
        for code in [
            gdma::VERIFY_VF_DRIVER_VERSION,
            gdma::LIST_DEVICES,
            gdma::QUERY_MAX_RESOURCES,
            gdma::REGISTER_DEVICE,
            gdma::QUERY_HWC_TIMEOUT,
            eth::QUERY_DEV_CONFIG,
            eth::QUERY_VPORT_CONFIG,
            eth::CONFIG_VPORT_TX,
            eth::CONFIG_VPORT_RX,
        ] {
            assert_eq!(c.hwc(code), 1, "request {code:#x} once");
        }
        // Test EQE on the HWC EQ, then one per data EQ; 4 pairs = 4 EQs, 8 WQ objects, 20 regions.
        assert_eq!(c.hwc(gdma::GENERATE_TEST_EQE), 5);
        assert_eq!(c.hwc(gdma::CREATE_QUEUE), 4);
        assert_eq!(c.hwc(eth::CREATE_WQ_OBJ), 8);
        assert_eq!(c.hwc(gdma::CREATE_DMA_REGION), 20);
        assert_eq!(
            (
                c.hwc_errors,
                c.bad_doorbells,
                c.bad_wqes,
                c.bad_mem_keys,
                c.dma_faults
            ),
            (0, 0, 0, 0, 0)
        );
        assert_eq!(c.smc_messages.get(&1), Some(&1), "one ESTABLISH_HWC");
        assert!(c.irq(0) > 0, "HWC completions on vector 0");
        assert_eq!(c.arms_ignored, 0);
        assert_eq!(m.driver_os_type(), GDMA_OS_TYPE_LINUX);
        let caps = DriverCapFlags1::from_bits_retain(m.driver_caps());
        assert!(caps
            .contains(DriverCapFlags1::SELF_RESET_ON_EQE | DriverCapFlags1::HW_VPORT_LINK_AWARE));
        assert!(m.registered() && m.rx_enabled(0));
        let live = m.live_objects();
        assert_eq!(
            (live.eqs, live.cqs, live.wqs, live.regions),
            (5, 9, 10, 0),
            "HWC + 4 EQs, 8 CQs, 8 WQs; regions consumed"
        );
        let (sqs, rqs) = m.vport_queues(0);
        assert_eq!((sqs.len(), rqs.len()), (4, 4));
    }
    let info = *t.a.nd(0).info();
    assert_eq!(info.mac, t.a.opts.model.vports[0].mac);
    assert_eq!(
        (info.max_mtu, info.rss_table_size, info.rss_key_size),
        (9000, 64, 40)
    );
    assert!(t
        .a
        .log()
        .contains("mana: HWC up: eq 8 cq 16 rq 33 sq 32 db 0 depth 1"));
    t.assert_traffic_both_ways(3);
    t.teardown_and_check();
}

#[test]
fn pf_register_layout_and_pf_only_commands() {
    let mut a = NodeOptions::new("pf0");
    a.model = ManaModelConfig::pf();
    let b = a.clone();
    let mut t = ManaPair::with(a, b);
    assert!(t.a.probe_error.is_none(), "{:?}", t.a.probe_error);
    assert_eq!(
        t.a.dev().layout().smc_offset,
        0x300,
        "SR-IOV base 0x200 + 0x100"
    );
    {
        let m = t.a.model.borrow();
        assert_eq!(m.counters().hwc(eth::REGISTER_HW_PORT), 1);
        assert_eq!(m.counters().hwc(eth::REGISTER_FILTER), 1);
    }
    t.assert_traffic_both_ways(2);
    t.a.close(0);
    assert_eq!(t.a.model.borrow().counters().hwc(eth::DEREGISTER_FILTER), 1);
    assert_eq!(
        t.a.model.borrow().counters().hwc(eth::DEREGISTER_HW_PORT),
        1
    );
    t.teardown_and_check();
}

#[test]
fn list_devices_with_a_hole_and_a_reopen_cycle() {
    let mut a = NodeOptions::new("a");
    a.model.list_devices_hole = true;
    let mut t = ManaPair::with(a, NodeOptions::new("b"));
    assert!(t.a.probe_error.is_none());
    for _ in 0..3 {
        t.a.close(0);
        assert_eq!(
            t.a.model.borrow().live_objects().wqs,
            2,
            "only the HWC's queues while closed"
        );
        t.a.open(0).expect("reopen");
        t.assert_traffic_both_ways(1);
    }
    let fences = t.a.model.borrow().counters().fences;
    assert_eq!(fences, 12, "every RQ fenced at each close (mana.md §6.4)");
    t.teardown_and_check();
}
