//! GDMA-level HWC requests (mana.md §3.6–§3.8, §5): version negotiation,
//! resource limits, device list and registration, the EQ test event, EQ
//! creation and destruction, and DMA regions with ADD_PAGES.
//!
//! Error statuses other than MORE_ENTRIES and CMD_UNSUPPORTED are not
//! published; the model answers the small values below, which the driver
//! treats as "the device said no" like any other non-zero status.

use cloudnic_mana::defs::gdma::{
    code, CreateDmaRegionReq, CreateDmaRegionResp, CreateQueueReq, CreateQueueResp,
    DestroyDmaRegionReq, DisableQueueReq, DmaRegionAddPagesReq, GenerateTestEqeReq,
    ListDevicesResp, QueryHwcTimeoutReq, QueryHwcTimeoutResp, QueryMaxResourcesResp,
    RegisterDeviceResp, VerifyVersionReq, VerifyVersionResp, GDMA_DEV_LIST_SIZE, GDMA_PAGE_SIZE,
    GDMA_PAGE_TYPE_4K, GDMA_PROTOCOL_V1,
};
use cloudnic_mana::defs::gdma_objects::{ChangeMsixForEqReq, GenerateResetRequestEqeReq};
use cloudnic_mana::defs::msg::{
    GdmaDevId, GdmaReqHdr, GDMA_DEVICE_MANA, GDMA_STATUS_CMD_UNSUPPORTED, GDMA_STATUS_MORE_ENTRIES,
};
use cloudnic_mana::defs::queue::{eqe_type, EQE_SIZE, GDMA_QUEUE_EQ, MIN_QUEUE_SIZE};
use zerocopy::{FromBytes, FromZeros, Immutable, KnownLayout};

use super::faults::RegionFailure;
use super::hwc::Reply;
use super::queues::{alloc_id, Eq, QueueMem, QueueOwner, Region, EQ_ID_BASE};
use super::ManaModel;
use crate::ledger::BufKind;
use crate::mem::GuestMemory;

/// Status: malformed or inconsistent request (model-chosen value).
pub(crate) const STATUS_INVALID: u32 = 1;
/// Status: out of queues, ids or handles (model-chosen value).
pub(crate) const STATUS_NO_RESOURCE: u32 = 2;
/// Status: the named object does not exist (model-chosen value).
pub(crate) const STATUS_NOT_FOUND: u32 = 3;
/// Data EQs carry 16-bit ids in their doorbell (mana.md §1.5).
const EQ_ID_LIMIT: u32 = 0x1_0000;
/// First DMA region handle (0 is invalid, mana.md §4.1).
const REGION_HANDLE_BASE: u64 = 0x7E00_0000;

/// What the driver negotiated.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct GdmaState {
    pub registered: bool,
    pub driver_caps: u64,
    pub os_type: u32,
}

/// Read a request struct; `None` if the message is shorter.
pub(crate) fn parse<T: FromBytes + KnownLayout + Immutable>(body: &[u8]) -> Option<T> {
    T::read_from_prefix(body).ok().map(|(t, _)| t)
}

/// Little-endian u64 at `off`.
pub(crate) fn u64_at(body: &[u8], off: usize) -> Option<u64> {
    Some(u64::from_le_bytes(
        body.get(off..off.checked_add(8)?)?.try_into().ok()?,
    ))
}

impl<M: GuestMemory + ?Sized> ManaModel<M> {
    /// The MANA device's id in LIST_DEVICES.
    pub(crate) fn mana_dev_id(&self) -> GdmaDevId {
        GdmaDevId::new(GDMA_DEVICE_MANA, self.cfg.mana_dev_instance)
    }

    pub(crate) fn gdma_request(&mut self, hdr: &GdmaReqHdr, body: &[u8]) -> Reply {
        match hdr.req.msg_type {
            code::VERIFY_VF_DRIVER_VERSION => self.verify_version(body),
            code::QUERY_MAX_RESOURCES => {
                let c = &self.cfg;
                let mut r = QueryMaxResourcesResp::new_zeroed();
                (r.max_sq, r.max_rq, r.max_cq, r.max_eq, r.max_db) =
                    (c.max_sq, c.max_rq, c.max_cq, c.max_eq, c.max_db);
                r.max_msix = u32::from(c.msix_vectors);
                Reply::ok(&r)
            }
            code::LIST_DEVICES => {
                let mut r = ListDevicesResp::new_zeroed();
                let mut devs = vec![GdmaDevId::HWC];
                if self.cfg.list_devices_hole {
                    devs.push(GdmaDevId::NONE);
                }
                devs.push(self.mana_dev_id());
                r.num_of_devs = devs.len() as u32;
                r.devs[..devs.len().min(GDMA_DEV_LIST_SIZE)].copy_from_slice(&devs);
                Reply::ok(&r)
            }
            code::REGISTER_DEVICE => {
                if hdr.dev_id != self.mana_dev_id() {
                    return Reply::status(STATUS_NOT_FOUND);
                }
                self.gdma.registered = true;
                let r = RegisterDeviceResp {
                    pdid: self.cfg.mana_pdid,
                    gpa_mkey: self.cfg.mana_gpa_mkey,
                    db_id: self.cfg.mana_db_page,
                    ..Default::default()
                };
                Reply::ok(&r)
            }
            code::DEREGISTER_DEVICE => {
                if hdr.dev_id != self.mana_dev_id() || !self.gdma.registered {
                    return Reply::status(STATUS_NOT_FOUND);
                }
                self.drop_mana_objects();
                self.gdma.registered = false;
                Reply::status(0)
            }
            code::GENERATE_TEST_EQE => match parse::<GenerateTestEqeReq>(body) {
                Some(r) if self.post_eqe(r.queue_index, eqe_type::TEST_EVENT, [0; 3]) => {
                    Reply::status(0)
                }
                Some(_) => Reply::status(STATUS_NOT_FOUND),
                None => Reply::status(STATUS_INVALID),
            },
            code::GENERATE_RESET_REQUEST_EQE => match parse::<GenerateResetRequestEqeReq>(body) {
                Some(r)
                    if self.post_eqe(
                        r.queue_index,
                        eqe_type::HWC_RESET_REQUEST,
                        [r.data, 0, 0],
                    ) =>
                {
                    Reply::status(0)
                }
                _ => Reply::status(STATUS_NOT_FOUND),
            },
            code::CREATE_QUEUE => self.create_queue(hdr, body),
            code::DISABLE_QUEUE => match parse::<DisableQueueReq>(body) {
                Some(r) if r.queue_type == GDMA_QUEUE_EQ => {
                    let hwc_eq = self.hwc.as_ref().map(|h| h.eq);
                    if Some(r.queue_index) != hwc_eq && self.q.eqs.remove(&r.queue_index).is_some()
                    {
                        Reply::status(0)
                    } else {
                        Reply::status(STATUS_NOT_FOUND)
                    }
                }
                Some(_) => Reply::status(GDMA_STATUS_CMD_UNSUPPORTED),
                None => Reply::status(STATUS_INVALID),
            },
            code::CREATE_DMA_REGION => self.create_region(body),
            code::DMA_REGION_ADD_PAGES => self.add_pages(body),
            code::DESTROY_DMA_REGION => match parse::<DestroyDmaRegionReq>(body) {
                Some(r) if self.q.regions.remove(&r.dma_region_handle).is_some() => {
                    Reply::status(0)
                }
                _ => Reply::status(STATUS_NOT_FOUND),
            },
            code::QUERY_HWC_TIMEOUT => match parse::<QueryHwcTimeoutReq>(body) {
                Some(_) => Reply::ok(&QueryHwcTimeoutResp {
                    timeout_ms: self.cfg.hwc_timeout_ms,
                    ..Default::default()
                }),
                None => Reply::status(STATUS_INVALID),
            },
            code::CHANGE_MSIX_FOR_EQ => {
                let vectors = self.cfg.msix_vectors;
                match parse::<ChangeMsixForEqReq>(body) {
                    Some(r) if r.msix < u32::from(vectors) => {
                        match self.q.eqs.get_mut(&r.queue_index) {
                            Some(eq) => {
                                eq.msix = r.msix as u16;
                                Reply::status(0)
                            }
                            None => Reply::status(STATUS_NOT_FOUND),
                        }
                    }
                    _ => Reply::status(STATUS_INVALID),
                }
            }
            _ => Reply::status(GDMA_STATUS_CMD_UNSUPPORTED),
        }
    }

    fn verify_version(&mut self, body: &[u8]) -> Reply {
        let Some(r) = parse::<VerifyVersionReq>(body) else {
            return Reply::status(STATUS_INVALID);
        };
        if r.protocol_ver_min > GDMA_PROTOCOL_V1 || r.protocol_ver_max < GDMA_PROTOCOL_V1 {
            return Reply::status(STATUS_INVALID);
        }
        self.gdma.driver_caps = r.gd_drv_cap_flags1;
        self.gdma.os_type = r.os_type;
        let resp = VerifyVersionResp {
            gdma_protocol_ver: GDMA_PROTOCOL_V1,
            pf_cap_flags1: self.cfg.pf_cap_flags.bits(),
            ..Default::default()
        };
        Reply::ok(&resp)
    }

    /// CREATE_QUEUE: the Ethernet path creates only EQs this way (mana.md §3.8).
    fn create_queue(&mut self, hdr: &GdmaReqHdr, body: &[u8]) -> Reply {
        let Some(r) = parse::<CreateQueueReq>(body) else {
            return Reply::status(STATUS_INVALID);
        };
        if r.queue_type != GDMA_QUEUE_EQ {
            return Reply::status(GDMA_STATUS_CMD_UNSUPPORTED);
        }
        if hdr.dev_id != self.mana_dev_id() || !self.gdma.registered {
            return Reply::status(STATUS_NOT_FOUND);
        }
        let size = r.queue_size;
        let entries = size / EQE_SIZE;
        let throttle_ok =
            r.log2_throttle_limit >= 1 && r.log2_throttle_limit <= entries.trailing_zeros();
        let ok = r.pdid == self.cfg.mana_pdid
            && r.doorbell_id == self.cfg.mana_db_page
            && size >= MIN_QUEUE_SIZE
            && size.is_power_of_two()
            && throttle_ok
            && r.eq_pci_msix_index < u32::from(self.cfg.msix_vectors);
        if !ok {
            return Reply::status(STATUS_INVALID);
        }
        let data_eqs = self.q.eqs.values().filter(|e| !e.owner.hwc).count() as u32;
        if data_eqs >= self.cfg.max_eq {
            return Reply::status(STATUS_NO_RESOURCE);
        }
        let Some(id) = alloc_id(&self.q.eqs, EQ_ID_BASE, EQ_ID_LIMIT) else {
            return Reply::status(STATUS_NO_RESOURCE);
        };
        let mem = match self.take_region(r.gdma_region, size) {
            Ok(m) => m,
            Err(s) => return Reply::status(s),
        };
        let owner = QueueOwner {
            db_page: r.doorbell_id,
            hwc: false,
        };
        let armed = self.cfg.queues_start_armed;
        let msix = r.eq_pci_msix_index as u16;
        self.q.eqs.insert(
            id,
            Eq {
                mem,
                entries,
                tail: entries,
                consumer: entries,
                armed,
                msix,
                owner,
            },
        );
        Reply::ok(&CreateQueueResp {
            queue_index: id,
            ..Default::default()
        })
    }

    /// Consume a complete region of exactly `size` bytes as queue memory.
    pub(crate) fn take_region(&mut self, handle: u64, size: u32) -> Result<QueueMem, u32> {
        match self.q.regions.get(&handle) {
            Some(r) if r.complete() && r.length == u64::from(size) => {}
            Some(_) => return Err(STATUS_INVALID),
            None => return Err(STATUS_NOT_FOUND),
        }
        let r = self.q.regions.remove(&handle).ok_or(STATUS_NOT_FOUND)?;
        Ok(QueueMem {
            pages: r.pages,
            size,
        })
    }

    fn create_region(&mut self, body: &[u8]) -> Reply {
        let Some(r) = parse::<CreateDmaRegionReq>(body) else {
            return Reply::status(STATUS_INVALID);
        };
        let fault = if self.faults.idle() {
            None
        } else {
            self.faults.region_failure()
        };
        match fault {
            Some(RegionFailure::Status(s)) => return Reply::status(s),
            Some(RegionFailure::ZeroHandle) => return Reply::ok(&CreateDmaRegionResp::default()),
            _ => {}
        }
        let fixed = core::mem::size_of::<CreateDmaRegionReq>();
        let n = r.page_addr_list_len as usize;
        let pages_len = u64::from(r.page_count).checked_mul(u64::from(GDMA_PAGE_SIZE));
        let ok = r.length >= u64::from(GDMA_PAGE_SIZE)
            && r.length.is_power_of_two()
            && r.gdma_page_type == GDMA_PAGE_TYPE_4K
            && r.offset_in_page == 0
            && pages_len == Some(r.length)
            && n >= 1
            && n <= r.page_count as usize;
        if !ok {
            return Reply::status(STATUS_INVALID);
        }
        let Some(pages) = page_list(body, fixed, n) else {
            return Reply::status(STATUS_INVALID);
        };
        let handle = REGION_HANDLE_BASE + self.q.next_region;
        self.q.next_region += 1;
        let region = Region {
            length: r.length,
            page_count: r.page_count,
            pages,
        };
        let complete = region.complete();
        self.q.regions.insert(handle, region);
        let mut reply = Reply::ok(&CreateDmaRegionResp {
            dma_region_handle: handle,
            ..Default::default()
        });
        let wrong = fault == Some(RegionFailure::WrongMoreEntries);
        if complete == wrong {
            reply.status = GDMA_STATUS_MORE_ENTRIES;
        }
        reply
    }

    fn add_pages(&mut self, body: &[u8]) -> Reply {
        let Some(r) = parse::<DmaRegionAddPagesReq>(body) else {
            return Reply::status(STATUS_INVALID);
        };
        let fault = if self.faults.idle() {
            None
        } else {
            self.faults.region_failure()
        };
        match fault {
            Some(RegionFailure::Status(s)) => return Reply::status(s),
            Some(RegionFailure::ZeroHandle) => return Reply::status(STATUS_NOT_FOUND),
            _ => {}
        }
        let fixed = core::mem::size_of::<DmaRegionAddPagesReq>();
        let Some(region) = self.q.regions.get_mut(&r.dma_region_handle) else {
            return Reply::status(STATUS_NOT_FOUND);
        };
        let n = r.page_addr_list_len as usize;
        let room = region.page_count as usize - region.pages.len();
        let Some(pages) = page_list(body, fixed, n).filter(|_| n >= 1 && n <= room) else {
            return Reply::status(STATUS_INVALID);
        };
        region.pages.extend(pages);
        let complete = region.complete();
        let wrong = fault == Some(RegionFailure::WrongMoreEntries);
        Reply::status(if complete == wrong {
            GDMA_STATUS_MORE_ENTRIES
        } else {
            0
        })
    }

    /// DEREGISTER_DEVICE: the MANA device's queues, WQ objects and regions
    /// go away (counted: a clean driver destroyed them first).
    fn drop_mana_objects(&mut self) {
        let mut dropped = self.q.regions.len();
        self.q.regions.clear();
        self.q.obj_handles.clear();
        let data_wqs: Vec<(u32, bool)> = self
            .q
            .wqs
            .iter()
            .filter(|(_, w)| !w.owner.hwc)
            .map(|(id, w)| (*id, w.kind == super::queues::WqKind::Send))
            .collect();
        for (id, is_sq) in data_wqs {
            self.q.wqs.remove(&id);
            dropped += 1;
            if !self.cfg.zero_latency {
                self.ledger
                    .flush_queue(if is_sq { BufKind::Tx } else { BufKind::Rx }, id as u16);
            }
        }
        let before = self.q.cqs.len() + self.q.eqs.len();
        self.q.cqs.retain(|_, c| c.owner.hwc);
        self.q.eqs.retain(|_, e| e.owner.hwc);
        dropped += before - self.q.cqs.len() - self.q.eqs.len();
        for v in self.vports.iter_mut() {
            *v = Default::default();
        }
        self.counters.objects_dropped += dropped as u64;
    }
}

/// The `n` page addresses after the fixed part, each 4 KiB aligned.
fn page_list(body: &[u8], fixed: usize, n: usize) -> Option<Vec<u64>> {
    let pages: Option<Vec<u64>> = (0..n).map(|i| u64_at(body, fixed + 8 * i)).collect();
    pages.filter(|p| {
        p.iter()
            .all(|a| a % u64::from(GDMA_PAGE_SIZE) == 0 && *a != 0)
    })
}
