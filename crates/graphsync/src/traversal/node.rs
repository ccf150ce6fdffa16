//! DAG-CBOR nodes read in place: a traversal keeps a block's bytes (shared,
//! never copied) and offsets into them instead of a decoded tree, so a block
//! costs its own size however many small items it holds, and a frame for a
//! nested list or map costs a few words (issue 20: a decoded `Ipld` costs
//! about 100 bytes per input byte, and each nested child used to be cloned).
//!
//! The block was accepted by [`dagcbor::check_dag`] first, so items are
//! well formed; every read is still checked, and a surprise is an error,
//! never a panic.

use bytes::Bytes;
use cid::Cid;

use crate::dagcbor::{self, cbor, CID_TAG};
use crate::Result;

/// A list or map inside a block.
#[derive(Clone, Debug)]
pub(crate) struct Node {
    data: Bytes,
    /// Offset of the node's first child (or key).
    first: usize,
    /// Children (entries, for a map).
    len: u64,
    list: bool,
}

/// An item of a block: what a traversal needs to know of it.
#[derive(Clone, Debug)]
pub(crate) enum Item {
    Link(Cid),
    Node(Node),
    /// A scalar: bytes, a string, a number.
    Other,
}

/// Reads the item at `pos` of `data`.
pub(crate) fn item(data: &Bytes, pos: usize) -> Result<Item> {
    let (major, arg, head) = dagcbor::head(data, pos)?;
    let body = pos + head;
    Ok(match major {
        4 | 5 => Item::Node(Node {
            data: data.clone(),
            first: body,
            len: arg,
            list: major == 4,
        }),
        6 if arg == CID_TAG => {
            let (major, len, head) = dagcbor::head(data, body)?;
            let start = body + head;
            let bytes = usize::try_from(len)
                .ok()
                .and_then(|len| data.get(start..start.checked_add(len)?))
                .filter(|_| major == 2)
                .ok_or_else(|| cbor("link is not a byte string"))?;
            match bytes.split_first() {
                Some((0, cid)) => {
                    Item::Link(Cid::try_from(cid).map_err(|e| crate::Error::Cbor(e.to_string()))?)
                }
                _ => return Err(cbor("link lacks the identity multibase prefix")),
            }
        }
        _ => Item::Other,
    })
}

/// The root item of a block that [`dagcbor::check_dag`] accepted.
pub(crate) fn root(data: Bytes) -> Result<Item> {
    item(&data, 0)
}

impl Node {
    /// Whether this is a list (else a map).
    pub(crate) fn is_list(&self) -> bool {
        self.list
    }

    /// Children (list elements or map entries).
    pub(crate) fn len(&self) -> u64 {
        self.len
    }

    pub(crate) fn data(&self) -> &Bytes {
        &self.data
    }

    /// Offset of the first child (list) or first key (map).
    pub(crate) fn first(&self) -> usize {
        self.first
    }

    /// The end of the item at `pos` and the items it holds.
    pub(crate) fn skip(&self, pos: usize) -> Result<(usize, u64)> {
        dagcbor::skip(&self.data, pos)
    }

    /// The text string at `pos` (a map key) and the offset after it.
    pub(crate) fn key(&self, pos: usize) -> Result<(&str, usize)> {
        let (major, len, head) = dagcbor::head(&self.data, pos)?;
        let start = pos + head;
        let bytes = usize::try_from(len)
            .ok()
            .and_then(|len| self.data.get(start..start.checked_add(len)?))
            .filter(|_| major == 3)
            .ok_or_else(|| cbor("map key is not a string"))?;
        let key = std::str::from_utf8(bytes).map_err(|_| cbor("map key is not UTF-8"))?;
        Ok((key, start + bytes.len()))
    }

    /// The value of map key `name` (or list element `name` spelled in
    /// decimal): its offset, and the items scanned to find it.
    pub(crate) fn lookup_field(&self, name: &str) -> Result<(Option<usize>, u64)> {
        if self.list {
            return match name.parse::<i64>().ok().and_then(|i| u64::try_from(i).ok()) {
                Some(i) => self.lookup_position(i),
                None => Ok((None, 0)),
            };
        }
        let mut pos = self.first;
        let mut scanned = 0u64;
        for _ in 0..self.len {
            let (key, value) = self.key(pos)?;
            scanned += 1;
            if key == name {
                return Ok((Some(value), scanned));
            }
            let (next, items) = self.skip(value)?;
            scanned = scanned.saturating_add(items);
            pos = next;
        }
        Ok((None, scanned))
    }

    /// The value of list element `i` (or map key `i` spelled in decimal).
    pub(crate) fn lookup_index(&self, i: i64) -> Result<(Option<usize>, u64)> {
        if self.list {
            match u64::try_from(i) {
                Ok(i) => self.lookup_position(i),
                Err(_) => Ok((None, 0)),
            }
        } else {
            self.lookup_field(&i.to_string())
        }
    }

    /// The offset of list element `i`.
    fn lookup_position(&self, i: u64) -> Result<(Option<usize>, u64)> {
        if i >= self.len {
            return Ok((None, 0));
        }
        let mut pos = self.first;
        let mut scanned = 0u64;
        for _ in 0..i {
            let (next, items) = self.skip(pos)?;
            scanned = scanned.saturating_add(items);
            pos = next;
        }
        Ok((Some(pos), scanned))
    }
}
