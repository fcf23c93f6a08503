use super::*;
use std::vec::Vec;

/// Ethernet [+ VLAN] + IPv4 (IHL 5, DF) + TCP (data offset 8 = 32 bytes) + payload.
pub(crate) fn tcp4_frame(vlan: bool, payload: usize) -> Vec<u8> {
    let mut f = std::vec![0u8; 12];
    f[0] = 0x02;
    if vlan {
        f.extend_from_slice(&[0x81, 0x00, 0x00, 0x05]);
    }
    f.extend_from_slice(&[0x08, 0x00]);
    let mut ip = [0u8; 20];
    ip[0] = 0x45;
    ip[6] = 0x40; // DF
    ip[9] = 6;
    f.extend_from_slice(&ip);
    let mut tcp = [0u8; 32];
    tcp[12] = 8 << 4;
    f.extend_from_slice(&tcp);
    f.resize(f.len() + payload, 0xAB);
    f
}

/// Ethernet + IPv6 + hop-by-hop (8 bytes) + UDP + payload.
fn udp6_frame(payload: usize) -> Vec<u8> {
    let mut f = std::vec![0u8; 12];
    f.extend_from_slice(&[0x86, 0xDD]);
    let mut ip = [0u8; 40];
    ip[0] = 0x60;
    ip[6] = 0; // hop-by-hop
    f.extend_from_slice(&ip);
    f.extend_from_slice(&[17, 0, 0, 0, 0, 0, 0, 0]); // next = UDP, len 8
    f.extend_from_slice(&[0u8; 8]);
    f.resize(f.len() + payload, 0xCD);
    f
}

fn sg(parts: &[(u64, u32)]) -> Vec<SCATTER_GATHER_ELEMENT> {
    parts
        .iter()
        .map(|&(a, l)| SCATTER_GATHER_ELEMENT {
            Address: a as i64,
            Length: l,
            Reserved: 0,
        })
        .collect()
}

#[test]
fn headers_parse() {
    let h = parse_headers(&tcp4_frame(false, 10));
    assert_eq!(
        (h.l3, h.l3_offset, h.l3_len, h.l4, h.l4_len, h.ipv4_df),
        (L3Proto::Ipv4, 14, 20, L4Proto::Tcp, 32, true)
    );
    let h = parse_headers(&tcp4_frame(true, 10));
    assert_eq!(h.l3_offset, 18);
    let h = parse_headers(&udp6_frame(4));
    assert_eq!(
        (h.l3, h.l3_len, h.l4, h.l4_len),
        (L3Proto::Ipv6, 48, L4Proto::Udp, 8)
    );
    assert_eq!(parse_headers(&[0u8; 5]), Headers::default());
    let mut arp = tcp4_frame(false, 0);
    arp[12..14].copy_from_slice(&[0x08, 0x06]);
    assert_eq!(parse_headers(&arp).l3, L3Proto::Unknown);
    let mut frag = tcp4_frame(false, 0);
    frag[14 + 7] = 1; // fragment offset 8 bytes
    assert_eq!(
        parse_headers(&frag).l4,
        L4Proto::Unknown,
        "non-first fragment has no L4 header"
    );
}

#[test]
fn segments_are_clipped_to_the_frame() {
    let f = tcp4_frame(false, 100);
    let len = f.len() as u32;
    let mut out = [DmaSegment::default(); 8];
    let b = build(
        &sg(&[(0x1000, 40), (0x2000, 0), (0x3000, 4096)]),
        len,
        &f,
        0,
        0,
        17,
        &mut out,
    )
    .unwrap();
    assert_eq!(b.segments, 2);
    assert_eq!(
        out[0],
        DmaSegment {
            addr: 0x1000,
            len: 40
        }
    );
    assert_eq!(
        out[1],
        DmaSegment {
            addr: 0x3000,
            len: len - 40
        }
    );
    assert!(!b.offload.l4_csum);
    // Too short a list, too many segments.
    assert_eq!(
        build(&sg(&[(0x1000, 40)]), len, &f, 0, 0, 17, &mut out),
        Err(TxBuildError::Invalid)
    );
    let many: Vec<(u64, u32)> = (0..20).map(|i| (0x1000 * i, 10)).collect();
    assert_eq!(
        build(&sg(&many), 200, &f, 0, 0, 17, &mut out),
        Err(TxBuildError::TooManySegments)
    );
}

#[test]
fn checksum_offload_request() {
    let f = tcp4_frame(false, 100);
    let w = csum_info::TX_IS_IPV4
        | csum_info::TX_TCP_CHECKSUM
        | csum_info::TX_IP_HEADER_CHECKSUM
        | (34 << 16);
    let o = offload_request(&f, f.len() as u32, w, 0).unwrap();
    assert_eq!(
        (o.l3, o.l4, o.l3_offset, o.l3_len, o.l4_len),
        (L3Proto::Ipv4, L4Proto::Tcp, 14, 20, 32)
    );
    assert!(o.ipv4_csum && o.l4_csum && o.l4_csum_partial && o.ipv4_df);
    assert_eq!(o.tso_mss, 0);
    let f6 = udp6_frame(10);
    let o = offload_request(
        &f6,
        f6.len() as u32,
        csum_info::TX_IS_IPV6 | csum_info::TX_UDP_CHECKSUM,
        0,
    )
    .unwrap();
    assert_eq!(
        (o.l3, o.l4, o.l3_len, o.l4_len, o.ipv4_csum),
        (L3Proto::Ipv6, L4Proto::Udp, 48, 8, false)
    );
    // Flags that contradict the headers.
    assert_eq!(
        offload_request(
            &f6,
            100,
            csum_info::TX_IS_IPV4 | csum_info::TX_UDP_CHECKSUM,
            0
        ),
        Err(TxBuildError::Invalid)
    );
}

#[test]
fn lso_v2_request() {
    let f = tcp4_frame(true, 8000);
    let tcp_off = 18 + 20;
    let w = 1448 | (tcp_off << lso_info::TCP_HEADER_OFFSET_SHIFT) | lso_info::TYPE_V2;
    let o = offload_request(&f[..MAX_HEADER], f.len() as u32, 0, w).unwrap();
    assert_eq!(
        (o.l3_offset, o.l3_len, o.l4_len, o.tso_mss),
        (18, 20, 32, 1448)
    );
    assert!(o.ipv4_csum && o.l4_csum && o.l4_csum_partial);
    assert_eq!(lso_v2_completion_word(w), Some(lso_info::TYPE_V2));
    assert_eq!(lso_v2_completion_word(0), None);
    // LSOv1 (type bit clear) is not offered.
    assert_eq!(
        offload_request(&f, f.len() as u32, 0, 1448 | (tcp_off << 20)),
        Err(TxBuildError::Invalid)
    );
    // IPv6 bit on an IPv4 frame, or an offset beyond the copied header.
    assert_eq!(
        offload_request(&f, f.len() as u32, 0, w | lso_info::IPV6),
        Err(TxBuildError::Invalid)
    );
    let far = 1448 | (120 << 20) | lso_info::TYPE_V2;
    assert_eq!(
        offload_request(&f[..MAX_HEADER], f.len() as u32, 0, far),
        Err(TxBuildError::Invalid)
    );
}
