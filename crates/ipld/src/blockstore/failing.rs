//! A store whose disk fails on chosen blocks: for testing that code tells a
//! failure of its own store from bad data (a failing read must never be
//! blamed on whoever sent the block).

use std::collections::HashSet;

use cid::Cid;

use super::Blockstore;
use crate::{Error, Result};

/// Wraps a store and fails every read of the chosen blocks with an I/O
/// error, as a failing disk would; everything else goes to the base.
///
/// ```
/// use tau_ipld::blockstore::FailingReads;
/// use tau_ipld::block::RAW;
/// use tau_ipld::{Blockstore, MemoryBlockstore};
///
/// let base = MemoryBlockstore::new();
/// let good = base.put(RAW, b"good")?;
/// let bad = base.put(RAW, b"bad")?;
/// let disk = FailingReads::new(&base, [bad]);
/// assert!(disk.get(&good)?.is_some());
/// let err = disk.get(&bad).unwrap_err();
/// assert!(err.is_store_failure());
/// # Ok::<(), tau_ipld::Error>(())
/// ```
#[derive(Debug)]
pub struct FailingReads<BS> {
    base: BS,
    bad: HashSet<Cid>,
}

impl<BS: Blockstore> FailingReads<BS> {
    /// `base`, failing reads of the blocks in `bad`.
    pub fn new(base: BS, bad: impl IntoIterator<Item = Cid>) -> Self {
        Self {
            base,
            bad: bad.into_iter().collect(),
        }
    }
}

impl<BS: Blockstore> Blockstore for FailingReads<BS> {
    fn get_raw(&self, cid: &Cid) -> Result<Option<Vec<u8>>> {
        if self.bad.contains(cid) {
            return Err(Error::Io(std::io::Error::other(format!(
                "disk failed reading {cid}"
            ))));
        }
        self.base.get_raw(cid)
    }

    fn put_keyed(&self, cid: &Cid, block: &[u8]) -> Result<()> {
        self.base.put_keyed(cid, block)
    }

    fn has(&self, cid: &Cid) -> Result<bool> {
        self.base.has(cid)
    }
}
