//! The device init sequence shared by probe and reset-restore (ena.md §6.1
//! steps 2–12), on rings that are already allocated.

use cloudnic_common::{cn_info, Error, Platform, RegisterBar, ResetReason};

use super::EnaConfig;
use crate::admin::AdminQueue;
use crate::aenq::AenqRing;
use crate::defs::regs::Caps;
use crate::features::{
    negotiate, reset_device, set_host_attributes, validate_version, BringUpOptions, Negotiated,
};
use crate::mmio::MmioReader;
use crate::rss::EnaRss;

/// Steps 2–11: readless address, reset NORMAL, versions, admin and AENQ
/// rings, host info, negotiation, hints, interrupt mode, AENQ credits.
#[allow(clippy::too_many_arguments)]
pub(super) fn init_device<P: Platform, R: RegisterBar>(
    plat: &P,
    bar0: &R,
    bar2: Option<&R>,
    mmio: &mut MmioReader<P>,
    admin: &mut AdminQueue<P>,
    aenq: &mut AenqRing<P>,
    host_page: &P::Dma,
    cfg: &EnaConfig,
) -> Result<Negotiated, Error> {
    // Step 2: readless buffer address (the device forgot it on reset).
    mmio.program(bar0);
    // Step 3: reset with reason NORMAL (extended reasons unknown yet; 0 fits).
    let caps: Caps = reset_device(
        plat,
        bar0,
        mmio,
        ResetReason::Normal,
        false,
        cfg.poll_base_us,
    )?;
    // Step 4: versions and DMA width.
    validate_version(plat, bar0, mmio)?;
    // Step 5: admin and AENQ rings re-programmed, polling mode.
    admin.restart(bar0);
    admin.set_timeout_us(u64::from(caps.admin_cmd_to_100ms()) * u64::from(Caps::TIMEOUT_UNIT_US));
    aenq.restart(bar0);
    // Step 6: host info.
    set_host_attributes(plat, bar0, admin, host_page, &cfg.host_info)?;
    // Steps 7–10.
    let opts = BringUpOptions {
        has_bar2: bar2.is_some(),
        large_llq: cfg.large_llq,
        poll_base_us: cfg.poll_base_us,
    };
    let neg = negotiate(plat, bar0, bar2, admin, &opts)?;
    if neg.hints.admin_completion_tx_timeout != 0 {
        admin.set_timeout_us(u64::from(neg.hints.admin_completion_tx_timeout) * 1000);
    }
    cn_info!(
        plat,
        "Device watchdog is {}",
        if neg.keep_alive_enabled() {
            "Enabled"
        } else {
            "Disabled"
        }
    );
    // Step 11: interrupt mode and AENQ credits.
    if cfg.admin_interrupts {
        admin.set_polling(bar0, false);
    }
    aenq.enable(bar0);
    Ok(neg)
}

/// Step 12: RSS table size, default table, Toeplitz key and hash input.
pub(super) fn init_rss<P: Platform, R: RegisterBar>(
    plat: &P,
    bar0: &R,
    admin: &mut AdminQueue<P>,
    num_queues: u16,
) -> Result<EnaRss<P>, Error> {
    let mut rss = EnaRss::new(plat, bar0, admin)?;
    rss.fill_default_table(num_queues);
    rss.configure(plat, bar0, admin)?;
    Ok(rss)
}

/// Probe failed after the device was touched: reset it with INIT_ERR so it
/// stops using our memory, and stop readless writes (ena.md §1.4 code 7).
pub(super) fn abandon<P: Platform, R: RegisterBar>(
    plat: &P,
    bar0: &R,
    mmio: &mut MmioReader<P>,
    poll_base_us: u32,
) {
    let _ = reset_device(
        plat,
        bar0,
        mmio,
        ResetReason::InitError,
        false,
        poll_base_us,
    );
    mmio.teardown(bar0);
}
