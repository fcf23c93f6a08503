//! A minimal register-level "driver" for the model's own unit tests: raw
//! BAR0 accesses, hand-built SMC messages, WQEs, HWC requests and owner-bit
//! polling, independent of `cloudnic_mana`'s driver code (only its wire
//! structs are shared).

use std::rc::Rc;

use cloudnic_mana::defs::eth::{
    ConfigVportRxReq, ConfigVportTxReq, CreateWqObjReq, QueryVportConfigReq, WQ_TYPE_RQ, WQ_TYPE_SQ,
};
use cloudnic_mana::defs::gdma::{
    CreateDmaRegionReq, CreateQueueReq, GenerateTestEqeReq, RegisterDeviceReq,
};
use cloudnic_mana::defs::hwc::{
    init_data, HwcInitEqIdDb, HwcRxOob, HwcTxOob, HwcTypeData, HWC_QUEUE_SIZE,
};
use cloudnic_mana::defs::msg::{GdmaDevId, GdmaReqHdr, GdmaRequest, GdmaRespHdr, GDMA_DEVICE_MANA};
use cloudnic_mana::defs::queue::{
    eqe_type, sgl_offset, wqe_size, Cqe, Eqe, Sge, WqeHeader, WqeParams, CQE_SIZE, EQE_SIZE,
    GDMA_QUEUE_EQ, OWNER_MASK,
};
use cloudnic_mana::defs::regs::{db_offset, CqDoorbell, EqDoorbell, WqDoorbell};
use cloudnic_mana::defs::smc::{window_dwords, SmcEstablishHwc, SmcHeader, SMC_WINDOW_SIZE};
use zerocopy::{FromBytes, FromZeros, IntoBytes};

use super::{ManaModel, ManaModelConfig};
use crate::{Arena, Device, GuestMemory, InterruptSink, VirtualClock};

/// A CQ or EQ as the test driver consumes it.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Ring {
    pub base: u64,
    pub entries: u32,
    pub entry: u32,
    pub head: u32,
    pub id: u32,
}

impl Ring {
    fn new(base: u64, bytes: u32, entry: u32) -> Self {
        let entries = bytes / entry;
        Ring {
            base,
            entries,
            entry,
            head: entries,
            id: u32::MAX,
        }
    }
    fn slot(&self) -> u64 {
        self.base + u64::from((self.head % self.entries) * self.entry)
    }
    /// Owner count expected at the head.
    pub fn expected(&self) -> u32 {
        (self.head / self.entries) & OWNER_MASK
    }
    /// Consumer index for the doorbell (head mod 8N).
    pub fn db_index(&self) -> u32 {
        self.head % (self.entries * 8)
    }
}

/// A work queue as the test driver fills it.
#[derive(Clone, Copy, Debug)]
pub(crate) struct RawWq {
    pub base: u64,
    pub size: u32,
    pub head: u32,
    pub id: u32,
}

/// A data queue pair (SQ/RQ with CQs) created through the HWC.
#[derive(Clone, Copy, Debug)]
pub(crate) struct RawPair {
    pub sq: RawWq,
    pub sq_cq: Ring,
    pub rq: RawWq,
    pub rq_cq: Ring,
    pub sq_obj: u64,
    pub rq_obj: u64,
}

pub(crate) struct RawDriver {
    pub arena: Rc<Arena>,
    pub clock: Rc<VirtualClock>,
    pub irq: Rc<InterruptSink>,
    pub dev: ManaModel,
    pub eq: Ring,
    pub cq: Ring,
    pub rq: RawWq,
    pub sq: RawWq,
    pub req_buf: u64,
    pub resp_buf: u64,
    pub hwc_db: u32,
    pub hwc_mkey: u32,
    pub init: Vec<(u8, u32)>,
    pub activity: u32,
    pub msg_id: u16,
    pub mana: GdmaDevId,
    pub pdid: u32,
    pub mkey: u32,
    pub db: u32,
}

impl RawDriver {
    /// A model on a fresh 32 MiB arena; nothing established.
    pub fn new(cfg: ManaModelConfig) -> Self {
        let arena = Rc::new(Arena::new(32 << 20));
        let clock = Rc::new(VirtualClock::new());
        let irq = Rc::new(InterruptSink::new());
        let dev = ManaModel::new(cfg, arena.clone(), clock.clone(), irq.clone());
        let z = Ring {
            base: 0,
            entries: 1,
            entry: 16,
            head: 1,
            id: 0,
        };
        let w = RawWq {
            base: 0,
            size: 4096,
            head: 0,
            id: 0,
        };
        RawDriver {
            arena,
            clock,
            irq,
            dev,
            eq: z,
            cq: z,
            rq: w,
            sq: w,
            req_buf: 0,
            resp_buf: 0,
            hwc_db: 0,
            hwc_mkey: 0,
            init: Vec::new(),
            activity: 0x100,
            msg_id: 0,
            mana: GdmaDevId::NONE,
            pdid: 0,
            mkey: 0,
            db: 0,
        }
    }
    /// Established HWC, registered MANA device.
    pub fn up(cfg: ManaModelConfig) -> Self {
        let mut d = Self::new(cfg);
        assert_eq!(d.establish().status(), 0);
        d.register();
        d
    }

    pub fn r32(&mut self, off: u64) -> u32 {
        self.dev.mmio_read(0, off, 4) as u32
    }
    pub fn w32(&mut self, off: u64, v: u32) {
        self.dev.mmio_write(0, off, 4, u64::from(v));
    }
    pub fn alloc(&self, bytes: usize) -> u64 {
        self.arena.alloc(bytes, 4096).expect("arena space")
    }
    /// 64-bit doorbell write on `page` at `reg`.
    pub fn ring(&mut self, page: u32, reg: u32, v: u64) {
        let cfg = self.dev.config();
        let off =
            cfg.db_page_offset + u64::from(page) * u64::from(cfg.db_page_size) + u64::from(reg);
        self.dev.mmio_write(0, off, 8, v);
    }

    /// Send an SMC window (payload first, header last); returns the header read back.
    pub fn smc(&mut self, image: &[u8; SMC_WINDOW_SIZE as usize]) -> SmcHeader {
        let smc = self.dev.config().smc_offset();
        for (i, dw) in window_dwords(image).iter().enumerate() {
            self.w32(smc + 4 * i as u64, *dw);
        }
        SmcHeader(self.r32(smc + 28))
    }

    /// ESTABLISH_HWC with four fresh pages; collects the init EQEs.
    pub fn establish(&mut self) -> SmcHeader {
        let pages: Vec<u64> = (0..4).map(|_| self.alloc(4096)).collect();
        self.req_buf = self.alloc(4096);
        self.resp_buf = self.alloc(4096);
        let msg = SmcEstablishHwc::new(pages[0], pages[1], pages[2], pages[3], 0);
        let h = self.smc(msg.as_bytes().try_into().unwrap());
        self.eq = Ring::new(pages[0], HWC_QUEUE_SIZE, EQE_SIZE);
        self.cq = Ring::new(pages[1], HWC_QUEUE_SIZE, CQE_SIZE);
        self.rq = RawWq {
            base: pages[2],
            size: HWC_QUEUE_SIZE,
            head: 0,
            id: 0,
        };
        self.sq = RawWq {
            base: pages[3],
            size: HWC_QUEUE_SIZE,
            head: 0,
            id: 0,
        };
        if h.status() != 0 || !h.is_response() {
            return h;
        }
        let mut eq = self.eq;
        while let Some(e) = self.poll_eqe(&mut eq) {
            match e.info().event_type() {
                eqe_type::HWC_INIT_EQ_ID_DB => {
                    let v = HwcInitEqIdDb(e.details[0]);
                    eq.id = u32::from(v.eq_id());
                    self.hwc_db = u32::from(v.doorbell());
                }
                eqe_type::HWC_INIT_DATA => {
                    let d = HwcTypeData(e.details[0]);
                    self.init.push((d.data_type(), d.value()));
                }
                eqe_type::HWC_INIT_DONE => break,
                t => panic!("unexpected init EQE {t}"),
            }
        }
        self.eq = eq;
        let get = |t: u8| {
            self.init
                .iter()
                .find(|(k, _)| *k == t)
                .map(|(_, v)| *v)
                .expect("init data")
        };
        self.cq.id = get(init_data::CQID);
        self.rq.id = get(init_data::RQID);
        self.sq.id = get(init_data::SQID);
        self.hwc_mkey = get(init_data::GPA_MKEY);
        self.post_hwc_rx();
        h
    }

    /// Post the single HWC receive buffer and ring the RQ doorbell.
    pub fn post_hwc_rx(&mut self) {
        let sge = Sge {
            address: self.resp_buf,
            mem_key: self.hwc_mkey,
            size: 4096,
        };
        let mut rq = self.rq;
        self.post_wqe(&mut rq, &[0; 8], &[sge], 0, false);
        self.rq = rq;
        self.ring(
            self.hwc_db,
            db_offset::RQ,
            WqDoorbell::rq(rq.id, 0, rq.head).0,
        );
    }

    /// Write a WQE at the head of `wq` (no doorbell); returns its ring offset.
    pub fn post_wqe(
        &mut self,
        wq: &mut RawWq,
        oob: &[u8],
        sgl: &[Sge],
        cdu: u32,
        oob_in_sgl: bool,
    ) -> u32 {
        let oob_len = oob.len() as u32;
        let code = oob_len / 4;
        let last = if oob_in_sgl { sgl[0].size as u8 } else { 0 };
        let hdr = WqeHeader::new(last, WqeParams::new(sgl.len() as u8, code, oob_in_sgl, cdu));
        let off = wq.head % wq.size;
        let w = |a: &Arena, rel: u32, b: &[u8]| {
            a.write(wq.base + u64::from((off + rel) % wq.size), b)
                .unwrap()
        };
        w(&self.arena, 0, hdr.as_bytes());
        w(&self.arena, 8, oob);
        for (i, s) in sgl.iter().enumerate() {
            w(
                &self.arena,
                sgl_offset(oob_len) + 16 * i as u32,
                s.as_bytes(),
            );
        }
        wq.head = wq.head.wrapping_add(wqe_size(oob_len, sgl.len() as u32));
        off
    }

    /// Next EQE of `ring`, if its owner count says so.
    pub fn poll_eqe(&self, ring: &mut Ring) -> Option<Eqe> {
        let mut b = [0u8; 16];
        self.arena.read(ring.slot(), &mut b).unwrap();
        let e = Eqe::read_from_bytes(&b).unwrap();
        (e.info().owner() == ring.expected()).then(|| {
            ring.head += 1;
            e
        })
    }

    /// Next CQE of `ring`; panics on an owner count that is neither valid nor empty.
    pub fn poll_cqe(&self, ring: &mut Ring) -> Option<Cqe> {
        let mut b = [0u8; 64];
        self.arena.read(ring.slot(), &mut b).unwrap();
        let c = Cqe::read_from_bytes(&b).unwrap();
        let o = c.info().owner();
        if o == ring.expected() {
            ring.head += 1;
            return Some(c);
        }
        assert_eq!(
            o,
            ring.expected().wrapping_sub(1) & OWNER_MASK,
            "CQ overflow"
        );
        None
    }

    /// One raw HWC request: returns the response header and bytes.
    pub fn hwc_raw(&mut self, req: &[u8]) -> Option<(GdmaRespHdr, Vec<u8>)> {
        self.arena.write(self.req_buf, req).unwrap();
        self.arena
            .write(self.req_buf + 10, &self.msg_id.to_le_bytes())
            .unwrap();
        let oob = HwcTxOob::vf(self.cq.id, self.sq.id);
        let sge = Sge {
            address: self.req_buf,
            mem_key: self.hwc_mkey,
            size: req.len() as u32,
        };
        let mut sq = self.sq;
        self.post_wqe(&mut sq, oob.as_bytes(), &[sge], 0, false);
        self.sq = sq;
        self.ring(self.hwc_db, db_offset::SQ, WqDoorbell::sq(sq.id, sq.head).0);
        self.response()
    }

    /// Collect the SQ and RQ CQEs of the last request (after delays, call again).
    pub fn response(&mut self) -> Option<(GdmaRespHdr, Vec<u8>)> {
        let mut cq = self.cq;
        let mut out = None;
        while let Some(c) = self.poll_cqe(&mut cq) {
            if c.info().is_sq() {
                continue;
            }
            let oob = HwcRxOob::read_from_prefix(&c.data).unwrap().0;
            let mut b = vec![0u8; oob.tx_oob_data_size.min(4096) as usize];
            self.arena.read(self.resp_buf, &mut b).unwrap();
            out = Some((GdmaRespHdr::read_from_prefix(&b).unwrap().0, b));
            self.post_hwc_rx();
            break;
        }
        self.ring(
            self.hwc_db,
            db_offset::CQ,
            CqDoorbell::new(cq.id, cq.db_index(), true).0,
        );
        self.cq = cq;
        out
    }

    /// A typed request to `dev` with the next activity id (MANA codes) — the
    /// response struct and status.
    pub fn send<Q: GdmaRequest>(&mut self, mut req: Q) -> (u32, Q::Response) {
        let bytes = req.as_mut_bytes();
        let mut hdr = GdmaReqHdr::read_from_prefix(bytes).unwrap().0;
        if hdr.req.msg_type >> 16 != 0 {
            self.activity += 1;
            hdr.activity_id = self.activity;
        }
        bytes[..40].copy_from_slice(hdr.as_bytes());
        let (h, b) = self.hwc_raw(bytes).expect("response");
        assert_eq!(
            (h.activity_id, h.resp.msg_type),
            (hdr.activity_id, hdr.req.msg_type)
        );
        let mut r = Q::Response::new_zeroed();
        let n = b.len().min(r.as_bytes().len());
        r.as_mut_bytes()[..n].copy_from_slice(&b[..n]);
        (h.status, r)
    }

    /// LIST_DEVICES is skipped: REGISTER_DEVICE with the model's MANA id.
    pub fn register(&mut self) {
        self.mana = GdmaDevId::new(GDMA_DEVICE_MANA, self.dev.config().mana_dev_instance);
        let (s, r) = self.send(RegisterDeviceReq {
            hdr: RegisterDeviceReq::header(self.mana),
        });
        assert_eq!(s, 0);
        (self.pdid, self.mkey, self.db) = (r.pdid, r.gpa_mkey, r.db_id);
    }

    /// CREATE_DMA_REGION over `size` bytes at `base` in one message.
    pub fn region(&mut self, base: u64, size: u32) -> u64 {
        let pages = size / 4096;
        let req = CreateDmaRegionReq {
            hdr: CreateDmaRegionReq::header_sized(GdmaDevId::NONE, 64 + 8 * pages as usize),
            length: u64::from(size),
            page_count: pages,
            page_addr_list_len: pages,
            ..Default::default()
        };
        let mut bytes = req.as_bytes().to_vec();
        for i in 0..pages {
            bytes.extend_from_slice(&(base + u64::from(i) * 4096).to_le_bytes());
        }
        let (h, b) = self.hwc_raw(&bytes).unwrap();
        assert_eq!(h.status, 0);
        u64::from_le_bytes(b[32..40].try_into().unwrap())
    }

    /// A data EQ of 4 KiB on `msix`, armed.
    pub fn create_eq(&mut self, msix: u32) -> Ring {
        let base = self.alloc(4096);
        let region = self.region(base, 4096);
        let mut req = CreateQueueReq {
            hdr: CreateQueueReq::header(self.mana),
            ..Default::default()
        };
        (req.queue_type, req.pdid, req.doorbell_id, req.gdma_region) =
            (GDMA_QUEUE_EQ, self.pdid, self.db, region);
        (
            req.queue_size,
            req.log2_throttle_limit,
            req.eq_pci_msix_index,
        ) = (4096, 3, msix);
        let (s, r) = self.send(req);
        assert_eq!(s, 0);
        let mut eq = Ring::new(base, 4096, EQE_SIZE);
        eq.id = r.queue_index;
        let (s, _) = self.send(GenerateTestEqeReq {
            hdr: GenerateTestEqeReq::header(self.mana),
            queue_index: eq.id,
        });
        assert_eq!(s, 0);
        assert_eq!(
            self.poll_eqe(&mut eq).map(|e| e.info().event_type()),
            Some(eqe_type::TEST_EVENT)
        );
        self.ring(
            self.db,
            db_offset::EQ,
            EqDoorbell::new(eq.id, eq.db_index(), true).0,
        );
        eq
    }

    /// vPort handle of `index`.
    pub fn vport(&mut self, index: u32) -> u64 {
        let (s, r) = self.send(QueryVportConfigReq {
            hdr: QueryVportConfigReq::header(self.mana),
            vport_index: index,
        });
        assert_eq!(s, 0);
        r.vport
    }

    /// CONFIG_VPORT_TX, then an SQ and an RQ (4 KiB rings, 4 KiB CQs) on `eq`, CQs armed.
    pub fn create_pair(&mut self, vport: u64, eq: &Ring) -> RawPair {
        let (s, _) = self.send(ConfigVportTxReq {
            hdr: ConfigVportTxReq::header(self.mana),
            vport,
            pdid: self.pdid,
            doorbell_pageid: self.db,
        });
        assert_eq!(s, 0);
        let mut mk = |ty: u32| {
            let (wb, cb) = (self.alloc(4096), self.alloc(4096));
            let (wr, cr) = (self.region(wb, 4096), self.region(cb, 4096));
            let req = CreateWqObjReq {
                hdr: CreateWqObjReq::header(self.mana),
                vport,
                wq_type: ty,
                wq_gdma_region: wr,
                cq_gdma_region: cr,
                wq_size: 4096,
                cq_size: 4096,
                cq_parent_qid: eq.id,
                ..Default::default()
            };
            let (s, r) = self.send(req);
            assert_eq!(s, 0);
            let mut cq = Ring::new(cb, 4096, CQE_SIZE);
            cq.id = r.cq_id;
            self.ring(
                self.db,
                db_offset::CQ,
                CqDoorbell::new(cq.id, cq.db_index(), true).0,
            );
            (
                RawWq {
                    base: wb,
                    size: 4096,
                    head: 0,
                    id: r.wq_id,
                },
                cq,
                r.wq_obj,
            )
        };
        let (sq, sq_cq, sq_obj) = mk(WQ_TYPE_SQ);
        let (rq, rq_cq, rq_obj) = mk(WQ_TYPE_RQ);
        RawPair {
            sq,
            sq_cq,
            rq,
            rq_cq,
            sq_obj,
            rq_obj,
        }
    }

    /// CONFIG_VPORT_RX: RX on, RSS as given, key, table of RX objects, default object.
    pub fn steer(
        &mut self,
        vport: u64,
        rss: bool,
        key: [u8; 40],
        table: &[u64],
        coalesce: bool,
    ) -> u32 {
        let mut req = ConfigVportRxReq::new_zeroed();
        req.hdr = ConfigVportRxReq::header_sized(self.mana, 120 + 8 * table.len());
        (req.vport, req.num_indir_entries, req.indir_tab_offset) = (vport, table.len() as u16, 120);
        (req.rx_enable, req.rss_enable) = (1, u32::from(rss));
        (
            req.update_default_rxobj,
            req.update_hashkey,
            req.update_indir_tab,
        ) = (1, 1, u8::from(!table.is_empty()));
        (req.default_rxobj, req.hashkey, req.cqe_coalescing_enable) =
            (table.first().copied().unwrap_or(0), key, u8::from(coalesce));
        let mut bytes = req.as_bytes().to_vec();
        for h in table {
            bytes.extend_from_slice(&h.to_le_bytes());
        }
        self.activity += 1;
        bytes[36..40].copy_from_slice(&self.activity.to_le_bytes());
        self.hwc_raw(&bytes).unwrap().0.status
    }

    /// Post one receive buffer of `len` bytes on `rq` and ring; returns the buffer.
    pub fn post_rx(&mut self, rq: &mut RawWq, len: u32) -> u64 {
        let buf = self.alloc(len as usize);
        let sge = Sge {
            address: buf,
            mem_key: self.mkey,
            size: len,
        };
        self.post_wqe(rq, &[0; 8], &[sge], 0, false);
        self.ring(self.db, db_offset::RQ, WqDoorbell::rq(rq.id, 0, rq.head).0);
        buf
    }

    /// Copy `frame` into guest memory as one buffer (or two: `split` bytes
    /// first) and post a TX WQE with `oob`; rings the SQ doorbell.
    pub fn post_tx(
        &mut self,
        sq: &mut RawWq,
        oob: &[u8],
        frame: &[u8],
        split: Option<usize>,
        mss: u32,
    ) -> u32 {
        let buf = self.alloc(frame.len());
        self.arena.write(buf, frame).unwrap();
        let sgl: Vec<Sge> = match split {
            Some(n) => vec![
                Sge {
                    address: buf,
                    mem_key: self.mkey,
                    size: n as u32,
                },
                Sge {
                    address: buf + n as u64,
                    mem_key: self.mkey,
                    size: (frame.len() - n) as u32,
                },
            ],
            None => vec![Sge {
                address: buf,
                mem_key: self.mkey,
                size: frame.len() as u32,
            }],
        };
        let off = self.post_wqe(sq, oob, &sgl, mss, split.is_some() && mss > 0);
        self.ring(self.db, db_offset::SQ, WqDoorbell::sq(sq.id, sq.head).0);
        off
    }
}
