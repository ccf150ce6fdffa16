//! Export: unpack an attachment into a directory, or write its single file,
//! refusing anything that would land outside the target.

use std::io::{self, Read, Write};
use std::path::{Component, Path, PathBuf};

use cid::Cid;
use flate2::read::GzDecoder;
use tau_ipld::Blockstore;

use crate::config::Config;
use crate::manifest::{Kind, Manifest};
use crate::sections::{section_cids, SectionReader};
use crate::undo::Created;
use crate::{Error, Result};

/// Bytes of a tar header: every archive entry takes at least one.
const TAR_BLOCK: u64 = 512;

/// What an export wrote.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Exported {
    /// Regular files written.
    pub files: u64,
    /// Directories created.
    pub directories: u64,
    /// Bytes of file content written.
    pub bytes: u64,
}

/// Unpacks the attachment `root` (all sections in `store`) under `target`,
/// creating it if needed. Entries whose path is absolute, contains `..`, or
/// that are links, devices or fifos are refused with a typed error; so is an
/// archive expanding beyond what its manifest declares
/// ([`Error::ExpandsBeyondDeclared`], see [`Config::expansion_ratio`]) or
/// beyond [`Config::max_expanded`], or holding more entries than
/// [`Config::max_entries`]. Nothing is written outside `target`; existing
/// files are not overwritten; a failed export removes the files and
/// directories it created (never anything that was there before).
pub fn export<BS: Blockstore>(
    store: &BS,
    root: &Cid,
    target: &Path,
    config: &Config,
) -> Result<Exported> {
    let manifest = Manifest::load(store, root, config)?;
    let cids = section_cids(store, &manifest, config)?;
    let limits = Limits::new(&manifest, config);
    Created::or_remove(|created| {
        created.dir_all(target)?;
        let reader = SectionReader::new(store, &manifest, cids);
        unpack(reader, target, &limits, created)
    })
}

/// Writes the single file of a file attachment into `directory` under its
/// original name and returns its path. The limits of [`export`] apply, and
/// a failed export removes what it created.
pub fn export_file<BS: Blockstore>(
    store: &BS,
    root: &Cid,
    directory: &Path,
    config: &Config,
) -> Result<PathBuf> {
    let manifest = Manifest::load(store, root, config)?;
    if manifest.kind != Kind::File {
        return Err(Error::NotASingleFile("a directory".into()));
    }
    let cids = section_cids(store, &manifest, config)?;
    let limits = Limits::new(&manifest, config);
    Created::or_remove(|created| {
        created.dir_all(directory)?;
        let reader = SectionReader::new(store, &manifest, cids);
        single_file(reader, directory, &limits, created)
    })
}

fn single_file<R: Read>(
    reader: R,
    directory: &Path,
    limits: &Limits,
    created: &mut Created,
) -> Result<PathBuf> {
    let mut archive = tar::Archive::new(Limited::new(GzDecoder::new(reader), *limits));
    let mut entries = archive.entries().map_err(archive_error)?;
    let mut entry = entries
        .next()
        .ok_or_else(|| Error::NotASingleFile("no entry".into()))?
        .map_err(archive_error)?;
    if entry.header().entry_type() != tar::EntryType::Regular {
        return Err(Error::NotASingleFile(format!(
            "a {:?} entry",
            entry.header().entry_type()
        )));
    }
    let path = safe_relative(&entry.path().map_err(archive_error)?)?;
    let name = match path.components().collect::<Vec<_>>().as_slice() {
        [Component::Normal(name)] => PathBuf::from(name),
        _ => {
            return Err(Error::NotASingleFile(format!(
                "an entry at {}",
                path.display()
            )))
        }
    };
    let out = directory.join(name);
    write_file(&mut entry, &out, created)?;
    // Anything after the file makes this not a single-file attachment, and
    // the reader checks the content hash when it reaches the end.
    if entries.next().is_some() {
        return Err(Error::NotASingleFile("more than one entry".into()));
    }
    drain(archive.into_inner())?;
    Ok(out)
}

/// How far one export may expand: bytes of the tar stream (headers,
/// content, padding) and entries.
#[derive(Debug, Clone, Copy)]
struct Limits {
    /// The manifest's declared (packed) size.
    declared: u64,
    ratio: u64,
    /// Most bytes of tar stream.
    bytes: u64,
    /// Whether `bytes` is the configured absolute cap (else declared × ratio).
    capped: bool,
    entries: u64,
}

impl Limits {
    fn new(manifest: &Manifest, config: &Config) -> Self {
        let declared = manifest.total_size;
        let ratio = config.expansion_ratio();
        let by_ratio = declared.saturating_mul(ratio);
        let (bytes, capped) = match config.max_expanded() {
            Some(cap) if cap < by_ratio => (cap, true),
            _ => (by_ratio, false),
        };
        Self {
            declared,
            ratio,
            bytes,
            capped,
            entries: config.max_entries().unwrap_or(bytes / TAR_BLOCK),
        }
    }

    /// The error for a stream going past `bytes`.
    fn exceeded(&self) -> Error {
        if self.capped {
            Error::ExpansionCap { cap: self.bytes }
        } else {
            Error::ExpandsBeyondDeclared {
                declared: self.declared,
                ratio: self.ratio,
                limit: self.bytes,
            }
        }
    }
}

/// The decompressed tar stream, failing once it passes the byte limit.
struct Limited<R> {
    inner: R,
    limits: Limits,
    read: u64,
}

impl<R> Limited<R> {
    fn new(inner: R, limits: Limits) -> Self {
        Self {
            inner,
            limits,
            read: 0,
        }
    }
}

impl<R: Read> Read for Limited<R> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        // Ask for one byte past the limit at most, to see it is passed.
        let room = self
            .limits
            .bytes
            .saturating_sub(self.read)
            .saturating_add(1);
        let want = out.len().min(usize::try_from(room).unwrap_or(usize::MAX));
        let n = self.inner.read(out.get_mut(..want).unwrap_or_default())?;
        self.read = self.read.saturating_add(n as u64);
        if self.read > self.limits.bytes {
            return Err(io::Error::other(self.limits.exceeded()));
        }
        Ok(n)
    }
}

/// Unpacks a gzip-compressed tar stream under `target` within `limits`.
fn unpack<R: Read>(
    reader: R,
    target: &Path,
    limits: &Limits,
    created: &mut Created,
) -> Result<Exported> {
    let mut archive = tar::Archive::new(Limited::new(GzDecoder::new(reader), *limits));
    let mut done = Exported::default();
    let mut count = 0u64;
    for entry in archive.entries().map_err(archive_error)? {
        let mut entry = entry.map_err(archive_error)?;
        count += 1;
        if count > limits.entries {
            return Err(Error::TooManyEntries {
                max: limits.entries,
            });
        }
        let raw = entry.path().map_err(archive_error)?.into_owned();
        let relative = safe_relative(&raw)?;
        let out = target.join(&relative);
        match entry.header().entry_type() {
            tar::EntryType::Directory => {
                created.dir_all(&out)?;
                done.directories += 1;
            }
            tar::EntryType::Regular | tar::EntryType::Continuous => {
                if let Some(parent) = out.parent() {
                    created.dir_all(parent)?;
                }
                done.bytes += write_file(&mut entry, &out, created)?;
                done.files += 1;
            }
            // Extended headers are handled by the tar reader itself.
            tar::EntryType::XHeader
            | tar::EntryType::XGlobalHeader
            | tar::EntryType::GNULongName => {}
            other => {
                return Err(Error::UnsupportedEntry {
                    path: raw,
                    kind: format!("{other:?}"),
                })
            }
        }
    }
    drain(archive.into_inner())?;
    Ok(done)
}

/// Reads the decompressed stream to its end (within the limit), then the
/// packed one: the gzip decoder stops at its trailer, and only a section
/// reader that reaches its end checks the content hash.
fn drain<R: Read>(mut stream: Limited<GzDecoder<R>>) -> Result<()> {
    io::copy(&mut stream, &mut io::sink()).map_err(archive_error)?;
    let mut packed = stream.inner.into_inner();
    io::copy(&mut packed, &mut io::sink()).map_err(archive_error)?;
    Ok(())
}

/// Copies an entry into a new file at `out` (the stream's limit bounds it).
fn write_file<R: Read>(entry: &mut R, out: &Path, created: &mut Created) -> Result<u64> {
    let mut file = created.file(out)?;
    let written = io::copy(entry, &mut file).map_err(archive_error)?;
    file.flush()
        .map_err(Error::io(format!("writing {}", out.display())))?;
    Ok(written)
}

/// The entry path as a relative path of normal components, or a traversal error.
fn safe_relative(path: &Path) -> Result<PathBuf> {
    let mut clean = PathBuf::new();
    for component in path.components() {
        match component {
            Component::Normal(part) => clean.push(part),
            Component::CurDir => {}
            Component::ParentDir | Component::RootDir | Component::Prefix(_) => {
                return Err(Error::PathTraversal {
                    path: path.to_path_buf(),
                })
            }
        }
    }
    if clean.as_os_str().is_empty() {
        return Err(Error::PathTraversal {
            path: path.to_path_buf(),
        });
    }
    Ok(clean)
}

fn archive_error(e: io::Error) -> Error {
    // A section or hash failure surfaces through the reader as an I/O error.
    match e.into_inner() {
        Some(inner) => match inner.downcast::<Error>() {
            Ok(ours) => *ours,
            Err(other) => Error::Archive(other.to_string()),
        },
        None => Error::Archive("unexpected end or I/O failure".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_plain_relative_paths_pass() {
        assert_eq!(
            safe_relative(Path::new("a/./b")).unwrap(),
            PathBuf::from("a/b")
        );
        for bad in ["../x", "a/../../x", "/etc/passwd", ".", ""] {
            assert!(
                matches!(
                    safe_relative(Path::new(bad)),
                    Err(Error::PathTraversal { .. })
                ),
                "{bad}"
            );
        }
    }
}
