//! BAR0 register maps (VF and PF layouts), doorbell pages and every doorbell
//! entry format (mana.md §1).
//!
//! BAR0 holds the register map, the shared-memory-channel window (§2) and the
//! doorbell pages. The 64-bit registers are read as two 32-bit loads (low
//! word first): they are written once by the device before the driver loads,
//! so no tearing is possible.

use zerocopy_derive::{FromBytes, Immutable, IntoBytes, KnownLayout};

use super::{get_bits, put_bits};

/// PCI device id of the guest VF (mana.md §1.1).
pub const PCI_DEVICE_ID_VF: u16 = 0x00BA;
/// PCI device id of the bare-metal PF, which uses the PF register layout (mana.md §1.1).
pub const PCI_DEVICE_ID_PF: u16 = 0x00B9;
/// PCI device id of the second PF variant, which uses the VF register layout
/// (mana.md §1.1, net-next and Debian 7.2.13).
pub const PCI_DEVICE_ID_PF2: u16 = 0x00C1;

/// Which BAR0 register layout a function uses (mana.md §1.3).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RegLayout {
    /// VF layout (device 0x00BA, also PF2 0x00C1 and the CDX variant).
    Vf,
    /// PF layout (device 0x00B9): doorbell info at 0xC8/0xD0, SMC through the SR-IOV config base.
    Pf,
}

impl RegLayout {
    /// Layout for a PCI device id; unknown ids get the VF layout.
    pub const fn for_device_id(device_id: u16) -> Self {
        if device_id == PCI_DEVICE_ID_PF {
            RegLayout::Pf
        } else {
            RegLayout::Vf
        }
    }
}

/// BAR0 register offsets (mana.md §1.3).
pub mod offset {
    /// VF: dword holding micro (bits 0–15), minor (16–23) and major (24–31) versions.
    pub const VERSION: u32 = 0x00;
    /// VF: doorbell-page zone offset from BAR0, u64.
    pub const DB_PAGE_OFFSET: u32 = 0x08;
    /// VF: doorbell page size in bytes (low 16 bits of the dword).
    pub const DB_PAGE_SIZE: u32 = 0x10;
    /// VF: shared-memory-channel window offset from BAR0, u64.
    pub const SHM_OFFSET: u32 = 0x18;
    /// VF: shared-memory-channel window size (low 16 bits; not read by Linux).
    pub const SHM_SIZE: u32 = 0x20;
    /// PF: doorbell-page zone offset, u64.
    pub const PF_DB_PAGE_OFFSET: u32 = 0xC8;
    /// PF: doorbell page size (low 16 bits of the dword).
    pub const PF_DB_PAGE_SIZE: u32 = 0xD0;
    /// PF: SR-IOV configuration base offset from BAR0, u64.
    pub const PF_SRIOV_BASE: u32 = 0x108;
    /// PF: offset, relative to the SR-IOV base, of the u64 holding the SMC
    /// offset (itself relative to the SR-IOV base).
    pub const PF_SRIOV_SHM_OFFSET: u32 = 0x70;
}

/// The doorbell page size field is the low 16 bits of its dword (mana.md §1.3).
pub const DB_PAGE_SIZE_MASK: u32 = 0xFFFF;
/// Smallest doorbell page size newest Linux accepts (mana.md §1.3).
pub const MIN_DB_PAGE_SIZE: u32 = 4096;
/// Required alignment of the SMC window offset (mana.md §1.3).
pub const SHM_OFFSET_ALIGN: u64 = 4;
/// Required alignment of the PF SR-IOV base (mana.md §1.3).
pub const PF_SRIOV_BASE_ALIGN: u64 = 8;
/// A first dword of all ones means the function is gone (surprise removal or
/// VF reset; mana.md §2, openvmm notes §2.2).
pub const REG_DEVICE_GONE: u32 = 0xFFFF_FFFF;

/// The VF register map at BAR0 offset 0, 40 bytes (mana.md §1.3; layout of
/// the OpenVMM `RegMap`). Used by the device model to publish the registers.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
#[repr(C)]
pub struct VfRegMap {
    /// Micro version.
    pub micro_version: u16,
    /// Minor version.
    pub minor_version: u8,
    /// Major version.
    pub major_version: u8,
    /// Reserved.
    pub reserved0: u32,
    /// Doorbell-page zone offset from BAR0.
    pub db_page_offset: u64,
    /// Doorbell page size in bytes.
    pub db_page_size: u16,
    /// Reserved (pads to 0x18).
    pub reserved1: [u8; 6],
    /// SMC window offset from BAR0.
    pub shm_offset: u64,
    /// SMC window size in bytes (32).
    pub shm_size: u16,
    /// Reserved (pads to 40).
    pub reserved2: [u8; 6],
}
/// MANA: the VF register map is 40 bytes (mana.md §1.3).
const _: () = assert!(core::mem::size_of::<VfRegMap>() == 40);

/// Version dword of the VF map: bits 0–15 micro, 16–23 minor, 24–31 major.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RegVersion(pub u32);

impl RegVersion {
    /// Micro version mask.
    pub const MICRO_MASK: u32 = 0xFFFF;
    /// Minor version shift.
    pub const MINOR_SHIFT: u32 = 16;
    /// Major version shift.
    pub const MAJOR_SHIFT: u32 = 24;
    /// Minor/major width mask.
    pub const BYTE_MASK: u32 = 0xFF;
    /// Encode major.minor.micro.
    pub const fn new(major: u8, minor: u8, micro: u16) -> Self {
        RegVersion(
            put_bits(major as u32, Self::MAJOR_SHIFT, Self::BYTE_MASK)
                | put_bits(minor as u32, Self::MINOR_SHIFT, Self::BYTE_MASK)
                | micro as u32,
        )
    }
    /// Major version.
    pub const fn major(self) -> u8 {
        get_bits(self.0, Self::MAJOR_SHIFT, Self::BYTE_MASK) as u8
    }
    /// Minor version.
    pub const fn minor(self) -> u8 {
        get_bits(self.0, Self::MINOR_SHIFT, Self::BYTE_MASK) as u8
    }
    /// Micro version.
    pub const fn micro(self) -> u16 {
        (self.0 & Self::MICRO_MASK) as u16
    }
}

/// Byte offsets of the doorbell registers inside one doorbell page (mana.md §1.4).
pub mod db_offset {
    /// SQ doorbell (64-bit).
    pub const SQ: u32 = 0x000;
    /// Short (32-bit) SQ doorbell.
    pub const SQ_SHORT: u32 = 0x010;
    /// RQ doorbell (64-bit).
    pub const RQ: u32 = 0x400;
    /// RQ "client data" doorbell (RC-QP CQE arming, 64-bit).
    pub const RQ_CLIENT: u32 = 0x408;
    /// Short (32-bit) RQ doorbell.
    pub const RQ_SHORT: u32 = 0x410;
    /// CQ doorbell (64-bit).
    pub const CQ: u32 = 0x800;
    /// Short (32-bit) CQ doorbell.
    pub const CQ_SHORT: u32 = 0x810;
    /// Interrupt-moderation (DIM) doorbell (64-bit, net-next cap bit 28).
    pub const DIM: u32 = 0x820;
    /// Short (32-bit) EQ doorbell.
    pub const EQ_SHORT: u32 = 0xFF0;
    /// EQ doorbell (64-bit).
    pub const EQ: u32 = 0xFF8;
}

/// Queue-id field of SQ/RQ/CQ/DIM doorbells: bits 0–23 (mana.md §1.5).
pub const DB_QUEUE_ID_MASK: u64 = 0x00FF_FFFF;
/// Queue-id field of the EQ doorbell: bits 0–15 (mana.md §1.5).
pub const DB_EQ_ID_MASK: u64 = 0xFFFF;
/// Shift of the 32-bit producer offset / consumer index (bits 32–63).
pub const DB_TAIL_SHIFT: u32 = 32;
/// CQ/EQ consumer index width: bits 32–62 (mana.md §1.5).
pub const DB_CQ_EQ_INDEX_MASK: u64 = 0x7FFF_FFFF;
/// CQ/EQ arm bit (bit 63).
pub const DB_ARM: u64 = 1 << 63;
/// RQ `wqe_cnt` field: bits 24–31.
pub const DB_WQE_CNT_SHIFT: u32 = 24;
/// Width mask of `wqe_cnt`.
pub const DB_WQE_CNT_MASK: u64 = 0xFF;

/// A 64-bit SQ or RQ doorbell value: bits 0–23 queue id, 24–31 `wqe_cnt`
/// (RQ only; Linux writes 0), 32–63 producer offset in bytes (= head in BUs ×
/// 32, wrapping) (mana.md §1.5).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WqDoorbell(pub u64);

impl WqDoorbell {
    /// SQ doorbell.
    pub const fn sq(queue_id: u32, tail_bytes: u32) -> Self {
        WqDoorbell((queue_id as u64 & DB_QUEUE_ID_MASK) | (tail_bytes as u64) << DB_TAIL_SHIFT)
    }
    /// RQ doorbell with `wqe_cnt` (Linux 0, DPDK/rdma-core the count; mana.md §12).
    pub const fn rq(queue_id: u32, wqe_cnt: u8, tail_bytes: u32) -> Self {
        WqDoorbell(
            (queue_id as u64 & DB_QUEUE_ID_MASK)
                | (wqe_cnt as u64) << DB_WQE_CNT_SHIFT
                | (tail_bytes as u64) << DB_TAIL_SHIFT,
        )
    }
    /// Queue id.
    pub const fn queue_id(self) -> u32 {
        (self.0 & DB_QUEUE_ID_MASK) as u32
    }
    /// `wqe_cnt` (RQ).
    pub const fn wqe_cnt(self) -> u8 {
        ((self.0 >> DB_WQE_CNT_SHIFT) & DB_WQE_CNT_MASK) as u8
    }
    /// Producer offset in bytes.
    pub const fn tail_bytes(self) -> u32 {
        (self.0 >> DB_TAIL_SHIFT) as u32
    }
}

/// A 64-bit CQ doorbell: bits 0–23 queue id, 32–62 consumer index (head mod
/// entries × 8, i.e. with the owner phase), 63 arm (mana.md §1.5).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CqDoorbell(pub u64);

impl CqDoorbell {
    /// Encode; `index` is truncated to 31 bits.
    pub const fn new(queue_id: u32, index: u32, arm: bool) -> Self {
        CqDoorbell(
            (queue_id as u64 & DB_QUEUE_ID_MASK)
                | (index as u64 & DB_CQ_EQ_INDEX_MASK) << DB_TAIL_SHIFT
                | if arm { DB_ARM } else { 0 },
        )
    }
    /// Queue id.
    pub const fn queue_id(self) -> u32 {
        (self.0 & DB_QUEUE_ID_MASK) as u32
    }
    /// Consumer index.
    pub const fn index(self) -> u32 {
        ((self.0 >> DB_TAIL_SHIFT) & DB_CQ_EQ_INDEX_MASK) as u32
    }
    /// Arm bit.
    pub const fn arm(self) -> bool {
        self.0 & DB_ARM != 0
    }
}

/// A 64-bit EQ doorbell: bits 0–15 queue id, 32–62 consumer index, 63 arm (mana.md §1.5).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EqDoorbell(pub u64);

impl EqDoorbell {
    /// Encode; `queue_id` is truncated to 16 bits, `index` to 31.
    pub const fn new(queue_id: u32, index: u32, arm: bool) -> Self {
        EqDoorbell(
            (queue_id as u64 & DB_EQ_ID_MASK)
                | (index as u64 & DB_CQ_EQ_INDEX_MASK) << DB_TAIL_SHIFT
                | if arm { DB_ARM } else { 0 },
        )
    }
    /// Queue id.
    pub const fn queue_id(self) -> u32 {
        (self.0 & DB_EQ_ID_MASK) as u32
    }
    /// Consumer index.
    pub const fn index(self) -> u32 {
        ((self.0 >> DB_TAIL_SHIFT) & DB_CQ_EQ_INDEX_MASK) as u32
    }
    /// Arm bit.
    pub const fn arm(self) -> bool {
        self.0 & DB_ARM != 0
    }
}

/// A 64-bit DIM (interrupt moderation) doorbell: bits 0–23 CQ id, 32–41
/// usec, 47 usec-valid, 48–55 completions, 63 completions-valid (mana.md §1.5, §6.12).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DimDoorbell(pub u64);

impl DimDoorbell {
    /// Largest moderation interval in microseconds.
    pub const MAX_USEC: u16 = 1023;
    /// Largest moderation completion count.
    pub const MAX_COMPS: u8 = 255;
    const USEC_SHIFT: u32 = 32;
    const USEC_MASK: u64 = 0x3FF;
    const USEC_VALID: u64 = 1 << 47;
    const COMPS_SHIFT: u32 = 48;
    const COMPS_MASK: u64 = 0xFF;
    const COMPS_VALID: u64 = 1 << 63;

    /// Encode; `None` leaves a field unchanged (its valid bit clear). `usec`
    /// above [`Self::MAX_USEC`] is truncated to 10 bits: the caller validates.
    pub const fn new(cq_id: u32, usec: Option<u16>, comps: Option<u8>) -> Self {
        let mut v = cq_id as u64 & DB_QUEUE_ID_MASK;
        if let Some(u) = usec {
            v |= (u as u64 & Self::USEC_MASK) << Self::USEC_SHIFT | Self::USEC_VALID;
        }
        if let Some(c) = comps {
            v |= (c as u64 & Self::COMPS_MASK) << Self::COMPS_SHIFT | Self::COMPS_VALID;
        }
        DimDoorbell(v)
    }
    /// CQ id.
    pub const fn cq_id(self) -> u32 {
        (self.0 & DB_QUEUE_ID_MASK) as u32
    }
    /// Interval, if valid.
    pub const fn usec(self) -> Option<u16> {
        if self.0 & Self::USEC_VALID != 0 {
            Some(((self.0 >> Self::USEC_SHIFT) & Self::USEC_MASK) as u16)
        } else {
            None
        }
    }
    /// Completion count, if valid.
    pub const fn comps(self) -> Option<u8> {
        if self.0 & Self::COMPS_VALID != 0 {
            Some(((self.0 >> Self::COMPS_SHIFT) & Self::COMPS_MASK) as u8)
        } else {
            None
        }
    }
}

/// The RQ "client data" doorbell at 0x408: bits 0–23 id, 24–31 high, 32–63
/// low (mana.md §1.5; RDMA only, the Ethernet path never rings it).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RqClientDoorbell(pub u64);

impl RqClientDoorbell {
    /// Encode.
    pub const fn new(queue_id: u32, high: u8, low: u32) -> Self {
        RqClientDoorbell(
            (queue_id as u64 & DB_QUEUE_ID_MASK) | (high as u64) << 24 | (low as u64) << 32,
        )
    }
}

/// Short 32-bit CQ/EQ doorbell (DPDK 32-bit builds): bits 0–15 tail
/// increment in entries, 16–27 id, 31 arm (mana.md §1.5).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ShortCqEqDoorbell(pub u32);

impl ShortCqEqDoorbell {
    const INC_MASK: u32 = 0xFFFF;
    const ID_SHIFT: u32 = 16;
    const ID_MASK: u32 = 0xFFF;
    const ARM: u32 = 1 << 31;
    /// Encode.
    pub const fn new(queue_id: u32, increment: u16, arm: bool) -> Self {
        ShortCqEqDoorbell(
            increment as u32
                | put_bits(queue_id, Self::ID_SHIFT, Self::ID_MASK)
                | if arm { Self::ARM } else { 0 },
        )
    }
    /// Tail increment.
    pub const fn increment(self) -> u16 {
        (self.0 & Self::INC_MASK) as u16
    }
    /// Queue id (12 bits).
    pub const fn queue_id(self) -> u32 {
        get_bits(self.0, Self::ID_SHIFT, Self::ID_MASK)
    }
    /// Arm bit.
    pub const fn arm(self) -> bool {
        self.0 & Self::ARM != 0
    }
}

/// Short 32-bit SQ/RQ doorbell: bits 0–15 increment in bytes, 16–27 id (mana.md §1.5).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ShortWqDoorbell(pub u32);

impl ShortWqDoorbell {
    /// Encode.
    pub const fn new(queue_id: u32, increment_bytes: u16) -> Self {
        ShortWqDoorbell(increment_bytes as u32 | put_bits(queue_id, 16, 0xFFF))
    }
    /// Increment in bytes.
    pub const fn increment(self) -> u16 {
        (self.0 & 0xFFFF) as u16
    }
    /// Queue id (12 bits).
    pub const fn queue_id(self) -> u32 {
        get_bits(self.0, 16, 0xFFF)
    }
}
