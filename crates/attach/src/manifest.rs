//! The attachment root: a manifest naming the section HAMT.

use std::fmt;

use cid::Cid;
use serde::de::{self, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_tuple::{Deserialize_tuple, Serialize_tuple};
use tau_ipld::block::{DAG_CBOR, RAW};
use tau_ipld::Blockstore;

use crate::config::{Config, MAX_SECTION_SIZE, MIN_SECTION_SIZE};
use crate::{Error, Result};

/// Version of the manifest format.
pub const MANIFEST_VERSION: u64 = 1;
/// Longest name accepted, in bytes.
pub const MAX_NAME_LEN: usize = 255;

/// What was packed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// One regular file.
    File,
    /// A directory tree.
    Directory,
}

impl Serialize for Kind {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.serialize_u8(match self {
            Kind::File => 0,
            Kind::Directory => 1,
        })
    }
}

impl<'de> Deserialize<'de> for Kind {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        match u8::deserialize(d)? {
            0 => Ok(Kind::File),
            1 => Ok(Kind::Directory),
            other => Err(de::Error::custom(format!("unknown kind {other}"))),
        }
    }
}

/// A BLAKE2b-256 digest, encoded as a 32-byte string.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct ContentHash(pub [u8; 32]);

impl fmt::Debug for ContentHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ContentHash(")?;
        self.0.iter().try_for_each(|b| write!(f, "{b:02x}"))?;
        f.write_str(")")
    }
}

impl Serialize for ContentHash {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.serialize_bytes(&self.0)
    }
}

impl<'de> Deserialize<'de> for ContentHash {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = ContentHash;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("32 bytes")
            }
            fn visit_bytes<E: de::Error>(self, v: &[u8]) -> std::result::Result<ContentHash, E> {
                <[u8; 32]>::try_from(v)
                    .map(ContentHash)
                    .map_err(|_| E::invalid_length(v.len(), &self))
            }
        }
        d.deserialize_bytes(V)
    }
}

/// The root block of an attachment (DAG-CBOR tuple): what was packed, how
/// it is cut, and the HAMT from section number to raw chunk CID.
#[derive(Debug, Clone, PartialEq, Eq, Serialize_tuple, Deserialize_tuple)]
pub struct Manifest {
    /// [`MANIFEST_VERSION`].
    pub version: u64,
    /// The file or directory name (no path), at most 255 bytes.
    pub name: String,
    /// File or directory.
    pub kind: Kind,
    /// Bytes of the packed TGZ.
    pub total_size: u64,
    /// Bytes per section (the last may be shorter).
    pub section_size: u64,
    /// Number of sections: ⌈total_size / section_size⌉.
    pub section_count: u64,
    /// BLAKE2b-256 of the whole TGZ.
    pub content_hash: ContentHash,
    /// Root of the HAMT from section number (8 bytes big-endian) to chunk CID.
    pub sections: Cid,
}

impl Manifest {
    /// Checks the manifest's own consistency and the limits of `config`.
    pub fn validate(&self, root: &Cid, config: &Config) -> Result<()> {
        let bad = |reason: String| Error::NotAnAttachment {
            root: Box::new(*root),
            reason,
        };
        if self.version != MANIFEST_VERSION {
            return Err(bad(format!("unknown manifest version {}", self.version)));
        }
        if self.name.is_empty()
            || self.name.len() > MAX_NAME_LEN
            || self.name.contains(['/', '\\', '\0'])
            || self.name == "."
            || self.name == ".."
        {
            return Err(bad(format!("invalid name {:?}", self.name)));
        }
        if !(MIN_SECTION_SIZE..=MAX_SECTION_SIZE).contains(&self.section_size) {
            return Err(bad(format!(
                "section size {} out of range",
                self.section_size
            )));
        }
        if self.section_count != self.total_size.div_ceil(self.section_size) {
            return Err(bad(format!(
                "{} sections cannot hold {} bytes of {}-byte sections",
                self.section_count, self.total_size, self.section_size
            )));
        }
        if self.section_count > config.max_sections() {
            return Err(Error::TooLarge {
                size: self.total_size,
                sections: self.section_count,
                max: config.max_sections(),
            });
        }
        if self.sections.codec() != DAG_CBOR {
            return Err(bad("section map is not DAG-CBOR".into()));
        }
        Ok(())
    }

    /// The byte length of section `index`.
    pub fn section_len(&self, index: u64) -> u64 {
        let start = index.saturating_mul(self.section_size);
        self.total_size.saturating_sub(start).min(self.section_size)
    }

    /// Loads, decodes and validates the manifest at `root` from `store`.
    pub fn load<BS: Blockstore>(store: &BS, root: &Cid, config: &Config) -> Result<Self> {
        let bytes = store
            .get(root)?
            .ok_or_else(|| Error::Missing(Box::new(*root)))?;
        Self::decode(root, &bytes, config)
    }

    /// Decodes and validates manifest bytes received for `root`.
    pub fn decode(root: &Cid, bytes: &[u8], config: &Config) -> Result<Self> {
        if root.codec() != DAG_CBOR {
            return Err(Error::NotAnAttachment {
                root: Box::new(*root),
                reason: if root.codec() == RAW {
                    "a raw block".into()
                } else {
                    format!("codec {:#x}", root.codec())
                },
            });
        }
        let manifest: Manifest =
            serde_ipld_dagcbor::from_slice(bytes).map_err(|e| Error::NotAnAttachment {
                root: Box::new(*root),
                reason: e.to_string(),
            })?;
        manifest.validate(root, config)?;
        Ok(manifest)
    }

    /// The DAG-CBOR encoding.
    pub fn encode(&self) -> Result<Vec<u8>> {
        serde_ipld_dagcbor::to_vec(self).map_err(|e| Error::Archive(e.to_string()))
    }
}

/// The HAMT key of section `index`: 8 bytes big-endian.
pub fn section_key(index: u64) -> [u8; 8] {
    index.to_be_bytes()
}
