//! A deterministic discrete-event simulator of a TrustME-PoW network.
//!
//! N super nodes plus the foundation run one [`Replica`] each over a
//! seeded network model: latency with jitter, lost messages retransmitted,
//! partitions and heals, offline nodes, equivocating attestors. A node that
//! receives a unit with unknown parents fetches them from the sender (one
//! more latency), so every node ends up with every unit it can reach.
//! A node that receives units of a round it does not know, and still does
//! not know it `catchup_delay_ms` later, asks their sender for the stable
//! main chain with proofs ([`crate::CatchupProof`]) through the same network
//! and adopts what the proof shows.
//! Each node's units come from its [`Producer`]: super nodes really mine
//! (tau-pow's solver; each run costs `solve_ms` of simulated time);
//! attestors send TrustME units in priority order with the TR §4.6
//! take-over. The simulator adds only the network and the adversaries
//! (equivocators send a twin unit to half the nodes). Nothing reads a clock:
//! one seed, one run.
//!
//! ```
//! use tau_trustme::sim::{Sim, SimConfig};
//! let mut sim = Sim::new(SimConfig::devnet(6, 2, 7))?;
//! let report = sim.run()?;
//! assert!(report.rounds.len() >= 3);
//! assert!(report.stable_units > 0);
//! # Ok::<(), tau_trustme::Error>(())
//! ```

mod config;
mod report;
mod rng;

use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap, HashMap};

use cid::Cid;
use tau_dag::{Message, UnsignedUnit, VerifiedUnit};
use tau_ipld::MemoryBlockstore;
use tau_keys::{Address, Keypair};

pub use config::{Partition, SimConfig};
pub use report::{Report, RoundSummary};
pub use rng::Rng;

use crate::params::{Genesis, WitnessPhase};
use crate::pow_unit::{mine, PowPayload};
use crate::producer::{build_unit, Producer};
use crate::replica::Replica;
use crate::round::RoundEvent;
use crate::{CatchupProof, CatchupRequest, Error, Result};

#[derive(Debug)]
enum Event {
    /// `unit` reaches `to`, sent by `from` (its author when `None`).
    Deliver {
        to: usize,
        unit: Cid,
        from: Option<usize>,
    },
    /// `node` saw units of `round` from `peer`: still behind?
    CheckBehind {
        node: usize,
        peer: usize,
        round: u64,
    },
    /// `node`'s catch-up request (it has seen units of `round`) arrives at `peer`.
    CatchupRequest {
        node: usize,
        peer: usize,
        round: u64,
        request: CatchupRequest,
    },
    /// `peer`'s encoded proof arrives at `node`.
    CatchupReply {
        node: usize,
        peer: usize,
        round: u64,
        bytes: Vec<u8>,
    },
    Tick {
        node: usize,
    },
    PowDone {
        node: usize,
        payload: PowPayload,
    },
}

struct SimNode {
    producer: Producer,
    replica: Replica<MemoryBlockstore>,
    next_normal: u64,
    /// No new catch-up check before this time.
    catchup_after: u64,
}

/// The simulator.
pub struct Sim {
    cfg: SimConfig,
    rng: Rng,
    /// Latency draws of catch-up traffic (kept apart so that runs without
    /// catch-up draw exactly what they drew before it existed).
    catchup_rng: Rng,
    now: u64,
    seq: u64,
    queue: BinaryHeap<Reverse<(u64, u64, usize)>>,
    events: Vec<Option<Event>>,
    nodes: Vec<SimNode>,
    units: HashMap<Cid, VerifiedUnit>,
    created: HashMap<Cid, u64>,
    solver: tau_pow::Solver,
    report: Report,
    stable_history: Vec<Vec<Cid>>,
}

impl std::fmt::Debug for Sim {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sim")
            .field("now", &self.now)
            .field("nodes", &self.nodes.len())
            .finish()
    }
}

fn key_of(seed: u64, i: usize) -> Result<Keypair> {
    let mut rng = Rng::new(seed ^ 0x5eed_0000_0000 ^ (i as u64).wrapping_mul(0x9e37_79b9));
    let mut secret = [0u8; 32];
    for chunk in secret.chunks_mut(8) {
        chunk.copy_from_slice(&rng.next_u64().to_le_bytes());
    }
    secret[0] |= 1;
    Ok(Keypair::from_bytes(&secret)?)
}

impl Sim {
    /// Builds the network: keys from the seed, genesis by foundation node 0,
    /// every super node with the minimum deposit from genesis.
    pub fn new(cfg: SimConfig) -> Result<Self> {
        let params = cfg.params.clone();
        params.validate()?;
        let f = params.foundation_attestors;
        if cfg.super_nodes < params.pow_attestors || f == 0 {
            return Err(Error::InvalidParams(
                "a simulation needs a foundation node and at least pow_attestors super nodes",
            ));
        }
        let total = f + cfg.super_nodes;
        let keys: Vec<Keypair> = (0..total)
            .map(|i| key_of(cfg.seed, i))
            .collect::<Result<_>>()?;
        let mut seed_rng = Rng::new(cfg.seed);
        let mut pub_seed = [0u8; 32];
        for chunk in pub_seed.chunks_mut(8) {
            chunk.copy_from_slice(&seed_rng.next_u64().to_le_bytes());
        }
        let round_one: Vec<Address> = keys[..f + params.pow_attestors]
            .iter()
            .map(|k| k.address())
            .collect();
        let witness_phase = cfg.witness_switch_mci.map(|switch_mci| WitnessPhase {
            witnesses: round_one.clone(),
            switch_mci,
        });
        let genesis = Genesis {
            foundation: round_one[..f].to_vec(),
            foundation_reward: keys[0].address(),
            initial_attestors: match witness_phase {
                Some(_) => Vec::new(),
                None => round_one[f..].to_vec(),
            },
            pub_seed,
            deposits: keys[f..]
                .iter()
                .map(|k| (k.address(), params.min_deposit))
                .collect(),
            witness_phase,
        };
        let dag_params = tau_dag::Params::devnet();
        let genesis_unit = UnsignedUnit {
            version: dag_params.version,
            round: genesis.first_round(),
            timestamp: 0,
            parents: vec![],
            authors: vec![keys[0].address()],
            messages: vec![Message::Data(b"tau-trustme sim genesis".to_vec())],
        }
        .sign(&[&keys[0]])?
        .verify(&dag_params)?;
        let mut nodes = Vec::with_capacity(total);
        for key in keys {
            let replica = Replica::new(
                MemoryBlockstore::new(),
                dag_params.clone(),
                tau_mainchain::Params::mainnet(),
                params.clone(),
                genesis.clone(),
                genesis_unit.clone(),
            )?;
            nodes.push(SimNode {
                producer: Producer::new(key),
                replica,
                next_normal: 0,
                catchup_after: 0,
            });
        }
        let solver = tau_pow::Solver::new(params.equihash)?;
        let mut sim = Self {
            rng: Rng::new(cfg.seed.rotate_left(17) ^ 0xa5a5),
            catchup_rng: Rng::new(cfg.seed.rotate_left(29) ^ 0xc47c),
            cfg,
            now: 0,
            seq: 0,
            queue: BinaryHeap::new(),
            events: Vec::new(),
            nodes,
            units: HashMap::new(),
            created: HashMap::new(),
            solver,
            report: Report::default(),
            stable_history: vec![Vec::new(); total],
        };
        sim.units.insert(genesis_unit.id(), genesis_unit);
        sim.report.rounds.push(RoundSummary {
            round: sim.nodes[0].replica.rounds().current().round,
            start_ms: 0,
            attestors: sim.nodes[0].replica.rounds().current().addresses(),
            new_attestors: 0,
            coinbase: Vec::new(),
        });
        for i in 0..total {
            let offset = sim.rng.below(sim.cfg.tick_ms.max(1));
            sim.schedule(offset, Event::Tick { node: i });
            if sim.cfg.normal_unit_ms > 0 {
                sim.nodes[i].next_normal = sim.rng.below(2 * sim.cfg.normal_unit_ms);
            }
        }
        Ok(sim)
    }

    fn schedule(&mut self, at: u64, event: Event) {
        let slot = self.events.len();
        self.events.push(Some(event));
        self.seq += 1;
        self.queue.push(Reverse((at, self.seq, slot)));
    }

    /// The simulated time in ms.
    pub fn now(&self) -> u64 {
        self.now
    }

    /// Node `i`'s replica.
    pub fn replica(&self, i: usize) -> &Replica<MemoryBlockstore> {
        &self.nodes[i].replica
    }

    /// Number of nodes (foundation first).
    pub fn node_count(&self) -> usize {
        self.nodes.len()
    }

    /// Node `i`'s address.
    pub fn address(&self, i: usize) -> Address {
        self.nodes[i].producer.address()
    }

    /// Node `i`'s unit production state.
    pub fn producer(&self, i: usize) -> &Producer {
        &self.nodes[i].producer
    }

    /// Node `i`'s stable units in total order, as each became stable (never
    /// rewritten; a test compares snapshots of it).
    pub fn stable_ids(&self, i: usize) -> &[Cid] {
        &self.stable_history[i]
    }

    /// Every unit made so far.
    pub fn units(&self) -> impl Iterator<Item = &VerifiedUnit> {
        self.units.values()
    }

    /// The genesis unit.
    pub fn genesis_unit(&self) -> Option<VerifiedUnit> {
        let id = self.nodes[0].replica.chain().dag().genesis();
        self.units.get(&id).cloned()
    }

    /// Every unit made so far (genesis excluded), in creation order.
    pub fn units_in_creation_order(&self) -> Vec<VerifiedUnit> {
        let mut v: Vec<(&u64, &Cid)> = self.created.iter().map(|(c, t)| (t, c)).collect();
        v.sort();
        v.into_iter()
            .filter_map(|(_, c)| self.units.get(c).cloned())
            .collect()
    }

    fn offline(&self, node: usize, at: u64) -> Option<u64> {
        self.cfg
            .offline
            .iter()
            .find(|&&(n, from, to)| n == node && at >= from && at < to)
            .map(|&(_, _, to)| to)
    }

    fn cut(&self, a: usize, b: usize, at: u64) -> Option<u64> {
        let p = self.cfg.partition.as_ref()?;
        (at >= p.start_ms && at < p.heal_ms && p.side.contains(&a) != p.side.contains(&b))
            .then_some(p.heal_ms)
    }

    fn latency(&mut self) -> u64 {
        let mut d = self.cfg.latency_ms + self.rng.below(self.cfg.jitter_ms);
        if self.cfg.loss_pct > 0 && self.rng.percent(self.cfg.loss_pct) {
            d += self.cfg.retransmit_ms;
        }
        d
    }

    /// When a catch-up message sent now from `a` reaches `b`: latency and
    /// loss as for units, after the heal across a cut.
    fn catchup_arrival(&mut self, a: usize, b: usize) -> u64 {
        let mut d = self.cfg.latency_ms + self.catchup_rng.below(self.cfg.jitter_ms);
        if self.cfg.loss_pct > 0 && self.catchup_rng.percent(self.cfg.loss_pct) {
            d += self.cfg.retransmit_ms;
        }
        self.cut(a, b, self.now).unwrap_or(self.now) + d
    }

    /// Runs until the configured rounds or time; returns the report.
    pub fn run(&mut self) -> Result<Report> {
        while !self.done() {
            let step = self.now + self.cfg.tick_ms.max(1);
            self.run_until(step)?;
        }
        Ok(self.report())
    }

    /// Whether the configured number of rounds has been reached at node 0.
    pub fn done(&self) -> bool {
        self.report.rounds.len() as u64 > self.cfg.rounds || self.now >= self.cfg.max_time_ms
    }

    /// Runs every event up to simulated time `until`.
    pub fn run_until(&mut self, until: u64) -> Result<()> {
        while let Some(&Reverse((at, _, slot))) = self.queue.peek() {
            if at > until {
                break;
            }
            self.queue.pop();
            self.now = at;
            let Some(event) = self.events.get_mut(slot).and_then(Option::take) else {
                continue;
            };
            self.handle(event)?;
        }
        self.now = self.now.max(until);
        Ok(())
    }

    fn handle(&mut self, event: Event) -> Result<()> {
        match event {
            Event::Deliver { to, unit, from } => self.deliver(to, unit, from),
            Event::Tick { node } => {
                if self.offline(node, self.now).is_none() {
                    self.tick(node)?;
                }
                let next = self.now + self.cfg.tick_ms;
                self.schedule(next, Event::Tick { node });
                Ok(())
            }
            Event::CheckBehind { node, peer, round } => {
                let behind = self.nodes[node].replica.rounds().current().round < round;
                if behind && self.offline(node, self.now).is_none() {
                    let request = self.nodes[node].replica.catchup_request();
                    let at = self.catchup_arrival(node, peer);
                    self.schedule(
                        at,
                        Event::CatchupRequest {
                            node,
                            peer,
                            round,
                            request,
                        },
                    );
                }
                Ok(())
            }
            Event::CatchupRequest {
                node,
                peer,
                round,
                request,
            } => self.serve_catchup(node, peer, round, &request),
            Event::CatchupReply {
                node,
                peer,
                round,
                bytes,
            } => self.take_catchup(node, peer, round, &bytes),
            Event::PowDone { node, payload } => {
                if self.offline(node, self.now).is_some() {
                    return Ok(());
                }
                let st = &mut self.nodes[node];
                match st.producer.pow_unit(&st.replica, self.now, &payload)? {
                    Some(unit) => self.publish(node, unit, None),
                    None => Ok(()),
                }
            }
        }
    }

    fn deliver(&mut self, to: usize, id: Cid, from: Option<usize>) -> Result<()> {
        if let Some(back) = self.offline(to, self.now) {
            let d = self.latency();
            self.schedule(back + d, Event::Deliver { to, unit: id, from });
            return Ok(());
        }
        let Some(unit) = self.units.get(&id).cloned() else {
            return Ok(());
        };
        // The sender: whoever made it, or the node a missing parent is
        // fetched from; across a cut it waits for the heal.
        let author = self.author_index(&unit);
        let sender = from.or(author);
        if let Some(heal) = sender.and_then(|a| self.cut(a, to, self.now)) {
            let d = self.latency();
            self.schedule(heal + d, Event::Deliver { to, unit: id, from });
            return Ok(());
        }
        if self.nodes[to].replica.chain().dag().contains(&id) {
            return Ok(());
        }
        let parents: Vec<Cid> = unit.unit().parents().to_vec();
        let round = unit.unit().unsigned.round;
        match self.nodes[to].replica.receive(unit) {
            Ok(received) => {
                if received.waiting {
                    self.maybe_behind(to, author, round);
                }
                if received.waiting {
                    // Fetch unknown parents from the sender, which holds
                    // them (it took the child), whoever made them.
                    for p in parents {
                        if !self.nodes[to].replica.chain().dag().contains(&p) {
                            let d = self.latency();
                            let from = sender;
                            self.schedule(self.now + d, Event::Deliver { to, unit: p, from });
                        }
                    }
                }
                self.after_receive(to, received)
            }
            Err(Error::Dag(tau_dag::Error::Duplicate(_))) => Ok(()),
            Err(e) if e.is_fatal() => Err(e),
            Err(e) => {
                self.report.rejected.push(e.to_string());
                Ok(())
            }
        }
    }

    /// `node` got a unit of `round` from `peer` that waits: if the round is
    /// unknown here, check again after `catchup_delay_ms` (a node that is
    /// merely a few hundred ms late stabilizes the switch by itself).
    fn maybe_behind(&mut self, node: usize, peer: Option<usize>, round: u64) {
        let Some(peer) = peer.filter(|&p| p != node) else {
            return;
        };
        let st = &self.nodes[node];
        if self.cfg.catchup_delay_ms == 0
            || round <= st.replica.rounds().current().round
            || self.now < st.catchup_after
        {
            return;
        }
        let at = self.now + self.cfg.catchup_delay_ms;
        self.nodes[node].catchup_after = at;
        self.schedule(at, Event::CheckBehind { node, peer, round });
    }

    /// `peer` answers `node`'s request with a proof of its stable chain.
    fn serve_catchup(
        &mut self,
        node: usize,
        peer: usize,
        round: u64,
        request: &CatchupRequest,
    ) -> Result<()> {
        if self.offline(peer, self.now).is_some() {
            return Ok(());
        }
        let proof = match self.nodes[peer].replica.catchup_proof(request) {
            Ok(p) if !p.steps.is_empty() => p,
            Ok(_) => return Ok(()),
            Err(e) => {
                self.report.catchup_errors.push(e.to_string());
                return Ok(());
            }
        };
        let bytes = proof.encode()?;
        let at = self.catchup_arrival(peer, node);
        self.schedule(
            at,
            Event::CatchupReply {
                node,
                peer,
                round,
                bytes,
            },
        );
        Ok(())
    }

    /// `node` checks a proof and adopts what it proves; if that moved it but
    /// it still does not know `round` (a proof carries at most
    /// `catchup_max_steps` MCIs), it checks again later.
    fn take_catchup(&mut self, node: usize, peer: usize, round: u64, bytes: &[u8]) -> Result<()> {
        if self.offline(node, self.now).is_some() {
            return Ok(());
        }
        let max = self.cfg.params.catchup_max_bytes;
        let mut received = crate::replica::UnitDelivery::default();
        let result = CatchupProof::decode(bytes, max).and_then(|proof| {
            self.nodes[node]
                .replica
                .apply_catchup(&proof, &mut received)
        });
        let adopted = received.stabilized.len() as u64;
        if adopted > 0 {
            self.report.catchups += 1;
            self.report.catchup_mcis += adopted;
        }
        if let Err(e) = result {
            self.report.catchup_errors.push(e.to_string());
        }
        self.nodes[node].catchup_after = self.now;
        self.after_receive(node, received)?;
        if adopted > 0 {
            self.maybe_behind(node, Some(peer), round);
        }
        Ok(())
    }

    fn author_index(&self, unit: &VerifiedUnit) -> Option<usize> {
        let a = unit.unit().unsigned.authors.first()?;
        self.nodes.iter().position(|n| n.producer.address() == *a)
    }

    fn after_receive(&mut self, node: usize, received: crate::replica::UnitDelivery) -> Result<()> {
        for (_, e) in &received.rejected {
            self.report.rejected.push(e.to_string());
        }
        // TrustME units seen: who was last, for the sending schedule.
        let units = &self.units;
        let st = &mut self.nodes[node];
        let accepted = received.accepted.iter().filter_map(|id| units.get(id));
        st.producer
            .observe_units(st.replica.rounds(), accepted.map(|u| u.unit()), self.now);
        for mci in &received.stabilized {
            let ids: Vec<Cid> = {
                let chain = self.nodes[node].replica.chain();
                chain
                    .stable_units(*mci)
                    .unwrap_or(&[])
                    .iter()
                    .filter_map(|&n| chain.dag().id(n))
                    .collect()
            };
            if node == 0 {
                for id in &ids {
                    if let Some(&t) = self.created.get(id) {
                        self.report.stable_units += 1;
                        self.report.stabilization_ms_total += self.now.saturating_sub(t);
                    }
                }
                self.report.last_stable_mci = *mci;
            }
            self.stable_history[node].extend(ids);
        }
        if node == 0 {
            for event in &received.events {
                match event {
                    RoundEvent::Switched {
                        round,
                        attestors,
                        coinbase,
                        ..
                    } => {
                        let prev = self
                            .report
                            .rounds
                            .last()
                            .map(|r| r.attestors.clone())
                            .unwrap_or_default();
                        let new_attestors = attestors.iter().filter(|a| !prev.contains(a)).count();
                        if let Some(last) = self.report.rounds.last_mut() {
                            last.coinbase = coinbase.clone();
                        }
                        for e in coinbase {
                            *self.report.rewards.entry(e.address).or_insert(0) += e.amount;
                        }
                        self.report.rounds.push(RoundSummary {
                            round: *round,
                            start_ms: self.now,
                            attestors: attestors.clone(),
                            new_attestors,
                            coinbase: Vec::new(),
                        });
                    }
                    RoundEvent::Rejected { reason, .. } => {
                        self.report.rejected.push(reason.clone())
                    }
                    _ => {}
                }
            }
        }
        Ok(())
    }

    fn tick(&mut self, node: usize) -> Result<()> {
        let now = self.now;
        // Taken before attesting: a seed our own TrustME unit makes known
        // is mined for at the next tick.
        let job = {
            let st = &mut self.nodes[node];
            st.producer.mining_job(&st.replica)
        };
        let unit = {
            let st = &mut self.nodes[node];
            st.producer.attest(&st.replica, now)?
        };
        if let Some(unit) = unit {
            let twin = if self.cfg.equivocators.contains(&node) {
                Some(self.twin_of(node, &unit)?)
            } else {
                None
            };
            self.publish(node, unit, twin)?;
        }
        if let Some(ctx) = job {
            let key = self.nodes[node].producer.key().public_key();
            let first = self.rng.next_u64() as u32;
            let found = mine(
                &mut self.solver,
                &key,
                &ctx,
                &self.cfg.params,
                first,
                10_000,
            )?;
            if let Some((payload, tries)) = found {
                let d =
                    u64::from(tries) * self.cfg.solve_ms + self.rng.below(self.cfg.solve_ms.max(1));
                self.schedule(now + d, Event::PowDone { node, payload });
            }
        }
        let f = self.cfg.params.foundation_attestors;
        if node >= f && self.cfg.normal_unit_ms > 0 && now >= self.nodes[node].next_normal {
            let gap = self.rng.below(2 * self.cfg.normal_unit_ms) + 1;
            self.nodes[node].next_normal = now + gap;
            let data = self.rng.next_u64().to_le_bytes().to_vec();
            let st = &mut self.nodes[node];
            let unit = st
                .producer
                .make_unit(&st.replica, now, vec![Message::Data(data)])?;
            self.publish(node, unit, None)?;
        }
        Ok(())
    }

    /// An equivocator's twin of its TrustME `unit`: same parents, round and
    /// time, the same TrustME message and one more.
    fn twin_of(&self, node: usize, unit: &VerifiedUnit) -> Result<VerifiedUnit> {
        let u = &unit.unit().unsigned;
        let mut messages: Vec<Message> = u
            .messages
            .iter()
            .filter(|m| matches!(m, Message::TrustMe(_)))
            .cloned()
            .collect();
        messages.push(Message::Data(b"equivocation".to_vec()));
        let st = &self.nodes[node];
        build_unit(
            st.producer.key(),
            st.replica.chain().dag().params(),
            u.round,
            u.timestamp,
            u.parents.clone(),
            messages,
        )
    }

    /// Takes `node`'s new unit in at `node`, then sends it to everyone. An
    /// equivocating `twin` (same parents) goes to the other half first.
    fn publish(
        &mut self,
        node: usize,
        unit: VerifiedUnit,
        twin: Option<VerifiedUnit>,
    ) -> Result<()> {
        let total = self.nodes.len();
        let mut sends: Vec<(Cid, Vec<usize>)> = Vec::new();
        match &twin {
            None => sends.push((unit.id(), (0..total).filter(|&j| j != node).collect())),
            Some(t) => {
                let half: Vec<usize> = (0..total).filter(|&j| j != node && j % 2 == 0).collect();
                let other: Vec<usize> = (0..total).filter(|&j| j != node && j % 2 == 1).collect();
                sends.push((unit.id(), half));
                sends.push((t.id(), other));
            }
        }
        for u in std::iter::once(unit.clone()).chain(twin) {
            self.created.insert(u.id(), self.now);
            self.units.insert(u.id(), u);
        }
        // The maker takes its own unit first.
        let received = self.nodes[node].replica.receive(unit)?;
        self.after_receive(node, received)?;
        for (id, to) in sends {
            for j in to {
                let d = self.latency();
                self.schedule(
                    self.now + d,
                    Event::Deliver {
                        to: j,
                        unit: id,
                        from: None,
                    },
                );
            }
        }
        Ok(())
    }

    /// The report so far.
    pub fn report(&self) -> Report {
        let mut r = self.report.clone();
        r.end_ms = self.now;
        r.units_created = self.created.len();
        r.mc_len = self.nodes[0].replica.chain().main_chain().len();
        r.stable_mci_per_node = self
            .nodes
            .iter()
            .map(|n| n.replica.chain().last_stable_mci())
            .collect();
        r.rewards_by_node = self
            .nodes
            .iter()
            .map(|n| *self.report.rewards.get(&n.producer.address()).unwrap_or(&0))
            .collect();
        r
    }

    /// Rewards per address from node 0's view.
    pub fn rewards(&self) -> &BTreeMap<Address, u64> {
        &self.report.rewards
    }
}
