//! A replica: the DAG with its main chain, the rounds fed by its stable
//! MCIs, and the units waiting for a round they need.

use std::collections::{HashMap, HashSet};

use cid::Cid;
use tau_dag::{Dag, UnitNum, VerifiedUnit};
use tau_ipld::Blockstore;
use tau_mainchain::{MainChain, StableMci};

use crate::params::{Genesis, Params};
use crate::round::{RoundEvent, Rounds};
use crate::validate::{check_stateless_from, classify};
use crate::{Error, Result};

/// What delivering one unit to a replica did ([`Replica::receive`],
/// [`Replica::apply_catchup`]): the units it accepted or left waiting, the
/// MCIs that became stable and what they decided.
#[derive(Debug, Default)]
pub struct UnitDelivery {
    /// Units added to the DAG (this one and any it released), in order.
    pub accepted: Vec<Cid>,
    /// The unit waits for its parents or for a round it needs.
    pub waiting: bool,
    /// Newly stable MCIs.
    pub stabilized: Vec<u64>,
    /// What the stable prefix decided.
    pub events: Vec<RoundEvent>,
    /// Waiting units released here that turned out invalid.
    pub rejected: Vec<(Cid, Error)>,
}

/// One honest replica of TrustME-PoW.
///
/// [`receive`](Self::receive) checks a unit (rules that need no state, then
/// the rules of its round once the round is known), inserts it into the DAG
/// with the attestors of its round, and feeds every newly stable MCI to the
/// [`Rounds`]. A unit whose parents or round are not known yet waits here
/// (never in the DAG), so the attestation level of every unit is computed
/// with its round's final attestors on every replica.
#[derive(Debug)]
pub struct Replica<BS> {
    chain: MainChain<BS>,
    rounds: Rounds,
    unit_round: Vec<u64>,
    waiting: Vec<VerifiedUnit>,
    max_waiting: usize,
    /// The log of a persistent replica ([`crate::persist`]); `None` in memory.
    pub(crate) journal: Option<crate::persist::Journal<BS>>,
}

impl<BS: Blockstore> Replica<BS> {
    /// A replica whose DAG holds only `genesis_unit`.
    pub fn new(
        store: BS,
        dag_params: tau_dag::Params,
        chain_params: tau_mainchain::Params,
        params: Params,
        genesis: Genesis,
        genesis_unit: VerifiedUnit,
    ) -> Result<Self> {
        let round = genesis_unit.unit().unsigned.round;
        if round != genesis.first_round() {
            return Err(Error::InvalidParams(
                "the genesis unit's round must be the first round (0 with a witness phase, else 1)",
            ));
        }
        let max_waiting = dag_params.max_orphans;
        let mut rounds = Rounds::new(params, genesis)?;
        rounds.open_ledger(genesis_unit.id(), genesis_unit.unit())?;
        let dag = Dag::new(store, dag_params, genesis_unit)?;
        let (chain, _) = MainChain::new(dag, chain_params)?;
        Ok(Self {
            chain,
            rounds,
            unit_round: vec![round],
            waiting: Vec::new(),
            max_waiting,
            journal: None,
        })
    }

    /// The DAG and main chain.
    pub fn chain(&self) -> &MainChain<BS> {
        &self.chain
    }

    pub(crate) fn chain_mut(&mut self) -> &mut MainChain<BS> {
        &mut self.chain
    }

    /// The rounds.
    pub fn rounds(&self) -> &Rounds {
        &self.rounds
    }

    /// Units waiting for parents or a round.
    pub fn waiting(&self) -> usize {
        self.waiting.len()
    }

    /// Whether unit `id` is in the DAG or waiting in the pool for parents
    /// or a round (a scan of the pool, which `max_orphans` bounds).
    pub fn holds(&self, id: &Cid) -> bool {
        self.chain.dag().contains(id) || self.waiting.iter().any(|w| w.id() == *id)
    }

    /// What unit `id` still needs before it can enter the DAG: the ids,
    /// reached from it through the parents of units waiting in the pool,
    /// that are neither in the DAG nor waiting, at most `max` of them.
    /// `[id]` if it is not held at all; empty if it is in the DAG or waits
    /// only for a round.
    ///
    /// A node asks these of the peer that sent a child (which holds them,
    /// since it took the child): asking only for a waiting unit's direct
    /// parents would never ask again for an ancestor whose fetch was given
    /// up, and every later unit built on it would wait for good. The walk
    /// visits each waiting unit at most once, so the pool bounds it; `max`
    /// bounds what a caller asks for (a pool of chained units with made-up
    /// parents holds far more missing ids than one unit has parents).
    pub fn missing_ancestors(&self, id: &Cid, max: usize) -> Vec<Cid> {
        let dag = self.chain.dag();
        let pool: HashMap<Cid, &VerifiedUnit> = self.waiting.iter().map(|w| (w.id(), w)).collect();
        let mut seen = HashSet::new();
        let mut stack = vec![*id];
        let mut missing = Vec::new();
        while let Some(x) = stack.pop() {
            if missing.len() >= max {
                break;
            }
            if !seen.insert(x) || dag.contains(&x) {
                continue;
            }
            match pool.get(&x) {
                Some(w) => stack.extend(w.unit().parents().iter().copied()),
                None => missing.push(x),
            }
        }
        missing
    }

    /// The round of unit `n` of the DAG.
    pub fn unit_round(&self, n: UnitNum) -> Option<u64> {
        self.unit_round.get(n as usize).copied()
    }

    /// Receives a unit. Errors are refusals of this unit (nothing changed),
    /// except those [`Error::is_fatal`] names: a store failure part way.
    ///
    /// A persistent replica ([`Replica::open`]) has logged what the call
    /// accepted before it returns; [`Error::Store`] means the log write
    /// failed: the replica is ahead of its store until a later call logs
    /// it all.
    pub fn receive(&mut self, unit: VerifiedUnit) -> Result<UnitDelivery> {
        let delivered = self.receive_unit(unit);
        self.persist()?;
        delivered
    }

    fn receive_unit(&mut self, unit: VerifiedUnit) -> Result<UnitDelivery> {
        let mut out = UnitDelivery::default();
        let kind = classify(unit.unit())?;
        check_stateless_from(
            unit.unit(),
            &kind,
            self.rounds.params(),
            self.rounds.genesis().first_round(),
        )?;
        if self.chain.dag().contains(&unit.id()) || self.waiting.iter().any(|w| w.id() == unit.id())
        {
            return Err(tau_dag::Error::Duplicate(Box::new(unit.id())).into());
        }
        if !self.try_insert(unit.clone(), &mut out)? {
            self.park(unit);
            out.waiting = true;
            return Ok(out);
        }
        self.release(&mut out);
        Ok(out)
    }

    /// Puts a unit in the bounded waiting pool (the oldest goes when full).
    pub(crate) fn park(&mut self, unit: VerifiedUnit) {
        if self.waiting.iter().any(|w| w.id() == unit.id()) {
            return;
        }
        if self.waiting.len() >= self.max_waiting && !self.waiting.is_empty() {
            self.waiting.remove(0);
        }
        self.waiting.push(unit);
    }

    /// Takes a unit out of the waiting pool (it is being inserted another way).
    pub(crate) fn unpark(&mut self, id: &Cid) {
        self.waiting.retain(|w| w.id() != *id);
    }

    /// Feeds newly stable MCIs to the rounds.
    pub(crate) fn apply_stable(
        &mut self,
        stable: Vec<StableMci>,
        out: &mut UnitDelivery,
    ) -> Result<()> {
        for s in &stable {
            out.stabilized.push(s.mci);
            let events = self.rounds.on_stable(s, &self.chain)?;
            out.events.extend(events);
        }
        Ok(())
    }

    /// Inserts if parents and round are known: Ok(false) to wait.
    pub(crate) fn try_insert(
        &mut self,
        unit: VerifiedUnit,
        out: &mut UnitDelivery,
    ) -> Result<bool> {
        let u = unit.unit();
        let mut parent_round = 0;
        for p in u.parents() {
            match self.chain.dag().num(p) {
                Some(n) => {
                    let r = self.unit_round(n).ok_or_else(|| {
                        Error::CorruptReplica(format!("no round recorded for unit {n}"))
                    })?;
                    parent_round = parent_round.max(r);
                }
                None => return Ok(false),
            }
        }
        let round = u.unsigned.round;
        if round < parent_round {
            return Err(Error::RoundBelowParent {
                round,
                parent_round,
            });
        }
        let kind = classify(u)?;
        if !self.rounds.check_unit(u, &kind)? {
            return Ok(false);
        }
        let id = unit.id();
        let update = match self.chain.insert(unit, &self.rounds) {
            Ok(update) => update,
            Err(e) => {
                // An error after the DAG took units (the main chain's
                // guard against a reloaded DAG): the rounds index stays in
                // step with the DAG, so no later lookup misses.
                while self.unit_round.len() < self.chain.dag().len() {
                    self.unit_round.push(round);
                }
                return Err(e.into());
            }
        };
        for n in &update.accepted {
            debug_assert_eq!(*n as usize, self.unit_round.len());
            self.unit_round.push(round);
        }
        out.accepted.push(id);
        self.apply_stable(update.stabilized, out)?;
        Ok(true)
    }

    /// Retries waiting units until none can go in.
    pub(crate) fn release(&mut self, out: &mut UnitDelivery) {
        loop {
            let mut progressed = false;
            let waiting = std::mem::take(&mut self.waiting);
            for unit in waiting {
                let id = unit.id();
                match self.try_insert(unit.clone(), out) {
                    Ok(true) => progressed = true,
                    Ok(false) => self.waiting.push(unit),
                    Err(e) => out.rejected.push((id, e)),
                }
            }
            if !progressed {
                break;
            }
        }
    }
}
