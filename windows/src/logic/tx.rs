//! NET_BUFFER → [`TxPacket`]: DMA segments from the scatter-gather list NDIS
//! built, offload requests from the checksum and LSO out-of-band words, and
//! header offsets from the frame's first bytes.
//!
//! NDIS facts used ("Offloading checksum tasks", "Offloading the
//! segmentation of large TCP packets"): the transport has already put the
//! pseudo-header sum in the TCP/UDP checksum field (so `l4_csum_partial`),
//! zeroed the IPv4 header checksum, and for LSOv2 gives the MSS and the TCP
//! header offset; headers of an LSO packet fit in 128 bytes.

use cloudnic_common::nic::{DmaSegment, L3Proto, L4Proto, TxOffload};

use crate::ndis::nbl::{csum_info, lso_info, SCATTER_GATHER_ELEMENT};

/// Header bytes copied for the device and for parsing
/// (`NDIS_LARGE_SEND_OFFLOAD_MAX_HEADER_LENGTH`).
pub const MAX_HEADER: usize = 128;
/// Largest number of segments the shim passes in one packet (stack array).
pub const MAX_SEGMENTS: usize = 64;

const ETHERTYPE_IPV4: u16 = 0x0800;
const ETHERTYPE_IPV6: u16 = 0x86DD;
const ETHERTYPE_VLAN: u16 = 0x8100;
const ETHERTYPE_QINQ: u16 = 0x88A8;
const ETH_HEADER: usize = 14;
const VLAN_TAG: usize = 4;
const IPV4_MIN_HEADER: usize = 20;
const IPV6_HEADER: usize = 40;
const IPV4_DF: u16 = 0x4000;
const IPV4_FRAGMENT_MASK: u16 = 0x3FFF;
const IPPROTO_TCP: u8 = 6;
const IPPROTO_UDP: u8 = 17;
const IPV6_HOP_BY_HOP: u8 = 0;
const IPV6_ROUTING: u8 = 43;
const IPV6_FRAGMENT: u8 = 44;
const IPV6_DEST_OPTS: u8 = 60;
const TCP_MIN_HEADER: usize = 20;
const UDP_HEADER: usize = 8;

/// Protocol layout of a frame, as far as its first bytes tell.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Headers {
    /// L3 protocol.
    pub l3: L3Proto,
    /// Offset of the L3 header (Ethernet + VLAN tags).
    pub l3_offset: usize,
    /// L3 header length (IPv6: with extension headers).
    pub l3_len: usize,
    /// L4 protocol (unknown for non-first fragments).
    pub l4: L4Proto,
    /// L4 header length (TCP: data offset × 4; UDP: 8).
    pub l4_len: usize,
    /// IPv4 don't-fragment bit.
    pub ipv4_df: bool,
}

fn be16(b: &[u8], off: usize) -> Option<u16> {
    Some(u16::from_be_bytes([*b.get(off)?, *b.get(off + 1)?]))
}

/// Parse Ethernet (with up to two VLAN tags), IPv4/IPv6 and TCP/UDP
/// headers from `frame`. Anything unrecognised or truncated stops the walk
/// with what was found so far.
pub fn parse_headers(frame: &[u8]) -> Headers {
    let mut h = Headers::default();
    let mut off = 2 * 6;
    let Some(mut ethertype) = be16(frame, off) else {
        return h;
    };
    off += 2;
    for _ in 0..2 {
        if ethertype != ETHERTYPE_VLAN && ethertype != ETHERTYPE_QINQ {
            break;
        }
        let Some(t) = be16(frame, off + 2) else {
            return h;
        };
        ethertype = t;
        off += VLAN_TAG;
    }
    debug_assert!(off >= ETH_HEADER);
    h.l3_offset = off;
    let proto = match ethertype {
        ETHERTYPE_IPV4 => {
            let Some(&vihl) = frame.get(off) else {
                return h;
            };
            let ihl = usize::from(vihl & 0x0F) * 4;
            if vihl >> 4 != 4 || ihl < IPV4_MIN_HEADER {
                return h;
            }
            h.l3 = L3Proto::Ipv4;
            h.l3_len = ihl;
            let frag = be16(frame, off + 6).unwrap_or(0);
            h.ipv4_df = frag & IPV4_DF != 0;
            if frag & IPV4_FRAGMENT_MASK != 0 {
                return h;
            }
            frame.get(off + 9).copied()
        }
        ETHERTYPE_IPV6 => {
            h.l3 = L3Proto::Ipv6;
            let mut next = frame.get(off + 6).copied();
            let mut len = IPV6_HEADER;
            // Walk the extension headers that may precede TCP/UDP.
            for _ in 0..8 {
                match next {
                    Some(IPV6_HOP_BY_HOP | IPV6_ROUTING | IPV6_DEST_OPTS) => {
                        let Some(&ext_len) = frame.get(off + len + 1) else {
                            return h;
                        };
                        next = frame.get(off + len).copied();
                        len += (usize::from(ext_len) + 1) * 8;
                    }
                    Some(IPV6_FRAGMENT) => {
                        let fo = be16(frame, off + len + 2).unwrap_or(1);
                        next = frame.get(off + len).copied();
                        len += 8;
                        if fo & 0xFFF8 != 0 {
                            h.l3_len = len;
                            return h;
                        }
                    }
                    _ => break,
                }
            }
            h.l3_len = len;
            next
        }
        _ => return h,
    };
    let l4 = off + h.l3_len;
    match proto {
        Some(IPPROTO_TCP) => {
            h.l4 = L4Proto::Tcp;
            h.l4_len = frame.get(l4 + 12).map_or(0, |b| usize::from(b >> 4) * 4);
        }
        Some(IPPROTO_UDP) => {
            h.l4 = L4Proto::Udp;
            h.l4_len = UDP_HEADER;
        }
        _ => {}
    }
    h
}

/// Why a NET_BUFFER cannot become a TX packet (the shim completes it with
/// `NDIS_STATUS_INVALID_PACKET` and counts an output error).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TxBuildError {
    /// More scatter-gather elements than the device (or the shim) takes.
    TooManySegments,
    /// Inconsistent lengths or offload request (e.g. LSOv1, MSS above
    /// 65535, headers shorter than the offsets NDIS gave).
    Invalid,
}

/// Segments written into the caller's array and the offload request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TxBuild {
    /// Segments used in the output array.
    pub segments: usize,
    /// Offload request for the core.
    pub offload: TxOffload,
}

/// Build the DMA segments and offloads of one NET_BUFFER.
///
/// `sg` is NDIS's list for the frame (clipped to `data_len`), `header` the
/// frame's first bytes (up to [`MAX_HEADER`]), `csum_word`/`lso_word` the
/// NBL's `TcpIpChecksumNetBufferListInfo` / `TcpLargeSendNetBufferListInfo`.
pub fn build(
    sg: &[SCATTER_GATHER_ELEMENT],
    data_len: u32,
    header: &[u8],
    csum_word: usize,
    lso_word: usize,
    max_segments: usize,
    out: &mut [DmaSegment],
) -> Result<TxBuild, TxBuildError> {
    let limit = max_segments.min(out.len());
    let mut remaining = data_len;
    let mut n = 0usize;
    for e in sg {
        if remaining == 0 {
            break;
        }
        let len = e.Length.min(remaining);
        if len == 0 {
            continue;
        }
        let slot = out
            .get_mut(n)
            .filter(|_| n < limit)
            .ok_or(TxBuildError::TooManySegments)?;
        *slot = DmaSegment {
            addr: e.Address as u64,
            len,
        };
        n += 1;
        remaining -= len;
    }
    if remaining != 0 || n == 0 {
        return Err(TxBuildError::Invalid);
    }
    let offload = offload_request(header, data_len, csum_word, lso_word)?;
    Ok(TxBuild {
        segments: n,
        offload,
    })
}

/// The offload request of a frame from its NBL info words.
pub fn offload_request(
    header: &[u8],
    data_len: u32,
    csum_word: usize,
    lso_word: usize,
) -> Result<TxOffload, TxBuildError> {
    let h = parse_headers(header);
    let mss = lso_word & lso_info::MSS_MASK;
    if mss != 0 {
        if lso_word & lso_info::TYPE_V2 == 0 {
            return Err(TxBuildError::Invalid);
        }
        let tcp_off =
            (lso_word >> lso_info::TCP_HEADER_OFFSET_SHIFT) & lso_info::TCP_HEADER_OFFSET_MASK;
        let want = if lso_word & lso_info::IPV6 != 0 {
            L3Proto::Ipv6
        } else {
            L3Proto::Ipv4
        };
        let l4_len = header
            .get(tcp_off + 12)
            .map_or(0, |b| usize::from(b >> 4) * 4);
        if h.l3 != want
            || tcp_off <= h.l3_offset
            || l4_len < TCP_MIN_HEADER
            || tcp_off + l4_len > header.len()
            || tcp_off + l4_len >= data_len as usize
        {
            return Err(TxBuildError::Invalid);
        }
        return Ok(TxOffload {
            l3: want,
            l4: L4Proto::Tcp,
            l3_offset: narrow(h.l3_offset)?,
            l3_len: narrow(tcp_off - h.l3_offset)?,
            l4_len: narrow(l4_len)?,
            ipv4_csum: want == L3Proto::Ipv4,
            l4_csum: true,
            l4_csum_partial: true,
            tso_mss: u16::try_from(mss).map_err(|_| TxBuildError::Invalid)?,
            ipv4_df: h.ipv4_df,
            // 802.1Q tags are not mapped from the NBL (Ieee8021QNetBufferListInfo) yet.
            vlan_tci: None,
        });
    }
    let is_v4 = csum_word & csum_info::TX_IS_IPV4 != 0;
    let is_v6 = csum_word & csum_info::TX_IS_IPV6 != 0;
    let tcp = csum_word & csum_info::TX_TCP_CHECKSUM != 0;
    let udp = csum_word & csum_info::TX_UDP_CHECKSUM != 0;
    let ip = csum_word & csum_info::TX_IP_HEADER_CHECKSUM != 0;
    if !(is_v4 || is_v6) || !(tcp || udp || ip) {
        return Ok(TxOffload {
            l3: h.l3,
            l3_offset: narrow(h.l3_offset)?,
            ipv4_df: h.ipv4_df,
            ..Default::default()
        });
    }
    let l3 = if is_v4 { L3Proto::Ipv4 } else { L3Proto::Ipv6 };
    if h.l3 != l3 || (tcp && udp) {
        return Err(TxBuildError::Invalid);
    }
    let mut l3_len = h.l3_len;
    let mut l4_len = 0;
    if tcp {
        let given = (csum_word >> csum_info::TX_TCP_HEADER_OFFSET_SHIFT)
            & csum_info::TX_TCP_HEADER_OFFSET_MASK;
        if given != 0 {
            l3_len = given
                .checked_sub(h.l3_offset)
                .ok_or(TxBuildError::Invalid)?;
        }
        l4_len = header
            .get(h.l3_offset + l3_len + 12)
            .map_or(TCP_MIN_HEADER, |b| usize::from(b >> 4) * 4);
    } else if udp {
        l4_len = UDP_HEADER;
    }
    Ok(TxOffload {
        l3,
        l4: if tcp {
            L4Proto::Tcp
        } else if udp {
            L4Proto::Udp
        } else {
            L4Proto::Unknown
        },
        l3_offset: narrow(h.l3_offset)?,
        l3_len: narrow(l3_len)?,
        l4_len: narrow(l4_len)?,
        ipv4_csum: ip && is_v4,
        l4_csum: tcp || udp,
        l4_csum_partial: tcp || udp,
        tso_mss: 0,
        ipv4_df: h.ipv4_df,
        vlan_tci: None,
    })
}

fn narrow(v: usize) -> Result<u16, TxBuildError> {
    u16::try_from(v).map_err(|_| TxBuildError::Invalid)
}

/// The `TcpLargeSendNetBufferListInfo` word to leave on a completed LSOv2
/// NBL: type LSOv2, everything else zero ("LsoV2TransmitComplete").
pub fn lso_v2_completion_word(lso_word: usize) -> Option<usize> {
    (lso_word & lso_info::MSS_MASK != 0 && lso_word & lso_info::TYPE_V2 != 0)
        .then_some(lso_info::TYPE_V2)
}

#[cfg(test)]
#[path = "tx_tests.rs"]
pub(crate) mod tests;
