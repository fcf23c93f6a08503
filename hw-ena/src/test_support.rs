//! Unit-test fakes for the control path: a platform over a tiny bus-address
//! memory, and a register BAR backed by a minimal ENA control-path device
//! (readless MMIO, reset handshake, admin queue, AENQ injection). The full
//! device model lives in tests/models; this one exists so each module can be
//! unit-tested alone.

extern crate std;

use core::cell::{Cell, Ref, RefCell, RefMut};
use core::fmt;
use std::boxed::Box;
use std::collections::BTreeMap;
use std::format;
use std::rc::Rc;
use std::string::String;
use std::vec;
use std::vec::Vec;

use zerocopy::{FromBytes, IntoBytes};

use cloudnic_common::{DmaRegion, Error, LogLevel, Platform, RegisterBar};

use crate::defs::admin::*;
use crate::defs::aenq::{AenqEntry, AenqGroup, AENQ_DEPTH};
use crate::defs::regs::*;

/// Guest memory: regions by bus address.
#[derive(Default)]
pub struct Mem {
    regions: RefCell<BTreeMap<u64, Vec<u8>>>,
    next: Cell<u64>,
}

impl Mem {
    fn alloc(&self, size: usize) -> u64 {
        let base = 0x1_0000_0000 + self.next.get();
        self.next
            .set(self.next.get() + ((size as u64 + 4095) & !4095) + 4096);
        self.regions.borrow_mut().insert(base, vec![0; size]);
        base
    }
    fn with<T>(&self, addr: u64, f: impl FnOnce(&mut [u8]) -> T) -> Option<T> {
        let mut regions = self.regions.borrow_mut();
        let (base, buf) = regions.range_mut(..=addr).next_back()?;
        let off = (addr - base) as usize;
        buf.get_mut(off..).map(f)
    }
    /// DMA write by the device.
    pub fn write(&self, addr: u64, bytes: &[u8]) {
        self.with(addr, |b| b[..bytes.len()].copy_from_slice(bytes));
    }
    /// DMA read by the device.
    pub fn read(&self, addr: u64, len: usize) -> Vec<u8> {
        self.with(addr, |b| b[..len].to_vec())
            .unwrap_or_else(|| vec![0; len])
    }
}

/// Platform fake: virtual time, captured log, memory from [`Mem`]. Clones
/// share everything (the device owns one, the test keeps another).
#[derive(Default, Clone)]
pub struct FakePlat {
    /// Memory.
    pub mem: Rc<Mem>,
    now: Rc<Cell<u64>>,
    logs: Rc<RefCell<Vec<(LogLevel, String)>>>,
}

impl FakePlat {
    /// True if a logged line contains `s`.
    pub fn logged(&self, s: &str) -> bool {
        self.logs.borrow().iter().any(|(_, l)| l.contains(s))
    }
    /// Advance time.
    pub fn advance(&self, us: u64) {
        self.now.set(self.now.get() + us);
    }
}

/// DMA region of [`FakePlat`].
pub struct FakeDma {
    mem: Rc<Mem>,
    bus: u64,
    len: usize,
}

impl DmaRegion for FakeDma {
    fn bus_addr(&self) -> u64 {
        self.bus
    }
    fn len(&self) -> usize {
        self.len
    }
    fn read32(&self, o: usize) -> u32 {
        u32::from_le_bytes(self.mem.read(self.bus + o as u64, 4).try_into().unwrap())
    }
    fn read64(&self, o: usize) -> u64 {
        u64::from_le_bytes(self.mem.read(self.bus + o as u64, 8).try_into().unwrap())
    }
    fn write32(&self, o: usize, v: u32) {
        self.mem.write(self.bus + o as u64, &v.to_le_bytes())
    }
    fn write64(&self, o: usize, v: u64) {
        self.mem.write(self.bus + o as u64, &v.to_le_bytes())
    }
    fn read_bytes(&self, o: usize, dst: &mut [u8]) {
        dst.copy_from_slice(&self.mem.read(self.bus + o as u64, dst.len()))
    }
    fn write_bytes(&self, o: usize, src: &[u8]) {
        self.mem.write(self.bus + o as u64, src)
    }
}

impl Platform for FakePlat {
    type Dma = FakeDma;
    type Table<T> = Box<[T]>;
    fn alloc_dma(&self, size: usize, _align: usize) -> Result<FakeDma, Error> {
        Ok(FakeDma {
            mem: self.mem.clone(),
            bus: self.mem.alloc(size),
            len: size,
        })
    }
    fn alloc_table<T>(&self, len: usize, init: impl FnMut(usize) -> T) -> Result<Box<[T]>, Error> {
        Ok((0..len).map(init).collect())
    }
    fn now_us(&self) -> u64 {
        self.now.get()
    }
    fn delay_us(&self, us: u32) {
        self.advance(us as u64)
    }
    fn sleep_us(&self, us: u32) {
        self.advance(us as u64)
    }
    fn log(&self, level: LogLevel, args: fmt::Arguments<'_>) {
        self.logs.borrow_mut().push((level, format!("{args}")));
    }
}

/// Minimal ENA control-path device.
pub struct FakeEna {
    mem: Option<Rc<Mem>>,
    regs: BTreeMap<u32, u32>,
    /// Answer readless reads.
    pub readless: bool,
    resp_addr: u64,
    /// DEV_STS value.
    pub dev_sts: u32,
    /// Last DEV_CTL written with the reset bit.
    pub last_reset_ctl: Option<u32>,
    /// Every DEV_CTL written with the reset bit.
    pub reset_log: Vec<u32>,
    aq_head: u16,
    acq_tail: u16,
    acq_phase: bool,
    aenq_tail: u16,
    aenq_phase: bool,
    /// Admin commands to swallow without completion.
    pub drop_admin: u32,
    /// Features answered with status 3.
    pub refuse: u32,
    /// Supported-features bitmap.
    pub supported: u32,
    /// Device attributes.
    pub attr: DeviceAttributes,
    /// Queue limits.
    pub queues: MaxQueuesExt,
    /// LLQ capabilities.
    pub llq: LlqFeature,
    /// AENQ config.
    pub aenq: AenqConfig,
    /// RSS indirection table header.
    pub rss_table: RssIndTable,
    /// MTU set.
    pub mtu: u32,
    /// SET_FEATURE payloads received (id, payload).
    pub sets: Vec<(u8, [u8; SET_FEATURE_PAYLOAD_SIZE])>,
    /// Opcodes received.
    pub opcodes: Vec<u8>,
    next_cq: u16,
    next_sq: u16,
}

impl Default for FakeEna {
    fn default() -> Self {
        let supported = [
            FeatureId::MaxQueuesExt,
            FeatureId::HwHints,
            FeatureId::Llq,
            FeatureId::StatelessOffloadConfig,
            FeatureId::RssHashFunction,
            FeatureId::RssIndirectionTableConfig,
            FeatureId::RssHashInput,
            FeatureId::Mtu,
            FeatureId::InterruptModeration,
            FeatureId::AenqConfig,
            FeatureId::HostAttrConfig,
            FeatureId::LinkConfig,
        ]
        .iter()
        .fold(0, |m, f| m | f.bit());
        let mut regs = BTreeMap::new();
        regs.insert(offset::VERSION, Version::new(0, 10).0);
        regs.insert(
            offset::CONTROLLER_VERSION,
            ControllerVersion::new(0, 0, 1, 1).0,
        );
        regs.insert(offset::CAPS, Caps::new(true, 5, 48, 0).0);
        FakeEna {
            mem: None,
            regs,
            readless: true,
            resp_addr: 0,
            dev_sts: DevSts::READY.bits(),
            last_reset_ctl: None,
            reset_log: Vec::new(),
            aq_head: 0,
            acq_tail: 0,
            acq_phase: true,
            aenq_tail: 0,
            aenq_phase: true,
            drop_admin: 0,
            refuse: 0,
            supported,
            attr: DeviceAttributes {
                supported_features: supported,
                capabilities: DeviceCaps::EXTENDED_RESET_REASONS.bits(),
                phys_addr_width: 48,
                virt_addr_width: 48,
                mac_addr: [2, 0, 0, 0, 0, 1],
                max_mtu: 9216,
                ..Default::default()
            },
            queues: MaxQueuesExt {
                version: 1,
                max_tx_sq_num: 8,
                max_tx_cq_num: 8,
                max_rx_sq_num: 8,
                max_rx_cq_num: 8,
                max_tx_sq_depth: 1024,
                max_tx_cq_depth: 1024,
                max_rx_sq_depth: 16384,
                max_rx_cq_depth: 16384,
                max_tx_header_size: 96,
                max_per_packet_tx_descs: 19,
                max_per_packet_rx_descs: 19,
                ..Default::default()
            },
            llq: LlqFeature {
                max_llq_num: 8,
                max_llq_depth: 1024,
                header_location_ctrl_supported: LLQ_HEADER_LOCATION_INLINE,
                entry_size_ctrl_supported: LLQ_ENTRY_SIZE_128B | LLQ_ENTRY_SIZE_256B,
                desc_num_before_header_supported: LLQ_DESCS_BEFORE_HEADER_2,
                descriptors_stride_ctrl_supported: LLQ_STRIDE_MULTIPLE_DESCS_PER_ENTRY,
                feature_version: 1,
                entry_size_recommended: LLQ_ENTRY_SIZE_128B as u8,
                ..Default::default()
            },
            aenq: AenqConfig {
                supported_groups: 0xFF,
                enabled_groups: 0,
            },
            rss_table: RssIndTable {
                min_size: 7,
                max_size: 7,
                size: 7,
                ..Default::default()
            },
            mtu: 0,
            sets: Vec::new(),
            opcodes: Vec::new(),
            next_cq: 0,
            next_sq: 0,
        }
    }
}

impl FakeEna {
    /// Forget admin queue state (what a device reset does).
    pub fn admin_reset(&mut self) {
        self.aq_head = 0;
        self.acq_tail = 0;
        self.acq_phase = true;
        self.aenq_tail = 0;
        self.aenq_phase = true;
        self.drop_admin = 0;
    }

    /// Post an AENQ event.
    pub fn push_aenq<T: IntoBytes + zerocopy::Immutable>(
        &mut self,
        group: AenqGroup,
        syndrome: u16,
        payload: &T,
    ) {
        let base = self.addr(offset::AENQ_BASE_LO, offset::AENQ_BASE_HI);
        let e = AenqEntry::new(group, syndrome, self.aenq_phase, 0, payload);
        let slot = u64::from(self.aenq_tail & (AENQ_DEPTH - 1)) * 64;
        if let Some(m) = &self.mem {
            m.write(base + slot, e.as_bytes());
        }
        self.aenq_tail = self.aenq_tail.wrapping_add(1);
        if self.aenq_tail & (AENQ_DEPTH - 1) == 0 {
            self.aenq_phase = !self.aenq_phase;
        }
    }

    fn addr(&self, lo: u32, hi: u32) -> u64 {
        u64::from(*self.regs.get(&lo).unwrap_or(&0))
            | u64::from(*self.regs.get(&hi).unwrap_or(&0)) << 32
    }

    fn read(&self, off: u32) -> u32 {
        if off == offset::DEV_STS {
            return self.dev_sts;
        }
        *self.regs.get(&off).unwrap_or(&0)
    }

    fn write(&mut self, off: u32, val: u32) {
        self.regs.insert(off, val);
        match off {
            offset::MMIO_RESP_HI => {
                self.resp_addr = self.addr(offset::MMIO_RESP_LO, offset::MMIO_RESP_HI)
            }
            offset::MMIO_REG_READ => {
                let (id, reg) = mmio_reg_read_decode(val);
                if self.readless && self.resp_addr != 0 {
                    let r = MmioReadResp {
                        req_id: id,
                        reg_off: reg,
                        reg_val: self.read(u32::from(reg)),
                    };
                    if let Some(m) = &self.mem {
                        m.write(self.resp_addr, r.as_bytes());
                    }
                }
            }
            offset::DEV_CTL => {
                if val & DevCtl::DEV_RESET.bits() != 0 {
                    self.last_reset_ctl = Some(val);
                    self.reset_log.push(val);
                    self.dev_sts |= DevSts::RESET_IN_PROGRESS.bits();
                    self.resp_addr = 0;
                    self.admin_reset();
                } else {
                    self.dev_sts &= !DevSts::RESET_IN_PROGRESS.bits();
                }
            }
            offset::AQ_DB => self.process_admin(val as u16),
            _ => {}
        }
    }

    fn process_admin(&mut self, tail: u16) {
        let Some(mem) = self.mem.clone() else { return };
        let aq = self.addr(offset::AQ_BASE_LO, offset::AQ_BASE_HI);
        let acq = self.addr(offset::ACQ_BASE_LO, offset::ACQ_BASE_HI);
        while self.aq_head != tail {
            let raw = mem.read(aq + u64::from(self.aq_head & 31) * 64, 64);
            self.aq_head = self.aq_head.wrapping_add(1);
            let entry = AqEntry::read_from_bytes(&raw).unwrap();
            self.opcodes.push(entry.common.opcode);
            if self.drop_admin > 0 {
                self.drop_admin -= 1;
                continue;
            }
            let (status, payload) = self.answer(&entry, &mem);
            let e = AcqEntry::new(entry.command_id(), status, self.acq_phase, &payload[..]);
            mem.write(acq + u64::from(self.acq_tail & 31) * 64, e.as_bytes());
            self.acq_tail = self.acq_tail.wrapping_add(1);
            if self.acq_tail & 31 == 0 {
                self.acq_phase = !self.acq_phase;
            }
        }
    }

    fn answer(&mut self, entry: &AqEntry, mem: &Mem) -> (AdminStatus, Vec<u8>) {
        let ok = AdminStatus::Success;
        match AdminOpcode::from_u8(entry.common.opcode) {
            Some(AdminOpcode::GetFeature) => {
                let cmd: GetFeatureCmd = entry.command().unwrap();
                let id = cmd.feat.feature_id;
                if self.refuse & (1 << id) != 0 {
                    return (AdminStatus::UnsupportedOpcode, Vec::new());
                }
                let p: Vec<u8> = match FeatureId::from_u8(id) {
                    Some(FeatureId::DeviceAttributes) => self.attr.as_bytes().to_vec(),
                    Some(FeatureId::MaxQueuesExt) => self.queues.as_bytes().to_vec(),
                    Some(FeatureId::Llq) => self.llq.as_bytes().to_vec(),
                    Some(FeatureId::AenqConfig) => self.aenq.as_bytes().to_vec(),
                    Some(FeatureId::RssIndirectionTableConfig) => {
                        self.rss_table.as_bytes().to_vec()
                    }
                    Some(FeatureId::InterruptModeration) => IntrModeration {
                        intr_delay_resolution: 2,
                        reserved: 0,
                    }
                    .as_bytes()
                    .to_vec(),
                    Some(FeatureId::RssHashFunction) => RssHashFunction {
                        supported_func: 1 << RSS_HASH_FUNCTION_TOEPLITZ,
                        ..Default::default()
                    }
                    .as_bytes()
                    .to_vec(),
                    Some(FeatureId::RssHashInput) => {
                        if cmd.ctrl.address.get() != 0 {
                            let mut hc = RssHashControl::default();
                            for s in hc.supported.iter_mut() {
                                s.fields = 0x3F;
                            }
                            mem.write(cmd.ctrl.address.get(), hc.as_bytes());
                        }
                        RssHashInput {
                            supported_input_sort: 6,
                            enabled_input_sort: 0,
                        }
                        .as_bytes()
                        .to_vec()
                    }
                    Some(FeatureId::StatelessOffloadConfig) => StatelessOffload {
                        tx: 0x7F,
                        rx_supported: 0xF,
                        rx_enabled: 0,
                    }
                    .as_bytes()
                    .to_vec(),
                    _ => vec![0; 56],
                };
                (ok, p)
            }
            Some(AdminOpcode::SetFeature) => {
                let cmd: SetFeatureCmd = entry.command().unwrap();
                let id = cmd.feat.feature_id;
                if self.refuse & (1 << id) != 0 {
                    return (AdminStatus::UnsupportedOpcode, Vec::new());
                }
                self.sets.push((id, cmd.payload));
                if id == FeatureId::Mtu.id() {
                    self.mtu = cmd.payload_as::<MtuFeature>().unwrap().mtu;
                }
                (ok, Vec::new())
            }
            Some(AdminOpcode::CreateCq) => {
                let cmd: CreateCqCmd = entry.command().unwrap();
                let idx = self.next_cq;
                self.next_cq += 1;
                let r = CreateCqResp {
                    cq_idx: idx,
                    cq_actual_depth: cmd.cq_depth,
                    cq_interrupt_unmask_register_offset: 0x1000 + 4 * u32::from(idx),
                    ..Default::default()
                };
                (ok, r.as_bytes().to_vec())
            }
            Some(AdminOpcode::CreateSq) => {
                let idx = self.next_sq;
                self.next_sq += 1;
                let r = CreateSqResp {
                    sq_idx: idx,
                    sq_doorbell_offset: 0x2000 + 4 * u32::from(idx),
                    ..Default::default()
                };
                (ok, r.as_bytes().to_vec())
            }
            Some(_) => (ok, Vec::new()),
            None => (AdminStatus::BadOpcode, Vec::new()),
        }
    }
}

/// A BAR0 over [`FakeEna`].
#[derive(Clone)]
pub struct FakeBar {
    dev: Rc<RefCell<FakeEna>>,
}

impl Default for FakeBar {
    fn default() -> Self {
        FakeBar {
            dev: Rc::new(RefCell::new(FakeEna::default())),
        }
    }
}

impl FakeBar {
    /// A device with DMA access to `plat`'s memory.
    pub fn with_device(plat: &FakePlat) -> Self {
        let bar = FakeBar::default();
        bar.dev.borrow_mut().mem = Some(plat.mem.clone());
        bar
    }
    /// Register value as last written (or device value).
    pub fn reg(&self, off: u32) -> u32 {
        self.dev.borrow().read(off)
    }
    /// Device state.
    pub fn dev(&self) -> Ref<'_, FakeEna> {
        self.dev.borrow()
    }
    /// Device state, mutable.
    pub fn dev_mut(&self) -> RefMut<'_, FakeEna> {
        self.dev.borrow_mut()
    }
}

impl RegisterBar for FakeBar {
    fn read32(&self, offset: u32) -> u32 {
        self.dev.borrow().read(offset)
    }
    fn write32(&self, offset: u32, value: u32) {
        self.dev.borrow_mut().write(offset, value)
    }
    fn write64_block(&self, _offset: u32, _words: &[u64]) {}
}
