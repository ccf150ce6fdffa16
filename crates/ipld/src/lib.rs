//! # tau-ipld
//!
//! The foundation every TAU crate stores and addresses data with: blocks and
//! their CIDs ([`block`]), the [`Blockstore`] trait with its memory
//! ([`MemoryBlockstore`]), persistent ([`RedbBlockstore`]) and quarantine
//! ([`Quarantine`]) stores, strict DAG-CBOR for signed chain objects
//! ([`canonical`]) and the one in-place DAG-CBOR head reader and writer
//! ([`cbor`]), and its own [`Error`].
//!
//! tau-hamt builds its map on these; tau-dag, tau-state, tau-graphsync,
//! tau-attach and tau-node use them directly, without the map.
//!
//! Features: `redb` (default) adds the persistent [`RedbBlockstore`] and its
//! mark-and-sweep garbage collection; without it the crate has no database
//! dependency (a wallet or light client needs only the memory store).
//!
//! Every block this workspace writes is addressed by a BLAKE2b-256 CIDv1, as
//! Filecoin does; [`Blockstore::get`] hashes every block it hands out, so a
//! corrupted disk or a lying peer is an error, never data.
//!
//! ```
//! use tau_ipld::block::{cid_of, RAW};
//! use tau_ipld::{Blockstore, MemoryBlockstore};
//!
//! let store = MemoryBlockstore::new();
//! let cid = store.put(RAW, b"hello")?;
//! assert_eq!(cid, cid_of(RAW, b"hello"));
//! assert_eq!(store.get(&cid)?.as_deref(), Some(&b"hello"[..]));
//!
//! // Bytes stored under a CID they do not hash to are never handed out.
//! let lie = cid_of(RAW, b"something else");
//! store.put_keyed(&lie, b"hello")?;
//! assert!(matches!(store.get(&lie), Err(tau_ipld::Error::CidMismatch { .. })));
//! # Ok::<(), tau_ipld::Error>(())
//! ```

pub mod block;
pub mod blockstore;
pub mod canonical;
pub mod cbor;
pub mod cid_as_bytes;
mod error;
pub mod keyed_hash;

#[cfg(feature = "redb")]
pub use blockstore::RedbBlockstore;
pub use blockstore::{
    Blockstore, BlockstoreExt, ByteBudget, MemoryBlockstore, Quarantine, SharedStore,
};
pub use cid::Cid;
pub use error::{Error, Result};

// The README's example, compiled and run as a doctest.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
