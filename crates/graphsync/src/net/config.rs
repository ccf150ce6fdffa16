//! Configuration of the network service, builder style with go-graphsync's
//! defaults.

use std::time::Duration;

use crate::framing::DEFAULT_MAX_MESSAGE_SIZE;
use crate::responder::{ResponderConfig, SharedHook};
use crate::traversal::Limits;

/// What one request of ours may take from the peer before it fails: a
/// responder that streams without end, or dribbles a message just inside the
/// idle timeout, stops at one of these.
///
/// ```
/// use std::time::Duration;
/// use tau_graphsync::net::RequestBudget;
/// let b = RequestBudget::default();
/// assert_eq!(b.total_timeout, Some(Duration::from_secs(600)));
/// assert_eq!((b.max_blocks, b.max_bytes), (1 << 20, 1 << 30));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RequestBudget {
    /// The request fails with [`Error::Timeout`](crate::Error::Timeout) when it
    /// has not finished this long after it was made (default 10 minutes;
    /// `None`: no limit).
    pub total_timeout: Option<Duration>,
    /// Verified blocks accepted (default 2^20); one more fails the request with
    /// [`Error::RequestBudget`](crate::Error::RequestBudget) and cancels it.
    pub max_blocks: u64,
    /// Bytes of verified blocks accepted (default 1 GiB); more fail the request
    /// with [`Error::RequestBudget`](crate::Error::RequestBudget) and cancel it.
    pub max_bytes: u64,
}

/// Default [`RequestBudget::total_timeout`].
pub const DEFAULT_TOTAL_TIMEOUT: Duration = Duration::from_secs(600);

impl Default for RequestBudget {
    fn default() -> Self {
        RequestBudget {
            total_timeout: Some(DEFAULT_TOTAL_TIMEOUT),
            max_blocks: 1 << 20,
            max_bytes: 1 << 30,
        }
    }
}

/// Default [`Config::with_max_decoded_bytes_per_peer`]: 32 MiB.
pub const DEFAULT_MAX_DECODED_BYTES_PER_PEER: usize = 32 << 20;

/// Default [`Config::with_max_decoded_bytes`]: 256 MiB (go-graphsync's total
/// responder memory).
pub const DEFAULT_MAX_DECODED_BYTES: usize = 256 << 20;

/// Default [`Config::with_max_outbound_bytes`]: 256 MiB (go-graphsync's
/// total responder memory).
pub const DEFAULT_MAX_OUTBOUND_BYTES: usize = 256 << 20;

/// Default [`Config::with_max_requests_serving`]: 64 requests of all peers
/// served at once (go-graphsync: 6 in total; we also allow 6 per peer).
pub const DEFAULT_MAX_REQUESTS_SERVING: usize = 64;

/// Configuration of a [`Graphsync`](super::Graphsync) service.
///
/// ```
/// use std::time::Duration;
/// use tau_graphsync::net::Config;
/// let config = Config::default()
///     .with_request_timeout(Duration::from_secs(5))
///     .with_max_requests_per_peer(2);
/// assert_eq!(config.request_timeout(), Duration::from_secs(5));
/// assert_eq!(config.responder().max_requests_per_peer, 2);
/// ```
#[derive(Clone)]
pub struct Config {
    responder: ResponderConfig,
    serve_hook: Option<SharedHook<libp2p::PeerId>>,
    max_message_size: usize,
    request_timeout: Duration,
    budget: RequestBudget,
    stream_idle_timeout: Duration,
    max_inbound_streams_per_peer: usize,
    max_decoded_bytes_per_peer: usize,
    max_decoded_bytes: usize,
    max_outbound_bytes: usize,
    max_requests_serving: usize,
    max_queued_answers_per_peer: usize,
    max_requests_per_message: usize,
    event_buffer: usize,
}

impl std::fmt::Debug for Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Config")
            .field("responder", &self.responder)
            .field("serve_hook", &self.serve_hook.is_some())
            .field("max_message_size", &self.max_message_size)
            .field("request_timeout", &self.request_timeout)
            .field("budget", &self.budget)
            .field("stream_idle_timeout", &self.stream_idle_timeout)
            .field(
                "max_inbound_streams_per_peer",
                &self.max_inbound_streams_per_peer,
            )
            .field(
                "max_decoded_bytes_per_peer",
                &self.max_decoded_bytes_per_peer,
            )
            .field("max_decoded_bytes", &self.max_decoded_bytes)
            .field("max_outbound_bytes", &self.max_outbound_bytes)
            .field("max_requests_serving", &self.max_requests_serving)
            .field(
                "max_queued_answers_per_peer",
                &self.max_queued_answers_per_peer,
            )
            .field("max_requests_per_message", &self.max_requests_per_message)
            .field("event_buffer", &self.event_buffer)
            .finish()
    }
}

impl Default for Config {
    /// go-graphsync's limits ([`ResponderConfig::default`], 4 MiB messages);
    /// a request fails after 30 s without a response message, and at its
    /// [`RequestBudget::default`] (10 minutes, 2^20 blocks, 1 GiB); outbound streams
    /// close after 5 s idle; 8 inbound streams per peer; 64 events buffered per
    /// request.
    fn default() -> Self {
        Config {
            responder: ResponderConfig::default(),
            serve_hook: None,
            max_message_size: DEFAULT_MAX_MESSAGE_SIZE,
            request_timeout: Duration::from_secs(30),
            budget: RequestBudget::default(),
            stream_idle_timeout: Duration::from_secs(5),
            max_inbound_streams_per_peer: 8,
            max_decoded_bytes_per_peer: DEFAULT_MAX_DECODED_BYTES_PER_PEER,
            max_decoded_bytes: DEFAULT_MAX_DECODED_BYTES,
            max_outbound_bytes: DEFAULT_MAX_OUTBOUND_BYTES,
            max_requests_serving: DEFAULT_MAX_REQUESTS_SERVING,
            max_queued_answers_per_peer: 256,
            max_requests_per_message: 64,
            event_buffer: 64,
        }
    }
}

impl Config {
    /// The responder's limits (requests in flight and bytes per peer, batch
    /// size); its traversal limits also bound the requester's own traversals.
    pub fn with_responder(mut self, responder: ResponderConfig) -> Self {
        self.responder = responder;
        self
    }

    /// Every request a peer makes passes through `hook`, which may refuse it
    /// with a reason and hears what each request served
    /// ([`ServeHook`](crate::responder::ServeHook)).
    pub fn with_serve_hook(mut self, hook: SharedHook<libp2p::PeerId>) -> Self {
        self.serve_hook = Some(hook);
        self
    }

    /// The serving hook, if any.
    pub fn serve_hook(&self) -> Option<&SharedHook<libp2p::PeerId>> {
        self.serve_hook.as_ref()
    }

    /// Requests of one peer served at once; more are answered 31 (Busy).
    pub fn with_max_requests_per_peer(mut self, n: usize) -> Self {
        self.responder.max_requests_per_peer = n;
        self
    }

    /// Largest message read or written (default 4 MiB, as go-libp2p).
    pub fn with_max_message_size(mut self, bytes: usize) -> Self {
        self.max_message_size = bytes;
        self
    }

    /// A request fails with [`Error::Timeout`](crate::Error::Timeout) when no
    /// event arrives for this long.
    pub fn with_request_timeout(mut self, timeout: Duration) -> Self {
        self.request_timeout = timeout;
        self
    }

    /// A request fails with [`Error::Timeout`](crate::Error::Timeout) when it
    /// has not finished this long after it was made (default 10 minutes).
    pub fn with_total_timeout(mut self, timeout: Option<Duration>) -> Self {
        self.budget.total_timeout = timeout;
        self
    }

    /// What each request may take (total time, blocks, bytes); a request may
    /// also be given its own ([`Graphsync::request_with_budget`](super::Graphsync::request_with_budget)).
    pub fn with_request_budget(mut self, budget: RequestBudget) -> Self {
        self.budget = budget;
        self
    }

    /// What each request may take by default.
    pub fn request_budget(&self) -> &RequestBudget {
        &self.budget
    }

    /// An outbound stream with nothing to send for this long is closed.
    pub fn with_stream_idle_timeout(mut self, timeout: Duration) -> Self {
        self.stream_idle_timeout = timeout;
        self
    }

    /// Inbound streams read at once from one peer; more are dropped (each
    /// may buffer one message, so this bounds a peer's memory).
    pub fn with_max_inbound_streams_per_peer(mut self, n: usize) -> Self {
        self.max_inbound_streams_per_peer = n.max(1);
        self
    }

    /// Estimated bytes the decoded messages of one peer may hold at once
    /// (read ahead, waiting to be processed; default
    /// [`DEFAULT_MAX_DECODED_BYTES_PER_PEER`]). Readers wait for room; a
    /// message that alone would exceed it fails its stream.
    pub fn with_max_decoded_bytes_per_peer(mut self, bytes: usize) -> Self {
        self.max_decoded_bytes_per_peer = bytes.max(1);
        self
    }

    /// As [`with_max_decoded_bytes_per_peer`](Self::with_max_decoded_bytes_per_peer),
    /// for all peers together (default [`DEFAULT_MAX_DECODED_BYTES`]).
    pub fn with_max_decoded_bytes(mut self, bytes: usize) -> Self {
        self.max_decoded_bytes = bytes.max(1);
        self
    }

    /// Bytes of frames all peers' tasks may hold at once, encoded and
    /// waiting to be written or being written (default
    /// [`DEFAULT_MAX_OUTBOUND_BYTES`]); a task waits for room before it
    /// hands on its next frame.
    pub fn with_max_outbound_bytes(mut self, bytes: usize) -> Self {
        self.max_outbound_bytes = bytes.max(1);
        self
    }

    /// Requests of all peers served at once (default
    /// [`DEFAULT_MAX_REQUESTS_SERVING`]); more are answered 31 (Busy), as
    /// more than [`ResponderConfig::max_requests_per_peer`] of one peer are.
    pub fn with_max_requests_serving(mut self, n: usize) -> Self {
        self.max_requests_serving = n;
        self
    }

    /// Frame bytes of all peers held at once.
    pub fn max_outbound_bytes(&self) -> usize {
        self.max_outbound_bytes
    }

    /// Requests of all peers served at once.
    pub fn max_requests_serving(&self) -> usize {
        self.max_requests_serving
    }

    /// Decoded bytes of one peer's messages held at once.
    pub fn max_decoded_bytes_per_peer(&self) -> usize {
        self.max_decoded_bytes_per_peer
    }

    /// Decoded bytes of all peers' messages held at once.
    pub fn max_decoded_bytes(&self) -> usize {
        self.max_decoded_bytes
    }

    /// Immediate answers (Busy, Rejected, Cancelled) queued for a peer that
    /// does not read them; beyond this they are dropped.
    pub fn with_max_queued_answers_per_peer(mut self, n: usize) -> Self {
        self.max_queued_answers_per_peer = n;
        self
    }

    /// Events (blocks, progress) buffered per request before the network
    /// reader waits for the caller (backpressure).
    pub fn with_event_buffer(mut self, n: usize) -> Self {
        self.event_buffer = n.max(1);
        self
    }

    /// The responder's limits.
    pub fn responder(&self) -> &ResponderConfig {
        &self.responder
    }

    /// Traversal limits, shared by the responder and the requester's verifier.
    pub fn limits(&self) -> &Limits {
        &self.responder.limits
    }

    /// Largest message read or written.
    pub fn max_message_size(&self) -> usize {
        self.max_message_size
    }

    /// Idle timeout of a request.
    pub fn request_timeout(&self) -> Duration {
        self.request_timeout
    }

    /// Total timeout of a request, if any.
    pub fn total_timeout(&self) -> Option<Duration> {
        self.budget.total_timeout
    }

    /// Idle time after which an outbound stream closes.
    pub fn stream_idle_timeout(&self) -> Duration {
        self.stream_idle_timeout
    }

    /// Inbound streams read at once per peer.
    pub fn max_inbound_streams_per_peer(&self) -> usize {
        self.max_inbound_streams_per_peer
    }

    /// Immediate answers queued per peer.
    pub fn max_queued_answers_per_peer(&self) -> usize {
        self.max_queued_answers_per_peer
    }

    /// Requests sent together in one message.
    pub(crate) fn max_requests_per_message(&self) -> usize {
        self.max_requests_per_message
    }

    /// Events buffered per request.
    pub fn event_buffer(&self) -> usize {
        self.event_buffer
    }
}
