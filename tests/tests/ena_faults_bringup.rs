//! ENA bring-up and restore under faults: optional features refused by the
//! device (the driver degrades with the warnings AWS documents as
//! ignorable), required admin commands failing at probe and during a
//! reset's restore, register reads unanswered at probe, and DMA allocation
//! failures at probe, open and restore — each one in turn. Failures must be
//! clean errors that leak nothing, and a retry must work.

use cloudnic_common::nic::{ModerationConfig, NetDevice, RssConfig};
use cloudnic_common::{Error, LogLevel, ResetReason};
use cloudnic_ena::defs::admin::{AdminOpcode, FeatureId};
use cloudnic_ena::device::EnaConfig;
use cloudnic_models::ena::{AdminFilter, EnaFault};
use cloudnic_tests::testbed::{BackToBack, EnaNode, NodeOptions};

/// One health period (1 s, ena.md §6.4).
const TICK_US: u64 = 1_000_000;

fn opts(name: &str) -> NodeOptions {
    NodeOptions::new(name).with_rings(256, 256)
}

fn refusal(feature: FeatureId) -> EnaFault {
    EnaFault::FeatureRefused {
        feature: feature as u8,
        hide: false,
    }
}

/// Error-level lines in node `n`'s log.
fn errors(n: &EnaNode) -> Vec<String> {
    n.log()
        .lines()
        .into_iter()
        .filter(|(l, _)| *l == LogLevel::Error)
        .map(|(_, s)| s)
        .collect()
}

/// Node a refuses `features` from power-on: it must come up without an
/// error-level log line, log each `warnings` line at warning level, pass
/// traffic both ways, survive a reset under the same refusals, and pass
/// traffic again. Returns the rig for feature-specific checks.
fn comes_up_degraded(a: NodeOptions, warnings: &[&str]) -> BackToBack {
    let mut t = BackToBack::with(a, opts("eth1"));
    assert_eq!(
        t.a.probe_error, None,
        "probe succeeds without optional features"
    );
    assert!(t.a.dev().is_open());
    assert_eq!(
        errors(&t.a),
        Vec::<String>::new(),
        "a refused optional feature is not an error"
    );
    for w in warnings {
        let lvl =
            t.a.log()
                .lines()
                .into_iter()
                .find(|(_, l)| l.contains(w))
                .map(|(l, _)| l);
        assert_eq!(lvl, Some(LogLevel::Warn), "{w:?} logged as a warning");
    }
    t.assert_traffic_both_ways(2);
    // The restore path meets the same refusals.
    t.a.log().clear();
    t.a.model.borrow_mut().inject(EnaFault::DeviceRequestReset);
    assert_eq!(t.run_for(TICK_US), [('a', ResetReason::DeviceRequest)]);
    t.a.assert_reset_once(ResetReason::DeviceRequest);
    for w in warnings {
        assert!(t.a.log().contains(w), "{w:?} logged again at restore");
    }
    t.assert_traffic_both_ways(2);
    t
}

#[test]
fn rss_hash_function_refused_feature_10() {
    let t = comes_up_degraded(
        opts("eth0").with_fault(refusal(FeatureId::RssHashFunction)),
        &["Feature 10 isn't supported"],
    );
    t.teardown_and_check();
}

#[test]
fn rss_indirection_table_refused_feature_12() {
    let mut t = comes_up_degraded(
        opts("eth0").with_fault(refusal(FeatureId::RssIndirectionTableConfig)),
        &["Feature 12 isn't supported"],
    );
    assert_eq!(t.a.dev().info().rss_table_size, 0, "no table to configure");
    let table = [0u16; 128];
    let cfg = RssConfig {
        key: None,
        table: Some(&table),
    };
    assert_eq!(t.a.dev().set_rss(&cfg), Err(Error::Unsupported));
    t.assert_traffic_both_ways(1);
    t.teardown_and_check();
}

#[test]
fn rss_hash_input_refused_feature_18() {
    let t = comes_up_degraded(
        opts("eth0").with_fault(refusal(FeatureId::RssHashInput)),
        &["Feature 18 isn't supported"],
    );
    t.teardown_and_check();
}

#[test]
fn interrupt_moderation_refused_feature_20() {
    let mut t = comes_up_degraded(
        opts("eth0").with_fault(refusal(FeatureId::InterruptModeration)),
        &["Feature 20 isn't supported"],
    );
    assert_eq!(t.a.dev().negotiated().intr_delay_resolution, None);
    assert_eq!(
        t.a.dev().moderation(),
        ModerationConfig::default(),
        "no moderation without the feature"
    );
    assert_eq!(
        t.a.model.borrow().moderation(1),
        Some((0, 0)),
        "unmask writes carry no delay"
    );
    let m = ModerationConfig {
        tx_usecs: 64,
        rx_usecs: 20,
        adaptive_rx: false,
    };
    assert_eq!(t.a.dev().set_moderation(m), Err(Error::Unsupported));
    t.teardown_and_check();
}

#[test]
fn llq_refused_feature_4_falls_back_to_host_placement() {
    let mut a = opts("eth0").with_fault(refusal(FeatureId::Llq));
    a.model.bar2_size = 1 << 20; // LLQ memory present, feature refused
    let mut t = comes_up_degraded(a, &["Feature 4 isn't supported"]);
    assert!(t.a.dev().negotiated().llq.is_none(), "host placement");
    assert_eq!(t.a.stat("queue_0_tx_llq_buffer_copy"), Some(0));
    t.teardown_and_check();
}

#[test]
fn host_attributes_refused_feature_28() {
    let t = comes_up_degraded(
        opts("eth0").with_fault(refusal(FeatureId::HostAttrConfig)),
        &["Set host attribute isn't supported"],
    );
    assert!(
        t.a.model.borrow().host_info().is_none(),
        "the device never read the page"
    );
    t.teardown_and_check();
}

#[test]
fn every_optional_feature_refused_at_once_like_the_aws_syslog_example() {
    let features = [
        FeatureId::InterruptModeration,
        FeatureId::RssHashFunction,
        FeatureId::RssHashInput,
        FeatureId::HostAttrConfig,
    ];
    let a = features
        .iter()
        .fold(opts("eth0"), |o, f| o.with_fault(refusal(*f)));
    let t = comes_up_degraded(
        a,
        &[
            "Feature 20 isn't supported",
            "Feature 10 isn't supported",
            "Feature 18 isn't supported",
            "Set host attribute isn't supported",
        ],
    );
    t.teardown_and_check();
}

/// Probe node a again after removing it, with `arm` applied to the
/// platform/model first; returns the probe result. The arena must hold
/// exactly what it held before the failed attempt.
fn reprobe(t: &mut BackToBack, cfg: EnaConfig, arm: impl FnOnce(&EnaNode)) -> Result<(), Error> {
    let live = t.arena.live_allocations();
    arm(&t.a);
    let res = t.a.probe(cfg);
    if res.is_err() {
        assert!(t.a.dev.is_none());
        assert_eq!(
            t.arena.live_allocations(),
            live,
            "failed probe leaked DMA memory"
        );
        // Let the device run (keep-alive, timers): it must not write into
        // rings the failed probe freed.
        t.run_for(2 * TICK_US);
        assert_eq!(t.arena.faults(), 0, "device DMA into freed memory");
    }
    res
}

fn driver_cfg() -> EnaConfig {
    opts("eth0").driver
}

fn two_queue_cfg() -> EnaConfig {
    let mut c = driver_cfg();
    c.max_queues = 2;
    c
}

#[test]
fn dma_allocation_failure_at_each_probe_allocation_is_clean_and_retry_works() {
    let mut t = BackToBack::small();
    t.a.remove();
    let before = t.a.plat.dma_allocations();
    reprobe(&mut t, driver_cfg(), |_| {}).expect("baseline probe");
    let n = t.a.plat.dma_allocations() - before;
    assert!(
        n >= 5,
        "probe allocates readless, admin, AENQ, host-info and RSS buffers ({n})"
    );
    t.a.remove();
    for k in 1..=n {
        let res = reprobe(&mut t, driver_cfg(), |a| {
            a.plat.fail_dma_allocation(k as u32)
        });
        assert_eq!(res, Err(Error::NoMemory), "allocation {k} of {n} failing");
    }
    // Nothing left armed, the device is fine: probe, open, traffic.
    reprobe(&mut t, driver_cfg(), |_| {}).expect("retry probe");
    t.a.open().expect("open");
    t.settle();
    t.assert_traffic_both_ways(2);
    t.teardown_and_check();
}

/// Bookkeeping tables (request-id pools, the saved per-queue counters, the
/// health monitor's per-queue memory) fail at probe, each in turn: the
/// probe fails with NoMemory, and once it had touched the device it resets
/// it with INIT_ERR before freeing the rings (ena.md §1.4 code 7), so the
/// device never writes into freed memory.
#[test]
fn table_allocation_failure_at_each_probe_allocation_is_clean_and_retry_works() {
    let mut t = BackToBack::small();
    t.a.remove();
    let before = t.a.plat.table_allocations();
    reprobe(&mut t, driver_cfg(), |_| {}).expect("baseline probe");
    let n = t.a.plat.table_allocations() - before;
    assert!(
        n >= 3,
        "probe allocates admin, RSS, saved-stats and monitor tables ({n})"
    );
    t.a.remove();
    for k in 1..=n {
        let seen = t.a.model.borrow().reset_reasons().len();
        let res = reprobe(&mut t, driver_cfg(), |a| {
            a.plat.fail_table_allocation(k as u32)
        });
        assert_eq!(
            res,
            Err(Error::NoMemory),
            "table allocation {k} of {n} failing"
        );
        let reasons = t.a.model.borrow().reset_reasons().to_vec();
        if reasons.len() > seen {
            assert_eq!(
                reasons.last(),
                Some(&ResetReason::InitError.code()),
                "table allocation {k} of {n}: a probe that reset the device abandons it with INIT_ERR: {reasons:?}"
            );
        }
    }
    reprobe(&mut t, driver_cfg(), |_| {}).expect("retry probe");
    t.a.open().expect("open");
    t.settle();
    t.assert_traffic_both_ways(2);
    t.teardown_and_check();
}

/// Two queue pairs: enough to fail inside the second pair, half the loop.
fn two_queues() -> BackToBack {
    let mut a = opts("eth0");
    a.driver.max_queues = 2;
    BackToBack::with(a, opts("eth1"))
}

#[test]
fn dma_allocation_failure_at_each_open_allocation_is_clean_and_open_retries() {
    let mut t = two_queues();
    t.a.close().unwrap();
    let cfg = t.a.dev().queue_config();
    let before = t.a.plat.dma_allocations();
    t.a.open_with(cfg).expect("baseline open");
    let n = t.a.plat.dma_allocations() - before;
    assert_eq!(n, 2 * 4, "TX SQ/CQ and RX SQ/CQ per queue pair ({n})");
    for k in 1..=n {
        t.a.close().unwrap();
        let live = t.arena.live_allocations();
        t.a.plat.fail_dma_allocation(k as u32);
        assert_eq!(
            t.a.dev().open(cfg),
            Err(Error::NoMemory),
            "allocation {k} of {n} failing"
        );
        assert!(!t.a.dev().is_open());
        assert_eq!(
            t.arena.live_allocations(),
            live,
            "failed open leaked DMA memory"
        );
        t.a.open_with(cfg).expect("open after a failed one");
    }
    t.settle();
    assert!(t.run_for(3 * TICK_US).is_empty());
    t.assert_traffic_both_ways(2);
    t.teardown_and_check();
}

#[test]
fn dma_allocation_failure_during_reset_restore_fails_the_reset_cleanly() {
    let mut t = two_queues();
    // Count the allocations of a good restore.
    let before = t.a.plat.dma_allocations();
    t.a.model.borrow_mut().inject(EnaFault::DeviceRequestReset);
    assert_eq!(t.run_for(TICK_US), [('a', ResetReason::DeviceRequest)]);
    let n = t.a.plat.dma_allocations() - before;
    assert!(n > 0, "a restore re-creates the queues");
    for k in 1..=n {
        t.a.remove();
        t.a.probe(two_queue_cfg()).expect("probe");
        t.a.open().expect("open");
        t.a.resets.clear();
        t.a.reset_results.clear();
        t.settle();
        t.assert_traffic_both_ways(1);
        t.a.model.borrow_mut().inject(EnaFault::DeviceRequestReset);
        t.settle();
        t.a.plat.fail_dma_allocation(k as u32);
        assert_eq!(t.run_for(TICK_US), [('a', ResetReason::DeviceRequest)]);
        assert_eq!(
            t.a.reset_results,
            [Err(Error::NoMemory)],
            "allocation {k} of {n} failing"
        );
        let dev = t.a.dev();
        assert!(dev.is_failed(), "device marked failed");
        assert!(!dev.is_open());
        assert!(
            t.a.ledger.tx.is_empty() && t.a.ledger.rx.is_empty(),
            "every buffer given back"
        );
        assert_eq!(t.a.stat("reset_fail"), Some(1));
        assert!(t
            .a
            .log()
            .contains("Reset attempt failed. Can not reset the device"));
        let reasons = t.a.model.borrow().reset_reasons().to_vec();
        assert_eq!(
            reasons.last(),
            Some(&ResetReason::DriverInvalidState.code()),
            "{reasons:?}"
        );
        // A failed device stays quiet: no reset loop, no posts.
        assert!(t.run_for(3 * TICK_US).is_empty());
        assert!(t.a.send(0, &[0u8; 60], false, 0, 4096).is_err());
    }
    // Removal frees everything; a new probe (driver reload) works.
    t.a.remove();
    t.a.probe(two_queue_cfg())
        .expect("probe after a failed reset");
    t.a.open().expect("open");
    t.settle();
    t.assert_traffic_both_ways(2);
    t.teardown_and_check();
}

const GET_DEVICE_ATTRIBUTES: AdminFilter = AdminFilter::feature(
    AdminOpcode::GetFeature as u8,
    FeatureId::DeviceAttributes as u8,
);

#[test]
fn required_admin_command_failing_at_probe_is_a_clean_error_and_retry_works() {
    let mut t = BackToBack::small();
    t.a.remove();
    let status = 6; // unknown error
    let res = reprobe(&mut t, driver_cfg(), |a| {
        a.model.borrow_mut().inject(EnaFault::AdminStatus {
            filter: GET_DEVICE_ATTRIBUTES,
            status,
            count: 1,
        })
    });
    assert_eq!(res, Err(Error::DeviceStatus(status.into())));
    let reasons = t.a.model.borrow().reset_reasons().to_vec();
    assert_eq!(
        reasons.last(),
        Some(&ResetReason::InitError.code()),
        "abandoned with INIT_ERR: {reasons:?}"
    );
    // A silent device: the 3 s admin timeout, then the same clean exit.
    let res = reprobe(&mut t, driver_cfg(), |a| {
        a.model.borrow_mut().inject(EnaFault::AdminDrop {
            filter: GET_DEVICE_ATTRIBUTES,
            count: 1,
        })
    });
    assert_eq!(res, Err(Error::Timeout));
    reprobe(&mut t, driver_cfg(), |_| {}).expect("retry probe");
    t.a.open().expect("open");
    t.settle();
    t.assert_traffic_both_ways(2);
    t.teardown_and_check();
}

#[test]
fn unanswered_register_read_at_probe_is_a_clean_timeout_and_retry_works() {
    let mut t = BackToBack::small();
    t.a.remove();
    let res = reprobe(&mut t, driver_cfg(), |a| {
        a.model
            .borrow_mut()
            .inject(EnaFault::ReadlessNoResponse { count: 1 })
    });
    assert_eq!(res, Err(Error::Timeout));
    assert!(t.a.log().contains("Reading reg failed for timeout"));
    reprobe(&mut t, driver_cfg(), |_| {}).expect("retry probe");
    t.a.open().expect("open");
    t.settle();
    t.assert_traffic_both_ways(2);
    t.teardown_and_check();
}

#[test]
fn required_admin_command_failing_during_restore_fails_the_reset_cleanly() {
    let mut t = BackToBack::small();
    t.a.model.borrow_mut().inject(EnaFault::DeviceRequestReset);
    t.settle();
    t.a.model.borrow_mut().inject(EnaFault::AdminStatus {
        filter: GET_DEVICE_ATTRIBUTES,
        status: 6,
        count: 1,
    });
    assert_eq!(t.run_for(TICK_US), [('a', ResetReason::DeviceRequest)]);
    assert_eq!(t.a.reset_results, [Err(Error::DeviceStatus(6))]);
    assert!(t.a.dev().is_failed());
    assert_eq!(t.a.stat("reset_fail"), Some(1));
    assert_eq!(t.a.stat("device_request_reset"), Some(1));
    assert_eq!(
        t.a.model.borrow().reset_reasons(),
        [0, 19, 0, ResetReason::DriverInvalidState.code()]
    );
    assert!(
        t.a.ledger.tx.is_empty() && t.a.ledger.rx.is_empty(),
        "every buffer given back"
    );
    assert!(t.run_for(3 * TICK_US).is_empty(), "no reset loop");
    t.a.remove();
    t.a.probe(driver_cfg()).expect("probe after a failed reset");
    t.a.open().expect("open");
    t.settle();
    t.assert_traffic_both_ways(2);
    t.teardown_and_check();
}
