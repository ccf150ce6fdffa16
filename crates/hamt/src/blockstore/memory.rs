//! An in-memory block store.

use std::collections::HashMap;
use std::sync::{PoisonError, RwLock};

use cid::Cid;

use super::Blockstore;
use crate::{block, Result};

/// A block store in memory: the embedded default and the store of tests.
///
/// It is `Send + Sync`; clones of the bytes are handed out on `get`. It
/// remembers which blocks it hashed itself ([`put`](Blockstore::put)
/// computes the CID) and hands those out without re-hashing from
/// [`get_trusted`](Blockstore::get_trusted); blocks stored with
/// [`put_keyed`](Blockstore::put_keyed) (the caller vouches for the CID) are
/// re-hashed there as everywhere else.
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
    blocks: RwLock<HashMap<Cid, Entry>>,
}

/// One stored block.
#[derive(Debug)]
struct Entry {
    data: Vec<u8>,
    /// Whether this store computed the CID from `data` (then `data` is known
    /// to match it).
    hashed: bool,
}

impl Entry {
    fn keyed(data: &[u8]) -> Self {
        Entry {
            data: data.to_vec(),
            hashed: false,
        }
    }
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
        blocks.values().map(|e| e.data.len()).sum()
    }
}

impl Blockstore for MemoryBlockstore {
    fn get_raw(&self, cid: &Cid) -> Result<Option<Vec<u8>>> {
        let blocks = self.blocks.read().unwrap_or_else(PoisonError::into_inner);
        Ok(blocks.get(cid).map(|e| e.data.clone()))
    }

    fn get_trusted(&self, cid: &Cid) -> Result<Option<Vec<u8>>> {
        let blocks = self.blocks.read().unwrap_or_else(PoisonError::into_inner);
        match blocks.get(cid) {
            None => Ok(None),
            Some(e) if e.hashed => Ok(Some(e.data.clone())),
            Some(e) => {
                block::verify(cid, &e.data)?;
                Ok(Some(e.data.clone()))
            }
        }
    }

    fn put_keyed(&self, cid: &Cid, block: &[u8]) -> Result<()> {
        let mut blocks = self.blocks.write().unwrap_or_else(PoisonError::into_inner);
        blocks.entry(*cid).or_insert_with(|| Entry::keyed(block));
        Ok(())
    }

    /// Hashes `data` here, so the block is trusted by
    /// [`get_trusted`](Blockstore::get_trusted); it also replaces bytes a
    /// [`put_keyed`](Blockstore::put_keyed) caller stored under a wrong CID.
    fn put(&self, codec: u64, data: &[u8]) -> Result<Cid> {
        let cid = block::cid_of(codec, data);
        let mut blocks = self.blocks.write().unwrap_or_else(PoisonError::into_inner);
        let entry = blocks.entry(cid).or_insert_with(|| Entry::keyed(data));
        if !entry.hashed {
            if entry.data != data {
                entry.data = data.to_vec();
            }
            entry.hashed = true;
        }
        Ok(cid)
    }

    fn has(&self, cid: &Cid) -> Result<bool> {
        let blocks = self.blocks.read().unwrap_or_else(PoisonError::into_inner);
        Ok(blocks.contains_key(cid))
    }

    fn put_many_keyed(&self, batch: &[(Cid, Vec<u8>)]) -> Result<()> {
        let mut blocks = self.blocks.write().unwrap_or_else(PoisonError::into_inner);
        for (cid, data) in batch {
            blocks.entry(*cid).or_insert_with(|| Entry::keyed(data));
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

    #[test]
    fn trusted_reads_rehash_what_the_store_did_not_hash() {
        let store = MemoryBlockstore::new();
        let cid = cid_of(RAW, b"good");
        // Stored under a CID the caller vouched for, wrongly: never handed out.
        store.put_keyed(&cid, b"evil").unwrap();
        assert!(matches!(
            store.get_trusted(&cid),
            Err(Error::CidMismatch { .. })
        ));
        // Hashed by the store itself: the right bytes replace the wrong ones.
        assert_eq!(store.put(RAW, b"good").unwrap(), cid);
        assert_eq!(store.get_trusted(&cid).unwrap().unwrap(), b"good");
        assert_eq!(store.get(&cid).unwrap().unwrap(), b"good");
        // A keyed block with the right bytes is served too, after its hash.
        let other = cid_of(RAW, b"keyed");
        store.put_keyed(&other, b"keyed").unwrap();
        assert_eq!(store.get_trusted(&other).unwrap().unwrap(), b"keyed");
        assert_eq!(store.get_trusted(&cid_of(RAW, b"absent")).unwrap(), None);
        // Through an `Arc`, `put` still reaches the store's own (hashing) put.
        let shared = std::sync::Arc::new(MemoryBlockstore::new());
        let cid = shared.put(RAW, b"x").unwrap();
        assert!(shared.blocks.read().unwrap().get(&cid).unwrap().hashed);
    }
}
