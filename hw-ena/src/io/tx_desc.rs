//! Emission of one validated TX packet's descriptors (ena.md §5.2, §5.3) into
//! either destination: the host SQ ring or the LLQ line being assembled.

use cloudnic_common::nic::DmaSegment;
use cloudnic_common::ring::PhaseRing;
use cloudnic_common::{DmaRegion, RegisterBar};

use crate::defs::io::{TxDesc, TxDescCtrl, TxMetaCtrl, TxMetaDesc, TX_DESC_SIZE};
use crate::io::llq::LlqWriter;

/// Destination of a packet's descriptors: host SQ memory or an LLQ line.
/// `reserve` makes room for one descriptor (LLQ: flushes a full line) and
/// returns the phase it must carry; `put` writes it.
pub(crate) trait DescSink {
    fn reserve(&mut self) -> bool;
    fn put(&mut self, q: [u64; 2]);
}

pub(crate) struct HostSink<'a, D: DmaRegion> {
    pub sq: &'a D,
    pub pos: &'a mut PhaseRing,
}

impl<D: DmaRegion> DescSink for HostSink<'_, D> {
    #[inline(always)]
    fn reserve(&mut self) -> bool {
        self.pos.phase()
    }
    #[inline(always)]
    fn put(&mut self, q: [u64; 2]) {
        let off = usize::from(self.pos.index()) * TX_DESC_SIZE;
        self.sq.write64_pair(off, q);
        self.pos.advance(1);
    }
}

impl<R: RegisterBar> DescSink for LlqWriter<'_, R> {
    #[inline(always)]
    fn reserve(&mut self) -> bool {
        self.reserve_slot()
    }
    #[inline(always)]
    fn put(&mut self, q: [u64; 2]) {
        self.put_desc(q)
    }
}

/// Everything needed to emit one validated packet.
pub(crate) struct PacketDescs<'a> {
    pub segs: &'a [DmaSegment],
    pub skip: u32,
    pub req_id: u16,
    pub offload: u32,
    pub header_len: u8,
    pub meta: Option<TxMetaDesc>,
}

impl PacketDescs<'_> {
    /// Meta (FIRST) if any, then data descriptors: the first carries req_id,
    /// offload bits, header length and COMP_REQ (FIRST without meta); later
    /// ones only address, length and phase; the last carries LAST (ena.md
    /// §5.2, §5.3). Segments are skipped over the first `skip` (pushed) bytes.
    #[inline(always)]
    pub(crate) fn emit(&self, sink: &mut impl DescSink) {
        let mut ctrl = TxDescCtrl::COMP_REQ;
        if let Some(mut m) = self.meta {
            if sink.reserve() {
                m.len_ctrl |= TxMetaCtrl::PHASE.bits();
            }
            sink.put(m.to_qwords());
        } else {
            ctrl |= TxDescCtrl::FIRST;
        }
        let (mut i, mut off) = (0usize, self.skip);
        while let Some(s) = self.segs.get(i) {
            if off < s.len {
                break;
            }
            off -= s.len;
            i += 1;
        }
        let Some(first) = self.segs.get(i) else {
            // Whole packet pushed inline (LLQ): one descriptor of length 0.
            let c = phased(ctrl | TxDescCtrl::LAST, sink.reserve());
            sink.put(TxDesc::data(0, self.req_id, 0, c, self.offload, self.header_len).to_qwords());
            return;
        };
        let rest = self.segs.get(i + 1..).unwrap_or(&[]);
        if rest.is_empty() {
            ctrl |= TxDescCtrl::LAST;
        }
        // off < first.len ≤ 65535, so the remaining length fits in u16.
        let (addr, len) = (
            first.addr.wrapping_add(u64::from(off)),
            (first.len - off) as u16,
        );
        let c = phased(ctrl, sink.reserve());
        sink.put(
            TxDesc::data(len, self.req_id, addr, c, self.offload, self.header_len).to_qwords(),
        );
        let n = rest.len();
        for (k, s) in rest.iter().enumerate() {
            let c = if k + 1 == n {
                TxDescCtrl::LAST
            } else {
                TxDescCtrl::empty()
            };
            let c = phased(c, sink.reserve());
            sink.put(TxDesc::data(s.len as u16, 0, s.addr, c, 0, 0).to_qwords());
        }
    }
}

#[inline(always)]
fn phased(c: TxDescCtrl, phase: bool) -> TxDescCtrl {
    if phase {
        c | TxDescCtrl::PHASE
    } else {
        c
    }
}
