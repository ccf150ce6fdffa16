//! Errors of a networked super node.

/// Why a super node, or something a peer sent it, failed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The consensus layer refused a unit or failed (unit checks, round
    /// rules, ledger).
    #[error("trustme: {0}")]
    TrustMe(#[from] tau_trustme::Error),
    /// A unit failed to decode or verify (structure, size, signatures).
    #[error("unit: {0}")]
    Dag(#[from] tau_dag::Error),
    /// Key handling failed.
    #[error("keys: {0}")]
    Keys(#[from] tau_keys::Error),
    /// Equihash setup failed.
    #[error("pow: {0}")]
    Pow(#[from] tau_pow::Error),
    /// A peer's message is larger than the protocol allows.
    #[error("message of {len} bytes exceeds the bound of {max}")]
    TooLarge {
        /// Bytes announced or received.
        len: usize,
        /// The bound.
        max: usize,
    },
    /// A peer's message does not decode.
    #[error("malformed message: {0}")]
    Malformed(&'static str),
    /// A fetched unit is not the one asked for.
    #[error("asked for one unit, got another")]
    WrongUnit,
    /// libp2p setup or I/O failed.
    #[error("network: {0}")]
    Network(String),
    /// The node task is gone (stopped or crashed).
    #[error("the node task has stopped")]
    Stopped,
    /// Something did not happen in time.
    #[error("timed out: {0}")]
    Timeout(&'static str),
    /// Configuration that cannot run.
    #[error("invalid configuration: {0}")]
    Config(&'static str),
}

/// This crate's result.
pub type Result<T, E = Error> = std::result::Result<T, E>;
