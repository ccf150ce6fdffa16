//! # tau-graphsync
//!
//! The transport-independent core of Graphsync v2 (`/ipfs/graphsync/2.0.0`),
//! wire-compatible with go-graphsync v0.18 (`docs/src/formats/network.md` of this
//! repository; go's `message/ipldbind/schema.ipldsch` is the wire format):
//!
//! * [`message`]: the DAG-CBOR `{"gs2": …}` message with typed requests,
//!   responses, all status codes, link actions, blocks and extensions;
//! * [`framing`]: varint length frames with a size limit checked before
//!   allocation, and the 512 KiB block batcher;
//! * [`selector`]: the selector subset (`. a f i r R @ | ~`), with `~` as "hamt"
//!   so one request fetches a HAMT key's path and value (our extension);
//! * [`traversal`]: the resumable walk both sides run, over any
//!   [`tau_ipld::Blockstore`];
//! * [`verifier`]: the requester's check (go's model: re-run the selector,
//!   accept only the blocks it loads, in order, re-hashed);
//! * [`responder`]: requests in, bounded response messages out;
//! * [`loopback`]: the whole pipeline in memory;
//! * `net` (feature `net`, on by default): the libp2p transport on
//!   `/ipfs/graphsync/2.0.0` over `libp2p-stream` — a `Graphsync` service
//!   serving a store and making verified requests (a stream of blocks and
//!   progress, cancel, timeouts), responses on a new stream opened back to
//!   the requester as go-graphsync does, and `TcpNode`, a ready tcp + noise +
//!   yamux swarm for tests and tools.
//!
//! Outside `net`, nothing does I/O but through `Read`, `Write` and the block
//! store; build with `default-features = false` for the wire core alone.
//!
//! ## Bounded work per peer
//!
//! Every resource a remote peer can make us spend has a named limit with a
//! default (issue 20):
//!
//! * selector state: compiled subselectors are shared and run-time unions are
//!   deduplicated sets, so a union under a recursion no longer doubles the
//!   state per level; a selector is capped by [`traversal::Limits`]'s
//!   `max_selector_size` (16,384 nodes and field names), a state by
//!   `max_selector_state` (1,024), a walk by `max_links` (2^20) and
//!   `max_work` (2^28 children examined, weighted by state size) — on both
//!   sides, since the requester's verifier runs the same traversal; the
//!   walk's stack holds blocks in place and only while it still needs them;
//! * decoding: traversals read DAG-CBOR blocks in place (a block costs its
//!   own size; nothing is decoded into `Ipld`), and [`dagcbor::decode`]
//!   refuses input that would decode to more than
//!   [`dagcbor::MAX_DECODE_FACTOR`] (32) times its size; `net` also bounds
//!   the decoded messages held at once, per peer (32 MiB) and in total
//!   (256 MiB);
//! * responder, per request ([`responder::ResponderConfig`]): 2^20 blocks,
//!   1 GiB, 10 minutes, and a slice of work per message so a poll returns
//!   soon and a cancel or disconnect stops the walk at once; beside go's 6
//!   requests and 16 MiB unacknowledged per peer; in `net`, for all peers
//!   together, 64 requests served and 256 MiB of response frames held;
//! * requester, per request (`net::RequestBudget`, settable per request):
//!   a total deadline (10 minutes), 2^20 blocks and 1 GiB; the verifier keeps
//!   the CIDs of stored blocks, not their bytes.
//!
//! ```
//! use tau_graphsync::loopback::fetch;
//! use tau_graphsync::responder::{Responder, ResponderConfig};
//! use tau_graphsync::{Extensions, HamtLayout, Selector, Status};
//! use tau_hamt::{Config, Hamt};
//! use tau_ipld::{block::RAW, Blockstore, Cid, MemoryBlockstore};
//!
//! // A peer's state: a HAMT from account key to a link to its contract block.
//! let store = MemoryBlockstore::new();
//! let mut state: Hamt<_, Cid> = Hamt::new_with_config(&store, Config::default());
//! for i in 0..100 {
//!     let contract = store.put(RAW, format!("contract {i}").as_bytes())?;
//!     state.set(format!("acct-{i}"), contract)?;
//! }
//! let root = state.flush()?;
//!
//! // One request: the HAMT path of "acct-42", then the block it links to.
//! let layout = HamtLayout::for_config(&Config::default())?;
//! let selector = Selector::hamt_key(layout, b"acct-42", Selector::Matcher)?;
//! let mut responder = Responder::new(ResponderConfig::default());
//! let got = fetch(&mut responder, &store, root, &selector, Extensions::default(), &[], |_| {})?;
//! assert_eq!(got.outcome.status, Status::CompletedFull);
//! let (_, contract) = got.blocks.last().unwrap();
//! assert_eq!(contract, &b"contract 42"[..]);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

pub mod dagcbor;
mod error;
mod fields;
pub mod framing;
pub mod loopback;
pub mod message;
#[cfg(feature = "net")]
pub mod net;
pub mod responder;
pub mod selector;
pub mod traversal;
pub mod varint;
pub mod verifier;

pub use bytes::Bytes;
pub use error::{Error, Result};
pub use message::{
    Block, CidPrefix, Extensions, LinkAction, Message, Metadatum, Request, RequestId, RequestKind,
    Response, Status,
};
pub use selector::{HamtLayout, KeyEncoding, RecursionLimit, Selector};

// The README's example, compiled and run as a doctest.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
