//! A minimal register-level "driver" for the model's own unit tests: raw
//! register writes and hand-built descriptors, independent of `cloudnic_ena`'s
//! driver code (only its wire structs are shared).

use std::rc::Rc;

use cloudnic_ena::defs::admin::{
    AcqEntry, AdminCommand, AenqConfig, AqEntry, CreateCqCmd, CreateCqResp, CreateSqCmd,
    CreateSqResp, FeatureId, LlqFeature, SetFeatureCmd, SqDirection, ACQ_DEPTH, ADMIN_ENTRY_SIZE,
    AQ_DEPTH,
};
use cloudnic_ena::defs::aenq::{AenqEntry, AENQ_DEPTH, AENQ_ENTRY_SIZE};
use cloudnic_ena::defs::io::{
    tx_offload_ctrl, IntrCtrl, RxCdesc, RxDesc, TxCdesc, TxDesc, TxDescCtrl, TxDescMetaCtrl,
    TxMeta, TxMetaDesc, RX_CDESC_WORDS, TX_CDESC_WORDS,
};
use cloudnic_ena::defs::regs::{
    addr_lo_hi, dev_ctl_reset, mmio_reg_read_request, offset, queue_caps, DevSts, MmioReadResp,
    READLESS_PREFILL_ADD,
};
use zerocopy::{FromBytes, IntoBytes};

use super::{EnaModel, EnaModelConfig};
use crate::{Arena, Device, GuestMemory, InterruptSink, VirtualClock};

/// One queue pair as the test driver sees it.
pub(crate) struct Pair {
    pub tx_sq: u16,
    pub rx_sq: u16,
    pub tx_db: u32,
    pub rx_db: u32,
    pub unmask: u32,
    pub depth: u16,
    pub tx_ring: u64,
    pub rx_ring: u64,
    pub tx_cq_ring: u64,
    pub rx_cq_ring: u64,
    pub llq_off: Option<u32>,
    pub tx_tail: u16,
    pub rx_tail: u16,
    pub tx_cq_head: u16,
    pub rx_cq_head: u16,
}

/// Offload request for [`RawDriver::send`].
#[derive(Clone, Copy, Default)]
pub(crate) struct Offload {
    pub l3_proto: u8,
    pub l4_proto: u8,
    pub flags: TxDescMetaCtrl,
    pub meta: Option<TxMeta>,
}

pub(crate) struct RawDriver {
    pub arena: Rc<Arena>,
    pub clock: Rc<VirtualClock>,
    pub irq: Rc<InterruptSink>,
    pub dev: EnaModel,
    pub resp: u64,
    seq: u16,
    aq: u64,
    acq: u64,
    aq_tail: u16,
    acq_head: u16,
    pub aenq: u64,
    aenq_head: u16,
    next_cmd: u16,
}

impl RawDriver {
    pub fn new(cfg: EnaModelConfig) -> Self {
        let arena = Rc::new(Arena::new(8 << 20));
        let clock = Rc::new(VirtualClock::new());
        let irq = Rc::new(InterruptSink::new());
        let dev = EnaModel::new(cfg, arena.clone(), clock.clone(), irq.clone());
        let resp = arena.alloc(8, 8).unwrap();
        RawDriver {
            arena,
            clock,
            irq,
            dev,
            resp,
            seq: 0,
            aq: 0,
            acq: 0,
            aq_tail: 0,
            acq_head: 0,
            aenq: 0,
            aenq_head: 0,
            next_cmd: 0,
        }
    }

    pub fn w(&mut self, off: u32, val: u32) {
        self.dev.mmio_write(0, u64::from(off), 4, u64::from(val));
    }
    pub fn r(&mut self, off: u32) -> u32 {
        self.dev.mmio_read(0, u64::from(off), 4) as u32
    }
    pub fn advance(&mut self, us: u64) {
        self.clock.advance_us(us);
        self.dev.tick();
    }

    pub fn set_resp_addr(&mut self) {
        let (lo, hi) = addr_lo_hi(self.resp);
        self.w(offset::MMIO_RESP_LO, lo);
        self.w(offset::MMIO_RESP_HI, hi);
    }

    /// A readless read: None when the device never answers.
    pub fn readless(&mut self, reg: u32) -> Option<u32> {
        self.seq = self.seq.wrapping_add(1);
        let pre = MmioReadResp {
            req_id: self.seq.wrapping_add(READLESS_PREFILL_ADD),
            reg_off: 0,
            reg_val: 0,
        };
        self.arena.write(self.resp, pre.as_bytes()).unwrap();
        self.w(
            offset::MMIO_REG_READ,
            mmio_reg_read_request(self.seq, reg as u16),
        );
        let mut b = [0u8; 8];
        self.arena.read(self.resp, &mut b).unwrap();
        let r = MmioReadResp::read_from_bytes(&b).unwrap();
        (r.req_id == self.seq && u32::from(r.reg_off) == reg).then_some(r.reg_val)
    }

    /// The reset handshake of ena.md §6.3, polling in 10 µs steps.
    pub fn reset(&mut self, reason: u8) {
        assert_ne!(
            self.readless(offset::DEV_STS).unwrap() & DevSts::READY.bits(),
            0
        );
        self.w(offset::DEV_CTL, dev_ctl_reset(reason, true));
        self.set_resp_addr();
        let mut n = 0;
        while self.readless(offset::DEV_STS).unwrap() & DevSts::RESET_IN_PROGRESS.bits() == 0 {
            self.advance(10);
            n += 1;
            assert!(n < 1000, "reset never started");
        }
        self.w(offset::DEV_CTL, 0);
        while self.readless(offset::DEV_STS).unwrap() & DevSts::RESET_IN_PROGRESS.bits() != 0 {
            self.advance(10);
            n += 1;
            assert!(n < 1000, "reset never finished");
        }
    }

    /// Admin queues and AENQ, polling mode (ena.md §3.1, §4).
    pub fn admin_init(&mut self) {
        self.aq = self.arena.alloc(usize::from(AQ_DEPTH) * 64, 4096).unwrap();
        self.acq = self.arena.alloc(usize::from(ACQ_DEPTH) * 64, 4096).unwrap();
        self.aenq = self
            .arena
            .alloc(usize::from(AENQ_DEPTH) * 64, 4096)
            .unwrap();
        let (lo, hi) = addr_lo_hi(self.aq);
        self.w(offset::AQ_BASE_LO, lo);
        self.w(offset::AQ_BASE_HI, hi);
        let (lo, hi) = addr_lo_hi(self.acq);
        self.w(offset::ACQ_BASE_LO, lo);
        self.w(offset::ACQ_BASE_HI, hi);
        self.w(offset::AQ_CAPS, queue_caps(AQ_DEPTH, ADMIN_ENTRY_SIZE));
        self.w(offset::ACQ_CAPS, queue_caps(ACQ_DEPTH, ADMIN_ENTRY_SIZE));
        let (lo, hi) = addr_lo_hi(self.aenq);
        self.w(offset::AENQ_BASE_LO, lo);
        self.w(offset::AENQ_BASE_HI, hi);
        self.w(offset::AENQ_CAPS, queue_caps(AENQ_DEPTH, AENQ_ENTRY_SIZE));
        self.w(offset::INTR_MASK, 1);
        self.aq_tail = 0;
        self.acq_head = 0;
        self.aenq_head = AENQ_DEPTH;
    }

    /// Interrupt mode for admin/AENQ and all AENQ entries available.
    pub fn enable_mgmt_interrupts(&mut self) {
        self.w(offset::INTR_MASK, 0);
        self.w(offset::AENQ_HEAD_DB, u32::from(self.aenq_head));
    }

    /// Submit `cmd`; the completion if one was written.
    pub fn submit<C: AdminCommand>(&mut self, cmd: &C) -> Option<AcqEntry> {
        let mut e = AqEntry::from_command(cmd);
        self.submit_entry(&mut e)
    }

    pub fn submit_entry(&mut self, e: &mut AqEntry) -> Option<AcqEntry> {
        let phase = (self.aq_tail / AQ_DEPTH).is_multiple_of(2);
        let id = self.next_cmd;
        self.next_cmd = (self.next_cmd + 1) % AQ_DEPTH;
        e.stamp(id, phase);
        let slot = u64::from(self.aq_tail % AQ_DEPTH);
        self.arena.write(self.aq + slot * 64, e.as_bytes()).unwrap();
        self.aq_tail = self.aq_tail.wrapping_add(1);
        self.w(offset::AQ_DB, u32::from(self.aq_tail));
        self.reap()
    }

    /// The next ACQ entry if its phase says it is new.
    pub fn reap(&mut self) -> Option<AcqEntry> {
        let phase = (self.acq_head / ACQ_DEPTH).is_multiple_of(2);
        let slot = u64::from(self.acq_head % ACQ_DEPTH);
        let mut b = [0u8; 64];
        self.arena.read(self.acq + slot * 64, &mut b).unwrap();
        let e = AcqEntry::read_from_bytes(&b).unwrap();
        if e.phase() != phase {
            return None;
        }
        self.acq_head = self.acq_head.wrapping_add(1);
        Some(e)
    }

    /// Submit and require success.
    pub fn ok<C: AdminCommand>(&mut self, cmd: &C) -> AcqEntry {
        let e = self.submit(cmd).expect("no completion");
        assert_eq!(
            e.common.status,
            0,
            "admin opcode {} failed",
            cmd.as_bytes()[2]
        );
        e
    }

    pub fn enable_aenq(&mut self, groups: u32) {
        self.ok(&SetFeatureCmd::new(
            FeatureId::AenqConfig,
            &AenqConfig {
                supported_groups: 0,
                enabled_groups: groups,
            },
        ));
    }

    /// New AENQ entries; writes the head doorbell if any.
    pub fn poll_aenq(&mut self) -> Vec<AenqEntry> {
        let mut out = Vec::new();
        loop {
            let phase = ((self.aenq_head - AENQ_DEPTH) / AENQ_DEPTH).is_multiple_of(2);
            let slot = u64::from(self.aenq_head % AENQ_DEPTH);
            let mut b = [0u8; 64];
            self.arena.read(self.aenq + slot * 64, &mut b).unwrap();
            let e = AenqEntry::read_from_bytes(&b).unwrap();
            if e.phase() != phase {
                break;
            }
            out.push(e);
            self.aenq_head = self.aenq_head.wrapping_add(1);
        }
        if !out.is_empty() {
            self.w(offset::AENQ_HEAD_DB, u32::from(self.aenq_head));
        }
        out
    }

    /// Bring-up: readless address, reset, admin, AENQ.
    pub fn bring_up(cfg: EnaModelConfig) -> Self {
        let mut d = RawDriver::new(cfg);
        d.set_resp_addr();
        d.reset(0);
        d.admin_init();
        d
    }

    /// SET LLQ with 128-byte entries, 2 descriptors before the header.
    pub fn enable_llq(&mut self) {
        let l = LlqFeature {
            header_location_ctrl_enabled: 1,
            entry_size_ctrl_enabled: 1,
            desc_num_before_header_enabled: 2,
            descriptors_stride_ctrl_enabled: 2,
            accel_flags: 3,
            ..Default::default()
        };
        self.ok(&SetFeatureCmd::new(FeatureId::Llq, &l));
    }

    /// Create a TX and an RX queue (CQ before SQ) on `vector`.
    pub fn create_pair(&mut self, vector: u16, depth: u16, llq: bool) -> Pair {
        let tx_cq_ring = self.arena.alloc(usize::from(depth) * 8, 4096).unwrap();
        let rx_cq_ring = self.arena.alloc(usize::from(depth) * 16, 4096).unwrap();
        let tx_ring = if llq {
            0
        } else {
            self.arena.alloc(usize::from(depth) * 16, 4096).unwrap()
        };
        let rx_ring = self.arena.alloc(usize::from(depth) * 16, 4096).unwrap();
        let txcq: CreateCqResp = self
            .ok(&CreateCqCmd::new(
                TX_CDESC_WORDS,
                depth,
                u32::from(vector),
                tx_cq_ring,
            ))
            .response()
            .unwrap();
        let txsq: CreateSqResp = self
            .ok(&CreateSqCmd::new(
                SqDirection::Tx,
                txcq.cq_idx,
                depth,
                (!llq).then_some(tx_ring),
            ))
            .response()
            .unwrap();
        let rxcq: CreateCqResp = self
            .ok(&CreateCqCmd::new(
                RX_CDESC_WORDS,
                depth,
                u32::from(vector),
                rx_cq_ring,
            ))
            .response()
            .unwrap();
        let rxsq: CreateSqResp = self
            .ok(&CreateSqCmd::new(
                SqDirection::Rx,
                rxcq.cq_idx,
                depth,
                Some(rx_ring),
            ))
            .response()
            .unwrap();
        assert_eq!(
            txcq.cq_interrupt_unmask_register_offset,
            rxcq.cq_interrupt_unmask_register_offset
        );
        Pair {
            tx_sq: txsq.sq_idx,
            rx_sq: rxsq.sq_idx,
            tx_db: txsq.sq_doorbell_offset,
            rx_db: rxsq.sq_doorbell_offset,
            unmask: txcq.cq_interrupt_unmask_register_offset,
            depth,
            tx_ring,
            rx_ring,
            tx_cq_ring,
            rx_cq_ring,
            llq_off: llq.then_some(txsq.llq_descriptors_offset),
            tx_tail: 0,
            rx_tail: 0,
            tx_cq_head: 0,
            rx_cq_head: 0,
        }
    }

    pub fn unmask(&mut self, p: &Pair) {
        self.w(
            p.unmask,
            IntrCtrl {
                unmask: true,
                ..Default::default()
            }
            .encode(),
        );
    }

    fn put_tx_desc(&mut self, p: &mut Pair, q: [u64; 2]) {
        let slot = u64::from(p.tx_tail % p.depth);
        self.arena.store64(p.tx_ring + slot * 16, q[0]);
        self.arena.store64(p.tx_ring + slot * 16 + 8, q[1]);
        p.tx_tail = p.tx_tail.wrapping_add(1);
    }

    /// Queue one packet in host placement from `bufs` (copied into fresh
    /// DMA buffers); does not ring the doorbell.
    pub fn queue_tx(
        &mut self,
        p: &mut Pair,
        req_id: u16,
        bufs: &[&[u8]],
        off: Offload,
    ) -> Vec<u64> {
        let mut addrs = Vec::new();
        let phase = (p.tx_tail / p.depth).is_multiple_of(2);
        if let Some(m) = off.meta {
            let q = TxMetaDesc::new(&m, phase).to_qwords();
            self.put_tx_desc(p, q);
        }
        let offload = tx_offload_ctrl(off.l3_proto, off.l4_proto, off.flags);
        for (i, b) in bufs.iter().enumerate() {
            let a = self.arena.alloc(b.len().max(1), 64).unwrap();
            self.arena.write(a, b).unwrap();
            addrs.push(a);
            let phase = (p.tx_tail / p.depth).is_multiple_of(2);
            let mut ctrl = if phase {
                TxDescCtrl::PHASE
            } else {
                TxDescCtrl::empty()
            };
            if i == 0 {
                ctrl |= TxDescCtrl::COMP_REQ;
                if off.meta.is_none() {
                    ctrl |= TxDescCtrl::FIRST;
                }
            }
            if i + 1 == bufs.len() {
                ctrl |= TxDescCtrl::LAST;
            }
            let q = TxDesc::data(b.len() as u16, req_id, a, ctrl, offload, 0).to_qwords();
            self.put_tx_desc(p, q);
        }
        addrs
    }

    pub fn ring_tx(&mut self, p: &Pair) {
        self.w(p.tx_db, u32::from(p.tx_tail));
    }

    /// Post `n` RX buffers of `len` bytes with req_ids from `first_id`.
    pub fn post_rx(&mut self, p: &mut Pair, n: u16, len: u32, first_id: u16) -> Vec<u64> {
        let mut addrs = Vec::new();
        for i in 0..n {
            let a = self.arena.alloc(len as usize, 64).unwrap();
            addrs.push(a);
            let phase = (p.rx_tail / p.depth).is_multiple_of(2);
            let q = RxDesc::new(len, first_id + i, a, phase).to_qwords();
            let slot = u64::from(p.rx_tail % p.depth);
            self.arena.store64(p.rx_ring + slot * 16, q[0]);
            self.arena.store64(p.rx_ring + slot * 16 + 8, q[1]);
            p.rx_tail = p.rx_tail.wrapping_add(1);
        }
        self.w(p.rx_db, u32::from(p.rx_tail));
        addrs
    }

    pub fn poll_tx(&mut self, p: &mut Pair) -> Vec<TxCdesc> {
        let mut out = Vec::new();
        loop {
            let phase = (p.tx_cq_head / p.depth).is_multiple_of(2);
            let q = self
                .arena
                .load64(p.tx_cq_ring + u64::from(p.tx_cq_head % p.depth) * 8);
            let c = TxCdesc::from_qword(q);
            if c.phase() != phase {
                return out;
            }
            out.push(c);
            p.tx_cq_head = p.tx_cq_head.wrapping_add(1);
        }
    }

    pub fn poll_rx(&mut self, p: &mut Pair) -> Vec<RxCdesc> {
        let mut out = Vec::new();
        loop {
            let phase = (p.rx_cq_head / p.depth).is_multiple_of(2);
            let at = p.rx_cq_ring + u64::from(p.rx_cq_head % p.depth) * 16;
            let c = RxCdesc::from_qwords([self.arena.load64(at), self.arena.load64(at + 8)]);
            if c.flags()
                .contains(cloudnic_ena::defs::io::RxCdescStatus::PHASE)
                != phase
            {
                return out;
            }
            out.push(c);
            p.rx_cq_head = p.rx_cq_head.wrapping_add(1);
        }
    }

    /// Bytes of an RX buffer.
    pub fn bytes(&self, addr: u64, len: usize) -> Vec<u8> {
        let mut v = vec![0u8; len];
        self.arena.load_bytes(addr, &mut v);
        v
    }
}
