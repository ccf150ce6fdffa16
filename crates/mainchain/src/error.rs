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
    Store(#[from] tau_ipld::Error),
    /// The unit would become the best free unit with a chain that leaves the
    /// main chain below the stable point: a stable MC unit would change. The
    /// unit is refused before anything changes (DAG, main chain, MCIs, stable
    /// point); later units are handled as usual. Under the TR rule this takes
    /// an equivocating attestor or a change of attestors between rounds.
    #[error("the main chain would fork at MCI {fork_mci}, below the last stable MCI {stable_mci} (tip {tip})")]
    StableRewrite {
        /// The last stable MCI.
        stable_mci: u64,
        /// Where the new main chain leaves the old one.
        fork_mci: u64,
        /// The unit that would be the tip: the refused unit itself, or an
        /// older free unit it would let ahead of the current tip.
        tip: Box<Cid>,
    },
    /// A unit proven stable from outside ([`MainChain::adopt_stable`](crate::MainChain::adopt_stable))
    /// whose best parent is not the last stable MC unit: the proof does not
    /// extend this replica's stable main chain. Nothing changed.
    #[error("unit {unit} does not extend the stable main chain at MCI {stable_mci}")]
    NotStableChild {
        /// The last stable MCI.
        stable_mci: u64,
        /// The unit.
        unit: Box<Cid>,
    },
    /// A unit proven stable from outside extends the stable main chain, but
    /// the current main chain runs through another child (this DAG lacks
    /// units the proof relies on). Nothing changed.
    #[error("unit {unit} is not on the current main chain at MCI {mci}")]
    NotOnMainChain {
        /// The MCI it was proven for.
        mci: u64,
        /// The unit.
        unit: Box<Cid>,
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
