//! A persistent block store on redb. (Being written.)

use std::path::Path;

use cid::Cid;

use super::Blockstore;
use crate::Result;

/// A persistent block store in one redb file.
#[derive(Debug)]
pub struct RedbBlockstore {
    db: redb::Database,
}

impl RedbBlockstore {
    /// Opens (or creates) the store at `path`.
    pub fn open(path: impl AsRef<Path>) -> Result<Self> {
        let db = redb::Database::create(path)?;
        Ok(Self { db })
    }
}

impl Blockstore for RedbBlockstore {
    fn get_raw(&self, _cid: &Cid) -> Result<Option<Vec<u8>>> {
        let _ = &self.db;
        Ok(None)
    }
    fn put_keyed(&self, _cid: &Cid, _block: &[u8]) -> Result<()> {
        Ok(())
    }
    fn has(&self, _cid: &Cid) -> Result<bool> {
        Ok(false)
    }
}
