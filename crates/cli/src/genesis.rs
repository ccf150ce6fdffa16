//! The genesis file (`genesis.json`), version 1:
//!
//! ```json
//! {
//!   "format": "tau-genesis",
//!   "version": 1,
//!   "network": "devnet",
//!   "root": "<CID text of the genesis state>",
//!   "blocks": [ { "cid": "<CID text>", "data": "<base64 of the block>" }, … ]
//! }
//! ```
//!
//! `network` names the parameter preset (`crate::network`); `blocks` are
//! every block of the genesis state (HAMT nodes, block 0, its transactions).
//! Reading checks every block against its CID and that the root is among
//! them, so a node trusts only the root it was given.

use std::path::Path;

use anyhow::{bail, Context, Result};
use base64::Engine as _;
use serde::{Deserialize, Serialize};
use tau_node::GenesisBlocks;

use crate::network::Network;

/// The `format` field's value.
pub const FORMAT: &str = "tau-genesis";

/// The version this binary writes and reads.
pub const VERSION: u32 = 1;

#[derive(Serialize, Deserialize)]
struct File {
    format: String,
    version: u32,
    network: String,
    root: String,
    blocks: Vec<tau_rpc::ProofBlock>,
}

/// Writes `genesis` of `network` to `path`.
pub fn write(path: &Path, network: Network, genesis: &GenesisBlocks) -> Result<()> {
    let file = File {
        format: FORMAT.into(),
        version: VERSION,
        network: network.name().into(),
        root: genesis.root.to_string(),
        blocks: genesis
            .blocks
            .iter()
            .map(|(cid, data)| tau_rpc::ProofBlock {
                cid: cid.to_string(),
                data: base64::engine::general_purpose::STANDARD.encode(data),
            })
            .collect(),
    };
    let json = serde_json::to_string_pretty(&file)?;
    std::fs::write(path, json).with_context(|| format!("writing {}", path.display()))
}

/// Reads and checks a genesis file.
pub fn read(path: &Path) -> Result<(Network, GenesisBlocks)> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let file: File = serde_json::from_str(&text)
        .with_context(|| format!("{} is not a genesis file", path.display()))?;
    if file.format != FORMAT || file.version != VERSION {
        bail!(
            "{}: format {:?} version {} (this binary reads {FORMAT:?} version {VERSION})",
            path.display(),
            file.format,
            file.version
        );
    }
    let network = Network::named(&file.network)?;
    let root = tau_rpc::parse_cid(&file.root)?;
    let proof = tau_rpc::decode_proof(&file.blocks)?;
    let blocks = proof.into_blocks();
    for (cid, data) in &blocks {
        tau_ipld::block::verify(cid, data)
            .with_context(|| format!("{}: block {cid} does not match its CID", path.display()))?;
    }
    if !blocks.iter().any(|(cid, _)| *cid == root) {
        bail!(
            "{}: the root {root} is not among its blocks",
            path.display()
        );
    }
    Ok((network, GenesisBlocks { root, blocks }))
}
