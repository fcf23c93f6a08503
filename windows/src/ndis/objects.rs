//! OID request and status-indication structures and the OID payloads the
//! miniport produces or parses (ntddndis.h / ndis.h, NDIS 6.30 revisions).
//! Bit-field members are plain words with named shifts.

use core::ffi::c_void;
use core::mem::size_of;

use super::{GUID, NDIS_HANDLE, NDIS_OBJECT_HEADER, NDIS_OID, NDIS_PORT_NUMBER, NDIS_STATUS};
use crate::size_through;

/// `NDIS_OID_REQUEST` (revision 1 layout; 6.50 appends fields we never touch).
#[repr(C)]
pub struct NDIS_OID_REQUEST {
    /// Type `OID_REQUEST`.
    pub Header: NDIS_OBJECT_HEADER,
    /// `NDIS_REQUEST_TYPE`.
    pub RequestType: u32,
    /// Port.
    pub PortNumber: NDIS_PORT_NUMBER,
    /// Timeout in seconds.
    pub Timeout: u32,
    /// Id for cancellation.
    pub RequestId: *mut c_void,
    /// Handle.
    pub RequestHandle: NDIS_HANDLE,
    /// Query/set/method data.
    pub DATA: OidRequestData,
    /// NDIS private.
    pub NdisReserved: [u8; 16 * 8],
    /// Ours.
    pub MiniportReserved: [u8; 16],
    /// Source private.
    pub SourceReserved: [u8; 16],
    /// Highest revision the source supports.
    pub SupportedRevision: u8,
    /// Reserved.
    pub Reserved1: u8,
    /// Reserved.
    pub Reserved2: u16,
}
/// `NDIS_SIZEOF_OID_REQUEST_REVISION_1`.
pub const NDIS_SIZEOF_OID_REQUEST_REVISION_1: usize = size_through!(NDIS_OID_REQUEST, Reserved2);
const _: () = assert!(NDIS_SIZEOF_OID_REQUEST_REVISION_1 == 236);
const _: () = assert!(core::mem::offset_of!(NDIS_OID_REQUEST, DATA) == 32);

/// The `DATA` union of `NDIS_OID_REQUEST` (query and set share a layout:
/// BytesWritten and BytesRead sit at the same offset).
#[repr(C)]
#[derive(Clone, Copy)]
pub union OidRequestData {
    /// `QUERY_INFORMATION` / `SET_INFORMATION`.
    pub INFORMATION: OidInformation,
    /// `METHOD_INFORMATION` (sizes the union).
    pub METHOD_INFORMATION: OidMethod,
}
const _: () = assert!(size_of::<OidRequestData>() == 40);

/// `QUERY_INFORMATION` / `SET_INFORMATION`.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct OidInformation {
    /// The OID.
    pub Oid: NDIS_OID,
    /// Caller's buffer.
    pub InformationBuffer: *mut c_void,
    /// Its length.
    pub InformationBufferLength: u32,
    /// Query: bytes written; set: bytes read.
    pub BytesWrittenOrRead: u32,
    /// Bytes needed when the buffer is too short.
    pub BytesNeeded: u32,
}
const _: () = assert!(size_through!(OidInformation, BytesNeeded) == 28);

/// `METHOD_INFORMATION`.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct OidMethod {
    /// The OID.
    pub Oid: NDIS_OID,
    /// Buffer.
    pub InformationBuffer: *mut c_void,
    /// In length.
    pub InputBufferLength: u32,
    /// Out length.
    pub OutputBufferLength: u32,
    /// Method.
    pub MethodId: u32,
    /// Written.
    pub BytesWritten: u32,
    /// Read.
    pub BytesRead: u32,
    /// Needed.
    pub BytesNeeded: u32,
}

/// `NDIS_STATUS_INDICATION`.
#[repr(C)]
pub struct NDIS_STATUS_INDICATION {
    /// Type `STATUS_INDICATION`, revision 1.
    pub Header: NDIS_OBJECT_HEADER,
    /// The miniport adapter handle.
    pub SourceHandle: NDIS_HANDLE,
    /// Port.
    pub PortNumber: NDIS_PORT_NUMBER,
    /// `NDIS_STATUS_*` indication code.
    pub StatusCode: NDIS_STATUS,
    /// Flags.
    pub Flags: u32,
    /// Destination (NULL: all).
    pub DestinationHandle: NDIS_HANDLE,
    /// Request id (NULL).
    pub RequestId: *mut c_void,
    /// Payload.
    pub StatusBuffer: *mut c_void,
    /// Payload size.
    pub StatusBufferSize: u32,
    /// Media-specific GUID.
    pub Guid: GUID,
    /// NDIS private.
    pub NdisReserved: [*mut c_void; 4],
}
/// `NDIS_STATUS_INDICATION_REVISION_1`.
pub const NDIS_STATUS_INDICATION_REVISION_1: u8 = 1;
/// `NDIS_SIZEOF_STATUS_INDICATION_REVISION_1`.
pub const NDIS_SIZEOF_STATUS_INDICATION_REVISION_1: usize =
    size_through!(NDIS_STATUS_INDICATION, NdisReserved);
const _: () = assert!(NDIS_SIZEOF_STATUS_INDICATION_REVISION_1 == 112);

/// `NDIS_LINK_STATE` (OID_GEN_LINK_STATE / NDIS_STATUS_LINK_STATE payload).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct NDIS_LINK_STATE {
    /// Type `DEFAULT`, revision 1.
    pub Header: NDIS_OBJECT_HEADER,
    /// `NET_IF_MEDIA_CONNECT_STATE`.
    pub MediaConnectState: u32,
    /// `NET_IF_MEDIA_DUPLEX_STATE`.
    pub MediaDuplexState: u32,
    /// Send speed, bit/s.
    pub XmitLinkSpeed: u64,
    /// Receive speed, bit/s.
    pub RcvLinkSpeed: u64,
    /// `NDIS_SUPPORTED_PAUSE_FUNCTIONS`.
    pub PauseFunctions: u32,
    /// `NDIS_LINK_STATE_*_AUTO_NEGOTIATED`.
    pub AutoNegotiationFlags: u32,
}
/// `NDIS_LINK_STATE_REVISION_1`.
pub const NDIS_LINK_STATE_REVISION_1: u8 = 1;
/// `NDIS_SIZEOF_LINK_STATE_REVISION_1`.
pub const NDIS_SIZEOF_LINK_STATE_REVISION_1: usize =
    size_through!(NDIS_LINK_STATE, AutoNegotiationFlags);
const _: () = assert!(NDIS_SIZEOF_LINK_STATE_REVISION_1 == 40);

/// `NDIS_STATISTICS_INFO` (OID_GEN_STATISTICS).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct NDIS_STATISTICS_INFO {
    /// Type `DEFAULT`, revision 1.
    pub Header: NDIS_OBJECT_HEADER,
    /// `NDIS_STATISTICS_FLAGS_VALID_*`.
    pub SupportedStatistics: u32,
    /// Receive discards.
    pub ifInDiscards: u64,
    /// Receive errors.
    pub ifInErrors: u64,
    /// Bytes received.
    pub ifHCInOctets: u64,
    /// Unicast frames received.
    pub ifHCInUcastPkts: u64,
    /// Multicast frames received.
    pub ifHCInMulticastPkts: u64,
    /// Broadcast frames received.
    pub ifHCInBroadcastPkts: u64,
    /// Bytes sent.
    pub ifHCOutOctets: u64,
    /// Unicast frames sent.
    pub ifHCOutUcastPkts: u64,
    /// Multicast frames sent.
    pub ifHCOutMulticastPkts: u64,
    /// Broadcast frames sent.
    pub ifHCOutBroadcastPkts: u64,
    /// Send errors.
    pub ifOutErrors: u64,
    /// Send discards.
    pub ifOutDiscards: u64,
    /// Unicast bytes received.
    pub ifHCInUcastOctets: u64,
    /// Multicast bytes received.
    pub ifHCInMulticastOctets: u64,
    /// Broadcast bytes received.
    pub ifHCInBroadcastOctets: u64,
    /// Unicast bytes sent.
    pub ifHCOutUcastOctets: u64,
    /// Multicast bytes sent.
    pub ifHCOutMulticastOctets: u64,
    /// Broadcast bytes sent.
    pub ifHCOutBroadcastOctets: u64,
}
/// `NDIS_STATISTICS_INFO_REVISION_1`.
pub const NDIS_STATISTICS_INFO_REVISION_1: u8 = 1;
/// `NDIS_SIZEOF_STATISTICS_INFO_REVISION_1`.
pub const NDIS_SIZEOF_STATISTICS_INFO_REVISION_1: usize =
    size_through!(NDIS_STATISTICS_INFO, ifHCOutBroadcastOctets);
const _: () = assert!(NDIS_SIZEOF_STATISTICS_INFO_REVISION_1 == 152);

/// `NDIS_INTERRUPT_MODERATION_PARAMETERS`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct NDIS_INTERRUPT_MODERATION_PARAMETERS {
    /// Type `DEFAULT`, revision 1.
    pub Header: NDIS_OBJECT_HEADER,
    /// `NDIS_INTERRUPT_MODERATION_CHANGE_NEEDS_*`.
    pub Flags: u32,
    /// `NDIS_INTERRUPT_MODERATION`.
    pub InterruptModeration: u32,
}
/// `NDIS_SIZEOF_INTERRUPT_MODERATION_PARAMETERS_REVISION_1`.
pub const NDIS_SIZEOF_INTERRUPT_MODERATION_PARAMETERS_REVISION_1: usize =
    size_through!(NDIS_INTERRUPT_MODERATION_PARAMETERS, InterruptModeration);
const _: () = assert!(NDIS_SIZEOF_INTERRUPT_MODERATION_PARAMETERS_REVISION_1 == 12);

/// `NDIS_RECEIVE_SCALE_CAPABILITIES` (revision 2, NDIS 6.30).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct NDIS_RECEIVE_SCALE_CAPABILITIES {
    /// Type `RSS_CAPABILITIES`, revision 2.
    pub Header: NDIS_OBJECT_HEADER,
    /// `NDIS_RSS_CAPS_*` | hash function bits.
    pub CapabilitiesFlags: u32,
    /// MSI-X messages available to RSS.
    pub NumberOfInterruptMessages: u32,
    /// RSS receive queues.
    pub NumberOfReceiveQueues: u32,
    /// Indirection table entries the NIC holds.
    pub NumberOfIndirectionTableEntries: u16,
}
/// `NDIS_RECEIVE_SCALE_CAPABILITIES_REVISION_2`.
pub const NDIS_RECEIVE_SCALE_CAPABILITIES_REVISION_2: u8 = 2;
/// `NDIS_SIZEOF_RECEIVE_SCALE_CAPABILITIES_REVISION_1`.
pub const NDIS_SIZEOF_RECEIVE_SCALE_CAPABILITIES_REVISION_1: usize =
    size_through!(NDIS_RECEIVE_SCALE_CAPABILITIES, NumberOfReceiveQueues);
/// `NDIS_SIZEOF_RECEIVE_SCALE_CAPABILITIES_REVISION_2`.
pub const NDIS_SIZEOF_RECEIVE_SCALE_CAPABILITIES_REVISION_2: usize = size_through!(
    NDIS_RECEIVE_SCALE_CAPABILITIES,
    NumberOfIndirectionTableEntries
);
const _: () = assert!(NDIS_SIZEOF_RECEIVE_SCALE_CAPABILITIES_REVISION_1 == 16);
const _: () = assert!(NDIS_SIZEOF_RECEIVE_SCALE_CAPABILITIES_REVISION_2 == 18);

/// `NDIS_RECEIVE_SCALE_PARAMETERS` (OID_GEN_RECEIVE_SCALE_PARAMETERS set).
/// The indirection table and key follow at the given offsets.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct NDIS_RECEIVE_SCALE_PARAMETERS {
    /// Type `RSS_PARAMETERS`, revision 1 (queue numbers... see logic::rss) or 2.
    pub Header: NDIS_OBJECT_HEADER,
    /// `NDIS_RSS_PARAM_FLAG_*`.
    pub Flags: u16,
    /// Base CPU (revision 1 only).
    pub BaseCpuNumber: u16,
    /// Hash function | hash types.
    pub HashInformation: u32,
    /// Indirection table size in bytes.
    pub IndirectionTableSize: u16,
    /// Offset of the table from the start of this structure.
    pub IndirectionTableOffset: u32,
    /// Key size in bytes.
    pub HashSecretKeySize: u16,
    /// Offset of the key.
    pub HashSecretKeyOffset: u32,
    /// Revision 2: processor masks offset.
    pub ProcessorMasksOffset: u32,
    /// Revision 2: number of masks.
    pub NumberOfProcessorMasks: u32,
    /// Revision 2: mask entry size.
    pub ProcessorMasksEntrySize: u32,
}
/// `NDIS_RECEIVE_SCALE_PARAMETERS_REVISION_1`.
pub const NDIS_RECEIVE_SCALE_PARAMETERS_REVISION_1: u8 = 1;
/// `NDIS_RECEIVE_SCALE_PARAMETERS_REVISION_2` (table of PROCESSOR_NUMBER).
pub const NDIS_RECEIVE_SCALE_PARAMETERS_REVISION_2: u8 = 2;
/// `NDIS_SIZEOF_RECEIVE_SCALE_PARAMETERS_REVISION_1`.
pub const NDIS_SIZEOF_RECEIVE_SCALE_PARAMETERS_REVISION_1: usize =
    size_through!(NDIS_RECEIVE_SCALE_PARAMETERS, HashSecretKeyOffset);
/// `NDIS_SIZEOF_RECEIVE_SCALE_PARAMETERS_REVISION_2`.
pub const NDIS_SIZEOF_RECEIVE_SCALE_PARAMETERS_REVISION_2: usize =
    size_through!(NDIS_RECEIVE_SCALE_PARAMETERS, ProcessorMasksEntrySize);
const _: () = assert!(NDIS_SIZEOF_RECEIVE_SCALE_PARAMETERS_REVISION_1 == 28);
const _: () = assert!(NDIS_SIZEOF_RECEIVE_SCALE_PARAMETERS_REVISION_2 == 40);

/// One direction/family of `NDIS_TCP_IP_CHECKSUM_OFFLOAD`: encapsulation
/// plus a word of 2-bit capability fields ([`cksum_bits`]).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ChecksumOffloadDir {
    /// `NDIS_ENCAPSULATION_*`.
    pub Encapsulation: u32,
    /// 2-bit fields: options, TCP options, TCP, UDP, (IPv4) IP checksum.
    pub Bits: u32,
}

/// Shifts of the 2-bit fields in [`ChecksumOffloadDir::Bits`].
pub mod cksum_bits {
    /// IP options (IPv4) / extension headers (IPv6) supported.
    pub const IP_OPTIONS: u32 = 0;
    /// TCP options supported.
    pub const TCP_OPTIONS: u32 = 2;
    /// TCP checksum.
    pub const TCP: u32 = 4;
    /// UDP checksum.
    pub const UDP: u32 = 6;
    /// IPv4 header checksum (IPv4 structures only).
    pub const IP: u32 = 8;
}

/// `NDIS_OFFLOAD` (revision 3, NDIS 6.30), 156 bytes.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct NDIS_OFFLOAD {
    /// Type `OFFLOAD`, revision 3.
    pub Header: NDIS_OBJECT_HEADER,
    /// Checksum: IPv4 TX.
    pub ChecksumIPv4Transmit: ChecksumOffloadDir,
    /// Checksum: IPv4 RX.
    pub ChecksumIPv4Receive: ChecksumOffloadDir,
    /// Checksum: IPv6 TX.
    pub ChecksumIPv6Transmit: ChecksumOffloadDir,
    /// Checksum: IPv6 RX.
    pub ChecksumIPv6Receive: ChecksumOffloadDir,
    /// LSOv1 (IPv4): encapsulation, max size, min segments, options word.
    pub LsoV1: [u32; 4],
    /// IPsec v1 (not offered): 5 words supported + AH + ESP bit words.
    pub IPsecV1: [u32; 7],
    /// LSOv2 IPv4: encapsulation.
    pub LsoV2IPv4Encapsulation: u32,
    /// LSOv2 IPv4: largest payload.
    pub LsoV2IPv4MaxOffLoadSize: u32,
    /// LSOv2 IPv4: fewest segments.
    pub LsoV2IPv4MinSegmentCount: u32,
    /// LSOv2 IPv6: encapsulation.
    pub LsoV2IPv6Encapsulation: u32,
    /// LSOv2 IPv6: largest payload.
    pub LsoV2IPv6MaxOffLoadSize: u32,
    /// LSOv2 IPv6: fewest segments.
    pub LsoV2IPv6MinSegmentCount: u32,
    /// LSOv2 IPv6: 2-bit fields (extension headers, TCP options).
    pub LsoV2IPv6Bits: u32,
    /// `NDIS_OFFLOAD_FLAGS_*`.
    pub Flags: u32,
    /// IPsec v2 (not offered), 32 bytes.
    pub IPsecV2: [u32; 8],
    /// RSC IPv4/IPv6 enabled (not offered).
    pub Rsc: [u8; 2],
    /// Padding before the 4-byte-aligned GRE task offload.
    pub RscPad: [u8; 2],
    /// Encapsulated-packet (GRE) task offload (not offered).
    pub EncapsulatedPacketTaskOffloadGre: [u32; 2],
}
/// `NDIS_OFFLOAD_REVISION_3`.
pub const NDIS_OFFLOAD_REVISION_3: u8 = 3;
/// `NDIS_SIZEOF_NDIS_OFFLOAD_REVISION_1`.
pub const NDIS_SIZEOF_NDIS_OFFLOAD_REVISION_1: usize = size_through!(NDIS_OFFLOAD, Flags);
/// `NDIS_SIZEOF_NDIS_OFFLOAD_REVISION_3`.
pub const NDIS_SIZEOF_NDIS_OFFLOAD_REVISION_3: usize =
    size_through!(NDIS_OFFLOAD, EncapsulatedPacketTaskOffloadGre);
const _: () = assert!(NDIS_SIZEOF_NDIS_OFFLOAD_REVISION_1 == 112);
const _: () = assert!(size_through!(NDIS_OFFLOAD, IPsecV2) == 144);
const _: () = assert!(NDIS_SIZEOF_NDIS_OFFLOAD_REVISION_3 == 156);
const _: () = assert!(size_of::<NDIS_OFFLOAD>() == 156);

/// `NDIS_OFFLOAD_PARAMETERS` (OID_TCP_OFFLOAD_PARAMETERS set); fields are
/// `NDIS_OFFLOAD_PARAMETERS_*` codes.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct NDIS_OFFLOAD_PARAMETERS {
    /// Type `DEFAULT`, revision 1..3.
    pub Header: NDIS_OBJECT_HEADER,
    /// IPv4 header checksum.
    pub IPv4Checksum: u8,
    /// TCP/IPv4 checksum.
    pub TCPIPv4Checksum: u8,
    /// UDP/IPv4 checksum.
    pub UDPIPv4Checksum: u8,
    /// TCP/IPv6 checksum.
    pub TCPIPv6Checksum: u8,
    /// UDP/IPv6 checksum.
    pub UDPIPv6Checksum: u8,
    /// LSOv1.
    pub LsoV1: u8,
    /// IPsec v1.
    pub IPsecV1: u8,
    /// LSOv2 IPv4.
    pub LsoV2IPv4: u8,
    /// LSOv2 IPv6.
    pub LsoV2IPv6: u8,
    /// TCP chimney IPv4.
    pub TcpConnectionIPv4: u8,
    /// TCP chimney IPv6.
    pub TcpConnectionIPv6: u8,
    /// `NDIS_OFFLOAD_PARAMETERS_SKIP_REGISTRY_UPDATE`.
    pub Flags: u32,
    /// Revision 2: IPsec v2.
    pub IPsecV2: u8,
    /// Revision 2: IPsec v2 IPv4.
    pub IPsecV2IPv4: u8,
    /// Revision 3: RSC IPv4.
    pub RscIPv4: u8,
    /// Revision 3: RSC IPv6.
    pub RscIPv6: u8,
    /// Revision 3: encapsulated packet task offload.
    pub EncapsulatedPacketTaskOffload: u8,
    /// Revision 3: encapsulation types.
    pub EncapsulationTypes: u8,
}
/// `NDIS_SIZEOF_OFFLOAD_PARAMETERS_REVISION_1`.
pub const NDIS_SIZEOF_OFFLOAD_PARAMETERS_REVISION_1: usize =
    size_through!(NDIS_OFFLOAD_PARAMETERS, Flags);
/// `NDIS_SIZEOF_OFFLOAD_PARAMETERS_REVISION_3`.
pub const NDIS_SIZEOF_OFFLOAD_PARAMETERS_REVISION_3: usize =
    size_through!(NDIS_OFFLOAD_PARAMETERS, EncapsulationTypes);
const _: () = assert!(NDIS_SIZEOF_OFFLOAD_PARAMETERS_REVISION_1 == 20);
const _: () = assert!(NDIS_SIZEOF_OFFLOAD_PARAMETERS_REVISION_3 == 26);

/// `NDIS_OFFLOAD_ENCAPSULATION` (OID_OFFLOAD_ENCAPSULATION set).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct NDIS_OFFLOAD_ENCAPSULATION {
    /// Type `OFFLOAD_ENCAPSULATION`, revision 1.
    pub Header: NDIS_OBJECT_HEADER,
    /// IPv4: `NDIS_OFFLOAD_SET_*`.
    pub IPv4Enabled: u32,
    /// IPv4: encapsulation type.
    pub IPv4EncapsulationType: u32,
    /// IPv4: header size.
    pub IPv4HeaderSize: u32,
    /// IPv6: `NDIS_OFFLOAD_SET_*`.
    pub IPv6Enabled: u32,
    /// IPv6: encapsulation type.
    pub IPv6EncapsulationType: u32,
    /// IPv6: header size.
    pub IPv6HeaderSize: u32,
}
/// `NDIS_SIZEOF_OFFLOAD_ENCAPSULATION_REVISION_1`.
pub const NDIS_SIZEOF_OFFLOAD_ENCAPSULATION_REVISION_1: usize =
    size_through!(NDIS_OFFLOAD_ENCAPSULATION, IPv6HeaderSize);
const _: () = assert!(NDIS_SIZEOF_OFFLOAD_ENCAPSULATION_REVISION_1 == 28);
