//! Catch-up: a replica that fell behind a round switch learns the stable
//! main chain from a peer, with proofs it checks itself (TrustNote and
//! Obyte catch up the same way: the stable chain plus attestor-signed units).
//!
//! Why the rules alone cannot do it: after a partition that spans a round
//! switch, the minority holds a long alt branch of the old round. To make
//! the switch MCI stable in its view it needs the majority's later units,
//! but those belong to a round whose attestors it only learns once that MCI
//! is stable, so they wait outside its DAG.
//!
//! The proof for MCI i names the MC unit m(i) and **witnesses**: TrustME
//! units (of round ≤ R) by more than half of the attestors of R, the round
//! on duty when i is judged, each with m(i) strictly below it on its
//! best-parent chain: a majority of R's attestors built on m(i). It carries
//! the unit bytes the requester may lack. The requester checks round by
//! round: every unit's signature, structure and stateless rules (Equihash)
//! before anything, then per step its own rounds give R's attestors (round
//! R's attestors follow from the stable PoW units of round R − 1, already
//! applied), the units of R enter its DAG with those attestors, the
//! witnesses are checked there, and m(i) is adopted by the main chain
//! ([`tau_mainchain::MainChain::adopt_stable`]): only the stable point moves,
//! and the rounds see the MCI exactly as they would have under the local
//! rule. A step that contradicts the requester's own stable main chain is
//! [`Error::CatchupConflict`].
//!
//! What the witnesses prove is Obyte's light-client criterion (a majority
//! of the round's attestors built on the unit through their best-parent
//! chains), not a replay of the TR stabilization rule on the peer's DAG. An
//! honest attestor's best-parent chain can leave a unit that was not yet
//! stable, so a dishonest peer could prove a unit that honest replicas do
//! not make stable; a later honest proof then conflicts with it
//! ([`Error::CatchupConflict`]), it is detected, not repaired.

use std::collections::{HashSet, VecDeque};

use cid::Cid;
use serde_bytes::ByteBuf;
use serde_tuple::{Deserialize_tuple, Serialize_tuple};
use tau_dag::{UnitNum, VerifiedUnit};
use tau_ipld::Blockstore;
use tau_keys::Address;

use crate::attestors::majority;
use crate::replica::{Replica, UnitDelivery};
use crate::round::RoundInfo;
use crate::validate::{check_stateless_from, classify};
use crate::{Error, Result};

/// What a replica behind sends a peer: its stable point.
#[derive(Debug, Clone, PartialEq, Eq, Serialize_tuple, Deserialize_tuple)]
pub struct CatchupRequest {
    /// Its last stable MCI.
    pub stable_mci: u64,
    /// Its MC unit at that MCI.
    pub stable_unit: Cid,
}

/// One proven stable MCI.
#[derive(Debug, Clone, PartialEq, Eq, Serialize_tuple, Deserialize_tuple)]
pub struct ProofStep {
    /// The MCI.
    pub mci: u64,
    /// Its MC unit.
    pub mc_unit: Cid,
    /// TrustME units by distinct attestors of the round judging `mci`, each
    /// with `mc_unit` strictly below it on its best-parent chain.
    pub witnesses: Vec<Cid>,
}

/// The stable main chain after the requester's stable point, with proofs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize_tuple, Deserialize_tuple)]
pub struct CatchupProof {
    /// The requester's stable MCI the proof extends.
    pub from_mci: u64,
    /// The MC unit at `from_mci`.
    pub from_unit: Cid,
    /// MCIs `from_mci + 1`, `from_mci + 2`, … in order.
    pub steps: Vec<ProofStep>,
    /// Encoded units the steps rely on that were not stable at `from_mci`,
    /// parents first.
    pub units: Vec<ByteBuf>,
}

impl CatchupProof {
    /// The canonical encoding.
    pub fn encode(&self) -> Result<Vec<u8>> {
        Ok(tau_ipld::canonical::encode("catch-up proof", self)?)
    }

    /// Decodes a canonical encoding of at most `max_bytes` (checked before
    /// parsing).
    pub fn decode(bytes: &[u8], max_bytes: usize) -> Result<Self> {
        if bytes.len() > max_bytes {
            return Err(Error::ProofTooLarge {
                size: bytes.len(),
                max: max_bytes,
            });
        }
        Ok(tau_ipld::canonical::decode_canonical(
            "catch-up proof",
            bytes,
        )?)
    }
}

impl<BS: Blockstore> Replica<BS> {
    /// The request to send a peer when this replica is behind.
    pub fn catchup_request(&self) -> CatchupRequest {
        let chain = self.chain();
        CatchupRequest {
            stable_mci: chain.last_stable_mci(),
            stable_unit: chain.dag().id(chain.last_stable_unit()).unwrap_or_default(),
        }
    }

    /// A proof of this replica's stable MCIs after the requester's stable
    /// point, at most `Params::catchup_max_steps` of them (fewer if a step
    /// has no majority of witnesses here yet; none if the requester is not
    /// behind). [`Error::CatchupConflict`] if the requester's stable unit is
    /// not ours.
    pub fn catchup_proof(&self, request: &CatchupRequest) -> Result<CatchupProof> {
        self.catchup_proof_steps(request, self.rounds().params().catchup_max_steps)
    }

    /// [`catchup_proof`](Self::catchup_proof) with at most `max_steps`
    /// steps (and only the units their witnesses need): a smaller answer,
    /// e.g. for an asker on a slow link.
    pub fn catchup_proof_steps(
        &self,
        request: &CatchupRequest,
        max_steps: usize,
    ) -> Result<CatchupProof> {
        let chain = self.chain();
        let dag = chain.dag();
        let from = request.stable_mci;
        if from >= chain.last_stable_mci() {
            return Ok(CatchupProof {
                from_mci: from,
                from_unit: request.stable_unit,
                steps: Vec::new(),
                units: Vec::new(),
            });
        }
        if chain.stable_mc_unit(from).and_then(|u| dag.id(u)) != Some(request.stable_unit) {
            return Err(Error::CatchupConflict { mci: from });
        }
        let max = u64::try_from(max_steps).unwrap_or(u64::MAX);
        let last = chain.last_stable_mci().min(from.saturating_add(max));
        let mut steps = Vec::new();
        let mut roots: Vec<UnitNum> = Vec::new();
        for mci in from + 1..=last {
            let (Some(m), Some(info)) = (chain.stable_mc_unit(mci), self.rounds().judging(mci))
            else {
                break;
            };
            let Some(witnesses) = self.find_witnesses(m, info)? else {
                break;
            };
            roots.extend(&witnesses);
            let mut ids: Vec<Cid> = witnesses.iter().filter_map(|&w| dag.id(w)).collect();
            ids.sort_unstable_by_key(|c| c.to_bytes());
            steps.push(ProofStep {
                mci,
                mc_unit: dag.id(m).unwrap_or_default(),
                witnesses: ids,
            });
        }
        // Every ancestor of a witness that was not stable at `from`.
        let mut need: HashSet<UnitNum> = HashSet::new();
        let old = |u: UnitNum| chain.mci(u).is_some_and(|m| m <= from) && chain.is_stable(u);
        while let Some(u) = roots.pop() {
            if old(u) || !need.insert(u) {
                continue;
            }
            roots.extend_from_slice(dag.parents(u));
        }
        let mut nums: Vec<UnitNum> = need.into_iter().collect();
        nums.sort_unstable(); // insertion order is topological
        let mut units = Vec::with_capacity(nums.len());
        for id in nums.into_iter().filter_map(|n| dag.id(n)) {
            let unit = dag
                .unit(&id)?
                .ok_or_else(|| Error::MissingUnit(Box::new(id)))?;
            units.push(ByteBuf::from(unit.encode()?));
        }
        Ok(CatchupProof {
            from_mci: from,
            from_unit: request.stable_unit,
            steps,
            units,
        })
    }

    /// Witnesses for MC unit `m` judged by round `info`: the first TrustME
    /// unit (of round ≤ info.round) per attestor of `info` found breadth-first
    /// among `m`'s best-child descendants; `None` without a majority.
    fn find_witnesses(&self, m: UnitNum, info: &RoundInfo) -> Result<Option<Vec<UnitNum>>> {
        let dag = self.chain().dag();
        let need = majority(info.attestors.len());
        let mut found: Vec<(Address, UnitNum)> = Vec::new();
        let mut queue: VecDeque<UnitNum> = dag.best_children(m).collect();
        while let Some(x) = queue.pop_front() {
            queue.extend(dag.best_children(x));
            if !dag.is_attestation(x) || self.unit_round(x).is_none_or(|r| r > info.round) {
                continue;
            }
            let Some(author) = self.single_author(x)? else {
                continue;
            };
            if info.position(&author).is_some() && found.iter().all(|(a, _)| *a != author) {
                found.push((author, x));
                if found.len() >= need {
                    return Ok(Some(found.into_iter().map(|(_, x)| x).collect()));
                }
            }
        }
        Ok(None)
    }

    fn single_author(&self, n: UnitNum) -> Result<Option<Address>> {
        let dag = self.chain().dag();
        let Some(id) = dag.id(n) else {
            return Ok(None);
        };
        let unit = dag
            .unit(&id)?
            .ok_or_else(|| Error::MissingUnit(Box::new(id)))?;
        Ok(match unit.unsigned.authors.as_slice() {
            [a] => Some(*a),
            _ => None,
        })
    }

    /// Checks a peer's proof and adopts its stable MCIs, round by round.
    ///
    /// Before anything is used: the proof extends this replica's stable main
    /// chain, its steps are consecutive, and every unit it carries has valid
    /// signatures, structure and stateless rules (Equihash). Then, per step:
    /// units that can enter the DAG do (with their round's attestors, checked
    /// as on receipt); a step at or below the stable point must name our own
    /// MC unit; the next one must extend it, and its witnesses must be
    /// TrustME units by a majority of the attestors of the round on duty with
    /// the MC unit strictly below them on their best-parent chains. Only then
    /// is it adopted and fed to the rounds.
    ///
    /// What was applied is in `out` (newly stable MCIs, round events, units
    /// accepted), also when an error stops a later step: each applied step
    /// had been checked. Carried units that cannot enter yet wait, as
    /// received units do.
    ///
    /// A persistent replica ([`Replica::open`]) has logged what was applied
    /// before it returns, as [`receive`](Self::receive) does.
    pub fn apply_catchup(&mut self, proof: &CatchupProof, out: &mut UnitDelivery) -> Result<()> {
        let applied = self.apply_catchup_steps(proof, out);
        self.persist()?;
        applied
    }

    fn apply_catchup_steps(&mut self, proof: &CatchupProof, out: &mut UnitDelivery) -> Result<()> {
        let from = proof.from_mci;
        let ours = {
            let chain = self.chain();
            chain.stable_mc_unit(from).and_then(|u| chain.dag().id(u))
        };
        if ours != Some(proof.from_unit) {
            return Err(Error::CatchupConflict { mci: from });
        }
        for (j, step) in proof.steps.iter().enumerate() {
            let expected = from.saturating_add(1).saturating_add(j as u64);
            if step.mci != expected {
                return Err(Error::CatchupGap {
                    expected,
                    got: step.mci,
                });
            }
        }
        let dag_params = self.chain().dag().params().clone();
        let mut pending = Vec::with_capacity(proof.units.len());
        for bytes in &proof.units {
            let unit = VerifiedUnit::from_bytes(bytes, &dag_params)?;
            let kind = classify(unit.unit())?;
            check_stateless_from(
                unit.unit(),
                &kind,
                self.rounds().params(),
                self.rounds().genesis().first_round(),
            )?;
            if !self.chain().dag().contains(&unit.id()) {
                pending.push(unit);
            }
        }
        for step in &proof.steps {
            self.feed(&mut pending, out)?;
            let chain = self.chain();
            let dag = chain.dag();
            if step.mci <= chain.last_stable_mci() {
                if chain.stable_mc_unit(step.mci).and_then(|u| dag.id(u)) != Some(step.mc_unit) {
                    return Err(Error::CatchupConflict { mci: step.mci });
                }
                continue;
            }
            let m = dag
                .num(&step.mc_unit)
                .ok_or_else(|| Error::CatchupUnknownUnit(Box::new(step.mc_unit)))?;
            if dag.best_parent(m) != Some(chain.last_stable_unit()) {
                return Err(Error::CatchupConflict { mci: step.mci });
            }
            self.check_witnesses(step, m)?;
            let stable = self.chain_mut().adopt_stable(m)?;
            self.log_adopted(step.mc_unit);
            self.apply_stable(stable, out)?;
        }
        self.feed(&mut pending, out)?;
        for unit in pending {
            self.park(unit);
        }
        Ok(())
    }

    /// The witness rule of one step, for the round on duty now.
    fn check_witnesses(&self, step: &ProofStep, m: UnitNum) -> Result<()> {
        let dag = self.chain().dag();
        let info = self.rounds().current();
        let need = majority(info.attestors.len());
        let level_m = dag.level(m).unwrap_or(0);
        let mut authors: Vec<Address> = Vec::new();
        for w in &step.witnesses {
            let n = dag
                .num(w)
                .ok_or_else(|| Error::CatchupUnknownUnit(Box::new(*w)))?;
            let author = self.single_author(n)?;
            let member = author.filter(|a| info.position(a).is_some());
            let round_ok = self.unit_round(n).is_some_and(|r| r <= info.round);
            let Some(author) = member.filter(|_| dag.is_attestation(n) && round_ok) else {
                return Err(Error::WitnessNotAttestor {
                    unit: Box::new(*w),
                    round: info.round,
                });
            };
            let mut x = n;
            while dag.level(x).is_some_and(|l| l > level_m) {
                match dag.best_parent(x) {
                    Some(b) => x = b,
                    None => break,
                }
            }
            if x != m || n == m {
                return Err(Error::WitnessOffChain {
                    unit: Box::new(*w),
                    mci: step.mci,
                });
            }
            if !authors.contains(&author) {
                authors.push(author);
            }
        }
        if authors.len() < need {
            return Err(Error::TooFewWitnesses {
                mci: step.mci,
                got: authors.len(),
                need,
            });
        }
        Ok(())
    }

    /// Inserts every pending unit that can go in now (parents and round
    /// known), then the waiting units that releases, until nothing moves.
    fn feed(&mut self, pending: &mut Vec<VerifiedUnit>, out: &mut UnitDelivery) -> Result<()> {
        loop {
            let mut progressed = false;
            for unit in std::mem::take(pending) {
                if self.chain().dag().contains(&unit.id()) {
                    continue;
                }
                self.unpark(&unit.id());
                let id = unit.id();
                match self.try_insert(unit.clone(), out) {
                    Ok(true) => progressed = true,
                    Ok(false) => pending.push(unit),
                    // Would move the main chain below the stable point here:
                    // refused as on receipt, not a fault of the proof.
                    Err(e @ Error::MainChain(tau_mainchain::Error::StableRewrite { .. })) => {
                        out.rejected.push((id, e))
                    }
                    Err(e) => return Err(e),
                }
            }
            self.release(out);
            if !progressed {
                return Ok(());
            }
        }
    }
}
