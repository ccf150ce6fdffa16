//! An in-memory block store.

use std::collections::HashMap;
use std::sync::{PoisonError, RwLock};

use cid::Cid;

use super::Blockstore;
use crate::Result;

/// A block store in memory: the embedded default and the store of tests.
///
/// It is `Send + Sync`; clones of the bytes are handed out on `get`.
///
/// ```
/// use tau_hamt::{Blockstore, MemoryBlockstore, block::RAW};
/// let store = MemoryBlockstore::new();
/// let cid = store.put(RAW, b"chunk")?;
/// assert_eq!(store.get(&cid)?.as_deref(), Some(&b"chunk"[..]));
/// # Ok::<(), tau_hamt::Error>(())
/// ```
#[derive(Debug, Default)]
pub struct MemoryBlockstore {
    blocks: RwLock<HashMap<Cid, Vec<u8>>>,
}

impl MemoryBlockstore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// Number of blocks stored.
    pub fn len(&self) -> usize {
        self.blocks
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
    }

    /// Whether the store holds no block.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Total size in bytes of the stored blocks.
    pub fn total_bytes(&self) -> usize {
        let blocks = self.blocks.read().unwrap_or_else(PoisonError::into_inner);
        blocks.values().map(Vec::len).sum()
    }
}

impl Blockstore for MemoryBlockstore {
    fn get_raw(&self, cid: &Cid) -> Result<Option<Vec<u8>>> {
        let blocks = self.blocks.read().unwrap_or_else(PoisonError::into_inner);
        Ok(blocks.get(cid).cloned())
    }

    fn put_keyed(&self, cid: &Cid, block: &[u8]) -> Result<()> {
        let mut blocks = self.blocks.write().unwrap_or_else(PoisonError::into_inner);
        blocks.entry(*cid).or_insert_with(|| block.to_vec());
        Ok(())
    }

    fn has(&self, cid: &Cid) -> Result<bool> {
        let blocks = self.blocks.read().unwrap_or_else(PoisonError::into_inner);
        Ok(blocks.contains_key(cid))
    }

    fn put_many_keyed(&self, batch: &[(Cid, Vec<u8>)]) -> Result<()> {
        let mut blocks = self.blocks.write().unwrap_or_else(PoisonError::into_inner);
        for (cid, data) in batch {
            blocks.entry(*cid).or_insert_with(|| data.clone());
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::block::{cid_of, RAW};
    use crate::Error;

    #[test]
    fn get_verifies_blocks() {
        let store = MemoryBlockstore::new();
        let cid = cid_of(RAW, b"good");
        // A block stored under the wrong CID is never handed out.
        store.put_keyed(&cid, b"evil").unwrap();
        assert!(matches!(store.get(&cid), Err(Error::CidMismatch { .. })));
        assert!(store.has(&cid).unwrap());
        let other = store.put(RAW, b"fine").unwrap();
        assert_eq!(store.get(&other).unwrap().unwrap(), b"fine");
        assert_eq!(store.get(&cid_of(RAW, b"absent")).unwrap(), None);
    }
}
