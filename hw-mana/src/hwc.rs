//! The hardware channel (HWC): bring-up through the shared memory channel
//! and the init EQEs, then request/response over its SQ/RQ/CQ/EQ with
//! correlation by slot id, code and activity id (mana.md §3.1–§3.5).
//!
//! Failure states are typed and distinct:
//! * the device answered with a non-zero status → the request fails with
//!   [`Error::DeviceStatus`] / [`Error::Unsupported`], the channel lives on;
//! * the device stayed silent past the timeout → [`Error::Timeout`] for that
//!   request, then [`Error::ChannelDead`] for every later one, until the
//!   device is reset ([`HwcHealth::Dead`]);
//! * the device wrote something inconsistent (bad response, bad CQE,
//!   overflow) → counted, the channel is flagged ([`HwcHealth::Violation`])
//!   so the health check resets it;
//! * a reset request (EQE 135) is pending → requests fail fast with
//!   [`Error::NotRunning`] (Linux sets the HWC timeout to 0 then).
//!
//! Depth: Linux never uses more than one outstanding request (mana.md §3.2).
//! We allocate [`HwcConfig::max_inflight`] slots and use
//! `min(that, device QUEUE_DEPTH)` rounded down to a power of two; the
//! default of 1 matches Linux. [`Hwc::submit`] / [`Hwc::wait`] let a caller
//! keep several requests in flight; [`Hwc::request`] does one round trip.

use zerocopy::FromBytes;

use cloudnic_common::cmdq::{CmdQueue, CmdQueueConfig, CmdQueueStats};
use cloudnic_common::{cn_err, cn_info, stats, DmaRegion, Error, Platform, RegisterBar};

use crate::bar::BarLayout;
use crate::cq::{CompletionQueue, EventQueue, QueueEntry};
use crate::defs::hwc::{
    init_data, HwcInitEqIdDb, HwcTypeData, HWC_DEFAULT_TIMEOUT_MS, HWC_INIT_DONE_TIMEOUT_MS,
    HWC_QUEUE_SIZE,
};
use crate::defs::msg::{GdmaRespHdr, MSG_TYPE_CLASS_SHIFT, REQ_ACTIVITY_ID_OFFSET};
use crate::defs::queue::{eqe_type, CQE_SIZE, EQE_SIZE, GDMA_QUEUE_ID_MASK};
use crate::defs::smc::{SmcEstablishHwc, SmcReportHwcTimeout};
use crate::hwc_chan::{HwcChan, HwcDone, HwcEvents, HwcIds, HwcRings, HwcStats, HWC_SLOT_SIZE};
use crate::smc::Smc;
use crate::wq::{WorkQueue, WqKind};

/// An HWC request WQE (24-byte OOB + one SGE) is 64 bytes = 2 BU (mana.md §4.2).
pub const HWC_SQ_WQE_BU: u32 = 2;
/// Most request slots we allocate (the HWC CQ's 64 entries must hold 2 per request).
pub const HWC_MAX_INFLIGHT: u16 = 16;
/// Smallest MAX_REQUEST we accept: VERIFY_VF_DRIVER_VERSION is 640 bytes.
const MIN_MAX_REQUEST: u32 = 640;
/// Byte offset of `req.msg_size` in a request.
const REQ_MSG_SIZE_OFFSET: usize = 12;
/// Back-off cap while polling for init EQEs.
const INIT_POLL_MAX_US: u32 = 10_000;

/// Tunables of the hardware channel.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HwcConfig {
    /// Request slots to allocate (1..=16; Linux 1).
    pub max_inflight: u16,
    /// MSI-X vector of the HWC EQ (Linux 0).
    pub msix_index: u16,
    /// Command timeout in µs (Linux 30 s; the device may change it).
    pub timeout_us: u64,
    /// Wait for HWC_INIT_DONE in µs (Linux 60 s).
    pub init_timeout_us: u64,
}

impl Default for HwcConfig {
    fn default() -> Self {
        HwcConfig {
            max_inflight: 1,
            msix_index: 0,
            timeout_us: u64::from(HWC_DEFAULT_TIMEOUT_MS) * 1000,
            init_timeout_us: u64::from(HWC_INIT_DONE_TIMEOUT_MS) * 1000,
        }
    }
}

/// Channel health as the device layer and the health check see it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HwcHealth {
    /// Accepting requests.
    Running,
    /// A request timed out: only a reset recovers.
    Dead,
    /// The device violated the protocol: only a reset recovers.
    Violation,
}

/// Values from the init EQEs (mana.md §3.2).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct HwcInitInfo {
    /// Queue ids and memory key.
    pub ids: HwcIds,
    /// Doorbell page index of the HWC.
    pub db_id: u32,
    /// Max queue depth the device supports.
    pub queue_depth: u32,
    /// Max request bytes.
    pub max_request: u32,
    /// Max response bytes.
    pub max_response: u32,
    /// Size of the device CQ id space.
    pub max_num_cqs: u32,
    /// Protection domain of the HWC.
    pub pdid: u32,
}

/// Writes a request image into the staging buffer.
pub struct RequestWriter<'a> {
    buf: &'a mut [u8],
    len: usize,
}

impl RequestWriter<'_> {
    /// Append bytes; `NoSpace` past the device's MAX_REQUEST.
    pub fn put(&mut self, bytes: &[u8]) -> Result<(), Error> {
        let end = self.len.checked_add(bytes.len()).ok_or(Error::NoSpace)?;
        self.buf
            .get_mut(self.len..end)
            .ok_or(Error::NoSpace)?
            .copy_from_slice(bytes);
        self.len = end;
        Ok(())
    }
    /// Append a little-endian u64 (page addresses, RX object handles).
    pub fn put_u64(&mut self, v: u64) -> Result<(), Error> {
        self.put(&v.to_le_bytes())
    }
    /// Bytes written so far.
    pub fn len(&self) -> usize {
        self.len
    }
    /// True if nothing was written.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
    /// Bytes still available.
    pub fn remaining(&self) -> usize {
        self.buf.len() - self.len
    }
}

/// The hardware channel.
pub struct Hwc<P: Platform> {
    rings: HwcRings<P>,
    engine: CmdQueue<P, HwcDone>,
    req_staging: P::Table<u8>,
    info: HwcInitInfo,
    smc: Smc,
    depth: u16,
    max_request: u32,
    next_activity: u32,
    fail_fast: bool,
}

impl<P: Platform> Hwc<P> {
    /// Allocate the HWC queues, establish the channel over the SMC, collect
    /// the init EQEs and post the receive buffers (mana.md §3.1 steps 3–7,
    /// without the test EQE, which is a GDMA request).
    pub fn create<R: RegisterBar>(
        plat: &P,
        bar: &R,
        layout: &BarLayout,
        smc: &Smc,
        cfg: &HwcConfig,
    ) -> Result<Self, Error> {
        let slots = cfg.max_inflight.clamp(1, HWC_MAX_INFLIGHT);
        let eq = EventQueue::new(plat, HWC_QUEUE_SIZE / EQE_SIZE)?;
        let cq = CompletionQueue::new(plat, HWC_QUEUE_SIZE / CQE_SIZE)?;
        let rq = WorkQueue::new(plat, HWC_QUEUE_SIZE, WqKind::Receive)?;
        let sq = WorkQueue::new(plat, HWC_QUEUE_SIZE, WqKind::Send)?;
        let buf_bytes = usize::from(slots) * HWC_SLOT_SIZE as usize;
        let req_buf = plat.alloc_dma(buf_bytes, HWC_SLOT_SIZE as usize)?;
        let resp_buf = plat.alloc_dma(buf_bytes, HWC_SLOT_SIZE as usize)?;
        let staging = plat.alloc_table(buf_bytes, |_| 0u8)?;
        let req_staging = plat.alloc_table(HWC_SLOT_SIZE as usize, |_| 0u8)?;
        let expected = plat.alloc_table(usize::from(slots), |_| None)?;
        let rq_wqe_buf = plat.alloc_table((HWC_QUEUE_SIZE / 32) as usize, |_| 0u16)?;

        let addrs = [
            eq.mem().bus_addr(),
            cq.mem().bus_addr(),
            rq.mem().bus_addr(),
            sq.mem().bus_addr(),
        ];
        if !addrs.iter().all(|a| SmcEstablishHwc::address_ok(*a)) {
            return Err(Error::NoMemory);
        }
        let msg = SmcEstablishHwc::new(
            eq.mem().bus_addr(),
            cq.mem().bus_addr(),
            rq.mem().bus_addr(),
            sq.mem().bus_addr(),
            cfg.msix_index,
        );
        let engine = CmdQueue::new(
            plat,
            CmdQueueConfig {
                depth: 1,
                timeout_us: cfg.timeout_us,
                poll_base_us: 100,
            },
        )?;
        smc.establish_hwc(plat, bar, &msg)?;
        let rings = HwcRings {
            eq,
            cq,
            rq,
            sq,
            req_buf,
            resp_buf,
            staging,
            expected,
            rq_wqe_buf,
            db: layout.doorbell_page(0)?,
            ids: HwcIds::default(),
            max_resp: HWC_SLOT_SIZE,
            events: HwcEvents::default(),
            stats: HwcStats::default(),
            violation: false,
        };
        let mut hwc = Hwc {
            rings,
            engine,
            req_staging,
            info: HwcInitInfo::default(),
            smc: *smc,
            depth: 1,
            max_request: 0,
            next_activity: (plat.now_us() as u32) << 16 | 1,
            fail_fast: false,
        };
        match hwc.finish_init(plat, bar, layout, cfg, slots) {
            Ok(()) => Ok(hwc),
            Err(e) => {
                // The device knows the queue pages now: it must drop them
                // before the memory is freed, whatever state init reached.
                let _ = hwc.smc.destroy_hwc(plat, bar);
                Err(e)
            }
        }
    }

    /// Steps after ESTABLISH_HWC: init EQEs, ids, receive buffers, arming.
    fn finish_init<R: RegisterBar>(
        &mut self,
        plat: &P,
        bar: &R,
        layout: &BarLayout,
        cfg: &HwcConfig,
        slots: u16,
    ) -> Result<(), Error> {
        let rings = &mut self.rings;
        let info = Self::collect_init(plat, rings, cfg.init_timeout_us)?;
        rings.db = layout.doorbell_page(info.db_id)?;
        rings.ids = info.ids;
        rings.eq.set_id(info.ids.eq_id);
        rings.cq.set_id(info.ids.cq_id);
        rings.rq.set_id(info.ids.rq_id);
        rings.sq.set_id(info.ids.sq_id);
        rings.max_resp = info.max_response.min(HWC_SLOT_SIZE);

        // Usable depth: device limit ∩ our slots, a power of two for the engine.
        let depth_limit = u16::try_from(info.queue_depth.max(1))
            .unwrap_or(u16::MAX)
            .min(slots);
        let depth = 1u16 << (15 - depth_limit.leading_zeros().min(15));
        for buf in 0..depth {
            rings.post_rq_buffer(buf)?;
        }
        rings
            .db
            .ring_rq(plat, bar, info.ids.rq_id, rings.rq.doorbell_tail_bytes());
        rings.cq.ring_doorbell(plat, bar, &rings.db, true);
        rings.eq.ring_doorbell(plat, bar, &rings.db, true);

        self.engine = CmdQueue::new(
            plat,
            CmdQueueConfig {
                depth,
                timeout_us: cfg.timeout_us,
                poll_base_us: 100,
            },
        )?;
        self.depth = depth;
        self.max_request = info.max_request.min(HWC_SLOT_SIZE);
        self.info = info;
        cn_info!(
            plat,
            "mana: HWC up: eq {} cq {} rq {} sq {} db {} depth {} (device {}), max req {} resp {}",
            info.ids.eq_id,
            info.ids.cq_id,
            info.ids.rq_id,
            info.ids.sq_id,
            info.db_id,
            depth,
            info.queue_depth,
            info.max_request,
            info.max_response
        );
        Ok(())
    }

    /// Poll the HWC EQ for INIT_EQ_ID_DB, INIT_DATA… and INIT_DONE.
    fn collect_init(
        plat: &P,
        rings: &mut HwcRings<P>,
        timeout_us: u64,
    ) -> Result<HwcInitInfo, Error> {
        let mut info = HwcInitInfo {
            queue_depth: 1,
            max_request: HWC_SLOT_SIZE,
            max_response: HWC_SLOT_SIZE,
            ..Default::default()
        };
        let (mut got_eq, mut got_cq, mut got_rq, mut got_sq) = (false, false, false, false);
        let deadline = plat.now_us().saturating_add(timeout_us);
        let mut delay = 100u32;
        loop {
            match rings.eq.poll(plat) {
                QueueEntry::Overflow => return Err(Error::Malformed),
                QueueEntry::Empty => {
                    if plat.now_us() >= deadline {
                        return Err(Error::Timeout);
                    }
                    plat.sleep_us(delay);
                    delay = delay.saturating_mul(2).min(INIT_POLL_MAX_US);
                }
                QueueEntry::Entry(eqe) => {
                    let d0 = eqe.details[0];
                    match eqe.info().event_type() {
                        eqe_type::HWC_INIT_EQ_ID_DB => {
                            let v = HwcInitEqIdDb(d0);
                            info.ids.eq_id = u32::from(v.eq_id());
                            info.db_id = u32::from(v.doorbell());
                            got_eq = true;
                        }
                        eqe_type::HWC_INIT_DATA => {
                            let d = HwcTypeData(d0);
                            let v = d.value();
                            match d.data_type() {
                                init_data::CQID => (info.ids.cq_id, got_cq) = (v, true),
                                init_data::RQID => (info.ids.rq_id, got_rq) = (v, true),
                                init_data::SQID => (info.ids.sq_id, got_sq) = (v, true),
                                init_data::QUEUE_DEPTH => info.queue_depth = v,
                                init_data::MAX_REQUEST => info.max_request = v,
                                init_data::MAX_RESPONSE => info.max_response = v,
                                init_data::MAX_NUM_CQS => info.max_num_cqs = v,
                                init_data::PDID => info.pdid = v,
                                init_data::GPA_MKEY => info.ids.gpa_mkey = v,
                                init_data::PF_DEST_RQ_ID => {
                                    info.ids.pf_dest =
                                        Some((v, info.ids.pf_dest.map_or(0, |p| p.1)))
                                }
                                init_data::PF_DEST_CQ_ID => {
                                    info.ids.pf_dest =
                                        Some((info.ids.pf_dest.map_or(0, |p| p.0), v))
                                }
                                _ => stats::inc(&mut rings.stats.hwc_unknown_eqes),
                            }
                        }
                        eqe_type::HWC_INIT_DONE => break,
                        // A reset request during bring-up fails the probe (mana.md §7).
                        eqe_type::HWC_RESET_REQUEST => {
                            rings.events.reset_request = Some(d0);
                            return Err(Error::NotRunning);
                        }
                        _ => stats::inc(&mut rings.stats.hwc_unknown_eqes),
                    }
                }
            }
        }
        let ids_ok = [info.ids.cq_id, info.ids.rq_id, info.ids.sq_id]
            .iter()
            .all(|id| *id <= GDMA_QUEUE_ID_MASK);
        if !(got_eq && got_cq && got_rq && got_sq && ids_ok)
            || info.max_num_cqs == 0
            || info.max_request < MIN_MAX_REQUEST
            || info.max_response < 64
        {
            cn_err!(
                plat,
                "mana: HWC init data incomplete or invalid: {:?}",
                info
            );
            return Err(Error::IncompatibleDevice);
        }
        Ok(info)
    }

    /// Values from the init EQEs.
    pub fn info(&self) -> &HwcInitInfo {
        &self.info
    }
    /// Requests that may be in flight at once.
    pub fn depth(&self) -> u16 {
        self.depth
    }
    /// Largest request the device takes (bounded by the slot size).
    pub fn max_request(&self) -> u32 {
        self.max_request
    }
    /// Channel counters.
    pub fn stats(&self) -> &HwcStats {
        &self.rings.stats
    }
    /// Engine counters.
    pub fn engine_stats(&self) -> CmdQueueStats {
        self.engine.stats()
    }
    /// Health of the channel.
    pub fn health(&self) -> HwcHealth {
        if self.engine.is_dead() {
            HwcHealth::Dead
        } else if self.rings.violation {
            HwcHealth::Violation
        } else {
            HwcHealth::Running
        }
    }
    /// Command timeout in µs.
    pub fn timeout_us(&self) -> u64 {
        self.engine.timeout_us()
    }
    /// Change the command timeout (QUERY_HWC_TIMEOUT, EQE 133 type 1).
    pub fn set_timeout_us(&mut self, us: u64) {
        self.engine.set_timeout_us(us.max(1));
    }
    /// Fail every request at once (a reset request is pending).
    pub fn set_fail_fast(&mut self, on: bool) {
        self.fail_fast = on;
    }
    /// Take the events collected so far.
    pub fn take_events(&mut self) -> HwcEvents {
        core::mem::take(&mut self.rings.events)
    }
    /// Take (clear) only the TEST_EVENT flag.
    pub fn take_test_event(&mut self) -> bool {
        core::mem::take(&mut self.rings.events.test_event)
    }
    /// Peek at the events collected so far.
    pub fn events(&self) -> &HwcEvents {
        &self.rings.events
    }

    /// Management interrupt (or poll): drain the EQ and CQ, store any
    /// responses for their waiters, apply a new timeout from EQE 133.
    pub fn process_interrupt<R: RegisterBar>(&mut self, plat: &P, bar: &R) {
        let mut chan = HwcChan {
            plat,
            bar,
            rings: &mut self.rings,
        };
        self.engine.process_completions(&mut chan);
        if let Some(ms) = self.rings.events.hwc_timeout_ms.take() {
            if ms > 0 {
                self.engine.set_timeout_us(u64::from(ms) * 1000);
            }
        }
    }

    /// Build a request with `build` and submit it; returns the slot id to
    /// [`Hwc::wait`] on. `msg_size` is set to the bytes written; MANA
    /// commands get the next activity id, GDMA-level ones 0 (like Linux).
    pub fn submit<R: RegisterBar>(
        &mut self,
        plat: &P,
        bar: &R,
        build: impl FnOnce(&mut RequestWriter<'_>) -> Result<(), Error>,
    ) -> Result<u16, Error> {
        if self.fail_fast {
            return Err(Error::NotRunning);
        }
        if self.engine.is_dead() {
            return Err(Error::ChannelDead);
        }
        let limit = self.max_request as usize;
        let buf = self.req_staging.get_mut(..limit).ok_or(Error::NoSpace)?;
        let mut w = RequestWriter { buf, len: 0 };
        build(&mut w)?;
        let len = w.len;
        if len < core::mem::size_of::<crate::defs::msg::GdmaReqHdr>() {
            return Err(Error::Unsupported);
        }
        let img = self.req_staging.get_mut(..len).ok_or(Error::NoSpace)?;
        img[REQ_MSG_SIZE_OFFSET..REQ_MSG_SIZE_OFFSET + 4]
            .copy_from_slice(&(len as u32).to_le_bytes());
        let code = u32::from_le_bytes([img[4], img[5], img[6], img[7]]);
        let activity = if code >> MSG_TYPE_CLASS_SHIFT != 0 {
            self.next_activity = self.next_activity.wrapping_add(1).max(1);
            self.next_activity
        } else {
            0
        };
        img[REQ_ACTIVITY_ID_OFFSET..REQ_ACTIVITY_ID_OFFSET + 4]
            .copy_from_slice(&activity.to_le_bytes());
        let mut chan = HwcChan {
            plat,
            bar,
            rings: &mut self.rings,
        };
        self.engine.submit(&mut chan, &self.req_staging[..len])
    }

    /// Wait for slot `id`'s response and copy it into `resp` (zero-filled
    /// past what the device wrote). Returns the response header; its status
    /// is for the caller to judge.
    pub fn wait<R: RegisterBar>(
        &mut self,
        plat: &P,
        bar: &R,
        id: u16,
        resp: &mut [u8],
    ) -> Result<GdmaRespHdr, Error> {
        let mut chan = HwcChan {
            plat,
            bar,
            rings: &mut self.rings,
        };
        let done = match self.engine.wait(plat, &mut chan, id) {
            Ok(d) => d,
            Err(Error::Timeout) => {
                self.on_timeout(plat, bar);
                return Err(Error::Timeout);
            }
            Err(e) => return Err(e),
        };
        let len = done.len as usize;
        let base = usize::from(id) * HWC_SLOT_SIZE as usize;
        let src = self
            .rings
            .staging
            .get(base..base + len)
            .ok_or(Error::Malformed)?;
        let hdr = GdmaRespHdr::read_from_prefix(src)
            .map_err(|_| Error::Malformed)?
            .0;
        // Linux refuses responses larger than the caller's buffer (-EPROTO).
        if len > resp.len() {
            stats::inc(&mut self.rings.stats.hwc_bad_responses);
            self.rings.violation = true;
            return Err(Error::Malformed);
        }
        resp[..len].copy_from_slice(src);
        resp[len..].fill(0);
        Ok(hdr)
    }

    /// Submit and wait.
    pub fn request<R: RegisterBar>(
        &mut self,
        plat: &P,
        bar: &R,
        build: impl FnOnce(&mut RequestWriter<'_>) -> Result<(), Error>,
        resp: &mut [u8],
    ) -> Result<GdmaRespHdr, Error> {
        let id = self.submit(plat, bar, build)?;
        self.wait(plat, bar, id, resp)
    }

    fn on_timeout<R: RegisterBar>(&mut self, plat: &P, bar: &R) {
        stats::inc(&mut self.rings.stats.hwc_timeouts);
        cn_err!(
            plat,
            "mana: HWC request timed out after {} us; channel dead until reset",
            self.engine.timeout_us()
        );
        let r = &self.rings;
        let elapsed_ms = u32::try_from(self.engine.timeout_us() / 1000).unwrap_or(u32::MAX);
        let report = SmcReportHwcTimeout::new(
            r.rq.tail_bu(),
            r.sq.tail_bu(),
            r.cq.head(),
            r.eq.head(),
            elapsed_ms,
            true,
            false,
        );
        self.smc.report_hwc_timeout(plat, bar, &report);
    }

    /// SMC DESTROY_HWC: the device drops its translations of the HWC memory,
    /// which may be freed afterwards (mana.md §2). Outstanding requests are
    /// aborted first.
    pub fn destroy<R: RegisterBar>(&mut self, plat: &P, bar: &R) -> Result<(), Error> {
        self.engine.abort_all();
        self.engine.mark_dead();
        self.smc.destroy_hwc(plat, bar).map_err(Error::from)
    }
}
