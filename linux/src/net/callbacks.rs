// SPDX-License-Identifier: GPL-2.0 OR MIT
//! The `cn_rs_*` entry points netdev.c's ops tables and work items call. Each turns the opaque
//! `rs` pointer back into the interface and the C arguments into Rust values, and nothing more.

use core::ffi::{c_int, c_void};

use kernel::prelude::*;

use super::datapath::Xmit;
use super::EnaNet;
use crate::kapi::{RawSkb, SkbPtr};

/// The interface behind a callback's `rs` argument.
fn net<'a>(rs: *mut c_void) -> Option<&'a EnaNet<'a>> {
    // SAFETY: `rs` is the address of the pinned `EnaNet` that created the netdev
    // (`EnaNet::new`); netdev.c passes it only to callbacks of that netdev, and the netdev with
    // all its IRQs and work items is destroyed (`EnaNet::teardown`) before the object is
    // dropped. The object is only ever used through shared references.
    unsafe { rs.cast::<EnaNet<'a>>().as_ref() }
}

fn ret(r: Result) -> c_int {
    match r {
        Ok(()) => 0,
        Err(e) => e.to_errno(),
    }
}

/// A C array argument as a slice (empty for NULL).
///
/// # Safety
/// `p` is NULL or points to `n` valid, exclusively borrowed elements for `'a`.
unsafe fn slice_mut<'a, T>(p: *mut T, n: u32) -> &'a mut [T] {
    if p.is_null() || n == 0 {
        return &mut [];
    }
    // SAFETY: guaranteed by the caller.
    unsafe { core::slice::from_raw_parts_mut(p, n as usize) }
}

#[no_mangle]
extern "C" fn cn_rs_open(rs: *mut c_void) -> c_int {
    net(rs).map_or(-(ENODEV.to_errno()), |n| ret(n.open()))
}

#[no_mangle]
extern "C" fn cn_rs_stop(rs: *mut c_void) -> c_int {
    net(rs).map_or(0, |n| ret(n.stop()))
}

/// 0 = NETDEV_TX_OK, 1 = NETDEV_TX_BUSY.
#[no_mangle]
extern "C" fn cn_rs_xmit(rs: *mut c_void, skb: *mut RawSkb, q: u16) -> c_int {
    // SAFETY: ndo_start_xmit hands the skb to the driver.
    let Some(skb) = (unsafe { SkbPtr::from_raw(skb) }) else {
        return 0;
    };
    match net(rs) {
        Some(n) => match n.xmit(skb, q) {
            Xmit::Done => 0,
            Xmit::Busy => 1,
        },
        None => {
            skb.free(0);
            0
        }
    }
}

#[no_mangle]
extern "C" fn cn_rs_poll(rs: *mut c_void, q: u16, budget: c_int) -> c_int {
    net(rs).map_or(0, |n| n.poll(q, budget))
}

/// rx packets, rx bytes, tx packets, tx bytes, rx dropped, tx dropped.
#[no_mangle]
extern "C" fn cn_rs_stats64(rs: *mut c_void, out: *mut u64) {
    // SAFETY: netdev.c passes a u64[6].
    let out = unsafe { slice_mut(out, 6) };
    if let (Some(n), true) = (net(rs), out.len() == 6) {
        out.copy_from_slice(&n.if_stats());
    }
}

#[no_mangle]
extern "C" fn cn_rs_change_mtu(rs: *mut c_void, mtu: u32) -> c_int {
    net(rs).map_or(-(ENODEV.to_errno()), |n| ret(n.change_mtu(mtu)))
}

#[no_mangle]
extern "C" fn cn_rs_tx_timeout(rs: *mut c_void, q: u16) {
    if let Some(n) = net(rs) {
        n.tx_timeout(q);
    }
}

#[no_mangle]
extern "C" fn cn_rs_mgmt(rs: *mut c_void) {
    if let Some(n) = net(rs) {
        n.management();
    }
}

#[no_mangle]
extern "C" fn cn_rs_health(rs: *mut c_void) {
    if let Some(n) = net(rs) {
        n.health();
    }
}

#[no_mangle]
extern "C" fn cn_rs_reset(rs: *mut c_void) {
    if let Some(n) = net(rs) {
        n.reset();
    }
}

#[no_mangle]
extern "C" fn cn_rs_sset_count(rs: *mut c_void) -> c_int {
    net(rs).map_or(0, |n| c_int::try_from(n.stat_count()).unwrap_or(0))
}

#[no_mangle]
extern "C" fn cn_rs_strings(rs: *mut c_void, buf: *mut u8, count: u32) {
    // SAFETY: ethtool provides count * ETH_GSTRING_LEN (32) bytes.
    let buf = unsafe { slice_mut(buf, count.saturating_mul(32)) };
    if let Some(n) = net(rs) {
        n.stat_strings(buf);
    }
}

#[no_mangle]
extern "C" fn cn_rs_stats(rs: *mut c_void, buf: *mut u64, count: u32) {
    // SAFETY: ethtool provides `count` u64 slots (the count we reported).
    let buf = unsafe { slice_mut(buf, count) };
    if let Some(n) = net(rs) {
        n.stat_values(buf);
    }
}

#[no_mangle]
extern "C" fn cn_rs_rings(rs: *mut c_void, out: *mut u32) {
    // SAFETY: netdev.c passes a u32[4].
    let out = unsafe { slice_mut(out, 4) };
    if let (Some(n), 4) = (net(rs), out.len()) {
        out.copy_from_slice(&n.rings());
    }
}

#[no_mangle]
extern "C" fn cn_rs_set_rings(rs: *mut c_void, tx: u32, rx: u32, msg: *mut u8, len: u32) -> c_int {
    // SAFETY: netdev.c passes a char buffer of `len` bytes for the refusal message.
    let msg = unsafe { slice_mut(msg, len) };
    net(rs).map_or(-(ENODEV.to_errno()), |n| ret(n.set_rings(tx, rx, msg)))
}

#[no_mangle]
extern "C" fn cn_rs_channels(rs: *mut c_void, out: *mut u32) {
    // SAFETY: netdev.c passes a u32[2].
    let out = unsafe { slice_mut(out, 2) };
    if let (Some(n), 2) = (net(rs), out.len()) {
        out.copy_from_slice(&n.channels());
    }
}

#[no_mangle]
extern "C" fn cn_rs_set_channels(rs: *mut c_void, combined: u32) -> c_int {
    net(rs).map_or(-(ENODEV.to_errno()), |n| ret(n.set_channels(combined)))
}

#[no_mangle]
extern "C" fn cn_rs_rss_sizes(rs: *mut c_void, out: *mut u32) {
    // SAFETY: netdev.c passes a u32[2].
    let out = unsafe { slice_mut(out, 2) };
    if let (Some(n), 2) = (net(rs), out.len()) {
        out.copy_from_slice(&n.rss_sizes());
    }
}

#[no_mangle]
extern "C" fn cn_rs_get_rss(
    rs: *mut c_void,
    key: *mut u8,
    key_len: u32,
    ind: *mut u32,
    ind_len: u32,
) {
    // SAFETY: ethtool sized both buffers from our get_rxfh_key_size/indir_size (or NULL).
    let (key, ind) = unsafe { (slice_mut(key, key_len), slice_mut(ind, ind_len)) };
    if let Some(n) = net(rs) {
        n.get_rss(key, ind);
    }
}

#[no_mangle]
extern "C" fn cn_rs_set_rss(
    rs: *mut c_void,
    key: *mut u8,
    key_len: u32,
    ind: *mut u32,
    ind_len: u32,
    msg: *mut u8,
    msg_len: u32,
) -> c_int {
    // SAFETY: as in `cn_rs_get_rss`, NULL meaning "unchanged"; `msg` has `msg_len` bytes.
    let (k, i, msg) = unsafe {
        (
            slice_mut(key, key_len),
            slice_mut(ind, ind_len),
            slice_mut(msg, msg_len),
        )
    };
    let key = (!key.is_null()).then_some(&*k);
    let ind = (!ind.is_null()).then_some(&*i);
    net(rs).map_or(-(ENODEV.to_errno()), |n| ret(n.set_rss(key, ind, msg)))
}

#[no_mangle]
extern "C" fn cn_rs_coalesce(rs: *mut c_void, out: *mut u32) {
    // SAFETY: netdev.c passes a u32[3].
    let out = unsafe { slice_mut(out, 3) };
    if let (Some(n), 3) = (net(rs), out.len()) {
        out.copy_from_slice(&n.coalesce());
    }
}

#[no_mangle]
extern "C" fn cn_rs_set_coalesce(
    rs: *mut c_void,
    tx: u32,
    rx: u32,
    adaptive: u32,
    msg: *mut u8,
    len: u32,
) -> c_int {
    // SAFETY: netdev.c passes a char buffer of `len` bytes for the refusal message.
    let msg = unsafe { slice_mut(msg, len) };
    net(rs).map_or(-(ENODEV.to_errno()), |n| {
        ret(n.set_coalesce(tx, rx, adaptive != 0, msg))
    })
}

#[no_mangle]
extern "C" fn cn_rs_rx_ring_count(rs: *mut c_void) -> u32 {
    net(rs).map_or(1, |n| n.rx_ring_count())
}
