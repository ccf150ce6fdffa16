//! Parameters of the DAG and their presets.

use crate::{Error, Result};

/// Parameters of a TrustME DAG.
///
/// `mainnet()` carries the values of TR-2018-02 and the TrustNote code
/// (16 parents, 20 attestors); `devnet()` is small for tests and simulations.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Params {
    /// The only unit version accepted.
    pub version: u64,
    /// Most parents a unit may list (TrustNote: 16).
    pub max_parents: usize,
    /// Most authors a unit may list.
    pub max_authors: usize,
    /// Most messages a unit may carry.
    pub max_messages: usize,
    /// Largest encoded unit in bytes (checked before decoding).
    pub max_unit_size: usize,
    /// Most units waiting for parents in the orphan pool; the oldest is
    /// dropped when it is full.
    pub max_orphans: usize,
    /// Whether a TrustME unit's own authors count towards its attestation
    /// level (TR-2018-02 walks the path *from* the unit, and TrustNote counts
    /// them; Obyte never counts the unit itself: set `false` for Obyte's rule).
    pub count_own_attestation: bool,
    /// How many distinct recent attestors each TrustME unit remembers along
    /// its best-parent chain. A pure performance knob: attestation levels are
    /// exact for any value ≥ 1 (a longer walk runs when the memory runs out).
    /// Set it at or above the number of attestors of a round.
    pub attestor_memory: usize,
}

impl Params {
    /// TR-2018-02 / TrustNote values: 16 parents, 20 attestors.
    pub fn mainnet() -> Self {
        Self {
            version: 1,
            max_parents: 16,
            max_authors: 16,
            max_messages: 128,
            max_unit_size: 64 * 1024,
            max_orphans: 10_000,
            count_own_attestation: true,
            attestor_memory: 28,
        }
    }

    /// Small limits for tests and simulations.
    pub fn devnet() -> Self {
        Self {
            version: 1,
            max_parents: 16,
            max_authors: 4,
            max_messages: 16,
            max_unit_size: 16 * 1024,
            max_orphans: 256,
            count_own_attestation: true,
            attestor_memory: 12,
        }
    }

    /// Checks the values are usable.
    pub fn validate(&self) -> Result<()> {
        if self.max_parents == 0 {
            return Err(Error::InvalidParams("max_parents must be at least 1"));
        }
        if self.max_authors == 0 || self.max_authors > usize::from(u8::MAX) {
            return Err(Error::InvalidParams("max_authors must be 1..=255"));
        }
        if self.max_messages == 0 {
            return Err(Error::InvalidParams("max_messages must be at least 1"));
        }
        if self.attestor_memory == 0 || self.attestor_memory > usize::from(u8::MAX) {
            return Err(Error::InvalidParams("attestor_memory must be 1..=255"));
        }
        Ok(())
    }
}
