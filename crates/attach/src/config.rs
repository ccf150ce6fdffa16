//! Packing, download and export limits.

use tau_hamt::Config as HamtConfig;

use crate::{Error, Result};

/// Default section size: 256 KiB.
pub const DEFAULT_SECTION_SIZE: u64 = 256 * 1024;
/// Default most sections per attachment (the TAU design note: 10,000).
pub const DEFAULT_MAX_SECTIONS: u64 = 10_000;
/// Largest section accepted: a section must fit one Graphsync message (4 MiB).
pub const MAX_SECTION_SIZE: u64 = 2 * 1024 * 1024;
/// Smallest section accepted.
pub const MIN_SECTION_SIZE: u64 = 1024;
/// Default bytes an archive may expand to on export per byte of its declared
/// (packed) size: 1, the declared size itself. A TGZ of stored deflate
/// blocks (compression 0, the default of [`crate::upload`]) never expands
/// beyond its packed size; attachments packed with compression need a
/// larger ratio ([`ConfigBuilder::expansion_ratio`]).
pub const DEFAULT_EXPANSION_RATIO: u64 = 1;

/// Limits of an attachment; build with [`Config::builder`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Config {
    section_size: u64,
    max_sections: u64,
    compression: u32,
    expansion_ratio: u64,
    max_expanded: Option<u64>,
    max_entries: Option<u64>,
    hamt: HamtConfig,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            section_size: DEFAULT_SECTION_SIZE,
            max_sections: DEFAULT_MAX_SECTIONS,
            compression: 0,
            expansion_ratio: DEFAULT_EXPANSION_RATIO,
            max_expanded: None,
            max_entries: None,
            hamt: HamtConfig::default(),
        }
    }
}

impl Config {
    /// A builder starting from the defaults.
    pub fn builder() -> ConfigBuilder {
        ConfigBuilder(Self::default())
    }

    /// Bytes per section (the last one may be shorter).
    pub fn section_size(&self) -> u64 {
        self.section_size
    }

    /// Most sections per attachment.
    pub fn max_sections(&self) -> u64 {
        self.max_sections
    }

    /// gzip level, 0–9. 0 (stored blocks, still a valid TGZ) by default:
    /// media, the common attachment, does not compress, and level 1 packs
    /// about 4× slower; raise it for text.
    pub fn compression(&self) -> u32 {
        self.compression
    }

    /// Bytes an archive may expand to on export per byte of the size its
    /// manifest declares ([`DEFAULT_EXPANSION_RATIO`] by default).
    pub fn expansion_ratio(&self) -> u64 {
        self.expansion_ratio
    }

    /// An absolute cap on the bytes an archive may expand to on export, on
    /// top of [`expansion_ratio`](Self::expansion_ratio) (none by default).
    pub fn max_expanded(&self) -> Option<u64> {
        self.max_expanded
    }

    /// Most archive entries an export accepts; by default what the expansion
    /// limit allows (every entry takes a 512-byte tar header).
    pub fn max_entries(&self) -> Option<u64> {
        self.max_entries
    }

    /// Shape of the section HAMT.
    pub fn hamt(&self) -> &HamtConfig {
        &self.hamt
    }
}

/// Builder of [`Config`].
#[derive(Debug, Clone)]
pub struct ConfigBuilder(Config);

impl ConfigBuilder {
    /// Bytes per section, in `1 KiB..=2 MiB`.
    pub fn section_size(mut self, bytes: u64) -> Self {
        self.0.section_size = bytes;
        self
    }

    /// Most sections per attachment.
    pub fn max_sections(mut self, sections: u64) -> Self {
        self.0.max_sections = sections;
        self
    }

    /// gzip level, 0–9.
    pub fn compression(mut self, level: u32) -> Self {
        self.0.compression = level;
        self
    }

    /// Bytes an archive may expand to per declared byte (at least 1).
    pub fn expansion_ratio(mut self, ratio: u64) -> Self {
        self.0.expansion_ratio = ratio;
        self
    }

    /// An absolute cap on the bytes an archive may expand to.
    pub fn max_expanded(mut self, bytes: u64) -> Self {
        self.0.max_expanded = Some(bytes);
        self
    }

    /// Most archive entries an export accepts.
    pub fn max_entries(mut self, entries: u64) -> Self {
        self.0.max_entries = Some(entries);
        self
    }

    /// Shape of the section HAMT.
    pub fn hamt(mut self, hamt: HamtConfig) -> Self {
        self.0.hamt = hamt;
        self
    }

    /// Checks the values.
    pub fn build(self) -> Result<Config> {
        let c = self.0;
        if !(MIN_SECTION_SIZE..=MAX_SECTION_SIZE).contains(&c.section_size) {
            return Err(Error::InvalidConfig(
                "section size must be in 1 KiB..=2 MiB",
            ));
        }
        if c.max_sections == 0 {
            return Err(Error::InvalidConfig("max_sections must be positive"));
        }
        if c.expansion_ratio == 0 {
            return Err(Error::InvalidConfig("expansion_ratio must be positive"));
        }
        if c.compression > 9 {
            return Err(Error::InvalidConfig("compression level must be 0..=9"));
        }
        Ok(c)
    }
}
