//! The mechanics every model's fault API shares: faults armed now, faults
//! scheduled for a virtual time, counted faults that retire when spent, and
//! "clear every fault of this kind". What a fault *does* stays in the
//! device's own module (`ena/faults.rs`, `mana/faults.rs`).

use std::mem::discriminant;

/// A count that never runs out.
pub const FOREVER: u32 = u32::MAX;

/// Armed faults and the script of future ones, for a fault enum `F`.
#[derive(Debug)]
pub struct FaultScript<F> {
    /// Armed now, in arming order.
    pub active: Vec<F>,
    /// (virtual time in µs, fault) to arm when the clock reaches it.
    pub scheduled: Vec<(u64, F)>,
}

impl<F> Default for FaultScript<F> {
    fn default() -> Self {
        FaultScript {
            active: Vec::new(),
            scheduled: Vec::new(),
        }
    }
}

/// Decrement a fault's count; true when it reached zero (the fault retires).
pub fn spend(count: &mut u32) -> bool {
    if *count == FOREVER {
        return false;
    }
    *count = count.saturating_sub(1);
    *count == 0
}

impl<F> FaultScript<F> {
    /// Nothing armed (the hot paths check this first).
    #[inline]
    pub fn idle(&self) -> bool {
        self.active.is_empty()
    }

    /// Arm `f` now.
    pub fn arm(&mut self, f: F) {
        self.active.push(f);
    }

    /// Arm `f` when the clock reaches `at_us`.
    pub fn schedule(&mut self, at_us: u64, f: F) {
        self.scheduled.push((at_us, f));
    }

    /// Take the scheduled faults due at `now_us`, in time order.
    pub fn due(&mut self, now_us: u64) -> Vec<F> {
        if self.scheduled.is_empty() {
            return Vec::new();
        }
        self.scheduled.sort_by_key(|(t, _)| *t);
        let n = self.scheduled.partition_point(|(t, _)| *t <= now_us);
        self.scheduled.drain(..n).map(|(_, f)| f).collect()
    }

    /// Remove armed faults of the same kind (enum variant) as `f`.
    pub fn clear(&mut self, f: &F) -> Vec<F> {
        let d = discriminant(f);
        let (gone, keep) = std::mem::take(&mut self.active)
            .into_iter()
            .partition(|a| discriminant(a) == d);
        self.active = keep;
        gone
    }

    /// Fire the first armed fault that `pick` accepts; `pick` returns the
    /// value to report and whether the fault spent its last count (then it
    /// retires).
    pub fn fire<T>(&mut self, mut pick: impl FnMut(&mut F) -> Option<(T, bool)>) -> Option<T> {
        for i in 0..self.active.len() {
            if let Some((v, retire)) = pick(&mut self.active[i]) {
                if retire {
                    self.active.remove(i);
                }
                return Some(v);
            }
        }
        None
    }
}
