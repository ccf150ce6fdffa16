//! Unsigned varints (multiformats `unsigned-varint`): LEB128, minimal, at most
//! 9 bytes (63 bits). Used for frame lengths and block prefixes.

use crate::{Error, Result};

/// Longest encoding accepted (9 bytes carry 63 bits, the multiformats maximum).
pub const MAX_LEN: usize = 9;

/// Appends the varint encoding of `value` to `out`.
pub fn encode(mut value: u64, out: &mut Vec<u8>) {
    loop {
        let byte = (value & 0x7f) as u8;
        value >>= 7;
        if value == 0 {
            out.push(byte);
            return;
        }
        out.push(byte | 0x80);
    }
}

/// Decodes a varint at the start of `buf`: `Ok(Some((value, bytes used)))`,
/// `Ok(None)` if `buf` ends inside the varint (more input may complete it), or
/// an error if it is longer than [`MAX_LEN`] or not minimally encoded.
pub fn decode(buf: &[u8]) -> Result<Option<(u64, usize)>> {
    let mut value = 0u64;
    for (i, &byte) in buf.iter().enumerate() {
        if i >= MAX_LEN {
            return Err(Error::Varint("longer than 9 bytes"));
        }
        value |= u64::from(byte & 0x7f) << (7 * i);
        if byte & 0x80 == 0 {
            if byte == 0 && i > 0 {
                return Err(Error::Varint("not minimally encoded"));
            }
            return Ok(Some((value, i + 1)));
        }
    }
    if buf.len() >= MAX_LEN {
        return Err(Error::Varint("longer than 9 bytes"));
    }
    Ok(None)
}

/// Decodes a complete varint at the start of `buf`; running out of input is an error.
pub fn decode_complete(buf: &[u8]) -> Result<(u64, usize)> {
    decode(buf)?.ok_or(Error::Varint("truncated"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn known_encodings() {
        // Values from the multiformats unsigned-varint README.
        for (v, bytes) in [
            (1u64, &[0x01][..]),
            (127, &[0x7f]),
            (128, &[0x80, 0x01]),
            (255, &[0xff, 0x01]),
            (300, &[0xac, 0x02]),
            (16384, &[0x80, 0x80, 0x01]),
        ] {
            let mut out = Vec::new();
            encode(v, &mut out);
            assert_eq!(out, bytes, "{v}");
            assert_eq!(decode(bytes).unwrap(), Some((v, bytes.len())));
        }
    }

    #[test]
    fn rejects_overlong_and_non_minimal() {
        assert!(decode(&[0x81, 0x00]).is_err());
        assert!(decode(&[0x80; 10]).is_err());
        assert_eq!(decode(&[0x80, 0x80]).unwrap(), None);
        assert!(decode_complete(&[0x80]).is_err());
        assert_eq!(decode(&[]).unwrap(), None);
    }

    #[test]
    fn nine_bytes_is_the_limit() {
        let max = (1u64 << 63) - 1;
        let mut out = Vec::new();
        encode(max, &mut out);
        assert_eq!(out, [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f]);
        assert_eq!(decode(&out).unwrap(), Some((max, 9)));
        // Input after the varint is left alone.
        out.push(0x05);
        assert_eq!(decode(&out).unwrap(), Some((max, 9)));
        // 2^63 takes a tenth byte: written, but refused when read.
        let mut out = Vec::new();
        encode(1 << 63, &mut out);
        assert_eq!(out.len(), 10);
        assert!(matches!(
            decode(&out),
            Err(Error::Varint("longer than 9 bytes"))
        ));
        assert_eq!(decode(&[0x80; 8]).unwrap(), None);
        assert!(matches!(
            decode(&[0x80; 9]),
            Err(Error::Varint("longer than 9 bytes"))
        ));
        assert!(matches!(
            decode(&[0x80, 0x00]),
            Err(Error::Varint("not minimally encoded"))
        ));
        assert!(matches!(
            decode_complete(&[0xff; 3]),
            Err(Error::Varint("truncated"))
        ));
    }

    /// LEB128 written out, to pin the wire bytes.
    fn leb128(mut value: u64) -> Vec<u8> {
        let mut out = Vec::new();
        while value >= 0x80 {
            out.push(value as u8 | 0x80);
            value >>= 7;
        }
        out.push(value as u8);
        out
    }

    proptest! {
        #[test]
        fn round_trip(v in 0u64..(1 << 63)) {
            let mut out = Vec::new();
            encode(v, &mut out);
            prop_assert_eq!(decode(&out).unwrap(), Some((v, out.len())));
        }

        #[test]
        fn wire_bytes_are_leb128(v in any::<u64>()) {
            let mut out = vec![0xaa];
            encode(v, &mut out);
            prop_assert_eq!(&out[1..], &leb128(v)[..]);
        }

        #[test]
        fn never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..16)) {
            let _ = decode(&bytes);
        }
    }
}
