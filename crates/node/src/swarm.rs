//! The libp2p swarm: tcp + noise + yamux (directly or through a circuit
//! relay) with identify, ping, Kademlia, circuit relay v2 (client always,
//! server on relay routers), libp2p's request-response for the head
//! protocol and `libp2p-stream` for Graphsync, driven by one task that dials
//! and asks heads on command, walks the Kademlia table and reports peers,
//! relays and head requests to the node.

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use bytes::Bytes;
use futures::StreamExt as _;
use libp2p::kad::{self, store::MemoryStore};
use libp2p::request_response::{self, OutboundRequestId, ProtocolSupport, ResponseChannel};
use libp2p::swarm::behaviour::toggle::Toggle;
use libp2p::swarm::dial_opts::DialOpts;
use libp2p::swarm::{NetworkBehaviour, SwarmEvent};
use libp2p::{identify, noise, ping, relay, tcp, yamux, Multiaddr, PeerId, Swarm};
use tokio::sync::{mpsc, oneshot};

use crate::discovery::{self, Identified};
use crate::protocol::{HeadCodec, HeadRequest, HEAD_PROTOCOL};
use crate::{Error, Result};

/// Identify's protocol version for TAU nodes.
pub const IDENTIFY_PROTOCOL: &str = "/tau/1.0.0";

/// Connections with no stream open close after this long.
const IDLE_CONNECTION_TIMEOUT: Duration = Duration::from_secs(120);

/// The node's behaviours.
#[derive(NetworkBehaviour)]
pub(crate) struct Behaviour {
    /// Refuses connections past the node's bounds (first, so nothing else
    /// spends anything on them).
    limits: libp2p::connection_limits::Behaviour,
    identify: identify::Behaviour,
    ping: ping::Behaviour,
    kad: kad::Behaviour<MemoryStore>,
    relay_client: relay::client::Behaviour,
    relay_server: Toggle<relay::Behaviour>,
    head: request_response::Behaviour<HeadCodec>,
    pub(crate) stream: libp2p_stream::Behaviour,
}

/// Head-protocol streams open at once on one connection, both ways (libp2p
/// drops further inbound ones; with [`MAX_ESTABLISHED_PER_PEER`] this
/// bounds what one peer can have served at once).
pub const MAX_HEAD_STREAMS_PER_CONNECTION: usize = 4;

/// An answer to a head request we sent: the encoded answer, or why none came.
pub(crate) type HeadReply = std::result::Result<Bytes, Error>;

/// Connections being set up from outside at once (each costs a noise
/// handshake).
pub const MAX_PENDING_INCOMING: u32 = 64;
/// Connections from outside held at once.
pub const MAX_ESTABLISHED_INCOMING: u32 = 256;
/// Connections held at once, both ways.
pub const MAX_ESTABLISHED: u32 = 384;
/// Connections held with one peer (a direct one, a relayed one, a spare).
pub const MAX_ESTABLISHED_PER_PEER: u32 = 3;

/// The node's connection bounds: a flood of connections is refused at the
/// door instead of costing streams, handshakes and memory per connection.
fn connection_limits() -> libp2p::connection_limits::ConnectionLimits {
    libp2p::connection_limits::ConnectionLimits::default()
        .with_max_pending_incoming(Some(MAX_PENDING_INCOMING))
        .with_max_established_incoming(Some(MAX_ESTABLISHED_INCOMING))
        .with_max_established(Some(MAX_ESTABLISHED))
        .with_max_established_per_peer(Some(MAX_ESTABLISHED_PER_PEER))
}

/// How the swarm is set up.
#[derive(Debug, Clone)]
pub(crate) struct NetConfig {
    /// Direct listen addresses (none: reachable only through relays).
    pub(crate) listen: Vec<Multiaddr>,
    /// Serve circuit-relay v2 reservations (a relay router).
    pub(crate) relay_server: bool,
}

/// Commands to the swarm task.
pub(crate) enum Command {
    /// Dial an address (peer unknown).
    Dial(Multiaddr),
    /// Dial a peer at any of these addresses unless connected.
    DialPeer(PeerId, Vec<Multiaddr>),
    /// Close every connection to a peer.
    Disconnect(PeerId),
    /// Put a peer in the Kademlia table (bootstrap or persisted peers).
    AddKnown(PeerId, Vec<Multiaddr>),
    /// Listen through this relay (`…/p2p/<relay>/p2p-circuit`).
    ListenVia(Multiaddr),
    /// Report the connections held and being set up.
    Connections(oneshot::Sender<Connections>),
    /// Ask a peer for its head (dialing it at these addresses if needed).
    AskHead {
        peer: PeerId,
        addrs: Vec<Multiaddr>,
        request: HeadRequest,
        reply: oneshot::Sender<HeadReply>,
    },
    /// Answer a head request with this encoded answer.
    AnswerHead(ResponseChannel<Bytes>, Bytes),
    /// Stop the task.
    Stop(oneshot::Sender<()>),
}

/// The swarm's connections at one moment (libp2p's counters).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Connections {
    /// Established connections that peers opened to us.
    pub established_incoming: u32,
    /// Established connections we opened.
    pub established_outgoing: u32,
    /// Incoming connections still in their handshake.
    pub pending_incoming: u32,
}

/// What the swarm task reports.
#[derive(Debug)]
pub(crate) enum SwarmReport {
    /// A connection is up; `addr` is the peer's address if we dialed it.
    Connected(PeerId, Option<Multiaddr>),
    /// Identify told us where the peer listens and whether it relays.
    Identified(PeerId, Identified),
    /// A random walk found these peers (with their addresses).
    Walked(Vec<(PeerId, Vec<Multiaddr>)>),
    /// A relay accepted our reservation: we are reachable through it.
    Reserved(PeerId),
    /// The last connection to a peer closed.
    Disconnected(PeerId),
    /// We listen on a new address.
    Listening(Multiaddr),
    /// We no longer listen on this address (e.g. a relay dropped us).
    ListenClosed(Multiaddr),
    /// A dial failed.
    DialFailed(Option<PeerId>, String),
    /// A peer asks for our head (decoded and within bounds); answered with
    /// [`Command::AnswerHead`], or not at all by dropping `channel`.
    HeadRequest {
        peer: PeerId,
        request: HeadRequest,
        channel: ResponseChannel<Bytes>,
    },
}

/// Builds the swarm and listens on `listen`; returns the first listen
/// addresses once they are known.
pub(crate) async fn build(
    keypair: libp2p::identity::Keypair,
    config: &NetConfig,
    head_timeout: Duration,
) -> Result<(Swarm<Behaviour>, Vec<Multiaddr>)> {
    let listen = &config.listen;
    let reachable = !listen.is_empty();
    let relay_server = config.relay_server;
    let net = |e: &dyn std::fmt::Display| Error::Network(e.to_string());
    let mut swarm = libp2p::SwarmBuilder::with_existing_identity(keypair)
        .with_tokio()
        .with_tcp(
            tcp::Config::default().nodelay(true),
            noise::Config::new,
            yamux::Config::default,
        )
        .map_err(|e| net(&e))?
        .with_relay_client(noise::Config::new, yamux::Config::default)
        .map_err(|e| net(&e))?
        .with_behaviour(|key, relay_client| {
            let local = key.public().to_peer_id();
            Behaviour {
                limits: libp2p::connection_limits::Behaviour::new(connection_limits()),
                identify: identify::Behaviour::new(identify::Config::new(
                    IDENTIFY_PROTOCOL.into(),
                    key.public(),
                )),
                ping: ping::Behaviour::default(),
                kad: discovery::kademlia(local, reachable),
                relay_client,
                relay_server: relay_server.then(|| discovery::relay_server(local)).into(),
                head: request_response::Behaviour::with_codec(
                    HeadCodec,
                    [(HEAD_PROTOCOL, ProtocolSupport::Full)],
                    request_response::Config::default()
                        .with_request_timeout(head_timeout)
                        .with_max_concurrent_streams(MAX_HEAD_STREAMS_PER_CONNECTION),
                ),
                stream: libp2p_stream::Behaviour::new(),
            }
        })
        .map_err(|e| net(&e))?
        .with_swarm_config(|c| c.with_idle_connection_timeout(IDLE_CONNECTION_TIMEOUT))
        .build();
    for addr in listen {
        check_port_free(addr)?;
        swarm.listen_on(addr.clone()).map_err(|e| Error::Listen {
            addr: addr.to_string(),
            reason: e.to_string(),
        })?;
    }
    let mut addrs = Vec::new();
    while addrs.len() < listen.len() {
        match tokio::time::timeout(Duration::from_secs(5), swarm.select_next_some()).await {
            Ok(SwarmEvent::NewListenAddr { address, .. }) => addrs.push(address),
            Ok(SwarmEvent::ListenerError { error, .. }) => {
                return Err(Error::Listen {
                    addr: format!("{listen:?}"),
                    reason: error.to_string(),
                })
            }
            Ok(SwarmEvent::ListenerClosed {
                addresses, reason, ..
            }) => {
                return Err(Error::Listen {
                    addr: format!("{addresses:?}"),
                    reason: format!("{reason:?}"),
                })
            }
            Ok(_) => {}
            Err(_) => return Err(Error::Timeout("listening")),
        }
    }
    if relay_server {
        // A relay router is reachable at the addresses it listens on; the
        // hop protocol is served only once the node has external addresses
        // (they go into every reservation).
        for addr in &addrs {
            swarm.add_external_address(addr.clone());
        }
    }
    Ok((swarm, addrs))
}

/// Drives the swarm until stopped: events become reports, commands become
/// dials, and every `walk_interval` a random walk asks the Kademlia table
/// for the peers closest to a random id.
pub(crate) async fn drive(
    mut swarm: Swarm<Behaviour>,
    walk_interval: Duration,
    mut commands: mpsc::UnboundedReceiver<Command>,
    reports: mpsc::UnboundedSender<SwarmReport>,
) {
    let mut walk = tokio::time::interval(walk_interval);
    walk.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut walking = HashSet::new();
    let mut relay_listens = HashMap::new();
    // Our head requests awaiting their answer: each ends in an answer or a
    // failure event (the request timeout bounds how long), which removes it.
    let mut asks: HashMap<OutboundRequestId, oneshot::Sender<HeadReply>> = HashMap::new();
    loop {
        tokio::select! {
            event = swarm.select_next_some() => {
                if let SwarmEvent::ConnectionEstablished { peer_id, .. } = &event {
                    if let Some(addr) = relay_listens.remove(peer_id) {
                        listen_via(&mut swarm, addr);
                    }
                }
                let event = match event {
                    SwarmEvent::Behaviour(BehaviourEvent::Head(event)) => {
                        match on_head_event(&mut asks, event) {
                            Some(report) => report,
                            None => continue,
                        }
                    }
                    other => match report_of(&mut swarm, &mut walking, other) {
                        Some(report) => report,
                        None => continue,
                    },
                };
                if reports.send(event).is_err() {
                    return;
                }
            }

            _ = walk.tick() => {
                // One walk at a time; an empty table has no one to ask yet.
                if walking.is_empty() && swarm.behaviour_mut().kad.kbuckets().next().is_some() {
                    let query = swarm.behaviour_mut().kad.get_closest_peers(PeerId::random());
                    walking.insert(query);
                }
            }
            command = commands.recv() => match command {
                None => return,
                Some(Command::Stop(done)) => {
                    let _ = done.send(());
                    return;
                }
                Some(command) => execute(&mut swarm, &mut relay_listens, &mut asks, command),
            },
        }
    }
}

/// Listens through a relay the swarm is connected to.
fn listen_via(swarm: &mut Swarm<Behaviour>, addr: Multiaddr) {
    if let Err(e) = swarm.listen_on(addr.clone()) {
        tracing::warn!("listening through {addr}: {e}");
    }
}

/// Carries out a command other than `Stop`. Listening through a relay waits
/// for a direct connection to it (`relay_listens`), so the reservation goes
/// over that connection instead of racing a second dial.
fn execute(
    swarm: &mut Swarm<Behaviour>,
    relay_listens: &mut HashMap<PeerId, Multiaddr>,
    asks: &mut HashMap<OutboundRequestId, oneshot::Sender<HeadReply>>,
    command: Command,
) {
    match command {
        Command::AskHead {
            peer,
            addrs,
            request,
            reply,
        } => {
            let id = swarm
                .behaviour_mut()
                .head
                .send_request_with_addresses(&peer, request, addrs);
            asks.insert(id, reply);
        }
        Command::AnswerHead(channel, answer) => {
            // Fails only if the asker left: nothing to do.
            let _ = swarm.behaviour_mut().head.send_response(channel, answer);
        }
        Command::Dial(addr) => {
            if let Some(peer) = discovery::peer_of(&addr) {
                if !discovery::is_circuit(&addr) {
                    swarm.behaviour_mut().kad.add_address(&peer, addr.clone());
                }
            }
            if let Err(e) = swarm.dial(addr.clone()) {
                tracing::debug!("dialing {addr}: {e}");
            }
        }
        Command::DialPeer(peer, addrs) => {
            if swarm.is_connected(&peer) || addrs.is_empty() {
                return;
            }
            let opts = DialOpts::peer_id(peer).addresses(addrs).build();
            if let Err(e) = swarm.dial(opts) {
                tracing::debug!(%peer, "dialing: {e}");
            }
        }
        Command::Disconnect(peer) => {
            swarm.behaviour_mut().kad.remove_peer(&peer);
            let _ = swarm.disconnect_peer_id(peer);
        }
        Command::AddKnown(peer, addrs) => {
            for addr in addrs.into_iter().filter(|a| !discovery::is_circuit(a)) {
                swarm.behaviour_mut().kad.add_address(&peer, addr);
            }
        }
        Command::ListenVia(addr) => {
            let Some((relay, direct)) = discovery::relay_of(&addr) else {
                return;
            };
            if swarm.is_connected(&relay) {
                listen_via(swarm, addr);
                return;
            }
            relay_listens.insert(relay, addr);
            if let Err(e) = swarm.dial(direct.clone()) {
                tracing::debug!("dialing relay {direct}: {e}");
            }
        }
        Command::Connections(reply) => {
            let counters = swarm.network_info().connection_counters().clone();
            let _ = reply.send(Connections {
                established_incoming: counters.num_established_incoming(),
                established_outgoing: counters.num_established_outgoing(),
                pending_incoming: counters.num_pending_incoming(),
            });
        }
        Command::Stop(_) => {}
    }
}

/// Settles our head requests with their answers or failures; a peer's head
/// request becomes a report for the node.
fn on_head_event(
    asks: &mut HashMap<OutboundRequestId, oneshot::Sender<HeadReply>>,
    event: request_response::Event<HeadRequest, Bytes>,
) -> Option<SwarmReport> {
    match event {
        request_response::Event::Message { peer, message, .. } => match message {
            request_response::Message::Request {
                request, channel, ..
            } => Some(SwarmReport::HeadRequest {
                peer,
                request,
                channel,
            }),
            request_response::Message::Response {
                request_id,
                response,
            } => {
                if let Some(reply) = asks.remove(&request_id) {
                    let _ = reply.send(Ok(response));
                }
                None
            }
        },
        request_response::Event::OutboundFailure {
            peer,
            request_id,
            error,
            ..
        } => {
            if let Some(reply) = asks.remove(&request_id) {
                let _ = reply.send(Err(ask_failure(peer, error)));
            }
            None
        }
        request_response::Event::InboundFailure { peer, error, .. } => {
            tracing::debug!(%peer, "head request not served: {error}");
            None
        }
        request_response::Event::ResponseSent { .. } => None,
    }
}

/// Why a head request failed, as the node tells garbage (the peer's fault:
/// an answer past the size limit) from an unreachable peer.
fn ask_failure(peer: PeerId, error: request_response::OutboundFailure) -> Error {
    match error {
        request_response::OutboundFailure::Io(e) if e.kind() == std::io::ErrorKind::InvalidData => {
            Error::BadMessage {
                peer: peer.to_string(),
                reason: e.to_string(),
            }
        }
        request_response::OutboundFailure::Timeout => Error::Timeout("head request"),
        other => Error::Network(other.to_string()),
    }
}

/// The report for a swarm event, if the node cares.
fn report_of(
    swarm: &mut Swarm<Behaviour>,
    walking: &mut HashSet<kad::QueryId>,
    event: SwarmEvent<BehaviourEvent>,
) -> Option<SwarmReport> {
    match event {
        SwarmEvent::ConnectionEstablished {
            peer_id, endpoint, ..
        } => {
            let addr = endpoint
                .is_dialer()
                .then(|| endpoint.get_remote_address().clone());
            Some(SwarmReport::Connected(peer_id, addr))
        }
        SwarmEvent::ConnectionClosed {
            peer_id,
            num_established: 0,
            ..
        } => Some(SwarmReport::Disconnected(peer_id)),
        SwarmEvent::NewListenAddr { address, .. } => Some(SwarmReport::Listening(address)),
        SwarmEvent::ExpiredListenAddr { address, .. } => Some(SwarmReport::ListenClosed(address)),
        SwarmEvent::ListenerClosed {
            addresses, reason, ..
        } => {
            if let Err(e) = reason {
                tracing::warn!("listener on {addresses:?} closed: {e}");
            }
            addresses.into_iter().next().map(SwarmReport::ListenClosed)
        }
        SwarmEvent::ListenerError { error, .. } => {
            tracing::warn!("listener error: {error}");
            None
        }
        SwarmEvent::Behaviour(BehaviourEvent::RelayServer(event)) => {
            tracing::debug!("relay: {event:?}");
            None
        }
        SwarmEvent::OutgoingConnectionError { peer_id, error, .. } => {
            Some(SwarmReport::DialFailed(peer_id, error.to_string()))
        }
        SwarmEvent::Behaviour(BehaviourEvent::Identify(identify::Event::Received {
            peer_id,
            info,
            ..
        })) => {
            let identified = Identified::of(&info);
            if identified.kad {
                // Inbound peers reach the table only this way: their listen
                // addresses (not the ephemeral port they dialed from).
                for addr in identified
                    .addrs
                    .iter()
                    .filter(|a| !discovery::is_circuit(a))
                {
                    swarm
                        .behaviour_mut()
                        .kad
                        .add_address(&peer_id, addr.clone());
                }
            }
            Some(SwarmReport::Identified(peer_id, identified))
        }
        SwarmEvent::Behaviour(BehaviourEvent::Kad(kad::Event::OutboundQueryProgressed {
            id,
            result: kad::QueryResult::GetClosestPeers(result),
            step,
            ..
        })) => {
            if step.last {
                walking.remove(&id);
            }
            let peers = match result {
                Ok(ok) => ok.peers,
                Err(kad::GetClosestPeersError::Timeout { peers, .. }) => peers,
            };
            let found: Vec<_> = peers
                .into_iter()
                .map(|p| {
                    let addrs = p.addrs.into_iter().filter(discovery::is_dialable).collect();
                    (p.peer_id, addrs)
                })
                .collect();
            (!found.is_empty()).then_some(SwarmReport::Walked(found))
        }
        SwarmEvent::Behaviour(BehaviourEvent::RelayClient(
            relay::client::Event::ReservationReqAccepted { relay_peer_id, .. },
        )) => Some(SwarmReport::Reserved(relay_peer_id)),
        _ => None,
    }
}

/// libp2p's listeners share ports (`SO_REUSEPORT`), so a second node on a
/// taken port would listen silently beside the first: refuse it up front.
fn check_port_free(addr: &Multiaddr) -> Result<()> {
    use libp2p::multiaddr::Protocol;
    let mut ip = None;
    let mut port = None;
    for p in addr.iter() {
        match p {
            Protocol::Ip4(a) => ip = Some(std::net::IpAddr::V4(a)),
            Protocol::Ip6(a) => ip = Some(std::net::IpAddr::V6(a)),
            Protocol::Tcp(p) => port = Some(p),
            _ => {}
        }
    }
    if let (Some(ip), Some(port)) = (ip, port) {
        if port != 0 {
            std::net::TcpListener::bind((ip, port)).map_err(|e| Error::Listen {
                addr: addr.to_string(),
                reason: e.to_string(),
            })?;
        }
    }
    Ok(())
}
