//! Descriptor-ring index primitives: ENA's phase bit and MANA's 3-bit owner
//! count, plus "entries in use / free" between a producer and a consumer.
//!
//! Both devices mark a ring entry as new with bits the device flips every
//! pass over the ring, so the driver never needs a device-written head
//! pointer. The counters here are free-running and use only wrapping or
//! masking arithmetic: the kernel builds with overflow checks on
//! (design.md invariant 3), so a plain `+` on a ring index is a BUG.
//!
//! Nothing here trusts the device: [`PhaseRing::is_new`] and
//! [`OwnerCount::classify`] compare device-written bits against software
//! state only, and every index they return is already masked into the ring.

use crate::{ConfigError, Error};

/// Largest ENA ring depth: a power of two whose wrap count keeps the same
/// parity when the u16 counter itself wraps (65536 / depth must be even).
pub const MAX_PHASE_RING_DEPTH: u32 = 32768;

/// Largest MANA ring depth in entries: `2^32 / depth` must be a multiple of
/// 8 so the owner count stays continuous when the u32 head wraps.
pub const MAX_OWNER_RING_DEPTH: u32 = 1 << 29;

/// Owner bits are 3 wide in MANA CQEs and EQEs (mana.md §4.1, §4.3, §4.4).
pub const OWNER_BITS_MASK: u8 = 0x7;

/// Check `depth` is a power of two in `1..=max`, giving the ConfigError a
/// user sees when the depth came from `ethtool -G`.
fn check_depth(depth: u32, max: u32) -> Result<(), Error> {
    if depth == 0 || depth > max {
        return Err(ConfigError::RingSizeOutOfRange {
            requested: depth,
            min: 1,
            max,
        }
        .into());
    }
    if !depth.is_power_of_two() {
        return Err(ConfigError::RingSizeNotPowerOfTwo { requested: depth }.into());
    }
    Ok(())
}

/// An ENA ring position: free-running u16 counter plus the phase bit.
///
/// ENA sheet §5.1: SQ and CQ phase start at 1; the SQ phase flips when
/// `tail & (depth − 1)` wraps to 0, the CQ phase when the head wraps. The
/// counter itself is what the SQ doorbell carries (§5.1 "Doorbell": the
/// free-running u16 tail), and the admin queue and AENQ use the same scheme
/// (§3.4, §4). A ring may start at any counter with any phase (the AENQ
/// head starts at its depth, 16, expecting phase 1).
///
/// The phase is not stored: it flips exactly when the counter crosses a
/// multiple of the depth, i.e. when the counter's "pass bit" (`counter &
/// depth`) toggles, so it is that bit XOR a constant fixed at the start.
/// This holds across the u16 wrap of the counter because 65536 / depth is
/// even (depth ≤ [`MAX_PHASE_RING_DEPTH`]). Advancing is then a plain
/// wrapping add, which keeps the per-descriptor path short.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PhaseRing {
    counter: u16,
    mask: u16,
    /// The phase at counters whose pass bit is clear.
    phase_base: bool,
    start_counter: u16,
}

impl PhaseRing {
    /// A ring of `depth` entries (power of two, ≤ [`MAX_PHASE_RING_DEPTH`])
    /// at counter 0 with phase 1 — the ENA SQ/CQ starting state (§5.1).
    pub fn new(depth: u32) -> Result<Self, Error> {
        Self::with_start(depth, 0, true)
    }

    /// A ring starting at `counter` with `phase` (e.g. the AENQ: counter 16,
    /// phase 1, ena.md §4). [`PhaseRing::reset`] returns to this state.
    pub fn with_start(depth: u32, counter: u16, phase: bool) -> Result<Self, Error> {
        check_depth(depth, MAX_PHASE_RING_DEPTH)?;
        // depth ≤ 32768 was checked, so the mask fits in u16.
        let mask = (depth - 1) as u16;
        let mut ring = PhaseRing {
            counter,
            mask,
            phase_base: false,
            start_counter: counter,
        };
        ring.phase_base = phase ^ ring.pass_bit();
        Ok(ring)
    }

    /// Parity of the number of whole passes in the counter (`counter & depth`).
    #[inline]
    fn pass_bit(&self) -> bool {
        // mask + 1 = depth ≤ 32768 fits in u16.
        self.counter & self.mask.wrapping_add(1) != 0
    }

    /// Number of entries.
    #[inline]
    pub fn depth(&self) -> u32 {
        u32::from(self.mask) + 1
    }
    /// `depth − 1`, for masking other free-running counters of this ring.
    #[inline]
    pub fn mask(&self) -> u16 {
        self.mask
    }
    /// Slot of the current position (`counter & mask`), always `< depth`.
    #[inline]
    pub fn index(&self) -> u16 {
        self.counter & self.mask
    }
    /// Phase the current pass writes (SQ) or expects (CQ); `true` = phase 1.
    #[inline]
    pub fn phase(&self) -> bool {
        self.phase_base ^ self.pass_bit()
    }
    /// Free-running counter (what the ENA SQ doorbell carries).
    #[inline]
    pub fn counter(&self) -> u16 {
        self.counter
    }
    /// True if an entry whose phase bit is `entry_phase` was written in the
    /// current pass, i.e. is new for a consumer at this position.
    #[inline]
    pub fn is_new(&self, entry_phase: bool) -> bool {
        entry_phase == self.phase()
    }

    /// Move `n` entries forward; the phase flips once per wrap of the index
    /// (so `n` larger than the depth is handled exactly).
    #[inline]
    pub fn advance(&mut self, n: u16) {
        self.counter = self.counter.wrapping_add(n);
    }

    /// Move one entry forward: [`PhaseRing::advance`]`(1)`.
    #[inline]
    pub fn advance_one(&mut self) {
        self.advance(1);
    }

    /// Back to the starting counter and phase (queue re-created after reset).
    pub fn reset(&mut self) {
        self.counter = self.start_counter;
    }
}

/// Entries between a consumer and a producer counter of one ring (ENA
/// §5.1: u16 arithmetic on free-running counters). A value above the depth
/// means the counters are inconsistent; callers that got a counter from the
/// device must check it against the depth.
#[inline]
pub fn entries_in_use(producer: u16, consumer: u16) -> u16 {
    producer.wrapping_sub(consumer)
}

/// Entries the producer may still fill, keeping one slot empty:
/// `depth − 1 − (producer − consumer)` (ENA sheet §5.1 "Free entries").
/// Saturates at 0 if the counters are inconsistent instead of wrapping to a
/// huge free count.
#[inline]
pub fn entries_free(depth: u32, producer: u16, consumer: u16) -> u16 {
    let usable = depth.saturating_sub(1).min(u32::from(u16::MAX)) as u16;
    usable.saturating_sub(entries_in_use(producer, consumer))
}

/// What the owner bits of a MANA CQE/EQE say about the entry at the head.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OwnerState {
    /// Still last pass's value: no new entry yet.
    Empty,
    /// Written in the current pass: read the body after a read barrier.
    Valid,
    /// Any other value: the device lapped the driver (mana.md §4.5 "overflow").
    Overflow,
}

/// A MANA GDMA completion/event queue head with its 3-bit owner count.
///
/// mana.md §4.5: software keeps a free-running u32 `head`; for a ring of `N`
/// entries the expected owner is `(head / N) & 7` and the "empty" value
/// `(head / N − 1) & 7`; the head starts at `N`, so the first pass expects
/// owner 1 (the device's tail also starts at `N`). Owner equal to the empty
/// value → no entry; equal to expected → valid; anything else → overflow.
/// The EQ/CQ doorbell carries `head mod (N × 8)`, i.e. the phase too.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OwnerCount {
    head: u32,
    mask: u32,
    shift: u32,
}

impl OwnerCount {
    /// A queue of `depth` entries (power of two, ≤ [`MAX_OWNER_RING_DEPTH`])
    /// with the head at `depth` (expects owner 1, mana.md §4.5).
    pub fn new(depth: u32) -> Result<Self, Error> {
        Self::with_head(depth, depth)
    }

    /// A queue whose head is at an arbitrary free-running value (restore,
    /// tests of the u32 wrap).
    pub fn with_head(depth: u32, head: u32) -> Result<Self, Error> {
        check_depth(depth, MAX_OWNER_RING_DEPTH)?;
        Ok(OwnerCount {
            head,
            mask: depth - 1,
            shift: depth.trailing_zeros(),
        })
    }

    /// Number of entries.
    pub fn depth(&self) -> u32 {
        self.mask.wrapping_add(1)
    }
    /// Free-running head.
    pub fn head(&self) -> u32 {
        self.head
    }
    /// Slot of the head entry, always `< depth`.
    pub fn index(&self) -> u32 {
        self.head & self.mask
    }
    /// Owner value of entries written in the current pass: `(head / N) & 7`.
    pub fn expected_owner(&self) -> u8 {
        ((self.head >> self.shift) & u32::from(OWNER_BITS_MASK)) as u8
    }
    /// Owner value left from the previous pass: `(head / N − 1) & 7`.
    pub fn empty_owner(&self) -> u8 {
        self.expected_owner().wrapping_sub(1) & OWNER_BITS_MASK
    }
    /// Classify the owner bits read from the entry at [`OwnerCount::index`].
    /// Only the low 3 bits of `owner` are looked at.
    pub fn classify(&self, owner: u8) -> OwnerState {
        let owner = owner & OWNER_BITS_MASK;
        if owner == self.expected_owner() {
            OwnerState::Valid
        } else if owner == self.empty_owner() {
            OwnerState::Empty
        } else {
            OwnerState::Overflow
        }
    }
    /// Consume `n` entries.
    pub fn advance(&mut self, n: u32) {
        self.head = self.head.wrapping_add(n);
    }
    /// Value for the EQ/CQ doorbell: `head mod (N × 8)` (mana.md §4.5).
    pub fn doorbell_value(&self) -> u32 {
        // N ≤ 2^29, so N × 8 ≤ 2^32: the shift may produce 0 (= 2^32), and
        // wrapping_sub then yields the all-ones mask, which is still right.
        let phase_span = self.depth() << 3;
        self.head & phase_span.wrapping_sub(1)
    }
    /// Owner bits the device stamps on the entry it writes at free-running
    /// position `tail` of a ring of `depth` entries (model side of §4.5).
    /// `depth` must be a power of two; 0 is treated as 1.
    pub fn owner_for(depth: u32, tail: u32) -> u8 {
        let shift = depth.max(1).trailing_zeros();
        ((tail >> shift) & u32::from(OWNER_BITS_MASK)) as u8
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// xorshift64: deterministic pseudo-random steps for property tests.
    struct Rng(u64);
    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }
    }

    #[test]
    fn depth_validation() {
        assert!(PhaseRing::new(0).is_err());
        assert!(PhaseRing::new(3).is_err());
        assert!(PhaseRing::new(65536).is_err());
        assert!(PhaseRing::new(32768).is_ok());
        assert!(PhaseRing::new(1).is_ok());
        assert_eq!(
            PhaseRing::new(48).unwrap_err(),
            Error::InvalidConfig(ConfigError::RingSizeNotPowerOfTwo { requested: 48 })
        );
        assert!(OwnerCount::new(0).is_err());
        assert!(OwnerCount::new(1 << 30).is_err());
        assert!(OwnerCount::new(1 << 29).is_ok());
    }

    #[test]
    fn phase_starts_at_one_and_flips_on_wrap() {
        let mut r = PhaseRing::new(4).unwrap();
        assert!(r.phase());
        r.advance(3);
        assert!(r.phase());
        assert_eq!(r.index(), 3);
        r.advance(1);
        assert!(!r.phase());
        assert_eq!(r.index(), 0);
        r.advance(8); // two full wraps: phase back to false after two flips
        assert!(!r.phase());
        r.advance(5); // index 0 -> 1 with one wrap
        assert!(r.phase());
        assert_eq!(r.index(), 1);
        r.reset();
        assert_eq!((r.counter(), r.phase()), (0, true));
    }

    /// Property: from any start counter (any pass) and start phase, one
    /// step at a time across u16 wraps, the phase flips exactly when the
    /// index wraps to 0, like a ring that stores and flips its phase.
    #[test]
    fn phase_from_any_start_matches_explicit_flip() {
        for shift in 0..=15u32 {
            let depth = 1u32 << shift;
            let mask = (depth - 1) as u16;
            for start in [
                0u16,
                1,
                mask,
                mask.wrapping_add(1),
                (3 * depth + 1) as u16,
                65535,
            ] {
                for start_phase in [true, false] {
                    let mut r = PhaseRing::with_start(depth, start, start_phase).unwrap();
                    let (mut counter, mut phase) = (start, start_phase);
                    for _ in 0..70_000 {
                        r.advance_one();
                        counter = counter.wrapping_add(1);
                        if counter & mask == 0 {
                            phase = !phase;
                        }
                        assert_eq!(
                            (r.counter(), r.phase()),
                            (counter, phase),
                            "depth {depth} start {start}"
                        );
                    }
                    r.reset();
                    assert_eq!((r.counter(), r.phase()), (start, start_phase));
                }
            }
        }
    }

    #[test]
    fn aenq_style_start() {
        // ENA AENQ: 16 entries, head counter 16, expects phase 1 (ena.md §4).
        let mut r = PhaseRing::with_start(16, 16, true).unwrap();
        assert_eq!(r.index(), 0);
        assert!(r.is_new(true));
        r.advance(16);
        assert_eq!(r.counter(), 32);
        assert!(r.is_new(false));
    }

    /// Property: for random step sizes over many u16 wraps, the phase equals
    /// the parity of the number of completed passes from the start.
    #[test]
    fn phase_matches_reference_across_many_wraps() {
        let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
        for shift in 0..=15u32 {
            let depth = 1u32 << shift;
            let start = (rng.next() as u16) & (depth as u16).wrapping_sub(1);
            let mut r = PhaseRing::with_start(depth, start, true).unwrap();
            let mut total: u64 = u64::from(start);
            for _ in 0..4000 {
                let n = match rng.next() % 4 {
                    0 => 1,
                    1 => (rng.next() % u64::from(depth)) as u16,
                    2 => (rng.next() % (4 * u64::from(depth))).min(65535) as u16,
                    _ => rng.next() as u16,
                };
                r.advance(n);
                total += u64::from(n);
                let passes = total / u64::from(depth) - u64::from(start) / u64::from(depth);
                assert_eq!(
                    r.phase(),
                    passes.is_multiple_of(2),
                    "depth {depth} total {total}"
                );
                assert_eq!(r.counter(), total as u16);
                assert_eq!(u64::from(r.index()), total % u64::from(depth));
            }
            assert!(total > 3 * 65536, "must cross many u16 wraps");
        }
    }

    /// Property: a simulated device writing phase bits into a ring is seen
    /// entry by entry, never early and never twice, over many wraps.
    #[test]
    fn producer_consumer_phase_simulation() {
        let mut rng = Rng(12345);
        const DEPTH: u32 = 8;
        let mut ring_bits = [false; DEPTH as usize]; // zeroed memory = phase 0
        let mut dev = PhaseRing::new(DEPTH).unwrap();
        let mut drv = PhaseRing::new(DEPTH).unwrap();
        let mut produced: u64 = 0;
        let mut consumed: u64 = 0;
        for _ in 0..100_000 {
            let free = entries_free(DEPTH, dev.counter(), drv.counter());
            let n = (rng.next() % (u64::from(free) + 1)) as u16;
            for _ in 0..n {
                ring_bits[usize::from(dev.index())] = dev.phase();
                dev.advance(1);
                produced += 1;
            }
            let budget = rng.next() % 10;
            for _ in 0..budget {
                if !drv.is_new(ring_bits[usize::from(drv.index())]) {
                    break;
                }
                drv.advance(1);
                consumed += 1;
            }
            assert!(consumed <= produced);
            assert_eq!(
                u64::from(entries_in_use(dev.counter(), drv.counter())),
                produced - consumed
            );
        }
        assert!(produced > 100_000);
    }

    #[test]
    fn free_entries_keep_one_slot_empty() {
        assert_eq!(entries_free(1024, 0, 0), 1023);
        assert_eq!(entries_free(1024, 1023, 0), 0);
        assert_eq!(entries_free(1024, 5, 65530), 1023 - 11);
        // Inconsistent counters saturate instead of wrapping.
        assert_eq!(entries_free(1024, 2000, 0), 0);
        assert_eq!(entries_free(32768, 0, 0), 32767);
        assert_eq!(entries_free(0, 0, 0), 0);
        assert_eq!(entries_in_use(3, 65535), 4);
    }

    #[test]
    fn owner_initial_state() {
        let q = OwnerCount::new(64).unwrap();
        assert_eq!(q.head(), 64);
        assert_eq!(q.index(), 0);
        assert_eq!(q.expected_owner(), 1);
        assert_eq!(q.empty_owner(), 0);
        // Zeroed queue memory reads as empty.
        assert_eq!(q.classify(0), OwnerState::Empty);
        assert_eq!(q.classify(1), OwnerState::Valid);
        assert_eq!(q.classify(2), OwnerState::Overflow);
        assert_eq!(q.classify(0xF9), OwnerState::Valid); // high bits ignored
        assert_eq!(q.doorbell_value(), 64);
    }

    /// Property: a simulated device and driver stay in step across many
    /// passes and across the u32 wrap of the head; lapping is detected.
    #[test]
    fn owner_simulation_across_u32_wrap() {
        let mut rng = Rng(0xDEAD_BEEF);
        for &depth in &[1u32, 2, 16, 64, 256] {
            let start = 0u32.wrapping_sub(depth * 37); // wraps during the run
            let mut q = OwnerCount::with_head(depth, start).unwrap();
            let mut ring = [0u8; 256];
            // Pre-fill as if the previous pass was fully consumed.
            for i in 0..depth {
                let tail = start.wrapping_sub(depth).wrapping_add(i);
                ring[(i & (depth - 1)) as usize] = OwnerCount::owner_for(depth, tail);
            }
            let mut dev_tail = start;
            for _ in 0..20_000 {
                let in_use = dev_tail.wrapping_sub(q.head());
                let room = depth - in_use;
                let n = (rng.next() % u64::from(room + 1)) as u32;
                for _ in 0..n {
                    ring[(dev_tail & (depth - 1)) as usize] =
                        OwnerCount::owner_for(depth, dev_tail);
                    dev_tail = dev_tail.wrapping_add(1);
                }
                let mut got = 0;
                loop {
                    match q.classify(ring[q.index() as usize]) {
                        OwnerState::Valid => {
                            q.advance(1);
                            got += 1;
                        }
                        OwnerState::Empty => break,
                        OwnerState::Overflow => panic!("unexpected overflow"),
                    }
                }
                assert_eq!(q.head(), dev_tail);
                assert!(got <= depth);
                assert_eq!(q.doorbell_value(), q.head() % (depth * 8));
                assert_eq!(q.expected_owner(), ((q.head() / depth) & 7) as u8);
            }
            assert!(q.head() < start, "head must have wrapped past u32::MAX");
        }
    }

    #[test]
    fn owner_overflow_detected() {
        // Device writes two passes ahead of the driver: owner = expected + 1.
        let q = OwnerCount::new(4).unwrap();
        let lapped = OwnerCount::owner_for(4, q.head().wrapping_add(4));
        assert_eq!(q.classify(lapped), OwnerState::Overflow);
    }

    #[test]
    fn doorbell_at_max_depth() {
        let q = OwnerCount::with_head(1 << 29, 0xFFFF_FFF0).unwrap();
        assert_eq!(q.doorbell_value(), 0xFFFF_FFF0);
        assert_eq!(q.expected_owner(), 7);
    }
}
