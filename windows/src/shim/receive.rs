//! Receive: buffers in shared memory described by MDLs and pre-allocated
//! NBLs; the core fills them; the DPC indicates them with checksum and RSS
//! information; NDIS returns them through ReturnNetBufferLists and they go
//! back to the ring.
//!
//! Buffer `i` belongs to queue `i / rx_ring_size`; its index is the token
//! the core carries and is stored (+1) in its NBL's MiniportReserved.

use core::ptr;
use core::sync::atomic::Ordering;

use cloudnic_common::nic::{NetDevice, RxBuffer, RxPacket};
use cloudnic_common::{DmaRegion, Platform};

use super::adapter::{Adapter, AdapterState, Datapath, DriverDevice, RxBuf};
use crate::logic::{nbl, rss, rx};
use crate::ndis::ffi;
use crate::ndis::nbl::{
    info, NBL_SLOT_RX_CHAIN, NBL_SLOT_RX_INDEX, NDIS_RECEIVE_FLAGS_DISPATCH_LEVEL,
    NDIS_SIZEOF_NET_BUFFER_LIST_POOL_PARAMETERS_REVISION_1, NET_BUFFER_LIST,
    NET_BUFFER_LIST_POOL_PARAMETERS, NET_BUFFER_LIST_POOL_PARAMETERS_REVISION_1,
};
use crate::ndis::{miniport::object_type, NDIS_OBJECT_HEADER};
use crate::platform::POOL_TAG;

/// Buffers handed to the core per `rx_refill` call (stack array).
const REFILL_BATCH: usize = 32;

/// Create the NBL pool and `queues × ring` receive buffers, all free.
pub fn alloc_buffers(a: &Adapter) -> (RxResources, Result<(), cloudnic_common::Error>) {
    let mut res = RxResources {
        pool: ptr::null_mut(),
        bufs: None,
    };
    let r = alloc_into(a, &mut res);
    (res, r)
}

/// What [`alloc_buffers`] creates for the adapter to keep (also on error,
/// so teardown frees it).
pub struct RxResources {
    /// NBL pool (NULL if its allocation failed).
    pub pool: crate::ndis::NDIS_HANDLE,
    /// Buffers (`None` slots after a failed allocation).
    pub bufs: Option<crate::platform::WinTable<Option<RxBuf>>>,
}

fn alloc_into(a: &Adapter, res: &mut RxResources) -> Result<(), cloudnic_common::Error> {
    let mut params = NET_BUFFER_LIST_POOL_PARAMETERS {
        Header: NDIS_OBJECT_HEADER::new(
            object_type::DEFAULT,
            NET_BUFFER_LIST_POOL_PARAMETERS_REVISION_1,
            NDIS_SIZEOF_NET_BUFFER_LIST_POOL_PARAMETERS_REVISION_1,
        ),
        ProtocolId: 0,
        fAllocateNetBuffer: 1,
        ContextSize: 0,
        PoolTag: POOL_TAG,
        DataSize: 0,
    };
    // SAFETY: valid parameters; NULL on failure.
    res.pool = unsafe { ffi::NdisAllocateNetBufferListPool(a.handle, &mut params) };
    if res.pool.is_null() {
        return Err(cloudnic_common::Error::NoMemory);
    }
    let ring = a.qcfg.rx_ring_size as usize;
    let total = ring * usize::from(a.qcfg.num_queues);
    let size = a.rx_buf_size;
    let (handle, pool, plat) = (a.handle, res.pool, a.plat);
    let mut failed = false;
    // Slots stay `None` where an allocation failed; teardown frees the rest.
    let bufs = plat.alloc_table(total, |i| {
        if failed {
            return None;
        }
        let Ok(dma) = plat.alloc_dma(size as usize, 64) else {
            failed = true;
            return None;
        };
        // SAFETY: the MDL describes memory we own for the buffer's lifetime.
        let mdl = unsafe { ffi::NdisAllocateMdl(handle, dma.va().cast(), size) };
        let nbl = if mdl.is_null() {
            ptr::null_mut()
        } else {
            // SAFETY: pool and MDL are valid.
            unsafe { ffi::NdisAllocateNetBufferAndNetBufferList(pool, 0, 0, mdl, 0, size as usize) }
        };
        if nbl.is_null() {
            failed = true;
            if !mdl.is_null() {
                // SAFETY: allocated just above.
                unsafe { ffi::NdisFreeMdl(mdl) };
            }
            return None;
        }
        // SAFETY: our NBL.
        unsafe { (*nbl).MiniportReserved.0[NBL_SLOT_RX_INDEX] = (i + 1) as *mut _ };
        Some(RxBuf { dma, mdl, nbl })
    })?;
    res.bufs = Some(bufs);
    if failed {
        return Err(cloudnic_common::Error::NoMemory);
    }
    let free = plat.alloc_table(total, |i| i as u32)?;
    let free_len = plat.alloc_table(usize::from(a.qcfg.num_queues), |_| ring as u32)?;
    a.cell.state(|s| {
        s.free = Some(free);
        s.free_len = Some(free_len);
    });
    Ok(())
}

/// Push buffer `i` onto its queue's free stack.
fn push_free(a: &Adapter, s: &mut Datapath, i: u32) {
    let q = usize::from(a.rx_queue_of(i));
    let ring = a.qcfg.rx_ring_size as usize;
    let (Some(free), Some(len)) = (s.free.as_mut(), s.free_len.as_mut()) else {
        return;
    };
    let Some(n) = len.get_mut(q) else { return };
    if let Some(slot) = free
        .get_mut(q * ring + *n as usize)
        .filter(|_| (*n as usize) < ring)
    {
        *slot = i;
        *n += 1;
    }
}

/// Give free buffers of queue `q` to the device once the device's refill
/// threshold fits (`NetDevice::rx_policy`; ENA: min(ring / 8, 256), ena.md
/// §6.2): fewer, larger refills, fewer doorbells.
pub fn refill(a: &Adapter, dev: &mut DriverDevice, s: &mut Datapath, q: u16) {
    if dev.rx_space(q) >= dev.rx_policy(q).refill_threshold.max(1) {
        post_free(a, dev, s, q);
    }
}

/// Give every free buffer of queue `q` the device can take to it.
fn post_free(a: &Adapter, dev: &mut DriverDevice, s: &mut Datapath, q: u16) {
    let ring = a.qcfg.rx_ring_size as usize;
    loop {
        let mut batch = [RxBuffer::default(); REFILL_BATCH];
        let mut n = 0usize;
        let space = dev.rx_space(q) as usize;
        {
            let (Some(free), Some(len)) = (s.free.as_mut(), s.free_len.as_mut()) else {
                return;
            };
            let Some(count) = len.get_mut(usize::from(q)) else {
                return;
            };
            while n < REFILL_BATCH && n < space && *count > 0 {
                *count -= 1;
                let i = free[usize::from(q) * ring + *count as usize];
                let Some(b) = a.rx_buf(u64::from(i)) else {
                    continue;
                };
                batch[n] = RxBuffer {
                    addr: b.dma.bus_addr(),
                    len: a.rx_buf_size,
                    token: u64::from(i),
                };
                n += 1;
            }
        }
        if n == 0 {
            return;
        }
        let taken = (dev.rx_refill(q, &batch[..n]) as usize).min(n);
        for b in &batch[taken..n] {
            push_free(a, s, b.token as u32);
        }
        if taken < n {
            return;
        }
    }
}

/// Fill every queue (after open and after a reset).
pub fn refill_all(a: &Adapter) {
    for q in 0..a.qcfg.num_queues {
        a.cell.datapath(|dev, s| post_free(a, dev, s, q));
    }
}

/// Chain of NBLs to indicate after the lock is dropped.
pub struct Indications {
    head: *mut NET_BUFFER_LIST,
    tail: *mut NET_BUFFER_LIST,
    count: u32,
}

impl Indications {
    /// An empty chain.
    pub const fn new() -> Self {
        Indications {
            head: ptr::null_mut(),
            tail: ptr::null_mut(),
            count: 0,
        }
    }
}

/// Handle one received packet under the datapath lock: filter it, fill its
/// NBL, and add it to `out` (or recycle its buffers).
pub fn on_packet(a: &Adapter, s: &mut Datapath, pkt: &RxPacket<'_>, out: &mut Indications) {
    let Some(first) = pkt.frags.first() else {
        return;
    };
    let Some(buf) = a.rx_buf(first.token) else {
        return;
    };
    let mut dst = [0u8; 6];
    buf.dma.read_bytes(pkt.offset as usize, &mut dst);
    let own = a.info.mac;
    let running = a.state() == AdapterState::Running;
    let accept = running
        && rx::filter_accepts(
            s.filter.packet_filter,
            &s.filter.multicast[..s.filter.count],
            &own,
            &dst,
        );
    if !accept || pkt.frags.len() > usize::from(a.info.max_rx_segments.max(1)) {
        a.counters.rx_discards.fetch_add(1, Ordering::Relaxed);
        for f in pkt.frags {
            push_free(a, s, f.token as u32);
        }
        return;
    }
    let nbl = buf.nbl;
    // SAFETY: the NBL and its NB/MDLs are ours until indicated.
    unsafe {
        let nb = (*nbl).FirstNetBuffer;
        if pkt.frags.len() == 1 {
            nbl::set_rx_data(nb, pkt.offset, pkt.len);
        } else {
            let mut parts = [(ptr::null_mut(), 0u32); 16];
            let mut n = 0;
            for (k, f) in pkt.frags.iter().enumerate().take(parts.len()) {
                let Some(b) = a.rx_buf(f.token) else { continue };
                parts[n] = (b.mdl, f.len);
                n += 1;
                // Remember the chain so ReturnNetBufferLists can undo it.
                let next = pkt.frags.get(k + 1).map_or(0, |nf| nf.token as usize + 1);
                (*b.nbl).MiniportReserved.0[NBL_SLOT_RX_CHAIN] = next as *mut _;
            }
            nbl::set_rx_chain(nb, pkt.offset, &parts[..n]);
        }
        (*nbl).Next = ptr::null_mut();
        (*nbl).Status = 0;
        (*nbl).NblFlags = rx::nbl_flags(pkt);
        nbl::set_info_word(
            nbl,
            info::TCP_IP_CHECKSUM,
            rx::csum_word(pkt, &a.offloads()),
        );
        let (hash, hinfo) =
            rss::rx_hash_info(pkt, a.rss_types.load(Ordering::Relaxed)).unwrap_or((0, 0));
        nbl::set_info_word(nbl, info::HASH_VALUE, hash as usize);
        nbl::set_info_word(nbl, info::HASH_INFO, hinfo as usize);
        if out.tail.is_null() {
            out.head = nbl;
        } else {
            (*out.tail).Next = nbl;
        }
    }
    out.tail = nbl;
    out.count += 1;
    a.counters.rx(rx::classify(&dst), pkt.len);
}

/// Indicate what `on_packet` collected (DISPATCH_LEVEL, lock dropped).
pub fn indicate(a: &Adapter, out: Indications) {
    if out.count == 0 {
        return;
    }
    a.rx_outstanding.fetch_add(out.count, Ordering::AcqRel);
    // SAFETY: a chain of our NBLs; NDIS returns each through ReturnNetBufferLists.
    unsafe {
        ffi::NdisMIndicateReceiveNetBufferLists(
            a.handle,
            out.head,
            0,
            out.count,
            NDIS_RECEIVE_FLAGS_DISPATCH_LEVEL,
        )
    };
}

/// `MiniportReturnNetBufferLists`.
pub unsafe extern "system" fn return_net_buffer_lists(
    ctx: crate::ndis::NDIS_HANDLE,
    nbls: *mut NET_BUFFER_LIST,
    _flags: u32,
) {
    // SAFETY: NDIS passes our context.
    let a = unsafe { Adapter::from_ctx(ctx) };
    let mut queues = 0u64;
    let mut returned = 0u32;
    // SAFETY: NDIS hands back NBLs we indicated.
    for l in unsafe { nbl::nbls(nbls) } {
        returned += 1;
        // SAFETY: our NBL; its reserved slots hold buffer indexes + 1.
        let mut idx = unsafe { (*l).MiniportReserved.0[NBL_SLOT_RX_INDEX] as usize };
        a.cell.state(|s| {
            let mut guard = 0;
            while idx != 0 && guard < 16 {
                let i = (idx - 1) as u32;
                let Some(b) = a.rx_buf(u64::from(i)) else {
                    break;
                };
                // SAFETY: our buffer's NBL/MDL.
                unsafe {
                    idx = (*b.nbl).MiniportReserved.0[NBL_SLOT_RX_CHAIN] as usize;
                    (*b.nbl).MiniportReserved.0[NBL_SLOT_RX_CHAIN] = ptr::null_mut();
                    (*b.nbl).Next = ptr::null_mut();
                    nbl::reset_rx_mdl(b.mdl, a.rx_buf_size);
                    nbl::set_rx_data((*b.nbl).FirstNetBuffer, 0, a.rx_buf_size);
                }
                push_free(a, s, i);
                queues |= 1 << (a.rx_queue_of(i) % 64);
                guard += 1;
            }
        });
    }
    for q in 0..a.qcfg.num_queues.min(64) {
        if queues & (1 << q) != 0 {
            a.cell.datapath(|dev, s| refill(a, dev, s, q));
        }
    }
    if a.rx_outstanding.fetch_sub(returned, Ordering::AcqRel) == returned {
        super::control::maybe_complete_pause(a);
    }
}

/// A buffer the core released without data (close, reset): back to its
/// queue's free stack. Must not be called with the cell's lock held.
pub fn release_rx(a: &Adapter, token: u64) {
    a.cell.state(|s| push_free(a, s, token as u32));
}
