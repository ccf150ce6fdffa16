//! Unit ids: the CIDv1 (DAG-CBOR, BLAKE2b-256) of a unit's encoding, and
//! their order.
//!
//! **Order.** Unit ids are compared by their CID bytes. Every unit id has the
//! same 4-byte prefix (version 1, codec 0x71, multihash 0xb220, length 32), so
//! this is the order of the 32-byte BLAKE2b digests, byte by byte. TrustNote
//! compares base64 strings instead (`+` < `/` < digits < `A–Z` < `a–z`), an
//! artefact of its text ids; the rules only need *a* total order that every
//! node shares, and the order of the bytes being hashed is the natural one.

use cid::Cid;
use multihash::Multihash;
use tau_ipld::block::{cid_of, BLAKE2B_256, DAG_CBOR};

/// The 32-byte digest inside a unit id.
pub type Digest = [u8; 32];

/// The id of a unit with this canonical encoding.
pub fn unit_id(encoded: &[u8]) -> Cid {
    cid_of(DAG_CBOR, encoded)
}

/// The digest of `cid` if it has the form of a unit id, else `None`.
pub fn digest_of(cid: &Cid) -> Option<Digest> {
    let mh = cid.hash();
    if cid.version() != cid::Version::V1
        || cid.codec() != DAG_CBOR
        || mh.code() != BLAKE2B_256
        || mh.size() != 32
    {
        return None;
    }
    mh.digest().try_into().ok()
}

/// The unit id holding `digest`.
pub fn cid_of_digest(digest: &Digest) -> Cid {
    // A 32-byte digest always fits a 64-byte multihash.
    let mh = Multihash::<64>::wrap(BLAKE2B_256, digest).unwrap_or_default();
    Cid::new_v1(DAG_CBOR, mh)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digest_round_trip_and_order_matches_cid_bytes() {
        let a = unit_id(b"a");
        let b = unit_id(b"b");
        let (da, db) = (digest_of(&a).unwrap(), digest_of(&b).unwrap());
        assert_eq!(cid_of_digest(&da), a);
        assert_eq!(da.cmp(&db), a.to_bytes().cmp(&b.to_bytes()));
        let raw = cid_of(tau_ipld::block::RAW, b"a");
        assert_eq!(digest_of(&raw), None);
    }
}
