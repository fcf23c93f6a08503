//! PCI identity and BAR layout (ena.md §1.1, §8).

/// Amazon's PCI vendor id (ena.md §8).
pub const VENDOR_ID_AMAZON: u16 = 0x1D0F;
/// ENA physical function (ena.md §8).
pub const DEVICE_ID_ENA_PF: u16 = 0x0EC2;
/// ENA LLQ physical function (FreeBSD: PF_RSERV0).
pub const DEVICE_ID_ENA_LLQ_PF: u16 = 0x1EC2;
/// ENA virtual function, the common EC2 device.
pub const DEVICE_ID_ENA_VF: u16 = 0xEC20;
/// ENA LLQ virtual function (FreeBSD: VF_RSERV0).
pub const DEVICE_ID_ENA_LLQ_VF: u16 = 0xEC21;
/// Reserved id present only in the Linux table (RESRV0); matched for parity
/// with Linux, behaviour undocumented (ena.md §8).
pub const DEVICE_ID_ENA_RESRV0: u16 = 0x0051;

/// Every (vendor, device) pair the driver binds to.
pub const DEVICE_IDS: [(u16, u16); 5] = [
    (VENDOR_ID_AMAZON, DEVICE_ID_ENA_PF),
    (VENDOR_ID_AMAZON, DEVICE_ID_ENA_LLQ_PF),
    (VENDOR_ID_AMAZON, DEVICE_ID_ENA_VF),
    (VENDOR_ID_AMAZON, DEVICE_ID_ENA_LLQ_VF),
    (VENDOR_ID_AMAZON, DEVICE_ID_ENA_RESRV0),
];

/// True if the driver serves this device.
pub fn is_ena(vendor: u16, device: u16) -> bool {
    DEVICE_IDS.iter().any(|&(v, d)| v == vendor && d == device)
}

/// Register BAR (non-prefetchable, uncached) (ena.md §1.1).
pub const REGISTER_BAR: u8 = 0;
/// LLQ / device-memory BAR (prefetchable, write-combining) (ena.md §1.1).
pub const MEM_BAR: u8 = 2;
/// BAR mask used at probe: bits 0 and 2.
pub const BAR_MASK: u32 = (1 << REGISTER_BAR) | (1 << MEM_BAR);

/// PCI revision id bit 0: readless MMIO disabled, read registers directly
/// (ena.md §1.1, §2).
pub const REVISION_READLESS_DISABLED: u8 = 1 << 0;

/// True if the PCI revision disables readless MMIO reads.
pub const fn readless_disabled(revision: u8) -> bool {
    revision & REVISION_READLESS_DISABLED != 0
}

/// Management interrupt (ACQ + AENQ) MSI-X vector (ena.md §5.1).
pub const MGMNT_MSIX_VECTOR: u16 = 0;

/// MSI-X vector of IO queue pair `q` (ena.md §5.1: q + 1).
pub const fn io_msix_vector(q: u16) -> u32 {
    q as u32 + 1
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids() {
        assert!(is_ena(0x1D0F, 0xEC20));
        assert!(is_ena(0x1D0F, 0x0051));
        assert!(!is_ena(0x1414, 0xEC20));
        assert!(readless_disabled(1));
        assert!(!readless_disabled(0));
        assert_eq!(BAR_MASK, 0b101);
        assert_eq!(io_msix_vector(0), 1);
    }
}
