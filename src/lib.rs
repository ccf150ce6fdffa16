//! # tau — TAU consensus in Rust
//!
//! Facade crate: it re-exports the workspace crates under short names so an
//! application can depend on one package. Each crate is also usable alone.
//! Modules other than `keys`, `ipld`, `hamt`, `state` and `mem` are behind
//! the cargo features below.
//!
//! | module | crate | what it holds |
//! |---|---|---|
//! | [`keys`] | `tau-keys` | secp256k1 keys, 20-byte addresses, 65-byte recoverable signatures |
//! | [`ipld`] | `tau-ipld` | blocks, CIDs, block stores (memory, redb, quarantine), strict DAG-CBOR |
//! | [`hamt`] | `tau-hamt` | Filecoin-compatible IPLD HAMT: proofs, diff, key paths |
//! | [`mem`] | `tau-mem` | zeroed buffers on huge pages where the OS offers them (the big random-access tables) |
//! | [`pow`] | `tau-pow` | Equihash solver and verification, compact-bits targets, retargeting |
//! | [`attach`] | `tau-attach` | TGZ attachments chunked into a HAMT, multi-peer resumable download, safe export, attachment logs |
//! | [`cbc`] | `tau-cbc` | validated peer chain views, the TAU vote rule, a Casper-CBC clique oracle, fork choice, process-B planner, simulator |
//! | [`graphsync`] | `tau-graphsync` | Graphsync v2 messages, selectors (with HAMT key paths), traversal, verifier, responder |
//! | [`dag`] | `tau-dag` | TrustME DAG: units, levels, attestation levels, best parents, orphans |
//! | [`mainchain`] | `tau-mainchain` | main chain, MCI, LIMCI, incremental stabilization, total order |
//! | [`trustme`] | `tau-trustme` | TrustME-PoW rounds, seeds, PoW units, attestors, rewards, difficulty, simulator |
//! | [`trustme_net`] | `tau-trustme-net` | TrustME-PoW super nodes over libp2p: units gossiped and fetched by id, checked before stored |
//! | [`state`] | `tau-state` | TAU accounts on the HAMT, transactions, blocks, Proof-of-Transaction, execution |
//! | [`node`] | `tau-node` | a TAU node on libp2p: processes A, B and C, persistence |
//!
//! ## Features
//!
//! The default turns everything on (`node`, `trustme` and `trustme-net`, and with them
//! every other feature), as the examples and benchmarks need. A wallet, which
//! signs transactions and checks balances against a state root, depends on
//! `tau = { version = "0.1", default-features = false }`: [`keys`], [`ipld`]
//! (memory and quarantine stores), [`hamt`] (proofs), [`state`]
//! (transactions, blocks, state proofs) and [`mem`], with no libp2p, tokio
//! or redb in its dependency graph (`.ci/check-features` checks that).
//!
//! | feature | adds | pulls |
//! |---|---|---|
//! | `redb` | `ipld::RedbBlockstore` and its garbage collection | redb |
//! | `pow` | [`pow`] | equihash |
//! | `cbc` | [`cbc`] | |
//! | `attach` | [`attach`] | tar, flate2 |
//! | `graphsync` | [`graphsync`] without its transport | |
//! | `net` | `graphsync::net`, the libp2p transport (implies `graphsync`) | libp2p, tokio |
//! | `dag`, `mainchain` | [`dag`], [`mainchain`] (`mainchain` implies `dag`) | |
//! | `trustme` | [`trustme`] (implies `mainchain`, `pow`) | |
//! | `trustme-net` | [`trustme_net`] (implies `trustme`) | libp2p, tokio |
//! | `node` | [`node`] (implies `cbc`, `attach`, `net`, `redb`) | libp2p, tokio, redb |
//!
//! ```
//! use tau::hamt::Hamt;
//! use tau::ipld::MemoryBlockstore;
//!
//! let store = MemoryBlockstore::new();
//! let mut map: Hamt<_, u64> = Hamt::new(&store);
//! map.set(b"alice".to_vec(), 10)?;
//! let root = map.flush()?;
//! let reloaded: Hamt<_, u64> = Hamt::load(&store, &root)?;
//! assert_eq!(reloaded.get(b"alice")?, Some(10));
//! # Ok::<(), tau::hamt::Error>(())
//! ```

#[cfg(feature = "attach")]
pub use tau_attach as attach;
#[cfg(feature = "cbc")]
pub use tau_cbc as cbc;
#[cfg(feature = "dag")]
pub use tau_dag as dag;
#[cfg(feature = "graphsync")]
pub use tau_graphsync as graphsync;
pub use tau_hamt as hamt;
pub use tau_ipld as ipld;
pub use tau_keys as keys;
#[cfg(feature = "mainchain")]
pub use tau_mainchain as mainchain;
pub use tau_mem as mem;
#[cfg(feature = "node")]
pub use tau_node as node;
#[cfg(feature = "pow")]
pub use tau_pow as pow;
pub use tau_state as state;
#[cfg(feature = "trustme")]
pub use tau_trustme as trustme;
#[cfg(feature = "trustme-net")]
pub use tau_trustme_net as trustme_net;
