// SPDX-License-Identifier: GPL-2.0 OR MIT
//! ENA on Linux: the shared driver (`cloudnic_ena::device::EnaDevice`) instantiated over the
//! Linux platform and BARs. Probe runs the shared bring-up (readless MMIO, reset handshake,
//! version check, admin and AENQ rings, host info, feature negotiation, RSS; ena.md §6.1
//! steps 2–12), after which the device attributes and the MAC are known; `net` then builds
//! the network interface on it.

use cloudnic_ena::defs::host_info::{self, os_type};
use cloudnic_ena::device::{EnaConfig, EnaDevice};
use kernel::device::Bound;
use kernel::pci;

use crate::platform::{LinuxBar, LinuxPlatform};

/// The shared ENA driver on Linux. Dropping it (unbind, rmmod, failed probe) runs the shared
/// shutdown: device reset with reason SHUTDOWN so DMA stops, readless address cleared; then
/// its DMA memory is freed and the BARs unmapped.
pub(crate) type Ena<'bound> = EnaDevice<LinuxPlatform<'bound>, LinuxBar<'bound>>;

/// Kernel release the module is built for (kbuild exports it to rustc); the module only
/// loads into that release (vermagic), so it is also the running kernel's.
const KERNEL_RELEASE: &str = match option_env!("KERNELRELEASE") {
    Some(r) => r,
    None => "",
};

/// `LINUX_VERSION_CODE` of that release: (major << 16) | (minor << 8) | patch.
const fn kernel_version_code(release: &str) -> u32 {
    let b = release.as_bytes();
    let (mut parts, mut cur, mut n, mut i) = ([0u32; 3], 0u32, 0usize, 0usize);
    while i < b.len() && n < 3 {
        let c = b[i];
        if c.is_ascii_digit() {
            cur = cur.saturating_mul(10).saturating_add((c - b'0') as u32);
        } else {
            parts[n] = cur;
            n += 1;
            cur = 0;
            if c != b'.' {
                break;
            }
        }
        i += 1;
    }
    if n < 3 && i == b.len() {
        parts[n] = cur;
    }
    (byte(parts[0]) << 16) | (byte(parts[1]) << 8) | byte(parts[2])
}

/// Clamp to one byte (`Ord::min` is not const).
const fn byte(v: u32) -> u32 {
    if v > 255 {
        255
    } else {
        v
    }
}

/// Bring up the ENA function `pdev` (BAR 0 registers, optional BAR 2 LLQ memory).
/// `max_queues`: queue pairs the shim has MSI-X vectors and NAPI contexts for.
pub(crate) fn probe<'bound>(
    pdev: &'bound pci::Device<Bound>,
    bar0: LinuxBar<'bound>,
    bar2: Option<LinuxBar<'bound>>,
    max_queues: u16,
) -> Result<Ena<'bound>, cloudnic_common::Error> {
    let mut cfg = EnaConfig::new(os_type::LINUX);
    host_info::fill_str(&mut cfg.host_info.kernel_ver_str, KERNEL_RELEASE);
    cfg.host_info.kernel_ver = kernel_version_code(KERNEL_RELEASE);
    cfg.host_info.bdf = pdev.dev_id();
    cfg.host_info.num_cpus = u16::try_from(kernel::cpu::nr_cpu_ids()).unwrap_or(u16::MAX);
    // Admin completions and AENQ events raise MSI-X vector 0 (INTR_MASK = 0, as Linux's ena);
    // the admin queue still reaps for itself, so a lost interrupt costs only latency.
    cfg.admin_interrupts = true;
    cfg.max_queues = max_queues;
    cfg.bar0_phys = pdev.resource_start(0).unwrap_or(0);
    EnaDevice::probe(
        LinuxPlatform::new(pdev),
        bar0,
        bar2,
        pdev.revision_id(),
        cfg,
    )
}
