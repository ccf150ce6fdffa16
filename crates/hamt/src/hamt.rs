//! The public map type.

use std::marker::PhantomData;

use cid::Cid;
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::cached_tree::CachedTree;
use crate::config::Config;
use crate::hash_bits;
use crate::iter::{Cursor, Iter, RawIter};
use crate::node::Node;
use crate::prepared_key::PreparedKey;
use crate::{Error, Result};
use tau_ipld::block::{self, DAG_CBOR};
use tau_ipld::cbor::Reader;
use tau_ipld::Blockstore;

/// Blocks with their CIDs, as a flush hands them to the store.
type Blocks = Vec<(Cid, Vec<u8>)>;

/// A HAMT from byte keys to values of type `V`, stored in a [`Blockstore`].
///
/// Node bytes and root CIDs are identical to `fvm_ipld_hamt` 0.10 for the same
/// contents and [`Config`]. Changes stay in memory until [`flush`](Hamt::flush),
/// which writes only the nodes that changed since the last flush, in one
/// [`put_many_keyed`](Blockstore::put_many_keyed) batch.
///
/// ```
/// use tau_hamt::Hamt;
/// use tau_ipld::MemoryBlockstore;
///
/// let store = MemoryBlockstore::new();
/// let mut map: Hamt<_, String> = Hamt::new(&store);
/// assert_eq!(map.set(b"k", "v1".to_string())?, None);
/// assert_eq!(map.set(b"k", "v2".to_string())?, Some("v1".to_string()));
/// let root = map.flush()?;
///
/// let map: Hamt<_, String> = Hamt::load(&store, &root)?;
/// assert_eq!(map.get(b"k")?.as_deref(), Some("v2"));
/// # Ok::<(), tau_hamt::Error>(())
/// ```
pub struct Hamt<BS, V> {
    store: BS,
    config: Config,
    root: Node,
    flushed: Option<Cid>,
    /// Reused buffer for encoding values.
    scratch: Vec<u8>,
    /// Blocks the tree links to whose write failed: the next flush writes them.
    unwritten: Vec<(Cid, Vec<u8>)>,
    _values: PhantomData<fn() -> V>,
}

impl<BS: std::fmt::Debug, V> std::fmt::Debug for Hamt<BS, V> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Hamt")
            .field("config", &self.config)
            .field("flushed", &self.flushed)
            .finish_non_exhaustive()
    }
}

impl<BS: Blockstore, V> Hamt<BS, V> {
    /// An empty map with the default [`Config`] (bit width 5, bucket size 3).
    pub fn new(store: BS) -> Self {
        Self::new_with_config(store, Config::default())
    }

    /// An empty map with `config`.
    pub fn new_with_config(store: BS, config: Config) -> Self {
        Hamt {
            store,
            config,
            root: Node::default(),
            flushed: None,
            scratch: Vec::new(),
            unwritten: Vec::new(),
            _values: PhantomData,
        }
    }

    /// Loads the map rooted at `root`, written with the default [`Config`].
    pub fn load(store: BS, root: &Cid) -> Result<Self> {
        Self::load_with_config(store, root, Config::default())
    }

    /// Loads the map rooted at `root`, written with `config`. The root node is
    /// read and validated now; other nodes when first used.
    pub fn load_with_config(store: BS, root: &Cid, config: Config) -> Result<Self> {
        let node = Node::load(&store, root, &config, 0, true)?;
        Ok(Hamt {
            store,
            config,
            root: node,
            flushed: Some(*root),
            scratch: Vec::new(),
            unwritten: Vec::new(),
            _values: PhantomData,
        })
    }

    /// The configuration.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The store.
    pub fn store(&self) -> &BS {
        &self.store
    }

    /// Gives the store back.
    pub fn into_store(self) -> BS {
        self.store
    }

    /// The root CID if nothing changed since the last flush (or load).
    pub fn root_cid(&self) -> Option<Cid> {
        self.flushed
    }

    /// Whether the map has no entries.
    pub fn is_empty(&self) -> bool {
        self.root.is_empty()
    }

    /// The DAG-CBOR encoding of the value of `key`, without decoding it.
    pub fn get_encoded(&self, key: impl AsRef<[u8]>) -> Result<Option<&[u8]>> {
        let key = key.as_ref();
        let hash = hash_bits::digest(self.config.key_hash(), key)?;
        self.root.get(&self.store, &self.config, &hash, key)
    }

    /// The DAG-CBOR encoding of the value of a [`PreparedKey`], without
    /// hashing the key again.
    pub fn get_prepared(&self, key: &PreparedKey) -> Result<Option<&[u8]>> {
        let hash = key.hash_for(self.config.key_hash())?;
        self.root.get(&self.store, &self.config, &hash, key.key())
    }

    /// [`set_encoded`](Hamt::set_encoded) of a [`PreparedKey`], without
    /// hashing the key again.
    pub fn set_prepared(&mut self, key: &PreparedKey, encoded: &[u8]) -> Result<Option<Vec<u8>>> {
        check_one_item(encoded)?;
        let hash = key.hash_for(self.config.key_hash())?;
        Ok(self.put_hashed(&hash, key.key(), encoded, true)?.old)
    }

    /// Whether `key` is present.
    pub fn contains_key(&self, key: impl AsRef<[u8]>) -> Result<bool> {
        Ok(self.get_encoded(key)?.is_some())
    }

    /// Removes every entry.
    pub fn clear(&mut self) {
        self.root = Node::default();
        self.flushed = None;
    }

    /// Writes the changed nodes in one [`put_many_keyed`](Blockstore::put_many_keyed)
    /// batch and returns the root CID. Flushing an unchanged map writes nothing.
    /// If the write fails the map keeps its changes and the next flush writes them.
    pub fn flush(&mut self) -> Result<Cid> {
        if let (Some(cid), true) = (self.flushed, self.unwritten.is_empty()) {
            return Ok(cid);
        }
        // The blocks move into the store (no copy where it can keep them).
        let (mut batch, cid) = self.changed_blocks()?;
        let written = self.store.put_many_owned(&mut batch).map_err(Error::from);
        self.settle(written, batch, cid)
    }

    /// Records the outcome of writing a flush's `batch` for root `cid`: on
    /// success the map is flushed at `cid`; on error the blocks not known to
    /// be stored stay in `unwritten` for the next flush — all but the root
    /// block, which every flush encodes again (kept, it went out twice).
    fn settle(&mut self, written: Result<()>, mut batch: Blocks, cid: Cid) -> Result<Cid> {
        match written {
            Ok(()) => {
                self.flushed = Some(cid);
                Ok(cid)
            }
            Err(e) => {
                batch.retain(|(c, _)| *c != cid);
                self.unwritten = batch;
                self.flushed = None;
                Err(e)
            }
        }
    }

    /// Encodes the changed nodes (children first, root last) and turns them
    /// into links; returns them with the new root. On error the blocks
    /// already linked are kept in `unwritten` for the next flush.
    fn changed_blocks(&mut self) -> Result<(Blocks, Cid)> {
        let mut batch = std::mem::take(&mut self.unwritten);
        let encoded = self.root.flush_children(&mut batch).and_then(|()| {
            let mut bytes = Vec::new();
            self.root.encode(&mut bytes)?;
            Ok(bytes)
        });
        let bytes = match encoded {
            Ok(bytes) => bytes,
            Err(e) => {
                // Children already turned into links must still be written.
                self.unwritten = batch;
                return Err(e);
            }
        };
        let cid = block::cid_of(DAG_CBOR, &bytes);
        batch.push((cid, bytes));
        Ok((batch, cid))
    }

    /// Like [`flush`](Hamt::flush), but hands the changed blocks (children
    /// first, root last) and the new root to `commit`, which writes them: so a
    /// persistent store can commit them together with its root pointers in one
    /// transaction. `commit` is called even when nothing changed (with no
    /// blocks), so the pointers can still be set.
    ///
    /// ```
    /// use tau_hamt::Hamt;
    /// use tau_ipld::RedbBlockstore;
    /// let dir = tempfile::tempdir()?;
    /// let store = RedbBlockstore::open(dir.path().join("state.redb"))?;
    /// let mut map: Hamt<_, u64> = Hamt::new(&store);
    /// map.set(b"alice", 10)?;
    /// // Blocks and the "head" pointer commit atomically.
    /// let root = map.flush_with(|store, blocks, root| {
    ///     store.put_many_keyed_with_roots(blocks, &[("head", *root)])
    /// })?;
    /// assert_eq!(store.root("head")?, Some(root));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// If `commit` fails the map keeps its changes, and the next flush hands the
    /// same blocks again.
    pub fn flush_with<F>(&mut self, commit: F) -> Result<Cid>
    where
        F: FnOnce(&BS, &[(Cid, Vec<u8>)], &Cid) -> tau_ipld::Result<()>,
    {
        if let (Some(cid), true) = (self.flushed, self.unwritten.is_empty()) {
            commit(&self.store, &[], &cid)?;
            return Ok(cid);
        }
        let (batch, cid) = self.changed_blocks()?;
        let written = commit(&self.store, &batch, &cid).map_err(Error::from);
        self.settle(written, batch, cid)
    }

    /// Detaches the decoded nodes from the store, if the map is flushed (no
    /// change since the last [`flush`](Hamt::flush) or load, and no failed
    /// write pending); `None` otherwise, and the tree is dropped.
    pub fn into_cached_tree(self) -> Option<CachedTree> {
        match (self.flushed, self.unwritten.is_empty()) {
            (Some(cid), true) => Some(CachedTree {
                root: self.root,
                cid,
                config: self.config,
            }),
            _ => None,
        }
    }

    /// The map of `tree` over `store`, which must hold the blocks of
    /// [`tree.root()`](CachedTree::root) (nodes the tree does not hold are
    /// read from it when used). Nothing is read now.
    pub fn from_cached_tree(store: BS, tree: CachedTree) -> Self {
        Hamt {
            store,
            config: tree.config,
            root: tree.root,
            flushed: Some(tree.cid),
            scratch: Vec::new(),
            unwritten: Vec::new(),
            _values: PhantomData,
        }
    }

    /// Number of entries, counted by walking the whole tree.
    pub fn len(&self) -> Result<usize> {
        let mut n = 0;
        for entry in self.iter_encoded() {
            entry?;
            n += 1;
        }
        Ok(n)
    }

    /// Entries as `(key, encoded value)`, in hash order.
    pub fn iter_encoded(&self) -> RawIter<'_, BS> {
        RawIter::new(&self.store, &self.config, &self.root)
    }

    /// Entries in hash order, values decoded.
    pub fn iter(&self) -> Iter<'_, BS, V> {
        Iter::new(self.iter_encoded())
    }

    /// Entries after `cursor` (see [`Iter::cursor`]), in hash order.
    pub fn iter_from(&self, cursor: &Cursor) -> Result<Iter<'_, BS, V>> {
        RawIter::from_cursor(&self.store, &self.config, &self.root, cursor).map(Iter::new)
    }

    /// Sets `key` to a value given as its DAG-CBOR encoding and returns the
    /// encoding it replaced. The bytes must be exactly one strict DAG-CBOR item
    /// ([`Error::Encode`] otherwise, and the map is unchanged).
    ///
    /// With [`get_encoded`](Hamt::get_encoded) this lets one map hold values of
    /// several types (a chain state, say), each caller decoding its own.
    ///
    /// ```
    /// use tau_hamt::Hamt;
    /// use tau_ipld::MemoryBlockstore;
    /// let store = MemoryBlockstore::new();
    /// let mut map: Hamt<_, u64> = Hamt::new(&store);
    /// map.set_encoded(b"n", &[0x18, 42])?; // the integer 42
    /// assert_eq!(map.get(b"n")?, Some(42));
    /// assert!(map.set_encoded(b"n", &[0x18]).is_err()); // truncated
    /// # Ok::<(), tau_hamt::Error>(())
    /// ```
    pub fn set_encoded(
        &mut self,
        key: impl AsRef<[u8]>,
        encoded: &[u8],
    ) -> Result<Option<Vec<u8>>> {
        check_one_item(encoded)?;
        Ok(self.put_encoded(key.as_ref(), encoded, true)?.old)
    }

    fn put_encoded(
        &mut self,
        key: &[u8],
        value: &[u8],
        overwrite: bool,
    ) -> Result<crate::node::Put> {
        let hash = hash_bits::digest(self.config.key_hash(), key)?;
        self.put_hashed(&hash, key, value, overwrite)
    }

    fn put_hashed(
        &mut self,
        hash: &hash_bits::KeyDigest,
        key: &[u8],
        value: &[u8],
        overwrite: bool,
    ) -> Result<crate::node::Put> {
        let put = self
            .root
            .put(&self.store, &self.config, hash, 0, key, value, overwrite)?;
        if put.changed {
            self.flushed = None;
        }
        Ok(put)
    }
}

impl<BS: Blockstore, V: DeserializeOwned> Hamt<BS, V> {
    /// The value of `key`.
    pub fn get(&self, key: impl AsRef<[u8]>) -> Result<Option<V>> {
        self.get_encoded(key)?.map(decode_value).transpose()
    }

    /// Removes `key` and returns its value.
    pub fn delete(&mut self, key: impl AsRef<[u8]>) -> Result<Option<V>> {
        let key = key.as_ref();
        let hash = hash_bits::digest(self.config.key_hash(), key)?;
        let removed = self.root.remove(&self.store, &self.config, &hash, 0, key)?;
        let Some(old) = removed else {
            return Ok(None);
        };
        self.flushed = None;
        match decode_value(&old) {
            Ok(value) => Ok(Some(value)),
            Err(e) => {
                // The stored value is not a `V`: put it back so the error loses nothing.
                self.put_encoded(key, &old, true)?;
                Err(e)
            }
        }
    }
}

impl<BS: Blockstore, V: Serialize + DeserializeOwned> Hamt<BS, V> {
    /// Sets `key` to `value` and returns the value it replaced.
    ///
    /// If the replaced value does not decode as `V` the map is left unchanged
    /// and [`Error::Decode`] is returned.
    pub fn set(&mut self, key: impl AsRef<[u8]>, value: V) -> Result<Option<V>> {
        let key = key.as_ref();
        let mut encoded = std::mem::take(&mut self.scratch);
        let put = encode_value_into(&value, &mut encoded)
            .and_then(|()| self.put_encoded(key, &encoded, true));
        self.scratch = encoded;
        let Some(old) = put?.old else {
            return Ok(None);
        };
        match decode_value(&old) {
            Ok(value) => Ok(Some(value)),
            Err(e) => {
                self.put_encoded(key, &old, true)?;
                Err(e)
            }
        }
    }

    /// Sets every `(key, value)` of `entries`, as a loop of [`set`](Hamt::set)
    /// would (a later entry for a key wins), but in one ordered pass: the
    /// entries are encoded, sorted by key hash and merged into the tree, so each
    /// touched node is visited once. The fast way to build a map or apply a
    /// large batch; it returns no old values.
    ///
    /// Subtrees made only of new entries are encoded straight into blocks and
    /// written to the store in one batch before `extend` returns (they are
    /// content-addressed, so an early write is harmless); the nodes above them
    /// stay in memory until [`flush`](Hamt::flush). If a value fails to encode nothing
    /// is changed; if a block below is missing or malformed the error is returned
    /// and a subset of the batch is applied, as with a loop of `set`.
    ///
    /// ```
    /// use tau_hamt::Hamt;
    /// use tau_ipld::MemoryBlockstore;
    /// let store = MemoryBlockstore::new();
    /// let mut bulk: Hamt<_, u32> = Hamt::new(&store);
    /// bulk.extend((0u32..1000).map(|i| (i.to_be_bytes(), i)))?;
    /// let mut one_by_one: Hamt<_, u32> = Hamt::new(&store);
    /// for i in 0u32..1000 {
    ///     one_by_one.set(i.to_be_bytes(), i)?;
    /// }
    /// assert_eq!(bulk.flush()?, one_by_one.flush()?);
    /// # Ok::<(), tau_hamt::Error>(())
    /// ```
    pub fn extend<K, I>(&mut self, entries: I) -> Result<()>
    where
        K: AsRef<[u8]>,
        I: IntoIterator<Item = (K, V)>,
    {
        let entries = entries.into_iter();
        let mut batch =
            crate::bulk::Batch::with_capacity(self.config.key_hash(), entries.size_hint().0);
        let mut encoded = std::mem::take(&mut self.scratch);
        let fill = || -> Result<()> {
            for (key, value) in entries {
                let key = key.as_ref();
                encode_value_into(&value, &mut encoded)?;
                batch.push(key, &encoded)?;
            }
            Ok(())
        };
        let filled = fill();
        self.scratch = encoded;
        filled?;
        let batch = batch.finish();
        if batch.entries().is_empty() {
            return Ok(());
        }
        // On error (a missing or malformed block below) the map holds a subset
        // of the batch, as a loop of `set` would, and stays a valid tree.
        self.flushed = None;
        let mut builder = crate::bulk::Builder {
            store: &self.store,
            config: &self.config,
            blocks: Vec::new(),
        };
        let merged = builder.merge(&mut self.root, 0, &batch, batch.entries());
        // The tree links to these blocks even after a partial merge; if they
        // cannot be written now, the next flush writes them.
        let mut blocks = builder.blocks;
        if !blocks.is_empty() {
            if let Err(e) = self.store.put_many_owned(&mut blocks) {
                self.unwritten.extend(blocks);
                return Err(e.into());
            }
        }
        merged
    }

    /// Sets `key` to `value` only if `key` is absent; returns whether it was set.
    pub fn set_if_absent(&mut self, key: impl AsRef<[u8]>, value: V) -> Result<bool> {
        let mut encoded = std::mem::take(&mut self.scratch);
        let put = encode_value_into(&value, &mut encoded)
            .and_then(|()| self.put_encoded(key.as_ref(), &encoded, false));
        self.scratch = encoded;
        Ok(put?.old.is_none())
    }
}

/// Encodes a value as strict DAG-CBOR into `out` (cleared first).
pub(crate) fn encode_value_into<V: Serialize>(value: &V, out: &mut Vec<u8>) -> Result<()> {
    out.clear();
    serde_ipld_dagcbor::to_writer(&mut *out, value).map_err(|e| Error::Encode(e.to_string()))?;
    check_one_item(out)
}

/// Checks that `encoded` is exactly one strict DAG-CBOR item.
fn check_one_item(encoded: &[u8]) -> Result<()> {
    let mut r = Reader::new(encoded);
    r.skip_item()
        .map_err(|e| Error::Encode(format!("value is not strict DAG-CBOR: {e}")))?;
    if !r.is_at_end() {
        return Err(Error::Encode("value encodes as more than one item".into()));
    }
    Ok(())
}

/// Decodes a value from its DAG-CBOR encoding.
pub(crate) fn decode_value<V: DeserializeOwned>(bytes: &[u8]) -> Result<V> {
    serde_ipld_dagcbor::from_slice(bytes).map_err(|e| Error::Decode(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::Cell;
    use tau_ipld::MemoryBlockstore;

    /// A memory store whose batch writes fail while `failing` is set.
    #[derive(Default)]
    struct Flaky {
        inner: MemoryBlockstore,
        failing: Cell<bool>,
    }

    impl Blockstore for Flaky {
        fn get_raw(&self, cid: &Cid) -> tau_ipld::Result<Option<Vec<u8>>> {
            self.inner.get_raw(cid)
        }
        fn put_keyed(&self, cid: &Cid, block: &[u8]) -> tau_ipld::Result<()> {
            self.inner.put_keyed(cid, block)
        }
        fn has(&self, cid: &Cid) -> tau_ipld::Result<bool> {
            self.inner.has(cid)
        }
        fn put_many_keyed(&self, blocks: &[(Cid, Vec<u8>)]) -> tau_ipld::Result<()> {
            if self.failing.get() {
                return Err(tau_ipld::Error::Io(std::io::Error::other("disk full")));
            }
            self.inner.put_many_keyed(blocks)
        }
    }

    #[test]
    fn a_failed_write_is_retried_by_the_next_flush() {
        for bulk in [false, true] {
            let store = Flaky::default();
            let mut map: Hamt<_, u64> = Hamt::new(&store);
            store.failing.set(true);
            if bulk {
                assert!(map
                    .extend((0u64..2_000).map(|i| (i.to_be_bytes(), i)))
                    .is_err());
            } else {
                for i in 0u64..2_000 {
                    map.set(i.to_be_bytes(), i).unwrap();
                }
            }
            assert!(matches!(
                map.flush(),
                Err(Error::Store(tau_ipld::Error::Io(_)))
            ));
            assert!(map.root_cid().is_none());
            assert!(store.inner.is_empty());
            store.failing.set(false);
            let root = map.flush().unwrap();
            let reloaded: Hamt<_, u64> = Hamt::load(&store, &root).unwrap();
            assert_eq!(reloaded.len().unwrap(), 2_000);
            for i in 0u64..2_000 {
                assert_eq!(reloaded.get(i.to_be_bytes()).unwrap(), Some(i));
            }
        }
    }

    #[test]
    fn maps_move_between_threads_and_stores_are_shared() {
        fn send<T: Send>() {}
        fn send_sync<T: Send + Sync>() {}
        send::<Hamt<MemoryBlockstore, u64>>();
        send::<Hamt<std::sync::Arc<tau_ipld::RedbBlockstore>, Vec<u8>>>();
        send_sync::<MemoryBlockstore>();
        send_sync::<tau_ipld::RedbBlockstore>();
    }

    #[test]
    fn flush_with_hands_over_only_changes_and_always_the_root() {
        let store = MemoryBlockstore::new();
        let mut map: Hamt<_, u64> = Hamt::new(&store);
        map.set(b"a", 1).unwrap();
        let mut seen = Vec::new();
        let root = map
            .flush_with(|store, blocks, root| {
                seen.push((blocks.len(), *root));
                store.put_many_keyed(blocks)
            })
            .unwrap();
        map.flush_with(|_, blocks, r| {
            seen.push((blocks.len(), *r));
            Ok(())
        })
        .unwrap();
        assert_eq!(seen, vec![(1, root), (0, root)]);
    }

    #[test]
    fn a_failed_flush_with_commit_hands_the_same_blocks_over_again() {
        let store = MemoryBlockstore::new();
        let mut map: Hamt<_, u64> = Hamt::new(&store);
        for i in 0u64..500 {
            map.set(i.to_be_bytes(), i).unwrap();
        }
        let mut first = Vec::new();
        let failed = map.flush_with(|_, blocks, _| {
            first = blocks.to_vec();
            Err(tau_ipld::Error::CorruptStore("refused".into()))
        });
        assert!(matches!(
            failed,
            Err(Error::Store(tau_ipld::Error::CorruptStore(_)))
        ));
        assert!(first.len() > 1);
        let mut second = Vec::new();
        let root = map
            .flush_with(|store, blocks, _| {
                second = blocks.to_vec();
                store.put_many_keyed(blocks)
            })
            .unwrap();
        assert_eq!(first, second);
        let reloaded: Hamt<_, u64> = Hamt::load(&store, &root).unwrap();
        assert_eq!(reloaded.get(7u64.to_be_bytes()).unwrap(), Some(7));
        assert_eq!(map.flush().unwrap(), root);
    }

    #[test]
    fn a_value_of_the_wrong_type_is_an_error_that_changes_nothing() {
        let store = MemoryBlockstore::new();
        let mut ints: Hamt<_, u64> = Hamt::new(&store);
        for i in 0..50u64 {
            ints.set(i.to_be_bytes(), i).unwrap();
        }
        let root = ints.flush().unwrap();
        let mut strings: Hamt<_, String> = Hamt::load(&store, &root).unwrap();
        let key = 7u64.to_be_bytes();
        assert!(matches!(strings.delete(key), Err(Error::Decode(_))));
        assert!(matches!(
            strings.set(key, "x".into()),
            Err(Error::Decode(_))
        ));
        assert_eq!(strings.get_encoded(key).unwrap(), Some(&[0x07][..]));
        assert_eq!(strings.len().unwrap(), 50);
        assert_eq!(strings.flush().unwrap(), root);
    }
}
