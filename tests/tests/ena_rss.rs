//! RSS end to end (ena.md §6.7, §3.6): the driver programs Toeplitz, the
//! key, the hash fields and the indirection table; the device model hashes
//! every received frame and steers it; the driver reports the hash. Each
//! received frame is checked against an independent computation with
//! `cloudnic_common::rss` over the key read back through
//! `NetDevice::get_rss`: `hash == Toeplitz(key, tuple)` and
//! `queue == table[hash mod table_len]` (the low 7 bits for ENA's 128-entry
//! table — the model indexes with `queue_for_hash`, ena.md leaves the bit
//! choice unpublished). Then user keys and tables (ethtool -X), and refusals.

mod common;

use std::collections::BTreeMap;

use cloudnic_common::nic::{NetDevice, QueueConfig, RssConfig, RssHashType};
use cloudnic_common::rss::DEFAULT_RSS_KEY;
use cloudnic_common::{ConfigError, Error, ResetReason};
use cloudnic_models::ena::{AdminFilter, EnaFault};
use cloudnic_models::net::{self, FrameBuilder, L3};
use cloudnic_tests::testbed::BackToBack;

use common::*;

/// SET_FEATURE opcode and the RSS hash-function feature id (ena.md §3.5).
const SET_FEATURE: u8 = 9;
const FEATURE_RSS_HASH_FUNCTION: u8 = 10;
const FEATURE_RSS_INDIRECTION_TABLE: u8 = 12;

/// ENA's default table (ena.md §6.7): entry i → queue i mod n.
fn default_table(len: usize, n: u16) -> Vec<u16> {
    (0..len).map(|i| (i % usize::from(n)) as u16).collect()
}

/// A user key unlike the default one.
fn custom_key() -> Vec<u8> {
    (0..40u8)
        .map(|i| i.wrapping_mul(73).wrapping_add(0x3c) ^ 0xa5)
        .collect()
}

/// A user table using every queue, in an order unlike the default fill.
fn custom_table(len: usize, n: u16) -> Vec<u16> {
    (0..len)
        .map(|i| ((i / 3 + i % 5) % usize::from(n)) as u16)
        .collect()
}

#[test]
fn default_rss_spreads_flows_over_all_4_queues_exactly_as_toeplitz_predicts() {
    let mut t = BackToBack::new();
    let (key, table) = rss_of(&mut t.b);
    assert_eq!(key, DEFAULT_RSS_KEY, "driver's default key");
    assert_eq!(table.len(), 128, "model's table size (2^7)");
    assert_eq!(table, default_table(128, 4));
    assert_eq!(t.b.dev().info().rss_table_size, 128);
    assert_eq!(t.b.dev().info().rss_key_size, 40);

    let frames = mixed_flows(0x5eed, 64);
    let got = t.transfer('a', 0, &frames, false, 0);
    assert_same_frames(&got, &frames);
    assert_rss_mapping(&got, &key, &table);
    let spread = per_queue(&got);
    assert_eq!(spread.len(), 4, "every queue receives traffic: {spread:?}");
    assert!(
        spread.values().all(|&n| n >= 32),
        "256 flows spread evenly enough: {spread:?}"
    );
    assert_eq!(t.b.model.borrow().counters().rss_unmapped, 0);
    t.teardown_and_check();
}

#[test]
fn eight_queues_all_receive_and_mapping_holds_both_ways() {
    let mut t = BackToBack::with(node_with_queues("eth0", 8), node_with_queues("eth1", 8));
    for side in ['a', 'b'] {
        assert_eq!(t.node(side).dev().queue_config().num_queues, 8);
    }
    let frames = mixed_flows(77, 64);
    let got = t.transfer('a', 5, &frames, false, 0);
    let (key, table) = rss_of(&mut t.b);
    assert_eq!(table, default_table(128, 8));
    assert_rss_mapping(&got, &key, &table);
    assert_eq!(
        per_queue(&got).len(),
        8,
        "all 8 queues: {:?}",
        per_queue(&got)
    );
    // Same flows the other way: a's own RSS state predicts a's queues.
    let back = t.transfer('b', 2, &frames, false, 0);
    let (key_a, table_a) = rss_of(&mut t.a);
    assert_rss_mapping(&back, &key_a, &table_a);
    t.teardown_and_check();
}

/// Microsoft's "Verifying the RSS hash calculation" vectors, through the
/// model and the driver. Only the address-only (IPv4 / IPv6) vectors whose
/// source sorts below the destination are used: the driver enables ENA's
/// L3/L4 input sorting, which leaves exactly those tuples unchanged.
#[test]
fn microsoft_verification_vectors_hold_end_to_end() {
    let mut t = BackToBack::new();
    fn v6(g: [u16; 8]) -> [u8; 16] {
        let mut o = [0u8; 16];
        for (i, w) in g.iter().enumerate() {
            o[2 * i..2 * i + 2].copy_from_slice(&w.to_be_bytes());
        }
        o
    }
    let cases: Vec<(Vec<u8>, u32)> = vec![
        (
            ip_only_v4([66, 9, 149, 187], [161, 142, 100, 80]),
            0x323e_8fc2,
        ),
        (
            ip_only_v4([38, 27, 205, 30], [209, 142, 163, 6]),
            0x8298_9176,
        ),
        (
            ip_only_v4([153, 39, 163, 191], [202, 188, 127, 2]),
            0x5d18_09c5,
        ),
        (
            ip_only_v6(
                v6([0x3ffe, 0x501, 8, 0, 0x260, 0x97ff, 0xfe40, 0xefab]),
                v6([0xff02, 0, 0, 0, 0, 0, 0, 1]),
            ),
            0x0f0c_461c,
        ),
        (
            ip_only_v6(
                v6([0x3ffe, 0x1900, 0x4545, 3, 0x200, 0xf8ff, 0xfe21, 0x67cf]),
                v6([0xfe80, 0, 0, 0, 0x200, 0xf8ff, 0xfe21, 0x67cf]),
            ),
            0x4b61_e985,
        ),
    ];
    let (key, table) = rss_of(&mut t.b);
    assert_eq!(key, DEFAULT_RSS_KEY, "the vectors are for Microsoft's key");
    for (frame, published) in cases {
        let got = t.transfer('a', 1, std::slice::from_ref(&frame), false, 0);
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].frame, frame);
        assert_eq!(got[0].hash, published, "published Microsoft hash");
        assert_eq!(got[0].hash_type, RssHashType::L3);
        assert_eq!(got[0].queue, table[published as usize % 128]);
    }
    t.teardown_and_check();
}

#[test]
fn both_directions_of_a_flow_hash_alike() {
    // The L3/L4 sort the driver enables makes the hash symmetric.
    let mut t = BackToBack::new();
    let mut rng = Rng::new(4242);
    let mut frames = Vec::new();
    for kind in FLOW_KINDS {
        for _ in 0..8 {
            let f = random_flow(kind, &mut rng, 20);
            let p = net::parse(&f).unwrap();
            let l4 = p.l4.unwrap();
            let rev = match p.l3 {
                L3::V4 { src, dst, .. } => {
                    let b = if kind == FlowKind::Tcp4 {
                        FrameBuilder::tcp4(dst, src, l4.dst_port, l4.src_port)
                    } else {
                        FrameBuilder::udp4(dst, src, l4.dst_port, l4.src_port)
                    };
                    b.macs(MAC_A, MAC_B).payload_len(20).build()
                }
                L3::V6 { src, dst, .. } => {
                    let b = if kind == FlowKind::Tcp6 {
                        FrameBuilder::tcp6(dst, src, l4.dst_port, l4.src_port)
                    } else {
                        FrameBuilder::udp6(dst, src, l4.dst_port, l4.src_port)
                    };
                    b.macs(MAC_A, MAC_B).payload_len(20).build()
                }
                _ => unreachable!(),
            };
            frames.push((f, rev));
        }
    }
    for (fwd, rev) in frames {
        let g1 = t.transfer('a', 0, &[fwd], false, 0);
        let g2 = t.transfer('a', 0, &[rev], false, 0);
        assert_eq!(g1[0].hash, g2[0].hash);
        assert_eq!(g1[0].queue, g2[0].queue);
    }
    t.teardown_and_check();
}

#[test]
fn custom_key_and_table_change_the_mapping_exactly() {
    let mut t = BackToBack::new();
    let frames = mixed_flows(99, 48);
    let before: BTreeMap<Vec<u8>, u32> = t
        .transfer('a', 0, &frames, false, 0)
        .into_iter()
        .map(|g| (g.frame, g.hash))
        .collect();
    assert_eq!(before.len(), frames.len());

    // Key only.
    let key = custom_key();
    t.b.dev()
        .set_rss(&RssConfig {
            key: Some(&key),
            table: None,
        })
        .unwrap();
    let (k, table) = rss_of(&mut t.b);
    assert_eq!(k, key);
    assert_eq!(
        table,
        default_table(128, 4),
        "table untouched by a key change"
    );
    let got = t.transfer('a', 0, &frames, false, 0);
    assert_rss_mapping(&got, &key, &table);
    let changed = got.iter().filter(|g| before[&g.frame] != g.hash).count();
    assert!(
        changed > frames.len() / 2,
        "a new key changes the hashes ({changed} changed)"
    );

    // Table only.
    let table = custom_table(128, 4);
    t.b.dev()
        .set_rss(&RssConfig {
            key: None,
            table: Some(&table),
        })
        .unwrap();
    assert_eq!(rss_of(&mut t.b), (key.clone(), table.clone()));
    let got = t.transfer('a', 0, &frames, false, 0);
    assert_rss_mapping(&got, &key, &table);
    assert_eq!(per_queue(&got).len(), 4);

    // Both at once, with a table that starves queues 0 and 2.
    let key2: Vec<u8> = key.iter().rev().copied().collect();
    let skewed: Vec<u16> = (0..128).map(|i| if i % 8 == 0 { 1 } else { 3 }).collect();
    t.b.dev()
        .set_rss(&RssConfig {
            key: Some(&key2),
            table: Some(&skewed),
        })
        .unwrap();
    let got = t.transfer('a', 0, &frames, false, 0);
    assert_rss_mapping(&got, &key2, &skewed);
    let spread = per_queue(&got);
    assert!(spread.keys().all(|q| *q == 1 || *q == 3), "{spread:?}");
    assert!(spread[&3] > spread[&1]);

    // Back to the default key: the default hashes come back.
    t.b.dev()
        .set_rss(&RssConfig {
            key: Some(&DEFAULT_RSS_KEY),
            table: None,
        })
        .unwrap();
    let got = t.transfer('a', 0, &frames, false, 0);
    assert!(got.iter().all(|g| before[&g.frame] == g.hash));
    assert_rss_mapping(&got, &DEFAULT_RSS_KEY, &skewed);
    t.teardown_and_check();
}

#[test]
fn table_set_while_down_is_pushed_at_open() {
    let mut t = BackToBack::new();
    t.b.close().unwrap();
    let table = custom_table(128, 4);
    let key = custom_key();
    t.b.dev()
        .set_rss(&RssConfig {
            key: Some(&key),
            table: Some(&table),
        })
        .unwrap();
    t.b.open().unwrap();
    t.settle();
    let got = t.transfer('a', 0, &mixed_flows(5, 32), false, 0);
    assert_rss_mapping(&got, &key, &table);
    t.teardown_and_check();
}

#[test]
fn invalid_rss_config_is_refused_and_old_config_stays_in_force() {
    let mut t = BackToBack::new();
    let key = custom_key();
    let table = custom_table(128, 4);
    t.b.dev()
        .set_rss(&RssConfig {
            key: Some(&key),
            table: Some(&table),
        })
        .unwrap();
    let frames = mixed_flows(31337, 32);

    let bad_table_len = default_table(64, 4);
    let mut bad_entry = table.clone();
    bad_entry[77] = 4; // queue 4 is not open (queues 0..=3)
    let other_key: Vec<u8> = vec![0x11; 40];
    let key_len = |given: u32| {
        Error::InvalidConfig(ConfigError::RssKeyLength {
            given,
            expected: 40,
        })
    };
    let bad_entry_err = Error::InvalidConfig(ConfigError::RssTable {
        index: 77,
        value: 4,
    });
    let table_size = |given: u32| {
        Error::InvalidConfig(ConfigError::RssTableSize {
            given,
            expected: 128,
        })
    };
    let cases: Vec<(RssConfig<'_>, &str, Error)> = vec![
        (
            RssConfig {
                key: Some(&key[..39]),
                table: None,
            },
            "key 39 bytes",
            key_len(39),
        ),
        (
            RssConfig {
                key: Some(&[7u8; 52]),
                table: None,
            },
            "key 52 bytes",
            key_len(52),
        ),
        (
            RssConfig {
                key: Some(&[]),
                table: None,
            },
            "empty key",
            key_len(0),
        ),
        (
            RssConfig {
                key: None,
                table: Some(&bad_table_len),
            },
            "table of 64 entries",
            table_size(64),
        ),
        (
            RssConfig {
                key: None,
                table: Some(&[]),
            },
            "empty table",
            table_size(0),
        ),
        (
            RssConfig {
                key: None,
                table: Some(&bad_entry),
            },
            "entry naming queue 4",
            bad_entry_err,
        ),
        // A bad table must not let the good key through either.
        (
            RssConfig {
                key: Some(&other_key),
                table: Some(&bad_entry),
            },
            "good key + bad table",
            bad_entry_err,
        ),
    ];
    for (cfg, what, want) in cases {
        let e = t.b.dev().set_rss(&cfg).expect_err(what);
        assert_eq!(e, want, "{what}");
        assert_eq!(e.errno(), 22, "EINVAL");
        assert_eq!(
            rss_of(&mut t.b),
            (key.clone(), table.clone()),
            "{what}: old config kept"
        );
        let got = t.transfer('a', 0, &frames, false, 0);
        assert_same_frames(&got, &frames);
        assert_rss_mapping(&got, &key, &table);
    }
    // A no-op request is fine and changes nothing.
    t.b.dev()
        .set_rss(&RssConfig {
            key: None,
            table: None,
        })
        .unwrap();
    assert_eq!(rss_of(&mut t.b), (key, table));
    assert_traffic_both_ways(&mut t);
    t.teardown_and_check();
}

#[test]
fn table_entry_above_queue_count_after_shrinking_is_refused() {
    let mut t = BackToBack::new();
    let cfg = t.b.dev().queue_config();
    reconfigure(
        &mut t.b,
        QueueConfig {
            num_queues: 2,
            ..cfg
        },
    )
    .unwrap();
    t.settle();
    let (key, table) = rss_of(&mut t.b);
    assert_eq!(table, default_table(128, 2), "table refitted to 2 queues");
    let got = t.transfer('a', 0, &mixed_flows(8, 32), false, 0);
    assert_rss_mapping(&got, &key, &table);
    assert_eq!(per_queue(&got).len(), 2);
    let e =
        t.b.dev()
            .set_rss(&RssConfig {
                key: None,
                table: Some(&default_table(128, 4)),
            })
            .unwrap_err();
    assert_eq!(
        e,
        Error::InvalidConfig(ConfigError::RssTable { index: 2, value: 2 })
    );
    assert_eq!(rss_of(&mut t.b).1, default_table(128, 2));
    t.teardown_and_check();
}

#[test]
fn key_refused_by_the_device_keeps_the_old_key_in_force() {
    let mut t = BackToBack::new();
    t.b.model.borrow_mut().inject(EnaFault::AdminStatus {
        filter: AdminFilter::feature(SET_FEATURE, FEATURE_RSS_HASH_FUNCTION),
        status: 5,
        count: 1,
    });
    let key = custom_key();
    let e =
        t.b.dev()
            .set_rss(&RssConfig {
                key: Some(&key),
                table: None,
            })
            .unwrap_err();
    assert_eq!(e, Error::DeviceStatus(5));
    let (k, table) = rss_of(&mut t.b);
    assert_eq!(
        k, DEFAULT_RSS_KEY,
        "driver still reports the key the device uses"
    );
    let got = t.transfer('a', 0, &mixed_flows(3, 32), false, 0);
    assert_rss_mapping(&got, &DEFAULT_RSS_KEY, &table);
    // The next attempt goes through.
    t.b.dev()
        .set_rss(&RssConfig {
            key: Some(&key),
            table: None,
        })
        .unwrap();
    let got = t.transfer('a', 0, &mixed_flows(3, 32), false, 0);
    assert_rss_mapping(&got, &key, &table);
    t.teardown_and_check();
}

#[test]
fn vlan_tagged_flows_and_ipv4_fragments_follow_their_slots() {
    let mut t = BackToBack::new();
    let mut rng = Rng::new(0xabcd);
    let mut frames = Vec::new();
    for i in 0..32u16 {
        // VLAN-tagged TCP/UDP: hashed over the inner 4-tuple.
        let f = FrameBuilder::tcp4(rng.bytes(), rng.bytes(), rng.next_u16(), rng.next_u16())
            .macs(MAC_A, MAC_B)
            .vlan(100 + i)
            .payload_len(40)
            .build();
        frames.push(f);
        // First fragment of a UDP datagram (MF set): slot IPv4-frag hashes
        // the addresses only, even though the UDP ports are present.
        let mut f = FrameBuilder::udp4(rng.bytes(), rng.bytes(), rng.next_u16(), 53)
            .macs(MAC_A, MAC_B)
            .df(false)
            .payload_len(64)
            .build();
        let p = net::parse(&f).unwrap();
        f[p.l3_offset + 6] |= 0x20; // more fragments
        f[p.l3_offset + 10..p.l3_offset + 12].fill(0);
        let p = net::parse(&f).unwrap();
        net::fill_ipv4_header_csum(&mut f, &p);
        assert!(p.is_fragment());
        frames.push(f);
    }
    let got = t.transfer('a', 0, &frames, false, 0);
    assert_same_frames(&got, &frames);
    let (key, table) = rss_of(&mut t.b);
    assert_rss_mapping(&got, &key, &table);
    assert_eq!(
        got.iter()
            .filter(|g| g.hash_type == RssHashType::L3)
            .count(),
        32,
        "fragments: L3 hash"
    );
    assert_eq!(per_queue(&got).len(), 4);
    t.teardown_and_check();
}

/// A table the user never set is spread again over the new queue count on
/// every channel change (ena.md §6.7 default fill; Linux
/// `netif_is_rxfh_configured` false): after 4 → 2 → 4 all four queues
/// receive RSS traffic again.
#[test]
fn default_table_respreads_when_queue_count_grows_again() {
    let mut t = BackToBack::new();
    let cfg = t.b.dev().queue_config();
    reconfigure(
        &mut t.b,
        QueueConfig {
            num_queues: 2,
            ..cfg
        },
    )
    .unwrap();
    reconfigure(
        &mut t.b,
        QueueConfig {
            num_queues: 4,
            ..cfg
        },
    )
    .unwrap();
    t.settle();
    let (key, table) = rss_of(&mut t.b);
    let got = t.transfer('a', 0, &mixed_flows(11, 64), false, 0);
    assert_rss_mapping(&got, &key, &table);
    assert_eq!(
        per_queue(&got).len(),
        4,
        "all 4 queues after growing back: {:?}",
        per_queue(&got)
    );
    t.teardown_and_check();
}

/// A table of the wrong size names both sizes (`ConfigError::RssTableSize`),
/// not an entry that is "not an open queue".
#[test]
fn wrong_table_size_error_names_both_sizes() {
    let mut t = BackToBack::new();
    let short = vec![0u16; 64];
    let e =
        t.b.dev()
            .set_rss(&RssConfig {
                key: None,
                table: Some(&short),
            })
            .unwrap_err();
    assert_eq!(e.errno(), 22);
    let text = e.to_string();
    assert!(text.contains("64") && text.contains("128"), "{text}");
    assert!(!text.contains("not an open queue"), "{text}");
    t.teardown_and_check();
}

/// When the device refuses a new indirection table, `set_rss` returns the
/// error and the old table stays in force: `get_rss` (ethtool -x) shows
/// what the device steers with, and a reset restores that table, not the
/// refused one.
#[test]
fn table_refused_by_the_device_is_not_reported_as_in_force() {
    let mut t = BackToBack::new();
    let (key, old) = rss_of(&mut t.b);
    t.b.model.borrow_mut().inject(EnaFault::AdminStatus {
        filter: AdminFilter::feature(SET_FEATURE, FEATURE_RSS_INDIRECTION_TABLE),
        status: 5,
        count: 1,
    });
    let new: Vec<u16> = (0..128).map(|i| 3 - (i % 4) as u16).collect();
    assert!(t
        .b
        .dev()
        .set_rss(&RssConfig {
            key: None,
            table: Some(&new)
        })
        .is_err());
    assert!(
        rss_of(&mut t.b).1 == old,
        "get_rss reports the refused table; the device still steers with the old one"
    );
    let got = t.transfer('a', 0, &mixed_flows(21, 32), false, 0);
    assert_rss_mapping(&got, &key, &old);
    // A reset must restore what was in force, not the refused table.
    reset(&mut t.b, ResetReason::UserTrigger);
    t.settle();
    let got = t.transfer('a', 0, &mixed_flows(21, 32), false, 0);
    assert_rss_mapping(&got, &key, &old);
    t.teardown_and_check();
}

/// A device answering "unsupported" to an explicit table (ethtool -X) is an
/// error for the user, not a silent success; the default table stays.
#[test]
fn table_the_device_does_not_support_is_refused_with_unsupported() {
    let mut t = BackToBack::new();
    let (key, old) = rss_of(&mut t.b);
    t.b.model.borrow_mut().inject(EnaFault::AdminStatus {
        filter: AdminFilter::feature(SET_FEATURE, FEATURE_RSS_INDIRECTION_TABLE),
        status: 3, // unsupported feature (ena.md §3.5)
        count: 1,
    });
    let new = custom_table(128, 4);
    assert_eq!(
        t.b.dev().set_rss(&RssConfig {
            key: None,
            table: Some(&new)
        }),
        Err(Error::Unsupported)
    );
    assert_eq!(rss_of(&mut t.b).1, old, "the refused table is not reported");
    let got = t.transfer('a', 0, &mixed_flows(22, 32), false, 0);
    assert_rss_mapping(&got, &key, &old);
    t.teardown_and_check();
}
