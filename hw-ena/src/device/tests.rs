//! Control-path tests of [`EnaDevice`] against the unit-test fake device
//! (integration tests against the full model live in tests/).

extern crate std;

use std::vec::Vec;

use cloudnic_common::nic::{NetDevice, QueueConfig};
use cloudnic_common::{ConfigError, Error, ResetReason};

use super::{EnaConfig, EnaDevice};
use crate::defs::admin::{AdminOpcode, DeviceCaps, FeatureId};
use crate::defs::aenq::{AenqGroup, KeepAlivePayload, LinkChangePayload};
use crate::defs::host_info::os_type;
use crate::test_support::{FakeBar, FakePlat};

type Dev = EnaDevice<FakePlat, FakeBar>;

fn probe_with(plat: &FakePlat, bar: &FakeBar) -> Dev {
    let mut cfg = EnaConfig::new(os_type::LINUX);
    cfg.max_queues = 2;
    cfg.poll_base_us = 100;
    EnaDevice::probe(plat.clone(), bar.clone(), Some(FakeBar::default()), 0, cfg).unwrap()
}

fn small_cfg(dev: &Dev) -> QueueConfig {
    QueueConfig {
        num_queues: 2,
        tx_ring_size: 256,
        rx_ring_size: 256,
        ..dev.queue_config()
    }
}

#[test]
fn probe_logs_and_defaults() {
    let plat = FakePlat::default();
    let bar = FakeBar::with_device(&plat);
    let dev = probe_with(&plat, &bar);
    for line in [
        "ena device version: 0.10",
        "ena controller version: 0.0.1 implementation version 1",
        "Device watchdog is Enabled",
        "Elastic Network Adapter (ENA) found at mem 0, mac addr 02:00:00:00:00:01, Queues 2",
    ] {
        assert!(plat.logged(line), "missing: {line}");
    }
    let q = dev.queue_config();
    assert_eq!(
        (q.num_queues, q.tx_ring_size, q.rx_ring_size, q.mtu),
        (2, 1024, 1024, 1500)
    );
    assert_eq!(dev.info().max_mtu, 9216);
    assert_eq!(dev.info().rss_table_size, 128);
    assert!(dev.negotiated().llq.is_some());
    // Host info, AENQ groups, LLQ, RSS function and input were set.
    let sets: Vec<u8> = bar.dev().sets.iter().map(|s| s.0).collect();
    assert_eq!(sets, [28, 26, 4, 10, 18]);
}

#[test]
fn open_close_order_and_validation() {
    let plat = FakePlat::default();
    let bar = FakeBar::with_device(&plat);
    let mut dev = probe_with(&plat, &bar);
    let cfg = small_cfg(&dev);
    // Invalid configurations are refused before anything happens.
    let bad = QueueConfig {
        tx_ring_size: 300,
        ..cfg
    };
    assert_eq!(
        dev.open(bad),
        Err(Error::InvalidConfig(ConfigError::RingSizeNotPowerOfTwo {
            requested: 300
        }))
    );
    assert!(matches!(
        dev.open(QueueConfig {
            num_queues: 3,
            ..cfg
        }),
        Err(Error::InvalidConfig(_))
    ));
    bar.dev_mut().opcodes.clear();
    dev.open(cfg).unwrap();
    let (cq, sq, set) = (
        AdminOpcode::CreateCq as u8,
        AdminOpcode::CreateSq as u8,
        AdminOpcode::SetFeature as u8,
    );
    assert_eq!(
        bar.dev().opcodes,
        [cq, sq, cq, sq, cq, sq, cq, sq, set, set]
    );
    assert_eq!(bar.dev().mtu, 1500);
    // Reconfigure with a bad MTU: refused, still open.
    let r = dev.reconfigure(QueueConfig { mtu: 10_000, ..cfg }, &mut |_| {});
    assert!(matches!(
        r,
        Err(Error::InvalidConfig(ConfigError::MtuOutOfRange { .. }))
    ));
    assert!(dev.is_open());
    dev.set_mtu(9000).unwrap();
    assert_eq!(bar.dev().mtu, 9000);
    bar.dev_mut().opcodes.clear();
    dev.close(&mut |_| {}).unwrap();
    let (dsq, dcq) = (AdminOpcode::DestroySq as u8, AdminOpcode::DestroyCq as u8);
    assert_eq!(bar.dev().opcodes, [dsq, dcq, dsq, dcq, dsq, dcq, dsq, dcq]);
    let mut names = Vec::new();
    dev.for_each_stat(&mut |n, v| names.push((std::format!("{n}"), v)));
    assert_eq!(names[0].0, "total_resets");
    assert!(names.iter().any(|(n, v)| n == "interface_up" && *v == 1));
    assert!(names.iter().any(|(n, _)| n == "ena_admin_q_completed_cmd"));
    assert!(names.iter().any(|(n, _)| n == "queue_1_rx_cnt"));
}

#[test]
fn keep_alive_loss_resets_and_restores() {
    let plat = FakePlat::default();
    let bar = FakeBar::with_device(&plat);
    let mut dev = probe_with(&plat, &bar);
    dev.open(small_cfg(&dev)).unwrap();
    for _ in 0..3 {
        plat.advance(1_000_000);
        bar.dev_mut()
            .push_aenq(AenqGroup::KeepAlive, 0, &KeepAlivePayload::new(5, 6, 7));
        dev.handle_management_interrupt();
        assert_eq!(dev.health_check(), None);
    }
    assert_eq!(dev.hw_drops(), (5, 6, 7));
    plat.advance(7_000_000);
    assert_eq!(dev.health_check(), Some(ResetReason::KeepAliveTimeout));
    assert!(plat.logged("Keep alive watchdog timeout."));
    assert_eq!(dev.pending_reset(), Some(ResetReason::KeepAliveTimeout));
    dev.reset(ResetReason::KeepAliveTimeout, &mut |_| {})
        .unwrap();
    // First the reason (1 → DEV_CTL 31:28), then the NORMAL re-init reset.
    assert!(plat.logged("Trigger reset is on"));
    assert!(plat.logged("wd_expired: 1"));
    assert!(plat.logged(
        "Device reset completed successfully, Driver info: Elastic Network Adapter (ENA) cloudnic"
    ));
    assert!(dev.is_open());
    assert_eq!(dev.pending_reset(), None);
    assert_eq!(dev.stats().get("total_resets"), 1);
    assert_eq!(dev.health_check(), None);
}

#[test]
fn device_request_reset_uses_extended_reason() {
    let plat = FakePlat::default();
    let bar = FakeBar::with_device(&plat);
    let mut dev = probe_with(&plat, &bar);
    assert!(dev
        .negotiated()
        .caps
        .contains(DeviceCaps::EXTENDED_RESET_REASONS));
    bar.dev_mut()
        .push_aenq(AenqGroup::LinkChange, 0, &LinkChangePayload { flags: 0 });
    bar.dev_mut()
        .push_aenq(AenqGroup::DeviceRequestReset, 0, &[0u8; 0]);
    dev.handle_management_interrupt();
    assert!(!dev.link_up());
    assert_eq!(dev.health_check(), Some(ResetReason::DeviceRequest));
    dev.reset(ResetReason::DeviceRequest, &mut |_| {}).unwrap();
    // Reason 19 = 0x13: 3 in DEV_CTL 31:28, 1 in 27:24; then the NORMAL re-init.
    assert_eq!(bar.dev().reset_log[1..], [0x3100_0001, 0x0000_0001]);
    assert_eq!(dev.stats().get("device_request_reset"), 1);
}

#[test]
fn admin_timeout_detected_and_restore_failure_counted() {
    let plat = FakePlat::default();
    let bar = FakeBar::with_device(&plat);
    let mut dev = probe_with(&plat, &bar);
    bar.dev_mut().drop_admin = 1;
    dev.set_mtu(2000).unwrap();
    dev.open(small_cfg(&dev)).unwrap_err();
    assert_eq!(dev.health_check(), Some(ResetReason::AdminTimeout));
    assert!(plat.logged("ENA admin queue is not in running state!"));
    assert_eq!(dev.stats().get("admin_q_pause"), 1);
    // The device now refuses DEVICE_ATTRIBUTES: restore fails.
    bar.dev_mut().refuse = FeatureId::DeviceAttributes.bit();
    assert!(dev.reset(ResetReason::AdminTimeout, &mut |_| {}).is_err());
    assert_eq!(dev.stats().get("reset_fail"), 1);
    assert!(dev.is_failed());
    assert!(plat.logged("Reset attempt failed. Can not reset the device"));
}
