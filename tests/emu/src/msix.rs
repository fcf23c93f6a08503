//! MSI-X delivery through eventfds (vfio-user SET_IRQS, index 2).
//!
//! QEMU emulates the MSI-X table and PBA itself; the server only receives
//! one eventfd per enabled vector and raises a vector by writing 1 to it
//! (vfio-user.md §2). QEMU sends one SET_IRQS per vector (the crate offers
//! `max_msg_fds = 1`), disables vectors with DATA_NONE and count 0, or with
//! DATA_EVENTFD and no fds attached (= -1), and re-enables them as the guest
//! grows its vector count (§3).

use std::cell::RefCell;
use std::fs::File;
use std::io::Write;

use cloudnic_models::InterruptTarget;
use vfio_bindings::bindings::vfio::{
    VFIO_IRQ_SET_ACTION_TRIGGER, VFIO_IRQ_SET_DATA_EVENTFD, VFIO_IRQ_SET_DATA_NONE,
};

/// The eventfds of one device's MSI-X vectors.
#[derive(Debug)]
pub struct MsixVectors {
    fds: RefCell<Vec<Option<File>>>,
    /// Raises that found no eventfd (vector not enabled by the guest).
    undelivered: RefCell<u64>,
}

impl MsixVectors {
    /// `count` vectors, none enabled.
    pub fn new(count: u16) -> Self {
        MsixVectors {
            fds: RefCell::new((0..count).map(|_| None).collect()),
            undelivered: RefCell::new(0),
        }
    }

    /// Apply one SET_IRQS message for the MSI-X index.
    pub fn set_irqs(&self, flags: u32, start: u32, count: u32, fds: Vec<File>) {
        if flags & VFIO_IRQ_SET_ACTION_TRIGGER == 0 {
            return; // MASK / UNMASK actions: QEMU masks in its own table.
        }
        let mut slots = self.fds.borrow_mut();
        let range = start as usize..(start as usize).saturating_add(count as usize);
        if flags & VFIO_IRQ_SET_DATA_EVENTFD != 0 {
            let mut fds = fds.into_iter();
            for v in range {
                if let Some(s) = slots.get_mut(v) {
                    *s = fds.next();
                }
            }
        } else if flags & VFIO_IRQ_SET_DATA_NONE != 0 {
            if count == 0 {
                slots.iter_mut().for_each(|s| *s = None);
            } else {
                drop(slots);
                for v in range {
                    self.raise(v as u16);
                }
            }
        }
    }

    /// Forget every eventfd (client gone, device reset).
    pub fn clear(&self) {
        self.fds.borrow_mut().iter_mut().for_each(|s| *s = None);
    }

    /// Vectors with an eventfd.
    pub fn enabled(&self) -> usize {
        self.fds.borrow().iter().filter(|s| s.is_some()).count()
    }

    /// Raises that found no eventfd.
    pub fn undelivered(&self) -> u64 {
        *self.undelivered.borrow()
    }
}

impl InterruptTarget for MsixVectors {
    fn raise(&self, vector: u16) {
        let mut slots = self.fds.borrow_mut();
        match slots.get_mut(usize::from(vector)) {
            Some(Some(f)) => {
                // An eventfd write only fails on counter overflow; the
                // interrupt is pending either way.
                let _ = f.write_all(&1u64.to_ne_bytes());
            }
            _ => *self.undelivered.borrow_mut() += 1,
        }
    }
}
