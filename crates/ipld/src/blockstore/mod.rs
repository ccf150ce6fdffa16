//! Content-addressed block storage.
//!
//! [`Blockstore`] is the one storage abstraction of the workspace: the HAMT,
//! the DAG and the node all read and write through it. Implementations store
//! bytes under CIDs; [`Blockstore::get`] re-hashes every block it hands out.
//! A store implements three methods (`get_raw`, `put_keyed`, `has`) and may
//! override the batch writes. [`BlockstoreExt`] adds what only a Graphsync
//! peer needs: handing out blocks it hashed itself without hashing them again,
//! and keeping received blocks in shared buffers without a copy. Every method
//! of it has a default, so a store opts in with an empty `impl`.
//!
//! # Trust boundary
//!
//! A block is trusted only once it was hashed in this process:
//! [`Blockstore::get`] always re-hashes; [`BlockstoreExt::get_trusted`] may skip
//! the hash for blocks the store itself hashed when they were written (the
//! [`MemoryBlockstore`] does, for blocks stored with [`Blockstore::put`]), and
//! re-hashes everything else, including every block read back from disk.
//! Use `get_trusted` only to hand our own blocks to others (a Graphsync
//! responder): whoever receives them must still hash each one against its CID
//! before using it, as the Graphsync requester always does.
//!
//! [`SharedStore`] is the store type of a running node: one store behind an
//! `Arc`, shared by the Graphsync service, the chain and the attachment
//! server.

mod batch;
mod failing;
#[cfg(feature = "redb")]
mod gc;
mod memory;
mod quarantine;
#[cfg(feature = "redb")]
mod redb_store;
mod slot_table;

pub use batch::WriteBatch;
pub use failing::FailingReads;
#[cfg(feature = "redb")]
pub use gc::{Collection, GcReport, DEFAULT_SWEEP_BATCH};
pub use memory::MemoryBlockstore;
pub use quarantine::{ByteBudget, Quarantine};
#[cfg(feature = "redb")]
pub use redb_store::{RedbBlockstore, RedbOptions};

use std::rc::Rc;
use std::sync::Arc;

use bytes::Bytes;
use cid::Cid;

use crate::{block, Result};

/// A store of blocks addressed by CID.
///
/// Implementors provide [`get_raw`](Blockstore::get_raw), [`put_keyed`](Blockstore::put_keyed)
/// and [`has`](Blockstore::has); callers read with [`get`](Blockstore::get), which
/// verifies the block against its CID before handing it out. Writes take `&self`
/// (stores use interior mutability) so one store can back several structures.
pub trait Blockstore {
    /// The bytes stored under `cid`, unverified. Callers use [`get`](Blockstore::get).
    fn get_raw(&self, cid: &Cid) -> Result<Option<Vec<u8>>>;

    /// Stores `block` under `cid`. The caller vouches that `cid` is the block's CID
    /// (use [`put`](Blockstore::put) to have it computed).
    fn put_keyed(&self, cid: &Cid, block: &[u8]) -> Result<()>;

    /// Whether a block is stored under `cid`.
    fn has(&self, cid: &Cid) -> Result<bool>;

    /// Stores every `(cid, block)` pair. Persistent stores commit them atomically:
    /// after a crash either all of them are stored or none is.
    fn put_many_keyed(&self, blocks: &[(Cid, Vec<u8>)]) -> Result<()> {
        for (cid, data) in blocks {
            self.put_keyed(cid, data)?;
        }
        Ok(())
    }

    /// Stores every `(cid, block)` pair of `blocks`, as
    /// [`put_many_keyed`](Blockstore::put_many_keyed) does, and empties
    /// `blocks`: a store that can keep the bytes as they are (a write buffer)
    /// takes them without a copy. On error `blocks` still holds every block
    /// not known to be stored, for a retry. (A HAMT's flush writes through
    /// this, so it stays on the base trait: tau-state's block executor keeps
    /// a block's new nodes in a write buffer without copying them.)
    fn put_many_owned(&self, blocks: &mut Vec<(Cid, Vec<u8>)>) -> Result<()> {
        self.put_many_keyed(blocks)?;
        blocks.clear();
        Ok(())
    }

    /// The block stored under `cid`, verified against it: a block whose hash does
    /// not match is an error ([`Error::CidMismatch`](crate::Error::CidMismatch)), never handed out.
    fn get(&self, cid: &Cid) -> Result<Option<Vec<u8>>> {
        match self.get_raw(cid)? {
            Some(data) => {
                block::verify(cid, &data)?;
                Ok(Some(data))
            }
            None => Ok(None),
        }
    }

    /// Stores `data` under its BLAKE2b-256 CIDv1 with `codec` and returns the CID.
    fn put(&self, codec: u64, data: &[u8]) -> Result<Cid> {
        let cid = block::cid_of(codec, data);
        self.put_keyed(&cid, data)?;
        Ok(cid)
    }
}

/// What a Graphsync peer adds to a [`Blockstore`]: serving blocks it hashed
/// itself without hashing them again, and storing received blocks that sit in
/// shared buffers without copying them. Every method has a default that is
/// correct for any store; a store overrides one only to save work.
pub trait BlockstoreExt: Blockstore {
    /// The block stored under `cid`, to be served to others: as [`get`](Blockstore::get),
    /// except that a store may skip the hash for a block it hashed itself when
    /// it was written (see the module's trust boundary). The default verifies.
    fn get_trusted(&self, cid: &Cid) -> Result<Option<Vec<u8>>> {
        self.get(cid)
    }

    /// As [`get_trusted`](BlockstoreExt::get_trusted), in a shared buffer: a
    /// store that keeps blocks in shared buffers (the [`MemoryBlockstore`]
    /// does for large ones) hands them out without a copy. Same bytes, same
    /// checks; the default wraps `get_trusted`'s vector (no copy either).
    fn get_trusted_shared(&self, cid: &Cid) -> Result<Option<Bytes>> {
        Ok(self.get_trusted(cid)?.map(Bytes::from))
    }

    /// As [`put_many_keyed`](Blockstore::put_many_keyed), for blocks in shared
    /// buffers: a store that keeps shared buffers may keep these (and so the
    /// buffers they are slices of) instead of copying them. Same atomicity;
    /// the default copies them into vectors for `put_many_keyed`.
    fn put_many_keyed_shared(&self, blocks: &[(Cid, Bytes)]) -> Result<()> {
        let owned: Vec<(Cid, Vec<u8>)> = blocks.iter().map(|(c, d)| (*c, d.to_vec())).collect();
        self.put_many_keyed(&owned)
    }
}

/// The store of a running node: one store shared by its tasks (the Graphsync
/// service, the chain, the attachment server), of any type.
pub type SharedStore = Arc<dyn BlockstoreExt + Send + Sync>;

macro_rules! forward_blockstore {
    ($($ptr:ty),*) => {$(
        impl<BS: Blockstore + ?Sized> Blockstore for $ptr {
            fn get_raw(&self, cid: &Cid) -> Result<Option<Vec<u8>>> {
                (**self).get_raw(cid)
            }
            fn put_keyed(&self, cid: &Cid, block: &[u8]) -> Result<()> {
                (**self).put_keyed(cid, block)
            }
            fn has(&self, cid: &Cid) -> Result<bool> {
                (**self).has(cid)
            }
            fn put_many_keyed(&self, blocks: &[(Cid, Vec<u8>)]) -> Result<()> {
                (**self).put_many_keyed(blocks)
            }
            fn put_many_owned(&self, blocks: &mut Vec<(Cid, Vec<u8>)>) -> Result<()> {
                (**self).put_many_owned(blocks)
            }
            fn get(&self, cid: &Cid) -> Result<Option<Vec<u8>>> {
                (**self).get(cid)
            }
            fn put(&self, codec: u64, data: &[u8]) -> Result<Cid> {
                (**self).put(codec, data)
            }
        }

        impl<BS: BlockstoreExt + ?Sized> BlockstoreExt for $ptr {
            fn get_trusted(&self, cid: &Cid) -> Result<Option<Vec<u8>>> {
                (**self).get_trusted(cid)
            }
            fn get_trusted_shared(&self, cid: &Cid) -> Result<Option<Bytes>> {
                (**self).get_trusted_shared(cid)
            }
            fn put_many_keyed_shared(&self, blocks: &[(Cid, Bytes)]) -> Result<()> {
                (**self).put_many_keyed_shared(blocks)
            }
        }
    )*};
}
forward_blockstore!(&BS, Arc<BS>, Rc<BS>);
