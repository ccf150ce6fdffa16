//! # tau-rpc
//!
//! The JSON-RPC 2.0 API of a TAU node, for wallets and tools, and the
//! node's Prometheus metrics.
//!
//! * [`serve`] runs the API of a [`NodeHandle`](tau_node::NodeHandle) on an
//!   address (127.0.0.1 by default in the `tau` binary): `tau_status`,
//!   `tau_head`, `tau_account` (balance and nonce **with Merkle proofs**),
//!   `tau_block`, `tau_history`, `tau_sendTransaction`, `tau_attachment`
//!   (the methods of [`TauApi`](api::TauApiServer); the reference is
//!   `docs/src/api.md`).
//! * [`client`] connects to it ([`api::TauApiClient`]'s methods), and
//!   [`AccountProof::verify`] checks an account's proofs against a root the
//!   caller trusts, so a wallet takes no node's word for a balance.
//! * [`serve_metrics`] serves `GET /metrics` in the OpenMetrics text format
//!   (peers, head and safety heights, mempool, mined blocks, head changes
//!   and reorg depth, marked peers, Graphsync traffic).
//!
//! A proof refused because it is against another root:
//!
//! ```
//! use tau_rpc::api::{AccountProof, Point};
//! use tau_rpc::Error;
//!
//! let claimed = AccountProof {
//!     address: tau_keys::Keypair::random().address().to_string(),
//!     at: Point { root: cid::Cid::default().to_string(), number: 7 },
//!     balance: 1_000_000,
//!     nonce: 0,
//!     balance_proof: Vec::new(),
//!     nonce_proof: Vec::new(),
//! };
//! let address = claimed.address.parse()?;
//! let trusted: cid::Cid =
//!     "bafy2bzacea3wsdh6y3a36tb3skempjoxqpuyompjbmfeyf34fi3uy6uue42v4".parse()?;
//! let refused = claimed.verify(&tau_state::Params::devnet(), &trusted, &address);
//! assert!(matches!(refused, Err(Error::BadProof(_))));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

// The README's example, compiled and run as a doctest.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;

pub mod api;
mod error;
mod metrics;
mod proof;
mod server;

pub use api::AccountProof;
pub use error::{Error, Result};
pub use metrics::{serve_metrics, MetricsServer, SAMPLE_INTERVAL};
pub use proof::{decode_proof, encode_proof, parse_cid, ProofBlock, VerifiedAccount};
pub use server::{
    serve, MAX_ATTACH_PEERS, MAX_BATCH, MAX_BLOCK_DEPTH, MAX_CONNECTIONS, MAX_HISTORY,
    MAX_REQUEST_BYTES,
};

/// A client of a node's API at `url` (e.g. `http://127.0.0.1:8645`); call
/// the methods of [`api::TauApiClient`] on it. Requests time out after
/// 30 s; see [`client_with_timeout`] for long ones (attachments).
pub fn client(url: &str) -> Result<jsonrpsee::http_client::HttpClient> {
    client_with_timeout(url, std::time::Duration::from_secs(30))
}

/// [`client`] with another request timeout.
pub fn client_with_timeout(
    url: &str,
    timeout: std::time::Duration,
) -> Result<jsonrpsee::http_client::HttpClient> {
    jsonrpsee::http_client::HttpClientBuilder::default()
        .request_timeout(timeout)
        .build(url)
        .map_err(|e| Error::Client(format!("{url}: {e}")))
}
