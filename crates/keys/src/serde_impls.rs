//! `serde` support (feature `serde`): addresses, public keys and signatures
//! serialize as byte strings of their canonical form (20, 33 and 65 bytes),
//! which DAG-CBOR writes as CBOR byte strings. Deserializing runs the same
//! checks as `from_bytes`, so a decoded value is always valid.

use std::fmt;
use std::marker::PhantomData;

use serde::de::{self, Deserializer, Visitor};
use serde::{Deserialize, Serialize, Serializer};

use crate::{Address, PublicKey, Signature};

/// A type with a canonical byte form checked on parsing.
trait ByteForm: Sized {
    const WHAT: &'static str;
    fn parse(bytes: &[u8]) -> crate::Result<Self>;
}

impl ByteForm for Address {
    const WHAT: &'static str = "a 20-byte address";
    fn parse(bytes: &[u8]) -> crate::Result<Self> {
        Address::from_bytes(bytes)
    }
}

impl ByteForm for PublicKey {
    const WHAT: &'static str = "a 33-byte compressed public key";
    fn parse(bytes: &[u8]) -> crate::Result<Self> {
        PublicKey::from_bytes(bytes)
    }
}

impl ByteForm for Signature {
    const WHAT: &'static str = "a 65-byte signature r || s || v";
    fn parse(bytes: &[u8]) -> crate::Result<Self> {
        Signature::from_bytes(bytes)
    }
}

struct BytesVisitor<T>(PhantomData<T>);

impl<T: ByteForm> Visitor<'_> for BytesVisitor<T> {
    type Value = T;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(T::WHAT)
    }

    fn visit_bytes<E: de::Error>(self, bytes: &[u8]) -> Result<T, E> {
        T::parse(bytes).map_err(E::custom)
    }
}

impl Serialize for Address {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_bytes(self.as_bytes())
    }
}

impl<'de> Deserialize<'de> for Address {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_bytes(BytesVisitor(PhantomData))
    }
}

impl Serialize for PublicKey {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_bytes(&self.to_bytes())
    }
}

impl<'de> Deserialize<'de> for PublicKey {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_bytes(BytesVisitor(PhantomData))
    }
}

impl Serialize for Signature {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_bytes(self.as_bytes())
    }
}

impl<'de> Deserialize<'de> for Signature {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_bytes(BytesVisitor(PhantomData))
    }
}

#[cfg(test)]
mod tests {
    use crate::{Address, Keypair, Signature};

    #[test]
    fn dag_cbor_byte_strings_round_trip() {
        let key = Keypair::from_bytes(&[3; 32]).unwrap();
        let address = key.address();
        let bytes = serde_ipld_dagcbor::to_vec(&address).unwrap();
        // CBOR major type 2 (byte string), length 20.
        assert_eq!(bytes[0], 0x40 | 20);
        assert_eq!(&bytes[1..], address.as_bytes());
        let back: Address = serde_ipld_dagcbor::from_slice(&bytes).unwrap();
        assert_eq!(back, address);

        let signature = key.sign(&[9; 32]);
        let bytes = serde_ipld_dagcbor::to_vec(&signature).unwrap();
        assert_eq!(&bytes[..2], &[0x58, 65]);
        let back: Signature = serde_ipld_dagcbor::from_slice(&bytes).unwrap();
        assert_eq!(back, signature);

        let public = key.public_key();
        let bytes = serde_ipld_dagcbor::to_vec(&public).unwrap();
        assert_eq!(
            serde_ipld_dagcbor::from_slice::<crate::PublicKey>(&bytes).unwrap(),
            public
        );
    }

    #[test]
    fn invalid_bytes_are_rejected_on_decode() {
        // 19 bytes is not an address.
        let short = serde_ipld_dagcbor::to_vec(&serde_bytes_like(&[1; 19])).unwrap();
        assert!(serde_ipld_dagcbor::from_slice::<Address>(&short).is_err());
        // A high-s signature is rejected like `Signature::from_bytes` does.
        let mut high = [0xff; 65];
        high[64] = 0;
        let enc = serde_ipld_dagcbor::to_vec(&serde_bytes_like(&high)).unwrap();
        assert!(serde_ipld_dagcbor::from_slice::<Signature>(&enc).is_err());
        // An integer is not bytes.
        let int = serde_ipld_dagcbor::to_vec(&7u8).unwrap();
        assert!(serde_ipld_dagcbor::from_slice::<Address>(&int).is_err());
    }

    fn serde_bytes_like(bytes: &[u8]) -> ipld_core::ipld::Ipld {
        ipld_core::ipld::Ipld::Bytes(bytes.to_vec())
    }
}
