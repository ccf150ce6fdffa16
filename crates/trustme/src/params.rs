//! Parameters of TrustME-PoW and the genesis configuration of a network.

use core::num::{NonZeroU32, NonZeroUsize};

use tau_keys::Address;
use tau_pow::RetargetParams;

use crate::issuance::TR_ISSUANCE_MN;
use crate::{Error, Result};

/// Notes in one MN (mega note).
pub const NOTES_PER_MN: u64 = 1_000_000;

/// The devnet limit in compact form: 0x7fffff · 2^232 (half of all hashes).
pub const DEVNET_LIMIT_BITS: u32 = 0x207f_ffff;

/// Parameters of TrustME-PoW.
///
/// `mainnet()` carries TR-2018-02's values (18 PoW attestors + 2 foundation
/// attestors, 50,000 MN deposits locked 17,280 rounds, 5-minute rounds, the
/// 30-year issuance of 500,000,000 MN, 90 % to attestors, Equihash (200,9));
/// `devnet()` is small and fast for tests and simulations.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Params {
    /// Equihash `(n, k)` of PoW units.
    pub equihash: tau_pow::Params,
    /// Attestors chosen by PoW each round (TR: 18).
    pub pow_attestors: usize,
    /// Foundation attestors, first in every round (TR: 2).
    pub foundation_attestors: usize,
    /// Smallest deposit, in notes, that lets a super node compete (TR: 50,000 MN).
    pub min_deposit: u64,
    /// Shortest silent-locking time, in rounds, a deposit contract may set
    /// (TR: 17,280).
    pub silent_lock_rounds: u64,
    /// Yearly issuance in MN, year 1 first; nothing is issued after the table.
    pub issuance_mn: Vec<u64>,
    /// Rounds in an issuance year (TR mainnet: 365 days of 5-minute rounds).
    pub rounds_per_year: u64,
    /// The attestors' share of a round's reward in basis points (TR: 9000);
    /// the foundation gets the rest and every rounding remainder.
    pub attestor_share_bps: u32,
    /// Digishield retarget per round, `spacing_secs` = the round target time.
    pub retarget: RetargetParams,
    /// Bits of the first rounds (before the retarget has history).
    pub initial_bits: u32,
    /// How long, in ms, an attestor waits for the one whose turn it is before
    /// the next two take over (TR §4.6: 5 s).
    pub takeover_ms: u64,
    /// Most stable MCIs one catch-up proof carries.
    pub catchup_max_steps: usize,
    /// Largest encoded catch-up proof accepted, in bytes.
    pub catchup_max_bytes: usize,
}

impl Params {
    /// TR-2018-02 values.
    pub fn mainnet() -> Self {
        Self {
            equihash: tau_pow::Params::zcash(),
            pow_attestors: 18,
            foundation_attestors: 2,
            min_deposit: 50_000 * NOTES_PER_MN,
            silent_lock_rounds: 17_280,
            issuance_mn: TR_ISSUANCE_MN.to_vec(),
            rounds_per_year: 365 * 24 * 12,
            attestor_share_bps: 9_000,
            retarget: RetargetParams::mainnet(),
            initial_bits: tau_pow::Target::TRUSTNOTE_LIMIT_BITS,
            takeover_ms: 5_000,
            catchup_max_steps: 1_000,
            catchup_max_bytes: 64 << 20,
        }
    }

    /// Small and fast: Equihash (96,5), 4 PoW attestors + 1 foundation
    /// attestor, 10-second rounds, 50-round years, a 4-round retarget window,
    /// and an easy limit (bits `0x207fffff`: half of all solutions qualify;
    /// TrustNote's `0x1f7fffff` lets one in 512 through).
    pub fn devnet() -> Self {
        Self {
            equihash: tau_pow::Params::devnet(),
            pow_attestors: 4,
            foundation_attestors: 1,
            min_deposit: 50_000 * NOTES_PER_MN,
            silent_lock_rounds: 10,
            issuance_mn: TR_ISSUANCE_MN.to_vec(),
            rounds_per_year: 50,
            attestor_share_bps: 9_000,
            retarget: RetargetParams {
                spacing_secs: NonZeroU32::new(10).unwrap_or(NonZeroU32::MIN),
                window: NonZeroUsize::new(4).unwrap_or(NonZeroUsize::MIN),
                median_span: NonZeroUsize::new(3).unwrap_or(NonZeroUsize::MIN),
                pow_limit: tau_pow::Target::new(tau_pow::U256::MAX >> 1),
                ..RetargetParams::devnet()
            },
            initial_bits: DEVNET_LIMIT_BITS,
            takeover_ms: 1_000,
            catchup_max_steps: 64,
            catchup_max_bytes: 8 << 20,
        }
    }

    /// [`devnet`](Self::devnet) with Equihash (48,5): for unit tests.
    pub fn tiny() -> Self {
        Self {
            equihash: tau_pow::Params::tiny(),
            ..Self::devnet()
        }
    }

    /// Attestors per round: foundation + PoW.
    pub fn attestors(&self) -> usize {
        self.foundation_attestors + self.pow_attestors
    }

    /// Checks the values are usable.
    pub fn validate(&self) -> Result<()> {
        if self.pow_attestors == 0 {
            return Err(Error::InvalidParams("pow_attestors must be at least 1"));
        }
        if self.rounds_per_year == 0 {
            return Err(Error::InvalidParams("rounds_per_year must be at least 1"));
        }
        if self.catchup_max_steps == 0 {
            return Err(Error::InvalidParams("catchup_max_steps must be at least 1"));
        }
        if self.attestor_share_bps > 10_000 {
            return Err(Error::InvalidParams(
                "attestor_share_bps must be at most 10000",
            ));
        }
        tau_pow::Target::from_compact(self.initial_bits, &self.retarget.pow_limit)?;
        Ok(())
    }
}

/// TR-2018-02 §5.2: the network starts under fixed witnesses and switches
/// to TrustME-PoW.
///
/// The phase is **round 0** of [`crate::Rounds`]: its attestors are the
/// witnesses (priority = place in `witnesses`, no PoW unit), whose TrustME
/// units of round 0 give attestation levels with their majority
/// `⌊n/2⌋ + 1`. Nothing is issued or rewarded for round 0 (its coinbase is
/// the empty list) and its TrustME units fix no seed. When MCI `switch_mci`
/// becomes stable, pubSeed(1) = [`Genesis::pub_seed`] is published
/// ([`crate::RoundEvent::SeedKnown`]) with bits `Params::initial_bits`, and
/// super nodes compete for round 1 with PoW units made in round 0. A PoW unit
/// for round 1 counts only if it includes the main-chain unit at
/// `switch_mci` (its LIMCI is at least `switch_mci`); one made before is
/// rejected when it becomes stable ([`crate::Error::PowBeforeSwitch`]) and
/// counts for nothing. Round 1 starts, and the witnesses stop attesting, at
/// the MCI where `pow_attestors` distinct such units are stable; its
/// attestors are the foundation, then those units' authors (as for every
/// round). From there on rounds run as without the phase; the coinbase of
/// round 1 is the one round 3 carries. The genesis unit has round 0.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WitnessPhase {
    /// The witnesses, in priority order: the attestors of round 0.
    pub witnesses: Vec<Address>,
    /// The MCI (at least 1) whose stabilization opens the competition for
    /// round 1 (TR §5.2: e.g. 1,000,000).
    pub switch_mci: u64,
}

/// What every replica of one network agrees on before round 1: the
/// foundation, the attestors of round 1 (listed here, or elected by PoW after
/// a [`WitnessPhase`], TR §5.2), pubSeed(1) and any deposits made before
/// genesis.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Genesis {
    /// Foundation attestors, in priority order (first in every round).
    pub foundation: Vec<Address>,
    /// Where the foundation's share of the rewards goes.
    pub foundation_reward: Address,
    /// Round 1's other attestors, in priority order.
    pub initial_attestors: Vec<Address>,
    /// pubSeed(1) (TR §5.2: an initial random number).
    pub pub_seed: [u8; 32],
    /// Deposits (super node, notes) in force from round 1 (from round 0
    /// with a witness phase).
    pub deposits: Vec<(Address, u64)>,
    /// Start under fixed witnesses and switch to TrustME-PoW (TR §5.2);
    /// `initial_attestors` must then be empty. `None`: round 1 is the first
    /// round, with the listed attestors.
    pub witness_phase: Option<WitnessPhase>,
}

impl Genesis {
    /// The first round: 0 with a witness phase, else 1. The genesis unit
    /// carries it.
    pub fn first_round(&self) -> u64 {
        u64::from(self.witness_phase.is_none())
    }

    /// Checks the genesis against `params`.
    pub fn validate(&self, params: &Params) -> Result<()> {
        if self.foundation.len() != params.foundation_attestors {
            return Err(Error::InvalidParams(
                "genesis must list foundation_attestors foundation addresses",
            ));
        }
        if let Some(phase) = &self.witness_phase {
            if phase.witnesses.is_empty() {
                return Err(Error::InvalidParams("the witness phase needs witnesses"));
            }
            let mut w: Vec<&Address> = phase.witnesses.iter().collect();
            w.sort_unstable();
            if w.windows(2).any(|w| w[0] == w[1]) {
                return Err(Error::InvalidParams("witnesses must be distinct"));
            }
            if phase.switch_mci == 0 {
                return Err(Error::InvalidParams("switch_mci must be at least 1"));
            }
            if !self.initial_attestors.is_empty() {
                return Err(Error::InvalidParams(
                    "with a witness phase, round 1's attestors are elected: initial_attestors must be empty",
                ));
            }
        }
        let mut all: Vec<&Address> = self
            .foundation
            .iter()
            .chain(&self.initial_attestors)
            .collect();
        if all.is_empty() && self.witness_phase.is_none() {
            return Err(Error::InvalidParams("round 1 needs attestors"));
        }
        all.sort_unstable();
        if all.windows(2).any(|w| w[0] == w[1]) {
            return Err(Error::InvalidParams("round 1 attestors must be distinct"));
        }
        Ok(())
    }
}
