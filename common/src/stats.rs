//! Statistics counters with stable `ethtool -S` names.
//!
//! Counter names are user-visible API (scripts and dashboards grep for
//! `queue_0_tx_missed_tx`, ena.md §7), so each counter struct carries its
//! names next to its fields, in output order, and the order cannot drift
//! from the field list. [`counters!`](crate::counters) generates such a
//! struct; the scope prefix (`queue_N_tx_`) is added by
//! [`crate::nic::StatName`] when the device reports them.
//!
//! Counters only ever grow and are allowed to wrap: increments use
//! `wrapping_add` ([`inc`], [`add`]) because the kernel builds with overflow
//! checks on and a counter must never be a panic source.

/// Increment a counter by one, wrapping at `u64::MAX`.
#[inline]
pub fn inc(counter: &mut u64) {
    *counter = counter.wrapping_add(1);
}

/// Add `value` to a counter, wrapping at `u64::MAX`.
#[inline]
pub fn add(counter: &mut u64, value: u64) {
    *counter = counter.wrapping_add(value);
}

/// Define a struct of `u64` counters with stable names.
///
/// ```
/// cloudnic_common::counters! {
///     /// Per-TX-queue counters (ENA sheet §7, `queue_N_tx_*`).
///     pub struct TxQueueStats {
///         /// Times the queue was polled.
///         tx_poll,
///         /// Doorbell writes.
///         doorbells,
///         /// A name that is not a Rust identifier gets an explicit string.
///         csum_2nd as "2nd_csum",
///     }
/// }
/// let mut s = TxQueueStats::default();
/// cloudnic_common::stats::inc(&mut s.doorbells);
/// assert_eq!(TxQueueStats::NAMES, &["tx_poll", "doorbells", "2nd_csum"]);
/// assert_eq!(s.get("doorbells"), Some(1));
/// ```
///
/// Generated: `#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]`, one
/// `pub` `u64` field per entry (doc comments and attributes are kept), and
///
/// * `const NAMES: &'static [&'static str]` — names in field order; a field's
///   name is its identifier unless given as `field as "name"`;
/// * `const LEN: usize` — number of counters;
/// * `fn for_each(&self, f: &mut dyn FnMut(&'static str, u64))` — names
///   with values, in order;
/// * `fn get(&self, name: &str) -> Option<u64>` — look one up by name;
/// * `fn add(&mut self, other: &Self)` — field-wise wrapping sum (totals
///   over queues, carrying counts across a reset).
#[macro_export]
macro_rules! counters {
    (
        $(#[$meta:meta])*
        $vis:vis struct $name:ident {
            $( $(#[$fmeta:meta])* $field:ident $(as $label:literal)? ),* $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
        $vis struct $name {
            $( $(#[$fmeta])* pub $field: u64, )*
        }

        impl $name {
            /// Stable counter names, in field (= output) order.
            pub const NAMES: &'static [&'static str] =
                &[ $( $crate::__cn_counter_name!($field $(, $label)?) ),* ];
            /// Number of counters.
            pub const LEN: usize = Self::NAMES.len();

            /// Call `f` with every counter's name and value, in order.
            pub fn for_each(&self, f: &mut dyn FnMut(&'static str, u64)) {
                $( f($crate::__cn_counter_name!($field $(, $label)?), self.$field); )*
            }

            /// Value of the counter called `name`, if there is one.
            pub fn get(&self, name: &str) -> Option<u64> {
                $( if name == $crate::__cn_counter_name!($field $(, $label)?) {
                    return Some(self.$field);
                } )*
                None
            }

            /// Add every counter of `other` to this one (wrapping).
            pub fn add(&mut self, other: &Self) {
                $( self.$field = self.$field.wrapping_add(other.$field); )*
            }
        }
    };
}

/// Internal: a counter's name — its identifier, or the explicit string.
#[doc(hidden)]
#[macro_export]
macro_rules! __cn_counter_name {
    ($field:ident) => {
        stringify!($field)
    };
    ($field:ident, $label:literal) => {
        $label
    };
}

#[cfg(test)]
mod tests {
    extern crate std;
    use super::*;
    use std::vec::Vec;

    crate::counters! {
        /// Test struct.
        struct Sample {
            /// First.
            cnt,
            /// Second.
            bytes,
            /// Renamed.
            two_big as "2big",
        }
    }

    #[test]
    fn names_in_field_order() {
        assert_eq!(Sample::NAMES, &["cnt", "bytes", "2big"]);
        assert_eq!(Sample::LEN, 3);
    }

    #[test]
    fn for_each_get_and_add() {
        let mut a = Sample::default();
        inc(&mut a.cnt);
        add(&mut a.bytes, 1500);
        a.two_big = u64::MAX;
        let mut seen = Vec::new();
        a.for_each(&mut |n, v| seen.push((n, v)));
        assert_eq!(seen, [("cnt", 1), ("bytes", 1500), ("2big", u64::MAX)]);
        assert_eq!(a.get("2big"), Some(u64::MAX));
        assert_eq!(a.get("two_big"), None);
        let b = a;
        a.add(&b);
        assert_eq!(a.cnt, 2);
        assert_eq!(a.bytes, 3000);
        assert_eq!(a.two_big, u64::MAX - 1); // wrapped, no panic
    }

    #[test]
    fn helpers_wrap() {
        let mut c = u64::MAX;
        inc(&mut c);
        assert_eq!(c, 0);
        add(&mut c, u64::MAX);
        add(&mut c, 2);
        assert_eq!(c, 1);
    }
}
