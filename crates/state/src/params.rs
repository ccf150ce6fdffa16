//! Consensus parameters and their presets.

use std::fmt;

use tau_hamt::Config;

use crate::{Error, Result};

/// Longest chain id in bytes.
pub const MAX_CHAIN_ID_LEN: usize = 32;

/// The id of a chain: 1 to 32 bytes of text. It prefixes the contract key and
/// is signed into every transaction and block, so nothing replays across chains.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ChainId(String);

impl ChainId {
    /// A chain id; 1..=32 bytes.
    pub fn new(id: impl Into<String>) -> Result<Self> {
        let id = id.into();
        if id.is_empty() || id.len() > MAX_CHAIN_ID_LEN {
            return Err(Error::BadChainId(id.len()));
        }
        Ok(Self(id))
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for ChainId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ChainId({:?})", self.0)
    }
}

impl fmt::Display for ChainId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A fraction `num / den` of integers (no floats in consensus rules).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ratio {
    /// Numerator.
    pub num: u64,
    /// Denominator (never zero in a validated [`Params`]).
    pub den: u64,
}

impl Ratio {
    /// `num / den`.
    pub const fn new(num: u64, den: u64) -> Self {
        Self { num, den }
    }
}

/// Consensus parameters of a TAU chain.
///
/// The Proof-of-Transaction rules follow libTAU HEAD (`docs/src/formats/pot.md`) with
/// the constants expressed relative to the block time, so one set of formulas
/// serves a 300 s mainnet and a fast devnet; hashes are BLAKE2b-256 (`docs/src/formats/encoding.md`).
/// Change fields of a preset to tune a chain, then [`validate`](Params::validate).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Params {
    /// The chain id (signed into transactions and blocks; prefixes the contract key).
    pub chain_id: ChainId,
    /// The only block and transaction version accepted.
    pub version: u64,
    /// Target seconds between blocks (libTAU: 300).
    pub block_time: u64,
    /// Shortest required interval in seconds (libTAU: 60).
    pub min_interval: u64,
    /// Longest required interval in seconds; an elapsed time this long also
    /// freezes the base target (libTAU: 1800).
    pub max_interval: u64,
    /// Base target of the genesis block.
    pub genesis_base_target: u64,
    /// Blocks averaged by the base-target adjustment (libTAU: 3).
    pub adjust_window: u64,
    /// Upper clamp of the averaged block time, as a fraction of `block_time` (67/60, i.e. 335/300).
    pub max_ratio: Ratio,
    /// Lower clamp of the averaged block time, as a fraction of `block_time` (53/60, i.e. 265/300).
    pub min_ratio: Ratio,
    /// Damping γ of downward adjustments (64/100).
    pub gamma: Ratio,
    /// Seconds after its timestamp that a transaction expires (the TAU design note: 12 h).
    pub tx_expiry: u64,
    /// Seconds a transaction may be dated after its block, or a block after the local clock.
    pub max_drift: u64,
    /// Longest message text in bytes (the TAU design note: 1,024).
    pub max_message_len: usize,
    /// Longest encoded sender profile in bytes (the TAU design note: 1,024).
    pub max_profile_len: usize,
    /// Most transactions in one block.
    pub max_block_transactions: usize,
    /// Smallest fee accepted.
    pub min_fee: u64,
    /// Most records in one block's attachment log.
    pub max_attachments_log_records: usize,
    /// Shape of the state HAMT.
    pub hamt: Config,
}

impl Params {
    /// The documents' values: 300 s blocks, intervals clamped to [60, 1800] s,
    /// libTAU's ratios, 12 h transaction expiry.
    pub fn mainnet() -> Self {
        Self {
            chain_id: ChainId(String::from("TAU")),
            version: 1,
            block_time: 300,
            min_interval: 60,
            max_interval: 1800,
            // 0x21D0369D036978, the value libTAU's comment names (`docs/src/formats/pot.md`, "Compared with libTAU").
            genesis_base_target: 0x0021_D036_9D03_6978,
            adjust_window: 3,
            max_ratio: Ratio::new(67, 60),
            min_ratio: Ratio::new(53, 60),
            gamma: Ratio::new(64, 100),
            tx_expiry: 12 * 3600,
            max_drift: 15 * 60,
            max_message_len: 1024,
            max_profile_len: 1024,
            max_block_transactions: 10_000,
            min_fee: 0,
            max_attachments_log_records: 4096,
            hamt: Config::default(),
        }
    }

    /// Small and fast, for tests and local networks: 10 s blocks, intervals in
    /// [2, 60] s, a genesis base target giving about 100 s for one fresh miner.
    pub fn devnet() -> Self {
        Self {
            chain_id: ChainId(String::from("TAU-devnet")),
            block_time: 10,
            min_interval: 2,
            max_interval: 60,
            genesis_base_target: u64::MAX / 100,
            max_drift: 60,
            ..Self::mainnet()
        }
    }

    /// Checks that the parameters are consistent.
    pub fn validate(&self) -> Result<()> {
        let fail = |what| Err(Error::InvalidParams(what));
        if self.block_time == 0 {
            return fail("block_time must be positive");
        }
        if self.min_interval == 0 || self.min_interval > self.max_interval {
            return fail("need 0 < min_interval <= max_interval");
        }
        if self.genesis_base_target == 0 || self.genesis_base_target > u64::MAX / 2 {
            return fail("genesis_base_target must be in 1..=u64::MAX/2");
        }
        if self.adjust_window == 0 {
            return fail("adjust_window must be positive");
        }
        if self.max_ratio.den == 0 || self.min_ratio.den == 0 || self.gamma.den == 0 {
            return fail("ratio denominators must be positive");
        }
        if self.max_ratio.num < self.max_ratio.den || self.min_ratio.num > self.min_ratio.den {
            return fail("need min_ratio <= 1 <= max_ratio");
        }
        if self.gamma.num > self.gamma.den {
            return fail("gamma must be at most 1");
        }
        if self.block_time.checked_mul(self.max_ratio.num).is_none() {
            return fail("block_time * max_ratio overflows");
        }
        if self.max_attachments_log_records == 0 {
            return fail("max_attachments_log_records must be positive");
        }
        if self.max_block_transactions == 0 {
            return fail("max_block_transactions must be positive");
        }
        Ok(())
    }
}

impl serde::Serialize for ChainId {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

impl<'de> serde::Deserialize<'de> for ChainId {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        ChainId::new(text).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn presets_are_valid() {
        Params::mainnet().validate().unwrap();
        Params::devnet().validate().unwrap();
        assert_eq!(Params::mainnet().genesis_base_target, 9_517_607_212_509_560);
    }

    #[test]
    fn inconsistent_params_are_rejected() {
        let mut p = Params::devnet();
        p.min_interval = p.max_interval + 1;
        assert!(matches!(p.validate(), Err(Error::InvalidParams(_))));
        let mut p = Params::devnet();
        p.gamma = Ratio::new(1, 0);
        assert!(p.validate().is_err());
        assert!(ChainId::new("").is_err());
        assert!(ChainId::new("x".repeat(33)).is_err());
        assert_eq!(ChainId::new("TAU").unwrap().as_str(), "TAU");
    }
}
