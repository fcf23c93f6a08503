//! Which device this is and where its BARs are: PCI configuration space
//! (read with `NdisMGetBusData`) and the translated memory resources NDIS
//! hands to MiniportInitializeEx (`CM_PARTIAL_RESOURCE_LIST`).
//!
//! The resource list does not say which BAR a memory range belongs to, so
//! ranges are matched to BAR registers by base address; if translation
//! changed the addresses (no exact match), memory ranges are assigned to
//! the memory BARs in BAR order, which is the order the PCI bus driver
//! reports them in.

use crate::ndis::miniport::{
    CM_PARTIAL_RESOURCE_DESCRIPTOR, CM_RESOURCE_MEMORY_LARGE_40, CM_RESOURCE_MEMORY_LARGE_48,
    CM_RESOURCE_MEMORY_LARGE_64, CM_RESOURCE_TYPE_MEMORY, CM_RESOURCE_TYPE_MEMORY_LARGE,
};

/// Bytes of configuration space the shim reads (the type-0 header).
pub const PCI_CONFIG_HEADER_LEN: usize = 64;
/// Offset of the vendor id.
pub const PCI_VENDOR_ID: usize = 0x00;
/// Offset of the device id.
pub const PCI_DEVICE_ID: usize = 0x02;
/// Offset of the revision id.
pub const PCI_REVISION_ID: usize = 0x08;
/// Offset of BAR 0; six 32-bit BAR registers follow.
pub const PCI_BAR0: usize = 0x10;
/// BAR register bit 0: I/O space.
const BAR_IO_SPACE: u32 = 0x1;
/// BAR register bits 2:1 = 0b10: 64-bit memory BAR (the next register is
/// the upper half).
const BAR_TYPE_MASK: u32 = 0x6;
const BAR_TYPE_64: u32 = 0x4;
/// Low bits of a memory BAR that are flags, not address.
const BAR_MEM_FLAGS: u32 = 0xF;

/// Which cloudnic driver serves a PCI function.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DeviceKind {
    /// AWS ENA (`cloudnic_ena::defs::pci::DEVICE_IDS`).
    Ena,
    /// Azure MANA (`cloudnic_mana::PCI_DEVICE_IDS`).
    Mana,
}

/// The same table the Linux module and cloudnic.inf use.
pub fn device_kind(vendor: u16, device: u16) -> Option<DeviceKind> {
    if cloudnic_ena::defs::pci::is_ena(vendor, device) {
        Some(DeviceKind::Ena)
    } else if vendor == cloudnic_mana::PCI_VENDOR_MICROSOFT
        && cloudnic_mana::PCI_DEVICE_IDS.contains(&device)
    {
        Some(DeviceKind::Mana)
    } else {
        None
    }
}

/// Every (vendor, device) pair cloudnic binds, ENA first (INF order).
pub fn all_device_ids() -> impl Iterator<Item = (u16, u16)> {
    cloudnic_ena::defs::pci::DEVICE_IDS.into_iter().chain(
        cloudnic_mana::PCI_DEVICE_IDS
            .into_iter()
            .map(|d| (cloudnic_mana::PCI_VENDOR_MICROSOFT, d)),
    )
}

/// The parts of the configuration header the shim uses.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PciConfig {
    /// Vendor id.
    pub vendor: u16,
    /// Device id.
    pub device: u16,
    /// Revision id (ENA bit 0: readless MMIO disabled).
    pub revision: u8,
    /// The six BAR registers as read.
    pub bars: [u32; 6],
}

impl PciConfig {
    /// Decode a configuration header; `None` if fewer than 64 bytes were read.
    pub fn parse(raw: &[u8]) -> Option<Self> {
        let raw = raw.get(..PCI_CONFIG_HEADER_LEN)?;
        let u16_at = |o: usize| u16::from_le_bytes([raw[o], raw[o + 1]]);
        let u32_at = |o: usize| u32::from_le_bytes([raw[o], raw[o + 1], raw[o + 2], raw[o + 3]]);
        let mut bars = [0u32; 6];
        for (i, b) in bars.iter_mut().enumerate() {
            *b = u32_at(PCI_BAR0 + 4 * i);
        }
        Some(PciConfig {
            vendor: u16_at(PCI_VENDOR_ID),
            device: u16_at(PCI_DEVICE_ID),
            revision: raw[PCI_REVISION_ID],
            bars,
        })
    }

    /// Bus address of memory BAR `i`, or `None` for I/O, unimplemented or
    /// upper-half registers.
    pub fn memory_bar(&self, i: usize) -> Option<u64> {
        let lo = *self.bars.get(i)?;
        if lo & BAR_IO_SPACE != 0 || self.is_upper_half(i) {
            return None;
        }
        let mut addr = u64::from(lo & !BAR_MEM_FLAGS);
        if lo & BAR_TYPE_MASK == BAR_TYPE_64 {
            addr |= u64::from(*self.bars.get(i + 1)?) << 32;
        }
        (addr != 0).then_some(addr)
    }

    fn is_upper_half(&self, i: usize) -> bool {
        i > 0
            && self.bars[i - 1] & BAR_IO_SPACE == 0
            && self.bars[i - 1] & BAR_TYPE_MASK == BAR_TYPE_64
            && !(i >= 2 && self.is_upper_half(i - 1))
    }
}

/// One translated memory range from the resource list.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MemoryRange {
    /// Start (physical address to map).
    pub start: u64,
    /// Length in bytes.
    pub len: u64,
}

/// The memory range of a resource descriptor, if it is one. Handles the
/// `CmResourceTypeMemoryLarge` length encodings.
pub fn memory_range(d: &CM_PARTIAL_RESOURCE_DESCRIPTOR) -> Option<MemoryRange> {
    let words = d.u;
    let start = u64::from(words[0]) | (u64::from(words[1]) << 32);
    let raw_len = u64::from(words[2]);
    let flags = d.Flags;
    let len = match d.Type {
        CM_RESOURCE_TYPE_MEMORY => raw_len,
        CM_RESOURCE_TYPE_MEMORY_LARGE if flags & CM_RESOURCE_MEMORY_LARGE_40 != 0 => raw_len << 8,
        CM_RESOURCE_TYPE_MEMORY_LARGE if flags & CM_RESOURCE_MEMORY_LARGE_48 != 0 => raw_len << 16,
        CM_RESOURCE_TYPE_MEMORY_LARGE if flags & CM_RESOURCE_MEMORY_LARGE_64 != 0 => raw_len << 32,
        _ => return None,
    };
    Some(MemoryRange { start, len })
}

/// Assign memory ranges to BARs 0..6. Exact base-address matches first;
/// if none match at all, ranges go to the memory BARs in order.
pub fn match_bars(cfg: &PciConfig, ranges: &[MemoryRange]) -> [Option<MemoryRange>; 6] {
    let mut out = [None; 6];
    let mut matched = false;
    for (i, slot) in out.iter_mut().enumerate() {
        if let Some(addr) = cfg.memory_bar(i) {
            if let Some(r) = ranges.iter().find(|r| r.start == addr) {
                *slot = Some(*r);
                matched = true;
            }
        }
    }
    if matched {
        return out;
    }
    let mut it = ranges.iter();
    for (i, slot) in out.iter_mut().enumerate() {
        if cfg.memory_bar(i).is_some() {
            *slot = it.next().copied();
        }
    }
    out
}

/// A BAR length the 32-bit mapping APIs accept.
pub fn mappable_len(r: &MemoryRange) -> Option<u32> {
    u32::try_from(r.len).ok().filter(|&l| l != 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn desc(ty: u8, flags: u16, start: u64, len: u32) -> CM_PARTIAL_RESOURCE_DESCRIPTOR {
        CM_PARTIAL_RESOURCE_DESCRIPTOR {
            Type: ty,
            ShareDisposition: 1,
            Flags: flags,
            u: [start as u32, (start >> 32) as u32, len, 0],
        }
    }

    fn ena_config() -> PciConfig {
        let mut raw = [0u8; 64];
        raw[0..2].copy_from_slice(&0x1D0Fu16.to_le_bytes());
        raw[2..4].copy_from_slice(&0xEC20u16.to_le_bytes());
        raw[8] = 1;
        // BAR0: 32-bit at 0xfebd0000; BAR2: 64-bit prefetchable at 0x8_0000_0000.
        raw[0x10..0x14].copy_from_slice(&0xfebd_0000u32.to_le_bytes());
        raw[0x18..0x1c].copy_from_slice(&0xCu32.to_le_bytes());
        raw[0x1c..0x20].copy_from_slice(&8u32.to_le_bytes());
        PciConfig::parse(&raw).unwrap()
    }

    #[test]
    fn ids_match_the_shared_tables() {
        assert_eq!(device_kind(0x1D0F, 0xEC20), Some(DeviceKind::Ena));
        assert_eq!(device_kind(0x1D0F, 0x0051), Some(DeviceKind::Ena));
        assert_eq!(device_kind(0x1414, 0x00BA), Some(DeviceKind::Mana));
        assert_eq!(device_kind(0x1414, 0x00B9), Some(DeviceKind::Mana));
        assert_eq!(device_kind(0x8086, 0x100E), None);
        assert_eq!(all_device_ids().count(), 7);
    }

    #[test]
    fn config_header_and_bars() {
        let c = ena_config();
        assert_eq!((c.vendor, c.device, c.revision), (0x1D0F, 0xEC20, 1));
        assert_eq!(c.memory_bar(0), Some(0xfebd_0000));
        assert_eq!(c.memory_bar(1), None);
        assert_eq!(c.memory_bar(2), Some(0x8_0000_0000));
        assert_eq!(c.memory_bar(3), None, "upper half of BAR2");
        assert_eq!(PciConfig::parse(&[0u8; 10]), None);
    }

    #[test]
    fn bars_match_by_address_then_by_order() {
        let c = ena_config();
        let bar0 = desc(CM_RESOURCE_TYPE_MEMORY, 0, 0xfebd_0000, 0x4000);
        let bar2 = desc(CM_RESOURCE_TYPE_MEMORY, 0, 0x8_0000_0000, 0x10_0000);
        let irq = CM_PARTIAL_RESOURCE_DESCRIPTOR {
            Type: 2,
            ..Default::default()
        };
        let ranges: [MemoryRange; 2] = [memory_range(&bar2).unwrap(), memory_range(&bar0).unwrap()];
        assert_eq!(memory_range(&irq), None);
        let m = match_bars(&c, &ranges);
        assert_eq!(m[0].unwrap().len, 0x4000);
        assert_eq!(m[2].unwrap().start, 0x8_0000_0000);
        assert!(m[1].is_none() && m[3].is_none());

        // Translated addresses differ: fall back to BAR order.
        let moved = [
            MemoryRange {
                start: 0x1000,
                len: 0x4000,
            },
            MemoryRange {
                start: 0x2000,
                len: 0x1000,
            },
        ];
        let m = match_bars(&c, &moved);
        assert_eq!(m[0].unwrap().start, 0x1000);
        assert_eq!(m[2].unwrap().start, 0x2000);
    }

    #[test]
    fn large_memory_lengths() {
        let d = desc(
            CM_RESOURCE_TYPE_MEMORY_LARGE,
            CM_RESOURCE_MEMORY_LARGE_48,
            0x1_0000_0000,
            2,
        );
        assert_eq!(memory_range(&d).unwrap().len, 0x2_0000);
        let d = desc(
            CM_RESOURCE_TYPE_MEMORY_LARGE,
            CM_RESOURCE_MEMORY_LARGE_64,
            0,
            1,
        );
        assert_eq!(
            mappable_len(&memory_range(&d).unwrap()),
            None,
            "4 GiB does not fit a ULONG length"
        );
    }
}
