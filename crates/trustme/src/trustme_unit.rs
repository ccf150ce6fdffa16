//! TrustME units (TR-2018-02 §4.6): the payload of a `Message::TrustMe`,
//! and the sending schedule.
//!
//! The payload is `{round, PoW_solution, priority, coinbase of round i−2}`:
//! the PoW unit that made the author an attestor (none for the foundation
//! and round 1's genesis attestors), its 1-based priority, and either the
//! full coinbase list of round i−2 (the first unit of a round, by the first
//! attestor), its hash (the other attestors' first units) or nothing.

use cid::Cid;
use serde_tuple::{Deserialize_tuple, Serialize_tuple};

use crate::reward::Coinbase;
use crate::seed::coinbase_hash;
use crate::{Error, Result};

/// The payload of a TrustME unit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize_tuple, Deserialize_tuple)]
pub struct TrustMePayload {
    /// The round (= the unit's round).
    pub round: u64,
    /// The author's electing PoW unit (none for foundation/genesis attestors).
    pub pow_unit: Option<Cid>,
    /// The author's priority in the round, 1-based.
    pub priority: u32,
    /// The full coinbase list of round − 2.
    pub coinbase: Option<Coinbase>,
    /// Or only its hash.
    #[serde(with = "serde_bytes")]
    pub coinbase_hash: Option<[u8; 32]>,
}

impl TrustMePayload {
    /// The canonical encoding.
    pub fn encode(&self) -> Result<Vec<u8>> {
        Ok(tau_ipld::canonical::encode("TrustME payload", self)?)
    }

    /// Decodes a canonical encoding.
    pub fn decode(bytes: &[u8]) -> Result<Self> {
        Ok(tau_ipld::canonical::decode_canonical(
            "TrustME payload",
            bytes,
        )?)
    }

    /// Checks a carried coinbase (list or hash) against `expected`, the
    /// coinbase of round `self.round − 2`.
    pub fn check_coinbase(&self, expected: &Coinbase) -> Result<()> {
        let round = self.round.saturating_sub(2);
        if let Some(list) = &self.coinbase {
            if list != expected {
                return Err(Error::CoinbaseMismatch { round });
            }
        }
        if let Some(hash) = &self.coinbase_hash {
            if *hash != coinbase_hash(expected)? {
                return Err(Error::CoinbaseMismatch { round });
            }
        }
        Ok(())
    }
}

/// Whether the attestor at priority index `me` (0-based) may send a TrustME
/// unit now, when the one at index `expected` is on turn and `silent_ms` have
/// passed since the last TrustME unit of the round was seen: the one on turn
/// sends at once; if it stays silent for `takeover_ms`, the next two take
/// over (TR §4.6), after twice that the two after them, and so on.
///
/// ```
/// use tau_trustme::may_send;
/// assert!(may_send(4, 4, 20, 0, 5_000));
/// assert!(!may_send(5, 4, 20, 4_999, 5_000));
/// assert!(may_send(5, 4, 20, 5_000, 5_000) && may_send(6, 4, 20, 5_000, 5_000));
/// assert!(!may_send(7, 4, 20, 5_000, 5_000));
/// ```
pub fn may_send(
    me: usize,
    expected: usize,
    attestors: usize,
    silent_ms: u64,
    takeover_ms: u64,
) -> bool {
    if attestors == 0 {
        return false;
    }
    let distance = (me % attestors + attestors - expected % attestors) % attestors;
    let waits = (distance as u64).div_ceil(2);
    silent_ms >= waits.saturating_mul(takeover_ms)
}
