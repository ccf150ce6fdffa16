//! A deterministic, seeded simulation of TAU nodes running process A (mining
//! devnet Proof-of-Transaction blocks with tau-state) and process B (asking
//! peers for their chains, voting, fork choice) over a simulated network with
//! latency, loss and a partition, some nodes byzantine.
//!
//! Each node has its own block store; an answer carries the blocks the asker
//! lacks, as a Graphsync response would. Byzantine nodes forge states (wrong
//! state root, bad signature, invalid PoT, in turn), withhold blocks, or
//! equivocate (two valid sibling blocks, shown to different askers).
//!
//! ```
//! use tau_cbc::sim::{SimConfig, Simulation};
//! let mut config = SimConfig::new(6, 1, 7);
//! config.mining_time = 300;
//! config.settle_time = 120;
//! let report = Simulation::run(config)?;
//! assert_eq!(report.safety_violations, 0);
//! assert_eq!(report.forged_adopted, 0);
//! # Ok::<(), tau_cbc::Error>(())
//! ```

mod node;
mod observer;
mod transfer;

use std::collections::BTreeMap;

use cid::Cid;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use tau_hamt::{Blockstore, MemoryBlockstore};
use tau_keys::{Address, Keypair};
use tau_state::{Chain, Genesis};

use crate::params::Params;
use crate::{Error, Result};
use node::{SimNode, Verdict};
use observer::Observer;

/// How a simulated node behaves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Behaviour {
    /// Follows the protocol.
    Honest,
    /// Answers with forged states (wrong state root, bad signature, invalid PoT).
    Forger,
    /// Answers with its head but sends none of its blocks.
    Withholder,
    /// Mines two valid sibling blocks each time and shows each to half the askers.
    Equivocator,
    /// An attack's leader (see [`Attack`]): mines a private chain of its own
    /// and answers with it, claiming a deep entry of it safe.
    Lead,
    /// A throwaway peer id with no coin: answers what the lead gives it.
    Sybil,
    /// Mints a private chain as fast as its CPU allows, each block dated at
    /// its earliest eligibility however far ahead of the clock.
    FutureMiner,
}

/// An attack run against the honest nodes, by nodes added after
/// [`SimConfig::nodes`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Attack {
    /// One funded miner with a private fork and [`SimConfig::sybils`] peer
    /// ids of no worth, all answering the fork and reporting it safe.
    Sybil,
    /// One funded miner minting a heavier chain dated ahead of the clock.
    Future,
    /// One funded miner that invents a state on top of an honest head (its
    /// block still claims an honest previous state), mines more than a
    /// mutable range on it, and with [`SimConfig::sybils`] peer ids reports
    /// it safe.
    ForgedBottom,
    /// [`SimConfig::flood`] peer ids that never answer, known to every
    /// honest node (as peer lists and discovery walks would hand them out).
    PeerFlood,
}

impl Attack {
    /// The attack's name, as `cbc-sim --attack` takes it.
    pub fn name(self) -> &'static str {
        match self {
            Attack::Sybil => "sybil",
            Attack::Future => "future",
            Attack::ForgedBottom => "forged-bottom",
            Attack::PeerFlood => "peer-flood",
        }
    }

    /// The attack named `name`.
    pub fn from_name(name: &str) -> Option<Self> {
        [
            Attack::Sybil,
            Attack::Future,
            Attack::ForgedBottom,
            Attack::PeerFlood,
        ]
        .into_iter()
        .find(|a| a.name() == name)
    }
}

/// A network split: nodes `0..minority` cannot reach the others between
/// `from` and `until` (seconds).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Partition {
    /// Nodes `0..minority` form the cut-off group.
    pub minority: usize,
    /// Start time, seconds.
    pub from: u64,
    /// End time, seconds.
    pub until: u64,
}

/// Simulation settings; [`SimConfig::new`] gives sensible defaults.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct SimConfig {
    /// Number of nodes.
    pub nodes: usize,
    /// The last `byzantine` nodes are byzantine (forger, withholder,
    /// equivocator, in turn).
    pub byzantine: usize,
    /// Seed of every random choice.
    pub seed: u64,
    /// Seconds during which nodes mine.
    pub mining_time: u64,
    /// Quiet seconds after mining stops, for the votes to settle.
    pub settle_time: u64,
    /// Message latency range in seconds (inclusive).
    pub latency: (u64, u64),
    /// Percentage of messages lost.
    pub loss_percent: u32,
    /// An optional partition.
    pub partition: Option<Partition>,
    /// Seconds between a node's rounds of asking.
    pub poll_every: u64,
    /// Peers asked per round.
    pub fanout: usize,
    /// Chain parameters (tau-state devnet by default).
    pub chain: tau_state::Params,
    /// Safety parameters (devnet by default).
    pub cbc: Params,
    /// An attack run by extra nodes.
    pub attack: Option<Attack>,
    /// Throwaway peer ids of a sybil or forged-bottom attack (default: ten
    /// for each honest node).
    pub sybils: usize,
    /// Silent peer ids of a peer-flood attack.
    pub flood: usize,
    /// When a forged-bottom attacker invents its state (seconds).
    pub forge_at: u64,
}

impl SimConfig {
    /// `nodes` nodes of which `byzantine` byzantine, seeded: 1,800 s of mining
    /// (one block a minute, [`chain_params`](Self::chain_params)), 300 s to
    /// settle, 1–3 s latency, 2 % loss, ask 3 peers every 3 s.
    pub fn new(nodes: usize, byzantine: usize, seed: u64) -> Self {
        Self {
            nodes,
            byzantine,
            seed,
            mining_time: 1_800,
            settle_time: 300,
            latency: (1, 3),
            loss_percent: 2,
            partition: None,
            poll_every: 3,
            fanout: 3,
            chain: Self::chain_params(nodes),
            cbc: Params::devnet(),
            attack: None,
            sybils: 10 * nodes.saturating_sub(byzantine),
            flood: 2_000,
            forge_at: 300,
        }
    }

    /// The same run under `attack`.
    pub fn under(mut self, attack: Attack) -> Self {
        self.attack = Some(attack);
        self
    }

    /// tau-state's devnet with 60 s blocks (intervals in [12, 360] s) and a
    /// genesis base target giving about one block a minute among `nodes`
    /// fresh miners: propagation through process B (a pass takes ≈ 15 s)
    /// stays well below the block time, as with mainnet's 300 s blocks.
    pub fn chain_params(nodes: usize) -> tau_state::Params {
        let mut chain = tau_state::Params::devnet();
        chain.block_time = 60;
        chain.min_interval = 12;
        chain.max_interval = 360;
        chain.genesis_base_target = u64::MAX / (60 * (nodes as u64 + 1)).max(1);
        chain
    }

    fn behaviour(&self, node: usize) -> Behaviour {
        let honest = self.nodes.saturating_sub(self.byzantine);
        if node == self.nodes {
            return match self.attack {
                Some(Attack::Future) => Behaviour::FutureMiner,
                _ => Behaviour::Lead,
            };
        }
        if node > self.nodes {
            return Behaviour::Sybil;
        }
        if node < honest {
            return Behaviour::Honest;
        }
        match (node - honest) % 3 {
            0 => Behaviour::Forger,
            1 => Behaviour::Withholder,
            _ => Behaviour::Equivocator,
        }
    }

    /// Nodes actually simulated: the configured ones, then the attack's
    /// lead and sybils.
    fn simulated_nodes(&self) -> usize {
        match self.attack {
            None | Some(Attack::PeerFlood) => self.nodes,
            Some(Attack::Future) => self.nodes + 1,
            Some(Attack::Sybil | Attack::ForgedBottom) => self.nodes + 1 + self.sybils,
        }
    }

    /// Total simulated seconds.
    pub fn duration(&self) -> u64 {
        self.mining_time + self.settle_time
    }
}

/// What a run measured.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Report {
    /// Blocks mined (equivocating siblings included).
    pub blocks_mined: usize,
    /// First time every honest node held the same safety point above genesis.
    pub first_agreement_at: Option<u64>,
    /// Whether every honest node ends with the same safety point.
    pub final_agreement: bool,
    /// The block number of the common final safety point.
    pub final_safety_number: Option<u64>,
    /// Deepest reorganization an honest node made.
    pub max_reorg_depth: u64,
    /// Reorganizations refused as deeper than the mutable range.
    pub refused_reorgs: usize,
    /// Honest safety points that conflict with another honest node's or with
    /// the node's own earlier point (must be 0).
    pub safety_violations: usize,
    /// Honest heads or safety points that are not validly mined states (must be 0).
    pub forged_adopted: usize,
    /// Forged answers detected by honest nodes.
    pub forgeries_detected: usize,
    /// Byzantine nodes marked by at least one honest node.
    pub byzantine_marked: usize,
    /// Honest nodes marked by an honest node (false accusations, must be 0).
    pub honest_marked: usize,
    /// Candidate safety points refused because they would revert the current one.
    pub conflicts_refused: usize,
    /// Whether a cut-off minority's safety point moved during the partition.
    pub minority_advanced_in_partition: bool,
    /// The smallest clique-oracle fault tolerance reported with a final safety point.
    pub min_fault_tolerance: Option<u64>,
    /// Honest nodes' final safety points (block numbers).
    pub final_safety_numbers: Vec<Option<u64>>,
    /// Whether every honest node ends with a safety point above genesis.
    pub honest_safety_advanced: bool,
    /// Answers refused because a block was dated ahead of the clock.
    pub future_refused: usize,
    /// Largest peer table an honest node held.
    pub max_peer_table: usize,
    /// Honest safety points on a state an attacker mined apart that the
    /// honest nodes' final chain does not hold (must be 0).
    pub attacker_chain_adopted: usize,
}

/// Coin each simulated node is endowed with.
const FUNDS: u64 = 1_000_000;

/// Peers an honest answer lists (tau-node's head answers carry 32).
const PEERS_PER_ANSWER: usize = 32;

/// A running simulation.
pub struct Simulation {
    config: SimConfig,
    nodes: Vec<SimNode>,
    events: BTreeMap<(u64, u64), Event>,
    sequence: u64,
    rng: StdRng,
    now: u64,
    observer: Observer,
    /// States an attacker mined on its private chain.
    private_states: std::collections::HashSet<Cid>,
    /// Honest safety points taken on such states.
    attacker_points: Vec<Cid>,
    report: Report,
    minority_points_at_split: Option<Vec<Option<Cid>>>,
}

/// A message in flight.
enum Event {
    Ask {
        from: usize,
        to: usize,
    },
    Answer {
        from: usize,
        to: usize,
        body: Box<node::Received>,
    },
}

impl Simulation {
    /// Sets up the nodes on a common genesis.
    pub fn new(config: SimConfig) -> Result<Self> {
        config.cbc.validate()?;
        if config.nodes < 2 || config.byzantine >= config.nodes {
            return Err(Error::InvalidParams(
                "need at least 2 nodes, at least one honest",
            ));
        }
        let mut rng = StdRng::seed_from_u64(config.seed);
        let total = config.simulated_nodes();
        let keys: Vec<Keypair> = (0..total).map(|_| Keypair::generate(&mut rng)).collect();
        let genesis_store = MemoryBlockstore::new();
        let seed_chain = Chain::new(&genesis_store, config.chain.clone()).map_err(state_error)?;
        // Sybils hold no coin: only the configured nodes and an attack's
        // lead are funded. A lead behind sybils holds a tenth of an honest
        // node's coin, so its private chain never outweighs the honest one
        // on its own: if honest nodes take it, the sybils' word did it.
        let lead_funds = match config.attack {
            Some(Attack::Sybil | Attack::ForgedBottom) => FUNDS / 10,
            _ => FUNDS,
        };
        let genesis =
            keys.iter()
                .take(config.nodes + 1)
                .enumerate()
                .fold(Genesis::new(0), |g, (i, k)| {
                    let funds = if i == config.nodes { lead_funds } else { FUNDS };
                    g.allocate(k.address(), funds)
                });
        let (genesis_root, _) = seed_chain
            .genesis(&genesis, &keys[0])
            .map_err(state_error)?;
        let genesis_blocks =
            transfer::missing_blocks(&genesis_store, &MemoryBlockstore::new(), &genesis_root);
        let addresses: Vec<Option<Address>> = keys.iter().map(|k| Some(k.address())).collect();
        let flood = match config.attack {
            Some(Attack::PeerFlood) => config.flood,
            _ => 0,
        };
        let mut nodes = Vec::with_capacity(total);
        for (id, key) in keys.into_iter().enumerate() {
            let store = MemoryBlockstore::new();
            store
                .put_many_keyed(&genesis_blocks)
                .map_err(|e| state_error(e.into()))?;
            let chain = Chain::new(store, config.chain.clone()).map_err(state_error)?;
            // Everyone knows everyone; under a flood, honest nodes also know
            // ids past the last node, which never answer.
            let peers = (0..total + flood).filter(|&p| p != id);
            nodes.push(SimNode::new(
                id,
                key,
                config.behaviour(id),
                chain,
                genesis_root,
                &config,
                addresses.clone(),
                peers,
            )?);
        }
        let mut observer = Observer::default();
        observer.record(genesis_root, 0, None);
        Ok(Self {
            config,
            nodes,
            events: BTreeMap::new(),
            sequence: 0,
            rng,
            now: 0,
            observer,
            private_states: std::collections::HashSet::new(),
            attacker_points: Vec::new(),
            report: Report::default(),
            minority_points_at_split: None,
        })
    }

    /// Runs a whole simulation and returns its report.
    pub fn run(config: SimConfig) -> Result<Report> {
        let mut sim = Self::new(config)?;
        while sim.step()? {}
        Ok(sim.report())
    }

    /// Simulated seconds elapsed.
    pub fn now(&self) -> u64 {
        self.now
    }

    /// Every node's head and safety point as block numbers (byzantine nodes included).
    pub fn positions(&self) -> Vec<(u64, Option<u64>)> {
        self.nodes
            .iter()
            .map(|n| (n.head_number(), n.safety_number()))
            .collect()
    }

    /// The configuration.
    pub fn config(&self) -> &SimConfig {
        &self.config
    }

    /// Advances one simulated second; `false` once the run is over.
    pub fn step(&mut self) -> Result<bool> {
        if self.now >= self.config.duration() {
            return Ok(false);
        }
        let now = self.now;
        self.track_partition();
        if self.config.attack == Some(Attack::ForgedBottom) && now == self.config.forge_at {
            let (lead, honest) = pair(&mut self.nodes, self.config.nodes, 0);
            lead.forge_bottom(honest)?;
        }
        for id in 0..self.nodes.len() {
            if now < self.config.mining_time {
                if let Some(mined) = self.nodes[id].maybe_mine(now)? {
                    let invented = self.nodes[id].behaviour == Behaviour::Lead
                        && self.config.attack == Some(Attack::ForgedBottom)
                        && now >= self.config.forge_at;
                    let private = !self.nodes[id].votes();
                    for (root, number, previous) in mined {
                        if private {
                            self.private_states.insert(root);
                        }
                        // A chain over an invented state is not validly mined.
                        if !invented {
                            self.observer.record(root, number, previous);
                        }
                        self.report.blocks_mined += 1;
                    }
                }
            }
            if self.nodes[id].votes() && now >= self.nodes[id].next_poll {
                self.poll(id)?;
            }
        }
        while let Some(entry) = self.events.first_entry() {
            if entry.key().0 > now {
                break;
            }
            let event = entry.remove();
            self.deliver(event)?;
        }
        self.now += 1;
        Ok(true)
    }

    /// The report so far (final once [`step`](Self::step) returned `false`).
    pub fn report(&self) -> Report {
        let mut report = self.report.clone();
        let honest: Vec<&SimNode> = self
            .nodes
            .iter()
            .filter(|n| n.behaviour == Behaviour::Honest)
            .collect();
        let points: Vec<Option<Cid>> = honest.iter().map(|n| n.safety_root()).collect();
        report.final_safety_numbers = honest.iter().map(|n| n.safety_number()).collect();
        report.final_agreement = points
            .first()
            .is_some_and(|p| p.is_some() && points.iter().all(|q| q == p));
        report.final_safety_number = if report.final_agreement {
            honest.first().and_then(|n| n.safety_number())
        } else {
            None
        };
        // Honest miners building on an attacker's heavier valid chain make
        // its states theirs (fork choice doing its job); a safety point on
        // an attacker's state that the honest chain does not hold is the
        // attack succeeding.
        report.attacker_chain_adopted = self
            .attacker_points
            .iter()
            .filter(|p| {
                !honest
                    .iter()
                    .all(|n| self.observer.on_chain(p, &n.engine.head()))
            })
            .count();
        report.honest_safety_advanced = !honest.is_empty()
            && report
                .final_safety_numbers
                .iter()
                .all(|n| n.is_some_and(|n| n > 0));
        report.min_fault_tolerance = honest
            .iter()
            .filter_map(|n| n.engine.safety_point().and_then(|s| s.fault_tolerance))
            .min();
        let byzantine: Vec<usize> = (0..self.nodes.len())
            .filter(|&i| self.nodes[i].behaviour != Behaviour::Honest)
            .collect();
        report.byzantine_marked = byzantine
            .iter()
            .filter(|b| honest.iter().any(|n| n.engine.is_marked(b)))
            .count();
        report.honest_marked = (0..self.nodes.len())
            .filter(|i| self.nodes[*i].behaviour == Behaviour::Honest)
            .filter(|i| honest.iter().any(|n| n.engine.is_marked(i)))
            .count();
        report
    }

    fn reachable(&self, a: usize, b: usize) -> bool {
        match self.config.partition {
            Some(p) if (p.from..p.until).contains(&self.now) => {
                (a < p.minority) == (b < p.minority)
            }
            _ => true,
        }
    }

    fn send(&mut self, event: Event, from: usize, to: usize) {
        if !self.reachable(from, to) || self.rng.random_range(0..100) < self.config.loss_percent {
            return;
        }
        let (low, high) = self.config.latency;
        let at = self.now + self.rng.random_range(low..=high.max(low));
        self.sequence += 1;
        self.events.insert((at, self.sequence), event);
    }

    fn poll(&mut self, id: usize) -> Result<()> {
        let now = self.now;
        if self.nodes[id].engine.ready_to_vote(now) {
            let outcome = self.nodes[id].evaluate(now)?;
            self.report.conflicts_refused += outcome.conflicts;
            self.report.refused_reorgs += outcome.refused_reorgs;
            self.report.max_reorg_depth = self.report.max_reorg_depth.max(outcome.reorg_depth);
            if self.nodes[id].behaviour == Behaviour::Honest {
                self.check(id, outcome.previous_safety);
            }
            self.nodes[id].engine.start_pass(now);
        } else if self.nodes[id].engine.pass_stalled(now) {
            self.nodes[id].engine.start_pass(now);
        }
        if self.nodes[id].behaviour == Behaviour::Honest {
            let table = self.nodes[id].engine.peers().len();
            self.report.max_peer_table = self.report.max_peer_table.max(table);
        }
        let asks = self.nodes[id]
            .engine
            .next_peers(&mut self.rng, now, self.config.fanout);
        for to in asks {
            self.send(Event::Ask { from: id, to }, id, to);
        }
        let jitter = self.rng.random_range(0..=1);
        self.nodes[id].next_poll = now + self.config.poll_every + jitter;
        Ok(())
    }

    fn deliver(&mut self, event: Event) -> Result<()> {
        let (Event::Ask { from, to } | Event::Answer { from, to, .. }) = &event;
        if !self.reachable(*from, *to) || *to >= self.nodes.len() || *from >= self.nodes.len() {
            // Cut by a partition while in flight, or sent to a peer id that
            // does not exist (a flood's).
            return Ok(());
        }
        match event {
            Event::Ask { from, to } => {
                // An ask is an inbound connection: the answerer learns the
                // asker (how a dropped peer comes back after its cooldown).
                let now = self.now;
                self.nodes[to].engine.add_peer(from, now);
                // A sybil answers with its lead's answer, under its own id.
                let answerer = if self.nodes[to].behaviour == Behaviour::Sybil {
                    self.config.nodes
                } else {
                    to
                };
                if answerer == from {
                    return Ok(());
                }
                let confirmations = self.config.cbc.confirmations;
                let (asker, answerer) = pair(&mut self.nodes, from, answerer);
                let Some(answer) = answerer.answer(asker, confirmations)? else {
                    return Ok(());
                };
                let seen = answerer.engine.seen();
                // Peer exchange, as tau-node's head answers carry it.
                let peers = if answerer.behaviour == Behaviour::Honest {
                    answerer
                        .engine
                        .shareable_peers()
                        .take(PEERS_PER_ANSWER)
                        .copied()
                        .collect()
                } else {
                    Vec::new()
                };
                self.send(
                    Event::Answer {
                        from: to,
                        to: from,
                        body: Box::new(node::Received {
                            head: answer.head,
                            blocks: answer.blocks,
                            seen,
                            safety: answer.safety,
                            peers,
                        }),
                    },
                    to,
                    from,
                );
            }
            Event::Answer { from, to, body } => {
                let verdict = self.nodes[to].receive(from, *body, self.now)?;
                if self.nodes[to].behaviour == Behaviour::Honest {
                    match verdict {
                        Verdict::Forgery => self.report.forgeries_detected += 1,
                        Verdict::Future => self.report.future_refused += 1,
                        Verdict::Counted | Verdict::Other => {}
                    }
                }
            }
        }
        Ok(())
    }

    /// Observer checks after honest node `id` evaluated.
    fn check(&mut self, id: usize, previous: Option<Cid>) {
        let node = &self.nodes[id];
        let point = node.safety_root();
        let head = node.engine.head();
        for root in [Some(head), point].into_iter().flatten() {
            if !self.observer.knows(&root) {
                self.report.forged_adopted += 1;
            }
        }
        // A safety point on a state the attacker mined apart: the report
        // counts those that did not end up under the honest chain.
        if let Some(p) = point.filter(|p| self.private_states.contains(p)) {
            self.attacker_points.push(p);
        }
        // A head dated ahead of the clock is a forgery of time.
        let max_drift = self.config.chain.max_drift;
        if node.engine.head_entry().number > 0
            && node
                .store_block_timestamp(&head)
                .is_some_and(|t| t > self.now.saturating_add(max_drift))
        {
            self.report.forged_adopted += 1;
        }
        let Some(point) = point else {
            return;
        };
        if let Some(previous) = previous {
            if !self.observer.on_chain(&previous, &point) {
                self.report.safety_violations += 1;
            }
        }
        for other in self
            .nodes
            .iter()
            .filter(|n| n.behaviour == Behaviour::Honest && n.id != id)
        {
            if let Some(theirs) = other.safety_root() {
                if !self.observer.on_chain(&theirs, &point)
                    && !self.observer.on_chain(&point, &theirs)
                {
                    self.report.safety_violations += 1;
                }
            }
        }
        let above_genesis = node.safety_number().is_some_and(|n| n > 0);
        if self.report.first_agreement_at.is_none() && above_genesis {
            let mut honest = self
                .nodes
                .iter()
                .filter(|n| n.behaviour == Behaviour::Honest)
                .map(SimNode::safety_root);
            let first = honest.next().flatten();
            if first.is_some() && honest.all(|p| p == first) {
                self.report.first_agreement_at = Some(self.now);
            }
        }
    }

    fn track_partition(&mut self) {
        let Some(p) = self.config.partition else {
            return;
        };
        let minority: Vec<Option<Cid>> = self.nodes[..p.minority.min(self.nodes.len())]
            .iter()
            .filter(|n| n.behaviour == Behaviour::Honest)
            .map(SimNode::safety_root)
            .collect();
        // Passes under way at the split may still finish with votes gathered
        // before it; from one pass timeout on, nothing may move.
        let settled = p.from + self.nodes.first().map_or(0, |n| n.pass_timeout());
        if self.now == settled {
            self.minority_points_at_split = Some(minority);
        } else if (settled..p.until).contains(&self.now) {
            if let Some(at_split) = &self.minority_points_at_split {
                if *at_split != minority {
                    self.report.minority_advanced_in_partition = true;
                }
            }
        }
    }
}

/// Mutable references to two distinct nodes.
fn pair(nodes: &mut [SimNode], a: usize, b: usize) -> (&mut SimNode, &mut SimNode) {
    if a < b {
        let (left, right) = nodes.split_at_mut(b);
        (&mut left[a], &mut right[0])
    } else {
        let (left, right) = nodes.split_at_mut(a);
        (&mut right[0], &mut left[b])
    }
}

fn state_error(e: tau_state::Error) -> Error {
    Error::Local(e)
}
