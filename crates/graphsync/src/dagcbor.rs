//! DAG-CBOR in and out of the IPLD data model, safe on untrusted bytes.
//!
//! [`decode`] first walks the bytes iteratively ([`scan`]), checking that they
//! are one well-formed, definite-length CBOR item nesting at most
//! [`MAX_NESTING`] deep whose declared lengths fit the input, and estimating
//! what decoding them into [`Ipld`] would allocate; only if that estimate is at
//! most [`MAX_DECODE_FACTOR`] times the input (plus [`DECODE_SLACK`]) are they
//! handed to `serde_ipld_dagcbor` (which decodes recursively; its `cbor4ii`
//! reader stops at 127 levels of nesting for `Ipld`). Lying lengths are
//! rejected before any allocation, and so are inputs such as a list of four
//! million zeros (4 MiB that would decode to some 400 MB of `Ipld`).
//!
//! Blocks walked by a traversal are not decoded at all: they are checked by
//! [`check_dag`] (the same walk, plus DAG-CBOR's rules for map keys and
//! links) and read in place.

use ipld_core::ipld::Ipld;

use crate::{Error, Result};

/// Deepest nesting of arrays, maps and tags accepted in a message or block.
///
/// This is the most `serde_ipld_dagcbor` 0.7 decodes into `Ipld`; go has no such
/// limit, but blocks and selectors nested deeper are not seen in practice.
pub const MAX_NESTING: usize = 127;

/// What [`decode`] may allocate per input byte: the estimate of the decoded
/// value (one `Ipld` per item, plus string and byte payloads) must be at most
/// this many times the input length, plus [`DECODE_SLACK`]. Graphsync
/// messages of blocks estimate at about 1 times their size, of metadata at
/// about 7, of requests with small selectors at about 24; a list of small
/// integers would be about 110. (The network service also bounds what the
/// messages of one peer and of all peers may hold decoded at once.)
pub const MAX_DECODE_FACTOR: usize = 32;

/// Estimated decoded bytes allowed beyond [`MAX_DECODE_FACTOR`] (small
/// messages and selectors).
pub const DECODE_SLACK: usize = 64 << 10;

/// The DAG-CBOR tag of a link.
pub(crate) const CID_TAG: u64 = 42;

/// Reads the head of the item at `pos`: `(major type, argument, head length)`
/// (tau-ipld's one head reader; an error is this crate's [`Error::Cbor`]).
pub(crate) fn head(buf: &[u8], pos: usize) -> Result<(u8, u64, usize)> {
    let head = tau_ipld::cbor::read_head(buf, pos).map_err(|e| Error::Cbor(e.to_string()))?;
    Ok((head.major, head.arg, head.len))
}

pub(crate) fn cbor(msg: &str) -> Error {
    Error::Cbor(msg.to_string())
}

/// What [`scan`] found.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Scan {
    /// Data items (a link's tag and bytes count as two).
    pub items: u64,
    /// Bytes of string and byte-string payloads.
    pub payload: u64,
}

impl Scan {
    /// An upper estimate of the bytes decoding into [`Ipld`] allocates.
    pub fn decoded_estimate(&self) -> u64 {
        // Each item is an `Ipld` in its parent's vector or map node, plus
        // about 16 bytes of map-node or vector slack; payloads are copied.
        let per_item = (std::mem::size_of::<Ipld>() + 16) as u64;
        self.items
            .saturating_mul(per_item)
            .saturating_add(self.payload)
    }
}

/// Checks that `buf` is exactly one well-formed definite-length CBOR item whose
/// nesting is at most `max_nesting` deep, without recursion.
pub fn check_well_formed(buf: &[u8], max_nesting: usize) -> Result<()> {
    scan(buf, max_nesting, false).map(|_| ())
}

/// As [`check_well_formed`], and the DAG-CBOR rules a traversal relies on:
/// map keys are text strings, text strings are UTF-8, the only tag is 42 (a
/// link) and it holds a byte string starting with the identity multibase
/// prefix 0x00.
pub fn check_dag(buf: &[u8]) -> Result<Scan> {
    scan(buf, MAX_NESTING, true)
}

/// One open array, map or tag while scanning.
struct Open {
    /// Items still expected.
    remaining: u64,
    /// A map: its items alternate key, value (the key when `remaining` is even).
    map: bool,
    /// A link tag: its one item must be a CID byte string.
    link: bool,
}

/// Walks `buf` as one CBOR item (see [`check_well_formed`]; `dag` adds the
/// rules of [`check_dag`]) and counts its items and payload bytes.
pub fn scan(buf: &[u8], max_nesting: usize, dag: bool) -> Result<Scan> {
    let mut open: Vec<Open> = vec![Open {
        remaining: 1,
        map: false,
        link: false,
    }];
    let mut pos = 0usize;
    let mut found = Scan::default();
    while let Some(top) = open.last_mut() {
        if top.remaining == 0 {
            open.pop();
            continue;
        }
        let is_key = top.map && top.remaining % 2 == 0;
        let in_link = top.link;
        top.remaining -= 1;
        let (major, arg, len) = head(buf, pos)?;
        pos += len;
        found.items += 1;
        let left = (buf.len() - pos) as u64;
        if dag && is_key && major != 3 {
            return Err(cbor("map key is not a string"));
        }
        // A CID byte string starts with the 0x00 multibase prefix; an empty
        // one would make `get(pos)` read the next item's first byte.
        if dag && in_link && (major != 2 || arg == 0 || buf.get(pos) != Some(&0)) {
            return Err(cbor("link is not a CID byte string"));
        }
        let (children, map, link) = match major {
            0 | 1 | 7 => (0, false, false),
            2 | 3 => {
                if arg > left {
                    return Err(cbor("string longer than the input"));
                }
                let end = pos + arg as usize;
                if dag
                    && major == 3
                    && buf
                        .get(pos..end)
                        .map(std::str::from_utf8)
                        .is_some_and(|r| r.is_err())
                {
                    return Err(cbor("text string is not UTF-8"));
                }
                pos = end;
                found.payload += arg;
                (0, false, false)
            }
            4 => (arg, false, false),
            5 => (
                arg.checked_mul(2).ok_or_else(|| cbor("map too long"))?,
                true,
                false,
            ),
            6 => {
                if dag && arg != CID_TAG {
                    return Err(cbor("tag other than 42 (link)"));
                }
                (1, false, arg == CID_TAG)
            }
            _ => return Err(cbor("unknown major type")),
        };
        if children > 0 {
            if children > left {
                return Err(cbor("container longer than the input"));
            }
            if open.len() > max_nesting {
                return Err(Error::Cbor(format!("nesting deeper than {max_nesting}")));
            }
            open.push(Open {
                remaining: children,
                map,
                link,
            });
        }
    }
    if pos != buf.len() {
        return Err(cbor("trailing bytes after the item"));
    }
    Ok(found)
}

/// The end of the item at `pos` in `buf` (which [`scan`] accepted), without
/// recursion; also returns how many items it holds.
pub(crate) fn skip(buf: &[u8], mut pos: usize) -> Result<(usize, u64)> {
    let mut remaining: u64 = 1;
    let mut items = 0u64;
    while remaining > 0 {
        remaining -= 1;
        items += 1;
        let (major, arg, len) = head(buf, pos)?;
        pos += len;
        match major {
            2 | 3 => {
                pos = usize::try_from(arg)
                    .ok()
                    .and_then(|n| pos.checked_add(n))
                    .filter(|end| *end <= buf.len())
                    .ok_or_else(|| cbor("string longer than the input"))?;
            }
            4 => remaining = remaining.saturating_add(arg),
            5 => remaining = remaining.saturating_add(arg.saturating_mul(2)),
            6 => remaining = remaining.saturating_add(1),
            _ => {}
        }
        if remaining > buf.len() as u64 {
            return Err(cbor("container longer than the input"));
        }
    }
    Ok((pos, items))
}

/// Decodes untrusted DAG-CBOR bytes into the IPLD data model, refusing input
/// whose decoded form would exceed [`MAX_DECODE_FACTOR`] times its size.
pub fn decode(buf: &[u8]) -> Result<Ipld> {
    let found = scan(buf, MAX_NESTING, false)?;
    let allowed = (buf.len().saturating_mul(MAX_DECODE_FACTOR) + DECODE_SLACK) as u64;
    if found.decoded_estimate() > allowed {
        return Err(Error::Cbor(format!(
            "{} bytes would decode to about {} bytes (more than {MAX_DECODE_FACTOR} per byte)",
            buf.len(),
            found.decoded_estimate()
        )));
    }
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
    fn an_empty_link_is_not_a_cid() {
        // tag 42 over an empty byte string, then a 0x00 the check must not
        // take for the link's prefix.
        assert!(check_dag(&[0x82, 0xd8, 0x2a, 0x40, 0x00]).is_err());
    }

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

    #[test]
    fn decoding_is_proportional_to_the_input() {
        // 4 MiB: a list of 4 Mi zeros would be some 400 MB of `Ipld`.
        let n = 4usize << 20;
        let mut zeros = vec![0x9a, 0, 0, 0, 0];
        zeros[1..].copy_from_slice(&(n as u32).to_be_bytes());
        zeros.resize(5 + n, 0);
        assert!(matches!(decode(&zeros), Err(Error::Cbor(_))));
        // Few items with large payloads pass.
        let blob = Ipld::List(vec![Ipld::Bytes(vec![7; 1 << 20]); 4]);
        let bytes = encode(&blob).unwrap();
        assert_eq!(decode(&bytes).unwrap(), blob);
    }

    #[test]
    fn dag_rules_and_skip() {
        // {1: 2}: a key that is not a string.
        assert!(check_dag(&[0xa1, 0x01, 0x02]).is_err());
        assert!(check_well_formed(&[0xa1, 0x01, 0x02], 8).is_ok());
        // A text string that is not UTF-8.
        assert!(check_dag(&[0x61, 0xff]).is_err());
        assert!(check_well_formed(&[0x61, 0xff], 8).is_ok());
        // Tag 1 and a link tag over a text string.
        assert!(check_dag(&[0xc1, 0x01]).is_err());
        assert!(check_dag(&[0xd8, 0x2a, 0x61, 0x00]).is_err());
        // [[1, 2], "ab", 3]: skipping the first element.
        let buf = [0x83, 0x82, 0x01, 0x02, 0x62, b'a', b'b', 0x03];
        assert_eq!(check_dag(&buf).unwrap().items, 6);
        assert_eq!(skip(&buf, 1).unwrap(), (4, 3));
        assert_eq!(skip(&buf, 4).unwrap(), (7, 1));
        assert_eq!(skip(&buf, 0).unwrap(), (8, 6));
        assert!(skip(&buf, 8).is_err());
    }

    proptest! {
        #[test]
        fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..256)) {
            let _ = decode(&bytes);
            if check_dag(&bytes).is_ok() {
                prop_assert_eq!(skip(&bytes, 0).unwrap().0, bytes.len());
            }
        }
    }
}
