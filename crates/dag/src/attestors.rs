//! Who attests in a round: supplied by the caller.
//!
//! tau-trustme implements [`Attestors`] per round (TR-2018-02 §4.2: 2
//! foundation attestors plus 18 by PoW); tests use [`FixedAttestors`].

use tau_keys::Address;

/// The attestor set of each round.
pub trait Attestors {
    /// Whether `address` is an attestor of `round`.
    fn is_attestor(&self, round: u64, address: &Address) -> bool;

    /// How many distinct attestors of `round` make a majority ("more than
    /// half", TR-2018-02 §3.1): ⌊n/2⌋ + 1 for n attestors. Values below 1 are
    /// treated as 1.
    fn majority(&self, round: u64) -> usize;
}

impl<T: Attestors + ?Sized> Attestors for &T {
    fn is_attestor(&self, round: u64, address: &Address) -> bool {
        (**self).is_attestor(round, address)
    }
    fn majority(&self, round: u64) -> usize {
        (**self).majority(round)
    }
}

/// The same attestors in every round.
///
/// ```
/// use tau_dag::{Attestors, FixedAttestors};
/// use tau_keys::Address;
/// let set = FixedAttestors::new((1..=3u8).map(|i| Address::new([i; 20])));
/// assert_eq!(set.majority(7), 2);
/// assert!(set.is_attestor(7, &Address::new([2; 20])));
/// assert!(!set.is_attestor(7, &Address::new([9; 20])));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FixedAttestors {
    sorted: Vec<Address>,
    majority: usize,
}

impl FixedAttestors {
    /// These attestors, with majority ⌊n/2⌋ + 1.
    pub fn new(addresses: impl IntoIterator<Item = Address>) -> Self {
        let mut sorted: Vec<Address> = addresses.into_iter().collect();
        sorted.sort_unstable_by(|a, b| a.as_bytes().cmp(b.as_bytes()));
        sorted.dedup();
        let majority = sorted.len() / 2 + 1;
        Self { sorted, majority }
    }

    /// These attestors with an explicit majority (e.g. the spec's scenario 8).
    pub fn with_majority(addresses: impl IntoIterator<Item = Address>, majority: usize) -> Self {
        let mut set = Self::new(addresses);
        set.majority = majority;
        set
    }

    /// The attestors, ascending.
    pub fn addresses(&self) -> &[Address] {
        &self.sorted
    }
}

impl Attestors for FixedAttestors {
    fn is_attestor(&self, _round: u64, address: &Address) -> bool {
        self.sorted
            .binary_search_by(|a| a.as_bytes().cmp(address.as_bytes()))
            .is_ok()
    }

    fn majority(&self, _round: u64) -> usize {
        self.majority
    }
}

/// TrustNote's rule: any TrustME author counts (membership is left to
/// validation), with a fixed majority.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AnyAuthor {
    /// Distinct authors that make a majority.
    pub majority: usize,
}

impl Attestors for AnyAuthor {
    fn is_attestor(&self, _round: u64, _address: &Address) -> bool {
        true
    }

    fn majority(&self, _round: u64) -> usize {
        self.majority
    }
}
