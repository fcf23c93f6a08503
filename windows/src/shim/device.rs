//! The device behind an adapter: ENA or MANA, chosen by PCI id, probed
//! through the shared crates. [`AnyDevice`] forwards every `NetDevice`
//! call, so the rest of the shim is device-neutral.

use cloudnic_common::nic::{
    DeviceInfo, ModerationConfig, NetDevice, QueueConfig, Released, RssConfig, RxBuffer, RxPacket,
    RxPolicy, StatName, Token, TxBurst, TxError, TxPacket,
};
use cloudnic_common::{Error, ResetReason};
use cloudnic_ena::defs::host_info::os_type;
use cloudnic_ena::device::{EnaConfig, EnaDevice};
use cloudnic_mana::device::ManaDevice;
use cloudnic_mana::ManaConfig;

use crate::logic::resources::{DeviceKind, PciConfig};
use crate::platform::{WinBar, WinPlatform};

/// One of the devices cloudnic.sys drives. Lives in the adapter (pool
/// memory), so the variants' size difference costs nothing on the stack
/// beyond the one move out of `probe`.
#[allow(clippy::large_enum_variant)]
pub enum AnyDevice {
    /// AWS ENA.
    Ena(EnaDevice<WinPlatform, WinBar>),
    /// Azure MANA (vPort 0).
    Mana(ManaDevice<WinPlatform, WinBar>),
}

/// A mapped BAR and its bus address / length (for the device's own checks).
#[derive(Clone, Copy)]
pub struct Bar {
    /// The mapping.
    pub bar: WinBar,
    /// Bus address.
    pub phys: u64,
    /// Length in bytes.
    pub len: u32,
}

/// Probe the shared driver for `kind`. `messages` is the number of MSI-X
/// messages granted (message 0 management, message `q + 1` queue `q`).
pub fn probe(
    kind: DeviceKind,
    plat: WinPlatform,
    pci: &PciConfig,
    bar0: Bar,
    bar2: Option<Bar>,
    messages: u32,
) -> Result<AnyDevice, Error> {
    let io_vectors = u16::try_from(messages.saturating_sub(1).max(1)).unwrap_or(u16::MAX);
    match kind {
        DeviceKind::Ena => {
            let mut cfg = EnaConfig::new(os_type::WINDOWS);
            // Admin completions are polled: no control operation may wait
            // for the management DPC (see devcell.rs).
            cfg.admin_interrupts = false;
            cfg.max_queues = io_vectors;
            cfg.bar0_phys = bar0.phys;
            EnaDevice::probe(plat, bar0.bar, bar2.map(|b| b.bar), pci.revision, cfg)
                .map(AnyDevice::Ena)
        }
        DeviceKind::Mana => {
            // The hardware channel polls its EQ itself (hwc_chan), so the
            // same no-interrupt-wait rule holds.
            let cfg = ManaConfig {
                device_id: pci.device,
                bar_len: u64::from(bar0.len),
                max_ports: 1,
                num_msix: u16::try_from(messages.max(1)).unwrap_or(u16::MAX),
                ..ManaConfig::default()
            };
            ManaDevice::probe(plat, bar0.bar, cfg).map(AnyDevice::Mana)
        }
    }
}

macro_rules! forward {
    ($self:ident, $d:ident => $e:expr) => {
        match $self {
            AnyDevice::Ena($d) => $e,
            AnyDevice::Mana($d) => $e,
        }
    };
}

impl NetDevice for AnyDevice {
    fn info(&self) -> &DeviceInfo {
        forward!(self, d => d.info())
    }
    fn queue_config(&self) -> QueueConfig {
        forward!(self, d => d.queue_config())
    }
    fn is_open(&self) -> bool {
        forward!(self, d => d.is_open())
    }
    fn open(&mut self, cfg: QueueConfig) -> Result<(), Error> {
        forward!(self, d => d.open(cfg))
    }
    fn close(&mut self, release: &mut dyn FnMut(Released)) -> Result<(), Error> {
        forward!(self, d => d.close(release))
    }
    fn tx_post(&mut self, q: u16, pkt: &TxPacket<'_>) -> Result<(), TxError> {
        forward!(self, d => d.tx_post(q, pkt))
    }
    fn tx_post_burst(&mut self, q: u16, pkts: &[TxPacket<'_>]) -> TxBurst {
        forward!(self, d => d.tx_post_burst(q, pkts))
    }
    fn tx_kick(&mut self, q: u16) {
        forward!(self, d => d.tx_kick(q))
    }
    fn tx_space(&self, q: u16) -> u32 {
        forward!(self, d => d.tx_space(q))
    }
    fn tx_poll<F: FnMut(Token)>(&mut self, q: u16, budget: u32, done: F) -> u32 {
        forward!(self, d => d.tx_poll(q, budget, done))
    }
    fn rx_refill(&mut self, q: u16, bufs: &[RxBuffer]) -> u32 {
        forward!(self, d => d.rx_refill(q, bufs))
    }
    fn rx_space(&self, q: u16) -> u32 {
        forward!(self, d => d.rx_space(q))
    }
    fn rx_policy(&self, q: u16) -> RxPolicy {
        forward!(self, d => d.rx_policy(q))
    }
    fn note_rx_copybreak(&mut self, q: u16, pkts: u32) {
        forward!(self, d => d.note_rx_copybreak(q, pkts))
    }
    fn rx_poll<F: FnMut(&RxPacket<'_>)>(&mut self, q: u16, budget: u32, deliver: F) -> u32 {
        forward!(self, d => d.rx_poll(q, budget, deliver))
    }
    fn note_queue_interrupt(&mut self, q: u16) {
        forward!(self, d => d.note_queue_interrupt(q))
    }
    fn unmask_queue_interrupt(&mut self, q: u16) {
        forward!(self, d => d.unmask_queue_interrupt(q))
    }
    fn handle_management_interrupt(&mut self) {
        forward!(self, d => d.handle_management_interrupt())
    }
    fn link_up(&self) -> bool {
        forward!(self, d => d.link_up())
    }
    fn set_mtu(&mut self, mtu: u32) -> Result<(), Error> {
        forward!(self, d => d.set_mtu(mtu))
    }
    fn reconfigure(
        &mut self,
        cfg: QueueConfig,
        release: &mut dyn FnMut(Released),
    ) -> Result<(), Error> {
        forward!(self, d => d.reconfigure(cfg, release))
    }
    fn set_rss(&mut self, rss: &RssConfig<'_>) -> Result<(), Error> {
        forward!(self, d => d.set_rss(rss))
    }
    fn get_rss(&self, key: &mut [u8], table: &mut [u16]) -> (usize, usize) {
        forward!(self, d => d.get_rss(key, table))
    }
    fn set_moderation(&mut self, m: ModerationConfig) -> Result<(), Error> {
        forward!(self, d => d.set_moderation(m))
    }
    fn moderation(&self) -> ModerationConfig {
        forward!(self, d => d.moderation())
    }
    fn health_check(&mut self) -> Option<ResetReason> {
        forward!(self, d => d.health_check())
    }
    fn pending_reset(&self) -> Option<ResetReason> {
        forward!(self, d => d.pending_reset())
    }
    fn request_reset(&mut self, reason: ResetReason) {
        forward!(self, d => d.request_reset(reason))
    }
    fn reset(
        &mut self,
        reason: ResetReason,
        release: &mut dyn FnMut(Released),
    ) -> Result<(), Error> {
        forward!(self, d => d.reset(reason, release))
    }
    fn for_each_stat(&self, f: &mut dyn FnMut(StatName, u64)) {
        forward!(self, d => d.for_each_stat(f))
    }
}
