//! Upload: pack a file or directory as TGZ, cut it into sections, store them.

use std::io::{self, Write};
use std::path::Path;

use cid::Cid;
use flate2::write::GzEncoder;
use flate2::Compression;
use tau_hamt::Hamt;
use tau_ipld::block::{DAG_CBOR, RAW};
use tau_ipld::Blockstore;

use crate::config::Config;
use crate::manifest::{section_key, ContentHash, Kind, Manifest, MANIFEST_VERSION, MAX_NAME_LEN};
use crate::{Error, Result};

/// What an upload produced: the root and size a message transaction carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Uploaded {
    /// CID of the manifest block: the attachment root.
    pub root: Cid,
    /// Bytes of the packed TGZ (the attachment size).
    pub size: u64,
    /// The manifest.
    pub manifest: Manifest,
}

/// Packs the file or directory at `path` as TGZ, streaming: each full section
/// is stored as a raw block as soon as it is cut, so memory stays at one
/// section. Then stores the section HAMT and the manifest.
pub fn upload<BS: Blockstore>(store: &BS, path: &Path, config: &Config) -> Result<Uploaded> {
    let metadata =
        std::fs::metadata(path).map_err(Error::io(format!("reading {}", path.display())))?;
    let name = path
        .file_name()
        .and_then(|n| n.to_str())
        .filter(|n| n.len() <= MAX_NAME_LEN)
        .ok_or(Error::InvalidConfig(
            "the path needs a UTF-8 file name of at most 255 bytes",
        ))?
        .to_string();
    let kind = if metadata.is_dir() {
        Kind::Directory
    } else {
        Kind::File
    };
    let chunker = Chunker::new(store, config);
    let gzip = GzEncoder::new(chunker, Compression::new(config.compression()));
    let mut tar = tar::Builder::new(gzip);
    tar.follow_symlinks(false);
    let context = || format!("packing {}", path.display());
    match kind {
        Kind::Directory => tar.append_dir_all(&name, path),
        Kind::File => tar.append_path_with_name(path, &name),
    }
    .map_err(Error::io(context()))?;
    let gzip = tar.into_inner().map_err(Error::io(context()))?;
    let chunker = gzip.finish().map_err(Error::io(context()))?;
    let (sections, total_size, content_hash) = chunker.finish()?;
    finish(
        store,
        config,
        name,
        kind,
        sections,
        total_size,
        content_hash,
    )
}

/// Chunks an already packed TGZ stream (e.g. made by another tool) into an
/// attachment named `name`. The content is not inspected: export checks it.
pub fn upload_tgz<BS: Blockstore, R: std::io::Read>(
    store: &BS,
    name: &str,
    kind: Kind,
    mut tgz: R,
    config: &Config,
) -> Result<Uploaded> {
    if name.is_empty() || name.len() > MAX_NAME_LEN || name.contains(['/', '\\', '\0']) {
        return Err(Error::InvalidConfig(
            "the name must be 1..=255 bytes without path separators",
        ));
    }
    let mut chunker = Chunker::new(store, config);
    io::copy(&mut tgz, &mut chunker).map_err(Error::io("reading the archive"))?;
    let (sections, total_size, content_hash) = chunker.finish()?;
    finish(
        store,
        config,
        name.to_string(),
        kind,
        sections,
        total_size,
        content_hash,
    )
}

/// Stores the section HAMT and the manifest for already-stored sections.
fn finish<BS: Blockstore>(
    store: &BS,
    config: &Config,
    name: String,
    kind: Kind,
    sections: Vec<Cid>,
    total_size: u64,
    content_hash: ContentHash,
) -> Result<Uploaded> {
    let mut map: Hamt<&BS, Cid> = Hamt::new_with_config(store, *config.hamt());
    map.extend(
        sections
            .iter()
            .enumerate()
            .map(|(i, cid)| (section_key(i as u64), *cid)),
    )?;
    let sections_root = map.flush()?;
    let manifest = Manifest {
        version: MANIFEST_VERSION,
        name,
        kind,
        total_size,
        section_size: config.section_size(),
        section_count: sections.len() as u64,
        content_hash,
        sections: sections_root,
    };
    let root = store.put(DAG_CBOR, &manifest.encode()?)?;
    Ok(Uploaded {
        root,
        size: total_size,
        manifest,
    })
}

/// A `Write` that cuts the stream into sections and stores each as a raw block.
struct Chunker<'a, BS> {
    store: &'a BS,
    section_size: usize,
    max_sections: u64,
    buffer: Vec<u8>,
    sections: Vec<Cid>,
    total: u64,
    hasher: blake2b_simd::State,
}

impl<'a, BS: Blockstore> Chunker<'a, BS> {
    fn new(store: &'a BS, config: &Config) -> Self {
        let section_size = usize::try_from(config.section_size()).unwrap_or(usize::MAX);
        Self {
            store,
            section_size,
            max_sections: config.max_sections(),
            buffer: Vec::with_capacity(section_size),
            sections: Vec::new(),
            total: 0,
            hasher: blake2b_simd::Params::new().hash_length(32).to_state(),
        }
    }

    fn cut(&mut self) -> io::Result<()> {
        if self.sections.len() as u64 >= self.max_sections {
            return Err(io::Error::other(Error::TooLarge {
                size: self.total,
                sections: self.sections.len() as u64 + 1,
                max: self.max_sections,
            }));
        }
        let cid = self
            .store
            .put(RAW, &self.buffer)
            .map_err(io::Error::other)?;
        self.sections.push(cid);
        self.buffer.clear();
        Ok(())
    }

    fn finish(mut self) -> Result<(Vec<Cid>, u64, ContentHash)> {
        if !self.buffer.is_empty() {
            self.cut().map_err(Error::io("storing the last section"))?;
        }
        let mut hash = [0u8; 32];
        hash.copy_from_slice(self.hasher.finalize().as_bytes());
        Ok((self.sections, self.total, ContentHash(hash)))
    }
}

impl<BS: Blockstore> Write for Chunker<'_, BS> {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        let room = self.section_size - self.buffer.len();
        let take = room.min(data.len());
        let (now, _) = data.split_at(take);
        self.buffer.extend_from_slice(now);
        self.hasher.update(now);
        self.total += take as u64;
        if self.buffer.len() == self.section_size {
            self.cut()?;
        }
        Ok(take)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}
