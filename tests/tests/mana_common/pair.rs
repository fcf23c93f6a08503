//! [`ManaPair`]: two MANA functions back to back, vPort `i` of one wired to
//! vPort `i` of the other, sharing guest memory and virtual time; traffic
//! helpers and the teardown check.

use std::rc::Rc;

use cloudnic_common::nic::{NetDevice, RxChecksum};
use cloudnic_common::ResetReason;
use cloudnic_models::net::{pattern, CsumMode, FrameBuilder};
use cloudnic_models::wire::Port;
use cloudnic_models::{Arena, Device, VirtualClock};

use super::{ManaNode, NodeOptions, Received};

/// Two MANA functions back to back: vPort `i` of one wired to vPort `i` of the other.
pub struct ManaPair {
    /// Guest memory.
    pub arena: Rc<Arena>,
    /// Virtual time.
    pub clock: Rc<VirtualClock>,
    /// First node.
    pub a: ManaNode,
    /// Second node.
    pub b: ManaNode,
    live_at_start: usize,
}

impl ManaPair {
    /// Two default nodes, probed and opened.
    pub fn new() -> Self {
        Self::with(NodeOptions::new("enP1s1"), NodeOptions::new("enP2s2"))
    }

    /// Two nodes with the given options (the second gets other MACs).
    pub fn with(a: NodeOptions, mut b: NodeOptions) -> Self {
        b.model = b.model.with_mac_suffix(0x81);
        let bytes = (a.guest_bytes() + b.guest_bytes()) * 5 / 4 + (16 << 20);
        let arena = Rc::new(Arena::new(bytes.min(512 << 20)));
        let clock = Rc::new(VirtualClock::new());
        let live_at_start = arena.live_allocations();
        let n = a.model.vports.len().max(b.model.vports.len());
        let (wa, wb): (Vec<Port>, Vec<Port>) = (0..n).map(|_| Port::pair()).unzip();
        let a = ManaNode::new(&arena, &clock, wa, a);
        let b = ManaNode::new(&arena, &clock, wb, b);
        let mut t = ManaPair {
            arena,
            clock,
            a,
            b,
            live_at_start,
        };
        t.settle();
        t
    }

    /// Node by side.
    pub fn node(&mut self, side: char) -> &mut ManaNode {
        if side == 'a' {
            &mut self.a
        } else {
            &mut self.b
        }
    }

    /// Run models and handlers until nothing is pending.
    pub fn settle(&mut self) {
        for _ in 0..10_000 {
            self.a.model.borrow_mut().tick();
            self.b.model.borrow_mut().tick();
            let a = self.a.service_interrupts();
            let b = self.b.service_interrupts();
            if !a && !b {
                return;
            }
        }
        panic!("interrupt storm: still busy after 10000 rounds");
    }

    /// Advance time by `us` in 1 s health ticks; returns the resets run.
    pub fn run_for(&mut self, us: u64) -> Vec<(char, ResetReason)> {
        let mut out = Vec::new();
        let mut left = us;
        while left > 0 {
            let step = left.min(1_000_000);
            self.clock.advance_us(step);
            left -= step;
            self.settle();
            for side in ['a', 'b'] {
                if let Some(r) = self.node(side).health_tick() {
                    out.push((side, r));
                }
            }
            self.settle();
        }
        out
    }

    /// Send `frames` from `from`'s port `p` queue `q`, settle, return what the other side received.
    pub fn transfer(
        &mut self,
        from: char,
        p: u16,
        q: u16,
        frames: &[Vec<u8>],
        offload: bool,
        mss: u16,
    ) -> Vec<Received> {
        for f in frames {
            self.node(from)
                .send(p, q, f, offload, mss, 4096)
                .expect("tx_post");
        }
        self.node(from).kick(p, q);
        self.settle();
        self.node(if from == 'a' { 'b' } else { 'a' })
            .take_received()
    }

    /// Distinct UDP frames from every queue of every port of `from`; all
    /// must arrive intact with a good checksum.
    pub fn assert_traffic(&mut self, from: char, per_queue: usize) {
        let to = if from == 'a' { 'b' } else { 'a' };
        self.node(to).take_received();
        for p in 0..self.node(from).num_ports() {
            let nq = self.node(from).nd(p).queue_config().num_queues;
            for q in 0..nq {
                let frames: Vec<Vec<u8>> = (0..per_queue)
                    .map(|i| {
                        FrameBuilder::udp4(
                            [10, 0, p as u8, 1],
                            [10, 0, p as u8, 2],
                            1000 + q * 100 + i as u16,
                            7000,
                        )
                        .payload(&pattern(60 + i * 13, (q as u8) ^ (i as u8)))
                        .csum(CsumMode::Full)
                        .build()
                    })
                    .collect();
                let got = self.transfer(from, p, q, &frames, false, 0);
                assert_eq!(
                    got.len(),
                    frames.len(),
                    "port {p} queue {q} from {from}: frames received"
                );
                let mut a: Vec<&Vec<u8>> = got.iter().map(|g| &g.frame).collect();
                let mut b: Vec<&Vec<u8>> = frames.iter().collect();
                a.sort();
                b.sort();
                assert_eq!(a, b, "port {p} queue {q} from {from}: frames intact");
                assert!(
                    got.iter()
                        .all(|g| g.csum == RxChecksum::Good && g.port == p),
                    "checksum verdict / port"
                );
            }
        }
    }

    /// Traffic both ways.
    pub fn assert_traffic_both_ways(&mut self, per_queue: usize) {
        self.assert_traffic('a', per_queue);
        self.assert_traffic('b', per_queue);
    }

    /// Remove both drivers and check nothing was lost, leaked or returned
    /// twice: host ledgers, model ledgers, device objects, guest memory.
    pub fn teardown_and_check(mut self) {
        for (side, n) in [('a', &mut self.a), ('b', &mut self.b)] {
            let dropped = n.model.borrow().counters().objects_dropped;
            n.remove();
            let m = n.model.borrow();
            assert_eq!(
                m.counters().objects_dropped,
                dropped,
                "node {side}: the driver destroyed every object itself"
            );
            drop(m);
            assert!(
                n.ledger.violations.is_empty(),
                "node {side} ledger violations: {:?}",
                n.ledger.violations
            );
            assert!(
                n.ledger.tx.is_empty(),
                "node {side}: TX tokens never returned: {}",
                n.ledger.tx.len()
            );
            assert!(
                n.ledger.rx.is_empty(),
                "node {side}: RX tokens never returned: {}",
                n.ledger.rx.len()
            );
            let m = n.model.borrow();
            if let Err(r) = m.ledger().check_clean(false) {
                panic!("node {side} model ledger: {r}");
            }
            assert!(
                !m.hwc_established(),
                "node {side}: HWC still established after removal"
            );
            assert_eq!(
                m.live_objects(),
                Default::default(),
                "node {side}: device objects left"
            );
        }
        assert_eq!(
            self.arena.faults(),
            0,
            "device DMA outside driver-owned memory"
        );
        assert_eq!(
            self.arena.live_allocations(),
            self.live_at_start,
            "DMA memory leaked"
        );
    }
}

impl Default for ManaPair {
    fn default() -> Self {
        Self::new()
    }
}
