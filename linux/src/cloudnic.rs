// SPDX-License-Identifier: GPL-2.0 OR MIT
//! cloudnic: Linux PCI driver for AWS ENA and Azure MANA built on the shared cloudnic crates.
//!
//! This crate is the thin OS shim (design.md "OS shims stay thin"): PCI probe and unbind, BAR
//! mapping, DMA mask, and a `Platform` implementation; the device logic is `cloudnic_ena` /
//! `cloudnic_mana`, linked unmodified into the same `.ko` (see linux/Kbuild, linux/README.md).
//!
//! Scope: an ENA function becomes a network interface (`net`: NAPI per queue pair, ethtool,
//! health timer, reset worker; the C side of the netdev API is `netdev.c` + `helpers.c` (contract `glue.h`), declared in `kapi`).
//! A MANA device is identified and mapped, then declined (its netdev is not wired yet).
//!
//! Resources follow 7.2's driver model: the driver data borrows the bound device (`'bound`)
//! and owns the BAR mappings and DMA memory, so unbind or `rmmod` drops (releases) all of
//! them; `Drop` of the ENA state resets the device first so it stops DMA.

mod ena;
mod ids;
mod kapi;
mod net;
mod platform;

use kernel::device::{Bound, Core};
use kernel::pci;
use kernel::prelude::*;

use ids::DeviceKind;
use platform::LinuxBar;

kernel::pci_device_table!(PCI_TABLE, MODULE_PCI_TABLE, DeviceKind, ids::table());

/// Region name in /proc/iomem.
const REGION_NAME: &CStr = c"cloudnic";
/// ENA addresses 48 bits of DMA (ena.md §1.3: the CAPS register's DMA width is 32..=48;
/// Linux's ena sets the mask from it, 48 on every EC2 instance).
const ENA_DMA_BITS: u32 = 48;
/// MANA is a 64-bit DMA device (mana.md §1).
const MANA_DMA_BITS: u32 = 64;

/// The PCI driver (no state of its own: everything lives in the per-device data).
struct CloudnicDriver;

/// Most queue pairs (ena.md §4.2: the Linux driver caps IO queues at 32).
const MAX_QUEUE_PAIRS: u32 = 32;

/// Per-device state while bound.
struct DeviceData<'bound> {
    pdev: &'bound pci::Device<Bound>,
    pci: kapi::PciHandle,
    net: Pin<KBox<net::EnaNet<'bound>>>,
}

impl pci::Driver for CloudnicDriver {
    type IdInfo = DeviceKind;
    type Data<'bound> = DeviceData<'bound>;
    const ID_TABLE: pci::IdTable<Self::IdInfo> = &PCI_TABLE;

    fn probe<'bound>(
        pdev: &'bound pci::Device<Core<'_>>,
        kind: &'bound DeviceKind,
    ) -> impl PinInit<Self::Data<'bound>, Error> + 'bound {
        dev_info!(
            pdev,
            "probe {:?} {:04x}:{:04x} rev {}\n",
            kind,
            pdev.vendor_id().as_raw(),
            pdev.device_id(),
            pdev.revision_id()
        );
        pdev.enable_device_mem()?;
        pdev.set_master();
        let r = probe_enabled(pdev, kind);
        if r.is_err() {
            // Nothing of ours touches the device any more (everything was dropped).
            kapi::PciHandle::new(pdev).disable();
        }
        r
    }

    fn unbind<'bound>(pdev: &'bound pci::Device<Core<'_>>, _this: Pin<&Self::Data<'bound>>) {
        dev_info!(pdev, "unbind\n");
    }
}

/// Probe after `pci_enable_device_mem` + bus mastering: DMA mask, BAR 0, the device's driver.
fn probe_enabled<'bound>(
    pdev: &'bound pci::Device<Core<'_>>,
    kind: &DeviceKind,
) -> Result<DeviceData<'bound>> {
    let bits = match kind {
        DeviceKind::Ena => ENA_DMA_BITS,
        DeviceKind::Mana => MANA_DMA_BITS,
    };
    platform::set_dma_mask(pdev, bits)?;

    let bar0 = LinuxBar::map(pdev, 0, REGION_NAME)?;
    match kind {
        DeviceKind::Ena => probe_ena(pdev, bar0),
        DeviceKind::Mana => {
            dev_info!(
                pdev,
                "MANA: BAR0 mapped ({} bytes); no shared MANA bring-up yet\n",
                bar0.len()
            );
            Err(ENODEV)
        }
    }
}

fn probe_ena<'bound>(
    pdev: &'bound pci::Device<Core<'_>>,
    bar0: LinuxBar<'bound>,
) -> Result<DeviceData<'bound>> {
    let mem_bar = u32::from(cloudnic_ena::defs::pci::MEM_BAR);
    let bar2 = if pdev.resource_len(mem_bar).unwrap_or(0) > 0 {
        Some(LinuxBar::map(pdev, mem_bar, REGION_NAME)?)
    } else {
        None
    };
    // Vector 0: management (admin + AENQ); vector q + 1: queue pair q (ena.md §8).
    let pci = kapi::PciHandle::new(pdev);
    let want = 1 + kapi::num_online_cpus().clamp(1, MAX_QUEUE_PAIRS);
    let nvec = pci.alloc_vectors(want);
    if nvec < 2 {
        dev_err!(pdev, "Failed to enable MSI-X, vectors {}\n", nvec);
        return Err(if nvec < 0 {
            Error::from_errno(nvec)
        } else {
            ENOSPC
        });
    }
    let nq = u16::try_from(nvec - 1).unwrap_or(1);
    let ena = match ena::probe(pdev, bar0, bar2, nq) {
        Ok(ena) => ena,
        Err(e) => {
            dev_err!(pdev, "ENA bring-up failed: {:?}\n", e);
            pci.free_vectors();
            return Err(to_errno(e));
        }
    };
    let n = ena.negotiated();
    dev_info!(
        pdev,
        "ENA attributes read: max MTU {}, {} queues, TX/RX depth {}/{}, LLQ {}, link {} Mbit/s\n",
        n.attr.max_mtu,
        n.limits.max_queues,
        n.limits.max_tx_depth,
        n.limits.max_rx_depth,
        if n.llq.is_some() { "on" } else { "off" },
        n.link_speed_mbps
    );
    match net::EnaNet::new(ena, pci, nq) {
        Ok(net) => Ok(DeviceData { pdev, pci, net }),
        Err(e) => {
            dev_err!(pdev, "registering the network interface failed: {:?}\n", e);
            pci.free_vectors();
            Err(e)
        }
    }
}

/// The errno a failed shared-driver call reports to the PCI core.
fn to_errno(e: cloudnic_common::Error) -> Error {
    use cloudnic_common::Error as E;
    match e {
        E::NoMemory => ENOMEM,
        E::Timeout => ETIMEDOUT,
        E::Unsupported => ENOTSUPP,
        E::DeviceNotReady | E::IncompatibleDevice => ENODEV,
        _ => EIO,
    }
}

impl Drop for DeviceData<'_> {
    fn drop(&mut self) {
        let m = self
            .net
            .with_device(|d| d.negotiated().attr.mac_addr)
            .unwrap_or_default();
        dev_info!(
            self.pdev,
            "releasing ENA {:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}\n",
            m[0],
            m[1],
            m[2],
            m[3],
            m[4],
            m[5]
        );
        // The interface first (no callback, IRQ or work item runs afterwards; every skb and
        // page is back with the kernel), then the vectors. Then the fields drop: EnaDevice's
        // Drop resets the device (DMA stops), its DMA memory is freed, the BARs are unmapped.
        self.net.as_mut().teardown();
        self.pci.free_vectors();
        // The device was reset in `teardown`: stop it mastering the bus (pci_disable_device;
        // 7.2's Rust PCI API has no wrapper), as Linux's ena does on remove.
        self.pci.disable();
    }
}

kernel::module_pci_driver! {
    type: CloudnicDriver,
    name: "cloudnic",
    authors: ["cloudnic"],
    description: "cloudnic: AWS ENA / Azure MANA driver on shared Rust crates",
    license: "Dual MIT/GPL",
}
