//! Miniport registration: driver characteristics and the handler types,
//! adapter attributes, init/pause/restart parameters, scatter-gather DMA and
//! interrupt registration, hardware resources and configuration access
//! (ndis.h "NDIS 6.0 miniport's entry points"; wdm.h for the CM_* and
//! IO_INTERRUPT_MESSAGE_INFO structures).

use core::ffi::c_void;
use core::mem::size_of;

use super::nbl::{NET_BUFFER_LIST, SCATTER_GATHER_LIST};
use super::objects::{NDIS_OFFLOAD, NDIS_OID_REQUEST, NDIS_RECEIVE_SCALE_CAPABILITIES};
use super::{
    BOOLEAN, NDIS_HANDLE, NDIS_OBJECT_HEADER, NDIS_OID, NDIS_PORT_NUMBER, NDIS_STATUS,
    PHYSICAL_ADDRESS, UNICODE_STRING,
};
use crate::size_through;

/// `NDIS_OBJECT_TYPE_*` values for the headers below (ntddndis.h).
pub mod object_type {
    /// Generic structures.
    pub const DEFAULT: u8 = 0x80;
    /// `NDIS_MINIPORT_INIT_PARAMETERS`.
    pub const MINIPORT_INIT_PARAMETERS: u8 = 0x81;
    /// `NDIS_SG_DMA_DESCRIPTION`.
    pub const SG_DMA_DESCRIPTION: u8 = 0x83;
    /// `NDIS_MINIPORT_INTERRUPT_CHARACTERISTICS`.
    pub const MINIPORT_INTERRUPT: u8 = 0x84;
    /// `NDIS_RECEIVE_SCALE_CAPABILITIES`.
    pub const RSS_CAPABILITIES: u8 = 0x88;
    /// `NDIS_RECEIVE_SCALE_PARAMETERS`.
    pub const RSS_PARAMETERS: u8 = 0x89;
    /// `NDIS_MINIPORT_DRIVER_CHARACTERISTICS`.
    pub const MINIPORT_DRIVER_CHARACTERISTICS: u8 = 0x8a;
    /// `NDIS_OID_REQUEST`.
    pub const OID_REQUEST: u8 = 0x96;
    /// `NDIS_STATUS_INDICATION`.
    pub const STATUS_INDICATION: u8 = 0x98;
    /// `NDIS_MINIPORT_ADAPTER_REGISTRATION_ATTRIBUTES`.
    pub const MINIPORT_ADAPTER_REGISTRATION_ATTRIBUTES: u8 = 0x9e;
    /// `NDIS_MINIPORT_ADAPTER_GENERAL_ATTRIBUTES`.
    pub const MINIPORT_ADAPTER_GENERAL_ATTRIBUTES: u8 = 0x9f;
    /// `NDIS_MINIPORT_ADAPTER_OFFLOAD_ATTRIBUTES`.
    pub const MINIPORT_ADAPTER_OFFLOAD_ATTRIBUTES: u8 = 0xa0;
    /// `NDIS_OFFLOAD`.
    pub const OFFLOAD: u8 = 0xa7;
    /// `NDIS_OFFLOAD_ENCAPSULATION`.
    pub const OFFLOAD_ENCAPSULATION: u8 = 0xa8;
    /// `NDIS_CONFIGURATION_OBJECT`.
    pub const CONFIGURATION_OBJECT: u8 = 0xa9;
}

/// `MINIPORT_INITIALIZE`.
pub type MiniportInitialize = unsafe extern "system" fn(
    NDIS_HANDLE,
    NDIS_HANDLE,
    *mut NDIS_MINIPORT_INIT_PARAMETERS,
) -> NDIS_STATUS;
/// `MINIPORT_HALT` (second argument: `NDIS_HALT_ACTION`).
pub type MiniportHalt = unsafe extern "system" fn(NDIS_HANDLE, u32);
/// `MINIPORT_UNLOAD` (argument: `PDRIVER_OBJECT`).
pub type MiniportUnload = unsafe extern "system" fn(*mut c_void);
/// `MINIPORT_PAUSE`.
pub type MiniportPause =
    unsafe extern "system" fn(NDIS_HANDLE, *mut NDIS_MINIPORT_PAUSE_PARAMETERS) -> NDIS_STATUS;
/// `MINIPORT_RESTART`.
pub type MiniportRestart =
    unsafe extern "system" fn(NDIS_HANDLE, *mut NDIS_MINIPORT_RESTART_PARAMETERS) -> NDIS_STATUS;
/// `MINIPORT_OID_REQUEST`.
pub type MiniportOidRequest =
    unsafe extern "system" fn(NDIS_HANDLE, *mut NDIS_OID_REQUEST) -> NDIS_STATUS;
/// `MINIPORT_SEND_NET_BUFFER_LISTS`.
pub type MiniportSendNetBufferLists =
    unsafe extern "system" fn(NDIS_HANDLE, *mut NET_BUFFER_LIST, NDIS_PORT_NUMBER, u32);
/// `MINIPORT_RETURN_NET_BUFFER_LISTS`.
pub type MiniportReturnNetBufferLists =
    unsafe extern "system" fn(NDIS_HANDLE, *mut NET_BUFFER_LIST, u32);
/// `MINIPORT_CANCEL_SEND`.
pub type MiniportCancelSend = unsafe extern "system" fn(NDIS_HANDLE, *mut c_void);
/// `MINIPORT_CHECK_FOR_HANG`.
pub type MiniportCheckForHang = unsafe extern "system" fn(NDIS_HANDLE) -> BOOLEAN;
/// `MINIPORT_RESET` (second argument: `PBOOLEAN AddressingReset`).
pub type MiniportReset = unsafe extern "system" fn(NDIS_HANDLE, *mut BOOLEAN) -> NDIS_STATUS;
/// `MINIPORT_DEVICE_PNP_EVENT_NOTIFY`.
pub type MiniportDevicePnpEventNotify =
    unsafe extern "system" fn(NDIS_HANDLE, *mut NET_DEVICE_PNP_EVENT);
/// `MINIPORT_SHUTDOWN` (second argument: `NDIS_SHUTDOWN_ACTION`).
pub type MiniportShutdown = unsafe extern "system" fn(NDIS_HANDLE, u32);
/// `MINIPORT_CANCEL_OID_REQUEST`.
pub type MiniportCancelOidRequest = unsafe extern "system" fn(NDIS_HANDLE, *mut c_void);
/// `MINIPORT_PROCESS_SG_LIST` (device object, reserved, list, context).
pub type MiniportProcessSgList =
    unsafe extern "system" fn(*mut c_void, *mut c_void, *mut SCATTER_GATHER_LIST, *mut c_void);
/// `MINIPORT_ALLOCATE_SHARED_MEM_COMPLETE` (unused; asynchronous allocation).
pub type MiniportAllocateSharedMemComplete =
    unsafe extern "system" fn(NDIS_HANDLE, *mut c_void, *mut PHYSICAL_ADDRESS, u32, *mut c_void);
/// `MINIPORT_ISR` (line-based): context, out QueueDefaultInterruptDpc, out TargetProcessors.
pub type MiniportIsr = unsafe extern "system" fn(NDIS_HANDLE, *mut BOOLEAN, *mut u32) -> BOOLEAN;
/// `MINIPORT_INTERRUPT_DPC` (line-based).
pub type MiniportInterruptDpc =
    unsafe extern "system" fn(NDIS_HANDLE, *mut c_void, *mut c_void, *mut c_void);
/// `MINIPORT_DISABLE_INTERRUPT` / `MINIPORT_ENABLE_INTERRUPT`.
pub type MiniportToggleInterrupt = unsafe extern "system" fn(NDIS_HANDLE);
/// `MINIPORT_MESSAGE_INTERRUPT`: context, MessageId, out QueueDefaultInterruptDpc, out TargetProcessors.
pub type MiniportMessageInterrupt =
    unsafe extern "system" fn(NDIS_HANDLE, u32, *mut BOOLEAN, *mut u32) -> BOOLEAN;
/// `MINIPORT_MESSAGE_INTERRUPT_DPC`: context, MessageId, DPC context,
/// `PNDIS_RECEIVE_THROTTLE_PARAMETERS`, reserved.
pub type MiniportMessageInterruptDpc =
    unsafe extern "system" fn(NDIS_HANDLE, u32, *mut c_void, *mut c_void, *mut c_void);
/// `MINIPORT_DISABLE_MESSAGE_INTERRUPT` / `..._ENABLE_...`.
pub type MiniportToggleMessageInterrupt = unsafe extern "system" fn(NDIS_HANDLE, u32);
/// `NDIS_IO_WORKITEM_FUNCTION`.
pub type NdisIoWorkItemFunction = unsafe extern "system" fn(*mut c_void, NDIS_HANDLE);

/// `NDIS_MINIPORT_DRIVER_CHARACTERISTICS` (revision 2, NDIS 6.1+).
#[repr(C)]
#[derive(Default)]
pub struct NDIS_MINIPORT_DRIVER_CHARACTERISTICS {
    /// Type `MINIPORT_DRIVER_CHARACTERISTICS`, revision 2.
    pub Header: NDIS_OBJECT_HEADER,
    /// NDIS major version (6).
    pub MajorNdisVersion: u8,
    /// NDIS minor version (30).
    pub MinorNdisVersion: u8,
    /// Driver major version.
    pub MajorDriverVersion: u8,
    /// Driver minor version.
    pub MinorDriverVersion: u8,
    /// `NDIS_WDM_DRIVER`...; 0 for us.
    pub Flags: u32,
    /// `SET_OPTIONS`.
    pub SetOptionsHandler:
        Option<unsafe extern "system" fn(NDIS_HANDLE, NDIS_HANDLE) -> NDIS_STATUS>,
    /// `MiniportInitializeEx`.
    pub InitializeHandlerEx: Option<MiniportInitialize>,
    /// `MiniportHaltEx`.
    pub HaltHandlerEx: Option<MiniportHalt>,
    /// `MiniportDriverUnload`.
    pub UnloadHandler: Option<MiniportUnload>,
    /// `MiniportPause`.
    pub PauseHandler: Option<MiniportPause>,
    /// `MiniportRestart`.
    pub RestartHandler: Option<MiniportRestart>,
    /// `MiniportOidRequest`.
    pub OidRequestHandler: Option<MiniportOidRequest>,
    /// `MiniportSendNetBufferLists`.
    pub SendNetBufferListsHandler: Option<MiniportSendNetBufferLists>,
    /// `MiniportReturnNetBufferLists`.
    pub ReturnNetBufferListsHandler: Option<MiniportReturnNetBufferLists>,
    /// `MiniportCancelSend`.
    pub CancelSendHandler: Option<MiniportCancelSend>,
    /// `MiniportCheckForHangEx`.
    pub CheckForHangHandlerEx: Option<MiniportCheckForHang>,
    /// `MiniportResetEx`.
    pub ResetHandlerEx: Option<MiniportReset>,
    /// `MiniportDevicePnPEventNotify`.
    pub DevicePnPEventNotifyHandler: Option<MiniportDevicePnpEventNotify>,
    /// `MiniportShutdownEx`.
    pub ShutdownHandlerEx: Option<MiniportShutdown>,
    /// `MiniportCancelOidRequest`.
    pub CancelOidRequestHandler: Option<MiniportCancelOidRequest>,
    /// `MiniportDirectOidRequest` (6.1, optional).
    pub DirectOidRequestHandler: Option<MiniportOidRequest>,
    /// `MiniportCancelDirectOidRequest` (6.1, optional).
    pub CancelDirectOidRequestHandler: Option<MiniportCancelOidRequest>,
}
/// `NDIS_MINIPORT_DRIVER_CHARACTERISTICS_REVISION_2`.
pub const NDIS_MINIPORT_DRIVER_CHARACTERISTICS_REVISION_2: u8 = 2;
/// `NDIS_SIZEOF_MINIPORT_DRIVER_CHARACTERISTICS_REVISION_1`.
pub const NDIS_SIZEOF_MINIPORT_DRIVER_CHARACTERISTICS_REVISION_1: usize = size_through!(
    NDIS_MINIPORT_DRIVER_CHARACTERISTICS,
    CancelOidRequestHandler
);
/// `NDIS_SIZEOF_MINIPORT_DRIVER_CHARACTERISTICS_REVISION_2`.
pub const NDIS_SIZEOF_MINIPORT_DRIVER_CHARACTERISTICS_REVISION_2: usize = size_through!(
    NDIS_MINIPORT_DRIVER_CHARACTERISTICS,
    CancelDirectOidRequestHandler
);
const _: () = assert!(NDIS_SIZEOF_MINIPORT_DRIVER_CHARACTERISTICS_REVISION_1 == 136);
const _: () = assert!(NDIS_SIZEOF_MINIPORT_DRIVER_CHARACTERISTICS_REVISION_2 == 152);
const _: () = assert!(size_of::<NDIS_MINIPORT_DRIVER_CHARACTERISTICS>() == 152);

/// `NDIS_MINIPORT_ADAPTER_REGISTRATION_ATTRIBUTES`.
#[repr(C)]
pub struct NDIS_MINIPORT_ADAPTER_REGISTRATION_ATTRIBUTES {
    /// Type `MINIPORT_ADAPTER_REGISTRATION_ATTRIBUTES`, revision 2 (6.30).
    pub Header: NDIS_OBJECT_HEADER,
    /// Our adapter context, passed back to every handler.
    pub MiniportAdapterContext: NDIS_HANDLE,
    /// `NDIS_MINIPORT_ATTRIBUTES_*`.
    pub AttributeFlags: u32,
    /// CheckForHangEx period in seconds.
    pub CheckForHangTimeInSeconds: u32,
    /// `NDIS_INTERFACE_TYPE` (`NdisInterfacePci` = 5).
    pub InterfaceType: u32,
}
/// `NDIS_MINIPORT_ADAPTER_REGISTRATION_ATTRIBUTES_REVISION_2`.
pub const NDIS_MINIPORT_ADAPTER_REGISTRATION_ATTRIBUTES_REVISION_2: u8 = 2;
/// `NDIS_SIZEOF_MINIPORT_ADAPTER_REGISTRATION_ATTRIBUTES_REVISION_2`.
pub const NDIS_SIZEOF_MINIPORT_ADAPTER_REGISTRATION_ATTRIBUTES_REVISION_2: usize =
    size_through!(NDIS_MINIPORT_ADAPTER_REGISTRATION_ATTRIBUTES, InterfaceType);
const _: () = assert!(NDIS_SIZEOF_MINIPORT_ADAPTER_REGISTRATION_ATTRIBUTES_REVISION_2 == 28);
const _: () = assert!(size_of::<NDIS_MINIPORT_ADAPTER_REGISTRATION_ATTRIBUTES>() == 32);
/// Attribute flag: a physical device.
pub const NDIS_MINIPORT_ATTRIBUTES_HARDWARE_DEVICE: u32 = 0x0000_0001;
/// Attribute flag: surprise removal is handled.
pub const NDIS_MINIPORT_ATTRIBUTES_SURPRISE_REMOVE_OK: u32 = 0x0000_0004;
/// Attribute flag: bus-master DMA.
pub const NDIS_MINIPORT_ATTRIBUTES_BUS_MASTER: u32 = 0x0000_0040;
/// `NdisInterfacePci`.
pub const NDIS_INTERFACE_PCI: u32 = 5;

/// `NDIS_MINIPORT_ADAPTER_GENERAL_ATTRIBUTES` (revision 2, NDIS 6.20+).
#[repr(C)]
pub struct NDIS_MINIPORT_ADAPTER_GENERAL_ATTRIBUTES {
    /// Type `MINIPORT_ADAPTER_GENERAL_ATTRIBUTES`, revision 2.
    pub Header: NDIS_OBJECT_HEADER,
    /// Reserved, 0.
    pub Flags: u32,
    /// `NDIS_MEDIUM`.
    pub MediaType: u32,
    /// `NDIS_PHYSICAL_MEDIUM`.
    pub PhysicalMediumType: u32,
    /// MTU (L3 payload).
    pub MtuSize: u32,
    /// Maximum send speed, bit/s.
    pub MaxXmitLinkSpeed: u64,
    /// Current send speed, bit/s.
    pub XmitLinkSpeed: u64,
    /// Maximum receive speed, bit/s.
    pub MaxRcvLinkSpeed: u64,
    /// Current receive speed, bit/s.
    pub RcvLinkSpeed: u64,
    /// `NET_IF_MEDIA_CONNECT_STATE`.
    pub MediaConnectState: u32,
    /// `NET_IF_MEDIA_DUPLEX_STATE`.
    pub MediaDuplexState: u32,
    /// Lookahead size.
    pub LookaheadSize: u32,
    /// Legacy PM capabilities (NULL: none).
    pub PowerManagementCapabilities: *mut c_void,
    /// `NDIS_MAC_OPTION_*`.
    pub MacOptions: u32,
    /// `NDIS_PACKET_TYPE_*` supported.
    pub SupportedPacketFilters: u32,
    /// Multicast list capacity.
    pub MaxMulticastListSize: u32,
    /// 6 for Ethernet.
    pub MacAddressLength: u16,
    /// Burned-in MAC.
    pub PermanentMacAddress: [u8; super::oid::NDIS_MAX_PHYS_ADDRESS_LENGTH],
    /// MAC in use.
    pub CurrentMacAddress: [u8; super::oid::NDIS_MAX_PHYS_ADDRESS_LENGTH],
    /// RSS capabilities (NULL: no RSS).
    pub RecvScaleCapabilities: *mut NDIS_RECEIVE_SCALE_CAPABILITIES,
    /// `NET_IF_ACCESS_TYPE`.
    pub AccessType: u32,
    /// `NET_IF_DIRECTION_TYPE`.
    pub DirectionType: u32,
    /// `NET_IF_CONNECTION_TYPE`.
    pub ConnectionType: u32,
    /// `NET_IFTYPE`.
    pub IfType: u16,
    /// RFC 2665 connector present.
    pub IfConnectorPresent: BOOLEAN,
    /// `NDIS_STATISTICS_*_SUPPORTED`.
    pub SupportedStatistics: u32,
    /// `NDIS_SUPPORTED_PAUSE_FUNCTIONS`.
    pub SupportedPauseFunctions: u32,
    /// Data backfill.
    pub DataBackFillSize: u32,
    /// Context backfill.
    pub ContextBackFillSize: u32,
    /// OIDs the miniport answers.
    pub SupportedOidList: *const NDIS_OID,
    /// Length of that list in bytes.
    pub SupportedOidListLength: u32,
    /// `NDIS_LINK_STATE_*_AUTO_NEGOTIATED`.
    pub AutoNegotiationFlags: u32,
    /// `NDIS_PM_CAPABILITIES` (NULL: none).
    pub PowerManagementCapabilitiesEx: *mut c_void,
}
/// `NDIS_MINIPORT_ADAPTER_GENERAL_ATTRIBUTES_REVISION_2`.
pub const NDIS_MINIPORT_ADAPTER_GENERAL_ATTRIBUTES_REVISION_2: u8 = 2;
/// `NDIS_SIZEOF_MINIPORT_ADAPTER_GENERAL_ATTRIBUTES_REVISION_1`.
pub const NDIS_SIZEOF_MINIPORT_ADAPTER_GENERAL_ATTRIBUTES_REVISION_1: usize = size_through!(
    NDIS_MINIPORT_ADAPTER_GENERAL_ATTRIBUTES,
    AutoNegotiationFlags
);
/// `NDIS_SIZEOF_MINIPORT_ADAPTER_GENERAL_ATTRIBUTES_REVISION_2`.
pub const NDIS_SIZEOF_MINIPORT_ADAPTER_GENERAL_ATTRIBUTES_REVISION_2: usize = size_through!(
    NDIS_MINIPORT_ADAPTER_GENERAL_ATTRIBUTES,
    PowerManagementCapabilitiesEx
);
const _: () = assert!(NDIS_SIZEOF_MINIPORT_ADAPTER_GENERAL_ATTRIBUTES_REVISION_1 == 216);
const _: () = assert!(NDIS_SIZEOF_MINIPORT_ADAPTER_GENERAL_ATTRIBUTES_REVISION_2 == 224);
const _: () = assert!(size_of::<NDIS_MINIPORT_ADAPTER_GENERAL_ATTRIBUTES>() == 224);

/// `NDIS_MINIPORT_ADAPTER_OFFLOAD_ATTRIBUTES`.
#[repr(C)]
pub struct NDIS_MINIPORT_ADAPTER_OFFLOAD_ATTRIBUTES {
    /// Type `MINIPORT_ADAPTER_OFFLOAD_ATTRIBUTES`, revision 1.
    pub Header: NDIS_OBJECT_HEADER,
    /// Offloads enabled at start (from the keywords).
    pub DefaultOffloadConfiguration: *mut NDIS_OFFLOAD,
    /// Everything the hardware can do.
    pub HardwareOffloadCapabilities: *mut NDIS_OFFLOAD,
    /// TCP chimney (NULL).
    pub DefaultTcpConnectionOffloadConfiguration: *mut c_void,
    /// TCP chimney (NULL).
    pub TcpConnectionOffloadHardwareCapabilities: *mut c_void,
}
/// `NDIS_MINIPORT_ADAPTER_OFFLOAD_ATTRIBUTES_REVISION_1`.
pub const NDIS_MINIPORT_ADAPTER_OFFLOAD_ATTRIBUTES_REVISION_1: u8 = 1;
/// `NDIS_SIZEOF_MINIPORT_ADAPTER_OFFLOAD_ATTRIBUTES_REVISION_1`.
pub const NDIS_SIZEOF_MINIPORT_ADAPTER_OFFLOAD_ATTRIBUTES_REVISION_1: usize = size_through!(
    NDIS_MINIPORT_ADAPTER_OFFLOAD_ATTRIBUTES,
    TcpConnectionOffloadHardwareCapabilities
);
const _: () = assert!(NDIS_SIZEOF_MINIPORT_ADAPTER_OFFLOAD_ATTRIBUTES_REVISION_1 == 40);
const _: () = assert!(size_of::<NDIS_MINIPORT_ADAPTER_OFFLOAD_ATTRIBUTES>() == 40);

/// `NDIS_MINIPORT_INIT_PARAMETERS` (what InitializeEx receives).
#[repr(C)]
pub struct NDIS_MINIPORT_INIT_PARAMETERS {
    /// Type `MINIPORT_INIT_PARAMETERS`.
    pub Header: NDIS_OBJECT_HEADER,
    /// Reserved.
    pub Flags: u32,
    /// Translated hardware resources (`CM_PARTIAL_RESOURCE_LIST`).
    pub AllocatedResources: *mut CM_PARTIAL_RESOURCE_LIST,
    /// IM drivers only.
    pub IMDeviceInstanceContext: NDIS_HANDLE,
    /// From MiniportAddDevice (unused).
    pub MiniportAddDeviceContext: NDIS_HANDLE,
    /// Interface index.
    pub IfIndex: u32,
    /// `NET_LUID`.
    pub NetLuid: u64,
    /// Port authentication defaults.
    pub DefaultPortAuthStates: *mut c_void,
    /// PCIe properties.
    pub PciDeviceCustomProperties: *mut c_void,
}
const _: () =
    assert!(size_through!(NDIS_MINIPORT_INIT_PARAMETERS, PciDeviceCustomProperties) == 64);
const _: () = assert!(size_of::<NDIS_MINIPORT_INIT_PARAMETERS>() == 64);

/// `NDIS_MINIPORT_PAUSE_PARAMETERS`.
#[repr(C)]
pub struct NDIS_MINIPORT_PAUSE_PARAMETERS {
    /// Header.
    pub Header: NDIS_OBJECT_HEADER,
    /// Reserved.
    pub Flags: u32,
    /// `NDIS_PAUSE_*`.
    pub PauseReason: u32,
}
const _: () = assert!(size_of::<NDIS_MINIPORT_PAUSE_PARAMETERS>() == 12);

/// `NDIS_MINIPORT_RESTART_PARAMETERS`.
#[repr(C)]
pub struct NDIS_MINIPORT_RESTART_PARAMETERS {
    /// Header.
    pub Header: NDIS_OBJECT_HEADER,
    /// Attribute list (unused).
    pub RestartAttributes: *mut c_void,
    /// Reserved.
    pub Flags: u32,
}
const _: () = assert!(size_through!(NDIS_MINIPORT_RESTART_PARAMETERS, Flags) == 20);

/// `NDIS_SG_DMA_DESCRIPTION`.
#[repr(C)]
pub struct NDIS_SG_DMA_DESCRIPTION {
    /// Type `SG_DMA_DESCRIPTION`, revision 1.
    pub Header: NDIS_OBJECT_HEADER,
    /// [`NDIS_SG_DMA_64_BIT_ADDRESS`].
    pub Flags: u32,
    /// Largest mapping (largest LSO frame).
    pub MaximumPhysicalMapping: u32,
    /// Called with each NET_BUFFER's scatter-gather list.
    pub ProcessSGListHandler: Option<MiniportProcessSgList>,
    /// Async shared-memory completion (NULL: not used).
    pub SharedMemAllocateCompleteHandler: Option<MiniportAllocateSharedMemComplete>,
    /// Out: SG list buffer size NDIS would need.
    pub ScatterGatherListSize: u32,
}
/// `NDIS_SG_DMA_DESCRIPTION_REVISION_1`.
pub const NDIS_SG_DMA_DESCRIPTION_REVISION_1: u8 = 1;
/// `NDIS_SIZEOF_SG_DMA_DESCRIPTION_REVISION_1`.
pub const NDIS_SIZEOF_SG_DMA_DESCRIPTION_REVISION_1: usize =
    size_through!(NDIS_SG_DMA_DESCRIPTION, ScatterGatherListSize);
const _: () = assert!(NDIS_SIZEOF_SG_DMA_DESCRIPTION_REVISION_1 == 36);
const _: () = assert!(size_of::<NDIS_SG_DMA_DESCRIPTION>() == 40);
/// The device does 64-bit DMA (ENA and MANA both do, ena.md/mana.md §1).
pub const NDIS_SG_DMA_64_BIT_ADDRESS: u32 = 0x1;

/// `NDIS_MINIPORT_INTERRUPT_CHARACTERISTICS`.
#[repr(C)]
pub struct NDIS_MINIPORT_INTERRUPT_CHARACTERISTICS {
    /// Type `MINIPORT_INTERRUPT`, revision 1.
    pub Header: NDIS_OBJECT_HEADER,
    /// Line-based ISR.
    pub InterruptHandler: Option<MiniportIsr>,
    /// Line-based DPC.
    pub InterruptDpcHandler: Option<MiniportInterruptDpc>,
    /// Line-based disable.
    pub DisableInterruptHandler: Option<MiniportToggleInterrupt>,
    /// Line-based enable.
    pub EnableInterruptHandler: Option<MiniportToggleInterrupt>,
    /// MSI/MSI-X supported.
    pub MsiSupported: BOOLEAN,
    /// Serialise all messages against one another (FALSE: per message).
    pub MsiSyncWithAllMessages: BOOLEAN,
    /// Message ISR.
    pub MessageInterruptHandler: Option<MiniportMessageInterrupt>,
    /// Message DPC (one per message: our per-queue DPCs).
    pub MessageInterruptDpcHandler: Option<MiniportMessageInterruptDpc>,
    /// Message disable.
    pub DisableMessageInterruptHandler: Option<MiniportToggleMessageInterrupt>,
    /// Message enable.
    pub EnableMessageInterruptHandler: Option<MiniportToggleMessageInterrupt>,
    /// Out: `NDIS_CONNECT_LINE_BASED` (1) or `..._MESSAGE_BASED` (2).
    pub InterruptType: u32,
    /// Out: the granted messages.
    pub MessageInfoTable: *mut IO_INTERRUPT_MESSAGE_INFO,
}
/// `NDIS_MINIPORT_INTERRUPT_REVISION_1`.
pub const NDIS_MINIPORT_INTERRUPT_REVISION_1: u8 = 1;
/// `NDIS_SIZEOF_MINIPORT_INTERRUPT_CHARACTERISTICS_REVISION_1`.
pub const NDIS_SIZEOF_MINIPORT_INTERRUPT_CHARACTERISTICS_REVISION_1: usize =
    size_through!(NDIS_MINIPORT_INTERRUPT_CHARACTERISTICS, MessageInfoTable);
const _: () = assert!(NDIS_SIZEOF_MINIPORT_INTERRUPT_CHARACTERISTICS_REVISION_1 == 96);
/// `NDIS_CONNECT_MESSAGE_BASED`.
pub const NDIS_CONNECT_MESSAGE_BASED: u32 = 2;

/// `NDIS_RECEIVE_THROTTLE_PARAMETERS` (NDIS 6.20 DPC argument).
#[repr(C)]
pub struct NDIS_RECEIVE_THROTTLE_PARAMETERS {
    /// In: most NBLs to indicate in this DPC.
    pub MaxNblsToIndicate: u32,
    /// Out: bit 0 = MoreNblsPending (NDIS re-queues the DPC).
    pub Flags: u32,
}
const _: () = assert!(size_of::<NDIS_RECEIVE_THROTTLE_PARAMETERS>() == 8);

/// `IO_INTERRUPT_MESSAGE_INFO` header (entries follow; only the count is used).
#[repr(C)]
pub struct IO_INTERRUPT_MESSAGE_INFO {
    /// Unified IRQL.
    pub UnifiedIrql: u8,
    /// Messages granted.
    pub MessageCount: u32,
}
const _: () = assert!(core::mem::offset_of!(IO_INTERRUPT_MESSAGE_INFO, MessageCount) == 4);

/// `CM_PARTIAL_RESOURCE_DESCRIPTOR` (`#pragma pack(4)`, 20 bytes on x64).
/// The 16-byte union is kept as words; see [`Self::memory`].
#[repr(C, packed(4))]
#[derive(Clone, Copy, Debug, Default)]
pub struct CM_PARTIAL_RESOURCE_DESCRIPTOR {
    /// `CmResourceType*`.
    pub Type: u8,
    /// `CM_SHARE_DISPOSITION`.
    pub ShareDisposition: u8,
    /// Type-specific flags (`CM_RESOURCE_MEMORY_LARGE_*` for memory).
    pub Flags: u16,
    /// The `u` union as little-endian words.
    pub u: [u32; 4],
}
const _: () = assert!(size_of::<CM_PARTIAL_RESOURCE_DESCRIPTOR>() == 20);
/// `CmResourceTypeMemory`.
pub const CM_RESOURCE_TYPE_MEMORY: u8 = 3;
/// `CmResourceTypeMemoryLarge`.
pub const CM_RESOURCE_TYPE_MEMORY_LARGE: u8 = 7;
/// `CM_RESOURCE_MEMORY_LARGE_40`: length in units of 256 bytes.
pub const CM_RESOURCE_MEMORY_LARGE_40: u16 = 0x0200;
/// `CM_RESOURCE_MEMORY_LARGE_48`: length in units of 64 KiB.
pub const CM_RESOURCE_MEMORY_LARGE_48: u16 = 0x0400;
/// `CM_RESOURCE_MEMORY_LARGE_64`: length in units of 4 GiB.
pub const CM_RESOURCE_MEMORY_LARGE_64: u16 = 0x0800;

/// `CM_PARTIAL_RESOURCE_LIST` header; `Count` descriptors follow.
#[repr(C)]
#[derive(Debug)]
pub struct CM_PARTIAL_RESOURCE_LIST {
    /// Version.
    pub Version: u16,
    /// Revision.
    pub Revision: u16,
    /// Descriptor count.
    pub Count: u32,
    /// First descriptor (flexible array).
    pub PartialDescriptors: [CM_PARTIAL_RESOURCE_DESCRIPTOR; 0],
}
const _: () = assert!(core::mem::offset_of!(CM_PARTIAL_RESOURCE_LIST, PartialDescriptors) == 8);

/// `NDIS_CONFIGURATION_OBJECT` (for `NdisOpenConfigurationEx`).
#[repr(C)]
pub struct NDIS_CONFIGURATION_OBJECT {
    /// Type `CONFIGURATION_OBJECT`, revision 1.
    pub Header: NDIS_OBJECT_HEADER,
    /// The miniport adapter handle.
    pub NdisHandle: NDIS_HANDLE,
    /// 0.
    pub Flags: u32,
}
/// `NDIS_SIZEOF_CONFIGURATION_OBJECT_REVISION_1`.
pub const NDIS_SIZEOF_CONFIGURATION_OBJECT_REVISION_1: usize =
    size_through!(NDIS_CONFIGURATION_OBJECT, Flags);
const _: () = assert!(NDIS_SIZEOF_CONFIGURATION_OBJECT_REVISION_1 == 20);

/// `NDIS_PARAMETER_TYPE::NdisParameterInteger`.
pub const NDIS_PARAMETER_INTEGER: u32 = 0;
/// `NdisParameterHexInteger`.
pub const NDIS_PARAMETER_HEX_INTEGER: u32 = 1;
/// `NdisParameterString`.
pub const NDIS_PARAMETER_STRING: u32 = 2;

/// `NDIS_CONFIGURATION_PARAMETER` (24 bytes).
#[repr(C)]
pub struct NDIS_CONFIGURATION_PARAMETER {
    /// `NDIS_PARAMETER_TYPE` of the value returned.
    pub ParameterType: u32,
    /// `IntegerData` (low 4 bytes) or `StringData` (`UNICODE_STRING`).
    pub ParameterData: ConfigurationData,
}
/// The `ParameterData` union.
#[repr(C)]
pub union ConfigurationData {
    /// Integer value.
    pub IntegerData: u32,
    /// String value.
    pub StringData: UNICODE_STRING,
}
const _: () = assert!(size_of::<NDIS_CONFIGURATION_PARAMETER>() == 24);

/// `NET_DEVICE_PNP_EVENT`.
#[repr(C)]
pub struct NET_DEVICE_PNP_EVENT {
    /// Header.
    pub Header: NDIS_OBJECT_HEADER,
    /// Port.
    pub PortNumber: NDIS_PORT_NUMBER,
    /// `NDIS_DEVICE_PNP_EVENT`.
    pub DevicePnPEvent: u32,
    /// Event data.
    pub InformationBuffer: *mut c_void,
    /// Event data length.
    pub InformationBufferLength: u32,
    /// Reserved.
    pub NdisReserved: [u8; 16],
}
const _: () = assert!(size_through!(NET_DEVICE_PNP_EVENT, NdisReserved) == 44);
/// `NdisDevicePnPEventSurpriseRemoved`.
pub const NDIS_DEVICE_PNP_EVENT_SURPRISE_REMOVED: u32 = 2;
/// `NdisShutdownPowerOff` (PASSIVE_LEVEL; `NdisShutdownBugCheck` is HIGH_LEVEL).
pub const NDIS_SHUTDOWN_POWER_OFF: u32 = 0;
