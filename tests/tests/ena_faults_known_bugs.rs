//! Fault tests that fail against the current driver: each one states the
//! expected behaviour, and its `#[ignore]` reason names the driver defect
//! (details in the tests-faults report). Run them with
//! `cargo test -p cloudnic-tests --test ena_faults_known_bugs -- --ignored`;
//! remove the `#[ignore]` when the fix lands.

use cloudnic_common::nic::NetDevice;
use cloudnic_common::ResetReason;
use cloudnic_models::ena::{EnaFault, RxMalformation, FOREVER};
use cloudnic_models::net::{pattern, CsumMode, FrameBuilder};
use cloudnic_tests::testbed::BackToBack;

/// One health period (1 s, ena.md §6.4).
const TICK_US: u64 = 1_000_000;

fn frames(n: usize) -> Vec<Vec<u8>> {
    (0..n)
        .map(|i| {
            FrameBuilder::udp4([10, 0, 0, 1], [10, 0, 0, 2], 3000 + i as u16, 80)
                .payload(&pattern(100, i as u8))
                .csum(CsumMode::Full)
                .build()
        })
        .collect()
}

fn send_from_a(t: &mut BackToBack, q: u16, n: usize) {
    for f in frames(n) {
        t.a.send(q, &f, false, 0, 4096).expect("tx_post");
    }
    t.a.kick(q);
    t.settle();
}

/// Per-queue RX counter `name` of node b, summed over its 4 queues.
fn rx_counter(t: &BackToBack, name: &str) -> u64 {
    (0..4).map(|q| t.b.stat(&format!("queue_{q}_rx_{name}")).unwrap()).sum()
}

#[test]
#[ignore = "driver bug: RxRing::poll leaves a bad completion unconsumed and re-counts it on every later poll"]
fn one_bad_rx_completion_is_counted_once() {
    for (fault, counter) in [
        (EnaFault::BadRxReqId { sq: None, count: 1 }, "bad_req_id"),
        (EnaFault::RxMalformed { sq: None, kind: RxMalformation::TooManyDescs, count: 1 }, "bad_desc_num"),
    ] {
        let mut t = BackToBack::small();
        t.b.model.borrow_mut().inject(fault);
        // Several packets per queue: the queue with the bad completion gets
        // more interrupts (and polls) while its reset is pending.
        let _ = t.exchange('a', 4);
        assert!(t.b.dev().pending_reset().is_some());
        assert_eq!(rx_counter(&t, counter), 1, "queue_N_rx_{counter}: one bad completion, one count");
        t.run_for(TICK_US);
        assert_eq!(rx_counter(&t, counter), 1, "still one after the reset");
        t.teardown_and_check();
    }
}

#[test]
#[ignore = "driver bug: pending_timedout_pkts (a gauge) is summed into the saved per-queue stats at reset"]
fn pending_timedout_pkts_drops_to_zero_once_the_reset_released_the_packets() {
    let mut t = BackToBack::small();
    t.a.model.borrow_mut().inject(EnaFault::TxCompletionsWithheld { sq: None });
    send_from_a(&mut t, 0, 200);
    let resets = t.run_for(6 * TICK_US);
    t.a.model.borrow_mut().clear_fault(EnaFault::TxCompletionsWithheld { sq: None });
    assert_eq!(resets, [('a', ResetReason::MissingTxCompletion)]);
    assert!(t.a.ledger.tx.is_empty(), "the reset released all 200");
    t.run_for(2 * TICK_US);
    assert_eq!(t.a.stat("queue_0_tx_pending_timedout_pkts"), Some(0), "nothing is pending any more");
    assert_eq!(t.a.stat("queue_0_tx_missed_tx"), Some(200), "the history counter keeps its value");
    t.teardown_and_check();
}

#[test]
#[ignore = "driver bug: ena health View::tx_timed_out_in_cq always returns 0, so the monitor can never \
            choose MISS_INTERRUPT / MISS_FIRST_INTERRUPT for TX"]
fn tx_completions_waiting_behind_lost_interrupts_reset_as_missing_interrupt() {
    let mut t = BackToBack::small();
    send_from_a(&mut t, 0, 1); // queue 0 has seen its first interrupt
    assert!(t.a.ledger.tx.is_empty());
    t.a.model.borrow_mut().inject(EnaFault::LostInterrupts { vector: Some(1), count: FOREVER });
    send_from_a(&mut t, 0, 200);
    assert_eq!(t.a.ledger.tx.len(), 200, "completed by the device, never polled");
    let resets = t.run_for(6 * TICK_US);
    t.a.model.borrow_mut().clear_fault(EnaFault::LostInterrupts { vector: None, count: 0 });
    // Every overdue packet's completion sits in the CQ, the poll is idle:
    // the interrupt is what is missing (common::health check_tx_queue).
    assert_eq!(resets, [('a', ResetReason::MissingInterrupt)]);
    t.a.assert_reset_once(ResetReason::MissingInterrupt);
    t.assert_traffic_both_ways(2);
    t.teardown_and_check();
}

#[test]
#[ignore = "driver bug: ena health View::tx_timed_out_in_cq always returns 0 (TX first-interrupt case)"]
fn tx_queue_that_never_got_an_interrupt_resets_as_missing_first_interrupt() {
    let mut t = BackToBack::small();
    t.a.model.borrow_mut().inject(EnaFault::LostInterrupts { vector: Some(1), count: FOREVER });
    send_from_a(&mut t, 0, 10);
    // No interrupt ever on queue 0 and packets older than the graceful
    // timeout (2 × 5 s), their completions waiting in the CQ.
    let resets = t.run_for(11 * TICK_US);
    t.a.model.borrow_mut().clear_fault(EnaFault::LostInterrupts { vector: None, count: 0 });
    assert_eq!(resets, [('a', ResetReason::MissingFirstInterrupt)]);
    t.a.assert_reset_once(ResetReason::MissingFirstInterrupt);
    t.assert_traffic_both_ways(2);
    t.teardown_and_check();
}

