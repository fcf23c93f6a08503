use super::*;

fn caps_all() -> OffloadCaps {
    OffloadCaps::all()
}

fn param_buf(fields: &[(usize, u8)]) -> std::vec::Vec<u8> {
    let mut b = std::vec![0u8; 28];
    b[0] = object_type::DEFAULT;
    b[1] = 2;
    b[2] = 22;
    for &(off, v) in fields {
        b[off] = v;
    }
    b
}

#[test]
fn hardware_and_keyword_intersection() {
    let hw = OffloadState::hardware(
        OffloadCaps::TX_L4_IPV4_CSUM
            | OffloadCaps::RX_L4_IPV4_CSUM
            | OffloadCaps::TSO_IPV4
            | OffloadCaps::TSO_IPV6,
    );
    assert!(hw.tcp4.tx && hw.udp4.rx && hw.lso4);
    assert!(!hw.lso6, "no IPv6 TX checksum, so no IPv6 LSO");
    assert!(!hw.ipv4.tx);
    let mut kw = Keywords::defaults();
    kw.tcp_csum_v4 = CsumSetting {
        tx: false,
        rx: true,
    };
    let s = OffloadState::from_keywords(&kw, &hw);
    assert!(!s.tcp4.tx && s.tcp4.rx);
    assert!(!s.lso4, "LSO needs TX TCP checksum");
}

#[test]
fn ndis_offload_structure() {
    let s = OffloadState::hardware(caps_all());
    let o = s.to_ndis();
    assert_eq!(
        (o.Header.Type, o.Header.Revision, o.Header.Size),
        (0xa7, 3, 156)
    );
    let t = o.ChecksumIPv4Transmit;
    assert_eq!(t.Encapsulation, NDIS_ENCAPSULATION_IEEE_802_3);
    for shift in [
        cksum_bits::TCP,
        cksum_bits::UDP,
        cksum_bits::IP,
        cksum_bits::TCP_OPTIONS,
    ] {
        assert_eq!((t.Bits >> shift) & 3, 1, "shift {shift}");
    }
    assert_eq!(
        (t.Bits >> cksum_bits::IP_OPTIONS) & 3,
        0,
        "IP options not claimed"
    );
    assert_eq!(
        (o.ChecksumIPv6Receive.Bits >> cksum_bits::IP) & 3,
        0,
        "no IPv6 header checksum"
    );
    assert_eq!(o.LsoV2IPv4MaxOffLoadSize, 65536);
    assert_eq!(o.LsoV2IPv6MinSegmentCount, 2);
    let none = OffloadState::default().to_ndis();
    assert_eq!(none.ChecksumIPv4Transmit, ChecksumOffloadDir::default());
    assert_eq!(none.LsoV2IPv4Encapsulation, 0);
}

#[test]
fn offload_parameters_apply() {
    type P = NDIS_OFFLOAD_PARAMETERS;
    let hw = OffloadState::hardware(caps_all());
    let cur = hw;
    let b = param_buf(&[
        (
            offset_of!(P, TCPIPv4Checksum),
            NDIS_OFFLOAD_PARAMETERS_RX_ENABLED_TX_DISABLED,
        ),
        (
            offset_of!(P, LsoV2IPv6),
            NDIS_OFFLOAD_PARAMETERS_LSOV2_DISABLED,
        ),
    ]);
    let (req, n) = parse_offload_parameters(&b).unwrap();
    assert_eq!(n, 28);
    assert_eq!(
        req.tcp4,
        Some(CsumSetting {
            tx: false,
            rx: true
        })
    );
    assert_eq!(req.ipv4, None);
    let new = cur.apply(&req, &hw).unwrap();
    assert!(!new.tcp4.tx && new.tcp4.rx && !new.lso6);
    assert!(!new.lso4, "dropping TX TCP checksum drops LSO");
    assert!(new.udp6.tx, "untouched");

    // Enabling what the hardware lacks is refused.
    let hw_small = OffloadState::hardware(OffloadCaps::RX_L4_IPV4_CSUM);
    let b = param_buf(&[(
        offset_of!(P, UDPIPv4Checksum),
        NDIS_OFFLOAD_PARAMETERS_TX_RX_ENABLED,
    )]);
    let (req, _) = parse_offload_parameters(&b).unwrap();
    assert_eq!(hw_small.apply(&req, &hw_small), Err(OidError::InvalidData));

    // Bad codes, LSOv1 requests, short buffers.
    assert_eq!(
        parse_offload_parameters(&param_buf(&[(4, 9)])),
        Err(OidError::InvalidData)
    );
    assert_eq!(
        parse_offload_parameters(&param_buf(&[(offset_of!(P, LsoV1), 2)])),
        Err(OidError::NotSupported)
    );
    assert_eq!(
        parse_offload_parameters(&[0x80, 1, 20, 0]),
        Err(OidError::TooShort { needed: 20 })
    );
}

#[test]
fn encapsulation() {
    let mut b = std::vec![0u8; 28];
    b[0] = object_type::OFFLOAD_ENCAPSULATION;
    b[1] = 1;
    b[4..8].copy_from_slice(&NDIS_OFFLOAD_SET_ON.to_le_bytes());
    b[8..12].copy_from_slice(&NDIS_ENCAPSULATION_IEEE_802_3.to_le_bytes());
    b[12..16].copy_from_slice(&14u32.to_le_bytes());
    assert_eq!(
        parse_encapsulation(&b),
        Ok((
            EncapsulationRequest {
                ipv4: Some(true),
                ipv6: None
            },
            28
        ))
    );
    b[8..12].copy_from_slice(&0x10u32.to_le_bytes());
    assert_eq!(
        parse_encapsulation(&b),
        Err(OidError::NotSupported),
        "LLC/SNAP framing"
    );
    b[4..8].copy_from_slice(&7u32.to_le_bytes());
    assert_eq!(parse_encapsulation(&b), Err(OidError::InvalidData));
}

#[test]
fn bits_round_trip() {
    let hw = OffloadState::hardware(caps_all());
    assert_eq!(OffloadState::from_bits(hw.to_bits()), hw);
    let s = OffloadState {
        udp6: CsumSetting {
            tx: false,
            rx: true,
        },
        lso4: true,
        ..Default::default()
    };
    assert_eq!(OffloadState::from_bits(s.to_bits()), s);
    assert_eq!(OffloadState::from_bits(0), OffloadState::default());
}
