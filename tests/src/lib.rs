//! cloudnic host fixture: the platform contract over the device models
//! ([`platform::HostPlatform`]), shared by every integration test, the demo
//! and the benchmark.

pub mod pair;
pub mod platform;
pub mod stack;
pub mod testbed;

pub use platform::{HostBar, HostDma, HostPlatform, LogSink, SharedDevice};
