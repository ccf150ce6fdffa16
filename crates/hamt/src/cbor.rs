//! The slice of DAG-CBOR that HAMT nodes need: strict header reading, skipping
//! (and so validating) arbitrary items, and header writing.
//!
//! Values stay as their encoded bytes inside nodes; this module only has to find
//! where an item ends and reject anything that is not strict DAG-CBOR (shortest
//! headers, no indefinite lengths, only tag 42, only 64-bit floats, sorted map keys).

use crate::{Error, Result};

pub(crate) const MAJOR_UINT: u8 = 0;
pub(crate) const MAJOR_NINT: u8 = 1;
pub(crate) const MAJOR_BYTES: u8 = 2;
pub(crate) const MAJOR_TEXT: u8 = 3;
pub(crate) const MAJOR_ARRAY: u8 = 4;
pub(crate) const MAJOR_MAP: u8 = 5;
pub(crate) const MAJOR_TAG: u8 = 6;
pub(crate) const MAJOR_SIMPLE: u8 = 7;

/// CBOR tag of IPLD links.
pub(crate) const TAG_CID: u64 = 42;

/// How deeply values may nest before they are refused.
const MAX_NESTING: u32 = 64;

fn malformed(what: &'static str) -> Error {
    Error::MalformedNode(what)
}

/// A cursor over CBOR bytes that never reads out of bounds.
#[derive(Clone)]
pub(crate) struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    pub(crate) fn new(buf: &'a [u8]) -> Self {
        Self { buf, pos: 0 }
    }

    pub(crate) fn position(&self) -> usize {
        self.pos
    }

    pub(crate) fn is_at_end(&self) -> bool {
        self.pos >= self.buf.len()
    }

    /// The bytes between `start` and the current position.
    pub(crate) fn since(&self, start: usize) -> &'a [u8] {
        self.buf.get(start..self.pos).unwrap_or_default()
    }

    pub(crate) fn peek(&self) -> Result<u8> {
        self.buf
            .get(self.pos)
            .copied()
            .ok_or_else(|| malformed("unexpected end of data"))
    }

    fn byte(&mut self) -> Result<u8> {
        let b = self.peek()?;
        self.pos += 1;
        Ok(b)
    }

    pub(crate) fn take(&mut self, n: u64) -> Result<&'a [u8]> {
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
    pub(crate) fn header(&mut self) -> Result<(u8, u64)> {
        let initial = self.byte()?;
        let major = initial >> 5;
        let info = initial & 0x1f;
        let arg = match info {
            0..=23 => u64::from(info),
            24 => {
                let v = u64::from(self.byte()?);
                if v < 24 && major != MAJOR_SIMPLE {
                    return Err(malformed("non-minimal CBOR header"));
                }
                v
            }
            25 => {
                let b = self.take(2)?;
                let v = u64::from(u16::from_be_bytes([b[0], b[1]]));
                if v <= 0xff && major != MAJOR_SIMPLE {
                    return Err(malformed("non-minimal CBOR header"));
                }
                v
            }
            26 => {
                let b = self.take(4)?;
                let v = u64::from(u32::from_be_bytes([b[0], b[1], b[2], b[3]]));
                if v <= 0xffff && major != MAJOR_SIMPLE {
                    return Err(malformed("non-minimal CBOR header"));
                }
                v
            }
            27 => {
                let b = self.take(8)?;
                let mut a = [0u8; 8];
                a.copy_from_slice(b);
                let v = u64::from_be_bytes(a);
                if v <= 0xffff_ffff && major != MAJOR_SIMPLE {
                    return Err(malformed("non-minimal CBOR header"));
                }
                v
            }
            _ => return Err(malformed("indefinite or reserved CBOR length")),
        };
        if major == MAJOR_SIMPLE {
            match info {
                20..=22 | 27 => {}
                _ => return Err(malformed("CBOR simple value not allowed in DAG-CBOR")),
            }
        }
        Ok((major, arg))
    }

    /// Reads a header and checks its major type.
    pub(crate) fn expect(&mut self, major: u8, what: &'static str) -> Result<u64> {
        let (m, arg) = self.header()?;
        if m != major {
            return Err(malformed(what));
        }
        Ok(arg)
    }

    /// Reads a byte string.
    pub(crate) fn bytes(&mut self, what: &'static str) -> Result<&'a [u8]> {
        let len = self.expect(MAJOR_BYTES, what)?;
        self.take(len)
    }

    /// Checks that `count` items of at least one byte each can still follow.
    pub(crate) fn check_count(&self, count: u64) -> Result<()> {
        let left = (self.buf.len() - self.pos.min(self.buf.len())) as u64;
        if count > left {
            return Err(malformed("item count exceeds the data"));
        }
        Ok(())
    }

    /// Skips one complete DAG-CBOR item, validating it.
    pub(crate) fn skip_item(&mut self) -> Result<()> {
        self.skip_nested(0, &mut |_| {})
    }

    /// Skips one complete DAG-CBOR item, validating it, and hands every link
    /// (tag 42) inside it to `link`, in order.
    pub(crate) fn skip_item_with_links(&mut self, link: &mut dyn FnMut(cid::Cid)) -> Result<()> {
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
pub(crate) fn parse_cid_bytes(raw: &[u8]) -> Result<cid::Cid> {
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

/// A CBOR header in shortest form, as bytes and their length.
pub(crate) fn header_bytes(major: u8, arg: u64) -> ([u8; 9], usize) {
    let m = major << 5;
    let mut out = [0u8; 9];
    let len = if arg < 24 {
        out[0] = m | arg as u8;
        1
    } else if arg <= 0xff {
        out[0] = m | 24;
        out[1] = arg as u8;
        2
    } else if arg <= 0xffff {
        out[0] = m | 25;
        out[1..3].copy_from_slice(&(arg as u16).to_be_bytes());
        3
    } else if arg <= 0xffff_ffff {
        out[0] = m | 26;
        out[1..5].copy_from_slice(&(arg as u32).to_be_bytes());
        5
    } else {
        out[0] = m | 27;
        out[1..9].copy_from_slice(&arg.to_be_bytes());
        9
    };
    (out, len)
}

/// Appends a CBOR header in shortest form.
pub(crate) fn write_header(out: &mut Vec<u8>, major: u8, arg: u64) {
    let m = major << 5;
    if arg < 24 {
        out.push(m | arg as u8);
    } else if arg <= 0xff {
        out.extend_from_slice(&[m | 24, arg as u8]);
    } else if arg <= 0xffff {
        out.push(m | 25);
        out.extend_from_slice(&(arg as u16).to_be_bytes());
    } else if arg <= 0xffff_ffff {
        out.push(m | 26);
        out.extend_from_slice(&(arg as u32).to_be_bytes());
    } else {
        out.push(m | 27);
        out.extend_from_slice(&arg.to_be_bytes());
    }
}

/// Appends a byte string.
pub(crate) fn write_bytes(out: &mut Vec<u8>, bytes: &[u8]) {
    write_header(out, MAJOR_BYTES, bytes.len() as u64);
    out.extend_from_slice(bytes);
}

/// Appends a CID link (tag 42 over `0x00 ‖ CID bytes`).
pub(crate) fn write_cid(out: &mut Vec<u8>, cid: &cid::Cid) {
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
}
