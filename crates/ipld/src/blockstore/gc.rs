//! Mark-and-sweep garbage collection for [`RedbBlockstore`].
//!
//! A collection runs in three steps, none of which holds redb's writer for
//! long:
//!
//! 1. [`RedbBlockstore::begin_collection`] raises the **barrier**: from then
//!    on, every block key the store reads ([`get_raw`](Blockstore::get_raw),
//!    [`has`](Blockstore::has)) or writes (present or not) is recorded as
//!    touched, and a touched block is never deleted by this collection. The
//!    caller reads its roots *after* this call, so a root set at any time
//!    after the barrier is either among the roots or was built from blocks
//!    the barrier recorded.
//! 2. [`Collection::mark`] walks the links (tag 42, see
//!    [`block::links`](crate::block::links)) from each root with a visited
//!    set, reading blocks from one read transaction. A raw block has no
//!    links; a block that does not parse is kept with nothing followed; a
//!    missing block is counted and skipped. A *cut* stops the walk at a
//!    block (it is not marked unless a root or another path reaches it):
//!    the node cuts its chain below the mutable range.
//! 3. [`Collection::sweep`] lists the unmarked keys from one read
//!    transaction, then deletes them in write transactions of at most
//!    `batch` keys each, skipping touched ones. Each batch is its own redb
//!    transaction, so a crash or `SIGKILL` loses at most an uncommitted batch
//!    of garbage; nothing reachable is ever deleted.
//!
//! Snapshot rule: a block written after the barrier rose is touched and so
//! survives; a block read (e.g. by a validation that found it already
//! present) after it rose survives too. Only blocks that existed before the
//! collection began, were not reached from the roots, and were not read or
//! written during it are deleted.

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use cid::Cid;
use redb::{ReadableDatabase, ReadableTable};

use super::redb_store::{open_read, BLOCKS};
use super::RedbBlockstore;
use crate::{block, Error, Result};

/// Keys deleted per write transaction by default.
pub const DEFAULT_SWEEP_BATCH: usize = 1024;

/// The keys read or written while a collection runs.
#[derive(Default)]
pub(super) struct Barrier {
    active: AtomicBool,
    touched: Mutex<HashSet<Vec<u8>>>,
}

impl Barrier {
    /// Records `key` if a collection runs.
    pub(super) fn touch(&self, key: &[u8]) {
        if self.active.load(Ordering::Acquire) {
            let mut touched = self.lock();
            // Checked again under the lock: the collection may have ended.
            if self.active.load(Ordering::Acquire) {
                touched.insert(key.to_vec());
            }
        }
    }

    fn lock(&self) -> MutexGuard<'_, HashSet<Vec<u8>>> {
        self.touched
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Raises the barrier; `false` if a collection already runs.
    fn raise(&self) -> bool {
        let mut touched = self.lock();
        if self.active.load(Ordering::Acquire) {
            return false;
        }
        touched.clear();
        self.active.store(true, Ordering::Release);
        true
    }

    fn lower(&self) {
        let mut touched = self.lock();
        self.active.store(false, Ordering::Release);
        touched.clear();
        touched.shrink_to_fit();
    }
}

/// What a collection did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct GcReport {
    /// Blocks reached from the roots (marked).
    pub marked: u64,
    /// Reached links whose blocks the store lacked.
    pub missing: u64,
    /// Reached blocks kept without following links: not DAG-CBOR or raw, or
    /// not well-formed.
    pub unreadable: u64,
    /// Unmarked blocks kept because they were read or written during the
    /// collection.
    pub touched: u64,
    /// Blocks deleted.
    pub deleted: u64,
    /// Bytes of the blocks deleted.
    pub deleted_bytes: u64,
    /// Write transactions the sweep committed.
    pub batches: u64,
    /// Whether the collection stopped early on its cancel flag (what it
    /// deleted until then stays deleted; nothing reachable was).
    pub cancelled: bool,
}

/// One running collection, from [`RedbBlockstore::begin_collection`]:
/// [`mark`](Self::mark) from the roots, then [`sweep`](Self::sweep).
/// Dropping it ends the collection (the barrier falls) without deleting
/// anything not yet swept.
pub struct Collection<'a> {
    store: &'a RedbBlockstore,
    marked: HashSet<Vec<u8>>,
    report: GcReport,
    cancel: Option<Arc<AtomicBool>>,
}

impl std::fmt::Debug for Collection<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Collection")
            .field("marked", &self.marked.len())
            .field("report", &self.report)
            .finish_non_exhaustive()
    }
}

impl RedbBlockstore {
    /// Starts a mark-and-sweep collection. From now on every block key the
    /// store reads or writes (present or not) survives it: only blocks that
    /// existed before, are not reached from the roots and are neither read
    /// nor written while it runs are deleted. Read the roots to keep *after*
    /// this call, then [`mark`](Collection::mark) (links followed: tag-42
    /// CIDs of DAG-CBOR blocks, [`block::links`](crate::block::links)) and
    /// [`sweep`](Collection::sweep) (deletions in transactions of `batch`
    /// keys, each committed on its own: a crash loses nothing reachable).
    /// [`Error::CollectionRunning`] if another collection of this store runs.
    ///
    /// ```
    /// use std::collections::HashSet;
    /// use tau_ipld::{Blockstore, RedbBlockstore, block::RAW};
    /// let dir = tempfile::tempdir()?;
    /// let store = RedbBlockstore::open(dir.path().join("gc.redb"))?;
    /// let kept = store.put(RAW, b"kept")?;
    /// let garbage = store.put(RAW, b"garbage")?;
    /// let mut collection = store.begin_collection()?;
    /// collection.mark(&[kept], &HashSet::new())?;
    /// let fresh = store.put(RAW, b"written meanwhile")?;
    /// let report = collection.sweep(1024)?;
    /// assert_eq!(report.deleted, 1);
    /// assert!(store.has(&kept)? && store.has(&fresh)? && !store.has(&garbage)?);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn begin_collection(&self) -> Result<Collection<'_>> {
        if !self.barrier.raise() {
            return Err(Error::CollectionRunning);
        }
        Ok(Collection {
            store: self,
            marked: HashSet::new(),
            report: GcReport::default(),
            cancel: None,
        })
    }

    /// A whole collection: keeps what `roots` reach (not descending into
    /// `cuts`), deletes the rest in transactions of `batch` keys.
    pub fn collect_garbage(
        &self,
        roots: &[Cid],
        cuts: &HashSet<Cid>,
        batch: usize,
    ) -> Result<GcReport> {
        let mut collection = self.begin_collection()?;
        collection.mark(roots, cuts)?;
        collection.sweep(batch)
    }
}

impl Collection<'_> {
    /// Stops the collection early once `cancel` is set (checked between
    /// blocks while marking and between the sweep's transactions). A mark
    /// cancelled deletes nothing.
    pub fn cancel_on(mut self, cancel: Arc<AtomicBool>) -> Self {
        self.cancel = Some(cancel);
        self
    }

    fn cancelled(&self) -> bool {
        self.cancel
            .as_ref()
            .is_some_and(|c| c.load(Ordering::Relaxed))
    }

    /// Marks every block reachable from `roots` along links, not descending
    /// into a block of `cuts` (unless it is itself one of `roots`). May be
    /// called several times; blocks marked stay marked.
    pub fn mark(&mut self, roots: &[Cid], cuts: &HashSet<Cid>) -> Result<()> {
        let txn = self.store.db.begin_read()?;
        let Some(table) = open_read(&txn, BLOCKS)? else {
            return Ok(());
        };
        let mut stack: Vec<Cid> = roots.to_vec();
        let is_root: HashSet<Cid> = roots.iter().copied().collect();
        while let Some(cid) = stack.pop() {
            if self.cancelled() {
                self.report.cancelled = true;
                return Ok(());
            }
            if cuts.contains(&cid) && !is_root.contains(&cid) {
                continue;
            }
            let key = cid.to_bytes();
            if self.marked.contains(&key) {
                continue;
            }
            let Some(data) = table.get(key.as_slice())? else {
                self.report.missing += 1;
                continue;
            };
            let links = block::links(&cid, data.value());
            drop(data);
            self.marked.insert(key);
            self.report.marked += 1;
            match links {
                Ok(links) => stack.extend(links),
                Err(_) => self.report.unreadable += 1,
            }
        }
        Ok(())
    }

    /// Deletes the blocks neither marked nor touched, `batch` keys (at
    /// least 1) per write transaction, and ends the collection.
    pub fn sweep(mut self, batch: usize) -> Result<GcReport> {
        if self.report.cancelled || self.cancelled() {
            // An interrupted mark must not decide what is garbage.
            self.report.cancelled = true;
            return Ok(self.report);
        }
        let garbage = self.unmarked()?;
        for chunk in garbage.chunks(batch.max(1)) {
            if self.cancelled() {
                self.report.cancelled = true;
                break;
            }
            let txn = self.store.begin_write()?;
            let mut deleted = 0u64;
            let mut bytes = 0u64;
            let mut touched_kept = 0u64;
            {
                let mut table = txn.open_table(BLOCKS)?;
                // Held until the commit: a reader touching a key now either
                // comes first (the key is kept) or reads after the commit
                // (and finds it gone). Writers touch inside their own write
                // transaction, so they cannot interleave with this one.
                let touched = self.store.barrier.lock();
                for key in chunk {
                    if touched.contains(key) {
                        touched_kept += 1;
                        continue;
                    }
                    if let Some(old) = table.remove(key.as_slice())? {
                        deleted += 1;
                        bytes += old.value().len() as u64;
                    }
                }
                drop(table);
                if deleted > 0 {
                    txn.commit()?;
                    self.report.batches += 1;
                } else {
                    txn.abort()?;
                }
                drop(touched);
            }
            self.report.deleted += deleted;
            self.report.deleted_bytes += bytes;
            self.report.touched += touched_kept;
        }
        Ok(self.report)
    }

    /// What the mark has reached so far.
    pub fn report(&self) -> GcReport {
        self.report
    }

    /// The keys present now that are not marked.
    fn unmarked(&self) -> Result<Vec<Vec<u8>>> {
        let txn = self.store.db.begin_read()?;
        let Some(table) = open_read(&txn, BLOCKS)? else {
            return Ok(Vec::new());
        };
        let mut out = Vec::new();
        for entry in table.iter()? {
            let (key, _) = entry?;
            let key = key.value();
            if !self.marked.contains(key) {
                out.push(key.to_vec());
            }
        }
        Ok(out)
    }
}

impl Drop for Collection<'_> {
    fn drop(&mut self) {
        self.store.barrier.lower();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::block::{cid_of, DAG_CBOR, RAW};
    use crate::Blockstore;

    /// A DAG-CBOR list of links to `children` (and a tag making it unique).
    fn node(store: &RedbBlockstore, tag: u64, children: &[Cid]) -> Cid {
        #[derive(serde::Serialize)]
        struct Node(u64, Vec<Cid>);
        let bytes = serde_ipld_dagcbor::to_vec(&Node(tag, children.to_vec())).unwrap();
        store.put(DAG_CBOR, &bytes).unwrap()
    }

    fn temp_store() -> (tempfile::TempDir, RedbBlockstore) {
        let dir = tempfile::tempdir().unwrap();
        let store = RedbBlockstore::open(dir.path().join("gc.redb")).unwrap();
        (dir, store)
    }

    #[test]
    fn deletes_unreachable_keeps_reachable() {
        let (_dir, store) = temp_store();
        let leaves: Vec<Cid> = (0..10u8)
            .map(|i| store.put(RAW, &[i; 40]).unwrap())
            .collect();
        let shared = node(&store, 1, &leaves[..3]);
        let root = node(&store, 2, &[shared, leaves[3]]);
        let old = node(&store, 3, &[shared, leaves[4], leaves[5]]);
        let below_cut = node(&store, 4, &[leaves[6]]);
        let cut = node(&store, 5, &[below_cut, leaves[7]]);
        let top = node(&store, 6, &[cut]);
        // A link to a block the store lacks is skipped.
        let dangling = cid_of(RAW, b"absent");
        let with_missing = node(&store, 7, &[dangling]);
        let before = store.block_count().unwrap();

        let cuts: HashSet<Cid> = [cut].into();
        let report = store
            .collect_garbage(&[root, top, with_missing], &cuts, 2)
            .unwrap();
        // Kept: root, shared, leaves 0..=3, top, with_missing.
        for cid in [root, shared, top, with_missing].iter().chain(&leaves[..4]) {
            assert!(store.get(cid).unwrap().is_some(), "{cid} kept");
        }
        // Gone: old, its own leaves, the cut and everything only under it,
        // and the unreferenced leaves.
        for cid in [old, cut, below_cut].iter().chain(&leaves[4..]) {
            assert!(!store.has(cid).unwrap(), "{cid} deleted");
        }
        assert_eq!(report.marked, 8);
        assert_eq!(report.missing, 1);
        assert_eq!(report.deleted, before - 8);
        assert_eq!(store.block_count().unwrap(), 8);
        // Batches of two keys: several transactions.
        assert!(report.batches >= 4, "{report:?}");
        // A second collection finds nothing more.
        let again = store
            .collect_garbage(&[root, top, with_missing], &cuts, 2)
            .unwrap();
        assert_eq!(again.deleted, 0);
    }

    #[test]
    fn a_root_is_kept_even_when_cut() {
        let (_dir, store) = temp_store();
        let leaf = store.put(RAW, b"leaf").unwrap();
        let root = node(&store, 1, &[leaf]);
        let report = store
            .collect_garbage(&[root], &[root].into(), DEFAULT_SWEEP_BATCH)
            .unwrap();
        assert_eq!(report.deleted, 0);
        assert!(store.has(&leaf).unwrap());
    }

    #[test]
    fn blocks_written_or_read_during_the_collection_survive() {
        let (_dir, store) = temp_store();
        let kept = node(&store, 1, &[]);
        let garbage = store.put(RAW, b"garbage").unwrap();
        let read_later = store.put(RAW, b"read during the collection").unwrap();
        let rewritten = store
            .put(RAW, b"written again during the collection")
            .unwrap();

        let mut collection = store.begin_collection().unwrap();
        // Only one collection at a time.
        assert!(matches!(
            store.begin_collection(),
            Err(Error::CollectionRunning)
        ));
        collection.mark(&[kept], &HashSet::new()).unwrap();
        // After the mark: a new block, a read of an old unmarked one (as a
        // validation finding it present does) and a re-put of another.
        let fresh = store.put(RAW, b"written during the collection").unwrap();
        assert!(store.get(&read_later).unwrap().is_some());
        store
            .put_keyed(&rewritten, b"written again during the collection")
            .unwrap();
        let report = collection.sweep(DEFAULT_SWEEP_BATCH).unwrap();

        assert_eq!(report.deleted, 1, "{report:?}");
        assert_eq!(report.touched, 3, "{report:?}");
        assert!(!store.has(&garbage).unwrap());
        for cid in [kept, fresh, read_later, rewritten] {
            assert!(store.get(&cid).unwrap().is_some(), "{cid} survives");
        }
        // The barrier fell with the collection: the next one may delete them.
        let report = store
            .collect_garbage(&[kept], &HashSet::new(), DEFAULT_SWEEP_BATCH)
            .unwrap();
        assert_eq!(report.deleted, 3);
    }

    #[test]
    fn a_cancelled_mark_deletes_nothing() {
        let (_dir, store) = temp_store();
        let root = node(&store, 1, &[]);
        store.put(RAW, b"garbage").unwrap();
        let cancel = Arc::new(AtomicBool::new(true));
        let report = store
            .begin_collection()
            .unwrap()
            .cancel_on(cancel)
            .sweep(DEFAULT_SWEEP_BATCH)
            .unwrap();
        assert!(report.cancelled);
        assert_eq!(store.block_count().unwrap(), 2);
        let mut collection = store
            .begin_collection()
            .unwrap()
            .cancel_on(Arc::new(AtomicBool::new(true)));
        collection.mark(&[root], &HashSet::new()).unwrap();
        assert!(collection.report().cancelled);
        assert_eq!(collection.sweep(1).unwrap().deleted, 0);
        assert_eq!(store.block_count().unwrap(), 2);
    }

    #[test]
    fn unreadable_reached_blocks_are_kept() {
        let (_dir, store) = temp_store();
        let bad = cid_of(DAG_CBOR, &[0xff, 0x00]);
        store.put_keyed(&bad, &[0xff, 0x00]).unwrap();
        let report = store
            .collect_garbage(&[bad], &HashSet::new(), DEFAULT_SWEEP_BATCH)
            .unwrap();
        assert_eq!(report.unreadable, 1);
        assert_eq!(report.deleted, 0);
        assert!(store.has(&bad).unwrap());
    }
}
