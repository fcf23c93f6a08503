//! Statistics with the Linux `mana` ethtool names (mana.md §8).
//!
//! String order is Linux's: driver stats, HW (GF) stats, PHY stats, then
//! per-RX-queue and per-TX-queue counters (`rx_N_*`, `tx_N_*`, defined with
//! their queues in [`crate::rx::RxStats`] and [`crate::tx::TxStats`]).
//! cloudnic's own diagnostic counters (HWC, EQ, resets, health) follow.
//!
//! The GF counters are cached from the last QUERY_GF_STAT (refreshed by the
//! periodic health check, mana.md §3.5 "GF stats poll period 2 s") because
//! reading statistics must not wait on the hardware channel.

use crate::defs::eth_stats::{GF_STAT_COUNT, PHY_STAT_COUNT};

/// Linux driver-level (global) stat names, in ethtool order (mana.md §8).
pub const DRIVER_STAT_NAMES: [&str; 6] = [
    "stop_queue",
    "wake_queue",
    "tx_cq_err",
    "tx_cqe_unknown_type",
    "tx_linear_pkt_cnt",
    "rx_cqe_unknown_type",
];

/// GF (hardware) stat names in ethtool order, each with its index in the
/// QUERY_GF_STAT response counters (Linux's response struct puts
/// `err_tx_gdma` last, its ethtool list after `hc_tx_err_inval_oob`).
pub const GF_STAT_NAMES: [(&str, usize); GF_STAT_COUNT] = [
    ("hc_rx_discards_no_wqe", 0),
    ("hc_rx_err_vport_disabled", 1),
    ("hc_rx_bytes", 2),
    ("hc_rx_ucast_pkts", 3),
    ("hc_rx_ucast_bytes", 4),
    ("hc_rx_bcast_pkts", 5),
    ("hc_rx_bcast_bytes", 6),
    ("hc_rx_mcast_pkts", 7),
    ("hc_rx_mcast_bytes", 8),
    ("hc_tx_err_gf_disabled", 9),
    ("hc_tx_err_vport_disabled", 10),
    ("hc_tx_err_inval_vportoffset_pkt", 11),
    ("hc_tx_err_vlan_enforcement", 12),
    ("hc_tx_err_eth_type_enforcement", 13),
    ("hc_tx_err_sa_enforcement", 14),
    ("hc_tx_err_sqpdid_enforcement", 15),
    ("hc_tx_err_cqpdid_enforcement", 16),
    ("hc_tx_err_mtu_violation", 17),
    ("hc_tx_err_inval_oob", 18),
    ("hc_tx_err_gdma", 26),
    ("hc_tx_bytes", 19),
    ("hc_tx_ucast_pkts", 20),
    ("hc_tx_ucast_bytes", 21),
    ("hc_tx_bcast_pkts", 22),
    ("hc_tx_bcast_bytes", 23),
    ("hc_tx_mcast_pkts", 24),
    ("hc_tx_mcast_bytes", 25),
];

/// PHY stat names in QUERY_PHY_STAT response order: two drop counters, then
/// per traffic class 0–7 rx/tx packets, bytes and pause frames.
pub const PHY_STAT_NAMES: [&str; PHY_STAT_COUNT] = [
    "hc_rx_pkt_drop_phy",
    "hc_tx_pkt_drop_phy",
    "hc_tc0_rx_pkt_phy",
    "hc_tc0_tx_pkt_phy",
    "hc_tc1_rx_pkt_phy",
    "hc_tc1_tx_pkt_phy",
    "hc_tc2_rx_pkt_phy",
    "hc_tc2_tx_pkt_phy",
    "hc_tc3_rx_pkt_phy",
    "hc_tc3_tx_pkt_phy",
    "hc_tc4_rx_pkt_phy",
    "hc_tc4_tx_pkt_phy",
    "hc_tc5_rx_pkt_phy",
    "hc_tc5_tx_pkt_phy",
    "hc_tc6_rx_pkt_phy",
    "hc_tc6_tx_pkt_phy",
    "hc_tc7_rx_pkt_phy",
    "hc_tc7_tx_pkt_phy",
    "hc_tc0_rx_byte_phy",
    "hc_tc0_tx_byte_phy",
    "hc_tc1_rx_byte_phy",
    "hc_tc1_tx_byte_phy",
    "hc_tc2_rx_byte_phy",
    "hc_tc2_tx_byte_phy",
    "hc_tc3_rx_byte_phy",
    "hc_tc3_tx_byte_phy",
    "hc_tc4_rx_byte_phy",
    "hc_tc4_tx_byte_phy",
    "hc_tc5_rx_byte_phy",
    "hc_tc5_tx_byte_phy",
    "hc_tc6_rx_byte_phy",
    "hc_tc6_tx_byte_phy",
    "hc_tc7_rx_byte_phy",
    "hc_tc7_tx_byte_phy",
    "hc_tc0_rx_pause_phy",
    "hc_tc0_tx_pause_phy",
    "hc_tc1_rx_pause_phy",
    "hc_tc1_tx_pause_phy",
    "hc_tc2_rx_pause_phy",
    "hc_tc2_tx_pause_phy",
    "hc_tc3_rx_pause_phy",
    "hc_tc3_tx_pause_phy",
    "hc_tc4_rx_pause_phy",
    "hc_tc4_tx_pause_phy",
    "hc_tc5_rx_pause_phy",
    "hc_tc5_tx_pause_phy",
    "hc_tc6_rx_pause_phy",
    "hc_tc6_tx_pause_phy",
    "hc_tc7_rx_pause_phy",
    "hc_tc7_tx_pause_phy",
];

/// Name of PHY counter `i` (response order).
pub fn phy_stat_name(i: usize) -> Option<&'static str> {
    PHY_STAT_NAMES.get(i).copied()
}

/// Hardware counters cached from the device.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HwStats {
    /// QUERY_GF_STAT counters in response order.
    pub gf: [u64; GF_STAT_COUNT],
    /// QUERY_PHY_STAT counters in response order.
    pub phy: [u64; PHY_STAT_COUNT],
}

impl Default for HwStats {
    fn default() -> Self {
        HwStats {
            gf: [0; GF_STAT_COUNT],
            phy: [0; PHY_STAT_COUNT],
        }
    }
}

impl HwStats {
    /// `rx_missed_errors` (stats64) = hc_rx_discards_no_wqe (mana.md §8).
    pub fn rx_missed_errors(&self) -> u64 {
        self.gf[0]
    }
    /// GF then PHY counters with their names, in ethtool order.
    pub fn for_each(&self, f: &mut dyn FnMut(&'static str, u64)) {
        for (name, idx) in GF_STAT_NAMES {
            f(name, self.gf.get(idx).copied().unwrap_or(0));
        }
        for (name, v) in PHY_STAT_NAMES.iter().zip(self.phy.iter()) {
            f(name, *v);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_linux_order_and_unique() {
        assert_eq!(GF_STAT_NAMES[0].0, "hc_rx_discards_no_wqe");
        assert_eq!(GF_STAT_NAMES[19], ("hc_tx_err_gdma", 26));
        assert_eq!(GF_STAT_NAMES[20], ("hc_tx_bytes", 19));
        assert_eq!(GF_STAT_NAMES[26], ("hc_tx_mcast_bytes", 25));
        let mut idx: [bool; GF_STAT_COUNT] = [false; GF_STAT_COUNT];
        for (_, i) in GF_STAT_NAMES {
            assert!(!idx[i]);
            idx[i] = true;
        }
        assert_eq!(phy_stat_name(2), Some("hc_tc0_rx_pkt_phy"));
        assert_eq!(phy_stat_name(49), Some("hc_tc7_tx_pause_phy"));
        assert_eq!(phy_stat_name(50), None);
        let mut s = HwStats::default();
        s.gf[26] = 7;
        s.gf[0] = 3;
        let mut seen = [("", 0u64); GF_STAT_COUNT + PHY_STAT_COUNT];
        let mut n = 0;
        s.for_each(&mut |k, v| {
            seen[n] = (k, v);
            n += 1;
        });
        assert_eq!(n, 77);
        assert_eq!(seen[19], ("hc_tx_err_gdma", 7));
        assert_eq!(s.rx_missed_errors(), 3);
    }
}
