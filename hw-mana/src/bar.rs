//! BAR0 access: reading and validating the register map (VF or PF layout),
//! locating the SMC window and the doorbell pages, and ringing doorbells
//! (mana.md §1.3–§1.5).
//!
//! Every offset computed from a device register is checked against the BAR
//! size before it is used (newest Linux returns -EPROTO for the same
//! violations, §1.3), so a hostile register map cannot make the driver
//! touch MMIO outside its BAR.

use cloudnic_common::{Error, Platform, RegisterBar};

use crate::defs::regs::{
    db_offset, offset, CqDoorbell, DimDoorbell, EqDoorbell, RegLayout, WqDoorbell,
    DB_PAGE_SIZE_MASK, MIN_DB_PAGE_SIZE, PF_SRIOV_BASE_ALIGN, REG_DEVICE_GONE, SHM_OFFSET_ALIGN,
};
use crate::defs::smc::SMC_WINDOW_SIZE;

/// Read a 64-bit register as two 32-bit loads, low word first.
pub fn read64<R: RegisterBar>(bar: &R, off: u32) -> u64 {
    let lo = bar.read32(off);
    let hi = bar.read32(off.wrapping_add(4));
    u64::from(lo) | u64::from(hi) << 32
}

/// Where the doorbell pages and the SMC window live, validated against the BAR.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BarLayout {
    /// Register layout used.
    pub layout: RegLayout,
    /// Doorbell-page zone offset from BAR0.
    pub db_page_offset: u64,
    /// Doorbell page size in bytes (≥ 4096).
    pub db_page_size: u32,
    /// SMC window offset from BAR0.
    pub smc_offset: u32,
    /// BAR0 size in bytes (from the shim).
    pub bar_len: u64,
}

impl BarLayout {
    /// Read and validate the register map (mana.md §1.3).
    pub fn read<R: RegisterBar>(bar: &R, layout: RegLayout, bar_len: u64) -> Result<Self, Error> {
        if bar.read32(offset::VERSION) == REG_DEVICE_GONE {
            return Err(Error::DeviceNotReady);
        }
        let (db_off_reg, db_size_reg) = match layout {
            RegLayout::Vf => (offset::DB_PAGE_OFFSET, offset::DB_PAGE_SIZE),
            RegLayout::Pf => (offset::PF_DB_PAGE_OFFSET, offset::PF_DB_PAGE_SIZE),
        };
        let db_page_size = bar.read32(db_size_reg) & DB_PAGE_SIZE_MASK;
        let db_page_offset = read64(bar, db_off_reg);
        if db_page_size < MIN_DB_PAGE_SIZE || db_page_offset >= bar_len {
            return Err(Error::IncompatibleDevice);
        }
        let smc = match layout {
            RegLayout::Vf => read64(bar, offset::SHM_OFFSET),
            RegLayout::Pf => {
                let sriov = read64(bar, offset::PF_SRIOV_BASE);
                if sriov & (PF_SRIOV_BASE_ALIGN - 1) != 0 || sriov >= bar_len {
                    return Err(Error::IncompatibleDevice);
                }
                let rel_reg = sriov
                    .checked_add(u64::from(offset::PF_SRIOV_SHM_OFFSET))
                    .ok_or(Error::IncompatibleDevice)?;
                let rel_reg = u32::try_from(rel_reg).map_err(|_| Error::IncompatibleDevice)?;
                if u64::from(rel_reg) + 8 > bar_len {
                    return Err(Error::IncompatibleDevice);
                }
                sriov
                    .checked_add(read64(bar, rel_reg))
                    .ok_or(Error::IncompatibleDevice)?
            }
        };
        // The window must lie inside BAR0 with all 32 bytes, 4-byte aligned.
        let smc_end = smc
            .checked_add(u64::from(SMC_WINDOW_SIZE))
            .ok_or(Error::IncompatibleDevice)?;
        if smc & (SHM_OFFSET_ALIGN - 1) != 0 || smc_end > bar_len {
            return Err(Error::IncompatibleDevice);
        }
        let smc_offset = u32::try_from(smc).map_err(|_| Error::IncompatibleDevice)?;
        Ok(BarLayout {
            layout,
            db_page_offset,
            db_page_size,
            smc_offset,
            bar_len,
        })
    }

    /// The doorbell page `db_id`, if it lies entirely inside BAR0
    /// (`db_page_off + size × (id + 1) ≤ BAR size`, mana.md §1.3).
    pub fn doorbell_page(&self, db_id: u32) -> Result<DoorbellPage, Error> {
        let size = u64::from(self.db_page_size);
        let start = u64::from(db_id)
            .checked_mul(size)
            .and_then(|o| o.checked_add(self.db_page_offset))
            .ok_or(Error::IncompatibleDevice)?;
        let end = start.checked_add(size).ok_or(Error::IncompatibleDevice)?;
        // The EQ doorbell at 0xFF8 must fit too; db_page_size ≥ 4096 guarantees it.
        if end > self.bar_len {
            return Err(Error::IncompatibleDevice);
        }
        Ok(DoorbellPage {
            base: u32::try_from(start).map_err(|_| Error::IncompatibleDevice)?,
        })
    }
}

/// One doorbell page: where a queue's producer/consumer updates go (mana.md §1.4).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DoorbellPage {
    base: u32,
}

impl DoorbellPage {
    /// BAR0 offset of the page.
    pub fn base(&self) -> u32 {
        self.base
    }

    /// Every doorbell is one 64-bit write after a write barrier so the
    /// queue memory it announces is visible first (mana.md §1.4).
    fn ring<P: Platform, R: RegisterBar>(&self, plat: &P, bar: &R, reg: u32, value: u64) {
        plat.write_barrier();
        bar.write64_block(self.base.wrapping_add(reg), &[value]);
    }

    /// SQ producer offset in bytes.
    pub fn ring_sq<P: Platform, R: RegisterBar>(
        &self,
        plat: &P,
        bar: &R,
        sq_id: u32,
        tail_bytes: u32,
    ) {
        self.ring(
            plat,
            bar,
            db_offset::SQ,
            WqDoorbell::sq(sq_id, tail_bytes).0,
        );
    }
    /// RQ producer offset in bytes (`wqe_cnt` 0 like Linux, mana.md §12).
    pub fn ring_rq<P: Platform, R: RegisterBar>(
        &self,
        plat: &P,
        bar: &R,
        rq_id: u32,
        tail_bytes: u32,
    ) {
        self.ring(
            plat,
            bar,
            db_offset::RQ,
            WqDoorbell::rq(rq_id, 0, tail_bytes).0,
        );
    }
    /// CQ consumer index with optional arm.
    pub fn ring_cq<P: Platform, R: RegisterBar>(
        &self,
        plat: &P,
        bar: &R,
        cq_id: u32,
        index: u32,
        arm: bool,
    ) {
        self.ring(
            plat,
            bar,
            db_offset::CQ,
            CqDoorbell::new(cq_id, index, arm).0,
        );
    }
    /// EQ consumer index with optional arm.
    pub fn ring_eq<P: Platform, R: RegisterBar>(
        &self,
        plat: &P,
        bar: &R,
        eq_id: u32,
        index: u32,
        arm: bool,
    ) {
        self.ring(
            plat,
            bar,
            db_offset::EQ,
            EqDoorbell::new(eq_id, index, arm).0,
        );
    }
    /// Interrupt moderation for a CQ (net-next, PF cap DIM).
    pub fn ring_dim<P: Platform, R: RegisterBar>(
        &self,
        plat: &P,
        bar: &R,
        cq_id: u32,
        usec: u16,
        comps: u8,
    ) {
        self.ring(
            plat,
            bar,
            db_offset::DIM,
            DimDoorbell::new(cq_id, Some(usec), Some(comps)).0,
        );
    }
}
