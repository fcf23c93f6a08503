//! ENA has no VLAN offload (no tag field in its TX descriptors, no VLAN bit
//! in STATELESS_OFFLOAD, ena.md §3.6/§5): it advertises neither VLAN cap,
//! refuses a tag-insertion request with a typed error (counted, nothing
//! posted, no reset), and carries software-tagged frames untouched.

use cloudnic_common::nic::{NetDevice, OffloadCaps, TxError};
use cloudnic_models::net::{parse, pattern, CsumMode, FrameBuilder};
use cloudnic_tests::testbed::BackToBack;

const MAC_A: [u8; 6] = [0x02, 0, 0, 0, 0, 0xa];
const MAC_B: [u8; 6] = [0x02, 0, 0, 0, 0, 0xb];

#[test]
fn ena_refuses_a_tag_insertion_request_cleanly_and_keeps_working() {
    let mut t = BackToBack::new();
    let caps = t.a.dev().info().offloads;
    assert!(!caps.intersects(OffloadCaps::TX_VLAN_INSERT | OffloadCaps::RX_VLAN_STRIP));
    let frame = FrameBuilder::tcp4([10, 0, 0, 1], [10, 0, 0, 2], 4000, 80)
        .macs(MAC_A, MAC_B)
        .payload(&pattern(3000, 1))
        .csum(CsumMode::Partial)
        .build();
    // With and without TSO: the tag request alone makes it invalid.
    assert_eq!(t.a.send_tagged(0, &frame, 0, 100), Err(TxError::Invalid));
    assert_eq!(t.a.send_tagged(0, &frame, 1448, 100), Err(TxError::Invalid));
    assert_eq!(t.a.stat("queue_0_tx_prepare_ctx_err"), Some(2));
    assert_eq!(t.a.stat("queue_0_tx_cnt"), Some(0), "nothing posted");
    assert_eq!(t.a.dev().pending_reset(), None, "a bad request is no fault");
    // The same queue still carries traffic: offloaded TSO, and a frame the
    // stack tagged in software, which arrives with its tag in the data.
    let got = t.transfer('a', 0, std::slice::from_ref(&frame), true, 1448);
    assert_eq!(got.len(), 3000usize.div_ceil(1448));
    assert!(got.iter().all(|g| g.vlan_tci.is_none()));
    let tagged = FrameBuilder::udp4([10, 0, 0, 1], [10, 0, 0, 2], 1, 2)
        .macs(MAC_A, MAC_B)
        .vlan(0x6064)
        .payload(&pattern(200, 2))
        .build();
    let got = t.transfer('a', 0, std::slice::from_ref(&tagged), false, 0);
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].frame, tagged, "software tag passes untouched");
    assert_eq!(parse(&got[0].frame).unwrap().vlan, Some(0x6064));
    assert_eq!(got[0].vlan_tci, None, "ENA strips nothing");
    assert!(t.run_for(3_000_000).is_empty(), "no reset");
    t.teardown_and_check();
}
