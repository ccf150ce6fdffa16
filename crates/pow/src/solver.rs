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
    /// The current list: the not yet consumed bytes of each entry's XOR,
    /// laid out as [`Layout`] says.
    current: Vec<u8>,
    /// Collision key of each entry of `current`.
    keys: Vec<u32>,
    /// The current list partitioned by the high bits of the key.
    sorted: Vec<u8>,
    /// Keys of `sorted`.
    sorted_keys: Vec<u32>,
    /// For each entry of `sorted`, its position in `current`.
    sorted_from: Vec<u32>,
    /// Bounds of the partitions: partition `j` is `bounds[j]..bounds[j + 1]`.
    bounds: Vec<u32>,
    /// Inside one partition: its entries copied in order of the low key bits
    /// (small enough to stay in cache while its pairs are formed).
    local: Vec<u8>,
    /// Inside one partition: the origin (position in `current`) of each entry of `local`.
    local_from: Vec<u32>,
    /// Inside one partition: bounds of the groups of equal keys.
    local_bounds: Vec<u32>,
    /// The list being built.
    next: Vec<u8>,
    /// For each round 1..k−1, the positions in the previous list of each entry's pair.
    parents: Vec<Vec<(u32, u32)>>,
}

/// High key bits of the first sorting pass: at most 2^11 partitions, so that
/// the scattered writes go to few enough places to stay in cache.
const PARTITION_BITS: u32 = 11;

/// Where a list's entries start in the hash and how long they are.
#[derive(Clone, Copy, Debug)]
struct Layout {
    /// First hash byte kept.
    offset: usize,
    /// Bytes per entry, padded to whole 8-byte words (padding is zero).
    stride: usize,
}

impl Layout {
    /// The layout once `done_bits` leading bits are consumed.
    fn after(params: &Params, done_bits: u32) -> Self {
        let offset = (done_bits / 8) as usize;
        let used = params.hash_bytes() - offset;
        Layout {
            offset,
            stride: used.div_ceil(8) * 8,
        }
    }

    /// `len` bits at absolute hash bit `start` of an entry laid out this way.
    fn bits(&self, entry: &[u8], start: u32, len: u32) -> u32 {
        bits(entry, start - 8 * self.offset as u32, len)
    }
}

/// Copies an entry word by word (strides are whole words).
#[inline]
fn copy_entry(dst: &mut [u8], src: &[u8]) {
    for (d, s) in dst.chunks_exact_mut(8).zip(src.chunks_exact(8)) {
        d.copy_from_slice(s);
    }
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
            keys: Vec::new(),
            sorted: Vec::new(),
            sorted_keys: Vec::new(),
            sorted_from: Vec::new(),
            bounds: Vec::new(),
            local: Vec::new(),
            local_from: Vec::new(),
            local_bounds: Vec::new(),
            next: Vec::new(),
            parents: vec![Vec::new(); params.k() as usize - 1],
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
        let c = p.collision_bits();
        let leaves = p.list_size() as usize;
        let mut layout = Layout::after(&p, 0);
        self.current.clear();
        self.current.resize(leaves * layout.stride, 0);
        LeafHasher::new(p, input, nonce).fill(0, &mut self.current, layout.stride);

        let mut pairs = Vec::new();
        for round in 1..=p.k() {
            self.partition(layout, (round - 1) * c);
            if round < p.k() {
                let next_layout = Layout::after(&p, round * c);
                self.collide(round, layout, next_layout);
                std::mem::swap(&mut self.current, &mut self.next);
                layout = next_layout;
            } else {
                pairs = self.final_pairs(layout);
            }
        }
        let mut solutions: Vec<Vec<u8>> = pairs
            .into_iter()
            .filter_map(|(a, b)| self.indices(a, b))
            .map(|indices| minimal::encode(&p, &indices))
            .collect();
        solutions.sort_unstable();
        solutions.dedup();
        solutions
    }

    /// First sorting pass: computes each entry's `c`-bit key at absolute bit
    /// `start` and scatters the entries, with keys and origins, into partitions
    /// by the key's high bits.
    fn partition(&mut self, layout: Layout, start: u32) {
        let c = self.params.collision_bits();
        let high = c.min(PARTITION_BITS);
        let stride = layout.stride;
        let len = self.current.len() / stride;
        self.keys.clear();
        self.keys.extend(
            self.current
                .chunks_exact(stride)
                .map(|entry| layout.bits(entry, start, c)),
        );
        self.bounds.clear();
        self.bounds.resize((1usize << high) + 1, 0);
        for &key in &self.keys {
            self.bounds[(key >> (c - high)) as usize + 1] += 1;
        }
        for i in 1..self.bounds.len() {
            self.bounds[i] += self.bounds[i - 1];
        }
        self.sorted.clear();
        self.sorted.resize(len * stride, 0);
        self.sorted_keys.clear();
        self.sorted_keys.resize(len, 0);
        self.sorted_from.clear();
        self.sorted_from.resize(len, 0);
        // `bounds[part]` walks partition `part` forward; afterwards it holds
        // the partition's end, i.e. the start of partition `part + 1`.
        for (position, (entry, &key)) in self
            .current
            .chunks_exact(stride)
            .zip(&self.keys)
            .enumerate()
        {
            let part = (key >> (c - high)) as usize;
            let slot = self.bounds[part] as usize;
            self.bounds[part] += 1;
            copy_entry(&mut self.sorted[slot * stride..(slot + 1) * stride], entry);
            self.sorted_keys[slot] = key;
            self.sorted_from[slot] = position as u32;
        }
        // Shift back so that partition `j` is `bounds[j]..bounds[j + 1]`.
        self.bounds.rotate_right(1);
        self.bounds[0] = 0;
    }

    /// Second sorting pass, inside one partition: copies its entries, ordered
    /// by the low bits of the key, into `local` (with origins in `local_from`)
    /// and the bounds of the groups of equal keys into `local_bounds`.
    fn sort_partition(&mut self, range: std::ops::Range<usize>, stride: usize) {
        let c = self.params.collision_bits();
        let low = c - c.min(PARTITION_BITS);
        let mask = (1u32 << low) - 1;
        self.local_bounds.clear();
        self.local_bounds.resize((1usize << low) + 1, 0);
        for &key in &self.sorted_keys[range.clone()] {
            self.local_bounds[(key & mask) as usize + 1] += 1;
        }
        for i in 1..self.local_bounds.len() {
            self.local_bounds[i] += self.local_bounds[i - 1];
        }
        self.local.clear();
        self.local.resize(range.len() * stride, 0);
        self.local_from.clear();
        self.local_from.resize(range.len(), 0);
        let entries = self.sorted[range.start * stride..range.end * stride].chunks_exact(stride);
        for ((entry, &key), &from) in entries
            .zip(&self.sorted_keys[range.clone()])
            .zip(&self.sorted_from[range])
        {
            let slot = &mut self.local_bounds[(key & mask) as usize];
            let at = *slot as usize;
            *slot += 1;
            copy_entry(&mut self.local[at * stride..(at + 1) * stride], entry);
            self.local_from[at] = from;
        }
        self.local_bounds.rotate_right(1);
        self.local_bounds[0] = 0;
    }

    /// Calls `pair(solver, a, b)` with the positions in `local` of every pair
    /// of entries with equal keys; stops when it returns false.
    fn for_each_pair(&mut self, stride: usize, mut pair: impl FnMut(&Self, usize, usize) -> bool) {
        let parts = self.bounds.len() - 1;
        for part in 0..parts {
            let range = self.bounds[part] as usize..self.bounds[part + 1] as usize;
            if range.len() < 2 {
                continue;
            }
            self.sort_partition(range, stride);
            for g in 0..self.local_bounds.len() - 1 {
                let group = self.local_bounds[g] as usize..self.local_bounds[g + 1] as usize;
                for a in group.clone() {
                    for b in a + 1..group.end {
                        if !pair(self, a, b) {
                            return;
                        }
                    }
                }
            }
        }
    }

    /// One collision round: XORs every pair of equal keys into `next` (laid
    /// out as `to`) and records the pairs.
    fn collide(&mut self, round: u32, from: Layout, to: Layout) {
        let done_bits = round * self.params.collision_bits() - 8 * to.offset as u32;
        let cap = MAX_GROWTH * self.params.list_size() as usize;
        let skip = to.offset - from.offset;
        let mut next = std::mem::take(&mut self.next);
        let mut parents = std::mem::take(&mut self.parents[round as usize - 1]);
        next.clear();
        parents.clear();
        // Entries are at most 64 bytes; the output window may start up to
        // `skip` bytes in and reach 7 bytes past the entry: 128 is enough.
        let mut xor = [0u8; 128];
        let words = from.stride / 8;
        self.for_each_pair(from.stride, |solver, a, b| {
            let ea = &solver.local[a * from.stride..(a + 1) * from.stride];
            let eb = &solver.local[b * from.stride..(b + 1) * from.stride];
            for (x, (u, v)) in xor
                .chunks_exact_mut(8)
                .zip(ea.chunks_exact(8).zip(eb.chunks_exact(8)))
                .take(words)
            {
                let w = u64::from_ne_bytes(u.try_into().unwrap_or_default())
                    ^ u64::from_ne_bytes(v.try_into().unwrap_or_default());
                x.copy_from_slice(&w.to_ne_bytes());
            }
            // The next entry is the XOR without its consumed leading bytes;
            // bytes past the source entry are zero (padding).
            let out = &mut xor[skip..skip + to.stride];
            if is_zero_from(out, done_bits) {
                return true;
            }
            if parents.len() == cap {
                return false;
            }
            next.extend_from_slice(out);
            parents.push((solver.local_from[a], solver.local_from[b]));
            true
        });
        self.next = next;
        self.parents[round as usize - 1] = parents;
    }

    /// Pairs of the last list that also collide on the final collision bits,
    /// so that their XOR is zero on all n bits.
    fn final_pairs(&mut self, layout: Layout) -> Vec<(u32, u32)> {
        let c = self.params.collision_bits();
        let last = self.params.k() * c;
        let mut out = Vec::new();
        self.for_each_pair(layout.stride, |solver, a, b| {
            let ea = &solver.local[a * layout.stride..(a + 1) * layout.stride];
            let eb = &solver.local[b * layout.stride..(b + 1) * layout.stride];
            if layout.bits(ea, last, c) == layout.bits(eb, last, c) {
                out.push((solver.local_from[a], solver.local_from[b]));
            }
            true
        });
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
