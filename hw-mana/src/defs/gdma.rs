//! GDMA-level request codes and the request/response bodies (mana.md §3.6,
//! §3.7, §3.8, §5).
//!
//! Each request struct starts with a [`GdmaReqHdr`], each response with a
//! [`GdmaRespHdr`]; sizes are asserted against the sheet. Requests with a
//! trailing page list ([`CreateDmaRegionReq`], [`DmaRegionAddPagesReq`])
//! describe only their fixed part; the list follows immediately.

use zerocopy_derive::{FromBytes, Immutable, IntoBytes, KnownLayout};

use super::msg::{GdmaDevId, GdmaGeneralResp, GdmaReqHdr, GdmaRequest, GdmaRespHdr};

/// GDMA request codes (mana.md §3.6). The upper 16 bits are 0 for GDMA-level calls.
pub mod code {
    /// Negotiate the protocol and exchange capability flags.
    pub const VERIFY_VF_DRIVER_VERSION: u32 = 1;
    /// Resource limits of the function.
    pub const QUERY_MAX_RESOURCES: u32 = 2;
    /// Devices behind the function (HWC, MANA, MANA_IB).
    pub const LIST_DEVICES: u32 = 3;
    /// Register a device: returns PDID, GPA memory key and doorbell page.
    pub const REGISTER_DEVICE: u32 = 4;
    /// Undo REGISTER_DEVICE.
    pub const DEREGISTER_DEVICE: u32 = 5;
    /// Ask the device to post a TEST_EVENT EQE on an EQ.
    pub const GENERATE_TEST_EQE: u32 = 10;
    /// Ask the device to post a RESET_REQUEST EQE (OpenVMM test hook).
    pub const GENERATE_RESET_REQUEST_EQE: u32 = 11;
    /// Create a queue (EQ in the Ethernet path).
    pub const CREATE_QUEUE: u32 = 12;
    /// Destroy a queue created with CREATE_QUEUE.
    pub const DISABLE_QUEUE: u32 = 13;
    /// Allocate a resource range (doorbell pages).
    pub const ALLOCATE_RESOURCE_RANGE: u32 = 22;
    /// Free a resource range.
    pub const DESTROY_RESOURCE_RANGE: u32 = 24;
    /// Describe queue memory to the device.
    pub const CREATE_DMA_REGION: u32 = 25;
    /// Further pages of a multi-part DMA region.
    pub const DMA_REGION_ADD_PAGES: u32 = 26;
    /// Destroy a DMA region not consumed by a queue.
    pub const DESTROY_DMA_REGION: u32 = 27;
    /// Create a protection domain (RDMA).
    pub const CREATE_PD: u32 = 29;
    /// Destroy a protection domain.
    pub const DESTROY_PD: u32 = 30;
    /// Create a memory region (RDMA).
    pub const CREATE_MR: u32 = 31;
    /// Destroy a memory region.
    pub const DESTROY_MR: u32 = 32;
    /// Move an EQ to another MSI-X vector (OpenVMM).
    pub const CHANGE_MSIX_FOR_EQ: u32 = 81;
    /// Query (and report the current) HWC command timeout.
    pub const QUERY_HWC_TIMEOUT: u32 = 84;
    /// Allocate device memory (RDMA).
    pub const ALLOC_DM: u32 = 96;
    /// Free device memory.
    pub const DESTROY_DM: u32 = 97;
}

/// GDMA protocol version 1, the only one defined (mana.md §3.7).
pub const GDMA_PROTOCOL_V1: u64 = 1;
/// VERIFY_VF_DRIVER_VERSION `os_type`: Linux (mana.md §3.7).
pub const GDMA_OS_TYPE_LINUX: u32 = 0x10;
/// `os_type`: Windows.
pub const GDMA_OS_TYPE_WINDOWS: u32 = 0x20;
/// `os_type`: other.
pub const GDMA_OS_TYPE_OTHER: u32 = 0x30;
/// `os_type`: OpenHCL (OpenVMM).
pub const GDMA_OS_TYPE_OPENHCL: u32 = 0x60;
/// Length of each OS string in VERIFY_VF_DRIVER_VERSION.
pub const GDMA_OS_STR_LEN: usize = 128;

bitflags::bitflags! {
    /// Driver capability flags word 1 of VERIFY_VF_DRIVER_VERSION (mana.md §3.7).
    #[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
    pub struct DriverCapFlags1: u64 {
        /// Bit 0: EQ sharing across vPorts.
        const EQ_SHARING_MULTI_VPORT = 1 << 0;
        /// Bit 2: NAPI work_done race fixed.
        const NAPI_WKDONE_FIX = 1 << 2;
        /// Bit 3: HWC timeout reconfiguration (SOC_RECONFIG_DATA type 1).
        const HWC_TIMEOUT_RECONFIG = 1 << 3;
        /// Bit 4: 4 MB/1 GB/2 GB GDMA pages (defined, not advertised by Linux).
        const GDMA_PAGES_4MB_1GB_2GB = 1 << 4;
        /// Bit 5: variable RSS indirection table size.
        const VARIABLE_INDIRECTION_TABLE = 1 << 5;
        /// Bit 6: vPort link-state aware (link EQEs).
        const HW_VPORT_LINK_AWARE = 1 << 6;
        /// Bit 11: holes allowed in LIST_DEVICES.
        const LIST_DEVICES_HOLES = 1 << 11;
        /// Bit 13: dynamic MSI-X allocation.
        const DYNAMIC_MSIX = 1 << 13;
        /// Bit 14: self reset on an EQE (135).
        const SELF_RESET_ON_EQE = 1 << 14;
        /// Bit 16: VTL2 revoke on reset EQE (OpenVMM).
        const VTL2_REVOKE_ON_RESET = 1 << 16;
        /// Bit 17: FPGA reconfiguration EQE (132) handled by self reset.
        const FPGA_RECONFIG_SELF_RESET = 1 << 17;
        /// Bit 18: stalled-SQ detection and recovery.
        const STALLED_SQ_RECOVERY = 1 << 18;
        /// Bit 19: separate EQ/MSI-X per vPort.
        const PER_VPORT_EQ_MSIX = 1 << 19;
        /// Bit 20: linearize when SGEs exceed the hardware limit.
        const SKB_LINEARIZE = 1 << 20;
        /// Bit 21: periodic stats query over the HWC.
        const PERIODIC_STATS_QUERY = 1 << 21;
        /// Bit 22: recovery from reset events during probe.
        const PROBE_RECOVERY = 1 << 22;
        /// Bit 25: self recovery on HWC timeouts.
        const HWC_TIMEOUT_RECOVERY = 1 << 25;
        /// Bit 27: VTL2 selective revoke on reset EQE (OpenVMM).
        const VTL2_SELECTIVE_REVOKE = 1 << 27;
        /// Bit 28: dynamic interrupt moderation.
        const DIM = 1 << 28;
        /// Bit 30: non-contiguous queue buffers.
        const NON_CONTIGUOUS_BUFFERS = 1 << 30;
    }
}

bitflags::bitflags! {
    /// PF capability flags word 1 returned by VERIFY_VF_DRIVER_VERSION (mana.md §3.7).
    #[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
    pub struct PfCapFlags1: u64 {
        /// Bit 3: QUERY_HWC_TIMEOUT supported.
        const QUERY_HWC_TIMEOUT = 1 << 3;
        /// Bit 7: EQEs may request a VF self reset (OpenVMM).
        const EQE_VF_SELF_RESET = 1 << 7;
        /// Bit 15: DIM supported (net-next).
        const DIM = 1 << 15;
    }
}

/// Implements [`GdmaRequest`] for a request struct.
macro_rules! gdma_request {
    ($req:ty, $code:expr, $resp:ty) => {
        impl GdmaRequest for $req {
            const CODE: u32 = $code;
            type Response = $resp;
        }
    };
    ($req:ty, $code:expr, $resp:ty, $req_ver:expr, $resp_ver:expr) => {
        impl GdmaRequest for $req {
            const CODE: u32 = $code;
            const REQ_VERSION: u16 = $req_ver;
            const RESP_VERSION: u16 = $resp_ver;
            type Response = $resp;
        }
    };
}
pub(crate) use gdma_request;

/// A request with no body after the header.
macro_rules! header_only_request {
    ($(#[$m:meta])* $name:ident, $size_doc:literal) => {
        $(#[$m])*
        #[derive(Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout)]
        #[repr(C)]
        pub struct $name {
            /// Request header.
            pub hdr: GdmaReqHdr,
        }
        #[doc = $size_doc]
        const _: () = assert!(core::mem::size_of::<$name>() == 40);
    };
}

/// VERIFY_VF_DRIVER_VERSION request, 640 bytes (mana.md §3.7).
#[derive(Clone, Copy, Debug, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout)]
#[repr(C)]
pub struct VerifyVersionReq {
    /// Request header.
    pub hdr: GdmaReqHdr,
    /// Lowest protocol accepted (1).
    pub protocol_ver_min: u64,
    /// Highest protocol accepted (1).
    pub protocol_ver_max: u64,
    /// [`DriverCapFlags1`].
    pub gd_drv_cap_flags1: u64,
    /// Capability word 2 (0).
    pub gd_drv_cap_flags2: u64,
    /// Capability word 3 (0).
    pub gd_drv_cap_flags3: u64,
    /// Capability word 4 (0).
    pub gd_drv_cap_flags4: u64,
    /// Driver version (Linux 0).
    pub drv_ver: u64,
    /// `GDMA_OS_TYPE_*`.
    pub os_type: u32,
    /// Reserved.
    pub reserved: u32,
    /// OS major version.
    pub os_ver_major: u32,
    /// OS minor version.
    pub os_ver_minor: u32,
    /// OS build.
    pub os_ver_build: u32,
    /// OS platform.
    pub os_ver_platform: u32,
    /// Reserved.
    pub reserved_2: u64,
    /// OS string 1 (Linux: sysname).
    pub os_ver_str1: [u8; GDMA_OS_STR_LEN],
    /// OS string 2 (Linux: release).
    pub os_ver_str2: [u8; GDMA_OS_STR_LEN],
    /// OS string 3 (Linux: version).
    pub os_ver_str3: [u8; GDMA_OS_STR_LEN],
    /// OS string 4 (Linux: empty).
    pub os_ver_str4: [u8; GDMA_OS_STR_LEN],
}
/// MANA: VERIFY_VF_DRIVER_VERSION request is 640 bytes (mana.md §3.7).
const _: () = assert!(core::mem::size_of::<VerifyVersionReq>() == 640);

/// VERIFY_VF_DRIVER_VERSION response, 72 bytes (mana.md §3.6).
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
#[repr(C)]
pub struct VerifyVersionResp {
    /// Response header.
    pub hdr: GdmaRespHdr,
    /// Protocol the device chose.
    pub gdma_protocol_ver: u64,
    /// [`PfCapFlags1`].
    pub pf_cap_flags1: u64,
    /// PF capability word 2.
    pub pf_cap_flags2: u64,
    /// PF capability word 3.
    pub pf_cap_flags3: u64,
    /// PF capability word 4.
    pub pf_cap_flags4: u64,
}
/// MANA: VERIFY_VF_DRIVER_VERSION response is 72 bytes (mana.md §3.6).
const _: () = assert!(core::mem::size_of::<VerifyVersionResp>() == 72);
gdma_request!(
    VerifyVersionReq,
    code::VERIFY_VF_DRIVER_VERSION,
    VerifyVersionResp
);

header_only_request!(
    /// QUERY_MAX_RESOURCES request: header only (mana.md §3.6).
    QueryMaxResourcesReq,
    "MANA: QUERY_MAX_RESOURCES request is the 40-byte header (mana.md §3.6)."
);

/// QUERY_MAX_RESOURCES response, 72 bytes (mana.md §3.6).
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
#[repr(C)]
pub struct QueryMaxResourcesResp {
    /// Response header.
    pub hdr: GdmaRespHdr,
    /// Status word.
    pub status: u32,
    /// Max SQs.
    pub max_sq: u32,
    /// Max RQs.
    pub max_rq: u32,
    /// Max CQs.
    pub max_cq: u32,
    /// Max EQs.
    pub max_eq: u32,
    /// Max doorbell pages.
    pub max_db: u32,
    /// Max memory-stash entries.
    pub max_mst: u32,
    /// Max CQ moderation contexts.
    pub max_cq_mod_ctx: u32,
    /// Max moderated CQs.
    pub max_mod_cq: u32,
    /// Max MSI-X vectors.
    pub max_msix: u32,
}
/// MANA: QUERY_MAX_RESOURCES response is 72 bytes (mana.md §3.6).
const _: () = assert!(core::mem::size_of::<QueryMaxResourcesResp>() == 72);
gdma_request!(
    QueryMaxResourcesReq,
    code::QUERY_MAX_RESOURCES,
    QueryMaxResourcesResp
);

header_only_request!(
    /// LIST_DEVICES request: header only (mana.md §3.6).
    ListDevicesReq,
    "MANA: LIST_DEVICES request is the 40-byte header (mana.md §3.6)."
);

/// Capacity of the LIST_DEVICES device array (mana.md §3.6).
pub const GDMA_DEV_LIST_SIZE: usize = 64;

/// LIST_DEVICES response, 296 bytes (mana.md §3.6).
#[derive(Clone, Copy, Debug, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout)]
#[repr(C)]
pub struct ListDevicesResp {
    /// Response header.
    pub hdr: GdmaRespHdr,
    /// Number of valid entries (≤ 64; untrusted).
    pub num_of_devs: u32,
    /// Reserved.
    pub reserved: u32,
    /// Device ids; zero entries are holes.
    pub devs: [GdmaDevId; GDMA_DEV_LIST_SIZE],
}
/// MANA: LIST_DEVICES response is 296 bytes (mana.md §3.6).
const _: () = assert!(core::mem::size_of::<ListDevicesResp>() == 296);
gdma_request!(ListDevicesReq, code::LIST_DEVICES, ListDevicesResp);

header_only_request!(
    /// REGISTER_DEVICE request: header only, the device id in the header (mana.md §3.6).
    RegisterDeviceReq,
    "MANA: REGISTER_DEVICE request is the 40-byte header (mana.md §3.6)."
);

/// REGISTER_DEVICE response, 44 bytes (mana.md §3.6).
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
#[repr(C)]
pub struct RegisterDeviceResp {
    /// Response header.
    pub hdr: GdmaRespHdr,
    /// Protection domain id.
    pub pdid: u32,
    /// Memory key for SGEs.
    pub gpa_mkey: u32,
    /// Doorbell page index.
    pub db_id: u32,
}
/// MANA: REGISTER_DEVICE response is 44 bytes (mana.md §3.6).
const _: () = assert!(core::mem::size_of::<RegisterDeviceResp>() == 44);
gdma_request!(RegisterDeviceReq, code::REGISTER_DEVICE, RegisterDeviceResp);

header_only_request!(
    /// DEREGISTER_DEVICE request: header only (mana.md §3.6).
    DeregisterDeviceReq,
    "MANA: DEREGISTER_DEVICE request is the 40-byte header (mana.md §3.6)."
);
gdma_request!(
    DeregisterDeviceReq,
    code::DEREGISTER_DEVICE,
    GdmaGeneralResp
);

/// GENERATE_TEST_EQE request, 44 bytes (mana.md §3.6).
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
#[repr(C)]
pub struct GenerateTestEqeReq {
    /// Request header (device id of the EQ's owner).
    pub hdr: GdmaReqHdr,
    /// EQ id.
    pub queue_index: u32,
}
/// MANA: GENERATE_TEST_EQE request is 44 bytes (mana.md §3.6).
const _: () = assert!(core::mem::size_of::<GenerateTestEqeReq>() == 44);
gdma_request!(GenerateTestEqeReq, code::GENERATE_TEST_EQE, GdmaGeneralResp);

/// CREATE_QUEUE request, 96 bytes (mana.md §3.8).
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
#[repr(C)]
pub struct CreateQueueReq {
    /// Request header (device id of the owner).
    pub hdr: GdmaReqHdr,
    /// Queue type (`queue::GDMA_QUEUE_*`).
    pub queue_type: u32,
    /// Reserved.
    pub reserved1: u32,
    /// Protection domain id.
    pub pdid: u32,
    /// Doorbell page index.
    pub doorbell_id: u32,
    /// DMA region handle (consumed by the queue).
    pub gdma_region: u64,
    /// Reserved.
    pub reserved2: u32,
    /// Queue size in bytes.
    pub queue_size: u32,
    /// EQ: log2 of the interrupt throttle limit.
    pub log2_throttle_limit: u32,
    /// EQ: MSI-X vector index.
    pub eq_pci_msix_index: u32,
    /// CQ: moderation context.
    pub cq_mod_ctx_id: u32,
    /// CQ: parent EQ.
    pub cq_parent_eq_id: u32,
    /// RQ: drop on overrun.
    pub rq_drop_on_overrun: u8,
    /// RQ: error on WQE overflow.
    pub rq_err_on_wqe_overflow: u8,
    /// RQ: chain receive WQEs.
    pub rq_chain_rec_wqes: u8,
    /// SQ: hardware doorbell.
    pub sq_hw_db: u8,
    /// Reserved.
    pub reserved3: u32,
}
/// MANA: CREATE_QUEUE request is 96 bytes (mana.md §3.8).
const _: () = assert!(core::mem::size_of::<CreateQueueReq>() == 96);

/// CREATE_QUEUE response, 36 bytes (mana.md §3.6).
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
#[repr(C)]
pub struct CreateQueueResp {
    /// Response header.
    pub hdr: GdmaRespHdr,
    /// Queue id the device assigned.
    pub queue_index: u32,
}
/// MANA: CREATE_QUEUE response is 36 bytes (mana.md §3.6).
const _: () = assert!(core::mem::size_of::<CreateQueueResp>() == 36);
gdma_request!(CreateQueueReq, code::CREATE_QUEUE, CreateQueueResp);

/// DISABLE_QUEUE request, 52 bytes (mana.md §3.6).
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
#[repr(C)]
pub struct DisableQueueReq {
    /// Request header.
    pub hdr: GdmaReqHdr,
    /// Queue type.
    pub queue_type: u32,
    /// Queue id.
    pub queue_index: u32,
    /// Linux sends 1 (meaning undocumented).
    pub alloc_res_id_on_creation: u32,
}
/// MANA: DISABLE_QUEUE request is 52 bytes (mana.md §3.6).
const _: () = assert!(core::mem::size_of::<DisableQueueReq>() == 52);
gdma_request!(DisableQueueReq, code::DISABLE_QUEUE, GdmaGeneralResp);

/// DMA region page type for 4 KiB pages: log2(size) − 12 (mana.md §5).
pub const GDMA_PAGE_TYPE_4K: u32 = 0;
/// DMA regions for Ethernet/GDMA queues use 4 KiB pages (mana.md §4.1, §5).
pub const GDMA_PAGE_SIZE: u32 = 4096;
/// The invalid DMA region handle (mana.md §4.1).
pub const GDMA_INVALID_DMA_REGION: u64 = 0;

/// CREATE_DMA_REGION request, fixed part of 64 bytes followed by
/// `page_addr_list_len` u64 page addresses (mana.md §5).
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
#[repr(C)]
pub struct CreateDmaRegionReq {
    /// Request header.
    pub hdr: GdmaReqHdr,
    /// Total region length in bytes.
    pub length: u64,
    /// Offset of the data in the first page (0 for queues).
    pub offset_in_page: u32,
    /// [`GDMA_PAGE_TYPE_4K`].
    pub gdma_page_type: u32,
    /// Total pages in the region.
    pub page_count: u32,
    /// Pages listed in this message.
    pub page_addr_list_len: u32,
}
/// MANA: CREATE_DMA_REGION fixed part is 64 bytes, then 8 bytes per page (mana.md §5).
const _: () = assert!(core::mem::size_of::<CreateDmaRegionReq>() == 64);

/// CREATE_DMA_REGION response, 40 bytes (mana.md §3.6).
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
#[repr(C)]
pub struct CreateDmaRegionResp {
    /// Response header.
    pub hdr: GdmaRespHdr,
    /// Region handle (0 = invalid).
    pub dma_region_handle: u64,
}
/// MANA: CREATE_DMA_REGION response is 40 bytes (mana.md §3.6).
const _: () = assert!(core::mem::size_of::<CreateDmaRegionResp>() == 40);
gdma_request!(
    CreateDmaRegionReq,
    code::CREATE_DMA_REGION,
    CreateDmaRegionResp
);

/// DMA_REGION_ADD_PAGES request, fixed part of 56 bytes followed by the page list (mana.md §5).
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
#[repr(C)]
pub struct DmaRegionAddPagesReq {
    /// Request header.
    pub hdr: GdmaReqHdr,
    /// Handle from CREATE_DMA_REGION.
    pub dma_region_handle: u64,
    /// Pages listed in this message.
    pub page_addr_list_len: u32,
    /// Reserved.
    pub reserved3: u32,
}
/// MANA: DMA_REGION_ADD_PAGES fixed part is 56 bytes (mana.md §5).
const _: () = assert!(core::mem::size_of::<DmaRegionAddPagesReq>() == 56);
gdma_request!(
    DmaRegionAddPagesReq,
    code::DMA_REGION_ADD_PAGES,
    GdmaGeneralResp
);

/// DESTROY_DMA_REGION request, 48 bytes (mana.md §3.6).
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
#[repr(C)]
pub struct DestroyDmaRegionReq {
    /// Request header.
    pub hdr: GdmaReqHdr,
    /// Region handle.
    pub dma_region_handle: u64,
}
/// MANA: DESTROY_DMA_REGION request is 48 bytes (mana.md §3.6).
const _: () = assert!(core::mem::size_of::<DestroyDmaRegionReq>() == 48);
gdma_request!(
    DestroyDmaRegionReq,
    code::DESTROY_DMA_REGION,
    GdmaGeneralResp
);

/// QUERY_HWC_TIMEOUT request, 48 bytes (mana.md §3.6).
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
#[repr(C)]
pub struct QueryHwcTimeoutReq {
    /// Request header.
    pub hdr: GdmaReqHdr,
    /// The driver's current timeout in ms.
    pub timeout_ms: u32,
    /// Reserved.
    pub reserved: u32,
}
/// MANA: QUERY_HWC_TIMEOUT request is 48 bytes (mana.md §3.6).
const _: () = assert!(core::mem::size_of::<QueryHwcTimeoutReq>() == 48);

/// QUERY_HWC_TIMEOUT response, 40 bytes (mana.md §3.6).
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
#[repr(C)]
pub struct QueryHwcTimeoutResp {
    /// Response header.
    pub hdr: GdmaRespHdr,
    /// Timeout the device wants, in ms.
    pub timeout_ms: u32,
    /// Reserved.
    pub reserved: u32,
}
/// MANA: QUERY_HWC_TIMEOUT response is 40 bytes (mana.md §3.6).
const _: () = assert!(core::mem::size_of::<QueryHwcTimeoutResp>() == 40);
gdma_request!(
    QueryHwcTimeoutReq,
    code::QUERY_HWC_TIMEOUT,
    QueryHwcTimeoutResp
);
