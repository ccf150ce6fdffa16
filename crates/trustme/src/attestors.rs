//! Attestor selection (TR-2018-02 §4.2, §4.3): the foundation attestors
//! first, then the first `pow_attestors` distinct super nodes with valid
//! stable PoW units of the round, ordered by MCI, then by unit id (the
//! smaller hash has the higher priority).

use cid::Cid;
use tau_keys::Address;

/// A valid stable PoW unit competing for a round.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PowCandidate {
    /// Its MCI.
    pub mci: u64,
    /// The 32-byte digest of its id (the id order).
    pub digest: [u8; 32],
    /// Its id.
    pub id: Cid,
    /// The super node.
    pub author: Address,
}

/// An attestor of a round with the PoW unit that elected it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Attestor {
    /// Its address.
    pub address: Address,
    /// The electing PoW unit (none for the foundation and genesis attestors).
    pub pow_unit: Option<Cid>,
}

/// The attestors of a round: `foundation` in order, then the first `n`
/// distinct candidate authors by (MCI, id); `None` while fewer than `n`
/// distinct super nodes qualify. Foundation addresses never take a PoW slot.
///
/// ```
/// use tau_keys::Address;
/// use tau_trustme::{select_attestors, PowCandidate};
/// let c = |mci, d: u8, a: u8| PowCandidate {
///     mci, digest: [d; 32], id: Default::default(), author: Address::new([a; 20]),
/// };
/// let f = Address::new([0xf0; 20]);
/// // Spec scenario 10 with k = 2: c at MCI 9; b ("C…") and a ("M…") at MCI 10.
/// let picked = select_attestors(&[f], &[c(10, b'M', 1), c(9, 0x99, 3), c(10, b'C', 2)], 2).unwrap();
/// let who: Vec<u8> = picked.iter().map(|a| a.address.as_bytes()[0]).collect();
/// assert_eq!(who, vec![0xf0, 3, 2]);
/// ```
pub fn select_attestors(
    foundation: &[Address],
    candidates: &[PowCandidate],
    n: usize,
) -> Option<Vec<Attestor>> {
    let mut sorted: Vec<&PowCandidate> = candidates.iter().collect();
    sorted.sort_by_key(|c| (c.mci, c.digest));
    let mut out: Vec<Attestor> = foundation
        .iter()
        .map(|&address| Attestor {
            address,
            pow_unit: None,
        })
        .collect();
    for c in sorted {
        if out.len() == foundation.len() + n {
            break;
        }
        if out.iter().any(|a| a.address == c.author) {
            continue;
        }
        out.push(Attestor {
            address: c.author,
            pow_unit: Some(c.id),
        });
    }
    (out.len() == foundation.len() + n).then_some(out)
}

/// Distinct attestors that make a majority: ⌊n/2⌋ + 1 (TR §3.1, §4.1).
pub fn majority(attestors: usize) -> usize {
    attestors / 2 + 1
}
