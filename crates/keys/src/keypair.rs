//! secp256k1 key pairs: generation, (de)serialization of the secret, signing.

use std::fmt;

use rand::{CryptoRng, RngCore};
use secp256k1::{Message, SecretKey};

use crate::address::Address;
use crate::context::secp;
use crate::error::{Error, Result};
use crate::hash::blake2b_256;
use crate::public_key::PublicKey;
use crate::signature::Signature;

/// Length of a secret key in bytes.
pub const SECRET_KEY_LEN: usize = 32;

/// A secp256k1 secret key with its public key and address.
///
/// `Debug` shows the address only, never the secret.
///
/// ```
/// use tau_keys::{verify, Keypair};
/// let keypair = Keypair::from_bytes(&[1; 32])?;
/// let digest = tau_keys::blake2b_256(b"unsigned object");
/// let signature = keypair.sign(&digest);
/// verify(&digest, &signature, &keypair.address())?;
/// # Ok::<(), tau_keys::Error>(())
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct Keypair {
    secret: SecretKey,
    public: PublicKey,
    address: Address,
}

impl Keypair {
    /// A new random key pair drawn from `rng` (which must be a CSPRNG).
    pub fn generate<R: RngCore + CryptoRng + ?Sized>(rng: &mut R) -> Self {
        Self::from_secret(SecretKey::new(rng))
    }

    /// A new random key pair from the operating system's randomness
    /// (through `rand`'s thread-local CSPRNG).
    pub fn random() -> Self {
        Self::generate(&mut rand::rng())
    }

    /// The key pair of a 32-byte big-endian secret scalar, which must be in
    /// `1..n` ([`Error::InvalidSecretKey`] otherwise).
    pub fn from_bytes(secret: &[u8; SECRET_KEY_LEN]) -> Result<Self> {
        SecretKey::from_byte_array(*secret)
            .map(Self::from_secret)
            .map_err(|_| Error::InvalidSecretKey)
    }

    /// Like [`Keypair::from_bytes`], from a slice that must be 32 bytes long
    /// ([`Error::SecretKeyLength`] otherwise).
    pub fn from_slice(secret: &[u8]) -> Result<Self> {
        let secret = <[u8; SECRET_KEY_LEN]>::try_from(secret)
            .map_err(|_| Error::SecretKeyLength { len: secret.len() })?;
        Self::from_bytes(&secret)
    }

    /// The 32 secret bytes. Handle with care.
    pub fn to_bytes(&self) -> [u8; SECRET_KEY_LEN] {
        self.secret.secret_bytes()
    }

    /// The public key.
    pub fn public_key(&self) -> PublicKey {
        self.public
    }

    /// The address of the public key.
    pub fn address(&self) -> Address {
        self.address
    }

    /// Signs a 32-byte digest (deterministic, RFC 6979 nonce); the result is
    /// always low-s.
    pub fn sign(&self, digest: &[u8; 32]) -> Signature {
        let signature = secp().sign_ecdsa_recoverable(Message::from_digest(*digest), &self.secret);
        Signature::from_recoverable(&signature)
    }

    /// Signs `blake2b_256(message)`; check with [`crate::verify_message`].
    pub fn sign_message(&self, message: &[u8]) -> Signature {
        self.sign(&blake2b_256(message))
    }

    fn from_secret(secret: SecretKey) -> Self {
        let public = PublicKey::from_secp(secret.public_key(secp()));
        Self {
            secret,
            public,
            address: public.address(),
        }
    }
}

impl fmt::Debug for Keypair {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Keypair")
            .field("address", &self.address)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::rngs::StdRng;
    use rand::SeedableRng;

    #[test]
    fn bytes_round_trip() {
        let keypair = Keypair::generate(&mut StdRng::seed_from_u64(1));
        let again = Keypair::from_bytes(&keypair.to_bytes()).unwrap();
        assert_eq!(again, keypair);
        assert_eq!(
            Keypair::from_slice(&keypair.to_bytes()),
            Ok(keypair.clone())
        );
        assert_eq!(again.public_key(), keypair.public_key());
        assert_eq!(again.address(), keypair.address());
        assert_eq!(
            keypair.address(),
            Address::from_public_key(&keypair.public_key())
        );
    }

    #[test]
    fn generate_is_deterministic_per_seed_and_differs_across_seeds() {
        let a = Keypair::generate(&mut StdRng::seed_from_u64(1));
        let b = Keypair::generate(&mut StdRng::seed_from_u64(1));
        let c = Keypair::generate(&mut StdRng::seed_from_u64(2));
        assert_eq!(a, b);
        assert_ne!(a, c);
        assert_ne!(Keypair::random(), Keypair::random());
    }

    #[test]
    fn rejects_invalid_secrets() {
        assert_eq!(Keypair::from_bytes(&[0; 32]), Err(Error::InvalidSecretKey));
        assert_eq!(
            Keypair::from_bytes(&[0xff; 32]),
            Err(Error::InvalidSecretKey)
        );
        // n itself (the group order) is not a valid secret; n - 1 is.
        let mut n = secp256k1::constants::CURVE_ORDER;
        assert_eq!(Keypair::from_bytes(&n), Err(Error::InvalidSecretKey));
        n[31] -= 1;
        assert!(Keypair::from_bytes(&n).is_ok());
        for len in [0, 31, 33, 64] {
            assert_eq!(
                Keypair::from_slice(&vec![1; len]),
                Err(Error::SecretKeyLength { len })
            );
        }
    }

    #[test]
    fn debug_hides_the_secret() {
        let keypair = Keypair::from_bytes(&[0xab; 32]).unwrap();
        let debug = format!("{keypair:?}");
        assert!(!debug.contains("abab"), "{debug}");
        assert!(!debug.contains("171"), "{debug}"); // 0xab in decimal
        assert!(debug.contains(&keypair.address().to_string()), "{debug}");
    }

    #[test]
    fn signing_is_deterministic() {
        let keypair = Keypair::from_bytes(&[3; 32]).unwrap();
        assert_eq!(keypair.sign(&[4; 32]), keypair.sign(&[4; 32]));
        assert_ne!(keypair.sign(&[4; 32]), keypair.sign(&[5; 32]));
        assert_eq!(keypair.sign_message(b"m"), keypair.sign(&blake2b_256(b"m")));
    }
}
