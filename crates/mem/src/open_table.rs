//! One open-addressing hash table in one array of slots, for the tables
//! that are probed at random in a large working set (the DAG's unit-id
//! table, the memory block store's table): linear probing, load at most
//! 3/4, growth by doubling, no removal.
//!
//! # Why one array
//!
//! A `hashbrown` table keeps its control bytes and its entries in two
//! separate regions, so in a table that has outgrown the caches the
//! duplicate check of a new key (a probe of the control bytes) and its
//! insert (a write of the entry, elsewhere) are two cache misses. Here a
//! slot holds the key's hash bits and the entry's value together: the check
//! walks from the home slot to the first empty one, and the insert writes
//! that same slot, already in cache — one miss per new key instead of two.
//! A lookup reads the slot, whose hash bits nearly always settle a mismatch
//! without the caller's key comparison. Entries are never removed (the
//! users never remove keys), so no tombstones are needed, and growing
//! re-places every slot by the hash bits it carries: no key is read.
//!
//! The slots are a [`HugeBuffer`]: at a million entries the table is tens
//! of MiB probed at random, and on 2 MiB pages its probes stop missing the
//! TLB. An all-zero slot is empty, so a new table is the OS's zeroed
//! memory, written by nobody.
//!
//! # The slot format
//!
//! The table knows nothing of keys and values: a [`SlotFormat`] says which
//! slots are empty (the all-zero one at least) and which hash bits of a full
//! slot pick its home position. The caller packs its entries into slots and
//! compares candidates itself in [`probe`](OpenTable::probe), so both the
//! hash-bit check and the key check are the caller's code, inlined into
//! the probe loop (the table is generic over the format, monomorphised).
//!
//! ```
//! use tau_mem::{OpenTable, Probe, SlotFormat};
//!
//! /// Slots `key << 32 | (value + 1)`: the value half of a full slot is
//! /// never 0, so the all-zero slot is empty.
//! enum Packed {}
//!
//! impl SlotFormat for Packed {
//!     type Slot = u64;
//!     fn is_empty(slot: &u64) -> bool {
//!         *slot as u32 == 0
//!     }
//!     fn home(slot: &u64) -> u64 {
//!         // The key is its own hash here; a real table hashes it.
//!         slot >> 32
//!     }
//! }
//!
//! let mut table: OpenTable<Packed> = OpenTable::new();
//! for (key, value) in [(7u32, 70u32), (1_000, 5), (7 + 64, 1)] {
//!     let probe = table.probe(key.into(), |s| (s >> 32) as u32 == key);
//!     assert!(matches!(probe, None | Some(Probe::Vacant(_))));
//!     assert!(table.insert(probe, u64::from(key) << 32 | u64::from(value + 1)));
//! }
//! assert_eq!(table.len(), 3);
//! let Some(Probe::Found(i)) = table.probe(1_000, |s| s >> 32 == 1_000) else {
//!     panic!("1000 was inserted");
//! };
//! assert_eq!(table.get(i).map(|s| s as u32 - 1), Some(5));
//! assert!(matches!(table.probe(8, |s| s >> 32 == 8), Some(Probe::Vacant(_))));
//! ```

use std::fmt;

use bytemuck::Pod;

use crate::HugeBuffer;

/// How a table's slots are read: which are empty, and where a full one
/// lives. Implemented by a type of the table's user (typically an
/// uninhabited `enum`), so that the slot itself can be a plain integer or
/// array.
pub trait SlotFormat {
    /// One slot, as stored. The all-zero value must be empty.
    type Slot: Pod;

    /// Whether `slot` holds no entry. Must be true of the all-zero slot
    /// (a new table is zeroed memory).
    fn is_empty(slot: &Self::Slot) -> bool;

    /// The hash bits of a full slot that pick its home position: the home
    /// is their low bits, as many as the table has slots (a power of two).
    /// [`OpenTable::probe`] must be given the same bits for the key it
    /// looks for.
    fn home(slot: &Self::Slot) -> u64;
}

/// What a probe found: the slot holding the key, or the empty slot where
/// the key would be inserted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Probe {
    /// The index of the slot the caller's comparison accepted.
    Found(usize),
    /// The index of the first empty slot on the key's probe sequence.
    Vacant(usize),
}

/// Slots of the first allocation (a power of two).
const FIRST: usize = 64;

/// An open-addressing table of `F::Slot` (see the [module
/// documentation](self)): linear probing, load at most 3/4, growth by
/// doubling, no removal.
pub struct OpenTable<F: SlotFormat> {
    /// The slots; the length is 0 or a power of two.
    slots: HugeBuffer<F::Slot>,
    /// Full slots.
    len: usize,
}

impl<F: SlotFormat> OpenTable<F> {
    /// An empty table (allocates nothing; the first insert allocates 64
    /// slots).
    pub const fn new() -> Self {
        Self {
            slots: HugeBuffer::new(),
            len: 0,
        }
    }

    /// Number of entries.
    #[inline]
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether the table holds no entry.
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Slots allocated (0 or a power of two).
    #[inline]
    pub fn capacity(&self) -> usize {
        self.slots.len()
    }

    /// Whether the slots are a memory map (see [`HugeBuffer::is_mapped`]).
    pub fn is_mapped(&self) -> bool {
        self.slots.is_mapped()
    }

    /// Walks the probe sequence of `home` (the bits [`SlotFormat::home`]
    /// gives for the key's slot) and returns the first full slot that `hit`
    /// accepts, or the first empty slot. `hit` sees only full slots; it
    /// should check the hash bits before anything costly. `None` only for a
    /// table that has no slot yet.
    #[inline]
    pub fn probe(&self, home: u64, mut hit: impl FnMut(F::Slot) -> bool) -> Option<Probe> {
        let mask = self.slots.len().checked_sub(1)?;
        let mut i = home as usize & mask;
        // The load is at most 3/4, so the walk meets an empty slot.
        loop {
            let slot = *self.slots.get(i)?;
            if F::is_empty(&slot) {
                return Some(Probe::Vacant(i));
            }
            if hit(slot) {
                return Some(Probe::Found(i));
            }
            i = (i + 1) & mask;
        }
    }

    /// The first full slot on the probe sequence of `home` that `hit`
    /// accepts: [`probe`](Self::probe) for a caller that needs the slot,
    /// not its index.
    #[inline]
    pub fn find(&self, home: u64, mut hit: impl FnMut(F::Slot) -> bool) -> Option<F::Slot> {
        let mask = self.slots.len().checked_sub(1)?;
        let mut i = home as usize & mask;
        // The load is at most 3/4, so the walk meets an empty slot.
        loop {
            let slot = *self.slots.get(i)?;
            if F::is_empty(&slot) {
                return None;
            }
            if hit(slot) {
                return Some(slot);
            }
            i = (i + 1) & mask;
        }
    }

    /// The full slot at index `i` (as a [`Probe::Found`] gives it).
    #[inline]
    pub fn get(&self, i: usize) -> Option<F::Slot> {
        self.slots.get(i).copied().filter(|s| !F::is_empty(s))
    }

    /// Rewrites the full slot at `i` with `slot`, which must be full and
    /// have the same home bits (it stays where probes for its key look).
    /// Returns whether it was written.
    #[inline]
    pub fn replace(&mut self, i: usize, slot: F::Slot) -> bool {
        if F::is_empty(&slot) {
            return false;
        }
        match self.slots.get_mut(i) {
            Some(old) if !F::is_empty(old) && F::home(old) == F::home(&slot) => {
                *old = slot;
                true
            }
            _ => false,
        }
    }

    /// Adds the full `slot` as a new entry; the caller has checked that its
    /// key is absent, with the [`probe`](Self::probe) passed as `vacant`,
    /// whose empty slot (already in cache) this writes unless the table
    /// must grow first. With `None`, or a probe that is not a vacancy, the
    /// slot is placed from its home. Returns false, and adds nothing, for
    /// an empty `slot`.
    #[inline]
    pub fn insert(&mut self, vacant: Option<Probe>, slot: F::Slot) -> bool {
        if F::is_empty(&slot) {
            return false;
        }
        if (self.len + 1) * 4 > self.slots.len() * 3 {
            self.grow();
            Self::place(&mut self.slots, slot);
        } else {
            let hinted = match vacant {
                Some(Probe::Vacant(i)) => self.slots.get_mut(i).filter(|s| F::is_empty(s)),
                _ => None,
            };
            match hinted {
                Some(s) => *s = slot,
                None => Self::place(&mut self.slots, slot),
            }
        }
        self.len += 1;
        true
    }

    /// Writes `slot` into the first empty slot from its home.
    #[inline]
    fn place(slots: &mut [F::Slot], slot: F::Slot) {
        let Some(mask) = slots.len().checked_sub(1) else {
            return;
        };
        let mut i = F::home(&slot) as usize & mask;
        // The load is at most 3/4, so an empty slot exists.
        while let Some(s) = slots.get_mut(i) {
            if F::is_empty(s) {
                *s = slot;
                return;
            }
            i = (i + 1) & mask;
        }
    }

    /// Doubles the slots and places every entry again by its hash bits.
    #[cold]
    fn grow(&mut self) {
        let size = (self.slots.len() * 2).max(FIRST);
        let old = std::mem::replace(&mut self.slots, HugeBuffer::zeroed(size));
        for &slot in old.iter().filter(|s| !F::is_empty(s)) {
            Self::place(&mut self.slots, slot);
        }
    }
}

impl<F: SlotFormat> Default for OpenTable<F> {
    fn default() -> Self {
        Self::new()
    }
}

impl<F: SlotFormat> Clone for OpenTable<F> {
    fn clone(&self) -> Self {
        Self {
            slots: self.slots.clone(),
            len: self.len,
        }
    }
}

impl<F: SlotFormat> fmt::Debug for OpenTable<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OpenTable")
            .field("len", &self.len)
            .field("capacity", &self.capacity())
            .field("mapped", &self.is_mapped())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::HashMap;

    /// Test slots `[hash, value + 1]`: the home is the first word, the
    /// value word of a full slot is never 0.
    enum Pair {}

    impl SlotFormat for Pair {
        type Slot = [u64; 2];
        fn is_empty(slot: &[u64; 2]) -> bool {
            slot[1] == 0
        }
        fn home(slot: &[u64; 2]) -> u64 {
            slot[0]
        }
    }

    type Table = OpenTable<Pair>;

    /// The slot index holding `key` (whose home bits are `hash`), in a
    /// table whose values are indices into `key_at`.
    fn find(t: &Table, hash: u64, key: u32, key_at: &[u32]) -> Option<Probe> {
        t.probe(hash, |s| {
            s[0] == hash && key_at.get((s[1] - 1) as usize) == Some(&key)
        })
    }

    #[test]
    fn empty_table_finds_nothing_and_grows_on_first_insert() {
        let mut t = Table::new();
        assert_eq!(t.probe(5, |_| true), None);
        assert_eq!(t.capacity(), 0);
        assert!(t.is_empty());
        assert!(t.insert(None, [5, 1]));
        assert_eq!(t.capacity(), FIRST);
        let Some(Probe::Found(i)) = t.probe(5, |s| s[0] == 5) else {
            panic!("inserted entry not found");
        };
        assert_eq!(i, 5);
        assert_eq!(t.get(i), Some([5, 1]));
        assert_eq!(t.probe(5, |_| false), Some(Probe::Vacant(6)));
        assert_eq!(t.get(6), None);
        assert_eq!(t.get(usize::MAX), None);
        assert_eq!(t.find(5, |s| s[0] == 5), Some([5, 1]));
        assert_eq!(t.find(5, |_| false), None);
        assert_eq!(t.len(), 1);
    }

    #[test]
    fn empty_slots_are_refused() {
        let mut t = Table::new();
        assert!(!t.insert(None, [9, 0]));
        assert_eq!(t.len(), 0);
        assert!(t.insert(None, [9, 4]));
        assert!(!t.replace(9, [9, 0]));
        assert_eq!(t.get(9), Some([9, 4]));
    }

    #[test]
    fn replace_keeps_the_home_and_refuses_empty_slots() {
        let mut t = Table::new();
        assert!(!t.replace(0, [0, 1]));
        t.insert(None, [3, 1]);
        // Same home: rewritten.
        assert!(t.replace(3, [3, 2]));
        assert_eq!(t.get(3), Some([3, 2]));
        // Another home: refused (the entry would be lost to its probes).
        assert!(!t.replace(3, [4, 2]));
        // An empty slot and an index out of range: refused.
        assert!(!t.replace(4, [4, 1]));
        assert!(!t.replace(usize::MAX, [3, 1]));
        assert_eq!(t.len(), 1);
    }

    #[test]
    fn collisions_run_past_the_end_and_wrap_around() {
        let mut t = Table::new();
        // Ten entries homed on the last slot: the run wraps to slot 0.
        for v in 1..=10 {
            let probe = t.probe(63, |_| false);
            assert!(t.insert(probe, [63, v]));
        }
        assert_eq!(t.capacity(), 64);
        assert_eq!(t.get(63), Some([63, 1]));
        assert_eq!(t.get(0), Some([63, 2]));
        assert_eq!(t.get(8), Some([63, 10]));
        assert_eq!(t.probe(63, |s| s[1] == 10), Some(Probe::Found(8)));
        assert_eq!(t.probe(63, |_| false), Some(Probe::Vacant(9)));
        // A key homed in the run lands after it.
        let probe = t.probe(2, |_| false);
        assert_eq!(probe, Some(Probe::Vacant(9)));
        t.insert(probe, [2, 11]);
        assert_eq!(t.get(9), Some([2, 11]));
    }

    #[test]
    fn load_stays_at_most_three_quarters() {
        let mut t = Table::new();
        for v in 1..=48u64 {
            t.insert(None, [v * 7, v]);
        }
        assert_eq!(t.capacity(), 64);
        t.insert(None, [0, 49]);
        assert_eq!(t.capacity(), 128);
        for v in 1..=48u64 {
            assert_eq!(
                t.probe(v * 7, |s| s[1] == v).and_then(|p| match p {
                    Probe::Found(i) => t.get(i),
                    Probe::Vacant(_) => None,
                }),
                Some([v * 7, v])
            );
        }
    }

    #[test]
    fn a_stale_hint_is_placed_from_the_home() {
        let mut t = Table::new();
        t.insert(None, [1, 1]);
        // A hint at a full slot, or out of range, or a Found: ignored.
        assert!(t.insert(Some(Probe::Vacant(1)), [1, 2]));
        assert!(t.insert(Some(Probe::Vacant(usize::MAX)), [1, 3]));
        assert!(t.insert(Some(Probe::Found(1)), [1, 4]));
        assert_eq!(t.get(1), Some([1, 1]));
        assert_eq!(t.get(2), Some([1, 2]));
        assert_eq!(t.get(3), Some([1, 3]));
        assert_eq!(t.get(4), Some([1, 4]));
    }

    #[test]
    fn a_large_table_is_mapped_and_keeps_every_entry() {
        // 100,000 entries: over 3/4 of 2^17, so 2^18 slots of 16 bytes, a
        // mapped buffer.
        let mut t = Table::new();
        let hash = |k: u64| k.wrapping_mul(0x9E37_79B9_7F4A_7C15);
        for k in 0..100_000u64 {
            let probe = t.probe(hash(k), |s| s[1] == k + 1);
            t.insert(probe, [hash(k), k + 1]);
        }
        assert!(t.is_mapped() || cfg!(not(unix)));
        assert_eq!(t.capacity(), 1 << 18);
        assert_eq!(t.len(), 100_000);
        let copy = t.clone();
        for k in (0..100_000u64).step_by(11) {
            let Some(Probe::Found(i)) = copy.probe(hash(k), |s| s[1] == k + 1) else {
                panic!("entry {k} lost");
            };
            assert_eq!(copy.get(i), Some([hash(k), k + 1]));
        }
    }

    proptest! {
        /// Against a HashMap from key to value, with home bits from a tiny
        /// range so that equal hash bits (settled by the caller's key
        /// comparison) and long probe runs across the wrap-around are
        /// common; inserts use the probe's hint or none, and updates
        /// rewrite found slots.
        #[test]
        fn matches_a_hash_map(
            ops in proptest::collection::vec((0u32..2_000, any::<bool>(), any::<bool>()), 0..2_500),
            hash_bits in 0u32..14,
            probes in proptest::collection::vec(0u32..2_500, 0..200),
        ) {
            let hash = |k: u32| u64::from(k.wrapping_mul(0x9E37_79B9) >> (32 - hash_bits.max(1)));
            let mut table = Table::new();
            let mut model: HashMap<u32, usize> = HashMap::new();
            // Record n holds key key_at[n]; a slot's value is n + 1.
            let mut key_at: Vec<u32> = Vec::new();
            for (k, update, hint) in ops {
                let probe = find(&table, hash(k), k, &key_at);
                let found = match probe {
                    Some(Probe::Found(i)) => table.get(i).map(|s| (s[1] - 1) as usize),
                    _ => None,
                };
                prop_assert_eq!(found, model.get(&k).copied());
                let n = key_at.len();
                key_at.push(k);
                let slot = [hash(k), n as u64 + 1];
                match probe {
                    Some(Probe::Found(i)) if update => {
                        prop_assert!(table.replace(i, slot));
                        model.insert(k, n);
                    }
                    Some(Probe::Found(_)) => {}
                    _ => {
                        let hint = if hint { probe } else { None };
                        prop_assert!(table.insert(hint, slot));
                        model.insert(k, n);
                    }
                }
                prop_assert!(table.len() * 4 <= table.capacity() * 3);
                prop_assert!(table.capacity().is_power_of_two() || table.capacity() == 0);
            }
            prop_assert_eq!(table.len(), model.len());
            prop_assert_eq!(
                (0..table.capacity()).filter(|&i| table.get(i).is_some()).count(),
                model.len()
            );
            for k in probes {
                let found = match find(&table, hash(k), k, &key_at) {
                    Some(Probe::Found(i)) => table.get(i).map(|s| (s[1] - 1) as usize),
                    _ => None,
                };
                prop_assert_eq!(found, model.get(&k).copied());
                let slot = table.find(hash(k), |s| {
                    s[0] == hash(k) && key_at.get((s[1] - 1) as usize) == Some(&k)
                });
                prop_assert_eq!(slot.map(|s| (s[1] - 1) as usize), model.get(&k).copied());
            }
        }
    }
}
