//! `tau attach`: attachments through the node's API. Paths are read and
//! written by the node, on its machine; they are made absolute here.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use clap::Subcommand;
use tau_rpc::api::TauApiClient;

#[derive(Subcommand)]
pub enum AttachCommand {
    /// Pack and pin a file or directory; prints its root, which a message
    /// can attach.
    Put {
        /// The file or directory.
        path: PathBuf,
        /// Also publish it: the node sends a message with this text attaching
        /// it, so the chain names the node as its host.
        #[arg(long)]
        publish: Option<String>,
        /// The node's API.
        #[arg(long, default_value = "http://127.0.0.1:8645", env = "TAU_RPC")]
        rpc: String,
    },
    /// Download an attachment (from the given peers, else from the peers
    /// the chain names as holding it) and optionally unpack it.
    Get {
        /// The attachment's root.
        root: String,
        /// A peer id to download from (repeatable).
        #[arg(long)]
        peer: Vec<String>,
        /// Unpack into this directory.
        #[arg(long)]
        out: Option<PathBuf>,
        /// Download rounds before giving up.
        #[arg(long, default_value_t = 5)]
        rounds: u32,
        /// The node's API.
        #[arg(long, default_value = "http://127.0.0.1:8645", env = "TAU_RPC")]
        rpc: String,
    },
    /// The pinned attachments.
    Ls {
        /// The node's API.
        #[arg(long, default_value = "http://127.0.0.1:8645", env = "TAU_RPC")]
        rpc: String,
    },
}

fn absolute(path: &Path) -> Result<String> {
    let path =
        std::path::absolute(path).with_context(|| format!("resolving {}", path.display()))?;
    path.to_str()
        .map(str::to_string)
        .with_context(|| format!("{} is not valid UTF-8", path.display()))
}

/// How long an attachment command waits for the node (packing a large
/// directory or a download with retries takes long).
const ATTACH_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(6 * 3600);

pub async fn run(command: AttachCommand) -> Result<()> {
    match command {
        AttachCommand::Put { path, publish, rpc } => {
            let api = tau_rpc::client_with_timeout(&rpc, ATTACH_TIMEOUT)?;
            let put = api
                .attach_put(absolute(&path)?, publish)
                .await
                .with_context(|| format!("asking {rpc}"))?;
            println!("root={}", put.root);
            println!("size={}", put.size);
            println!("sections={}", put.sections);
            if let Some(ticket) = put.ticket {
                println!("published_ticket={ticket}");
            }
        }
        AttachCommand::Get {
            root,
            peer,
            out,
            rounds,
            rpc,
        } => {
            let api = tau_rpc::client_with_timeout(&rpc, ATTACH_TIMEOUT)?;
            let peers = (!peer.is_empty()).then_some(peer);
            let got = api
                .attach_get(root.clone(), peers, Some(rounds))
                .await
                .with_context(|| format!("asking {rpc}"))?;
            println!("root={}", got.root);
            println!("sections={}", got.sections);
            println!("fetched={}", got.fetched);
            println!("sources={}", got.sources.join(","));
            if let Some(out) = out {
                let exported = api
                    .attach_export(root, absolute(&out)?)
                    .await
                    .with_context(|| format!("asking {rpc}"))?;
                println!("files={}", exported.files);
                println!("bytes={}", exported.bytes);
            }
        }
        AttachCommand::Ls { rpc } => {
            let api = tau_rpc::client_with_timeout(&rpc, ATTACH_TIMEOUT)?;
            for root in api
                .attachments()
                .await
                .with_context(|| format!("asking {rpc}"))?
            {
                println!("root={root}");
            }
        }
    }
    Ok(())
}
