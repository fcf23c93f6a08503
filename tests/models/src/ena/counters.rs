//! [`EnaCounters`]: what the model saw and did, for tests and for
//! side-by-side comparisons with other models or runs. Lifetime counters:
//! a device reset does not clear them (the device-reported statistics in
//! GET_STATS and keep-alive do reset; see `DeviceStats`).

/// Opcode slots counted individually (admin opcodes are ≤ 11, ena.md §3.5).
pub const ADMIN_OPCODE_SLOTS: usize = 16;
/// AENQ groups counted individually (ena.md §4).
pub const AENQ_GROUP_SLOTS: usize = 8;

/// Model counters.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct EnaCounters {
    /// Direct MMIO loads (any BAR).
    pub mmio_reads: u64,
    /// MMIO stores (any BAR).
    pub mmio_writes: u64,
    /// Readless read requests answered.
    pub readless_reads: u64,
    /// Readless read requests not answered (no response address, fault,
    /// readless disabled, or DMA fault).
    pub readless_unanswered: u64,
    /// AQ doorbell writes.
    pub aq_doorbells: u64,
    /// AENQ head doorbell writes.
    pub aenq_doorbells: u64,
    /// TX SQ doorbell writes.
    pub tx_doorbells: u64,
    /// RX SQ doorbell writes.
    pub rx_doorbells: u64,
    /// Admin commands executed, by opcode (index = opcode; larger opcodes in the last slot).
    pub admin_commands: [u64; ADMIN_OPCODE_SLOTS],
    /// Admin completions written.
    pub admin_completions: u64,
    /// Admin completions not answered with success.
    pub admin_errors: u64,
    /// Admin completions dropped by a fault.
    pub admin_dropped: u64,
    /// Admin completions delayed by a fault.
    pub admin_delayed: u64,
    /// AQ entries whose phase bit did not match (driver bug).
    pub admin_phase_errors: u64,
    /// Admin doorbells while the AQ/ACQ was not configured.
    pub admin_unconfigured: u64,
    /// MSI-X messages delivered, index = vector.
    pub irq_raised: Vec<u64>,
    /// MSI-X messages swallowed by a lost-interrupt fault.
    pub irq_dropped: u64,
    /// Events that found their vector masked (left pending).
    pub irq_masked: u64,
    /// Interrupt-register writes with the unmask bit.
    pub irq_unmasks: u64,
    /// DMA accesses refused by guest memory (driver-given addresses outside
    /// live allocations, or outside memory).
    pub dma_faults: u64,
    /// Frames put on the wire.
    pub frames_tx: u64,
    /// Bytes put on the wire.
    pub bytes_tx: u64,
    /// Frames delivered into RX buffers.
    pub frames_rx: u64,
    /// Bytes delivered into RX buffers.
    pub bytes_rx: u64,
    /// TX packets taken from SQs (before TSO).
    pub tx_packets: u64,
    /// TX packets segmented by TSO.
    pub tso_packets: u64,
    /// TX packets dropped (link down, oversize, DMA fault, bad descriptors).
    pub tx_dropped: u64,
    /// RX frames dropped (no queue, backlog full, too many buffers, link down).
    pub rx_dropped: u64,
    /// TX descriptors with a wrong phase, a missing LAST, or a zero-length chain.
    pub tx_desc_errors: u64,
    /// RX descriptors with a wrong phase or zero address.
    pub rx_desc_errors: u64,
    /// Offload requests that disagree with the frame or the meta descriptor.
    pub tx_meta_mismatch: u64,
    /// Packets without a meta descriptor while meta caching is disabled.
    pub tx_missing_meta: u64,
    /// Offloads requested but not advertised.
    pub tx_offload_unsupported: u64,
    /// Frames above the MTU without TSO.
    pub tx_oversize: u64,
    /// LLQ doorbells that covered more lines than the burst limit.
    pub llq_burst_exceeded: u64,
    /// RX frames with a bad IPv4 header checksum.
    pub rx_l3_csum_bad: u64,
    /// RX frames with a bad TCP/UDP checksum.
    pub rx_l4_csum_bad: u64,
    /// RX frames steered by a table entry naming no live RX queue.
    pub rss_unmapped: u64,
    /// Device resets performed (DEV_CTL reset bit).
    pub resets: u64,
    /// AENQ events written, by group.
    pub aenq_events: [u64; AENQ_GROUP_SLOTS],
    /// AENQ events discarded (group disabled, queue not configured, overflow).
    pub aenq_dropped: u64,
    /// Writes to offsets the model does not implement.
    pub unknown_writes: u64,
    /// Faults applied (each time one fires).
    pub faults_fired: u64,
}

impl EnaCounters {
    /// Commands seen with `opcode`.
    pub fn admin(&self, opcode: u8) -> u64 {
        self.admin_commands[usize::from(opcode).min(ADMIN_OPCODE_SLOTS - 1)]
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
        self.aq_doorbells + self.aenq_doorbells + self.tx_doorbells + self.rx_doorbells
    }
}

/// Statistics the device reports (GET_STATS basic, keep-alive payload);
/// cleared by a device reset (ena.md §4: "cumulative since reset").
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DeviceStats {
    /// Bytes transmitted.
    pub tx_bytes: u64,
    /// Packets transmitted.
    pub tx_pkts: u64,
    /// Bytes received.
    pub rx_bytes: u64,
    /// Packets received.
    pub rx_pkts: u64,
    /// RX drops.
    pub rx_drops: u64,
    /// TX drops.
    pub tx_drops: u64,
    /// RX overruns (no buffer).
    pub rx_overruns: u64,
}
