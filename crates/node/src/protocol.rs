//! `/tau/head/2.0.0`: how a node asks a peer for its next state (the TAU design note,
//! "request the future state from the peer") without anything ever being
//! pushed.
//!
//! libp2p's request-response protocol carries it ([`HeadCodec`]): one
//! request and one answer per stream, each one DAG-CBOR map written whole,
//! the writer then closing its side, at most [`MAX_MESSAGE_SIZE`] bytes
//! (the reader stops one byte past the limit; version 1 framed the same maps
//! behind a 4-byte length instead). The asker sends its pending transactions (so a miner can put
//! them in the state it produces); the peer answers its head state root, the
//! safety point it holds, the heads it has seen (its CBC justification) and a
//! few peers it knows (the random walk's next steps). The blocks behind the
//! head are then fetched with Graphsync and validated before the answer counts.

use std::time::Duration;

use bytes::Bytes;
use cid::Cid;
use futures::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use libp2p::{Multiaddr, PeerId, StreamProtocol};
use serde::{Deserialize, Serialize};
use serde_bytes::ByteBuf;
use tau_state::SignedTransaction;

use crate::{Error, Result};

/// The protocol id.
pub const HEAD_PROTOCOL: StreamProtocol = StreamProtocol::new("/tau/head/2.0.0");
/// Largest request or answer, in bytes.
pub const MAX_MESSAGE_SIZE: usize = 256 * 1024;
/// Most transactions a request carries.
pub const MAX_TRANSACTIONS: usize = 64;
/// Most seen heads an answer carries.
pub const MAX_SEEN: usize = 256;
/// Most peers an answer carries.
pub const MAX_PEERS: usize = 32;
/// Most addresses per peer.
pub const MAX_ADDRS: usize = 8;

/// What an asker sends.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct HeadRequest {
    /// The asker's chain id (answers only for the same chain).
    pub chain: String,
    /// Pending transactions the asker knows.
    pub transactions: Vec<SignedTransaction>,
}

/// A peer and its addresses, as bytes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PeerRecord {
    /// The peer id (`PeerId::to_bytes`).
    #[serde(with = "serde_bytes")]
    pub id: Vec<u8>,
    /// Multiaddresses (`Multiaddr::to_vec`).
    pub addrs: Vec<ByteBuf>,
    /// Whether the peer mines.
    pub mining: bool,
}

/// What a peer answers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HeadAnswer {
    /// The answerer's head state root.
    pub head: Cid,
    /// Its block number.
    pub number: u64,
    /// The safety point the answerer holds.
    pub safety: Option<Cid>,
    /// Whether the answerer mines (counts as a mining peer in the vote).
    pub mining: bool,
    /// Heads the answerer collected, by peer (its justification).
    pub seen: Vec<(ByteBuf, Cid)>,
    /// Peers it knows.
    pub peers: Vec<PeerRecord>,
}

impl HeadAnswer {
    /// Checks the bounds an honest answer keeps.
    pub fn check(&self) -> std::result::Result<(), &'static str> {
        if self.seen.len() > MAX_SEEN {
            return Err("too many seen heads");
        }
        if self.peers.len() > MAX_PEERS || self.peers.iter().any(|p| p.addrs.len() > MAX_ADDRS) {
            return Err("too many peers or addresses");
        }
        Ok(())
    }

    /// The seen heads with valid peer ids.
    pub fn seen_heads(&self) -> Vec<(PeerId, Cid)> {
        self.seen
            .iter()
            .filter_map(|(id, cid)| PeerId::from_bytes(id).ok().map(|p| (p, *cid)))
            .collect()
    }

    /// The peers with valid ids and addresses.
    pub fn peer_addrs(&self) -> Vec<(PeerId, Vec<Multiaddr>, bool)> {
        self.peers
            .iter()
            .filter_map(|r| {
                let id = PeerId::from_bytes(&r.id).ok()?;
                let addrs = r
                    .addrs
                    .iter()
                    .filter_map(|a| Multiaddr::try_from(a.to_vec()).ok())
                    .collect();
                Some((id, addrs, r.mining))
            })
            .collect()
    }
}

impl HeadRequest {
    /// Checks the bounds an honest request keeps.
    pub fn check(&self) -> std::result::Result<(), &'static str> {
        if self.transactions.len() > MAX_TRANSACTIONS {
            return Err("too many transactions");
        }
        Ok(())
    }
}

/// Encodes `message` as DAG-CBOR, refusing more than [`MAX_MESSAGE_SIZE`] bytes.
pub fn encode<T: Serialize>(message: &T) -> Result<Vec<u8>> {
    let bytes = serde_ipld_dagcbor::to_vec(message)
        .map_err(|e| Error::Network(format!("encoding a head message: {e}")))?;
    if bytes.len() > MAX_MESSAGE_SIZE {
        return Err(Error::TooLarge {
            size: bytes.len(),
            max: MAX_MESSAGE_SIZE,
        });
    }
    Ok(bytes)
}

/// Writes one whole message (the caller, or libp2p's request-response
/// handler, then closes the write side: that ends the message).
pub async fn write_message<W: AsyncWrite + Unpin>(io: &mut W, bytes: &[u8]) -> Result<()> {
    if bytes.len() > MAX_MESSAGE_SIZE {
        return Err(Error::TooLarge {
            size: bytes.len(),
            max: MAX_MESSAGE_SIZE,
        });
    }
    let net = |e: std::io::Error| Error::Network(e.to_string());
    io.write_all(bytes).await.map_err(net)?;
    io.flush().await.map_err(net)
}

/// Reads one message: everything up to the writer's close, refused past
/// [`MAX_MESSAGE_SIZE`] bytes (reading stops one byte beyond it, so a peer
/// cannot make us hold more). A stream closed before any byte carries no
/// message: a [`Error::Network`] error, never a malformed one, because a
/// node without a safety point within its mutable range answers a head
/// request by closing the stream (the design note's process A, step 1), and that
/// must not get it marked as a liar.
pub async fn read_message<R: AsyncRead + Unpin>(io: &mut R) -> Result<Vec<u8>> {
    let mut buf = Vec::new();
    let limit = MAX_MESSAGE_SIZE as u64 + 1;
    io.take(limit)
        .read_to_end(&mut buf)
        .await
        .map_err(|e| Error::Network(e.to_string()))?;
    if buf.len() > MAX_MESSAGE_SIZE {
        return Err(Error::TooLarge {
            size: buf.len(),
            max: MAX_MESSAGE_SIZE,
        });
    }
    if buf.is_empty() {
        return Err(Error::Network(NO_MESSAGE.into()));
    }
    Ok(buf)
}

/// Why [`read_message`] read nothing.
const NO_MESSAGE: &str = "the stream closed without a message";

/// Decodes a message read with [`read_message`]; `peer` names the sender in errors.
pub fn decode<T: for<'de> Deserialize<'de>>(bytes: &[u8], peer: &PeerId) -> Result<T> {
    serde_ipld_dagcbor::from_slice(bytes).map_err(|e| Error::BadMessage {
        peer: peer.to_string(),
        reason: e.to_string(),
    })
}

/// Decodes an answer and checks its bounds; `peer` names the sender in
/// errors.
pub fn decode_answer(bytes: &[u8], peer: &PeerId) -> Result<HeadAnswer> {
    let answer: HeadAnswer = decode(bytes, peer)?;
    answer.check().map_err(|reason| Error::BadMessage {
        peer: peer.to_string(),
        reason: reason.into(),
    })?;
    Ok(answer)
}

/// Asks `peer` for its head over a stream opened on [`HEAD_PROTOCOL`],
/// within `timeout`: what a node's request-response behaviour does, for
/// tools and tests that hold a bare stream.
pub async fn ask<S: AsyncRead + AsyncWrite + Unpin>(
    stream: &mut S,
    peer: &PeerId,
    request: &HeadRequest,
    timeout: Duration,
) -> Result<HeadAnswer> {
    let exchange = async {
        write_message(stream, &encode(request)?).await?;
        stream
            .close()
            .await
            .map_err(|e| Error::Network(e.to_string()))?;
        decode_answer(&read_message(stream).await?, peer)
    };
    match tokio::time::timeout(timeout, exchange).await {
        Ok(result) => result,
        Err(_) => Err(Error::Timeout("head request")),
    }
}

/// The head protocol's codec for libp2p's request-response behaviour.
///
/// A request is decoded and checked here (a bad one fails the stream and
/// never reaches the node); an answer stays bytes, the encoded answer the
/// node keeps ready, and is decoded by the asker, which marks a peer that
/// sends garbage ([`decode_answer`]). Messages past [`MAX_MESSAGE_SIZE`] are
/// refused as `InvalidData`, as are undecodable requests.
#[derive(Debug, Clone, Copy, Default)]
pub struct HeadCodec;

fn invalid(e: Error) -> std::io::Error {
    match e {
        Error::Network(reason) => std::io::Error::other(reason),
        other => std::io::Error::new(std::io::ErrorKind::InvalidData, other.to_string()),
    }
}

impl libp2p::request_response::Codec for HeadCodec {
    type Protocol = StreamProtocol;
    type Request = HeadRequest;
    type Response = Bytes;

    async fn read_request<T: AsyncRead + Unpin + Send>(
        &mut self,
        _: &StreamProtocol,
        io: &mut T,
    ) -> std::io::Result<HeadRequest> {
        let bytes = read_message(io).await.map_err(invalid)?;
        let request: HeadRequest = serde_ipld_dagcbor::from_slice(&bytes)
            .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e.to_string()))?;
        request
            .check()
            .map_err(|r| std::io::Error::new(std::io::ErrorKind::InvalidData, r))?;
        Ok(request)
    }

    async fn read_response<T: AsyncRead + Unpin + Send>(
        &mut self,
        _: &StreamProtocol,
        io: &mut T,
    ) -> std::io::Result<Bytes> {
        read_message(io).await.map(Bytes::from).map_err(invalid)
    }

    async fn write_request<T: AsyncWrite + Unpin + Send>(
        &mut self,
        _: &StreamProtocol,
        io: &mut T,
        request: HeadRequest,
    ) -> std::io::Result<()> {
        let bytes = encode(&request).map_err(invalid)?;
        write_message(io, &bytes).await.map_err(invalid)
    }

    async fn write_response<T: AsyncWrite + Unpin + Send>(
        &mut self,
        _: &StreamProtocol,
        io: &mut T,
        answer: Bytes,
    ) -> std::io::Result<()> {
        write_message(io, &answer).await.map_err(invalid)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answer_round_trips_and_garbage_is_refused() {
        let peer = PeerId::random();
        let cid = Cid::default();
        let answer = HeadAnswer {
            head: cid,
            number: 3,
            safety: None,
            mining: true,
            seen: vec![(ByteBuf::from(peer.to_bytes()), cid)],
            peers: vec![PeerRecord {
                id: peer.to_bytes(),
                addrs: vec![ByteBuf::from(
                    "/ip4/127.0.0.1/tcp/1"
                        .parse::<Multiaddr>()
                        .unwrap()
                        .to_vec(),
                )],
                mining: true,
            }],
        };
        let bytes = encode(&answer).unwrap();
        let back: HeadAnswer = decode(&bytes, &peer).unwrap();
        assert_eq!(back, answer);
        assert_eq!(back.seen_heads(), vec![(peer, cid)]);
        assert_eq!(back.peer_addrs()[0].1.len(), 1);
        assert!(decode::<HeadAnswer>(b"\xff\x00garbage", &peer).is_err());
        // Peer ids and addresses travel as CBOR byte strings (major type 2),
        // never as lists of integers: the wire format other nodes read.
        let record = encode(&answer.peers[0]).unwrap();
        let id = peer.to_bytes();
        let at = record
            .windows(id.len())
            .position(|w| w == id.as_slice())
            .unwrap();
        let header = [0x40 | id.len() as u8];
        let header = if id.len() < 24 {
            &header[..]
        } else {
            &[0x58, id.len() as u8][..]
        };
        assert_eq!(&record[at - header.len()..at], header);
    }

    #[test]
    fn an_oversized_message_is_refused_and_reading_stops_past_the_limit() {
        // An endless peer: reading must stop one byte past the limit.
        let endless = futures::io::repeat(0xa0);
        let mut reader = endless.take(u64::MAX);
        let result = futures::executor::block_on(read_message(&mut reader));
        assert!(
            matches!(result, Err(Error::TooLarge { size, .. }) if size == MAX_MESSAGE_SIZE + 1)
        );
        let exact = vec![0u8; MAX_MESSAGE_SIZE];
        let mut reader = futures::io::Cursor::new(exact);
        let read = futures::executor::block_on(read_message(&mut reader)).unwrap();
        assert_eq!(read.len(), MAX_MESSAGE_SIZE);
    }

    #[test]
    fn the_codec_round_trips_a_request_and_refuses_garbage() {
        use libp2p::request_response::Codec as _;
        let request = HeadRequest {
            chain: "devnet".into(),
            transactions: Vec::new(),
        };
        let mut wire = futures::io::Cursor::new(Vec::new());
        futures::executor::block_on(HeadCodec.write_request(
            &HEAD_PROTOCOL,
            &mut wire,
            request.clone(),
        ))
        .unwrap();
        // The message is the request's DAG-CBOR, nothing around it.
        assert_eq!(wire.get_ref(), &encode(&request).unwrap());
        let mut reader = futures::io::Cursor::new(wire.into_inner());
        let back = futures::executor::block_on(HeadCodec.read_request(&HEAD_PROTOCOL, &mut reader))
            .unwrap();
        assert_eq!(back, request);
        let mut garbage = futures::io::Cursor::new(b"\xff\x00garbage".to_vec());
        let refused =
            futures::executor::block_on(HeadCodec.read_request(&HEAD_PROTOCOL, &mut garbage));
        assert_eq!(refused.unwrap_err().kind(), std::io::ErrorKind::InvalidData);
    }

    #[test]
    fn a_stream_closed_without_a_message_is_no_answer_not_garbage() {
        use libp2p::request_response::Codec as _;
        let mut empty = futures::io::Cursor::new(Vec::new());
        let read = futures::executor::block_on(read_message(&mut empty));
        assert!(matches!(read, Err(Error::Network(_))), "{read:?}");
        // What the swarm tells apart: InvalidData blames the peer.
        let mut empty = futures::io::Cursor::new(Vec::new());
        let answer =
            futures::executor::block_on(HeadCodec.read_response(&HEAD_PROTOCOL, &mut empty));
        assert_ne!(answer.unwrap_err().kind(), std::io::ErrorKind::InvalidData);
        let mut garbage = futures::io::Cursor::new(vec![0xff]);
        let answer =
            futures::executor::block_on(HeadCodec.read_response(&HEAD_PROTOCOL, &mut garbage));
        // A response is checked by its reader (`decode_answer`), not here.
        assert_eq!(answer.unwrap().as_ref(), &[0xff]);
    }
}
