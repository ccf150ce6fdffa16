//! The responder's side, without a transport: requests in, response messages
//! out, one bounded batch at a time.
//!
//! * [`Responder::receive`] takes a peer's requests and answers at once what
//!   needs no store: 31 Busy when the peer already has
//!   [`ResponderConfig::max_requests_per_peer`] requests in flight or more than
//!   [`ResponderConfig::max_buffered_bytes_per_peer`] bytes unacknowledged;
//!   30 Rejected for a selector that is malformed, unsupported or deeper than
//!   the limits; 35 Cancelled for a cancel of a request in flight.
//! * [`Responder::poll`] advances one of the peer's requests (round robin)
//!   over the store and returns its next message: blocks up to
//!   [`ResponderConfig::max_block_bytes_per_message`] (512 KiB), status 14
//!   while more follows, then 20 (complete), 21 (some blocks missing, listed
//!   as `m`), 34 (root missing) or 32 (a block could not be walked).
//! * [`Responder::acknowledge`] tells it how many bytes the transport wrote;
//!   `poll` returns nothing for a peer whose unacknowledged bytes exceed the
//!   budget.
//!
//! Deduplication follows go-graphsync: a block already sent to the peer by a
//! request still in flight (in the same `dedup-by-key` group) is not sent
//! again, and `do-not-send-cids` entries count as sent; such links are listed
//! with action `d`. `do-not-send-first-blocks` suppresses the blocks of the
//! first N links loaded. Updates are accepted and ignored. (go answers a
//! requester's cancel with silence; we send 35 so the requester can tell.)
//!
//! An application may install a [`ServeHook`] ([`Responder::with_hook`]): it
//! admits or refuses each new request (30 with a reason in the
//! [`REJECTION_REASON`] extension) and hears the bytes each request served.

use std::collections::{HashMap, HashSet};
use std::hash::Hash;
use std::sync::Arc;
use std::task::Poll;
use std::time::{Duration, Instant};

use cid::Cid;
use tau_ipld::BlockstoreExt;

use crate::framing::{DEFAULT_MAX_BLOCK_BYTES, DEFAULT_MAX_MESSAGE_SIZE};
use crate::message::{
    Block, Extensions, LinkAction, Message, Metadatum, Request, RequestId, RequestKind, Response,
    Status,
};
use crate::selector::Selector;
use crate::traversal::{Limits, Traversal};
use crate::Error;

mod hook;

pub use hook::{
    rejection_reason, Admission, Incoming, ServeHook, Served, SharedHook, MAX_REASON_LEN,
    REJECTION_REASON,
};

/// Responder limits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ResponderConfig {
    /// Requests of one peer in flight at once (go: 6).
    pub max_requests_per_peer: usize,
    /// Bytes of block data sent to a peer and not yet acknowledged (go: 16 MiB).
    pub max_buffered_bytes_per_peer: usize,
    /// Block data per message (go: 512 KiB).
    pub max_block_bytes_per_message: usize,
    /// Metadata entries per message (bounds messages of many small or missing
    /// blocks; about 45 bytes each).
    pub max_links_per_message: usize,
    /// Largest block served; bigger blocks cannot fit a message and are
    /// reported missing. Keep it well under the peer's message limit.
    pub max_block_size: usize,
    /// Traversal limits applied to every request: recursion depth, links
    /// loaded ([`Limits::max_links`]), selector state and work (CPU).
    pub limits: Limits,
    /// Blocks one request may send (default [`DEFAULT_MAX_BLOCKS_PER_REQUEST`]);
    /// then it ends with status 32 and a reason.
    pub max_blocks_per_request: u64,
    /// Block bytes one request may send (default
    /// [`DEFAULT_MAX_BYTES_PER_REQUEST`]); then it ends with status 32 and a reason.
    pub max_bytes_per_request: u64,
    /// Wall-clock time one request may be served for, from its arrival
    /// (default [`DEFAULT_MAX_REQUEST_DURATION`]); then it ends with status
    /// 32 and a reason.
    pub max_request_duration: Duration,
    /// Traversal work (see [`Limits::max_work`]) spent on one message before
    /// it is sent as it is, so a poll returns soon whatever the DAG (default
    /// [`DEFAULT_MAX_WORK_PER_MESSAGE`]).
    pub max_work_per_message: u64,
}

/// Default [`ResponderConfig::max_blocks_per_request`]: 2^20.
pub const DEFAULT_MAX_BLOCKS_PER_REQUEST: u64 = 1 << 20;

/// Default [`ResponderConfig::max_bytes_per_request`]: 1 GiB.
pub const DEFAULT_MAX_BYTES_PER_REQUEST: u64 = 1 << 30;

/// Default [`ResponderConfig::max_request_duration`]: 10 minutes.
pub const DEFAULT_MAX_REQUEST_DURATION: Duration = Duration::from_secs(600);

/// Default [`ResponderConfig::max_work_per_message`]: 2^20 work units
/// (milliseconds of CPU).
pub const DEFAULT_MAX_WORK_PER_MESSAGE: u64 = 1 << 20;

impl Default for ResponderConfig {
    /// go-graphsync's limits: 6 requests, 16 MiB buffered, 512 KiB per message,
    /// selector depth 100; 4,096 links per message; blocks up to 2 MiB (the
    /// IPFS block size limit, half the 4 MiB message limit); per request
    /// [`Limits::default`] (2^20 links), 2^20 blocks, 1 GiB and 10 minutes.
    fn default() -> Self {
        ResponderConfig {
            max_requests_per_peer: 6,
            max_buffered_bytes_per_peer: 16 << 20,
            max_block_bytes_per_message: DEFAULT_MAX_BLOCK_BYTES,
            max_links_per_message: 4096,
            max_block_size: DEFAULT_MAX_MESSAGE_SIZE / 2,
            limits: Limits::default(),
            max_blocks_per_request: DEFAULT_MAX_BLOCKS_PER_REQUEST,
            max_bytes_per_request: DEFAULT_MAX_BYTES_PER_REQUEST,
            max_request_duration: DEFAULT_MAX_REQUEST_DURATION,
            max_work_per_message: DEFAULT_MAX_WORK_PER_MESSAGE,
        }
    }
}

/// One request being answered.
#[derive(Debug)]
struct Task {
    id: RequestId,
    /// The root and extensions (without `do-not-send-cids`), for the hook.
    root: Cid,
    extensions: Extensions,
    /// Block data and blocks put in messages so far.
    bytes_sent: u64,
    blocks_sent: u64,
    /// Most block bytes it may be sent: the configured budget, or less if
    /// the hook admitted it [`Admission::AllowUpTo`].
    max_bytes: u64,
    traversal: Traversal,
    /// Blocks loaded so far (for `do-not-send-first-blocks`).
    loads: u64,
    skip_first: u64,
    /// Dedup group: `None` is the peer's default group.
    group: Option<String>,
    /// Links this task added to its group's sent-set (released when it ends).
    sent: Vec<Cid>,
    any_missing: bool,
    root_missing: bool,
    /// A block loaded but not yet placed in a message (it did not fit).
    carry: Option<(Cid, Option<bytes::Bytes>)>,
    /// When the request arrived.
    started: Instant,
}

#[derive(Debug, Default)]
struct Peer {
    tasks: Vec<Task>,
    next: usize,
    buffered: usize,
    /// Per dedup group: how many in-flight tasks sent each block.
    groups: HashMap<Option<String>, HashMap<Cid, usize>>,
}

/// The transport-independent responder, for peers identified by `P`.
///
/// ```
/// use tau_graphsync::responder::{Responder, ResponderConfig};
/// use tau_graphsync::{Extensions, Request, RequestId, RequestKind, Selector, Status};
/// use tau_ipld::{Blockstore, MemoryBlockstore, block::RAW};
///
/// let store = MemoryBlockstore::new();
/// let root = store.put(RAW, b"hello")?;
/// let mut responder = Responder::new(ResponderConfig::default());
/// let request = Request {
///     id: RequestId([1; 16]),
///     kind: RequestKind::New {
///         root,
///         selector: Selector::Matcher.to_ipld(),
///         priority: 0,
///         extensions: Extensions::default(),
///     },
/// };
/// assert!(responder.receive(&"peer", vec![request]).is_none());
/// let msg = responder.poll(&"peer", &store).unwrap();
/// assert_eq!(msg.responses[0].status, Status::CompletedFull);
/// assert_eq!(msg.blocks[0].data, &b"hello"[..]);
/// assert!(responder.poll(&"peer", &store).is_none());
/// # Ok::<(), tau_ipld::Error>(())
/// ```
pub struct Responder<P> {
    config: ResponderConfig,
    peers: HashMap<P, Peer>,
    hook: Option<SharedHook<P>>,
}

impl<P> std::fmt::Debug for Responder<P> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Responder")
            .field("config", &self.config)
            .field("peers", &self.peers.len())
            .field("hook", &self.hook.is_some())
            .finish()
    }
}

fn status_only(id: RequestId, status: Status) -> Response {
    Response {
        id,
        status,
        metadata: Vec::new(),
        extensions: Extensions::default(),
    }
}

impl<P: Eq + Hash + Clone> Responder<P> {
    /// A responder with `config`.
    pub fn new(config: ResponderConfig) -> Self {
        Responder {
            config,
            peers: HashMap::new(),
            hook: None,
        }
    }

    /// A responder with `config` whose requests pass through `hook` (none:
    /// everything well-formed is served).
    pub fn with_hook(config: ResponderConfig, hook: Option<SharedHook<P>>) -> Self {
        Responder {
            config,
            peers: HashMap::new(),
            hook,
        }
    }

    /// The configuration.
    pub fn config(&self) -> &ResponderConfig {
        &self.config
    }

    /// Requests of `peer` in flight.
    pub fn in_flight(&self, peer: &P) -> usize {
        self.peers.get(peer).map_or(0, |p| p.tasks.len())
    }

    /// Takes the requests of one message from `peer`; returns a message of
    /// immediate answers (busy, rejected, cancelled), if any.
    pub fn receive(&mut self, peer: &P, requests: Vec<Request>) -> Option<Message> {
        let mut answers = Vec::new();
        for request in requests {
            if let Some(answer) = self.receive_one(peer, request) {
                answers.push(answer);
            }
        }
        (!answers.is_empty()).then(|| Message {
            responses: answers,
            ..Message::default()
        })
    }

    fn receive_one(&mut self, peer: &P, request: Request) -> Option<Response> {
        let id = request.id;
        match request.kind {
            RequestKind::Cancel => self.cancel(peer, &id),
            RequestKind::Update { .. } => None,
            RequestKind::New {
                root,
                selector,
                extensions,
                ..
            } => {
                let state = self.peers.entry(peer.clone()).or_default();
                if state.tasks.iter().any(|t| t.id == id) {
                    return None; // a duplicate id: the first request keeps running
                }
                if state.tasks.len() >= self.config.max_requests_per_peer
                    || state.buffered > self.config.max_buffered_bytes_per_peer
                {
                    return Some(status_only(id, Status::Busy));
                }
                let traversal = Selector::from_ipld(&selector)
                    .and_then(|s| Traversal::new(root, &s, &self.config.limits));
                let traversal = match traversal {
                    Ok(t) => t,
                    Err(e) => return Some(status_only(id, Status::from(&e))),
                };
                let mut max_bytes = self.config.max_bytes_per_request;
                if let Some(hook) = &self.hook {
                    let incoming = hook::Incoming {
                        id,
                        root: &root,
                        selector: &selector,
                        extensions: &extensions,
                    };
                    match hook.admit(peer, &incoming) {
                        Admission::Allow => {}
                        Admission::AllowUpTo { bytes } => max_bytes = max_bytes.min(bytes),
                        Admission::Reject { status, reason } => {
                            let status = if status.is_error() {
                                status
                            } else {
                                Status::Rejected
                            };
                            return Some(Response {
                                extensions: hook::rejection_extensions(&reason),
                                ..status_only(id, status)
                            });
                        }
                    }
                }
                let group = extensions.dedup_by_key.clone();
                let mut task = Task {
                    id,
                    root,
                    extensions: Extensions {
                        do_not_send_cids: None,
                        ..extensions.clone()
                    },
                    bytes_sent: 0,
                    blocks_sent: 0,
                    max_bytes,
                    traversal,
                    loads: 0,
                    skip_first: extensions.do_not_send_first_blocks.unwrap_or(0),
                    group: group.clone(),
                    sent: Vec::new(),
                    any_missing: false,
                    root_missing: false,
                    carry: None,
                    started: Instant::now(),
                };
                let sent = state.groups.entry(group).or_default();
                for cid in extensions.do_not_send_cids.unwrap_or_default() {
                    *sent.entry(cid).or_default() += 1;
                    task.sent.push(cid);
                }
                state.tasks.push(task);
                None
            }
        }
    }

    /// Stops a request of `peer` in flight; the answer carries status 35.
    pub fn cancel(&mut self, peer: &P, id: &RequestId) -> Option<Response> {
        let state = self.peers.get_mut(peer)?;
        let pos = state.tasks.iter().position(|t| t.id == *id)?;
        let task = state.tasks.remove(pos);
        release(state, &task);
        report(self.hook.as_ref(), peer, &task, Some(Status::Cancelled));
        Some(status_only(task.id, Status::Cancelled))
    }

    /// Forgets a peer (disconnected): its requests end without an answer.
    pub fn remove_peer(&mut self, peer: &P) {
        if let Some(state) = self.peers.remove(peer) {
            for task in &state.tasks {
                report(self.hook.as_ref(), peer, task, None);
            }
        }
    }

    /// Records that the transport wrote `bytes` of block data to `peer`.
    pub fn acknowledge(&mut self, peer: &P, bytes: usize) {
        if let Some(state) = self.peers.get_mut(peer) {
            state.buffered = state.buffered.saturating_sub(bytes);
        }
    }

    /// The next message for `peer`, advancing one of its requests; `None` when
    /// it has none in flight or its unacknowledged bytes exceed the budget.
    /// Store errors other than a missing block end that request with 32.
    pub fn poll<BS: BlockstoreExt + ?Sized>(&mut self, peer: &P, store: &BS) -> Option<Message> {
        let config = self.config;
        let state = self.peers.get_mut(peer)?;
        if state.tasks.is_empty() || state.buffered > config.max_buffered_bytes_per_peer {
            return None;
        }
        let idx = state.next % state.tasks.len();
        let Peer { tasks, groups, .. } = &mut *state;
        let task = tasks.get_mut(idx)?;
        let sent = groups.entry(task.group.clone()).or_default();
        let (message, done) = step_task(task, sent, store, &config);
        let bytes: usize = message.blocks.iter().map(|b| b.data.len()).sum();
        task.bytes_sent = task.bytes_sent.saturating_add(bytes as u64);
        task.blocks_sent = task.blocks_sent.saturating_add(message.blocks.len() as u64);
        state.buffered += bytes;
        if done {
            let task = state.tasks.remove(idx);
            release(state, &task);
            let status = message.responses.first().map(|r| r.status);
            report(self.hook.as_ref(), peer, &task, status);
        } else {
            state.next = idx + 1;
        }
        Some(message)
    }
}

/// Tells the hook, if any, what an ended task served.
fn report<P>(hook: Option<&Arc<dyn ServeHook<P>>>, peer: &P, task: &Task, status: Option<Status>) {
    if let Some(hook) = hook {
        hook.served(
            peer,
            &Served {
                id: task.id,
                root: &task.root,
                extensions: &task.extensions,
                bytes: task.bytes_sent,
                blocks: task.blocks_sent,
                status,
            },
        );
    }
}

/// Releases a finished task's hold on its group's sent-set.
fn release(state: &mut Peer, task: &Task) {
    let group_empty = match state.groups.get_mut(&task.group) {
        Some(sent) => {
            for cid in &task.sent {
                if let Some(n) = sent.get_mut(cid) {
                    *n -= 1;
                    if *n == 0 {
                        sent.remove(cid);
                    }
                }
            }
            sent.is_empty()
        }
        None => false,
    };
    if group_empty {
        state.groups.remove(&task.group);
    }
}

/// Advances `task` until a message is full or the request ends; returns the
/// message and whether the request ended.
fn step_task<BS: BlockstoreExt + ?Sized>(
    task: &mut Task,
    sent: &mut HashMap<Cid, usize>,
    store: &BS,
    config: &ResponderConfig,
) -> (Message, bool) {
    let mut meta = Vec::new();
    let mut blocks: Vec<Block> = Vec::new();
    let mut block_bytes = 0usize;
    let mut in_message: HashSet<Cid> = HashSet::new();
    // Why the request ended early, told to the requester.
    let mut reason: Option<String> = None;
    let work_until = task
        .traversal
        .work()
        .saturating_add(config.max_work_per_message);
    let status = loop {
        if meta.len() >= config.max_links_per_message {
            break Status::PartialResponse;
        }
        if task.started.elapsed() > config.max_request_duration {
            reason = Some(format!(
                "request exceeded its time budget of {:?}",
                config.max_request_duration
            ));
            break Status::Unknown;
        }
        // The next link and its block: carried over, or loaded now.
        let (cid, data) = match task.carry.take() {
            Some(carried) => carried,
            None => match task
                .traversal
                .poll_link(work_until.saturating_sub(task.traversal.work()))
            {
                // This message's slice of work is spent: send what it has.
                Ok(Poll::Pending) => break Status::PartialResponse,
                Ok(Poll::Ready(None)) => {
                    break if task.root_missing {
                        Status::ContentNotFound
                    } else if task.any_missing {
                        Status::CompletedPartial
                    } else {
                        Status::CompletedFull
                    }
                }
                Err(e) => {
                    reason = budget_reason(&e);
                    break Status::Unknown;
                }
                // Our own blocks, to be hashed by the requester: a store may
                // skip re-hashing the ones it hashed itself.
                Ok(Poll::Ready(Some(cid))) => match store.get_trusted_shared(&cid) {
                    Ok(Some(data)) if data.len() <= config.max_block_size => (cid, Some(data)),
                    Ok(_) | Err(tau_ipld::Error::CidMismatch { .. }) => (cid, None),
                    Err(_) => break Status::Unknown,
                },
            },
        };
        task.loads += 1;
        let send = match &data {
            Some(_) => {
                task.loads > task.skip_first
                    && !sent.contains_key(&cid)
                    && !in_message.contains(&cid)
            }
            None => false,
        };
        let len = data.as_ref().map_or(0, bytes::Bytes::len);
        if send {
            let blocks_total = task.blocks_sent + blocks.len() as u64 + 1;
            let bytes_total = task.bytes_sent + (block_bytes + len) as u64;
            if blocks_total > config.max_blocks_per_request {
                reason = Some(format!(
                    "request exceeded its budget of {} blocks",
                    config.max_blocks_per_request
                ));
                break Status::Unknown;
            }
            if bytes_total > task.max_bytes {
                reason = Some(format!(
                    "request exceeded its budget of {} bytes",
                    task.max_bytes
                ));
                break Status::Unknown;
            }
        }
        if send && !blocks.is_empty() && block_bytes + len > config.max_block_bytes_per_message {
            task.loads -= 1;
            task.carry = Some((cid, data));
            break Status::PartialResponse;
        }
        // Walk the block before announcing it: a block that cannot be walked
        // ends the request (as go, without a metadata entry for it).
        if let Err(e) = task.traversal.provide_shared(data.clone()) {
            reason = budget_reason(&e);
            break Status::Unknown;
        }
        let action = match data {
            None => {
                task.any_missing = true;
                if task.loads == 1 {
                    task.root_missing = true;
                }
                LinkAction::Missing
            }
            Some(data) if send => {
                *sent.entry(cid).or_default() += 1;
                task.sent.push(cid);
                in_message.insert(cid);
                block_bytes += data.len();
                blocks.push(Block::new(&cid, data));
                LinkAction::Present
            }
            Some(_) if in_message.contains(&cid) => LinkAction::Present,
            Some(_) => LinkAction::DuplicateNotSent,
        };
        meta.push(Metadatum { link: cid, action });
    };
    let message = Message {
        responses: vec![Response {
            id: task.id,
            status,
            metadata: meta,
            extensions: reason
                .map(|r| hook::rejection_extensions(&r))
                .unwrap_or_default(),
        }],
        blocks,
        ..Message::default()
    };
    (message, status.is_terminal())
}

/// The reason told to the requester when a traversal error is a budget of
/// ours running out (other errors end the request with a bare 32, as go).
fn budget_reason(e: &Error) -> Option<String> {
    matches!(
        e,
        Error::LinkBudget(_) | Error::WorkBudget(_) | Error::SelectorState(_)
    )
    .then(|| e.to_string())
}

impl From<&Error> for Status {
    /// The status a responder answers a failed request with: 30 for selectors
    /// it refuses, 32 otherwise.
    fn from(e: &Error) -> Status {
        match e {
            Error::InvalidSelector(_)
            | Error::UnsupportedSelector(_)
            | Error::SelectorTooLarge { .. }
            | Error::RecursionLimit { .. } => Status::Rejected,
            _ => Status::Unknown,
        }
    }
}

#[cfg(test)]
mod tests;
