//! Differences between two maps, found by walking only the parts of the trees
//! that differ.
//!
//! Both trees are walked slot by slot at the same depth. Two links with the
//! same CID hold the same entries, so their subtrees are skipped without being
//! loaded; the cost of a diff is proportional to the number of changed entries
//! times the depth, not to the size of the maps.

use std::cmp::Ordering;
use std::ops::Deref;

use cid::Cid;
use serde::de::DeserializeOwned;

use crate::bucket;
use crate::config::Config;
use crate::hamt::decode_value;
use crate::hash_bits;
use crate::iter::RawIter;
use crate::node::{Node, Pointer};
use crate::{Error, Result};
use tau_ipld::Blockstore;

/// One difference between an old and a new map.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change<V> {
    /// The key is only in the new map.
    Added {
        /// The key.
        key: Vec<u8>,
        /// Its value in the new map.
        value: V,
    },
    /// The key is only in the old map.
    Removed {
        /// The key.
        key: Vec<u8>,
        /// Its value in the old map.
        value: V,
    },
    /// The key is in both maps with different values.
    Changed {
        /// The key.
        key: Vec<u8>,
        /// Its value in the old map.
        old: V,
        /// Its value in the new map.
        new: V,
    },
}

impl<V> Change<V> {
    /// The key the change is about.
    pub fn key(&self) -> &[u8] {
        match self {
            Change::Added { key, .. }
            | Change::Removed { key, .. }
            | Change::Changed { key, .. } => key,
        }
    }

    /// The same change with `f` applied to its values.
    pub fn try_map<W, E>(self, mut f: impl FnMut(V) -> Result<W, E>) -> Result<Change<W>, E> {
        Ok(match self {
            Change::Added { key, value } => Change::Added {
                key,
                value: f(value)?,
            },
            Change::Removed { key, value } => Change::Removed {
                key,
                value: f(value)?,
            },
            Change::Changed { key, old, new } => Change::Changed {
                key,
                old: f(old)?,
                new: f(new)?,
            },
        })
    }
}

/// The changes that turn the map rooted at `old_root` into the one rooted at
/// `new_root`, values decoded as `V`. See [`diff_encoded`] for the walk and the
/// order of the result (ascending key bytes).
///
/// ```
/// use tau_hamt::{diff, Change, Config, Hamt};
/// use tau_ipld::MemoryBlockstore;
///
/// let store = MemoryBlockstore::new();
/// let mut map: Hamt<_, u64> = Hamt::new(&store);
/// map.set(b"alice", 100)?;
/// map.set(b"bob", 5)?;
/// let old = map.flush()?;
/// map.set(b"alice", 90)?;
/// map.delete(b"bob")?;
/// map.set(b"carol", 10)?;
/// let new = map.flush()?;
///
/// let changes: Vec<Change<u64>> = diff(&store, &old, &new, &Config::default())?;
/// assert_eq!(changes, vec![
///     Change::Changed { key: b"alice".to_vec(), old: 100, new: 90 },
///     Change::Removed { key: b"bob".to_vec(), value: 5 },
///     Change::Added { key: b"carol".to_vec(), value: 10 },
/// ]);
/// # Ok::<(), tau_hamt::Error>(())
/// ```
pub fn diff<BS: Blockstore, V: DeserializeOwned>(
    store: &BS,
    old_root: &Cid,
    new_root: &Cid,
    config: &Config,
) -> Result<Vec<Change<V>>> {
    diff_encoded(store, old_root, new_root, config)?
        .into_iter()
        .map(|c| c.try_map(|v| decode_value(&v)))
        .collect()
}

/// The changes from the map rooted at `old_root` to the one rooted at
/// `new_root`, with values as their DAG-CBOR bytes. A value counts as changed
/// when its bytes differ (DAG-CBOR encodings are canonical).
///
/// Equal roots give no changes without reading anything. Otherwise both roots
/// are loaded and the trees are walked slot by slot at the same depth: links
/// with equal CIDs are skipped (their subtrees are never loaded), two differing
/// links are descended into, two buckets are compared entry by entry, and a slot
/// that is a bucket on one side and a link on the other (or is set on one side
/// only) has its subtree's entries collected and compared by key. Every node is
/// read through [`Blockstore::get`] (so it is checked against its CID) and
/// validated for its depth.
///
/// Each key appears at most once; the result is sorted by key bytes, ascending
/// (lexicographic, shorter prefix first), so it is deterministic.
pub fn diff_encoded<BS: Blockstore>(
    store: &BS,
    old_root: &Cid,
    new_root: &Cid,
    config: &Config,
) -> Result<Vec<Change<Vec<u8>>>> {
    let mut out = Vec::new();
    if old_root == new_root {
        return Ok(out);
    }
    let old = Node::load(store, old_root, config, 0, true)?;
    let new = Node::load(store, new_root, config, 0, true)?;
    let walk = Walk { store, config };
    walk.nodes(&old, &new, 0, &mut out)?;
    out.sort_unstable_by(|a, b| a.key().cmp(b.key()));
    Ok(out)
}

/// An owned entry: key and encoded value.
type Entry = (Vec<u8>, Vec<u8>);

/// A child node, either borrowed from an in-memory tree or loaded for the walk.
enum Child<'a> {
    Borrowed(&'a Node),
    Loaded(Node),
}

impl Deref for Child<'_> {
    type Target = Node;
    fn deref(&self) -> &Node {
        match self {
            Child::Borrowed(n) => n,
            Child::Loaded(n) => n,
        }
    }
}

struct Walk<'s, BS> {
    store: &'s BS,
    config: &'s Config,
}

impl<BS: Blockstore> Walk<'_, BS> {
    /// The node a link or dirty pointer stands for, at `depth`. Loaded nodes are
    /// owned by the walk (not cached in the tree), so memory stays bounded by
    /// the current path.
    fn child<'p>(&self, pointer: &'p Pointer, depth: u32) -> Result<Option<Child<'p>>> {
        Ok(match pointer {
            Pointer::Bucket(_) => None,
            Pointer::Link(link) => match link.cache.get() {
                Some(node) => Some(Child::Borrowed(node)),
                None => Some(Child::Loaded(Node::load(
                    self.store,
                    &link.cid,
                    self.config,
                    depth,
                    false,
                )?)),
            },
            Pointer::Dirty(node) => Some(Child::Borrowed(node)),
        })
    }

    /// Diffs two nodes found at `depth`.
    fn nodes(
        &self,
        old: &Node,
        new: &Node,
        depth: u32,
        out: &mut Vec<Change<Vec<u8>>>,
    ) -> Result<()> {
        // Pointers sit in ascending slot order: walk the slots with a cursor
        // into each side's pointers.
        let (mut ia, mut ib) = (0usize, 0usize);
        for idx in 0..hash_bits::slots_at(depth, self.config.bit_width()) {
            let pa = if old.bitfield.test(idx) {
                ia += 1;
                Some(slot_pointer(old, ia - 1)?)
            } else {
                None
            };
            let pb = if new.bitfield.test(idx) {
                ib += 1;
                Some(slot_pointer(new, ib - 1)?)
            } else {
                None
            };
            self.pointers(pa, pb, depth, out)?;
        }
        Ok(())
    }

    /// Diffs the pointers of one slot of two nodes at `depth` (either may be
    /// absent); their children are at `depth + 1`.
    fn pointers(
        &self,
        old: Option<&Pointer>,
        new: Option<&Pointer>,
        depth: u32,
        out: &mut Vec<Change<Vec<u8>>>,
    ) -> Result<()> {
        match (old, new) {
            (Some(Pointer::Link(a)), Some(Pointer::Link(b))) if a.cid == b.cid => Ok(()),
            (Some(Pointer::Bucket(a)), Some(Pointer::Bucket(b))) => {
                if a == b {
                    return Ok(());
                }
                let old = bucket_entries(a)?;
                let new = bucket_entries(b)?;
                merge(old, new, out);
                Ok(())
            }
            (Some(pa), Some(pb)) => {
                let ca = self.child(pa, depth + 1)?;
                let cb = self.child(pb, depth + 1)?;
                if let (Some(ca), Some(cb)) = (&ca, &cb) {
                    return self.nodes(ca, cb, depth + 1, out);
                }
                let old = self.entries_of(pa, ca.as_deref(), depth + 1)?;
                let new = self.entries_of(pb, cb.as_deref(), depth + 1)?;
                merge(old, new, out);
                Ok(())
            }
            (Some(p), None) => {
                let child = self.child(p, depth + 1)?;
                let old = self.entries_of(p, child.as_deref(), depth + 1)?;
                merge(old, Vec::new(), out);
                Ok(())
            }
            (None, Some(p)) => {
                let child = self.child(p, depth + 1)?;
                let new = self.entries_of(p, child.as_deref(), depth + 1)?;
                merge(Vec::new(), new, out);
                Ok(())
            }
            (None, None) => Ok(()),
        }
    }

    /// Every entry under a pointer, sorted by key. `child` is the pointer's node
    /// (already loaded) at `depth` if it is not a bucket.
    fn entries_of(
        &self,
        pointer: &Pointer,
        child: Option<&Node>,
        depth: u32,
    ) -> Result<Vec<Entry>> {
        let mut all = Vec::new();
        match (pointer, child) {
            (Pointer::Bucket(b), _) => all = bucket_entries(b)?,
            (_, Some(node)) => self.collect(node, depth, &mut all)?,
            (_, None) => {}
        }
        all.sort_unstable_by(|x, y| x.0.cmp(&y.0));
        Ok(all)
    }

    /// Appends every entry of the subtree `node` (at `depth`) to `out`.
    fn collect(&self, node: &Node, depth: u32, out: &mut Vec<Entry>) -> Result<()> {
        for entry in RawIter::below(self.store, self.config, node, depth) {
            let (k, v) = entry?;
            out.push((k.to_vec(), v.to_vec()));
        }
        Ok(())
    }
}

/// The pointer at `pos` of a validated node.
fn slot_pointer(node: &Node, pos: usize) -> Result<&Pointer> {
    node.pointers
        .get(pos)
        .ok_or(Error::MalformedNode("bitfield and pointers disagree"))
}

/// The entries of an encoded bucket, owned, in key order.
fn bucket_entries(b: &[u8]) -> Result<Vec<Entry>> {
    bucket::entries(b)?
        .map(|e| e.map(|(k, v)| (k.to_vec(), v.to_vec())))
        .collect()
}

/// Appends the changes from `old` to `new`, both sorted by key.
fn merge(old: Vec<Entry>, new: Vec<Entry>, out: &mut Vec<Change<Vec<u8>>>) {
    let mut a = old.into_iter().peekable();
    let mut b = new.into_iter().peekable();
    loop {
        let order = match (a.peek(), b.peek()) {
            (None, None) => return,
            (Some(_), None) => Ordering::Less,
            (None, Some(_)) => Ordering::Greater,
            (Some((ka, _)), Some((kb, _))) => ka.cmp(kb),
        };
        match order {
            Ordering::Less => {
                if let Some((key, value)) = a.next() {
                    out.push(Change::Removed { key, value });
                }
            }
            Ordering::Greater => {
                if let Some((key, value)) = b.next() {
                    out.push(Change::Added { key, value });
                }
            }
            Ordering::Equal => {
                if let (Some((key, old)), Some((_, new))) = (a.next(), b.next()) {
                    if old != new {
                        out.push(Change::Changed { key, old, new });
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::cell::Cell;

    use super::*;
    use crate::Hamt;
    use tau_ipld::MemoryBlockstore;

    /// A store that counts the blocks read from it.
    struct Counting<'a> {
        inner: &'a MemoryBlockstore,
        reads: Cell<usize>,
    }

    impl<'a> Counting<'a> {
        fn new(inner: &'a MemoryBlockstore) -> Self {
            Counting {
                inner,
                reads: Cell::new(0),
            }
        }
        fn take(&self) -> usize {
            self.reads.replace(0)
        }
    }

    impl Blockstore for Counting<'_> {
        fn get_raw(&self, cid: &Cid) -> tau_ipld::Result<Option<Vec<u8>>> {
            self.reads.set(self.reads.get() + 1);
            self.inner.get_raw(cid)
        }
        fn put_keyed(&self, cid: &Cid, block: &[u8]) -> tau_ipld::Result<()> {
            self.inner.put_keyed(cid, block)
        }
        fn has(&self, cid: &Cid) -> tau_ipld::Result<bool> {
            self.inner.has(cid)
        }
    }

    /// Depth of the deepest node under `root` (the root is depth 0).
    fn max_depth(store: &MemoryBlockstore, cid: &Cid, config: &Config, depth: u32) -> u32 {
        let node = Node::load(store, cid, config, depth, depth == 0).unwrap();
        let mut deepest = depth;
        for p in &node.pointers {
            if let Pointer::Link(l) = p {
                deepest = deepest.max(max_depth(store, &l.cid, config, depth + 1));
            }
        }
        deepest
    }

    fn key(i: u32) -> Vec<u8> {
        format!("key-{i}").into_bytes()
    }

    #[test]
    fn one_key_change_loads_only_the_path() {
        let config = Config::default();
        let store = MemoryBlockstore::new();
        let mut map: Hamt<_, u64> = Hamt::new_with_config(&store, config);
        for i in 0..10_000 {
            map.set(key(i), u64::from(i)).unwrap();
        }
        let a = map.flush().unwrap();
        map.set(key(4242), 7).unwrap();
        let b = map.flush().unwrap();
        map.set(key(10_000), 1).unwrap();
        let c = map.flush().unwrap();
        map.delete(key(17)).unwrap();
        let d = map.flush().unwrap();

        let depth = [a, b, c, d]
            .iter()
            .map(|r| max_depth(&store, r, &config, 0))
            .max()
            .unwrap();
        let bound = 2 * (depth as usize + 1);
        let counting = Counting::new(&store);

        let changes: Vec<Change<u64>> = diff(&counting, &a, &b, &config).unwrap();
        let reads = counting.take();
        eprintln!(
            "10,000 keys, max depth {depth}: changed key read {reads} blocks (bound {bound})"
        );
        assert_eq!(
            changes,
            vec![Change::Changed {
                key: key(4242),
                old: 4242,
                new: 7
            }]
        );
        assert!(reads <= bound, "{reads} reads, bound {bound}");

        let changes: Vec<Change<u64>> = diff(&counting, &b, &c, &config).unwrap();
        let reads = counting.take();
        assert_eq!(
            changes,
            vec![Change::Added {
                key: key(10_000),
                value: 1
            }]
        );
        eprintln!("added key read {reads} blocks");
        assert!(reads <= bound, "{reads} reads, bound {bound}");

        let changes: Vec<Change<u64>> = diff(&counting, &c, &d, &config).unwrap();
        let reads = counting.take();
        assert_eq!(
            changes,
            vec![Change::Removed {
                key: key(17),
                value: 17
            }]
        );
        eprintln!("removed key read {reads} blocks");
        assert!(reads <= bound, "{reads} reads, bound {bound}");
    }

    #[test]
    fn equal_roots_read_nothing() {
        let store = MemoryBlockstore::new();
        let mut map: Hamt<_, u64> = Hamt::new(&store);
        map.set(b"a", 1).unwrap();
        let root = map.flush().unwrap();
        let counting = Counting::new(&store);
        let changes: Vec<Change<u64>> = diff(&counting, &root, &root, &Config::default()).unwrap();
        assert!(changes.is_empty());
        assert_eq!(counting.take(), 0);
    }

    #[test]
    fn bucket_against_subtree_and_empty_maps() {
        // bit width 1: a handful of keys already forces subtrees, so slots flip
        // between buckets and links as keys come and go.
        let config = Config::with_bit_width(1).unwrap();
        let store = MemoryBlockstore::new();
        let mut map: Hamt<_, u64> = Hamt::new_with_config(&store, config);
        let empty = map.flush().unwrap();
        for i in 0..3 {
            map.set(key(i), 1).unwrap();
        }
        let small = map.flush().unwrap();
        for i in 3..40 {
            map.set(key(i), 2).unwrap();
        }
        map.set(key(0), 5).unwrap();
        let big = map.flush().unwrap();

        let changes: Vec<Change<u64>> = diff(&store, &small, &big, &config).unwrap();
        let mut expect: Vec<Change<u64>> = (3..40)
            .map(|i| Change::Added {
                key: key(i),
                value: 2,
            })
            .collect();
        expect.push(Change::Changed {
            key: key(0),
            old: 1,
            new: 5,
        });
        expect.sort_by(|a, b| a.key().cmp(b.key()));
        assert_eq!(changes, expect);

        let all: Vec<Change<u64>> = diff(&store, &empty, &big, &config).unwrap();
        assert_eq!(all.len(), 40);
        assert!(all.windows(2).all(|w| w[0].key() < w[1].key()));
        let gone: Vec<Change<u64>> = diff(&store, &big, &empty, &config).unwrap();
        assert_eq!(gone.len(), 40);
        assert!(gone.iter().all(|c| matches!(c, Change::Removed { .. })));
    }

    #[test]
    fn missing_or_corrupt_blocks_are_errors() {
        let store = MemoryBlockstore::new();
        let mut map: Hamt<_, u64> = Hamt::new(&store);
        map.set(b"a", 1).unwrap();
        let root = map.flush().unwrap();
        let absent = tau_ipld::block::cid_of(tau_ipld::block::DAG_CBOR, b"nothing");
        let r: Result<Vec<Change<u64>>> = diff(&store, &root, &absent, &Config::default());
        assert!(matches!(r, Err(crate::Error::MissingBlock(_))));
        let forged = tau_ipld::block::cid_of(tau_ipld::block::DAG_CBOR, b"forged");
        store.put_keyed(&forged, &[0x82, 0x40, 0x80]).unwrap();
        let r: Result<Vec<Change<u64>>> = diff(&store, &root, &forged, &Config::default());
        assert!(matches!(
            r,
            Err(crate::Error::Store(tau_ipld::Error::CidMismatch { .. }))
        ));
    }
}
