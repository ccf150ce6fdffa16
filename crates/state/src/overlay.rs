//! A write buffer over a block store: execution writes here, and the writes
//! reach the store in one batch only when the result is kept.

use std::cell::{Cell, RefCell};
use std::collections::HashMap;

use cid::Cid;
use tau_ipld::keyed_hash::KeyedState;
use tau_ipld::Blockstore;

/// Reads fall through to `base`; writes stay in memory until [`commit`](Overlay::commit).
/// Validating a block that turns out invalid leaves nothing in the store.
pub(crate) struct Overlay<'a, BS> {
    base: &'a BS,
    writes: RefCell<HashMap<Cid, Vec<u8>, KeyedState>>,
    /// Blocks read and written through the overlay (counted per call).
    touched: Cell<usize>,
}

impl<'a, BS: Blockstore> Overlay<'a, BS> {
    pub(crate) fn new(base: &'a BS) -> Self {
        Self {
            base,
            writes: RefCell::new(HashMap::default()),
            touched: Cell::new(0),
        }
    }

    /// How many blocks were read or written through the overlay: an upper
    /// bound of the HAMT nodes an execution decoded or created.
    pub(crate) fn touched(&self) -> usize {
        self.touched.get()
    }

    fn touch(&self, n: usize) {
        self.touched.set(self.touched.get().saturating_add(n));
    }

    /// Whether every buffered block is already in the base store.
    pub(crate) fn all_in_base(&self) -> tau_ipld::Result<bool> {
        for cid in self.writes.borrow().keys() {
            if !self.base.has(cid)? {
                return Ok(false);
            }
        }
        Ok(true)
    }

    /// Writes every buffered block to the base store in one batch (atomic on
    /// persistent stores). Returns the number of bytes written.
    pub(crate) fn commit(self) -> tau_ipld::Result<usize> {
        let blocks: Vec<(Cid, Vec<u8>)> = self.writes.into_inner().into_iter().collect();
        let bytes = blocks.iter().map(|(_, b)| b.len()).sum();
        self.base.put_many_keyed(&blocks)?;
        Ok(bytes)
    }
}

impl<BS: Blockstore> Blockstore for Overlay<'_, BS> {
    fn get_raw(&self, cid: &Cid) -> tau_ipld::Result<Option<Vec<u8>>> {
        self.touch(1);
        if let Some(data) = self.writes.borrow().get(cid) {
            return Ok(Some(data.clone()));
        }
        self.base.get_raw(cid)
    }

    fn put_keyed(&self, cid: &Cid, block: &[u8]) -> tau_ipld::Result<()> {
        self.touch(1);
        self.writes.borrow_mut().insert(*cid, block.to_vec());
        Ok(())
    }

    fn has(&self, cid: &Cid) -> tau_ipld::Result<bool> {
        Ok(self.writes.borrow().contains_key(cid) || self.base.has(cid)?)
    }

    fn put_many_keyed(&self, blocks: &[(Cid, Vec<u8>)]) -> tau_ipld::Result<()> {
        self.touch(blocks.len());
        let mut writes = self.writes.borrow_mut();
        for (cid, data) in blocks {
            writes.insert(*cid, data.clone());
        }
        Ok(())
    }

    /// Takes the blocks as they are: the HAMT's flush hands its new nodes
    /// over without a copy.
    fn put_many_owned(&self, blocks: &mut Vec<(Cid, Vec<u8>)>) -> tau_ipld::Result<()> {
        self.touch(blocks.len());
        self.writes.borrow_mut().extend(blocks.drain(..));
        Ok(())
    }
}
