//! The genesis state: initial balances and block 0.

use std::collections::BTreeMap;

use tau_keys::Address;

/// The initial balances and time of a chain. Build it, then create the
/// state with [`Executor::genesis`](crate::Executor::genesis).
///
/// ```
/// use tau_keys::Address;
/// use tau_state::Genesis;
/// let genesis = Genesis::new(1_700_000_000)
///     .allocate(Address::new([1; 20]), 1_000)
///     .allocate(Address::new([2; 20]), 500);
/// assert_eq!(genesis.total_supply(), Some(1_500));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Genesis {
    timestamp: u64,
    allocations: BTreeMap<Address, u64>,
}

impl Genesis {
    /// A genesis at `timestamp` (seconds since the Unix epoch) with no balances.
    pub fn new(timestamp: u64) -> Self {
        Self {
            timestamp,
            allocations: BTreeMap::new(),
        }
    }

    /// Gives `address` an account holding `balance` (replacing an earlier allocation).
    pub fn allocate(mut self, address: Address, balance: u64) -> Self {
        self.allocations.insert(address, balance);
        self
    }

    /// The genesis time.
    pub fn timestamp(&self) -> u64 {
        self.timestamp
    }

    /// The allocations, by address.
    pub fn allocations(&self) -> &BTreeMap<Address, u64> {
        &self.allocations
    }

    /// The sum of all allocations (`None` if it overflows 64 bits).
    pub fn total_supply(&self) -> Option<u64> {
        self.allocations
            .values()
            .try_fold(0u64, |sum, b| sum.checked_add(*b))
    }
}
