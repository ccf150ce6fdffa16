//! Rounds (TR-2018-02 §4.2–§4.7, §5.1): the state machine fed by the main
//! chain's newly stable MCIs, in order. Everything here is a pure function
//! of the stable prefix, so every honest replica derives the same rounds,
//! attestors, seeds, bits and rewards.
//!
//! For the round R on duty, at each stable MCI m (units in total order):
//! * a TrustME unit of R counts if it is valid (its round is R and m is
//!   after R's start; units of a finished round are invalid, TR §5.1); the
//!   first one on the main chain fixes pubSeed(R+1) (TR §5.1 row i+1);
//! * a PoW unit for R+1 counts if it is the first of its author for R+1, by
//!   a super node with a sufficient deposit, with the right seed and bits and
//!   a solution meeting the target;
//! * deposits, withdrawals and bad units update the deposits;
//! * once `pow_attestors` distinct super nodes have such PoW units, round
//!   R+1 starts at m (TR §4.2: "once the last PoW unit becomes stable"): R's
//!   rewards are fixed, R+1's attestors, seed and bits are set, and the bits
//!   of R+2 are retargeted.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use cid::Cid;
use tau_dag::{Attestors, Unit, UnitNum};
use tau_ipld::keyed_hash::KeyedState;
use tau_ipld::Blockstore;
use tau_keys::Address;
use tau_mainchain::{MainChain, StableMci};

use crate::attestors::{majority, select_attestors, Attestor, PowCandidate};
use crate::deposit::{deposit_address, Deposits};
use crate::difficulty::next_bits;
use crate::issuance::round_issuance;
use crate::ledger::Ledger;
use crate::params::{Genesis, Params};
use crate::pow_unit::PowContext;
use crate::reward::{split_reward, Coinbase};
use crate::seed::{coinbase_hash, pub_seed};
use crate::validate::{author_key, classify, Kind};
use crate::{Error, Result};

/// One round's state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoundInfo {
    /// The round number (1-based; 0 is the witness phase, TR §5.2).
    pub round: u64,
    /// The MCI whose stabilization started it (0 for the first round).
    pub start_mci: u64,
    /// The MCI whose stabilization ended it.
    pub end_mci: Option<u64>,
    /// Attestors in priority order (foundation first).
    pub attestors: Vec<Attestor>,
    /// pubSeed(round) (zeros for the witness phase, which has none).
    pub pub_seed: [u8; 32],
    /// Bits of the PoW units that competed for this round.
    pub bits: u32,
    /// Start time in seconds (timestamp of the MC unit at `start_mci`, monotonic).
    pub start_secs: i64,
    /// Bits of the PoW units competing for the next round.
    pub next_bits: u32,
    /// The first stable main-chain TrustME unit of this round.
    pub first_trustme: Option<Cid>,
    /// pubSeed(round + 1), known once `first_trustme` is.
    pub next_pub_seed: Option<[u8; 32]>,
    /// Valid stable main-chain TrustME units per attestor (same order).
    pub trustme_counts: Vec<u64>,
    /// Valid stable PoW units for the next round, in selection order.
    pub candidates: Vec<PowCandidate>,
    /// The rewards of this round, once it has ended.
    pub coinbase: Option<Coinbase>,
}

impl RoundInfo {
    /// The priority index (0-based) of `address`, if it is an attestor.
    pub fn position(&self, address: &Address) -> Option<usize> {
        self.attestors.iter().position(|a| a.address == *address)
    }

    /// The attestor addresses in priority order.
    pub fn addresses(&self) -> Vec<Address> {
        self.attestors.iter().map(|a| a.address).collect()
    }
}

/// Something the stable prefix decided.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RoundEvent {
    /// pubSeed(round) became known: mining for `round` may start.
    SeedKnown {
        /// The round competed for.
        round: u64,
        /// Its pubSeed.
        pub_seed: [u8; 32],
        /// Its bits.
        bits: u32,
    },
    /// A round ended and the next started at `mci`.
    Switched {
        /// The new round.
        round: u64,
        /// The MCI.
        mci: u64,
        /// Its attestors, in priority order.
        attestors: Vec<Address>,
        /// The rewards of the round that ended.
        coinbase: Coinbase,
    },
    /// A stable unit broke a round rule; it stays in the DAG but counts for
    /// nothing (and restarts its author's deposit lock).
    Rejected {
        /// The unit.
        unit: Cid,
        /// Why (a typed error).
        reason: String,
    },
    /// An attestor's stable unit did not include its previous stable unit
    /// (TR §3, sequential units): from this unit on, the attestor's TrustME
    /// and PoW units count for nothing.
    Eliminated {
        /// The attestor.
        attestor: Address,
        /// The non-sequential unit.
        unit: Cid,
        /// The MCI where it became stable.
        mci: u64,
    },
    /// A deposit was paid out.
    Withdrawn {
        /// The super node.
        node: Address,
        /// Where it went.
        payout: Address,
        /// Notes.
        amount: u64,
    },
}

/// A stable unit being judged, with what [`Rounds::apply`] needs of it.
struct Judged<'a> {
    unit: &'a Unit,
    su: &'a tau_mainchain::StableUnit,
    /// Its encoded size (its commission).
    size: usize,
    on_mc: bool,
    mci: u64,
}

/// The rounds of one replica.
#[derive(Debug)]
pub struct Rounds {
    params: Params,
    genesis: Genesis,
    rounds: Vec<RoundInfo>,
    deposits: Deposits,
    rejected: Vec<(Cid, Error)>,
    ledger: Ledger,
    /// The last stable unit of each attestor of the round on duty.
    last_unit: HashMap<Address, UnitNum, KeyedState>,
    /// Attestors eliminated for non-sequential units, with the MCI.
    eliminated: BTreeMap<Address, u64>,
    /// Attestors whose first TrustME unit of the round on duty was judged.
    first_judged: BTreeSet<Address>,
    /// The state digest after each stable MCI (index: MCI − 1).
    digests: Vec<[u8; 32]>,
}

impl Rounds {
    /// Round 1 from the genesis configuration, or round 0 (the witnesses)
    /// with a [`WitnessPhase`](crate::WitnessPhase).
    pub fn new(params: Params, genesis: Genesis) -> Result<Self> {
        params.validate()?;
        genesis.validate(&params)?;
        let mut deposits = Deposits::default();
        let payload = crate::deposit::DepositPayload {
            withdraw: false,
            lock_rounds: params.silent_lock_rounds,
            payout_address: genesis.foundation_reward,
            reward_address: genesis.foundation_reward,
        };
        for &(node, amount) in &genesis.deposits {
            let mut p = payload.clone();
            p.payout_address = node;
            p.reward_address = node;
            deposits.open(node, &p, amount, genesis.first_round(), &params)?;
        }
        let attestors: Vec<Attestor> = genesis
            .foundation
            .iter()
            .chain(&genesis.initial_attestors)
            .map(|&address| Attestor {
                address,
                pow_unit: None,
            })
            .collect();
        let bits = params.initial_bits;
        let next = next_bits(&[(0, bits)], &params)?;
        let mut first = RoundInfo {
            round: 1,
            start_mci: 0,
            end_mci: None,
            trustme_counts: vec![0; attestors.len()],
            attestors,
            pub_seed: genesis.pub_seed,
            bits,
            start_secs: 0,
            next_bits: next,
            first_trustme: None,
            next_pub_seed: None,
            candidates: Vec::new(),
            coinbase: None,
        };
        if let Some(phase) = &genesis.witness_phase {
            // Round 0: the witnesses attest; pubSeed(1) is published when
            // `switch_mci` is stable, with the initial bits. It has no seed.
            first.round = 0;
            first.attestors = phase
                .witnesses
                .iter()
                .map(|&address| Attestor {
                    address,
                    pow_unit: None,
                })
                .collect();
            first.trustme_counts = vec![0; first.attestors.len()];
            first.pub_seed = [0; 32];
            first.next_bits = bits;
        }
        Ok(Self {
            params,
            genesis,
            rounds: vec![first],
            deposits,
            rejected: Vec::new(),
            ledger: Ledger::new(),
            last_unit: HashMap::default(),
            eliminated: BTreeMap::new(),
            first_judged: BTreeSet::new(),
            digests: Vec::new(),
        })
    }

    /// Credits the genesis to the ledger: the genesis unit's payment outputs
    /// and the genesis deposits as outputs at their contracts. Call once,
    /// before the first stable MCI ([`Replica::new`](crate::Replica::new) does).
    pub fn open_ledger(&mut self, genesis_id: Cid, genesis_unit: &Unit) -> Result<()> {
        self.ledger
            .open_genesis(genesis_id, genesis_unit, &self.genesis.deposits)
    }

    /// The coin ledger at the stable point.
    pub fn ledger(&self) -> &Ledger {
        &self.ledger
    }

    /// Attestors eliminated for non-sequential units, with the MCI where
    /// that was found.
    pub fn eliminated(&self) -> &BTreeMap<Address, u64> {
        &self.eliminated
    }

    /// The digest of the rounds' and the ledger's state right after MCI
    /// `mci` became stable: replicas that agree on it applied the same
    /// stable units with the same outcome.
    pub fn state_digest(&self, mci: u64) -> Option<[u8; 32]> {
        let i = usize::try_from(mci.checked_sub(1)?).ok()?;
        self.digests.get(i).copied()
    }

    /// The parameters.
    pub fn params(&self) -> &Params {
        &self.params
    }

    /// The genesis configuration.
    pub fn genesis(&self) -> &Genesis {
        &self.genesis
    }

    /// The round on duty.
    pub fn current(&self) -> &RoundInfo {
        // `rounds` always holds round 1.
        &self.rounds[self.rounds.len() - 1]
    }

    /// Every round so far, the first (1, or 0 with a witness phase) first.
    pub fn all(&self) -> &[RoundInfo] {
        &self.rounds
    }

    /// Round `round`, if it has started.
    pub fn get(&self, round: u64) -> Option<&RoundInfo> {
        let i = usize::try_from(round.checked_sub(self.rounds.first()?.round)?).ok()?;
        self.rounds.get(i)
    }

    /// The round that judges MCI `mci` (on duty once `mci − 1` is stable):
    /// the one with `start_mci < mci <= end_mci`, or the current round.
    pub fn judging(&self, mci: u64) -> Option<&RoundInfo> {
        self.rounds
            .iter()
            .find(|r| r.start_mci < mci && r.end_mci.is_none_or(|e| mci <= e))
    }

    /// The deposits.
    pub fn deposits(&self) -> &Deposits {
        &self.deposits
    }

    /// Stable units that broke a round rule, with the reason.
    pub fn rejected(&self) -> &[(Cid, Error)] {
        &self.rejected
    }

    /// The coinbase of `round` (the empty list for rounds before 1), if known.
    pub fn coinbase(&self, round: u64) -> Option<Coinbase> {
        if round == 0 {
            return Some(Coinbase::new());
        }
        self.get(round)?.coinbase.clone()
    }

    /// What a PoW unit competing for `round` must match, once known
    /// (pubSeed(round) is known when round − 1's first TrustME unit is stable).
    pub fn pow_context(&self, round: u64) -> Option<PowContext> {
        let prev = self.get(round.checked_sub(1)?)?;
        let pub_seed = match self.get(round) {
            Some(r) => r.pub_seed,
            None => prev.next_pub_seed?,
        };
        Some(PowContext {
            round,
            pub_seed,
            bits: prev.next_bits,
        })
    }

    /// Checks a unit against rounds already known; `Ok(false)` when a round
    /// it needs is not known yet (the unit waits). Deterministic: the answer
    /// for a known round never changes, so replicas keep the same DAG.
    /// * TrustME: its author is an attestor of its round, with the right
    ///   priority and PoW unit; a carried coinbase matches round − 2's.
    /// * PoW: right seed for its author, right bits, solution meeting them.
    pub fn check_unit(&self, unit: &Unit, kind: &Kind) -> Result<bool> {
        let round = unit.unsigned.round;
        let Some(info) = self.get(round) else {
            return Ok(false);
        };
        match kind {
            Kind::TrustMe(p) => {
                let author = unit
                    .unsigned
                    .authors
                    .first()
                    .copied()
                    .unwrap_or(Address::new([0; 20]));
                let idx = info
                    .position(&author)
                    .ok_or(Error::NotAttestor { author, round })?;
                let expected = u32::try_from(idx + 1).unwrap_or(u32::MAX);
                if p.priority != expected {
                    return Err(Error::WrongPriority {
                        expected,
                        got: p.priority,
                    });
                }
                if p.pow_unit != info.attestors[idx].pow_unit {
                    return Err(Error::WrongPowUnit);
                }
                if p.coinbase.is_some() || p.coinbase_hash.is_some() {
                    let Some(expected) = self.coinbase(round.saturating_sub(2)) else {
                        return Ok(false);
                    };
                    p.check_coinbase(&expected)?;
                }
                Ok(true)
            }
            Kind::Pow(p) => {
                let Some(ctx) = self.pow_context(p.round) else {
                    return Ok(false);
                };
                p.check(&author_key(unit)?, &ctx, &self.params)?;
                Ok(true)
            }
            _ => Ok(true),
        }
    }

    /// Advances by one newly stable MCI of `chain` (call for every MCI, in order).
    pub fn on_stable<BS: Blockstore>(
        &mut self,
        stable: &StableMci,
        chain: &MainChain<BS>,
    ) -> Result<Vec<RoundEvent>> {
        let mut events = Vec::new();
        let mut batch: Vec<PowCandidate> = Vec::new();
        let mut mc_timestamp = 0u64;
        for su in &stable.units {
            let bytes = crate::ledger::unit_bytes(chain, &su.id)?;
            let unit = Unit::decode(&bytes, chain.dag().params())?;
            let on_mc = chain.is_on_main_chain(su.num);
            if on_mc {
                mc_timestamp = unit.unsigned.timestamp;
            }
            let judged = Judged {
                unit: &unit,
                su,
                size: bytes.len(),
                on_mc,
                mci: stable.mci,
            };
            if let Err(e) = self.apply(&judged, chain, &mut batch, &mut events) {
                let author = unit.unsigned.authors.first().copied();
                if let Some(a) = author {
                    let r = self.current().round;
                    self.deposits.touch(&a, r);
                }
                events.push(RoundEvent::Rejected {
                    unit: su.id,
                    reason: e.to_string(),
                });
                self.rejected.push((su.id, e));
            }
        }
        // PoW units of one MCI: the smaller id first (TR §4.3).
        batch.sort_by_key(|c| c.digest);
        let cur = self.rounds.len() - 1;
        if let Some(phase) = &self.genesis.witness_phase {
            if stable.mci == phase.switch_mci && self.rounds[cur].round == 0 {
                // TR §5.2 step 2: round 1 is initiated.
                let info = &mut self.rounds[cur];
                info.next_pub_seed = Some(self.genesis.pub_seed);
                events.push(RoundEvent::SeedKnown {
                    round: 1,
                    pub_seed: self.genesis.pub_seed,
                    bits: info.next_bits,
                });
            }
        }
        for c in batch {
            if self.rounds[cur]
                .candidates
                .iter()
                .any(|x| x.author == c.author)
            {
                let e = Error::DuplicatePow {
                    author: c.author,
                    round: self.rounds[cur].round + 1,
                };
                events.push(RoundEvent::Rejected {
                    unit: c.id,
                    reason: e.to_string(),
                });
                self.rejected.push((c.id, e));
                continue;
            }
            self.rounds[cur].candidates.push(c);
        }
        if let Some(attestors) = select_attestors(
            &self.genesis.foundation,
            &self.rounds[cur].candidates,
            self.params.pow_attestors,
        ) {
            let mc_unit = stable.units.last().map(|u| u.id).unwrap_or_default();
            events.push(self.switch(stable.mci, mc_timestamp, mc_unit, attestors)?);
        }
        self.push_digest(stable.mci);
        Ok(events)
    }

    /// Folds MCI `mci`'s outcome into the state digest.
    fn push_digest(&mut self, mci: u64) {
        let prev = self.digests.last().copied().unwrap_or([0; 32]);
        let cur = self.current();
        let mut data = Vec::with_capacity(64 + 8 * cur.trustme_counts.len());
        data.extend_from_slice(&cur.round.to_be_bytes());
        for c in &cur.trustme_counts {
            data.extend_from_slice(&c.to_be_bytes());
        }
        for c in &cur.candidates {
            data.extend_from_slice(&c.digest);
        }
        data.extend_from_slice(&(self.rejected.len() as u64).to_be_bytes());
        for a in self.eliminated.keys() {
            data.extend_from_slice(a.as_bytes());
        }
        let digest = tau_keys::blake2b_256_concat(&[
            &prev,
            &mci.to_be_bytes(),
            &self.ledger.digest(),
            &data,
        ]);
        self.digests.push(digest);
    }

    /// The sequential-unit rule (TR §3) for a unit by an attestor of the
    /// round on duty: it must include the attestor's previous stable unit.
    /// A unit that does not eliminates its author (see the crate docs).
    fn check_sequential<BS: Blockstore>(
        &mut self,
        author: Address,
        j: &Judged<'_>,
        chain: &MainChain<BS>,
    ) -> Result<()> {
        if self.eliminated.contains_key(&author) || self.current().position(&author).is_none() {
            return Ok(());
        }
        if let Some(&previous) = self.last_unit.get(&author) {
            if !chain.dag().includes(j.su.num, previous) {
                self.eliminated.insert(author, j.mci);
                self.last_unit.remove(&author);
                return Err(Error::NonSequential {
                    author,
                    unit: Box::new(j.su.id),
                    previous: Box::new(chain.dag().id(previous).unwrap_or_default()),
                });
            }
        }
        self.last_unit.insert(author, j.su.num);
        Ok(())
    }

    fn apply<BS: Blockstore>(
        &mut self,
        j: &Judged<'_>,
        chain: &MainChain<BS>,
        batch: &mut Vec<PowCandidate>,
        events: &mut Vec<RoundEvent>,
    ) -> Result<()> {
        let (unit, su, mci) = (j.unit, j.su, j.mci);
        let round = self.current().round;
        if su.num == 0 {
            return Ok(()); // genesis
        }
        let kind = classify(unit)?;
        let Some(&author) = unit.unsigned.authors.first() else {
            return Ok(());
        };
        let consensus = matches!(kind, Kind::TrustMe(_) | Kind::Pow(_));
        if consensus && self.eliminated.contains_key(&author) {
            return Err(Error::Eliminated(author));
        }
        if let Err(e) = self.check_sequential(author, j, chain) {
            events.push(RoundEvent::Eliminated {
                attestor: author,
                unit: su.id,
                mci,
            });
            return Err(e);
        }
        let contract = match &kind {
            Kind::Deposit(p) if !p.withdraw => {
                if p.lock_rounds < self.params.silent_lock_rounds {
                    return Err(Error::LockTooShort {
                        got: p.lock_rounds,
                        min: self.params.silent_lock_rounds,
                    });
                }
                Some(deposit_address(&author))
            }
            _ => None,
        };
        // Payments first: a unit whose payments fail counts for nothing.
        let applied = self.ledger.apply_unit(su.id, unit, j.size, contract)?;
        match kind {
            Kind::Normal => Ok(()),
            Kind::Deposit(p) if p.withdraw => {
                let (payout, _) = self.deposits.withdraw(&author, round)?;
                let amount =
                    self.ledger
                        .release_contract(&deposit_address(&author), payout, su.id)?;
                events.push(RoundEvent::Withdrawn {
                    node: author,
                    payout,
                    amount,
                });
                Ok(())
            }
            Kind::Deposit(p) => {
                self.deposits
                    .open(author, &p, applied.to_contract, round, &self.params)
            }
            Kind::TrustMe(p) if round == 0 => {
                self.deposits.touch(&author, round);
                self.witness_trustme(author, p.round, j.on_mc)
            }
            Kind::TrustMe(p) => {
                self.deposits.touch(&author, round);
                if p.round < round {
                    return Err(Error::StaleRound {
                        round: p.round,
                        current: round,
                    });
                }
                let info = self.current();
                if p.round > round || (round > 1 && mci <= info.start_mci) {
                    return Err(Error::EarlyRound { round: p.round });
                }
                let idx = info.position(&author).ok_or(Error::NotAttestor {
                    author,
                    round: p.round,
                })?;
                // TR §4.6 (d): an attestor's first TrustME unit of round
                // i ≥ 3 carries the coinbase of round i − 2 (checked against
                // it on receipt).
                if self.first_judged.insert(author)
                    && round >= 3
                    && p.coinbase.is_none()
                    && p.coinbase_hash.is_none()
                {
                    return Err(Error::MissingCoinbase { round, author });
                }
                if j.on_mc {
                    let prev_coinbase = self
                        .coinbase(round.saturating_sub(1))
                        .ok_or(Error::RoundNotKnown { round: round - 1 })?;
                    let hash = coinbase_hash(&prev_coinbase)?;
                    let info = self.rounds.last_mut().ok_or(Error::RoundZero)?;
                    info.trustme_counts[idx] += 1;
                    if info.first_trustme.is_none() {
                        let digest = tau_dag::id::digest_of(&su.id)
                            .ok_or_else(|| Error::MissingUnit(Box::new(su.id)))?;
                        let seed = pub_seed(&info.pub_seed, &hash, &digest);
                        info.first_trustme = Some(su.id);
                        info.next_pub_seed = Some(seed);
                        events.push(RoundEvent::SeedKnown {
                            round: round + 1,
                            pub_seed: seed,
                            bits: info.next_bits,
                        });
                    }
                }
                Ok(())
            }
            Kind::Pow(p) => {
                self.check_after_switch(su, chain)?;
                if p.round <= round {
                    return Err(Error::StaleRound {
                        round: p.round,
                        current: round,
                    });
                }
                let ctx = self
                    .pow_context(p.round)
                    .ok_or(Error::RoundNotKnown { round: p.round })?;
                p.check(&author_key(unit)?, &ctx, &self.params)?;
                let deposit = self.deposits.balance(&author);
                if deposit < self.params.min_deposit {
                    return Err(Error::InsufficientDeposit {
                        author,
                        deposit,
                        min: self.params.min_deposit,
                    });
                }
                let digest = tau_dag::id::digest_of(&su.id)
                    .ok_or_else(|| Error::MissingUnit(Box::new(su.id)))?;
                batch.push(PowCandidate {
                    mci,
                    digest,
                    id: su.id,
                    author,
                });
                Ok(())
            }
        }
    }

    /// A TrustME unit of the witness phase (TR §5.2): it must be of round
    /// 0, by a witness; on the main chain it counts (no reward, no seed).
    fn witness_trustme(&mut self, author: Address, round: u64, on_mc: bool) -> Result<()> {
        if round != 0 {
            return Err(Error::EarlyRound { round });
        }
        let cur = self.rounds.len() - 1;
        let idx = self.rounds[cur]
            .position(&author)
            .ok_or(Error::NotAttestor { author, round: 0 })?;
        if on_mc {
            self.rounds[cur].trustme_counts[idx] += 1;
        }
        Ok(())
    }

    /// During the witness phase, a PoW unit for round 1 counts only if it
    /// includes the MC unit at the switch MCI (its LIMCI reaches it).
    fn check_after_switch<BS: Blockstore>(
        &self,
        su: &tau_mainchain::StableUnit,
        chain: &MainChain<BS>,
    ) -> Result<()> {
        let Some(phase) = self.genesis.witness_phase.as_ref() else {
            return Ok(());
        };
        if self.current().round != 0 {
            return Ok(());
        }
        let switch_mci = phase.switch_mci;
        let limci = chain.limci(su.num).unwrap_or(0);
        if limci < switch_mci {
            return Err(Error::PowBeforeSwitch { limci, switch_mci });
        }
        Ok(())
    }

    fn switch(
        &mut self,
        mci: u64,
        timestamp_ms: u64,
        mc_unit: Cid,
        attestors: Vec<Attestor>,
    ) -> Result<RoundEvent> {
        let params = &self.params;
        let cur = self.rounds.len() - 1;
        let info = &self.rounds[cur];
        let counts: Vec<(Address, u64)> = info
            .attestors
            .iter()
            .zip(&info.trustme_counts)
            .skip(params.foundation_attestors)
            .map(|(a, &c)| (self.deposits.reward_address(&a.address), c))
            .collect();
        // The reward is the round's issuance and the fees of its stable
        // units; the witness phase issues nothing and rewards no one, its
        // fees go to the foundation (TR §5.2).
        let phase = info.round == 0;
        let issuance = if phase {
            0
        } else {
            round_issuance(params, info.round)
        };
        let reward = issuance
            .checked_add(self.ledger.pool())
            .ok_or(Error::AmountOverflow)?;
        let counts = if phase { Vec::new() } else { counts };
        let coinbase = if phase && reward == 0 {
            Coinbase::new()
        } else {
            split_reward(
                reward,
                &counts,
                self.genesis.foundation_reward,
                params.attestor_share_bps,
            )
        };
        let pub_seed = info.next_pub_seed.ok_or(Error::RoundNotKnown {
            round: info.round + 1,
        })?;
        let secs = i64::try_from(timestamp_ms / 1000)
            .unwrap_or(i64::MAX)
            .max(info.start_secs);
        let bits = info.next_bits;
        // The witness phase (round 0) had no PoW competition: not history.
        let mut history: Vec<(i64, u32)> = self
            .rounds
            .iter()
            .filter(|r| r.round > 0)
            .map(|r| (r.start_secs, r.bits))
            .collect();
        history.push((secs, bits));
        let next = next_bits(&history, params)?;
        let round = info.round + 1;
        let addresses: Vec<Address> = attestors.iter().map(|a| a.address).collect();
        self.ledger.credit_coinbase(mc_unit, &coinbase, issuance)?;
        self.last_unit.retain(|a, _| addresses.contains(a));
        self.first_judged.clear();
        self.rounds[cur].end_mci = Some(mci);
        self.rounds[cur].coinbase = Some(coinbase.clone());
        self.rounds.push(RoundInfo {
            round,
            start_mci: mci,
            end_mci: None,
            trustme_counts: vec![0; attestors.len()],
            attestors,
            pub_seed,
            bits,
            start_secs: secs,
            next_bits: next,
            first_trustme: None,
            next_pub_seed: None,
            candidates: Vec::new(),
            coinbase: None,
        });
        Ok(RoundEvent::Switched {
            round,
            mci,
            attestors: addresses,
            coinbase,
        })
    }
}

impl Attestors for Rounds {
    fn is_attestor(&self, round: u64, address: &Address) -> bool {
        self.get(round)
            .is_some_and(|r| r.position(address).is_some())
    }

    fn majority(&self, round: u64) -> usize {
        // Units of unknown rounds never reach the DAG (they wait); no one
        // attests them.
        self.get(round)
            .map_or(usize::MAX / 2, |r| majority(r.attestors.len()))
    }
}
