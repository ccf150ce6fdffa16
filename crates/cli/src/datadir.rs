//! A node's data directory:
//!
//! | path | holds |
//! |---|---|
//! | `config.toml` | the node's settings ([`Config`]) |
//! | `node.key` | the node key, encrypted (`tau_keys::keystore`): its TAU address, mining key and libp2p identity |
//! | `genesis.json` | the network's genesis (`crate::genesis`) |
//! | `store/` | blocks, head, safety point, peers (redb) |

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use serde::{Deserialize, Serialize};
use tau_keys::keystore::{KdfParams, Keystore};
use tau_keys::Keypair;

/// The settings in `config.toml`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// The parameter preset (must match the genesis file's).
    pub network: String,
    /// libp2p listen addresses.
    pub listen: Vec<String>,
    /// Peers dialed at start (multiaddrs ending in `/p2p/<peer id>`).
    #[serde(default)]
    pub bootstrap: Vec<String>,
    /// The JSON-RPC API's address (127.0.0.1 unless you mean otherwise).
    pub rpc: SocketAddr,
    /// The Prometheus endpoint's address, if any.
    #[serde(default)]
    pub metrics: Option<SocketAddr>,
    /// Whether the node mines (process A); `false`: a light node.
    #[serde(default = "yes")]
    pub mining: bool,
    /// Senders (`T…`) whose attachments the node fetches in the background.
    #[serde(default)]
    pub follow: Vec<String>,
    /// Bytes of followed attachments stored at most.
    #[serde(default)]
    pub follow_budget: u64,
}

fn yes() -> bool {
    true
}

/// Default JSON-RPC port.
pub const DEFAULT_RPC: &str = "127.0.0.1:8645";

/// The paths of a data directory.
#[derive(Debug, Clone)]
pub struct DataDir {
    root: PathBuf,
}

impl DataDir {
    /// The directory at `root`.
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self { root: root.into() }
    }

    /// Its path.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// `config.toml`.
    pub fn config_path(&self) -> PathBuf {
        self.root.join("config.toml")
    }

    /// `node.key`.
    pub fn key_path(&self) -> PathBuf {
        self.root.join("node.key")
    }

    /// `genesis.json`.
    pub fn genesis_path(&self) -> PathBuf {
        self.root.join("genesis.json")
    }

    /// `store/`.
    pub fn store_path(&self) -> PathBuf {
        self.root.join("store")
    }

    /// Reads `config.toml`.
    pub fn config(&self) -> Result<Config> {
        let path = self.config_path();
        let text = std::fs::read_to_string(&path).with_context(|| {
            format!(
                "reading {} (run `tau init --data-dir {}` first)",
                path.display(),
                self.root.display()
            )
        })?;
        toml::from_str(&text).with_context(|| format!("{} is not a valid config", path.display()))
    }

    /// Writes `config.toml`.
    pub fn write_config(&self, config: &Config) -> Result<()> {
        let text = toml::to_string_pretty(config)?;
        write_new_or_replace(&self.config_path(), text.as_bytes())
    }

    /// Opens the node key with `passphrase`.
    pub fn key(&self, passphrase: &[u8]) -> Result<Keypair> {
        open_key(&self.key_path(), passphrase)
    }
}

/// Writes `key` encrypted with `passphrase` to `path`, which must not
/// exist (a key is never overwritten).
pub fn write_key(path: &Path, key: &Keypair, passphrase: &[u8]) -> Result<()> {
    if path.exists() {
        bail!("{} exists: a key is never overwritten", path.display());
    }
    let stored = Keystore::encrypt(key, passphrase, KdfParams::default())?;
    write_new_or_replace(path, stored.to_json().as_bytes())
}

/// Opens the encrypted key at `path`.
pub fn open_key(path: &Path, passphrase: &[u8]) -> Result<Keypair> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let stored = Keystore::from_json(&text).with_context(|| path.display().to_string())?;
    stored
        .decrypt(passphrase)
        .with_context(|| format!("opening {}", path.display()))
}

/// The address stored beside an encrypted key (no passphrase needed).
pub fn key_address(path: &Path) -> Result<tau_keys::Address> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let stored = Keystore::from_json(&text).with_context(|| path.display().to_string())?;
    Ok(stored.address.parse()?)
}

/// Writes through a temporary file, synced, and a rename, then syncs the
/// directory: a crash leaves the old file or the new one, never half of one,
/// and a key whose address was printed is on disk. Files are created
/// readable by their owner only (on Unix).
fn write_new_or_replace(path: &Path, bytes: &[u8]) -> Result<()> {
    use std::io::Write as _;
    let tmp = path.with_extension("tmp");
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options
        .open(&tmp)
        .with_context(|| format!("writing {}", tmp.display()))?;
    file.write_all(bytes)
        .and_then(|()| file.sync_all())
        .with_context(|| format!("writing {}", tmp.display()))?;
    drop(file);
    std::fs::rename(&tmp, path).with_context(|| format!("writing {}", path.display()))?;
    #[cfg(unix)]
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::File::open(dir)
            .and_then(|d| d.sync_all())
            .with_context(|| format!("syncing {}", dir.display()))?;
    }
    Ok(())
}
