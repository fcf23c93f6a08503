//! MANA control-path faults played by the device model against the real
//! driver, back to back with a healthy peer: HWC timeout, bad status,
//! dropped / duplicated / late / corrupted responses, EQE 135 and EQE 132.
//! Each recovered fault is checked the same way: the reset reason and its
//! counters, the log, traffic both ways afterwards, and at teardown the
//! ledgers, device objects and guest memory (`teardown_and_check`).

use cloudnic_common::nic::{NetDevice, RssConfig};
use cloudnic_common::{Error, ResetReason};
use cloudnic_mana::defs::eth::code::{CONFIG_VPORT_RX, QUERY_GF_STAT};
use cloudnic_models::mana::{HwcCorruption, HwcFilter, ManaFault};
use cloudnic_tests::testbed::mana::ManaPair;

/// One health period.
const TICK_US: u64 = 1_000_000;
const GF_STATS: HwcFilter = HwcFilter::code(QUERY_GF_STAT);
const STEER: HwcFilter = HwcFilter::code(CONFIG_VPORT_RX);

/// Node a ran exactly one reset, for `reason`, and recovered: counters,
/// log, the interface open, traffic both ways, the peer untouched.
fn assert_recovered_once(t: &mut ManaPair, reason: ResetReason) {
    assert_eq!(t.a.resets, [(reason, Ok(()))], "resets run");
    assert_eq!(t.a.stat(0, "total_resets"), Some(1));
    assert_eq!(t.a.stat(0, "reset_fail"), Some(0));
    if let Some(name) = reason.counter_name() {
        assert_eq!(t.a.stat(0, name), Some(1), "{name}");
    }
    assert!(t.a.log().contains("mana: reset, reason"), "reset logged");
    assert!(t.a.log().contains("mana: reset complete"));
    assert!(t.a.nd(0).is_open(), "reopened");
    assert!(t.a.model.borrow().hwc_established());
    assert!(t.b.resets.is_empty(), "the peer never reset");
    t.assert_traffic_both_ways(2);
}

/// A different key than the default one.
fn key() -> Vec<u8> {
    (0..40u8).map(|i| i ^ 0x3C).collect()
}

#[test]
fn hwc_timeout_kills_the_channel_and_resets_with_admin_timeout() {
    let mut t = ManaPair::new();
    t.a.model.borrow_mut().inject(ManaFault::HwcNoResponse {
        filter: GF_STATS,
        count: 1,
    });
    let t0 = t.clock.now_us();
    let resets = t.run_for(TICK_US);
    assert_eq!(resets, [('a', ResetReason::AdminTimeout)]);
    assert!(
        t.clock.now_us() - t0 >= 30_000_000,
        "waited the 30 s HWC timeout (mana.md §3.5)"
    );
    assert_eq!(t.a.stat(0, "hwc_timeouts"), Some(1));
    assert_eq!(t.a.stat(0, "stats_query_errors"), Some(1));
    let m = t.a.model.borrow();
    assert!(
        m.last_timeout_report().is_some_and(|f| f & (1 << 24) != 0),
        "REPORT_HWC_TIMEOUT, last command failed"
    );
    assert_eq!(m.counters().hwc_destroys, 1);
    assert!(
        m.counters().objects_dropped > 0,
        "a dead channel leaves the queues to DESTROY_HWC"
    );
    drop(m);
    assert_recovered_once(&mut t, ResetReason::AdminTimeout);
    t.teardown_and_check();
}

#[test]
fn bad_status_is_the_device_saying_no_not_a_dead_channel() {
    let mut t = ManaPair::new();
    let before = t.a.model.borrow().rss(0).unwrap().1;
    t.a.model.borrow_mut().inject(ManaFault::HwcStatus {
        filter: STEER,
        status: 0x55,
        count: 1,
    });
    let k = key();
    assert_eq!(
        t.a.nd(0).set_rss(&RssConfig {
            key: Some(&k),
            table: None
        }),
        Err(Error::DeviceStatus(0x55))
    );
    let mut got = [0u8; 40];
    t.a.nd(0).get_rss(&mut got, &mut []);
    assert_eq!(got, before, "nothing committed");
    assert_eq!(t.a.model.borrow().rss(0).unwrap().1, before);
    // The channel lives on: the same request succeeds, stats queries fail softly.
    t.a.nd(0)
        .set_rss(&RssConfig {
            key: Some(&k),
            table: None,
        })
        .expect("retry");
    t.a.model.borrow_mut().inject(ManaFault::HwcStatus {
        filter: GF_STATS,
        status: 7,
        count: 1,
    });
    assert!(
        t.run_for(3 * TICK_US).is_empty(),
        "no reset for a refused command"
    );
    assert_eq!(t.a.stat(0, "stats_query_errors"), Some(1));
    assert_eq!(t.a.model.borrow().counters().hwc_errors, 2);
    t.assert_traffic_both_ways(2);
    t.teardown_and_check();
}

#[test]
fn dropped_response_times_out_then_fails_fast_until_the_reset() {
    let mut t = ManaPair::new();
    t.a.model.borrow_mut().inject(ManaFault::HwcDropResponse {
        filter: STEER,
        count: 1,
    });
    let k = key();
    assert_eq!(
        t.a.nd(0).set_rss(&RssConfig {
            key: Some(&k),
            table: None
        }),
        Err(Error::Timeout)
    );
    let t0 = t.clock.now_us();
    assert_eq!(
        t.a.nd(0).set_rss(&RssConfig {
            key: Some(&k),
            table: None
        }),
        Err(Error::ChannelDead)
    );
    assert_eq!(t.clock.now_us(), t0, "no wait on a dead channel");
    assert_eq!(t.run_for(TICK_US), [('a', ResetReason::AdminTimeout)]);
    assert_recovered_once(&mut t, ResetReason::AdminTimeout);
    t.teardown_and_check();
}

#[test]
fn duplicated_response_is_refused_and_the_channel_reset() {
    let mut t = ManaPair::new();
    t.a.model
        .borrow_mut()
        .inject(ManaFault::HwcDuplicateResponse {
            filter: STEER,
            count: 1,
        });
    let k = key();
    t.a.nd(0)
        .set_rss(&RssConfig {
            key: Some(&k),
            table: None,
        })
        .expect("the first copy answers");
    t.settle();
    assert_eq!(
        t.a.stat(0, "hwc_bad_responses"),
        Some(1),
        "the second copy names no request in flight"
    );
    assert_eq!(t.run_for(TICK_US), [('a', ResetReason::AdminTimeout)]);
    assert_recovered_once(&mut t, ResetReason::AdminTimeout);
    assert_eq!(
        t.a.model.borrow().rss(0).unwrap().1.to_vec(),
        k,
        "the key survives the reset"
    );
    t.teardown_and_check();
}

#[test]
fn late_response_within_the_timeout_is_fine_beyond_it_is_a_timeout() {
    let mut t = ManaPair::new();
    t.a.model.borrow_mut().inject(ManaFault::HwcDelayResponse {
        filter: STEER,
        delay_us: 2_000_000,
        count: 1,
    });
    let k = key();
    let t0 = t.clock.now_us();
    t.a.nd(0)
        .set_rss(&RssConfig {
            key: Some(&k),
            table: None,
        })
        .expect("late but in time");
    assert!(t.clock.now_us() - t0 >= 2_000_000);
    assert!(t.run_for(2 * TICK_US).is_empty());
    t.a.model.borrow_mut().inject(ManaFault::HwcDelayResponse {
        filter: STEER,
        delay_us: 40_000_000,
        count: 1,
    });
    assert_eq!(
        t.a.nd(0).set_rss(&RssConfig {
            key: None,
            table: None
        }),
        Err(Error::Timeout)
    );
    assert_eq!(t.run_for(TICK_US), [('a', ResetReason::AdminTimeout)]);
    // The late copy was dropped with the old channel: nothing arrives later.
    assert!(t.run_for(45 * TICK_US).is_empty());
    assert_recovered_once(&mut t, ResetReason::AdminTimeout);
    t.teardown_and_check();
}

#[test]
fn corrupted_response_never_completes_another_request() {
    for kind in [
        HwcCorruption::WrongActivityId,
        HwcCorruption::WrongMsgType,
        HwcCorruption::Oversize,
    ] {
        let mut t = ManaPair::new();
        t.a.model
            .borrow_mut()
            .inject(ManaFault::HwcCorruptResponse {
                filter: STEER,
                kind,
                count: 1,
            });
        let k = key();
        let r = t.a.nd(0).set_rss(&RssConfig {
            key: Some(&k),
            table: None,
        });
        assert!(
            matches!(r, Err(Error::Timeout | Error::Malformed)),
            "{kind:?}: {r:?}"
        );
        assert!(t.a.stat(0, "hwc_bad_responses").unwrap() >= 1, "{kind:?}");
        assert_eq!(
            t.run_for(TICK_US),
            [('a', ResetReason::AdminTimeout)],
            "{kind:?}"
        );
        assert_recovered_once(&mut t, ResetReason::AdminTimeout);
        t.teardown_and_check();
    }
}

#[test]
fn eqe_135_reset_request_runs_the_service_reset() {
    let mut t = ManaPair::new();
    t.assert_traffic_both_ways(1);
    t.a.model
        .borrow_mut()
        .inject(ManaFault::ResetRequest { data: 0 });
    t.settle();
    assert_eq!(t.a.stat(0, "reset_request_eqe"), Some(1));
    assert_eq!(t.a.dev().pending_reset(), Some(ResetReason::DeviceRequest));
    assert_eq!(t.run_for(TICK_US), [('a', ResetReason::DeviceRequest)]);
    assert!(t.a.log().contains("device requested a reset (EQE 135"));
    assert_recovered_once(&mut t, ResetReason::DeviceRequest);
    t.teardown_and_check();
}

#[test]
fn eqe_132_fpga_reconfig_runs_the_service_reset() {
    let mut t = ManaPair::new();
    t.a.model.borrow_mut().inject(ManaFault::FpgaReconfig);
    assert_eq!(t.run_for(TICK_US), [('a', ResetReason::DeviceRequest)]);
    assert_eq!(t.a.stat(0, "fpga_reconfig_eqe"), Some(1));
    assert_recovered_once(&mut t, ResetReason::DeviceRequest);
    t.teardown_and_check();
}

#[test]
fn hwc_timeout_at_probe_fails_cleanly_and_a_new_probe_works() {
    let mut o = cloudnic_tests::testbed::mana::NodeOptions::new("a");
    o.faults.push(ManaFault::HwcNoResponse {
        filter: HwcFilter::code(cloudnic_mana::defs::eth::code::QUERY_DEV_CONFIG),
        count: 1,
    });
    let mut t = ManaPair::with(o, cloudnic_tests::testbed::mana::NodeOptions::new("b"));
    assert_eq!(t.a.probe_error, Some(Error::Timeout));
    assert!(t.a.dev.is_none());
    assert!(
        !t.a.model.borrow().hwc_established(),
        "the failed probe destroyed the HWC"
    );
    t.a.probe().expect("second probe");
    t.a.open(0).expect("open");
    t.assert_traffic_both_ways(2);
    t.teardown_and_check();
}

#[test]
fn lost_management_interrupts_do_not_stall_the_polled_channel() {
    let mut t = ManaPair::new();
    t.a.model.borrow_mut().inject(ManaFault::LostInterrupts {
        vector: Some(0),
        count: cloudnic_models::mana::FOREVER,
    });
    let k = key();
    t.a.nd(0)
        .set_rss(&RssConfig {
            key: Some(&k),
            table: None,
        })
        .expect("HWC completions are polled");
    // A link event without its interrupt is seen at the next health tick.
    t.a.model.borrow_mut().inject(ManaFault::LinkDown);
    t.settle();
    assert!(t.a.nd(0).link_up(), "no interrupt, not seen yet");
    assert!(t.run_for(TICK_US).is_empty());
    assert!(!t.a.nd(0).link_up(), "picked up by the health tick");
    t.a.model.borrow_mut().inject(ManaFault::LinkUp);
    assert!(
        t.run_for(3 * TICK_US).is_empty(),
        "no reset: stats queries poll too"
    );
    assert!(t.a.model.borrow().counters().irq_dropped >= 2);
    t.assert_traffic_both_ways(2);
    t.teardown_and_check();
}
