//! The memory store's table: where each block's record lives, by the keyed
//! hash of its CID, in one [`OpenTable`] of 16-byte slots (linear probing,
//! one cache miss per new block, four slots to a cache line: see
//! [`tau_mem::open_table`]). A lookup reads the slot, then the record,
//! whose CID bytes settle a match of the hash bits.

use tau_mem::{OpenTable, SlotFormat};

pub(super) use tau_mem::Probe;

/// Where a record lives: its arena chunk and its offset in that chunk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Loc {
    pub chunk: u32,
    pub offset: u32,
}

/// One slot as stored: `[tag, (chunk + 1) << 32 | offset]`, where `tag` is
/// the hash with bit 0 replaced by the trusted flag. A slot whose chunk half
/// is zero is empty, so the OS's zeroed memory is an empty table. (The arena
/// refuses to number a chunk `u32::MAX`, so `chunk + 1` fits.)
type Slot = [u64; 2];

/// The slot format: homed by the hash bits of the tag (all but bit 0).
#[derive(Debug, Clone, Copy)]
pub(super) enum StoreSlot {}

impl SlotFormat for StoreSlot {
    type Slot = Slot;

    #[inline]
    fn is_empty(slot: &Slot) -> bool {
        slot[1] >> 32 == 0
    }

    #[inline]
    fn home(slot: &Slot) -> u64 {
        slot[0] >> 1
    }
}

#[inline]
fn hashed(slot: &Slot) -> bool {
    slot[0] & 1 == 1
}

#[inline]
fn loc_of(slot: &Slot) -> Loc {
    Loc {
        chunk: ((slot[1] >> 32) as u32).wrapping_sub(1),
        offset: slot[1] as u32,
    }
}

/// The second word of a slot at `loc`; `None` for chunk `u32::MAX`.
#[inline]
fn loc_word(loc: Loc) -> Option<u64> {
    Some(u64::from(loc.chunk.checked_add(1)?) << 32 | u64::from(loc.offset))
}

/// Whether `tag` carries the hash bits of `hash` (all but bit 0).
#[inline]
fn same_hash(tag: u64, hash: u64) -> bool {
    (tag ^ hash) >> 1 == 0
}

#[derive(Debug, Default)]
pub(super) struct SlotTable {
    table: OpenTable<StoreSlot>,
}

impl SlotTable {
    /// Number of entries.
    pub fn len(&self) -> usize {
        self.table.len()
    }

    /// The slot of the entry with this hash that `eq` accepts (given its
    /// record's place), or the empty slot where it would be inserted.
    /// `None` only for a table that has no slot yet.
    #[inline]
    pub fn probe(&self, hash: u64, mut eq: impl FnMut(Loc) -> bool) -> Option<Probe> {
        self.table.probe(hash >> 1, |slot| {
            same_hash(slot[0], hash) && eq(loc_of(&slot))
        })
    }

    /// The place and trusted flag of the entry in slot `i`.
    #[inline]
    pub fn get(&self, i: usize) -> Option<(Loc, bool)> {
        self.table.get(i).map(|s| (loc_of(&s), hashed(&s)))
    }

    /// Moves the entry in slot `i` to another record, and sets its trusted flag.
    /// (Chunk `u32::MAX` is never a chunk: ignored.)
    pub fn update(&mut self, i: usize, loc: Loc, hashed: bool) {
        let Some(word) = loc_word(loc) else {
            return;
        };
        if let Some(slot) = self.table.get(i) {
            self.table
                .replace(i, [slot[0] & !1 | u64::from(hashed), word]);
        }
    }

    /// Adds an entry for `hash` at `vacant`, the slot a [`probe`](Self::probe)
    /// for it just returned (or anywhere it fits, if the table must grow
    /// first). `loc.chunk` must not be `u32::MAX` (never a chunk: ignored).
    pub fn insert(&mut self, vacant: Option<Probe>, hash: u64, loc: Loc, hashed: bool) {
        if let Some(word) = loc_word(loc) {
            self.table
                .insert(vacant, [hash & !1 | u64::from(hashed), word]);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::HashMap;

    #[test]
    fn slots_are_a_quarter_of_a_cache_line() {
        assert_eq!(std::mem::size_of::<Slot>(), 16);
    }

    #[test]
    fn empty_table_finds_nothing_and_grows_on_first_insert() {
        let mut t = SlotTable::default();
        assert_eq!(t.probe(5, |_| true), None);
        let loc = Loc {
            chunk: 1,
            offset: 2,
        };
        t.insert(None, 5, loc, true);
        let Some(Probe::Found(i)) = t.probe(5, |l| l == loc) else {
            panic!("inserted entry not found");
        };
        assert_eq!(t.get(i), Some((loc, true)));
        assert!(matches!(t.probe(5, |_| false), Some(Probe::Vacant(_))));
        assert_eq!(t.len(), 1);
        assert!(t.table.capacity() >= 64);
    }

    #[test]
    fn a_large_table_keeps_every_entry_and_the_last_chunk_is_refused() {
        // 100,000 entries: 2^18 slots of 16 bytes, a mapped buffer.
        let mut t = SlotTable::default();
        let hash = |k: u64| k.wrapping_mul(0x9E37_79B9_7F4A_7C15) & !1;
        let loc = |k: u64| Loc {
            chunk: (k % 1000) as u32,
            offset: (k * 3) as u32,
        };
        for k in 0..100_000u64 {
            let probe = t.probe(hash(k), |l| l == loc(k));
            t.insert(probe, hash(k), loc(k), k % 2 == 0);
        }
        assert!(t.table.is_mapped() || cfg!(not(unix)));
        assert_eq!(t.len(), 100_000);
        for k in (0..100_000u64).step_by(13) {
            let Some(Probe::Found(i)) = t.probe(hash(k), |l| l == loc(k)) else {
                panic!("entry {k} lost");
            };
            assert_eq!(t.get(i), Some((loc(k), k % 2 == 0)));
        }
        let last = Loc {
            chunk: u32::MAX,
            offset: 0,
        };
        let probe = t.probe(7 << 1, |_| false);
        t.insert(probe, 7 << 1, last, true);
        assert_eq!(t.len(), 100_000);
    }

    proptest! {
        /// Against a HashMap from key to (place, trusted), with hashes from a
        /// tiny range so that equal hash bits (settled by `eq`) and long
        /// probe runs across the wrap-around are common.
        #[test]
        fn matches_a_hash_map(
            ops in proptest::collection::vec((0u32..2_000, any::<bool>(), any::<bool>()), 0..2_500),
            hash_bits in 1u32..14,
        ) {
            let hash = |k: u32| u64::from(k.wrapping_mul(0x9E37_79B9)) >> (32 - hash_bits) << 1;
            let mut table = SlotTable::default();
            let mut model: HashMap<u32, (Loc, bool)> = HashMap::new();
            // The key of each record, as the store's arena holds it.
            let mut key_at: Vec<u32> = Vec::new();
            for (k, hashed, update) in ops {
                let probe = table.probe(hash(k), |l| key_at.get(l.offset as usize) == Some(&k));
                let found = match probe {
                    Some(Probe::Found(i)) => table.get(i),
                    _ => None,
                };
                prop_assert_eq!(found, model.get(&k).copied());
                let loc = Loc { chunk: k % 7, offset: key_at.len() as u32 };
                key_at.push(k);
                match probe {
                    Some(Probe::Found(i)) if update => {
                        table.update(i, loc, hashed);
                        model.insert(k, (loc, hashed));
                    }
                    Some(Probe::Found(_)) => {}
                    _ => {
                        table.insert(probe, hash(k), loc, hashed);
                        model.insert(k, (loc, hashed));
                    }
                }
                prop_assert!(table.len() * 4 <= table.table.capacity() * 3);
            }
            prop_assert_eq!(table.len(), model.len());
            for (k, want) in &model {
                let probe = table.probe(hash(*k), |l| key_at.get(l.offset as usize) == Some(k));
                let Some(Probe::Found(i)) = probe else {
                    return Err(TestCaseError::fail("entry lost"));
                };
                prop_assert_eq!(table.get(i), Some(*want));
            }
        }
    }
}
