//! GDMA object and resource commands outside the Ethernet bring-up path:
//! reset-request test hook, resource ranges, protection domains, memory
//! regions, device memory and EQ MSI-X moves (mana.md §3.6). The Ethernet
//! driver does not send these; they are here so the device model and a
//! future RDMA layer share one definition.

use zerocopy_derive::{FromBytes, Immutable, IntoBytes, KnownLayout};

use super::gdma::{code, gdma_request};
use super::msg::{GdmaGeneralResp, GdmaReqHdr, GdmaRequest, GdmaRespHdr};

/// GENERATE_RESET_REQUEST_EQE request, 48 bytes (mana.md §3.6; OpenVMM only).
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
#[repr(C)]
pub struct GenerateResetRequestEqeReq {
    /// Request header.
    pub hdr: GdmaReqHdr,
    /// EQ id.
    pub queue_index: u32,
    /// EQE details word (bit 0: revoke the VTL0 VF).
    pub data: u32,
}
/// MANA: GENERATE_RESET_REQUEST_EQE request is 48 bytes (mana.md §3.6).
const _: () = assert!(core::mem::size_of::<GenerateResetRequestEqeReq>() == 48);
gdma_request!(
    GenerateResetRequestEqeReq,
    code::GENERATE_RESET_REQUEST_EQE,
    GdmaGeneralResp
);

/// ALLOCATE_RESOURCE_RANGE / DESTROY_RESOURCE_RANGE resource type: doorbell page (mana.md §3.6).
pub const GDMA_RESOURCE_DOORBELL_PAGE: u32 = 27;

/// ALLOCATE_RESOURCE_RANGE request, 56 bytes (mana.md §3.6).
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
#[repr(C)]
pub struct AllocateResourceRangeReq {
    /// Request header.
    pub hdr: GdmaReqHdr,
    /// Resource type.
    pub resource_type: u32,
    /// How many.
    pub num_resources: u32,
    /// Alignment.
    pub alignment: u32,
    /// Requested first id (or 0).
    pub allocated_resources: u32,
}
/// MANA: ALLOCATE_RESOURCE_RANGE request is 56 bytes (mana.md §3.6).
const _: () = assert!(core::mem::size_of::<AllocateResourceRangeReq>() == 56);

/// ALLOCATE_RESOURCE_RANGE response, 36 bytes (mana.md §3.6).
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
#[repr(C)]
pub struct AllocateResourceRangeResp {
    /// Response header.
    pub hdr: GdmaRespHdr,
    /// First allocated id.
    pub allocated_resources: u32,
}
/// MANA: ALLOCATE_RESOURCE_RANGE response is 36 bytes (mana.md §3.6).
const _: () = assert!(core::mem::size_of::<AllocateResourceRangeResp>() == 36);
gdma_request!(
    AllocateResourceRangeReq,
    code::ALLOCATE_RESOURCE_RANGE,
    AllocateResourceRangeResp
);

/// DESTROY_RESOURCE_RANGE request, 52 bytes (mana.md §3.6).
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
#[repr(C)]
pub struct DestroyResourceRangeReq {
    /// Request header.
    pub hdr: GdmaReqHdr,
    /// Resource type.
    pub resource_type: u32,
    /// How many.
    pub num_resources: u32,
    /// First id.
    pub allocated_resources: u32,
}
/// MANA: DESTROY_RESOURCE_RANGE request is 52 bytes (mana.md §3.6).
const _: () = assert!(core::mem::size_of::<DestroyResourceRangeReq>() == 52);
gdma_request!(
    DestroyResourceRangeReq,
    code::DESTROY_RESOURCE_RANGE,
    GdmaGeneralResp
);

bitflags::bitflags! {
    /// CREATE_PD flags (mana.md §3.6).
    #[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
    pub struct PdFlags: u32 {
        /// Bit 0: allow GPA memory regions.
        const ALLOW_GPA_MR = 1 << 0;
        /// Bit 2: short PDN (net-next).
        const SHORT_PDN = 1 << 2;
    }
}

/// CREATE_PD request, 48 bytes (mana.md §3.6).
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
#[repr(C)]
pub struct CreatePdReq {
    /// Request header.
    pub hdr: GdmaReqHdr,
    /// [`PdFlags`].
    pub flags: u32,
    /// Reserved.
    pub reserved: u32,
}
/// MANA: CREATE_PD request is 48 bytes (mana.md §3.6).
const _: () = assert!(core::mem::size_of::<CreatePdReq>() == 48);

/// CREATE_PD response, 48 bytes (mana.md §3.6).
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
#[repr(C)]
pub struct CreatePdResp {
    /// Response header.
    pub hdr: GdmaRespHdr,
    /// PD handle.
    pub pd_handle: u64,
    /// PD id.
    pub pd_id: u32,
    /// Reserved.
    pub reserved: u32,
}
/// MANA: CREATE_PD response is 48 bytes (mana.md §3.6).
const _: () = assert!(core::mem::size_of::<CreatePdResp>() == 48);
gdma_request!(CreatePdReq, code::CREATE_PD, CreatePdResp);

/// A request carrying one u64 object handle after the header (48 bytes).
macro_rules! handle_request {
    ($(#[$m:meta])* $name:ident, $code:expr) => {
        $(#[$m])*
        #[derive(Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout)]
        #[repr(C)]
        pub struct $name {
            /// Request header.
            pub hdr: GdmaReqHdr,
            /// The object handle.
            pub handle: u64,
        }
        /// MANA: single-handle requests are 48 bytes (mana.md §3.6).
        const _: () = assert!(core::mem::size_of::<$name>() == 48);
        gdma_request!($name, $code, GdmaGeneralResp);
    };
}

handle_request!(
    /// DESTROY_PD request, 48 bytes (mana.md §3.6).
    DestroyPdReq,
    code::DESTROY_PD
);
handle_request!(
    /// DESTROY_MR request, 48 bytes (mana.md §3.6).
    DestroyMrReq,
    code::DESTROY_MR
);
handle_request!(
    /// DESTROY_DM request, 48 bytes (mana.md §3.6).
    DestroyDmReq,
    code::DESTROY_DM
);

/// Memory region types (mana.md §3.6).
pub mod mr_type {
    /// Guest physical address.
    pub const GPA: u32 = 1;
    /// Guest virtual address.
    pub const GVA: u32 = 2;
    /// Zero-based virtual address.
    pub const ZBVA: u32 = 4;
    /// Device memory.
    pub const DM: u32 = 5;
    /// Memory window type 1.
    pub const MW1: u32 = 6;
    /// Memory window type 2.
    pub const MW2: u32 = 7;
}

bitflags::bitflags! {
    /// Memory region access flags (mana.md §3.6).
    #[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
    pub struct MrAccessFlags: u32 {
        /// Local read.
        const LOCAL_READ = 1 << 0;
        /// Local write.
        const LOCAL_WRITE = 1 << 1;
        /// Remote read.
        const REMOTE_READ = 1 << 2;
        /// Remote write.
        const REMOTE_WRITE = 1 << 3;
        /// Remote atomic.
        const REMOTE_ATOMIC = 1 << 4;
        /// Bind memory windows.
        const BIND_MW = 1 << 5;
    }
}

/// CREATE_MR request, 88 bytes (mana.md §3.6). The 20-byte type-specific
/// parameter block is packed in the wire format, so it is a byte array here
/// with [`CreateMrReq::gva`] and [`CreateMrReq::zbva`] as encoders.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
#[repr(C)]
pub struct CreateMrReq {
    /// Request header.
    pub hdr: GdmaReqHdr,
    /// PD handle.
    pub pd_handle: u64,
    /// [`mr_type`] value.
    pub mr_type: u32,
    /// Reserved.
    pub reserved_1: u32,
    /// Type-specific parameters (packed).
    pub params: [u8; 20],
    /// Reserved.
    pub reserved_2: u32,
    /// Device-memory MR length.
    pub dm_length: u64,
}
/// MANA: CREATE_MR request is 88 bytes (mana.md §3.6).
const _: () = assert!(core::mem::size_of::<CreateMrReq>() == 88);

impl CreateMrReq {
    /// GVA parameters: region handle, virtual address, access flags.
    pub fn gva(&mut self, dma_region: u64, va: u64, access: MrAccessFlags) {
        self.mr_type = mr_type::GVA;
        self.params[0..8].copy_from_slice(&dma_region.to_le_bytes());
        self.params[8..16].copy_from_slice(&va.to_le_bytes());
        self.params[16..20].copy_from_slice(&access.bits().to_le_bytes());
    }
    /// ZBVA parameters: region handle, access flags.
    pub fn zbva(&mut self, dma_region: u64, access: MrAccessFlags) {
        self.mr_type = mr_type::ZBVA;
        self.params = [0; 20];
        self.params[0..8].copy_from_slice(&dma_region.to_le_bytes());
        self.params[8..12].copy_from_slice(&access.bits().to_le_bytes());
    }
}

/// CREATE_MR response, 48 bytes (mana.md §3.6).
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
#[repr(C)]
pub struct CreateMrResp {
    /// Response header.
    pub hdr: GdmaRespHdr,
    /// MR handle.
    pub mr_handle: u64,
    /// Local key.
    pub lkey: u32,
    /// Remote key.
    pub rkey: u32,
}
/// MANA: CREATE_MR response is 48 bytes (mana.md §3.6).
const _: () = assert!(core::mem::size_of::<CreateMrResp>() == 48);
gdma_request!(CreateMrReq, code::CREATE_MR, CreateMrResp);

/// CHANGE_MSIX_FOR_EQ request, 56 bytes (mana.md §3.6; OpenVMM).
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
#[repr(C)]
pub struct ChangeMsixForEqReq {
    /// Request header.
    pub hdr: GdmaReqHdr,
    /// EQ id.
    pub queue_index: u32,
    /// New MSI-X vector.
    pub msix: u32,
    /// Reserved.
    pub reserved1: u32,
    /// Reserved.
    pub reserved2: u32,
}
/// MANA: CHANGE_MSIX_FOR_EQ request is 56 bytes (mana.md §3.6).
const _: () = assert!(core::mem::size_of::<ChangeMsixForEqReq>() == 56);
gdma_request!(
    ChangeMsixForEqReq,
    code::CHANGE_MSIX_FOR_EQ,
    GdmaGeneralResp
);

/// ALLOC_DM request, 56 bytes (mana.md §3.6).
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
#[repr(C)]
pub struct AllocDmReq {
    /// Request header.
    pub hdr: GdmaReqHdr,
    /// Length in bytes.
    pub length: u64,
    /// Alignment.
    pub alignment: u32,
    /// Flags.
    pub flags: u32,
}
/// MANA: ALLOC_DM request is 56 bytes (mana.md §3.6).
const _: () = assert!(core::mem::size_of::<AllocDmReq>() == 56);

/// ALLOC_DM response, 40 bytes (mana.md §3.6).
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
#[repr(C)]
pub struct AllocDmResp {
    /// Response header.
    pub hdr: GdmaRespHdr,
    /// Device-memory handle.
    pub dm_handle: u64,
}
/// MANA: ALLOC_DM response is 40 bytes (mana.md §3.6).
const _: () = assert!(core::mem::size_of::<AllocDmResp>() == 40);
gdma_request!(AllocDmReq, code::ALLOC_DM, AllocDmResp);
