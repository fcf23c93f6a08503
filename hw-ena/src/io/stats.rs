//! Per-queue counters with the exact `ethtool -S` names and order of the
//! ENA Linux driver 2.17 (ena.md §7; build-dependent XDP/AF_XDP/page-pool
//! counters are not emitted). The device layer prefixes `queue_N_tx_` /
//! `queue_N_rx_` through `StatName`.

cloudnic_common::counters! {
    /// Per-TX-queue counters (`queue_N_tx_*`), in ethtool order.
    pub struct TxQueueStats {
        /// TX completion polls (one per NAPI/DPC poll).
        tx_poll,
        /// SQ doorbell writes.
        doorbells,
        /// Interrupt unmask writes for this queue pair.
        unmask_interrupt,
        /// Lost interrupts detected by the health check.
        lost_interrupt,
        /// Packets posted.
        cnt,
        /// Bytes posted.
        bytes,
        /// OS queue stops (ring full).
        queue_stop,
        /// OS queue wake-ups.
        queue_wakeup,
        /// DMA mapping failures (shim).
        dma_mapping_err,
        /// Packets linearised to fit the descriptor limit (shim).
        linearize,
        /// Linearisation failures (shim).
        linearize_failed,
        /// NAPI completions.
        napi_comp,
        /// Packets refused by `post` (malformed request, too many segments).
        prepare_ctx_err,
        /// TX completions with an invalid or duplicate req_id.
        bad_req_id,
        /// LLQ packets whose header had to be copied before pushing (shim).
        llq_buffer_copy,
        /// Packets seen past the missing-completion timeout (each once).
        missed_tx,
        /// Packets currently past the timeout (last check).
        pending_timedout_pkts,
    }
}

cloudnic_common::counters! {
    /// Per-RX-queue counters (`queue_N_rx_*`), in ethtool order.
    pub struct RxQueueStats {
        /// Packets received.
        cnt,
        /// Bytes received.
        bytes,
        /// Packets copied into a small buffer (shim).
        rx_copybreak_pkt,
        /// Packets with verified checksums.
        csum_good,
        /// Refills that could not fill the ring (shim).
        refil_partial,
        /// Packets with a bad L3/L4 checksum.
        csum_bad,
        /// Buffer allocation failures (shim).
        page_alloc_fail,
        /// Packet-object allocation failures (shim).
        skb_alloc_fail,
        /// DMA mapping failures (shim).
        dma_mapping_err,
        /// Packets spanning more completions than allowed.
        bad_desc_num,
        /// RX completions with an invalid or unposted req_id.
        bad_req_id,
        /// Health check found the ring without buffers.
        empty_rx_ring,
        /// TCP/UDP packets the device did not checksum.
        csum_unchecked,
    }
}
