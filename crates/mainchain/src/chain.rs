//! The [`MainChain`] type: a DAG plus its current main chain, MCIs and
//! stable point, updated as each unit arrives.

use std::collections::{HashMap, VecDeque};

use cid::Cid;
use tau_dag::{Attestors, Candidate, Dag, UnitNum, VerifiedUnit};
use tau_ipld::keyed_hash::KeyedState;
use tau_ipld::Blockstore;

use crate::order::{InputKey, StableMci};
use crate::params::Params;
use crate::{Error, Result};

pub(crate) const NONE: u32 = u32::MAX;
pub(crate) const ON_MC: u8 = 1;
pub(crate) const KEPT: u8 = 2;
pub(crate) const BAD: u8 = 4;

/// What one [`MainChain::insert`] did.
#[derive(Debug, Default)]
pub struct Update {
    /// Units added to the DAG (the unit and the orphans it released).
    pub accepted: Vec<UnitNum>,
    /// The unit waits in the orphan pool.
    pub orphaned: bool,
    /// Released orphans that turned out invalid, or that were refused
    /// because they would move the main chain below the stable point
    /// ([`Error::StableRewrite`](crate::Error::StableRewrite)); none of them
    /// was added.
    pub rejected: Vec<(Cid, Error)>,
    /// Newly stable MCIs, in order, each with its units in total order.
    pub stabilized: Vec<StableMci>,
}

/// A TrustME DAG with its main chain (TR-2018-02 §3.2–3.4).
///
/// Everything is incremental: a new unit walks up its best-parent chain only
/// while it raises a subtree maximum above the stable point, the main chain
/// is rebuilt only above the point where the new tip's chain meets it, and
/// stabilization advances from the last stable MC unit.
#[derive(Debug)]
pub struct MainChain<BS> {
    pub(crate) dag: Dag<BS>,
    pub(crate) params: Params,
    /// MC units by MCI (stable prefix, then the current unstable part).
    pub(crate) mc: Vec<u32>,
    /// Per unit: its MCI or NONE.
    pub(crate) mci: Vec<u32>,
    /// Per unit: the highest level in its best-child subtree (kept exact for
    /// units above the stable point).
    pub(crate) max_sub: Vec<u32>,
    /// The same over units with a parent of lower attestation level (0: none).
    pub(crate) max_kept_sub: Vec<u32>,
    pub(crate) flags: Vec<u8>,
    /// Per unit: LIMCI once stable, else NONE.
    pub(crate) limci: Vec<u32>,
    pub(crate) last_stable: u32,
    pub(crate) tip: u32,
    /// Units of each unstable MCI; front = last_stable + 1.
    pub(crate) unstable: VecDeque<Vec<u32>>,
    /// Stable units in total order, and where each MCI starts in it.
    pub(crate) order: Vec<u32>,
    pub(crate) order_start: Vec<u32>,
    /// Outputs spent by units not yet stable.
    pub(crate) inputs: HashMap<u32, Vec<InputKey>, KeyedState>,
    /// Outputs spent by stable good units.
    pub(crate) spent: HashMap<InputKey, u32, KeyedState>,
}

impl<BS: Blockstore> MainChain<BS> {
    /// The main chain of a DAG (usually a new one holding only genesis).
    /// Existing units are indexed, the main chain built from the best free
    /// unit and stabilization run once.
    pub fn new(dag: Dag<BS>, params: Params) -> Result<(Self, Vec<StableMci>)> {
        let mut chain = Self {
            dag,
            params,
            mc: vec![0],
            mci: Vec::new(),
            max_sub: Vec::new(),
            max_kept_sub: Vec::new(),
            flags: Vec::new(),
            limci: Vec::new(),
            last_stable: 0,
            tip: 0,
            unstable: VecDeque::new(),
            order: vec![0],
            order_start: vec![0, 1],
            inputs: HashMap::default(),
            spent: HashMap::default(),
        };
        chain.index_existing();
        chain.update_main_chain()?;
        let events = chain.stabilize();
        Ok((chain, events))
    }

    /// Inserts a verified unit into the DAG, then updates the main chain and
    /// advances stability; returns the newly stable MCIs.
    ///
    /// A unit that would make the main chain leave the stable main chain
    /// (a stable MC unit would change) is refused before the DAG changes:
    /// the unit itself gives [`Error::StableRewrite`] and nothing changes; a
    /// released orphan is listed in [`Update::rejected`] with that error.
    /// Either way the main chain, MCIs and stable point stay as they were and
    /// later units are handled as usual. With attestors that post serially
    /// this does not happen under the TR rule; an attestor that equivocates
    /// (two TrustME units neither of which includes the other) or an
    /// attestor set that changes between rounds can cause it.
    pub fn insert<A: Attestors + ?Sized>(
        &mut self,
        unit: VerifiedUnit,
        attestors: &A,
    ) -> Result<Update> {
        let id = unit.id();
        let mut refusals = Vec::new();
        let mut admit = {
            let (flags, mci, tip, last_stable) =
                (&self.flags, &self.mci, self.tip, self.last_stable);
            let refusals = &mut refusals;
            move |dag: &Dag<BS>, c: &Candidate<'_>| -> bool {
                match crate::mci::fork_of(dag, flags, mci, tip, c) {
                    Some(fork) if fork < last_stable => {
                        refusals.push((fork, c.best_free_after));
                        false
                    }
                    _ => true,
                }
            }
        };
        let done = match self.dag.insert_with(unit, attestors, &mut admit) {
            Ok(done) => done,
            Err(tau_dag::Error::Refused(_)) => {
                return Err(self.rewrite_error(refusals.first().copied(), id));
            }
            Err(e) => return Err(e.into()),
        };
        let mut refused = refusals.into_iter();
        let rejected = done
            .rejected
            .into_iter()
            .map(|(cid, e)| match e {
                tau_dag::Error::Refused(_) => {
                    let refusal = refused.next();
                    (cid, self.rewrite_error(refusal, cid))
                }
                e => (cid, Error::Dag(e)),
            })
            .collect();
        let mut update = Update {
            orphaned: done.orphaned,
            rejected,
            ..Update::default()
        };
        for accepted in &done.accepted {
            let keys: Vec<InputKey> = accepted.unit.unit().inputs().map(InputKey::of).collect();
            self.index_unit(accepted.num, keys);
            update.accepted.push(accepted.num);
        }
        if !update.accepted.is_empty() && self.update_main_chain()? {
            update.stabilized = self.stabilize();
        }
        Ok(update)
    }

    /// Indexes units already in the DAG (a reloaded or pre-filled DAG):
    /// subtree maxima in one backward pass instead of upward walks.
    fn index_existing(&mut self) {
        let n = self.dag.len();
        for u in 0..n as u32 {
            self.push_unit(u);
        }
        for u in (1..n as u32).rev() {
            if let Some(b) = self.dag.best_parent(u) {
                let (ms, mk) = (self.max_sub[u as usize], self.max_kept_sub[u as usize]);
                let s = &mut self.max_sub[b as usize];
                *s = (*s).max(ms);
                let k = &mut self.max_kept_sub[b as usize];
                *k = (*k).max(mk);
            }
        }
        // Payments of units not yet stable are read back from the store.
        for u in 1..n as u32 {
            let keys: Vec<InputKey> = self
                .dag
                .id(u)
                .and_then(|id| self.dag.unit(&id).ok().flatten())
                .map(|unit| unit.inputs().map(InputKey::of).collect())
                .unwrap_or_default();
            if !keys.is_empty() {
                self.inputs.insert(u, keys);
            }
        }
    }

    fn push_unit(&mut self, u: u32) {
        let level = self.dag.level(u).unwrap_or(0);
        let wl = self.dag.attestation_level(u).unwrap_or(0);
        let kept = u == 0
            || self
                .dag
                .parents(u)
                .iter()
                .any(|&p| self.dag.attestation_level(p).unwrap_or(0) < wl);
        let genesis = u == 0;
        self.mci.push(if genesis { 0 } else { NONE });
        self.max_sub.push(level);
        self.max_kept_sub.push(if kept { level } else { 0 });
        self.flags
            .push(if genesis { ON_MC } else { 0 } | if kept { KEPT } else { 0 });
        self.limci.push(NONE);
    }

    /// Indexes a unit just added to the DAG: raises subtree maxima up its
    /// best-parent chain while they change, never below the stable point.
    fn index_unit(&mut self, u: u32, inputs: Vec<InputKey>) {
        self.push_unit(u);
        if !inputs.is_empty() {
            self.inputs.insert(u, inputs);
        }
        let level = self.dag.level(u).unwrap_or(0);
        let kept = self.flags[u as usize] & KEPT != 0;
        let floor = self.level(self.mc[self.last_stable as usize]);
        let mut x = self.dag.best_parent(u);
        while let Some(b) = x {
            let bi = b as usize;
            if self.level(b) <= floor {
                break;
            }
            let mut changed = false;
            if self.max_sub[bi] < level {
                self.max_sub[bi] = level;
                changed = true;
            }
            if kept && self.max_kept_sub[bi] < level {
                self.max_kept_sub[bi] = level;
                changed = true;
            }
            if !changed {
                break;
            }
            x = self.dag.best_parent(b);
        }
    }

    /// The error for a refused unit `id`, from what the admission check saw:
    /// the fork MCI and the would-be tip (`None`: the unit itself).
    fn rewrite_error(&self, refusal: Option<(u32, Option<UnitNum>)>, id: Cid) -> Error {
        let (fork, tip) = refusal.unwrap_or((0, None));
        Error::StableRewrite {
            stable_mci: u64::from(self.last_stable),
            fork_mci: u64::from(fork),
            tip: Box::new(tip.and_then(|t| self.dag.id(t)).unwrap_or(id)),
        }
    }

    pub(crate) fn level(&self, u: u32) -> u32 {
        self.dag.level(u).unwrap_or(0)
    }

    pub(crate) fn wl(&self, u: u32) -> u32 {
        self.dag.attestation_level(u).unwrap_or(0)
    }

    pub(crate) fn on_mc(&self, u: u32) -> bool {
        self.flags.get(u as usize).is_some_and(|f| f & ON_MC != 0)
    }

    // ---- queries -------------------------------------------------------

    /// The DAG.
    pub fn dag(&self) -> &Dag<BS> {
        &self.dag
    }

    /// The parameters.
    pub fn params(&self) -> &Params {
        &self.params
    }

    /// The tip: the best free unit, head of the current main chain.
    pub fn tip(&self) -> UnitNum {
        self.tip
    }

    /// The current main chain, by MCI (genesis first).
    pub fn main_chain(&self) -> &[UnitNum] {
        &self.mc
    }

    /// Whether the unit is on the current main chain.
    pub fn is_on_main_chain(&self, u: UnitNum) -> bool {
        self.on_mc(u)
    }

    /// The unit's MCI on the current main chain: for an MC unit its index,
    /// else the smallest MCI of the MC units that include it; `None` if no
    /// MC unit includes it yet.
    pub fn mci(&self, u: UnitNum) -> Option<u64> {
        self.mci
            .get(u as usize)
            .filter(|&&m| m != NONE)
            .map(|&m| u64::from(m))
    }

    /// The last stable MCI.
    pub fn last_stable_mci(&self) -> u64 {
        u64::from(self.last_stable)
    }

    /// The last stable MC unit.
    pub fn last_stable_unit(&self) -> UnitNum {
        self.mc[self.last_stable as usize]
    }

    /// Whether the unit is stable (has an MCI at or below the stable point).
    pub fn is_stable(&self, u: UnitNum) -> bool {
        self.mci
            .get(u as usize)
            .is_some_and(|&m| m != NONE && m <= self.last_stable)
    }

    /// Whether a stable unit lost a double spend (a conflicting unit came
    /// first in the total order).
    pub fn is_bad(&self, u: UnitNum) -> bool {
        self.flags.get(u as usize).is_some_and(|f| f & BAD != 0)
    }

    /// The stable units in total order (MCI, then level, then id).
    pub fn stable_order(&self) -> &[UnitNum] {
        &self.order
    }

    /// The units of a stable MCI, in total order.
    pub fn stable_units(&self, mci: u64) -> Option<&[UnitNum]> {
        let m = usize::try_from(mci).ok()?;
        let (s, e) = (*self.order_start.get(m)?, *self.order_start.get(m + 1)?);
        self.order.get(s as usize..e as usize)
    }

    /// Bytes of memory of the main-chain index (the DAG's index excluded).
    pub fn index_bytes(&self) -> usize {
        let u32s = self.mc.capacity()
            + self.mci.capacity()
            + self.max_sub.capacity()
            + self.max_kept_sub.capacity()
            + self.limci.capacity()
            + self.order.capacity()
            + self.order_start.capacity();
        u32s * 4
            + self.flags.capacity()
            + self
                .unstable
                .iter()
                .map(|v| v.capacity() * 4 + 24)
                .sum::<usize>()
    }
}
