//! The unit-fetch protocol ([`UNIT_PROTOCOL`]) on libp2p's request-response:
//! a request is one unit id (a CID's bytes), an answer the unit's encoded
//! bytes, or nothing if the peer does not hold it. Each message is one frame
//! of the workspace's varint framing (tau-graphsync's, as Graphsync's wire
//! uses): lengths past the bounds are refused before the body is read, and
//! the body buffer grows only with the bytes that arrive.

use cid::Cid;
use futures::{AsyncRead, AsyncWrite, AsyncWriteExt as _};
use libp2p::StreamProtocol;

use crate::{Error, Result};

/// The unit-fetch protocol's name.
pub const UNIT_PROTOCOL: StreamProtocol = StreamProtocol::new("/tau/trustme/unit/1.0.0");

/// The longest unit id accepted in a request (a CIDv1 with a 32-byte
/// digest takes 36 bytes).
pub const MAX_ID_BYTES: usize = 96;

/// One request: the id of the unit wanted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UnitRequest(pub Cid);

/// One answer: the unit's encoded bytes (empty: not held).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct UnitResponse(pub Vec<u8>);

/// The codec of [`UNIT_PROTOCOL`]: answers longer than `max_unit_bytes`
/// are refused as `InvalidData`.
#[derive(Debug, Clone, Copy)]
pub struct UnitCodec {
    /// The largest unit accepted (the DAG's `max_unit_size`).
    pub max_unit_bytes: usize,
}

fn invalid(e: Error) -> std::io::Error {
    std::io::Error::new(std::io::ErrorKind::InvalidData, e.to_string())
}

/// Reads one frame of at most `max` bytes (tau-graphsync's framing); a
/// stream that ends before a whole frame is an error.
pub async fn read_frame<T: AsyncRead + Unpin>(io: &mut T, max: usize) -> std::io::Result<Vec<u8>> {
    match tau_graphsync::net::io::read_frame(io, max).await {
        Ok(Some(body)) => Ok(body),
        Ok(None) => Err(std::io::Error::new(
            std::io::ErrorKind::UnexpectedEof,
            "the stream closed without a message",
        )),
        Err(e) => Err(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            e.to_string(),
        )),
    }
}

/// Writes one frame (tau-graphsync's framing) and closes the writing side.
pub async fn write_frame<T: AsyncWrite + Unpin>(io: &mut T, bytes: &[u8]) -> std::io::Result<()> {
    let mut frame = Vec::with_capacity(bytes.len() + 10);
    tau_graphsync::framing::encode_frame(bytes, &mut frame);
    io.write_all(&frame).await?;
    io.close().await
}

/// Decodes a request's bytes: exactly one CID.
pub fn decode_request(bytes: &[u8]) -> Result<UnitRequest> {
    let cid = Cid::try_from(bytes).map_err(|_| Error::Malformed("unit id"))?;
    Ok(UnitRequest(cid))
}

impl libp2p::request_response::Codec for UnitCodec {
    type Protocol = StreamProtocol;
    type Request = UnitRequest;
    type Response = UnitResponse;

    async fn read_request<T: AsyncRead + Unpin + Send>(
        &mut self,
        _: &StreamProtocol,
        io: &mut T,
    ) -> std::io::Result<UnitRequest> {
        let bytes = read_frame(io, MAX_ID_BYTES).await?;
        decode_request(&bytes).map_err(invalid)
    }

    async fn read_response<T: AsyncRead + Unpin + Send>(
        &mut self,
        _: &StreamProtocol,
        io: &mut T,
    ) -> std::io::Result<UnitResponse> {
        read_frame(io, self.max_unit_bytes).await.map(UnitResponse)
    }

    async fn write_request<T: AsyncWrite + Unpin + Send>(
        &mut self,
        _: &StreamProtocol,
        io: &mut T,
        request: UnitRequest,
    ) -> std::io::Result<()> {
        write_frame(io, &request.0.to_bytes()).await
    }

    async fn write_response<T: AsyncWrite + Unpin + Send>(
        &mut self,
        _: &StreamProtocol,
        io: &mut T,
        response: UnitResponse,
    ) -> std::io::Result<()> {
        write_frame(io, &response.0).await
    }
}

/// The catch-up protocol's name: a node left behind a round switch sends
/// its stable point ([`encode_catchup_request`]) and gets a
/// [`CatchupProof`](tau_trustme::CatchupProof)'s canonical bytes back (empty:
/// nothing to prove).
pub const CATCHUP_PROTOCOL: StreamProtocol = StreamProtocol::new("/tau/trustme/catchup/1.0.0");

/// Encodes a catch-up request: its canonical DAG-CBOR tuple
/// `[stable_mci, stable_unit]`, like every consensus object.
pub fn encode_catchup_request(request: &tau_trustme::CatchupRequest) -> Result<Vec<u8>> {
    Ok(tau_ipld::canonical::encode("catch-up request", request)
        .map_err(tau_trustme::Error::from)?)
}

/// Decodes [`encode_catchup_request`]'s bytes (canonical form only).
pub fn decode_catchup_request(bytes: &[u8]) -> Result<tau_trustme::CatchupRequest> {
    tau_ipld::canonical::decode_canonical("catch-up request", bytes)
        .map_err(|_| Error::Malformed("catch-up request"))
}

/// A codec of opaque length-prefixed messages, bounded both ways (the
/// catch-up protocol: requests of at most `max_request` bytes, answers of
/// at most `max_response`); the node decodes them.
#[derive(Debug, Clone, Copy)]
pub struct FrameCodec {
    /// Largest request accepted.
    pub max_request: usize,
    /// Largest answer accepted.
    pub max_response: usize,
}

impl libp2p::request_response::Codec for FrameCodec {
    type Protocol = StreamProtocol;
    type Request = Vec<u8>;
    type Response = Vec<u8>;

    async fn read_request<T: AsyncRead + Unpin + Send>(
        &mut self,
        _: &StreamProtocol,
        io: &mut T,
    ) -> std::io::Result<Vec<u8>> {
        read_frame(io, self.max_request).await
    }

    async fn read_response<T: AsyncRead + Unpin + Send>(
        &mut self,
        _: &StreamProtocol,
        io: &mut T,
    ) -> std::io::Result<Vec<u8>> {
        read_frame(io, self.max_response).await
    }

    async fn write_request<T: AsyncWrite + Unpin + Send>(
        &mut self,
        _: &StreamProtocol,
        io: &mut T,
        request: Vec<u8>,
    ) -> std::io::Result<()> {
        write_frame(io, &request).await
    }

    async fn write_response<T: AsyncWrite + Unpin + Send>(
        &mut self,
        _: &StreamProtocol,
        io: &mut T,
        response: Vec<u8>,
    ) -> std::io::Result<()> {
        write_frame(io, &response).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_round_trip_and_bounds_hold() {
        futures::executor::block_on(async {
            let mut buf = Vec::new();
            write_frame(&mut futures::io::Cursor::new(&mut buf), b"abc")
                .await
                .unwrap();
            let mut r = futures::io::Cursor::new(buf.clone());
            assert_eq!(read_frame(&mut r, 3).await.unwrap(), b"abc");
            let mut r = futures::io::Cursor::new(buf);
            assert!(read_frame(&mut r, 2).await.is_err());
            // A length that promises more than is sent fails, never hangs.
            let mut r = futures::io::Cursor::new(vec![9, 1]);
            assert!(read_frame(&mut r, 100).await.is_err());
        });
        assert!(decode_request(b"\xff\x00garbage").is_err());
        let request = tau_trustme::CatchupRequest {
            stable_mci: 7,
            stable_unit: Cid::default(),
        };
        let bytes = encode_catchup_request(&request).unwrap();
        assert_eq!(decode_catchup_request(&bytes).unwrap(), request);
        assert!(decode_catchup_request(&bytes[..5]).is_err());
        assert!(decode_catchup_request(&[0; 9]).is_err());
    }
}
