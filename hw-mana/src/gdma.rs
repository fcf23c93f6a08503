//! GDMA: the function-level layer over the hardware channel — typed
//! requests with status checking, bring-up (verify version, timeouts,
//! devices, limits), device registration, DMA regions with ADD_PAGES, EQ
//! creation and the EQ test (mana.md §3.1, §3.6–§3.8, §5).

use zerocopy::{FromZeros, IntoBytes};

use cloudnic_common::{cn_info, cn_warn, DmaRegion, Error, Platform, RegisterBar};

use crate::bar::{BarLayout, DoorbellPage};
use crate::cq::{EventQueue, QueueEntry};
use crate::defs::gdma::{
    CreateDmaRegionReq, CreateQueueReq, DeregisterDeviceReq, DestroyDmaRegionReq, DisableQueueReq,
    DmaRegionAddPagesReq, DriverCapFlags1, GenerateTestEqeReq, ListDevicesReq, PfCapFlags1,
    QueryHwcTimeoutReq, QueryMaxResourcesReq, QueryMaxResourcesResp, RegisterDeviceReq,
    VerifyVersionReq, GDMA_DEV_LIST_SIZE, GDMA_INVALID_DMA_REGION, GDMA_OS_STR_LEN,
    GDMA_OS_TYPE_LINUX, GDMA_PAGE_SIZE, GDMA_PAGE_TYPE_4K, GDMA_PROTOCOL_V1,
};
use crate::defs::msg::{
    GdmaDevId, GdmaRequest, GdmaRespHdr, GDMA_DEVICE_MANA, GDMA_STATUS_CMD_UNSUPPORTED,
    GDMA_STATUS_MORE_ENTRIES, GDMA_STATUS_SUCCESS,
};
use crate::defs::queue::{eqe_type, GDMA_INVALID_ID, GDMA_QUEUE_EQ};
use crate::hwc::{Hwc, HwcConfig};
use crate::smc::Smc;

/// Size of the fixed part of CREATE_DMA_REGION.
const CREATE_REGION_FIXED: u32 = core::mem::size_of::<CreateDmaRegionReq>() as u32;
/// Size of the fixed part of DMA_REGION_ADD_PAGES.
const ADD_PAGES_FIXED: u32 = core::mem::size_of::<DmaRegionAddPagesReq>() as u32;

/// Map a GDMA response status to a result (mana.md §3.4): 0 and
/// MORE_ENTRIES succeed, CMD_UNSUPPORTED is `Unsupported`, anything else is
/// "the device said no" (the 32-bit status saturates into the common u8).
pub fn status_result(status: u32) -> Result<(), Error> {
    match status {
        GDMA_STATUS_SUCCESS | GDMA_STATUS_MORE_ENTRIES => Ok(()),
        GDMA_STATUS_CMD_UNSUPPORTED => Err(Error::Unsupported),
        s => Err(Error::DeviceStatus(s)),
    }
}

/// Version string reported to the device (no `env!`: the kernel build has no Cargo).
pub const DRIVER_VERSION_STR: &str = "cloudnic-mana 0.1";

/// Driver identity sent in VERIFY_VF_DRIVER_VERSION.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DriverIdentity {
    /// `GDMA_OS_TYPE_*`.
    pub os_type: u32,
    /// OS major, minor, build.
    pub os_version: (u32, u32, u32),
    /// OS string 1 (Linux: sysname), truncated to 127 bytes.
    pub os_name: &'static str,
    /// OS string 2 (Linux: release).
    pub os_release: &'static str,
}

impl Default for DriverIdentity {
    fn default() -> Self {
        DriverIdentity {
            os_type: GDMA_OS_TYPE_LINUX,
            os_version: (0, 0, 0),
            os_name: "cloudnic",
            os_release: DRIVER_VERSION_STR,
        }
    }
}

/// The capability flags this driver implements (mana.md §3.7): each bit is
/// backed by code here — HWC timeout reconfiguration and recovery, variable
/// indirection table, link EQEs, LIST_DEVICES holes, self reset on EQE 135
/// and 132, stalled-SQ recovery, per-vPort EQs, "linearize" (the shim
/// linearizes on `TooManySegments`), periodic stats.
pub const DRIVER_CAPS: DriverCapFlags1 = DriverCapFlags1::HWC_TIMEOUT_RECONFIG
    .union(DriverCapFlags1::VARIABLE_INDIRECTION_TABLE)
    .union(DriverCapFlags1::HW_VPORT_LINK_AWARE)
    .union(DriverCapFlags1::LIST_DEVICES_HOLES)
    .union(DriverCapFlags1::SELF_RESET_ON_EQE)
    .union(DriverCapFlags1::FPGA_RECONFIG_SELF_RESET)
    .union(DriverCapFlags1::STALLED_SQ_RECOVERY)
    .union(DriverCapFlags1::PER_VPORT_EQ_MSIX)
    .union(DriverCapFlags1::SKB_LINEARIZE)
    .union(DriverCapFlags1::PERIODIC_STATS_QUERY)
    .union(DriverCapFlags1::HWC_TIMEOUT_RECOVERY);

/// Tunables of GDMA bring-up.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct GdmaConfig {
    /// Hardware channel settings.
    pub hwc: HwcConfig,
    /// Capability flags advertised.
    pub caps: DriverCapFlags1,
    /// Identity strings.
    pub identity: DriverIdentity,
    /// Wait for a TEST_EVENT EQE, µs (Linux 30 s).
    pub test_eqe_timeout_us: u64,
    /// SMC poll budget: tries and interval in µs (Linux 20 000 × 1 ms).
    pub smc_poll: (u32, u32),
}

impl Default for GdmaConfig {
    fn default() -> Self {
        GdmaConfig {
            hwc: HwcConfig::default(),
            caps: DRIVER_CAPS,
            identity: DriverIdentity::default(),
            test_eqe_timeout_us: 30_000_000,
            smc_poll: (
                crate::defs::smc::SMC_POLL_MAX_TRIES,
                crate::defs::smc::SMC_POLL_INTERVAL_US,
            ),
        }
    }
}

/// REGISTER_DEVICE results (mana.md §3.6).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Registration {
    /// Device registered.
    pub dev: GdmaDevId,
    /// Protection domain id.
    pub pdid: u32,
    /// Memory key for SGEs.
    pub gpa_mkey: u32,
    /// Doorbell page index.
    pub db_id: u32,
    /// The validated doorbell page.
    pub db: DoorbellPage,
}

/// Function-level resource limits (QUERY_MAX_RESOURCES).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MaxResources {
    /// Max SQs.
    pub max_sq: u32,
    /// Max RQs.
    pub max_rq: u32,
    /// Max CQs.
    pub max_cq: u32,
    /// Max EQs.
    pub max_eq: u32,
    /// Max MSI-X vectors.
    pub max_msix: u32,
}

/// The GDMA context of one PCI function.
pub struct Gdma<P: Platform> {
    /// The hardware channel.
    pub hwc: Hwc<P>,
    layout: BarLayout,
    pf_caps: PfCapFlags1,
    limits: MaxResources,
    reg: Registration,
    test_eqe_timeout_us: u64,
}

impl<P: Platform> Gdma<P> {
    /// Bring the function up to a registered MANA device (mana.md §3.1 steps
    /// 1–8 and REGISTER_DEVICE).
    pub fn bring_up<R: RegisterBar>(
        plat: &P,
        bar: &R,
        layout: BarLayout,
        cfg: &GdmaConfig,
    ) -> Result<Self, Error> {
        let mut smc = Smc::new(layout.smc_offset);
        smc.set_poll(cfg.smc_poll.0, cfg.smc_poll.1);
        let hwc = Hwc::create(plat, bar, &layout, &smc, &cfg.hwc)?;
        let placeholder = Registration {
            dev: GdmaDevId::NONE,
            pdid: GDMA_INVALID_ID,
            gpa_mkey: GDMA_INVALID_ID,
            db_id: GDMA_INVALID_ID,
            db: layout.doorbell_page(0)?,
        };
        let mut g = Gdma {
            hwc,
            layout,
            pf_caps: PfCapFlags1::empty(),
            limits: MaxResources::default(),
            reg: placeholder,
            test_eqe_timeout_us: cfg.test_eqe_timeout_us,
        };
        match g.bring_up_steps(plat, bar, cfg) {
            Ok(()) => Ok(g),
            Err(e) => {
                // The device must drop the HWC translations before the memory goes.
                let _ = g.hwc.destroy(plat, bar);
                Err(e)
            }
        }
    }

    fn bring_up_steps<R: RegisterBar>(
        &mut self,
        plat: &P,
        bar: &R,
        cfg: &GdmaConfig,
    ) -> Result<(), Error> {
        self.test_hwc_eq(plat, bar)?;
        self.verify_version(plat, bar, cfg)?;
        if self.pf_caps.contains(PfCapFlags1::QUERY_HWC_TIMEOUT) {
            self.query_hwc_timeout(plat, bar)?;
        }
        let dev = self.find_mana_device(plat, bar)?;
        self.limits = self.query_max_resources(plat, bar)?;
        self.reg = self.register_device(plat, bar, dev)?;
        cn_info!(
            plat,
            "mana: GDMA up: pf caps {:#x}, limits {:?}, pdid {} db {}",
            self.pf_caps.bits(),
            self.limits,
            self.reg.pdid,
            self.reg.db_id
        );
        Ok(())
    }

    /// Send a fixed-size request and check its status.
    pub fn send<Q: GdmaRequest, R: RegisterBar>(
        &mut self,
        plat: &P,
        bar: &R,
        req: &Q,
    ) -> Result<Q::Response, Error> {
        let mut resp = Q::Response::new_zeroed();
        let hdr = self
            .hwc
            .request(plat, bar, |w| w.put(req.as_bytes()), resp.as_mut_bytes())?;
        status_result(hdr.status)?;
        Ok(resp)
    }

    /// Send a request built by `build` (variable length); returns the
    /// response header (status unchecked) and fills `resp`.
    pub fn send_raw<R: RegisterBar>(
        &mut self,
        plat: &P,
        bar: &R,
        build: impl FnOnce(&mut crate::hwc::RequestWriter<'_>) -> Result<(), Error>,
        resp: &mut [u8],
    ) -> Result<GdmaRespHdr, Error> {
        self.hwc.request(plat, bar, build, resp)
    }

    /// BAR layout.
    pub fn layout(&self) -> &BarLayout {
        &self.layout
    }
    /// PF capabilities from VERIFY_VF_DRIVER_VERSION.
    pub fn pf_caps(&self) -> PfCapFlags1 {
        self.pf_caps
    }
    /// QUERY_MAX_RESOURCES limits.
    pub fn limits(&self) -> &MaxResources {
        &self.limits
    }
    /// The MANA device's registration.
    pub fn registration(&self) -> &Registration {
        &self.reg
    }

    /// GENERATE_TEST_EQE on the HWC EQ, then wait for TEST_EVENT (mana.md §3.1 step 7).
    fn test_hwc_eq<R: RegisterBar>(&mut self, plat: &P, bar: &R) -> Result<(), Error> {
        let req = GenerateTestEqeReq {
            hdr: GenerateTestEqeReq::header(GdmaDevId::HWC),
            queue_index: self.hwc.info().ids.eq_id,
        };
        self.send(plat, bar, &req)?;
        let deadline = plat.now_us().saturating_add(self.test_eqe_timeout_us);
        loop {
            self.hwc.process_interrupt(plat, bar);
            if self.hwc.take_test_event() {
                return Ok(());
            }
            if plat.now_us() >= deadline {
                cn_warn!(plat, "mana: no TEST_EVENT on the HWC EQ");
                return Err(Error::Timeout);
            }
            plat.sleep_us(1000);
        }
    }

    fn verify_version<R: RegisterBar>(
        &mut self,
        plat: &P,
        bar: &R,
        cfg: &GdmaConfig,
    ) -> Result<(), Error> {
        let mut req = VerifyVersionReq::new_zeroed();
        req.hdr = VerifyVersionReq::header(GdmaDevId::NONE);
        req.protocol_ver_min = GDMA_PROTOCOL_V1;
        req.protocol_ver_max = GDMA_PROTOCOL_V1;
        req.gd_drv_cap_flags1 = cfg.caps.bits();
        req.os_type = cfg.identity.os_type;
        (req.os_ver_major, req.os_ver_minor, req.os_ver_build) = cfg.identity.os_version;
        copy_str(&mut req.os_ver_str1, cfg.identity.os_name);
        copy_str(&mut req.os_ver_str2, cfg.identity.os_release);
        let resp = self.send(plat, bar, &req)?;
        if resp.gdma_protocol_ver != GDMA_PROTOCOL_V1 {
            return Err(Error::IncompatibleDevice);
        }
        self.pf_caps = PfCapFlags1::from_bits_retain(resp.pf_cap_flags1);
        Ok(())
    }

    /// QUERY_HWC_TIMEOUT: report our timeout, adopt the device's.
    pub fn query_hwc_timeout<R: RegisterBar>(&mut self, plat: &P, bar: &R) -> Result<(), Error> {
        let ms = u32::try_from(self.hwc.timeout_us() / 1000).unwrap_or(u32::MAX);
        let req = QueryHwcTimeoutReq {
            hdr: QueryHwcTimeoutReq::header(GdmaDevId::NONE),
            timeout_ms: ms,
            reserved: 0,
        };
        let resp = self.send(plat, bar, &req)?;
        if resp.timeout_ms > 0 {
            self.hwc.set_timeout_us(u64::from(resp.timeout_ms) * 1000);
        }
        Ok(())
    }

    fn find_mana_device<R: RegisterBar>(&mut self, plat: &P, bar: &R) -> Result<GdmaDevId, Error> {
        let resp = self.send(
            plat,
            bar,
            &ListDevicesReq {
                hdr: ListDevicesReq::header(GdmaDevId::NONE),
            },
        )?;
        let n = (resp.num_of_devs as usize).min(GDMA_DEV_LIST_SIZE);
        // Zero entries are holes (cap bit 11); take the first MANA Ethernet device.
        resp.devs
            .iter()
            .take(n)
            .copied()
            .find(|d| d.dev_type == GDMA_DEVICE_MANA)
            .ok_or(Error::IncompatibleDevice)
    }

    fn query_max_resources<R: RegisterBar>(
        &mut self,
        plat: &P,
        bar: &R,
    ) -> Result<MaxResources, Error> {
        let r: QueryMaxResourcesResp = self.send(
            plat,
            bar,
            &QueryMaxResourcesReq {
                hdr: QueryMaxResourcesReq::header(GdmaDevId::NONE),
            },
        )?;
        if r.max_sq == 0 || r.max_rq == 0 || r.max_cq == 0 || r.max_eq == 0 {
            return Err(Error::IncompatibleDevice);
        }
        Ok(MaxResources {
            max_sq: r.max_sq,
            max_rq: r.max_rq,
            max_cq: r.max_cq,
            max_eq: r.max_eq,
            max_msix: r.max_msix,
        })
    }

    fn register_device<R: RegisterBar>(
        &mut self,
        plat: &P,
        bar: &R,
        dev: GdmaDevId,
    ) -> Result<Registration, Error> {
        let r = self.send(
            plat,
            bar,
            &RegisterDeviceReq {
                hdr: RegisterDeviceReq::header(dev),
            },
        )?;
        // The doorbell page must lie inside BAR0 (mana.md §1.3).
        let db = self.layout.doorbell_page(r.db_id)?;
        Ok(Registration {
            dev,
            pdid: r.pdid,
            gpa_mkey: r.gpa_mkey,
            db_id: r.db_id,
            db,
        })
    }

    /// DEREGISTER_DEVICE (teardown).
    pub fn deregister_device<R: RegisterBar>(&mut self, plat: &P, bar: &R) -> Result<(), Error> {
        let dev = self.reg.dev;
        self.send(
            plat,
            bar,
            &DeregisterDeviceReq {
                hdr: DeregisterDeviceReq::header(dev),
            },
        )
        .map(|_| ())
    }

    /// Describe `mem` (4 KiB aligned, power-of-two length) to the device;
    /// splits into CREATE_DMA_REGION + DMA_REGION_ADD_PAGES when the page
    /// list exceeds one message (mana.md §5). Returns the region handle.
    pub fn create_dma_region<R: RegisterBar>(
        &mut self,
        plat: &P,
        bar: &R,
        mem: &P::Dma,
    ) -> Result<u64, Error> {
        let len = mem.len() as u64;
        let base = mem.bus_addr();
        if len < u64::from(GDMA_PAGE_SIZE)
            || !len.is_power_of_two()
            || base & u64::from(GDMA_PAGE_SIZE - 1) != 0
        {
            return Err(Error::Unsupported);
        }
        let pages =
            u32::try_from(len / u64::from(GDMA_PAGE_SIZE)).map_err(|_| Error::Unsupported)?;
        let max_req = self.hwc.max_request();
        let per_create = max_req.saturating_sub(CREATE_REGION_FIXED) / 8;
        let per_add = max_req.saturating_sub(ADD_PAGES_FIXED) / 8;
        if per_create == 0 || per_add == 0 {
            return Err(Error::Unsupported);
        }
        let first = pages.min(per_create);
        let page = |i: u32| base.wrapping_add(u64::from(i) * u64::from(GDMA_PAGE_SIZE));
        let req = CreateDmaRegionReq {
            hdr: CreateDmaRegionReq::header_sized(
                GdmaDevId::NONE,
                (CREATE_REGION_FIXED + 8 * first) as usize,
            ),
            length: len,
            offset_in_page: 0,
            gdma_page_type: GDMA_PAGE_TYPE_4K,
            page_count: pages,
            page_addr_list_len: first,
        };
        let mut resp = crate::defs::gdma::CreateDmaRegionResp::new_zeroed();
        let hdr = self.hwc.request(
            plat,
            bar,
            |w| {
                w.put(req.as_bytes())?;
                (0..first).try_for_each(|i| w.put_u64(page(i)))
            },
            resp.as_mut_bytes(),
        )?;
        let more = first < pages;
        expect_status(hdr.status, more)?;
        let handle = resp.dma_region_handle;
        if handle == GDMA_INVALID_DMA_REGION {
            return Err(Error::Malformed);
        }
        let mut done = first;
        while done < pages {
            let n = (pages - done).min(per_add);
            let add = DmaRegionAddPagesReq {
                hdr: DmaRegionAddPagesReq::header_sized(
                    GdmaDevId::NONE,
                    (ADD_PAGES_FIXED + 8 * n) as usize,
                ),
                dma_region_handle: handle,
                page_addr_list_len: n,
                reserved3: 0,
            };
            let mut r = GdmaRespHdr::new_zeroed();
            let start = done;
            let res = self
                .hwc
                .request(
                    plat,
                    bar,
                    |w| {
                        w.put(add.as_bytes())?;
                        (start..start + n).try_for_each(|i| w.put_u64(page(i)))
                    },
                    r.as_mut_bytes(),
                )
                .and_then(|h| expect_status(h.status, start + n < pages));
            if let Err(e) = res {
                let _ = self.destroy_dma_region(plat, bar, handle);
                return Err(e);
            }
            done += n;
        }
        Ok(handle)
    }

    /// DESTROY_DMA_REGION for a region no queue consumed.
    pub fn destroy_dma_region<R: RegisterBar>(
        &mut self,
        plat: &P,
        bar: &R,
        handle: u64,
    ) -> Result<(), Error> {
        self.send(
            plat,
            bar,
            &DestroyDmaRegionReq {
                hdr: DestroyDmaRegionReq::header(GdmaDevId::NONE),
                dma_region_handle: handle,
            },
        )
        .map(|_| ())
    }

    /// Create a data EQ on the MANA device (DMA region + CREATE_QUEUE), then
    /// GENERATE_TEST_EQE and wait for TEST_EVENT on it (mana.md §3.8).
    pub fn create_eq<R: RegisterBar>(
        &mut self,
        plat: &P,
        bar: &R,
        eq: &mut EventQueue<P>,
        msix: u32,
        log2_throttle: u32,
    ) -> Result<(), Error> {
        let region = self.create_dma_region(plat, bar, eq.mem())?;
        let mut req = CreateQueueReq {
            hdr: CreateQueueReq::header(self.reg.dev),
            ..Default::default()
        };
        req.queue_type = GDMA_QUEUE_EQ;
        req.pdid = self.reg.pdid;
        req.doorbell_id = self.reg.db_id;
        req.gdma_region = region;
        req.queue_size = eq.size_bytes();
        req.log2_throttle_limit = log2_throttle.max(1);
        req.eq_pci_msix_index = msix;
        let resp = match self.send(plat, bar, &req) {
            Ok(r) => r,
            Err(e) => {
                let _ = self.destroy_dma_region(plat, bar, region);
                return Err(e);
            }
        };
        if resp.queue_index > 0xFFFF {
            // EQ doorbells carry 16-bit ids (mana.md §1.5).
            return Err(Error::Malformed);
        }
        eq.set_id(resp.queue_index);
        let test = GenerateTestEqeReq {
            hdr: GenerateTestEqeReq::header(self.reg.dev),
            queue_index: resp.queue_index,
        };
        self.send(plat, bar, &test)?;
        let deadline = plat.now_us().saturating_add(self.test_eqe_timeout_us);
        loop {
            match eq.poll(plat) {
                QueueEntry::Entry(e) if e.info().event_type() == eqe_type::TEST_EVENT => break,
                QueueEntry::Entry(_) => continue,
                QueueEntry::Overflow => return Err(Error::Malformed),
                QueueEntry::Empty => {}
            }
            if plat.now_us() >= deadline {
                return Err(Error::Timeout);
            }
            plat.sleep_us(1000);
        }
        eq.ring_doorbell(plat, bar, &self.reg.db, true);
        Ok(())
    }

    /// DISABLE_QUEUE (EQ destroy).
    pub fn disable_queue<R: RegisterBar>(
        &mut self,
        plat: &P,
        bar: &R,
        queue_type: u32,
        id: u32,
    ) -> Result<(), Error> {
        let req = DisableQueueReq {
            hdr: DisableQueueReq::header(self.reg.dev),
            queue_type,
            queue_index: id,
            alloc_res_id_on_creation: 1,
        };
        self.send(plat, bar, &req).map(|_| ())
    }

    /// Teardown: DEREGISTER_DEVICE (if the channel still works), then SMC
    /// DESTROY_HWC, after which the memory may be freed.
    pub fn shutdown<R: RegisterBar>(&mut self, plat: &P, bar: &R) -> Result<(), Error> {
        let _ = self.deregister_device(plat, bar);
        self.hwc.destroy(plat, bar)
    }
}

/// Intermediate parts of a multi-part region must answer MORE_ENTRIES, the
/// last one SUCCESS (mana.md §5).
fn expect_status(status: u32, more: bool) -> Result<(), Error> {
    match (status, more) {
        (GDMA_STATUS_MORE_ENTRIES, true) | (GDMA_STATUS_SUCCESS, false) => Ok(()),
        (GDMA_STATUS_SUCCESS, true) | (GDMA_STATUS_MORE_ENTRIES, false) => Err(Error::Malformed),
        (s, _) => status_result(s),
    }
}

fn copy_str(dst: &mut [u8; GDMA_OS_STR_LEN], s: &str) {
    let n = s.len().min(GDMA_OS_STR_LEN - 1);
    dst[..n].copy_from_slice(&s.as_bytes()[..n]);
}
