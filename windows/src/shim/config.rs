//! Registry keywords through `NdisOpenConfigurationEx` /
//! `NdisReadConfiguration`; parsing and bounds are logic::keywords. A value
//! that is refused is logged and written to the event log
//! (`NDIS_ERROR_CODE_UNSUPPORTED_CONFIGURATION`, values: keyword index and
//! the raw number or 0xFFFFFFFF), and the default is used.

use core::ptr;

use cloudnic_common::cn_warn;

use crate::logic::keywords::{Keywords, RawValue};
use crate::ndis::ffi;
use crate::ndis::miniport::{
    object_type, NDIS_CONFIGURATION_OBJECT, NDIS_CONFIGURATION_PARAMETER,
    NDIS_PARAMETER_HEX_INTEGER, NDIS_PARAMETER_INTEGER, NDIS_PARAMETER_STRING,
    NDIS_SIZEOF_CONFIGURATION_OBJECT_REVISION_1,
};
use crate::ndis::status::{NDIS_ERROR_CODE_UNSUPPORTED_CONFIGURATION, NDIS_STATUS_SUCCESS};
use crate::ndis::{NDIS_HANDLE, NDIS_OBJECT_HEADER, UNICODE_STRING};
use crate::platform::WinPlatform;

/// Longest keyword name (characters).
const MAX_NAME: usize = 32;

/// Read every keyword of the adapter `handle`. Never fails: without a
/// configuration handle every keyword takes its default.
pub fn read_keywords(handle: NDIS_HANDLE, plat: &WinPlatform) -> Keywords {
    let mut obj = NDIS_CONFIGURATION_OBJECT {
        Header: NDIS_OBJECT_HEADER::new(
            object_type::CONFIGURATION_OBJECT,
            1,
            NDIS_SIZEOF_CONFIGURATION_OBJECT_REVISION_1,
        ),
        NdisHandle: handle,
        Flags: 0,
    };
    let mut cfg: NDIS_HANDLE = ptr::null_mut();
    // SAFETY: valid object; the handle is closed below.
    if unsafe { ffi::NdisOpenConfigurationEx(&mut obj, &mut cfg) } != NDIS_STATUS_SUCCESS {
        cn_warn!(
            plat,
            "no configuration handle; using default keyword values"
        );
        return Keywords::defaults();
    }
    let kw = Keywords::read(
        |name| read_one(cfg, name),
        |index, spec, raw, issue| {
            cn_warn!(
                plat,
                "keyword {} {}; using the default {}",
                spec.name,
                issue,
                spec.default
            );
            let value = match raw {
                RawValue::Int(v) => v,
                _ => u32::MAX,
            };
            // SAFETY: variadic call with exactly the two ULONG values announced.
            unsafe {
                ffi::NdisWriteErrorLogEntry(
                    handle,
                    NDIS_ERROR_CODE_UNSUPPORTED_CONFIGURATION,
                    2,
                    index as u32,
                    value,
                )
            };
        },
    );
    // SAFETY: opened above.
    unsafe { ffi::NdisCloseConfiguration(cfg) };
    kw
}

/// One value; strings stay valid until the configuration handle is closed.
fn read_one(cfg: NDIS_HANDLE, name: &str) -> RawValue<'static> {
    let mut wide = [0u16; MAX_NAME];
    let n = name.len().min(MAX_NAME);
    for (d, s) in wide.iter_mut().zip(name.bytes()) {
        *d = u16::from(s);
    }
    let mut key = UNICODE_STRING {
        Length: (n * 2) as u16,
        MaximumLength: (MAX_NAME * 2) as u16,
        Buffer: wide.as_mut_ptr(),
    };
    let mut status = 0;
    let mut param: *mut NDIS_CONFIGURATION_PARAMETER = ptr::null_mut();
    // SAFETY: valid handle, key and out-parameters.
    unsafe {
        ffi::NdisReadConfiguration(
            &mut status,
            &mut param,
            cfg,
            &mut key,
            NDIS_PARAMETER_STRING,
        )
    };
    if status != NDIS_STATUS_SUCCESS || param.is_null() {
        return RawValue::Missing;
    }
    // SAFETY: NDIS returned a parameter that lives until NdisCloseConfiguration.
    unsafe {
        match (*param).ParameterType {
            NDIS_PARAMETER_INTEGER | NDIS_PARAMETER_HEX_INTEGER => {
                RawValue::Int((*param).ParameterData.IntegerData)
            }
            NDIS_PARAMETER_STRING => {
                let s = (*param).ParameterData.StringData;
                if s.Buffer.is_null() {
                    RawValue::Missing
                } else {
                    RawValue::Utf16(core::slice::from_raw_parts(
                        s.Buffer,
                        usize::from(s.Length / 2),
                    ))
                }
            }
            _ => RawValue::Missing,
        }
    }
}
