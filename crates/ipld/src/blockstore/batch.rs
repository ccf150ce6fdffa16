//! A write batch over a block store: puts collect in memory and reach the
//! store in one [`put_many_keyed`](Blockstore::put_many_keyed) per flush —
//! one transaction on [`RedbBlockstore`](super::RedbBlockstore) instead of
//! one per block.

use std::collections::HashMap;
use std::sync::Mutex;

use cid::Cid;

use super::Blockstore;
use crate::{Error, Result};

/// Buffers writes to `base`; flushes by itself once `limit` bytes are
/// buffered, and on [`flush`](WriteBatch::flush). Reads see buffered blocks.
/// Dropping a batch without flushing discards what it buffered.
///
/// ```
/// use tau_ipld::blockstore::WriteBatch;
/// use tau_ipld::{block::RAW, Blockstore, MemoryBlockstore};
/// let store = MemoryBlockstore::new();
/// let batch = WriteBatch::new(&store, 1 << 20);
/// let cid = batch.put(RAW, b"section")?;
/// assert!(batch.has(&cid)? && !store.has(&cid)?);
/// batch.flush()?;
/// assert!(store.has(&cid)?);
/// # Ok::<(), tau_ipld::Error>(())
/// ```
#[derive(Debug)]
pub struct WriteBatch<'a, BS: ?Sized> {
    base: &'a BS,
    limit: usize,
    pending: Mutex<Pending>,
}

#[derive(Debug, Default)]
struct Pending {
    blocks: HashMap<Cid, Vec<u8>>,
    bytes: usize,
}

impl<'a, BS: Blockstore + ?Sized> WriteBatch<'a, BS> {
    /// A batch over `base` that flushes itself past `limit` buffered bytes.
    pub fn new(base: &'a BS, limit: usize) -> Self {
        Self {
            base,
            limit,
            pending: Mutex::new(Pending::default()),
        }
    }

    /// Writes every buffered block to the base store in one batch.
    pub fn flush(&self) -> Result<()> {
        let mut pending = self.lock()?;
        Self::write(self.base, &mut pending)
    }

    fn write(base: &BS, pending: &mut Pending) -> Result<()> {
        if pending.blocks.is_empty() {
            return Ok(());
        }
        let blocks: Vec<(Cid, Vec<u8>)> = pending.blocks.drain().collect();
        pending.bytes = 0;
        base.put_many_keyed(&blocks)
    }

    fn lock(&self) -> Result<std::sync::MutexGuard<'_, Pending>> {
        self.pending
            .lock()
            .map_err(|_| Error::Io(std::io::Error::other("write batch lock poisoned")))
    }
}

impl<BS: Blockstore + ?Sized> Blockstore for WriteBatch<'_, BS> {
    fn get_raw(&self, cid: &Cid) -> Result<Option<Vec<u8>>> {
        if let Some(data) = self.lock()?.blocks.get(cid) {
            return Ok(Some(data.clone()));
        }
        self.base.get_raw(cid)
    }

    fn put_keyed(&self, cid: &Cid, block: &[u8]) -> Result<()> {
        let mut pending = self.lock()?;
        if pending.blocks.insert(*cid, block.to_vec()).is_none() {
            pending.bytes += block.len();
        }
        if pending.bytes >= self.limit {
            Self::write(self.base, &mut pending)?;
        }
        Ok(())
    }

    fn has(&self, cid: &Cid) -> Result<bool> {
        Ok(self.lock()?.blocks.contains_key(cid) || self.base.has(cid)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::block::RAW;
    use crate::MemoryBlockstore;

    #[test]
    fn blocks_reach_the_base_on_flush_or_past_the_limit() {
        let base = MemoryBlockstore::new();
        let batch = WriteBatch::new(&base, 100);
        let a = batch.put(RAW, &[1; 60]).unwrap();
        assert!(!base.has(&a).unwrap());
        assert_eq!(batch.get(&a).unwrap(), Some(vec![1; 60]));
        // The same block again is not counted twice.
        batch.put(RAW, &[1; 60]).unwrap();
        assert!(!base.has(&a).unwrap());
        let b = batch.put(RAW, &[2; 60]).unwrap();
        assert!(
            base.has(&a).unwrap() && base.has(&b).unwrap(),
            "past the limit"
        );
        let c = batch.put(RAW, &[3; 10]).unwrap();
        assert!(!base.has(&c).unwrap());
        batch.flush().unwrap();
        assert_eq!(base.get(&c).unwrap(), Some(vec![3; 10]));
        batch.flush().unwrap();
    }

    #[test]
    fn an_unflushed_batch_leaves_the_base_untouched() {
        let base = MemoryBlockstore::new();
        let cid = {
            let batch = WriteBatch::new(&base, 1 << 20);
            batch.put(RAW, b"dropped").unwrap()
        };
        assert!(!base.has(&cid).unwrap());
    }
}
