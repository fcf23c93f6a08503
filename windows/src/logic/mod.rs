//! Host-testable logic of the miniport: no NDIS calls, no global state.
//! The shim (`crate::shim`) feeds it NDIS structures and applies its
//! answers; tests feed it fake structures built from `crate::ndis`.

pub mod bytes;
pub mod keywords;
pub mod nbl;
pub mod offload;
pub mod oid;
pub mod plan;
pub mod resources;
pub mod rss;
pub mod rx;
pub mod stats;
pub mod tx;
