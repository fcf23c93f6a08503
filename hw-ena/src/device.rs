//! [`EnaDevice`]: one ENA PCI function behind the device-neutral
//! [`NetDevice`] interface.
//!
//! The control path (admin queue, AENQ, health, reset) and the queue pairs
//! live in one object the shim takes `&mut` (design.md: ownership, not
//! locks). Sub-modules: `queues` creates and destroys IO queue pairs
//! (ena.md §6.1 step 13), `bringup` runs the init sequence (§6.1 steps 2–12),
//! `reset` the reset flow (§6.5), `health` the periodic checks (§6.4),
//! `netdev` the [`NetDevice`] implementation.

mod bringup;
mod health;
mod netdev;
mod queues;
mod reset;
#[cfg(test)]
mod tests;

use cloudnic_common::nic::{
    DeviceInfo, ModerationConfig, OffloadCaps, QueueConfig, Released, StatName, StatScope,
};
use cloudnic_common::reset::ResetTrigger;
use cloudnic_common::ring::MAX_PHASE_RING_DEPTH;
use cloudnic_common::{cn_info, Error, Platform, RegisterBar};

use crate::admin::AdminQueue;
use crate::aenq::AenqRing;
use crate::defs::admin::{RxOffloadBits, TxOffloadBits, RSS_KEY_SIZE};
use crate::defs::host_info::{
    self, DriverFeatures, HostInfo, ENA_SPEC_VERSION, HOST_INFO_PAGE_SIZE,
};
use crate::defs::pci;
use crate::features::{Negotiated, INITIAL_RX_INTERVAL_US, INITIAL_TX_INTERVAL_US};
use crate::io::rx::RxQueueStats;
use crate::io::tx::TxQueueStats;
use crate::mmio::MmioReader;
use crate::rss::EnaRss;
use crate::stats::{admin_stat_values, EnaStats, ADMIN_STAT_NAMES};

use health::Monitor;
use queues::QueuePair;

/// Smallest MTU (ena.md §6.2).
pub const MIN_MTU: u32 = 128;
/// Smallest ring size (ena.md §6.2).
pub const MIN_RING_SIZE: u32 = 256;
/// Default ring sizes (ena.md §6.2).
pub const DEFAULT_RING_SIZE: u32 = 1024;
/// Default MTU.
pub const DEFAULT_MTU: u32 = 1500;
/// Largest RX ring: the device limit, capped at 16K entries (ena.md §6.2
/// "Max RX ring: device limit, up to 16K"; Linux `ENA_MAX_RING_SIZE_RX`).
pub const MAX_RX_RING_SIZE: u32 = 16 * 1024;

/// What the shim decides at probe.
#[derive(Clone, Copy, Debug)]
pub struct EnaConfig {
    /// Host-info page contents (OS type, strings, BDF, CPUs); see
    /// [`EnaConfig::new`] for the fields the driver fills.
    pub host_info: HostInfo,
    /// Most queue pairs the shim can serve (CPUs, MSI-X vectors − 1).
    pub max_queues: u16,
    /// TX ring size for the first open.
    pub tx_ring_size: u32,
    /// RX ring size for the first open.
    pub rx_ring_size: u32,
    /// Switch the admin queue to interrupt mode after bring-up (MSI-X vector
    /// 0 wired to [`cloudnic_common::nic::NetDevice::handle_management_interrupt`]).
    pub admin_interrupts: bool,
    /// Prefer 256-byte LLQ entries.
    pub large_llq: bool,
    /// Admin/reset back-off base in µs (Linux 5000).
    pub poll_base_us: u32,
    /// BAR 0 physical address, for the "found at mem" log line only.
    pub bar0_phys: u64,
    /// Driver name/version for "Device reset completed successfully, Driver info: ...".
    pub driver_info: &'static str,
}

impl EnaConfig {
    /// Defaults for `os_type` ([`host_info::os_type`]): driver version,
    /// spec version and supported-features bits filled, strings empty.
    pub fn new(os_type: u32) -> Self {
        let mut h = HostInfo::zeroed();
        h.os_type = os_type;
        h.driver_version = host_info::driver_version(0, 1, 0, b'c');
        h.ena_spec_version = ENA_SPEC_VERSION;
        h.num_cpus = 1;
        h.driver_supported_features = (DriverFeatures::RX_OFFSET
            | DriverFeatures::INTERRUPT_MODERATION
            | DriverFeatures::RSS_CONFIGURABLE_FUNCTION_KEY
            | DriverFeatures::TX_IPV6_CSUM_OFFLOAD)
            .bits();
        EnaConfig {
            host_info: h,
            max_queues: crate::features::MAX_IO_QUEUES,
            tx_ring_size: DEFAULT_RING_SIZE,
            rx_ring_size: DEFAULT_RING_SIZE,
            admin_interrupts: true,
            large_llq: false,
            poll_base_us: crate::admin::DEFAULT_POLL_BASE_US,
            bar0_phys: 0,
            driver_info: concat!(
                "Elastic Network Adapter (ENA) cloudnic v",
                env!("CARGO_PKG_VERSION")
            ),
        }
    }
}

/// One ENA device.
pub struct EnaDevice<P: Platform, R: RegisterBar> {
    plat: P,
    bar0: R,
    bar2: Option<R>,
    cfg: EnaConfig,
    mmio: MmioReader<P>,
    admin: AdminQueue<P>,
    aenq: AenqRing<P>,
    host_page: P::Dma,
    rss: EnaRss<P>,
    neg: Negotiated,
    info: DeviceInfo,
    qcfg: QueueConfig,
    queues: Option<P::Table<Option<QueuePair<P>>>>,
    /// Per-queue counters of closed rings, kept so names and values persist
    /// across close and reset (ena.md §7: every queue up to the maximum).
    saved_stats: P::Table<(TxQueueStats, RxQueueStats)>,
    moderation: ModerationConfig,
    link_up: bool,
    stats: EnaStats,
    trigger: ResetTrigger,
    monitor: Monitor<P>,
    /// Restore failed: the device is unusable until removed.
    failed: bool,
    shut_down: bool,
}

impl<P: Platform, R: RegisterBar> EnaDevice<P, R> {
    /// Probe: readless MMIO, reset, version check, admin/AENQ rings, host
    /// info, feature negotiation, interrupt mode and RSS (ena.md §6.1 steps
    /// 2–12). `pci_revision` bit 0 disables readless reads. Queues are
    /// created by `open`.
    pub fn probe(
        plat: P,
        bar0: R,
        bar2: Option<R>,
        pci_revision: u8,
        cfg: EnaConfig,
    ) -> Result<Self, Error> {
        let mut mmio = MmioReader::new(&plat, !pci::readless_disabled(pci_revision))?;
        let mut admin = AdminQueue::new(&plat, &bar0)?;
        admin.set_poll_base_us(cfg.poll_base_us);
        let mut aenq = AenqRing::new(&plat, &bar0)?;
        let host_page = plat.alloc_dma(HOST_INFO_PAGE_SIZE, HOST_INFO_PAGE_SIZE)?;
        let neg = match bringup::init_device(
            &plat,
            &bar0,
            bar2.as_ref(),
            &mut mmio,
            &mut admin,
            &mut aenq,
            &host_page,
            &cfg,
        ) {
            Ok(n) => n,
            Err(e) => {
                bringup::abandon(&plat, &bar0, &mut mmio, cfg.poll_base_us);
                return Err(e);
            }
        };
        let max_q = neg.limits.max_queues.min(cfg.max_queues).max(1);
        let rss = match bringup::init_rss(&plat, &bar0, &mut admin, max_q) {
            Ok(r) => r,
            Err(e) => {
                bringup::abandon(&plat, &bar0, &mut mmio, cfg.poll_base_us);
                return Err(e);
            }
        };
        // The device now holds the addresses of the admin, AENQ and readless
        // buffers: a failed allocation past this point must also reset it
        // (INIT_ERR) before those buffers are freed on return.
        let tables = plat
            .alloc_table(usize::from(max_q), |_| Default::default())
            .and_then(|saved| Ok((saved, health::new_monitor(&plat, &neg, max_q)?)));
        let (saved_stats, monitor) = match tables {
            Ok(t) => t,
            Err(e) => {
                bringup::abandon(&plat, &bar0, &mut mmio, cfg.poll_base_us);
                return Err(e);
            }
        };
        mmio.set_timeout_hint_ms(neg.hints.mmio_read_timeout);
        let info = device_info(&neg, max_q, &rss);
        let qcfg = QueueConfig {
            num_queues: max_q,
            tx_ring_size: clamp_ring(cfg.tx_ring_size, info.max_tx_ring_size),
            rx_ring_size: clamp_ring(cfg.rx_ring_size, info.max_rx_ring_size),
            mtu: DEFAULT_MTU.min(info.max_mtu),
        };
        let moderation = ModerationConfig {
            tx_usecs: if neg.intr_delay_resolution.is_some() {
                INITIAL_TX_INTERVAL_US
            } else {
                0
            },
            rx_usecs: if neg.intr_delay_resolution.is_some() {
                INITIAL_RX_INTERVAL_US
            } else {
                0
            },
            // ena.md §6.6: adaptive RX is on from probe when the device
            // supports INTERRUPT_MODERATION (feature 20).
            adaptive_rx: neg.intr_delay_resolution.is_some(),
        };
        let dev = EnaDevice {
            plat,
            bar0,
            bar2,
            cfg,
            mmio,
            admin,
            aenq,
            host_page,
            rss,
            neg,
            info,
            qcfg,
            queues: None,
            saved_stats,
            moderation,
            link_up: true,
            stats: EnaStats::default(),
            trigger: ResetTrigger::new(),
            monitor,
            failed: false,
            shut_down: false,
        };
        let m = dev.info.mac;
        cn_info!(
            &dev.plat,
            "Elastic Network Adapter (ENA) found at mem {:x}, mac addr {:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}, Queues {}",
            dev.cfg.bar0_phys,
            m[0],
            m[1],
            m[2],
            m[3],
            m[4],
            m[5],
            max_q
        );
        Ok(dev)
    }

    /// The platform.
    pub fn platform(&self) -> &P {
        &self.plat
    }
    /// Register BAR.
    pub fn bar0(&self) -> &R {
        &self.bar0
    }
    /// Everything negotiated at (the last) bring-up.
    pub fn negotiated(&self) -> &Negotiated {
        &self.neg
    }
    /// Global counters and the device's keep-alive drop counters.
    pub fn stats(&self) -> &EnaStats {
        &self.stats
    }
    /// Admin-queue counters (`ena_admin_q_*`).
    pub fn admin_stats(&self) -> cloudnic_common::cmdq::CmdQueueStats {
        self.admin.stats()
    }
    /// AENQ counters.
    pub fn aenq_stats(&self) -> crate::aenq::AenqStats {
        self.aenq.stats()
    }
    /// Device drop counters from the last keep-alive: (rx_drops, tx_drops,
    /// rx_overruns) — netdev `rx_dropped`/`tx_dropped`/`rx_over_errors`.
    pub fn hw_drops(&self) -> (u64, u64, u64) {
        (
            self.stats.rx_drops,
            self.stats.tx_drops,
            self.stats.rx_overruns,
        )
    }
    /// True after a failed restore: only removal helps.
    pub fn is_failed(&self) -> bool {
        self.failed
    }

    /// Stop the device for removal/shutdown: close (tokens to `release`),
    /// reset with reason SHUTDOWN, stop readless writes (ena.md §1.4, §2).
    pub fn shutdown(&mut self, release: &mut dyn FnMut(Released)) {
        if self.shut_down {
            return;
        }
        self.destroy_queues(release, true);
        self.admin.stop();
        let _ = self.reset_hw(cloudnic_common::ResetReason::Shutdown);
        self.admin.abort_all();
        self.mmio.teardown(&self.bar0);
        self.shut_down = true;
    }

    /// Reset the device with `reason` (§6.3), extended codes only if the
    /// device advertises EXTENDED_RESET_REASONS.
    fn reset_hw(
        &mut self,
        reason: cloudnic_common::ResetReason,
    ) -> Result<crate::defs::regs::Caps, Error> {
        let ext = self
            .neg
            .caps
            .contains(crate::defs::admin::DeviceCaps::EXTENDED_RESET_REASONS);
        crate::features::reset_device(
            &self.plat,
            &self.bar0,
            &mut self.mmio,
            reason,
            ext,
            self.cfg.poll_base_us,
        )
    }

    /// Every counter in `ethtool -S` order: global, admin, active queue
    /// count, then every queue up to the maximum (ena.md §7).
    fn stats_for_each(&self, f: &mut dyn FnMut(StatName, u64)) {
        self.stats.for_each(f);
        let admin = admin_stat_values(&self.admin.stats());
        for (name, v) in ADMIN_STAT_NAMES.iter().zip(admin) {
            f(
                StatName {
                    scope: StatScope::Global,
                    name,
                },
                v,
            );
        }
        let active = if self.queues.is_some() {
            self.qcfg.num_queues
        } else {
            0
        };
        f(
            StatName {
                scope: StatScope::Global,
                name: "num_of_active_io_queues",
            },
            u64::from(active),
        );
        for q in 0..self.saved_stats.len() {
            let (tx, rx) = self.queue_stats(q);
            let q16 = q as u16;
            tx.for_each(&mut |name, v| {
                f(
                    StatName {
                        scope: StatScope::Tx(q16),
                        name,
                    },
                    v,
                )
            });
            rx.for_each(&mut |name, v| {
                f(
                    StatName {
                        scope: StatScope::Rx(q16),
                        name,
                    },
                    v,
                )
            });
        }
    }

    /// Saved plus live counters of queue `q`.
    fn queue_stats(&self, q: usize) -> (TxQueueStats, RxQueueStats) {
        let (mut tx, mut rx) = self.saved_stats.get(q).copied().unwrap_or_default();
        if let Some(p) = self
            .queues
            .as_ref()
            .and_then(|t| t.get(q))
            .and_then(Option::as_ref)
        {
            tx.add(p.tx.stats());
            rx.add(p.rx.stats());
        }
        (tx, rx)
    }

    /// Log every counter, then `total_tx_*` / `total_rx_*` sums (ena.md §6.5
    /// step 3, §7).
    fn dump_stats(&self) {
        let plat = &self.plat;
        self.stats_for_each(&mut |name, v| cn_info!(plat, "{}: {}", name, v));
        let (mut tx, mut rx) = (TxQueueStats::default(), RxQueueStats::default());
        for q in 0..self.saved_stats.len() {
            let (t, r) = self.queue_stats(q);
            tx.add(&t);
            rx.add(&r);
        }
        tx.for_each(&mut |name, v| cn_info!(plat, "total_tx_{}: {}", name, v));
        rx.for_each(&mut |name, v| cn_info!(plat, "total_rx_{}: {}", name, v));
    }
}

impl<P: Platform, R: RegisterBar> Drop for EnaDevice<P, R> {
    /// The device must stop DMA before the platform frees the rings.
    fn drop(&mut self) {
        self.shutdown(&mut |_| {});
    }
}

/// Round a requested ring size down to a power of two within [256, max].
fn clamp_ring(requested: u32, max: u32) -> u32 {
    crate::features::pow2_floor(requested.min(max)).max(MIN_RING_SIZE.min(max))
}

/// Capabilities the shim sees, from the negotiated features.
fn device_info<P: Platform>(neg: &Negotiated, max_queues: u16, rss: &EnaRss<P>) -> DeviceInfo {
    let tx = TxOffloadBits::from_bits_truncate(neg.offload.tx);
    let rx = RxOffloadBits::from_bits_truncate(neg.offload.rx_supported);
    let mut o = OffloadCaps::empty();
    o.set(
        OffloadCaps::TX_IPV4_CSUM,
        tx.contains(TxOffloadBits::L3_CSUM_IPV4),
    );
    o.set(
        OffloadCaps::TX_L4_IPV4_CSUM,
        tx.intersects(TxOffloadBits::L4_IPV4_CSUM_PART | TxOffloadBits::L4_IPV4_CSUM_FULL),
    );
    o.set(
        OffloadCaps::TX_L4_IPV6_CSUM,
        tx.intersects(TxOffloadBits::L4_IPV6_CSUM_PART | TxOffloadBits::L4_IPV6_CSUM_FULL),
    );
    o.set(OffloadCaps::TSO_IPV4, tx.contains(TxOffloadBits::TSO_IPV4));
    o.set(OffloadCaps::TSO_IPV6, tx.contains(TxOffloadBits::TSO_IPV6));
    o.set(
        OffloadCaps::RX_IPV4_CSUM,
        rx.contains(RxOffloadBits::L3_CSUM_IPV4),
    );
    o.set(
        OffloadCaps::RX_L4_IPV4_CSUM,
        rx.contains(RxOffloadBits::L4_IPV4_CSUM),
    );
    o.set(
        OffloadCaps::RX_L4_IPV6_CSUM,
        rx.contains(RxOffloadBits::L4_IPV6_CSUM),
    );
    o.set(OffloadCaps::RX_HASH, rx.contains(RxOffloadBits::HASH));
    let l = &neg.limits;
    DeviceInfo {
        mac: neg.attr.mac_addr,
        min_mtu: MIN_MTU,
        max_mtu: neg.attr.max_mtu.max(MIN_MTU),
        max_queues,
        min_ring_size: MIN_RING_SIZE.min(l.max_tx_depth.min(l.max_rx_depth)),
        max_tx_ring_size: l.max_tx_depth.min(MAX_PHASE_RING_DEPTH),
        max_rx_ring_size: l
            .max_rx_depth
            .min(MAX_RX_RING_SIZE)
            .min(MAX_PHASE_RING_DEPTH),
        max_tx_segments: l.max_tx_sgl,
        max_rx_segments: l.max_rx_sgl,
        offloads: o,
        rss_table_size: rss.table_len() as u32,
        rss_key_size: if rss.key_len() != 0 {
            RSS_KEY_SIZE as u32
        } else {
            0
        },
        link_speed_mbps: neg.link_speed_mbps,
    }
}
