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
//!
//! With several threads every pass is split: each worker hashes a range of
//! leaves, partitions its own segment of the list by the high key bits, then
//! handles a range of partitions — gathering partition `p` from every worker's
//! segment into its own cache-sized buffer — and writes its own segment of the
//! next list. Positions are global (segments in worker order), so the solutions
//! do not depend on the number of threads.

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

/// One worker's segment of the list: its entries, and the same entries
/// partitioned by the high key bits.
#[derive(Debug, Default)]
struct Segment {
    /// Global position in the list of this segment's first entry.
    start: usize,
    /// Collision key of each entry of the worker's list.
    keys: Vec<u32>,
    /// The worker's list partitioned by the high bits of the key.
    sorted: Vec<u8>,
    /// Keys of `sorted`.
    sorted_keys: Vec<u32>,
    /// Global position of each entry of `sorted`.
    sorted_from: Vec<u32>,
    /// Partition `j` of this segment is `bounds[j]..bounds[j + 1]`.
    bounds: Vec<u32>,
}

/// A worker's buffers for forming pairs inside one partition at a time.
#[derive(Debug, Default)]
struct Scratch {
    /// The partition's entries (from every segment), in order of the low key bits.
    local: Vec<u8>,
    /// Keys of the gathered entries, before ordering.
    local_keys: Vec<u32>,
    /// Global position of each entry of `local`.
    local_from: Vec<u32>,
    /// Bounds of the groups of equal keys in `local`.
    local_bounds: Vec<u32>,
    /// Final pairs found by this worker.
    pairs: Vec<(u32, u32)>,
}

/// An Equihash solver for one parameter set. Not `Sync`: each thread needs its own.
///
/// ```
/// use tau_pow::{verify, Params, Solver};
/// let params = Params::tiny();
/// let mut solver = Solver::new(params)?.threads(2);
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
    segments: Vec<Segment>,
    /// Each worker's segment of the current list, laid out as the round's
    /// [`Layout`] says. Once partitioned it is not read again, so the round
    /// writes the next list into the same buffer.
    lists: Vec<Vec<u8>>,
    scratch: Vec<Scratch>,
    /// `parents[r][w][i]`: the global positions in list `r` of the pair that
    /// made entry `i` of worker `w`'s segment of list `r + 1`.
    parents: Vec<Vec<Vec<(u32, u32)>>>,
    /// `starts[r][w]`: global position of worker `w`'s first entry in list `r`.
    starts: Vec<Vec<usize>>,
}

impl Solver {
    /// A single-threaded solver for `params`; [`Error::InvalidParams`] if the
    /// list would exceed 2^26 leaves.
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
            segments: vec![Segment::default()],
            lists: vec![Vec::new()],
            scratch: vec![Scratch::default()],
            parents: vec![vec![Vec::new()]; params.k() as usize - 1],
            starts: vec![vec![0]; params.k() as usize],
        })
    }

    /// Splits every run across `threads` threads (at least 1).
    pub fn threads(mut self, threads: usize) -> Self {
        let t = threads.max(1);
        self.segments.resize_with(t, Segment::default);
        self.lists.resize_with(t, Vec::new);
        self.scratch.resize_with(t, Scratch::default);
        for round in &mut self.parents {
            round.resize_with(t, Vec::new);
        }
        for starts in &mut self.starts {
            starts.resize(t, 0);
        }
        self
    }

    /// The parameters.
    pub fn params(&self) -> &Params {
        &self.params
    }

    /// Threads per run.
    pub fn thread_count(&self) -> usize {
        self.segments.len()
    }

    /// Every solution for `input ‖ nonce`, in the minimal encoding, sorted and
    /// without duplicates.
    pub fn solve(&mut self, input: &[u8], nonce: &[u8]) -> Vec<Vec<u8>> {
        let p = self.params;
        let c = p.collision_bits();
        let workers = self.segments.len();
        let leaves = p.list_size() as usize;
        let mut layout = Layout::after(&p, 0);
        let hasher = LeafHasher::new(p, input, nonce);
        for (w, (segment, list)) in self.segments.iter_mut().zip(&mut self.lists).enumerate() {
            let (from, to) = (leaves * w / workers, leaves * (w + 1) / workers);
            segment.start = from;
            list.clear();
            list.resize((to - from) * layout.stride, 0);
        }
        parallel(
            self.segments.iter().zip(self.lists.iter_mut()),
            |(segment, list)| hasher.fill(segment.start as u64, list, layout.stride),
        );

        for round in 1..=p.k() {
            self.record_starts(round - 1);
            let start_bit = (round - 1) * c;
            parallel(
                self.segments.iter_mut().zip(&self.lists),
                |(segment, list)| segment.partition(&p, list, layout, start_bit),
            );
            let parts = 1usize << c.min(PARTITION_BITS);
            let segments = &self.segments;
            if round < p.k() {
                let to = Layout::after(&p, round * c);
                let cap = MAX_GROWTH * leaves / workers;
                let work = self
                    .scratch
                    .iter_mut()
                    .zip(self.lists.iter_mut())
                    .zip(self.parents[round as usize - 1].iter_mut())
                    .enumerate();
                parallel(work, |(w, ((scratch, next), parents))| {
                    let range = parts * w / workers..parts * (w + 1) / workers;
                    collide(
                        &p, segments, range, round, layout, to, cap, scratch, next, parents,
                    );
                });
                self.restart_segments(round, to);
                layout = to;
            } else {
                let work = self.scratch.iter_mut().enumerate();
                parallel(work, |(w, scratch)| {
                    let range = parts * w / workers..parts * (w + 1) / workers;
                    final_pairs(&p, segments, range, layout, scratch)
                });
            }
        }
        let pairs: Vec<(u32, u32)> = self
            .scratch
            .iter_mut()
            .flat_map(|s| std::mem::take(&mut s.pairs))
            .collect();
        let mut solutions: Vec<Vec<u8>> = pairs
            .into_iter()
            .filter_map(|(a, b)| self.indices(a, b))
            .map(|indices| minimal::encode(&p, &indices))
            .collect();
        solutions.sort_unstable();
        solutions.dedup();
        solutions
    }

    /// Remembers where each worker's segment of list `round` starts.
    fn record_starts(&mut self, round: u32) {
        let starts = &mut self.starts[round as usize];
        for (start, segment) in starts.iter_mut().zip(&self.segments) {
            *start = segment.start;
        }
    }

    /// After a round: the segments' global starts in the new list.
    fn restart_segments(&mut self, _round: u32, layout: Layout) {
        let mut start = 0;
        for (segment, list) in self.segments.iter_mut().zip(&self.lists) {
            segment.start = start;
            start += list.len() / layout.stride;
        }
    }

    /// The 2^k leaf indices of the final pair `(a, b)` in canonical order, or
    /// `None` if an index repeats.
    fn indices(&self, a: u32, b: u32) -> Option<Vec<u32>> {
        let top = self.params.k() - 1;
        let indices = join(self.subtree(top, a)?, self.subtree(top, b)?);
        let mut sorted = indices.clone();
        sorted.sort_unstable();
        if sorted.windows(2).any(|w| w[0] == w[1]) {
            return None;
        }
        Some(indices)
    }

    /// The leaf indices under the entry at global `position` of list `round`,
    /// in canonical order.
    fn subtree(&self, round: u32, position: u32) -> Option<Vec<u32>> {
        if round == 0 {
            return Some(vec![position]);
        }
        let starts = &self.starts[round as usize];
        let w = starts
            .partition_point(|&s| s <= position as usize)
            .checked_sub(1)?;
        let local = position as usize - starts[w];
        let (a, b) = *self.parents[round as usize - 1].get(w)?.get(local)?;
        Some(join(
            self.subtree(round - 1, a)?,
            self.subtree(round - 1, b)?,
        ))
    }
}

impl Segment {
    /// Computes the `c`-bit key at absolute bit `start` of each entry and
    /// scatters the entries, with keys and global positions, into partitions
    /// by the key's high bits.
    fn partition(&mut self, params: &Params, list: &[u8], layout: Layout, start: u32) {
        let c = params.collision_bits();
        let high = c.min(PARTITION_BITS);
        let stride = layout.stride;
        let len = list.len() / stride;
        self.keys.clear();
        self.keys.extend(
            list.chunks_exact(stride)
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
        // Every slot below is written in full: only growth needs zeroing.
        self.sorted.resize(len * stride, 0);
        self.sorted_keys.resize(len, 0);
        self.sorted_from.resize(len, 0);
        // `bounds[part]` walks partition `part` forward; afterwards it holds
        // the partition's end, i.e. the start of partition `part + 1`.
        for (i, (entry, &key)) in list.chunks_exact(stride).zip(&self.keys).enumerate() {
            let part = (key >> (c - high)) as usize;
            let slot = self.bounds[part] as usize;
            self.bounds[part] += 1;
            copy_entry(&mut self.sorted[slot * stride..(slot + 1) * stride], entry);
            self.sorted_keys[slot] = key;
            self.sorted_from[slot] = (self.start + i) as u32;
        }
        // Shift back so that partition `j` is `bounds[j]..bounds[j + 1]`.
        self.bounds.rotate_right(1);
        self.bounds[0] = 0;
    }
}

impl Scratch {
    /// Gathers partition `part` from every segment into `local`, ordered by the
    /// low bits of the key, with the group bounds in `local_bounds`.
    fn gather(&mut self, params: &Params, segments: &[Segment], part: usize, stride: usize) {
        let c = params.collision_bits();
        let low = c - c.min(PARTITION_BITS);
        let mask = (1u32 << low) - 1;
        self.local_keys.clear();
        for segment in segments {
            let range = segment.bounds[part] as usize..segment.bounds[part + 1] as usize;
            self.local_keys
                .extend_from_slice(&segment.sorted_keys[range]);
        }
        let len = self.local_keys.len();
        self.local_bounds.clear();
        self.local_bounds.resize((1usize << low) + 1, 0);
        for &key in &self.local_keys {
            self.local_bounds[(key & mask) as usize + 1] += 1;
        }
        for i in 1..self.local_bounds.len() {
            self.local_bounds[i] += self.local_bounds[i - 1];
        }
        // Every slot below is written in full: only growth needs zeroing.
        self.local.resize(len * stride, 0);
        self.local_from.resize(len, 0);
        let mut keys = self.local_keys.iter();
        for segment in segments {
            let range = segment.bounds[part] as usize..segment.bounds[part + 1] as usize;
            let entries =
                segment.sorted[range.start * stride..range.end * stride].chunks_exact(stride);
            for (entry, &from) in entries.zip(&segment.sorted_from[range]) {
                let Some(&key) = keys.next() else { break };
                let slot = &mut self.local_bounds[(key & mask) as usize];
                let at = *slot as usize;
                *slot += 1;
                copy_entry(&mut self.local[at * stride..(at + 1) * stride], entry);
                self.local_from[at] = from;
            }
        }
        self.local_bounds.rotate_right(1);
        self.local_bounds[0] = 0;
    }

    /// Calls `pair(scratch, a, b)` with the positions in `local` of every pair
    /// of entries with equal keys in partitions `parts`; stops when it returns false.
    fn for_each_pair(
        &mut self,
        params: &Params,
        segments: &[Segment],
        parts: std::ops::Range<usize>,
        stride: usize,
        mut pair: impl FnMut(&Self, usize, usize) -> bool,
    ) {
        for part in parts {
            let size: u32 = segments
                .iter()
                .map(|s| s.bounds[part + 1] - s.bounds[part])
                .sum();
            if size < 2 {
                continue;
            }
            self.gather(params, segments, part, stride);
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
}

/// One collision round over partitions `parts`: XORs every pair of equal keys
/// into `next` (laid out as `to`) and records the pairs' global positions.
#[allow(clippy::too_many_arguments)]
fn collide(
    params: &Params,
    segments: &[Segment],
    parts: std::ops::Range<usize>,
    round: u32,
    from: Layout,
    to: Layout,
    cap: usize,
    scratch: &mut Scratch,
    next: &mut Vec<u8>,
    parents: &mut Vec<(u32, u32)>,
) {
    let done_bits = round * params.collision_bits() - 8 * to.offset as u32;
    let skip = to.offset - from.offset;
    next.clear();
    parents.clear();
    // Entries are at most 64 bytes; the output window may start up to
    // `skip` bytes in and reach 7 bytes past the entry: 128 is enough.
    let mut xor = [0u8; 128];
    let words = from.stride / 8;
    scratch.for_each_pair(params, segments, parts, from.stride, |s, a, b| {
        let ea = &s.local[a * from.stride..(a + 1) * from.stride];
        let eb = &s.local[b * from.stride..(b + 1) * from.stride];
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
        let out = &xor[skip..skip + to.stride];
        if is_zero_from(out, done_bits) {
            return true;
        }
        if parents.len() == cap {
            return false;
        }
        next.extend_from_slice(out);
        parents.push((s.local_from[a], s.local_from[b]));
        true
    });
}

/// Pairs of the last list in partitions `parts` that also collide on the final
/// collision bits, so that their XOR is zero on all n bits.
fn final_pairs(
    params: &Params,
    segments: &[Segment],
    parts: std::ops::Range<usize>,
    layout: Layout,
    scratch: &mut Scratch,
) {
    let c = params.collision_bits();
    let last = params.k() * c;
    let mut out = std::mem::take(&mut scratch.pairs);
    out.clear();
    scratch.for_each_pair(params, segments, parts, layout.stride, |s, a, b| {
        let ea = &s.local[a * layout.stride..(a + 1) * layout.stride];
        let eb = &s.local[b * layout.stride..(b + 1) * layout.stride];
        if layout.bits(ea, last, c) == layout.bits(eb, last, c) {
            out.push((s.local_from[a], s.local_from[b]));
        }
        true
    });
    scratch.pairs = out;
}

/// Runs `f` on every item, one thread per item (inline when there is one).
fn parallel<T: Send>(items: impl Iterator<Item = T>, f: impl Fn(T) + Sync) {
    let items: Vec<T> = items.collect();
    if items.len() <= 1 {
        items.into_iter().for_each(f);
        return;
    }
    std::thread::scope(|scope| {
        let f = &f;
        for item in items {
            scope.spawn(move || f(item));
        }
    });
}

/// Two sibling subtrees in canonical order: the one with the smaller first
/// index goes left (the verifier's ordering rule).
fn join(mut left: Vec<u32>, mut right: Vec<u32>) -> Vec<u32> {
    if left.first() > right.first() {
        std::mem::swap(&mut left, &mut right);
    }
    left.extend_from_slice(&right);
    left
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
