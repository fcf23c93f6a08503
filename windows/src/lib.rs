//! cloudnic-windows: an NDIS 6.30 miniport (`cloudnic.sys`) for AWS ENA and
//! Azure MANA built on the shared cloudnic core.
//!
//! Layout (design.md "Windows", invariant 7 — the OS shim stays thin):
//! - [`ndis`]: NDIS 6 declarations written from Microsoft's documentation,
//!   each structure size-asserted for x86_64.
//! - [`logic`]: everything that can be decided without NDIS — OIDs, RSS,
//!   NBL → TX packet translation, statistics, keywords, resources — tested
//!   on the host.
//! - `platform` (Windows only): the shared core's `Platform` over NDIS.
//! - `shim` (Windows only): the miniport entry points; it translates NDIS
//!   objects into `cloudnic_common::nic` calls and back.
//!
//! On the host this is an ordinary `std` test crate over `logic`/`ndis`;
//! for `x86_64-pc-windows-gnu` it is `#![no_std]` with no allocator.
#![cfg_attr(not(test), no_std)]
#![warn(missing_docs)]

pub mod logic;
pub mod ndis;

#[cfg(target_os = "windows")]
pub mod platform;
#[cfg(target_os = "windows")]
mod shim;

/// Driver version reported to NDIS and in OID_GEN_VENDOR_DRIVER_VERSION.
pub const DRIVER_VERSION: (u8, u8) = (0, 1);
