//! cloudnic-ena: the AWS Elastic Network Adapter (PCI 1d0f:0ec2/1ec2/ec20/ec21)
//! on the shared cloudnic core.
//!
//! `defs` holds the wire formats (registers, admin commands, AENQ entries,
//! IO descriptors) as zerocopy structs shared with the device model; the
//! other modules are the driver: readless MMIO, reset handshake, admin queue,
//! features, AENQ, IO rings (host and LLQ placement) and [`device::EnaDevice`],
//! which implements `cloudnic_common::nic::NetDevice`.
#![no_std]
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod admin;
pub mod aenq;
pub mod defs;
pub mod device;
pub mod features;
pub mod io;
pub mod llq_negotiation;
pub mod mmio;
pub mod rss;
pub mod stats;

#[cfg(test)]
mod test_support;
