//! Send: NBL → per-NET_BUFFER scatter-gather list (NdisMAllocateNetBufferSGList)
//! → `TxPacket` (logic::tx) → `NetDevice::tx_post` → completion in the
//! queue's DPC → `NdisMSendNetBufferListsComplete` once every NET_BUFFER of
//! the NBL is done.
//!
//! The token the core carries is the NET_BUFFER pointer. Each NBL counts
//! its NET_BUFFERs still in flight in `MiniportReserved[0]`, biased by one
//! while the send routine is still handing them out, so the last of the
//! completion, the error path and the send routine completes the NBL.
//! NET_BUFFERs that find the ring full wait in a FIFO and are retried after
//! completions free space.

use core::ffi::c_void;
use core::ptr;
use core::sync::atomic::{AtomicI32, AtomicUsize, Ordering};

use cloudnic_common::nic::{DmaSegment, NetDevice, TxError, TxPacket};

use super::adapter::{current_irql, Adapter, AdapterState, Datapath, DriverDevice, DISPATCH_LEVEL};
use crate::logic::{nbl, rx, tx};
use crate::ndis::ffi;
use crate::ndis::nbl::{
    info, NBL_SLOT_PENDING, NB_SLOT_ADAPTER, NB_SLOT_NBL, NB_SLOT_NEXT, NB_SLOT_SGL,
    NDIS_SEND_COMPLETE_FLAGS_DISPATCH_LEVEL, NDIS_SG_LIST_WRITE_TO_DEVICE, NET_BUFFER,
    NET_BUFFER_LIST, SCATTER_GATHER_LIST,
};
use crate::ndis::status::*;
use crate::ndis::{NDIS_HANDLE, NDIS_PORT_NUMBER, NDIS_STATUS};

fn pending_counter<'a>(l: *mut NET_BUFFER_LIST) -> &'a AtomicUsize {
    // SAFETY: the slot is pointer-sized and aligned; we own the NBL while
    // its counter is non-zero, and only touch it atomically.
    unsafe {
        &*(ptr::addr_of_mut!((*l).MiniportReserved.0[NBL_SLOT_PENDING]).cast::<AtomicUsize>())
    }
}

fn status_slot<'a>(l: *mut NET_BUFFER_LIST) -> &'a AtomicI32 {
    // SAFETY: as above, for the Status field.
    unsafe { &*(ptr::addr_of_mut!((*l).Status).cast::<AtomicI32>()) }
}

/// `NDIS_SEND_COMPLETE_FLAGS_DISPATCH_LEVEL` if we run at DISPATCH_LEVEL.
fn complete_flags() -> u32 {
    if current_irql() >= DISPATCH_LEVEL {
        NDIS_SEND_COMPLETE_FLAGS_DISPATCH_LEVEL
    } else {
        0
    }
}

/// One NET_BUFFER of `l` is done; complete `l` if it was the last.
fn nb_done(a: &Adapter, l: *mut NET_BUFFER_LIST) {
    if pending_counter(l).fetch_sub(1, Ordering::AcqRel) != 1 {
        return;
    }
    // SAFETY: the last reference: the NBL is ours until completed.
    unsafe {
        let lso = nbl::info_word(l, info::TCP_LARGE_SEND);
        if let Some(w) = tx::lso_v2_completion_word(lso) {
            nbl::set_info_word(l, info::TCP_LARGE_SEND, w);
        }
        (*l).Next = ptr::null_mut();
        ffi::NdisMSendNetBufferListsComplete(a.handle, l, complete_flags());
    }
}

/// Finish one NET_BUFFER: free its SG list, record `status` on its NBL,
/// count it, and complete the NBL if it was the last.
///
/// # Safety
/// `nb` is one of ours (slots set by `send_net_buffer_lists`), not in the
/// device and not in the pending FIFO.
pub unsafe fn complete_nb(a: &Adapter, nb: *mut NET_BUFFER, status: NDIS_STATUS) {
    // SAFETY: per the caller's guarantee.
    unsafe {
        let slots = &mut (*nb).MiniportReserved.0;
        let l = slots[NB_SLOT_NBL] as *mut NET_BUFFER_LIST;
        let sgl = slots[NB_SLOT_SGL] as *mut SCATTER_GATHER_LIST;
        slots[NB_SLOT_SGL] = ptr::null_mut();
        if status == NDIS_STATUS_SUCCESS {
            let mut dst = [0u8; 6];
            let _ = nbl::copy_data(nb, &mut dst);
            a.counters.tx(rx::classify(&dst), (*nb).DataLength as u32);
        } else {
            status_slot(l).store(status, Ordering::Relaxed);
            a.counters.tx_errors.fetch_add(1, Ordering::Relaxed);
        }
        if !sgl.is_null() {
            a.at_dispatch(|| ffi::NdisMFreeNetBufferSGList(a.dma, sgl, nb));
        }
        nb_done(a, l);
    }
    if a.tx_outstanding.fetch_sub(1, Ordering::AcqRel) == 1 {
        super::control::maybe_complete_pause(a);
    }
}

/// Complete a whole chain with `status` (paused, resetting).
fn fail_chain(a: &Adapter, chain: *mut NET_BUFFER_LIST, status: NDIS_STATUS) {
    // SAFETY: NDIS gave us the chain.
    for l in unsafe { nbl::nbls(chain) } {
        // SAFETY: our NBL for the duration of the call.
        unsafe {
            (*l).Status = status;
            (*l).Next = ptr::null_mut();
        }
        a.counters.tx_discards.fetch_add(1, Ordering::Relaxed);
        // SAFETY: completing an NBL we were given.
        unsafe { ffi::NdisMSendNetBufferListsComplete(a.handle, l, complete_flags()) };
    }
}

/// `MiniportSendNetBufferLists`.
pub unsafe extern "system" fn send_net_buffer_lists(
    ctx: NDIS_HANDLE,
    chain: *mut NET_BUFFER_LIST,
    _port: NDIS_PORT_NUMBER,
    _flags: u32,
) {
    // SAFETY: NDIS passes our context.
    let a = unsafe { Adapter::from_ctx(ctx) };
    // NdisMAllocateNetBufferSGList needs DISPATCH_LEVEL; NDIS may call us
    // at PASSIVE_LEVEL (NDIS_SEND_FLAGS_DISPATCH_LEVEL clear in `_flags`).
    a.at_dispatch(|| send_chain(a, ctx, chain));
}

fn send_chain(a: &Adapter, ctx: NDIS_HANDLE, chain: *mut NET_BUFFER_LIST) {
    if a.state() != AdapterState::Running {
        let st = if a.state() == AdapterState::Halted {
            NDIS_STATUS_ADAPTER_NOT_READY
        } else {
            NDIS_STATUS_PAUSED
        };
        fail_chain(a, chain, st);
        return;
    }
    // SAFETY: NDIS gave us the chain; we own each NBL until completed.
    for l in unsafe { nbl::nbls(chain) } {
        // SAFETY: as above.
        let count = unsafe {
            (*l).Next = ptr::null_mut();
            (*l).Status = NDIS_STATUS_SUCCESS;
            nbl::net_buffers(l).count()
        };
        pending_counter(l).store(count + 1, Ordering::Release);
        a.tx_outstanding.fetch_add(count as u32, Ordering::AcqRel);
        // SAFETY: as above.
        for nb in unsafe { nbl::net_buffers(l) } {
            // SAFETY: our NET_BUFFER until completed.
            let st = unsafe {
                let slots = &mut (*nb).MiniportReserved.0;
                slots[NB_SLOT_NBL] = l.cast();
                slots[NB_SLOT_SGL] = ptr::null_mut();
                slots[NB_SLOT_NEXT] = ptr::null_mut();
                slots[NB_SLOT_ADAPTER] = ctx;
                ffi::NdisMAllocateNetBufferSGList(
                    a.dma,
                    nb,
                    nb.cast(),
                    NDIS_SG_LIST_WRITE_TO_DEVICE,
                    ptr::null_mut(),
                    0,
                )
            };
            if st != NDIS_STATUS_SUCCESS {
                // SAFETY: not posted anywhere.
                unsafe { complete_nb(a, nb, NDIS_STATUS_RESOURCES) };
            }
        }
        nb_done(a, l);
    }
}

/// `MINIPORT_PROCESS_SG_LIST`: NDIS mapped a NET_BUFFER (DISPATCH_LEVEL).
pub unsafe extern "system" fn process_sg_list(
    _dev: *mut c_void,
    _reserved: *mut c_void,
    sgl: *mut SCATTER_GATHER_LIST,
    context: *mut c_void,
) {
    let nb = context.cast::<NET_BUFFER>();
    // SAFETY: the context is the NET_BUFFER we passed; its slots hold the adapter.
    let a = unsafe {
        (*nb).MiniportReserved.0[NB_SLOT_SGL] = sgl.cast();
        Adapter::from_ctx((*nb).MiniportReserved.0[NB_SLOT_ADAPTER])
    };
    let outcome = a.cell.datapath(|dev, s| {
        if !s.pending_head.is_null() {
            push_pending(s, nb);
            return Ok(());
        }
        match post(a, dev, nb) {
            Err(TxError::NoSpace) => {
                push_pending(s, nb);
                Ok(())
            }
            other => other,
        }
    });
    match outcome {
        Some(Ok(())) => {}
        // A control operation owns the device: wait in the FIFO.
        None => a.cell.state(|s| push_pending(s, nb)),
        // SAFETY: not posted.
        Some(Err(e)) => unsafe { complete_nb(a, nb, tx_error_status(e)) },
    }
}

fn tx_error_status(e: TxError) -> NDIS_STATUS {
    match e {
        TxError::NotRunning => NDIS_STATUS_RESET_IN_PROGRESS,
        TxError::NoSpace => NDIS_STATUS_RESOURCES,
        TxError::TooManySegments | TxError::Invalid => NDIS_STATUS_INVALID_PACKET,
    }
}

/// Queue a NET_BUFFER: hash of the NBL (set by NDIS when RSS is on) modulo
/// the queue count, so a flow stays on one ring.
fn pick_queue(a: &Adapter, nb: *mut NET_BUFFER) -> u16 {
    // SAFETY: our NET_BUFFER and its NBL.
    let hash = unsafe {
        nbl::info_word(
            (*nb).MiniportReserved.0[NB_SLOT_NBL] as *const NET_BUFFER_LIST,
            info::HASH_VALUE,
        )
    };
    (hash % usize::from(a.qcfg.num_queues.max(1))) as u16
}

/// Build the TX packet of `nb` and post it (doorbell included).
fn post(a: &Adapter, dev: &mut DriverDevice, nb: *mut NET_BUFFER) -> Result<(), TxError> {
    let mut hdr = [0u8; tx::MAX_HEADER];
    let mut segs = [DmaSegment::default(); tx::MAX_SEGMENTS];
    // SAFETY: our NET_BUFFER; its SG list slot was set by process_sg_list.
    let (header, built) = unsafe {
        let len = (*nb).DataLength as u32;
        let want = (len as usize).min(tx::MAX_HEADER);
        let n = match nbl::copy_data(nb, &mut hdr[..want]) {
            Some(n) => n,
            None => {
                let p = ffi::NdisGetDataBuffer(nb, want as u32, hdr.as_mut_ptr().cast(), 1, 0);
                if p.is_null() {
                    return Err(TxError::Invalid);
                }
                if p.cast::<u8>() != hdr.as_mut_ptr() {
                    ptr::copy_nonoverlapping(p.cast::<u8>(), hdr.as_mut_ptr(), want);
                }
                want
            }
        };
        let l = (*nb).MiniportReserved.0[NB_SLOT_NBL] as *const NET_BUFFER_LIST;
        let sg =
            nbl::sg_elements((*nb).MiniportReserved.0[NB_SLOT_SGL] as *const SCATTER_GATHER_LIST);
        let built = tx::build(
            sg,
            len,
            &hdr[..n],
            nbl::info_word(l, info::TCP_IP_CHECKSUM),
            nbl::info_word(l, info::TCP_LARGE_SEND),
            usize::from(a.info.max_tx_segments),
            &mut segs,
        )
        .map_err(|e| match e {
            tx::TxBuildError::TooManySegments => TxError::TooManySegments,
            tx::TxBuildError::Invalid => TxError::Invalid,
        })?;
        (n, built)
    };
    let q = pick_queue(a, nb);
    let pkt = TxPacket {
        segments: &segs[..built.segments],
        header: &hdr[..header],
        offload: built.offload,
        token: nb as u64,
    };
    dev.tx_post(q, &pkt)?;
    dev.tx_kick(q);
    Ok(())
}

fn push_pending(s: &mut Datapath, nb: *mut NET_BUFFER) {
    // SAFETY: our NET_BUFFER; the FIFO is under the cell's lock.
    unsafe {
        (*nb).MiniportReserved.0[NB_SLOT_NEXT] = ptr::null_mut();
        if s.pending_tail.is_null() {
            s.pending_head = nb;
        } else {
            (*s.pending_tail).MiniportReserved.0[NB_SLOT_NEXT] = nb.cast();
        }
    }
    s.pending_tail = nb;
}

fn pop_pending(s: &mut Datapath) -> Option<*mut NET_BUFFER> {
    let nb = s.pending_head;
    if nb.is_null() {
        return None;
    }
    // SAFETY: FIFO member, under the lock.
    s.pending_head = unsafe { (*nb).MiniportReserved.0[NB_SLOT_NEXT] as *mut NET_BUFFER };
    if s.pending_head.is_null() {
        s.pending_tail = ptr::null_mut();
    }
    Some(nb)
}

/// Singly linked list of finished NET_BUFFERs (through `NB_SLOT_NEXT`),
/// completed once the lock is dropped.
pub struct Finished {
    head: *mut NET_BUFFER,
    status: NDIS_STATUS,
}

impl Finished {
    /// An empty list whose members complete with `status`.
    pub const fn new(status: NDIS_STATUS) -> Self {
        Finished {
            head: ptr::null_mut(),
            status,
        }
    }

    /// Add a token returned by the core.
    pub fn push(&mut self, token: u64) {
        let nb = token as *mut NET_BUFFER;
        if nb.is_null() {
            return;
        }
        // SAFETY: tokens are NET_BUFFERs we posted.
        unsafe { (*nb).MiniportReserved.0[NB_SLOT_NEXT] = self.head.cast() };
        self.head = nb;
    }

    /// Complete every member (lock not held).
    pub fn complete(self, a: &Adapter) {
        let mut nb = self.head;
        while !nb.is_null() {
            // SAFETY: list members are ours and out of the device.
            unsafe {
                let next = (*nb).MiniportReserved.0[NB_SLOT_NEXT] as *mut NET_BUFFER;
                complete_nb(a, nb, self.status);
                nb = next;
            }
        }
    }
}

/// Retry queued sends after completions (under the lock). Failures go to
/// `failed`.
pub fn drain_pending(a: &Adapter, dev: &mut DriverDevice, s: &mut Datapath, failed: &mut Finished) {
    while let Some(nb) = pop_pending(s) {
        match post(a, dev, nb) {
            Ok(()) => {}
            Err(TxError::NoSpace) => {
                // Put it back at the head.
                // SAFETY: under the lock; nb just left the FIFO.
                unsafe { (*nb).MiniportReserved.0[NB_SLOT_NEXT] = s.pending_head.cast() };
                if s.pending_head.is_null() {
                    s.pending_tail = nb;
                }
                s.pending_head = nb;
                return;
            }
            Err(_) => failed.push(nb as u64),
        }
    }
}

/// Take the whole FIFO (pause, halt, reset) into `out`.
pub fn take_pending(s: &mut Datapath, out: &mut Finished) {
    while let Some(nb) = pop_pending(s) {
        out.push(nb as u64);
    }
}

/// `MiniportCancelSend`: complete queued (not yet posted) NET_BUFFERs of
/// NBLs with this cancel id as aborted.
pub unsafe extern "system" fn cancel_send(ctx: NDIS_HANDLE, cancel_id: *mut c_void) {
    // SAFETY: NDIS passes our context.
    let a = unsafe { Adapter::from_ctx(ctx) };
    let mut aborted = Finished::new(NDIS_STATUS_SEND_ABORTED);
    a.cell.state(|s| {
        let mut keep = Finished::new(0);
        while let Some(nb) = pop_pending(s) {
            // SAFETY: FIFO member and its NBL.
            let id = unsafe {
                nbl::info_word(
                    (*nb).MiniportReserved.0[NB_SLOT_NBL] as *const NET_BUFFER_LIST,
                    info::CANCEL_ID,
                )
            };
            if id == cancel_id as usize {
                aborted.push(nb as u64);
            } else {
                keep.push(nb as u64);
            }
        }
        // `keep` is reversed; re-queue in original order.
        let mut rev = Finished::new(0);
        let mut nb = keep.head;
        while !nb.is_null() {
            // SAFETY: list members.
            let next = unsafe { (*nb).MiniportReserved.0[NB_SLOT_NEXT] as *mut NET_BUFFER };
            rev.push(nb as u64);
            nb = next;
        }
        let mut nb = rev.head;
        while !nb.is_null() {
            // SAFETY: list members.
            let next = unsafe { (*nb).MiniportReserved.0[NB_SLOT_NEXT] as *mut NET_BUFFER };
            push_pending(s, nb);
            nb = next;
        }
    });
    aborted.complete(a);
}
