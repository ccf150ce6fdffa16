//! Difficulty per round (TR-2018-02 §4.5): tau-pow's Digishield v3 retarget
//! with one "block" per round, aiming at `Params::retarget.spacing_secs` per
//! round (5 minutes on mainnet).
//!
//! History entry r is (start time of round r in seconds, bits of round r's
//! PoW units): round r starts when its last needed PoW unit is stable, so the
//! gap between starts is the time those PoW units took. Start times are the
//! author-claimed timestamps of the main-chain unit at the switch MCI, made
//! monotonic; no clock is read.

use crate::params::Params;
use crate::Result;

/// Bits for the PoW units of the round after `history` (oldest first).
/// With less history than the retarget needs, `Params::initial_bits` (TR
/// §5.2: the initial difficulty is kept until there is history).
///
/// ```
/// use tau_trustme::{next_bits, Params};
/// let p = Params::devnet();
/// assert_eq!(next_bits(&[(0, p.initial_bits)], &p)?, p.initial_bits);
/// // Rounds twice as fast as the 10 s target: harder bits (a smaller target).
/// let fast: Vec<(i64, u32)> = (0..8).map(|i| (5 * i, p.initial_bits)).collect();
/// assert!(next_bits(&fast, &p)? < p.initial_bits);
/// # Ok::<(), tau_trustme::Error>(())
/// ```
pub fn next_bits(history: &[(i64, u32)], params: &Params) -> Result<u32> {
    if history.len() < params.retarget.min_history() {
        return Ok(params.initial_bits);
    }
    Ok(tau_pow::next_target(history, &params.retarget)?.to_compact())
}
