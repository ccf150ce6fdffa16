//! The crate's error type.

use std::path::PathBuf;

use cid::Cid;
use tau_keys::Address;

/// Everything that can go wrong in `tau-attach`.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Reading or writing local files failed.
    #[error("{context}: {source}")]
    Io {
        /// What was being done.
        context: String,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The block store failed (including blocks that do not match their CID).
    #[error(transparent)]
    Store(#[from] tau_ipld::Error),
    /// A section map (a HAMT) failed: a malformed node, or its store.
    #[error(transparent)]
    Hamt(#[from] tau_hamt::Error),
    /// A configuration value is out of range.
    #[error("invalid config: {0}")]
    InvalidConfig(&'static str),
    /// The root is not an attachment manifest (or the manifest is malformed).
    #[error("{root} is not an attachment: {reason}")]
    NotAnAttachment {
        /// The root given.
        root: Box<Cid>,
        /// What is wrong.
        reason: String,
    },
    /// The data is larger than the configuration allows.
    #[error("attachment of {size} bytes needs {sections} sections, more than the limit {max}")]
    TooLarge {
        /// Packed size.
        size: u64,
        /// Sections needed.
        sections: u64,
        /// The limit.
        max: u64,
    },
    /// The attachment is larger than the download may store
    /// (`DownloadOptions::max_total_size`).
    #[error("attachment of {size} bytes is over the download's budget of {max}")]
    OverBudget {
        /// Packed size its manifest declares.
        size: u64,
        /// The budget.
        max: u64,
    },
    /// A block the operation needs is not in the store.
    #[error("block {0} is missing")]
    Missing(Box<Cid>),
    /// The sections do not add up to the manifest (count, size or content hash).
    #[error("attachment content does not match its manifest: {0}")]
    ContentMismatch(String),
    /// A section map (the HAMT under a manifest) is malformed or larger than
    /// its manifest declares; nothing of it was stored past the bad node.
    #[error("section map refused: {0}")]
    SectionMap(String),
    /// An archive entry would be written outside the target directory.
    #[error("archive entry {path:?} escapes the target directory")]
    PathTraversal {
        /// The entry's path as written in the archive.
        path: PathBuf,
    },
    /// An archive entry of a kind that is not exported (device, fifo, hard link…).
    #[error("archive entry {path:?} of unsupported type {kind}")]
    UnsupportedEntry {
        /// The entry's path.
        path: PathBuf,
        /// Its tar type.
        kind: String,
    },
    /// The archive expands beyond the configured cap (a decompression bomb?).
    #[error("archive expands beyond the cap of {cap} bytes")]
    ExpansionCap {
        /// The cap in bytes.
        cap: u64,
    },
    /// The archive expands beyond what its manifest's declared size allows
    /// (a decompression bomb, or an attachment packed with compression: see
    /// `Config::expansion_ratio`).
    #[error(
        "archive expands beyond {limit} bytes: its manifest declares {declared} bytes \
         and the export allows {ratio} byte(s) per declared byte"
    )]
    ExpandsBeyondDeclared {
        /// The size the manifest declares.
        declared: u64,
        /// The configured expansion ratio.
        ratio: u64,
        /// `declared × ratio`.
        limit: u64,
    },
    /// The archive holds more entries than the export allows.
    #[error("archive holds more than {max} entries")]
    TooManyEntries {
        /// The limit.
        max: u64,
    },
    /// The archive is not a valid gzip-compressed tar.
    #[error("archive is malformed: {0}")]
    Archive(String),
    /// Single-file export of an attachment that is not one regular file.
    #[error("attachment holds {0}, not a single file")]
    NotASingleFile(String),
    /// Export would overwrite an existing path.
    #[error("{0:?} already exists")]
    Exists(PathBuf),
    /// The download was cancelled; sections fetched so far stay stored.
    #[error("download cancelled with {missing} of {total} sections missing")]
    Cancelled {
        /// Sections still missing (0 with `total` 0: the manifest never arrived).
        missing: u64,
        /// Sections in total.
        total: u64,
    },
    /// The download gave up (a bounded number of rounds was configured).
    #[error("download gave up with {missing} sections missing: {last_error}")]
    GaveUp {
        /// Sections still missing.
        missing: u64,
        /// The last source error seen.
        last_error: String,
    },
    /// A serving request exceeds the visitor's quota.
    #[error("{visitor} has used {used} of its {quota} byte quota; {requested} more refused")]
    QuotaExceeded {
        /// The visitor.
        visitor: Address,
        /// Bytes already served.
        used: u64,
        /// Its quota.
        quota: u64,
        /// Bytes requested.
        requested: u64,
    },
}

impl Error {
    /// Maps an I/O error, giving back our own error when one travelled
    /// through an `io::Write`/`io::Read` (the section writer and reader do
    /// that), so e.g. [`Error::TooLarge`] stays typed.
    pub(crate) fn io(context: impl Into<String>) -> impl FnOnce(std::io::Error) -> Error {
        let context = context.into();
        move |source| {
            if source.get_ref().is_some_and(|inner| inner.is::<Error>()) {
                if let Some(Ok(ours)) = source.into_inner().map(|inner| inner.downcast::<Error>()) {
                    return *ours;
                }
                return Error::Archive(context);
            }
            Error::Io { context, source }
        }
    }
}

/// `Result` with this crate's [`Error`].
pub type Result<T> = std::result::Result<T, Error>;
