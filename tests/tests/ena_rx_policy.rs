//! ENA's RX buffer policy as the shims read it (ena.md §6.2): refill once
//! min(ring / 8, 256) buffers fit, copy packets of up to 256 bytes, and the
//! copies the shim makes counted in `rx_copybreak_pkt`.

use cloudnic_common::nic::{NetDevice, QueueConfig, RxPolicy};
use cloudnic_tests::testbed::BackToBack;

#[test]
fn refill_threshold_follows_the_ring_size_and_copies_are_counted() {
    let mut t = BackToBack::small();
    let policy = |t: &mut BackToBack, q| t.a.dev().rx_policy(q);
    assert_eq!(
        policy(&mut t, 0),
        RxPolicy {
            refill_threshold: 32,
            copybreak: 256
        },
        "256-entry ring"
    );
    let cfg = t.a.dev().queue_config();
    t.a.close().unwrap();
    t.a.open_with(QueueConfig {
        rx_ring_size: 4096,
        ..cfg
    })
    .unwrap();
    assert_eq!(policy(&mut t, 1).refill_threshold, 256, "capped at 256");
    // A queue that does not exist gets the neutral policy's threshold.
    assert_eq!(policy(&mut t, 99).refill_threshold, 1);

    t.a.dev().note_rx_copybreak(1, 5);
    t.a.dev().note_rx_copybreak(1, 2);
    t.a.dev().note_rx_copybreak(99, 1); // no such queue: ignored
    assert_eq!(t.a.stat("queue_1_rx_rx_copybreak_pkt"), Some(7));
    assert_eq!(t.a.stat("queue_0_rx_rx_copybreak_pkt"), Some(0));
    t.teardown_and_check();
}
