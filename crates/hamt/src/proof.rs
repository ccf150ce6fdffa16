//! Merkle proofs of presence or absence of a key, checkable without a store.
//!
//! A proof is the list of blocks on a key's path: the root, then each node the
//! lookup descends into, down to the node whose slot for the key is empty or
//! holds a bucket (with or without the key). Anyone who trusts a root CID (a
//! light wallet holding a safety state root, say) can check a value or its
//! absence against the root with these blocks alone.

use std::collections::HashMap;

use cid::Cid;
use serde::de::DeserializeOwned;

use crate::config::Config;
use crate::hamt::{decode_value, Hamt};
use crate::hash_bits;
use crate::node::Node;
use crate::path::{self, PathStep};
use crate::{Error, Result};
use tau_ipld::block::{self, DAG_CBOR};
use tau_ipld::Blockstore;

/// The blocks on one key's path, root first, each under its CID.
///
/// Built by [`prove`] / [`Hamt::prove`] and checked by [`verify_proof`]. A proof
/// is minimal: it holds exactly the blocks the lookup reads, and a verifier
/// rejects a proof that carries anything else.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Proof {
    blocks: Vec<(Cid, Vec<u8>)>,
}

impl Proof {
    /// A proof made of `blocks` (as received from a peer, say). Nothing is
    /// checked until [`verify_proof`].
    pub fn from_blocks(blocks: Vec<(Cid, Vec<u8>)>) -> Self {
        Proof { blocks }
    }

    /// The blocks: the root first, then each node down the key's path.
    pub fn blocks(&self) -> &[(Cid, Vec<u8>)] {
        &self.blocks
    }

    /// The blocks, by value.
    pub fn into_blocks(self) -> Vec<(Cid, Vec<u8>)> {
        self.blocks
    }

    /// Size of the proof: the binary CIDs plus the block bytes (no framing).
    pub fn encoded_len(&self) -> usize {
        self.blocks
            .iter()
            .map(|(cid, data)| cid.encoded_len() + data.len())
            .sum()
    }
}

/// The proof of presence or absence of `key` in the map rooted at `root`
/// (written with `config`): the blocks its lookup reads, root first. Every block
/// is read through [`Blockstore::get`] and validated.
///
/// ```
/// use tau_hamt::{prove, verify_proof, Config, Hamt};
/// use tau_ipld::MemoryBlockstore;
///
/// let store = MemoryBlockstore::new();
/// let mut balances: Hamt<_, u64> = Hamt::new(&store);
/// balances.set(b"alice", 100)?;
/// let root = balances.flush()?;
///
/// let config = Config::default();
/// let present = prove(&store, &root, b"alice", &config)?;
/// let absent = balances.prove(b"mallory")?;
/// // No store needed to check them, only the trusted root.
/// assert_eq!(verify_proof::<u64>(&root, b"alice", &present, &config)?, Some(100));
/// assert_eq!(verify_proof::<u64>(&root, b"mallory", &absent, &config)?, None);
/// # Ok::<(), tau_hamt::Error>(())
/// ```
pub fn prove<BS: Blockstore>(store: &BS, root: &Cid, key: &[u8], config: &Config) -> Result<Proof> {
    let hash = hash_bits::digest(config.key_hash(), key)?;
    let mut blocks = Vec::new();
    let mut cid = *root;
    let mut depth = 0;
    loop {
        if cid.codec() != DAG_CBOR {
            return Err(Error::MalformedNode("link is not DAG-CBOR"));
        }
        let bytes = store
            .get(&cid)?
            .ok_or_else(|| Error::MissingBlock(Box::new(cid)))?;
        // Decoded to refuse a malformed or non-canonical node; stepped in place.
        Node::decode(&bytes, config, depth, depth == 0)?;
        let next = match path::step(&bytes, key, &hash, depth, config.bit_width())? {
            PathStep::Absent | PathStep::Found(_) => None,
            PathStep::Child(child) => Some(child),
        };
        blocks.push((cid, bytes));
        match next {
            None => return Ok(Proof { blocks }),
            Some(child) => cid = child,
        }
        depth += 1;
    }
}

impl<BS: Blockstore, V> Hamt<BS, V> {
    /// The proof of presence or absence of `key` against [`root_cid`](Hamt::root_cid),
    /// read from the map's store; see [`prove`]. [`Error::Unflushed`] if the map
    /// changed since the last flush.
    pub fn prove(&self, key: impl AsRef<[u8]>) -> Result<Proof> {
        let root = self.root_cid().ok_or(Error::Unflushed)?;
        prove(self.store(), &root, key.as_ref(), self.config())
    }
}

/// Checks `proof` for `key` against the trusted `root`, with no store, and
/// returns the key's value decoded as `V`: `Some` if present, `None` if the
/// proof shows the key is absent. See [`verify_proof_encoded`] for the checks.
pub fn verify_proof<V: DeserializeOwned>(
    root: &Cid,
    key: &[u8],
    proof: &Proof,
    config: &Config,
) -> Result<Option<V>> {
    verify_proof_encoded(root, key, proof, config)?
        .as_deref()
        .map(decode_value)
        .transpose()
}

/// Checks `proof` for `key` against the trusted `root`, with no store, and
/// returns the key's DAG-CBOR value bytes (`Some`) or `None` when the proof
/// shows the key is absent.
///
/// The walk starts at `root` and follows the key's hash as a lookup does. Each
/// block it needs is looked up in the proof by CID (the order of the blocks does
/// not matter), re-hashed against that CID, and decoded and validated as a node
/// at its depth. The proof is rejected with
/// - [`Error::InvalidProof`] if a needed block is missing, a CID occurs twice,
///   or the proof holds blocks that are not on the key's path (a proof carries
///   nothing extra);
/// - [`Error::Store`] holding [`tau_ipld::Error::CidMismatch`] (or
///   [`tau_ipld::Error::UnsupportedHash`]) if a block does not hash to its CID;
/// - [`Error::MalformedNode`] / [`Error::NonCanonical`] if a block is not a
///   valid node for its place in the tree.
///
/// `config` must be the map's configuration.
pub fn verify_proof_encoded(
    root: &Cid,
    key: &[u8],
    proof: &Proof,
    config: &Config,
) -> Result<Option<Vec<u8>>> {
    let hash = hash_bits::digest(config.key_hash(), key)?;
    let mut by_cid: HashMap<&Cid, &[u8]> = HashMap::with_capacity(proof.blocks.len());
    for (cid, data) in &proof.blocks {
        if by_cid.insert(cid, data).is_some() {
            return Err(Error::InvalidProof(format!("block {cid} appears twice")));
        }
    }
    let mut cid = *root;
    let mut depth = 0u32;
    let mut used = 0usize;
    loop {
        let bytes = *by_cid
            .get(&cid)
            .ok_or_else(|| Error::InvalidProof(format!("missing block {cid} at depth {depth}")))?;
        used += 1;
        if cid.codec() != DAG_CBOR {
            return Err(Error::MalformedNode("link is not DAG-CBOR"));
        }
        block::verify(&cid, bytes)?;
        Node::decode(bytes, config, depth, depth == 0)?;
        let value = match path::step(bytes, key, &hash, depth, config.bit_width())? {
            PathStep::Child(child) => {
                cid = child;
                depth += 1;
                continue;
            }
            PathStep::Absent => None,
            PathStep::Found(range) => Some(bytes.get(range).unwrap_or_default()),
        };
        if used != proof.blocks.len() {
            return Err(Error::InvalidProof(format!(
                "{} block(s) not on the key's path",
                proof.blocks.len() - used
            )));
        }
        return Ok(value.map(<[u8]>::to_vec));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tau_ipld::MemoryBlockstore;

    fn key(i: u32) -> Vec<u8> {
        format!("acct-{i}").into_bytes()
    }

    fn sample(store: &MemoryBlockstore, n: u32, config: Config) -> Cid {
        let mut map: Hamt<_, u64> = Hamt::new_with_config(store, config);
        for i in 0..n {
            map.set(key(i), u64::from(i) * 3).unwrap();
        }
        map.flush().unwrap()
    }

    #[test]
    fn presence_and_absence_verify() {
        let config = Config::default();
        let store = MemoryBlockstore::new();
        let root = sample(&store, 2_000, config);
        for i in (0..2_500).step_by(7) {
            let proof = prove(&store, &root, &key(i), &config).unwrap();
            assert!(!proof.blocks().is_empty());
            assert_eq!(proof.blocks()[0].0, root);
            let got: Option<u64> = verify_proof(&root, &key(i), &proof, &config).unwrap();
            assert_eq!(got, (i < 2_000).then(|| u64::from(i) * 3));
        }
    }

    #[test]
    fn empty_map_proves_absence() {
        let store = MemoryBlockstore::new();
        let mut map: Hamt<_, u64> = Hamt::new(&store);
        assert!(matches!(map.prove(b"x"), Err(Error::Unflushed)));
        let root = map.flush().unwrap();
        let proof = map.prove(b"x").unwrap();
        assert_eq!(proof.blocks().len(), 1);
        assert_eq!(proof.encoded_len(), root.encoded_len() + 3);
        let got: Option<u64> = verify_proof(&root, b"x", &proof, &Config::default()).unwrap();
        assert_eq!(got, None);
        map.set(b"x", 1).unwrap();
        assert!(matches!(map.prove(b"x"), Err(Error::Unflushed)));
    }

    #[test]
    fn tampered_proofs_are_rejected() {
        let config = Config::with_bit_width(3).unwrap();
        let store = MemoryBlockstore::new();
        let root = sample(&store, 500, config);
        let k = key(123);
        let proof = prove(&store, &root, &k, &config).unwrap();
        assert!(proof.blocks().len() >= 3, "want a deep path");
        let other = prove(&store, &root, &key(321), &config).unwrap();

        // An extra (valid) block.
        let mut blocks = proof.clone().into_blocks();
        let stray = other
            .blocks()
            .iter()
            .find(|b| !blocks.contains(b))
            .unwrap()
            .clone();
        blocks.push(stray);
        let r = verify_proof_encoded(&root, &k, &Proof::from_blocks(blocks), &config);
        assert!(matches!(r, Err(Error::InvalidProof(_))), "{r:?}");

        // A duplicated block.
        let mut blocks = proof.clone().into_blocks();
        blocks.push(blocks[0].clone());
        let r = verify_proof_encoded(&root, &k, &Proof::from_blocks(blocks), &config);
        assert!(matches!(r, Err(Error::InvalidProof(_))), "{r:?}");

        // A flipped byte.
        let mut blocks = proof.clone().into_blocks();
        blocks[1].1[4] ^= 0x10;
        let r = verify_proof_encoded(&root, &k, &Proof::from_blocks(blocks), &config);
        assert!(
            matches!(r, Err(Error::Store(tau_ipld::Error::CidMismatch { .. }))),
            "{r:?}"
        );

        // A dropped block.
        let mut blocks = proof.clone().into_blocks();
        blocks.pop();
        let r = verify_proof_encoded(&root, &k, &Proof::from_blocks(blocks), &config);
        assert!(matches!(r, Err(Error::InvalidProof(_))), "{r:?}");

        // Order does not matter.
        let mut blocks = proof.clone().into_blocks();
        blocks.reverse();
        let r = verify_proof_encoded(&root, &k, &Proof::from_blocks(blocks), &config).unwrap();
        assert!(r.is_some());

        // A well-hashed block that is not a valid node at its place.
        let bogus = vec![0x82, 0x40, 0x81, 0x01];
        let bogus_cid = block::cid_of(DAG_CBOR, &bogus);
        let r = verify_proof_encoded(
            &bogus_cid,
            &k,
            &Proof::from_blocks(vec![(bogus_cid, bogus)]),
            &config,
        );
        assert!(matches!(r, Err(Error::MalformedNode(_))), "{r:?}");
    }
}
