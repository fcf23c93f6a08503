//! IO queue pairs: validation of a queue configuration, creation (each CQ
//! before its SQ, all TX pairs before the RX pairs, queue q on MSI-X vector
//! q + 1 — ena.md §5.1, §6.1 step 13) and destruction.

use cloudnic_common::moderation::{AdaptiveRx, DelayUnits};
use cloudnic_common::nic::{QueueConfig, Released};
use cloudnic_common::{cn_err, ConfigError, Error, Platform, RegisterBar};

use super::health::QueueHealth;
use super::{EnaDevice, MIN_MTU};
use crate::defs::admin::{
    CreateCqCmd, CreateCqResp, CreateSqCmd, CreateSqResp, DeviceCaps, FeatureId, MtuFeature,
    SqDirection,
};
use crate::defs::pci;
use crate::io::rx::RxRing;
use crate::io::tx::{TxPlacement, TxRing, TxRingParams};

/// Register offsets the device returns must be dword aligned.
const REG_ALIGN_MASK: u32 = 3;

/// One TX + RX queue pair and the device indices of its queues.
pub(crate) struct QueuePair<P: Platform> {
    pub(super) tx: TxRing<P>,
    pub(super) rx: RxRing<P>,
    tx_cq: Option<u16>,
    tx_sq: Option<u16>,
    rx_cq: Option<u16>,
    rx_sq: Option<u16>,
    pub(super) health: QueueHealth,
    /// Adaptive RX moderation of this pair (ena.md §6.6), fresh with the
    /// queue: it starts from the static RX interval, as Linux's
    /// `smoothed_interval`.
    dim: AdaptiveRx,
    /// RX delay (device units) the adaptive moderator chose last.
    dim_rx_delay: u32,
}

impl<P: Platform> QueuePair<P> {
    /// Device CQ index of the RX queue (RSS table entries name it).
    pub(super) fn rx_cq_idx(&self) -> Option<u16> {
        self.rx_cq
    }

    /// Adaptive RX: feed one sample (one per poll, at the unmask) with the
    /// RX ring's running packet and byte counts, and return the RX delay
    /// to write, in device units.
    #[inline]
    pub(super) fn adaptive_rx_delay(&mut self, now_us: u64, units: &DelayUnits) -> u32 {
        let s = self.rx.stats();
        if let Some(us) = self.dim.sample(now_us, s.cnt, s.bytes) {
            self.dim_rx_delay = units.to_units_clamped(us);
        }
        self.dim_rx_delay
    }

    /// Start adaptive RX over from `rx_delay` (device units): adaptive
    /// moderation was switched on.
    pub(super) fn restart_adaptive_rx(&mut self, rx_delay: u32) {
        self.dim.reset();
        self.dim_rx_delay = rx_delay;
    }
}

fn check_ring(requested: u32, min: u32, max: u32) -> Result<(), ConfigError> {
    if !requested.is_power_of_two() {
        return Err(ConfigError::RingSizeNotPowerOfTwo { requested });
    }
    if requested < min || requested > max {
        return Err(ConfigError::RingSizeOutOfRange {
            requested,
            min,
            max,
        });
    }
    Ok(())
}

fn check_cq(r: &CreateCqResp) -> Result<(), Error> {
    if r.cq_interrupt_unmask_register_offset & REG_ALIGN_MASK != 0
        || r.numa_node_register_offset & REG_ALIGN_MASK != 0
    {
        return Err(Error::Malformed);
    }
    Ok(())
}

fn check_sq(r: &CreateSqResp) -> Result<(), Error> {
    if r.sq_doorbell_offset & REG_ALIGN_MASK != 0 {
        return Err(Error::Malformed);
    }
    Ok(())
}

impl<P: Platform, R: RegisterBar> EnaDevice<P, R> {
    /// Check `cfg` against the device limits; nothing changes on error.
    pub(super) fn validate_config(&self, cfg: &QueueConfig) -> Result<(), Error> {
        let i = &self.info;
        if cfg.num_queues == 0 || cfg.num_queues > i.max_queues {
            return Err(ConfigError::QueueCountOutOfRange {
                requested: cfg.num_queues.into(),
                max: i.max_queues.into(),
            }
            .into());
        }
        check_ring(cfg.tx_ring_size, i.min_ring_size, i.max_tx_ring_size)?;
        check_ring(cfg.rx_ring_size, i.min_ring_size, i.max_rx_ring_size)?;
        if cfg.mtu < MIN_MTU || cfg.mtu > i.max_mtu {
            return Err(ConfigError::MtuOutOfRange {
                requested: cfg.mtu,
                min: MIN_MTU,
                max: i.max_mtu,
            }
            .into());
        }
        Ok(())
    }

    /// Allocate rings, create every queue on the device, push the RSS table,
    /// set the MTU and unmask the interrupts. On error everything created is
    /// destroyed again and the device is left closed.
    pub(super) fn create_queues(&mut self, cfg: &QueueConfig) -> Result<(), Error> {
        let n = usize::from(cfg.num_queues);
        let tx_depth = u16::try_from(cfg.tx_ring_size)
            .map_err(|_| Error::InvalidConfig(ConfigError::WrongState))?;
        let rx_depth = u16::try_from(cfg.rx_ring_size)
            .map_err(|_| Error::InvalidConfig(ConfigError::WrongState))?;
        let mbz = self.neg.caps.contains(DeviceCaps::CDESC_MBZ);
        let params = TxRingParams {
            depth: tx_depth,
            max_sgl: self.neg.limits.max_tx_sgl,
            max_header_size: self.neg.limits.max_tx_header_size.min(u32::from(u16::MAX)) as u16,
            placement: match (self.neg.llq, self.bar2.is_some()) {
                (Some(c), true) => TxPlacement::Llq(c),
                _ => TxPlacement::Host,
            },
            cdesc_mbz_checked: mbz,
        };
        let (rx_delay, _) = self.moderation_delays();
        let mut table = self.plat.alloc_table(n, |_| None)?;
        for slot in table.iter_mut() {
            *slot = Some(QueuePair {
                tx: TxRing::new(&self.plat, &params)?,
                rx: RxRing::new(&self.plat, rx_depth, self.neg.limits.max_rx_sgl, mbz)?,
                tx_cq: None,
                tx_sq: None,
                rx_cq: None,
                rx_sq: None,
                health: QueueHealth::default(),
                dim: AdaptiveRx::new(),
                dim_rx_delay: rx_delay,
            });
        }
        self.queues = Some(table);
        let r = self.create_on_device(cfg);
        if r.is_err() {
            cn_err!(&self.plat, "Failed to create IO queues");
            self.destroy_queues(&mut |_| {}, true);
        }
        r
    }

    fn create_on_device(&mut self, cfg: &QueueConfig) -> Result<(), Error> {
        for q in 0..cfg.num_queues {
            self.create_pair_half(q, SqDirection::Tx)?;
        }
        for q in 0..cfg.num_queues {
            self.create_pair_half(q, SqDirection::Rx)?;
        }
        let Self {
            plat,
            bar0,
            admin,
            rss,
            queues,
            ..
        } = self;
        let table = queues.as_ref().ok_or(Error::NotRunning)?;
        rss.push_table(plat, bar0, admin, &|q| {
            table
                .get(usize::from(q))
                .and_then(Option::as_ref)
                .and_then(QueuePair::rx_cq_idx)
        })?;
        match admin.set_feature(plat, bar0, FeatureId::Mtu, &MtuFeature { mtu: cfg.mtu }) {
            Ok(_) | Err(Error::Unsupported) => {}
            Err(e) => return Err(e),
        }
        let (rx_delay, tx_delay) = self.moderation_delays();
        let Self { bar0, queues, .. } = self;
        for pair in queues.iter_mut().flat_map(|t| t.iter_mut()).flatten() {
            pair.tx.unmask(bar0, rx_delay, tx_delay);
        }
        Ok(())
    }

    fn create_pair_half(&mut self, q: u16, dir: SqDirection) -> Result<(), Error> {
        let Self {
            plat,
            bar0,
            admin,
            queues,
            ..
        } = self;
        let pair = queues
            .as_mut()
            .and_then(|t| t.get_mut(usize::from(q)))
            .and_then(Option::as_mut)
            .ok_or(Error::NotRunning)?;
        let vector = pci::io_msix_vector(q);
        match dir {
            SqDirection::Tx => {
                let depth = pair.tx.depth();
                let cmd = CreateCqCmd::new(
                    pair.tx.cq_entry_words(),
                    depth,
                    vector,
                    pair.tx.cq_bus_addr(),
                );
                let cq = admin.create_cq(plat, bar0, &cmd)?;
                pair.tx_cq = Some(cq.cq_idx);
                check_cq(&cq)?;
                let sq = admin.create_sq(
                    plat,
                    bar0,
                    &CreateSqCmd::new(dir, cq.cq_idx, depth, pair.tx.sq_bus_addr()),
                )?;
                pair.tx_sq = Some(sq.sq_idx);
                check_sq(&sq)?;
                pair.tx.attach(
                    sq.sq_doorbell_offset,
                    sq.llq_descriptors_offset,
                    cq.cq_interrupt_unmask_register_offset,
                );
            }
            SqDirection::Rx => {
                let depth = pair.rx.depth();
                let cmd = CreateCqCmd::new(
                    pair.rx.cq_entry_words(),
                    depth,
                    vector,
                    pair.rx.cq_bus_addr(),
                );
                let cq = admin.create_cq(plat, bar0, &cmd)?;
                pair.rx_cq = Some(cq.cq_idx);
                check_cq(&cq)?;
                let sq = admin.create_sq(
                    plat,
                    bar0,
                    &CreateSqCmd::new(dir, cq.cq_idx, depth, Some(pair.rx.sq_bus_addr())),
                )?;
                pair.rx_sq = Some(sq.sq_idx);
                check_sq(&sq)?;
                pair.rx.attach(
                    sq.sq_doorbell_offset,
                    cq.cq_interrupt_unmask_register_offset,
                );
            }
        }
        Ok(())
    }

    /// Destroy every queue (SQ then CQ; through the admin queue only if
    /// `use_admin` and it still runs), hand outstanding tokens to `release`,
    /// fold the rings' counters into the saved ones, free the rings.
    pub(super) fn destroy_queues(&mut self, release: &mut dyn FnMut(Released), use_admin: bool) {
        let Some(mut table) = self.queues.take() else {
            return;
        };
        let Self {
            plat,
            bar0,
            admin,
            saved_stats,
            ..
        } = self;
        for (q, slot) in table.iter_mut().enumerate() {
            let Some(pair) = slot.as_mut() else { continue };
            if use_admin {
                let steps = [
                    (pair.tx_sq.take().map(|i| (Some(SqDirection::Tx), i))),
                    (pair.tx_cq.take().map(|i| (None, i))),
                    (pair.rx_sq.take().map(|i| (Some(SqDirection::Rx), i))),
                    (pair.rx_cq.take().map(|i| (None, i))),
                ];
                for (dir, idx) in steps.into_iter().flatten() {
                    if !admin.is_running() {
                        break;
                    }
                    let r = match dir {
                        Some(d) => admin.destroy_sq(plat, bar0, d, idx),
                        None => admin.destroy_cq(plat, bar0, idx),
                    };
                    if let Err(e) = r {
                        cn_err!(
                            plat,
                            "Failed to destroy IO queue {} (index {}): {}",
                            q,
                            idx,
                            e
                        );
                    }
                }
            }
            pair.tx.release_all(release);
            pair.rx.release_all(release);
            if let Some(saved) = saved_stats.get_mut(q) {
                saved.0.add(pair.tx.stats());
                saved.1.add(pair.rx.stats());
            }
        }
    }
}
