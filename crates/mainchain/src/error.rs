//! The crate's error type.

use cid::Cid;

/// Everything that can go wrong in `tau-mainchain`.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The DAG rejected a unit or failed.
    #[error(transparent)]
    Dag(#[from] tau_dag::Error),
    /// The block store failed.
    #[error(transparent)]
    Store(#[from] tau_hamt::Error),
    /// The best free unit's chain leaves the main chain below the stable
    /// point: a stable MC unit would change. Fatal for consensus; the main
    /// chain is left as it was (the unit stays in the DAG).
    #[error("the main chain would fork at MCI {fork_mci}, below the last stable MCI {stable_mci} (tip {tip})")]
    StableRewrite {
        /// The last stable MCI.
        stable_mci: u64,
        /// Where the new main chain leaves the old one.
        fork_mci: u64,
        /// The best free unit that asks for the rewrite.
        tip: Box<Cid>,
    },
    /// Bytes that do not decode as the expected object.
    #[error("cannot decode {what}: {reason}")]
    Decode {
        /// What was being decoded.
        what: &'static str,
        /// The decoder's message.
        reason: String,
    },
    /// An object could not be encoded.
    #[error("cannot encode {what}: {reason}")]
    Encode {
        /// What was being encoded.
        what: &'static str,
        /// The encoder's message.
        reason: String,
    },
    /// A stored main-chain record disagrees with the DAG it names.
    #[error("cannot reload the main chain: {0}")]
    Reload(&'static str),
}

/// `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
