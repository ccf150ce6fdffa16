//! # tau-mainchain
//!
//! The main chain of a TrustME DAG (TR-2018-02 §3.2–3.4,
//! `docs/src/trustme.md` "The main chain"): the current main chain from the best free
//! unit, main chain indexes of MC units and of every unit, LIMCI, and
//! stabilization advanced **incrementally** as each unit arrives. Each newly
//! stable MCI is reported with its units in total order (MCI, level, id);
//! tau-trustme hooks in there. Double spends are resolved by that order.
//!
//! A stable MC unit never changes: a unit that would become a tip whose
//! chain leaves the main chain below the stable point is refused with
//! [`Error::StableRewrite`] (not a rewrite) and nothing changes.
//!
//! A replica that fell behind may mark the next MC unit stable on a proof it
//! checked itself ([`MainChain::adopt_stable`]); that moves only the stable
//! point, never the main chain.
//!
//! ```
//! use tau_dag::{Dag, FixedAttestors, Message, UnsignedUnit};
//! use tau_ipld::MemoryBlockstore;
//! use tau_keys::Keypair;
//! use tau_mainchain::{MainChain, Params};
//!
//! let keys: Vec<Keypair> = (1..=3u8).map(|i| Keypair::from_bytes(&[i; 32]).unwrap()).collect();
//! let attestors = FixedAttestors::new(keys.iter().map(|k| k.address())); // majority 2
//! let dag_params = tau_dag::Params::devnet();
//! let unit = |parents, key: &Keypair| {
//!     UnsignedUnit {
//!         version: 1, round: 1, timestamp: 0, parents,
//!         authors: vec![key.address()], messages: vec![Message::TrustMe(vec![])],
//!     }
//!     .sign(&[key]).unwrap().verify(&dag_params).unwrap()
//! };
//! let genesis = unit(vec![], &keys[0]);
//! let dag = Dag::new(MemoryBlockstore::new(), dag_params.clone(), genesis)?;
//! let (mut chain, _) = MainChain::new(dag, Params::mainnet())?;
//!
//! // Attestors A, B, C take turns on one chain: G <- T1 <- ... <- T6.
//! let mut stable = Vec::new();
//! for i in 0..6 {
//!     let next = unit(chain.dag().choose_parents(), &keys[i % 3]);
//!     for event in chain.insert(next, &attestors)?.stabilized {
//!         stable.push(event.mci);
//!     }
//! }
//! // T6 has attestation level 5; min AL over T5, T6 is 4 > level(T3) = 3.
//! assert_eq!(chain.main_chain().len(), 7);
//! assert_eq!(chain.last_stable_mci(), 3);
//! assert_eq!(stable, vec![1, 2, 3]);
//! # Ok::<(), tau_mainchain::Error>(())
//! ```

mod adopt;
mod chain;
mod error;
mod mci;
mod order;
mod params;
mod stability;
mod store;

pub use chain::{MainChain, Update};
pub use error::{Error, Result};
pub use order::{StableMci, StableUnit};
pub use params::{Params, StabilityRule};
pub use store::MainChainRoot;
pub use tau_dag::UnitNum;

// The README's example, compiled and run as a doctest.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
