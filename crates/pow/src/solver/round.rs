//! The per-worker kernels: hashing the leaves into list 0, one collision round
//! over a range of buckets, and the final round that finds the candidates.
//!
//! A worker owns the buckets it reads (in every sub-heap: it sorts them and
//! writes their trees back) and writes the next list only into its own
//! sub-heap.

use std::ops::Range;

use super::geometry::{Geometry, GROUP};
use crate::leaf::{LeafHasher, GROUPS};
use crate::params::Params;

/// Where one worker files the entries of list `list`.
pub(crate) struct Writer<'a> {
    heap: &'a mut [u32],
    counts: &'a mut [u32],
    cap: usize,
    bucket_words: usize,
    slots_at: usize,
    tree_words: usize,
}

impl<'a> Writer<'a> {
    /// A writer of list `list` into `heap` (this worker's sub-heap of the
    /// list's parity), counting entries per bucket in `counts` (reset here).
    pub(crate) fn new(
        g: &Geometry,
        list: usize,
        heap: &'a mut [u32],
        counts: &'a mut [u32],
    ) -> Self {
        counts.fill(0);
        Writer {
            heap,
            counts,
            cap: g.cap,
            bucket_words: g.bucket_words(list),
            slots_at: g.trees_at(list),
            tree_words: g.tree_words,
        }
    }

    /// Files an entry (tree beside hash) in `bucket`. It is dropped when the
    /// bucket is full (counted all the same; readers clamp to the capacity).
    #[inline(always)]
    fn push<const WO: usize>(&mut self, bucket: usize, tree: [u32; 2], hash: &[u32; WO]) {
        let Some(count) = self.counts.get_mut(bucket) else {
            return;
        };
        let slot = *count as usize;
        *count += 1;
        if slot >= self.cap {
            return;
        }
        let tw = self.tree_words;
        let at = bucket * self.bucket_words + self.slots_at + slot * (tw + WO);
        let Some(dst) = self.heap.get_mut(at..at + tw + WO) else {
            return;
        };
        let (t, h) = dst.split_at_mut(tw);
        if let Some(first) = t.first_mut() {
            *first = tree[0];
        }
        if let Some(second) = t.get_mut(1) {
            *second = tree[1];
        }
        if let ([h], _) = h.as_chunks_mut::<WO>() {
            *h = *hash;
        }
    }
}

/// One bucket of the current list in every sub-heap, owned by the worker
/// that reads it.
pub(crate) struct Bucket<'a> {
    /// Index of the bucket.
    pub(crate) index: usize,
    /// The bucket's words in each sub-heap.
    pub(crate) parts: Vec<&'a mut [u32]>,
}

/// A worker's buffers for sorting one bucket at a time.
pub(crate) struct Sorter<const W: usize> {
    /// Key of each entry, in the order read.
    keys: Vec<u16>,
    /// Start of each key's group in the sorted order (then its end).
    starts: Vec<u32>,
    /// Keys with at least two entries in the bucket.
    multi: Vec<u16>,
    /// Hashes in sorted order.
    hashes: Vec<[u32; W]>,
    /// Trees in sorted order.
    trees: Vec<[u32; 2]>,
}

impl<const W: usize> Sorter<W> {
    pub(crate) fn new(g: &Geometry) -> Self {
        Sorter {
            keys: Vec::new(),
            starts: vec![0; (1 << g.rest_bits) + 1],
            multi: Vec::new(),
            hashes: Vec::new(),
            trees: Vec::new(),
        }
    }

    /// Sorts `bucket` of list `list` by collision key (stable, sub-heap by
    /// sub-heap) and writes its trees back in sorted order, in the place of
    /// the slots just read. Afterwards key `k`'s group is
    /// `starts[k]..starts[k + 1]` of `hashes`.
    ///
    /// With `write_back` false (the last round) the bucket is left as it is
    /// and `trees[p]` holds the raw place of sorted entry `p` instead of its
    /// tree: `u · cap + s` for slot `s` of sub-heap `u`.
    fn sort(
        &mut self,
        g: &Geometry,
        list: usize,
        bucket: &mut Bucket<'_>,
        counts: &[&[u32]],
        write_back: bool,
    ) {
        let tw = g.tree_words;
        let len = g.slot_len(list);
        let at = g.trees_at(list);
        let rest = g.rest_bits;
        let size = |u: usize| {
            counts
                .get(u)
                .and_then(|c| c.get(bucket.index))
                .map_or(0, |&n| (n as usize).min(g.cap))
        };
        // Keys and group sizes.
        self.keys.clear();
        self.starts.fill(0);
        for (u, part) in bucket.parts.iter().enumerate() {
            let slots = part.get(at..at + size(u) * len).unwrap_or_default();
            for slot in slots.chunks_exact(len) {
                let key = slot.get(tw).map_or(0, |&w| w >> (32 - rest)) as usize;
                self.keys.push(key as u16);
                if let Some(s) = self.starts.get_mut(key + 1) {
                    *s += 1;
                }
            }
        }
        // Keys with at least two entries (branch-free), then prefix sums.
        self.multi.resize(self.starts.len(), 0);
        let mut m = 0;
        for (key, &n) in self.starts.iter().skip(1).enumerate() {
            if let Some(slot) = self.multi.get_mut(m) {
                *slot = key as u16;
            }
            m += usize::from(n >= 2);
        }
        self.multi.truncate(m);
        for i in 1..self.starts.len() {
            self.starts[i] += self.starts[i - 1];
        }
        // Scatter into sorted order; `starts[k]` walks group `k` forward.
        let total = self.keys.len();
        self.hashes.resize(total, [0; W]);
        self.trees.resize(total, [0; 2]);
        let mut keys = self.keys.iter();
        for (u, part) in bucket.parts.iter().enumerate() {
            let slots = part.get(at..at + size(u) * len).unwrap_or_default();
            for (s, slot) in slots.chunks_exact(len).enumerate() {
                let Some(&key) = keys.next() else { break };
                let Some(p) = self.starts.get_mut(usize::from(key)) else {
                    continue;
                };
                let pos = *p as usize;
                *p += 1;
                let (tree, hash) = slot.split_at(tw);
                if let (Some(t), Some(h)) = (self.trees.get_mut(pos), self.hashes.get_mut(pos)) {
                    if write_back {
                        t[0] = tree.first().copied().unwrap_or(0);
                        t[1] = tree.get(1).copied().unwrap_or(0);
                    } else {
                        t[0] = (u * g.cap + s) as u32;
                    }
                    if let ([src], _) = hash.as_chunks::<W>() {
                        *h = *src;
                    }
                }
            }
        }
        // Each start moved to its group's end: shift back.
        self.starts.rotate_right(1);
        if let Some(first) = self.starts.first_mut() {
            *first = 0;
        }
        if !write_back {
            return;
        }
        // Trees back, sorted: position p goes to sub-heap p / cap, slot p % cap.
        for (part, trees) in bucket.parts.iter_mut().zip(self.trees.chunks(g.cap)) {
            let Some(dst) = part.get_mut(at..at + trees.len() * tw) else {
                continue;
            };
            if tw == 1 {
                for (d, t) in dst.iter_mut().zip(trees) {
                    *d = t[0];
                }
            } else {
                for (d, t) in dst.chunks_exact_mut(2).zip(trees) {
                    d.copy_from_slice(t);
                }
            }
        }
    }

    /// Calls `pair(a, b)` for every pair of sorted positions `a < b` in the
    /// same key group (its first [`GROUP`] entries), visiting only the keys
    /// with two entries or more.
    #[inline(always)]
    fn pairs(&self, mut pair: impl FnMut(usize, usize, &[u32; W], &[u32; W])) {
        for &key in &self.multi {
            let key = usize::from(key);
            let (Some(&start), Some(&end)) = (self.starts.get(key), self.starts.get(key + 1))
            else {
                continue;
            };
            let (start, end) = (start as usize, end as usize);
            let end = end.min(start + GROUP);
            let Some(members) = self.hashes.get(start..end) else {
                continue;
            };
            for (i, left) in members.iter().enumerate() {
                for (j, right) in members.iter().enumerate().skip(i + 1) {
                    pair(start + i, start + j, left, right);
                }
            }
        }
    }
}

/// Hashes leaf groups `groups` into list 0, whose entries have `W` hash words.
pub(crate) fn leaves<const W: usize>(
    params: &Params,
    g: &Geometry,
    hasher: &LeafHasher,
    groups: Range<u32>,
    writer: &mut Writer<'_>,
) {
    let hb = params.hash_bytes();
    let per = params.hashes_per_digest();
    let leaves = params.list_size();
    let bucket_bits = g.bucket_bits as usize;
    // Bits of a leaf after its bucket bits; the last word keeps only the
    // first `tail` of its bits (the rest belong to the next leaf).
    let kept = hb * 8 - bucket_bits;
    let tail = kept - 32 * (kept.div_ceil(32) - 1);
    let tail_mask = if tail >= 32 {
        u32::MAX
    } else {
        !(u32::MAX >> tail)
    };
    let mut digests = [[0u8; 64]; GROUPS];
    // A digest with 8 zero bytes behind it: every 8-byte window is in bounds.
    let mut padded = [0u8; 72];
    for first in groups.clone().step_by(GROUPS) {
        hasher.digests(first, &mut digests);
        for (group, digest) in (first..groups.end).zip(&digests) {
            if let Some(head) = padded.get_mut(..64) {
                head.copy_from_slice(digest);
            }
            for j in 0..per {
                let index = u64::from(group) * u64::from(per) + u64::from(j);
                if index >= leaves {
                    break;
                }
                // The leaf is bits [from, from + 8·hb) of the digest.
                let from = j as usize * hb * 8;
                let bucket =
                    (window(&padded, from / 8) << (from % 8) >> 32) >> (32 - g.bucket_bits);
                let start = from + bucket_bits;
                let (byte, shift) = (start / 8, start % 8);
                let mut hash: [u32; W] =
                    std::array::from_fn(|w| (window(&padded, byte + 4 * w) << shift >> 32) as u32);
                if let Some(last) = hash.last_mut() {
                    *last &= tail_mask;
                }
                writer.push(bucket as usize, [index as u32, 0], &hash);
            }
        }
    }
}

/// The 8 bytes of `bytes` from `at`, big-endian (zero past the end).
#[inline(always)]
fn window(bytes: &[u8; 72], at: usize) -> u64 {
    match bytes.get(at..at + 8) {
        Some(b) => u64::from_be_bytes(b.try_into().unwrap_or([0; 8])),
        None => 0,
    }
}

/// One collision round over the worker's `buckets` of list `list`: sorts each
/// bucket, writes its trees back, and files the XOR of every pair with equal
/// keys into the next list. `W` and `WO` are the hash words of the two lists.
pub(crate) fn collide<const W: usize, const WO: usize>(
    g: &Geometry,
    list: usize,
    buckets: &mut [Bucket<'_>],
    counts: &[&[u32]],
    writer: &mut Writer<'_>,
) {
    let rest = g.rest_bits;
    let digit = g.digit;
    let bucket_bits = g.bucket_bits;
    let mut sorter = Sorter::<W>::new(g);
    for bucket in buckets {
        sorter.sort(g, list, bucket, counts, true);
        let index = bucket.index;
        sorter.pairs(|a, b, left, right| {
            let x: [u32; W] = std::array::from_fn(|i| left[i] ^ right[i]);
            let head = x[0] << rest;
            if head == 0 && x[1..].iter().all(|&w| w == 0) {
                // Equal on every bit: only leads to repeated indices.
                return;
            }
            let next = if bucket_bits == 0 {
                0
            } else {
                (head >> (32 - bucket_bits)) as usize
            };
            // Shift the XOR left by one digit (0 < digit < 32).
            let out: [u32; WO] = std::array::from_fn(|i| {
                (x[i] << digit) | (x.get(i + 1).copied().unwrap_or(0) >> (32 - digit))
            });
            writer.push(next, g.tree(index, a as u32, (b - a) as u32), &out);
        });
    }
}

/// The final round over the worker's `buckets` of list `list` (k − 1): sorts
/// each bucket (without writing its trees back: nothing reads them by sorted
/// position) and reports the pairs equal on all their remaining bits as
/// (bucket, raw place, raw place), a raw place being `u · cap + s` for slot
/// `s` of sub-heap `u`.
pub(crate) fn last<const W: usize>(
    g: &Geometry,
    list: usize,
    buckets: &mut [Bucket<'_>],
    counts: &[&[u32]],
    found: &mut Vec<(usize, u32, u32)>,
) {
    let mut sorter = Sorter::<W>::new(g);
    for bucket in buckets {
        sorter.sort(g, list, bucket, counts, false);
        let index = bucket.index;
        let places = &sorter.trees;
        sorter.pairs(|a, b, left, right| {
            if left == right {
                if let (Some(a), Some(b)) = (places.get(a), places.get(b)) {
                    found.push((index, a[0], b[0]));
                }
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn byte_windows() {
        let mut bytes = [0u8; 72];
        bytes[..5].copy_from_slice(&[0b1011_0011, 0b0100_0000, 0xff, 0x00, 0x12]);
        bytes[71] = 0xab;
        assert_eq!(
            window(&bytes, 0) >> 32,
            0b1011_0011_0100_0000_1111_1111_0000_0000
        );
        assert_eq!(
            window(&bytes, 0) << 4 >> 32,
            0b0011_0100_0000_1111_1111_0000_0000_0001
        );
        assert_eq!(window(&bytes, 3) >> 32, 0x0012_0000);
        assert_eq!(window(&bytes, 64), 0xab);
        assert_eq!(window(&bytes, 65), 0);
    }
}
