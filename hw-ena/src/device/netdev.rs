//! [`NetDevice`] for [`EnaDevice`]: per-queue calls go straight to the
//! rings; control calls validate first and leave the device working when
//! they refuse.

use cloudnic_common::moderation::DelayUnits;
use cloudnic_common::nic::{
    DeviceInfo, ModerationConfig, NetDevice, QueueConfig, Released, RssConfig, RxBuffer, RxPacket,
    RxPolicy, StatName, Token, TxBurst, TxError, TxPacket,
};
use cloudnic_common::stats::{add, inc};
use cloudnic_common::{cn_err, ConfigError, Error, Platform, RegisterBar, ResetReason};

use super::queues::QueuePair;
use super::{EnaDevice, MIN_MTU};
use crate::defs::admin::{FeatureId, MtuFeature};
use crate::defs::io::INTR_DELAY_MAX;

/// Linux `ena` refills an RX ring once ring / 8 buffers fit, at most 256
/// (ena.md §6.2 "RX refill threshold").
const RX_REFILL_DIVIDER: u32 = 8;
const RX_REFILL_MAX: u32 = 256;
/// Linux `ena`'s default `rx_copybreak`, before the OS's IP alignment is
/// taken off (ena.md §6.2 "RX copybreak").
const RX_COPYBREAK: u32 = 256;

impl<P: Platform, R: RegisterBar> EnaDevice<P, R> {
    #[inline]
    pub(super) fn pair_mut(&mut self, q: u16) -> Option<&mut QueuePair<P>> {
        self.queues.as_mut()?.get_mut(usize::from(q))?.as_mut()
    }
    fn pair(&self, q: u16) -> Option<&QueuePair<P>> {
        self.queues.as_ref()?.get(usize::from(q))?.as_ref()
    }

    /// (RX, TX) interrupt delays in device units (ena.md §6.6).
    pub(super) fn moderation_delays(&self) -> (u32, u32) {
        match self.neg.intr_delay_resolution {
            Some(res) if res != 0 => {
                let res = u32::from(res);
                (
                    self.moderation.rx_usecs / res,
                    self.moderation.tx_usecs / res,
                )
            }
            _ => (0, 0),
        }
    }

    /// [`NetDevice::tx_post`] for packets the ring's short path declined.
    #[inline(never)]
    fn tx_post_general(&mut self, q: u16, pkt: &TxPacket<'_>, now: u64) -> Result<(), TxError> {
        let Self {
            plat,
            bar0,
            bar2,
            queues,
            ..
        } = self;
        let pair = queues
            .as_mut()
            .and_then(|t| t.get_mut(usize::from(q)))
            .and_then(Option::as_mut)
            .ok_or(TxError::NotRunning)?;
        pair.tx.post_general(plat, bar0, bar2.as_ref(), pkt, now)
    }

    fn note_bad_completion(&mut self, q: u16, reason: ResetReason) {
        cn_err!(
            &self.plat,
            "Invalid completion on queue {}: reset reason {:?}",
            q,
            reason
        );
        self.trigger.trigger(reason);
    }

    /// Make the RSS table fit `num_queues`: a default table is spread over
    /// the new count, a user's table kept if it fits ([`crate::rss::EnaRss::fit`]).
    fn fit_rss_table(&mut self, num_queues: u16) {
        self.rss.fit(num_queues);
    }

    /// The interrupt-delay register's units (ena.md §6.6), if the device
    /// supports moderation.
    fn delay_units(&self) -> Option<DelayUnits> {
        self.neg
            .intr_delay_resolution
            .filter(|r| *r != 0)
            .map(|r| DelayUnits::new(u32::from(r), INTR_DELAY_MAX))
    }
}

impl<P: Platform, R: RegisterBar> NetDevice for EnaDevice<P, R> {
    fn info(&self) -> &DeviceInfo {
        &self.info
    }

    fn queue_config(&self) -> QueueConfig {
        self.qcfg
    }

    fn is_open(&self) -> bool {
        self.queues.is_some()
    }

    fn open(&mut self, cfg: QueueConfig) -> Result<(), Error> {
        if self.failed || self.shut_down {
            return Err(Error::NotRunning);
        }
        if self.queues.is_some() {
            return Err(ConfigError::WrongState.into());
        }
        self.validate_config(&cfg)?;
        self.fit_rss_table(cfg.num_queues);
        self.create_queues(&cfg)?;
        self.qcfg = cfg;
        inc(&mut self.stats.events.interface_up);
        self.monitor.on_queues_recreated(self.plat.now_us());
        Ok(())
    }

    fn close(&mut self, release: &mut dyn FnMut(Released)) -> Result<(), Error> {
        if self.queues.is_some() {
            self.destroy_queues(release, true);
            inc(&mut self.stats.events.interface_down);
        }
        Ok(())
    }

    // Per-packet path: inlined into the shim's transmit loop. The ring's
    // short path runs here; everything else (offloads, several segments,
    // LLQ, refusals) goes out of line to `tx_post_general`.
    #[inline]
    fn tx_post(&mut self, q: u16, pkt: &TxPacket<'_>) -> Result<(), TxError> {
        if self.trigger.is_pending() {
            return Err(TxError::NotRunning);
        }
        let now = self.plat.now_us();
        let pair = self.pair_mut(q).ok_or(TxError::NotRunning)?;
        if pair.tx.try_post_plain(pkt, now) {
            return Ok(());
        }
        self.tx_post_general(q, pkt, now)
    }

    // The short path for a run of packets: one lookup and one clock read
    // for the run, the general path for each packet the run stops at.
    fn tx_post_burst(&mut self, q: u16, pkts: &[TxPacket<'_>]) -> TxBurst {
        let stop = |posted, e| TxBurst {
            posted,
            stopped: Some(e),
        };
        if self.trigger.is_pending() {
            return stop(0, TxError::NotRunning);
        }
        let now = self.plat.now_us();
        let mut posted = 0;
        loop {
            let Some(pair) = self.pair_mut(q) else {
                return stop(posted, TxError::NotRunning);
            };
            posted += pair
                .tx
                .post_plain_run(pkts.get(posted..).unwrap_or_default(), now);
            let Some(next) = pkts.get(posted) else {
                return TxBurst {
                    posted,
                    stopped: None,
                };
            };
            if let Err(e) = self.tx_post_general(q, next, now) {
                return stop(posted, e);
            }
            posted += 1;
        }
    }

    fn tx_kick(&mut self, q: u16) {
        let Self { bar0, queues, .. } = self;
        if let Some(p) = queues
            .as_mut()
            .and_then(|t| t.get_mut(usize::from(q)))
            .and_then(Option::as_mut)
        {
            p.tx.kick(bar0);
        }
    }

    fn tx_space(&self, q: u16) -> u32 {
        self.pair(q).map_or(0, |p| p.tx.space())
    }

    fn tx_poll<F: FnMut(Token)>(&mut self, q: u16, budget: u32, done: F) -> u32 {
        let now = self.plat.now_us();
        let Self {
            plat,
            queues,
            trigger,
            ..
        } = self;
        let Some(p) = queues
            .as_mut()
            .and_then(|t| t.get_mut(usize::from(q)))
            .and_then(Option::as_mut)
        else {
            return 0;
        };
        p.health.last_poll_us = now;
        // As Linux's ena_io_poll: with a reset pending the rings are left
        // alone, so a bad completion (still at the head) is counted once.
        if trigger.is_pending() {
            return 0;
        }
        match p.tx.poll(plat, budget, done) {
            Ok(n) => n,
            Err(reason) => {
                self.note_bad_completion(q, reason);
                0
            }
        }
    }

    fn rx_refill(&mut self, q: u16, bufs: &[RxBuffer]) -> u32 {
        let Self { bar0, queues, .. } = self;
        match queues
            .as_mut()
            .and_then(|t| t.get_mut(usize::from(q)))
            .and_then(Option::as_mut)
        {
            Some(p) => p.rx.refill(bar0, bufs),
            None => 0,
        }
    }

    fn rx_space(&self, q: u16) -> u32 {
        self.pair(q).map_or(0, |p| p.rx.space())
    }

    /// Linux `ena` (ena.md §6.2): refill once min(ring / 8, 256) buffers fit;
    /// copy packets of up to 256 bytes (`rx_copybreak`).
    fn rx_policy(&self, q: u16) -> RxPolicy {
        let depth = self.pair(q).map_or(0, |p| u32::from(p.rx.depth()));
        RxPolicy {
            refill_threshold: (depth / RX_REFILL_DIVIDER).clamp(1, RX_REFILL_MAX),
            copybreak: RX_COPYBREAK,
        }
    }

    fn note_rx_copybreak(&mut self, q: u16, pkts: u32) {
        if let Some(p) = self.pair_mut(q) {
            add(&mut p.rx.stats_mut().rx_copybreak_pkt, u64::from(pkts));
        }
    }

    fn rx_poll<F: FnMut(&RxPacket<'_>)>(&mut self, q: u16, budget: u32, deliver: F) -> u32 {
        let now = self.plat.now_us();
        let Self {
            plat,
            queues,
            trigger,
            ..
        } = self;
        let Some(p) = queues
            .as_mut()
            .and_then(|t| t.get_mut(usize::from(q)))
            .and_then(Option::as_mut)
        else {
            return 0;
        };
        p.health.last_poll_us = now;
        // As Linux's ena_io_poll: with a reset pending the rings are left
        // alone, so a bad completion (still at the head) is counted once.
        if trigger.is_pending() {
            return 0;
        }
        match p.rx.poll(plat, budget, deliver) {
            Ok(n) => n,
            Err(reason) => {
                self.note_bad_completion(q, reason);
                0
            }
        }
    }

    fn note_queue_interrupt(&mut self, q: u16) {
        if let Some(p) = self.pair_mut(q) {
            p.health.interrupt_seen = true;
            p.health.poll_scheduled = true;
        }
    }

    fn unmask_queue_interrupt(&mut self, q: u16) {
        let (rx_delay, tx_delay) = self.moderation_delays();
        // Adaptive RX samples once per poll, here (ena.md §6.6).
        let adaptive = match self.delay_units() {
            Some(units) if self.moderation.adaptive_rx => Some((units, self.plat.now_us())),
            _ => None,
        };
        let Self { bar0, queues, .. } = self;
        if let Some(p) = queues
            .as_mut()
            .and_then(|t| t.get_mut(usize::from(q)))
            .and_then(Option::as_mut)
        {
            p.health.poll_scheduled = false;
            inc(&mut p.tx.stats_mut().napi_comp);
            let rx_delay = match adaptive {
                Some((units, now)) => p.adaptive_rx_delay(now, &units),
                None => rx_delay,
            };
            p.tx.unmask(bar0, rx_delay, tx_delay);
        }
    }

    fn handle_management_interrupt(&mut self) {
        if !self.shut_down {
            self.process_management();
        }
    }

    fn link_up(&self) -> bool {
        self.link_up
    }

    fn set_mtu(&mut self, mtu: u32) -> Result<(), Error> {
        let max = self.info.max_mtu;
        if !(MIN_MTU..=max).contains(&mtu) {
            return Err(ConfigError::MtuOutOfRange {
                requested: mtu,
                min: MIN_MTU,
                max,
            }
            .into());
        }
        if self.queues.is_some() {
            self.admin
                .set_feature(&self.plat, &self.bar0, FeatureId::Mtu, &MtuFeature { mtu })?;
        }
        self.qcfg.mtu = mtu;
        Ok(())
    }

    fn reconfigure(
        &mut self,
        cfg: QueueConfig,
        release: &mut dyn FnMut(Released),
    ) -> Result<(), Error> {
        self.validate_config(&cfg)?;
        if self.queues.is_none() {
            self.fit_rss_table(cfg.num_queues);
            self.qcfg = cfg;
            return Ok(());
        }
        let old = self.qcfg;
        self.close(release)?;
        match self.open(cfg) {
            Ok(()) => Ok(()),
            Err(e) => {
                cn_err!(
                    &self.plat,
                    "Failed to apply the new queue configuration, restoring the previous one"
                );
                self.open(old)?;
                Err(e)
            }
        }
    }

    fn set_rss(&mut self, rss: &RssConfig<'_>) -> Result<(), Error> {
        let nq = self.qcfg.num_queues;
        if let Some(t) = rss.table {
            // Validate before touching the key, so a bad table changes nothing.
            self.rss.validate_user_table(t, nq)?;
        }
        if let Some(k) = rss.key {
            self.rss
                .set_key(&self.plat, &self.bar0, &mut self.admin, k)?;
        }
        if let Some(t) = rss.table {
            let Self {
                plat,
                bar0,
                admin,
                rss,
                queues,
                ..
            } = self;
            let rx_cq_idx = |q: u16| queues.as_ref()?.get(usize::from(q))?.as_ref()?.rx_cq_idx();
            // Sent now if the queues exist, else at the next open; kept only
            // once the device took it.
            let map: Option<&dyn Fn(u16) -> Option<u16>> = queues.is_some().then_some(&rx_cq_idx);
            rss.apply_user_table(plat, bar0, admin, t, nq, map)?;
        }
        Ok(())
    }

    fn get_rss(&self, key: &mut [u8], table: &mut [u16]) -> (usize, usize) {
        let k = self.rss.key();
        let kl = self.rss.key_len().min(key.len());
        key[..kl].copy_from_slice(&k[..kl]);
        let t = self.rss.table();
        let tl = t.len().min(table.len());
        table[..tl].copy_from_slice(&t[..tl]);
        (self.rss.key_len(), t.len())
    }

    fn set_moderation(&mut self, m: ModerationConfig) -> Result<(), Error> {
        let Some(res) = self
            .neg
            .intr_delay_resolution
            .map(u32::from)
            .filter(|r| *r != 0)
        else {
            return if m == ModerationConfig::default() {
                Ok(())
            } else {
                Err(Error::Unsupported)
            };
        };
        let max_us = INTR_DELAY_MAX.saturating_mul(res);
        for requested_us in [m.tx_usecs, m.rx_usecs] {
            if requested_us > max_us {
                return Err(ConfigError::ModerationOutOfRange {
                    requested_us,
                    max_us,
                }
                .into());
            }
        }
        let restart_adaptive = m.adaptive_rx && !self.moderation.adaptive_rx;
        self.moderation = m;
        if restart_adaptive {
            // Adaptive RX switched on: every queue starts over from the
            // static RX interval.
            let (rx_delay, _) = self.moderation_delays();
            for p in self.queues.iter_mut().flat_map(|t| t.iter_mut()).flatten() {
                p.restart_adaptive_rx(rx_delay);
            }
        }
        Ok(())
    }

    fn moderation(&self) -> ModerationConfig {
        self.moderation
    }

    fn health_check(&mut self) -> Option<ResetReason> {
        self.run_health_check()
    }

    fn pending_reset(&self) -> Option<ResetReason> {
        self.trigger.pending()
    }

    fn request_reset(&mut self, reason: ResetReason) {
        if reason == ResetReason::OsNetdevWatchdog {
            inc(&mut self.stats.events.tx_timeout);
        }
        self.trigger.trigger(reason);
    }

    fn reset(
        &mut self,
        reason: ResetReason,
        release: &mut dyn FnMut(Released),
    ) -> Result<(), Error> {
        self.do_reset(reason, release)
    }

    fn for_each_stat(&self, f: &mut dyn FnMut(StatName, u64)) {
        self.stats_for_each(f);
    }
}
