//! RX (mana.md §6.7–§6.9): frames from a vPort's wire are steered by
//! Toeplitz RSS (`cloudnic_common::rss`) over the programmed key and
//! indirection table of RX objects, or to the default RX object; written
//! into the next receive WQE of that RQ (scattered over its SGEs, truncated
//! if they are too small); and completed with an RX CQE carrying the length,
//! the hash and its NDIS type, checksum results and a stripped VLAN tag.
//!
//! With CQE coalescing enabled (CONFIG_VPORT_RX V2) up to four packets with
//! the same flags word share one RX_COALESCED_4 CQE; open groups are closed
//! at the end of each wire drain and before a fence. A frame that finds no
//! receive WQE waits in the RQ's backlog (`rx_backlog_limit`), else it is
//! dropped and counted as `hc_rx_discards_no_wqe`.

use cloudnic_common::rss::RssInput;
use cloudnic_mana::defs::eth_dp::{
    cqe_type, CqeHeader, NdisHashType, RxCompFlags, RxCompOob, RxPerPktInfo, MANA_CQE_COMPLETION,
    RXCOMP_OOB_NUM_PPI,
};
use cloudnic_mana::defs::queue::CQE_DATA_SIZE;
use zerocopy::{FromBytes, IntoBytes};

use super::counters::gf;
use super::queues::{Backlogged, RxDone, WqKind};
use super::ManaModel;
use crate::ledger::BufKind;
use crate::mem::GuestMemory;
use crate::net::offload::{ipv4_header_csum_ok, l4_csum_ok};
use crate::net::parse::{parse, Parsed, ETH_HLEN, IPPROTO_TCP, IPPROTO_UDP, L3, VLAN_HLEN};

/// Packet length the bad-length fault writes (above any receive buffer).
const BAD_PKT_LEN: u16 = 0xFFFF;
/// VLAN id bits of a TCI.
const VLAN_VID_MASK: u16 = 0xFFF;

/// Set the first packet's length beyond any buffer (malformed-CQE fault).
pub(crate) fn corrupt_length(data: &mut [u8; CQE_DATA_SIZE]) {
    if let Ok(mut oob) = RxCompOob::read_from_bytes(&data[..]) {
        oob.ppi[0].pkt_len = BAD_PKT_LEN;
        data.copy_from_slice(oob.as_bytes());
    }
}

/// Toeplitz hash of a frame and its NDIS type (mana.md §6.8): ports for
/// unfragmented TCP/UDP, addresses otherwise; IPv6 extension headers are
/// hashed as IPV6_EX over the addresses.
pub fn rss_hash(key: &[u8], p: Option<&Parsed>) -> (u32, NdisHashType) {
    let Some(p) = p else {
        return (0, NdisHashType::empty());
    };
    let l4 = p.l4.filter(|_| !p.is_fragment());
    match p.l3 {
        L3::V4 { src, dst, .. } => match l4 {
            Some(l) if l.proto == IPPROTO_TCP => (
                RssInput::ipv4_ports(src, dst, l.src_port, l.dst_port).hash(key),
                NdisHashType::TCP_IPV4,
            ),
            Some(l) if l.proto == IPPROTO_UDP => (
                RssInput::ipv4_ports(src, dst, l.src_port, l.dst_port).hash(key),
                NdisHashType::UDP_IPV4,
            ),
            _ => (RssInput::ipv4(src, dst).hash(key), NdisHashType::IPV4),
        },
        L3::V6 {
            src,
            dst,
            has_ext: true,
            ..
        } => (RssInput::ipv6(src, dst).hash(key), NdisHashType::IPV6_EX),
        L3::V6 { src, dst, .. } => match l4 {
            Some(l) if l.proto == IPPROTO_TCP => (
                RssInput::ipv6_ports(src, dst, l.src_port, l.dst_port).hash(key),
                NdisHashType::TCP_IPV6,
            ),
            Some(l) if l.proto == IPPROTO_UDP => (
                RssInput::ipv6_ports(src, dst, l.src_port, l.dst_port).hash(key),
                NdisHashType::UDP_IPV6,
            ),
            _ => (RssInput::ipv6(src, dst).hash(key), NdisHashType::IPV6),
        },
        L3::Other => (0, NdisHashType::empty()),
    }
}

impl<M: GuestMemory + ?Sized> ManaModel<M> {
    /// RQ doorbell of a data RQ: fetch WQEs, serve the backlog, take new frames.
    pub(crate) fn rx_doorbell(&mut self, rq: u32) {
        self.fetch_rx_wqes(rq);
        self.serve_backlog(rq);
        self.flush_coalesced(rq);
        self.drain_wire();
    }

    /// Take every frame waiting on every vPort's wire.
    pub(crate) fn drain_wire(&mut self) {
        let mut any = false;
        for vp in 0..self.ports.len() {
            let Some(port) = self.ports[vp].clone() else {
                continue;
            };
            while let Some(frame) = port.recv() {
                any = true;
                self.rx_frame(vp, frame);
            }
        }
        if any {
            let open: Vec<u32> = self
                .q
                .wqs
                .iter()
                .filter(|(_, w)| !w.coalesce.is_empty())
                .map(|(id, _)| *id)
                .collect();
            for rq in open {
                self.flush_coalesced(rq);
            }
        }
    }

    fn rx_drop(&mut self) {
        self.counters.rx_dropped += 1;
    }

    /// One frame for vPort `vp`.
    fn rx_frame(&mut self, vp: usize, frame: Vec<u8>) {
        let Some(v) = self.vports.get(vp) else { return };
        if !self.link_up {
            return self.rx_drop();
        }
        if !v.rx_enable {
            self.gf.add(gf::RX_ERR_VPORT_DISABLED, 1);
            return self.rx_drop();
        }
        let mac = self.cfg.vports[vp].mac;
        if self.cfg.filter_rx_dst_mac && frame.get(..6).is_some_and(|d| d != mac && d[0] & 1 == 0) {
            return self.rx_drop();
        }
        let p = parse(&frame);
        let (hash, ht) = if v.rss_enable {
            rss_hash(&v.key, p.as_ref())
        } else {
            (0, NdisHashType::empty())
        };
        let obj = if v.rss_enable && !v.table.is_empty() {
            v.table[hash as usize % v.table.len()]
        } else {
            v.default_rxobj
        };
        let rq = self.q.obj_handles.get(&obj).copied().filter(|id| {
            self.q
                .wqs
                .get(id)
                .is_some_and(|w| w.kind == WqKind::Receive)
        });
        let Some(rq) = rq else {
            self.counters.rss_unmapped += 1;
            return self.rx_drop();
        };
        let limit = self.cfg.rx_backlog_limit;
        let Some(wq) = self.q.wqs.get_mut(&rq) else {
            return;
        };
        if !wq.backlog.is_empty() || wq.rx.is_empty() || wq.disabled {
            if wq.backlog.len() < limit {
                wq.backlog.push_back(Backlogged {
                    frame,
                    hash,
                    hash_type: ht.bits(),
                });
            } else {
                self.gf.add(gf::RX_DISCARDS_NO_WQE, 1);
                self.rx_drop();
            }
            return;
        }
        self.rx_deliver(rq, frame, hash, ht.bits());
    }

    /// Deliver backlogged frames while receive WQEs last.
    fn serve_backlog(&mut self, rq: u32) {
        loop {
            let Some(wq) = self.q.wqs.get_mut(&rq) else {
                return;
            };
            if wq.rx.is_empty() || wq.disabled {
                return;
            }
            let Some(b) = wq.backlog.pop_front() else {
                return;
            };
            self.rx_deliver(rq, b.frame, b.hash, b.hash_type);
        }
    }

    /// Write `frame` into the next receive WQE of `rq` and complete it.
    fn rx_deliver(&mut self, rq: u32, mut frame: Vec<u8>, hash: u32, hash_type: u32) {
        let Some(wq) = self.q.wqs.get_mut(&rq) else {
            return;
        };
        let Some(wqe) = wq.rx.pop_front() else { return };
        wq.consumer = wq.consumer.wrapping_add(wqe.size);
        let vp = usize::from(wq.vport.unwrap_or(0));
        let coalescing = self.vports.get(vp).is_some_and(|v| v.coalescing);
        let p = parse(&frame);
        let mut flags = 0u32;
        if let Some(p) = p.as_ref() {
            match ipv4_header_csum_ok(&frame, p) {
                Some(true) => flags |= RxCompFlags::IP_CSUM_OK,
                Some(false) => {
                    flags |= RxCompFlags::IP_CSUM_FAIL;
                    self.counters.rx_l3_csum_bad += 1;
                }
                // IPv6 has no header checksum: reported "ok" so Linux's
                // "IP ok and L4 ok" rule can apply (mana.md §6.8).
                None if p.is_ipv6() => flags |= RxCompFlags::IP_CSUM_OK,
                None => {}
            }
            let tcp = p.l4.is_some_and(|l| l.proto == IPPROTO_TCP);
            match l4_csum_ok(&frame, p) {
                Some(true) => {
                    flags |= if tcp {
                        RxCompFlags::TCP_CSUM_OK
                    } else {
                        RxCompFlags::UDP_CSUM_OK
                    }
                }
                Some(false) => {
                    flags |= if tcp {
                        RxCompFlags::TCP_CSUM_FAIL
                    } else {
                        RxCompFlags::UDP_CSUM_FAIL
                    };
                    self.counters.rx_l4_csum_bad += 1;
                }
                None => {}
            }
        }
        let mut vlan = None;
        if let Some(tci) = p.and_then(|p| p.vlan).filter(|_| self.cfg.rx_vlan_strip) {
            frame.drain(ETH_HLEN - 2..ETH_HLEN - 2 + VLAN_HLEN);
            vlan = Some(tci & VLAN_VID_MASK);
        }
        let flags = RxCompFlags::new(vlan, NdisHashType::from_bits_truncate(hash_type), flags).0;
        let capacity: usize = wqe.sges.iter().map(|s| s.size as usize).sum();
        let truncated = frame.len() > capacity;
        if truncated {
            self.counters.rx_truncated += 1;
        } else {
            let mut at = 0;
            for s in &wqe.sges {
                let n = (s.size as usize).min(frame.len() - at);
                if n > 0 && !self.dma_write(s.address, &frame[at..at + n]) {
                    break;
                }
                at += n;
            }
            let dst: [u8; 6] = frame
                .get(..6)
                .and_then(|d| d.try_into().ok())
                .unwrap_or_default();
            self.gf
                .count_frame(gf::RX_UCAST_PKTS, gf::RX_BYTES, dst, frame.len());
            self.counters.frames_rx += 1;
            self.counters.bytes_rx += frame.len() as u64;
        }
        let len = u32::try_from(frame.len()).unwrap_or(u32::MAX);
        let done = RxDone {
            offset: wqe.offset,
            len,
            hash,
            flags,
            truncated,
            id: wqe.sges[0].address,
        };
        if !coalescing || truncated {
            self.flush_coalesced(rq);
            return self.emit_rx(rq, &[done]);
        }
        let Some(wq) = self.q.wqs.get_mut(&rq) else {
            return;
        };
        if wq.coalesce.first().is_some_and(|f| f.flags != done.flags) {
            self.flush_coalesced(rq);
        }
        let Some(wq) = self.q.wqs.get_mut(&rq) else {
            return;
        };
        wq.coalesce.push(done);
        if wq.coalesce.len() == RXCOMP_OOB_NUM_PPI {
            self.flush_coalesced(rq);
        }
    }

    /// Write the CQE of the packets being coalesced on `rq`, if any.
    pub(crate) fn flush_coalesced(&mut self, rq: u32) {
        let Some(wq) = self.q.wqs.get_mut(&rq) else {
            return;
        };
        if wq.coalesce.is_empty() {
            return;
        }
        let group = std::mem::take(&mut wq.coalesce);
        self.emit_rx(rq, &group);
    }

    /// One RX CQE for 1–4 packets in consecutive WQEs.
    fn emit_rx(&mut self, rq: u32, group: &[RxDone]) {
        let Some(first) = group.first() else { return };
        let ty = match (group.len(), first.truncated) {
            (1, true) => cqe_type::RX_TRUNCATED,
            (1, false) => cqe_type::RX_OKAY,
            _ => cqe_type::RX_COALESCED_4,
        };
        if group.len() > 1 {
            self.counters.coalesced_cqes += 1;
        }
        let mut oob = RxCompOob {
            cqe_hdr: CqeHeader::new(ty, MANA_CQE_COMPLETION, 0).0,
            flags: first.flags,
            rx_wqe_offset: first.offset,
            ..Default::default()
        };
        for (ppi, d) in oob.ppi.iter_mut().zip(group) {
            *ppi = RxPerPktInfo {
                pkt_len: u16::try_from(d.len).unwrap_or(u16::MAX),
                pkt_hash: d.hash,
                ..Default::default()
            };
        }
        let mut data = [0u8; CQE_DATA_SIZE];
        data.copy_from_slice(oob.as_bytes());
        self.write_data_cqe(rq, false, data);
        for d in group {
            self.ledger_complete(BufKind::Rx, rq, d.id);
        }
    }
}
