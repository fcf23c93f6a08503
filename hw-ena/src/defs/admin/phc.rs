//! PTP hardware clock (PHC_CONFIG, 29) and hardware timestamping
//! (HW_TIMESTAMP, 31) payloads (ena.md §3.6, §6.4).

use zerocopy_derive::{FromBytes, Immutable, IntoBytes, KnownLayout};

use super::MemAddr;

/// PHC_CONFIG (29) payload (ena.md §3.6).
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
#[repr(C)]
pub struct PhcConfig {
    /// PHC version (0).
    pub version: u8,
    /// Reserved.
    pub reserved: [u8; 3],
    /// Doorbell offset in BAR0 (GET).
    pub doorbell_offset: u32,
    /// Expire timeout µs (GET).
    pub expire_timeout_usec: u32,
    /// Block timeout µs (GET).
    pub block_timeout_usec: u32,
    /// Output buffer address (SET).
    pub output_address: MemAddr,
    /// Output buffer length (SET).
    pub output_length: u32,
}
/// ENA spec: PHC payload ends with output_length at +24 (ena.md §3.6).
const _: () = assert!(core::mem::size_of::<PhcConfig>() == 28);

/// PHC error flag: timestamp invalid (ena.md §6.4).
pub const PHC_ERROR_FLAG_TIMESTAMP: u32 = 1 << 0;
/// PHC error flag: error bound invalid.
pub const PHC_ERROR_FLAG_ERROR_BOUND: u32 = 1 << 1;

/// PHC response written by the device (ena.md §6.4).
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
#[repr(C)]
pub struct PhcResp {
    /// Request id (pre-filled with id + 0xDEAD).
    pub req_id: u16,
    /// Reserved.
    pub reserved1: [u8; 6],
    /// Timestamp in ns.
    pub timestamp: u64,
    /// Reserved.
    pub reserved2: [u8; 8],
    /// Error bound in ns.
    pub error_bound: u32,
    /// `PHC_ERROR_FLAG_*`.
    pub error_flags: u32,
    /// Reserved.
    pub reserved3: [u8; 32],
}
/// ENA spec: PHC response is 64 bytes (ena.md §6.4).
const _: () = assert!(core::mem::size_of::<PhcResp>() == 64);

/// HW timestamp mode: none (ena.md §3.6).
pub const HW_TIMESTAMP_NONE: u8 = 0;
/// HW timestamp mode: all packets.
pub const HW_TIMESTAMP_ALL: u8 = 1;

/// HW_TIMESTAMP (31) payload (ena.md §3.6).
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
#[repr(C)]
pub struct HwTimestamp {
    /// Version (1).
    pub version: u8,
    /// TX mode.
    pub tx: u8,
    /// RX mode.
    pub rx: u8,
    /// Reserved.
    pub reserved: u8,
}
/// ENA spec: HW timestamp payload is 3 bytes used of a dword (ena.md §3.6).
const _: () = assert!(core::mem::size_of::<HwTimestamp>() == 4);
