//! The API served from a running node ([`serve`]).

use std::net::SocketAddr;

use cid::Cid;
use jsonrpsee::core::{async_trait, RpcResult};
use jsonrpsee::server::{BatchRequestConfig, Server, ServerConfig, ServerHandle};
use jsonrpsee::types::ErrorObjectOwned;
use tau_keys::Address;
use tau_node::{ChainPoint, NodeHandle};
use tau_state::mempool::Admission;
use tau_state::{OptCode, SignedTransaction, StateKey};

use crate::api::{
    AccountProof, AttachmentExported, AttachmentGot, AttachmentPut, AttachmentStatus, BlockId,
    BlockInfo, Head, HistoryEntry, Point, Status, Submitted, TauApiServer,
};
use crate::proof::{encode_proof, parse_cid};
use crate::{Error, Result};

/// Blocks back from the head `tau_block` walks at most.
pub const MAX_BLOCK_DEPTH: u64 = 10_000;

/// Entries `tau_history` returns at most.
pub const MAX_HISTORY: u32 = 100;

/// Bytes of one request the server reads at most (a transaction of the
/// largest size fits many times).
pub const MAX_REQUEST_BYTES: u32 = 1 << 20;

/// Download rounds `tau_attachGet` runs at most.
pub const MAX_ATTACH_ROUNDS: u32 = 50;

/// Connections the server holds at once.
pub const MAX_CONNECTIONS: u32 = 64;

/// Calls in one JSON-RPC batch, at most (jsonrpsee's default is no limit:
/// one request body could carry thousands of block walks).
pub const MAX_BATCH: u32 = 16;

/// Peers a `tau_attachGet` call may name (each is dialed).
pub const MAX_ATTACH_PEERS: usize = 32;

/// Serves the API of `node` on `addr` (127.0.0.1 unless the operator
/// chooses otherwise: the API moves no funds by itself, but it is not made
/// for strangers). Stops when the returned handle is stopped or dropped.
pub async fn serve(node: NodeHandle, addr: SocketAddr) -> Result<(SocketAddr, ServerHandle)> {
    let config = ServerConfig::builder()
        .max_request_body_size(MAX_REQUEST_BYTES)
        .max_connections(MAX_CONNECTIONS)
        .set_batch_request_config(BatchRequestConfig::Limit(MAX_BATCH))
        .build();
    let server = Server::builder()
        .set_config(config)
        .build(addr)
        .await
        .map_err(|e| Error::Serve(format!("binding {addr}: {e}")))?;
    let bound = server
        .local_addr()
        .map_err(|e| Error::Serve(e.to_string()))?;
    let handle = server.start(Api { node }.into_rpc());
    tracing::info!(%bound, "JSON-RPC API listening");
    Ok((bound, handle))
}

struct Api {
    node: NodeHandle,
}

/// JSON-RPC error codes.
const INVALID_PARAMS: i32 = -32602;
const SERVER_ERROR: i32 = -32000;

fn invalid(e: impl std::fmt::Display) -> ErrorObjectOwned {
    ErrorObjectOwned::owned(INVALID_PARAMS, e.to_string(), None::<()>)
}

fn failed(e: impl std::fmt::Display) -> ErrorObjectOwned {
    ErrorObjectOwned::owned(SERVER_ERROR, e.to_string(), None::<()>)
}

fn point(p: ChainPoint) -> Point {
    Point {
        root: p.root.to_string(),
        number: p.number,
    }
}

fn parse_address(text: &str) -> RpcResult<Address> {
    text.parse()
        .map_err(|e| invalid(format!("address {text:?}: {e}")))
}

impl Api {
    fn head_info(&self) -> Head {
        Head {
            head: point(self.node.head()),
            safety: self.node.safety().map(point),
        }
    }

    /// A state named by `at`: `"safety"`, `"head"` or a root on the head's
    /// chain within [`MAX_BLOCK_DEPTH`] that the node still holds.
    async fn resolve(&self, at: &str) -> RpcResult<ChainPoint> {
        let head = self.node.head();
        let safety = self.node.safety();
        match at {
            "head" => Ok(head),
            "safety" => safety.ok_or_else(|| failed("no safety point yet")),
            root => {
                let root = parse_cid(root).map_err(invalid)?;
                if let Some(known) = [Some(head), safety]
                    .into_iter()
                    .flatten()
                    .find(|p| p.root == root)
                {
                    return Ok(known);
                }
                let found = self
                    .recent(head.root, move |r, _| *r == root)
                    .await?
                    .map(|(root, number)| ChainPoint { root, number });
                found.ok_or_else(|| {
                    invalid(format!(
                        "{root} is not a state of the head's chain the node still holds"
                    ))
                })
            }
        }
    }

    /// The first state within [`MAX_BLOCK_DEPTH`] back from `head` that
    /// `wanted` picks, walking only what the store still holds (off the
    /// async workers).
    async fn recent(
        &self,
        head: Cid,
        wanted: impl Fn(&Cid, &tau_state::Block) -> bool + Send + 'static,
    ) -> RpcResult<Option<(Cid, u64)>> {
        let chain = self.node.chain();
        tokio::task::spawn_blocking(move || {
            chain
                .walk_available(&head, MAX_BLOCK_DEPTH as usize, |root, block| {
                    if wanted(&root, &block) {
                        std::ops::ControlFlow::Break((root, block.number()))
                    } else {
                        std::ops::ControlFlow::Continue(())
                    }
                })
                .map_err(failed)
        })
        .await
        .map_err(failed)?
    }
}

#[async_trait]
impl TauApiServer for Api {
    async fn status(&self) -> RpcResult<Status> {
        let params = self.node.chain().params().clone();
        Ok(Status {
            peer_id: self.node.peer_id().to_string(),
            address: self.node.address().to_string(),
            chain_id: params.chain_id.to_string(),
            version: params.version,
            min_fee: params.min_fee,
            head: self.head_info(),
            peers: self.node.peers().len(),
            mempool: self.node.mempool_size(),
            pending: self.node.pending_transactions(),
        })
    }

    async fn head(&self) -> RpcResult<Head> {
        Ok(self.head_info())
    }

    async fn account(&self, address: String, at: Option<String>) -> RpcResult<AccountProof> {
        let account = parse_address(&address)?;
        let at = self.resolve(at.as_deref().unwrap_or("safety")).await?;
        let chain = self.node.chain();
        let balance = chain
            .balance(&at.root, &account)
            .map_err(failed)?
            .unwrap_or(0);
        let nonce = chain.nonce(&at.root, &account).map_err(failed)?;
        let prove = |key| chain.prove(&at.root, &key).map(|p| encode_proof(&p));
        Ok(AccountProof {
            address,
            at: point(at),
            balance,
            nonce,
            balance_proof: prove(StateKey::Balance(account)).map_err(failed)?,
            nonce_proof: prove(StateKey::Nonce(account)).map_err(failed)?,
        })
    }

    async fn block(&self, id: BlockId) -> RpcResult<BlockInfo> {
        let at = match id {
            BlockId::Named(name) => self.resolve(&name).await?,
            BlockId::Number(number) => {
                let head = self.node.head();
                if number > head.number || head.number - number >= MAX_BLOCK_DEPTH {
                    return Err(invalid(format!(
                        "block {number} is not within the last {MAX_BLOCK_DEPTH} of the head ({})",
                        head.number
                    )));
                }
                let (root, _) = self
                    .recent(head.root, move |_, b| b.number() == number)
                    .await?
                    .ok_or_else(|| failed(format!("block {number} is no longer held")))?;
                ChainPoint { root, number }
            }
        };
        let chain = self.node.chain();
        let block = chain.block(&at.root).map_err(failed)?;
        let transactions = chain
            .transactions(&block)
            .map_err(failed)?
            .iter()
            .map(|t| t.encode().map(hex::encode))
            .collect::<tau_state::Result<Vec<_>>>()
            .map_err(failed)?;
        Ok(BlockInfo {
            at: point(at),
            previous: block.unsigned.previous.map(|c| c.to_string()),
            timestamp: block.unsigned.timestamp,
            miner: block.unsigned.miner.to_string(),
            transactions,
        })
    }

    async fn history(&self, address: String, limit: Option<u32>) -> RpcResult<Vec<HistoryEntry>> {
        let account = parse_address(&address)?;
        let limit = u64::from(limit.unwrap_or(MAX_HISTORY).min(MAX_HISTORY));
        let chain = self.node.chain();
        let head = self.node.head().root;
        let last = chain.nonce(&head, &account).map_err(failed)?;
        let mut out = Vec::new();
        for nonce in (1..=last).rev().take(limit as usize) {
            let Some(output) = chain.tx_output(&head, &account, nonce).map_err(failed)? else {
                continue;
            };
            out.push(HistoryEntry {
                nonce,
                kind: match output.opt_code {
                    OptCode::Coinbase => "coinbase",
                    OptCode::Wiring => "wiring",
                    OptCode::Message => "message",
                }
                .into(),
                block_number: output.block_number,
                block_time: output.block_time,
                amount: output.amount,
                fee: output.fee,
                counterparty: output.counterparty.map(|a| a.to_string()),
            });
        }
        Ok(out)
    }

    async fn send_transaction(&self, transaction: String) -> RpcResult<Submitted> {
        let bytes = hex::decode(transaction.trim_start_matches("0x")).map_err(invalid)?;
        let signed = SignedTransaction::decode(&bytes).map_err(invalid)?;
        let id = hex::encode(signed.id().map_err(invalid)?.as_bytes());
        let admission = self.node.submit_transaction(signed).await.map_err(failed)?;
        let (admitted, reason) = match admission {
            Admission::Admitted { .. } | Admission::Replaced => (true, None),
            Admission::Refused(why) => (false, Some(why.to_string())),
        };
        Ok(Submitted {
            id,
            admitted,
            reason,
        })
    }

    async fn attachment(&self, root: String) -> RpcResult<AttachmentStatus> {
        let cid: Cid = parse_cid(&root).map_err(invalid)?;
        let chain = self.node.chain();
        let stored = tau_ipld::Blockstore::has(chain.store(), &cid).map_err(failed)?;
        let pinned = self.node.pinned().map_err(failed)?.contains(&cid);
        Ok(AttachmentStatus {
            root,
            stored,
            pinned,
        })
    }

    async fn attachments(&self) -> RpcResult<Vec<String>> {
        Ok(self
            .node
            .pinned()
            .map_err(failed)?
            .iter()
            .map(|c| c.to_string())
            .collect())
    }

    async fn attach_put(&self, path: String, publish: Option<String>) -> RpcResult<AttachmentPut> {
        let uploaded = self
            .node
            .attach_put(std::path::Path::new(&path))
            .await
            .map_err(failed)?;
        let ticket = match publish {
            Some(text) => {
                let attachment = tau_state::AttachmentRef {
                    root: uploaded.root,
                    size: uploaded.size,
                };
                let fee = self.node.chain().params().min_fee;
                Some(
                    self.node
                        .message(text, Some(attachment), fee)
                        .await
                        .map_err(failed)?,
                )
            }
            None => None,
        };
        Ok(AttachmentPut {
            root: uploaded.root.to_string(),
            size: uploaded.size,
            sections: uploaded.manifest.section_count,
            ticket,
        })
    }

    async fn attach_get(
        &self,
        root: String,
        peers: Option<Vec<String>>,
        rounds: Option<u32>,
    ) -> RpcResult<AttachmentGot> {
        let cid = parse_cid(&root).map_err(invalid)?;
        let rounds = rounds.unwrap_or(5).min(MAX_ATTACH_ROUNDS);
        let sources = match peers.filter(|p| !p.is_empty()) {
            Some(peers) if peers.len() > MAX_ATTACH_PEERS => {
                return Err(invalid(format!(
                    "{} peers named, at most {MAX_ATTACH_PEERS}",
                    peers.len()
                )))
            }
            Some(peers) => {
                let mut ids = Vec::with_capacity(peers.len());
                for p in &peers {
                    let id = p
                        .parse::<tau_node::PeerId>()
                        .map_err(|e| invalid(format!("peer id {p:?}: {e}")))?;
                    if !ids.contains(&id) {
                        ids.push(id);
                    }
                }
                ids
            }
            None => self.node.attachment_seeders(cid).await.map_err(failed)?,
        };
        if sources.is_empty() {
            return Err(failed(tau_node::Error::NoSeeders(Box::new(cid))));
        }
        let report = self
            .node
            .attach_get(cid, &sources, rounds)
            .await
            .map_err(failed)?;
        Ok(AttachmentGot {
            root,
            sections: report.manifest.section_count,
            fetched: report.sections_fetched,
            sources: sources.iter().map(|p| p.to_string()).collect(),
        })
    }

    async fn attach_export(&self, root: String, dir: String) -> RpcResult<AttachmentExported> {
        let cid = parse_cid(&root).map_err(invalid)?;
        let exported = self
            .node
            .attach_export(cid, std::path::Path::new(&dir))
            .await
            .map_err(failed)?;
        Ok(AttachmentExported {
            files: exported.files,
            directories: exported.directories,
            bytes: exported.bytes,
        })
    }
}
