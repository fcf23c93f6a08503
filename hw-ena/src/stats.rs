//! Device-wide ENA counters with the exact `ethtool -S` names and order of
//! ena.md §7, the admin-queue counters (`ena_admin_q_*`), the device's
//! keep-alive drop counters. The device object merges these with the
//! per-queue counters for `ethtool -S` and the pre-reset log dump.

use cloudnic_common::cmdq::CmdQueueStats;
use cloudnic_common::nic::{StatName, StatScope};
use cloudnic_common::reset::ResetCounters;
use cloudnic_common::ResetReason;

cloudnic_common::counters! {
    /// Global counters that are not reset-reason counts (ena.md §7).
    pub struct EnaEventStats {
        /// OS TX watchdog fired (`ndo_tx_timeout` / NDIS hang).
        tx_timeout,
        /// Admin queue found not running by the health check.
        admin_q_pause,
        /// Suspends (kept for name parity; always 0).
        suspend,
        /// Resumes (kept for name parity; always 0).
        resume,
        /// Interface brought down.
        interface_down,
        /// Interface brought up.
        interface_up,
    }
}

/// Global counter names, in `ethtool -S` order (ena.md §7).
pub const GLOBAL_STAT_NAMES: [&str; 23] = [
    "total_resets",
    "reset_fail",
    "tx_timeout",
    "wd_expired",
    "admin_q_pause",
    "bad_tx_req_id",
    "bad_rx_req_id",
    "bad_rx_desc_num",
    "missing_intr",
    "suspected_poll_starvation",
    "missing_tx_cmpl",
    "rx_desc_malformed",
    "tx_desc_malformed",
    "invalid_state",
    "os_netdev_wd",
    "missing_admin_interrupt",
    "admin_to",
    "device_request_reset",
    "missing_first_intr",
    "suspend",
    "resume",
    "interface_down",
    "interface_up",
];

/// Admin-queue counter names, in `ethtool -S` order (ena.md §7).
pub const ADMIN_STAT_NAMES: [&str; 5] = [
    "ena_admin_q_aborted_cmd",
    "ena_admin_q_submitted_cmd",
    "ena_admin_q_completed_cmd",
    "ena_admin_q_out_of_space",
    "ena_admin_q_no_completion",
];

/// Admin counters in [`ADMIN_STAT_NAMES`] order.
pub fn admin_stat_values(s: &CmdQueueStats) -> [u64; 5] {
    [
        s.aborted,
        s.submitted,
        s.completed,
        s.out_of_space,
        s.no_completion,
    ]
}

/// The global counters (event counts + reset counts from common's
/// [`ResetCounters`], merged into ENA's order), plus the device's keep-alive
/// drop counters.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct EnaStats {
    /// Event counters.
    pub events: EnaEventStats,
    /// `total_resets`, `reset_fail` and per-reason counts.
    pub resets: ResetCounters,
    /// Cumulative RX drops from the last keep-alive (netdev `rx_dropped`).
    pub rx_drops: u64,
    /// Cumulative TX drops from the last keep-alive (netdev `tx_dropped`).
    pub tx_drops: u64,
    /// Cumulative RX overruns from the last keep-alive (`rx_over_errors`).
    pub rx_overruns: u64,
}

impl EnaStats {
    /// Value of the global counter `name` (0 for unknown names).
    pub fn get(&self, name: &str) -> u64 {
        match name {
            "total_resets" => self.resets.total_resets,
            "reset_fail" => self.resets.reset_fail,
            _ => self.events.get(name).unwrap_or_else(|| {
                ResetReason::ALL
                    .iter()
                    .find(|r| r.counter_name() == Some(name))
                    .map_or(0, |r| self.resets.count(*r))
            }),
        }
    }
    /// Every global counter with its name, in ENA's order.
    pub fn for_each(&self, f: &mut dyn FnMut(StatName, u64)) {
        for name in GLOBAL_STAT_NAMES {
            f(
                StatName {
                    scope: StatScope::Global,
                    name,
                },
                self.get(name),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    extern crate std;
    use super::*;
    use cloudnic_common::stats::inc;
    use std::vec::Vec;

    #[test]
    fn names_and_reset_counters() {
        let mut s = EnaStats::default();
        s.resets.record(ResetReason::KeepAliveTimeout);
        s.resets.record(ResetReason::Normal);
        inc(&mut s.events.interface_up);
        assert_eq!(s.get("total_resets"), 2);
        assert_eq!(s.get("wd_expired"), 1);
        assert_eq!(s.get("interface_up"), 1);
        let mut names = Vec::new();
        s.for_each(&mut |n, _| names.push(std::format!("{n}")));
        assert_eq!(names.len(), 23);
        assert_eq!(names[0], "total_resets");
        assert_eq!(names[22], "interface_up");
        // Every name is backed by a counter.
        for name in GLOBAL_STAT_NAMES {
            let known = matches!(name, "total_resets" | "reset_fail")
                || EnaEventStats::NAMES.contains(&name)
                || ResetReason::ALL
                    .iter()
                    .any(|r| r.counter_name() == Some(name));
            assert!(known, "{name}");
        }
    }
}
