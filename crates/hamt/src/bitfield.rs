//! The 256-bit slot bitmap of a HAMT node.

use crate::{Error, Result};

/// A set of slot indices 0..256; slot `i` is bit `2^i`.
///
/// Encoded as the big-endian bytes of that integer with leading zero bytes
/// removed (Go's `big.Int.Bytes()`), as go-hamt-ipld and fvm_ipld_hamt do.
#[derive(Clone, Copy, Default, PartialEq, Eq, Debug)]
pub(crate) struct Bitfield([u64; 4]);

impl Bitfield {
    #[inline]
    pub(crate) fn test(&self, idx: u32) -> bool {
        let (w, b) = ((idx >> 6) as usize & 3, idx & 63);
        self.0[w] >> b & 1 == 1
    }

    #[inline]
    pub(crate) fn set(&mut self, idx: u32) {
        let (w, b) = ((idx >> 6) as usize & 3, idx & 63);
        self.0[w] |= 1 << b;
    }

    #[inline]
    pub(crate) fn clear(&mut self, idx: u32) {
        let (w, b) = ((idx >> 6) as usize & 3, idx & 63);
        self.0[w] &= !(1 << b);
    }

    /// Number of set bits below `idx`: the position of slot `idx`'s pointer.
    #[inline]
    pub(crate) fn rank(&self, idx: u32) -> usize {
        let (w, b) = ((idx >> 6) as usize & 3, idx & 63);
        let mut n = (self.0[w] & ((1u64 << b) - 1)).count_ones();
        for word in &self.0[..w] {
            n += word.count_ones();
        }
        n as usize
    }

    pub(crate) fn count(&self) -> usize {
        self.0.iter().map(|w| w.count_ones() as usize).sum()
    }

    /// Whether any bit at or above `2^width` is set.
    pub(crate) fn exceeds(&self, width: u32) -> bool {
        if width >= 256 {
            return false;
        }
        let mut probe = *self;
        for i in 0..width {
            probe.clear(i);
        }
        probe != Bitfield::default()
    }

    /// Appends the trimmed big-endian encoding (without the CBOR header).
    pub(crate) fn to_be_trimmed(self) -> ([u8; 32], usize) {
        let mut out = [0u8; 32];
        for (i, w) in self.0.iter().rev().enumerate() {
            out[i * 8..i * 8 + 8].copy_from_slice(&w.to_be_bytes());
        }
        let skip = out.iter().take_while(|b| **b == 0).count();
        (out, skip)
    }

    /// Parses the trimmed big-endian encoding. Leading zero bytes are refused
    /// (they would give the same set two encodings).
    pub(crate) fn from_be_trimmed(bytes: &[u8]) -> Result<Self> {
        if bytes.len() > 32 {
            return Err(Error::MalformedNode("bitfield longer than 32 bytes"));
        }
        if bytes.first() == Some(&0) {
            return Err(Error::MalformedNode("bitfield has a leading zero byte"));
        }
        let mut full = [0u8; 32];
        full[32 - bytes.len()..].copy_from_slice(bytes);
        let mut words = [0u64; 4];
        for (i, chunk) in full.chunks_exact(8).enumerate() {
            let mut a = [0u8; 8];
            a.copy_from_slice(chunk);
            words[3 - i] = u64::from_be_bytes(a);
        }
        Ok(Bitfield(words))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encoding_round_trip_and_rank() {
        let mut b = Bitfield::default();
        for i in [0u32, 5, 63, 64, 200, 255] {
            b.set(i);
        }
        let (bytes, skip) = b.to_be_trimmed();
        assert_eq!(Bitfield::from_be_trimmed(&bytes[skip..]).unwrap(), b);
        assert_eq!(b.rank(0), 0);
        assert_eq!(b.rank(64), 3);
        assert_eq!(b.rank(255), 5);
        assert!(b.exceeds(8));
        let mut small = Bitfield::default();
        small.set(1);
        small.set(9);
        // slot 9 is bit 2^9: big-endian bytes 0x02 0x02.
        let (bytes, skip) = small.to_be_trimmed();
        assert_eq!(&bytes[skip..], &[0x02, 0x02]);
        assert!(small.exceeds(5));
        assert!(!small.exceeds(10));
        assert!(Bitfield::from_be_trimmed(&[0, 1]).is_err());
        assert_eq!(Bitfield::from_be_trimmed(&[]).unwrap(), Bitfield::default());
    }
}
