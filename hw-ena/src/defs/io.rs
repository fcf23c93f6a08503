//! IO-queue wire formats (ena.md §5): TX data and meta descriptors, TX and RX
//! completions, RX descriptors, the interrupt-unmask and NUMA registers,
//! protocol indices and the LLQ negotiation enums.
//!
//! Every descriptor is a `#[repr(C)]` zerocopy struct of little-endian words
//! (we target LE hosts). Encoders and decoders exist for both sides: the driver
//! builds submission descriptors and parses completions, the device model does
//! the reverse with the same definitions, so the two cannot drift apart.
//! `to_qwords`/`from_qwords` give the layout as 64-bit words because rings are
//! written and read through `DmaRegion::{read64, write64}` and LLQ entries are
//! pushed with `RegisterBar::write64_block` (byte order of a LE u64 == wire order).

pub(crate) const fn lo32(v: u64) -> u32 {
    (v & 0xFFFF_FFFF) as u32
}
pub(crate) const fn hi32(v: u64) -> u32 {
    (v >> 32) as u32
}
pub(crate) const fn join(lo: u32, hi: u32) -> u64 {
    lo as u64 | (hi as u64) << 32
}

/// Bus addresses carried by IO descriptors are 48 bits wide (ena.md §5.2, §5.5).
pub const DESC_ADDR_HI_MASK: u32 = 0xFFFF;

mod intr;
mod llq;
mod rx;
mod tx;

pub use intr::*;
pub use llq::*;
pub use rx::*;
pub use tx::*;

// ---------------------------------------------------------------------------
// Protocol indices (ena.md §5.3)
// ---------------------------------------------------------------------------

/// L3 protocol index: unknown / not IP.
pub const L3_PROTO_UNKNOWN: u8 = 0;
/// L3 protocol index: IPv4.
pub const L3_PROTO_IPV4: u8 = 8;
/// L3 protocol index: IPv6.
pub const L3_PROTO_IPV6: u8 = 11;
/// L3 protocol index: FCoE.
pub const L3_PROTO_FCOE: u8 = 21;
/// L3 protocol index: RoCE.
pub const L3_PROTO_ROCE: u8 = 22;
/// L4 protocol index: unknown.
pub const L4_PROTO_UNKNOWN: u8 = 0;
/// L4 protocol index: TCP.
pub const L4_PROTO_TCP: u8 = 12;
/// L4 protocol index: UDP.
pub const L4_PROTO_UDP: u8 = 13;
/// L4 protocol index: routable RoCE.
pub const L4_PROTO_ROUTEABLE_ROCE: u8 = 23;

// Byte-exact tests of these layouts live in `io/wire_tests.rs`.
