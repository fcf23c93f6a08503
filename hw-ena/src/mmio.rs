//! Readless MMIO register reads (ena.md §2).
//!
//! Instead of a (slow, trapping) MMIO load, the driver asks the device to DMA
//! the register value into an 8-byte response buffer: it pre-fills the
//! buffer's req_id with `seq + 0xDEAD` so a stale buffer can never look
//! answered, writes `MMIO_REG_READ = offset << 16 | seq`, and polls the buffer
//! in 1 µs steps until req_id == seq. A timeout or a response for another
//! register yields 0xFFFFFFFF, which callers treat as "device not
//! responding". PCI revision bit 0 disables the mechanism (plain loads).
//! Used only on the control path (init, reset, health), never per packet.

use cloudnic_common::{cn_err, DmaRegion, Error, Platform, RegisterBar};

use crate::defs::regs::{
    addr_lo_hi, mmio_reg_read_request, offset, MmioReadResp, READLESS_FAILED, READLESS_PREFILL_ADD,
};

/// Default readless timeout: 200,000 × 1 µs = 200 ms (ena.md §2).
pub const DEFAULT_MMIO_READ_TIMEOUT_US: u32 = 200_000;
/// Poll step (ena.md §2).
pub const MMIO_POLL_STEP_US: u32 = 1;
/// Alignment of the response buffer (one cache line).
const RESP_ALIGN: usize = 64;
const REQ_ID_MASK: u32 = 0xFFFF;

/// Register reader: readless through a DMA buffer, or direct loads.
pub struct MmioReader<P: Platform> {
    resp: Option<P::Dma>,
    seq: u16,
    timeout_us: u32,
    failures: u64,
}

impl<P: Platform> MmioReader<P> {
    /// Reader for a device whose PCI revision does (`readless = true`) or does
    /// not allow readless reads. Allocates the response buffer when needed.
    pub fn new(plat: &P, readless: bool) -> Result<Self, Error> {
        let resp = if readless {
            Some(plat.alloc_dma(MmioReadResp::SIZE, RESP_ALIGN)?)
        } else {
            None
        };
        Ok(MmioReader {
            resp,
            seq: 0,
            timeout_us: DEFAULT_MMIO_READ_TIMEOUT_US,
            failures: 0,
        })
    }

    /// True when reads go through the DMA buffer.
    pub fn is_readless(&self) -> bool {
        self.resp.is_some()
    }

    /// Reads that failed (timeout or wrong offset).
    pub fn failures(&self) -> u64 {
        self.failures
    }

    /// Timeout per read in µs.
    pub fn timeout_us(&self) -> u32 {
        self.timeout_us
    }

    /// Apply the `mmio_read_timeout` hint in ms (0 = keep the default).
    pub fn set_timeout_hint_ms(&mut self, ms: u16) {
        if ms != 0 {
            self.timeout_us = u32::from(ms).saturating_mul(1000);
        }
    }

    /// Tell the device where to write responses. Needed at init and again
    /// after every device reset, which forgets the address (ena.md §2, §6.3).
    pub fn program<R: RegisterBar>(&self, bar0: &R) {
        if let Some(resp) = &self.resp {
            let (lo, hi) = addr_lo_hi(resp.bus_addr());
            bar0.write32(offset::MMIO_RESP_LO, lo);
            bar0.write32(offset::MMIO_RESP_HI, hi);
        }
    }

    /// Stop the device from writing into the buffer before it is freed
    /// (ena.md §2 "Teardown").
    pub fn teardown<R: RegisterBar>(&self, bar0: &R) {
        if self.resp.is_some() {
            bar0.write32(offset::MMIO_RESP_LO, 0);
            bar0.write32(offset::MMIO_RESP_HI, 0);
        }
    }

    /// Read the 32-bit register at `reg` (a BAR0 offset from
    /// [`crate::defs::regs::offset`]). Returns 0xFFFFFFFF on failure.
    pub fn read32<R: RegisterBar>(&mut self, plat: &P, bar0: &R, reg: u32) -> u32 {
        let Some(resp) = &self.resp else {
            return bar0.read32(reg);
        };
        self.seq = self.seq.wrapping_add(1);
        let seq = self.seq;
        // Pre-fill req_id (and clear reg_off) so only a fresh answer matches.
        resp.write32(
            MmioReadResp::REQ_ID_OFFSET,
            u32::from(seq.wrapping_add(READLESS_PREFILL_ADD)),
        );
        plat.write_barrier();
        let reg16 = (reg & REQ_ID_MASK) as u16;
        bar0.write32(offset::MMIO_REG_READ, mmio_reg_read_request(seq, reg16));

        let mut answered = false;
        let mut waited = 0u32;
        loop {
            if (resp.read32(MmioReadResp::REQ_ID_OFFSET) & REQ_ID_MASK) as u16 == seq {
                answered = true;
                break;
            }
            if waited >= self.timeout_us {
                break;
            }
            plat.delay_us(MMIO_POLL_STEP_US);
            waited = waited.saturating_add(MMIO_POLL_STEP_US);
        }
        plat.dma_read_barrier();
        let head = resp.read32(MmioReadResp::REQ_ID_OFFSET);
        let (got_id, got_off) = ((head & REQ_ID_MASK) as u16, (head >> 16) as u16);
        if !answered {
            self.failures = self.failures.wrapping_add(1);
            cn_err!(
                plat,
                "Reading reg failed for timeout. expected: req id[{}] offset[{}] actual: req id[{}] offset[{}]",
                seq,
                reg16,
                got_id,
                got_off
            );
            return READLESS_FAILED;
        }
        if got_off != reg16 {
            self.failures = self.failures.wrapping_add(1);
            cn_err!(plat, "Read failure: wrong offset provided");
            return READLESS_FAILED;
        }
        resp.read32(MmioReadResp::REG_VAL_OFFSET)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::{FakeBar, FakePlat};

    #[test]
    fn readless_answer_and_timeout() {
        let plat = FakePlat::default();
        let bar = FakeBar::with_device(&plat);
        let mut r = MmioReader::new(&plat, true).unwrap();
        r.program(&bar);
        assert_ne!(bar.reg(offset::MMIO_RESP_HI), 0);
        assert_eq!(r.read32(&plat, &bar, offset::DEV_STS), 1);
        // Device silent: all-ones after the timeout, and the AWS log line.
        bar.dev_mut().readless = false;
        r.set_timeout_hint_ms(1);
        let t0 = plat.now_us();
        assert_eq!(r.read32(&plat, &bar, offset::CAPS), READLESS_FAILED);
        assert_eq!(plat.now_us() - t0, 1000);
        assert!(plat.logged("Reading reg failed for timeout. expected: req id[2] offset[8] actual: req id[57007] offset[0]"));
        assert_eq!(r.failures(), 1);
        r.teardown(&bar);
        assert_eq!(bar.reg(offset::MMIO_RESP_HI), 0);
    }

    #[test]
    fn direct_reads_when_disabled() {
        let plat = FakePlat::default();
        let bar = FakeBar::default();
        let mut r = MmioReader::new(&plat, false).unwrap();
        assert!(!r.is_readless());
        assert_eq!(r.read32(&plat, &bar, offset::VERSION), 0x0A);
    }
}
