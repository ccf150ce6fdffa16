//! Property tests: sign/recover round trips and no panics on arbitrary input.

use proptest::prelude::*;
use tau_keys::{recover, verify, Address, Keypair, Signature};

proptest! {
    #[test]
    fn sign_recover_round_trip(secret in any::<[u8; 32]>(), digest in any::<[u8; 32]>()) {
        let keypair = Keypair::from_bytes(&secret);
        prop_assume!(keypair.is_ok());
        let Ok(keypair) = keypair else { unreachable!() };
        let signature = keypair.sign(&digest);
        prop_assert_eq!(Signature::from_bytes(&signature.to_bytes()), Ok(signature));
        prop_assert!(signature.recovery_id() <= 3);
        prop_assert!(signature.s()[0] < 0x80, "s must be low");
        prop_assert_eq!(recover(&digest, &signature), Ok(keypair.address()));
        prop_assert_eq!(verify(&digest, &signature, &keypair.address()), Ok(()));
        let mut other = digest;
        other[0] ^= 0x01;
        prop_assert!(verify(&other, &signature, &keypair.address()).is_err());
    }

    #[test]
    fn address_text_round_trip(bytes in any::<[u8; 20]>()) {
        let address = Address::new(bytes);
        prop_assert_eq!(address.to_string().parse::<Address>(), Ok(address));
    }

    #[test]
    fn from_str_never_panics(text in any::<String>()) {
        let _ = text.parse::<Address>();
        let _ = format!("T{text}").parse::<Address>();
    }

    #[test]
    fn from_str_never_panics_on_base58_like_text(
        text in "T[1-9A-HJ-NP-Za-km-z]{0,40}"
    ) {
        if let Ok(address) = text.parse::<Address>() {
            prop_assert_eq!(address.to_string(), text);
        }
    }

    #[test]
    fn signature_from_bytes_never_panics(bytes in any::<[u8; 65]>(), digest in any::<[u8; 32]>()) {
        if let Ok(signature) = Signature::from_bytes(&bytes) {
            prop_assert_eq!(signature.to_bytes(), bytes);
            let _ = recover(&digest, &signature);
        }
    }

    #[test]
    fn signature_from_any_length_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
        let parsed = Signature::from_bytes(&bytes);
        if bytes.len() != 65 {
            prop_assert!(parsed.is_err());
        }
    }

    #[test]
    fn key_from_any_slice_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
        let parsed = Keypair::from_slice(&bytes);
        if bytes.len() != 32 {
            prop_assert!(parsed.is_err());
        }
    }
}
