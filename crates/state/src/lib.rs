//! # tau-state
//!
//! TAU's chain state on an IPLD HAMT (`docs/src/formats/state.md`): every block
//! is a new state root. Accounts live under typed keys ([`StateKey`]):
//! `<address>Nonce`, `<address>Balance`, `<address><nonce>TXOutput`, … and the
//! block that produced a state (the TAU design note's "contract") is stored under the
//! chain's contract key. This crate holds:
//!
//! * transactions ([`Transaction`], [`SignedTransaction`]): wiring (opt 1) and
//!   messages with optional attachments (opt 2), signed with tau-keys;
//! * blocks ([`Block`]) and Proof-of-Transaction ([`pot`]), integer-only;
//! * execution (process A, [`Executor::produce_next_state`]) and validation by
//!   re-execution ([`Executor::validate_block`]); the executor keeps the decoded
//!   HAMT of the state it last produced or validated, so the next block on it
//!   starts from memory ([`Executor::with_warm_state_nodes`]);
//! * attachment logs (proof of service): the downloads a miner served, carried
//!   by its block and kept under its `AttachmentsLog` key
//!   ([`Executor::produce_next_state_with_log`], [`ServiceRecord`]);
//! * genesis, history and wallet queries with Merkle proofs ([`verify_proof`]);
//! * the pool of pending transactions a node relays and mines ([`mempool`]):
//!   what the next block on the head could execute, bounded in size, with
//!   fee eviction.
//!
//! Objects are strict DAG-CBOR (tuples); signatures cover the BLAKE2b-256 of
//! the unsigned encoding. Nothing reads the clock: `now` is an argument.
//!
//! ```
//! use tau_ipld::MemoryBlockstore;
//! use tau_keys::Keypair;
//! use tau_state::{Executor, Genesis, Params, StateKey, Transaction, TxBody};
//!
//! let alice = Keypair::from_bytes(&[1; 32])?;
//! let bob = Keypair::from_bytes(&[2; 32])?;
//! let chain = Executor::new(MemoryBlockstore::new(), Params::devnet())?;
//! let (genesis, _) = chain.genesis(
//!     &Genesis::new(1_000).allocate(alice.address(), 1_000).allocate(bob.address(), 0),
//!     &alice,
//! )?;
//!
//! // Alice pays Bob 100 with a fee of 1; Bob mines the block.
//! let tx = Transaction {
//!     version: 1,
//!     chain_id: chain.params().chain_id.clone(),
//!     sender: alice.address(),
//!     nonce: 1,
//!     timestamp: 1_000,
//!     fee: 1,
//!     body: TxBody::Wiring { receiver: bob.address(), amount: 100 },
//!     thread: None,
//!     profile: None,
//! }
//! .sign(&alice)?;
//! let when = chain.eligibility(&genesis, &bob.address())?.earliest;
//! let next = chain.produce_next_state(&genesis, &bob, &[tx], when)?;
//! assert!(next.skipped.is_empty());
//!
//! // Anyone holding both roots checks the block by re-executing it.
//! chain.validate_block(&genesis, &next.root)?;
//! assert_eq!(chain.balance(&next.root, &alice.address())?, Some(899));
//! assert_eq!(chain.balance(&next.root, &bob.address())?, Some(101));
//!
//! // A light wallet checks Bob's balance against the root alone.
//! let key = StateKey::Balance(bob.address());
//! let proof = chain.prove(&next.root, &key)?;
//! let balance: Option<u64> = tau_state::verify_proof(chain.params(), &next.root, &key, &proof)?;
//! assert_eq!(balance, Some(101));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod attachments_log;
mod block;
mod digest;
mod error;
mod execute;
mod executor;
mod genesis;
pub mod mempool;
mod overlay;
mod params;
pub mod pot;
mod query;
mod record;
mod state;
mod state_key;
mod tx;
mod tx_list;
mod warm;

pub use attachments_log::{decode_attachments_log, encode_attachments_log, ServiceRecord};
pub use block::{decode_transactions, encode_transactions, Block, UnsignedBlock};
pub use digest::Digest;
pub use error::{Error, Result, TxError};
pub use execute::{Eligibility, Skipped};
pub use executor::{Executor, Produced};
pub use genesis::Genesis;
pub use params::{ChainId, Params, Ratio, MAX_CHAIN_ID_LEN};
pub use query::verify_proof;
pub use record::TxOutput;
pub use state::State;
pub use state_key::StateKey;
pub use tx::{AttachmentRef, OptCode, Profile, SignedTransaction, Transaction, TxBody, TxRef};
pub use warm::DEFAULT_WARM_STATE_NODES;

// The README's example, compiled and run as a doctest.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
