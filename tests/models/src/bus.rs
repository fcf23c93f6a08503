//! What both device models do on the bus the same way: guest-memory access
//! that counts the refusals (an address the driver never gave the device),
//! and MSI-X delivery that honours a lost-interrupt fault and counts each
//! vector's messages.

use crate::irq::InterruptTarget;
use crate::mem::GuestMemory;

/// Read guest memory; a refusal adds one to `faults` and returns false.
pub(crate) fn read_counted<M: GuestMemory + ?Sized>(
    mem: &M,
    addr: u64,
    buf: &mut [u8],
    faults: &mut u64,
) -> bool {
    let ok = mem.read(addr, buf).is_ok();
    *faults += u64::from(!ok);
    ok
}

/// Write guest memory; a refusal adds one to `faults` and returns false.
pub(crate) fn write_counted<M: GuestMemory + ?Sized>(
    mem: &M,
    addr: u64,
    data: &[u8],
    faults: &mut u64,
) -> bool {
    let ok = mem.write(addr, data).is_ok();
    *faults += u64::from(!ok);
    ok
}

/// Raise `vector` unless an armed fault `lost` it (then counted in
/// `dropped`); delivered messages are counted per vector in `raised`.
pub(crate) fn deliver_counted(
    irq: &dyn InterruptTarget,
    vector: u16,
    lost: bool,
    dropped: &mut u64,
    raised: &mut [u64],
) {
    if lost {
        *dropped += 1;
        return;
    }
    if let Some(c) = raised.get_mut(usize::from(vector)) {
        *c += 1;
    }
    irq.raise(vector);
}
