//! One step down a key's path in a Filecoin / tau-hamt HAMT node, read from
//! the IPLD data model (hamt.md §§2–3, §6).
//!
//! A node is `[bitfield bytes, [pointer]]`; the key's slot at depth `d` is the
//! next `bit_width` bits of SHA-256(key), most significant first; a set bit's
//! pointer sits at position popcount(bitfield below the slot); a pointer is a
//! link to a child node or a bucket of `[key, value]` entries. Nodes are read
//! in place ([`super::node`]).

use cid::Cid;
use sha2::{Digest, Sha256};

use super::node::{item, Item};
use crate::{Error, Result};

/// The SHA-256 of a key, read as a big-endian bit string.
pub(crate) type KeyHash = [u8; 32];

pub(crate) fn key_hash(key: &[u8]) -> KeyHash {
    Sha256::digest(key).into()
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

/// The slot index at `depth` (as tau-hamt: the last partial chunk is used,
/// beyond it the hash is exhausted).
fn index(hash: &KeyHash, depth: u32, bit_width: u32) -> Result<u32> {
    let start = depth
        .checked_mul(bit_width)
        .filter(|s| *s < 256)
        .ok_or(Error::MalformedHamt("key hash bits exhausted"))?;
    let width = bit_width.min(256 - start);
    let byte = (start / 8) as usize;
    let hi = u16::from(hash.get(byte).copied().unwrap_or(0));
    let lo = u16::from(hash.get(byte + 1).copied().unwrap_or(0));
    let two = ((hi << 8) | lo) << (start % 8);
    Ok(u32::from(two >> (16 - width)))
}

/// Whether bit `idx` is set in a big-endian trimmed bitfield, and how many set
/// bits lie below it.
fn bit_and_rank(bitfield: &[u8], idx: u32) -> (bool, usize) {
    let n = bitfield.len();
    let byte_from_end = (idx / 8) as usize;
    let bit = idx % 8;
    let mut rank = 0usize;
    // Bytes wholly below idx are those nearer the end.
    for b in bitfield.iter().skip(n.saturating_sub(byte_from_end)) {
        rank += b.count_ones() as usize;
    }
    match n
        .checked_sub(byte_from_end + 1)
        .and_then(|i| bitfield.get(i))
    {
        Some(b) => {
            rank += (b & ((1u8 << bit) - 1)).count_ones() as usize;
            (b >> bit & 1 == 1, rank)
        }
        None => (false, rank),
    }
}

/// The next step of the path of the key hashing to `hash` from `node` at `depth`.
pub(crate) fn step(
    node: &Item,
    key: &[u8],
    hash: &KeyHash,
    depth: u32,
    bit_width: u32,
) -> Result<Step> {
    let not_pair = Error::MalformedHamt("node is not [bitfield, pointers]");
    let Item::Node(parts) = node else {
        return Err(Error::MalformedHamt("node is not a 2-tuple"));
    };
    if !parts.is_list() || parts.len() != 2 {
        return Err(Error::MalformedHamt("node is not a 2-tuple"));
    }
    let data = parts.data();
    let Item::Bytes(b0, b1) = item(data, parts.first())? else {
        return Err(not_pair);
    };
    let bitfield = parts.bytes((b0, b1))?;
    let (after, _) = parts.skip(parts.first())?;
    let Item::Node(pointers) = item(data, after)? else {
        return Err(not_pair);
    };
    if !pointers.is_list() {
        return Err(not_pair);
    }
    if bitfield.len() > 32 {
        return Err(Error::MalformedHamt("bitfield longer than 32 bytes"));
    }
    let ones: u64 = bitfield.iter().map(|b| u64::from(b.count_ones())).sum();
    if ones != pointers.len() {
        return Err(Error::MalformedHamt("bitfield and pointers disagree"));
    }
    let idx = index(hash, depth, bit_width)?;
    let (set, rank) = bit_and_rank(bitfield, idx);
    if !set {
        return Ok(Step::Absent);
    }
    let (Some(at), _) = pointers.lookup_index(rank as i64)? else {
        return Err(Error::MalformedHamt("pointer is neither link nor bucket"));
    };
    match item(data, at)? {
        Item::Link(cid) => Ok(Step::Child(cid)),
        Item::Node(bucket) if bucket.is_list() => {
            let mut pos = bucket.first();
            for _ in 0..bucket.len() {
                let (next, _) = bucket.skip(pos)?;
                let Item::Node(kv) = item(data, pos)? else {
                    return Err(Error::MalformedHamt("bucket entry is not a 2-tuple"));
                };
                if !kv.is_list() || kv.len() != 2 {
                    return Err(Error::MalformedHamt("bucket entry is not [key, value]"));
                }
                let Item::Bytes(k0, k1) = item(data, kv.first())? else {
                    return Err(Error::MalformedHamt("bucket entry is not [key, value]"));
                };
                if kv.bytes((k0, k1))? == key {
                    let (value, _) = kv.skip(kv.first())?;
                    return Ok(Step::Found(item(data, value)?));
                }
                pos = next;
            }
            Ok(Step::Absent)
        }
        _ => Err(Error::MalformedHamt("pointer is neither link nor bucket")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn index_matches_tau_hamt_bit_order() {
        // Same vectors as tau-hamt's hash_bits test.
        let mut h = [0u8; 32];
        h[0] = 0b1011_0011;
        h[1] = 0b0100_0000;
        assert_eq!(index(&h, 0, 5).unwrap(), 0b10110);
        assert_eq!(index(&h, 1, 5).unwrap(), 0b01101);
        assert_eq!(index(&h, 0, 8).unwrap(), 0b1011_0011);
        h[31] = 0xff;
        assert_eq!(index(&h, 51, 5).unwrap(), 1);
        assert!(index(&h, 52, 5).is_err());
    }

    #[test]
    fn bitfield_rank() {
        // Slots 1 and 9 set: big-endian bytes 02 02.
        let bf = [0x02, 0x02];
        assert_eq!(bit_and_rank(&bf, 1), (true, 0));
        assert_eq!(bit_and_rank(&bf, 9), (true, 1));
        assert_eq!(bit_and_rank(&bf, 5), (false, 1));
        assert_eq!(bit_and_rank(&bf, 200), (false, 2));
        assert_eq!(bit_and_rank(&[], 0), (false, 0));
    }
}
