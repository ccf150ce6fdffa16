//! Wagner's algorithm for any `(n, k)` in a bucketed layout after Tromp's.
//!
//! List 0 is the 2^(n/(k+1)+1) leaf hashes, each filed straight into a bucket
//! by the first bits of its first collision digit ([`geometry`] says where).
//! Each of the k − 1 rounds then walks the buckets of the current list: it
//! sorts a bucket by the rest of the digit, writes the bucket's trees back in
//! sorted order, and pairs the entries of each key (the first 16); each
//! pair's XOR — shifted past the digit just consumed — is written straight
//! into its bucket of the next list beside a tree naming the pair (bucket,
//! sorted position, distance). Pairs equal on all remaining bits are dropped:
//! they can only lead to repeated indices. The last round keeps the pairs that
//! are equal on everything that is left (it sorts each bucket aside and names
//! a pair by the entries' raw slots, leaving the list as filed); their trees are unfolded into 2^k
//! leaf indices in canonical order (at every node the subtree with the smaller
//! first index goes left), those with a repeated index are discarded, and the
//! rest are returned sorted and deduplicated in the minimal encoding. The
//! heaps are allocated by the first run and reused by the following ones.
//!
//! With several threads each worker hashes a range of leaves and reads a
//! range of buckets, writing the next list only into its own sub-heaps.
//! Which bucket an entry lands in never depends on the thread count, so
//! neither does the set of solutions — unless a bucket overflows its slots,
//! which the capacities (six standard deviations above the mean and more)
//! make vanishingly rare.

/// Runs `$body` with the constant `$W` bound to `$words`, the hash words of a
/// list: 1 to 16, since n ≤ 512 (the geometry tests check every accepted
/// `(n, k)`); the kernels are compiled for each count.
macro_rules! with_words {
    ($words:expr, $W:ident => $body:expr) => {
        with_words!(@arms $words, $W, $body, 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16)
    };
    (@arms $words:expr, $W:ident, $body:expr, $($n:literal)*) => {
        match $words {
            $($n => {
                const $W: usize = $n;
                $body
            })*
            _ => {}
        }
    };
}

mod geometry;
mod round;

use std::ops::Range;
use std::time::{Duration, Instant};

use crate::leaf::LeafHasher;
use crate::minimal;
use crate::params::Params;
use crate::{Error, Result};

use geometry::Geometry;
use round::{Bucket, Writer};
use tau_mem::HugeBuffer;

/// Largest list the solver accepts (2^26 leaves): memory is proportional to it.
const MAX_LIST_BITS: u32 = 26;

/// Most threads one run is split across.
const MAX_THREADS: usize = 64;

/// An Equihash solver for one parameter set, owning its heaps (allocated by
/// the first run, reused after). `solve` takes `&mut self`: split one run
/// across threads with [`Solver::threads`], or give each thread its own solver.
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
    threads: usize,
    geometry: Geometry,
    /// `heaps[parity][worker]`: the worker's sub-heap of the lists of that
    /// parity (empty until the first run).
    heaps: [Vec<HugeBuffer<u32>>; 2],
    /// `counts[parity][worker][bucket]`: entries the worker filed in the
    /// bucket for the current list of that parity.
    counts: [Vec<Vec<u32>>; 2],
    /// Where the last run spent its time.
    phases: Phases,
}

/// Wall-clock time of each phase of the last [`Solver::solve`] run, for
/// benchmarking the solver itself.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Phases {
    /// Hashing the leaves and filing them into list 0 (the first run also
    /// pays for faulting in the heaps).
    pub leaves: Duration,
    /// Each collision round, list `r` into list `r + 1`.
    pub rounds: Vec<Duration>,
    /// The final round, unfolding the candidates and encoding the solutions.
    pub last: Duration,
    /// Entries dropped because their bucket was full, over all lists. Zero
    /// in practice; otherwise the run may have missed a solution.
    pub dropped: u64,
    /// Each worker's time in its own share of every phase, summed over the
    /// run: the phase total minus this is what the worker spent waiting for
    /// the others (or for a core) at the end of each phase.
    pub busy: Vec<Duration>,
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
            threads: 1,
            geometry: Geometry::new(&params, 1),
            heaps: [Vec::new(), Vec::new()],
            counts: [Vec::new(), Vec::new()],
            phases: Phases::default(),
        })
    }

    /// Splits every run across `threads` threads (1 to 64).
    pub fn threads(mut self, threads: usize) -> Self {
        self.threads = threads.clamp(1, MAX_THREADS);
        self.geometry = Geometry::new(&self.params, self.threads);
        self.heaps = [Vec::new(), Vec::new()];
        self.counts = [Vec::new(), Vec::new()];
        self
    }

    /// The parameters.
    pub fn params(&self) -> &Params {
        &self.params
    }

    /// Threads per run.
    pub fn thread_count(&self) -> usize {
        self.threads
    }

    /// Bytes of the heaps a run uses (allocated by the first run).
    pub fn memory_bytes(&self) -> usize {
        let g = &self.geometry;
        4 * self.threads * (g.heap_words(0) + g.heap_words(1) + 2 * g.buckets)
    }

    /// Where the last run spent its time (all zero before the first run).
    pub fn phases(&self) -> &Phases {
        &self.phases
    }

    /// Every solution for `input ‖ nonce`, in the minimal encoding, sorted and
    /// without duplicates.
    pub fn solve(&mut self, input: &[u8], nonce: &[u8]) -> Vec<Vec<u8>> {
        let mut clock = Instant::now();
        let mut phases = Phases {
            busy: vec![Duration::ZERO; self.threads],
            ..Phases::default()
        };
        self.allocate();
        let p = self.params;
        let g = &self.geometry;
        let t = self.threads;
        let k = p.k() as usize;
        let hasher = LeafHasher::new(p, input, nonce);
        let groups = p.list_size().div_ceil(u64::from(p.hashes_per_digest())) as usize;

        let [heaps0, heaps1] = &mut self.heaps;
        let [counts0, counts1] = &mut self.counts;
        let work = heaps0.iter_mut().zip(counts0.iter_mut()).enumerate();
        let busy = parallel(work, |(w, (heap, counts))| {
            let range = share(groups, w, t);
            let mut writer = Writer::new(g, 0, heap.as_mut_slice(), counts);
            let groups = range.start as u32..range.end as u32;
            with_words!(g.words[0], W => round::leaves::<W>(&p, g, &hasher, groups, &mut writer));
        });
        add(&mut phases.busy, &busy);
        phases.leaves = lap(&mut clock);
        phases.dropped += overflow(&counts0[..], g.cap);

        for list in 0..k - 1 {
            let (read, write, read_counts, write_counts) = if list.is_multiple_of(2) {
                (&mut *heaps0, &mut *heaps1, &*counts0, &mut *counts1)
            } else {
                (&mut *heaps1, &mut *heaps0, &*counts1, &mut *counts0)
            };
            let counts: Vec<&[u32]> = read_counts.iter().map(Vec::as_slice).collect();
            let shares = buckets_by_worker(g, list, read, t);
            let (w_in, w_out) = (g.words[list], g.words[list + 1]);
            let work = shares
                .into_iter()
                .zip(write.iter_mut().zip(write_counts.iter_mut()));
            let counts = &counts;
            let busy = parallel(work, |(mut mine, (heap, next_counts))| {
                let mut writer = Writer::new(g, list + 1, heap.as_mut_slice(), next_counts);
                collide_dispatch(w_in, w_out, g, list, &mut mine, counts, &mut writer);
            });
            add(&mut phases.busy, &busy);
            phases.rounds.push(lap(&mut clock));
            phases.dropped += overflow(write_counts, g.cap);
        }
        let last = k - 1;
        let (heaps, counts) = if last.is_multiple_of(2) {
            (&mut *heaps0, &*counts0)
        } else {
            (&mut *heaps1, &*counts1)
        };
        let counts: Vec<&[u32]> = counts.iter().map(Vec::as_slice).collect();
        let shares = buckets_by_worker(g, last, heaps, t);
        let mut found: Vec<Vec<(usize, u32, u32)>> = vec![Vec::new(); t];
        let counts = &counts;
        let busy = parallel(
            shares.into_iter().zip(found.iter_mut()),
            |(mut mine, found)| {
                with_words!(g.words[last], W => round::last::<W>(g, last, &mut mine, counts, found));
            },
        );

        // Each worker unfolds the candidates it found.
        let mut encoded: Vec<Vec<Vec<u8>>> = vec![Vec::new(); t];
        let this = &*self;
        add(&mut phases.busy, &busy);
        let busy = parallel(found.iter().zip(encoded.iter_mut()), |(found, out)| {
            out.extend(
                found
                    .iter()
                    .filter_map(|&(bucket, a, b)| this.indices(bucket, a, b))
                    .map(|indices| minimal::encode(&p, &indices)),
            );
        });
        add(&mut phases.busy, &busy);
        let mut solutions: Vec<Vec<u8>> = encoded.into_iter().flatten().collect();
        solutions.sort_unstable();
        solutions.dedup();
        phases.last = lap(&mut clock);
        self.phases = phases;
        solutions
    }

    /// Allocates the heaps on the first run (zeroed lazily by the OS).
    fn allocate(&mut self) {
        let g = &self.geometry;
        for parity in 0..2 {
            if self.heaps[parity].len() != self.threads {
                self.heaps[parity] = (0..self.threads)
                    .map(|_| HugeBuffer::zeroed(g.heap_words(parity)))
                    .collect();
                self.counts[parity] = vec![vec![0u32; g.buckets]; self.threads];
            }
        }
    }

    /// The 2^k leaf indices of the final pair at raw places `a`, `b` of
    /// `bucket` (the last list is never sorted in place) in canonical order,
    /// or `None` if an index repeats.
    fn indices(&self, bucket: usize, a: u32, b: u32) -> Option<Vec<u32>> {
        let top = self.params.k() as usize - 1;
        let half = 1usize << top;
        let mut indices = vec![0u32; 2 * half];
        let (left, right) = indices.split_at_mut(half);
        self.unfold(top, self.raw_tree(top, bucket, a)?, left)?;
        self.unfold(top, self.raw_tree(top, bucket, b)?, right)?;
        canonical(&mut indices)?;
        let mut sorted = indices.clone();
        sorted.sort_unstable();
        if sorted.windows(2).any(|w| w[0] == w[1]) {
            return None;
        }
        Some(indices)
    }

    /// Writes the 2^list leaf indices under slot `slot` of `bucket` in list
    /// `list` into `out`, in canonical order; `None` on a repeated index
    /// found on the way or a tree that points nowhere.
    fn subtree(&self, list: usize, bucket: usize, slot: u32, out: &mut [u32]) -> Option<()> {
        let tree = self.tree(list, bucket, slot)?;
        self.unfold(list, tree, out)
    }

    /// Writes the 2^list leaf indices under `tree`, an entry of list `list`,
    /// into `out`, in canonical order (as [`Solver::subtree`]).
    fn unfold(&self, list: usize, tree: [u32; 2], out: &mut [u32]) -> Option<()> {
        if list == 0 {
            *out.first_mut()? = tree[0];
            return Some(());
        }
        let (below, a, b) = self.geometry.children(tree);
        let (left, right) = out.split_at_mut(out.len() / 2);
        self.subtree(list - 1, below, a, left)?;
        self.subtree(list - 1, below, b, right)?;
        canonical(out)
    }

    /// The tree in the live slot at raw place `place` (`u · cap + s`: slot
    /// `s` of sub-heap `u`) of `bucket` in list `list`, one not sorted in place.
    fn raw_tree(&self, list: usize, bucket: usize, place: u32) -> Option<[u32; 2]> {
        let g = &self.geometry;
        let place = place as usize;
        let heap = self.heaps[list % 2].get(place / g.cap)?.as_slice();
        let at =
            bucket * g.bucket_words(list) + g.trees_at(list) + (place % g.cap) * g.slot_len(list);
        let words = heap.get(at..at + g.tree_words)?;
        Some([words[0], words.get(1).copied().unwrap_or(0)])
    }

    /// The tree of sorted position `pos` of `bucket` in list `list`.
    fn tree(&self, list: usize, bucket: usize, pos: u32) -> Option<[u32; 2]> {
        let g = &self.geometry;
        let pos = pos as usize;
        let heap = self.heaps[list % 2].get(pos / g.cap)?.as_slice();
        let at = bucket * g.bucket_words(list) + g.trees_at(list) + (pos % g.cap) * g.tree_words;
        let words = heap.get(at..at + g.tree_words)?;
        Some([words[0], words.get(1).copied().unwrap_or(0)])
    }
}

/// The buckets of list `list` in every sub-heap of `heaps`, split into `t`
/// equal ranges, one per worker: a worker sorts and rewrites the buckets it reads.
fn buckets_by_worker<'a>(
    g: &Geometry,
    list: usize,
    heaps: &'a mut [HugeBuffer<u32>],
    t: usize,
) -> Vec<Vec<Bucket<'a>>> {
    let bucket_words = g.bucket_words(list);
    let mut buckets: Vec<Bucket<'a>> = (0..g.buckets)
        .map(|index| Bucket {
            index,
            parts: Vec::with_capacity(heaps.len()),
        })
        .collect();
    for heap in heaps.iter_mut() {
        for (bucket, part) in buckets
            .iter_mut()
            .zip(heap.as_mut_slice().chunks_mut(bucket_words))
        {
            bucket.parts.push(part);
        }
    }
    let mut shares = Vec::with_capacity(t);
    let mut rest = buckets.into_iter();
    for w in 0..t {
        shares.push(rest.by_ref().take(share(g.buckets, w, t).len()).collect());
    }
    shares
}

/// Runs the collision kernel for `w_in` input and `w_out` output hash words
/// (`w_out` is `w_in` or `w_in − 1`: a round consumes fewer than 32 bits).
fn collide_dispatch(
    w_in: usize,
    w_out: usize,
    g: &Geometry,
    list: usize,
    buckets: &mut [Bucket<'_>],
    counts: &[&[u32]],
    writer: &mut Writer<'_>,
) {
    with_words!(w_in, W => {
        if w_out == W {
            round::collide::<W, W>(g, list, buckets, counts, writer)
        } else {
            round::collide::<W, { W - 1 }>(g, list, buckets, counts, writer)
        }
    });
}

/// Entries counted beyond the capacity of their bucket.
fn overflow(counts: &[Vec<u32>], cap: usize) -> u64 {
    counts
        .iter()
        .flatten()
        .map(|&c| u64::from(c).saturating_sub(cap as u64))
        .sum()
}

/// Time since `clock`, which restarts.
fn lap(clock: &mut Instant) -> Duration {
    let now = Instant::now();
    let elapsed = now - *clock;
    *clock = now;
    elapsed
}

/// Worker `w`'s share of `0..total` when split `t` ways.
fn share(total: usize, w: usize, t: usize) -> Range<usize> {
    total * w / t..total * (w + 1) / t
}

/// Runs `f` on every item, one thread per item (inline when there is one),
/// and returns the time each item took.
fn parallel<T: Send>(items: impl Iterator<Item = T>, f: impl Fn(T) + Sync) -> Vec<Duration> {
    let timed = |item: T| {
        let start = Instant::now();
        f(item);
        start.elapsed()
    };
    let items: Vec<T> = items.collect();
    if items.len() <= 1 {
        return items.into_iter().map(timed).collect();
    }
    std::thread::scope(|scope| {
        let timed = &timed;
        let handles: Vec<_> = items
            .into_iter()
            .map(|item| scope.spawn(move || timed(item)))
            .collect();
        // A worker's panic goes on to the caller, as an unjoined one would.
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or_else(|e| std::panic::resume_unwind(e)))
            .collect()
    })
}

/// Adds each worker's time `phase` to its running total in `busy`.
fn add(busy: &mut [Duration], phase: &[Duration]) {
    for (total, d) in busy.iter_mut().zip(phase) {
        *total += *d;
    }
}

/// Puts the two halves of `indices` (two sibling subtrees) in canonical
/// order: the one with the smaller first index goes left (the verifier's
/// rule). `None` if both start with the same index (a repeated index).
fn canonical(indices: &mut [u32]) -> Option<()> {
    let half = indices.len() / 2;
    let (first, second) = (*indices.first()?, *indices.get(half)?);
    if first == second {
        return None;
    }
    if first > second {
        indices.rotate_left(half);
    }
    Some(())
}
