//! RSS feature payloads and control buffers: hash function + key (10),
//! indirection table (12), hash input fields (18) (ena.md §3.6, §6.7).

use zerocopy_derive::{FromBytes, Immutable, IntoBytes, KnownLayout};

/// Hash function id: Toeplitz (ena.md §3.6); selected as `1 << id`.
pub const RSS_HASH_FUNCTION_TOEPLITZ: u32 = 1;
/// Hash function id: CRC32.
pub const RSS_HASH_FUNCTION_CRC32: u32 = 2;
/// Mask of the function bitmaps (bits 7:0).
pub const RSS_HASH_FUNCTION_MASK: u32 = 0xFF;
/// Default Toeplitz init value (ena.md §6.7).
pub const RSS_HASH_INIT_VALUE: u32 = 0xFFFF_FFFF;
/// RSS key size in dwords (ena.md §3.6).
pub const RSS_KEY_PARTS: u32 = 10;
/// RSS key size in bytes.
pub const RSS_KEY_SIZE: usize = 40;

/// RSS_HASH_FUNCTION (10) payload (ena.md §3.6).
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
#[repr(C)]
pub struct RssHashFunction {
    /// Supported functions bitmap (`1 << id`).
    pub supported_func: u32,
    /// Selected function bitmap (`1 << id`).
    pub selected_func: u32,
    /// Initial value.
    pub init_val: u32,
}
/// ENA spec: hash function payload is 3 dwords (ena.md §3.6).
const _: () = assert!(core::mem::size_of::<RssHashFunction>() == 12);

/// RSS_HASH_FUNCTION control buffer: the key (ena.md §3.6).
#[derive(Clone, Copy, Debug, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout)]
#[repr(C)]
pub struct RssHashKeyBuffer {
    /// Key length in dwords (10).
    pub key_parts: u32,
    /// Reserved.
    pub reserved: u32,
    /// Key bytes.
    pub key: [u8; RSS_KEY_SIZE],
}
/// ENA spec: hash key control buffer is 48 bytes (ena.md §3.6).
const _: () = assert!(core::mem::size_of::<RssHashKeyBuffer>() == 48);

/// Inline index meaning "no single-entry update" (ena.md §3.6).
pub const RSS_IND_INLINE_INDEX_NONE: u32 = 0xFFFF_FFFF;
/// RSS_INDIRECTION_TABLE flags bit 0: single-entry update supported.
pub const RSS_IND_FLAG_ONE_ENTRY_UPDATE: u8 = 1 << 0;
/// Largest table the driver uses: 2^16 entries (ena.md §6.7).
pub const RSS_IND_MAX_LOG_SIZE: u16 = 16;
/// Feature version the device answers GET RSS_INDIRECTION_TABLE with.
pub const RSS_IND_TABLE_GET_VERSION: u8 = 1;

/// One indirection-table entry (ena.md §3.6).
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
#[repr(C)]
pub struct RssIndEntry {
    /// Device CQ index.
    pub cq_idx: u16,
    /// Reserved.
    pub reserved: u16,
}
/// ENA spec: table entries are 4 bytes (ena.md §3.6).
const _: () = assert!(core::mem::size_of::<RssIndEntry>() == 4);

/// RSS_INDIRECTION_TABLE_CONFIG (12) payload; the table is the control buffer.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
#[repr(C)]
pub struct RssIndTable {
    /// log2 of the smallest table.
    pub min_size: u16,
    /// log2 of the largest table.
    pub max_size: u16,
    /// log2 of this table.
    pub size: u16,
    /// Bit 0: single-entry update supported.
    pub flags: u8,
    /// Reserved.
    pub reserved: u8,
    /// Inline entry index (0xFFFFFFFF = none).
    pub inline_index: u32,
    /// Inline entry.
    pub inline_entry: RssIndEntry,
}
/// ENA spec: indirection header is 16 bytes (ena.md §3.6).
const _: () = assert!(core::mem::size_of::<RssIndTable>() == 16);

/// RSS protocol slots of the hash-input buffer (ena.md §3.6).
pub mod rss_proto {
    /// TCP over IPv4.
    pub const TCP4: usize = 0;
    /// UDP over IPv4.
    pub const UDP4: usize = 1;
    /// TCP over IPv6.
    pub const TCP6: usize = 2;
    /// UDP over IPv6.
    pub const UDP6: usize = 3;
    /// Other IPv4.
    pub const IP4: usize = 4;
    /// Other IPv6.
    pub const IP6: usize = 5;
    /// IPv4 fragment.
    pub const IP4_FRAG: usize = 6;
    /// Not IP.
    pub const NOT_IP: usize = 7;
    /// TCP over IPv6 with extension headers.
    pub const TCP6_EX: usize = 8;
    /// IPv6 with extension headers.
    pub const IP6_EX: usize = 9;
    /// Slots in the buffer.
    pub const NUM: usize = 16;
}

bitflags::bitflags! {
    /// RSS hash input fields (ena.md §3.6; current values, not the 2016 ones).
    #[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
    pub struct RssFields: u16 {
        /// Ethernet destination.
        const L2_DA = 1 << 0;
        /// Ethernet source.
        const L2_SA = 1 << 1;
        /// IP destination.
        const L3_DA = 1 << 2;
        /// IP source.
        const L3_SA = 1 << 3;
        /// L4 destination port.
        const L4_DP = 1 << 4;
        /// L4 source port.
        const L4_SP = 1 << 5;
    }
}

/// RSS_HASH_INPUT sort bit: swap L3 addresses (ena.md §3.6).
pub const RSS_INPUT_L3_SORT: u16 = 1 << 1;
/// RSS_HASH_INPUT sort bit: swap L4 ports.
pub const RSS_INPUT_L4_SORT: u16 = 1 << 2;

/// RSS_HASH_INPUT (18) payload (ena.md §3.6).
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
#[repr(C)]
pub struct RssHashInput {
    /// Supported sorting bits.
    pub supported_input_sort: u16,
    /// Enabled sorting bits.
    pub enabled_input_sort: u16,
}
/// ENA spec: hash input payload is 4 bytes (ena.md §3.6).
const _: () = assert!(core::mem::size_of::<RssHashInput>() == 4);

/// One protocol's field bitmap in the hash-control buffer (ena.md §3.6).
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
#[repr(C)]
pub struct RssProtoInput {
    /// [`RssFields`] bits.
    pub fields: u16,
    /// Reserved.
    pub reserved: u16,
}
/// ENA spec: per-protocol entries are u16 + u16 (ena.md §3.6).
const _: () = assert!(core::mem::size_of::<RssProtoInput>() == 4);

/// RSS_HASH_INPUT control buffer (ena.md §3.6).
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
#[repr(C)]
pub struct RssHashControl {
    /// Fields the device supports per protocol.
    pub supported: [RssProtoInput; rss_proto::NUM],
    /// Fields selected per protocol.
    pub selected: [RssProtoInput; rss_proto::NUM],
    /// Reserved.
    pub reserved2: [RssProtoInput; rss_proto::NUM],
    /// Reserved.
    pub reserved3: [RssProtoInput; rss_proto::NUM],
}
/// ENA spec: hash-control buffer is 256 bytes (ena.md §3.6).
const _: () = assert!(core::mem::size_of::<RssHashControl>() == 256);
