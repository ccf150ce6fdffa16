//! The running node: its tasks (swarm, head server, process A, process B)
//! and the [`NodeHandle`] an application holds.

use std::collections::VecDeque;
use std::path::Path;
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use cid::Cid;
use futures::StreamExt as _;
use libp2p::multiaddr::Protocol;
use libp2p::{Multiaddr, PeerId};
use rand::rngs::StdRng;
use rand::SeedableRng;
use tau_graphsync::net::{Graphsync, RequestBudget, SharedStore};
use tau_graphsync::{Extensions, Selector};
use tau_ipld::{Blockstore, ByteBudget, Quarantine};
use tau_keys::Address;
use tau_state::{AttachmentRef, Executor, TxBody};
use tokio::sync::{broadcast, mpsc, oneshot, watch};
use tokio::task::JoinHandle;

use crate::config::NodeConfig;
use crate::core::{unix_now, Core};
use crate::discovery::{self, Relays};
use crate::gc;
use crate::protocol::{self, HeadRequest, HEAD_PROTOCOL};
use crate::serve::Host;
use crate::source::GraphsyncSource;
use crate::store::{self, NodeStore};
use crate::swarm::{self, Command, NetConfig, SwarmReport};
use crate::{Error, Result};
use tau_cbc::{AnswerVerdict, CatchUp, WalkBack};

/// A state on the chain: its root and block number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ChainPoint {
    /// The state root.
    pub root: Cid,
    /// The block number.
    pub number: u64,
}

/// Something that happened in the node.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum NodeEvent {
    /// This node produced a block (process A).
    Mined {
        /// The new head.
        head: ChainPoint,
        /// Transactions it carries.
        transactions: usize,
    },
    /// Fork choice moved the head to a peer's chain (process B).
    HeadChanged {
        /// The new head.
        head: ChainPoint,
        /// Local blocks unwound (0: a pure extension).
        reorg_depth: u64,
    },
    /// The safety point advanced.
    SafetyAdvanced(ChainPoint),
    /// A connection to a peer is up.
    PeerConnected(PeerId),
    /// A random walk of the Kademlia table found this peer (reported once
    /// per peer).
    PeerDiscovered(PeerId),
    /// A relay accepted this node's reservation: it is reachable through it.
    RelayReserved(PeerId),
    /// A peer was marked dishonest (forged chain, garbage, repeated failures).
    PeerMarked {
        /// The peer.
        peer: PeerId,
        /// Why.
        reason: String,
    },
}

/// Builds and starts nodes; see [`NodeBuilder`](crate::NodeBuilder).
#[derive(Debug)]
pub struct Node;

impl Node {
    /// A builder with the defaults.
    pub fn builder() -> crate::NodeBuilder {
        crate::NodeBuilder::default()
    }

    /// Starts a node inside the current tokio runtime (multi-threaded:
    /// block validation runs on the node's tasks).
    pub async fn start(config: NodeConfig) -> Result<NodeHandle> {
        let genesis = config
            .genesis
            .clone()
            .ok_or(Error::Config("a genesis is required"))?;
        let store = match &config.data_dir {
            Some(dir) => NodeStore::open(dir)?,
            None => NodeStore::memory(),
        };
        store.blocks().put_many_keyed(&genesis.blocks)?;
        if let Some(stored) = store.root(store::GENESIS)? {
            if stored != genesis.root {
                return Err(Error::GenesisMismatch {
                    given: Box::new(genesis.root),
                    stored: Box::new(stored),
                });
            }
        }
        store.set_roots(&[(store::GENESIS, genesis.root)])?;
        let chain = Executor::new(store.blocks().clone(), config.chain.clone())?
            .with_warm_state_nodes(config.warm_state_nodes);

        let keypair = crate::identity::libp2p_identity(&config.key)?;
        let local = keypair.public().to_peer_id();
        let listen = if config.behind_nat {
            Vec::new()
        } else if config.listen.is_empty() {
            vec!["/ip4/127.0.0.1/tcp/0"
                .parse()
                .map_err(|_| Error::Config("default listen address"))?]
        } else {
            config.listen.clone()
        };
        let net = NetConfig {
            listen,
            relay_server: config.relay_server,
        };
        let (swarm, listen_addrs) = swarm::build(keypair, &net).await?;

        let core = restore(&store, chain, &config, local, genesis.root)?;
        let host = Arc::new(restore_host(&store, &core, &config)?);
        let control = swarm.behaviour().stream.new_control();
        let graphsync = Graphsync::new(
            control.clone(),
            store.blocks().clone(),
            tau_graphsync::net::Config::default()
                .with_request_timeout(config.timing.request_timeout)
                .with_serve_hook(host.clone()),
        )?;
        let (commands, command_rx) = mpsc::unbounded_channel();
        let (report_tx, report_rx) = mpsc::unbounded_channel();
        let (events, _) = broadcast::channel(1024);
        let (shutdown, shutdown_rx) = watch::channel(false);
        let rng = match config.rng_seed {
            Some(seed) => StdRng::seed_from_u64(seed),
            None => StdRng::from_os_rng(),
        };
        let timing_total = config.timing.total_quarantine_bytes;
        let inner = Arc::new(Inner {
            config,
            core: Mutex::new(core),
            store,
            graphsync,
            host,
            control,
            commands,
            events,
            local,
            listen_addrs: Mutex::new(listen_addrs),
            relays: Mutex::new(Relays::default()),
            walked: Mutex::new(std::collections::BTreeSet::new()),
            catching_up: tokio::sync::Mutex::new(()),
            quarantined: Arc::new(ByteBudget::new(timing_total)),
            snapshot: Mutex::new(AnswerSnapshot::default()),
            relayed: Mutex::new(VecDeque::new()),
            rng: Mutex::new(rng),
            tasks: Mutex::new(Vec::new()),
            workers: Mutex::new(tokio::task::JoinSet::new()),
            shutdown,
            in_flight: gc::InFlight::default(),
            gc_wake: tokio::sync::Notify::new(),
            gc_cancel: Arc::new(AtomicBool::new(false)),
        });
        {
            let core = inner.core();
            inner.refresh_answer(&core);
        }
        for known in inner.store.load_peers()? {
            if known.relay {
                inner.learn_relay(known.id, known.addrs.clone());
            }
            inner.core().add_peer(known.id, known.addrs.clone());
            inner.command(Command::AddKnown(known.id, known.addrs.clone()));
            inner.command(Command::DialPeer(known.id, known.addrs));
        }
        for addr in &inner.config.relays {
            let listen = lock(&inner.relays).configured(addr);
            if let Some(listen) = listen {
                inner.command(Command::ListenVia(listen));
            }
        }
        for addr in &inner.config.bootstrap {
            inner.command(Command::Dial(addr.clone()));
        }
        let tasks = vec![
            tokio::spawn(swarm::drive(
                swarm,
                inner.config.timing.walk_interval,
                command_rx,
                report_tx,
            )),
            tokio::spawn(watch_swarm(inner.clone(), report_rx)),
            tokio::spawn(serve_heads(inner.clone(), shutdown_rx.clone())),
            tokio::spawn(process_b(inner.clone(), shutdown_rx.clone())),
            tokio::spawn(process_a(inner.clone(), shutdown_rx.clone())),
            tokio::spawn(collect_garbage(inner.clone(), shutdown_rx)),
        ];
        *lock(&inner.tasks) = tasks;
        tracing::info!(peer = %local, address = %inner.core().address(), "node started");
        Ok(NodeHandle { inner })
    }
}

/// Loads head and safety point from the store (genesis when none is stored
/// or the stored one is unusable).
fn restore(
    store: &NodeStore,
    chain: Executor<tau_ipld::SharedStore>,
    config: &NodeConfig,
    local: PeerId,
    genesis: Cid,
) -> Result<Core> {
    let head = store.root(store::HEAD)?.unwrap_or(genesis);
    let safety = store.root(store::SAFETY)?;
    let make = |head, safety| {
        Core::new(
            chain.clone(),
            config.key.clone(),
            config.mode,
            config.cbc.clone(),
            local,
            genesis,
            head,
            safety,
        )
    };
    match make(head, safety) {
        Ok(mut core) => {
            if head != genesis {
                tracing::info!("restored head {head}");
            }
            match store.load_pending() {
                Ok(Some(bytes)) => {
                    if let Err(e) = core.restore_intents(&bytes) {
                        tracing::warn!("stored pending transactions unusable: {e}");
                    }
                }
                Ok(None) => {}
                Err(e) => tracing::warn!("reading pending transactions: {e}"),
            }
            Ok(core)
        }
        Err(e) => {
            tracing::warn!("stored head {head} unusable ({e}); starting from genesis");
            make(genesis, None)
        }
    }
}

/// The quota policy of the host: its published profile's `free_quota` at
/// `head`, else the configured default.
fn quota_policy(core: &Core, head: &Cid, default: u64) -> tau_attach::QuotaPolicy {
    let published = core
        .chain
        .state(head)
        .and_then(|s| s.profile(&core.address()))
        .ok()
        .flatten()
        .and_then(|p| p.free_quota);
    tau_attach::QuotaPolicy {
        free_per_address: published.unwrap_or(default),
        ..tau_attach::QuotaPolicy::default()
    }
}

/// The attachment host: usage rebuilt from this node's logs in the state at
/// its head, plus the served downloads not yet in a block.
fn restore_host(store: &NodeStore, core: &Core, config: &NodeConfig) -> Result<Host> {
    let records = core.chain.attachments_logs(&core.head(), &core.address())?;
    let policy = quota_policy(core, &core.head(), config.free_quota);
    Ok(Host::new(
        store.blocks().clone(),
        config.attach,
        policy,
        records,
        store.load_pending_service()?,
    ))
}

struct Inner {
    config: NodeConfig,
    core: Mutex<Core>,
    store: NodeStore,
    graphsync: Graphsync,
    host: Arc<Host>,
    control: libp2p_stream::Control,
    commands: mpsc::UnboundedSender<Command>,
    events: broadcast::Sender<NodeEvent>,
    local: PeerId,
    listen_addrs: Mutex<Vec<Multiaddr>>,
    relays: Mutex<Relays>,
    /// Held while a catch-up runs.
    catching_up: tokio::sync::Mutex<()>,
    /// Bytes of unchecked peer blocks all quarantines hold together.
    quarantined: Arc<ByteBudget>,
    /// Peers random walks found.
    walked: Mutex<std::collections::BTreeSet<PeerId>>,
    rng: Mutex<StdRng>,
    tasks: Mutex<Vec<JoinHandle<()>>>,
    /// Short-lived tasks (asks, answers), aborted at shutdown.
    workers: Mutex<tokio::task::JoinSet<()>>,
    shutdown: watch::Sender<bool>,
    /// What head requests are answered with, kept apart from the core.
    snapshot: Mutex<AnswerSnapshot>,
    /// Transactions peers sent with head requests, taken into the mempool
    /// by process B's next tick.
    relayed: Mutex<VecDeque<tau_state::SignedTransaction>>,
    /// Work that writes blocks before a root or the core refers to them (an
    /// upload until its pin, a validated chain until the core holds it); a
    /// collection waits for what started before its barrier.
    in_flight: gc::InFlight,
    /// Wakes the collector before its interval (after a refused catch-up).
    gc_wake: tokio::sync::Notify,
    /// Set at shutdown: a running collection stops.
    gc_cancel: Arc<AtomicBool>,
}

/// Relayed transactions queued at most between two process-B ticks.
const MAX_RELAYED_QUEUE: usize = 4096;

/// A head request is answered from this copy, never from the core itself, so
/// an answer does not wait while the core validates a peer's chain, catches
/// up or mines. Process B refreshes it every tick (and process A after each
/// block), so it is at most a poll interval old.
#[derive(Default)]
struct AnswerSnapshot {
    /// The encoded answer; `None`: no answer (no safety point within the
    /// mutable range: seed 000, process A step 1).
    answer: Option<Arc<Vec<u8>>>,
    /// Peers marked dishonest (not answered).
    marked: std::collections::BTreeSet<PeerId>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl Inner {
    fn core(&self) -> MutexGuard<'_, Core> {
        lock(&self.core)
    }

    /// The core if nobody holds it (periodic work skips a busy tick rather
    /// than park an async worker behind a long validation).
    fn try_core(&self) -> Option<MutexGuard<'_, Core>> {
        match self.core.try_lock() {
            Ok(core) => Some(core),
            Err(std::sync::TryLockError::Poisoned(poisoned)) => Some(poisoned.into_inner()),
            Err(std::sync::TryLockError::WouldBlock) => None,
        }
    }

    /// A ticket for work that writes blocks before anything kept refers to
    /// them (see `gc::InFlight`): hold it until they are pinned or in the core.
    fn writing_blocks(&self) -> gc::Writing<'_> {
        self.in_flight.enter()
    }

    /// One garbage collection of the redb store (blocking: run it off the
    /// async workers). `None` in memory mode, when a collection already runs
    /// or when an upload or validation that started before it did not end
    /// within [`GC_START_WAIT`].
    fn collect_garbage(&self) -> Result<Option<tau_ipld::blockstore::GcReport>> {
        let Some(redb) = self.store.redb() else {
            return Ok(None);
        };
        let collection = match redb.begin_collection() {
            Ok(collection) => collection.cancel_on(self.gc_cancel.clone()),
            Err(tau_ipld::Error::CollectionRunning) => return Ok(None),
            Err(e) => return Err(e.into()),
        };
        // Work started before the barrier may hold blocks nothing refers to
        // yet: wait for it (work started since is seen by the barrier).
        let mark = self.in_flight.mark();
        if !self.in_flight.wait_before(mark, GC_START_WAIT) {
            tracing::debug!("garbage collection postponed: blocks being written");
            return Ok(None);
        }
        // Read after the barrier rose and that work ended: a root set later
        // was built from blocks the barrier keeps.
        let core_roots = gc::ChainRoots::of(&self.core());
        let stored: Vec<Cid> = redb.roots()?.into_iter().map(|(_, cid)| cid).collect();
        let chain = Executor::new(self.store.blocks().clone(), self.config.chain.clone())?
            .with_warm_state_nodes(0);
        let started = Instant::now();
        let report = gc::finish(
            collection,
            &chain,
            &core_roots,
            &stored,
            self.config.cbc.mutable_range,
            self.config.timing.gc_batch,
        )?;
        tracing::info!(
            marked = report.marked,
            deleted = report.deleted,
            deleted_bytes = report.deleted_bytes,
            kept_touched = report.touched,
            cancelled = report.cancelled,
            ms = started.elapsed().as_millis() as u64,
            "garbage collected"
        );
        Ok(Some(report))
    }

    /// Copies what head requests are answered with out of `core`.
    fn refresh_answer(&self, core: &Core) {
        let answer = core
            .answer()
            .and_then(|a| protocol::encode(&a).ok())
            .map(Arc::new);
        let marked = core.engine().marked().clone();
        *lock(&self.snapshot) = AnswerSnapshot { answer, marked };
    }

    /// Hands the queued relayed transactions to the mempool.
    fn take_relayed(&self, core: &mut Core) {
        let relayed: Vec<_> = lock(&self.relayed).drain(..).collect();
        if !relayed.is_empty() {
            core.accept_transactions(relayed);
        }
    }

    /// An empty quarantine of at most `limit` bytes in front of the store,
    /// drawing from the node's total.
    fn quarantine(&self, limit: u64) -> Arc<Quarantine<SharedStore>> {
        Arc::new(Quarantine::new(
            self.store.blocks().clone(),
            limit,
            self.quarantined.clone(),
        ))
    }

    /// Fetches what `selector` reaches from `root` on `peer` into
    /// `quarantine`, within the node's fetch budget.
    async fn fetch(
        &self,
        peer: PeerId,
        root: Cid,
        selector: &Selector,
        quarantine: &Arc<Quarantine<SharedStore>>,
    ) -> std::result::Result<(), tau_graphsync::Error> {
        let timing = &self.config.timing;
        let room = quarantine.limit().saturating_sub(quarantine.held_bytes());
        let budget = RequestBudget {
            total_timeout: Some(timing.fetch_timeout),
            max_blocks: room / MIN_BLOCK_COST,
            max_bytes: room,
        };
        let store: SharedStore = quarantine.clone();
        self.graphsync
            .request_into_with_budget(peer, root, selector, Extensions::default(), store, budget)?
            .finish()
            .await
            .map(|_| ())
    }

    fn command(&self, command: Command) {
        let _ = self.commands.send(command);
    }

    fn emit(&self, event: NodeEvent) {
        let _ = self.events.send(event);
    }

    /// Writes head, safety point and own pending transactions (one redb
    /// transaction).
    fn persist(&self, core: &Core) {
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

    fn persist_pending(&self) {
        if let Err(e) = self.store.save_pending_service(&self.host.pending()) {
            tracing::error!("persisting served downloads: {e}");
        }
    }

    /// Writes the known peers and relays (one redb transaction).
    fn persist_peers(&self) {
        let peers = self.known_peers();
        if let Err(e) = self.store.save_peers(&peers) {
            tracing::error!("persisting peers: {e}");
        }
    }

    /// Known peers and relays, relays first (they are few and make a node
    /// behind NAT reachable again after a restart).
    fn known_peers(&self) -> Vec<store::KnownPeer> {
        let relays = lock(&self.relays).known().clone();
        let core = self.core();
        let mut peers: Vec<store::KnownPeer> = relays
            .iter()
            .map(|(id, addrs)| store::KnownPeer {
                id: *id,
                addrs: addrs.clone(),
                relay: true,
            })
            .collect();
        peers.extend(
            core.responsive_peers()
                .filter(|(id, _)| !relays.contains_key(id))
                .map(|(id, addrs)| store::KnownPeer {
                    id: *id,
                    addrs: addrs.clone(),
                    relay: false,
                }),
        );
        peers
    }

    /// A node behind NAT that holds fewer reservations than it wants (a
    /// relay dropped it, or too few relays were known) asks the next known
    /// relay.
    fn renew_relays(&self) {
        let listen = lock(&self.relays).next_request(self.config.behind_nat, Instant::now());
        if let Some(listen) = listen {
            tracing::info!("listening through relay {listen}");
            self.command(Command::ListenVia(listen));
        }
    }

    /// Records a relay; a node behind NAT listens through it if it holds
    /// fewer than two reservations.
    fn learn_relay(&self, peer: PeerId, addrs: Vec<Multiaddr>) {
        if peer == self.local || self.core().is_marked(&peer) {
            return;
        }
        let listen = lock(&self.relays).learn(peer, addrs, self.config.behind_nat);
        if let Some(listen) = listen {
            tracing::info!(%peer, "listening through relay {listen}");
            self.command(Command::ListenVia(listen));
        }
    }

    fn mark(&self, peer: PeerId, reason: String) {
        tracing::warn!(%peer, "peer marked: {reason}");
        lock(&self.relays).remove(&peer);
        self.command(Command::Disconnect(peer));
        self.emit(NodeEvent::PeerMarked { peer, reason });
    }
}

/// Turns swarm reports into peer knowledge.
async fn watch_swarm(inner: Arc<Inner>, mut reports: mpsc::UnboundedReceiver<SwarmReport>) {
    let mut known = (0usize, 0usize);
    while let Some(report) = reports.recv().await {
        match report {
            SwarmReport::Connected(peer, addr) => {
                let marked = inner.core().is_marked(&peer);
                if marked {
                    inner.command(Command::Disconnect(peer));
                    continue;
                }
                inner.core().add_connected(peer, addr);
                inner.emit(NodeEvent::PeerConnected(peer));
            }
            SwarmReport::Identified(peer, identified) => {
                if identified.relay {
                    inner.learn_relay(peer, identified.addrs.clone());
                }
                inner.core().add_peer(peer, identified.addrs);
            }
            SwarmReport::Walked(found) => {
                for (peer, addrs) in found {
                    if peer == inner.local || inner.core().is_marked(&peer) {
                        continue;
                    }
                    inner.core().add_peer(peer, addrs);
                    let mut walked = lock(&inner.walked);
                    if walked.len() < MAX_WALKED_PEERS && walked.insert(peer) {
                        drop(walked);
                        tracing::debug!(%peer, "found by a random walk");
                        inner.emit(NodeEvent::PeerDiscovered(peer));
                    }
                }
            }
            SwarmReport::Reserved(relay) => {
                tracing::info!(%relay, "relay reservation accepted");
                lock(&inner.relays).reserved(relay);
                inner.emit(NodeEvent::RelayReserved(relay));
            }
            SwarmReport::Disconnected(peer) => inner.graphsync.peer_disconnected(&peer),
            SwarmReport::Listening(addr) => {
                let mut addrs = lock(&inner.listen_addrs);
                if !addrs.contains(&addr) {
                    addrs.push(addr);
                }
            }
            SwarmReport::ListenClosed(addr) => {
                lock(&inner.listen_addrs).retain(|a| *a != addr);
                if let Some((relay, _)) =
                    discovery::relay_of(&addr).filter(|_| discovery::is_circuit(&addr))
                {
                    tracing::info!(%relay, "relay reservation lost; asking again later");
                    let retry_at = Instant::now() + inner.config.timing.walk_interval;
                    lock(&inner.relays).dropped(relay, retry_at);
                }
            }
            SwarmReport::DialFailed(peer, reason) => {
                tracing::debug!(?peer, "dial failed: {reason}");
                if let Some(peer) = peer {
                    let retry_at = Instant::now() + inner.config.timing.walk_interval;
                    lock(&inner.relays).unreachable(peer, retry_at);
                }
            }
        }
        let now = (
            inner.core().addresses.len(),
            lock(&inner.relays).known().len(),
        );
        if now != known {
            known = now;
            inner.persist_peers();
        }
    }
}

/// Head requests served at once, for all peers.
const MAX_HEAD_STREAMS: usize = 64;

/// Head requests served at once for one peer.
const MAX_HEAD_STREAMS_PER_PEER: usize = 4;

/// Head requests in progress per peer.
#[derive(Default)]
struct HeadSlots {
    in_use: std::collections::HashMap<PeerId, usize>,
}

/// One peer's head-request slot, given back when dropped.
struct HeadSlot {
    slots: Arc<Mutex<HeadSlots>>,
    peer: PeerId,
}

impl HeadSlots {
    /// A slot for `peer`, if it has fewer than its share in use.
    fn take(slots: &Arc<Mutex<HeadSlots>>, peer: PeerId) -> Option<HeadSlot> {
        let mut table = lock(slots);
        let used = table.in_use.entry(peer).or_insert(0);
        if *used >= MAX_HEAD_STREAMS_PER_PEER {
            return None;
        }
        *used += 1;
        Some(HeadSlot {
            slots: slots.clone(),
            peer,
        })
    }
}

impl Drop for HeadSlot {
    fn drop(&mut self) {
        let mut table = lock(&self.slots);
        if let Some(used) = table.in_use.get_mut(&self.peer) {
            *used = used.saturating_sub(1);
            if *used == 0 {
                table.in_use.remove(&self.peer);
            }
        }
    }
}

/// Answers head requests: the head, safety point, seen heads and peers.
/// Never pushes anything (seed 000).
async fn serve_heads(inner: Arc<Inner>, mut shutdown: watch::Receiver<bool>) {
    let mut control = inner.control.clone();
    let mut incoming = match control.accept(HEAD_PROTOCOL) {
        Ok(incoming) => incoming,
        Err(e) => {
            tracing::error!("cannot serve {HEAD_PROTOCOL}: {e}");
            return;
        }
    };
    let busy = Arc::new(tokio::sync::Semaphore::new(MAX_HEAD_STREAMS));
    let per_peer = Arc::new(Mutex::new(HeadSlots::default()));
    loop {
        tokio::select! {
            _ = shutdown.changed() => return,
            next = incoming.next() => {
                let Some((peer, mut stream)) = next else { return };
                // One peer holding slow streams must not take everyone's
                // slots: a few per peer, then the shared total.
                let Some(slot) = HeadSlots::take(&per_peer, peer) else {
                    continue; // this peer has its share: drop the stream
                };
                let Ok(permit) = busy.clone().try_acquire_owned() else {
                    continue; // overloaded: drop the stream
                };
                let worker = inner.clone();
                lock(&inner.workers).spawn(async move {
                    let inner = worker;
                    let _permit = permit;
                    let _slot = slot;
                    let timeout = inner.config.timing.request_timeout;
                    let serve = async {
                        let bytes = protocol::read_frame(&mut stream).await?;
                        let request: HeadRequest = protocol::decode(&bytes, &peer)?;
                        request.check().map_err(|r| Error::BadMessage {
                            peer: peer.to_string(),
                            reason: r.into(),
                        })?;
                        let answer = {
                            let snapshot = lock(&inner.snapshot);
                            if snapshot.marked.contains(&peer) {
                                return Ok(());
                            }
                            snapshot.answer.clone()
                        };
                        if request.chain == inner.config.chain.chain_id.as_str() {
                            let mut queue = lock(&inner.relayed);
                            let room = MAX_RELAYED_QUEUE.saturating_sub(queue.len());
                            queue.extend(request.transactions.into_iter().take(room));
                        }
                        // No safety point within the mutable range: no
                        // response (seed 000, process A step 1).
                        let Some(answer) = answer else {
                            return Ok(());
                        };
                        protocol::write_frame(&mut stream, &answer).await?;
                        let _ = futures::AsyncWriteExt::close(&mut stream).await;
                        Ok::<(), Error>(())
                    };
                    match tokio::time::timeout(timeout, serve).await {
                        Ok(Ok(())) => {}
                        Ok(Err(e)) => tracing::debug!(%peer, "head request: {e}"),
                        Err(_) => tracing::debug!(%peer, "head request timed out"),
                    }
                });
            }
        }
    }
}

/// Process A: mine on the head whenever the Proof-of-Transaction allows.
async fn process_a(inner: Arc<Inner>, mut shutdown: watch::Receiver<bool>) {
    let mut tick = tokio::time::interval(inner.config.timing.mine_check);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = shutdown.changed() => return,
            _ = tick.tick() => {}
        }
        let now = unix_now();
        let (log, covered) = inner
            .host
            .next_log(inner.config.chain.max_attachments_log_records, now);
        let mined = {
            // Busy core (validating, catching up): mine at the next tick.
            let Some(mut core) = inner.try_core() else {
                continue;
            };
            match core.maybe_mine(now, &log) {
                Ok(Some(produced)) => {
                    inner.persist(&core);
                    inner.refresh_answer(&core);
                    let head = core.head();
                    let policy = quota_policy(&core, &head, inner.config.free_quota);
                    drop(core);
                    inner.host.set_policy(policy);
                    if produced.block.unsigned.attachments_log.is_some() {
                        inner.host.included(covered);
                        inner.persist_pending();
                    }
                    Some(produced)
                }
                Ok(None) => None,
                Err(e) => {
                    tracing::error!("producing the next state: {e}");
                    None
                }
            }
        };
        if let Some(produced) = mined {
            let head = ChainPoint {
                root: produced.root,
                number: produced.block.number(),
            };
            tracing::debug!(number = head.number, "mined {}", head.root);
            inner.emit(NodeEvent::Mined {
                head,
                transactions: produced.transactions.len(),
            });
        }
    }
}

/// Process B: each poll, vote if the pass is ready, then ask the next peers.
async fn process_b(inner: Arc<Inner>, mut shutdown: watch::Receiver<bool>) {
    let timing = inner.config.timing.clone();
    let mut tick = tokio::time::interval(timing.poll_interval);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = shutdown.changed() => return,
            _ = tick.tick() => {}
        }
        inner.renew_relays();
        // The vote runs off the async workers and without the core: its
        // inputs are copied out under a brief lock, the clique oracle
        // (exponential in the voters) runs on them alone, and the result is
        // applied under a second brief lock, unless the head or safety point
        // moved meanwhile (then the pass stays open for the next tick). A
        // tick finding the core busy (validating, catching up) is skipped.
        let tick_work = {
            let inner = inner.clone();
            tokio::task::spawn_blocking(move || {
                let mut events = Vec::new();
                let snapshot = {
                    let core = inner.try_core()?;
                    core.ready_to_vote().then(|| core.snapshot_pass())
                };
                let decision = snapshot.map(|(snapshot, chain)| snapshot.decide(&chain));
                let mut core = inner.core();
                match decision.map(|decision| core.apply_pass(decision)) {
                    Some(Ok(Some(outcome))) => {
                        if let Some((root, number)) = outcome.head {
                            events.push(NodeEvent::HeadChanged {
                                head: ChainPoint { root, number },
                                reorg_depth: outcome.reorg_depth,
                            });
                        }
                        if let Some((root, number)) = outcome.safety {
                            events.push(NodeEvent::SafetyAdvanced(ChainPoint { root, number }));
                        }
                        if outcome.head.is_some() || outcome.safety.is_some() {
                            inner.persist(&core);
                        }
                        core.start_pass();
                    }
                    Some(Ok(None)) => {
                        tracing::debug!("the head moved during the vote; voting again")
                    }
                    Some(Err(e)) => {
                        tracing::error!("evaluating the pass: {e}");
                        core.start_pass();
                    }
                    None if core.pass_stalled() => core.start_pass(),
                    None => {}
                }
                inner.take_relayed(&mut core);
                inner.refresh_answer(&core);
                let asks = core.next_asks(&mut *lock(&inner.rng));
                let transactions = core.gossip();
                Some((events, asks, transactions))
            })
            .await
        };
        let Ok(Some((events, asks, transactions))) = tick_work else {
            continue;
        };
        for event in events {
            inner.emit(event);
        }
        let mut workers = lock(&inner.workers);
        while workers.try_join_next().is_some() {}
        for (peer, addrs) in asks {
            let worker = inner.clone();
            let transactions = transactions.clone();
            workers.spawn(async move { ask_peer(worker, peer, addrs, transactions).await });
        }
    }
}

/// Asks one peer for its head, fetches the blocks behind it with Graphsync
/// and hands the view to the vote.
async fn ask_peer(
    inner: Arc<Inner>,
    peer: PeerId,
    addrs: Vec<Multiaddr>,
    transactions: Vec<tau_state::SignedTransaction>,
) {
    let timing = &inner.config.timing;
    inner.command(Command::DialPeer(peer, addrs));
    let mut control = inner.control.clone();
    let opened = tokio::time::timeout(
        timing.request_timeout,
        control.open_stream(peer, HEAD_PROTOCOL),
    )
    .await;
    let mut stream = match opened {
        Ok(Ok(stream)) => stream,
        _ => {
            inner.core().unreachable(peer);
            return;
        }
    };
    let request = HeadRequest {
        chain: inner.config.chain.chain_id.as_str().to_string(),
        transactions,
    };
    let answer = match protocol::ask(&mut stream, &peer, &request, timing.request_timeout).await {
        Ok(answer) => answer,
        Err(e @ (Error::BadMessage { .. } | Error::TooLarge { .. })) => {
            inner.core().strike(peer, true);
            inner.mark(peer, format!("garbage on {HEAD_PROTOCOL}: {e}"));
            return;
        }
        Err(e) => {
            tracing::debug!(%peer, "head request failed: {e}");
            inner.core().unreachable(peer);
            return;
        }
    };
    drop(stream);
    {
        let mut core = inner.core();
        for (other, addrs, mining) in answer.peer_addrs() {
            if mining {
                core.add_peer(other, addrs);
            }
        }
    }
    let selector = Selector::explore_all_recursively(timing.fetch_depth);
    // The peer's blocks wait here until its view validated.
    let quarantine = inner.quarantine(timing.view_quarantine_bytes);
    let mut last_target = None;
    for _ in 0..timing.fetch_rounds {
        // Validation can take long: off the async workers, and without the
        // core (the core is taken only before and after it, briefly).
        let received = {
            let (inner, answer, quarantine) = (inner.clone(), answer.clone(), quarantine.clone());
            tokio::task::spawn_blocking(move || {
                // Until the core holds the view, its blocks are reachable
                // from nothing a collection sees.
                let _writing = inner.writing_blocks();
                let prepared = inner.core().prepare_receive(peer, &answer);
                match prepared {
                    Err(done) => done,
                    Ok((taken, validation)) => {
                        let validation = validation.in_quarantine(quarantine.clone());
                        // What the engine may read of the answer (its head
                        // block, to weigh an unanchored chain) is still in
                        // the quarantine.
                        let seen = validation.chain().clone();
                        let collected =
                            validation
                                .collect(answer.head, unix_now())
                                .and_then(|view| {
                                    // Validated and anchored: its blocks are kept.
                                    quarantine
                                        .commit()
                                        .map_err(|e| tau_cbc::Error::Local(e.into()))?;
                                    Ok(view)
                                });
                        inner.core().finish_receive(peer, &taken, collected, &seen)
                    }
                }
            })
            .await
        };
        let Ok(received) = received else {
            return;
        };
        let target = match received {
            AnswerVerdict::Counted | AnswerVerdict::Ignored => return,
            AnswerVerdict::CatchUp => {
                catch_up(&inner, peer, answer.head).await;
                return;
            }
            AnswerVerdict::Future(reason) => {
                tracing::debug!(%peer, "chain not counted: {reason}");
                return;
            }
            AnswerVerdict::Forged(reason) => {
                inner.mark(peer, format!("forged chain: {reason}"));
                return;
            }
            AnswerVerdict::Missing(missing) => missing,
        };
        if last_target == Some(target) {
            // The peer's blocks did not fill the gap: it withholds.
            let marked = inner.core().strike(peer, false);
            if marked {
                inner.mark(peer, "withholds blocks".into());
            }
            return;
        }
        last_target = Some(target);
        if let Err(e) = inner.fetch(peer, target, &selector, &quarantine).await {
            let fatal = e.is_peer_fault();
            let marked = inner.core().strike(peer, fatal);
            tracing::debug!(%peer, "fetching {target}: {e}");
            if marked {
                inner.mark(peer, format!("graphsync: {e}"));
            }
            return;
        }
    }
}

/// How long a collection waits at most for uploads and validations that
/// started before it before it skips its turn.
const GC_START_WAIT: Duration = Duration::from_secs(30);

/// Collects the store's garbage every `gc_interval` and when woken (a node
/// with a data directory only).
async fn collect_garbage(inner: Arc<Inner>, mut shutdown: watch::Receiver<bool>) {
    let interval = inner.config.timing.gc_interval;
    if inner.store.redb().is_none() {
        return;
    }
    loop {
        let timer = async {
            if interval.is_zero() {
                std::future::pending::<()>().await
            } else {
                tokio::time::sleep(interval).await
            }
        };
        tokio::select! {
            _ = shutdown.changed() => return,
            _ = timer => {}
            _ = inner.gc_wake.notified() => {}
        }
        let worker = inner.clone();
        match tokio::task::spawn_blocking(move || worker.collect_garbage()).await {
            Ok(Ok(_)) => {}
            Ok(Err(e)) => tracing::error!("garbage collection: {e}"),
            Err(e) => tracing::error!("garbage collection task: {e}"),
        }
    }
}

/// Peers found by random walks remembered at most.
const MAX_WALKED_PEERS: usize = 1024;

/// Bytes of an attachment upload buffered before they are written.
const UPLOAD_BATCH_BYTES: usize = 8 << 20;

/// Bytes of quarantine a fetched block costs at least (its CID and entry):
/// the block count of a fetch's budget is its room in bytes over this.
const MIN_BLOCK_COST: u64 = 128;

/// Catch-up rounds per peer answer at most (each fetches what the walk back
/// found missing).
const CATCH_UP_ROUNDS: usize = 4096;

/// Blocks above the safety point a catch-up follows at most.
const CATCH_UP_BLOCKS: u64 = 1 << 20;

/// Follows `peer`'s chain from `head` back to the safety point, fetching
/// what is missing over Graphsync, and adopts it (see `catchup`). One
/// catch-up runs at a time; other answers meanwhile only count as votes.
async fn catch_up(inner: &Arc<Inner>, peer: PeerId, head: Cid) {
    let Ok(_running) = inner.catching_up.try_lock() else {
        return;
    };
    let timing = &inner.config.timing;
    let selector = Selector::explore_all_recursively(timing.fetch_depth);
    // The chain's blocks wait here until the walk back validated all of them.
    let quarantine = inner.quarantine(timing.catch_up_quarantine_bytes);
    let mut last_missing = None;
    for _ in 0..CATCH_UP_ROUNDS {
        // A walk back validates up to CATCH_UP_BLOCKS states: off the
        // async workers.
        let step = {
            let (inner, quarantine) = (inner.clone(), quarantine.clone());
            tokio::task::spawn_blocking(move || {
                let _writing = inner.writing_blocks();
                // The walk validates without the core.
                let (anchor, validation) = inner.core().prepare_catch_up()?;
                let walk = validation.in_quarantine(quarantine.clone()).walk(
                    head,
                    &anchor,
                    CATCH_UP_BLOCKS,
                    unix_now(),
                );
                let committed = matches!(walk, WalkBack::Reached(_));
                if committed {
                    quarantine.commit()?;
                }
                let mut core = inner.core();
                let step = core.finish_catch_up(peer, head, &anchor, walk);
                if let Ok(CatchUp::Adopted { .. }) = step {
                    inner.persist(&core);
                    inner.refresh_answer(&core);
                }
                step.map(|step| (step, committed))
            })
            .await
        };
        let Ok(step) = step else {
            return;
        };
        let missing = match step {
            Ok((CatchUp::Adopted { head, reorg_depth }, _)) => {
                let (root, number) = (head.root, head.number);
                tracing::info!(%peer, number, reorg_depth, "caught up to {root}");
                inner.emit(NodeEvent::HeadChanged {
                    head: ChainPoint { root, number },
                    reorg_depth,
                });
                return;
            }
            Ok((CatchUp::Missing(cid), _)) => cid,
            Ok((CatchUp::Refused(reason), committed)) => {
                tracing::warn!(%peer, "not catching up with {head}: {reason}");
                // Only a chain refused after its walk reached the safety
                // point left blocks in the store (a walk refused earlier
                // kept them in the quarantine): collect those, and do not
                // let every refused catch-up start a full collection.
                if committed {
                    inner.gc_wake.notify_one();
                }
                return;
            }
            Ok((CatchUp::Forged(reason), _)) => {
                inner.mark(peer, format!("forged chain: {reason}"));
                return;
            }
            Err(e) => {
                tracing::warn!(%peer, "catching up with {head}: {e}");
                return;
            }
        };
        if last_missing == Some(missing) {
            if inner.core().strike(peer, false) {
                inner.mark(peer, "withholds blocks".into());
            }
            return;
        }
        last_missing = Some(missing);
        if let Err(e) = inner.fetch(peer, missing, &selector, &quarantine).await {
            let marked = inner.core().strike(peer, e.is_peer_fault());
            tracing::debug!(%peer, "catch-up fetch of {missing}: {e}");
            if marked {
                inner.mark(peer, format!("graphsync: {e}"));
            }
            return;
        }
    }
}

/// What an application holds: queries, transactions, attachments, events,
/// shutdown. Clones share the node.
#[derive(Clone)]
pub struct NodeHandle {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for NodeHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NodeHandle")
            .field("peer_id", &self.inner.local)
            .finish_non_exhaustive()
    }
}

impl NodeHandle {
    /// The libp2p peer id.
    pub fn peer_id(&self) -> PeerId {
        self.inner.local
    }

    /// The node's TAU address.
    pub fn address(&self) -> Address {
        self.inner.core().address()
    }

    /// Addresses it listens on.
    pub fn listen_addrs(&self) -> Vec<Multiaddr> {
        lock(&self.inner.listen_addrs).clone()
    }

    /// The first listen address with `/p2p/<peer id>`: what another node
    /// bootstraps from.
    pub fn dial_addr(&self) -> Option<Multiaddr> {
        let local = self.inner.local;
        self.listen_addrs().into_iter().next().map(|a| {
            // Circuit listen addresses end in the node's id already.
            if discovery::peer_of(&a) == Some(local) {
                a
            } else {
                a.with(Protocol::P2p(local))
            }
        })
    }

    /// The chain over the node's store, for any read (history, proofs, outputs).
    pub fn chain(&self) -> Executor<tau_ipld::SharedStore> {
        self.inner.core().chain.clone()
    }

    /// The head.
    pub fn head(&self) -> ChainPoint {
        let core = self.inner.core();
        let e = core.head_entry();
        ChainPoint {
            root: e.root,
            number: e.number,
        }
    }

    /// The safety point, if one was reached.
    pub fn safety(&self) -> Option<ChainPoint> {
        self.inner.core().safety().map(|e| ChainPoint {
            root: e.root,
            number: e.number,
        })
    }

    /// Balance of `address` at the head (0 for no account).
    pub fn balance(&self, address: &Address) -> Result<u64> {
        let core = self.inner.core();
        Ok(core.chain.balance(&core.head(), address)?.unwrap_or(0))
    }

    /// Nonce of `address` at the head.
    pub fn nonce(&self, address: &Address) -> Result<u64> {
        let core = self.inner.core();
        Ok(core.chain.nonce(&core.head(), address)?)
    }

    /// Sends `amount` to `receiver` with `fee` (opt 1). Returns a ticket for
    /// [`included`](Self::included); the transaction is signed with the next
    /// free nonce, re-signed if the chain moves first, handed to every peer
    /// asked and put in this node's own blocks.
    pub fn send(&self, receiver: Address, amount: u64, fee: u64) -> Result<u64> {
        let mut core = self.inner.core();
        let ticket = core.submit(TxBody::Wiring { receiver, amount }, fee)?;
        self.inner.persist(&core);
        Ok(ticket)
    }

    /// Publishes a message (opt 2), optionally with an attachment.
    pub fn message(
        &self,
        text: impl Into<String>,
        attachment: Option<AttachmentRef>,
        fee: u64,
    ) -> Result<u64> {
        let text = text.into();
        if text.len() > self.inner.config.chain.max_message_len {
            return Err(Error::Config("message longer than max_message_len"));
        }
        let mut core = self.inner.core();
        let ticket = core.submit(TxBody::Message { text, attachment }, fee)?;
        self.inner.persist(&core);
        Ok(ticket)
    }

    /// For a ticket of [`send`](Self::send) or [`message`](Self::message):
    /// `Some(Some(n))` included in block `n` on the head chain, `Some(None)`
    /// pending, `None` included at the safety point (and forgotten) or unknown.
    pub fn included(&self, ticket: u64) -> Option<Option<u64>> {
        self.inner.core().ticket(ticket)
    }

    /// Own transactions not yet under the safety point.
    pub fn pending_transactions(&self) -> usize {
        self.inner.core().pending_own()
    }

    /// Packs and stores the file or directory at `path` as an attachment.
    pub async fn attach_put(&self, path: &Path) -> Result<tau_attach::Uploaded> {
        let store = self.inner.store.blocks().clone();
        let config = self.inner.config.attach;
        let path = path.to_path_buf();
        // Sections reach redb in batches (one transaction per flush), not one
        // transaction each.
        let inner = self.inner.clone();
        tokio::task::spawn_blocking(move || {
            // Sections are reachable from nothing until the pin.
            let _writing = inner.writing_blocks();
            let batch = tau_ipld::blockstore::WriteBatch::new(&store, UPLOAD_BATCH_BYTES);
            let uploaded = tau_attach::upload(&batch, &path, &config)?;
            batch.flush()?;
            inner.store.pin(&uploaded.root)?;
            Ok(uploaded)
        })
        .await
        .map_err(|e| Error::Network(format!("upload task: {e}")))?
    }

    /// Process C: downloads the attachment `root` from `peers` over Graphsync
    /// (sections in parallel, each verified, liars dropped; gives up after
    /// `rounds` rounds).
    pub async fn attach_get(
        &self,
        root: Cid,
        peers: &[PeerId],
        rounds: u32,
    ) -> Result<tau_attach::DownloadReport> {
        let store = self.inner.store.blocks().clone();
        let config = self.inner.config.attach;
        let runtime = tokio::runtime::Handle::current();
        let timeout = self.inner.config.timing.request_timeout;
        let sources: Vec<Arc<GraphsyncSource>> = peers
            .iter()
            .map(|p| {
                let addrs = self
                    .inner
                    .core()
                    .addresses
                    .get(p)
                    .cloned()
                    .unwrap_or_default();
                self.inner.command(Command::DialPeer(*p, addrs));
                Arc::new(GraphsyncSource::new(
                    self.inner.graphsync.clone(),
                    store.clone(),
                    *p,
                    runtime.clone(),
                    timeout,
                    root,
                ))
            })
            .collect();
        let asked = sources.clone();
        let options = tau_attach::DownloadOptions {
            max_rounds: Some(rounds.max(1)),
            ..Default::default()
        };
        let inner = self.inner.clone();
        let downloaded = tokio::task::spawn_blocking(move || {
            // Sections are reachable from nothing until the pin.
            let _writing = inner.writing_blocks();
            let cancel = std::sync::atomic::AtomicBool::new(false);
            let refs: Vec<&dyn tau_attach::Source> = sources
                .iter()
                .map(|s| &**s as &dyn tau_attach::Source)
                .collect();
            let report =
                tau_attach::download(&store, &root, &refs, &config, &options, &cancel, &|_| {})?;
            inner.store.pin(&root)?;
            Ok(report)
        })
        .await
        .map_err(|e| Error::Network(format!("download task: {e}")))?;
        match downloaded {
            Ok(report) => Ok(report),
            // Say why when a peer refused (e.g. the quota), not just "gave up".
            Err(e @ tau_attach::Error::GaveUp { .. }) => Err(asked
                .iter()
                .find_map(|s| {
                    s.refusal().map(|reason| Error::Refused {
                        peer: s.peer().to_string(),
                        reason,
                    })
                })
                .unwrap_or(Error::Attach(e))),
            Err(e) => Err(Error::Attach(e)),
        }
    }

    /// Bytes of attachments this node served to `visitor` (in its logs in
    /// the state and not yet in a block): what counts against its quota.
    pub fn served_to(&self, visitor: &Address) -> u64 {
        self.inner.host.used(visitor)
    }

    /// Downloads served and not yet written into a block.
    pub fn pending_service(&self) -> Vec<tau_state::ServiceRecord> {
        self.inner.host.pending()
    }

    /// Keeps `root` and every block it links to through garbage collections
    /// (a named root `tau-node/pin/<root>` in the store; nothing in memory
    /// mode). Attachments this node uploads or downloads are pinned.
    pub fn pin(&self, root: Cid) -> Result<()> {
        Ok(self.inner.store.pin(&root)?)
    }

    /// Removes the pin of `root`; whether it was pinned. Its blocks go at the
    /// next collection unless something kept still reaches them.
    pub fn unpin(&self, root: Cid) -> Result<bool> {
        self.inner.store.unpin(&root)
    }

    /// The pinned roots.
    pub fn pinned(&self) -> Result<Vec<Cid>> {
        self.inner.store.pins()
    }

    /// Forgets the attachment `root` this node published
    /// ([`attach_put`](Self::attach_put)) or downloaded
    /// ([`attach_get`](Self::attach_get)): it is no longer pinned, so the
    /// next garbage collection deletes its manifest, section map and
    /// sections (those another pinned attachment shares stay) and the node
    /// stops serving it. Messages already on the chain that name it are
    /// unaffected (they hold its CID, not a link). Returns whether it was
    /// pinned.
    pub fn drop_attachment(&self, root: Cid) -> Result<bool> {
        self.inner.store.unpin(&root)
    }

    /// Runs a garbage collection of the store now (off the async workers),
    /// as the node does every [`Timing::gc_interval`](crate::Timing): keeps
    /// genesis, head, safety point with the mutable range below it, the heads
    /// peers answered with and pinned roots, deletes every other block.
    /// `None` without a data directory, when a collection already runs or
    /// when uploads and validations in flight kept it from starting.
    pub async fn collect_garbage(&self) -> Result<Option<tau_ipld::blockstore::GcReport>> {
        let inner = self.inner.clone();
        tokio::task::spawn_blocking(move || inner.collect_garbage())
            .await
            .map_err(|e| Error::Network(format!("garbage collection task: {e}")))?
    }

    /// Blocks in the store and their bytes (`None` without a data
    /// directory). Walks the whole block table.
    pub fn stored_blocks(&self) -> Result<Option<(u64, u64)>> {
        match self.inner.store.redb() {
            Some(redb) => Ok(Some((redb.block_count()?, redb.total_bytes()?))),
            None => Ok(None),
        }
    }

    /// Unpacks a stored attachment into `dir`.
    pub async fn attach_export(&self, root: Cid, dir: &Path) -> Result<tau_attach::Exported> {
        let store = self.inner.store.blocks().clone();
        let config = self.inner.config.attach;
        let dir = dir.to_path_buf();
        tokio::task::spawn_blocking(move || tau_attach::export(&store, &root, &dir, &config))
            .await
            .map_err(|e| Error::Network(format!("export task: {e}")))?
            .map_err(Error::from)
    }

    /// The node's events (each subscriber sees those after it subscribed).
    pub fn events(&self) -> broadcast::Receiver<NodeEvent> {
        self.inner.events.subscribe()
    }

    /// Pauses or resumes process A (a mining node only).
    pub fn set_mining(&self, enabled: bool) {
        self.inner.core().mining_enabled = enabled;
    }

    /// Peers known (with addresses).
    pub fn peers(&self) -> Vec<PeerId> {
        self.inner.core().addresses.keys().copied().collect()
    }

    /// The connections the node holds and is setting up (`None` once the
    /// swarm has stopped).
    pub async fn connections(&self) -> Option<swarm::Connections> {
        let (reply, answer) = oneshot::channel();
        self.inner.command(Command::Connections(reply));
        answer.await.ok()
    }

    /// Peers found by random walks of the Kademlia table.
    pub fn discovered_peers(&self) -> Vec<PeerId> {
        lock(&self.inner.walked).iter().copied().collect()
    }

    /// Relays known (found by identify, configured or persisted).
    pub fn relays(&self) -> Vec<PeerId> {
        lock(&self.inner.relays).known().keys().copied().collect()
    }

    /// Relays holding a reservation for this node.
    pub fn relay_reservations(&self) -> Vec<PeerId> {
        lock(&self.inner.relays)
            .reservations()
            .iter()
            .copied()
            .collect()
    }

    /// Peers marked dishonest.
    pub fn marked_peers(&self) -> Vec<PeerId> {
        self.inner
            .core()
            .engine()
            .marked()
            .iter()
            .copied()
            .collect()
    }

    /// Dials `addr` (e.g. a peer's [`dial_addr`](Self::dial_addr)).
    pub fn dial(&self, addr: Multiaddr) {
        self.inner.command(Command::Dial(addr));
    }

    /// Stops the node: tasks end, head, safety point and peers are written,
    /// the swarm closes and the store is closed once the last handle drops.
    pub async fn shutdown(self) -> Result<()> {
        let _ = self.inner.shutdown.send(true);
        self.inner
            .gc_cancel
            .store(true, std::sync::atomic::Ordering::Relaxed);
        {
            let core = self.inner.core();
            self.inner.persist(&core);
        }
        self.inner.persist_peers();
        self.inner.persist_pending();
        let (done, stopped) = oneshot::channel();
        self.inner.command(Command::Stop(done));
        let _ = tokio::time::timeout(Duration::from_secs(5), stopped).await;
        let tasks: Vec<JoinHandle<()>> = lock(&self.inner.tasks).drain(..).collect();
        for task in tasks {
            task.abort();
            let _ = task.await;
        }
        let mut workers = std::mem::take(&mut *lock(&self.inner.workers));
        workers.abort_all();
        while workers.join_next().await.is_some() {}
        tracing::info!(peer = %self.inner.local, "node stopped");
        Ok(())
    }
}
