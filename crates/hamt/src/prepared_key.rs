//! A key with its index hash computed once, for a lookup followed by a write
//! of the same key.

use crate::config::KeyHash;
use crate::hash_bits::{self, KeyDigest};
use crate::Result;

/// A key and its hash under one [`KeyHash`]. A read then a write of the same
/// key ([`Hamt::get_prepared`](crate::Hamt::get_prepared),
/// [`Hamt::set_prepared`](crate::Hamt::set_prepared)) hash it once instead of
/// twice. Used with a map of another key hash, the hash is recomputed, so
/// results never depend on where the key was prepared.
///
/// ```
/// use tau_hamt::{Hamt, PreparedKey};
/// use tau_ipld::MemoryBlockstore;
/// let store = MemoryBlockstore::new();
/// let mut map: Hamt<_, u64> = Hamt::new(&store);
/// let key = PreparedKey::new(map.config().key_hash(), b"alice".to_vec())?;
/// assert_eq!(map.get_prepared(&key)?, None);
/// map.set_prepared(&key, &[0x05])?; // the integer 5
/// assert_eq!(map.get(b"alice")?, Some(5));
/// # Ok::<(), tau_hamt::Error>(())
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct PreparedKey {
    key: Vec<u8>,
    kind: KeyHash,
    hash: KeyDigest,
}

impl std::fmt::Debug for PreparedKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PreparedKey")
            .field("key", &self.key)
            .field("kind", &self.kind)
            .finish_non_exhaustive()
    }
}

impl PreparedKey {
    /// Hashes `key` with `kind` ([`Error::KeyTooLong`](crate::Error::KeyTooLong)
    /// for an identity hash of more than 32 bytes).
    pub fn new(kind: KeyHash, key: Vec<u8>) -> Result<Self> {
        let hash = hash_bits::digest(kind, &key)?;
        Ok(Self { key, kind, hash })
    }

    /// The key's bytes.
    pub fn key(&self) -> &[u8] {
        &self.key
    }

    /// The key's hash under `kind`: the stored one if it was prepared with
    /// `kind`, computed now otherwise.
    pub(crate) fn hash_for(&self, kind: KeyHash) -> Result<KeyDigest> {
        if kind == self.kind {
            Ok(self.hash)
        } else {
            hash_bits::digest(kind, &self.key)
        }
    }
}
