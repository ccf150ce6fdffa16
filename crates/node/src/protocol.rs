//! `/tau/head/1.0.0`: how a node asks a peer for its next state (seed 000,
//! "request the future state from the peer") without anything ever being
//! pushed.
//!
//! One request and one answer per stream, each a DAG-CBOR map behind a 4-byte
//! big-endian length, at most [`MAX_MESSAGE_SIZE`] bytes (checked before
//! allocating). The asker sends its pending transactions (so a miner can put
//! them in the state it produces); the peer answers its head state root, the
//! safety point it holds, the heads it has seen (its CBC justification) and a
//! few peers it knows (the random walk's next steps). The blocks behind the
//! head are then fetched with Graphsync and validated before the answer counts.

use std::time::Duration;

use cid::Cid;
use futures::{AsyncReadExt, AsyncWriteExt};
use libp2p::{Multiaddr, PeerId, StreamProtocol};
use serde::{Deserialize, Serialize};
use serde_bytes::ByteBuf;
use tau_state::SignedTransaction;

use crate::{Error, Result};

/// The protocol id.
pub const HEAD_PROTOCOL: StreamProtocol = StreamProtocol::new("/tau/head/1.0.0");
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

/// Writes one length-prefixed message.
pub async fn write_frame<W: futures::AsyncWrite + Unpin>(io: &mut W, bytes: &[u8]) -> Result<()> {
    let len = u32::try_from(bytes.len()).map_err(|_| Error::TooLarge {
        size: bytes.len(),
        max: MAX_MESSAGE_SIZE,
    })?;
    let net = |e: std::io::Error| Error::Network(e.to_string());
    io.write_all(&len.to_be_bytes()).await.map_err(net)?;
    io.write_all(bytes).await.map_err(net)?;
    io.flush().await.map_err(net)
}

/// Reads one length-prefixed message of at most [`MAX_MESSAGE_SIZE`] bytes.
pub async fn read_frame<R: futures::AsyncRead + Unpin>(io: &mut R) -> Result<Vec<u8>> {
    let net = |e: std::io::Error| Error::Network(e.to_string());
    let mut len = [0u8; 4];
    io.read_exact(&mut len).await.map_err(net)?;
    let len = u32::from_be_bytes(len) as usize;
    if len > MAX_MESSAGE_SIZE {
        return Err(Error::TooLarge {
            size: len,
            max: MAX_MESSAGE_SIZE,
        });
    }
    let mut buf = vec![0u8; len];
    io.read_exact(&mut buf).await.map_err(net)?;
    Ok(buf)
}

/// Decodes a message read with [`read_frame`]; `peer` names the sender in errors.
pub fn decode<T: for<'de> Deserialize<'de>>(bytes: &[u8], peer: &PeerId) -> Result<T> {
    serde_ipld_dagcbor::from_slice(bytes).map_err(|e| Error::BadMessage {
        peer: peer.to_string(),
        reason: e.to_string(),
    })
}

/// Asks `peer` for its head over an open stream, within `timeout`.
pub async fn ask<S: futures::AsyncRead + futures::AsyncWrite + Unpin>(
    stream: &mut S,
    peer: &PeerId,
    request: &HeadRequest,
    timeout: Duration,
) -> Result<HeadAnswer> {
    let exchange = async {
        write_frame(stream, &encode(request)?).await?;
        let bytes = read_frame(stream).await?;
        let answer: HeadAnswer = decode(&bytes, peer)?;
        answer.check().map_err(|reason| Error::BadMessage {
            peer: peer.to_string(),
            reason: reason.into(),
        })?;
        Ok(answer)
    };
    match tokio::time::timeout(timeout, exchange).await {
        Ok(result) => result,
        Err(_) => Err(Error::Timeout("head request")),
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
    fn oversized_frames_are_refused_before_allocation() {
        let mut data: &[u8] = &[0xff, 0xff, 0xff, 0xff];
        let mut reader = futures::io::Cursor::new(&mut data);
        let result = futures::executor::block_on(read_frame(&mut reader));
        assert!(matches!(result, Err(Error::TooLarge { .. })));
    }
}
