//! Single-byte corruptions of signatures and single-character corruptions of
//! address texts are always caught.

use tau_keys::{recover, verify, Address, Error, Keypair, Signature};

/// The Bitcoin base58 alphabet used by address texts.
const BASE58: &str = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";

fn signers() -> Vec<Keypair> {
    [[1u8; 32], [0x42; 32], [0xfe; 32]]
        .iter()
        .map(|secret| Keypair::from_bytes(secret).unwrap())
        .collect()
}

#[test]
fn every_single_byte_signature_corruption_is_caught() {
    let mut checked = 0;
    let mut rejected_at_parse = 0;
    for (i, signer) in signers().iter().enumerate() {
        let digest = tau_keys::blake2b_256(&[i as u8]);
        let signature = signer.sign(&digest);
        let bytes = signature.to_bytes();
        for position in 0..bytes.len() {
            for mask in [0x01u8, 0x02, 0x10, 0x80, 0xff] {
                let mut corrupted = bytes;
                corrupted[position] ^= mask;
                checked += 1;
                let Ok(parsed) = Signature::from_bytes(&corrupted) else {
                    rejected_at_parse += 1;
                    continue;
                };
                assert_ne!(parsed, signature);
                assert_ne!(
                    recover(&digest, &parsed).ok(),
                    Some(signer.address()),
                    "byte {position} ^ {mask:#04x} still recovers the signer"
                );
                assert!(
                    matches!(
                        verify(&digest, &parsed, &signer.address()),
                        Err(Error::SignatureMismatch { .. }) | Err(Error::Recovery)
                    ),
                    "byte {position} ^ {mask:#04x} still verifies"
                );
            }
        }
    }
    assert_eq!(checked, 3 * 65 * 5);
    // v ^ 0x80 etc. must be rejected at parse; sanity check that the parse
    // path was exercised and so was the recovery path.
    assert!(rejected_at_parse >= 3 * 3, "{rejected_at_parse}");
    assert!(rejected_at_parse < checked);
}

#[test]
fn every_single_character_address_corruption_is_caught() {
    for signer in signers() {
        let address = signer.address();
        let text = address.to_string();
        assert!(text.is_ascii());
        let mut checked = 0;
        let mut accepted = Vec::new();
        for (position, original) in text.char_indices() {
            let replacements: Vec<char> = if position == 0 {
                // The prefix: every other base58 char, lower-case t, nothing.
                BASE58.chars().chain(['t', ' ', '0']).collect()
            } else {
                BASE58.chars().collect()
            };
            for replacement in replacements.into_iter().filter(|c| *c != original) {
                let mut corrupted = text.clone();
                corrupted.replace_range(position..position + 1, &replacement.to_string());
                checked += 1;
                if let Ok(parsed) = corrupted.parse::<Address>() {
                    assert_ne!(parsed, address, "{corrupted} parses to the original");
                    accepted.push(corrupted);
                }
            }
        }
        // A 4-byte checksum lets a random change through with odds 2^-32;
        // these inputs are fixed, and none gets through.
        assert!(
            accepted.is_empty(),
            "accepted corruptions of {text}: {accepted:?}"
        );
        assert!(checked > 57 * 30, "{checked}");
        // Dropping the prefix, dropping or adding a character.
        assert_eq!(text[1..].parse::<Address>(), Err(Error::AddressPrefix));
        assert!(text[..text.len() - 1].parse::<Address>().is_err());
        assert!(format!("{text}1").parse::<Address>().is_err());
        assert!(format!("T1{}", &text[1..]).parse::<Address>().is_err());
        assert_eq!(text.parse::<Address>(), Ok(address));
    }
}
