//! # tau-trustme
//!
//! TrustME-PoW, the second tier of TrustNote's consensus (TR-2018-02 §2, §4,
//! §5; `specs/trustme.md` §4–§8): deposits, seeds, PoW units carrying full
//! Equihash solutions, attestor selection, round switching, TrustME units,
//! rewards, difficulty per round, and a deterministic network simulator.
//!
//! * [`Rounds`] is fed each newly stable MCI of a
//!   [`MainChain`](tau_mainchain::MainChain) and implements
//!   [`tau_dag::Attestors`] per round; every rule is a pure function of the
//!   stable prefix, so replicas agree on rounds, attestors and rewards.
//! * [`Replica`] wires a DAG, its main chain and the rounds together.
//! * [`sim`] runs N super nodes over a seeded network model.
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

#![warn(missing_docs)]

mod attestors;
mod codec;
mod deposit;
mod difficulty;
mod error;
mod issuance;
mod node;
mod params;
mod pow_unit;
mod reward;
mod round;
mod seed;
pub mod sim;
mod trustme_unit;
mod validate;

pub use attestors::{majority, select_attestors, Attestor, PowCandidate};
pub use deposit::{deposit_address, Deposit, DepositPayload, Deposits};
pub use difficulty::next_bits;
pub use error::{Error, Result};
pub use issuance::{round_issuance, TR_ISSUANCE_MN};
pub use node::{Received, Replica};
pub use params::{Genesis, Params, NOTES_PER_MN};
pub use pow_unit::{mine, PowContext, PowPayload};
pub use reward::{split_reward, Coinbase, CoinbaseEntry};
pub use round::{RoundEvent, RoundInfo, Rounds};
pub use seed::{coinbase_hash, node_seed, pub_seed};
pub use trustme_unit::{may_send, TrustMePayload};
pub use validate::{author_key, check_stateless, classify, Kind};
