//! Low-Latency Queue ("push mode") geometry and entry assembly (ena.md §5.8).
//!
//! With LLQ the TX submission ring lives in device memory (BAR 2, mapped
//! write-combining). The driver assembles each ring line ("entry") in a host
//! bounce buffer — descriptors first, then, in the packet's first line only,
//! the inline header bytes — and copies the whole line with 64-bit stores.
//! The SQ tail then counts lines, not descriptors.

use zerocopy::IntoBytes;

use cloudnic_common::ring::PhaseRing;
use cloudnic_common::{Error, RegisterBar};

use crate::defs::io::{
    LlqAccelFlags, LlqDescsBeforeHeader, LlqEntrySize, LlqHeaderLocation, LlqStride, TX_DESC_SIZE,
};

/// Largest LLQ entry (256 B, ena.md §3.6 LLQ enums) in 64-bit words.
pub const LLQ_MAX_ENTRY_QWORDS: usize = 256 / 8;
/// The descriptor header-length field is 8 bits wide, which caps the pushed
/// header regardless of the entry size (ena.md §5.8 "tx_max_header_size").
pub const LLQ_MAX_PUSH_HEADER: u16 = 255;
const DESC_QWORDS: usize = TX_DESC_SIZE / 8;

/// LLQ parameters after negotiation (the values sent in SET_FEATURE LLQ).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LlqConfig {
    /// Entry (line) size in bytes: 128, 192 or 256.
    pub entry_size: u16,
    /// Descriptor slots in the first line before the inline header.
    pub descs_before_header: u16,
    /// Descriptor slots in every later line (entry / 16, or 1 for single stride).
    pub descs_per_entry: u16,
    /// Bytes of header the first line can carry (entry − before × 16, ≤ 255).
    pub max_header_size: u16,
    /// Lines that may be written between two doorbells; 0 = no limit.
    pub burst_entries: u16,
    /// The device wants a meta descriptor on every packet.
    pub disable_meta_caching: bool,
}

impl LlqConfig {
    /// Derive the ring geometry from the negotiated (single-bit) enum values
    /// and the enabled accel flags. Only the inline header location is
    /// supported (Linux uses nothing else); `max_tx_burst_bytes` matters only
    /// with [`LlqAccelFlags::LIMIT_TX_BURST`].
    pub fn new(
        header: LlqHeaderLocation,
        entry: LlqEntrySize,
        before: LlqDescsBeforeHeader,
        stride: LlqStride,
        accel: LlqAccelFlags,
        max_tx_burst_bytes: u16,
    ) -> Result<Self, Error> {
        if header != LlqHeaderLocation::INLINE {
            return Err(Error::Unsupported);
        }
        let entry_size = entry.bytes().ok_or(Error::Unsupported)?;
        // 0 descriptors before the header would put descriptors on top of the
        // header bytes; no negotiation fallback ever picks it (ena.md §5.8).
        let descs_before_header = match before.count() {
            Some(n) if n > 0 => n,
            _ => return Err(Error::Unsupported),
        };
        let desc_bytes = descs_before_header.saturating_mul(TX_DESC_SIZE as u16);
        if desc_bytes > entry_size {
            return Err(Error::Unsupported);
        }
        let descs_per_entry = if stride == LlqStride::MULTIPLE_DESCS_PER_ENTRY {
            entry_size / TX_DESC_SIZE as u16
        } else if stride == LlqStride::SINGLE_DESC_PER_ENTRY {
            1
        } else {
            return Err(Error::Unsupported);
        };
        let burst_entries = if accel.contains(LlqAccelFlags::LIMIT_TX_BURST) {
            match max_tx_burst_bytes / entry_size {
                0 => return Err(Error::IncompatibleDevice),
                n => n,
            }
        } else {
            0
        };
        Ok(LlqConfig {
            entry_size,
            descs_before_header,
            descs_per_entry,
            max_header_size: (entry_size - desc_bytes).min(LLQ_MAX_PUSH_HEADER),
            burst_entries,
            disable_meta_caching: accel.contains(LlqAccelFlags::DISABLE_META_CACHING),
        })
    }

    /// Lines a packet of `descs` descriptors (meta included) occupies:
    /// 1 + ceil((descs − before) / per_entry) (ena.md §5.8, TX burst limit).
    #[inline]
    pub fn entries_for(&self, descs: u16) -> u16 {
        let rest = descs.saturating_sub(self.descs_before_header);
        let per = self.descs_per_entry.max(1);
        1 + rest.div_ceil(per)
    }

    /// Byte offset of the inline header in the first line.
    #[inline]
    pub fn header_offset(&self) -> usize {
        self.descs_before_header as usize * TX_DESC_SIZE
    }

    /// Entry size in 64-bit words.
    #[inline]
    pub fn entry_qwords(&self) -> usize {
        self.entry_size as usize / 8
    }
}

/// Assembles LLQ lines for one packet and copies each full line to BAR 2.
///
/// The caller places descriptors one by one with [`LlqWriter::push_desc`];
/// lines are flushed as they fill and by [`LlqWriter::finish`]. The writer
/// advances the SQ position it borrows by one per line written.
pub struct LlqWriter<'a, R: RegisterBar> {
    cfg: &'a LlqConfig,
    bar2: &'a R,
    bounce: &'a mut [u64; LLQ_MAX_ENTRY_QWORDS],
    base: u32,
    sq: &'a mut PhaseRing,
    slot: u16,
    slots_in_line: u16,
    lines: u16,
}

impl<'a, R: RegisterBar> LlqWriter<'a, R> {
    /// Start a packet at the SQ position `sq`: clear the bounce buffer and
    /// place `header` (≤ `cfg.max_header_size` bytes, longer input is cut)
    /// after the first line's descriptor slots. `base` is
    /// `llq_descriptors_offset` in BAR 2.
    pub fn start(
        cfg: &'a LlqConfig,
        bar2: &'a R,
        bounce: &'a mut [u64; LLQ_MAX_ENTRY_QWORDS],
        base: u32,
        sq: &'a mut PhaseRing,
        header: &[u8],
    ) -> Self {
        let qw = cfg.entry_qwords().min(LLQ_MAX_ENTRY_QWORDS);
        let line = bounce.get_mut(..qw).unwrap_or(&mut []);
        line.fill(0);
        let off = cfg.header_offset();
        let n = header.len().min(cfg.max_header_size as usize);
        if let (Some(dst), Some(src)) = (line.as_mut_bytes().get_mut(off..off + n), header.get(..n))
        {
            dst.copy_from_slice(src);
        }
        LlqWriter {
            cfg,
            bar2,
            bounce,
            base,
            sq,
            slot: 0,
            slots_in_line: cfg.descs_before_header,
            lines: 0,
        }
    }

    /// Phase of the line currently being filled (flips each time the tail wraps).
    #[inline]
    pub fn phase(&self) -> bool {
        self.sq.phase()
    }

    /// Make room for one 16-byte descriptor (flushing the current line if
    /// it is full) and return the phase of the line it lands in.
    #[inline(always)]
    pub fn reserve_slot(&mut self) -> bool {
        if self.slot >= self.slots_in_line {
            self.flush();
            let qw = self.cfg.entry_qwords().min(LLQ_MAX_ENTRY_QWORDS);
            self.bounce.get_mut(..qw).unwrap_or(&mut []).fill(0);
            self.slot = 0;
            self.slots_in_line = self.cfg.descs_per_entry;
        }
        self.sq.phase()
    }

    /// Store the descriptor for the slot obtained from [`LlqWriter::reserve_slot`].
    #[inline(always)]
    pub fn put_desc(&mut self, q: [u64; 2]) {
        let at = usize::from(self.slot) * DESC_QWORDS;
        if let Some(dst) = self.bounce.get_mut(at..at + DESC_QWORDS) {
            dst.copy_from_slice(&q);
        }
        self.slot += 1;
    }

    fn flush(&mut self) {
        let qw = self.cfg.entry_qwords().min(LLQ_MAX_ENTRY_QWORDS);
        // index < depth ≤ 32768 and entry ≤ 256: the product fits in u32.
        let line_off = u32::from(self.sq.index()) * u32::from(self.cfg.entry_size);
        self.bar2.write64_block(
            self.base.wrapping_add(line_off),
            self.bounce.get(..qw).unwrap_or(&[]),
        );
        self.sq.advance(1);
        self.lines = self.lines.wrapping_add(1);
    }

    /// Flush the last line; returns the number of lines written.
    pub fn finish(mut self) -> u16 {
        self.flush();
        self.lines
    }
}
