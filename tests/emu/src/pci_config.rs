//! PCI configuration space of an emulated function.
//!
//! The `vfio_user` crate has no config-space model: the server answers every
//! config read and write (vfio-user.md §2). QEMU emulates the BAR address
//! registers and the MSI-X table/PBA itself, but reads IDs, class, the
//! capability list and the BAR type bits from here; BAR writes are forwarded
//! too and ignored (write mask 0).
//!
//! Layout (as ENA VFs show in `lspci`, ena.md §1.1): BAR0 32-bit
//! non-prefetchable registers with the MSI-X table at 0x2000 and the PBA at
//! 0x3000, BAR2 64-bit prefetchable device memory, a PCI Express v2 endpoint
//! capability at 0x70 and MSI-X at 0xB0, no INTx pin. The function sits
//! behind a `pcie-root-port` so the guest sees it as PCIe. Where the MSI-X
//! table lives is per device ([`MsixLayout`]): MANA's BAR0 is all registers
//! and doorbell pages, so its table sits in a BAR of its own (BAR4, as the
//! OpenVMM MANA emulator places it, mana.md §1.2).

use cloudnic_models::PciIdentity;

/// Config space size (PCIe: 4 KiB, so QEMU keeps the Express flag).
pub const CONFIG_SIZE: usize = 4096;

/// Where a function's MSI-X table and pending-bit array live.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MsixLayout {
    /// BAR holding both.
    pub bar: u8,
    /// Offset of the table in that BAR.
    pub table: u32,
    /// Offset of the PBA in that BAR.
    pub pba: u32,
}

impl MsixLayout {
    /// ENA: in BAR0 at 0x2000 (table) and 0x3000 (PBA), beside the registers.
    pub const ENA: MsixLayout = MsixLayout {
        bar: 0,
        table: 0x2000,
        pba: 0x3000,
    };
    /// MANA: a BAR of its own (BAR4), table at 0, PBA at 0x2000.
    pub const MANA: MsixLayout = MsixLayout {
        bar: 4,
        table: 0,
        pba: 0x2000,
    };
    /// Size of the MANA MSI-X BAR (table of up to 512 vectors + PBA page).
    pub const MANA_BAR_SIZE: u64 = 0x4000;

    /// True for an access to the PBA (QEMU forwards PBA reads and writes).
    pub fn is_pba(&self, bar: u8, offset: u64) -> bool {
        bar == self.bar && (u64::from(self.pba)..u64::from(self.pba) + 0x1000).contains(&offset)
    }
}

const VENDOR_ID: usize = 0x00;
const DEVICE_ID: usize = 0x02;
const COMMAND: usize = 0x04;
const STATUS: usize = 0x06;
const STATUS_CAP_LIST: u16 = 1 << 4;
const REVISION: usize = 0x08;
const CLASS_PROG_IF: usize = 0x09;
const CLASS_SUB: usize = 0x0A;
const CLASS_BASE: usize = 0x0B;
const CLASS_NETWORK: u8 = 0x02;
const SUBCLASS_ETHERNET: u8 = 0x00;
const HEADER_TYPE: usize = 0x0E;
const BAR_BASE: usize = 0x10;
const BAR_MEM_64: u32 = 0b100;
const BAR_MEM_PREFETCH: u32 = 0b1000;
const SUBSYS_VENDOR: usize = 0x2C;
const SUBSYS_ID: usize = 0x2E;
const CAP_PTR: usize = 0x34;
const INTERRUPT_PIN: usize = 0x3D;

const CAP_ID_PCIE: u8 = 0x10;
const CAP_ID_MSIX: u8 = 0x11;
/// PCI Express capability offset.
const PCIE_CAP: usize = 0x70;
/// MSI-X capability offset.
const MSIX_CAP: usize = 0xB0;
/// PCIe capabilities register: version 2, device/port type 0 (endpoint).
const PCIE_FLAGS_V2_ENDPOINT: u16 = 0x0002;
/// Device capabilities: max payload 256 B (code 1) and role-based error
/// reporting (bit 15; without it Linux treats the function as pre-1.1 PCIe
/// and disables ASPM with a log line).
const PCIE_DEVCAP_MPS_256_RBER: u32 = 0x1 | (1 << 15);
/// Link: 8 GT/s (code 3), width x1 (bits 9:4 = 1).
const PCIE_LINK_8GT_X1: u16 = 0x3 | (1 << 4);
/// MSI-X message control: enable (bit 15) and function mask (bit 14).
const MSIX_CTRL_WRITABLE_HI: u8 = 0xC0;

/// A config space: bytes plus a per-byte write mask.
#[derive(Clone)]
pub struct ConfigSpace {
    bytes: Box<[u8; CONFIG_SIZE]>,
    wmask: Box<[u8; CONFIG_SIZE]>,
}

impl ConfigSpace {
    /// The config space of a network function with `id`'s identity, BAR
    /// sizes (BAR2 64-bit prefetchable when present) and `msix_vectors`.
    pub fn network_function(id: &PciIdentity, msix_vectors: u16, msix: MsixLayout) -> Self {
        let mut c = ConfigSpace {
            bytes: Box::new([0; CONFIG_SIZE]),
            wmask: Box::new([0; CONFIG_SIZE]),
        };
        c.put16(VENDOR_ID, id.vendor_id);
        c.put16(DEVICE_ID, id.device_id);
        c.put16(STATUS, STATUS_CAP_LIST);
        c.bytes[REVISION] = id.revision;
        c.bytes[CLASS_PROG_IF] = 0;
        c.bytes[CLASS_SUB] = SUBCLASS_ETHERNET;
        c.bytes[CLASS_BASE] = CLASS_NETWORK;
        c.bytes[HEADER_TYPE] = 0;
        // BAR0: 32-bit memory, non-prefetchable (type bits 0). BAR2: 64-bit
        // prefetchable, spanning BAR2+BAR3.
        if id.bar_sizes[2] != 0 {
            c.put32(BAR_BASE + 2 * 4, BAR_MEM_64 | BAR_MEM_PREFETCH);
        }
        c.put16(SUBSYS_VENDOR, id.vendor_id);
        c.put16(SUBSYS_ID, id.device_id);
        c.bytes[CAP_PTR] = PCIE_CAP as u8;
        c.bytes[INTERRUPT_PIN] = 0; // MSI-X only
                                    // PCI Express capability, chained to MSI-X.
        c.bytes[PCIE_CAP] = CAP_ID_PCIE;
        c.bytes[PCIE_CAP + 1] = MSIX_CAP as u8;
        c.put16(PCIE_CAP + 2, PCIE_FLAGS_V2_ENDPOINT);
        c.put32(PCIE_CAP + 4, PCIE_DEVCAP_MPS_256_RBER);
        c.put32(PCIE_CAP + 0xC, u32::from(PCIE_LINK_8GT_X1));
        c.put16(PCIE_CAP + 0x12, PCIE_LINK_8GT_X1);
        // Device control (+8) and link control (+0x10) are writable.
        c.wmask[PCIE_CAP + 8] = 0xFF;
        c.wmask[PCIE_CAP + 9] = 0x7F;
        c.wmask[PCIE_CAP + 0x10] = 0xFF;
        c.wmask[PCIE_CAP + 0x11] = 0x0F;
        // MSI-X capability, last in the list.
        c.bytes[MSIX_CAP] = CAP_ID_MSIX;
        c.bytes[MSIX_CAP + 1] = 0;
        c.put16(MSIX_CAP + 2, msix_vectors.saturating_sub(1) & 0x7FF);
        c.put32(MSIX_CAP + 4, msix.table | u32::from(msix.bar));
        c.put32(MSIX_CAP + 8, msix.pba | u32::from(msix.bar));
        c.wmask[MSIX_CAP + 3] = MSIX_CTRL_WRITABLE_HI;
        // Command: I/O, memory, bus master, ..., INTx disable.
        c.wmask[COMMAND] = 0xFF;
        c.wmask[COMMAND + 1] = 0x07;
        c
    }

    fn put16(&mut self, off: usize, v: u16) {
        self.bytes[off..off + 2].copy_from_slice(&v.to_le_bytes());
    }
    fn put32(&mut self, off: usize, v: u32) {
        self.bytes[off..off + 4].copy_from_slice(&v.to_le_bytes());
    }

    /// Config read; bytes past the end read as 0.
    pub fn read(&self, offset: u64, data: &mut [u8]) {
        for (i, d) in data.iter_mut().enumerate() {
            *d = usize::try_from(offset)
                .ok()
                .and_then(|o| self.bytes.get(o.checked_add(i)?))
                .copied()
                .unwrap_or(0);
        }
    }

    /// Config write through the write mask.
    pub fn write(&mut self, offset: u64, data: &[u8]) {
        for (i, d) in data.iter().enumerate() {
            let Some(o) = usize::try_from(offset).ok().and_then(|o| o.checked_add(i)) else {
                continue;
            };
            if let (Some(b), Some(m)) = (self.bytes.get(o).copied(), self.wmask.get(o).copied()) {
                self.bytes[o] = (b & !m) | (d & m);
            }
        }
    }

    /// Bus mastering enabled (command bit 2): DMA allowed.
    pub fn bus_master(&self) -> bool {
        self.bytes[COMMAND] & 0b100 != 0
    }

    /// Back to power-on values of the writable bits.
    pub fn reset(&mut self) {
        for o in 0..CONFIG_SIZE {
            if self.wmask[o] != 0 {
                self.bytes[o] &= !self.wmask[o];
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ena_like() -> ConfigSpace {
        let id = PciIdentity {
            vendor_id: 0x1d0f,
            device_id: 0xec20,
            revision: 0,
            bar_sizes: [16384, 0, 1 << 20, 0, 0, 0],
        };
        ConfigSpace::network_function(&id, 9, MsixLayout::ENA)
    }

    fn rd32(c: &ConfigSpace, off: u64) -> u32 {
        let mut b = [0u8; 4];
        c.read(off, &mut b);
        u32::from_le_bytes(b)
    }

    #[test]
    fn ids_class_and_capability_chain() {
        let c = ena_like();
        assert_eq!(rd32(&c, 0), 0xec20_1d0f);
        assert_eq!(rd32(&c, 8) >> 8, 0x020000, "class: Ethernet controller");
        assert_eq!(rd32(&c, 0x18) & 0xF, 0xC, "BAR2: 64-bit prefetchable");
        let mut off = rd32(&c, 0x34) as u8 as u64;
        let mut ids = Vec::new();
        while off != 0 {
            let w = rd32(&c, off);
            ids.push((off, w as u8));
            off = u64::from((w >> 8) as u8);
        }
        assert_eq!(ids, vec![(0x70, CAP_ID_PCIE), (0xB0, CAP_ID_MSIX)]);
        assert_eq!((rd32(&c, 0xB0) >> 16) & 0x7FF, 8, "9 vectors");
        assert_eq!(rd32(&c, 0xB4), 0x2000);
        assert_eq!(rd32(&c, 0xB8), 0x3000);
    }

    #[test]
    fn writes_go_through_the_mask() {
        let mut c = ena_like();
        c.write(0x00, &[0xFF; 4]);
        assert_eq!(rd32(&c, 0), 0xec20_1d0f, "IDs are read-only");
        c.write(0x04, &[0x06, 0x04]);
        assert!(c.bus_master());
        c.write(0xB3, &[0xFF]);
        assert_eq!(rd32(&c, 0xB0) >> 24, 0xC0);
        c.write(0x18, &[0xFF; 4]);
        assert_eq!(rd32(&c, 0x18), 0xC, "BAR writes are QEMU's");
        c.reset();
        assert!(!c.bus_master());
    }

    #[test]
    fn mana_keeps_msix_out_of_bar0() {
        let id = PciIdentity {
            vendor_id: 0x1414,
            device_id: 0x00ba,
            revision: 0,
            bar_sizes: [32768, 0, 0, 0, MsixLayout::MANA_BAR_SIZE, 0],
        };
        let c = ConfigSpace::network_function(&id, 65, MsixLayout::MANA);
        assert_eq!(rd32(&c, 0), 0x00ba_1414);
        assert_eq!((rd32(&c, 0xB0) >> 16) & 0x7FF, 64, "65 vectors");
        assert_eq!(rd32(&c, 0xB4), 4, "table: BAR4 offset 0");
        assert_eq!(rd32(&c, 0xB8), 0x2000 | 4, "PBA: BAR4 offset 0x2000");
        assert!(MsixLayout::MANA.is_pba(4, 0x2008));
        assert!(
            !MsixLayout::MANA.is_pba(0, 0x2008),
            "BAR0 0x2000 is a doorbell page"
        );
    }
}
