//! What a simulation measured.

use std::collections::BTreeMap;

use tau_keys::Address;

use crate::reward::Coinbase;

/// One round as node 0 saw it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RoundSummary {
    /// The round.
    pub round: u64,
    /// When node 0 switched to it (ms).
    pub start_ms: u64,
    /// Its attestors.
    pub attestors: Vec<Address>,
    /// Attestors not in the previous round (turnover).
    pub new_attestors: usize,
    /// Its rewards (empty while it runs).
    pub coinbase: Coinbase,
}

/// The outcome of a simulation.
#[derive(Debug, Clone, Default)]
pub struct Report {
    /// Simulated time at the end (ms).
    pub end_ms: u64,
    /// Rounds seen by node 0.
    pub rounds: Vec<RoundSummary>,
    /// Units made.
    pub units_created: usize,
    /// Units stable at node 0 (genesis excluded).
    pub stable_units: u64,
    /// Sum over them of (stable at node 0 − made), ms.
    pub stabilization_ms_total: u64,
    /// Node 0's last stable MCI.
    pub last_stable_mci: u64,
    /// Node 0's main chain length.
    pub mc_len: usize,
    /// Last stable MCI of every node.
    pub stable_mci_per_node: Vec<u64>,
    /// Rewards per address (node 0's view).
    pub rewards: BTreeMap<Address, u64>,
    /// Rewards per node index.
    pub rewards_by_node: Vec<u64>,
    /// Units rejected (at receipt or at stability), with the reason.
    pub rejected: Vec<String>,
    /// Catch-up proofs that moved a node's stable point.
    pub catchups: u64,
    /// Stable MCIs nodes learned from catch-up proofs (adopted, or reached
    /// by the local rule right after).
    pub catchup_mcis: u64,
    /// Catch-up requests or proofs refused, with the reason.
    pub catchup_errors: Vec<String>,
}

impl Report {
    /// Mean time from making a unit to node 0 seeing it stable (ms).
    pub fn mean_stabilization_ms(&self) -> u64 {
        self.stabilization_ms_total
            .checked_div(self.stable_units)
            .unwrap_or(0)
    }

    /// Durations of the finished rounds (ms), as node 0 saw them.
    pub fn round_durations_ms(&self) -> Vec<u64> {
        self.rounds
            .windows(2)
            .map(|w| w[1].start_ms.saturating_sub(w[0].start_ms))
            .collect()
    }
}
