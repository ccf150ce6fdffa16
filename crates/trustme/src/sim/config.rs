//! What a simulation runs.

use crate::params::Params;

/// A network partition: nodes in `side` cannot reach the others from
/// `start_ms` until `heal_ms`; messages across the cut arrive after the heal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Partition {
    /// When it starts.
    pub start_ms: u64,
    /// When it heals.
    pub heal_ms: u64,
    /// Node indices on one side (the rest are on the other).
    pub side: Vec<usize>,
}

/// A simulation: nodes `0..foundation` are the foundation attestors, the
/// rest super nodes (the first `pow_attestors` of them attest in round 1).
/// Every random choice comes from `seed`.
#[derive(Debug, Clone)]
pub struct SimConfig {
    /// The seed of every random choice.
    pub seed: u64,
    /// Super nodes (besides the foundation nodes).
    pub super_nodes: usize,
    /// Consensus parameters.
    pub params: Params,
    /// Stop when node 0 has seen this many rounds start after round 1.
    pub rounds: u64,
    /// Stop at this simulated time whatever happened.
    pub max_time_ms: u64,
    /// One-way latency: base.
    pub latency_ms: u64,
    /// One-way latency: uniform extra in `0..jitter_ms`.
    pub jitter_ms: u64,
    /// Percent of messages lost (each is retransmitted after `retransmit_ms`).
    pub loss_pct: u32,
    /// Retransmission delay of a lost message.
    pub retransmit_ms: u64,
    /// How often each node looks at its state (attest, mine, post).
    pub tick_ms: u64,
    /// Simulated time of one Equihash run.
    pub solve_ms: u64,
    /// Mean gap between normal units of one super node (0: none).
    pub normal_unit_ms: u64,
    /// An optional partition.
    pub partition: Option<Partition>,
    /// Nodes offline (neither sending nor receiving) in `[from, to)`.
    pub offline: Vec<(usize, u64, u64)>,
    /// Attestors that equivocate: each TrustME unit has a twin with the
    /// same parents, and the two go to different halves of the network.
    pub equivocators: Vec<usize>,
    /// A node that holds units of a round it does not know asks their sender
    /// for a catch-up proof if it still does not know the round this much
    /// later (0: never).
    pub catchup_delay_ms: u64,
    /// Start under witnesses (TR §5.2, [`crate::WitnessPhase`]) and switch
    /// to TrustME-PoW once this MCI is stable: the witnesses are the nodes
    /// that would otherwise attest in round 1 (the foundation and the first
    /// `pow_attestors` super nodes). `None`: round 1 is listed in the genesis.
    pub witness_switch_mci: Option<u64>,
}

impl SimConfig {
    /// A small devnet simulation: 1 foundation + `super_nodes` super nodes,
    /// Equihash (48,5), 50–80 ms latency.
    pub fn devnet(super_nodes: usize, rounds: u64, seed: u64) -> Self {
        Self {
            seed,
            super_nodes,
            params: Params::tiny(),
            rounds,
            max_time_ms: 3_600_000,
            latency_ms: 50,
            jitter_ms: 30,
            loss_pct: 0,
            retransmit_ms: 500,
            tick_ms: 250,
            solve_ms: 1_000,
            normal_unit_ms: 0,
            partition: None,
            offline: Vec::new(),
            equivocators: Vec::new(),
            catchup_delay_ms: 2_000,
            witness_switch_mci: None,
        }
    }
}
