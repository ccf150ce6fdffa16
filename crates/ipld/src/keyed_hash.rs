//! A fast keyed hash for in-memory tables whose keys are CIDs, digests or
//! addresses.
//!
//! SipHash (the standard library's default) is built for short, adversarial
//! keys of any shape and costs about 20 ns for a CID; the keys here are
//! mostly cryptographic digests already, so one folded 64×64→128-bit multiply
//! per 16 bytes spreads them well. The hash is still **keyed**: every table
//! draws its own 256-bit key from the standard library's random source, so
//! nobody can grind ids whose hashes collide in someone's table without
//! knowing that key (digests can be ground for a few chosen bits; an unkeyed
//! prefix of them could be flooded). It is not a cryptographic MAC, and
//! nothing may depend on it beyond the layout of one table: results never do.
//!
//! ```
//! use tau_ipld::keyed_hash::HashKey;
//! let key = HashKey::random();
//! assert_eq!(key.hash_bytes(b"abc"), key.hash_bytes(b"abc"));
//! assert_ne!(key.hash_bytes(b"abc"), key.hash_bytes(b"abd"));
//! ```

use std::hash::{BuildHasher, Hasher, RandomState};

/// A 256-bit hash key, random per instance.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct HashKey([u64; 4]);

impl std::fmt::Debug for HashKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The key is a secret of the table that holds it.
        f.write_str("HashKey(..)")
    }
}

impl Default for HashKey {
    fn default() -> Self {
        Self::random()
    }
}

#[inline]
fn fold_mul(a: u64, b: u64) -> u64 {
    let p = u128::from(a) * u128::from(b);
    (p as u64) ^ ((p >> 64) as u64)
}

#[inline]
fn word(bytes: &[u8]) -> u64 {
    let mut b = [0u8; 8];
    let n = bytes.len().min(8);
    b[..n].copy_from_slice(&bytes[..n]);
    u64::from_le_bytes(b)
}

impl HashKey {
    /// A fresh key from the standard library's random source (the one that
    /// seeds `HashMap`s).
    pub fn random() -> Self {
        let state = RandomState::new();
        Self(std::array::from_fn(|i| {
            let mut h = state.build_hasher();
            h.write_usize(i);
            h.finish()
        }))
    }

    /// A fixed key, for tests that need a reproducible table layout.
    pub const fn from_words(words: [u64; 4]) -> Self {
        Self(words)
    }

    /// The hash of `bytes`, continuing from `state` (0 for a fresh hash).
    #[inline]
    fn absorb(&self, mut state: u64, bytes: &[u8]) -> u64 {
        let [k0, k1, k2, _] = self.0;
        state ^= k0 ^ (bytes.len() as u64).rotate_left(32);
        let mut chunks = bytes.chunks_exact(16);
        for c in &mut chunks {
            state = fold_mul(word(&c[..8]) ^ k1, word(&c[8..]) ^ k2 ^ state);
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let (a, b) = rest.split_at(rest.len().min(8));
            state = fold_mul(word(a) ^ k1, word(b) ^ k2 ^ state);
        }
        state
    }

    #[inline]
    fn finish(&self, state: u64) -> u64 {
        let [k0, _, _, k3] = self.0;
        fold_mul(state ^ k3, k0.rotate_left(17) ^ 0x9e37_79b9_7f4a_7c15)
    }

    /// The hash of a byte string.
    #[inline]
    pub fn hash_bytes(&self, bytes: &[u8]) -> u64 {
        self.finish(self.absorb(0, bytes))
    }

    /// A [`BuildHasher`] for `HashMap`s and `HashSet`s, with this key.
    pub fn build(&self) -> KeyedState {
        KeyedState(*self)
    }
}

/// A [`BuildHasher`] over a [`HashKey`]; `Default` draws a random key.
#[derive(Debug, Clone, Default)]
pub struct KeyedState(HashKey);

impl BuildHasher for KeyedState {
    type Hasher = KeyedHasher;
    fn build_hasher(&self) -> KeyedHasher {
        KeyedHasher {
            key: self.0,
            state: 0,
        }
    }
}

/// The [`Hasher`] of a [`KeyedState`].
#[derive(Debug, Clone)]
pub struct KeyedHasher {
    key: HashKey,
    state: u64,
}

impl Hasher for KeyedHasher {
    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        self.state = self.key.absorb(self.state, bytes);
    }

    #[inline]
    fn write_u8(&mut self, i: u8) {
        self.write_u64(u64::from(i));
    }

    #[inline]
    fn write_u32(&mut self, i: u32) {
        self.write_u64(u64::from(i));
    }

    #[inline]
    fn write_u64(&mut self, i: u64) {
        let [_, k1, k2, _] = self.key.0;
        self.state = fold_mul(i ^ k1, self.state ^ k2);
    }

    #[inline]
    fn write_usize(&mut self, i: usize) {
        self.write_u64(i as u64);
    }

    #[inline]
    fn finish(&self) -> u64 {
        self.key.finish(self.state)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn keys_differ_and_hashes_depend_on_them() {
        let (a, b) = (HashKey::random(), HashKey::random());
        assert_ne!(a, b);
        assert_ne!(a.hash_bytes(b"unit"), b.hash_bytes(b"unit"));
        let fixed = HashKey::from_words([1, 2, 3, 4]);
        assert_eq!(fixed.hash_bytes(b"unit"), fixed.hash_bytes(b"unit"));
    }

    #[test]
    fn lengths_and_trailing_zeros_are_distinguished() {
        let key = HashKey::from_words([5, 6, 7, 8]);
        let mut seen = HashSet::new();
        for len in 0..40 {
            assert!(seen.insert(key.hash_bytes(&vec![0u8; len])), "length {len}");
        }
    }

    #[test]
    fn low_bits_spread_for_digests_sharing_a_prefix() {
        // 4096 keys that differ only in their last two bytes fill a
        // 4096-bucket table's low 12 bits nearly evenly.
        let key = HashKey::random();
        let mut buckets = vec![0u32; 4096];
        for i in 0..4096u32 {
            let mut d = [0xAB; 32];
            d[30..].copy_from_slice(&(i as u16).to_be_bytes());
            buckets[(key.hash_bytes(&d) & 4095) as usize] += 1;
        }
        let max = buckets.iter().copied().max().unwrap_or(0);
        assert!(max <= 12, "a bucket holds {max} of 4096 keys");
    }

    #[test]
    fn build_hasher_works_in_a_hash_map() {
        let mut map = std::collections::HashMap::with_hasher(KeyedState::default());
        for i in 0..1000u32 {
            map.insert(i, i * 2);
        }
        assert!((0..1000u32).all(|i| map.get(&i) == Some(&(i * 2))));
    }
}
