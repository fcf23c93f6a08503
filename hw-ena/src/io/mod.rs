//! ENA IO queues: TX and RX submission/completion rings.

pub mod llq;
pub mod rx;
pub mod tx;
