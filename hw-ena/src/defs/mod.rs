//! ENA wire formats, shared by the driver and the device model.
//! Each struct's size is asserted beside it; sources are cited per item
//! (ena.md = the project's ENA fact sheet).

pub mod admin;
pub mod aenq;
pub mod host_info;
pub mod io;
pub mod pci;
pub mod regs;
