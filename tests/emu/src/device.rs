//! What the server needs from a device model, and the ENA binding.
//!
//! [`EmuDevice`] is the seam for more models: each implements it (its
//! identity, BARs, vectors, faults and counters), and nothing else in the
//! server changes. The MANA binding is in `mana_device.rs`.

use std::fs::File;
use std::rc::Rc;

use cloudnic_models::ena::EnaCounters;
use cloudnic_models::wire::Port;
use cloudnic_models::{BufKind, Device, EnaModel, EnaModelConfig, PciIdentity, VirtualClock};

use crate::fault_desk::FaultDesk;
use crate::faults::parse_ena_fault;
use crate::memory::{GuestRam, SharedBar};
use crate::msix::MsixVectors;
use crate::pci_config::MsixLayout;

/// A device model as the vfio-user server drives it.
pub trait EmuDevice {
    /// Short kind name ("ena").
    fn kind(&self) -> &'static str;
    /// MMIO and time.
    fn model(&mut self) -> &mut dyn Device;
    /// PCI identity and BAR sizes.
    fn identity(&self) -> PciIdentity;
    /// MSI-X vectors the function has.
    fn msix_vectors(&self) -> u16;
    /// Where the MSI-X table and PBA live (a BAR the identity sizes).
    fn msix_layout(&self) -> MsixLayout {
        MsixLayout::ENA
    }
    /// A BAR backed by shared memory the guest maps directly: (BAR, memfd).
    fn direct_bar(&self) -> Option<(u8, &File)>;
    /// Plug the (first) port into a cable end.
    fn connect(&mut self, port: Port);
    /// The eventfd vectors the model raises.
    fn irq(&self) -> Rc<MsixVectors>;
    /// Function-level reset (vfio-user DEVICE_RESET): back to power-on state,
    /// still plugged into the same cable.
    fn power_on_reset(&mut self);
    /// Apply a fault described by control-protocol words.
    fn inject(&mut self, words: &[&str]) -> Result<String, String>;
    /// Disarm a fault kind.
    fn clear(&mut self, words: &[&str]) -> Result<String, String>;
    /// Faults currently armed, one per line.
    fn faults(&self) -> String;
    /// Lifetime counters as (name, value), stable names.
    fn counters(&self) -> Vec<(String, u64)>;
    /// Ledger summary.
    fn ledger(&self) -> String;
    /// Housekeeping after every access and tick (e.g. faults armed "until
    /// the next device reset").
    fn after_access(&mut self) {}
}

/// An ENA function: the `cloudnic_models` ENA model over guest RAM,
/// eventfd vectors and (when LLQ is offered) a memfd-backed BAR2.
pub struct EnaDevice {
    model: EnaModel<GuestRam>,
    cfg: EnaModelConfig,
    mem: Rc<GuestRam>,
    clock: Rc<VirtualClock>,
    irq: Rc<MsixVectors>,
    bar2: Option<Rc<SharedBar>>,
    /// Faults that end at the driver's next device reset.
    desk: FaultDesk<cloudnic_models::EnaFault>,
    /// Counters of model instances replaced by power-on resets.
    retired: EnaCounters,
}

impl EnaDevice {
    /// A powered-on ENA function.
    pub fn new(
        cfg: EnaModelConfig,
        mem: Rc<GuestRam>,
        clock: Rc<VirtualClock>,
        irq: Rc<MsixVectors>,
    ) -> std::io::Result<Self> {
        let bar2 = if cfg.bar2_size > 0 {
            Some(Rc::new(SharedBar::new("ena-bar2", cfg.bar2_size as usize)?))
        } else {
            None
        };
        let model = Self::build(&cfg, &mem, &clock, &irq, bar2.as_ref(), None);
        Ok(EnaDevice {
            model,
            cfg,
            mem,
            clock,
            irq,
            bar2,
            desk: FaultDesk::new(),
            retired: EnaCounters::default(),
        })
    }

    fn build(
        cfg: &EnaModelConfig,
        mem: &Rc<GuestRam>,
        clock: &Rc<VirtualClock>,
        irq: &Rc<MsixVectors>,
        bar2: Option<&Rc<SharedBar>>,
        port: Option<Port>,
    ) -> EnaModel<GuestRam> {
        let mut m = EnaModel::new(cfg.clone(), mem.clone(), clock.clone(), irq.clone());
        if let Some(b) = bar2 {
            // Sizes match by construction (memfd of bar2_size bytes).
            let _ = m.use_shared_bar2(b.clone());
        }
        if let Some(p) = port {
            m.connect(p);
        }
        m
    }

    /// Counters of this model instance plus those of instances replaced
    /// by power-on resets (the totals that matter for a run).
    fn total_counters(&self) -> EnaCounters {
        let mut c = self.model.counters().clone();
        add_counters(&mut c, &self.retired);
        c
    }
}

/// Add the run-level counters of `b` into `a`.
fn add_counters(a: &mut EnaCounters, b: &EnaCounters) {
    a.mmio_reads += b.mmio_reads;
    a.mmio_writes += b.mmio_writes;
    a.readless_reads += b.readless_reads;
    a.frames_tx += b.frames_tx;
    a.frames_rx += b.frames_rx;
    a.bytes_tx += b.bytes_tx;
    a.bytes_rx += b.bytes_rx;
    a.resets += b.resets;
    for (x, y) in a.irq_raised.iter_mut().zip(&b.irq_raised) {
        *x += y;
    }
}

impl EmuDevice for EnaDevice {
    fn kind(&self) -> &'static str {
        "ena"
    }
    fn model(&mut self) -> &mut dyn Device {
        &mut self.model
    }
    fn identity(&self) -> PciIdentity {
        self.cfg.pci_identity()
    }
    fn msix_vectors(&self) -> u16 {
        self.cfg.msix_vectors
    }
    fn direct_bar(&self) -> Option<(u8, &File)> {
        self.bar2
            .as_ref()
            .map(|b| (cloudnic_ena::defs::pci::MEM_BAR, b.file()))
    }
    fn connect(&mut self, port: Port) {
        self.model.connect(port);
    }
    fn irq(&self) -> Rc<MsixVectors> {
        self.irq.clone()
    }
    fn power_on_reset(&mut self) {
        let port = self.model.port().cloned();
        let old = self.model.counters().clone();
        if self.retired.irq_raised.is_empty() {
            self.retired.irq_raised = vec![0; old.irq_raised.len()];
        }
        add_counters(&mut self.retired, &old);
        self.desk.forget();
        self.model = Self::build(
            &self.cfg,
            &self.mem,
            &self.clock,
            &self.irq,
            self.bar2.as_ref(),
            port,
        );
    }
    fn inject(&mut self, words: &[&str]) -> Result<String, String> {
        let now = self.clock.now_us();
        let req = parse_ena_fault(words, now)?;
        Ok(self.desk.inject(&mut self.model, req, now))
    }
    fn clear(&mut self, words: &[&str]) -> Result<String, String> {
        FaultDesk::clear(&mut self.model, parse_ena_fault(words, 0)?)
    }
    fn faults(&self) -> String {
        FaultDesk::armed(&self.model)
    }
    fn counters(&self) -> Vec<(String, u64)> {
        let c = self.total_counters();
        let irq_total: u64 = c.irq_raised.iter().sum();
        let named: [(&str, u64); 40] = [
            ("packets", c.frames_tx + c.frames_rx),
            ("frames_tx", c.frames_tx),
            ("frames_rx", c.frames_rx),
            ("bytes_tx", c.bytes_tx),
            ("bytes_rx", c.bytes_rx),
            ("mmio_writes", c.mmio_writes),
            ("mmio_reads", c.mmio_reads),
            ("readless_reads", c.readless_reads),
            ("readless_unanswered", c.readless_unanswered),
            ("interrupts", irq_total),
            ("irq_mgmt", c.irq(0)),
            ("irq_unmasks", c.irq_unmasks),
            ("irq_masked", c.irq_masked),
            ("irq_dropped", c.irq_dropped),
            ("irq_undelivered", self.irq.undelivered()),
            (
                "doorbells",
                c.tx_doorbells + c.rx_doorbells + c.aq_doorbells + c.aenq_doorbells,
            ),
            ("tx_doorbells", c.tx_doorbells),
            ("rx_doorbells", c.rx_doorbells),
            ("aq_doorbells", c.aq_doorbells),
            ("aenq_doorbells", c.aenq_doorbells),
            ("admin_completions", c.admin_completions),
            ("admin_errors", c.admin_errors),
            ("tx_packets", c.tx_packets),
            ("tso_packets", c.tso_packets),
            ("tx_dropped", c.tx_dropped),
            ("rx_dropped", c.rx_dropped),
            ("tx_desc_errors", c.tx_desc_errors),
            ("rx_desc_errors", c.rx_desc_errors),
            ("tx_meta_mismatch", c.tx_meta_mismatch),
            ("tx_offload_unsupported", c.tx_offload_unsupported),
            ("tx_oversize", c.tx_oversize),
            ("rx_l3_csum_bad", c.rx_l3_csum_bad),
            ("rx_l4_csum_bad", c.rx_l4_csum_bad),
            ("dma_faults", c.dma_faults),
            ("unknown_writes", c.unknown_writes),
            ("resets", c.resets),
            ("aenq_dropped", c.aenq_dropped),
            ("faults_fired", c.faults_fired),
            ("link_up", u64::from(self.model.link_up())),
            ("mtu", u64::from(self.model.mtu())),
        ];
        let mut v: Vec<(String, u64)> = named.iter().map(|(k, x)| (k.to_string(), *x)).collect();
        for (g, n) in c.aenq_events.iter().enumerate() {
            v.push((format!("aenq_group{g}"), *n));
        }
        for (i, n) in c.irq_raised.iter().enumerate() {
            v.push((format!("irq_vector{i}"), *n));
        }
        v
    }
    fn ledger(&self) -> String {
        // Mid-run, buffers the device holds are "outstanding", not lost:
        // only rule violations (double completion, completion of an unknown
        // buffer, double post) mean something here.
        let l = self.model.ledger();
        let c = l.counts();
        // "outstanding" = buffers the device owns now (TX packets, RX
        // buffers); the holdings = guest addresses it still has (rings,
        // admin/AENQ, readless page): both must be 0 after a driver unload.
        let mut out = format!(
            "posted={} completed={} flushed={} outstanding={} outstanding_tx={} outstanding_rx={} violations={} {}",
            c.posted,
            c.completed,
            c.flushed,
            l.outstanding(None).len(),
            l.outstanding(Some(BufKind::Tx)).len(),
            l.outstanding(Some(BufKind::Rx)).len(),
            l.violations().len(),
            self.model.dma_holdings()
        );
        for v in l.violations().iter().take(8) {
            out.push_str(&format!("\nviolation {v:?}"));
        }
        out
    }
    fn after_access(&mut self) {
        self.desk.after_access(&mut self.model);
    }
}
