//! # tau-dag
//!
//! The TrustME DAG (TR-2018-02 §3, `docs/src/trustme.md` "The DAG"): units, levels,
//! attestation levels, best parents, free units, parent choice for new units,
//! an orphan pool, persistence through the [`Blockstore`](tau_ipld::Blockstore).
//!
//! * [`Unit`]: version, round, timestamp, parents (strictly ascending by id,
//!   1..=16, none including another), authors with 65-byte signatures,
//!   typed [`Message`]s. Strict DAG-CBOR; the id is the CID ([`id`]).
//! * [`Dag::insert`] validates a unit against the DAG and computes its level,
//!   best parent and attestation level for the attestors of its round, which
//!   the caller supplies through [`Attestors`] (tau-trustme, per round).
//! * The index is dense arrays indexed by [`UnitNum`]; attestation levels cost
//!   O(attestors) per unit (see [`level`](crate#attestation-level)).
//!
//! ## Attestation level
//!
//! Walk the best-parent chain until more than half of the round's attestors
//! have a TrustME unit on it; the level of that unit is the attestation level
//! (genesis stops every walk at 0). A TrustME unit's own authors count, found
//! at its best parent's level (TR and TrustNote; Obyte's rule, which never
//! counts the unit itself, is `Params::count_own_attestation = false`).
//!
//! ```
//! use tau_dag::{Dag, FixedAttestors, Message, Params, UnsignedUnit};
//! use tau_ipld::MemoryBlockstore;
//! use tau_keys::Keypair;
//!
//! let keys: Vec<Keypair> = (1..=3u8).map(|i| Keypair::from_bytes(&[i; 32]).unwrap()).collect();
//! let attestors = FixedAttestors::new(keys.iter().map(|k| k.address())); // majority 2
//! let params = Params::devnet();
//! let unit = |parents, key: &Keypair, msg| {
//!     UnsignedUnit {
//!         version: 1, round: 1, timestamp: 0, parents,
//!         authors: vec![key.address()], messages: vec![msg],
//!     }
//!     .sign(&[key]).unwrap().verify(&params).unwrap()
//! };
//! let genesis = unit(vec![], &keys[0], Message::Data(b"genesis".to_vec()));
//! let mut dag = Dag::new(MemoryBlockstore::new(), params.clone(), genesis)?;
//!
//! // G <- T1(A) <- T2(B): T2 sees A and B, a majority, at T1's level.
//! let t1 = unit(dag.choose_parents(), &keys[0], Message::TrustMe(vec![]));
//! let n1 = dag.insert(t1, &attestors)?.accepted[0].num;
//! let t2 = unit(dag.choose_parents(), &keys[1], Message::TrustMe(vec![]));
//! let n2 = dag.insert(t2, &attestors)?.accepted[0].num;
//! assert_eq!(dag.level(n2), Some(2));
//! assert_eq!(dag.attestation_level(n1), Some(0));
//! assert_eq!(dag.attestation_level(n2), Some(1));
//! assert_eq!(dag.best_parent(n2), Some(n1));
//! assert_eq!(dag.best_free(), Some(n2));
//! # Ok::<(), tau_dag::Error>(())
//! ```

mod attestors;
mod best_parent;
mod dag;
mod error;
pub mod id;
mod id_table;
mod level;
mod message;
mod orphans;
mod params;
mod store;
mod unit;

pub use attestors::{AnyAuthor, Attestors, FixedAttestors};
pub use dag::{Accepted, Admit, BestChildren, Candidate, Dag, Insertion, UnitNum};
pub use error::{Error, Result};
pub use message::{Input, Message, Output, Payment};
pub use params::Params;
pub use store::DagRoot;
pub use unit::{Unit, UnsignedUnit, VerifiedUnit};

// The README's example, compiled and run as a doctest.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
