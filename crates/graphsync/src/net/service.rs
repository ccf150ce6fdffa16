//! The [`Graphsync`] service: accepts inbound streams, reads their messages,
//! hands requests to the peer's responder and responses to the requester's
//! verifiers; makes requests.

use std::collections::hash_map::RandomState;
use std::collections::HashMap;
use std::hash::BuildHasher;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering::Relaxed};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use cid::Cid;
use futures::io::BufReader;
use futures::StreamExt as _;
use libp2p::{PeerId, Stream};
use tau_ipld::{Blockstore, BlockstoreExt};

use super::io::read_frame_into;
use super::peer::{self, PeerInner, PeerState};
use super::request::{new_request, RequestHandle, Requests};
use super::{Config, RequestBudget, SharedStore, PROTOCOL};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::dagcbor;
use crate::message::{Extensions, Message, Request, RequestId, RequestKind};
use crate::responder::Responder;
use crate::selector::Selector;
use crate::verifier::{RequestEnd, Verifier};
use crate::{Error, Result};

/// Bytes buffered when reading an inbound stream.
const READ_BUFFER: usize = 64 << 10;

/// Messages of one inbound stream decoded ahead of their processing (each at
/// most the maximum message size).
const READ_AHEAD: usize = 2;

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Counters of a service since it started.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    /// Requests received from peers (new, cancel and update).
    pub requests_received: u64,
    /// Requests answered 31 (Busy).
    pub busy: u64,
    /// Most requests of one peer served at once.
    pub peak_requests_in_flight: usize,
    /// Messages written (requests and responses).
    pub messages_sent: u64,
    /// Blocks written in responses.
    pub blocks_sent: u64,
    /// Framed bytes written.
    pub bytes_sent: u64,
    /// Messages read.
    pub messages_received: u64,
    /// Bytes of the messages read (frame bodies).
    pub bytes_received: u64,
    /// Inbound streams dropped because the peer had too many open.
    pub streams_refused: u64,
    /// Our requests in flight now.
    pub requests_in_flight: usize,
    /// Peers with a task now (a request in flight at us, a message queued,
    /// or an outbound stream not yet idle long enough to close).
    pub peers_served: usize,
    /// Requests of peers being served now.
    pub requests_serving: usize,
}

#[derive(Default)]
struct Counters {
    requests_received: AtomicU64,
    busy: AtomicU64,
    peak_in_flight: AtomicUsize,
    messages_sent: AtomicU64,
    blocks_sent: AtomicU64,
    bytes_sent: AtomicU64,
    messages_received: AtomicU64,
    bytes_received: AtomicU64,
    streams_refused: AtomicU64,
}

/// State shared by the service's tasks.
pub(crate) struct Shared {
    config: Config,
    control: libp2p_stream::Control,
    store: SharedStore,
    runtime: tokio::runtime::Handle,
    peers: Mutex<HashMap<PeerId, Arc<PeerState>>>,
    requests: Mutex<Requests>,
    /// Per peer: inbound streams open, and the budget of decoded bytes its
    /// messages may hold at once.
    inbound: Mutex<HashMap<PeerId, (usize, Arc<Semaphore>)>>,
    /// The budget of decoded bytes all peers' messages may hold at once.
    decoded: Arc<Semaphore>,
    /// The budget of frames all peers' tasks may hold at once (encoded,
    /// queued, being written), in KiB.
    outbound: Arc<Semaphore>,
    id_salt: u64,
    next_id: AtomicU64,
    counters: Counters,
}

impl Shared {
    pub(crate) fn config(&self) -> &Config {
        &self.config
    }

    pub(crate) fn store(&self) -> &(dyn BlockstoreExt + Send + Sync) {
        &*self.store
    }

    pub(crate) fn runtime(&self) -> &tokio::runtime::Handle {
        &self.runtime
    }

    pub(crate) fn control(&self) -> libp2p_stream::Control {
        self.control.clone()
    }

    /// Runs `f` on the state of `peer`'s task (starting the task if needed),
    /// then wakes the task.
    fn with_peer<R>(self: &Arc<Self>, peer: PeerId, f: impl FnOnce(&mut PeerInner) -> R) -> R {
        loop {
            let state = lock(&self.peers)
                .entry(peer)
                .or_insert_with(|| {
                    let responder = Responder::with_hook(
                        *self.config.responder(),
                        self.config.serve_hook().cloned(),
                    );
                    let state = Arc::new(PeerState::new(responder));
                    self.runtime
                        .spawn(peer::run(self.clone(), peer, state.clone()));
                    state
                })
                .clone();
            let mut inner = state.lock();
            if inner.retired {
                continue; // its task just ended; the next round starts a new one
            }
            let result = f(&mut inner);
            drop(inner);
            state.wake();
            return result;
        }
    }

    /// Ends `peer`'s task if it has nothing to do; returns whether it did.
    pub(crate) fn retire_peer(&self, peer: &PeerId, state: &Arc<PeerState>) -> bool {
        let mut peers = lock(&self.peers);
        let mut inner = state.lock();
        if !inner.is_idle(peer) {
            return false;
        }
        inner.retired = true;
        if peers.get(peer).is_some_and(|s| Arc::ptr_eq(s, state)) {
            peers.remove(peer);
        }
        true
    }

    /// The stream to `peer` failed: drop what was queued for it and end our
    /// requests to it.
    pub(crate) fn peer_failed(&self, peer: &PeerId, state: &PeerState, reason: String) {
        state.lock().clear(peer);
        lock(&self.requests).fail_peer(peer, || Error::Stream {
            peer: Box::new(*peer),
            reason: reason.clone(),
        });
    }

    /// `peer` disconnected: end our requests to it and forget its requests.
    pub(crate) fn peer_disconnected(&self, peer: &PeerId) {
        lock(&self.requests).fail_peer(peer, || Error::Stream {
            peer: Box::new(*peer),
            reason: "disconnected".into(),
        });
        let state = lock(&self.peers).get(peer).cloned();
        if let Some(state) = state {
            state.lock().clear(peer);
            state.wake();
        }
    }

    /// Ends request `id` with `result`; returns whether it was in flight.
    pub(crate) fn end_request(&self, id: &RequestId, result: Result<RequestEnd>) -> bool {
        lock(&self.requests).end(id, result).is_some()
    }

    /// Requests of peers other than `peer` being served now.
    fn serving_except(&self, peer: &PeerId) -> usize {
        let states: Vec<(PeerId, Arc<PeerState>)> = lock(&self.peers)
            .iter()
            .filter(|(p, _)| *p != peer)
            .map(|(p, s)| (*p, s.clone()))
            .collect();
        states
            .iter()
            .map(|(p, s)| s.lock().responder.in_flight(p))
            .sum()
    }

    /// The budget of response frames of all peers queued or being written.
    pub(crate) fn outbound(&self) -> &Arc<Semaphore> {
        &self.outbound
    }

    /// Tells `peer` to stop request `id`.
    pub(crate) fn send_cancel(self: &Arc<Self>, peer: PeerId, id: RequestId) {
        self.with_peer(peer, |inner| {
            inner.push_request(Request {
                id,
                kind: RequestKind::Cancel,
            })
        });
    }

    pub(crate) fn count_sent(&self, blocks: usize, wire_bytes: usize) {
        let c = &self.counters;
        c.messages_sent.fetch_add(1, Relaxed);
        c.blocks_sent.fetch_add(blocks as u64, Relaxed);
        c.bytes_sent.fetch_add(wire_bytes as u64, Relaxed);
    }

    /// Handles one message from `peer`; returns the events for callers.
    fn on_message(
        self: &Arc<Self>,
        peer: PeerId,
        mut msg: Message,
    ) -> Vec<super::request::Delivery> {
        self.counters.messages_received.fetch_add(1, Relaxed);
        if !msg.requests.is_empty() {
            let requests = std::mem::take(&mut msg.requests);
            let n = requests.len() as u64;
            let max_answers = self.config.max_queued_answers_per_peer();
            // Requests of the other peers served now: new requests beyond
            // the total are answered Busy (checked without holding two peers'
            // locks, so peers arriving at once may overshoot by one each).
            let others = self.serving_except(&peer);
            let room = self.config.max_requests_serving().saturating_sub(others);
            let (busy, in_flight) = self.with_peer(peer, |inner| {
                let busy = inner.receive(&peer, requests, max_answers, room);
                (busy, inner.responder.in_flight(&peer))
            });
            tracing::debug!(%peer, requests = n, busy, in_flight, "graphsync requests received");
            let c = &self.counters;
            c.requests_received.fetch_add(n, Relaxed);
            c.busy.fetch_add(busy as u64, Relaxed);
            c.peak_in_flight.fetch_max(in_flight, Relaxed);
        }
        if msg.responses.is_empty() {
            return Vec::new(); // blocks without responses belong to nothing
        }
        let (deliveries, over_budget) = lock(&self.requests).on_responses(peer, msg);
        for id in over_budget {
            tracing::debug!(%peer, ?id, "graphsync response over our budget: cancelled");
            self.send_cancel(peer, id);
        }
        deliveries
    }

    /// A stream from `peer` carried garbage: end our requests to it.
    fn stream_failed(&self, peer: PeerId, error: Error) {
        tracing::debug!(%peer, "graphsync stream failed: {error}");
        lock(&self.requests).fail_peer(&peer, || match &error {
            Error::Io(e) => Error::Stream {
                peer: Box::new(peer),
                reason: e.to_string(),
            },
            e => Error::Peer {
                peer: Box::new(peer),
                source: Box::new(duplicate(e)),
            },
        });
    }

    /// Counts an inbound stream of `peer`, unless it has too many open;
    /// returns the peer's budget of decoded bytes.
    fn admit(&self, peer: PeerId) -> Option<Arc<Semaphore>> {
        let mut open = lock(&self.inbound);
        let per_peer = kib(self.config.max_decoded_bytes_per_peer());
        let (n, budget) = open
            .entry(peer)
            .or_insert_with(|| (0, Arc::new(Semaphore::new(per_peer))));
        if *n >= self.config.max_inbound_streams_per_peer() {
            tracing::debug!(%peer, open = *n, "graphsync stream refused: too many open");
            self.counters.streams_refused.fetch_add(1, Relaxed);
            return None;
        }
        *n += 1;
        Some(budget.clone())
    }

    fn release(&self, peer: &PeerId) {
        let mut open = lock(&self.inbound);
        if let Some((n, _)) = open.get_mut(peer) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                open.remove(peer);
            }
        }
    }

    fn next_request_id(&self) -> RequestId {
        let n = self.next_id.fetch_add(1, Relaxed);
        let mut id = [0u8; 16];
        let (salt, count) = id.split_at_mut(8);
        salt.copy_from_slice(&self.id_salt.to_be_bytes());
        count.copy_from_slice(&n.to_be_bytes());
        RequestId(id)
    }
}

/// A copy of a framing or decoding error (errors are not `Clone`).
fn duplicate(e: &Error) -> Error {
    match e {
        Error::FrameTooLarge { len, max } => Error::FrameTooLarge {
            len: *len,
            max: *max,
        },
        Error::TruncatedFrame => Error::TruncatedFrame,
        Error::Varint(s) => Error::Varint(s),
        Error::Cbor(s) => Error::Cbor(s.clone()),
        Error::InvalidPrefix(s) => Error::InvalidPrefix(s.clone()),
        other => Error::InvalidMessage(other.to_string()),
    }
}

/// A budget in semaphore permits (KiB, rounded up; at most `u32::MAX`).
pub(crate) fn kib(bytes: usize) -> usize {
    bytes.div_ceil(1024).min(u32::MAX as usize)
}

/// A decoded message with its share of the decode budgets (released when
/// the message has been processed).
struct Decoded {
    message: Message,
    _peer: OwnedSemaphorePermit,
    _total: OwnedSemaphorePermit,
}

/// Takes `bytes` of decoded-memory budget from the peer's and the total
/// budget, waiting while they are in use; a message that could never fit
/// the peer's budget is an error.
async fn reserve(
    shared: &Shared,
    budget: &Arc<Semaphore>,
    bytes: u64,
) -> Result<(OwnedSemaphorePermit, OwnedSemaphorePermit)> {
    let max = shared
        .config
        .max_decoded_bytes_per_peer()
        .min(shared.config.max_decoded_bytes());
    if bytes > max as u64 {
        return Err(Error::Cbor(format!(
            "message would decode to about {bytes} bytes, over the budget of {max}"
        )));
    }
    let n = kib(bytes as usize) as u32;
    let closed = |_| Error::Network("decode budget closed".into());
    let peer = budget.clone().acquire_many_owned(n).await.map_err(closed)?;
    let total = shared
        .decoded
        .clone()
        .acquire_many_owned(n)
        .await
        .map_err(closed)?;
    Ok((peer, total))
}

/// Reads the messages of one inbound stream until it ends.
async fn read_inbound(shared: Arc<Shared>, peer: PeerId, stream: Stream, budget: Arc<Semaphore>) {
    struct Release(Arc<Shared>, PeerId);
    impl Drop for Release {
        fn drop(&mut self) {
            self.0.release(&self.1);
        }
    }
    let _release = Release(shared.clone(), peer);
    // Reading and decoding run ahead of verification by a few messages, in
    // another task: the two overlap, and the peer's writes are not held up
    // while a message is verified.
    let (tx, mut rx) = tokio::sync::mpsc::channel::<Decoded>(READ_AHEAD);
    let processing = shared.clone();
    let processor = shared.runtime.spawn(async move {
        while let Some(decoded) = rx.recv().await {
            for delivery in processing.on_message(peer, decoded.message) {
                delivery.send().await;
            }
        }
    });
    let max = shared.config.max_message_size();
    let mut reader = BufReader::with_capacity(READ_BUFFER, stream);
    // One buffer for the stream's frames; decoding copies out of it.
    let mut buffer = Vec::new();
    loop {
        let decoded = match read_frame_into(&mut reader, max, &mut buffer).await {
            Ok(Some(n)) => {
                shared.counters.bytes_received.fetch_add(n as u64, Relaxed);
                let body = buffer.get(..n).unwrap_or_default();
                // What decoding will hold, checked before it allocates.
                match dagcbor::scan(body, dagcbor::MAX_NESTING, false) {
                    Ok(scan) => {
                        let bytes = scan.decoded_estimate().max(n as u64);
                        match reserve(&shared, &budget, bytes).await {
                            Ok((p, t)) => Message::decode(body).map(|message| {
                                Some(Decoded {
                                    message,
                                    _peer: p,
                                    _total: t,
                                })
                            }),
                            Err(e) => Err(e),
                        }
                    }
                    Err(e) => Err(e),
                }
            }
            Ok(None) => Ok(None),
            Err(e) => Err(e),
        };
        match decoded {
            Ok(Some(msg)) => {
                if tx.send(msg).await.is_err() {
                    break;
                }
            }
            Ok(None) => break,
            Err(e) => {
                // Framing is lost: drop the stream, fail what it may have carried.
                shared.stream_failed(peer, e);
                break;
            }
        }
    }
    drop(tx);
    let _ = processor.await;
}

/// A Graphsync v2 node on a libp2p swarm: serves blocks from a store and
/// fetches verified blocks from peers.
///
/// Built on a [`libp2p_stream::Control`] of the swarm's
/// `libp2p_stream::Behaviour`; the swarm is driven elsewhere (see
/// [`TcpNode`](super::TcpNode) for a ready one). Clones share one service;
/// it stops accepting streams when the last clone is dropped. Needs a tokio
/// runtime with time enabled.
#[derive(Clone)]
pub struct Graphsync {
    inner: Arc<ServiceHandle>,
}

struct ServiceHandle {
    shared: Arc<Shared>,
    accept: tokio::task::AbortHandle,
}

impl Drop for ServiceHandle {
    fn drop(&mut self) {
        self.accept.abort();
    }
}

impl std::fmt::Debug for Graphsync {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Graphsync")
            .field("stats", &self.stats())
            .finish_non_exhaustive()
    }
}

impl Graphsync {
    /// Starts the service: registers `/ipfs/graphsync/2.0.0` on `control`,
    /// serves `store` and stores fetched blocks there. Call inside a tokio
    /// runtime.
    pub fn new(
        mut control: libp2p_stream::Control,
        store: SharedStore,
        config: Config,
    ) -> Result<Self> {
        let runtime = tokio::runtime::Handle::try_current()
            .map_err(|e| Error::Network(format!("no tokio runtime: {e}")))?;
        let mut incoming = control
            .accept(PROTOCOL)
            .map_err(|e| Error::Network(format!("{PROTOCOL}: {e}")))?;
        let config_total = config.max_decoded_bytes();
        let config_outbound = config.max_outbound_bytes();
        let shared = Arc::new(Shared {
            config,
            control,
            store,
            runtime: runtime.clone(),
            peers: Mutex::default(),
            requests: Mutex::default(),
            inbound: Mutex::default(),
            decoded: Arc::new(Semaphore::new(kib(config_total))),
            outbound: Arc::new(Semaphore::new(kib(config_outbound))),
            id_salt: RandomState::new().hash_one(0u64),
            next_id: AtomicU64::new(0),
            counters: Counters::default(),
        });
        let accepting = shared.clone();
        let accept = runtime
            .spawn(async move {
                while let Some((peer, stream)) = incoming.next().await {
                    // Spawn at once: libp2p-stream drops streams while this lags.
                    if let Some(budget) = accepting.admit(peer) {
                        accepting.runtime.spawn(read_inbound(
                            accepting.clone(),
                            peer,
                            stream,
                            budget,
                        ));
                    }
                }
            })
            .abort_handle();
        Ok(Graphsync {
            inner: Arc::new(ServiceHandle { shared, accept }),
        })
    }

    /// The configuration.
    pub fn config(&self) -> &Config {
        &self.inner.shared.config
    }

    /// Asks `peer` for the blocks `selector` reaches from `root`; verified
    /// blocks go into the service's store.
    pub fn request(
        &self,
        peer: PeerId,
        root: Cid,
        selector: &Selector,
        extensions: Extensions,
    ) -> Result<RequestHandle> {
        let store = self.inner.shared.store.clone();
        self.request_into(peer, root, selector, extensions, store)
    }

    /// As [`request`](Self::request), with this request's own budget
    /// (total time, blocks, bytes) instead of the configured one.
    pub fn request_with_budget(
        &self,
        peer: PeerId,
        root: Cid,
        selector: &Selector,
        extensions: Extensions,
        budget: RequestBudget,
    ) -> Result<RequestHandle> {
        let store = self.inner.shared.store.clone();
        self.request_into_with_budget(peer, root, selector, extensions, store, budget)
    }

    /// As [`request`](Self::request), storing the verified blocks in `store`.
    /// Blocks listed in `do-not-send-cids` must be in `store` (the requester
    /// walks through them).
    ///
    /// A fresh store here is a quarantine: the request's blocks are verified
    /// against the selector and their CIDs but kept apart from the service's
    /// store until the caller accepts them (copies them over) or drops them;
    /// its size is bounded by the request's [`RequestBudget`].
    pub fn request_into(
        &self,
        peer: PeerId,
        root: Cid,
        selector: &Selector,
        extensions: Extensions,
        store: SharedStore,
    ) -> Result<RequestHandle> {
        let budget = *self.inner.shared.config.request_budget();
        self.request_into_with_budget(peer, root, selector, extensions, store, budget)
    }

    /// As [`request_into`](Self::request_into), with this request's own
    /// budget: a quarantine sized for the request.
    pub fn request_into_with_budget(
        &self,
        peer: PeerId,
        root: Cid,
        selector: &Selector,
        extensions: Extensions,
        store: SharedStore,
        budget: RequestBudget,
    ) -> Result<RequestHandle> {
        let shared = &self.inner.shared;
        let mut verifier = Verifier::new(root, selector, shared.config.limits())?;
        for cid in extensions.do_not_send_cids.iter().flatten() {
            let data = store
                .get(cid)?
                .ok_or_else(|| Error::KnownBlockMissing(Box::new(*cid)))?;
            verifier.add_known(*cid, data)?;
        }
        let id = shared.next_request_id();
        let (pending, handle) = new_request(shared.clone(), id, peer, verifier, store, budget);
        lock(&shared.requests).insert(id, pending);
        shared.with_peer(peer, |inner| {
            inner.push_request(Request {
                id,
                kind: RequestKind::New {
                    root,
                    selector: selector.to_ipld(),
                    priority: 0,
                    extensions,
                },
            })
        });
        Ok(handle)
    }

    /// Tells the service that `peer` disconnected: our requests to it fail
    /// with [`Error::Stream`], its requests are dropped. (A swarm owner calls
    /// this on `ConnectionClosed` with no connection left.)
    pub fn peer_disconnected(&self, peer: &PeerId) {
        self.inner.shared.peer_disconnected(peer);
    }

    /// Counters since the service started.
    pub fn stats(&self) -> Stats {
        let shared = &self.inner.shared;
        let c = &shared.counters;
        let peers: Vec<(PeerId, Arc<PeerState>)> = lock(&shared.peers)
            .iter()
            .map(|(p, s)| (*p, s.clone()))
            .collect();
        Stats {
            requests_received: c.requests_received.load(Relaxed),
            busy: c.busy.load(Relaxed),
            peak_requests_in_flight: c.peak_in_flight.load(Relaxed),
            messages_sent: c.messages_sent.load(Relaxed),
            blocks_sent: c.blocks_sent.load(Relaxed),
            bytes_sent: c.bytes_sent.load(Relaxed),
            messages_received: c.messages_received.load(Relaxed),
            bytes_received: c.bytes_received.load(Relaxed),
            streams_refused: c.streams_refused.load(Relaxed),
            requests_in_flight: lock(&shared.requests).len(),
            peers_served: peers.len(),
            requests_serving: peers
                .iter()
                .map(|(peer, state)| state.lock().responder.in_flight(peer))
                .sum(),
        }
    }

    pub(crate) fn shared(&self) -> &Arc<Shared> {
        &self.inner.shared
    }
}
