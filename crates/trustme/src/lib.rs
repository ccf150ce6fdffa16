//! # tau-trustme
//!
//! TrustME-PoW, the second tier of TrustNote's consensus (TR-2018-02 §2, §4,
//! §5; `docs/src/trustme.md`): deposits, seeds, PoW units carrying full
//! Equihash solutions, attestor selection, round switching, TrustME units,
//! rewards, difficulty per round, and a deterministic network simulator.
//!
//! * [`Rounds`] is fed each newly stable MCI of a
//!   [`MainChain`](tau_mainchain::MainChain) and implements
//!   [`tau_dag::Attestors`] per round; every rule is a pure function of the
//!   stable prefix, so replicas agree on rounds, attestors and rewards.
//! * [`Ledger`] (owned by [`Rounds`]) holds unspent outputs and balances at
//!   the stable point: payments judged in the total order (inputs owned by an
//!   author, commissions covered), fees and coinbases paid, deposits held at
//!   their contract; supply = genesis + issuance.
//! * [`Replica`] wires a DAG, its main chain and the rounds together, and
//!   serves and checks catch-up proofs ([`Replica::catchup_proof`],
//!   [`Replica::apply_catchup`]).
//! * A replica kept in a [`RootStore`] (the redb store with the `redb`
//!   feature, on by default) survives a crash: [`Replica::create`],
//!   [`Replica::open`] and the log described in [`persist`].
//! * [`Producer`] is a super node's unit production, driven by a clock and
//!   a replica: when to send a TrustME unit (the TR §4.6 take-over) and what
//!   it carries, which round to mine a PoW unit for, signed units on the
//!   replica's view. It reads no clock and draws no randomness.
//! * [`sim`] runs N super nodes (one [`Producer`] each) over a seeded
//!   network model.
//!
//! ## TR-2018-02 vs this code
//!
//! * Units of a round a replica does not know yet (or PoW units whose seed
//!   it does not know) wait outside the DAG; checks that depend only on a
//!   known round (attestor membership, priority, electing PoW unit, coinbase
//!   of round − 2, seed, bits, target) reject at receipt. Checks that depend
//!   on order (sequential units, payments, stale round, duplicate PoW,
//!   deposit, the coinbase in an attestor's first unit of a round) are judged
//!   when the unit becomes stable: it stays in the DAG, counts for nothing
//!   and restarts its author's deposit lock.
//! * Sequential units (TR §3) are judged in the total order: an attestor's
//!   stable unit that does not include its previous stable unit eliminates
//!   the attestor; its TrustME and PoW units count for nothing from there on
//!   ([`RoundEvent::Eliminated`]). Attestation levels are not changed (they
//!   are fixed on arrival), so an equivocating attestor still weighs on
//!   stabilization: see `docs/src/trustme.md`, "Sequential units".
//! * A PoW unit made in round i has unit round i and payload round i+1.
//! * A TrustME unit of round R counts only with an MCI in (start(R), end(R)].
//! * A round's reward is its issuance plus the fees of its stable units (a
//!   unit's commission is its encoded size in notes); attestors split 90 %
//!   by stable MC TrustME units, the foundation's units do not count, the
//!   foundation gets 10 % plus every remainder.
//! * The issuance table is a geometric decay meeting the TR's two numbers
//!   (Figure 2-1's values are not in the text): see [`TR_ISSUANCE_MN`].
//! * Deposits are funded by payments to [`deposit_address`] in the deposit
//!   unit, accepted by the [`Ledger`]; the contract's outputs move only by a
//!   withdrawal.
//! * The TR's 5-second take-over is a sending schedule ([`may_send`]), not a
//!   validity rule: time is not verifiable from the DAG.
//! * A replica whose stable point falls behind a round switch while it
//!   holds a long alt branch (the minority after a partition that spans a
//!   switch) cannot pass the switch by the stabilization rule: the units
//!   that would make the switch MCI stable belong to a round whose attestors
//!   it learns only from that MCI. It catches up as TrustNote and Obyte do:
//!   a peer sends the stable main chain with proofs ([`CatchupProof`]:
//!   per MCI, TrustME units by a majority of the round's attestors built on
//!   the MC unit), checked round by round and adopted by
//!   [`MainChain::adopt_stable`](tau_mainchain::MainChain::adopt_stable).
//!   Witnesses are a majority of attestors built on the MC unit (Obyte's
//!   light-client criterion), not a replay of the full stabilization rule.
//!
//! ```
//! use tau_trustme::{split_reward, round_issuance, pub_seed, Params};
//! use tau_keys::Address;
//!
//! let params = Params::mainnet();
//! assert_eq!((params.foundation_attestors, params.pow_attestors), (2, 18));
//! // Round 1's reward, 90 % by share of stable MC TrustME units, 10 % and
//! // the remainders to the foundation: the list sums to the total exactly.
//! let total = round_issuance(&params, 1);
//! let (a, b, f) = (Address::new([1; 20]), Address::new([2; 20]), Address::new([3; 20]));
//! let list = split_reward(total, &[(a, 2), (b, 1)], f, params.attestor_share_bps);
//! assert_eq!(list.iter().map(|e| e.amount).sum::<u64>(), total);
//! // pubSeed chain (TR §4.3).
//! let s2 = pub_seed(&[0; 32], &[1; 32], &[2; 32]);
//! assert_ne!(s2, [0; 32]);
//! ```

mod attestors;
mod catchup;
mod deposit;
mod difficulty;
mod error;
mod issuance;
mod ledger;
mod params;
pub mod persist;
mod pow_unit;
mod producer;
mod replica;
mod reward;
mod round;
mod seed;
pub mod sim;
mod trustme_unit;
mod validate;

pub use attestors::{majority, select_attestors, Attestor, PowCandidate};
pub use catchup::{CatchupProof, CatchupRequest, ProofStep};
pub use deposit::{deposit_address, Deposit, DepositPayload, Deposits};
pub use difficulty::next_bits;
pub use error::{Error, Result};
pub use issuance::{round_issuance, TR_ISSUANCE_MN};
pub use ledger::{Applied, Ledger, COINBASE_OUTPUTS, GENESIS_DEPOSIT_OUTPUTS, WITHDRAWAL_OUTPUTS};
pub use params::{Genesis, Params, WitnessPhase, NOTES_PER_MN};
pub use persist::RootStore;
pub use pow_unit::{mine, PowContext, PowPayload};
pub use producer::{build_unit, LastSeen, Producer};
pub use replica::{Replica, UnitDelivery};
pub use reward::{split_reward, Coinbase, CoinbaseEntry};
pub use round::{RoundEvent, RoundInfo, Rounds};
pub use seed::{coinbase_hash, node_seed, pub_seed};
pub use trustme_unit::{may_send, TrustMePayload};
pub use validate::{author_key, check_stateless, classify, Kind};

// The README's example, compiled and run as a doctest.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
