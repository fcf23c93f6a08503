//! One vPort: its identity (MAC, limits, handle), the configuration it
//! restores after a reset (queues, rings, MTU, RSS key and table,
//! moderation), its open queue pairs and its counters (mana.md §6.1–§6.5).
//!
//! Open and close follow Linux's order (mana.md §6.4): CONFIG_VPORT_TX,
//! per pair EQ → SQ → RQ, CONFIG_VPORT_RX with RSS; close disables RX,
//! drains TX, fences every RQ, destroys RQ → SQ → EQ, and returns every
//! outstanding token. Device commands are skipped when no channel is left
//! (a failed reset), tokens are returned regardless.

use cloudnic_common::nic::{ModerationConfig, QueueConfig, Released, RxPacket};
use cloudnic_common::reset::ResetTrigger;
use cloudnic_common::rss::{fill_default_table, DEFAULT_RSS_KEY};
use cloudnic_common::{ConfigError, Error, Platform, RegisterBar};

use crate::config::{validate, ManaConfig};
use crate::defs::eth::MANA_HASH_KEY_SIZE;
use crate::defs::regs::RegLayout;
use crate::gdma::Gdma;
use crate::hwc::HwcHealth;
use crate::qpair::{EqStats, QueuePair, QueuePairSpec};
use crate::rx::RxStats;
use crate::tx::{TxParams, TxStats};
use crate::vport::{DevConfig, RssTable, RxSteering, VportInfo};

/// Most indirection entries we keep per port (the device maximum).
pub const MAX_RSS_TABLE: usize = crate::defs::eth::MANA_INDIRECT_TABLE_MAX as usize;

/// One vPort.
pub struct Port<P: Platform> {
    /// Identity and limits from QUERY_VPORT_CONFIG.
    pub info: VportInfo,
    /// Queue pairs this port may open.
    pub max_queues: u16,
    /// Configuration `open` uses and a reset restores.
    pub qcfg: QueueConfig,
    /// Toeplitz key.
    pub rss_key: [u8; MANA_HASH_KEY_SIZE],
    /// Indirection table (queue index per entry).
    pub rss_table: P::Table<u16>,
    /// Interrupt moderation.
    pub moderation: ModerationConfig,
    /// Carrier state.
    pub link_up: bool,
    /// Open queue pairs (`None` while closed).
    qps: Option<P::Table<Option<QueuePair<P>>>>,
    /// TX parameters while open.
    pub tx_params: Option<TxParams>,
    pf_hw_port: Option<u64>,
    pf_filter: Option<u64>,
    /// Counters of queues already destroyed, per queue index.
    saved_tx: P::Table<TxStats>,
    saved_rx: P::Table<RxStats>,
    /// EQ counters of destroyed queues (summed).
    pub saved_eq: EqStats,
    /// CQE coalescing timeout the device reported.
    pub coalescing_timeout_ns: u32,
    /// The user wants the port open (kept across failed resets).
    pub admin_up: bool,
    /// Posts refused with `TooManySegments` (Linux `tx_linear_pkt_cnt`: the shim linearizes).
    pub tx_linear_pkt_cnt: u64,
}

/// Borrowed device context for port operations.
pub struct Ctx<'a, P: Platform, R: RegisterBar> {
    /// Platform.
    pub plat: &'a P,
    /// BAR0.
    pub bar: &'a R,
    /// GDMA context.
    pub gdma: &'a mut Gdma<P>,
    /// Driver configuration.
    pub cfg: &'a ManaConfig,
    /// Device configuration.
    pub dev: &'a DevConfig,
}

impl<P: Platform> Port<P> {
    /// A closed port with default RSS (common default key, round-robin table of `table_len`).
    pub fn new(
        plat: &P,
        info: VportInfo,
        max_queues: u16,
        qcfg: QueueConfig,
        table_len: usize,
    ) -> Result<Self, Error> {
        let mut rss_table = plat.alloc_table(table_len.clamp(1, MAX_RSS_TABLE), |_| 0u16)?;
        fill_default_table(&mut rss_table, qcfg.num_queues);
        let saved_tx = plat.alloc_table(usize::from(max_queues), |_| TxStats::default())?;
        let saved_rx = plat.alloc_table(usize::from(max_queues), |_| RxStats::default())?;
        let mut rss_key = [0u8; MANA_HASH_KEY_SIZE];
        rss_key.copy_from_slice(&DEFAULT_RSS_KEY[..MANA_HASH_KEY_SIZE]);
        Ok(Port {
            info,
            max_queues,
            qcfg,
            rss_key,
            rss_table,
            moderation: ModerationConfig::default(),
            link_up: false,
            qps: None,
            tx_params: None,
            pf_hw_port: None,
            pf_filter: None,
            saved_tx,
            saved_rx,
            saved_eq: EqStats::default(),
            coalescing_timeout_ns: 0,
            tx_linear_pkt_cnt: 0,
            admin_up: false,
        })
    }

    /// True while open.
    pub fn is_open(&self) -> bool {
        self.qps.is_some()
    }
    /// Open queue pairs (0 when closed).
    pub fn num_open(&self) -> u16 {
        self.qps.as_ref().map_or(0, |t| t.len() as u16)
    }
    /// Queue pair `q`, if open.
    pub fn qp(&self, q: u16) -> Option<&QueuePair<P>> {
        self.qps.as_ref()?.get(usize::from(q))?.as_ref()
    }
    /// Queue pair `q`, mutably.
    pub fn qp_mut(&mut self, q: u16) -> Option<&mut QueuePair<P>> {
        self.qps.as_mut()?.get_mut(usize::from(q))?.as_mut()
    }

    /// Create queues and start traffic with `qcfg`.
    pub fn open<R: RegisterBar>(
        &mut self,
        ctx: &mut Ctx<'_, P, R>,
        qcfg: QueueConfig,
    ) -> Result<(), Error> {
        if self.is_open() {
            return Err(ConfigError::WrongState.into());
        }
        validate(&qcfg, self.max_queues, ctx.dev)?;
        let (plat, bar) = (ctx.plat, ctx.bar);
        let pf = ctx.gdma.layout().layout == RegLayout::Pf && !ctx.dev.bm_hostmode;
        if pf {
            self.pf_hw_port = Some(ctx.gdma.register_hw_port(plat, bar)?);
        }
        let result = self.open_queues(ctx, qcfg);
        if let Err(e) = result {
            self.close(plat, bar, Some(&mut *ctx.gdma), ctx.cfg, &mut |_| {});
            return Err(e);
        }
        self.qcfg = qcfg;
        self.link_up = true;
        Ok(())
    }

    fn open_queues<R: RegisterBar>(
        &mut self,
        ctx: &mut Ctx<'_, P, R>,
        qcfg: QueueConfig,
    ) -> Result<(), Error> {
        let (plat, bar) = (ctx.plat, ctx.bar);
        let (offset, short) = ctx.gdma.config_vport_tx(plat, bar, self.info.handle)?;
        let tx_params = TxParams {
            vport_offset: offset,
            short_form_allowed: short,
            gpa_mkey: ctx.gdma.registration().gpa_mkey,
        };
        self.tx_params = Some(tx_params);
        self.qps = Some(plat.alloc_table(usize::from(qcfg.num_queues), |_| None)?);
        let vectors = u32::from(ctx.cfg.num_msix.saturating_sub(1)).max(1);
        for q in 0..qcfg.num_queues {
            let spec = QueuePairSpec {
                vport: self.info.handle,
                tx_ring: qcfg.tx_ring_size,
                rx_ring: qcfg.rx_ring_size,
                eq_entries: ctx.cfg.eq_entries,
                msix: 1 + u32::from(q) % vectors,
                tx_params,
            };
            let qp = QueuePair::create(plat, bar, ctx.gdma, &spec)?;
            if let Some(slot) = self.qps.as_mut().and_then(|t| t.get_mut(usize::from(q))) {
                *slot = Some(qp);
            }
        }
        if self.rss_table.iter().any(|e| *e >= qcfg.num_queues) {
            fill_default_table(&mut self.rss_table, qcfg.num_queues);
        }
        self.steer(ctx, Some(true), true, true)?;
        if self.pf_hw_port.is_some() {
            self.pf_filter =
                Some(
                    ctx.gdma
                        .register_filter(plat, bar, self.info.handle, self.info.mac)?,
                );
        }
        Ok(())
    }

    /// CONFIG_VPORT_RX with the port's key and/or table (RSS on with >1
    /// queue, default object RQ 0, mana.md §6.4).
    pub fn steer<R: RegisterBar>(
        &mut self,
        ctx: &mut Ctx<'_, P, R>,
        rx_enable: Option<bool>,
        key: bool,
        table: bool,
    ) -> Result<(), Error> {
        self.coalescing_timeout_ns = self.steer_with(
            ctx,
            rx_enable,
            key.then_some(&self.rss_key),
            table.then_some(&self.rss_table[..]),
        )?;
        Ok(())
    }

    /// CONFIG_VPORT_RX with an explicit key/table (not stored: the caller
    /// commits them only if the device accepted). Returns the CQE coalescing
    /// timeout the device reports.
    pub fn steer_with<R: RegisterBar>(
        &self,
        ctx: &mut Ctx<'_, P, R>,
        rx_enable: Option<bool>,
        key: Option<&[u8; MANA_HASH_KEY_SIZE]>,
        table: Option<&[u16]>,
    ) -> Result<u32, Error> {
        let n = self.num_open();
        let default = self
            .qp(0)
            .map(|qp| qp.rx.obj_handle)
            .ok_or(Error::NotRunning)?;
        let mut handles = [u64::MAX; crate::config::MANA_MAX_NUM_QUEUES as usize];
        for (q, h) in handles.iter_mut().enumerate().take(usize::from(n)) {
            *h = self
                .qp(q as u16)
                .map(|qp| qp.rx.obj_handle)
                .ok_or(Error::NotRunning)?;
        }
        let handles = &handles[..usize::from(n).min(handles.len())];
        let steering = RxSteering {
            vport: self.info.handle,
            rx_enable,
            rss_enable: Some(n > 1),
            default_rxobj: Some(default),
            hash_key: key,
            table: table.map(|entries| RssTable { entries, handles }),
            cqe_coalescing: ctx.cfg.cqe_coalescing,
        };
        ctx.gdma.config_vport_rx(ctx.plat, ctx.bar, &steering)
    }

    /// Destroy queues (device commands only with a live channel) and hand
    /// every outstanding token to `release`.
    pub fn close<R: RegisterBar>(
        &mut self,
        plat: &P,
        bar: &R,
        gdma: Option<&mut Gdma<P>>,
        cfg: &ManaConfig,
        release: &mut dyn FnMut(Released),
    ) {
        let Some(mut qps) = self.qps.take() else {
            return;
        };
        if let Some(g) = gdma.filter(|g| g.hwc.health() == HwcHealth::Running) {
            let rx_off = RxSteering {
                vport: self.info.handle,
                rx_enable: Some(false),
                rss_enable: None,
                default_rxobj: None,
                hash_key: None,
                table: None,
                cqe_coalescing: false,
            };
            let _ = g.config_vport_rx(plat, bar, &rx_off);
            let db = g.registration().db;
            let scratch = ResetTrigger::new();
            let deadline = plat.now_us().saturating_add(cfg.tx_drain_timeout_us);
            for qp in qps.iter_mut().flatten() {
                // Drain TX: completed packets go back as released tokens.
                while qp.tx.in_flight() > 0 && plat.now_us() < deadline {
                    if qp.tx.poll(plat, bar, &db, u32::MAX, &scratch, &mut |t| {
                        release(Released::Tx(t))
                    }) == 0
                    {
                        plat.sleep_us(1000);
                    }
                }
                // Fence the RQ; packets still arriving are released.
                if qp.rx.obj_handle != u64::MAX && g.fence_rq(plat, bar, qp.rx.obj_handle).is_ok() {
                    let end = plat.now_us().saturating_add(cfg.fence_timeout_us);
                    loop {
                        let mut deliver = |p: &RxPacket<'_>| {
                            p.frags.iter().for_each(|f| release(Released::Rx(f.token)))
                        };
                        qp.rx.poll(plat, bar, &db, u32::MAX, &scratch, &mut deliver);
                        if qp.rx.take_fence() || plat.now_us() >= end {
                            break;
                        }
                        plat.sleep_us(1000);
                    }
                }
            }
            for qp in qps.iter_mut().flatten() {
                qp.destroy(plat, bar, Some(&mut *g));
            }
            if let Some(h) = self.pf_filter.take() {
                let _ = g.deregister_filter(plat, bar, h);
            }
            if let Some(h) = self.pf_hw_port.take() {
                let _ = g.deregister_hw_port(plat, bar, h);
            }
        }
        self.pf_filter = None;
        self.pf_hw_port = None;
        for (i, qp) in qps.iter_mut().enumerate() {
            let Some(qp) = qp.as_mut() else { continue };
            qp.tx.release_all(&mut |t| release(Released::Tx(t)));
            qp.rx.release_all(&mut |t| release(Released::Rx(t)));
            if let Some(s) = self.saved_tx.get_mut(i) {
                s.add(&qp.tx.stats);
            }
            if let Some(s) = self.saved_rx.get_mut(i) {
                s.add(&qp.rx.stats);
            }
            self.saved_eq.add(&qp.eq_stats);
        }
        self.tx_params = None;
        self.link_up = false;
    }

    /// TX counters of queue `q`: destroyed queues' totals plus the live queue.
    pub fn tx_stats(&self, q: u16) -> TxStats {
        let mut s = self
            .saved_tx
            .get(usize::from(q))
            .copied()
            .unwrap_or_default();
        if let Some(qp) = self.qp(q) {
            s.add(&qp.tx.stats);
        }
        s
    }
    /// RX counters of queue `q`.
    pub fn rx_stats(&self, q: u16) -> RxStats {
        let mut s = self
            .saved_rx
            .get(usize::from(q))
            .copied()
            .unwrap_or_default();
        if let Some(qp) = self.qp(q) {
            s.add(&qp.rx.stats);
        }
        s
    }
    /// Queues that have counters (all that were ever opened).
    pub fn stat_queues(&self) -> u16 {
        let used = self
            .saved_tx
            .iter()
            .rposition(|s| *s != TxStats::default())
            .map_or(0, |i| i as u16 + 1);
        used.max(self.num_open())
    }
}
