//! TX data descriptor, TX meta descriptor and TX completion (ena.md §5.2–§5.4).

use bitflags::bitflags;
use zerocopy_derive::{FromBytes, Immutable, IntoBytes, KnownLayout};

use super::{hi32, join, lo32, DESC_ADDR_HI_MASK};

/// TX descriptor size in bytes.
pub const TX_DESC_SIZE: usize = 16;

bitflags! {
    /// Flag bits of TX descriptor word 0 (`len_ctrl`), shared by data and meta
    /// descriptors (ena.md §5.2, §5.3).
    #[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
    pub struct TxDescCtrl: u32 {
        /// 1 = meta descriptor, 0 = data descriptor (bit 23).
        const META_DESC = 1 << 23;
        /// Producer phase (bit 24).
        const PHASE = 1 << 24;
        /// First descriptor of the packet (bit 26).
        const FIRST = 1 << 26;
        /// Last descriptor of the packet (bit 27).
        const LAST = 1 << 27;
        /// Completion requested (bit 28; meaningful on the first data descriptor).
        const COMP_REQ = 1 << 28;
    }
}

bitflags! {
    /// Flag bits of TX data descriptor word 1 (`meta_ctrl`) (ena.md §5.2).
    #[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
    pub struct TxDescMetaCtrl: u32 {
        /// Mirror of the IPv4 DF bit (bit 4).
        const DF = 1 << 4;
        /// TCP segmentation (bit 7).
        const TSO_EN = 1 << 7;
        /// Fill the IPv4 header checksum (bit 13).
        const L3_CSUM_EN = 1 << 13;
        /// Fill the L4 checksum (bit 14).
        const L4_CSUM_EN = 1 << 14;
        /// Do not append the Ethernet FCS (bit 15).
        const ETHERNET_FCS_DIS = 1 << 15;
        /// L4 checksum field already holds the pseudo-header sum (bit 17).
        const L4_CSUM_PARTIAL = 1 << 17;
    }
}

/// Word 0 bits 15:0: buffer length.
pub const TX_DESC_LENGTH_MASK: u32 = 0xFFFF;
/// Word 0 bits 21:16: req_id bits 15:10.
pub const TX_DESC_REQ_ID_HI_SHIFT: u32 = 16;
/// Width mask of the req_id-high field (6 bits).
pub const TX_DESC_REQ_ID_HI_MASK: u32 = 0x3F;
/// Number of req_id bits carried in word 1 (bits 9:0).
pub const TX_DESC_REQ_ID_LO_BITS: u32 = 10;
/// Word 1 bits 31:22: req_id bits 9:0.
pub const TX_DESC_REQ_ID_LO_SHIFT: u32 = 22;
/// Width mask of the req_id-low field (10 bits).
pub const TX_DESC_REQ_ID_LO_MASK: u32 = 0x3FF;
/// Word 1 bits 3:0: L3 protocol index (TX field is only 4 bits wide).
pub const TX_DESC_L3_PROTO_IDX_MASK: u32 = 0xF;
/// Word 1 bits 12:8: L4 protocol index.
pub const TX_DESC_L4_PROTO_IDX_SHIFT: u32 = 8;
/// Width mask of the L4 protocol index (5 bits).
pub const TX_DESC_L4_PROTO_IDX_MASK: u32 = 0x1F;
/// Word 3 bits 31:24: header length.
pub const TX_DESC_HEADER_LENGTH_SHIFT: u32 = 24;
/// Word 0 reserved bits (22, 25, 31:29) of a data descriptor.
pub const TX_DESC_LEN_CTRL_RESERVED: u32 = (1 << 22) | (1 << 25) | (0x7 << 29);

/// ENA spec: TX data descriptor, 16 B (ena.md §5.2).
#[derive(
    FromBytes, IntoBytes, Immutable, KnownLayout, Clone, Copy, Debug, Default, PartialEq, Eq,
)]
#[repr(C)]
pub struct TxDesc {
    /// Length, req_id high bits, phase, first/last/comp_req.
    pub len_ctrl: u32,
    /// Offload control, protocol indices, req_id low bits.
    pub meta_ctrl: u32,
    /// Buffer address bits 31:0.
    pub buff_addr_lo: u32,
    /// Buffer address bits 47:32 and the header length (bits 31:24).
    pub buff_addr_hi_hdr_sz: u32,
}
const _: () = assert!(core::mem::size_of::<TxDesc>() == TX_DESC_SIZE);

/// Build the offload part of a data descriptor's `meta_ctrl` word (protocol
/// indices and flag bits; the req_id is added by [`TxDesc::data`]).
pub const fn tx_offload_ctrl(l3_proto: u8, l4_proto: u8, flags: TxDescMetaCtrl) -> u32 {
    (l3_proto as u32 & TX_DESC_L3_PROTO_IDX_MASK)
        | (l4_proto as u32 & TX_DESC_L4_PROTO_IDX_MASK) << TX_DESC_L4_PROTO_IDX_SHIFT
        | flags.bits()
}

impl TxDesc {
    /// Encode a data descriptor. `ctrl` carries phase/first/last/comp_req,
    /// `offload` comes from [`tx_offload_ctrl`]. Address bits above 47 are dropped.
    #[inline]
    pub const fn data(
        len: u16,
        req_id: u16,
        addr: u64,
        ctrl: TxDescCtrl,
        offload: u32,
        header_len: u8,
    ) -> Self {
        let rid = req_id as u32;
        TxDesc {
            len_ctrl: len as u32
                | ((rid >> TX_DESC_REQ_ID_LO_BITS) & TX_DESC_REQ_ID_HI_MASK)
                    << TX_DESC_REQ_ID_HI_SHIFT
                | (ctrl.bits() & !TxDescCtrl::META_DESC.bits()),
            meta_ctrl: (offload & !(TX_DESC_REQ_ID_LO_MASK << TX_DESC_REQ_ID_LO_SHIFT))
                | (rid & TX_DESC_REQ_ID_LO_MASK) << TX_DESC_REQ_ID_LO_SHIFT,
            buff_addr_lo: lo32(addr),
            buff_addr_hi_hdr_sz: (hi32(addr) & DESC_ADDR_HI_MASK)
                | (header_len as u32) << TX_DESC_HEADER_LENGTH_SHIFT,
        }
    }
    /// Buffer length in bytes.
    pub const fn length(&self) -> u16 {
        (self.len_ctrl & TX_DESC_LENGTH_MASK) as u16
    }
    /// Request id (bits 15:10 from word 0, 9:0 from word 1).
    pub const fn req_id(&self) -> u16 {
        let hi = (self.len_ctrl >> TX_DESC_REQ_ID_HI_SHIFT) & TX_DESC_REQ_ID_HI_MASK;
        let lo = (self.meta_ctrl >> TX_DESC_REQ_ID_LO_SHIFT) & TX_DESC_REQ_ID_LO_MASK;
        (hi << TX_DESC_REQ_ID_LO_BITS | lo) as u16
    }
    /// Control flags of word 0 (meta_desc, phase, first, last, comp_req).
    pub const fn ctrl(&self) -> TxDescCtrl {
        TxDescCtrl::from_bits_truncate(self.len_ctrl)
    }
    /// True if this slot holds a meta descriptor (decode it with [`TxMetaDesc`]).
    pub const fn is_meta(&self) -> bool {
        self.len_ctrl & TxDescCtrl::META_DESC.bits() != 0
    }
    /// Offload flag bits of word 1.
    pub const fn offload_flags(&self) -> TxDescMetaCtrl {
        TxDescMetaCtrl::from_bits_truncate(self.meta_ctrl)
    }
    /// L3 protocol index.
    pub const fn l3_proto(&self) -> u8 {
        (self.meta_ctrl & TX_DESC_L3_PROTO_IDX_MASK) as u8
    }
    /// L4 protocol index.
    pub const fn l4_proto(&self) -> u8 {
        ((self.meta_ctrl >> TX_DESC_L4_PROTO_IDX_SHIFT) & TX_DESC_L4_PROTO_IDX_MASK) as u8
    }
    /// 48-bit buffer address.
    pub const fn addr(&self) -> u64 {
        join(
            self.buff_addr_lo,
            self.buff_addr_hi_hdr_sz & DESC_ADDR_HI_MASK,
        )
    }
    /// Header length (LLQ: bytes pushed inline; host: L4 header end or 0).
    pub const fn header_len(&self) -> u8 {
        (self.buff_addr_hi_hdr_sz >> TX_DESC_HEADER_LENGTH_SHIFT) as u8
    }
    /// The descriptor as two little-endian 64-bit words (ring write order).
    #[inline]
    pub const fn to_qwords(&self) -> [u64; 2] {
        [
            join(self.len_ctrl, self.meta_ctrl),
            join(self.buff_addr_lo, self.buff_addr_hi_hdr_sz),
        ]
    }
    /// Inverse of [`TxDesc::to_qwords`].
    pub const fn from_qwords(q: [u64; 2]) -> Self {
        TxDesc {
            len_ctrl: lo32(q[0]),
            meta_ctrl: hi32(q[0]),
            buff_addr_lo: lo32(q[1]),
            buff_addr_hi_hdr_sz: hi32(q[1]),
        }
    }
}

// ---------------------------------------------------------------------------
// TX meta descriptor (ena.md §5.3)
// ---------------------------------------------------------------------------

bitflags! {
    /// Flag bits of TX meta descriptor word 0 (ena.md §5.3).
    #[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
    pub struct TxMetaCtrl: u32 {
        /// Word 2 offsets and the MSS high bits are valid (bit 14).
        const EXT_VALID = 1 << 14;
        /// Meta type: 1 = extended (bit 20).
        const META_TYPE_EXT = 1 << 20;
        /// Cache this metadata in the queue (bit 21).
        const META_STORE = 1 << 21;
        /// Always 1 on a meta descriptor (bit 23).
        const META_DESC = 1 << 23;
        /// Producer phase (bit 24).
        const PHASE = 1 << 24;
        /// First descriptor of the packet (bit 26).
        const FIRST = 1 << 26;
        /// Last descriptor (bit 27; never set by Linux on a meta).
        const LAST = 1 << 27;
        /// Completion requested (bit 28; never set by Linux on a meta).
        const COMP_REQ = 1 << 28;
    }
}

/// Word 0 bits 19:16: MSS bits 13:10.
pub const TX_META_MSS_HI_SHIFT: u32 = 16;
/// Width mask of the MSS-high field (4 bits).
pub const TX_META_MSS_HI_MASK: u32 = 0xF;
/// Number of MSS bits carried in word 2 (bits 9:0).
pub const TX_META_MSS_LO_BITS: u32 = 10;
/// Word 2 bits 31:22: MSS bits 9:0.
pub const TX_META_MSS_LO_SHIFT: u32 = 22;
/// Width mask of the MSS-low field (10 bits).
pub const TX_META_MSS_LO_MASK: u32 = 0x3FF;
/// Word 2 bits 7:0: L3 header length.
pub const TX_META_L3_HDR_LEN_MASK: u32 = 0xFF;
/// Word 2 bits 15:8: L3 header offset.
pub const TX_META_L3_HDR_OFF_SHIFT: u32 = 8;
/// Width mask of the L3 header offset (8 bits).
pub const TX_META_L3_HDR_OFF_MASK: u32 = 0xFF;
/// Word 2 bits 21:16: L4 header length in 32-bit words.
pub const TX_META_L4_HDR_LEN_SHIFT: u32 = 16;
/// Width mask of the L4 header length (6 bits).
pub const TX_META_L4_HDR_LEN_MASK: u32 = 0x3F;
/// Largest MSS the meta descriptor can carry (14 bits).
pub const TX_META_MSS_MAX: u16 = 0x3FFF;

/// The per-packet metadata a meta descriptor carries; the queue caches the
/// last one sent (meta caching, ena.md §5.3), so this is `PartialEq`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TxMeta {
    /// TCP MSS for TSO (14 bits), else 0.
    pub mss: u16,
    /// L3 header length in bytes.
    pub l3_hdr_len: u8,
    /// L3 header offset (L2 header length) in bytes.
    pub l3_hdr_offset: u8,
    /// L4 header length in 32-bit words (6 bits).
    pub l4_hdr_len_words: u8,
}

/// ENA spec: TX meta descriptor, 16 B (ena.md §5.3).
#[derive(
    FromBytes, IntoBytes, Immutable, KnownLayout, Clone, Copy, Debug, Default, PartialEq, Eq,
)]
#[repr(C)]
pub struct TxMetaDesc {
    /// Flags and MSS bits 13:10.
    pub len_ctrl: u32,
    /// Reserved.
    pub word1: u32,
    /// L3 length/offset, L4 length, MSS bits 9:0.
    pub word2: u32,
    /// Reserved.
    pub word3: u32,
}
const _: () = assert!(core::mem::size_of::<TxMetaDesc>() == TX_DESC_SIZE);

impl TxMetaDesc {
    /// Encode a meta descriptor the way Linux does: meta_desc, ext_valid,
    /// extended type, meta_store and first set, plus the phase; never last
    /// or comp_req (ena.md §5.3).
    #[inline]
    pub const fn new(meta: &TxMeta, phase: bool) -> Self {
        let mss = meta.mss as u32;
        let mut ctrl = TxMetaCtrl::META_DESC.bits()
            | TxMetaCtrl::EXT_VALID.bits()
            | TxMetaCtrl::META_TYPE_EXT.bits()
            | TxMetaCtrl::META_STORE.bits()
            | TxMetaCtrl::FIRST.bits();
        if phase {
            ctrl |= TxMetaCtrl::PHASE.bits();
        }
        TxMetaDesc {
            len_ctrl: ctrl
                | ((mss >> TX_META_MSS_LO_BITS) & TX_META_MSS_HI_MASK) << TX_META_MSS_HI_SHIFT,
            word1: 0,
            word2: meta.l3_hdr_len as u32
                | (meta.l3_hdr_offset as u32) << TX_META_L3_HDR_OFF_SHIFT
                | (meta.l4_hdr_len_words as u32 & TX_META_L4_HDR_LEN_MASK)
                    << TX_META_L4_HDR_LEN_SHIFT
                | (mss & TX_META_MSS_LO_MASK) << TX_META_MSS_LO_SHIFT,
            word3: 0,
        }
    }
    /// Control flags of word 0.
    pub const fn ctrl(&self) -> TxMetaCtrl {
        TxMetaCtrl::from_bits_truncate(self.len_ctrl)
    }
    /// The metadata carried (MSS, L3 length/offset, L4 length in words).
    pub const fn meta(&self) -> TxMeta {
        let hi = (self.len_ctrl >> TX_META_MSS_HI_SHIFT) & TX_META_MSS_HI_MASK;
        let lo = (self.word2 >> TX_META_MSS_LO_SHIFT) & TX_META_MSS_LO_MASK;
        TxMeta {
            mss: (hi << TX_META_MSS_LO_BITS | lo) as u16,
            l3_hdr_len: (self.word2 & TX_META_L3_HDR_LEN_MASK) as u8,
            l3_hdr_offset: ((self.word2 >> TX_META_L3_HDR_OFF_SHIFT) & TX_META_L3_HDR_OFF_MASK)
                as u8,
            l4_hdr_len_words: ((self.word2 >> TX_META_L4_HDR_LEN_SHIFT) & TX_META_L4_HDR_LEN_MASK)
                as u8,
        }
    }
    /// The descriptor as two little-endian 64-bit words.
    #[inline]
    pub const fn to_qwords(&self) -> [u64; 2] {
        [
            join(self.len_ctrl, self.word1),
            join(self.word2, self.word3),
        ]
    }
    /// Inverse of [`TxMetaDesc::to_qwords`].
    pub const fn from_qwords(q: [u64; 2]) -> Self {
        TxMetaDesc {
            len_ctrl: lo32(q[0]),
            word1: hi32(q[0]),
            word2: lo32(q[1]),
            word3: hi32(q[1]),
        }
    }
}

// ---------------------------------------------------------------------------
// TX completion (ena.md §5.4)
// ---------------------------------------------------------------------------

/// TX completion entry size in 4-byte words as sent in CREATE_CQ: 8 B.
pub const TX_CDESC_WORDS: u8 = 2;
/// TX extended (timestamp) completion entry size in words: 16 B.
pub const TX_CDESC_EXT_WORDS: u8 = 4;
/// TX completion flags bit 0: phase.
pub const TX_CDESC_FLAG_PHASE: u8 = 1 << 0;
/// TX completion flags bits 7:6: must be zero (checked with CDESC_MBZ).
pub const TX_CDESC_FLAG_MBZ_MASK: u8 = 0xC0;
/// Byte offset of the flags byte; in the first 32-bit word it sits at bit 24.
pub const TX_CDESC_FLAGS_BYTE: usize = 3;
/// Phase bit within the first little-endian 32-bit word of a TX completion.
pub const TX_CDESC_W0_PHASE: u32 = (TX_CDESC_FLAG_PHASE as u32) << (TX_CDESC_FLAGS_BYTE * 8);
/// MBZ bits within the first little-endian 32-bit word of a TX completion.
pub const TX_CDESC_W0_MBZ: u32 = (TX_CDESC_FLAG_MBZ_MASK as u32) << (TX_CDESC_FLAGS_BYTE * 8);

/// ENA spec: TX completion descriptor, 8 B (ena.md §5.4).
#[derive(
    FromBytes, IntoBytes, Immutable, KnownLayout, Clone, Copy, Debug, Default, PartialEq, Eq,
)]
#[repr(C)]
pub struct TxCdesc {
    /// Request id of the completed packet.
    pub req_id: u16,
    /// Status (no values published).
    pub status: u8,
    /// Bit 0 phase; bits 7:6 MBZ.
    pub flags: u8,
    /// Sub-queue id (unused by drivers).
    pub sub_qid: u16,
    /// SQ head index (unused by drivers).
    pub sq_head_idx: u16,
}
const _: () = assert!(core::mem::size_of::<TxCdesc>() == 8);

impl TxCdesc {
    /// Device-side encoder: a completion for `req_id` written with `phase`.
    pub const fn new(req_id: u16, phase: bool, sq_head_idx: u16) -> Self {
        TxCdesc {
            req_id,
            status: 0,
            flags: if phase { TX_CDESC_FLAG_PHASE } else { 0 },
            sub_qid: 0,
            sq_head_idx,
        }
    }
    /// Phase bit.
    pub const fn phase(&self) -> bool {
        self.flags & TX_CDESC_FLAG_PHASE != 0
    }
    /// True if any must-be-zero bit is set.
    pub const fn mbz_violated(&self) -> bool {
        self.flags & TX_CDESC_FLAG_MBZ_MASK != 0
    }
    /// As one little-endian 64-bit word (how the ring reads it).
    pub const fn to_qword(&self) -> u64 {
        self.req_id as u64
            | (self.status as u64) << 16
            | (self.flags as u64) << 24
            | (self.sub_qid as u64) << 32
            | (self.sq_head_idx as u64) << 48
    }
    /// Inverse of [`TxCdesc::to_qword`].
    pub const fn from_qword(q: u64) -> Self {
        TxCdesc {
            req_id: q as u16,
            status: (q >> 16) as u8,
            flags: (q >> 24) as u8,
            sub_qid: (q >> 32) as u16,
            sq_head_idx: (q >> 48) as u16,
        }
    }
}

/// ENA spec: extended TX completion with a timestamp, 16 B (ena.md §5.4).
#[derive(
    FromBytes, IntoBytes, Immutable, KnownLayout, Clone, Copy, Debug, Default, PartialEq, Eq,
)]
#[repr(C)]
pub struct TxCdescExt {
    /// The 8-byte base completion.
    pub base: TxCdesc,
    /// Timestamp bits 31:0 (ns).
    pub timestamp_low: u32,
    /// Timestamp bits 63:32 (ns).
    pub timestamp_high: u32,
}
const _: () = assert!(core::mem::size_of::<TxCdescExt>() == 16);

impl TxCdescExt {
    /// Timestamp in nanoseconds.
    pub const fn timestamp(&self) -> u64 {
        join(self.timestamp_low, self.timestamp_high)
    }
}
