//! IO fault tests: lost interrupts, withheld / bad TX completions,
//! malformed RX completions, link down, and the ledger across queue teardown.

use super::faults::{EnaFault, RxMalformation, FOREVER};
use super::test_driver::{Offload, Pair, RawDriver};
use super::tests_io::{cable, A, B};
use super::EnaModelConfig;
use crate::ledger::BufKind;
use crate::net::FrameBuilder;
use crate::wire::Port;
use crate::Device;
use cloudnic_ena::defs::admin::{DestroySqCmd, SqDirection};
use cloudnic_ena::defs::io::{IntrCtrl, RxCdescStatus};

#[test]
fn interrupts_auto_mask_lost_and_recovered() {
    let (mut a, mut qa, _b, _qb) = cable(EnaModelConfig::default());
    a.unmask(&qa);
    let f = FrameBuilder::udp4(A, B, 1, 2).payload_len(10).build();
    a.queue_tx(&mut qa, 0, &[&f], Offload::default());
    a.ring_tx(&qa);
    assert!(a.irq.take(1));
    // Masked now: a second completion does not fire until unmask.
    a.queue_tx(&mut qa, 1, &[&f], Offload::default());
    a.ring_tx(&qa);
    assert!(!a.irq.take(1));
    // Moderation update without unmask keeps it masked and records delays.
    a.w(
        qa.unmask,
        IntrCtrl {
            rx_delay: 20,
            tx_delay: 64,
            ..Default::default()
        }
        .encode(),
    );
    assert!(!a.irq.take(1));
    assert_eq!(a.dev.moderation(1), Some((20, 64)));
    a.unmask(&qa);
    assert!(a.irq.take(1));
    // Lost interrupt: swallowed, the vector stays masked.
    a.unmask(&qa);
    a.dev.inject(EnaFault::LostInterrupts {
        vector: Some(1),
        count: 1,
    });
    a.queue_tx(&mut qa, 2, &[&f], Offload::default());
    a.ring_tx(&qa);
    assert!(!a.irq.take(1));
    assert_eq!(a.dev.counters().irq_dropped, 1);
    assert_eq!(a.poll_tx(&mut qa).len(), 3);
    a.unmask(&qa);
    a.queue_tx(&mut qa, 3, &[&f], Offload::default());
    a.ring_tx(&qa);
    assert!(a.irq.take(1));
    assert_eq!(a.dev.counters().irq(1), 3);
}

#[test]
fn tx_completion_faults() {
    let (mut a, mut qa, _b, _qb) = cable(EnaModelConfig::default());
    let f = FrameBuilder::udp4(A, B, 1, 2).payload_len(10).build();
    a.dev.inject(EnaFault::TxCompletionsWithheld { sq: None });
    for id in 0..3 {
        a.queue_tx(&mut qa, id, &[&f], Offload::default());
    }
    a.ring_tx(&qa);
    assert!(a.poll_tx(&mut qa).is_empty());
    assert_eq!(a.dev.counters().frames_tx, 3, "sent, just not completed");
    assert_eq!(a.dev.ledger().outstanding(Some(BufKind::Tx)).len(), 3);
    a.dev
        .clear_fault(EnaFault::TxCompletionsWithheld { sq: None });
    assert_eq!(a.poll_tx(&mut qa).len(), 3);
    a.dev.inject(EnaFault::BadTxReqId {
        sq: Some(qa.tx_sq),
        req_id: None,
        count: 1,
    });
    a.dev.inject(EnaFault::TxCdescMbz { sq: None, count: 1 });
    a.queue_tx(&mut qa, 5, &[&f], Offload::default());
    a.queue_tx(&mut qa, 6, &[&f], Offload::default());
    a.ring_tx(&qa);
    let c = a.poll_tx(&mut qa);
    assert_eq!(c[0].req_id, qa.depth, "out-of-range id");
    assert!(c[0].mbz_violated());
    assert_eq!(c[1].req_id, 6);
    assert!(!c[1].mbz_violated());
    assert_eq!(a.dev.ledger().lost().len(), 1, "packet 5 never completed");
}

#[test]
fn rx_completion_faults() {
    let (a_port, b_port) = Port::pair();
    let mut b = RawDriver::bring_up(EnaModelConfig::default());
    b.dev.connect(b_port);
    let mut q = b.create_pair(1, 64, false);
    b.post_rx(&mut q, 40, 2048, 0);
    let f = FrameBuilder::tcp4(A, B, 1, 2).payload_len(100).build();
    let send = |b: &mut RawDriver, q: &mut Pair| {
        a_port.send(f.clone());
        b.dev.tick();
        b.poll_rx(q)
    };
    b.dev.inject(EnaFault::BadRxReqId { sq: None, count: 1 });
    assert_eq!(send(&mut b, &mut q)[0].req_id, 65);
    b.dev.inject(EnaFault::RxMalformed {
        sq: None,
        kind: RxMalformation::MbzSet,
        count: 1,
    });
    assert!(send(&mut b, &mut q)[0].mbz_violated());
    b.dev.inject(EnaFault::RxMalformed {
        sq: None,
        kind: RxMalformation::LengthBeyondBuffer,
        count: 1,
    });
    assert_eq!(send(&mut b, &mut q)[0].length, 2049);
    b.dev.inject(EnaFault::RxMalformed {
        sq: None,
        kind: RxMalformation::FirstOnNonFirst,
        count: 1,
    });
    let c = send(&mut b, &mut q);
    assert_eq!(c.len(), 2);
    assert!(c[1].flags().contains(RxCdescStatus::FIRST));
    b.dev.inject(EnaFault::RxMalformed {
        sq: None,
        kind: RxMalformation::TooManyDescs,
        count: FOREVER,
    });
    let c = send(&mut b, &mut q);
    assert_eq!(c.len(), 20, "max_rx_descs (19) + 1 buffers");
    assert_eq!(
        c.iter().map(|c| usize::from(c.length)).sum::<usize>(),
        f.len()
    );
    assert!(c.last().unwrap().flags().contains(RxCdescStatus::LAST));
}

#[test]
fn link_down_drops_and_ledger_flushes_on_destroy() {
    let (mut a, mut qa, mut b, mut qb) = cable(EnaModelConfig::default());
    b.post_rx(&mut qb, 4, 2048, 0);
    let f = FrameBuilder::udp4(A, B, 1, 2).payload_len(10).build();
    a.dev.inject(EnaFault::LinkDown);
    a.queue_tx(&mut qa, 0, &[&f], Offload::default());
    a.ring_tx(&qa);
    assert_eq!(a.poll_tx(&mut qa).len(), 1, "completed even when dropped");
    assert_eq!(a.dev.counters().tx_dropped, 1);
    b.dev.tick();
    assert!(b.poll_rx(&mut qb).is_empty());
    // Destroying the RX queue flushes its buffers in the ledger.
    b.ok(&DestroySqCmd::new(SqDirection::Rx, qb.rx_sq));
    assert_eq!(b.dev.ledger().outstanding(None).len(), 0);
    assert_eq!(b.dev.ledger().lost().len(), 4);
    b.dev.ledger_mut().release_queue(BufKind::Rx, qb.rx_sq);
    b.dev.ledger().check_clean(false).unwrap();
    // With no RX queue, arriving frames are dropped and counted.
    a.dev.inject(EnaFault::LinkUp);
    a.queue_tx(&mut qa, 1, &[&f], Offload::default());
    a.ring_tx(&qa);
    b.dev.tick();
    assert_eq!(b.dev.counters().rx_dropped, 1);
    assert_eq!(b.dev.device_stats().rx_drops, 1);
}
