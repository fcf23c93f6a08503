//! BAR0: the register map (VF or PF layout, mana.md §1.3), the SMC window
//! with its ownership handshake (§2), and the doorbell pages (§1.4–§1.5).
//!
//! SMC: the driver writes dwords 0–6, then the header (dword 7), which hands
//! the window to the device: the header reads back with `owner_is_pf` set
//! until the device answers by rewriting it as a response (owner clear).
//! Doorbells are 64-bit writes at `zone + page × size + register`; a
//! doorbell naming a queue of another page, or of the wrong kind, is
//! counted and ignored. The RQ doorbell's `wqe_cnt` is ignored: Linux
//! writes 0, DPDK the count, and both work on hardware (mana.md §12).

use cloudnic_mana::defs::queue::eqe_type;
use cloudnic_mana::defs::regs::{
    db_offset, offset, CqDoorbell, DimDoorbell, EqDoorbell, RegVersion, WqDoorbell,
    DB_PAGE_SIZE_MASK,
};
use cloudnic_mana::defs::smc::{
    SmcEstablishHwc, SmcHeader, SmcReportHwcTimeout, SMC_DWORDS, SMC_MSG_DESTROY_HWC,
    SMC_MSG_ESTABLISH_HWC, SMC_MSG_REPORT_HWC_TIMEOUT, SMC_WINDOW_SIZE,
};
use zerocopy::{FromBytes, IntoBytes};

use super::config::ModelLayout;
use super::queues::{arm_outcome, ArmOutcome, WqKind};
use super::ManaModel;
use crate::mem::GuestMemory;

/// How long the window stays owned after a message the device ignores
/// (longer than Linux's 20 000 × 1–2 ms poll, mana.md §2).
pub(crate) const SMC_STUCK_US: u64 = 60_000_000;
/// SMC status: message refused (the OpenVMM emulator answers 1 too).
pub(crate) const SMC_STATUS_REFUSED: u8 = 1;
/// Size the VF map reports for the SMC window (mana.md §1.3).
const SMC_SIZE_REPORTED: u32 = SMC_WINDOW_SIZE;
/// Index of the header dword in the window.
const HEADER_DWORD: usize = SMC_DWORDS - 1;

/// The SMC window and any message in progress.
#[derive(Debug, Default)]
pub(crate) struct SmcState {
    pub window: [u32; SMC_DWORDS],
    /// A message being "processed": answered at this time (None = idle).
    pub due: Option<(u64, SmcHeader, bool)>,
    /// Flags dword of the last REPORT_HWC_TIMEOUT.
    pub last_report: Option<u32>,
}

impl<M: GuestMemory + ?Sized> ManaModel<M> {
    fn lo_hi(v: u64, rel: u64) -> u32 {
        if rel == 0 {
            v as u32
        } else {
            (v >> 32) as u32
        }
    }

    /// A 32-bit register load.
    pub(crate) fn read_reg(&mut self, off: u64) -> u32 {
        let smc = self.cfg.smc_offset();
        if (smc..smc + u64::from(SMC_WINDOW_SIZE)).contains(&off) {
            let i = ((off - smc) / 4) as usize;
            return self.smc.window.get(i).copied().unwrap_or(0);
        }
        let (maj, min, mic) = self.cfg.version;
        if off == u64::from(offset::VERSION) {
            return RegVersion::new(maj, min, mic).0;
        }
        let db_size = self.cfg.db_page_size & DB_PAGE_SIZE_MASK;
        match self.cfg.layout {
            ModelLayout::Vf { smc_offset } => match off {
                o if o & !4 == u64::from(offset::DB_PAGE_OFFSET) => {
                    Self::lo_hi(self.cfg.db_page_offset, o & 4)
                }
                o if o == u64::from(offset::DB_PAGE_SIZE) => db_size,
                o if o & !4 == u64::from(offset::SHM_OFFSET) => Self::lo_hi(smc_offset, o & 4),
                o if o == u64::from(offset::SHM_SIZE) => SMC_SIZE_REPORTED,
                _ => 0,
            },
            ModelLayout::Pf {
                sriov_base,
                smc_rel,
            } => match off {
                o if o & !4 == u64::from(offset::PF_DB_PAGE_OFFSET) => {
                    Self::lo_hi(self.cfg.db_page_offset, o & 4)
                }
                o if o == u64::from(offset::PF_DB_PAGE_SIZE) => db_size,
                o if o & !4 == u64::from(offset::PF_SRIOV_BASE) => Self::lo_hi(sriov_base, o & 4),
                o if o & !4 == sriov_base + u64::from(offset::PF_SRIOV_SHM_OFFSET) => {
                    Self::lo_hi(smc_rel, o & 4)
                }
                _ => 0,
            },
        }
    }

    /// A register store: SMC window dwords, or a doorbell.
    pub(crate) fn write_reg(&mut self, off: u64, size: u8, value: u64) {
        let smc = self.cfg.smc_offset();
        if (smc..smc + u64::from(SMC_WINDOW_SIZE)).contains(&off) && size == 4 {
            let i = ((off - smc) / 4) as usize;
            if self.smc.due.is_some() {
                // The device owns the window: the driver must wait (mana.md §2).
                self.counters.unknown_writes += 1;
                return;
            }
            if let Some(w) = self.smc.window.get_mut(i) {
                *w = value as u32;
            }
            if i == HEADER_DWORD {
                self.smc_header_written(SmcHeader(value as u32));
            }
            return;
        }
        let zone = self.cfg.db_page_offset;
        let page_size = u64::from(self.cfg.db_page_size.max(1));
        if off >= zone && off < self.cfg.bar0_size && size == 8 {
            let page = u32::try_from((off - zone) / page_size).unwrap_or(u32::MAX);
            let reg = ((off - zone) % page_size) as u32;
            self.doorbell(page, reg, value);
            return;
        }
        self.counters.unknown_writes += 1;
    }

    fn smc_header_written(&mut self, req: SmcHeader) {
        *self
            .counters
            .smc_messages
            .entry(req.msg_type())
            .or_insert(0) += 1;
        self.smc.window[HEADER_DWORD] = req.0 | SmcHeader::OWNER_IS_PF;
        let now = self.now();
        if !self.faults.idle() && self.faults.smc_no_response() {
            self.smc.due = Some((now.saturating_add(SMC_STUCK_US), req, false));
            return;
        }
        if self.cfg.smc_delay_us > 0 {
            self.smc.due = Some((now.saturating_add(self.cfg.smc_delay_us), req, true));
            return;
        }
        self.smc_answer(req);
    }

    /// Finish a delayed or stuck SMC message.
    pub(crate) fn smc_timers(&mut self, now: u64) {
        if let Some((due, req, answer)) = self.smc.due {
            if now >= due {
                self.smc.due = None;
                if answer {
                    self.smc_answer(req);
                } else {
                    // Ignored: the window comes back without a response.
                    self.smc.window[HEADER_DWORD] = req.0 & !SmcHeader::OWNER_IS_PF;
                }
            }
        }
    }

    fn smc_answer(&mut self, req: SmcHeader) {
        let status = match (!self.faults.idle())
            .then(|| self.faults.smc_status())
            .flatten()
        {
            Some(s) => s,
            None => self.smc_execute(req),
        };
        if status != 0 {
            self.counters.smc_errors += 1;
        }
        self.smc.window[HEADER_DWORD] =
            SmcHeader::response(req.msg_type(), req.version(), status).0;
    }

    fn smc_execute(&mut self, req: SmcHeader) -> u8 {
        let mut bytes = [0u8; SMC_WINDOW_SIZE as usize];
        bytes.copy_from_slice(self.smc.window.as_bytes());
        match req.msg_type() {
            SMC_MSG_ESTABLISH_HWC if req.version() == 0 => {
                let Ok(msg) = SmcEstablishHwc::read_from_bytes(&bytes) else {
                    return SMC_STATUS_REFUSED;
                };
                self.establish_hwc(&msg)
            }
            SMC_MSG_DESTROY_HWC if req.version() == 0 => {
                self.destroy_hwc();
                0
            }
            SMC_MSG_REPORT_HWC_TIMEOUT => {
                let r = SmcReportHwcTimeout::read_from_bytes(&bytes)
                    .map(|r| r.flags)
                    .unwrap_or(0);
                self.smc.last_report = Some(r);
                0
            }
            _ => SMC_STATUS_REFUSED,
        }
    }

    /// One 64-bit doorbell write on `page` at register offset `reg`.
    fn doorbell(&mut self, page: u32, reg: u32, value: u64) {
        match reg {
            db_offset::SQ => self.wq_doorbell(page, WqKind::Send, WqDoorbell(value)),
            db_offset::RQ => self.wq_doorbell(page, WqKind::Receive, WqDoorbell(value)),
            db_offset::CQ => self.cq_doorbell(page, CqDoorbell(value)),
            db_offset::EQ => self.eq_doorbell(page, EqDoorbell(value)),
            db_offset::DIM => {
                // Moderation is recorded by counting only (zero-latency model).
                self.counters.dim_doorbells += 1;
                if !self.q.cqs.contains_key(&DimDoorbell(value).cq_id()) {
                    self.counters.bad_doorbells += 1;
                }
            }
            _ => self.counters.unknown_writes += 1,
        }
    }

    fn cq_doorbell(&mut self, page: u32, db: CqDoorbell) {
        self.counters.cq_doorbells += 1;
        let id = db.queue_id();
        let Some(cq) = self.q.cqs.get_mut(&id).filter(|c| c.owner.db_page == page) else {
            self.counters.bad_doorbells += 1;
            return;
        };
        cq.consumer = db.index();
        cq.since_db = 0;
        if !db.arm() {
            cq.armed = false;
            return;
        }
        self.counters.arms += 1;
        match arm_outcome(cq.tail, db.index(), cq.entries) {
            ArmOutcome::Armed => cq.armed = true,
            ArmOutcome::FireNow => {
                cq.armed = false;
                self.counters.arms_fired += 1;
                let eq = cq.eq;
                self.post_eqe(eq, eqe_type::COMPLETION, [id, 0, 0]);
            }
            ArmOutcome::Ignored => self.counters.arms_ignored += 1,
        }
    }

    fn eq_doorbell(&mut self, page: u32, db: EqDoorbell) {
        self.counters.eq_doorbells += 1;
        let Some(eq) = self
            .q
            .eqs
            .get_mut(&db.queue_id())
            .filter(|e| e.owner.db_page == page)
        else {
            self.counters.bad_doorbells += 1;
            return;
        };
        eq.consumer = db.index();
        if !db.arm() {
            eq.armed = false;
            return;
        }
        self.counters.arms += 1;
        match arm_outcome(eq.tail, db.index(), eq.entries) {
            ArmOutcome::Armed => eq.armed = true,
            ArmOutcome::FireNow => {
                eq.armed = false;
                self.counters.arms_fired += 1;
                let v = eq.msix;
                self.deliver_msix(v);
            }
            ArmOutcome::Ignored => self.counters.arms_ignored += 1,
        }
    }

    fn wq_doorbell(&mut self, page: u32, kind: WqKind, db: WqDoorbell) {
        match kind {
            WqKind::Send => self.counters.sq_doorbells += 1,
            WqKind::Receive => self.counters.rq_doorbells += 1,
        }
        let id = db.queue_id();
        let Some(wq) = self
            .q
            .wqs
            .get_mut(&id)
            .filter(|w| w.owner.db_page == page && w.kind == kind)
        else {
            self.counters.bad_doorbells += 1;
            return;
        };
        let tail = db.tail_bytes();
        // Accepted if it does not move backwards and stays within one ring
        // of what the device consumed (OpenVMM's reading of the rule).
        if tail.wrapping_sub(wq.consumer) > wq.size || tail.wrapping_sub(wq.producer) > wq.size {
            self.counters.bad_wq_tails += 1;
            return;
        }
        wq.producer = tail;
        let hwc = wq.owner.hwc;
        match (kind, hwc) {
            (WqKind::Send, true) => self.hwc_sq_doorbell(id),
            (WqKind::Receive, true) => self.hwc_rq_doorbell(id),
            (WqKind::Send, false) => self.tx_doorbell(id),
            (WqKind::Receive, false) => self.rx_doorbell(id),
        }
    }
}
