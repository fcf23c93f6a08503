//! The one test fixture: ENA models wired to real `EnaDevice` drivers through
//! [`HostPlatform`], an OS-like interrupt/poll loop, packet buffers in guest
//! memory, and a host-side ledger of every token handed to the driver.
//!
//! What a shim does in an OS, [`EnaNode`] does here: allocate and map packet
//! buffers, translate frames into [`TxPacket`]s (offload requests from the
//! parsed headers, as Linux derives them from an skb), run the management and
//! per-queue handlers when vectors fire, call the 1 s health check and run the
//! reset it asks for.

use std::cell::RefCell;
use std::rc::Rc;

use cloudnic_common::nic::{NetDevice, QueueConfig, Released, TxBurst, TxError, TxOffload};
use cloudnic_common::{Error, ResetReason};
use cloudnic_ena::defs::host_info::os_type;
use cloudnic_ena::device::{EnaConfig, EnaDevice};
use cloudnic_models::ena::{EnaFault, EnaModel, EnaModelConfig};
use cloudnic_models::wire::Port;
use cloudnic_models::{Arena, Device, InterruptSink, VirtualClock};

use crate::pair::{Node, Pair};
use crate::platform::{HostBar, HostPlatform, LogSink, SharedDevice};
pub use crate::stack::{offload_for, Received, TokenLedger};
use crate::stack::{reconcile_model_ledger, StackIo};

pub mod mana;

mod checks;
pub use checks::{histogram, same_frames};

/// The driver type every host test uses.
pub type HostEna = EnaDevice<HostPlatform, HostBar>;

/// Size of each RX buffer the fixture posts (a page, as Linux does).
pub const RX_BUFFER_SIZE: u32 = 4096;

/// Guest memory beyond full rings (frames in flight, rings, control
/// buffers), on top of a quarter of the rings' share.
pub const ARENA_SLACK_BYTES: usize = 8 << 20;
/// Most guest memory a [`BackToBack`] sizes for itself.
pub const ARENA_MAX_BYTES: usize = 256 << 20;

/// One ENA function: model + driver + the OS-side state around them.
pub struct EnaNode {
    /// The device model.
    pub model: Rc<RefCell<EnaModel>>,
    /// Interrupts the model raised.
    pub irq: Rc<InterruptSink>,
    /// The driver's platform.
    pub plat: HostPlatform,
    /// The driver; `None` after a failed probe or removal.
    pub dev: Option<HostEna>,
    /// Frames delivered to the "stack".
    pub received: Vec<Received>,
    /// Ledger of tokens.
    pub ledger: TokenLedger,
    /// Reset reasons executed, in order.
    pub resets: Vec<ResetReason>,
    /// Keep RX rings full after each poll.
    pub auto_refill: bool,
    /// Why the last probe failed (`None` after a successful one).
    pub probe_error: Option<Error>,
    /// Outcome of each reset run, in the order of [`EnaNode::resets`].
    pub reset_results: Vec<Result<(), Error>>,
}

/// Options for building a node.
#[derive(Clone)]
pub struct NodeOptions {
    /// Device model configuration.
    pub model: EnaModelConfig,
    /// Driver configuration.
    pub driver: EnaConfig,
    /// Log prefix.
    pub name: String,
    /// Fail the n-th DMA allocation of the probe (0 = none).
    pub fail_dma_allocation: u32,
    /// Faults armed in the model before the driver probes (feature
    /// refusals, bring-up failures).
    pub faults: Vec<EnaFault>,
}

impl NodeOptions {
    /// Defaults: a model like an EC2 VF with LLQ off (host placement), 4 queues.
    pub fn new(name: &str) -> Self {
        let model = EnaModelConfig {
            bar2_size: 0,
            ..Default::default()
        };
        let mut driver = EnaConfig::new(os_type::LINUX);
        driver.max_queues = 4;
        driver.poll_base_us = 100;
        NodeOptions {
            model,
            driver,
            name: name.into(),
            fail_dma_allocation: 0,
            faults: Vec::new(),
        }
    }

    /// Same, with `fault` armed in the model before the probe.
    pub fn with_fault(mut self, fault: EnaFault) -> Self {
        self.faults.push(fault);
        self
    }

    /// Same, with TX/RX rings of `tx`/`rx` entries (fault tests use the
    /// smallest, 256, to keep guest memory and set-up time small).
    pub fn with_rings(mut self, tx: u32, rx: u32) -> Self {
        self.driver.tx_ring_size = tx;
        self.driver.rx_ring_size = rx;
        self
    }

    /// Queue pairs the driver will open (its limit and the model's).
    fn queues(&self) -> u64 {
        u64::from(
            self.driver
                .max_queues
                .min(u16::try_from(self.model.max_queues).unwrap_or(u16::MAX))
                .max(1),
        )
    }

    /// Guest memory the node needs in steady state: every RX slot holding a
    /// buffer and every TX slot a frame of up to a buffer.
    fn guest_bytes(&self) -> u64 {
        let per_queue = u64::from(self.driver.tx_ring_size) + u64::from(self.driver.rx_ring_size);
        self.queues() * per_queue * u64::from(RX_BUFFER_SIZE)
    }
}

impl EnaNode {
    /// Build a model on `arena`/`clock`, plug it into `port` and probe the driver.
    pub fn new(arena: &Rc<Arena>, clock: &Rc<VirtualClock>, port: Port, opts: NodeOptions) -> Self {
        let irq = Rc::new(InterruptSink::new());
        let model = Rc::new(RefCell::new(
            EnaModel::new(
                opts.model.clone(),
                arena.clone(),
                clock.clone(),
                irq.clone(),
            )
            .with_port(port),
        ));
        let shared: SharedDevice = model.clone();
        let prefix = format!(
            "ena 0000:00:{:02x}.0 {}",
            4 + (opts.name.len() % 4),
            opts.name
        );
        let plat = HostPlatform::new(arena.clone(), clock.clone(), shared, &prefix);
        let mut node = EnaNode {
            model,
            irq,
            plat,
            dev: None,
            received: Vec::new(),
            ledger: TokenLedger::default(),
            resets: Vec::new(),
            auto_refill: true,
            probe_error: None,
            reset_results: Vec::new(),
        };
        for f in opts.faults {
            node.model.borrow_mut().inject(f);
        }
        if opts.fail_dma_allocation > 0 {
            node.plat.fail_dma_allocation(opts.fail_dma_allocation);
        }
        let _ = node.probe(opts.driver);
        node
    }

    /// Probe the driver (again); the error is also kept in
    /// [`EnaNode::probe_error`] and the log.
    pub fn probe(&mut self, cfg: EnaConfig) -> Result<(), Error> {
        let revision = self.model.borrow().config().pci_identity().revision;
        let bar2 = (self.model.borrow().config().bar2_size > 0).then(|| self.plat.bar(2));
        let res = EnaDevice::probe(self.plat.clone(), self.plat.bar(0), bar2, revision, cfg);
        self.probe_error = res.as_ref().err().copied();
        self.dev = Some(res?);
        Ok(())
    }

    /// The captured driver log.
    pub fn log(&self) -> &Rc<LogSink> {
        self.plat.log_sink()
    }

    /// The driver (panics in tests if probe failed).
    pub fn dev(&mut self) -> &mut HostEna {
        self.dev.as_mut().expect("driver probed")
    }

    /// Open with the driver's current queue configuration and fill RX rings.
    pub fn open(&mut self) -> Result<(), Error> {
        let cfg = self.dev().queue_config();
        self.open_with(cfg)
    }

    /// Open with `cfg` and fill RX rings.
    pub fn open_with(&mut self, cfg: QueueConfig) -> Result<(), Error> {
        self.dev().open(cfg)?;
        for q in 0..cfg.num_queues {
            self.refill(q);
            self.dev().unmask_queue_interrupt(q);
        }
        Ok(())
    }

    /// The stack's state and the driver, borrowed together.
    fn io(&mut self) -> (StackIo<'_>, Option<&mut HostEna>) {
        let io = StackIo {
            arena: self.plat.arena(),
            ledger: &mut self.ledger,
            received: &mut self.received,
            rx_buffer_size: RX_BUFFER_SIZE,
        };
        (io, self.dev.as_mut())
    }

    /// Fill queue `q`'s RX ring with fresh buffers.
    pub fn refill(&mut self, q: u16) {
        if let (mut io, Some(dev)) = self.io() {
            io.refill(dev, q);
        }
    }

    /// Transmit `frame` on queue `q` the way Linux would describe it (see
    /// [`StackIo::send`]).
    pub fn send(
        &mut self,
        q: u16,
        frame: &[u8],
        offload: bool,
        mss: u16,
        seg_len: usize,
    ) -> Result<(), TxError> {
        match self.io() {
            (mut io, Some(dev)) => io.send(dev, q, frame, offload, mss, seg_len),
            (_, None) => Err(TxError::NotRunning),
        }
    }

    /// Transmit `frame` on queue `q` with Linux's offloads (see
    /// [`StackIo::send`]) plus a request to insert the 802.1Q tag `tci`.
    pub fn send_tagged(&mut self, q: u16, frame: &[u8], mss: u16, tci: u16) -> Result<(), TxError> {
        let off = TxOffload {
            vlan_tci: Some(tci),
            ..offload_for(frame, mss)
        };
        match self.io() {
            (mut io, Some(dev)) => io.send_with(dev, q, frame, off, 4096),
            (_, None) => Err(TxError::NotRunning),
        }
    }

    /// Transmit `frames` with their offload requests as given in one burst
    /// (see [`StackIo::send_burst`]).
    pub fn send_burst(&mut self, q: u16, frames: &[(&[u8], TxOffload)]) -> TxBurst {
        match self.io() {
            (mut io, Some(dev)) => io.send_burst(dev, q, frames, 4096),
            (_, None) => TxBurst {
                posted: 0,
                stopped: Some(TxError::NotRunning),
            },
        }
    }

    /// Ring the TX doorbell of queue `q`.
    pub fn kick(&mut self, q: u16) {
        self.dev().tx_kick(q);
    }

    /// Handle every pending interrupt once, like an ISR + NAPI poll; returns
    /// true if anything was pending.
    pub fn service_interrupts(&mut self) -> bool {
        let vectors = self.irq.drain();
        let any = !vectors.is_empty();
        for v in vectors {
            if self.dev.is_none() {
                break;
            }
            if v == 0 {
                self.dev().handle_management_interrupt();
            } else {
                self.napi_poll(v - 1);
            }
        }
        any
    }

    /// One NAPI-style poll of queue pair `q`: TX completions, RX packets,
    /// refill, re-arm.
    pub fn napi_poll(&mut self, q: u16) {
        let refill = self.auto_refill;
        if let (mut io, Some(dev)) = self.io() {
            io.poll(dev, 0, q, refill);
        }
    }

    /// Take back released tokens and reconcile the model's ledger.
    fn release_all(&mut self, released: Vec<Released>) {
        let (mut io, _) = self.io();
        let tokens = io.release(released);
        reconcile_model_ledger(self.model.borrow_mut().ledger_mut(), &tokens);
    }

    /// The 1 s timer: health check, and the reset it (or an earlier
    /// validation failure) asks for. Returns the reason of a reset run.
    pub fn health_tick(&mut self) -> Option<ResetReason> {
        let dev = self.dev.as_mut()?;
        let reason = dev.pending_reset().or_else(|| dev.health_check())?;
        self.run_reset(reason);
        Some(reason)
    }

    /// Execute a reset and refill the restored rings.
    pub fn run_reset(&mut self, reason: ResetReason) {
        let _ = self.try_reset(reason);
    }

    /// Execute a reset, refill the restored rings, and return its outcome
    /// (also kept in [`EnaNode::reset_results`]).
    pub fn try_reset(&mut self, reason: ResetReason) -> Result<(), Error> {
        let mut released = Vec::new();
        let res = self.dev().reset(reason, &mut |r| released.push(r));
        self.release_all(released);
        self.resets.push(reason);
        self.reset_results.push(res);
        if res.is_ok() && self.dev().is_open() {
            for q in 0..self.dev().queue_config().num_queues {
                self.refill(q);
                self.dev().unmask_queue_interrupt(q);
            }
        }
        res
    }

    /// Close the interface and take every buffer back.
    pub fn close(&mut self) -> Result<(), Error> {
        let mut released = Vec::new();
        let res = match self.dev.as_mut() {
            Some(d) => d.close(&mut |r| released.push(r)),
            None => Ok(()),
        };
        self.release_all(released);
        res
    }

    /// Remove the driver (close, shutdown, drop) and return every buffer.
    pub fn remove(&mut self) {
        let _ = self.close();
        if let Some(mut d) = self.dev.take() {
            let mut released = Vec::new();
            d.shutdown(&mut |r| released.push(r));
            drop(d);
            self.release_all(released);
        }
    }

    /// Counter by `ethtool -S` name.
    pub fn stat(&self, name: &str) -> Option<u64> {
        let mut v = None;
        self.dev.as_ref()?.for_each_stat(&mut |n, x| {
            if v.is_none() && n.to_string() == name {
                v = Some(x)
            }
        });
        v
    }

    /// All counters as `name: value` lines, `ethtool -S` style.
    pub fn ethtool_stats(&self) -> Vec<(String, u64)> {
        let mut out = Vec::new();
        if let Some(d) = self.dev.as_ref() {
            d.for_each_stat(&mut |n, v| out.push((n.to_string(), v)));
        }
        out
    }

    /// Take the frames received so far.
    pub fn take_received(&mut self) -> Vec<Received> {
        std::mem::take(&mut self.received)
    }
}

/// Two ENA functions connected back to back, sharing guest memory and time.
pub type BackToBack = Pair<EnaNode>;

impl Pair<EnaNode> {
    /// Two default nodes, probed and opened.
    pub fn new() -> Self {
        Self::with(NodeOptions::new("eth0"), NodeOptions::new("eth1"))
    }

    /// Two default nodes with the smallest rings (256 entries, 4 queues):
    /// the quick rig for fault tests.
    pub fn small() -> Self {
        Self::with(
            NodeOptions::new("eth0").with_rings(256, 256),
            NodeOptions::new("eth1").with_rings(256, 256),
        )
    }

    /// Two nodes with the given options, probed and opened. Guest memory is
    /// sized from the options ([`BackToBack::arena_bytes`]).
    pub fn with(a: NodeOptions, b: NodeOptions) -> Self {
        let bytes = Self::arena_bytes(&a, &b);
        Self::with_arena(a, b, bytes)
    }

    /// Guest memory for two nodes: full rings on both sides, a quarter more,
    /// and [`ARENA_SLACK_BYTES`] for frames in flight and control
    /// structures, at most [`ARENA_MAX_BYTES`]. (Building the arena costs
    /// time in proportion to its size, so small rings make fast tests.)
    pub fn arena_bytes(a: &NodeOptions, b: &NodeOptions) -> usize {
        let rings = a.guest_bytes() + b.guest_bytes();
        let need = rings + rings / 4 + ARENA_SLACK_BYTES as u64;
        usize::try_from(need)
            .unwrap_or(ARENA_MAX_BYTES)
            .min(ARENA_MAX_BYTES)
    }

    /// Two nodes with the given options and `arena_bytes` of guest memory,
    /// probed and opened.
    pub fn with_arena(a: NodeOptions, b: NodeOptions, arena_bytes: usize) -> Self {
        let arena = Rc::new(Arena::new(arena_bytes));
        let clock = Rc::new(VirtualClock::new());
        let live_at_start = arena.live_allocations();
        let (pa, pb) = Port::pair();
        let mut a = EnaNode::new(&arena, &clock, pa, a);
        let mut b = EnaNode::new(&arena, &clock, pb, b);
        if a.dev.is_some() {
            a.open().expect("open a");
        }
        if b.dev.is_some() {
            b.open().expect("open b");
        }
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

    /// Send `frames` from `from` to the other side on queue `q` (with
    /// offloads), ring the doorbell, settle; returns the frames received.
    pub fn transfer(
        &mut self,
        from: char,
        q: u16,
        frames: &[Vec<u8>],
        offload: bool,
        mss: u16,
    ) -> Vec<Received> {
        for f in frames {
            self.node(from)
                .send(q, f, offload, mss, 4096)
                .expect("tx_post");
        }
        self.node(from).kick(q);
        self.settle();
        let to = if from == 'a' { 'b' } else { 'a' };
        self.node(to).take_received()
    }
}

impl Node for EnaNode {
    fn tick_model(&mut self) {
        self.model.borrow_mut().tick();
    }
    fn service_interrupts(&mut self) -> bool {
        EnaNode::service_interrupts(self)
    }
    fn health_tick(&mut self) -> Option<ResetReason> {
        EnaNode::health_tick(self)
    }
    fn take_received(&mut self) -> Vec<Received> {
        EnaNode::take_received(self)
    }
    /// Host ledger (every token back exactly once) and model ledger (no
    /// double post/completion; every buffer the device took was completed
    /// or given back by the driver).
    fn remove_and_check(&mut self, side: char) {
        self.remove();
        self.ledger.assert_clean(&format!("node {side}"));
        let m = self.model.borrow();
        assert!(
            m.ledger().violations().is_empty(),
            "model ledger violations: {:?}",
            m.ledger().violations()
        );
        if let Err(report) = m.ledger().check_clean(false) {
            panic!("model ledger of node {side}: {report}");
        }
    }
}

impl Default for Pair<EnaNode> {
    fn default() -> Self {
        Self::new()
    }
}
