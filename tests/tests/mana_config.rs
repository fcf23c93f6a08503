//! Bad configuration is rejected cleanly: invalid queue layouts, MTUs, RSS
//! keys and tables, moderation — refused with a typed error, nothing half
//! created on the device, no memory leaked, the old configuration kept; and
//! a device whose own configuration is out of spec fails the probe cleanly.

use std::rc::Rc;

use cloudnic_common::nic::{ModerationConfig, NetDevice, QueueConfig, RssConfig};
use cloudnic_common::{ConfigError, Error};
use cloudnic_models::mana::{ManaModelConfig, ModelLayout};
use cloudnic_models::{Arena, VirtualClock};
use cloudnic_tests::testbed::mana::{ManaNode, ManaPair, NodeOptions};

/// One node (no peer) with `cfg`; returns it with the arena and its live
/// allocations before the probe.
fn probe_only(cfg: ManaModelConfig) -> (ManaNode, Rc<Arena>, usize) {
    let arena = Rc::new(Arena::new(32 << 20));
    let clock = Rc::new(VirtualClock::new());
    let before = arena.live_allocations();
    let mut o = NodeOptions::new("x");
    o.model = cfg;
    o.open = false;
    (ManaNode::new(&arena, &clock, Vec::new(), o), arena, before)
}

fn invalid(e: Result<(), Error>) -> bool {
    matches!(e, Err(Error::InvalidConfig(_)))
}

#[test]
fn invalid_queue_layouts_and_mtus_are_refused_before_touching_the_device() {
    let (mut n, arena, before) = probe_only(ManaModelConfig::default());
    let good = QueueConfig {
        num_queues: 4,
        tx_ring_size: 256,
        rx_ring_size: 256,
        mtu: 1500,
    };
    let max_q = n.nd(0).info().max_queues;
    assert_eq!(max_q, 8, "min(vPort 16, MSI-X 9 − 1)");
    let bad = [
        QueueConfig {
            num_queues: 0,
            ..good
        },
        QueueConfig {
            num_queues: max_q + 1,
            ..good
        },
        QueueConfig {
            tx_ring_size: 300,
            ..good
        },
        QueueConfig {
            rx_ring_size: 64,
            ..good
        },
        QueueConfig {
            tx_ring_size: 32768,
            ..good
        },
        QueueConfig { mtu: 9001, ..good },
        QueueConfig { mtu: 67, ..good },
    ];
    let objects = n.model.borrow().live_objects();
    let allocs = arena.live_allocations();
    for cfg in bad {
        assert!(invalid(n.nd(0).open(cfg)), "{cfg:?} refused");
        assert!(!n.nd(0).is_open());
        assert_eq!(
            n.model.borrow().live_objects(),
            objects,
            "{cfg:?}: nothing created on the device"
        );
        assert_eq!(arena.live_allocations(), allocs, "{cfg:?}: no memory kept");
    }
    assert_eq!(
        n.model
            .borrow()
            .counters()
            .hwc(cloudnic_mana::defs::eth::code::CONFIG_VPORT_TX),
        0
    );
    n.opts.qcfg = good;
    n.open(0).expect("a valid layout opens");
    n.remove();
    assert_eq!(arena.live_allocations(), before, "no DMA leaked");
    assert_eq!(arena.faults(), 0);
}

#[test]
fn invalid_rss_mtu_moderation_and_reconfigure_keep_the_old_settings() {
    let mut t = ManaPair::new();
    let (mut key, mut table) = ([0u8; 40], vec![0u16; 64]);
    t.a.nd(0).get_rss(&mut key, &mut table);
    let device_before = t.a.model.borrow().rss(0).unwrap();
    let short_key = [1u8; 39];
    let e = t.a.nd(0).set_rss(&RssConfig {
        key: Some(&short_key),
        table: None,
    });
    assert_eq!(
        e,
        Err(Error::InvalidConfig(ConfigError::RssKeyLength {
            given: 39,
            expected: 40
        }))
    );
    assert!(
        invalid(t.a.nd(0).set_rss(&RssConfig {
            key: None,
            table: Some(&[0u16; 32])
        })),
        "wrong table size"
    );
    let mut t4 = table.clone();
    t4[10] = 4;
    assert!(
        invalid(t.a.nd(0).set_rss(&RssConfig {
            key: None,
            table: Some(&t4)
        })),
        "entry names a queue not open"
    );
    assert_eq!(
        t.a.model.borrow().rss(0).unwrap(),
        device_before,
        "device untouched"
    );
    assert!(invalid(t.a.nd(0).set_mtu(9001)));
    t.a.nd(0).set_mtu(4000).expect("valid MTU");
    let m = ModerationConfig {
        rx_usecs: 2000,
        ..Default::default()
    };
    assert!(invalid(t.a.nd(0).set_moderation(m)), "above 1023 µs");
    let m = ModerationConfig {
        rx_usecs: 50,
        ..Default::default()
    };
    assert_eq!(
        t.a.nd(0).set_moderation(m),
        Err(Error::Unsupported),
        "no DIM capability"
    );
    let old = t.a.nd(0).queue_config();
    assert!(invalid(t.a.reconfigure(
        0,
        QueueConfig {
            num_queues: 9,
            ..old
        }
    )));
    assert!(invalid(t.a.reconfigure(
        0,
        QueueConfig {
            rx_ring_size: 100,
            ..old
        }
    )));
    assert_eq!(t.a.nd(0).queue_config(), old);
    assert!(t.a.nd(0).is_open());
    t.assert_traffic_both_ways(2);
    // A valid reconfigure takes effect on the device.
    t.a.reconfigure(
        0,
        QueueConfig {
            num_queues: 2,
            ..old
        },
    )
    .expect("valid reconfigure");
    assert_eq!(t.a.model.borrow().vport_queues(0).0.len(), 2);
    t.assert_traffic_both_ways(2);
    t.teardown_and_check();
}

#[test]
fn out_of_spec_devices_fail_the_probe_without_leaks() {
    let cases: Vec<(&str, ManaModelConfig)> = vec![
        (
            "adapter MTU below 82",
            ManaModelConfig {
                adapter_mtu: 60,
                ..Default::default()
            },
        ),
        (
            "no vPorts",
            ManaModelConfig {
                vports: Vec::new(),
                ..Default::default()
            },
        ),
        (
            "doorbell page of 2 KiB",
            ManaModelConfig {
                db_page_size: 2048,
                ..Default::default()
            },
        ),
        (
            "SMC window outside BAR0",
            ManaModelConfig {
                layout: ModelLayout::Vf { smc_offset: 0x7FF0 },
                ..Default::default()
            },
        ),
        (
            "HWC max request below 640",
            ManaModelConfig {
                hwc_max_request: 512,
                ..Default::default()
            },
        ),
        (
            "doorbell zone past BAR0",
            ManaModelConfig {
                db_page_offset: 0x8000,
                ..Default::default()
            },
        ),
    ];
    for (what, cfg) in cases {
        let (mut n, arena, before) = probe_only(cfg);
        assert_eq!(n.probe_error, Some(Error::IncompatibleDevice), "{what}");
        assert!(!n.model.borrow().hwc_established(), "{what}: HWC torn down");
        n.remove();
        assert_eq!(arena.live_allocations(), before, "{what}: no DMA leaked");
        assert_eq!(arena.faults(), 0, "{what}");
    }
}

#[test]
fn older_device_config_version_falls_back_to_a_1514_byte_adapter_mtu() {
    let (mut n, _, _) = probe_only(ManaModelConfig {
        dev_config_version: 1,
        ..Default::default()
    });
    assert!(n.probe_error.is_none());
    assert_eq!(n.nd(0).info().max_mtu, 1500);
    assert!(invalid(n.nd(0).set_mtu(1501)));
    n.remove();
}

#[test]
fn moderation_with_the_dim_capability_rings_the_dim_doorbell() {
    let mut a = NodeOptions::new("a");
    a.model.pf_cap_flags |= cloudnic_mana::defs::gdma::PfCapFlags1::DIM;
    let mut t = ManaPair::with(a, NodeOptions::new("b"));
    let m = ModerationConfig {
        rx_usecs: 64,
        tx_usecs: 32,
        ..Default::default()
    };
    t.a.nd(0).set_moderation(m).expect("DIM supported");
    assert_eq!(t.a.nd(0).moderation(), m);
    let c = t.a.model.borrow().counters().clone();
    assert_eq!(
        (c.dim_doorbells, c.bad_doorbells),
        (8, 0),
        "one per CQ of 4 pairs"
    );
    t.teardown_and_check();
}
