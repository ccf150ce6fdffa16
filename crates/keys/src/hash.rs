//! BLAKE2b-256, the protocol hash (generation signatures, seeds, signing
//! digests, address derivation and checksums).

use blake2::digest::consts::U32;
use blake2::{Blake2b, Digest};

/// BLAKE2b with a 32-byte output (the digest length is part of the
/// parameter block, so this is *not* a truncated BLAKE2b-512).
type Blake2b256 = Blake2b<U32>;

/// Length of a [`blake2b_256`] digest in bytes.
pub const DIGEST_LEN: usize = 32;

/// BLAKE2b-256 of `data`.
///
/// ```
/// let d = tau_keys::blake2b_256(b"abc");
/// assert_eq!(d[0], 0xbd);
/// ```
pub fn blake2b_256(data: &[u8]) -> [u8; DIGEST_LEN] {
    Blake2b256::digest(data).into()
}

/// BLAKE2b-256 of the concatenation of `parts`, without allocating it.
///
/// ```
/// use tau_keys::{blake2b_256, blake2b_256_concat};
/// assert_eq!(blake2b_256_concat(&[b"a", b"bc"]), blake2b_256(b"abc"));
/// ```
pub fn blake2b_256_concat(parts: &[&[u8]]) -> [u8; DIGEST_LEN] {
    let mut hasher = Blake2b256::new();
    for part in parts {
        hasher.update(part);
    }
    hasher.finalize().into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn concat_equals_one_shot() {
        let data: Vec<u8> = (0u8..=255).collect();
        let one_shot = blake2b_256(&data);
        for split in [0, 1, 127, 128, 129, 255, 256] {
            let (a, b) = data.split_at(split);
            assert_eq!(blake2b_256_concat(&[a, b]), one_shot, "split at {split}");
        }
        assert_eq!(blake2b_256_concat(&[]), blake2b_256(b""));
    }

    #[test]
    fn different_inputs_differ() {
        assert_ne!(blake2b_256(b"a"), blake2b_256(b"b"));
        assert_ne!(blake2b_256(b""), blake2b_256(&[0]));
    }
}
