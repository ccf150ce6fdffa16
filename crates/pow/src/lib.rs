//! # tau-pow
//!
//! Equihash for TAU and TrustME-PoW (`specs/equihash.md`): a generic Wagner
//! solver for any `(n, k)` the `equihash` crate's verifier accepts, that
//! verifier behind typed errors, and the parameter presets.
//!
//! ```
//! use tau_pow::{verify, Params, Solver};
//!
//! let params = Params::tiny(); // (48, 5): instant, for examples and tests
//! let mut solver = Solver::new(params)?;
//! let input = b"block header without the nonce";
//! let solutions: Vec<(u32, Vec<u8>)> = (0u32..16)
//!     .flat_map(|nonce| {
//!         let found = solver.solve(input, &nonce.to_le_bytes());
//!         found.into_iter().map(move |s| (nonce, s))
//!     })
//!     .collect();
//! for (nonce, solution) in &solutions {
//!     verify(&params, input, &nonce.to_le_bytes(), solution)?;
//! }
//! assert!(!solutions.is_empty());
//! # Ok::<(), tau_pow::Error>(())
//! ```

#![warn(missing_docs)]

mod error;
mod leaf;
mod minimal;
mod params;
mod solver;
mod verify;

pub use error::{Error, Result};
pub use minimal::decode_indices;
pub use params::Params;
pub use solver::Solver;
pub use verify::verify;
