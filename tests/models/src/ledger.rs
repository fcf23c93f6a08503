//! [`Ledger`]: every buffer a driver hands a device, followed to its end.
//!
//! A device model records what the driver *posts* (TX packets by queue and
//! request id, RX buffers by queue and bus address) and what it *completes*;
//! when a queue is destroyed or the device reset, what it still holds is
//! *flushed* (given up without a completion). The test side may record what
//! the driver *returns* to the stack after a completion and what it
//! *releases* without one (teardown). From that the ledger answers:
//! nothing completed twice, nothing posted twice while outstanding, nothing
//! lost (posted, never completed, never released), nothing leaked
//! (completed, never returned — only when returns are tracked).

use std::collections::HashMap;
use std::fmt;

/// Direction of a buffer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum BufKind {
    /// A TX packet, identified by its request id.
    Tx,
    /// An RX buffer, identified by its bus address.
    Rx,
}

/// Identity of one buffer: kind, queue, and request id (TX) or address (RX).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct BufKey {
    /// TX or RX.
    pub kind: BufKind,
    /// Queue (device SQ index for models; any stable number for tests).
    pub queue: u16,
    /// TX request id or RX bus address.
    pub id: u64,
}

/// Where a buffer is in its life.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BufState {
    /// Owned by the device.
    Posted,
    /// The device wrote its completion.
    Completed,
    /// The driver gave it back to the stack after completion.
    Returned,
    /// The device dropped it without completion (queue destroyed, reset).
    Flushed,
    /// The driver freed it without completion (teardown).
    Released,
}

/// The record of one buffer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Entry {
    /// Identity.
    pub key: BufKey,
    /// Bus address of the (first) buffer.
    pub addr: u64,
    /// Bytes posted (RX buffer size, TX packet length).
    pub len: u32,
    /// RX: request id of the descriptor; TX: first buffer's address low bits.
    pub tag: u64,
    /// Current state.
    pub state: BufState,
    /// How many times it was posted over its life.
    pub posts: u32,
}

/// A broken rule.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Violation {
    /// Posted again while the device still owned it.
    DoublePost(BufKey),
    /// Completed while not posted (or already completed).
    DoubleCompletion(BufKey),
    /// Completed but never posted.
    CompleteUnknown(BufKey),
    /// Returned without a completion.
    ReturnWithoutCompletion(BufKey),
    /// Returned twice.
    DoubleReturn(BufKey),
}

/// Totals per event.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LedgerCounts {
    /// Posts.
    pub posted: u64,
    /// Completions.
    pub completed: u64,
    /// Returns.
    pub returned: u64,
    /// Device flushes.
    pub flushed: u64,
    /// Host releases.
    pub released: u64,
}

/// The buffer ledger.
#[derive(Debug, Default)]
pub struct Ledger {
    entries: HashMap<BufKey, Entry>,
    violations: Vec<Violation>,
    counts: LedgerCounts,
}

impl Ledger {
    /// An empty ledger.
    pub fn new() -> Self {
        Self::default()
    }

    fn key(kind: BufKind, queue: u16, id: u64) -> BufKey {
        BufKey { kind, queue, id }
    }

    /// The device took ownership of a buffer.
    pub fn post(&mut self, kind: BufKind, queue: u16, id: u64, addr: u64, len: u32, tag: u64) {
        let key = Self::key(kind, queue, id);
        self.counts.posted += 1;
        let e = self.entries.entry(key).or_insert(Entry {
            key,
            addr,
            len,
            tag,
            state: BufState::Released,
            posts: 0,
        });
        if e.state == BufState::Posted {
            self.violations.push(Violation::DoublePost(key));
        }
        *e = Entry {
            key,
            addr,
            len,
            tag,
            state: BufState::Posted,
            posts: e.posts + 1,
        };
    }

    /// The device completed a buffer. Returns false (and records a
    /// violation) if it was not outstanding.
    pub fn complete(&mut self, kind: BufKind, queue: u16, id: u64) -> bool {
        let key = Self::key(kind, queue, id);
        self.counts.completed += 1;
        match self.entries.get_mut(&key) {
            Some(e) if e.state == BufState::Posted => {
                e.state = BufState::Completed;
                true
            }
            Some(_) => {
                self.violations.push(Violation::DoubleCompletion(key));
                false
            }
            None => {
                self.violations.push(Violation::CompleteUnknown(key));
                false
            }
        }
    }

    /// The driver handed a completed buffer back to its owner.
    pub fn returned(&mut self, kind: BufKind, queue: u16, id: u64) {
        let key = Self::key(kind, queue, id);
        self.counts.returned += 1;
        match self.entries.get_mut(&key) {
            Some(e) if e.state == BufState::Completed => e.state = BufState::Returned,
            Some(e) if e.state == BufState::Returned => {
                self.violations.push(Violation::DoubleReturn(key))
            }
            _ => self
                .violations
                .push(Violation::ReturnWithoutCompletion(key)),
        }
    }

    /// The device gave up everything it still owns on `queue` (destroy/reset).
    pub fn flush_queue(&mut self, kind: BufKind, queue: u16) -> usize {
        let mut n = 0;
        for e in self.entries.values_mut() {
            if e.key.kind == kind && e.key.queue == queue && e.state == BufState::Posted {
                e.state = BufState::Flushed;
                n += 1;
            }
        }
        self.counts.flushed += n as u64;
        n
    }

    /// The device gave up everything it owns on every queue (device reset).
    pub fn flush_all(&mut self) -> usize {
        let mut n = 0;
        for e in self.entries.values_mut() {
            if e.state == BufState::Posted {
                e.state = BufState::Flushed;
                n += 1;
            }
        }
        self.counts.flushed += n as u64;
        n
    }

    /// The driver freed a buffer that was never completed.
    pub fn release(&mut self, kind: BufKind, queue: u16, id: u64) {
        let key = Self::key(kind, queue, id);
        if let Some(e) = self.entries.get_mut(&key) {
            if matches!(e.state, BufState::Posted | BufState::Flushed) {
                e.state = BufState::Released;
                self.counts.released += 1;
            }
        }
    }

    /// The driver freed every uncompleted buffer of `queue`.
    pub fn release_queue(&mut self, kind: BufKind, queue: u16) {
        for e in self.entries.values_mut() {
            if e.key.kind == kind
                && e.key.queue == queue
                && matches!(e.state, BufState::Posted | BufState::Flushed)
            {
                e.state = BufState::Released;
                self.counts.released += 1;
            }
        }
    }

    /// Record of one buffer.
    pub fn get(&self, kind: BufKind, queue: u16, id: u64) -> Option<&Entry> {
        self.entries.get(&Self::key(kind, queue, id))
    }

    fn select(&self, f: impl Fn(&Entry) -> bool) -> Vec<Entry> {
        let mut v: Vec<Entry> = self.entries.values().filter(|e| f(e)).copied().collect();
        v.sort_by_key(|e| e.key);
        v
    }

    /// Buffers the device owns now (optionally of one kind).
    pub fn outstanding(&self, kind: Option<BufKind>) -> Vec<Entry> {
        self.select(|e| e.state == BufState::Posted && kind.is_none_or(|k| k == e.key.kind))
    }

    /// Buffers posted and never completed nor released by the driver
    /// (whether or not the device flushed them).
    pub fn lost(&self) -> Vec<Entry> {
        self.select(|e| matches!(e.state, BufState::Posted | BufState::Flushed))
    }

    /// Buffers completed but never returned (meaningful when the test
    /// records returns).
    pub fn unreturned(&self) -> Vec<Entry> {
        self.select(|e| e.state == BufState::Completed)
    }

    /// Rules broken so far.
    pub fn violations(&self) -> &[Violation] {
        &self.violations
    }

    /// Event totals.
    pub fn counts(&self) -> LedgerCounts {
        self.counts
    }

    /// Forget everything (between phases of a test).
    pub fn clear(&mut self) {
        *self = Self::default();
    }

    /// The teardown check: no violations, nothing lost, and (if
    /// `require_returns`) nothing left unreturned.
    pub fn check_clean(&self, require_returns: bool) -> Result<(), LedgerReport> {
        let report = LedgerReport {
            violations: self.violations.clone(),
            lost: self.lost(),
            unreturned: if require_returns {
                self.unreturned()
            } else {
                Vec::new()
            },
        };
        if report.violations.is_empty() && report.lost.is_empty() && report.unreturned.is_empty() {
            Ok(())
        } else {
            Err(report)
        }
    }
}

/// What [`Ledger::check_clean`] found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LedgerReport {
    /// Broken rules.
    pub violations: Vec<Violation>,
    /// Posted, never completed or released.
    pub lost: Vec<Entry>,
    /// Completed, never returned.
    pub unreturned: Vec<Entry>,
}

impl fmt::Display for LedgerReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} violations, {} lost, {} unreturned",
            self.violations.len(),
            self.lost.len(),
            self.unreturned.len()
        )?;
        for v in self.violations.iter().take(8) {
            write!(f, "\n  violation: {v:?}")?;
        }
        for e in self.lost.iter().take(8) {
            write!(
                f,
                "\n  lost: {:?} q{} id {:#x} ({:?})",
                e.key.kind, e.key.queue, e.key.id, e.state
            )?;
        }
        for e in self.unreturned.iter().take(8) {
            write!(
                f,
                "\n  unreturned: {:?} q{} id {:#x}",
                e.key.kind, e.key.queue, e.key.id
            )?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn life_cycle_and_checks() {
        let mut l = Ledger::new();
        l.post(BufKind::Tx, 0, 5, 0x1000, 60, 0);
        l.post(BufKind::Rx, 1, 0x2000, 0x2000, 2048, 0);
        assert_eq!(l.outstanding(None).len(), 2);
        assert!(l.complete(BufKind::Tx, 0, 5));
        assert!(
            !l.complete(BufKind::Tx, 0, 5),
            "second completion is a violation"
        );
        assert!(!l.complete(BufKind::Tx, 0, 6));
        assert_eq!(
            l.violations(),
            &[
                Violation::DoubleCompletion(BufKey {
                    kind: BufKind::Tx,
                    queue: 0,
                    id: 5
                }),
                Violation::CompleteUnknown(BufKey {
                    kind: BufKind::Tx,
                    queue: 0,
                    id: 6
                }),
            ]
        );
        assert_eq!(l.unreturned().len(), 1);
        l.returned(BufKind::Tx, 0, 5);
        assert_eq!(l.flush_queue(BufKind::Rx, 1), 1);
        assert_eq!(l.lost().len(), 1, "flushed but not released is lost");
        l.release_queue(BufKind::Rx, 1);
        assert!(l.lost().is_empty());
        let r = l.check_clean(true).unwrap_err();
        assert_eq!(r.violations.len(), 2);
        assert!(r.to_string().contains("2 violations"));
    }

    #[test]
    fn repost_after_completion_is_fine_double_post_is_not() {
        let mut l = Ledger::new();
        l.post(BufKind::Rx, 0, 0x10, 0x10, 64, 3);
        l.complete(BufKind::Rx, 0, 0x10);
        l.post(BufKind::Rx, 0, 0x10, 0x10, 64, 3);
        assert!(l.violations().is_empty());
        l.post(BufKind::Rx, 0, 0x10, 0x10, 64, 3);
        assert_eq!(l.violations().len(), 1);
        assert_eq!(l.get(BufKind::Rx, 0, 0x10).unwrap().posts, 3);
        l.release(BufKind::Rx, 0, 0x10);
        assert!(l.lost().is_empty());
        assert_eq!(l.counts().posted, 3);
    }
}
