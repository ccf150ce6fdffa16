//! The per-worker kernels: hashing the leaves into list 0, one collision round
//! over a range of buckets, and the final round that finds the candidates.
//!
//! A worker reads every sub-heap of the current list (they are shared) and
//! writes only its own sub-heap of the next list.

use std::ops::Range;

use super::geometry::Geometry;
use crate::leaf::{LeafHasher, GROUPS};
use crate::params::Params;

/// Entries kept per collision key in one bucket; more are dropped. With about
/// two entries per key, a seventeenth is astronomically rare (Tromp's cap).
const KEY_CAPACITY: usize = 16;

/// Where one worker writes the entries of list `list`.
pub(crate) struct Writer<'a> {
    heap: &'a mut [u32],
    counts: &'a mut [u32],
    cap: usize,
    bucket_words: usize,
    tree_at: usize,
    tree_words: usize,
    hash_at: usize,
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
            tree_at: g.tree_offset(list),
            tree_words: g.tree_words,
            hash_at: g.hash_offset(list),
        }
    }

    /// Files an entry in `bucket`. It is dropped when the bucket is full
    /// (counted all the same; readers clamp to the capacity).
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
        let base = bucket * self.bucket_words;
        let at = base + self.tree_at + slot * self.tree_words;
        if self.tree_words == 1 {
            if let Some(dst) = self.heap.get_mut(at) {
                *dst = tree[0];
            }
        } else if let Some(dst) = self.heap.get_mut(at..at + 2) {
            dst.copy_from_slice(&tree);
        }
        let at = base + self.hash_at + slot * WO;
        let dst = self
            .heap
            .get_mut(at..at + WO)
            .map(|d| d.as_chunks_mut::<WO>().0);
        if let Some([dst]) = dst {
            *dst = *hash;
        }
    }
}

/// The entries of list `list` as the workers wrote them.
#[derive(Clone, Copy)]
pub(crate) struct Reader<'a> {
    heaps: &'a [&'a [u32]],
    counts: &'a [Vec<u32>],
    cap: usize,
    cap_bits: u32,
    bucket_words: usize,
    hash_at: usize,
}

impl<'a> Reader<'a> {
    pub(crate) fn new(
        g: &Geometry,
        list: usize,
        heaps: &'a [&'a [u32]],
        counts: &'a [Vec<u32>],
    ) -> Self {
        Reader {
            heaps,
            counts,
            cap: g.cap,
            cap_bits: g.cap_bits,
            bucket_words: g.bucket_words(list),
            hash_at: g.hash_offset(list),
        }
    }

    /// The hashes of `bucket` in sub-heap `worker`.
    #[inline(always)]
    fn part<const W: usize>(&self, worker: usize, bucket: usize) -> &'a [[u32; W]] {
        let count = self
            .counts
            .get(worker)
            .and_then(|c| c.get(bucket))
            .map_or(0, |&c| (c as usize).min(self.cap));
        let at = bucket * self.bucket_words + self.hash_at;
        self.heaps
            .get(worker)
            .and_then(|h| h.get(at..at + count * W))
            .map_or(&[], |h| h.as_chunks::<W>().0)
    }
}

/// One bucket's entries, gathered from every sub-heap, and their pairs.
pub(crate) struct Scratch<const W: usize> {
    /// The entries (only used with several sub-heaps).
    hashes: Vec<[u32; W]>,
    /// Slot id of each entry.
    ids: Vec<u16>,
    /// Entries seen per collision key.
    counts: Vec<u8>,
    /// Positions of the entries seen per collision key.
    slots: Vec<[u16; KEY_CAPACITY]>,
    /// For each entry with earlier entries of the same key: its position,
    /// its key and how many earlier ones there are.
    active: Vec<(u16, u16, u8)>,
}

impl<const W: usize> Scratch<W> {
    pub(crate) fn new(g: &Geometry) -> Self {
        let keys = 1usize << g.rest_bits;
        Scratch {
            hashes: Vec::new(),
            ids: Vec::new(),
            counts: vec![0; keys],
            slots: vec![[0; KEY_CAPACITY]; keys],
            active: Vec::new(),
        }
    }

    /// Gathers `bucket` and calls `pair(left, right, left_id, right_id)` for
    /// every pair of entries with equal collision keys (left came first).
    #[inline(always)]
    fn pairs(
        &mut self,
        reader: &Reader<'_>,
        bucket: usize,
        rest_bits: u32,
        mut pair: impl FnMut(&[u32; W], &[u32; W], u32, u32),
    ) {
        let entries: &[[u32; W]] = if reader.heaps.len() == 1 {
            reader.part::<W>(0, bucket)
        } else {
            self.hashes.clear();
            self.ids.clear();
            for worker in 0..reader.heaps.len() {
                let part = reader.part::<W>(worker, bucket);
                let first = (worker as u32) << reader.cap_bits;
                self.hashes.extend_from_slice(part);
                self.ids
                    .extend((0..part.len() as u32).map(|s| (first | s) as u16));
            }
            &self.hashes
        };
        let several = reader.heaps.len() > 1;
        let id = |ids: &[u16], i: usize| -> u32 {
            if several {
                ids.get(i).map_or(0, |&x| u32::from(x))
            } else {
                i as u32
            }
        };
        // Pass 1: file every entry under its key; note those with partners
        // (branch-free: the note is always written, kept only if it counts).
        self.counts.fill(0);
        self.active.resize(entries.len() + 1, (0, 0, 0));
        let mut active = 0;
        for (i, hash) in entries.iter().enumerate() {
            let key = (hash[0] >> (32 - rest_bits)) as usize;
            let (Some(count), Some(slots)) = (self.counts.get_mut(key), self.slots.get_mut(key))
            else {
                continue;
            };
            let seen = *count as usize;
            if seen >= KEY_CAPACITY {
                continue;
            }
            slots[seen] = i as u16;
            *count += 1;
            if let Some(note) = self.active.get_mut(active) {
                *note = (i as u16, key as u16, seen as u8);
            }
            active += usize::from(seen > 0);
        }
        self.active.truncate(active);
        // Pass 2: every active entry with each earlier one of its key.
        for &(right, key, seen) in &self.active {
            let right = usize::from(right);
            let (Some(r), Some(slots)) = (entries.get(right), self.slots.get(usize::from(key)))
            else {
                continue;
            };
            for &left in slots.iter().take(usize::from(seen)) {
                let left = usize::from(left);
                if let Some(l) = entries.get(left) {
                    pair(l, r, id(&self.ids, left), id(&self.ids, right));
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
    let mut digests = [[0u8; 64]; GROUPS];
    for first in groups.clone().step_by(GROUPS) {
        hasher.digests(first, &mut digests);
        for (group, digest) in (first..groups.end).zip(&digests) {
            for j in 0..per {
                let index = u64::from(group) * u64::from(per) + u64::from(j);
                if index >= leaves {
                    break;
                }
                // Bits [from, end) of the digest are the leaf; bits past `end`
                // (the next leaf) are masked off the last word.
                let from = j as usize * hb * 8;
                let end = from + hb * 8;
                let bucket = u64::from(bits32(digest, from)) >> (32 - g.bucket_bits);
                let hash: [u32; W] = std::array::from_fn(|w| {
                    let start = from + g.bucket_bits as usize + 32 * w;
                    let word = bits32(digest, start);
                    match end.saturating_sub(start) {
                        0 => 0,
                        left if left < 32 => word & !(u32::MAX >> left),
                        _ => word,
                    }
                });
                writer.push(bucket as usize, [index as u32, 0], &hash);
            }
        }
    }
}

/// One collision round: the pairs of list `reader` in `buckets` with equal
/// keys, XORed and filed into the next list. `W` and `WO` are the hash words
/// of the two lists.
pub(crate) fn collide<const W: usize, const WO: usize>(
    g: &Geometry,
    reader: Reader<'_>,
    buckets: Range<usize>,
    writer: &mut Writer<'_>,
) {
    let rest = g.rest_bits;
    let digit = g.digit;
    let bucket_bits = g.bucket_bits;
    let mut scratch = Scratch::<W>::new(g);
    for bucket in buckets {
        scratch.pairs(&reader, bucket, rest, |left, right, a, b| {
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
            writer.push(next, g.tree(bucket, a, b), &out);
        });
    }
}

/// The final round: pairs of list k − 1 in `buckets` equal on all their
/// remaining bits (`W` words), as (bucket, slot, slot).
pub(crate) fn last<const W: usize>(
    g: &Geometry,
    reader: Reader<'_>,
    buckets: Range<usize>,
    found: &mut Vec<(usize, u32, u32)>,
) {
    let mut scratch = Scratch::<W>::new(g);
    for bucket in buckets {
        scratch.pairs(&reader, bucket, g.rest_bits, |left, right, a, b| {
            if left == right {
                found.push((bucket, a, b));
            }
        });
    }
}

/// 32 bits of `bytes` from bit `start` (most significant first; zero past the end).
#[inline(always)]
fn bits32(bytes: &[u8], start: usize) -> u32 {
    let first = start / 8;
    let window = match bytes.get(first..first + 8) {
        Some(b) => u64::from_be_bytes(b.try_into().unwrap_or([0; 8])),
        None => {
            let mut b = [0u8; 8];
            for (d, s) in b.iter_mut().zip(bytes.iter().skip(first)) {
                *d = *s;
            }
            u64::from_be_bytes(b)
        }
    };
    ((window << (start % 8)) >> 32) as u32
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bit_windows() {
        let bytes = [0b1011_0011, 0b0100_0000, 0xff, 0x00, 0x12];
        assert_eq!(bits32(&bytes, 0), 0b1011_0011_0100_0000_1111_1111_0000_0000);
        assert_eq!(bits32(&bytes, 4), 0b0011_0100_0000_1111_1111_0000_0000_0001);
        assert_eq!(bits32(&bytes, 24), 0x0012_0000);
        assert_eq!(bits32(&bytes, 40), 0);
    }
}
