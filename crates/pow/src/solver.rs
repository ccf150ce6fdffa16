//! Wagner's algorithm for any `(n, k)`: k − 1 rounds of collisions on
//! n/(k+1) bits each, then a final collision on the last 2·n/(k+1) bits.
//!
//! Each round sorts the current list by its next collision bits (a counting
//! sort: the keys are uniformly distributed), XORs every pair inside a bucket
//! into the next list and remembers the pair, so a candidate's 2^k leaf
//! indices can be rebuilt at the end. Pairs whose XOR is zero on all remaining
//! bits are dropped: they can only lead to repeated indices. Candidates are
//! put in canonical order (at every node the subtree with the smaller first
//! index goes left), those with a repeated index are discarded, and the rest
//! are returned sorted and deduplicated in the minimal encoding. Buffers are
//! allocated by the first run and reused by the following ones.

use crate::leaf::LeafHasher;
use crate::minimal;
use crate::params::Params;
use crate::{Error, Result};

/// Largest list the solver accepts (2^26 leaves): memory is proportional to it.
const MAX_LIST_BITS: u32 = 26;

/// How many entries a round may produce, as a multiple of the leaf count.
/// Wagner's lists stay near the leaf count; the cap only bounds memory on
/// pathological inputs.
const MAX_GROWTH: usize = 4;

/// An Equihash solver for one parameter set. Not `Sync`: each thread needs its own.
///
/// ```
/// use tau_pow::{verify, Params, Solver};
/// let params = Params::tiny();
/// let mut solver = Solver::new(params)?;
/// let mut found = 0;
/// for nonce in 0u32..8 {
///     for solution in solver.solve(b"tau-pow doc test", &nonce.to_le_bytes()) {
///         verify(&params, b"tau-pow doc test", &nonce.to_le_bytes(), &solution)?;
///         found += 1;
///     }
/// }
/// assert!(found > 0);
/// # Ok::<(), tau_pow::Error>(())
/// ```
#[derive(Debug)]
pub struct Solver {
    params: Params,
    /// The current list: XORs of leaf hashes, `hash_bytes` each.
    current: Vec<u8>,
    /// The list being built.
    next: Vec<u8>,
    /// For each round 1..k−1, the positions in the previous list of each entry's pair.
    parents: Vec<Vec<(u32, u32)>>,
    /// Collision key of each entry of the current list.
    keys: Vec<u32>,
    /// Positions of the current list sorted by key.
    order: Vec<u32>,
    /// Bucket counts of the counting sort.
    counts: Vec<u32>,
}

impl Solver {
    /// A solver for `params`; [`Error::InvalidParams`] if the list would
    /// exceed 2^26 leaves.
    pub fn new(params: Params) -> Result<Self> {
        if params.index_bits() > MAX_LIST_BITS {
            return Err(Error::InvalidParams {
                n: params.n(),
                k: params.k(),
                why: "list too large for this solver (more than 2^26 leaves)",
            });
        }
        Ok(Solver {
            params,
            current: Vec::new(),
            next: Vec::new(),
            parents: vec![Vec::new(); params.k() as usize - 1],
            keys: Vec::new(),
            order: Vec::new(),
            counts: Vec::new(),
        })
    }

    /// The parameters.
    pub fn params(&self) -> &Params {
        &self.params
    }

    /// Every solution for `input ‖ nonce`, in the minimal encoding, sorted and
    /// without duplicates.
    pub fn solve(&mut self, input: &[u8], nonce: &[u8]) -> Vec<Vec<u8>> {
        let p = self.params;
        let hb = p.hash_bytes();
        let c = p.collision_bits();
        let leaves = p.list_size() as usize;
        self.current.clear();
        self.current.resize(leaves * hb, 0);
        LeafHasher::new(p, input, nonce).fill(0, &mut self.current);

        let mut len = leaves;
        for round in 1..p.k() {
            self.sort_by_key(len, (round - 1) * c);
            len = self.collide(round);
            std::mem::swap(&mut self.current, &mut self.next);
        }
        self.sort_by_key(len, (p.k() - 1) * c);
        let mut solutions: Vec<Vec<u8>> = self
            .final_pairs()
            .into_iter()
            .filter_map(|(a, b)| self.indices(a, b))
            .map(|indices| minimal::encode(&p, &indices))
            .collect();
        solutions.sort_unstable();
        solutions.dedup();
        solutions
    }

    /// Fills `keys` with the `c` bits at `start` of each of the first `len`
    /// entries and `order` with the positions sorted by key.
    fn sort_by_key(&mut self, len: usize, start: u32) {
        let hb = self.params.hash_bytes();
        let c = self.params.collision_bits();
        self.keys.clear();
        self.keys.extend(
            self.current
                .chunks_exact(hb)
                .take(len)
                .map(|h| bits(h, start, c)),
        );
        self.counts.clear();
        self.counts.resize((1usize << c) + 1, 0);
        for &key in &self.keys {
            self.counts[key as usize + 1] += 1;
        }
        for i in 1..self.counts.len() {
            self.counts[i] += self.counts[i - 1];
        }
        self.order.clear();
        self.order.resize(len, 0);
        for (position, &key) in self.keys.iter().enumerate() {
            let slot = &mut self.counts[key as usize];
            self.order[*slot as usize] = position as u32;
            *slot += 1;
        }
    }

    /// The groups of `order` (runs of equal keys), as ranges.
    fn groups(&self) -> impl Iterator<Item = std::ops::Range<usize>> + '_ {
        let mut start = 0;
        std::iter::from_fn(move || {
            let first = *self.order.get(start)?;
            let key = self.keys[first as usize];
            let mut end = start + 1;
            while end < self.order.len() && self.keys[self.order[end] as usize] == key {
                end += 1;
            }
            let range = start..end;
            start = end;
            Some(range)
        })
    }

    /// One collision round: XORs every pair of each group into `next` and
    /// records the pairs. Returns the length of the new list.
    fn collide(&mut self, round: u32) -> usize {
        let hb = self.params.hash_bytes();
        let done_bits = round * self.params.collision_bits();
        let cap = MAX_GROWTH * self.params.list_size() as usize;
        let mut next = std::mem::take(&mut self.next);
        let mut parents = std::mem::take(&mut self.parents[round as usize - 1]);
        next.clear();
        parents.clear();
        let mut xor = [0u8; 64];
        'groups: for group in self.groups().collect::<Vec<_>>() {
            let members = &self.order[group];
            for (i, &a) in members.iter().enumerate() {
                let ha = &self.current[a as usize * hb..][..hb];
                for &b in &members[i + 1..] {
                    let hb_ = &self.current[b as usize * hb..][..hb];
                    for (x, (u, v)) in xor.iter_mut().zip(ha.iter().zip(hb_)) {
                        *x = u ^ v;
                    }
                    if is_zero_from(&xor[..hb], done_bits) {
                        continue;
                    }
                    if parents.len() == cap {
                        break 'groups;
                    }
                    next.extend_from_slice(&xor[..hb]);
                    parents.push((a, b));
                }
            }
        }
        let produced = parents.len();
        self.next = next;
        self.parents[round as usize - 1] = parents;
        produced
    }

    /// Pairs of the last list that also collide on the final collision bits,
    /// so that their XOR is zero on all n bits.
    fn final_pairs(&self) -> Vec<(u32, u32)> {
        let hb = self.params.hash_bytes();
        let c = self.params.collision_bits();
        let last = self.params.k() * c;
        let mut out = Vec::new();
        for group in self.groups() {
            let members = &self.order[group];
            for (i, &a) in members.iter().enumerate() {
                let ka = bits(&self.current[a as usize * hb..][..hb], last, c);
                for &b in &members[i + 1..] {
                    if bits(&self.current[b as usize * hb..][..hb], last, c) == ka {
                        out.push((a, b));
                    }
                }
            }
        }
        out
    }

    /// The 2^k leaf indices of the final pair `(a, b)` in canonical order, or
    /// `None` if an index repeats.
    fn indices(&self, a: u32, b: u32) -> Option<Vec<u32>> {
        let top = self.params.k() - 1;
        let mut left = self.subtree(top, a);
        let mut right = self.subtree(top, b);
        if left.first() > right.first() {
            std::mem::swap(&mut left, &mut right);
        }
        left.extend_from_slice(&right);
        let mut sorted = left.clone();
        sorted.sort_unstable();
        if sorted.windows(2).any(|w| w[0] == w[1]) {
            return None;
        }
        Some(left)
    }

    /// The leaf indices under entry `position` of the list of `round`, in
    /// canonical order.
    fn subtree(&self, round: u32, position: u32) -> Vec<u32> {
        if round == 0 {
            return vec![position];
        }
        let (a, b) = self.parents[round as usize - 1][position as usize];
        let mut left = self.subtree(round - 1, a);
        let mut right = self.subtree(round - 1, b);
        if left.first() > right.first() {
            std::mem::swap(&mut left, &mut right);
        }
        left.extend_from_slice(&right);
        left
    }
}

/// `len` (≤ 32) bits of `bytes` starting at bit `start`, most significant first.
fn bits(bytes: &[u8], start: u32, len: u32) -> u32 {
    let first = (start / 8) as usize;
    let mut acc: u64 = 0;
    for i in 0..5 {
        acc = (acc << 8) | u64::from(bytes.get(first + i).copied().unwrap_or(0));
    }
    let shift = 40 - (start % 8) - len;
    ((acc >> shift) & ((1u64 << len) - 1)) as u32
}

/// Whether every bit of `bytes` from bit `start` on is zero.
fn is_zero_from(bytes: &[u8], start: u32) -> bool {
    let first = (start / 8) as usize;
    let Some((&partial, rest)) = bytes.get(first..).and_then(|s| s.split_first()) else {
        return true;
    };
    let mask = 0xffu8 >> (start % 8);
    partial & mask == 0 && rest.iter().all(|&b| b == 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bit_extraction() {
        let bytes = [0b1011_0011, 0b0100_0000, 0xff, 0x00, 0x00, 0x00];
        assert_eq!(bits(&bytes, 0, 4), 0b1011);
        assert_eq!(bits(&bytes, 4, 8), 0b0011_0100);
        assert_eq!(bits(&bytes, 9, 9), 0b1_0000_0011);
        assert_eq!(bits(&bytes, 16, 20), 0xff000);
        assert!(is_zero_from(&bytes, 24));
        assert!(!is_zero_from(&bytes, 17));
        assert!(is_zero_from(&[0b1000_0000], 1));
    }
}
