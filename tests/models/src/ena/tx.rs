//! TX processing on the SQ doorbell (ena.md §5.2–§5.4, §5.8): walk packets
//! from the device head to the free-running tail (host ring in guest memory
//! or LLQ lines in BAR2), apply meta caching, gather the frame (LLQ inline
//! header + buffers), do checksum offload and TSO on the bytes, put frames
//! on the wire and write one completion per packet with the CQ phase.

use cloudnic_ena::defs::admin::TxOffloadBits;
use cloudnic_ena::defs::io::{
    TxCdesc, TxCdescExt, TxDesc, TxDescCtrl, TxDescMetaCtrl, TxMeta, TxMetaDesc, L3_PROTO_IPV4,
    L3_PROTO_IPV6, L4_PROTO_TCP, L4_PROTO_UDP, TX_CDESC_FLAG_MBZ_MASK, TX_DESC_SIZE,
};
use zerocopy::IntoBytes;

use super::queues::Placement;
use super::EnaModel;
use crate::ledger::BufKind;
use crate::mem::GuestMemory;
use crate::net::offload::{
    fill_ipv4_header_csum, fill_l4_csum, fill_l4_csum_from_partial, tso_segment,
};
use crate::net::parse::{parse, Parsed, ETH_HLEN, IPPROTO_TCP, VLAN_HLEN};

/// Phase the driver writes into ring entry `idx` of a ring of `depth`
/// (1 on the first lap, flipping at every wrap, ena.md §5.1).
pub(crate) fn phase_of(idx: u16, depth: u16) -> bool {
    (u32::from(idx) / u32::from(depth.max(1))) & 1 == 0
}

/// One packet's descriptors as read from the ring.
#[derive(Debug, Default)]
pub(crate) struct TxWalk {
    meta: Option<TxMetaDesc>,
    descs: Vec<TxDesc>,
    inline: Vec<u8>,
    /// Ring entries (descriptors or LLQ lines) the packet used.
    entries: u16,
}

/// Why a walk stopped without a packet.
enum WalkEnd {
    /// Nothing more before the tail (or the entry is not written yet).
    Stop,
}

impl<M: GuestMemory + ?Sized> EnaModel<M> {
    /// TX SQ doorbell: process every complete packet up to `tail`.
    pub(crate) fn tx_doorbell(&mut self, sq_idx: u16, tail: u16) {
        self.counters.tx_doorbells += 1;
        let Some(sq) = self.io.sq_mut(sq_idx) else {
            return;
        };
        if let Placement::Llq { geo, .. } = sq.placement {
            if geo.burst_entries != 0 && tail.wrapping_sub(sq.tail) > geo.burst_entries {
                self.counters.llq_burst_exceeded += 1;
            }
        }
        sq.tail = tail;
        let cq = sq.cq;
        let mut walk = std::mem::take(&mut self.io.tx_walk);
        let mut completed = false;
        while let Some(sq) = self.io.sq(sq_idx) {
            let outstanding = sq.tail.wrapping_sub(sq.head);
            if outstanding == 0 {
                break;
            }
            if outstanding > sq.depth {
                self.counters.tx_desc_errors += 1;
                break;
            }
            if self.tx_walk(sq_idx, &mut walk).is_err() {
                break;
            }
            completed |= self.tx_packet(sq_idx, &walk);
        }
        self.io.tx_walk = walk;
        if completed {
            self.signal_cq(cq);
        }
    }

    /// Read one packet's descriptors starting at the SQ head; on success
    /// the head moves past it.
    fn tx_walk(&mut self, sq_idx: u16, w: &mut TxWalk) -> Result<(), WalkEnd> {
        w.meta = None;
        w.descs.clear();
        w.inline.clear();
        let strict = !self.cfg.zero_latency;
        let max_descs = usize::from(self.cfg.max_tx_descs).max(1);
        let Some(sq) = self.io.sq(sq_idx) else {
            return Err(WalkEnd::Stop);
        };
        let (placement, head, tail, depth) = (sq.placement, sq.head, sq.tail, sq.depth);
        let mask = depth.wrapping_sub(1);
        let mut idx = head;
        let mut slot = 0u16;
        let mut slots_in_line = 0u16;
        let mut raw = [0u8; TX_DESC_SIZE];
        if let Placement::Llq { offset, geo } = placement {
            slots_in_line = geo.descs_before_header;
            let line = offset as usize + usize::from(head & mask) * usize::from(geo.entry_size);
            let hdr = line + usize::from(geo.descs_before_header) * TX_DESC_SIZE;
            self.io
                .bar2
                .append(hdr, line + usize::from(geo.entry_size), &mut w.inline);
        }
        loop {
            // Fetch the next descriptor (host: one per entry; LLQ: slots in lines).
            let phase = match placement {
                Placement::Host(base) => {
                    if idx == tail {
                        return self.tx_walk_fail(strict);
                    }
                    let addr = base + u64::from(idx & mask) * TX_DESC_SIZE as u64;
                    if self.mem.read(addr, &mut raw).is_err() {
                        self.counters.dma_faults += 1;
                        return self.tx_walk_fail(true);
                    }
                    let phase = phase_of(idx, depth);
                    idx = idx.wrapping_add(1);
                    phase
                }
                Placement::Llq { offset, geo } => {
                    if slot == slots_in_line {
                        idx = idx.wrapping_add(1);
                        slot = 0;
                        slots_in_line = geo.descs_per_entry;
                        if idx == tail {
                            return self.tx_walk_fail(strict);
                        }
                    }
                    let at = offset as usize
                        + usize::from(idx & mask) * usize::from(geo.entry_size)
                        + usize::from(slot) * TX_DESC_SIZE;
                    if !self.io.bar2.read(at, &mut raw) {
                        return self.tx_walk_fail(true);
                    }
                    slot += 1;
                    phase_of(idx, depth)
                }
            };
            let q = [
                u64::from_le_bytes(raw[..8].try_into().unwrap_or_default()),
                u64::from_le_bytes(raw[8..].try_into().unwrap_or_default()),
            ];
            let d = TxDesc::from_qwords(q);
            if d.ctrl().contains(TxDescCtrl::PHASE) != phase {
                // Not written yet (stale phase): the driver rang too early.
                return self.tx_walk_fail(true);
            }
            if d.is_meta() {
                if w.meta.is_some() || !w.descs.is_empty() {
                    self.counters.tx_desc_errors += 1;
                }
                w.meta = Some(TxMetaDesc::from_qwords(q));
                continue;
            }
            w.descs.push(d);
            if d.ctrl().contains(TxDescCtrl::LAST) {
                if strict && w.descs.len() + usize::from(w.meta.is_some()) > max_descs {
                    self.counters.tx_desc_errors += 1;
                }
                let entries = match placement {
                    Placement::Host(_) => idx.wrapping_sub(head),
                    Placement::Llq { .. } => idx.wrapping_sub(head).wrapping_add(1),
                };
                w.entries = entries;
                if let Some(sq) = self.io.sq_mut(sq_idx) {
                    sq.head = head.wrapping_add(entries);
                }
                return Ok(());
            }
            if w.descs.len() > usize::from(depth) {
                return self.tx_walk_fail(true);
            }
        }
    }

    fn tx_walk_fail(&mut self, count: bool) -> Result<(), WalkEnd> {
        if count {
            self.counters.tx_desc_errors += 1;
        }
        Err(WalkEnd::Stop)
    }

    /// Build, offload and send one packet; write its completion. Returns
    /// true if a completion was written.
    fn tx_packet(&mut self, sq_idx: u16, w: &TxWalk) -> bool {
        let Some(first) = w.descs.first().copied() else {
            return false;
        };
        let req_id = first.req_id();
        let strict = !self.cfg.zero_latency;
        self.counters.tx_packets += 1;
        let Some(sq) = self.io.sq_mut(sq_idx) else {
            return false;
        };
        let llq = match sq.placement {
            Placement::Llq { geo, .. } => Some(geo),
            Placement::Host(_) => None,
        };
        // Meta caching (ena.md §5.3): a stored meta serves later packets.
        let meta: Option<TxMeta> = match w.meta {
            Some(m) => {
                let mm = m.meta();
                if m.ctrl()
                    .contains(cloudnic_ena::defs::io::TxMetaCtrl::META_STORE)
                {
                    sq.meta = Some(mm);
                }
                Some(mm)
            }
            None => {
                if llq.is_some_and(|g| g.disable_meta_caching) {
                    self.counters.tx_missing_meta += 1;
                }
                sq.meta
            }
        };
        let head_after = sq.head;
        // Gather: LLQ pushed header first, then the buffers.
        let mut frame = std::mem::take(&mut self.io.tx_frame);
        frame.clear();
        let mut ok = true;
        if llq.is_some() {
            let h = usize::from(first.header_len());
            if h > w.inline.len() {
                self.counters.tx_desc_errors += 1;
            }
            frame.extend_from_slice(&w.inline[..h.min(w.inline.len())]);
        }
        for d in &w.descs {
            let n = usize::from(d.length());
            if n == 0 {
                continue;
            }
            let at = frame.len();
            frame.resize(at + n, 0);
            if self.mem.read(d.addr(), &mut frame[at..]).is_err() {
                self.counters.dma_faults += 1;
                ok = false;
                break;
            }
        }
        if strict {
            self.ledger.post(
                BufKind::Tx,
                sq_idx,
                u64::from(req_id),
                first.addr(),
                frame.len() as u32,
                0,
            );
        }
        if frame.is_empty() {
            ok = false;
            self.counters.tx_desc_errors += 1;
        }
        if ok {
            self.tx_offload_and_send(&mut frame, &first, meta);
        } else {
            self.counters.tx_dropped += 1;
            self.stats.tx_drops += 1;
        }
        self.io.tx_frame = frame;
        self.tx_complete(sq_idx, req_id, head_after)
    }

    fn tx_offload_and_send(&mut self, frame: &mut Vec<u8>, first: &TxDesc, meta: Option<TxMeta>) {
        let flags = first.offload_flags();
        let tso = flags.contains(TxDescMetaCtrl::TSO_EN);
        let l3c = flags.contains(TxDescMetaCtrl::L3_CSUM_EN);
        let l4c = flags.contains(TxDescMetaCtrl::L4_CSUM_EN);
        if !(tso || l3c || l4c) {
            let f = std::mem::take(frame);
            self.tx_send(f, false);
            return;
        }
        let Some(p) = parse(frame) else {
            self.counters.tx_meta_mismatch += 1;
            let f = std::mem::take(frame);
            self.tx_send(f, false);
            return;
        };
        if !self.cfg.zero_latency {
            self.tx_check_request(first, meta, &p, tso, l3c, l4c);
        }
        if tso {
            let mss = usize::from(meta.map_or(0, |m| m.mss));
            self.counters.tso_packets += 1;
            match tso_segment(frame, mss) {
                Ok(segs) => {
                    for s in segs {
                        self.tx_send(s, true);
                    }
                }
                Err(_) => {
                    self.counters.tx_meta_mismatch += 1;
                    let f = std::mem::take(frame);
                    self.tx_send(f, false);
                }
            }
            return;
        }
        if l3c {
            fill_ipv4_header_csum(frame, &p);
        }
        if l4c {
            let r = if flags.contains(TxDescMetaCtrl::L4_CSUM_PARTIAL) {
                fill_l4_csum_from_partial(frame, &p)
            } else {
                fill_l4_csum(frame, &p)
            };
            if r.is_err() {
                self.counters.tx_meta_mismatch += 1;
            }
        }
        let f = std::mem::take(frame);
        self.tx_send(f, false);
    }

    /// Cross-check the offload request against the frame, the meta and the
    /// advertised offloads (counted, never fatal).
    fn tx_check_request(
        &mut self,
        d: &TxDesc,
        meta: Option<TxMeta>,
        p: &Parsed,
        tso: bool,
        l3c: bool,
        l4c: bool,
    ) {
        let want_l3 = if p.is_ipv4() {
            L3_PROTO_IPV4
        } else if p.is_ipv6() {
            L3_PROTO_IPV6
        } else {
            0
        };
        let want_l4 = match p.l4 {
            Some(l4) if l4.proto == IPPROTO_TCP => L4_PROTO_TCP,
            Some(_) => L4_PROTO_UDP,
            None => 0,
        };
        let mut bad = d.l3_proto() != want_l3 || ((l4c || tso) && d.l4_proto() != want_l4);
        if let (Some(m), true) = (meta, tso) {
            let l4_words = p.l4.map_or(0, |l| l.hdr_len / 4);
            bad |= usize::from(m.l3_hdr_offset) != p.l3_offset
                || usize::from(m.l3_hdr_len) != p.l3_len()
                || usize::from(m.l4_hdr_len_words) != l4_words;
        }
        if bad {
            self.counters.tx_meta_mismatch += 1;
        }
        let partial = d.offload_flags().contains(TxDescMetaCtrl::L4_CSUM_PARTIAL);
        let need = match (p.is_ipv4(), tso, partial) {
            (true, true, _) => TxOffloadBits::TSO_IPV4,
            (false, true, _) => TxOffloadBits::TSO_IPV6,
            (true, false, true) => TxOffloadBits::L4_IPV4_CSUM_PART,
            (true, false, false) => TxOffloadBits::L4_IPV4_CSUM_FULL,
            (false, false, true) => TxOffloadBits::L4_IPV6_CSUM_PART,
            (false, false, false) => TxOffloadBits::L4_IPV6_CSUM_FULL,
        };
        let mut need = if l4c || tso {
            need
        } else {
            TxOffloadBits::empty()
        };
        if l3c {
            need |= TxOffloadBits::L3_CSUM_IPV4;
        }
        if !self.cfg.tx_offloads.contains(need) {
            self.counters.tx_offload_unsupported += 1;
        }
    }

    /// Put one frame on the wire (or drop it: link down, above the MTU).
    fn tx_send(&mut self, frame: Vec<u8>, segmented: bool) {
        let l2 = if frame.len() > 12 && frame[12..14] == [0x81, 0x00] {
            ETH_HLEN + VLAN_HLEN
        } else {
            ETH_HLEN
        };
        let oversize = !segmented && frame.len() > self.feat.mtu as usize + l2;
        if oversize {
            self.counters.tx_oversize += 1;
        }
        if !self.link_up || oversize {
            self.counters.tx_dropped += 1;
            self.stats.tx_drops += 1;
            return;
        }
        self.counters.frames_tx += 1;
        self.counters.bytes_tx += frame.len() as u64;
        self.stats.tx_pkts += 1;
        self.stats.tx_bytes += frame.len() as u64;
        if let Some(port) = &self.port {
            port.send(frame);
        }
    }

    /// Write the completion of `req_id` (or hold it back for a fault).
    fn tx_complete(&mut self, sq_idx: u16, req_id: u16, head_after: u16) -> bool {
        if !self.faults.idle() && self.faults.tx_withheld(sq_idx) {
            if let Some(sq) = self.io.sq_mut(sq_idx) {
                sq.withheld.push_back((req_id, head_after));
            }
            return false;
        }
        self.write_tx_cdesc(sq_idx, req_id, head_after)
    }

    fn write_tx_cdesc(&mut self, sq_idx: u16, req_id: u16, head_after: u16) -> bool {
        let Some(sq) = self.io.sq(sq_idx) else {
            return false;
        };
        let (cq_idx, depth) = (sq.cq, sq.depth);
        let (mut rid, mut mbz) = (req_id, false);
        if !self.faults.idle() {
            if let Some(bad) = self.faults.bad_tx_req_id(sq_idx, depth) {
                rid = bad;
                self.counters.faults_fired += 1;
            }
            mbz = self.faults.tx_mbz(sq_idx);
        }
        let ts = (self.feat.hw_timestamp.0 != 0).then(|| self.now().saturating_mul(1000));
        let Some(cq) = self
            .io
            .cqs
            .get_mut(usize::from(cq_idx))
            .and_then(Option::as_mut)
        else {
            return false;
        };
        let mut c = TxCdesc::new(rid, cq.phase, head_after);
        if mbz {
            c.flags |= TX_CDESC_FLAG_MBZ_MASK;
        }
        let addr = cq.slot_addr();
        let res = if cq.entry_size >= 16 {
            let ts = ts.unwrap_or(0);
            let e = TxCdescExt {
                base: c,
                timestamp_low: ts as u32,
                timestamp_high: (ts >> 32) as u32,
            };
            self.mem.write(addr, e.as_bytes())
        } else {
            self.mem.write(addr, &c.to_qword().to_le_bytes())
        };
        cq.advance();
        if res.is_err() {
            self.counters.dma_faults += 1;
        }
        if !self.cfg.zero_latency && rid == req_id {
            self.ledger.complete(BufKind::Tx, sq_idx, u64::from(req_id));
        }
        true
    }

    /// Write every withheld TX completion (the fault was cleared).
    pub(crate) fn release_withheld_tx(&mut self) {
        for sq_idx in 0..self.io.sqs.len() as u16 {
            let Some(sq) = self.io.sq_mut(sq_idx) else {
                continue;
            };
            let held: Vec<(u16, u16)> = sq.withheld.drain(..).collect();
            let cq = sq.cq;
            let mut any = false;
            for (req_id, head) in held {
                any |= self.write_tx_cdesc(sq_idx, req_id, head);
            }
            if any {
                self.signal_cq(cq);
            }
        }
    }
}
