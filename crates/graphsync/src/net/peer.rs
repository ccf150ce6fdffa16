//! One task per remote peer, owning the one outbound stream to it (as
//! go-graphsync's message queue): it sends our requests and cancels, the
//! immediate answers to the peer's requests, and the responses the
//! [`Responder`] produces, a bounded message at a time.
//!
//! The stream is opened when there is something to send and closed (a clean
//! EOF for the peer) after [`Config::stream_idle_timeout`](super::Config)
//! with nothing to send; the task then ends if the peer has no request in
//! flight.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use futures::io::AsyncWriteExt;
use libp2p::{PeerId, Stream};
use tokio::sync::{mpsc, Notify, OwnedSemaphorePermit};

use super::service::{kib, Shared};
use super::PROTOCOL;
use crate::message::{Extensions, Message, Request, RequestKind, Response, Status};
use crate::responder::Responder;
use crate::Error;

/// What the task of one peer has to send.
pub(crate) struct PeerState {
    inner: Mutex<PeerInner>,
    wake: Notify,
}

pub(crate) struct PeerInner {
    /// Serves the peer's requests (one peer per responder: limits are per peer).
    pub(crate) responder: Responder<PeerId>,
    /// Immediate answers to the peer's requests, bounded.
    answers: VecDeque<Message>,
    /// Our requests and cancels for the peer.
    outgoing: VecDeque<Request>,
    /// Set when the task ended: work must go to a new task.
    pub(crate) retired: bool,
}

/// A message taken for sending, with the block bytes to acknowledge.
struct Outgoing {
    message: Message,
    block_bytes: usize,
}

impl PeerState {
    pub(crate) fn new(responder: Responder<PeerId>) -> Self {
        PeerState {
            inner: Mutex::new(PeerInner {
                responder,
                answers: VecDeque::new(),
                outgoing: VecDeque::new(),
                retired: false,
            }),
            wake: Notify::new(),
        }
    }

    pub(crate) fn lock(&self) -> MutexGuard<'_, PeerInner> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Wakes the task (after work was added).
    pub(crate) fn wake(&self) {
        self.wake.notify_one();
    }
}

impl PeerInner {
    /// Queues one of our requests (or a cancel) for the peer.
    pub(crate) fn push_request(&mut self, request: Request) {
        self.outgoing.push_back(request);
    }

    /// Takes the requests of a message from the peer; returns how many were
    /// answered Busy. Answers beyond `max_answers` queued are dropped.
    /// New requests beyond `room` (what the service-wide maximum leaves
    /// for this peer) are answered Busy too.
    pub(crate) fn receive(
        &mut self,
        peer: &PeerId,
        requests: Vec<Request>,
        max_answers: usize,
        room: usize,
    ) -> usize {
        let mut answers = Message::default();
        for request in requests {
            let is_new = matches!(request.kind, RequestKind::New { .. });
            if is_new && self.responder.in_flight(peer) >= room {
                answers.responses.push(Response {
                    id: request.id,
                    status: Status::Busy,
                    metadata: Vec::new(),
                    extensions: Extensions::default(),
                });
                continue;
            }
            if let Some(m) = self.responder.receive(peer, vec![request]) {
                answers.responses.extend(m.responses);
            }
        }
        if answers.responses.is_empty() {
            return 0;
        }
        let busy = answers
            .responses
            .iter()
            .filter(|r| r.status == Status::Busy)
            .count();
        if self.answers.len() < max_answers {
            self.answers.push_back(answers);
        }
        busy
    }

    /// Whether nothing is queued and no request of the peer is in flight.
    pub(crate) fn is_idle(&self, peer: &PeerId) -> bool {
        self.answers.is_empty() && self.outgoing.is_empty() && self.responder.in_flight(peer) == 0
    }

    /// Drops everything queued and the peer's requests in flight.
    pub(crate) fn clear(&mut self, peer: &PeerId) {
        self.answers.clear();
        self.outgoing.clear();
        self.responder.remove_peer(peer);
    }

    /// The next message to send: immediate answers first, then our requests
    /// (several per message), then the next batch of a response.
    fn next(&mut self, peer: &PeerId, shared: &Shared) -> Option<Outgoing> {
        if let Some(message) = self.answers.pop_front() {
            return Some(Outgoing {
                message,
                block_bytes: 0,
            });
        }
        if !self.outgoing.is_empty() {
            let n = self
                .outgoing
                .len()
                .min(shared.config().max_requests_per_message());
            let requests = self.outgoing.drain(..n).collect();
            return Some(Outgoing {
                message: Message {
                    requests,
                    ..Message::default()
                },
                block_bytes: 0,
            });
        }
        let message = self.responder.poll(peer, shared.store())?;
        let block_bytes = message.blocks.iter().map(|b| b.data.len()).sum();
        Some(Outgoing {
            message,
            block_bytes,
        })
    }
}

/// Frames handed from the producer to the writer of one peer.
const WRITE_AHEAD: usize = 2;

/// How long one attempt to open the outbound stream may take (protocol
/// negotiation included) before it is dropped and tried again. A peer that
/// never completes the negotiation cannot hold this peer's writer, and a
/// request to open a stream on a connection that was not polled again (seen
/// right after a connection came up: about one run in ten of a test whose
/// first request followed the dial at once waited until the next keep-alive
/// event, beyond the request timeout) is made again.
const OPEN_ATTEMPT: std::time::Duration = std::time::Duration::from_secs(1);

/// Attempts to open the outbound stream before the frame fails.
const OPEN_ATTEMPTS: u32 = 4;

/// Opens the outbound Graphsync stream to `peer`, each attempt bounded by
/// [`OPEN_ATTEMPT`].
async fn open(control: &mut libp2p_stream::Control, peer: PeerId) -> Result<Stream, String> {
    let mut last = String::new();
    for _ in 0..OPEN_ATTEMPTS {
        match tokio::time::timeout(OPEN_ATTEMPT, control.open_stream(peer, PROTOCOL)).await {
            Ok(Ok(stream)) => return Ok(stream),
            Ok(Err(e)) => return Err(e.to_string()),
            Err(_) => last = format!("not opened within {OPEN_ATTEMPT:?}"),
        }
    }
    Err(format!("{last} ({OPEN_ATTEMPTS} attempts)"))
}

/// Frame buffers kept for reuse by one peer's task: enough for the frames in
/// the channel, the one being written and the one being encoded.
const SPARE_BUFFERS: usize = WRITE_AHEAD + 2;

/// Largest frame buffer kept for reuse: a frame of 512 KiB of blocks fits,
/// and so does a single block up to the responder's default 2 MiB limit.
const MAX_SPARE_CAPACITY: usize = (2 << 20) + (64 << 10);

/// Frame buffers going round between the producer and the writer of one peer,
/// so that a long response does not allocate (and fault in) a fresh buffer
/// per message.
#[derive(Default)]
struct Buffers(Mutex<Vec<Vec<u8>>>);

impl Buffers {
    /// An empty buffer, recycled if one is spare.
    fn take(&self) -> Vec<u8> {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .pop()
            .unwrap_or_default()
    }

    /// Gives a buffer back for reuse (dropped if enough are spare).
    fn give(&self, mut buffer: Vec<u8>) {
        buffer.clear();
        let mut spare = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        if spare.len() < SPARE_BUFFERS && buffer.capacity() <= MAX_SPARE_CAPACITY {
            spare.push(buffer);
        }
    }
}

enum Write {
    /// A framed message, with its block count for the counters and its share
    /// of the service's outbound budget (released once written).
    Frame {
        bytes: Vec<u8>,
        blocks: usize,
        permit: OwnedSemaphorePermit,
    },
    /// Nothing to send for a while: close the stream.
    Close,
}

/// The task of `peer`: prepares what its state holds (walks, loads, encodes)
/// and hands the frames to a writer task, so the next message is prepared
/// while the previous one is written. Ends when idle for
/// [`Config::stream_idle_timeout`](super::Config::stream_idle_timeout).
pub(crate) async fn run(shared: Arc<Shared>, peer: PeerId, state: Arc<PeerState>) {
    let (tx, rx) = mpsc::channel(WRITE_AHEAD);
    let buffers = Arc::new(Buffers::default());
    let writer = shared.runtime().spawn(write(
        shared.clone(),
        peer,
        state.clone(),
        rx,
        buffers.clone(),
    ));
    let max = shared.config().max_message_size();
    loop {
        let next = state.lock().next(&peer, &shared);
        let Some(Outgoing {
            message,
            block_bytes,
        }) = next
        else {
            tokio::select! {
                _ = state.wake.notified() => continue,
                _ = tokio::time::sleep(shared.config().stream_idle_timeout()) => {
                    let _ = tx.send(Write::Close).await;
                    if shared.retire_peer(&peer, &state) {
                        break;
                    }
                    continue;
                }
            }
        };
        // The bounded channel to the writer bounds what is buffered.
        state.lock().responder.acknowledge(&peer, block_bytes);
        let mut bytes = buffers.take();
        match message.encode_frame_into(max, &mut bytes) {
            Ok(_) => {
                let blocks = message.blocks.len();
                drop(message); // the block bytes are in the frame now
                               // The service-wide budget of frames held: wait for room.
                let want = (kib(bytes.len()) as u32)
                    .clamp(1, kib(shared.config().max_outbound_bytes()) as u32);
                let Ok(permit) = shared.outbound().clone().acquire_many_owned(want).await else {
                    break;
                };
                if tx
                    .send(Write::Frame {
                        bytes,
                        blocks,
                        permit,
                    })
                    .await
                    .is_err()
                {
                    break;
                }
            }
            Err(e) => {
                buffers.give(bytes);
                // Our own message is too large for the peer (a configuration
                // error): end what it carried rather than the stream.
                let reason = e.to_string();
                for response in &message.responses {
                    state.lock().responder.cancel(&peer, &response.id);
                }
                for request in &message.requests {
                    let error = Error::InvalidMessage(reason.clone());
                    shared.end_request(&request.id, Err(error));
                }
            }
        }
    }
    drop(tx);
    let _ = writer.await;
}

/// Writes the frames of one peer on the one outbound stream, opened when
/// needed.
async fn write(
    shared: Arc<Shared>,
    peer: PeerId,
    state: Arc<PeerState>,
    mut rx: mpsc::Receiver<Write>,
    buffers: Arc<Buffers>,
) {
    let mut control = shared.control();
    let mut stream: Option<Stream> = None;
    while let Some(command) = rx.recv().await {
        let (bytes, blocks, permit) = match command {
            Write::Close => {
                if let Some(mut s) = stream.take() {
                    let _ = s.close().await;
                }
                continue;
            }
            Write::Frame {
                bytes,
                blocks,
                permit,
            } => (bytes, blocks, permit),
        };
        let out = match stream.as_mut() {
            Some(s) => s,
            None => match open(&mut control, peer).await {
                Ok(s) => stream.insert(s),
                Err(e) => {
                    shared.peer_failed(&peer, &state, format!("cannot open a stream: {e}"));
                    continue;
                }
            },
        };
        let written = async {
            out.write_all(&bytes).await?;
            out.flush().await
        };
        match written.await {
            Ok(()) => shared.count_sent(blocks, bytes.len()),
            Err(e) => {
                stream = None;
                shared.peer_failed(&peer, &state, format!("write failed: {e}"));
            }
        }
        buffers.give(bytes);
        drop(permit); // written (or failed): its budget is free
    }
    if let Some(mut s) = stream {
        let _ = s.close().await;
    }
}
