//! The periodic health check that turns silent device failures into resets
//! (ENA sheet §6.4; MANA reuses it with keep-alive disabled).
//!
//! Policy lives here, facts live in the device: the device implements the
//! small [`HealthView`] trait (is the admin queue alive, is the queue's poll
//! scheduled, when did it last run, are there completions in its CQs, how
//! many TX packets are overdue), and [`HealthMonitor::check`] decides. Time
//! is a `u64` microsecond argument, so tests run "6 s without keep-alive" in
//! no time.
//!
//! One tick (every [`HEALTH_PERIOD_US`]) runs, in the order of ENA's Linux
//! timer service (§6.4 "Timer period"):
//! 1. keep-alive: none within the timeout → KEEP_ALIVE_TO, or
//!    MISSING_ADMIN_INTERRUPT if keep-alive events sit unprocessed in the
//!    event queue (the management interrupt is what is missing);
//! 2. admin state: command queue not running → `admin_q_pause`++ and
//!    ADMIN_TO (or MISSING_ADMIN_INTERRUPT if the queue saw a completion
//!    whose interrupt never came);
//! 3. lost interrupts (every queue): remedy, never a reset — see
//!    [`HealthMonitor::check`];
//! 4. missing completions, [`HealthConfig::queues_per_tick`] queues
//!    round-robin: TX first interrupt, TX completions past the timeout
//!    (threshold per queue), NAPI starvation, RX first interrupt;
//! 5. empty RX ring (every queue): remedy, never a reset.
//!
//! Steps 3–5 are skipped once 1 or 2 found a reason (Linux skips them while
//! a reset is triggered). Call `check` only while no reset is pending; if
//! one is, execute it instead.

use crate::counters;
use crate::ResetReason;
use core::ops::DerefMut;

/// Health-check period: 1 s (ena.md §6.4).
pub const HEALTH_PERIOD_US: u64 = 1_000_000;
/// Hint value meaning "disable this check" (ENA `ENA_HW_HINTS_NO_TIMEOUT`, §6.4).
pub const HINT_NO_TIMEOUT: u16 = 0xFFFF;
/// Microseconds per millisecond (hints are in ms).
const US_PER_MS: u64 = 1000;

/// Tunables, ENA defaults from ena.md §6.4 via [`HealthConfig::ENA_DEFAULT`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HealthConfig {
    /// Keep-alive timeout; `None` disables the check. Default 6 s.
    pub keep_alive_timeout_us: Option<u64>,
    /// Age after which a TX packet without completion counts as missed;
    /// `None` disables the missing-completion and first-interrupt checks.
    /// Default 5 s.
    pub missing_tx_timeout_us: Option<u64>,
    /// Reset when a queue's pending timed-out packets exceed this. Default 128.
    pub missing_tx_threshold: u32,
    /// Queues examined per tick by the missing-completion check. Default 4.
    pub queues_per_tick: u16,
    /// OS TX watchdog timeout (Linux `watchdog_timeo`). Default 5 s.
    pub netdev_watchdog_us: u64,
    /// Consecutive checks with a fully empty RX ring before the poll is
    /// rescheduled. Default 2.
    pub empty_rx_checks: u8,
    /// Consecutive checks with RX completions but no interrupt ever before
    /// MISS_FIRST_INTERRUPT. Default 3.
    pub rx_first_interrupt_checks: u8,
}

impl HealthConfig {
    /// ENA Linux defaults (ena.md §6.4).
    pub const ENA_DEFAULT: HealthConfig = HealthConfig {
        keep_alive_timeout_us: Some(6_000_000),
        missing_tx_timeout_us: Some(5_000_000),
        missing_tx_threshold: 128,
        queues_per_tick: 4,
        netdev_watchdog_us: 5_000_000,
        empty_rx_checks: 2,
        rx_first_interrupt_checks: 3,
    };

    /// "Graceful" timeout: 2 × the missing-TX timeout, used for the
    /// first-interrupt and poll-starvation decisions (§6.4). `None` if the
    /// missing-TX check is disabled.
    pub fn graceful_timeout_us(&self) -> Option<u64> {
        self.missing_tx_timeout_us.map(|t| t.saturating_mul(2))
    }

    /// Apply device hints (ENA HW_HINTS, §3.6/§6.4). Values in ms; 0 keeps
    /// the current value; [`HINT_NO_TIMEOUT`] disables keep-alive or
    /// missing-TX checking (not the netdev watchdog, which has no "off").
    pub fn apply_hints(&mut self, hints: &HealthHints) {
        match hints.driver_watchdog_timeout_ms {
            0 => {}
            HINT_NO_TIMEOUT => self.keep_alive_timeout_us = None,
            ms => self.keep_alive_timeout_us = Some(u64::from(ms) * US_PER_MS),
        }
        match hints.missing_tx_completion_timeout_ms {
            0 => {}
            HINT_NO_TIMEOUT => self.missing_tx_timeout_us = None,
            ms => self.missing_tx_timeout_us = Some(u64::from(ms) * US_PER_MS),
        }
        if hints.missed_tx_completion_count_threshold != 0 {
            self.missing_tx_threshold = u32::from(hints.missed_tx_completion_count_threshold);
        }
        if hints.netdev_wd_timeout_ms != 0 {
            self.netdev_watchdog_us = u64::from(hints.netdev_wd_timeout_ms) * US_PER_MS;
        }
    }
}

impl Default for HealthConfig {
    fn default() -> Self {
        Self::ENA_DEFAULT
    }
}

/// The health-related device hints (ENA `ena_admin_ena_hw_hints` fields, all u16).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct HealthHints {
    /// Keep-alive timeout in ms (0 keep, 0xFFFF disable).
    pub driver_watchdog_timeout_ms: u16,
    /// Missing-TX-completion timeout in ms (0 keep, 0xFFFF disable).
    pub missing_tx_completion_timeout_ms: u16,
    /// Pending timed-out TX packets per queue that trigger a reset (0 keep).
    pub missed_tx_completion_count_threshold: u16,
    /// OS TX watchdog in ms (0 keep).
    pub netdev_wd_timeout_ms: u16,
}

/// Keep-alive watchdog: the device sends an event about every second
/// (ENA AENQ group KEEP_ALIVE, §4); silence beyond the timeout means the
/// device (or its event path) is gone.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KeepAliveMonitor {
    last_us: u64,
    armed: bool,
}

impl KeepAliveMonitor {
    /// Armed, last event at `now_us`.
    pub fn new(now_us: u64) -> Self {
        KeepAliveMonitor {
            last_us: now_us,
            armed: true,
        }
    }
    /// Arm or disarm (ENA arms it only if the KEEP_ALIVE group is enabled, §4).
    pub fn set_armed(&mut self, armed: bool) {
        self.armed = armed;
    }
    /// True if armed.
    pub fn armed(&self) -> bool {
        self.armed
    }
    /// A keep-alive event arrived (also called after a reset's restore).
    pub fn on_event(&mut self, now_us: u64) {
        self.last_us = now_us;
    }
    /// Time of the last event.
    pub fn last_event_us(&self) -> u64 {
        self.last_us
    }
    /// True if armed, `timeout_us` is set and more than `timeout_us` passed
    /// since the last event (strictly, like `time_is_before_jiffies`).
    pub fn expired(&self, now_us: u64, timeout_us: Option<u64>) -> bool {
        match timeout_us {
            Some(t) if self.armed => now_us.saturating_sub(self.last_us) > t,
            _ => false,
        }
    }
}

/// State of the device's command queue (ENA admin queue, MANA HWC).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AdminState {
    /// Accepting commands.
    Running,
    /// Dead after a completion timeout or submit error (→ ADMIN_TO).
    Dead,
    /// Dead, and the completion was found by polling: the interrupt is what
    /// is missing (→ MISSING_ADMIN_INTERRUPT, ena.md §3.4).
    DeadMissingInterrupt,
}

/// Whether a queue pair's completion queues hold unprocessed entries.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CqCompletions {
    /// The TX CQ has at least one new completion.
    pub tx: bool,
    /// The RX CQ has at least one new completion.
    pub rx: bool,
}

/// What the health check needs from a device. `q` is a queue-pair index
/// below [`HealthView::num_queues`]; implementations return neutral values
/// (false / 0 / None) for anything else.
pub trait HealthView {
    /// Command-queue state.
    fn admin_state(&self) -> AdminState;
    /// Keep-alive events are sitting unprocessed in the event queue.
    fn keep_alive_events_pending(&self) -> bool;
    /// Queue pairs to check: 0 while the interface is down.
    fn num_queues(&self) -> u16;
    /// The queue's poll (NAPI / DPC) is scheduled right now.
    fn poll_scheduled(&self, q: u16) -> bool;
    /// When the queue's poll last ran (0 if never).
    fn last_poll_us(&self, q: u16) -> u64;
    /// The queue pair's interrupt fired at least once since the queues were created.
    fn interrupt_seen(&self, q: u16) -> bool;
    /// Which of the pair's CQs hold new completions (peek, do not consume).
    fn cq_has_completions(&self, q: u16) -> CqCompletions;
    /// The RX ring has no buffers posted at all (ENA: free == depth − 1).
    fn rx_ring_empty(&self, q: u16) -> bool;
    /// Send time of the oldest TX packet still waiting for completion.
    fn tx_oldest_pending_us(&self, q: u16) -> Option<u64>;
    /// Mark every pending TX packet sent more than `timeout_us` before
    /// `now_us` and not yet marked as timed out; add the newly marked ones
    /// to the queue's `missed_tx` and pending-timed-out counters. Returns
    /// the pending-timed-out count after marking (the completion path
    /// decrements it when a marked packet completes).
    fn tx_mark_timed_out(&mut self, q: u16, now_us: u64, timeout_us: u64) -> u64;
    /// How many timed-out packets already have completions waiting in the
    /// TX CQ (peek; used only when a reset is decided and the poll is idle,
    /// to tell a lost interrupt from a lost completion).
    fn tx_timed_out_in_cq(&mut self, q: u16) -> u64;
    /// Remedy for a lost interrupt: re-write the unmask register once and
    /// count `lost_interrupt` (ena.md §5.7, §6.4).
    fn rewrite_unmask(&mut self, q: u16);
    /// Remedy for an empty RX ring: schedule the poll (which refills) and
    /// count `empty_rx_ring` (ena.md §6.4).
    fn reschedule_poll(&mut self, q: u16);
}

/// Per-queue-pair memory of the health check (one per possible queue).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct QueueHealth {
    prev_tx_cq_nonempty: bool,
    prev_rx_cq_nonempty: bool,
    prev_last_poll_us: u64,
    unmask_rewritten: bool,
    rx_no_interrupt_checks: u8,
    empty_rx_checks: u8,
}

counters! {
    /// Device-global counters of the health check (ENA sheet §7 names).
    pub struct HealthStats {
        /// Ticks that found the command queue not running.
        admin_q_pause,
    }
}

/// The health monitor. `S` holds one [`QueueHealth`] per possible queue
/// pair (e.g. `P::Table<QueueHealth>` sized to the device maximum); queues
/// beyond its length are not checked.
pub struct HealthMonitor<S: DerefMut<Target = [QueueHealth]>> {
    cfg: HealthConfig,
    keep_alive: KeepAliveMonitor,
    queues: S,
    next_queue: u16,
    stats: HealthStats,
}

impl<S: DerefMut<Target = [QueueHealth]>> HealthMonitor<S> {
    /// A monitor with `cfg`, keep-alive armed from `now_us`. `queues` should
    /// be all-default.
    pub fn new(cfg: HealthConfig, queues: S, now_us: u64) -> Self {
        HealthMonitor {
            cfg,
            keep_alive: KeepAliveMonitor::new(now_us),
            queues,
            next_queue: 0,
            stats: HealthStats::default(),
        }
    }

    /// Current configuration.
    pub fn config(&self) -> &HealthConfig {
        &self.cfg
    }
    /// Change the configuration (hints, user settings).
    pub fn config_mut(&mut self) -> &mut HealthConfig {
        &mut self.cfg
    }
    /// Keep-alive watchdog (arm/disarm, inspect).
    pub fn keep_alive_mut(&mut self) -> &mut KeepAliveMonitor {
        &mut self.keep_alive
    }
    /// A keep-alive event arrived.
    pub fn on_keep_alive(&mut self, now_us: u64) {
        self.keep_alive.on_event(now_us);
    }
    /// Counters.
    pub fn stats(&self) -> &HealthStats {
        &self.stats
    }

    /// Forget per-queue history and restart the keep-alive clock: call when
    /// queues are (re)created — open, and the end of a reset (§6.5 step 5).
    pub fn on_queues_recreated(&mut self, now_us: u64) {
        for q in self.queues.iter_mut() {
            *q = QueueHealth::default();
        }
        self.next_queue = 0;
        self.keep_alive.on_event(now_us);
    }

    /// Run one tick; returns the reset reason if one is needed now.
    ///
    /// Lost interrupt (every queue): the poll is not scheduled, a CQ was
    /// non-empty at this and the previous check, and the poll has not run in
    /// between → [`HealthView::rewrite_unmask`] once, until the queue looks
    /// healthy again. (Linux starts its "previous" state as non-empty; we
    /// start it as empty so a lost interrupt needs two observations, as §6.4
    /// states.)
    pub fn check(&mut self, now_us: u64, view: &mut impl HealthView) -> Option<ResetReason> {
        let mut reason = None;
        if self
            .keep_alive
            .expired(now_us, self.cfg.keep_alive_timeout_us)
        {
            reason = Some(if view.keep_alive_events_pending() {
                ResetReason::MissingAdminInterrupt
            } else {
                ResetReason::KeepAliveTimeout
            });
        }
        match view.admin_state() {
            AdminState::Running => {}
            state => {
                crate::stats::inc(&mut self.stats.admin_q_pause);
                let admin_reason = if state == AdminState::DeadMissingInterrupt {
                    ResetReason::MissingAdminInterrupt
                } else {
                    ResetReason::AdminTimeout
                };
                reason = reason.or(Some(admin_reason));
            }
        }
        if reason.is_some() {
            return reason;
        }
        let n = view
            .num_queues()
            .min(u16::try_from(self.queues.len()).unwrap_or(u16::MAX));
        self.check_lost_interrupts(view, n);
        if let Some(r) = self.check_missing_completions(now_us, view, n) {
            return Some(r);
        }
        self.check_empty_rx_rings(view, n);
        None
    }

    /// Reason for an OS TX watchdog on queue `q` (Linux `ndo_tx_timeout`,
    /// §6.4): SUSPECTED_POLL_STARVATION if the queue's poll is scheduled but
    /// has not run for longer than the watchdog timeout, else OS_NETDEV_WD.
    pub fn netdev_watchdog_reason(
        &self,
        now_us: u64,
        view: &impl HealthView,
        q: u16,
    ) -> ResetReason {
        if q < view.num_queues()
            && view.poll_scheduled(q)
            && now_us.saturating_sub(view.last_poll_us(q)) > self.cfg.netdev_watchdog_us
        {
            ResetReason::SuspectedPollStarvation
        } else {
            ResetReason::OsNetdevWatchdog
        }
    }

    fn check_lost_interrupts(&mut self, view: &mut impl HealthView, n: u16) {
        for q in 0..n {
            let Some(st) = self.queues.get_mut(usize::from(q)) else {
                break;
            };
            if view.poll_scheduled(q) {
                st.unmask_rewritten = false;
                continue;
            }
            let last_poll = view.last_poll_us(q);
            let cq = view.cq_has_completions(q);
            let poll_idle = last_poll == st.prev_last_poll_us;
            let lost = poll_idle
                && ((cq.tx && st.prev_tx_cq_nonempty) || (cq.rx && st.prev_rx_cq_nonempty));
            st.prev_last_poll_us = last_poll;
            st.prev_tx_cq_nonempty = cq.tx;
            st.prev_rx_cq_nonempty = cq.rx;
            if !lost {
                st.unmask_rewritten = false;
            } else if !st.unmask_rewritten {
                st.unmask_rewritten = true;
                view.rewrite_unmask(q);
            }
        }
    }

    fn check_missing_completions(
        &mut self,
        now_us: u64,
        view: &mut impl HealthView,
        n: u16,
    ) -> Option<ResetReason> {
        let timeout = self.cfg.missing_tx_timeout_us?;
        if n == 0 {
            return None;
        }
        let budget = self.cfg.queues_per_tick.min(n);
        let mut q = self.next_queue % n;
        for _ in 0..budget {
            if let Some(r) = self.check_tx_queue(now_us, view, q, timeout) {
                return Some(r);
            }
            if let Some(r) = self.check_rx_first_interrupt(view, q) {
                return Some(r);
            }
            q = (q + 1) % n;
        }
        self.next_queue = q;
        None
    }

    /// Missing TX completions on one queue (Linux
    /// `check_missing_comp_in_tx_queue`, §6.4).
    fn check_tx_queue(
        &mut self,
        now_us: u64,
        view: &mut impl HealthView,
        q: u16,
        timeout: u64,
    ) -> Option<ResetReason> {
        let graceful = timeout.saturating_mul(2);
        let older_than = |sent: u64, age: u64| now_us.saturating_sub(sent) > age;
        let oldest = view.tx_oldest_pending_us(q);
        let first_interrupt_missing = !view.interrupt_seen(q);
        let mut reason = ResetReason::MissingTxCompletion;
        let pending;
        let missing_first;
        if first_interrupt_missing && oldest.is_some_and(|s| older_than(s, graceful)) {
            // No interrupt ever, and a packet waited past the graceful timeout.
            pending = view.tx_mark_timed_out(q, now_us, timeout);
            missing_first = true;
        } else {
            // A scheduled poll that does not run is starvation, not a device
            // fault: give those packets the graceful timeout instead.
            let starving = view.poll_scheduled(q) && older_than(view.last_poll_us(q), timeout);
            let age = if starving { graceful } else { timeout };
            pending = view.tx_mark_timed_out(q, now_us, age);
            if starving && oldest.is_some_and(|s| older_than(s, graceful)) {
                reason = ResetReason::SuspectedPollStarvation;
            }
            if pending <= u64::from(self.cfg.missing_tx_threshold) {
                return None;
            }
            missing_first = first_interrupt_missing;
        }
        if !view.poll_scheduled(q) {
            // Poll idle: if the device did complete every overdue packet, the
            // completions are there and only the interrupt is missing.
            let cq_empty = !view.cq_has_completions(q).tx;
            reason = if cq_empty || pending.saturating_sub(view.tx_timed_out_in_cq(q)) > 0 {
                ResetReason::MissingTxCompletion
            } else if missing_first {
                ResetReason::MissingFirstInterrupt
            } else {
                ResetReason::MissingInterrupt
            };
        }
        Some(reason)
    }

    /// RX completions present but the pair never had an interrupt, on
    /// `rx_first_interrupt_checks` consecutive looks (§6.4).
    fn check_rx_first_interrupt(&mut self, view: &impl HealthView, q: u16) -> Option<ResetReason> {
        if view.interrupt_seen(q) || !view.cq_has_completions(q).rx {
            return None;
        }
        let st = self.queues.get_mut(usize::from(q))?;
        st.rx_no_interrupt_checks = st.rx_no_interrupt_checks.saturating_add(1);
        (st.rx_no_interrupt_checks >= self.cfg.rx_first_interrupt_checks)
            .then_some(ResetReason::MissingFirstInterrupt)
    }

    fn check_empty_rx_rings(&mut self, view: &mut impl HealthView, n: u16) {
        for q in 0..n {
            let Some(st) = self.queues.get_mut(usize::from(q)) else {
                break;
            };
            if !view.rx_ring_empty(q) {
                st.empty_rx_checks = 0;
                continue;
            }
            st.empty_rx_checks = st.empty_rx_checks.saturating_add(1);
            if st.empty_rx_checks >= self.cfg.empty_rx_checks {
                st.empty_rx_checks = 0;
                view.reschedule_poll(q);
            }
        }
    }
}

#[cfg(test)]
#[path = "health_tests.rs"]
mod tests;
