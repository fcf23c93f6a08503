//! Reset restore (ena.md §6.5 step 5): a device reset wipes everything the
//! driver programmed — the model forgets the MTU, the RSS key, hash input
//! and table, and all IO queues — so whatever is in force afterwards was
//! restored by the driver. Checked after user, keep-alive and
//! device-requested resets: MTU (driver and device), queue count and ring
//! sizes (by filling the rings), a custom RSS key and table (by the
//! Toeplitz mapping of received frames), interrupt moderation (by the
//! values the device records at unmask), `total_resets`, and that buffers
//! in flight during the reset all come back. A reset while down keeps the
//! configuration for the next open; ten resets in a row leak nothing.

mod common;

use cloudnic_common::nic::{ModerationConfig, NetDevice, QueueConfig, RssConfig};
use cloudnic_common::ResetReason;
use cloudnic_models::ena::EnaFault;
use cloudnic_tests::testbed::{BackToBack, NodeOptions};

use common::*;

/// Guest memory for two default nodes (4 queues, 1024-entry rings).
fn rig() -> BackToBack {
    let o = NodeOptions::new("x");
    BackToBack::with_arena(
        NodeOptions::new("eth0"),
        NodeOptions::new("eth1"),
        BackToBack::arena_bytes(&o, &o),
    )
}

/// Everything the user configured on a node.
#[derive(Clone, Debug, PartialEq)]
struct UserConfig {
    queues: QueueConfig,
    key: Vec<u8>,
    table: Vec<u16>,
    moderation: ModerationConfig,
}

/// Put a non-default configuration on node b (and a matching MTU on a):
/// 3 queues, 512-entry rings, MTU 4000, custom key and table, moderation
/// TX 100 µs / RX 40 µs.
fn customise_b(t: &mut BackToBack) -> UserConfig {
    let base = t.b.dev().queue_config();
    let queues = QueueConfig {
        num_queues: 3,
        tx_ring_size: 512,
        rx_ring_size: 512,
        mtu: 4000,
    };
    t.a.dev().set_mtu(4000).unwrap();
    t.b.dev().set_mtu(4000).unwrap();
    if t.b.dev().is_open() {
        reconfigure(&mut t.b, queues).unwrap();
    } else {
        t.b.dev()
            .reconfigure(queues, &mut |_| panic!("nothing to release while down"))
            .unwrap();
    }
    assert_ne!(base, queues);
    let key: Vec<u8> = (0..40u8).map(|i| i.wrapping_mul(29) ^ 0x5c).collect();
    let table: Vec<u16> = (0..128).map(|i| [2, 0, 1, 2, 2, 1][i % 6]).collect();
    t.b.dev()
        .set_rss(&RssConfig {
            key: Some(&key),
            table: Some(&table),
        })
        .unwrap();
    let moderation = ModerationConfig {
        tx_usecs: 100,
        rx_usecs: 40,
        adaptive_rx: false,
    };
    t.b.dev().set_moderation(moderation).unwrap();
    t.settle();
    UserConfig {
        queues,
        key,
        table,
        moderation,
    }
}

/// Node b runs with `want`, in the driver and in the device.
fn assert_restored(t: &mut BackToBack, want: &UserConfig) {
    let b = &mut t.b;
    assert!(b.dev().is_open());
    assert_eq!(
        b.dev().queue_config(),
        want.queues,
        "queue count, ring sizes, MTU"
    );
    assert_eq!(
        b.model.borrow().mtu(),
        want.queues.mtu,
        "device MTU re-sent"
    );
    let (key, table) = rss_of(b);
    assert_eq!((&key, &table), (&want.key, &want.table), "driver RSS state");
    assert_eq!(b.dev().moderation(), want.moderation);
    let nq = want.queues.num_queues;
    for q in 0..nq {
        b.dev().unmask_queue_interrupt(q);
        let m = b.model.borrow().moderation(q + 1);
        assert_eq!(
            m,
            Some((want.moderation.rx_usecs, want.moderation.tx_usecs)),
            "vector {}",
            q + 1
        );
    }
    // RX rings refilled at the restored size; TX ring takes depth − 1.
    assert_eq!(
        b.ledger.rx.len(),
        usize::from(nq) * (want.queues.rx_ring_size as usize - 1)
    );
    assert_eq!(
        fill_tx_ring(b, nq - 1),
        want.queues.tx_ring_size as usize - 1
    );
    t.settle();
    assert_eq!(
        t.a.take_received().len(),
        want.queues.tx_ring_size as usize - 1
    );
    // The device hashes with the restored key, fields and table.
    let got = t.transfer('a', 0, &mixed_flows(0xfeed, 32), false, 0);
    assert_rss_mapping(&got, &want.key, &want.table);
    assert_eq!(
        per_queue(&got).len(),
        usize::from(nq),
        "{:?}",
        per_queue(&got)
    );
    // Jumbo frames at the restored MTU, both ways.
    let big = udp_frames(77, 6, want.queues.mtu as usize - 28);
    let got = t.transfer('a', 1, &big, false, 0);
    assert_same_frames(&got, &big);
    let got = t.transfer('b', nq - 1, &big, false, 0);
    assert_same_frames(&got, &big);
    t.assert_traffic_both_ways(4);
}

/// Traffic posted in both directions and not yet serviced when b resets:
/// b's TX completions unreaped, and a's frames still on the wire to b (b
/// sends first because a device takes in the wire when its doorbell rings).
fn leave_traffic_in_flight(t: &mut BackToBack, seed: u16) {
    for (side, q) in [('b', 1u16), ('a', 2u16)] {
        for f in udp_frames(seed, 40, 900) {
            t.node(side).send(q, &f, false, 0, 4096).unwrap();
        }
        t.node(side).kick(q);
    }
    assert!(!t.b.ledger.tx.is_empty());
}

#[test]
fn user_reset_restores_mtu_queues_rings_rss_and_moderation() {
    let mut t = rig();
    let want = customise_b(&mut t);
    let device_resets = t.b.model.borrow().counters().resets;
    let rx_dropped = t.b.model.borrow().counters().rx_dropped;
    leave_traffic_in_flight(&mut t, 1);
    reset(&mut t.b, ResetReason::UserTrigger);
    assert!(
        t.b.ledger.tx.is_empty(),
        "in-flight TX tokens released by the reset"
    );
    assert_eq!(t.b.stat("total_resets"), Some(1));
    assert_eq!(t.b.stat("reset_fail"), Some(0));
    // Reset with the reason, then re-init with NORMAL (ena.md §6.5 steps 4–5).
    assert!(t
        .b
        .model
        .borrow()
        .reset_reasons()
        .ends_with(&[ResetReason::UserTrigger.code(), 0]));
    assert!(t.b.model.borrow().counters().resets > device_resets);
    assert!(t.b.log().contains("Trigger reset is on"));
    assert!(t.b.log().contains("Device reset completed successfully"));
    t.settle();
    // b's frames left its device before the reset and arrive at a; a's
    // frames, on the wire during the reset, are either received by b's
    // restored queues or dropped (and counted) by b's device while it had
    // none — never lost silently.
    assert_eq!(t.a.take_received().len(), 40);
    let dropped = t.b.model.borrow().counters().rx_dropped - rx_dropped;
    assert_eq!(t.b.take_received().len() as u64 + dropped, 40);
    assert_restored(&mut t, &want);
    t.teardown_and_check();
}

#[test]
fn keep_alive_loss_reset_restores_the_configuration() {
    let mut t = rig();
    let want = customise_b(&mut t);
    t.b.model.borrow_mut().inject(EnaFault::KeepAliveLoss);
    let mut resets = Vec::new();
    for _ in 0..10 {
        resets.extend(t.run_for(1_000_000));
        if !resets.is_empty() {
            break;
        }
    }
    assert_eq!(resets, vec![('b', ResetReason::KeepAliveTimeout)]);
    t.b.model.borrow_mut().clear_fault(EnaFault::KeepAliveLoss);
    assert!(t.b.log().contains("Keep alive watchdog timeout"));
    assert_eq!(t.b.stat("wd_expired"), Some(1));
    assert_eq!(t.b.stat("total_resets"), Some(1));
    assert!(t
        .b
        .model
        .borrow()
        .reset_reasons()
        .ends_with(&[ResetReason::KeepAliveTimeout.code(), 0]));
    assert_restored(&mut t, &want);
    // Keep-alive is back: no further reset.
    assert!(t.run_for(8_000_000).is_empty());
    t.teardown_and_check();
}

#[test]
fn device_requested_reset_restores_the_configuration() {
    let mut t = rig();
    let want = customise_b(&mut t);
    t.b.model.borrow_mut().inject(EnaFault::DeviceRequestReset);
    t.settle();
    assert_eq!(t.b.health_tick(), Some(ResetReason::DeviceRequest));
    t.settle();
    assert_eq!(t.b.stat("device_request_reset"), Some(1));
    assert_eq!(t.b.stat("total_resets"), Some(1));
    assert_restored(&mut t, &want);
    t.teardown_and_check();
}

#[test]
fn reset_while_down_keeps_the_configuration_and_stays_down() {
    let mut t = rig();
    t.b.close().unwrap();
    let want = customise_b(&mut t);
    reset(&mut t.b, ResetReason::UserTrigger);
    assert!(!t.b.dev().is_open(), "comes back down");
    assert_eq!(t.b.dev().queue_config(), want.queues);
    assert_eq!(rss_of(&mut t.b), (want.key.clone(), want.table.clone()));
    assert_eq!(t.b.dev().moderation(), want.moderation);
    assert_eq!(t.b.stat("total_resets"), Some(1));
    assert_eq!(t.b.stat("num_of_active_io_queues"), Some(0));
    assert_eq!(
        t.b.model.borrow().mtu(),
        1500,
        "device reset to its default; sent again at open"
    );
    assert!(t.b.ledger.rx.is_empty() && t.b.ledger.tx.is_empty());
    t.b.open().unwrap();
    t.settle();
    assert_restored(&mut t, &want);
    t.teardown_and_check();
}

#[test]
fn ten_resets_in_a_row_leak_nothing_and_keep_the_configuration() {
    let mut t = rig();
    let want = customise_b(&mut t);
    let reasons = [
        ResetReason::UserTrigger,
        ResetReason::OsNetdevWatchdog,
        ResetReason::MissingTxCompletion,
        ResetReason::InvalidRxReqId,
        ResetReason::Normal,
    ];
    let device_resets = t.b.model.borrow().counters().resets;
    let mut live = None;
    for i in 0..10u16 {
        leave_traffic_in_flight(&mut t, 100 + i);
        let reason = reasons[usize::from(i) % reasons.len()];
        reset(&mut t.b, reason);
        assert!(t.b.ledger.tx.is_empty(), "reset {i}: in-flight TX released");
        t.settle();
        let _ = t.a.take_received();
        let _ = t.b.take_received();
        // Same DMA and buffer footprint after every reset: rings, control
        // structures and full RX rings, nothing else.
        let now = (t.arena.live_allocations(), t.b.ledger.rx.len());
        assert_eq!(*live.get_or_insert(now), now, "reset {i}: allocations grew");
        assert_eq!(t.b.dev().queue_config(), want.queues);
        let got = t.transfer('a', 0, &mixed_flows(u32::from(i) + 1, 8), false, 0);
        assert_rss_mapping(&got, &want.key, &want.table);
    }
    assert_eq!(t.b.stat("total_resets"), Some(10));
    assert_eq!(t.b.stat("reset_fail"), Some(0));
    assert_eq!(t.b.resets.len(), 10);
    assert!(t.b.model.borrow().counters().resets >= device_resets + 10);
    assert_eq!(t.b.model.borrow().counters().dma_faults, 0);
    assert_restored(&mut t, &want);
    t.teardown_and_check();
}
