//! 20-byte TAU addresses and their `T…` text form.

use std::fmt;
use std::str::FromStr;

use crate::error::{Error, Result};
use crate::hash::blake2b_256;
use crate::public_key::PublicKey;

/// Length of an address in bytes.
pub const ADDRESS_LEN: usize = 20;
/// Length of the checksum appended to an address before base58 encoding.
pub const CHECKSUM_LEN: usize = 4;
/// First character of every address text.
pub const ADDRESS_PREFIX: char = 'T';

/// Length of the base58 payload: address ‖ checksum.
const PAYLOAD_LEN: usize = ADDRESS_LEN + CHECKSUM_LEN;
/// Longest text accepted by [`Address::from_str`] before base58 decoding.
/// A 24-byte payload needs at most 33 base58 characters; the margin only
/// has to be large enough, the exact length check happens after decoding.
const MAX_TEXT_LEN: usize = 64;

/// A TAU address: the first 20 bytes of BLAKE2b-256 of the 33-byte
/// compressed public key.
///
/// Its text form is `T` followed by base58 (Bitcoin alphabet) of the
/// 20 address bytes ‖ a 4-byte checksum, the first 4 bytes of BLAKE2b-256
/// of the 20 address bytes.
///
/// ```
/// use tau_keys::{Address, Keypair};
/// let address = Keypair::from_bytes(&[1; 32])?.address();
/// let text = address.to_string();
/// assert!(text.starts_with('T'));
/// assert_eq!(text.parse::<Address>()?, address);
/// # Ok::<(), tau_keys::Error>(())
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Address([u8; ADDRESS_LEN]);

impl Address {
    /// The address with these 20 bytes.
    pub const fn new(bytes: [u8; ADDRESS_LEN]) -> Self {
        Self(bytes)
    }

    /// The address with these bytes; they must be exactly 20.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        <[u8; ADDRESS_LEN]>::try_from(bytes)
            .map(Self)
            .map_err(|_| Error::AddressLength {
                expected: ADDRESS_LEN,
                len: bytes.len(),
            })
    }

    /// The 20 address bytes.
    pub const fn as_bytes(&self) -> &[u8; ADDRESS_LEN] {
        &self.0
    }

    /// The address of a public key.
    pub fn from_public_key(key: &PublicKey) -> Self {
        let digest = blake2b_256(&key.to_bytes());
        let mut bytes = [0u8; ADDRESS_LEN];
        bytes.copy_from_slice(&digest[..ADDRESS_LEN]);
        Self(bytes)
    }

    /// The 4-byte checksum appended in the text form.
    fn checksum(&self) -> [u8; CHECKSUM_LEN] {
        let digest = blake2b_256(&self.0);
        let mut checksum = [0u8; CHECKSUM_LEN];
        checksum.copy_from_slice(&digest[..CHECKSUM_LEN]);
        checksum
    }
}

impl From<[u8; ADDRESS_LEN]> for Address {
    fn from(bytes: [u8; ADDRESS_LEN]) -> Self {
        Self(bytes)
    }
}

impl AsRef<[u8]> for Address {
    fn as_ref(&self) -> &[u8] {
        &self.0
    }
}

impl fmt::Display for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut payload = [0u8; PAYLOAD_LEN];
        payload[..ADDRESS_LEN].copy_from_slice(&self.0);
        payload[ADDRESS_LEN..].copy_from_slice(&self.checksum());
        write!(f, "{ADDRESS_PREFIX}{}", bs58::encode(payload).into_string())
    }
}

impl fmt::Debug for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Address({self})")
    }
}

impl FromStr for Address {
    type Err = Error;

    /// Parses the `T…` text form, checking prefix, base58, length and checksum.
    fn from_str(text: &str) -> Result<Self> {
        let encoded = text
            .strip_prefix(ADDRESS_PREFIX)
            .ok_or(Error::AddressPrefix)?;
        if encoded.len() > MAX_TEXT_LEN {
            return Err(Error::AddressTextTooLong { len: text.len() });
        }
        let payload = bs58::decode(encoded)
            .into_vec()
            .map_err(|e| Error::AddressBase58(e.to_string()))?;
        let payload = <[u8; PAYLOAD_LEN]>::try_from(payload.as_slice()).map_err(|_| {
            Error::AddressLength {
                expected: PAYLOAD_LEN,
                len: payload.len(),
            }
        })?;
        let (bytes, checksum) = payload.split_at(ADDRESS_LEN);
        let address = Self::from_bytes(bytes)?;
        if address.checksum() != checksum {
            return Err(Error::AddressChecksum);
        }
        Ok(address)
    }
}

impl TryFrom<&str> for Address {
    type Error = Error;

    fn try_from(text: &str) -> Result<Self> {
        text.parse()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Address {
        Address::new(core::array::from_fn(|i| i as u8 * 13 + 1))
    }

    #[test]
    fn text_round_trip() {
        for address in [sample(), Address::new([0; 20]), Address::new([0xff; 20])] {
            let text = address.to_string();
            assert!(text.starts_with('T'));
            assert_eq!(text.parse::<Address>(), Ok(address));
            assert_eq!(Address::try_from(text.as_str()), Ok(address));
        }
    }

    #[test]
    fn zero_address_keeps_leading_zeros() {
        let text = Address::new([0; 20]).to_string();
        // base58 writes each leading zero byte as '1'.
        assert!(text.starts_with("T11111111111111111111"), "{text}");
    }

    #[test]
    fn bytes_round_trip() {
        let address = sample();
        assert_eq!(Address::from_bytes(address.as_bytes()), Ok(address));
        assert_eq!(Address::from(*address.as_bytes()), address);
        assert_eq!(address.as_ref(), address.as_bytes());
    }

    #[test]
    fn from_bytes_rejects_wrong_length() {
        for len in [0, 19, 21, 33] {
            assert_eq!(
                Address::from_bytes(&vec![7; len]),
                Err(Error::AddressLength { expected: 20, len })
            );
        }
    }

    #[test]
    fn parse_errors_are_typed() {
        let text = sample().to_string();
        let body = &text[1..];
        assert_eq!(body.parse::<Address>(), Err(Error::AddressPrefix));
        assert_eq!(
            format!("t{body}").parse::<Address>(),
            Err(Error::AddressPrefix)
        );
        assert_eq!("".parse::<Address>(), Err(Error::AddressPrefix));
        assert!(matches!(
            format!("T{}0", &body[1..]).parse::<Address>(),
            Err(Error::AddressBase58(_))
        ));
        // A valid base58 string of the wrong decoded length.
        assert_eq!(
            "T".parse::<Address>(),
            Err(Error::AddressLength {
                expected: 24,
                len: 0
            })
        );
        let short = bs58::encode([1u8; 23]).into_string();
        assert_eq!(
            format!("T{short}").parse::<Address>(),
            Err(Error::AddressLength {
                expected: 24,
                len: 23
            })
        );
        let long = bs58::encode([1u8; 25]).into_string();
        assert_eq!(
            format!("T{long}").parse::<Address>(),
            Err(Error::AddressLength {
                expected: 24,
                len: 25
            })
        );
        let huge = format!("T{}", "2".repeat(1000));
        assert_eq!(
            huge.parse::<Address>(),
            Err(Error::AddressTextTooLong { len: 1001 })
        );
    }

    #[test]
    fn checksum_is_checked() {
        let address = sample();
        let mut payload = [0u8; 24];
        payload[..20].copy_from_slice(address.as_bytes());
        payload[20..].copy_from_slice(&address.checksum());
        payload[23] ^= 1;
        let text = format!("T{}", bs58::encode(payload).into_string());
        assert_eq!(text.parse::<Address>(), Err(Error::AddressChecksum));
    }

    #[test]
    fn debug_shows_text() {
        let address = sample();
        assert_eq!(format!("{address:?}"), format!("Address({address})"));
    }
}
