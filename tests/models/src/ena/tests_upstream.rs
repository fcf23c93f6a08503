//! Tests that pin what the unmodified upstream Linux `ena` driver showed
//! about the model when it drove it in a QEMU guest (tests/emu, e2e/), and
//! the shared-BAR2 seam the vfio-user server uses for LLQ.

use std::rc::Rc;

use cloudnic_ena::defs::admin::{
    AdminStatus, CustomerMetricsResp, FeatureId, GetStatsCmd, MtuFeature, SetFeatureCmd,
    CUSTOMER_METRICS_SUPPORT_MASK,
};
use cloudnic_ena::defs::aenq::{AenqGroup, LinkChangePayload, AENQ_ENABLED_GROUPS_MASK};
use cloudnic_ena::defs::io::{
    tx_offload_ctrl, TxDesc, TxDescCtrl, TxDescMetaCtrl, L3_PROTO_IPV4, L4_PROTO_UDP,
};

use super::test_driver::RawDriver;
use super::tests_io::{A, B};
use super::EnaModelConfig;
use crate::devmem::{DeviceMemory, LocalDeviceMemory};
use crate::net::FrameBuilder;
use crate::wire::Port;
use crate::Device;

/// LLQ lines written straight into shared BAR2 memory (as a guest's
/// write-combining stores land in the server's memfd, with no MMIO message)
/// are transmitted exactly like lines written through `mmio_write`.
#[test]
fn llq_lines_in_shared_bar2_memory_are_transmitted() {
    let cfg = EnaModelConfig::default();
    let shared = Rc::new(LocalDeviceMemory::new(cfg.bar2_size as usize));
    let (pa, pb) = Port::pair();
    let mut a = RawDriver::new(cfg.clone());
    a.dev
        .use_shared_bar2(shared.clone())
        .expect("BAR2-sized memory");
    a.set_resp_addr();
    a.reset(0);
    a.admin_init();
    a.dev.connect(pa);
    a.enable_llq();
    let mut q = a.create_pair(1, 64, true);
    let base = q.llq_off.unwrap() as usize;
    let frame = FrameBuilder::udp4(A, B, 7, 9).payload_len(40).build();
    let d = TxDesc::data(
        0,
        5,
        0,
        TxDescCtrl::PHASE | TxDescCtrl::FIRST | TxDescCtrl::COMP_REQ | TxDescCtrl::LAST,
        tx_offload_ctrl(L3_PROTO_IPV4, L4_PROTO_UDP, TxDescMetaCtrl::empty()),
        frame.len() as u8,
    )
    .to_qwords();
    let mut line = [0u8; 128];
    line[..8].copy_from_slice(&d[0].to_le_bytes());
    line[8..16].copy_from_slice(&d[1].to_le_bytes());
    line[32..32 + frame.len()].copy_from_slice(&frame);
    assert!(shared.write(base, &line));
    let mmio_before = a.dev.counters().mmio_writes;
    q.tx_tail = 1;
    a.ring_tx(&q);
    assert_eq!(
        a.dev.counters().mmio_writes,
        mmio_before + 1,
        "doorbell only"
    );
    assert_eq!(
        a.poll_tx(&mut q)
            .iter()
            .map(|c| c.req_id)
            .collect::<Vec<_>>(),
        vec![5]
    );
    assert_eq!(pb.recv().unwrap(), frame);
    // The model reads BAR2 loads from the shared memory too.
    assert_eq!(a.dev.mmio_read(2, base as u64, 8), d[0]);
    // A device reset zeroes the shared memory.
    a.reset(0);
    let mut back = [0xFFu8; 16];
    assert!(shared.read(base, &mut back));
    assert_eq!(back, [0u8; 16]);
}

/// Shared memory of the wrong size is refused.
#[test]
fn shared_bar2_must_match_the_bar_size() {
    let mut a = RawDriver::new(EnaModelConfig::default());
    assert_eq!(
        a.dev.use_shared_bar2(Rc::new(LocalDeviceMemory::new(4096))),
        Err(4096)
    );
}

/// Upstream `ena` (7.2) probes customer-metrics support at init with
/// GET_STATS type 4, `requested_metrics` = the full support mask and no
/// control buffer (address 0, length 0), and only reads `reported_metrics`
/// from the completion. The model used to answer MALFORMED_REQUEST (status
/// 4: "Failed to query customer metrics support. error: -22" in the guest
/// log at every probe and reset); it must report the supported metrics.
#[test]
fn customer_metrics_support_query_without_buffer_succeeds() {
    let mut a = RawDriver::bring_up(EnaModelConfig::default());
    let acq = a
        .submit(&GetStatsCmd::customer_metrics(
            CUSTOMER_METRICS_SUPPORT_MASK,
            0,
            0,
        ))
        .expect("completion");
    assert_eq!(acq.common.status, AdminStatus::Success as u8);
    let resp: CustomerMetricsResp = acq.response().expect("response");
    assert_eq!(resp.reported_metrics, CUSTOMER_METRICS_SUPPORT_MASK);
    // With a buffer, values are still written and checked against its size.
    let buf = a.arena.alloc(512, 8).unwrap();
    let acq = a
        .submit(&GetStatsCmd::customer_metrics(0x3, buf, 8))
        .expect("completion");
    assert_eq!(
        acq.common.status,
        AdminStatus::MalformedRequest as u8,
        "two values do not fit in 8 bytes"
    );
}

/// Upstream `ena` starts with the carrier off and turns it on only when a
/// LINK_CHANGE event with the link-up flag arrives (ena_update_on_link_change);
/// it never queries the link. Under the real driver the model's NICs stayed
/// "DOWN / NO-CARRIER" forever. A device with its link up must announce it
/// when the driver enables the LINK_CHANGE group, at probe and again after
/// every reset (the reset forgets the AENQ configuration); a link that is
/// down is not announced.
#[test]
fn enabling_link_change_group_announces_link_up_after_every_reset() {
    let mut d = RawDriver::bring_up(EnaModelConfig::default());
    d.enable_mgmt_interrupts();
    for round in 0..2 {
        d.enable_aenq(AENQ_ENABLED_GROUPS_MASK);
        let ev = d.poll_aenq();
        assert_eq!(ev.len(), 1, "round {round}");
        assert_eq!(ev[0].common.group, AenqGroup::LinkChange as u16);
        assert_eq!(ev[0].payload_as::<LinkChangePayload>().unwrap().flags, 1);
        // Re-enabling an enabled group announces nothing new.
        d.enable_aenq(AENQ_ENABLED_GROUPS_MASK);
        assert!(d.poll_aenq().is_empty());
        d.reset(0);
        d.admin_init();
        d.enable_mgmt_interrupts();
    }
    // Link down: nothing to announce at enable time.
    d.dev.inject(crate::ena::EnaFault::LinkDown);
    d.enable_aenq(AENQ_ENABLED_GROUPS_MASK);
    assert!(d.poll_aenq().is_empty());
}

/// Upstream `ena` sends SET_FEATURE MTU only from `ndo_change_mtu`; its reset
/// path (ena_destroy_device / ena_restore_device / ena_up) never sends it
/// again. In the QEMU e2e both NICs ran at MTU 9000 and the model fell back
/// to 1500 after a watchdog reset (its final `mtu` counter read 1500), so
/// jumbo frames the driver then sent without TSO would have been dropped as
/// oversize. The MTU the driver programmed must survive a device reset.
#[test]
fn mtu_survives_device_reset() {
    let (pa, pb) = Port::pair();
    let mut a = RawDriver::bring_up(EnaModelConfig::default());
    a.dev.connect(pa);
    a.ok(&SetFeatureCmd::new(
        FeatureId::Mtu,
        &MtuFeature { mtu: 9000 },
    ));
    a.reset(0);
    a.admin_init();
    assert_eq!(a.dev.mtu(), 9000);
    let mut q = a.create_pair(1, 64, false);
    let frame = FrameBuilder::udp4(A, B, 7, 9).payload_len(8000).build();
    a.queue_tx(
        &mut q,
        3,
        &[&frame],
        super::test_driver::Offload {
            l3_proto: 0,
            l4_proto: 0,
            flags: TxDescMetaCtrl::empty(),
            meta: None,
        },
    );
    a.ring_tx(&q);
    assert_eq!(
        pb.recv().as_deref(),
        Some(&frame[..]),
        "8 KB frame on the wire"
    );
    assert_eq!(a.dev.counters().tx_oversize, 0);
}
