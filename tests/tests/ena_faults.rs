//! ENA control-path faults played by the device model against the real
//! driver, back to back with a healthy peer: keep-alive loss, admin
//! completions dropped / late / answered with an error, readless register
//! reads left unanswered, a device-requested reset, a fatal device status,
//! link flaps. Each recovered fault is checked the same way: the reset
//! reason (driver and DEV_CTL), its `ethtool -S` counter, AWS's log lines,
//! traffic both ways afterwards, and the ledgers at teardown
//! (`teardown_and_check`). IO-path faults are in `ena_faults_io.rs`,
//! bring-up faults in `ena_faults_bringup.rs`.

use cloudnic_common::nic::{ModerationConfig, NetDevice, RssConfig};
use cloudnic_common::{Error, LogLevel, ResetReason};
use cloudnic_ena::defs::admin::{AdminOpcode, AdminStatus, DeviceCaps, FeatureId};
use cloudnic_ena::defs::regs::offset;
use cloudnic_models::ena::{AdminFilter, EnaFault, FOREVER};
use cloudnic_models::net::{pattern, FrameBuilder};
use cloudnic_tests::testbed::{same_frames, BackToBack, NodeOptions};

/// One health period (1 s, ena.md §6.4).
const TICK_US: u64 = 1_000_000;
/// SET_FEATURE MTU: the runtime admin command the tests interfere with.
const SET_MTU: AdminFilter =
    AdminFilter::feature(AdminOpcode::SetFeature as u8, FeatureId::Mtu as u8);

#[test]
fn keep_alive_loss_resets_with_wd_expired_and_aws_log() {
    let mut t = BackToBack::small();
    t.assert_traffic_both_ways(2);
    t.a.model.borrow_mut().inject(EnaFault::KeepAliveLoss);
    // Keep-alive timeout is 6 s: five silent ticks are tolerated.
    assert!(
        t.run_for(6 * TICK_US).is_empty(),
        "no reset before the 6 s keep-alive timeout"
    );
    let resets = t.run_for(2 * TICK_US);
    assert_eq!(resets, [('a', ResetReason::KeepAliveTimeout)]);
    t.a.model.borrow_mut().clear_fault(EnaFault::KeepAliveLoss);
    t.a.assert_reset_once(ResetReason::KeepAliveTimeout);
    let log = t.a.log();
    let first = |needle: &str| log.lines().iter().position(|(_, l)| l.contains(needle));
    let wd = first("Keep alive watchdog timeout.").expect("watchdog line");
    assert!(
        wd < first("Trigger reset is on").unwrap(),
        "watchdog line comes first"
    );
    assert!(
        log.contains("ena device version: 0.10"),
        "re-init logs the versions like probe"
    );
    assert_eq!(t.a.stat("interface_down"), Some(1));
    assert_eq!(t.a.stat("interface_up"), Some(2));
    // Keep-alive flows again: no further reset, and the peer never reset.
    assert!(t.run_for(10 * TICK_US).is_empty());
    assert!(t.b.resets.is_empty());
    t.assert_traffic_both_ways(3);
    t.teardown_and_check();
}

#[test]
fn keep_alive_events_stuck_behind_a_lost_admin_interrupt_reset_as_missing_admin_interrupt() {
    let mut t = BackToBack::small();
    // Vector 0 carries admin completions and AENQ events (ena.md §4).
    t.a.model.borrow_mut().inject(EnaFault::LostInterrupts {
        vector: Some(0),
        count: FOREVER,
    });
    let resets = t.run_for(8 * TICK_US);
    t.a.model
        .borrow_mut()
        .clear_fault(EnaFault::LostInterrupts {
            vector: None,
            count: 0,
        });
    assert_eq!(resets, [('a', ResetReason::MissingAdminInterrupt)]);
    t.a.assert_reset_once(ResetReason::MissingAdminInterrupt);
    assert!(t.a.log().contains("Keep alive watchdog timeout."));
    assert!(
        t.run_for(8 * TICK_US).is_empty(),
        "keep-alive processed again after the reset"
    );
    t.assert_traffic_both_ways(2);
    t.teardown_and_check();
}

#[test]
fn admin_completion_dropped_times_out_then_resets_with_admin_to() {
    let mut t = BackToBack::small();
    t.a.model.borrow_mut().inject(EnaFault::AdminDrop {
        filter: SET_MTU,
        count: 1,
    });
    let t0 = t.clock.now_us();
    assert_eq!(t.a.dev().set_mtu(3000), Err(Error::Timeout));
    let waited = t.clock.now_us() - t0;
    assert!(
        (3_000_000..3_200_000).contains(&waited),
        "3 s admin timeout (ena.md §3.4), waited {waited} µs"
    );
    assert_eq!(t.a.stat("ena_admin_q_no_completion"), Some(1));
    assert_eq!(
        t.a.dev().queue_config().mtu,
        1500,
        "a failed SET MTU changes nothing"
    );
    // The queue is dead until the reset: further commands fail at once.
    assert_eq!(t.a.dev().set_mtu(2000), Err(Error::ChannelDead));
    let resets = t.run_for(TICK_US);
    assert_eq!(resets, [('a', ResetReason::AdminTimeout)]);
    t.a.assert_reset_once(ResetReason::AdminTimeout);
    assert_eq!(t.a.stat("admin_q_pause"), Some(1));
    assert!(t
        .a
        .log()
        .contains("ENA admin queue is not in running state!"));
    // The admin queue works again.
    t.a.dev().set_mtu(3000).expect("SET MTU after the reset");
    assert_eq!(t.a.model.borrow().mtu(), 3000);
    assert!(t.run_for(3 * TICK_US).is_empty());
    t.assert_traffic_both_ways(2);
    t.teardown_and_check();
}

#[test]
fn admin_completion_later_than_the_timeout_is_ignored_and_resets_with_admin_to() {
    let mut t = BackToBack::small();
    t.a.model.borrow_mut().inject(EnaFault::AdminDelay {
        filter: SET_MTU,
        delay_us: 3_500_000,
        count: 1,
    });
    assert_eq!(t.a.dev().set_mtu(3000), Err(Error::Timeout));
    assert_eq!(t.a.stat("ena_admin_q_no_completion"), Some(1));
    // The late completion lands before the next tick; it must not revive
    // the aborted command nor the queue.
    t.clock.advance_us(600_000);
    t.settle();
    assert_eq!(t.a.model.borrow().counters().admin_delayed, 1);
    assert_eq!(
        t.a.stat("ena_admin_q_completed_cmd"),
        t.a.stat("ena_admin_q_submitted_cmd").map(|n| n - 1)
    );
    assert_eq!(t.a.dev().queue_config().mtu, 1500);
    let resets = t.run_for(TICK_US);
    assert_eq!(resets, [('a', ResetReason::AdminTimeout)]);
    t.a.assert_reset_once(ResetReason::AdminTimeout);
    t.a.dev().set_mtu(3000).expect("SET MTU after the reset");
    t.assert_traffic_both_ways(2);
    t.teardown_and_check();
}

#[test]
fn admin_completion_late_but_within_the_timeout_is_just_slow() {
    let mut t = BackToBack::small();
    t.a.model.borrow_mut().inject(EnaFault::AdminDelay {
        filter: SET_MTU,
        delay_us: 2_000_000,
        count: 1,
    });
    let t0 = t.clock.now_us();
    t.a.dev()
        .set_mtu(3000)
        .expect("a 2 s late completion is within the 3 s timeout");
    assert!(
        t.clock.now_us() - t0 >= 2_000_000,
        "the driver did wait for it"
    );
    assert_eq!(t.a.model.borrow().mtu(), 3000);
    assert_eq!(t.a.dev().queue_config().mtu, 3000);
    assert_eq!(t.a.stat("ena_admin_q_no_completion"), Some(0));
    assert!(t.run_for(8 * TICK_US).is_empty(), "no reset");
    assert_eq!(t.a.stat("total_resets"), Some(0));
    assert_eq!(t.a.stat("admin_q_pause"), Some(0));
    t.assert_traffic_both_ways(2);
    t.teardown_and_check();
}

#[test]
fn admin_error_status_on_a_runtime_command_is_a_clean_error_without_reset() {
    let mut t = BackToBack::small();
    for status in [
        AdminStatus::IllegalParameter as u8,
        AdminStatus::ResourceBusy as u8,
        0x7F,
    ] {
        t.a.model.borrow_mut().inject(EnaFault::AdminStatus {
            filter: SET_MTU,
            status,
            count: 1,
        });
        assert_eq!(
            t.a.dev().set_mtu(3000),
            Err(Error::DeviceStatus(status.into())),
            "status {status}"
        );
        assert_eq!(
            t.a.dev().queue_config().mtu,
            1500,
            "refused SET MTU changes nothing"
        );
        assert_eq!(
            t.a.model.borrow().mtu(),
            1500,
            "the device did not execute it"
        );
    }
    // "Unsupported opcode" is the refusal AWS documents as ignorable.
    t.a.model.borrow_mut().inject(EnaFault::AdminStatus {
        filter: SET_MTU,
        status: AdminStatus::UnsupportedOpcode as u8,
        count: 1,
    });
    assert_eq!(t.a.dev().set_mtu(3000), Err(Error::Unsupported));
    assert!(t.a.log().contains("Feature 14 isn't supported"));
    assert!(
        t.run_for(3 * TICK_US).is_empty(),
        "an error answer is not a reason to reset"
    );
    assert_eq!(t.a.stat("ena_admin_q_no_completion"), Some(0));
    t.a.dev().set_mtu(3000).expect("next SET MTU works");
    assert_eq!(t.a.model.borrow().mtu(), 3000);
    t.assert_traffic_both_ways(2);
    t.teardown_and_check();
}

#[test]
fn device_requested_reset_aenq_resets_with_device_request() {
    let mut t = BackToBack::small();
    t.a.model.borrow_mut().inject(EnaFault::DeviceRequestReset);
    t.settle();
    assert_eq!(t.a.dev().pending_reset(), Some(ResetReason::DeviceRequest));
    assert!(t
        .a
        .log()
        .contains("The device has detected an unhealthy state, reset is requested"));
    let resets = t.run_for(TICK_US);
    assert_eq!(resets, [('a', ResetReason::DeviceRequest)]);
    t.a.assert_reset_once(ResetReason::DeviceRequest);
    assert_eq!(
        t.a.model.borrow().reset_reasons()[1],
        19,
        "extended reason code on the wire"
    );
    assert!(t.run_for(3 * TICK_US).is_empty());
    t.assert_traffic_both_ways(2);
    t.teardown_and_check();
}

#[test]
fn device_request_reset_without_extended_reasons_writes_generic() {
    let mut o = NodeOptions::new("eth0").with_rings(256, 256);
    o.model
        .capabilities
        .remove(DeviceCaps::EXTENDED_RESET_REASONS);
    let mut t = BackToBack::with(o, NodeOptions::new("eth1").with_rings(256, 256));
    t.a.model.borrow_mut().inject(EnaFault::DeviceRequestReset);
    assert_eq!(t.run_for(TICK_US), [('a', ResetReason::DeviceRequest)]);
    // Reason 19 does not fit 4 bits: GENERIC (13) on the wire (ena.md §1.4),
    // but the driver still counts device_request_reset.
    assert_eq!(t.a.model.borrow().reset_reasons(), [0, 13, 0]);
    t.a.assert_reset_once(ResetReason::DeviceRequest);
    t.assert_traffic_both_ways(2);
    t.teardown_and_check();
}

#[test]
fn isolated_readless_timeout_is_logged_like_aws_and_the_reset_still_succeeds() {
    let mut t = BackToBack::small();
    t.a.model.borrow_mut().inject(EnaFault::DeviceRequestReset);
    t.settle();
    // One register read goes unanswered: the reset routine's first read,
    // the VERSION check that the device answers (ena.md §6.5 step 2).
    t.a.model
        .borrow_mut()
        .inject(EnaFault::ReadlessNoResponse { count: 1 });
    let resets = t.run_for(TICK_US);
    assert_eq!(resets, [('a', ResetReason::DeviceRequest)]);
    assert_eq!(
        t.a.reset_results,
        [Err(Error::Timeout)],
        "the first attempt waits for the device"
    );
    assert!(t
        .a
        .log()
        .contains("FW isn't responsive, skipping reset routine"));
    assert_eq!(
        t.a.dev().pending_reset(),
        Some(ResetReason::DeviceRequest),
        "still pending"
    );
    assert_eq!(t.a.model.borrow().counters().readless_unanswered, 1);
    // AWS's wording and fields: the response still holds the 0xDEAD
    // pre-fill (req id + 0xDEAD, offset 0).
    let line =
        t.a.log()
            .lines()
            .into_iter()
            .find(|(_, l)| l.contains("Reading reg failed for timeout"))
            .expect("read failure logged");
    assert_eq!(line.0, LogLevel::Error);
    let fields: Vec<u32> = line
        .1
        .split(['[', ']'])
        .skip(1)
        .step_by(2)
        .map(|f| f.parse().expect("numeric field"))
        .collect();
    let [want_id, want_off, got_id, got_off] = fields[..] else {
        panic!("four fields: {}", line.1)
    };
    assert_eq!(
        want_off,
        offset::VERSION,
        "the reset routine first checks that the device answers"
    );
    assert_eq!(got_id, want_id + 0xDEAD);
    assert_eq!(got_off, 0);
    // The isolated failure is harmless (AWS): the next tick resets.
    assert_eq!(t.run_for(TICK_US), [('a', ResetReason::DeviceRequest)]);
    assert_eq!(t.a.reset_results.last(), Some(&Ok(())));
    assert_eq!(t.a.stat("total_resets"), Some(1));
    assert_eq!(t.a.stat("reset_fail"), Some(0));
    assert_eq!(t.a.stat("device_request_reset"), Some(1));
    assert!(t.a.log().contains("Device reset completed successfully"));
    assert!(t.run_for(3 * TICK_US).is_empty());
    t.assert_traffic_both_ways(2);
    t.teardown_and_check();
}

#[test]
fn unresponsive_device_defers_the_reset_to_the_next_tick() {
    let mut o = NodeOptions::new("eth0").with_rings(256, 256);
    o.model.hints.mmio_read_timeout = 10; // ms: keep the unanswered reads short
    let mut t = BackToBack::with(o, NodeOptions::new("eth1").with_rings(256, 256));
    t.a.model.borrow_mut().inject(EnaFault::DeviceRequestReset);
    t.settle();
    // The device stops answering register reads for one health period.
    t.a.model
        .borrow_mut()
        .inject(EnaFault::ReadlessNoResponse { count: FOREVER });
    t.a.health_tick();
    t.a.model
        .borrow_mut()
        .clear_fault(EnaFault::ReadlessNoResponse { count: 0 });
    assert!(
        !t.a.dev().is_failed(),
        "a silent tick is not a failed reset"
    );
    assert_eq!(t.a.stat("reset_fail"), Some(0));
    assert_eq!(
        t.a.dev().pending_reset(),
        Some(ResetReason::DeviceRequest),
        "the reset waits for the device"
    );
    assert!(t
        .a
        .log()
        .contains("FW isn't responsive, skipping reset routine"));
    // The device answers again: the next tick runs the reset.
    t.clock.advance_us(TICK_US);
    t.settle();
    t.a.health_tick();
    assert_eq!(t.a.reset_results.last(), Some(&Ok(())));
    assert_eq!(t.a.stat("reset_fail"), Some(0));
    assert_eq!(t.a.stat("device_request_reset"), Some(1));
    t.settle();
    t.assert_traffic_both_ways(2);
    t.teardown_and_check();
}

/// FATAL_ERROR in DEV_STS (ena.md §1.3 bit 5) is read by the health tick
/// and reset with GENERIC (no code names it, §1.4), even while keep-alive
/// events keep coming.
#[test]
fn fatal_device_status_alone_is_noticed_and_reset() {
    let mut t = BackToBack::small();
    t.a.model.borrow_mut().inject(EnaFault::Fatal);
    let resets = t.run_for(3 * TICK_US);
    assert_eq!(
        resets,
        [('a', ResetReason::Generic)],
        "one reset, at the first tick"
    );
    t.a.assert_reset_once(ResetReason::Generic);
    assert!(t.a.log().contains("DEV_STS.FATAL_ERROR"));
    use cloudnic_models::Device;
    let sts =
        t.a.model
            .borrow_mut()
            .mmio_read(0, u64::from(offset::DEV_STS), 4);
    assert_eq!(sts & (1 << 5), 0, "the reset cleared FATAL_ERROR");
    t.assert_traffic_both_ways(2);
    t.teardown_and_check();
}

#[test]
fn fatal_device_status_with_a_silent_device_resets_and_the_reset_clears_it() {
    let mut t = BackToBack::small();
    // A device in a fatal state stops its keep-alive (AWS: "the ENA device
    // may also indirectly request a device reset ... by not sending a
    // keep-alive notification"). DEV_STS tells at the first tick, long
    // before the 6 s keep-alive timeout.
    t.a.model.borrow_mut().inject(EnaFault::Fatal);
    t.a.model.borrow_mut().inject(EnaFault::KeepAliveLoss);
    let resets = t.run_for(TICK_US);
    t.a.model.borrow_mut().clear_fault(EnaFault::KeepAliveLoss);
    assert_eq!(resets, [('a', ResetReason::Generic)]);
    t.a.assert_reset_once(ResetReason::Generic);
    assert!(
        t.a.model.borrow().armed_faults().is_empty(),
        "the device reset cleared the fatal state"
    );
    use cloudnic_models::Device;
    let sts =
        t.a.model
            .borrow_mut()
            .mmio_read(0, u64::from(offset::DEV_STS), 4);
    assert_eq!(
        sts & (1 << 5),
        0,
        "DEV_STS.FATAL_ERROR clear after the reset"
    );
    assert!(t.run_for(8 * TICK_US).is_empty());
    t.assert_traffic_both_ways(2);
    t.teardown_and_check();
}

#[test]
fn link_down_and_up_toggle_carrier_without_reset_and_traffic_resumes() {
    let mut t = BackToBack::small();
    t.a.model.borrow_mut().inject(EnaFault::LinkDown);
    t.settle();
    assert!(!t.a.dev().link_up(), "carrier off");
    assert!(t.a.log().contains("Link is down"));
    // Frames sent while the link is down are completed (and dropped) by
    // the device; nothing is received either way.
    let (sent, got) = t.exchange('a', 2);
    assert!(
        !sent.is_empty() && got.is_empty(),
        "no frames across a down link"
    );
    let (_, got) = t.exchange('b', 2);
    assert!(got.is_empty());
    assert!(
        t.a.ledger.tx.is_empty(),
        "TX completions still come while the link is down"
    );
    assert!(
        t.run_for(8 * TICK_US).is_empty(),
        "link down is not a reason to reset"
    );
    t.a.model.borrow_mut().inject(EnaFault::LinkUp);
    t.settle();
    assert!(t.a.dev().link_up(), "carrier on");
    assert!(t.a.log().contains("Link is up"));
    assert_eq!(t.a.stat("total_resets"), Some(0));
    t.assert_traffic_both_ways(3);
    t.teardown_and_check();
}

#[test]
fn reset_restores_mtu_rss_table_and_moderation() {
    let mut t = BackToBack::small();
    let table_len = t.b.dev().info().rss_table_size as usize;
    let table = vec![2u16; table_len];
    t.b.dev()
        .set_rss(&RssConfig {
            key: None,
            table: Some(&table),
        })
        .expect("RSS table");
    let m = ModerationConfig {
        tx_usecs: 100,
        rx_usecs: 40,
        adaptive_rx: false,
    };
    t.b.dev().set_moderation(m).expect("moderation");
    for n in [&mut t.a, &mut t.b] {
        n.dev().set_mtu(9001).expect("MTU");
    }
    t.b.model.borrow_mut().inject(EnaFault::KeepAliveLoss);
    let resets = t.run_for(8 * TICK_US);
    t.b.model.borrow_mut().clear_fault(EnaFault::KeepAliveLoss);
    assert_eq!(resets, [('b', ResetReason::KeepAliveTimeout)]);
    t.b.assert_reset_once(ResetReason::KeepAliveTimeout);
    // The device forgot everything at reset; the driver programmed it again.
    assert_eq!(t.b.model.borrow().mtu(), 9001);
    assert_eq!(t.b.dev().moderation(), m);
    t.settle();
    assert_eq!(
        t.b.model.borrow().moderation(3),
        Some((40, 100)),
        "queue 2's unmask carries the delays"
    );
    let jumbo = FrameBuilder::udp4([10, 0, 0, 1], [10, 0, 0, 2], 1, 2)
        .payload(&pattern(8000, 1))
        .build();
    let flows: Vec<Vec<u8>> = (0..16)
        .map(|i| {
            FrameBuilder::udp4([10, 0, 0, 1], [10, 0, 0, 2], 100 + i, 9)
                .payload(&pattern(64, 2))
                .build()
        })
        .chain([jumbo])
        .collect();
    let got = t.transfer('a', 0, &flows, false, 0);
    same_frames(&got, &flows).unwrap();
    assert!(
        got.iter().all(|g| g.queue == 2),
        "every flow on queue 2, as the restored table says"
    );
    t.assert_traffic_both_ways(1);
    t.teardown_and_check();
}

#[test]
fn device_hints_shorten_or_disable_the_keep_alive_watchdog() {
    // driver_watchdog_timeout = 3000 ms: reset after 3 s of silence (ena.md §6.4).
    let mut o = NodeOptions::new("eth0").with_rings(256, 256);
    o.model.hints.driver_watchdog_timeout = 3000;
    let mut t = BackToBack::with(o, NodeOptions::new("eth1").with_rings(256, 256));
    t.a.model.borrow_mut().inject(EnaFault::KeepAliveLoss);
    assert!(t.run_for(3 * TICK_US).is_empty());
    assert_eq!(t.run_for(TICK_US), [('a', ResetReason::KeepAliveTimeout)]);
    t.a.model.borrow_mut().clear_fault(EnaFault::KeepAliveLoss);
    t.a.assert_reset_once(ResetReason::KeepAliveTimeout);
    t.assert_traffic_both_ways(1);
    t.teardown_and_check();
    // 0xFFFF: no keep-alive watchdog at all.
    let mut o = NodeOptions::new("eth0").with_rings(256, 256);
    o.model.hints.driver_watchdog_timeout = 0xFFFF;
    let mut t = BackToBack::with(o, NodeOptions::new("eth1").with_rings(256, 256));
    t.a.model.borrow_mut().inject(EnaFault::KeepAliveLoss);
    assert!(
        t.run_for(15 * TICK_US).is_empty(),
        "watchdog disabled by the device"
    );
    t.assert_traffic_both_ways(1);
    t.teardown_and_check();
}

#[test]
fn persistent_keep_alive_loss_resets_again_each_timeout_and_counts_every_one() {
    let mut t = BackToBack::small();
    t.a.model.borrow_mut().inject(EnaFault::KeepAliveLoss);
    let resets = t.run_for(22 * TICK_US);
    t.a.model.borrow_mut().clear_fault(EnaFault::KeepAliveLoss);
    // The watchdog restarts at each restore: 7 s, 14 s, 21 s.
    assert_eq!(resets, [('a', ResetReason::KeepAliveTimeout); 3]);
    assert_eq!(t.a.stat("wd_expired"), Some(3));
    assert_eq!(t.a.stat("total_resets"), Some(3));
    assert_eq!(t.a.stat("reset_fail"), Some(0));
    assert_eq!(t.a.model.borrow().reset_reasons(), [0, 1, 0, 1, 0, 1, 0]);
    assert_eq!(t.a.log().count("Device reset completed successfully"), 3);
    assert!(t.run_for(8 * TICK_US).is_empty());
    t.assert_traffic_both_ways(2);
    t.teardown_and_check();
}

#[test]
fn first_reset_reason_wins_and_only_it_is_counted() {
    let mut t = BackToBack::small();
    t.b.model.borrow_mut().inject(EnaFault::DeviceRequestReset);
    t.settle();
    // A second fault before the timer runs the reset.
    t.b.model
        .borrow_mut()
        .inject(EnaFault::BadRxReqId { sq: None, count: 1 });
    let _ = t.exchange('a', 2);
    assert_eq!(t.run_for(TICK_US), [('b', ResetReason::DeviceRequest)]);
    t.b.assert_reset_once(ResetReason::DeviceRequest);
    assert_eq!(
        t.b.stat("bad_rx_req_id"),
        Some(0),
        "the later reason is not counted as a reset"
    );
    assert!(
        t.run_for(3 * TICK_US).is_empty(),
        "the reset cleared the second request too"
    );
    t.assert_traffic_both_ways(2);
    t.teardown_and_check();
}

#[test]
fn reset_of_a_closed_interface_restores_the_device_and_leaves_it_closed() {
    let mut t = BackToBack::small();
    t.a.close().unwrap();
    t.a.model.borrow_mut().inject(EnaFault::KeepAliveLoss);
    let resets = t.run_for(8 * TICK_US);
    t.a.model.borrow_mut().clear_fault(EnaFault::KeepAliveLoss);
    assert_eq!(resets, [('a', ResetReason::KeepAliveTimeout)]);
    assert_eq!(t.a.reset_results, [Ok(())]);
    assert_eq!(t.a.stat("wd_expired"), Some(1));
    assert!(!t.a.dev().is_open(), "a closed interface stays closed");
    assert_eq!(
        t.a.stat("interface_up"),
        Some(1),
        "no extra up for a closed interface"
    );
    t.a.open().expect("open after the reset");
    t.settle();
    t.assert_traffic_both_ways(2);
    t.teardown_and_check();
}
