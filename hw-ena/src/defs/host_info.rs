//! Host-info page sent with SET_FEATURE HOST_ATTR_CONFIG (ena.md §3.7).
//!
//! The page is 4 KiB of DMA-coherent memory; [`HostInfo`] occupies its start
//! and the rest stays zero.

use zerocopy_derive::{FromBytes, Immutable, IntoBytes, KnownLayout};

/// Size of the host-info page (ena.md §3.7).
pub const HOST_INFO_PAGE_SIZE: usize = 4096;

/// OS type codes (ena.md §3.7).
pub mod os_type {
    /// Linux.
    pub const LINUX: u32 = 1;
    /// Windows.
    pub const WINDOWS: u32 = 2;
    /// DPDK.
    pub const DPDK: u32 = 3;
    /// FreeBSD.
    pub const FREEBSD: u32 = 4;
    /// iPXE.
    pub const IPXE: u32 = 5;
    /// ESXi.
    pub const ESXI: u32 = 6;
}

/// ENA spec version the driver implements, `major << 8 | minor` = 2.0 (ena.md §3.7).
pub const ENA_SPEC_VERSION: u16 = 0x0200;

/// Driver version word: 7:0 major, 15:8 minor, 23:16 subminor, 31:24 module
/// type (ena.md §3.7; Linux 2.17.0 'g' → 0x67001102).
pub const fn driver_version(major: u8, minor: u8, subminor: u8, module_type: u8) -> u32 {
    ((module_type as u32) << 24) | ((subminor as u32) << 16) | ((minor as u32) << 8) | major as u32
}

/// BDF word: 2:0 function, 7:3 device, 15:8 bus (ena.md §3.7).
pub const fn bdf(bus: u8, device: u8, function: u8) -> u16 {
    ((bus as u16) << 8) | (((device as u16) & 0x1F) << 3) | ((function as u16) & 0x7)
}

bitflags::bitflags! {
    /// Driver-supported features word (ena.md §3.7).
    #[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
    pub struct DriverFeatures: u32 {
        /// RX completions may carry a packet offset.
        const RX_OFFSET = 1 << 1;
        /// Interrupt moderation.
        const INTERRUPT_MODERATION = 1 << 2;
        /// RX buffer mirroring.
        const RX_BUF_MIRRORING = 1 << 3;
        /// RSS function / key configurable.
        const RSS_CONFIGURABLE_FUNCTION_KEY = 1 << 4;
        /// RX page reuse.
        const RX_PAGE_REUSE = 1 << 6;
        /// TX IPv6 checksum offload.
        const TX_IPV6_CSUM_OFFLOAD = 1 << 7;
        /// PTP hardware clock.
        const PHC = 1 << 8;
        /// Extended debug area.
        const EXTENDED_DEBUG_AREA = 1 << 9;
    }
}

/// Host-info structure at the start of the page (ena.md §3.7).
#[derive(Clone, Copy, Debug, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout)]
#[repr(C)]
pub struct HostInfo {
    /// [`os_type`] code.
    pub os_type: u32,
    /// OS distribution string (NUL padded).
    pub os_dist_str: [u8; 128],
    /// OS distribution, numeric.
    pub os_dist: u32,
    /// Kernel version string (NUL padded).
    pub kernel_ver_str: [u8; 32],
    /// Kernel version, numeric.
    pub kernel_ver: u32,
    /// [`driver_version`] word.
    pub driver_version: u32,
    /// OS network feature bitmap (low, high).
    pub supported_network_features: [u32; 2],
    /// [`ENA_SPEC_VERSION`].
    pub ena_spec_version: u16,
    /// [`bdf`] word.
    pub bdf: u16,
    /// Online CPUs.
    pub num_cpus: u16,
    /// Reserved.
    pub reserved: u16,
    /// [`DriverFeatures`] word.
    pub driver_supported_features: u32,
}
/// ENA spec: host info ends with the driver-features word at byte 192 (ena.md §3.7).
const _: () = assert!(core::mem::size_of::<HostInfo>() == 196);

impl HostInfo {
    /// Byte offset of `driver_supported_features` (ena.md §3.7).
    pub const DRIVER_FEATURES_OFFSET: usize = 192;
    /// Byte offset of the OS network feature bitmap.
    pub const NETWORK_FEATURES_OFFSET: usize = 176;

    /// An all-zero host info.
    pub fn zeroed() -> Self {
        HostInfo {
            os_type: 0,
            os_dist_str: [0; 128],
            os_dist: 0,
            kernel_ver_str: [0; 32],
            kernel_ver: 0,
            driver_version: 0,
            supported_network_features: [0; 2],
            ena_spec_version: 0,
            bdf: 0,
            num_cpus: 0,
            reserved: 0,
            driver_supported_features: 0,
        }
    }
}

/// Copy `s` into a NUL-padded fixed field, truncating (keeps a final NUL).
pub fn fill_str(dst: &mut [u8], s: &str) {
    dst.fill(0);
    let n = s.len().min(dst.len().saturating_sub(1));
    dst[..n].copy_from_slice(&s.as_bytes()[..n]);
}

/// Name stamped at the start of the debug area (ena.md §3.7).
pub const DEBUG_AREA_NAME: &str = "debug-area-header";

/// Debug-area header (ena.md §3.7).
#[derive(Clone, Copy, Debug, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout)]
#[repr(C)]
pub struct DebugAreaHeader {
    /// "debug-area-header", NUL padded.
    pub name: [u8; 32],
    /// Length of the area.
    pub length: u32,
    /// Version.
    pub version: u32,
    /// OS type.
    pub os: u8,
    /// Reserved.
    pub reserved: [u8; 3],
}
/// ENA spec: debug header is 32 B name + u32 + u32 + u8 + 3 reserved (ena.md §3.7).
const _: () = assert!(core::mem::size_of::<DebugAreaHeader>() == 44);

#[cfg(test)]
mod tests {
    use super::*;
    use zerocopy::IntoBytes;

    #[test]
    fn layout() {
        assert_eq!(driver_version(2, 17, 0, b'g'), 0x6700_1102);
        assert_eq!(bdf(0, 7, 0), 0x38);
        let mut h = HostInfo::zeroed();
        h.os_type = os_type::LINUX;
        h.driver_version = 0x6700_1102;
        h.ena_spec_version = ENA_SPEC_VERSION;
        h.driver_supported_features = DriverFeatures::RX_OFFSET.bits();
        fill_str(&mut h.kernel_ver_str, "7.2.0");
        let b = h.as_bytes();
        assert_eq!(&b[0..4], &1u32.to_le_bytes());
        assert_eq!(&b[136..141], b"7.2.0");
        assert_eq!(&b[172..176], &0x6700_1102u32.to_le_bytes());
        assert_eq!(&b[184..186], &0x0200u16.to_le_bytes());
        assert_eq!(&b[192..196], &2u32.to_le_bytes());
    }
}
