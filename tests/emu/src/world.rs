//! All emulated devices of one server process, behind one lock.
//!
//! The models are single-threaded by design (`Rc`, `Cell`: driver and model
//! take turns in host tests), and two models share a `wire::Port` cable. The
//! server has one thread per vfio-user socket plus a ticker, so everything —
//! models, cable, clock, guest-memory maps, eventfds — lives in [`Inner`],
//! reachable only through [`World::lock`]. One lock for all devices keeps
//! the cable coherent: a TX doorbell on one device delivers into the peer
//! in the same critical section.
//!
//! Time: the models' [`VirtualClock`] is moved to the wall-clock time since
//! start before every access and tick, so keep-alive arrives every real
//! second and the guest's real-time watchdogs see real delays.

use std::collections::HashMap;
use std::path::PathBuf;
use std::rc::Rc;
use std::sync::{Mutex, MutexGuard};
use std::time::Instant;

use cloudnic_models::VirtualClock;

use crate::device::EmuDevice;
use crate::memory::GuestRam;
use crate::msix::MsixVectors;
use crate::pci_config::{ConfigSpace, MsixLayout};

/// One emulated PCI function.
pub struct Slot {
    /// Name used by the control protocol ("ena0").
    pub name: String,
    /// Its vfio-user socket.
    pub socket: PathBuf,
    /// The model.
    pub dev: Box<dyn EmuDevice>,
    /// Guest RAM as mapped by DMA_MAP.
    pub mem: Rc<GuestRam>,
    /// MSI-X eventfds.
    pub irq: Rc<MsixVectors>,
    /// PCI config space.
    pub config: ConfigSpace,
    /// Where its MSI-X table and PBA live.
    pub msix: MsixLayout,
    /// A QEMU is connected.
    pub connected: bool,
    /// vfio-user region messages served (config included).
    pub messages: u64,
}

/// Everything the device threads share.
pub struct Inner {
    start: Instant,
    clock: Rc<VirtualClock>,
    /// The devices, in socket order.
    pub slots: Vec<Slot>,
    /// Counter snapshots by mark name.
    pub marks: HashMap<String, Vec<Vec<(String, u64)>>>,
}

// SAFETY: `Inner` holds `Rc`/`Cell`/`RefCell` values (models, clock, cable,
// memory maps) that are not `Send` because their reference counts and
// cells are not atomic. Every one of them is created, used, cloned and
// dropped only while the `World` mutex is held (no `Rc` is ever handed out
// of a guard), so accesses from different threads are serialised with
// happens-before edges by the mutex, which is all `Rc` needs.
unsafe impl Send for Inner {}

/// The lock around [`Inner`].
pub struct World {
    inner: Mutex<Inner>,
}

impl World {
    /// A world with `clock` shared by all models.
    pub fn new(clock: Rc<VirtualClock>, slots: Vec<Slot>) -> Self {
        World {
            inner: Mutex::new(Inner {
                start: Instant::now(),
                clock,
                slots,
                marks: HashMap::new(),
            }),
        }
    }

    /// Lock the world; the clock is moved to now first.
    pub fn lock(&self) -> MutexGuard<'_, Inner> {
        let mut g = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        g.sync_clock();
        g
    }
}

impl Inner {
    fn sync_clock(&mut self) {
        let now = u64::try_from(self.start.elapsed().as_micros()).unwrap_or(u64::MAX);
        let cur = self.clock.now_us();
        if now > cur {
            self.clock.advance_us(now - cur);
        }
    }

    /// Virtual time in µs.
    pub fn now_us(&self) -> u64 {
        self.clock.now_us()
    }

    /// Run every model's timers and deliver frames waiting on cables.
    pub fn tick_all(&mut self) {
        for s in &mut self.slots {
            s.dev.model().tick();
            s.dev.after_access();
        }
    }

    /// A BAR load of `data.len()` bytes.
    pub fn bar_read(&mut self, idx: usize, bar: u8, offset: u64, data: &mut [u8]) {
        let Some(s) = self.slots.get_mut(idx) else {
            data.fill(0xFF);
            return;
        };
        s.messages += 1;
        if s.msix.is_pba(bar, offset) {
            // QEMU forwards PBA reads; the model has no pending bits (QEMU
            // tracks masked vectors in its own table emulation).
            data.fill(0);
            return;
        }
        let m = s.dev.model();
        match data.len() {
            4 | 8 => {
                let v = m.mmio_read(bar, offset, data.len() as u8);
                let n = data.len();
                data.copy_from_slice(&v.to_le_bytes()[..n]);
            }
            n => {
                // Sub-dword or odd-sized: read the covering dwords.
                let mut bytes = Vec::with_capacity(n + 8);
                let base = offset & !3;
                let mut at = base;
                while at < offset + n as u64 {
                    bytes.extend_from_slice(&(m.mmio_read(bar, at, 4) as u32).to_le_bytes());
                    at += 4;
                }
                let skip = (offset - base) as usize;
                data.copy_from_slice(&bytes[skip..skip + n]);
            }
        }
        s.dev.after_access();
    }

    /// A BAR store; frames it puts on a cable reach the peer before return.
    pub fn bar_write(&mut self, idx: usize, bar: u8, offset: u64, data: &[u8]) {
        let Some(s) = self.slots.get_mut(idx) else {
            return;
        };
        s.messages += 1;
        if s.msix.is_pba(bar, offset) {
            return;
        }
        let m = s.dev.model();
        for (i, chunk) in data.chunks(8).enumerate() {
            let mut w = [0u8; 8];
            w[..chunk.len()].copy_from_slice(chunk);
            m.mmio_write(
                bar,
                offset + 8 * i as u64,
                chunk.len() as u8,
                u64::from_le_bytes(w),
            );
        }
        self.tick_all();
    }

    /// The client went away: forget its memory and eventfds, reset.
    pub fn disconnect(&mut self, idx: usize) {
        if let Some(s) = self.slots.get_mut(idx) {
            s.connected = false;
            s.mem.unmap(0, 0, true);
            s.irq.clear();
        }
    }

    /// Slot index by number or name.
    pub fn find(&self, key: &str) -> Option<usize> {
        if let Ok(i) = key.parse::<usize>() {
            return (i < self.slots.len()).then_some(i);
        }
        self.slots.iter().position(|s| s.name == key)
    }
}
