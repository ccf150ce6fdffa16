//! One super node as a tokio task: its replica and producer, a libp2p swarm
//! (TCP on 127.0.0.1, noise, yamux) with gossipsub announcing whole units
//! on [`UNITS_TOPIC`], request-response fetching units by id
//! ([`UNIT_PROTOCOL`](crate::UNIT_PROTOCOL)), and an allow/block list to
//! cut connections.
//!
//! Every unit from a peer passes, in order: a size bound, decoding and
//! signature checks ([`VerifiedUnit::from_bytes`]), then
//! [`Replica::receive`] (parents, round rules, PoW). Nothing enters the DAG
//! before all pass; a unit that waits for parents sits in the replica's
//! bounded pool and its missing parents are fetched from the peer that sent
//! it (a bounded queue, bounded requests in flight per peer and in total).
//! Gossipsub forwards a unit only once it passed those checks.
//!
//! The node's parts: `handle` (its configuration, the handle that commands
//! it and the status it reports), `swarm` (the libp2p behaviours and
//! connection bounds), `fetch` (missing parents asked for by id),
//! `catchup` (proofs past a round switch, asked for and served) and
//! `payments` (the payments a devnet node sends).

mod catchup;
mod fetch;
mod handle;
mod payments;
mod swarm;

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::time::Duration;

use cid::Cid;
use futures::StreamExt as _;
use libp2p::gossipsub::{self, IdentTopic, MessageAcceptance};
use libp2p::request_response::OutboundRequestId;
use libp2p::swarm::SwarmEvent;
use libp2p::{Multiaddr, PeerId, Swarm};
use tau_dag::VerifiedUnit;
use tau_ipld::MemoryBlockstore;
use tau_keys::Address;
use tau_trustme::{PowPayload, Producer, Replica, RoundEvent, UnitDelivery};
use tokio::sync::mpsc;

use crate::{Error, Result};
use catchup::CATCHUP_DELAY_MS;
use fetch::Wanted;
use handle::Command;
use payments::PaymentState;
use swarm::{build_swarm, net, Behaviour, BehaviourEvent};

pub use catchup::{
    CATCHUP_DELAY, CATCHUP_SERVE_EVERY, CATCHUP_SERVE_PER_PEER, CATCHUP_TIMEOUT,
    MAX_CATCHUP_STREAMS_PER_CONNECTION,
};
pub use fetch::{
    FETCH_TIMEOUT, MAX_FETCH_ATTEMPTS, MAX_FETCH_QUEUE, MAX_IN_FLIGHT, MAX_IN_FLIGHT_PER_PEER,
    MAX_STREAMS_PER_CONNECTION,
};
pub use handle::{NodeConfig, NodeHandle, Stats, Status};
pub use swarm::{
    MAX_CONNECTIONS, MAX_CONNECTIONS_PER_PEER, MAX_ESTABLISHED_INCOMING, MAX_PENDING_INCOMING,
};

/// The gossipsub topic new units are published on (whole units: a devnet
/// unit with its Equihash solution is well under a few KB).
pub const UNITS_TOPIC: &str = "/tau/trustme/units/1";
/// Known peers that are not connected are redialed this often.
pub const REDIAL_EVERY: Duration = Duration::from_millis(500);
/// Of two known peers only the one with the smaller id dials; the other
/// dials too once the peer has been away this long (its dials may be
/// refused because strangers hold every incoming slot here).
pub const REDIAL_FALLBACK: Duration = Duration::from_secs(2);

/// Starts a node listening on 127.0.0.1 (a free port) and returns once it
/// listens.
pub async fn spawn(config: NodeConfig) -> Result<NodeHandle> {
    let replica = Replica::new(
        MemoryBlockstore::new(),
        config.dag_params.clone(),
        config.chain_params.clone(),
        config.params.clone(),
        config.genesis.clone(),
        config.genesis_unit.clone(),
    )?;
    let solver = tau_pow::Solver::new(config.params.equihash)?;
    let max_unit = config.dag_params.max_unit_size;
    let mut swarm = build_swarm(max_unit, config.params.catchup_max_bytes)?;
    let topic = IdentTopic::new(UNITS_TOPIC);
    swarm
        .behaviour_mut()
        .gossip
        .subscribe(&topic)
        .map_err(net)?;
    let listen: Multiaddr = "/ip4/127.0.0.1/tcp/0".parse().map_err(net)?;
    swarm.listen_on(listen).map_err(net)?;
    let addr = loop {
        match tokio::time::timeout(Duration::from_secs(5), swarm.select_next_some()).await {
            Ok(SwarmEvent::NewListenAddr { address, .. }) => break address,
            Ok(SwarmEvent::ListenerError { error, .. }) => return Err(net(error)),
            Ok(_) => {}
            Err(_) => return Err(Error::Timeout("listening")),
        }
    };
    let peer_id = *swarm.local_peer_id();
    let address = config.key.address();
    let (tx, rx) = mpsc::unbounded_channel();
    let node = Node {
        producer: Producer::new(config.key.clone()),
        replica,
        solver: Some(solver),
        swarm,
        topic,
        payment: config.payment.clone().map(PaymentState::new),
        config,
        known: HashMap::new(),
        away_since: HashMap::new(),
        connections_in: 0,
        connections_out: 0,
        blocked: HashSet::new(),
        connected: HashSet::new(),
        queue: VecDeque::new(),
        queued: HashMap::new(),
        in_flight: HashMap::new(),
        per_peer: HashMap::new(),
        rewards: BTreeMap::new(),
        stats: Stats::default(),
        fatal: None,
        mining_jobs: 0,
        behind: None,
        catchup_in_flight: None,
        catchup_served_at: HashMap::new(),
        catchup_last_served: None,
    };
    let task = tokio::spawn(node.run(rx));
    Ok(NodeHandle {
        peer_id,
        addr,
        address,
        commands: tx,
        task,
    })
}

struct Node {
    config: NodeConfig,
    producer: Producer,
    replica: Replica<MemoryBlockstore>,
    /// The Equihash solver, away while a search runs.
    solver: Option<tau_pow::Solver>,
    swarm: Swarm<Behaviour>,
    topic: IdentTopic,
    payment: Option<PaymentState>,
    known: HashMap<PeerId, Multiaddr>,
    /// When each known peer was last seen not connected (ms).
    away_since: HashMap<PeerId, u64>,
    /// Connections established now, by who dialed.
    connections_in: usize,
    connections_out: usize,
    blocked: HashSet<PeerId>,
    connected: HashSet<PeerId>,
    queue: VecDeque<Cid>,
    queued: HashMap<Cid, Wanted>,
    in_flight: HashMap<OutboundRequestId, (Cid, PeerId)>,
    per_peer: HashMap<PeerId, usize>,
    rewards: BTreeMap<Address, u64>,
    stats: Stats,
    fatal: Option<String>,
    mining_jobs: u64,
    /// Units of a round unknown here came from a peer: which round, from
    /// whom, and when to ask that peer for a catch-up proof (ms).
    behind: Option<(u64, PeerId, u64)>,
    catchup_in_flight: Option<OutboundRequestId>,
    /// When each peer was last served a catch-up proof (ms since start).
    catchup_served_at: HashMap<PeerId, u64>,
    /// When any peer was last served one.
    catchup_last_served: Option<u64>,
}

type Mined = (
    tau_pow::Solver,
    Result<Option<(PowPayload, u32)>, tau_trustme::Error>,
);

impl Node {
    fn now_ms(&self) -> u64 {
        u64::try_from(self.config.epoch.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    async fn run(mut self, mut commands: mpsc::UnboundedReceiver<Command>) {
        let mut tick = tokio::time::interval(self.config.tick);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut redial = tokio::time::interval(REDIAL_EVERY);
        redial.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let (mined_tx, mut mined_rx) = mpsc::unbounded_channel::<Mined>();
        loop {
            tokio::select! {
                event = self.swarm.select_next_some() => self.on_swarm(event),
                _ = tick.tick() => self.on_tick(&mined_tx),
                _ = redial.tick() => self.redial(),
                Some((solver, found)) = mined_rx.recv() => {
                    self.solver = Some(solver);
                    self.on_mined(found);
                }
                command = commands.recv() => match command {
                    None | Some(Command::Stop) => return,
                    Some(c) => self.on_command(c),
                },
            }
            self.pump_fetches();
        }
    }

    fn on_command(&mut self, command: Command) {
        match command {
            Command::Dial(peer, addr) => {
                if peer != *self.swarm.local_peer_id() {
                    self.known.insert(peer, addr);
                    if !self.connected.contains(&peer) {
                        let now = self.now_ms();
                        self.away_since.entry(peer).or_insert(now);
                    }
                    self.redial();
                }
            }
            Command::Block(peer) => {
                self.blocked.insert(peer);
                self.swarm.behaviour_mut().blocked.block_peer(peer);
            }
            Command::Unblock(peer) => {
                self.blocked.remove(&peer);
                self.swarm.behaviour_mut().blocked.unblock_peer(peer);
                // The grace before the larger id dials starts now.
                if self.known.contains_key(&peer) && !self.connected.contains(&peer) {
                    let now = self.now_ms();
                    self.away_since.insert(peer, now);
                }
                self.redial();
            }
            Command::Status(reply) => {
                let _ = reply.send(Box::new(self.status()));
            }
            Command::PublishRaw(bytes, reply) => {
                let topic = self.topic.clone();
                let ok = self
                    .swarm
                    .behaviour_mut()
                    .gossip
                    .publish(topic, bytes)
                    .is_ok();
                let _ = reply.send(ok);
            }
            Command::Has(id, reply) => {
                let has = self.replica.holds(&id);
                let _ = reply.send(has);
            }
            Command::Stop => {}
        }
    }

    /// Dials every known, unblocked peer that is not connected. The node
    /// with the smaller id dials, so two nodes usually hold one connection;
    /// the other one too once the peer has been away [`REDIAL_FALLBACK`].
    fn redial(&mut self) {
        let me = *self.swarm.local_peer_id();
        let now = self.now_ms();
        let fallback = REDIAL_FALLBACK.as_millis() as u64;
        let targets: Vec<(PeerId, Multiaddr)> = self
            .known
            .iter()
            .filter(|(p, _)| !self.blocked.contains(p) && !self.connected.contains(p))
            .filter(|(p, _)| {
                me < **p
                    || self
                        .away_since
                        .get(p)
                        .is_some_and(|&t| now.saturating_sub(t) >= fallback)
            })
            .map(|(p, a)| (*p, a.clone()))
            .collect();
        for (peer, addr) in targets {
            let opts = libp2p::swarm::dial_opts::DialOpts::peer_id(peer)
                .addresses(vec![addr])
                .condition(libp2p::swarm::dial_opts::PeerCondition::DisconnectedAndNotDialing)
                .build();
            if let Err(e) = self.swarm.dial(opts) {
                tracing::debug!("dial {peer}: {e}");
            }
        }
    }

    /// The count of established connections this node dialed (`true`) or
    /// accepted.
    fn connections(&mut self, dialed: bool) -> &mut usize {
        if dialed {
            &mut self.connections_out
        } else {
            &mut self.connections_in
        }
    }

    fn on_swarm(&mut self, event: SwarmEvent<BehaviourEvent>) {
        match event {
            SwarmEvent::ConnectionEstablished {
                peer_id, endpoint, ..
            } => {
                self.connected.insert(peer_id);
                self.away_since.remove(&peer_id);
                *self.connections(endpoint.is_dialer()) += 1;
            }
            SwarmEvent::ConnectionClosed {
                peer_id,
                endpoint,
                num_established,
                ..
            } => {
                let n = self.connections(endpoint.is_dialer());
                *n = n.saturating_sub(1);
                if num_established == 0 {
                    self.connected.remove(&peer_id);
                    if self.known.contains_key(&peer_id) {
                        let now = self.now_ms();
                        self.away_since.insert(peer_id, now);
                    }
                }
            }
            SwarmEvent::Behaviour(BehaviourEvent::Gossip(gossipsub::Event::Message {
                propagation_source,
                message_id,
                message,
            })) => {
                let acceptance = self.on_unit_bytes(&message.data, propagation_source, None);
                self.swarm
                    .behaviour_mut()
                    .gossip
                    .report_message_validation_result(&message_id, &propagation_source, acceptance);
            }
            SwarmEvent::Behaviour(BehaviourEvent::Unit(event)) => self.on_unit_event(event),
            SwarmEvent::Behaviour(BehaviourEvent::Catchup(event)) => self.on_catchup_event(event),
            _ => {}
        }
    }

    /// Checks and takes in a unit's bytes from `peer` (`asked`: the id we
    /// fetched). What gossipsub should do with the message.
    fn on_unit_bytes(
        &mut self,
        bytes: &[u8],
        peer: PeerId,
        asked: Option<Cid>,
    ) -> MessageAcceptance {
        self.stats.units_received += 1;
        if self.fatal.is_some() {
            return MessageAcceptance::Ignore;
        }
        let max = self.config.dag_params.max_unit_size;
        if bytes.len() > max {
            tracing::debug!(
                "unit from {peer} refused: {}",
                Error::TooLarge {
                    len: bytes.len(),
                    max
                }
            );
            self.stats.units_refused += 1;
            return MessageAcceptance::Reject;
        }
        // The id is a hash of the bytes: checked before any signature, so an
        // answer for another id, or a unit held already, costs no signature
        // check.
        let id = tau_dag::id::unit_id(bytes);
        if asked.is_some_and(|a| a != id) {
            tracing::debug!("{peer} answered with another unit");
            self.stats.units_refused += 1;
            return MessageAcceptance::Reject;
        }
        if self.replica.holds(&id) {
            return MessageAcceptance::Ignore;
        }
        let unit = match VerifiedUnit::from_bytes(bytes, &self.config.dag_params) {
            Ok(u) => u,
            Err(e) => {
                tracing::debug!("unit from {peer} refused: {e}");
                self.stats.units_refused += 1;
                return MessageAcceptance::Reject;
            }
        };
        self.ingest(unit, Some(peer))
    }

    /// Gives a verified unit to the replica; fetches its missing parents.
    fn ingest(&mut self, unit: VerifiedUnit, from: Option<PeerId>) -> MessageAcceptance {
        let id = unit.id();
        let round = unit.unit().unsigned.round;
        match self.replica.receive(unit) {
            Ok(delivery) => {
                if delivery.waiting {
                    let current = self.replica.rounds().current().round;
                    // The nearest unknown round is the one to catch up to: a
                    // unit claiming a far round (any key can sign one) must
                    // not hold the catch-up on a round that never comes.
                    let nearer = self.behind.is_none_or(|(r, _, _)| round < r);
                    if let (Some(from), true, true) = (from, round > current, nearer) {
                        let at = self.now_ms().saturating_add(CATCHUP_DELAY_MS);
                        self.behind = Some((round, from, at));
                    }
                    // Not just the direct parents: a parent may itself be
                    // waiting on an ancestor whose fetch was given up.
                    if let Some(from) = from {
                        let max = self.config.dag_params.max_parents;
                        for p in self.replica.missing_ancestors(&id, max) {
                            self.want(p, from);
                        }
                    }
                }
                // A unit left waiting (parents or round unknown) had only
                // its signature checked: kept and its parents fetched, but
                // not forwarded, so units with made-up parents cost the
                // network one hop, not a flood of everyone's waiting pools.
                let acceptance = if delivery.waiting {
                    MessageAcceptance::Ignore
                } else {
                    MessageAcceptance::Accept
                };
                self.after_delivery(delivery);
                acceptance
            }
            Err(tau_trustme::Error::Dag(tau_dag::Error::Duplicate(_))) => MessageAcceptance::Ignore,
            Err(e) if e.is_fatal() => {
                tracing::error!("fatal replica error: {e}");
                self.fatal = Some(e.to_string());
                MessageAcceptance::Ignore
            }
            Err(e @ tau_trustme::Error::MainChain(tau_mainchain::Error::StableRewrite { .. })) => {
                // Someone built on a fork below our stable point (an
                // equivocating attestor): refused, our stable chain stands.
                tracing::warn!("unit {id} refused: {e}");
                self.stats.units_refused += 1;
                MessageAcceptance::Reject
            }
            Err(e) => {
                tracing::debug!("unit {id} refused: {e}");
                if from.is_some() {
                    self.stats.units_refused += 1;
                }
                MessageAcceptance::Reject
            }
        }
    }

    fn after_delivery(&mut self, delivery: UnitDelivery) {
        self.stats.units_refused += delivery.rejected.len() as u64;
        let now = self.now_ms();
        if let Err(e) = self.producer.observe(&self.replica, &delivery, now) {
            tracing::warn!("observe: {e}");
        }
        for event in &delivery.events {
            if let RoundEvent::Switched { coinbase, .. } = event {
                self.stats.round_switches += 1;
                for e in coinbase {
                    *self.rewards.entry(e.address).or_insert(0) += e.amount;
                }
            }
        }
    }

    /// Takes a unit this node made, then publishes it.
    fn publish(&mut self, unit: VerifiedUnit) {
        let bytes = unit.bytes().to_vec();
        if let MessageAcceptance::Accept = self.ingest(unit, None) {
            self.stats.units_made += 1;
            let topic = self.topic.clone();
            if let Err(e) = self.swarm.behaviour_mut().gossip.publish(topic, bytes) {
                // No peer (e.g. cut off): peers fetch it when they see a child.
                tracing::debug!("publish: {e}");
            }
        }
    }

    fn on_tick(&mut self, mined: &mpsc::UnboundedSender<Mined>) {
        if self.fatal.is_some() {
            return;
        }
        let now = self.now_ms();
        // The job is taken before attesting, as the simulator does; one
        // search at a time (the solver is away while it runs).
        if self.solver.is_some() {
            if let Some(ctx) = self.producer.mining_job(&self.replica) {
                if let Some(mut solver) = self.solver.take() {
                    let key = self.producer.key().public_key();
                    let params = self.config.params.clone();
                    self.mining_jobs += 1;
                    let first = (self.config.nonce_seed << 24 ^ self.mining_jobs << 8) as u32;
                    let tx = mined.clone();
                    tokio::task::spawn_blocking(move || {
                        let found =
                            tau_trustme::mine(&mut solver, &key, &ctx, &params, first, 10_000);
                        let _ = tx.send((solver, found));
                    });
                }
            }
        }
        match self.producer.attest(&self.replica, now) {
            Ok(Some(unit)) => self.publish(unit),
            Ok(None) => {}
            Err(e) => tracing::warn!("attest: {e}"),
        }
        self.pay(now);
        self.maybe_catch_up(now);
    }

    fn on_mined(&mut self, found: Result<Option<(PowPayload, u32)>, tau_trustme::Error>) {
        let payload = match found {
            Ok(Some((payload, _))) => payload,
            Ok(None) => return,
            Err(e) => {
                tracing::warn!("mining: {e}");
                return;
            }
        };
        self.stats.pow_found += 1;
        let now = self.now_ms();
        match self.producer.pow_unit(&self.replica, now, &payload) {
            Ok(Some(unit)) => self.publish(unit),
            Ok(None) => {}
            Err(e) => tracing::warn!("pow unit: {e}"),
        }
    }

    fn status(&self) -> Status {
        let chain = self.replica.chain();
        let rounds = self.replica.rounds();
        let last = chain.last_stable_mci();
        let stable_units = (0..=last)
            .map(|mci| {
                chain
                    .stable_units(mci)
                    .unwrap_or(&[])
                    .iter()
                    .filter_map(|&n| chain.dag().id(n))
                    .collect()
            })
            .collect();
        let ledger = rounds.ledger();
        Status {
            address: self.producer.address(),
            peer_id: *self.swarm.local_peer_id(),
            round: rounds.current().round,
            attestors: rounds.current().addresses(),
            last_stable_mci: last,
            digests: (1..=last).map(|mci| rounds.state_digest(mci)).collect(),
            stable_units,
            balances: self
                .config
                .watch
                .iter()
                .map(|a| (*a, ledger.balance(a)))
                .collect(),
            rewards: self.rewards.clone(),
            issued: ledger.issued(),
            waiting: self.replica.waiting(),
            connected: self.connected.len(),
            fetch_queued: self.queued.len(),
            connections_in: self.connections_in,
            connections_out: self.connections_out,
            topic_peers: {
                let hash = self.topic.hash();
                let gossip = &self.swarm.behaviour().gossip;
                gossip
                    .all_peers()
                    .filter(|(p, topics)| self.connected.contains(p) && topics.contains(&&hash))
                    .count()
            },
            stats: self.stats,
            fatal: self.fatal.clone(),
        }
    }
}
