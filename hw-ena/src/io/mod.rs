//! ENA IO queues (ena.md §5): TX rings in host memory or LLQ device memory,
//! RX rings, and the per-queue-pair interrupt register.
//!
//! Each ring is one object taken `&mut` by the queue's NAPI/DPC context; BARs
//! are passed per call so the rings hold no references. Everything the device
//! writes (completion req_ids, lengths, flags) is validated before use; a
//! violation is counted and returned as the `ResetReason` to request.

pub mod intr;
pub mod llq;
pub mod rx;
mod rx_class;
pub mod stats;
pub mod tx;
mod tx_desc;
mod tx_offload;

#[cfg(test)]
mod test_support;
#[cfg(test)]
mod wire_tests;
