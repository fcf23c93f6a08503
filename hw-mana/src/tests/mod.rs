//! Driver state-machine tests over the fake device ([`crate::fake`]).

extern crate std;

mod bringup;
mod hwc;
mod queues;
mod recovery;
mod traffic;
mod vlan;

use std::rc::Rc;
use std::vec::Vec;

use cloudnic_common::nic::{
    DmaSegment, L3Proto, L4Proto, NetDevice, QueueConfig, RxBuffer, TxOffload, TxPacket,
};

use crate::config::ManaConfig;
use crate::fake::{dev::FAKE_BAR_LEN, setup, FakeBar, FakeDev, FakePlat, Shared};
use crate::ManaDevice;

pub(crate) type Dev = ManaDevice<FakePlat, FakeBar>;

/// Fast test configuration: short SMC polls and settle time.
pub(crate) fn cfg() -> ManaConfig {
    let mut c = ManaConfig {
        bar_len: FAKE_BAR_LEN,
        ..Default::default()
    };
    c.gdma.smc_poll = (10, 100);
    c.service_settle_us = 1000;
    c.fence_timeout_us = 10_000;
    c.tx_drain_timeout_us = 10_000;
    c
}

/// Probe a fake device.
pub(crate) fn probe(fake: FakeDev) -> (Dev, Rc<Shared>) {
    let (plat, bar, sh) = setup(fake);
    (ManaDevice::probe(plat, bar, cfg()).unwrap(), sh)
}

/// Small queue layout.
pub(crate) fn qcfg(n: u16) -> QueueConfig {
    QueueConfig {
        num_queues: n,
        tx_ring_size: 128,
        rx_ring_size: 128,
        mtu: 1500,
    }
}

/// A probed device with port 0 open.
pub(crate) fn open(n: u16) -> (Dev, Rc<Shared>) {
    let (mut d, sh) = probe(FakeDev::new());
    d.open(qcfg(n)).unwrap();
    (d, sh)
}

/// Allocate `len` bytes of guest memory filled with `data` (zero padded).
pub(crate) fn buf(sh: &Rc<Shared>, data: &[u8], len: usize) -> u64 {
    let p = FakePlat(sh.clone());
    let d = cloudnic_common::Platform::alloc_dma(&p, len.max(data.len()), 64).unwrap();
    cloudnic_common::DmaRegion::write_bytes(&d, 0, data);
    cloudnic_common::DmaRegion::bus_addr(&d)
}

/// Post `n` RX buffers of `len` bytes with tokens starting at `tok`.
pub(crate) fn refill(d: &mut Dev, sh: &Rc<Shared>, q: u16, n: u32, len: u32, tok: u64) -> u32 {
    let bufs: Vec<RxBuffer> = (0..n)
        .map(|i| RxBuffer {
            addr: buf(sh, &[], len as usize),
            len,
            token: tok + u64::from(i),
        })
        .collect();
    d.rx_refill(q, &bufs)
}

/// A one-segment packet without offloads.
pub(crate) fn send(
    d: &mut Dev,
    sh: &Rc<Shared>,
    q: u16,
    data: &[u8],
    token: u64,
) -> Result<(), cloudnic_common::nic::TxError> {
    let seg = [DmaSegment {
        addr: buf(sh, data, data.len()),
        len: data.len() as u32,
    }];
    let pkt = TxPacket {
        segments: &seg,
        header: data,
        offload: TxOffload::default(),
        token,
    };
    d.tx_post(q, &pkt)
}

/// Post one 60-byte TCP/IPv4 frame (bytes 0..60) with checksum offload
/// and `vlan` on queue 0; returns the frame.
pub(crate) fn post_tcp(d: &mut Dev, sh: &Rc<Shared>, vlan: Option<u16>, tok: u64) -> Vec<u8> {
    let data: Vec<u8> = (0..60u8).collect();
    let seg = [DmaSegment {
        addr: buf(sh, &data, 60),
        len: 60,
    }];
    let off = TxOffload {
        l3: L3Proto::Ipv4,
        l4: L4Proto::Tcp,
        l3_offset: 14,
        l3_len: 20,
        l4_len: 20,
        ipv4_csum: true,
        l4_csum: true,
        vlan_tci: vlan,
        ..Default::default()
    };
    let pkt = TxPacket {
        segments: &seg,
        header: &data,
        offload: off,
        token: tok,
    };
    d.tx_post(0, &pkt).unwrap();
    data
}
