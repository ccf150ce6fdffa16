//! DAG-CBOR in and out of the IPLD data model, safe on untrusted bytes.
//!
//! [`decode`] first walks the bytes iteratively, checking that they are one
//! well-formed, definite-length CBOR item nesting at most [`MAX_NESTING`] deep
//! whose declared lengths fit the input, and only then hands them to
//! `serde_ipld_dagcbor` (which decodes recursively; its `cbor4ii` reader stops
//! at 127 levels of nesting for `Ipld`). The pre-check makes the bound explicit
//! and rejects lying lengths before any allocation.

use ipld_core::ipld::Ipld;

use crate::{Error, Result};

/// Deepest nesting of arrays, maps and tags accepted in a message or block.
///
/// This is the most `serde_ipld_dagcbor` 0.7 decodes into `Ipld`; go has no such
/// limit, but blocks and selectors nested deeper are not seen in practice.
pub const MAX_NESTING: usize = 127;

/// Reads the argument of the head at `pos` (major type, info) and returns
/// `(major, argument, head length)`.
fn head(buf: &[u8], pos: usize) -> Result<(u8, u64, usize)> {
    let first = *buf.get(pos).ok_or_else(|| cbor("truncated item"))?;
    let major = first >> 5;
    let info = first & 0x1f;
    let extra = match info {
        0..=23 => return Ok((major, u64::from(info), 1)),
        24 => 1,
        25 => 2,
        26 => 4,
        27 => 8,
        31 => return Err(cbor("indefinite lengths are not DAG-CBOR")),
        _ => return Err(cbor("reserved additional information")),
    };
    let bytes = buf
        .get(pos + 1..pos + 1 + extra)
        .ok_or_else(|| cbor("truncated item head"))?;
    let arg = bytes.iter().fold(0u64, |acc, b| (acc << 8) | u64::from(*b));
    Ok((major, arg, 1 + extra))
}

fn cbor(msg: &str) -> Error {
    Error::Cbor(msg.to_string())
}

/// Checks that `buf` is exactly one well-formed definite-length CBOR item whose
/// nesting is at most `max_nesting` deep, without recursion.
pub fn check_well_formed(buf: &[u8], max_nesting: usize) -> Result<()> {
    // Items still expected at each open nesting level.
    let mut open: Vec<u64> = vec![1];
    let mut pos = 0usize;
    while let Some(remaining) = open.last_mut() {
        if *remaining == 0 {
            open.pop();
            continue;
        }
        *remaining -= 1;
        let (major, arg, len) = head(buf, pos)?;
        pos += len;
        let left = (buf.len() - pos) as u64;
        let children = match major {
            0 | 1 | 7 => 0,
            2 | 3 => {
                if arg > left {
                    return Err(cbor("string longer than the input"));
                }
                pos += arg as usize;
                0
            }
            4 => arg,
            5 => arg.checked_mul(2).ok_or_else(|| cbor("map too long"))?,
            6 => 1,
            _ => return Err(cbor("unknown major type")),
        };
        if children > 0 {
            if children > left {
                return Err(cbor("container longer than the input"));
            }
            if open.len() > max_nesting {
                return Err(Error::Cbor(format!("nesting deeper than {max_nesting}")));
            }
            open.push(children);
        }
    }
    if pos != buf.len() {
        return Err(cbor("trailing bytes after the item"));
    }
    Ok(())
}

/// Decodes untrusted DAG-CBOR bytes into the IPLD data model.
pub fn decode(buf: &[u8]) -> Result<Ipld> {
    check_well_formed(buf, MAX_NESTING)?;
    serde_ipld_dagcbor::from_slice(buf).map_err(|e| Error::Cbor(e.to_string()))
}

/// Encodes an IPLD value as DAG-CBOR (map keys sorted length-first, as DAG-CBOR
/// requires).
pub fn encode(value: &Ipld) -> Result<Vec<u8>> {
    serde_ipld_dagcbor::to_vec(value).map_err(|e| Error::Encode(e.to_string()))
}

/// Map keys in DAG-CBOR order: shorter keys first, equal lengths bytewise.
///
/// `Ipld::Map` is a `BTreeMap` (bytewise order); canonical DAG-CBOR blocks
/// (and go-ipld-prime's iteration over them) list keys length-first.
pub fn canonical_order<V>(
    map: &std::collections::BTreeMap<String, V>,
) -> impl Iterator<Item = (&String, &V)> {
    let mut entries: Vec<(&String, &V)> = map.iter().collect();
    entries.sort_by(|a, b| a.0.len().cmp(&b.0.len()).then_with(|| a.0.cmp(b.0)));
    entries.into_iter()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn deep_nesting_is_rejected_without_recursion() {
        // 100,000 nested one-element arrays: recursion would overflow the stack.
        let mut deep = vec![0x81u8; 100_000];
        deep.push(0x01);
        assert!(matches!(decode(&deep), Err(Error::Cbor(_))));
        // The limit itself is fine, and decodes on a test thread's stack.
        let mut ok = vec![0x81u8; MAX_NESTING];
        ok.push(0x01);
        assert!(decode(&ok).is_ok());
        let mut over = vec![0x81u8; MAX_NESTING + 1];
        over.push(0x01);
        assert!(decode(&over).is_err());
    }

    #[test]
    fn rejects_lies_about_length_and_trailing_bytes() {
        // Array claiming 2^32 items in 6 bytes.
        assert!(decode(&[0x9a, 0xff, 0xff, 0xff, 0xff, 0x01]).is_err());
        // Byte string claiming 100 bytes.
        assert!(decode(&[0x58, 100, 1, 2]).is_err());
        // Indefinite-length array.
        assert!(decode(&[0x9f, 0x01, 0xff]).is_err());
        // Two items.
        assert!(decode(&[0x01, 0x02]).is_err());
        assert!(decode(&[]).is_err());
    }

    #[test]
    fn canonical_order_is_length_first() {
        let mut m = std::collections::BTreeMap::new();
        for k in ["bb", "a", "ab", "c", "aaa"] {
            m.insert(k.to_string(), ());
        }
        let keys: Vec<&str> = canonical_order(&m).map(|(k, _)| k.as_str()).collect();
        assert_eq!(keys, ["a", "c", "ab", "bb", "aaa"]);
        // The encoder agrees.
        let ipld = Ipld::Map(m.keys().map(|k| (k.clone(), Ipld::Null)).collect());
        let bytes = encode(&ipld).unwrap();
        let pos = |k: &str| {
            bytes
                .windows(k.len() + 1)
                .position(|w| w[0] == 0x60 + k.len() as u8 && &w[1..] == k.as_bytes())
                .unwrap()
        };
        assert!(pos("a") < pos("c") && pos("c") < pos("ab") && pos("bb") < pos("aaa"));
    }

    proptest! {
        #[test]
        fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..256)) {
            let _ = decode(&bytes);
        }
    }
}
