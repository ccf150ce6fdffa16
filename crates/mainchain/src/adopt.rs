//! Stability proven from outside: a replica that fell behind (the minority
//! after a partition that spanned a round switch) learns from a peer which
//! unit is the next stable MC unit, checks the peer's proof itself (that is
//! tau-trustme's job: attestor-signed units built on it), and marks it stable
//! here without the local stabilization rule.
//!
//! Nothing is rewritten: the adopted unit must already be the MC child of
//! the last stable unit on the current main chain (the best free unit's
//! best-parent chain runs through it), so only the stable point moves.

use tau_dag::UnitNum;
use tau_ipld::Blockstore;

use crate::chain::MainChain;
use crate::order::StableMci;
use crate::{Error, Result};

impl<BS: Blockstore> MainChain<BS> {
    /// Marks `unit` stable as MCI `last_stable_mci() + 1`, on a proof the
    /// caller has checked, then advances stability by the local rule as far
    /// as the tip allows. Returns the newly stable MCIs in order (the
    /// adopted one first).
    ///
    /// Refused with nothing changed:
    /// * [`Error::NotStableChild`] if the unit's best parent is not the last
    ///   stable MC unit (the proof does not extend this stable main chain);
    /// * [`Error::NotOnMainChain`] if it is, but the current main chain runs
    ///   through another child (this DAG lacks units the proof relies on;
    ///   try again once they arrived).
    pub fn adopt_stable(&mut self, unit: UnitNum) -> Result<Vec<StableMci>> {
        let stable_mci = self.last_stable_mci();
        let id = || Box::new(self.dag.id(unit).unwrap_or_default());
        if self.dag.best_parent(unit) != Some(self.last_stable_unit()) {
            return Err(Error::NotStableChild {
                stable_mci,
                unit: id(),
            });
        }
        let next = self.last_stable as usize + 1;
        if self.mc.get(next) != Some(&unit) {
            return Err(Error::NotOnMainChain {
                mci: stable_mci + 1,
                unit: id(),
            });
        }
        let mut done = vec![self.mark_next_stable()];
        done.extend(self.stabilize());
        Ok(done)
    }

    /// The MC unit at a stable MCI.
    pub fn stable_mc_unit(&self, mci: u64) -> Option<UnitNum> {
        if mci > self.last_stable_mci() {
            return None;
        }
        self.mc.get(usize::try_from(mci).ok()?).copied()
    }
}

#[cfg(test)]
mod tests {
    use tau_dag::{Dag, FixedAttestors, Message, UnsignedUnit, VerifiedUnit};
    use tau_ipld::MemoryBlockstore;
    use tau_keys::Keypair;

    use crate::{Error, MainChain, Params};

    fn key(i: u8) -> Keypair {
        Keypair::from_bytes(&[i + 1; 32]).unwrap()
    }

    fn unit(parents: Vec<cid::Cid>, author: u8, stamp: u64) -> VerifiedUnit {
        let k = key(author);
        UnsignedUnit {
            version: 1,
            round: 1,
            timestamp: stamp,
            parents,
            authors: vec![k.address()],
            messages: vec![Message::TrustMe(vec![])],
        }
        .sign(&[&k])
        .unwrap()
        .verify(&tau_dag::Params::devnet())
        .unwrap()
    }

    /// Spec scenario 8 (M = 3 of 5): the alt branch V1, V2 keeps the local
    /// rule at MCI 1. A proven T2 is adopted; V1 (off the main chain) and T3
    /// (not the next one) are refused and change nothing.
    #[test]
    fn adopts_the_next_mc_unit_only() {
        let attestors = FixedAttestors::with_majority((0..5).map(|i| key(i).address()), 3);
        let genesis = unit(vec![], 0, 0);
        let dag = Dag::new(
            MemoryBlockstore::new(),
            tau_dag::Params::devnet(),
            genesis.clone(),
        )
        .unwrap();
        let (mut chain, _) = MainChain::new(dag, Params::mainnet()).unwrap();
        let mut stamp = 1;
        let mut add = |chain: &mut MainChain<MemoryBlockstore>, parent, author| {
            stamp += 1;
            let u = unit(vec![parent], author, stamp);
            let id = u.id();
            chain.insert(u, &attestors).unwrap();
            (chain.dag().num(&id).unwrap(), id)
        };
        let (_, t1) = add(&mut chain, genesis.id(), 0);
        let (v1, v1_id) = add(&mut chain, t1, 3);
        add(&mut chain, v1_id, 4);
        let mut mc = vec![];
        let mut prev = t1;
        for a in [1, 2, 0, 1, 2, 0] {
            let (n, id) = add(&mut chain, prev, a);
            mc.push(n);
            prev = id;
        }
        assert_eq!(chain.last_stable_mci(), 1);
        let before = chain.stable_order().to_vec();
        assert!(matches!(
            chain.adopt_stable(v1),
            Err(Error::NotOnMainChain { mci: 2, .. })
        ));
        assert!(matches!(
            chain.adopt_stable(mc[1]),
            Err(Error::NotStableChild { stable_mci: 1, .. })
        ));
        assert_eq!(chain.stable_order(), &before[..]);
        assert_eq!(chain.last_stable_mci(), 1);
        let done = chain.adopt_stable(mc[0]).unwrap();
        assert_eq!(done[0].mci, 2);
        assert_eq!(done[0].units.last().map(|u| u.num), Some(mc[0]));
        assert!(chain.stable_order().starts_with(&before));
        assert_eq!(chain.stable_mc_unit(2), Some(mc[0]));
        // The local rule takes over again and stops at T3 (min AL 3 over
        // T5..T7 is not above level(T3) = 3).
        assert_eq!(chain.last_stable_mci(), 2);
        assert_eq!(done.len(), 1);
    }
}
