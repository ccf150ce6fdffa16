//! Verification: the `equihash` crate's verifier, with typed errors. There is
//! deliberately no second verifier in this crate. With the default feature
//! `fast-verify` that crate's `unsafe-verifier` fast path is on.

use crate::params::Params;
use crate::{Error, Result};

/// Checks `solution` (minimal encoding) for `input ‖ nonce` under `params`.
pub fn verify(params: &Params, input: &[u8], nonce: &[u8], solution: &[u8]) -> Result<()> {
    if solution.len() != params.solution_bytes() {
        return Err(Error::SolutionLength {
            len: solution.len(),
            expected: params.solution_bytes(),
        });
    }
    equihash::is_valid_solution(params.n(), params.k(), input, nonce, solution)
        .map_err(|e| Error::InvalidSolution(e.to_string()))
}
