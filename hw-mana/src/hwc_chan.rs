//! The hardware channel's rings as a [`CmdChannel`] of the common command
//! engine: posting a request WQE into the HWC SQ, and turning HWC CQEs into
//! matched responses (mana.md §3.3).
//!
//! Matching is by content, never by arrival order: a response must name an
//! in-flight slot (`hwc_msg_id`), carry the request's code and — for MANA
//! commands — its activity id and device id; it must arrive in the RQ WQE
//! the device is due to consume, and its size must fit the slot. Anything
//! else is counted, its receive buffer is re-posted, and the channel is
//! flagged for a reset; it never completes another request.
//!
//! Responses are copied out of the receive buffer into a per-slot staging
//! area and the buffer is re-posted before the waiter runs, like Linux.

use zerocopy::{FromBytes, IntoBytes};

use cloudnic_common::cmdq::CmdChannel;
use cloudnic_common::{stats, DmaRegion, Error, Platform, RegisterBar};

use crate::bar::DoorbellPage;
use crate::cq::{CompletionQueue, EventQueue, QueueEntry};
use crate::defs::hwc::{reconfig_data, HwcRxOob, HwcSocService, HwcTxOob, HwcTypeData};
use crate::defs::msg::{GdmaDevId, GdmaRespHdr, MSG_TYPE_CLASS_SHIFT, REQ_HWC_MSG_ID_OFFSET};
use crate::defs::queue::{eqe_type, Sge, GDMA_QUEUE_ID_MASK, WQE_BU_SHIFT};
use crate::wq::{WorkQueue, WqeRequest};

/// Size of one request or response buffer slot (Linux `HW_CHANNEL_MAX_*_SIZE`).
pub const HWC_SLOT_SIZE: u32 = 4096;
/// Size of the response header every response starts with.
const RESP_HDR_SIZE: u32 = core::mem::size_of::<GdmaRespHdr>() as u32;
/// Bytes of an HWC RQ WQE (8-byte header, 8-byte zero OOB, one SGE): 1 BU.
const RQ_WQE_BU: u32 = 1;
/// EQEs handled per drain before the doorbell (bounded work per call).
const EQ_DRAIN_BUDGET: u32 = 64;

cloudnic_common::counters! {
    /// Hardware-channel counters (cloudnic names; Linux has none).
    pub struct HwcStats {
        /// Requests submitted.
        hwc_requests,
        /// Requests that timed out (channel then dead).
        hwc_timeouts,
        /// Responses refused: unknown slot, wrong code/activity/device, bad size or WQE.
        hwc_bad_responses,
        /// CQEs naming neither the HWC SQ nor RQ.
        hwc_bad_cqes,
        /// CQ/EQ overflows (device lapped the driver).
        hwc_overflows,
        /// Completion EQEs naming a CQ other than the HWC's.
        hwc_bad_eqes,
        /// EQEs of unknown type (ignored, like Linux).
        hwc_unknown_eqes,
        /// SQ completions seen (sanity-checked only).
        hwc_sq_completions,
    }
}

/// Events the device posted on the HWC EQ, kept until the device layer takes them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct HwcEvents {
    /// A TEST_EVENT EQE arrived on the HWC EQ.
    pub test_event: bool,
    /// EQE 135 RESET_REQUEST with its details word.
    pub reset_request: Option<u32>,
    /// EQE 132 FPGA_RECONFIG.
    pub fpga_reconfig: bool,
    /// Latest link state from EQE 133 types 2/3.
    pub link: Option<bool>,
    /// New HWC timeout (ms) from EQE 133 type 1.
    pub hwc_timeout_ms: Option<u32>,
    /// Latest EQE 134 (service type, value).
    pub soc_service: Option<(u8, u32)>,
}

/// The completion value the engine carries: bytes staged for the slot.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HwcDone {
    /// Response length in bytes (≥ 32, ≤ slot size).
    pub len: u32,
}

/// What a slot's response must match (recorded when the request is posted).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Expected {
    pub msg_type: u32,
    pub activity_id: u32,
    pub dev_id: GdmaDevId,
}

/// Queue ids and keys the HWC uses (from the init EQEs).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct HwcIds {
    /// HWC EQ id.
    pub eq_id: u32,
    /// HWC CQ id.
    pub cq_id: u32,
    /// HWC RQ id.
    pub rq_id: u32,
    /// HWC SQ id.
    pub sq_id: u32,
    /// Memory key for HWC SGEs.
    pub gpa_mkey: u32,
    /// PF destination RQ/CQ (init data 10/11), if the device sent them.
    pub pf_dest: Option<(u32, u32)>,
}

/// Everything the channel touches while a request is in flight.
pub(crate) struct HwcRings<P: Platform> {
    pub eq: EventQueue<P>,
    pub cq: CompletionQueue<P>,
    pub rq: WorkQueue<P>,
    pub sq: WorkQueue<P>,
    pub req_buf: P::Dma,
    pub resp_buf: P::Dma,
    /// Response staging, `depth × HWC_SLOT_SIZE` bytes.
    pub staging: P::Table<u8>,
    /// In-flight slots.
    pub expected: P::Table<Option<Expected>>,
    /// Receive buffer behind each RQ WQE position (BU index in the ring).
    pub rq_wqe_buf: P::Table<u16>,
    pub db: DoorbellPage,
    pub ids: HwcIds,
    pub max_resp: u32,
    pub events: HwcEvents,
    pub stats: HwcStats,
    /// A device protocol violation was seen: the control path must reset.
    pub violation: bool,
}

impl<P: Platform> HwcRings<P> {
    /// Post the receive WQE for buffer `buf` at the RQ head (no doorbell).
    pub(crate) fn post_rq_buffer(&mut self, buf: u16) -> Result<(), Error> {
        let sge = Sge {
            address: self
                .resp_buf
                .bus_addr()
                .wrapping_add(u64::from(buf) * u64::from(HWC_SLOT_SIZE)),
            mem_key: self.ids.gpa_mkey,
            size: HWC_SLOT_SIZE,
        };
        let pos = (self.rq.head_bu() & (self.rq.size() >> WQE_BU_SHIFT).wrapping_sub(1)) as usize;
        self.rq
            .post(&WqeRequest {
                oob: &[0u8; 8],
                sgl: &[sge],
                client_data_unit: 0,
                oob_in_sgl: false,
            })
            .map_err(|_| Error::NoSpace)?;
        if let Some(slot) = self.rq_wqe_buf.get_mut(pos) {
            *slot = buf;
        }
        Ok(())
    }

    /// Drain the HWC EQ (bounded), record events, re-arm it.
    pub(crate) fn drain_eq<R: RegisterBar>(&mut self, plat: &P, bar: &R) {
        let mut n = 0u32;
        while n < EQ_DRAIN_BUDGET {
            match self.eq.poll(plat) {
                QueueEntry::Empty => break,
                QueueEntry::Overflow => {
                    stats::inc(&mut self.stats.hwc_overflows);
                    self.violation = true;
                    break;
                }
                QueueEntry::Entry(eqe) => {
                    n += 1;
                    self.handle_eqe(eqe.info().event_type(), eqe.details[0]);
                }
            }
        }
        if n > 0 {
            self.eq.ring_doorbell(plat, bar, &self.db, true);
        }
    }

    fn handle_eqe(&mut self, ty: u8, d0: u32) {
        match ty {
            eqe_type::COMPLETION => {
                if d0 & GDMA_QUEUE_ID_MASK != self.ids.cq_id {
                    stats::inc(&mut self.stats.hwc_bad_eqes);
                }
            }
            eqe_type::TEST_EVENT => self.events.test_event = true,
            eqe_type::HWC_FPGA_RECONFIG => self.events.fpga_reconfig = true,
            eqe_type::HWC_RESET_REQUEST => self.events.reset_request = Some(d0),
            eqe_type::HWC_SOC_RECONFIG_DATA => {
                let d = HwcTypeData(d0);
                match d.data_type() {
                    reconfig_data::HWC_TIMEOUT => self.events.hwc_timeout_ms = Some(d.value()),
                    reconfig_data::LINK_CONNECT => self.events.link = Some(true),
                    reconfig_data::LINK_DISCONNECT => self.events.link = Some(false),
                    _ => stats::inc(&mut self.stats.hwc_unknown_eqes),
                }
            }
            eqe_type::HWC_SOC_SERVICE => {
                let s = HwcSocService(d0);
                self.events.soc_service = Some((s.service_type(), s.value()));
            }
            _ => stats::inc(&mut self.stats.hwc_unknown_eqes),
        }
    }

    /// Validate one RQ completion; on success stage the response and return its slot.
    fn take_response(&mut self, oob: &HwcRxOob) -> Option<(u16, HwcDone)> {
        let due = self.rq.offset_of(self.rq.tail_bu());
        if oob.wqe_offset != due || self.rq.head_bu() == self.rq.tail_bu() {
            // Not the WQE the device must consume next: nothing can be trusted.
            stats::inc(&mut self.stats.hwc_bad_responses);
            self.violation = true;
            return None;
        }
        let pos = (due >> WQE_BU_SHIFT) as usize;
        let buf = self.rq_wqe_buf.get(pos).copied().unwrap_or(u16::MAX);
        let result = self.stage(buf, oob.tx_oob_data_size);
        // Give the buffer back to the device before anyone looks at the result.
        if self.rq.advance_tail(RQ_WQE_BU).is_err() || self.post_rq_buffer(buf).is_err() {
            self.violation = true;
        }
        if result.is_none() {
            stats::inc(&mut self.stats.hwc_bad_responses);
            self.violation = true;
        }
        result
    }

    fn stage(&mut self, buf: u16, len: u32) -> Option<(u16, HwcDone)> {
        if usize::from(buf) >= self.resp_buf.len() / HWC_SLOT_SIZE as usize
            || len < RESP_HDR_SIZE
            || len > self.max_resp.min(HWC_SLOT_SIZE)
        {
            return None;
        }
        let base = buf as usize * HWC_SLOT_SIZE as usize;
        let mut hdr_raw = [0u8; RESP_HDR_SIZE as usize];
        self.resp_buf.read_bytes(base, &mut hdr_raw);
        let hdr = GdmaRespHdr::read_from_bytes(&hdr_raw).ok()?;
        let id = hdr.resp.hwc_msg_id;
        let exp = (*self.expected.get(usize::from(id))?)?;
        if hdr.resp.msg_type != exp.msg_type || hdr.resp.msg_version < 1 {
            return None;
        }
        if exp.msg_type >> MSG_TYPE_CLASS_SHIFT != 0
            && (hdr.activity_id != exp.activity_id || hdr.dev_id != exp.dev_id)
        {
            return None;
        }
        let dst_base = usize::from(id) * HWC_SLOT_SIZE as usize;
        let dst = self.staging.get_mut(dst_base..dst_base + len as usize)?;
        self.resp_buf.read_bytes(base, dst);
        if let Some(e) = self.expected.get_mut(usize::from(id)) {
            *e = None;
        }
        // The request WQE is certainly consumed once its response is here.
        let _ = self.sq.advance_tail(crate::hwc::HWC_SQ_WQE_BU);
        Some((id, HwcDone { len }))
    }
}

/// The per-operation view the engine drives.
pub(crate) struct HwcChan<'a, P: Platform, R: RegisterBar> {
    pub plat: &'a P,
    pub bar: &'a R,
    pub rings: &'a mut HwcRings<P>,
}

impl<P: Platform, R: RegisterBar> CmdChannel for HwcChan<'_, P, R> {
    type Command = [u8];
    type Completion = HwcDone;

    fn post(&mut self, id: u16, cmd: &[u8]) -> Result<(), Error> {
        let r = &mut *self.rings;
        let len = u32::try_from(cmd.len()).map_err(|_| Error::NoSpace)?;
        if len > HWC_SLOT_SIZE || cmd.len() < REQ_HWC_MSG_ID_OFFSET + 2 {
            return Err(Error::Unsupported);
        }
        let slot = usize::from(id) * HWC_SLOT_SIZE as usize;
        if slot + cmd.len() > r.req_buf.len() {
            return Err(Error::NoSpace);
        }
        let hdr = crate::defs::msg::GdmaReqHdr::read_from_prefix(cmd)
            .map_err(|_| Error::Unsupported)?
            .0;
        r.req_buf.write_bytes(slot, cmd);
        r.req_buf
            .write_bytes(slot + REQ_HWC_MSG_ID_OFFSET, id.as_bytes());
        let oob = match r.ids.pf_dest {
            Some((rq, cq)) => HwcTxOob::pf(r.ids.cq_id, r.ids.sq_id, rq, cq),
            None => HwcTxOob::vf(r.ids.cq_id, r.ids.sq_id),
        };
        let sge = Sge {
            address: r.req_buf.bus_addr().wrapping_add(slot as u64),
            mem_key: r.ids.gpa_mkey,
            size: len,
        };
        r.sq.post(&WqeRequest {
            oob: oob.as_bytes(),
            sgl: &[sge],
            client_data_unit: 0,
            oob_in_sgl: false,
        })
        .map_err(|_| Error::NoSpace)?;
        if let Some(e) = r.expected.get_mut(usize::from(id)) {
            *e = Some(Expected {
                msg_type: hdr.req.msg_type,
                activity_id: hdr.activity_id,
                dev_id: hdr.dev_id,
            });
        }
        stats::inc(&mut r.stats.hwc_requests);
        r.db.ring_sq(self.plat, self.bar, r.ids.sq_id, r.sq.doorbell_tail_bytes());
        Ok(())
    }

    fn next_completion(&mut self) -> Option<(u16, HwcDone)> {
        let (plat, bar) = (self.plat, self.bar);
        let r = &mut *self.rings;
        r.drain_eq(plat, bar);
        let mut consumed = false;
        let mut found = None;
        for _ in 0..r.cq.entries() {
            match r.cq.poll(plat) {
                QueueEntry::Empty => break,
                QueueEntry::Overflow => {
                    stats::inc(&mut r.stats.hwc_overflows);
                    r.violation = true;
                    break;
                }
                QueueEntry::Entry(cqe) => {
                    consumed = true;
                    let info = cqe.info();
                    if info.is_sq() {
                        if info.wq_num() == r.ids.sq_id {
                            stats::inc(&mut r.stats.hwc_sq_completions);
                        } else {
                            stats::inc(&mut r.stats.hwc_bad_cqes);
                            r.violation = true;
                        }
                        continue;
                    }
                    if info.wq_num() != r.ids.rq_id {
                        stats::inc(&mut r.stats.hwc_bad_cqes);
                        r.violation = true;
                        continue;
                    }
                    let Ok((oob, _)) = HwcRxOob::read_from_prefix(&cqe.data) else {
                        continue;
                    };
                    if let Some(done) = r.take_response(&oob) {
                        found = Some(done);
                        break;
                    }
                }
            }
        }
        if consumed {
            r.db.ring_rq(plat, bar, r.ids.rq_id, r.rq.doorbell_tail_bytes());
            r.cq.ring_doorbell(plat, bar, &r.db, true);
        }
        found
    }
}
