//! The ENA admin queue: 32 × 64-byte AQ and ACQ rings with phase bits and a
//! free-running tail doorbell (ena.md §3.1–§3.4), driven by the
//! device-neutral engine in `cloudnic_common::cmdq`, plus typed helpers for
//! every command the driver sends.
//!
//! Modes (ena.md §3.4): in polling mode INTR_MASK = 1 and the waiter reaps
//! the ACQ with back-off; in interrupt mode INTR_MASK = 0 and the management
//! interrupt ([`AdminQueue::handle_interrupt`]) reaps too. Because the control
//! path is one `&mut` object (design.md: ownership, not locks), a waiter can
//! never be pre-empted by our own interrupt handler, so it always reaps for
//! itself as well; interrupt mode only adds the early reap. A timeout kills
//! the queue (`Error::ChannelDead` for every later command) until reset,
//! which the health check turns into reset reason ADMIN_TO.

use zerocopy::{FromBytes, Immutable, IntoBytes};

use cloudnic_common::cmdq::{CmdChannel, CmdQueue, CmdQueueConfig, CmdQueueStats};
use cloudnic_common::{cn_dbg, cn_warn, DmaRegion, Error, Platform, RegisterBar};

use crate::defs::admin::{
    AcqEntry, AdminCommand, AdminStatus, AqEntry, CreateCqCmd, CreateCqResp, CreateSqCmd,
    CreateSqResp, DestroyCqCmd, DestroySqCmd, FeatureId, GetFeatureCmd, GetStatsCmd, SetFeatureCmd,
    SqDirection, ACQ_DEPTH, ACQ_FLAGS_OFFSET, ADMIN_ENTRY_SIZE, AQ_DEPTH,
};
use crate::defs::regs::{addr_lo_hi, offset, queue_caps, INTR_MASK_MASKED, INTR_MASK_UNMASKED};

/// Default admin completion timeout: 3 s (ena.md §3.4).
pub const DEFAULT_ADMIN_TIMEOUT_US: u64 = 3_000_000;
/// Linux back-off base (`ena_min_poll_delay_us`, ena.md §3.4, §6.1).
pub const DEFAULT_POLL_BASE_US: u32 = 5000;
/// Rings are page aligned.
const RING_ALIGN: usize = 4096;
const ENTRY: usize = ADMIN_ENTRY_SIZE as usize;
const AQ_MASK: u16 = AQ_DEPTH - 1;
const ACQ_MASK: u16 = ACQ_DEPTH - 1;
const PHASE_BIT: u32 = 1;
const FLAGS_SHIFT: usize = ACQ_FLAGS_OFFSET * 8;

/// The two admin rings and their indices; the [`CmdChannel`] of the engine.
struct AdminRings<P: Platform> {
    sq: P::Dma,
    cq: P::Dma,
    sq_tail: u16,
    sq_phase: bool,
    cq_head: u16,
    cq_phase: bool,
}

impl<P: Platform> AdminRings<P> {
    fn clear(&mut self) {
        let zero = [0u8; ENTRY];
        for i in 0..usize::from(ACQ_DEPTH) {
            self.cq.write_bytes(i * ENTRY, &zero);
            self.sq.write_bytes(i * ENTRY, &zero);
        }
        self.sq_tail = 0;
        self.cq_head = 0;
        self.sq_phase = true;
        self.cq_phase = true;
    }

    /// True if the next ACQ entry carries the expected phase.
    fn cq_ready(&self) -> bool {
        let slot = usize::from(self.cq_head & ACQ_MASK) * ENTRY;
        let phase = (self.cq.read32(slot) >> FLAGS_SHIFT) & PHASE_BIT != 0;
        phase == self.cq_phase
    }
}

/// Borrowed view handed to the engine for one operation.
struct Chan<'a, P: Platform, R: RegisterBar> {
    plat: &'a P,
    rings: &'a mut AdminRings<P>,
    bar0: &'a R,
}

impl<P: Platform, R: RegisterBar> CmdChannel for Chan<'_, P, R> {
    type Command = AqEntry;
    type Completion = AcqEntry;

    fn post(&mut self, id: u16, cmd: &AqEntry) -> Result<(), Error> {
        let r = &mut *self.rings;
        let mut entry = *cmd;
        entry.stamp(id, r.sq_phase);
        r.sq.write_bytes(usize::from(r.sq_tail & AQ_MASK) * ENTRY, entry.as_bytes());
        r.sq_tail = r.sq_tail.wrapping_add(1);
        if r.sq_tail & AQ_MASK == 0 {
            r.sq_phase = !r.sq_phase;
        }
        self.plat.write_barrier();
        self.bar0.write32(offset::AQ_DB, u32::from(r.sq_tail));
        Ok(())
    }

    fn next_completion(&mut self) -> Option<(u16, AcqEntry)> {
        let r = &mut *self.rings;
        if !r.cq_ready() {
            return None;
        }
        self.plat.dma_read_barrier();
        let mut raw = [0u8; ENTRY];
        r.cq.read_bytes(usize::from(r.cq_head & ACQ_MASK) * ENTRY, &mut raw);
        r.cq_head = r.cq_head.wrapping_add(1);
        if r.cq_head & ACQ_MASK == 0 {
            r.cq_phase = !r.cq_phase;
        }
        let entry = AcqEntry::read_from_bytes(&raw).ok()?;
        Some((entry.command_id(), entry))
    }
}

/// The admin queue.
pub struct AdminQueue<P: Platform> {
    rings: AdminRings<P>,
    engine: CmdQueue<P, AcqEntry>,
    polling: bool,
    /// DEVICE_ATTRIBUTES.supported_features once known.
    supported: Option<u32>,
}

impl<P: Platform> AdminQueue<P> {
    /// Allocate the rings and program AQ/ACQ base and caps registers
    /// (ena.md §3.1). Starts in polling mode (INTR_MASK = 1).
    pub fn new<R: RegisterBar>(plat: &P, bar0: &R) -> Result<Self, Error> {
        let size = usize::from(AQ_DEPTH) * ENTRY;
        let sq = plat.alloc_dma(size, RING_ALIGN)?;
        let cq = plat.alloc_dma(usize::from(ACQ_DEPTH) * ENTRY, RING_ALIGN)?;
        let engine = CmdQueue::new(
            plat,
            CmdQueueConfig {
                depth: AQ_DEPTH,
                timeout_us: DEFAULT_ADMIN_TIMEOUT_US,
                poll_base_us: DEFAULT_POLL_BASE_US,
            },
        )?;
        let mut q = AdminQueue {
            rings: AdminRings {
                sq,
                cq,
                sq_tail: 0,
                sq_phase: true,
                cq_head: 0,
                cq_phase: true,
            },
            engine,
            polling: true,
            supported: None,
        };
        q.restart(bar0);
        Ok(q)
    }

    /// After a device reset: abort outstanding commands, clear the rings,
    /// reset indices and phases, and re-program the registers.
    pub fn restart<R: RegisterBar>(&mut self, bar0: &R) {
        self.engine.reset();
        self.rings.clear();
        self.supported = None;
        let (lo, hi) = addr_lo_hi(self.rings.sq.bus_addr());
        bar0.write32(offset::AQ_BASE_LO, lo);
        bar0.write32(offset::AQ_BASE_HI, hi);
        let (lo, hi) = addr_lo_hi(self.rings.cq.bus_addr());
        bar0.write32(offset::ACQ_BASE_LO, lo);
        bar0.write32(offset::ACQ_BASE_HI, hi);
        bar0.write32(offset::AQ_CAPS, queue_caps(AQ_DEPTH, ADMIN_ENTRY_SIZE));
        bar0.write32(offset::ACQ_CAPS, queue_caps(ACQ_DEPTH, ADMIN_ENTRY_SIZE));
        self.set_polling(bar0, true);
    }

    /// Polling (INTR_MASK = 1) or interrupt mode (INTR_MASK = 0).
    pub fn set_polling<R: RegisterBar>(&mut self, bar0: &R, polling: bool) {
        self.polling = polling;
        bar0.write32(
            offset::INTR_MASK,
            if polling {
                INTR_MASK_MASKED
            } else {
                INTR_MASK_UNMASKED
            },
        );
    }

    /// True in polling mode.
    pub fn is_polling(&self) -> bool {
        self.polling
    }

    /// Completion timeout after reset: CAPS admin timeout × 100 ms when
    /// non-zero, else 3 s (ena.md §6.3 step 7).
    pub fn set_timeout_us(&mut self, us: u64) {
        self.engine.set_timeout_us(if us == 0 {
            DEFAULT_ADMIN_TIMEOUT_US
        } else {
            us
        });
    }

    /// Current completion timeout.
    pub fn timeout_us(&self) -> u64 {
        self.engine.timeout_us()
    }

    /// Back-off base for polling (Linux 5000 µs).
    pub fn set_poll_base_us(&mut self, us: u32) {
        self.engine.set_poll_base_us(us);
    }

    /// Record DEVICE_ATTRIBUTES.supported_features; from now on features not
    /// in it are refused locally (ena.md §3.5).
    pub fn set_supported_features(&mut self, bitmap: u32) {
        self.supported = Some(bitmap);
    }

    /// True if `id` may be used (DEVICE_ATTRIBUTES always; everything while
    /// the bitmap is unknown).
    pub fn is_supported(&self, id: FeatureId) -> bool {
        id == FeatureId::DeviceAttributes || self.supported.is_none_or(|b| b & id.bit() != 0)
    }

    /// False once a command timed out: only a reset brings it back.
    pub fn is_running(&self) -> bool {
        !self.engine.is_dead()
    }

    /// Mark the queue not running (reset path, ena.md §6.5 step 4).
    pub fn stop(&mut self) {
        self.engine.mark_dead();
    }

    /// Abort every outstanding command (reset / teardown).
    pub fn abort_all(&mut self) -> u32 {
        self.engine.abort_all()
    }

    /// Engine counters (`ena_admin_q_*`).
    pub fn stats(&self) -> CmdQueueStats {
        self.engine.stats()
    }

    /// True if an unreaped completion sits in the ACQ (missing-interrupt check).
    pub fn has_pending_completion(&self) -> bool {
        self.rings.cq_ready()
    }

    /// Management interrupt: reap completions that arrived (interrupt mode).
    pub fn handle_interrupt<R: RegisterBar>(&mut self, plat: &P, bar0: &R) -> u32 {
        let mut chan = Chan {
            plat,
            rings: &mut self.rings,
            bar0,
        };
        self.engine.process_completions(&mut chan)
    }

    /// Send `cmd` and wait for its completion; map the status (ena.md §3.4).
    pub fn execute<R: RegisterBar, C: AdminCommand>(
        &mut self,
        plat: &P,
        bar0: &R,
        cmd: &C,
    ) -> Result<AcqEntry, Error> {
        let entry = AqEntry::from_command(cmd);
        let mut chan = Chan {
            plat,
            rings: &mut self.rings,
            bar0,
        };
        let acq = self.engine.execute(plat, &mut chan, &entry)?;
        match AdminStatus::from_u8(acq.common.status) {
            Some(AdminStatus::Success) => Ok(acq),
            Some(AdminStatus::UnsupportedOpcode) => Err(Error::Unsupported),
            _ => {
                cn_dbg!(
                    plat,
                    "admin command opcode {} failed with status {}",
                    C::OPCODE as u8,
                    acq.common.status
                );
                Err(Error::DeviceStatus(acq.common.status.into()))
            }
        }
    }

    fn check_supported(&self, plat: &P, id: FeatureId) -> Result<(), Error> {
        if self.is_supported(id) {
            Ok(())
        } else {
            cn_warn!(plat, "Feature {} isn't supported", id.id());
            Err(Error::Unsupported)
        }
    }

    /// Run a GET/SET_FEATURE; a device answer of "unsupported opcode" gets
    /// the same log line as a local refusal (AWS troubleshooting doc).
    fn feature_cmd<R: RegisterBar, C: AdminCommand>(
        &mut self,
        plat: &P,
        bar0: &R,
        id: FeatureId,
        cmd: &C,
    ) -> Result<AcqEntry, Error> {
        self.check_supported(plat, id)?;
        self.execute(plat, bar0, cmd).inspect_err(|e| {
            if *e == Error::Unsupported {
                cn_warn!(plat, "Feature {} isn't supported", id.id());
            }
        })
    }

    /// GET_FEATURE `id`, parsed as `T` from ACQ byte 8.
    pub fn get_feature<R: RegisterBar, T: FromBytes>(
        &mut self,
        plat: &P,
        bar0: &R,
        id: FeatureId,
    ) -> Result<T, Error> {
        let acq = self.feature_cmd(plat, bar0, id, &GetFeatureCmd::new(id))?;
        acq.response().ok_or(Error::Malformed)
    }

    /// GET_FEATURE `id` with a control buffer the device fills.
    pub fn get_feature_with_buffer<R: RegisterBar, T: FromBytes>(
        &mut self,
        plat: &P,
        bar0: &R,
        id: FeatureId,
        buf_addr: u64,
        buf_len: u32,
    ) -> Result<T, Error> {
        let acq = self.feature_cmd(
            plat,
            bar0,
            id,
            &GetFeatureCmd::new(id).with_ctrl_buffer(buf_addr, buf_len),
        )?;
        acq.response().ok_or(Error::Malformed)
    }

    /// SET_FEATURE `id` with `payload` at AQ byte 20.
    pub fn set_feature<R: RegisterBar, T: IntoBytes + Immutable>(
        &mut self,
        plat: &P,
        bar0: &R,
        id: FeatureId,
        payload: &T,
    ) -> Result<AcqEntry, Error> {
        self.feature_cmd(plat, bar0, id, &SetFeatureCmd::new(id, payload))
    }

    /// SET_FEATURE `id` with a payload and a control buffer.
    pub fn set_feature_with_buffer<R: RegisterBar, T: IntoBytes + Immutable>(
        &mut self,
        plat: &P,
        bar0: &R,
        id: FeatureId,
        payload: &T,
        buf_addr: u64,
        buf_len: u32,
    ) -> Result<AcqEntry, Error> {
        self.feature_cmd(
            plat,
            bar0,
            id,
            &SetFeatureCmd::new(id, payload).with_ctrl_buffer(buf_addr, buf_len),
        )
    }

    /// CREATE_CQ (ena.md §3.6); the response is validated by the caller.
    pub fn create_cq<R: RegisterBar>(
        &mut self,
        plat: &P,
        bar0: &R,
        cmd: &CreateCqCmd,
    ) -> Result<CreateCqResp, Error> {
        self.execute(plat, bar0, cmd)?
            .response()
            .ok_or(Error::Malformed)
    }

    /// CREATE_SQ (ena.md §3.6).
    pub fn create_sq<R: RegisterBar>(
        &mut self,
        plat: &P,
        bar0: &R,
        cmd: &CreateSqCmd,
    ) -> Result<CreateSqResp, Error> {
        self.execute(plat, bar0, cmd)?
            .response()
            .ok_or(Error::Malformed)
    }

    /// DESTROY_SQ.
    pub fn destroy_sq<R: RegisterBar>(
        &mut self,
        plat: &P,
        bar0: &R,
        dir: SqDirection,
        sq_idx: u16,
    ) -> Result<(), Error> {
        self.execute(plat, bar0, &DestroySqCmd::new(dir, sq_idx))
            .map(|_| ())
    }

    /// DESTROY_CQ.
    pub fn destroy_cq<R: RegisterBar>(
        &mut self,
        plat: &P,
        bar0: &R,
        cq_idx: u16,
    ) -> Result<(), Error> {
        self.execute(plat, bar0, &DestroyCqCmd::new(cq_idx))
            .map(|_| ())
    }

    /// GET_STATS; returns the raw completion (payload at byte 8).
    pub fn get_stats<R: RegisterBar>(
        &mut self,
        plat: &P,
        bar0: &R,
        cmd: &GetStatsCmd,
    ) -> Result<AcqEntry, Error> {
        self.execute(plat, bar0, cmd)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::defs::admin::{DeviceAttributes, MtuFeature};
    use crate::test_support::{FakeBar, FakePlat};

    #[test]
    fn get_set_and_refusal() {
        let plat = FakePlat::default();
        let bar = FakeBar::with_device(&plat);
        let mut aq = AdminQueue::new(&plat, &bar).unwrap();
        assert_eq!(bar.reg(offset::AQ_CAPS), 0x0040_0020);
        let attr: DeviceAttributes = aq
            .get_feature(&plat, &bar, FeatureId::DeviceAttributes)
            .unwrap();
        assert_eq!(attr.max_mtu, 9216);
        aq.set_supported_features(attr.supported_features);
        aq.set_feature(&plat, &bar, FeatureId::Mtu, &MtuFeature { mtu: 1500 })
            .unwrap();
        assert_eq!(bar.dev().mtu, 1500);
        // Not in the bitmap: refused locally with the AWS log line.
        bar.dev_mut().supported &= !FeatureId::HwHints.bit();
        aq.set_supported_features(bar.dev().supported);
        assert_eq!(
            aq.get_feature::<_, MtuFeature>(&plat, &bar, FeatureId::HwHints),
            Err(Error::Unsupported)
        );
        assert!(plat.logged("Feature 3 isn't supported"));
        // Many commands wrap the 32-entry rings and flip phases.
        for _ in 0..100 {
            aq.get_feature::<_, DeviceAttributes>(&plat, &bar, FeatureId::DeviceAttributes)
                .unwrap();
        }
        assert_eq!(aq.stats().completed, 102);
    }

    #[test]
    fn timeout_then_restart() {
        let plat = FakePlat::default();
        let bar = FakeBar::with_device(&plat);
        let mut aq = AdminQueue::new(&plat, &bar).unwrap();
        bar.dev_mut().drop_admin = 1;
        let r = aq.get_feature::<_, DeviceAttributes>(&plat, &bar, FeatureId::DeviceAttributes);
        assert_eq!(r, Err(Error::Timeout));
        assert!(!aq.is_running());
        assert_eq!(aq.stats().no_completion, 1);
        assert_eq!(
            aq.get_feature::<_, DeviceAttributes>(&plat, &bar, FeatureId::DeviceAttributes),
            Err(Error::ChannelDead)
        );
        bar.dev_mut().admin_reset();
        aq.restart(&bar);
        assert!(aq
            .get_feature::<_, DeviceAttributes>(&plat, &bar, FeatureId::DeviceAttributes)
            .is_ok());
    }
}
