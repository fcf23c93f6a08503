use super::*;
use crate::ndis::objects::NDIS_RECEIVE_SCALE_PARAMETERS_REVISION_2;
use cloudnic_common::nic::{RssHashType, RxFragment};

/// Build an NDIS_RECEIVE_SCALE_PARAMETERS buffer: header, table, key.
fn params(rev: u8, flags: u16, hash: u32, table: &[u8], key: &[u8]) -> std::vec::Vec<u8> {
    let hdr = 40usize;
    let mut b = std::vec![0u8; hdr + table.len() + key.len()];
    b[0] = 0x89;
    b[1] = rev;
    b[2..4].copy_from_slice(&(hdr as u16).to_le_bytes());
    b[4..6].copy_from_slice(&flags.to_le_bytes());
    b[8..12].copy_from_slice(&hash.to_le_bytes());
    b[12..14].copy_from_slice(&(table.len() as u16).to_le_bytes());
    b[16..20].copy_from_slice(&(hdr as u32).to_le_bytes());
    b[20..22].copy_from_slice(&(key.len() as u16).to_le_bytes());
    b[24..28].copy_from_slice(&((hdr + table.len()) as u32).to_le_bytes());
    b[hdr..hdr + table.len()].copy_from_slice(table);
    b[hdr + table.len()..].copy_from_slice(key);
    b
}

fn procs(cpus: &[(u16, u8)]) -> std::vec::Vec<u8> {
    cpus.iter()
        .flat_map(|&(g, n)| [g.to_le_bytes()[0], g.to_le_bytes()[1], n, 0])
        .collect()
}

const ALL: u32 = NDIS_HASH_IPV4
    | NDIS_HASH_TCP_IPV4
    | NDIS_HASH_IPV6
    | NDIS_HASH_TCP_IPV6
    | NDIS_HASH_FUNCTION_TOEPLITZ;

#[test]
fn processor_table_maps_cpus_to_queues() {
    // 8 entries over CPUs 6, 2, 4, 0 (group 0) → sorted 0,2,4,6 → queues 0..3 mod 2.
    let t = procs(&[
        (0, 6),
        (0, 2),
        (0, 4),
        (0, 0),
        (0, 6),
        (0, 2),
        (0, 4),
        (0, 0),
    ]);
    let key = [0x6Du8; 40];
    let b = params(NDIS_RECEIVE_SCALE_PARAMETERS_REVISION_2, 0, ALL, &t, &key);
    let r = parse_parameters(&b, 40).unwrap();
    assert!(!r.disable);
    assert_eq!(r.hash_types, Some(ALL & NDIS_HASH_TYPE_MASK));
    assert_eq!(r.key, Some(&key[..]));
    let table = r.table.unwrap();
    assert_eq!(table.len(), 8);
    let mut dev = [0u16; 16];
    assert_eq!(cpu_table_to_queues(&table, 2, &mut dev), Ok(4));
    // CPU6→rank3→q1, CPU2→rank1→q1, CPU4→rank2→q0, CPU0→rank0→q0; repeated.
    assert_eq!(dev, [1, 1, 0, 0, 1, 1, 0, 0, 1, 1, 0, 0, 1, 1, 0, 0]);
    let mut dev4 = [0u16; 8];
    cpu_table_to_queues(&table, 4, &mut dev4).unwrap();
    assert_eq!(&dev4[..4], &[3, 1, 2, 0]);
}

#[test]
fn groups_order_before_numbers_and_revision1_is_relative() {
    let t = procs(&[(1, 0), (0, 63)]);
    let b = params(2, 0, ALL, &t, &[0u8; 40]);
    let table = parse_parameters(&b, 40).unwrap().table.unwrap();
    let mut dev = [0u16; 2];
    cpu_table_to_queues(&table, 8, &mut dev).unwrap();
    assert_eq!(dev, [1, 0], "(0,63) < (1,0)");
    let b = params(1, 0, ALL, &[0, 1, 2, 3], &[0u8; 40]);
    let table = parse_parameters(&b, 40).unwrap().table.unwrap();
    assert_eq!(
        table.get(3),
        Some(PROCESSOR_NUMBER {
            Group: 0,
            Number: 3,
            Reserved: 0
        })
    );
}

#[test]
fn unchanged_flags_and_disable() {
    let flags = NDIS_RSS_PARAM_FLAG_HASH_KEY_UNCHANGED | NDIS_RSS_PARAM_FLAG_ITABLE_UNCHANGED;
    let b = params(2, flags, ALL, &[], &[]);
    let r = parse_parameters(&b, 40).unwrap();
    assert_eq!((r.key, r.table), (None, None));
    let b = params(2, NDIS_RSS_PARAM_FLAG_DISABLE_RSS, 0, &[], &[]);
    let r = parse_parameters(&b, 40).unwrap();
    assert!(r.disable && r.hash_types.is_none());
}

#[test]
fn malformed_requests_are_refused() {
    let key = [0u8; 40];
    assert_eq!(
        parse_parameters(&[0u8; 10], 40),
        Err(OidError::TooShort { needed: 28 })
    );
    // Key of the wrong size.
    let b = params(2, 0, ALL, &procs(&[(0, 0)]), &[0u8; 16]);
    assert_eq!(parse_parameters(&b, 40), Err(OidError::InvalidData));
    // Table of 3 entries (not a power of two).
    let b = params(2, 0, ALL, &procs(&[(0, 0), (0, 1), (0, 2)]), &key);
    assert_eq!(parse_parameters(&b, 40), Err(OidError::InvalidData));
    // Table offset pointing outside the buffer.
    let mut b = params(2, 0, ALL, &procs(&[(0, 0)]), &key);
    b[16..20].copy_from_slice(&1000u32.to_le_bytes());
    assert_eq!(parse_parameters(&b, 40), Err(OidError::InvalidData));
    // Unsupported hash type / function.
    assert_eq!(
        validate_hash_info(NDIS_HASH_TCP_IPV6_EX | NDIS_HASH_FUNCTION_TOEPLITZ),
        Err(OidError::InvalidData)
    );
    assert_eq!(
        validate_hash_info(NDIS_HASH_IPV4 | 2),
        Err(OidError::InvalidData)
    );
    assert_eq!(validate_hash_info(0), Ok(0));
}

#[test]
fn receive_hash_is_reported_only_for_enabled_types() {
    static F: [RxFragment; 1] = [RxFragment { token: 0, len: 64 }];
    let mut p = RxPacket {
        frags: &F,
        offset: 0,
        len: 64,
        csum: Default::default(),
        hash: 0xDEAD_BEEF,
        hash_type: RssHashType::L4,
        l3: L3Proto::Ipv4,
        l4: L4Proto::Tcp,
        vlan_tci: None,
    };
    let t = SUPPORTED_HASH_TYPES;
    assert_eq!(
        rx_hash_info(&p, t),
        Some((
            0xDEAD_BEEF,
            NDIS_HASH_TCP_IPV4 | NDIS_HASH_FUNCTION_TOEPLITZ
        ))
    );
    assert_eq!(rx_hash_info(&p, NDIS_HASH_IPV4), None);
    p.l4 = L4Proto::Udp;
    assert_eq!(rx_hash_info(&p, t), None, "no UDP hash type in NDIS 6.30");
    p.hash_type = RssHashType::L3;
    p.l3 = L3Proto::Ipv6;
    assert_eq!(
        rx_hash_info(&p, t).map(|h| h.1 & NDIS_HASH_TYPE_MASK),
        Some(NDIS_HASH_IPV6)
    );
    p.hash_type = RssHashType::None;
    assert_eq!(rx_hash_info(&p, t), None);
    assert_ne!(capability_flags() & NDIS_RSS_CAPS_HASH_TYPE_TCP_IPV4, 0);
}
