//! Strict DAG-CBOR for chain objects: every object has exactly one encoding.
//!
//! [`decode_canonical`] decodes and re-encodes, and rejects bytes that differ,
//! so an object's hash (its id, its signed digest) cannot be changed by
//! re-encoding it. tau-state, tau-dag and tau-trustme encode their signed
//! objects through this module; each crate wraps [`CodecError`] in its own
//! error type.

use serde::de::DeserializeOwned;
use serde::Serialize;

/// Why an object could not be encoded or decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CodecError {
    /// An object could not be encoded.
    #[error("cannot encode {what}: {reason}")]
    Encode {
        /// What was being encoded.
        what: &'static str,
        /// The encoder's message.
        reason: String,
    },
    /// Bytes that do not decode as the expected object.
    #[error("cannot decode {what}: {reason}")]
    Decode {
        /// What was being decoded.
        what: &'static str,
        /// The decoder's message.
        reason: String,
    },
    /// Bytes that decode but are not the object's canonical encoding.
    #[error("{what} is not canonically encoded")]
    NonCanonical {
        /// What was being decoded.
        what: &'static str,
    },
}

/// The DAG-CBOR encoding of `value` (`what` names it in errors).
pub fn encode<T: Serialize>(what: &'static str, value: &T) -> Result<Vec<u8>, CodecError> {
    let mut out = Vec::new();
    encode_into(what, value, &mut out)?;
    Ok(out)
}

/// Appends the DAG-CBOR encoding of `value` to `out` (a reused buffer; on
/// error `out` may hold part of it).
///
/// ```
/// let mut out = vec![0x82];
/// tau_ipld::canonical::encode_into("pair", &1u8, &mut out)?;
/// tau_ipld::canonical::encode_into("pair", &"a", &mut out)?;
/// assert_eq!(out, [0x82, 0x01, 0x61, b'a']);
/// # Ok::<(), tau_ipld::canonical::CodecError>(())
/// ```
pub fn encode_into<T: Serialize>(
    what: &'static str,
    value: &T,
    out: &mut Vec<u8>,
) -> Result<(), CodecError> {
    serde_ipld_dagcbor::to_writer(out, value).map_err(|e| CodecError::Encode {
        what,
        reason: e.to_string(),
    })
}

/// Appends the shortest CBOR header of an array of `len` items, for callers
/// that write an array's items themselves (already encoded).
///
/// ```
/// let mut out = Vec::new();
/// tau_ipld::canonical::write_array_header(&mut out, 300);
/// assert_eq!(out, [0x99, 0x01, 0x2c]);
/// ```
pub fn write_array_header(out: &mut Vec<u8>, len: u64) {
    crate::cbor::write_header(out, crate::cbor::MAJOR_ARRAY, len);
}

/// Decodes `bytes` as a `T` and requires them to be its canonical encoding.
///
/// ```
/// use tau_ipld::canonical::{decode_canonical, CodecError};
/// assert_eq!(decode_canonical::<u64>("n", &[0x18, 42]), Ok(42));
/// // 42 written in two bytes where one suffices: decodes, but not canonical.
/// assert!(matches!(
///     decode_canonical::<u64>("n", &[0x19, 0x00, 42]),
///     Err(CodecError::Decode { .. } | CodecError::NonCanonical { .. })
/// ));
/// ```
pub fn decode_canonical<T: Serialize + DeserializeOwned>(
    what: &'static str,
    bytes: &[u8],
) -> Result<T, CodecError> {
    let value: T = serde_ipld_dagcbor::from_slice(bytes).map_err(|e| CodecError::Decode {
        what,
        reason: e.to_string(),
    })?;
    if encode(what, &value)? != bytes {
        return Err(CodecError::NonCanonical { what });
    }
    Ok(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn array_headers_match_the_encoder_at_every_width() {
        for len in [0u64, 1, 23, 24, 255, 256, 65_535, 65_536] {
            let mut ours = Vec::new();
            write_array_header(&mut ours, len);
            let theirs = serde_ipld_dagcbor::to_vec(&vec![(); len as usize]).unwrap();
            // `()` encodes as null (one byte each): the header is the rest.
            assert_eq!(ours, theirs[..theirs.len() - len as usize], "length {len}");
        }
    }

    #[derive(Debug, PartialEq, serde::Serialize, serde::Deserialize)]
    struct Pair {
        a: u8,
        bb: u8,
    }

    #[test]
    fn round_trip_and_a_reordered_map_is_not_canonical() {
        let pair = Pair { a: 1, bb: 2 };
        let bytes = encode("pair", &pair).unwrap();
        // Canonical: keys sorted by length, "a" before "bb".
        assert_eq!(bytes, [0xa2, 0x61, b'a', 1, 0x62, b'b', b'b', 2]);
        assert_eq!(decode_canonical::<Pair>("pair", &bytes), Ok(pair));
        // An extra field decodes (serde ignores it) to the same value, but the
        // bytes are not that value's encoding: refused, so no two encodings
        // of one object (and no two ids) exist.
        let extra = [
            0xa3, 0x61, b'a', 1, 0x62, b'b', b'b', 2, 0x63, b'c', b'c', b'c', 3,
        ];
        assert_eq!(
            decode_canonical::<Pair>("pair", &extra),
            Err(CodecError::NonCanonical { what: "pair" })
        );
        assert!(matches!(
            decode_canonical::<Pair>("pair", &[0xa2]),
            Err(CodecError::Decode { what: "pair", .. })
        ));
    }
}
