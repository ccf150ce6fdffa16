//! The crate's error type.

use crate::address::Address;

/// Everything that can go wrong in `tau-keys`.
///
/// Every variant describes a problem with *input* (bytes, strings or a
/// signature that does not match); no function of this crate panics on
/// external data.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A keystore document is malformed or uses what this version does not
    /// read (feature `keystore`).
    #[error("keystore: {0}")]
    Keystore(String),
    /// A keystore document did not open with the passphrase given (or was
    /// altered).
    #[error("wrong passphrase (or the key file was altered)")]
    WrongPassphrase,
    /// A secret key was not exactly 32 bytes long.
    #[error("secret key must be 32 bytes, got {len}")]
    SecretKeyLength {
        /// The length that was given.
        len: usize,
    },
    /// A secret key was zero or not below the secp256k1 group order.
    #[error("secret key is not a valid secp256k1 scalar (zero or >= group order)")]
    InvalidSecretKey,
    /// A public key was not exactly 33 bytes long (compressed form).
    #[error("compressed public key must be 33 bytes, got {len}")]
    PublicKeyLength {
        /// The length that was given.
        len: usize,
    },
    /// 33 bytes that are not a compressed secp256k1 point.
    #[error("not a compressed secp256k1 public key")]
    InvalidPublicKey,
    /// An address in text form did not start with `T`.
    #[error("address text must start with 'T'")]
    AddressPrefix,
    /// An address in text form was far longer than any valid address.
    #[error("address text is too long ({len} bytes)")]
    AddressTextTooLong {
        /// The length of the text in bytes.
        len: usize,
    },
    /// The part after `T` was not valid base58 (the decoder's message; the
    /// bs58 error type is not part of this crate's API, so a bs58 upgrade
    /// does not change it).
    #[error("address text is not valid base58: {0}")]
    AddressBase58(String),
    /// Address bytes (or the decoded text payload) had the wrong length:
    /// 20 bytes for [`Address::from_bytes`], 24 (address ‖ checksum) for text.
    #[error("address must be {expected} bytes, got {len}")]
    AddressLength {
        /// The length required.
        expected: usize,
        /// The length that was given.
        len: usize,
    },
    /// The 4-byte checksum of an address text did not match its 20 bytes.
    #[error("address checksum mismatch")]
    AddressChecksum,
    /// A signature was not exactly 65 bytes (`r ‖ s ‖ v`) long.
    #[error("signature must be 65 bytes, got {len}")]
    SignatureLength {
        /// The length that was given.
        len: usize,
    },
    /// The recovery id `v` (last signature byte) was not in `0..=3`.
    #[error("signature recovery id must be 0..=3, got {v}")]
    RecoveryId {
        /// The byte that was given.
        v: u8,
    },
    /// `r` or `s` was zero or not below the secp256k1 group order.
    #[error("signature r or s is zero or not below the group order")]
    SignatureScalar,
    /// `s` was in the upper half of the group order; only low-s
    /// (normalized, non-malleable) signatures are accepted.
    #[error("signature s is high (s > n/2); only low-s signatures are accepted")]
    HighS,
    /// No public key can be recovered from the signature for this digest.
    #[error("no public key can be recovered from the signature")]
    Recovery,
    /// The signature is valid but was made by a different key.
    #[error("signature was made by {recovered}, expected {expected}")]
    SignatureMismatch {
        /// The address the caller expected.
        expected: Address,
        /// The address the signature recovers to.
        recovered: Address,
    },
}

/// `Result` with this crate's [`Error`].
pub type Result<T> = std::result::Result<T, Error>;
