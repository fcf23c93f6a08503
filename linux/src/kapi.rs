// SPDX-License-Identifier: GPL-2.0 OR MIT
//! The netdev, sk_buff, NAPI and IRQ C API, in one place, behind small safe wrappers.
//!
//! 7.2's `kernel` crate has no networking abstraction and its bindings carry no
//! `net_device` (shared/reference/rust-os.md A.1), so the C side (`src/netdev.c`, `src/helpers.c`, contract `src/glue.h`) owns those structures and
//! exposes plain-integer helpers (`cn_*`). This file declares them and wraps each in a method
//! whose only precondition is the [`NetDevHandle`] invariant. The `cn_rs_*` callbacks going
//! the other way are in `net/callbacks.rs`.

use core::ffi::{c_int, c_void};
use core::ptr::NonNull;

use kernel::pci;

/// `struct net_device` (opaque).
#[repr(C)]
pub(crate) struct RawNetDev {
    _opaque: [u8; 0],
}
/// `struct sk_buff` (opaque).
#[repr(C)]
pub(crate) struct RawSkb {
    _opaque: [u8; 0],
}
/// `struct page` (opaque).
#[repr(C)]
pub(crate) struct RawPage {
    _opaque: [u8; 0],
}
/// `struct pci_dev` (opaque).
#[repr(C)]
pub(crate) struct RawPciDev {
    _opaque: [u8; 0],
}

/// What the Rust side needs to know about a TX skb (glue.h `struct cn_skb_info`).
#[repr(C)]
#[derive(Clone, Copy)]
pub(crate) struct SkbInfo {
    pub(crate) data: *const u8,
    pub(crate) len: u32,
    pub(crate) headlen: u32,
    pub(crate) nr_frags: u32,
    pub(crate) gso_size: u32,
    pub(crate) l3_offset: u16,
    pub(crate) l3_len: u16,
    pub(crate) l4_len: u16,
    /// 0 other, 4 IPv4, 6 IPv6.
    pub(crate) l3: u8,
    /// IP protocol number (6 TCP, 17 UDP).
    pub(crate) l4: u8,
    pub(crate) csum_partial: u8,
    pub(crate) df: u8,
}

/// One DMA-mapped TX segment (glue.h `struct cn_seg`).
#[repr(C)]
#[derive(Clone, Copy, Default)]
pub(crate) struct DmaSeg {
    pub(crate) addr: u64,
    pub(crate) len: u32,
    /// 1 if mapped as a page fragment.
    pub(crate) page: u32,
}

/// One filled RX page (glue.h `struct cn_rx_frag`).
#[repr(C)]
#[derive(Clone, Copy)]
pub(crate) struct RxFrag {
    pub(crate) page: *mut RawPage,
    pub(crate) dma: u64,
    pub(crate) len: u32,
}

/// Netdev feature bits understood by `cn_netdev_alloc`.
pub(crate) mod feat {
    pub(crate) const IP_CSUM: u32 = 1 << 0;
    pub(crate) const IPV6_CSUM: u32 = 1 << 1;
    pub(crate) const TSO: u32 = 1 << 2;
    pub(crate) const TSO6: u32 = 1 << 3;
    pub(crate) const RXCSUM: u32 = 1 << 4;
    pub(crate) const RXHASH: u32 = 1 << 5;
}

extern "C" {
    fn cn_debug_level() -> c_int;
    fn cn_alloc_vectors(pdev: *mut RawPciDev, want: c_int) -> c_int;
    fn cn_free_vectors(pdev: *mut RawPciDev);
    fn cn_pci_disable(pdev: *mut RawPciDev);
    fn cn_num_online_cpus() -> c_int;
    fn cn_netdev_alloc(
        pdev: *mut RawPciDev,
        rs: *mut c_void,
        nq: u16,
        mac: *const u8,
        min_mtu: u32,
        max_mtu: u32,
        feats: u32,
    ) -> *mut RawNetDev;
    fn cn_request_irqs(nd: *mut RawNetDev, nq: u16) -> c_int;
    fn cn_netdev_register(nd: *mut RawNetDev) -> c_int;
    fn cn_netdev_destroy(nd: *mut RawNetDev);
    fn cn_lock(nd: *mut RawNetDev);
    fn cn_unlock(nd: *mut RawNetDev);
    fn cn_schedule_reset(nd: *mut RawNetDev);
    fn cn_schedule_mgmt(nd: *mut RawNetDev);
    fn cn_napi_enable(nd: *mut RawNetDev, q: u16);
    fn cn_napi_disable(nd: *mut RawNetDev, q: u16);
    fn cn_napi_schedule(nd: *mut RawNetDev, q: u16);
    fn cn_napi_complete(nd: *mut RawNetDev, q: u16, work: c_int) -> bool;
    fn cn_carrier(nd: *mut RawNetDev, on: bool);
    fn cn_set_real_queues(nd: *mut RawNetDev, n: u16) -> c_int;
    fn cn_tx_disable(nd: *mut RawNetDev);
    fn cn_tx_start(nd: *mut RawNetDev);
    fn cn_txq_reset(nd: *mut RawNetDev, q: u16);
    fn cn_txq_stopped(nd: *mut RawNetDev, q: u16) -> bool;
    fn cn_txq_stop(nd: *mut RawNetDev, q: u16);
    fn cn_txq_wake(nd: *mut RawNetDev, q: u16);
    fn cn_txq_sent(nd: *mut RawNetDev, q: u16, bytes: u32) -> bool;
    fn cn_txq_completed(nd: *mut RawNetDev, q: u16, pkts: u32, bytes: u32);
    fn cn_skb_info(skb: *mut RawSkb, out: *mut SkbInfo);
    fn cn_skb_linearize(skb: *mut RawSkb) -> c_int;
    fn cn_skb_map(pdev: *mut RawPciDev, skb: *mut RawSkb, segs: *mut DmaSeg, max: u32) -> c_int;
    fn cn_tx_unmap(pdev: *mut RawPciDev, segs: *const DmaSeg, n: u32);
    fn cn_skb_free(skb: *mut RawSkb, budget: c_int);
    fn cn_page_size() -> u32;
    fn cn_rx_page_alloc(pdev: *mut RawPciDev, dma: *mut u64) -> *mut RawPage;
    fn cn_rx_page_free(pdev: *mut RawPciDev, page: *mut RawPage, dma: u64);
    fn cn_rx_deliver(
        nd: *mut RawNetDev,
        q: u16,
        frags: *const RxFrag,
        n: u32,
        offset: u32,
        len: u32,
        csum_ok: bool,
        hash: u32,
        hash_kind: u32,
        copybreak: u32,
    ) -> c_int;
}

/// glue.h `CN_RX_CONSUMED` / `CN_RX_COPIED`.
const CN_RX_CONSUMED: c_int = 0;
const CN_RX_COPIED: c_int = 1;

/// What became of a received packet's pages ([`NetDevHandle::rx_deliver`]).
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum RxDelivery {
    /// Delivered; the pages went into the skb.
    Consumed,
    /// Delivered as a copy; the single page is still the caller's and still mapped.
    Copied,
    /// Dropped; the pages were freed.
    Dropped,
}

/// The `debug` module parameter (validated by netdev.c: 0 or 1).
pub(crate) fn debug_level() -> i32 {
    // SAFETY: reads an int module parameter; no preconditions.
    unsafe { cn_debug_level() }
}

/// Online CPUs.
pub(crate) fn num_online_cpus() -> u32 {
    // SAFETY: no preconditions.
    u32::try_from(unsafe { cn_num_online_cpus() }).unwrap_or(1)
}

/// RX buffer size: one page.
pub(crate) fn page_size() -> u32 {
    // SAFETY: returns a constant.
    unsafe { cn_page_size() }
}

/// A bound PCI function as the C helpers see it. Valid while the driver is bound: it is
/// created from the `&pci::Device<Bound>` of probe and lives in the driver data.
#[derive(Clone, Copy)]
pub(crate) struct PciHandle(NonNull<RawPciDev>);

// SAFETY: a pointer to the bound `struct pci_dev`, usable from any context; the helpers do
// their own synchronisation.
unsafe impl Send for PciHandle {}
// SAFETY: as above.
unsafe impl Sync for PciHandle {}

impl PciHandle {
    pub(crate) fn new(pdev: &pci::Device<kernel::device::Bound>) -> Self {
        // `pci::Device` is `#[repr(transparent)]` over `Opaque<bindings::pci_dev>`, so its
        // address is the `struct pci_dev`'s.
        Self(NonNull::from(pdev).cast())
    }

    fn raw(self) -> *mut RawPciDev {
        self.0.as_ptr()
    }

    /// Allocate between 2 and `want` MSI-X vectors; the count or a negative errno.
    pub(crate) fn alloc_vectors(self, want: u32) -> i32 {
        let want = c_int::try_from(want).unwrap_or(c_int::MAX);
        // SAFETY: the device is bound (type invariant); called once from probe.
        unsafe { cn_alloc_vectors(self.raw(), want) }
    }

    /// Release the MSI-X vectors (after every IRQ is freed).
    pub(crate) fn free_vectors(self) {
        // SAFETY: the device is bound; every IRQ on the vectors has been freed by then
        // (`NetDevHandle::destroy` runs first).
        unsafe { cn_free_vectors(self.raw()) }
    }

    /// Clear bus mastering and disable the function (after the device was reset and every
    /// IRQ freed; the BARs may still be mapped).
    pub(crate) fn disable(self) {
        // SAFETY: the device is bound; the caller guarantees nothing of ours uses it for DMA
        // or interrupts any more.
        unsafe { cn_pci_disable(self.raw()) }
    }

    /// Map `skb` for TX into `segs`; the segment count, or None (nothing mapped).
    pub(crate) fn map_skb(self, skb: SkbPtr, segs: &mut [DmaSeg]) -> Option<usize> {
        let max = u32::try_from(segs.len()).unwrap_or(0);
        // SAFETY: `skb` is owned by the caller (SkbPtr invariant); `segs` has `max` entries.
        let n = unsafe { cn_skb_map(self.raw(), skb.0.as_ptr(), segs.as_mut_ptr(), max) };
        usize::try_from(n).ok()
    }

    /// Unmap what `map_skb` mapped.
    pub(crate) fn unmap_tx(self, segs: &[DmaSeg]) {
        let n = u32::try_from(segs.len()).unwrap_or(0);
        // SAFETY: the segments were mapped by `map_skb` on this device and not unmapped yet.
        unsafe { cn_tx_unmap(self.raw(), segs.as_ptr(), n) }
    }

    /// A page mapped for the device to write: (page, bus address).
    pub(crate) fn alloc_rx_page(self) -> Option<(NonNull<RawPage>, u64)> {
        let mut dma = 0u64;
        // SAFETY: the device is bound; `dma` is a valid out-pointer.
        let p = unsafe { cn_rx_page_alloc(self.raw(), &mut dma) };
        NonNull::new(p).map(|p| (p, dma))
    }

    /// Unmap and free a page from `alloc_rx_page` the device no longer owns.
    pub(crate) fn free_rx_page(self, page: NonNull<RawPage>, dma: u64) {
        // SAFETY: `page`/`dma` came from `alloc_rx_page` and are released exactly once (the
        // RX slot table hands each out once).
        unsafe { cn_rx_page_free(self.raw(), page.as_ptr(), dma) }
    }
}

/// An `sk_buff` the driver owns (handed over by `ndo_start_xmit`, until completion).
#[derive(Clone, Copy)]
pub(crate) struct SkbPtr(NonNull<RawSkb>);

impl SkbPtr {
    /// # Safety
    /// `p` is an skb the caller owns.
    pub(crate) unsafe fn from_raw(p: *mut RawSkb) -> Option<Self> {
        NonNull::new(p).map(Self)
    }

    pub(crate) fn info(self) -> SkbInfo {
        let mut i = SkbInfo {
            data: core::ptr::null(),
            len: 0,
            headlen: 0,
            nr_frags: 0,
            gso_size: 0,
            l3_offset: 0,
            l3_len: 0,
            l4_len: 0,
            l3: 0,
            l4: 0,
            csum_partial: 0,
            df: 0,
        };
        // SAFETY: owned skb (type invariant); `i` is a valid out-pointer.
        unsafe { cn_skb_info(self.0.as_ptr(), &mut i) };
        i
    }

    /// The linear head's bytes (`skb->data`, `skb_headlen`), for devices that copy headers.
    pub(crate) fn head<'a>(self, info: &SkbInfo) -> &'a [u8] {
        if info.data.is_null() {
            return &[];
        }
        // SAFETY: `data` points at `headlen` readable bytes of the owned skb, which outlives
        // the TX post that reads them (the skb is freed only at completion or release).
        unsafe { core::slice::from_raw_parts(info.data, info.headlen as usize) }
    }

    /// Pull all data into the linear part; false on failure (skb unchanged).
    pub(crate) fn linearize(self) -> bool {
        // SAFETY: owned skb.
        unsafe { cn_skb_linearize(self.0.as_ptr()) == 0 }
    }

    /// Give the skb back to the kernel (`budget` 0 outside NAPI).
    pub(crate) fn free(self, budget: i32) {
        // SAFETY: owned skb, freed exactly once: the caller drops its `SkbPtr` with this.
        unsafe { cn_skb_free(self.0.as_ptr(), budget) }
    }
}

/// The registered (or about to be) `net_device` with netdev.c's private area.
///
/// Invariant: the pointer comes from `cn_netdev_alloc` and stays valid until `destroy`,
/// which the owner (`net::EnaNet`) calls exactly once, from its teardown.
#[derive(Clone, Copy)]
pub(crate) struct NetDevHandle(NonNull<RawNetDev>);

// SAFETY: the handle is a pointer to a kernel object usable from any context; the helpers it
// calls do their own locking.
unsafe impl Send for NetDevHandle {}
// SAFETY: as above.
unsafe impl Sync for NetDevHandle {}

/// Wraps a `cn_*` call on the handle's netdev.
macro_rules! nd_call {
    ($self:ident, $f:ident $(, $a:expr)*) => {
        // SAFETY: the netdev is valid (type invariant); the helper has no other precondition.
        unsafe { $f($self.0.as_ptr() $(, $a)*) }
    };
}

impl NetDevHandle {
    /// Allocate the netdev (not yet registered) with `nq` NAPI contexts; `rs` is passed back
    /// to every `cn_rs_*` callback.
    pub(crate) fn alloc(
        pdev: PciHandle,
        rs: *mut c_void,
        nq: u16,
        mac: &[u8; 6],
        mtu: (u32, u32),
        feats: u32,
    ) -> Option<Self> {
        // SAFETY: the device is bound; `mac` has 6 bytes; `rs` outlives the netdev (its owner
        // destroys the netdev before dropping it).
        let p = unsafe { cn_netdev_alloc(pdev.raw(), rs, nq, mac.as_ptr(), mtu.0, mtu.1, feats) };
        NonNull::new(p).map(Self)
    }

    pub(crate) fn request_irqs(self, nq: u16) -> i32 {
        nd_call!(self, cn_request_irqs, nq)
    }
    pub(crate) fn register(self) -> i32 {
        nd_call!(self, cn_netdev_register)
    }
    /// Unregister and free: no callback runs after this returns.
    pub(crate) fn destroy(self) {
        nd_call!(self, cn_netdev_destroy)
    }
    pub(crate) fn lock(self) {
        nd_call!(self, cn_lock)
    }
    pub(crate) fn unlock(self) {
        nd_call!(self, cn_unlock)
    }
    pub(crate) fn schedule_reset(self) {
        nd_call!(self, cn_schedule_reset)
    }
    pub(crate) fn schedule_mgmt(self) {
        nd_call!(self, cn_schedule_mgmt)
    }
    pub(crate) fn napi_enable(self, q: u16) {
        nd_call!(self, cn_napi_enable, q)
    }
    pub(crate) fn napi_disable(self, q: u16) {
        nd_call!(self, cn_napi_disable, q)
    }
    pub(crate) fn napi_schedule(self, q: u16) {
        nd_call!(self, cn_napi_schedule, q)
    }
    pub(crate) fn napi_complete(self, q: u16, work: i32) -> bool {
        nd_call!(self, cn_napi_complete, q, work)
    }
    pub(crate) fn carrier(self, on: bool) {
        nd_call!(self, cn_carrier, on)
    }
    pub(crate) fn set_real_queues(self, n: u16) -> i32 {
        nd_call!(self, cn_set_real_queues, n)
    }
    pub(crate) fn tx_disable(self) {
        nd_call!(self, cn_tx_disable)
    }
    pub(crate) fn tx_start(self) {
        nd_call!(self, cn_tx_start)
    }
    /// Reset BQL's count for queue `q` (only when none of its packets is in flight).
    pub(crate) fn txq_reset(self, q: u16) {
        nd_call!(self, cn_txq_reset, q)
    }
    pub(crate) fn txq_stopped(self, q: u16) -> bool {
        nd_call!(self, cn_txq_stopped, q)
    }
    pub(crate) fn txq_stop(self, q: u16) {
        nd_call!(self, cn_txq_stop, q)
    }
    pub(crate) fn txq_wake(self, q: u16) {
        nd_call!(self, cn_txq_wake, q)
    }
    /// BQL: account a posted packet; true if the doorbell must ring now.
    pub(crate) fn txq_sent(self, q: u16, bytes: u32) -> bool {
        nd_call!(self, cn_txq_sent, q, bytes)
    }
    pub(crate) fn txq_completed(self, q: u16, pkts: u32, bytes: u32) {
        nd_call!(self, cn_txq_completed, q, pkts, bytes)
    }

    /// Hand a received packet to GRO: copied into a small skb if it is one page of at most
    /// `copybreak` bytes (the page stays the caller's, still mapped), else built from the
    /// filled pages, whose ownership passes to the kernel (also when it is dropped).
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn rx_deliver(
        self,
        q: u16,
        frags: &[RxFrag],
        offset: u32,
        len: u32,
        csum_ok: bool,
        hash: u32,
        hash_kind: u32,
        copybreak: u32,
    ) -> RxDelivery {
        let n = u32::try_from(frags.len()).unwrap_or(0);
        // SAFETY: the netdev is valid; every page in `frags` is owned by the caller, mapped by
        // `alloc_rx_page`, and handed over here exactly once (it comes back only with
        // `CN_RX_COPIED`, for a single page).
        let r = unsafe {
            cn_rx_deliver(
                self.0.as_ptr(),
                q,
                frags.as_ptr(),
                n,
                offset,
                len,
                csum_ok,
                hash,
                hash_kind,
                copybreak,
            )
        };
        match r {
            CN_RX_CONSUMED => RxDelivery::Consumed,
            CN_RX_COPIED => RxDelivery::Copied,
            _ => RxDelivery::Dropped,
        }
    }
}
