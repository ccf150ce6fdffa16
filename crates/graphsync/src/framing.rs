//! Framing: each message is an unsigned-varint length and then that many bytes
//! of DAG-CBOR (go-graphsync reads with `msgio.NewVarintReaderSize`, 4 MiB).
//!
//! The length is checked against the maximum before anything is allocated for
//! the body. [`decode_frame`] works on byte slices (for any transport that
//! hands out buffers), [`FrameDecoder`] buffers partial input, and
//! [`read_frame`] / [`write_frame`] work on blocking `Read` / `Write`.
//! [`BlockBatcher`] splits outgoing blocks into messages of bounded size.

use std::io::{ErrorKind, Read, Write};

use crate::message::{Block, Message};
use crate::varint;
use crate::{Error, Result};

/// Largest message accepted by default: 4 MiB, go-libp2p's `network.MessageSizeMax`.
pub const DEFAULT_MAX_MESSAGE_SIZE: usize = 4 << 20;

/// Most block bytes put in one message by default: 512 KiB, as go-graphsync.
pub const DEFAULT_MAX_BLOCK_BYTES: usize = 512 << 10;

/// Appends the frame of `body` (length prefix, then the body) to `out`.
pub fn encode_frame(body: &[u8], out: &mut Vec<u8>) {
    varint::encode(body.len() as u64, out);
    out.extend_from_slice(body);
}

/// Looks for a complete frame at the start of `buf`.
///
/// Returns `Ok(Some((body, consumed)))` for a complete frame, `Ok(None)` when
/// more bytes are needed, and an error when the length prefix is malformed or
/// larger than `max_size` (known as soon as the prefix is complete, before the
/// body arrives).
///
/// ```
/// use tau_graphsync::framing::{decode_frame, encode_frame};
/// let mut wire = Vec::new();
/// encode_frame(b"hello", &mut wire);
/// assert_eq!(decode_frame(&wire[..3], 1024)?, None); // need more
/// assert_eq!(decode_frame(&wire, 1024)?, Some((&b"hello"[..], 6)));
/// assert!(decode_frame(&wire, 4).is_err()); // over the limit
/// # Ok::<(), tau_graphsync::Error>(())
/// ```
pub fn decode_frame(buf: &[u8], max_size: usize) -> Result<Option<(&[u8], usize)>> {
    let Some((len, header)) = varint::decode(buf)? else {
        return Ok(None);
    };
    if len > max_size as u64 {
        return Err(Error::FrameTooLarge { len, max: max_size });
    }
    let end = header + len as usize;
    Ok(buf.get(header..end).map(|body| (body, end)))
}

/// Accumulates bytes from a transport and yields complete frame bodies.
#[derive(Debug)]
pub struct FrameDecoder {
    buf: Vec<u8>,
    max_size: usize,
}

impl FrameDecoder {
    /// A decoder accepting bodies of at most `max_size` bytes.
    pub fn new(max_size: usize) -> Self {
        FrameDecoder {
            buf: Vec::new(),
            max_size,
        }
    }

    /// Adds received bytes.
    pub fn extend(&mut self, bytes: &[u8]) {
        self.buf.extend_from_slice(bytes);
    }

    /// The next complete frame body, `Ok(None)` if more bytes are needed.
    /// After an error the stream is unusable (framing is lost).
    pub fn next_frame(&mut self) -> Result<Option<Vec<u8>>> {
        let (body, used) = match decode_frame(&self.buf, self.max_size)? {
            None => return Ok(None),
            Some((body, used)) => (body.to_vec(), used),
        };
        self.buf.drain(..used);
        Ok(Some(body))
    }

    /// The next complete message, `Ok(None)` if more bytes are needed.
    pub fn next_message(&mut self) -> Result<Option<Message>> {
        self.next_frame()?.map(|b| Message::decode(&b)).transpose()
    }

    /// Whether bytes of an incomplete frame are buffered (EOF now would be an error).
    pub fn has_partial(&self) -> bool {
        !self.buf.is_empty()
    }
}

/// Writes one frame. A body larger than `max_size` is refused (the peer would
/// reject it).
pub fn write_frame<W: Write>(w: &mut W, body: &[u8], max_size: usize) -> Result<()> {
    if body.len() > max_size {
        return Err(Error::FrameTooLarge {
            len: body.len() as u64,
            max: max_size,
        });
    }
    let mut head = Vec::with_capacity(varint::MAX_LEN);
    varint::encode(body.len() as u64, &mut head);
    w.write_all(&head)?;
    w.write_all(body)?;
    Ok(())
}

/// Reads one frame body. `Ok(None)` at end of stream on a frame boundary (a
/// normal end); end of stream inside a frame is [`Error::TruncatedFrame`].
pub fn read_frame<R: Read>(r: &mut R, max_size: usize) -> Result<Option<Vec<u8>>> {
    let mut head = Vec::with_capacity(varint::MAX_LEN);
    let len = loop {
        let mut byte = [0u8; 1];
        match r.read(&mut byte) {
            Ok(0) if head.is_empty() => return Ok(None),
            Ok(0) => return Err(Error::TruncatedFrame),
            Ok(_) => head.push(byte[0]),
            Err(e) if e.kind() == ErrorKind::Interrupted => continue,
            Err(e) => return Err(e.into()),
        }
        if let Some((len, _)) = varint::decode(&head)? {
            break len;
        }
    };
    if len > max_size as u64 {
        return Err(Error::FrameTooLarge { len, max: max_size });
    }
    let mut body = vec![0u8; len as usize];
    r.read_exact(&mut body).map_err(|e| match e.kind() {
        ErrorKind::UnexpectedEof => Error::TruncatedFrame,
        _ => Error::Io(e),
    })?;
    Ok(Some(body))
}

/// Encodes and writes one message.
pub fn write_message<W: Write>(w: &mut W, msg: &Message, max_size: usize) -> Result<()> {
    write_frame(w, &msg.encode()?, max_size)
}

/// Reads and decodes one message; `Ok(None)` at a clean end of stream.
pub fn read_message<R: Read>(r: &mut R, max_size: usize) -> Result<Option<Message>> {
    read_frame(r, max_size)?
        .map(|b| Message::decode(&b))
        .transpose()
}

/// Groups outgoing blocks into batches of at most `max_bytes` of block data
/// each (a single larger block travels alone), preserving order.
///
/// ```
/// use tau_graphsync::framing::BlockBatcher;
/// use tau_graphsync::Block;
/// use tau_ipld::block::{cid_of, RAW};
///
/// let block = |n: usize| { let d = vec![n as u8; n]; Block::new(&cid_of(RAW, &d), d) };
/// let mut batcher = BlockBatcher::new(100);
/// assert!(batcher.push(block(60)).is_none());
/// let full = batcher.push(block(50)).unwrap(); // 60 + 50 > 100: the first batch is done
/// assert_eq!(full.len(), 1);
/// assert_eq!(batcher.finish().len(), 1);
/// ```
#[derive(Debug)]
pub struct BlockBatcher {
    max_bytes: usize,
    current: Vec<Block>,
    bytes: usize,
}

impl BlockBatcher {
    /// A batcher with batches of at most `max_bytes` of block data.
    pub fn new(max_bytes: usize) -> Self {
        BlockBatcher {
            max_bytes,
            current: Vec::new(),
            bytes: 0,
        }
    }

    /// Whether `len` more bytes fit the current batch (an empty batch takes anything).
    pub fn fits(&self, len: usize) -> bool {
        self.current.is_empty() || self.bytes.saturating_add(len) <= self.max_bytes
    }

    /// Adds a block; returns the previous batch if the block did not fit in it.
    pub fn push(&mut self, block: Block) -> Option<Vec<Block>> {
        let full = if self.fits(block.data.len()) {
            None
        } else {
            Some(self.take())
        };
        self.bytes += block.data.len();
        self.current.push(block);
        full
    }

    /// Takes the current batch, leaving the batcher empty.
    pub fn take(&mut self) -> Vec<Block> {
        self.bytes = 0;
        std::mem::take(&mut self.current)
    }

    /// Block bytes in the current batch.
    pub fn bytes(&self) -> usize {
        self.bytes
    }

    /// The last batch (possibly empty).
    pub fn finish(mut self) -> Vec<Block> {
        self.take()
    }
}

/// Splits `blocks` into batches of at most `max_bytes` of data each, in order.
pub fn batch_blocks(blocks: impl IntoIterator<Item = Block>, max_bytes: usize) -> Vec<Vec<Block>> {
    let mut batcher = BlockBatcher::new(max_bytes);
    let mut out: Vec<Vec<Block>> = blocks.into_iter().filter_map(|b| batcher.push(b)).collect();
    let last = batcher.finish();
    if !last.is_empty() {
        out.push(last);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use tau_ipld::block::{cid_of, RAW};

    fn block(len: usize, seed: u8) -> Block {
        let data = vec![seed; len];
        Block::new(&cid_of(RAW, &data), data)
    }

    #[test]
    fn limit_is_enforced_before_the_body_arrives() {
        // A 5-byte prefix announcing 2^32 bytes, and nothing else.
        let wire = [0x80, 0x80, 0x80, 0x80, 0x10];
        assert!(matches!(
            decode_frame(&wire, DEFAULT_MAX_MESSAGE_SIZE),
            Err(Error::FrameTooLarge {
                len: 0x1_0000_0000,
                ..
            })
        ));
        let mut r = &wire[..];
        assert!(matches!(
            read_frame(&mut r, DEFAULT_MAX_MESSAGE_SIZE),
            Err(Error::FrameTooLarge { .. })
        ));
        // Exactly the limit is fine.
        let mut ok = Vec::new();
        encode_frame(&[7; 10], &mut ok);
        assert!(decode_frame(&ok, 10).unwrap().is_some());
        assert!(write_frame(&mut Vec::new(), &[0; 11], 10).is_err());
    }

    #[test]
    fn reader_distinguishes_clean_eof_from_truncation() {
        let mut wire = Vec::new();
        write_frame(&mut wire, b"abc", 100).unwrap();
        write_frame(&mut wire, b"", 100).unwrap();
        let mut r = &wire[..];
        assert_eq!(read_frame(&mut r, 100).unwrap().unwrap(), b"abc");
        assert_eq!(read_frame(&mut r, 100).unwrap().unwrap(), b"");
        assert_eq!(read_frame(&mut r, 100).unwrap(), None);
        for cut in 1..4 {
            let mut r = &wire[..cut];
            assert!(matches!(
                read_frame(&mut r, 100),
                Err(Error::TruncatedFrame)
            ));
        }
    }

    #[test]
    fn decoder_reassembles_byte_by_byte() {
        let mut wire = Vec::new();
        for body in [&b"one"[..], b"", b"three"] {
            encode_frame(body, &mut wire);
        }
        let mut dec = FrameDecoder::new(100);
        let mut got = Vec::new();
        for b in &wire {
            dec.extend(&[*b]);
            while let Some(frame) = dec.next_frame().unwrap() {
                got.push(frame);
            }
        }
        assert_eq!(got, [b"one".to_vec(), vec![], b"three".to_vec()]);
        assert!(!dec.has_partial());
    }

    #[test]
    fn batches_respect_the_limit() {
        let blocks: Vec<Block> = [300, 300, 200, 600, 1, 512]
            .iter()
            .enumerate()
            .map(|(i, n)| block(*n, i as u8))
            .collect();
        let batches = batch_blocks(blocks.clone(), 512);
        let sizes: Vec<Vec<usize>> = batches
            .iter()
            .map(|b| b.iter().map(|x| x.data.len()).collect())
            .collect();
        assert_eq!(
            sizes,
            [vec![300], vec![300, 200], vec![600], vec![1], vec![512]]
        );
        assert_eq!(batches.concat(), blocks);
    }

    proptest! {
        #[test]
        fn batching_preserves_order_and_bounds(lens in proptest::collection::vec(0usize..700, 0..30), max in 1usize..1000) {
            let blocks: Vec<Block> = lens.iter().enumerate().map(|(i, n)| block(*n, i as u8)).collect();
            let batches = batch_blocks(blocks.clone(), max);
            for b in &batches {
                let total: usize = b.iter().map(|x| x.data.len()).sum();
                prop_assert!(!b.is_empty());
                prop_assert!(total <= max || b.len() == 1);
            }
            prop_assert_eq!(batches.concat(), blocks);
        }

        #[test]
        fn random_bytes_never_panic_the_decoder(bytes in proptest::collection::vec(any::<u8>(), 0..64), max in 0usize..64) {
            let _ = decode_frame(&bytes, max);
            let mut dec = FrameDecoder::new(max);
            dec.extend(&bytes);
            while let Ok(Some(_)) = dec.next_frame() {}
            let mut r = &bytes[..];
            while let Ok(Some(_)) = read_message(&mut r, max) {}
        }
    }
}
