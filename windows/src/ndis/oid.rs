//! OID codes and the enumerations their payloads use (ntddndis.h, "NDIS
//! OIDs" in the NDIS reference). Only OIDs the miniport answers, plus the
//! constants those answers are made of.

use super::NDIS_OID;

/// `NDIS_REQUEST_TYPE::NdisRequestQueryInformation`.
pub const NDIS_REQUEST_QUERY_INFORMATION: u32 = 0;
/// `NdisRequestSetInformation`.
pub const NDIS_REQUEST_SET_INFORMATION: u32 = 1;
/// `NdisRequestQueryStatistics` (answered like a query).
pub const NDIS_REQUEST_QUERY_STATISTICS: u32 = 2;
/// `NdisRequestMethod` (NDIS 6).
pub const NDIS_REQUEST_METHOD: u32 = 12;

/// Supported OID list.
pub const OID_GEN_SUPPORTED_LIST: NDIS_OID = 0x0001_0101;
/// Hardware status (`NdisHardwareStatusReady`...).
pub const OID_GEN_HARDWARE_STATUS: NDIS_OID = 0x0001_0102;
/// Media types supported.
pub const OID_GEN_MEDIA_SUPPORTED: NDIS_OID = 0x0001_0103;
/// Media type in use.
pub const OID_GEN_MEDIA_IN_USE: NDIS_OID = 0x0001_0104;
/// Largest lookahead.
pub const OID_GEN_MAXIMUM_LOOKAHEAD: NDIS_OID = 0x0001_0105;
/// Largest frame without the MAC header (the MTU).
pub const OID_GEN_MAXIMUM_FRAME_SIZE: NDIS_OID = 0x0001_0106;
/// Link speed in 100 bit/s units.
pub const OID_GEN_LINK_SPEED: NDIS_OID = 0x0001_0107;
/// TX buffer space in bytes.
pub const OID_GEN_TRANSMIT_BUFFER_SPACE: NDIS_OID = 0x0001_0108;
/// RX buffer space in bytes.
pub const OID_GEN_RECEIVE_BUFFER_SPACE: NDIS_OID = 0x0001_0109;
/// TX block size.
pub const OID_GEN_TRANSMIT_BLOCK_SIZE: NDIS_OID = 0x0001_010a;
/// RX block size.
pub const OID_GEN_RECEIVE_BLOCK_SIZE: NDIS_OID = 0x0001_010b;
/// IEEE OUI + vendor byte.
pub const OID_GEN_VENDOR_ID: NDIS_OID = 0x0001_010c;
/// NUL-terminated ASCII description.
pub const OID_GEN_VENDOR_DESCRIPTION: NDIS_OID = 0x0001_010d;
/// Packet filter (`NDIS_PACKET_TYPE_*`).
pub const OID_GEN_CURRENT_PACKET_FILTER: NDIS_OID = 0x0001_010e;
/// Current lookahead.
pub const OID_GEN_CURRENT_LOOKAHEAD: NDIS_OID = 0x0001_010f;
/// NDIS version the driver uses (major << 8 | minor).
pub const OID_GEN_DRIVER_VERSION: NDIS_OID = 0x0001_0110;
/// Largest frame including the MAC header.
pub const OID_GEN_MAXIMUM_TOTAL_SIZE: NDIS_OID = 0x0001_0111;
/// `NDIS_MAC_OPTION_*` bits.
pub const OID_GEN_MAC_OPTIONS: NDIS_OID = 0x0001_0113;
/// Connect status (`NdisMediaStateConnected`...).
pub const OID_GEN_MEDIA_CONNECT_STATUS: NDIS_OID = 0x0001_0114;
/// Largest send array.
pub const OID_GEN_MAXIMUM_SEND_PACKETS: NDIS_OID = 0x0001_0115;
/// Vendor's driver version (major << 16 | minor).
pub const OID_GEN_VENDOR_DRIVER_VERSION: NDIS_OID = 0x0001_0116;
/// Physical medium.
pub const OID_GEN_PHYSICAL_MEDIUM: NDIS_OID = 0x0001_0202;
/// RSS parameters (set).
pub const OID_GEN_RECEIVE_SCALE_PARAMETERS: NDIS_OID = 0x0001_0204;
/// Link parameters (set; ignored: virtual NICs have no PHY).
pub const OID_GEN_LINK_PARAMETERS: NDIS_OID = 0x0001_0208;
/// Interrupt moderation (`NDIS_INTERRUPT_MODERATION_PARAMETERS`).
pub const OID_GEN_INTERRUPT_MODERATION: NDIS_OID = 0x0001_0209;
/// Frames sent OK.
pub const OID_GEN_XMIT_OK: NDIS_OID = 0x0002_0101;
/// Frames received OK.
pub const OID_GEN_RCV_OK: NDIS_OID = 0x0002_0102;
/// Frames that failed to send.
pub const OID_GEN_XMIT_ERROR: NDIS_OID = 0x0002_0103;
/// Frames received with errors.
pub const OID_GEN_RCV_ERROR: NDIS_OID = 0x0002_0104;
/// Frames dropped for lack of buffers.
pub const OID_GEN_RCV_NO_BUFFER: NDIS_OID = 0x0002_0105;
/// `NDIS_STATISTICS_INFO`.
pub const OID_GEN_STATISTICS: NDIS_OID = 0x0002_0106;
/// Permanent MAC.
pub const OID_802_3_PERMANENT_ADDRESS: NDIS_OID = 0x0101_0101;
/// Current MAC.
pub const OID_802_3_CURRENT_ADDRESS: NDIS_OID = 0x0101_0102;
/// Multicast address list.
pub const OID_802_3_MULTICAST_LIST: NDIS_OID = 0x0101_0103;
/// Multicast list capacity.
pub const OID_802_3_MAXIMUM_LIST_SIZE: NDIS_OID = 0x0101_0104;
/// Alignment errors (always 0 on a virtual NIC).
pub const OID_802_3_RCV_ERROR_ALIGNMENT: NDIS_OID = 0x0102_0101;
/// Single collisions (always 0).
pub const OID_802_3_XMIT_ONE_COLLISION: NDIS_OID = 0x0102_0102;
/// Multiple collisions (always 0).
pub const OID_802_3_XMIT_MORE_COLLISIONS: NDIS_OID = 0x0102_0103;
/// Encapsulation setting for task offloads (set).
pub const OID_OFFLOAD_ENCAPSULATION: NDIS_OID = 0x0101_010a;
/// Offload enable/disable (`NDIS_OFFLOAD_PARAMETERS`, set).
pub const OID_TCP_OFFLOAD_PARAMETERS: NDIS_OID = 0xfc01_020c;

/// `NdisHardwareStatusReady`.
pub const NDIS_HARDWARE_STATUS_READY: u32 = 0;
/// `NdisHardwareStatusReset`.
pub const NDIS_HARDWARE_STATUS_RESET: u32 = 2;
/// `NdisMedium802_3`.
pub const NDIS_MEDIUM_802_3: u32 = 0;
/// `NdisPhysicalMedium802_3` (value 14 in `NDIS_PHYSICAL_MEDIUM`).
pub const NDIS_PHYSICAL_MEDIUM_802_3: u32 = 14;
/// `NdisMediaStateConnected`.
pub const NDIS_MEDIA_STATE_CONNECTED: u32 = 0;
/// `NdisMediaStateDisconnected`.
pub const NDIS_MEDIA_STATE_DISCONNECTED: u32 = 1;
/// `MediaConnectStateConnected` (`NET_IF_MEDIA_CONNECT_STATE`).
pub const MEDIA_CONNECT_STATE_CONNECTED: u32 = 1;
/// `MediaConnectStateDisconnected`.
pub const MEDIA_CONNECT_STATE_DISCONNECTED: u32 = 2;
/// `MediaDuplexStateFull`.
pub const MEDIA_DUPLEX_STATE_FULL: u32 = 2;
/// `NdisPauseFunctionsUnsupported`.
pub const NDIS_PAUSE_FUNCTIONS_UNSUPPORTED: u32 = 0;
/// `NET_IF_ACCESS_BROADCAST`.
pub const NET_IF_ACCESS_BROADCAST: u32 = 2;
/// `NET_IF_DIRECTION_SENDRECEIVE`.
pub const NET_IF_DIRECTION_SENDRECEIVE: u32 = 0;
/// `NET_IF_CONNECTION_DEDICATED`.
pub const NET_IF_CONNECTION_DEDICATED: u32 = 1;
/// `IF_TYPE_ETHERNET_CSMACD`.
pub const IF_TYPE_ETHERNET_CSMACD: u16 = 6;
/// `NDIS_MAX_PHYS_ADDRESS_LENGTH` (`IF_MAX_PHYS_ADDRESS_LENGTH`).
pub const NDIS_MAX_PHYS_ADDRESS_LENGTH: usize = 32;
/// `NdisInterruptModerationNotSupported`.
pub const NDIS_INTERRUPT_MODERATION_NOT_SUPPORTED: u32 = 1;
/// `NdisInterruptModerationEnabled`.
pub const NDIS_INTERRUPT_MODERATION_ENABLED: u32 = 2;
/// `NdisInterruptModerationDisabled`.
pub const NDIS_INTERRUPT_MODERATION_DISABLED: u32 = 3;

/// Packet filter: frames to our MAC.
pub const NDIS_PACKET_TYPE_DIRECTED: u32 = 0x0000_0001;
/// Packet filter: frames to addresses on the multicast list.
pub const NDIS_PACKET_TYPE_MULTICAST: u32 = 0x0000_0002;
/// Packet filter: every multicast frame.
pub const NDIS_PACKET_TYPE_ALL_MULTICAST: u32 = 0x0000_0004;
/// Packet filter: broadcast frames.
pub const NDIS_PACKET_TYPE_BROADCAST: u32 = 0x0000_0008;
/// Packet filter: everything (the device only delivers our frames, so it
/// is accepted and means "do not filter in software").
pub const NDIS_PACKET_TYPE_PROMISCUOUS: u32 = 0x0000_0020;
/// Filters this miniport supports.
pub const SUPPORTED_PACKET_FILTERS: u32 = NDIS_PACKET_TYPE_DIRECTED
    | NDIS_PACKET_TYPE_MULTICAST
    | NDIS_PACKET_TYPE_ALL_MULTICAST
    | NDIS_PACKET_TYPE_BROADCAST
    | NDIS_PACKET_TYPE_PROMISCUOUS;

/// MAC option: lookahead data may be copied.
pub const NDIS_MAC_OPTION_COPY_LOOKAHEAD_DATA: u32 = 0x0000_0001;
/// MAC option: transfers never pend.
pub const NDIS_MAC_OPTION_TRANSFERS_NOT_PEND: u32 = 0x0000_0004;
/// MAC option: the NIC does not loop sends back.
pub const NDIS_MAC_OPTION_NO_LOOPBACK: u32 = 0x0000_0008;
/// MAC option: full duplex.
pub const NDIS_MAC_OPTION_FULL_DUPLEX: u32 = 0x0000_0010;

/// `NDIS_LINK_SPEED_UNKNOWN` (`NET_IF_LINK_SPEED_UNKNOWN`).
pub const NDIS_LINK_SPEED_UNKNOWN: u64 = u64::MAX;

/// RSS capability: MSI-X in use.
pub const NDIS_RSS_CAPS_MESSAGE_SIGNALED_INTERRUPTS: u32 = 0x0100_0000;
/// RSS capability: classification at DPC.
pub const NDIS_RSS_CAPS_CLASSIFICATION_AT_DPC: u32 = 0x0400_0000;
/// RSS capability: MSI-X in use (6.20+ spelling).
pub const NDIS_RSS_CAPS_USING_MSI_X: u32 = 0x0800_0000;
/// RSS capability: TCP/IPv4 4-tuple hash.
pub const NDIS_RSS_CAPS_HASH_TYPE_TCP_IPV4: u32 = 0x0000_0100;
/// RSS capability: TCP/IPv6 4-tuple hash.
pub const NDIS_RSS_CAPS_HASH_TYPE_TCP_IPV6: u32 = 0x0000_0200;
/// Hash function: Toeplitz (low byte of `HashInformation`).
pub const NDIS_HASH_FUNCTION_TOEPLITZ: u32 = 0x0000_0001;
/// Mask of the hash function in `HashInformation`.
pub const NDIS_HASH_FUNCTION_MASK: u32 = 0x0000_00ff;
/// Mask of the hash types in `HashInformation`.
pub const NDIS_HASH_TYPE_MASK: u32 = 0x00ff_ff00;
/// Hash over IPv4 addresses.
pub const NDIS_HASH_IPV4: u32 = 0x0000_0100;
/// Hash over IPv4 addresses and TCP ports.
pub const NDIS_HASH_TCP_IPV4: u32 = 0x0000_0200;
/// Hash over IPv6 addresses.
pub const NDIS_HASH_IPV6: u32 = 0x0000_0400;
/// IPv6 with extension-header addresses (not offered).
pub const NDIS_HASH_IPV6_EX: u32 = 0x0000_0800;
/// Hash over IPv6 addresses and TCP ports.
pub const NDIS_HASH_TCP_IPV6: u32 = 0x0000_1000;
/// TCP/IPv6 with extension headers (not offered).
pub const NDIS_HASH_TCP_IPV6_EX: u32 = 0x0000_2000;
/// RSS params flag: base CPU unchanged.
pub const NDIS_RSS_PARAM_FLAG_BASE_CPU_UNCHANGED: u16 = 0x0001;
/// RSS params flag: hash info unchanged.
pub const NDIS_RSS_PARAM_FLAG_HASH_INFO_UNCHANGED: u16 = 0x0002;
/// RSS params flag: indirection table unchanged.
pub const NDIS_RSS_PARAM_FLAG_ITABLE_UNCHANGED: u16 = 0x0004;
/// RSS params flag: key unchanged.
pub const NDIS_RSS_PARAM_FLAG_HASH_KEY_UNCHANGED: u16 = 0x0008;
/// RSS params flag: disable RSS.
pub const NDIS_RSS_PARAM_FLAG_DISABLE_RSS: u16 = 0x0010;
/// Largest NDIS indirection table (entries).
pub const NDIS_RSS_INDIRECTION_TABLE_MAX_ENTRIES: usize = 128;
/// NDIS RSS secret key size.
pub const NDIS_RSS_HASH_SECRET_KEY_MAX_SIZE: usize = 40;

/// `NDIS_OFFLOAD_PARAMETERS_NO_CHANGE`.
pub const NDIS_OFFLOAD_PARAMETERS_NO_CHANGE: u8 = 0;
/// Checksum offload off both ways.
pub const NDIS_OFFLOAD_PARAMETERS_TX_RX_DISABLED: u8 = 1;
/// Checksum offload TX only.
pub const NDIS_OFFLOAD_PARAMETERS_TX_ENABLED_RX_DISABLED: u8 = 2;
/// Checksum offload RX only.
pub const NDIS_OFFLOAD_PARAMETERS_RX_ENABLED_TX_DISABLED: u8 = 3;
/// Checksum offload both ways.
pub const NDIS_OFFLOAD_PARAMETERS_TX_RX_ENABLED: u8 = 4;
/// LSOv2 off.
pub const NDIS_OFFLOAD_PARAMETERS_LSOV2_DISABLED: u8 = 1;
/// LSOv2 on.
pub const NDIS_OFFLOAD_PARAMETERS_LSOV2_ENABLED: u8 = 2;
/// `NDIS_OFFLOAD_SUPPORTED` in a 2-bit capability field.
pub const NDIS_OFFLOAD_SUPPORTED: u32 = 1;
/// `NDIS_ENCAPSULATION_IEEE_802_3`.
pub const NDIS_ENCAPSULATION_IEEE_802_3: u32 = 0x0000_0002;
/// `NDIS_OFFLOAD_SET_ON` (OID_OFFLOAD_ENCAPSULATION).
pub const NDIS_OFFLOAD_SET_ON: u32 = 1;
/// `NDIS_OFFLOAD_SET_OFF`.
pub const NDIS_OFFLOAD_SET_OFF: u32 = 2;

/// `NDIS_STATISTICS_FLAGS_VALID_*` bits this miniport fills.
pub mod stats_valid {
    /// Directed frames received.
    pub const DIRECTED_FRAMES_RCV: u32 = 0x0000_0001;
    /// Multicast frames received.
    pub const MULTICAST_FRAMES_RCV: u32 = 0x0000_0002;
    /// Broadcast frames received.
    pub const BROADCAST_FRAMES_RCV: u32 = 0x0000_0004;
    /// Bytes received.
    pub const BYTES_RCV: u32 = 0x0000_0008;
    /// Receive discards.
    pub const RCV_DISCARDS: u32 = 0x0000_0010;
    /// Receive errors.
    pub const RCV_ERROR: u32 = 0x0000_0020;
    /// Directed frames sent.
    pub const DIRECTED_FRAMES_XMIT: u32 = 0x0000_0040;
    /// Multicast frames sent.
    pub const MULTICAST_FRAMES_XMIT: u32 = 0x0000_0080;
    /// Broadcast frames sent.
    pub const BROADCAST_FRAMES_XMIT: u32 = 0x0000_0100;
    /// Bytes sent.
    pub const BYTES_XMIT: u32 = 0x0000_0200;
    /// Send errors.
    pub const XMIT_ERROR: u32 = 0x0000_0400;
    /// Send discards.
    pub const XMIT_DISCARDS: u32 = 0x0000_8000;
    /// Directed bytes received.
    pub const DIRECTED_BYTES_RCV: u32 = 0x0001_0000;
    /// Multicast bytes received.
    pub const MULTICAST_BYTES_RCV: u32 = 0x0002_0000;
    /// Broadcast bytes received.
    pub const BROADCAST_BYTES_RCV: u32 = 0x0004_0000;
    /// Directed bytes sent.
    pub const DIRECTED_BYTES_XMIT: u32 = 0x0008_0000;
    /// Multicast bytes sent.
    pub const MULTICAST_BYTES_XMIT: u32 = 0x0010_0000;
    /// Broadcast bytes sent.
    pub const BROADCAST_BYTES_XMIT: u32 = 0x0020_0000;
    /// Every bit above.
    pub const ALL: u32 = 0x003F_87FF;
}

/// `NDIS_STATISTICS_*_SUPPORTED` bits for the general attributes.
pub mod stats_supported {
    /// Frames sent OK.
    pub const XMIT_OK: u32 = 0x0000_0001;
    /// Frames received OK.
    pub const RCV_OK: u32 = 0x0000_0002;
    /// Send errors.
    pub const XMIT_ERROR: u32 = 0x0000_0004;
    /// Receive errors.
    pub const RCV_ERROR: u32 = 0x0000_0008;
    /// Receive no-buffer drops.
    pub const RCV_NO_BUFFER: u32 = 0x0000_0010;
    /// Directed/multicast/broadcast bytes and frames, both ways (0x20..0x10000).
    pub const CLASSES: u32 = 0x0001_FFE0;
    /// Bytes received.
    pub const BYTES_RCV: u32 = 0x0008_0000;
    /// Bytes sent.
    pub const BYTES_XMIT: u32 = 0x0010_0000;
    /// Receive discards.
    pub const RCV_DISCARDS: u32 = 0x0020_0000;
    /// `OID_GEN_STATISTICS` answered.
    pub const GEN_STATISTICS: u32 = 0x0040_0000;
    /// Send discards.
    pub const XMIT_DISCARDS: u32 = 0x0800_0000;
    /// Everything the miniport reports.
    pub const ALL: u32 = XMIT_OK
        | RCV_OK
        | XMIT_ERROR
        | RCV_ERROR
        | RCV_NO_BUFFER
        | CLASSES
        | BYTES_RCV
        | BYTES_XMIT
        | RCV_DISCARDS
        | GEN_STATISTICS
        | XMIT_DISCARDS;
}
