//! PoW units (TR-2018-02 §4.3): the payload of a `Message::PowEquihash`.
//!
//! A PoW unit made while round i is on duty competes for round i+1: its
//! payload carries that round, Seed(i+1, author), the round's compact bits,
//! the nonce and the **full Equihash solution** (TrustNote ships only the
//! nonce and makes verifiers re-solve; here one `is_valid_solution` call
//! checks it). The Equihash input is the 32-byte seed; the nonce is 4 bytes
//! little-endian after it.

use serde_tuple::{Deserialize_tuple, Serialize_tuple};
use tau_keys::PublicKey;

use crate::params::Params;
use crate::seed::node_seed;
use crate::{Error, Result};

/// The payload of a PoW unit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize_tuple, Deserialize_tuple)]
pub struct PowPayload {
    /// The round the author competes for (the unit's round + 1).
    pub round: u64,
    /// Seed(round, author).
    #[serde(with = "serde_bytes")]
    pub seed: [u8; 32],
    /// The round's compact bits.
    pub bits: u32,
    /// The nonce (4 bytes little-endian after the seed).
    pub nonce: u32,
    /// The Equihash solution, minimal encoding.
    #[serde(with = "serde_bytes")]
    pub solution: Vec<u8>,
}

/// What a PoW unit for one round must match: the round's pubSeed and bits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PowContext {
    /// The round competed for.
    pub round: u64,
    /// pubSeed(round).
    pub pub_seed: [u8; 32],
    /// bits(round).
    pub bits: u32,
}

impl PowPayload {
    /// The canonical encoding.
    pub fn encode(&self) -> Result<Vec<u8>> {
        Ok(tau_ipld::canonical::encode("PoW payload", self)?)
    }

    /// Decodes a canonical encoding.
    pub fn decode(bytes: &[u8]) -> Result<Self> {
        Ok(tau_ipld::canonical::decode_canonical("PoW payload", bytes)?)
    }

    /// Checks what needs no round state: the solution is valid Equihash for
    /// `seed ‖ nonce` and its BLAKE2b-256 meets the payload's own bits.
    pub fn check_solution(&self, params: &Params) -> Result<()> {
        tau_pow::verify(
            &params.equihash,
            &self.seed,
            &self.nonce.to_le_bytes(),
            &self.solution,
        )?;
        if !tau_pow::meets_bits(&self.solution, self.bits, &params.retarget.pow_limit)? {
            return Err(Error::UnderTarget { bits: self.bits });
        }
        Ok(())
    }

    /// Full check against the round: right round, right bits, right seed for
    /// this author, valid solution meeting the target.
    pub fn check(&self, author: &PublicKey, ctx: &PowContext, params: &Params) -> Result<()> {
        if self.round != ctx.round {
            return Err(Error::RoundMismatch {
                unit: ctx.round,
                payload: self.round,
            });
        }
        if self.bits != ctx.bits {
            return Err(Error::WrongBits {
                bits: self.bits,
                expected: ctx.bits,
            });
        }
        if self.seed != node_seed(author, &ctx.pub_seed) {
            return Err(Error::WrongSeed { round: ctx.round });
        }
        self.check_solution(params)
    }
}

/// Mines a PoW payload with `solver` (whose parameters must be
/// `params.equihash`): nonces from `first_nonce` until a solution meets the
/// bits, at most `max_tries` nonces. Returns the payload and the nonces tried.
pub fn mine(
    solver: &mut tau_pow::Solver,
    author: &PublicKey,
    ctx: &PowContext,
    params: &Params,
    first_nonce: u32,
    max_tries: u32,
) -> Result<Option<(PowPayload, u32)>> {
    let seed = node_seed(author, &ctx.pub_seed);
    let target = tau_pow::Target::from_compact(ctx.bits, &params.retarget.pow_limit)?;
    let end = first_nonce.saturating_add(max_tries);
    let never = std::sync::atomic::AtomicBool::new(false);
    Ok(solver
        .mine(&seed, first_nonce..end, &target, &never)
        .ok()
        .map(|m| {
            let tries = m.nonce - first_nonce + 1;
            (
                PowPayload {
                    round: ctx.round,
                    seed,
                    bits: ctx.bits,
                    nonce: m.nonce,
                    solution: m.solution,
                },
                tries,
            )
        }))
}
