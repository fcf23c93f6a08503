//! Configuration through the NIC interface (ethtool -L/-G/-C, ip link set
//! mtu): values outside what the device allows (ena.md §6.2, §6.6) are
//! refused with a typed, readable error and change nothing — the previous
//! configuration stays in force in the driver and in the device model, and
//! traffic keeps flowing both ways. Valid changes applied under traffic
//! lose no buffer (host and model ledgers).

mod common;

use cloudnic_common::moderation::{RX_PROFILES_US, SAMPLES_PER_MEASUREMENT};
use cloudnic_common::nic::{ModerationConfig, NetDevice, QueueConfig, TxError};
use cloudnic_common::{ConfigError, Error};
use cloudnic_models::ena::{AdminFilter, EnaFault};
use cloudnic_models::Device;
use cloudnic_tests::testbed::{BackToBack, NodeOptions};

use common::*;

/// Device max MTU of the default model (ena.md §3.6 DEVICE_ATTRIBUTES).
const MODEL_MAX_MTU: u32 = 9216;
/// Admin opcode CREATE_SQ (ena.md §3.5).
const OPCODE_CREATE_SQ: u8 = 1;

/// The configuration of node b is exactly `cfg` in the driver and the
/// model, and traffic passes both ways.
fn assert_still_working(t: &mut BackToBack, cfg: QueueConfig, what: &str) {
    assert!(t.b.dev().is_open(), "{what}: interface still up");
    assert_eq!(
        t.b.dev().queue_config(),
        cfg,
        "{what}: driver config unchanged"
    );
    assert_eq!(
        t.b.model.borrow().mtu(),
        cfg.mtu,
        "{what}: device MTU unchanged"
    );
    t.assert_traffic_both_ways(4);
}

#[test]
fn mtu_out_of_range_is_refused_with_its_bounds() {
    let mut t = BackToBack::new();
    let cfg = t.b.dev().queue_config();
    assert_eq!(cfg.mtu, 1500);
    let info = *t.b.dev().info();
    assert_eq!((info.min_mtu, info.max_mtu), (128, MODEL_MAX_MTU));
    for bad in [0, 127, MODEL_MAX_MTU + 1, u32::MAX] {
        let e = t.b.dev().set_mtu(bad).unwrap_err();
        assert_eq!(
            e,
            Error::InvalidConfig(ConfigError::MtuOutOfRange {
                requested: bad,
                min: 128,
                max: MODEL_MAX_MTU
            })
        );
        assert_eq!(
            e.to_string(),
            format!("invalid configuration: MTU {bad} out of range [128, {MODEL_MAX_MTU}]")
        );
        assert_eq!(e.errno(), 22);
        assert_still_working(&mut t, cfg, &format!("MTU {bad}"));
    }
    t.teardown_and_check();
}

#[test]
fn mtu_bounds_are_inclusive_and_the_device_enforces_them_on_the_wire() {
    let mut t = BackToBack::new();
    for mtu in [128, MODEL_MAX_MTU] {
        for side in ['a', 'b'] {
            t.node(side).dev().set_mtu(mtu).unwrap();
            assert_eq!(t.node(side).dev().queue_config().mtu, mtu);
            assert_eq!(
                t.node(side).model.borrow().mtu(),
                mtu,
                "SET_FEATURE MTU reached the device"
            );
        }
        // An IPv4/UDP packet of exactly the MTU (20 + 8 + payload) passes...
        let fit = udp_frames(3, 4, mtu as usize - 28);
        let got = t.transfer('a', 0, &fit, false, 0);
        assert_same_frames(&got, &fit);
        // ...one byte more is dropped by the sending device, and its buffer
        // still comes back (the ledgers check that at teardown).
        let dropped_before = t.a.model.borrow().counters().tx_oversize;
        let over = udp_frames(4, 1, mtu as usize - 27);
        assert!(t.transfer('a', 0, &over, false, 0).is_empty());
        assert_eq!(
            t.a.model.borrow().counters().tx_oversize,
            dropped_before + 1
        );
        assert!(t.a.ledger.tx.is_empty(), "oversize packet's token returned");
    }
    t.teardown_and_check();
}

#[test]
fn mtu_change_while_up_with_frames_in_flight() {
    let mut t = BackToBack::new();
    // Frames posted and transmitted, completions and RX not yet serviced.
    let frames = udp_frames(5, 64, 1000);
    for f in &frames {
        t.a.send(1, f, false, 0, 4096).unwrap();
    }
    t.a.kick(1);
    for side in ['a', 'b'] {
        t.node(side).dev().set_mtu(9001).unwrap();
    }
    t.settle();
    let got = t.b.take_received();
    assert_same_frames(&got, &frames);
    assert!(t.a.ledger.tx.is_empty());
    assert_eq!(t.b.model.borrow().mtu(), 9001);
    assert!(
        t.b.dev().is_open(),
        "an MTU change does not recreate queues"
    );
    let jumbo = udp_frames(6, 8, 9001 - 28);
    let got = t.transfer('b', 3, &jumbo, false, 0);
    assert_same_frames(&got, &jumbo);
    t.teardown_and_check();
}

#[test]
fn mtu_set_while_down_reaches_the_device_at_open() {
    let mut t = BackToBack::new();
    t.b.close().unwrap();
    t.b.dev().set_mtu(4000).unwrap();
    assert_eq!(t.b.dev().queue_config().mtu, 4000);
    assert_eq!(t.b.model.borrow().mtu(), 1500, "nothing sent while down");
    assert!(t.b.dev().set_mtu(127).is_err());
    assert_eq!(t.b.dev().queue_config().mtu, 4000);
    t.b.open().unwrap();
    t.settle();
    assert_eq!(t.b.model.borrow().mtu(), 4000);
    t.a.dev().set_mtu(4000).unwrap();
    let big = udp_frames(7, 4, 4000 - 28);
    let got = t.transfer('b', 0, &big, false, 0);
    assert_same_frames(&got, &big);
    t.teardown_and_check();
}

#[test]
fn bad_ring_sizes_are_refused_and_leave_the_rings_alone() {
    let mut t = BackToBack::new();
    let cfg = t.b.dev().queue_config();
    let info = *t.b.dev().info();
    assert_eq!((cfg.tx_ring_size, cfg.rx_ring_size), (1024, 1024));
    assert_eq!(
        (
            info.min_ring_size,
            info.max_tx_ring_size,
            info.max_rx_ring_size
        ),
        (256, 1024, 8192)
    );
    let not_pow2 =
        |requested| Error::InvalidConfig(ConfigError::RingSizeNotPowerOfTwo { requested });
    let range = |requested, max| {
        Error::InvalidConfig(ConfigError::RingSizeOutOfRange {
            requested,
            min: 256,
            max,
        })
    };
    let cases = [
        (
            QueueConfig {
                tx_ring_size: 1000,
                ..cfg
            },
            not_pow2(1000),
        ),
        (
            QueueConfig {
                rx_ring_size: 3000,
                ..cfg
            },
            not_pow2(3000),
        ),
        (
            QueueConfig {
                rx_ring_size: 0,
                ..cfg
            },
            not_pow2(0),
        ),
        (
            QueueConfig {
                tx_ring_size: 128,
                ..cfg
            },
            range(128, 1024),
        ),
        (
            QueueConfig {
                rx_ring_size: 64,
                ..cfg
            },
            range(64, 8192),
        ),
        (
            QueueConfig {
                tx_ring_size: 2048,
                ..cfg
            },
            range(2048, 1024),
        ),
        (
            QueueConfig {
                rx_ring_size: 16384,
                ..cfg
            },
            range(16384, 8192),
        ),
        (
            QueueConfig {
                tx_ring_size: 1 << 31,
                ..cfg
            },
            range(1 << 31, 1024),
        ),
    ];
    for (bad, want) in cases {
        let e = reconfigure(&mut t.b, bad).unwrap_err();
        assert_eq!(e, want, "{bad:?}");
        assert_eq!(e.errno(), 22);
        assert!(
            e.to_string()
                .starts_with("invalid configuration: ring size"),
            "{e}"
        );
        assert_still_working(&mut t, cfg, &format!("{bad:?}"));
    }
    // The TX ring really is still 1024 entries: 1023 one-descriptor packets fit.
    assert_eq!(fill_tx_ring(&mut t.b, 2), 1023);
    t.settle();
    assert_eq!(t.a.take_received().len(), 1023);
    t.teardown_and_check();
}

#[test]
fn queue_counts_are_bounded_by_the_device_not_by_guesswork() {
    // Shim allows 128 queue pairs; the device only 6.
    let mut o = NodeOptions::new("eth1");
    o.driver.max_queues = 128;
    o.model.max_queues = 6;
    o.model.msix_vectors = 7;
    let mut t = BackToBack::with(NodeOptions::new("eth0"), o);
    let cfg = t.b.dev().queue_config();
    assert_eq!(t.b.dev().info().max_queues, 6);
    assert_eq!(
        cfg.num_queues, 6,
        "opens with every queue the device allows"
    );
    for n in [0u16, 7, 8, 128, u16::MAX] {
        let e = reconfigure(
            &mut t.b,
            QueueConfig {
                num_queues: n,
                ..cfg
            },
        )
        .unwrap_err();
        assert_eq!(
            e,
            Error::InvalidConfig(ConfigError::QueueCountOutOfRange {
                requested: n.into(),
                max: 6
            })
        );
        assert_eq!(
            e.to_string(),
            format!("invalid configuration: queue count {n} out of range [1, 6]")
        );
        assert_still_working(&mut t, cfg, &format!("{n} queues"));
    }
    assert_eq!(
        t.b.send(6, &udp_frames(1, 1, 10)[0], false, 0, 4096),
        Err(TxError::NotRunning)
    );
    // The smallest and largest valid counts work.
    for n in [1u16, 6] {
        reconfigure(
            &mut t.b,
            QueueConfig {
                num_queues: n,
                ..cfg
            },
        )
        .unwrap();
        t.settle();
        assert_still_working(
            &mut t,
            QueueConfig {
                num_queues: n,
                ..cfg
            },
            &format!("{n} queues"),
        );
    }
    t.teardown_and_check();
}

#[test]
fn queue_count_above_the_shims_limit_is_refused() {
    let mut t = BackToBack::new();
    let cfg = t.b.dev().queue_config();
    assert_eq!(t.b.dev().info().max_queues, 4, "min(shim 4, device 8)");
    let e = reconfigure(
        &mut t.b,
        QueueConfig {
            num_queues: 5,
            ..cfg
        },
    )
    .unwrap_err();
    assert_eq!(
        e,
        Error::InvalidConfig(ConfigError::QueueCountOutOfRange {
            requested: 5,
            max: 4
        })
    );
    assert_still_working(&mut t, cfg, "5 queues");
    t.teardown_and_check();
}

#[test]
fn open_with_a_bad_config_while_down_stays_down_and_reopens() {
    let mut t = BackToBack::new();
    let cfg = t.b.dev().queue_config();
    t.b.close().unwrap();
    for bad in [
        QueueConfig {
            num_queues: 0,
            ..cfg
        },
        QueueConfig {
            rx_ring_size: 1000,
            ..cfg
        },
        QueueConfig { mtu: 100, ..cfg },
        QueueConfig {
            mtu: MODEL_MAX_MTU + 1,
            ..cfg
        },
    ] {
        assert!(
            matches!(t.b.open_with(bad), Err(Error::InvalidConfig(_))),
            "{bad:?}"
        );
        assert!(!t.b.dev().is_open());
        assert_eq!(t.b.dev().queue_config(), cfg);
    }
    t.b.open().unwrap();
    t.settle();
    assert_still_working(&mut t, cfg, "reopened");
    t.teardown_and_check();
}

#[test]
fn moderation_out_of_range_is_refused_and_valid_values_reach_the_device() {
    let mut t = BackToBack::new();
    let initial = t.b.dev().moderation();
    assert_eq!(
        initial,
        ModerationConfig {
            tx_usecs: 64,
            rx_usecs: 20,
            adaptive_rx: true
        },
        "ena.md §6.6"
    );
    let check_device = |t: &mut BackToBack, m: ModerationConfig| {
        for q in 0..4u16 {
            t.b.dev().unmask_queue_interrupt(q);
            // Resolution 1 µs: register values are the intervals (ena.md §5.7).
            let (rx, tx) =
                t.b.model
                    .borrow()
                    .moderation(q + 1)
                    .expect("unmask written");
            assert_eq!(tx, m.tx_usecs, "vector {}", q + 1);
            if m.adaptive_rx {
                // The static interval until the adaptive moderator picks a profile.
                assert!(
                    rx == m.rx_usecs || RX_PROFILES_US.contains(&rx),
                    "vector {}: rx {rx}",
                    q + 1
                );
            } else {
                assert_eq!(rx, m.rx_usecs, "vector {}", q + 1);
            }
        }
    };
    check_device(&mut t, initial);
    let cfg = t.b.dev().queue_config();
    for bad in [
        ModerationConfig {
            tx_usecs: 0x8000,
            ..initial
        },
        ModerationConfig {
            rx_usecs: 0x8000,
            ..initial
        },
        ModerationConfig {
            rx_usecs: u32::MAX,
            ..initial
        },
    ] {
        let e = t.b.dev().set_moderation(bad).unwrap_err();
        let requested_us = bad.tx_usecs.max(bad.rx_usecs);
        assert_eq!(
            e,
            Error::InvalidConfig(ConfigError::ModerationOutOfRange {
                requested_us,
                max_us: 0x7FFF
            })
        );
        assert_eq!(
            e.to_string(),
            format!("invalid configuration: moderation interval {requested_us} us above maximum 32767 us")
        );
        assert_eq!(t.b.dev().moderation(), initial);
        assert_still_working(&mut t, cfg, &format!("{bad:?}"));
        check_device(&mut t, initial);
    }
    let m = ModerationConfig {
        tx_usecs: 100,
        rx_usecs: 0x7FFF,
        adaptive_rx: false,
    };
    t.b.dev().set_moderation(m).unwrap();
    assert_eq!(t.b.dev().moderation(), m);
    check_device(&mut t, m);
    assert_still_working(&mut t, cfg, "valid moderation");
    t.teardown_and_check();
}

#[test]
fn moderation_is_scaled_by_the_devices_delay_resolution() {
    let mut o = NodeOptions::new("eth1");
    o.model.intr_delay_resolution = 4;
    let mut t = BackToBack::with(NodeOptions::new("eth0"), o);
    t.b.dev().unmask_queue_interrupt(0);
    assert_eq!(t.b.model.borrow().moderation(1), Some((20 / 4, 64 / 4)));
    let max_us = 0x7FFF * 4;
    let e = t.b.dev().set_moderation(ModerationConfig {
        tx_usecs: max_us + 1,
        rx_usecs: 8,
        adaptive_rx: false,
    });
    assert_eq!(
        e,
        Err(Error::InvalidConfig(ConfigError::ModerationOutOfRange {
            requested_us: max_us + 1,
            max_us
        }))
    );
    t.b.dev()
        .set_moderation(ModerationConfig {
            tx_usecs: max_us,
            rx_usecs: 200,
            adaptive_rx: false,
        })
        .unwrap();
    t.b.dev().unmask_queue_interrupt(0);
    assert_eq!(t.b.model.borrow().moderation(1), Some((50, 0x7FFF)));
    t.teardown_and_check();
}

#[test]
fn queue_count_4_2_4_under_traffic_loses_nothing() {
    let mut t = BackToBack::new();
    let cfg = t.b.dev().queue_config();
    for n in [2u16, 4] {
        // Frames transmitted by a (completions not reaped) and on the wire
        // to b when both sides change their queue count.
        let frames = mixed_flows(u32::from(n) * 7, 32);
        for (i, f) in frames.iter().enumerate() {
            let q = (i % usize::from(t.a.dev().queue_config().num_queues)) as u16;
            t.a.send(q, f, false, 0, 4096).unwrap();
        }
        for q in 0..t.a.dev().queue_config().num_queues {
            t.a.kick(q);
        }
        assert!(!t.a.ledger.tx.is_empty(), "TX completions outstanding");
        let want = QueueConfig {
            num_queues: n,
            ..cfg
        };
        reconfigure(&mut t.a, want).unwrap();
        reconfigure(&mut t.b, want).unwrap();
        assert!(
            t.a.ledger.tx.is_empty(),
            "every in-flight TX token came back through release"
        );
        assert_eq!(t.b.dev().queue_config(), want);
        assert_eq!(t.b.stat("num_of_active_io_queues"), Some(u64::from(n)));
        t.settle();
        // Frames already on the wire land in the new queues.
        let got = t.b.take_received();
        assert_same_frames(&got, &frames);
        assert!(got.iter().all(|g| g.queue < n));
        assert_eq!(
            t.b.send(n, &frames[0], false, 0, 4096),
            Err(TxError::NotRunning)
        );
        assert_still_working(&mut t, want, &format!("{n} queues"));
    }
    t.teardown_and_check();
}

#[test]
fn ring_sizes_1024_512_2048_under_traffic_lose_nothing() {
    // Guest memory for RX rings of 2048 on both sides.
    let sizing = NodeOptions::new("x").with_rings(1024, 2048);
    let bytes = BackToBack::arena_bytes(&sizing, &sizing);
    let mut t = BackToBack::with_arena(NodeOptions::new("eth0"), NodeOptions::new("eth1"), bytes);
    let cfg = t.b.dev().queue_config();
    for (tx, rx) in [(512u32, 512u32), (1024, 2048)] {
        // RX buffers b holds with frames already written but not yet
        // polled are released by the reconfigure, never delivered twice.
        let frames = mixed_flows(tx + rx, 16);
        for f in &frames {
            t.a.send(0, f, false, 0, 4096).unwrap();
        }
        t.a.kick(0);
        t.b.model.borrow_mut().tick();
        let want = QueueConfig {
            tx_ring_size: tx,
            rx_ring_size: rx,
            ..cfg
        };
        reconfigure(&mut t.b, want).unwrap();
        assert!(t.b.take_received().is_empty());
        assert_eq!(t.b.dev().queue_config(), want);
        // Every RX ring was filled to its new size (one slot kept empty).
        assert_eq!(t.b.ledger.rx.len(), 4 * (rx as usize - 1));
        // TX ring of the new size: depth − 1 one-descriptor packets fit.
        assert_eq!(fill_tx_ring(&mut t.b, 1), tx as usize - 1);
        t.settle();
        assert_eq!(t.a.take_received().len(), tx as usize - 1);
        assert_still_working(&mut t, want, &format!("rings {tx}/{rx}"));
    }
    t.teardown_and_check();
}

#[test]
fn reconfigure_refused_by_the_device_restores_the_previous_queues() {
    let mut t = BackToBack::new();
    let cfg = t.b.dev().queue_config();
    // The device fails the first CREATE_SQ of the new layout.
    t.b.model.borrow_mut().inject(EnaFault::AdminStatus {
        filter: AdminFilter::opcode(OPCODE_CREATE_SQ),
        status: 1,
        count: 1,
    });
    let e = reconfigure(
        &mut t.b,
        QueueConfig {
            num_queues: 2,
            rx_ring_size: 512,
            ..cfg
        },
    )
    .unwrap_err();
    assert_eq!(e, Error::DeviceStatus(1));
    assert!(t
        .b
        .log()
        .contains("Failed to apply the new queue configuration, restoring the previous one"));
    t.settle();
    assert_still_working(&mut t, cfg, "after a refused reconfigure");
    t.teardown_and_check();
}

/// SET_FEATURE opcode and the MTU feature id (ena.md §3.5).
const OPCODE_SET_FEATURE: u8 = 9;
const FEATURE_MTU: u8 = 14;

#[test]
fn mtu_refused_by_the_device_keeps_the_old_mtu() {
    let mut t = BackToBack::new();
    let cfg = t.b.dev().queue_config();
    t.b.model.borrow_mut().inject(EnaFault::AdminStatus {
        filter: AdminFilter::feature(OPCODE_SET_FEATURE, FEATURE_MTU),
        status: 5,
        count: 1,
    });
    assert_eq!(t.b.dev().set_mtu(9001), Err(Error::DeviceStatus(5)));
    assert_still_working(&mut t, cfg, "device refused the MTU");
    // The same request succeeds once the device accepts it.
    t.b.dev().set_mtu(9001).unwrap();
    assert_eq!(t.b.model.borrow().mtu(), 9001);
    t.teardown_and_check();
}

/// ena.md §6.2: the RX ring maximum is the device limit "up to 16K" (Linux
/// ENA_MAX_RING_SIZE_RX): a device reporting 32K RX depth gets at most
/// 16K rings.
#[test]
fn rx_ring_maximum_is_capped_at_16k() {
    let mut o = NodeOptions::new("eth1").with_rings(256, 256);
    o.model.max_rx_depth = 32768;
    let mut t = BackToBack::with(NodeOptions::new("eth0").with_rings(256, 256), o);
    assert_eq!(t.b.dev().info().max_rx_ring_size, 16384);
    let cfg = t.b.dev().queue_config();
    let e = reconfigure(
        &mut t.b,
        QueueConfig {
            rx_ring_size: 32768,
            ..cfg
        },
    )
    .unwrap_err();
    assert_eq!(
        e,
        Error::InvalidConfig(ConfigError::RingSizeOutOfRange {
            requested: 32768,
            min: 256,
            max: 16384
        })
    );
    t.teardown_and_check();
}

/// ena.md §6.6: adaptive RX moderation is enabled at probe when the device
/// supports INTERRUPT_MODERATION, and ethtool -C adaptive-rx switches it.
#[test]
fn adaptive_rx_moderation_is_available_when_the_device_supports_it() {
    let mut t = BackToBack::new();
    let m = ModerationConfig {
        tx_usecs: 64,
        rx_usecs: 20,
        adaptive_rx: true,
    };
    t.b.dev().set_moderation(m).unwrap();
    assert!(t.b.dev().moderation().adaptive_rx);
    t.assert_traffic_both_ways(4);
    t.teardown_and_check();
}

/// Adaptive RX at work: after a measurement of steady RX traffic on one
/// queue (one sample per poll, `SAMPLES_PER_MEASUREMENT` per measurement,
/// time passing), the moderator leaves the static 20 µs for one of its
/// profiles and the unmask write carries it; switching adaptive off puts
/// the static interval back.
#[test]
fn adaptive_rx_moderation_follows_traffic_and_can_be_switched_off() {
    let mut t = BackToBack::new();
    assert!(t.b.dev().moderation().adaptive_rx, "on from probe");
    // One flow: every frame lands on the same queue of b.
    let burst = vec![udp_frames(7, 1, 1000).remove(0); 4];
    let mut queue = None;
    for _ in 0..SAMPLES_PER_MEASUREMENT + 8 {
        t.clock.advance_us(100);
        let got = t.transfer('a', 0, &burst, false, 0);
        assert_eq!(got.len(), burst.len());
        queue = Some(got[0].queue);
    }
    let vector = queue.expect("received") + 1;
    let (rx, tx) =
        t.b.model
            .borrow()
            .moderation(vector)
            .expect("unmask written");
    assert_eq!(tx, 64, "TX is never adaptive");
    assert!(
        RX_PROFILES_US.contains(&rx) && rx != 20,
        "RX interval chosen by the moderator: {rx}"
    );
    let m = ModerationConfig {
        tx_usecs: 64,
        rx_usecs: 20,
        adaptive_rx: false,
    };
    t.b.dev().set_moderation(m).unwrap();
    t.b.dev().unmask_queue_interrupt(vector - 1);
    assert_eq!(t.b.model.borrow().moderation(vector), Some((20, 64)));
    t.assert_traffic_both_ways(2);
    t.teardown_and_check();
}
