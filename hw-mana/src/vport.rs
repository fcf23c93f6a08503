//! MANA Ethernet control commands on a vPort: device and vPort
//! configuration, TX configuration, WQ objects, RX steering with RSS,
//! fences, link and statistics queries, and the PF-only port/filter
//! registration (mana.md §6.1–§6.4, §8).
//!
//! Every value the device returns is validated here, before it reaches the
//! queue or port state: ids must fit the 24-bit queue-id space and the
//! device's CQ table, handles must not be the invalid all-ones value, sizes
//! must be powers of two within the documented ranges.

use zerocopy::{FromZeros, IntoBytes};

use cloudnic_common::{Error, Platform, RegisterBar};

use crate::defs::eth::{
    ConfigVportRxReq, ConfigVportRxResp, ConfigVportTxReq, CreateWqObjReq, DeregisterFilterReq,
    DeregisterHwPortReq, DestroyWqObjReq, FenceRqReq, QueryDevConfigReq, QueryLinkConfigReq,
    QueryVportConfigReq, RegisterFilterReq, RegisterHwPortReq, DEFAULT_ADAPTER_MTU,
    INVALID_MANA_HANDLE, MANA_HASH_KEY_SIZE, MANA_INDIRECT_TABLE_DEFAULT, MANA_INDIRECT_TABLE_MAX,
    MANA_PROTO_MAJOR, MANA_PROTO_MICRO, MANA_PROTO_MINOR, MAX_PORTS_IN_MANA_DEV, MIN_ADAPTER_MTU,
    TRI_STATE_FALSE, TRI_STATE_TRUE, TRI_STATE_UNKNOWN,
};
use crate::defs::eth_stats::{QueryGfStatReq, QueryGfStatResp, GF_STAT_ALL};
use crate::defs::msg::{GdmaRequest, GDMA_MESSAGE_V2};
use crate::defs::queue::GDMA_QUEUE_ID_MASK;
use crate::gdma::{status_result, Gdma};

/// Ethernet header length: the adapter MTU is an L2 frame size (mana.md §6.10).
pub const ETH_HLEN: u32 = 14;
/// Smallest MTU Linux allows (mana.md §6.10).
pub const MANA_MIN_MTU: u32 = 68;
/// Size of the V2 CONFIG_VPORT_RX fixed part; the table follows.
const RX_CFG_FIXED: usize = core::mem::size_of::<ConfigVportRxReq>();

/// QUERY_DEV_CONFIG results (validated).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DevConfig {
    /// PF capability word 1.
    pub pf_cap_flags1: u64,
    /// vPorts (1..=256).
    pub max_num_vports: u16,
    /// Bare-metal host mode.
    pub bm_hostmode: bool,
    /// Max EQs.
    pub max_num_eqs: u32,
    /// L2 frame limit.
    pub adapter_mtu: u32,
    /// Link speed in Mbit/s (0 = unknown).
    pub link_speed_mbps: u32,
}

impl DevConfig {
    /// Largest L3 MTU: adapter MTU − 14.
    pub fn max_mtu(&self) -> u32 {
        self.adapter_mtu.saturating_sub(ETH_HLEN)
    }
}

/// QUERY_VPORT_CONFIG results (validated).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct VportInfo {
    /// vPort index.
    pub index: u32,
    /// Max SQs.
    pub max_sq: u32,
    /// Max RQs.
    pub max_rq: u32,
    /// Indirection table entries (power of two ≤ 512; 64 if the device said otherwise).
    pub indir_entries: u32,
    /// MAC address.
    pub mac: [u8; 6],
    /// vPort handle.
    pub handle: u64,
}

/// A created WQ object (mana.md §6.3).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WqObj {
    /// WQ id (doorbells, CQE `wq_num`).
    pub wq_id: u32,
    /// CQ id.
    pub cq_id: u32,
    /// Object handle.
    pub handle: u64,
}

/// What CREATE_WQ_OBJ needs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WqObjSpec {
    /// vPort handle.
    pub vport: u64,
    /// `WQ_TYPE_SQ` or `WQ_TYPE_RQ`.
    pub wq_type: u32,
    /// WQ DMA region.
    pub wq_region: u64,
    /// CQ DMA region.
    pub cq_region: u64,
    /// WQ size in bytes.
    pub wq_size: u32,
    /// CQ size in bytes.
    pub cq_size: u32,
    /// Parent EQ id.
    pub eq_id: u32,
}

/// An RX steering update (CONFIG_VPORT_RX).
#[derive(Clone, Copy, Debug)]
pub struct RxSteering<'a> {
    /// vPort handle.
    pub vport: u64,
    /// RX on/off; `None` leaves it unchanged (TRI_STATE unknown).
    pub rx_enable: Option<bool>,
    /// RSS on/off; `None` leaves it unchanged.
    pub rss_enable: Option<bool>,
    /// New default RX object (RQ 0).
    pub default_rxobj: Option<u64>,
    /// New Toeplitz key.
    pub hash_key: Option<&'a [u8; MANA_HASH_KEY_SIZE]>,
    /// New indirection table: queue index per entry, resolved through
    /// `handles` (RX object handle per queue index).
    pub table: Option<RssTable<'a>>,
    /// CQE coalescing (V2).
    pub cqe_coalescing: bool,
}

/// An indirection table as queue indices plus the RX object of each queue.
#[derive(Clone, Copy, Debug)]
pub struct RssTable<'a> {
    /// Queue index per entry.
    pub entries: &'a [u16],
    /// RX object handle per queue index.
    pub handles: &'a [u64],
}

fn tri(v: Option<bool>) -> u32 {
    match v {
        None => TRI_STATE_UNKNOWN,
        Some(false) => TRI_STATE_FALSE,
        Some(true) => TRI_STATE_TRUE,
    }
}

impl<P: Platform> Gdma<P> {
    /// QUERY_DEV_CONFIG (request V1, response V3) with Linux's checks (mana.md §6.3).
    pub fn query_dev_config<R: RegisterBar>(
        &mut self,
        plat: &P,
        bar: &R,
    ) -> Result<DevConfig, Error> {
        let dev = self.registration().dev;
        let mut req = QueryDevConfigReq {
            hdr: QueryDevConfigReq::header(dev),
            ..Default::default()
        };
        req.proto_major_ver = MANA_PROTO_MAJOR;
        req.proto_minor_ver = MANA_PROTO_MINOR;
        req.proto_micro_ver = MANA_PROTO_MICRO;
        let mut resp = <QueryDevConfigReq as GdmaRequest>::Response::new_zeroed();
        let hdr = self.send_raw(plat, bar, |w| w.put(req.as_bytes()), resp.as_mut_bytes())?;
        status_result(hdr.status)?;
        let adapter_mtu = if hdr.resp.msg_version >= GDMA_MESSAGE_V2 {
            u32::from(resp.adapter_mtu)
        } else {
            u32::from(DEFAULT_ADAPTER_MTU)
        };
        if adapter_mtu < u32::from(MIN_ADAPTER_MTU) || resp.max_num_vports == 0 {
            return Err(Error::IncompatibleDevice);
        }
        Ok(DevConfig {
            pf_cap_flags1: resp.pf_cap_flags1,
            max_num_vports: resp.max_num_vports.min(MAX_PORTS_IN_MANA_DEV as u16),
            bm_hostmode: resp.bm_hostmode != 0,
            max_num_eqs: resp.max_num_eqs,
            adapter_mtu,
            link_speed_mbps: resp.adapter_link_speed_mbps,
        })
    }

    /// QUERY_VPORT_CONFIG for vPort `index`.
    pub fn query_vport_config<R: RegisterBar>(
        &mut self,
        plat: &P,
        bar: &R,
        index: u32,
    ) -> Result<VportInfo, Error> {
        let dev = self.registration().dev;
        let r = self.send(
            plat,
            bar,
            &QueryVportConfigReq {
                hdr: QueryVportConfigReq::header(dev),
                vport_index: index,
            },
        )?;
        if r.vport == INVALID_MANA_HANDLE || r.max_num_sq == 0 || r.max_num_rq == 0 {
            return Err(Error::IncompatibleDevice);
        }
        let n = r.num_indirection_ent;
        let indir_entries = if n.is_power_of_two() && n <= MANA_INDIRECT_TABLE_MAX {
            n
        } else {
            MANA_INDIRECT_TABLE_DEFAULT
        };
        Ok(VportInfo {
            index,
            max_sq: r.max_num_sq,
            max_rq: r.max_num_rq,
            indir_entries,
            mac: r.mac_addr,
            handle: r.vport,
        })
    }

    /// CONFIG_VPORT_TX: take the vPort for TX; returns (vPort offset, short form allowed).
    pub fn config_vport_tx<R: RegisterBar>(
        &mut self,
        plat: &P,
        bar: &R,
        vport: u64,
    ) -> Result<(u16, bool), Error> {
        let reg = *self.registration();
        let req = ConfigVportTxReq {
            hdr: ConfigVportTxReq::header(reg.dev),
            vport,
            pdid: reg.pdid,
            doorbell_pageid: reg.db_id,
        };
        let r = self.send(plat, bar, &req)?;
        Ok((r.tx_vport_offset, r.short_form_allowed != 0))
    }

    /// CREATE_WQ_OBJ (V1): an SQ or RQ with its CQ. The DMA regions are consumed.
    pub fn create_wq_obj<R: RegisterBar>(
        &mut self,
        plat: &P,
        bar: &R,
        s: &WqObjSpec,
    ) -> Result<WqObj, Error> {
        let dev = self.registration().dev;
        let req = CreateWqObjReq {
            hdr: CreateWqObjReq::header(dev),
            vport: s.vport,
            wq_type: s.wq_type,
            reserved: 0,
            wq_gdma_region: s.wq_region,
            cq_gdma_region: s.cq_region,
            wq_size: s.wq_size,
            cq_size: s.cq_size,
            cq_moderation_ctx_id: 0,
            cq_parent_qid: s.eq_id,
        };
        let r = self.send(plat, bar, &req)?;
        let max_cqs = self.hwc.info().max_num_cqs;
        let obj = WqObj {
            wq_id: r.wq_id,
            cq_id: r.cq_id,
            handle: r.wq_obj,
        };
        if obj.handle == INVALID_MANA_HANDLE
            || obj.wq_id > GDMA_QUEUE_ID_MASK
            || obj.cq_id > GDMA_QUEUE_ID_MASK
            || obj.cq_id >= max_cqs
        {
            // The object may exist on the device: try to destroy it.
            if obj.handle != INVALID_MANA_HANDLE {
                let _ = self.destroy_wq_obj(plat, bar, s.wq_type, obj.handle);
            }
            return Err(Error::Malformed);
        }
        Ok(obj)
    }

    /// DESTROY_WQ_OBJ.
    pub fn destroy_wq_obj<R: RegisterBar>(
        &mut self,
        plat: &P,
        bar: &R,
        wq_type: u32,
        handle: u64,
    ) -> Result<(), Error> {
        let dev = self.registration().dev;
        self.send(
            plat,
            bar,
            &DestroyWqObjReq {
                hdr: DestroyWqObjReq::header(dev),
                wq_type,
                reserved: 0,
                wq_obj_handle: handle,
            },
        )
        .map(|_| ())
    }

    /// FENCE_RQ: the device answers with an RX CQE of type FENCE on that RQ.
    pub fn fence_rq<R: RegisterBar>(
        &mut self,
        plat: &P,
        bar: &R,
        handle: u64,
    ) -> Result<(), Error> {
        let dev = self.registration().dev;
        self.send(
            plat,
            bar,
            &FenceRqReq {
                hdr: FenceRqReq::header(dev),
                wq_obj_handle: handle,
            },
        )
        .map(|_| ())
    }

    /// CONFIG_VPORT_RX (V2): RX enable, RSS, key, table, default object.
    /// Returns the CQE coalescing timeout the device reports (ns, 0 if none).
    pub fn config_vport_rx<R: RegisterBar>(
        &mut self,
        plat: &P,
        bar: &R,
        s: &RxSteering<'_>,
    ) -> Result<u32, Error> {
        let dev = self.registration().dev;
        let entries = s.table.map_or(&[][..], |t| t.entries);
        let handles = s.table.map_or(&[][..], |t| t.handles);
        // Every entry must name a queue with an RX object.
        if entries.iter().any(|q| usize::from(*q) >= handles.len()) {
            return Err(Error::NotRunning);
        }
        let n = u16::try_from(entries.len()).map_err(|_| Error::Unsupported)?;
        let mut req = ConfigVportRxReq::new_zeroed();
        req.hdr = ConfigVportRxReq::header_sized(dev, RX_CFG_FIXED + 8 * entries.len());
        req.vport = s.vport;
        req.num_indir_entries = n;
        req.indir_tab_offset = RX_CFG_FIXED as u16;
        req.rx_enable = tri(s.rx_enable);
        req.rss_enable = tri(s.rss_enable);
        req.update_default_rxobj = u8::from(s.default_rxobj.is_some());
        req.default_rxobj = s.default_rxobj.unwrap_or(0);
        req.update_hashkey = u8::from(s.hash_key.is_some());
        if let Some(k) = s.hash_key {
            req.hashkey = *k;
        }
        req.update_indir_tab = u8::from(s.table.is_some());
        req.cqe_coalescing_enable = u8::from(s.cqe_coalescing);
        let mut resp = ConfigVportRxResp::new_zeroed();
        let hdr = self.send_raw(
            plat,
            bar,
            |w| {
                w.put(req.as_bytes())?;
                entries.iter().try_for_each(|q| {
                    w.put_u64(handles.get(usize::from(*q)).copied().unwrap_or(u64::MAX))
                })
            },
            resp.as_mut_bytes(),
        )?;
        status_result(hdr.status)?;
        Ok(resp.cqe_coalescing_timeout_ns)
    }

    /// Most indirection entries one CONFIG_VPORT_RX can carry within the
    /// device's maximum request size.
    pub fn max_rss_table_entries(&self) -> u32 {
        (self.hwc.max_request().saturating_sub(RX_CFG_FIXED as u32) / 8)
            .min(MANA_INDIRECT_TABLE_MAX)
    }

    /// QUERY_GF_STAT: all 27 global-function counters.
    pub fn query_gf_stats<R: RegisterBar>(
        &mut self,
        plat: &P,
        bar: &R,
    ) -> Result<QueryGfStatResp, Error> {
        let dev = self.registration().dev;
        self.send(
            plat,
            bar,
            &QueryGfStatReq {
                hdr: QueryGfStatReq::header(dev),
                req_stats: GF_STAT_ALL,
            },
        )
    }

    /// QUERY_LINK_CONFIG: link speed in Mbit/s, if configured.
    pub fn query_link_speed<R: RegisterBar>(
        &mut self,
        plat: &P,
        bar: &R,
        vport: u64,
    ) -> Result<Option<u32>, Error> {
        let dev = self.registration().dev;
        let r = self.send(
            plat,
            bar,
            &QueryLinkConfigReq {
                hdr: QueryLinkConfigReq::header(dev),
                vport,
            },
        )?;
        Ok(if r.qos_unconfigured != 0 || r.qos_speed_mbps == 0 {
            None
        } else {
            Some(r.qos_speed_mbps)
        })
    }

    /// PF only: REGISTER_HW_PORT; returns the hardware vPort handle.
    pub fn register_hw_port<R: RegisterBar>(&mut self, plat: &P, bar: &R) -> Result<u64, Error> {
        let dev = self.registration().dev;
        let req = RegisterHwPortReq {
            hdr: RegisterHwPortReq::header(dev),
            attached_gfid: 1,
            is_pf_default_vport: 1,
            reserved1: 0,
            allow_all_ether_types: 1,
            reserved2: [0; 3],
        };
        let r = self.send(plat, bar, &req)?;
        if r.handle == INVALID_MANA_HANDLE {
            return Err(Error::Malformed);
        }
        Ok(r.handle)
    }

    /// PF only: DEREGISTER_HW_PORT.
    pub fn deregister_hw_port<R: RegisterBar>(
        &mut self,
        plat: &P,
        bar: &R,
        handle: u64,
    ) -> Result<(), Error> {
        let dev = self.registration().dev;
        self.send(
            plat,
            bar,
            &DeregisterHwPortReq {
                hdr: DeregisterHwPortReq::header(dev),
                hw_vport_handle: handle,
            },
        )
        .map(|_| ())
    }

    /// PF only: REGISTER_FILTER for the port's MAC; returns the filter handle.
    pub fn register_filter<R: RegisterBar>(
        &mut self,
        plat: &P,
        bar: &R,
        vport: u64,
        mac: [u8; 6],
    ) -> Result<u64, Error> {
        let dev = self.registration().dev;
        let req = RegisterFilterReq {
            hdr: RegisterFilterReq::header(dev),
            vport,
            mac_addr: mac,
            ..Default::default()
        };
        let r = self.send(plat, bar, &req)?;
        if r.handle == INVALID_MANA_HANDLE {
            return Err(Error::Malformed);
        }
        Ok(r.handle)
    }

    /// PF only: DEREGISTER_FILTER.
    pub fn deregister_filter<R: RegisterBar>(
        &mut self,
        plat: &P,
        bar: &R,
        handle: u64,
    ) -> Result<(), Error> {
        let dev = self.registration().dev;
        self.send(
            plat,
            bar,
            &DeregisterFilterReq {
                hdr: DeregisterFilterReq::header(dev),
                filter_handle: handle,
            },
        )
        .map(|_| ())
    }
}
