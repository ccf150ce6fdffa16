//! A bounded holding area in front of a block store, for blocks nobody has
//! vouched for yet.
//!
//! A node that fetches a peer's chain must validate it before keeping any of
//! it: a chain that turns out forged, dated ahead or simply not worth
//! following must leave nothing behind. A [`Quarantine`] reads through to its
//! base store (the validation needs the node's own states) and keeps every
//! write in memory, counted in bytes against its own limit and against a
//! [`ByteBudget`] shared by every quarantine of the process. The caller then
//! [`commit`](Quarantine::commit)s (one atomic write to the base) or drops it,
//! which forgets the blocks and gives their bytes back to the budget.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use cid::Cid;

use super::{Blockstore, BlockstoreExt};
use crate::keyed_hash::KeyedState;
use crate::{Error, Result};

/// Bytes that several [`Quarantine`]s draw from: the bound on what all of
/// them hold together.
///
/// ```
/// use tau_ipld::ByteBudget;
/// let budget = ByteBudget::new(100);
/// assert!(budget.try_take(60));
/// assert!(!budget.try_take(60));
/// budget.give_back(60);
/// assert_eq!(budget.used(), 0);
/// ```
#[derive(Debug)]
pub struct ByteBudget {
    used: AtomicU64,
    limit: u64,
}

impl ByteBudget {
    /// A budget of `limit` bytes.
    pub fn new(limit: u64) -> Self {
        Self {
            used: AtomicU64::new(0),
            limit,
        }
    }

    /// Takes `bytes` if they fit; `false` (and nothing taken) if not.
    pub fn try_take(&self, bytes: u64) -> bool {
        self.used
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |used| {
                used.checked_add(bytes).filter(|&total| total <= self.limit)
            })
            .is_ok()
    }

    /// Returns `bytes` taken before.
    pub fn give_back(&self, bytes: u64) {
        // Saturating: giving back more than was taken is a caller bug that
        // must not wrap the counter round to "everything used".
        let _ = self
            .used
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |used| {
                Some(used.saturating_sub(bytes))
            });
    }

    /// Bytes taken now.
    pub fn used(&self) -> u64 {
        self.used.load(Ordering::Acquire)
    }

    /// The limit.
    pub fn limit(&self) -> u64 {
        self.limit
    }
}

#[derive(Default)]
struct Held {
    blocks: HashMap<Cid, Vec<u8>, KeyedState>,
    bytes: u64,
}

/// Reads fall through to `base`; writes are held in memory, at most `limit`
/// bytes and within the shared [`ByteBudget`], until
/// [`commit`](Quarantine::commit). A write beyond either bound fails with
/// [`Error::QuarantineFull`] and holds nothing more.
///
/// ```
/// use std::sync::Arc;
/// use tau_ipld::{Blockstore, ByteBudget, MemoryBlockstore, Quarantine};
/// use tau_ipld::block::DAG_CBOR;
///
/// let base = MemoryBlockstore::new();
/// let budget = Arc::new(ByteBudget::new(1 << 20));
/// let quarantine = Quarantine::new(&base, 1024, budget.clone());
/// let cid = quarantine.put(DAG_CBOR, b"\x01")?;
/// assert!(quarantine.has(&cid)? && !base.has(&cid)?);
/// // Too large for this quarantine's own limit.
/// assert!(quarantine.put(DAG_CBOR, &[0u8; 2048]).is_err());
/// quarantine.commit()?;
/// assert!(base.has(&cid)?);
/// assert_eq!(budget.used(), 0);
/// # Ok::<(), tau_ipld::Error>(())
/// ```
pub struct Quarantine<BS> {
    base: BS,
    held: Mutex<Held>,
    limit: u64,
    budget: Arc<ByteBudget>,
}

impl<BS: Blockstore> Quarantine<BS> {
    /// An empty quarantine in front of `base`, holding at most `limit` bytes
    /// of blocks, drawn from `budget`.
    pub fn new(base: BS, limit: u64, budget: Arc<ByteBudget>) -> Self {
        Self {
            base,
            held: Mutex::default(),
            limit,
            budget,
        }
    }

    fn held(&self) -> std::sync::MutexGuard<'_, Held> {
        self.held.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Bytes of blocks held.
    pub fn held_bytes(&self) -> u64 {
        self.held().bytes
    }

    /// The bound set at creation, in bytes.
    pub fn limit(&self) -> u64 {
        self.limit
    }

    /// Blocks held.
    pub fn held_blocks(&self) -> usize {
        self.held().blocks.len()
    }

    /// The store reads fall through to.
    pub fn base(&self) -> &BS {
        &self.base
    }

    /// Writes every held block to the base store in one batch (atomic on a
    /// persistent store) and empties the quarantine. On error the blocks stay
    /// held, for a retry or to be dropped.
    pub fn commit(&self) -> Result<()> {
        let mut held = self.held();
        let mut blocks: Vec<(Cid, Vec<u8>)> = held.blocks.drain().collect();
        if let Err(e) = self.base.put_many_owned(&mut blocks) {
            held.blocks.extend(blocks);
            return Err(e);
        }
        self.budget.give_back(held.bytes);
        held.bytes = 0;
        Ok(())
    }

    /// Forgets every held block.
    pub fn clear(&self) {
        let mut held = self.held();
        held.blocks.clear();
        self.budget.give_back(held.bytes);
        held.bytes = 0;
    }
}

impl<BS> Drop for Quarantine<BS> {
    fn drop(&mut self) {
        let held = self.held.get_mut().unwrap_or_else(PoisonError::into_inner);
        self.budget.give_back(held.bytes);
    }
}

impl<BS: Blockstore> Blockstore for Quarantine<BS> {
    fn get_raw(&self, cid: &Cid) -> Result<Option<Vec<u8>>> {
        if let Some(data) = self.held().blocks.get(cid) {
            return Ok(Some(data.clone()));
        }
        self.base.get_raw(cid)
    }

    fn put_keyed(&self, cid: &Cid, block: &[u8]) -> Result<()> {
        let mut held = self.held();
        if held.blocks.contains_key(cid) || self.base.has(cid)? {
            return Ok(());
        }
        // A block's bytes plus its CID and the map's entry: what holding it costs.
        let cost = block.len() as u64 + ENTRY_OVERHEAD;
        let within = held
            .bytes
            .checked_add(cost)
            .is_some_and(|total| total <= self.limit);
        if !within || !self.budget.try_take(cost) {
            return Err(Error::QuarantineFull {
                limit: self.limit.min(self.budget.limit()),
            });
        }
        held.bytes += cost;
        held.blocks.insert(*cid, block.to_vec());
        Ok(())
    }

    fn has(&self, cid: &Cid) -> Result<bool> {
        if self.held().blocks.contains_key(cid) {
            return Ok(true);
        }
        self.base.has(cid)
    }
}

/// Serves with the defaults: a held block is unchecked by definition, and
/// the base's trusted blocks are reached through `get`, which hashes.
impl<BS: Blockstore> BlockstoreExt for Quarantine<BS> {}

/// Bytes counted per held block beyond its data: the CID (at most 128
/// bytes in binary form) and the map entry with the vector's header.
const ENTRY_OVERHEAD: u64 = 128;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::block::DAG_CBOR;
    use crate::MemoryBlockstore;

    #[test]
    fn dropping_leaves_nothing_in_the_base_and_returns_the_budget() {
        let base = MemoryBlockstore::new();
        let budget = Arc::new(ByteBudget::new(1 << 20));
        let cid = {
            let q = Quarantine::new(&base, 1 << 20, budget.clone());
            let cid = q.put(DAG_CBOR, b"forged").unwrap();
            assert!(budget.used() > 0);
            assert_eq!(q.get(&cid).unwrap().as_deref(), Some(&b"forged"[..]));
            cid
        };
        assert!(!base.has(&cid).unwrap());
        assert_eq!(budget.used(), 0);
    }

    #[test]
    fn the_shared_budget_bounds_all_quarantines_together() {
        let base = MemoryBlockstore::new();
        let budget = Arc::new(ByteBudget::new(3 * (1000 + ENTRY_OVERHEAD)));
        let a = Quarantine::new(&base, u64::MAX, budget.clone());
        let b = Quarantine::new(&base, u64::MAX, budget.clone());
        a.put(DAG_CBOR, &[1; 1000]).unwrap();
        a.put(DAG_CBOR, &[2; 1000]).unwrap();
        b.put(DAG_CBOR, &[3; 1000]).unwrap();
        assert!(matches!(
            b.put(DAG_CBOR, &[4; 1000]),
            Err(Error::QuarantineFull { .. })
        ));
        drop(a);
        b.put(DAG_CBOR, &[4; 1000]).unwrap();
        assert_eq!(b.held_blocks(), 2);
    }

    #[test]
    fn blocks_already_in_the_base_cost_nothing() {
        let base = MemoryBlockstore::new();
        let cid = base.put(DAG_CBOR, &[7; 100]).unwrap();
        let budget = Arc::new(ByteBudget::new(1 << 20));
        let q = Quarantine::new(&base, 10, budget.clone());
        q.put_keyed(&cid, &[7; 100]).unwrap();
        assert_eq!((q.held_blocks(), budget.used()), (0, 0));
        assert!(q.has(&cid).unwrap());
    }

    #[test]
    fn commit_moves_every_block_to_the_base() {
        let base = MemoryBlockstore::new();
        let budget = Arc::new(ByteBudget::new(1 << 20));
        let q = Quarantine::new(&base, 1 << 20, budget.clone());
        let cids: Vec<Cid> = (0..10u8)
            .map(|i| q.put(DAG_CBOR, &[i; 10]).unwrap())
            .collect();
        q.commit().unwrap();
        for cid in &cids {
            assert!(base.has(cid).unwrap());
        }
        assert_eq!((q.held_blocks(), q.held_bytes(), budget.used()), (0, 0, 0));
    }
}
