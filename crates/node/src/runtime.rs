//! The node's owner task ([`run`]) and the state it shares with its workers
//! (`Shared`).
//!
//! One task runs the node: it receives the swarm's reports, the incoming
//! head requests, its timers (process A's mining check, process B's poll,
//! the garbage collector's interval and wake-up) and the results of the
//! workers it started, as [`Message`]s or select branches, in one loop.
//! It never awaits network I/O or long CPU work itself: mining, process B's
//! tick (the vote's `PassSnapshot::decide`), a collection's mark run as
//! blocking workers (at most one of each kind at a time, so their results
//! are bounded), a head request is answered and a peer asked (Graphsync
//! fetches, validation, catch-up) by async workers within the bounds of
//! `serving` and `process_b`. Workers read and write the consensus state
//! (`NodeState`) under a brief lock.

use std::collections::VecDeque;
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex, MutexGuard};

use libp2p::{Multiaddr, PeerId};
use rand::rngs::StdRng;
use tau_graphsync::net::Graphsync;
use tau_ipld::ByteBudget;
use tokio::sync::{broadcast, mpsc, watch};
use tokio::task::{JoinHandle, JoinSet};

use crate::config::NodeConfig;
use crate::discovery::Relays;
use crate::gc;
use crate::handle::NodeEvent;
use crate::process_b::{ask_peer, Poll};
use crate::serve::AttachmentHost;
use crate::serving::AnswerSnapshot;
use crate::serving::HeadServer;
use crate::state::NodeState;
use crate::store::{self, NodeStore};
use crate::swarm::{Command, SwarmReport};
use crate::{process_a, process_b, protocol::HEAD_PROTOCOL};

pub(crate) struct Shared {
    pub(crate) config: NodeConfig,
    pub(crate) core: Mutex<NodeState>,
    pub(crate) store: NodeStore,
    pub(crate) graphsync: Graphsync,
    pub(crate) host: Arc<AttachmentHost>,
    pub(crate) control: libp2p_stream::Control,
    pub(crate) commands: mpsc::UnboundedSender<Command>,
    pub(crate) events: broadcast::Sender<NodeEvent>,
    pub(crate) local: PeerId,
    pub(crate) listen_addrs: Mutex<Vec<Multiaddr>>,
    pub(crate) relays: Mutex<Relays>,
    /// Held while a catch-up runs.
    pub(crate) catching_up: tokio::sync::Mutex<()>,
    /// Bytes of unchecked peer blocks all quarantines hold together.
    pub(crate) quarantined: Arc<ByteBudget>,
    /// Peers random walks found.
    pub(crate) walked: Mutex<std::collections::BTreeSet<PeerId>>,
    pub(crate) rng: Mutex<StdRng>,
    pub(crate) tasks: Mutex<Vec<JoinHandle<()>>>,
    /// Short-lived tasks (asks, answers), aborted at shutdown.
    pub(crate) workers: Mutex<tokio::task::JoinSet<()>>,
    pub(crate) shutdown: watch::Sender<bool>,
    /// What head requests are answered with, kept apart from the core.
    pub(crate) snapshot: Mutex<AnswerSnapshot>,
    /// Transactions peers sent with head requests, taken into the mempool
    /// by process B's next tick.
    pub(crate) relayed: Mutex<VecDeque<tau_state::SignedTransaction>>,
    /// Work that writes blocks before a root or the core refers to them (an
    /// upload until its pin, a validated chain until the core holds it); a
    /// collection waits for what started before its barrier.
    pub(crate) in_flight: gc::InFlight,
    /// Wakes the collector before its interval (after a refused catch-up).
    pub(crate) gc_wake: tokio::sync::Notify,
    /// Set at shutdown: a running collection stops.
    pub(crate) gc_cancel: Arc<AtomicBool>,
}

pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl Shared {
    pub(crate) fn core(&self) -> MutexGuard<'_, NodeState> {
        lock(&self.core)
    }

    /// The core if nobody holds it (periodic work skips a busy tick rather
    /// than park an async worker behind a long validation).
    pub(crate) fn try_core(&self) -> Option<MutexGuard<'_, NodeState>> {
        match self.core.try_lock() {
            Ok(core) => Some(core),
            Err(std::sync::TryLockError::Poisoned(poisoned)) => Some(poisoned.into_inner()),
            Err(std::sync::TryLockError::WouldBlock) => None,
        }
    }

    /// A ticket for work that writes blocks before anything kept refers to
    /// them (see `gc::InFlight`): hold it until they are pinned or in the core.
    pub(crate) fn writing_blocks(&self) -> gc::Writing<'_> {
        self.in_flight.enter()
    }

    pub(crate) fn command(&self, command: Command) {
        let _ = self.commands.send(command);
    }

    pub(crate) fn emit(&self, event: NodeEvent) {
        let _ = self.events.send(event);
    }

    /// Writes head, safety point and own pending transactions (one redb
    /// transaction).
    pub(crate) fn persist(&self, core: &NodeState) {
        let mut roots = vec![(store::HEAD, core.head())];
        if let Some(safety) = core.safety() {
            roots.push((store::SAFETY, safety.root));
        }
        let written = core
            .encode_intents()
            .and_then(|pending| self.store.set_roots_with_pending(&roots, pending));
        if let Err(e) = written {
            tracing::error!("persisting head, safety point and pending transactions: {e}");
        }
    }

    pub(crate) fn persist_pending(&self) {
        if let Err(e) = self.store.save_pending_service(&self.host.pending()) {
            tracing::error!("persisting served downloads: {e}");
        }
    }
}

/// What the owner's workers report back (one worker of each kind runs at a
/// time, so at most three are pending).
pub(crate) enum Message {
    /// Process A's tick ended: the block it mined, if any.
    Mined(Option<NodeEvent>),
    /// Process B's tick ended (`None`: the core was busy).
    Polled(Option<Poll>),
    /// A garbage collection ended.
    Collected,
}

/// The owner task: runs until shutdown. `reports` comes from the swarm task
/// (one report per swarm event it forwards; the swarm's connection limits
/// bound how many a peer can cause).
pub(crate) async fn run(
    inner: Arc<Shared>,
    mut reports: mpsc::UnboundedReceiver<SwarmReport>,
    mut shutdown: watch::Receiver<bool>,
) {
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
    let mut control = inner.control.clone();
    let mut incoming = match control.accept(HEAD_PROTOCOL) {
        Ok(incoming) => Some(incoming),
        Err(e) => {
            tracing::error!("cannot serve {HEAD_PROTOCOL}: {e}");
            None
        }
    };
    let heads = HeadServer::new();
    // The blocking workers in progress (their results come back here).
    let mut jobs: JoinSet<Message> = JoinSet::new();
    let (mut mining, mut polling, mut collecting) = (false, false, false);
    let mut known = (0usize, 0usize);
    let mut swarm_open = true;
    loop {
        tokio::select! {
            _ = shutdown.changed() => break,
            report = reports.recv(), if swarm_open => match report {
                Some(report) => {
                    inner.on_swarm_report(report);
                    let now = inner.peer_counts();
                    if now != known {
                        known = now;
                        inner.persist_peers();
                    }
                }
                // The swarm stopped (at shutdown): the processes go on
                // until the shutdown signal, as the node's tasks did.
                None => swarm_open = false,
            },
            next = next_stream(&mut incoming) => match next {
                Some((peer, stream)) => heads.admit(&inner, peer, stream),
                None => incoming = None,
            },
            _ = mine_tick.tick(), if !mining => {
                mining = true;
                let worker = inner.clone();
                jobs.spawn(async move {
                    let mined = tokio::task::spawn_blocking(move || process_a::mine(&worker));
                    Message::Mined(mined.await.ok().flatten())
                });
            }
            _ = poll_tick.tick(), if !polling => {
                polling = true;
                inner.renew_relays();
                let worker = inner.clone();
                jobs.spawn(async move {
                    let polled = tokio::task::spawn_blocking(move || process_b::poll(&worker));
                    Message::Polled(polled.await.ok().flatten())
                });
            }
            _ = &mut gc_timer, if gc_timed && !collecting => {
                collecting = true;
                jobs.spawn(collect(inner.clone()));
            }
            _ = inner.gc_wake.notified(), if collects && !collecting => {
                collecting = true;
                jobs.spawn(collect(inner.clone()));
            }
            Some(done) = jobs.join_next(), if !jobs.is_empty() => match done {
                Ok(Message::Mined(event)) => {
                    mining = false;
                    if let Some(event) = event {
                        inner.emit(event);
                    }
                }
                Ok(Message::Polled(poll)) => {
                    polling = false;
                    if let Some(poll) = poll {
                        inner.start_asks(poll);
                    }
                }
                Ok(Message::Collected) => {
                    collecting = false;
                    // The interval counts from the end of a collection.
                    gc_timer.as_mut().reset(tokio::time::Instant::now() + timing.gc_interval);
                }
                // The wrappers catch their blocking job's failure, so this
                // is only an abort (at shutdown).
                Err(e) => tracing::debug!("node worker: {e}"),
            },
        }
    }
}

/// The next incoming head stream; pending forever once there are none.
async fn next_stream(
    incoming: &mut Option<libp2p_stream::IncomingStreams>,
) -> Option<(PeerId, libp2p::Stream)> {
    match incoming {
        Some(incoming) => futures::StreamExt::next(incoming).await,
        None => std::future::pending().await,
    }
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

impl Shared {
    /// Emits a process-B tick's events and starts its asks as workers.
    fn start_asks(self: &Arc<Self>, poll: Poll) {
        for event in poll.events {
            self.emit(event);
        }
        let mut workers = lock(&self.workers);
        while workers.try_join_next().is_some() {}
        for (peer, addrs) in poll.asks {
            let worker = self.clone();
            let transactions = poll.transactions.clone();
            workers.spawn(async move { ask_peer(worker, peer, addrs, transactions).await });
        }
    }
}
