//! The OS network stack's side of any `NetDevice`, as a shim would be: packet
//! buffers in guest memory, TX packets described from parsed headers, the
//! NAPI-style poll, and a ledger of every token handed to the driver. Shared
//! by the ENA and MANA fixtures, which differ only in how they build and wire
//! their device.

use std::collections::BTreeSet;

use cloudnic_common::nic::{
    DmaSegment, L3Proto, L4Proto, NetDevice, Released, RssHashType, RxBuffer, RxChecksum, RxPacket,
    TxBurst, TxError, TxOffload, TxPacket,
};
use cloudnic_models::ledger::{BufKind, Ledger};
use cloudnic_models::net::{self, L3};
use cloudnic_models::Arena;

/// A frame of `len` bytes at `buf` as DMA segments of at most `seg_len` bytes.
fn segments_of(buf: u64, len: usize, seg_len: usize) -> Vec<DmaSegment> {
    (0..len)
        .step_by(seg_len.max(1))
        .map(|o| DmaSegment {
            addr: buf + o as u64,
            len: (len - o).min(seg_len) as u32,
        })
        .collect()
}

/// One received frame as the stack would see it.
#[derive(Clone, Debug)]
pub struct Received {
    /// Port (MANA vPort; 0 for ENA) it arrived on.
    pub port: u16,
    /// Queue pair it arrived on.
    pub queue: u16,
    /// Frame bytes.
    pub frame: Vec<u8>,
    /// Checksum verdict.
    pub csum: RxChecksum,
    /// RSS hash.
    pub hash: u32,
    /// What the hash covers.
    pub hash_type: RssHashType,
    /// Buffers it spanned.
    pub buffers: usize,
    /// 802.1Q tag the device stripped (`RxPacket::vlan_tci`).
    pub vlan_tci: Option<u16>,
}

/// Host-side ledger: every token given to the driver must come back once.
#[derive(Debug, Default)]
pub struct TokenLedger {
    /// TX tokens (bus address of the packet buffer) in flight.
    pub tx: BTreeSet<u64>,
    /// RX tokens (bus address of the buffer) posted.
    pub rx: BTreeSet<u64>,
    /// Tokens returned that were not outstanding (must stay empty).
    pub violations: Vec<String>,
}

impl TokenLedger {
    /// Panic with `who` if anything is outstanding or was returned wrongly.
    pub fn assert_clean(&self, who: &str) {
        assert!(
            self.violations.is_empty(),
            "{who}: ledger violations: {:?}",
            self.violations
        );
        assert!(
            self.tx.is_empty(),
            "{who}: TX tokens never returned: {}",
            self.tx.len()
        );
        assert!(
            self.rx.is_empty(),
            "{who}: RX tokens never returned: {}",
            self.rx.len()
        );
    }
}

/// One packet as `rx_poll` reported it, copied out of the callback.
struct PolledRx {
    frags: Vec<(u64, u32)>,
    offset: u32,
    len: u32,
    csum: RxChecksum,
    hash: u32,
    hash_type: RssHashType,
    vlan_tci: Option<u16>,
}

/// The stack's state for one device, borrowed from a node for one call.
pub struct StackIo<'a> {
    /// Guest memory for packet buffers.
    pub arena: &'a Arena,
    /// The node's token ledger.
    pub ledger: &'a mut TokenLedger,
    /// Frames delivered so far.
    pub received: &'a mut Vec<Received>,
    /// Size of each RX buffer posted.
    pub rx_buffer_size: u32,
}

impl StackIo<'_> {
    /// Fill queue `q`'s RX ring with fresh buffers (token = bus address).
    pub fn refill(&mut self, dev: &mut impl NetDevice, q: u16) {
        let space = dev.rx_space(q);
        let mut bufs = Vec::with_capacity(space as usize);
        for _ in 0..space {
            let Some(addr) = self.arena.alloc(self.rx_buffer_size as usize, 64) else {
                break;
            };
            bufs.push(RxBuffer {
                addr,
                len: self.rx_buffer_size,
                token: addr,
            });
        }
        if bufs.is_empty() {
            return;
        }
        let taken = dev.rx_refill(q, &bufs) as usize;
        for b in &bufs[..taken.min(bufs.len())] {
            self.ledger.rx.insert(b.token);
        }
        for b in bufs.iter().skip(taken) {
            self.arena.free(b.addr);
        }
    }

    /// Transmit `frame` on queue `q` the way Linux would describe it: offloads
    /// from the parsed headers when `offload` is true (checksum via the
    /// pseudo-header-prefilled "partial" mode, TSO when `mss` is non-zero),
    /// the frame split into segments of at most `seg_len` bytes.
    pub fn send(
        &mut self,
        dev: &mut impl NetDevice,
        q: u16,
        frame: &[u8],
        offload: bool,
        mss: u16,
        seg_len: usize,
    ) -> Result<(), TxError> {
        let off = if offload {
            offload_for(frame, mss)
        } else {
            TxOffload::default()
        };
        self.send_with(dev, q, frame, off, seg_len)
    }

    /// Transmit `frame` on queue `q` with the offload request `off` exactly
    /// as given (a VLAN tag to insert, a deliberately bad request...).
    pub fn send_with(
        &mut self,
        dev: &mut impl NetDevice,
        q: u16,
        frame: &[u8],
        off: TxOffload,
        seg_len: usize,
    ) -> Result<(), TxError> {
        let buf = self.arena.alloc(frame.len(), 64).ok_or(TxError::NoSpace)?;
        self.arena.store_bytes(buf, frame);
        let segments = segments_of(buf, frame.len(), seg_len);
        let pkt = TxPacket {
            segments: &segments,
            header: &frame[..frame.len().min(256)],
            offload: off,
            token: buf,
        };
        match dev.tx_post(q, &pkt) {
            Ok(()) => {
                self.ledger.tx.insert(buf);
                Ok(())
            }
            Err(e) => {
                self.arena.free(buf);
                Err(e)
            }
        }
    }

    /// Transmit `frames` (each with its offload request, as given) on queue
    /// `q` in one [`NetDevice::tx_post_burst`] call; the frames the driver
    /// did not take are freed again.
    pub fn send_burst(
        &mut self,
        dev: &mut impl NetDevice,
        q: u16,
        frames: &[(&[u8], TxOffload)],
        seg_len: usize,
    ) -> TxBurst {
        let mut segments: Vec<Vec<DmaSegment>> = Vec::new();
        let mut tokens = Vec::new();
        for (frame, _) in frames {
            let Some(buf) = self.arena.alloc(frame.len(), 64) else {
                break;
            };
            self.arena.store_bytes(buf, frame);
            segments.push(segments_of(buf, frame.len(), seg_len));
            tokens.push(buf);
        }
        let pkts: Vec<TxPacket<'_>> = frames
            .iter()
            .zip(&segments)
            .zip(&tokens)
            .map(|(((frame, off), segs), &token)| TxPacket {
                segments: segs,
                header: &frame[..frame.len().min(256)],
                offload: *off,
                token,
            })
            .collect();
        let mut burst = dev.tx_post_burst(q, &pkts);
        if burst.stopped.is_none() && burst.posted < frames.len() {
            // The arena ran out before the driver did.
            burst.stopped = Some(TxError::NoSpace);
        }
        for (i, &token) in tokens.iter().enumerate() {
            if i < burst.posted {
                self.ledger.tx.insert(token);
            } else {
                self.arena.free(token);
            }
        }
        burst
    }

    /// One NAPI-style poll of queue pair `q` (port `port`): TX completions,
    /// RX packets, optional refill, re-arm.
    pub fn poll(&mut self, dev: &mut impl NetDevice, port: u16, q: u16, refill: bool) {
        if !dev.is_open() || q >= dev.queue_config().num_queues {
            return;
        }
        dev.note_queue_interrupt(q);
        let mut done = Vec::new();
        dev.tx_poll(q, 1024, &mut |t| done.push(t));
        let mut got: Vec<PolledRx> = Vec::new();
        dev.rx_poll(q, 1024, &mut |p: &RxPacket<'_>| {
            got.push(PolledRx {
                frags: p.frags.iter().map(|f| (f.token, f.len)).collect(),
                offset: p.offset,
                len: p.len,
                csum: p.csum,
                hash: p.hash,
                hash_type: p.hash_type,
                vlan_tci: p.vlan_tci,
            });
        });
        for t in done {
            if !self.ledger.tx.remove(&t) {
                self.ledger
                    .violations
                    .push(format!("TX token {t:#x} completed but not in flight"));
            }
            self.arena.free(t);
        }
        for PolledRx {
            frags,
            offset,
            len,
            csum,
            hash,
            hash_type,
            vlan_tci,
        } in got
        {
            let mut frame = Vec::with_capacity(len as usize);
            for (i, (tok, flen)) in frags.iter().enumerate() {
                if !self.ledger.rx.remove(tok) {
                    self.ledger
                        .violations
                        .push(format!("RX token {tok:#x} returned but not posted"));
                }
                let start = if i == 0 { offset } else { 0 };
                let mut b = vec![0u8; *flen as usize];
                self.arena.load_bytes(tok + u64::from(start), &mut b);
                frame.extend_from_slice(&b);
                self.arena.free(*tok);
            }
            frame.truncate(len as usize);
            self.received.push(Received {
                port,
                queue: q,
                frame,
                csum,
                hash,
                hash_type,
                buffers: frags.len(),
                vlan_tci,
            });
        }
        if refill {
            self.refill(dev, q);
        }
        dev.unmask_queue_interrupt(q);
    }

    /// Take back tokens the driver released (close / reset / removal) and
    /// return the set of tokens, for [`reconcile_model_ledger`].
    pub fn release(&mut self, released: Vec<Released>) -> (BTreeSet<u64>, BTreeSet<u64>) {
        let (mut tx, mut rx) = (BTreeSet::new(), BTreeSet::new());
        for r in released {
            let (set, tok, kind, seen) = match r {
                Released::Tx(t) => (&mut self.ledger.tx, t, "TX", &mut tx),
                Released::Rx(t) => (&mut self.ledger.rx, t, "RX", &mut rx),
            };
            if !set.remove(&tok) {
                self.ledger.violations.push(format!(
                    "{kind} token {tok:#x} released but not outstanding"
                ));
            }
            seen.insert(tok);
            self.arena.free(tok);
        }
        (tx, rx)
    }
}

/// Tell a model's ledger which of the buffers it still held the driver gave
/// back, so at teardown a buffer the driver never returned shows up as lost.
/// The device records a buffer by the first address it touched, which lies
/// inside the token's buffer (tokens are buffer start addresses).
pub fn reconcile_model_ledger(model: &mut Ledger, released: &(BTreeSet<u64>, BTreeSet<u64>)) {
    for e in model.lost() {
        let tokens = if e.key.kind == BufKind::Tx {
            &released.0
        } else {
            &released.1
        };
        let owner = tokens.range(..=e.addr).next_back();
        if owner.is_some_and(|t| e.addr - t < 0x1_0000) {
            model.release(e.key.kind, e.key.queue, e.key.id);
        }
    }
}

/// Offload request for a frame, the way Linux builds it for CHECKSUM_PARTIAL
/// or GSO skbs (the IPv4 header checksum is left to the device too).
pub fn offload_for(frame: &[u8], mss: u16) -> TxOffload {
    let Some(p) = net::parse(frame) else {
        return TxOffload::default();
    };
    let (l3, df) = match p.l3 {
        L3::V4 { df, .. } => (L3Proto::Ipv4, df),
        L3::V6 { .. } => (L3Proto::Ipv6, false),
        L3::Other => return TxOffload::default(),
    };
    let Some(l4h) = p.l4 else {
        return TxOffload {
            l3,
            ..Default::default()
        };
    };
    let l4 = match l4h.proto {
        net::parse::IPPROTO_TCP => L4Proto::Tcp,
        net::parse::IPPROTO_UDP => L4Proto::Udp,
        _ => L4Proto::Unknown,
    };
    TxOffload {
        l3,
        l4,
        l3_offset: p.l3_offset as u16,
        l3_len: p.l3_len() as u16,
        l4_len: l4h.hdr_len as u16,
        ipv4_csum: l3 == L3Proto::Ipv4,
        l4_csum: l4 != L4Proto::Unknown,
        l4_csum_partial: mss == 0,
        tso_mss: if l4 == L4Proto::Tcp { mss } else { 0 },
        ipv4_df: df,
        // The frame is sent as built: a tag, if any, is already in it.
        vlan_tci: None,
    }
}
