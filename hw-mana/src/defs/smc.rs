//! Shared Memory Channel (SMC): the 32-byte BAR0 mailbox used to establish
//! and destroy the hardware channel (mana.md §2).
//!
//! The window is eight dwords; dword 7 is the header. The driver writes the
//! payload dwords 0–6 first and the header last: the header write hands the
//! window to the device (`owner_is_pf` set), which clears it when its
//! response is in place.

use zerocopy_derive::{FromBytes, Immutable, IntoBytes, KnownLayout};

use super::{get_bits, put_bits};

/// Window size in bytes (mana.md §2).
pub const SMC_WINDOW_SIZE: u32 = 32;
/// Window size in dwords.
pub const SMC_DWORDS: usize = 8;
/// Byte offset of the header dword inside the window (dword 7).
pub const SMC_HEADER_OFFSET: u32 = 28;
/// A header read of all ones: the VF is being reset (mana.md §2).
pub const SMC_HEADER_DEVICE_RESETTING: u32 = 0xFFFF_FFFF;
/// Linux polls the header up to this many times (mana.md §2).
pub const SMC_POLL_MAX_TRIES: u32 = 20_000;
/// Linux sleeps 1–2 ms between polls (mana.md §2); we sleep the lower bound.
pub const SMC_POLL_INTERVAL_US: u32 = 1_000;
/// The HWC queue addresses are 4 KiB page-frame numbers (mana.md §2).
pub const SMC_PAGE_SHIFT: u32 = 12;

/// SMC message type: establish the HWC (mana.md §2).
pub const SMC_MSG_ESTABLISH_HWC: u8 = 1;
/// Version of ESTABLISH_HWC.
pub const SMC_MSG_ESTABLISH_HWC_VERSION: u8 = 0;
/// SMC message type: destroy the HWC.
pub const SMC_MSG_DESTROY_HWC: u8 = 2;
/// Version of DESTROY_HWC.
pub const SMC_MSG_DESTROY_HWC_VERSION: u8 = 0;
/// SMC message type: report an HWC timeout (OpenVMM driver/emulator only).
pub const SMC_MSG_REPORT_HWC_TIMEOUT: u8 = 4;
/// Version of REPORT_HWC_TIMEOUT.
pub const SMC_MSG_REPORT_HWC_TIMEOUT_VERSION: u8 = 1;

/// The SMC header dword (mana.md §2): bits 0–2 type, 3–5 version, 7
/// is_response, 8–15 status, 24 reset_vf, 31 owner_is_pf.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
#[repr(transparent)]
pub struct SmcHeader(pub u32);
/// MANA: the SMC header is dword 7 of the window (mana.md §2).
const _: () = assert!(core::mem::size_of::<SmcHeader>() == 4);

impl SmcHeader {
    const TYPE_MASK: u32 = 0x7;
    const VERSION_SHIFT: u32 = 3;
    const VERSION_MASK: u32 = 0x7;
    /// Bit 7: 1 = response (PF → VF).
    pub const IS_RESPONSE: u32 = 1 << 7;
    const STATUS_SHIFT: u32 = 8;
    const STATUS_MASK: u32 = 0xFF;
    /// Bit 24: request a function-level reset around the operation (Linux always sends 0).
    pub const RESET_VF: u32 = 1 << 24;
    /// Bit 31: the PF/device owns the window.
    pub const OWNER_IS_PF: u32 = 1 << 31;

    /// A request header (direction 0, status 0, owner bit clear as written by the VF).
    pub const fn request(msg_type: u8, version: u8, reset_vf: bool) -> Self {
        SmcHeader(
            put_bits(msg_type as u32, 0, Self::TYPE_MASK)
                | put_bits(version as u32, Self::VERSION_SHIFT, Self::VERSION_MASK)
                | if reset_vf { Self::RESET_VF } else { 0 },
        )
    }
    /// A response header (device model side).
    pub const fn response(msg_type: u8, version: u8, status: u8) -> Self {
        SmcHeader(
            put_bits(msg_type as u32, 0, Self::TYPE_MASK)
                | put_bits(version as u32, Self::VERSION_SHIFT, Self::VERSION_MASK)
                | Self::IS_RESPONSE
                | put_bits(status as u32, Self::STATUS_SHIFT, Self::STATUS_MASK),
        )
    }
    /// Message type.
    pub const fn msg_type(self) -> u8 {
        (self.0 & Self::TYPE_MASK) as u8
    }
    /// Message version.
    pub const fn version(self) -> u8 {
        get_bits(self.0, Self::VERSION_SHIFT, Self::VERSION_MASK) as u8
    }
    /// Response direction bit.
    pub const fn is_response(self) -> bool {
        self.0 & Self::IS_RESPONSE != 0
    }
    /// Status (0 = success).
    pub const fn status(self) -> u8 {
        get_bits(self.0, Self::STATUS_SHIFT, Self::STATUS_MASK) as u8
    }
    /// reset_vf bit.
    pub const fn reset_vf(self) -> bool {
        self.0 & Self::RESET_VF != 0
    }
    /// The device owns the window.
    pub const fn owner_is_pf(self) -> bool {
        self.0 & Self::OWNER_IS_PF != 0
    }
    /// Linux's response check (mana.md §2): same type, version not newer than
    /// the request's, response direction, status 0.
    pub const fn is_valid_response_to(self, req: SmcHeader) -> bool {
        self.msg_type() == req.msg_type()
            && self.version() <= req.version()
            && self.is_response()
            && self.status() == 0
    }
}

/// Mask of the 48 low PFN bits carried in each 6-byte PFN field.
pub const PFN_LOW_MASK: u64 = (1 << 48) - 1;
/// The high-nibble word holds PFN bits 48–51 of each queue.
pub const PFN_HIGH_SHIFT: u32 = 48;
/// Width mask of one PFN high nibble.
pub const PFN_HIGH_MASK: u64 = 0xF;
/// Largest PFN the message can carry (52 bits).
pub const PFN_MAX: u64 = (1 << 52) - 1;

/// ESTABLISH_HWC message, the whole 32-byte window (mana.md §2).
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
#[repr(C)]
pub struct SmcEstablishHwc {
    /// EQ PFN bits 0–47.
    pub eq_pfn_low: [u8; 6],
    /// CQ PFN bits 0–47.
    pub cq_pfn_low: [u8; 6],
    /// RQ PFN bits 0–47.
    pub rq_pfn_low: [u8; 6],
    /// SQ PFN bits 0–47.
    pub sq_pfn_low: [u8; 6],
    /// PFN bits 48–51: EQ in bits 0–3, CQ 4–7, RQ 8–11, SQ 12–15.
    pub pfn_high: u16,
    /// MSI-X vector index of the HWC EQ.
    pub msix_index: u16,
    /// [`SmcHeader`] (type 1, version 0).
    pub header: SmcHeader,
}
/// MANA: the ESTABLISH_HWC message fills the 32-byte SMC window (mana.md §2).
const _: () = assert!(core::mem::size_of::<SmcEstablishHwc>() == SMC_WINDOW_SIZE as usize);

fn pfn_low_bytes(pfn: u64) -> [u8; 6] {
    let b = (pfn & PFN_LOW_MASK).to_le_bytes();
    [b[0], b[1], b[2], b[3], b[4], b[5]]
}

fn pfn_from_bytes(low: [u8; 6], high: u64) -> u64 {
    let mut b = [0u8; 8];
    b[..6].copy_from_slice(&low);
    u64::from_le_bytes(b) | high << PFN_HIGH_SHIFT
}

impl SmcEstablishHwc {
    /// Build from the four queue bus addresses, which must be 4 KiB aligned
    /// and below 2^64 (52-bit PFN): the caller checks [`Self::address_ok`].
    pub fn new(eq: u64, cq: u64, rq: u64, sq: u64, msix_index: u16) -> Self {
        let pfns = [eq, cq, rq, sq].map(|a| a >> SMC_PAGE_SHIFT);
        let mut high = 0u16;
        for (i, p) in pfns.iter().enumerate() {
            high |= (((p >> PFN_HIGH_SHIFT) & PFN_HIGH_MASK) as u16) << (4 * i);
        }
        SmcEstablishHwc {
            eq_pfn_low: pfn_low_bytes(pfns[0]),
            cq_pfn_low: pfn_low_bytes(pfns[1]),
            rq_pfn_low: pfn_low_bytes(pfns[2]),
            sq_pfn_low: pfn_low_bytes(pfns[3]),
            pfn_high: high,
            msix_index,
            header: SmcHeader::request(SMC_MSG_ESTABLISH_HWC, SMC_MSG_ESTABLISH_HWC_VERSION, false),
        }
    }
    /// True if `addr` can be sent: 4 KiB aligned (any 64-bit address has a 52-bit PFN).
    pub const fn address_ok(addr: u64) -> bool {
        addr & ((1 << SMC_PAGE_SHIFT) - 1) == 0
    }
    fn high_nibble(&self, i: u32) -> u64 {
        u64::from((self.pfn_high >> (4 * i)) & 0xF)
    }
    /// EQ bus address (device model side).
    pub fn eq_addr(&self) -> u64 {
        pfn_from_bytes(self.eq_pfn_low, self.high_nibble(0)) << SMC_PAGE_SHIFT
    }
    /// CQ bus address.
    pub fn cq_addr(&self) -> u64 {
        pfn_from_bytes(self.cq_pfn_low, self.high_nibble(1)) << SMC_PAGE_SHIFT
    }
    /// RQ bus address.
    pub fn rq_addr(&self) -> u64 {
        pfn_from_bytes(self.rq_pfn_low, self.high_nibble(2)) << SMC_PAGE_SHIFT
    }
    /// SQ bus address.
    pub fn sq_addr(&self) -> u64 {
        pfn_from_bytes(self.sq_pfn_low, self.high_nibble(3)) << SMC_PAGE_SHIFT
    }
}

/// REPORT_HWC_TIMEOUT message, the whole 32-byte window (mana.md §2; the
/// OpenVMM driver packs it by hand, here it is a struct).
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
#[repr(C)]
pub struct SmcReportHwcTimeout {
    /// HWC RQ tail.
    pub rq_tail: u32,
    /// HWC SQ tail.
    pub sq_tail: u32,
    /// HWC CQ next index.
    pub cq_next: u32,
    /// HWC EQ next index.
    pub eq_next: u32,
    /// Zero.
    pub reserved: [u32; 2],
    /// Bits 0–23 elapsed ms, 24 last command failed, 25 interrupt loss.
    pub flags: u32,
    /// [`SmcHeader`] (type 4, version 1).
    pub header: SmcHeader,
}
/// MANA: REPORT_HWC_TIMEOUT fills the 32-byte SMC window (mana.md §2).
const _: () = assert!(core::mem::size_of::<SmcReportHwcTimeout>() == SMC_WINDOW_SIZE as usize);

impl SmcReportHwcTimeout {
    /// Elapsed-milliseconds field mask (bits 0–23).
    pub const ELAPSED_MS_MASK: u32 = 0x00FF_FFFF;
    /// Bit 24: the last command failed.
    pub const LAST_CMD_FAILED: u32 = 1 << 24;
    /// Bit 25: a response arrived without its interrupt.
    pub const INTERRUPT_LOSS: u32 = 1 << 25;

    /// Build; `elapsed_ms` saturates at the 24-bit maximum.
    pub fn new(
        rq_tail: u32,
        sq_tail: u32,
        cq_next: u32,
        eq_next: u32,
        elapsed_ms: u32,
        last_cmd_failed: bool,
        interrupt_loss: bool,
    ) -> Self {
        let flags = elapsed_ms.min(Self::ELAPSED_MS_MASK)
            | if last_cmd_failed {
                Self::LAST_CMD_FAILED
            } else {
                0
            }
            | if interrupt_loss {
                Self::INTERRUPT_LOSS
            } else {
                0
            };
        SmcReportHwcTimeout {
            rq_tail,
            sq_tail,
            cq_next,
            eq_next,
            reserved: [0; 2],
            flags,
            header: SmcHeader::request(
                SMC_MSG_REPORT_HWC_TIMEOUT,
                SMC_MSG_REPORT_HWC_TIMEOUT_VERSION,
                false,
            ),
        }
    }
}

/// Read a window image as eight dwords for the driver's 32-bit writes (dword 7 = header).
pub fn window_dwords(bytes: &[u8; SMC_WINDOW_SIZE as usize]) -> [u32; SMC_DWORDS] {
    let mut out = [0u32; SMC_DWORDS];
    for (i, w) in out.iter_mut().enumerate() {
        let o = i * 4;
        *w = u32::from_le_bytes([bytes[o], bytes[o + 1], bytes[o + 2], bytes[o + 3]]);
    }
    out
}
