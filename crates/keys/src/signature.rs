//! 65-byte recoverable ECDSA signatures `r ‖ s ‖ v`.

use std::fmt;

use secp256k1::ecdsa::{RecoverableSignature, RecoveryId};

use crate::error::{Error, Result};
use crate::hexfmt::write_hex;

/// Length of a signature in bytes: 32 (`r`) + 32 (`s`) + 1 (`v`).
pub const SIGNATURE_LEN: usize = 65;
/// Length of `r ‖ s`.
const COMPACT_LEN: usize = 64;
/// Length of one scalar (`r` or `s`).
const SCALAR_LEN: usize = 32;

/// A recoverable secp256k1 ECDSA signature over a 32-byte digest, in the
/// 65-byte form `r ‖ s ‖ v`:
///
/// * `r`, `s`: 32-byte big-endian scalars, both in `1..n` (n = group order);
/// * `s` is **low** (`s <= n/2`): of the two equivalent signatures `(r, s)`
///   and `(r, n − s)` only the low one is accepted, so a signature cannot be
///   altered into another valid one (non-malleable);
/// * `v`: the recovery id, `0..=3` (not Ethereum's 27/28). Bit 0 is the parity
///   of the y coordinate of the nonce point R; bit 1 is set when R's x
///   coordinate was `>= n` (so `r = x − n`), which almost never happens.
///
/// A value of this type has passed all these checks; building one from
/// bytes goes through [`Signature::from_bytes`].
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Signature([u8; SIGNATURE_LEN]);

impl Signature {
    /// Parses and validates `r ‖ s ‖ v`.
    ///
    /// Rejects, with a typed error: a length other than 65
    /// ([`Error::SignatureLength`]), `v > 3` ([`Error::RecoveryId`]), `r` or
    /// `s` zero or `>= n` ([`Error::SignatureScalar`]) and `s > n/2`
    /// ([`Error::HighS`]).
    ///
    /// ```
    /// use tau_keys::{Error, Signature};
    /// assert_eq!(Signature::from_bytes(&[1; 64]), Err(Error::SignatureLength { len: 64 }));
    /// let mut bytes = [1; 65];
    /// assert!(Signature::from_bytes(&bytes).is_ok());
    /// bytes[64] = 4;
    /// assert_eq!(Signature::from_bytes(&bytes), Err(Error::RecoveryId { v: 4 }));
    /// ```
    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        let bytes = <[u8; SIGNATURE_LEN]>::try_from(bytes)
            .map_err(|_| Error::SignatureLength { len: bytes.len() })?;
        let signature = Self(bytes);
        let recoverable = signature.to_recoverable()?;
        if r_s_of(&recoverable) != signature.compact() {
            // Cannot happen (parse/serialize round trip), kept as a guard.
            return Err(Error::SignatureScalar);
        }
        if is_high_s(&recoverable) {
            return Err(Error::HighS);
        }
        Ok(signature)
    }

    /// The 65 bytes `r ‖ s ‖ v`.
    pub const fn to_bytes(&self) -> [u8; SIGNATURE_LEN] {
        self.0
    }

    /// The 65 bytes `r ‖ s ‖ v`, borrowed.
    pub const fn as_bytes(&self) -> &[u8; SIGNATURE_LEN] {
        &self.0
    }

    /// `r`, 32 bytes big-endian.
    pub fn r(&self) -> [u8; SCALAR_LEN] {
        let mut r = [0u8; SCALAR_LEN];
        r.copy_from_slice(&self.0[..SCALAR_LEN]);
        r
    }

    /// `s`, 32 bytes big-endian (always `<= n/2`).
    pub fn s(&self) -> [u8; SCALAR_LEN] {
        let mut s = [0u8; SCALAR_LEN];
        s.copy_from_slice(&self.0[SCALAR_LEN..COMPACT_LEN]);
        s
    }

    /// `v`, the recovery id, `0..=3`.
    pub const fn recovery_id(&self) -> u8 {
        self.0[COMPACT_LEN]
    }

    /// `r ‖ s`.
    fn compact(&self) -> [u8; COMPACT_LEN] {
        let mut compact = [0u8; COMPACT_LEN];
        compact.copy_from_slice(&self.0[..COMPACT_LEN]);
        compact
    }

    /// The libsecp256k1 form, checking `v`, `r` and `s` (not low-s).
    pub(crate) fn to_recoverable(self) -> Result<RecoverableSignature> {
        let v = self.recovery_id();
        let recovery_id =
            RecoveryId::try_from(i32::from(v)).map_err(|_| Error::RecoveryId { v })?;
        if self.r() == [0; SCALAR_LEN] || self.s() == [0; SCALAR_LEN] {
            // libsecp256k1 parses zero scalars and only fails later.
            return Err(Error::SignatureScalar);
        }
        RecoverableSignature::from_compact(&self.compact(), recovery_id)
            .map_err(|_| Error::SignatureScalar)
    }

    /// Our form of a libsecp256k1 signature, normalized to low-s.
    ///
    /// libsecp256k1 signs with low-s already; should a high-s signature ever
    /// come in, `s` is replaced by `n − s` and the y parity of R (bit 0 of
    /// `v`) flipped, which yields the equivalent low-s signature.
    pub(crate) fn from_recoverable(signature: &RecoverableSignature) -> Self {
        let (recovery_id, compact) = signature.serialize_compact();
        let mut v = recovery_id_byte(recovery_id);
        let mut standard = signature.to_standard();
        standard.normalize_s();
        let low_s = standard.serialize_compact();
        if low_s != compact {
            v ^= 1;
        }
        let mut bytes = [0u8; SIGNATURE_LEN];
        bytes[..COMPACT_LEN].copy_from_slice(&low_s);
        bytes[COMPACT_LEN] = v;
        Self(bytes)
    }
}

impl TryFrom<&[u8]> for Signature {
    type Error = Error;

    fn try_from(bytes: &[u8]) -> Result<Self> {
        Self::from_bytes(bytes)
    }
}

impl fmt::Debug for Signature {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Signature(")?;
        write_hex(f, &self.0)?;
        f.write_str(")")
    }
}

/// `r ‖ s` of a libsecp256k1 signature.
fn r_s_of(signature: &RecoverableSignature) -> [u8; COMPACT_LEN] {
    signature.serialize_compact().1
}

/// Whether `s > n/2` (libsecp256k1's own test, via normalization).
fn is_high_s(signature: &RecoverableSignature) -> bool {
    let standard = signature.to_standard();
    let mut normalized = standard;
    normalized.normalize_s();
    normalized != standard
}

fn recovery_id_byte(recovery_id: RecoveryId) -> u8 {
    match recovery_id {
        RecoveryId::Zero => 0,
        RecoveryId::One => 1,
        RecoveryId::Two => 2,
        RecoveryId::Three => 3,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Keypair;

    /// n, the secp256k1 group order (SEC 2, section 2.4.1).
    const N: [u8; 32] = [
        0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
        0xfe, 0xba, 0xae, 0xdc, 0xe6, 0xaf, 0x48, 0xa0, 0x3b, 0xbf, 0xd2, 0x5e, 0x8c, 0xd0, 0x36,
        0x41, 0x41,
    ];
    /// floor(n / 2), the largest accepted s.
    const HALF_N: [u8; 32] = [
        0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
        0xff, 0x5d, 0x57, 0x6e, 0x73, 0x57, 0xa4, 0x50, 0x1d, 0xdf, 0xe9, 0x2f, 0x46, 0x68, 0x1b,
        0x20, 0xa0,
    ];

    /// a − b for 256-bit big-endian numbers with a >= b.
    fn sub(a: &[u8; 32], b: &[u8; 32]) -> [u8; 32] {
        let mut out = [0u8; 32];
        let mut borrow = 0i16;
        for i in (0..32).rev() {
            let mut d = i16::from(a[i]) - i16::from(b[i]) - borrow;
            borrow = i16::from(d < 0);
            if d < 0 {
                d += 256;
            }
            out[i] = d as u8;
        }
        assert_eq!(borrow, 0);
        out
    }

    fn add_one(a: &[u8; 32]) -> [u8; 32] {
        let mut out = *a;
        for byte in out.iter_mut().rev() {
            let (sum, carry) = byte.overflowing_add(1);
            *byte = sum;
            if !carry {
                break;
            }
        }
        out
    }

    fn with(r: &[u8; 32], s: &[u8; 32], v: u8) -> Vec<u8> {
        let mut bytes = Vec::with_capacity(65);
        bytes.extend_from_slice(r);
        bytes.extend_from_slice(s);
        bytes.push(v);
        bytes
    }

    fn signed() -> Signature {
        Keypair::from_bytes(&[7; 32]).unwrap().sign(&[9; 32])
    }

    #[test]
    fn half_n_constant_is_floor_of_n_over_2() {
        // n is odd, so n − floor(n/2) == floor(n/2) + 1.
        assert_eq!(sub(&N, &HALF_N), add_one(&HALF_N));
        assert_eq!(N[31] & 1, 1);
        assert_eq!(N, secp256k1::constants::CURVE_ORDER);
    }

    #[test]
    fn bytes_round_trip() {
        let signature = signed();
        assert_eq!(Signature::from_bytes(&signature.to_bytes()), Ok(signature));
        assert_eq!(
            Signature::try_from(&signature.as_bytes()[..]),
            Ok(signature)
        );
        assert_eq!(signature.to_bytes()[..32], signature.r());
        assert_eq!(signature.to_bytes()[32..64], signature.s());
        assert_eq!(signature.to_bytes()[64], signature.recovery_id());
        assert!(signature.recovery_id() <= 3);
    }

    #[test]
    fn rejects_wrong_lengths() {
        let bytes = signed().to_bytes();
        for len in [0, 1, 32, 64, 66, 130] {
            let input: Vec<u8> = bytes.iter().copied().cycle().take(len).collect();
            assert_eq!(
                Signature::from_bytes(&input),
                Err(Error::SignatureLength { len })
            );
        }
    }

    #[test]
    fn rejects_recovery_id_above_3() {
        let signature = signed();
        for v in [4u8, 27, 28, 0x80, 0xff] {
            let bytes = with(&signature.r(), &signature.s(), v);
            assert_eq!(Signature::from_bytes(&bytes), Err(Error::RecoveryId { v }));
        }
        for v in 0u8..=3 {
            let bytes = with(&signature.r(), &signature.s(), v);
            assert!(Signature::from_bytes(&bytes).is_ok(), "v = {v}");
        }
    }

    #[test]
    fn rejects_zero_and_out_of_range_scalars() {
        let signature = signed();
        let (r, s) = (signature.r(), signature.s());
        for (r, s) in [
            ([0; 32], s),
            (r, [0; 32]),
            (N, s),
            (r, N),
            ([0xff; 32], s),
            (r, [0xff; 32]),
        ] {
            assert_eq!(
                Signature::from_bytes(&with(&r, &s, 0)),
                Err(Error::SignatureScalar)
            );
        }
    }

    #[test]
    fn rejects_high_s() {
        let signature = signed();
        let high = sub(&N, &signature.s());
        assert!(high > HALF_N);
        let v = signature.recovery_id() ^ 1;
        assert_eq!(
            Signature::from_bytes(&with(&signature.r(), &high, v)),
            Err(Error::HighS)
        );
        // The largest s (n − 1) and the smallest high s (n/2 + 1).
        let largest = sub(&N, &add_one(&[0; 32]));
        assert_eq!(
            Signature::from_bytes(&with(&signature.r(), &largest, 0)),
            Err(Error::HighS)
        );
        let smallest_high = add_one(&HALF_N);
        assert_eq!(
            Signature::from_bytes(&with(&signature.r(), &smallest_high, 0)),
            Err(Error::HighS)
        );
    }

    #[test]
    fn accepts_boundary_low_s() {
        let r = signed().r();
        assert!(Signature::from_bytes(&with(&r, &HALF_N, 0)).is_ok());
        assert!(Signature::from_bytes(&with(&r, &add_one(&[0; 32]), 1)).is_ok());
    }

    #[test]
    fn high_s_is_normalized_to_the_equivalent_low_s() {
        let signature = signed();
        let high_s = sub(&N, &signature.s());
        let mut compact = [0u8; 64];
        compact[..32].copy_from_slice(&signature.r());
        compact[32..].copy_from_slice(&high_s);
        let v = signature.recovery_id() ^ 1;
        let recovery_id = RecoveryId::try_from(i32::from(v)).unwrap();
        let high = RecoverableSignature::from_compact(&compact, recovery_id).unwrap();
        assert!(is_high_s(&high));
        assert_eq!(Signature::from_recoverable(&high), signature);
        // and the high-s form does recover the same key (it is equivalent)
        let message = secp256k1::Message::from_digest([9; 32]);
        let secp = crate::context::secp();
        assert_eq!(
            secp.recover_ecdsa(message, &high).unwrap(),
            secp.recover_ecdsa(message, &signature.to_recoverable().unwrap())
                .unwrap()
        );
    }

    #[test]
    fn debug_is_hex() {
        let signature = signed();
        let debug = format!("{signature:?}");
        assert_eq!(debug.len(), "Signature()".len() + 130);
    }
}
