//! [`ManaPair`]: two MANA functions back to back, vPort `i` of one wired to
//! vPort `i` of the other, sharing guest memory and virtual time; traffic
//! helpers and the per-node teardown check.

use std::rc::Rc;

use cloudnic_common::nic::{NetDevice, RxChecksum};
use cloudnic_common::ResetReason;
use cloudnic_models::net::{pattern, CsumMode, FrameBuilder};
use cloudnic_models::wire::Port;
use cloudnic_models::{Arena, Device, VirtualClock};

use super::{ManaNode, NodeOptions, Received};
use crate::pair::{Node, Pair};

/// Two MANA functions back to back: vPort `i` of one wired to vPort `i` of the other.
pub type ManaPair = Pair<ManaNode>;

impl Pair<ManaNode> {
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
        let mut t = Pair {
            arena,
            clock,
            a,
            b,
            live_at_start,
        };
        t.settle();
        t
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
}

impl Node for ManaNode {
    fn tick_model(&mut self) {
        self.model.borrow_mut().tick();
    }
    fn service_interrupts(&mut self) -> bool {
        ManaNode::service_interrupts(self)
    }
    fn health_tick(&mut self) -> Option<ResetReason> {
        ManaNode::health_tick(self)
    }
    fn take_received(&mut self) -> Vec<Received> {
        ManaNode::take_received(self)
    }
    /// Host ledger, model ledger, and the device: the driver destroyed
    /// every object itself and tore the hardware channel down.
    fn remove_and_check(&mut self, side: char) {
        let dropped = self.model.borrow().counters().objects_dropped;
        self.remove();
        self.ledger.assert_clean(&format!("node {side}"));
        let m = self.model.borrow();
        assert_eq!(
            m.counters().objects_dropped,
            dropped,
            "node {side}: the driver destroyed every object itself"
        );
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
}

impl Default for Pair<ManaNode> {
    fn default() -> Self {
        Self::new()
    }
}
