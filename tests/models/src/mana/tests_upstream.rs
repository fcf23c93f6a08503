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
