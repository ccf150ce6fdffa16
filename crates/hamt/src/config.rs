//! Map configuration: bit width, bucket size, key hash.

use crate::{Error, Result};

/// How keys are hashed into slot indices.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum KeyHash {
    /// SHA2-256 of the key bytes: the Filecoin HAMT's hash and the default.
    #[default]
    Sha256,
    /// The key itself, zero-padded to 32 bytes (keys of at most 32 bytes).
    /// Only for reproducing the reference crate's structural test vectors:
    /// it gives no balance against chosen keys.
    Identity,
}

/// Parameters of a HAMT. They are not stored in the root, so a map must be
/// loaded with the configuration it was written with.
///
/// ```
/// use tau_hamt::Config;
/// let c = Config::default();
/// assert_eq!((c.bit_width(), c.bucket_size()), (5, 3));
/// let wide = Config::builder().bit_width(8).build()?;
/// assert_eq!(wide.bit_width(), 8);
/// assert!(Config::builder().bit_width(9).build().is_err());
/// # Ok::<(), tau_hamt::Error>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Config {
    bit_width: u32,
    bucket_size: usize,
    key_hash: KeyHash,
}

impl Default for Config {
    /// Bit width 5, bucket size 3, SHA-256: Filecoin's parameters.
    fn default() -> Self {
        Config {
            bit_width: 5,
            bucket_size: 3,
            key_hash: KeyHash::Sha256,
        }
    }
}

impl Config {
    /// A builder starting from the defaults.
    pub fn builder() -> ConfigBuilder {
        ConfigBuilder(Config::default())
    }

    /// The default configuration with another bit width (1..=8).
    pub fn with_bit_width(bit_width: u32) -> Result<Self> {
        Self::builder().bit_width(bit_width).build()
    }

    /// Bits of the key hash consumed per level (1..=8).
    pub fn bit_width(&self) -> u32 {
        self.bit_width
    }

    /// Most entries a bucket holds before it is pushed into a child node.
    pub fn bucket_size(&self) -> usize {
        self.bucket_size
    }

    /// The key hash.
    pub fn key_hash(&self) -> KeyHash {
        self.key_hash
    }
}

/// Builds a validated [`Config`].
#[derive(Clone, Copy, Debug)]
pub struct ConfigBuilder(Config);

impl ConfigBuilder {
    /// Bits per level, 1..=8 (default 5).
    pub fn bit_width(mut self, bits: u32) -> Self {
        self.0.bit_width = bits;
        self
    }

    /// Bucket size, 1..=64 (default 3).
    pub fn bucket_size(mut self, size: usize) -> Self {
        self.0.bucket_size = size;
        self
    }

    /// Key hash (default SHA-256).
    pub fn key_hash(mut self, key_hash: KeyHash) -> Self {
        self.0.key_hash = key_hash;
        self
    }

    /// The configuration, or [`Error::InvalidConfig`].
    pub fn build(self) -> Result<Config> {
        if !(1..=8).contains(&self.0.bit_width) {
            return Err(Error::InvalidConfig("bit width must be 1..=8"));
        }
        if !(1..=64).contains(&self.0.bucket_size) {
            return Err(Error::InvalidConfig("bucket size must be 1..=64"));
        }
        Ok(self.0)
    }
}
