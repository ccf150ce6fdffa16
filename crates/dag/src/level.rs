//! Attestation level (TR-2018-02 §3.1; "witnessed level" in the code).
//!
//! Follow the best-parent chain from a unit until more than half of the
//! attestors of the unit's round have a TrustME unit on it; the attestation
//! level is the level of the unit where that happens (genesis, made by all
//! initial attestors, stops every walk at level 0).
//!
//! Walking is O(depth). Instead every TrustME unit keeps a **slot**: the
//! distinct authors of the most recent TrustME units on its best-parent chain
//! (itself included), newest first, with the level where each last attested,
//! at most `Params::attestor_memory` of them. A normal unit points at the
//! slot of the nearest TrustME unit on its chain. The attestation level is
//! then the level of the M-th attestor in that list — O(attestors) per unit.
//! If the list is cut short before M attestors are found, a walk over the
//! slots' own authors gives the exact answer (rare: only when more than
//! `attestor_memory` non-attestors attested recently).
//!
//! The walk never stops at the unit itself: its own authors count (when
//! `Params::count_own_attestation`) as found at its best parent's level, so a
//! unit's attestation level is always below its level (as in TrustNote's
//! `determineWitnessedLevel`, which starts the set with the unit's authors and
//! walks from the best parent).

use std::collections::HashMap;

use tau_ipld::keyed_hash::KeyedState;
use tau_keys::Address;

use crate::attestors::Attestors;
use crate::{Error, Result};

/// No slot / no unit.
pub(crate) const NONE: u32 = u32::MAX;

#[derive(Debug, Clone, Copy)]
struct Entry {
    author: u32,
    level: u32,
}

#[derive(Debug, Clone, Copy)]
struct Slot {
    start: usize,
    len: u16,
    own: u8,
    complete: bool,
    prev: u32,
}

/// The slots of all TrustME units and the interned author addresses.
#[derive(Debug, Default)]
pub(crate) struct Attestations {
    authors: Vec<Address>,
    author_ids: HashMap<Address, u32, KeyedState>,
    slots: Vec<Slot>,
    entries: Vec<Entry>,
}

/// Sizes of [`Attestations`] to roll back to.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Mark {
    authors: usize,
    slots: usize,
    entries: usize,
}

impl Attestations {
    /// The current sizes, for [`rollback`](Self::rollback).
    pub(crate) fn mark(&self) -> Mark {
        Mark {
            authors: self.authors.len(),
            slots: self.slots.len(),
            entries: self.entries.len(),
        }
    }

    /// Forgets every slot, entry and author added since `mark`.
    pub(crate) fn rollback(&mut self, mark: Mark) {
        for address in self.authors.drain(mark.authors.min(self.authors.len())..) {
            self.author_ids.remove(&address);
        }
        self.slots.truncate(mark.slots);
        self.entries.truncate(mark.entries);
    }

    /// Adds the slot of a TrustME unit at `level` by `authors`, derived from
    /// `prev`, the slot in force at its best parent.
    pub(crate) fn add_slot(
        &mut self,
        authors: &[Address],
        level: u32,
        prev: u32,
        memory: usize,
    ) -> Result<u32> {
        let slot_id = u32::try_from(self.slots.len())
            .ok()
            .filter(|&s| s != NONE)
            .ok_or(Error::Full)?;
        let start = self.entries.len();
        let own = u8::try_from(authors.len()).map_err(|_| Error::Full)?;
        for address in authors {
            let author = match self.author_ids.get(address) {
                Some(&id) => id,
                None => {
                    let id = u32::try_from(self.authors.len()).map_err(|_| Error::Full)?;
                    self.authors.push(*address);
                    self.author_ids.insert(*address, id);
                    id
                }
            };
            self.entries.push(Entry { author, level });
        }
        let cap = memory.max(authors.len());
        let mut complete = true;
        if let Some(p) = self.slots.get(prev as usize).copied() {
            complete = p.complete;
            for i in p.start..p.start + usize::from(p.len) {
                let Some(e) = self.entries.get(i).copied() else {
                    break;
                };
                if self.entries[start..start + authors.len()]
                    .iter()
                    .any(|o| o.author == e.author)
                {
                    continue;
                }
                if self.entries.len() - start >= cap {
                    complete = false;
                    break;
                }
                self.entries.push(e);
            }
        }
        let len = u16::try_from(self.entries.len() - start).map_err(|_| Error::Full)?;
        self.slots.push(Slot {
            start,
            len,
            own,
            complete,
            prev,
        });
        Ok(slot_id)
    }

    /// The attestation level found in `slot` for a unit of `round`, entries
    /// above `clamp` counted at `clamp`.
    pub(crate) fn level<A: Attestors + ?Sized>(
        &self,
        slot: u32,
        clamp: u32,
        round: u64,
        attestors: &A,
    ) -> u32 {
        let Some(s) = self.slots.get(slot as usize).copied() else {
            return 0;
        };
        let majority = attestors.majority(round).max(1);
        let mut count = 0usize;
        let entries = self
            .entries
            .get(s.start..s.start + usize::from(s.len))
            .unwrap_or(&[]);
        for e in entries {
            if self.counts(e.author, round, attestors) {
                count += 1;
                if count >= majority {
                    return e.level.min(clamp);
                }
            }
        }
        if s.complete {
            return 0;
        }
        self.walk(slot, clamp, round, majority, attestors)
    }

    /// The exact walk over the slots' own authors (memory ran out).
    fn walk<A: Attestors + ?Sized>(
        &self,
        mut slot: u32,
        clamp: u32,
        round: u64,
        majority: usize,
        attestors: &A,
    ) -> u32 {
        let mut seen = std::collections::HashSet::new();
        let mut count = 0usize;
        while let Some(s) = self.slots.get(slot as usize) {
            let own = self
                .entries
                .get(s.start..s.start + usize::from(s.own))
                .unwrap_or(&[]);
            for e in own {
                if seen.insert(e.author) && self.counts(e.author, round, attestors) {
                    count += 1;
                    if count >= majority {
                        return e.level.min(clamp);
                    }
                }
            }
            slot = s.prev;
        }
        0
    }

    fn counts<A: Attestors + ?Sized>(&self, author: u32, round: u64, attestors: &A) -> bool {
        self.authors
            .get(author as usize)
            .is_some_and(|a| attestors.is_attestor(round, a))
    }

    /// Bytes held, for memory accounting.
    pub(crate) fn heap_bytes(&self) -> usize {
        self.authors.capacity() * std::mem::size_of::<Address>()
            + self.author_ids.capacity() * (std::mem::size_of::<(Address, u32)>() + 1)
            + self.slots.capacity() * std::mem::size_of::<Slot>()
            + self.entries.capacity() * std::mem::size_of::<Entry>()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::FixedAttestors;

    fn a(i: u8) -> Address {
        Address::new([i; 20])
    }

    #[test]
    fn memory_cut_falls_back_to_the_exact_walk() {
        // Chain of TrustME units at levels 1..=6 by authors 1..=6; attestors
        // are 1, 2, 3 (majority 2); memory 2 keeps only the two newest.
        let set = FixedAttestors::new([a(1), a(2), a(3)]);
        let mut at = Attestations::default();
        let mut prev = NONE;
        for level in 1..=6u32 {
            prev = at.add_slot(&[a(level as u8)], level, prev, 2).unwrap();
        }
        // Newest attestors 6, 5 are not members: the walk finds 3 (level 3), then 2.
        assert_eq!(at.level(prev, 10, 1, &set), 2);
        let mut big = Attestations::default();
        let mut p = NONE;
        for level in 1..=6u32 {
            p = big.add_slot(&[a(level as u8)], level, p, 16).unwrap();
        }
        assert_eq!(big.level(p, 10, 1, &set), 2);
        // Clamp: a unit's own entries count at its best parent's level.
        assert_eq!(big.level(p, 1, 1, &set), 1);
    }

    #[test]
    fn no_majority_means_genesis() {
        let set = FixedAttestors::new([a(1), a(2), a(3)]);
        let mut at = Attestations::default();
        let s = at.add_slot(&[a(1)], 1, NONE, 4).unwrap();
        assert_eq!(at.level(s, 5, 1, &set), 0);
        assert_eq!(at.level(NONE, 5, 1, &set), 0);
    }
}
