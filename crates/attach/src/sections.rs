//! The section map of an attachment and reading the packed bytes back.

use std::io::{self, Read};

use cid::Cid;
use tau_hamt::Hamt;
use tau_ipld::block::RAW;
use tau_ipld::Blockstore;

use crate::config::Config;
use crate::manifest::{section_key, Manifest};
use crate::{Error, Result};

/// The chunk CIDs of every section, in order, read from the section HAMT
/// (whose nodes must be in the store) and checked against the manifest.
pub fn section_cids<BS: Blockstore>(
    store: &BS,
    manifest: &Manifest,
    config: &Config,
) -> Result<Vec<Cid>> {
    let map: Hamt<&BS, Cid> = Hamt::load_with_config(store, &manifest.sections, *config.hamt())?;
    let mut cids = Vec::with_capacity(usize::try_from(manifest.section_count).unwrap_or(0));
    for index in 0..manifest.section_count {
        let cid = map
            .get(section_key(index))?
            .ok_or_else(|| Error::ContentMismatch(format!("section {index} is not in the map")))?;
        if cid.codec() != RAW {
            return Err(Error::ContentMismatch(format!(
                "section {index} is not a raw block"
            )));
        }
        cids.push(cid);
    }
    if map.len()? as u64 != manifest.section_count {
        return Err(Error::ContentMismatch(format!(
            "the map holds {} entries, the manifest says {}",
            map.len()?,
            manifest.section_count
        )));
    }
    Ok(cids)
}

/// Reads the packed TGZ back from stored sections, checking each section's
/// length against the manifest and, at the end, the content hash.
pub struct SectionReader<'a, BS> {
    store: &'a BS,
    manifest: &'a Manifest,
    cids: Vec<Cid>,
    next: usize,
    current: Vec<u8>,
    offset: usize,
    hasher: blake2b_simd::State,
    done: bool,
}

impl<'a, BS: Blockstore> SectionReader<'a, BS> {
    /// A reader over the sections of `manifest` (their CIDs from [`section_cids`]).
    pub fn new(store: &'a BS, manifest: &'a Manifest, cids: Vec<Cid>) -> Self {
        Self {
            store,
            manifest,
            cids,
            next: 0,
            current: Vec::new(),
            offset: 0,
            hasher: blake2b_simd::Params::new().hash_length(32).to_state(),
            done: false,
        }
    }

    fn load_next(&mut self) -> Result<bool> {
        let Some(cid) = self.cids.get(self.next) else {
            if !self.done {
                self.done = true;
                if self.hasher.finalize().as_bytes() != self.manifest.content_hash.0 {
                    return Err(Error::ContentMismatch("content hash differs".into()));
                }
            }
            return Ok(false);
        };
        let data = self
            .store
            .get(cid)?
            .ok_or_else(|| Error::Missing(Box::new(*cid)))?;
        let expected = self.manifest.section_len(self.next as u64);
        if data.len() as u64 != expected {
            return Err(Error::ContentMismatch(format!(
                "section {} has {} bytes, expected {expected}",
                self.next,
                data.len()
            )));
        }
        self.hasher.update(&data);
        self.current = data;
        self.offset = 0;
        self.next += 1;
        Ok(true)
    }
}

impl<BS: Blockstore> Read for SectionReader<'_, BS> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        while self.offset == self.current.len() {
            if !self.load_next().map_err(io::Error::other)? {
                return Ok(0);
            }
        }
        let rest = self.current.get(self.offset..).unwrap_or_default();
        let n = rest.len().min(out.len());
        out[..n].copy_from_slice(&rest[..n]);
        self.offset += n;
        Ok(n)
    }
}
