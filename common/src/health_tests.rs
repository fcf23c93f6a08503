//! Unit tests of [`super::HealthMonitor`] against a scripted fake device.

extern crate std;
use super::*;
use std::vec;
use std::vec::Vec;

const S: u64 = 1_000_000;

#[derive(Clone, Default)]
struct FakeQueue {
    poll_scheduled: bool,
    last_poll_us: u64,
    interrupt_seen: bool,
    cq: CqCompletions,
    rx_empty: bool,
    /// (sent time, timed out) of pending TX packets.
    pending: Vec<(u64, bool)>,
    pending_timed_out: u64,
    timed_out_in_cq: u64,
    missed_tx: u64,
    unmask_rewrites: u32,
    reschedules: u32,
}

struct FakeDevice {
    admin: AdminState,
    keep_alive_pending: bool,
    queues: Vec<FakeQueue>,
    /// Queues whose TX state was scanned, in order (round-robin check).
    scanned: Vec<u16>,
}

impl FakeDevice {
    fn new(n: usize) -> Self {
        let q = FakeQueue {
            interrupt_seen: true,
            ..FakeQueue::default()
        };
        FakeDevice {
            admin: AdminState::Running,
            keep_alive_pending: false,
            queues: vec![q; n],
            scanned: Vec::new(),
        }
    }
    fn q(&self, q: u16) -> Option<&FakeQueue> {
        self.queues.get(usize::from(q))
    }
}

impl HealthView for FakeDevice {
    fn admin_state(&self) -> AdminState {
        self.admin
    }
    fn keep_alive_events_pending(&self) -> bool {
        self.keep_alive_pending
    }
    fn num_queues(&self) -> u16 {
        self.queues.len() as u16
    }
    fn poll_scheduled(&self, q: u16) -> bool {
        self.q(q).is_some_and(|q| q.poll_scheduled)
    }
    fn last_poll_us(&self, q: u16) -> u64 {
        self.q(q).map_or(0, |q| q.last_poll_us)
    }
    fn interrupt_seen(&self, q: u16) -> bool {
        self.q(q).is_some_and(|q| q.interrupt_seen)
    }
    fn cq_has_completions(&self, q: u16) -> CqCompletions {
        self.q(q).map_or(CqCompletions::default(), |q| q.cq)
    }
    fn rx_ring_empty(&self, q: u16) -> bool {
        self.q(q).is_some_and(|q| q.rx_empty)
    }
    fn tx_oldest_pending_us(&self, q: u16) -> Option<u64> {
        self.q(q)?.pending.iter().map(|p| p.0).min()
    }
    fn tx_mark_timed_out(&mut self, q: u16, now_us: u64, timeout_us: u64) -> u64 {
        self.scanned.push(q);
        let fq = &mut self.queues[usize::from(q)];
        for p in fq.pending.iter_mut() {
            if !p.1 && now_us.saturating_sub(p.0) > timeout_us {
                p.1 = true;
                fq.missed_tx += 1;
                fq.pending_timed_out += 1;
            }
        }
        fq.pending_timed_out
    }
    fn tx_timed_out_in_cq(&mut self, q: u16) -> u64 {
        self.queues[usize::from(q)].timed_out_in_cq
    }
    fn rewrite_unmask(&mut self, q: u16) {
        self.queues[usize::from(q)].unmask_rewrites += 1;
    }
    fn reschedule_poll(&mut self, q: u16) {
        self.queues[usize::from(q)].reschedules += 1;
    }
}

fn monitor(n: usize) -> HealthMonitor<Vec<QueueHealth>> {
    HealthMonitor::new(
        HealthConfig::ENA_DEFAULT,
        vec![QueueHealth::default(); n],
        0,
    )
}

/// Give queue `q` `count` packets sent at `sent`.
fn send(dev: &mut FakeDevice, q: usize, sent: u64, count: usize) {
    dev.queues[q]
        .pending
        .extend(std::iter::repeat_n((sent, false), count));
}

#[test]
fn defaults_and_hints() {
    let mut c = HealthConfig::default();
    assert_eq!(c.keep_alive_timeout_us, Some(6 * S));
    assert_eq!(c.graceful_timeout_us(), Some(10 * S));
    c.apply_hints(&HealthHints::default()); // all zero: unchanged
    assert_eq!(c, HealthConfig::ENA_DEFAULT);
    c.apply_hints(&HealthHints {
        driver_watchdog_timeout_ms: 3000,
        missing_tx_completion_timeout_ms: HINT_NO_TIMEOUT,
        missed_tx_completion_count_threshold: 256,
        netdev_wd_timeout_ms: 20_000,
    });
    assert_eq!(c.keep_alive_timeout_us, Some(3 * S));
    assert_eq!(c.missing_tx_timeout_us, None);
    assert_eq!(c.graceful_timeout_us(), None);
    assert_eq!(c.missing_tx_threshold, 256);
    assert_eq!(c.netdev_watchdog_us, 20 * S);
    c.apply_hints(&HealthHints {
        driver_watchdog_timeout_ms: HINT_NO_TIMEOUT,
        ..HealthHints::default()
    });
    assert_eq!(c.keep_alive_timeout_us, None);
}

#[test]
fn keep_alive_timeout() {
    let mut m = monitor(1);
    let mut dev = FakeDevice::new(1);
    m.on_keep_alive(5 * S);
    assert_eq!(m.check(11 * S, &mut dev), None); // exactly 6 s: not yet
    assert_eq!(
        m.check(11 * S + 1, &mut dev),
        Some(ResetReason::KeepAliveTimeout)
    );
    dev.keep_alive_pending = true; // events stuck in the queue: interrupt missing
    assert_eq!(
        m.check(12 * S, &mut dev),
        Some(ResetReason::MissingAdminInterrupt)
    );
    m.keep_alive_mut().set_armed(false);
    assert_eq!(m.check(100 * S, &mut dev), None);
    m.keep_alive_mut().set_armed(true);
    m.config_mut().keep_alive_timeout_us = None;
    assert_eq!(m.check(100 * S, &mut dev), None);
}

#[test]
fn admin_state() {
    let mut m = monitor(1);
    let mut dev = FakeDevice::new(1);
    dev.admin = AdminState::Dead;
    assert_eq!(m.check(S, &mut dev), Some(ResetReason::AdminTimeout));
    dev.admin = AdminState::DeadMissingInterrupt;
    assert_eq!(
        m.check(2 * S, &mut dev),
        Some(ResetReason::MissingAdminInterrupt)
    );
    assert_eq!(m.stats().admin_q_pause, 2);
    // Keep-alive is checked first and wins; the pause is still counted.
    dev.admin = AdminState::Dead;
    assert_eq!(
        m.check(20 * S, &mut dev),
        Some(ResetReason::KeepAliveTimeout)
    );
    assert_eq!(m.stats().admin_q_pause, 3);
}

#[test]
fn missing_tx_completions_over_threshold() {
    let mut m = monitor(1);
    let mut dev = FakeDevice::new(1);
    m.config_mut().keep_alive_timeout_us = None;
    send(&mut dev, 0, S, 128);
    dev.queues[0].last_poll_us = S;
    assert_eq!(m.check(6 * S, &mut dev), None); // exactly 5 s old
    assert_eq!(m.check(6 * S + 1, &mut dev), None); // 128 timed out: not > 128
    assert_eq!(dev.queues[0].missed_tx, 128);
    send(&mut dev, 0, 2 * S, 1);
    // CQ empty, poll idle: the device lost the completions.
    assert_eq!(
        m.check(7 * S + 1, &mut dev),
        Some(ResetReason::MissingTxCompletion)
    );
    assert_eq!(dev.queues[0].missed_tx, 129);
}

#[test]
fn missing_tx_disabled_by_hint() {
    let mut m = monitor(1);
    m.config_mut().apply_hints(&HealthHints {
        missing_tx_completion_timeout_ms: HINT_NO_TIMEOUT,
        ..Default::default()
    });
    m.config_mut().keep_alive_timeout_us = None;
    let mut dev = FakeDevice::new(1);
    send(&mut dev, 0, 0, 1000);
    dev.queues[0].interrupt_seen = false;
    assert_eq!(m.check(100 * S, &mut dev), None);
}

#[test]
fn completions_present_means_missing_interrupt() {
    let mut m = monitor(1);
    let mut dev = FakeDevice::new(1);
    send(&mut dev, 0, 0, 200);
    dev.queues[0].cq.tx = true;
    dev.queues[0].timed_out_in_cq = 200; // device completed them all
    assert_eq!(
        m.check(5 * S + 1, &mut dev),
        Some(ResetReason::MissingInterrupt)
    );
    dev.queues[0].timed_out_in_cq = 199;
    assert_eq!(
        m.check(5 * S + 2, &mut dev),
        Some(ResetReason::MissingTxCompletion)
    );
}

#[test]
fn tx_first_interrupt_missing() {
    let mut m = monitor(1);
    let mut dev = FakeDevice::new(1);
    dev.queues[0].interrupt_seen = false;
    send(&mut dev, 0, S, 1); // one packet is enough, no threshold
    m.on_keep_alive(10 * S);
    assert_eq!(m.check(11 * S, &mut dev), None); // 10 s old: graceful not passed
    dev.queues[0].cq.tx = true;
    dev.queues[0].timed_out_in_cq = 1;
    assert_eq!(
        m.check(11 * S + 1, &mut dev),
        Some(ResetReason::MissingFirstInterrupt)
    );
    // Completion not in the CQ: the device lost it.
    dev.queues[0].timed_out_in_cq = 0;
    assert_eq!(
        m.check(11 * S + 2, &mut dev),
        Some(ResetReason::MissingTxCompletion)
    );
    // Poll scheduled: no CQ inspection, MISS_TX_CMPL.
    dev.queues[0].timed_out_in_cq = 1;
    dev.queues[0].poll_scheduled = true;
    assert_eq!(
        m.check(11 * S + 3, &mut dev),
        Some(ResetReason::MissingTxCompletion)
    );
}

#[test]
fn poll_starvation_gets_graceful_timeout() {
    let mut m = monitor(1);
    m.config_mut().keep_alive_timeout_us = None;
    let mut dev = FakeDevice::new(1);
    dev.queues[0].poll_scheduled = true;
    dev.queues[0].last_poll_us = 0;
    send(&mut dev, 0, 0, 200);
    // 6 s: past the timeout but the poll starves: packets not counted yet.
    assert_eq!(m.check(6 * S, &mut dev), None);
    assert_eq!(dev.queues[0].missed_tx, 0);
    assert_eq!(
        m.check(10 * S + 1, &mut dev),
        Some(ResetReason::SuspectedPollStarvation)
    );
}

#[test]
fn rx_first_interrupt_after_three_checks() {
    let mut m = monitor(1);
    m.config_mut().keep_alive_timeout_us = None;
    let mut dev = FakeDevice::new(1);
    dev.queues[0].interrupt_seen = false;
    dev.queues[0].cq.rx = true;
    dev.queues[0].poll_scheduled = true; // keep the lost-interrupt check out of it
    assert_eq!(m.check(S, &mut dev), None);
    assert_eq!(m.check(2 * S, &mut dev), None);
    assert_eq!(
        m.check(3 * S, &mut dev),
        Some(ResetReason::MissingFirstInterrupt)
    );
    m.on_queues_recreated(4 * S);
    assert_eq!(m.check(5 * S, &mut dev), None);
}

#[test]
fn lost_interrupt_rewrites_unmask_once() {
    let mut m = monitor(2);
    m.config_mut().keep_alive_timeout_us = None;
    let mut dev = FakeDevice::new(2);
    dev.queues[1].cq.rx = true;
    dev.queues[1].last_poll_us = 7;
    assert_eq!(m.check(S, &mut dev), None); // first sighting
    assert_eq!(dev.queues[1].unmask_rewrites, 0);
    assert_eq!(m.check(2 * S, &mut dev), None);
    assert_eq!(dev.queues[1].unmask_rewrites, 1);
    assert_eq!(m.check(3 * S, &mut dev), None); // still stuck: not again
    assert_eq!(dev.queues[1].unmask_rewrites, 1);
    dev.queues[1].last_poll_us = 8; // poll ran: healthy again
    assert_eq!(m.check(4 * S, &mut dev), None);
    assert_eq!(m.check(5 * S, &mut dev), None);
    assert_eq!(dev.queues[1].unmask_rewrites, 2);
    // Scheduled poll is never a lost interrupt.
    dev.queues[1].poll_scheduled = true;
    m.check(6 * S, &mut dev);
    m.check(7 * S, &mut dev);
    assert_eq!(dev.queues[1].unmask_rewrites, 2);
    assert_eq!(dev.queues[0].unmask_rewrites, 0);
}

#[test]
fn empty_rx_ring_reschedules_after_two_checks() {
    let mut m = monitor(1);
    m.config_mut().keep_alive_timeout_us = None;
    let mut dev = FakeDevice::new(1);
    dev.queues[0].rx_empty = true;
    m.check(S, &mut dev);
    assert_eq!(dev.queues[0].reschedules, 0);
    m.check(2 * S, &mut dev);
    assert_eq!(dev.queues[0].reschedules, 1);
    m.check(3 * S, &mut dev);
    assert_eq!(dev.queues[0].reschedules, 1);
    dev.queues[0].rx_empty = false;
    m.check(4 * S, &mut dev);
    dev.queues[0].rx_empty = true;
    m.check(5 * S, &mut dev);
    assert_eq!(dev.queues[0].reschedules, 1);
    m.check(6 * S, &mut dev);
    assert_eq!(dev.queues[0].reschedules, 2);
}

#[test]
fn round_robin_four_queues_per_tick() {
    let mut m = monitor(10);
    m.config_mut().keep_alive_timeout_us = None;
    let mut dev = FakeDevice::new(10);
    m.check(S, &mut dev);
    m.check(2 * S, &mut dev);
    m.check(3 * S, &mut dev);
    assert_eq!(dev.scanned, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 0, 1]);
    // Fewer queues than the budget: each once per tick.
    dev.scanned.clear();
    dev.queues.truncate(3);
    m.check(4 * S, &mut dev);
    assert_eq!(dev.scanned.len(), 3);
    // Storage smaller than the device's count: only stored queues checked.
    let mut small = monitor(2);
    small.config_mut().keep_alive_timeout_us = None;
    let mut dev = FakeDevice::new(8);
    small.check(S, &mut dev);
    assert_eq!(dev.scanned, [0, 1]);
}

#[test]
fn keep_alive_or_admin_failure_skips_queue_checks() {
    let mut m = monitor(1);
    let mut dev = FakeDevice::new(1);
    dev.queues[0].rx_empty = true;
    m.check(7 * S, &mut dev);
    m.check(8 * S, &mut dev);
    assert!(dev.scanned.is_empty());
    assert_eq!(dev.queues[0].reschedules, 0);
}

#[test]
fn netdev_watchdog_reason() {
    let m = monitor(2);
    let mut dev = FakeDevice::new(2);
    assert_eq!(
        m.netdev_watchdog_reason(10 * S, &dev, 0),
        ResetReason::OsNetdevWatchdog
    );
    dev.queues[0].poll_scheduled = true;
    dev.queues[0].last_poll_us = 4 * S;
    assert_eq!(
        m.netdev_watchdog_reason(9 * S, &dev, 0),
        ResetReason::OsNetdevWatchdog
    );
    assert_eq!(
        m.netdev_watchdog_reason(9 * S + 1, &dev, 0),
        ResetReason::SuspectedPollStarvation
    );
    assert_eq!(
        m.netdev_watchdog_reason(9 * S + 1, &dev, 7),
        ResetReason::OsNetdevWatchdog
    );
}

#[test]
fn time_going_backwards_does_not_panic() {
    let mut m = monitor(1);
    let mut dev = FakeDevice::new(1);
    m.on_keep_alive(u64::MAX);
    dev.queues[0].last_poll_us = u64::MAX;
    dev.queues[0].pending.push((u64::MAX, false));
    assert_eq!(m.check(0, &mut dev), None);
}
