//! Strict DAG-CBOR for the payloads this crate puts into units' opaque bytes.

use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::{Error, Result};

/// The DAG-CBOR encoding of `value`.
pub(crate) fn encode<T: Serialize>(what: &'static str, value: &T) -> Result<Vec<u8>> {
    serde_ipld_dagcbor::to_vec(value).map_err(|e| Error::Encode {
        what,
        reason: e.to_string(),
    })
}

/// Decodes `bytes`, requiring the canonical encoding.
pub(crate) fn decode_strict<T: Serialize + DeserializeOwned>(
    what: &'static str,
    bytes: &[u8],
) -> Result<T> {
    let value: T = serde_ipld_dagcbor::from_slice(bytes).map_err(|e| Error::Decode {
        what,
        reason: e.to_string(),
    })?;
    if encode(what, &value)? != bytes {
        return Err(Error::NonCanonical { what });
    }
    Ok(value)
}
