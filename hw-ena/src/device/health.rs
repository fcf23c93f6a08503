//! The periodic health check (ena.md §6.4): common's [`HealthMonitor`]
//! decides, this module shows it the device through [`HealthView`] and logs
//! the decision with the Linux driver's wording.

use cloudnic_common::health::{
    AdminState, CqCompletions, HealthConfig, HealthHints, HealthMonitor, HealthView,
    QueueHealth as MonitorQueue,
};
use cloudnic_common::stats::inc;
use cloudnic_common::{cn_err, Error, Platform, RegisterBar, ResetReason};

use super::queues::QueuePair;
use super::EnaDevice;
use crate::admin::AdminQueue;
use crate::aenq::AenqRing;
use crate::defs::regs::{offset, DevSts, READLESS_FAILED};
use crate::features::Negotiated;

/// Reset reason when DEV_STS reports FATAL_ERROR. ena.md §1.4 has no code
/// for a device-reported fatal state: DEVICE_REQUEST (19) names the AENQ
/// DEVICE_REQUEST_RESET event and would tell the device (and our counters)
/// that it asked for this reset, which it did not; the other codes name a
/// driver-side observation that was not made. GENERIC (13) is the
/// specification's catch-all, and below 16 it reaches the device unchanged
/// whether or not EXTENDED_RESET_REASONS is advertised.
pub(crate) const FATAL_STATUS_RESET_REASON: ResetReason = ResetReason::Generic;

/// Poll/interrupt bookkeeping of one queue pair, fed by the shim's calls.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct QueueHealth {
    /// An interrupt fired since the queues were created.
    pub(super) interrupt_seen: bool,
    /// Interrupt fired, poll not finished (unmask not yet called).
    pub(super) poll_scheduled: bool,
    /// Last TX/RX poll.
    pub(super) last_poll_us: u64,
    /// The health check asked for a poll (empty RX ring).
    pub(super) poll_requested: bool,
}

/// The health monitor with its per-queue memory in platform bookkeeping.
pub(crate) type Monitor<P> = HealthMonitor<<P as Platform>::Table<MonitorQueue>>;

/// Health configuration from the negotiated hints (ena.md §3.6, §6.4).
pub(super) fn health_config(neg: &Negotiated) -> HealthConfig {
    let mut cfg = HealthConfig::ENA_DEFAULT;
    let h = &neg.hints;
    cfg.apply_hints(&HealthHints {
        driver_watchdog_timeout_ms: h.driver_watchdog_timeout,
        missing_tx_completion_timeout_ms: h.missing_tx_completion_timeout,
        missed_tx_completion_count_threshold: h.missed_tx_completion_count_threshold_to_reset,
        netdev_wd_timeout_ms: h.netdev_wd_timeout,
    });
    cfg
}

/// New monitor for `max_queues` pairs, keep-alive armed iff the group is enabled.
pub(super) fn new_monitor<P: Platform>(
    plat: &P,
    neg: &Negotiated,
    max_queues: u16,
) -> Result<Monitor<P>, Error> {
    let table = plat.alloc_table(usize::from(max_queues), |_| MonitorQueue::default())?;
    let mut m = HealthMonitor::new(health_config(neg), table, plat.now_us());
    m.keep_alive_mut().set_armed(neg.keep_alive_enabled());
    Ok(m)
}

/// The device as the monitor sees it.
struct View<'a, P: Platform, R: RegisterBar> {
    plat: &'a P,
    bar0: &'a R,
    admin: &'a AdminQueue<P>,
    aenq: &'a AenqRing<P>,
    queues: Option<&'a mut P::Table<Option<QueuePair<P>>>>,
}

impl<P: Platform, R: RegisterBar> View<'_, P, R> {
    fn pair(&self, q: u16) -> Option<&QueuePair<P>> {
        self.queues.as_ref()?.get(usize::from(q))?.as_ref()
    }
    fn pair_mut(&mut self, q: u16) -> Option<&mut QueuePair<P>> {
        self.queues.as_mut()?.get_mut(usize::from(q))?.as_mut()
    }
}

impl<P: Platform, R: RegisterBar> HealthView for View<'_, P, R> {
    fn admin_state(&self) -> AdminState {
        if self.admin.is_running() {
            AdminState::Running
        } else if self.admin.has_pending_completion() {
            AdminState::DeadMissingInterrupt
        } else {
            AdminState::Dead
        }
    }
    fn keep_alive_events_pending(&self) -> bool {
        self.aenq.has_pending_keep_alive()
    }
    fn num_queues(&self) -> u16 {
        self.queues
            .as_ref()
            .map_or(0, |t| u16::try_from(t.len()).unwrap_or(u16::MAX))
    }
    fn poll_scheduled(&self, q: u16) -> bool {
        self.pair(q).is_some_and(|p| p.health.poll_scheduled)
    }
    fn last_poll_us(&self, q: u16) -> u64 {
        self.pair(q).map_or(0, |p| p.health.last_poll_us)
    }
    fn interrupt_seen(&self, q: u16) -> bool {
        self.pair(q).is_some_and(|p| p.health.interrupt_seen)
    }
    fn cq_has_completions(&self, q: u16) -> CqCompletions {
        self.pair(q)
            .map_or(CqCompletions::default(), |p| CqCompletions {
                tx: p.tx.cq_has_completion(),
                rx: p.rx.cq_has_completion(),
            })
    }
    fn rx_ring_empty(&self, q: u16) -> bool {
        self.pair(q).is_some_and(|p| p.rx.is_empty())
    }
    fn tx_oldest_pending_us(&self, q: u16) -> Option<u64> {
        self.pair(q).and_then(|p| p.tx.oldest_pending_us())
    }
    fn tx_mark_timed_out(&mut self, q: u16, now_us: u64, timeout_us: u64) -> u64 {
        self.pair_mut(q)
            .map_or(0, |p| u64::from(p.tx.timed_out_packets(now_us, timeout_us)))
    }
    fn tx_timed_out_in_cq(&mut self, q: u16) -> u64 {
        let plat = self.plat;
        self.pair(q)
            .map_or(0, |p| u64::from(p.tx.late_completions_in_cq(plat)))
    }
    fn rewrite_unmask(&mut self, q: u16) {
        let bar0 = self.bar0;
        if let Some(p) = self.pair_mut(q) {
            p.tx.intr().unmask_keep_moderation(bar0);
            inc(&mut p.tx.stats_mut().lost_interrupt);
        }
    }
    fn reschedule_poll(&mut self, q: u16) {
        if let Some(p) = self.pair_mut(q) {
            p.health.poll_requested = true;
            inc(&mut p.rx.stats_mut().empty_rx_ring);
        }
    }
}

impl<P: Platform, R: RegisterBar> EnaDevice<P, R> {
    /// One health tick: returns the reason if a reset is needed now (it is
    /// also recorded as pending; the first reason wins).
    pub(super) fn run_health_check(&mut self) -> Option<ResetReason> {
        if let Some(r) = self.trigger.pending() {
            return Some(r);
        }
        if self.failed || self.shut_down {
            return None;
        }
        if self.device_status_fatal() {
            cn_err!(
                &self.plat,
                "Device reports a fatal error (DEV_STS.FATAL_ERROR). Reset the device"
            );
            self.trigger.trigger(FATAL_STATUS_RESET_REASON);
            return self.trigger.pending();
        }
        let now = self.plat.now_us();
        let ka_expired = {
            let timeout = self.monitor.config().keep_alive_timeout_us;
            self.monitor.keep_alive_mut().expired(now, timeout)
        };
        let admin_dead = !self.admin.is_running();
        let Self {
            plat,
            bar0,
            admin,
            aenq,
            queues,
            monitor,
            ..
        } = self;
        let mut view = View {
            plat: &*plat,
            bar0: &*bar0,
            admin: &*admin,
            aenq: &*aenq,
            queues: queues.as_mut(),
        };
        let reason = monitor.check(now, &mut view);
        self.stats.events.admin_q_pause = self.monitor.stats().admin_q_pause;
        let reason = reason?;
        if ka_expired {
            cn_err!(&self.plat, "Keep alive watchdog timeout.");
        }
        if admin_dead {
            cn_err!(&self.plat, "ENA admin queue is not in running state!");
        }
        match reason {
            ResetReason::MissingTxCompletion | ResetReason::SuspectedPollStarvation => {
                let worst = self.worst_pending_timed_out();
                cn_err!(
                    &self.plat,
                    "The number of lost tx completions is above the threshold ({} > {}). Reset the device",
                    worst,
                    self.monitor.config().missing_tx_threshold
                );
            }
            ResetReason::MissingInterrupt | ResetReason::MissingFirstInterrupt => {
                cn_err!(
                    &self.plat,
                    "Potential MSIX issue: completions without interrupt. Reset the device"
                );
            }
            _ => {}
        }
        self.trigger.trigger(reason);
        self.trigger.pending()
    }

    /// Read DEV_STS (readless on the control path, ena.md §2) and test
    /// FATAL_ERROR (§1.3 bit 5). Nothing else reports this state: the
    /// device may keep sending keep-alives while it is set. An unanswered
    /// read (all-ones, in readless and direct mode alike) gives no verdict
    /// this tick; the other checks still run, so a device that stopped
    /// answering altogether is still caught by the keep-alive watchdog.
    fn device_status_fatal(&mut self) -> bool {
        match self.mmio.read32(&self.plat, &self.bar0, offset::DEV_STS) {
            READLESS_FAILED => false,
            sts => DevSts::from_bits_retain(sts).contains(DevSts::FATAL_ERROR),
        }
    }

    fn worst_pending_timed_out(&self) -> u64 {
        self.queues
            .iter()
            .flat_map(|t| t.iter())
            .flatten()
            .map(|p| p.tx.stats().pending_timedout_pkts)
            .max()
            .unwrap_or(0)
    }

    /// The OS TX watchdog fired on queue `q` (Linux `ndo_tx_timeout`):
    /// count `tx_timeout` and request a reset, SUSPECTED_POLL_STARVATION if
    /// the queue's poll is scheduled but idle too long, else OS_NETDEV_WD.
    pub fn tx_timeout(&mut self, q: u16) -> ResetReason {
        inc(&mut self.stats.events.tx_timeout);
        let now = self.plat.now_us();
        let Self {
            plat,
            bar0,
            admin,
            aenq,
            queues,
            monitor,
            ..
        } = self;
        let view = View {
            plat: &*plat,
            bar0: &*bar0,
            admin: &*admin,
            aenq: &*aenq,
            queues: queues.as_mut(),
        };
        let reason = monitor.netdev_watchdog_reason(now, &view, q);
        if reason == ResetReason::SuspectedPollStarvation {
            cn_err!(
                &self.plat,
                "napi handler hasn't been called for a long time but is scheduled"
            );
        }
        self.trigger.trigger(reason);
        reason
    }

    /// True (once) if the health check asked the shim to schedule queue
    /// `q`'s poll because its RX ring sat empty (ena.md §6.4).
    pub fn take_poll_request(&mut self, q: u16) -> bool {
        self.pair_mut(q)
            .is_some_and(|p| core::mem::take(&mut p.health.poll_requested))
    }
}
