//! What an export created, so that a failed export can take it back: the
//! files and directories it made, never anything that was there before.

use std::fs::{self, File, OpenOptions};
use std::io;
use std::path::{Path, PathBuf};

use crate::{Error, Result};

/// Files and directories created by one export, in creation order.
#[derive(Debug, Default)]
pub(crate) struct Created {
    files: Vec<PathBuf>,
    directories: Vec<PathBuf>,
}

impl Created {
    /// Creates `path` and its missing ancestors, remembering each one made.
    /// Existing directories are used as they are.
    pub(crate) fn dir_all(&mut self, path: &Path) -> Result<()> {
        let missing: Vec<&Path> = path
            .ancestors()
            .take_while(|p| !p.as_os_str().is_empty() && !p.is_dir())
            .collect();
        for dir in missing.into_iter().rev() {
            match fs::create_dir(dir) {
                Ok(()) => self.directories.push(dir.to_path_buf()),
                // Made by someone else meanwhile: not ours to remove.
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists && dir.is_dir() => {}
                Err(e) => return Err(Error::io(format!("creating {}", dir.display()))(e)),
            }
        }
        Ok(())
    }

    /// Creates the new file `path` (an existing one is [`Error::Exists`]).
    pub(crate) fn file(&mut self, path: &Path) -> Result<File> {
        let file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(path)
            .map_err(|e| {
                if e.kind() == io::ErrorKind::AlreadyExists {
                    Error::Exists(path.to_path_buf())
                } else {
                    Error::io(format!("creating {}", path.display()))(e)
                }
            })?;
        self.files.push(path.to_path_buf());
        Ok(file)
    }

    /// Removes every file created, then every directory created (deepest
    /// first, and only if empty: a directory someone else filled meanwhile
    /// stays). Best effort: an export that failed reports its own error.
    pub(crate) fn remove(self) {
        for file in self.files.iter().rev() {
            let _ = fs::remove_file(file);
        }
        for dir in self.directories.iter().rev() {
            let _ = fs::remove_dir(dir);
        }
    }

    /// Runs `f`; if it fails, removes what was created.
    pub(crate) fn or_remove<T>(f: impl FnOnce(&mut Created) -> Result<T>) -> Result<T> {
        let mut created = Created::default();
        let result = f(&mut created);
        if result.is_err() {
            created.remove();
        }
        result
    }
}
