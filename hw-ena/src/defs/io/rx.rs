//! RX descriptor and RX completion (ena.md §5.5, §5.6).

use bitflags::bitflags;
use zerocopy_derive::{FromBytes, Immutable, IntoBytes, KnownLayout};

use super::{hi32, join, lo32, DESC_ADDR_HI_MASK};

/// RX descriptor size in bytes.
pub const RX_DESC_SIZE: usize = 16;

bitflags! {
    /// RX descriptor control byte (byte 3) (ena.md §5.5).
    #[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
    pub struct RxDescCtrl: u8 {
        /// Producer phase (bit 0).
        const PHASE = 1 << 0;
        /// First buffer of a packet (bit 2).
        const FIRST = 1 << 2;
        /// Last buffer of a packet (bit 3).
        const LAST = 1 << 3;
        /// Completion requested (bit 4).
        const COMP_REQ = 1 << 4;
        /// Reserved "must be one" bit (bit 5); Linux does not set it.
        const RSVD_MUST_BE_ONE = 1 << 5;
    }
}

/// ENA spec: RX descriptor, 16 B (ena.md §5.5).
#[derive(
    FromBytes, IntoBytes, Immutable, KnownLayout, Clone, Copy, Debug, Default, PartialEq, Eq,
)]
#[repr(C)]
pub struct RxDesc {
    /// Buffer length in bytes; 0 means 64 KiB.
    pub length: u16,
    /// Reserved.
    pub reserved2: u8,
    /// Control flags ([`RxDescCtrl`]).
    pub ctrl: u8,
    /// Buffer id, echoed in the completion.
    pub req_id: u16,
    /// Reserved.
    pub reserved6: u16,
    /// Address bits 31:0.
    pub buff_addr_lo: u32,
    /// Address bits 47:32.
    pub buff_addr_hi: u16,
    /// Reserved.
    pub reserved14: u16,
}
const _: () = assert!(core::mem::size_of::<RxDesc>() == RX_DESC_SIZE);

impl RxDesc {
    /// Encode one single-buffer descriptor the Linux way (first = last =
    /// comp_req = 1). `len` ≥ 65536 is encoded as 0 (= 64 KiB).
    #[inline]
    pub const fn new(len: u32, req_id: u16, addr: u64, phase: bool) -> Self {
        let mut ctrl =
            RxDescCtrl::FIRST.bits() | RxDescCtrl::LAST.bits() | RxDescCtrl::COMP_REQ.bits();
        if phase {
            ctrl |= RxDescCtrl::PHASE.bits();
        }
        RxDesc {
            // 0x1_0000 truncates to 0.
            length: (if len > 0x1_0000 { 0x1_0000 } else { len }) as u16,
            reserved2: 0,
            ctrl,
            req_id,
            reserved6: 0,
            buff_addr_lo: lo32(addr),
            buff_addr_hi: (hi32(addr) & DESC_ADDR_HI_MASK) as u16,
            reserved14: 0,
        }
    }
    /// Control flags.
    pub const fn flags(&self) -> RxDescCtrl {
        RxDescCtrl::from_bits_truncate(self.ctrl)
    }
    /// Buffer length in bytes (0 decodes as 65536).
    pub const fn buffer_len(&self) -> u32 {
        if self.length == 0 {
            0x1_0000
        } else {
            self.length as u32
        }
    }
    /// 48-bit buffer address.
    pub const fn addr(&self) -> u64 {
        join(self.buff_addr_lo, self.buff_addr_hi as u32)
    }
    /// The descriptor as two little-endian 64-bit words.
    #[inline]
    pub const fn to_qwords(&self) -> [u64; 2] {
        [
            self.length as u64
                | (self.reserved2 as u64) << 16
                | (self.ctrl as u64) << 24
                | (self.req_id as u64) << 32
                | (self.reserved6 as u64) << 48,
            join(
                self.buff_addr_lo,
                self.buff_addr_hi as u32 | (self.reserved14 as u32) << 16,
            ),
        ]
    }
    /// Inverse of [`RxDesc::to_qwords`].
    pub const fn from_qwords(q: [u64; 2]) -> Self {
        RxDesc {
            length: q[0] as u16,
            reserved2: (q[0] >> 16) as u8,
            ctrl: (q[0] >> 24) as u8,
            req_id: (q[0] >> 32) as u16,
            reserved6: (q[0] >> 48) as u16,
            buff_addr_lo: lo32(q[1]),
            buff_addr_hi: (q[1] >> 32) as u16,
            reserved14: (q[1] >> 48) as u16,
        }
    }
}

// ---------------------------------------------------------------------------
// RX completion (ena.md §5.6)
// ---------------------------------------------------------------------------

/// RX completion entry size in words as sent in CREATE_CQ: 16 B.
pub const RX_CDESC_WORDS: u8 = 4;
/// RX extended completion entry size in words: 32 B.
pub const RX_CDESC_EXT_WORDS: u8 = 8;

bitflags! {
    /// Flag bits of the RX completion status word (ena.md §5.6).
    #[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
    pub struct RxCdescStatus: u32 {
        /// Must be zero (bit 7).
        const MBZ7 = 1 << 7;
        /// L3 checksum error or not validated; IPv4 only (bit 13).
        const L3_CSUM_ERR = 1 << 13;
        /// L4 checksum error or not validated (bit 14).
        const L4_CSUM_ERR = 1 << 14;
        /// IPv4 fragment (bit 15).
        const IPV4_FRAG = 1 << 15;
        /// L4 checksum was checked (bit 16).
        const L4_CSUM_CHECKED = 1 << 16;
        /// Must be zero (bit 17).
        const MBZ17 = 1 << 17;
        /// Producer phase (bit 24).
        const PHASE = 1 << 24;
        /// Second L3 checksum engine result (bit 25).
        const L3_CSUM2 = 1 << 25;
        /// First completion of a packet (bit 26).
        const FIRST = 1 << 26;
        /// Last completion of a packet (bit 27).
        const LAST = 1 << 27;
        /// 1 = buffer descriptor used, 0 = metadata (bit 30).
        const BUFFER = 1 << 30;
    }
}

/// Status bits 4:0: L3 protocol index.
pub const RX_CDESC_L3_PROTO_IDX_MASK: u32 = 0x1F;
/// Status bits 6:5: source VLAN count.
pub const RX_CDESC_SRC_VLAN_CNT_SHIFT: u32 = 5;
/// Width mask of the VLAN count (2 bits).
pub const RX_CDESC_SRC_VLAN_CNT_MASK: u32 = 0x3;
/// Status bits 12:8: L4 protocol index.
pub const RX_CDESC_L4_PROTO_IDX_SHIFT: u32 = 8;
/// Width mask of the L4 protocol index (5 bits).
pub const RX_CDESC_L4_PROTO_IDX_MASK: u32 = 0x1F;
/// All must-be-zero status bits (7 and 17), checked with CDESC_MBZ.
pub const RX_CDESC_STATUS_MBZ: RxCdescStatus = RxCdescStatus::MBZ7.union(RxCdescStatus::MBZ17);

/// ENA spec: RX completion descriptor, 16 B (ena.md §5.6).
#[derive(
    FromBytes, IntoBytes, Immutable, KnownLayout, Clone, Copy, Debug, Default, PartialEq, Eq,
)]
#[repr(C)]
pub struct RxCdesc {
    /// Protocol indices and [`RxCdescStatus`] flags.
    pub status: u32,
    /// Bytes written into this buffer.
    pub length: u16,
    /// Buffer id from the RX descriptor.
    pub req_id: u16,
    /// RSS hash.
    pub hash: u32,
    /// Sub-queue id.
    pub sub_qid: u16,
    /// Packet start offset in the first buffer.
    pub offset: u8,
    /// Reserved.
    pub reserved: u8,
}
const _: () = assert!(core::mem::size_of::<RxCdesc>() == 16);

impl RxCdesc {
    /// Build a status word from flags, protocol indices and VLAN count.
    pub const fn status_word(
        flags: RxCdescStatus,
        l3_proto: u8,
        l4_proto: u8,
        vlan_cnt: u8,
    ) -> u32 {
        flags.bits()
            | (l3_proto as u32 & RX_CDESC_L3_PROTO_IDX_MASK)
            | (vlan_cnt as u32 & RX_CDESC_SRC_VLAN_CNT_MASK) << RX_CDESC_SRC_VLAN_CNT_SHIFT
            | (l4_proto as u32 & RX_CDESC_L4_PROTO_IDX_MASK) << RX_CDESC_L4_PROTO_IDX_SHIFT
    }
    /// Device-side encoder: `status` from [`RxCdesc::status_word`].
    pub const fn new(status: u32, length: u16, req_id: u16, hash: u32, offset: u8) -> Self {
        RxCdesc {
            status,
            length,
            req_id,
            hash,
            sub_qid: 0,
            offset,
            reserved: 0,
        }
    }
    /// Status flag bits.
    pub const fn flags(&self) -> RxCdescStatus {
        RxCdescStatus::from_bits_truncate(self.status)
    }
    /// L3 protocol index (5 bits).
    pub const fn l3_proto(&self) -> u8 {
        (self.status & RX_CDESC_L3_PROTO_IDX_MASK) as u8
    }
    /// L4 protocol index (5 bits).
    pub const fn l4_proto(&self) -> u8 {
        ((self.status >> RX_CDESC_L4_PROTO_IDX_SHIFT) & RX_CDESC_L4_PROTO_IDX_MASK) as u8
    }
    /// Source VLAN count.
    pub const fn src_vlan_cnt(&self) -> u8 {
        ((self.status >> RX_CDESC_SRC_VLAN_CNT_SHIFT) & RX_CDESC_SRC_VLAN_CNT_MASK) as u8
    }
    /// True if any must-be-zero status bit is set.
    pub const fn mbz_violated(&self) -> bool {
        self.status & RX_CDESC_STATUS_MBZ.bits() != 0
    }
    /// The completion as two little-endian 64-bit words.
    pub const fn to_qwords(&self) -> [u64; 2] {
        [
            join(self.status, self.length as u32 | (self.req_id as u32) << 16),
            join(
                self.hash,
                self.sub_qid as u32 | (self.offset as u32) << 16 | (self.reserved as u32) << 24,
            ),
        ]
    }
    /// Inverse of [`RxCdesc::to_qwords`].
    #[inline]
    pub const fn from_qwords(q: [u64; 2]) -> Self {
        RxCdesc {
            status: lo32(q[0]),
            length: (q[0] >> 32) as u16,
            req_id: (q[0] >> 48) as u16,
            hash: lo32(q[1]),
            sub_qid: (q[1] >> 32) as u16,
            offset: (q[1] >> 48) as u8,
            reserved: (q[1] >> 56) as u8,
        }
    }
}

/// ENA spec: extended RX completion, 32 B (ena.md §5.6).
#[derive(
    FromBytes, IntoBytes, Immutable, KnownLayout, Clone, Copy, Debug, Default, PartialEq, Eq,
)]
#[repr(C)]
pub struct RxCdescExt {
    /// The 16-byte base completion.
    pub base: RxCdesc,
    /// Buffer address bits 31:0.
    pub buff_addr_lo: u32,
    /// Buffer address bits 47:32.
    pub buff_addr_hi: u16,
    /// Reserved.
    pub reserved: u16,
    /// Timestamp bits 31:0 (ns).
    pub timestamp_low: u32,
    /// Timestamp bits 63:32 (ns).
    pub timestamp_high: u32,
}
const _: () = assert!(core::mem::size_of::<RxCdescExt>() == 32);

impl RxCdescExt {
    /// Buffer address.
    pub const fn addr(&self) -> u64 {
        join(self.buff_addr_lo, self.buff_addr_hi as u32)
    }
    /// Timestamp in nanoseconds.
    pub const fn timestamp(&self) -> u64 {
        join(self.timestamp_low, self.timestamp_high)
    }
}
