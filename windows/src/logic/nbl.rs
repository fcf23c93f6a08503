//! Walking NDIS packet structures: NBL chains, the NET_BUFFERs of an NBL,
//! a NET_BUFFER's MDL chain, scatter-gather lists, and the NBL info words.
//! No NDIS calls: host tests build these structures from our declarations.
//!
//! All functions take raw pointers to structures NDIS (or a test) owns and
//! are `unsafe`: the caller guarantees the pointers are valid and not
//! concurrently modified for the duration of the call.

use core::ffi::c_void;
use core::ptr;

use crate::ndis::nbl::{
    info, MDL, MDL_MAPPED_TO_SYSTEM_VA, MDL_SOURCE_IS_NONPAGED_POOL, NET_BUFFER, NET_BUFFER_LIST,
    SCATTER_GATHER_ELEMENT, SCATTER_GATHER_LIST,
};

/// Iterator over an NBL chain that reads each `Next` *before* yielding the
/// NBL, so the body may relink the NBL it was given.
pub struct NblIter(*mut NET_BUFFER_LIST);

/// Iterate the chain starting at `first`.
///
/// # Safety
/// Every NBL reachable through `Next` must be valid while iterating.
pub unsafe fn nbls(first: *mut NET_BUFFER_LIST) -> NblIter {
    NblIter(first)
}

impl Iterator for NblIter {
    type Item = *mut NET_BUFFER_LIST;
    fn next(&mut self) -> Option<Self::Item> {
        let cur = self.0;
        if cur.is_null() {
            return None;
        }
        // SAFETY: the creator of the iterator guaranteed validity.
        self.0 = unsafe { (*cur).Next };
        Some(cur)
    }
}

/// Iterator over the NET_BUFFERs of one NBL (same read-ahead rule).
pub struct NbIter(*mut NET_BUFFER);

/// Iterate the NET_BUFFERs of `nbl`.
///
/// # Safety
/// `nbl` and its NET_BUFFER chain must be valid while iterating.
pub unsafe fn net_buffers(nbl: *mut NET_BUFFER_LIST) -> NbIter {
    // SAFETY: caller guarantees `nbl` is valid.
    NbIter(unsafe { (*nbl).FirstNetBuffer })
}

impl Iterator for NbIter {
    type Item = *mut NET_BUFFER;
    fn next(&mut self) -> Option<Self::Item> {
        let cur = self.0;
        if cur.is_null() {
            return None;
        }
        // SAFETY: the creator of the iterator guaranteed validity.
        self.0 = unsafe { (*cur).Next };
        Some(cur)
    }
}

/// The elements of a scatter-gather list.
///
/// # Safety
/// `sgl` must point to a list with `NumberOfElements` valid elements that
/// outlives `'a`.
pub unsafe fn sg_elements<'a>(sgl: *const SCATTER_GATHER_LIST) -> &'a [SCATTER_GATHER_ELEMENT] {
    if sgl.is_null() {
        return &[];
    }
    // SAFETY: caller guarantees the list and its elements are valid.
    unsafe {
        let n = (*sgl).NumberOfElements as usize;
        core::slice::from_raw_parts(
            ptr::addr_of!((*sgl).Elements).cast::<SCATTER_GATHER_ELEMENT>(),
            n,
        )
    }
}

/// System VA of an MDL's data if the MDL is mapped (pool memory or already
/// mapped); `None` means the caller must map it (NdisGetDataBuffer).
///
/// # Safety
/// `mdl` must be a valid MDL.
pub unsafe fn mdl_va(mdl: *const MDL) -> Option<*const u8> {
    // SAFETY: caller guarantees `mdl` is valid.
    let m = unsafe { &*mdl };
    (m.MdlFlags & (MDL_MAPPED_TO_SYSTEM_VA | MDL_SOURCE_IS_NONPAGED_POOL) != 0
        && !m.MappedSystemVa.is_null())
    .then_some(m.MappedSystemVa as *const u8)
}

/// Copy the first bytes of a NET_BUFFER's data (from `CurrentMdl` +
/// `CurrentMdlOffset`, at most `DataLength`) into `out`. Returns the count,
/// or `None` if an MDL on the way is not mapped.
///
/// # Safety
/// `nb` and its MDL chain must be valid; mapped MDLs must describe
/// `ByteCount` readable bytes at their VA.
pub unsafe fn copy_data(nb: *const NET_BUFFER, out: &mut [u8]) -> Option<usize> {
    // SAFETY: caller guarantees validity of `nb` and the MDLs.
    unsafe {
        let mut want = out.len().min((*nb).DataLength);
        let mut mdl = (*nb).CurrentMdl as *const MDL;
        let mut skip = (*nb).CurrentMdlOffset as usize;
        let mut done = 0usize;
        while want > 0 && !mdl.is_null() {
            let count = (*mdl).ByteCount as usize;
            if skip < count {
                let va = mdl_va(mdl)?;
                let n = (count - skip).min(want);
                ptr::copy_nonoverlapping(va.add(skip), out.as_mut_ptr().add(done), n);
                done += n;
                want -= n;
                skip = 0;
            } else {
                skip -= count;
            }
            mdl = (*mdl).Next;
        }
        Some(done)
    }
}

/// Read NBL info word `idx` (`NET_BUFFER_LIST_INFO`).
///
/// # Safety
/// `nbl` must be valid.
pub unsafe fn info_word(nbl: *const NET_BUFFER_LIST, idx: usize) -> usize {
    if idx >= info::MAX {
        return 0;
    }
    // SAFETY: caller guarantees `nbl` is valid; idx is in bounds.
    unsafe { (*nbl).NetBufferListInfo[idx] as usize }
}

/// Write NBL info word `idx`.
///
/// # Safety
/// `nbl` must be valid and owned by the caller.
pub unsafe fn set_info_word(nbl: *mut NET_BUFFER_LIST, idx: usize, v: usize) {
    if idx < info::MAX {
        // SAFETY: caller guarantees `nbl` is valid and owned; idx in bounds.
        unsafe { (*nbl).NetBufferListInfo[idx] = v as *mut c_void };
    }
}

/// Point a single-MDL receive NET_BUFFER at `len` bytes starting `offset`
/// bytes into its buffer.
///
/// # Safety
/// `nb` must be a valid NET_BUFFER owned by the caller.
pub unsafe fn set_rx_data(nb: *mut NET_BUFFER, offset: u32, len: u32) {
    // SAFETY: caller guarantees ownership.
    unsafe {
        (*nb).CurrentMdl = (*nb).MdlChain;
        (*nb).CurrentMdlOffset = offset;
        (*nb).DataOffset = offset;
        (*nb).DataLength = len as usize;
    }
}

/// Describe a received packet spanning several buffers: link the buffers'
/// MDLs (first = the NET_BUFFER's own) and trim each `ByteCount` to the
/// bytes it holds, so the chain reads as one frame of `sum(len)` bytes
/// starting `offset` bytes into the first buffer. Returns the frame length.
///
/// # Safety
/// `nb` and every MDL must be valid and owned by the caller; `frags[0].0`
/// must be `nb`'s MDL. [`reset_rx_mdl`] undoes this per buffer.
pub unsafe fn set_rx_chain(nb: *mut NET_BUFFER, offset: u32, frags: &[(*mut MDL, u32)]) -> u32 {
    let mut total = 0u32;
    for (i, &(mdl, len)) in frags.iter().enumerate() {
        let next = frags.get(i + 1).map_or(ptr::null_mut(), |f| f.0);
        // SAFETY: caller guarantees ownership of every MDL.
        unsafe {
            (*mdl).ByteCount = if i == 0 {
                offset.saturating_add(len)
            } else {
                len
            };
            (*mdl).Next = next;
        }
        total = total.saturating_add(len);
    }
    // SAFETY: caller guarantees ownership of `nb`.
    unsafe { set_rx_data(nb, offset, total) };
    total
}

/// Restore an RX buffer's MDL after [`set_rx_chain`]: unlinked, full size.
///
/// # Safety
/// `mdl` must be valid and owned by the caller.
pub unsafe fn reset_rx_mdl(mdl: *mut MDL, capacity: u32) {
    // SAFETY: caller guarantees ownership.
    unsafe {
        (*mdl).Next = ptr::null_mut();
        (*mdl).ByteCount = capacity;
    }
}

#[cfg(test)]
#[path = "nbl_tests.rs"]
mod tests;
