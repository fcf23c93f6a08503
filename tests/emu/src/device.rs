//! What the server needs from a device model, and the ENA binding.
//!
//! [`EmuDevice`] is the seam for more models: a MANA model joins by
//! implementing it (its identity, BARs, vectors, faults and counters), and
//! nothing else in the server changes.

use std::fs::File;
use std::rc::Rc;

use cloudnic_models::ena::EnaCounters;
use cloudnic_models::wire::Port;
use cloudnic_models::{Device, EnaModel, EnaModelConfig, PciIdentity, VirtualClock};

use crate::faults::{parse_ena_fault, FaultRequest};
use crate::memory::{GuestRam, SharedBar};
use crate::msix::MsixVectors;

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
    /// A BAR backed by shared memory the guest maps directly: (BAR, memfd).
    fn direct_bar(&self) -> Option<(u8, &File)>;
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
    /// Faults to clear once the model's reset count passes the value.
    until_reset: Vec<(cloudnic_models::EnaFault, u64)>,
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
            until_reset: Vec::new(),
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

    /// Plug into a cable end.
    pub fn connect(&mut self, port: Port) {
        self.model.connect(port);
    }

    /// The model (for tests).
    pub fn ena(&mut self) -> &mut EnaModel<GuestRam> {
        &mut self.model
    }

    fn total_counters(&self) -> EnaCounters {
        let mut c = self.model.counters().clone();
        let r = &self.retired;
        c.mmio_reads += r.mmio_reads;
        c.mmio_writes += r.mmio_writes;
        c.readless_reads += r.readless_reads;
        c.frames_tx += r.frames_tx;
        c.frames_rx += r.frames_rx;
        c.resets += r.resets;
        c
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
    fn power_on_reset(&mut self) {
        let port = self.model.port().cloned();
        let old = self.model.counters().clone();
        let r = &mut self.retired;
        r.mmio_reads += old.mmio_reads;
        r.mmio_writes += old.mmio_writes;
        r.readless_reads += old.readless_reads;
        r.frames_tx += old.frames_tx;
        r.frames_rx += old.frames_rx;
        r.resets += old.resets;
        self.until_reset.clear();
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
        match parse_ena_fault(words, now)? {
            FaultRequest::Now { fault, until_reset } => {
                if until_reset {
                    let resets = self.model.counters().resets;
                    self.until_reset.push((fault.clone(), resets));
                }
                let text = format!("{fault:?}");
                self.model.inject(fault);
                Ok(text)
            }
            FaultRequest::Sequence(steps) => {
                let mut text = String::new();
                for (at, fault) in steps {
                    text.push_str(&format!("at +{}ms {fault:?}; ", at.saturating_sub(now) / 1000));
                    if at <= now {
                        self.model.inject(fault);
                    } else {
                        self.model.inject_at(at, fault);
                    }
                }
                Ok(text)
            }
        }
    }
    fn clear(&mut self, words: &[&str]) -> Result<String, String> {
        let fault = match parse_ena_fault(words, 0)? {
            FaultRequest::Now { fault, .. } => fault,
            FaultRequest::Sequence(_) => return Err("cannot clear a sequence".into()),
        };
        let text = format!("{fault:?}");
        self.model.clear_fault(fault);
        Ok(text)
    }
    fn faults(&self) -> String {
        self.model
            .armed_faults()
            .iter()
            .map(|f| format!("{f:?}"))
            .collect::<Vec<_>>()
            .join("\n")
    }
    fn counters(&self) -> Vec<(String, u64)> {
        let c = self.total_counters();
        let irq_total: u64 = c.irq_raised.iter().sum();
        let mut v: Vec<(String, u64)> = vec![
            ("packets".into(), c.frames_tx + c.frames_rx),
            ("frames_tx".into(), c.frames_tx),
            ("frames_rx".into(), c.frames_rx),
            ("bytes_tx".into(), c.bytes_tx),
            ("bytes_rx".into(), c.bytes_rx),
            ("mmio_writes".into(), c.mmio_writes),
            ("mmio_reads".into(), c.mmio_reads),
            ("readless_reads".into(), c.readless_reads),
            ("readless_unanswered".into(), c.readless_unanswered),
            ("interrupts".into(), irq_total),
            ("irq_mgmt".into(), c.irq(0)),
            ("irq_unmasks".into(), c.irq_unmasks),
            ("irq_masked".into(), c.irq_masked),
            ("irq_dropped".into(), c.irq_dropped),
            ("irq_undelivered".into(), self.irq.undelivered()),
            ("tx_doorbells".into(), c.tx_doorbells),
            ("rx_doorbells".into(), c.rx_doorbells),
            ("aq_doorbells".into(), c.aq_doorbells),
            ("aenq_doorbells".into(), c.aenq_doorbells),
            ("admin_completions".into(), c.admin_completions),
            ("admin_errors".into(), c.admin_errors),
            ("tx_packets".into(), c.tx_packets),
            ("tso_packets".into(), c.tso_packets),
            ("tx_dropped".into(), c.tx_dropped),
            ("rx_dropped".into(), c.rx_dropped),
            ("tx_desc_errors".into(), c.tx_desc_errors),
            ("rx_desc_errors".into(), c.rx_desc_errors),
            ("tx_meta_mismatch".into(), c.tx_meta_mismatch),
            ("tx_offload_unsupported".into(), c.tx_offload_unsupported),
            ("tx_oversize".into(), c.tx_oversize),
            ("rx_l3_csum_bad".into(), c.rx_l3_csum_bad),
            ("rx_l4_csum_bad".into(), c.rx_l4_csum_bad),
            ("dma_faults".into(), c.dma_faults),
            ("unknown_writes".into(), c.unknown_writes),
            ("resets".into(), c.resets),
            ("aenq_dropped".into(), c.aenq_dropped),
            ("faults_fired".into(), c.faults_fired),
            ("link_up".into(), u64::from(self.model.link_up())),
            ("mtu".into(), u64::from(self.model.mtu())),
        ];
        for (g, n) in c.aenq_events.iter().enumerate() {
            v.push((format!("aenq_group{g}"), *n));
        }
        for (i, n) in c.irq_raised.iter().enumerate() {
            v.push((format!("irq_vector{i}"), *n));
        }
        v
    }
    fn ledger(&self) -> String {
        let l = self.model.ledger();
        let c = l.counts();
        let clean = match l.check_clean(false) {
            Ok(()) => "clean".to_string(),
            Err(r) => r.to_string(),
        };
        format!(
            "posted={} completed={} flushed={} outstanding={} violations={}\n{clean}",
            c.posted,
            c.completed,
            c.flushed,
            l.outstanding(None).len(),
            l.violations().len()
        )
    }
    fn after_access(&mut self) {
        if self.until_reset.is_empty() {
            return;
        }
        let resets = self.model.counters().resets;
        let due: Vec<_> = self
            .until_reset
            .iter()
            .filter(|(_, at)| resets > *at)
            .map(|(f, _)| f.clone())
            .collect();
        if due.is_empty() {
            return;
        }
        self.until_reset.retain(|(_, at)| resets <= *at);
        for f in due {
            eprintln!("[emu] device reset seen: clearing {f:?}");
            self.model.clear_fault(f);
        }
    }
}
