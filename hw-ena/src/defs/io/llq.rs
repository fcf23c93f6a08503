//! LLQ negotiation enums (ena.md §3.6 "LLQ enums", §5.8): each is a bitmap
//! in GET_FEATURE (supported) and a single bit in SET_FEATURE (enabled).

use bitflags::bitflags;

bitflags! {
    /// LLQ header location bitmap (supported / enabled).
    #[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
    pub struct LlqHeaderLocation: u16 {
        /// Header bytes inline in the first entry line.
        const INLINE = 1;
        /// Separate header ring (implies 16-B list entries).
        const SEPARATE_RING = 2;
    }
}

bitflags! {
    /// LLQ entry size bitmap.
    #[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
    pub struct LlqEntrySize: u16 {
        /// 128-byte entries.
        const B128 = 1;
        /// 192-byte entries.
        const B192 = 2;
        /// 256-byte entries.
        const B256 = 4;
    }
}

impl LlqEntrySize {
    /// Entry size in bytes if exactly one size bit is set.
    pub const fn bytes(self) -> Option<u16> {
        match self.bits() {
            1 => Some(128),
            2 => Some(192),
            4 => Some(256),
            _ => None,
        }
    }
}

bitflags! {
    /// LLQ "descriptors before header" bitmap; each value equals its count
    /// (no bit set = 0 descriptors).
    #[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
    pub struct LlqDescsBeforeHeader: u16 {
        /// One descriptor before the header.
        const D1 = 1;
        /// Two descriptors before the header (Linux default).
        const D2 = 2;
        /// Four descriptors before the header.
        const D4 = 4;
        /// Eight descriptors before the header.
        const D8 = 8;
    }
}

impl LlqDescsBeforeHeader {
    /// Descriptor count if at most one bit is set (the value is the count).
    pub const fn count(self) -> Option<u16> {
        match self.bits() {
            0 | 1 | 2 | 4 | 8 => Some(self.bits()),
            _ => None,
        }
    }
}

bitflags! {
    /// LLQ descriptor stride bitmap.
    #[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
    pub struct LlqStride: u16 {
        /// One descriptor per entry.
        const SINGLE_DESC_PER_ENTRY = 1;
        /// Several descriptors per entry (Linux default).
        const MULTIPLE_DESCS_PER_ENTRY = 2;
    }
}

bitflags! {
    /// LLQ accelerated-mode flags.
    #[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
    pub struct LlqAccelFlags: u16 {
        /// Device needs a meta descriptor on every packet (bit 0).
        const DISABLE_META_CACHING = 1 << 0;
        /// Device limits the bytes pushed per doorbell (bit 1).
        const LIMIT_TX_BURST = 1 << 1;
    }
}
