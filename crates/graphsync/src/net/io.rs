//! Frames over async byte streams (`futures` `AsyncRead` / `AsyncWrite`, as
//! libp2p streams are): the same varint framing as [`crate::framing`].
//!
//! A frame's announced length is checked against the maximum before any body
//! byte is read, and the body buffer grows with the bytes that actually
//! arrive, so a peer announcing 4 MiB and sending nothing costs nothing.

use futures::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

use crate::message::Message;
use crate::varint;
use crate::{Error, Result};

/// Body bytes read before the buffer grows further: it doubles with the
/// bytes that actually arrive, from this size.
const FIRST_CHUNK: usize = 64 << 10;

/// Reads one frame body. `Ok(None)` at end of stream on a frame boundary (a
/// normal end); end of stream inside a frame is [`Error::TruncatedFrame`]; a
/// length above `max_size` is [`Error::FrameTooLarge`], before the body is read.
///
/// Wrap the stream in a `futures::io::BufReader`: the length prefix is read a
/// byte at a time.
pub async fn read_frame<R: AsyncRead + Unpin>(
    r: &mut R,
    max_size: usize,
) -> Result<Option<Vec<u8>>> {
    let mut body = Vec::new();
    let len = read_frame_into(r, max_size, &mut body).await?;
    Ok(len.map(|len| {
        body.truncate(len);
        body
    }))
}

/// As [`read_frame`], into `buffer`, so that one buffer serves a whole
/// stream: returns the body's length `n` (the body is `buffer[..n]`), or
/// `None` at a clean end of stream. The buffer grows only with the bytes
/// that arrive (a peer announcing 4 MiB and sending nothing costs 64 KiB) and
/// is never shrunk, so a stream of similar frames reads without allocating.
pub async fn read_frame_into<R: AsyncRead + Unpin>(
    r: &mut R,
    max_size: usize,
    buffer: &mut Vec<u8>,
) -> Result<Option<usize>> {
    let mut head = Vec::with_capacity(varint::MAX_LEN);
    let len = loop {
        let mut byte = [0u8; 1];
        match r.read(&mut byte).await {
            Ok(0) if head.is_empty() => return Ok(None),
            Ok(0) => return Err(Error::TruncatedFrame),
            Ok(_) => head.extend_from_slice(&byte),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e.into()),
        }
        if let Some((len, _)) = varint::decode(&head)? {
            break len;
        }
    };
    if len > max_size as u64 {
        return Err(Error::FrameTooLarge { len, max: max_size });
    }
    // `len <= max_size`, so it fits a usize.
    let want = len as usize;
    let mut filled = 0;
    while filled < want {
        if buffer.len() == filled {
            let grow = (want - filled).min(filled.max(FIRST_CHUNK));
            buffer.resize(filled + grow, 0);
        }
        let end = buffer.len().min(want);
        let part = buffer.get_mut(filled..end).unwrap_or_default();
        r.read_exact(part).await.map_err(|e| match e.kind() {
            std::io::ErrorKind::UnexpectedEof => Error::TruncatedFrame,
            _ => Error::Io(e),
        })?;
        filled = end;
    }
    Ok(Some(want))
}

/// Reads and decodes one message; `Ok(None)` at a clean end of stream.
pub async fn read_message<R: AsyncRead + Unpin>(
    r: &mut R,
    max_size: usize,
) -> Result<Option<Message>> {
    match read_frame(r, max_size).await? {
        Some(body) => Message::decode(&body).map(Some),
        None => Ok(None),
    }
}

/// Encodes `msg` and writes it as one frame (one write call); refuses a
/// message larger than `max_size` (the peer would reject it). Returns the
/// bytes written.
pub async fn write_message<W: AsyncWrite + Unpin>(
    w: &mut W,
    msg: &Message,
    max_size: usize,
) -> Result<usize> {
    let frame = frame_message(msg, max_size)?;
    w.write_all(&frame).await?;
    w.flush().await?;
    Ok(frame.len())
}

/// The frame of `msg` (length prefix and DAG-CBOR); a message larger than
/// `max_size` is refused.
pub fn frame_message(msg: &Message, max_size: usize) -> Result<Vec<u8>> {
    let mut frame = Vec::new();
    msg.encode_frame_into(max_size, &mut frame)?;
    Ok(frame)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::message::{Request, RequestId, RequestKind};
    use futures::executor::block_on;
    use futures::io::{BufReader, Cursor};

    #[test]
    fn messages_round_trip_and_eof_is_clean_only_on_a_boundary() {
        let msg = Message {
            requests: vec![Request {
                id: RequestId([3; 16]),
                kind: RequestKind::Cancel,
            }],
            ..Message::default()
        };
        let mut wire = Cursor::new(Vec::new());
        block_on(write_message(&mut wire, &msg, 1024)).unwrap();
        block_on(write_message(&mut wire, &msg, 1024)).unwrap();
        let bytes = wire.into_inner();
        let mut r = BufReader::new(&bytes[..]);
        assert_eq!(
            block_on(read_message(&mut r, 1024)).unwrap(),
            Some(msg.clone())
        );
        assert_eq!(block_on(read_message(&mut r, 1024)).unwrap(), Some(msg));
        assert_eq!(block_on(read_message(&mut r, 1024)).unwrap(), None);
        for cut in 1..bytes.len() / 2 {
            let mut r = BufReader::new(&bytes[..cut]);
            assert!(matches!(
                block_on(read_frame(&mut r, 1024)),
                Err(Error::TruncatedFrame)
            ));
        }
    }

    #[test]
    fn oversize_frames_are_refused_before_the_body() {
        // Announces 2^32 bytes and sends none: refused without allocating.
        let wire = [0x80u8, 0x80, 0x80, 0x80, 0x10];
        let mut r = &wire[..];
        assert!(matches!(
            block_on(read_frame(&mut r, 4 << 20)),
            Err(Error::FrameTooLarge {
                len: 0x1_0000_0000,
                ..
            })
        ));
        let big = Message {
            requests: vec![Request {
                id: RequestId([3; 16]),
                kind: RequestKind::Cancel,
            }],
            ..Message::default()
        };
        let mut sink = Cursor::new(Vec::new());
        assert!(block_on(write_message(&mut sink, &big, 4)).is_err());
        // A malformed varint is an error, not a hang.
        let mut r = &[0xffu8; 12][..];
        assert!(matches!(
            block_on(read_frame(&mut r, 100)),
            Err(Error::Varint(_))
        ));
    }
}
