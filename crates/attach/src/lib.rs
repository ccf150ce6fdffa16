//! # tau-attach
//!
//! Sharing and preserving data, TAU's reason to exist (the TAU design note): a file or a
//! directory is packed as TGZ, cut into sections (256 KiB by default, at most
//! 10,000), each stored as a raw block; the attachment root is a manifest
//! naming a HAMT from section number to chunk CID. A message transaction
//! carries the root and size.
//!
//! * [`upload`]: streaming pack + chunk + store;
//! * [`download`]: process C — sections from several peers in parallel,
//!   each verified by CID, lying peers dropped, resumable, relentless; the
//!   section map is walked node by node, each node checked
//!   ([`decode_map_node`]) before it is stored, the walk bounded by what the
//!   manifest declares ([`MapLimits`]);
//! * [`export`] / [`export_file`]: unpack into a directory or write the single
//!   file, refusing path traversal, links, devices and archives expanding
//!   beyond the manifest's declared size ([`Config::expansion_ratio`]); a
//!   failed export removes what it wrote;
//! * [`ServiceLog`]: attachment logs (proof of service) with a free quota per
//!   visitor address, kept as tau-state's
//!   [`ServiceRecord`](tau_state::ServiceRecord)s (the records a block
//!   carries). No playback or media decoding (`docs/src/formats/attachments.md`).
//!
//! ```
//! use tau_attach::{download, export, upload, Config, DownloadOptions, Source};
//! use tau_ipld::{Blockstore, Cid, MemoryBlockstore};
//!
//! let dir = tempfile::tempdir()?;
//! let photos = dir.path().join("photos");
//! std::fs::create_dir_all(photos.join("2026"))?;
//! std::fs::write(photos.join("2026/sunrise.raw"), vec![7u8; 300_000])?;
//!
//! // The host packs the directory.
//! let host = MemoryBlockstore::new();
//! let config = Config::builder().section_size(64 * 1024).build()?;
//! let attachment = upload(&host, &photos, &config)?;
//!
//! // A peer downloads it from the host and unpacks it.
//! struct Peer<'a>(&'a MemoryBlockstore);
//! impl Source for Peer<'_> {
//!     fn name(&self) -> String { "host".into() }
//!     fn fetch(&self, cid: &Cid) -> Result<Vec<u8>, String> {
//!         self.0.get(cid).map_err(|e| e.to_string())?.ok_or_else(|| "not found".into())
//!     }
//! }
//! let mine = MemoryBlockstore::new();
//! let cancel = std::sync::atomic::AtomicBool::new(false);
//! let report = download(&mine, &attachment.root, &[&Peer(&host)], &config,
//!     &DownloadOptions::default(), &cancel, &|_| {})?;
//! assert_eq!(report.sections_fetched, report.manifest.section_count);
//! export(&mine, &attachment.root, &dir.path().join("out"), &config)?;
//! assert_eq!(std::fs::read(dir.path().join("out/photos/2026/sunrise.raw"))?, vec![7u8; 300_000]);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod config;
mod download;
mod error;
mod export;
mod manifest;
mod section_map;
mod sections;
mod service;
mod undo;
mod upload;

pub use config::{
    Config, ConfigBuilder, DEFAULT_EXPANSION_RATIO, DEFAULT_MAX_SECTIONS, DEFAULT_SECTION_SIZE,
    MAX_SECTION_SIZE,
};
pub use download::{download, DownloadOptions, DownloadReport, Progress, Source};
pub use error::{Error, Result};
pub use export::{export, export_file, Exported};
pub use manifest::{section_key, ContentHash, Kind, Manifest, MANIFEST_VERSION};
pub use section_map::{
    decode_map_node, probe_section_map, MapLimits, MapNode, MapProbe, MAX_PROBE_READS,
};
pub use sections::{section_cids, SectionReader};
pub use service::{QuotaPolicy, ServiceLog, DEFAULT_FREE_QUOTA};
pub use upload::{upload, upload_tgz, Uploaded};

// The README's example, compiled and run as a doctest.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
