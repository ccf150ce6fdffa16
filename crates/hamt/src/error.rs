//! The crate's error type.

use cid::Cid;

/// Everything that can go wrong in `tau-hamt`.
///
/// Large payloads are boxed so that `Result`s on the hot paths stay small.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A block read from a store does not hash to the CID it was stored under.
    #[error("block {cid} does not match its CID (hash mismatch)")]
    CidMismatch {
        /// The CID the block was requested by.
        cid: Box<Cid>,
    },
    /// A CID uses a multihash this crate cannot verify.
    #[error("CID {cid} uses unsupported multihash code {code:#x}")]
    UnsupportedHash {
        /// The CID.
        cid: Box<Cid>,
        /// Its multihash code.
        code: u64,
    },
    /// A block's codec is neither DAG-CBOR nor raw, so its links cannot be read.
    #[error("unsupported block codec {0:#x}")]
    UnsupportedCodec(u64),
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
    /// A persistent store holds data this crate did not write (e.g. a root pointer
    /// that is not a CID).
    #[error("corrupt block store: {0}")]
    CorruptStore(String),
    /// A [`Quarantine`](crate::Quarantine) is full: its own limit or the
    /// budget it shares with others (the smaller is given) would be exceeded.
    #[error("quarantine full: more than {limit} bytes of unchecked blocks")]
    QuarantineFull {
        /// The bound, in bytes.
        limit: u64,
    },
    /// A garbage collection of this store is already running.
    #[error("a garbage collection of this store is already running")]
    CollectionRunning,
    /// The redb database failed.
    #[error("redb: {0}")]
    Redb(Box<redb::Error>),
    /// An I/O error in a block store.
    #[error("I/O: {0}")]
    Io(#[from] std::io::Error),
}

impl Error {
    /// Whether this is a failure of the local store (disk, database, a full
    /// [`Quarantine`](crate::Quarantine)) rather than a fault of the data:
    /// a caller validating someone else's blocks must not blame them for it.
    pub fn is_store_failure(&self) -> bool {
        matches!(
            self,
            Error::Redb(_) | Error::Io(_) | Error::QuarantineFull { .. } | Error::CorruptStore(_)
        )
    }
}

/// `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

macro_rules! from_redb {
    ($($t:ty),*) => {$(
        impl From<$t> for Error {
            fn from(e: $t) -> Self {
                Error::Redb(Box::new(e.into()))
            }
        }
    )*};
}
from_redb!(
    redb::Error,
    redb::DatabaseError,
    redb::TransactionError,
    redb::TableError,
    redb::StorageError,
    redb::CommitError
);
