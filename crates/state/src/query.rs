//! Wallet queries checked against a state root alone (Merkle proofs).

use cid::Cid;
use serde::de::DeserializeOwned;
use tau_hamt::Proof;

use crate::params::Params;
use crate::state_key::StateKey;
use crate::{Error, Result};

/// Checks a proof (from [`Executor::prove`](crate::Executor::prove) or a peer) of
/// `key` against the trusted state `root` and returns the value, decoded as
/// `T`, or `None` if the proof shows the key is absent. Needs no store.
///
/// `T` is the key's value type: `u64` for [`StateKey::Balance`] and
/// [`StateKey::Nonce`], [`TxOutput`](crate::TxOutput) for [`StateKey::TxOutput`],
/// [`Profile`](crate::Profile) for [`StateKey::Profile`], [`Cid`] for [`StateKey::Contract`].
pub fn verify_proof<T: DeserializeOwned>(
    params: &Params,
    root: &Cid,
    key: &StateKey,
    proof: &Proof,
) -> Result<Option<T>> {
    let Some(bytes) = tau_hamt::verify_proof_encoded(root, &key.to_bytes(), proof, &params.hamt)?
    else {
        return Ok(None);
    };
    serde_ipld_dagcbor::from_slice(&bytes)
        .map(Some)
        .map_err(|e| Error::BadValue {
            key: key.to_string(),
            reason: e.to_string(),
        })
}
