use super::offload::{TCP_CWR, TCP_FIN, TCP_FLAGS_OFFSET, TCP_PSH, TCP_SEQ_OFFSET};
use super::parse::{ETHERTYPE_IPV4, IPPROTO_TCP, IPPROTO_UDP};
use super::*;

const A4: [u8; 4] = [10, 0, 0, 1];
const B4: [u8; 4] = [10, 0, 0, 2];
const A6: [u8; 16] = [0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1];
const B6: [u8; 16] = [0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2];

#[test]
fn parse_tcp4_with_vlan_and_options() {
    let f = FrameBuilder::tcp4(A4, B4, 1234, 80)
        .vlan(0x0123)
        .ipv4_options(&[1, 1, 1, 1])
        .tcp_options(&[2, 4, 5, 0xb4])
        .payload_len(100)
        .build();
    let p = parse(&f).unwrap();
    assert_eq!(p.vlan, Some(0x0123));
    assert_eq!(p.ethertype, ETHERTYPE_IPV4);
    assert_eq!(p.l3_offset, 18);
    assert_eq!(p.l3_len(), 24);
    assert_eq!(p.l4_offset, 42);
    let l4 = p.l4.unwrap();
    assert_eq!(
        (l4.proto, l4.hdr_len, l4.src_port, l4.dst_port),
        (IPPROTO_TCP, 24, 1234, 80)
    );
    assert_eq!(p.payload_offset(), 66);
    assert_eq!(f.len(), 166);
    assert_eq!(ipv4_header_csum_ok(&f, &p), Some(true));
    assert_eq!(l4_csum_ok(&f, &p), Some(true));
}

#[test]
fn parse_udp6_and_ext_header_detection() {
    let f = FrameBuilder::udp6(A6, B6, 53, 5353).payload_len(33).build();
    let p = parse(&f).unwrap();
    assert!(p.is_ipv6());
    assert_eq!(p.l4.unwrap().proto, IPPROTO_UDP);
    assert_eq!(l4_csum_ok(&f, &p), Some(true));
    let mut ext = f.clone();
    ext[14 + 6] = 0; // hop-by-hop options
    let p = parse(&ext).unwrap();
    assert!(matches!(p.l3, L3::V6 { has_ext: true, .. }));
    assert!(p.l4.is_none());
}

#[test]
fn ipv4_fragments_have_no_l4_check() {
    let mut f = FrameBuilder::udp4(A4, B4, 1, 2).payload_len(10).build();
    f[14 + 6] |= 0x20; // more fragments
    let p = parse(&f).unwrap();
    assert!(p.is_fragment());
    assert_eq!(l4_csum_ok(&f, &p), None);
    f[14 + 7] = 8; // offset 64 bytes: no L4 header at all
    let p = parse(&f).unwrap();
    assert!(p.l4.is_none());
}

#[test]
fn partial_csum_is_finished_like_full() {
    for b in [
        FrameBuilder::tcp4(A4, B4, 1000, 2000).payload_len(777),
        FrameBuilder::udp4(A4, B4, 1000, 2000).payload_len(1),
        FrameBuilder::tcp6(A6, B6, 1, 2).payload_len(1400),
        FrameBuilder::udp6(A6, B6, 3, 4).payload_len(0),
    ] {
        let full = b.clone().csum(CsumMode::Full).build();
        let mut partial = b.clone().csum(CsumMode::Partial).build();
        let p = parse(&partial).unwrap();
        assert_eq!(l4_csum_ok(&partial, &p), Some(false));
        fill_ipv4_header_csum(&mut partial, &p);
        fill_l4_csum_from_partial(&mut partial, &p).unwrap();
        assert_eq!(partial, full);
        let mut zero = b.csum(CsumMode::Zero).build();
        fill_all_csums(&mut zero).unwrap();
        assert_eq!(zero, full);
    }
}

#[test]
fn bad_checksums_are_detected() {
    let f = FrameBuilder::tcp4(A4, B4, 1, 2)
        .payload_len(50)
        .csum(CsumMode::BadL4)
        .build();
    let p = parse(&f).unwrap();
    assert_eq!(ipv4_header_csum_ok(&f, &p), Some(true));
    assert_eq!(l4_csum_ok(&f, &p), Some(false));
    let f = FrameBuilder::tcp4(A4, B4, 1, 2)
        .payload_len(50)
        .csum(CsumMode::BadL3)
        .build();
    let p = parse(&f).unwrap();
    assert_eq!(ipv4_header_csum_ok(&f, &p), Some(false));
    // UDP over IPv4 with checksum 0 = not computed = fine.
    let f = FrameBuilder::udp4(A4, B4, 1, 2)
        .payload_len(5)
        .csum(CsumMode::Zero)
        .build();
    assert_eq!(l4_csum_ok(&f, &parse(&f).unwrap()), Some(true));
}

fn rejoin(segs: &[Vec<u8>]) -> (Vec<u8>, u32) {
    let mut stream = Vec::new();
    let mut first_seq = None;
    let mut expect_seq = 0u32;
    for s in segs {
        let p = parse(s).unwrap();
        assert!(ipv4_header_csum_ok(s, &p).unwrap_or(true));
        assert_eq!(l4_csum_ok(s, &p), Some(true));
        let t = p.l4_offset;
        let seq = u32::from_be_bytes(
            s[t + TCP_SEQ_OFFSET..t + TCP_SEQ_OFFSET + 4]
                .try_into()
                .unwrap(),
        );
        if first_seq.is_none() {
            first_seq = Some(seq);
            expect_seq = seq;
        }
        assert_eq!(seq, expect_seq);
        let payload = &s[p.payload_offset()..];
        expect_seq = expect_seq.wrapping_add(payload.len() as u32);
        stream.extend_from_slice(payload);
    }
    (stream, first_seq.unwrap())
}

#[test]
fn tso_9000_by_1448_rejoins() {
    let b = FrameBuilder::tcp4(A4, B4, 40000, 5201)
        .seq(0xFFFF_F000) // wraps during the burst
        .tcp_flags(0x10 | TCP_PSH | TCP_FIN | TCP_CWR)
        .ip_id(0xFFFE)
        .payload_len(9000);
    let orig = b.clone().csum(CsumMode::Partial).build();
    let segs = tso_segment(&orig, 1448).unwrap();
    assert_eq!(segs.len(), 7); // 6 × 1448 + 312
    let (stream, seq0) = rejoin(&segs);
    let p = parse(&orig).unwrap();
    assert_eq!(stream, &orig[p.payload_offset()..]);
    assert_eq!(seq0, 0xFFFF_F000);
    for (i, s) in segs.iter().enumerate() {
        let sp = parse(s).unwrap();
        let flags = s[sp.l4_offset + TCP_FLAGS_OFFSET];
        let last = i + 1 == segs.len();
        assert_eq!(flags & (TCP_FIN | TCP_PSH) != 0, last, "segment {i}");
        assert_eq!(flags & TCP_CWR != 0, i == 0);
        let L3::V4 { id, total_len, .. } = sp.l3 else {
            panic!()
        };
        assert_eq!(id, 0xFFFEu16.wrapping_add(i as u16));
        assert_eq!(total_len as usize, s.len() - 14);
        assert!(s.len() <= 14 + 20 + 20 + 1448);
    }
}

#[test]
fn tso_ipv6_and_edge_cases() {
    let f = FrameBuilder::tcp6(A6, B6, 1, 2)
        .payload_len(3000)
        .csum(CsumMode::Zero)
        .build();
    let segs = tso_segment(&f, 1000).unwrap();
    assert_eq!(segs.len(), 3);
    let (stream, _) = rejoin(&segs);
    assert_eq!(stream, pattern(3000, 1));
    for s in &segs {
        let p = parse(s).unwrap();
        let L3::V6 { payload_len, .. } = p.l3 else {
            panic!()
        };
        assert_eq!(payload_len as usize, s.len() - 14 - 40);
    }
    // No payload: one segment, checksummed.
    let f = FrameBuilder::tcp4(A4, B4, 1, 2)
        .csum(CsumMode::Zero)
        .build();
    let segs = tso_segment(&f, 1448).unwrap();
    assert_eq!(segs.len(), 1);
    assert_eq!(l4_csum_ok(&segs[0], &parse(&segs[0]).unwrap()), Some(true));
    let u = FrameBuilder::udp4(A4, B4, 1, 2).payload_len(10).build();
    assert_eq!(tso_segment(&u, 100), Err(OffloadError::NotTcp));
    assert_eq!(tso_segment(&f, 0), Err(OffloadError::BadMss));
}
