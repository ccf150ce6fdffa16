//! Bulk insertion: many entries merged into the tree in one ordered pass.
//!
//! [`Hamt::extend`](crate::Hamt::extend) encodes every entry into one arena,
//! sorts them by key hash and merges them into the tree depth first. Sorted by
//! hash, the entries bound for one slot are contiguous at every depth, so each
//! touched node is visited once and its pointer array rebuilt once, instead of
//! one walk and one array shift per entry.

use smallvec::SmallVec;

use crate::bitfield::Bitfield;
use crate::bucket::{self, BucketBytes};
use crate::config::{Config, KeyHash};
use crate::hash_bits::{self, KeyDigest};
use crate::node::{Link, Node, Pointer};
use crate::{Error, Result};
use cid::Cid;
use tau_ipld::block::{self, DAG_CBOR};
use tau_ipld::cbor::{self, Reader};
use tau_ipld::Blockstore;

/// One entry of a sorted batch: the first 64 bits of its key hash, and the
/// offset and length of its record in the arena. Sixteen bytes, so sorting
/// moves little memory.
pub(crate) type Entry = (u64, u32, u32);

/// Entries and their bytes; after [`finish`](Batch::finish), sorted by key
/// hash with one entry per key.
///
/// Each record in the arena is the entry exactly as a bucket holds it,
/// `[key, value]` in DAG-CBOR, so building a bucket copies records verbatim.
pub(crate) struct Batch {
    key_hash: KeyHash,
    arena: Vec<u8>,
    entries: Vec<Entry>,
}

/// The first 64 bits of a key hash, as a number ordered like the hash.
fn prefix(hash: &KeyDigest) -> u64 {
    let mut first = [0u8; 8];
    first.copy_from_slice(&hash[..8]);
    u64::from_be_bytes(first)
}

impl Batch {
    /// A batch with room for about `entries` entries.
    pub(crate) fn with_capacity(key_hash: KeyHash, entries: usize) -> Self {
        Batch {
            key_hash,
            arena: Vec::with_capacity(entries.saturating_mul(16)),
            entries: Vec::with_capacity(entries),
        }
    }

    /// Appends an entry (a later entry for the same key replaces an earlier
    /// one). `value` is strict DAG-CBOR.
    pub(crate) fn push(&mut self, key: &[u8], value: &[u8]) -> Result<()> {
        let hash = hash_bits::digest(self.key_hash, key)?;
        let offset = u32::try_from(self.arena.len())
            .map_err(|_| Error::Encode("bulk batch exceeds 4 GiB; split it".into()))?;
        self.arena.push(0x82);
        cbor::write_bytes(&mut self.arena, key);
        self.arena.extend_from_slice(value);
        let len = u32::try_from(self.arena.len() - offset as usize)
            .map_err(|_| Error::Encode("bulk entry exceeds 4 GiB".into()))?;
        self.entries.push((prefix(&hash), offset, len));
        Ok(())
    }

    /// Sorts by (hash, key) and keeps the last entry of each key.
    pub(crate) fn finish(mut self) -> Self {
        let mut entries = std::mem::take(&mut self.entries);
        // The prefix decides almost every comparison; the full hash, the key
        // and finally the offset (so the last write of a key sorts last)
        // settle the rest.
        entries.sort_unstable_by(|a, b| {
            a.0.cmp(&b.0).then_with(|| {
                self.full_hash(a)
                    .cmp(&self.full_hash(b))
                    .then_with(|| self.key(a).cmp(self.key(b)))
                    .then(a.1.cmp(&b.1))
            })
        });
        // `dedup_by` keeps the earlier of two equal neighbours: swap so the
        // later write survives.
        entries.dedup_by(|later, earlier| {
            let same = later.0 == earlier.0 && self.key(later) == self.key(earlier);
            if same {
                std::mem::swap(later, earlier);
            }
            same
        });
        // Lay the records out in sorted order: one pass of independent loads,
        // which the CPU overlaps, so the merge then reads the arena front to
        // back instead of missing the cache once per entry.
        let mut arena = Vec::with_capacity(self.arena.len());
        for e in &mut entries {
            let offset = arena.len() as u32;
            arena.extend_from_slice(self.record_bytes(e));
            e.1 = offset;
        }
        self.arena = arena;
        self.entries = entries;
        self
    }

    /// The `[key, value]` record of `e`.
    fn record_bytes(&self, e: &Entry) -> &[u8] {
        let start = e.1 as usize;
        self.arena
            .get(start..start + e.2 as usize)
            .unwrap_or_default()
    }

    pub(crate) fn entries(&self) -> &[Entry] {
        &self.entries
    }

    /// The key of `e`.
    fn key(&self, e: &Entry) -> &[u8] {
        let mut r = Reader::new(self.record_bytes(e));
        match r.header() {
            Ok(_) => r.bytes("bulk record key").unwrap_or_default(),
            Err(_) => &[],
        }
    }

    /// The key, the whole `[key, value]` record and the value of `e`.
    fn record(&self, e: &Entry) -> Result<(&[u8], &[u8], &[u8])> {
        let mut r = Reader::new(self.record_bytes(e));
        r.header()?;
        let key = r.bytes("bulk record key")?;
        let value_start = r.position();
        r.skip_item()?;
        Ok((key, r.since(0), r.since(value_start)))
    }

    /// The whole key hash, recomputed (needed only past the prefix's 64 bits).
    fn full_hash(&self, e: &Entry) -> KeyDigest {
        // The key was hashed once already in `push`, so this cannot fail.
        hash_bits::digest(self.key_hash, self.key(e)).unwrap_or_default()
    }

    /// The slot index of `e` at `depth`.
    fn index(&self, e: &Entry, depth: u32, bw: u32) -> Result<u32> {
        let start = depth * bw;
        if start + bw <= 64 {
            Ok(((e.0 << start) >> (64 - bw)) as u32)
        } else {
            hash_bits::index(&self.full_hash(e), depth, bw)
        }
    }
}

/// Merges sorted batches into a tree. Subtrees made only of new entries are
/// encoded straight into blocks (children first) and collected in `blocks`:
/// they are never materialised as nodes, so building a large map costs one
/// encoding per node and little memory. Only the nodes on paths that already
/// existed are changed in memory (and written by the next flush).
pub(crate) struct Builder<'a, BS: ?Sized> {
    pub(crate) store: &'a BS,
    pub(crate) config: &'a Config,
    /// Blocks of the subtrees built from scratch, children before parents.
    pub(crate) blocks: Vec<(Cid, Vec<u8>)>,
}

impl<BS: Blockstore + ?Sized> Builder<'_, BS> {
    /// Sets every entry of `entries` (a sorted, key-unique run of `batch`
    /// whose hashes all lead to `node` at `depth`), keeping the shape canonical.
    ///
    /// On error the node is still a valid tree holding a subset of the batch:
    /// every slot is either fully merged or untouched.
    pub(crate) fn merge(
        &mut self,
        node: &mut Node,
        depth: u32,
        batch: &Batch,
        entries: &[Entry],
    ) -> Result<()> {
        let bw = self.config.bit_width();
        let slots = hash_bits::slots_at(depth, bw);
        let mut old = std::mem::take(&mut node.pointers).into_iter();
        let mut merged = Vec::with_capacity((old.len() + entries.len()).min(slots as usize));
        let mut rest = entries;
        let mut failure = None;
        for idx in 0..slots {
            let present = node.bitfield.test(idx);
            let group = match take_group(batch, &mut rest, depth, bw, idx) {
                Ok(group) => group,
                Err(e) => {
                    failure = Some(e);
                    break;
                }
            };
            let result = match (present, group.is_empty()) {
                (false, true) => continue,
                (true, true) => match old.next() {
                    Some(p) => Ok(p),
                    None => Err(Error::MalformedNode("bitfield and pointers disagree")),
                },
                (false, false) => self.fresh(depth + 1, batch, group),
                (true, false) => match old.next() {
                    Some(mut p) => match self.merge_pointer(&mut p, depth + 1, batch, group) {
                        Ok(()) => Ok(p),
                        Err(e) => {
                            merged.push(p);
                            failure = Some(e);
                            break;
                        }
                    },
                    None => Err(Error::MalformedNode("bitfield and pointers disagree")),
                },
            };
            match result {
                Ok(p) => {
                    node.bitfield.set(idx);
                    merged.push(p);
                }
                Err(e) => {
                    failure = Some(e);
                    break;
                }
            }
        }
        // Slots not reached keep their pointers, in order.
        merged.extend(old);
        node.pointers = merged;
        match failure {
            Some(e) => Err(e),
            None if rest.is_empty() => Ok(()),
            None => Err(Error::MalformedNode(
                "internal: bulk entries out of hash order",
            )),
        }
    }

    /// The pointer for a slot at `child_depth - 1` that holds exactly `group`.
    fn fresh(&mut self, child_depth: u32, batch: &Batch, group: &[Entry]) -> Result<Pointer> {
        if group.len() <= self.config.bucket_size() {
            Ok(Pointer::Bucket(bucket_of(batch, group)?))
        } else {
            let cid = self.encode_subtree(child_depth, batch, group)?;
            Ok(Pointer::Link(Link::new(cid)))
        }
    }

    /// Sets `group` into `pointer`. On error the pointer is unchanged or
    /// (below a link) a dirty child holding part of the group.
    fn merge_pointer(
        &mut self,
        pointer: &mut Pointer,
        child_depth: u32,
        batch: &Batch,
        group: &[Entry],
    ) -> Result<()> {
        match pointer {
            Pointer::Bucket(b) => {
                *pointer = self.merge_bucket(b, child_depth, batch, group)?;
                Ok(())
            }
            Pointer::Link(link) => {
                let mut child = link.take(self.store, self.config, child_depth)?;
                let result = self.merge(&mut child, child_depth, batch, group);
                // Even a partial merge changed the child: it is dirty now.
                *pointer = Pointer::Dirty(child);
                result
            }
            Pointer::Dirty(child) => self.merge(child, child_depth, batch, group),
        }
    }

    /// A bucket's entries plus `group` (which wins on equal keys), as a bucket or a subtree.
    fn merge_bucket(
        &mut self,
        existing: &BucketBytes,
        child_depth: u32,
        batch: &Batch,
        group: &[Entry],
    ) -> Result<Pointer> {
        let mut combined = Batch::with_capacity(
            self.config.key_hash(),
            group.len() + self.config.bucket_size(),
        );
        for e in bucket::entries(existing)? {
            let (k, v) = e?;
            if !group.iter().any(|g| batch.key(g) == k) {
                combined.push(k, v)?;
            }
        }
        for g in group {
            let (key, _, value) = batch.record(g)?;
            combined.push(key, value)?;
        }
        let combined = combined.finish();
        self.fresh(child_depth, &combined, combined.entries())
    }

    /// Encodes the canonical subtree at `depth` holding exactly `group` (more
    /// than a bucket's worth) into blocks; returns its root CID.
    fn encode_subtree(&mut self, depth: u32, batch: &Batch, group: &[Entry]) -> Result<Cid> {
        let bw = self.config.bit_width();
        let mut parts: SmallVec<[(u32, &[Entry]); 32]> = SmallVec::new();
        let mut rest = group;
        while let Some(first) = rest.first() {
            let idx = batch.index(first, depth, bw)?;
            parts.push((idx, take_group(batch, &mut rest, depth, bw, idx)?));
        }
        let mut children: SmallVec<[Option<Cid>; 32]> = SmallVec::with_capacity(parts.len());
        let mut bitfield = Bitfield::default();
        for (idx, part) in &parts {
            bitfield.set(*idx);
            children.push(if part.len() > self.config.bucket_size() {
                Some(self.encode_subtree(depth + 1, batch, part)?)
            } else {
                None
            });
        }
        let mut bytes = Vec::with_capacity(48 + 20 * group.len().min(64) + 40 * parts.len());
        bytes.push(0x82);
        let (bits, skip) = bitfield.to_be_trimmed();
        cbor::write_bytes(&mut bytes, bits.get(skip..).unwrap_or_default());
        cbor::write_header(&mut bytes, cbor::MAJOR_ARRAY, parts.len() as u64);
        for ((_, part), child) in parts.iter().zip(&children) {
            match child {
                Some(cid) => cbor::write_cid(&mut bytes, cid),
                None => write_bucket(&mut bytes, batch, part)?,
            }
        }
        let cid = block::cid_of(DAG_CBOR, &bytes);
        self.blocks.push((cid, bytes));
        Ok(cid)
    }
}

/// Splits off the leading entries of `rest` whose slot at `depth` is `idx`.
fn take_group<'a>(
    batch: &Batch,
    rest: &mut &'a [Entry],
    depth: u32,
    bw: u32,
    idx: u32,
) -> Result<&'a [Entry]> {
    let mut n = 0;
    for e in rest.iter() {
        if batch.index(e, depth, bw)? != idx {
            break;
        }
        n += 1;
    }
    let (group, tail) = rest.split_at(n);
    *rest = tail;
    Ok(group)
}

/// The records of `group` (at most a bucket's worth), sorted by key.
fn sorted_records<'a>(batch: &'a Batch, group: &[Entry]) -> Result<SmallVec<[&'a [u8]; 4]>> {
    let mut records = group
        .iter()
        .map(|e| batch.record(e))
        .collect::<Result<SmallVec<[_; 4]>>>()?;
    records.sort_unstable_by(|a, b| a.0.cmp(b.0));
    Ok(records.into_iter().map(|(_, record, _)| record).collect())
}

/// The bucket holding exactly `group`.
fn bucket_of(batch: &Batch, group: &[Entry]) -> Result<BucketBytes> {
    Ok(bucket::from_records(
        sorted_records(batch, group)?.into_iter(),
    ))
}

/// Appends the bucket holding exactly `group` to a node being encoded.
fn write_bucket(out: &mut Vec<u8>, batch: &Batch, group: &[Entry]) -> Result<()> {
    let records = sorted_records(batch, group)?;
    cbor::write_header(out, cbor::MAJOR_ARRAY, records.len() as u64);
    for record in records {
        out.extend_from_slice(record);
    }
    Ok(())
}
