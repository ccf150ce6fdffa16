//! Starting a node: opening the store, restoring head, safety point, host
//! and peers, building the swarm and spawning the tasks.

use std::collections::BTreeSet;
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex};

use cid::Cid;
use libp2p::PeerId;
use rand::rngs::StdRng;
use rand::SeedableRng;
use tau_graphsync::net::Graphsync;
use tau_ipld::{Blockstore, ByteBudget};
use tau_state::Executor;
use tokio::sync::{broadcast, mpsc, watch};
use tokio::task::JoinSet;

use crate::config::NodeConfig;
use crate::discovery::Relays;
use crate::gc;
use crate::handle::{ChainPoint, NodeHandle};
use crate::runtime::{lock, Owner, Shared, View};
use crate::serve::AttachmentHost;
use crate::state::NodeState;
use crate::store::{self, NodeStore};
use crate::swarm::{self, Command, NetConfig};
use crate::{Error, Result};

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
        let (swarm, listen_addrs) =
            swarm::build(keypair, &net, config.timing.request_timeout).await?;

        let core = restore(&store, chain, &config, local, genesis.root)?;
        let host = Arc::new(restore_host(&store, &core, &config)?);
        let control = swarm.behaviour().stream.new_control();
        let graphsync = Graphsync::new(
            control,
            store.blocks().clone(),
            tau_graphsync::net::Config::default()
                .with_request_timeout(config.timing.request_timeout)
                .with_serve_hook(host.clone()),
        )?;
        let (commands, command_rx) = mpsc::unbounded_channel();
        let (report_tx, report_rx) = mpsc::unbounded_channel();
        let (requests, request_rx) = mpsc::unbounded_channel();
        let (events, _) = broadcast::channel(1024);
        let (shutdown, shutdown_rx) = watch::channel(false);
        let rng = match config.rng_seed {
            Some(seed) => StdRng::seed_from_u64(seed),
            None => StdRng::from_os_rng(),
        };
        let timing_total = config.timing.total_quarantine_bytes;
        let reads = core.chain.clone();
        let address = core.address();
        let mining = config.mode.produces_next_state();
        // The view the owner publishes; its first value is replaced below,
        // before anything reads it.
        let (view, view_rx) = watch::channel(View {
            head: ChainPoint {
                root: core.head(),
                number: core.head_entry().number,
            },
            safety: None,
            peers: Vec::new(),
            marked: Vec::new(),
            walked: Vec::new(),
            relays: Vec::new(),
            reservations: Vec::new(),
            listen_addrs: Vec::new(),
            tickets: Vec::new(),
            mempool: 0,
        });
        let inner = Arc::new(Shared {
            config,
            local,
            address,
            chain: reads,
            store,
            graphsync,
            host,
            commands,
            requests,
            view: view_rx,
            events,
            mining: AtomicBool::new(mining),
            follow_status: watch::channel(Default::default()).0,
            views_counted: Default::default(),
            views_refused: Default::default(),
            relayed: Default::default(),
            quarantined: Arc::new(ByteBudget::new(timing_total)),
            in_flight: Arc::new(gc::InFlight::default()),
            gc_wake: tokio::sync::Notify::new(),
            stopping: Arc::new(AtomicBool::new(false)),
            shutdown,
            tasks: Mutex::new(Vec::new()),
        });
        let mut owner = Owner {
            inner: inner.clone(),
            state: core,
            relays: Relays::default(),
            walked: BTreeSet::new(),
            listen_addrs,
            answer: None,
            relayed: crate::relay_queue::RelayQueue::new(
                crate::serving::MAX_RELAYED_PER_PEER,
                crate::serving::MAX_RELAYED_QUEUE,
            ),
            rng,
            catching_up: false,
            asks: JoinSet::new(),
            view,
            known: (0, 0),
        };
        owner.refresh_answer();
        for known in inner.store.load_peers()? {
            if known.relay {
                owner.learn_relay(known.id, known.addrs.clone());
            }
            owner.state.add_peer(known.id, known.addrs.clone());
            inner.command(Command::AddKnown(known.id, known.addrs.clone()));
            inner.command(Command::DialPeer(known.id, known.addrs));
        }
        for addr in &inner.config.relays {
            if let Some(listen) = owner.relays.configured(addr) {
                inner.command(Command::ListenVia(listen));
            }
        }
        for addr in &inner.config.bootstrap {
            inner.command(Command::Dial(addr.clone()));
        }
        owner.publish();
        // The owner task last: shutdown waits for it (`NodeHandle::shutdown`).
        let mut tasks = vec![tokio::spawn(swarm::drive(
            swarm,
            inner.config.timing.walk_interval,
            command_rx,
            report_tx,
        ))];
        if !inner.config.follow.senders.is_empty() {
            tasks.push(tokio::spawn(crate::follower::run(
                inner.clone(),
                inner.shutdown.subscribe(),
            )));
        }
        tasks.extend([tokio::spawn(crate::runtime::run(
            owner,
            report_rx,
            request_rx,
            shutdown_rx,
        ))]);
        *lock(&inner.tasks) = tasks;
        tracing::info!(peer = %local, %address, "node started");
        Ok(NodeHandle { inner })
    }
}

/// Loads head and safety point from the store (genesis when none is stored
/// or the stored one is unusable).
pub(crate) fn restore(
    store: &NodeStore,
    chain: Executor<tau_ipld::SharedStore>,
    config: &NodeConfig,
    local: PeerId,
    genesis: Cid,
) -> Result<NodeState> {
    let head = store.root(store::HEAD)?.unwrap_or(genesis);
    let safety = store.root(store::SAFETY)?;
    let make = |head, safety| {
        NodeState::new(
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
pub(crate) fn quota_policy(core: &NodeState, head: &Cid, default: u64) -> tau_attach::QuotaPolicy {
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
pub(crate) fn restore_host(
    store: &NodeStore,
    core: &NodeState,
    config: &NodeConfig,
) -> Result<AttachmentHost> {
    let records = core.chain.attachments_logs(&core.head(), &core.address())?;
    let policy = quota_policy(core, &core.head(), config.free_quota);
    Ok(AttachmentHost::new(
        store.blocks().clone(),
        config.attach,
        policy,
        records,
        store.load_pending_service()?,
    ))
}
