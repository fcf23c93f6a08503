//! NDIS 6.30 declarations, written from Microsoft's public documentation
//! (learn.microsoft.com, "NDIS reference") and checked against the WDK's
//! published header layouts. wdk-sys has no NDIS subset (reference/rust-os.md
//! §C), so these are ours.
//!
//! Every structure is `#[repr(C)]` with a compile-time size assert for
//! x86_64 next to it. Where NDIS defines a revision size as
//! `RTL_SIZEOF_THROUGH_FIELD(T, LastField)`, the constant here is computed
//! the same way ([`size_through!`]) *and* asserted equal to the number worked
//! out by hand from the documented field list, so a wrong field type or
//! missing padding fails the build.
//!
//! Only what the miniport uses is declared. Names keep NDIS's spelling so a
//! reader can search Microsoft's docs for them.
#![allow(non_camel_case_types, non_snake_case, clippy::upper_case_acronyms)]

use core::ffi::c_void;

pub mod miniport;
pub mod nbl;
pub mod objects;
pub mod oid;
pub mod status;

#[cfg(target_os = "windows")]
pub mod ffi;

/// `NDIS_HANDLE`: an opaque pointer.
pub type NDIS_HANDLE = *mut c_void;
/// `NDIS_STATUS` (an `NTSTATUS`-compatible `int`).
pub type NDIS_STATUS = i32;
/// `NDIS_OID`.
pub type NDIS_OID = u32;
/// `NDIS_PORT_NUMBER`.
pub type NDIS_PORT_NUMBER = u32;
/// `BOOLEAN` (one byte, 0 or 1).
pub type BOOLEAN = u8;
/// `NDIS_PHYSICAL_ADDRESS` / `PHYSICAL_ADDRESS` (`LARGE_INTEGER`).
pub type PHYSICAL_ADDRESS = i64;
/// `KSPIN_LOCK` (`ULONG_PTR`).
pub type KSPIN_LOCK = usize;
/// `KIRQL`.
pub type KIRQL = u8;

/// `RTL_SIZEOF_THROUGH_FIELD(T, field)`: offset of `field` plus its size.
/// NDIS revision sizes (`NDIS_SIZEOF_*_REVISION_n`) are defined this way.
#[macro_export]
macro_rules! size_through {
    ($t:ty, $field:ident) => {{
        // Size of the field's type, taken from a pointer without a value.
        const fn field_size<T, F>(_: *const T, f: fn(*const T) -> *const F) -> usize {
            let _ = f;
            core::mem::size_of::<F>()
        }
        core::mem::offset_of!($t, $field)
            + field_size::<$t, _>(core::ptr::null(), |p| {
                // SAFETY: only the field's address is formed, never read.
                unsafe { core::ptr::addr_of!((*p).$field) }
            })
    }};
}

/// `NDIS_OBJECT_HEADER`: type, revision and size at the start of every
/// NDIS 6 structure (4 bytes).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct NDIS_OBJECT_HEADER {
    /// `NDIS_OBJECT_TYPE_*`.
    pub Type: u8,
    /// Structure revision.
    pub Revision: u8,
    /// `NDIS_SIZEOF_*_REVISION_n`.
    pub Size: u16,
}
const _: () = assert!(core::mem::size_of::<NDIS_OBJECT_HEADER>() == 4);

impl NDIS_OBJECT_HEADER {
    /// A header for `ty`, revision `rev`, `size` bytes (checked to fit u16).
    pub const fn new(ty: u8, rev: u8, size: usize) -> Self {
        assert!(size <= u16::MAX as usize);
        NDIS_OBJECT_HEADER {
            Type: ty,
            Revision: rev,
            Size: size as u16,
        }
    }
}

/// `UNICODE_STRING` / `NDIS_STRING` (16 bytes on x64).
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct UNICODE_STRING {
    /// Length in bytes, without a terminator.
    pub Length: u16,
    /// Buffer size in bytes.
    pub MaximumLength: u16,
    /// UTF-16 code units.
    pub Buffer: *mut u16,
}
const _: () = assert!(core::mem::size_of::<UNICODE_STRING>() == 16);

impl UNICODE_STRING {
    /// A counted string over a static UTF-16 array (no terminator needed).
    pub const fn from_static(s: &'static [u16]) -> Self {
        assert!(s.len() * 2 <= u16::MAX as usize);
        UNICODE_STRING {
            Length: (s.len() * 2) as u16,
            MaximumLength: (s.len() * 2) as u16,
            Buffer: s.as_ptr() as *mut u16,
        }
    }
}

/// ASCII → UTF-16 at compile time, for `NDIS_STRING` keyword names.
pub const fn utf16<const N: usize>(s: &str) -> [u16; N] {
    let b = s.as_bytes();
    assert!(b.len() == N);
    let mut out = [0u16; N];
    let mut i = 0;
    while i < N {
        assert!(b[i] < 0x80);
        out[i] = b[i] as u16;
        i += 1;
    }
    out
}

/// `GUID` (16 bytes, 4-byte aligned).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct GUID {
    /// First group.
    pub Data1: u32,
    /// Second group.
    pub Data2: u16,
    /// Third group.
    pub Data3: u16,
    /// Last eight bytes.
    pub Data4: [u8; 8],
}
const _: () = assert!(core::mem::size_of::<GUID>() == 16);

/// `PROCESSOR_NUMBER`: a group-relative processor (4 bytes). NDIS 6.20+
/// RSS indirection tables are arrays of these.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord)]
pub struct PROCESSOR_NUMBER {
    /// Processor group.
    pub Group: u16,
    /// Processor within the group.
    pub Number: u8,
    /// Zero.
    pub Reserved: u8,
}
const _: () = assert!(core::mem::size_of::<PROCESSOR_NUMBER>() == 4);

/// `GROUP_AFFINITY` (16 bytes), for `NdisMQueueDpcEx`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct GROUP_AFFINITY {
    /// `KAFFINITY` processor mask within `Group`.
    pub Mask: usize,
    /// Processor group.
    pub Group: u16,
    /// Zero.
    pub Reserved: [u16; 3],
}
const _: () = assert!(core::mem::size_of::<GROUP_AFFINITY>() == 16);

#[cfg(test)]
mod tests {
    use super::*;

    #[repr(C)]
    struct Probe {
        a: u8,
        b: u64,
        c: u16,
    }

    #[test]
    fn size_through_matches_rtl_definition() {
        assert_eq!(size_through!(Probe, a), 1);
        assert_eq!(size_through!(Probe, b), 16);
        assert_eq!(size_through!(Probe, c), 18);
        assert_eq!(core::mem::size_of::<Probe>(), 24);
    }

    #[test]
    fn utf16_and_counted_strings() {
        static K: [u16; 4] = utf16("*RSS");
        let s = UNICODE_STRING::from_static(&K);
        assert_eq!(s.Length, 8);
        assert_eq!(K[0], u16::from(b'*'));
    }
}
