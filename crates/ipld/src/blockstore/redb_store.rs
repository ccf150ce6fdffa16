//! A persistent block store on redb.

use std::fmt;
use std::path::Path;

use cid::Cid;
use redb::{
    Database, ReadOnlyTable, ReadTransaction, ReadableDatabase, ReadableTable,
    ReadableTableMetadata, TableDefinition, TableError, WriteTransaction,
};

use super::gc::Barrier;
use super::{Blockstore, BlockstoreExt};
use crate::{Error, Result};

/// Table of blocks: CID bytes (`Cid::to_bytes`) → block bytes.
pub(super) const BLOCKS: TableDefinition<&[u8], &[u8]> = TableDefinition::new("blocks");
/// Table of named roots: name → CID bytes.
const ROOTS: TableDefinition<&str, &[u8]> = TableDefinition::new("roots");
/// Table of records: name → bytes. A program's own bookkeeping (known peers,
/// pending transactions, …) kept next to the blocks but not content-addressed:
/// rewriting a record replaces it, it leaves no block behind.
const RECORDS: TableDefinition<&str, &[u8]> = TableDefinition::new("records");

/// Options for [`RedbBlockstore::open_with`].
///
/// ```
/// use tau_ipld::blockstore::RedbOptions;
/// let options = RedbOptions::default().cache_size(16 << 20).quick_repair(true);
/// # let _ = options;
/// ```
#[derive(Debug, Clone, Default)]
pub struct RedbOptions {
    cache_size: Option<usize>,
    quick_repair: bool,
}

impl RedbOptions {
    /// Bytes of memory redb may use to cache pages (redb's default is 1 GiB; pick
    /// less when many stores share one process).
    pub fn cache_size(mut self, bytes: usize) -> Self {
        self.cache_size = Some(bytes);
        self
    }

    /// Whether commits save redb's allocator state so that reopening after a crash is
    /// almost instant (commits become slower). Off by default: after a crash, opening
    /// walks the whole file to repair it.
    pub fn quick_repair(mut self, enabled: bool) -> Self {
        self.quick_repair = enabled;
        self
    }
}

/// A persistent block store in one redb file: pure Rust, ACID, crash-safe.
///
/// Blocks live in the table `blocks` (CID bytes → block bytes); named root pointers
/// (chain head, safety point, …) live in the table `roots` (name → CID bytes), and a
/// program's own bookkeeping in the table `records` (name → bytes,
/// [`put_record`](Self::put_record)), which is not content-addressed and leaves no
/// garbage when rewritten. Blocks nothing reaches any more are deleted by a
/// collection ([`begin_collection`](Self::begin_collection)). Every
/// write is one redb transaction committed with redb's default durability, so once a
/// write method returns, its data survives a crash or `SIGKILL`. A batch
/// ([`put_many_keyed`](Blockstore::put_many_keyed),
/// [`put_many_keyed_with_roots`](RedbBlockstore::put_many_keyed_with_roots)) is
/// atomic: after a crash either all of it is stored or none of it. Blocks already
/// present are not rewritten.
///
/// The store is `Send + Sync`; writers are serialized by redb, readers never block.
/// Reads go through [`Blockstore::get`], which re-hashes every block;
/// [`BlockstoreExt::get_trusted`](crate::BlockstoreExt::get_trusted) re-hashes too (bytes on disk can rot or be
/// edited behind the process's back, so nothing read from the file is trusted).
///
/// ```
/// use tau_ipld::{Blockstore, RedbBlockstore, block::{cid_of, DAG_CBOR, RAW}};
/// let dir = tempfile::tempdir()?;
/// let path = dir.path().join("blocks.redb");
/// let head = {
///     let store = RedbBlockstore::open(&path)?;
///     let chunk = store.put(RAW, b"chunk")?;
///     // A "node" and the root pointing at it, committed together.
///     let node = chunk.to_bytes();
///     let head = cid_of(DAG_CBOR, &node);
///     store.put_many_keyed_with_roots(&[(head, node)], &[("head", head)])?;
///     head
/// };
/// // Reopened (e.g. after a restart): the root and its blocks are there.
/// let store = RedbBlockstore::open(&path)?;
/// assert_eq!(store.root("head")?, Some(head));
/// assert!(store.get(&head)?.is_some());
/// assert_eq!(store.block_count()?, 2);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct RedbBlockstore {
    pub(super) db: Database,
    quick_repair: bool,
    /// What a running garbage collection must not delete (see `gc`).
    pub(super) barrier: Barrier,
}

impl fmt::Debug for RedbBlockstore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedbBlockstore")
            .field("quick_repair", &self.quick_repair)
            .finish_non_exhaustive()
    }
}

impl RedbBlockstore {
    /// Opens the store at `path`, creating the file if it does not exist. A file
    /// left by a crash is repaired by redb while opening.
    pub fn open(path: impl AsRef<Path>) -> Result<Self> {
        Self::open_with(path, RedbOptions::default())
    }

    /// Opens (or creates) the store at `path` with `options`.
    pub fn open_with(path: impl AsRef<Path>, options: RedbOptions) -> Result<Self> {
        let mut builder = Database::builder();
        if let Some(bytes) = options.cache_size {
            builder.set_cache_size(bytes);
        }
        let db = builder.create(path)?;
        let store = Self {
            db,
            quick_repair: options.quick_repair,
            barrier: Barrier::default(),
        };
        // Create the tables up front so that read transactions always find them.
        let txn = store.begin_write()?;
        txn.open_table(BLOCKS)?;
        txn.open_table(ROOTS)?;
        txn.open_table(RECORDS)?;
        txn.commit()?;
        Ok(store)
    }

    /// Stores `blocks` and sets the named `roots` in **one** write transaction: after
    /// a crash either the blocks and the new root pointers are all stored, or none of
    /// them (the roots keep their previous values). Blocks already present are skipped.
    pub fn put_many_keyed_with_roots(
        &self,
        blocks: &[(Cid, Vec<u8>)],
        roots: &[(&str, Cid)],
    ) -> Result<()> {
        self.write(
            blocks.iter().map(|(cid, data)| (cid, data.as_slice())),
            roots,
            &[],
        )
    }

    /// Sets the root pointer `name` to `cid` (one transaction).
    pub fn put_root(&self, name: &str, cid: &Cid) -> Result<()> {
        self.write(std::iter::empty(), &[(name, *cid)], &[])
    }

    /// Removes the root pointer `name` (one transaction); whether it was set.
    /// The blocks it pointed at stay until a garbage collection finds them
    /// unreachable.
    pub fn remove_root(&self, name: &str) -> Result<bool> {
        let txn = self.begin_write()?;
        let removed = txn.open_table(ROOTS)?.remove(name)?.is_some();
        if removed {
            txn.commit()?;
        } else {
            txn.abort()?;
        }
        Ok(removed)
    }

    /// Sets the named `roots` and `records` in **one** write transaction
    /// (after a crash all of them are stored or none is).
    pub fn put_roots_and_records(
        &self,
        roots: &[(&str, Cid)],
        records: &[(&str, &[u8])],
    ) -> Result<()> {
        self.write(std::iter::empty(), roots, records)
    }

    /// Sets the record `name` to `bytes` (one transaction), replacing any
    /// previous value.
    pub fn put_record(&self, name: &str, bytes: &[u8]) -> Result<()> {
        self.write(std::iter::empty(), &[], &[(name, bytes)])
    }

    /// The record `name`, if it is set.
    pub fn record(&self, name: &str) -> Result<Option<Vec<u8>>> {
        let txn = self.db.begin_read()?;
        let Some(table) = open_read(&txn, RECORDS)? else {
            return Ok(None);
        };
        let guard = table.get(name)?;
        Ok(guard.map(|g| g.value().to_vec()))
    }

    /// Moves what an older layout kept as a block under the root `name` into
    /// the record `name`, in one transaction: if the record is not set and
    /// the root is, the block it points at becomes the record and the root is
    /// removed (the block stays, for a collection to find unreachable).
    /// Returns whether something moved. A root whose block is missing is
    /// removed with nothing stored.
    pub fn move_root_to_record(&self, name: &str) -> Result<bool> {
        let txn = self.begin_write()?;
        let moved = {
            let mut roots = txn.open_table(ROOTS)?;
            let mut records = txn.open_table(RECORDS)?;
            let cid = match roots.get(name)? {
                Some(bytes) => Some(parse_cid(name, bytes.value())?),
                None => None,
            };
            match cid {
                Some(cid) if records.get(name)?.is_none() => {
                    let blocks = txn.open_table(BLOCKS)?;
                    let block = blocks
                        .get(cid.to_bytes().as_slice())?
                        .map(|g| g.value().to_vec());
                    if let Some(block) = block {
                        records.insert(name, block.as_slice())?;
                    }
                    roots.remove(name)?;
                    true
                }
                Some(_) => {
                    // Both: the record is the newer one.
                    roots.remove(name)?;
                    true
                }
                None => false,
            }
        };
        if moved {
            txn.commit()?;
        } else {
            txn.abort()?;
        }
        Ok(moved)
    }

    /// The CID the root pointer `name` holds, if it is set.
    pub fn root(&self, name: &str) -> Result<Option<Cid>> {
        let txn = self.db.begin_read()?;
        let Some(table) = open_read(&txn, ROOTS)? else {
            return Ok(None);
        };
        let guard = table.get(name)?;
        guard.map(|g| parse_cid(name, g.value())).transpose()
    }

    /// Every root pointer, ordered by name.
    pub fn roots(&self) -> Result<Vec<(String, Cid)>> {
        let txn = self.db.begin_read()?;
        let Some(table) = open_read(&txn, ROOTS)? else {
            return Ok(Vec::new());
        };
        let mut out = Vec::new();
        for entry in table.iter()? {
            let (name, cid) = entry?;
            let name = name.value().to_owned();
            let cid = parse_cid(&name, cid.value())?;
            out.push((name, cid));
        }
        Ok(out)
    }

    /// Number of blocks stored.
    pub fn block_count(&self) -> Result<u64> {
        let txn = self.db.begin_read()?;
        match open_read(&txn, BLOCKS)? {
            Some(table) => Ok(table.len()?),
            None => Ok(0),
        }
    }

    /// Total size in bytes of the stored blocks (their data, not keys or overhead).
    /// Walks the whole table.
    pub fn total_bytes(&self) -> Result<u64> {
        let txn = self.db.begin_read()?;
        let Some(table) = open_read(&txn, BLOCKS)? else {
            return Ok(0);
        };
        let mut total = 0u64;
        for entry in table.iter()? {
            let (_, data) = entry?;
            total += data.value().len() as u64;
        }
        Ok(total)
    }

    pub(super) fn begin_write(&self) -> Result<WriteTransaction> {
        let mut txn = self.db.begin_write()?;
        txn.set_quick_repair(self.quick_repair);
        Ok(txn)
    }

    /// One write transaction: the blocks not yet present, then the roots and
    /// records. An error drops (aborts) the transaction, so nothing of it is
    /// stored.
    fn write<'a>(
        &self,
        blocks: impl Iterator<Item = (&'a Cid, &'a [u8])>,
        roots: &[(&str, Cid)],
        records: &[(&str, &[u8])],
    ) -> Result<()> {
        let mut blocks = blocks.peekable();
        if blocks.peek().is_none() && roots.is_empty() && records.is_empty() {
            return Ok(());
        }
        let txn = self.begin_write()?;
        let mut inserted = false;
        {
            let mut table = txn.open_table(BLOCKS)?;
            for (cid, data) in blocks {
                let key = cid.to_bytes();
                // Before the check: a block present now is kept by a running
                // collection from here on, one absent is written below.
                self.barrier.touch(&key);
                if table.get(key.as_slice())?.is_none() {
                    table.insert(key.as_slice(), data)?;
                    inserted = true;
                }
            }
        }
        if !inserted && roots.is_empty() && records.is_empty() {
            // Every block was there already: nothing to make durable.
            txn.abort()?;
            return Ok(());
        }
        if !roots.is_empty() {
            let mut table = txn.open_table(ROOTS)?;
            for (name, cid) in roots {
                table.insert(*name, cid.to_bytes().as_slice())?;
            }
        }
        if !records.is_empty() {
            let mut table = txn.open_table(RECORDS)?;
            for (name, bytes) in records {
                table.insert(*name, *bytes)?;
            }
        }
        txn.commit()?;
        Ok(())
    }
}

/// Opens `def` for reading; `None` if the table does not exist (a database this
/// store never wrote to).
pub(super) fn open_read<K: redb::Key + 'static, V: redb::Value + 'static>(
    txn: &ReadTransaction,
    def: TableDefinition<K, V>,
) -> Result<Option<ReadOnlyTable<K, V>>> {
    match txn.open_table(def) {
        Ok(table) => Ok(Some(table)),
        Err(TableError::TableDoesNotExist(_)) => Ok(None),
        Err(e) => Err(e.into()),
    }
}

/// Parses the CID bytes stored under root `name`; anything but exactly one CID is
/// [`Error::CorruptStore`].
fn parse_cid(name: &str, bytes: &[u8]) -> Result<Cid> {
    let mut rest = bytes;
    let cid = Cid::read_bytes(&mut rest)
        .map_err(|e| Error::CorruptStore(format!("root {name:?} is not a CID: {e}")))?;
    if !rest.is_empty() {
        return Err(Error::CorruptStore(format!(
            "root {name:?} has {} trailing bytes after its CID",
            rest.len()
        )));
    }
    Ok(cid)
}

impl Blockstore for RedbBlockstore {
    fn get_raw(&self, cid: &Cid) -> Result<Option<Vec<u8>>> {
        // Before the read: what a collection has not deleted by now, it keeps.
        let key = cid.to_bytes();
        self.barrier.touch(&key);
        let txn = self.db.begin_read()?;
        let Some(table) = open_read(&txn, BLOCKS)? else {
            return Ok(None);
        };
        let guard = table.get(key.as_slice())?;
        Ok(guard.map(|g| g.value().to_vec()))
    }

    fn put_keyed(&self, cid: &Cid, block: &[u8]) -> Result<()> {
        self.write(std::iter::once((cid, block)), &[], &[])
    }

    fn has(&self, cid: &Cid) -> Result<bool> {
        let key = cid.to_bytes();
        self.barrier.touch(&key);
        let txn = self.db.begin_read()?;
        let Some(table) = open_read(&txn, BLOCKS)? else {
            return Ok(false);
        };
        let found = table.get(key.as_slice())?.is_some();
        Ok(found)
    }

    fn put_many_keyed(&self, blocks: &[(Cid, Vec<u8>)]) -> Result<()> {
        self.put_many_keyed_with_roots(blocks, &[])
    }
}

impl BlockstoreExt for RedbBlockstore {
    /// One transaction, as `put_many_keyed`, without copying the blocks first.
    fn put_many_keyed_shared(&self, blocks: &[(Cid, bytes::Bytes)]) -> Result<()> {
        self.write(blocks.iter().map(|(cid, data)| (cid, &data[..])), &[], &[])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::block::{cid_of, DAG_CBOR, RAW};

    fn temp_store() -> (tempfile::TempDir, std::path::PathBuf, RedbBlockstore) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("store.redb");
        let store = RedbBlockstore::open(&path).unwrap();
        (dir, path, store)
    }

    #[test]
    fn put_get_has_round_trip() {
        let (_dir, _path, store) = temp_store();
        let cid = store.put(RAW, b"hello").unwrap();
        assert!(store.has(&cid).unwrap());
        assert_eq!(store.get(&cid).unwrap().unwrap(), b"hello");
        let absent = cid_of(RAW, b"absent");
        assert!(!store.has(&absent).unwrap());
        assert_eq!(store.get(&absent).unwrap(), None);
        // Putting the same block again is a no-op.
        store.put_keyed(&cid, b"hello").unwrap();
        assert_eq!(store.block_count().unwrap(), 1);
        assert_eq!(store.total_bytes().unwrap(), 5);
        // Empty batches are fine.
        store.put_many_keyed(&[]).unwrap();
        store.put_many_keyed_with_roots(&[], &[]).unwrap();
    }

    #[test]
    fn get_rejects_block_under_wrong_cid() {
        let (_dir, _path, store) = temp_store();
        let cid = cid_of(RAW, b"good");
        store.put_keyed(&cid, b"evil").unwrap();
        assert!(store.has(&cid).unwrap());
        assert_eq!(store.get_raw(&cid).unwrap().unwrap(), b"evil");
        assert!(matches!(store.get(&cid), Err(Error::CidMismatch { .. })));
        // A present block is not rewritten, even with different bytes.
        store.put_keyed(&cid, b"good").unwrap();
        assert!(matches!(store.get(&cid), Err(Error::CidMismatch { .. })));
    }

    #[test]
    fn reopen_keeps_blocks_and_roots() {
        let (_dir, path, store) = temp_store();
        let blocks: Vec<(Cid, Vec<u8>)> = (0..50u32)
            .map(|i| {
                let data = vec![i as u8; 100 + i as usize];
                (cid_of(RAW, &data), data)
            })
            .collect();
        store.put_many_keyed(&blocks).unwrap();
        store.put_root("head", &blocks[7].0).unwrap();
        drop(store);

        let store =
            RedbBlockstore::open_with(&path, RedbOptions::default().cache_size(1 << 20)).unwrap();
        for (cid, data) in &blocks {
            assert_eq!(store.get(cid).unwrap().as_ref(), Some(data));
        }
        assert_eq!(store.root("head").unwrap(), Some(blocks[7].0));
        assert_eq!(store.root("other").unwrap(), None);
        assert_eq!(store.block_count().unwrap(), 50);
        let expected: u64 = blocks.iter().map(|(_, d)| d.len() as u64).sum();
        assert_eq!(store.total_bytes().unwrap(), expected);
        assert_eq!(
            store.roots().unwrap(),
            vec![("head".to_owned(), blocks[7].0)]
        );
    }

    #[test]
    fn batch_with_roots_is_visible_together() {
        let (_dir, path, store) = temp_store();
        let leaf = b"leaf".to_vec();
        let leaf_cid = cid_of(RAW, &leaf);
        let node = leaf_cid.to_bytes();
        let node_cid = cid_of(DAG_CBOR, &node);
        store
            .put_many_keyed_with_roots(
                &[(leaf_cid, leaf.clone()), (node_cid, node.clone())],
                &[("head", node_cid), ("safety", leaf_cid)],
            )
            .unwrap();
        // A reader sees the roots and every block they reach at once.
        let head = store.root("head").unwrap().unwrap();
        assert_eq!(head, node_cid);
        let node_back = store.get(&head).unwrap().unwrap();
        let child = Cid::try_from(node_back.as_slice()).unwrap();
        assert_eq!(store.get(&child).unwrap().unwrap(), leaf);
        assert_eq!(store.root("safety").unwrap(), Some(leaf_cid));

        // Moving a root replaces it; old blocks stay.
        let leaf2 = b"leaf2".to_vec();
        let leaf2_cid = cid_of(RAW, &leaf2);
        store
            .put_many_keyed_with_roots(&[(leaf2_cid, leaf2)], &[("safety", leaf2_cid)])
            .unwrap();
        drop(store);
        let store = RedbBlockstore::open(&path).unwrap();
        assert_eq!(store.root("safety").unwrap(), Some(leaf2_cid));
        assert_eq!(store.root("head").unwrap(), Some(node_cid));
        assert_eq!(store.block_count().unwrap(), 3);
    }

    #[test]
    fn failed_batch_stores_nothing() {
        // A transaction that is dropped without commit (as on any error inside `write`)
        // leaves neither blocks nor roots behind.
        let (_dir, _path, store) = temp_store();
        let data = b"never committed".to_vec();
        let cid = cid_of(RAW, &data);
        {
            let txn = store.begin_write().unwrap();
            txn.open_table(BLOCKS)
                .unwrap()
                .insert(cid.to_bytes().as_slice(), data.as_slice())
                .unwrap();
            txn.open_table(ROOTS)
                .unwrap()
                .insert("head", cid.to_bytes().as_slice())
                .unwrap();
        }
        assert!(!store.has(&cid).unwrap());
        assert_eq!(store.root("head").unwrap(), None);
    }

    #[test]
    fn corrupt_root_is_a_typed_error() {
        let (_dir, _path, store) = temp_store();
        let cid = cid_of(RAW, b"x");
        let mut trailing = cid.to_bytes();
        trailing.push(0);
        let txn = store.begin_write().unwrap();
        {
            let mut roots = txn.open_table(ROOTS).unwrap();
            roots.insert("garbage", &[0xff, 0xff, 0x01][..]).unwrap();
            roots.insert("empty", &[][..]).unwrap();
            roots.insert("trailing", trailing.as_slice()).unwrap();
        }
        txn.commit().unwrap();
        for name in ["garbage", "empty", "trailing"] {
            assert!(
                matches!(store.root(name), Err(Error::CorruptStore(_))),
                "{name}"
            );
        }
        assert!(matches!(store.roots(), Err(Error::CorruptStore(_))));
    }

    #[test]
    fn opening_a_non_redb_file_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("junk");
        std::fs::write(&path, vec![0x5a; 10_000]).unwrap();
        assert!(RedbBlockstore::open(&path).is_err());
    }

    #[test]
    fn re_putting_present_blocks_keeps_them_and_the_roots() {
        let (_dir, path, store) = temp_store();
        let cid = store.put(RAW, b"kept").unwrap();
        store.put_root("head", &cid).unwrap();
        // Nothing new: the write is dropped, not committed, and changes nothing.
        store.put_keyed(&cid, b"kept").unwrap();
        store.put_many_keyed(&[(cid, b"kept".to_vec())]).unwrap();
        drop(store);
        let store = RedbBlockstore::open(&path).unwrap();
        assert_eq!(store.get(&cid).unwrap().unwrap(), b"kept");
        assert_eq!(store.root("head").unwrap(), Some(cid));
        assert_eq!(store.block_count().unwrap(), 1);
    }

    #[test]
    fn records_are_apart_from_blocks_and_roots() {
        let (_dir, path, store) = temp_store();
        let cid = store.put(RAW, b"x").unwrap();
        store
            .put_roots_and_records(&[("head", cid)], &[("peers", b"one"), ("pending", b"")])
            .unwrap();
        store.put_record("peers", b"two").unwrap();
        drop(store);
        let store = RedbBlockstore::open(&path).unwrap();
        assert_eq!(store.record("peers").unwrap().as_deref(), Some(&b"two"[..]));
        assert_eq!(store.record("pending").unwrap().as_deref(), Some(&b""[..]));
        assert_eq!(store.record("absent").unwrap(), None);
        assert_eq!(store.block_count().unwrap(), 1);
        assert_eq!(store.roots().unwrap(), vec![("head".to_owned(), cid)]);
        assert!(store.remove_root("head").unwrap());
        assert!(!store.remove_root("head").unwrap());
        assert_eq!(store.root("head").unwrap(), None);
    }

    #[test]
    fn a_root_over_a_block_moves_into_a_record() {
        let (_dir, _path, store) = temp_store();
        let old = store.put(DAG_CBOR, &[0x81, 0x01]).unwrap();
        store.put_root("peers", &old).unwrap();
        assert!(store.move_root_to_record("peers").unwrap());
        assert_eq!(
            store.record("peers").unwrap().as_deref(),
            Some(&[0x81, 0x01][..])
        );
        assert_eq!(store.root("peers").unwrap(), None);
        // Once moved, nothing more to do.
        assert!(!store.move_root_to_record("peers").unwrap());
        // A record already there wins over a stale root.
        store.put_root("peers", &old).unwrap();
        store.put_record("peers", b"newer").unwrap();
        assert!(store.move_root_to_record("peers").unwrap());
        assert_eq!(
            store.record("peers").unwrap().as_deref(),
            Some(&b"newer"[..])
        );
        // A root whose block is gone is dropped.
        store.put_root("pending", &cid_of(RAW, b"gone")).unwrap();
        assert!(store.move_root_to_record("pending").unwrap());
        assert_eq!(store.record("pending").unwrap(), None);
        assert_eq!(store.root("pending").unwrap(), None);
    }

    #[test]
    fn store_is_send_sync() {
        fn assert_send_sync<T: Send + Sync>() {}
        assert_send_sync::<RedbBlockstore>();
    }
}
