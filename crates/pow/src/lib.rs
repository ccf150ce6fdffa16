//! # tau-pow
//!
//! Equihash for TAU and TrustME-PoW (`docs/src/formats/equihash.md`):
//!
//! - [`Solver`]: a generic Wagner solver for any `(n, k)` the `equihash`
//!   crate's verifier accepts (§1, §3), returning every solution of a run in
//!   the minimal encoding;
//! - [`verify`]: that crate's verifier behind typed errors (no second verifier);
//! - [`Target`]: Bitcoin-style compact bits and the "BLAKE2b-256 of the
//!   solution ≤ target" acceptance rule (§5, §6);
//! - [`next_target`]: Digishield v3 retargeting as Zcash does it (§7), a pure
//!   integer function of the block history;
//! - [`Params`] with the presets `zcash()` (200, 9), `devnet()` (96, 5) and
//!   `tiny()` (48, 5).
//!
//! The solver's only `unsafe` is one call into the AVX2 BLAKE2b kernel after
//! `is_x86_feature_detected!("avx2")`; its heaps are tau-mem's zeroed
//! buffers on huge pages (anonymous maps with a huge-page hint). The
//! default feature `fast-verify` turns on the `equihash` crate's
//! `unsafe-verifier` (its SIMD path, about 1.5× faster on (200,9)); build with
//! `default-features = false` for the portable verifier.
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

mod blake;
mod error;
mod leaf;
mod mine;
mod minimal;
mod params;
mod retarget;
mod solver;
mod target;
mod verify;

pub use error::{Error, Result};
pub use mine::{Mined, Stopped};
pub use minimal::decode_indices;
pub use params::Params;
pub use retarget::{next_target, next_target_strict, RetargetParams};
pub use ruint::aliases::U256;
pub use solver::{Phases, Solver};
pub use target::{decode_compact, meets_bits, meets_target, pow_hash, DecodedCompact, Target};
pub use verify::verify;

// The README's example, compiled and run as a doctest.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
