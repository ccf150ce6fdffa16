//! # tau-node
//!
//! A TAU node on libp2p (`docs/src/introduction.md`, "TAU in one page"): tcp +
//! noise + yamux with identify and ping, Graphsync v2 (tau-graphsync) and a
//! small head protocol, running the three processes of the TAU design note:
//!
//! * **Discovery**: a Kademlia table ([`KAD_PROTOCOL`]) bootstrapped from the
//!   configured and persisted peers and walked at random every
//!   [`Timing::walk_interval`]; a walk finds peers (they join the planner's
//!   peer set) and, through identify, relays — one step.
//! * **Relays** (circuit relay v2): a relay router serves reservations
//!   ([`NodeBuilder::relay_server`]); a node [`behind_nat`](NodeBuilder::behind_nat)
//!   listens only through relays (configured with [`NodeBuilder::relay`],
//!   persisted, or found by walks) and is dialed at its
//!   `…/p2p-circuit/p2p/<id>` address.
//!
//! * **A — produce the future state**: a mining node produces the next state
//!   on its fork-choice head with tau-state as soon as its
//!   Proof-of-Transaction allows, with the pending transactions, and serves
//!   its head on request; it never pushes blocks.
//! * **B — collect votes**: each poll the node walks its peers
//!   (tau-cbc's [`Planner`](tau_cbc::Planner)), asks each for its head on
//!   [`HEAD_PROTOCOL`] (`/tau/head/2.0.0`, on libp2p's request-response), fetches the blocks behind it with
//!   one Graphsync request from the head root (recursive explore-all, repeated
//!   from the first missing block until the view is complete), validates the
//!   view with [`ChainView::collect`](tau_cbc::ChainView::collect), votes
//!   ([`safety_point`](tau_cbc::safety_point)), endorses the safety points
//!   peers report and follows [`fork_choice`](tau_cbc::fork_choice) — the
//!   rules and order of `tau_cbc::sim`. Forged chains and garbage mark the peer.
//! * **C — attachments**: [`NodeHandle::attach_get`] runs tau-attach's
//!   multi-peer downloader over Graphsync (one request per block, each block
//!   checked before it is stored). As a host the node charges attachment
//!   data (sections, manifests, section-map nodes) to the visitor's TAU
//!   address — its peer id is its TAU key ([`peer_address`]) — reserving
//!   what the request's selector can reach (a whole attachment for an
//!   explore from a manifest or a map node), refuses it past the free
//!   quota (30 with a reason starting [`QUOTA_EXCEEDED`]), and writes the
//!   downloads it served into its next block's attachment log
//!   (`AttachmentsLog` key, proof of service).
//!
//! Head, safety point and genesis are named roots in the redb store next to
//! the blocks, known peers and relays and pending transactions are records
//! in it ([`NodeBuilder::data_dir`]), and a garbage collection every
//! [`Timing::gc_interval`] deletes the blocks nothing kept reaches (states
//! below the mutable range, dropped attachments: `docs/src/storage.md`,
//! [`NodeHandle::collect_garbage`], [`NodeHandle::drop_attachment`]); a restarted node
//! resumes from them and catches up — also after being offline longer than
//! the mutable range: a heavier chain whose views no longer reach the safety
//! point is followed back to it (every state validated) and adopted, while a
//! chain that does not hold the safety point stays refused. Without a data directory everything is
//! in memory.
//!
//! ## How it runs (a map of the crate)
//!
//! * `startup` — [`Node::start`]: opens the store, restores head, safety
//!   point, attachment host and peers, builds the swarm and spawns two
//!   tasks: the swarm (`swarm::drive`) and the owner.
//! * `swarm` — the libp2p swarm and its task: dials, Kademlia walks, and the
//!   head protocol on libp2p's request-response (requests read and checked
//!   there within its size limit, timeout and streams per connection).
//! * `runtime` — the owner task (`runtime::run`): it owns the node's state
//!   (`NodeState`, relays, walked peers, listen addresses, the encoded head
//!   answer) and receives swarm reports (head requests among them), the
//!   timers of process A, process B and the collector, requests from its
//!   workers and the handle (`runtime::Request`) and its workers' results
//!   (`runtime::Message`) in one loop, and publishes a `runtime::View` the
//!   handle reads. It does no network I/O or long CPU work itself: mining,
//!   the vote, a collection and the validation of a peer's chain run in
//!   workers on copies (at most one mining, one vote and one collection at
//!   a time; peer asks within process B's limits).
//! * `process_a` — preparing a block and taking the mined one; `process_b`
//!   — the poll tick (the vote, the next asks), and the per-peer ask, fetch,
//!   validation and catch-up; `serving` — answering head requests from the
//!   encoded answer and queueing the transactions they relay, a queue per
//!   peer drained round-robin (`relay_queue`);
//!   `serve` — serving and charging attachments over Graphsync;
//!   `peers` — the peer table, relays and random-walk results from swarm
//!   reports; `collector` + `gc` — garbage collection; `state` — the
//!   consensus state (`NodeState`: chain, vote engine, mempool) without I/O;
//!   `handle` — [`NodeHandle`], the public API.
//!
//! Two nodes on 127.0.0.1 mine and agree on a chain:
//!
//! ```
//! # #[tokio::main(flavor = "multi_thread", worker_threads = 2)]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use tau_keys::Keypair;
//! use tau_node::{local_devnet, GenesisBlocks, Node};
//! use tau_state::Genesis;
//!
//! let keys = [Keypair::from_bytes(&[1; 32])?, Keypair::from_bytes(&[2; 32])?];
//! let (chain, cbc) = local_devnet(2);
//! let allocations = keys.iter().fold(Genesis::new(tau_node::unix_now()), |g, k| {
//!     g.allocate(k.address(), 1_000_000)
//! });
//! let genesis = GenesisBlocks::new(&allocations, &keys[0], &chain)?;
//!
//! let a = Node::builder().key(keys[0].clone()).params(chain.clone(), cbc.clone())
//!     .genesis(genesis.clone()).start().await?;
//! let b = Node::builder().key(keys[1].clone()).params(chain, cbc)
//!     .genesis(genesis).bootstrap(a.dial_addr().unwrap()).start().await?;
//!
//! b.send(keys[0].address(), 500, 1).await?;
//! // Wait until both nodes hold a common head above block 2.
//! tokio::time::timeout(std::time::Duration::from_secs(60), async {
//!     while a.head().number < 2 || a.head() != b.head() {
//!         tokio::time::sleep(std::time::Duration::from_millis(100)).await;
//!     }
//! })
//! .await?;
//! a.shutdown().await?;
//! b.shutdown().await?;
//! # Ok(()) }
//! ```

mod collector;
mod config;
mod discovery;
mod error;
mod follower;
mod gc;
mod handle;
mod identity;
#[cfg(test)]
mod mempool;
mod peers;
mod process_a;
mod process_b;
pub mod protocol;
mod relay_queue;
mod runtime;
mod seeders;
mod serve;
mod serving;
mod source;
mod startup;
mod state;
mod store;
mod swarm;

pub use config::{local_devnet, GenesisBlocks, Mode, NodeBuilder, NodeConfig, Timing};
pub use discovery::KAD_PROTOCOL;
pub use error::{Error, Result};
pub use follower::{FollowConfig, FollowStatus, FOLLOW_ATTEMPTS, FOLLOW_QUEUE, FOLLOW_SCAN_BLOCKS};
pub use handle::{ChainPoint, NodeCounters, NodeEvent, NodeHandle, RelayedQueue};
pub use identity::{peer_address, peer_id_of};
pub use protocol::HEAD_PROTOCOL;
pub use seeders::SEEDER_SCAN_BLOCKS;
pub use serve::{ATTACHMENT_EXTENSION, QUOTA_EXCEEDED};
pub use serving::{MAX_RELAYED_PER_PEER, MAX_RELAYED_QUEUE, RELAYED_PER_TICK};
pub use source::GraphsyncSource;
pub use startup::Node;
pub use store::{open_stored, StoredChain, STORE_FILE};
pub use swarm::{
    Connections, IDENTIFY_PROTOCOL, MAX_ESTABLISHED, MAX_ESTABLISHED_INCOMING,
    MAX_ESTABLISHED_PER_PEER, MAX_PENDING_INCOMING,
};
pub use tau_ipld::blockstore::GcReport;

pub use libp2p::{Multiaddr, PeerId};

/// Seconds since the Unix epoch: the clock the node stamps blocks and
/// transactions with.
pub fn unix_now() -> u64 {
    state::unix_now()
}

// The README's example, compiled and run as a doctest.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
