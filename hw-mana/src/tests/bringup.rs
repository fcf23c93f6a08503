//! Probe: BAR0 validation, SMC, HWC init, GDMA bring-up, vPort discovery.

extern crate std;

use core::cell::Cell;
use std::collections::BTreeMap;

use cloudnic_common::nic::NetDevice;
use cloudnic_common::{Error, RegisterBar};

use super::{cfg, probe};
use crate::bar::BarLayout;
use crate::defs::eth::code as mana;
use crate::defs::gdma::code;
use crate::defs::regs::{offset, RegLayout};
use crate::defs::smc::{SmcEstablishHwc, SmcHeader};
use crate::fake::{dev::FAKE_BAR_LEN, setup, FakeDev};
use crate::smc::{Smc, SmcError};
use crate::ManaDevice;

#[test]
fn probe_follows_linux_order() {
    let mut fake = FakeDev::new();
    fake.cfg.vports.push([2, 0, 0, 0, 0, 2]);
    let (plat, bar, sh) = setup(fake);
    let mut c = cfg();
    c.max_ports = 4;
    let mut d = ManaDevice::probe(plat, bar, c).unwrap();
    assert_eq!(d.num_ports(), 2);
    let dev = sh.dev.borrow();
    assert_eq!(dev.smc_log, [1]);
    assert_eq!(
        dev.requests,
        [
            code::GENERATE_TEST_EQE,
            code::VERIFY_VF_DRIVER_VERSION,
            code::LIST_DEVICES,
            code::QUERY_MAX_RESOURCES,
            code::REGISTER_DEVICE,
            mana::QUERY_DEV_CONFIG,
            mana::QUERY_VPORT_CONFIG,
            mana::QUERY_VPORT_CONFIG
        ]
    );
    // GDMA-level requests carry activity 0 (like Linux), MANA ones increasing ids.
    assert!(dev.activities[..5].iter().all(|a| *a == 0));
    assert!(dev.activities[5] != 0 && dev.activities[6] > dev.activities[5]);
    drop(dev);
    assert_eq!(d.info().mac, [0x00, 0x15, 0x5d, 0, 0, 1]);
    assert_eq!(d.info().max_mtu, 9000);
    assert_eq!(d.port_view(1).unwrap().info().mac, [2, 0, 0, 0, 0, 2]);
    assert!(d.port_view(2).is_none());
    assert_eq!(d.info().rss_table_size, 64);
    assert_eq!(d.info().max_queues, 16);
    let mut rel = std::vec::Vec::new();
    d.shutdown(&mut |r| rel.push(r)).unwrap();
    assert!(rel.is_empty());
    let dev = sh.dev.borrow();
    assert!(!dev.registered);
    assert_eq!(dev.smc_log, [1, 2]);
}

#[test]
fn init_done_timeout_fails_probe_and_destroys_hwc() {
    let mut fake = FakeDev::new();
    fake.faults.no_init_done = true;
    let (plat, bar, sh) = setup(fake);
    let mut c = cfg();
    c.gdma.hwc.init_timeout_us = 50_000;
    assert_eq!(ManaDevice::probe(plat, bar, c).err(), Some(Error::Timeout));
    // The device saw the queue pages: DESTROY_HWC before the memory goes.
    assert_eq!(sh.dev.borrow().smc_log, [1, 2]);
    assert!(!sh.dev.borrow().registered);
}

#[test]
fn device_refusal_is_not_a_dead_channel() {
    let mut fake = FakeDev::new();
    fake.faults.status = Some((code::REGISTER_DEVICE, 0x22, 1));
    let (plat, bar, sh) = setup(fake);
    assert_eq!(
        ManaDevice::probe(plat, bar, cfg()).err(),
        Some(Error::DeviceStatus(0x22))
    );
    // The failed probe still tore the HWC down over the SMC.
    assert_eq!(sh.dev.borrow().smc_log, [1, 2]);

    let mut fake = FakeDev::new();
    fake.faults.status = Some((code::VERIFY_VF_DRIVER_VERSION, 0xFFFF_FFFF, 1));
    let (plat, bar, _) = setup(fake);
    assert_eq!(
        ManaDevice::probe(plat, bar, cfg()).err(),
        Some(Error::Unsupported)
    );
}

#[test]
fn bar_offsets_are_validated() {
    let (plat, bar, _) = setup(FakeDev::new());
    let mut c = cfg();
    // Doorbell zone at 0x1000 needs a BAR larger than that.
    c.bar_len = 0x1000;
    assert_eq!(
        ManaDevice::probe(plat.clone(), bar.clone(), c).err(),
        Some(Error::IncompatibleDevice)
    );
    // Register page 1 (0x2000..0x3000) must fit: 0x2800 is too small.
    let l = BarLayout::read(&bar, RegLayout::Vf, 0x2800).unwrap();
    assert!(l.doorbell_page(0).is_ok());
    assert_eq!(l.doorbell_page(1), Err(Error::IncompatibleDevice));
    assert_eq!(l.doorbell_page(u32::MAX), Err(Error::IncompatibleDevice));
    let l = BarLayout::read(&bar, RegLayout::Vf, FAKE_BAR_LEN).unwrap();
    assert_eq!(
        (l.db_page_offset, l.db_page_size, l.smc_offset),
        (0x1000, 0x1000, 40)
    );
}

/// A register file for layouts the fake does not model.
struct Regs {
    map: BTreeMap<u32, u32>,
    owner_forever: bool,
    writes: Cell<u32>,
}

impl RegisterBar for Regs {
    fn read32(&self, o: u32) -> u32 {
        let v = self.map.get(&o).copied().unwrap_or(0);
        if self.owner_forever && o == 0x200 + 28 {
            return v | SmcHeader::OWNER_IS_PF;
        }
        v
    }
    fn write32(&self, _o: u32, _v: u32) {
        self.writes.set(self.writes.get() + 1);
    }
    fn write64_block(&self, _o: u32, _w: &[u64]) {}
}

#[test]
fn pf_layout_reads_the_sriov_indirection() {
    let mut map = BTreeMap::new();
    map.insert(offset::PF_DB_PAGE_SIZE, 0x1000);
    map.insert(offset::PF_DB_PAGE_OFFSET, 0x4000);
    map.insert(offset::PF_SRIOV_BASE, 0x100);
    map.insert(0x100 + offset::PF_SRIOV_SHM_OFFSET, 0x100); // SMC at 0x200
    let regs = Regs {
        map,
        owner_forever: false,
        writes: Cell::new(0),
    };
    let l = BarLayout::read(&regs, RegLayout::Pf, 0x8000).unwrap();
    assert_eq!((l.db_page_offset, l.smc_offset), (0x4000, 0x200));
    // Misaligned SR-IOV base is refused.
    let mut regs = regs;
    regs.map.insert(offset::PF_SRIOV_BASE, 0x104);
    assert_eq!(
        BarLayout::read(&regs, RegLayout::Pf, 0x8000),
        Err(Error::IncompatibleDevice)
    );
    // Doorbell page smaller than 4 KiB is refused.
    regs.map.insert(offset::PF_SRIOV_BASE, 0x100);
    regs.map.insert(offset::PF_DB_PAGE_SIZE, 0x800);
    assert_eq!(
        BarLayout::read(&regs, RegLayout::Pf, 0x8000),
        Err(Error::IncompatibleDevice)
    );
}

#[test]
fn smc_times_out_when_the_device_keeps_the_window() {
    let (plat, _, _) = setup(FakeDev::new());
    let regs = Regs {
        map: BTreeMap::new(),
        owner_forever: true,
        writes: Cell::new(0),
    };
    let mut smc = Smc::new(0x200);
    smc.set_poll(5, 10);
    let msg = SmcEstablishHwc::new(0x1000, 0x2000, 0x3000, 0x4000, 0);
    assert_eq!(
        smc.establish_hwc(&plat, &regs, &msg),
        Err(SmcError::Timeout)
    );
    // Nothing was written while the device owned the window.
    assert_eq!(regs.writes.get(), 0);
}

#[test]
fn probe_twice_on_same_ids_is_independent() {
    let (d, _) = probe(FakeDev::new());
    assert_eq!(d.dev_config().adapter_mtu, 9014);
    assert!(d.gdma().unwrap().hwc.depth() == 1);
}
