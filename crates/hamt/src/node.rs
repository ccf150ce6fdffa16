//! HAMT nodes: the in-memory tree, its encoding, and the canonical algorithms.
//!
//! A node is `[bitfield, pointers]`. Each pointer is a bucket (held encoded, see
//! [`crate::bucket`]), a link to a stored child (loaded on first use and cached),
//! or a dirty child changed since the last flush. Every operation leaves the tree
//! in the canonical CHAMP shape of `docs/src/formats/hamt.md` ("Canonical shape"), so the root CID is a
//! function of the contents alone.

use std::cell::OnceCell;

use cid::Cid;

use crate::bitfield::Bitfield;
use crate::bucket::{self, BucketBytes};
use crate::config::Config;
use crate::hash_bits::{self, KeyDigest};
use crate::{Error, Result};
use tau_ipld::block::{self, DAG_CBOR};
use tau_ipld::cbor::{self, Reader, MAJOR_ARRAY, MAJOR_BYTES, MAJOR_TAG, TAG_CID};
use tau_ipld::Blockstore;

/// One node of the tree.
#[derive(Debug, Default)]
pub(crate) struct Node {
    pub(crate) bitfield: Bitfield,
    pub(crate) pointers: Vec<Pointer>,
}

/// What a set slot of a node holds.
#[derive(Debug)]
pub(crate) enum Pointer {
    /// 1..=bucket_size entries, as their DAG-CBOR encoding.
    Bucket(BucketBytes),
    /// A stored child, cached once loaded.
    Link(Link),
    /// A child changed since the last flush.
    Dirty(Node),
}

/// A link to a stored child node. The cached child sits inline, so walking
/// down a level touches one pointer, not a pointer and a box.
#[derive(Debug)]
pub(crate) struct Link {
    pub(crate) cache: OnceCell<Node>,
    pub(crate) cid: Box<Cid>,
}

impl Link {
    pub(crate) fn new(cid: Cid) -> Self {
        Link {
            cid: Box::new(cid),
            cache: OnceCell::new(),
        }
    }

    /// The child, loaded from `store` on first use.
    pub(crate) fn load<BS: Blockstore + ?Sized>(
        &self,
        store: &BS,
        config: &Config,
        depth: u32,
    ) -> Result<&Node> {
        if let Some(node) = self.cache.get() {
            return Ok(node);
        }
        let node = Node::load(store, &self.cid, config, depth, false)?;
        Ok(self.cache.get_or_init(|| node))
    }

    /// The child, loaded on first use, for an edit in place (call
    /// [`Pointer::mark_dirty`] if the edit changed it).
    fn cached_mut<BS: Blockstore + ?Sized>(
        &mut self,
        store: &BS,
        config: &Config,
        depth: u32,
    ) -> Result<&mut Node> {
        self.load(store, config, depth)?;
        self.cache
            .get_mut()
            .ok_or(Error::MalformedNode("internal: child cache empty"))
    }

    /// The child, loaded and taken out of the link, to be modified.
    pub(crate) fn take<BS: Blockstore + ?Sized>(
        &mut self,
        store: &BS,
        config: &Config,
        depth: u32,
    ) -> Result<Node> {
        match self.cache.take() {
            Some(node) => Ok(node),
            None => Node::load(store, &self.cid, config, depth, false),
        }
    }
}

impl Pointer {
    /// Turns a link whose cached child was edited into a dirty child, so the
    /// next flush writes it. Other pointers are left as they are.
    pub(crate) fn mark_dirty(&mut self) {
        if let Pointer::Link(link) = self {
            if let Some(node) = link.cache.take() {
                *self = Pointer::Dirty(node);
            }
        }
    }
}

/// The result of putting an entry.
pub(crate) struct Put {
    /// The value the key had before, encoded.
    pub(crate) old: Option<Vec<u8>>,
    /// Whether the tree changed.
    pub(crate) changed: bool,
}

/// An entry on its way into a node being built: key hash, key, encoded value.
pub(crate) type Staged<'a> = (KeyDigest, &'a [u8], &'a [u8]);

impl Node {
    /// Reads and decodes the node stored under `cid`.
    pub(crate) fn load<BS: Blockstore + ?Sized>(
        store: &BS,
        cid: &Cid,
        config: &Config,
        depth: u32,
        is_root: bool,
    ) -> Result<Node> {
        if cid.codec() != DAG_CBOR {
            return Err(Error::MalformedNode("link is not DAG-CBOR"));
        }
        let bytes = store
            .get(cid)?
            .ok_or_else(|| Error::MissingBlock(Box::new(*cid)))?;
        Node::decode(&bytes, config, depth, is_root)
    }

    /// Decodes and validates a node found at `depth`.
    pub(crate) fn decode(bytes: &[u8], config: &Config, depth: u32, is_root: bool) -> Result<Node> {
        let bw = config.bit_width();
        if depth * bw >= 256 {
            return Err(Error::MalformedNode("node deeper than the key hash allows"));
        }
        let mut r = Reader::new(bytes);
        if r.expect(MAJOR_ARRAY, "node must be an array")? != 2 {
            return Err(Error::MalformedNode("node must have two fields"));
        }
        let bitfield = Bitfield::from_be_trimmed(r.bytes("bitfield must be a byte string")?)?;
        if bitfield.exceeds(hash_bits::slots_at(depth, bw)) {
            return Err(Error::MalformedNode(
                "bitfield sets slots beyond the bit width",
            ));
        }
        let count = r.expect(MAJOR_ARRAY, "pointers must be an array")?;
        if count != bitfield.count() as u64 {
            return Err(Error::MalformedNode(
                "pointer count differs from the bitfield popcount",
            ));
        }
        r.check_count(count)?;
        let mut pointers = Vec::with_capacity(count as usize);
        let mut has_link = false;
        let mut entries = 0usize;
        for _ in 0..count {
            match r.peek()? >> 5 {
                MAJOR_TAG => {
                    if r.expect(MAJOR_TAG, "expected a link")? != TAG_CID {
                        return Err(Error::MalformedNode("link tag is not 42"));
                    }
                    let len = r.expect(MAJOR_BYTES, "link must wrap a byte string")?;
                    let cid = cbor::parse_cid_bytes(r.take(len)?)?;
                    if cid.codec() != DAG_CBOR || cid.version() != cid::Version::V1 {
                        return Err(Error::MalformedNode("link is not a DAG-CBOR CIDv1"));
                    }
                    has_link = true;
                    pointers.push(Pointer::Link(Link::new(cid)));
                }
                MAJOR_ARRAY => {
                    let (raw, n) = bucket::read_validated(&mut r, config.bucket_size())?;
                    entries += n;
                    pointers.push(Pointer::Bucket(BucketBytes::from_slice(raw)));
                }
                _ => {
                    return Err(Error::MalformedNode(
                        "pointer is neither a link nor a bucket",
                    ))
                }
            }
        }
        if !r.is_at_end() {
            return Err(Error::MalformedNode("trailing bytes after the node"));
        }
        if !is_root {
            if pointers.is_empty() {
                return Err(Error::MalformedNode("empty non-root node"));
            }
            if !has_link && entries <= config.bucket_size() {
                return Err(Error::NonCanonical(
                    "child with few enough entries to be a bucket",
                ));
            }
        }
        Ok(Node { bitfield, pointers })
    }

    /// Encodes the node. All children must be flushed (no dirty pointers).
    pub(crate) fn encode(&self, out: &mut Vec<u8>) -> Result<()> {
        out.push(0x82);
        let (bits, skip) = self.bitfield.to_be_trimmed();
        cbor::write_bytes(out, bits.get(skip..).unwrap_or_default());
        cbor::write_header(out, MAJOR_ARRAY, self.pointers.len() as u64);
        for p in &self.pointers {
            match p {
                Pointer::Bucket(b) => out.extend_from_slice(b),
                Pointer::Link(l) => cbor::write_cid(out, &l.cid),
                Pointer::Dirty(_) => {
                    return Err(Error::MalformedNode(
                        "internal: encoding a node with dirty children",
                    ))
                }
            }
        }
        Ok(())
    }

    /// Whether the node has no entries (only the root may).
    pub(crate) fn is_empty(&self) -> bool {
        self.pointers.is_empty()
    }

    fn slot(&self, hash: &KeyDigest, depth: u32, config: &Config) -> Result<Option<(u32, usize)>> {
        let idx = hash_bits::index(hash, depth, config.bit_width())?;
        if !self.bitfield.test(idx) {
            return Ok(None);
        }
        let pos = self.bitfield.rank(idx);
        if pos >= self.pointers.len() {
            return Err(Error::MalformedNode("bitfield and pointers disagree"));
        }
        Ok(Some((idx, pos)))
    }

    /// The encoded value of `key`.
    pub(crate) fn get<'a, BS: Blockstore + ?Sized>(
        &'a self,
        store: &BS,
        config: &Config,
        hash: &KeyDigest,
        key: &[u8],
    ) -> Result<Option<&'a [u8]>> {
        let mut node = self;
        let mut depth = 0;
        loop {
            let Some((_, pos)) = node.slot(hash, depth, config)? else {
                return Ok(None);
            };
            depth += 1;
            node = match &node.pointers[pos] {
                Pointer::Bucket(b) => return bucket::find(b, key),
                Pointer::Link(link) => link.load(store, config, depth)?,
                Pointer::Dirty(child) => child,
            };
        }
    }

    /// Puts `key → value` (value encoded). With `overwrite` false an existing
    /// entry is kept and reported.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn put<BS: Blockstore + ?Sized>(
        &mut self,
        store: &BS,
        config: &Config,
        hash: &KeyDigest,
        depth: u32,
        key: &[u8],
        value: &[u8],
        overwrite: bool,
    ) -> Result<Put> {
        let idx = hash_bits::index(hash, depth, config.bit_width())?;
        let pos = self.bitfield.rank(idx);
        if !self.bitfield.test(idx) {
            self.bitfield.set(idx);
            self.pointers
                .insert(pos, Pointer::Bucket(bucket::single(key, value)));
            return Ok(Put {
                old: None,
                changed: true,
            });
        }
        let pointer = self
            .pointers
            .get_mut(pos)
            .ok_or(Error::MalformedNode("bitfield and pointers disagree"))?;
        match pointer {
            Pointer::Bucket(b) => match bucket::search(b, key)? {
                bucket::Slot::Found { value: range, .. } => {
                    let old = b.get(range.clone()).unwrap_or_default().to_vec();
                    if !overwrite || old == value {
                        return Ok(Put {
                            old: Some(old),
                            changed: false,
                        });
                    }
                    bucket::replace_value(b, range, value);
                    Ok(Put {
                        old: Some(old),
                        changed: true,
                    })
                }
                bucket::Slot::Absent { offset, count } => {
                    if count < config.bucket_size() {
                        bucket::insert(b, offset, count, key, value);
                    } else {
                        let child = {
                            let mut staged = Vec::with_capacity(count + 1);
                            for e in bucket::entries(b)? {
                                let (k, v) = e?;
                                staged.push((hash_bits::digest(config.key_hash(), k)?, k, v));
                            }
                            staged.push((*hash, key, value));
                            Node::build(&mut staged, depth + 1, config)?
                        };
                        *pointer = Pointer::Dirty(child);
                    }
                    Ok(Put {
                        old: None,
                        changed: true,
                    })
                }
            },
            Pointer::Link(link) => {
                let child = link.cached_mut(store, config, depth + 1)?;
                let put = child.put(store, config, hash, depth + 1, key, value, overwrite)?;
                if put.changed {
                    pointer.mark_dirty();
                }
                Ok(put)
            }
            Pointer::Dirty(child) => {
                child.put(store, config, hash, depth + 1, key, value, overwrite)
            }
        }
    }

    /// Removes `key`, returning its encoded value; folds children that became
    /// small enough back into buckets.
    pub(crate) fn remove<BS: Blockstore + ?Sized>(
        &mut self,
        store: &BS,
        config: &Config,
        hash: &KeyDigest,
        depth: u32,
        key: &[u8],
    ) -> Result<Option<Vec<u8>>> {
        let Some((idx, pos)) = self.slot(hash, depth, config)? else {
            return Ok(None);
        };
        let pointer = &mut self.pointers[pos];
        let removed = match pointer {
            Pointer::Bucket(b) => {
                let bucket::Slot::Found {
                    entry,
                    value,
                    count,
                } = bucket::search(b, key)?
                else {
                    return Ok(None);
                };
                let old = b.get(value).unwrap_or_default().to_vec();
                if count == 1 {
                    self.pointers.remove(pos);
                    self.bitfield.clear(idx);
                } else {
                    bucket::remove(b, entry, count);
                }
                return Ok(Some(old));
            }
            Pointer::Link(link) => {
                let child = link.cached_mut(store, config, depth + 1)?;
                let removed = child.remove(store, config, hash, depth + 1, key)?;
                if removed.is_some() {
                    pointer.mark_dirty();
                }
                removed
            }
            Pointer::Dirty(child) => child.remove(store, config, hash, depth + 1, key)?,
        };
        if removed.is_some() {
            self.clean_child(idx, pos, config)?;
        }
        Ok(removed)
    }

    /// Restores the canonical shape after a removal below slot `idx`.
    fn clean_child(&mut self, idx: u32, pos: usize, config: &Config) -> Result<()> {
        let Some(Pointer::Dirty(child)) = self.pointers.get(pos) else {
            return Ok(());
        };
        if child.pointers.is_empty() {
            self.pointers.remove(pos);
            self.bitfield.clear(idx);
            return Ok(());
        }
        // Every bucket holds at least one entry: many pointers cannot fold.
        if child.pointers.len() > config.bucket_size() {
            return Ok(());
        }
        let mut total = 0;
        for p in &child.pointers {
            match p {
                Pointer::Bucket(b) => total += bucket::len(b)?,
                _ => return Ok(()),
            }
        }
        if total > config.bucket_size() {
            return Ok(());
        }
        let mut pairs: Vec<(&[u8], &[u8])> = Vec::with_capacity(total);
        for p in &child.pointers {
            if let Pointer::Bucket(b) = p {
                for e in bucket::entries(b)? {
                    pairs.push(e?);
                }
            }
        }
        pairs.sort_unstable_by(|a, b| a.0.cmp(b.0));
        let merged = bucket::encode(pairs.into_iter());
        self.pointers[pos] = Pointer::Bucket(merged);
        Ok(())
    }

    /// Builds the canonical node at `depth` holding exactly `entries`.
    pub(crate) fn build(entries: &mut [Staged<'_>], depth: u32, config: &Config) -> Result<Node> {
        let bw = config.bit_width();
        let mut keyed = Vec::with_capacity(entries.len());
        for e in entries.iter() {
            keyed.push((hash_bits::index(&e.0, depth, bw)?, *e));
        }
        keyed.sort_unstable_by(|a, b| (a.0, a.1 .1).cmp(&(b.0, b.1 .1)));
        let mut node = Node::default();
        let mut start = 0;
        while start < keyed.len() {
            let idx = keyed[start].0;
            let end = start + keyed[start..].iter().take_while(|e| e.0 == idx).count();
            let group = &keyed[start..end];
            node.bitfield.set(idx);
            if group.len() <= config.bucket_size() {
                node.pointers.push(Pointer::Bucket(bucket::encode(
                    group.iter().map(|e| (e.1 .1, e.1 .2)),
                )));
            } else {
                let mut sub: Vec<Staged<'_>> = group.iter().map(|e| e.1).collect();
                node.pointers
                    .push(Pointer::Dirty(Node::build(&mut sub, depth + 1, config)?));
            }
            start = end;
        }
        Ok(node)
    }

    /// The number of decoded nodes in this subtree (itself, dirty children
    /// and cached linked children).
    pub(crate) fn decoded_nodes(&self) -> usize {
        let mut n = 1;
        for pointer in &self.pointers {
            match pointer {
                Pointer::Bucket(_) => {}
                Pointer::Link(link) => {
                    if let Some(child) = link.cache.get() {
                        n += child.decoded_nodes();
                    }
                }
                Pointer::Dirty(child) => n += child.decoded_nodes(),
            }
        }
        n
    }

    /// Drops the decoded children of links (not dirty children, which are
    /// not stored yet): they are loaded again on first use.
    pub(crate) fn drop_cached_children(&mut self) {
        for pointer in &mut self.pointers {
            match pointer {
                Pointer::Bucket(_) => {}
                Pointer::Link(link) => drop(link.cache.take()),
                Pointer::Dirty(child) => child.drop_cached_children(),
            }
        }
    }

    /// Writes every dirty descendant into `batch` (children first) and turns the
    /// pointers into cached links.
    pub(crate) fn flush_children(&mut self, batch: &mut Vec<(Cid, Vec<u8>)>) -> Result<()> {
        for pointer in &mut self.pointers {
            if let Pointer::Dirty(child) = pointer {
                child.flush_children(batch)?;
                let mut bytes = Vec::with_capacity(64 + 48 * child.pointers.len());
                child.encode(&mut bytes)?;
                let cid = block::cid_of(DAG_CBOR, &bytes);
                batch.push((cid, bytes));
                let node = std::mem::take(child);
                *pointer = Pointer::Link(Link {
                    cid: Box::new(cid),
                    cache: OnceCell::from(node),
                });
            }
        }
        Ok(())
    }
}
