//! Leaf hashes: BLAKE2b personalised with `"ZcashPoW" ‖ n ‖ k` over
//! `input ‖ nonce ‖ u32_le(i / (512 / n))`, cut into n/8-byte leaves
//! (`specs/equihash.md` §1).

use blake2b_simd::{Params as Blake2bParams, State};

use crate::params::Params;

/// The BLAKE2b state after `input ‖ nonce`, ready to hash leaf groups.
pub(crate) struct LeafHasher {
    base: State,
    params: Params,
}

impl LeafHasher {
    pub(crate) fn new(params: Params, input: &[u8], nonce: &[u8]) -> Self {
        let mut personal = [0u8; 16];
        personal[..8].copy_from_slice(b"ZcashPoW");
        personal[8..12].copy_from_slice(&params.n().to_le_bytes());
        personal[12..].copy_from_slice(&params.k().to_le_bytes());
        let mut base = Blake2bParams::new()
            .hash_length(params.digest_bytes())
            .personal(&personal)
            .to_state();
        base.update(input);
        base.update(nonce);
        LeafHasher { base, params }
    }

    /// Writes leaves `first..` into `out`, one every `stride` bytes (each
    /// n/8 bytes; the rest of a slot is left as it is), until `out` is full.
    pub(crate) fn fill(&self, first: u64, out: &mut [u8], stride: usize) {
        let hb = self.params.hash_bytes();
        let per = u64::from(self.params.hashes_per_digest());
        let mut i = first;
        let mut written = 0;
        while written + stride <= out.len() {
            let group = i / per;
            let mut state = self.base.clone();
            state.update(&(group as u32).to_le_bytes());
            let digest = state.finalize();
            let bytes = digest.as_bytes();
            let mut j = (i % per) as usize;
            while j < per as usize && written + stride <= out.len() {
                out[written..written + hb].copy_from_slice(&bytes[j * hb..(j + 1) * hb]);
                written += stride;
                j += 1;
                i += 1;
            }
        }
    }
}
