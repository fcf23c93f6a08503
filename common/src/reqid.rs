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
//! Two shapes:
//! - [`ReqIdSlab`] keeps a caller value per id (the token and bookkeeping of
//!   the packet behind it) next to the id's in-flight flag and free-list
//!   link, in one platform table. The per-packet path touches one entry:
//!   alloc stores the value, [`ReqIdSlab::take`] validates the id, frees it
//!   and hands the value back, with one bounds check each. It keeps no
//!   count ([`ReqIdSlab::in_flight`] counts the table: diagnostics only).
//! - [`ReqIdPool`] is the same with no value (ids only) and an O(1) count.
//!
//! Free ids form a LIFO list threaded through the entries (the most recently
//! freed id is handed out next; a fresh pool hands out 0, 1, 2, ...). Memory
//! is one table of `size` entries, allocated once at queue creation. Alloc
//! and free are O(1); nothing here panics for any id value.

use core::fmt;

use crate::{ConfigError, Error, Platform};

/// Largest pool: ids are u16 and the in-flight count is a u16 too.
pub const MAX_REQ_IDS: u32 = u16::MAX as u32;

/// End of the free list. Ids are below the size (≤ [`MAX_REQ_IDS`]), so
/// `u16::MAX` is never a valid id and looks up as out of range.
const FREE_END: u16 = u16::MAX;

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

/// One id's state in a [`ReqIdSlab`].
#[derive(Clone, Copy, Debug)]
struct SlabEntry<T> {
    /// The caller's value; meaningful while `busy`.
    value: T,
    /// Next free id while not `busy` ([`FREE_END`] ends the list).
    next_free: u16,
    /// True between `alloc` and `take` of this id.
    busy: bool,
}

/// Request ids `0..size`, each carrying a caller value while in flight.
pub struct ReqIdSlab<P: Platform, T: Copy> {
    entries: P::Table<SlabEntry<T>>,
    /// First free id, or [`FREE_END`].
    free_head: u16,
    size: u16,
    /// Value stored in free entries (keeps them deterministic after reset).
    idle: T,
}

impl<P: Platform, T: Copy> ReqIdSlab<P, T> {
    /// A slab of `size` ids (1..=[`MAX_REQ_IDS`]), all free, free entries
    /// holding `idle`. Ids come out in ascending order from a fresh slab.
    pub fn new(plat: &P, size: u32, idle: T) -> Result<Self, Error> {
        let size16 = match u16::try_from(size) {
            Ok(s) if s > 0 => s,
            _ => {
                return Err(ConfigError::RingSizeOutOfRange {
                    requested: size,
                    min: 1,
                    max: MAX_REQ_IDS,
                }
                .into())
            }
        };
        let entries = plat.alloc_table(usize::from(size16), |i| SlabEntry {
            value: idle,
            next_free: Self::initial_link(i, size16),
            busy: false,
        })?;
        Ok(ReqIdSlab {
            entries,
            free_head: 0,
            size: size16,
            idle,
        })
    }

    /// Free-list link of entry `i` in a fresh slab: `i + 1`, the last ends it.
    fn initial_link(i: usize, size: u16) -> u16 {
        match u16::try_from(i + 1) {
            Ok(next) if next < size => next,
            _ => FREE_END,
        }
    }

    /// Number of ids in the slab.
    #[inline]
    pub fn size(&self) -> u16 {
        self.size
    }
    /// Ids currently handed out. O(size): the per-packet path keeps no
    /// count, so this is for diagnostics and tests.
    pub fn in_flight(&self) -> u16 {
        // At most `size` ≤ u16::MAX entries are busy.
        self.entries.iter().filter(|e| e.busy).count() as u16
    }
    /// Ids available to [`ReqIdSlab::alloc`]. O(size), like [`ReqIdSlab::in_flight`].
    pub fn available(&self) -> u16 {
        self.size.wrapping_sub(self.in_flight())
    }

    /// Take a free id and store `value` with it, or `None` if all are in flight.
    #[inline]
    pub fn alloc(&mut self, value: T) -> Option<u16> {
        slab_alloc(&mut self.entries, &mut self.free_head, value)
    }

    /// Return `id` (typically read from a device completion) to the slab and
    /// hand back its value (a view of the freed entry, valid until the slab
    /// is next changed). Refused (slab unchanged) if `id` is out of range or
    /// not in flight.
    #[inline]
    pub fn take(&mut self, id: u16) -> Result<&T, ReqIdError> {
        slab_take(&mut self.entries, &mut self.free_head, id)
    }

    /// Start a run of [`SlabRun::alloc`] / [`SlabRun::take`] calls for a
    /// per-packet loop: the same operations, with the table and the
    /// free-list head held locally (in registers) and the head written back
    /// when the run is dropped.
    #[inline]
    pub fn run(&mut self) -> SlabRun<'_, T> {
        SlabRun {
            head: self.free_head,
            entries: &mut self.entries,
            home: &mut self.free_head,
        }
    }

    /// Check that `id` is in range and in flight, without freeing it.
    #[inline]
    pub fn validate(&self, id: u16) -> Result<(), ReqIdError> {
        match self.entries.get(usize::from(id)) {
            None => Err(ReqIdError::OutOfRange),
            Some(e) if !e.busy => Err(ReqIdError::NotInFlight),
            Some(_) => Ok(()),
        }
    }

    /// True if `id` is in range and currently in flight.
    #[inline]
    pub fn is_in_flight(&self, id: u16) -> bool {
        self.validate(id).is_ok()
    }

    /// The value of an in-flight `id`.
    pub fn get(&self, id: u16) -> Option<&T> {
        self.entries
            .get(usize::from(id))
            .filter(|e| e.busy)
            .map(|e| &e.value)
    }

    /// The value of an in-flight `id`, mutable.
    pub fn get_mut(&mut self, id: u16) -> Option<&mut T> {
        self.entries
            .get_mut(usize::from(id))
            .filter(|e| e.busy)
            .map(|e| &mut e.value)
    }

    /// Visit every id in flight with its value, in ascending order
    /// (teardown, health checks). O(size).
    pub fn for_each_in_flight(&self, mut f: impl FnMut(u16, &T)) {
        for (id, e) in self.entries.iter().enumerate() {
            if e.busy {
                f(id as u16, &e.value);
            }
        }
    }

    /// Visit every id in flight with its value, mutable, in ascending order.
    pub fn for_each_in_flight_mut(&mut self, mut f: impl FnMut(u16, &mut T)) {
        for (id, e) in self.entries.iter_mut().enumerate() {
            if e.busy {
                f(id as u16, &mut e.value);
            }
        }
    }

    /// Mark every id free (queue re-created after a reset or close). A
    /// fresh order: ids come out ascending again.
    pub fn reset(&mut self) {
        let size = self.size;
        let idle = self.idle;
        for (i, e) in self.entries.iter_mut().enumerate() {
            *e = SlabEntry {
                value: idle,
                next_free: Self::initial_link(i, size),
                busy: false,
            };
        }
        self.free_head = 0;
    }
}

/// A run of operations on a [`ReqIdSlab`] (see [`ReqIdSlab::run`]).
pub struct SlabRun<'a, T: Copy> {
    entries: &'a mut [SlabEntry<T>],
    head: u16,
    home: &'a mut u16,
}

impl<T: Copy> SlabRun<'_, T> {
    /// [`ReqIdSlab::alloc`].
    #[inline]
    pub fn alloc(&mut self, value: T) -> Option<u16> {
        slab_alloc(self.entries, &mut self.head, value)
    }
    /// [`ReqIdSlab::take`].
    #[inline]
    pub fn take(&mut self, id: u16) -> Result<&T, ReqIdError> {
        slab_take(self.entries, &mut self.head, id)
    }
}

impl<T: Copy> Drop for SlabRun<'_, T> {
    #[inline]
    fn drop(&mut self) {
        *self.home = self.head;
    }
}

/// Pop the free-list head, mark it in flight with `value`.
#[inline(always)]
fn slab_alloc<T: Copy>(entries: &mut [SlabEntry<T>], head: &mut u16, value: T) -> Option<u16> {
    let id = *head;
    // FREE_END is out of range: an empty list ends here. Only `slab_take`
    // (after its in-flight check) and `reset` link an entry, so the head is
    // never busy: no second check on the per-packet path.
    let e = entries.get_mut(usize::from(id))?;
    debug_assert!(!e.busy, "free list links a busy id");
    e.busy = true;
    e.value = value;
    *head = e.next_free;
    Some(id)
}

/// Check `id` is in range and in flight, push it on the free list, hand
/// back its value; nothing changes on refusal.
#[inline(always)]
fn slab_take<'e, T: Copy>(
    entries: &'e mut [SlabEntry<T>],
    head: &mut u16,
    id: u16,
) -> Result<&'e T, ReqIdError> {
    let e = entries
        .get_mut(usize::from(id))
        .ok_or(ReqIdError::OutOfRange)?;
    if !e.busy {
        return Err(ReqIdError::NotInFlight);
    }
    e.busy = false;
    e.next_free = *head;
    *head = id;
    Ok(&e.value)
}

/// A pool of request ids `0..size` (a [`ReqIdSlab`] without values).
pub struct ReqIdPool<P: Platform> {
    slab: ReqIdSlab<P, ()>,
    in_flight: u16,
}

impl<P: Platform> ReqIdPool<P> {
    /// A pool of `size` ids (1..=[`MAX_REQ_IDS`]), all free. Ids come out in
    /// ascending order from a fresh pool.
    pub fn new(plat: &P, size: u32) -> Result<Self, Error> {
        Ok(ReqIdPool {
            slab: ReqIdSlab::new(plat, size, ())?,
            in_flight: 0,
        })
    }

    /// Number of ids in the pool.
    #[inline]
    pub fn size(&self) -> u16 {
        self.slab.size()
    }
    /// Ids currently handed out.
    #[inline]
    pub fn in_flight(&self) -> u16 {
        self.in_flight
    }
    /// Ids available to [`ReqIdPool::alloc`].
    #[inline]
    pub fn available(&self) -> u16 {
        self.slab.size().wrapping_sub(self.in_flight)
    }

    /// Take a free id, or `None` if all are in flight.
    #[inline]
    pub fn alloc(&mut self) -> Option<u16> {
        let id = self.slab.alloc(())?;
        // At most `size` ≤ u16::MAX ids are in flight.
        self.in_flight = self.in_flight.wrapping_add(1);
        Some(id)
    }

    /// Check that `id` (typically read from a device completion) is in
    /// range and in flight, without freeing it.
    #[inline]
    pub fn validate(&self, id: u16) -> Result<(), ReqIdError> {
        self.slab.validate(id)
    }

    /// True if `id` is in range and currently in flight.
    #[inline]
    pub fn is_in_flight(&self, id: u16) -> bool {
        self.slab.is_in_flight(id)
    }

    /// Return `id` to the pool. Refused (pool unchanged) if `id` is out of
    /// range or not in flight.
    #[inline]
    pub fn free(&mut self, id: u16) -> Result<(), ReqIdError> {
        self.slab.take(id)?;
        self.in_flight = self.in_flight.wrapping_sub(1);
        Ok(())
    }

    /// Visit every id in flight, in ascending order (teardown: release the
    /// buffers behind them). O(size).
    pub fn for_each_in_flight(&self, mut f: impl FnMut(u16)) {
        self.slab.for_each_in_flight(|id, ()| f(id));
    }

    /// Mark every id free (queue re-created after a reset or close). A
    /// fresh pool order: ids come out ascending again.
    pub fn reset(&mut self) {
        self.slab.reset();
        self.in_flight = 0;
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
        fn alloc_table<T>(
            &self,
            len: usize,
            init: impl FnMut(usize) -> T,
        ) -> Result<Vec<T>, Error> {
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
                    assert_eq!(
                        p.is_in_flight(id),
                        model.get(usize::from(id)).copied().unwrap_or(false)
                    );
                }
            }
            assert_eq!(
                usize::from(p.in_flight()),
                model.iter().filter(|&&b| b).count()
            );
        }
    }

    /// Ids come back LIFO (most recently freed first), like a stack.
    #[test]
    fn reuse_order_is_lifo() {
        let mut p = ReqIdPool::new(&TablePlat, 8).unwrap();
        for _ in 0..5 {
            p.alloc();
        }
        p.free(1).unwrap();
        p.free(3).unwrap();
        assert_eq!(p.alloc(), Some(3));
        assert_eq!(p.alloc(), Some(1));
        assert_eq!(p.alloc(), Some(5));
    }

    #[test]
    fn slab_values_follow_their_ids() {
        let mut s = ReqIdSlab::new(&TablePlat, 4, 0u64).unwrap();
        let a = s.alloc(100).unwrap();
        let b = s.alloc(200).unwrap();
        assert_eq!((a, b), (0, 1));
        assert_eq!(s.get(b), Some(&200));
        assert_eq!(s.get(2), None, "free ids have no value");
        *s.get_mut(a).unwrap() += 1;
        let mut seen = Vec::new();
        s.for_each_in_flight(|id, v| seen.push((id, *v)));
        assert_eq!(seen, [(0, 101), (1, 200)]);
        s.for_each_in_flight_mut(|_, v| *v *= 2);
        assert_eq!(s.take(b), Ok(&400));
        assert_eq!(s.take(b), Err(ReqIdError::NotInFlight));
        assert_eq!(s.take(4), Err(ReqIdError::OutOfRange));
        assert_eq!(s.take(u16::MAX), Err(ReqIdError::OutOfRange));
        assert_eq!(s.in_flight(), 1);
        assert_eq!(s.alloc(7), Some(1));
        s.reset();
        assert_eq!((s.in_flight(), s.available()), (0, 4));
        assert_eq!(s.get(0), None);
        assert_eq!(s.alloc(9), Some(0));
    }

    #[test]
    fn slab_at_max_size() {
        let mut s = ReqIdSlab::new(&TablePlat, MAX_REQ_IDS, ()).unwrap();
        for want in 0..MAX_REQ_IDS {
            assert_eq!(s.alloc(()), Some(want as u16));
        }
        assert_eq!(s.alloc(()), None, "FREE_END must not be handed out");
        assert_eq!(s.in_flight(), u16::MAX);
        assert_eq!(s.take(u16::MAX), Err(ReqIdError::OutOfRange));
        assert_eq!(s.take(65534), Ok(&()));
        assert_eq!(s.alloc(()), Some(65534));
    }

    /// Property: the slab returns exactly the value stored with each id,
    /// against a reference map, with hostile ids mixed in.
    #[test]
    fn slab_matches_reference_model() {
        let mut rng: u64 = 0x0DDB_1A5E_5BAD_5EED;
        let mut next = || {
            rng ^= rng << 13;
            rng ^= rng >> 7;
            rng ^= rng << 17;
            rng
        };
        const N: usize = 29;
        let mut s = ReqIdSlab::new(&TablePlat, N as u32, 0u64).unwrap();
        let mut model: [Option<u64>; N] = [None; N];
        for step in 0..200_000u64 {
            match next() % 3 {
                0 => match s.alloc(step) {
                    Some(id) => {
                        assert!(model[usize::from(id)].is_none(), "id handed out twice");
                        model[usize::from(id)] = Some(step);
                    }
                    None => assert!(model.iter().all(Option::is_some)),
                },
                1 => {
                    let id = (next() % 40) as u16;
                    let expect = match model.get(usize::from(id)) {
                        None => Err(ReqIdError::OutOfRange),
                        Some(None) => Err(ReqIdError::NotInFlight),
                        Some(Some(v)) => Ok(*v),
                    };
                    assert_eq!(s.take(id).copied(), expect);
                    if expect.is_ok() {
                        model[usize::from(id)] = None;
                    }
                }
                _ => {
                    let id = (next() % 40) as u16;
                    assert_eq!(
                        s.get(id).copied(),
                        model.get(usize::from(id)).copied().flatten()
                    );
                }
            }
            assert_eq!(
                usize::from(s.in_flight()),
                model.iter().filter(|v| v.is_some()).count()
            );
        }
    }

    /// A run does what the slab's own calls do, and the slab carries on
    /// from where the run left its free list.
    #[test]
    fn run_matches_direct_calls() {
        let mut a = ReqIdSlab::new(&TablePlat, 16, 0u32).unwrap();
        let mut b = ReqIdSlab::new(&TablePlat, 16, 0u32).unwrap();
        let mut rng: u32 = 0x9E37_79B9;
        for round in 0..2_000u32 {
            let mut run = b.run();
            for step in 0..8u32 {
                rng ^= rng << 13;
                rng ^= rng >> 17;
                rng ^= rng << 5;
                let v = round * 8 + step;
                if rng & 1 == 0 {
                    assert_eq!(a.alloc(v), run.alloc(v));
                } else {
                    let id = (rng >> 8) as u16 % 20; // includes out-of-range ids
                    assert_eq!(a.take(id).copied(), run.take(id).copied());
                }
            }
            drop(run);
            assert_eq!(a.alloc(7), b.alloc(7), "free list written back");
            let mut sa = Vec::new();
            let mut sb = Vec::new();
            a.for_each_in_flight(|id, v| sa.push((id, *v)));
            b.for_each_in_flight(|id, v| sb.push((id, *v)));
            assert_eq!(sa, sb);
        }
    }
}
