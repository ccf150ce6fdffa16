//! Units: the vertices of the DAG (TR-2018-02 §3.1).
//!
//! A unit is the DAG-CBOR tuple `[unsigned, signatures]` with `unsigned =
//! [version, round, timestamp, parents, authors, messages]`. Each author signs
//! the BLAKE2b-256 of the unsigned encoding; the unit id is the CID of the
//! whole encoding ([`crate::id`]).

use cid::Cid;
use serde_tuple::{Deserialize_tuple, Serialize_tuple};
use tau_keys::{Address, Keypair, Signature};

use crate::id::{digest_of, unit_id, Digest};
use crate::message::{Input, Message};
use crate::params::Params;
use crate::{Error, Result};

/// The signed content of a unit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize_tuple, Deserialize_tuple)]
pub struct UnsignedUnit {
    /// Protocol version (`Params::version`).
    pub version: u64,
    /// The TrustME round the unit belongs to; its attestors decide the
    /// unit's attestation level.
    pub round: u64,
    /// Milliseconds since the Unix epoch, as the author claims (never read
    /// from a clock here).
    pub timestamp: u64,
    /// Parent unit ids, strictly ascending by id bytes; empty only for genesis.
    pub parents: Vec<Cid>,
    /// Authors, strictly ascending by address bytes.
    pub authors: Vec<Address>,
    /// The messages.
    pub messages: Vec<Message>,
}

impl UnsignedUnit {
    /// The digest every author signs: BLAKE2b-256 of the DAG-CBOR encoding.
    pub fn signing_digest(&self) -> Result<[u8; 32]> {
        Ok(tau_keys::blake2b_256(&tau_ipld::canonical::encode(
            "unsigned unit",
            self,
        )?))
    }

    /// Signs for every author with the matching key among `keys`.
    pub fn sign(self, keys: &[&Keypair]) -> Result<Unit> {
        let digest = self.signing_digest()?;
        let signatures = self
            .authors
            .iter()
            .map(|a| {
                keys.iter()
                    .find(|k| k.address() == *a)
                    .map(|k| k.sign(&digest))
            })
            .collect::<Option<Vec<_>>>()
            .ok_or(Error::SignatureCount {
                authors: self.authors.len(),
                signatures: keys.len(),
            })?;
        Ok(Unit {
            unsigned: self,
            signatures,
        })
    }
}

/// A signed unit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize_tuple, Deserialize_tuple)]
pub struct Unit {
    /// The signed content.
    pub unsigned: UnsignedUnit,
    /// One signature per author, in the authors' order.
    pub signatures: Vec<Signature>,
}

impl Unit {
    /// Decodes a unit, rejecting oversize input before parsing and any
    /// non-canonical encoding. Does not check signatures or structure.
    pub fn decode(bytes: &[u8], params: &Params) -> Result<Self> {
        if bytes.len() > params.max_unit_size {
            return Err(Error::Oversize {
                size: bytes.len(),
                max: params.max_unit_size,
            });
        }
        Ok(tau_ipld::canonical::decode_canonical("unit", bytes)?)
    }

    /// The canonical DAG-CBOR encoding.
    pub fn encode(&self) -> Result<Vec<u8>> {
        Ok(tau_ipld::canonical::encode("unit", self)?)
    }

    /// Whether this is a TrustME (attestation) unit: it carries a TrustME message.
    pub fn is_attestation(&self) -> bool {
        self.unsigned
            .messages
            .iter()
            .any(|m| matches!(m, Message::TrustMe(_)))
    }

    /// The parents.
    pub fn parents(&self) -> &[Cid] {
        &self.unsigned.parents
    }

    /// Every output spent by the unit's payments, in message order.
    pub fn inputs(&self) -> impl Iterator<Item = &Input> {
        self.unsigned.messages.iter().flat_map(|m| match m {
            Message::Payment(p) => p.inputs.as_slice(),
            _ => &[],
        })
    }

    /// Checks what needs no DAG: version, counts, order of parents and
    /// authors, parent id form. Zero parents pass (the DAG decides genesis).
    pub fn check_structure(&self, params: &Params) -> Result<()> {
        let u = &self.unsigned;
        if u.version != params.version {
            return Err(Error::UnsupportedVersion(u.version));
        }
        if u.parents.len() > params.max_parents {
            return Err(Error::ParentCount {
                count: u.parents.len(),
                max: params.max_parents,
            });
        }
        let mut previous: Option<Digest> = None;
        for parent in &u.parents {
            let digest = digest_of(parent).ok_or_else(|| Error::BadParentId(Box::new(*parent)))?;
            if previous.is_some_and(|p| p >= digest) {
                return Err(Error::UnsortedParents);
            }
            previous = Some(digest);
        }
        let authors_ok = !u.authors.is_empty()
            && u.authors.len() <= params.max_authors
            && u.authors
                .windows(2)
                .all(|w| w[0].as_bytes() < w[1].as_bytes());
        if !authors_ok {
            return Err(Error::BadAuthors {
                count: u.authors.len(),
                max: params.max_authors,
            });
        }
        if self.signatures.len() != u.authors.len() {
            return Err(Error::SignatureCount {
                authors: u.authors.len(),
                signatures: self.signatures.len(),
            });
        }
        if u.messages.is_empty() || u.messages.len() > params.max_messages {
            return Err(Error::MessageCount {
                count: u.messages.len(),
                max: params.max_messages,
            });
        }
        Ok(())
    }

    /// Checks structure, size and every author's signature.
    pub fn verify(self, params: &Params) -> Result<VerifiedUnit> {
        let bytes = self.encode()?;
        self.verify_encoded(bytes, params)
    }

    fn verify_encoded(self, bytes: Vec<u8>, params: &Params) -> Result<VerifiedUnit> {
        let checked = Self::checked(self, bytes, params)?;
        let digest = checked.unit.unsigned.signing_digest()?;
        for (author, signature) in checked
            .unit
            .unsigned
            .authors
            .iter()
            .zip(&checked.unit.signatures)
        {
            tau_keys::verify(&digest, signature, author).map_err(|source| Error::BadSignature {
                author: *author,
                source,
            })?;
        }
        Ok(checked)
    }

    /// Checks structure and size but **not** signatures: for units whose
    /// signatures were checked before (reloading one's own store, benchmarks
    /// that measure the consensus logic alone).
    pub fn assume_verified(self, params: &Params) -> Result<VerifiedUnit> {
        let bytes = self.encode()?;
        Self::checked(self, bytes, params)
    }

    fn checked(unit: Unit, bytes: Vec<u8>, params: &Params) -> Result<VerifiedUnit> {
        if bytes.len() > params.max_unit_size {
            return Err(Error::Oversize {
                size: bytes.len(),
                max: params.max_unit_size,
            });
        }
        unit.check_structure(params)?;
        let id = unit_id(&bytes);
        Ok(VerifiedUnit { unit, bytes, id })
    }
}

/// A unit whose structure and signatures are checked, with its encoding and
/// id: what [`Dag::insert`](crate::Dag::insert) takes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedUnit {
    unit: Unit,
    bytes: Vec<u8>,
    id: Cid,
}

impl VerifiedUnit {
    /// Decodes and fully verifies a unit received as bytes.
    pub fn from_bytes(bytes: &[u8], params: &Params) -> Result<Self> {
        let unit = Unit::decode(bytes, params)?;
        unit.verify_encoded(bytes.to_vec(), params)
    }

    /// The unit.
    pub fn unit(&self) -> &Unit {
        &self.unit
    }

    /// Its canonical encoding.
    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// Its id (CID of the encoding).
    pub fn id(&self) -> Cid {
        self.id
    }

    /// The unit, dropping the encoding.
    pub fn into_unit(self) -> Unit {
        self.unit
    }
}
