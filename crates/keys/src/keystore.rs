//! Keys at rest: a secret key encrypted with a passphrase, as a small JSON
//! document (feature `keystore`).
//!
//! The construction is a memory-hard KDF and an AEAD, both from RustCrypto:
//! argon2id (RFC 9106) turns the passphrase and a random 16-byte salt into a
//! 32-byte key, and XChaCha20-Poly1305 encrypts the 32 secret bytes under a
//! random 24-byte nonce. The document's version and address are the AEAD's
//! associated data, so neither can be changed without the passphrase check
//! failing. Every intermediate secret (the derived key, the plaintext) is
//! zeroized when dropped.
//!
//! ```json
//! {
//!   "version": 1,
//!   "address": "T…",
//!   "kdf": { "name": "argon2id", "m_kib": 19456, "t": 2, "p": 1, "salt": "<hex, 16 bytes>" },
//!   "cipher": { "name": "xchacha20poly1305", "nonce": "<hex, 24 bytes>" },
//!   "ciphertext": "<hex, 48 bytes: 32 secret bytes and the 16-byte tag>"
//! }
//! ```
//!
//! ```
//! use tau_keys::keystore::{KdfParams, Keystore};
//! use tau_keys::Keypair;
//!
//! let key = Keypair::random();
//! // Cheap parameters for the example; `KdfParams::default()` for real keys.
//! let stored = Keystore::encrypt(&key, b"correct horse", KdfParams::INSECURE_FAST)?;
//! let json = stored.to_json();
//! let back = Keystore::from_json(&json)?.decrypt(b"correct horse")?;
//! assert_eq!(back.address(), key.address());
//! assert!(Keystore::from_json(&json)?.decrypt(b"wrong").is_err());
//! # Ok::<(), tau_keys::Error>(())
//! ```

use argon2::{Algorithm, Argon2, Params, Version};
use chacha20poly1305::aead::{Aead, Payload};
use chacha20poly1305::{KeyInit, XChaCha20Poly1305, XNonce};
use rand::RngCore;
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use crate::{Address, Error, Keypair, Result};

/// The document version this module writes and reads.
pub const KEYSTORE_VERSION: u32 = 1;

const SALT_LEN: usize = 16;
const NONCE_LEN: usize = 24;
const KEY_LEN: usize = 32;

/// The argon2id cost.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct KdfParams {
    /// Memory in KiB.
    pub m_kib: u32,
    /// Passes.
    pub t: u32,
    /// Lanes.
    pub p: u32,
}

impl KdfParams {
    /// For tests only: 64 KiB, one pass (no protection against guessing).
    pub const INSECURE_FAST: Self = Self {
        m_kib: 64,
        t: 1,
        p: 1,
    };

    /// The most a document may ask for (256 MiB, 8 passes, 8 lanes): a
    /// document from elsewhere cannot make opening it exhaust the machine.
    pub const MAX: Self = Self {
        m_kib: 1 << 18,
        t: 8,
        p: 8,
    };
}

impl Default for KdfParams {
    /// OWASP's argon2id recommendation: 19 MiB, two passes, one lane.
    fn default() -> Self {
        Self {
            m_kib: 19 * 1024,
            t: 2,
            p: 1,
        }
    }
}

/// An encrypted secret key (see the module docs for the format).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Keystore {
    /// [`KEYSTORE_VERSION`].
    pub version: u32,
    /// The key's address (text form), readable without the passphrase.
    pub address: String,
    /// How the encryption key is derived.
    pub kdf: Kdf,
    /// How the secret is encrypted.
    pub cipher: Cipher,
    /// The encrypted secret and its tag, hex.
    pub ciphertext: String,
}

/// The KDF section of a [`Keystore`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Kdf {
    /// `argon2id`.
    pub name: String,
    /// Its cost.
    #[serde(flatten)]
    pub params: KdfParams,
    /// The salt, hex.
    pub salt: String,
}

/// The cipher section of a [`Keystore`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cipher {
    /// `xchacha20poly1305`.
    pub name: String,
    /// The nonce, hex.
    pub nonce: String,
}

fn bad(reason: impl Into<String>) -> Error {
    Error::Keystore(reason.into())
}

impl Keystore {
    /// Encrypts `key` with `passphrase`.
    pub fn encrypt(key: &Keypair, passphrase: &[u8], params: KdfParams) -> Result<Self> {
        let mut salt = [0u8; SALT_LEN];
        let mut nonce = [0u8; NONCE_LEN];
        rand::rng().fill_bytes(&mut salt);
        rand::rng().fill_bytes(&mut nonce);
        let address = key.address().to_string();
        let derived = derive(passphrase, &salt, params)?;
        let secret = Zeroizing::new(key.to_bytes());
        let cipher = XChaCha20Poly1305::new(derived.as_ref().into());
        let aad = associated_data(KEYSTORE_VERSION, &address);
        let ciphertext = cipher
            .encrypt(
                XNonce::from_slice(&nonce),
                Payload {
                    msg: secret.as_ref(),
                    aad: &aad,
                },
            )
            .map_err(|_| bad("encryption failed"))?;
        Ok(Self {
            version: KEYSTORE_VERSION,
            address,
            kdf: Kdf {
                name: "argon2id".into(),
                params,
                salt: hex::encode(salt),
            },
            cipher: Cipher {
                name: "xchacha20poly1305".into(),
                nonce: hex::encode(nonce),
            },
            ciphertext: hex::encode(ciphertext),
        })
    }

    /// Decrypts the key: [`Error::WrongPassphrase`] when the passphrase (or
    /// the document) does not match, [`Error::Keystore`] for a malformed
    /// document.
    pub fn decrypt(&self, passphrase: &[u8]) -> Result<Keypair> {
        if self.version != KEYSTORE_VERSION {
            return Err(bad(format!("unsupported version {}", self.version)));
        }
        if self.kdf.name != "argon2id" || self.cipher.name != "xchacha20poly1305" {
            return Err(bad(format!(
                "unsupported construction {} + {}",
                self.kdf.name, self.cipher.name
            )));
        }
        let p = self.kdf.params;
        let max = KdfParams::MAX;
        if p.m_kib > max.m_kib || p.t > max.t || p.p > max.p {
            return Err(bad("KDF cost above the accepted maximum"));
        }
        let salt = decode_hex::<SALT_LEN>("salt", &self.kdf.salt)?;
        let nonce = decode_hex::<NONCE_LEN>("nonce", &self.cipher.nonce)?;
        let ciphertext =
            hex::decode(&self.ciphertext).map_err(|e| bad(format!("ciphertext: {e}")))?;
        let derived = derive(passphrase, &salt, p)?;
        let cipher = XChaCha20Poly1305::new(derived.as_ref().into());
        let aad = associated_data(self.version, &self.address);
        let secret = Zeroizing::new(
            cipher
                .decrypt(
                    XNonce::from_slice(&nonce),
                    Payload {
                        msg: &ciphertext,
                        aad: &aad,
                    },
                )
                .map_err(|_| Error::WrongPassphrase)?,
        );
        let key = Keypair::from_slice(&secret)?;
        let address: Address = self.address.parse()?;
        if key.address() != address {
            return Err(bad("the key does not match the document's address"));
        }
        Ok(key)
    }

    /// The document as pretty JSON.
    pub fn to_json(&self) -> String {
        // A struct of strings and integers always serializes.
        serde_json::to_string_pretty(self).unwrap_or_default()
    }

    /// Reads a document.
    pub fn from_json(json: &str) -> Result<Self> {
        serde_json::from_str(json).map_err(|e| bad(format!("not a keystore document: {e}")))
    }
}

fn associated_data(version: u32, address: &str) -> Vec<u8> {
    let mut aad = version.to_be_bytes().to_vec();
    aad.extend_from_slice(address.as_bytes());
    aad
}

fn derive(passphrase: &[u8], salt: &[u8], p: KdfParams) -> Result<Zeroizing<[u8; KEY_LEN]>> {
    let params =
        Params::new(p.m_kib, p.t, p.p, Some(KEY_LEN)).map_err(|e| bad(format!("KDF: {e}")))?;
    let mut key = Zeroizing::new([0u8; KEY_LEN]);
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
        .hash_password_into(passphrase, salt, key.as_mut())
        .map_err(|e| bad(format!("KDF: {e}")))?;
    Ok(key)
}

fn decode_hex<const N: usize>(what: &str, text: &str) -> Result<[u8; N]> {
    let bytes = hex::decode(text).map_err(|e| bad(format!("{what}: {e}")))?;
    <[u8; N]>::try_from(bytes.as_slice())
        .map_err(|_| bad(format!("{what}: {} bytes, expected {N}", bytes.len())))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stored() -> (Keypair, Keystore) {
        let key = Keypair::random();
        let stored = Keystore::encrypt(&key, b"pass", KdfParams::INSECURE_FAST).unwrap();
        (key, stored)
    }

    #[test]
    fn round_trips_and_refuses_a_wrong_passphrase() {
        let (key, stored) = stored();
        let back = Keystore::from_json(&stored.to_json()).unwrap();
        assert_eq!(back.decrypt(b"pass").unwrap(), key);
        assert_eq!(back.decrypt(b"pasS"), Err(Error::WrongPassphrase));
        // The secret is not in the document.
        assert!(!stored.to_json().contains(&hex::encode(key.to_bytes())));
    }

    #[test]
    fn tampering_is_refused() {
        let (_, stored) = stored();
        // Another address (the associated data) fails the tag check.
        let mut moved = stored.clone();
        moved.address = Keypair::random().address().to_string();
        assert_eq!(moved.decrypt(b"pass"), Err(Error::WrongPassphrase));
        // A flipped ciphertext byte.
        let mut flipped = stored.clone();
        let mut bytes = hex::decode(&flipped.ciphertext).unwrap();
        bytes[0] ^= 1;
        flipped.ciphertext = hex::encode(bytes);
        assert_eq!(flipped.decrypt(b"pass"), Err(Error::WrongPassphrase));
        // A cost that would exhaust the machine is refused before any work.
        let mut greedy = stored.clone();
        greedy.kdf.params.m_kib = u32::MAX;
        assert!(matches!(greedy.decrypt(b"pass"), Err(Error::Keystore(_))));
        // A short salt.
        let mut short = stored;
        short.kdf.salt = "00".into();
        assert!(matches!(short.decrypt(b"pass"), Err(Error::Keystore(_))));
    }
}
