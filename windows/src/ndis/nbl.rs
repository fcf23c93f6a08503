//! Packet structures: `MDL`, `NET_BUFFER`, `NET_BUFFER_LIST`,
//! `SCATTER_GATHER_LIST`, the per-NBL out-of-band info words the miniport
//! reads and writes, and the pool parameters (NDIS reference: "NET_BUFFER
//! architecture"; wdm.h for MDL and SCATTER_GATHER_LIST).
//!
//! `NET_BUFFER` and `NET_BUFFER_LIST` are allocated by NDIS; the miniport
//! only reads and writes fields at their documented offsets, so the asserts
//! pin those offsets rather than the (runtime-dependent) total size.

use core::ffi::c_void;
use core::mem::{offset_of, size_of};

use super::{NDIS_HANDLE, NDIS_OBJECT_HEADER, NDIS_STATUS, PHYSICAL_ADDRESS};

/// `MDL`: one virtually contiguous buffer (48 bytes on x64).
#[repr(C)]
#[derive(Debug)]
pub struct MDL {
    /// Next MDL in a chain.
    pub Next: *mut MDL,
    /// Size of the MDL including its PFN array.
    pub Size: i16,
    /// `MDL_*` flags.
    pub MdlFlags: i16,
    /// Owning process (NULL for system buffers).
    pub Process: *mut c_void,
    /// System VA if mapped (see [`MDL_MAPPED_TO_SYSTEM_VA`]).
    pub MappedSystemVa: *mut c_void,
    /// Page-aligned start VA.
    pub StartVa: *mut c_void,
    /// Bytes described.
    pub ByteCount: u32,
    /// Offset of the data in the first page.
    pub ByteOffset: u32,
}
const _: () = assert!(size_of::<MDL>() == 48);
const _: () = assert!(offset_of!(MDL, MappedSystemVa) == 24);
const _: () = assert!(offset_of!(MDL, ByteCount) == 40);

/// `MDL_MAPPED_TO_SYSTEM_VA`: `MappedSystemVa` is valid.
pub const MDL_MAPPED_TO_SYSTEM_VA: i16 = 0x0001;
/// `MDL_SOURCE_IS_NONPAGED_POOL`: `MappedSystemVa` is valid (pool memory).
pub const MDL_SOURCE_IS_NONPAGED_POOL: i16 = 0x0004;

/// 16-byte aligned pointer array (`DECLSPEC_ALIGN(MEMORY_ALLOCATION_ALIGNMENT)`
/// fields in NET_BUFFER and NET_BUFFER_LIST; MEMORY_ALLOCATION_ALIGNMENT is
/// 16 on x64).
#[repr(C, align(16))]
#[derive(Debug)]
pub struct Aligned16<const N: usize>(pub [*mut c_void; N]);

/// `NET_BUFFER`: one frame (176 bytes on x64, NDIS 6.20+ layout).
#[repr(C, align(16))]
#[derive(Debug)]
pub struct NET_BUFFER {
    /// Next NET_BUFFER in the NBL.
    pub Next: *mut NET_BUFFER,
    /// MDL holding the current data start.
    pub CurrentMdl: *mut MDL,
    /// Offset of the data start in `CurrentMdl`.
    pub CurrentMdlOffset: u32,
    /// Frame length (`DataLength`; a `SIZE_T` union member, low half used).
    pub DataLength: usize,
    /// First MDL of the chain.
    pub MdlChain: *mut MDL,
    /// Offset of the data start from the start of `MdlChain`.
    pub DataOffset: u32,
    /// Padding: the first union is 48 bytes (it overlays a 16-byte-aligned
    /// `SLIST_HEADER`).
    pub UnionPad: u32,
    /// Pseudo-header checksum bias.
    pub ChecksumBias: u16,
    /// Reserved.
    pub Reserved: u16,
    /// Pool the NB came from.
    pub NdisPoolHandle: NDIS_HANDLE,
    /// NDIS private.
    pub NdisReserved: Aligned16<2>,
    /// Protocol private.
    pub ProtocolReserved: Aligned16<6>,
    /// Ours while we own the NB: [`NB_SLOT_NBL`], [`NB_SLOT_SGL`],
    /// [`NB_SLOT_NEXT`], [`NB_SLOT_ADAPTER`].
    pub MiniportReserved: Aligned16<4>,
    /// Physical address of the data (NDIS 6.1).
    pub DataPhysicalAddress: PHYSICAL_ADDRESS,
    /// Shared memory info / scatter-gather list (NDIS 6.20 union).
    pub ScatterGatherList: *mut SCATTER_GATHER_LIST,
}
const _: () = assert!(offset_of!(NET_BUFFER, CurrentMdlOffset) == 16);
const _: () = assert!(offset_of!(NET_BUFFER, DataLength) == 24);
const _: () = assert!(offset_of!(NET_BUFFER, MdlChain) == 32);
const _: () = assert!(offset_of!(NET_BUFFER, DataOffset) == 40);
const _: () = assert!(offset_of!(NET_BUFFER, ChecksumBias) == 48);
const _: () = assert!(offset_of!(NET_BUFFER, NdisPoolHandle) == 56);
const _: () = assert!(offset_of!(NET_BUFFER, NdisReserved) == 64);
const _: () = assert!(offset_of!(NET_BUFFER, ProtocolReserved) == 80);
const _: () = assert!(offset_of!(NET_BUFFER, MiniportReserved) == 128);
const _: () = assert!(offset_of!(NET_BUFFER, DataPhysicalAddress) == 160);
const _: () = assert!(size_of::<NET_BUFFER>() == 176);

/// `MiniportReserved` slot of a TX NET_BUFFER: the owning NBL.
pub const NB_SLOT_NBL: usize = 0;
/// Slot: the scatter-gather list NDIS built for it.
pub const NB_SLOT_SGL: usize = 1;
/// Slot: next NB in the shim's pending-send FIFO or completion list.
pub const NB_SLOT_NEXT: usize = 2;
/// Slot: the adapter (the SG-list callback gets only the NB as context).
pub const NB_SLOT_ADAPTER: usize = 3;

/// `NDIS_NET_BUFFER_LIST_INFO` indexes (NDIS 6.30, x64).
pub mod info {
    /// `NDIS_TCP_IP_CHECKSUM_NET_BUFFER_LIST_INFO`.
    pub const TCP_IP_CHECKSUM: usize = 0;
    /// `NDIS_TCP_LARGE_SEND_OFFLOAD_NET_BUFFER_LIST_INFO`.
    pub const TCP_LARGE_SEND: usize = 2;
    /// 802.1Q tag.
    pub const IEEE_8021Q: usize = 4;
    /// Cancel id (`NDIS_SET_NET_BUFFER_LIST_CANCEL_ID`).
    pub const CANCEL_ID: usize = 5;
    /// RSS hash value.
    pub const HASH_VALUE: usize = 8;
    /// RSS hash type | function.
    pub const HASH_INFO: usize = 9;
    /// `MaxNetBufferListInfo` for an NDIS 6.30 x64 build (6.50 runtimes
    /// allocate more; never index at or past this).
    pub const MAX: usize = 24;
}

/// `NET_BUFFER_LIST`: a list of frames with shared out-of-band data.
#[repr(C, align(16))]
#[derive(Debug)]
pub struct NET_BUFFER_LIST {
    /// Next NBL in the chain.
    pub Next: *mut NET_BUFFER_LIST,
    /// First NET_BUFFER.
    pub FirstNetBuffer: *mut NET_BUFFER,
    /// Context area.
    pub Context: *mut c_void,
    /// Parent (clones).
    pub ParentNetBufferList: *mut NET_BUFFER_LIST,
    /// Pool the NBL came from.
    pub NdisPoolHandle: NDIS_HANDLE,
    /// NDIS private.
    pub NdisReserved: Aligned16<2>,
    /// Protocol private.
    pub ProtocolReserved: Aligned16<4>,
    /// Ours while we own the NBL: [`NBL_SLOT_PENDING`], [`NBL_SLOT_RX_INDEX`].
    pub MiniportReserved: Aligned16<2>,
    /// Scratch.
    pub Scratch: *mut c_void,
    /// Handle of the driver that owns the NBL (set by the allocator).
    pub SourceHandle: NDIS_HANDLE,
    /// `NDIS_NBL_FLAGS_*`.
    pub NblFlags: u32,
    /// Clone reference count.
    pub ChildRefCount: i32,
    /// Private flags.
    pub Flags: u32,
    /// Completion status (union with `NdisReserved2`).
    pub Status: NDIS_STATUS,
    /// Out-of-band info words, indexed by [`info`].
    pub NetBufferListInfo: [*mut c_void; info::MAX],
}
const _: () = assert!(offset_of!(NET_BUFFER_LIST, Context) == 16);
const _: () = assert!(offset_of!(NET_BUFFER_LIST, NdisPoolHandle) == 32);
const _: () = assert!(offset_of!(NET_BUFFER_LIST, NdisReserved) == 48);
const _: () = assert!(offset_of!(NET_BUFFER_LIST, ProtocolReserved) == 64);
const _: () = assert!(offset_of!(NET_BUFFER_LIST, MiniportReserved) == 96);
const _: () = assert!(offset_of!(NET_BUFFER_LIST, SourceHandle) == 120);
const _: () = assert!(offset_of!(NET_BUFFER_LIST, NblFlags) == 128);
const _: () = assert!(offset_of!(NET_BUFFER_LIST, Status) == 140);
const _: () = assert!(offset_of!(NET_BUFFER_LIST, NetBufferListInfo) == 144);
const _: () = assert!(size_of::<NET_BUFFER_LIST>() == 336);

/// `MiniportReserved` slot of a TX NBL: NET_BUFFERs still in flight (+1 bias
/// while the send routine is still posting them).
pub const NBL_SLOT_PENDING: usize = 0;
/// Slot of an RX NBL: its RX buffer index + 1 (0 = not ours).
pub const NBL_SLOT_RX_INDEX: usize = 0;
/// Slot of an RX NBL: index + 1 of the next buffer chained into this packet.
pub const NBL_SLOT_RX_CHAIN: usize = 1;

/// `SCATTER_GATHER_ELEMENT` (24 bytes on x64).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct SCATTER_GATHER_ELEMENT {
    /// Bus address.
    pub Address: PHYSICAL_ADDRESS,
    /// Length in bytes.
    pub Length: u32,
    /// Reserved.
    pub Reserved: usize,
}
const _: () = assert!(size_of::<SCATTER_GATHER_ELEMENT>() == 24);

/// `SCATTER_GATHER_LIST` header; `NumberOfElements` elements follow.
#[repr(C)]
#[derive(Debug)]
pub struct SCATTER_GATHER_LIST {
    /// Element count.
    pub NumberOfElements: u32,
    /// Reserved.
    pub Reserved: usize,
    /// First element (flexible array).
    pub Elements: [SCATTER_GATHER_ELEMENT; 0],
}
const _: () = assert!(size_of::<SCATTER_GATHER_LIST>() == 16);
const _: () = assert!(offset_of!(SCATTER_GATHER_LIST, Elements) == 16);

/// Bits of `NDIS_TCP_IP_CHECKSUM_NET_BUFFER_LIST_INFO` (a pointer-sized
/// bit-field union; MSVC allocates bit-fields from bit 0).
pub mod csum_info {
    /// Transmit: packet is IPv4.
    pub const TX_IS_IPV4: usize = 1 << 0;
    /// Transmit: packet is IPv6.
    pub const TX_IS_IPV6: usize = 1 << 1;
    /// Transmit: fill the TCP checksum.
    pub const TX_TCP_CHECKSUM: usize = 1 << 2;
    /// Transmit: fill the UDP checksum.
    pub const TX_UDP_CHECKSUM: usize = 1 << 3;
    /// Transmit: fill the IPv4 header checksum.
    pub const TX_IP_HEADER_CHECKSUM: usize = 1 << 4;
    /// Transmit: TCP header offset, bits 16..26.
    pub const TX_TCP_HEADER_OFFSET_SHIFT: u32 = 16;
    /// Width mask of the TCP header offset.
    pub const TX_TCP_HEADER_OFFSET_MASK: usize = 0x3FF;
    /// Receive: TCP checksum failed.
    pub const RX_TCP_FAILED: usize = 1 << 0;
    /// Receive: UDP checksum failed.
    pub const RX_UDP_FAILED: usize = 1 << 1;
    /// Receive: IP checksum failed.
    pub const RX_IP_FAILED: usize = 1 << 2;
    /// Receive: TCP checksum good.
    pub const RX_TCP_SUCCEEDED: usize = 1 << 3;
    /// Receive: UDP checksum good.
    pub const RX_UDP_SUCCEEDED: usize = 1 << 4;
    /// Receive: IP checksum good.
    pub const RX_IP_SUCCEEDED: usize = 1 << 5;
}

/// Bits of `NDIS_TCP_LARGE_SEND_OFFLOAD_NET_BUFFER_LIST_INFO`.
pub mod lso_info {
    /// LSOv2 transmit: MSS, bits 0..20.
    pub const MSS_MASK: usize = 0xF_FFFF;
    /// LSOv2 transmit: TCP header offset, bits 20..30.
    pub const TCP_HEADER_OFFSET_SHIFT: u32 = 20;
    /// Width mask of the TCP header offset.
    pub const TCP_HEADER_OFFSET_MASK: usize = 0x3FF;
    /// Type bit (30): 0 = LSOv1, 1 = LSOv2.
    pub const TYPE_V2: usize = 1 << 30;
    /// LSOv2 IP version bit (31): 0 = IPv4, 1 = IPv6.
    pub const IPV6: usize = 1 << 31;
    /// Largest LSO payload NDIS may hand down (`MaxOffLoadSize` we announce).
    pub const MAX_OFFLOAD_SIZE: u32 = 64 * 1024;
    /// Fewest segments per LSO packet we announce.
    pub const MIN_SEGMENT_COUNT: u32 = 2;
}

/// `NDIS_HASH_*` bits live in `NetBufferListHashInfo` together with the
/// function in the low byte (see `ndis::oid`).
pub const NBL_HASH_INFO_SLOT: usize = info::HASH_INFO;

/// Send flag: called at DISPATCH_LEVEL.
pub const NDIS_SEND_FLAGS_DISPATCH_LEVEL: u32 = 0x1;
/// Send-complete flag: caller at DISPATCH_LEVEL.
pub const NDIS_SEND_COMPLETE_FLAGS_DISPATCH_LEVEL: u32 = 0x1;
/// Receive flag: caller at DISPATCH_LEVEL.
pub const NDIS_RECEIVE_FLAGS_DISPATCH_LEVEL: u32 = 0x1;
/// Return flag: caller at DISPATCH_LEVEL.
pub const NDIS_RETURN_FLAGS_DISPATCH_LEVEL: u32 = 0x1;
/// `NdisMAllocateNetBufferSGList` flag: the data goes to the device.
pub const NDIS_SG_LIST_WRITE_TO_DEVICE: u32 = 0x1;
/// NBL flag: IPv4 packet (receive hint).
pub const NDIS_NBL_FLAGS_IS_IPV4: u32 = 0x0000_0200;
/// NBL flag: IPv6 packet.
pub const NDIS_NBL_FLAGS_IS_IPV6: u32 = 0x0000_0400;
/// NBL flag: TCP packet.
pub const NDIS_NBL_FLAGS_IS_TCP: u32 = 0x0000_0800;
/// NBL flag: UDP packet.
pub const NDIS_NBL_FLAGS_IS_UDP: u32 = 0x0000_1000;

/// `NET_BUFFER_LIST_POOL_PARAMETERS` (16 bytes).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct NET_BUFFER_LIST_POOL_PARAMETERS {
    /// Type `NDIS_OBJECT_TYPE_DEFAULT`, revision 1.
    pub Header: NDIS_OBJECT_HEADER,
    /// `NDIS_PROTOCOL_ID_DEFAULT` (0).
    pub ProtocolId: u8,
    /// Allocate a NET_BUFFER with each NBL.
    pub fAllocateNetBuffer: u8,
    /// Context area size.
    pub ContextSize: u16,
    /// Pool tag.
    pub PoolTag: u32,
    /// Data buffer size (0: caller supplies MDLs).
    pub DataSize: u32,
}
/// `NET_BUFFER_LIST_POOL_PARAMETERS_REVISION_1`.
pub const NET_BUFFER_LIST_POOL_PARAMETERS_REVISION_1: u8 = 1;
/// `NDIS_SIZEOF_NET_BUFFER_LIST_POOL_PARAMETERS_REVISION_1`.
pub const NDIS_SIZEOF_NET_BUFFER_LIST_POOL_PARAMETERS_REVISION_1: usize =
    crate::size_through!(NET_BUFFER_LIST_POOL_PARAMETERS, DataSize);
const _: () = assert!(NDIS_SIZEOF_NET_BUFFER_LIST_POOL_PARAMETERS_REVISION_1 == 16);
const _: () = assert!(size_of::<NET_BUFFER_LIST_POOL_PARAMETERS>() == 16);
