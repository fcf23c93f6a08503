// SPDX-License-Identifier: GPL-2.0 OR MIT
//! Transmit, NAPI poll and RX refill: moving skbs and pages between the kernel and the
//! shared driver's rings. Offload requests are read from the skb as the stack set them.

use cloudnic_common::nic::{
    DmaSegment, L3Proto, L4Proto, NetDevice, RssHashType, RxBuffer, RxChecksum, RxPacket, TxError,
    TxOffload, TxPacket,
};

use super::tables::{Tables, MAX_TX_SEGS};
use super::{add, EnaNet, Inner};
use crate::kapi::{self, DmaSeg, PciHandle, RxDelivery, RxFrag, SkbInfo, SkbPtr};

/// Stop a TX queue when fewer worst-case packets than this still fit; wake it at twice that.
const TX_STOP_THRESHOLD: u32 = 2;
/// RX packets taken per lock hold; they are handed to GRO after unlocking.
const RX_CHUNK: usize = 4;
/// Buffers of one RX packet at most: a 9 KB frame over 4 KB pages needs 3; ENA allows more
/// descriptors per packet, bounded here by the skb's fragment slots (MAX_SKB_FRAGS).
const RX_MAX_FRAGS: usize = 17;
/// TX completions reaped per poll.
const TX_BUDGET: u32 = 256;
/// RX buffers posted per refill call.
const REFILL_BATCH: usize = 64;

/// `ndo_start_xmit` result.
pub(crate) enum Xmit {
    /// Taken (posted or dropped and freed).
    Done,
    /// Ring full: the queue is stopped, the stack keeps the skb.
    Busy,
}

/// The offload request of an skb (what Linux's ena asks its device for, ena.md §5.3).
fn offload_of(i: &SkbInfo) -> TxOffload {
    let l3 = match i.l3 {
        4 => L3Proto::Ipv4,
        6 => L3Proto::Ipv6,
        _ => return TxOffload::default(),
    };
    let l4 = match i.l4 {
        6 => L4Proto::Tcp,
        17 => L4Proto::Udp,
        _ => L4Proto::Unknown,
    };
    let mss = if l4 == L4Proto::Tcp {
        u16::try_from(i.gso_size).unwrap_or(0)
    } else {
        0
    };
    TxOffload {
        l3,
        l4,
        l3_offset: i.l3_offset,
        l3_len: i.l3_len,
        l4_len: i.l4_len,
        // The stack filled the IPv4 header checksum, except in segments the device cuts.
        ipv4_csum: l3 == L3Proto::Ipv4 && mss != 0,
        l4_csum: l4 != L4Proto::Unknown && (i.csum_partial != 0 || mss != 0),
        // CHECKSUM_PARTIAL: the field holds the pseudo-header sum; with TSO the device
        // computes the whole checksum per segment.
        l4_csum_partial: mss == 0,
        tso_mss: mss,
        ipv4_df: i.df != 0,
        // No tag insertion: this netdev does not advertise CTAG TX (ENA has no
        // VLAN offload), so the stack puts any tag into the frame itself.
        vlan_tci: None,
    }
}

impl EnaNet<'_> {
    /// `ndo_start_xmit` for an skb the stack put on queue `q`.
    pub(crate) fn xmit(&self, skb: SkbPtr, q: u16) -> Xmit {
        let Some(nd) = self.nd else {
            return self.drop_tx(skb);
        };
        let mut info = skb.info();
        if info.nr_frags as usize + 1 > self.max_tx_segs {
            if !skb.linearize() {
                return self.drop_tx(skb);
            }
            info = skb.info();
        }
        let mut segs = [DmaSeg::default(); MAX_TX_SEGS];
        let Some(n) = self.pci.map_skb(skb, &mut segs[..self.max_tx_segs]) else {
            return self.drop_tx(skb);
        };
        let segs = &segs[..n];
        let mut dsegs = [DmaSegment::default(); MAX_TX_SEGS];
        for (d, s) in dsegs.iter_mut().zip(segs) {
            *d = DmaSegment {
                addr: s.addr,
                len: s.len,
            };
        }
        let offload = offload_of(&info);
        let header = skb.head(&info);
        let pci = self.pci;
        let res = self.with_dev(|i| {
            let Inner { dev, tables } = i;
            let Some(token) = tables.tx_insert(q, skb, info.len, segs) else {
                dev.tx_kick(q);
                return Err(TxError::NoSpace);
            };
            let pkt = TxPacket {
                segments: &dsegs[..n],
                header,
                offload,
                token,
            };
            match dev.tx_post(q, &pkt) {
                Ok(()) => {
                    if nd.txq_sent(q, info.len) {
                        dev.tx_kick(q);
                    }
                    if dev.tx_space(q) < TX_STOP_THRESHOLD {
                        nd.txq_stop(q);
                        dev.tx_kick(q);
                        // A completion may have freed space between the check and the stop.
                        if dev.tx_space(q) >= 2 * TX_STOP_THRESHOLD {
                            nd.txq_wake(q);
                        }
                    }
                    Ok(())
                }
                Err(e) => {
                    tables.tx_abort(token);
                    dev.tx_kick(q);
                    Err(e)
                }
            }
        });
        match res {
            Some(Ok(())) => Xmit::Done,
            Some(Err(TxError::NoSpace)) => {
                pci.unmap_tx(segs);
                nd.txq_stop(q);
                Xmit::Busy
            }
            // Not running (reset pending or queue closed), malformed or too many segments
            // after linearizing: the packet is dropped and counted.
            Some(Err(_)) | None => {
                pci.unmap_tx(segs);
                self.drop_tx(skb)
            }
        }
    }

    fn drop_tx(&self, skb: SkbPtr) -> Xmit {
        skb.free(0);
        add(&self.counters.tx_dropped, 1);
        Xmit::Done
    }

    /// NAPI poll of queue pair `q`: TX completions, RX packets, refill, re-arm.
    pub(crate) fn poll(&self, q: u16, budget: i32) -> i32 {
        let Some(nd) = self.nd else { return 0 };
        let budget_u = u32::try_from(budget).unwrap_or(0);
        let pci = self.pci;
        // TX completions (the skbs are freed here; nothing calls back into this driver).
        let tx = self.with_dev(|i| {
            i.dev.note_queue_interrupt(q);
            let Inner { dev, tables } = i;
            let (mut pkts, mut bytes) = (0u32, 0u32);
            let done = dev.tx_poll(q, TX_BUDGET, &mut |tok| {
                if let Some((skb, len)) = tables.tx_finish(pci, tok) {
                    pkts += 1;
                    bytes = bytes.wrapping_add(len);
                    skb.free(budget);
                }
            });
            (done, pkts, bytes, dev.tx_space(q), dev.rx_policy(q))
        });
        let Some((tx_done, pkts, bytes, space, policy)) = tx else {
            nd.napi_complete(q, 0);
            return 0;
        };
        if pkts > 0 {
            nd.txq_completed(q, pkts, bytes);
            add(&self.counters.tx_packets, pkts.into());
            add(&self.counters.tx_bytes, bytes.into());
        }
        if nd.txq_stopped(q) && space >= 2 * TX_STOP_THRESHOLD {
            nd.txq_wake(q);
        }
        // RX in chunks: reap under the lock, deliver without it.
        let mut work = 0u32;
        while work < budget_u {
            let mut frags = [RxFrag {
                page: core::ptr::null_mut(),
                dma: 0,
                len: 0,
            }; RX_CHUNK * RX_MAX_FRAGS];
            let mut pkts = [PktMeta::default(); RX_CHUNK];
            let want = (budget_u - work).min(RX_CHUNK as u32);
            let got = self.with_dev(|i| reap_rx(i, pci, q, want, &mut pkts, &mut frags));
            let Some((n, mut drops)) = got else { break };
            // Pages of packets delivered as copies: still mapped, posted again.
            let mut spare = [(core::ptr::null_mut(), 0u64); RX_CHUNK];
            let mut copied = 0usize;
            for p in &pkts[..n] {
                let f = &frags[p.first..p.first + p.nfrags];
                let how = nd.rx_deliver(
                    q,
                    f,
                    p.offset,
                    p.len,
                    p.csum_ok,
                    p.hash,
                    p.hash_kind,
                    policy.copybreak,
                );
                if how == RxDelivery::Dropped {
                    drops += 1;
                    continue;
                }
                add(&self.counters.rx_packets, 1);
                add(&self.counters.rx_bytes, p.len.into());
                if how == RxDelivery::Copied {
                    if let (Some(s), Some(f0)) = (spare.get_mut(copied), f.first()) {
                        *s = (f0.page, f0.dma);
                        copied += 1;
                    }
                }
            }
            if copied > 0 {
                let spare = &spare[..copied];
                let kept = self.with_dev(|i| {
                    for &(page, dma) in spare {
                        if let Some(page) = core::ptr::NonNull::new(page) {
                            i.tables.rx_recycle(pci, q, page, dma);
                        }
                    }
                    i.dev.note_rx_copybreak(q, copied as u32);
                });
                if kept.is_none() {
                    // The control path owns the device now: the pages go back to the kernel.
                    for &(page, dma) in spare {
                        if let Some(page) = core::ptr::NonNull::new(page) {
                            pci.free_rx_page(page, dma);
                        }
                    }
                }
            }
            add(&self.counters.rx_dropped, drops);
            work += n as u32 + drops as u32;
            if (n as u32 + drops as u32) < want {
                break;
            }
        }
        let work = work.min(budget_u);
        let more = work >= budget_u || tx_done >= TX_BUDGET;
        // Refill; then complete NAPI outside the lock (completing flushes GRO, which may
        // transmit on this device) and re-arm if NAPI says the poll is really over.
        self.with_dev(|i| refill(i, pci, q, policy.refill_threshold));
        if !more && nd.napi_complete(q, work as i32) {
            self.with_dev(|i| i.dev.unmask_queue_interrupt(q));
        }
        if more {
            budget
        } else {
            work as i32
        }
    }
}

/// One received packet between reaping and delivery.
#[derive(Clone, Copy, Default)]
struct PktMeta {
    first: usize,
    nfrags: usize,
    offset: u32,
    len: u32,
    csum_ok: bool,
    hash: u32,
    /// 0 none, 1 L3, 2 L4 (helpers.c `cn_rx_deliver`).
    hash_kind: u32,
}

/// Reap up to `want` RX packets of `q` into `pkts`/`frags` (pages leave their slots);
/// returns (packets ready, packets dropped here).
fn reap_rx(
    i: &mut Inner<'_>,
    pci: PciHandle,
    q: u16,
    want: u32,
    pkts: &mut [PktMeta; RX_CHUNK],
    frags: &mut [RxFrag; RX_CHUNK * RX_MAX_FRAGS],
) -> (usize, u64) {
    let Inner { dev, tables } = i;
    let (mut n, mut used, mut drops) = (0usize, 0usize, 0u64);
    dev.rx_poll(q, want, &mut |p: &RxPacket<'_>| {
        let nf = p.frags.len();
        if n >= RX_CHUNK || nf == 0 || nf > RX_MAX_FRAGS || used + nf > frags.len() {
            for f in p.frags {
                release_rx_token(tables, pci, f.token);
            }
            drops += 1;
            return;
        }
        let mut ok = true;
        for (k, f) in p.frags.iter().enumerate() {
            match tables.rx_frag(f.token, f.len) {
                Some(rf) => frags[used + k] = rf,
                None => ok = false,
            }
        }
        if !ok {
            // A frag named no page: free the ones taken, drop the packet.
            for rf in &frags[used..used + nf] {
                if let Some(page) = core::ptr::NonNull::new(rf.page) {
                    pci.free_rx_page(page, rf.dma);
                }
            }
            drops += 1;
            return;
        }
        pkts[n] = PktMeta {
            first: used,
            nfrags: nf,
            offset: p.offset,
            len: p.len,
            csum_ok: p.csum == RxChecksum::Good,
            hash: p.hash,
            hash_kind: match p.hash_type {
                RssHashType::None => 0,
                RssHashType::L3 => 1,
                _ => 2,
            },
        };
        used += nf;
        n += 1;
    });
    (n, drops)
}

/// Post pages to every free RX slot of `q` (as far as memory allows) once at least
/// `threshold` are free (the device's [`cloudnic_common::nic::RxPolicy`]; 1 = always).
pub(super) fn refill(i: &mut Inner<'_>, pci: PciHandle, q: u16, threshold: u32) {
    let Inner { dev, tables } = i;
    let page = kapi::page_size();
    if dev.rx_space(q) < threshold.max(1) {
        return;
    }
    loop {
        let space = dev.rx_space(q) as usize;
        if space == 0 {
            return;
        }
        let mut got = [(0u64, 0u64); REFILL_BATCH];
        let want = space.min(REFILL_BATCH);
        let n = tables.rx_fill(pci, q, &mut got[..want]);
        if n == 0 {
            return;
        }
        let mut bufs = [RxBuffer::default(); REFILL_BATCH];
        for (b, &(token, addr)) in bufs.iter_mut().zip(&got[..n]) {
            *b = RxBuffer {
                addr,
                len: page,
                token,
            };
        }
        let taken = dev.rx_refill(q, &bufs[..n]) as usize;
        for b in &bufs[taken.min(n)..n] {
            release_rx_token(tables, pci, b.token);
        }
        if taken < n || n < want {
            return;
        }
    }
}

/// Free the page behind an RX token the device does not hold.
pub(super) fn release_rx_token(tables: &mut Tables, pci: PciHandle, tok: u64) {
    if let Some((page, dma)) = tables.rx_take(tok) {
        pci.free_rx_page(page, dma);
    }
}
