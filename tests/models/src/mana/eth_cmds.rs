//! MANA Ethernet HWC requests (mana.md §6.2–§6.4, §8): device and vPort
//! configuration, TX configuration, WQ objects (an SQ or RQ with its CQ),
//! fences, RX steering with RSS, statistics, link and the PF-only port and
//! filter registration.
//!
//! Every request must name the registered MANA device. WQ objects consume
//! their two DMA regions, whose sizes must match the queue sizes; the RSS
//! table holds RX object handles, each of which must be an RQ of the vPort.

use cloudnic_mana::defs::eth::{
    code, ConfigVportRxReq, ConfigVportRxResp, ConfigVportTxReq, ConfigVportTxResp, CreateWqObjReq,
    CreateWqObjResp, CreateWqObjRespV2, DestroyWqObjReq, FenceRqReq, HandleResp,
    QueryDevConfigResp, QueryLinkConfigReq, QueryLinkConfigResp, QueryVportConfigReq,
    QueryVportConfigResp, SetBwClampResp, CONFIG_VPORT_RX_V1_SIZE, MANA_HASH_KEY_SIZE,
    MANA_INDIRECT_TABLE_MAX, TRI_STATE_FALSE, TRI_STATE_TRUE, WQ_TYPE_RQ, WQ_TYPE_SQ,
};
use cloudnic_mana::defs::eth_dp::{cqe_type, CqeHeader, RxCompOob, MANA_CQE_COMPLETION};
use cloudnic_mana::defs::eth_stats::{
    QueryGfStatReq, QueryGfStatResp, QueryPhyStatResp, GF_STAT_ALL, PHY_STAT_COUNT,
};
use cloudnic_mana::defs::msg::{
    GdmaReqHdr, GDMA_MESSAGE_V2, GDMA_MESSAGE_V3, GDMA_STATUS_CMD_UNSUPPORTED,
};
use cloudnic_mana::defs::queue::{
    CqeInfo, CQE_DATA_SIZE, CQE_SIZE, GDMA_QUEUE_ID_MASK, MIN_QUEUE_SIZE,
};
use cloudnic_mana::defs::regs::PCI_DEVICE_ID_PF;
use zerocopy::{FromZeros, IntoBytes};

use super::gdma_cmds::{parse, u64_at, STATUS_INVALID, STATUS_NOT_FOUND, STATUS_NO_RESOURCE};
use super::hwc::Reply;
use super::queues::{alloc_id, Cq, QueueOwner, Wq, WqKind, CQ_ID_BASE, WQ_ID_BASE};
use super::ManaModel;
use crate::ledger::BufKind;
use crate::mem::GuestMemory;

/// vPort handles: this base plus the index (any non-all-ones value is legal).
const VPORT_HANDLE_BASE: u64 = 0x5650_0000;
/// First WQ object handle.
const OBJ_HANDLE_BASE: u64 = 0x0B1E_C700_0000;
/// PHY counter slots of traffic class 0 (rx pkt, tx pkt, rx byte, tx byte),
/// in QUERY_PHY_STAT order (mana.md §8).
const PHY_TC0: [usize; 4] = [2, 3, 18, 19];

/// RX/TX state of one vPort.
#[derive(Clone, Debug)]
pub(crate) struct VportState {
    /// CONFIG_VPORT_TX done.
    pub tx_configured: bool,
    pub rx_enable: bool,
    pub rss_enable: bool,
    pub key: [u8; MANA_HASH_KEY_SIZE],
    /// RX object handle per indirection entry.
    pub table: Vec<u64>,
    pub default_rxobj: u64,
    pub coalescing: bool,
}

impl Default for VportState {
    fn default() -> Self {
        VportState {
            tx_configured: false,
            rx_enable: false,
            rss_enable: false,
            key: [0; MANA_HASH_KEY_SIZE],
            table: Vec::new(),
            default_rxobj: u64::MAX,
            coalescing: false,
        }
    }
}

impl<M: GuestMemory + ?Sized> ManaModel<M> {
    /// vPort index of a handle.
    pub(crate) fn vport_of(&self, handle: u64) -> Option<usize> {
        let i = usize::try_from(handle.checked_sub(VPORT_HANDLE_BASE)?).ok()?;
        (i < self.cfg.vports.len()).then_some(i)
    }

    /// TX vPort offset of vPort `i` (CONFIG_VPORT_TX).
    pub(crate) fn tx_vport_offset(&self, i: usize) -> u16 {
        self.cfg.tx_vport_offset_base.wrapping_add(i as u16)
    }

    pub(crate) fn eth_request(&mut self, hdr: &GdmaReqHdr, body: &[u8]) -> Reply {
        // QUERY_DEV_CONFIG is answered before REGISTER_DEVICE: upstream
        // mana.ko (7.2) sends it from GDMA setup, right after LIST_DEVICES,
        // to size its MSI-X and queue budget per vPort, and registers the
        // device only later in its probe (mana.md §3.1 step 8, §14).
        let before_register = hdr.req.msg_type == code::QUERY_DEV_CONFIG;
        if hdr.dev_id != self.mana_dev_id() || !(self.gdma.registered || before_register) {
            return Reply::status(STATUS_NOT_FOUND);
        }
        let pf = self.cfg.device_id == PCI_DEVICE_ID_PF;
        match hdr.req.msg_type {
            code::QUERY_DEV_CONFIG => {
                let c = &self.cfg;
                let mut r = QueryDevConfigResp::new_zeroed();
                r.pf_cap_flags1 = c.dev_cap_flags;
                r.max_num_vports = c.vports.len() as u16;
                r.max_num_eqs = c.max_num_eqs;
                r.adapter_mtu = c.adapter_mtu;
                r.adapter_link_speed_mbps = c.link_speed_mbps;
                let mut reply = Reply::ok(&r);
                reply.version = Some(hdr.resp.msg_version.clamp(1, c.dev_config_version.max(1)));
                reply
            }
            code::QUERY_VPORT_CONFIG => match parse::<QueryVportConfigReq>(body) {
                Some(q) => match self.cfg.vports.get(q.vport_index as usize) {
                    Some(v) => Reply::ok(&QueryVportConfigResp {
                        max_num_sq: v.max_sq,
                        max_num_rq: v.max_rq,
                        num_indirection_ent: v.indirection_entries,
                        mac_addr: v.mac,
                        vport: VPORT_HANDLE_BASE + u64::from(q.vport_index),
                        ..Default::default()
                    }),
                    None => Reply::status(STATUS_NOT_FOUND),
                },
                None => Reply::status(STATUS_INVALID),
            },
            code::CONFIG_VPORT_TX => {
                let Some(q) = parse::<ConfigVportTxReq>(body) else {
                    return Reply::status(STATUS_INVALID);
                };
                let Some(i) = self.vport_of(q.vport) else {
                    return Reply::status(STATUS_NOT_FOUND);
                };
                if q.pdid != self.cfg.mana_pdid || q.doorbell_pageid != self.cfg.mana_db_page {
                    return Reply::status(STATUS_INVALID);
                }
                self.vports[i].tx_configured = true;
                let r = ConfigVportTxResp {
                    tx_vport_offset: self.tx_vport_offset(i),
                    short_form_allowed: u8::from(self.cfg.short_form_allowed),
                    ..Default::default()
                };
                Reply::ok(&r)
            }
            code::CREATE_WQ_OBJ => self.create_wq_obj(hdr, body),
            code::DESTROY_WQ_OBJ => {
                let Some(q) = parse::<DestroyWqObjReq>(body) else {
                    return Reply::status(STATUS_INVALID);
                };
                self.destroy_wq_obj(q.wq_type, q.wq_obj_handle)
            }
            code::FENCE_RQ => {
                let Some(q) = parse::<FenceRqReq>(body) else {
                    return Reply::status(STATUS_INVALID);
                };
                match self.q.obj_handles.get(&q.wq_obj_handle).copied() {
                    Some(rq)
                        if self
                            .q
                            .wqs
                            .get(&rq)
                            .is_some_and(|w| w.kind == WqKind::Receive) =>
                    {
                        self.post_fence(rq);
                        Reply::status(0)
                    }
                    _ => Reply::status(STATUS_NOT_FOUND),
                }
            }
            code::CONFIG_VPORT_RX => self.config_vport_rx(hdr, body),
            code::QUERY_GF_STAT => match parse::<QueryGfStatReq>(body) {
                Some(q) => {
                    let mut r = QueryGfStatResp::new_zeroed();
                    r.reported_stats = q.req_stats & GF_STAT_ALL;
                    r.counters = self.gf.0;
                    Reply::ok(&r)
                }
                None => Reply::status(STATUS_INVALID),
            },
            code::QUERY_PHY_STAT => {
                let mut r = QueryPhyStatResp::new_zeroed();
                r.reported_stats = (1u64 << PHY_STAT_COUNT) - 1;
                let c = &self.counters;
                for (slot, v) in
                    PHY_TC0
                        .iter()
                        .zip([c.frames_rx, c.frames_tx, c.bytes_rx, c.bytes_tx])
                {
                    r.counters[*slot] = v;
                }
                r.counters[0] = c.rx_dropped;
                r.counters[1] = c.tx_dropped;
                Reply::ok(&r)
            }
            code::QUERY_LINK_CONFIG => {
                match parse::<QueryLinkConfigReq>(body).and_then(|q| self.vport_of(q.vport)) {
                    Some(_) => Reply::ok(&QueryLinkConfigResp {
                        qos_speed_mbps: self.cfg.link_speed_mbps,
                        link_speed_mbps: self.cfg.link_speed_mbps,
                        ..Default::default()
                    }),
                    None => Reply::status(STATUS_NOT_FOUND),
                }
            }
            code::SET_BW_CLAMP => Reply::ok(&SetBwClampResp::default()),
            code::REGISTER_HW_PORT | code::REGISTER_FILTER if pf => {
                let h = self.next_handle();
                Reply::ok(&HandleResp {
                    handle: h,
                    ..Default::default()
                })
            }
            code::DEREGISTER_HW_PORT | code::DEREGISTER_FILTER if pf => Reply::status(0),
            _ => Reply::status(GDMA_STATUS_CMD_UNSUPPORTED),
        }
    }

    fn next_handle(&mut self) -> u64 {
        self.q.next_handle += 1;
        OBJ_HANDLE_BASE + self.q.next_handle
    }

    /// CREATE_WQ_OBJ (V1, or V3 with moderation): an SQ or RQ and its CQ.
    fn create_wq_obj(&mut self, hdr: &GdmaReqHdr, body: &[u8]) -> Reply {
        let Some(q) = parse::<CreateWqObjReq>(body) else {
            return Reply::status(STATUS_INVALID);
        };
        let Some(vp) = self.vport_of(q.vport) else {
            return Reply::status(STATUS_NOT_FOUND);
        };
        let kind = match q.wq_type {
            WQ_TYPE_SQ => WqKind::Send,
            WQ_TYPE_RQ => WqKind::Receive,
            _ => return Reply::status(STATUS_INVALID),
        };
        let sizes_ok = q.wq_size >= MIN_QUEUE_SIZE
            && q.wq_size.is_power_of_two()
            && q.cq_size >= MIN_QUEUE_SIZE
            && q.cq_size.is_power_of_two();
        let parent_ok = self
            .q
            .eqs
            .get(&q.cq_parent_qid)
            .is_some_and(|e| !e.owner.hwc);
        let regions_ok = [(q.wq_gdma_region, q.wq_size), (q.cq_gdma_region, q.cq_size)]
            .iter()
            .all(|(h, s)| {
                self.q
                    .regions
                    .get(h)
                    .is_some_and(|r| r.complete() && r.length == u64::from(*s))
            });
        if !sizes_ok || !parent_ok || !regions_ok || q.wq_gdma_region == q.cq_gdma_region {
            return Reply::status(STATUS_INVALID);
        }
        let (per_vport, total) = match kind {
            WqKind::Send => (self.cfg.vports[vp].max_sq, self.cfg.max_sq),
            WqKind::Receive => (self.cfg.vports[vp].max_rq, self.cfg.max_rq),
        };
        let of_kind = |v: Option<u16>| {
            self.q
                .wqs
                .values()
                .filter(|w| w.kind == kind && !w.owner.hwc && (v.is_none() || w.vport == v))
                .count() as u32
        };
        if of_kind(Some(vp as u16)) >= per_vport || of_kind(None) >= total {
            return Reply::status(STATUS_NO_RESOURCE);
        }
        let Some(wq_id) = alloc_id(&self.q.wqs, WQ_ID_BASE, GDMA_QUEUE_ID_MASK) else {
            return Reply::status(STATUS_NO_RESOURCE);
        };
        let Some(cq_id) = alloc_id(&self.q.cqs, CQ_ID_BASE, self.cfg.max_cq) else {
            return Reply::status(STATUS_NO_RESOURCE);
        };
        let (Ok(wq_mem), Ok(cq_mem)) = (
            self.take_region(q.wq_gdma_region, q.wq_size),
            self.take_region(q.cq_gdma_region, q.cq_size),
        ) else {
            return Reply::status(STATUS_INVALID);
        };
        let owner = QueueOwner {
            db_page: self.cfg.mana_db_page,
            hwc: false,
        };
        let entries = q.cq_size / CQE_SIZE;
        let armed = self.cfg.queues_start_armed;
        let cq = Cq {
            mem: cq_mem,
            entries,
            tail: entries,
            consumer: entries,
            since_db: 0,
            armed,
            eq: q.cq_parent_qid,
            owner,
        };
        self.q.cqs.insert(cq_id, cq);
        let handle = self.next_handle();
        let mut wq = Wq::new(kind, wq_mem, cq_id, owner);
        wq.vport = Some(vp as u16);
        wq.handle = handle;
        self.q.wqs.insert(wq_id, wq);
        self.q.obj_handles.insert(handle, wq_id);
        let v1 = CreateWqObjResp {
            wq_id,
            cq_id,
            wq_obj: handle,
            ..Default::default()
        };
        if hdr.req.msg_version >= GDMA_MESSAGE_V3 {
            let mut r = CreateWqObjRespV2 {
                v1,
                ..Default::default()
            };
            if let Some(v3) = body.get(88..96) {
                r.cq_moderation_comps = u16::from_le_bytes([v3[2], v3[3]]);
                r.cq_moderation_usec = u16::from_le_bytes([v3[4], v3[5]]);
                r.cq_moderation_enabled = v3[1];
            }
            return Reply::ok(&r);
        }
        Reply::ok(&v1)
    }

    fn destroy_wq_obj(&mut self, wq_type: u32, handle: u64) -> Reply {
        let Some(id) = self.q.obj_handles.get(&handle).copied() else {
            return Reply::status(STATUS_NOT_FOUND);
        };
        let want = if wq_type == WQ_TYPE_SQ {
            WqKind::Send
        } else {
            WqKind::Receive
        };
        if self.q.wqs.get(&id).map(|w| w.kind) != Some(want) {
            return Reply::status(STATUS_INVALID);
        }
        self.q.obj_handles.remove(&handle);
        if let Some(wq) = self.q.wqs.remove(&id) {
            self.q.cqs.remove(&wq.cq);
            if !self.cfg.zero_latency {
                let kind = if want == WqKind::Send {
                    BufKind::Tx
                } else {
                    BufKind::Rx
                };
                self.ledger.flush_queue(kind, id as u16);
            }
        }
        Reply::status(0)
    }

    /// A FENCE CQE on the RQ's CQ: every packet before it is completed.
    fn post_fence(&mut self, rq: u32) {
        self.flush_coalesced(rq);
        let Some(cq) = self.q.wqs.get(&rq).map(|w| w.cq) else {
            return;
        };
        let oob = RxCompOob {
            cqe_hdr: CqeHeader::new(cqe_type::RX_OBJECT_FENCE, MANA_CQE_COMPLETION, 0).0,
            ..Default::default()
        };
        let mut data = [0u8; CQE_DATA_SIZE];
        data.copy_from_slice(oob.as_bytes());
        self.counters.fences += 1;
        self.post_cqe(cq, &data, |o| CqeInfo::new(rq, false, o));
    }

    /// CONFIG_VPORT_RX (V1 or V2): tri-state RX/RSS enables, key, table of
    /// RX objects at `indir_tab_offset`, default object, coalescing.
    fn config_vport_rx(&mut self, hdr: &GdmaReqHdr, body: &[u8]) -> Reply {
        let v2 = hdr.req.msg_version >= GDMA_MESSAGE_V2;
        let fixed = if v2 {
            core::mem::size_of::<ConfigVportRxReq>()
        } else {
            usize::from(CONFIG_VPORT_RX_V1_SIZE)
        };
        if body.len() < fixed {
            return Reply::status(STATUS_INVALID);
        }
        let mut padded = [0u8; core::mem::size_of::<ConfigVportRxReq>()];
        padded[..fixed].copy_from_slice(&body[..fixed]);
        let Some(q) = parse::<ConfigVportRxReq>(&padded) else {
            return Reply::status(STATUS_INVALID);
        };
        let Some(vp) = self.vport_of(q.vport) else {
            return Reply::status(STATUS_NOT_FOUND);
        };
        let is_rq = |h: &u64| {
            self.q
                .obj_handles
                .get(h)
                .and_then(|id| self.q.wqs.get(id))
                .is_some_and(|w| w.kind == WqKind::Receive && w.vport == Some(vp as u16))
        };
        let tri_ok = |t: u32| matches!(t, TRI_STATE_FALSE | TRI_STATE_TRUE) || t == u32::MAX;
        if !tri_ok(q.rx_enable)
            || !tri_ok(q.rss_enable)
            || (q.update_default_rxobj != 0 && !is_rq(&q.default_rxobj))
        {
            return Reply::status(STATUS_INVALID);
        }
        let mut table = None;
        if q.update_indir_tab != 0 {
            let n = usize::from(q.num_indir_entries);
            let off = usize::from(q.indir_tab_offset);
            let limit = self.cfg.vports[vp]
                .indirection_entries
                .min(MANA_INDIRECT_TABLE_MAX) as usize;
            if n == 0 || !n.is_power_of_two() || n > limit || off < fixed {
                return Reply::status(STATUS_INVALID);
            }
            let t: Option<Vec<u64>> = (0..n).map(|i| u64_at(body, off + 8 * i)).collect();
            match t {
                Some(t) if t.iter().all(is_rq) => table = Some(t),
                _ => return Reply::status(STATUS_INVALID),
            }
        }
        let v = &mut self.vports[vp];
        if q.rx_enable != u32::MAX {
            v.rx_enable = q.rx_enable == TRI_STATE_TRUE;
        }
        if q.rss_enable != u32::MAX {
            v.rss_enable = q.rss_enable == TRI_STATE_TRUE;
        }
        if q.update_default_rxobj != 0 {
            v.default_rxobj = q.default_rxobj;
        }
        if q.update_hashkey != 0 {
            v.key = q.hashkey;
        }
        if let Some(t) = table {
            v.table = t;
        }
        v.coalescing = v2 && q.cqe_coalescing_enable != 0;
        let timeout = if v.coalescing {
            self.cfg.coalescing_timeout_ns
        } else {
            0
        };
        Reply::ok(&ConfigVportRxResp {
            cqe_coalescing_timeout_ns: timeout,
            ..Default::default()
        })
    }
}
