//! IO queue commands: CREATE_SQ / CREATE_CQ with their responses and
//! DESTROY_SQ / DESTROY_CQ (ena.md §3.6).

use zerocopy_derive::{FromBytes, Immutable, IntoBytes, KnownLayout};

use super::{AdminCommand, AdminOpcode, AqCommon, MemAddr};

/// SQ direction, CREATE_SQ byte 4 bits 7:5 (ena.md §3.6).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum SqDirection {
    /// Transmit.
    Tx = 1,
    /// Receive.
    Rx = 2,
}

/// Shift of the direction field in the SQ identity byte.
pub const SQ_DIRECTION_SHIFT: u8 = 5;
/// Mask of the direction field (after shifting).
pub const SQ_DIRECTION_MASK: u8 = 0x7;

impl SqDirection {
    /// The SQ identity byte for this direction.
    pub const fn identity(self) -> u8 {
        (self as u8) << SQ_DIRECTION_SHIFT
    }
    /// Decode an SQ identity byte.
    pub const fn from_identity(b: u8) -> Option<Self> {
        match (b >> SQ_DIRECTION_SHIFT) & SQ_DIRECTION_MASK {
            1 => Some(SqDirection::Tx),
            2 => Some(SqDirection::Rx),
            _ => None,
        }
    }
}

/// Placement policy: ring in host memory (ena.md §3.6).
pub const PLACEMENT_POLICY_HOST: u8 = 1;
/// Placement policy: ring in device memory (LLQ).
pub const PLACEMENT_POLICY_DEV: u8 = 3;
/// Placement policy mask, CREATE_SQ byte 6 bits 3:0.
pub const PLACEMENT_POLICY_MASK: u8 = 0xF;
/// Completion policy shift, CREATE_SQ byte 6 bits 6:4.
pub const COMPLETION_POLICY_SHIFT: u8 = 4;
/// Completion policy mask (after shifting).
pub const COMPLETION_POLICY_MASK: u8 = 0x7;
/// Completion policy: one CQE per descriptor (what Linux uses).
pub const COMPLETION_POLICY_DESC: u8 = 0;
/// Completion policy: CQE on request.
pub const COMPLETION_POLICY_DESC_ON_DEMAND: u8 = 1;
/// Completion policy: head write-back on request.
pub const COMPLETION_POLICY_HEAD_ON_DEMAND: u8 = 2;
/// Completion policy: head write-back always.
pub const COMPLETION_POLICY_HEAD: u8 = 3;
/// CREATE_SQ byte 7 bit 0: ring physically contiguous.
pub const SQ_CAPS3_PHYSICALLY_CONTIGUOUS: u8 = 1 << 0;

/// CREATE_SQ command, 36 bytes (ena.md §3.6).
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
#[repr(C)]
pub struct CreateSqCmd {
    /// Common header.
    pub common: AqCommon,
    /// Bits 7:5 direction ([`SqDirection::identity`]).
    pub sq_identity: u8,
    /// Reserved.
    pub reserved1: u8,
    /// Bits 3:0 placement policy, 6:4 completion policy.
    pub sq_caps_2: u8,
    /// Bit 0 physically contiguous.
    pub sq_caps_3: u8,
    /// Device CQ index from CREATE_CQ.
    pub cq_idx: u16,
    /// Depth in entries.
    pub sq_depth: u16,
    /// Ring address (host placement only).
    pub sq_ba: MemAddr,
    /// Head write-back address (head completion policies only).
    pub sq_head_writeback: MemAddr,
    /// Reserved dword 7.
    pub reserved_w7: u32,
    /// Reserved dword 8.
    pub reserved_w8: u32,
}
/// ENA spec: CREATE_SQ is 36 bytes (ena.md §3.6).
const _: () = assert!(core::mem::size_of::<CreateSqCmd>() == 36);

impl AdminCommand for CreateSqCmd {
    const OPCODE: AdminOpcode = AdminOpcode::CreateSq;
}

impl CreateSqCmd {
    /// CREATE_SQ for `dir` bound to `cq_idx`; `ring` is `Some(addr)` for host
    /// placement, `None` for LLQ (device memory). Completion policy 0,
    /// physically contiguous (as Linux).
    pub fn new(dir: SqDirection, cq_idx: u16, depth: u16, ring: Option<u64>) -> Self {
        let placement = if ring.is_some() {
            PLACEMENT_POLICY_HOST
        } else {
            PLACEMENT_POLICY_DEV
        };
        CreateSqCmd {
            common: AqCommon::new(AdminOpcode::CreateSq),
            sq_identity: dir.identity(),
            sq_caps_2: placement | (COMPLETION_POLICY_DESC << COMPLETION_POLICY_SHIFT),
            sq_caps_3: SQ_CAPS3_PHYSICALLY_CONTIGUOUS,
            cq_idx,
            sq_depth: depth,
            sq_ba: MemAddr::new(ring.unwrap_or(0)),
            ..Default::default()
        }
    }
    /// Placement policy field.
    pub fn placement_policy(&self) -> u8 {
        self.sq_caps_2 & PLACEMENT_POLICY_MASK
    }
    /// Completion policy field.
    pub fn completion_policy(&self) -> u8 {
        (self.sq_caps_2 >> COMPLETION_POLICY_SHIFT) & COMPLETION_POLICY_MASK
    }
}

/// CREATE_SQ response, relative to ACQ byte 8 (ena.md §3.6).
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
#[repr(C)]
pub struct CreateSqResp {
    /// Device SQ index.
    pub sq_idx: u16,
    /// Reserved.
    pub reserved: u16,
    /// Doorbell register offset in BAR0.
    pub sq_doorbell_offset: u32,
    /// LLQ descriptor ring offset in BAR2.
    pub llq_descriptors_offset: u32,
    /// LLQ header area offset in BAR2 (unused with inline headers).
    pub llq_headers_offset: u32,
}
/// ENA spec: CREATE_SQ response body is ACQ bytes 8..24 (ena.md §3.6).
const _: () = assert!(core::mem::size_of::<CreateSqResp>() == 16);

/// CREATE_CQ byte 4 bit 5: interrupt mode enabled (ena.md §3.6).
pub const CQ_CAPS1_INTERRUPT_MODE_ENABLED: u8 = 1 << 5;
/// CREATE_CQ byte 5 bits 4:0: entry size in 32-bit words.
pub const CQ_CAPS2_ENTRY_SIZE_WORDS_MASK: u8 = 0x1F;

/// CREATE_CQ command, 20 bytes (ena.md §3.6).
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
#[repr(C)]
pub struct CreateCqCmd {
    /// Common header.
    pub common: AqCommon,
    /// Bit 5 interrupt mode.
    pub cq_caps_1: u8,
    /// Bits 4:0 entry size in dwords.
    pub cq_caps_2: u8,
    /// Depth (power of two).
    pub cq_depth: u16,
    /// MSI-X vector.
    pub msix_vector: u32,
    /// Ring address (physically contiguous).
    pub cq_ba: MemAddr,
}
/// ENA spec: CREATE_CQ is 20 bytes (ena.md §3.6).
const _: () = assert!(core::mem::size_of::<CreateCqCmd>() == 20);

impl AdminCommand for CreateCqCmd {
    const OPCODE: AdminOpcode = AdminOpcode::CreateCq;
}

impl CreateCqCmd {
    /// CREATE_CQ in interrupt mode (as Linux always does).
    pub fn new(entry_words: u8, depth: u16, msix_vector: u32, ring: u64) -> Self {
        CreateCqCmd {
            common: AqCommon::new(AdminOpcode::CreateCq),
            cq_caps_1: CQ_CAPS1_INTERRUPT_MODE_ENABLED,
            cq_caps_2: entry_words & CQ_CAPS2_ENTRY_SIZE_WORDS_MASK,
            cq_depth: depth,
            msix_vector,
            cq_ba: MemAddr::new(ring),
        }
    }
    /// Entry size in dwords.
    pub fn entry_size_words(&self) -> u8 {
        self.cq_caps_2 & CQ_CAPS2_ENTRY_SIZE_WORDS_MASK
    }
    /// Interrupt mode bit.
    pub fn interrupt_mode(&self) -> bool {
        self.cq_caps_1 & CQ_CAPS1_INTERRUPT_MODE_ENABLED != 0
    }
}

/// CREATE_CQ response, relative to ACQ byte 8 (ena.md §3.6).
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
#[repr(C)]
pub struct CreateCqResp {
    /// Device CQ index.
    pub cq_idx: u16,
    /// Actual depth.
    pub cq_actual_depth: u16,
    /// NUMA-config register offset (0 = none).
    pub numa_node_register_offset: u32,
    /// CQ head doorbell offset (unused by drivers).
    pub cq_head_db_register_offset: u32,
    /// Interrupt-unmask register offset.
    pub cq_interrupt_unmask_register_offset: u32,
}
/// ENA spec: CREATE_CQ response body is ACQ bytes 8..24 (ena.md §3.6).
const _: () = assert!(core::mem::size_of::<CreateCqResp>() == 16);

/// DESTROY_SQ command, 8 bytes (ena.md §3.6).
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
#[repr(C)]
pub struct DestroySqCmd {
    /// Common header.
    pub common: AqCommon,
    /// Device SQ index.
    pub sq_idx: u16,
    /// Bits 7:5 direction.
    pub sq_identity: u8,
    /// Reserved.
    pub reserved: u8,
}
/// ENA spec: DESTROY_SQ carries index and direction in bytes 4..8 (ena.md §3.6).
const _: () = assert!(core::mem::size_of::<DestroySqCmd>() == 8);

impl AdminCommand for DestroySqCmd {
    const OPCODE: AdminOpcode = AdminOpcode::DestroySq;
}

impl DestroySqCmd {
    /// DESTROY_SQ for device queue `sq_idx`.
    pub fn new(dir: SqDirection, sq_idx: u16) -> Self {
        DestroySqCmd {
            common: AqCommon::new(AdminOpcode::DestroySq),
            sq_idx,
            sq_identity: dir.identity(),
            reserved: 0,
        }
    }
}

/// DESTROY_CQ command, 8 bytes (ena.md §3.6).
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
#[repr(C)]
pub struct DestroyCqCmd {
    /// Common header.
    pub common: AqCommon,
    /// Device CQ index.
    pub cq_idx: u16,
    /// Reserved.
    pub reserved: u16,
}
/// ENA spec: DESTROY_CQ carries the index in bytes 4..8 (ena.md §3.6).
const _: () = assert!(core::mem::size_of::<DestroyCqCmd>() == 8);

impl AdminCommand for DestroyCqCmd {
    const OPCODE: AdminOpcode = AdminOpcode::DestroyCq;
}

impl DestroyCqCmd {
    /// DESTROY_CQ for device queue `cq_idx`.
    pub fn new(cq_idx: u16) -> Self {
        DestroyCqCmd {
            common: AqCommon::new(AdminOpcode::DestroyCq),
            cq_idx,
            reserved: 0,
        }
    }
}
