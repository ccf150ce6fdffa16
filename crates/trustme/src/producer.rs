//! A super node's unit production, driven by a clock and a replica: when to
//! send a TrustME unit (TR-2018-02 §4.6 take-over), what it carries, which
//! round to mine a PoW unit for, and building signed units on the replica's
//! view.
//!
//! [`Producer`] holds the node's key and its sending state; every call is
//! given the time in ms and the node's [`Replica`]. It reads no clock and
//! draws no randomness (the caller passes e.g. the first nonce), so the same
//! calls give the same units. The caller delivers what it returns to its own
//! replica and to the network, and tells the producer what its replica
//! accepted ([`Producer::observe`]).

use std::collections::BTreeSet;

use tau_dag::{Message, Unit, UnsignedUnit, VerifiedUnit};
use tau_ipld::Blockstore;
use tau_keys::{Address, Keypair};

use cid::Cid;

use crate::attestors::majority;
use crate::pow_unit::{mine, PowContext, PowPayload};
use crate::replica::{Replica, UnitDelivery};
use crate::round::Rounds;
use crate::seed::coinbase_hash;
use crate::trustme_unit::{may_send, TrustMePayload};
use crate::Result;

/// The last TrustME unit of a round a producer knows of: whose and when.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LastSeen {
    /// The round.
    pub round: u64,
    /// Priority index (0-based) of its author; `None` when none was seen
    /// since the round started here.
    pub author: Option<usize>,
    /// When it was seen (or when the round started here), in ms.
    pub at_ms: u64,
}

/// A super node's unit production (TrustME units, PoW units, data units),
/// driven by a clock and a replica.
///
/// * [`attest`](Self::attest) decides by the take-over schedule
///   ([`may_send`], [`Params::takeover_ms`](crate::Params::takeover_ms))
///   whether the node sends a TrustME unit now, and builds and signs it.
/// * [`observe`](Self::observe) tells it which units the replica accepted
///   (who attested last).
/// * [`mining_job`](Self::mining_job) hands out, once per round, what to
///   mine a PoW unit for; [`pow_unit`](Self::pow_unit) turns a solution into
///   a signed unit; [`mine`](Self::mine) does both steps' search inline.
/// * [`make_unit`](Self::make_unit) builds any unit on the replica's view.
///
/// ```
/// use tau_dag::{Message, UnsignedUnit};
/// use tau_ipld::MemoryBlockstore;
/// use tau_keys::Keypair;
/// use tau_trustme::{Genesis, Params, Producer, Replica};
///
/// // A devnet of one foundation node and four super nodes, as the simulator builds it.
/// let params = Params::tiny();
/// let keys: Vec<Keypair> = (1..=5u8)
///     .map(|i| Keypair::from_bytes(&[i; 32]))
///     .collect::<Result<_, _>>()?;
/// let genesis = Genesis {
///     foundation: vec![keys[0].address()],
///     foundation_reward: keys[0].address(),
///     initial_attestors: keys[1..].iter().map(|k| k.address()).collect(),
///     pub_seed: [7; 32],
///     deposits: keys[1..].iter().map(|k| (k.address(), params.min_deposit)).collect(),
///     witness_phase: None,
/// };
/// let dag_params = tau_dag::Params::devnet();
/// let genesis_unit = UnsignedUnit {
///     version: dag_params.version,
///     round: 1,
///     timestamp: 0,
///     parents: vec![],
///     authors: vec![keys[0].address()],
///     messages: vec![Message::Data(b"genesis".to_vec())],
/// }
/// .sign(&[&keys[0]])?
/// .verify(&dag_params)?;
/// let mut replica = Replica::new(
///     MemoryBlockstore::new(),
///     dag_params,
///     tau_mainchain::Params::mainnet(),
///     params.clone(),
///     genesis,
///     genesis_unit,
/// )?;
///
/// // The second attestor waits for the first one's unit...
/// let mut second = Producer::new(keys[1].clone());
/// assert!(second.attest(&replica, 100)?.is_none());
/// // ...which sends at once; its replica takes it in, the second sees it.
/// let mut first = Producer::new(keys[0].clone());
/// let unit = first.attest(&replica, 100)?.ok_or(tau_trustme::Error::InvalidParams("no unit"))?;
/// let delivery = replica.receive(unit)?;
/// second.observe(&replica, &delivery, 150)?;
/// // Now it is the second one's turn.
/// assert!(second.attest(&replica, 160)?.is_some());
/// # Ok::<(), tau_trustme::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct Producer {
    key: Keypair,
    last_seen: LastSeen,
    /// The round of the last TrustME unit this node sent (`None`: none yet;
    /// round 0 is the witness phase).
    sent_round: Option<u64>,
    /// The other attestors (priority indices) whose TrustME units of
    /// `sent_round` this node saw since it last sent one.
    heard_since_sent: BTreeSet<usize>,
    /// The last round a mining job was handed out for.
    mined_for: u64,
    /// The last unit this node made: each of its units includes it.
    last_made: Option<Cid>,
}

impl Producer {
    /// A producer for the node with `key`, as at genesis: round 1 started at
    /// time 0 and nothing sent or mined yet. A node that starts later moves
    /// to its replica's round at its first [`attest`](Self::attest).
    pub fn new(key: Keypair) -> Self {
        Self {
            key,
            last_seen: LastSeen {
                round: 1,
                author: None,
                at_ms: 0,
            },
            sent_round: None,
            heard_since_sent: BTreeSet::new(),
            mined_for: 0,
            last_made: None,
        }
    }

    /// The node's key.
    pub fn key(&self) -> &Keypair {
        &self.key
    }

    /// The node's address.
    pub fn address(&self) -> Address {
        self.key.address()
    }

    /// The last TrustME unit of the current round this producer knows of.
    pub fn last_seen(&self) -> LastSeen {
        self.last_seen
    }

    /// The last round a mining job was handed out for (0: none yet).
    pub fn mined_for(&self) -> u64 {
        self.mined_for
    }

    /// Takes note of what a delivery to `replica` accepted: the last TrustME
    /// unit of the current round (by its author's priority) and when, for
    /// the sending schedule. Reads the accepted TrustME units back from the
    /// replica's DAG; a caller that holds them can use
    /// [`observe_units`](Self::observe_units) instead.
    pub fn observe<BS: Blockstore>(
        &mut self,
        replica: &Replica<BS>,
        delivery: &UnitDelivery,
        now_ms: u64,
    ) -> Result<()> {
        let dag = replica.chain().dag();
        let mut units = Vec::new();
        for id in &delivery.accepted {
            if dag.num(id).is_some_and(|n| dag.is_attestation(n)) {
                if let Some(unit) = dag.unit(id)? {
                    units.push(unit);
                }
            }
        }
        self.observe_units(replica.rounds(), &units, now_ms);
        Ok(())
    }

    /// [`observe`](Self::observe) given the accepted units themselves, in
    /// the order they were accepted; `rounds` is the replica's state after
    /// the delivery. Units that are not TrustME units of the current round
    /// by one of its attestors are ignored.
    pub fn observe_units<'a>(
        &mut self,
        rounds: &Rounds,
        units: impl IntoIterator<Item = &'a Unit>,
        now_ms: u64,
    ) {
        let current = rounds.current();
        for unit in units {
            if !unit.is_attestation() || unit.unsigned.round != current.round {
                continue;
            }
            let author = unit.unsigned.authors.first();
            if let Some(idx) = author.and_then(|a| current.position(a)) {
                if author != Some(&self.key.address()) {
                    self.heard_since_sent.insert(idx);
                }
                self.last_seen = LastSeen {
                    round: current.round,
                    author: Some(idx),
                    at_ms: now_ms,
                };
            }
        }
    }

    /// The TrustME step at time `now_ms`: if this node is an attestor of
    /// `replica`'s current round and the take-over schedule lets it send now
    /// (the attestor after the last one seen sends at once, the others after
    /// [`Params::takeover_ms`](crate::Params::takeover_ms) of silence per two
    /// places, see [`may_send`]; after sending, a node waits for TrustME
    /// units of this round from a majority − 1 of the other attestors, so
    /// every present attestor gets its turn), builds and signs its
    /// TrustME unit on the replica's view and returns it. The caller delivers
    /// it to its replica and to the network.
    ///
    /// The unit carries the round, the attestor's 1-based priority and its
    /// electing PoW unit; its first TrustME unit of a round ≥ 3 also carries
    /// the coinbase of round − 2: the full list from priority 1, its hash
    /// from the others. Replicas count an attestor's first stable TrustME
    /// unit of a round ≥ 3 without it for nothing
    /// ([`Error::MissingCoinbase`](crate::Error::MissingCoinbase)).
    pub fn attest<BS: Blockstore>(
        &mut self,
        replica: &Replica<BS>,
        now_ms: u64,
    ) -> Result<Option<VerifiedUnit>> {
        let rounds = replica.rounds();
        let current = rounds.current();
        let Some(me) = current.position(&self.address()) else {
            return Ok(None);
        };
        let round = current.round;
        if self.last_seen.round != round {
            self.last_seen = LastSeen {
                round,
                author: None,
                at_ms: now_ms,
            };
        }
        let n = current.attestors.len();
        let LastSeen { author, at_ms, .. } = self.last_seen;
        let expected = author.map_or(0, |last| (last + 1) % n);
        let silent = now_ms.saturating_sub(at_ms);
        // Once per turn of the present attestors: after sending, wait for
        // units from majority − 1 others. Without it, with just a majority
        // present, two attestors whose take-over delays are shorter can
        // answer each other forever while a third, whose delay is longer,
        // never gets the silence it waits for, and nothing becomes stable.
        let heard =
            self.sent_round != Some(round) || self.heard_since_sent.len() + 1 >= majority(n);
        if !heard || !may_send(me, expected, n, silent, rounds.params().takeover_ms) {
            return Ok(None);
        }
        let coinbase = if round >= 3 && self.sent_round != Some(round) {
            rounds.coinbase(round - 2)
        } else {
            None
        };
        let (full, hash) = match coinbase {
            Some(c) if me == 0 => (Some(c), None),
            Some(c) => (None, Some(coinbase_hash(&c)?)),
            None => (None, None),
        };
        let payload = TrustMePayload {
            round,
            pow_unit: current.attestors.get(me).and_then(|a| a.pow_unit),
            priority: u32::try_from(me + 1).unwrap_or(u32::MAX),
            coinbase: full,
            coinbase_hash: hash,
        };
        let unit = self.make_unit(replica, now_ms, vec![Message::TrustMe(payload.encode()?)])?;
        self.sent_round = Some(round);
        self.heard_since_sent.clear();
        self.last_seen = LastSeen {
            round,
            author: Some(me),
            at_ms: now_ms,
        };
        Ok(Some(unit))
    }

    /// The mining step: what to mine a PoW unit for, once the next round's
    /// seed is known on `replica` and no job was handed out for that round
    /// yet (the round is marked, so each round is handed out once). `None`
    /// for a foundation node: it attests every round without PoW. The caller
    /// runs the Equihash search ([`crate::mine`]) where it likes and passes
    /// a solution to [`pow_unit`](Self::pow_unit).
    pub fn mining_job<BS: Blockstore>(&mut self, replica: &Replica<BS>) -> Option<PowContext> {
        let rounds = replica.rounds();
        if rounds.genesis().foundation.contains(&self.address()) {
            return None;
        }
        let ctx = rounds.pow_context(rounds.current().round + 1)?;
        if self.mined_for >= ctx.round {
            return None;
        }
        self.mined_for = ctx.round;
        Some(ctx)
    }

    /// [`mining_job`](Self::mining_job) and the search inline with `solver`
    /// (whose parameters must be the replica's `equihash`): nonces from
    /// `first_nonce`, at most `max_tries`. Returns the payload and the
    /// nonces tried, or `None` if there is no job or no solution was found.
    pub fn mine<BS: Blockstore>(
        &mut self,
        replica: &Replica<BS>,
        solver: &mut tau_pow::Solver,
        first_nonce: u32,
        max_tries: u32,
    ) -> Result<Option<(PowPayload, u32)>> {
        let Some(ctx) = self.mining_job(replica) else {
            return Ok(None);
        };
        let key = self.key.public_key();
        mine(
            solver,
            &key,
            &ctx,
            replica.rounds().params(),
            first_nonce,
            max_tries,
        )
    }

    /// A signed PoW unit carrying `payload`, if the payload still competes
    /// for the round after `replica`'s current one (`None` once that round
    /// has started: the solution came too late).
    pub fn pow_unit<BS: Blockstore>(
        &mut self,
        replica: &Replica<BS>,
        now_ms: u64,
        payload: &PowPayload,
    ) -> Result<Option<VerifiedUnit>> {
        if payload.round != replica.rounds().current().round + 1 {
            return Ok(None);
        }
        let msg = Message::PowEquihash(payload.encode()?);
        self.make_unit(replica, now_ms, vec![msg]).map(Some)
    }

    /// A unit by this node with `messages` on `replica`'s view: its parents
    /// ([`parents`](Self::parents)), its current round, timestamp `now_ms`;
    /// signed and checked.
    pub fn make_unit<BS: Blockstore>(
        &mut self,
        replica: &Replica<BS>,
        now_ms: u64,
        messages: Vec<Message>,
    ) -> Result<VerifiedUnit> {
        let dag = replica.chain().dag();
        let unit = build_unit(
            &self.key,
            dag.params(),
            replica.rounds().current().round,
            now_ms,
            self.parents(replica),
            messages,
        )?;
        self.last_made = Some(unit.id());
        Ok(unit)
    }

    /// The parents of this node's next unit: the DAG's choice
    /// ([`choose_parents`](tau_dag::Dag::choose_parents), the oldest free
    /// units), plus this node's last unit when none of them includes it.
    /// An attestor whose stable unit does not include its previous one is
    /// eliminated (sequential units), and peers can push any unit out of the
    /// DAG's choice by making older free units, so it is never left to that
    /// choice. The last unit is added in place of the newest chosen one when
    /// the choice is full; free units include no other unit, so the set
    /// stays valid.
    pub fn parents<BS: Blockstore>(&self, replica: &Replica<BS>) -> Vec<Cid> {
        let dag = replica.chain().dag();
        let mut parents = dag.choose_parents();
        let Some((last, at)) = self.last_made.and_then(|id| Some((id, dag.num(&id)?))) else {
            return parents;
        };
        let included = parents
            .iter()
            .any(|p| *p == last || dag.num(p).is_some_and(|n| dag.includes(n, at)));
        if included {
            return parents;
        }
        if parents.len() >= dag.params().max_parents {
            // The newest chosen unit: the largest number.
            let newest = parents
                .iter()
                .enumerate()
                .max_by_key(|(_, p)| dag.num(p))
                .map(|(i, _)| i);
            if let Some(i) = newest {
                parents.swap_remove(i);
            }
        }
        parents.push(last);
        parents.sort_unstable_by(|a, b| a.hash().digest().cmp(b.hash().digest()));
        parents
    }
}

/// A unit by `key` alone with the given round, timestamp, parents and
/// messages, signed and checked against `dag_params` (whose version it
/// carries).
pub fn build_unit(
    key: &Keypair,
    dag_params: &tau_dag::Params,
    round: u64,
    timestamp: u64,
    parents: Vec<Cid>,
    messages: Vec<Message>,
) -> Result<VerifiedUnit> {
    Ok(UnsignedUnit {
        version: dag_params.version,
        round,
        timestamp,
        parents,
        authors: vec![key.address()],
        messages,
    }
    .sign(&[key])?
    .verify(dag_params)?)
}
