//! Probe, HWC and GDMA bring-up.

extern crate std;

use crate::fake::{dev::FAKE_BAR_LEN, setup, FakeDev};
use crate::ManaDevice;
use crate::config::ManaConfig;

pub(crate) fn cfg() -> ManaConfig {
    let mut c = ManaConfig { bar_len: FAKE_BAR_LEN, ..Default::default() };
    c.gdma.smc_poll = (10, 100);
    c.service_settle_us = 1000;
    c
}

#[test]
fn probe_brings_up_hwc_and_ports() {
    let (plat, bar, sh) = setup(FakeDev::new());
    let d = ManaDevice::probe(plat, bar, cfg()).unwrap();
    assert_eq!(d.num_ports(), 1);
    let dev = sh.dev.borrow();
    assert!(dev.registered);
    assert_eq!(&dev.requests[..4], &[10, 1, 3, 2]);
}
