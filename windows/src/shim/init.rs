//! `MiniportInitializeEx` and `MiniportHaltEx`.
//!
//! Order (each step undone by `adapter::teardown` on failure):
//! registration attributes → keywords → PCI config and BAR mapping →
//! scatter-gather DMA → MSI-X interrupts → shared-core probe → queue plan →
//! NBL pool and receive buffers → open → refill → general and offload
//! attributes. The adapter starts Paused; NDIS calls Restart.

use core::ffi::c_void;
use core::ptr::{self, NonNull};
use core::sync::atomic::{AtomicBool, AtomicU32, AtomicUsize, Ordering};

use cloudnic_common::nic::{DeviceInfo, NetDevice, QueueConfig};
use cloudnic_common::{cn_err, cn_info, cn_warn};

use super::adapter::{
    alloc_adapter, teardown, Adapter, AdapterState, BarMapping, Datapath, RxFilter, ShimAtomics,
    MAX_MULTICAST, NO_RESET,
};
use super::devcell::DeviceCell;
use super::device::{self, Bar};
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
        irql_lock: AtomicUsize::new(0),
    }
}

unsafe fn init_steps(p: NonNull<Adapter>, params: &NDIS_MINIPORT_INIT_PARAMETERS) -> NDIS_STATUS {
    let ctx: NDIS_HANDLE = p.as_ptr().cast();
    let raw = p.as_ptr();
    // Phase 1: no interrupt registered, nobody else sees the adapter.
    let (handle, plat, pci, kind, bar0, bar2) = {
        // SAFETY: exclusive until the interrupt is registered.
        let a = unsafe { &mut *raw };
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
        let mut cfg_space = [0u8; PCI_CONFIG_HEADER_LEN];
        // SAFETY: buffer of the requested length.
        let got = unsafe {
            ffi::NdisMGetBusData(
                a.handle,
                ffi::PCI_WHICHSPACE_CONFIG,
                0,
                cfg_space.as_mut_ptr().cast(),
                cfg_space.len() as u32,
            )
        };
        let Some(pci) = PciConfig::parse(&cfg_space[..(got as usize).min(cfg_space.len())]) else {
            cn_err!(&a.plat, "cannot read PCI configuration space");
            return NDIS_STATUS_ADAPTER_NOT_READY;
        };
        let Some(kind) = resources::device_kind(pci.vendor, pci.device) else {
            cn_err!(
                &a.plat,
                "PCI {:04x}:{:04x} is not a cloudnic device",
                pci.vendor,
                pci.device
            );
            return NDIS_STATUS_NOT_SUPPORTED;
        };
        // SAFETY: NDIS passes the translated resource list (or NULL).
        let bars = unsafe { bars_from_resources(&pci, params) };
        // Both devices keep registers in BAR 0; ENA's LLQ memory is BAR 2
        // (write-combining), MANA has no second BAR (ena.md §1.1, mana.md §1).
        let Some(r0) = bars[usize::from(cloudnic_ena::defs::pci::REGISTER_BAR)] else {
            cn_err!(&a.plat, "register BAR missing from the resources");
            return NDIS_STATUS_RESOURCE_CONFLICT;
        };
        let Some(bar0) = map_bar(a, 0, r0, false) else {
            return NDIS_STATUS_RESOURCES;
        };
        let bar2 = match kind {
            DeviceKind::Ena => bars[usize::from(cloudnic_ena::defs::pci::MEM_BAR)]
                .and_then(|r| map_bar(a, 1, r, true)),
            DeviceKind::Mana => None,
        };
        let st = attributes::register_sg_dma(a);
        if st != NDIS_STATUS_SUCCESS {
            return st;
        }
        (a.handle, a.plat, pci, kind, bar0, bar2)
    };

    // Phase 2: the interrupt handlers may run; they read only `state`
    // (Initializing) until the end. Fields are written through `raw` with
    // no reference to the whole adapter alive; shared references are used
    // only for calls and dropped before the next write.
    let (interrupt, messages) = match interrupts::register(handle, ctx) {
        Ok(r) => r,
        Err(st) => return st,
    };
    // SAFETY: raw field writes (see above).
    unsafe {
        (*raw).interrupt = interrupt;
        (*raw).messages = messages;
    }
    // SAFETY: plain copy out of the adapter.
    let kw = unsafe { (*raw).kw };
    let dev = match device::probe(kind, plat, &pci, bar0, bar2, messages) {
        Ok(d) => d,
        Err(e) => {
            cn_err!(&plat, "device bring-up failed: {}", e);
            return from_core_error(e);
        }
    };
    let info = *dev.info();
    let (qcfg, notes) = plan::queue_config(&kw, &info, messages);
    if notes.mtu_clamped || notes.queues_limited || notes.ring_clamped {
        cn_warn!(
            &plat,
            "keywords adjusted to the device: {:?} -> {:?}",
            notes,
            qcfg
        );
    }
    let hw = OffloadState::hardware(info.offloads);
    // SAFETY: raw field writes (see above).
    unsafe {
        (*raw).moderation_on = dev.moderation();
        (*raw).info = info;
        (*raw).qcfg = qcfg;
        (*raw).rx_buf_size = rx::rx_buffer_size(qcfg.mtu);
        (*raw).hw_offload = hw;
        (*raw).offload.store(
            OffloadState::from_keywords(&kw, &hw).to_bits(),
            Ordering::Relaxed,
        );
        let types = if kw.rss { rss::SUPPORTED_HASH_TYPES } else { 0 };
        (*raw).rss_types.store(types, Ordering::Relaxed);
        (*raw)
            .moderation_enabled
            .store(kw.interrupt_moderation, Ordering::Relaxed);
        (*raw).cell.control(|slot| *slot = Some(dev));
    }

    // SAFETY: shared reference for the call only.
    let (res, alloc) = receive::alloc_buffers(unsafe { &*raw });
    // SAFETY: raw field writes.
    unsafe {
        (*raw).nbl_pool = res.pool;
        (*raw).rx_bufs = res.bufs;
    }
    if let Err(e) = alloc {
        cn_err!(&plat, "receive buffers: {}", e);
        return NDIS_STATUS_RESOURCES;
    }

    // From here on the adapter is only read.
    // SAFETY: no more writes to non-atomic fields below.
    let a = unsafe { &*raw };
    let opened = a.cell.control(|slot| {
        let d = slot.as_mut()?;
        if !kw.interrupt_moderation {
            let _ = d.set_moderation(Default::default());
        }
        Some(d.open(qcfg))
    });
    match opened {
        Some(Ok(())) => {}
        Some(Err(e)) => {
            cn_err!(&plat, "opening {} queues failed: {}", qcfg.num_queues, e);
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
    // Publishes every write above to the interrupt handlers (Release).
    a.set_state(AdapterState::Paused);
    cn_info!(
        &plat,
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
fn map_bar(a: &mut Adapter, slot: usize, r: MemoryRange, wc: bool) -> Option<Bar> {
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
    Some(Bar {
        bar: unsafe { WinBar::new(va.cast(), len) },
        phys: r.start,
        len,
    })
}

/// `MiniportHaltEx` (PASSIVE_LEVEL; the adapter is paused).
pub unsafe extern "system" fn halt(ctx: NDIS_HANDLE, _action: u32) {
    // SAFETY: NDIS passes our context; after Halt no handler runs.
    unsafe {
        Adapter::from_ctx(ctx).set_state(AdapterState::Halted);
        teardown(NonNull::new_unchecked(ctx.cast::<Adapter>()));
    }
}
