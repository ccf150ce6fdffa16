//! Network presets: the chain and vote parameters a `network` name in a
//! config or genesis file stands for, and the devnet's public test keys and
//! built-in genesis.

use anyhow::{bail, Context, Result};
use tau_keys::Keypair;
use tau_node::GenesisBlocks;
use tau_state::Genesis;

/// A network's parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Network {
    /// A local test network: 2 s blocks, 3 confirmations, a 32-block
    /// mutable range; its genesis funds [`DEVNET_KEYS`] public test keys.
    Devnet,
    /// The production parameters (300 s blocks); no genesis is published
    /// yet, so it needs a genesis file.
    Mainnet,
}

/// Keys the devnet genesis funds.
pub const DEVNET_KEYS: usize = 5;

/// What each devnet key holds at genesis.
pub const DEVNET_BALANCE: u64 = 1_000_000;

/// The devnet genesis time (2026-01-01 00:00:00 UTC), the same everywhere.
pub const DEVNET_GENESIS_TIME: u64 = 1_767_225_600;

impl Network {
    /// The preset called `name`.
    pub fn named(name: &str) -> Result<Self> {
        match name {
            "devnet" => Ok(Self::Devnet),
            "mainnet" => Ok(Self::Mainnet),
            other => bail!("unknown network {other:?} (known: devnet, mainnet)"),
        }
    }

    /// Its name in config and genesis files.
    pub fn name(self) -> &'static str {
        match self {
            Self::Devnet => "devnet",
            Self::Mainnet => "mainnet",
        }
    }

    /// Chain and vote parameters.
    pub fn params(self) -> (tau_state::Params, tau_cbc::Params) {
        match self {
            Self::Devnet => tau_node::local_devnet(DEVNET_KEYS),
            Self::Mainnet => (tau_state::Params::mainnet(), tau_cbc::Params::mainnet()),
        }
    }

    /// The built-in genesis, if the network has one.
    pub fn genesis(self) -> Result<GenesisBlocks> {
        match self {
            Self::Devnet => {
                let keys = (0..DEVNET_KEYS)
                    .map(devnet_key)
                    .collect::<Result<Vec<_>>>()?;
                let genesis = keys.iter().fold(Genesis::new(DEVNET_GENESIS_TIME), |g, k| {
                    g.allocate(k.address(), DEVNET_BALANCE)
                });
                let (chain, _) = self.params();
                let creator = keys.first().context("the devnet has keys")?;
                Ok(GenesisBlocks::new(&genesis, creator, &chain)?)
            }
            Self::Mainnet => bail!("mainnet has no published genesis yet: pass --genesis FILE"),
        }
    }
}

/// Devnet test key `index`: BLAKE2b-256 of `"tau devnet key "` and the
/// index as 8 little-endian bytes. Public knowledge: for tests only.
pub fn devnet_key(index: usize) -> Result<Keypair> {
    if index >= DEVNET_KEYS {
        bail!("devnet keys are 0..{DEVNET_KEYS}, not {index}");
    }
    let secret = tau_keys::blake2b_256_concat(&[b"tau devnet key ", &(index as u64).to_le_bytes()]);
    Ok(Keypair::from_bytes(&secret)?)
}
