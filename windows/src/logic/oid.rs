//! OID handling without NDIS: the supported-OID table, query answers built
//! from a plain [`AdapterView`], and set requests parsed and validated into
//! [`SetRequest`]s the shim applies. Buffer sizes are checked here, so the
//! shim only copies `BytesWritten`/`BytesNeeded` back into the request.

use core::mem::offset_of;

use super::bytes::{read_u32, Writer};
use super::offload::{
    parse_encapsulation, parse_offload_parameters, EncapsulationRequest, OffloadParamsRequest,
};
use crate::ndis::miniport::object_type;
use crate::ndis::objects::{
    NDIS_INTERRUPT_MODERATION_PARAMETERS, NDIS_SIZEOF_INTERRUPT_MODERATION_PARAMETERS_REVISION_1,
    NDIS_SIZEOF_STATISTICS_INFO_REVISION_1, NDIS_STATISTICS_INFO, NDIS_STATISTICS_INFO_REVISION_1,
};
use crate::ndis::oid::*;
use crate::ndis::status::*;
use crate::ndis::{NDIS_OID, NDIS_STATUS};

/// Why an OID request failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OidError {
    /// Buffer too small; NDIS is told how many bytes are needed.
    TooShort {
        /// `BytesNeeded`.
        needed: u32,
    },
    /// Well-sized but nonsensical contents.
    InvalidData,
    /// Length not a multiple of the element size.
    InvalidLength,
    /// OID (or this direction of it) not supported.
    NotSupported,
    /// More multicast addresses than the list holds.
    MulticastFull,
}

impl OidError {
    /// The NDIS status to complete the request with.
    pub fn status(&self) -> NDIS_STATUS {
        match self {
            OidError::TooShort { .. } => NDIS_STATUS_BUFFER_TOO_SHORT,
            OidError::InvalidData => NDIS_STATUS_INVALID_DATA,
            OidError::InvalidLength => NDIS_STATUS_INVALID_LENGTH,
            OidError::NotSupported => NDIS_STATUS_NOT_SUPPORTED,
            OidError::MulticastFull => NDIS_STATUS_MULTICAST_FULL,
        }
    }

    /// `BytesNeeded` to report.
    pub fn bytes_needed(&self) -> u32 {
        match self {
            OidError::TooShort { needed } => *needed,
            _ => 0,
        }
    }
}

fn short(needed: usize) -> OidError {
    OidError::TooShort {
        needed: u32::try_from(needed).unwrap_or(u32::MAX),
    }
}

/// OIDs the miniport answers, in the order listed in the general attributes.
pub const SUPPORTED_OIDS: [NDIS_OID; 36] = [
    OID_GEN_SUPPORTED_LIST,
    OID_GEN_HARDWARE_STATUS,
    OID_GEN_MEDIA_SUPPORTED,
    OID_GEN_MEDIA_IN_USE,
    OID_GEN_PHYSICAL_MEDIUM,
    OID_GEN_MAXIMUM_LOOKAHEAD,
    OID_GEN_MAXIMUM_FRAME_SIZE,
    OID_GEN_MAXIMUM_TOTAL_SIZE,
    OID_GEN_LINK_SPEED,
    OID_GEN_TRANSMIT_BUFFER_SPACE,
    OID_GEN_RECEIVE_BUFFER_SPACE,
    OID_GEN_TRANSMIT_BLOCK_SIZE,
    OID_GEN_RECEIVE_BLOCK_SIZE,
    OID_GEN_VENDOR_ID,
    OID_GEN_VENDOR_DESCRIPTION,
    OID_GEN_VENDOR_DRIVER_VERSION,
    OID_GEN_DRIVER_VERSION,
    OID_GEN_CURRENT_PACKET_FILTER,
    OID_GEN_CURRENT_LOOKAHEAD,
    OID_GEN_MAC_OPTIONS,
    OID_GEN_MEDIA_CONNECT_STATUS,
    OID_GEN_XMIT_OK,
    OID_GEN_RCV_OK,
    OID_GEN_XMIT_ERROR,
    OID_GEN_RCV_ERROR,
    OID_GEN_RCV_NO_BUFFER,
    OID_GEN_STATISTICS,
    OID_GEN_INTERRUPT_MODERATION,
    OID_GEN_LINK_PARAMETERS,
    OID_GEN_RECEIVE_SCALE_PARAMETERS,
    OID_802_3_PERMANENT_ADDRESS,
    OID_802_3_CURRENT_ADDRESS,
    OID_802_3_MULTICAST_LIST,
    OID_802_3_MAXIMUM_LIST_SIZE,
    OID_TCP_OFFLOAD_PARAMETERS,
    OID_OFFLOAD_ENCAPSULATION,
];

/// Whether interrupt moderation can be switched, and its state.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Moderation {
    /// The device has no moderation.
    NotSupported,
    /// On.
    Enabled,
    /// Off.
    Disabled,
}

/// Everything a query may ask about, as plain data.
#[derive(Clone, Copy, Debug)]
pub struct AdapterView<'a> {
    /// Burned-in MAC.
    pub permanent_mac: [u8; 6],
    /// MAC in use.
    pub current_mac: [u8; 6],
    /// MTU (L3 payload).
    pub mtu: u32,
    /// Link up.
    pub link_up: bool,
    /// Link speed in Mbit/s (0: unknown).
    pub link_speed_mbps: u32,
    /// Current packet filter.
    pub packet_filter: u32,
    /// Current lookahead.
    pub lookahead: u32,
    /// Multicast list.
    pub multicast: &'a [[u8; 6]],
    /// Multicast list capacity.
    pub max_multicast: u32,
    /// Statistics snapshot (see `logic::stats`).
    pub stats: &'a NDIS_STATISTICS_INFO,
    /// Interrupt moderation state.
    pub moderation: Moderation,
    /// A reset is in progress.
    pub resetting: bool,
    /// TX descriptors per queue times queues.
    pub tx_descriptors: u32,
    /// RX buffers in total.
    pub rx_buffers: u32,
    /// Size of one RX buffer.
    pub rx_buffer_size: u32,
    /// NUL-terminated vendor description.
    pub vendor_description: &'a [u8],
    /// Driver version, major << 16 | minor.
    pub vendor_driver_version: u32,
}

/// The NDIS version the miniport registers (6.30).
pub const NDIS_MAJOR: u8 = 6;
/// Minor NDIS version.
pub const NDIS_MINOR: u8 = 30;
/// Ethernet header bytes added to the MTU for frame sizes.
pub const ETH_HEADER: u32 = 14;

impl AdapterView<'_> {
    /// Largest frame including the Ethernet header.
    pub fn frame_size(&self) -> u32 {
        self.mtu.saturating_add(ETH_HEADER)
    }
}

/// 64-bit counters are answered in 32 bits when the caller's buffer only
/// holds 4 bytes (NDIS allows either size for the OID_GEN_* counters).
fn counter(out: &mut [u8], v: u64) -> Result<usize, OidError> {
    if out.len() >= 8 {
        bytes_answer(out, &v.to_le_bytes())
    } else {
        bytes_answer(out, &(v as u32).to_le_bytes())
    }
}

fn u32_answer(out: &mut [u8], v: u32) -> Result<usize, OidError> {
    bytes_answer(out, &v.to_le_bytes())
}

fn bytes_answer(out: &mut [u8], v: &[u8]) -> Result<usize, OidError> {
    let mut w = Writer::new(out);
    w.put(0, v);
    w.finish().map_err(short)
}

/// Answer a query for `oid` into `out`: `Ok(bytes written)`.
pub fn query(oid: NDIS_OID, view: &AdapterView<'_>, out: &mut [u8]) -> Result<usize, OidError> {
    let s = view.stats;
    match oid {
        OID_GEN_SUPPORTED_LIST => {
            let mut w = Writer::new(out);
            for (i, o) in SUPPORTED_OIDS.iter().enumerate() {
                w.u32(i * 4, *o);
            }
            w.finish().map_err(short)
        }
        OID_GEN_HARDWARE_STATUS => u32_answer(
            out,
            if view.resetting {
                NDIS_HARDWARE_STATUS_RESET
            } else {
                NDIS_HARDWARE_STATUS_READY
            },
        ),
        OID_GEN_MEDIA_SUPPORTED | OID_GEN_MEDIA_IN_USE => u32_answer(out, NDIS_MEDIUM_802_3),
        OID_GEN_PHYSICAL_MEDIUM => u32_answer(out, NDIS_PHYSICAL_MEDIUM_802_3),
        OID_GEN_MAXIMUM_LOOKAHEAD
        | OID_GEN_MAXIMUM_TOTAL_SIZE
        | OID_GEN_TRANSMIT_BLOCK_SIZE
        | OID_GEN_RECEIVE_BLOCK_SIZE => u32_answer(out, view.frame_size()),
        OID_GEN_MAXIMUM_FRAME_SIZE => u32_answer(out, view.mtu),
        OID_GEN_LINK_SPEED => u32_answer(out, view.link_speed_mbps.saturating_mul(10_000)),
        OID_GEN_TRANSMIT_BUFFER_SPACE => {
            u32_answer(out, view.tx_descriptors.saturating_mul(view.frame_size()))
        }
        OID_GEN_RECEIVE_BUFFER_SPACE => {
            u32_answer(out, view.rx_buffers.saturating_mul(view.rx_buffer_size))
        }
        OID_GEN_VENDOR_ID => {
            let m = view.permanent_mac;
            u32_answer(out, u32::from_le_bytes([m[0], m[1], m[2], 0]))
        }
        OID_GEN_VENDOR_DESCRIPTION => bytes_answer(out, view.vendor_description),
        OID_GEN_VENDOR_DRIVER_VERSION => u32_answer(out, view.vendor_driver_version),
        OID_GEN_DRIVER_VERSION => bytes_answer(
            out,
            &(u16::from(NDIS_MAJOR) << 8 | u16::from(NDIS_MINOR)).to_le_bytes(),
        ),
        OID_GEN_CURRENT_PACKET_FILTER => u32_answer(out, view.packet_filter),
        OID_GEN_CURRENT_LOOKAHEAD => u32_answer(out, view.lookahead),
        OID_GEN_MAC_OPTIONS => u32_answer(
            out,
            NDIS_MAC_OPTION_COPY_LOOKAHEAD_DATA
                | NDIS_MAC_OPTION_TRANSFERS_NOT_PEND
                | NDIS_MAC_OPTION_NO_LOOPBACK
                | NDIS_MAC_OPTION_FULL_DUPLEX,
        ),
        OID_GEN_MEDIA_CONNECT_STATUS => u32_answer(
            out,
            if view.link_up {
                NDIS_MEDIA_STATE_CONNECTED
            } else {
                NDIS_MEDIA_STATE_DISCONNECTED
            },
        ),
        OID_GEN_XMIT_OK => counter(
            out,
            s.ifHCOutUcastPkts
                .wrapping_add(s.ifHCOutMulticastPkts)
                .wrapping_add(s.ifHCOutBroadcastPkts),
        ),
        OID_GEN_RCV_OK => counter(
            out,
            s.ifHCInUcastPkts
                .wrapping_add(s.ifHCInMulticastPkts)
                .wrapping_add(s.ifHCInBroadcastPkts),
        ),
        OID_GEN_XMIT_ERROR => counter(out, s.ifOutErrors),
        OID_GEN_RCV_ERROR => counter(out, s.ifInErrors),
        OID_GEN_RCV_NO_BUFFER => counter(out, s.ifInDiscards),
        OID_GEN_STATISTICS => write_statistics(out, s),
        OID_GEN_INTERRUPT_MODERATION => {
            type M = NDIS_INTERRUPT_MODERATION_PARAMETERS;
            let mut w = Writer::new(out);
            w.u8(0, object_type::DEFAULT);
            w.u8(1, 1);
            w.u16(
                2,
                NDIS_SIZEOF_INTERRUPT_MODERATION_PARAMETERS_REVISION_1 as u16,
            );
            w.u32(offset_of!(M, Flags), 0);
            w.u32(
                offset_of!(M, InterruptModeration),
                match view.moderation {
                    Moderation::NotSupported => NDIS_INTERRUPT_MODERATION_NOT_SUPPORTED,
                    Moderation::Enabled => NDIS_INTERRUPT_MODERATION_ENABLED,
                    Moderation::Disabled => NDIS_INTERRUPT_MODERATION_DISABLED,
                },
            );
            w.finish().map_err(short)
        }
        OID_802_3_PERMANENT_ADDRESS => bytes_answer(out, &view.permanent_mac),
        OID_802_3_CURRENT_ADDRESS => bytes_answer(out, &view.current_mac),
        OID_802_3_MULTICAST_LIST => {
            let mut w = Writer::new(out);
            for (i, m) in view.multicast.iter().enumerate() {
                w.put(i * 6, m);
            }
            w.finish().map_err(short)
        }
        OID_802_3_MAXIMUM_LIST_SIZE => u32_answer(out, view.max_multicast),
        OID_802_3_RCV_ERROR_ALIGNMENT
        | OID_802_3_XMIT_ONE_COLLISION
        | OID_802_3_XMIT_MORE_COLLISIONS => counter(out, 0),
        _ => Err(OidError::NotSupported),
    }
}

/// Serialise `NDIS_STATISTICS_INFO` field by field.
pub fn write_statistics(out: &mut [u8], s: &NDIS_STATISTICS_INFO) -> Result<usize, OidError> {
    type S = NDIS_STATISTICS_INFO;
    let mut w = Writer::new(out);
    w.u8(0, object_type::DEFAULT);
    w.u8(1, NDIS_STATISTICS_INFO_REVISION_1);
    w.u16(2, NDIS_SIZEOF_STATISTICS_INFO_REVISION_1 as u16);
    w.u32(offset_of!(S, SupportedStatistics), s.SupportedStatistics);
    let fields = [
        (offset_of!(S, ifInDiscards), s.ifInDiscards),
        (offset_of!(S, ifInErrors), s.ifInErrors),
        (offset_of!(S, ifHCInOctets), s.ifHCInOctets),
        (offset_of!(S, ifHCInUcastPkts), s.ifHCInUcastPkts),
        (offset_of!(S, ifHCInMulticastPkts), s.ifHCInMulticastPkts),
        (offset_of!(S, ifHCInBroadcastPkts), s.ifHCInBroadcastPkts),
        (offset_of!(S, ifHCOutOctets), s.ifHCOutOctets),
        (offset_of!(S, ifHCOutUcastPkts), s.ifHCOutUcastPkts),
        (offset_of!(S, ifHCOutMulticastPkts), s.ifHCOutMulticastPkts),
        (offset_of!(S, ifHCOutBroadcastPkts), s.ifHCOutBroadcastPkts),
        (offset_of!(S, ifOutErrors), s.ifOutErrors),
        (offset_of!(S, ifOutDiscards), s.ifOutDiscards),
        (offset_of!(S, ifHCInUcastOctets), s.ifHCInUcastOctets),
        (
            offset_of!(S, ifHCInMulticastOctets),
            s.ifHCInMulticastOctets,
        ),
        (
            offset_of!(S, ifHCInBroadcastOctets),
            s.ifHCInBroadcastOctets,
        ),
        (offset_of!(S, ifHCOutUcastOctets), s.ifHCOutUcastOctets),
        (
            offset_of!(S, ifHCOutMulticastOctets),
            s.ifHCOutMulticastOctets,
        ),
        (
            offset_of!(S, ifHCOutBroadcastOctets),
            s.ifHCOutBroadcastOctets,
        ),
    ];
    for (off, v) in fields {
        w.u64(off, v);
    }
    w.finish().map_err(short)
}

/// A validated set request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SetRequest<'a> {
    /// New packet filter.
    PacketFilter(u32),
    /// New lookahead.
    Lookahead(u32),
    /// New multicast list (whole 6-byte addresses).
    MulticastList(&'a [u8]),
    /// Interrupt moderation on/off.
    InterruptModeration(bool),
    /// RSS parameters (parsed by `logic::rss` with the device's key size).
    ReceiveScale(&'a [u8]),
    /// Offload enable/disable.
    OffloadParameters(OffloadParamsRequest),
    /// Offload encapsulation.
    OffloadEncapsulation(EncapsulationRequest),
    /// Link parameters: accepted and ignored (no PHY to configure).
    LinkParameters,
}

/// Parse a set of `oid` from `buf`: the request and `BytesRead`.
pub fn parse_set<'a>(
    oid: NDIS_OID,
    buf: &'a [u8],
    view: &AdapterView<'_>,
) -> Result<(SetRequest<'a>, usize), OidError> {
    let u32_arg = |buf: &[u8]| read_u32(buf, 0).ok_or(OidError::TooShort { needed: 4 });
    match oid {
        OID_GEN_CURRENT_PACKET_FILTER => {
            let f = u32_arg(buf)?;
            if f & !SUPPORTED_PACKET_FILTERS != 0 {
                return Err(OidError::NotSupported);
            }
            Ok((SetRequest::PacketFilter(f), 4))
        }
        OID_GEN_CURRENT_LOOKAHEAD => {
            let l = u32_arg(buf)?;
            if l > view.frame_size() {
                return Err(OidError::InvalidData);
            }
            Ok((SetRequest::Lookahead(l), 4))
        }
        OID_802_3_MULTICAST_LIST => {
            if !buf.len().is_multiple_of(6) {
                return Err(OidError::InvalidLength);
            }
            if buf.len() / 6 > view.max_multicast as usize {
                return Err(OidError::MulticastFull);
            }
            Ok((SetRequest::MulticastList(buf), buf.len()))
        }
        OID_GEN_INTERRUPT_MODERATION => {
            type M = NDIS_INTERRUPT_MODERATION_PARAMETERS;
            let need = NDIS_SIZEOF_INTERRUPT_MODERATION_PARAMETERS_REVISION_1;
            if buf.len() < need {
                return Err(short(need));
            }
            if buf[0] != object_type::DEFAULT || buf[1] < 1 {
                return Err(OidError::InvalidData);
            }
            if view.moderation == Moderation::NotSupported {
                return Err(OidError::NotSupported);
            }
            let on = match read_u32(buf, offset_of!(M, InterruptModeration)) {
                Some(NDIS_INTERRUPT_MODERATION_ENABLED) => true,
                Some(NDIS_INTERRUPT_MODERATION_DISABLED) => false,
                _ => return Err(OidError::InvalidData),
            };
            Ok((SetRequest::InterruptModeration(on), need))
        }
        OID_GEN_RECEIVE_SCALE_PARAMETERS => Ok((SetRequest::ReceiveScale(buf), buf.len())),
        OID_TCP_OFFLOAD_PARAMETERS => {
            let (p, n) = parse_offload_parameters(buf)?;
            Ok((SetRequest::OffloadParameters(p), n))
        }
        OID_OFFLOAD_ENCAPSULATION => {
            let (e, n) = parse_encapsulation(buf)?;
            Ok((SetRequest::OffloadEncapsulation(e), n))
        }
        OID_GEN_LINK_PARAMETERS => Ok((SetRequest::LinkParameters, buf.len())),
        _ => Err(OidError::NotSupported),
    }
}

#[cfg(test)]
#[path = "oid_tests.rs"]
mod tests;
