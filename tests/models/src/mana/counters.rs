//! [`ManaCounters`]: what the model saw and did (lifetime counters, for
//! tests and side-by-side comparisons), and [`GfStats`]: the global-function
//! statistics the device reports through QUERY_GF_STAT (mana.md §8).

use std::collections::BTreeMap;

use cloudnic_mana::defs::eth_stats::GF_STAT_COUNT;

/// Index of each counter in the QUERY_GF_STAT response, Linux order
/// (mana.md §8; rx broadcast before multicast, §12 notes the doubt).
pub mod gf {
    /// RX discards: no receive WQE.
    pub const RX_DISCARDS_NO_WQE: usize = 0;
    /// RX errors: vPort disabled.
    pub const RX_ERR_VPORT_DISABLED: usize = 1;
    /// RX bytes.
    pub const RX_BYTES: usize = 2;
    /// RX unicast packets.
    pub const RX_UCAST_PKTS: usize = 3;
    /// RX unicast bytes.
    pub const RX_UCAST_BYTES: usize = 4;
    /// RX broadcast packets.
    pub const RX_BCAST_PKTS: usize = 5;
    /// RX broadcast bytes.
    pub const RX_BCAST_BYTES: usize = 6;
    /// RX multicast packets.
    pub const RX_MCAST_PKTS: usize = 7;
    /// RX multicast bytes.
    pub const RX_MCAST_BYTES: usize = 8;
    /// TX errors: vPort disabled.
    pub const TX_ERR_VPORT_DISABLED: usize = 10;
    /// TX errors: invalid vPort offset.
    pub const TX_ERR_INVAL_VPORT_OFFSET: usize = 11;
    /// TX errors: VLAN enforcement.
    pub const TX_ERR_VLAN_ENFORCEMENT: usize = 12;
    /// TX errors: source-address enforcement.
    pub const TX_ERR_SA_ENFORCEMENT: usize = 14;
    /// TX errors: MTU violation.
    pub const TX_ERR_MTU_VIOLATION: usize = 17;
    /// TX errors: invalid OOB.
    pub const TX_ERR_INVAL_OOB: usize = 18;
    /// TX bytes.
    pub const TX_BYTES: usize = 19;
    /// TX unicast packets.
    pub const TX_UCAST_PKTS: usize = 20;
    /// TX unicast bytes.
    pub const TX_UCAST_BYTES: usize = 21;
    /// TX broadcast packets.
    pub const TX_BCAST_PKTS: usize = 22;
    /// TX broadcast bytes.
    pub const TX_BCAST_BYTES: usize = 23;
    /// TX multicast packets.
    pub const TX_MCAST_PKTS: usize = 24;
    /// TX multicast bytes.
    pub const TX_MCAST_BYTES: usize = 25;
    /// TX errors: GDMA error.
    pub const TX_ERR_GDMA: usize = 26;
}

/// The 27 GF counters in response order (function lifetime).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct GfStats(pub [u64; GF_STAT_COUNT]);

impl Default for GfStats {
    fn default() -> Self {
        GfStats([0; GF_STAT_COUNT])
    }
}

impl GfStats {
    /// Add to counter `i` (indices from [`gf`]).
    pub fn add(&mut self, i: usize, v: u64) {
        if let Some(c) = self.0.get_mut(i) {
            *c = c.wrapping_add(v);
        }
    }
    /// Counter `i`.
    pub fn get(&self, i: usize) -> u64 {
        self.0.get(i).copied().unwrap_or(0)
    }
    /// Count one frame of `len` bytes by destination class (RX: base
    /// [`gf::RX_UCAST_PKTS`], TX: [`gf::TX_UCAST_PKTS`]); the class counters
    /// follow as ucast, bcast, mcast pairs.
    pub fn count_frame(&mut self, ucast_pkts: usize, bytes_total: usize, dst: [u8; 6], len: usize) {
        let class = if dst == [0xFF; 6] {
            2
        } else if dst[0] & 1 != 0 {
            4
        } else {
            0
        };
        self.add(ucast_pkts + class, 1);
        self.add(ucast_pkts + class + 1, len as u64);
        self.add(bytes_total, len as u64);
    }
}

/// Model counters (never cleared).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ManaCounters {
    /// MMIO loads (any BAR).
    pub mmio_reads: u64,
    /// MMIO stores (any BAR).
    pub mmio_writes: u64,
    /// SMC messages handled, by message type.
    pub smc_messages: BTreeMap<u8, u64>,
    /// SMC messages answered with a non-zero status.
    pub smc_errors: u64,
    /// SQ doorbells (HWC and data).
    pub sq_doorbells: u64,
    /// RQ doorbells.
    pub rq_doorbells: u64,
    /// CQ doorbells.
    pub cq_doorbells: u64,
    /// EQ doorbells.
    pub eq_doorbells: u64,
    /// DIM (interrupt moderation) doorbells.
    pub dim_doorbells: u64,
    /// CQ/EQ doorbells with the arm bit.
    pub arms: u64,
    /// Arm doorbells that found unconsumed entries and fired at once.
    pub arms_fired: u64,
    /// Arm doorbells whose index was impossible (ahead of the device or
    /// more than a ring behind) and were ignored.
    pub arms_ignored: u64,
    /// Doorbells naming no queue, the wrong queue kind, or a queue of
    /// another doorbell page.
    pub bad_doorbells: u64,
    /// WQ doorbells whose producer offset moved backwards or past the ring.
    pub bad_wq_tails: u64,
    /// CQs the device filled more than 8 wraps past the last CQ doorbell
    /// (the driver broke the "ring once per 8 wraps" rule, mana.md §4.6).
    pub cq_doorbell_rule_violations: u64,
    /// Entries written on top of unconsumed ones (per the last doorbell).
    pub queue_overruns: u64,
    /// Work-queue entries that failed validation.
    pub bad_wqes: u64,
    /// SGEs with the wrong memory key.
    pub bad_mem_keys: u64,
    /// HWC requests handled, by request code.
    pub hwc_requests: BTreeMap<u32, u64>,
    /// HWC requests answered with a non-zero status.
    pub hwc_errors: u64,
    /// HWC responses waiting for a receive buffer when they were due.
    pub hwc_responses_waiting: u64,
    /// MSI-X messages delivered, index = vector.
    pub irq_raised: Vec<u64>,
    /// MSI-X messages swallowed by a lost-interrupt fault.
    pub irq_dropped: u64,
    /// EQEs written.
    pub eqes: u64,
    /// CQEs written.
    pub cqes: u64,
    /// DMA accesses refused by guest memory.
    pub dma_faults: u64,
    /// Frames put on the wire.
    pub frames_tx: u64,
    /// Bytes put on the wire.
    pub bytes_tx: u64,
    /// Frames written into receive buffers.
    pub frames_rx: u64,
    /// Bytes written into receive buffers.
    pub bytes_rx: u64,
    /// TX WQEs processed.
    pub tx_wqes: u64,
    /// TX WQEs segmented by TSO.
    pub tso_packets: u64,
    /// TX WQEs completed with an error CQE.
    pub tx_errors: u64,
    /// Frames not sent (link down).
    pub tx_dropped: u64,
    /// RX frames dropped (link down, vPort disabled, no WQE, filtered).
    pub rx_dropped: u64,
    /// RX frames truncated (buffer too small).
    pub rx_truncated: u64,
    /// RX frames with a bad IPv4 header checksum.
    pub rx_l3_csum_bad: u64,
    /// RX frames with a bad TCP/UDP checksum.
    pub rx_l4_csum_bad: u64,
    /// RX frames steered to an RX object that does not exist.
    pub rss_unmapped: u64,
    /// RX CQEs carrying more than one packet.
    pub coalesced_cqes: u64,
    /// Fence CQEs written.
    pub fences: u64,
    /// Device objects (queues, WQ objects, regions) still alive when the
    /// driver deregistered or destroyed the HWC.
    pub objects_dropped: u64,
    /// HWC teardowns (SMC DESTROY_HWC).
    pub hwc_destroys: u64,
    /// Writes to offsets the model does not implement.
    pub unknown_writes: u64,
    /// Faults applied (each time one fires).
    pub faults_fired: u64,
}

impl ManaCounters {
    /// Requests seen with `code`.
    pub fn hwc(&self, code: u32) -> u64 {
        self.hwc_requests.get(&code).copied().unwrap_or(0)
    }
    /// Interrupts delivered on `vector`.
    pub fn irq(&self, vector: u16) -> u64 {
        self.irq_raised
            .get(usize::from(vector))
            .copied()
            .unwrap_or(0)
    }
    /// Total doorbells of every kind.
    pub fn doorbells(&self) -> u64 {
        self.sq_doorbells
            + self.rq_doorbells
            + self.cq_doorbells
            + self.eq_doorbells
            + self.dim_doorbells
    }
}
