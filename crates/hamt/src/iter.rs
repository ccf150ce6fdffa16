//! Iteration in hash order, resumable from a cursor.

use std::marker::PhantomData;

use serde::de::DeserializeOwned;

use crate::bucket::{self, Entries};
use crate::config::Config;
use crate::hamt::decode_value;
use crate::hash_bits;
use crate::node::{Node, Pointer};
use crate::Result;
use tau_ipld::Blockstore;

/// Where an iteration stopped: it resumes with the entry after this key.
///
/// A cursor is only a key, so it can be stored or sent and used later. Over the
/// same root it resumes exactly; over a changed map it resumes at the key's
/// position in the new tree.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Cursor {
    key: Vec<u8>,
}

impl Cursor {
    /// A cursor that resumes after `key`.
    pub fn after(key: impl Into<Vec<u8>>) -> Self {
        Cursor { key: key.into() }
    }

    /// The key the iteration resumes after.
    pub fn key(&self) -> &[u8] {
        &self.key
    }
}

type Frame<'a> = (&'a Node, usize, u32);

/// Entries as `(key, DAG-CBOR value bytes)`, in hash order (depth first by slot,
/// bucket entries by key). Nodes are loaded as the walk reaches them.
pub struct RawIter<'a, BS> {
    store: &'a BS,
    config: &'a Config,
    stack: Vec<Frame<'a>>,
    bucket: Option<Entries<'a>>,
    pending: Option<(&'a [u8], &'a [u8])>,
    last_key: Option<&'a [u8]>,
    failed: bool,
}

impl<'a, BS: Blockstore> RawIter<'a, BS> {
    pub(crate) fn new(store: &'a BS, config: &'a Config, root: &'a Node) -> Self {
        Self::below(store, config, root, 0)
    }

    /// The entries of the subtree `node`, found at `depth` (so children are
    /// loaded and validated at their own depth).
    pub(crate) fn below(store: &'a BS, config: &'a Config, node: &'a Node, depth: u32) -> Self {
        RawIter {
            store,
            config,
            stack: vec![(node, 0, depth)],
            bucket: None,
            pending: None,
            last_key: None,
            failed: false,
        }
    }

    pub(crate) fn from_cursor(
        store: &'a BS,
        config: &'a Config,
        root: &'a Node,
        cursor: &Cursor,
    ) -> Result<Self> {
        let mut it = RawIter::new(store, config, root);
        it.stack.clear();
        let hash = hash_bits::digest(config.key_hash(), &cursor.key)?;
        let mut node = root;
        let mut depth = 0;
        loop {
            let idx = hash_bits::index(&hash, depth, config.bit_width())?;
            let pos = node.bitfield.rank(idx);
            let present = node.bitfield.test(idx);
            it.stack.push((node, pos + usize::from(present), depth));
            if !present {
                break;
            }
            match node.pointers.get(pos) {
                Some(Pointer::Bucket(b)) => {
                    let mut entries = bucket::entries(b)?;
                    for entry in entries.by_ref() {
                        let (k, v) = entry?;
                        if k > cursor.key.as_slice() {
                            it.pending = Some((k, v));
                            break;
                        }
                    }
                    it.bucket = Some(entries);
                    break;
                }
                Some(Pointer::Link(link)) => node = link.load(store, config, depth + 1)?,
                Some(Pointer::Dirty(child)) => node = child,
                None => break,
            }
            depth += 1;
        }
        Ok(it)
    }

    /// A cursor to resume after the last entry returned, if any was.
    pub fn cursor(&self) -> Option<Cursor> {
        self.last_key.map(Cursor::after)
    }

    fn advance(&mut self) -> Option<Result<(&'a [u8], &'a [u8])>> {
        if self.failed {
            return None;
        }
        if let Some(entry) = self.pending.take() {
            return Some(Ok(entry));
        }
        loop {
            if let Some(entries) = &mut self.bucket {
                match entries.next() {
                    Some(item) => return Some(item),
                    None => self.bucket = None,
                }
            }
            let (node, pos, depth) = self.stack.last_mut()?;
            let node: &'a Node = node;
            let depth = *depth;
            let Some(pointer) = node.pointers.get(*pos) else {
                self.stack.pop();
                continue;
            };
            *pos += 1;
            match pointer {
                Pointer::Bucket(b) => match bucket::entries(b) {
                    Ok(entries) => self.bucket = Some(entries),
                    Err(e) => return Some(Err(e)),
                },
                Pointer::Link(link) => match link.load(self.store, self.config, depth + 1) {
                    Ok(child) => self.stack.push((child, 0, depth + 1)),
                    Err(e) => return Some(Err(e)),
                },
                Pointer::Dirty(child) => self.stack.push((child, 0, depth + 1)),
            }
        }
    }
}

impl<'a, BS: Blockstore> Iterator for RawIter<'a, BS> {
    type Item = Result<(&'a [u8], &'a [u8])>;

    fn next(&mut self) -> Option<Self::Item> {
        let item = self.advance()?;
        match &item {
            Ok((k, _)) => self.last_key = Some(k),
            Err(_) => self.failed = true,
        }
        Some(item)
    }
}

/// Entries as `(key, value)`, in hash order, values decoded as `V`.
pub struct Iter<'a, BS, V> {
    raw: RawIter<'a, BS>,
    _values: PhantomData<fn() -> V>,
}

impl<'a, BS: Blockstore, V> Iter<'a, BS, V> {
    pub(crate) fn new(raw: RawIter<'a, BS>) -> Self {
        Iter {
            raw,
            _values: PhantomData,
        }
    }

    /// A cursor to resume after the last entry returned, if any was.
    pub fn cursor(&self) -> Option<Cursor> {
        self.raw.cursor()
    }
}

impl<'a, BS: Blockstore, V: DeserializeOwned> Iterator for Iter<'a, BS, V> {
    type Item = Result<(&'a [u8], V)>;

    fn next(&mut self) -> Option<Self::Item> {
        let item = self.raw.next()?;
        Some(item.and_then(|(k, v)| Ok((k, decode_value(v)?))))
    }
}
