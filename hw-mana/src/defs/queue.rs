//! GDMA queues: types, size limits, WQE header and SGE, CQE (64 B), EQE
//! (16 B), EQE types and the 3-bit owner count (mana.md §4).

use zerocopy_derive::{FromBytes, Immutable, IntoBytes, KnownLayout};

use super::{get_bits, put_bits};

/// Queue type: invalid (mana.md §4.1).
pub const GDMA_QUEUE_INVALID: u32 = 0;
/// Queue type: send queue.
pub const GDMA_QUEUE_SQ: u32 = 1;
/// Queue type: receive queue.
pub const GDMA_QUEUE_RQ: u32 = 2;
/// Queue type: completion queue.
pub const GDMA_QUEUE_CQ: u32 = 3;
/// Queue type: event queue.
pub const GDMA_QUEUE_EQ: u32 = 4;
/// Doorbell pseudo-type for interrupt moderation (net-next).
pub const GDMA_QUEUE_DIM: u32 = 5;

/// WQE basic unit: every WQE is a multiple of 32 bytes (mana.md §4.1).
pub const WQE_BU_SIZE: u32 = 32;
/// log2 of [`WQE_BU_SIZE`].
pub const WQE_BU_SHIFT: u32 = 5;
/// Largest SQ WQE: 512 bytes = 16 BU (mana.md §4.1).
pub const MAX_SQ_WQE_SIZE: u32 = 512;
/// Largest RQ WQE: 256 bytes = 8 BU.
pub const MAX_RQ_WQE_SIZE: u32 = 256;
/// WQE header size (two dwords).
pub const WQE_HEADER_SIZE: u32 = 8;
/// Small inline OOB: 8 bytes (mana.md §4.1).
pub const INLINE_OOB_SMALL: u32 = 8;
/// Large inline OOB: 24 bytes.
pub const INLINE_OOB_LARGE: u32 = 24;
/// Extra-large inline OOB: 32 bytes (OpenVMM only).
pub const INLINE_OOB_EXTRA_LARGE: u32 = 32;
/// SGE size in bytes.
pub const SGE_SIZE: u32 = 16;
/// The SGL starts on a 16-byte boundary after header + OOB (mana.md §4.2).
pub const SGL_ALIGN: u32 = 16;
/// Most SGEs in a TX WQE: (512 − 16 − 8) / 16 = 30 (mana.md §4.1).
pub const MAX_TX_WQE_SGES: u32 = (MAX_SQ_WQE_SIZE - SGL_ALIGN - INLINE_OOB_SMALL) / SGE_SIZE;
/// Most SGEs in an RX WQE: (256 − 16) / 16 = 15.
pub const MAX_RX_WQE_SGES: u32 = (MAX_RQ_WQE_SIZE - SGL_ALIGN) / SGE_SIZE;
/// CQE size in bytes (60 data + 4 info).
pub const CQE_SIZE: u32 = 64;
/// CQE client data bytes.
pub const CQE_DATA_SIZE: usize = 60;
/// EQE size in bytes (12 data + 4 info).
pub const EQE_SIZE: u32 = 16;
/// Owner bits in a CQE/EQE (mana.md §4.5).
pub const OWNER_BITS: u32 = 3;
/// Owner count mask.
pub const OWNER_MASK: u32 = (1 << OWNER_BITS) - 1;
/// DMA unit for queues: 4 KiB even on larger-page kernels (mana.md §4.1).
pub const MANA_PAGE_SIZE: u32 = 4096;
/// Smallest queue ring in bytes (`MANA_MIN_QSIZE`).
pub const MIN_QUEUE_SIZE: u32 = 4096;
/// Invalid PDID / doorbell id / memory key / queue id / MSI-X index (mana.md §4.1).
pub const GDMA_INVALID_ID: u32 = 0xFFFF_FFFF;
/// Queue ids are 24 bits in CQEs, EQEs and doorbells.
pub const GDMA_QUEUE_ID_MASK: u32 = 0x00FF_FFFF;

/// Round `n` up to a multiple of the power of two `align` (no overflow for WQE-sized values).
pub const fn round_up(n: u32, align: u32) -> u32 {
    (n + align - 1) & !(align - 1)
}

/// Byte offset of the SGL in a WQE with `oob_size` inline OOB bytes (mana.md §4.2).
pub const fn sgl_offset(oob_size: u32) -> u32 {
    round_up(WQE_HEADER_SIZE + oob_size, SGL_ALIGN)
}

/// Total WQE size: round_up(sgl offset + 16 × SGEs, 32) (mana.md §4.2).
pub const fn wqe_size(oob_size: u32, num_sge: u32) -> u32 {
    round_up(sgl_offset(oob_size) + SGE_SIZE * num_sge, WQE_BU_SIZE)
}

/// Inline OOB size code of the WQE header (bytes / 4, mana.md §4.2).
pub const fn oob_size_code(oob_size: u32) -> Option<u32> {
    match oob_size {
        INLINE_OOB_SMALL | INLINE_OOB_LARGE | INLINE_OOB_EXTRA_LARGE => Some(oob_size / 4),
        _ => None,
    }
}

/// The 8-byte GDMA WQE header (mana.md §4.2).
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
#[repr(C)]
pub struct WqeHeader {
    /// Bits 24–31 `last_vbytes` (size of SGE0 data with pad-by-SGE0).
    pub dword0: u32,
    /// [`WqeParams`].
    pub params: u32,
}
/// MANA: the WQE header is two dwords (mana.md §4.2).
const _: () = assert!(core::mem::size_of::<WqeHeader>() == WQE_HEADER_SIZE as usize);

/// WQE header dword 1 (mana.md §4.2): bits 0–7 num_sge, 8–10 inline OOB
/// size / 4, 11 client OOB in SGL, 16–29 client data unit (TSO MSS).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct WqeParams(pub u32);

impl WqeParams {
    const NUM_SGE_MASK: u32 = 0xFF;
    const OOB_SHIFT: u32 = 8;
    const OOB_MASK: u32 = 0x7;
    /// Bit 11: the client OOB is carried in the SGL (TSO).
    pub const CLIENT_OOB_IN_SGL: u32 = 1 << 11;
    const CDU_SHIFT: u32 = 16;
    /// Client data unit field width mask (14 bits).
    pub const CDU_MASK: u32 = 0x3FFF;
    /// Bit 31: SGL direct (DPDK/rdma-core/OpenVMM; reserved in Linux).
    pub const SGL_DIRECT: u32 = 1 << 31;

    /// Encode. `oob_code` is [`oob_size_code`]; `client_data_unit` ≤ 0x3FFF.
    pub const fn new(num_sge: u8, oob_code: u32, oob_in_sgl: bool, client_data_unit: u32) -> Self {
        WqeParams(
            num_sge as u32
                | put_bits(oob_code, Self::OOB_SHIFT, Self::OOB_MASK)
                | if oob_in_sgl {
                    Self::CLIENT_OOB_IN_SGL
                } else {
                    0
                }
                | put_bits(client_data_unit, Self::CDU_SHIFT, Self::CDU_MASK),
        )
    }
    /// SGE count.
    pub const fn num_sge(self) -> u32 {
        self.0 & Self::NUM_SGE_MASK
    }
    /// Inline OOB size in bytes.
    pub const fn oob_size(self) -> u32 {
        get_bits(self.0, Self::OOB_SHIFT, Self::OOB_MASK) * 4
    }
    /// Client OOB in SGL.
    pub const fn oob_in_sgl(self) -> bool {
        self.0 & Self::CLIENT_OOB_IN_SGL != 0
    }
    /// Client data unit (TSO MSS).
    pub const fn client_data_unit(self) -> u32 {
        get_bits(self.0, Self::CDU_SHIFT, Self::CDU_MASK)
    }
}

/// `last_vbytes` field of header dword 0: bits 24–31.
pub const WQE_LAST_VBYTES_SHIFT: u32 = 24;

impl WqeHeader {
    /// Build.
    pub const fn new(last_vbytes: u8, params: WqeParams) -> Self {
        WqeHeader {
            dword0: (last_vbytes as u32) << WQE_LAST_VBYTES_SHIFT,
            params: params.0,
        }
    }
    /// Decoded dword 1.
    pub const fn params(&self) -> WqeParams {
        WqeParams(self.params)
    }
    /// `last_vbytes`.
    pub const fn last_vbytes(&self) -> u8 {
        (self.dword0 >> WQE_LAST_VBYTES_SHIFT) as u8
    }
}

/// Scatter-gather entry, 16 bytes (mana.md §4.2).
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
#[repr(C)]
pub struct Sge {
    /// Bus address.
    pub address: u64,
    /// Memory key (REGISTER_DEVICE `gpa_mkey`).
    pub mem_key: u32,
    /// Length in bytes.
    pub size: u32,
}
/// MANA: an SGE is 16 bytes (mana.md §4.2).
const _: () = assert!(core::mem::size_of::<Sge>() == SGE_SIZE as usize);

/// A completion queue entry, 64 bytes (mana.md §4.3).
#[derive(Clone, Copy, Debug, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout)]
#[repr(C)]
pub struct Cqe {
    /// Client data (MANA TX/RX OOB, HWC RX OOB).
    pub data: [u8; CQE_DATA_SIZE],
    /// [`CqeInfo`].
    pub info: u32,
}
/// MANA: a CQE is 64 bytes (mana.md §4.3).
const _: () = assert!(core::mem::size_of::<Cqe>() == CQE_SIZE as usize);

/// Byte offset of the info dword inside a CQE.
pub const CQE_INFO_OFFSET: usize = 60;

/// CQE info dword (mana.md §4.3): bits 0–23 WQ number, 24 is_sq, 29–31 owner.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CqeInfo(pub u32);

impl CqeInfo {
    /// Bit 24: the completed WQ is a send queue.
    pub const IS_SQ: u32 = 1 << 24;
    /// Bit 25: "cmpln" (OpenVMM; reserved in Linux).
    pub const CMPLN: u32 = 1 << 25;
    /// Owner field shift.
    pub const OWNER_SHIFT: u32 = 29;
    /// Bits 25–28 reserved in Linux.
    pub const RESERVED: u32 = 0xF << 25;

    /// Encode.
    pub const fn new(wq_num: u32, is_sq: bool, owner: u32) -> Self {
        CqeInfo(
            (wq_num & GDMA_QUEUE_ID_MASK)
                | if is_sq { Self::IS_SQ } else { 0 }
                | put_bits(owner, Self::OWNER_SHIFT, OWNER_MASK),
        )
    }
    /// WQ number.
    pub const fn wq_num(self) -> u32 {
        self.0 & GDMA_QUEUE_ID_MASK
    }
    /// Send-queue completion.
    pub const fn is_sq(self) -> bool {
        self.0 & Self::IS_SQ != 0
    }
    /// Owner count.
    pub const fn owner(self) -> u32 {
        get_bits(self.0, Self::OWNER_SHIFT, OWNER_MASK)
    }
}

impl Cqe {
    /// Decoded info dword.
    pub const fn info(&self) -> CqeInfo {
        CqeInfo(self.info)
    }
}

/// An event queue entry, 16 bytes (mana.md §4.4).
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
#[repr(C)]
pub struct Eqe {
    /// Event details.
    pub details: [u32; 3],
    /// [`EqeInfo`].
    pub info: u32,
}
/// MANA: an EQE is 16 bytes (mana.md §4.4).
const _: () = assert!(core::mem::size_of::<Eqe>() == EQE_SIZE as usize);

/// EQE info dword (mana.md §4.4): bits 0–7 type, 16–17 client id, 29–31 owner.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct EqeInfo(pub u32);

impl EqeInfo {
    const TYPE_MASK: u32 = 0xFF;
    const CLIENT_SHIFT: u32 = 16;
    const CLIENT_MASK: u32 = 0x3;
    /// Owner field shift.
    pub const OWNER_SHIFT: u32 = 29;

    /// Encode.
    pub const fn new(event_type: u8, owner: u32) -> Self {
        EqeInfo(event_type as u32 | put_bits(owner, Self::OWNER_SHIFT, OWNER_MASK))
    }
    /// Event type (`eqe_type::*`).
    pub const fn event_type(self) -> u8 {
        (self.0 & Self::TYPE_MASK) as u8
    }
    /// Client id.
    pub const fn client_id(self) -> u8 {
        get_bits(self.0, Self::CLIENT_SHIFT, Self::CLIENT_MASK) as u8
    }
    /// Owner count.
    pub const fn owner(self) -> u32 {
        get_bits(self.0, Self::OWNER_SHIFT, OWNER_MASK)
    }
}

impl Eqe {
    /// Decoded info dword.
    pub const fn info(&self) -> EqeInfo {
        EqeInfo(self.info)
    }
}

/// EQE types (mana.md §4.4).
pub mod eqe_type {
    /// A CQ has new entries; `details[0]` bits 0–23 = CQ id.
    pub const COMPLETION: u8 = 3;
    /// Answer to GENERATE_TEST_EQE.
    pub const TEST_EVENT: u8 = 64;
    /// HWC EQ id and doorbell page.
    pub const HWC_INIT_EQ_ID_DB: u8 = 129;
    /// One HWC init-data item.
    pub const HWC_INIT_DATA: u8 = 130;
    /// End of HWC bring-up.
    pub const HWC_INIT_DONE: u8 = 131;
    /// FPGA reconfiguration (formerly SOC_RECONFIG): remove and rescan.
    pub const HWC_FPGA_RECONFIG: u8 = 132;
    /// HWC timeout / link up-down data.
    pub const HWC_SOC_RECONFIG_DATA: u8 = 133;
    /// RDMA suspend/resume.
    pub const HWC_SOC_SERVICE: u8 = 134;
    /// The device asks for a reset cycle.
    pub const HWC_RESET_REQUEST: u8 = 135;
    /// RDMA QP fatal.
    pub const RNIC_QP_FATAL: u8 = 176;
}

/// Expected owner count for a consumer at free-running `head` on a ring of
/// `entries` (a power of two): `(head / entries) & 7` (mana.md §4.5). A
/// ring of 0 entries (never created) reads as pass 0 instead of dividing
/// by zero.
pub const fn expected_owner(head: u32, entries: u32) -> u32 {
    pass(head, entries) & OWNER_MASK
}

/// Owner count an entry still has when the device has not written it yet:
/// the previous pass, `(head / entries − 1) & 7`.
pub const fn empty_owner(head: u32, entries: u32) -> u32 {
    pass(head, entries).wrapping_sub(1) & OWNER_MASK
}

/// `head / entries`, 0 for an empty ring (no panic path).
const fn pass(head: u32, entries: u32) -> u32 {
    match head.checked_div(entries) {
        Some(p) => p,
        None => 0,
    }
}
