//! Missing parents, fetched by id from the peers that announced their
//! children: a bounded queue, bounded requests in flight per peer and in
//! total, a few attempts per id; and the serving side, which answers only
//! with units in the DAG.

use std::time::Duration;

use cid::Cid;
use libp2p::gossipsub::MessageAcceptance;
use libp2p::request_response::{self, OutboundRequestId};
use libp2p::PeerId;
use tau_ipld::Blockstore as _;

use super::Node;
use crate::codec::{UnitRequest, UnitResponse};

/// Unit ids waiting to be fetched, at most.
pub const MAX_FETCH_QUEUE: usize = 4_096;
/// Fetch requests in flight to one peer, at most.
pub const MAX_IN_FLIGHT_PER_PEER: usize = 8;
/// Fetch requests in flight in total, at most.
pub const MAX_IN_FLIGHT: usize = 64;
/// Peers asked for one unit before it is given up.
pub const MAX_FETCH_ATTEMPTS: u32 = 3;
/// Inbound fetch streams open at once on one connection.
pub const MAX_STREAMS_PER_CONNECTION: usize = 16;
/// How long a fetch may take.
pub const FETCH_TIMEOUT: Duration = Duration::from_secs(5);

/// A unit id to fetch: who may have it and how many were asked.
pub(super) struct Wanted {
    pub(super) peers: Vec<PeerId>,
    pub(super) attempts: u32,
}

impl Node {
    pub(super) fn on_unit_event(
        &mut self,
        event: request_response::Event<UnitRequest, UnitResponse>,
    ) {
        match event {
            request_response::Event::Message { peer, message, .. } => match message {
                request_response::Message::Request {
                    request, channel, ..
                } => {
                    // Only units in the DAG are served (never the waiting
                    // pool, nor other blocks the store may hold).
                    let dag = self.replica.chain().dag();
                    let bytes = if dag.contains(&request.0) {
                        dag.store()
                            .get(&request.0)
                            .ok()
                            .flatten()
                            .unwrap_or_default()
                    } else {
                        Vec::new()
                    };
                    let _ = self
                        .swarm
                        .behaviour_mut()
                        .unit
                        .send_response(channel, UnitResponse(bytes));
                }
                request_response::Message::Response {
                    request_id,
                    response,
                } => {
                    let Some((id, _)) = self.finish(request_id) else {
                        return;
                    };
                    if response.0.is_empty() {
                        self.stats.fetch_failures += 1;
                        self.retry(id);
                        return;
                    }
                    if let MessageAcceptance::Reject =
                        self.on_unit_bytes(&response.0, peer, Some(id))
                    {
                        self.stats.fetch_failures += 1;
                    }
                    // Taken or waiting: the entry goes; refused: asked again
                    // elsewhere while attempts remain.
                    self.retry(id);
                }
            },
            request_response::Event::OutboundFailure { request_id, .. } => {
                if let Some((id, _)) = self.finish(request_id) {
                    self.stats.fetch_failures += 1;
                    self.retry(id);
                }
            }
            _ => {}
        }
    }

    /// A fetch ended: frees its slot; the id and the peer asked.
    pub(super) fn finish(&mut self, request_id: OutboundRequestId) -> Option<(Cid, PeerId)> {
        let (id, peer) = self.in_flight.remove(&request_id)?;
        if let Some(n) = self.per_peer.get_mut(&peer) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                self.per_peer.remove(&peer);
            }
        }
        Some((id, peer))
    }

    /// A fetch of `id` ended: it goes back in the queue for another peer
    /// if it is still missing and attempts remain; otherwise its entry goes
    /// (every ended fetch passes here, or the queue would fill with ids
    /// fetched long ago and refuse new ones).
    pub(super) fn retry(&mut self, id: Cid) {
        let missing = !self.replica.holds(&id);
        match self.queued.get(&id) {
            Some(w) if missing && w.attempts < MAX_FETCH_ATTEMPTS => self.queue.push_back(id),
            _ => {
                self.queued.remove(&id);
            }
        }
    }

    /// Queues `id` to be fetched, `from` first.
    pub(super) fn want(&mut self, id: Cid, from: PeerId) {
        // Cheap checks first: `holds` scans the waiting pool.
        if let Some(w) = self.queued.get_mut(&id) {
            if !w.peers.contains(&from) && w.peers.len() < 8 {
                w.peers.push(from);
            }
            return;
        }
        if self.queued.len() >= MAX_FETCH_QUEUE {
            self.stats.fetch_dropped += 1;
            return;
        }
        if self.replica.holds(&id) {
            return;
        }
        self.queued.insert(
            id,
            Wanted {
                peers: vec![from],
                attempts: 0,
            },
        );
        self.queue.push_back(id);
    }

    /// Sends queued fetches while the bounds allow.
    pub(super) fn pump_fetches(&mut self) {
        let mut deferred = Vec::new();
        while self.in_flight.len() < MAX_IN_FLIGHT {
            // Every connected peer at its bound: nothing can be sent, so the
            // queue is not walked (it would be, id by id, on every event).
            let room = self
                .connected
                .iter()
                .any(|p| self.per_peer.get(p).copied().unwrap_or(0) < MAX_IN_FLIGHT_PER_PEER);
            if !room {
                break;
            }
            let Some(id) = self.queue.pop_front() else {
                break;
            };
            if self.replica.holds(&id) {
                self.queued.remove(&id);
                continue;
            }
            let Some(w) = self.queued.get_mut(&id) else {
                continue;
            };
            // The peers that announced it first, then any connected one.
            let mut candidates: Vec<PeerId> = w.peers.clone();
            candidates.extend(self.connected.iter().filter(|p| !w.peers.contains(p)));
            let attempt = w.attempts as usize;
            let peer = candidates
                .iter()
                .filter(|p| self.connected.contains(p))
                .filter(|p| self.per_peer.get(p).copied().unwrap_or(0) < MAX_IN_FLIGHT_PER_PEER)
                .cycle()
                .nth(attempt)
                .copied();
            let Some(peer) = peer else {
                if self.connected.is_empty() {
                    self.queued.remove(&id);
                } else {
                    deferred.push(id);
                }
                continue;
            };
            w.attempts += 1;
            let request_id = self
                .swarm
                .behaviour_mut()
                .unit
                .send_request(&peer, UnitRequest(id));
            self.in_flight.insert(request_id, (id, peer));
            *self.per_peer.entry(peer).or_insert(0) += 1;
            self.stats.fetches += 1;
        }
        // Ids whose peers are all busy go back, in order, for the next pump.
        for id in deferred.into_iter().rev() {
            self.queue.push_front(id);
        }
    }
}
