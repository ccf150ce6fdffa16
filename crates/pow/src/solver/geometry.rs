//! Where every entry of every list lives: buckets, slots, tree words and hash
//! words, derived from `(n, k)` and the thread count.
//!
//! List `r` (r = 0 … k − 1) holds the entries after r collisions. An entry is
//! filed in a bucket by the first `bucket_bits` of its next collision digit;
//! the remaining `rest_bits` of the digit are the key it collides on inside
//! the bucket. A slot holds the entry's *tree* (list 0: the leaf index; later
//! lists: where its pair sits in the previous list) beside its hash bits after
//! the bucket bits, left-aligned in 32-bit words — one cache line being
//! filled per bucket while a round writes (BENCHMARKS.md, "bucket-writes").
//!
//! Two heaps alternate: list `r` is in heap `r % 2`. Each worker owns one
//! sub-heap per parity and files its entries only there. When a round reads a
//! bucket it sorts the bucket by key and writes the entries' trees back, in
//! sorted order, at the front of the bucket: a pair is then named by its
//! bucket, the sorted position of its first entry and the distance to the
//! second (under 16). Lists `p, p + 2, …` keep their sorted trees one after
//! another while the slots behind them shrink with the hashes, so every tree
//! stays until the end (after Tromp's and xenoncat's layout).

use crate::params::Params;

/// Most bucket bits: 2^10 buckets keep the lines being filled within cache.
const MAX_BUCKET_BITS: u32 = 10;

/// Entries of one key paired in a bucket; a pair's distance fits 4 bits.
pub(crate) const GROUP: usize = 16;

/// The layout of all lists of one solver.
#[derive(Clone, Debug)]
pub(crate) struct Geometry {
    /// Collision bits per round, n / (k + 1).
    pub(crate) digit: u32,
    /// Bits of the collision digit that choose the bucket.
    pub(crate) bucket_bits: u32,
    /// Bits of the collision digit compared inside a bucket.
    pub(crate) rest_bits: u32,
    /// Buckets per list, 2^bucket_bits.
    pub(crate) buckets: usize,
    /// Slots of one bucket of one worker's sub-heap.
    pub(crate) cap: usize,
    /// Bits of a sorted position in a whole bucket (every sub-heap).
    pub(crate) pos_bits: u32,
    /// 32-bit words of one tree: 1 if bucket, position and distance fit, else 2.
    pub(crate) tree_words: usize,
    /// Hash words of an entry of list `r`.
    pub(crate) words: Vec<usize>,
    /// Words per slot of heap 0 and heap 1 (sorted trees and live slot).
    pub(crate) slot_words: [usize; 2],
}

impl Geometry {
    /// The layout for `params` with `threads` workers (each owns a sub-heap).
    pub(crate) fn new(params: &Params, threads: usize) -> Self {
        let n = params.n();
        let digit = params.collision_bits();
        let bucket_bits = digit.saturating_sub(8).min(MAX_BUCKET_BITS);
        let rest_bits = digit - bucket_bits;
        let buckets = 1usize << bucket_bits;
        let threads = threads.max(1);
        // Entries per bucket: the lists stay near 2^(digit + 1). Each worker
        // handles an equal share of the buckets, so it files about 1/threads
        // of every bucket; room for 2/7 more than that (Tromp's 9/14 ·
        // 2^(rest + 2)) and at least six standard deviations. With fewer than
        // 16 buckets (tiny parameters) the shares are uneven, and short
        // hashes make the later lists grow (list 4 of (48, 5) reaches 2.4× the
        // leaves): every worker gets room for eight times the whole mean.
        let mean = 1usize << (rest_bits + 1);
        let cap = if bucket_bits < 4 {
            8 * mean
        } else {
            let share = (mean / threads).max(1);
            share + (share * 2).div_ceil(7).max(6 * share.isqrt() + 1)
        };
        let pos_bits = usize::BITS - (threads * cap - 1).leading_zeros();
        let tree_words = if bucket_bits + pos_bits + 4 <= 32 {
            1
        } else {
            2
        };
        let k = params.k() as usize;
        let words: Vec<usize> = (0..k as u32)
            .map(|r| (n - r * digit - bucket_bits).div_ceil(32) as usize)
            .collect();
        let mut slot_words = [0usize; 2];
        for (r, &w) in words.iter().enumerate() {
            let need = (r / 2) * tree_words + tree_words + w;
            slot_words[r % 2] = slot_words[r % 2].max(need);
        }
        Geometry {
            digit,
            bucket_bits,
            rest_bits,
            buckets,
            cap,
            pos_bits,
            tree_words,
            words,
            slot_words,
        }
    }

    /// Words of one bucket of a sub-heap of parity `list % 2`.
    pub(crate) fn bucket_words(&self, list: usize) -> usize {
        self.cap * self.slot_words[list % 2]
    }

    /// Words of one sub-heap of parity `parity`.
    pub(crate) fn heap_words(&self, parity: usize) -> usize {
        self.buckets * self.cap * self.slot_words[parity]
    }

    /// Offset inside a bucket of the sorted trees of list `list`, and of its
    /// live slots (which the sorted trees overwrite once read).
    pub(crate) fn trees_at(&self, list: usize) -> usize {
        (list / 2) * self.cap * self.tree_words
    }

    /// Words of a live slot of list `list`: tree then hash.
    pub(crate) fn slot_len(&self, list: usize) -> usize {
        self.tree_words + self.words.get(list).copied().unwrap_or(0)
    }

    /// Encodes the tree of a pair: sorted positions `a` and `a + distance`
    /// (`distance` < 16) of `bucket` in the previous list.
    pub(crate) fn tree(&self, bucket: usize, a: u32, distance: u32) -> [u32; 2] {
        if self.tree_words == 1 {
            [(((bucket as u32) << self.pos_bits | a) << 4) | distance, 0]
        } else {
            [bucket as u32, (a << 4) | distance]
        }
    }

    /// Decodes a tree: (bucket, position a, position b).
    pub(crate) fn children(&self, tree: [u32; 2]) -> (usize, u32, u32) {
        let (bucket, low) = if self.tree_words == 1 {
            let word = tree[0];
            (
                (u64::from(word) >> (4 + self.pos_bits)) as usize,
                word & ((1u32 << (4 + self.pos_bits)) - 1),
            )
        } else {
            (tree[0] as usize, tree[1])
        };
        let a = low >> 4;
        (bucket, a, a + (low & 0xf))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zcash_layout_matches_tromps_memory() {
        let g = Geometry::new(&Params::zcash(), 1);
        assert_eq!((g.bucket_bits, g.rest_bits, g.buckets), (10, 10, 1024));
        assert_eq!(g.cap, 2634);
        assert_eq!(g.tree_words, 1);
        assert_eq!(g.words, vec![6, 6, 5, 5, 4, 3, 3, 2, 1]);
        assert_eq!(g.slot_words, [7, 7]);
        let bytes = 4 * (g.heap_words(0) + g.heap_words(1));
        assert!(bytes <= 150 << 20, "{bytes}");
    }

    #[test]
    fn every_accepted_list_fits_the_kernels() {
        // The sorter keeps keys as u16; the solver accepts up to 2^26 leaves.
        for n in (8..=512).step_by(8) {
            for k in 3..n {
                let Ok(params) = Params::new(n, k) else {
                    continue;
                };
                if params.index_bits() > 26 {
                    continue;
                }
                let g = Geometry::new(&params, 1);
                assert!(g.rest_bits <= 16, "({n}, {k})");
                // The kernels are compiled for 1 to 16 hash words, and a
                // round drops at most one word.
                assert!(g.words.iter().all(|w| (1..=16).contains(w)), "({n}, {k})");
                assert!(g.words.windows(2).all(|p| p[0] - p[1] <= 1), "({n}, {k})");
                assert!(g.slot_words[0] > 0 && g.slot_words[1] > 0, "({n}, {k})");
            }
        }
    }

    #[test]
    fn trees_round_trip() {
        for (params, threads) in [
            (Params::zcash(), 1),
            (Params::zcash(), 2),
            (Params::zcash(), 7),
            (Params::new(144, 5).unwrap(), 1),
            (Params::tiny(), 3),
            (Params::devnet(), 64),
        ] {
            let g = Geometry::new(&params, threads);
            let top = (threads * g.cap - 1) as u32;
            for (bucket, a, d) in [(0, 0, 0), (g.buckets - 1, top - 15, 15), (1, 2, 7)] {
                assert_eq!(g.children(g.tree(bucket, a, d)), (bucket, a, a + d));
            }
            for r in 0..params.k() as usize {
                let end = g.trees_at(r) + g.cap * g.slot_len(r);
                assert!(end <= g.bucket_words(r), "{params:?} list {r}");
            }
        }
    }
}
