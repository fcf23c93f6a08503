//! Frame parsing: Ethernet II (with at most one 802.1Q tag), IPv4 (with
//! options), IPv6 (extension headers detected, not walked), TCP and UDP.
//!
//! The parser only locates headers and reads the fields a NIC uses (offsets,
//! addresses, ports, fragment state); it never allocates and never trusts a
//! length field beyond the bytes present.

/// Ethernet header length without a tag.
pub const ETH_HLEN: usize = 14;
/// Length of one 802.1Q tag.
pub const VLAN_HLEN: usize = 4;
/// EtherType IPv4.
pub const ETHERTYPE_IPV4: u16 = 0x0800;
/// EtherType IPv6.
pub const ETHERTYPE_IPV6: u16 = 0x86DD;
/// EtherType 802.1Q VLAN tag.
pub const ETHERTYPE_VLAN: u16 = 0x8100;
/// EtherType 802.1ad service tag (treated like 802.1Q for the one tag we parse).
pub const ETHERTYPE_QINQ: u16 = 0x88A8;
/// IP protocol number TCP.
pub const IPPROTO_TCP: u8 = 6;
/// IP protocol number UDP.
pub const IPPROTO_UDP: u8 = 17;
/// Minimum IPv4 header length.
pub const IPV4_MIN_HLEN: usize = 20;
/// IPv6 fixed header length.
pub const IPV6_HLEN: usize = 40;
/// TCP header without options.
pub const TCP_MIN_HLEN: usize = 20;
/// UDP header length.
pub const UDP_HLEN: usize = 8;
/// Offset of the checksum within a TCP header.
pub const TCP_CSUM_OFFSET: usize = 16;
/// Offset of the checksum within a UDP header.
pub const UDP_CSUM_OFFSET: usize = 6;
/// Offset of the checksum within an IPv4 header.
pub const IPV4_CSUM_OFFSET: usize = 10;

/// IPv6 next-header values that are extension headers (RFC 8200 §4, plus
/// ESP/AH/mobility/HIP/shim6 which also precede or replace the upper layer).
const IPV6_EXT_HEADERS: [u8; 9] = [0, 43, 44, 50, 51, 60, 135, 139, 140];

/// The network layer of a frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum L3 {
    /// IPv4.
    V4 {
        /// Header length in bytes (options included).
        hdr_len: usize,
        /// Source address.
        src: [u8; 4],
        /// Destination address.
        dst: [u8; 4],
        /// Protocol field.
        proto: u8,
        /// Total length field.
        total_len: u16,
        /// Identification field.
        id: u16,
        /// Don't-fragment bit.
        df: bool,
        /// More-fragments set or fragment offset non-zero.
        fragment: bool,
        /// Fragment offset non-zero (not the first fragment: no L4 header).
        later_fragment: bool,
    },
    /// IPv6.
    V6 {
        /// Source address.
        src: [u8; 16],
        /// Destination address.
        dst: [u8; 16],
        /// Next-header field of the fixed header.
        next_header: u8,
        /// Payload length field.
        payload_len: u16,
        /// The next header is an extension header (not walked).
        has_ext: bool,
    },
    /// Not IP (or truncated IP).
    Other,
}

/// The transport layer of a frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct L4 {
    /// [`IPPROTO_TCP`] or [`IPPROTO_UDP`].
    pub proto: u8,
    /// Header length in bytes (TCP data offset, or 8 for UDP).
    pub hdr_len: usize,
    /// Source port.
    pub src_port: u16,
    /// Destination port.
    pub dst_port: u16,
}

/// Header locations of one frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Parsed {
    /// Destination MAC.
    pub dst_mac: [u8; 6],
    /// Source MAC.
    pub src_mac: [u8; 6],
    /// VLAN TCI of the (single) tag parsed.
    pub vlan: Option<u16>,
    /// EtherType after any tag.
    pub ethertype: u16,
    /// Offset of the L3 header (L2 length).
    pub l3_offset: usize,
    /// The L3 header.
    pub l3: L3,
    /// Offset of the L4 header, when there is one we understand.
    pub l4_offset: usize,
    /// The L4 header.
    pub l4: Option<L4>,
}

impl Parsed {
    /// L3 header length (0 when not IP).
    pub fn l3_len(&self) -> usize {
        match self.l3 {
            L3::V4 { hdr_len, .. } => hdr_len,
            L3::V6 { .. } => IPV6_HLEN,
            L3::Other => 0,
        }
    }
    /// Offset of the first payload byte after the L4 header (or after L3).
    pub fn payload_offset(&self) -> usize {
        match self.l4 {
            Some(l4) => self.l4_offset + l4.hdr_len,
            None => self.l3_offset + self.l3_len(),
        }
    }
    /// Length of the L4 segment (header + payload) per the IP length
    /// fields, bounded by the frame.
    pub fn l4_len(&self, frame_len: usize) -> usize {
        let end = match self.l3 {
            L3::V4 { total_len, .. } => self.l3_offset + total_len as usize,
            L3::V6 { payload_len, .. } => self.l3_offset + IPV6_HLEN + payload_len as usize,
            L3::Other => frame_len,
        };
        end.min(frame_len).saturating_sub(self.l4_offset)
    }
    /// True for a first-or-only fragment-free IPv4/IPv6 TCP or UDP packet.
    pub fn is_ipv4(&self) -> bool {
        matches!(self.l3, L3::V4 { .. })
    }
    /// True for IPv6.
    pub fn is_ipv6(&self) -> bool {
        matches!(self.l3, L3::V6 { .. })
    }
    /// True for an IPv4 fragment (first or later).
    pub fn is_fragment(&self) -> bool {
        matches!(self.l3, L3::V4 { fragment: true, .. })
    }
}

fn be16(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_be_bytes([*b.get(at)?, *b.get(at + 1)?]))
}

/// Parse a frame; `None` if it is shorter than an Ethernet header.
pub fn parse(frame: &[u8]) -> Option<Parsed> {
    let dst_mac: [u8; 6] = frame.get(0..6)?.try_into().ok()?;
    let src_mac: [u8; 6] = frame.get(6..12)?.try_into().ok()?;
    let mut ethertype = be16(frame, 12)?;
    let mut l3_offset = ETH_HLEN;
    let mut vlan = None;
    if ethertype == ETHERTYPE_VLAN || ethertype == ETHERTYPE_QINQ {
        vlan = Some(be16(frame, ETH_HLEN)?);
        ethertype = be16(frame, ETH_HLEN + 2)?;
        l3_offset += VLAN_HLEN;
    }
    let mut p = Parsed {
        dst_mac,
        src_mac,
        vlan,
        ethertype,
        l3_offset,
        l3: L3::Other,
        l4_offset: 0,
        l4: None,
    };
    let ip = &frame[l3_offset.min(frame.len())..];
    let (l4_proto, l4_offset) = match ethertype {
        ETHERTYPE_IPV4 => {
            let vihl = *ip.first()?;
            let hdr_len = usize::from(vihl & 0xF) * 4;
            if vihl >> 4 != 4 || hdr_len < IPV4_MIN_HLEN || ip.len() < hdr_len {
                return Some(p);
            }
            let frag = be16(ip, 6)?;
            let offset_nonzero = frag & 0x1FFF != 0;
            let more = frag & 0x2000 != 0;
            p.l3 = L3::V4 {
                hdr_len,
                src: ip[12..16].try_into().ok()?,
                dst: ip[16..20].try_into().ok()?,
                proto: ip[9],
                total_len: be16(ip, 2)?,
                id: be16(ip, 4)?,
                df: frag & 0x4000 != 0,
                fragment: more || offset_nonzero,
                later_fragment: offset_nonzero,
            };
            if offset_nonzero {
                return Some(p);
            }
            (ip[9], l3_offset + hdr_len)
        }
        ETHERTYPE_IPV6 => {
            if ip.len() < IPV6_HLEN || ip[0] >> 4 != 6 {
                return Some(p);
            }
            let next_header = ip[6];
            let has_ext = IPV6_EXT_HEADERS.contains(&next_header);
            p.l3 = L3::V6 {
                src: ip[8..24].try_into().ok()?,
                dst: ip[24..40].try_into().ok()?,
                next_header,
                payload_len: be16(ip, 4)?,
                has_ext,
            };
            if has_ext {
                return Some(p);
            }
            (next_header, l3_offset + IPV6_HLEN)
        }
        _ => return Some(p),
    };
    p.l4_offset = l4_offset;
    let l4 = &frame[l4_offset.min(frame.len())..];
    p.l4 = match l4_proto {
        IPPROTO_TCP if l4.len() >= TCP_MIN_HLEN => {
            let hdr_len = usize::from(l4[12] >> 4) * 4;
            (hdr_len >= TCP_MIN_HLEN && l4.len() >= hdr_len).then(|| L4 {
                proto: IPPROTO_TCP,
                hdr_len,
                src_port: u16::from_be_bytes([l4[0], l4[1]]),
                dst_port: u16::from_be_bytes([l4[2], l4[3]]),
            })
        }
        IPPROTO_UDP if l4.len() >= UDP_HLEN => Some(L4 {
            proto: IPPROTO_UDP,
            hdr_len: UDP_HLEN,
            src_port: u16::from_be_bytes([l4[0], l4[1]]),
            dst_port: u16::from_be_bytes([l4[2], l4[3]]),
        }),
        _ => None,
    };
    Some(p)
}
