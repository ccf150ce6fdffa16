//! The node's owner task ([`run`], [`Owner`]), what it shares with its
//! workers and the handle ([`Shared`]), and the messages between them.
//!
//! One task owns the node: its consensus state ([`NodeState`]), the relays,
//! the peers random walks found, its listen addresses, the head-request
//! answer and the queue of relayed transactions. Nothing else holds them, so
//! nothing locks them. The task receives, in one loop:
//!
//! * the swarm's reports (head requests among them, answered at once),
//! * its timers: process A's mining check, process B's poll, the garbage
//!   collector's interval and wake-up,
//! * [`Request`]s from its workers and from [`NodeHandle`](crate::NodeHandle)
//!   (each carrying a reply channel where it needs an answer),
//! * the results of the workers it started ([`Message`]).
//!
//! It never awaits network I/O or long CPU work: producing a block, the
//! vote's clique oracle, a collection's mark and the validation of a peer's
//! chain run in workers on copies (a chain clone over the shared store, a
//! pass snapshot), and their results come back as messages the owner applies
//! to the state. After each change it publishes a [`View`] (head, safety
//! point, peers…) that the handle's getters read without asking it.

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use cid::Cid;
use libp2p::{Multiaddr, PeerId};
use rand::rngs::StdRng;
use tau_cbc::{AnswerVerdict, CatchUp, ChainView, PassDecision, PeerAnswer, ViewEntry, WalkBack};
use tau_graphsync::net::Graphsync;
use tau_ipld::{ByteBudget, SharedStore};
use tau_keys::Address;
use tau_state::{Executor, Produced, TxBody};
use tokio::sync::{broadcast, mpsc, oneshot, watch};
use tokio::task::{JoinHandle, JoinSet};

use crate::config::NodeConfig;
use crate::discovery::Relays;
use crate::gc;
use crate::handle::{ChainPoint, NodeEvent};
use crate::protocol::HeadAnswer;
use crate::relay_queue::RelayQueue;
use crate::serve::AttachmentHost;
use crate::state::{NodeState, Validation};
use crate::store::{self, NodeStore};
use crate::swarm::{Command, SwarmReport};
use crate::Result;

/// What the owner, its workers and the handle share: configuration, the
/// store, the channels to the swarm and the owner, and the published view.
/// It holds no consensus state.
pub(crate) struct Shared {
    pub(crate) config: NodeConfig,
    pub(crate) local: PeerId,
    /// The node's TAU address.
    pub(crate) address: Address,
    /// The chain over the store, for reads at a published root (its warm
    /// state is its own, not the owner's).
    pub(crate) chain: Executor<SharedStore>,
    pub(crate) store: NodeStore,
    pub(crate) graphsync: Graphsync,
    pub(crate) host: Arc<AttachmentHost>,
    pub(crate) commands: mpsc::UnboundedSender<Command>,
    /// To the owner. Unbounded, but each worker has at most one request
    /// out and the workers are bounded (see `process_b`).
    pub(crate) requests: mpsc::UnboundedSender<Request>,
    /// What the owner published last.
    pub(crate) view: watch::Receiver<View>,
    /// What the follower published last (`follower`).
    pub(crate) follow_status: watch::Sender<crate::follower::FollowStatus>,
    pub(crate) events: broadcast::Sender<NodeEvent>,
    /// Process A runs (set by the handle, read by the owner).
    pub(crate) mining: AtomicBool,
    /// Peer views taken into the vote since start.
    pub(crate) views_counted: std::sync::atomic::AtomicU64,
    /// Peer views refused (forged, dated in the future) since start.
    pub(crate) views_refused: std::sync::atomic::AtomicU64,
    /// The relayed-transaction queue's figures (written by the owner).
    pub(crate) relayed: Mutex<crate::handle::RelayedQueue>,
    /// Bytes of unchecked peer blocks all quarantines hold together.
    pub(crate) quarantined: Arc<ByteBudget>,
    /// Work that writes blocks before a root or the state refers to them (an
    /// upload until its pin, a validated chain or a mined block until the
    /// owner took it); a collection waits for what started before its
    /// barrier.
    pub(crate) in_flight: Arc<gc::InFlight>,
    /// Wakes the collector before its interval (after a refused catch-up).
    pub(crate) gc_wake: tokio::sync::Notify,
    /// Set at shutdown: a running collection and downloads stop.
    pub(crate) stopping: Arc<AtomicBool>,
    pub(crate) shutdown: watch::Sender<bool>,
    /// The swarm and owner tasks, taken once by the handle's shutdown.
    pub(crate) tasks: Mutex<Vec<JoinHandle<()>>>,
}

pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl Shared {
    /// A ticket for work that writes blocks before anything kept refers to
    /// them (see `gc::InFlight`): hold it until they are pinned or the owner
    /// took them.
    pub(crate) fn writing_blocks(&self) -> gc::Writing {
        self.in_flight.enter()
    }

    pub(crate) fn command(&self, command: Command) {
        let _ = self.commands.send(command);
    }

    pub(crate) fn emit(&self, event: NodeEvent) {
        let _ = self.events.send(event);
    }

    /// Tells the owner something that needs no answer.
    pub(crate) fn tell(&self, request: Request) {
        let _ = self.requests.send(request);
    }

    /// Asks the owner and waits for its answer; `None` once it stopped.
    pub(crate) async fn ask<T>(
        &self,
        request: impl FnOnce(oneshot::Sender<T>) -> Request,
    ) -> Option<T> {
        let (reply, answer) = oneshot::channel();
        self.requests.send(request(reply)).ok()?;
        answer.await.ok()
    }

    /// [`ask`](Self::ask) from a blocking worker.
    pub(crate) fn ask_blocking<T>(
        &self,
        request: impl FnOnce(oneshot::Sender<T>) -> Request,
    ) -> Option<T> {
        let (reply, answer) = oneshot::channel();
        self.requests.send(request(reply)).ok()?;
        answer.blocking_recv().ok()
    }

    pub(crate) fn persist_pending(&self) {
        if let Err(e) = self.store.save_pending_service(&self.host.pending()) {
            tracing::error!("persisting served downloads: {e}");
        }
    }
}

/// What the owner last published, for the handle's getters.
#[derive(Debug, Clone)]
pub(crate) struct View {
    pub(crate) head: ChainPoint,
    pub(crate) safety: Option<ChainPoint>,
    /// Peers of the table (with addresses).
    pub(crate) peers: Vec<PeerId>,
    pub(crate) marked: Vec<PeerId>,
    pub(crate) walked: Vec<PeerId>,
    pub(crate) relays: Vec<PeerId>,
    pub(crate) reservations: Vec<PeerId>,
    pub(crate) listen_addrs: Vec<Multiaddr>,
    /// Own pending transactions by ticket (see `NodeState::tickets`).
    pub(crate) tickets: Vec<(u64, Option<u64>)>,
    /// Transactions in the mempool.
    pub(crate) mempool: usize,
}

/// What workers and the handle ask of the owner.
pub(crate) enum Request {
    /// Process B: screen `peer`'s answer; `Err` with the verdict when there
    /// is nothing to validate, else what validating its view needs.
    Screen {
        peer: PeerId,
        answer: HeadAnswer,
        reply:
            oneshot::Sender<std::result::Result<(PeerAnswer<PeerId>, Validation), AnswerVerdict>>,
    },
    /// Process B: take `peer`'s view as validated on `seen`. A
    /// [`AnswerVerdict::CatchUp`] reply makes the asker the one catch-up
    /// (it ends with [`Request::CatchUpEnded`]).
    TakeView {
        peer: PeerId,
        answer: PeerAnswer<PeerId>,
        collected: Box<tau_cbc::Result<ChainView>>,
        seen: Box<Executor<SharedStore>>,
        /// Ends once the owner took the view.
        writing: gc::Writing,
        reply: oneshot::Sender<AnswerVerdict>,
    },
    /// Process B: peers a peer's answer names as mining.
    Learn(Vec<(PeerId, Vec<Multiaddr>)>),
    /// A failed exchange with `peer`; marked for `reason` if it strikes out.
    Strike {
        peer: PeerId,
        fatal: bool,
        reason: String,
    },
    /// `peer` could not be reached this pass.
    Unreachable(PeerId),
    /// A catch-up step: the state to reach and the validation context.
    CatchUpAnchor(oneshot::Sender<Result<(ViewEntry, Validation)>>),
    /// A catch-up step ended with its walk back.
    CatchUpStep {
        peer: PeerId,
        head: Cid,
        anchor: ViewEntry,
        walk: WalkBack,
        writing: gc::Writing,
        reply: oneshot::Sender<Result<CatchUp>>,
    },
    /// The catch-up ended.
    CatchUpEnded,
    /// The collector: the states of the chain it keeps.
    ChainRoots(oneshot::Sender<gc::ChainRoots>),
    /// The handle: queue an own transaction; its ticket.
    Submit {
        body: TxBody,
        fee: u64,
        reply: oneshot::Sender<Result<u64>>,
    },
    /// The handle: offer a transaction signed elsewhere (a wallet) to the
    /// mempool; it is relayed with the next asks and mined.
    Admit {
        transaction: Box<tau_state::SignedTransaction>,
        reply: oneshot::Sender<Result<tau_state::mempool::Admission>>,
    },
    /// The handle: the known addresses of `peers`.
    Addresses {
        peers: Vec<PeerId>,
        reply: oneshot::Sender<Vec<Vec<Multiaddr>>>,
    },
}

/// The results of the owner's own workers (at most one of each kind runs).
pub(crate) enum Message {
    /// Process A produced a state on `on` (or failed to).
    Mined {
        on: Cid,
        produced: Result<Produced>,
        /// Served downloads the block's log covers.
        covered: usize,
        writing: gc::Writing,
    },
    /// Process B's vote was decided (`None`: the worker failed).
    Decided(Option<PassDecision>),
    /// A garbage collection ended.
    Collected,
}

/// The node's state and everything else only the owner task touches.
pub(crate) struct Owner {
    pub(crate) inner: Arc<Shared>,
    pub(crate) state: NodeState,
    pub(crate) relays: Relays,
    /// Peers random walks found.
    pub(crate) walked: BTreeSet<PeerId>,
    pub(crate) listen_addrs: Vec<Multiaddr>,
    /// What head requests are answered with (see `Owner::refresh_answer`).
    pub(crate) answer: Option<bytes::Bytes>,
    /// Transactions peers sent with head requests, a FIFO per peer, taken
    /// into the mempool round-robin by process B's ticks.
    pub(crate) relayed: RelayQueue<PeerId, tau_state::SignedTransaction>,
    pub(crate) rng: StdRng,
    /// A catch-up runs (in one of the asks).
    pub(crate) catching_up: bool,
    /// Process B's asks in flight.
    pub(crate) asks: JoinSet<()>,
    pub(crate) view: watch::Sender<View>,
    /// Peers and relays counted at the last persist.
    pub(crate) known: (usize, usize),
}

impl Owner {
    /// Writes head, safety point and own pending transactions (one redb
    /// transaction).
    pub(crate) fn persist(&self) {
        let state = &self.state;
        let mut roots = vec![(store::HEAD, state.head())];
        if let Some(safety) = state.safety() {
            roots.push((store::SAFETY, safety.root));
        }
        let written = state
            .encode_intents()
            .and_then(|pending| self.inner.store.set_roots_with_pending(&roots, pending));
        if let Err(e) = written {
            tracing::error!("persisting head, safety point and pending transactions: {e}");
        }
    }

    /// Publishes what the handle reads.
    pub(crate) fn publish(&self) {
        self.view.send_replace(self.snapshot_view());
    }

    pub(crate) fn snapshot_view(&self) -> View {
        let state = &self.state;
        let point = |e: &ViewEntry| ChainPoint {
            root: e.root,
            number: e.number,
        };
        View {
            head: point(state.head_entry()),
            safety: state.safety().map(point),
            peers: state.addresses.keys().copied().collect(),
            marked: state.engine().marked().iter().copied().collect(),
            walked: self.walked.iter().copied().collect(),
            relays: self.relays.known().keys().copied().collect(),
            reservations: self.relays.reservations().iter().copied().collect(),
            listen_addrs: self.listen_addrs.clone(),
            tickets: state.tickets(),
            mempool: state.mempool.len(),
        }
    }

    /// Answers a worker's or the handle's request.
    fn on_request(&mut self, request: Request) {
        match request {
            Request::Screen {
                peer,
                answer,
                reply,
            } => {
                let _ = reply.send(self.state.prepare_receive(peer, &answer));
            }
            Request::TakeView {
                peer,
                answer,
                collected,
                seen,
                writing,
                reply,
            } => {
                let verdict = self.take_view(peer, &answer, *collected, &seen);
                drop(writing);
                let _ = reply.send(verdict);
            }
            Request::Learn(peers) => {
                for (peer, addrs) in peers {
                    self.state.add_peer(peer, addrs);
                }
            }
            Request::Strike {
                peer,
                fatal,
                reason,
            } => {
                if self.state.strike(peer, fatal) {
                    self.mark(peer, reason);
                }
            }
            Request::Unreachable(peer) => self.state.unreachable(peer),
            Request::CatchUpAnchor(reply) => {
                let _ = reply.send(self.state.prepare_catch_up());
            }
            Request::CatchUpStep {
                peer,
                head,
                anchor,
                walk,
                writing,
                reply,
            } => {
                let step = self.catch_up_step(peer, head, &anchor, walk);
                drop(writing);
                let _ = reply.send(step);
            }
            Request::CatchUpEnded => self.catching_up = false,
            Request::ChainRoots(reply) => {
                let _ = reply.send(gc::ChainRoots::of(&self.state));
            }
            Request::Submit { body, fee, reply } => {
                let ticket = self.state.submit(body, fee);
                if ticket.is_ok() {
                    self.persist();
                    // Before the reply: the caller's next `included` or
                    // `pending_transactions` must see the ticket.
                    self.publish();
                }
                let _ = reply.send(ticket);
            }
            Request::Admit { transaction, reply } => {
                let admitted = self
                    .state
                    .admit_transactions(vec![*transaction], crate::state::unix_now())
                    // One outcome per transaction offered: never empty.
                    .and_then(|mut outcomes| outcomes.pop().ok_or(crate::Error::Stopped));
                // Before the reply, as for `Submit` (the mempool size).
                self.publish();
                let _ = reply.send(admitted);
            }
            Request::Addresses { peers, reply } => {
                let addrs = peers
                    .iter()
                    .map(|p| self.state.addresses.get(p).cloned().unwrap_or_default())
                    .collect();
                let _ = reply.send(addrs);
            }
        }
    }

    /// Applies a finished worker's result.
    fn on_message(&mut self, message: Message, jobs: &mut Jobs) {
        match message {
            Message::Mined {
                on,
                produced,
                covered,
                writing,
            } => {
                jobs.mining = false;
                self.mined(on, produced, covered);
                drop(writing);
            }
            Message::Decided(decision) => {
                jobs.deciding = false;
                if let Some(decision) = decision {
                    self.decided(decision);
                }
            }
            Message::Collected => jobs.collecting = false,
        }
    }
}

/// Which of the owner's workers run.
#[derive(Default)]
pub(crate) struct Jobs {
    pub(crate) mining: bool,
    pub(crate) deciding: bool,
    pub(crate) collecting: bool,
}

/// The owner task: runs until shutdown, then writes what a restart needs
/// and stops the swarm. `reports` comes from the swarm task (one report per
/// swarm event it forwards; the swarm's connection limits bound how many a
/// peer can cause).
pub(crate) async fn run(
    mut owner: Owner,
    mut reports: mpsc::UnboundedReceiver<SwarmReport>,
    mut requests: mpsc::UnboundedReceiver<Request>,
    mut shutdown: watch::Receiver<bool>,
) {
    let inner = owner.inner.clone();
    let timing = inner.config.timing.clone();
    let mut mine_tick = tokio::time::interval(timing.mine_check);
    mine_tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut poll_tick = tokio::time::interval(timing.poll_interval);
    poll_tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    // A node without a data directory collects nothing; an interval of
    // zero collects only when woken.
    let collects = inner.store.redb().is_some();
    let gc_timer = tokio::time::sleep(timing.gc_interval);
    tokio::pin!(gc_timer);
    let gc_timed = collects && !timing.gc_interval.is_zero();
    let mut workers: JoinSet<Message> = JoinSet::new();
    let mut jobs = Jobs::default();
    let mut swarm_open = true;
    loop {
        // Whether the published view may be out of date after this turn.
        let mut changed = true;
        tokio::select! {
            _ = shutdown.changed() => break,
            report = reports.recv(), if swarm_open => match report {
                Some(report) => {
                    changed = report.changes_view();
                    owner.on_swarm_report(report);
                    owner.persist_peers_if_changed();
                }
                // The swarm stopped: the processes go on until shutdown.
                None => swarm_open = false,
            },
            Some(request) = requests.recv() => owner.on_request(request),
            _ = mine_tick.tick(), if !jobs.mining => {
                jobs.mining = owner.start_mining(&mut workers);
            }
            _ = poll_tick.tick() => {
                jobs.deciding |= owner.poll(&mut workers, jobs.deciding);
            }
            _ = &mut gc_timer, if gc_timed && !jobs.collecting => {
                jobs.collecting = true;
                workers.spawn(collect(inner.clone()));
            }
            _ = inner.gc_wake.notified(), if collects && !jobs.collecting => {
                jobs.collecting = true;
                workers.spawn(collect(inner.clone()));
            }
            Some(done) = workers.join_next(), if !workers.is_empty() => match done {
                Ok(message) => {
                    let collected = matches!(message, Message::Collected);
                    owner.on_message(message, &mut jobs);
                    if collected {
                        // The interval counts from the end of a collection.
                        gc_timer.as_mut().reset(tokio::time::Instant::now() + timing.gc_interval);
                    }
                }
                // The wrappers catch their blocking job's failure, so this
                // is only an abort (at shutdown).
                Err(e) => tracing::debug!("node worker: {e}"),
            },
        }
        if changed {
            owner.publish();
        }
    }
    inner.stopping.store(true, Ordering::Relaxed);
    owner.asks.abort_all();
    owner.persist();
    owner.persist_peers();
    inner.persist_pending();
    let (done, stopped) = oneshot::channel();
    inner.command(Command::Stop(done));
    let _ = tokio::time::timeout(std::time::Duration::from_secs(5), stopped).await;
    workers.abort_all();
    while workers.join_next().await.is_some() {}
    while owner.asks.join_next().await.is_some() {}
}

/// One garbage collection as a blocking worker.
async fn collect(inner: Arc<Shared>) -> Message {
    match tokio::task::spawn_blocking(move || inner.collect_garbage()).await {
        Ok(Ok(_)) => {}
        Ok(Err(e)) => tracing::error!("garbage collection: {e}"),
        Err(e) => tracing::error!("garbage collection task: {e}"),
    }
    Message::Collected
}
