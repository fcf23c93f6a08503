//! The reset flow (ena.md §6.5) and the management interrupt (AENQ events).

use cloudnic_common::nic::{QueueConfig, Released};
use cloudnic_common::stats::inc;
use cloudnic_common::{cn_err, cn_info, Error, Platform, RegisterBar, ResetReason};

use super::{bringup, device_info, health, EnaDevice};
use crate::aenq::AenqEvent;
use crate::defs::admin::HwHints;
use crate::defs::regs::{offset, READLESS_FAILED};

impl<P: Platform, R: RegisterBar> EnaDevice<P, R> {
    /// Reap admin completions and process AENQ events (MSI-X vector 0).
    pub(super) fn process_management(&mut self) {
        let Self {
            plat,
            bar0,
            admin,
            aenq,
            link_up,
            stats,
            trigger,
            monitor,
            ..
        } = self;
        admin.handle_interrupt(plat, bar0);
        let now = plat.now_us();
        let mut hints: Option<HwHints> = None;
        aenq.process(plat, bar0, &mut |ev| match ev {
            AenqEvent::LinkChange { up } => *link_up = up,
            AenqEvent::KeepAlive {
                rx_drops,
                tx_drops,
                rx_overruns,
            } => {
                monitor.on_keep_alive(now);
                stats.rx_drops = rx_drops;
                stats.tx_drops = tx_drops;
                stats.rx_overruns = rx_overruns;
            }
            AenqEvent::HintsUpdate(h) => hints = Some(h),
            AenqEvent::Reset(r) => {
                trigger.trigger(r);
            }
        });
        if let Some(h) = hints {
            self.apply_hints(h);
        }
    }

    /// New HW hints (probe or AENQ notification): readless and admin
    /// timeouts, keep-alive and missing-TX policy (ena.md §3.6, §6.4).
    pub(super) fn apply_hints(&mut self, h: HwHints) {
        self.neg.hints = h;
        self.mmio.set_timeout_hint_ms(h.mmio_read_timeout);
        if h.admin_completion_tx_timeout != 0 {
            self.admin
                .set_timeout_us(u64::from(h.admin_completion_tx_timeout) * 1000);
        }
        *self.monitor.config_mut() = health::health_config(&self.neg);
    }

    /// §6.5: count, log and dump (reason ≠ NORMAL), reset the device with
    /// the reason, free the queues (tokens to `release`), re-initialise with
    /// NORMAL and restore MTU, queues, rings, RSS and moderation.
    ///
    /// A device that does not answer a register read is left alone: nothing
    /// is counted or torn down, the reset stays pending and `Err(Timeout)`
    /// tells the shim to try again at the next health tick.
    pub(super) fn do_reset(
        &mut self,
        reason: ResetReason,
        release: &mut dyn FnMut(Released),
    ) -> Result<(), Error> {
        if self.shut_down || self.failed {
            return Err(Error::NotRunning);
        }
        if !self.device_answers() {
            // §6.5 step 2: destroying the queues of a device that does not
            // answer cannot be undone; keep the reset pending (first reason
            // wins) and let the next health tick try again.
            cn_err!(&self.plat, "FW isn't responsive, skipping reset routine");
            self.trigger.trigger(reason);
            return Err(Error::Timeout);
        }
        self.trigger.clear();
        self.stats.resets.record(reason);
        if reason != ResetReason::Normal {
            cn_err!(&self.plat, "Trigger reset is on");
            self.dump_stats();
        }
        let was_open = self.queues.is_some();
        let saved_cfg = self.qcfg;
        let mac = self.info.mac;
        let link_was_up = self.link_up;
        self.link_up = false;
        // Destroy (§6.5 step 4): admin not running, device reset with the
        // reason, queues freed without admin commands, commands aborted.
        self.admin.stop();
        let _ = self.reset_hw(reason);
        if was_open {
            self.destroy_queues(release, false);
            inc(&mut self.stats.events.interface_down);
        }
        self.admin.abort_all();
        self.trigger.clear();
        match self.restore(was_open, &saved_cfg, mac) {
            Ok(()) => {
                self.link_up = link_was_up;
                cn_info!(
                    &self.plat,
                    "Device reset completed successfully, Driver info: {}",
                    self.cfg.driver_info
                );
                Ok(())
            }
            Err(e) => {
                self.destroy_queues(release, false);
                self.admin.stop();
                let _ = self.reset_hw(ResetReason::DriverInvalidState);
                self.stats.resets.record_failure();
                self.failed = true;
                cn_err!(&self.plat, "Reset attempt failed. Can not reset the device");
                Err(e)
            }
        }
    }

    /// True if a VERSION read is answered (Linux validates the version
    /// before queueing the reset work, ena.md §6.5 step 2). All-ones is
    /// what a failed readless read returns and what a direct load from an
    /// absent device reads, so it means "not answering" in both modes.
    fn device_answers(&mut self) -> bool {
        self.mmio.read32(&self.plat, &self.bar0, offset::VERSION) != READLESS_FAILED
    }

    /// §6.5 step 5: full init, same MAC, max MTU still fits, RSS again,
    /// queues re-opened with the saved configuration.
    fn restore(&mut self, was_open: bool, cfg: &QueueConfig, mac: [u8; 6]) -> Result<(), Error> {
        let Self {
            plat,
            bar0,
            bar2,
            mmio,
            admin,
            aenq,
            host_page,
            cfg: ecfg,
            ..
        } = self;
        let neg = bringup::init_device(
            plat,
            bar0,
            bar2.as_ref(),
            mmio,
            admin,
            aenq,
            host_page,
            ecfg,
        )?;
        if neg.attr.mac_addr != mac {
            cn_err!(plat, "Device MAC address changed");
            return Err(Error::IncompatibleDevice);
        }
        if neg.attr.max_mtu < cfg.mtu {
            cn_err!(plat, "Device max mtu is smaller than the current mtu");
            return Err(Error::IncompatibleDevice);
        }
        self.neg = neg;
        self.apply_hints(neg.hints);
        self.monitor
            .keep_alive_mut()
            .set_armed(neg.keep_alive_enabled());
        let max_q = self.info.max_queues;
        self.rss
            .restore(&self.plat, &self.bar0, &mut self.admin, cfg.num_queues)?;
        self.info = device_info(
            &self.neg,
            max_q.min(self.neg.limits.max_queues.max(1)),
            &self.rss,
        );
        if was_open {
            self.validate_config(cfg)?;
            self.create_queues(cfg)?;
            inc(&mut self.stats.events.interface_up);
        }
        self.monitor.on_queues_recreated(self.plat.now_us());
        Ok(())
    }
}
