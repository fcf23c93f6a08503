//! The shared memory channel: the 32-byte BAR0 mailbox that establishes and
//! destroys the hardware channel and reports HWC timeouts (mana.md §2).
//!
//! Protocol: wait until the device does not own the window, write payload
//! dwords 0–6, then the header dword 7 (which hands the window over), then
//! poll until `owner_is_pf` clears and check the response header. A header
//! of all ones means the VF is being reset: accepted as completion only when
//! the request itself asked for `reset_vf`.

use zerocopy::IntoBytes;

use cloudnic_common::{cn_warn, Error, Platform, RegisterBar};

use crate::defs::smc::{
    window_dwords, SmcEstablishHwc, SmcHeader, SmcReportHwcTimeout, SMC_HEADER_DEVICE_RESETTING,
    SMC_HEADER_OFFSET, SMC_MSG_DESTROY_HWC, SMC_MSG_DESTROY_HWC_VERSION, SMC_POLL_INTERVAL_US,
    SMC_POLL_MAX_TRIES, SMC_WINDOW_SIZE,
};

/// How an SMC exchange failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SmcError {
    /// The device kept the window past the poll budget.
    Timeout,
    /// The response header did not answer the request (type, version,
    /// direction) or carried a non-zero status.
    BadResponse(SmcHeader),
    /// The window read all ones while no VF reset was requested.
    DeviceGone,
    /// A queue address is not 4 KiB aligned.
    BadAddress,
}

impl From<SmcError> for Error {
    fn from(e: SmcError) -> Self {
        match e {
            SmcError::Timeout => Error::Timeout,
            SmcError::BadResponse(h) if h.is_response() && h.status() != 0 => {
                Error::DeviceStatus(h.status().into())
            }
            SmcError::BadResponse(_) => Error::Malformed,
            SmcError::DeviceGone => Error::DeviceNotReady,
            SmcError::BadAddress => Error::NoMemory,
        }
    }
}

/// The SMC window at a validated BAR0 offset.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Smc {
    offset: u32,
    max_tries: u32,
    interval_us: u32,
}

impl Smc {
    /// A window at `offset` (validated by [`crate::bar::BarLayout::read`])
    /// with Linux's poll budget (20 000 × ~1 ms).
    pub fn new(offset: u32) -> Self {
        Smc {
            offset,
            max_tries: SMC_POLL_MAX_TRIES,
            interval_us: SMC_POLL_INTERVAL_US,
        }
    }

    /// Change the poll budget (tests, faster teardown in a reset cycle).
    pub fn set_poll(&mut self, max_tries: u32, interval_us: u32) {
        self.max_tries = max_tries.max(1);
        self.interval_us = interval_us;
    }

    fn header<R: RegisterBar>(&self, bar: &R) -> SmcHeader {
        SmcHeader(bar.read32(self.offset.wrapping_add(SMC_HEADER_OFFSET)))
    }

    /// True if the device currently owns the window.
    pub fn device_owns<R: RegisterBar>(&self, bar: &R) -> bool {
        let h = self.header(bar);
        h.0 != SMC_HEADER_DEVICE_RESETTING && h.owner_is_pf()
    }

    /// Poll until the device releases the window. `Ok(true)` if the window
    /// read all ones (VF reset in progress).
    fn wait_released<P: Platform, R: RegisterBar>(
        &self,
        plat: &P,
        bar: &R,
    ) -> Result<bool, SmcError> {
        for _ in 0..self.max_tries {
            let h = self.header(bar);
            if h.0 == SMC_HEADER_DEVICE_RESETTING {
                return Ok(true);
            }
            if !h.owner_is_pf() {
                return Ok(false);
            }
            plat.sleep_us(self.interval_us);
        }
        Err(SmcError::Timeout)
    }

    /// Write a whole window image (payload first, header last) and wait for
    /// the response.
    fn exchange<P: Platform, R: RegisterBar>(
        &self,
        plat: &P,
        bar: &R,
        image: &[u8; SMC_WINDOW_SIZE as usize],
    ) -> Result<(), SmcError> {
        if self.wait_released(plat, bar)? {
            return Err(SmcError::DeviceGone);
        }
        let dwords = window_dwords(image);
        let req = SmcHeader(dwords[7]);
        for (i, dw) in dwords.iter().enumerate() {
            // i < 8: the offset stays inside the validated 32-byte window.
            bar.write32(self.offset.wrapping_add(4 * i as u32), *dw);
        }
        let resetting = self.wait_released(plat, bar)?;
        if resetting {
            return if req.reset_vf() {
                Ok(())
            } else {
                Err(SmcError::DeviceGone)
            };
        }
        let resp = self.header(bar);
        if resp.is_valid_response_to(req) {
            Ok(())
        } else {
            Err(SmcError::BadResponse(resp))
        }
    }

    /// ESTABLISH_HWC with the four HWC queue pages and the EQ's MSI-X
    /// vector (built with [`SmcEstablishHwc::new`]).
    pub fn establish_hwc<P: Platform, R: RegisterBar>(
        &self,
        plat: &P,
        bar: &R,
        msg: &SmcEstablishHwc,
    ) -> Result<(), SmcError> {
        if ![msg.eq_addr(), msg.cq_addr(), msg.rq_addr(), msg.sq_addr()]
            .iter()
            .all(|a| SmcEstablishHwc::address_ok(*a))
        {
            return Err(SmcError::BadAddress);
        }
        let mut image = [0u8; SMC_WINDOW_SIZE as usize];
        image.copy_from_slice(msg.as_bytes());
        self.exchange(plat, bar, &image)
    }

    /// DESTROY_HWC: header only. Mandatory before the HWC memory is freed
    /// so the device drops its translations (mana.md §2).
    pub fn destroy_hwc<P: Platform, R: RegisterBar>(
        &self,
        plat: &P,
        bar: &R,
    ) -> Result<(), SmcError> {
        if self.wait_released(plat, bar)? {
            return Err(SmcError::DeviceGone);
        }
        let req = SmcHeader::request(SMC_MSG_DESTROY_HWC, SMC_MSG_DESTROY_HWC_VERSION, false);
        bar.write32(self.offset.wrapping_add(SMC_HEADER_OFFSET), req.0);
        if self.wait_released(plat, bar)? {
            return Err(SmcError::DeviceGone);
        }
        let resp = self.header(bar);
        if resp.is_valid_response_to(req) {
            Ok(())
        } else {
            Err(SmcError::BadResponse(resp))
        }
    }

    /// REPORT_HWC_TIMEOUT (OpenVMM protocol): best effort, skipped when the
    /// device owns the window. Failures are logged, never fatal.
    pub fn report_hwc_timeout<P: Platform, R: RegisterBar>(
        &self,
        plat: &P,
        bar: &R,
        report: &SmcReportHwcTimeout,
    ) {
        if self.device_owns(bar) {
            return;
        }
        let mut image = [0u8; SMC_WINDOW_SIZE as usize];
        image.copy_from_slice(report.as_bytes());
        if let Err(e) = self.exchange(plat, bar, &image) {
            cn_warn!(
                plat,
                "mana: SMC REPORT_HWC_TIMEOUT not acknowledged: {:?}",
                e
            );
        }
    }
}
