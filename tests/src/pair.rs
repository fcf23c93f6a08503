//! Two device nodes cabled back to back, sharing guest memory and virtual
//! time: the rig every host test, the demo and the benchmark use, for ENA
//! and MANA alike.

use std::rc::Rc;

use cloudnic_common::health::HEALTH_PERIOD_US;
use cloudnic_common::ResetReason;
use cloudnic_models::{Arena, VirtualClock};

use crate::stack::Received;

/// What the rig needs from one node (model + driver + stack).
pub trait Node {
    /// Let the model run what is due (timers, frames from the wire).
    fn tick_model(&mut self);
    /// Handle every pending interrupt once; true if any was pending.
    fn service_interrupts(&mut self) -> bool;
    /// The 1 s timer: health check and the reset it asks for.
    fn health_tick(&mut self) -> Option<ResetReason>;
    /// Frames received so far, taken.
    fn take_received(&mut self) -> Vec<Received>;
    /// Remove the driver and assert that the node lost, leaked and
    /// double-returned nothing (host and model ledgers, device objects).
    fn remove_and_check(&mut self, side: char);
}

/// Two nodes back to back.
pub struct Pair<N> {
    /// Guest memory.
    pub arena: Rc<Arena>,
    /// Virtual time.
    pub clock: Rc<VirtualClock>,
    /// First node.
    pub a: N,
    /// Second node.
    pub b: N,
    /// Live DMA allocations before any node existed.
    pub live_at_start: usize,
}

impl<N: Node> Pair<N> {
    /// Node by side (`'a'` or `'b'`).
    pub fn node(&mut self, side: char) -> &mut N {
        if side == 'a' {
            &mut self.a
        } else {
            &mut self.b
        }
    }

    /// The side opposite `side`.
    pub fn other(side: char) -> char {
        if side == 'a' {
            'b'
        } else {
            'a'
        }
    }

    /// Run models and interrupt handlers until nothing is pending.
    pub fn settle(&mut self) {
        for _ in 0..10_000 {
            self.a.tick_model();
            self.b.tick_model();
            let a = self.a.service_interrupts();
            let b = self.b.service_interrupts();
            if !a && !b {
                return;
            }
        }
        panic!("interrupt storm: still busy after 10000 rounds");
    }

    /// Advance virtual time by `us`, stepping 1 s health ticks on both nodes
    /// and settling traffic in between; returns the resets run.
    pub fn run_for(&mut self, us: u64) -> Vec<(char, ResetReason)> {
        let mut resets = Vec::new();
        let mut left = us;
        while left > 0 {
            let step = left.min(HEALTH_PERIOD_US);
            self.clock.advance_us(step);
            left -= step;
            self.settle();
            for side in ['a', 'b'] {
                if let Some(r) = self.node(side).health_tick() {
                    resets.push((side, r));
                }
            }
            self.settle();
        }
        resets
    }

    /// Remove both drivers and check that nothing was lost, leaked or
    /// returned twice: ledgers, device state, DMA faults, guest memory.
    pub fn teardown_and_check(mut self) {
        self.a.remove_and_check('a');
        self.b.remove_and_check('b');
        assert_eq!(
            self.arena.faults(),
            0,
            "device DMA outside driver-owned memory"
        );
        assert_eq!(
            self.arena.live_allocations(),
            self.live_at_start,
            "DMA memory leaked after removal"
        );
    }
}
