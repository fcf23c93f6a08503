//! GET_STATS command and its response payloads (ena.md §3.6).

use zerocopy_derive::{FromBytes, Immutable, IntoBytes, KnownLayout};

use super::{AdminCommand, AdminOpcode, AqCommon, AqFlags, CtrlBuffInfo, MemAddr};

/// GET_STATS type: basic counters (ena.md §3.6).
pub const STATS_TYPE_BASIC: u8 = 0;
/// GET_STATS type: extended string buffer.
pub const STATS_TYPE_EXTENDED: u8 = 1;
/// GET_STATS type: ENI allowance counters (capability ENI_STATS).
pub const STATS_TYPE_ENI: u8 = 2;
/// GET_STATS type: ENA SRD information (capability ENA_SRD_INFO).
pub const STATS_TYPE_ENA_SRD: u8 = 3;
/// GET_STATS type: customer metrics (capability CUSTOMER_METRICS).
pub const STATS_TYPE_CUSTOMER_METRICS: u8 = 4;

/// GET_STATS scope: one queue.
pub const STATS_SCOPE_SPECIFIC_QUEUE: u8 = 0;
/// GET_STATS scope: Ethernet traffic.
pub const STATS_SCOPE_ETH_TRAFFIC: u8 = 1;

/// Customer-metrics control buffer size in bytes (ena.md §3.6).
pub const CUSTOMER_METRICS_BUFFER_SIZE: usize = 512;
/// All customer metrics (ids 0..5).
pub const CUSTOMER_METRICS_SUPPORT_MASK: u64 = 0x3F;
/// Metrics assumed without the CUSTOMER_METRICS capability (ids 0..4).
pub const CUSTOMER_METRICS_MIN_SUPPORT_MASK: u64 = 0x1F;

/// Customer metric ids and their `ethtool -S` names, in id order (ena.md §3.6, §7).
pub const CUSTOMER_METRIC_NAMES: [&str; 6] = [
    "bw_in_allowance_exceeded",
    "bw_out_allowance_exceeded",
    "pps_allowance_exceeded",
    "conntrack_allowance_exceeded",
    "linklocal_allowance_exceeded",
    "conntrack_allowance_available",
];

/// GET_STATS command, 32 bytes (ena.md §3.6).
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
#[repr(C)]
pub struct GetStatsCmd {
    /// Common header.
    pub common: AqCommon,
    /// Control buffer (customer metrics values).
    pub ctrl: CtrlBuffInfo,
    /// Stats type (`STATS_TYPE_*`).
    pub stats_type: u8,
    /// Scope (`STATS_SCOPE_*`).
    pub scope: u8,
    /// Reserved.
    pub reserved: u16,
    /// Queue index for queue scope.
    pub queue_idx: u16,
    /// Device id (0xFFFF = self per the header; Linux leaves 0).
    pub device_id: u16,
    /// Requested-metrics bitmap (customer metrics).
    pub requested_metrics: u64,
}
/// ENA spec: GET_STATS is 32 bytes (ena.md §3.6).
const _: () = assert!(core::mem::size_of::<GetStatsCmd>() == 32);

impl AdminCommand for GetStatsCmd {
    const OPCODE: AdminOpcode = AdminOpcode::GetStats;
}

impl GetStatsCmd {
    /// GET_STATS of `stats_type` over Ethernet traffic.
    pub fn new(stats_type: u8) -> Self {
        GetStatsCmd {
            common: AqCommon::new(AdminOpcode::GetStats),
            stats_type,
            scope: STATS_SCOPE_ETH_TRAFFIC,
            ..Default::default()
        }
    }
    /// Customer-metrics request: values land in the buffer; flags stay 0 as
    /// Linux does (ena.md §3.2).
    pub fn customer_metrics(requested: u64, buf_addr: u64, buf_len: u32) -> Self {
        let mut c = Self::new(STATS_TYPE_CUSTOMER_METRICS);
        c.requested_metrics = requested;
        c.ctrl = CtrlBuffInfo {
            length: buf_len,
            address: MemAddr::new(buf_addr),
        };
        c.common.flags = AqFlags::empty().bits();
        c
    }
}

/// Basic statistics response (7 lo/hi pairs), relative to ACQ byte 8 (ena.md §3.6).
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
#[repr(C)]
pub struct BasicStats {
    /// TX bytes, low.
    pub tx_bytes_low: u32,
    /// TX bytes, high.
    pub tx_bytes_high: u32,
    /// TX packets, low.
    pub tx_pkts_low: u32,
    /// TX packets, high.
    pub tx_pkts_high: u32,
    /// RX bytes, low.
    pub rx_bytes_low: u32,
    /// RX bytes, high.
    pub rx_bytes_high: u32,
    /// RX packets, low.
    pub rx_pkts_low: u32,
    /// RX packets, high.
    pub rx_pkts_high: u32,
    /// RX drops, low.
    pub rx_drops_low: u32,
    /// RX drops, high.
    pub rx_drops_high: u32,
    /// TX drops, low.
    pub tx_drops_low: u32,
    /// TX drops, high.
    pub tx_drops_high: u32,
    /// RX overruns, low.
    pub rx_overruns_low: u32,
    /// RX overruns, high.
    pub rx_overruns_high: u32,
}
/// ENA spec: basic stats are 7 × (lo, hi) u32 pairs = 56 bytes (ena.md §3.6).
const _: () = assert!(core::mem::size_of::<BasicStats>() == 56);

/// Join a (low, high) pair of 32-bit halves.
pub const fn join_u64(low: u32, high: u32) -> u64 {
    ((high as u64) << 32) | low as u64
}

/// ENI allowance statistics response (ena.md §3.6).
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
#[repr(C)]
pub struct EniStats {
    /// Packets shaped: inbound bandwidth allowance exceeded.
    pub bw_in_allowance_exceeded: u64,
    /// Packets shaped: outbound bandwidth allowance exceeded.
    pub bw_out_allowance_exceeded: u64,
    /// Packets shaped: PPS allowance exceeded.
    pub pps_allowance_exceeded: u64,
    /// Packets shaped: connection-tracking allowance exceeded.
    pub conntrack_allowance_exceeded: u64,
    /// Packets shaped: link-local rate allowance exceeded.
    pub linklocal_allowance_exceeded: u64,
}
/// ENA spec: ENI stats are 5 u64 (ena.md §3.6).
const _: () = assert!(core::mem::size_of::<EniStats>() == 40);

bitflags::bitflags! {
    /// ENA SRD configuration flags (ena.md §3.6).
    #[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
    pub struct SrdFlags: u64 {
        /// SRD enabled.
        const ENABLED = 1 << 0;
        /// UDP over SRD enabled.
        const UDP_ENABLED = 1 << 1;
        /// RX UDP ordering bypass enabled.
        const UDP_ORDERING_BYPASS = 1 << 2;
    }
}

/// ENA SRD information response (ena.md §3.6).
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
#[repr(C)]
pub struct SrdInfo {
    /// [`SrdFlags`].
    pub flags: u64,
    /// Packets sent over SRD.
    pub tx_pkts: u64,
    /// Packets eligible for SRD.
    pub eligible_tx_pkts: u64,
    /// Packets received over SRD.
    pub rx_pkts: u64,
    /// SRD resource utilisation in percent.
    pub resource_utilization: u64,
}
/// ENA spec: SRD info is u64 flags + 4 u64 (ena.md §3.6).
const _: () = assert!(core::mem::size_of::<SrdInfo>() == 40);

/// Customer-metrics inline response: the reported bitmap (ena.md §3.6).
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
#[repr(C)]
pub struct CustomerMetricsResp {
    /// Metrics reported, in id order; the values are packed in the buffer.
    pub reported_metrics: u64,
}
/// ENA spec: customer metrics response is one u64 bitmap (ena.md §3.6).
const _: () = assert!(core::mem::size_of::<CustomerMetricsResp>() == 8);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::defs::admin::AqEntry;
    use zerocopy::IntoBytes;

    #[test]
    fn get_stats_bytes() {
        let e = AqEntry::from_command(&GetStatsCmd::customer_metrics(0x3F, 0x2000, 512));
        let b = e.as_bytes();
        assert_eq!(b[2], 11);
        assert_eq!(b[3], 0);
        assert_eq!(&b[4..8], &512u32.to_le_bytes());
        assert_eq!(
            (b[16], b[17]),
            (STATS_TYPE_CUSTOMER_METRICS, STATS_SCOPE_ETH_TRAFFIC)
        );
        assert_eq!(&b[24..32], &0x3Fu64.to_le_bytes());
        assert_eq!(join_u64(1, 2), 0x2_0000_0001);
    }
}
