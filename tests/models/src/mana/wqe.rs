//! Reading one work-queue entry from a ring (mana.md §4.2): the 8-byte
//! header, the inline OOB (8, 24 or 32 bytes), and the SGL at the next
//! 16-byte boundary, which may wrap at the ring end. The size rules are the
//! driver's own (`wqe_size`, the per-queue maximum), checked against the
//! bytes the doorbell made available.

use cloudnic_mana::defs::queue::{
    sgl_offset, wqe_size, Sge, WqeHeader, INLINE_OOB_EXTRA_LARGE, MAX_RQ_WQE_SIZE, MAX_SQ_WQE_SIZE,
    SGE_SIZE, WQE_HEADER_SIZE,
};
use zerocopy::FromBytes;

use super::queues::{Wq, WqKind};
use crate::mem::GuestMemory;

/// A WQE read from a ring.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct ParsedWqe {
    /// Ring byte offset of the WQE.
    pub offset: u32,
    /// Size in bytes (a multiple of 32).
    pub size: u32,
    /// Header.
    pub header: WqeHeader,
    /// Inline OOB bytes (`oob_len` valid).
    pub oob: [u8; INLINE_OOB_EXTRA_LARGE as usize],
    /// Inline OOB length.
    pub oob_len: u32,
    /// Scatter-gather list.
    pub sges: Vec<Sge>,
}

/// Why a WQE is refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum WqeFault {
    /// Guest memory refused the read.
    Dma,
    /// Malformed: no SGE, bad OOB size, too large, or past the producer offset.
    Malformed,
}

/// Read the WQE at free-running byte position `pos` of `wq`, which has
/// `avail` bytes posted from there.
pub(crate) fn read_wqe<M: GuestMemory + ?Sized>(
    mem: &M,
    wq: &Wq,
    pos: u32,
    avail: u32,
) -> Result<ParsedWqe, WqeFault> {
    let offset = wq.ring_offset(pos);
    let mut raw = [0u8; WQE_HEADER_SIZE as usize];
    wq.mem
        .read(mem, offset, &mut raw)
        .map_err(|_| WqeFault::Dma)?;
    let header = WqeHeader::read_from_bytes(&raw).map_err(|_| WqeFault::Malformed)?;
    let p = header.params();
    let oob_len = p.oob_size();
    let nsge = p.num_sge();
    let max = match wq.kind {
        WqKind::Send => MAX_SQ_WQE_SIZE,
        WqKind::Receive => MAX_RQ_WQE_SIZE,
    };
    let oob_ok = matches!(oob_len, 8 | 24) || oob_len == INLINE_OOB_EXTRA_LARGE;
    if nsge == 0 || !oob_ok {
        return Err(WqeFault::Malformed);
    }
    let size = wqe_size(oob_len, nsge);
    if size > max || size > avail {
        return Err(WqeFault::Malformed);
    }
    let mut oob = [0u8; INLINE_OOB_EXTRA_LARGE as usize];
    wq.mem
        .read(mem, offset + WQE_HEADER_SIZE, &mut oob[..oob_len as usize])
        .map_err(|_| WqeFault::Dma)?;
    let sgl = sgl_offset(oob_len);
    let mut sges = Vec::with_capacity(nsge as usize);
    let mut b = [0u8; SGE_SIZE as usize];
    for i in 0..nsge {
        // The SGL may wrap: the ring read wraps at the ring end.
        wq.mem
            .read(mem, offset.wrapping_add(sgl + SGE_SIZE * i), &mut b)
            .map_err(|_| WqeFault::Dma)?;
        sges.push(Sge::read_from_bytes(&b).map_err(|_| WqeFault::Malformed)?);
    }
    Ok(ParsedWqe {
        offset,
        size,
        header,
        oob,
        oob_len,
        sges,
    })
}
