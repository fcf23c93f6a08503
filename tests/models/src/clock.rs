//! Virtual time shared by a test, its platform and its models.

use std::cell::Cell;

/// Monotonic virtual clock in microseconds; only ever moved forward explicitly.
#[derive(Debug, Default)]
pub struct VirtualClock {
    now_us: Cell<u64>,
}

impl VirtualClock {
    /// A clock at t = 0.
    pub fn new() -> Self {
        Self::default()
    }
    /// Current time.
    pub fn now_us(&self) -> u64 {
        self.now_us.get()
    }
    /// Move time forward.
    pub fn advance_us(&self, us: u64) {
        self.now_us.set(self.now_us.get().saturating_add(us));
    }
}
