//! The node's libp2p side: gossipsub for announcements, request-response
//! for fetches and catch-up proofs, a block list, and connection bounds
//! enforced before any other behaviour spends on a connection.

use std::time::Duration;

use libp2p::gossipsub::{self, MessageAuthenticity};
use libp2p::request_response::{self, ProtocolSupport};
use libp2p::swarm::NetworkBehaviour;
use libp2p::{allow_block_list, noise, tcp, yamux, Swarm};
use tau_keys::blake2b_256;

use super::catchup::{CATCHUP_TIMEOUT, MAX_CATCHUP_STREAMS_PER_CONNECTION};
use super::fetch::{FETCH_TIMEOUT, MAX_STREAMS_PER_CONNECTION};
use crate::codec::{FrameCodec, UnitCodec, CATCHUP_PROTOCOL, MAX_ID_BYTES, UNIT_PROTOCOL};
use crate::{Error, Result};

/// Connections held at once, both ways.
pub const MAX_CONNECTIONS: u32 = 128;
/// Connections held with one peer.
pub const MAX_CONNECTIONS_PER_PEER: u32 = 2;
/// Incoming connections in their handshake at once.
pub const MAX_PENDING_INCOMING: u32 = 32;
/// Incoming connections held at once: the rest of [`MAX_CONNECTIONS`] is
/// left for the node's own dials, so peers that fill every incoming slot
/// cannot cut it off from the peers it knows (it dials them, see
/// [`REDIAL_FALLBACK`](super::REDIAL_FALLBACK)).
pub const MAX_ESTABLISHED_INCOMING: u32 = 96;

#[derive(NetworkBehaviour)]
pub(super) struct Behaviour {
    /// Refuses connections past the bounds (first: nothing else spends on them).
    pub(super) limits: libp2p::connection_limits::Behaviour,
    pub(super) blocked: allow_block_list::Behaviour<allow_block_list::BlockedPeers>,
    pub(super) gossip: gossipsub::Behaviour,
    pub(super) unit: request_response::Behaviour<UnitCodec>,
    pub(super) catchup: request_response::Behaviour<FrameCodec>,
}

pub(super) fn net(e: impl std::fmt::Display) -> Error {
    Error::Network(e.to_string())
}

pub(super) fn build_swarm(max_unit: usize, max_proof: usize) -> Result<Swarm<Behaviour>> {
    let swarm = libp2p::SwarmBuilder::with_new_identity()
        .with_tokio()
        .with_tcp(
            tcp::Config::default().nodelay(true),
            noise::Config::new,
            yamux::Config::default,
        )
        .map_err(net)?
        .with_behaviour(|key| {
            let config = gossipsub::ConfigBuilder::default()
                .heartbeat_interval(Duration::from_millis(250))
                .validate_messages()
                .validation_mode(gossipsub::ValidationMode::Strict)
                // Content-addressed: the same unit from two sources is one message.
                .message_id_fn(|m| gossipsub::MessageId::from(blake2b_256(&m.data).to_vec()))
                .max_transmit_size(max_unit + 1024)
                .build()
                .map_err(|e| std::io::Error::other(e.to_string()))?;
            let gossip =
                gossipsub::Behaviour::new(MessageAuthenticity::Signed(key.clone()), config)
                    .map_err(std::io::Error::other)?;
            let limits = libp2p::connection_limits::ConnectionLimits::default()
                .with_max_established(Some(MAX_CONNECTIONS))
                .with_max_established_per_peer(Some(MAX_CONNECTIONS_PER_PEER))
                .with_max_established_incoming(Some(MAX_ESTABLISHED_INCOMING))
                .with_max_pending_incoming(Some(MAX_PENDING_INCOMING));
            Ok(Behaviour {
                limits: libp2p::connection_limits::Behaviour::new(limits),
                blocked: allow_block_list::Behaviour::default(),
                gossip,
                unit: request_response::Behaviour::with_codec(
                    UnitCodec {
                        max_unit_bytes: max_unit,
                    },
                    [(UNIT_PROTOCOL, ProtocolSupport::Full)],
                    request_response::Config::default()
                        .with_request_timeout(FETCH_TIMEOUT)
                        .with_max_concurrent_streams(MAX_STREAMS_PER_CONNECTION),
                ),
                catchup: request_response::Behaviour::with_codec(
                    FrameCodec {
                        max_request: 8 + MAX_ID_BYTES,
                        max_response: max_proof,
                    },
                    [(CATCHUP_PROTOCOL, ProtocolSupport::Full)],
                    request_response::Config::default()
                        .with_request_timeout(CATCHUP_TIMEOUT)
                        .with_max_concurrent_streams(MAX_CATCHUP_STREAMS_PER_CONNECTION),
                ),
            })
        })
        .map_err(net)?
        .with_swarm_config(|c| c.with_idle_connection_timeout(Duration::from_secs(60)))
        .build();
    Ok(swarm)
}
