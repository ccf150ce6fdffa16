//! Proven miners: who may vote.
//!
//! A peer id costs nothing to make, so it proves nothing. What does cost
//! something is a block: mining one needs an account whose balance and power
//! pass the Proof-of-Transaction check in a state this node validated. So a
//! TAU address counts as a *proven miner* once it mined a block within the
//! mutable range on a chain this node validated down to an anchored state
//! (its own chain or a peer's anchored view). Votes are counted per proven
//! miner address, never per peer id; peers that prove no miner address may
//! still serve blocks and transactions, they just don't vote.
//!
//! A young chain has few blocks to prove anyone, and a vote over a tiny
//! population is a vote two disjoint groups can each win. So the addresses
//! the trusted genesis endows count as having mined at block 0: they are the
//! known miners until the chain outgrows the mutable range, and from then on
//! only addresses that actually mine keep counting.

use std::collections::BTreeMap;

use tau_keys::Address;

use crate::view::ChainView;

/// Miner addresses proven by validated, anchored chains, each with the
/// newest block number it was seen mining.
#[derive(Debug, Clone, Default)]
pub struct ProvenMiners {
    newest_block: BTreeMap<Address, u64>,
}

impl ProvenMiners {
    /// No miner proven yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Records the miners of every block of `view` (a validated, anchored
    /// view: [`ChainView::collect`] makes no other).
    pub fn record(&mut self, view: &ChainView) {
        for entry in view.entries() {
            let newest = self.newest_block.entry(entry.miner).or_insert(0);
            *newest = (*newest).max(entry.number);
        }
    }

    /// Counts `address` as having mined at block 0 (a genesis endowment).
    pub fn endow(&mut self, address: Address) {
        self.newest_block.entry(address).or_insert(0);
    }

    /// Forgets miners whose newest block is more than `range` blocks below
    /// `tip`: they no longer mine within the mutable range.
    pub fn expire(&mut self, tip: u64, range: u64) {
        let horizon = tip.saturating_sub(range);
        self.newest_block.retain(|_, number| *number >= horizon);
    }

    /// Whether `address` is a proven miner.
    pub fn contains(&self, address: &Address) -> bool {
        self.newest_block.contains_key(address)
    }

    /// How many miners are proven.
    pub fn len(&self) -> usize {
        self.newest_block.len()
    }

    /// Whether no miner is proven.
    pub fn is_empty(&self) -> bool {
        self.newest_block.is_empty()
    }

    /// The proven addresses, in order.
    pub fn addresses(&self) -> impl Iterator<Item = &Address> {
        self.newest_block.keys()
    }
}
