//! Regression tests for two hw-mana recovery bugs the MANA model found: an
//! interrupt storm when a CQ was re-armed with a reset pending, and a failed
//! re-initialisation that left no reset pending.

use cloudnic_common::nic::NetDevice;
use cloudnic_common::ResetReason;
use cloudnic_models::mana::{CqeMalformation, CqeTarget, ManaFault, RegionFailure};
use cloudnic_models::net::FrameBuilder;
use cloudnic_tests::testbed::mana::ManaPair;

const TICK_US: u64 = 1_000_000;

fn frame() -> Vec<u8> {
    FrameBuilder::udp4([10, 0, 0, 1], [10, 0, 0, 2], 2000, 9)
        .payload(&[1; 32])
        .build()
}

/// A CQE whose owner count is neither the expected nor the previous pass is
/// an overflow: the driver counts it and requests a reset, but
/// `ManaDevice::nd_unmask` (hw-mana/src/netdev.rs) still re-arms the CQ at
/// the unmoved head. The device sees an arm index one entry behind its tail
/// and fires at once (mana.md §4.6), the poll finds the same entry, re-arms,
/// and so on: an interrupt storm that kept the reset from ever running.
/// Fixed: `nd_unmask` skips `qp.arm` while a reset is pending, as Linux
/// ENA's NAPI does once ENA_FLAG_TRIGGER_RESET is set.
#[test]

fn wrong_owner_count_is_an_overflow_and_resets() {
    for (target, reason) in [
        (CqeTarget::Tx(None), ResetReason::TxDescriptorMalformed),
        (CqeTarget::Rx(None), ResetReason::RxDescriptorMalformed),
    ] {
        let mut t = ManaPair::new();
        t.a.model.borrow_mut().inject(ManaFault::MalformedCqe {
            target,
            kind: CqeMalformation::WrongOwner,
            count: 1,
        });
        let from = if matches!(target, CqeTarget::Tx(_)) {
            'a'
        } else {
            'b'
        };
        t.transfer(from, 0, 0, &[frame()], false, 0);
        assert_eq!(t.run_for(TICK_US), [('a', reason)]);
        assert_eq!(t.a.resets, [(reason, Ok(()))]);
        t.assert_traffic_both_ways(2);
        t.teardown_and_check();
    }
}

/// When the re-initialisation of a reset fails after GDMA is back (here a
/// CREATE_DMA_REGION refused while a port reopens), `reset_function`
/// (hw-mana/src/device.rs) records `reset_fail` but leaves no reset pending,
/// and `health_tick` only asks for `InitError` when `gdma` is `None`: the
/// port stays closed for good although the user wants it up (`admin_up`).
/// Linux retries (remove + rescan, mana.md §7). Fixed: a failed `reinit`
/// triggers `ResetReason::InitError`, so the next health tick retries.
#[test]

fn dma_region_failure_during_a_reset_is_retried_by_the_next_reset() {
    let mut t = ManaPair::new();
    t.a.model.borrow_mut().inject(ManaFault::DmaRegionFailure {
        kind: RegionFailure::Status(3),
        count: 1,
    });
    assert!(t.a.run_reset(ResetReason::UserTrigger).is_err());
    assert_eq!(t.a.stat(0, "reset_fail"), Some(1));
    let resets = t.run_for(TICK_US);
    assert_eq!(resets.len(), 1, "the failed reset is retried: {resets:?}");
    assert_eq!(t.a.resets.last().map(|r| r.1), Some(Ok(())));
    assert!(t.a.nd(0).is_open());
    t.assert_traffic_both_ways(2);
    t.teardown_and_check();
}
