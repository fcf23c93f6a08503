//! The MANA side of the fixture: [`ManaModel`]s wired to real `ManaDevice`
//! drivers through `HostPlatform`, an OS-like interrupt/poll loop over every
//! vPort, and the shared stack ([`crate::stack`]) per node. Two nodes form a
//! [`ManaPair`] ([`crate::pair::Pair`]), like ENA's `BackToBack`.

use std::cell::RefCell;
use std::rc::Rc;

use crate::platform::{HostBar, HostPlatform, LogSink, SharedDevice};
use crate::stack::{offload_for, reconcile_model_ledger, StackIo};
pub use crate::stack::{Received, TokenLedger};
use cloudnic_common::nic::{NetDevice, QueueConfig, Released, TxBurst, TxError, TxOffload};
use cloudnic_common::{Error, ResetReason};
use cloudnic_mana::netdev::PortView;
use cloudnic_mana::{ManaConfig, ManaDevice};
use cloudnic_models::mana::{ManaFault, ManaModel, ManaModelConfig};
use cloudnic_models::wire::Port;
use cloudnic_models::{Arena, InterruptSink, VirtualClock};

/// The driver type of the host tests.
pub type HostMana = ManaDevice<HostPlatform, HostBar>;

/// Options for one node.
#[derive(Clone)]
pub struct NodeOptions {
    /// Device model configuration.
    pub model: ManaModelConfig,
    /// Driver configuration (`bar_len` and `max_ports` are filled from the model).
    pub driver: ManaConfig,
    /// Queue layout every port opens with.
    pub qcfg: QueueConfig,
    /// Log prefix.
    pub name: String,
    /// Faults armed before the probe.
    pub faults: Vec<ManaFault>,
    /// Open the ports after the probe.
    pub open: bool,
}

impl NodeOptions {
    /// Defaults: the model's VF, 4 queue pairs of 256 entries, MTU 1500,
    /// shortened settle and drain times (virtual time anyway).
    pub fn new(name: &str) -> Self {
        let driver = ManaConfig {
            num_msix: 1 + 8,
            service_settle_us: 1_000_000,
            tx_drain_timeout_us: 100_000,
            fence_timeout_us: 100_000,
            ..Default::default()
        };
        NodeOptions {
            model: ManaModelConfig::default(),
            driver,
            qcfg: QueueConfig {
                num_queues: 4,
                tx_ring_size: 256,
                rx_ring_size: 256,
                mtu: 1500,
            },
            name: name.into(),
            faults: Vec::new(),
            open: true,
        }
    }
    /// Same with `fault` armed before the probe.
    pub fn with_fault(mut self, f: ManaFault) -> Self {
        self.faults.push(f);
        self
    }
    /// Receive buffer size for this MTU (one SGE per RX WQE, mana.md §6.9).
    pub fn rx_buf_size(&self) -> u32 {
        (self.qcfg.mtu + 14 + 4).next_multiple_of(4096).max(4096)
    }
    /// Guest memory the node needs with every ring slot holding a buffer.
    pub fn guest_bytes(&self) -> usize {
        let per_q = (self.qcfg.tx_ring_size + self.qcfg.rx_ring_size) as usize
            * self.rx_buf_size() as usize;
        self.model.vports.len() * usize::from(self.qcfg.num_queues) * per_q
    }
}

/// One MANA function: model + driver + the OS-side state around them.
pub struct ManaNode {
    /// The device model.
    pub model: Rc<RefCell<ManaModel>>,
    /// Interrupts the model raised.
    pub irq: Rc<InterruptSink>,
    /// The driver's platform.
    pub plat: HostPlatform,
    /// The driver (`None` after a failed probe or removal).
    pub dev: Option<HostMana>,
    /// Options it was built with.
    pub opts: NodeOptions,
    /// Frames delivered to the "stack".
    pub received: Vec<Received>,
    /// Token ledger.
    pub ledger: TokenLedger,
    /// Resets run, with their outcome.
    pub resets: Vec<(ResetReason, Result<(), Error>)>,
    /// Why the probe failed.
    pub probe_error: Option<Error>,
}

impl ManaNode {
    /// Build a model with one wire per vPort, probe the driver, open the ports.
    pub fn new(
        arena: &Rc<Arena>,
        clock: &Rc<VirtualClock>,
        wires: Vec<Port>,
        mut opts: NodeOptions,
    ) -> Self {
        let irq = Rc::new(InterruptSink::new());
        let mut m = ManaModel::new(
            opts.model.clone(),
            arena.clone(),
            clock.clone(),
            irq.clone(),
        );
        for (i, p) in wires.into_iter().enumerate() {
            m.connect_vport(i, p);
        }
        for f in opts.faults.drain(..) {
            m.inject(f);
        }
        let model = Rc::new(RefCell::new(m));
        let shared: SharedDevice = model.clone();
        let plat = HostPlatform::new(
            arena.clone(),
            clock.clone(),
            shared,
            &format!("mana 7870:00:00.0 {}", opts.name),
        );
        opts.driver.bar_len = opts.model.bar0_size;
        opts.driver.device_id = opts.model.device_id;
        opts.driver.max_ports = opts.model.vports.len() as u16;
        let mut node = ManaNode {
            model,
            irq,
            plat,
            dev: None,
            opts,
            received: Vec::new(),
            ledger: TokenLedger::default(),
            resets: Vec::new(),
            probe_error: None,
        };
        if node.probe().is_ok() && node.opts.open {
            for p in 0..node.num_ports() {
                node.open(p).expect("open port");
            }
        }
        node
    }

    /// Probe the driver (again).
    pub fn probe(&mut self) -> Result<(), Error> {
        let res = ManaDevice::probe(self.plat.clone(), self.plat.bar(0), self.opts.driver);
        self.probe_error = res.as_ref().err().copied();
        self.dev = Some(res?);
        Ok(())
    }
    /// The driver (panics if the probe failed).
    pub fn dev(&mut self) -> &mut HostMana {
        self.dev.as_mut().expect("driver probed")
    }
    /// vPort `p` as a `NetDevice`.
    pub fn nd(&mut self, p: u16) -> PortView<'_, HostPlatform, HostBar> {
        self.dev().port_view(p).expect("port exists")
    }
    /// vPorts the driver brought up.
    pub fn num_ports(&self) -> u16 {
        self.dev.as_ref().map_or(0, |d| d.num_ports())
    }
    /// The captured driver log.
    pub fn log(&self) -> &Rc<LogSink> {
        self.plat.log_sink()
    }

    /// Open port `p` with the node's queue layout and fill its rings.
    pub fn open(&mut self, p: u16) -> Result<(), Error> {
        let cfg = self.opts.qcfg;
        self.nd(p).open(cfg)?;
        self.refill_all(p);
        Ok(())
    }

    fn refill_all(&mut self, p: u16) {
        let nq = self.nd(p).queue_config().num_queues;
        for q in 0..nq {
            self.refill(p, q);
            self.nd(p).unmask_queue_interrupt(q);
        }
    }

    /// The stack's state and port `p` of the driver, borrowed together.
    fn io(&mut self, p: u16) -> (StackIo<'_>, Option<PortView<'_, HostPlatform, HostBar>>) {
        let io = StackIo {
            arena: self.plat.arena(),
            ledger: &mut self.ledger,
            received: &mut self.received,
            rx_buffer_size: self.opts.rx_buf_size(),
        };
        (io, self.dev.as_mut().and_then(|d| d.port_view(p)))
    }

    /// Fill queue `q` of port `p` with fresh receive buffers.
    pub fn refill(&mut self, p: u16, q: u16) {
        if let (mut io, Some(mut nd)) = self.io(p) {
            io.refill(&mut nd, q);
        }
    }

    /// Post `frame` on queue `q` of port `p` (see [`StackIo::send`]).
    pub fn send(
        &mut self,
        p: u16,
        q: u16,
        frame: &[u8],
        offload: bool,
        mss: u16,
        seg_len: usize,
    ) -> Result<(), TxError> {
        match self.io(p) {
            (mut io, Some(mut nd)) => io.send(&mut nd, q, frame, offload, mss, seg_len),
            (_, None) => Err(TxError::NotRunning),
        }
    }

    /// Post `frames` with their offload requests as given on queue `q` of
    /// port `p` in one burst (see [`StackIo::send_burst`]).
    pub fn send_burst(&mut self, p: u16, q: u16, frames: &[(&[u8], TxOffload)]) -> TxBurst {
        match self.io(p) {
            (mut io, Some(mut nd)) => io.send_burst(&mut nd, q, frames, 4096),
            (_, None) => TxBurst {
                posted: 0,
                stopped: Some(TxError::NotRunning),
            },
        }
    }

    /// Post `frame` on queue `q` of port `p` with the offloads Linux would
    /// ask for (checksum, TSO when `mss` is non-zero) plus insertion of the
    /// 802.1Q tag `tci` by the device.
    pub fn send_tagged(
        &mut self,
        p: u16,
        q: u16,
        frame: &[u8],
        mss: u16,
        tci: u16,
    ) -> Result<(), TxError> {
        let off = TxOffload {
            vlan_tci: Some(tci),
            ..offload_for(frame, mss)
        };
        match self.io(p) {
            (mut io, Some(mut nd)) => io.send_with(&mut nd, q, frame, off, 4096),
            (_, None) => Err(TxError::NotRunning),
        }
    }

    /// Ring the TX doorbell of queue `q` of port `p`.
    pub fn kick(&mut self, p: u16, q: u16) {
        self.nd(p).tx_kick(q);
    }

    /// Handle every pending vector once, like an ISR + NAPI; true if any fired.
    /// Vector 0 is the HWC/management EQ; queue `q` of every port shares
    /// vector `1 + q % (num_msix - 1)`.
    pub fn service_interrupts(&mut self) -> bool {
        let vectors = self.irq.drain();
        let per = self.opts.driver.num_msix.saturating_sub(1).max(1);
        for v in &vectors {
            if self.dev.is_none() {
                break;
            }
            if *v == 0 {
                self.dev().process_management();
                continue;
            }
            for p in 0..self.num_ports() {
                let nq = if self.nd(p).is_open() {
                    self.nd(p).queue_config().num_queues
                } else {
                    0
                };
                for q in (0..nq).filter(|q| 1 + q % per == *v) {
                    self.napi_poll(p, q);
                }
            }
        }
        !vectors.is_empty()
    }

    /// One NAPI poll of queue `q` of port `p`: TX, RX, refill, re-arm.
    pub fn napi_poll(&mut self, p: u16, q: u16) {
        if let (mut io, Some(mut nd)) = self.io(p) {
            io.poll(&mut nd, p, q, true);
        }
    }

    /// Take back released tokens and reconcile the model's ledger.
    fn release_all(&mut self, released: Vec<Released>) {
        let (mut io, _) = self.io(0);
        let tokens = io.release(released);
        reconcile_model_ledger(self.model.borrow_mut().ledger_mut(), &tokens);
    }

    /// The 1 s timer: health check and the reset it asks for.
    pub fn health_tick(&mut self) -> Option<ResetReason> {
        let dev = self.dev.as_mut()?;
        let reason = dev.pending_reset().or_else(|| dev.health_check())?;
        let _ = self.run_reset(reason);
        Some(reason)
    }

    /// Run a function reset and refill the reopened ports.
    pub fn run_reset(&mut self, reason: ResetReason) -> Result<(), Error> {
        let mut released = Vec::new();
        let res = self.dev().reset(reason, &mut |r| released.push(r));
        self.release_all(released);
        self.resets.push((reason, res));
        if res.is_ok() {
            for p in 0..self.num_ports() {
                if self.nd(p).is_open() {
                    self.refill_all(p);
                }
            }
        }
        res
    }

    /// Change port `p`'s queue layout; released buffers go back, the
    /// (re)opened rings are refilled.
    pub fn reconfigure(&mut self, p: u16, cfg: QueueConfig) -> Result<(), Error> {
        let mut released = Vec::new();
        let r = self.nd(p).reconfigure(cfg, &mut |x| released.push(x));
        self.release_all(released);
        if self.nd(p).is_open() {
            self.refill_all(p);
        }
        r
    }

    /// Close port `p`.
    pub fn close(&mut self, p: u16) {
        let mut released = Vec::new();
        if self.dev.is_some() {
            let _ = self.nd(p).close(&mut |r| released.push(r));
        }
        self.release_all(released);
    }

    /// Close every port, shut the function down, drop the driver.
    pub fn remove(&mut self) {
        for p in 0..self.num_ports() {
            self.close(p);
        }
        if let Some(mut d) = self.dev.take() {
            let mut released = Vec::new();
            let _ = d.shutdown(&mut |r| released.push(r));
            drop(d);
            self.release_all(released);
        }
    }

    /// Counter of port `p` by its `ethtool -S` name.
    pub fn stat(&mut self, p: u16, name: &str) -> Option<u64> {
        let mut v = None;
        self.nd(p).for_each_stat(&mut |n, x| {
            if v.is_none() && n.to_string() == name {
                v = Some(x)
            }
        });
        v
    }

    /// Take the frames received so far.
    pub fn take_received(&mut self) -> Vec<Received> {
        std::mem::take(&mut self.received)
    }
}

mod pair;
pub use pair::ManaPair;
