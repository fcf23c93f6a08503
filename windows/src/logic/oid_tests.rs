use super::*;
use crate::logic::stats::{statistics, DeviceTotals, ShimCounters};

const DESC: &[u8] = b"cloudnic test adapter\0";

fn view<'a>(stats: &'a NDIS_STATISTICS_INFO, mc: &'a [[u8; 6]]) -> AdapterView<'a> {
    AdapterView {
        permanent_mac: [0x0A, 0x1B, 0x2C, 0x3D, 0x4E, 0x5F],
        current_mac: [0x0A, 0x1B, 0x2C, 0x3D, 0x4E, 0x5F],
        mtu: 1500,
        link_up: true,
        link_speed_mbps: 25_000,
        packet_filter: NDIS_PACKET_TYPE_DIRECTED,
        lookahead: 128,
        multicast: mc,
        max_multicast: 32,
        stats,
        moderation: Moderation::Enabled,
        resetting: false,
        tx_descriptors: 8 * 1024,
        rx_buffers: 8 * 1024,
        rx_buffer_size: 2048,
        vendor_description: DESC,
        vendor_driver_version: 1,
    }
}

fn q(oid: NDIS_OID, v: &AdapterView<'_>, len: usize) -> Result<std::vec::Vec<u8>, OidError> {
    let mut out = std::vec![0u8; len];
    let n = query(oid, v, &mut out)?;
    out.truncate(n);
    Ok(out)
}

#[test]
fn simple_queries() {
    let s = NDIS_STATISTICS_INFO::default();
    let v = view(&s, &[]);
    assert_eq!(
        q(OID_GEN_MAXIMUM_FRAME_SIZE, &v, 4).unwrap(),
        1500u32.to_le_bytes()
    );
    assert_eq!(
        q(OID_GEN_MAXIMUM_TOTAL_SIZE, &v, 4).unwrap(),
        1514u32.to_le_bytes()
    );
    assert_eq!(
        q(OID_GEN_LINK_SPEED, &v, 4).unwrap(),
        250_000_000u32.to_le_bytes(),
        "100 bit/s units"
    );
    assert_eq!(
        q(OID_GEN_MEDIA_CONNECT_STATUS, &v, 4).unwrap(),
        0u32.to_le_bytes()
    );
    assert_eq!(q(OID_802_3_CURRENT_ADDRESS, &v, 6).unwrap(), v.current_mac);
    assert_eq!(q(OID_GEN_VENDOR_ID, &v, 4).unwrap(), [0x0A, 0x1B, 0x2C, 0]);
    assert_eq!(q(OID_GEN_VENDOR_DESCRIPTION, &v, 64).unwrap(), DESC);
    assert_eq!(q(OID_GEN_DRIVER_VERSION, &v, 2).unwrap(), [30, 6]);
    assert_eq!(
        q(OID_GEN_RECEIVE_BUFFER_SPACE, &v, 4).unwrap(),
        (8 * 1024 * 2048u32).to_le_bytes()
    );
    let list = q(OID_GEN_SUPPORTED_LIST, &v, 4 * SUPPORTED_OIDS.len()).unwrap();
    assert_eq!(list.len(), 4 * SUPPORTED_OIDS.len());
    assert_eq!(&list[..4], &OID_GEN_SUPPORTED_LIST.to_le_bytes());
}

#[test]
fn short_buffers_report_bytes_needed() {
    let s = NDIS_STATISTICS_INFO::default();
    let v = view(&s, &[]);
    let e = q(OID_802_3_PERMANENT_ADDRESS, &v, 4).unwrap_err();
    assert_eq!(e, OidError::TooShort { needed: 6 });
    assert_eq!(e.status(), NDIS_STATUS_BUFFER_TOO_SHORT);
    assert_eq!(e.bytes_needed(), 6);
    assert_eq!(
        q(OID_GEN_STATISTICS, &v, 100).unwrap_err().bytes_needed(),
        152
    );
    assert_eq!(
        q(0xDEAD_0001, &v, 100).unwrap_err().status(),
        NDIS_STATUS_NOT_SUPPORTED
    );
}

#[test]
fn counters_and_statistics_come_from_the_snapshot() {
    let shim = ShimCounters {
        rx_frames: [10, 2, 1],
        tx_frames: [5, 0, 1],
        rx_discards: 4,
        ..Default::default()
    };
    let s = statistics(&DeviceTotals::default(), &shim);
    let v = view(&s, &[]);
    assert_eq!(q(OID_GEN_RCV_OK, &v, 8).unwrap(), 13u64.to_le_bytes());
    assert_eq!(
        q(OID_GEN_XMIT_OK, &v, 4).unwrap(),
        6u32.to_le_bytes(),
        "4-byte buffer: 32-bit answer"
    );
    assert_eq!(q(OID_GEN_RCV_NO_BUFFER, &v, 8).unwrap(), 4u64.to_le_bytes());
    let raw = q(OID_GEN_STATISTICS, &v, 152).unwrap();
    assert_eq!(raw.len(), 152);
    assert_eq!(
        (raw[0], raw[1], u16::from_le_bytes([raw[2], raw[3]])),
        (0x80, 1, 152)
    );
    let off = core::mem::offset_of!(NDIS_STATISTICS_INFO, ifHCInUcastPkts);
    assert_eq!(&raw[off..off + 8], &10u64.to_le_bytes());
}

#[test]
fn interrupt_moderation_round_trip() {
    let s = NDIS_STATISTICS_INFO::default();
    let mut v = view(&s, &[]);
    let raw = q(OID_GEN_INTERRUPT_MODERATION, &v, 12).unwrap();
    assert_eq!(
        &raw[8..12],
        &NDIS_INTERRUPT_MODERATION_ENABLED.to_le_bytes()
    );
    let mut set = raw.clone();
    set[8..12].copy_from_slice(&NDIS_INTERRUPT_MODERATION_DISABLED.to_le_bytes());
    assert_eq!(
        parse_set(OID_GEN_INTERRUPT_MODERATION, &set, &v),
        Ok((SetRequest::InterruptModeration(false), 12))
    );
    set[8..12].copy_from_slice(&9u32.to_le_bytes());
    assert_eq!(
        parse_set(OID_GEN_INTERRUPT_MODERATION, &set, &v),
        Err(OidError::InvalidData)
    );
    v.moderation = Moderation::NotSupported;
    assert_eq!(
        parse_set(OID_GEN_INTERRUPT_MODERATION, &raw, &v),
        Err(OidError::NotSupported)
    );
}

#[test]
fn set_requests_are_validated() {
    let s = NDIS_STATISTICS_INFO::default();
    let mc = [[1u8, 0, 0x5e, 0, 0, 1]];
    let v = view(&s, &mc);
    let f = (NDIS_PACKET_TYPE_DIRECTED | NDIS_PACKET_TYPE_BROADCAST).to_le_bytes();
    assert_eq!(
        parse_set(OID_GEN_CURRENT_PACKET_FILTER, &f, &v),
        Ok((
            SetRequest::PacketFilter(NDIS_PACKET_TYPE_DIRECTED | NDIS_PACKET_TYPE_BROADCAST),
            4
        ))
    );
    // Source routing is not a filter we support.
    assert_eq!(
        parse_set(OID_GEN_CURRENT_PACKET_FILTER, &0x10u32.to_le_bytes(), &v),
        Err(OidError::NotSupported)
    );
    assert_eq!(
        parse_set(OID_GEN_CURRENT_PACKET_FILTER, &[1, 2], &v),
        Err(OidError::TooShort { needed: 4 })
    );
    assert_eq!(
        parse_set(OID_GEN_CURRENT_LOOKAHEAD, &9000u32.to_le_bytes(), &v),
        Err(OidError::InvalidData)
    );
    let two = [1u8, 0, 0x5e, 0, 0, 1, 1, 0, 0x5e, 0, 0, 2];
    assert_eq!(
        parse_set(OID_802_3_MULTICAST_LIST, &two, &v),
        Ok((SetRequest::MulticastList(&two), 12))
    );
    assert_eq!(
        parse_set(OID_802_3_MULTICAST_LIST, &two[..7], &v),
        Err(OidError::InvalidLength)
    );
    let many = [1u8; 6 * 33];
    assert_eq!(
        parse_set(OID_802_3_MULTICAST_LIST, &many, &v),
        Err(OidError::MulticastFull)
    );
    assert_eq!(q(OID_802_3_MULTICAST_LIST, &v, 6).unwrap(), mc[0]);
    assert_eq!(
        parse_set(OID_GEN_LINK_PARAMETERS, &[0; 40], &v),
        Ok((SetRequest::LinkParameters, 40))
    );
    assert_eq!(
        parse_set(OID_GEN_VENDOR_ID, &[0; 4], &v),
        Err(OidError::NotSupported),
        "query-only"
    );
}

#[test]
fn every_supported_oid_is_answered_or_settable() {
    let s = NDIS_STATISTICS_INFO::default();
    let v = view(&s, &[]);
    for oid in SUPPORTED_OIDS {
        let mut out = [0u8; 512];
        let queried = query(oid, &v, &mut out).is_ok();
        let settable = !matches!(parse_set(oid, &[0u8; 64], &v), Err(OidError::NotSupported));
        assert!(
            queried || settable,
            "OID {oid:#x} neither answered nor settable"
        );
    }
}
