// SPDX-License-Identifier: GPL-2.0 OR MIT
//! The ENA network interface: a `net_device` whose every decision is the shared driver's
//! (`cloudnic_ena::device::EnaDevice` through `cloudnic_common::nic::NetDevice`); this module
//! only moves buffers, interrupts and work items between it and the kernel.
//!
//! Concurrency (the one rule everything here follows):
//! * the datapath (xmit, NAPI poll of any queue, the health tick, management events, ethtool
//!   reads) takes `cn_lock` (a BH-safe spinlock in netdev.c) and touches the device only if
//!   `busy` is false;
//! * the control path (open, stop, MTU, `ethtool -L/-G/-X/-C`, the reset worker) runs under
//!   RTNL, sets `busy` under the lock, quiesces NAPI and TX, and then owns the device without
//!   the lock, so it may sleep (admin commands, DMA allocation);
//! * nothing calls into the network stack while holding the lock (GRO may transmit on this
//!   same device from the RX path): received packets are handed over after unlocking.

mod callbacks;
mod control;
mod datapath;
mod tables;

use core::cell::UnsafeCell;
use core::ffi::c_void;
use core::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};

use cloudnic_common::nic::{NetDevice, OffloadCaps};
use kernel::prelude::*;

use crate::ena::Ena;
use crate::kapi::{self, feat, NetDevHandle, PciHandle};
use tables::Tables;

/// Interface counters for `ndo_get_stats64` (readable at any time, also during a reset).
#[derive(Default)]
struct IfCounters {
    rx_packets: AtomicU64,
    rx_bytes: AtomicU64,
    tx_packets: AtomicU64,
    tx_bytes: AtomicU64,
    rx_dropped: AtomicU64,
    tx_dropped: AtomicU64,
}

fn add(c: &AtomicU64, v: u64) {
    c.fetch_add(v, Relaxed);
}

/// What the lock (or the control path's exclusivity) protects.
pub(crate) struct Inner<'bound> {
    pub(crate) dev: Ena<'bound>,
    tables: Tables,
}

/// One ENA network interface.
pub(crate) struct EnaNet<'bound> {
    nd: Option<NetDevHandle>,
    pci: PciHandle,
    /// Queue pairs the netdev has NAPI contexts and vectors for.
    nq_max: u16,
    /// Most segments the device takes per TX packet (≤ `tables::MAX_TX_SEGS`).
    max_tx_segs: usize,
    /// Set (under the lock) while the control path owns `inner`.
    busy: AtomicBool,
    inner: UnsafeCell<Inner<'bound>>,
    counters: IfCounters,
}

// SAFETY: `inner` is only reached through `with_dev` (under the netdev lock) or `exclusive`
// (RTNL + `busy` set under the lock, datapath quiesced), so moving or sharing the object
// between threads cannot create unsynchronised access; the raw pointers inside are to kernel
// objects valid from any context.
unsafe impl Send for EnaNet<'_> {}
// SAFETY: as above.
unsafe impl Sync for EnaNet<'_> {}

impl<'bound> EnaNet<'bound> {
    /// Create the netdev for a brought-up device: NAPI contexts and IRQs for `nq_max` queue
    /// pairs (MSI-X vector 0 = management), registered with the device's MAC and MTU range.
    pub(crate) fn new(dev: Ena<'bound>, pci: PciHandle, nq_max: u16) -> Result<Pin<KBox<Self>>> {
        let info = *dev.info();
        let max_tx_segs = usize::from(info.max_tx_segments).clamp(1, tables::MAX_TX_SEGS);
        let mut this = KBox::pin(
            Self {
                nd: None,
                pci,
                nq_max,
                max_tx_segs,
                busy: AtomicBool::new(false),
                inner: UnsafeCell::new(Inner {
                    dev,
                    tables: Tables::empty(),
                }),
                counters: IfCounters::default(),
            },
            GFP_KERNEL,
        )?;
        let rs = core::ptr::from_ref::<Self>(&this)
            .cast_mut()
            .cast::<c_void>();
        let nd = NetDevHandle::alloc(
            pci,
            rs,
            nq_max,
            &info.mac,
            (info.min_mtu, info.max_mtu),
            features(info.offloads),
        )
        .ok_or(ENOMEM)?;
        // `nd` is written once, before any callback can run (the netdev is not registered).
        this.as_mut().set_nd(nd);
        let err = nd.request_irqs(nq_max);
        if err != 0 {
            nd.destroy();
            this.as_mut().clear_nd();
            return Err(Error::from_errno(err));
        }
        let err = nd.register();
        if err != 0 {
            nd.destroy();
            this.as_mut().clear_nd();
            return Err(Error::from_errno(err));
        }
        Ok(this)
    }

    fn set_nd(self: Pin<&mut Self>, nd: NetDevHandle) {
        // SAFETY: `nd` is not structurally pinned; nothing is moved out of the pinned object.
        unsafe { self.get_unchecked_mut().nd = Some(nd) }
    }

    fn clear_nd(self: Pin<&mut Self>) {
        // SAFETY: as in `set_nd`.
        unsafe { self.get_unchecked_mut().nd = None }
    }

    /// (rx packets, rx bytes, tx packets, tx bytes, rx dropped, tx dropped).
    pub(crate) fn if_stats(&self) -> [u64; 6] {
        let c = &self.counters;
        [
            c.rx_packets.load(Relaxed),
            c.rx_bytes.load(Relaxed),
            c.tx_packets.load(Relaxed),
            c.tx_bytes.load(Relaxed),
            c.rx_dropped.load(Relaxed),
            c.tx_dropped.load(Relaxed),
        ]
    }

    /// The device, for probe-time logging.
    pub(crate) fn with_device<R>(&self, f: impl FnOnce(&Ena<'bound>) -> R) -> Option<R> {
        self.with_dev(|i| f(&i.dev))
    }

    /// Run `f` on the device under the datapath lock; None while the control path owns it.
    fn with_dev<R>(&self, f: impl FnOnce(&mut Inner<'bound>) -> R) -> Option<R> {
        let nd = self.nd?;
        nd.lock();
        let r = if self.busy.load(Relaxed) {
            None
        } else {
            // SAFETY: the lock is held and `busy` is false: no control-path owner exists and
            // every other datapath user waits for the lock (module doc).
            Some(f(unsafe { &mut *self.inner.get() }))
        };
        nd.unlock();
        r
    }

    /// Own the device with the datapath stopped (caller holds RTNL). Restarts NAPI and TX
    /// for the configuration the device ends up in, and re-reads link state and events.
    fn exclusive<R>(&self, f: impl FnOnce(&mut Inner<'bound>, NetDevHandle) -> R) -> Option<R> {
        let nd = self.nd?;
        nd.lock();
        self.busy.store(true, Relaxed);
        nd.unlock();
        nd.tx_disable();
        for q in 0..self.nq_max {
            nd.napi_disable(q);
        }
        // SAFETY: `busy` was set under the lock, so every datapath user either finished
        // before or will see it and back off; control paths are serialised by RTNL; NAPI is
        // disabled and TX stopped, so nothing else reaches `inner` until `busy` is cleared.
        let inner = unsafe { &mut *self.inner.get() };
        let r = f(inner, nd);
        let open = inner.dev.is_open();
        let nq = inner.dev.queue_config().num_queues.min(self.nq_max);
        // BQL starts from zero only for queues with nothing in flight (queues re-created, or
        // idle): an MTU or moderation change keeps posted packets, and their completions must
        // still match what BQL counted.
        for q in 0..nq {
            if inner.tables.tx_in_flight(q) == 0 {
                nd.txq_reset(q);
            }
        }
        nd.lock();
        self.busy.store(false, Relaxed);
        nd.unlock();
        if open {
            for q in 0..nq {
                nd.napi_enable(q);
            }
            nd.tx_start();
            for q in 0..nq {
                nd.napi_schedule(q);
            }
        }
        self.sync_carrier();
        nd.schedule_mgmt();
        Some(r)
    }

    /// Carrier = interface open and the device's last link event said up.
    fn sync_carrier(&self) {
        let Some(nd) = self.nd else { return };
        if let Some(up) = self.with_dev(|i| i.dev.is_open() && i.dev.link_up()) {
            nd.carrier(up);
        }
    }

    /// Unregister and free the netdev; afterwards no callback runs and every buffer the
    /// interface owned is back with the kernel. Called once, from unbind.
    pub(crate) fn teardown(self: Pin<&mut Self>) {
        // SAFETY: nothing structurally pinned is moved; only fields are read and replaced.
        let this = unsafe { self.get_unchecked_mut() };
        // `nd` stays set while it is destroyed: unregistering runs `ndo_stop`, which needs it.
        if let Some(nd) = this.nd {
            nd.destroy();
        }
        this.nd = None;
        let pci = this.pci;
        let Inner { dev, tables } = this.inner.get_mut();
        // Reset the device (reason SHUTDOWN) before any page goes back to the kernel, so
        // nothing it still holds can be written after it is freed.
        dev.shutdown(&mut |rel| control::release(tables, pci, rel));
        tables.drain(pci);
    }
}

/// Netdev features for the device's offloads (ena.md §4.5 stateless offload feature).
fn features(o: OffloadCaps) -> u32 {
    let mut f = 0;
    if o.contains(OffloadCaps::TX_L4_IPV4_CSUM) {
        f |= feat::IP_CSUM;
    }
    if o.contains(OffloadCaps::TX_L4_IPV6_CSUM) {
        f |= feat::IPV6_CSUM;
    }
    if o.contains(OffloadCaps::TSO_IPV4) && o.contains(OffloadCaps::TX_L4_IPV4_CSUM) {
        f |= feat::TSO;
    }
    if o.contains(OffloadCaps::TSO_IPV6) && o.contains(OffloadCaps::TX_L4_IPV6_CSUM) {
        f |= feat::TSO6;
    }
    if o.intersects(OffloadCaps::RX_L4_IPV4_CSUM | OffloadCaps::RX_L4_IPV6_CSUM) {
        f |= feat::RXCSUM;
    }
    if o.contains(OffloadCaps::RX_HASH) {
        f |= feat::RXHASH;
    }
    f
}

/// Errno numbers the kernel crate does not name (include/uapi/asm-generic/errno.h).
const EOPNOTSUPP_NR: i32 = 95;
const ENETDOWN_NR: i32 = 100;

/// The errno for a shared-driver error reaching a user (ethtool, ip).
pub(crate) fn errno(e: cloudnic_common::Error) -> Error {
    use cloudnic_common::Error as E;
    match e {
        E::InvalidConfig(_) => EINVAL,
        E::NoMemory => ENOMEM,
        E::Timeout => ETIMEDOUT,
        E::Unsupported => Error::from_errno(-EOPNOTSUPP_NR),
        E::NotRunning => Error::from_errno(-ENETDOWN_NR),
        E::NoSpace => EBUSY,
        _ => EIO,
    }
}

/// The debug module parameter, for the platform's log filter.
pub(crate) fn debug_enabled() -> bool {
    kapi::debug_level() > 0
}
