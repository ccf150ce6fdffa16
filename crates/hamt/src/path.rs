//! One step down a key's path through a HAMT node, read in place from the
//! node's bytes: what a lookup does at each level, for code that holds blocks
//! rather than a [`Hamt`](crate::Hamt). [`prove`](crate::prove) and
//! [`verify_proof`](crate::verify_proof) walk a key's path with it, and so
//! does tau-graphsync's traversal of a map by key, so the three cannot
//! disagree on where a key lives.
//!
//! ```
//! use tau_hamt::path::{key_digest, step, PathStep};
//! use tau_hamt::{Config, Hamt};
//! use tau_ipld::{Blockstore, MemoryBlockstore};
//!
//! let store = MemoryBlockstore::new();
//! let mut map: Hamt<_, u64> = Hamt::new(&store);
//! map.set(b"alice", 100)?;
//! let root = map.flush()?;
//!
//! let config = Config::default();
//! let node = store.get(&root)?.expect("the root was just stored");
//! let digest = key_digest(config.key_hash(), b"alice")?;
//! match step(&node, b"alice", &digest, 0, config.bit_width())? {
//!     // A one-key map: the key sits in a bucket of the root.
//!     PathStep::Found(value) => assert_eq!(&node[value], [0x18, 100]),
//!     other => panic!("{other:?}"),
//! }
//! # Ok::<(), tau_hamt::Error>(())
//! ```

use std::ops::Range;

use cid::Cid;
use tau_ipld::cbor::{parse_cid_bytes, Reader, MAJOR_ARRAY, MAJOR_TAG, TAG_CID};

use crate::bitfield::Bitfield;
use crate::bucket::{self, Slot};
use crate::config::KeyHash;
use crate::hash_bits;
use crate::{Error, Result};

/// The 256-bit hash of a key that places it in the map, read as a big-endian
/// bit string.
pub type KeyDigest = hash_bits::KeyDigest;

/// The digest that places `key` in a map hashing keys with `hash`.
pub fn key_digest(hash: KeyHash, key: &[u8]) -> Result<KeyDigest> {
    hash_bits::digest(hash, key)
}

/// Where a key's path goes from one node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PathStep {
    /// The key is not in the map.
    Absent,
    /// The key's DAG-CBOR value: its byte range in the node.
    Found(Range<usize>),
    /// The path continues in the child node with this CID.
    Child(Cid),
}

/// The next step of the path of `key` (whose digest is `digest`) from the
/// node `node` (a whole block) at `depth`, in a map of `bit_width`.
///
/// The node's shape is checked as far as the step reads it (`[bitfield,
/// pointers]`, as many pointers as set bits, a pointer is a link or a bucket);
/// a caller that must refuse non-canonical nodes decodes them fully first, as
/// the proofs do.
pub fn step(
    node: &[u8],
    key: &[u8],
    digest: &KeyDigest,
    depth: u32,
    bit_width: u32,
) -> Result<PathStep> {
    let mut r = Reader::new(node);
    if r.expect(MAJOR_ARRAY, "node must be an array")? != 2 {
        return Err(Error::MalformedNode("node must be [bitfield, pointers]"));
    }
    let bitfield = Bitfield::from_be_trimmed(r.bytes("bitfield must be a byte string")?)?;
    let pointers = r.expect(MAJOR_ARRAY, "pointers must be an array")?;
    if pointers != bitfield.count() as u64 {
        return Err(Error::MalformedNode("bitfield and pointers disagree"));
    }
    let idx = hash_bits::index(digest, depth, bit_width)?;
    if !bitfield.test(idx) {
        return Ok(PathStep::Absent);
    }
    for _ in 0..bitfield.rank(idx) {
        r.skip_item()?;
    }
    let start = r.position();
    let (major, arg) = r.header()?;
    match major {
        MAJOR_TAG if arg == TAG_CID => {
            let raw = r.bytes("tag 42 must wrap a byte string")?;
            Ok(PathStep::Child(parse_cid_bytes(raw)?))
        }
        MAJOR_ARRAY => {
            let mut whole = Reader::new(node.get(start..).unwrap_or_default());
            whole.skip_item()?;
            let bucket = whole.since(0);
            match bucket::search(bucket, key)? {
                Slot::Found { value, .. } => {
                    Ok(PathStep::Found(start + value.start..start + value.end))
                }
                Slot::Absent { .. } => Ok(PathStep::Absent),
            }
        }
        _ => Err(Error::MalformedNode("pointer must be a link or a bucket")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Config, Hamt};
    use tau_ipld::{Blockstore, MemoryBlockstore};

    /// Every key of a map several levels deep is found by stepping from the
    /// root, with the value the map holds, and absent keys end absent.
    #[test]
    fn stepping_finds_what_the_map_holds() {
        let store = MemoryBlockstore::new();
        let config = Config::default();
        let mut map: Hamt<_, u64> = Hamt::new_with_config(&store, config);
        for i in 0u64..2_000 {
            map.set(i.to_be_bytes(), i * 3).unwrap();
        }
        let root = map.flush().unwrap();
        let walk = |key: &[u8]| -> Option<u64> {
            let digest = key_digest(config.key_hash(), key).unwrap();
            let mut cid = root;
            for depth in 0.. {
                let node = store.get(&cid).unwrap().unwrap();
                match step(&node, key, &digest, depth, config.bit_width()).unwrap() {
                    PathStep::Absent => return None,
                    PathStep::Found(value) => {
                        return Some(serde_ipld_dagcbor::from_slice(&node[value]).unwrap())
                    }
                    PathStep::Child(child) => cid = child,
                }
            }
            unreachable!()
        };
        for i in (0u64..2_000).step_by(7) {
            assert_eq!(walk(&i.to_be_bytes()), Some(i * 3), "key {i}");
        }
        for i in 2_000u64..2_100 {
            assert_eq!(walk(&i.to_be_bytes()), None, "key {i}");
        }
    }

    #[test]
    fn a_node_whose_bitfield_and_pointers_disagree_is_refused() {
        // [h'01', []]: one bit set, no pointer.
        let node = [0x82, 0x41, 0x01, 0x80];
        let digest = [0u8; 32];
        assert!(matches!(
            step(&node, b"k", &digest, 0, 5),
            Err(Error::MalformedNode(_))
        ));
        // Not a node at all, and a truncated one.
        assert!(step(&[0x01], b"k", &digest, 0, 5).is_err());
        assert!(step(&[0x82, 0x41], b"k", &digest, 0, 5).is_err());
    }
}
