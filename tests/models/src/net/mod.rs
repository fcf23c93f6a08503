//! Packet utilities shared by the device models and the tests: parsing,
//! Internet checksums, checksum offload and TSO done on real bytes, and a
//! builder for test frames.

pub mod builder;
pub mod checksum;
pub mod offload;
pub mod parse;

pub use builder::{pattern, CsumMode, FrameBuilder, IpPair};
pub use checksum::{internet_checksum, pseudo_header_v4, pseudo_header_v6, Checksum};
pub use offload::{
    fill_all_csums, fill_ipv4_header_csum, fill_l4_csum, fill_l4_csum_from_partial,
    ipv4_header_csum_ok, l4_csum_ok, tso_segment, write_partial_csum, OffloadError,
};
pub use parse::{parse, Parsed, L3, L4};

#[cfg(test)]
mod tests;
