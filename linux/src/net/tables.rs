// SPDX-License-Identifier: GPL-2.0 OR MIT
//! Who owns each buffer the device holds: per queue, a TX slot per posted skb (with its DMA
//! mappings, to unmap at completion) and an RX slot per posted page.
//!
//! The shared core hands every token back exactly once (common/src/nic.rs); a token is
//! `queue << 32 | slot`, so `Released` tokens from close/reset, which carry no queue, still
//! find their table. A token the core returns that names no live slot is ignored and counted
//! (it cannot happen unless the core is wrong; it must not free anything twice).

use core::ptr::NonNull;

use kernel::prelude::*;

use crate::kapi::{DmaSeg, PciHandle, RawPage, RxFrag, SkbPtr};

/// Most DMA segments of one TX skb: head + MAX_SKB_FRAGS (17, the kernel default).
pub(crate) const MAX_TX_SEGS: usize = 18;

/// Token of slot `idx` of queue `q`.
pub(crate) fn token(q: u16, idx: u32) -> u64 {
    (u64::from(q) << 32) | u64::from(idx)
}

/// (queue, slot) of a token.
pub(crate) fn split(tok: u64) -> (u16, u32) {
    ((tok >> 32) as u16, tok as u32)
}

/// One posted TX skb and its mappings.
pub(crate) struct TxSlot {
    skb: Option<SkbPtr>,
    len: u32,
    nsegs: u8,
    segs: [DmaSeg; MAX_TX_SEGS],
}

/// One posted RX page.
#[derive(Clone, Copy)]
pub(crate) struct RxSlot {
    page: Option<NonNull<RawPage>>,
    dma: u64,
}

/// A fixed set of slots with a free-index stack.
pub(crate) struct SlotTable<T> {
    slots: KVVec<T>,
    free: KVVec<u32>,
}

impl<T> SlotTable<T> {
    fn new(n: u32, empty: impl Fn() -> T) -> Result<Self> {
        let n_us = n as usize;
        let mut slots = KVVec::with_capacity(n_us, GFP_KERNEL)?;
        let mut free = KVVec::with_capacity(n_us, GFP_KERNEL)?;
        for i in 0..n {
            slots.push_within_capacity(empty()).map_err(|_| ENOMEM)?;
            // LIFO: slot 0 is handed out first.
            free.push_within_capacity(n - 1 - i).map_err(|_| ENOMEM)?;
        }
        Ok(Self { slots, free })
    }

    /// Slots in use.
    pub(crate) fn in_use(&self) -> usize {
        self.slots.len() - self.free.len()
    }

    fn take_free(&mut self) -> Option<u32> {
        self.free.pop()
    }

    fn put_free(&mut self, idx: u32) {
        // Capacity is the slot count and each index is free at most once.
        let _ = self.free.push_within_capacity(idx);
    }
}

/// The per-queue tables of one interface configuration.
pub(crate) struct Tables {
    pub(crate) tx: KVVec<SlotTable<TxSlot>>,
    pub(crate) rx: KVVec<SlotTable<RxSlot>>,
    /// Per queue: mapped pages back from a copybreak delivery, posted again before any
    /// fresh page is allocated (at most the ring size each).
    rx_spare: KVVec<KVVec<(NonNull<RawPage>, u64)>>,
    /// Tokens the core returned that named no live slot.
    pub(crate) stray_tokens: u64,
}

impl Tables {
    /// Empty (interface down).
    pub(crate) fn empty() -> Self {
        Self {
            tx: KVVec::new(),
            rx: KVVec::new(),
            rx_spare: KVVec::new(),
            stray_tokens: 0,
        }
    }

    /// Tables for `nq` queues of `tx`/`rx` slots each.
    pub(crate) fn new(nq: u16, tx: u32, rx: u32) -> Result<Self> {
        let mut t = Self::empty();
        t.tx = KVVec::with_capacity(nq.into(), GFP_KERNEL)?;
        t.rx = KVVec::with_capacity(nq.into(), GFP_KERNEL)?;
        t.rx_spare = KVVec::with_capacity(nq.into(), GFP_KERNEL)?;
        for _ in 0..nq {
            let txs = SlotTable::new(tx, || TxSlot {
                skb: None,
                len: 0,
                nsegs: 0,
                segs: [DmaSeg::default(); MAX_TX_SEGS],
            })?;
            t.tx.push_within_capacity(txs).map_err(|_| ENOMEM)?;
            let rxs = SlotTable::new(rx, || RxSlot { page: None, dma: 0 })?;
            t.rx.push_within_capacity(rxs).map_err(|_| ENOMEM)?;
            let spare = KVVec::with_capacity(rx as usize, GFP_KERNEL)?;
            t.rx_spare.push_within_capacity(spare).map_err(|_| ENOMEM)?;
        }
        Ok(t)
    }

    /// Buffers the device still holds, over all queues.
    pub(crate) fn in_use(&self) -> usize {
        self.tx.iter().map(SlotTable::in_use).sum::<usize>()
            + self.rx.iter().map(SlotTable::in_use).sum::<usize>()
    }

    /// TX packets of queue `q` the device still holds.
    pub(crate) fn tx_in_flight(&self, q: u16) -> usize {
        self.tx.get(usize::from(q)).map_or(0, SlotTable::in_use)
    }

    /// Record a TX skb about to be posted on `q`; its token, or None if no slot is free.
    pub(crate) fn tx_insert(
        &mut self,
        q: u16,
        skb: SkbPtr,
        len: u32,
        segs: &[DmaSeg],
    ) -> Option<u64> {
        let t = self.tx.get_mut(usize::from(q))?;
        let idx = t.take_free()?;
        let Some(s) = t.slots.get_mut(idx as usize) else {
            t.put_free(idx);
            return None;
        };
        let n = segs.len().min(MAX_TX_SEGS);
        s.segs[..n].copy_from_slice(&segs[..n]);
        s.nsegs = n as u8;
        s.skb = Some(skb);
        s.len = len;
        Some(token(q, idx))
    }

    /// Forget a TX slot whose post failed (the caller keeps the skb and its mappings).
    pub(crate) fn tx_abort(&mut self, tok: u64) {
        let (q, idx) = split(tok);
        if let Some(t) = self.tx.get_mut(usize::from(q)) {
            if let Some(s) = t.slots.get_mut(idx as usize) {
                if s.skb.take().is_some() {
                    t.put_free(idx);
                }
            }
        }
    }

    /// A TX packet is done (completed or released): unmap; the skb and its length.
    pub(crate) fn tx_finish(&mut self, pci: PciHandle, tok: u64) -> Option<(SkbPtr, u32)> {
        let r = self.tx_take(pci, tok);
        if r.is_none() {
            self.stray_tokens += 1;
        }
        r
    }

    fn tx_take(&mut self, pci: PciHandle, tok: u64) -> Option<(SkbPtr, u32)> {
        let (q, idx) = split(tok);
        let t = self.tx.get_mut(usize::from(q))?;
        let s = t.slots.get_mut(idx as usize)?;
        let skb = s.skb.take()?;
        pci.unmap_tx(&s.segs[..usize::from(s.nsegs)]);
        let len = s.len;
        t.put_free(idx);
        Some((skb, len))
    }

    /// Fill up to `out.len()` free RX slots of `q` with pages (spare ones first, then fresh);
    /// returns how many.
    pub(crate) fn rx_fill(&mut self, pci: PciHandle, q: u16, out: &mut [(u64, u64)]) -> usize {
        let (Some(t), Some(spare)) = (
            self.rx.get_mut(usize::from(q)),
            self.rx_spare.get_mut(usize::from(q)),
        ) else {
            return 0;
        };
        let mut n = 0;
        while n < out.len() {
            let Some(idx) = t.take_free() else { break };
            let Some((page, dma)) = spare.pop().or_else(|| pci.alloc_rx_page()) else {
                t.put_free(idx);
                break;
            };
            match t.slots.get_mut(idx as usize) {
                Some(s) => {
                    *s = RxSlot {
                        page: Some(page),
                        dma,
                    };
                    out[n] = (token(q, idx), dma);
                    n += 1;
                }
                None => {
                    pci.free_rx_page(page, dma);
                    break;
                }
            }
        }
        n
    }

    /// Take the page of an RX token out of its slot (the device filled or released it).
    pub(crate) fn rx_take(&mut self, tok: u64) -> Option<(NonNull<RawPage>, u64)> {
        let (q, idx) = split(tok);
        let t = self.rx.get_mut(usize::from(q))?;
        let s = t.slots.get_mut(idx as usize)?;
        let page = s.page.take()?;
        let dma = s.dma;
        t.put_free(idx);
        Some((page, dma))
    }

    /// Keep a still-mapped page of `q` (its packet was copied out) for the next refill; frees
    /// it if there is no room.
    pub(crate) fn rx_recycle(&mut self, pci: PciHandle, q: u16, page: NonNull<RawPage>, dma: u64) {
        let kept = match self.rx_spare.get_mut(usize::from(q)) {
            Some(spare) => spare.push_within_capacity((page, dma)).is_ok(),
            None => false,
        };
        if !kept {
            pci.free_rx_page(page, dma);
        }
    }

    /// An RX token with its data length, as the C side takes it.
    pub(crate) fn rx_frag(&mut self, tok: u64, len: u32) -> Option<RxFrag> {
        match self.rx_take(tok) {
            Some((page, dma)) => Some(RxFrag {
                page: page.as_ptr(),
                dma,
                len,
            }),
            None => {
                self.stray_tokens += 1;
                None
            }
        }
    }

    /// Free everything still recorded (after the device was reset or its queues destroyed
    /// and the core released what it knew of).
    pub(crate) fn drain(&mut self, pci: PciHandle) {
        for t in self.tx.iter_mut() {
            for s in t.slots.iter_mut() {
                if let Some(skb) = s.skb.take() {
                    pci.unmap_tx(&s.segs[..usize::from(s.nsegs)]);
                    skb.free(0);
                }
            }
        }
        for t in self.rx.iter_mut() {
            for s in t.slots.iter_mut() {
                if let Some(page) = s.page.take() {
                    pci.free_rx_page(page, s.dma);
                }
            }
        }
        for spare in self.rx_spare.iter_mut() {
            while let Some((page, dma)) = spare.pop() {
                pci.free_rx_page(page, dma);
            }
        }
    }
}
