//! Catch-up proofs: asked for when units of a round unknown here have
//! waited [`CATCHUP_DELAY`], checked by the replica before anything is
//! adopted; served at a bounded rate, since a short request makes the
//! server walk its stable chain and send up to `Params::catchup_max_bytes`.

use std::time::Duration;

use libp2p::request_response;
use libp2p::PeerId;
use tau_trustme::UnitDelivery;

use super::Node;
use crate::codec::{decode_catchup_request, encode_catchup_request};
use crate::Result;

/// A node that holds units of a round it does not know asks their sender
/// for a catch-up proof if it still does not know the round this much later
/// (a node merely a moment late stabilizes the switch by itself).
pub const CATCHUP_DELAY: Duration = Duration::from_secs(2);
pub(super) const CATCHUP_DELAY_MS: u64 = CATCHUP_DELAY.as_millis() as u64;
/// How long a catch-up exchange may take.
pub const CATCHUP_TIMEOUT: Duration = Duration::from_secs(10);
/// Inbound catch-up streams open at once on one connection (each proof
/// costs its server a walk of its stable chain).
pub const MAX_CATCHUP_STREAMS_PER_CONNECTION: usize = 2;
/// One peer is served at most one catch-up proof this often; an honest
/// node asks at most once per [`CATCHUP_DELAY`]. A proof is up to
/// `Params::catchup_max_bytes` built from a short request, so requests are
/// refused (answered empty) rather than queued.
pub const CATCHUP_SERVE_PER_PEER: Duration = Duration::from_secs(1);
/// The node serves at most one catch-up proof this often, all peers together.
pub const CATCHUP_SERVE_EVERY: Duration = Duration::from_millis(100);

impl Node {
    pub(super) fn on_catchup_event(&mut self, event: request_response::Event<Vec<u8>, Vec<u8>>) {
        match event {
            request_response::Event::Message { peer, message, .. } => match message {
                request_response::Message::Request {
                    request, channel, ..
                } => {
                    // The cheap checks first: a request that does not decode,
                    // or asks from our stable point or later, is answered
                    // empty without taking a slot of the serving rate (junk
                    // from many peer ids cannot use up honest peers' turns).
                    let last = self.replica.chain().last_stable_mci();
                    let answer = match decode_catchup_request(&request) {
                        Err(e) => {
                            tracing::debug!("catch-up request from {peer}: {e}");
                            Vec::new()
                        }
                        Ok(r) if r.stable_mci >= last => Vec::new(),
                        Ok(r) if self.may_serve_catchup(peer) => {
                            self.prove(&r).unwrap_or_else(|e| {
                                tracing::debug!("catch-up request from {peer}: {e}");
                                Vec::new()
                            })
                        }
                        Ok(_) => {
                            self.stats.catchups_refused += 1;
                            Vec::new()
                        }
                    };
                    if !answer.is_empty() {
                        self.stats.catchups_served += 1;
                    }
                    let _ = self
                        .swarm
                        .behaviour_mut()
                        .catchup
                        .send_response(channel, answer);
                }
                request_response::Message::Response {
                    request_id,
                    response,
                } => {
                    if self.catchup_in_flight == Some(request_id) {
                        self.catchup_in_flight = None;
                        self.adopt(&response, peer);
                    }
                }
            },
            request_response::Event::OutboundFailure {
                peer, request_id, ..
            } if self.catchup_in_flight == Some(request_id) => {
                self.catchup_in_flight = None;
                self.stats.catchup_errors += 1;
                let retry = self.now_ms().saturating_add(CATCHUP_DELAY_MS);
                self.ask_another(peer, retry);
            }
            _ => {}
        }
    }

    /// Whether a catch-up request from `peer` may be served now (see
    /// [`CATCHUP_SERVE_PER_PEER`], [`CATCHUP_SERVE_EVERY`]); if so, counts it.
    fn may_serve_catchup(&mut self, peer: PeerId) -> bool {
        let now = self.now_ms();
        let per_peer = CATCHUP_SERVE_PER_PEER.as_millis() as u64;
        let every = CATCHUP_SERVE_EVERY.as_millis() as u64;
        if self
            .catchup_last_served
            .is_some_and(|t| now.saturating_sub(t) < every)
        {
            return false;
        }
        if self
            .catchup_served_at
            .get(&peer)
            .is_some_and(|&t| now.saturating_sub(t) < per_peer)
        {
            return false;
        }
        // Entries older than the per-peer interval no longer matter; the map
        // holds at most the peers served within it (bounded by the global rate).
        self.catchup_served_at
            .retain(|_, t| now.saturating_sub(*t) < per_peer);
        self.catchup_served_at.insert(peer, now);
        self.catchup_last_served = Some(now);
        true
    }

    /// A peer's catch-up request answered with a proof of our stable chain
    /// after its stable point (empty: nothing to prove).
    fn prove(&self, request: &tau_trustme::CatchupRequest) -> Result<Vec<u8>> {
        let proof = self.replica.catchup_proof(request)?;
        if proof.steps.is_empty() {
            return Ok(Vec::new());
        }
        let bytes = proof.encode()?;
        if bytes.len() > self.config.params.catchup_max_bytes {
            return Ok(Vec::new());
        }
        Ok(bytes)
    }

    /// Checks and adopts a catch-up proof from `peer` (size bound, canonical
    /// decoding, then every step against our rounds in
    /// [`Replica::apply_catchup`]); asks again soon if it moved us but we
    /// are still behind.
    fn adopt(&mut self, bytes: &[u8], peer: PeerId) {
        let now = self.now_ms();
        let retry = now.saturating_add(CATCHUP_DELAY_MS);
        if bytes.is_empty() {
            self.ask_another(peer, retry);
            return;
        }
        let max = self.config.params.catchup_max_bytes;
        let mut delivery = UnitDelivery::default();
        let result = tau_trustme::CatchupProof::decode(bytes, max)
            .and_then(|proof| self.replica.apply_catchup(&proof, &mut delivery));
        let adopted = delivery.stabilized.len() as u64;
        if let Err(e) = &result {
            tracing::debug!("catch-up proof from {peer}: {e}");
            self.stats.catchup_errors += 1;
        }
        if adopted > 0 {
            self.stats.catchups += 1;
            self.stats.catchup_mcis += adopted;
        }
        // A step that does not fit our main chain (e.g. it lacks units the
        // proof relies on) is refused like any bad proof; only a store
        // failure part way stops the node.
        if let Some(e) = result.as_ref().err().filter(|e| e.is_fatal()) {
            self.fatal = Some(e.to_string());
        }
        self.after_delivery(delivery);
        if adopted > 0 {
            if let Some(b) = self.behind.as_mut() {
                b.2 = now;
            }
        } else {
            self.ask_another(peer, retry);
        }
    }

    /// `peer` had nothing that moved us: the next request, at `at`, goes to
    /// the next connected peer in id order, so a peer that announced a
    /// round and answers nothing cannot hold the catch-up.
    fn ask_another(&mut self, peer: PeerId, at: u64) {
        let next = self
            .connected
            .iter()
            .filter(|p| **p > peer)
            .min()
            .or_else(|| self.connected.iter().min())
            .copied();
        if let Some(b) = self.behind.as_mut() {
            b.1 = next.unwrap_or(peer);
            b.2 = at;
        }
    }

    /// Asks for a catch-up proof when units of an unknown round have waited
    /// for [`CATCHUP_DELAY`] (one exchange at a time).
    pub(super) fn maybe_catch_up(&mut self, now: u64) {
        let Some((round, peer, at)) = self.behind else {
            return;
        };
        if self.replica.rounds().current().round >= round {
            self.behind = None;
            return;
        }
        if now < at || self.catchup_in_flight.is_some() {
            return;
        }
        let peer = if self.connected.contains(&peer) {
            peer
        } else {
            match self.connected.iter().next() {
                Some(p) => *p,
                None => return,
            }
        };
        let request = match encode_catchup_request(&self.replica.catchup_request()) {
            Ok(r) => r,
            Err(e) => {
                tracing::warn!("catch-up request: {e}");
                return;
            }
        };
        let id = self
            .swarm
            .behaviour_mut()
            .catchup
            .send_request(&peer, request);
        self.catchup_in_flight = Some(id);
        self.behind = Some((round, peer, now.saturating_add(CATCHUP_DELAY_MS)));
    }
}
