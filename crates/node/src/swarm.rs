//! The libp2p swarm: tcp + noise + yamux with identify, ping and
//! `libp2p-stream` (Graphsync and the head protocol), driven by one task
//! that dials on command and reports peers to the node.

use std::time::Duration;

use futures::StreamExt as _;
use libp2p::swarm::dial_opts::DialOpts;
use libp2p::swarm::{NetworkBehaviour, SwarmEvent};
use libp2p::{identify, noise, ping, tcp, yamux, Multiaddr, PeerId, Swarm};
use tokio::sync::{mpsc, oneshot};

use crate::{Error, Result};

/// Identify's protocol version for TAU nodes.
pub const IDENTIFY_PROTOCOL: &str = "/tau/1.0.0";

/// Connections with no stream open close after this long.
const IDLE_CONNECTION_TIMEOUT: Duration = Duration::from_secs(120);

/// The node's behaviours.
#[derive(NetworkBehaviour)]
pub(crate) struct Behaviour {
    identify: identify::Behaviour,
    ping: ping::Behaviour,
    pub(crate) stream: libp2p_stream::Behaviour,
}

/// Commands to the swarm task.
pub(crate) enum Command {
    /// Dial an address (peer unknown).
    Dial(Multiaddr),
    /// Dial a peer at any of these addresses unless connected.
    DialPeer(PeerId, Vec<Multiaddr>),
    /// Close every connection to a peer.
    Disconnect(PeerId),
    /// Stop the task.
    Stop(oneshot::Sender<()>),
}

/// What the swarm task reports.
#[derive(Debug)]
pub(crate) enum SwarmReport {
    /// A connection is up; `addr` is the peer's address if we dialed it.
    Connected(PeerId, Option<Multiaddr>),
    /// Identify told us where the peer listens.
    Identified(PeerId, Vec<Multiaddr>),
    /// The last connection to a peer closed.
    Disconnected(PeerId),
    /// We listen on a new address.
    Listening(Multiaddr),
    /// A dial failed.
    DialFailed(Option<PeerId>, String),
}

/// Builds the swarm and listens on `listen`; returns the first listen
/// addresses once they are known.
pub(crate) async fn build(
    keypair: libp2p::identity::Keypair,
    listen: &[Multiaddr],
) -> Result<(Swarm<Behaviour>, Vec<Multiaddr>)> {
    let net = |e: &dyn std::fmt::Display| Error::Network(e.to_string());
    let mut swarm = libp2p::SwarmBuilder::with_existing_identity(keypair)
        .with_tokio()
        .with_tcp(
            tcp::Config::default().nodelay(true),
            noise::Config::new,
            yamux::Config::default,
        )
        .map_err(|e| net(&e))?
        .with_behaviour(|key| Behaviour {
            identify: identify::Behaviour::new(identify::Config::new(
                IDENTIFY_PROTOCOL.into(),
                key.public(),
            )),
            ping: ping::Behaviour::default(),
            stream: libp2p_stream::Behaviour::new(),
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
    Ok((swarm, addrs))
}

/// Drives the swarm until stopped.
pub(crate) async fn drive(
    mut swarm: Swarm<Behaviour>,
    mut commands: mpsc::UnboundedReceiver<Command>,
    reports: mpsc::UnboundedSender<SwarmReport>,
) {
    loop {
        tokio::select! {
            event = swarm.select_next_some() => {
                let report = match event {
                    SwarmEvent::ConnectionEstablished { peer_id, endpoint, .. } => {
                        let addr = endpoint.is_dialer().then(|| endpoint.get_remote_address().clone());
                        Some(SwarmReport::Connected(peer_id, addr))
                    }
                    SwarmEvent::ConnectionClosed { peer_id, num_established: 0, .. } => {
                        Some(SwarmReport::Disconnected(peer_id))
                    }
                    SwarmEvent::NewListenAddr { address, .. } => Some(SwarmReport::Listening(address)),
                    SwarmEvent::OutgoingConnectionError { peer_id, error, .. } => {
                        Some(SwarmReport::DialFailed(peer_id, error.to_string()))
                    }
                    SwarmEvent::Behaviour(BehaviourEvent::Identify(identify::Event::Received {
                        peer_id, info, ..
                    })) => {
                        let addrs = info
                            .listen_addrs
                            .into_iter()
                            .filter(is_dialable)
                            .collect();
                        Some(SwarmReport::Identified(peer_id, addrs))
                    }
                    _ => None,
                };
                if let Some(report) = report {
                    if reports.send(report).is_err() {
                        return;
                    }
                }
            }
            command = commands.recv() => match command {
                None => return,
                Some(Command::Stop(done)) => {
                    let _ = done.send(());
                    return;
                }
                Some(Command::Dial(addr)) => {
                    if let Err(e) = swarm.dial(addr.clone()) {
                        tracing::debug!("dialing {addr}: {e}");
                    }
                }
                Some(Command::DialPeer(peer, addrs)) => {
                    if swarm.is_connected(&peer) || addrs.is_empty() {
                        continue;
                    }
                    let opts = DialOpts::peer_id(peer).addresses(addrs).build();
                    if let Err(e) = swarm.dial(opts) {
                        tracing::debug!(%peer, "dialing: {e}");
                    }
                }
                Some(Command::Disconnect(peer)) => {
                    let _ = swarm.disconnect_peer_id(peer);
                }
            },
        }
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

/// Whether an address is worth dialing (not unspecified).
fn is_dialable(addr: &Multiaddr) -> bool {
    !addr.iter().any(|p| {
        matches!(p, libp2p::multiaddr::Protocol::Ip4(ip) if ip.is_unspecified())
            || matches!(p, libp2p::multiaddr::Protocol::Ip6(ip) if ip.is_unspecified())
    })
}
