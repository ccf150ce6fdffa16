//! The crate's error type.

use cid::Cid;

/// Everything that can go wrong in `tau-hamt`.
///
/// Large payloads are boxed so that `Result`s on the hot paths stay small.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The block store failed or refused a block (a hash mismatch, an
    /// unsupported CID, a full quarantine, the disk).
    #[error(transparent)]
    Store(tau_ipld::Error),
    /// A block the structure links to is not in the store.
    #[error("block {0} not found in the store")]
    MissingBlock(Box<Cid>),
    /// A node's bytes are not a valid HAMT node.
    #[error("malformed HAMT node: {0}")]
    MalformedNode(&'static str),
    /// A node is valid DAG-CBOR and well-formed but not in canonical shape.
    #[error("non-canonical HAMT node: {0}")]
    NonCanonical(&'static str),
    /// The configuration is out of range.
    #[error("invalid HAMT configuration: {0}")]
    InvalidConfig(&'static str),
    /// The hash bits of a key are exhausted (more than a bucket of keys share a full hash).
    #[error("maximum depth reached: hash bits exhausted")]
    MaxDepth,
    /// A key cannot be hashed by the configured key hash (identity hash keys are at most 32 bytes).
    #[error("key of {0} bytes is too long for the identity key hash (max 32)")]
    KeyTooLong(usize),
    /// A value could not be encoded as DAG-CBOR.
    #[error("value encoding failed: {0}")]
    Encode(String),
    /// A value could not be decoded from DAG-CBOR into the requested type.
    #[error("value decoding failed: {0}")]
    Decode(String),
    /// A proof is missing a block on the key's path, or holds a block that does not match.
    #[error("invalid proof: {0}")]
    InvalidProof(String),
    /// The operation needs a flushed map but there are unflushed changes.
    #[error("the map has unflushed changes; call flush first")]
    Unflushed,
}

impl Error {
    /// Whether this is a failure of the local store (disk, database, a full
    /// quarantine) rather than a fault of the data: a caller validating
    /// someone else's blocks must not blame them for it.
    pub fn is_store_failure(&self) -> bool {
        matches!(self, Error::Store(e) if e.is_store_failure())
    }

    /// The store's error, if this is one.
    pub fn as_store(&self) -> Option<&tau_ipld::Error> {
        match self {
            Error::Store(e) => Some(e),
            _ => None,
        }
    }
}

/// A store error inside the map: DAG-CBOR the reader refused is a malformed
/// node (the map reads only its own nodes with it), anything else stays the
/// store's.
impl From<tau_ipld::Error> for Error {
    fn from(e: tau_ipld::Error) -> Self {
        match e {
            tau_ipld::Error::Malformed(what) => Error::MalformedNode(what),
            other => Error::Store(other),
        }
    }
}

impl From<std::io::Error> for Error {
    fn from(e: std::io::Error) -> Self {
        Error::Store(tau_ipld::Error::Io(e))
    }
}

/// `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
