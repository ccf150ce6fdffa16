//! Leaf hashes: BLAKE2b personalised with `"ZcashPoW" ‖ n ‖ k` over
//! `input ‖ nonce ‖ u32_le(i / (512 / n))`, cut into n/8-byte leaves
//! (`docs/src/formats/equihash.md`, "Definition").

use crate::blake::{Midstate, LANES};
use crate::params::Params;

/// Leaf groups hashed per call.
pub(crate) const GROUPS: usize = LANES;

/// The BLAKE2b state after `input ‖ nonce`, ready to hash leaf groups.
pub(crate) struct LeafHasher {
    base: Midstate,
}

impl LeafHasher {
    pub(crate) fn new(params: Params, input: &[u8], nonce: &[u8]) -> Self {
        let mut personal = [0u8; 16];
        personal[..8].copy_from_slice(b"ZcashPoW");
        personal[8..12].copy_from_slice(&params.n().to_le_bytes());
        personal[12..].copy_from_slice(&params.k().to_le_bytes());
        LeafHasher {
            base: Midstate::new(params.digest_bytes(), &personal, &[input, nonce]),
        }
    }

    /// The digests of leaf groups `first .. first + GROUPS` (group g holds
    /// leaves `g · 512/n …`); only the first `digest_bytes` of each count.
    pub(crate) fn digests(&self, first: u32, out: &mut [[u8; 64]; GROUPS]) {
        let indices = std::array::from_fn(|i| first.wrapping_add(i as u32));
        self.base.finish(indices, out);
    }
}
