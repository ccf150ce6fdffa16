//! Unsigned varints (multiformats `unsigned-varint`): LEB128, minimal, at most
//! 9 bytes (63 bits). Used for frame lengths and block prefixes.
//!
//! The coding is the `unsigned-varint` crate's; this module adds the 9-byte
//! limit (the crate's `u64` decoder accepts a tenth byte) and the split of
//! "ran out of input" (`Ok(None)`: more input may complete it) from a
//! malformed varint.

use unsigned_varint::{decode as uvi_decode, encode as uvi_encode};

use crate::{Error, Result};

/// Longest encoding accepted (9 bytes carry 63 bits, the multiformats maximum).
pub const MAX_LEN: usize = 9;

/// Appends the varint encoding of `value` to `out`.
#[inline]
pub fn encode(value: u64, out: &mut Vec<u8>) {
    out.extend_from_slice(uvi_encode::u64(value, &mut uvi_encode::u64_buffer()));
}

/// Decodes a varint at the start of `buf`: `Ok(Some((value, bytes used)))`,
/// `Ok(None)` if `buf` ends inside the varint (more input may complete it), or
/// an error if it is longer than [`MAX_LEN`] or not minimally encoded.
#[inline]
pub fn decode(buf: &[u8]) -> Result<Option<(u64, usize)>> {
    // At most MAX_LEN bytes go to the decoder, so its own (10-byte) limit
    // is never reached: a varint still going on at byte MAX_LEN is too long.
    let head = buf.get(..MAX_LEN).unwrap_or(buf);
    match uvi_decode::u64(head) {
        Ok((value, rest)) => Ok(Some((value, head.len() - rest.len()))),
        Err(uvi_decode::Error::Insufficient) if head.len() < MAX_LEN => Ok(None),
        Err(uvi_decode::Error::Insufficient | uvi_decode::Error::Overflow) => {
            Err(Error::Varint("longer than 9 bytes"))
        }
        Err(uvi_decode::Error::NotMinimal) => Err(Error::Varint("not minimally encoded")),
        Err(_) => Err(Error::Varint("malformed")),
    }
}

/// Decodes a complete varint at the start of `buf`; running out of input is an error.
#[inline]
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
