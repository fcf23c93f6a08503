//! Request-id pools: the ids a driver stamps into descriptors so that the
//! device's completion names which buffer finished.
//!
//! The device echoes the id back, and that echo is untrusted (design.md
//! invariant 6; ENA counts `bad_tx_req_id` / `bad_rx_req_id` and resets with
//! INV_TX_REQ_ID / INV_RX_REQ_ID, ena.md §1.4). So the pool tracks which ids
//! are in flight, not only which are free: an id that is out of range, was
//! never handed out, or completes twice is reported as a [`ReqIdError`] and
//! the pool is left unchanged — it can never corrupt the free list.
//!
//! Memory: two platform tables of `size` entries (a free stack of ids and an
//! in-flight flag per id), allocated once at queue creation. Alloc and free
//! are O(1); nothing here panics for any id value.

use core::fmt;

use crate::{ConfigError, Error, Platform};

/// Largest pool: ids are u16 and the in-flight count is a u16 too.
pub const MAX_REQ_IDS: u32 = u16::MAX as u32;

/// Why a device-returned id was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReqIdError {
    /// The id is not below the pool size.
    OutOfRange,
    /// The id is in range but not in flight (never allocated, or already
    /// completed: a double completion).
    NotInFlight,
}

impl fmt::Display for ReqIdError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ReqIdError::OutOfRange => f.write_str("request id out of range"),
            ReqIdError::NotInFlight => f.write_str("request id not in flight"),
        }
    }
}

impl From<ReqIdError> for Error {
    /// A bad id is a device writing a malformed value.
    fn from(_: ReqIdError) -> Self {
        Error::Malformed
    }
}

/// A pool of request ids `0..size`.
pub struct ReqIdPool<P: Platform> {
    /// Free ids; `free_stack[..free_count]` are valid, the top is the next id out.
    free_stack: P::Table<u16>,
    /// `in_flight[id]` is true between `alloc` and `free` of `id`.
    in_flight: P::Table<bool>,
    free_count: u16,
    size: u16,
}

impl<P: Platform> ReqIdPool<P> {
    /// A pool of `size` ids (1..=[`MAX_REQ_IDS`]), all free. Ids come out in
    /// ascending order from a fresh pool.
    pub fn new(plat: &P, size: u32) -> Result<Self, Error> {
        let size16 = match u16::try_from(size) {
            Ok(s) if s > 0 => s,
            _ => {
                return Err(ConfigError::RingSizeOutOfRange { requested: size, min: 1, max: MAX_REQ_IDS }.into())
            }
        };
        let n = usize::from(size16);
        // Stack top is the last element: store ids descending so 0 pops first.
        let free_stack = plat.alloc_table(n, |i| (n - 1 - i) as u16)?;
        let in_flight = plat.alloc_table(n, |_| false)?;
        Ok(ReqIdPool { free_stack, in_flight, free_count: size16, size: size16 })
    }

    /// Number of ids in the pool.
    pub fn size(&self) -> u16 {
        self.size
    }
    /// Ids currently handed out.
    pub fn in_flight(&self) -> u16 {
        self.size.wrapping_sub(self.free_count)
    }
    /// Ids available to [`ReqIdPool::alloc`].
    pub fn available(&self) -> u16 {
        self.free_count
    }

    /// Take a free id, or `None` if all are in flight.
    pub fn alloc(&mut self) -> Option<u16> {
        let top = self.free_count.checked_sub(1)?;
        let id = *self.free_stack.get(usize::from(top))?;
        let flag = self.in_flight.get_mut(usize::from(id))?;
        if *flag {
            // Unreachable while the invariants hold; refuse rather than hand
            // out an id twice.
            return None;
        }
        *flag = true;
        self.free_count = top;
        Some(id)
    }

    /// Check that `id` (typically read from a device completion) is in
    /// range and in flight, without freeing it.
    pub fn validate(&self, id: u16) -> Result<(), ReqIdError> {
        match self.in_flight.get(usize::from(id)) {
            None => Err(ReqIdError::OutOfRange),
            Some(false) => Err(ReqIdError::NotInFlight),
            Some(true) => Ok(()),
        }
    }

    /// True if `id` is in range and currently in flight.
    pub fn is_in_flight(&self, id: u16) -> bool {
        self.validate(id).is_ok()
    }

    /// Return `id` to the pool. Refused (pool unchanged) if `id` is out of
    /// range or not in flight.
    pub fn free(&mut self, id: u16) -> Result<(), ReqIdError> {
        self.validate(id)?;
        let slot = self.free_stack.get_mut(usize::from(self.free_count)).ok_or(ReqIdError::NotInFlight)?;
        *slot = id;
        if let Some(flag) = self.in_flight.get_mut(usize::from(id)) {
            *flag = false;
        }
        self.free_count = self.free_count.wrapping_add(1);
        Ok(())
    }

    /// Visit every id in flight, in ascending order (teardown: release the
    /// buffers behind them). O(size).
    pub fn for_each_in_flight(&self, mut f: impl FnMut(u16)) {
        for (id, &busy) in self.in_flight.iter().enumerate() {
            if busy {
                f(id as u16);
            }
        }
    }

    /// Mark every id free (queue re-created after a reset or close). A
    /// fresh pool order: ids come out ascending again.
    pub fn reset(&mut self) {
        let n = self.free_stack.len();
        for (i, slot) in self.free_stack.iter_mut().enumerate() {
            *slot = (n - 1 - i) as u16;
        }
        for flag in self.in_flight.iter_mut() {
            *flag = false;
        }
        self.free_count = self.size;
    }
}

#[cfg(test)]
mod tests {
    extern crate std;
    use super::*;
    use crate::{DmaRegion, LogLevel};
    use std::vec::Vec;

    struct NoDma;
    impl DmaRegion for NoDma {
        fn bus_addr(&self) -> u64 {
            0
        }
        fn len(&self) -> usize {
            0
        }
        fn read32(&self, _: usize) -> u32 {
            0
        }
        fn read64(&self, _: usize) -> u64 {
            0
        }
        fn write32(&self, _: usize, _: u32) {}
        fn write64(&self, _: usize, _: u64) {}
        fn read_bytes(&self, _: usize, _: &mut [u8]) {}
        fn write_bytes(&self, _: usize, _: &[u8]) {}
    }

    /// Bookkeeping tables from the host heap; no DMA.
    struct TablePlat;
    impl Platform for TablePlat {
        type Dma = NoDma;
        type Table<T> = Vec<T>;
        fn alloc_dma(&self, _: usize, _: usize) -> Result<NoDma, Error> {
            Err(Error::NoMemory)
        }
        fn alloc_table<T>(&self, len: usize, init: impl FnMut(usize) -> T) -> Result<Vec<T>, Error> {
            Ok((0..len).map(init).collect())
        }
        fn now_us(&self) -> u64 {
            0
        }
        fn delay_us(&self, _: u32) {}
        fn sleep_us(&self, _: u32) {}
        fn log(&self, _: LogLevel, _: core::fmt::Arguments<'_>) {}
    }

    #[test]
    fn size_validation() {
        assert!(ReqIdPool::new(&TablePlat, 0).is_err());
        assert!(ReqIdPool::new(&TablePlat, 65536).is_err());
        assert_eq!(ReqIdPool::new(&TablePlat, 65535).unwrap().size(), 65535);
    }

    #[test]
    fn alloc_all_then_exhausted() {
        let mut p = ReqIdPool::new(&TablePlat, 4).unwrap();
        let ids: Vec<u16> = (0..4).map(|_| p.alloc().unwrap()).collect();
        assert_eq!(ids, [0, 1, 2, 3]);
        assert_eq!(p.alloc(), None);
        assert_eq!(p.in_flight(), 4);
        assert_eq!(p.available(), 0);
        p.free(2).unwrap();
        assert_eq!(p.alloc(), Some(2));
    }

    #[test]
    fn bad_ids_are_refused_without_damage() {
        let mut p = ReqIdPool::new(&TablePlat, 8).unwrap();
        let a = p.alloc().unwrap();
        assert_eq!(p.free(8), Err(ReqIdError::OutOfRange));
        assert_eq!(p.free(u16::MAX), Err(ReqIdError::OutOfRange));
        assert_eq!(p.free(5), Err(ReqIdError::NotInFlight)); // never allocated
        assert_eq!(p.free(a), Ok(()));
        assert_eq!(p.free(a), Err(ReqIdError::NotInFlight)); // double completion
        assert_eq!(p.in_flight(), 0);
        // Pool still hands out 8 distinct ids.
        let mut seen = [false; 8];
        for _ in 0..8 {
            let id = p.alloc().unwrap();
            assert!(!seen[usize::from(id)]);
            seen[usize::from(id)] = true;
        }
        assert_eq!(p.alloc(), None);
    }

    #[test]
    fn reset_and_iteration() {
        let mut p = ReqIdPool::new(&TablePlat, 6).unwrap();
        for _ in 0..4 {
            p.alloc();
        }
        p.free(1).unwrap();
        let mut busy = Vec::new();
        p.for_each_in_flight(|id| busy.push(id));
        assert_eq!(busy, [0, 2, 3]);
        p.reset();
        assert_eq!(p.in_flight(), 0);
        assert!(!p.is_in_flight(0));
        assert_eq!(p.alloc(), Some(0));
    }

    /// Property: against a reference set, random alloc / free / hostile ids
    /// keep the pool exact for many operations.
    #[test]
    fn matches_reference_model() {
        let mut rng: u64 = 0x1234_5678_9ABC_DEF1;
        let mut next = || {
            rng ^= rng << 13;
            rng ^= rng >> 7;
            rng ^= rng << 17;
            rng
        };
        const N: usize = 37;
        let mut p = ReqIdPool::new(&TablePlat, N as u32).unwrap();
        let mut model = [false; N];
        for _ in 0..200_000 {
            match next() % 3 {
                0 => match p.alloc() {
                    Some(id) => {
                        assert!(!model[usize::from(id)], "id handed out twice");
                        model[usize::from(id)] = true;
                    }
                    None => assert!(model.iter().all(|&b| b)),
                },
                1 => {
                    let id = (next() % 48) as u16; // includes out-of-range ids
                    let expect = match model.get(usize::from(id)) {
                        None => Err(ReqIdError::OutOfRange),
                        Some(false) => Err(ReqIdError::NotInFlight),
                        Some(true) => Ok(()),
                    };
                    assert_eq!(p.free(id), expect);
                    if expect.is_ok() {
                        model[usize::from(id)] = false;
                    }
                }
                _ => {
                    let id = next() as u16;
                    assert_eq!(p.is_in_flight(id), model.get(usize::from(id)).copied().unwrap_or(false));
                }
            }
            assert_eq!(usize::from(p.in_flight()), model.iter().filter(|&&b| b).count());
        }
    }
}
