//! The state the node's tasks share (`Inner`) and what every task does with it:
//! lock the core, send swarm commands, emit events, persist.

use std::collections::VecDeque;
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex, MutexGuard};

use libp2p::{Multiaddr, PeerId};
use rand::rngs::StdRng;
use tau_graphsync::net::Graphsync;
use tau_hamt::ByteBudget;
use tokio::sync::{broadcast, mpsc, watch};
use tokio::task::JoinHandle;

use crate::config::NodeConfig;
use crate::core::Core;
use crate::discovery::Relays;
use crate::gc;
use crate::handle::NodeEvent;
use crate::serve::Host;
use crate::serving::AnswerSnapshot;
use crate::store::{self, NodeStore};
use crate::swarm::Command;

pub(crate) struct Inner {
    pub(crate) config: NodeConfig,
    pub(crate) core: Mutex<Core>,
    pub(crate) store: NodeStore,
    pub(crate) graphsync: Graphsync,
    pub(crate) host: Arc<Host>,
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

impl Inner {
    pub(crate) fn core(&self) -> MutexGuard<'_, Core> {
        lock(&self.core)
    }

    /// The core if nobody holds it (periodic work skips a busy tick rather
    /// than park an async worker behind a long validation).
    pub(crate) fn try_core(&self) -> Option<MutexGuard<'_, Core>> {
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
    pub(crate) fn persist(&self, core: &Core) {
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
