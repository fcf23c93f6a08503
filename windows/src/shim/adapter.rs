//! The per-adapter context NDIS hands back to every handler, its states,
//! counters and teardown.
//!
//! The adapter lives in nonpaged pool at a fixed address from
//! InitializeEx to HaltEx. Fields written after initialisation are atomics
//! or live in the [`DeviceCell`]; everything else is set before NDIS can
//! call any other handler.

use core::ffi::c_void;
use core::ptr::{self, NonNull};
use core::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, AtomicUsize, Ordering};

use cloudnic_common::nic::{DeviceInfo, ModerationConfig, NetDevice, QueueConfig, Released};

use super::devcell::DeviceCell;
use crate::logic::keywords::Keywords;
use crate::logic::offload::OffloadState;
use crate::logic::rx::FrameClass;
use crate::logic::stats::ShimCounters;
use crate::ndis::ffi;
use crate::ndis::nbl::{MDL, NET_BUFFER, NET_BUFFER_LIST};
use crate::ndis::NDIS_HANDLE;
use crate::platform::{WinDma, WinPlatform, WinTable};

/// The device type this build drives (ENA or MANA); every call goes
/// through the `NetDevice` trait.
pub type DriverDevice = super::device::AnyDevice;

/// Multicast addresses the software filter holds.
pub const MAX_MULTICAST: usize = 32;

/// Adapter life cycle (NDIS 6: initialised paused, then Restart).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u32)]
pub enum AdapterState {
    /// InitializeEx running.
    Initializing = 0,
    /// Paused: no sends accepted, no receives indicated.
    Paused = 1,
    /// Running.
    Running = 2,
    /// Pause requested, waiting for sends and receives to come back.
    Pausing = 3,
    /// HaltEx running or done.
    Halted = 4,
}

/// No reset requested (value of [`Adapter::reset_reason`]).
pub const NO_RESET: u32 = u32::MAX;

/// NDIS packet filter and multicast list (applied in software).
pub struct RxFilter {
    /// `NDIS_PACKET_TYPE_*`.
    pub packet_filter: u32,
    /// Multicast list.
    pub multicast: [[u8; 6]; MAX_MULTICAST],
    /// Entries in use.
    pub count: usize,
}

/// Datapath state kept next to the device under the cell's lock.
pub struct Datapath {
    /// Free RX buffer indexes, one stack of `rx_ring_size` slots per queue.
    pub free: Option<WinTable<u32>>,
    /// Entries in each queue's stack.
    pub free_len: Option<WinTable<u32>>,
    /// Sends waiting for ring space (linked through `NB_SLOT_NEXT`).
    pub pending_head: *mut NET_BUFFER,
    /// Tail of the pending FIFO.
    pub pending_tail: *mut NET_BUFFER,
    /// Software receive filter.
    pub filter: RxFilter,
}

/// One receive buffer: shared memory, its MDL and its NBL/NB.
pub struct RxBuf {
    /// The memory (bus address for the device, VA for the MDL).
    pub dma: WinDma,
    /// MDL describing `dma`.
    pub mdl: *mut MDL,
    /// NBL (with one NET_BUFFER) indicated when the buffer holds a packet.
    pub nbl: *mut NET_BUFFER_LIST,
}

/// A BAR mapping to undo at halt.
#[derive(Clone, Copy)]
pub struct BarMapping {
    /// CPU address.
    pub va: *mut c_void,
    /// Length.
    pub len: u32,
    /// Mapped with `MmMapIoSpace` (write-combining) instead of NdisMMapIoSpace.
    pub wc: bool,
}

/// The shim's own counters, updated from any CPU.
#[derive(Default)]
pub struct ShimAtomics {
    rx_frames: [AtomicU64; 3],
    rx_bytes: [AtomicU64; 3],
    tx_frames: [AtomicU64; 3],
    tx_bytes: [AtomicU64; 3],
    /// Frames dropped by the filter or while paused.
    pub rx_discards: AtomicU64,
    /// Sends failed.
    pub tx_errors: AtomicU64,
    /// Sends refused while paused or resetting.
    pub tx_discards: AtomicU64,
}

impl ShimAtomics {
    /// Count a received frame.
    pub fn rx(&self, class: FrameClass, len: u32) {
        self.rx_frames[class as usize].fetch_add(1, Ordering::Relaxed);
        self.rx_bytes[class as usize].fetch_add(u64::from(len), Ordering::Relaxed);
    }

    /// Count a sent frame.
    pub fn tx(&self, class: FrameClass, len: u32) {
        self.tx_frames[class as usize].fetch_add(1, Ordering::Relaxed);
        self.tx_bytes[class as usize].fetch_add(u64::from(len), Ordering::Relaxed);
    }

    /// A consistent-enough snapshot for OID_GEN_STATISTICS.
    pub fn snapshot(&self) -> ShimCounters {
        let load = |a: &[AtomicU64; 3]| [0, 1, 2].map(|i| a[i].load(Ordering::Relaxed));
        ShimCounters {
            rx_frames: load(&self.rx_frames),
            rx_bytes: load(&self.rx_bytes),
            tx_frames: load(&self.tx_frames),
            tx_bytes: load(&self.tx_bytes),
            rx_discards: self.rx_discards.load(Ordering::Relaxed),
            tx_errors: self.tx_errors.load(Ordering::Relaxed),
            tx_discards: self.tx_discards.load(Ordering::Relaxed),
        }
    }
}

/// Per-adapter context.
pub struct Adapter {
    /// MiniportAdapterHandle.
    pub handle: NDIS_HANDLE,
    /// Platform for the core.
    pub plat: WinPlatform,
    /// Scatter-gather DMA handle.
    pub dma: NDIS_HANDLE,
    /// Interrupt handle.
    pub interrupt: NDIS_HANDLE,
    /// Interrupt messages granted (1 for line-based).
    pub messages: u32,
    /// NBL pool for receive NBLs.
    pub nbl_pool: NDIS_HANDLE,
    /// Work item for the reset flow (ResetEx runs at DISPATCH_LEVEL).
    pub work: NDIS_HANDLE,
    /// BAR 0 and BAR 2 mappings.
    pub maps: [Option<BarMapping>; 2],
    /// The device and datapath state.
    pub cell: DeviceCell<DriverDevice, Datapath>,
    /// Keywords read at initialisation.
    pub kw: Keywords,
    /// Device capabilities.
    pub info: DeviceInfo,
    /// Queue layout in use.
    pub qcfg: QueueConfig,
    /// What the hardware can offload.
    pub hw_offload: OffloadState,
    /// Offloads enabled now ([`OffloadState::to_bits`]).
    pub offload: AtomicU32,
    /// RSS hash types enabled by NDIS.
    pub rss_types: AtomicU32,
    /// Lookahead set by NDIS (informational).
    pub lookahead: AtomicU32,
    /// [`AdapterState`].
    pub state: AtomicU32,
    /// A Pause returned PENDING and waits for outstanding packets.
    pub pause_pending: AtomicBool,
    /// NET_BUFFERs accepted and not yet completed.
    pub tx_outstanding: AtomicU32,
    /// Receive NBLs indicated and not yet returned.
    pub rx_outstanding: AtomicU32,
    /// Last link state indicated: 0 unknown, 1 up, 2 down.
    pub link: AtomicU32,
    /// Reset reason chosen by CheckForHangEx ([`NO_RESET`] if none).
    pub reset_reason: AtomicU32,
    /// The device was surprise-removed: do not expect it to answer.
    pub surprise_removed: AtomicBool,
    /// Moderation the device started with (used when NDIS enables it).
    pub moderation_on: ModerationConfig,
    /// Moderation on or off.
    pub moderation_enabled: AtomicBool,
    /// Receive buffers (`num_queues × rx_ring_size`; `None` slots only
    /// after a failed allocation).
    pub rx_bufs: Option<WinTable<Option<RxBuf>>>,
    /// Bytes per receive buffer.
    pub rx_buf_size: u32,
    /// Shim counters.
    pub counters: ShimAtomics,
    /// Spin lock used only to raise to DISPATCH_LEVEL (see [`Adapter::at_dispatch`]).
    pub irql_lock: AtomicUsize,
}

/// `DISPATCH_LEVEL`.
pub const DISPATCH_LEVEL: u8 = 2;

/// Current IRQL: on x64 the IRQL is CR8 (what the WDK's inline
/// `KeGetCurrentIrql` reads).
pub fn current_irql() -> u8 {
    let v: u64;
    // SAFETY: reading CR8 has no side effects in kernel mode.
    unsafe {
        core::arch::asm!("mov {}, cr8", out(reg) v, options(nomem, nostack, preserves_flags))
    };
    v as u8
}

impl Adapter {
    /// The adapter behind a MiniportAdapterContext.
    ///
    /// # Safety
    /// `ctx` is the context NDIS was given at InitializeEx and HaltEx has
    /// not freed it.
    pub unsafe fn from_ctx<'a>(ctx: NDIS_HANDLE) -> &'a Adapter {
        // SAFETY: per the caller's guarantee.
        unsafe { &*(ctx as *const Adapter) }
    }

    /// Current state.
    pub fn state(&self) -> AdapterState {
        match self.state.load(Ordering::Acquire) {
            0 => AdapterState::Initializing,
            1 => AdapterState::Paused,
            2 => AdapterState::Running,
            3 => AdapterState::Pausing,
            _ => AdapterState::Halted,
        }
    }

    /// Move to `s`.
    pub fn set_state(&self, s: AdapterState) {
        self.state.store(s as u32, Ordering::Release);
    }

    /// Offloads enabled now.
    pub fn offloads(&self) -> OffloadState {
        OffloadState::from_bits(self.offload.load(Ordering::Relaxed))
    }

    /// The receive buffer with index `i`.
    pub fn rx_buf(&self, i: u64) -> Option<&RxBuf> {
        self.rx_bufs
            .as_ref()?
            .get(usize::try_from(i).ok()?)?
            .as_ref()
    }

    /// Run `f` at DISPATCH_LEVEL: directly if already there, else under a
    /// private spin lock (which raises the IRQL). Nested calls see
    /// DISPATCH_LEVEL and do not take the lock again. For the NDIS calls that
    /// require DISPATCH_LEVEL (`NdisM{Allocate,Free}NetBufferSGList`) on
    /// paths that may run at PASSIVE_LEVEL (sends, pause, reset, halt).
    pub fn at_dispatch<R>(&self, f: impl FnOnce() -> R) -> R {
        if current_irql() >= DISPATCH_LEVEL {
            return f();
        }
        // SAFETY: a zero KSPIN_LOCK is initialised; released below.
        let old = unsafe { ffi::KeAcquireSpinLockRaiseToDpc(self.irql_lock.as_ptr()) };
        let r = f();
        // SAFETY: acquired above with `old`.
        unsafe { ffi::KeReleaseSpinLock(self.irql_lock.as_ptr(), old) };
        r
    }

    /// Queue owning receive buffer `i`.
    pub fn rx_queue_of(&self, i: u32) -> u16 {
        (i / self.qcfg.rx_ring_size.max(1)) as u16
    }
}

/// Allocate a zeroed adapter in nonpaged pool and move `a` into it.
pub fn alloc_adapter(a: Adapter) -> Option<NonNull<Adapter>> {
    let p = a
        .plat
        .alloc_pool(core::mem::size_of::<Adapter>())?
        .cast::<Adapter>();
    // SAFETY: fresh, suitably aligned (16) block of the right size.
    unsafe { p.as_ptr().write(a) };
    Some(p)
}

/// Release everything the adapter holds, in reverse order of
/// initialisation; safe on a partially initialised adapter.
///
/// # Safety
/// No other handler runs for this adapter any more (HaltEx, or a failed
/// InitializeEx), and `p` is not used afterwards.
pub unsafe fn teardown(p: NonNull<Adapter>) {
    // Interrupt handlers may run until deregistration returns: touch only
    // the `interrupt` field until then (they only read `state` and bail
    // out during initialisation, and Halt comes after Pause).
    // SAFETY: raw field access; exclusive otherwise per the caller.
    unsafe {
        let irq = ptr::addr_of_mut!((*p.as_ptr()).interrupt);
        if !(*irq).is_null() {
            ffi::NdisMDeregisterInterruptEx(*irq);
            *irq = ptr::null_mut();
        }
    }
    // SAFETY: no handler runs any more.
    let a = unsafe { &mut *p.as_ptr() };
    // Stop the device; no receive NBL is outstanding (NDIS pauses first).
    let dev = a.cell.control(|slot| {
        if let Some(d) = slot.as_mut() {
            if d.is_open() {
                let _ = d.close(&mut |r| {
                    if let Released::Tx(t) = r {
                        // Paused adapters have no sends in flight; complete defensively.
                        // SAFETY: tokens are NET_BUFFER pointers we posted.
                        unsafe {
                            super::send::complete_nb(
                                a,
                                t as *mut NET_BUFFER,
                                crate::ndis::status::NDIS_STATUS_RESET_IN_PROGRESS,
                            )
                        };
                    }
                });
            }
        }
        slot.take()
    });
    // Dropping the device runs the shared shutdown (device reset, DMA freed).
    drop(dev);
    if let Some(bufs) = a.rx_bufs.take() {
        for b in bufs.iter().flatten() {
            // SAFETY: allocated in receive::alloc_buffers, not indicated.
            unsafe {
                if !b.nbl.is_null() {
                    ffi::NdisFreeNetBufferList(b.nbl);
                }
                if !b.mdl.is_null() {
                    ffi::NdisFreeMdl(b.mdl);
                }
            }
        }
        drop(bufs);
    }
    a.cell.state(|s| {
        s.free = None;
        s.free_len = None;
    });
    // SAFETY: handles were created in InitializeEx and are unused now.
    unsafe {
        if !a.nbl_pool.is_null() {
            ffi::NdisFreeNetBufferListPool(a.nbl_pool);
        }
        if !a.dma.is_null() {
            ffi::NdisMDeregisterScatterGatherDma(a.dma);
        }
        for m in a.maps.iter().flatten() {
            if m.wc {
                ffi::MmUnmapIoSpace(m.va, m.len as usize);
            } else {
                ffi::NdisMUnmapIoSpace(a.handle, m.va, m.len);
            }
        }
        if !a.work.is_null() {
            ffi::NdisFreeIoWorkItem(a.work);
        }
    }
    let plat = a.plat;
    // SAFETY: drop the remaining fields, then return the block.
    unsafe {
        ptr::drop_in_place(p.as_ptr());
        plat.free_pool(p.cast());
    }
}
