//! Control-path unit tests: registers, readless reads, reset, admin, AENQ,
//! faults. The model is driven with raw register writes (see `test_driver`).

use cloudnic_ena::defs::admin::{
    AdminStatus, BasicStats, DeviceAttributes, FeatureId, GetFeatureCmd, GetStatsCmd,
    HostAttrConfig, HwHints, LlqFeature, MaxQueuesExt, MemAddr, MtuFeature, RssHashFunction,
    RssHashKeyBuffer, RssIndEntry, RssIndTable, SetFeatureCmd, STATS_TYPE_BASIC,
};
use cloudnic_ena::defs::aenq::{
    AenqGroup, KeepAlivePayload, LinkChangePayload, AENQ_ENABLED_GROUPS_MASK,
};
use cloudnic_ena::defs::host_info::{fill_str, HostInfo};
use cloudnic_ena::defs::regs::{offset, DevSts};
use zerocopy::{FromZeros, IntoBytes};

use super::faults::{AdminFilter, EnaFault, FOREVER};
use super::test_driver::RawDriver;
use super::EnaModelConfig;
use crate::GuestMemory;

#[test]
fn readless_read_answers_by_dma_and_direct_reads_work() {
    let mut d = RawDriver::new(EnaModelConfig::default());
    // No response address yet: unanswered.
    assert_eq!(d.readless(offset::VERSION), None);
    d.set_resp_addr();
    assert_eq!(d.readless(offset::VERSION), Some(d.dev.config().version.0));
    assert_eq!(d.readless(offset::CAPS), Some(d.dev.config().caps.0));
    assert_eq!(
        d.readless(offset::DEV_STS).unwrap() & DevSts::READY.bits(),
        DevSts::READY.bits()
    );
    assert_eq!(
        d.r(offset::CONTROLLER_VERSION),
        d.dev.config().controller_version.0
    );
    assert_eq!(d.dev.counters().readless_reads, 3);
    assert_eq!(d.dev.counters().readless_unanswered, 1);
}

#[test]
fn readless_disabled_revision_ignores_requests() {
    let cfg = EnaModelConfig {
        revision: 1,
        ..Default::default()
    };
    let mut d = RawDriver::new(cfg);
    d.set_resp_addr();
    assert_eq!(d.readless(offset::VERSION), None);
    assert_eq!(crate::Device::pci_identity(&d.dev).unwrap().revision & 1, 1);
    assert_eq!(d.r(offset::DEV_STS) & DevSts::READY.bits(), 1);
    d.dev.inject(EnaFault::ReadlessNoResponse { count: 1 });
    assert_eq!(
        d.r(offset::DEV_STS),
        u32::MAX,
        "direct loads fail as all-ones"
    );
    assert_eq!(d.r(offset::DEV_STS), DevSts::READY.bits());
}

#[test]
fn readless_fault_drops_requests() {
    let mut d = RawDriver::new(EnaModelConfig::default());
    d.set_resp_addr();
    d.dev.inject(EnaFault::ReadlessNoResponse { count: 2 });
    assert_eq!(d.readless(offset::DEV_STS), None);
    assert_eq!(d.readless(offset::DEV_STS), None);
    assert!(d.readless(offset::DEV_STS).is_some());
}

#[test]
fn reset_handshake_and_forgetting() {
    let mut d = RawDriver::new(EnaModelConfig::default());
    d.set_resp_addr();
    d.w(
        offset::DEV_CTL,
        cloudnic_ena::defs::regs::dev_ctl_reset(19, true),
    );
    // Reset forgot the response address: nothing answers until it is rewritten.
    assert_eq!(d.readless(offset::DEV_STS), None);
    d.set_resp_addr();
    // Not visible before the assert delay.
    assert_eq!(
        d.readless(offset::DEV_STS).unwrap() & DevSts::RESET_IN_PROGRESS.bits(),
        0
    );
    d.advance(10);
    assert_ne!(
        d.readless(offset::DEV_STS).unwrap() & DevSts::RESET_IN_PROGRESS.bits(),
        0
    );
    d.advance(1000);
    assert_ne!(
        d.r(offset::DEV_STS) & DevSts::RESET_IN_PROGRESS.bits(),
        0,
        "held until DEV_CTL = 0"
    );
    d.w(offset::DEV_CTL, 0);
    d.advance(50);
    assert_ne!(d.r(offset::DEV_STS) & DevSts::RESET_IN_PROGRESS.bits(), 0);
    d.advance(50);
    assert_eq!(d.r(offset::DEV_STS), DevSts::READY.bits());
    assert_eq!(d.dev.reset_reasons(), &[19]);
    // A full handshake through the helper.
    d.reset(0);
    assert_eq!(d.dev.reset_reasons(), &[19, 0]);
}

#[test]
fn get_device_attributes_round_trip() {
    let mut d = RawDriver::bring_up(EnaModelConfig::default());
    let e = d.ok(&GetFeatureCmd::new(FeatureId::DeviceAttributes));
    let a: DeviceAttributes = e.response().unwrap();
    let cfg = d.dev.config().clone();
    assert_eq!(a.mac_addr, cfg.mac);
    assert_eq!(a.max_mtu, 9216);
    assert_eq!(a.supported_features, cfg.supported_features);
    assert_eq!(a.phys_addr_width, 48);
    assert_eq!(e.common.sq_head_indx, 1);
    let q: MaxQueuesExt = d
        .ok(&GetFeatureCmd::new(FeatureId::MaxQueuesExt))
        .response()
        .unwrap();
    assert_eq!(q.version, 1);
    assert_eq!(q.max_rx_sq_num, 8);
    assert_eq!(d.dev.counters().admin(8), 2);
    // Wrap the 32-entry rings twice: phases must follow.
    for _ in 0..70 {
        d.ok(&GetFeatureCmd::new(FeatureId::InterruptModeration));
    }
    assert_eq!(d.dev.counters().admin_phase_errors, 0);
}

#[test]
fn unsupported_features_and_refusal_fault() {
    let mut d = RawDriver::bring_up(EnaModelConfig::default());
    let e = d.submit(&GetFeatureCmd::new(FeatureId::PhcConfig)).unwrap();
    assert_eq!(e.common.status, AdminStatus::UnsupportedOpcode as u8);
    d.dev.inject(EnaFault::FeatureRefused {
        feature: FeatureId::RssHashFunction.id(),
        hide: true,
    });
    let e = d
        .submit(&GetFeatureCmd::new(FeatureId::RssHashFunction))
        .unwrap();
    assert_eq!(e.common.status, AdminStatus::UnsupportedOpcode as u8);
    let a: DeviceAttributes = d
        .ok(&GetFeatureCmd::new(FeatureId::DeviceAttributes))
        .response()
        .unwrap();
    assert_eq!(a.supported_features & FeatureId::RssHashFunction.bit(), 0);
    d.dev.clear_fault(EnaFault::FeatureRefused {
        feature: 0,
        hide: false,
    });
    d.ok(&GetFeatureCmd::new(FeatureId::RssHashFunction));
}

#[test]
fn admin_faults_drop_delay_status() {
    let mut d = RawDriver::bring_up(EnaModelConfig::default());
    d.dev.inject(EnaFault::AdminDrop {
        filter: AdminFilter::feature(8, FeatureId::LinkConfig.id()),
        count: 1,
    });
    assert!(d
        .submit(&GetFeatureCmd::new(FeatureId::LinkConfig))
        .is_none());
    d.ok(&GetFeatureCmd::new(FeatureId::LinkConfig));
    d.dev.inject(EnaFault::AdminDelay {
        filter: AdminFilter::ANY,
        delay_us: 500,
        count: 1,
    });
    assert!(d
        .submit(&GetFeatureCmd::new(FeatureId::LinkConfig))
        .is_none());
    d.advance(499);
    assert!(d.reap().is_none());
    d.advance(1);
    assert_eq!(d.reap().unwrap().common.status, 0);
    d.dev.inject(EnaFault::AdminStatus {
        filter: AdminFilter::opcode(9),
        status: 7,
        count: FOREVER,
    });
    let e = d
        .submit(&SetFeatureCmd::new(
            FeatureId::Mtu,
            &MtuFeature { mtu: 1500 },
        ))
        .unwrap();
    assert_eq!(e.common.status, 7);
    assert_eq!(d.dev.armed_faults().len(), 1);
    d.dev.clear_fault(EnaFault::AdminStatus {
        filter: AdminFilter::ANY,
        status: 0,
        count: 0,
    });
    d.ok(&SetFeatureCmd::new(
        FeatureId::Mtu,
        &MtuFeature { mtu: 9000 },
    ));
    assert_eq!(d.dev.mtu(), 9000);
    let e = d
        .submit(&SetFeatureCmd::new(
            FeatureId::Mtu,
            &MtuFeature { mtu: 9217 },
        ))
        .unwrap();
    assert_eq!(e.common.status, AdminStatus::IllegalParameter as u8);
    assert_eq!(d.dev.counters().admin_dropped, 1);
}

#[test]
fn stale_bytes_past_command_are_ignored() {
    let mut d = RawDriver::bring_up(EnaModelConfig::default());
    let mut e =
        cloudnic_ena::defs::admin::AqEntry::from_command(&GetStatsCmd::new(STATS_TYPE_BASIC));
    e.body[20..].fill(0xAB); // bytes past the 32-byte GET_STATS
    let c = d.submit_entry(&mut e).unwrap();
    assert_eq!(c.common.status, 0);
    let s: BasicStats = c.response().unwrap();
    assert_eq!(s.tx_pkts_low, 0);
}

#[test]
fn host_info_rss_key_and_table() {
    let mut d = RawDriver::bring_up(EnaModelConfig::default());
    let page = d.arena.alloc(4096, 4096).unwrap();
    let mut hi = HostInfo::new_zeroed();
    hi.os_type = 1;
    fill_str(&mut hi.kernel_ver_str, "7.2.13");
    d.arena.write(page, hi.as_bytes()).unwrap();
    let attr = HostAttrConfig {
        os_info_ba: MemAddr::new(page),
        ..Default::default()
    };
    d.ok(&SetFeatureCmd::new(FeatureId::HostAttrConfig, &attr));
    assert_eq!(d.dev.host_info().unwrap().os_type, 1);
    // Key: SET then GET through control buffers.
    let kbuf = d.arena.alloc(48, 8).unwrap();
    let key = [0x11u8; 40];
    d.arena
        .write(
            kbuf,
            RssHashKeyBuffer {
                key_parts: 10,
                reserved: 0,
                key,
            }
            .as_bytes(),
        )
        .unwrap();
    let f = RssHashFunction {
        supported_func: 0,
        selected_func: 1 << 1,
        init_val: 0xFFFF_FFFF,
    };
    d.ok(&SetFeatureCmd::new(FeatureId::RssHashFunction, &f).with_ctrl_buffer(kbuf, 48));
    d.arena.write(kbuf, &[0u8; 48]).unwrap();
    let r: RssHashFunction = d
        .ok(&GetFeatureCmd::new(FeatureId::RssHashFunction).with_ctrl_buffer(kbuf, 48))
        .response()
        .unwrap();
    assert_eq!(r.selected_func, 2);
    let mut back = [0u8; 48];
    d.arena.read(kbuf, &mut back).unwrap();
    assert_eq!(&back[8..], &key);
    // Table of the wrong size is refused; the right size is stored.
    let tbuf = d.arena.alloc(128 * 4, 8).unwrap();
    let entries: Vec<u8> = (0..128u16)
        .flat_map(|i| {
            RssIndEntry {
                cq_idx: i % 4,
                reserved: 0,
            }
            .as_bytes()
            .to_vec()
        })
        .collect();
    d.arena.write(tbuf, &entries).unwrap();
    let bad = RssIndTable {
        size: 8,
        inline_index: u32::MAX,
        ..Default::default()
    };
    let e = d
        .submit(
            &SetFeatureCmd::new(FeatureId::RssIndirectionTableConfig, &bad)
                .with_ctrl_buffer(tbuf, 512),
        )
        .unwrap();
    assert_eq!(e.common.status, AdminStatus::IllegalParameter as u8);
    let good = RssIndTable {
        size: 7,
        inline_index: u32::MAX,
        ..Default::default()
    };
    d.ok(
        &SetFeatureCmd::new(FeatureId::RssIndirectionTableConfig, &good)
            .with_ctrl_buffer(tbuf, 512),
    );
    assert_eq!(d.dev.effective_rss_table()[5], 1);
    // A control buffer outside guest memory is a DMA fault, not a crash.
    let e = d
        .submit(
            &SetFeatureCmd::new(FeatureId::RssIndirectionTableConfig, &good)
                .with_ctrl_buffer(0x10, 512),
        )
        .unwrap();
    assert_eq!(e.common.status, AdminStatus::MalformedRequest as u8);
    assert_eq!(d.dev.counters().dma_faults, 1);
}

#[test]
fn llq_negotiation_validates_single_bits() {
    let mut d = RawDriver::bring_up(EnaModelConfig::default());
    let g: LlqFeature = d
        .ok(&GetFeatureCmd::new(FeatureId::Llq))
        .response()
        .unwrap();
    assert_eq!(g.feature_version, 1);
    assert_eq!(g.entry_size_ctrl_supported, 1 | 4);
    let bad = LlqFeature {
        header_location_ctrl_enabled: 1,
        entry_size_ctrl_enabled: 3,
        desc_num_before_header_enabled: 2,
        descriptors_stride_ctrl_enabled: 2,
        ..Default::default()
    };
    let e = d.submit(&SetFeatureCmd::new(FeatureId::Llq, &bad)).unwrap();
    assert_eq!(e.common.status, AdminStatus::IllegalParameter as u8);
    d.enable_llq();
    let g: LlqFeature = d
        .ok(&GetFeatureCmd::new(FeatureId::Llq))
        .response()
        .unwrap();
    assert_eq!(g.entry_size_ctrl_enabled, 1);
    // Without BAR2 the feature is not offered at all.
    let mut d = RawDriver::bring_up(EnaModelConfig::default().without_llq());
    let e = d.submit(&GetFeatureCmd::new(FeatureId::Llq)).unwrap();
    assert_eq!(e.common.status, AdminStatus::UnsupportedOpcode as u8);
}

#[test]
fn keep_alive_every_second_and_loss_fault() {
    let mut d = RawDriver::bring_up(EnaModelConfig::default());
    d.enable_mgmt_interrupts();
    d.advance(3_000_000);
    assert!(
        d.poll_aenq().is_empty(),
        "keep-alive only once the group is enabled"
    );
    d.enable_aenq(AENQ_ENABLED_GROUPS_MASK);
    assert_eq!(d.dev.aenq_enabled_groups(), 0xDF);
    // Enabling LINK_CHANGE announces the link (tests_upstream.rs).
    let ev = d.poll_aenq();
    assert_eq!(ev.len(), 1);
    assert_eq!(ev[0].common.group, AenqGroup::LinkChange as u16);
    d.advance(999_999);
    assert!(d.poll_aenq().is_empty());
    d.advance(1);
    let ev = d.poll_aenq();
    assert_eq!(ev.len(), 1);
    assert_eq!(ev[0].common.group, AenqGroup::KeepAlive as u16);
    let ka: KeepAlivePayload = ev[0].payload_as().unwrap();
    assert_eq!(ka.rx_drops(), 0);
    assert!(d.irq.take(0), "management vector raised");
    // 40 seconds: AENQ wraps several times.
    for _ in 0..40 {
        d.advance(1_000_000);
        assert_eq!(d.poll_aenq().len(), 1);
    }
    d.dev.inject(EnaFault::KeepAliveLoss);
    d.advance(10_000_000);
    assert!(d.poll_aenq().is_empty());
    d.dev.clear_fault(EnaFault::KeepAliveLoss);
    d.advance(1_000_000);
    assert_eq!(d.poll_aenq().len(), 1);
}

#[test]
fn aenq_waits_for_room_and_masked_interrupts() {
    let mut d = RawDriver::bring_up(EnaModelConfig::default());
    d.enable_aenq(AENQ_ENABLED_GROUPS_MASK);
    // No head doorbell yet: events wait; INTR_MASK = 1: no interrupt.
    d.dev.inject(EnaFault::LinkDown);
    assert!(d.poll_aenq().is_empty());
    assert!(!d.irq.take(0));
    d.enable_mgmt_interrupts();
    assert!(d.irq.take(0), "pending AENQ event signalled on unmask");
    let ev = d.poll_aenq();
    // First the link-up announcement made when the group was enabled.
    assert_eq!(ev.len(), 2);
    assert_eq!(ev[0].common.group, AenqGroup::LinkChange as u16);
    assert_eq!(ev[0].payload_as::<LinkChangePayload>().unwrap().flags, 1);
    let ev = &ev[1..];
    assert_eq!(ev[0].common.group, AenqGroup::LinkChange as u16);
    assert_eq!(ev[0].payload_as::<LinkChangePayload>().unwrap().flags, 0);
    assert!(!d.dev.link_up());
    d.dev.inject(EnaFault::LinkUp);
    d.dev.inject(EnaFault::DeviceRequestReset);
    let ev = d.poll_aenq();
    assert_eq!(
        ev.iter().map(|e| e.common.group).collect::<Vec<_>>(),
        vec![0, 7]
    );
    d.dev.update_hints(HwHints {
        driver_watchdog_timeout: 3000,
        ..Default::default()
    });
    let ev = d.poll_aenq();
    assert_eq!(ev[0].common.group, AenqGroup::Notification as u16);
    assert_eq!(ev[0].hints().unwrap().driver_watchdog_timeout, 3000);
    // Scheduled fault fires at its time.
    d.dev.inject_at(d.clock.now_us() + 100, EnaFault::Fatal);
    assert_eq!(d.r(offset::DEV_STS) & DevSts::FATAL_ERROR.bits(), 0);
    d.advance(100);
    assert_ne!(d.r(offset::DEV_STS) & DevSts::FATAL_ERROR.bits(), 0);
    d.reset(1);
    assert_eq!(
        d.r(offset::DEV_STS),
        DevSts::READY.bits(),
        "reset clears the fatal state"
    );
}

#[test]
fn reset_forgets_admin_queue() {
    let mut d = RawDriver::bring_up(EnaModelConfig::default());
    d.ok(&GetFeatureCmd::new(FeatureId::DeviceAttributes));
    d.reset(0);
    // The old rings are not used any more.
    assert!(d
        .submit(&GetFeatureCmd::new(FeatureId::DeviceAttributes))
        .is_none());
    assert_eq!(d.dev.counters().admin_unconfigured, 1);
    d.admin_init();
    d.ok(&GetFeatureCmd::new(FeatureId::DeviceAttributes));
}
