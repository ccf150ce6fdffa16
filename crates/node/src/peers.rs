//! Peer knowledge: swarm reports (connections, identify, random walks,
//! relay reservations) into the peer table and relays, marking, persisting.

use std::time::Instant;

use libp2p::{Multiaddr, PeerId};

use crate::discovery;
use crate::handle::NodeEvent;
use crate::runtime::Owner;
use crate::store;
use crate::swarm::{Command, SwarmReport};

impl Owner {
    /// Writes the known peers and relays (one redb transaction).
    pub(crate) fn persist_peers(&self) {
        let peers = self.known_peers();
        if let Err(e) = self.inner.store.save_peers(&peers) {
            tracing::error!("persisting peers: {e}");
        }
    }

    /// Persists the known peers and relays when their count changed.
    pub(crate) fn persist_peers_if_changed(&mut self) {
        let now = (self.state.addresses.len(), self.relays.known().len());
        if now != self.known {
            self.known = now;
            self.persist_peers();
        }
    }

    /// Known peers and relays, relays first (they are few and make a node
    /// behind NAT reachable again after a restart).
    pub(crate) fn known_peers(&self) -> Vec<store::KnownPeer> {
        let relays = self.relays.known();
        let mut peers: Vec<store::KnownPeer> = relays
            .iter()
            .map(|(id, addrs)| store::KnownPeer {
                id: *id,
                addrs: addrs.clone(),
                relay: true,
            })
            .collect();
        peers.extend(
            self.state
                .responsive_peers()
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
    pub(crate) fn renew_relays(&mut self) {
        let behind_nat = self.inner.config.behind_nat;
        if let Some(listen) = self.relays.next_request(behind_nat, Instant::now()) {
            tracing::info!("listening through relay {listen}");
            self.inner.command(Command::ListenVia(listen));
        }
    }

    /// Records a relay; a node behind NAT listens through it if it holds
    /// fewer than two reservations.
    pub(crate) fn learn_relay(&mut self, peer: PeerId, addrs: Vec<Multiaddr>) {
        if peer == self.inner.local || self.state.is_marked(&peer) {
            return;
        }
        let behind_nat = self.inner.config.behind_nat;
        if let Some(listen) = self.relays.learn(peer, addrs, behind_nat) {
            tracing::info!(%peer, "listening through relay {listen}");
            self.inner.command(Command::ListenVia(listen));
        }
    }

    /// Disconnects a peer the state marked dishonest (see
    /// `NodeState::strike`) and forgets it as a relay.
    pub(crate) fn mark(&mut self, peer: PeerId, reason: String) {
        tracing::warn!(%peer, "peer marked: {reason}");
        self.relays.remove(&peer);
        self.inner.command(Command::Disconnect(peer));
        self.inner.emit(NodeEvent::PeerMarked { peer, reason });
    }
}

impl Owner {
    /// Turns a swarm report into peer knowledge, or answers the head request
    /// it carries (the owner task calls it for each report, in order).
    pub(crate) fn on_swarm_report(&mut self, report: SwarmReport) {
        match report {
            SwarmReport::HeadRequest {
                peer,
                request,
                channel,
            } => self.answer_head(peer, request, channel),
            SwarmReport::Connected(peer, addr) => {
                if self.state.is_marked(&peer) {
                    self.inner.command(Command::Disconnect(peer));
                    return;
                }
                self.state.add_connected(peer, addr);
                self.inner.emit(NodeEvent::PeerConnected(peer));
            }
            SwarmReport::Identified(peer, identified) => {
                if identified.relay {
                    self.learn_relay(peer, identified.addrs.clone());
                }
                self.state.add_peer(peer, identified.addrs);
            }
            SwarmReport::Walked(found) => {
                for (peer, addrs) in found {
                    if peer == self.inner.local || self.state.is_marked(&peer) {
                        continue;
                    }
                    self.state.add_peer(peer, addrs);
                    if self.walked.len() < MAX_WALKED_PEERS && self.walked.insert(peer) {
                        tracing::debug!(%peer, "found by a random walk");
                        self.inner.emit(NodeEvent::PeerDiscovered(peer));
                    }
                }
            }
            SwarmReport::Reserved(relay) => {
                tracing::info!(%relay, "relay reservation accepted");
                self.relays.reserved(relay);
                self.inner.emit(NodeEvent::RelayReserved(relay));
            }
            SwarmReport::Disconnected(peer) => self.inner.graphsync.peer_disconnected(&peer),
            SwarmReport::Listening(addr) => {
                if !self.listen_addrs.contains(&addr) {
                    self.listen_addrs.push(addr);
                }
            }
            SwarmReport::ListenClosed(addr) => {
                self.listen_addrs.retain(|a| *a != addr);
                if let Some((relay, _)) =
                    discovery::relay_of(&addr).filter(|_| discovery::is_circuit(&addr))
                {
                    tracing::info!(%relay, "relay reservation lost; asking again later");
                    let retry_at = Instant::now() + self.inner.config.timing.walk_interval;
                    self.relays.dropped(relay, retry_at);
                }
            }
            SwarmReport::DialFailed(peer, reason) => {
                tracing::debug!(?peer, "dial failed: {reason}");
                if let Some(peer) = peer {
                    let retry_at = Instant::now() + self.inner.config.timing.walk_interval;
                    self.relays.unreachable(peer, retry_at);
                }
            }
        }
    }
}

impl SwarmReport {
    /// Whether handling this report can change what the owner publishes
    /// (head requests, the most frequent report, do not).
    pub(crate) fn changes_view(&self) -> bool {
        !matches!(
            self,
            SwarmReport::HeadRequest { .. }
                | SwarmReport::Disconnected(_)
                | SwarmReport::DialFailed(..)
        )
    }
}

/// Peers found by random walks remembered at most.
pub(crate) const MAX_WALKED_PEERS: usize = 1024;
