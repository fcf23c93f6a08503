//! MANA wire formats, shared by the driver and the device model.
//!
//! Every struct is `#[repr(C)]` of little-endian integers (we target LE
//! hosts), derives the zerocopy traits, and has its size asserted beside it
//! with the fact it encodes (mana.md = the project's MANA fact sheet). Bit
//! fields inside a dword are exposed as named shift/mask constants plus
//! encode/decode helpers, so neither the driver nor the device model ever
//! writes a bare "+ 28" or "<< 24".
//!
//! Layout of the module tree follows the sheet:
//! * [`regs`]: BAR0 register maps (VF and PF) and doorbells (§1);
//! * [`smc`]: the shared-memory channel (§2);
//! * [`msg`]: GDMA message, request and response headers (§3.4);
//! * [`gdma`]: GDMA request codes and bodies of the bring-up path (§3.6–§3.8, §5);
//! * [`gdma_objects`]: PD/MR/DM/resource-range commands (§3.6);
//! * [`hwc`]: HWC init EQE payloads and the HWC in-band OOBs (§3.2–§3.3);
//! * [`queue`]: queue types, WQE/SGE/CQE/EQE and owner bits (§4);
//! * [`eth`]: MANA Ethernet commands (§6.2–§6.3);
//! * [`eth_stats`]: GF and PHY statistics commands (§6.3, §8);
//! * [`eth_dp`]: MANA Ethernet data path: TX OOBs, CQE types, RX OOB (§6.6–§6.8).

pub mod eth;
pub mod eth_dp;
pub mod eth_stats;
pub mod gdma;
pub mod gdma_objects;
pub mod hwc;
pub mod msg;
pub mod queue;
pub mod regs;
pub mod smc;

#[cfg(test)]
mod wire_tests;

/// Extract `(v >> shift) & mask`.
#[inline]
pub(crate) const fn get_bits(v: u32, shift: u32, mask: u32) -> u32 {
    (v >> shift) & mask
}

/// Place `value & mask` at `shift`.
#[inline]
pub(crate) const fn put_bits(value: u32, shift: u32, mask: u32) -> u32 {
    (value & mask) << shift
}
