//! MSI-X delivery from a model to the host side of a test.

use std::cell::RefCell;

/// Where a model delivers MSI-X messages: the in-process [`InterruptSink`]
/// for host tests, an eventfd per vector behind a future vfio-user server.
pub trait InterruptTarget {
    /// Deliver one message on `vector` (the model already applied its masking).
    fn raise(&self, vector: u16);
}

impl InterruptTarget for InterruptSink {
    fn raise(&self, vector: u16) {
        InterruptSink::raise(self, vector)
    }
}

/// Records which vectors fired; the test harness drains them and calls the
/// driver's interrupt handlers, as an OS would from its ISR.
#[derive(Debug, Default)]
pub struct InterruptSink {
    inner: RefCell<SinkState>,
}

#[derive(Debug, Default)]
struct SinkState {
    pending: Vec<bool>,
    raised: Vec<u64>,
}

impl InterruptSink {
    /// A sink with no vector pending.
    pub fn new() -> Self {
        Self::default()
    }
    /// Raise `vector` (the model already applied its own masking).
    pub fn raise(&self, vector: u16) {
        let mut s = self.inner.borrow_mut();
        let v = vector as usize;
        if s.pending.len() <= v {
            s.pending.resize(v + 1, false);
            s.raised.resize(v + 1, 0);
        }
        s.pending[v] = true;
        s.raised[v] += 1;
    }
    /// Take and clear the pending flag of `vector`.
    pub fn take(&self, vector: u16) -> bool {
        let mut s = self.inner.borrow_mut();
        match s.pending.get_mut(vector as usize) {
            Some(p) => std::mem::replace(p, false),
            None => false,
        }
    }
    /// Pending vectors, cleared.
    pub fn drain(&self) -> Vec<u16> {
        let mut s = self.inner.borrow_mut();
        let mut out = Vec::new();
        for (i, p) in s.pending.iter_mut().enumerate() {
            if std::mem::replace(p, false) {
                out.push(i as u16);
            }
        }
        out
    }
    /// How many times `vector` was raised in total.
    pub fn count(&self, vector: u16) -> u64 {
        self.inner
            .borrow()
            .raised
            .get(vector as usize)
            .copied()
            .unwrap_or(0)
    }
    /// Total interrupts raised on all vectors.
    pub fn total(&self) -> u64 {
        self.inner.borrow().raised.iter().sum()
    }
}
