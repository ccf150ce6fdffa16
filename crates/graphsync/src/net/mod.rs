//! The libp2p transport (feature `net`, on by default): Graphsync v2 on
//! `/ipfs/graphsync/2.0.0` over `libp2p-stream`, as go-graphsync runs it
//! (`docs/src/formats/network.md`, "Framing"): every message is a varint frame of at most 4 MiB on a
//! stream the *sender* opens; a responder answers on a new stream it opens
//! back to the requester, possibly many messages; both sides read inbound
//! streams until EOF, which at a frame boundary is a normal end.
//!
//! * [`Graphsync`] (in `service`): the service; requests of a peer go to its
//!   [`Responder`](crate::responder::Responder) (bounded per peer), responses
//!   are routed by request id to the requester's
//!   [`Verifier`](crate::verifier::Verifier);
//! * [`RequestHandle`] (in `request`): verified blocks and progress as a
//!   stream of [`Event`]s, the final outcome, cancel, timeouts;
//! * `peer`: one task per peer owning the outbound stream;
//! * [`io`]: frames over async streams; [`Config`]: limits and timeouts;
//! * [`TcpNode`]: a ready swarm (tcp + noise + yamux) for tests and tools.
//!
//! `libp2p_stream` is alpha and drops inbound streams when the accept loop
//! lags; the service only spawns a reader per stream there, so it does not lag.

mod config;
pub mod io;
mod peer;
mod request;
mod service;
mod tcp_node;

use libp2p::StreamProtocol;

pub use config::{
    Config, RequestBudget, DEFAULT_MAX_DECODED_BYTES, DEFAULT_MAX_DECODED_BYTES_PER_PEER,
    DEFAULT_MAX_OUTBOUND_BYTES, DEFAULT_MAX_REQUESTS_SERVING, DEFAULT_TOTAL_TIMEOUT,
};
pub use request::{Event, Progress, RequestHandle};
pub use service::{Graphsync, Stats};
pub use tcp_node::TcpNode;

/// The protocol id.
pub const PROTOCOL: StreamProtocol = StreamProtocol::new("/ipfs/graphsync/2.0.0");

/// The block store shared by the service's tasks (defined in tau-ipld).
pub use tau_ipld::SharedStore;

pub use libp2p::{Multiaddr, PeerId};
pub use libp2p_stream::Control;
