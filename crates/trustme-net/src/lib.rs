//! # tau-trustme-net
//!
//! TrustME-PoW super nodes ([`tau_trustme`]) over a real network: libp2p
//! on TCP with noise and yamux, units announced whole on a gossipsub topic
//! ([`UNITS_TOPIC`]) and fetched by id with libp2p's request-response
//! ([`UNIT_PROTOCOL`], a length-bounded codec), so a node missing a unit's
//! parents asks for them, recursively, within bounds.
//!
//! * [`spawn`] starts one super node as a tokio task owning a
//!   [`Replica`](tau_trustme::Replica) and a [`Producer`](tau_trustme::Producer):
//!   a tick attests, mines on `spawn_blocking` and sends payments; every
//!   unit from a peer is size-bounded, decoded and signature-checked
//!   ([`VerifiedUnit::from_bytes`](tau_dag::VerifiedUnit::from_bytes)), then
//!   given to [`Replica::receive`](tau_trustme::Replica::receive) (parents,
//!   round rules, PoW) before anything is stored or forwarded.
//! * [`Devnet`] builds keys, a genesis that funds every node, and node
//!   configurations; [`Network`] runs N nodes in one process, partitions
//!   and heals them (libp2p's block list closes and refuses connections),
//!   and [`check_agreement`] compares replicas MCI by MCI; [`run`] is the
//!   whole networked run of `examples/trustme-network.rs --real N`.
//!
//! * A node whose stable point fell behind a round switch (the minority
//!   after a partition spanning a switch) cannot pass the switch by the
//!   stabilization rule: when units of a round it does not know have waited
//!   [`CATCHUP_DELAY`], it asks their sender for a catch-up proof
//!   ([`tau_trustme::CatchupProof`]) on [`CATCHUP_PROTOCOL`], bounded by
//!   `Params::catchup_max_bytes`, and adopts what
//!   [`Replica::apply_catchup`](tau_trustme::Replica::apply_catchup) checks.

mod codec;
mod devnet;
mod error;
mod network;
mod node;
mod run;

pub use codec::{
    decode_catchup_request, decode_request, encode_catchup_request, read_frame, write_frame,
    FrameCodec, UnitCodec, UnitRequest, UnitResponse, CATCHUP_PROTOCOL, MAX_ID_BYTES,
    UNIT_PROTOCOL,
};
pub use devnet::{Devnet, PaymentPlan};
pub use error::{Error, Result};
pub use network::{check_agreement, Agreement, Network};
pub use node::{
    spawn, NodeConfig, NodeHandle, Stats, Status, CATCHUP_DELAY, CATCHUP_SERVE_EVERY,
    CATCHUP_SERVE_PER_PEER, CATCHUP_TIMEOUT, FETCH_TIMEOUT, MAX_CATCHUP_STREAMS_PER_CONNECTION,
    MAX_CONNECTIONS, MAX_CONNECTIONS_PER_PEER, MAX_ESTABLISHED_INCOMING, MAX_FETCH_ATTEMPTS,
    MAX_FETCH_QUEUE, MAX_IN_FLIGHT, MAX_IN_FLIGHT_PER_PEER, MAX_PENDING_INCOMING,
    MAX_STREAMS_PER_CONNECTION, REDIAL_EVERY, REDIAL_FALLBACK, UNITS_TOPIC,
};
pub use run::{run, PartitionPlan, PartitionReport, RunConfig, RunReport};
