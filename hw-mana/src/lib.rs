//! cloudnic-mana: the Azure Network Adapter (MANA, PCI 1414:00ba VF / 00b9 PF)
//! on the shared cloudnic core.
//!
//! Layers, bottom up (facts in the project's MANA sheet, `mana.md`):
//! * [`defs`] — every wire format (BAR0 registers and doorbells, the shared
//!   memory channel, GDMA/HWC messages, WQE/CQE/EQE, MANA Ethernet commands
//!   and OOBs) as zerocopy structs shared with the device model;
//! * [`bar`], [`smc`] — BAR0 layout validation, doorbells, the SMC mailbox;
//! * [`wq`], [`cq`] — GDMA work queues and owner-counted CQs/EQs;
//! * [`hwc_chan`], [`hwc`] — the hardware channel on the common command
//!   engine, with typed "channel dead" vs "device said no";
//! * [`gdma`] — GDMA requests, DMA regions (ADD_PAGES), EQs;
//! * [`vport`] — MANA Ethernet control commands;
//! * [`tx`], [`rx`], [`qpair`] — the data path of one queue pair;
//! * [`port`], [`device`], [`netdev`] — vPorts, the function
//!   ([`ManaDevice`]), health, the reset cycle and `NetDevice`;
//! * [`config`], [`stats`] — limits/defaults and Linux ethtool names.
#![no_std]
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod bar;
pub mod config;
pub mod cq;
pub mod defs;
pub mod device;
pub mod gdma;
pub mod hwc;
pub mod hwc_chan;
pub mod netdev;
pub mod port;
pub mod qpair;
pub mod rx;
pub mod smc;
pub mod stats;
pub mod tx;
pub mod vport;
pub mod wq;

pub use config::ManaConfig;
pub use device::ManaDevice;
pub use netdev::PortView;

#[cfg(test)]
mod fake;
#[cfg(test)]
mod tests;

/// PCI vendor id of Microsoft (MANA sheet §1.1).
pub const PCI_VENDOR_MICROSOFT: u16 = 0x1414;
/// MANA PCI device ids: VF 0x00BA, PF 0x00B9 (MANA sheet §1.1). The PF2 id
/// 0x00C1 (VF register layout, Debian 7.2.13) is [`defs::regs::PCI_DEVICE_ID_PF2`].
pub const PCI_DEVICE_IDS: [u16; 2] = [0x00BA, 0x00B9];
