//! secp256k1 keys, 20-byte TAU addresses and 65-byte recoverable signatures,
//! plus the BLAKE2b-256 protocol hash.
//!
//! The formats follow the "keys and addresses" row of the workspace
//! conventions (`docs/src/formats/keys.md` and `docs/src/formats/encoding.md`):
//!
//! * **hash**: BLAKE2b-256 ([`blake2b_256`], [`blake2b_256_concat`]);
//! * **public key**: 33-byte compressed secp256k1 point ([`PublicKey`]);
//! * **address**: first 20 bytes of BLAKE2b-256 of the compressed public key;
//!   text `T` + base58(address ‖ first 4 bytes of BLAKE2b-256(address))
//!   ([`Address`]);
//! * **signature**: 65 bytes `r ‖ s ‖ v`, recoverable ECDSA over a 32-byte
//!   digest, `v` the recovery id `0..=3`, `s` always low ([`Signature`]).
//!
//! With the `serde` feature, [`Address`], [`PublicKey`] and [`Signature`]
//! serialize as byte strings of their canonical form.
//!
//! Objects are signed over the BLAKE2b-256 of their unsigned DAG-CBOR
//! encoding; this crate only sees the 32-byte digest.
//!
//! ```
//! use tau_keys::{blake2b_256, recover, verify, Address, Error, Keypair, Signature};
//! use rand::SeedableRng;
//!
//! // Deterministic key for the example; use `Keypair::random()` for real keys.
//! let keypair = Keypair::generate(&mut rand::rngs::StdRng::seed_from_u64(7));
//! let address: Address = keypair.address().to_string().parse()?;
//! assert_eq!(address, keypair.address());
//!
//! let digest = blake2b_256(b"unsigned DAG-CBOR bytes");
//! let signature = keypair.sign(&digest);
//! let wire: [u8; 65] = signature.to_bytes();
//!
//! let received = Signature::from_bytes(&wire)?;
//! assert_eq!(recover(&digest, &received)?, address);
//! verify(&digest, &received, &address)?;
//!
//! let stranger = Keypair::generate(&mut rand::rngs::StdRng::seed_from_u64(8));
//! assert!(matches!(
//!     verify(&digest, &received, &stranger.address()),
//!     Err(Error::SignatureMismatch { .. })
//! ));
//! # Ok::<(), Error>(())
//! ```

mod address;
mod context;
mod error;
mod hash;
mod hexfmt;
mod keypair;
#[cfg(feature = "keystore")]
pub mod keystore;
mod public_key;
mod recovery;
#[cfg(feature = "serde")]
mod serde_impls;
mod signature;

pub use address::{Address, ADDRESS_LEN, ADDRESS_PREFIX, CHECKSUM_LEN};
pub use error::{Error, Result};
pub use hash::{blake2b_256, blake2b_256_concat, DIGEST_LEN};
pub use keypair::{Keypair, SECRET_KEY_LEN};
pub use public_key::{PublicKey, PUBLIC_KEY_LEN};
pub use recovery::{recover, recover_public_key, verify, verify_message};
pub use signature::{Signature, SIGNATURE_LEN};

// The README's example, compiled and run as a doctest.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
