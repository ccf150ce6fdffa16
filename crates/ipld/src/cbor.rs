//! The one strict DAG-CBOR head reader and writer of the workspace.
//!
//! Structured values are encoded with `serde_ipld_dagcbor` (see
//! [`canonical`](crate::canonical)); this module is for code that reads or
//! writes DAG-CBOR in place, without building values: HAMT nodes (tau-hamt),
//! Graphsync messages (tau-graphsync), the links of a block
//! ([`block::links`](crate::block::links)). It has three parts:
//!
//! - [`read_head`]: the head of the item at a position, bounds-checked and
//!   refusing indefinite lengths and reserved values;
//! - [`Reader`]: a cursor that also enforces DAG-CBOR's strict rules (shortest
//!   heads, only tag 42, only 64-bit floats, sorted text map keys) and skips
//!   whole items, handing out their links;
//! - [`head_len`], [`header_bytes`], [`write_header`], [`write_bytes`],
//!   [`write_cid`]: shortest-form writers.
//!
//! ```
//! use tau_ipld::cbor::{write_header, Reader, MAJOR_ARRAY, MAJOR_UINT};
//! let mut out = Vec::new();
//! write_header(&mut out, MAJOR_ARRAY, 1);
//! write_header(&mut out, MAJOR_UINT, 300);
//! assert_eq!(out, [0x81, 0x19, 0x01, 0x2c]);
//! let mut reader = Reader::new(&out);
//! reader.skip_item()?;
//! assert!(reader.is_at_end());
//! // 300 in the 4-byte form is valid CBOR but not DAG-CBOR.
//! assert!(Reader::new(&[0x1a, 0, 0, 1, 0x2c]).skip_item().is_err());
//! # Ok::<(), tau_ipld::Error>(())
//! ```

use crate::{Error, Result};

/// Major type 0: unsigned integer.
pub const MAJOR_UINT: u8 = 0;
/// Major type 1: negative integer.
pub const MAJOR_NINT: u8 = 1;
/// Major type 2: byte string.
pub const MAJOR_BYTES: u8 = 2;
/// Major type 3: text string.
pub const MAJOR_TEXT: u8 = 3;
/// Major type 4: array.
pub const MAJOR_ARRAY: u8 = 4;
/// Major type 5: map.
pub const MAJOR_MAP: u8 = 5;
/// Major type 6: tag.
pub const MAJOR_TAG: u8 = 6;
/// Major type 7: simple values and floats.
pub const MAJOR_SIMPLE: u8 = 7;

/// CBOR tag of IPLD links.
pub const TAG_CID: u64 = 42;

// The head reader and writer run once per CBOR item on the HAMT's and
// Graphsync's hot paths. They lived in those crates before this one and were
// inlined there; across the crate boundary (no LTO) only `#[inline]` keeps
// that.

/// How deeply values may nest before [`Reader::skip_item`] refuses them.
const MAX_NESTING: u32 = 64;

fn malformed(what: &'static str) -> Error {
    Error::Malformed(what)
}

/// The head of one CBOR item as written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Head {
    /// Major type (0..=7).
    pub major: u8,
    /// The additional information (low five bits of the first byte).
    pub info: u8,
    /// The argument: a length, a count, a value, a tag, or a float's bits.
    pub arg: u64,
    /// Bytes the head takes (1, 2, 3, 5 or 9).
    pub len: usize,
}

/// Reads the head of the item at `pos` of `buf`.
///
/// Refuses a truncated head, an indefinite length and the reserved
/// additional-information values; accepts heads longer than needed (DAG-CBOR
/// forbids them: [`Reader::header`] checks that).
#[inline]
pub fn read_head(buf: &[u8], pos: usize) -> Result<Head> {
    let first = *buf
        .get(pos)
        .ok_or_else(|| malformed("unexpected end of data"))?;
    let major = first >> 5;
    let info = first & 0x1f;
    let extra = match info {
        0..=23 => {
            return Ok(Head {
                major,
                info,
                arg: u64::from(info),
                len: 1,
            })
        }
        24 => 1,
        25 => 2,
        26 => 4,
        27 => 8,
        _ => return Err(malformed("indefinite or reserved CBOR length")),
    };
    let bytes = pos
        .checked_add(1)
        .and_then(|from| buf.get(from..from.checked_add(extra)?))
        .ok_or_else(|| malformed("unexpected end of data"))?;
    let arg = bytes.iter().fold(0u64, |acc, b| (acc << 8) | u64::from(*b));
    Ok(Head {
        major,
        info,
        arg,
        len: 1 + extra,
    })
}

/// A cursor over CBOR bytes that never reads out of bounds.
#[derive(Clone)]
pub struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    /// A reader at the start of `buf`.
    #[inline]
    pub fn new(buf: &'a [u8]) -> Self {
        Self { buf, pos: 0 }
    }

    /// Bytes read so far.
    #[inline]
    pub fn position(&self) -> usize {
        self.pos
    }

    /// Whether every byte was read.
    #[inline]
    pub fn is_at_end(&self) -> bool {
        self.pos >= self.buf.len()
    }

    /// The bytes between `start` and the current position.
    #[inline]
    pub fn since(&self, start: usize) -> &'a [u8] {
        self.buf.get(start..self.pos).unwrap_or_default()
    }

    /// The next byte, not consumed.
    #[inline]
    pub fn peek(&self) -> Result<u8> {
        self.buf
            .get(self.pos)
            .copied()
            .ok_or_else(|| malformed("unexpected end of data"))
    }

    /// The next `n` bytes, consumed.
    #[inline]
    pub fn take(&mut self, n: u64) -> Result<&'a [u8]> {
        let n = usize::try_from(n).map_err(|_| malformed("length too large"))?;
        let end = self
            .pos
            .checked_add(n)
            .ok_or_else(|| malformed("length too large"))?;
        let out = self
            .buf
            .get(self.pos..end)
            .ok_or_else(|| malformed("unexpected end of data"))?;
        self.pos = end;
        Ok(out)
    }

    /// Reads a header with the shortest-form rule of DAG-CBOR: `(major, argument)`.
    /// For major type 7 the argument is the additional-information value for
    /// simple values (20..=23) and the raw bits for floats.
    #[inline]
    pub fn header(&mut self) -> Result<(u8, u64)> {
        let head = read_head(self.buf, self.pos)?;
        if head.major == MAJOR_SIMPLE {
            match head.info {
                20..=22 | 27 => {}
                _ => return Err(malformed("CBOR simple value not allowed in DAG-CBOR")),
            }
        } else if head_len(head.arg) != head.len {
            return Err(malformed("non-minimal CBOR header"));
        }
        self.pos += head.len;
        Ok((head.major, head.arg))
    }

    /// Reads a header and checks its major type.
    #[inline]
    pub fn expect(&mut self, major: u8, what: &'static str) -> Result<u64> {
        let (m, arg) = self.header()?;
        if m != major {
            return Err(malformed(what));
        }
        Ok(arg)
    }

    /// Reads a byte string.
    #[inline]
    pub fn bytes(&mut self, what: &'static str) -> Result<&'a [u8]> {
        let len = self.expect(MAJOR_BYTES, what)?;
        self.take(len)
    }

    /// Checks that `count` items of at least one byte each can still follow.
    #[inline]
    pub fn check_count(&self, count: u64) -> Result<()> {
        let left = (self.buf.len() - self.pos.min(self.buf.len())) as u64;
        if count > left {
            return Err(malformed("item count exceeds the data"));
        }
        Ok(())
    }

    /// Skips one complete DAG-CBOR item, validating it.
    pub fn skip_item(&mut self) -> Result<()> {
        self.skip_nested(0, &mut |_| {})
    }

    /// Skips one complete DAG-CBOR item, validating it, and hands every link
    /// (tag 42) inside it to `link`, in order.
    pub fn skip_item_with_links(&mut self, link: &mut dyn FnMut(cid::Cid)) -> Result<()> {
        self.skip_nested(0, link)
    }

    fn skip_nested(&mut self, depth: u32, link: &mut dyn FnMut(cid::Cid)) -> Result<()> {
        if depth > MAX_NESTING {
            return Err(malformed("value nested too deeply"));
        }
        let (major, arg) = self.header()?;
        match major {
            MAJOR_UINT | MAJOR_NINT | MAJOR_SIMPLE => Ok(()),
            MAJOR_BYTES => self.take(arg).map(|_| ()),
            MAJOR_TEXT => {
                let s = self.take(arg)?;
                std::str::from_utf8(s).map_err(|_| malformed("text is not UTF-8"))?;
                Ok(())
            }
            MAJOR_ARRAY => {
                self.check_count(arg)?;
                for _ in 0..arg {
                    self.skip_nested(depth + 1, link)?;
                }
                Ok(())
            }
            MAJOR_MAP => {
                self.check_count(arg.saturating_mul(2))?;
                let mut prev: Option<&[u8]> = None;
                for _ in 0..arg {
                    let len = self.expect(MAJOR_TEXT, "DAG-CBOR map keys must be strings")?;
                    let key = self.take(len)?;
                    std::str::from_utf8(key).map_err(|_| malformed("text is not UTF-8"))?;
                    if let Some(p) = prev {
                        // DAG-CBOR key order: shorter first, then bytewise.
                        if (p.len(), p) >= (key.len(), key) {
                            return Err(malformed("DAG-CBOR map keys unsorted or duplicated"));
                        }
                    }
                    prev = Some(key);
                    self.skip_nested(depth + 1, link)?;
                }
                Ok(())
            }
            MAJOR_TAG => {
                if arg != TAG_CID {
                    return Err(malformed("only tag 42 (CID) is allowed in DAG-CBOR"));
                }
                let raw = self.bytes("tag 42 must wrap a byte string")?;
                link(parse_cid_bytes(raw)?);
                Ok(())
            }
            _ => Err(malformed("unknown CBOR major type")),
        }
    }
}

/// Parses the content of a tag-42 byte string (`0x00 ‖ CID bytes`).
#[inline]
pub fn parse_cid_bytes(raw: &[u8]) -> Result<cid::Cid> {
    match raw.split_first() {
        Some((0, cid_bytes)) => {
            let mut r = cid_bytes;
            let cid = cid::Cid::read_bytes(&mut r).map_err(|_| malformed("invalid CID"))?;
            if !r.is_empty() {
                return Err(malformed("trailing bytes after CID"));
            }
            Ok(cid)
        }
        _ => Err(malformed("CID link lacks the 0x00 multibase prefix")),
    }
}

/// Bytes of the shortest head carrying `arg`.
#[inline]
pub fn head_len(arg: u64) -> usize {
    match arg {
        0..=23 => 1,
        24..=0xff => 2,
        0x100..=0xffff => 3,
        0x1_0000..=0xffff_ffff => 5,
        _ => 9,
    }
}

/// The shortest head of `major` with `arg`, as bytes and their length (for
/// writers that patch a head in place).
#[inline]
pub fn header_bytes(major: u8, arg: u64) -> ([u8; 9], usize) {
    let m = major << 5;
    let mut out = [0u8; 9];
    let len = head_len(arg);
    match len {
        1 => out[0] = m | arg as u8,
        2 => {
            out[0] = m | 24;
            out[1] = arg as u8;
        }
        3 => {
            out[0] = m | 25;
            out[1..3].copy_from_slice(&(arg as u16).to_be_bytes());
        }
        5 => {
            out[0] = m | 26;
            out[1..5].copy_from_slice(&(arg as u32).to_be_bytes());
        }
        _ => {
            out[0] = m | 27;
            out[1..9].copy_from_slice(&arg.to_be_bytes());
        }
    }
    (out, len)
}

/// Appends the shortest head of `major` with `arg`.
#[inline]
pub fn write_header(out: &mut Vec<u8>, major: u8, arg: u64) {
    let (head, len) = header_bytes(major, arg);
    out.extend_from_slice(head.get(..len).unwrap_or_default());
}

/// Appends a byte string.
pub fn write_bytes(out: &mut Vec<u8>, bytes: &[u8]) {
    write_header(out, MAJOR_BYTES, bytes.len() as u64);
    out.extend_from_slice(bytes);
}

/// Appends a CID link (tag 42 over `0x00 ‖ CID bytes`).
pub fn write_cid(out: &mut Vec<u8>, cid: &cid::Cid) {
    write_header(out, MAJOR_TAG, TAG_CID);
    let len = cid.encoded_len();
    write_header(out, MAJOR_BYTES, len as u64 + 1);
    out.push(0);
    // Writing into a Vec cannot fail.
    let _ = cid.write_bytes(&mut *out);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn skip(bytes: &[u8]) -> Result<usize> {
        let mut r = Reader::new(bytes);
        r.skip_item()?;
        Ok(r.position())
    }

    #[test]
    fn headers_round_trip_in_shortest_form() {
        for v in [
            0u64,
            23,
            24,
            255,
            256,
            65535,
            65536,
            u32::MAX as u64,
            u64::MAX,
        ] {
            let mut out = Vec::new();
            write_header(&mut out, MAJOR_UINT, v);
            let mut r = Reader::new(&out);
            assert_eq!(r.header().unwrap(), (MAJOR_UINT, v));
            assert!(r.is_at_end());
        }
    }

    #[test]
    fn rejects_non_dag_cbor() {
        assert!(skip(&[0x18, 0x05]).is_err()); // non-minimal int
        assert!(skip(&[0x9f, 0xff]).is_err()); // indefinite array
        assert!(skip(&[0xf9, 0x3c, 0x00]).is_err()); // half float
        assert!(skip(&[0xc1, 0x00]).is_err()); // tag 1
        assert!(skip(&[0xf7]).is_err()); // undefined
        assert!(skip(&[0x62, 0xff, 0xfe]).is_err()); // bad UTF-8
        assert!(skip(&[0xa2, 0x61, 0x62, 0x00, 0x61, 0x61, 0x00]).is_err()); // unsorted map
        assert!(skip(&[0x9b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]).is_err());
        assert_eq!(
            skip(&[0xa2, 0x61, 0x61, 0x00, 0x61, 0x62, 0xf6]).unwrap(),
            7
        );
        assert_eq!(skip(&[0xfb, 0, 0, 0, 0, 0, 0, 0, 0]).unwrap(), 9);
    }

    #[test]
    fn written_heads_are_the_encoders_and_read_back() {
        for len in [0u64, 1, 23, 24, 255, 256, 65_535, 65_536, 1 << 32] {
            let mut ours = Vec::new();
            write_header(&mut ours, MAJOR_BYTES, len);
            assert_eq!(ours.len(), head_len(len));
            let (patched, n) = header_bytes(MAJOR_BYTES, len);
            assert_eq!(&patched[..n], &ours[..]);
            let head = read_head(&ours, 0).unwrap();
            assert_eq!(
                (head.major, head.arg, head.len),
                (MAJOR_BYTES, len, ours.len())
            );
            if len <= 65_536 {
                let theirs = serde_ipld_dagcbor::to_vec(&serde_bytes_like(len)).unwrap();
                assert_eq!(ours, theirs[..ours.len()], "length {len}");
            }
        }
        // A head cut short, an indefinite length and a reserved value.
        assert!(read_head(&[0x19, 0x01], 0).is_err());
        assert!(read_head(&[0x5f], 0).is_err());
        assert!(read_head(&[0x1c], 0).is_err());
        assert!(read_head(&[], 0).is_err());
    }

    /// A value `serde_ipld_dagcbor` writes as a byte string of `len` bytes.
    fn serde_bytes_like(len: u64) -> ipld_core::ipld::Ipld {
        ipld_core::ipld::Ipld::Bytes(vec![0; len as usize])
    }
}
