//! The current main chain and main chain indexes (TR-2018-02 §3.2–3.3,
//! TrustNote `updateMainChain`).
//!
//! The tip is the best free unit. Its best-parent chain is climbed to the
//! first unit already on the main chain (the fork, MCI f); MCIs above f are
//! cleared and the new MC units numbered upwards, each with its ancestors
//! that have no MCI yet. So a non-MC unit's MCI is the smallest MCI of the MC
//! units that include it. A fork below the stable point is an error.

use tau_dag::{Candidate, Dag, UnitNum};
use tau_ipld::Blockstore;

use crate::chain::{MainChain, NONE, ON_MC};
use crate::{Error, Result};

/// The MCI where the main chain would leave the current one once the
/// candidate is attached: the first MC unit on the best-parent chain of the
/// tip after the insert. `None` if the tip stays or no MC unit is found.
/// Units accepted earlier in the same insert have no flags yet: not on the MC.
pub(crate) fn fork_of<BS: Blockstore>(
    dag: &Dag<BS>,
    flags: &[u8],
    mci: &[u32],
    tip: u32,
    c: &Candidate<'_>,
) -> Option<u32> {
    let mut x = match c.best_free_after {
        Some(t) if t == tip => return None,
        Some(t) => t,
        None => c.best_parent,
    };
    while flags.get(x as usize).is_none_or(|f| f & ON_MC == 0) {
        x = dag.best_parent(x)?;
    }
    mci.get(x as usize).copied().filter(|&m| m != NONE)
}

impl<BS: Blockstore> MainChain<BS> {
    /// Rebuilds the main chain from the best free unit. Returns whether the
    /// tip changed (only then can stability move).
    pub(crate) fn update_main_chain(&mut self) -> Result<bool> {
        let Some(tip) = self.dag.best_free() else {
            return Ok(false);
        };
        if tip == self.tip {
            return Ok(false);
        }
        let mut climb = Vec::new();
        let mut x = tip;
        while !self.on_mc(x) {
            climb.push(x);
            match self.dag.best_parent(x) {
                Some(b) => x = b,
                None => return Err(Error::Reload("a best-parent chain misses genesis")),
            }
        }
        let fork = self.mci[x as usize];
        // Units that would get here are refused on insert (`fork_of`); this
        // guards reloaded or pre-filled DAGs.
        if fork < self.last_stable {
            return Err(Error::StableRewrite {
                stable_mci: u64::from(self.last_stable),
                fork_mci: u64::from(fork),
                tip: Box::new(self.dag.id(tip).unwrap_or_default()),
            });
        }
        // Clear every MCI above the fork.
        let keep = (fork - self.last_stable) as usize;
        for bucket in self.unstable.drain(keep..) {
            for u in bucket {
                self.mci[u as usize] = NONE;
            }
        }
        for &u in self.mc.get(fork as usize + 1..).unwrap_or(&[]) {
            self.flags[u as usize] &= !ON_MC;
        }
        self.mc.truncate(fork as usize + 1);
        // Number the new MC units upwards with their unnumbered ancestors.
        let mut stack = Vec::new();
        for &u in climb.iter().rev() {
            let m = self.mc.len() as u32;
            self.mc.push(u);
            self.flags[u as usize] |= ON_MC;
            let mut bucket = Vec::new();
            self.mci[u as usize] = m;
            bucket.push(u);
            stack.extend_from_slice(self.dag.parents(u));
            while let Some(p) = stack.pop() {
                if self.mci[p as usize] == NONE {
                    self.mci[p as usize] = m;
                    bucket.push(p);
                    stack.extend_from_slice(self.dag.parents(p));
                }
            }
            self.unstable.push_back(bucket);
        }
        self.tip = tip;
        Ok(true)
    }

    /// LIMCI (latest included MC index): the largest MCI of the MC units the
    /// unit includes — max over parents p of (p on the MC ? MCI(p) :
    /// LIMCI(p)). `None` for genesis and units whose parents have no MCI.
    pub fn limci(&self, u: UnitNum) -> Option<u64> {
        if let Some(&l) = self.limci.get(u as usize) {
            if l != NONE {
                return Some(u64::from(l));
            }
        }
        if (u as usize) >= self.mci.len() || u == 0 {
            return None;
        }
        // Unstable units: a memoized walk down to stable ones.
        let mut memo: std::collections::HashMap<u32, Option<u32>> = Default::default();
        let mut stack = vec![(u, false)];
        while let Some((x, expanded)) = stack.pop() {
            if memo.contains_key(&x) {
                continue;
            }
            if expanded {
                let mut best: Option<u32> = None;
                for &p in self.dag.parents(x) {
                    let v = self.parent_contribution(p, &memo);
                    best = best.max(v);
                }
                memo.insert(x, best);
                continue;
            }
            stack.push((x, true));
            for &p in self.dag.parents(x) {
                if !self.on_mc(p) && self.limci[p as usize] == NONE && p != 0 {
                    stack.push((p, false));
                }
            }
        }
        memo.get(&u).copied().flatten().map(u64::from)
    }

    fn parent_contribution(
        &self,
        p: u32,
        memo: &std::collections::HashMap<u32, Option<u32>>,
    ) -> Option<u32> {
        let m = self.mci[p as usize];
        if self.on_mc(p) && m != NONE {
            return Some(m);
        }
        let l = self.limci[p as usize];
        if l != NONE {
            return Some(l);
        }
        memo.get(&p).copied().flatten()
    }
}
