//! Export: unpack an attachment into a directory, or write its single file,
//! refusing anything that would land outside the target.

use std::fs;
use std::io::{self, Read, Write};
use std::path::{Component, Path, PathBuf};

use cid::Cid;
use flate2::read::GzDecoder;
use tau_hamt::Blockstore;

use crate::config::Config;
use crate::manifest::{Kind, Manifest};
use crate::sections::{section_cids, SectionReader};
use crate::{Error, Result};

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
/// archive expanding beyond [`Config::max_expanded`]. Nothing is written
/// outside `target`; existing files are not overwritten.
pub fn export<BS: Blockstore>(
    store: &BS,
    root: &Cid,
    target: &Path,
    config: &Config,
) -> Result<Exported> {
    let manifest = Manifest::load(store, root, config)?;
    let cids = section_cids(store, &manifest, config)?;
    fs::create_dir_all(target).map_err(Error::io(format!("creating {}", target.display())))?;
    let reader = SectionReader::new(store, &manifest, cids);
    unpack(reader, target, config)
}

/// Writes the single file of a file attachment into `directory` under its
/// original name and returns its path.
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
    fs::create_dir_all(directory)
        .map_err(Error::io(format!("creating {}", directory.display())))?;
    let reader = SectionReader::new(store, &manifest, cids);
    let mut archive = tar::Archive::new(GzDecoder::new(reader));
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
    let mut budget = config.max_expanded();
    write_file(&mut entry, &out, &mut budget, config.max_expanded())?;
    // Anything after the file makes this not a single-file attachment, and
    // the reader checks the content hash when it reaches the end.
    if entries.next().is_some() {
        let _ = fs::remove_file(&out);
        return Err(Error::NotASingleFile("more than one entry".into()));
    }
    drain(archive.into_inner())?;
    Ok(out)
}

/// Unpacks a gzip-compressed tar stream under `target`.
pub(crate) fn unpack<R: Read>(reader: R, target: &Path, config: &Config) -> Result<Exported> {
    let mut archive = tar::Archive::new(GzDecoder::new(reader));
    let mut done = Exported::default();
    let mut budget = config.max_expanded();
    let mut count = 0u64;
    for entry in archive.entries().map_err(archive_error)? {
        let mut entry = entry.map_err(archive_error)?;
        count += 1;
        if count > config.max_entries() {
            return Err(Error::ExpansionCap {
                cap: config.max_expanded(),
            });
        }
        let raw = entry.path().map_err(archive_error)?.into_owned();
        let relative = safe_relative(&raw)?;
        let out = target.join(&relative);
        match entry.header().entry_type() {
            tar::EntryType::Directory => {
                fs::create_dir_all(&out)
                    .map_err(Error::io(format!("creating {}", out.display())))?;
                done.directories += 1;
            }
            tar::EntryType::Regular | tar::EntryType::Continuous => {
                if let Some(parent) = out.parent() {
                    fs::create_dir_all(parent)
                        .map_err(Error::io(format!("creating {}", parent.display())))?;
                }
                done.bytes += write_file(&mut entry, &out, &mut budget, config.max_expanded())?;
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

/// Reads a stream to its end (so a section reader checks the content hash).
fn drain<R: Read>(mut reader: R) -> Result<()> {
    io::copy(&mut reader, &mut io::sink()).map_err(archive_error)?;
    Ok(())
}

/// Copies an entry into a new file at `out`, charging `budget`.
fn write_file<R: Read>(entry: &mut R, out: &Path, budget: &mut u64, cap: u64) -> Result<u64> {
    let mut file = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(out)
        .map_err(|e| {
            if e.kind() == io::ErrorKind::AlreadyExists {
                Error::Exists(out.to_path_buf())
            } else {
                Error::io(format!("creating {}", out.display()))(e)
            }
        })?;
    let mut limited = entry.take(budget.saturating_add(1));
    let written = io::copy(&mut limited, &mut file).map_err(archive_error)?;
    if written > *budget {
        drop(file);
        let _ = fs::remove_file(out);
        return Err(Error::ExpansionCap { cap });
    }
    *budget -= written;
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
