//! Statistics: the device's named counters (`NetDevice::for_each_stat`)
//! plus the shim's own per-class counts → `NDIS_STATISTICS_INFO`.
//!
//! The shim classifies every frame it sends or indicates by destination MAC
//! (unicast/multicast/broadcast), which NDIS wants and devices do not
//! count. Errors, discards and byte totals come from the device counters
//! through [`DEVICE_STAT_MAP`]; names not in the map are ignored, so a
//! device with other counter names still yields valid (shim-only) numbers.

use cloudnic_common::nic::{StatName, StatScope};

use super::rx::FrameClass;
use crate::ndis::miniport::object_type;
use crate::ndis::objects::{
    NDIS_SIZEOF_STATISTICS_INFO_REVISION_1, NDIS_STATISTICS_INFO, NDIS_STATISTICS_INFO_REVISION_1,
};
use crate::ndis::oid::stats_valid;
use crate::ndis::NDIS_OBJECT_HEADER;

/// Where a device counter goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StatTarget {
    /// `ifHCInOctets`.
    InOctets,
    /// `ifInErrors`.
    InErrors,
    /// `ifInDiscards`.
    InDiscards,
    /// `ifHCOutOctets`.
    OutOctets,
    /// `ifOutErrors`.
    OutErrors,
    /// `ifOutDiscards`.
    OutDiscards,
}

/// Counter scope kind (per-queue counters are summed over queues).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ScopeKind {
    /// Device-wide.
    Global,
    /// Any TX queue.
    Tx,
    /// Any RX queue.
    Rx,
}

/// Device counter names (ENA's `ethtool -S` names, ena.md §7) and where
/// each is accounted.
pub const DEVICE_STAT_MAP: &[(ScopeKind, &str, StatTarget)] = &[
    (ScopeKind::Rx, "bytes", StatTarget::InOctets),
    (ScopeKind::Rx, "csum_bad", StatTarget::InErrors),
    (ScopeKind::Rx, "bad_desc_num", StatTarget::InErrors),
    (ScopeKind::Rx, "bad_req_id", StatTarget::InErrors),
    (ScopeKind::Global, "rx_drops", StatTarget::InDiscards),
    (ScopeKind::Tx, "bytes", StatTarget::OutOctets),
    (ScopeKind::Tx, "dma_mapping_err", StatTarget::OutErrors),
    (ScopeKind::Tx, "linearize_failed", StatTarget::OutErrors),
    (ScopeKind::Tx, "prepare_ctx_err", StatTarget::OutErrors),
    (ScopeKind::Tx, "bad_req_id", StatTarget::OutErrors),
    (ScopeKind::Global, "tx_drops", StatTarget::OutDiscards),
];

fn scope_kind(s: StatScope) -> ScopeKind {
    match s {
        StatScope::Global => ScopeKind::Global,
        StatScope::Tx(_) | StatScope::TxShort(_) => ScopeKind::Tx,
        StatScope::Rx(_) | StatScope::RxShort(_) => ScopeKind::Rx,
    }
}

/// Totals of the mapped device counters.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DeviceTotals {
    /// Sum per [`StatTarget`], in enum order.
    pub sums: [u64; 6],
    /// Whether any counter for that target was reported.
    pub seen: [bool; 6],
}

impl DeviceTotals {
    /// Feed one device counter.
    pub fn add(&mut self, name: StatName, value: u64) {
        let kind = scope_kind(name.scope);
        for &(k, n, t) in DEVICE_STAT_MAP {
            if k == kind && n == name.name {
                let i = t as usize;
                self.sums[i] = self.sums[i].wrapping_add(value);
                self.seen[i] = true;
            }
        }
    }

    fn get(&self, t: StatTarget) -> Option<u64> {
        self.seen[t as usize].then_some(self.sums[t as usize])
    }
}

/// The shim's own counters (a snapshot of its atomics).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ShimCounters {
    /// Frames indicated, per [`FrameClass`].
    pub rx_frames: [u64; 3],
    /// Bytes indicated, per class.
    pub rx_bytes: [u64; 3],
    /// Frames completed successfully, per class.
    pub tx_frames: [u64; 3],
    /// Bytes sent, per class.
    pub tx_bytes: [u64; 3],
    /// Frames dropped by the software filter or while paused.
    pub rx_discards: u64,
    /// NET_BUFFERs failed (bad request, too many segments, reset).
    pub tx_errors: u64,
    /// NET_BUFFERs not sent because the adapter was paused or resetting.
    pub tx_discards: u64,
}

impl ShimCounters {
    /// Count one frame of `class` and `len` bytes.
    pub fn count(frames: &mut [u64; 3], bytes: &mut [u64; 3], class: FrameClass, len: u64) {
        let i = class as usize;
        frames[i] = frames[i].wrapping_add(1);
        bytes[i] = bytes[i].wrapping_add(len);
    }
}

/// Build `NDIS_STATISTICS_INFO` (revision 1) from the device totals and
/// the shim counters. Octet totals prefer the device's byte counters.
pub fn statistics(dev: &DeviceTotals, shim: &ShimCounters) -> NDIS_STATISTICS_INFO {
    let sum = |a: &[u64; 3]| a.iter().fold(0u64, |s, v| s.wrapping_add(*v));
    let [in_u, in_m, in_b] = shim.rx_frames;
    let [out_u, out_m, out_b] = shim.tx_frames;
    NDIS_STATISTICS_INFO {
        Header: NDIS_OBJECT_HEADER::new(
            object_type::DEFAULT,
            NDIS_STATISTICS_INFO_REVISION_1,
            NDIS_SIZEOF_STATISTICS_INFO_REVISION_1,
        ),
        SupportedStatistics: stats_valid::ALL,
        ifInDiscards: dev
            .get(StatTarget::InDiscards)
            .unwrap_or(0)
            .wrapping_add(shim.rx_discards),
        ifInErrors: dev.get(StatTarget::InErrors).unwrap_or(0),
        ifHCInOctets: dev
            .get(StatTarget::InOctets)
            .unwrap_or_else(|| sum(&shim.rx_bytes)),
        ifHCInUcastPkts: in_u,
        ifHCInMulticastPkts: in_m,
        ifHCInBroadcastPkts: in_b,
        ifHCOutOctets: dev
            .get(StatTarget::OutOctets)
            .unwrap_or_else(|| sum(&shim.tx_bytes)),
        ifHCOutUcastPkts: out_u,
        ifHCOutMulticastPkts: out_m,
        ifHCOutBroadcastPkts: out_b,
        ifOutErrors: dev
            .get(StatTarget::OutErrors)
            .unwrap_or(0)
            .wrapping_add(shim.tx_errors),
        ifOutDiscards: dev
            .get(StatTarget::OutDiscards)
            .unwrap_or(0)
            .wrapping_add(shim.tx_discards),
        ifHCInUcastOctets: shim.rx_bytes[0],
        ifHCInMulticastOctets: shim.rx_bytes[1],
        ifHCInBroadcastOctets: shim.rx_bytes[2],
        ifHCOutUcastOctets: shim.tx_bytes[0],
        ifHCOutMulticastOctets: shim.tx_bytes[1],
        ifHCOutBroadcastOctets: shim.tx_bytes[2],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn name(scope: StatScope, name: &'static str) -> StatName {
        StatName { scope, name }
    }

    #[test]
    fn device_counters_map_and_sum_over_queues() {
        let mut d = DeviceTotals::default();
        d.add(name(StatScope::Rx(0), "bytes"), 1000);
        d.add(name(StatScope::Rx(1), "bytes"), 500);
        d.add(name(StatScope::Rx(1), "csum_bad"), 2);
        d.add(name(StatScope::Rx(0), "bad_req_id"), 1);
        d.add(name(StatScope::Tx(0), "bad_req_id"), 7);
        d.add(name(StatScope::Global, "rx_drops"), 3);
        d.add(name(StatScope::Global, "tx_drops"), 4);
        d.add(name(StatScope::Tx(0), "cnt"), 99);
        d.add(name(StatScope::Global, "total_resets"), 5);
        let mut shim = ShimCounters::default();
        ShimCounters::count(
            &mut shim.rx_frames,
            &mut shim.rx_bytes,
            FrameClass::Unicast,
            60,
        );
        ShimCounters::count(
            &mut shim.rx_frames,
            &mut shim.rx_bytes,
            FrameClass::Broadcast,
            42,
        );
        ShimCounters::count(
            &mut shim.tx_frames,
            &mut shim.tx_bytes,
            FrameClass::Multicast,
            100,
        );
        shim.rx_discards = 10;
        shim.tx_errors = 1;
        let s = statistics(&d, &shim);
        assert_eq!(s.Header.Size, 152);
        assert_eq!(s.ifHCInOctets, 1500, "device byte counters win");
        assert_eq!(s.ifInErrors, 3);
        assert_eq!(s.ifInDiscards, 13);
        assert_eq!(s.ifOutErrors, 8);
        assert_eq!(s.ifOutDiscards, 4);
        assert_eq!((s.ifHCInUcastPkts, s.ifHCInBroadcastPkts), (1, 1));
        assert_eq!(s.ifHCInBroadcastOctets, 42);
        assert_eq!(s.ifHCOutMulticastPkts, 1);
        assert_eq!(s.ifHCOutOctets, 100, "no device TX bytes seen: shim total");
    }
}
