//! Mining: solving nonce after nonce until a solution meets a target.

use std::ops::Range;
use std::sync::atomic::{AtomicBool, Ordering};

use crate::solver::Solver;
use crate::target::{meets_target, Target};

/// A solution that meets the target, with the nonce that produced it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Mined {
    /// The nonce, encoded as 4 bytes little-endian after the input (TrustNote's
    /// layout: a 136-byte input and a u32 nonce).
    pub nonce: u32,
    /// The solution in the minimal encoding.
    pub solution: Vec<u8>,
}

/// Why mining stopped without a solution.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stopped {
    /// `cancel` was set.
    Cancelled,
    /// Every nonce of the range was tried.
    Exhausted,
}

impl Solver {
    /// Solves `input ‖ u32_le(nonce)` for each nonce of `nonces` in order and
    /// returns the first solution whose BLAKE2b-256 is at most `target` (the
    /// smallest such solution of that nonce). Checks `cancel` before each nonce.
    ///
    /// ```
    /// use std::sync::atomic::AtomicBool;
    /// use tau_pow::{verify, Params, Solver, Target};
    ///
    /// let mut solver = Solver::new(Params::tiny())?;
    /// let easy = Target::MAX;
    /// let mined = solver.mine(b"header", 0..100, &easy, &AtomicBool::new(false)).unwrap();
    /// verify(solver.params(), b"header", &mined.nonce.to_le_bytes(), &mined.solution)?;
    /// # Ok::<(), tau_pow::Error>(())
    /// ```
    pub fn mine(
        &mut self,
        input: &[u8],
        nonces: Range<u32>,
        target: &Target,
        cancel: &AtomicBool,
    ) -> Result<Mined, Stopped> {
        for nonce in nonces {
            if cancel.load(Ordering::Relaxed) {
                return Err(Stopped::Cancelled);
            }
            let found = self
                .solve(input, &nonce.to_le_bytes())
                .into_iter()
                .find(|s| meets_target(s, target));
            if let Some(solution) = found {
                return Ok(Mined { nonce, solution });
            }
        }
        Err(Stopped::Exhausted)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{verify, Params};

    #[test]
    fn finds_a_solution_under_an_easy_target_and_respects_cancel() {
        let params = Params::tiny();
        let mut solver = Solver::new(params).unwrap();
        let never = AtomicBool::new(false);
        let mined = solver.mine(b"m", 0..1_000, &Target::MAX, &never).unwrap();
        verify(&params, b"m", &mined.nonce.to_le_bytes(), &mined.solution).unwrap();
        // The first nonce with any solution, and its smallest valid solution.
        let first = (0..=mined.nonce)
            .find(|n| !solver.solve(b"m", &n.to_le_bytes()).is_empty())
            .unwrap();
        assert_eq!(first, mined.nonce);

        let cancelled = AtomicBool::new(true);
        assert_eq!(
            solver.mine(b"m", 0..1_000, &Target::MAX, &cancelled),
            Err(Stopped::Cancelled)
        );
        // A target no hash meets exhausts the range.
        let impossible = Target::new(ruint::aliases::U256::ZERO);
        assert_eq!(
            solver.mine(b"m", 0..5, &impossible, &never),
            Err(Stopped::Exhausted)
        );
    }

    #[test]
    fn a_harder_target_is_met_by_a_hash_below_it() {
        let params = Params::tiny();
        let mut solver = Solver::new(params).unwrap();
        // 1 in 16: the top 4 bits of the hash must be zero.
        let target = Target::new(ruint::aliases::U256::MAX >> 4);
        let mined = solver
            .mine(b"h", 0..10_000, &target, &AtomicBool::new(false))
            .unwrap();
        assert!(crate::target::pow_hash(&mined.solution)[0] < 0x10);
    }
}
