//! Bring-up: the device reset handshake (ena.md §6.3), version checks, and
//! the feature negotiation of §6.1 steps 2–12. Every optional feature the
//! device refuses degrades (logged, a default kept); only what the driver
//! cannot work without — readable registers, a working admin queue, device
//! attributes and queue limits — fails the bring-up.

use zerocopy::IntoBytes;

use cloudnic_common::cmdq::backoff_delay_us;
use cloudnic_common::{
    cn_err, cn_info, cn_warn, DmaRegion, Error, Platform, RegisterBar, ResetReason,
};

use crate::admin::AdminQueue;
use crate::defs::admin::{
    AenqConfig, DeviceAttributes, DeviceCaps, FeatureId, HostAttrConfig, HwHints, IntrModeration,
    LlqFeature, MaxQueuesExt, MaxQueuesNum, MemAddr, StatelessOffload, MAX_QUEUES_EXT_VERSION,
};
use crate::defs::aenq::{AenqGroup, AENQ_ENABLED_GROUPS_MASK};
use crate::defs::host_info::{HostInfo, HOST_INFO_PAGE_SIZE};
use crate::defs::regs::{
    dev_ctl_reset, offset, Caps, ControllerVersion, DevSts, Version, READLESS_FAILED,
};
use crate::llq_negotiation::negotiate_llq;
use crate::mmio::MmioReader;

pub use crate::io::llq::LlqConfig;

/// Most IO queue pairs the driver uses (ena.md §5.1).
pub const MAX_IO_QUEUES: u16 = 128;
/// Most buffers per TX/RX packet the driver uses (ena.md §6.2).
pub const MAX_SGL: u16 = 19;
/// Initial TX moderation interval in µs (ena.md §6.6).
pub const INITIAL_TX_INTERVAL_US: u32 = 64;
/// Initial RX moderation interval in µs (ena.md §6.6).
pub const INITIAL_RX_INTERVAL_US: u32 = 20;
/// Delay resolution assumed before the device reports one (ena.md §6.6).
pub const DEFAULT_INTR_DELAY_RESOLUTION: u16 = 1;

/// Queue limits from MAX_QUEUES_EXT / MAX_QUEUES_NUM and LLQ (ena.md §6.2).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct QueueLimits {
    /// Queue pairs the device allows.
    pub max_queues: u16,
    /// Largest TX ring (power of two).
    pub max_tx_depth: u32,
    /// Largest RX ring (power of two).
    pub max_rx_depth: u32,
    /// Most TX descriptors per packet (meta included).
    pub max_tx_sgl: u16,
    /// Most RX descriptors per packet.
    pub max_rx_sgl: u16,
    /// Largest header the device parses on TX.
    pub max_tx_header_size: u32,
}

/// Everything negotiated at bring-up.
#[derive(Clone, Copy, Debug, Default)]
pub struct Negotiated {
    /// DEVICE_ATTRIBUTES.
    pub attr: DeviceAttributes,
    /// Capability bits.
    pub caps: DeviceCaps,
    /// CAPS register from the last reset.
    pub reg_caps: u32,
    /// Queue limits.
    pub limits: QueueLimits,
    /// AENQ groups enabled.
    pub aenq_groups: u32,
    /// Stateless offloads (zero if the device refused).
    pub offload: StatelessOffload,
    /// HW hints (zero = defaults).
    pub hints: HwHints,
    /// LLQ configuration, `None` = host placement.
    pub llq: Option<LlqConfig>,
    /// Interrupt delay resolution in µs; `None` = moderation unsupported.
    pub intr_delay_resolution: Option<u16>,
    /// Link speed in Mbit/s (0 = unknown).
    pub link_speed_mbps: u32,
}

impl Negotiated {
    /// True if the keep-alive watchdog applies (group 4 enabled, ena.md §4).
    pub fn keep_alive_enabled(&self) -> bool {
        self.aenq_groups & AenqGroup::KeepAlive.bit() != 0
    }
}

/// Read a register; `Err(Timeout)` on a failed readless read.
pub fn read_reg<P: Platform, R: RegisterBar>(
    plat: &P,
    bar0: &R,
    mmio: &mut MmioReader<P>,
    reg: u32,
) -> Result<u32, Error> {
    match mmio.read32(plat, bar0, reg) {
        READLESS_FAILED if mmio.is_readless() => Err(Error::Timeout),
        v => Ok(v),
    }
}

fn wait_reset_state<P: Platform, R: RegisterBar>(
    plat: &P,
    bar0: &R,
    mmio: &mut MmioReader<P>,
    timeout_us: u64,
    poll_base_us: u32,
    in_progress: bool,
) -> Result<(), Error> {
    let deadline = plat.now_us().saturating_add(timeout_us);
    let mut n = 0u32;
    loop {
        let sts = DevSts::from_bits_retain(
            read_reg(plat, bar0, mmio, offset::DEV_STS).inspect_err(|_| {
                cn_err!(plat, "Reg read timeout occurred");
            })?,
        );
        if sts.contains(DevSts::RESET_IN_PROGRESS) == in_progress {
            return Ok(());
        }
        if plat.now_us() >= deadline {
            return Err(Error::Timeout);
        }
        plat.sleep_us(backoff_delay_us(poll_base_us, n));
        n = n.saturating_add(1);
    }
}

/// The reset handshake (ena.md §6.3): DEV_STS must be READY and CAPS carry a
/// reset timeout; write DEV_CTL reset + reason, re-program the readless
/// buffer, wait for RESET_IN_PROGRESS to rise, clear DEV_CTL, wait for it
/// to fall. Returns CAPS.
pub fn reset_device<P: Platform, R: RegisterBar>(
    plat: &P,
    bar0: &R,
    mmio: &mut MmioReader<P>,
    reason: ResetReason,
    extended_reasons: bool,
    poll_base_us: u32,
) -> Result<Caps, Error> {
    let sts = read_reg(plat, bar0, mmio, offset::DEV_STS);
    let caps = read_reg(plat, bar0, mmio, offset::CAPS);
    let (Ok(sts), Ok(caps)) = (sts, caps) else {
        cn_err!(plat, "Reg read32 timeout occurred");
        return Err(Error::Timeout);
    };
    if !DevSts::from_bits_retain(sts).contains(DevSts::READY) {
        cn_err!(plat, "Device isn't ready, can't reset device");
        return Err(Error::DeviceNotReady);
    }
    let caps = Caps(caps);
    let timeout_us = u64::from(caps.reset_timeout_100ms()) * u64::from(Caps::TIMEOUT_UNIT_US);
    if timeout_us == 0 {
        cn_err!(plat, "Invalid timeout value");
        return Err(Error::IncompatibleDevice);
    }
    bar0.write32(
        offset::DEV_CTL,
        dev_ctl_reset(reason.code(), extended_reasons),
    );
    // The device forgets the readless address on reset (ena.md §2).
    mmio.program(bar0);
    if let Err(e) = wait_reset_state(plat, bar0, mmio, timeout_us, poll_base_us, true) {
        cn_err!(plat, "Reset indication didn't turn on");
        return Err(e);
    }
    bar0.write32(offset::DEV_CTL, 0);
    if let Err(e) = wait_reset_state(plat, bar0, mmio, timeout_us, poll_base_us, false) {
        cn_err!(plat, "Reset indication didn't turn off");
        return Err(e);
    }
    Ok(caps)
}

/// Check VERSION / CONTROLLER_VERSION (≥ 0.0.1) and the DMA width
/// (ena.md §1.3, §6.1 step 4), with Linux's log lines.
pub fn validate_version<P: Platform, R: RegisterBar>(
    plat: &P,
    bar0: &R,
    mmio: &mut MmioReader<P>,
) -> Result<(), Error> {
    let (Ok(ver), Ok(ctrl)) = (
        read_reg(plat, bar0, mmio, offset::VERSION),
        read_reg(plat, bar0, mmio, offset::CONTROLLER_VERSION),
    ) else {
        cn_err!(plat, "Reg read timeout occurred");
        return Err(Error::Timeout);
    };
    let ver = Version(ver);
    let ctrl = ControllerVersion(ctrl);
    cn_info!(plat, "ena device version: {}.{}", ver.major(), ver.minor());
    cn_info!(
        plat,
        "ena controller version: {}.{}.{} implementation version {}",
        ctrl.major(),
        ctrl.minor(),
        ctrl.subminor(),
        ctrl.impl_id()
    );
    if !ctrl.is_supported() {
        cn_err!(
            plat,
            "ENA ctrl version is lower than the minimal ctrl version the driver supports"
        );
        return Err(Error::IncompatibleDevice);
    }
    let caps = Caps(read_reg(plat, bar0, mmio, offset::CAPS)?);
    let width = caps.dma_addr_width();
    if !(Caps::MIN_DMA_WIDTH..=Caps::MAX_DMA_WIDTH).contains(&width) {
        cn_err!(plat, "DMA width illegal value: {}", width);
        return Err(Error::IncompatibleDevice);
    }
    Ok(())
}

/// SET HOST_ATTR_CONFIG with the host-info page (§6.1 step 6). A refusal
/// is logged with AWS's wording and ignored.
pub fn set_host_attributes<P: Platform, R: RegisterBar>(
    plat: &P,
    bar0: &R,
    admin: &mut AdminQueue<P>,
    page: &P::Dma,
    info: &HostInfo,
) -> Result<(), Error> {
    if page.len() < HOST_INFO_PAGE_SIZE {
        return Err(Error::NoMemory);
    }
    page.write_bytes(0, info.as_bytes());
    let attr = HostAttrConfig {
        os_info_ba: MemAddr::new(page.bus_addr()),
        ..Default::default()
    };
    match admin.set_feature(plat, bar0, FeatureId::HostAttrConfig, &attr) {
        Ok(_) => Ok(()),
        Err(e @ (Error::Timeout | Error::ChannelDead)) => Err(e),
        Err(Error::Unsupported) => {
            cn_warn!(plat, "Set host attribute isn't supported");
            Ok(())
        }
        Err(_) => {
            cn_warn!(plat, "Cannot set host attributes");
            Ok(())
        }
    }
}

/// Treat admin-channel failures as fatal, everything else as "feature absent".
fn optional<T>(r: Result<T, Error>) -> Result<Option<T>, Error> {
    match r {
        Ok(v) => Ok(Some(v)),
        Err(e @ (Error::Timeout | Error::ChannelDead)) => Err(e),
        Err(_) => Ok(None),
    }
}

/// Largest power of two ≤ `v` (0 for 0): ring sizes are masks (ena.md §6.2).
pub fn pow2_floor(v: u32) -> u32 {
    if v == 0 {
        0
    } else {
        1u32 << (31 - v.leading_zeros())
    }
}

fn queue_limits<P: Platform, R: RegisterBar>(
    plat: &P,
    bar0: &R,
    admin: &mut AdminQueue<P>,
) -> Result<QueueLimits, Error> {
    let clamp16 = |v: u32| v.min(u32::from(MAX_IO_QUEUES)) as u16;
    if admin.is_supported(FeatureId::MaxQueuesExt) {
        if let Some(q) =
            optional(admin.get_feature::<_, MaxQueuesExt>(plat, bar0, FeatureId::MaxQueuesExt))?
        {
            if q.version == MAX_QUEUES_EXT_VERSION {
                let txq = q.max_tx_sq_num.min(q.max_tx_cq_num);
                let rxq = q.max_rx_sq_num.min(q.max_rx_cq_num);
                return Ok(QueueLimits {
                    max_queues: clamp16(txq.min(rxq)),
                    max_tx_depth: pow2_floor(q.max_tx_sq_depth.min(q.max_tx_cq_depth)),
                    max_rx_depth: pow2_floor(q.max_rx_sq_depth.min(q.max_rx_cq_depth)),
                    max_tx_sgl: q.max_per_packet_tx_descs.min(MAX_SGL),
                    max_rx_sgl: q.max_per_packet_rx_descs.min(MAX_SGL),
                    max_tx_header_size: q.max_tx_header_size,
                });
            }
            cn_warn!(
                plat,
                "Feature {} isn't supported",
                FeatureId::MaxQueuesExt.id()
            );
        }
    }
    let q: MaxQueuesNum = admin.get_feature(plat, bar0, FeatureId::MaxQueuesNum)?;
    let depth = pow2_floor(q.max_sq_depth.min(q.max_cq_depth));
    Ok(QueueLimits {
        max_queues: clamp16(q.max_sq_num.min(q.max_cq_num)),
        max_tx_depth: depth,
        max_rx_depth: depth,
        max_tx_sgl: q.max_packet_tx_descs.min(MAX_SGL),
        max_rx_sgl: q.max_packet_rx_descs.min(MAX_SGL),
        max_tx_header_size: q.max_header_size,
    })
}

fn configure_aenq<P: Platform, R: RegisterBar>(
    plat: &P,
    bar0: &R,
    admin: &mut AdminQueue<P>,
) -> Result<u32, Error> {
    let Some(cur) =
        optional(admin.get_feature::<_, AenqConfig>(plat, bar0, FeatureId::AenqConfig))?
    else {
        cn_warn!(plat, "Failed to config AENQ");
        return Ok(0);
    };
    let groups = AENQ_ENABLED_GROUPS_MASK & cur.supported_groups;
    let cfg = AenqConfig {
        supported_groups: 0,
        enabled_groups: groups,
    };
    match optional(admin.set_feature(plat, bar0, FeatureId::AenqConfig, &cfg))? {
        Some(_) => Ok(groups),
        None => {
            cn_warn!(plat, "Failed to config AENQ");
            Ok(0)
        }
    }
}

/// Bring-up knobs the shim chooses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BringUpOptions {
    /// Whether BAR 2 (LLQ memory) is mapped.
    pub has_bar2: bool,
    /// Prefer 256-byte LLQ entries when the device recommends them.
    pub large_llq: bool,
    /// Admin back-off base in µs.
    pub poll_base_us: u32,
}

/// §6.1 steps 7–10: attributes, queue limits, AENQ groups, offloads, hints,
/// LLQ, link and moderation. Step 2–6 (readless, reset, version, admin
/// rings, host info) are done by the caller because they need the rings.
pub fn negotiate<P: Platform, R: RegisterBar>(
    plat: &P,
    bar0: &R,
    bar2: Option<&R>,
    admin: &mut AdminQueue<P>,
    opts: &BringUpOptions,
) -> Result<Negotiated, Error> {
    let attr: DeviceAttributes = admin.get_feature(plat, bar0, FeatureId::DeviceAttributes)?;
    admin.set_supported_features(attr.supported_features);
    let mut n = Negotiated {
        attr,
        caps: DeviceCaps::from_bits_retain(attr.capabilities),
        ..Default::default()
    };
    n.limits = queue_limits(plat, bar0, admin)?;
    n.aenq_groups = configure_aenq(plat, bar0, admin)?;
    n.offload = optional(admin.get_feature(plat, bar0, FeatureId::StatelessOffloadConfig))?
        .unwrap_or_default();
    if admin.is_supported(FeatureId::HwHints) {
        n.hints = optional(admin.get_feature(plat, bar0, FeatureId::HwHints))?.unwrap_or_default();
    }
    let llq_caps = if admin.is_supported(FeatureId::Llq) {
        optional(admin.get_feature::<_, LlqFeature>(plat, bar0, FeatureId::Llq))?
    } else {
        None
    };
    n.llq = negotiate_llq(
        plat,
        bar0,
        bar2.is_some() && opts.has_bar2,
        admin,
        llq_caps,
        opts.large_llq,
        &mut n.limits,
    )?;
    if admin.is_supported(FeatureId::LinkConfig) {
        n.link_speed_mbps = optional(admin.get_feature::<_, crate::defs::admin::LinkConfig>(
            plat,
            bar0,
            FeatureId::LinkConfig,
        ))?
        .map_or(0, |l| l.speed);
    }
    n.intr_delay_resolution = optional(admin.get_feature::<_, IntrModeration>(
        plat,
        bar0,
        FeatureId::InterruptModeration,
    ))?
    .map(|m| {
        if m.intr_delay_resolution == 0 {
            DEFAULT_INTR_DELAY_RESOLUTION
        } else {
            m.intr_delay_resolution
        }
    });
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::{FakeBar, FakePlat};

    #[test]
    fn reset_handshake_and_version() {
        let plat = FakePlat::default();
        let bar = FakeBar::with_device(&plat);
        let mut mmio = MmioReader::new(&plat, true).unwrap();
        mmio.program(&bar);
        let caps = reset_device(
            &plat,
            &bar,
            &mut mmio,
            ResetReason::KeepAliveTimeout,
            false,
            100,
        )
        .unwrap();
        assert_eq!(caps.reset_timeout_100ms(), 5);
        // The fake raises RESET_IN_PROGRESS and keeps it until DEV_CTL = 0,
        // so the first wait succeeds and the second too.
        assert_eq!(bar.dev().last_reset_ctl, Some(0x1000_0001));
    }

    #[test]
    fn negotiate_defaults() {
        let plat = FakePlat::default();
        let bar = FakeBar::with_device(&plat);
        let mut mmio = MmioReader::new(&plat, true).unwrap();
        mmio.program(&bar);
        validate_version(&plat, &bar, &mut mmio).unwrap();
        assert!(plat.logged("ena device version: 0.10"));
        assert!(plat.logged("ena controller version: 0.0.1 implementation version 1"));
        let mut admin = AdminQueue::new(&plat, &bar).unwrap();
        let opts = BringUpOptions {
            has_bar2: true,
            large_llq: false,
            poll_base_us: 100,
        };
        let n = negotiate(&plat, &bar, Some(&bar), &mut admin, &opts).unwrap();
        assert_eq!(n.limits.max_queues, 8);
        assert_eq!(n.limits.max_rx_depth, 16384);
        assert_eq!(n.aenq_groups, 0xDF);
        assert!(n.keep_alive_enabled());
        assert_eq!(n.llq.unwrap().entry_size, 128);
        assert_eq!(n.intr_delay_resolution, Some(2));
        // Without BAR 2: host placement with AWS's log line.
        let n = negotiate(&plat, &bar, None, &mut admin, &opts).unwrap();
        assert!(n.llq.is_none());
        assert!(plat.logged("ENA device does not expose LLQ bar. Fallback to host mode policy."));
    }
}
