//! The DAG's id table: unit numbers by 32 bits of their keyed hash, in one
//! [`OpenTable`] of 8-byte slots `hash << 32 | (num + 1)` (linear probing,
//! one cache miss per new unit: see [`tau_mem::open_table`]).
//!
//! A slot stores the number plus one, so an all-zero slot is empty. The
//! table compares only hash bits; the caller's `eq` settles a match against
//! the digest array.

use tau_mem::{OpenTable, SlotFormat};

/// The slot format: `hash << 32 | (num + 1)`, homed by the hash half.
#[derive(Debug, Clone, Copy)]
pub(crate) enum IdSlot {}

impl SlotFormat for IdSlot {
    type Slot = u64;

    #[inline]
    fn is_empty(slot: &u64) -> bool {
        // A full slot stores `num + 1` in its low half, never 0.
        *slot as u32 == 0
    }

    #[inline]
    fn home(slot: &u64) -> u64 {
        slot >> 32
    }
}

#[derive(Debug, Clone, Default)]
pub(crate) struct IdTable {
    table: OpenTable<IdSlot>,
}

/// The slot of `num` under `hash`; `None` for `num == u32::MAX`, which is
/// never a unit (the DAG is full before).
#[inline]
fn pack(hash: u32, num: u32) -> Option<u64> {
    Some(u64::from(hash) << 32 | u64::from(num.checked_add(1)?))
}

#[inline]
fn hash_of(slot: u64) -> u32 {
    (slot >> 32) as u32
}

#[inline]
fn num_of(slot: u64) -> u32 {
    (slot as u32).wrapping_sub(1)
}

impl IdTable {
    /// Number of entries.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.table.len()
    }

    /// Slots allocated (8 bytes each).
    pub(crate) fn capacity(&self) -> usize {
        self.table.capacity()
    }

    /// The number of the entry with this hash that `eq` accepts.
    #[inline]
    pub(crate) fn find(&self, hash: u32, mut eq: impl FnMut(u32) -> bool) -> Option<u32> {
        self.table
            .find(hash.into(), |slot| {
                hash_of(slot) == hash && eq(num_of(slot))
            })
            .map(num_of)
    }

    /// Adds `num` under `hash`; the caller has checked that it is absent
    /// (with [`find`](Self::find), which leaves the slot this fills in cache).
    /// `num` must not be `u32::MAX` (never a unit; ignored).
    pub(crate) fn insert(&mut self, hash: u32, num: u32) {
        if let Some(slot) = pack(hash, num) {
            self.table.insert(None, slot);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::HashMap;

    proptest! {
        /// Against a HashMap from key to number, with hashes from a tiny
        /// range so that equal hash bits (settled by `eq`) and long probe
        /// runs across the wrap-around are common.
        #[test]
        fn matches_a_hash_map(
            keys in proptest::collection::vec(0u32..3_000, 0..3_000),
            hash_bits in 0u32..16,
            probes in proptest::collection::vec(0u32..3_500, 0..200),
        ) {
            let hash = |k: u32| k.wrapping_mul(0x9E37_79B9) >> (32 - hash_bits.max(1));
            let mut table = IdTable::default();
            let mut reference: HashMap<u32, u32> = HashMap::new();
            // Entry n holds key keys_by_num[n], as the DAG's digest array does.
            let mut keys_by_num: Vec<u32> = Vec::new();
            for k in keys {
                let found = table.find(hash(k), |n| keys_by_num.get(n as usize) == Some(&k));
                prop_assert_eq!(found, reference.get(&k).copied());
                if found.is_none() {
                    let n = keys_by_num.len() as u32;
                    keys_by_num.push(k);
                    table.insert(hash(k), n);
                    reference.insert(k, n);
                }
            }
            prop_assert_eq!(table.len(), reference.len());
            prop_assert!(table.capacity() * 3 >= table.len() * 4);
            for k in probes {
                let found = table.find(hash(k), |n| keys_by_num.get(n as usize) == Some(&k));
                prop_assert_eq!(found, reference.get(&k).copied());
            }
        }
    }

    #[test]
    fn empty_table_finds_nothing_and_grows_on_first_insert() {
        let mut t = IdTable::default();
        assert_eq!(t.find(5, |_| true), None);
        assert_eq!(t.capacity(), 0);
        t.insert(5, 0);
        assert_eq!(t.find(5, |n| n == 0), Some(0));
        assert_eq!(t.find(5, |_| false), None);
        assert_eq!(t.find(6, |_| true), None);
        assert!(t.capacity() >= 64);
    }

    #[test]
    fn numbers_zero_and_largest_round_trip_and_the_sentinel_is_refused() {
        let mut t = IdTable::default();
        t.insert(0, 0);
        t.insert(u32::MAX, u32::MAX - 1);
        t.insert(7, u32::MAX);
        assert_eq!(t.len(), 2);
        assert_eq!(t.find(0, |n| n == 0), Some(0));
        assert_eq!(t.find(u32::MAX, |_| true), Some(u32::MAX - 1));
        assert_eq!(t.find(7, |_| true), None);
    }

    #[test]
    fn a_large_table_finds_every_entry_after_growing_past_the_map_threshold() {
        // 200,000 entries: 2^18 slots of 8 bytes, a mapped buffer.
        let mut t = IdTable::default();
        let hash = |n: u32| n.wrapping_mul(0x9E37_79B9);
        for n in 0..200_000 {
            t.insert(hash(n), n);
        }
        assert!(t.table.is_mapped() || cfg!(not(unix)));
        assert_eq!(t.len(), 200_000);
        for n in (0..200_000).step_by(7) {
            assert_eq!(t.find(hash(n), |m| m == n), Some(n));
        }
        assert_eq!(t.find(hash(200_001), |m| m == 200_001), None);
    }
}
