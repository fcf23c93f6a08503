//! The MANA binding of [`EmuDevice`]: a `cloudnic_models::mana::ManaModel`
//! over guest RAM and eventfd vectors, presented as an Azure VF (1414:00ba).
//!
//! PCI shape: BAR0 is the model's register map, SMC window and doorbell pages
//! (32 KiB; Linux maps only BAR0, mana.md §1.2); the MSI-X table and PBA sit
//! in BAR4 ([`MsixLayout::MANA`]) so they never overlap a doorbell page. One
//! vPort per function: two functions cabled back to back give the guest two
//! netdevs on one cable, like the ENA pair.
//!
//! "until-reset" faults are cleared at the driver's next HWC teardown (SMC
//! DESTROY_HWC: the first step of mana.ko's reset cycle and of its remove
//! path, mana.md §7) or at a function-level reset.

use std::rc::Rc;

use cloudnic_models::mana::{ManaFault, ManaModel, ManaModelConfig};
use cloudnic_models::wire::Port;
use cloudnic_models::{Device, PciIdentity, VirtualClock};

use crate::device::EmuDevice;
use crate::fault_desk::FaultDesk;
use crate::mana_faults::parse_mana_fault;
use crate::memory::GuestRam;
use crate::msix::MsixVectors;
use crate::pci_config::MsixLayout;

/// Counters that describe state, not events: reported as is, never summed
/// across power-on resets.
const STATE_COUNTERS: [&str; 4] = ["link_up", "hwc_established", "registered", "live_wqs"];

/// A MANA function.
pub struct ManaDevice {
    model: ManaModel<GuestRam>,
    cfg: ManaModelConfig,
    mem: Rc<GuestRam>,
    clock: Rc<VirtualClock>,
    irq: Rc<MsixVectors>,
    /// Faults that end at the driver's next HWC teardown.
    desk: FaultDesk<ManaFault>,
    /// Event counters of model instances replaced by power-on resets.
    retired: Vec<(String, u64)>,
}

impl ManaDevice {
    /// A powered-on MANA function.
    pub fn new(
        cfg: ManaModelConfig,
        mem: Rc<GuestRam>,
        clock: Rc<VirtualClock>,
        irq: Rc<MsixVectors>,
    ) -> Self {
        let model = Self::build(&cfg, &mem, &clock, &irq, None);
        ManaDevice {
            model,
            cfg,
            mem,
            clock,
            irq,
            desk: FaultDesk::new(),
            retired: Vec::new(),
        }
    }

    fn build(
        cfg: &ManaModelConfig,
        mem: &Rc<GuestRam>,
        clock: &Rc<VirtualClock>,
        irq: &Rc<MsixVectors>,
        port: Option<Port>,
    ) -> ManaModel<GuestRam> {
        let mut m = ManaModel::new(cfg.clone(), mem.clone(), clock.clone(), irq.clone());
        if let Some(p) = port {
            m.connect(p);
        }
        m
    }

    /// This instance's counters, stable names.
    fn instance_counters(&self) -> Vec<(String, u64)> {
        let c = self.model.counters();
        let irq_total: u64 = c.irq_raised.iter().sum();
        let live = self.model.live_objects();
        let named: [(&str, u64); 49] = [
            ("packets", c.frames_tx + c.frames_rx),
            ("frames_tx", c.frames_tx),
            ("frames_rx", c.frames_rx),
            ("bytes_tx", c.bytes_tx),
            ("bytes_rx", c.bytes_rx),
            ("mmio_writes", c.mmio_writes),
            ("mmio_reads", c.mmio_reads),
            ("interrupts", irq_total),
            ("irq_hwc", c.irq(0)),
            ("irq_dropped", c.irq_dropped),
            ("irq_undelivered", self.irq.undelivered()),
            ("doorbells", c.doorbells()),
            ("tx_doorbells", c.sq_doorbells),
            ("rx_doorbells", c.rq_doorbells),
            ("cq_doorbells", c.cq_doorbells),
            ("eq_doorbells", c.eq_doorbells),
            ("dim_doorbells", c.dim_doorbells),
            ("arms", c.arms),
            ("arms_fired", c.arms_fired),
            ("arms_ignored", c.arms_ignored),
            ("bad_doorbells", c.bad_doorbells),
            ("bad_wq_tails", c.bad_wq_tails),
            ("bad_wqes", c.bad_wqes),
            ("bad_mem_keys", c.bad_mem_keys),
            ("queue_overruns", c.queue_overruns),
            ("cq_doorbell_rule_violations", c.cq_doorbell_rule_violations),
            ("eqes", c.eqes),
            ("cqes", c.cqes),
            ("hwc_requests", c.hwc_requests.values().sum()),
            ("hwc_errors", c.hwc_errors),
            ("smc_messages", c.smc_messages.values().sum()),
            ("smc_errors", c.smc_errors),
            ("hwc_destroys", c.hwc_destroys),
            ("tx_wqes", c.tx_wqes),
            ("tso_packets", c.tso_packets),
            ("tx_errors", c.tx_errors),
            ("tx_dropped", c.tx_dropped),
            ("rx_dropped", c.rx_dropped),
            ("rx_truncated", c.rx_truncated),
            ("rx_l3_csum_bad", c.rx_l3_csum_bad),
            ("rx_l4_csum_bad", c.rx_l4_csum_bad),
            ("rss_unmapped", c.rss_unmapped),
            ("coalesced_cqes", c.coalesced_cqes),
            ("fences", c.fences),
            ("dma_faults", c.dma_faults),
            ("unknown_writes", c.unknown_writes),
            ("faults_fired", c.faults_fired),
            ("link_up", u64::from(self.model.link_up())),
            ("live_wqs", live.wqs as u64),
        ];
        let mut v: Vec<(String, u64)> = named.iter().map(|(k, x)| (k.to_string(), *x)).collect();
        v.push((
            "hwc_established".into(),
            u64::from(self.model.hwc_established()),
        ));
        v.push(("registered".into(), u64::from(self.model.registered())));
        for (code, n) in &c.hwc_requests {
            v.push((format!("hwc_req_{code:#x}"), *n));
        }
        for (i, n) in c.irq_raised.iter().enumerate().filter(|(_, n)| **n > 0) {
            v.push((format!("irq_vector{i}"), *n));
        }
        v
    }
}

/// `a += b` by name for event counters (state counters keep `a`'s value).
fn add_named(a: &mut Vec<(String, u64)>, b: &[(String, u64)]) {
    for (k, x) in b {
        if STATE_COUNTERS.contains(&k.as_str()) {
            continue;
        }
        match a.iter_mut().find(|(n, _)| n == k) {
            Some((_, v)) => *v += x,
            None => a.push((k.clone(), *x)),
        }
    }
}

impl EmuDevice for ManaDevice {
    fn kind(&self) -> &'static str {
        "mana"
    }
    fn model(&mut self) -> &mut dyn Device {
        &mut self.model
    }
    fn identity(&self) -> PciIdentity {
        let mut id = self.cfg.pci_identity();
        id.bar_sizes[usize::from(MsixLayout::MANA.bar)] = MsixLayout::MANA_BAR_SIZE;
        id
    }
    fn msix_vectors(&self) -> u16 {
        self.cfg.msix_vectors
    }
    fn msix_layout(&self) -> MsixLayout {
        MsixLayout::MANA
    }
    fn direct_bar(&self) -> Option<(u8, &std::fs::File)> {
        None
    }
    fn connect(&mut self, port: Port) {
        self.model.connect(port);
    }
    fn irq(&self) -> Rc<MsixVectors> {
        self.irq.clone()
    }
    fn power_on_reset(&mut self) {
        let port = self.model.port(0).cloned();
        let old = self.instance_counters();
        add_named(&mut self.retired, &old);
        self.desk.forget();
        self.model = Self::build(&self.cfg, &self.mem, &self.clock, &self.irq, port);
    }
    fn inject(&mut self, words: &[&str]) -> Result<String, String> {
        let now = self.clock.now_us();
        let req = parse_mana_fault(words, now)?;
        Ok(self.desk.inject(&mut self.model, req, now))
    }
    fn clear(&mut self, words: &[&str]) -> Result<String, String> {
        FaultDesk::clear(&mut self.model, parse_mana_fault(words, 0)?)
    }
    fn faults(&self) -> String {
        FaultDesk::armed(&self.model)
    }
    fn counters(&self) -> Vec<(String, u64)> {
        let mut v = self.instance_counters();
        add_named(&mut v, &self.retired);
        v
    }
    fn ledger(&self) -> String {
        // Mid-run, buffers the device holds are "outstanding", not lost:
        // only rule violations mean something here.
        let l = self.model.ledger();
        let c = l.counts();
        let live = self.model.live_objects();
        let mut out = format!(
            "posted={} completed={} flushed={} outstanding={} violations={} live_eqs={} live_cqs={} live_wqs={} live_regions={}",
            c.posted,
            c.completed,
            c.flushed,
            l.outstanding(None).len(),
            l.violations().len(),
            live.eqs,
            live.cqs,
            live.wqs,
            live.regions
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
