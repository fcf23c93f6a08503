//! MANA data-path faults against the real driver: malformed CQEs (bad WQ
//! number, bad length, wrong owner count, unknown type, spurious), lost
//! interrupts, a stalled SQ, link events and DMA-region creation failures.
//! Recovered faults are checked for the reset reason, counters, traffic and
//! clean ledgers and memory at teardown.

use cloudnic_common::nic::{NetDevice, QueueConfig};
use cloudnic_common::{Error, ResetReason};
use cloudnic_models::mana::{CqeMalformation, CqeTarget, ManaFault, RegionFailure};
use cloudnic_models::net::FrameBuilder;
use cloudnic_tests::testbed::mana::ManaPair;

const TICK_US: u64 = 1_000_000;

fn frame(i: u16) -> Vec<u8> {
    FrameBuilder::udp4([10, 0, 0, 1], [10, 0, 0, 2], 2000 + i, 9)
        .payload(&[i as u8; 32])
        .build()
}

/// Node a ran one reset for `reason` and recovered.
fn assert_recovered_once(t: &mut ManaPair, reason: ResetReason) {
    assert_eq!(t.a.resets, [(reason, Ok(()))], "resets run");
    assert_eq!(t.a.stat(0, "total_resets"), Some(1));
    assert_eq!(t.a.stat(0, "reset_fail"), Some(0));
    if let Some(name) = reason.counter_name() {
        assert_eq!(t.a.stat(0, name), Some(1), "{name}");
    }
    assert!(t.a.nd(0).is_open());
    assert!(t.b.resets.is_empty());
    t.assert_traffic_both_ways(2);
}

/// Play a malformed CQE on node a, then let the health check reset it.
fn malformed(target: CqeTarget, kind: CqeMalformation, reason: ResetReason) -> ManaPair {
    let mut t = ManaPair::new();
    t.a.model.borrow_mut().inject(ManaFault::MalformedCqe {
        target,
        kind,
        count: 1,
    });
    match target {
        CqeTarget::Tx(_) => {
            t.transfer('a', 0, 0, &[frame(1)], false, 0);
        }
        _ => {
            t.transfer('b', 0, 0, &[frame(1)], false, 0);
        }
    }
    assert_eq!(t.a.dev().pending_reset(), Some(reason), "{kind:?}");
    assert_eq!(t.run_for(TICK_US), [('a', reason)], "{kind:?}");
    assert_recovered_once(&mut t, reason);
    t
}

#[test]
fn rx_cqe_for_another_wq_resets_rx_descriptor_malformed() {
    let mut t = malformed(
        CqeTarget::Rx(None),
        CqeMalformation::BadWqNumber,
        ResetReason::RxDescriptorMalformed,
    );
    assert!((0..4).any(|q| t.a.stat(0, &format!("rx_{q}_bad_cqe")) == Some(1)));
    t.teardown_and_check();
}

#[test]
fn rx_length_beyond_the_buffer_resets_rx_descriptor_malformed() {
    malformed(
        CqeTarget::Rx(None),
        CqeMalformation::BadLength,
        ResetReason::RxDescriptorMalformed,
    )
    .teardown_and_check();
}

#[test]
fn unknown_tx_cqe_type_resets_tx_descriptor_malformed() {
    let mut t = malformed(
        CqeTarget::Tx(None),
        CqeMalformation::UnknownType,
        ResetReason::TxDescriptorMalformed,
    );
    assert_eq!(t.a.stat(0, "tx_cqe_unknown_type"), Some(1));
    t.teardown_and_check();
}

#[test]
fn spurious_tx_cqe_resets_invalid_tx_req_id() {
    malformed(
        CqeTarget::Tx(None),
        CqeMalformation::Spurious,
        ResetReason::InvalidTxReqId,
    )
    .teardown_and_check();
}

#[test]
fn lost_queue_interrupt_is_repaired_by_rearming_without_a_reset() {
    let mut t = ManaPair::new();
    // Queue 0 of node a uses vector 1: its TX completion interrupt is lost.
    t.a.model.borrow_mut().inject(ManaFault::LostInterrupts {
        vector: Some(1),
        count: 1,
    });
    t.transfer('a', 0, 0, &[frame(1), frame(2)], false, 0);
    assert_eq!(
        t.a.ledger.tx.len(),
        2,
        "completions written, no interrupt seen"
    );
    assert!(t.run_for(3 * TICK_US).is_empty(), "no reset");
    assert!(
        t.a.ledger.tx.is_empty(),
        "re-arming fired the interrupt again"
    );
    assert_eq!(t.a.stat(0, "rearms"), Some(1));
    let c = t.a.model.borrow().counters().clone();
    assert_eq!(c.irq_dropped, 1);
    assert!(
        c.arms_fired >= 1,
        "an arm behind the device tail fires at once"
    );
    t.assert_traffic_both_ways(2);
    t.teardown_and_check();
}

#[test]
fn stalled_sq_resets_with_missing_tx_completion() {
    let mut t = ManaPair::new();
    t.a.model
        .borrow_mut()
        .inject(ManaFault::TxCompletionsWithheld { sq: None });
    let got = t.transfer('a', 0, 0, &[frame(1)], false, 0);
    assert_eq!(got.len(), 1, "sent, but never completed");
    assert!(
        t.run_for(15 * TICK_US).is_empty(),
        "within the 15 s watchdog"
    );
    let resets = t.run_for(2 * TICK_US);
    assert_eq!(resets, [('a', ResetReason::MissingTxCompletion)]);
    t.a.model
        .borrow_mut()
        .clear_fault(ManaFault::TxCompletionsWithheld { sq: None });
    assert_recovered_once(&mut t, ResetReason::MissingTxCompletion);
    t.teardown_and_check();
}

#[test]
fn link_down_and_up_events_follow_the_carrier() {
    let mut t = ManaPair::new();
    t.a.model.borrow_mut().inject(ManaFault::LinkDown);
    t.settle();
    assert!(!t.a.nd(0).link_up());
    assert_eq!(t.a.stat(0, "link_down_events"), Some(1));
    assert!(
        t.transfer('b', 0, 0, &[frame(1)], false, 0).is_empty(),
        "not delivered while down"
    );
    assert!(
        t.transfer('a', 0, 0, &[frame(2)], false, 0).is_empty(),
        "not sent while down"
    );
    assert!(t.a.ledger.tx.is_empty(), "TX still completes");
    t.a.model.borrow_mut().inject(ManaFault::LinkUp);
    t.settle();
    assert!(t.a.nd(0).link_up());
    assert_eq!(t.a.stat(0, "link_up_events"), Some(1));
    assert!(t.run_for(3 * TICK_US).is_empty());
    t.assert_traffic_both_ways(2);
    let c = t.a.model.borrow().counters().clone();
    assert_eq!((c.rx_dropped, c.tx_dropped), (1, 1));
    t.teardown_and_check();
}

#[test]
fn dma_region_failure_at_reconfigure_keeps_the_old_layout() {
    let mut t = ManaPair::new();
    let old = t.a.nd(0).queue_config();
    let new = QueueConfig {
        num_queues: 2,
        ..old
    };
    for kind in [RegionFailure::Status(0x77), RegionFailure::ZeroHandle] {
        t.a.model
            .borrow_mut()
            .inject(ManaFault::DmaRegionFailure { kind, count: 1 });
        let r = t.a.reconfigure(0, new);
        assert!(
            matches!(r, Err(Error::DeviceStatus(0x77) | Error::Malformed)),
            "{kind:?}: {r:?}"
        );
        assert_eq!(t.a.nd(0).queue_config(), old, "previous layout restored");
        let live = t.a.model.borrow().live_objects();
        assert_eq!(
            live.regions, 0,
            "{kind:?}: no half-built region left on the device"
        );
    }
    assert!(t.run_for(2 * TICK_US).is_empty());
    t.assert_traffic_both_ways(2);
    t.teardown_and_check();
}
