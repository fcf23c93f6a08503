//! Driver configuration, Linux defaults and the limits user requests are
//! validated against (mana.md §3.5, §6.5, §6.10, §7).

use cloudnic_common::health::HealthConfig;
use cloudnic_common::nic::QueueConfig;
use cloudnic_common::{ConfigError, Error};

use crate::defs::regs::PCI_DEVICE_ID_VF;
use crate::gdma::GdmaConfig;
use crate::vport::{DevConfig, VportInfo, MANA_MIN_MTU};

/// Most queue pairs per vPort (`MANA_MAX_NUM_QUEUES`, mana.md §6.5).
pub const MANA_MAX_NUM_QUEUES: u16 = 64;
/// Default queue pairs per vPort (`MANA_DEF_NUM_QUEUES`).
pub const MANA_DEF_NUM_QUEUES: u16 = 16;
/// TX ring default / min / max in WQEs (mana.md §6.5).
pub const TX_RING_DEFAULT: u32 = 256;
/// Smallest TX ring.
pub const TX_RING_MIN: u32 = 128;
/// Largest TX ring.
pub const TX_RING_MAX: u32 = 16384;
/// RX ring default in buffers.
pub const RX_RING_DEFAULT: u32 = 1024;
/// Smallest RX ring.
pub const RX_RING_MIN: u32 = 128;
/// Largest RX ring.
pub const RX_RING_MAX: u32 = 8192;
/// Data EQ entries: 32 KiB of 16-byte EQEs (mana.md §6.5).
pub const DATA_EQ_ENTRIES: u32 = 2048;
/// Default MTU.
pub const DEFAULT_MTU: u32 = 1500;
/// Settle time of a service reset (`MANA_SERVICE_PERIOD`, 10 s, mana.md §7).
pub const SERVICE_PERIOD_US: u32 = 10_000_000;
/// RX fence wait at close (10 s, mana.md §3.5).
pub const FENCE_TIMEOUT_US: u64 = 10_000_000;
/// TX stall timeout: the Linux netdev watchdog (15 s, mana.md §3.5).
pub const TX_STALL_TIMEOUT_US: u64 = 15_000_000;
/// GF stats refresh period (net-next 2 s, mana.md §3.5).
pub const STATS_PERIOD_US: u64 = 2_000_000;

/// Health-check settings for MANA: no keep-alive (MANA has none); a TX
/// queue is stalled when any packet waits past the watchdog timeout
/// (completions are in order, so one overdue packet means the SQ is stuck).
pub const MANA_HEALTH: HealthConfig = HealthConfig {
    keep_alive_timeout_us: None,
    missing_tx_timeout_us: Some(TX_STALL_TIMEOUT_US),
    missing_tx_threshold: 0,
    queues_per_tick: 4,
    netdev_watchdog_us: TX_STALL_TIMEOUT_US,
    empty_rx_checks: 2,
    rx_first_interrupt_checks: 3,
};

/// Everything a shim chooses at probe time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ManaConfig {
    /// PCI device id (selects the VF or PF register layout).
    pub device_id: u16,
    /// BAR0 size in bytes (every device-provided offset is checked against it).
    pub bar_len: u64,
    /// vPorts to bring up (1..=256; capped by the device's count).
    pub max_ports: u16,
    /// MSI-X vectors the shim allocated: vector 0 is the HWC, queue `q` of
    /// every port uses vector `1 + q % (num_msix − 1)`.
    pub num_msix: u16,
    /// GDMA and HWC settings.
    pub gdma: GdmaConfig,
    /// Health-check settings.
    pub health: HealthConfig,
    /// Entries per data EQ.
    pub eq_entries: u32,
    /// Settle time before re-initialising after a device-requested reset.
    pub service_settle_us: u32,
    /// Max wait for each RQ's fence completion at close.
    pub fence_timeout_us: u64,
    /// Max wait for pending TX completions at close.
    pub tx_drain_timeout_us: u64,
    /// Ask for RX CQE coalescing (4 packets per CQE) in CONFIG_VPORT_RX.
    pub cqe_coalescing: bool,
    /// Period of the GF/PHY statistics refresh in the health check.
    pub stats_period_us: u64,
}

impl Default for ManaConfig {
    fn default() -> Self {
        ManaConfig {
            device_id: PCI_DEVICE_ID_VF,
            bar_len: 0,
            max_ports: 1,
            num_msix: 1 + MANA_DEF_NUM_QUEUES,
            gdma: GdmaConfig::default(),
            health: MANA_HEALTH,
            eq_entries: DATA_EQ_ENTRIES,
            service_settle_us: SERVICE_PERIOD_US,
            fence_timeout_us: FENCE_TIMEOUT_US,
            tx_drain_timeout_us: 1_000_000,
            cqe_coalescing: false,
            stats_period_us: STATS_PERIOD_US,
        }
    }
}

/// Most queue pairs a vPort can open: Linux's min over the vPort, device
/// limits, MSI-X and the 64 cap (mana.md §6.5).
pub fn max_queues(vport: &VportInfo, limits: &crate::gdma::MaxResources, num_msix: u16) -> u16 {
    let m = vport
        .max_sq
        .min(vport.max_rq)
        .min(limits.max_sq)
        .min(limits.max_rq)
        .min(limits.max_cq / 2)
        .min(limits.max_eq);
    let m = u16::try_from(m)
        .unwrap_or(u16::MAX)
        .min(MANA_MAX_NUM_QUEUES);
    m.min(num_msix.saturating_sub(1)).max(1)
}

fn check_ring(requested: u32, min: u32, max: u32) -> Result<(), ConfigError> {
    if requested < min || requested > max {
        return Err(ConfigError::RingSizeOutOfRange {
            requested,
            min,
            max,
        });
    }
    if !requested.is_power_of_two() {
        return Err(ConfigError::RingSizeNotPowerOfTwo { requested });
    }
    Ok(())
}

/// Validate a queue configuration against the device (errors, never panics).
pub fn validate(cfg: &QueueConfig, max_q: u16, dev: &DevConfig) -> Result<(), Error> {
    if cfg.num_queues == 0 || cfg.num_queues > max_q {
        return Err(ConfigError::QueueCountOutOfRange {
            requested: u32::from(cfg.num_queues),
            max: u32::from(max_q),
        }
        .into());
    }
    check_ring(cfg.tx_ring_size, TX_RING_MIN, TX_RING_MAX)?;
    check_ring(cfg.rx_ring_size, RX_RING_MIN, RX_RING_MAX)?;
    validate_mtu(cfg.mtu, dev)
}

/// MTU in [68, adapter MTU − 14] (mana.md §6.10).
pub fn validate_mtu(mtu: u32, dev: &DevConfig) -> Result<(), Error> {
    let max = dev.max_mtu();
    if mtu < MANA_MIN_MTU || mtu > max {
        return Err(ConfigError::MtuOutOfRange {
            requested: mtu,
            min: MANA_MIN_MTU,
            max,
        }
        .into());
    }
    Ok(())
}

/// Linux's default queue layout for a port.
pub fn default_queue_config(max_q: u16, dev: &DevConfig) -> QueueConfig {
    QueueConfig {
        num_queues: MANA_DEF_NUM_QUEUES.min(max_q),
        tx_ring_size: TX_RING_DEFAULT,
        rx_ring_size: RX_RING_DEFAULT,
        mtu: DEFAULT_MTU.min(dev.max_mtu()),
    }
}
