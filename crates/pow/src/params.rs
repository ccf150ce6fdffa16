//! Equihash parameters `(n, k)`, validated as the `equihash` crate's verifier
//! requires (`docs/src/formats/equihash.md`, "Parameters"), and the sizes derived from them.

use crate::{Error, Result};

/// A validated Equihash parameter set.
///
/// ```
/// use tau_pow::Params;
/// let zcash = Params::zcash();
/// assert_eq!((zcash.n(), zcash.k()), (200, 9));
/// assert_eq!(zcash.collision_bits(), 20);
/// assert_eq!(zcash.solution_bytes(), 1344);
/// assert!(Params::new(200, 8).is_err()); // 200 is not divisible by 9
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Params {
    n: u32,
    k: u32,
}

impl Params {
    /// `(n, k)` if the verifier accepts it: `n` divisible by 8 and by `k + 1`,
    /// `3 <= k < n`, and indices of at most 32 bits.
    pub fn new(n: u32, k: u32) -> Result<Self> {
        let invalid = |why| Err(Error::InvalidParams { n, k, why });
        if n == 0 || !n.is_multiple_of(8) {
            return invalid("n must be a positive multiple of 8");
        }
        if k < 3 {
            return invalid("k must be at least 3");
        }
        if k >= n {
            return invalid("k must be smaller than n");
        }
        if !n.is_multiple_of(k + 1) {
            return invalid("n must be divisible by k + 1");
        }
        if n / (k + 1) + 1 > 32 {
            return invalid("indices must fit in 32 bits");
        }
        if n > 512 {
            return invalid("n must be at most 512 (one BLAKE2b digest)");
        }
        Ok(Params { n, k })
    }

    /// Zcash's and TrustNote's `(200, 9)`.
    pub fn zcash() -> Self {
        Params { n: 200, k: 9 }
    }

    /// `(96, 5)`: small and fast, for tests, simulations and devnets.
    pub fn devnet() -> Self {
        Params { n: 96, k: 5 }
    }

    /// `(48, 5)`: tiny, for unit tests.
    pub fn tiny() -> Self {
        Params { n: 48, k: 5 }
    }

    /// n: bits of each leaf hash.
    pub fn n(&self) -> u32 {
        self.n
    }

    /// k: rounds of collisions; a solution has 2^k indices.
    pub fn k(&self) -> u32 {
        self.k
    }

    /// Bits that must collide per round: n / (k + 1).
    pub fn collision_bits(&self) -> u32 {
        self.n / (self.k + 1)
    }

    /// Bits of one index in the minimal encoding: collision bits + 1.
    pub fn index_bits(&self) -> u32 {
        self.collision_bits() + 1
    }

    /// Number of leaves: 2^(collision bits + 1).
    pub fn list_size(&self) -> u64 {
        1u64 << self.index_bits()
    }

    /// Bytes of one leaf hash: n / 8.
    pub fn hash_bytes(&self) -> usize {
        (self.n / 8) as usize
    }

    /// Leaf hashes taken from one BLAKE2b digest: 512 / n.
    pub fn hashes_per_digest(&self) -> u32 {
        512 / self.n
    }

    /// Length of each BLAKE2b digest: (512 / n) · n / 8 bytes.
    pub fn digest_bytes(&self) -> usize {
        self.hashes_per_digest() as usize * self.hash_bytes()
    }

    /// Indices in a solution: 2^k.
    pub fn solution_indices(&self) -> usize {
        1usize << self.k
    }

    /// Bytes of a solution in the minimal encoding.
    pub fn solution_bytes(&self) -> usize {
        self.solution_indices() * self.index_bits() as usize / 8
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_of_the_spec() {
        for (n, k, c, digest, soln) in [
            (200, 9, 20, 50, 1344),
            (144, 5, 24, 54, 100),
            (96, 5, 16, 60, 68),
            (48, 5, 8, 60, 36),
        ] {
            let p = Params::new(n, k).unwrap();
            assert_eq!(p.collision_bits(), c);
            assert_eq!(p.index_bits(), c + 1);
            assert_eq!(p.digest_bytes(), digest);
            assert_eq!(p.solution_bytes(), soln);
        }
    }

    #[test]
    fn rejects_what_the_verifier_rejects() {
        for (n, k) in [
            (0, 3),
            (201, 9),
            (200, 8),
            (200, 2),
            (8, 8),
            (256, 7),
            (520, 12),
        ] {
            assert!(
                matches!(Params::new(n, k), Err(Error::InvalidParams { .. })),
                "({n}, {k})"
            );
        }
        assert!(Params::new(248, 7).is_ok()); // 31 collision bits: 32-bit indices
    }
}
