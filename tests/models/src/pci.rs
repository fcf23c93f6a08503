//! PCI identity of a device model: what its config space would show.

/// Vendor/device/revision and BAR sizes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PciIdentity {
    /// Vendor id.
    pub vendor_id: u16,
    /// Device id.
    pub device_id: u16,
    /// Revision id (ENA: bit 0 set = readless MMIO disabled, ena.md §1.1).
    pub revision: u8,
    /// BAR sizes in bytes, index = BAR number; 0 = absent.
    pub bar_sizes: [u64; 6],
}
