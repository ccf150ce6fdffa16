//! The crate's error type.

use cid::Cid;

/// Everything that can go wrong in a TAU node.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The data directory could not be opened (locked, corrupt, unreadable).
    #[error("data directory {path}: {source}")]
    DataDir {
        /// The directory.
        path: std::path::PathBuf,
        /// Why.
        source: tau_ipld::Error,
    },
    /// The block store failed.
    #[error("block store: {0}")]
    Store(#[from] tau_ipld::Error),
    /// One of the node's own records (peers, pending transactions) could not
    /// be encoded.
    #[error(transparent)]
    Codec(#[from] tau_ipld::canonical::CodecError),
    /// The chain (tau-state) failed on local data.
    #[error("chain: {0}")]
    Chain(#[from] tau_state::Error),
    /// The safety rule (tau-cbc) failed.
    #[error("safety rule: {0}")]
    Cbc(#[from] tau_cbc::Error),
    /// A Graphsync request or the Graphsync service failed.
    #[error("graphsync: {0}")]
    Graphsync(#[from] tau_graphsync::Error),
    /// An attachment upload or download failed.
    #[error("attachment: {0}")]
    Attach(#[from] tau_attach::Error),
    /// Listening on an address failed (e.g. the port is already in use).
    #[error("cannot listen on {addr}: {reason}")]
    Listen {
        /// The address.
        addr: String,
        /// Why.
        reason: String,
    },
    /// The libp2p swarm or a stream failed.
    #[error("network: {0}")]
    Network(String),
    /// A peer answered something that is not a valid message.
    #[error("peer {peer} sent a bad message: {reason}")]
    BadMessage {
        /// The peer.
        peer: String,
        /// Why.
        reason: String,
    },
    /// A message was larger than the protocol allows.
    #[error("message of {size} bytes exceeds the limit of {max}")]
    TooLarge {
        /// Its size.
        size: usize,
        /// The limit.
        max: usize,
    },
    /// The genesis given does not match the data directory's.
    #[error("genesis {given} does not match the data directory's {stored}")]
    GenesisMismatch {
        /// The genesis given to the builder.
        given: Box<Cid>,
        /// The one stored.
        stored: Box<Cid>,
    },
    /// The builder is missing something or holds inconsistent settings.
    #[error("configuration: {0}")]
    Config(&'static str),
    /// The account cannot pay for a transaction.
    #[error("insufficient balance: {needed} needed, {available} available")]
    InsufficientBalance {
        /// Amount plus fee (plus what is already pending).
        needed: u64,
        /// Balance at the head.
        available: u64,
    },
    /// The node was shut down.
    #[error("the node is shut down")]
    ShutDown,
    /// A peer refused to serve an attachment and said why (e.g. a reason
    /// starting with [`QUOTA_EXCEEDED`](crate::QUOTA_EXCEEDED)).
    #[error("peer {peer} refused: {reason}")]
    Refused {
        /// The peer.
        peer: String,
        /// Its reason.
        reason: String,
    },
    /// An operation timed out.
    #[error("timed out: {0}")]
    Timeout(&'static str),
    /// No peer this node knows is named by the chain as holding the
    /// attachment.
    #[error("no known peer holds {0} according to the chain (give peers explicitly)")]
    NoSeeders(Box<cid::Cid>),
    /// The node is shutting down or stopped: its owner task no longer
    /// answers.
    #[error("the node stopped")]
    Stopped,
}

impl Error {
    /// Whether this is a refusal for an exceeded download quota.
    pub fn is_quota_exceeded(&self) -> bool {
        matches!(self, Error::Refused { reason, .. } if reason.starts_with(crate::QUOTA_EXCEEDED))
    }
}

/// `Result` with this crate's [`Error`].
pub type Result<T> = std::result::Result<T, Error>;
