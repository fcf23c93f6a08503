//! cloudnic-common: the OS-agnostic core shared by every cloudnic device crate
//! and every OS shim.
//!
//! Layering (see `design.md` in the shared notes): OS shims (Linux netdev,
//! NDIS miniport) implement [`platform::Platform`] and drive devices through
//! [`nic::NetDevice`]; device crates (`cloudnic-ena`, `cloudnic-mana`) build
//! on the primitives here (rings, request-id pools, the command-queue engine,
//! health monitor, reset state machine, statistics, RSS, moderation).
//!
//! Invariants: `no_std`, no `alloc`, no floats, no `u128` division, no panics
//! on any value a device or user controls (the kernel builds with overflow
//! checks on), `unsafe` forbidden — the platform implementation is the only
//! place that touches raw memory.
#![no_std]
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod cmdq;
pub mod error;
pub mod health;
pub mod log;
pub mod moderation;
pub mod nic;
pub mod platform;
pub mod reqid;
pub mod reset;
pub mod ring;
pub mod rss;
pub mod stats;

pub use error::{ConfigError, Error};
pub use platform::{DmaRegion, LogLevel, Platform, RegisterBar};
pub use reset::ResetReason;
