//! The DAG store: validation on insert, levels, attestation levels, best
//! parents, children and free units, the orphan pool.
//!
//! The hot index lives in memory as dense arrays indexed by a [`UnitNum`]
//! (the unit's insertion number, genesis 0); unit bytes live in the
//! [`Blockstore`] under their ids.

use std::cmp::Ordering;

use cid::Cid;
use tau_ipld::keyed_hash::HashKey;
use tau_ipld::Blockstore;

use crate::attestors::Attestors;
use crate::best_parent::{FreeSet, RankKey};
use crate::id::{cid_of_digest, digest_of, Digest};
use crate::id_table::IdTable;
use crate::level::{Attestations, NONE};
use crate::orphans::OrphanPool;
use crate::params::Params;
use crate::unit::{Unit, VerifiedUnit};
use crate::{Error, Result};

/// A unit's number in this DAG: its insertion index, genesis 0. Numbers are
/// local (another replica may number the same unit differently); ids are global.
pub type UnitNum = u32;

const HAS_CHILD: u8 = 1;
const ATTESTATION: u8 = 2;

/// A unit the DAG accepted during one [`Dag::insert`] call.
#[derive(Debug, Clone)]
pub struct Accepted {
    /// Its number.
    pub num: UnitNum,
    /// The unit.
    pub unit: VerifiedUnit,
}

/// What one [`Dag::insert`] did.
#[derive(Debug, Default)]
pub struct Insertion {
    /// Units added, in insertion (topological) order: the unit itself, then
    /// any orphans it released.
    pub accepted: Vec<Accepted>,
    /// The unit waits in the orphan pool for missing parents.
    pub orphaned: bool,
    /// Released orphans that turned out invalid, with the reason.
    pub rejected: Vec<(Cid, Error)>,
    /// Orphans dropped because the pool was full.
    pub dropped_orphans: usize,
}

/// A unit about to join the DAG, as the DAG computed it, shown to the
/// caller's admission check ([`Dag::insert_with`]) before anything changes.
#[derive(Debug, Clone, Copy)]
pub struct Candidate<'a> {
    /// Its level.
    pub level: u32,
    /// Its attestation level.
    pub attestation_level: u32,
    /// Its best parent.
    pub best_parent: UnitNum,
    /// Its parents, ascending by id.
    pub parents: &'a [UnitNum],
    /// The best free unit once it is attached: `None` if that is the
    /// candidate itself, else an existing free unit it does not list as a
    /// parent (the tip of the main chain after the insert).
    pub best_free_after: Option<UnitNum>,
}

/// The caller's admission check: `true` admits the candidate.
pub type Admit<'f, BS> = &'f mut dyn FnMut(&Dag<BS>, &Candidate<'_>) -> bool;

/// An entry of the recent-id cache: a unit number and the low half of its hash.
#[derive(Debug, Clone, Copy)]
struct Indexed {
    num: u32,
    hash: u32,
}

/// Entries of [`Dag`]'s cache of recent ids (a power of two).
const RECENT: usize = 4096;

/// A TrustME DAG over a block store.
#[derive(Debug)]
pub struct Dag<BS> {
    store: BS,
    params: Params,
    digests: Vec<Digest>,
    /// Unit numbers by digest, hashed with `key` (random per DAG: ids can be
    /// ground for colliding bits, the key cannot be guessed), each with 32
    /// bits of its hash so that growing the table and most mismatches never
    /// read the digest array; the duplicate check of a new unit and its
    /// insert touch the same slot.
    table: IdTable,
    key: HashKey,
    /// The last unit pushed at each `hash % RECENT` (`NONE`: empty): parents
    /// are nearly always recent units, and this small array stays in cache
    /// where the table, once it holds millions, does not. Checked against
    /// the digest, so a stale or colliding entry only falls back to `table`.
    recent: Vec<Indexed>,
    level: Vec<u32>,
    wl: Vec<u32>,
    best_parent: Vec<u32>,
    parent_start: Vec<u32>,
    parents: Vec<u32>,
    flags: Vec<u8>,
    first_best_child: Vec<u32>,
    next_best_sibling: Vec<u32>,
    slot: Vec<u32>,
    stamp: Vec<u32>,
    stamp_gen: u32,
    scratch: Vec<u32>,
    attestations: Attestations,
    free: FreeSet,
    orphans: OrphanPool,
}

impl<BS: Blockstore> Dag<BS> {
    /// A DAG holding only `genesis` (a unit without parents), stored in `store`.
    pub fn new(store: BS, params: Params, genesis: VerifiedUnit) -> Result<Self> {
        params.validate()?;
        if !genesis.unit().parents().is_empty() {
            return Err(Error::GenesisWithParents);
        }
        store.put_keyed(&genesis.id(), genesis.bytes())?;
        let mut dag = Self {
            store,
            params,
            digests: Vec::new(),
            table: IdTable::default(),
            key: HashKey::random(),
            recent: vec![Indexed { num: NONE, hash: 0 }; RECENT],
            level: Vec::new(),
            wl: Vec::new(),
            best_parent: Vec::new(),
            parent_start: vec![0],
            parents: Vec::new(),
            flags: Vec::new(),
            first_best_child: Vec::new(),
            next_best_sibling: Vec::new(),
            slot: Vec::new(),
            stamp: Vec::new(),
            stamp_gen: 0,
            scratch: Vec::new(),
            attestations: Attestations::default(),
            free: FreeSet::default(),
            orphans: OrphanPool::default(),
        };
        let digest = digest_of(&genesis.id()).ok_or(Error::GenesisWithParents)?;
        dag.push(digest, 0, 0, NONE, &[], 0, NONE);
        Ok(dag)
    }

    /// The parameters.
    pub fn params(&self) -> &Params {
        &self.params
    }

    /// The block store.
    pub fn store(&self) -> &BS {
        &self.store
    }

    /// Inserts a verified unit (see [`Unit::verify`]).
    ///
    /// Checks that the unit is new, not a second genesis and that no parent
    /// includes another; computes its level, best parent and attestation
    /// level (for the attestors of its round); stores its bytes. A unit with
    /// unknown parents waits in the orphan pool and is inserted, with any
    /// orphans it releases, when they arrive. On error nothing changes.
    pub fn insert<A: Attestors + ?Sized>(
        &mut self,
        unit: VerifiedUnit,
        attestors: &A,
    ) -> Result<Insertion> {
        self.insert_with(unit, attestors, &mut |_, _| true)
    }

    /// [`insert`](Self::insert) with an admission check run on the unit and
    /// on every orphan it releases, after the DAG's own validation and before
    /// anything changes. A refused unit is not added: for the unit itself the
    /// result is [`Error::Refused`] and nothing changes; a refused orphan is
    /// listed in [`Insertion::rejected`] with that error (tau-mainchain
    /// refuses units that would move the main chain below its stable point).
    pub fn insert_with<A: Attestors + ?Sized>(
        &mut self,
        unit: VerifiedUnit,
        attestors: &A,
        admit: Admit<'_, BS>,
    ) -> Result<Insertion> {
        let id = unit.id();
        let digest = digest_of(&id).ok_or_else(|| Error::BadParentId(Box::new(id)))?;
        if self.lookup(&digest).is_some() || self.orphans.contains(&digest) {
            return Err(Error::Duplicate(Box::new(id)));
        }
        if unit.unit().parents().is_empty() {
            return Err(Error::SecondGenesis(Box::new(id)));
        }
        let mut out = Insertion::default();
        match self.resolve_parents(unit.unit())? {
            Err(missing) => {
                out.orphaned = true;
                out.dropped_orphans =
                    self.orphans
                        .add(digest, unit, &missing, self.params.max_orphans);
                return Ok(out);
            }
            Ok(parents) => {
                let num = self.attach(&unit, &parents, attestors, &mut *admit)?;
                out.accepted.push(Accepted { num, unit });
            }
        }
        self.release_orphans(digest, attestors, admit, &mut out);
        Ok(out)
    }

    /// Parent numbers, or the digests of the missing parents.
    fn resolve_parents(&self, unit: &Unit) -> Result<std::result::Result<Vec<u32>, Vec<Digest>>> {
        let mut nums = Vec::with_capacity(unit.parents().len());
        let mut missing = Vec::new();
        for parent in unit.parents() {
            let d = digest_of(parent).ok_or_else(|| Error::BadParentId(Box::new(*parent)))?;
            match self.lookup(&d) {
                Some(n) => nums.push(n),
                None => missing.push(d),
            }
        }
        Ok(if missing.is_empty() {
            Ok(nums)
        } else {
            Err(missing)
        })
    }

    fn release_orphans<A: Attestors + ?Sized>(
        &mut self,
        first: Digest,
        attestors: &A,
        admit: Admit<'_, BS>,
        out: &mut Insertion,
    ) {
        let mut queue = self.orphans.children_of(&first);
        while let Some(child) = queue.pop() {
            let Some(unit) = self.orphans.take(&child) else {
                continue;
            };
            match self.resolve_parents(unit.unit()) {
                Ok(Err(missing)) => {
                    if let Some(m) = missing.first() {
                        self.orphans.put_back(child, unit, *m);
                    }
                }
                Ok(Ok(parents)) => match self.attach(&unit, &parents, attestors, &mut *admit) {
                    Ok(num) => {
                        out.accepted.push(Accepted { num, unit });
                        queue.extend(self.orphans.children_of(&child));
                    }
                    Err(e) => out.rejected.push((unit.id(), e)),
                },
                Err(e) => out.rejected.push((unit.id(), e)),
            }
        }
    }

    /// Validates against the DAG and adds a unit whose parents are all known.
    fn attach<A: Attestors + ?Sized>(
        &mut self,
        unit: &VerifiedUnit,
        parents: &[u32],
        attestors: &A,
        admit: Admit<'_, BS>,
    ) -> Result<u32> {
        if self.digests.len() >= (NONE - 1) as usize {
            return Err(Error::Full);
        }
        let id = unit.id();
        let digest = digest_of(&id).ok_or_else(|| Error::BadParentId(Box::new(id)))?;
        self.check_independent(parents)?;
        let mut best = NONE;
        let mut max_level = 0u32;
        for &p in parents {
            max_level = max_level.max(self.level[p as usize]);
            if best == NONE || self.rank(p).cmp(&self.rank(best)) == Ordering::Less {
                best = p;
            }
        }
        let level = max_level.checked_add(1).ok_or(Error::Full)?;
        let u = unit.unit();
        let attest = u.is_attestation();
        let bp_slot = self.slot[best as usize];
        let bp_level = self.level[best as usize];
        // The slot is the only index change before the checks below; it is
        // undone if the unit is refused or the store fails.
        let mark = self.attestations.mark();
        let slot = if attest {
            self.attestations.add_slot(
                &u.unsigned.authors,
                level,
                bp_slot,
                self.params.attestor_memory,
            )?
        } else {
            bp_slot
        };
        let counted = if self.params.count_own_attestation {
            slot
        } else {
            bp_slot
        };
        let wl = self
            .attestations
            .level(counted, bp_level, u.unsigned.round, attestors);
        let candidate = Candidate {
            level,
            attestation_level: wl,
            best_parent: best,
            parents,
            best_free_after: self.best_free_after(RankKey::new(wl, level, digest, NONE), parents),
        };
        if !admit(self, &candidate) {
            self.attestations.rollback(mark);
            return Err(Error::Refused(Box::new(id)));
        }
        if let Err(e) = self.store.put_keyed(&id, unit.bytes()) {
            self.attestations.rollback(mark);
            return Err(e.into());
        }
        let flags = if attest { ATTESTATION } else { 0 };
        Ok(self.push(digest, level, wl, best, parents, flags, slot))
    }

    #[allow(clippy::too_many_arguments)]
    fn push(
        &mut self,
        digest: Digest,
        level: u32,
        wl: u32,
        best: u32,
        parents: &[u32],
        flags: u8,
        slot: u32,
    ) -> u32 {
        let n = self.digests.len() as u32;
        for &p in parents {
            let pf = &mut self.flags[p as usize];
            if *pf & HAS_CHILD == 0 {
                *pf |= HAS_CHILD;
                let key = self.rank(p);
                self.free.remove(&key);
            }
        }
        self.digests.push(digest);
        let hash = self.key.hash_bytes(&digest) as u32;
        if let Some(r) = self.recent.get_mut(hash as usize % RECENT) {
            *r = Indexed { num: n, hash };
        }
        self.table.insert(hash, n);
        self.level.push(level);
        self.wl.push(wl);
        self.best_parent.push(best);
        self.parents.extend_from_slice(parents);
        self.parent_start.push(self.parents.len() as u32);
        self.flags.push(flags);
        self.first_best_child.push(NONE);
        self.slot.push(slot);
        self.stamp.push(0);
        if best == NONE {
            self.next_best_sibling.push(NONE);
        } else {
            self.next_best_sibling
                .push(self.first_best_child[best as usize]);
            self.first_best_child[best as usize] = n;
        }
        self.free.insert(RankKey::new(wl, level, digest, n));
        n
    }

    /// The best free unit once a unit ranked `key` with these parents is
    /// attached: `None` if the unit itself.
    fn best_free_after(&self, key: RankKey, parents: &[u32]) -> Option<u32> {
        self.free
            .keys()
            .find(|k| !parents.contains(&k.num()))
            .filter(|k| **k < key)
            .map(RankKey::num)
    }

    /// Rejects a parent set where one parent includes another: one search
    /// down from all parents, bounded below by the lowest parent level.
    fn check_independent(&mut self, parents: &[u32]) -> Result<()> {
        if parents.len() < 2 {
            return Ok(());
        }
        let Some(min_level) = parents.iter().map(|&p| self.level[p as usize]).min() else {
            return Ok(());
        };
        if self.stamp_gen >= u32::MAX - 2 {
            self.stamp.iter_mut().for_each(|s| *s = 0);
            self.stamp_gen = 0;
        }
        self.stamp_gen += 2;
        let (parent_mark, seen_mark) = (self.stamp_gen - 1, self.stamp_gen);
        for &p in parents {
            self.stamp[p as usize] = parent_mark;
        }
        // Search down from the parents' own parents (a parent must not find
        // itself); only a parent above the lowest level can include another.
        let mut frontier = std::mem::take(&mut self.scratch);
        frontier.clear();
        for &p in parents {
            if self.level[p as usize] > min_level {
                frontier.extend_from_slice(self.parents_of(p));
            }
        }
        let mut found = None;
        while let Some(x) = frontier.pop() {
            let xi = x as usize;
            if self.level[xi] < min_level {
                continue;
            }
            if self.stamp[xi] == parent_mark {
                found = Some(x);
                break;
            }
            if self.stamp[xi] == seen_mark {
                continue;
            }
            self.stamp[xi] = seen_mark;
            if self.level[xi] > min_level {
                frontier.extend_from_slice(self.parents_of(x));
            }
        }
        self.scratch = frontier;
        if let Some(ancestor) = found {
            // Name a parent that includes it (a short second search).
            let descendant = parents
                .iter()
                .copied()
                .find(|&p| p != ancestor && self.includes(p, ancestor))
                .unwrap_or(ancestor);
            return Err(Error::ParentsIncludeEachOther {
                descendant: Box::new(self.cid(descendant)),
                ancestor: Box::new(self.cid(ancestor)),
            });
        }
        Ok(())
    }

    /// Whether `a` includes `b` (b is a proper ancestor of a). Searches down
    /// from `a`, never below `b`'s level.
    pub fn includes(&self, a: UnitNum, b: UnitNum) -> bool {
        let (Some(&la), Some(&lb)) = (self.level.get(a as usize), self.level.get(b as usize))
        else {
            return false;
        };
        if la <= lb {
            return false;
        }
        let mut seen = std::collections::HashSet::new();
        let mut stack: Vec<u32> = self.parents_of(a).to_vec();
        while let Some(x) = stack.pop() {
            if x == b {
                return true;
            }
            if self.level[x as usize] > lb && seen.insert(x) {
                stack.extend_from_slice(self.parents_of(x));
            }
        }
        false
    }

    fn lookup(&self, digest: &Digest) -> Option<u32> {
        let hash = self.key.hash_bytes(digest) as u32;
        if let Some(r) = self.recent.get(hash as usize % RECENT) {
            if r.hash == hash && self.digests.get(r.num as usize) == Some(digest) {
                return Some(r.num);
            }
        }
        self.table
            .find(hash, |n| self.digests.get(n as usize) == Some(digest))
    }

    fn rank(&self, n: u32) -> RankKey {
        let i = n as usize;
        RankKey::new(self.wl[i], self.level[i], self.digests[i], n)
    }

    fn parents_of(&self, n: u32) -> &[u32] {
        let i = n as usize;
        match (self.parent_start.get(i), self.parent_start.get(i + 1)) {
            (Some(&s), Some(&e)) => self.parents.get(s as usize..e as usize).unwrap_or(&[]),
            _ => &[],
        }
    }

    fn cid(&self, n: u32) -> Cid {
        self.digests
            .get(n as usize)
            .map(cid_of_digest)
            .unwrap_or_default()
    }

    // ---- queries -------------------------------------------------------

    /// Number of units in the DAG (orphans excluded).
    pub fn len(&self) -> usize {
        self.digests.len()
    }

    /// Always false: a DAG holds at least its genesis.
    pub fn is_empty(&self) -> bool {
        self.digests.is_empty()
    }

    /// Number of units waiting for parents.
    pub fn orphan_count(&self) -> usize {
        self.orphans.len()
    }

    /// The genesis id.
    pub fn genesis(&self) -> Cid {
        self.cid(0)
    }

    /// The number of the unit with this id.
    pub fn num(&self, id: &Cid) -> Option<UnitNum> {
        digest_of(id).and_then(|d| self.lookup(&d))
    }

    /// Whether the unit is in the DAG.
    pub fn contains(&self, id: &Cid) -> bool {
        self.num(id).is_some()
    }

    /// The id of unit `n`.
    pub fn id(&self, n: UnitNum) -> Option<Cid> {
        self.digests.get(n as usize).map(cid_of_digest)
    }

    /// The 32-byte digest of unit `n`'s id (the id order is the digest order).
    pub fn digest(&self, n: UnitNum) -> Option<&Digest> {
        self.digests.get(n as usize)
    }

    /// Level: genesis 0, else 1 + the highest parent level.
    pub fn level(&self, n: UnitNum) -> Option<u32> {
        self.level.get(n as usize).copied()
    }

    /// Attestation level (TR §3.1; the code's witnessed level).
    pub fn attestation_level(&self, n: UnitNum) -> Option<u32> {
        self.wl.get(n as usize).copied()
    }

    /// The best parent (`None` for genesis or an unknown number).
    pub fn best_parent(&self, n: UnitNum) -> Option<UnitNum> {
        self.best_parent
            .get(n as usize)
            .copied()
            .filter(|&b| b != NONE)
    }

    /// The parents, ascending by id.
    pub fn parents(&self, n: UnitNum) -> &[UnitNum] {
        self.parents_of(n)
    }

    /// Whether the unit carries a TrustME message.
    pub fn is_attestation(&self, n: UnitNum) -> bool {
        self.flags
            .get(n as usize)
            .is_some_and(|f| f & ATTESTATION != 0)
    }

    /// Whether the unit has no children.
    pub fn is_free(&self, n: UnitNum) -> bool {
        self.flags
            .get(n as usize)
            .is_some_and(|f| f & HAS_CHILD == 0)
    }

    /// The units whose best parent is `n`, newest first.
    pub fn best_children(&self, n: UnitNum) -> BestChildren<'_> {
        BestChildren {
            next: self
                .first_best_child
                .get(n as usize)
                .copied()
                .unwrap_or(NONE),
            siblings: &self.next_best_sibling,
        }
    }

    /// Compares two units in the best-parent ranking: `Less` if `a` ranks
    /// before (is better than) `b`.
    pub fn compare_rank(&self, a: UnitNum, b: UnitNum) -> Ordering {
        if (a as usize) >= self.len() || (b as usize) >= self.len() {
            return a.cmp(&b);
        }
        self.rank(a).cmp(&self.rank(b))
    }

    /// The free units, best first.
    pub fn free_units(&self) -> impl Iterator<Item = UnitNum> + '_ {
        self.free.iter()
    }

    /// How many units are free.
    pub fn free_count(&self) -> usize {
        self.free.len()
    }

    /// The best free unit: the tip of the current main chain.
    pub fn best_free(&self) -> Option<UnitNum> {
        self.free.best()
    }

    /// Parents for a new unit: the best-ranked free units, at most
    /// `Params::max_parents`, ascending by id (free units never include one
    /// another, so the set is always valid).
    pub fn choose_parents(&self) -> Vec<Cid> {
        let mut chosen: Vec<Digest> = self
            .free
            .iter()
            .take(self.params.max_parents)
            .filter_map(|n| self.digests.get(n as usize).copied())
            .collect();
        chosen.sort_unstable();
        chosen.iter().map(cid_of_digest).collect()
    }

    /// The unit with this id, read back from the store.
    pub fn unit(&self, id: &Cid) -> Result<Option<Unit>> {
        if !self.contains(id) {
            return Ok(None);
        }
        match self.store.get(id)? {
            Some(bytes) => Ok(Some(Unit::decode(&bytes, &self.params)?)),
            None => Err(Error::MissingUnit(Box::new(*id))),
        }
    }

    /// Bytes of memory held by the in-memory index (not the unit bytes in
    /// the store, not the orphan pool).
    pub fn index_bytes(&self) -> usize {
        use std::mem::size_of;
        let u32s = self.level.capacity()
            + self.wl.capacity()
            + self.best_parent.capacity()
            + self.parent_start.capacity()
            + self.parents.capacity()
            + self.first_best_child.capacity()
            + self.next_best_sibling.capacity()
            + self.slot.capacity()
            + self.stamp.capacity();
        u32s * 4
            + self.flags.capacity()
            + self.digests.capacity() * size_of::<Digest>()
            + self.table.capacity() * size_of::<u64>()
            + self.recent.capacity() * size_of::<Indexed>()
            + self.attestations.heap_bytes()
            + self.free.len() * (size_of::<RankKey>() + 8)
    }
}

/// Iterator over the best children of a unit.
#[derive(Debug, Clone)]
pub struct BestChildren<'a> {
    next: u32,
    siblings: &'a [u32],
}

impl Iterator for BestChildren<'_> {
    type Item = UnitNum;
    fn next(&mut self) -> Option<UnitNum> {
        if self.next == NONE {
            return None;
        }
        let n = self.next;
        self.next = self.siblings.get(n as usize).copied().unwrap_or(NONE);
        Some(n)
    }
}
