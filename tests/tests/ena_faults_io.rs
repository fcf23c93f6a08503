//! ENA IO-path faults played by the device model against the real driver:
//! TX completions withheld (above and below the missing-completion
//! threshold), TX completions with a bad request id or must-be-zero bits,
//! RX completions with a bad request id, too many descriptors, a length
//! beyond the buffer, must-be-zero bits or a misplaced `first` bit, and lost
//! interrupts (remedied, or reset as MISS_INTERRUPT / MISS_FIRST_INTERRUPT). Every recovered fault: reset reason (driver and DEV_CTL), the
//! `ethtool -S` counters, traffic both ways, ledgers at teardown.

use cloudnic_common::nic::NetDevice;
use cloudnic_common::ResetReason;
use cloudnic_ena::defs::admin::DeviceCaps;
use cloudnic_models::ena::{EnaFault, RxMalformation, FOREVER};
use cloudnic_models::net::{pattern, CsumMode, FrameBuilder};
use cloudnic_tests::testbed::{BackToBack, NodeOptions};

/// One health period (1 s, ena.md §6.4).
const TICK_US: u64 = 1_000_000;
/// Per-queue pending timed-out packets that trigger a reset (ena.md §6.4).
const MISSING_TX_THRESHOLD: usize = 128;

fn frames(n: usize, seed: u8) -> Vec<Vec<u8>> {
    (0..n)
        .map(|i| {
            FrameBuilder::udp4([10, 0, 0, 1], [10, 0, 0, 2], 3000 + i as u16, 80)
                .payload(&pattern(100, seed.wrapping_add(i as u8)))
                .csum(CsumMode::Full)
                .build()
        })
        .collect()
}

/// Queue `q` of node a: send `frames` and ring the doorbell, without
/// waiting for anything.
fn send_from_a(t: &mut BackToBack, q: u16, frames: &[Vec<u8>]) {
    for f in frames {
        t.a.send(q, f, false, 0, 4096).expect("tx_post");
    }
    t.a.kick(q);
}

/// Withhold node a's TX completions, send `n` frames on queue 0, and let
/// `seconds` health ticks pass; returns the resets run.
fn withhold_tx(t: &mut BackToBack, n: usize, seconds: u64) -> Vec<(char, ResetReason)> {
    t.a.model
        .borrow_mut()
        .inject(EnaFault::TxCompletionsWithheld { sq: None });
    send_from_a(t, 0, &frames(n, 1));
    t.settle();
    assert_eq!(
        t.b.take_received().len(),
        n,
        "transmitted, only the completions are held"
    );
    assert_eq!(t.a.ledger.tx.len(), n);
    t.run_for(seconds * TICK_US)
}

#[test]
fn tx_completions_withheld_above_threshold_reset_with_missing_tx_cmpl() {
    let mut t = BackToBack::small();
    let n = MISSING_TX_THRESHOLD + 72;
    // Packets count as missed after 5 s; the tick after that sees 200 > 128.
    let resets = withhold_tx(&mut t, n, 5);
    assert!(resets.is_empty(), "nothing is late before the 5 s timeout");
    let resets = t.run_for(TICK_US);
    t.a.model
        .borrow_mut()
        .clear_fault(EnaFault::TxCompletionsWithheld { sq: None });
    assert_eq!(resets, [('a', ResetReason::MissingTxCompletion)]);
    t.a.assert_reset_once(ResetReason::MissingTxCompletion);
    assert_eq!(t.a.stat("queue_0_tx_missed_tx"), Some(n as u64));
    let line = format!("The number of lost tx completions is above the threshold ({n} > 128)");
    assert!(t.a.log().contains(&line), "{line}");
    assert!(
        t.a.log()
            .contains(&format!("queue_0_tx_pending_timedout_pkts: {n}")),
        "dump shows the pending count"
    );
    // The reset gave every held packet back.
    assert!(t.a.ledger.tx.is_empty());
    assert!(
        t.run_for(7 * TICK_US).is_empty(),
        "no second reset for packets already released"
    );
    t.assert_traffic_both_ways(2);
    t.teardown_and_check();
}

#[test]
fn tx_completions_withheld_below_threshold_are_counted_but_do_not_reset() {
    let mut t = BackToBack::small();
    let n = MISSING_TX_THRESHOLD;
    let resets = withhold_tx(&mut t, n, 10);
    assert!(
        resets.is_empty(),
        "{n} late packets is not above the threshold"
    );
    assert_eq!(t.a.stat("queue_0_tx_missed_tx"), Some(n as u64));
    assert_eq!(t.a.stat("queue_0_tx_pending_timedout_pkts"), Some(n as u64));
    assert_eq!(t.a.stat("missing_tx_cmpl"), Some(0));
    // The device finally completes them: the pending count drains.
    t.a.model
        .borrow_mut()
        .clear_fault(EnaFault::TxCompletionsWithheld { sq: None });
    t.settle();
    assert!(
        t.a.ledger.tx.is_empty(),
        "late completions returned every token"
    );
    // Each late packet leaves the gauge as it completes.
    assert_eq!(t.a.stat("queue_0_tx_pending_timedout_pkts"), Some(0));
    assert!(t.run_for(TICK_US).is_empty());
    assert_eq!(t.a.stat("queue_0_tx_pending_timedout_pkts"), Some(0));
    assert_eq!(
        t.a.stat("queue_0_tx_missed_tx"),
        Some(n as u64),
        "missed_tx is a history"
    );
    assert!(t.run_for(7 * TICK_US).is_empty());
    assert_eq!(t.a.stat("total_resets"), Some(0));
    t.assert_traffic_both_ways(2);
    t.teardown_and_check();
}

/// `pending_timedout_pkts` is a gauge: the reset released every late
/// packet, so nothing is pending; `missed_tx` keeps the history.
#[test]
fn pending_timedout_pkts_drops_to_zero_once_the_reset_released_the_packets() {
    let mut t = BackToBack::small();
    t.a.model
        .borrow_mut()
        .inject(EnaFault::TxCompletionsWithheld { sq: None });
    send_from_a(&mut t, 0, &frames(200, 1));
    t.settle();
    let resets = t.run_for(6 * TICK_US);
    t.a.model
        .borrow_mut()
        .clear_fault(EnaFault::TxCompletionsWithheld { sq: None });
    assert_eq!(resets, [('a', ResetReason::MissingTxCompletion)]);
    assert!(t.a.ledger.tx.is_empty(), "the reset released all 200");
    t.run_for(2 * TICK_US);
    assert_eq!(
        t.a.stat("queue_0_tx_pending_timedout_pkts"),
        Some(0),
        "nothing is pending any more"
    );
    assert_eq!(
        t.a.stat("queue_0_tx_missed_tx"),
        Some(200),
        "the history counter keeps its value"
    );
    t.teardown_and_check();
}

#[test]
fn bad_tx_req_id_resets_with_invalid_tx_req_id() {
    let mut t = BackToBack::small();
    t.a.model.borrow_mut().inject(EnaFault::BadTxReqId {
        sq: None,
        req_id: None,
        count: 1,
    });
    send_from_a(&mut t, 0, &frames(3, 2));
    t.settle();
    assert_eq!(t.a.stat("queue_0_tx_bad_req_id"), Some(1));
    assert_eq!(t.a.dev().pending_reset(), Some(ResetReason::InvalidTxReqId));
    // While the reset is pending the queue refuses new packets.
    assert!(t.a.send(0, &frames(1, 9)[0], false, 0, 4096).is_err());
    let resets = t.run_for(TICK_US);
    assert_eq!(resets, [('a', ResetReason::InvalidTxReqId)]);
    t.a.assert_reset_once(ResetReason::InvalidTxReqId);
    assert!(
        t.a.ledger.tx.is_empty(),
        "the packet whose id was garbled came back at reset"
    );
    assert!(t.run_for(3 * TICK_US).is_empty());
    t.assert_traffic_both_ways(2);
    t.teardown_and_check();
}

#[test]
fn tx_completion_with_mbz_bits_resets_with_tx_descriptor_malformed() {
    let mut t = BackToBack::small();
    t.a.model
        .borrow_mut()
        .inject(EnaFault::TxCdescMbz { sq: None, count: 1 });
    send_from_a(&mut t, 0, &frames(2, 3));
    t.settle();
    let resets = t.run_for(TICK_US);
    assert_eq!(resets, [('a', ResetReason::TxDescriptorMalformed)]);
    t.a.assert_reset_once(ResetReason::TxDescriptorMalformed);
    t.assert_traffic_both_ways(2);
    t.teardown_and_check();
}

/// Arm `fault` on node b's RX path, send a few frames from a on every
/// queue, and run one tick: the RX completion on b must lead to one reset
/// with `reason` and the per-queue counter `queue_counter` (if any) at 1.
fn rx_fault_resets(fault: EnaFault, reason: ResetReason, queue_counter: Option<&str>) {
    let mut t = BackToBack::small();
    t.b.model.borrow_mut().inject(fault);
    let (sent, got) = t.exchange('a', 2);
    assert!(
        got.len() < sent.len(),
        "the corrupted packet is not delivered"
    );
    assert_eq!(t.b.dev().pending_reset(), Some(reason));
    if let Some(name) = queue_counter {
        // Counted on the one queue that got the packet (exactly once:
        // `one_bad_rx_completion_is_counted_once`).
        let per_q: Vec<u64> = (0..4)
            .map(|q| t.b.stat(&format!("queue_{q}_rx_{name}")).unwrap())
            .collect();
        assert_eq!(
            per_q.iter().filter(|&&n| n > 0).count(),
            1,
            "queue_N_rx_{name}: {per_q:?}"
        );
    }
    let resets = t.run_for(TICK_US);
    assert_eq!(resets, [('b', reason)]);
    t.b.assert_reset_once(reason);
    assert!(t.a.resets.is_empty(), "the sender is not affected");
    assert!(t.run_for(3 * TICK_US).is_empty());
    t.assert_traffic_both_ways(3);
    t.teardown_and_check();
}

/// Per-queue RX counter `name` of node b, summed over its 4 queues.
fn rx_counter(t: &BackToBack, name: &str) -> u64 {
    (0..4)
        .map(|q| t.b.stat(&format!("queue_{q}_rx_{name}")).unwrap())
        .sum()
}

/// While the reset a bad RX completion asked for is pending, the queue's
/// later interrupts poll nothing (Linux `ena_io_poll`), so the completion
/// still at the ring's head is not counted again.
#[test]
fn one_bad_rx_completion_is_counted_once() {
    for (fault, counter) in [
        (EnaFault::BadRxReqId { sq: None, count: 1 }, "bad_req_id"),
        (
            EnaFault::RxMalformed {
                sq: None,
                kind: RxMalformation::TooManyDescs,
                count: 1,
            },
            "bad_desc_num",
        ),
    ] {
        let mut t = BackToBack::small();
        t.b.model.borrow_mut().inject(fault);
        // Several packets per queue: the queue with the bad completion gets
        // more interrupts (and polls) while its reset is pending.
        let _ = t.exchange('a', 4);
        assert!(t.b.dev().pending_reset().is_some());
        assert_eq!(
            rx_counter(&t, counter),
            1,
            "queue_N_rx_{counter}: one bad completion, one count"
        );
        t.run_for(TICK_US);
        assert_eq!(rx_counter(&t, counter), 1, "still one after the reset");
        t.teardown_and_check();
    }
}

#[test]
fn bad_rx_req_id_resets_with_invalid_rx_req_id() {
    rx_fault_resets(
        EnaFault::BadRxReqId { sq: None, count: 1 },
        ResetReason::InvalidRxReqId,
        Some("bad_req_id"),
    );
}

#[test]
fn rx_packet_over_too_many_descriptors_resets_with_too_many_rx_descs() {
    rx_fault_resets(
        EnaFault::RxMalformed {
            sq: None,
            kind: RxMalformation::TooManyDescs,
            count: 1,
        },
        ResetReason::TooManyRxDescs,
        Some("bad_desc_num"),
    );
}

#[test]
fn rx_length_beyond_the_buffer_resets_with_rx_descriptor_malformed() {
    rx_fault_resets(
        EnaFault::RxMalformed {
            sq: None,
            kind: RxMalformation::LengthBeyondBuffer,
            count: 1,
        },
        ResetReason::RxDescriptorMalformed,
        None,
    );
}

#[test]
fn rx_mbz_bits_with_cdesc_mbz_capability_reset_with_rx_descriptor_malformed() {
    rx_fault_resets(
        EnaFault::RxMalformed {
            sq: None,
            kind: RxMalformation::MbzSet,
            count: 1,
        },
        ResetReason::RxDescriptorMalformed,
        None,
    );
}

#[test]
fn rx_first_bit_on_a_later_buffer_resets_with_rx_descriptor_malformed() {
    rx_fault_resets(
        EnaFault::RxMalformed {
            sq: None,
            kind: RxMalformation::FirstOnNonFirst,
            count: 1,
        },
        ResetReason::RxDescriptorMalformed,
        None,
    );
}

#[test]
fn rx_mbz_bits_without_cdesc_mbz_capability_are_not_checked() {
    let mut o = NodeOptions::new("eth1").with_rings(256, 256);
    o.model.capabilities.remove(DeviceCaps::CDESC_MBZ);
    let mut t = BackToBack::with(NodeOptions::new("eth0").with_rings(256, 256), o);
    t.b.model.borrow_mut().inject(EnaFault::RxMalformed {
        sq: None,
        kind: RxMalformation::MbzSet,
        count: 1,
    });
    // Without the capability the bits carry no promise (ena.md §1.4 code
    // 16): the packet is delivered and nothing resets.
    t.assert_traffic_both_ways(2);
    assert!(
        t.b.model.borrow().armed_faults().is_empty(),
        "the malformation was played"
    );
    assert!(t.run_for(3 * TICK_US).is_empty());
    t.teardown_and_check();
}

#[test]
fn one_lost_interrupt_is_remedied_by_rewriting_unmask_without_reset() {
    let mut t = BackToBack::small();
    // Queue 0 is on vector 1 (ena.md §5.1).
    t.a.model.borrow_mut().inject(EnaFault::LostInterrupts {
        vector: Some(1),
        count: 1,
    });
    send_from_a(&mut t, 0, &frames(1, 4));
    t.settle();
    assert_eq!(t.a.model.borrow().counters().irq_dropped, 1);
    assert_eq!(
        t.a.ledger.tx.len(),
        1,
        "completion waits in the CQ, nobody polls"
    );
    assert!(
        t.a.model.borrow().vector_masked(1),
        "the device believes it delivered the MSI-X"
    );
    // Two consecutive checks with the CQ non-empty and the poll idle.
    assert!(t.run_for(2 * TICK_US).is_empty());
    assert_eq!(t.a.stat("queue_0_tx_lost_interrupt"), Some(1));
    assert!(!t.a.model.borrow().vector_masked(1), "unmask re-written");
    // Once: a third look does not write again.
    assert!(t.run_for(TICK_US).is_empty());
    assert_eq!(t.a.stat("queue_0_tx_lost_interrupt"), Some(1));
    // The next completion fires the vector again and the poll reaps both.
    send_from_a(&mut t, 0, &frames(1, 5));
    t.settle();
    assert!(t.a.ledger.tx.is_empty());
    assert!(
        t.run_for(6 * TICK_US).is_empty(),
        "a lost interrupt is remedied, not reset"
    );
    assert_eq!(t.a.stat("total_resets"), Some(0));
    t.assert_traffic_both_ways(2);
    t.teardown_and_check();
}

#[test]
fn queue_without_any_interrupt_resets_with_missing_first_interrupt() {
    let mut t = BackToBack::small();
    for v in 1..=4 {
        t.b.model.borrow_mut().inject(EnaFault::LostInterrupts {
            vector: Some(v),
            count: FOREVER,
        });
    }
    let (sent, got) = t.exchange('a', 1);
    assert!(
        got.is_empty() && !sent.is_empty(),
        "RX completions wait without interrupt"
    );
    // RX completions with no interrupt ever, on 3 consecutive checks (§6.4).
    assert!(t.run_for(2 * TICK_US).is_empty());
    let resets = t.run_for(TICK_US);
    for v in 1..=4 {
        t.b.model
            .borrow_mut()
            .clear_fault(EnaFault::LostInterrupts {
                vector: Some(v),
                count: 0,
            });
    }
    assert_eq!(resets, [('b', ResetReason::MissingFirstInterrupt)]);
    t.b.assert_reset_once(ResetReason::MissingFirstInterrupt);
    assert!(t.run_for(3 * TICK_US).is_empty());
    t.assert_traffic_both_ways(2);
    t.teardown_and_check();
}

#[test]
fn llq_placement_recovers_from_withheld_tx_and_malformed_rx() {
    // Device memory for TX descriptors and pushed headers (ena.md §5.8).
    let llq = |name: &str| {
        let mut o = NodeOptions::new(name).with_rings(256, 256);
        o.model.bar2_size = 1 << 20;
        o
    };
    let mut t = BackToBack::with(llq("eth0"), llq("eth1"));
    assert!(t.a.dev().negotiated().llq.is_some(), "LLQ negotiated");
    let resets = withhold_tx(&mut t, MISSING_TX_THRESHOLD + 1, 6);
    t.a.model
        .borrow_mut()
        .clear_fault(EnaFault::TxCompletionsWithheld { sq: None });
    assert_eq!(resets, [('a', ResetReason::MissingTxCompletion)]);
    t.a.assert_reset_once(ResetReason::MissingTxCompletion);
    t.b.model.borrow_mut().inject(EnaFault::RxMalformed {
        sq: None,
        kind: RxMalformation::TooManyDescs,
        count: 1,
    });
    let _ = t.exchange('a', 2);
    assert_eq!(t.run_for(TICK_US), [('b', ResetReason::TooManyRxDescs)]);
    t.b.assert_reset_once(ResetReason::TooManyRxDescs);
    assert!(
        t.a.dev().negotiated().llq.is_some(),
        "LLQ negotiated again at restore"
    );
    t.assert_traffic_both_ways(3);
    t.teardown_and_check();
}

/// TX completions the device wrote but nobody polled (the interrupt is
/// lost): every overdue packet's completion sits in the CQ and the poll is
/// idle, so the interrupt is what is missing (ena.md §6.4, common::health
/// `check_tx_queue`) — MISS_INTERRUPT, not MISS_TX_CMPL.
#[test]
fn tx_completions_waiting_behind_lost_interrupts_reset_as_missing_interrupt() {
    let mut t = BackToBack::small();
    send_from_a(&mut t, 0, &frames(1, 1)); // queue 0 has seen its first interrupt
    t.settle();
    assert!(t.a.ledger.tx.is_empty());
    t.a.model.borrow_mut().inject(EnaFault::LostInterrupts {
        vector: Some(1),
        count: FOREVER,
    });
    send_from_a(&mut t, 0, &frames(200, 2));
    t.settle();
    assert_eq!(
        t.a.ledger.tx.len(),
        200,
        "completed by the device, never polled"
    );
    let resets = t.run_for(6 * TICK_US);
    t.a.model
        .borrow_mut()
        .clear_fault(EnaFault::LostInterrupts {
            vector: None,
            count: 0,
        });
    assert_eq!(resets, [('a', ResetReason::MissingInterrupt)]);
    t.a.assert_reset_once(ResetReason::MissingInterrupt);
    t.assert_traffic_both_ways(2);
    t.teardown_and_check();
}

/// The TX side of the first-interrupt check: no interrupt ever on queue 0
/// and packets older than the graceful timeout (2 × 5 s), their
/// completions waiting in the CQ → MISS_FIRST_INTERRUPT.
#[test]
fn tx_queue_that_never_got_an_interrupt_resets_as_missing_first_interrupt() {
    let mut t = BackToBack::small();
    t.a.model.borrow_mut().inject(EnaFault::LostInterrupts {
        vector: Some(1),
        count: FOREVER,
    });
    send_from_a(&mut t, 0, &frames(10, 1));
    t.settle();
    let resets = t.run_for(11 * TICK_US);
    t.a.model
        .borrow_mut()
        .clear_fault(EnaFault::LostInterrupts {
            vector: None,
            count: 0,
        });
    assert_eq!(resets, [('a', ResetReason::MissingFirstInterrupt)]);
    t.a.assert_reset_once(ResetReason::MissingFirstInterrupt);
    t.assert_traffic_both_ways(2);
    t.teardown_and_check();
}
