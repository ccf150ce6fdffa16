//! The requester's side: requests in flight, the routing of response messages
//! to their verifiers, and the caller's [`RequestHandle`].

use std::collections::HashMap;
use std::future::{poll_fn, Future as _};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use cid::Cid;
use libp2p::PeerId;
use tokio::sync::{mpsc, oneshot};
use tokio::time::{Instant, Sleep};

use super::service::Shared;
use super::{RequestBudget, SharedStore};
use crate::message::{Message, RequestId};
use crate::verifier::{BlockPool, RequestEnd, Verifier};
use crate::{Error, Result};

/// Something that happened to a request, in order.
#[derive(Debug)]
pub enum Event {
    /// A block verified against its CID and the selector, already in the store.
    Block {
        /// Its CID.
        cid: Cid,
        /// Its bytes (shared with the store they were put in).
        data: Bytes,
    },
    /// A response message was processed (sent after its blocks).
    Progress(Progress),
    /// The last event: the final status, or why the request failed.
    Finished(Result<RequestEnd>),
}

/// Totals of a request so far.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Progress {
    /// Response messages that carried this request.
    pub messages: u64,
    /// Blocks verified and stored.
    pub blocks: u64,
    /// Bytes of those blocks.
    pub bytes: u64,
}

/// A request in flight.
pub(crate) struct Pending {
    peer: PeerId,
    verifier: Verifier,
    store: SharedStore,
    events: mpsc::Sender<Event>,
    done: oneshot::Sender<Result<RequestEnd>>,
    progress: Progress,
    budget: RequestBudget,
}

/// Events to hand to one request's caller, outside the table's lock.
pub(crate) struct Delivery {
    events: mpsc::Sender<Event>,
    batch: Vec<Event>,
    end: Option<(oneshot::Sender<Result<RequestEnd>>, Result<RequestEnd>)>,
}

impl Delivery {
    /// Sends the events, waiting while the caller's buffer is full (this is
    /// the backpressure on the stream), then the outcome.
    pub(crate) async fn send(self) {
        for event in self.batch {
            if self.events.send(event).await.is_err() {
                break; // the handle is gone; it cancelled the request
            }
        }
        if let Some((done, result)) = self.end {
            let _ = done.send(result);
        }
    }
}

/// The requests in flight, by id.
#[derive(Default)]
pub(crate) struct Requests {
    table: HashMap<RequestId, Pending>,
}

impl Requests {
    pub(crate) fn insert(&mut self, id: RequestId, pending: Pending) {
        self.table.insert(id, pending);
    }

    /// Ends request `id` with `result` (no more events), if it is in flight.
    pub(crate) fn end(&mut self, id: &RequestId, result: Result<RequestEnd>) -> Option<PeerId> {
        let pending = self.table.remove(id)?;
        let _ = pending.done.send(result);
        Some(pending.peer)
    }

    /// Ends every request to `peer` with the error `make()` builds.
    pub(crate) fn fail_peer(&mut self, peer: &PeerId, make: impl Fn() -> Error) {
        let ids: Vec<RequestId> = self
            .table
            .iter()
            .filter(|(_, p)| p.peer == *peer)
            .map(|(id, _)| *id)
            .collect();
        for id in ids {
            self.end(&id, Err(make()));
        }
    }

    /// Requests in flight.
    pub(crate) fn len(&self) -> usize {
        self.table.len()
    }

    /// Verifies the responses of a message from `peer` and stores their
    /// blocks; returns what to tell each caller. A response for a request not
    /// in flight (cancelled, timed out, or another peer's id) is ignored; then
    /// the message's blocks are not required to be all used either.
    /// Also returns the requests that ran out of budget (the peer must be
    /// told to cancel them).
    pub(crate) fn on_responses(
        &mut self,
        peer: PeerId,
        msg: Message,
    ) -> (Vec<Delivery>, Vec<RequestId>) {
        let mut over_budget = Vec::new();
        let mut results: Vec<(RequestId, Vec<Event>, Option<Result<RequestEnd>>)> = Vec::new();
        let mut pool = match BlockPool::from_blocks(msg.blocks) {
            Ok(pool) => Some(pool),
            Err(e) => {
                let reason = e.to_string();
                for r in &msg.responses {
                    if self.table.get(&r.id).is_some_and(|p| p.peer == peer) {
                        let error = Error::InvalidPrefix(reason.clone());
                        results.push((r.id, Vec::new(), Some(Err(peer_error(peer, error)))));
                    }
                }
                None
            }
        };
        let mut all_ours = true;
        if let Some(pool) = pool.as_mut() {
            for response in &msg.responses {
                let Some(p) = self.table.get_mut(&response.id).filter(|p| p.peer == peer) else {
                    all_ours = false;
                    continue;
                };
                let mut events = Vec::new();
                let mut end = None;
                let local: &dyn tau_ipld::Blockstore = &*p.store;
                match p.verifier.receive_with_store(response, pool, Some(local)) {
                    Ok(received) => {
                        let blocks = p.progress.blocks + received.blocks.len() as u64;
                        let bytes = received
                            .blocks
                            .iter()
                            .fold(p.progress.bytes, |n, (_, d)| n + d.len() as u64);
                        let spent = if blocks > p.budget.max_blocks {
                            Some(("blocks", p.budget.max_blocks))
                        } else if bytes > p.budget.max_bytes {
                            Some(("bytes", p.budget.max_bytes))
                        } else {
                            None
                        };
                        if let Some((what, max)) = spent {
                            // Nothing of this message is stored or handed on.
                            over_budget.push(response.id);
                            let error = Error::RequestBudget { what, max };
                            results.push((response.id, events, Some(Err(error))));
                            continue;
                        }
                        if let Err(e) = p.store.put_many_keyed_shared(&received.blocks) {
                            end = Some(Err(Error::Store(e)));
                        }
                        p.progress.messages += 1;
                        for (cid, data) in received.blocks {
                            p.progress.blocks += 1;
                            p.progress.bytes += data.len() as u64;
                            events.push(Event::Block { cid, data });
                        }
                        events.push(Event::Progress(p.progress));
                        if let Some(outcome) = received.outcome {
                            end = end.or(Some(Ok(outcome)));
                        }
                    }
                    Err(e) => end = Some(Err(peer_error(peer, e))),
                }
                results.push((response.id, events, end));
            }
            if all_ours {
                if let Err(e) = pool.check_all_used() {
                    let reason = e.to_string();
                    for (_, _, end) in results.iter_mut() {
                        if !matches!(end, Some(Err(_))) {
                            let again = match &e {
                                Error::UnexpectedBlock(cid) => Error::UnexpectedBlock(cid.clone()),
                                _ => Error::InvalidMessage(reason.clone()),
                            };
                            *end = Some(Err(peer_error(peer, again)));
                        }
                    }
                }
            }
        }
        let mut deliveries = Vec::new();
        for (id, batch, end) in results {
            let delivery = match end {
                Some(result) => match self.table.remove(&id) {
                    Some(p) => Delivery {
                        events: p.events,
                        batch,
                        end: Some((p.done, result)),
                    },
                    None => continue,
                },
                None => match self.table.get(&id) {
                    Some(p) => Delivery {
                        events: p.events.clone(),
                        batch,
                        end: None,
                    },
                    None => continue,
                },
            };
            deliveries.push(delivery);
        }
        (deliveries, over_budget)
    }
}

/// Wraps an error caused by what `peer` sent.
fn peer_error(peer: PeerId, source: Error) -> Error {
    Error::Peer {
        peer: Box::new(peer),
        source: Box::new(source),
    }
}

/// Builds the table entry and the caller's handle of a new request.
pub(crate) fn new_request(
    shared: Arc<Shared>,
    id: RequestId,
    peer: PeerId,
    verifier: Verifier,
    store: SharedStore,
    budget: RequestBudget,
) -> (Pending, RequestHandle) {
    let config = shared.config();
    let (events_tx, events) = mpsc::channel(config.event_buffer());
    let (done_tx, done) = oneshot::channel();
    let idle = config.request_timeout();
    let now = Instant::now();
    let total = budget.total_timeout.map(|t| now + t);
    let deadline = {
        let _runtime = shared.runtime().enter();
        Box::pin(tokio::time::sleep_until(next_deadline(now, idle, total)))
    };
    let pending = Pending {
        peer,
        verifier,
        store,
        events: events_tx,
        done: done_tx,
        progress: Progress::default(),
        budget,
    };
    let handle = RequestHandle {
        id,
        peer,
        shared,
        events,
        done,
        deadline,
        idle,
        total,
        finished: false,
    };
    (pending, handle)
}

fn next_deadline(now: Instant, idle: Duration, total: Option<Instant>) -> Instant {
    let idle = now + idle;
    match total {
        Some(total) if total < idle => total,
        _ => idle,
    }
}

/// A request in flight: a stream of [`Event`]s ending with
/// [`Event::Finished`]. Dropping it before the end cancels the request.
///
/// Use it as a `futures::Stream`, with [`next_event`](Self::next_event), or
/// just [`finish`](Self::finish).
pub struct RequestHandle {
    id: RequestId,
    peer: PeerId,
    shared: Arc<Shared>,
    events: mpsc::Receiver<Event>,
    done: oneshot::Receiver<Result<RequestEnd>>,
    deadline: Pin<Box<Sleep>>,
    idle: Duration,
    total: Option<Instant>,
    finished: bool,
}

impl std::fmt::Debug for RequestHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RequestHandle")
            .field("id", &self.id)
            .field("peer", &self.peer)
            .field("finished", &self.finished)
            .finish_non_exhaustive()
    }
}

impl RequestHandle {
    /// The request id.
    pub fn id(&self) -> RequestId {
        self.id
    }

    /// The peer asked.
    pub fn peer(&self) -> PeerId {
        self.peer
    }

    /// The next event; `None` after [`Event::Finished`].
    pub async fn next_event(&mut self) -> Option<Event> {
        poll_fn(|cx| self.poll_event(cx)).await
    }

    /// Waits for the end, dropping block and progress events (the blocks are
    /// in the store).
    pub async fn finish(mut self) -> Result<RequestEnd> {
        while let Some(event) = self.next_event().await {
            if let Event::Finished(result) = event {
                return result;
            }
        }
        Err(Error::Network("request ended without an outcome".into()))
    }

    /// Cancels the request: the peer is told to stop, and the stream ends with
    /// [`Error::Cancelled`] after the blocks already verified. Does nothing if
    /// the request already ended.
    pub fn cancel(&mut self) {
        self.stop(Error::Cancelled {
            peer: Box::new(self.peer),
        });
    }

    /// Ends the request locally with `error` and tells the peer to stop.
    fn stop(&mut self, error: Error) {
        if self.shared.end_request(&self.id, Err(error)) {
            self.shared.send_cancel(self.peer, self.id);
        }
    }

    fn poll_event(&mut self, cx: &mut Context<'_>) -> Poll<Option<Event>> {
        if self.finished {
            return Poll::Ready(None);
        }
        match self.events.poll_recv(cx) {
            Poll::Ready(Some(event)) => {
                let next = next_deadline(Instant::now(), self.idle, self.total);
                self.deadline.as_mut().reset(next);
                return Poll::Ready(Some(event));
            }
            Poll::Ready(None) => {
                // No more events: the outcome is set (or the service is gone).
                let result = match Pin::new(&mut self.done).poll(cx) {
                    Poll::Ready(Ok(result)) => result,
                    Poll::Ready(Err(_)) => Err(Error::Network("the service stopped".into())),
                    Poll::Pending => return Poll::Pending,
                };
                self.finished = true;
                return Poll::Ready(Some(Event::Finished(result)));
            }
            Poll::Pending => {}
        }
        if self.deadline.as_mut().poll(cx).is_ready() {
            // Ending the request drops its event sender: the channel wakes this
            // handle once the events still buffered are drained.
            self.stop(Error::Timeout {
                peer: Box::new(self.peer),
            });
            let never = Instant::now() + Duration::from_secs(365 * 24 * 3600);
            self.deadline.as_mut().reset(never);
            let _ = self.deadline.as_mut().poll(cx);
            return self.poll_event(cx);
        }
        Poll::Pending
    }
}

impl futures::Stream for RequestHandle {
    type Item = Event;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Event>> {
        self.get_mut().poll_event(cx)
    }
}

impl Drop for RequestHandle {
    fn drop(&mut self) {
        if !self.finished {
            self.stop(Error::Cancelled {
                peer: Box::new(self.peer),
            });
        }
    }
}
