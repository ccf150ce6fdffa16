//! A ready-made swarm for tests, benchmarks and tools: tcp + noise + yamux
//! with only `libp2p_stream::Behaviour`, driven by a tokio task. A full node
//! (`tau-node`) composes its own swarm and passes a
//! [`libp2p_stream::Control`] to [`Graphsync::new`].

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt as _;
use libp2p::identity::Keypair;
use libp2p::swarm::dial_opts::DialOpts;
use libp2p::swarm::SwarmEvent;
use libp2p::{noise, tcp, yamux, Multiaddr, PeerId, Swarm};
use tokio::sync::{mpsc, oneshot};

use super::service::Shared;
use super::{Config, Graphsync, SharedStore};
use crate::{Error, Result};

/// Connections with no stream open close after this long.
const IDLE_CONNECTION_TIMEOUT: Duration = Duration::from_secs(60);

enum Command {
    Connect {
        peer: PeerId,
        addr: Multiaddr,
        reply: oneshot::Sender<std::result::Result<(), String>>,
    },
    Watch(Arc<Shared>),
}

/// A libp2p node on tcp + noise + yamux whose only behaviour is
/// `libp2p_stream`, its swarm driven by a spawned task (stopped on drop).
///
/// ```no_run
/// # async fn demo() -> Result<(), tau_graphsync::Error> {
/// use std::sync::Arc;
/// use tau_graphsync::net::{Config, TcpNode};
/// use tau_ipld::MemoryBlockstore;
///
/// let server = TcpNode::spawn().await?;
/// let _served = server.start_graphsync(Arc::new(MemoryBlockstore::new()), Config::default())?;
/// let client = TcpNode::spawn().await?;
/// let graphsync = client.start_graphsync(Arc::new(MemoryBlockstore::new()), Config::default())?;
/// client.connect(server.peer_id(), server.listen_addr().clone()).await?;
/// # let _ = graphsync; Ok(()) }
/// ```
pub struct TcpNode {
    peer_id: PeerId,
    listen_addr: Multiaddr,
    control: libp2p_stream::Control,
    commands: mpsc::UnboundedSender<Command>,
    task: tokio::task::JoinHandle<()>,
}

impl std::fmt::Debug for TcpNode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TcpNode")
            .field("peer_id", &self.peer_id)
            .field("listen_addr", &self.listen_addr)
            .finish_non_exhaustive()
    }
}

impl TcpNode {
    /// A node with a new ed25519 identity listening on `127.0.0.1`, a free port.
    pub async fn spawn() -> Result<Self> {
        let listen = "/ip4/127.0.0.1/tcp/0"
            .parse()
            .map_err(|e| Error::Network(format!("{e}")))?;
        Self::spawn_with(Keypair::generate_ed25519(), listen).await
    }

    /// A node with identity `keypair` listening on `listen`.
    pub async fn spawn_with(keypair: Keypair, listen: Multiaddr) -> Result<Self> {
        let net = |e: &dyn std::fmt::Display| Error::Network(e.to_string());
        let mut swarm = libp2p::SwarmBuilder::with_existing_identity(keypair)
            .with_tokio()
            .with_tcp(
                tcp::Config::default().nodelay(true),
                noise::Config::new,
                yamux::Config::default,
            )
            .map_err(|e| net(&e))?
            .with_behaviour(|_| libp2p_stream::Behaviour::new())
            .map_err(|e| net(&e))?
            .with_swarm_config(|c| c.with_idle_connection_timeout(IDLE_CONNECTION_TIMEOUT))
            .build();
        swarm.listen_on(listen).map_err(|e| net(&e))?;
        let listen_addr = loop {
            if let SwarmEvent::NewListenAddr { address, .. } = swarm.select_next_some().await {
                break address;
            }
        };
        let peer_id = *swarm.local_peer_id();
        let control = swarm.behaviour().new_control();
        let (commands, rx) = mpsc::unbounded_channel();
        let task = tokio::spawn(drive(swarm, rx));
        Ok(TcpNode {
            peer_id,
            listen_addr,
            control,
            commands,
            task,
        })
    }

    /// This node's peer id.
    pub fn peer_id(&self) -> PeerId {
        self.peer_id
    }

    /// The address it listens on.
    pub fn listen_addr(&self) -> &Multiaddr {
        &self.listen_addr
    }

    /// A control to open and accept streams of other protocols.
    pub fn control(&self) -> libp2p_stream::Control {
        self.control.clone()
    }

    /// Starts a [`Graphsync`] service on this node, told when peers disconnect.
    pub fn start_graphsync(&self, store: SharedStore, config: Config) -> Result<Graphsync> {
        let graphsync = Graphsync::new(self.control(), store, config)?;
        self.commands
            .send(Command::Watch(graphsync.shared().clone()))
            .map_err(|_| Error::Network("the swarm task ended".into()))?;
        Ok(graphsync)
    }

    /// Connects to `peer` at `addr` (returns at once if already connected).
    pub async fn connect(&self, peer: PeerId, addr: Multiaddr) -> Result<()> {
        let (reply, result) = oneshot::channel();
        self.commands
            .send(Command::Connect { peer, addr, reply })
            .map_err(|_| Error::Network("the swarm task ended".into()))?;
        match result.await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(reason)) => Err(Error::Stream {
                peer: Box::new(peer),
                reason,
            }),
            Err(_) => Err(Error::Network("the swarm task ended".into())),
        }
    }
}

impl Drop for TcpNode {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Drives the swarm: dials on request, reports connections and disconnections.
async fn drive(
    mut swarm: Swarm<libp2p_stream::Behaviour>,
    mut commands: mpsc::UnboundedReceiver<Command>,
) {
    type Waiters = HashMap<PeerId, Vec<oneshot::Sender<std::result::Result<(), String>>>>;
    let mut waiters: Waiters = HashMap::new();
    let mut watchers: Vec<Arc<Shared>> = Vec::new();
    loop {
        tokio::select! {
            event = swarm.select_next_some() => match event {
                SwarmEvent::ConnectionEstablished { peer_id, .. } => {
                    for reply in waiters.remove(&peer_id).unwrap_or_default() {
                        let _ = reply.send(Ok(()));
                    }
                }
                SwarmEvent::OutgoingConnectionError { peer_id: Some(peer), error, .. } => {
                    for reply in waiters.remove(&peer).unwrap_or_default() {
                        let _ = reply.send(Err(error.to_string()));
                    }
                }
                SwarmEvent::ConnectionClosed { peer_id, num_established: 0, .. } => {
                    for shared in &watchers {
                        shared.peer_disconnected(&peer_id);
                    }
                }
                _ => {}
            },
            command = commands.recv() => match command {
                None => return,
                Some(Command::Watch(shared)) => watchers.push(shared),
                Some(Command::Connect { peer, addr, reply }) => {
                    if swarm.is_connected(&peer) {
                        let _ = reply.send(Ok(()));
                        continue;
                    }
                    let opts = DialOpts::peer_id(peer).addresses(vec![addr]).build();
                    match swarm.dial(opts) {
                        Ok(()) => waiters.entry(peer).or_default().push(reply),
                        Err(e) => {
                            let _ = reply.send(Err(e.to_string()));
                        }
                    }
                }
            },
        }
    }
}
