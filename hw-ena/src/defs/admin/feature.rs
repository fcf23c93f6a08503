//! GET/SET_FEATURE payloads (ena.md §3.6 "Feature payloads").
//!
//! Offsets are relative to the payload start: ACQ byte 8 on GET
//! ([`super::AcqEntry::response`]), AQ byte 20 on SET
//! ([`super::SetFeatureCmd::new`]). RSS, PHC/timestamping and flow
//! steering payloads live in the sibling `rss`, `phc` and `flow_steering`
//! modules (all re-exported from `defs::admin`).

use zerocopy_derive::{FromBytes, Immutable, IntoBytes, KnownLayout};

use super::MemAddr;

/// DEVICE_ATTRIBUTES (1) (ena.md §3.6).
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
#[repr(C)]
pub struct DeviceAttributes {
    /// Implementation id.
    pub impl_id: u32,
    /// Device version.
    pub device_version: u32,
    /// Bitmap of supported feature ids (`1 << id`).
    pub supported_features: u32,
    /// [`super::DeviceCaps`] bitmap.
    pub capabilities: u32,
    /// Physical address width in bits.
    pub phys_addr_width: u32,
    /// Virtual address width in bits.
    pub virt_addr_width: u32,
    /// MAC address, network order.
    pub mac_addr: [u8; 6],
    /// Flow-steering table entries.
    pub flow_steering_max_entries: u16,
    /// Largest MTU.
    pub max_mtu: u32,
}
/// ENA spec: device attributes end with max_mtu at +32 (ena.md §3.6).
const _: () = assert!(core::mem::size_of::<DeviceAttributes>() == 36);

/// MAX_QUEUES_NUM (2), legacy queue limits (ena.md §3.6).
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
#[repr(C)]
pub struct MaxQueuesNum {
    /// Max SQs.
    pub max_sq_num: u32,
    /// Max SQ depth.
    pub max_sq_depth: u32,
    /// Max CQs.
    pub max_cq_num: u32,
    /// Max CQ depth.
    pub max_cq_depth: u32,
    /// Max legacy LLQs.
    pub max_legacy_llq_num: u32,
    /// Max legacy LLQ depth.
    pub max_legacy_llq_depth: u32,
    /// Max header size.
    pub max_header_size: u32,
    /// Max TX descriptors per packet (incl. meta).
    pub max_packet_tx_descs: u16,
    /// Max RX descriptors per packet.
    pub max_packet_rx_descs: u16,
}
/// ENA spec: MAX_QUEUES_NUM payload is 32 bytes (ena.md §3.6).
const _: () = assert!(core::mem::size_of::<MaxQueuesNum>() == 32);

/// MAX_QUEUES_EXT payload version the driver requires (ena.md §3.5).
pub const MAX_QUEUES_EXT_VERSION: u8 = 1;

/// MAX_QUEUES_EXT (7), per-direction limits (ena.md §3.6).
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
#[repr(C)]
pub struct MaxQueuesExt {
    /// Payload version (must echo 1).
    pub version: u8,
    /// Reserved.
    pub reserved: [u8; 3],
    /// Max TX SQs.
    pub max_tx_sq_num: u32,
    /// Max TX CQs.
    pub max_tx_cq_num: u32,
    /// Max RX SQs.
    pub max_rx_sq_num: u32,
    /// Max RX CQs.
    pub max_rx_cq_num: u32,
    /// Max TX SQ depth.
    pub max_tx_sq_depth: u32,
    /// Max TX CQ depth.
    pub max_tx_cq_depth: u32,
    /// Max RX SQ depth.
    pub max_rx_sq_depth: u32,
    /// Max RX CQ depth.
    pub max_rx_cq_depth: u32,
    /// Max TX header size.
    pub max_tx_header_size: u32,
    /// Max TX descriptors per packet (incl. meta).
    pub max_per_packet_tx_descs: u16,
    /// Max RX descriptors per packet.
    pub max_per_packet_rx_descs: u16,
}
/// ENA spec: MAX_QUEUES_EXT ends with two u16 at +40 (ena.md §3.6).
const _: () = assert!(core::mem::size_of::<MaxQueuesExt>() == 44);

/// HW_HINTS (3); all values u16, 0 = driver default (ena.md §3.6).
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
#[repr(C)]
pub struct HwHints {
    /// Readless MMIO timeout, ms.
    pub mmio_read_timeout: u16,
    /// Keep-alive timeout, ms (0xFFFF disables).
    pub driver_watchdog_timeout: u16,
    /// Per-packet TX completion timeout, ms (0xFFFF disables).
    pub missing_tx_completion_timeout: u16,
    /// Timed-out TX packets per queue before reset.
    pub missed_tx_completion_count_threshold_to_reset: u16,
    /// Admin completion timeout, ms.
    pub admin_completion_tx_timeout: u16,
    /// OS TX watchdog timeout, ms.
    pub netdev_wd_timeout: u16,
    /// Max TX SGL size.
    pub max_tx_sgl_size: u16,
    /// Max RX SGL size.
    pub max_rx_sgl_size: u16,
    /// Reserved.
    pub reserved: [u16; 8],
}
/// ENA spec: HW hints are 32 bytes (ena.md §3.6).
const _: () = assert!(core::mem::size_of::<HwHints>() == 32);

/// Hint value that disables the keep-alive / missing-TX check (ena.md §3.6).
pub const HW_HINT_DISABLED: u16 = 0xFFFF;

/// LLQ feature version the driver speaks (ena.md §3.5).
pub const LLQ_FEATURE_VERSION_1: u8 = 1;

/// LLQ (4) negotiation payload, GET and SET (ena.md §3.6).
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
#[repr(C)]
pub struct LlqFeature {
    /// Max LLQs.
    pub max_llq_num: u32,
    /// Max LLQ depth.
    pub max_llq_depth: u32,
    /// Header locations supported (`LLQ_HEADER_LOCATION_*` bits).
    pub header_location_ctrl_supported: u16,
    /// Header location chosen.
    pub header_location_ctrl_enabled: u16,
    /// Entry sizes supported (`LLQ_ENTRY_SIZE_*` bits).
    pub entry_size_ctrl_supported: u16,
    /// Entry size chosen.
    pub entry_size_ctrl_enabled: u16,
    /// Descriptors-before-header values supported (`LLQ_DESCS_BEFORE_HEADER_*`).
    pub desc_num_before_header_supported: u16,
    /// Descriptors-before-header chosen.
    pub desc_num_before_header_enabled: u16,
    /// Strides supported (`LLQ_STRIDE_*` bits).
    pub descriptors_stride_ctrl_supported: u16,
    /// Stride chosen.
    pub descriptors_stride_ctrl_enabled: u16,
    /// Feature version of the device's answer.
    pub feature_version: u8,
    /// Entry size the device recommends (`LLQ_ENTRY_SIZE_*`, GET only).
    pub entry_size_recommended: u8,
    /// Max depth with wide (256 B) entries; 0 = n/a.
    pub max_wide_llq_depth: u16,
    /// Accel mode word 0: GET supported flags / SET enabled flags (`LLQ_ACCEL_*`).
    pub accel_flags: u16,
    /// Accel mode word 1: GET max TX burst bytes / SET reserved.
    pub accel_max_tx_burst_size: u16,
    /// Accel mode reserved dword.
    pub accel_reserved: u32,
}
/// ENA spec: LLQ payload ends with the 8-byte accel block at +28 (ena.md §3.6).
const _: () = assert!(core::mem::size_of::<LlqFeature>() == 36);

/// LLQ header location: inline in the entry (ena.md §3.6).
pub const LLQ_HEADER_LOCATION_INLINE: u16 = 1;
/// LLQ header location: separate header ring.
pub const LLQ_HEADER_LOCATION_RING: u16 = 2;
/// LLQ entry size 128 bytes.
pub const LLQ_ENTRY_SIZE_128B: u16 = 1;
/// LLQ entry size 192 bytes.
pub const LLQ_ENTRY_SIZE_192B: u16 = 2;
/// LLQ entry size 256 bytes.
pub const LLQ_ENTRY_SIZE_256B: u16 = 4;
/// LLQ descriptors before header: 0.
pub const LLQ_DESCS_BEFORE_HEADER_0: u16 = 0;
/// LLQ descriptors before header: 1.
pub const LLQ_DESCS_BEFORE_HEADER_1: u16 = 1;
/// LLQ descriptors before header: 2 (driver default).
pub const LLQ_DESCS_BEFORE_HEADER_2: u16 = 2;
/// LLQ descriptors before header: 4.
pub const LLQ_DESCS_BEFORE_HEADER_4: u16 = 4;
/// LLQ descriptors before header: 8.
pub const LLQ_DESCS_BEFORE_HEADER_8: u16 = 8;
/// LLQ stride: one descriptor per entry.
pub const LLQ_STRIDE_SINGLE_DESC_PER_ENTRY: u16 = 1;
/// LLQ stride: several descriptors per entry (driver default).
pub const LLQ_STRIDE_MULTIPLE_DESCS_PER_ENTRY: u16 = 2;
/// LLQ accel flag: device needs a meta descriptor for every packet.
pub const LLQ_ACCEL_DISABLE_META_CACHING: u16 = 1 << 0;
/// LLQ accel flag: TX burst limited per doorbell.
pub const LLQ_ACCEL_LIMIT_TX_BURST: u16 = 1 << 1;

/// Bytes of an LLQ entry-size enum value (0 for unknown values).
pub const fn llq_entry_size_bytes(v: u16) -> u32 {
    match v {
        LLQ_ENTRY_SIZE_128B => 128,
        LLQ_ENTRY_SIZE_192B => 192,
        LLQ_ENTRY_SIZE_256B => 256,
        _ => 0,
    }
}

bitflags::bitflags! {
    /// STATELESS_OFFLOAD TX bits (ena.md §3.6).
    #[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
    pub struct TxOffloadBits: u32 {
        /// IPv4 header checksum.
        const L3_CSUM_IPV4 = 1 << 0;
        /// L4 over IPv4, partial (pseudo-header pre-filled).
        const L4_IPV4_CSUM_PART = 1 << 1;
        /// L4 over IPv4, full.
        const L4_IPV4_CSUM_FULL = 1 << 2;
        /// L4 over IPv6, partial.
        const L4_IPV6_CSUM_PART = 1 << 3;
        /// L4 over IPv6, full.
        const L4_IPV6_CSUM_FULL = 1 << 4;
        /// TSO over IPv4.
        const TSO_IPV4 = 1 << 5;
        /// TSO over IPv6.
        const TSO_IPV6 = 1 << 6;
        /// TSO with ECN.
        const TSO_ECN = 1 << 7;
    }
}

bitflags::bitflags! {
    /// STATELESS_OFFLOAD RX bits (ena.md §3.6).
    #[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
    pub struct RxOffloadBits: u32 {
        /// IPv4 header checksum.
        const L3_CSUM_IPV4 = 1 << 0;
        /// L4 over IPv4 checksum.
        const L4_IPV4_CSUM = 1 << 1;
        /// L4 over IPv6 checksum.
        const L4_IPV6_CSUM = 1 << 2;
        /// RSS hash reported.
        const HASH = 1 << 3;
    }
}

/// STATELESS_OFFLOAD_CONFIG (11) (ena.md §3.6).
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
#[repr(C)]
pub struct StatelessOffload {
    /// [`TxOffloadBits`].
    pub tx: u32,
    /// [`RxOffloadBits`] supported.
    pub rx_supported: u32,
    /// [`RxOffloadBits`] enabled.
    pub rx_enabled: u32,
}
/// ENA spec: offload payload is 3 dwords (ena.md §3.6).
const _: () = assert!(core::mem::size_of::<StatelessOffload>() == 12);

/// MTU (14) payload: MTU excluding the L2 header (ena.md §3.6).
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
#[repr(C)]
pub struct MtuFeature {
    /// MTU in bytes.
    pub mtu: u32,
}
/// ENA spec: MTU payload is one dword (ena.md §3.6).
const _: () = assert!(core::mem::size_of::<MtuFeature>() == 4);

/// INTERRUPT_MODERATION (20) payload (ena.md §3.6).
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
#[repr(C)]
pub struct IntrModeration {
    /// Delay resolution in µs.
    pub intr_delay_resolution: u16,
    /// Reserved.
    pub reserved: u16,
}
/// ENA spec: moderation payload is 4 bytes (ena.md §3.6).
const _: () = assert!(core::mem::size_of::<IntrModeration>() == 4);

/// AENQ_CONFIG (26) payload (ena.md §3.6).
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
#[repr(C)]
pub struct AenqConfig {
    /// Groups the device can report.
    pub supported_groups: u32,
    /// Groups to report.
    pub enabled_groups: u32,
}
/// ENA spec: AENQ config payload is 8 bytes (ena.md §3.6).
const _: () = assert!(core::mem::size_of::<AenqConfig>() == 8);

/// LINK_CONFIG flags bit 0: autonegotiation (ena.md §3.6).
pub const LINK_FLAG_AUTONEG: u32 = 1 << 0;
/// LINK_CONFIG flags bit 1: full duplex.
pub const LINK_FLAG_FULL_DUPLEX: u32 = 1 << 1;

/// Link-speed bitmap values (ena.md §3.6).
pub mod link_speed {
    /// 1 Gbit/s.
    pub const G1: u32 = 0x1;
    /// 2.5 Gbit/s.
    pub const G2_5: u32 = 0x2;
    /// 5 Gbit/s.
    pub const G5: u32 = 0x4;
    /// 10 Gbit/s.
    pub const G10: u32 = 0x8;
    /// 25 Gbit/s.
    pub const G25: u32 = 0x10;
    /// 40 Gbit/s.
    pub const G40: u32 = 0x20;
    /// 50 Gbit/s.
    pub const G50: u32 = 0x40;
    /// 100 Gbit/s.
    pub const G100: u32 = 0x80;
    /// 200 Gbit/s.
    pub const G200: u32 = 0x100;
    /// 400 Gbit/s.
    pub const G400: u32 = 0x200;
}

/// LINK_CONFIG (27) payload (ena.md §3.6).
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
#[repr(C)]
pub struct LinkConfig {
    /// Speed in Mbit/s.
    pub speed: u32,
    /// Supported speeds bitmap.
    pub supported: u32,
    /// `LINK_FLAG_*`.
    pub flags: u32,
}
/// ENA spec: link config payload is 3 dwords (ena.md §3.6).
const _: () = assert!(core::mem::size_of::<LinkConfig>() == 12);

/// HOST_ATTR_CONFIG (28) payload (ena.md §3.6).
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
#[repr(C)]
pub struct HostAttrConfig {
    /// Host-info page (4 KiB, contiguous).
    pub os_info_ba: MemAddr,
    /// Debug area.
    pub debug_ba: MemAddr,
    /// Debug area size.
    pub debug_area_size: u32,
}
/// ENA spec: host attributes payload is 20 bytes (ena.md §3.6).
const _: () = assert!(core::mem::size_of::<HostAttrConfig>() == 20);

/// FRAG_BYPASS (8) payload (ena.md §3.6).
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
#[repr(C)]
pub struct FragBypass {
    /// 1 = enable.
    pub enable: u8,
    /// Reserved.
    pub reserved: [u8; 3],
}
/// ENA spec: frag bypass payload is one byte used of a dword (ena.md §3.6).
const _: () = assert!(core::mem::size_of::<FragBypass>() == 4);

/// EXTRA_PROPERTIES_STRINGS (5) GET payload: number of strings (ena.md §3.5).
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
#[repr(C)]
pub struct ExtraPropertiesStrings {
    /// Strings present (each 32 bytes, at most 32).
    pub count: u32,
}
/// ENA spec: extra-properties count is one dword (ena.md §3.5).
const _: () = assert!(core::mem::size_of::<ExtraPropertiesStrings>() == 4);

/// EXTRA_PROPERTIES_FLAGS (6) GET payload (ena.md §3.5).
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
#[repr(C)]
pub struct ExtraPropertiesFlags {
    /// Flags.
    pub flags: u32,
}
/// ENA spec: extra-properties flags is one dword (ena.md §3.5).
const _: () = assert!(core::mem::size_of::<ExtraPropertiesFlags>() == 4);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::defs::admin::{AcqEntry, AdminStatus};
    use zerocopy::IntoBytes;

    #[test]
    fn device_attributes_offsets() {
        let a = DeviceAttributes {
            mac_addr: [2, 0, 0, 0, 0, 1],
            flow_steering_max_entries: 0x1234,
            max_mtu: 9216,
            ..Default::default()
        };
        let b = a.as_bytes();
        assert_eq!(&b[24..30], &[2, 0, 0, 0, 0, 1]);
        assert_eq!(&b[30..32], &0x1234u16.to_le_bytes());
        assert_eq!(&b[32..36], &9216u32.to_le_bytes());
        let e = AcqEntry::new(0, AdminStatus::Success, true, &a);
        assert_eq!(e.response::<DeviceAttributes>().unwrap(), a);
    }

    #[test]
    fn llq_offsets() {
        let l = LlqFeature {
            feature_version: 1,
            entry_size_recommended: 4,
            max_wide_llq_depth: 512,
            accel_flags: 3,
            accel_max_tx_burst_size: 0x800,
            ..Default::default()
        };
        let b = l.as_bytes();
        assert_eq!((b[24], b[25]), (1, 4));
        assert_eq!(&b[26..28], &512u16.to_le_bytes());
        assert_eq!(&b[28..32], &[3, 0, 0, 8]);
        let ext = MaxQueuesExt {
            version: 1,
            max_per_packet_tx_descs: 19,
            ..Default::default()
        };
        assert_eq!(&ext.as_bytes()[40..42], &19u16.to_le_bytes());
        assert_eq!(llq_entry_size_bytes(LLQ_ENTRY_SIZE_256B), 256);
    }
}
