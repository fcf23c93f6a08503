//! `MiniportInitializeEx` and `MiniportHaltEx`.
//!
//! Order (each step undone by `adapter::teardown` on failure):
//! registration attributes → keywords → PCI config and BAR mapping →
//! scatter-gather DMA → MSI-X interrupts → shared-core probe → queue plan →
//! NBL pool and receive buffers → open → refill → general and offload
//! attributes. The adapter starts Paused; NDIS calls Restart.

use core::ffi::c_void;
use core::ptr::{self, NonNull};
use core::sync::atomic::{AtomicBool, AtomicU32, Ordering};

use cloudnic_common::nic::{DeviceInfo, NetDevice, QueueConfig};
use cloudnic_common::{cn_err, cn_info, cn_warn};
use cloudnic_ena::defs::host_info::os_type;
use cloudnic_ena::device::{EnaConfig, EnaDevice};

use super::adapter::{
    alloc_adapter, teardown, Adapter, AdapterState, BarMapping, Datapath, RxFilter, ShimAtomics,
    MAX_MULTICAST, NO_RESET,
};
use super::devcell::DeviceCell;
use super::{attributes, config, interrupts, receive};
use crate::logic::keywords::Keywords;
use crate::logic::offload::OffloadState;
use crate::logic::resources::{self, DeviceKind, MemoryRange, PciConfig, PCI_CONFIG_HEADER_LEN};
use crate::logic::{plan, rss, rx};
use crate::ndis::ffi;
use crate::ndis::miniport::{CM_PARTIAL_RESOURCE_DESCRIPTOR, NDIS_MINIPORT_INIT_PARAMETERS};
use crate::ndis::oid::NDIS_PACKET_TYPE_DIRECTED;
use crate::ndis::status::*;
use crate::ndis::{NDIS_HANDLE, NDIS_STATUS};
use crate::platform::{WinBar, WinPlatform};

/// Most memory ranges examined in the resource list.
const MAX_RANGES: usize = 8;

/// `MiniportInitializeEx` (PASSIVE_LEVEL).
pub unsafe extern "system" fn initialize(
    handle: NDIS_HANDLE,
    _driver_ctx: NDIS_HANDLE,
    params: *mut NDIS_MINIPORT_INIT_PARAMETERS,
) -> NDIS_STATUS {
    let plat = WinPlatform::new(handle);
    let Some(p) = alloc_adapter(blank_adapter(handle, plat)) else {
        return NDIS_STATUS_RESOURCES;
    };
    // SAFETY: NDIS passes valid init parameters; `p` is ours until teardown.
    let status = unsafe { init_steps(p, &*params) };
    if status != NDIS_STATUS_SUCCESS {
        // SAFETY: NDIS calls no other handler after a failed initialisation.
        unsafe { teardown(p) };
    }
    status
}

fn blank_adapter(handle: NDIS_HANDLE, plat: WinPlatform) -> Adapter {
    Adapter {
        handle,
        plat,
        dma: ptr::null_mut(),
        interrupt: ptr::null_mut(),
        messages: 1,
        nbl_pool: ptr::null_mut(),
        work: ptr::null_mut(),
        maps: [None, None],
        cell: DeviceCell::new(Datapath {
            free: None,
            free_len: None,
            pending_head: ptr::null_mut(),
            pending_tail: ptr::null_mut(),
            filter: RxFilter {
                packet_filter: NDIS_PACKET_TYPE_DIRECTED,
                multicast: [[0; 6]; MAX_MULTICAST],
                count: 0,
            },
        }),
        kw: Keywords::defaults(),
        info: DeviceInfo::default(),
        qcfg: QueueConfig {
            num_queues: 1,
            tx_ring_size: 256,
            rx_ring_size: 256,
            mtu: 1500,
        },
        hw_offload: OffloadState::default(),
        offload: AtomicU32::new(0),
        rss_types: AtomicU32::new(0),
        lookahead: AtomicU32::new(0),
        state: AtomicU32::new(AdapterState::Initializing as u32),
        pause_pending: AtomicBool::new(false),
        tx_outstanding: AtomicU32::new(0),
        rx_outstanding: AtomicU32::new(0),
        link: AtomicU32::new(0),
        reset_reason: AtomicU32::new(NO_RESET),
        surprise_removed: AtomicBool::new(false),
        moderation_on: Default::default(),
        moderation_enabled: AtomicBool::new(false),
        rx_bufs: None,
        rx_buf_size: 2048,
        counters: ShimAtomics::default(),
    }
}

unsafe fn init_steps(p: NonNull<Adapter>, params: &NDIS_MINIPORT_INIT_PARAMETERS) -> NDIS_STATUS {
    let ctx: NDIS_HANDLE = p.as_ptr().cast();
    // SAFETY: nobody else sees the adapter until registration completes.
    let a = unsafe { &mut *p.as_ptr() };
    let st = attributes::set_registration(a.handle, ctx);
    if st != NDIS_STATUS_SUCCESS {
        return st;
    }
    // SAFETY: plain allocation; freed in teardown.
    a.work = unsafe { ffi::NdisAllocateIoWorkItem(a.handle) };
    if a.work.is_null() {
        return NDIS_STATUS_RESOURCES;
    }
    a.kw = config::read_keywords(a.handle, &a.plat);

    let mut raw = [0u8; PCI_CONFIG_HEADER_LEN];
    // SAFETY: buffer of the requested length.
    let got = unsafe {
        ffi::NdisMGetBusData(
            a.handle,
            ffi::PCI_WHICHSPACE_CONFIG,
            0,
            raw.as_mut_ptr().cast(),
            raw.len() as u32,
        )
    };
    let Some(pci) = PciConfig::parse(&raw[..(got as usize).min(raw.len())]) else {
        cn_err!(&a.plat, "cannot read PCI configuration space");
        return NDIS_STATUS_ADAPTER_NOT_READY;
    };
    let kind = resources::device_kind(pci.vendor, pci.device);
    if kind != Some(DeviceKind::Ena) {
        // MANA's shared bring-up (cloudnic_mana::ManaDevice) does not exist yet.
        cn_err!(
            &a.plat,
            "PCI {:04x}:{:04x}: no shared driver for this device in this build",
            pci.vendor,
            pci.device
        );
        return NDIS_STATUS_NOT_SUPPORTED;
    }
    // SAFETY: NDIS passes the translated resource list (or NULL).
    let bars = unsafe { bars_from_resources(&pci, params) };
    let Some(bar0) = bars[usize::from(cloudnic_ena::defs::pci::REGISTER_BAR)] else {
        cn_err!(&a.plat, "register BAR missing from the resources");
        return NDIS_STATUS_RESOURCE_CONFLICT;
    };
    let Some(bar0) = map_bar(a, 0, bar0, false) else {
        return NDIS_STATUS_RESOURCES;
    };
    let bar2 = bars[usize::from(cloudnic_ena::defs::pci::MEM_BAR)]
        .and_then(|r| map_bar(a, 1, r, true))
        .map(|b| b.0);

    let st = attributes::register_sg_dma(a);
    if st != NDIS_STATUS_SUCCESS {
        return st;
    }
    let messages = match interrupts::register(a, ctx) {
        Ok(m) => m,
        Err(st) => return st,
    };

    let mut cfg = EnaConfig::new(os_type::WINDOWS);
    // Admin completions are polled: the management DPC must not be needed
    // while a control operation waits for one (see devcell.rs).
    cfg.admin_interrupts = false;
    cfg.max_queues = u16::try_from(messages.saturating_sub(1).max(1)).unwrap_or(u16::MAX);
    cfg.bar0_phys = bar0.1;
    let dev = match EnaDevice::probe(a.plat, bar0.0, bar2, pci.revision, cfg) {
        Ok(d) => d,
        Err(e) => {
            cn_err!(&a.plat, "device bring-up failed: {}", e);
            return from_core_error(e);
        }
    };
    a.info = *dev.info();
    a.moderation_on = dev.moderation();
    let (qcfg, notes) = plan::queue_config(&a.kw, &a.info, messages);
    if notes.mtu_clamped || notes.queues_limited || notes.ring_clamped {
        cn_warn!(
            &a.plat,
            "keywords adjusted to the device: {:?} -> {:?}",
            notes,
            qcfg
        );
    }
    a.qcfg = qcfg;
    a.rx_buf_size = rx::rx_buffer_size(qcfg.mtu);
    a.hw_offload = OffloadState::hardware(a.info.offloads);
    a.offload.store(
        OffloadState::from_keywords(&a.kw, &a.hw_offload).to_bits(),
        Ordering::Relaxed,
    );
    a.rss_types.store(
        if a.kw.rss {
            rss::SUPPORTED_HASH_TYPES
        } else {
            0
        },
        Ordering::Relaxed,
    );
    a.moderation_enabled
        .store(a.kw.interrupt_moderation, Ordering::Relaxed);
    a.cell.control(|slot| *slot = Some(dev));

    if let Err(e) = receive::alloc_buffers(a) {
        cn_err!(&a.plat, "receive buffers: {}", e);
        return NDIS_STATUS_RESOURCES;
    }
    let opened = a.cell.control(|slot| {
        let d = slot.as_mut()?;
        if !a.kw.interrupt_moderation {
            let _ = d.set_moderation(Default::default());
        }
        Some(d.open(qcfg))
    });
    match opened {
        Some(Ok(())) => {}
        Some(Err(e)) => {
            cn_err!(&a.plat, "opening {} queues failed: {}", qcfg.num_queues, e);
            return from_core_error(e);
        }
        None => return NDIS_STATUS_FAILURE,
    }
    receive::refill_all(a);
    let up = a.cell.datapath(|d, _| d.link_up()).unwrap_or(false);
    a.link.store(if up { 1 } else { 2 }, Ordering::Relaxed);
    let st = attributes::set_general(a, up);
    if st != NDIS_STATUS_SUCCESS {
        return st;
    }
    let st = attributes::set_offload(a);
    if st != NDIS_STATUS_SUCCESS {
        return st;
    }
    a.set_state(AdapterState::Paused);
    cn_info!(
        &a.plat,
        "adapter ready: {} queues, MTU {}, rings {}/{}, {} interrupt messages",
        qcfg.num_queues,
        qcfg.mtu,
        qcfg.tx_ring_size,
        qcfg.rx_ring_size,
        messages
    );
    NDIS_STATUS_SUCCESS
}

/// Memory ranges of the resource list matched to BARs.
unsafe fn bars_from_resources(
    pci: &PciConfig,
    params: &NDIS_MINIPORT_INIT_PARAMETERS,
) -> [Option<MemoryRange>; 6] {
    let list = params.AllocatedResources;
    let mut ranges = [MemoryRange::default(); MAX_RANGES];
    let mut n = 0;
    if !list.is_null() {
        // SAFETY: NDIS passes a list with `Count` descriptors.
        unsafe {
            let count = (*list).Count as usize;
            let first =
                ptr::addr_of!((*list).PartialDescriptors).cast::<CM_PARTIAL_RESOURCE_DESCRIPTOR>();
            for i in 0..count {
                if let Some(r) = resources::memory_range(&first.add(i).read_unaligned()) {
                    if n < MAX_RANGES {
                        ranges[n] = r;
                        n += 1;
                    }
                }
            }
        }
    }
    resources::match_bars(pci, &ranges[..n])
}

/// Map a BAR; `wc` maps write-combining (ENA LLQ memory).
fn map_bar(a: &mut Adapter, slot: usize, r: MemoryRange, wc: bool) -> Option<(WinBar, u64)> {
    let len = resources::mappable_len(&r)?;
    let mut va: *mut c_void = ptr::null_mut();
    if wc {
        // SAFETY: a device memory range from our resource list.
        va = unsafe { ffi::MmMapIoSpace(r.start as i64, len as usize, ffi::MM_WRITE_COMBINED) };
    } else {
        // SAFETY: as above; NDIS records the mapping.
        let st = unsafe { ffi::NdisMMapIoSpace(&mut va, a.handle, r.start as i64, len) };
        if st != NDIS_STATUS_SUCCESS {
            va = ptr::null_mut();
        }
    }
    if va.is_null() {
        cn_warn!(
            &a.plat,
            "mapping BAR at {:#x} ({} bytes) failed",
            r.start,
            len
        );
        return None;
    }
    a.maps[slot] = Some(BarMapping { va, len, wc });
    // SAFETY: mapped until teardown, after the device is dropped.
    Some((unsafe { WinBar::new(va.cast(), len) }, r.start))
}

/// `MiniportHaltEx` (PASSIVE_LEVEL; the adapter is paused).
pub unsafe extern "system" fn halt(ctx: NDIS_HANDLE, _action: u32) {
    // SAFETY: NDIS passes our context; after Halt no handler runs.
    unsafe {
        Adapter::from_ctx(ctx).set_state(AdapterState::Halted);
        teardown(NonNull::new_unchecked(ctx.cast::<Adapter>()));
    }
}
