//! One step down a key's path in a Filecoin / tau-hamt HAMT node: tau-hamt's
//! own stepping ([`tau_hamt::path`]), so a traversal by key and a Merkle
//! proof read a map the same way. This module only adapts it to the
//! traversal's in-place items.

use cid::Cid;

use super::node::{item, Item};
use crate::{Error, Result};

/// The SHA-256 of a key, read as a big-endian bit string.
pub(crate) type KeyHash = tau_hamt::path::KeyDigest;

pub(crate) fn key_hash(key: &[u8]) -> KeyHash {
    // SHA-256 hashes any key; only the identity hash refuses long ones.
    tau_hamt::path::key_digest(tau_hamt::KeyHash::Sha256, key).unwrap_or_default()
}

/// Where a key's path goes from one node.
#[derive(Debug)]
pub(crate) enum Step {
    /// The key is absent.
    Absent,
    /// The key's value.
    Found(Item),
    /// The path continues in this child node.
    Child(Cid),
}

/// A HAMT error as this crate reports a bad node from a peer.
fn malformed(e: tau_hamt::Error) -> Error {
    match e {
        tau_hamt::Error::MalformedNode(what) | tau_hamt::Error::NonCanonical(what) => {
            Error::MalformedHamt(what)
        }
        tau_hamt::Error::MaxDepth => Error::MalformedHamt("key hash bits exhausted"),
        _ => Error::MalformedHamt("not a HAMT node"),
    }
}

/// The next step of the path of the key hashing to `hash` from `node` (the
/// root item of a block) at `depth`.
pub(crate) fn step(
    node: &Item,
    key: &[u8],
    hash: &KeyHash,
    depth: u32,
    bit_width: u32,
) -> Result<Step> {
    let Item::Node(parts) = node else {
        return Err(Error::MalformedHamt("node is not a 2-tuple"));
    };
    let data = parts.data();
    // A HAMT node is a whole block: its item starts at the block's first byte.
    let head = tau_ipld::cbor::read_head(data, 0)
        .map_err(|_| Error::MalformedHamt("node is not a 2-tuple"))?;
    if head.len != parts.first() {
        return Err(Error::MalformedHamt("node is not a whole block"));
    }
    match tau_hamt::path::step(data, key, hash, depth, bit_width).map_err(malformed)? {
        tau_hamt::path::PathStep::Absent => Ok(Step::Absent),
        tau_hamt::path::PathStep::Child(cid) => Ok(Step::Child(cid)),
        tau_hamt::path::PathStep::Found(value) => Ok(Step::Found(item(data, value.start)?)),
    }
}
