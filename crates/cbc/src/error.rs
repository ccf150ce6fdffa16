//! The crate's error type.

use cid::Cid;

/// Everything that can go wrong in `tau-cbc`.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A peer's chain failed validation (forged state, bad PoT, bad signature…).
    #[error("chain view rejected at {root}: {source}")]
    InvalidChain {
        /// The state whose block failed.
        root: Box<Cid>,
        /// Why.
        source: tau_state::Error,
    },
    /// Blocks of a peer's chain are not (yet) in the store: withheld or not fetched.
    #[error("chain view incomplete: {0}")]
    Incomplete(tau_state::Error),
    /// A block is dated more than the chain's `max_drift` after the local
    /// clock: it cannot count now (it may once the clock reaches it; a chain
    /// minted ahead of time must not win fork choice by racing the clock).
    #[error("block at {root} is dated {timestamp}, ahead of the clock ({now})")]
    FutureBlock {
        /// The state whose block is dated ahead.
        root: Box<Cid>,
        /// The block's timestamp.
        timestamp: u64,
        /// The local clock.
        now: u64,
    },
    /// A chain walked back `depth` blocks from its head without meeting a
    /// state this node validated: its base is unproven (a long fork, a chain
    /// far ahead, or one resting on an invented state). It cannot vote, be
    /// reported safe or be followed until a catch-up validates it down to an
    /// anchored state.
    #[error("chain at {head} is not anchored within {depth} blocks")]
    Unanchored {
        /// The chain's head.
        head: Box<Cid>,
        /// Blocks walked.
        depth: usize,
    },
    /// A chain reached a genesis that is not the trusted one.
    #[error("chain reaches an untrusted genesis {0}")]
    UntrustedGenesis(Box<Cid>),
    /// Fewer peers were traversed than the vote rule needs.
    #[error("{traversed} peers traversed, the vote needs {needed}")]
    NotEnoughPeers {
        /// Peers with a valid view.
        traversed: usize,
        /// Peers needed.
        needed: usize,
    },
    /// The local chain or store failed (not a peer's fault).
    #[error("local chain: {0}")]
    Local(#[source] tau_state::Error),
    /// A `Params` value is inconsistent.
    #[error("invalid params: {0}")]
    InvalidParams(&'static str),
}

impl Error {
    /// Whether the error proves the peer dishonest (as opposed to blocks
    /// still missing, which may be a slow network).
    pub fn is_forgery(&self) -> bool {
        matches!(
            self,
            Error::InvalidChain { .. } | Error::UntrustedGenesis(_)
        )
    }
}

/// `Result` with this crate's [`Error`].
pub type Result<T> = std::result::Result<T, Error>;
