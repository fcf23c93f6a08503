// SPDX-License-Identifier: GPL-2.0 OR MIT
//! ENA bring-up on Linux: the shared `cloudnic_ena` control path driven through
//! [`LinuxPlatform`], up to "device attributes read, MAC known" (ena.md §6.1 steps 2–10).
//! No netdev yet: that is a later step of the shim.
//!
//! Until `cloudnic_ena::device::EnaDevice` offers one probe entry point, this file strings
//! the shared steps together itself (readless MMIO, reset handshake, version check, admin
//! queue, feature negotiation). All device logic stays in the shared crate.

use cloudnic_common::ResetReason;
use cloudnic_ena::admin::{AdminQueue, DEFAULT_POLL_BASE_US};
use cloudnic_ena::defs::pci as ena_pci;
use cloudnic_ena::features::{self, BringUpOptions, Negotiated};
use cloudnic_ena::mmio::MmioReader;
use kernel::prelude::*;

use crate::platform::{LinuxBar, LinuxPlatform};

/// A brought-up ENA function: its BARs, the readless-MMIO reader and the admin queue.
///
/// Field order is drop order: the device is reset in `Drop::drop` first (so it stops all
/// DMA), then the admin rings and the readless buffer are freed, then the BARs unmapped.
pub(crate) struct Ena<'bound> {
    admin: AdminQueue<LinuxPlatform<'bound>>,
    mmio: MmioReader<LinuxPlatform<'bound>>,
    bar2: Option<LinuxBar<'bound>>,
    bar0: LinuxBar<'bound>,
    plat: LinuxPlatform<'bound>,
    /// What the device reported and what was negotiated.
    pub(crate) negotiated: Negotiated,
}

impl<'bound> Ena<'bound> {
    /// Bring the device up to the point where its attributes (MAC, MTU, queue limits) are
    /// known. `revision` is the PCI revision id (bit 0 disables readless MMIO reads).
    pub(crate) fn bring_up(
        plat: LinuxPlatform<'bound>,
        bar0: LinuxBar<'bound>,
        bar2: Option<LinuxBar<'bound>>,
        revision: u8,
    ) -> Result<Self, cloudnic_common::Error> {
        let readless = !ena_pci::readless_disabled(revision);
        let mut mmio = MmioReader::new(&plat, readless)?;
        mmio.program(&bar0);
        let result = (|| {
            features::reset_device(&plat, &bar0, &mut mmio, ResetReason::Normal, false, DEFAULT_POLL_BASE_US)?;
            features::validate_version(&plat, &bar0, &mut mmio)?;
            let mut admin = AdminQueue::new(&plat, &bar0)?;
            let opts = BringUpOptions { has_bar2: bar2.is_some(), large_llq: false, poll_base_us: DEFAULT_POLL_BASE_US };
            match features::negotiate(&plat, &bar0, bar2.as_ref(), &mut admin, &opts) {
                Ok(n) => Ok((admin, n)),
                Err(e) => {
                    admin.stop();
                    Err(e)
                }
            }
        })();
        match result {
            Ok((admin, negotiated)) => Ok(Ena { admin, mmio, bar2, bar0, plat, negotiated }),
            Err(e) => {
                // Stop the device from writing into buffers that are about to be freed.
                mmio.teardown(&bar0);
                Err(e)
            }
        }
    }

    /// The shim's platform (for log lines with the device prefix).
    pub(crate) fn platform(&self) -> &LinuxPlatform<'bound> {
        &self.plat
    }

    /// Whether BAR 2 (LLQ memory) is mapped.
    pub(crate) fn has_bar2(&self) -> bool {
        self.bar2.is_some()
    }
}

impl Drop for Ena<'_> {
    fn drop(&mut self) {
        // Quiesce before the DMA memory goes (the kernel's `Coherent` requires a halted
        // device): stop the admin queue, reset the device (ena.md §6.3; failures only
        // logged, nothing else can be done here), and clear the readless address.
        self.admin.stop();
        let _ = features::reset_device(
            &self.plat,
            &self.bar0,
            &mut self.mmio,
            ResetReason::Shutdown,
            false,
            DEFAULT_POLL_BASE_US,
        );
        self.mmio.teardown(&self.bar0);
        cloudnic_common::cn_info!(&self.plat, "ENA device reset and released");
    }
}

/// Formats a MAC address as aa:bb:cc:dd:ee:ff.
pub(crate) struct Mac(pub(crate) [u8; 6]);

impl core::fmt::Display for Mac {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let m = &self.0;
        write!(f, "{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}", m[0], m[1], m[2], m[3], m[4], m[5])
    }
}

/// Log the bring-up result in one line.
pub(crate) fn log_attributes(ena: &Ena<'_>) {
    let n = &ena.negotiated;
    let plat = ena.platform();
    cloudnic_common::cn_info!(
        plat,
        "ENA up: MAC {} max MTU {} queues {} tx depth {} rx depth {} LLQ {} (BAR2 {}) link {} Mbit/s",
        Mac(n.attr.mac_addr),
        n.attr.max_mtu,
        n.limits.max_queues,
        n.limits.max_tx_depth,
        n.limits.max_rx_depth,
        if n.llq.is_some() { "on" } else { "off" },
        if ena.has_bar2() { "mapped" } else { "absent" },
        n.link_speed_mbps
    );
}
