//! The fake device's command server: HWC SQ processing and a handler per
//! GDMA / MANA request code.

extern crate std;

use std::vec::Vec;

use zerocopy::{FromBytes, FromZeros, IntoBytes};

use super::dev::{FakeDev, Ring, Wq, MANA_DB_ID};
use super::Mem;
use crate::defs::eth::{self, ConfigVportRxReq, CreateWqObjReq, QueryVportConfigReq};
use crate::defs::eth_dp::{cqe_type, CqeHeader, RxCompOob, MANA_CQE_COMPLETION};
use crate::defs::eth_stats::QueryGfStatResp;
use crate::defs::gdma::{
    self, code, CreateDmaRegionReq, CreateQueueReq, DmaRegionAddPagesReq, GenerateTestEqeReq,
    ListDevicesResp,
};
use crate::defs::msg::{
    GdmaDevId, GdmaReqHdr, GdmaRespHdr, GDMA_DEVICE_MANA, GDMA_STATUS_CMD_UNSUPPORTED,
    GDMA_STATUS_MORE_ENTRIES,
};
use crate::defs::queue::{eqe_type, CQE_SIZE, EQE_SIZE};

fn body<T: FromBytes>(req: &[u8]) -> T {
    let mut buf = std::vec![0u8; core::mem::size_of::<T>()];
    let n = buf.len().min(req.len());
    buf[..n].copy_from_slice(&req[..n]);
    T::read_from_bytes(&buf).ok().unwrap()
}

fn u64_at(req: &[u8], off: usize) -> u64 {
    u64::from_le_bytes(req[off..off + 8].try_into().unwrap())
}

impl FakeDev {
    pub(crate) fn process_hwc_sq(&mut self, mem: &mut Mem, _now: u64) {
        let Some((_, _, _, sq)) = self.hwc else {
            return;
        };
        loop {
            let w = self.wqs.get(&sq).cloned().unwrap();
            if w.head == w.tail {
                return;
            }
            let (_, _, sgl, size) = Self::read_wqe(mem, &w, w.head);
            self.wqs.get_mut(&sq).unwrap().head = w.head.wrapping_add(size);
            let mut req = std::vec![0u8; sgl[0].size as usize];
            mem.read(sgl[0].address, &mut req);
            let hdr = GdmaReqHdr::read_from_prefix(&req).unwrap().0;
            self.requests.push(hdr.req.msg_type);
            self.activities.push(hdr.activity_id);
            let (status, payload) = self.handle(mem, hdr, &req);
            let status = match &mut self.faults.status {
                Some((c, s, n)) if *c == hdr.req.msg_type && *n > 0 => {
                    *n -= 1;
                    *s
                }
                _ => status,
            };
            let mut resp = GdmaRespHdr::new_zeroed();
            resp.resp.msg_type = hdr.req.msg_type;
            resp.resp.msg_version = hdr.resp.msg_version;
            resp.resp.hwc_msg_id = hdr.req.hwc_msg_id;
            resp.dev_id = hdr.dev_id;
            resp.activity_id = hdr.activity_id;
            resp.status = status;
            let mut out = std::vec![0u8; (hdr.resp.msg_size as usize).max(32)];
            if status == 0 || status == GDMA_STATUS_MORE_ENTRIES {
                let n = payload.len().min(out.len());
                out[..n].copy_from_slice(&payload[..n]);
            }
            resp.resp.msg_size = out.len() as u32;
            out[..32].copy_from_slice(resp.as_bytes());
            if self.faults.drop_responses > 0 {
                self.faults.drop_responses -= 1;
                continue;
            }
            if self.faults.bad_activity > 0 {
                self.faults.bad_activity -= 1;
                let mut bad = out.clone();
                bad[20..24].copy_from_slice(&hdr.activity_id.wrapping_add(7).to_le_bytes());
                self.deliver_response(mem, &bad);
            }
            self.deliver_response(mem, &out);
            if self.faults.duplicate > 0 {
                self.faults.duplicate -= 1;
                self.deliver_response(mem, &out);
            }
        }
    }

    /// Handle one request: (status, response bytes including a header placeholder).
    fn handle(&mut self, mem: &mut Mem, hdr: GdmaReqHdr, req: &[u8]) -> (u32, Vec<u8>) {
        let mut pl: Vec<u8> = std::vec![0u8; 32];
        let status = match hdr.req.msg_type {
            code::VERIFY_VF_DRIVER_VERSION => {
                let mut r = gdma::VerifyVersionResp::new_zeroed();
                r.gdma_protocol_ver = 1;
                r.pf_cap_flags1 = self.cfg.pf_caps;
                pl.extend_from_slice(&r.as_bytes()[32..]);
                0
            }
            code::QUERY_MAX_RESOURCES => {
                let mut r = gdma::QueryMaxResourcesResp::new_zeroed();
                (r.max_sq, r.max_rq, r.max_cq, r.max_eq, r.max_msix) = (64, 64, 128, 64, 65);
                pl.extend_from_slice(&r.as_bytes()[32..]);
                0
            }
            code::LIST_DEVICES => {
                let mut r = ListDevicesResp::new_zeroed();
                r.num_of_devs = 3;
                r.devs[0] = GdmaDevId::HWC;
                r.devs[2] = GdmaDevId::new(GDMA_DEVICE_MANA, 0);
                pl.extend_from_slice(&r.as_bytes()[32..]);
                0
            }
            code::REGISTER_DEVICE => {
                self.registered = true;
                let r = gdma::RegisterDeviceResp {
                    hdr: GdmaRespHdr::default(),
                    pdid: 5,
                    gpa_mkey: 0x99,
                    db_id: MANA_DB_ID,
                };
                pl.extend_from_slice(&r.as_bytes()[32..]);
                0
            }
            code::DEREGISTER_DEVICE => {
                self.registered = false;
                0
            }
            code::GENERATE_TEST_EQE => {
                let r: GenerateTestEqeReq = body(req);
                self.post_eqe(mem, r.queue_index, eqe_type::TEST_EVENT, 0);
                0
            }
            code::CREATE_DMA_REGION => {
                let r: CreateDmaRegionReq = body(req);
                let pages: Vec<u64> = (0..r.page_addr_list_len as usize)
                    .map(|i| u64_at(req, 64 + 8 * i))
                    .collect();
                let h = self.next_handle;
                self.next_handle += 1;
                let more = (pages.len() as u32) < r.page_count;
                self.regions.insert(h, (pages, r.page_count));
                pl.extend_from_slice(&h.to_le_bytes());
                if more {
                    GDMA_STATUS_MORE_ENTRIES
                } else {
                    0
                }
            }
            code::DMA_REGION_ADD_PAGES => {
                let r: DmaRegionAddPagesReq = body(req);
                let Some((pages, count)) = self.regions.get_mut(&r.dma_region_handle) else {
                    return (1, Vec::new());
                };
                pages.extend((0..r.page_addr_list_len as usize).map(|i| u64_at(req, 56 + 8 * i)));
                if (pages.len() as u32) < *count {
                    GDMA_STATUS_MORE_ENTRIES
                } else {
                    0
                }
            }
            code::DESTROY_DMA_REGION => {
                let h = u64_at(req, 40);
                if self.regions.remove(&h).is_some() {
                    0
                } else {
                    1
                }
            }
            code::CREATE_QUEUE => {
                let r: CreateQueueReq = body(req);
                let Some((pages, _)) = self.regions.remove(&r.gdma_region) else {
                    return (1, Vec::new());
                };
                let id = self.alloc_id_pub();
                let entries = r.queue_size / EQE_SIZE;
                self.eqs.insert(
                    id,
                    Ring {
                        base: pages[0],
                        entries,
                        tail: entries,
                        armed: false,
                        eq: 0,
                        irqs: 0,
                    },
                );
                pl.extend_from_slice(&id.to_le_bytes());
                0
            }
            code::DISABLE_QUEUE => {
                let id = u32::from_le_bytes(req[44..48].try_into().unwrap());
                self.eqs.remove(&id);
                0
            }
            code::QUERY_HWC_TIMEOUT => {
                pl.extend_from_slice(&5000u32.to_le_bytes());
                pl.extend_from_slice(&[0u8; 4]);
                0
            }
            eth::code::QUERY_DEV_CONFIG => {
                let mut r = eth::QueryDevConfigResp::new_zeroed();
                r.max_num_vports = self.cfg.vports.len() as u16;
                r.max_num_eqs = 64;
                r.adapter_mtu = self.cfg.adapter_mtu;
                pl.extend_from_slice(&r.as_bytes()[32..]);
                0
            }
            eth::code::QUERY_VPORT_CONFIG => {
                let r: QueryVportConfigReq = body(req);
                let Some(mac) = self.cfg.vports.get(r.vport_index as usize) else {
                    return (1, Vec::new());
                };
                let mut v = eth::QueryVportConfigResp::new_zeroed();
                (v.max_num_sq, v.max_num_rq, v.num_indirection_ent) = (
                    self.cfg.max_queues,
                    self.cfg.max_queues,
                    self.cfg.indir_entries,
                );
                v.mac_addr = *mac;
                v.vport = 0x1000 + u64::from(r.vport_index);
                pl.extend_from_slice(&v.as_bytes()[32..]);
                0
            }
            eth::code::CONFIG_VPORT_TX => {
                let r = eth::ConfigVportTxResp {
                    hdr: GdmaRespHdr::default(),
                    tx_vport_offset: self.cfg.vport_offset,
                    short_form_allowed: 1,
                    reserved: 0,
                };
                pl.extend_from_slice(&r.as_bytes()[32..]);
                0
            }
            eth::code::CREATE_WQ_OBJ => {
                let r: CreateWqObjReq = body(req);
                let (Some((wq_pages, _)), Some((cq_pages, _))) = (
                    self.regions.remove(&r.wq_gdma_region),
                    self.regions.remove(&r.cq_gdma_region),
                ) else {
                    return (1, Vec::new());
                };
                let (wq, cq) = (self.alloc_id_pub(), self.alloc_id_pub());
                let entries = r.cq_size / CQE_SIZE;
                self.cqs.insert(
                    cq,
                    Ring {
                        base: cq_pages[0],
                        entries,
                        tail: entries,
                        armed: false,
                        eq: r.cq_parent_qid,
                        irqs: 0,
                    },
                );
                self.wqs.insert(
                    wq,
                    Wq {
                        base: wq_pages[0],
                        size: r.wq_size,
                        head: 0,
                        tail: 0,
                        cq,
                        is_sq: r.wq_type == eth::WQ_TYPE_SQ,
                    },
                );
                let h = self.next_handle;
                self.next_handle += 1;
                self.objs.insert(h, (wq, cq));
                pl.extend_from_slice(&wq.to_le_bytes());
                pl.extend_from_slice(&cq.to_le_bytes());
                pl.extend_from_slice(&h.to_le_bytes());
                0
            }
            eth::code::DESTROY_WQ_OBJ => {
                let h = u64_at(req, 48);
                match self.objs.remove(&h) {
                    Some((wq, cq)) => {
                        self.wqs.remove(&wq);
                        self.cqs.remove(&cq);
                        0
                    }
                    None => 1,
                }
            }
            eth::code::FENCE_RQ => {
                let h = u64_at(req, 40);
                let Some((rq, _)) = self.objs.get(&h).copied() else {
                    return (1, Vec::new());
                };
                let oob = RxCompOob {
                    cqe_hdr: CqeHeader::new(cqe_type::RX_OBJECT_FENCE, MANA_CQE_COMPLETION, 0).0,
                    ..Default::default()
                };
                self.post_rx_oob(mem, rq, &oob, 0);
                0
            }
            eth::code::CONFIG_VPORT_RX => {
                let r: ConfigVportRxReq = body(req);
                if r.rx_enable != eth::TRI_STATE_UNKNOWN {
                    self.rx_cfg.enabled = r.rx_enable == eth::TRI_STATE_TRUE;
                }
                if r.rss_enable != eth::TRI_STATE_UNKNOWN {
                    self.rx_cfg.rss = r.rss_enable == eth::TRI_STATE_TRUE;
                }
                if r.update_default_rxobj != 0 {
                    self.rx_cfg.default_obj = r.default_rxobj;
                }
                if r.update_hashkey != 0 {
                    self.rx_cfg.key = r.hashkey.to_vec();
                }
                if r.update_indir_tab != 0 {
                    let off = usize::from(r.indir_tab_offset);
                    self.rx_cfg.table = (0..usize::from(r.num_indir_entries))
                        .map(|i| u64_at(req, off + 8 * i))
                        .collect();
                }
                pl.extend_from_slice(&[0u8; 8]);
                0
            }
            eth::code::QUERY_GF_STAT => {
                let mut r = QueryGfStatResp::new_zeroed();
                r.counters[19] = self.tx_log.iter().map(|t| t.data.len() as u64).sum();
                pl.extend_from_slice(&r.as_bytes()[32..]);
                0
            }
            _ => GDMA_STATUS_CMD_UNSUPPORTED,
        };
        (status, pl)
    }

    pub(crate) fn alloc_id_pub(&mut self) -> u32 {
        self.next_id += 1;
        self.next_id
    }
}
