//! # tau-hamt
//!
//! An IPLD HAMT (hash array mapped trie) whose blocks and root CIDs are
//! byte-identical to the Filecoin HAMT v3 as written by `fvm_ipld_hamt` 0.10
//! and go-hamt-ipld v3: DAG-CBOR nodes `[bitfield, pointers]` addressed by
//! BLAKE2b-256 CIDv1, SHA-256 key index, buckets of 3, canonical CHAMP shape
//! (insertion order never changes the root). The format is specified in
//! `docs/src/formats/hamt.md` of this repository.
//!
//! Beyond the reference crate it offers diffs between two roots ([`diff()`]), Merkle proofs
//! of presence or absence that verify without a store, resumable iteration,
//! and the key-path stepping ([`path`]) a Graphsync traversal of a map uses.
//! Blocks live in any [`tau_ipld::Blockstore`] (memory, redb, a quarantine):
//! every block read through it is checked against its CID, and every node is
//! validated when loaded.
//!
//! ```
//! use tau_hamt::{Config, Hamt};
//! use tau_ipld::MemoryBlockstore;
//!
//! let store = MemoryBlockstore::new();
//! let mut balances: Hamt<_, u64> = Hamt::new_with_config(&store, Config::default());
//! balances.set(b"alice", 100)?;
//! balances.set(b"bob", 5)?;
//! let root = balances.flush()?;
//!
//! // Anyone holding the blocks and the root sees the same map.
//! let reloaded: Hamt<_, u64> = Hamt::load(&store, &root)?;
//! assert_eq!(reloaded.get(b"alice")?, Some(100));
//! assert_eq!(reloaded.len()?, 2);
//!
//! // A light client checks a balance against the root alone, with no store.
//! let proof = balances.prove(b"alice")?;
//! let config = Config::default();
//! assert_eq!(tau_hamt::verify_proof::<u64>(&root, b"alice", &proof, &config)?, Some(100));
//! # Ok::<(), tau_hamt::Error>(())
//! ```

mod bitfield;
mod bucket;
mod bulk;
mod cached_tree;
mod config;
mod diff;
mod error;
mod hamt;
mod hash_bits;
mod iter;
mod node;
pub mod path;
mod prepared_key;
mod proof;
pub mod vectors;

pub use cached_tree::CachedTree;
pub use cid::Cid;
pub use config::{Config, ConfigBuilder, KeyHash};
pub use diff::{diff, diff_encoded, Change};
pub use error::{Error, Result};
pub use hamt::Hamt;
pub use iter::{Cursor, Iter, RawIter};
pub use prepared_key::PreparedKey;
pub use proof::{prove, verify_proof, verify_proof_encoded, Proof};

// The README's example, compiled and run as a doctest.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
