//! Life-cycle handlers: Pause/Restart, CheckForHangEx → shared health
//! monitor, ResetEx → shared reset flow (in a PASSIVE_LEVEL work item),
//! PnP events, shutdown, and link-state / offload status indications.

use core::ffi::c_void;
use core::ptr;
use core::sync::atomic::Ordering;

use cloudnic_common::nic::{NetDevice, Released};
use cloudnic_common::{cn_info, cn_warn, ResetReason};

use super::adapter::{Adapter, AdapterState, NO_RESET};
use super::interrupts;
use super::receive;
use super::send::{self, Finished};
use crate::ndis::ffi;
use crate::ndis::miniport::{
    object_type, NDIS_DEVICE_PNP_EVENT_SURPRISE_REMOVED, NDIS_MINIPORT_PAUSE_PARAMETERS,
    NDIS_MINIPORT_RESTART_PARAMETERS, NDIS_SHUTDOWN_POWER_OFF, NET_DEVICE_PNP_EVENT,
};
use crate::ndis::objects::{
    NDIS_LINK_STATE, NDIS_LINK_STATE_REVISION_1, NDIS_OFFLOAD, NDIS_SIZEOF_LINK_STATE_REVISION_1,
    NDIS_SIZEOF_STATUS_INDICATION_REVISION_1, NDIS_STATUS_INDICATION,
    NDIS_STATUS_INDICATION_REVISION_1,
};
use crate::ndis::oid::*;
use crate::ndis::status::*;
use crate::ndis::{BOOLEAN, GUID, NDIS_HANDLE, NDIS_OBJECT_HEADER, NDIS_STATUS};

/// Send an `NDIS_STATUS_INDICATION` with `code` and `buf`.
fn indicate_status(a: &Adapter, code: NDIS_STATUS, buf: *mut c_void, len: usize) {
    let mut ind = NDIS_STATUS_INDICATION {
        Header: NDIS_OBJECT_HEADER::new(
            object_type::STATUS_INDICATION,
            NDIS_STATUS_INDICATION_REVISION_1,
            NDIS_SIZEOF_STATUS_INDICATION_REVISION_1,
        ),
        SourceHandle: a.handle,
        PortNumber: 0,
        StatusCode: code,
        Flags: 0,
        DestinationHandle: ptr::null_mut(),
        RequestId: ptr::null_mut(),
        StatusBuffer: buf,
        StatusBufferSize: len as u32,
        Guid: GUID::default(),
        NdisReserved: [ptr::null_mut(); 4],
    };
    // SAFETY: indication and buffer live across the call (NDIS copies).
    unsafe { ffi::NdisMIndicateStatusEx(a.handle, &mut ind) };
}

/// The `NDIS_LINK_STATE` for `up` at the device's speed.
pub fn link_state(a: &Adapter, up: bool) -> NDIS_LINK_STATE {
    let speed = if a.info.link_speed_mbps == 0 || !up {
        NDIS_LINK_SPEED_UNKNOWN
    } else {
        u64::from(a.info.link_speed_mbps) * 1_000_000
    };
    NDIS_LINK_STATE {
        Header: NDIS_OBJECT_HEADER::new(
            object_type::DEFAULT,
            NDIS_LINK_STATE_REVISION_1,
            NDIS_SIZEOF_LINK_STATE_REVISION_1,
        ),
        MediaConnectState: if up {
            MEDIA_CONNECT_STATE_CONNECTED
        } else {
            MEDIA_CONNECT_STATE_DISCONNECTED
        },
        MediaDuplexState: MEDIA_DUPLEX_STATE_FULL,
        XmitLinkSpeed: speed,
        RcvLinkSpeed: speed,
        PauseFunctions: NDIS_PAUSE_FUNCTIONS_UNSUPPORTED,
        AutoNegotiationFlags: 0,
    }
}

/// Indicate the link state if it changed since the last indication.
pub fn report_link(a: &Adapter, up: bool) {
    let v = if up { 1 } else { 2 };
    if a.link.swap(v, Ordering::AcqRel) == v {
        return;
    }
    let mut ls = link_state(a, up);
    indicate_status(
        a,
        NDIS_STATUS_LINK_STATE,
        (&mut ls as *mut NDIS_LINK_STATE).cast(),
        core::mem::size_of::<NDIS_LINK_STATE>(),
    );
}

/// Tell NDIS the current offload configuration changed.
pub fn report_offload(a: &Adapter) {
    let mut o: NDIS_OFFLOAD = a.offloads().to_ndis();
    indicate_status(
        a,
        NDIS_STATUS_TASK_OFFLOAD_CURRENT_CONFIG,
        (&mut o as *mut NDIS_OFFLOAD).cast(),
        core::mem::size_of::<NDIS_OFFLOAD>(),
    );
}

/// Finish a pending Pause once nothing is outstanding.
pub fn maybe_complete_pause(a: &Adapter) {
    if a.tx_outstanding.load(Ordering::Acquire) == 0
        && a.rx_outstanding.load(Ordering::Acquire) == 0
        && a.pause_pending.swap(false, Ordering::AcqRel)
    {
        a.set_state(AdapterState::Paused);
        // SAFETY: completes the Pause that returned PENDING.
        unsafe { ffi::NdisMPauseComplete(a.handle) };
    }
}

/// `MiniportPause`.
pub unsafe extern "system" fn pause(
    ctx: NDIS_HANDLE,
    _p: *mut NDIS_MINIPORT_PAUSE_PARAMETERS,
) -> NDIS_STATUS {
    // SAFETY: NDIS passes our context.
    let a = unsafe { Adapter::from_ctx(ctx) };
    a.set_state(AdapterState::Pausing);
    let mut queued = Finished::new(NDIS_STATUS_PAUSED);
    a.cell.state(|s| send::take_pending(s, &mut queued));
    queued.complete(a);
    a.pause_pending.store(true, Ordering::Release);
    if a.tx_outstanding.load(Ordering::Acquire) == 0
        && a.rx_outstanding.load(Ordering::Acquire) == 0
    {
        a.pause_pending.store(false, Ordering::Release);
        a.set_state(AdapterState::Paused);
        return NDIS_STATUS_SUCCESS;
    }
    NDIS_STATUS_PENDING
}

/// `MiniportRestart`.
pub unsafe extern "system" fn restart(
    ctx: NDIS_HANDLE,
    _p: *mut NDIS_MINIPORT_RESTART_PARAMETERS,
) -> NDIS_STATUS {
    // SAFETY: NDIS passes our context.
    let a = unsafe { Adapter::from_ctx(ctx) };
    a.set_state(AdapterState::Running);
    interrupts::requeue_all(a);
    NDIS_STATUS_SUCCESS
}

/// `MiniportCheckForHangEx` (PASSIVE_LEVEL): ask the shared health monitor.
pub unsafe extern "system" fn check_for_hang(ctx: NDIS_HANDLE) -> BOOLEAN {
    // SAFETY: NDIS passes our context.
    let a = unsafe { Adapter::from_ctx(ctx) };
    if a.state() == AdapterState::Halted || a.reset_reason.load(Ordering::Acquire) != NO_RESET {
        return 0;
    }
    let reason = a.cell.control(|slot| {
        slot.as_mut()
            .and_then(|d| d.health_check().or(d.pending_reset()))
    });
    interrupts::requeue_all(a);
    match reason {
        Some(r) => {
            cn_warn!(&a.plat, "health check requests a reset: {:?}", r);
            a.reset_reason.store(u32::from(r.code()), Ordering::Release);
            1
        }
        None => 0,
    }
}

/// `MiniportResetEx` (≤ DISPATCH_LEVEL): the shared reset flow sleeps, so
/// it runs in a work item and completes with NdisMResetComplete.
pub unsafe extern "system" fn reset(
    ctx: NDIS_HANDLE,
    addressing_reset: *mut BOOLEAN,
) -> NDIS_STATUS {
    // SAFETY: NDIS passes our context and a valid out-parameter.
    let a = unsafe {
        *addressing_reset = 0;
        Adapter::from_ctx(ctx)
    };
    // A reset NDIS asks for without a health reason counts as an OS trigger.
    let _ = a.reset_reason.compare_exchange(
        NO_RESET,
        u32::from(ResetReason::OsTrigger.code()),
        Ordering::AcqRel,
        Ordering::Acquire,
    );
    // SAFETY: work item allocated in InitializeEx; `ctx` outlives it (Halt
    // waits for outstanding resets to complete).
    unsafe { ffi::NdisQueueIoWorkItem(a.work, reset_work, ctx) };
    NDIS_STATUS_PENDING
}

unsafe extern "system" fn reset_work(ctx: *mut c_void, _item: NDIS_HANDLE) {
    // SAFETY: queued with our context.
    let a = unsafe { Adapter::from_ctx(ctx) };
    let code = a.reset_reason.load(Ordering::Acquire);
    let reason = ResetReason::from_code(u8::try_from(code).unwrap_or(ResetReason::Generic.code()));
    let mut aborted = Finished::new(NDIS_STATUS_RESET_IN_PROGRESS);
    a.cell.state(|s| send::take_pending(s, &mut aborted));
    let result = a.cell.control(|slot| match slot.as_mut() {
        Some(d) => d.reset(reason, &mut |r| match r {
            Released::Tx(t) => aborted.push(t),
            Released::Rx(i) => receive::release_rx(a, i),
        }),
        None => Err(cloudnic_common::Error::NotRunning),
    });
    aborted.complete(a);
    receive::refill_all(a);
    interrupts::requeue_all(a);
    let status = match result {
        Ok(()) => {
            cn_info!(&a.plat, "reset ({:?}) completed", reason);
            NDIS_STATUS_SUCCESS
        }
        // The core kept the reset pending because the device did not
        // answer yet ("FW isn't responsive"): the next CheckForHangEx asks
        // for it again, so this is not a failed reset.
        Err(cloudnic_common::Error::Timeout) => {
            cn_warn!(
                &a.plat,
                "reset ({:?}) deferred: device not responding, retried at the next hang check",
                reason
            );
            NDIS_STATUS_SUCCESS
        }
        Err(e) => {
            cn_warn!(&a.plat, "reset ({:?}) failed: {}", reason, e);
            from_core_error(e)
        }
    };
    a.reset_reason.store(NO_RESET, Ordering::Release);
    // Link state after the reset is re-reported.
    a.link.store(0, Ordering::Release);
    if let Some(up) = a.cell.datapath(|d, _| d.link_up()) {
        report_link(a, up);
    }
    // SAFETY: completes the ResetEx that returned PENDING.
    unsafe { ffi::NdisMResetComplete(a.handle, status, 0) };
}

/// `MiniportDevicePnPEventNotify`.
pub unsafe extern "system" fn device_pnp_event(ctx: NDIS_HANDLE, ev: *mut NET_DEVICE_PNP_EVENT) {
    // SAFETY: NDIS passes our context and a valid event.
    let (a, kind) = unsafe { (Adapter::from_ctx(ctx), (*ev).DevicePnPEvent) };
    if kind == NDIS_DEVICE_PNP_EVENT_SURPRISE_REMOVED {
        a.surprise_removed.store(true, Ordering::Release);
        cn_warn!(&a.plat, "device surprise-removed");
    }
}

/// `MiniportShutdownEx`. Power-off (PASSIVE_LEVEL): close the queues so
/// DMA stops. Bug check (HIGH_LEVEL): nothing that could take a lock.
pub unsafe extern "system" fn shutdown(ctx: NDIS_HANDLE, action: u32) {
    if action != NDIS_SHUTDOWN_POWER_OFF {
        return;
    }
    // SAFETY: NDIS passes our context.
    let a = unsafe { Adapter::from_ctx(ctx) };
    a.cell.control(|slot| {
        if let Some(d) = slot.as_mut() {
            let _ = d.close(&mut |_| {});
        }
    });
}

/// `MiniportCancelOidRequest`: every OID completes synchronously.
pub unsafe extern "system" fn cancel_oid_request(_ctx: NDIS_HANDLE, _id: *mut c_void) {}
