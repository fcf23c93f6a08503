//! MANA Ethernet ("BNIC") control commands: codes, versions, request and
//! response layouts, statistics masks (mana.md §6.1–§6.5, §8).

use zerocopy_derive::{FromBytes, Immutable, IntoBytes, KnownLayout};

use super::gdma::gdma_request;
use super::msg::{
    GdmaGeneralResp, GdmaReqHdr, GdmaRequest, GdmaRespHdr, GDMA_MESSAGE_V1, GDMA_MESSAGE_V2,
    GDMA_MESSAGE_V3,
};

/// MANA Ethernet command codes (mana.md §6.2).
pub mod code {
    /// Device capabilities, vPort count, MTU.
    pub const QUERY_DEV_CONFIG: u32 = 0x20001;
    /// Global function (GF) statistics.
    pub const QUERY_GF_STAT: u32 = 0x20002;
    /// Take the vPort for TX; returns the vPort offset.
    pub const CONFIG_VPORT_TX: u32 = 0x20003;
    /// Create an SQ or RQ object with its CQ.
    pub const CREATE_WQ_OBJ: u32 = 0x20004;
    /// Destroy a WQ object.
    pub const DESTROY_WQ_OBJ: u32 = 0x20005;
    /// Fence an RQ (completion arrives as an RX CQE of type FENCE).
    pub const FENCE_RQ: u32 = 0x20006;
    /// RX steering: enable, RSS key/table, default RX object.
    pub const CONFIG_VPORT_RX: u32 = 0x20007;
    /// vPort limits, MAC and handle.
    pub const QUERY_VPORT_CONFIG: u32 = 0x20008;
    /// Link speed and QoS.
    pub const QUERY_LINK_CONFIG: u32 = 0x2000A;
    /// Bandwidth clamp.
    pub const SET_BW_CLAMP: u32 = 0x2000B;
    /// PHY statistics.
    pub const QUERY_PHY_STAT: u32 = 0x2000C;
    /// OpenHCL: assign a vPort serial number.
    pub const VTL2_ASSIGN_SERIAL_NUMBER: u32 = 0x27801;
    /// OpenHCL: move the filter between VTLs.
    pub const VTL2_MOVE_FILTER: u32 = 0x27802;
    /// OpenHCL: query the filter state.
    pub const VTL2_QUERY_FILTER_STATE: u32 = 0x27803;
    /// PF only: register a MAC filter.
    pub const REGISTER_FILTER: u32 = 0x28000;
    /// PF only: deregister a MAC filter.
    pub const DEREGISTER_FILTER: u32 = 0x28001;
    /// PF only: register a hardware vPort.
    pub const REGISTER_HW_PORT: u32 = 0x28003;
    /// PF only: deregister a hardware vPort.
    pub const DEREGISTER_HW_PORT: u32 = 0x28004;
}

/// MANA protocol version sent in QUERY_DEV_CONFIG: 0.1.1 (mana.md §6.2).
pub const MANA_PROTO_MAJOR: u32 = 0;
/// Minor.
pub const MANA_PROTO_MINOR: u32 = 1;
/// Micro.
pub const MANA_PROTO_MICRO: u32 = 1;

/// Invalid MANA object handle (all ones, mana.md §6.3).
pub const INVALID_MANA_HANDLE: u64 = u64::MAX;
/// TRI_STATE "unknown / leave unchanged" (−1).
pub const TRI_STATE_UNKNOWN: u32 = 0xFFFF_FFFF;
/// TRI_STATE false.
pub const TRI_STATE_FALSE: u32 = 0;
/// TRI_STATE true.
pub const TRI_STATE_TRUE: u32 = 1;
/// Toeplitz key length (mana.md §6.5).
pub const MANA_HASH_KEY_SIZE: usize = 40;
/// Default / fallback indirection table size (mana.md §6.5).
pub const MANA_INDIRECT_TABLE_DEFAULT: u32 = 64;
/// Largest indirection table (power of two, with driver cap bit 5).
pub const MANA_INDIRECT_TABLE_MAX: u32 = 512;
/// Cap on vPorts per device (mana.md §6.1).
pub const MAX_PORTS_IN_MANA_DEV: u32 = 256;
/// Smallest adapter MTU (L2 frame) Linux accepts from QUERY_DEV_CONFIG V2 (mana.md §6.3).
pub const MIN_ADAPTER_MTU: u16 = 82;
/// Adapter MTU assumed with a V1 response.
pub const DEFAULT_ADAPTER_MTU: u16 = 1514;
/// WQ type for CREATE/DESTROY_WQ_OBJ: send queue (= GDMA SQ).
pub const WQ_TYPE_SQ: u32 = 1;
/// WQ type: receive queue (= GDMA RQ).
pub const WQ_TYPE_RQ: u32 = 2;

bitflags::bitflags! {
    /// PF capability word 1 of QUERY_DEV_CONFIG (mana.md §6.3, OpenVMM bits).
    #[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
    pub struct DevCfgPfCapFlags1: u64 {
        /// Bit 0: link status query.
        const QUERY_LINK_STATUS = 1 << 0;
        /// Bit 1: ethertype enforcement.
        const ETHERTYPE_ENFORCEMENT = 1 << 1;
        /// Bit 2: filter-state query.
        const QUERY_FILTER_STATE = 1 << 2;
    }
}

/// QUERY_DEV_CONFIG request, 88 bytes (mana.md §6.3).
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
#[repr(C)]
pub struct QueryDevConfigReq {
    /// Request header.
    pub hdr: GdmaReqHdr,
    /// MANA driver capability word 1 (0).
    pub mn_drv_cap_flags1: u64,
    /// Word 2 (0).
    pub mn_drv_cap_flags2: u64,
    /// Word 3 (0).
    pub mn_drv_cap_flags3: u64,
    /// Word 4 (0).
    pub mn_drv_cap_flags4: u64,
    /// Protocol major.
    pub proto_major_ver: u32,
    /// Protocol minor.
    pub proto_minor_ver: u32,
    /// Protocol micro.
    pub proto_micro_ver: u32,
    /// Reserved.
    pub reserved: u32,
}
/// MANA: QUERY_DEV_CONFIG request is 88 bytes (mana.md §6.3).
const _: () = assert!(core::mem::size_of::<QueryDevConfigReq>() == 88);

/// QUERY_DEV_CONFIG response, 80 bytes (response V3; mana.md §6.3).
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
#[repr(C)]
pub struct QueryDevConfigResp {
    /// Response header.
    pub hdr: GdmaRespHdr,
    /// [`DevCfgPfCapFlags1`].
    pub pf_cap_flags1: u64,
    /// Word 2.
    pub pf_cap_flags2: u64,
    /// Word 3.
    pub pf_cap_flags3: u64,
    /// Word 4.
    pub pf_cap_flags4: u64,
    /// vPorts behind the function.
    pub max_num_vports: u16,
    /// Bare-metal host mode (response V3).
    pub bm_hostmode: u8,
    /// Reserved.
    pub reserved: u8,
    /// Max EQs.
    pub max_num_eqs: u32,
    /// L2 frame limit (response V2; ≥ 82).
    pub adapter_mtu: u16,
    /// Reserved.
    pub reserved2: u16,
    /// OpenVMM: link speed in Mbit/s (0 → assume 200 Gbit/s).
    pub adapter_link_speed_mbps: u32,
}
/// MANA: QUERY_DEV_CONFIG response is 80 bytes (mana.md §6.3).
const _: () = assert!(core::mem::size_of::<QueryDevConfigResp>() == 80);
gdma_request!(
    QueryDevConfigReq,
    code::QUERY_DEV_CONFIG,
    QueryDevConfigResp,
    GDMA_MESSAGE_V1,
    GDMA_MESSAGE_V3
);

/// QUERY_VPORT_CONFIG request, 44 bytes (mana.md §6.3).
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
#[repr(C)]
pub struct QueryVportConfigReq {
    /// Request header.
    pub hdr: GdmaReqHdr,
    /// vPort index.
    pub vport_index: u32,
}
/// MANA: QUERY_VPORT_CONFIG request is 44 bytes (mana.md §6.3).
const _: () = assert!(core::mem::size_of::<QueryVportConfigReq>() == 44);

/// QUERY_VPORT_CONFIG response, 64 bytes (mana.md §6.3).
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
#[repr(C)]
pub struct QueryVportConfigResp {
    /// Response header.
    pub hdr: GdmaRespHdr,
    /// Max SQs of the vPort.
    pub max_num_sq: u32,
    /// Max RQs.
    pub max_num_rq: u32,
    /// Indirection table entries.
    pub num_indirection_ent: u32,
    /// Reserved.
    pub reserved1: u32,
    /// MAC address.
    pub mac_addr: [u8; 6],
    /// Reserved.
    pub reserved2: [u8; 2],
    /// vPort handle.
    pub vport: u64,
}
/// MANA: QUERY_VPORT_CONFIG response is 64 bytes (mana.md §6.3).
const _: () = assert!(core::mem::size_of::<QueryVportConfigResp>() == 64);
gdma_request!(
    QueryVportConfigReq,
    code::QUERY_VPORT_CONFIG,
    QueryVportConfigResp
);

/// CONFIG_VPORT_TX request, 56 bytes (mana.md §6.3).
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
#[repr(C)]
pub struct ConfigVportTxReq {
    /// Request header.
    pub hdr: GdmaReqHdr,
    /// vPort handle.
    pub vport: u64,
    /// Protection domain id.
    pub pdid: u32,
    /// Doorbell page index.
    pub doorbell_pageid: u32,
}
/// MANA: CONFIG_VPORT_TX request is 56 bytes (mana.md §6.3).
const _: () = assert!(core::mem::size_of::<ConfigVportTxReq>() == 56);

/// CONFIG_VPORT_TX response, 36 bytes (mana.md §6.3).
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
#[repr(C)]
pub struct ConfigVportTxResp {
    /// Response header.
    pub hdr: GdmaRespHdr,
    /// vPort offset for TX OOBs.
    pub tx_vport_offset: u16,
    /// Short OOB format allowed.
    pub short_form_allowed: u8,
    /// Reserved.
    pub reserved: u8,
}
/// MANA: CONFIG_VPORT_TX response is 36 bytes (mana.md §6.3).
const _: () = assert!(core::mem::size_of::<ConfigVportTxResp>() == 36);
gdma_request!(ConfigVportTxReq, code::CONFIG_VPORT_TX, ConfigVportTxResp);

/// CREATE_WQ_OBJ request V1, 88 bytes (mana.md §6.3).
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
#[repr(C)]
pub struct CreateWqObjReq {
    /// Request header.
    pub hdr: GdmaReqHdr,
    /// vPort handle.
    pub vport: u64,
    /// [`WQ_TYPE_SQ`] or [`WQ_TYPE_RQ`].
    pub wq_type: u32,
    /// Reserved.
    pub reserved: u32,
    /// WQ DMA region (consumed).
    pub wq_gdma_region: u64,
    /// CQ DMA region (consumed).
    pub cq_gdma_region: u64,
    /// WQ bytes.
    pub wq_size: u32,
    /// CQ bytes.
    pub cq_size: u32,
    /// CQ moderation context (0).
    pub cq_moderation_ctx_id: u32,
    /// Parent EQ id.
    pub cq_parent_qid: u32,
}
/// MANA: CREATE_WQ_OBJ request V1 is 88 bytes (mana.md §6.3).
const _: () = assert!(core::mem::size_of::<CreateWqObjReq>() == 88);

/// CREATE_WQ_OBJ request V3 with moderation fields, 96 bytes (mana.md §6.3, net-next).
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
#[repr(C)]
pub struct CreateWqObjReqV3 {
    /// The V1 part.
    pub v1: CreateWqObjReq,
    /// V2: allow RQ WQE chaining.
    pub allow_rqwqe_chain: u8,
    /// V3: request CQ moderation.
    pub req_cq_moderation: u8,
    /// V3: moderation completions.
    pub cq_moderation_comps: u16,
    /// V3: moderation interval (µs).
    pub cq_moderation_usec: u16,
    /// Reserved.
    pub reserved: u16,
}
/// MANA: CREATE_WQ_OBJ request V3 is 96 bytes (mana.md §6.3).
const _: () = assert!(core::mem::size_of::<CreateWqObjReqV3>() == 96);

/// CREATE_WQ_OBJ response, 48 bytes (mana.md §6.3).
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
#[repr(C)]
pub struct CreateWqObjResp {
    /// Response header.
    pub hdr: GdmaRespHdr,
    /// WQ id (used in doorbells and CQEs).
    pub wq_id: u32,
    /// CQ id.
    pub cq_id: u32,
    /// WQ object handle (all ones = invalid).
    pub wq_obj: u64,
}
/// MANA: CREATE_WQ_OBJ response is 48 bytes (mana.md §6.3).
const _: () = assert!(core::mem::size_of::<CreateWqObjResp>() == 48);
gdma_request!(CreateWqObjReq, code::CREATE_WQ_OBJ, CreateWqObjResp);

/// CREATE_WQ_OBJ response V2, 56 bytes (mana.md §6.3).
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
#[repr(C)]
pub struct CreateWqObjRespV2 {
    /// The V1 part.
    pub v1: CreateWqObjResp,
    /// Moderation completions granted.
    pub cq_moderation_comps: u16,
    /// Moderation interval granted.
    pub cq_moderation_usec: u16,
    /// Moderation enabled.
    pub cq_moderation_enabled: u8,
    /// Reserved.
    pub reserved: [u8; 3],
}
/// MANA: CREATE_WQ_OBJ response V2 is 56 bytes (mana.md §6.3).
const _: () = assert!(core::mem::size_of::<CreateWqObjRespV2>() == 56);
gdma_request!(
    CreateWqObjReqV3,
    code::CREATE_WQ_OBJ,
    CreateWqObjRespV2,
    GDMA_MESSAGE_V3,
    GDMA_MESSAGE_V2
);

/// DESTROY_WQ_OBJ request, 56 bytes (mana.md §6.3).
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
#[repr(C)]
pub struct DestroyWqObjReq {
    /// Request header.
    pub hdr: GdmaReqHdr,
    /// WQ type.
    pub wq_type: u32,
    /// Reserved.
    pub reserved: u32,
    /// WQ object handle.
    pub wq_obj_handle: u64,
}
/// MANA: DESTROY_WQ_OBJ request is 56 bytes (mana.md §6.3).
const _: () = assert!(core::mem::size_of::<DestroyWqObjReq>() == 56);
gdma_request!(DestroyWqObjReq, code::DESTROY_WQ_OBJ, GdmaGeneralResp);

/// FENCE_RQ request, 48 bytes (mana.md §6.3).
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
#[repr(C)]
pub struct FenceRqReq {
    /// Request header.
    pub hdr: GdmaReqHdr,
    /// RQ object handle.
    pub wq_obj_handle: u64,
}
/// MANA: FENCE_RQ request is 48 bytes (mana.md §6.3).
const _: () = assert!(core::mem::size_of::<FenceRqReq>() == 48);
gdma_request!(FenceRqReq, code::FENCE_RQ, GdmaGeneralResp);

/// CONFIG_VPORT_RX request V2, fixed part of 120 bytes; the indirection
/// table (u64 RX object handles) follows at `indir_tab_offset` (mana.md §6.3).
#[derive(Clone, Copy, Debug, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout)]
#[repr(C)]
pub struct ConfigVportRxReq {
    /// Request header.
    pub hdr: GdmaReqHdr,
    /// vPort handle.
    pub vport: u64,
    /// Table entries that follow.
    pub num_indir_entries: u16,
    /// Byte offset of the table from the message start (120 for V2).
    pub indir_tab_offset: u16,
    /// TRI_STATE RX enable.
    pub rx_enable: u32,
    /// TRI_STATE RSS enable.
    pub rss_enable: u32,
    /// Update the default RX object.
    pub update_default_rxobj: u8,
    /// Update the hash key.
    pub update_hashkey: u8,
    /// Update the indirection table.
    pub update_indir_tab: u8,
    /// Reserved.
    pub reserved: u8,
    /// Default RX object handle.
    pub default_rxobj: u64,
    /// Toeplitz key.
    pub hashkey: [u8; MANA_HASH_KEY_SIZE],
    /// V2: CQE coalescing enable.
    pub cqe_coalescing_enable: u8,
    /// Reserved.
    pub reserved2: [u8; 7],
}
/// MANA: CONFIG_VPORT_RX V2 fixed part is 120 bytes, table at @120 (mana.md §6.3).
const _: () = assert!(core::mem::size_of::<ConfigVportRxReq>() == 120);
/// Size of the V1 fixed part (table at @112).
pub const CONFIG_VPORT_RX_V1_SIZE: u16 = 112;

/// CONFIG_VPORT_RX response V2, 40 bytes (mana.md §6.3).
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
#[repr(C)]
pub struct ConfigVportRxResp {
    /// Response header.
    pub hdr: GdmaRespHdr,
    /// Coalescing timeout the device applies (ns).
    pub cqe_coalescing_timeout_ns: u32,
    /// Reserved.
    pub reserved: u32,
}
/// MANA: CONFIG_VPORT_RX response V2 is 40 bytes (mana.md §6.3).
const _: () = assert!(core::mem::size_of::<ConfigVportRxResp>() == 40);
gdma_request!(
    ConfigVportRxReq,
    code::CONFIG_VPORT_RX,
    ConfigVportRxResp,
    GDMA_MESSAGE_V2,
    GDMA_MESSAGE_V2
);

/// QUERY_LINK_CONFIG request, 48 bytes (mana.md §6.3).
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
#[repr(C)]
pub struct QueryLinkConfigReq {
    /// Request header.
    pub hdr: GdmaReqHdr,
    /// vPort handle.
    pub vport: u64,
}
/// MANA: QUERY_LINK_CONFIG request is 48 bytes (mana.md §6.3).
const _: () = assert!(core::mem::size_of::<QueryLinkConfigReq>() == 48);

/// QUERY_LINK_CONFIG response, 48 bytes (mana.md §6.3).
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
#[repr(C)]
pub struct QueryLinkConfigResp {
    /// Response header.
    pub hdr: GdmaRespHdr,
    /// QoS speed in Mbit/s.
    pub qos_speed_mbps: u32,
    /// QoS not configured.
    pub qos_unconfigured: u8,
    /// Reserved.
    pub reserved1: [u8; 3],
    /// Link speed in Mbit/s.
    pub link_speed_mbps: u32,
    /// Reserved.
    pub reserved2: [u8; 4],
}
/// MANA: QUERY_LINK_CONFIG response is 48 bytes (mana.md §6.3).
const _: () = assert!(core::mem::size_of::<QueryLinkConfigResp>() == 48);
gdma_request!(
    QueryLinkConfigReq,
    code::QUERY_LINK_CONFIG,
    QueryLinkConfigResp,
    GDMA_MESSAGE_V1,
    GDMA_MESSAGE_V2
);

/// SET_BW_CLAMP request, 56 bytes (mana.md §6.3).
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
#[repr(C)]
pub struct SetBwClampReq {
    /// Request header.
    pub hdr: GdmaReqHdr,
    /// vPort handle.
    pub vport: u64,
    /// TRI_STATE enable.
    pub enable_clamping: u32,
    /// Clamp in Mbit/s (multiples of 100).
    pub link_speed_mbps: u32,
}
/// MANA: SET_BW_CLAMP request is 56 bytes (mana.md §6.3).
const _: () = assert!(core::mem::size_of::<SetBwClampReq>() == 56);

/// SET_BW_CLAMP response, 40 bytes (mana.md §6.3).
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
#[repr(C)]
pub struct SetBwClampResp {
    /// Response header.
    pub hdr: GdmaRespHdr,
    /// QoS not configured.
    pub qos_unconfigured: u8,
    /// Reserved.
    pub reserved: [u8; 7],
}
/// MANA: SET_BW_CLAMP response is 40 bytes (mana.md §6.3).
const _: () = assert!(core::mem::size_of::<SetBwClampResp>() == 40);
gdma_request!(SetBwClampReq, code::SET_BW_CLAMP, SetBwClampResp);

/// REGISTER_HW_PORT request (PF only), 48 bytes (mana.md §6.3).
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
#[repr(C)]
pub struct RegisterHwPortReq {
    /// Request header.
    pub hdr: GdmaReqHdr,
    /// Attached GF id (1).
    pub attached_gfid: u16,
    /// PF default vPort (1).
    pub is_pf_default_vport: u8,
    /// Reserved.
    pub reserved1: u8,
    /// Allow all ethertypes (1).
    pub allow_all_ether_types: u8,
    /// Reserved.
    pub reserved2: [u8; 3],
}
/// MANA: REGISTER_HW_PORT request is 48 bytes (mana.md §6.3).
const _: () = assert!(core::mem::size_of::<RegisterHwPortReq>() == 48);

/// Response carrying one handle after the header, 40 bytes (REGISTER_HW_PORT, REGISTER_FILTER).
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
#[repr(C)]
pub struct HandleResp {
    /// Response header.
    pub hdr: GdmaRespHdr,
    /// The new object's handle.
    pub handle: u64,
}
/// MANA: single-handle responses are 40 bytes (mana.md §6.3).
const _: () = assert!(core::mem::size_of::<HandleResp>() == 40);
gdma_request!(RegisterHwPortReq, code::REGISTER_HW_PORT, HandleResp);

/// DEREGISTER_HW_PORT request (PF only), 48 bytes (mana.md §6.3).
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
#[repr(C)]
pub struct DeregisterHwPortReq {
    /// Request header.
    pub hdr: GdmaReqHdr,
    /// Hardware vPort handle.
    pub hw_vport_handle: u64,
}
/// MANA: DEREGISTER_HW_PORT request is 48 bytes (mana.md §6.3).
const _: () = assert!(core::mem::size_of::<DeregisterHwPortReq>() == 48);
gdma_request!(
    DeregisterHwPortReq,
    code::DEREGISTER_HW_PORT,
    GdmaGeneralResp
);

/// REGISTER_FILTER request (PF only), 72 bytes (mana.md §6.3).
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
#[repr(C)]
pub struct RegisterFilterReq {
    /// Request header.
    pub hdr: GdmaReqHdr,
    /// vPort handle.
    pub vport: u64,
    /// MAC address.
    pub mac_addr: [u8; 6],
    /// Reserved.
    pub reserved1: [u8; 6],
    /// Reserved.
    pub reserved2: [u32; 3],
}
/// MANA: REGISTER_FILTER request is 72 bytes (mana.md §6.3).
const _: () = assert!(core::mem::size_of::<RegisterFilterReq>() == 72);
gdma_request!(RegisterFilterReq, code::REGISTER_FILTER, HandleResp);

/// DEREGISTER_FILTER request (PF only), 48 bytes (mana.md §6.3).
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
#[repr(C)]
pub struct DeregisterFilterReq {
    /// Request header.
    pub hdr: GdmaReqHdr,
    /// Filter handle.
    pub filter_handle: u64,
}
/// MANA: DEREGISTER_FILTER request is 48 bytes (mana.md §6.3).
const _: () = assert!(core::mem::size_of::<DeregisterFilterReq>() == 48);
gdma_request!(
    DeregisterFilterReq,
    code::DEREGISTER_FILTER,
    GdmaGeneralResp
);
