//! A small synchronous MANA device fake: VF register map, SMC, HWC rings,
//! data EQ/CQ/WQ with owner counts, a TX log, loopback and scripted faults.

extern crate std;

use std::collections::BTreeMap;
use std::vec::Vec;

use zerocopy::{FromBytes, IntoBytes};

use super::Mem;
use crate::defs::eth_dp::{
    cqe_type, CqeHeader, RxCompFlags, RxCompOob, RxPerPktInfo, TxCompOob, MANA_CQE_COMPLETION,
};
use crate::defs::hwc::{init_data, HwcInitEqIdDb, HwcRxOob, HwcTypeData};
use crate::defs::queue::{
    eqe_type, sgl_offset, wqe_size, CqeInfo, EqeInfo, Sge, WqeHeader, CQE_SIZE, EQE_SIZE,
};
use crate::defs::regs::{db_offset, offset, CqDoorbell, EqDoorbell, WqDoorbell};
use crate::defs::smc::{
    SmcEstablishHwc, SmcHeader, SMC_MSG_DESTROY_HWC, SMC_MSG_ESTABLISH_HWC,
    SMC_MSG_REPORT_HWC_TIMEOUT,
};

/// BAR0 size of the fake.
pub const FAKE_BAR_LEN: u64 = 0x4000;
/// SMC window offset (after the 40-byte register map, like OpenVMM's emulator).
pub const SMC_OFF: u32 = 40;
/// Doorbell zone offset.
pub const DB_ZONE: u32 = 0x1000;
/// Doorbell page size.
pub const DB_PAGE: u32 = 0x1000;
/// Doorbell page of the HWC.
pub const HWC_DB_ID: u32 = 0;
/// Doorbell page REGISTER_DEVICE hands out.
pub const MANA_DB_ID: u32 = 1;

/// A CQ or EQ.
#[derive(Clone, Debug)]
pub struct Ring {
    /// Base bus address.
    pub base: u64,
    /// Entries.
    pub entries: u32,
    /// Device producer index (free-running, starts at `entries`).
    pub tail: u32,
    /// Armed for one interrupt.
    pub armed: bool,
    /// CQ: parent EQ.
    pub eq: u32,
    /// Interrupts "raised" (EQ).
    pub irqs: u32,
}

/// A work queue.
#[derive(Clone, Debug)]
pub struct Wq {
    /// Base bus address.
    pub base: u64,
    /// Size in bytes.
    pub size: u32,
    /// Device consumer offset (bytes, free-running).
    pub head: u32,
    /// Producer offset from the last doorbell.
    pub tail: u32,
    /// Its CQ.
    pub cq: u32,
    /// Send queue.
    pub is_sq: bool,
}

/// One transmitted packet.
#[derive(Clone, Debug)]
pub struct TxRecord {
    /// SQ id.
    pub sq: u32,
    /// WQE header.
    pub hdr: WqeHeader,
    /// Inline OOB bytes.
    pub oob: Vec<u8>,
    /// SGEs.
    pub sgl: Vec<Sge>,
    /// Frame bytes gathered from the SGEs.
    pub data: Vec<u8>,
}

/// Scripted faults.
#[derive(Clone, Debug, Default)]
pub struct Faults {
    /// Drop this many HWC responses (the request times out).
    pub drop_responses: u32,
    /// Answer this many responses with a wrong activity id (then the right one).
    pub bad_activity: u32,
    /// Deliver each of the next N responses twice.
    pub duplicate: u32,
    /// Answer the request code with this status, this many times.
    pub status: Option<(u32, u32, u32)>,
    /// Never post HWC_INIT_DONE.
    pub no_init_done: bool,
    /// Do not complete TX WQEs.
    pub withhold_tx_cqe: bool,
    /// Stamp TX CQEs with a wrong WQ number.
    pub bad_tx_wq_num: bool,
    /// Post RX CQEs with a packet length larger than the buffer.
    pub rx_len_too_big: bool,
    /// Post RX CQEs with a stale owner count.
    pub bad_owner: bool,
}

/// Device configuration.
#[derive(Clone, Debug)]
pub struct DevCfg {
    /// One MAC per vPort.
    pub vports: Vec<[u8; 6]>,
    /// Adapter MTU (L2).
    pub adapter_mtu: u16,
    /// PF capability word from VERIFY_VF_DRIVER_VERSION.
    pub pf_caps: u64,
    /// HWC queue depth reported.
    pub hwc_depth: u32,
    /// Max request bytes reported.
    pub max_request: u32,
    /// TX vPort offset.
    pub vport_offset: u16,
    /// Indirection entries per vPort.
    pub indir_entries: u32,
    /// Max SQ/RQ per vPort.
    pub max_queues: u32,
}

impl Default for DevCfg {
    fn default() -> Self {
        DevCfg {
            vports: std::vec![[0x00, 0x15, 0x5d, 0, 0, 1]],
            adapter_mtu: 9014,
            pf_caps: 0,
            hwc_depth: 1,
            max_request: 4096,
            vport_offset: 0,
            indir_entries: 64,
            max_queues: 16,
        }
    }
}

/// RX steering state (CONFIG_VPORT_RX).
#[derive(Clone, Debug, Default)]
pub struct RxCfg {
    /// RX enabled.
    pub enabled: bool,
    /// RSS enabled.
    pub rss: bool,
    /// Default RX object.
    pub default_obj: u64,
    /// Table of RX objects.
    pub table: Vec<u64>,
    /// Key.
    pub key: Vec<u8>,
}

/// The fake device.
#[derive(Default)]
pub struct FakeDev {
    /// Configuration.
    pub cfg: DevCfg,
    /// Faults.
    pub faults: Faults,
    smc: [u32; 8],
    /// HWC ids (eq, cq, rq, sq) once established.
    pub hwc: Option<(u32, u32, u32, u32)>,
    /// Event queues by id.
    pub eqs: BTreeMap<u32, Ring>,
    /// Completion queues by id.
    pub cqs: BTreeMap<u32, Ring>,
    /// Work queues by id.
    pub wqs: BTreeMap<u32, Wq>,
    pub(crate) next_id: u32,
    /// DMA regions: handle → (page list, page count).
    pub regions: BTreeMap<u64, (Vec<u64>, u32)>,
    pub(crate) next_handle: u64,
    /// WQ objects: handle → (wq id, cq id).
    pub objs: BTreeMap<u64, (u32, u32)>,
    /// Request codes seen, in order.
    pub requests: Vec<u32>,
    /// Activity ids seen, in order.
    pub activities: Vec<u32>,
    /// Transmitted packets.
    pub tx_log: Vec<TxRecord>,
    /// Steering.
    pub rx_cfg: RxCfg,
    /// Loop TX packets back to RQ 0 of the vPort.
    pub loopback: bool,
    /// SMC messages seen (type).
    pub smc_log: Vec<u8>,
    /// Registered (REGISTER_DEVICE) and not deregistered.
    pub registered: bool,
    /// HWC responses waiting for a receive buffer.
    pub pending_resp: std::collections::VecDeque<Vec<u8>>,
    /// CQ doorbells seen (id, index, arm).
    pub cq_doorbells: Vec<(u32, u32, bool)>,
}

impl FakeDev {
    /// A device with default configuration.
    pub fn new() -> Self {
        FakeDev {
            next_id: 24,
            next_handle: 1,
            ..Default::default()
        }
    }

    /// MMIO read.
    pub fn mmio_read(&mut self, off: u32) -> u32 {
        match off {
            offset::VERSION => 0x0100_0001,
            offset::DB_PAGE_OFFSET => DB_ZONE,
            o if o == offset::DB_PAGE_OFFSET + 4 => 0,
            offset::DB_PAGE_SIZE => DB_PAGE,
            offset::SHM_OFFSET => SMC_OFF,
            o if o == offset::SHM_OFFSET + 4 => 0,
            offset::SHM_SIZE => 32,
            o if (SMC_OFF..SMC_OFF + 32).contains(&o) => self.smc[((o - SMC_OFF) / 4) as usize],
            _ => 0,
        }
    }

    /// 32-bit MMIO write (SMC window).
    pub fn mmio_write32(&mut self, mem: &mut Mem, off: u32, v: u32, _now: u64) {
        if (SMC_OFF..SMC_OFF + 32).contains(&off) {
            self.smc[((off - SMC_OFF) / 4) as usize] = v;
            if off == SMC_OFF + 28 {
                self.smc_message(mem);
            }
        }
    }

    fn smc_message(&mut self, mem: &mut Mem) {
        let hdr = SmcHeader(self.smc[7]);
        self.smc_log.push(hdr.msg_type());
        let status = match hdr.msg_type() {
            SMC_MSG_ESTABLISH_HWC => {
                let mut img = [0u8; 32];
                for (i, w) in self.smc.iter().enumerate() {
                    img[i * 4..i * 4 + 4].copy_from_slice(&w.to_le_bytes());
                }
                let m = SmcEstablishHwc::read_from_bytes(&img).unwrap();
                self.establish(mem, m.eq_addr(), m.cq_addr(), m.rq_addr(), m.sq_addr());
                0
            }
            SMC_MSG_DESTROY_HWC => {
                self.pending_resp.clear();
                if let Some((eq, cq, rq, sq)) = self.hwc.take() {
                    self.eqs.remove(&eq);
                    self.cqs.remove(&cq);
                    self.wqs.remove(&rq);
                    self.wqs.remove(&sq);
                }
                0
            }
            SMC_MSG_REPORT_HWC_TIMEOUT => 0,
            _ => 1,
        };
        self.smc[7] = SmcHeader::response(hdr.msg_type(), hdr.version(), status).0;
    }

    fn alloc_id(&mut self) -> u32 {
        self.next_id += 1;
        self.next_id
    }

    fn establish(&mut self, mem: &mut Mem, eq: u64, cq: u64, rq: u64, sq: u64) {
        let (eq_id, cq_id, rq_id, sq_id) = (
            self.alloc_id(),
            self.alloc_id(),
            self.alloc_id(),
            self.alloc_id(),
        );
        self.eqs.insert(
            eq_id,
            Ring {
                base: eq,
                entries: 4096 / EQE_SIZE,
                tail: 4096 / EQE_SIZE,
                armed: false,
                eq: 0,
                irqs: 0,
            },
        );
        self.cqs.insert(
            cq_id,
            Ring {
                base: cq,
                entries: 4096 / CQE_SIZE,
                tail: 4096 / CQE_SIZE,
                armed: false,
                eq: eq_id,
                irqs: 0,
            },
        );
        self.wqs.insert(
            rq_id,
            Wq {
                base: rq,
                size: 4096,
                head: 0,
                tail: 0,
                cq: cq_id,
                is_sq: false,
            },
        );
        self.wqs.insert(
            sq_id,
            Wq {
                base: sq,
                size: 4096,
                head: 0,
                tail: 0,
                cq: cq_id,
                is_sq: true,
            },
        );
        self.hwc = Some((eq_id, cq_id, rq_id, sq_id));
        self.post_eqe(
            mem,
            eq_id,
            eqe_type::HWC_INIT_EQ_ID_DB,
            HwcInitEqIdDb::new(eq_id as u16, HWC_DB_ID as u16).0,
        );
        let items = [
            (init_data::CQID, cq_id),
            (init_data::RQID, rq_id),
            (init_data::SQID, sq_id),
            (init_data::QUEUE_DEPTH, self.cfg.hwc_depth),
            (init_data::MAX_REQUEST, self.cfg.max_request),
            (init_data::MAX_RESPONSE, 4096),
            (init_data::MAX_NUM_CQS, 1024),
            (init_data::PDID, 0),
            (init_data::GPA_MKEY, 0x77),
        ];
        for (t, v) in items {
            self.post_eqe(
                mem,
                eq_id,
                eqe_type::HWC_INIT_DATA,
                HwcTypeData::new(t, v).0,
            );
        }
        if !self.faults.no_init_done {
            self.post_eqe(mem, eq_id, eqe_type::HWC_INIT_DONE, 0);
        }
    }

    /// Post an EQE (raises the "interrupt" if armed).
    pub fn post_eqe(&mut self, mem: &mut Mem, eq: u32, ty: u8, d0: u32) {
        let Some(r) = self.eqs.get_mut(&eq) else {
            return;
        };
        let idx = r.tail % r.entries;
        let owner = (r.tail / r.entries) & 7;
        let mut e = [0u8; 16];
        e[0..4].copy_from_slice(&d0.to_le_bytes());
        e[12..16].copy_from_slice(&EqeInfo::new(ty, owner).0.to_le_bytes());
        mem.write(r.base + u64::from(idx * EQE_SIZE), &e);
        r.tail = r.tail.wrapping_add(1);
        if r.armed {
            r.armed = false;
            r.irqs += 1;
        }
    }

    /// Post a CQE (and a COMPLETION EQE if the CQ is armed).
    pub fn post_cqe(&mut self, mem: &mut Mem, cq: u32, data: &[u8], wq_num: u32, is_sq: bool) {
        let Some(r) = self.cqs.get_mut(&cq) else {
            return;
        };
        let idx = r.tail % r.entries;
        let mut owner = (r.tail / r.entries) & 7;
        if self.faults.bad_owner && !is_sq {
            owner = owner.wrapping_add(3) & 7;
        }
        let mut c = [0u8; 64];
        c[..data.len().min(60)].copy_from_slice(&data[..data.len().min(60)]);
        c[60..64].copy_from_slice(&CqeInfo::new(wq_num, is_sq, owner).0.to_le_bytes());
        mem.write(r.base + u64::from(idx * CQE_SIZE), &c);
        r.tail = r.tail.wrapping_add(1);
        let (armed, eq) = (r.armed, r.eq);
        if armed {
            r.armed = false;
            self.post_eqe(mem, eq, eqe_type::COMPLETION, cq);
        }
    }

    /// 64-bit MMIO write (doorbells).
    pub fn mmio_write64(&mut self, mem: &mut Mem, off: u32, v: u64, now: u64) {
        if off < DB_ZONE {
            return;
        }
        let reg = (off - DB_ZONE) % DB_PAGE;
        match reg {
            db_offset::SQ => {
                let d = WqDoorbell(v);
                if let Some(w) = self.wqs.get_mut(&d.queue_id()) {
                    w.tail = d.tail_bytes();
                }
                if self.hwc.is_some_and(|h| h.3 == d.queue_id()) {
                    self.process_hwc_sq(mem, now);
                } else {
                    self.process_data_sq(mem, d.queue_id());
                }
            }
            db_offset::RQ => {
                let d = WqDoorbell(v);
                if let Some(w) = self.wqs.get_mut(&d.queue_id()) {
                    w.tail = d.tail_bytes();
                }
                if self.hwc.is_some_and(|h| h.2 == d.queue_id()) {
                    self.flush_responses(mem);
                }
            }
            db_offset::CQ => {
                let d = CqDoorbell(v);
                self.cq_doorbells.push((d.queue_id(), d.index(), d.arm()));
                if let Some(r) = self.cqs.get_mut(&d.queue_id()) {
                    r.armed = d.arm();
                }
            }
            db_offset::EQ => {
                let d = EqDoorbell(v);
                if let Some(r) = self.eqs.get_mut(&d.queue_id()) {
                    r.armed = d.arm();
                }
            }
            _ => {}
        }
    }

    /// Time-based work (nothing scheduled in this fake).
    pub fn tick(&mut self, _mem: &mut Mem, _now: u64) {}

    /// Read one WQE at `head` of `wq`: header, OOB, SGEs; returns its size in bytes.
    pub fn read_wqe(mem: &Mem, wq: &Wq, head: u32) -> (WqeHeader, Vec<u8>, Vec<Sge>, u32) {
        let mask = wq.size - 1;
        let at = |o: u32| wq.base + u64::from(o & mask);
        let mut h = [0u8; 8];
        mem.read(at(head), &mut h);
        let hdr = WqeHeader::read_from_bytes(&h).unwrap();
        let p = hdr.params();
        let mut oob = std::vec![0u8; p.oob_size() as usize];
        mem.read(at(head + 8), &mut oob);
        let sgl_off = sgl_offset(p.oob_size());
        let mut sgl = Vec::new();
        for i in 0..p.num_sge() {
            let mut s = [0u8; 16];
            mem.read(at(head + sgl_off + 16 * i), &mut s);
            sgl.push(Sge::read_from_bytes(&s).unwrap());
        }
        (hdr, oob, sgl, wqe_size(p.oob_size(), p.num_sge()))
    }

    fn process_data_sq(&mut self, mem: &mut Mem, sq: u32) {
        loop {
            let Some(w) = self.wqs.get(&sq).cloned() else {
                return;
            };
            if w.head == w.tail {
                return;
            }
            let (hdr, oob, sgl, size) = Self::read_wqe(mem, &w, w.head);
            let mut data = Vec::new();
            for s in &sgl {
                let mut b = std::vec![0u8; s.size as usize];
                mem.read(s.address, &mut b);
                data.extend_from_slice(&b);
            }
            let offset = w.head & (w.size - 1);
            self.wqs.get_mut(&sq).unwrap().head = w.head.wrapping_add(size);
            self.tx_log.push(TxRecord {
                sq,
                hdr,
                oob,
                sgl,
                data: data.clone(),
            });
            if !self.faults.withhold_tx_cqe {
                let comp = TxCompOob {
                    cqe_hdr: CqeHeader::new(cqe_type::TX_OKAY, MANA_CQE_COMPLETION, 0).0,
                    tx_data_offset: 0,
                    tx_offsets: offset << 5,
                    reserved: [0; 12],
                };
                let wq_num = if self.faults.bad_tx_wq_num {
                    sq + 1000
                } else {
                    sq
                };
                self.post_cqe(mem, w.cq, comp.as_bytes(), wq_num, true);
            }
            if self.loopback && self.rx_cfg.enabled {
                let rq = self.objs.get(&self.rx_cfg.default_obj).map(|o| o.0);
                if let Some(rq) = rq {
                    self.deliver_rx(mem, rq, &data, RxCompFlags(0), 0);
                }
            }
        }
    }

    /// Put `data` into the next posted buffer of `rq` and post an RX CQE.
    /// Returns false if no buffer is posted.
    pub fn deliver_rx(
        &mut self,
        mem: &mut Mem,
        rq: u32,
        data: &[u8],
        flags: RxCompFlags,
        hash: u32,
    ) -> bool {
        let Some(w) = self.wqs.get(&rq).cloned() else {
            return false;
        };
        if w.head == w.tail {
            return false;
        }
        let (_, _, sgl, size) = Self::read_wqe(mem, &w, w.head);
        let buf = sgl[0];
        let n = data.len().min(buf.size as usize);
        mem.write(buf.address, &data[..n]);
        let offset = w.head & (w.size - 1);
        self.wqs.get_mut(&rq).unwrap().head = w.head.wrapping_add(size);
        let (ty, len) = if data.len() > buf.size as usize && !self.faults.rx_len_too_big {
            (cqe_type::RX_TRUNCATED, n)
        } else {
            (cqe_type::RX_OKAY, data.len())
        };
        let mut oob = RxCompOob {
            cqe_hdr: CqeHeader::new(ty, MANA_CQE_COMPLETION, 0).0,
            flags: flags.0,
            rx_wqe_offset: offset,
            ..Default::default()
        };
        oob.ppi[0] = RxPerPktInfo {
            pkt_len: len as u16,
            reserved1: 0,
            reserved2: 0,
            pkt_hash: hash,
        };
        self.post_cqe(mem, w.cq, oob.as_bytes(), rq, false);
        true
    }

    /// Post a raw RX completion on `rq`'s CQ without consuming a WQE (coalesced/fence tests).
    pub fn post_rx_oob(&mut self, mem: &mut Mem, rq: u32, oob: &RxCompOob, consume: u32) {
        let Some(w) = self.wqs.get(&rq).cloned() else {
            return;
        };
        let mut head = w.head;
        for _ in 0..consume {
            let (_, _, _, size) = Self::read_wqe(mem, &w, head);
            head = head.wrapping_add(size);
        }
        self.wqs.get_mut(&rq).unwrap().head = head;
        self.post_cqe(mem, w.cq, oob.as_bytes(), rq, false);
    }

    /// Queue an HWC response; it is delivered once a receive buffer is posted.
    pub(crate) fn deliver_response(&mut self, mem: &mut Mem, resp: &[u8]) {
        self.pending_resp.push_back(resp.to_vec());
        self.flush_responses(mem);
    }

    fn flush_responses(&mut self, mem: &mut Mem) {
        while let Some(r) = self.pending_resp.pop_front() {
            if !self.deliver_now(mem, &r) {
                self.pending_resp.push_front(r);
                return;
            }
        }
    }

    fn deliver_now(&mut self, mem: &mut Mem, resp: &[u8]) -> bool {
        let Some((_, cq, rq, sq)) = self.hwc else {
            return true;
        };
        let w = self.wqs.get(&rq).cloned().unwrap();
        if w.head == w.tail {
            return false;
        }
        let (_, _, sgl, size) = Self::read_wqe(mem, &w, w.head);
        mem.write(sgl[0].address, resp);
        let offset = w.head & (w.size - 1);
        self.wqs.get_mut(&rq).unwrap().head = w.head.wrapping_add(size);
        self.post_cqe(mem, cq, &[0u8; 60], sq, true);
        let oob = HwcRxOob::response(offset, resp.len() as u32);
        self.post_cqe(mem, cq, oob.as_bytes(), rq, false);
        true
    }

    /// Number of interrupts raised on EQ `eq`.
    pub fn irqs(&self, eq: u32) -> u32 {
        self.eqs.get(&eq).map_or(0, |r| r.irqs)
    }
}
