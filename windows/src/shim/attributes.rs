//! Adapter attributes set from InitializeEx (registration, general with RSS
//! capabilities, offload) and scatter-gather DMA registration.

use core::ptr;

use super::adapter::{Adapter, MAX_MULTICAST};
use super::send;
use crate::logic::oid::SUPPORTED_OIDS;
use crate::logic::rss;
use crate::ndis::ffi;
use crate::ndis::miniport::*;
use crate::ndis::nbl::lso_info;
use crate::ndis::objects::{
    NDIS_RECEIVE_SCALE_CAPABILITIES, NDIS_RECEIVE_SCALE_CAPABILITIES_REVISION_2,
    NDIS_SIZEOF_RECEIVE_SCALE_CAPABILITIES_REVISION_2,
};
use crate::ndis::oid::*;
use crate::ndis::status::NDIS_STATUS_SUCCESS;
use crate::ndis::{NDIS_HANDLE, NDIS_OBJECT_HEADER, NDIS_STATUS};

/// CheckForHangEx period (seconds): the shared health monitor's checks are
/// written for a ~1–2 s cadence.
const CHECK_FOR_HANG_SECONDS: u32 = 2;

/// Registration attributes: our context, a bus-master PCI device.
pub fn set_registration(handle: NDIS_HANDLE, ctx: NDIS_HANDLE) -> NDIS_STATUS {
    let mut attrs = NDIS_MINIPORT_ADAPTER_REGISTRATION_ATTRIBUTES {
        Header: NDIS_OBJECT_HEADER::new(
            object_type::MINIPORT_ADAPTER_REGISTRATION_ATTRIBUTES,
            NDIS_MINIPORT_ADAPTER_REGISTRATION_ATTRIBUTES_REVISION_2,
            NDIS_SIZEOF_MINIPORT_ADAPTER_REGISTRATION_ATTRIBUTES_REVISION_2,
        ),
        MiniportAdapterContext: ctx,
        AttributeFlags: NDIS_MINIPORT_ATTRIBUTES_HARDWARE_DEVICE
            | NDIS_MINIPORT_ATTRIBUTES_BUS_MASTER
            | NDIS_MINIPORT_ATTRIBUTES_SURPRISE_REMOVE_OK,
        CheckForHangTimeInSeconds: CHECK_FOR_HANG_SECONDS,
        InterfaceType: NDIS_INTERFACE_PCI,
    };
    // SAFETY: valid attributes; NDIS copies them.
    unsafe {
        ffi::NdisMSetMiniportAttributes(
            handle,
            (&mut attrs as *mut NDIS_MINIPORT_ADAPTER_REGISTRATION_ATTRIBUTES).cast(),
        )
    }
}

/// Scatter-gather DMA: 64-bit, mappings up to the largest LSO frame.
pub fn register_sg_dma(a: &mut Adapter) -> NDIS_STATUS {
    let mut d = NDIS_SG_DMA_DESCRIPTION {
        Header: NDIS_OBJECT_HEADER::new(
            object_type::SG_DMA_DESCRIPTION,
            NDIS_SG_DMA_DESCRIPTION_REVISION_1,
            NDIS_SIZEOF_SG_DMA_DESCRIPTION_REVISION_1,
        ),
        Flags: NDIS_SG_DMA_64_BIT_ADDRESS,
        MaximumPhysicalMapping: lso_info::MAX_OFFLOAD_SIZE + 256,
        ProcessSGListHandler: Some(send::process_sg_list),
        SharedMemAllocateCompleteHandler: None,
        ScatterGatherListSize: 0,
    };
    let mut h = ptr::null_mut();
    // SAFETY: valid description and out-parameter.
    let st = unsafe { ffi::NdisMRegisterScatterGatherDma(a.handle, &mut d, &mut h) };
    if st == NDIS_STATUS_SUCCESS {
        a.dma = h;
    }
    st
}

/// General attributes: Ethernet, MAC, MTU, link, filters, statistics, RSS
/// capabilities, the OID list.
pub fn set_general(a: &Adapter, link_up: bool) -> NDIS_STATUS {
    let mut rss_caps = NDIS_RECEIVE_SCALE_CAPABILITIES {
        Header: NDIS_OBJECT_HEADER::new(
            object_type::RSS_CAPABILITIES,
            NDIS_RECEIVE_SCALE_CAPABILITIES_REVISION_2,
            NDIS_SIZEOF_RECEIVE_SCALE_CAPABILITIES_REVISION_2,
        ),
        CapabilitiesFlags: rss::capability_flags(),
        NumberOfInterruptMessages: a.messages,
        NumberOfReceiveQueues: u32::from(a.qcfg.num_queues),
        NumberOfIndirectionTableEntries: a
            .info
            .rss_table_size
            .min(NDIS_RSS_INDIRECTION_TABLE_MAX_ENTRIES as u32)
            as u16,
    };
    let ls = super::control::link_state(a, link_up);
    let speed = if a.info.link_speed_mbps == 0 {
        NDIS_LINK_SPEED_UNKNOWN
    } else {
        u64::from(a.info.link_speed_mbps) * 1_000_000
    };
    let mut mac = [0u8; NDIS_MAX_PHYS_ADDRESS_LENGTH];
    mac[..6].copy_from_slice(&a.info.mac);
    let with_rss = a.kw.rss && a.info.rss_table_size != 0;
    let mut g = NDIS_MINIPORT_ADAPTER_GENERAL_ATTRIBUTES {
        Header: NDIS_OBJECT_HEADER::new(
            object_type::MINIPORT_ADAPTER_GENERAL_ATTRIBUTES,
            NDIS_MINIPORT_ADAPTER_GENERAL_ATTRIBUTES_REVISION_2,
            NDIS_SIZEOF_MINIPORT_ADAPTER_GENERAL_ATTRIBUTES_REVISION_2,
        ),
        Flags: 0,
        MediaType: NDIS_MEDIUM_802_3,
        PhysicalMediumType: NDIS_PHYSICAL_MEDIUM_802_3,
        MtuSize: a.qcfg.mtu,
        MaxXmitLinkSpeed: speed,
        XmitLinkSpeed: ls.XmitLinkSpeed,
        MaxRcvLinkSpeed: speed,
        RcvLinkSpeed: ls.RcvLinkSpeed,
        MediaConnectState: ls.MediaConnectState,
        MediaDuplexState: ls.MediaDuplexState,
        LookaheadSize: a.qcfg.mtu + 14,
        PowerManagementCapabilities: ptr::null_mut(),
        MacOptions: NDIS_MAC_OPTION_COPY_LOOKAHEAD_DATA
            | NDIS_MAC_OPTION_TRANSFERS_NOT_PEND
            | NDIS_MAC_OPTION_NO_LOOPBACK
            | NDIS_MAC_OPTION_FULL_DUPLEX,
        SupportedPacketFilters: SUPPORTED_PACKET_FILTERS,
        MaxMulticastListSize: MAX_MULTICAST as u32,
        MacAddressLength: 6,
        PermanentMacAddress: mac,
        CurrentMacAddress: mac,
        RecvScaleCapabilities: if with_rss {
            &mut rss_caps
        } else {
            ptr::null_mut()
        },
        AccessType: NET_IF_ACCESS_BROADCAST,
        DirectionType: NET_IF_DIRECTION_SENDRECEIVE,
        ConnectionType: NET_IF_CONNECTION_DEDICATED,
        IfType: IF_TYPE_ETHERNET_CSMACD,
        IfConnectorPresent: 1,
        SupportedStatistics: stats_supported::ALL,
        SupportedPauseFunctions: NDIS_PAUSE_FUNCTIONS_UNSUPPORTED,
        DataBackFillSize: 0,
        ContextBackFillSize: 0,
        SupportedOidList: SUPPORTED_OIDS.as_ptr(),
        SupportedOidListLength: core::mem::size_of_val(&SUPPORTED_OIDS) as u32,
        AutoNegotiationFlags: 0,
        PowerManagementCapabilitiesEx: ptr::null_mut(),
    };
    // SAFETY: valid attributes; NDIS copies them (and the OID list, caps).
    unsafe {
        ffi::NdisMSetMiniportAttributes(
            a.handle,
            (&mut g as *mut NDIS_MINIPORT_ADAPTER_GENERAL_ATTRIBUTES).cast(),
        )
    }
}

/// Offload attributes: the hardware's capabilities and the keyword defaults.
pub fn set_offload(a: &Adapter) -> NDIS_STATUS {
    let mut current = a.offloads().to_ndis();
    let mut hw = a.hw_offload.to_ndis();
    let mut attrs = NDIS_MINIPORT_ADAPTER_OFFLOAD_ATTRIBUTES {
        Header: NDIS_OBJECT_HEADER::new(
            object_type::MINIPORT_ADAPTER_OFFLOAD_ATTRIBUTES,
            NDIS_MINIPORT_ADAPTER_OFFLOAD_ATTRIBUTES_REVISION_1,
            NDIS_SIZEOF_MINIPORT_ADAPTER_OFFLOAD_ATTRIBUTES_REVISION_1,
        ),
        DefaultOffloadConfiguration: &mut current,
        HardwareOffloadCapabilities: &mut hw,
        DefaultTcpConnectionOffloadConfiguration: ptr::null_mut(),
        TcpConnectionOffloadHardwareCapabilities: ptr::null_mut(),
    };
    // SAFETY: valid attributes; NDIS copies them.
    unsafe {
        ffi::NdisMSetMiniportAttributes(
            a.handle,
            (&mut attrs as *mut NDIS_MINIPORT_ADAPTER_OFFLOAD_ATTRIBUTES).cast(),
        )
    }
}
