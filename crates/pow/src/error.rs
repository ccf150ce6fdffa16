//! The crate's error type.

/// Everything that can go wrong in `tau-pow`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// `(n, k)` is not a parameter set the Equihash verifier accepts.
    #[error("unsupported Equihash parameters (n = {n}, k = {k}): {why}")]
    InvalidParams {
        /// n.
        n: u32,
        /// k.
        k: u32,
        /// Which rule fails.
        why: &'static str,
    },
    /// A solution has the wrong length for its parameters.
    #[error("solution is {len} bytes, expected {expected}")]
    SolutionLength {
        /// Length given.
        len: usize,
        /// Length the parameters need.
        expected: usize,
    },
    /// A solution is not valid (the equihash crate's verdict).
    #[error("invalid Equihash solution: {0}")]
    InvalidSolution(String),
    /// Compact bits that do not encode a usable target.
    #[error("invalid compact bits {bits:#010x}: {why}")]
    InvalidBits {
        /// The compact value.
        bits: u32,
        /// Negative, zero, overflow or above the limit.
        why: &'static str,
    },
    /// The retarget history is too short.
    #[error("retarget needs {needed} blocks of history, got {got}")]
    ShortHistory {
        /// Blocks needed.
        needed: usize,
        /// Blocks given.
        got: usize,
    },
    /// The retarget history's timestamps go backwards.
    #[error("retarget history timestamps are not monotonic at position {0}")]
    NonMonotonic(usize),
}

/// `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
