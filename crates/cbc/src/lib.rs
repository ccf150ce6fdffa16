//! # tau-cbc
//!
//! How a TAU node decides which chain is safe (process B of
//! `docs/src/introduction.md`; the rule in `docs/src/vote-rule.md`). No I/O:
//! peers are an abstraction, so the same logic runs in the [`sim`]ulator and
//! in tau-node.
//!
//! * [`ChainView`]: a peer's chain from its head back through the mutable
//!   range, every block validated with tau-state before it counts;
//! * [`safety_point`]: the TAU vote rule — among at least half of the known
//!   mining peers, the newest state on the chains of at least 2/3 of them,
//!   within the mutable range, or none (keep collecting);
//! * [`ghost_estimate`] and [`clique_fault_tolerance`]: Casper-CBC's estimate
//!   (LMD-GHOST over the peers' chains) and clique oracle over the same
//!   answers, reporting how many faulty peers a safety point withstands;
//! * [`SafetyTracker`]: the safety point only moves forward along one chain;
//! * [`fork_choice`]: the heaviest chain holding the safety point, never one
//!   that reverts it, no reorganization deeper than the mutable range;
//! * [`Planner`]: process B's random walk over peers and relays, passes and restarts;
//! * [`evaluate_pass`]: a completed pass evaluated in the one order every
//!   node follows (vote, endorsement, fork choice);
//! * [`VoteEngine`]: process B whole, without I/O and told the time — the
//!   bounded [`PeerTable`], anchored and clocked views, votes from
//!   [`ProvenMiners`] (one per miner address, never per peer id), pass
//!   timing, catch-up ([`walk_back`]) and the process A answer gate. tau-node
//!   and the simulator both drive it. The rule among hostile peers is written
//!   down in the repository's `docs/src/vote-rule.md`.
//!
//! ```
//! use std::collections::BTreeMap;
//! use tau_cbc::{safety_point, ChainView, Params, ValidatedRoots};
//! use tau_ipld::MemoryBlockstore;
//! use tau_keys::Keypair;
//! use tau_state::{Executor, Genesis};
//!
//! // One chain of three blocks, as three peers would report it.
//! let miner = Keypair::from_bytes(&[1; 32])?;
//! let chain = Executor::new(MemoryBlockstore::new(), tau_state::Params::devnet())?;
//! let (genesis, _) = chain.genesis(&Genesis::new(0).allocate(miner.address(), 10), &miner)?;
//! let mut heads = vec![genesis];
//! for _ in 0..3 {
//!     let head = *heads.last().unwrap();
//!     let when = chain.eligibility(&head, &miner.address())?.earliest;
//!     heads.push(chain.produce_next_state(&head, &miner, &[], when)?.root);
//! }
//!
//! let mut params = Params::devnet();
//! params.confirmations = 0; // count states at the very tip (devnet waits for 6 blocks)
//! let mut validated = ValidatedRoots::new(genesis);
//! // The local clock (Unix seconds): no block may be dated past it by more
//! // than the chain's `max_drift`.
//! let now = chain.block(&heads[3])?.timestamp();
//! let mut views = BTreeMap::new();
//! // Peers "a" and "b" are at block 3, "c" lags at block 2.
//! for (peer, head) in [("a", heads[3]), ("b", heads[3]), ("c", heads[2])] {
//!     views.insert(peer, ChainView::collect(&chain, &head, params.mutable_range, &mut validated, now)?);
//! }
//! // 2/3 of the 3 peers hold block 3: it is the safety point.
//! let safe = safety_point(&params, 3, &views)?.expect("a safety point");
//! assert_eq!(safe.entry.root, heads[3]);
//! assert_eq!((safe.support, safe.traversed), (2, 3));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod catchup;
mod engine;
mod error;
mod fork;
mod miners;
mod oracle;
mod params;
mod pass;
mod peers;
mod planner;
mod safety;
pub mod sim;
mod view;
mod vote;

pub use catchup::{missing_cid, unwound, walk_back, WalkBack};
pub use engine::{
    AddressOf, AnswerVerdict, CatchUp, Evaluation, PassDecision, PassSnapshot, PeerAnswer,
    VoteEngine, MAX_STRIKES,
};
pub use error::{Error, Result};
pub use fork::{fork_choice, ForkChoice};
pub use miners::ProvenMiners;
pub use oracle::{clique_fault_tolerance, ghost_estimate, Message};
pub use params::{Params, ThresholdBase};
pub use pass::{evaluate_pass, Pass, PassOutcome};
pub use peers::{Admission, PeerRecord, PeerTable};
pub use planner::{Mode, Next, Planner};
pub use safety::{views_relation, SafetyTracker, SafetyUpdate};
pub use view::{is_ancestor, ChainView, ValidatedRoots, ViewEntry};
pub use vote::{endorsed_point, endorsements_needed, safety_point, SafetyPoint};

// The README's example, compiled and run as a doctest.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
