//! Known-answer tests against `tests/vectors/keys.txt` (sources in
//! `tests/vectors/README.md`): published values and an independent
//! pure-Python reference implementation.

use std::collections::HashMap;

use tau_keys::{
    blake2b_256, recover, recover_public_key, verify, Address, Keypair, PublicKey, Signature,
};

fn vectors() -> HashMap<String, String> {
    include_str!("vectors/keys.txt")
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
        .map(|line| {
            let (name, value) = line.split_once('=').expect("name = value");
            (name.trim().to_owned(), value.trim().to_owned())
        })
        .collect()
}

fn text(name: &str) -> String {
    vectors()
        .remove(name)
        .unwrap_or_else(|| panic!("vector {name} missing"))
}

fn hex(name: &str) -> Vec<u8> {
    let value = text(name);
    assert_eq!(value.len() % 2, 0, "{name}");
    (0..value.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&value[i..i + 2], 16).expect("hex"))
        .collect()
}

fn hex32(name: &str) -> [u8; 32] {
    hex(name).try_into().expect("32 bytes")
}

#[test]
fn blake2b_256_published_values() {
    assert_eq!(blake2b_256(b"").to_vec(), hex("blake2b_256_empty"));
    assert_eq!(blake2b_256(b"abc").to_vec(), hex("blake2b_256_abc"));
}

fn secret_one() -> [u8; 32] {
    let mut secret = [0; 32];
    secret[31] = 1;
    secret
}

#[test]
fn secret_key_one_is_the_generator() {
    let keypair = Keypair::from_bytes(&secret_one()).unwrap();
    assert_eq!(
        keypair.public_key().to_bytes().to_vec(),
        hex("one_public_key")
    );
    assert_eq!(keypair.address().as_bytes().to_vec(), hex("one_address"));
    assert_eq!(keypair.address().to_string(), text("one_address_text"));
}

#[test]
fn rfc6979_satoshi_vector() {
    let keypair = Keypair::from_bytes(&secret_one()).unwrap();
    let digest = hex32("satoshi_digest");
    let signature = keypair.sign(&digest);
    assert_eq!(signature.to_bytes().to_vec(), hex("satoshi_signature"));
    assert_eq!(recover(&digest, &signature), Ok(keypair.address()));
}

#[test]
fn ones_key_vectors() {
    let keypair = Keypair::from_bytes(&[1; 32]).unwrap();
    let public_key = PublicKey::from_bytes(&hex("ones_public_key")).unwrap();
    assert_eq!(keypair.public_key(), public_key);
    let address = Address::from_bytes(&hex("ones_address")).unwrap();
    assert_eq!(keypair.address(), address);
    assert_eq!(address.to_string(), text("ones_address_text"));
    assert_eq!(text("ones_address_text").parse::<Address>(), Ok(address));

    for (message, name) in [
        (&b""[..], "ones_sign_empty"),
        (b"abc", "ones_sign_abc"),
        (b"tau", "ones_sign_tau"),
    ] {
        let expected = Signature::from_bytes(&hex(name)).unwrap();
        assert_eq!(keypair.sign_message(message), expected, "{name}");
        let digest = blake2b_256(message);
        assert_eq!(recover_public_key(&digest, &expected), Ok(public_key));
        assert_eq!(verify(&digest, &expected, &address), Ok(()));
    }
}
