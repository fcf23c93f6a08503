//! Software models of the cloud NICs cloudnic drives, for host tests, the
//! demo, the benchmark and (behind a vfio-user server) QEMU guests.
//!
//! A model sees the outside world only through small interfaces: MMIO
//! reads/writes per BAR ([`Device`]), guest memory at bus addresses
//! ([`GuestMemory`]), MSI-X vectors ([`InterruptSink`]), a virtual clock
//! ([`VirtualClock`]) and a packet port ([`wire`]). Time is virtual: tests
//! advance it explicitly, so "six seconds without keep-alive" takes
//! microseconds and every run is deterministic.

mod bus;
pub mod clock;
pub mod devmem;
pub mod ena;
pub mod fault_script;
pub mod irq;
pub mod ledger;
pub mod mana;
pub mod mem;
pub mod net;
pub mod pci;
pub mod wire;

pub use clock::VirtualClock;
pub use devmem::{DeviceMemory, LocalDeviceMemory};
pub use ena::{EnaCounters, EnaFault, EnaModel, EnaModelConfig};
pub use irq::{InterruptSink, InterruptTarget};
pub use ledger::{BufKind, Ledger};
pub use mem::{Arena, DmaFault, GuestMemory};
pub use pci::PciIdentity;

/// A PCI function as the host sees it: BAR accesses and the passage of time.
pub trait Device {
    /// MMIO load of `size` bytes (4 or 8) at `offset` in `bar`.
    fn mmio_read(&mut self, bar: u8, offset: u64, size: u8) -> u64;
    /// MMIO store.
    fn mmio_write(&mut self, bar: u8, offset: u64, size: u8, value: u64);
    /// Run whatever is due at the clock's current time (timers, delayed
    /// completions, keep-alive, packets arriving from the wire).
    fn tick(&mut self);
    /// PCI identity (vendor/device/revision, BAR sizes), if the model has one.
    fn pci_identity(&self) -> Option<PciIdentity> {
        None
    }
}
