//! The crate's error type.

use cid::Cid;

use crate::message::Status;

/// Everything that can go wrong in `tau-graphsync`.
///
/// Every variant describes a problem with input (bytes from the network, a
/// selector, a block, a response that does not match the request) or a limit
/// being reached; no function of this crate panics on external data.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A frame announces a message longer than the configured maximum; nothing
    /// was allocated for it.
    #[error("message of {len} bytes exceeds the maximum of {max}")]
    FrameTooLarge {
        /// The announced length.
        len: u64,
        /// The maximum accepted.
        max: usize,
    },
    /// An unsigned varint is malformed (too long, not minimal, or truncated where
    /// no more input can come).
    #[error("malformed varint: {0}")]
    Varint(&'static str),
    /// The stream ended inside a frame.
    #[error("stream ended inside a frame")]
    TruncatedFrame,
    /// Bytes that are not well-formed DAG-CBOR (or nest deeper than allowed).
    #[error("malformed DAG-CBOR: {0}")]
    Cbor(String),
    /// A value could not be encoded as DAG-CBOR.
    #[error("DAG-CBOR encoding failed: {0}")]
    Encode(String),
    /// Well-formed DAG-CBOR that is not a valid Graphsync v2 message.
    #[error("invalid message: {0}")]
    InvalidMessage(String),
    /// A block prefix is malformed or names a CID this crate cannot build.
    #[error("invalid block prefix: {0}")]
    InvalidPrefix(String),
    /// A selector is malformed (not the IPLD selector schema).
    #[error("invalid selector: {0}")]
    InvalidSelector(String),
    /// A well-formed selector that this implementation does not support
    /// (conditions, matcher subsets, unknown interpretations).
    #[error("unsupported selector: {0}")]
    UnsupportedSelector(String),
    /// A recursive selector is unbounded or deeper than the configured maximum
    /// (go-graphsync's validator answers such requests with status 30).
    #[error("recursion limit {limit} exceeds the accepted maximum depth {max}")]
    RecursionLimit {
        /// The selector's limit (`"none"` or the depth).
        limit: String,
        /// The maximum depth accepted.
        max: u64,
    },
    /// The traversal loaded more links than its budget allows.
    #[error("traversal exceeded its budget of {0} links")]
    LinkBudget(u64),
    /// A selector state grew beyond its limit (nested recursions multiply
    /// states; see `Limits::max_selector_state`).
    #[error("selector state exceeds the maximum of {0} nodes")]
    SelectorState(usize),
    /// A selector is larger than accepted (`Limits::max_selector_size`).
    #[error("selector of size {size} exceeds the maximum of {max}")]
    SelectorTooLarge {
        /// Its size (nodes and field names).
        size: usize,
        /// The maximum.
        max: usize,
    },
    /// The traversal examined more children than its work budget allows.
    #[error("traversal exceeded its work budget of {0}")]
    WorkBudget(u64),
    /// A block loaded by a traversal could not be decoded for its codec.
    #[error("block {cid} cannot be decoded: {reason}")]
    BlockDecode {
        /// The block's CID.
        cid: Box<Cid>,
        /// Why.
        reason: String,
    },
    /// A block uses a codec the traversal cannot read (only DAG-CBOR and raw).
    #[error("block {cid} has unsupported codec {codec:#x}")]
    UnsupportedCodec {
        /// The block's CID.
        cid: Box<Cid>,
        /// Its codec.
        codec: u64,
    },
    /// A node reached through a HAMT interpretation is not a valid HAMT node.
    #[error("malformed HAMT node: {0}")]
    MalformedHamt(&'static str),
    /// A traversal method was called out of turn (e.g. a block supplied when
    /// none was asked for).
    #[error("traversal misuse: {0}")]
    TraversalState(&'static str),
    /// A response names a different link than the local traversal loads next.
    #[error("response names link {got}, local traversal expects {expected}")]
    UnexpectedLink {
        /// What the local traversal loads next.
        expected: Box<Cid>,
        /// What the response says.
        got: Box<Cid>,
    },
    /// A response carries metadata for links after the traversal ended.
    #[error("response names link {0} after the traversal ended")]
    ExtraLink(Box<Cid>),
    /// A message carries a block that no metadata entry of the request used.
    #[error("block {0} was not asked for by the traversal")]
    UnexpectedBlock(Box<Cid>),
    /// Metadata says a block was sent (or sent before) but it never arrived.
    #[error("block {0} marked present was not received")]
    BlockNotReceived(Box<Cid>),
    /// The responder ended the request with an error status.
    #[error("request failed with status {0:?}")]
    RequestFailed(Status),
    /// The responder refused the request with an error status and said why
    /// (the `tau/rejection-reason` extension, e.g. a quota exceeded).
    #[error("request refused with status {status:?}: {reason}")]
    Refused {
        /// The status (usually 30, Rejected).
        status: Status,
        /// The responder's reason.
        reason: String,
    },
    /// The responder reported success but the local traversal still needs links.
    #[error("response ended with {status:?} but the traversal is incomplete")]
    Incomplete {
        /// The final status received.
        status: Status,
    },
    /// The final status does not match what was received (e.g. 20 with missing blocks).
    #[error("status {status:?} contradicts the response: {reason}")]
    InconsistentStatus {
        /// The final status.
        status: Status,
        /// Why it is inconsistent.
        reason: &'static str,
    },
    /// A request of ours received more than its budget allows (the peer
    /// is told to stop).
    #[error("request exceeded its budget of {max} {what}")]
    RequestBudget {
        /// What ran out: `"blocks"` or `"bytes"`.
        what: &'static str,
        /// The budget.
        max: u64,
    },
    /// More data arrived for a request that already ended.
    #[error("request already finished")]
    Finished,
    /// A peer has the maximum number of requests in flight.
    #[error("peer has {0} requests in flight (the maximum)")]
    TooManyRequests(usize),
    /// A request id is already in flight for this peer.
    #[error("duplicate request id")]
    DuplicateRequest,
    /// A request lists in `do-not-send-cids` a block the local store lacks, so
    /// the requester could not verify the traversal through it.
    #[error("do-not-send-cids lists {0}, which the local store lacks")]
    KnownBlockMissing(Box<Cid>),
    /// A peer sent something wrong: a malformed message, a response that fails
    /// verification (wrong, extra, missing, replayed or out-of-order blocks),
    /// or an error status (`source` is [`Error::RequestFailed`] then).
    #[cfg(feature = "net")]
    #[error("peer {peer}: {source}")]
    Peer {
        /// The peer.
        peer: Box<libp2p::PeerId>,
        /// What was wrong.
        #[source]
        source: Box<Error>,
    },
    /// A request made no progress within the configured timeout.
    #[cfg(feature = "net")]
    #[error("request to peer {peer} timed out")]
    Timeout {
        /// The peer asked.
        peer: Box<libp2p::PeerId>,
    },
    /// The request was cancelled locally.
    #[cfg(feature = "net")]
    #[error("request to peer {peer} was cancelled")]
    Cancelled {
        /// The peer asked.
        peer: Box<libp2p::PeerId>,
    },
    /// A stream to or from the peer failed (could not be opened, broke while
    /// writing or reading), or the peer disconnected.
    #[cfg(feature = "net")]
    #[error("stream with peer {peer} failed: {reason}")]
    Stream {
        /// The peer.
        peer: Box<libp2p::PeerId>,
        /// Why.
        reason: String,
    },
    /// The libp2p side is unusable: no tokio runtime, the protocol already
    /// registered on this swarm, the swarm gone, or a transport setup error.
    #[cfg(feature = "net")]
    #[error("network: {0}")]
    Network(String),
    /// A block store failed (or held a block that does not match its CID).
    #[error("block store: {0}")]
    Store(#[from] tau_ipld::Error),
    /// An I/O error while reading or writing frames.
    #[error("I/O: {0}")]
    Io(#[from] std::io::Error),
}

impl Error {
    /// The peer a network error names, if any.
    #[cfg(feature = "net")]
    pub fn peer(&self) -> Option<&libp2p::PeerId> {
        match self {
            Error::Peer { peer, .. }
            | Error::Timeout { peer }
            | Error::Cancelled { peer }
            | Error::Stream { peer, .. } => Some(peer),
            _ => None,
        }
    }

    /// Whether the remote peer is to blame: it sent bytes that break the
    /// wire format or blocks the request did not ask for or that fail
    /// their checks (as opposed to a slow or lost network, a budget this
    /// side set, or a local store failing). A caller marks a peer on these
    /// and only strikes it on the rest.
    pub fn is_peer_fault(&self) -> bool {
        matches!(
            self.cause(),
            Error::UnexpectedBlock(_)
                | Error::UnexpectedLink { .. }
                | Error::ExtraLink(_)
                | Error::BlockDecode { .. }
                | Error::InvalidMessage(_)
                | Error::Cbor(_)
                | Error::Varint(_)
                | Error::InvalidPrefix(_)
                | Error::FrameTooLarge { .. }
                | Error::InconsistentStatus { .. }
        )
    }

    /// The error underneath [`Error::Peer`] (the error itself otherwise).
    pub fn cause(&self) -> &Error {
        match self {
            #[cfg(feature = "net")]
            Error::Peer { source, .. } => source.cause(),
            other => other,
        }
    }
}

/// `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_peer_is_blamed_for_what_it_sent_not_for_the_network() {
        let cid = Cid::default();
        assert!(Error::ExtraLink(Box::new(cid)).is_peer_fault());
        assert!(Error::Cbor("bad".into()).is_peer_fault());
        assert!(!Error::Network("reset".into()).is_peer_fault());
        assert!(!Error::TruncatedFrame.is_peer_fault());
        #[cfg(feature = "net")]
        {
            let peer = libp2p::PeerId::random();
            let wrapped = |source| Error::Peer {
                peer: Box::new(peer),
                source: Box::new(source),
            };
            assert!(wrapped(Error::UnexpectedBlock(Box::new(cid))).is_peer_fault());
            assert!(!wrapped(Error::Network("reset".into())).is_peer_fault());
        }
    }
}
