//! Seeds (TR-2018-02 §4.3).
//!
//! * pubSeed(i) = BLAKE2b-256(pubSeed(i−1) ‖ hash(Coinbase(i−2)) ‖ hash(FirstStableMCUnit(i−1)))
//! * Seed(i, n) = BLAKE2b-256(pubKey(n) ‖ pubSeed(i)), the Equihash input of super node n.
//!
//! hash(Coinbase) is [`coinbase_hash`] (BLAKE2b-256 of the list's DAG-CBOR);
//! hash(FirstStableMCUnit) is the 32-byte digest inside the unit's id. The
//! public key is the 33-byte compressed key. (The TrustNote code drops the
//! third term by a stray `;` and has no per-node seed; the TR is followed.)

use tau_keys::{blake2b_256, blake2b_256_concat, PublicKey};

use crate::reward::Coinbase;
use crate::Result;

/// pubSeed(i) from pubSeed(i−1), hash(Coinbase(i−2)) and the id digest of
/// the first stable main-chain TrustME unit of round i−1.
pub fn pub_seed(
    previous: &[u8; 32],
    coinbase_hash: &[u8; 32],
    first_stable_mc_unit: &[u8; 32],
) -> [u8; 32] {
    blake2b_256_concat(&[previous, coinbase_hash, first_stable_mc_unit])
}

/// Seed(i, n): the Equihash input of the super node with this public key.
pub fn node_seed(public_key: &PublicKey, pub_seed: &[u8; 32]) -> [u8; 32] {
    blake2b_256_concat(&[&public_key.to_bytes(), pub_seed])
}

/// hash(Coinbase): BLAKE2b-256 of the DAG-CBOR encoding of the list
/// (`[[address bytes, amount], …]`; the empty list before round 3).
pub fn coinbase_hash(coinbase: &Coinbase) -> Result<[u8; 32]> {
    Ok(blake2b_256(&tau_ipld::canonical::encode(
        "coinbase", coinbase,
    )?))
}
