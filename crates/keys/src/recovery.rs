//! Recovering the signer of a digest and checking it against an address.

use secp256k1::Message;

use crate::address::Address;
use crate::context::secp;
use crate::error::{Error, Result};
use crate::hash::blake2b_256;
use crate::public_key::PublicKey;
use crate::signature::Signature;

/// The public key that made `signature` over `digest`.
///
/// Any valid signature recovers to *some* key; compare the result (or its
/// address, see [`verify`]) with the expected signer.
pub fn recover_public_key(digest: &[u8; 32], signature: &Signature) -> Result<PublicKey> {
    let recoverable = signature.to_recoverable()?;
    secp()
        .recover_ecdsa(Message::from_digest(*digest), &recoverable)
        .map(PublicKey::from_secp)
        .map_err(|_| Error::Recovery)
}

/// The address of the key that made `signature` over `digest`.
pub fn recover(digest: &[u8; 32], signature: &Signature) -> Result<Address> {
    recover_public_key(digest, signature).map(|key| key.address())
}

/// Checks that `signature` over `digest` was made by the key of `signer`
/// ([`Error::SignatureMismatch`] if it was made by another key).
pub fn verify(digest: &[u8; 32], signature: &Signature, signer: &Address) -> Result<()> {
    let recovered = recover(digest, signature)?;
    if recovered == *signer {
        Ok(())
    } else {
        Err(Error::SignatureMismatch {
            expected: *signer,
            recovered,
        })
    }
}

/// [`verify`] over `blake2b_256(message)` (the counterpart of
/// [`crate::Keypair::sign_message`]).
pub fn verify_message(message: &[u8], signature: &Signature, signer: &Address) -> Result<()> {
    verify(&blake2b_256(message), signature, signer)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Keypair;

    fn keypair(byte: u8) -> Keypair {
        Keypair::from_bytes(&[byte; 32]).unwrap()
    }

    #[test]
    fn sign_recover_round_trip() {
        for byte in 1..=20u8 {
            let keypair = keypair(byte);
            let digest = blake2b_256(&[byte]);
            let signature = keypair.sign(&digest);
            assert_eq!(
                recover_public_key(&digest, &signature),
                Ok(keypair.public_key())
            );
            assert_eq!(recover(&digest, &signature), Ok(keypair.address()));
            assert_eq!(verify(&digest, &signature, &keypair.address()), Ok(()));
        }
    }

    #[test]
    fn verify_fails_for_other_key() {
        let (alice, bob) = (keypair(1), keypair(2));
        let digest = [42; 32];
        let signature = alice.sign(&digest);
        assert_eq!(
            verify(&digest, &signature, &bob.address()),
            Err(Error::SignatureMismatch {
                expected: bob.address(),
                recovered: alice.address(),
            })
        );
    }

    #[test]
    fn verify_fails_for_other_digest() {
        let alice = keypair(1);
        let signature = alice.sign(&[42; 32]);
        let mut other = [42; 32];
        other[31] ^= 1;
        assert!(matches!(
            verify(&other, &signature, &alice.address()),
            Err(Error::SignatureMismatch { .. }) | Err(Error::Recovery)
        ));
        assert_ne!(recover(&other, &signature), Ok(alice.address()));
    }

    #[test]
    fn message_helpers_match() {
        let alice = keypair(5);
        let signature = alice.sign_message(b"hello");
        assert_eq!(
            verify_message(b"hello", &signature, &alice.address()),
            Ok(())
        );
        assert!(verify_message(b"hellO", &signature, &alice.address()).is_err());
    }
}
