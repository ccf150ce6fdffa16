//! The orphan pool: units whose parents have not arrived yet.
//!
//! Bounded by `Params::max_orphans`; when full the oldest orphan is dropped
//! (it can be fetched again). Nothing in the pool touches the DAG.

use std::collections::{HashMap, VecDeque};

use tau_ipld::keyed_hash::KeyedState;

use crate::id::Digest;
use crate::unit::VerifiedUnit;

#[derive(Debug, Default)]
pub(crate) struct OrphanPool {
    units: HashMap<Digest, VerifiedUnit, KeyedState>,
    waiting: HashMap<Digest, Vec<Digest>, KeyedState>,
    arrival: VecDeque<Digest>,
}

impl OrphanPool {
    pub(crate) fn contains(&self, digest: &Digest) -> bool {
        !self.units.is_empty() && self.units.contains_key(digest)
    }

    pub(crate) fn len(&self) -> usize {
        self.units.len()
    }

    /// Adds `unit` waiting for `missing` parents; drops the oldest orphans
    /// beyond `max`. Returns how many were dropped.
    pub(crate) fn add(
        &mut self,
        digest: Digest,
        unit: VerifiedUnit,
        missing: &[Digest],
        max: usize,
    ) -> usize {
        for parent in missing {
            self.waiting.entry(*parent).or_default().push(digest);
        }
        self.units.insert(digest, unit);
        self.arrival.push_back(digest);
        let mut dropped = 0;
        while self.units.len() > max {
            let Some(oldest) = self.arrival.pop_front() else {
                break;
            };
            if self.units.remove(&oldest).is_some() {
                dropped += 1;
            }
        }
        // Forget arrival entries of units already released or dropped.
        if self.arrival.len() > 2 * max.max(16) {
            let units = &self.units;
            self.arrival.retain(|d| units.contains_key(d));
        }
        // Forget waiting lists of dropped orphans (parents that never came).
        if self.waiting.len() > 32 * max.max(16) {
            let units = &self.units;
            self.waiting.retain(|_, list| {
                list.retain(|d| units.contains_key(d));
                !list.is_empty()
            });
        }
        dropped
    }

    /// The orphans that were waiting for `parent` (they may still miss others).
    pub(crate) fn children_of(&mut self, parent: &Digest) -> Vec<Digest> {
        if self.waiting.is_empty() {
            return Vec::new();
        }
        self.waiting.remove(parent).unwrap_or_default()
    }

    /// Takes an orphan out of the pool.
    pub(crate) fn take(&mut self, digest: &Digest) -> Option<VerifiedUnit> {
        self.units.remove(digest)
    }

    /// Puts back an orphan still missing `parent`.
    pub(crate) fn put_back(&mut self, digest: Digest, unit: VerifiedUnit, parent: Digest) {
        self.waiting.entry(parent).or_default().push(digest);
        self.units.insert(digest, unit);
    }
}
