//! MANA statistics commands: QUERY_GF_STAT (global function counters, with
//! their request-mask bits) and QUERY_PHY_STAT (mana.md §6.3, §8).

use zerocopy_derive::{FromBytes, Immutable, IntoBytes, KnownLayout};

use super::eth::code;
use super::gdma::gdma_request;
use super::msg::{GdmaReqHdr, GdmaRequest, GdmaRespHdr, GDMA_MESSAGE_V1, GDMA_MESSAGE_V2};

bitflags::bitflags! {
    /// QUERY_GF_STAT requested/reported mask bits (mana.md §8).
    #[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
    pub struct GfStatFlags: u64 {
        /// RX discards, no WQE.
        const RX_DISCARDS_NO_WQE = 0x1;
        /// RX errors, vPort disabled.
        const RX_ERRORS_VPORT_DISABLED = 0x2;
        /// RX bytes.
        const HC_RX_BYTES = 0x4;
        /// RX unicast packets.
        const HC_RX_UCAST_PACKETS = 0x8;
        /// RX unicast bytes.
        const HC_RX_UCAST_BYTES = 0x10;
        /// RX multicast packets.
        const HC_RX_MCAST_PACKETS = 0x20;
        /// RX multicast bytes.
        const HC_RX_MCAST_BYTES = 0x40;
        /// RX broadcast packets.
        const HC_RX_BCAST_PACKETS = 0x80;
        /// RX broadcast bytes.
        const HC_RX_BCAST_BYTES = 0x100;
        /// TX errors, GF disabled.
        const TX_ERRORS_GF_DISABLED = 0x200;
        /// TX errors, vPort disabled.
        const TX_ERRORS_VPORT_DISABLED = 0x400;
        /// TX errors, invalid vPort offset.
        const TX_ERRORS_INVAL_VPORT_OFFSET = 0x800;
        /// TX errors, VLAN enforcement.
        const TX_ERRORS_VLAN_ENFORCEMENT = 0x1000;
        /// TX errors, ethertype enforcement.
        const TX_ERRORS_ETH_TYPE_ENFORCEMENT = 0x2000;
        /// TX errors, source-address enforcement.
        const TX_ERRORS_SA_ENFORCEMENT = 0x4000;
        /// TX errors, SQ PDID enforcement.
        const TX_ERRORS_SQPDID_ENFORCEMENT = 0x8000;
        /// TX errors, CQ PDID enforcement.
        const TX_ERRORS_CQPDID_ENFORCEMENT = 0x10000;
        /// TX errors, MTU violation.
        const TX_ERRORS_MTU_VIOLATION = 0x20000;
        /// TX errors, invalid OOB.
        const TX_ERRORS_INVALID_OOB = 0x40000;
        /// TX bytes.
        const HC_TX_BYTES = 0x80000;
        /// TX unicast packets.
        const HC_TX_UCAST_PACKETS = 0x100000;
        /// TX unicast bytes.
        const HC_TX_UCAST_BYTES = 0x200000;
        /// TX multicast packets.
        const HC_TX_MCAST_PACKETS = 0x400000;
        /// TX multicast bytes.
        const HC_TX_MCAST_BYTES = 0x800000;
        /// TX broadcast packets.
        const HC_TX_BCAST_PACKETS = 0x1000000;
        /// TX broadcast bytes.
        const HC_TX_BCAST_BYTES = 0x2000000;
        /// TX errors, GDMA.
        const TX_ERRORS_GDMA_ERROR = 0x4000000;
    }
}

/// Number of counters in the GF statistics response (mana.md §8).
pub const GF_STAT_COUNT: usize = 27;
/// Request mask asking for every GF counter (bits 0–26, mana.md §8).
pub const GF_STAT_ALL: u64 = (1 << GF_STAT_COUNT) - 1;

/// QUERY_GF_STAT request, 48 bytes (mana.md §6.3).
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
#[repr(C)]
pub struct QueryGfStatReq {
    /// Request header.
    pub hdr: GdmaReqHdr,
    /// Requested-stat mask.
    pub req_stats: u64,
}
/// MANA: QUERY_GF_STAT request is 48 bytes (mana.md §6.3).
const _: () = assert!(core::mem::size_of::<QueryGfStatReq>() == 48);

/// QUERY_GF_STAT response, 256 bytes: reported mask then 27 counters in the
/// Linux order (rx bcast before mcast; mana.md §8, §12 notes the doubt).
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
#[repr(C)]
pub struct QueryGfStatResp {
    /// Response header.
    pub hdr: GdmaRespHdr,
    /// Mask of the counters filled.
    pub reported_stats: u64,
    /// Counters, in the order of [`crate::stats::GF_STAT_NAMES`].
    pub counters: [u64; GF_STAT_COUNT],
}
/// MANA: QUERY_GF_STAT response is 256 bytes (mana.md §6.3).
const _: () = assert!(core::mem::size_of::<QueryGfStatResp>() == 256);
gdma_request!(
    QueryGfStatReq,
    code::QUERY_GF_STAT,
    QueryGfStatResp,
    GDMA_MESSAGE_V1,
    GDMA_MESSAGE_V2
);

/// Number of counters in the PHY statistics response (mana.md §8).
pub const PHY_STAT_COUNT: usize = 50;

/// QUERY_PHY_STAT request, 48 bytes (mana.md §6.3).
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
#[repr(C)]
pub struct QueryPhyStatReq {
    /// Request header.
    pub hdr: GdmaReqHdr,
    /// Requested-stat mask.
    pub req_stats: u64,
}
/// MANA: QUERY_PHY_STAT request is 48 bytes (mana.md §6.3).
const _: () = assert!(core::mem::size_of::<QueryPhyStatReq>() == 48);

/// QUERY_PHY_STAT response, 440 bytes: reported mask, 2 drop counters, 8 ×
/// rx/tx packets, 8 × rx/tx bytes, 8 × rx/tx pause (mana.md §6.3).
#[derive(Clone, Copy, Debug, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout)]
#[repr(C)]
pub struct QueryPhyStatResp {
    /// Response header.
    pub hdr: GdmaRespHdr,
    /// Mask of the counters filled.
    pub reported_stats: u64,
    /// Counters in the order of [`crate::stats::PHY_STAT_NAMES`].
    pub counters: [u64; PHY_STAT_COUNT],
}
/// MANA: QUERY_PHY_STAT response is 440 bytes (mana.md §6.3).
const _: () = assert!(core::mem::size_of::<QueryPhyStatResp>() == 440);
gdma_request!(QueryPhyStatReq, code::QUERY_PHY_STAT, QueryPhyStatResp);
