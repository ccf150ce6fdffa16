//! Blocks on the wire: a CID prefix and the data, from which the receiver
//! rebuilds the CID by hashing.

use bytes::Bytes;
use cid::{Cid, Version};
use multihash::Multihash;
use tau_ipld::block::{blake2b_256, BLAKE2B_256, IDENTITY, SHA2_256};

use crate::varint;
use crate::{Error, Result};

/// Multicodec of DAG-PB, the only codec of CIDv0.
const DAG_PB: u64 = 0x70;

/// A CID without its digest: `varint(version) varint(codec) varint(multihash
/// code) varint(digest length)` on the wire (go's `cid.Prefix().Bytes()`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct CidPrefix {
    version: Version,
    codec: u64,
    mh_code: u64,
    mh_len: u64,
}

impl CidPrefix {
    /// The prefix of `cid`.
    pub fn of(cid: &Cid) -> Self {
        CidPrefix {
            version: cid.version(),
            codec: cid.codec(),
            mh_code: cid.hash().code(),
            mh_len: u64::from(cid.hash().size()),
        }
    }

    /// The CID version.
    pub fn version(&self) -> Version {
        self.version
    }

    /// The content codec (e.g. DAG-CBOR 0x71, raw 0x55).
    pub fn codec(&self) -> u64 {
        self.codec
    }

    /// The multihash code.
    pub fn mh_code(&self) -> u64 {
        self.mh_code
    }

    /// The digest length.
    pub fn mh_len(&self) -> u64 {
        self.mh_len
    }

    /// The wire form.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(8);
        varint::encode(u64::from(self.version), &mut out);
        varint::encode(self.codec, &mut out);
        varint::encode(self.mh_code, &mut out);
        varint::encode(self.mh_len, &mut out);
        out
    }

    /// Parses the wire form: exactly four minimal varints.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        let bad = |e: Error| Error::InvalidPrefix(e.to_string());
        let mut pos = 0;
        let mut next = || -> Result<u64> {
            let rest = bytes.get(pos..).unwrap_or_default();
            let (v, n) = varint::decode_complete(rest).map_err(bad)?;
            pos += n;
            Ok(v)
        };
        let version = match next()? {
            0 => Version::V0,
            1 => Version::V1,
            v => return Err(Error::InvalidPrefix(format!("CID version {v}"))),
        };
        let prefix = CidPrefix {
            version,
            codec: next()?,
            mh_code: next()?,
            mh_len: next()?,
        };
        if pos != bytes.len() {
            return Err(Error::InvalidPrefix("trailing bytes".into()));
        }
        if version == Version::V0
            && (prefix.codec, prefix.mh_code, prefix.mh_len) != (DAG_PB, SHA2_256, 32)
        {
            return Err(Error::InvalidPrefix(
                "CIDv0 must be DAG-PB with SHA2-256".into(),
            ));
        }
        Ok(prefix)
    }

    /// The CID of `data` under this prefix: hashes it with the prefix's
    /// multihash. Supports BLAKE2b-256, SHA2-256 (32-byte digests) and identity
    /// (the digest is the data, at most 64 bytes), the hashes `tau-ipld` verifies.
    pub fn cid_of(&self, data: &[u8]) -> Result<Cid> {
        let digest: Vec<u8> = match (self.mh_code, self.mh_len) {
            (BLAKE2B_256, 32) => blake2b_256(data).to_vec(),
            (SHA2_256, 32) => {
                use sha2::Digest;
                sha2::Sha256::digest(data).to_vec()
            }
            (IDENTITY, len) if len == data.len() as u64 => data.to_vec(),
            (code, len) => {
                return Err(Error::InvalidPrefix(format!(
                    "unsupported multihash {code:#x} of length {len} (data {} bytes)",
                    data.len()
                )))
            }
        };
        let mh = Multihash::<64>::wrap(self.mh_code, &digest)
            .map_err(|e| Error::InvalidPrefix(e.to_string()))?;
        match self.version {
            Version::V0 => Cid::new_v0(mh).map_err(|e| Error::InvalidPrefix(e.to_string())),
            Version::V1 => Ok(Cid::new_v1(self.codec, mh)),
        }
    }
}

/// A block as carried in a message: `[prefix, data]`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Block {
    /// The CID prefix.
    pub prefix: CidPrefix,
    /// The block bytes, shared with the store that served them or the
    /// message they were decoded from.
    pub data: Bytes,
}

impl Block {
    /// The wire block for `data` stored under `cid`.
    pub fn new(cid: &Cid, data: impl Into<Bytes>) -> Self {
        Block {
            prefix: CidPrefix::of(cid),
            data: data.into(),
        }
    }

    /// The block's CID, computed by hashing the data (so it always matches).
    pub fn cid(&self) -> Result<Cid> {
        self.prefix.cid_of(&self.data)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tau_ipld::block::{cid_of, DAG_CBOR, RAW};

    #[test]
    fn prefix_bytes_of_a_blake2b_dag_cbor_cid() {
        // 01 (v1), 71 (dag-cbor), a0 e4 02 (varint 0xb220), 20 (32): the first six
        // bytes of every binary HAMT node CID (`docs/src/formats/encoding.md`), digest removed.
        let cid = cid_of(DAG_CBOR, b"\x80");
        let prefix = CidPrefix::of(&cid);
        assert_eq!(prefix.to_bytes(), [0x01, 0x71, 0xa0, 0xe4, 0x02, 0x20]);
        assert_eq!(&cid.to_bytes()[..6], &prefix.to_bytes()[..]);
        assert_eq!(CidPrefix::from_bytes(&prefix.to_bytes()).unwrap(), prefix);
        assert_eq!(prefix.cid_of(b"\x80").unwrap(), cid);
    }

    #[test]
    fn rebuilds_sha256_v0_and_identity() {
        use sha2::Digest;
        let data = b"leaf".to_vec();
        let mh = Multihash::<64>::wrap(SHA2_256, &sha2::Sha256::digest(&data)).unwrap();
        for cid in [
            Cid::new_v1(RAW, mh),
            Cid::new_v0(mh).unwrap(),
            Cid::new_v1(RAW, Multihash::<64>::wrap(IDENTITY, &data).unwrap()),
        ] {
            let block = Block::new(&cid, data.clone());
            assert_eq!(block.cid().unwrap(), cid);
            tau_ipld::block::verify(&cid, &data).unwrap();
        }
        // A CIDv0 prefix is 00 70 12 20.
        let v0 = CidPrefix::of(&Cid::new_v0(mh).unwrap());
        assert_eq!(v0.to_bytes(), [0x00, 0x70, 0x12, 0x20]);
    }

    #[test]
    fn rejects_bad_prefixes() {
        for bad in [
            &[][..],
            &[0x01, 0x71, 0xa0, 0xe4, 0x02],
            &[0x01, 0x71, 0xa0, 0xe4, 0x02, 0x20, 0x00],
            &[0x02, 0x71, 0x12, 0x20],
            &[0x00, 0x71, 0x12, 0x20],
            &[0x01, 0x71, 0x80, 0x00, 0x20],
        ] {
            assert!(CidPrefix::from_bytes(bad).is_err(), "{bad:02x?}");
        }
        // Unsupported hash or wrong length: no CID.
        let p = CidPrefix::from_bytes(&[0x01, 0x55, 0x1b, 0x20]).unwrap();
        assert!(p.cid_of(b"x").is_err());
        let p = CidPrefix::from_bytes(&[0x01, 0x55, 0x12, 0x14]).unwrap();
        assert!(p.cid_of(b"x").is_err());
        let p = CidPrefix::from_bytes(&[0x01, 0x55, 0x00, 0x02]).unwrap();
        assert!(p.cid_of(b"x").is_err());
        assert!(p.cid_of(b"xy").is_ok());
    }
}
