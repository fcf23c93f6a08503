//! TX (mana.md §6.6–§6.7): each WQE on a data SQ is one packet. The inline
//! OOB (short 8 B or long 24 B) is validated against the SQ (CQ id, SQ
//! frame, vPort offset, format allowed), the SGL gathered (memory key
//! checked), checksums filled, TSO segmented (headers alone in SGE0,
//! `last_vbytes` = SGE0 size, MSS in the client data unit), a VLAN tag
//! inserted from the long OOB, the MTU and (optionally) the source MAC
//! enforced, and the frames put on the vPort's wire. Every WQE gets a TX CQE
//! (unless suppressed on success), in order, carrying the WQE offset.
//!
//! Checksums are computed from scratch: whatever the driver pre-seeded in
//! the L4 field (Linux seeds the pseudo-header) is overwritten.

use cloudnic_mana::defs::eth_dp::{
    cqe_type, CqeHeader, TxCompOob, TxLongOob, TxShortOob, MANA_CQE_COMPLETION, TX_PKT_FMT_LONG,
    TX_PKT_FMT_SHORT,
};
use cloudnic_mana::defs::queue::{CqeInfo, CQE_DATA_SIZE, OWNER_MASK};
use zerocopy::{FromBytes, IntoBytes};

use super::counters::gf;
use super::faults::CqeMalformation;
use super::queues::HeldCqe;
use super::wqe::{read_wqe, ParsedWqe};
use super::ManaModel;
use crate::ledger::BufKind;
use crate::mem::GuestMemory;
use crate::net::offload::{fill_ipv4_header_csum, fill_l4_csum, tso_segment};
use crate::net::parse::{parse, ETHERTYPE_VLAN, ETH_HLEN, IPPROTO_TCP, IPPROTO_UDP, VLAN_HLEN};

/// Largest gathered packet (a 64 KiB TSO payload plus headers, with room).
const MAX_TX_PACKET: usize = 256 * 1024;
/// CQE type the driver does not know (for the malformed-CQE fault).
const CQE_TYPE_UNKNOWN: u8 = 63;
/// `wq_num` bits flipped by the bad-WQ-number fault.
const BAD_WQ_XOR: u32 = 0x0080_0000;
/// Owner-count skew of the wrong-owner fault (neither valid nor empty).
const OWNER_SKEW: u32 = 2;

/// What one TX WQE came to.
struct TxResult {
    cqe: u8,
    /// A GDMA error: the queue is disabled (OpenVMM CQE 42).
    disable: bool,
}

impl TxResult {
    fn err(cqe: u8) -> Self {
        TxResult {
            cqe,
            disable: false,
        }
    }
}

impl<M: GuestMemory + ?Sized> ManaModel<M> {
    /// SQ doorbell of a data SQ: process every new WQE.
    pub(crate) fn tx_doorbell(&mut self, sq: u32) {
        loop {
            let Some(wq) = self.q.wqs.get(&sq) else {
                return;
            };
            if wq.consumer == wq.producer || wq.disabled {
                return;
            }
            let avail = wq.producer.wrapping_sub(wq.consumer);
            let w = match read_wqe(&*self.mem, wq, wq.consumer, avail) {
                Ok(w) => w,
                Err(_) => {
                    self.counters.bad_wqes += 1;
                    if let Some(wq) = self.q.wqs.get_mut(&sq) {
                        wq.disabled = true;
                    }
                    return;
                }
            };
            if let Some(wq) = self.q.wqs.get_mut(&sq) {
                wq.consumer = wq.consumer.wrapping_add(w.size);
            }
            let id = w.sges[0].address;
            if !self.cfg.zero_latency {
                let len = w.sges.iter().map(|s| s.size).sum();
                self.ledger
                    .post(BufKind::Tx, sq as u16, id, id, len, u64::from(w.offset));
            }
            self.counters.tx_wqes += 1;
            let r = self.tx_one(sq, &w);
            if r.cqe != cqe_type::TX_OKAY {
                self.counters.tx_errors += 1;
            }
            if r.disable {
                if let Some(wq) = self.q.wqs.get_mut(&sq) {
                    wq.disabled = true;
                }
            }
            let suppress = TxShortOob::read_from_prefix(&w.oob)
                .is_ok_and(|(o, _)| o.flags() & TxShortOob::SUPPRESS_TXCQE != 0);
            self.tx_complete(sq, &w, r.cqe, suppress && r.cqe == cqe_type::TX_OKAY);
        }
    }

    fn tx_one(&mut self, sq: u32, w: &ParsedWqe) -> TxResult {
        let Some(wq) = self.q.wqs.get(&sq) else {
            return TxResult::err(cqe_type::TX_GDMA_ERR);
        };
        let (cq, vp) = (wq.cq, usize::from(wq.vport.unwrap_or(0)));
        if !self.vports.get(vp).is_some_and(|v| v.tx_configured) {
            self.gf.add(gf::TX_ERR_VPORT_DISABLED, 1);
            return TxResult::err(cqe_type::TX_VPORT_DISABLED);
        }
        let Ok((short, _)) = TxShortOob::read_from_prefix(&w.oob) else {
            return TxResult::err(cqe_type::TX_INVALID_OOB);
        };
        let long = (w.oob_len == 24).then(|| {
            TxLongOob::read_from_prefix(&w.oob[8..])
                .map(|(l, _)| l)
                .unwrap_or_default()
        });
        let fmt_ok = match (w.oob_len, short.pkt_fmt()) {
            (8, TX_PKT_FMT_SHORT) => self.cfg.short_form_allowed,
            (24, TX_PKT_FMT_LONG) => true,
            _ => false,
        };
        if !fmt_ok || short.cq_id() != cq || short.vsq_frame() != sq >> 10 {
            self.gf.add(gf::TX_ERR_INVAL_OOB, 1);
            return TxResult::err(cqe_type::TX_INVALID_OOB);
        }
        let offset = long.map_or(u16::from(short.short_vport_offset()), |l| {
            l.long_vport_offset()
        });
        if offset != self.tx_vport_offset(vp) {
            self.gf.add(gf::TX_ERR_INVAL_VPORT_OFFSET, 1);
            return TxResult::err(cqe_type::TX_VPORT_IDX_OUT_OF_RANGE);
        }
        // Gather the packet.
        let key = self.cfg.mana_gpa_mkey;
        let total: usize = w.sges.iter().map(|s| s.size as usize).sum();
        if w.sges.iter().any(|s| s.mem_key != key) {
            self.counters.bad_mem_keys += 1;
            self.gf.add(gf::TX_ERR_GDMA, 1);
            return TxResult {
                cqe: cqe_type::TX_GDMA_ERR,
                disable: true,
            };
        }
        if total == 0 || total > MAX_TX_PACKET {
            self.gf.add(gf::TX_ERR_GDMA, 1);
            return TxResult {
                cqe: cqe_type::TX_GDMA_ERR,
                disable: true,
            };
        }
        let mut frame = vec![0u8; total];
        let mut at = 0;
        for s in &w.sges {
            let n = s.size as usize;
            if !self.dma_read(s.address, &mut frame[at..at + n]) {
                self.gf.add(gf::TX_ERR_GDMA, 1);
                return TxResult {
                    cqe: cqe_type::TX_GDMA_ERR,
                    disable: true,
                };
            }
            at += n;
        }
        let params = w.header.params();
        let mss = params.client_data_unit() as usize;
        if params.oob_in_sgl()
            && (w.sges.len() < 2 || u32::from(w.header.last_vbytes()) != w.sges[0].size)
        {
            self.gf.add(gf::TX_ERR_GDMA, 1);
            return TxResult {
                cqe: cqe_type::TX_GDMA_ERR,
                disable: true,
            };
        }
        let frames = match self.tx_offload(
            frame,
            short,
            mss,
            params.oob_in_sgl(),
            w.sges[0].size as usize,
        ) {
            Some(f) => f,
            None => return TxResult::err(cqe_type::TX_HDR_PROCESSING_ERROR),
        };
        self.tx_send(vp, frames, long.and_then(|l| l.vlan()))
    }

    /// Checksums and TSO as the OOB asks; `None` if the request does not
    /// match the frame (header processing error).
    fn tx_offload(
        &mut self,
        mut frame: Vec<u8>,
        short: TxShortOob,
        mss: usize,
        oob_in_sgl: bool,
        sge0: usize,
    ) -> Option<Vec<Vec<u8>>> {
        let flags = short.flags();
        let ip_csum = flags & TxShortOob::COMP_IP_CSUM != 0;
        let tcp = flags & TxShortOob::COMP_TCP_CSUM != 0;
        let udp = flags & TxShortOob::COMP_UDP_CSUM != 0;
        if !ip_csum && !tcp && !udp && mss == 0 {
            return Some(vec![frame]);
        }
        let p = parse(&frame)?;
        let v4_ok = flags & TxShortOob::IS_OUTER_IPV4 == 0 || p.is_ipv4();
        let v6_ok = flags & TxShortOob::IS_OUTER_IPV6 == 0 || p.is_ipv6();
        if !v4_ok || !v6_ok || (ip_csum && !p.is_ipv4()) {
            return None;
        }
        let l4 = p.l4.map(|l| l.proto);
        if (tcp || udp || mss > 0) && short.trans_off() as usize != p.l4_offset {
            return None;
        }
        if (tcp && l4 != Some(IPPROTO_TCP)) || (udp && l4 != Some(IPPROTO_UDP)) {
            return None;
        }
        if mss > 0 {
            // TSO: TCP, headers exactly in SGE0 (mana.md §6.6).
            if !oob_in_sgl || !tcp || p.payload_offset() != sge0 {
                return None;
            }
            self.counters.tso_packets += 1;
            return tso_segment(&frame, mss).ok();
        }
        if ip_csum {
            fill_ipv4_header_csum(&mut frame, &p);
        }
        if tcp || udp {
            fill_l4_csum(&mut frame, &p).ok()?;
        }
        Some(vec![frame])
    }

    /// Enforce MTU and source MAC, insert the VLAN tag, put frames on the wire.
    fn tx_send(
        &mut self,
        vp: usize,
        frames: Vec<Vec<u8>>,
        vlan: Option<(u8, bool, u16)>,
    ) -> TxResult {
        let mtu = usize::from(self.cfg.adapter_mtu);
        if frames.iter().any(|f| {
            f.len()
                > mtu
                    + if parse(f).is_some_and(|p| p.vlan.is_some()) {
                        VLAN_HLEN
                    } else {
                        0
                    }
        }) {
            self.gf.add(gf::TX_ERR_MTU_VIOLATION, 1);
            return TxResult::err(cqe_type::TX_MTU_DROP);
        }
        let mac = self.cfg.vports.get(vp).map(|v| v.mac).unwrap_or_default();
        if self.cfg.enforce_tx_source_mac && frames.iter().any(|f| f.get(6..12) != Some(&mac[..])) {
            self.gf.add(gf::TX_ERR_SA_ENFORCEMENT, 1);
            return TxResult::err(cqe_type::TX_SA_DROP);
        }
        if vlan.is_some()
            && frames
                .iter()
                .any(|f| parse(f).is_some_and(|p| p.vlan.is_some()))
        {
            self.gf.add(gf::TX_ERR_VLAN_ENFORCEMENT, 1);
            return TxResult::err(cqe_type::TX_VLAN_TAGGING_VIOLATION);
        }
        for mut f in frames {
            if let Some((pcp, dei, vid)) = vlan {
                let tci = u16::from(pcp) << 13 | u16::from(dei) << 12 | (vid & 0xFFF);
                let mut tag = [0u8; VLAN_HLEN];
                tag[..2].copy_from_slice(&ETHERTYPE_VLAN.to_be_bytes());
                tag[2..].copy_from_slice(&tci.to_be_bytes());
                let at = ETH_HLEN - 2;
                f.splice(at..at, tag);
            }
            if !self.link_up {
                self.counters.tx_dropped += 1;
                continue;
            }
            let dst: [u8; 6] = f
                .get(..6)
                .and_then(|d| d.try_into().ok())
                .unwrap_or_default();
            self.gf
                .count_frame(gf::TX_UCAST_PKTS, gf::TX_BYTES, dst, f.len());
            self.counters.frames_tx += 1;
            self.counters.bytes_tx += f.len() as u64;
            match self.ports.get(vp).and_then(|p| p.as_ref()) {
                Some(port) => port.send(f),
                None => self.counters.tx_dropped += 1,
            }
        }
        TxResult {
            cqe: cqe_type::TX_OKAY,
            disable: false,
        }
    }

    /// Write (or hold back, or suppress) the TX CQE of `w`.
    fn tx_complete(&mut self, sq: u32, w: &ParsedWqe, ty: u8, suppress: bool) {
        let id = w.sges[0].address;
        let oob = TxCompOob {
            cqe_hdr: CqeHeader::new(ty, MANA_CQE_COMPLETION, 0).0,
            tx_data_offset: 0,
            tx_offsets: w.offset,
            reserved: [0; 12],
        };
        let mut data = [0u8; CQE_DATA_SIZE];
        data.copy_from_slice(oob.as_bytes());
        if suppress {
            self.ledger_complete(BufKind::Tx, sq, id);
            return;
        }
        if !self.faults.idle() && self.faults.tx_withheld(sq) {
            if let Some(wq) = self.q.wqs.get_mut(&sq) {
                wq.held.push(HeldCqe { data, id });
            }
            return;
        }
        self.write_data_cqe(sq, true, data);
        self.ledger_complete(BufKind::Tx, sq, id);
    }

    /// Write a data-path CQE for `wq`, applying a malformed-CQE fault.
    pub(crate) fn write_data_cqe(&mut self, wq: u32, is_sq: bool, mut data: [u8; CQE_DATA_SIZE]) {
        let Some(cq) = self.q.wqs.get(&wq).map(|w| w.cq) else {
            return;
        };
        let fault = if self.faults.idle() {
            None
        } else {
            self.faults.malformed_cqe(is_sq, wq)
        };
        let (mut num, mut skew) = (wq, 0);
        match fault {
            Some(CqeMalformation::BadWqNumber) => num ^= BAD_WQ_XOR,
            Some(CqeMalformation::WrongOwner) => skew = OWNER_SKEW,
            Some(CqeMalformation::UnknownType) => data[0] = (data[0] & !0x3F) | CQE_TYPE_UNKNOWN,
            Some(CqeMalformation::BadLength) if !is_sq => super::rx::corrupt_length(&mut data),
            _ => {}
        }
        self.post_cqe(cq, &data, |o| {
            CqeInfo::new(num, is_sq, (o + skew) & OWNER_MASK)
        });
        if fault == Some(CqeMalformation::Spurious) && is_sq {
            self.post_cqe(cq, &data, |o| CqeInfo::new(wq, true, o));
        }
    }

    pub(crate) fn ledger_complete(&mut self, kind: BufKind, wq: u32, id: u64) {
        if !self.cfg.zero_latency {
            self.ledger.complete(kind, wq as u16, id);
        }
    }

    /// Write every TX CQE held back by `TxCompletionsWithheld`, in order.
    pub(crate) fn release_held_tx(&mut self) {
        let sqs: Vec<u32> = self
            .q
            .wqs
            .iter()
            .filter(|(_, w)| !w.held.is_empty())
            .map(|(id, _)| *id)
            .collect();
        for sq in sqs {
            let held = self
                .q
                .wqs
                .get_mut(&sq)
                .map(|w| std::mem::take(&mut w.held))
                .unwrap_or_default();
            for h in held {
                self.write_data_cqe(sq, true, h.data);
                self.ledger_complete(BufKind::Tx, sq, h.id);
            }
        }
    }
}
