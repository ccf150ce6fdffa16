//! Compressed secp256k1 public keys.

use std::fmt;

use crate::address::Address;
use crate::error::{Error, Result};
use crate::hexfmt::write_hex;

/// Length of a compressed public key in bytes.
pub const PUBLIC_KEY_LEN: usize = 33;

/// A secp256k1 public key; its canonical byte form is the 33-byte
/// compressed encoding (`0x02`/`0x03` ‖ x).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PublicKey(secp256k1::PublicKey);

impl PublicKey {
    /// Parses a 33-byte compressed public key.
    ///
    /// ```
    /// use tau_keys::{Error, PublicKey};
    /// assert_eq!(PublicKey::from_bytes(&[2; 32]), Err(Error::PublicKeyLength { len: 32 }));
    /// ```
    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        let array = <[u8; PUBLIC_KEY_LEN]>::try_from(bytes)
            .map_err(|_| Error::PublicKeyLength { len: bytes.len() })?;
        secp256k1::PublicKey::from_byte_array_compressed(array)
            .map(Self)
            .map_err(|_| Error::InvalidPublicKey)
    }

    /// The 33-byte compressed encoding.
    pub fn to_bytes(&self) -> [u8; PUBLIC_KEY_LEN] {
        self.0.serialize()
    }

    /// The address of this key (see [`Address::from_public_key`]).
    pub fn address(&self) -> Address {
        Address::from_public_key(self)
    }

    pub(crate) fn from_secp(key: secp256k1::PublicKey) -> Self {
        Self(key)
    }
}

impl fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PublicKey(")?;
        write_hex(f, &self.to_bytes())?;
        f.write_str(")")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The generator point G (public key of secret key 1), SEC 2 section 2.4.1.
    const G_COMPRESSED: &str = "0279be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798";

    fn hex(s: &str) -> Vec<u8> {
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

    #[test]
    fn round_trip_generator() {
        let bytes = hex(G_COMPRESSED);
        let key = PublicKey::from_bytes(&bytes).unwrap();
        assert_eq!(key.to_bytes().to_vec(), bytes);
        assert!(format!("{key:?}").contains(G_COMPRESSED));
    }

    #[test]
    fn rejects_bad_input() {
        let mut bytes = hex(G_COMPRESSED);
        bytes[0] = 0x04; // uncompressed tag on a compressed-length key
        assert_eq!(PublicKey::from_bytes(&bytes), Err(Error::InvalidPublicKey));
        bytes[0] = 0x02;
        bytes[1..].fill(0xff); // x >= field prime
        assert_eq!(PublicKey::from_bytes(&bytes), Err(Error::InvalidPublicKey));
        assert_eq!(
            PublicKey::from_bytes(&[]),
            Err(Error::PublicKeyLength { len: 0 })
        );
        assert_eq!(
            PublicKey::from_bytes(&[2; 65]),
            Err(Error::PublicKeyLength { len: 65 })
        );
    }
}
