//! Reset reasons shared by every device. Numbering follows ENA's
//! `ena_regs_reset_reason_types` (ENA sheet §1.4), which the ENA crate writes
//! to DEV_CTL unchanged; MANA maps its own triggers onto the same set.
//!
//! Also here: [`ResetTrigger`] (the pending-reset flag, first reason wins)
//! and [`ResetCounters`] (`total_resets`, `reset_fail`, per-reason counts).

use core::sync::atomic::{AtomicU8, Ordering};

/// Why the driver resets the device.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[repr(u8)]
pub enum ResetReason {
    /// Probe/restore-time reset, or device asked to refresh capabilities.
    Normal = 0,
    /// No keep-alive event within the keep-alive timeout.
    KeepAliveTimeout = 1,
    /// Admin/command queue left the running state.
    AdminTimeout = 2,
    /// Too many TX packets without completion past the timeout.
    MissingTxCompletion = 3,
    /// RX completion with an invalid request id.
    InvalidRxReqId = 4,
    /// TX completion with an invalid request id.
    InvalidTxReqId = 5,
    /// RX packet spans more descriptors than allowed.
    TooManyRxDescs = 6,
    /// Initialisation failed after interrupts were set up.
    InitError = 7,
    /// Driver found its own state inconsistent (e.g. restore failed).
    DriverInvalidState = 8,
    /// Reset asked by the OS (FreeBSD only in ENA's drivers).
    OsTrigger = 9,
    /// The OS TX watchdog fired.
    OsNetdevWatchdog = 10,
    /// Device removal / system shutdown.
    Shutdown = 11,
    /// Explicitly requested by the user.
    UserTrigger = 12,
    /// Catch-all for devices without extended reasons.
    Generic = 13,
    /// Completions present but no interrupt seen.
    MissingInterrupt = 14,
    /// Poll scheduled but not running for too long.
    SuspectedPollStarvation = 15,
    /// RX completion with must-be-zero bits set or a bad `first` bit.
    RxDescriptorMalformed = 16,
    /// TX completion with must-be-zero bits set.
    TxDescriptorMalformed = 17,
    /// Admin completion (or keep-alive) present but the management interrupt missing.
    MissingAdminInterrupt = 18,
    /// The device asked for a reset (ENA AENQ DEVICE_REQUEST_RESET, MANA EQE 135).
    DeviceRequest = 19,
    /// A queue never received its first interrupt.
    MissingFirstInterrupt = 20,
}

impl ResetReason {
    /// Wire code (ENA DEV_CTL reset reason).
    pub const fn code(self) -> u8 {
        self as u8
    }

    /// Inverse of [`ResetReason::code`]; unknown codes become `Generic`.
    pub const fn from_code(code: u8) -> Self {
        use ResetReason::*;
        match code {
            0 => Normal,
            1 => KeepAliveTimeout,
            2 => AdminTimeout,
            3 => MissingTxCompletion,
            4 => InvalidRxReqId,
            5 => InvalidTxReqId,
            6 => TooManyRxDescs,
            7 => InitError,
            8 => DriverInvalidState,
            9 => OsTrigger,
            10 => OsNetdevWatchdog,
            11 => Shutdown,
            12 => UserTrigger,
            14 => MissingInterrupt,
            15 => SuspectedPollStarvation,
            16 => RxDescriptorMalformed,
            17 => TxDescriptorMalformed,
            18 => MissingAdminInterrupt,
            19 => DeviceRequest,
            20 => MissingFirstInterrupt,
            _ => Generic,
        }
    }

    /// Global `ethtool -S` counter bumped when a reset has this reason
    /// (ENA sheet §7), if any.
    pub const fn counter_name(self) -> Option<&'static str> {
        use ResetReason::*;
        Some(match self {
            KeepAliveTimeout => "wd_expired",
            AdminTimeout => "admin_to",
            MissingTxCompletion => "missing_tx_cmpl",
            InvalidRxReqId => "bad_rx_req_id",
            InvalidTxReqId => "bad_tx_req_id",
            TooManyRxDescs => "bad_rx_desc_num",
            DriverInvalidState => "invalid_state",
            OsNetdevWatchdog => "os_netdev_wd",
            MissingInterrupt => "missing_intr",
            SuspectedPollStarvation => "suspected_poll_starvation",
            RxDescriptorMalformed => "rx_desc_malformed",
            TxDescriptorMalformed => "tx_desc_malformed",
            MissingAdminInterrupt => "missing_admin_interrupt",
            DeviceRequest => "device_request_reset",
            MissingFirstInterrupt => "missing_first_intr",
            _ => return None,
        })
    }
}

/// Number of [`ResetReason`] codes (0..=20, ENA sheet §1.4).
pub const RESET_REASON_COUNT: usize = 21;

impl ResetReason {
    /// Every reason, in code order (`ALL[i].code() == i`).
    pub const ALL: [ResetReason; RESET_REASON_COUNT] = {
        let mut all = [ResetReason::Normal; RESET_REASON_COUNT];
        let mut i = 0;
        while i < RESET_REASON_COUNT {
            all[i] = ResetReason::from_code(i as u8);
            i += 1;
        }
        all
    };
}

/// Sentinel stored in [`ResetTrigger`] when no reset is pending (not a code).
const NO_RESET: u8 = u8::MAX;

/// A pending-reset flag that keeps the first reason.
///
/// ENA sheet §6.5 step 1: the first reason wins (Linux compare-and-sets it
/// from NORMAL); later triggers are ignored until the reset worker takes it.
/// `Normal` is a real reason here (ENA's REFRESH_CAPABILITIES event asks for
/// a reset with reason NORMAL, §4), so "no reset" is a separate sentinel.
///
/// The flag is an atomic so queue-side code (a bad request id found in a
/// NAPI poll) and the control path (health timer) can share it by `&`;
/// everything else about the reset runs on the control path.
#[derive(Debug)]
pub struct ResetTrigger {
    reason: AtomicU8,
}

impl Default for ResetTrigger {
    fn default() -> Self {
        Self::new()
    }
}

impl ResetTrigger {
    /// No reset pending.
    pub const fn new() -> Self {
        ResetTrigger {
            reason: AtomicU8::new(NO_RESET),
        }
    }

    /// Request a reset. Returns true if this call set the reason (nothing
    /// was pending), false if an earlier reason is kept.
    pub fn trigger(&self, reason: ResetReason) -> bool {
        self.reason
            .compare_exchange(NO_RESET, reason.code(), Ordering::AcqRel, Ordering::Acquire)
            .is_ok()
    }

    /// True if a reset is pending: one atomic load and a compare, for the
    /// per-packet path (which only needs to know whether to refuse work).
    #[inline]
    pub fn is_pending(&self) -> bool {
        self.reason.load(Ordering::Acquire) != NO_RESET
    }

    /// The pending reason, if any.
    #[inline]
    pub fn pending(&self) -> Option<ResetReason> {
        match self.reason.load(Ordering::Acquire) {
            NO_RESET => None,
            code => Some(ResetReason::from_code(code)),
        }
    }

    /// Take the pending reason and clear the flag (the reset worker starts).
    pub fn take(&self) -> Option<ResetReason> {
        match self.reason.swap(NO_RESET, Ordering::AcqRel) {
            NO_RESET => None,
            code => Some(ResetReason::from_code(code)),
        }
    }

    /// Forget any pending reason (ENA §6.5 step 4: "reason := NORMAL; clear flags").
    pub fn clear(&self) {
        self.reason.store(NO_RESET, Ordering::Release);
    }
}

/// Reset counters kept across resets: `total_resets`, `reset_fail` and one
/// count per reason.
///
/// Counting happens when a reset is executed ([`ResetCounters::record`] with
/// the reason taken from [`ResetTrigger::take`]), not when it is triggered:
/// since only the first trigger is kept and each kept trigger leads to one
/// reset, the two are the same except for triggers dropped by a close, which
/// should not count. Device crates that export ENA's global counters
/// (`wd_expired`, `admin_to`, ... — ena.md §7) read the per-reason values
/// with [`ResetCounters::count`] and place them in their own order;
/// [`ResetCounters::for_each`] offers a device-neutral order.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ResetCounters {
    /// Resets executed (`total_resets`).
    pub total_resets: u64,
    /// Resets whose restore failed (`reset_fail`, ENA §6.5 step 6).
    pub reset_fail: u64,
    per_reason: [u64; RESET_REASON_COUNT],
}

impl ResetCounters {
    /// Count one executed reset with `reason`.
    pub fn record(&mut self, reason: ResetReason) {
        self.total_resets = self.total_resets.wrapping_add(1);
        if let Some(c) = self.per_reason.get_mut(usize::from(reason.code())) {
            *c = c.wrapping_add(1);
        }
    }

    /// Count one failed restore.
    pub fn record_failure(&mut self) {
        self.reset_fail = self.reset_fail.wrapping_add(1);
    }

    /// Resets executed with `reason`.
    pub fn count(&self, reason: ResetReason) -> u64 {
        self.per_reason
            .get(usize::from(reason.code()))
            .copied()
            .unwrap_or(0)
    }

    /// `total_resets`, `reset_fail`, then every reason that has a counter
    /// name ([`ResetReason::counter_name`]) in code order.
    pub fn for_each(&self, f: &mut dyn FnMut(&'static str, u64)) {
        f("total_resets", self.total_resets);
        f("reset_fail", self.reset_fail);
        for reason in ResetReason::ALL {
            if let Some(name) = reason.counter_name() {
                f(name, self.count(reason));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    extern crate std;
    use super::*;
    use std::vec::Vec;

    #[test]
    fn all_is_in_code_order() {
        for (i, r) in ResetReason::ALL.iter().enumerate() {
            assert_eq!(usize::from(r.code()), i);
        }
        assert_eq!(ResetReason::ALL[13], ResetReason::Generic);
    }

    #[test]
    fn first_reason_wins() {
        let t = ResetTrigger::new();
        assert_eq!(t.pending(), None);
        assert!(!t.is_pending());
        assert!(t.trigger(ResetReason::InvalidTxReqId));
        assert!(t.is_pending());
        assert!(!t.trigger(ResetReason::KeepAliveTimeout));
        assert_eq!(t.pending(), Some(ResetReason::InvalidTxReqId));
        assert_eq!(t.take(), Some(ResetReason::InvalidTxReqId));
        assert_eq!(t.take(), None);
        assert!(t.trigger(ResetReason::Normal));
        assert!(t.is_pending(), "Normal is a real reason, not the sentinel");
        assert_eq!(t.pending(), Some(ResetReason::Normal));
        t.clear();
        assert_eq!(t.pending(), None);
    }

    #[test]
    fn counters() {
        let mut c = ResetCounters::default();
        c.record(ResetReason::KeepAliveTimeout);
        c.record(ResetReason::KeepAliveTimeout);
        c.record(ResetReason::Normal);
        c.record_failure();
        assert_eq!(c.total_resets, 3);
        assert_eq!(c.count(ResetReason::KeepAliveTimeout), 2);
        let mut seen = Vec::new();
        c.for_each(&mut |n, v| seen.push((n, v)));
        assert_eq!(
            seen[..3],
            [("total_resets", 3), ("reset_fail", 1), ("wd_expired", 2)]
        );
        assert_eq!(seen.len(), 2 + 15);
    }
}
