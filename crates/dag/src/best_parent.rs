//! Best parent (TR-2018-02 §3.2) and the ranking of free units.
//!
//! A unit's best parent is the parent with the highest attestation level,
//! then the lowest level, then the smallest id. TrustNote's
//! `determineBestParent` orders by highest WL, then smallest `level − WL`,
//! then smallest hash, which is the same order: for equal WL, a smaller
//! `level − WL` is a lower level. The same ranking over free units names the
//! tip of the current main chain and the parents of a new unit.

use std::collections::BTreeSet;

use crate::id::Digest;

/// Sort key of a unit in the best-parent ranking: smaller is better.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct RankKey {
    inverse_wl: u32,
    level: u32,
    digest: Digest,
    num: u32,
}

impl RankKey {
    pub(crate) fn new(wl: u32, level: u32, digest: Digest, num: u32) -> Self {
        Self {
            inverse_wl: u32::MAX - wl,
            level,
            digest,
            num,
        }
    }

    pub(crate) fn num(&self) -> u32 {
        self.num
    }
}

/// The free (childless) units, best first.
#[derive(Debug, Default)]
pub(crate) struct FreeSet {
    ranked: BTreeSet<RankKey>,
}

impl FreeSet {
    pub(crate) fn insert(&mut self, key: RankKey) {
        self.ranked.insert(key);
    }

    pub(crate) fn remove(&mut self, key: &RankKey) {
        self.ranked.remove(key);
    }

    pub(crate) fn best(&self) -> Option<u32> {
        self.ranked.first().map(RankKey::num)
    }

    /// The keys, best first.
    pub(crate) fn keys(&self) -> impl Iterator<Item = &RankKey> + '_ {
        self.ranked.iter()
    }

    pub(crate) fn iter(&self) -> impl Iterator<Item = u32> + '_ {
        self.ranked.iter().map(RankKey::num)
    }

    pub(crate) fn len(&self) -> usize {
        self.ranked.len()
    }
}
