//! Merkle proofs on the wire, and their check by a wallet.
//!
//! A proof of a state entry is the list of HAMT nodes on the path from the
//! state root to the entry's bucket ([`tau_hamt::Proof`]). In JSON each node
//! is `{"cid": "<CID text>", "data": "<base64 of the node's DAG-CBOR>"}`, in
//! path order. The check needs nothing but a root the wallet trusts: every
//! node must hash to its CID, the first must be the root, each next one must
//! be the link the key's path takes, and the last holds the entry or shows
//! it is absent ([`tau_state::verify_proof`]).

use std::str::FromStr;

use base64::Engine as _;
use cid::Cid;
use serde::{Deserialize, Serialize};
use tau_keys::Address;
use tau_state::{Params, StateKey};

use crate::api::AccountProof;
use crate::{Error, Result};

/// One HAMT node of a proof.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProofBlock {
    /// The node's CID (text).
    pub cid: String,
    /// The node's DAG-CBOR bytes, base64 (standard alphabet, padded).
    pub data: String,
}

/// A proof as JSON blocks.
pub fn encode_proof(proof: &tau_hamt::Proof) -> Vec<ProofBlock> {
    proof
        .blocks()
        .iter()
        .map(|(cid, data)| ProofBlock {
            cid: cid.to_string(),
            data: base64::engine::general_purpose::STANDARD.encode(data),
        })
        .collect()
}

/// Reads a proof from JSON blocks (the check is [`AccountProof::verify`]'s).
pub fn decode_proof(blocks: &[ProofBlock]) -> Result<tau_hamt::Proof> {
    let blocks = blocks
        .iter()
        .map(|b| {
            let cid = parse_cid(&b.cid)?;
            let data = base64::engine::general_purpose::STANDARD
                .decode(&b.data)
                .map_err(|e| Error::BadProof(format!("block {cid}: {e}")))?;
            Ok((cid, data))
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(tau_hamt::Proof::from_blocks(blocks))
}

/// Parses a CID's text form.
pub fn parse_cid(text: &str) -> Result<Cid> {
    Cid::from_str(text).map_err(|e| Error::BadInput(format!("CID {text:?}: {e}")))
}

/// An account's balance and nonce, proven against a trusted root.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VerifiedAccount {
    /// The balance (0: no account).
    pub balance: u64,
    /// The nonce.
    pub nonce: u64,
}

impl AccountProof {
    /// Checks the claimed balance and nonce of `address` against `trusted`,
    /// a root the caller trusts (its safety point), with `params`' HAMT
    /// layout: the proof must be against that root and prove both values.
    pub fn verify(
        &self,
        params: &Params,
        trusted: &Cid,
        address: &Address,
    ) -> Result<VerifiedAccount> {
        let root = parse_cid(&self.at.root)?;
        if root != *trusted {
            return Err(Error::BadProof(format!(
                "the proof is against {root}, not the trusted root {trusted}"
            )));
        }
        if self.address != address.to_string() {
            return Err(Error::BadProof(format!(
                "the proof is for {}, not {address}",
                self.address
            )));
        }
        let proven = |key: StateKey, blocks: &[ProofBlock]| -> Result<Option<u64>> {
            let proof = decode_proof(blocks)?;
            tau_state::verify_proof::<u64>(params, trusted, &key, &proof)
                .map_err(|e| Error::BadProof(format!("{key}: {e}")))
        };
        let balance = proven(StateKey::Balance(*address), &self.balance_proof)?.unwrap_or(0);
        let nonce = proven(StateKey::Nonce(*address), &self.nonce_proof)?.unwrap_or(0);
        if balance != self.balance || nonce != self.nonce {
            return Err(Error::BadProof(format!(
                "claimed balance {} and nonce {}, proven {balance} and {nonce}",
                self.balance, self.nonce
            )));
        }
        Ok(VerifiedAccount { balance, nonce })
    }
}
