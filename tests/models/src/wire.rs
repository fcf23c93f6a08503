//! The packet backend: a cable between two models, or a capture for tests.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::rc::Rc;

/// Frames in flight in one direction.
#[derive(Debug, Default)]
pub struct Lane {
    frames: RefCell<VecDeque<Vec<u8>>>,
}

/// One end of a cable: what this device transmits and what it receives.
#[derive(Clone, Debug)]
pub struct Port {
    tx: Rc<Lane>,
    rx: Rc<Lane>,
}

impl Port {
    /// A cable: two ports, each receiving what the other sends.
    pub fn pair() -> (Port, Port) {
        let a = Rc::new(Lane::default());
        let b = Rc::new(Lane::default());
        (
            Port {
                tx: a.clone(),
                rx: b.clone(),
            },
            Port { tx: b, rx: a },
        )
    }
    /// A port looped back onto itself.
    pub fn loopback() -> Port {
        let l = Rc::new(Lane::default());
        Port {
            tx: l.clone(),
            rx: l,
        }
    }
    /// Put a frame on the wire.
    pub fn send(&self, frame: Vec<u8>) {
        self.tx.frames.borrow_mut().push_back(frame);
    }
    /// Take the next frame addressed to this port.
    pub fn recv(&self) -> Option<Vec<u8>> {
        self.rx.frames.borrow_mut().pop_front()
    }
    /// Put a frame back at the head (the receiver had no buffer for it).
    pub fn unrecv(&self, frame: Vec<u8>) {
        self.rx.frames.borrow_mut().push_front(frame);
    }
    /// Frames waiting for this port.
    pub fn pending(&self) -> usize {
        self.rx.frames.borrow().len()
    }
}
