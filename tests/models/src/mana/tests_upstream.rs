//! Tests that pin what the unmodified upstream Linux `mana` driver (Debian
//! 7.2.13 `mana.ko`) showed about the model when it drove it in a QEMU
//! guest (tests/emu, `e2e/run.sh --device mana`). Each test names the
//! disagreement it fixed.

use cloudnic_mana::defs::eth::{QueryDevConfigReq, QueryVportConfigReq};
use cloudnic_mana::defs::msg::{GdmaDevId, GdmaRequest, GDMA_DEVICE_MANA};
use zerocopy::FromZeros;

use super::test_driver::RawDriver;
use super::ManaModelConfig;

/// mana.ko 7.2 sends QUERY_DEV_CONFIG from GDMA setup (to budget MSI-X per
/// vPort) with the MANA device id from LIST_DEVICES, before REGISTER_DEVICE.
/// The model answered status 3 (not found) until the device was registered,
/// and the guest logged "Failed to query config: -71" and failed probe.
#[test]
fn query_dev_config_is_answered_before_register_device() {
    let mut d = RawDriver::new(ManaModelConfig::default());
    assert_eq!(d.establish().status(), 0);
    let mana = GdmaDevId::new(GDMA_DEVICE_MANA, d.dev.config().mana_dev_instance);
    let mut q = QueryDevConfigReq::new_zeroed();
    q.hdr = QueryDevConfigReq::header(mana);
    (q.proto_major_ver, q.proto_minor_ver, q.proto_micro_ver) = (0, 1, 1);
    let (status, r) = d.send(q);
    assert_eq!(status, 0);
    assert_eq!(r.max_num_vports, 1);
    assert_eq!(r.adapter_mtu, 9014);
    assert!(!d.dev.registered(), "answering does not register");
    // Other MANA requests still need the registered device.
    let mut v = QueryVportConfigReq::new_zeroed();
    v.hdr = QueryVportConfigReq::header(mana);
    assert_ne!(d.send(v).0, 0);
    // A request naming another device is still refused.
    let mut other = QueryDevConfigReq::new_zeroed();
    other.hdr = QueryDevConfigReq::header(GdmaDevId::new(GDMA_DEVICE_MANA, 7));
    assert_ne!(d.send(other).0, 0);
}

/// mana.ko builds every TSO packet with the IPv4 total length (or IPv6
/// payload length) and IP checksum zeroed and the TCP checksum seeded with
/// a zero-length pseudo-header (mana.md §6.6). The model segmented only the
/// payload the zero length covered: each TSO WQE became one header-only
/// frame, so two of every three segments vanished and the guest's TCP spent
/// the bulk transfer in SACK recovery and RTOs (3 Mbit/s; once, a transfer
/// ended short with a wrong sha256).
#[test]
fn tso_ignores_the_zeroed_ip_length_mana_ko_writes() {
    use cloudnic_mana::defs::eth_dp::{cqe_type, TxShortOob, TX_PKT_FMT_SHORT};
    use zerocopy::IntoBytes;

    use super::tests_io::{rig, tx_cqe};
    use crate::net::offload::{ipv4_header_csum_ok, l4_csum_ok};
    use crate::net::{parse, pattern, CsumMode, FrameBuilder};

    let (mut d, peer, _, mut p, _) = rig(ManaModelConfig::default());
    let payload = pattern(2896, 3);
    let mut frame = FrameBuilder::tcp4([1, 1, 1, 1], [2, 2, 2, 2], 10, 20)
        .payload(&payload)
        .csum(CsumMode::Partial)
        .build();
    // As mana_start_xmit leaves it: tot_len 0, IP checksum 0.
    frame[14 + 2..14 + 4].copy_from_slice(&[0, 0]);
    frame[14 + 10..14 + 12].copy_from_slice(&[0, 0]);
    let flags = TxShortOob::IS_OUTER_IPV4 | TxShortOob::COMP_IP_CSUM | TxShortOob::COMP_TCP_CSUM;
    let oob = TxShortOob::new(TX_PKT_FMT_SHORT, flags, p.sq_cq.id, 34, p.sq.id, 0);
    d.post_tx(&mut p.sq, oob.as_bytes(), &frame, Some(54), 1448);
    assert_eq!(tx_cqe(&d, &mut p.sq_cq).0, cqe_type::TX_OKAY);
    let mut got = Vec::new();
    while let Some(f) = peer.recv() {
        let pp = parse(&f).unwrap();
        assert_eq!(ipv4_header_csum_ok(&f, &pp), Some(true));
        assert_eq!(l4_csum_ok(&f, &pp), Some(true));
        assert_eq!(
            usize::from(u16::from_be_bytes([f[16], f[17]])),
            f.len() - 14
        );
        got.extend_from_slice(&f[54..]);
    }
    assert_eq!(got, payload, "both 1448-byte segments, in order");
}
