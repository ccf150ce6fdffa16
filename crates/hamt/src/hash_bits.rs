//! Key hashing and the slot index of a key at each depth.

use sha2::{Digest, Sha256};

use crate::config::KeyHash;
use crate::{Error, Result};

/// The 256-bit hash of a key, read as a big-endian bit string.
pub(crate) type KeyDigest = [u8; 32];

/// Hashes `key` as the configuration says.
#[inline]
pub(crate) fn digest(kind: KeyHash, key: &[u8]) -> Result<KeyDigest> {
    match kind {
        KeyHash::Sha256 => Ok(Sha256::digest(key).into()),
        KeyHash::Identity => {
            let mut out = [0u8; 32];
            out.get_mut(..key.len())
                .ok_or(Error::KeyTooLong(key.len()))?
                .copy_from_slice(key);
            Ok(out)
        }
    }
}

/// The slot index at `depth`: the next `bit_width` bits of the hash, most
/// significant first. Past the end of the hash the last partial chunk is used
/// (as fvm_ipld_hamt does); beyond that the hash is exhausted.
#[inline]
pub(crate) fn index(hash: &KeyDigest, depth: u32, bit_width: u32) -> Result<u32> {
    let start = depth * bit_width;
    if start >= 256 {
        return Err(Error::MaxDepth);
    }
    let width = bit_width.min(256 - start);
    let byte = (start / 8) as usize;
    let shift = start % 8;
    let hi = u16::from(hash[byte]);
    let lo = u16::from(hash.get(byte + 1).copied().unwrap_or(0));
    let two = ((hi << 8) | lo) << shift;
    Ok(u32::from(two >> (16 - width)))
}

/// Number of slots at `depth` (`2^width` of that depth's chunk).
pub(crate) fn slots_at(depth: u32, bit_width: u32) -> u32 {
    let start = depth * bit_width;
    1 << bit_width.min(256u32.saturating_sub(start))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn index_reads_bits_msb_first() {
        let mut h = [0u8; 32];
        h[0] = 0b1011_0011;
        h[1] = 0b0100_0000;
        assert_eq!(index(&h, 0, 5).unwrap(), 0b10110);
        assert_eq!(index(&h, 1, 5).unwrap(), 0b01101);
        assert_eq!(index(&h, 0, 8).unwrap(), 0b1011_0011);
        assert_eq!(index(&h, 1, 1).unwrap(), 0);
        assert_eq!(index(&h, 2, 1).unwrap(), 1);
        h[31] = 0xff;
        // bw 5: depth 51 starts at bit 255: one bit left.
        assert_eq!(index(&h, 51, 5).unwrap(), 1);
        assert_eq!(slots_at(51, 5), 2);
        assert!(matches!(index(&h, 52, 5), Err(Error::MaxDepth)));
        assert_eq!(index(&h, 31, 8).unwrap(), 0xff);
    }
}
