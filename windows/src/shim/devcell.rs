//! One device object shared by DPCs (DISPATCH_LEVEL, must not sleep) and
//! control paths (PASSIVE_LEVEL, may sleep: reset, RSS, moderation).
//!
//! `NetDevice` takes `&mut self` for every call, so access is exclusive:
//! - the datapath takes a spin lock and runs to completion under it;
//! - a control operation takes the lock only to raise an `exclusive` flag,
//!   then runs *without* the lock (it may sleep); datapath callers that find
//!   the flag raised back off (`None`) and the control path re-queues their
//!   DPCs when it is done.
//!
//! Alongside the device sits datapath state `S` (RX free lists, pending
//! sends, filter) that is always reachable under the lock, even while a
//! control operation owns the device.

use core::cell::UnsafeCell;

use crate::ndis::ffi;
use crate::ndis::KSPIN_LOCK;

/// The shared device plus its datapath state.
pub struct DeviceCell<D, S> {
    lock: UnsafeCell<KSPIN_LOCK>,
    /// Protected by `lock`.
    exclusive: UnsafeCell<bool>,
    /// Datapath: under `lock` and `!exclusive`. Control: while `exclusive`.
    dev: UnsafeCell<Option<D>>,
    /// Under `lock`.
    state: UnsafeCell<S>,
}

struct Guard<'a> {
    lock: &'a UnsafeCell<KSPIN_LOCK>,
    irql: u8,
}

impl Drop for Guard<'_> {
    fn drop(&mut self) {
        // SAFETY: acquired in `lock()` with this IRQL.
        unsafe { ffi::KeReleaseSpinLock(self.lock.get(), self.irql) };
    }
}

impl<D, S> DeviceCell<D, S> {
    /// An empty cell (no device yet).
    pub const fn new(state: S) -> Self {
        DeviceCell {
            lock: UnsafeCell::new(0),
            exclusive: UnsafeCell::new(false),
            dev: UnsafeCell::new(None),
            state: UnsafeCell::new(state),
        }
    }

    fn lock(&self) -> Guard<'_> {
        // SAFETY: a zero-initialised KSPIN_LOCK is an initialised spin lock.
        let irql = unsafe { ffi::KeAcquireSpinLockRaiseToDpc(self.lock.get()) };
        Guard {
            lock: &self.lock,
            irql,
        }
    }

    /// Run `f` on the device and state under the spin lock (any IRQL ≤
    /// DISPATCH). `None` if there is no device or a control operation owns
    /// it. `f` must not sleep or re-enter this cell.
    pub fn datapath<R>(&self, f: impl FnOnce(&mut D, &mut S) -> R) -> Option<R> {
        let _g = self.lock();
        // SAFETY: the lock is held; `exclusive` false means no control
        // operation holds a reference to `dev`.
        unsafe {
            if *self.exclusive.get() {
                return None;
            }
            let dev = (*self.dev.get()).as_mut()?;
            Some(f(dev, &mut *self.state.get()))
        }
    }

    /// Run `f` on the datapath state only (always possible).
    pub fn state<R>(&self, f: impl FnOnce(&mut S) -> R) -> R {
        let _g = self.lock();
        // SAFETY: the lock is held.
        unsafe { f(&mut *self.state.get()) }
    }

    /// Run `f` with exclusive ownership of the device slot, without holding
    /// the lock (PASSIVE_LEVEL; `f` may sleep and may call [`Self::state`]).
    /// Waits for another control operation to finish first.
    pub fn control<R>(&self, f: impl FnOnce(&mut Option<D>) -> R) -> R {
        loop {
            {
                let _g = self.lock();
                // SAFETY: the lock is held.
                unsafe {
                    if !*self.exclusive.get() {
                        *self.exclusive.get() = true;
                        break;
                    }
                }
            }
            // SAFETY: PASSIVE_LEVEL per this function's contract.
            unsafe { ffi::NdisMSleep(1000) };
        }
        // SAFETY: `exclusive` keeps every other accessor away from `dev`.
        let r = f(unsafe { &mut *self.dev.get() });
        let _g = self.lock();
        // SAFETY: the lock is held.
        unsafe { *self.exclusive.get() = false };
        r
    }
}
