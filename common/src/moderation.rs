//! Interrupt moderation: static intervals, conversion to register units,
//! and an adaptive RX moderator.
//!
//! ENA (sheet §6.6) starts with TX 64 µs and RX 20 µs; TX stays static, RX
//! may adapt (kernel DIM, event-based). Register values are "interval ÷
//! device delay resolution" and must fit the register field (ENA: 15-bit
//! fields, §5.7; MANA: ≤ 1023 µs, mana.md §6.12) — that is
//! [`DelayUnits`]. [`AdaptiveRx`] is an integer-only reimplementation of
//! DIM's decision rule over the five ENA RX profiles.

use core::num::NonZeroU32;

use crate::nic::ModerationConfig;
use crate::ConfigError;

/// ENA initial TX interval, µs (§6.6; TX is never adaptive).
pub const ENA_DEFAULT_TX_USECS: u32 = 64;
/// ENA initial RX interval, µs (§6.6).
pub const ENA_DEFAULT_RX_USECS: u32 = 20;
/// Delay resolution assumed until the device reports one (§6.6).
pub const DEFAULT_DELAY_RESOLUTION_US: u32 = 1;

/// ENA's static moderation at probe (§6.6), adaptive off until the device
/// says it supports it.
pub const ENA_DEFAULT_MODERATION: ModerationConfig = ModerationConfig {
    tx_usecs: ENA_DEFAULT_TX_USECS,
    rx_usecs: ENA_DEFAULT_RX_USECS,
    adaptive_rx: false,
};

/// How a device's moderation register counts time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DelayUnits {
    /// Never zero by construction: the divisions below have no panic path
    /// (which also keeps objtool quiet in the kernel build).
    resolution_us: NonZeroU32,
    max_units: u32,
}

impl DelayUnits {
    /// A register counting in steps of `resolution_us` (0 is replaced by
    /// [`DEFAULT_DELAY_RESOLUTION_US`], as ENA does for an illegal value)
    /// with at most `max_units` steps.
    pub fn new(resolution_us: u32, max_units: u32) -> Self {
        let resolution_us = NonZeroU32::new(resolution_us)
            .or(NonZeroU32::new(DEFAULT_DELAY_RESOLUTION_US))
            .unwrap_or(NonZeroU32::MIN);
        DelayUnits {
            resolution_us,
            max_units,
        }
    }
    /// Step size in µs (never 0).
    pub fn resolution_us(&self) -> u32 {
        self.resolution_us.get()
    }
    /// Largest interval the register can hold, in µs.
    pub fn max_usecs(&self) -> u32 {
        self.max_units.saturating_mul(self.resolution_us.get())
    }
    /// Register value for a user request; intervals above the register's
    /// range are refused (nothing is silently truncated).
    pub fn to_units(&self, usecs: u32) -> Result<u32, ConfigError> {
        if usecs > self.max_usecs() {
            return Err(ConfigError::ModerationOutOfRange {
                requested_us: usecs,
                max_us: self.max_usecs(),
            });
        }
        Ok(usecs / self.resolution_us)
    }
    /// Register value for an internally chosen interval (adaptive
    /// profiles): clamped to the register's range.
    pub fn to_units_clamped(&self, usecs: u32) -> u32 {
        (usecs / self.resolution_us).min(self.max_units)
    }
    /// Interval in µs a register value stands for.
    pub fn to_usecs(&self, units: u32) -> u32 {
        units.saturating_mul(self.resolution_us.get())
    }
    /// Check both intervals of a user configuration.
    pub fn validate(&self, cfg: &ModerationConfig) -> Result<(), ConfigError> {
        self.to_units(cfg.tx_usecs)?;
        self.to_units(cfg.rx_usecs)?;
        Ok(())
    }
}

/// RX profiles in µs, lowest latency first (ENA `net_dim.c`, §6.6).
pub const RX_PROFILES_US: [u32; 5] = [1, 8, 64, 128, 256];
/// Profile the adaptive moderator starts from (§6.6: index 1).
pub const DEFAULT_RX_PROFILE: usize = 1;
/// Samples (interrupts/polls) per measurement, as DIM's event count.
pub const SAMPLES_PER_MEASUREMENT: u32 = 64;
/// A rate change of more than this many percent is significant.
const SIGNIFICANT_PERCENT: u64 = 10;
/// After this many steps without settling, rest ("tired").
const MAX_STEPS: u8 = (RX_PROFILES_US.len() * 2) as u8;
const US_PER_MS: u64 = 1000;

/// Rates over one measurement, per millisecond.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct Rates {
    packets: u64,
    bytes: u64,
    events: u64,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Verdict {
    Better,
    Same,
    Worse,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Tune {
    /// Settled; leave when traffic changes significantly.
    ParkedOnTop,
    /// Resting after too many steps; leave after as many measurements.
    ParkedTired,
    /// Trying longer intervals.
    GoingRight,
    /// Trying shorter intervals.
    GoingLeft,
}

/// Adaptive RX moderation: a deterministic, integer-only version of DIM's
/// rule. Each measurement covers [`SAMPLES_PER_MEASUREMENT`] calls of
/// [`AdaptiveRx::sample`]; its throughput (bytes/ms, then packets/ms, then
/// fewer events/ms) is compared with the previous one: better → keep
/// stepping through [`RX_PROFILES_US`] in the same direction, otherwise
/// turn; park at an edge or when the search has found its top (one step
/// back after ≥ 2 steps the other way), and rest after too many steps.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AdaptiveRx {
    profile: usize,
    tune: Tune,
    steps_left: u8,
    steps_right: u8,
    tired: u8,
    prev: Rates,
    /// Start of the current measurement: (time, packets, bytes); None until the first sample.
    start: Option<(u64, u64, u64)>,
    samples: u32,
}

impl Default for AdaptiveRx {
    fn default() -> Self {
        Self::new()
    }
}

impl AdaptiveRx {
    /// Start at [`DEFAULT_RX_PROFILE`], going right (towards longer intervals).
    pub const fn new() -> Self {
        AdaptiveRx {
            profile: DEFAULT_RX_PROFILE,
            tune: Tune::GoingRight,
            steps_left: 0,
            steps_right: 0,
            tired: 0,
            prev: Rates {
                packets: 0,
                bytes: 0,
                events: 0,
            },
            start: None,
            samples: 0,
        }
    }

    /// Interval of the current profile, µs.
    pub fn current_usecs(&self) -> u32 {
        RX_PROFILES_US
            .get(self.profile)
            .copied()
            .unwrap_or(RX_PROFILES_US[DEFAULT_RX_PROFILE])
    }

    /// Back to the starting state (moderation re-enabled, queue re-created).
    pub fn reset(&mut self) {
        *self = Self::new();
    }

    /// Feed one sample: the time and the queue's free-running packet and
    /// byte counters (wrapping is fine). Call once per interrupt/poll.
    /// Returns the new RX interval when the profile changes.
    pub fn sample(&mut self, now_us: u64, packets: u64, bytes: u64) -> Option<u32> {
        let Some((t0, p0, b0)) = self.start else {
            self.start = Some((now_us, packets, bytes));
            self.samples = 0;
            return None;
        };
        self.samples = self.samples.saturating_add(1);
        if self.samples < SAMPLES_PER_MEASUREMENT {
            return None;
        }
        let dt = now_us.saturating_sub(t0);
        if dt == 0 {
            return None; // no time passed (or clock went back): keep measuring
        }
        let per_ms = |delta: u64| delta.saturating_mul(US_PER_MS) / dt;
        let rates = Rates {
            packets: per_ms(packets.wrapping_sub(p0)),
            bytes: per_ms(bytes.wrapping_sub(b0)),
            events: per_ms(u64::from(self.samples)),
        };
        self.start = Some((now_us, packets, bytes));
        self.samples = 0;
        if rates.packets == 0 && rates.bytes == 0 {
            // No RX traffic (TX-only interrupts): nothing to learn. DIM
            // would still wander between profiles; we keep the current one.
            return None;
        }
        let before = self.profile;
        self.decide(rates);
        (self.profile != before).then(|| self.current_usecs())
    }

    fn decide(&mut self, rates: Rates) {
        let was_parked_on_top = self.tune == Tune::ParkedOnTop;
        match self.tune {
            Tune::ParkedOnTop => {
                if compare(&rates, &self.prev) != Verdict::Same {
                    self.exit_parking();
                }
            }
            Tune::ParkedTired => {
                self.tired = self.tired.saturating_sub(1);
                if self.tired == 0 {
                    self.exit_parking();
                }
            }
            Tune::GoingRight | Tune::GoingLeft => {
                if compare(&rates, &self.prev) != Verdict::Better {
                    self.turn();
                }
                if self.on_top() {
                    self.park_on_top();
                } else {
                    self.step();
                }
            }
        }
        // While parked on top, keep the reference the park was decided on.
        if !(was_parked_on_top && self.tune == Tune::ParkedOnTop) {
            self.prev = rates;
        }
    }

    fn exit_parking(&mut self) {
        self.tune = if self.profile == 0 {
            Tune::GoingRight
        } else {
            Tune::GoingLeft
        };
        self.step();
    }

    fn turn(&mut self) {
        match self.tune {
            Tune::GoingRight => {
                self.tune = Tune::GoingLeft;
                self.steps_left = 0;
            }
            Tune::GoingLeft => {
                self.tune = Tune::GoingRight;
                self.steps_right = 0;
            }
            Tune::ParkedOnTop | Tune::ParkedTired => {}
        }
    }

    fn on_top(&self) -> bool {
        match self.tune {
            Tune::ParkedOnTop | Tune::ParkedTired => true,
            Tune::GoingRight => self.steps_left > 1 && self.steps_right == 1,
            Tune::GoingLeft => self.steps_right > 1 && self.steps_left == 1,
        }
    }

    fn park_on_top(&mut self) {
        self.steps_left = 0;
        self.steps_right = 0;
        self.tired = 0;
        self.tune = Tune::ParkedOnTop;
    }

    /// One step in the current direction; parks at an edge or when tired.
    fn step(&mut self) {
        if self.tired >= MAX_STEPS {
            self.steps_left = 0;
            self.steps_right = 0;
            self.tune = Tune::ParkedTired;
            return;
        }
        match self.tune {
            Tune::GoingRight if self.profile + 1 >= RX_PROFILES_US.len() => {
                return self.park_on_top()
            }
            Tune::GoingRight => {
                self.profile += 1;
                self.steps_right = self.steps_right.saturating_add(1);
            }
            Tune::GoingLeft if self.profile == 0 => return self.park_on_top(),
            Tune::GoingLeft => {
                self.profile -= 1;
                self.steps_left = self.steps_left.saturating_add(1);
            }
            Tune::ParkedOnTop | Tune::ParkedTired => {}
        }
        self.tired = self.tired.saturating_add(1);
    }
}

/// `|cur − prev| / prev > 10 %`, integer-only (a zero reference is never significant).
fn significant(cur: u64, prev: u64) -> bool {
    prev != 0 && cur.abs_diff(prev).saturating_mul(100) / prev > SIGNIFICANT_PERCENT
}

/// Is `cur` better than `prev`? More bytes/ms, else more packets/ms, else
/// fewer interrupts/ms.
fn compare(cur: &Rates, prev: &Rates) -> Verdict {
    let more_is_better = |c: u64, p: u64| {
        if c > p {
            Verdict::Better
        } else {
            Verdict::Worse
        }
    };
    if prev.bytes == 0 {
        return if cur.bytes != 0 {
            Verdict::Better
        } else {
            Verdict::Same
        };
    }
    if significant(cur.bytes, prev.bytes) {
        return more_is_better(cur.bytes, prev.bytes);
    }
    if prev.packets == 0 {
        return if cur.packets != 0 {
            Verdict::Better
        } else {
            Verdict::Same
        };
    }
    if significant(cur.packets, prev.packets) {
        return more_is_better(cur.packets, prev.packets);
    }
    if prev.events == 0 {
        return Verdict::Same;
    }
    if significant(cur.events, prev.events) {
        return if cur.events < prev.events {
            Verdict::Better
        } else {
            Verdict::Worse
        };
    }
    Verdict::Same
}

#[cfg(test)]
mod tests {
    extern crate std;
    use super::*;
    use std::vec::Vec;

    #[test]
    fn units_conversion_and_range() {
        let ena = DelayUnits::new(0, 0x7FFF); // 15-bit field, resolution defaulted
        assert_eq!(ena.resolution_us(), 1);
        assert_eq!(ena.to_units(64), Ok(64));
        let coarse = DelayUnits::new(4, 255);
        assert_eq!(coarse.max_usecs(), 1020);
        assert_eq!(coarse.to_units(20), Ok(5));
        assert_eq!(
            coarse.to_units(1021),
            Err(ConfigError::ModerationOutOfRange {
                requested_us: 1021,
                max_us: 1020
            })
        );
        assert_eq!(coarse.to_units_clamped(5000), 255);
        assert_eq!(coarse.to_usecs(5), 20);
        let mana = DelayUnits::new(1, 1023);
        assert!(mana.validate(&ENA_DEFAULT_MODERATION).is_ok());
        assert!(mana
            .validate(&ModerationConfig {
                tx_usecs: 2000,
                ..ENA_DEFAULT_MODERATION
            })
            .is_err());
        assert_eq!(DelayUnits::new(u32::MAX, u32::MAX).max_usecs(), u32::MAX);
    }

    /// Drive one measurement of `SAMPLES_PER_MEASUREMENT` samples over
    /// `dt_us` with `pkts`/`bytes` in total; return the last result.
    fn measure(
        d: &mut AdaptiveRx,
        t: &mut u64,
        c: &mut (u64, u64),
        dt_us: u64,
        pkts: u64,
        bytes: u64,
    ) -> Option<u32> {
        let n = u64::from(SAMPLES_PER_MEASUREMENT);
        let mut out = None;
        for i in 1..=n {
            let r = d.sample(*t + dt_us * i / n, c.0 + pkts * i / n, c.1 + bytes * i / n);
            if r.is_some() {
                out = r;
            }
        }
        *t += dt_us;
        c.0 += pkts;
        c.1 += bytes;
        out
    }

    #[test]
    fn starts_at_default_profile() {
        let d = AdaptiveRx::new();
        assert_eq!(d.current_usecs(), 8);
    }

    #[test]
    fn first_measurement_with_traffic_steps_right() {
        let mut d = AdaptiveRx::new();
        let (mut t, mut c) = (0u64, (0u64, 0u64));
        d.sample(t, 0, 0);
        assert_eq!(
            measure(&mut d, &mut t, &mut c, 1000, 1000, 1_500_000),
            Some(64)
        );
    }

    #[test]
    fn climbs_while_throughput_improves_then_parks_on_edge() {
        let mut d = AdaptiveRx::new();
        let (mut t, mut c) = (0u64, (0u64, 0u64));
        d.sample(t, 0, 0);
        let mut seen = Vec::new();
        for k in 0..4 {
            let bytes = 1_000_000u64 << k; // every step helps
            if let Some(us) = measure(&mut d, &mut t, &mut c, 1000, bytes / 1500, bytes) {
                seen.push(us);
            }
        }
        let bytes = 8_000_000;
        // The fourth better result hits the right edge: parked, no change.
        assert_eq!(seen, [64, 128, 256]);
        assert_eq!(d.current_usecs(), 256);
        // Parked: steady traffic changes nothing.
        for _ in 0..5 {
            assert_eq!(
                measure(&mut d, &mut t, &mut c, 1000, bytes / 1500, bytes),
                None
            );
        }
        // A significant traffic change leaves the park, going left.
        assert_eq!(measure(&mut d, &mut t, &mut c, 1000, 10, 15_000), Some(128));
    }

    #[test]
    fn worse_result_turns_back() {
        let mut d = AdaptiveRx::new();
        let (mut t, mut c) = (0u64, (0u64, 0u64));
        d.sample(t, 0, 0);
        assert_eq!(
            measure(&mut d, &mut t, &mut c, 1000, 1000, 1_000_000),
            Some(64)
        );
        // Throughput drops at 64 µs: go back left.
        assert_eq!(measure(&mut d, &mut t, &mut c, 1000, 500, 500_000), Some(8));
    }

    #[test]
    fn idle_and_degenerate_input_never_panic() {
        let mut d = AdaptiveRx::new();
        for i in 0..10_000u64 {
            let _ = d.sample(i / 100, u64::MAX - i, i.wrapping_mul(0x9E37_79B9_7F4A_7C15));
        }
        let _ = d.sample(0, 0, 0); // clock going backwards
        assert!(RX_PROFILES_US.contains(&d.current_usecs()));
        // No traffic: no changes at all.
        let mut idle = AdaptiveRx::new();
        let (mut t, mut c) = (0u64, (0u64, 0u64));
        idle.sample(0, 0, 0);
        for _ in 0..20 {
            assert_eq!(measure(&mut idle, &mut t, &mut c, 1000, 0, 0), None);
        }
        idle.reset();
        assert_eq!(idle, AdaptiveRx::new());
    }

    #[test]
    fn deterministic() {
        let run = || {
            let mut d = AdaptiveRx::new();
            let mut out = Vec::new();
            let mut x: u64 = 7;
            for i in 0..50_000u64 {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                out.push(d.sample(i * 10, i * (x % 4), i * (x % 6000)));
            }
            out
        };
        assert_eq!(run(), run());
    }
}
