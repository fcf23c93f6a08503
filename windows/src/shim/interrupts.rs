//! MSI-X interrupts: one message per queue pair plus the management message
//! (logic::plan::vector_role), each with its own DPC. Line-based interrupts
//! (no MSI-X granted) are served by one ISR/DPC that does everything.
//!
//! The ISR only asks for the DPC: the device leaves a queue's interrupt
//! masked until `unmask_queue_interrupt`, so no acknowledgement is needed at
//! DIRQL. The DPC polls TX completions and RX packets with the throttle
//! budget NDIS passes (NDIS 6.20 receive throttling) and re-arms the
//! interrupt only when it finished under budget.

use core::ffi::c_void;
use core::ptr;

use cloudnic_common::nic::{NetDevice, RxPacket};

use core::sync::atomic::Ordering;

use super::adapter::{Adapter, AdapterState};
use super::receive::{self, Indications};
use super::send::{self, Finished};
use crate::logic::plan::{vector_role, VectorRole};
use crate::ndis::ffi;
use crate::ndis::miniport::{
    object_type, NDIS_CONNECT_MESSAGE_BASED, NDIS_MINIPORT_INTERRUPT_CHARACTERISTICS,
    NDIS_MINIPORT_INTERRUPT_REVISION_1, NDIS_RECEIVE_THROTTLE_PARAMETERS,
    NDIS_SIZEOF_MINIPORT_INTERRUPT_CHARACTERISTICS_REVISION_1,
};
use crate::ndis::status::NDIS_STATUS_SUCCESS;
use crate::ndis::{
    BOOLEAN, GROUP_AFFINITY, NDIS_HANDLE, NDIS_OBJECT_HEADER, NDIS_STATUS, PROCESSOR_NUMBER,
};

/// Most packets per queue per DPC when NDIS gives no throttle.
const DEFAULT_BUDGET: u32 = 64;

/// Register the interrupt for adapter `handle` with context `ctx`; returns
/// the interrupt handle and the number of messages granted. Takes no
/// reference to the adapter: its handlers may run before this returns (they
/// do nothing while the adapter is still initialising).
pub fn register(handle: NDIS_HANDLE, ctx: NDIS_HANDLE) -> Result<(NDIS_HANDLE, u32), NDIS_STATUS> {
    let mut chars = NDIS_MINIPORT_INTERRUPT_CHARACTERISTICS {
        Header: NDIS_OBJECT_HEADER::new(
            object_type::MINIPORT_INTERRUPT,
            NDIS_MINIPORT_INTERRUPT_REVISION_1,
            NDIS_SIZEOF_MINIPORT_INTERRUPT_CHARACTERISTICS_REVISION_1,
        ),
        InterruptHandler: Some(isr),
        InterruptDpcHandler: Some(dpc),
        DisableInterruptHandler: None,
        EnableInterruptHandler: None,
        MsiSupported: 1,
        MsiSyncWithAllMessages: 0,
        MessageInterruptHandler: Some(message_isr),
        MessageInterruptDpcHandler: Some(message_dpc),
        DisableMessageInterruptHandler: None,
        EnableMessageInterruptHandler: None,
        InterruptType: 0,
        MessageInfoTable: ptr::null_mut(),
    };
    let mut interrupt = ptr::null_mut();
    // SAFETY: valid characteristics; the adapter outlives the registration.
    let st = unsafe { ffi::NdisMRegisterInterruptEx(handle, ctx, &mut chars, &mut interrupt) };
    if st != NDIS_STATUS_SUCCESS {
        return Err(st);
    }
    let messages =
        if chars.InterruptType == NDIS_CONNECT_MESSAGE_BASED && !chars.MessageInfoTable.is_null() {
            // SAFETY: NDIS filled the table for message-based interrupts.
            unsafe { (*chars.MessageInfoTable).MessageCount }.max(1)
        } else {
            1
        };
    Ok((interrupt, messages))
}

/// The adapter behind an interrupt context, unless it is still initialising
/// (InitializeEx writes the adapter until it publishes `Paused`; only the
/// `state` field is looked at before that).
fn ready<'a>(ctx: NDIS_HANDLE) -> Option<&'a Adapter> {
    let p = ctx.cast::<Adapter>();
    // SAFETY: the context is our adapter; `state` is an atomic field read
    // without forming a reference to the whole adapter.
    let state = unsafe { &*ptr::addr_of!((*p).state) };
    if state.load(Ordering::Acquire) == AdapterState::Initializing as u32 {
        return None;
    }
    // SAFETY: initialisation is complete (Acquire above pairs with its Release).
    Some(unsafe { &*p })
}

unsafe extern "system" fn isr(
    _ctx: NDIS_HANDLE,
    queue_dpc: *mut BOOLEAN,
    _targets: *mut u32,
) -> BOOLEAN {
    // SAFETY: NDIS passes a valid out-parameter.
    unsafe { *queue_dpc = 1 };
    1
}

unsafe extern "system" fn message_isr(
    _ctx: NDIS_HANDLE,
    _msg: u32,
    queue_dpc: *mut BOOLEAN,
    _targets: *mut u32,
) -> BOOLEAN {
    // SAFETY: NDIS passes a valid out-parameter.
    unsafe { *queue_dpc = 1 };
    1
}

unsafe extern "system" fn dpc(
    ctx: NDIS_HANDLE,
    _dpc_ctx: *mut c_void,
    throttle: *mut c_void,
    _r: *mut c_void,
) {
    if let Some(a) = ready(ctx) {
        run(a, 0, throttle.cast());
    }
}

unsafe extern "system" fn message_dpc(
    ctx: NDIS_HANDLE,
    msg: u32,
    _dpc_ctx: *mut c_void,
    throttle: *mut c_void,
    _r: *mut c_void,
) {
    if let Some(a) = ready(ctx) {
        run(a, msg, throttle.cast());
    }
}

fn run(a: &Adapter, msg: u32, throttle: *mut NDIS_RECEIVE_THROTTLE_PARAMETERS) {
    let budget = if throttle.is_null() {
        DEFAULT_BUDGET
    } else {
        // SAFETY: NDIS passes the throttle parameters of this DPC.
        unsafe { (*throttle).MaxNblsToIndicate }.clamp(1, DEFAULT_BUDGET)
    };
    let more = match vector_role(msg, a.messages, a.qcfg.num_queues) {
        Some(VectorRole::Management) => {
            management(a);
            false
        }
        Some(VectorRole::Queue(q)) => queue(a, q, budget),
        Some(VectorRole::All) => {
            management(a);
            let mut more = false;
            for q in 0..a.qcfg.num_queues {
                more |= queue(a, q, budget);
            }
            more
        }
        None => false,
    };
    if more && !throttle.is_null() {
        // SAFETY: as above; bit 0 = MoreNblsPending: NDIS runs the DPC again.
        unsafe { (*throttle).Flags |= 1 };
    }
}

/// Admin completions and async events; report link changes.
fn management(a: &Adapter) {
    let link = a.cell.datapath(|dev, _| {
        dev.handle_management_interrupt();
        dev.link_up()
    });
    if let Some(up) = link {
        super::control::report_link(a, up);
    }
}

/// Poll one queue pair; true if the budget ran out (more work waits).
fn queue(a: &Adapter, q: u16, budget: u32) -> bool {
    let mut done = Finished::new(NDIS_STATUS_SUCCESS);
    let mut failed = Finished::new(crate::ndis::status::NDIS_STATUS_INVALID_PACKET);
    let mut out = Indications::new();
    let more = a.cell.datapath(|dev, s| {
        dev.note_queue_interrupt(q);
        let txn = dev.tx_poll(q, budget, &mut |t| done.push(t));
        send::drain_pending(a, dev, s, &mut failed);
        let rxn = dev.rx_poll(q, budget, &mut |p: &RxPacket<'_>| {
            receive::on_packet(a, s, p, &mut out)
        });
        receive::refill(a, dev, s, q);
        let more = txn >= budget || rxn >= budget;
        if !more {
            dev.unmask_queue_interrupt(q);
        }
        more
    });
    done.complete(a);
    failed.complete(a);
    receive::indicate(a, out);
    more.unwrap_or(false)
}

/// Run every DPC once more (after a control operation made DPCs back off,
/// and after Restart): interrupts stay masked until a DPC re-arms them.
pub fn requeue_all(a: &Adapter) {
    if a.interrupt.is_null() {
        return;
    }
    let mut pn = PROCESSOR_NUMBER::default();
    // SAFETY: out-parameter.
    unsafe { ffi::KeGetCurrentProcessorNumberEx(&mut pn) };
    let mut aff = GROUP_AFFINITY {
        Mask: 1usize << (pn.Number % 64),
        Group: pn.Group,
        Reserved: [0; 3],
    };
    let messages = if a.messages <= 1 {
        1
    } else {
        (u32::from(a.qcfg.num_queues) + 1).min(a.messages)
    };
    for m in 0..messages {
        // SAFETY: registered interrupt; message index within the grant.
        unsafe { ffi::NdisMQueueDpcEx(a.interrupt, m, &mut aff, ptr::null_mut()) };
    }
}
