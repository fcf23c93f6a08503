//! The NDIS miniport: `DriverEntry` registers the handlers below; each
//! translates NDIS objects into `cloudnic_common::nic` calls and back.
//!
//! | NDIS handler | here |
//! |---|---|
//! | InitializeEx, HaltEx | [`init`] |
//! | Pause, Restart, CheckForHangEx, ResetEx, DevicePnPEventNotify, ShutdownEx, CancelOidRequest | [`control`] |
//! | OidRequest | [`requests`] |
//! | SendNetBufferLists, CancelSend (+ the SG-list callback) | [`send`] |
//! | ReturnNetBufferLists | [`receive`] |
//! | ISR / per-message DPCs | [`interrupts`] |

use core::ffi::c_void;
use core::ptr;
use core::sync::atomic::{AtomicPtr, Ordering};

use crate::ndis::ffi;
use crate::ndis::miniport::*;
use crate::ndis::status::NDIS_STATUS_SUCCESS;
use crate::ndis::{NDIS_HANDLE, NDIS_OBJECT_HEADER, UNICODE_STRING};

mod adapter;
mod attributes;
mod config;
mod control;
mod devcell;
mod device;
mod init;
mod interrupts;
mod receive;
mod requests;
mod send;

/// NdisMiniportDriverHandle, for the unload handler.
static DRIVER_HANDLE: AtomicPtr<c_void> = AtomicPtr::new(ptr::null_mut());

/// Driver-defined bug-check code for a Rust panic. The shared crates are
/// written not to panic on any device or user value; a panic is a driver
/// bug and a kernel driver cannot unwind. Parameter 1: source line.
const PANIC_BUGCHECK_CODE: u32 = 0xC10D_0001;

/// Kernel entry point: register the NDIS 6.30 miniport.
///
/// # Safety
/// Called once by the I/O manager with valid arguments.
#[no_mangle]
pub unsafe extern "system" fn DriverEntry(
    driver: *mut c_void,
    registry_path: *mut UNICODE_STRING,
) -> i32 {
    let mut chars = NDIS_MINIPORT_DRIVER_CHARACTERISTICS {
        Header: NDIS_OBJECT_HEADER::new(
            object_type::MINIPORT_DRIVER_CHARACTERISTICS,
            NDIS_MINIPORT_DRIVER_CHARACTERISTICS_REVISION_2,
            NDIS_SIZEOF_MINIPORT_DRIVER_CHARACTERISTICS_REVISION_2,
        ),
        MajorNdisVersion: crate::logic::oid::NDIS_MAJOR,
        MinorNdisVersion: crate::logic::oid::NDIS_MINOR,
        MajorDriverVersion: crate::DRIVER_VERSION.0,
        MinorDriverVersion: crate::DRIVER_VERSION.1,
        Flags: 0,
        SetOptionsHandler: None,
        InitializeHandlerEx: Some(init::initialize),
        HaltHandlerEx: Some(init::halt),
        UnloadHandler: Some(unload),
        PauseHandler: Some(control::pause),
        RestartHandler: Some(control::restart),
        OidRequestHandler: Some(requests::oid_request),
        SendNetBufferListsHandler: Some(send::send_net_buffer_lists),
        ReturnNetBufferListsHandler: Some(receive::return_net_buffer_lists),
        CancelSendHandler: Some(send::cancel_send),
        CheckForHangHandlerEx: Some(control::check_for_hang),
        ResetHandlerEx: Some(control::reset),
        DevicePnPEventNotifyHandler: Some(control::device_pnp_event),
        ShutdownHandlerEx: Some(control::shutdown),
        CancelOidRequestHandler: Some(control::cancel_oid_request),
        DirectOidRequestHandler: None,
        CancelDirectOidRequestHandler: None,
    };
    let mut handle: NDIS_HANDLE = ptr::null_mut();
    // SAFETY: valid characteristics; NDIS copies them.
    let st = unsafe {
        ffi::NdisMRegisterMiniportDriver(
            driver,
            registry_path,
            ptr::null_mut(),
            &mut chars,
            &mut handle,
        )
    };
    if st == NDIS_STATUS_SUCCESS {
        DRIVER_HANDLE.store(handle, Ordering::Release);
    } else {
        crate::platform::debug_print(
            cloudnic_common::LogLevel::Error,
            format_args!("NdisMRegisterMiniportDriver failed: {:#x}", st),
        );
    }
    st
}

/// `MiniportDriverUnload`.
unsafe extern "system" fn unload(_driver: *mut c_void) {
    let h = DRIVER_HANDLE.swap(ptr::null_mut(), Ordering::AcqRel);
    if !h.is_null() {
        // SAFETY: registered in DriverEntry.
        unsafe { ffi::NdisMDeregisterMiniportDriver(h) };
    }
}

#[cfg(not(test))]
#[panic_handler]
fn panic(info: &core::panic::PanicInfo<'_>) -> ! {
    let line = info.location().map_or(0, |l| l.line() as usize);
    crate::platform::debug_print(
        cloudnic_common::LogLevel::Error,
        format_args!("panic: {}", info),
    );
    // SAFETY: stops the system; nothing returns.
    unsafe { ffi::KeBugCheckEx(PANIC_BUGCHECK_CODE, line, 0, 0, 0) }
}
