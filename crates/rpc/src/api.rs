//! The API's methods ([`TauApi`]) and the JSON objects they exchange.
//!
//! Every method is in the `tau_` namespace. CIDs travel as their text form
//! (base32 CIDv1), addresses as `T…` text, binary data (proof blocks,
//! transactions) as hex or base64 as each field says.

use jsonrpsee::core::RpcResult;
use jsonrpsee::proc_macros::rpc;
use serde::{Deserialize, Serialize};

use crate::proof::ProofBlock;

/// A state on the chain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Point {
    /// The state root (CID text).
    pub root: String,
    /// Its block number.
    pub number: u64,
}

/// Head and safety point.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Head {
    /// The fork-choice head.
    pub head: Point,
    /// The safety point, once one was reached.
    pub safety: Option<Point>,
}

/// What `tau_status` reports.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Status {
    /// The node's libp2p peer id.
    pub peer_id: String,
    /// The node's TAU address.
    pub address: String,
    /// The chain id (signed into every transaction).
    pub chain_id: String,
    /// The transaction and block version accepted.
    pub version: u64,
    /// The smallest fee a transaction may carry.
    pub min_fee: u64,
    /// Head and safety point.
    #[serde(flatten)]
    pub head: Head,
    /// Peers known.
    pub peers: usize,
    /// Transactions in the mempool.
    pub mempool: usize,
    /// The node's own transactions not yet under the safety point.
    pub pending: usize,
}

/// An account at a state, with the Merkle proofs of its two entries (see
/// [`AccountProof::verify`](crate::AccountProof)).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountProof {
    /// The account (`T…`).
    pub address: String,
    /// The state the proofs are against.
    pub at: Point,
    /// The balance claimed (0: no account).
    pub balance: u64,
    /// The nonce claimed: transactions sent, blocks mined.
    pub nonce: u64,
    /// The HAMT nodes from the root to the `<address>Balance` entry (or to
    /// where it would be).
    pub balance_proof: Vec<ProofBlock>,
    /// The same for `<address>Nonce`.
    pub nonce_proof: Vec<ProofBlock>,
}

/// Which block `tau_block` returns.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum BlockId {
    /// By number, on the head's chain.
    Number(u64),
    /// `"head"`, `"safety"`, or a state root's CID text.
    Named(String),
}

/// A block as `tau_block` returns it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BlockInfo {
    /// The state this block made.
    pub at: Point,
    /// The previous state root (none for genesis).
    pub previous: Option<String>,
    /// Seconds since the Unix epoch.
    pub timestamp: u64,
    /// The miner's address.
    pub miner: String,
    /// The transactions, each as its canonical DAG-CBOR, hex.
    pub transactions: Vec<String>,
}

/// One transaction of an account, as its state records it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HistoryEntry {
    /// The sender's nonce of it.
    pub nonce: u64,
    /// What it was (`wiring`, `message`, `mining`, …).
    pub kind: String,
    /// The block that included it.
    pub block_number: u64,
    /// That block's time.
    pub block_time: u64,
    /// Amount moved.
    pub amount: u64,
    /// Fee paid.
    pub fee: u64,
    /// The other party, if any.
    pub counterparty: Option<String>,
}

/// What `tau_sendTransaction` did with a transaction.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Submitted {
    /// The transaction id (hex).
    pub id: String,
    /// Whether the mempool took it.
    pub admitted: bool,
    /// Why not, if not.
    pub reason: Option<String>,
}

/// What the node holds of an attachment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AttachmentStatus {
    /// The attachment's root (CID text).
    pub root: String,
    /// Its root block is in the store.
    pub stored: bool,
    /// It is pinned (kept through garbage collections, served).
    pub pinned: bool,
}

/// An attachment the node packed (`tau_attachPut`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AttachmentPut {
    /// Its root (CID text): what a message attaches.
    pub root: String,
    /// Its packed size in bytes.
    pub size: u64,
    /// Sections it was cut into.
    pub sections: u64,
    /// The ticket of the message that published it, if one was sent.
    pub ticket: Option<u64>,
}

/// A download the node made (`tau_attachGet`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AttachmentGot {
    /// The attachment's root.
    pub root: String,
    /// Sections it has.
    pub sections: u64,
    /// Sections fetched now (the others were already stored).
    pub fetched: u64,
    /// The peers asked (given, or found on the chain).
    pub sources: Vec<String>,
}

/// What `tau_attachExport` wrote.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AttachmentExported {
    /// Files written.
    pub files: u64,
    /// Directories created.
    pub directories: u64,
    /// Bytes written.
    pub bytes: u64,
}

/// The node's JSON-RPC 2.0 API.
#[rpc(server, client, namespace = "tau")]
pub trait TauApi {
    /// Identity, chain, head, safety point and counts.
    #[method(name = "status")]
    async fn status(&self) -> RpcResult<Status>;

    /// Head and safety point.
    #[method(name = "head")]
    async fn head(&self) -> RpcResult<Head>;

    /// An account at `at` (`"safety"` by default, `"head"`, or a state root
    /// of the last blocks), with Merkle proofs.
    #[method(name = "account")]
    async fn account(&self, address: String, at: Option<String>) -> RpcResult<AccountProof>;

    /// A block on the head's chain (the last 10,000 at most).
    #[method(name = "block")]
    async fn block(&self, id: BlockId) -> RpcResult<BlockInfo>;

    /// An account's last transactions at the head (100 at most), newest first.
    #[method(name = "history")]
    async fn history(&self, address: String, limit: Option<u32>) -> RpcResult<Vec<HistoryEntry>>;

    /// Offers a signed transaction (canonical DAG-CBOR, hex) to the mempool.
    #[method(name = "sendTransaction")]
    async fn send_transaction(&self, transaction: String) -> RpcResult<Submitted>;

    /// Whether the node holds and pins an attachment.
    #[method(name = "attachment")]
    async fn attachment(&self, root: String) -> RpcResult<AttachmentStatus>;

    /// The pinned attachments (and other pinned roots).
    #[method(name = "attachments")]
    async fn attachments(&self) -> RpcResult<Vec<String>>;

    /// Packs the file or directory at `path` **on the node's machine** into
    /// an attachment, stores and pins it; with `publish`, the node also
    /// sends a message with that text attaching it (signed by the node's
    /// key, so the chain names this node as its host).
    #[method(name = "attachPut")]
    async fn attach_put(&self, path: String, publish: Option<String>) -> RpcResult<AttachmentPut>;

    /// Downloads an attachment from `peers` (peer ids), or, without peers,
    /// from the peers the chain names as holding it; pins it.
    #[method(name = "attachGet")]
    async fn attach_get(
        &self,
        root: String,
        peers: Option<Vec<String>>,
        rounds: Option<u32>,
    ) -> RpcResult<AttachmentGot>;

    /// Unpacks a stored attachment into `dir` **on the node's machine**.
    #[method(name = "attachExport")]
    async fn attach_export(&self, root: String, dir: String) -> RpcResult<AttachmentExported>;
}
