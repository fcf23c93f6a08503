//! cloudnic-mana: Azure Network Adapter (MANA, PCI 1414:00ba VF / 00b9 PF).
//!
//! Placeholder until the MANA issue lands: GDMA, the shared-memory channel,
//! the hardware channel, GDMA queues and the MANA Ethernet protocol will live
//! here on top of `cloudnic-common`, like `cloudnic-ena` does for ENA.
#![no_std]
#![forbid(unsafe_code)]

/// PCI vendor id of Microsoft (MANA sheet §1.1).
pub const PCI_VENDOR_MICROSOFT: u16 = 0x1414;
/// MANA PCI device ids: VF 0x00BA, PF 0x00B9 (MANA sheet §1.1).
pub const PCI_DEVICE_IDS: [u16; 2] = [0x00BA, 0x00B9];
