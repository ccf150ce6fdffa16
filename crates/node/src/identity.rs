//! The libp2p identity of a node is its TAU key.
//!
//! The node's secp256k1 TAU secret is its libp2p identity key (libp2p's
//! `secp256k1` key type), so its peer id embeds the compressed public key
//! (an identity multihash: 37 bytes of protobuf, under libp2p's 42-byte
//! inline limit). The noise handshake proves the remote holds the key of the
//! peer id it presents, so a host reads a visitor's TAU address from the
//! authenticated peer id alone ([`peer_address`]) — no extra protocol, no
//! trust in what the visitor claims.

use libp2p::identity::{secp256k1, Keypair, PublicKey};
use libp2p::PeerId;
use tau_keys::Address;

use crate::{Error, Result};

/// Multihash code of an identity (inline) peer id.
const IDENTITY: u64 = 0x00;

/// The libp2p identity of the TAU key `key` (same secret, same curve).
pub(crate) fn libp2p_identity(key: &tau_keys::Keypair) -> Result<Keypair> {
    let secret = secp256k1::SecretKey::try_from_bytes(key.to_bytes())
        .map_err(|e| Error::Network(format!("identity: {e}")))?;
    Ok(secp256k1::Keypair::from(secret).into())
}

/// The TAU address of `peer`, when its peer id carries a secp256k1 key (a
/// TAU node's does); `None` for other key types or hashed peer ids.
///
/// ```
/// let key = tau_keys::Keypair::from_bytes(&[7; 32])?;
/// let peer = tau_node::peer_id_of(&key)?;
/// assert_eq!(tau_node::peer_address(&peer), Some(key.address()));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn peer_address(peer: &PeerId) -> Option<Address> {
    let multihash = peer.as_ref();
    if multihash.code() != IDENTITY {
        return None;
    }
    let public = PublicKey::try_decode_protobuf(multihash.digest()).ok()?;
    let secp = public.try_into_secp256k1().ok()?;
    let tau = tau_keys::PublicKey::from_bytes(&secp.to_bytes()).ok()?;
    Some(tau.address())
}

/// The peer id a node with TAU key `key` has.
pub fn peer_id_of(key: &tau_keys::Keypair) -> Result<PeerId> {
    Ok(libp2p_identity(key)?.public().to_peer_id())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_peer_id_names_the_tau_address_and_nothing_else_does() {
        for seed in 1..20u8 {
            let key = tau_keys::Keypair::from_bytes(&[seed; 32]).unwrap();
            let peer = peer_id_of(&key).unwrap();
            assert_eq!(peer_address(&peer), Some(key.address()));
            // Stable across restarts: the same key gives the same peer id.
            assert_eq!(peer_id_of(&key).unwrap(), peer);
        }
        let ed = Keypair::generate_ed25519().public().to_peer_id();
        assert_eq!(peer_address(&ed), None);
        assert_eq!(peer_address(&PeerId::random()), None);
    }
}
