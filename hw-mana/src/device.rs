//! [`ManaDevice`]: one MANA PCI function — GDMA, its vPorts and their
//! queues — with bring-up, management events, health checking and the
//! reset cycle that restores every port's configuration (mana.md §3.1,
//! §6.4, §7).
//!
//! One `ManaDevice` owns the function; each vPort (its own MAC) is a
//! [`crate::netdev::PortView`] implementing `NetDevice`, and the device itself
//! implements `NetDevice` for port 0. A reset concerns the whole function:
//! it closes every port, returning their tokens through the one `release`
//! callback, and reopens the ports that were open.
//!
//! MANA triggers → shared [`ResetReason`] (documented mapping):
//! * HWC request timeout, or an HWC protocol violation (bad response, bad
//!   CQE, overflow), or a timed-out stats query → `AdminTimeout`
//!   ("command queue left the running state");
//! * EQE 135 RESET_REQUEST and EQE 132 FPGA_RECONFIG → `DeviceRequest`
//!   (both are the device asking for a service cycle; settle 10 s first);
//! * TX packets without completion past the watchdog (stalled SQ) →
//!   `MissingTxCompletion` (or the health monitor's interrupt/starvation
//!   refinements);
//! * TX CQE for another WQ, unknown TX CQE type, TX CQ overflow, TX GDMA
//!   error → `TxDescriptorMalformed`; a TX CQE with nothing pending →
//!   `InvalidTxReqId`;
//! * RX CQE for another WQ, unknown type, length above the buffer, RX CQ
//!   overflow → `RxDescriptorMalformed`; an RX CQE with no buffer posted →
//!   `InvalidRxReqId`;
//! * data EQ overflow → `Generic`; the OS TX watchdog → `OsNetdevWatchdog`;
//! * a failed re-initialisation keeps asking for `InitError`.

use cloudnic_common::health::{HealthMonitor, QueueHealth};
use cloudnic_common::nic::{DeviceInfo, OffloadCaps, Released};
use cloudnic_common::reset::{ResetCounters, ResetTrigger};
use cloudnic_common::{cn_err, cn_info, cn_warn, stats, Error, Platform, RegisterBar, ResetReason};

use crate::bar::BarLayout;
use crate::config::{
    default_queue_config, max_queues, ManaConfig, RX_RING_MAX, RX_RING_MIN, TX_RING_MAX,
};
use crate::defs::eth::MANA_HASH_KEY_SIZE;
use crate::defs::eth_stats::{QueryPhyStatReq, GF_STAT_COUNT};
use crate::defs::msg::GdmaRequest;
use crate::defs::queue::MAX_TX_WQE_SGES;
use crate::defs::regs::RegLayout;
use crate::gdma::Gdma;
use crate::hwc_chan::HwcStats;
use crate::port::{Ctx, Port};
use crate::stats::HwStats;
use crate::vport::{DevConfig, MANA_MIN_MTU};

cloudnic_common::counters! {
    /// Function-level service counters (cloudnic extras).
    pub struct ServiceStats {
        /// EQE 135 reset requests.
        reset_request_eqe,
        /// EQE 132 FPGA reconfigurations.
        fpga_reconfig_eqe,
        /// Link-up events (EQE 133 type 2).
        link_up_events,
        /// Link-down events (EQE 133 type 3).
        link_down_events,
        /// Statistics queries that failed.
        stats_query_errors,
    }
}

/// One MANA PCI function.
pub struct ManaDevice<P: Platform, R: RegisterBar> {
    pub(crate) plat: P,
    pub(crate) bar: R,
    pub(crate) cfg: ManaConfig,
    layout: BarLayout,
    pub(crate) gdma: Option<Gdma<P>>,
    pub(crate) dev: DevConfig,
    pub(crate) ports: P::Table<Option<Port<P>>>,
    pub(crate) infos: P::Table<DeviceInfo>,
    /// Returned for a port index without info (never in practice).
    pub(crate) no_info: DeviceInfo,
    pub(crate) monitors: P::Table<Option<HealthMonitor<P::Table<QueueHealth>>>>,
    pub(crate) trigger: ResetTrigger,
    pub(crate) resets: ResetCounters,
    pub(crate) service: ServiceStats,
    pub(crate) hw: HwStats,
    pub(crate) hwc_saved: HwcStats,
    phy_supported: bool,
    last_stats_us: u64,
}

impl<P: Platform, R: RegisterBar> ManaDevice<P, R> {
    /// Bring the function up: BAR0 layout, HWC, GDMA, registration,
    /// QUERY_DEV_CONFIG and QUERY_VPORT_CONFIG for `min(cfg.max_ports,
    /// device vPorts)` ports. Ports start closed.
    pub fn probe(plat: P, bar: R, cfg: ManaConfig) -> Result<Self, Error> {
        let layout = BarLayout::read(&bar, RegLayout::for_device_id(cfg.device_id), cfg.bar_len)?;
        let mut gdma = Gdma::bring_up(&plat, &bar, layout, &cfg.gdma)?;
        let dev = match gdma.query_dev_config(&plat, &bar) {
            Ok(d) => d,
            Err(e) => {
                let _ = gdma.shutdown(&plat, &bar);
                return Err(e);
            }
        };
        let nports = usize::from(cfg.max_ports.clamp(1, dev.max_num_vports));
        let ports = plat.alloc_table(nports, |_| None)?;
        let infos = plat.alloc_table(nports, |_| DeviceInfo::default())?;
        let monitors = plat.alloc_table(nports, |_| None)?;
        let mut d = ManaDevice {
            plat,
            bar,
            cfg,
            layout,
            gdma: Some(gdma),
            dev,
            ports,
            infos,
            no_info: DeviceInfo::default(),
            monitors,
            trigger: ResetTrigger::new(),
            resets: ResetCounters::default(),
            service: ServiceStats::default(),
            hw: HwStats::default(),
            hwc_saved: HwcStats::default(),
            phy_supported: true,
            last_stats_us: 0,
        };
        if let Err(e) = d.load_ports(true) {
            if let Some(mut g) = d.gdma.take() {
                let _ = g.shutdown(&d.plat, &d.bar);
            }
            return Err(e);
        }
        cn_info!(
            &d.plat,
            "mana: probed: {} vPort(s), adapter MTU {}",
            nports,
            d.dev.adapter_mtu
        );
        Ok(d)
    }

    /// QUERY_VPORT_CONFIG for every port; create the ports on first load,
    /// refresh identity and limits after a reset (configuration is kept).
    fn load_ports(&mut self, first: bool) -> Result<(), Error> {
        let gdma = self.gdma.as_mut().ok_or(Error::NotRunning)?;
        let limits = *gdma.limits();
        let rss_max = gdma.max_rss_table_entries();
        for i in 0..self.ports.len() {
            let info = gdma.query_vport_config(&self.plat, &self.bar, i as u32)?;
            let max_q = max_queues(&info, &limits, self.cfg.num_msix);
            let table_len = pow2_floor(info.indir_entries.min(rss_max)) as usize;
            let slot = self.ports.get_mut(i).ok_or(Error::NotRunning)?;
            match slot {
                Some(p) if !first => {
                    if p.info.mac != info.mac {
                        cn_warn!(&self.plat, "mana: vPort {} MAC changed across reset", i);
                    }
                    p.info = info;
                    p.max_queues = max_q;
                    p.qcfg.num_queues = p.qcfg.num_queues.min(max_q);
                }
                _ => {
                    let qcfg = default_queue_config(max_q, &self.dev);
                    *slot = Some(Port::new(&self.plat, info, max_q, qcfg, table_len)?);
                }
            }
            let qh = self
                .plat
                .alloc_table(usize::from(max_q), |_| QueueHealth::default())?;
            if let Some(m) = self.monitors.get_mut(i) {
                *m = Some(HealthMonitor::new(self.cfg.health, qh, self.plat.now_us()));
            }
            if let Some(di) = self.infos.get_mut(i) {
                *di = device_info(&info, max_q, &self.dev, table_len as u32);
            }
        }
        Ok(())
    }

    /// The platform the device was probed with.
    pub fn platform(&self) -> &P {
        &self.plat
    }
    /// BAR0.
    pub fn bar(&self) -> &R {
        &self.bar
    }
    /// Number of vPorts.
    pub fn num_ports(&self) -> u16 {
        self.ports.len() as u16
    }
    /// Device configuration from QUERY_DEV_CONFIG.
    pub fn dev_config(&self) -> &DevConfig {
        &self.dev
    }
    /// BAR0 layout.
    pub fn layout(&self) -> &BarLayout {
        &self.layout
    }
    /// The GDMA context (None after a failed reset).
    pub fn gdma(&self) -> Option<&Gdma<P>> {
        self.gdma.as_ref()
    }
    /// Reset counters.
    pub fn reset_counters(&self) -> &ResetCounters {
        &self.resets
    }
    /// Cached hardware counters.
    pub fn hw_stats(&self) -> &HwStats {
        &self.hw
    }
    /// Port `i`.
    pub fn port(&self, i: u16) -> Option<&Port<P>> {
        self.ports.get(usize::from(i))?.as_ref()
    }
    /// Port `i`, mutably.
    pub fn port_mut(&mut self, i: u16) -> Option<&mut Port<P>> {
        self.ports.get_mut(usize::from(i))?.as_mut()
    }

    /// Management interrupt (MSI-X 0) or poll: HWC completions and events.
    pub fn process_management(&mut self) {
        let Some(g) = self.gdma.as_mut() else { return };
        g.hwc.process_interrupt(&self.plat, &self.bar);
        let ev = g.hwc.take_events();
        if let Some(data) = ev.reset_request {
            stats::inc(&mut self.service.reset_request_eqe);
            cn_warn!(
                &self.plat,
                "mana: device requested a reset (EQE 135, data {:#x})",
                data
            );
            // Linux stops waiting on the HWC once a reset is requested.
            g.hwc.set_fail_fast(true);
            self.trigger.trigger(ResetReason::DeviceRequest);
        }
        if ev.fpga_reconfig {
            stats::inc(&mut self.service.fpga_reconfig_eqe);
            cn_warn!(&self.plat, "mana: FPGA reconfiguration (EQE 132)");
            g.hwc.set_fail_fast(true);
            self.trigger.trigger(ResetReason::DeviceRequest);
        }
        if let Some(up) = ev.link {
            stats::inc(if up {
                &mut self.service.link_up_events
            } else {
                &mut self.service.link_down_events
            });
            for p in self.ports.iter_mut().flatten() {
                p.link_up = up && p.is_open();
            }
        }
    }

    /// One health tick (call every second): events, pending resets, HWC
    /// state, per-port queue health, periodic statistics.
    pub fn health_tick(&mut self) -> Option<ResetReason> {
        self.process_management();
        if let Some(r) = self.trigger.pending() {
            return Some(r);
        }
        if self.gdma.is_none() {
            return Some(ResetReason::InitError);
        }
        let now = self.plat.now_us();
        for i in 0..self.ports.len() {
            if let Some(r) = self.check_port(i, now) {
                self.trigger.trigger(r);
                return Some(r);
            }
        }
        let any_open = self.ports.iter().flatten().any(|p| p.is_open());
        if any_open
            && (self.last_stats_us == 0
                || now.saturating_sub(self.last_stats_us) >= self.cfg.stats_period_us)
        {
            self.last_stats_us = now.max(1);
            if let Err(e) = self.refresh_hw_stats() {
                stats::inc(&mut self.service.stats_query_errors);
                if matches!(e, Error::Timeout | Error::ChannelDead | Error::Malformed) {
                    self.trigger.trigger(ResetReason::AdminTimeout);
                    return Some(ResetReason::AdminTimeout);
                }
            }
        }
        None
    }

    /// QUERY_GF_STAT (and QUERY_PHY_STAT while the device supports it).
    pub fn refresh_hw_stats(&mut self) -> Result<(), Error> {
        let g = self.gdma.as_mut().ok_or(Error::NotRunning)?;
        let gf = g.query_gf_stats(&self.plat, &self.bar)?;
        self.hw.gf[..GF_STAT_COUNT].copy_from_slice(&gf.counters);
        if self.phy_supported {
            let dev = g.registration().dev;
            let req = QueryPhyStatReq {
                hdr: QueryPhyStatReq::header(dev),
                req_stats: u64::MAX,
            };
            match g.send(&self.plat, &self.bar, &req) {
                Ok(r) => self.hw.phy = r.counters,
                // Errors of QUERY_PHY_STAT are not logged (mana.md §3.4); stop asking.
                Err(Error::Unsupported | Error::DeviceStatus(_)) => self.phy_supported = false,
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    /// The reset cycle (mana.md §7): close every port (tokens to
    /// `release`), destroy the HWC, settle, bring GDMA back, reopen the
    /// ports that were open with their saved configuration.
    pub fn reset_function(
        &mut self,
        reason: ResetReason,
        release: &mut dyn FnMut(Released),
    ) -> Result<(), Error> {
        cn_warn!(&self.plat, "mana: reset, reason {:?}", reason);
        self.resets.record(reason);
        let service = reason == ResetReason::DeviceRequest;
        if let Some(g) = self.gdma.as_mut() {
            if service {
                g.hwc.set_fail_fast(true);
            }
        }
        for p in self.ports.iter_mut().flatten() {
            p.close(
                &self.plat,
                &self.bar,
                self.gdma.as_mut(),
                &self.cfg,
                release,
            );
        }
        if let Some(mut g) = self.gdma.take() {
            self.hwc_saved.add(g.hwc.stats());
            if let Err(e) = g.shutdown(&self.plat, &self.bar) {
                cn_warn!(&self.plat, "mana: HWC teardown during reset: {:?}", e);
            }
        }
        if matches!(
            reason,
            ResetReason::DeviceRequest | ResetReason::AdminTimeout
        ) {
            self.plat.sleep_us(self.cfg.service_settle_us);
        }
        let result = self.reinit();
        match result {
            Ok(()) => {
                self.trigger.clear();
                cn_info!(&self.plat, "mana: reset complete");
            }
            Err(e) => {
                self.resets.record_failure();
                cn_err!(&self.plat, "mana: re-initialisation failed: {:?}", e);
                // Keep a reset pending so the next health tick tries again
                // (Linux retries through remove + rescan, mana.md §7) instead
                // of leaving the ports the user wants up closed for good.
                self.trigger.trigger(ResetReason::InitError);
            }
        }
        result
    }

    fn reinit(&mut self) -> Result<(), Error> {
        let layout = BarLayout::read(&self.bar, self.layout.layout, self.cfg.bar_len)?;
        self.layout = layout;
        let gdma = Gdma::bring_up(&self.plat, &self.bar, layout, &self.cfg.gdma)?;
        self.gdma = Some(gdma);
        let g = self.gdma.as_mut().ok_or(Error::NotRunning)?;
        self.dev = g.query_dev_config(&self.plat, &self.bar)?;
        self.load_ports(false)?;
        self.phy_supported = true;
        for i in 0..self.ports.len() {
            if self
                .ports
                .get(i)
                .and_then(|p| p.as_ref())
                .is_some_and(|p| p.admin_up)
            {
                self.open_port(i as u16, None)?;
            }
        }
        Ok(())
    }

    /// Open port `i` with `qcfg` (or its saved configuration).
    pub(crate) fn open_port(
        &mut self,
        i: u16,
        qcfg: Option<cloudnic_common::nic::QueueConfig>,
    ) -> Result<(), Error> {
        let g = self.gdma.as_mut().ok_or(Error::NotRunning)?;
        let p = self
            .ports
            .get_mut(usize::from(i))
            .and_then(|p| p.as_mut())
            .ok_or(Error::NotRunning)?;
        let qcfg = qcfg.unwrap_or(p.qcfg);
        let mut ctx = Ctx {
            plat: &self.plat,
            bar: &self.bar,
            gdma: g,
            cfg: &self.cfg,
            dev: &self.dev,
        };
        p.open(&mut ctx, qcfg)?;
        p.admin_up = true;
        if let Some(Some(m)) = self.monitors.get_mut(usize::from(i)) {
            m.on_queues_recreated(self.plat.now_us());
        }
        Ok(())
    }

    /// Close port `i` at the user's request, tokens to `release`.
    pub(crate) fn close_port(&mut self, i: u16, release: &mut dyn FnMut(Released)) {
        if let Some(Some(p)) = self.ports.get_mut(usize::from(i)) {
            p.admin_up = false;
            p.close(
                &self.plat,
                &self.bar,
                self.gdma.as_mut(),
                &self.cfg,
                release,
            );
        }
    }

    /// Run the health monitor of port `i`.
    fn check_port(&mut self, i: usize, now: u64) -> Option<ResetReason> {
        let admin = match self.gdma.as_ref().map(|g| g.hwc.health()) {
            Some(crate::hwc::HwcHealth::Running) => cloudnic_common::health::AdminState::Running,
            _ => cloudnic_common::health::AdminState::Dead,
        };
        let db = self.gdma.as_ref()?.registration().db;
        let port = self.ports.get_mut(i)?.as_mut()?;
        let monitor = self.monitors.get_mut(i)?.as_mut()?;
        let mut view = crate::netdev::PortHealth {
            plat: &self.plat,
            bar: &self.bar,
            port,
            db,
            admin,
        };
        monitor.check(now, &mut view)
    }

    /// Shut the function down (remove / shutdown): close every port, then
    /// DEREGISTER_DEVICE and SMC DESTROY_HWC.
    pub fn shutdown(&mut self, release: &mut dyn FnMut(Released)) -> Result<(), Error> {
        for i in 0..self.num_ports() {
            self.close_port(i, release);
        }
        match self.gdma.take() {
            Some(mut g) => g.shutdown(&self.plat, &self.bar),
            None => Ok(()),
        }
    }
}

fn pow2_floor(n: u32) -> u32 {
    if n == 0 {
        1
    } else {
        1 << (31 - n.leading_zeros())
    }
}

fn device_info(
    info: &crate::vport::VportInfo,
    max_q: u16,
    dev: &DevConfig,
    table_len: u32,
) -> DeviceInfo {
    DeviceInfo {
        mac: info.mac,
        min_mtu: MANA_MIN_MTU,
        max_mtu: dev.max_mtu(),
        max_queues: max_q,
        min_ring_size: RX_RING_MIN,
        max_tx_ring_size: TX_RING_MAX,
        max_rx_ring_size: RX_RING_MAX,
        // A TSO packet's first segment may be split in two SGEs.
        max_tx_segments: (MAX_TX_WQE_SGES - 1) as u16,
        max_rx_segments: 1,
        offloads: OffloadCaps::TX_IPV4_CSUM
            | OffloadCaps::TX_L4_IPV4_CSUM
            | OffloadCaps::TX_L4_IPV6_CSUM
            | OffloadCaps::TSO_IPV4
            | OffloadCaps::TSO_IPV6
            | OffloadCaps::RX_IPV4_CSUM
            | OffloadCaps::RX_L4_IPV4_CSUM
            | OffloadCaps::RX_L4_IPV6_CSUM
            | OffloadCaps::RX_HASH
            // VLAN insertion (long TX OOB) and stripping (RX CQE VLAN
            // fields) are part of the base MANA data path: Linux `mana`
            // always enables CTAG TX/RX and no command turns them off
            // (mana.md §6.6, §6.8).
            | OffloadCaps::TX_VLAN_INSERT
            | OffloadCaps::RX_VLAN_STRIP,
        rss_table_size: table_len,
        rss_key_size: MANA_HASH_KEY_SIZE as u32,
        link_speed_mbps: if dev.link_speed_mbps == 0 {
            200_000
        } else {
            dev.link_speed_mbps
        },
    }
}
