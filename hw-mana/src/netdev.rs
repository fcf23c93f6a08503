//! The `NetDevice` face of a MANA function: [`PortView`] (any vPort) and
//! [`ManaDevice`] itself (port 0), plus the health-monitor view of a port.
//!
//! Interrupts: queue pair `q` owns one EQ on MSI-X `1 + q % (vectors − 1)`.
//! `note_queue_interrupt` drains the EQ; `unmask_queue_interrupt` drains it
//! again, arms both CQs, then arms the EQ with its head so an event that
//! raced the poll fires at once (mana.md §4.6). CQs are polled directly by
//! owner count, so a lost EQE costs latency, not packets.

use cloudnic_common::health::{AdminState, CqCompletions, HealthView};
use cloudnic_common::nic::{
    DeviceInfo, ModerationConfig, NetDevice, QueueConfig, Released, RssConfig, RxBuffer, RxPacket,
    StatName, StatScope, Token, TxError, TxPacket,
};
use cloudnic_common::rss::{validate_key, validate_table};
use cloudnic_common::{stats, ConfigError, Error, Platform, RegisterBar, ResetReason};

use crate::bar::DoorbellPage;
use crate::config::validate_mtu;
use crate::defs::eth::MANA_HASH_KEY_SIZE;
use crate::defs::gdma::PfCapFlags1;
use crate::defs::regs::DimDoorbell;
use crate::device::ManaDevice;
use crate::port::{Ctx, Port};
use crate::stats::DRIVER_STAT_NAMES;

/// The health monitor's view of one port.
pub struct PortHealth<'a, P: Platform, R: RegisterBar> {
    /// Platform.
    pub plat: &'a P,
    /// BAR0.
    pub bar: &'a R,
    /// The port.
    pub port: &'a mut Port<P>,
    /// Its doorbell page.
    pub db: DoorbellPage,
    /// HWC state.
    pub admin: AdminState,
}

impl<P: Platform, R: RegisterBar> HealthView for PortHealth<'_, P, R> {
    fn admin_state(&self) -> AdminState {
        self.admin
    }
    fn keep_alive_events_pending(&self) -> bool {
        false
    }
    fn num_queues(&self) -> u16 {
        self.port.num_open()
    }
    fn poll_scheduled(&self, q: u16) -> bool {
        self.port.qp(q).is_some_and(|qp| qp.poll_scheduled)
    }
    fn last_poll_us(&self, q: u16) -> u64 {
        self.port.qp(q).map_or(0, |qp| qp.last_poll_us)
    }
    fn interrupt_seen(&self, q: u16) -> bool {
        self.port.qp(q).is_some_and(|qp| qp.interrupt_seen)
    }
    fn cq_has_completions(&self, q: u16) -> CqCompletions {
        self.port
            .qp(q)
            .map_or(CqCompletions::default(), |qp| CqCompletions {
                tx: qp.tx.cq.has_entry(),
                rx: qp.rx.cq.has_entry(),
            })
    }
    fn rx_ring_empty(&self, q: u16) -> bool {
        self.port.qp(q).is_some_and(|qp| qp.rx.posted() == 0)
    }
    fn tx_oldest_pending_us(&self, q: u16) -> Option<u64> {
        self.port.qp(q)?.tx.oldest_pending_us()
    }
    fn tx_mark_timed_out(&mut self, q: u16, now_us: u64, timeout_us: u64) -> u64 {
        self.port
            .qp_mut(q)
            .map_or(0, |qp| qp.tx.mark_timed_out(now_us, timeout_us))
    }
    fn tx_timed_out_in_cq(&mut self, q: u16) -> u64 {
        self.port.qp(q).map_or(0, |qp| qp.tx.timed_out_in_cq())
    }
    fn rewrite_unmask(&mut self, q: u16) {
        let (plat, bar, db) = (self.plat, self.bar, self.db);
        if let Some(qp) = self.port.qp_mut(q) {
            stats::inc(&mut qp.eq_stats.rearms);
            qp.arm(plat, bar, &db);
        }
    }
    fn reschedule_poll(&mut self, q: u16) {
        if let Some(qp) = self.port.qp_mut(q) {
            stats::inc(&mut qp.eq_stats.empty_rx_ring);
        }
    }
}

/// One vPort of a [`ManaDevice`] as a `NetDevice`.
pub struct PortView<'a, P: Platform, R: RegisterBar> {
    dev: &'a mut ManaDevice<P, R>,
    port: u16,
}

impl<P: Platform, R: RegisterBar> ManaDevice<P, R> {
    /// The `NetDevice` of vPort `i`.
    pub fn port_view(&mut self, i: u16) -> Option<PortView<'_, P, R>> {
        (usize::from(i) < self.ports.len()).then_some(PortView { dev: self, port: i })
    }

    fn p(&self, port: u16) -> Option<&Port<P>> {
        self.ports.get(usize::from(port))?.as_ref()
    }
    fn pm(&mut self, port: u16) -> Option<&mut Port<P>> {
        self.ports.get_mut(usize::from(port))?.as_mut()
    }
    fn db(&self) -> Option<DoorbellPage> {
        Some(self.gdma.as_ref()?.registration().db)
    }

    fn nd_info(&self, port: u16) -> &DeviceInfo {
        self.infos.get(usize::from(port)).unwrap_or(&self.no_info)
    }
    fn nd_open(&mut self, port: u16, cfg: QueueConfig) -> Result<(), Error> {
        if self.gdma.is_none() || self.trigger.pending().is_some() {
            return Err(Error::NotRunning);
        }
        self.open_port(port, Some(cfg))
    }
    fn nd_tx_post(&mut self, port: u16, q: u16, pkt: &TxPacket<'_>) -> Result<(), TxError> {
        let p = self.pm(port).ok_or(TxError::NotRunning)?;
        let r = p.qp_mut(q).ok_or(TxError::NotRunning)?.tx.post(pkt);
        if r == Err(TxError::TooManySegments) {
            stats::inc(&mut p.tx_linear_pkt_cnt);
        }
        r
    }
    fn nd_tx_kick(&mut self, port: u16, q: u16) {
        let Some(db) = self.db() else { return };
        let now = self.plat.now_us();
        let (plat, bar) = (&self.plat, &self.bar);
        if let Some(qp) = self
            .ports
            .get_mut(usize::from(port))
            .and_then(|p| p.as_mut())
            .and_then(|p| p.qp_mut(q))
        {
            qp.tx.kick(plat, bar, &db);
            qp.tx.set_clock(now);
        }
    }
    fn nd_tx_poll(&mut self, port: u16, q: u16, budget: u32, done: &mut dyn FnMut(Token)) -> u32 {
        let Some(db) = self.db() else { return 0 };
        let now = self.plat.now_us();
        let (plat, bar, trigger) = (&self.plat, &self.bar, &self.trigger);
        let Some(qp) = self
            .ports
            .get_mut(usize::from(port))
            .and_then(|p| p.as_mut())
            .and_then(|p| p.qp_mut(q))
        else {
            return 0;
        };
        qp.last_poll_us = now;
        qp.tx.set_clock(now);
        qp.tx.poll(plat, bar, &db, budget, trigger, done)
    }
    fn nd_rx_refill(&mut self, port: u16, q: u16, bufs: &[RxBuffer]) -> u32 {
        let Some(db) = self.db() else { return 0 };
        let (plat, bar) = (&self.plat, &self.bar);
        let Some(qp) = self
            .ports
            .get_mut(usize::from(port))
            .and_then(|p| p.as_mut())
            .and_then(|p| p.qp_mut(q))
        else {
            return 0;
        };
        qp.rx.refill(plat, bar, &db, bufs)
    }
    fn nd_rx_poll(
        &mut self,
        port: u16,
        q: u16,
        budget: u32,
        deliver: &mut dyn FnMut(&RxPacket<'_>),
    ) -> u32 {
        let Some(db) = self.db() else { return 0 };
        let now = self.plat.now_us();
        let (plat, bar, trigger) = (&self.plat, &self.bar, &self.trigger);
        let Some(qp) = self
            .ports
            .get_mut(usize::from(port))
            .and_then(|p| p.as_mut())
            .and_then(|p| p.qp_mut(q))
        else {
            return 0;
        };
        qp.last_poll_us = now;
        qp.rx.poll(plat, bar, &db, budget, trigger, deliver)
    }
    fn nd_note_interrupt(&mut self, port: u16, q: u16) {
        let (plat, trigger) = (&self.plat, &self.trigger);
        let Some(qp) = self
            .ports
            .get_mut(usize::from(port))
            .and_then(|p| p.as_mut())
            .and_then(|p| p.qp_mut(q))
        else {
            return;
        };
        qp.interrupt_seen = true;
        qp.poll_scheduled = true;
        stats::inc(&mut qp.eq_stats.interrupts);
        qp.drain_eq(plat, trigger);
    }
    fn nd_unmask(&mut self, port: u16, q: u16) {
        let Some(db) = self.db() else { return };
        let (plat, bar, trigger) = (&self.plat, &self.bar, &self.trigger);
        let Some(qp) = self
            .ports
            .get_mut(usize::from(port))
            .and_then(|p| p.as_mut())
            .and_then(|p| p.qp_mut(q))
        else {
            return;
        };
        qp.poll_scheduled = false;
        qp.drain_eq(plat, trigger);
        // With a reset pending the CQ head may sit on an entry the driver
        // refused (e.g. an owner-count overflow); arming there would make
        // the device fire again at once (mana.md §4.6) and starve the reset.
        if trigger.pending().is_none() {
            qp.arm(plat, bar, &db);
        }
    }
    fn nd_set_mtu(&mut self, port: u16, mtu: u32) -> Result<(), Error> {
        validate_mtu(mtu, &self.dev)?;
        // MANA has no MTU command: the adapter MTU bounds frames, the shim sizes RX buffers.
        self.pm(port).ok_or(Error::NotRunning)?.qcfg.mtu = mtu;
        Ok(())
    }
    fn nd_reconfigure(
        &mut self,
        port: u16,
        cfg: QueueConfig,
        release: &mut dyn FnMut(Released),
    ) -> Result<(), Error> {
        let p = self.p(port).ok_or(Error::NotRunning)?;
        crate::config::validate(&cfg, p.max_queues, &self.dev)?;
        if !p.is_open() {
            self.pm(port).ok_or(Error::NotRunning)?.qcfg = cfg;
            return Ok(());
        }
        let old = p.qcfg;
        self.close_port(port, release);
        match self.open_port(port, Some(cfg)) {
            Ok(()) => Ok(()),
            Err(e) => {
                // Restore the previous layout; if even that fails a reset is needed.
                if self.open_port(port, Some(old)).is_err() {
                    self.trigger.trigger(ResetReason::DriverInvalidState);
                }
                Err(e)
            }
        }
    }
    fn nd_set_rss(&mut self, port: u16, rss: &RssConfig<'_>) -> Result<(), Error> {
        let p = self.p(port).ok_or(Error::NotRunning)?;
        let nq = if p.is_open() {
            p.num_open()
        } else {
            p.qcfg.num_queues
        };
        if let Some(k) = rss.key {
            validate_key(k, MANA_HASH_KEY_SIZE)?;
        }
        if let Some(t) = rss.table {
            validate_table(t, p.rss_table.len(), nq)?;
        }
        let open = self.p(port).is_some_and(|p| p.is_open());
        if open {
            let g = self.gdma.as_mut().ok_or(Error::NotRunning)?;
            let p = self
                .ports
                .get_mut(usize::from(port))
                .and_then(|p| p.as_mut())
                .ok_or(Error::NotRunning)?;
            let mut key = p.rss_key;
            if let Some(k) = rss.key {
                key.copy_from_slice(k);
            }
            let mut ctx = Ctx {
                plat: &self.plat,
                bar: &self.bar,
                gdma: g,
                cfg: &self.cfg,
                dev: &self.dev,
            };
            // Commit only what the device accepted.
            p.coalescing_timeout_ns =
                p.steer_with(&mut ctx, None, rss.key.map(|_| &key), rss.table)?;
        }
        let p = self.pm(port).ok_or(Error::NotRunning)?;
        if let Some(k) = rss.key {
            p.rss_key.copy_from_slice(k);
        }
        if let Some(t) = rss.table {
            p.rss_table.copy_from_slice(t);
        }
        Ok(())
    }
    fn nd_get_rss(&self, port: u16, key: &mut [u8], table: &mut [u16]) -> (usize, usize) {
        let Some(p) = self.p(port) else { return (0, 0) };
        let k = key.len().min(MANA_HASH_KEY_SIZE);
        key[..k].copy_from_slice(&p.rss_key[..k]);
        let t = table.len().min(p.rss_table.len());
        table[..t].copy_from_slice(&p.rss_table[..t]);
        (MANA_HASH_KEY_SIZE, p.rss_table.len())
    }
    fn nd_set_moderation(&mut self, port: u16, m: ModerationConfig) -> Result<(), Error> {
        let max = u32::from(DimDoorbell::MAX_USEC);
        for us in [m.tx_usecs, m.rx_usecs] {
            if us > max {
                return Err(ConfigError::ModerationOutOfRange {
                    requested_us: us,
                    max_us: max,
                }
                .into());
            }
        }
        let dim = self
            .gdma
            .as_ref()
            .is_some_and(|g| g.pf_caps().contains(PfCapFlags1::DIM));
        if !dim && (m.tx_usecs != 0 || m.rx_usecs != 0) || m.adaptive_rx {
            return Err(Error::Unsupported);
        }
        let db = self.db();
        let (plat, bar) = (&self.plat, &self.bar);
        let p = self
            .ports
            .get_mut(usize::from(port))
            .and_then(|p| p.as_mut())
            .ok_or(Error::NotRunning)?;
        p.moderation = m;
        if let (true, Some(db)) = (dim, db) {
            for q in 0..p.num_open() {
                if let Some(qp) = p.qp(q) {
                    db.ring_dim(
                        plat,
                        bar,
                        qp.tx.cq.id(),
                        m.tx_usecs as u16,
                        DimDoorbell::MAX_COMPS,
                    );
                    db.ring_dim(
                        plat,
                        bar,
                        qp.rx.cq.id(),
                        m.rx_usecs as u16,
                        DimDoorbell::MAX_COMPS,
                    );
                }
            }
        }
        Ok(())
    }
    fn nd_stats(&self, port: u16, f: &mut dyn FnMut(StatName, u64)) {
        let Some(p) = self.p(port) else { return };
        let g = |name: &'static str, v: u64, f: &mut dyn FnMut(StatName, u64)| {
            f(
                StatName {
                    scope: StatScope::Global,
                    name,
                },
                v,
            )
        };
        let nq = p.stat_queues();
        let (mut tx, mut rx) = (crate::tx::TxStats::default(), crate::rx::RxStats::default());
        for q in 0..nq {
            tx.add(&p.tx_stats(q));
            rx.add(&p.rx_stats(q));
        }
        let driver = [
            tx.stop_queue,
            tx.wake_queue,
            tx.cq_err,
            tx.cqe_unknown_type,
            p.tx_linear_pkt_cnt,
            rx.cqe_unknown_type,
        ];
        for (name, v) in DRIVER_STAT_NAMES.iter().zip(driver) {
            g(name, v, f);
        }
        self.hw.for_each(&mut |n, v| g(n, v, f));
        for q in 0..nq {
            p.rx_stats(q).for_each(&mut |name, v| {
                f(
                    StatName {
                        scope: StatScope::RxShort(q),
                        name,
                    },
                    v,
                )
            });
        }
        for q in 0..nq {
            p.tx_stats(q).for_each(&mut |name, v| {
                f(
                    StatName {
                        scope: StatScope::TxShort(q),
                        name,
                    },
                    v,
                )
            });
        }
        // cloudnic diagnostics.
        self.service.for_each(&mut |n, v| g(n, v, f));
        let mut hwc = self.hwc_saved;
        if let Some(gd) = self.gdma.as_ref() {
            hwc.add(gd.hwc.stats());
        }
        hwc.for_each(&mut |n, v| g(n, v, f));
        let mut eq = p.saved_eq;
        for q in 0..p.num_open() {
            if let Some(qp) = p.qp(q) {
                eq.add(&qp.eq_stats);
            }
        }
        eq.for_each(&mut |n, v| g(n, v, f));
        self.resets.for_each(&mut |n, v| g(n, v, f));
        if let Some(Some(m)) = self.monitors.get(usize::from(port)) {
            m.stats().for_each(&mut |n, v| g(n, v, f));
        }
    }
}

/// Implements `NetDevice` on a type with `fn nd_dev(&self)`, `fn nd_dev_mut(&mut self)` and `fn port(&self)`.
macro_rules! impl_netdev {
    ($ty:ty) => {
        impl<P: Platform, R: RegisterBar> NetDevice for $ty {
            fn info(&self) -> &DeviceInfo {
                self.nd_dev().nd_info(self.nd_port())
            }
            fn queue_config(&self) -> QueueConfig {
                self.nd_dev().p(self.nd_port()).map_or(
                    QueueConfig {
                        num_queues: 0,
                        tx_ring_size: 0,
                        rx_ring_size: 0,
                        mtu: 0,
                    },
                    |p| p.qcfg,
                )
            }
            fn is_open(&self) -> bool {
                self.nd_dev().p(self.nd_port()).is_some_and(|p| p.is_open())
            }
            fn open(&mut self, cfg: QueueConfig) -> Result<(), Error> {
                let port = self.nd_port();
                self.nd_dev_mut().nd_open(port, cfg)
            }
            fn close(&mut self, release: &mut dyn FnMut(Released)) -> Result<(), Error> {
                let port = self.nd_port();
                self.nd_dev_mut().close_port(port, release);
                Ok(())
            }
            fn tx_post(&mut self, q: u16, pkt: &TxPacket<'_>) -> Result<(), TxError> {
                let port = self.nd_port();
                self.nd_dev_mut().nd_tx_post(port, q, pkt)
            }
            fn tx_kick(&mut self, q: u16) {
                let port = self.nd_port();
                self.nd_dev_mut().nd_tx_kick(port, q)
            }
            fn tx_space(&self, q: u16) -> u32 {
                self.nd_dev()
                    .p(self.nd_port())
                    .and_then(|p| p.qp(q))
                    .map_or(0, |qp| qp.tx.space())
            }
            fn tx_poll<F: FnMut(Token)>(&mut self, q: u16, budget: u32, mut done: F) -> u32 {
                let port = self.nd_port();
                self.nd_dev_mut().nd_tx_poll(port, q, budget, &mut done)
            }
            fn rx_refill(&mut self, q: u16, bufs: &[RxBuffer]) -> u32 {
                let port = self.nd_port();
                self.nd_dev_mut().nd_rx_refill(port, q, bufs)
            }
            fn rx_space(&self, q: u16) -> u32 {
                self.nd_dev()
                    .p(self.nd_port())
                    .and_then(|p| p.qp(q))
                    .map_or(0, |qp| qp.rx.space())
            }
            fn rx_poll<F: FnMut(&RxPacket<'_>)>(
                &mut self,
                q: u16,
                budget: u32,
                mut deliver: F,
            ) -> u32 {
                let port = self.nd_port();
                self.nd_dev_mut().nd_rx_poll(port, q, budget, &mut deliver)
            }
            fn note_queue_interrupt(&mut self, q: u16) {
                let port = self.nd_port();
                self.nd_dev_mut().nd_note_interrupt(port, q)
            }
            fn unmask_queue_interrupt(&mut self, q: u16) {
                let port = self.nd_port();
                self.nd_dev_mut().nd_unmask(port, q)
            }
            fn handle_management_interrupt(&mut self) {
                self.nd_dev_mut().process_management()
            }
            fn link_up(&self) -> bool {
                self.nd_dev().p(self.nd_port()).is_some_and(|p| p.link_up)
            }
            fn set_mtu(&mut self, mtu: u32) -> Result<(), Error> {
                let port = self.nd_port();
                self.nd_dev_mut().nd_set_mtu(port, mtu)
            }
            fn reconfigure(
                &mut self,
                cfg: QueueConfig,
                release: &mut dyn FnMut(Released),
            ) -> Result<(), Error> {
                let port = self.nd_port();
                self.nd_dev_mut().nd_reconfigure(port, cfg, release)
            }
            fn set_rss(&mut self, rss: &RssConfig<'_>) -> Result<(), Error> {
                let port = self.nd_port();
                self.nd_dev_mut().nd_set_rss(port, rss)
            }
            fn get_rss(&self, key: &mut [u8], table: &mut [u16]) -> (usize, usize) {
                self.nd_dev().nd_get_rss(self.nd_port(), key, table)
            }
            fn set_moderation(&mut self, m: ModerationConfig) -> Result<(), Error> {
                let port = self.nd_port();
                self.nd_dev_mut().nd_set_moderation(port, m)
            }
            fn moderation(&self) -> ModerationConfig {
                self.nd_dev()
                    .p(self.nd_port())
                    .map_or(ModerationConfig::default(), |p| p.moderation)
            }
            fn health_check(&mut self) -> Option<ResetReason> {
                self.nd_dev_mut().health_tick()
            }
            fn pending_reset(&self) -> Option<ResetReason> {
                self.nd_dev().trigger.pending()
            }
            fn request_reset(&mut self, reason: ResetReason) {
                self.nd_dev_mut().trigger.trigger(reason);
            }
            fn reset(
                &mut self,
                reason: ResetReason,
                release: &mut dyn FnMut(Released),
            ) -> Result<(), Error> {
                self.nd_dev_mut().reset_function(reason, release)
            }
            fn for_each_stat(&self, f: &mut dyn FnMut(StatName, u64)) {
                self.nd_dev().nd_stats(self.nd_port(), f)
            }
        }
    };
}

impl<P: Platform, R: RegisterBar> PortView<'_, P, R> {
    fn nd_dev(&self) -> &ManaDevice<P, R> {
        self.dev
    }
    fn nd_dev_mut(&mut self) -> &mut ManaDevice<P, R> {
        self.dev
    }
    fn nd_port(&self) -> u16 {
        self.port
    }
}

impl<P: Platform, R: RegisterBar> ManaDevice<P, R> {
    fn nd_dev(&self) -> &Self {
        self
    }
    fn nd_dev_mut(&mut self) -> &mut Self {
        self
    }
    fn nd_port(&self) -> u16 {
        0
    }
}

impl_netdev!(PortView<'_, P, R>);
impl_netdev!(ManaDevice<P, R>);
