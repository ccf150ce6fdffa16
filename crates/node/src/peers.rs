//! Peer knowledge: swarm reports (connections, identify, random walks,
//! relay reservations) into the peer table and relays, marking, persisting.

use std::time::Instant;

use libp2p::{Multiaddr, PeerId};

use crate::discovery;
use crate::handle::NodeEvent;
use crate::runtime::{lock, Shared};
use crate::store;
use crate::swarm::{Command, SwarmReport};

impl Shared {
    /// Writes the known peers and relays (one redb transaction).
    pub(crate) fn persist_peers(&self) {
        let peers = self.known_peers();
        if let Err(e) = self.store.save_peers(&peers) {
            tracing::error!("persisting peers: {e}");
        }
    }

    /// Known peers and relays, relays first (they are few and make a node
    /// behind NAT reachable again after a restart).
    pub(crate) fn known_peers(&self) -> Vec<store::KnownPeer> {
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
    pub(crate) fn renew_relays(&self) {
        let listen = lock(&self.relays).next_request(self.config.behind_nat, Instant::now());
        if let Some(listen) = listen {
            tracing::info!("listening through relay {listen}");
            self.command(Command::ListenVia(listen));
        }
    }

    /// Records a relay; a node behind NAT listens through it if it holds
    /// fewer than two reservations.
    pub(crate) fn learn_relay(&self, peer: PeerId, addrs: Vec<Multiaddr>) {
        if peer == self.local || self.core().is_marked(&peer) {
            return;
        }
        let listen = lock(&self.relays).learn(peer, addrs, self.config.behind_nat);
        if let Some(listen) = listen {
            tracing::info!(%peer, "listening through relay {listen}");
            self.command(Command::ListenVia(listen));
        }
    }

    pub(crate) fn mark(&self, peer: PeerId, reason: String) {
        tracing::warn!(%peer, "peer marked: {reason}");
        lock(&self.relays).remove(&peer);
        self.command(Command::Disconnect(peer));
        self.emit(NodeEvent::PeerMarked { peer, reason });
    }
}

impl Shared {
    /// Turns a swarm report into peer knowledge (the owner task calls it for
    /// each report, in order).
    pub(crate) fn on_swarm_report(&self, report: SwarmReport) {
        match report {
            SwarmReport::Connected(peer, addr) => {
                let marked = self.core().is_marked(&peer);
                if marked {
                    self.command(Command::Disconnect(peer));
                    return;
                }
                self.core().add_connected(peer, addr);
                self.emit(NodeEvent::PeerConnected(peer));
            }
            SwarmReport::Identified(peer, identified) => {
                if identified.relay {
                    self.learn_relay(peer, identified.addrs.clone());
                }
                self.core().add_peer(peer, identified.addrs);
            }
            SwarmReport::Walked(found) => {
                for (peer, addrs) in found {
                    if peer == self.local || self.core().is_marked(&peer) {
                        continue;
                    }
                    self.core().add_peer(peer, addrs);
                    let mut walked = lock(&self.walked);
                    if walked.len() < MAX_WALKED_PEERS && walked.insert(peer) {
                        drop(walked);
                        tracing::debug!(%peer, "found by a random walk");
                        self.emit(NodeEvent::PeerDiscovered(peer));
                    }
                }
            }
            SwarmReport::Reserved(relay) => {
                tracing::info!(%relay, "relay reservation accepted");
                lock(&self.relays).reserved(relay);
                self.emit(NodeEvent::RelayReserved(relay));
            }
            SwarmReport::Disconnected(peer) => self.graphsync.peer_disconnected(&peer),
            SwarmReport::Listening(addr) => {
                let mut addrs = lock(&self.listen_addrs);
                if !addrs.contains(&addr) {
                    addrs.push(addr);
                }
            }
            SwarmReport::ListenClosed(addr) => {
                lock(&self.listen_addrs).retain(|a| *a != addr);
                if let Some((relay, _)) =
                    discovery::relay_of(&addr).filter(|_| discovery::is_circuit(&addr))
                {
                    tracing::info!(%relay, "relay reservation lost; asking again later");
                    let retry_at = Instant::now() + self.config.timing.walk_interval;
                    lock(&self.relays).dropped(relay, retry_at);
                }
            }
            SwarmReport::DialFailed(peer, reason) => {
                tracing::debug!(?peer, "dial failed: {reason}");
                if let Some(peer) = peer {
                    let retry_at = Instant::now() + self.config.timing.walk_interval;
                    lock(&self.relays).unreachable(peer, retry_at);
                }
            }
        }
    }

    /// Known peers and relays counted: when the count changes, the owner
    /// persists them.
    pub(crate) fn peer_counts(&self) -> (usize, usize) {
        (
            self.core().addresses.len(),
            lock(&self.relays).known().len(),
        )
    }
}

/// Peers found by random walks remembered at most.
pub(crate) const MAX_WALKED_PEERS: usize = 1024;
