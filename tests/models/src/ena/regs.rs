//! BAR 0 registers (ena.md §1.2–§1.3), readless MMIO reads (§2) and the
//! reset handshake (§6.3).
//!
//! Reset timing is evaluated lazily from the virtual clock, so DEV_STS is
//! right whenever it is read, with or without `tick`: RESET_IN_PROGRESS
//! appears `reset_assert_delay_us` after the DEV_CTL reset write and clears
//! `reset_complete_delay_us` after DEV_CTL = 0. A reset forgets the readless
//! response address, the admin queues, the AENQ, every IO queue and MSI-X
//! unmask state, and the programmed features.

use cloudnic_ena::defs::admin::{FeatureId, PhcResp};
use cloudnic_ena::defs::regs::{
    dev_ctl_reset_reason, mmio_reg_read_decode, offset, DevCtl, DevSts, MmioReadResp,
    INTR_MASK_MASKED, PHC_DB_REQ_ID_MASK,
};
use zerocopy::IntoBytes;

use super::features::FeatureState;
use super::queues::{IoState, QUEUE_REGS_BASE};
use super::EnaModel;
use crate::ledger::Ledger;
use crate::mem::GuestMemory;

/// Where the reset handshake stands.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) enum ResetPhase {
    /// Not resetting.
    #[default]
    Idle,
    /// DEV_CTL reset bit written at `since`.
    Asserted { since: u64 },
    /// DEV_CTL cleared; RESET_IN_PROGRESS drops at `done_at`.
    Completing { done_at: u64 },
}

/// Register-file state.
#[derive(Debug)]
pub(crate) struct RegState {
    pub(crate) resp_lo: u32,
    pub(crate) resp_hi: u32,
    pub(crate) intr_mask: u32,
    pub(crate) reset: ResetPhase,
    pub(crate) dev_ctl: u32,
    pub(crate) reset_reasons: Vec<u8>,
    pub(crate) fatal_latched: bool,
    /// A management event happened while INTR_MASK was set.
    pub(crate) mgmt_pending: bool,
}

impl Default for RegState {
    fn default() -> Self {
        RegState {
            resp_lo: 0,
            resp_hi: 0,
            // Admin/AENQ interrupts stay masked until the driver asks for them.
            intr_mask: INTR_MASK_MASKED,
            reset: ResetPhase::Idle,
            dev_ctl: 0,
            reset_reasons: Vec::new(),
            fatal_latched: false,
            mgmt_pending: false,
        }
    }
}

impl RegState {
    pub(crate) fn resp_addr(&self) -> u64 {
        u64::from(self.resp_hi) << 32 | u64::from(self.resp_lo)
    }
}

impl<M: GuestMemory + ?Sized> EnaModel<M> {
    /// Signal the management vector (ACQ/AENQ) when INTR_MASK is 0. While
    /// masked, ACQ completions are left to the polling driver; AENQ events
    /// are remembered and signalled when the driver clears the mask.
    pub(crate) fn raise_mgmt(&mut self, aenq_event: bool) {
        if self.regs.intr_mask == 0 {
            self.deliver_msix(0);
        } else if aenq_event {
            self.regs.mgmt_pending = true;
        }
    }

    /// DEV_STS at the current virtual time.
    pub(crate) fn dev_sts(&mut self) -> u32 {
        let now = self.now();
        let in_progress = match self.regs.reset {
            ResetPhase::Idle => false,
            ResetPhase::Asserted { since } => {
                now >= since.saturating_add(self.cfg.reset_assert_delay_us)
            }
            ResetPhase::Completing { done_at } => {
                if now >= done_at {
                    self.regs.reset = ResetPhase::Idle;
                    false
                } else {
                    true
                }
            }
        };
        let mut sts = if in_progress {
            DevSts::RESET_IN_PROGRESS
        } else {
            DevSts::READY
        };
        if self.regs.fatal_latched || (!self.faults.idle() && self.faults.fatal()) {
            self.regs.fatal_latched = true;
            sts |= DevSts::FATAL_ERROR;
        }
        sts.bits()
    }

    /// A register load (direct, or on behalf of a readless request).
    pub(crate) fn read_reg(&mut self, off: u64) -> u32 {
        let Ok(off) = u32::try_from(off) else {
            return 0;
        };
        match off {
            offset::VERSION => self.cfg.version.0,
            offset::CONTROLLER_VERSION => self.cfg.controller_version.0,
            offset::CAPS => self.cfg.caps.0,
            offset::CAPS_EXT => 0,
            offset::AQ_BASE_LO => self.admin.sq_base as u32,
            offset::AQ_BASE_HI => (self.admin.sq_base >> 32) as u32,
            offset::AQ_CAPS => self.admin.sq_caps,
            offset::ACQ_BASE_LO => self.admin.cq_base as u32,
            offset::ACQ_BASE_HI => (self.admin.cq_base >> 32) as u32,
            offset::ACQ_CAPS => self.admin.cq_caps,
            offset::AENQ_CAPS => self.aenq.caps,
            offset::AENQ_BASE_LO => self.aenq.base as u32,
            offset::AENQ_BASE_HI => (self.aenq.base >> 32) as u32,
            offset::INTR_MASK => self.regs.intr_mask,
            offset::DEV_CTL => self.regs.dev_ctl,
            offset::DEV_STS => self.dev_sts(),
            offset::MMIO_RESP_LO => self.regs.resp_lo,
            offset::MMIO_RESP_HI => self.regs.resp_hi,
            _ => 0,
        }
    }

    /// A register store.
    pub(crate) fn write_reg(&mut self, off: u64, val: u32) {
        let Ok(off) = u32::try_from(off) else {
            self.counters.unknown_writes += 1;
            return;
        };
        if off >= QUEUE_REGS_BASE {
            if !self.write_queue_reg(off, val) {
                self.counters.unknown_writes += 1;
            }
            return;
        }
        match off {
            offset::AQ_BASE_LO => {
                self.admin.sq_base = (self.admin.sq_base & !0xFFFF_FFFF) | u64::from(val)
            }
            offset::AQ_BASE_HI => {
                self.admin.sq_base = (self.admin.sq_base & 0xFFFF_FFFF) | u64::from(val) << 32
            }
            offset::AQ_CAPS => self.admin.set_sq_caps(val),
            offset::ACQ_BASE_LO => {
                self.admin.cq_base = (self.admin.cq_base & !0xFFFF_FFFF) | u64::from(val)
            }
            offset::ACQ_BASE_HI => {
                self.admin.cq_base = (self.admin.cq_base & 0xFFFF_FFFF) | u64::from(val) << 32
            }
            offset::ACQ_CAPS => self.admin.set_cq_caps(val),
            offset::AQ_DB => self.admin_doorbell(val as u16),
            offset::AENQ_CAPS => self.aenq.set_caps(val),
            offset::AENQ_BASE_LO => {
                self.aenq.base = (self.aenq.base & !0xFFFF_FFFF) | u64::from(val)
            }
            offset::AENQ_BASE_HI => {
                self.aenq.base = (self.aenq.base & 0xFFFF_FFFF) | u64::from(val) << 32
            }
            offset::AENQ_HEAD_DB => self.aenq_head_doorbell(val as u16),
            offset::INTR_MASK => {
                let was_masked = self.regs.intr_mask != 0;
                self.regs.intr_mask = val;
                // Unmasking with events already written delivers them now.
                if was_masked && val == 0 && self.regs.mgmt_pending {
                    self.regs.mgmt_pending = false;
                    self.deliver_msix(0);
                }
            }
            offset::DEV_CTL => self.write_dev_ctl(val),
            offset::MMIO_REG_READ => self.readless_read(val),
            offset::MMIO_RESP_LO => self.regs.resp_lo = val,
            offset::MMIO_RESP_HI => self.regs.resp_hi = val,
            offset::RSS_IND_ENTRY_UPDATE => self.rss_single_entry_update(val),
            offset::PHC_DB => self.phc_doorbell(val),
            _ => self.counters.unknown_writes += 1,
        }
    }

    /// MMIO_REG_READ: DMA-write {req_id, offset, value} to the response
    /// buffer (ena.md §2). Unanswered when readless is disabled by the PCI
    /// revision, no response address is set, or a fault swallows it.
    fn readless_read(&mut self, val: u32) {
        let (req_id, reg_off) = mmio_reg_read_decode(val);
        let addr = self.regs.resp_addr();
        if self.cfg.readless_disabled()
            || addr == 0
            || (!self.faults.idle() && self.faults.readless_dropped())
        {
            self.counters.readless_unanswered += 1;
            return;
        }
        let resp = MmioReadResp {
            req_id,
            reg_off,
            reg_val: self.read_reg(u64::from(reg_off)),
        };
        if self.dma_write(addr, resp.as_bytes()) {
            self.counters.readless_reads += 1;
        } else {
            self.counters.readless_unanswered += 1;
        }
    }

    fn write_dev_ctl(&mut self, val: u32) {
        self.regs.dev_ctl = val;
        let ctl = DevCtl::from_bits_retain(val);
        let now = self.now();
        if ctl.contains(DevCtl::DEV_RESET) {
            if !matches!(self.regs.reset, ResetPhase::Asserted { .. }) {
                self.regs.reset_reasons.push(dev_ctl_reset_reason(val));
                self.counters.resets += 1;
                self.device_reset();
                self.regs.reset = ResetPhase::Asserted { since: now };
            }
        } else if let ResetPhase::Asserted { since } = self.regs.reset {
            let visible = since.saturating_add(self.cfg.reset_assert_delay_us);
            self.regs.reset = ResetPhase::Completing {
                done_at: now
                    .max(visible)
                    .saturating_add(self.cfg.reset_complete_delay_us),
            };
        }
        // AQ_RESTART, QUIESCENT and IO_RESUME have no published semantics
        // (ena.md §11): accepted and ignored.
    }

    /// Forget everything the driver configured (ena.md §6.3, §11).
    fn device_reset(&mut self) {
        let reasons = std::mem::take(&mut self.regs.reset_reasons);
        self.regs = RegState {
            reset_reasons: reasons,
            ..Default::default()
        };
        self.admin = Default::default();
        self.aenq = Default::default();
        // The MTU survives: upstream Linux sends SET_FEATURE MTU only from
        // ndo_change_mtu and never again after a reset (tests_upstream.rs).
        let mtu = self.feat.mtu;
        self.feat = FeatureState::new(&self.cfg);
        self.feat.mtu = mtu;
        self.io = IoState::new(&self.cfg, self.shared_bar2.clone());
        self.stats = Default::default();
        if !self.cfg.zero_latency {
            self.ledger.flush_all();
        } else {
            self.ledger = Ledger::new();
        }
        // A fatal error is cleared by the reset that recovers from it.
        self.faults.clear(&super::EnaFault::Fatal);
    }

    /// PHC doorbell (ena.md §6.4): DMA the current time (virtual µs as ns)
    /// to the output buffer set by SET_FEATURE PHC_CONFIG.
    pub(crate) fn phc_doorbell(&mut self, val: u32) {
        let (addr, len) = self.feat.phc_output;
        if !self.cfg.supports(FeatureId::PhcConfig)
            || addr == 0
            || (len as usize) < core::mem::size_of::<PhcResp>()
        {
            self.counters.unknown_writes += 1;
            return;
        }
        let resp = PhcResp {
            req_id: (val & PHC_DB_REQ_ID_MASK) as u16,
            timestamp: self.now().saturating_mul(1000),
            ..Default::default()
        };
        self.dma_write(addr, resp.as_bytes());
    }
}
