//! Serde for a CID kept as a reference, not a link: its binary form as a
//! DAG-CBOR byte string instead of a tag-42 link.
//!
//! A link makes the target part of the DAG: a traversal that follows every
//! link (a Graphsync `ExploreAll` from a state root) descends into it. A
//! state entry that only *names* other data (an attachment a message
//! announces, a download a host served) must not pull that data into chain
//! sync, so such fields use this module:
//!
//! ```
//! use serde::{Deserialize, Serialize};
//! use tau_ipld::{block, Cid};
//!
//! #[derive(Serialize, Deserialize, PartialEq, Debug)]
//! struct Named {
//!     #[serde(with = "tau_ipld::cid_as_bytes")]
//!     root: Cid,
//! }
//!
//! let named = Named { root: block::cid_of(block::RAW, b"media") };
//! let bytes = serde_ipld_dagcbor::to_vec(&named).unwrap();
//! let ipld: ipld_core::ipld::Ipld = serde_ipld_dagcbor::from_slice(&bytes).unwrap();
//! let ipld_core::ipld::Ipld::Map(map) = ipld else { panic!() };
//! assert!(matches!(map["root"], ipld_core::ipld::Ipld::Bytes(_)));
//! assert_eq!(serde_ipld_dagcbor::from_slice::<Named>(&bytes).unwrap(), named);
//! ```

use cid::Cid;
use serde::de::{Error as _, Visitor};
use serde::{Deserializer, Serializer};

/// Writes `cid` as a byte string (its binary form).
pub fn serialize<S: Serializer>(cid: &Cid, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_bytes(&cid.to_bytes())
}

/// Reads a byte string holding a CID's binary form; anything else, or bytes
/// that are not exactly one CID, is an error.
pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Cid, D::Error> {
    struct CidBytes;
    impl Visitor<'_> for CidBytes {
        type Value = Cid;
        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("a CID as a byte string")
        }
        fn visit_bytes<E: serde::de::Error>(self, v: &[u8]) -> Result<Cid, E> {
            let mut rest = v;
            let cid =
                Cid::read_bytes(&mut rest).map_err(|e| E::custom(format!("CID bytes: {e}")))?;
            if !rest.is_empty() {
                return Err(E::custom(format!("{} bytes after the CID", rest.len())));
            }
            Ok(cid)
        }
    }
    d.deserialize_bytes(CidBytes).map_err(D::Error::custom)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::block::{cid_of, DAG_CBOR};
    use ipld_core::ipld::Ipld;
    use serde::{Deserialize, Serialize};

    #[derive(Serialize, Deserialize, PartialEq, Debug)]
    struct Named(#[serde(with = "super")] Cid);

    #[test]
    fn a_named_cid_is_bytes_not_a_link_and_round_trips() {
        let cid = cid_of(DAG_CBOR, b"x");
        let bytes = serde_ipld_dagcbor::to_vec(&Named(cid)).unwrap();
        let ipld: Ipld = serde_ipld_dagcbor::from_slice(&bytes).unwrap();
        assert_eq!(ipld, Ipld::Bytes(cid.to_bytes()));
        let back: Named = serde_ipld_dagcbor::from_slice(&bytes).unwrap();
        assert_eq!(back.0, cid);
    }

    #[test]
    fn links_and_bad_bytes_are_refused() {
        let cid = cid_of(DAG_CBOR, b"x");
        let link = serde_ipld_dagcbor::to_vec(&Ipld::Link(cid)).unwrap();
        assert!(serde_ipld_dagcbor::from_slice::<Named>(&link).is_err());
        let mut trailing = cid.to_bytes();
        trailing.push(0);
        for bad in [vec![], vec![1, 2, 3], trailing] {
            let enc = serde_ipld_dagcbor::to_vec(&Ipld::Bytes(bad)).unwrap();
            assert!(serde_ipld_dagcbor::from_slice::<Named>(&enc).is_err());
        }
    }
}
