//! [`EnaModel`]: a software AWS Elastic Network Adapter, faithful to the fact
//! sheet (ena.md) where drivers look: readless MMIO answered by DMA, the
//! DEV_CTL/DEV_STS reset handshake, admin queue and AENQ with phase bits and
//! free-running doorbells, keep-alive every second, IO queues in host memory
//! or LLQ device memory, meta caching, checksum offload and TSO done on the
//! real bytes, RSS by Toeplitz over the programmed key and table, and
//! per-vector MSI-X auto-masking until the unmask write.
//!
//! The model reaches memory only through [`GuestMemory`] and raises MSI-X
//! only through [`InterruptTarget`], so a vfio-user server can host the same
//! code. Wire structs come from `cloudnic_ena::defs`, the crate the driver
//! uses, so the two cannot drift apart.
//!
//! Deliberate simplifications (documented where they live): interrupt
//! moderation delays are recorded but delivery is immediate; a masked vector
//! remembers one pending event and fires on unmask; frames without a free RX
//! buffer wait in a bounded per-queue backlog; the quiescent / AQ-restart /
//! IO-resume DEV_CTL bits, completion policies 1–3 and the CQ head doorbell
//! (unpublished, ena.md §11) are accepted and ignored.

mod admin;
mod aenq;
mod config;
mod counters;
mod faults;
mod features;
mod holdings;
mod queues;
mod regs;
mod rx;
mod steer;
mod tx;

#[cfg(test)]
mod test_driver;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_faults;
#[cfg(test)]
mod tests_io;
#[cfg(test)]
mod tests_upstream;

use std::rc::Rc;

use cloudnic_ena::defs::admin::{EniStats, HwHints};
use cloudnic_ena::defs::host_info::HostInfo;
use cloudnic_ena::defs::pci::{MEM_BAR, REGISTER_BAR};

use crate::bus;
use crate::devmem::DeviceMemory;
use crate::irq::InterruptTarget;
use crate::ledger::Ledger;
use crate::mem::{Arena, GuestMemory};
use crate::wire::Port;
use crate::{Device, VirtualClock};

pub use config::{all_features, default_features, EnaModelConfig, LlqSupport, PciIdentity};
pub use counters::{DeviceStats, EnaCounters};
pub use faults::{AdminFilter, EnaFault, RxMalformation, FOREVER};
pub use holdings::DmaHoldings;
pub use queues::{CQ_HEAD_DB_BASE, INTR_REG_BASE, NUMA_REG_BASE, SQ_DB_BASE};

use admin::AdminState;
use aenq::AenqState;
use faults::FaultState;
use features::FeatureState;
use queues::IoState;
use regs::RegState;

/// The ENA device model. `M` is the guest memory it DMAs to (the in-process
/// [`Arena`] by default; any [`GuestMemory`], also `dyn`).
pub struct EnaModel<M: GuestMemory + ?Sized = Arena> {
    pub(crate) cfg: EnaModelConfig,
    pub(crate) mem: Rc<M>,
    pub(crate) clock: Rc<VirtualClock>,
    pub(crate) irq: Rc<dyn InterruptTarget>,
    pub(crate) port: Option<Port>,
    pub(crate) regs: RegState,
    pub(crate) admin: AdminState,
    pub(crate) aenq: AenqState,
    pub(crate) feat: FeatureState,
    pub(crate) io: IoState,
    pub(crate) faults: FaultState,
    pub(crate) counters: EnaCounters,
    pub(crate) stats: DeviceStats,
    pub(crate) ledger: Ledger,
    pub(crate) link_up: bool,
    pub(crate) eni_stats: EniStats,
    pub(crate) customer_metrics: [u64; 6],
    /// BAR2 memory shared with the host, if any (survives device resets).
    pub(crate) shared_bar2: Option<Rc<dyn DeviceMemory>>,
}

impl<M: GuestMemory + ?Sized> EnaModel<M> {
    /// A device fresh from power-on (DEV_STS.READY, nothing configured).
    pub fn new(
        cfg: EnaModelConfig,
        mem: Rc<M>,
        clock: Rc<VirtualClock>,
        irq: Rc<dyn InterruptTarget>,
    ) -> Self {
        let feat = FeatureState::new(&cfg);
        let io = IoState::new(&cfg, None);
        let counters = EnaCounters {
            irq_raised: vec![0; usize::from(cfg.msix_vectors)],
            ..Default::default()
        };
        EnaModel {
            mem,
            clock,
            irq,
            port: None,
            regs: RegState::default(),
            admin: AdminState::default(),
            aenq: AenqState::default(),
            feat,
            io,
            faults: FaultState::default(),
            counters,
            stats: DeviceStats::default(),
            ledger: Ledger::new(),
            link_up: true,
            eni_stats: EniStats::default(),
            customer_metrics: [0; 6],
            shared_bar2: None,
            cfg,
        }
    }

    /// Plug the device into a cable end (see [`Port::pair`] to connect two
    /// models back to back, or [`Port::loopback`]).
    pub fn connect(&mut self, port: Port) {
        self.port = Some(port);
    }

    /// Builder form of [`EnaModel::connect`].
    pub fn with_port(mut self, port: Port) -> Self {
        self.connect(port);
        self
    }

    /// Keep BAR2 (LLQ memory) in `mem` instead of the model's own buffer, so
    /// a host can map it straight into a guest (see [`crate::devmem`]).
    /// `mem` must be exactly `bar2_size` bytes; it is zeroed now and at
    /// every device reset. Call before the driver creates queues: LLQ lines
    /// already written to the old buffer are not copied.
    pub fn use_shared_bar2(&mut self, mem: Rc<dyn DeviceMemory>) -> Result<(), usize> {
        if mem.len() as u64 != self.cfg.bar2_size {
            return Err(mem.len());
        }
        self.io.bar2 = queues::Bar2Store::Shared(mem.clone());
        mem.zero();
        self.shared_bar2 = Some(mem);
        Ok(())
    }

    /// The cable end, if connected.
    pub fn port(&self) -> Option<&Port> {
        self.port.as_ref()
    }

    /// The configuration the model was built with.
    pub fn config(&self) -> &EnaModelConfig {
        &self.cfg
    }

    /// Counters so far.
    pub fn counters(&self) -> &EnaCounters {
        &self.counters
    }

    /// Device-reported statistics (cleared by reset).
    pub fn device_stats(&self) -> DeviceStats {
        self.stats
    }

    /// The buffer ledger (empty in zero-latency mode).
    pub fn ledger(&self) -> &Ledger {
        &self.ledger
    }

    /// The ledger, for tests that record returns/releases on the driver side.
    pub fn ledger_mut(&mut self) -> &mut Ledger {
        &mut self.ledger
    }

    /// Switch benchmark mode: no strict per-access checks, no ledger.
    /// (Also call `Arena::set_strict(false)` for the memory side.)
    pub fn set_zero_latency(&mut self, on: bool) {
        self.cfg.zero_latency = on;
    }

    /// Link state as the device reports it.
    pub fn link_up(&self) -> bool {
        self.link_up
    }

    /// MTU last set by the driver (or the default).
    pub fn mtu(&self) -> u32 {
        self.feat.mtu
    }

    /// The host-info page read at SET HOST_ATTR_CONFIG.
    pub fn host_info(&self) -> Option<&HostInfo> {
        self.feat.host_info.as_ref()
    }

    /// Reset reasons received via DEV_CTL, oldest first.
    pub fn reset_reasons(&self) -> &[u8] {
        &self.regs.reset_reasons
    }

    /// AENQ groups the driver enabled.
    pub fn aenq_enabled_groups(&self) -> u32 {
        self.aenq.enabled_groups
    }

    /// Interrupt moderation last programmed for `vector` as (rx, tx) delays
    /// in device resolution units. Recorded only: delivery is not delayed.
    pub fn moderation(&self, vector: u16) -> Option<(u32, u32)> {
        self.io
            .vectors
            .get(usize::from(vector))
            .map(|v| (v.rx_delay, v.tx_delay))
    }

    /// True while `vector` is auto-masked (fired, not yet unmasked).
    pub fn vector_masked(&self, vector: u16) -> bool {
        self.io
            .vectors
            .get(usize::from(vector))
            .is_some_and(|v| v.masked)
    }

    /// Values reported for GET_STATS ENI (type 2).
    pub fn set_eni_stats(&mut self, s: EniStats) {
        self.eni_stats = s;
    }

    /// Values reported for customer metrics (ids 0..5).
    pub fn set_customer_metrics(&mut self, values: [u64; 6]) {
        self.customer_metrics = values;
    }

    /// Change the HW hints reported from now on (and, if the NOTIFICATION
    /// group is enabled, announce them with an UPDATE_HINTS event).
    pub fn update_hints(&mut self, hints: HwHints) {
        self.cfg.hints = hints;
        self.post_hints_notification();
    }

    /// Apply a fault now.
    pub fn inject(&mut self, fault: EnaFault) {
        self.counters.faults_fired += 1;
        match fault {
            EnaFault::LinkDown => self.set_link(false),
            EnaFault::LinkUp => self.set_link(true),
            EnaFault::DeviceRequestReset => self.post_device_request_reset(),
            EnaFault::AenqEvent {
                group,
                syndrome,
                payload,
            } => self.post_raw_event(group, syndrome, &payload),
            other => self.faults.arm(other),
        }
    }

    /// Apply a fault when the virtual clock reaches `at_us` (checked by `tick`).
    pub fn inject_at(&mut self, at_us: u64, fault: EnaFault) {
        self.faults.scheduled.push((at_us, fault));
    }

    /// Disarm faults of the same kind as `fault` (its fields are ignored).
    /// Clearing `TxCompletionsWithheld` writes the held completions.
    pub fn clear_fault(&mut self, fault: EnaFault) {
        let gone = self.faults.clear(&fault);
        if gone
            .iter()
            .any(|f| matches!(f, EnaFault::TxCompletionsWithheld { .. }))
        {
            self.release_withheld_tx();
        }
    }

    /// Faults currently armed.
    pub fn armed_faults(&self) -> &[EnaFault] {
        &self.faults.active
    }

    pub(crate) fn now(&self) -> u64 {
        self.clock.now_us()
    }

    /// Read guest memory, counting refusals.
    pub(crate) fn dma_read(&mut self, addr: u64, buf: &mut [u8]) -> bool {
        bus::read_counted(&*self.mem, addr, buf, &mut self.counters.dma_faults)
    }

    /// Write guest memory, counting refusals.
    pub(crate) fn dma_write(&mut self, addr: u64, data: &[u8]) -> bool {
        bus::write_counted(&*self.mem, addr, data, &mut self.counters.dma_faults)
    }

    /// Deliver an MSI-X message on `vector`, honouring the lost-interrupt fault.
    pub(crate) fn deliver_msix(&mut self, vector: u16) {
        let lost = !self.faults.idle() && self.faults.interrupt_lost(vector);
        let c = &mut self.counters;
        bus::deliver_counted(
            &*self.irq,
            vector,
            lost,
            &mut c.irq_dropped,
            &mut c.irq_raised,
        );
    }

    fn run_timers(&mut self) {
        let now = self.now();
        for f in self.faults.due(now) {
            self.inject(f);
        }
        self.admin_timers(now);
        self.keep_alive_timer(now);
    }
}

impl<M: GuestMemory + ?Sized> Device for EnaModel<M> {
    fn mmio_read(&mut self, bar: u8, offset: u64, size: u8) -> u64 {
        self.counters.mmio_reads += 1;
        match bar {
            REGISTER_BAR => {
                // Readless disabled: the non-response fault shows as all-ones loads.
                if self.cfg.readless_disabled()
                    && !self.faults.idle()
                    && self.faults.readless_dropped()
                {
                    return u64::MAX >> (64 - 8 * u32::from(size.clamp(1, 8)));
                }
                let lo = u64::from(self.read_reg(offset));
                if size == 8 {
                    lo | u64::from(self.read_reg(offset + 4)) << 32
                } else {
                    lo
                }
            }
            MEM_BAR => self.io.bar2_read(offset, size),
            _ => u64::MAX,
        }
    }

    fn mmio_write(&mut self, bar: u8, offset: u64, size: u8, value: u64) {
        self.counters.mmio_writes += 1;
        match bar {
            REGISTER_BAR => {
                self.write_reg(offset, value as u32);
                if size == 8 {
                    self.write_reg(offset + 4, (value >> 32) as u32);
                }
            }
            MEM_BAR => {
                if !self.io.bar2_write(offset, size, value) {
                    self.counters.unknown_writes += 1;
                }
            }
            _ => self.counters.unknown_writes += 1,
        }
    }

    fn tick(&mut self) {
        self.run_timers();
        self.drain_wire();
    }

    fn pci_identity(&self) -> Option<PciIdentity> {
        Some(self.cfg.pci_identity())
    }
}
