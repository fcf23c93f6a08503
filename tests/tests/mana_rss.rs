//! MANA receive-side scaling through the real driver: frames spread over 8
//! queues exactly as Toeplitz over the programmed key and indirection table
//! says (computed independently with `cloudnic_common::rss`), for TCP/UDP
//! over IPv4/IPv6 (L4 hash) and other IP (L3 hash); a new key and table
//! from `set_rss` take effect at once.

use std::collections::BTreeMap;

use cloudnic_common::nic::{NetDevice, RssConfig, RssHashType};
use cloudnic_common::rss::{queue_for_hash, RssInput};
use cloudnic_models::net::FrameBuilder;
use cloudnic_tests::testbed::mana::{ManaPair, NodeOptions, Received};

fn pair8() -> ManaPair {
    let mut o = NodeOptions::new("a");
    o.qcfg.num_queues = 8;
    o.qcfg.rx_ring_size = 128;
    o.qcfg.tx_ring_size = 128;
    ManaPair::with(o.clone(), o)
}

/// (frame, expected hash input, L4?) for flow `i`.
fn flow(i: u16) -> (Vec<u8>, RssInput, bool) {
    let (s, d) = ([10, 7, (i >> 8) as u8, i as u8], [10, 9, 0, (i % 5) as u8]);
    let (sp, dp) = (1024 + i * 7, 80 + i % 11);
    match i % 4 {
        0 => (
            FrameBuilder::tcp4(s, d, sp, dp).payload(&[1; 20]).build(),
            RssInput::ipv4_ports(s, d, sp, dp),
            true,
        ),
        1 => (
            FrameBuilder::udp4(s, d, sp, dp).payload(&[2; 20]).build(),
            RssInput::ipv4_ports(s, d, sp, dp),
            true,
        ),
        2 => {
            let mut s6 = [0u8; 16];
            s6[0] = 0xfd;
            s6[14..].copy_from_slice(&i.to_be_bytes());
            let d6 = [0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 9, 9];
            (
                FrameBuilder::tcp6(s6, d6, sp, dp).payload(&[3; 20]).build(),
                RssInput::ipv6_ports(s6, d6, sp, dp),
                true,
            )
        }
        _ => {
            // IPv4 first fragment: ports are not hashed (L3 only).
            let mut f = FrameBuilder::udp4(s, d, sp, dp).payload(&[4; 20]).build();
            f[14 + 6] |= 0x20;
            f[14 + 10..14 + 12].fill(0);
            let p = cloudnic_models::net::parse(&f).unwrap();
            cloudnic_models::net::fill_ipv4_header_csum(&mut f, &p);
            (f, RssInput::ipv4(s, d), false)
        }
    }
}

/// Send `n` flows from a to b (queue 0) and check each against Toeplitz.
fn check_spread(t: &mut ManaPair, n: u16) -> BTreeMap<u16, usize> {
    let mut key = [0u8; 40];
    let mut table = vec![0u16; 64];
    let (kl, tl) = t.b.nd(0).get_rss(&mut key, &mut table);
    assert_eq!((kl, tl), (40, 64));
    let flows: Vec<_> = (0..n).map(flow).collect();
    let frames: Vec<Vec<u8>> = flows.iter().map(|f| f.0.clone()).collect();
    let got: Vec<Received> = frames
        .chunks(64)
        .flat_map(|c| t.transfer('a', 0, 0, c, false, 0))
        .collect();
    assert_eq!(got.len(), frames.len());
    let mut per_q = BTreeMap::new();
    for g in &got {
        let (_, input, l4) = flows.iter().find(|f| f.0 == g.frame).expect("sent frame");
        let h = input.hash(&key);
        assert_eq!(g.hash, h, "Toeplitz hash over the programmed key");
        assert_eq!(
            g.hash_type,
            if *l4 {
                RssHashType::L4
            } else {
                RssHashType::L3
            }
        );
        assert_eq!(
            Some(g.queue),
            queue_for_hash(&table, h),
            "queue = table[hash % 64]"
        );
        *per_q.entry(g.queue).or_insert(0) += 1;
    }
    per_q
}

#[test]
fn rss_spreads_over_eight_queues_as_toeplitz_says() {
    let mut t = pair8();
    let per_q = check_spread(&mut t, 400);
    assert_eq!(per_q.len(), 8, "all 8 queues used: {per_q:?}");
    assert!(
        per_q.values().all(|n| *n >= 20),
        "reasonably even: {per_q:?}"
    );
    let (rss, _, table) = t.b.model.borrow().rss(0).unwrap();
    assert!(rss);
    let (_, rqs) = t.b.model.borrow().vport_queues(0);
    assert!(
        table.iter().all(|rq| rqs.contains(rq)),
        "table names the vPort's RQs"
    );
    t.teardown_and_check();
}

#[test]
fn new_key_and_table_take_effect_and_survive_a_reset() {
    let mut t = pair8();
    let key: Vec<u8> = (0..40u8).map(|i| i.wrapping_mul(73) ^ 0xA5).collect();
    let table: Vec<u16> = (0..64).map(|i| 4 + (i % 4) as u16).collect();
    t.b.nd(0)
        .set_rss(&RssConfig {
            key: Some(&key),
            table: Some(&table),
        })
        .expect("set_rss");
    assert_eq!(
        t.b.model.borrow().rss(0).unwrap().1.to_vec(),
        key,
        "device has the new key"
    );
    let per_q = check_spread(&mut t, 200);
    assert!(per_q.keys().all(|q| *q >= 4), "only queues 4..7: {per_q:?}");
    assert_eq!(per_q.len(), 4);
    // A reset restores key and table on the device.
    t.b.run_reset(cloudnic_common::ResetReason::UserTrigger)
        .expect("reset");
    t.settle();
    assert_eq!(t.b.model.borrow().rss(0).unwrap().1.to_vec(), key);
    let per_q = check_spread(&mut t, 100);
    assert!(per_q.keys().all(|q| *q >= 4));
    t.teardown_and_check();
}
