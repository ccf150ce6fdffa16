//! Proof-of-work targets: Bitcoin's compact `bits` encoding (docs/src/formats/equihash.md) and the
//! TrustNote acceptance rule, BLAKE2b-256 of the solution ≤ target (its
//! "Targets and acceptance").

use crate::error::{Error, Result};
use ruint::aliases::U256;

/// Bit of a compact value that marks the mantissa negative.
const SIGN_BIT: u32 = 0x0080_0000;
/// The 23 mantissa bits of a compact value.
const MANTISSA_MASK: u32 = 0x007f_ffff;
/// Bytes in the mantissa of a compact value.
const MANTISSA_BYTES: usize = 3;
/// Length of the acceptance hash (BLAKE2b-256).
const POW_HASH_BYTES: usize = 32;

/// A 256-bit proof-of-work target: a hash, read as a big-endian integer, meets it when it is
/// less than or equal to the target. A larger target is an easier one.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Target(U256);

/// Bitcoin's `SetCompact` result, before any validity rule is applied.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DecodedCompact {
    /// The magnitude (modulo 2^256 when `overflow` is set, as `arith_uint256` computes it).
    pub magnitude: U256,
    /// The sign bit is set and the mantissa is not zero.
    pub negative: bool,
    /// The value does not fit in 256 bits.
    pub overflow: bool,
}

/// Decodes compact `bits` exactly as Bitcoin's `arith_uint256::SetCompact` does (§6).
///
/// This never fails; [`Target::from_compact`] applies the acceptance rules.
#[must_use]
pub fn decode_compact(bits: u32) -> DecodedCompact {
    let size = (bits >> 24) as usize;
    let mut word = bits & MANTISSA_MASK;
    let magnitude = if size <= MANTISSA_BYTES {
        // At most a 24-bit shift of a 32-bit value.
        word >>= 8 * (MANTISSA_BYTES - size);
        U256::from_limbs([u64::from(word), 0, 0, 0])
    } else {
        // A shift of 256 bits or more yields zero, like `arith_uint256 <<=`.
        U256::from_limbs([u64::from(word), 0, 0, 0]).wrapping_shl(8 * (size - MANTISSA_BYTES))
    };
    let negative = word != 0 && bits & SIGN_BIT != 0;
    let overflow =
        word != 0 && (size > 34 || (word > 0xff && size > 33) || (word > 0xffff && size > 32));
    DecodedCompact {
        magnitude,
        negative,
        overflow,
    }
}

impl Target {
    /// The largest 256-bit target (every hash meets it).
    pub const MAX: Target = Target(U256::MAX);

    /// TrustNote's limit in compact form (`docs/src/formats/equihash.md`).
    pub const TRUSTNOTE_LIMIT_BITS: u32 = 0x1f7f_ffff;

    /// Zcash mainnet's `powLimit` in compact form (its genesis `nBits`).
    pub const ZCASH_LIMIT_BITS: u32 = 0x1f07_ffff;

    /// Wraps a 256-bit integer.
    #[must_use]
    pub const fn new(value: U256) -> Self {
        Target(value)
    }

    /// The target as a 256-bit integer.
    #[must_use]
    pub const fn as_u256(&self) -> U256 {
        self.0
    }

    /// Reads a target from 32 big-endian bytes.
    #[must_use]
    pub const fn from_be_bytes(bytes: [u8; 32]) -> Self {
        Target(U256::from_be_bytes(bytes))
    }

    /// The target as 32 big-endian bytes.
    #[must_use]
    pub const fn to_be_bytes(&self) -> [u8; 32] {
        self.0.to_be_bytes()
    }

    /// TrustNote's limit, the target of `0x1f7fffff`: `0x7fffff · 2^224`, i.e. the bytes
    /// `00 7f ff ff 00 … 00`.
    #[must_use]
    pub const fn pow_limit_trustnote() -> Self {
        Target(U256::from_limbs([0, 0, 0, 0x007f_ffff << 32]))
    }

    /// The target of `0x1f07ffff`: `0x07ffff · 2^224`, i.e. the bytes `00 07 ff ff 00 … 00`.
    ///
    /// Zcash's own `powLimit` is `0007ffff ff…ff`; both encode to the same compact bits.
    #[must_use]
    pub const fn pow_limit_zcash() -> Self {
        Target(U256::from_limbs([0, 0, 0, 0x0007_ffff << 32]))
    }

    /// Decodes compact `bits`, rejecting negative, overflowing and zero values, but with no limit.
    ///
    /// # Errors
    /// [`Error::InvalidBits`] naming the rule that fails.
    pub fn from_compact_unlimited(bits: u32) -> Result<Self> {
        let decoded = decode_compact(bits);
        let why = if decoded.negative {
            "negative"
        } else if decoded.overflow {
            "overflow"
        } else if decoded.magnitude.is_zero() {
            "zero"
        } else {
            return Ok(Target(decoded.magnitude));
        };
        Err(Error::InvalidBits { bits, why })
    }

    /// Decodes compact `bits` as TrustNote and Bitcoin's `CheckProofOfWork` accept them:
    /// not negative, not overflowing, not zero, and not above `limit`.
    ///
    /// ```
    /// use tau_pow::{Error, Target};
    ///
    /// let limit = Target::pow_limit_trustnote();
    /// let target = Target::from_compact(0x1d00ffff, &limit)?;
    /// assert_eq!(target.to_be_bytes()[4..6], [0xff, 0xff]);
    /// assert_eq!(target.to_compact(), 0x1d00ffff);
    /// assert_eq!(
    ///     Target::from_compact(0x04923456, &limit),
    ///     Err(Error::InvalidBits { bits: 0x04923456, why: "negative" })
    /// );
    /// # Ok::<(), Error>(())
    /// ```
    ///
    /// # Errors
    /// [`Error::InvalidBits`] naming the rule that fails.
    pub fn from_compact(bits: u32, limit: &Target) -> Result<Self> {
        let target = Self::from_compact_unlimited(bits)?;
        if target > *limit {
            return Err(Error::InvalidBits {
                bits,
                why: "above the limit",
            });
        }
        Ok(target)
    }

    /// Encodes the target in compact form (Bitcoin's `GetCompact`, §6).
    ///
    /// The encoding keeps the three most significant bytes, so decoding the result gives a
    /// target ≤ `self`. Zero encodes to `0`, which [`Target::from_compact`] rejects.
    #[must_use]
    pub fn to_compact(&self) -> u32 {
        let mut size = self.0.byte_len();
        let mantissa = if size <= MANTISSA_BYTES {
            self.0.wrapping_shl(8 * (MANTISSA_BYTES - size))
        } else {
            self.0.wrapping_shr(8 * (size - MANTISSA_BYTES))
        };
        // At most three significant bytes remain.
        let mut mantissa = mantissa.as_limbs()[0] as u32;
        if mantissa & SIGN_BIT != 0 {
            mantissa >>= 8;
            size += 1;
        }
        // `size` ≤ 33: a 256-bit value has at most 32 bytes, plus one for the sign shift.
        ((size as u32) << 24) | mantissa
    }
}

impl From<U256> for Target {
    fn from(value: U256) -> Self {
        Target(value)
    }
}

impl From<Target> for U256 {
    fn from(target: Target) -> Self {
        target.0
    }
}

/// BLAKE2b-256 of `solution` (no key, no personalization): the hash TrustNote compares with
/// the target (§5).
#[must_use]
pub fn pow_hash(solution: &[u8]) -> [u8; POW_HASH_BYTES] {
    let hash = blake2b_simd::Params::new()
        .hash_length(POW_HASH_BYTES)
        .hash(solution);
    let mut bytes = [0u8; POW_HASH_BYTES];
    for (out, byte) in bytes.iter_mut().zip(hash.as_bytes()) {
        *out = *byte;
    }
    bytes
}

/// Whether `solution` meets `target`: [`pow_hash`] read big-endian is ≤ the target (§5).
///
/// ```
/// use tau_pow::{meets_target, Target};
///
/// // BLAKE2b-256("abc") = bddd813c…, above TrustNote's limit 007fffff 00…00.
/// assert!(meets_target(b"abc", &Target::MAX));
/// assert!(!meets_target(b"abc", &Target::pow_limit_trustnote()));
/// ```
#[must_use]
pub fn meets_target(solution: &[u8], target: &Target) -> bool {
    Target::from_be_bytes(pow_hash(solution)) <= *target
}

/// Whether `solution` meets the target of compact `bits`, which must be valid under `limit`.
///
/// # Errors
/// [`Error::InvalidBits`] when `bits` is negative, zero, overflowing or above `limit`.
pub fn meets_bits(solution: &[u8], bits: u32, limit: &Target) -> Result<bool> {
    Target::from_compact(bits, limit).map(|target| meets_target(solution, &target))
}
