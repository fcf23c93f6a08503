//! The hardware channel, device side (mana.md §3): ESTABLISH_HWC builds the
//! four single-page HWC queues and posts the init EQEs; a request WQE on the
//! HWC SQ (24-byte OOB + one SGE) is read, completed on the HWC CQ, executed,
//! and its response written into the next posted HWC RQ buffer with an RQ
//! CQE whose `hwc_rx_oob` names the WQE offset and the response size.
//!
//! Every response echoes the request's code, slot id, device id and
//! activity id (Linux and cloudnic reject any mismatch). Faults can swallow,
//! drop, delay, duplicate, corrupt or fail a response. DESTROY_HWC tears down
//! every object of the function: the driver frees the memory afterwards.

use std::collections::VecDeque;

use cloudnic_mana::defs::hwc::{
    init_data, HwcInitEqIdDb, HwcRxOob, HwcTxOob, HwcTypeData, HWC_QUEUE_SIZE,
};
use cloudnic_mana::defs::msg::{
    GdmaMsgHdr, GdmaReqHdr, GdmaRespHdr, GDMA_STANDARD_HEADER_TYPE, MSG_TYPE_CLASS_SHIFT,
};
use cloudnic_mana::defs::queue::{
    eqe_type, CqeInfo, CQE_DATA_SIZE, CQE_SIZE, EQE_SIZE, GDMA_QUEUE_ID_MASK,
};
use cloudnic_mana::defs::regs::PCI_DEVICE_ID_PF;
use cloudnic_mana::defs::smc::SmcEstablishHwc;
use zerocopy::{FromBytes, IntoBytes};

use super::faults::{HwcAction, HwcCorruption};
use super::queues::{
    alloc_id, Cq, Eq, QueueMem, QueueOwner, Wq, WqKind, CQ_ID_BASE, EQ_ID_BASE, WQ_ID_BASE,
};
use super::regs::SMC_STATUS_REFUSED;
use super::wqe::read_wqe;
use super::ManaModel;
use crate::ledger::BufKind;
use crate::mem::GuestMemory;

/// Size of the response header.
const RESP_HDR: usize = core::mem::size_of::<GdmaRespHdr>();
/// Size of the request header.
const REQ_HDR: usize = core::mem::size_of::<GdmaReqHdr>();
/// HWC EQs carry 16-bit ids (HWC_INIT_EQ_ID_DB, mana.md §3.2).
const EQ_ID_LIMIT: u32 = 0x1_0000;

/// Ids of the HWC queues and responses not yet delivered.
#[derive(Debug)]
pub(crate) struct HwcState {
    pub eq: u32,
    pub cq: u32,
    pub rq: u32,
    pub sq: u32,
    /// Responses due at a virtual time (late-response fault).
    pub delayed: Vec<(u64, Vec<u8>)>,
    /// Responses waiting for a receive buffer.
    pub waiting: VecDeque<Vec<u8>>,
}

/// A handler's answer: status and the whole response (header filled later).
pub(crate) struct Reply {
    pub status: u32,
    pub bytes: Vec<u8>,
    /// Response version, if not the one the request asked for.
    pub version: Option<u16>,
}

impl Reply {
    /// Success with a response struct (its header is overwritten).
    pub fn ok<T: IntoBytes + zerocopy::Immutable>(resp: &T) -> Self {
        Reply {
            status: 0,
            bytes: resp.as_bytes().to_vec(),
            version: None,
        }
    }
    /// A header-only response with `status`.
    pub fn status(status: u32) -> Self {
        Reply {
            status,
            bytes: vec![0; RESP_HDR],
            version: None,
        }
    }
}

impl<M: GuestMemory + ?Sized> ManaModel<M> {
    /// SMC ESTABLISH_HWC: create the HWC queues and post the init EQEs
    /// (mana.md §3.1 steps 4–5, §3.2). Returns the SMC status.
    pub(crate) fn establish_hwc(&mut self, msg: &SmcEstablishHwc) -> u8 {
        if self.hwc.is_some() {
            return SMC_STATUS_REFUSED;
        }
        let addrs = [msg.eq_addr(), msg.cq_addr(), msg.rq_addr(), msg.sq_addr()];
        if addrs.contains(&0) {
            return SMC_STATUS_REFUSED;
        }
        let owner = QueueOwner {
            db_page: u32::from(self.cfg.hwc_db_page),
            hwc: true,
        };
        let armed = self.cfg.queues_start_armed;
        let Some(eq_id) = alloc_id(&self.q.eqs, EQ_ID_BASE, EQ_ID_LIMIT) else {
            return SMC_STATUS_REFUSED;
        };
        let Some(cq_id) = alloc_id(&self.q.cqs, CQ_ID_BASE, self.cfg.max_cq) else {
            return SMC_STATUS_REFUSED;
        };
        let Some(sq_id) = alloc_id(&self.q.wqs, WQ_ID_BASE, GDMA_QUEUE_ID_MASK) else {
            return SMC_STATUS_REFUSED;
        };
        let eq_entries = HWC_QUEUE_SIZE / EQE_SIZE;
        let cq_entries = HWC_QUEUE_SIZE / CQE_SIZE;
        self.q.eqs.insert(
            eq_id,
            Eq {
                mem: QueueMem::contiguous(addrs[0], HWC_QUEUE_SIZE),
                entries: eq_entries,
                tail: eq_entries,
                consumer: eq_entries,
                armed,
                msix: msg.msix_index,
                owner,
            },
        );
        self.q.cqs.insert(
            cq_id,
            Cq {
                mem: QueueMem::contiguous(addrs[1], HWC_QUEUE_SIZE),
                entries: cq_entries,
                tail: cq_entries,
                consumer: cq_entries,
                since_db: 0,
                armed,
                eq: eq_id,
                owner,
            },
        );
        self.q.wqs.insert(
            sq_id,
            Wq::new(
                WqKind::Send,
                QueueMem::contiguous(addrs[3], HWC_QUEUE_SIZE),
                cq_id,
                owner,
            ),
        );
        let Some(rq_id) = alloc_id(&self.q.wqs, WQ_ID_BASE, GDMA_QUEUE_ID_MASK) else {
            return SMC_STATUS_REFUSED;
        };
        self.q.wqs.insert(
            rq_id,
            Wq::new(
                WqKind::Receive,
                QueueMem::contiguous(addrs[2], HWC_QUEUE_SIZE),
                cq_id,
                owner,
            ),
        );
        self.hwc = Some(HwcState {
            eq: eq_id,
            cq: cq_id,
            rq: rq_id,
            sq: sq_id,
            delayed: Vec::new(),
            waiting: VecDeque::new(),
        });

        let c = &self.cfg;
        let mut data = vec![
            (init_data::CQID, cq_id),
            (init_data::RQID, rq_id),
            (init_data::SQID, sq_id),
            (init_data::QUEUE_DEPTH, c.hwc_queue_depth),
            (init_data::MAX_REQUEST, c.hwc_max_request),
            (init_data::MAX_RESPONSE, c.hwc_max_response),
            (init_data::MAX_NUM_CQS, c.max_cq),
            (init_data::PDID, c.hwc_pdid),
            (init_data::GPA_MKEY, c.hwc_gpa_mkey),
        ];
        if c.device_id == PCI_DEVICE_ID_PF {
            data.push((init_data::PF_DEST_RQ_ID, rq_id));
            data.push((init_data::PF_DEST_CQ_ID, cq_id));
        }
        let db = HwcInitEqIdDb::new(eq_id as u16, c.hwc_db_page).0;
        self.post_eqe(eq_id, eqe_type::HWC_INIT_EQ_ID_DB, [db, 0, 0]);
        for (ty, v) in data {
            self.post_eqe(
                eq_id,
                eqe_type::HWC_INIT_DATA,
                [HwcTypeData::new(ty, v).0, 0, 0],
            );
        }
        self.post_eqe(eq_id, eqe_type::HWC_INIT_DONE, [0; 3]);
        0
    }

    /// SMC DESTROY_HWC: drop the HWC and every object of the function; the
    /// driver may free the memory once the window is answered.
    pub(crate) fn destroy_hwc(&mut self) {
        self.counters.hwc_destroys += 1;
        let hwc_objects = if self.hwc.is_some() { 4 + 2 } else { 0 };
        let live = self.q.eqs.len() + self.q.cqs.len() + self.q.wqs.len() + self.q.regions.len();
        self.counters.objects_dropped += live.saturating_sub(hwc_objects) as u64;
        self.hwc = None;
        // Handles stay unique across channels: a stale one is refused.
        let (next_region, next_handle) = (self.q.next_region, self.q.next_handle);
        self.q = Default::default();
        (self.q.next_region, self.q.next_handle) = (next_region, next_handle);
        self.gdma.registered = false;
        for v in self.vports.iter_mut() {
            *v = Default::default();
        }
        if !self.cfg.zero_latency {
            self.ledger.flush_all();
        }
    }

    /// HWC SQ doorbell: read each new request WQE, complete it, execute it.
    pub(crate) fn hwc_sq_doorbell(&mut self, sq_id: u32) {
        loop {
            let Some(wq) = self.q.wqs.get(&sq_id) else {
                return;
            };
            if wq.consumer == wq.producer {
                return;
            }
            let avail = wq.producer.wrapping_sub(wq.consumer);
            let parsed = read_wqe(&*self.mem, wq, wq.consumer, avail);
            let Ok(w) = parsed else {
                // Nothing after a bad WQE can be trusted: drop what is posted.
                self.counters.bad_wqes += 1;
                if let Some(wq) = self.q.wqs.get_mut(&sq_id) {
                    wq.consumer = wq.producer;
                }
                return;
            };
            if let Some(wq) = self.q.wqs.get_mut(&sq_id) {
                wq.consumer = wq.consumer.wrapping_add(w.size);
            }
            let Some(cq) = self.hwc.as_ref().map(|h| h.cq) else {
                return;
            };
            self.post_cqe(cq, &[0; CQE_DATA_SIZE], |o| CqeInfo::new(sq_id, true, o));
            let oob = HwcTxOob::read_from_prefix(&w.oob[..w.oob_len as usize])
                .map(|(o, _)| o)
                .unwrap_or_default();
            let sge = w.sges[0];
            let ok = w.oob_len == 24
                && w.sges.len() == 1
                && oob.sq_id() == sq_id
                && oob.cq_id() == cq
                && (sge.size as usize) >= REQ_HDR
                && sge.size <= self.cfg.hwc_max_request;
            if sge.mem_key != self.cfg.hwc_gpa_mkey {
                self.counters.bad_mem_keys += 1;
            }
            if !ok || sge.mem_key != self.cfg.hwc_gpa_mkey {
                self.counters.bad_wqes += 1;
                continue;
            }
            let mut req = vec![0u8; sge.size as usize];
            if !self.dma_read(sge.address, &mut req) {
                continue;
            }
            self.hwc_request(&req);
        }
    }

    /// HWC RQ doorbell: fetch the receive buffers, deliver waiting responses.
    pub(crate) fn hwc_rq_doorbell(&mut self, rq_id: u32) {
        self.fetch_rx_wqes(rq_id);
        while self.q.wqs.get(&rq_id).is_some_and(|w| !w.rx.is_empty()) {
            let Some(resp) = self.hwc.as_mut().and_then(|h| h.waiting.pop_front()) else {
                break;
            };
            self.hwc_deliver(resp, None);
        }
    }

    /// Execute one request and send (or not) its response.
    fn hwc_request(&mut self, req: &[u8]) {
        let Ok((hdr, _)) = GdmaReqHdr::read_from_prefix(req) else {
            self.counters.bad_wqes += 1;
            return;
        };
        let code = hdr.req.msg_type;
        *self.counters.hwc_requests.entry(code).or_insert(0) += 1;
        let action = if self.faults.idle() {
            None
        } else {
            self.faults.hwc(code)
        };
        let reply = match action {
            Some(HwcAction::NoResponse) => return,
            Some(HwcAction::Status(s)) => Reply::status(s),
            _ => self.execute(&hdr, req),
        };
        if reply.status != 0 {
            self.counters.hwc_errors += 1;
        }
        let resp = frame_response(&hdr, reply);
        match action {
            Some(HwcAction::Drop) => {}
            Some(HwcAction::Delay(us)) => {
                let due = self.now().saturating_add(us);
                if let Some(h) = self.hwc.as_mut() {
                    h.delayed.push((due, resp));
                }
            }
            Some(HwcAction::Duplicate) => {
                self.hwc_deliver(resp.clone(), None);
                self.hwc_deliver(resp, None);
            }
            Some(HwcAction::Corrupt(kind)) => self.hwc_deliver(corrupt(resp, kind), Some(kind)),
            _ => self.hwc_deliver(resp, None),
        }
    }

    /// Route a request: GDMA-level codes (upper half 0) or MANA Ethernet
    /// (upper half = device class, mana.md §3.4).
    fn execute(&mut self, hdr: &GdmaReqHdr, req: &[u8]) -> Reply {
        let size_ok = hdr.req.hdr_type == GDMA_STANDARD_HEADER_TYPE
            && hdr.req.msg_version >= 1
            && (hdr.req.msg_size as usize) <= req.len()
            && (hdr.req.msg_size as usize) >= REQ_HDR;
        if !size_ok {
            return Reply::status(super::gdma_cmds::STATUS_INVALID);
        }
        let body = &req[..hdr.req.msg_size as usize];
        if hdr.req.msg_type >> MSG_TYPE_CLASS_SHIFT == 0 {
            self.gdma_request(hdr, body)
        } else {
            self.eth_request(hdr, body)
        }
    }

    /// Write a response into the next HWC receive buffer and complete it.
    fn hwc_deliver(&mut self, resp: Vec<u8>, corruption: Option<HwcCorruption>) {
        let Some(h) = self.hwc.as_ref() else { return };
        let (rq, cq) = (h.rq, h.cq);
        let Some(wqe) = self.q.wqs.get_mut(&rq).and_then(|w| w.rx.pop_front()) else {
            self.counters.hwc_responses_waiting += 1;
            if let Some(h) = self.hwc.as_mut() {
                h.waiting.push_back(resp);
            }
            return;
        };
        if let Some(w) = self.q.wqs.get_mut(&rq) {
            w.consumer = w.consumer.wrapping_add(wqe.size);
        }
        let sge = wqe.sges[0];
        let n = resp.len().min(sge.size as usize);
        self.dma_write(sge.address, &resp[..n]);
        let mut len = n as u32;
        if corruption == Some(HwcCorruption::Oversize) {
            len = sge.size.saturating_add(64);
        }
        let oob = HwcRxOob::response(wqe.offset, len);
        let mut data = [0u8; CQE_DATA_SIZE];
        data[..core::mem::size_of::<HwcRxOob>()].copy_from_slice(oob.as_bytes());
        self.post_cqe(cq, &data, |o| CqeInfo::new(rq, false, o));
    }

    /// Deliver late responses that are due.
    pub(crate) fn hwc_timers(&mut self, now: u64) {
        let Some(h) = self.hwc.as_mut() else { return };
        if h.delayed.is_empty() {
            return;
        }
        let (due, later): (Vec<_>, Vec<_>) = std::mem::take(&mut h.delayed)
            .into_iter()
            .partition(|(t, _)| *t <= now);
        h.delayed = later;
        for (_, resp) in due {
            self.hwc_deliver(resp, None);
        }
    }

    /// Fetch new receive WQEs of `rq_id` (HWC or data) at its doorbell:
    /// each is validated, recorded in the ledger and queued in post order.
    pub(crate) fn fetch_rx_wqes(&mut self, rq_id: u32) {
        let strict = !self.cfg.zero_latency;
        let hwc_key = self.cfg.hwc_gpa_mkey;
        let mana_key = self.cfg.mana_gpa_mkey;
        loop {
            let Some(wq) = self.q.wqs.get(&rq_id) else {
                return;
            };
            if wq.fetched == wq.producer || wq.disabled {
                return;
            }
            let avail = wq.producer.wrapping_sub(wq.fetched);
            let key = if wq.owner.hwc { hwc_key } else { mana_key };
            let parsed = read_wqe(&*self.mem, wq, wq.fetched, avail);
            let w = match parsed {
                Ok(w)
                    if w.oob_len == 8
                        && w.oob[..8].iter().all(|b| *b == 0)
                        && !w.header.params().oob_in_sgl() =>
                {
                    w
                }
                _ => {
                    // The receive ring is unusable from here on.
                    self.counters.bad_wqes += 1;
                    if let Some(wq) = self.q.wqs.get_mut(&rq_id) {
                        wq.disabled = true;
                    }
                    return;
                }
            };
            if w.sges.iter().any(|s| s.mem_key != key) {
                self.counters.bad_mem_keys += 1;
            }
            let Some(wq) = self.q.wqs.get_mut(&rq_id) else {
                return;
            };
            wq.fetched = wq.fetched.wrapping_add(w.size);
            let hwc = wq.owner.hwc;
            let first = w.sges[0];
            wq.rx.push_back(super::queues::RxWqe {
                offset: w.offset,
                size: w.size,
                sges: w.sges,
            });
            if strict && !hwc {
                let total = wq
                    .rx
                    .back()
                    .map_or(0, |r| r.sges.iter().map(|s| s.size).sum::<u32>());
                self.ledger.post(
                    BufKind::Rx,
                    rq_id as u16,
                    first.address,
                    first.address,
                    total,
                    u64::from(w.offset),
                );
            }
        }
    }
}

/// Fill in the response header: the request's code, slot id, device id and
/// activity id, the version the driver asked for, the size and status.
fn frame_response(req: &GdmaReqHdr, reply: Reply) -> Vec<u8> {
    let mut bytes = reply.bytes;
    if bytes.len() < RESP_HDR {
        bytes.resize(RESP_HDR, 0);
    }
    let hdr = GdmaRespHdr {
        resp: GdmaMsgHdr {
            hdr_type: GDMA_STANDARD_HEADER_TYPE,
            msg_type: req.req.msg_type,
            msg_version: reply.version.unwrap_or(req.resp.msg_version).max(1),
            hwc_msg_id: req.req.hwc_msg_id,
            msg_size: bytes.len() as u32,
        },
        dev_id: req.dev_id,
        activity_id: req.activity_id,
        status: reply.status,
        reserved: 0,
    };
    bytes[..RESP_HDR].copy_from_slice(hdr.as_bytes());
    bytes
}

/// Break a framed response as the fault asks.
fn corrupt(mut resp: Vec<u8>, kind: HwcCorruption) -> Vec<u8> {
    if let Ok((mut hdr, _)) = GdmaRespHdr::read_from_prefix(&resp) {
        match kind {
            HwcCorruption::WrongActivityId => {
                hdr.activity_id = hdr.activity_id.wrapping_add(0x1000)
            }
            HwcCorruption::WrongMsgId => hdr.resp.hwc_msg_id = hdr.resp.hwc_msg_id.wrapping_add(7),
            HwcCorruption::WrongMsgType => hdr.resp.msg_type ^= 0x40,
            HwcCorruption::Oversize => {}
        }
        resp[..RESP_HDR].copy_from_slice(hdr.as_bytes());
    }
    resp
}
