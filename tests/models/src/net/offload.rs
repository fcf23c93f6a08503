//! Checksum offload and TCP segmentation, done on real bytes: what a NIC
//! does on transmit (fill checksums, TSO) and verifies on receive.

use super::checksum::{pseudo_header_v4, pseudo_header_v6, Checksum};
use super::parse::{
    parse, Parsed, IPPROTO_TCP, IPPROTO_UDP, IPV4_CSUM_OFFSET, IPV6_HLEN, L3, TCP_CSUM_OFFSET,
    UDP_CSUM_OFFSET,
};

/// TCP flag FIN.
pub const TCP_FIN: u8 = 0x01;
/// TCP flag SYN.
pub const TCP_SYN: u8 = 0x02;
/// TCP flag RST.
pub const TCP_RST: u8 = 0x04;
/// TCP flag PSH.
pub const TCP_PSH: u8 = 0x08;
/// TCP flag ACK.
pub const TCP_ACK: u8 = 0x10;
/// TCP flag CWR.
pub const TCP_CWR: u8 = 0x80;
/// Offset of the flags byte in a TCP header.
pub const TCP_FLAGS_OFFSET: usize = 13;
/// Offset of the sequence number in a TCP header.
pub const TCP_SEQ_OFFSET: usize = 4;

/// Why an offload could not be applied.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OffloadError {
    /// The frame has no IP header we understand.
    NotIp,
    /// The frame has no TCP/UDP header we understand.
    NoL4,
    /// TSO asked for a non-TCP packet.
    NotTcp,
    /// MSS of zero.
    BadMss,
}

fn get_be16(b: &[u8], at: usize) -> u16 {
    u16::from_be_bytes([b[at], b[at + 1]])
}

fn put_be16(b: &mut [u8], at: usize, v: u16) {
    b[at..at + 2].copy_from_slice(&v.to_be_bytes());
}

/// True if the IPv4 header checksum is correct (None when not IPv4).
pub fn ipv4_header_csum_ok(frame: &[u8], p: &Parsed) -> Option<bool> {
    match p.l3 {
        L3::V4 { hdr_len, .. } => {
            let h = frame.get(p.l3_offset..p.l3_offset + hdr_len)?;
            Some(Checksum::new().add_bytes(h).fold() == 0xFFFF)
        }
        _ => None,
    }
}

/// Compute and store the IPv4 header checksum. No-op when not IPv4.
pub fn fill_ipv4_header_csum(frame: &mut [u8], p: &Parsed) {
    if let L3::V4 { hdr_len, .. } = p.l3 {
        let Some(h) = frame.get_mut(p.l3_offset..p.l3_offset + hdr_len) else {
            return;
        };
        put_be16(h, IPV4_CSUM_OFFSET, 0);
        let c = Checksum::new().add_bytes(h).finish();
        put_be16(h, IPV4_CSUM_OFFSET, c);
    }
}

/// The pseudo-header sum for this frame's L4 segment of `l4_len` bytes.
pub fn pseudo_header(p: &Parsed, proto: u8, l4_len: usize) -> Option<Checksum> {
    match p.l3 {
        L3::V4 { src, dst, .. } => Some(pseudo_header_v4(src, dst, proto, l4_len as u32)),
        L3::V6 { src, dst, .. } => Some(pseudo_header_v6(src, dst, proto, l4_len as u32)),
        L3::Other => None,
    }
}

fn l4_csum_offset(proto: u8) -> usize {
    if proto == IPPROTO_TCP {
        TCP_CSUM_OFFSET
    } else {
        UDP_CSUM_OFFSET
    }
}

/// Verify the TCP/UDP checksum. `None` when there is no L4 header to check
/// (not TCP/UDP, fragment, truncated). An IPv4 UDP checksum of 0 means "no
/// checksum" and verifies as good (RFC 768).
pub fn l4_csum_ok(frame: &[u8], p: &Parsed) -> Option<bool> {
    let l4 = p.l4?;
    if p.is_fragment() {
        return None;
    }
    let len = p.l4_len(frame.len());
    let seg = frame.get(p.l4_offset..p.l4_offset + len)?;
    if l4.proto == IPPROTO_UDP && p.is_ipv4() && get_be16(seg, UDP_CSUM_OFFSET) == 0 {
        return Some(true);
    }
    let mut c = pseudo_header(p, l4.proto, len)?;
    c.add_bytes(seg);
    Some(c.fold() == 0xFFFF)
}

/// Compute the TCP/UDP checksum from scratch (pseudo-header included) and
/// store it. UDP results of 0 are sent as 0xFFFF (RFC 768).
pub fn fill_l4_csum(frame: &mut [u8], p: &Parsed) -> Result<(), OffloadError> {
    let l4 = p.l4.ok_or(OffloadError::NoL4)?;
    let len = p.l4_len(frame.len());
    let off = l4_csum_offset(l4.proto);
    let seg = frame
        .get_mut(p.l4_offset..p.l4_offset + len)
        .ok_or(OffloadError::NoL4)?;
    put_be16(seg, off, 0);
    let mut c = pseudo_header(p, l4.proto, len).ok_or(OffloadError::NotIp)?;
    c.add_bytes(seg);
    put_be16(seg, off, finish_l4(l4.proto, &c));
    Ok(())
}

/// Finish a "partial" checksum: the L4 checksum field already holds the
/// folded pseudo-header sum (Linux CHECKSUM_PARTIAL, ENA's L4 partial mode),
/// so the device sums the segment as is and stores the complement.
pub fn fill_l4_csum_from_partial(frame: &mut [u8], p: &Parsed) -> Result<(), OffloadError> {
    let l4 = p.l4.ok_or(OffloadError::NoL4)?;
    let len = p.l4_len(frame.len());
    let off = l4_csum_offset(l4.proto);
    let seg = frame
        .get_mut(p.l4_offset..p.l4_offset + len)
        .ok_or(OffloadError::NoL4)?;
    let mut c = Checksum::new();
    c.add_bytes(seg);
    put_be16(seg, off, finish_l4(l4.proto, &c));
    Ok(())
}

/// Store the folded pseudo-header sum in the L4 checksum field, as the Linux
/// stack leaves a CHECKSUM_PARTIAL packet for the NIC to finish.
pub fn write_partial_csum(frame: &mut [u8], p: &Parsed) -> Result<(), OffloadError> {
    let l4 = p.l4.ok_or(OffloadError::NoL4)?;
    let len = p.l4_len(frame.len());
    let c = pseudo_header(p, l4.proto, len).ok_or(OffloadError::NotIp)?;
    let at = p.l4_offset + l4_csum_offset(l4.proto);
    if frame.len() < at + 2 {
        return Err(OffloadError::NoL4);
    }
    put_be16(frame, at, c.fold());
    Ok(())
}

fn finish_l4(proto: u8, c: &Checksum) -> u16 {
    match c.finish() {
        0 if proto == IPPROTO_UDP => 0xFFFF,
        v => v,
    }
}

/// Fill every checksum of a frame (IPv4 header and TCP/UDP) from scratch.
pub fn fill_all_csums(frame: &mut [u8]) -> Result<(), OffloadError> {
    let p = parse(frame).ok_or(OffloadError::NotIp)?;
    if matches!(p.l3, L3::Other) {
        return Err(OffloadError::NotIp);
    }
    fill_ipv4_header_csum(frame, &p);
    fill_l4_csum(frame, &p)
}

/// Segment a TCP packet into frames carrying at most `mss` payload bytes,
/// as TSO hardware does: headers copied, IPv4 total length / ID (+1 per
/// segment) and IPv6 payload length fixed, sequence numbers advanced, FIN and
/// PSH only on the last segment, CWR only on the first, and both checksums
/// computed in full. A packet with no payload yields itself, checksummed.
///
/// The payload is every byte the driver gathered after the headers: the
/// template header's IPv4 total length / IPv6 payload length are ignored,
/// as LSO hardware ignores them. Upstream mana.ko zeroes both (and seeds
/// the TCP checksum with a zero-length pseudo-header) for every TSO packet
/// (mana.md §6.6); trusting the zero dropped all payload but what fit one
/// segment.
pub fn tso_segment(frame: &[u8], mss: usize) -> Result<Vec<Vec<u8>>, OffloadError> {
    let p = parse(frame).ok_or(OffloadError::NotIp)?;
    let l4 = p.l4.ok_or(OffloadError::NoL4)?;
    if l4.proto != IPPROTO_TCP {
        return Err(OffloadError::NotTcp);
    }
    if mss == 0 {
        return Err(OffloadError::BadMss);
    }
    let hdr_end = p.l4_offset + l4.hdr_len;
    let payload = frame.get(hdr_end..).unwrap_or(&[]);
    let headers = &frame[..hdr_end];
    let seq = u32::from_be_bytes(
        frame[p.l4_offset + 4..p.l4_offset + 8]
            .try_into()
            .unwrap_or([0; 4]),
    );
    let flags = frame[p.l4_offset + TCP_FLAGS_OFFSET];
    let n = payload.len().div_ceil(mss).max(1);
    let mut out = Vec::with_capacity(n);
    for i in 0..n {
        let chunk = payload
            .get(i * mss..((i + 1) * mss).min(payload.len()))
            .unwrap_or(&[]);
        let mut seg = Vec::with_capacity(headers.len() + chunk.len());
        seg.extend_from_slice(headers);
        seg.extend_from_slice(chunk);
        let l4_len = l4.hdr_len + chunk.len();
        match p.l3 {
            L3::V4 { hdr_len, id, .. } => {
                put_be16(&mut seg, p.l3_offset + 2, (hdr_len + l4_len) as u16);
                put_be16(&mut seg, p.l3_offset + 4, id.wrapping_add(i as u16));
            }
            L3::V6 { .. } => put_be16(&mut seg, p.l3_offset + 4, l4_len as u16),
            L3::Other => return Err(OffloadError::NotIp),
        }
        let t = p.l4_offset;
        seg[t + TCP_SEQ_OFFSET..t + TCP_SEQ_OFFSET + 4]
            .copy_from_slice(&seq.wrapping_add((i * mss) as u32).to_be_bytes());
        let mut f = flags;
        if i + 1 != n {
            f &= !(TCP_FIN | TCP_PSH);
        }
        if i != 0 {
            f &= !TCP_CWR;
        }
        seg[t + TCP_FLAGS_OFFSET] = f;
        let sp = parse(&seg).ok_or(OffloadError::NotIp)?;
        fill_ipv4_header_csum(&mut seg, &sp);
        fill_l4_csum(&mut seg, &sp)?;
        out.push(seg);
    }
    Ok(out)
}

/// Length of the IP packet in a frame per its IP header (used to ignore
/// Ethernet padding); the frame length when not IP.
pub fn ip_end(frame: &[u8], p: &Parsed) -> usize {
    match p.l3 {
        L3::V4 { total_len, .. } => (p.l3_offset + total_len as usize).min(frame.len()),
        L3::V6 { payload_len, .. } => {
            (p.l3_offset + IPV6_HLEN + payload_len as usize).min(frame.len())
        }
        L3::Other => frame.len(),
    }
}
