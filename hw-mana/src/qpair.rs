//! One queue pair of a vPort: its EQ (one MSI-X vector), TX queue and RX
//! queue, created and destroyed in Linux's order (mana.md §6.4), plus EQ
//! processing and arming (mana.md §4.6).

use cloudnic_common::reset::ResetTrigger;
use cloudnic_common::{stats, Error, Platform, RegisterBar, ResetReason};

use crate::bar::DoorbellPage;
use crate::cq::{EventQueue, QueueEntry};
use crate::defs::eth::{WQ_TYPE_RQ, WQ_TYPE_SQ};
use crate::defs::queue::{eqe_type, GDMA_QUEUE_EQ, GDMA_QUEUE_ID_MASK};
use crate::gdma::Gdma;
use crate::rx::RxQueue;
use crate::tx::{TxParams, TxQueue};
use crate::vport::WqObjSpec;

/// log2 throttle of data EQs (mana.md §4.6).
pub const DATA_EQ_LOG2_THROTTLE: u32 = 3;
/// EQEs handled per drain (Linux handles 5 per interrupt; we drain what is there, bounded).
const EQ_DRAIN_BUDGET: u32 = 256;

cloudnic_common::counters! {
    /// Per-queue-pair EQ counters (cloudnic extras).
    pub struct EqStats {
        /// Interrupts noted.
        interrupts,
        /// EQEs processed.
        eqes,
        /// COMPLETION EQEs naming a CQ not of this pair.
        bad_eqes,
        /// EQ overflows.
        eq_overflows,
        /// CQ/EQ re-armed by the health check (lost interrupt remedy).
        rearms,
        /// Health checks that found the RX ring empty.
        empty_rx_ring,
    }
}

/// What a queue pair is created with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct QueuePairSpec {
    /// vPort handle.
    pub vport: u64,
    /// TX ring size (WQE slots).
    pub tx_ring: u32,
    /// RX ring size (buffers).
    pub rx_ring: u32,
    /// EQ entries.
    pub eq_entries: u32,
    /// MSI-X vector of the EQ.
    pub msix: u32,
    /// TX parameters.
    pub tx_params: TxParams,
}

/// One queue pair.
pub struct QueuePair<P: Platform> {
    /// Event queue.
    pub eq: EventQueue<P>,
    /// TX queue.
    pub tx: TxQueue<P>,
    /// RX queue.
    pub rx: RxQueue<P>,
    /// MSI-X vector.
    pub msix: u32,
    eq_created: bool,
    /// Interrupt noted, poll not finished (health view).
    pub poll_scheduled: bool,
    /// Last time TX or RX was polled.
    pub last_poll_us: u64,
    /// An interrupt was noted since creation.
    pub interrupt_seen: bool,
    /// EQ counters.
    pub eq_stats: EqStats,
}

impl<P: Platform> QueuePair<P> {
    /// Allocate and create EQ, SQ+CQ, RQ+CQ on the device. On failure
    /// everything created so far is destroyed again.
    pub fn create<R: RegisterBar>(
        plat: &P,
        bar: &R,
        gdma: &mut Gdma<P>,
        spec: &QueuePairSpec,
    ) -> Result<Self, Error> {
        let eq = EventQueue::new(plat, spec.eq_entries)?;
        let tx = TxQueue::new(plat, spec.tx_ring, spec.tx_params)?;
        let rx = RxQueue::new(plat, spec.rx_ring, spec.tx_params.gpa_mkey)?;
        let mut qp = QueuePair {
            eq,
            tx,
            rx,
            msix: spec.msix,
            eq_created: false,
            poll_scheduled: false,
            last_poll_us: 0,
            interrupt_seen: false,
            eq_stats: EqStats::default(),
        };
        match qp.create_on_device(plat, bar, gdma, spec) {
            Ok(()) => Ok(qp),
            Err(e) => {
                qp.destroy(plat, bar, Some(gdma));
                Err(e)
            }
        }
    }

    fn create_on_device<R: RegisterBar>(
        &mut self,
        plat: &P,
        bar: &R,
        gdma: &mut Gdma<P>,
        spec: &QueuePairSpec,
    ) -> Result<(), Error> {
        let log2 = DATA_EQ_LOG2_THROTTLE.min(self.eq.entries().trailing_zeros());
        gdma.create_eq(plat, bar, &mut self.eq, spec.msix, log2)?;
        self.eq_created = true;
        let eq_id = self.eq.id();
        // TX: SQ and CQ regions, then the SQ object.
        let sq_region = gdma.create_dma_region(plat, bar, self.tx.sq.mem())?;
        let obj = create_obj(
            plat,
            bar,
            gdma,
            sq_region,
            self.tx.cq.mem(),
            WqObjSpec {
                vport: spec.vport,
                wq_type: WQ_TYPE_SQ,
                wq_region: sq_region,
                cq_region: 0,
                wq_size: self.tx.sq.size(),
                cq_size: self.tx.cq.size_bytes(),
                eq_id,
            },
        )?;
        self.tx.obj_handle = obj.handle;
        self.tx.sq.set_id(obj.wq_id);
        self.tx.cq.set_id(obj.cq_id);
        // RX: RQ and CQ regions, then the RQ object.
        let rq_region = gdma.create_dma_region(plat, bar, self.rx.rq.mem())?;
        let obj = create_obj(
            plat,
            bar,
            gdma,
            rq_region,
            self.rx.cq.mem(),
            WqObjSpec {
                vport: spec.vport,
                wq_type: WQ_TYPE_RQ,
                wq_region: rq_region,
                cq_region: 0,
                wq_size: self.rx.rq.size(),
                cq_size: self.rx.cq.size_bytes(),
                eq_id,
            },
        )?;
        self.rx.obj_handle = obj.handle;
        self.rx.rq.set_id(obj.wq_id);
        self.rx.cq.set_id(obj.cq_id);
        let db = gdma.registration().db;
        self.tx.cq.ring_doorbell(plat, bar, &db, true);
        self.rx.cq.ring_doorbell(plat, bar, &db, true);
        Ok(())
    }

    /// Destroy the device objects (best effort: errors are ignored, a dead
    /// channel fails fast) in Linux's order: RQ, SQ, then the EQ.
    pub fn destroy<R: RegisterBar>(&mut self, plat: &P, bar: &R, gdma: Option<&mut Gdma<P>>) {
        let Some(g) = gdma else { return };
        if self.rx.obj_handle != u64::MAX {
            let _ = g.destroy_wq_obj(plat, bar, WQ_TYPE_RQ, self.rx.obj_handle);
            self.rx.obj_handle = u64::MAX;
        }
        if self.tx.obj_handle != u64::MAX {
            let _ = g.destroy_wq_obj(plat, bar, WQ_TYPE_SQ, self.tx.obj_handle);
            self.tx.obj_handle = u64::MAX;
        }
        if self.eq_created {
            let _ = g.disable_queue(plat, bar, GDMA_QUEUE_EQ, self.eq.id());
            self.eq_created = false;
        }
    }

    /// Drain the EQ: COMPLETION EQEs must name this pair's CQs; the CQs are
    /// polled directly anyway. Overflow requests a reset. Returns EQEs seen.
    pub fn drain_eq(&mut self, plat: &P, trigger: &ResetTrigger) -> u32 {
        let mut n = 0u32;
        let (tx_cq, rx_cq) = (self.tx.cq.id(), self.rx.cq.id());
        while n < EQ_DRAIN_BUDGET {
            match self.eq.poll(plat) {
                QueueEntry::Empty => break,
                QueueEntry::Overflow => {
                    stats::inc(&mut self.eq_stats.eq_overflows);
                    trigger.trigger(ResetReason::Generic);
                    break;
                }
                QueueEntry::Entry(e) => {
                    n += 1;
                    stats::inc(&mut self.eq_stats.eqes);
                    let ty = e.info().event_type();
                    let cq = e.details[0] & GDMA_QUEUE_ID_MASK;
                    if ty == eqe_type::COMPLETION && cq != tx_cq && cq != rx_cq {
                        stats::inc(&mut self.eq_stats.bad_eqes);
                    }
                }
            }
        }
        n
    }

    /// Arm both CQs, then the EQ with its head: an event that raced the
    /// drain fires at once (mana.md §4.6).
    pub fn arm<R: RegisterBar>(&mut self, plat: &P, bar: &R, db: &DoorbellPage) {
        self.tx.cq.ring_doorbell(plat, bar, db, true);
        self.rx.cq.ring_doorbell(plat, bar, db, true);
        self.eq.ring_doorbell(plat, bar, db, true);
    }
}

/// Create the CQ region and the WQ object; on failure destroy both regions.
fn create_obj<P: Platform, R: RegisterBar>(
    plat: &P,
    bar: &R,
    gdma: &mut Gdma<P>,
    wq_region: u64,
    cq_mem: &P::Dma,
    mut spec: WqObjSpec,
) -> Result<crate::vport::WqObj, Error> {
    let cq_region = match gdma.create_dma_region(plat, bar, cq_mem) {
        Ok(r) => r,
        Err(e) => {
            let _ = gdma.destroy_dma_region(plat, bar, wq_region);
            return Err(e);
        }
    };
    spec.cq_region = cq_region;
    match gdma.create_wq_obj(plat, bar, &spec) {
        Ok(o) => Ok(o),
        Err(e) => {
            let _ = gdma.destroy_dma_region(plat, bar, wq_region);
            let _ = gdma.destroy_dma_region(plat, bar, cq_region);
            Err(e)
        }
    }
}
