//! The crate's error type.

use cid::Cid;
use tau_keys::Address;

/// Everything that can go wrong in `tau-dag`.
///
/// A rejected unit leaves the DAG exactly as it was.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The block store failed (includes CID mismatches of stored blocks).
    #[error(transparent)]
    Store(#[from] tau_ipld::Error),
    /// Bytes that do not decode, are not canonical, or an object that does not encode.
    #[error(transparent)]
    Codec(#[from] tau_ipld::canonical::CodecError),
    /// The encoded unit is larger than `Params::max_unit_size`.
    #[error("unit of {size} bytes exceeds the limit {max}")]
    Oversize {
        /// Encoded size in bytes.
        size: usize,
        /// The limit.
        max: usize,
    },
    /// The unit's version is not `Params::version`.
    #[error("unsupported unit version {0}")]
    UnsupportedVersion(u64),
    /// A non-genesis unit with no parents or more than `Params::max_parents`.
    #[error("{count} parents, expected 1..={max}")]
    ParentCount {
        /// Parents listed.
        count: usize,
        /// The limit.
        max: usize,
    },
    /// Parents are not strictly ascending by id bytes (unsorted or repeated).
    #[error("parents are not strictly ascending by id")]
    UnsortedParents,
    /// A parent id is not a DAG-CBOR, BLAKE2b-256 CIDv1 (no unit can have it).
    #[error("parent id {0} is not a unit id (CIDv1, DAG-CBOR, BLAKE2b-256)")]
    BadParentId(Box<Cid>),
    /// One parent includes (is a descendant of) another parent.
    #[error("parent {descendant} includes parent {ancestor}")]
    ParentsIncludeEachOther {
        /// The parent that includes the other.
        descendant: Box<Cid>,
        /// The included parent.
        ancestor: Box<Cid>,
    },
    /// No authors, too many, or not strictly ascending.
    #[error("authors must be 1..={max}, strictly ascending; got {count}")]
    BadAuthors {
        /// Authors listed.
        count: usize,
        /// The limit.
        max: usize,
    },
    /// The number of signatures differs from the number of authors.
    #[error("{signatures} signatures for {authors} authors")]
    SignatureCount {
        /// Authors listed.
        authors: usize,
        /// Signatures given.
        signatures: usize,
    },
    /// An author's signature does not recover to the author.
    #[error("bad signature of {author}: {source}")]
    BadSignature {
        /// The author.
        author: Address,
        /// Why.
        source: tau_keys::Error,
    },
    /// No messages, or more than `Params::max_messages`.
    #[error("{count} messages, expected 1..={max}")]
    MessageCount {
        /// Messages listed.
        count: usize,
        /// The limit.
        max: usize,
    },
    /// The unit is already in the DAG (or waiting in the orphan pool).
    #[error("unit {0} is already known")]
    Duplicate(Box<Cid>),
    /// A unit without parents other than the DAG's genesis.
    #[error("unit {0} has no parents but is not this DAG's genesis")]
    SecondGenesis(Box<Cid>),
    /// The genesis unit given to [`Dag::new`](crate::Dag::new) has parents.
    #[error("a genesis unit has no parents")]
    GenesisWithParents,
    /// A unit the DAG needs is not in its store (reload).
    #[error("unit {0} is not in the store")]
    MissingUnit(Box<Cid>),
    /// The DAG holds `u32::MAX - 1` units; unit numbers are 32-bit.
    #[error("the DAG is full")]
    Full,
    /// The caller's admission check ([`Dag::insert_with`](crate::Dag::insert_with))
    /// refused the unit; it was not added.
    #[error("unit {0} was refused by the admission check")]
    Refused(Box<Cid>),
    /// A `Params` value is inconsistent.
    #[error("invalid params: {0}")]
    InvalidParams(&'static str),
}

/// `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
