//! A device-neutral command-queue engine: ENA's admin queue and MANA's
//! hardware channel both submit a command, wait for the completion that
//! carries the same id, and give up (and declare the channel dead) when the
//! device stays silent.
//!
//! The engine owns only bookkeeping: `depth` command slots with a state and a
//! stored completion, id allocation, completion matching, back-off polling,
//! timeouts and counters. Where the id and phase bit live in an entry and how
//! the doorbell is rung is the device crate's business, supplied through
//! [`CmdChannel`].
//!
//! Ownership replaces locks (design.md): the queue is taken `&mut` by one
//! control-path caller at a time. A waiter therefore reaps completions itself
//! ([`CmdQueue::wait`]); the management interrupt handler calls
//! [`CmdQueue::process_completions`] to collect completions that arrive while
//! no one waits, so both ENA modes (polling and interrupt, ena.md §3.4) map on
//! the same engine.
//!
//! Untrusted device input: a completion whose id is out of range, or names a
//! slot that is not waiting for one, is counted in `unexpected_completion`
//! and dropped — it is never copied into another command's result.

use crate::{Error, Platform};

/// State of one command slot (ena.md §3.4).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SlotState {
    /// Not in use.
    Free,
    /// Sent to the device, waiting for its completion.
    Submitted,
    /// Completion received, not yet taken by the waiter.
    Completed,
    /// Given up on (timeout or reset); a late completion is ignored.
    Aborted,
}

/// One command slot.
#[derive(Clone, Copy, Debug)]
pub struct CmdSlot<C: Copy> {
    state: SlotState,
    completion: Option<C>,
}

/// What the device crate provides: how a command is written into the
/// submission ring (with its id) and how the next completion is read off the
/// completion ring.
pub trait CmdChannel {
    /// A command as the device crate builds it (before the id is stamped).
    type Command: ?Sized;
    /// A completion entry, copied out of DMA memory.
    type Completion: Copy;

    /// Stamp `id` into `cmd`, place it in the submission ring and ring the
    /// doorbell. `Err(NoSpace)` if the ring itself is full.
    fn post(&mut self, id: u16, cmd: &Self::Command) -> Result<(), Error>;
    /// Take the next completion the device has written (phase/owner check and
    /// read barrier done by the implementation), with the raw id it carries.
    fn next_completion(&mut self) -> Option<(u16, Self::Completion)>;
}

/// Counters of the engine; ENA exports them as `ena_admin_q_*` (ena.md §7).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CmdQueueStats {
    /// Commands aborted (timeout handling or reset).
    pub aborted: u64,
    /// Commands handed to the device.
    pub submitted: u64,
    /// Completions matched to a waiting command.
    pub completed: u64,
    /// Submissions refused because every slot was busy.
    pub out_of_space: u64,
    /// Commands that timed out without a completion.
    pub no_completion: u64,
    /// Completions for an unknown or idle id (ignored).
    pub unexpected_completion: u64,
}

/// Tunables of a [`CmdQueue`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CmdQueueConfig {
    /// Slots (power of two; ENA: 32). Ids are `counter & (depth - 1)`.
    pub depth: u16,
    /// Completion timeout in microseconds (ENA default 3 s).
    pub timeout_us: u64,
    /// Back-off base in microseconds (Linux 5000, FreeBSD 100; ena.md §3.4).
    pub poll_base_us: u32,
}

/// Smallest back-off step (ena.md §3.4).
pub const POLL_MIN_DELAY_US: u32 = 100;
/// Largest back-off step (ena.md §3.4).
pub const POLL_MAX_DELAY_US: u32 = 5000;
/// Exponent cap of the back-off (ena.md §3.4).
pub const POLL_MAX_EXPONENT: u32 = 16;

/// Back-off delay for the `n`-th empty poll:
/// `min(5000, max(100, base) << min(n, 16))` µs (ena.md §3.4).
pub fn backoff_delay_us(base_us: u32, n: u32) -> u32 {
    let step = u64::from(base_us.max(POLL_MIN_DELAY_US)) << n.min(POLL_MAX_EXPONENT);
    step.min(u64::from(POLL_MAX_DELAY_US)) as u32
}

/// The command-queue engine.
pub struct CmdQueue<P: Platform, C: Copy> {
    slots: P::Table<CmdSlot<C>>,
    depth: u16,
    next_id: u16,
    outstanding: u16,
    dead: bool,
    timeout_us: u64,
    poll_base_us: u32,
    stats: CmdQueueStats,
}

impl<P: Platform, C: Copy> CmdQueue<P, C> {
    /// A queue of `cfg.depth` slots (bookkeeping from `P::alloc_table`).
    pub fn new(plat: &P, cfg: CmdQueueConfig) -> Result<Self, Error> {
        if cfg.depth == 0 || !cfg.depth.is_power_of_two() {
            return Err(Error::Unsupported);
        }
        let slots = plat.alloc_table(usize::from(cfg.depth), |_| CmdSlot {
            state: SlotState::Free,
            completion: None,
        })?;
        Ok(CmdQueue {
            slots,
            depth: cfg.depth,
            next_id: 0,
            outstanding: 0,
            dead: false,
            timeout_us: cfg.timeout_us,
            poll_base_us: cfg.poll_base_us,
            stats: CmdQueueStats::default(),
        })
    }

    /// Counters.
    pub fn stats(&self) -> CmdQueueStats {
        self.stats
    }
    /// True once a timeout (or the device crate) declared the channel dead.
    pub fn is_dead(&self) -> bool {
        self.dead
    }
    /// Declare the channel dead: every later submit fails with `ChannelDead`.
    pub fn mark_dead(&mut self) {
        self.dead = true;
    }
    /// Commands currently submitted and not yet taken.
    pub fn outstanding(&self) -> u16 {
        self.outstanding
    }
    /// Completion timeout in µs.
    pub fn timeout_us(&self) -> u64 {
        self.timeout_us
    }
    /// Change the completion timeout (device CAPS or hints).
    pub fn set_timeout_us(&mut self, us: u64) {
        self.timeout_us = us;
    }
    /// Change the back-off base.
    pub fn set_poll_base_us(&mut self, us: u32) {
        self.poll_base_us = us;
    }
    /// State of the slot for `id`, if in range.
    pub fn slot_state(&self, id: u16) -> Option<SlotState> {
        self.slots.get(usize::from(id)).map(|s| s.state)
    }

    /// Allocate an id and post `cmd` on `chan`. Returns the command id.
    pub fn submit<Ch>(&mut self, chan: &mut Ch, cmd: &Ch::Command) -> Result<u16, Error>
    where
        Ch: CmdChannel<Completion = C> + ?Sized,
    {
        if self.dead {
            return Err(Error::ChannelDead);
        }
        if self.outstanding >= self.depth {
            self.stats.out_of_space = self.stats.out_of_space.wrapping_add(1);
            return Err(Error::NoSpace);
        }
        let id = self.next_id & (self.depth - 1);
        let slot = self.slots.get_mut(usize::from(id)).ok_or(Error::NoSpace)?;
        if slot.state != SlotState::Free {
            // The slot an in-order counter points at is still busy: commands
            // completed out of order. Refuse rather than reuse an id in flight.
            self.stats.out_of_space = self.stats.out_of_space.wrapping_add(1);
            return Err(Error::NoSpace);
        }
        if let Err(e) = chan.post(id, cmd) {
            if e == Error::NoSpace {
                self.stats.out_of_space = self.stats.out_of_space.wrapping_add(1);
            }
            return Err(e);
        }
        slot.state = SlotState::Submitted;
        slot.completion = None;
        self.next_id = self.next_id.wrapping_add(1);
        self.outstanding = self.outstanding.wrapping_add(1);
        self.stats.submitted = self.stats.submitted.wrapping_add(1);
        Ok(id)
    }

    /// Record a completion carrying raw id `id`. Returns true if it matched a
    /// submitted command; anything else is counted and ignored.
    pub fn complete(&mut self, id: u16, completion: C) -> bool {
        match self.slots.get_mut(usize::from(id)) {
            Some(slot) if slot.state == SlotState::Submitted => {
                slot.state = SlotState::Completed;
                slot.completion = Some(completion);
                self.stats.completed = self.stats.completed.wrapping_add(1);
                true
            }
            Some(slot) if slot.state == SlotState::Aborted => {
                // Late answer to a command we gave up on: release the slot.
                slot.state = SlotState::Free;
                self.stats.unexpected_completion = self.stats.unexpected_completion.wrapping_add(1);
                false
            }
            _ => {
                self.stats.unexpected_completion = self.stats.unexpected_completion.wrapping_add(1);
                false
            }
        }
    }

    /// Drain every completion the device has written (interrupt handler or
    /// poll). Returns how many entries were read.
    pub fn process_completions<Ch>(&mut self, chan: &mut Ch) -> u32
    where
        Ch: CmdChannel<Completion = C> + ?Sized,
    {
        let mut n = 0u32;
        // Bounded: a device cannot keep us here by writing endlessly.
        let limit = u32::from(self.depth).saturating_mul(2);
        while n < limit {
            let Some((id, c)) = chan.next_completion() else {
                break;
            };
            self.complete(id, c);
            n = n.wrapping_add(1);
        }
        n
    }

    /// Take the completion of `id` if it has arrived (frees the slot).
    pub fn take(&mut self, id: u16) -> Option<C> {
        let slot = self.slots.get_mut(usize::from(id))?;
        if slot.state != SlotState::Completed {
            return None;
        }
        let c = slot.completion.take();
        slot.state = SlotState::Free;
        self.outstanding = self.outstanding.saturating_sub(1);
        c
    }

    /// Wait for `id`'s completion, reaping the completion ring with
    /// exponential back-off. On timeout: `no_completion`++, the command is
    /// aborted and the channel is declared dead (ena.md §3.4).
    pub fn wait<Ch>(&mut self, plat: &P, chan: &mut Ch, id: u16) -> Result<C, Error>
    where
        Ch: CmdChannel<Completion = C> + ?Sized,
    {
        let deadline = plat.now_us().saturating_add(self.timeout_us);
        let mut empty_polls = 0u32;
        loop {
            self.process_completions(chan);
            if let Some(c) = self.take(id) {
                return Ok(c);
            }
            match self.slot_state(id) {
                Some(SlotState::Submitted) => {}
                // Aborted by a reset or never submitted.
                _ => return Err(Error::ChannelDead),
            }
            if plat.now_us() >= deadline {
                self.stats.no_completion = self.stats.no_completion.wrapping_add(1);
                self.abort_one(id);
                self.dead = true;
                return Err(Error::Timeout);
            }
            plat.sleep_us(backoff_delay_us(self.poll_base_us, empty_polls));
            empty_polls = empty_polls.saturating_add(1);
        }
    }

    /// Submit and wait.
    pub fn execute<Ch>(&mut self, plat: &P, chan: &mut Ch, cmd: &Ch::Command) -> Result<C, Error>
    where
        Ch: CmdChannel<Completion = C> + ?Sized,
    {
        let id = self.submit(chan, cmd)?;
        self.wait(plat, chan, id)
    }

    fn abort_one(&mut self, id: u16) {
        if let Some(slot) = self.slots.get_mut(usize::from(id)) {
            if slot.state == SlotState::Submitted || slot.state == SlotState::Completed {
                slot.state = SlotState::Aborted;
                slot.completion = None;
                self.outstanding = self.outstanding.saturating_sub(1);
                self.stats.aborted = self.stats.aborted.wrapping_add(1);
            }
        }
    }

    /// Abort every outstanding command (reset / teardown). Returns how many.
    pub fn abort_all(&mut self) -> u32 {
        let mut n = 0u32;
        for id in 0..self.depth {
            let busy = matches!(
                self.slot_state(id),
                Some(SlotState::Submitted | SlotState::Completed)
            );
            if busy {
                self.abort_one(id);
                n = n.wrapping_add(1);
            }
        }
        n
    }

    /// Back to a fresh, running queue after the device was reset and its rings
    /// re-created: outstanding commands are aborted, every slot freed, ids
    /// restart at 0. Counters are kept.
    pub fn reset(&mut self) {
        self.abort_all();
        for slot in self.slots.iter_mut() {
            slot.state = SlotState::Free;
            slot.completion = None;
        }
        self.next_id = 0;
        self.outstanding = 0;
        self.dead = false;
    }
}

#[cfg(test)]
mod tests {
    extern crate std;
    use super::*;
    use crate::{DmaRegion, LogLevel};
    use core::cell::Cell;
    use std::boxed::Box;
    use std::collections::VecDeque;
    use std::vec::Vec;

    struct NoDma;
    impl DmaRegion for NoDma {
        fn bus_addr(&self) -> u64 {
            0
        }
        fn len(&self) -> usize {
            0
        }
        fn read32(&self, _: usize) -> u32 {
            0
        }
        fn read64(&self, _: usize) -> u64 {
            0
        }
        fn write32(&self, _: usize, _: u32) {}
        fn write64(&self, _: usize, _: u64) {}
        fn read_bytes(&self, _: usize, _: &mut [u8]) {}
        fn write_bytes(&self, _: usize, _: &[u8]) {}
    }

    #[derive(Default)]
    struct FakePlat {
        now: Cell<u64>,
        sleeps: core::cell::RefCell<Vec<u32>>,
    }
    impl Platform for FakePlat {
        type Dma = NoDma;
        type Table<T> = Box<[T]>;
        fn alloc_dma(&self, _: usize, _: usize) -> Result<NoDma, Error> {
            Err(Error::NoMemory)
        }
        fn alloc_table<T>(
            &self,
            len: usize,
            init: impl FnMut(usize) -> T,
        ) -> Result<Box<[T]>, Error> {
            Ok((0..len).map(init).collect())
        }
        fn now_us(&self) -> u64 {
            self.now.get()
        }
        fn delay_us(&self, us: u32) {
            self.now.set(self.now.get() + u64::from(us));
        }
        fn sleep_us(&self, us: u32) {
            self.sleeps.borrow_mut().push(us);
            self.now.set(self.now.get() + u64::from(us));
        }
        fn log(&self, _: LogLevel, _: core::fmt::Arguments<'_>) {}
    }

    /// Echoes each command back as its completion, optionally after a number
    /// of polls, or never.
    #[derive(Default)]
    struct FakeChan {
        ready: VecDeque<(u16, u32)>,
        pending: VecDeque<(u16, u32, u32)>,
        polls_before_answer: u32,
        silent: bool,
        posted: Vec<u16>,
    }
    impl CmdChannel for FakeChan {
        type Command = u32;
        type Completion = u32;
        fn post(&mut self, id: u16, cmd: &u32) -> Result<(), Error> {
            self.posted.push(id);
            if !self.silent {
                self.pending.push_back((id, *cmd, self.polls_before_answer));
            }
            Ok(())
        }
        fn next_completion(&mut self) -> Option<(u16, u32)> {
            if let Some(x) = self.ready.pop_front() {
                return Some(x);
            }
            let front = self.pending.front_mut()?;
            if front.2 > 0 {
                front.2 -= 1;
                return None;
            }
            let (id, c, _) = self.pending.pop_front()?;
            Some((id, c + 1000))
        }
    }

    fn cfg() -> CmdQueueConfig {
        CmdQueueConfig {
            depth: 4,
            timeout_us: 3_000_000,
            poll_base_us: 100,
        }
    }

    #[test]
    fn backoff_formula() {
        assert_eq!(backoff_delay_us(5000, 0), 5000);
        assert_eq!(backoff_delay_us(100, 0), 100);
        assert_eq!(backoff_delay_us(0, 0), 100);
        assert_eq!(backoff_delay_us(100, 3), 800);
        assert_eq!(backoff_delay_us(100, 6), 5000);
        assert_eq!(backoff_delay_us(u32::MAX, 40), 5000);
    }

    #[test]
    fn execute_and_ids_wrap() {
        let p = FakePlat::default();
        let mut q: CmdQueue<FakePlat, u32> = CmdQueue::new(&p, cfg()).unwrap();
        let mut ch = FakeChan {
            polls_before_answer: 3,
            ..Default::default()
        };
        for i in 0..10u32 {
            assert_eq!(q.execute(&p, &mut ch, &i).unwrap(), i + 1000);
        }
        assert_eq!(ch.posted, [0, 1, 2, 3, 0, 1, 2, 3, 0, 1]);
        let s = q.stats();
        assert_eq!((s.submitted, s.completed, s.no_completion), (10, 10, 0));
        // Back-off grows from the base: 100, 200, 400 per command.
        assert_eq!(&p.sleeps.borrow()[..3], &[100, 200, 400]);
    }

    #[test]
    fn unknown_and_idle_ids_ignored() {
        let p = FakePlat::default();
        let mut q: CmdQueue<FakePlat, u32> = CmdQueue::new(&p, cfg()).unwrap();
        let mut ch = FakeChan::default();
        ch.ready.push_back((77, 5)); // out of range
        ch.ready.push_back((2, 6)); // idle slot
        assert_eq!(q.execute(&p, &mut ch, &1).unwrap(), 1001);
        assert_eq!(q.stats().unexpected_completion, 2);
        assert_eq!(q.outstanding(), 0);
    }

    #[test]
    fn timeout_kills_channel_until_reset() {
        let p = FakePlat::default();
        let mut q: CmdQueue<FakePlat, u32> = CmdQueue::new(&p, cfg()).unwrap();
        let mut ch = FakeChan {
            silent: true,
            ..Default::default()
        };
        assert_eq!(q.execute(&p, &mut ch, &1), Err(Error::Timeout));
        assert!(p.now_us() >= 3_000_000);
        assert!(q.is_dead());
        assert_eq!(q.stats().no_completion, 1);
        assert_eq!(q.stats().aborted, 1);
        assert_eq!(q.execute(&p, &mut ch, &2), Err(Error::ChannelDead));
        // The late completion for the aborted slot is ignored.
        assert!(!q.complete(0, 9));
        q.reset();
        ch.silent = false;
        assert_eq!(q.execute(&p, &mut ch, &3).unwrap(), 1003);
    }

    #[test]
    fn out_of_space_and_abort_all() {
        let p = FakePlat::default();
        let mut q: CmdQueue<FakePlat, u32> = CmdQueue::new(&p, cfg()).unwrap();
        let mut ch = FakeChan {
            silent: true,
            ..Default::default()
        };
        for i in 0..4 {
            q.submit(&mut ch, &i).unwrap();
        }
        assert_eq!(q.submit(&mut ch, &9), Err(Error::NoSpace));
        assert_eq!(q.stats().out_of_space, 1);
        // A completion arriving via the interrupt path is stored until taken.
        ch.ready.push_back((1, 42));
        assert_eq!(q.process_completions(&mut ch), 1);
        assert_eq!(q.slot_state(1), Some(SlotState::Completed));
        assert_eq!(q.abort_all(), 4);
        assert_eq!(q.stats().aborted, 4);
        assert_eq!(q.wait(&p, &mut ch, 0), Err(Error::ChannelDead));
        q.reset();
        assert_eq!(q.outstanding(), 0);
        assert!(CmdQueue::<FakePlat, u32>::new(&p, CmdQueueConfig { depth: 3, ..cfg() }).is_err());
    }
}
