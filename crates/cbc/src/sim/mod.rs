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
//! Under [`SimConfig::transfer_every`] honest nodes also send each other
//! transfers: each node's pool is tau-state's production
//! [`Mempool`](tau_state::mempool::Mempool), transactions travel with the
//! asks (as tau-node's head requests carry them) and miners put them in
//! their blocks. [`Attack::MempoolFlood`] floods those pools with junk.
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

mod flood;
mod node;
mod observer;
mod transfer;

use std::collections::{BTreeMap, HashSet};

use cid::Cid;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use tau_ipld::{Blockstore, MemoryBlockstore};
use tau_keys::{Address, Keypair};
use tau_state::mempool::Admission;
use tau_state::{Executor, Genesis, SignedTransaction};

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
    /// A mempool flooder (see [`Attack::MempoolFlood`]): never mines,
    /// votes or answers; sends honest nodes junk transactions.
    Flooder,
}

/// An attack run against the honest nodes, by nodes added after
/// [`SimConfig::nodes`] (a partition adds none: it splits them).
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
    /// [`SimConfig::attackers`] funded nodes answering forged states (wrong
    /// state root, bad signature, invalid PoT, in turn).
    Forger,
    /// [`SimConfig::attackers`] funded nodes answering their head without
    /// its blocks.
    Withholder,
    /// [`SimConfig::attackers`] funded nodes mining two valid sibling blocks
    /// each time, each shown to half the askers.
    Equivocator,
    /// Nodes `0..`[`SimConfig::attackers`] cut off from the others from a
    /// third to half of the mining time (unless [`SimConfig::partition`]
    /// says otherwise).
    Partition,
    /// Honest nodes send each other transfers ([`SimConfig::transfer_every`],
    /// 60 s unless set) while [`SimConfig::flooders`] nodes send them junk:
    /// [`SimConfig::junk_batch`] transactions every [`SimConfig::flood_every`]
    /// seconds each, to honest nodes in turn: dated far ahead (up to
    /// `u64::MAX`), signed by a key that is not the sender's, from throwaway
    /// keys without an account, with nonce gaps or nonces far ahead, under
    /// the minimum fee or of another chain, and valid transactions of the
    /// minimum fee from one funded key (a tenth of an honest node's coin).
    MempoolFlood,
}

impl Attack {
    /// The attack's name, as `cbc-sim --attack` takes it.
    pub fn name(self) -> &'static str {
        match self {
            Attack::Sybil => "sybil",
            Attack::Future => "future",
            Attack::ForgedBottom => "forged-bottom",
            Attack::PeerFlood => "peer-flood",
            Attack::Forger => "forger",
            Attack::Withholder => "withholder",
            Attack::Equivocator => "equivocator",
            Attack::Partition => "partition",
            Attack::MempoolFlood => "mempool-flood",
        }
    }

    /// Every attack, in the order of BENCHMARKS.md's table.
    pub const ALL: [Attack; 9] = [
        Attack::Sybil,
        Attack::Future,
        Attack::ForgedBottom,
        Attack::PeerFlood,
        Attack::MempoolFlood,
        Attack::Forger,
        Attack::Withholder,
        Attack::Equivocator,
        Attack::Partition,
    ];

    /// The attack named `name`.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|a| a.name() == name)
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
    /// Byzantine nodes added by a forger, withholder or equivocator attack;
    /// the cut-off minority of a partition attack (default 5).
    pub attackers: usize,
    /// Seconds between an honest node's transfer reaching its safety point
    /// and its next one (`None`: no transfers; a mempool-flood attack sends
    /// them 60 s apart unless set).
    pub transfer_every: Option<u64>,
    /// Flooding nodes of a mempool-flood attack (default 2).
    pub flooders: usize,
    /// Transactions a flooder sends at a time (default 64, the most a
    /// tau-node head request carries).
    pub junk_batch: usize,
    /// Seconds between a flooder's batches (default 2).
    pub flood_every: u64,
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
            attackers: 5,
            transfer_every: None,
            flooders: 2,
            junk_batch: 64,
            flood_every: 2,
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
    /// Transactions pay a fee of at least 1 (devnet's minimum is 0), so a
    /// flood can send some under it.
    pub fn chain_params(nodes: usize) -> tau_state::Params {
        let mut chain = tau_state::Params::devnet();
        chain.min_fee = 1;
        chain.block_time = 60;
        chain.min_interval = 12;
        chain.max_interval = 360;
        chain.genesis_base_target = u64::MAX / (60 * (nodes as u64 + 1)).max(1);
        chain
    }

    fn behaviour(&self, node: usize) -> Behaviour {
        let honest = self.nodes.saturating_sub(self.byzantine);
        if node >= self.nodes {
            return match self.attack {
                Some(Attack::Future) => Behaviour::FutureMiner,
                Some(Attack::Forger) => Behaviour::Forger,
                Some(Attack::Withholder) => Behaviour::Withholder,
                Some(Attack::Equivocator) => Behaviour::Equivocator,
                Some(Attack::MempoolFlood) => Behaviour::Flooder,
                _ if node == self.nodes => Behaviour::Lead,
                _ => Behaviour::Sybil,
            };
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
            None | Some(Attack::PeerFlood | Attack::Partition) => self.nodes,
            Some(Attack::Future) => self.nodes + 1,
            Some(Attack::Sybil | Attack::ForgedBottom) => self.nodes + 1 + self.sybils,
            Some(Attack::Forger | Attack::Withholder | Attack::Equivocator) => {
                self.nodes + self.attackers
            }
            Some(Attack::MempoolFlood) => self.nodes + self.flooders.max(1),
        }
    }

    /// Nodes endowed at genesis: the configured ones and the attack's
    /// funded nodes (a lead, a future miner, the byzantine nodes of a named
    /// attack, a mempool flood's first flooder).
    fn funded_nodes(&self) -> usize {
        match self.attack {
            Some(Attack::Forger | Attack::Withholder | Attack::Equivocator) => {
                self.nodes + self.attackers
            }
            _ => self.nodes + 1,
        }
    }

    /// When the attack starts (seconds): a forged-bottom attacker's
    /// invention, a partition's split, otherwise 0 (attacks from genesis).
    pub fn attack_start(&self) -> u64 {
        match (self.attack, self.partition) {
            (Some(Attack::ForgedBottom), _) => self.forge_at,
            (_, Some(p)) => p.from,
            _ => 0,
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
    /// Time to the next honest safety point: seconds from the attack's start
    /// ([`SimConfig::attack_start`]: a forged-bottom attacker's invention, a
    /// partition's split, otherwise 0) to the first evaluation after it at
    /// which an honest node's safety point moves onto a state an honest
    /// node mined (`None`: never in the run).
    pub time_to_honest_safety: Option<u64>,
    /// Largest number of transactions an honest node's mempool held.
    pub mempool_peak: usize,
    /// Junk transactions flooders sent (valid minimum-fee spam not counted).
    pub junk_sent: usize,
    /// Junk transactions an honest mempool admitted from a flooder (must be 0).
    pub junk_admitted: usize,
    /// Valid minimum-fee spam transactions an honest mempool admitted (or
    /// took as a later-dated replacement).
    pub spam_admitted: usize,
    /// Transfers honest nodes sent (each counted once, however often it was
    /// re-signed for a moved nonce).
    pub honest_tx_sent: usize,
    /// Honest transfers included in the first honest node's final chain
    /// (at its head).
    pub honest_tx_mined: usize,
    /// Honest transfers included at the first honest node's final safety
    /// point (those mined in the last blocks before mining stopped may not
    /// be under it yet).
    pub honest_tx_safe: usize,
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
    /// States honest nodes mined.
    honest_states: HashSet<Cid>,
    /// A mempool flood's keys and junk (`None`: no flood).
    flood: Option<flood::Flood>,
    /// The honest node a flood sends its next batch to.
    flood_target: usize,
}

/// A message in flight.
enum Event {
    /// A head request, with transactions for the answerer's mempool (each
    /// flagged if it is a flooder's junk).
    Ask {
        from: usize,
        to: usize,
        transactions: Vec<(SignedTransaction, bool)>,
    },
    Answer {
        from: usize,
        to: usize,
        body: Box<node::IncomingAnswer>,
    },
}

impl Simulation {
    /// Sets up the nodes on a common genesis.
    pub fn new(mut config: SimConfig) -> Result<Self> {
        config.cbc.validate()?;
        if config.attack == Some(Attack::Partition) && config.partition.is_none() {
            config.partition = Some(Partition {
                minority: config.attackers.min(config.nodes.saturating_sub(1)),
                from: config.mining_time / 3,
                until: config.mining_time / 2,
            });
        }
        if config.attack == Some(Attack::MempoolFlood) && config.transfer_every.is_none() {
            config.transfer_every = Some(60);
        }
        if config.nodes < 2 || config.byzantine >= config.nodes {
            return Err(Error::InvalidParams(
                "need at least 2 nodes, at least one honest",
            ));
        }
        let mut rng = StdRng::seed_from_u64(config.seed);
        let total = config.simulated_nodes();
        let keys: Vec<Keypair> = (0..total).map(|_| Keypair::generate(&mut rng)).collect();
        let genesis_store = MemoryBlockstore::new();
        let seed_chain =
            Executor::new(&genesis_store, config.chain.clone()).map_err(state_error)?;
        // Sybils hold no coin: only the configured nodes and an attack's
        // lead are funded. A lead behind sybils holds a tenth of an honest
        // node's coin, so its private chain never outweighs the honest one
        // on its own: if honest nodes take it, the sybils' word did it.
        // A flood's funded key likewise holds a tenth.
        let lead_funds = match config.attack {
            Some(Attack::Sybil | Attack::ForgedBottom | Attack::MempoolFlood) => FUNDS / 10,
            _ => FUNDS,
        };
        let genesis = keys.iter().take(config.funded_nodes()).enumerate().fold(
            Genesis::new(0),
            |g, (i, k)| {
                let lead = i == config.nodes
                    && !matches!(
                        config.attack,
                        Some(Attack::Forger | Attack::Withholder | Attack::Equivocator)
                    );
                let funds = if lead { lead_funds } else { FUNDS };
                g.allocate(k.address(), funds)
            },
        );
        let flood = match (config.attack, keys.get(config.nodes)) {
            (Some(Attack::MempoolFlood), Some(funded)) => {
                Some(flood::Flood::new(funded.clone(), &mut rng))
            }
            _ => None,
        };
        let (genesis_root, _) = seed_chain
            .genesis(&genesis, &keys[0])
            .map_err(state_error)?;
        let genesis_blocks =
            transfer::missing_blocks(&genesis_store, &MemoryBlockstore::new(), &genesis_root);
        let addresses: Vec<Option<Address>> = keys.iter().map(|k| Some(k.address())).collect();
        let honest_count = (0..total)
            .filter(|&i| config.behaviour(i) == Behaviour::Honest)
            .count();
        let flood_ids = match config.attack {
            Some(Attack::PeerFlood) => config.flood,
            _ => 0,
        };
        let mut nodes = Vec::with_capacity(total);
        for (id, key) in keys.into_iter().enumerate() {
            let store = MemoryBlockstore::new();
            store
                .put_many_keyed(&genesis_blocks)
                .map_err(|e| state_error(e.into()))?;
            let chain = Executor::new(store, config.chain.clone()).map_err(state_error)?;
            // Everyone knows everyone; under a flood, honest nodes also know
            // ids past the last node, which never answer.
            let peers = (0..total + flood_ids).filter(|&p| p != id);
            let behaviour = config.behaviour(id);
            // Honest nodes pay the next honest node.
            let receiver = addresses
                .get((id + 1) % honest_count.max(1))
                .copied()
                .flatten();
            let transfers = match (behaviour, config.transfer_every, receiver) {
                (Behaviour::Honest, Some(every), Some(to)) => Some((every, to)),
                _ => None,
            };
            nodes.push(SimNode::new(
                id,
                key,
                behaviour,
                chain,
                genesis_root,
                &config,
                addresses.clone(),
                peers,
                transfers,
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
            honest_states: HashSet::new(),
            flood,
            flood_target: 0,
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
                    let honest = self.nodes[id].behaviour == Behaviour::Honest;
                    for (root, number, previous) in mined {
                        if private {
                            self.private_states.insert(root);
                        }
                        if honest {
                            self.honest_states.insert(root);
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
            if self.nodes[id].behaviour == Behaviour::Flooder
                && now < self.config.mining_time
                && (now + id as u64).is_multiple_of(self.config.flood_every.max(1))
            {
                self.flood_from(id)?;
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
        report.honest_tx_sent = honest.iter().map(|n| n.transfers_sent).sum();
        if let Some(first) = honest.first() {
            let transfers: Vec<&SignedTransaction> =
                honest.iter().flat_map(|n| n.transfers()).collect();
            let head = first.engine.head();
            let held = |root: &Cid| transfers.iter().filter(|tx| first.holds(root, tx)).count();
            report.honest_tx_mined = held(&head);
            report.honest_tx_safe = first.safety_root().map_or(0, |p| held(&p));
        }
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
        self.nodes[id].tend_transfer(now, self.config.mining_time)?;
        let gossip: Vec<(SignedTransaction, bool)> = self.nodes[id]
            .gossip()
            .into_iter()
            .map(|tx| (tx, false))
            .collect();
        for to in asks {
            let transactions = gossip.clone();
            self.send(
                Event::Ask {
                    from: id,
                    to,
                    transactions,
                },
                id,
                to,
            );
        }
        let jitter = self.rng.random_range(0..=1);
        self.nodes[id].next_poll = now + self.config.poll_every + jitter;
        Ok(())
    }

    fn deliver(&mut self, event: Event) -> Result<()> {
        let (Event::Ask { from, to, .. } | Event::Answer { from, to, .. }) = &event;
        if !self.reachable(*from, *to) || *to >= self.nodes.len() || *from >= self.nodes.len() {
            // Cut by a partition while in flight, or sent to a peer id that
            // does not exist (a flood's).
            return Ok(());
        }
        match event {
            Event::Ask {
                from,
                to,
                transactions,
            } => {
                // An ask is an inbound connection: the answerer learns the
                // asker (how a dropped peer comes back after its cooldown).
                let now = self.now;
                self.nodes[to].engine.add_peer(from, now);
                self.offer(to, transactions)?;
                // A flooder does not read answers: the simulator spares
                // itself sending them.
                if self.nodes[from].behaviour == Behaviour::Flooder {
                    return Ok(());
                }
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
                        body: Box::new(node::IncomingAnswer {
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
        if self.report.time_to_honest_safety.is_none()
            && previous != Some(point)
            && self.honest_states.contains(&point)
        {
            let start = self.config.attack_start();
            if self.now >= start {
                self.report.time_to_honest_safety = Some(self.now - start);
            }
        }
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

    /// Honest node `to` takes `transactions` into its mempool (a node that
    /// sends no transfers keeps none).
    fn offer(&mut self, to: usize, transactions: Vec<(SignedTransaction, bool)>) -> Result<()> {
        let flood = self.flood.as_ref();
        let node = &mut self.nodes[to];
        if node.behaviour != Behaviour::Honest || !node.keeps_mempool() || transactions.is_empty() {
            return Ok(());
        }
        let spam: Vec<bool> = transactions
            .iter()
            .map(|(tx, _)| flood.is_some_and(|f| f.is_funded(&tx.tx.sender)))
            .collect();
        let (txs, junk): (Vec<SignedTransaction>, Vec<bool>) = transactions.into_iter().unzip();
        let outcomes = node.admit(txs, self.now)?;
        for ((outcome, junk), spam) in outcomes.iter().zip(junk).zip(spam) {
            if matches!(outcome, Admission::Refused(_)) {
                continue;
            }
            if junk {
                self.report.junk_admitted += 1;
            } else if spam {
                self.report.spam_admitted += 1;
            }
        }
        self.report.mempool_peak = self.report.mempool_peak.max(node.mempool.len());
        Ok(())
    }

    /// Flooder `id` sends a batch of junk to the next honest node.
    fn flood_from(&mut self, id: usize) -> Result<()> {
        let honest: Vec<usize> = (0..self.nodes.len())
            .filter(|&i| self.nodes[i].behaviour == Behaviour::Honest)
            .collect();
        let Some(flood) = self.flood.as_mut() else {
            return Ok(());
        };
        let Some(&target) = honest.get(self.flood_target % honest.len().max(1)) else {
            return Ok(());
        };
        self.flood_target = self.flood_target.wrapping_add(1);
        let node = &self.nodes[target];
        // The flood watches the chain: its spam takes the funded key's next
        // nonces at the target's head, and it impersonates the target.
        let nonce = node.nonce_of(&flood.funded_address())?;
        let batch = flood.batch(
            &self.config.chain,
            nonce,
            node.address(),
            self.now,
            self.config.junk_batch,
        )?;
        self.report.junk_sent += batch.iter().filter(|(_, junk)| *junk).count();
        self.send(
            Event::Ask {
                from: id,
                to: target,
                transactions: batch,
            },
            id,
            target,
        );
        Ok(())
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
