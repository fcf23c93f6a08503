// SPDX-License-Identifier: GPL-2.0 OR MIT
//! The PCI ID table, built at compile time from the shared crates' constants
//! (`cloudnic_ena::defs::pci::DEVICE_IDS`, `cloudnic_mana::PCI_DEVICE_IDS`), so the module
//! binds exactly the devices the shared drivers claim. modpost turns it into the module's
//! `pci:v00001D0Fd0000EC20sv*sd*bc*sc*i*` ... aliases.

use cloudnic_ena::defs::pci as ena_pci;
use kernel::pci;

/// Which shared driver serves a matched device (the ID table's per-entry data).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum DeviceKind {
    /// AWS Elastic Network Adapter (`cloudnic_ena`).
    Ena,
    /// Azure Network Adapter (`cloudnic_mana`).
    Mana,
}

const ENA_IDS: [(u16, u16); ena_pci::DEVICE_IDS.len()] = ena_pci::DEVICE_IDS;
const MANA_IDS: [u16; cloudnic_mana::PCI_DEVICE_IDS.len()] = cloudnic_mana::PCI_DEVICE_IDS;
/// Entries in the table.
pub(crate) const COUNT: usize = ENA_IDS.len() + MANA_IDS.len();

/// `kernel::pci::Vendor` has no public constructor from a raw id, only named constants:
/// map ours onto them (a vendor without a constant is a compile-time error).
const fn vendor(raw: u16) -> pci::Vendor {
    if raw == pci::Vendor::AMAZON.as_raw() {
        pci::Vendor::AMAZON
    } else if raw == pci::Vendor::MICROSOFT.as_raw() {
        pci::Vendor::MICROSOFT
    } else {
        panic!("PCI vendor id without a kernel::pci::Vendor constant")
    }
}

/// All ENA and MANA (vendor, device) pairs with the driver that serves them.
pub(crate) const fn table() -> [(pci::DeviceId, DeviceKind); COUNT] {
    let mut t = [(
        pci::DeviceId::from_id(pci::Vendor::AMAZON, 0),
        DeviceKind::Ena,
    ); COUNT];
    let mut i = 0;
    while i < ENA_IDS.len() {
        t[i] = (
            pci::DeviceId::from_id(vendor(ENA_IDS[i].0), ENA_IDS[i].1 as u32),
            DeviceKind::Ena,
        );
        i += 1;
    }
    let mut j = 0;
    while j < MANA_IDS.len() {
        let v = vendor(cloudnic_mana::PCI_VENDOR_MICROSOFT);
        t[i + j] = (
            pci::DeviceId::from_id(v, MANA_IDS[j] as u32),
            DeviceKind::Mana,
        );
        j += 1;
    }
    t
}
