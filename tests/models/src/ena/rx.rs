//! RX (ena.md §5.5–§5.6): buffers fetched on the RX doorbell, frames taken
//! from the wire, steered (RSS / flow rules), checksums verified, split over
//! as many posted buffers as needed (one completion per buffer, `first` on
//! the first, `last` on the last), hash and protocol indices reported, and
//! the queue's vector signalled once per batch.
//!
//! A frame that finds too few buffers waits in the queue's backlog (bounded
//! by `rx_backlog_limit`, then dropped as an overrun) and is delivered on
//! the next RX doorbell or `tick`.

use cloudnic_ena::defs::admin::RxOffloadBits;
use cloudnic_ena::defs::io::{
    RxCdesc, RxCdescExt, RxCdescStatus, RxDesc, RxDescCtrl, L3_PROTO_IPV4, L3_PROTO_IPV6,
    L4_PROTO_TCP, L4_PROTO_UDP, RX_DESC_SIZE,
};
use zerocopy::IntoBytes;

use super::faults::RxMalformation;
use super::queues::{Placement, RxBuf};
use super::tx::phase_of;
use super::EnaModel;
use crate::ledger::BufKind;
use crate::mem::GuestMemory;
use crate::net::offload::{ipv4_header_csum_ok, l4_csum_ok};
use crate::net::parse::{parse, Parsed, IPPROTO_TCP};

impl<M: GuestMemory + ?Sized> EnaModel<M> {
    /// RX SQ doorbell: fetch the new descriptors, then serve the backlog.
    pub(crate) fn rx_doorbell(&mut self, sq_idx: u16, tail: u16) {
        self.counters.rx_doorbells += 1;
        let strict = !self.cfg.zero_latency;
        let Some(sq) = self.io.sq_mut(sq_idx) else {
            return;
        };
        let Placement::Host(base) = sq.placement else {
            return;
        };
        sq.tail = tail;
        let depth = sq.depth;
        let new = tail
            .wrapping_sub(sq.head)
            .min(depth.saturating_sub(sq.rx_avail.len() as u16));
        let mut raw = [0u8; RX_DESC_SIZE];
        for _ in 0..new {
            let idx = sq.head;
            let addr = base + u64::from(idx & depth.wrapping_sub(1)) * RX_DESC_SIZE as u64;
            if self.mem.read(addr, &mut raw).is_err() {
                self.counters.dma_faults += 1;
                break;
            }
            let d = RxDesc::from_qwords([
                u64::from_le_bytes(raw[..8].try_into().unwrap_or_default()),
                u64::from_le_bytes(raw[8..].try_into().unwrap_or_default()),
            ]);
            if d.flags().contains(RxDescCtrl::PHASE) != phase_of(idx, depth) {
                // Not written yet: stop here, the driver rang too early.
                self.counters.rx_desc_errors += 1;
                break;
            }
            sq.head = idx.wrapping_add(1);
            if d.addr() == 0 {
                self.counters.rx_desc_errors += 1;
                continue;
            }
            let buf = RxBuf {
                addr: d.addr(),
                len: d.buffer_len(),
                req_id: d.req_id,
            };
            if strict {
                self.ledger.post(
                    BufKind::Rx,
                    sq_idx,
                    buf.addr,
                    buf.addr,
                    buf.len,
                    u64::from(buf.req_id),
                );
            }
            sq.rx_avail.push_back(buf);
        }
        self.rx_serve_backlog(sq_idx);
        self.drain_wire();
    }

    /// Take every frame waiting on the wire and deliver or queue it.
    pub(crate) fn drain_wire(&mut self) {
        let Some(port) = self.port.clone() else {
            return;
        };
        let mut signalled: Vec<u16> = Vec::new();
        while let Some(frame) = port.recv() {
            if let Some(sq) = self.rx_frame(frame) {
                if !signalled.contains(&sq) {
                    signalled.push(sq);
                }
            }
        }
        for sq in signalled {
            if let Some(cq) = self.io.sq(sq).map(|s| s.cq) {
                self.signal_cq(cq);
            }
        }
    }

    fn rx_drop(&mut self, overrun: bool) {
        self.counters.rx_dropped += 1;
        self.stats.rx_drops += 1;
        if overrun {
            self.stats.rx_overruns += 1;
        }
    }

    /// One frame from the wire; returns the SQ that got a completion.
    fn rx_frame(&mut self, frame: Vec<u8>) -> Option<u16> {
        if !self.link_up {
            self.rx_drop(false);
            return None;
        }
        let p = parse(&frame);
        let Some((sq_idx, hash)) = self.steer(p.as_ref()) else {
            self.rx_drop(false);
            return None;
        };
        let limit = self.cfg.rx_backlog_limit;
        let sq = self.io.sq_mut(sq_idx)?;
        if !sq.backlog.is_empty() {
            if sq.backlog.len() >= limit {
                self.rx_drop(true);
            } else {
                sq.backlog.push_back((frame, hash));
            }
            return None;
        }
        match self.rx_deliver(sq_idx, &frame, p.as_ref(), hash) {
            Delivery::Done => Some(sq_idx),
            Delivery::Dropped => None,
            Delivery::NoBuffers => {
                let sq = self.io.sq_mut(sq_idx)?;
                if limit == 0 {
                    self.rx_drop(true);
                } else {
                    sq.backlog.push_back((frame, hash));
                }
                None
            }
        }
    }

    /// Deliver queued frames while buffers last; signal once.
    pub(crate) fn rx_serve_backlog(&mut self, sq_idx: u16) {
        let mut any = false;
        loop {
            let Some(sq) = self.io.sq_mut(sq_idx) else {
                return;
            };
            let Some((frame, hash)) = sq.backlog.pop_front() else {
                break;
            };
            let p = parse(&frame);
            match self.rx_deliver(sq_idx, &frame, p.as_ref(), hash) {
                Delivery::Done => any = true,
                Delivery::Dropped => {}
                Delivery::NoBuffers => {
                    if let Some(sq) = self.io.sq_mut(sq_idx) {
                        sq.backlog.push_front((frame, hash));
                    }
                    break;
                }
            }
        }
        if any {
            if let Some(cq) = self.io.sq(sq_idx).map(|s| s.cq) {
                self.signal_cq(cq);
            }
        }
    }

    /// Status word of a frame's completions (ena.md §5.6).
    fn rx_status(&mut self, frame: &[u8], p: Option<&Parsed>) -> u32 {
        let Some(p) = p else {
            return RxCdesc::status_word(RxCdescStatus::empty(), 0, 0, 0);
        };
        let offl = self.cfg.rx_offloads;
        let mut flags = RxCdescStatus::empty();
        let l3 = if p.is_ipv4() {
            L3_PROTO_IPV4
        } else if p.is_ipv6() {
            L3_PROTO_IPV6
        } else {
            0
        };
        if p.is_ipv4() {
            let good = offl.contains(RxOffloadBits::L3_CSUM_IPV4)
                && ipv4_header_csum_ok(frame, p) == Some(true);
            if !good {
                flags |= RxCdescStatus::L3_CSUM_ERR;
                self.counters.rx_l3_csum_bad +=
                    u64::from(offl.contains(RxOffloadBits::L3_CSUM_IPV4));
            }
            if p.is_fragment() {
                flags |= RxCdescStatus::IPV4_FRAG;
            }
        }
        let mut l4 = 0;
        if let (Some(h), false) = (p.l4, p.is_fragment()) {
            l4 = if h.proto == IPPROTO_TCP {
                L4_PROTO_TCP
            } else {
                L4_PROTO_UDP
            };
            let offered = if p.is_ipv4() {
                RxOffloadBits::L4_IPV4_CSUM
            } else {
                RxOffloadBits::L4_IPV6_CSUM
            };
            if offl.contains(offered) {
                flags |= RxCdescStatus::L4_CSUM_CHECKED;
                if l4_csum_ok(frame, p) != Some(true) {
                    flags |= RxCdescStatus::L4_CSUM_ERR;
                    self.counters.rx_l4_csum_bad += 1;
                }
            }
        }
        RxCdesc::status_word(flags, l3, l4, u8::from(p.vlan.is_some()))
    }

    /// Write a frame into posted buffers of `sq_idx` with its completions.
    fn rx_deliver(&mut self, sq_idx: u16, frame: &[u8], p: Option<&Parsed>, hash: u32) -> Delivery {
        if frame.is_empty() {
            self.rx_drop(false);
            return Delivery::Dropped;
        }
        let max_descs = usize::from(self.cfg.max_rx_descs).max(1);
        let fault = if self.faults.idle() {
            None
        } else {
            self.faults.rx_malformed(sq_idx)
        };
        let Some(sq) = self.io.sq(sq_idx) else {
            return Delivery::Dropped;
        };
        let len = frame.len();
        // How many buffers: as many as it takes, or what a fault forces.
        let forced = match fault {
            Some(RxMalformation::TooManyDescs) => Some(max_descs + 1),
            Some(RxMalformation::FirstOnNonFirst) => Some(2),
            _ => None,
        };
        let mut pieces = 0usize;
        let mut room = 0u64;
        for b in &sq.rx_avail {
            if room >= len as u64 && forced.is_none_or(|f| pieces >= f) {
                break;
            }
            pieces += 1;
            room += u64::from(b.len);
        }
        let enough = room >= len as u64 && forced.is_none_or(|f| pieces >= f);
        if !enough {
            if forced.is_none() && sq.rx_avail.len() >= max_descs {
                // Even the allowed number of buffers cannot hold it.
                self.rx_drop(false);
                return Delivery::Dropped;
            }
            return Delivery::NoBuffers;
        }
        if forced.is_some_and(|f| len < f) {
            // Too short to split that many ways: deliver normally.
            return self.rx_write(
                sq_idx,
                frame,
                p,
                hash,
                pieces_for(sq.rx_avail.iter(), len),
                None,
            );
        }
        let n = forced.unwrap_or(pieces);
        self.rx_write(sq_idx, frame, p, hash, n, fault)
    }

    fn rx_write(
        &mut self,
        sq_idx: u16,
        frame: &[u8],
        p: Option<&Parsed>,
        hash: u32,
        n: usize,
        fault: Option<RxMalformation>,
    ) -> Delivery {
        let status = self.rx_status(frame, p);
        let strict = !self.cfg.zero_latency;
        let bad_req = !self.faults.idle() && self.faults.bad_rx_req_id(sq_idx);
        if fault.is_some() {
            self.faults.rx_malformed_spent(sq_idx);
            self.counters.faults_fired += 1;
        }
        if bad_req {
            self.counters.faults_fired += 1;
        }
        let ts = if self.feat.hw_timestamp.1 != 0 {
            self.now().saturating_mul(1000)
        } else {
            0
        };
        let mut bufs = std::mem::take(&mut self.io.rx_bufs);
        bufs.clear();
        let Some(sq) = self.io.sq_mut(sq_idx) else {
            return Delivery::Dropped;
        };
        let (cq_idx, depth) = (sq.cq, sq.depth);
        bufs.extend(sq.rx_avail.drain(..n.min(sq.rx_avail.len())));
        let Some(cq) = self
            .io
            .cqs
            .get_mut(usize::from(cq_idx))
            .and_then(Option::as_mut)
        else {
            self.io.rx_bufs = bufs;
            return Delivery::Dropped;
        };
        let mut off = 0usize;
        let count = bufs.len();
        for (i, b) in bufs.iter().enumerate() {
            let left = frame.len() - off;
            let share = if fault.is_some() {
                left.div_ceil(count - i)
            } else {
                left
            };
            let chunk = share.min(b.len as usize);
            if self.mem.write(b.addr, &frame[off..off + chunk]).is_err() {
                self.counters.dma_faults += 1;
            }
            off += chunk;
            let mut flags = RxCdescStatus::BUFFER;
            if i == 0 || fault == Some(RxMalformation::FirstOnNonFirst) {
                flags |= RxCdescStatus::FIRST;
            }
            if i + 1 == count {
                flags |= RxCdescStatus::LAST;
            }
            if cq.phase {
                flags |= RxCdescStatus::PHASE;
            }
            if fault == Some(RxMalformation::MbzSet) && i == 0 {
                flags |= RxCdescStatus::MBZ7;
            }
            let mut length = chunk as u16;
            if fault == Some(RxMalformation::LengthBeyondBuffer) && i + 1 == count {
                length = (b.len.saturating_add(1)).min(u32::from(u16::MAX)) as u16;
            }
            let req_id = if bad_req && i == 0 {
                depth.saturating_add(1)
            } else {
                b.req_id
            };
            let c = RxCdesc::new(status | flags.bits(), length, req_id, hash, 0);
            let addr = cq.slot_addr();
            let res = if cq.entry_size >= 32 {
                let e = RxCdescExt {
                    base: c,
                    buff_addr_lo: b.addr as u32,
                    buff_addr_hi: (b.addr >> 32) as u16,
                    reserved: 0,
                    timestamp_low: ts as u32,
                    timestamp_high: (ts >> 32) as u32,
                };
                self.mem.write(addr, e.as_bytes())
            } else {
                self.mem.write(addr, c.as_bytes())
            };
            if res.is_err() {
                self.counters.dma_faults += 1;
            }
            cq.advance();
            if strict && req_id == b.req_id {
                self.ledger.complete(BufKind::Rx, sq_idx, b.addr);
            }
        }
        self.io.rx_bufs = bufs;
        self.counters.frames_rx += 1;
        self.counters.bytes_rx += frame.len() as u64;
        self.stats.rx_pkts += 1;
        self.stats.rx_bytes += frame.len() as u64;
        Delivery::Done
    }
}

/// Buffers needed to hold `len` bytes, filling each in order.
fn pieces_for<'a>(bufs: impl Iterator<Item = &'a RxBuf>, len: usize) -> usize {
    let mut room = 0usize;
    let mut n = 0;
    for b in bufs {
        if room >= len && n > 0 {
            break;
        }
        room += b.len as usize;
        n += 1;
    }
    n
}

/// Outcome of one delivery attempt.
enum Delivery {
    Done,
    Dropped,
    NoBuffers,
}
