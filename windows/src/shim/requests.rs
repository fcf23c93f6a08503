//! `MiniportOidRequest`: copy the request's buffer into logic::oid and
//! apply what it decides. Every request completes synchronously.

use core::sync::atomic::Ordering;

use cloudnic_common::nic::{ModerationConfig, NetDevice, RssConfig};
use cloudnic_common::{cn_warn, Error};

use super::adapter::{Adapter, MAX_MULTICAST};
use crate::logic::oid::{self, AdapterView, Moderation, OidError, SetRequest};
use crate::logic::rss;
use crate::logic::stats::{statistics, DeviceTotals};
use crate::ndis::objects::{NDIS_OID_REQUEST, NDIS_STATISTICS_INFO};
use crate::ndis::oid::*;
use crate::ndis::status::*;
use crate::ndis::{NDIS_HANDLE, NDIS_STATUS};

/// NUL-terminated OID_GEN_VENDOR_DESCRIPTION.
const VENDOR_DESCRIPTION: &[u8] =
    b"cloudnic Elastic Network Adapter (ENA) / Azure Network Adapter (MANA)\0";

/// `MiniportOidRequest` (PASSIVE_LEVEL).
pub unsafe extern "system" fn oid_request(
    ctx: NDIS_HANDLE,
    req: *mut NDIS_OID_REQUEST,
) -> NDIS_STATUS {
    // SAFETY: NDIS passes our context and a valid request.
    let (a, r) = unsafe { (Adapter::from_ctx(ctx), &mut *req) };
    // SAFETY: query and set share the INFORMATION layout.
    let info = unsafe { &mut r.DATA.INFORMATION };
    let len = info.InformationBufferLength as usize;
    let buf: &mut [u8] = if info.InformationBuffer.is_null() || len == 0 {
        &mut []
    } else {
        // SAFETY: NDIS guarantees `len` bytes at the buffer.
        unsafe { core::slice::from_raw_parts_mut(info.InformationBuffer.cast::<u8>(), len) }
    };
    let mut multicast = [[0u8; 6]; MAX_MULTICAST];
    let (filter, mc_len) = a.cell.state(|s| {
        multicast[..s.filter.count].copy_from_slice(&s.filter.multicast[..s.filter.count]);
        (s.filter.packet_filter, s.filter.count)
    });
    let stats = stats_snapshot(a);
    let view = AdapterView {
        permanent_mac: a.info.mac,
        current_mac: a.info.mac,
        mtu: a.qcfg.mtu,
        link_up: a.link.load(Ordering::Acquire) != 2,
        link_speed_mbps: a.info.link_speed_mbps,
        packet_filter: filter,
        lookahead: a.lookahead.load(Ordering::Relaxed),
        multicast: &multicast[..mc_len],
        max_multicast: MAX_MULTICAST as u32,
        stats: &stats,
        moderation: if a.moderation_on == ModerationConfig::default() {
            Moderation::NotSupported
        } else if a.moderation_enabled.load(Ordering::Relaxed) {
            Moderation::Enabled
        } else {
            Moderation::Disabled
        },
        resetting: a.reset_reason.load(Ordering::Acquire) != super::adapter::NO_RESET,
        tx_descriptors: a.qcfg.tx_ring_size * u32::from(a.qcfg.num_queues),
        rx_buffers: a.qcfg.rx_ring_size * u32::from(a.qcfg.num_queues),
        rx_buffer_size: a.rx_buf_size,
        vendor_description: VENDOR_DESCRIPTION,
        vendor_driver_version: u32::from(crate::DRIVER_VERSION.0) << 16
            | u32::from(crate::DRIVER_VERSION.1),
    };
    let result = match r.RequestType {
        NDIS_REQUEST_QUERY_INFORMATION | NDIS_REQUEST_QUERY_STATISTICS => {
            oid::query(info.Oid, &view, buf)
        }
        NDIS_REQUEST_SET_INFORMATION => match oid::parse_set(info.Oid, buf, &view) {
            Ok((req, read)) => apply(a, req).map(|()| read),
            Err(e) => Err(e),
        },
        _ => Err(OidError::NotSupported),
    };
    match result {
        Ok(n) => {
            info.BytesWrittenOrRead = n as u32;
            info.BytesNeeded = 0;
            NDIS_STATUS_SUCCESS
        }
        Err(e) => {
            info.BytesWrittenOrRead = 0;
            info.BytesNeeded = e.bytes_needed();
            e.status()
        }
    }
}

/// Statistics from the device's counters (read under the datapath lock)
/// and the shim's.
fn stats_snapshot(a: &Adapter) -> NDIS_STATISTICS_INFO {
    let mut totals = DeviceTotals::default();
    a.cell
        .datapath(|d, _| d.for_each_stat(&mut |n, v| totals.add(n, v)));
    statistics(&totals, &a.counters.snapshot())
}

fn config_error(a: &Adapter, what: &str, e: Error) -> OidError {
    cn_warn!(&a.plat, "{} refused by the device: {}", what, e);
    OidError::InvalidData
}

fn apply(a: &Adapter, req: SetRequest<'_>) -> Result<(), OidError> {
    match req {
        SetRequest::PacketFilter(f) => a.cell.state(|s| s.filter.packet_filter = f),
        SetRequest::Lookahead(l) => a.lookahead.store(l, Ordering::Relaxed),
        SetRequest::MulticastList(raw) => a.cell.state(|s| {
            s.filter.count = 0;
            for (slot, mac) in s.filter.multicast.iter_mut().zip(raw.chunks_exact(6)) {
                slot.copy_from_slice(mac);
                s.filter.count += 1;
            }
        }),
        SetRequest::InterruptModeration(on) => {
            let m = if on {
                a.moderation_on
            } else {
                ModerationConfig::default()
            };
            let r = a
                .cell
                .control(|slot| slot.as_mut().map(|d| d.set_moderation(m)));
            super::interrupts::requeue_all(a);
            match r {
                Some(Ok(())) => a.moderation_enabled.store(on, Ordering::Relaxed),
                Some(Err(e)) => return Err(config_error(a, "interrupt moderation", e)),
                None => return Err(OidError::NotSupported),
            }
        }
        SetRequest::ReceiveScale(raw) => set_rss(a, raw)?,
        SetRequest::OffloadParameters(p) => {
            let new = a.offloads().apply(&p, &a.hw_offload)?;
            a.offload.store(new.to_bits(), Ordering::Relaxed);
            super::control::report_offload(a);
        }
        SetRequest::OffloadEncapsulation(_) | SetRequest::LinkParameters => {}
    }
    Ok(())
}

/// Apply NDIS RSS parameters: hash types to the receive path, key and
/// CPU table (mapped to queues) to the device.
fn set_rss(a: &Adapter, raw: &[u8]) -> Result<(), OidError> {
    if !a.kw.rss {
        return Err(OidError::NotSupported);
    }
    let req = rss::parse_parameters(raw, a.info.rss_key_size as usize)?;
    let mut table = [0u16; 512];
    let size = (a.info.rss_table_size as usize).min(table.len());
    let table_slice = if req.disable {
        // Everything to queue 0.
        Some(&table[..size])
    } else if let Some(t) = req.table {
        rss::cpu_table_to_queues(&t, a.qcfg.num_queues, &mut table[..size])?;
        Some(&table[..size])
    } else {
        None
    };
    let cfg = RssConfig {
        key: req.key,
        table: table_slice.filter(|t| !t.is_empty()),
    };
    if cfg.key.is_some() || cfg.table.is_some() {
        let r = a
            .cell
            .control(|slot| slot.as_mut().map(|d| d.set_rss(&cfg)));
        super::interrupts::requeue_all(a);
        match r {
            Some(Ok(())) => {}
            Some(Err(e)) => return Err(config_error(a, "RSS", e)),
            None => return Err(OidError::NotSupported),
        }
    }
    if req.disable {
        a.rss_types.store(0, Ordering::Relaxed);
    } else if let Some(t) = req.hash_types {
        a.rss_types.store(t, Ordering::Relaxed);
    }
    Ok(())
}
