//! MANA bring-up against the device model: BAR0 layout, SMC, HWC init
//! EQEs, GDMA negotiation, registration, vPort discovery, open and close.

mod mana_common;

use cloudnic_common::nic::NetDevice;

use mana_common::{ManaPair, NodeOptions};

#[test]
fn probe_open_traffic_and_clean_teardown() {
    let mut t = ManaPair::new();
    assert!(t.a.probe_error.is_none(), "probe: {:?}", t.a.probe_error);
    t.assert_traffic_both_ways(3);
    t.teardown_and_check();
    let _ = NodeOptions::new("x");
}

#[test]
fn debug_dump() {
    let mut t = ManaPair::new();
    t.assert_traffic_both_ways(3);
    println!("{:#?}", t.a.model.borrow().counters());
    for (_, l) in t.a.log().lines() { println!("{l}"); }
    let s: Vec<_> = { let mut v = vec![]; t.a.nd(0).for_each_stat(&mut |n, x| v.push((n.to_string(), x))); v };
    for (n, x) in s { if x != 0 { println!("{n}: {x}"); } }
}
