//! The crate's error type: what can go wrong reading, writing or checking blocks.

use cid::Cid;

/// Everything that can go wrong in `tau-ipld`.
///
/// Large payloads are boxed so that `Result`s on the hot paths stay small.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A block does not hash to the CID it was stored or requested under.
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
    /// Bytes that are not one well-formed strict DAG-CBOR item (or not the
    /// item the reader expected).
    #[error("malformed DAG-CBOR: {0}")]
    Malformed(&'static str),
    /// A persistent store holds data this crate did not write (e.g. a root
    /// pointer that is not a CID, a record larger than the store allows).
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
    /// The redb database failed (its message; the redb error types are not
    /// part of this crate's API, so a redb upgrade does not change it).
    #[error("redb: {0}")]
    Redb(String),
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

#[cfg(feature = "redb")]
macro_rules! from_redb {
    ($($t:ty),*) => {$(
        impl From<$t> for Error {
            fn from(e: $t) -> Self {
                Error::Redb(e.to_string())
            }
        }
    )*};
}
#[cfg(feature = "redb")]
from_redb!(
    redb::Error,
    redb::DatabaseError,
    redb::TransactionError,
    redb::TableError,
    redb::StorageError,
    redb::CommitError
);
