//! Where every entry of every list lives: buckets, slots, tree words and hash
//! words, derived from `(n, k)` and the thread count.
//!
//! List `r` (r = 0 … k − 1) holds the entries after r collisions. An entry is
//! filed in a bucket by the first `bucket_bits` of its next collision digit;
//! the remaining `rest_bits` of the digit are the key it collides on inside
//! the bucket. What is stored of an entry is its *tree* (list 0: the leaf
//! index; later lists: the bucket and the two slots of the pair that made it)
//! and its hash bits after the bucket bits, left-aligned in 32-bit words.
//!
//! Two heaps alternate: list `r` is in heap `r % 2`. Each worker owns one
//! sub-heap per parity and writes only there, so no slot is ever shared
//! between threads. A bucket of a sub-heap is `cap` slots; inside it the tree
//! regions of lists `p, p + 2, …` come first, then the hash region of the
//! current list. Hashes shrink as lists advance, so a later list's tree region
//! takes the place of an earlier list's consumed hashes and every tree stays
//! until the end (Tromp's and xenoncat's layout).

use crate::params::Params;

/// Bits of the in-bucket collision key: 2^8 keys, about two entries each.
const MAX_REST_BITS: u32 = 8;

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
    /// Bits of a slot number inside a sub-heap bucket.
    pub(crate) cap_bits: u32,
    /// Bits of a slot id across sub-heaps: worker in the high bits.
    pub(crate) slot_bits: u32,
    /// 32-bit words of one tree: 1 if bucket and two slot ids fit, else 2.
    pub(crate) tree_words: usize,
    /// Hash words of an entry of list `r`.
    pub(crate) words: Vec<usize>,
    /// Words of one slot in heap 0 and heap 1.
    pub(crate) slot_words: [usize; 2],
}

impl Geometry {
    /// The layout for `params` with `threads` workers (each owns a sub-heap).
    pub(crate) fn new(params: &Params, threads: usize) -> Self {
        let n = params.n();
        let digit = params.collision_bits();
        let rest_bits = digit.min(MAX_REST_BITS);
        let bucket_bits = digit - rest_bits;
        let buckets = 1usize << bucket_bits;
        let threads = threads.max(1);
        // Entries per bucket: the lists stay near 2^(digit + 1). Each worker
        // handles an equal share of the buckets, so it files about 1/threads
        // of every bucket; room for 2/7 more than that (Tromp's 9/14 ·
        // 2^(rest + 2)) and at least six standard deviations. With fewer than
        // 16 buckets (tiny parameters) the shares are uneven and a list varies
        // as a whole: every worker gets room for twice the whole mean.
        let mean = 1usize << (rest_bits + 1);
        let cap = if bucket_bits < 4 {
            2 * mean
        } else {
            let share = (mean / threads).max(1);
            share + (share * 2).div_ceil(7).max(6 * share.isqrt() + 1)
        };
        let cap_bits = bits_for(cap);
        let worker_bits = usize::BITS - (threads - 1).leading_zeros();
        let slot_bits = cap_bits + worker_bits;
        let tree_words = if bucket_bits + 2 * slot_bits <= 32 {
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
            let need = (r / 2 + 1) * tree_words + w;
            slot_words[r % 2] = slot_words[r % 2].max(need);
        }
        Geometry {
            digit,
            bucket_bits,
            rest_bits,
            buckets,
            cap,
            cap_bits,
            slot_bits,
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

    /// Offset inside a bucket of the tree region of list `list`.
    pub(crate) fn tree_offset(&self, list: usize) -> usize {
        (list / 2) * self.cap * self.tree_words
    }

    /// Offset inside a bucket of the hash region of list `list`.
    pub(crate) fn hash_offset(&self, list: usize) -> usize {
        (list / 2 + 1) * self.cap * self.tree_words
    }

    /// Encodes the tree of an entry made from slots `a` and `b` of `bucket`.
    pub(crate) fn tree(&self, bucket: usize, a: u32, b: u32) -> [u32; 2] {
        if self.tree_words == 1 {
            let word = (((bucket as u32) << self.slot_bits | a) << self.slot_bits) | b;
            [word, 0]
        } else {
            [bucket as u32, (a << 16) | b]
        }
    }

    /// Decodes a tree: (bucket, slot a, slot b).
    pub(crate) fn children(&self, tree: [u32; 2]) -> (usize, u32, u32) {
        if self.tree_words == 1 {
            let mask = (1u32 << self.slot_bits) - 1;
            let word = tree[0];
            let bucket = (u64::from(word) >> (2 * self.slot_bits)) as usize;
            (bucket, (word >> self.slot_bits) & mask, word & mask)
        } else {
            (tree[0] as usize, tree[1] >> 16, tree[1] & 0xffff)
        }
    }
}

/// Bits needed to write every number below `count` (at least 1).
fn bits_for(count: usize) -> u32 {
    (usize::BITS - count.saturating_sub(1).leading_zeros()).max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zcash_layout_matches_tromps_memory() {
        let g = Geometry::new(&Params::zcash(), 1);
        assert_eq!((g.bucket_bits, g.rest_bits, g.buckets), (12, 8, 4096));
        assert_eq!(g.cap, 659);
        assert_eq!(g.tree_words, 1);
        assert_eq!(g.words, vec![6, 6, 5, 4, 4, 3, 3, 2, 1]);
        assert_eq!(g.slot_words, [7, 7]);
        let bytes = 4 * (g.heap_words(0) + g.heap_words(1));
        assert!(bytes <= 150 << 20, "{bytes}");
    }

    #[test]
    fn slot_ids_fit_sixteen_bits() {
        // The kernels keep slot ids and in-bucket positions as u16.
        for params in [Params::zcash(), Params::devnet(), Params::tiny()] {
            for threads in 1..=64 {
                let g = Geometry::new(&params, threads);
                assert!(g.slot_bits <= 16, "{params:?} {threads}");
                assert!(threads * g.cap <= 1 << 16, "{params:?} {threads}");
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
        ] {
            let g = Geometry::new(&params, threads);
            let top = ((threads - 1) << g.cap_bits | (g.cap - 1)) as u32;
            for (bucket, a, b) in [(0, 0, 0), (g.buckets - 1, top, top), (1, 2, top)] {
                assert_eq!(g.children(g.tree(bucket, a, b)), (bucket, a, b));
            }
            for r in 0..params.k() as usize {
                let end = g.hash_offset(r) + g.cap * g.words[r];
                assert!(end <= g.bucket_words(r), "{params:?} list {r}");
            }
        }
    }
}
