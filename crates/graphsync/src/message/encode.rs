//! The direct encoder of a [`Message`]: the DAG-CBOR body written straight
//! into one buffer, the block bytes copied once, with no `Ipld` value built
//! for the blocks. Byte-identical with `serde_ipld_dagcbor` over
//! [`Message::to_ipld`] (tested): the outer map has the one key `"gs2"`, the
//! inner one the keys `"blk" < "req" < "rsp"` (all three bytes long, so
//! DAG-CBOR's length-first order is bytewise), and every head is minimal.

use ipld_core::ipld::Ipld;

use super::{Message, Request, Response};
use tau_ipld::cbor::{self, head_len};

use crate::{dagcbor, varint, Error, Result};

/// CBOR major types used here.
const BYTES: u8 = cbor::MAJOR_BYTES;
const ARRAY: u8 = cbor::MAJOR_ARRAY;
const MAP: u8 = cbor::MAJOR_MAP;

/// `"gs2"`, `"blk"`, `"req"`, `"rsp"` as CBOR text strings.
const GS2: [u8; 4] = [0x63, b'g', b's', b'2'];
const BLK: [u8; 4] = [0x63, b'b', b'l', b'k'];
const REQ: [u8; 4] = [0x63, b'r', b'e', b'q'];
const RSP: [u8; 4] = [0x63, b'r', b's', b'p'];

/// Appends the minimal CBOR head of `major` with `arg` (tau-ipld's one writer).
fn write_head(major: u8, arg: u64, out: &mut Vec<u8>) {
    cbor::write_header(out, major, arg);
}

/// Length of a CBOR byte string of `len` bytes, head included.
fn bytes_len(len: usize) -> usize {
    head_len(len as u64) + len
}

/// A message's parts, ready to be written: requests and responses encoded
/// (they are small), block prefixes in wire form, the body length.
struct Prepared {
    requests: Option<Vec<u8>>,
    responses: Option<Vec<u8>>,
    prefixes: Vec<Vec<u8>>,
    body_len: usize,
}

fn encode_list<T>(items: &[T], to_ipld: impl Fn(&T) -> Ipld) -> Result<Option<Vec<u8>>> {
    if items.is_empty() {
        return Ok(None);
    }
    dagcbor::encode(&Ipld::List(items.iter().map(to_ipld).collect())).map(Some)
}

impl Message {
    fn prepare(&self) -> Result<Prepared> {
        let requests = encode_list(&self.requests, Request::to_ipld)?;
        let responses = encode_list(&self.responses, Response::to_ipld)?;
        let prefixes: Vec<Vec<u8>> = self.blocks.iter().map(|b| b.prefix.to_bytes()).collect();
        let fields = [
            requests.is_some(),
            responses.is_some(),
            !prefixes.is_empty(),
        ]
        .iter()
        .filter(|present| **present)
        .count();
        let mut body_len = GS2.len() + 1 + head_len(fields as u64);
        if !self.blocks.is_empty() {
            body_len += BLK.len() + head_len(self.blocks.len() as u64);
            for (block, prefix) in self.blocks.iter().zip(&prefixes) {
                body_len += 1 + bytes_len(prefix.len()) + bytes_len(block.data.len());
            }
        }
        for part in [&requests, &responses].into_iter().flatten() {
            body_len += REQ.len() + part.len();
        }
        Ok(Prepared {
            requests,
            responses,
            prefixes,
            body_len,
        })
    }

    fn write_body(&self, p: &Prepared, out: &mut Vec<u8>) {
        out.push(0xa1); // {"gs2": {…}}
        out.extend_from_slice(&GS2);
        let fields = usize::from(!self.blocks.is_empty())
            + usize::from(p.requests.is_some())
            + usize::from(p.responses.is_some());
        write_head(MAP, fields as u64, out);
        if !self.blocks.is_empty() {
            out.extend_from_slice(&BLK);
            write_head(ARRAY, self.blocks.len() as u64, out);
            for (block, prefix) in self.blocks.iter().zip(&p.prefixes) {
                write_head(ARRAY, 2, out);
                write_head(BYTES, prefix.len() as u64, out);
                out.extend_from_slice(prefix);
                write_head(BYTES, block.data.len() as u64, out);
                out.extend_from_slice(&block.data);
            }
        }
        if let Some(requests) = &p.requests {
            out.extend_from_slice(&REQ);
            out.extend_from_slice(requests);
        }
        if let Some(responses) = &p.responses {
            out.extend_from_slice(&RSP);
            out.extend_from_slice(responses);
        }
    }

    /// The DAG-CBOR encoding (without framing).
    pub fn encode(&self) -> Result<Vec<u8>> {
        let prepared = self.prepare()?;
        let mut out = Vec::with_capacity(prepared.body_len);
        self.write_body(&prepared, &mut out);
        Ok(out)
    }

    /// Appends the frame of this message to `out`: the varint length, then
    /// the body [`encode`](Self::encode) returns, written in place (block
    /// bytes are copied once). A body over `max_size` is
    /// [`Error::FrameTooLarge`] and leaves `out` as it was. Returns the
    /// frame's length.
    ///
    /// ```
    /// use tau_graphsync::framing::decode_frame;
    /// use tau_graphsync::{Block, Message};
    /// use tau_ipld::block::{cid_of, RAW};
    ///
    /// let data = vec![7u8; 1000];
    /// let msg = Message { blocks: vec![Block::new(&cid_of(RAW, &data), data)], ..Message::default() };
    /// let mut frame = Vec::new();
    /// let len = msg.encode_frame_into(4 << 20, &mut frame)?;
    /// assert_eq!(len, frame.len());
    /// let (body, _) = decode_frame(&frame, 4 << 20)?.unwrap();
    /// assert_eq!(Message::decode(body)?, msg);
    /// assert!(msg.encode_frame_into(999, &mut frame).is_err());
    /// # Ok::<(), tau_graphsync::Error>(())
    /// ```
    pub fn encode_frame_into(&self, max_size: usize, out: &mut Vec<u8>) -> Result<usize> {
        let prepared = self.prepare()?;
        if prepared.body_len > max_size {
            return Err(Error::FrameTooLarge {
                len: prepared.body_len as u64,
                max: max_size,
            });
        }
        let start = out.len();
        out.reserve_exact(varint::MAX_LEN + prepared.body_len);
        varint::encode(prepared.body_len as u64, out);
        self.write_body(&prepared, out);
        Ok(out.len() - start)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::message::{Block, LinkAction, Metadatum, RequestId, RequestKind, Status};
    use crate::Extensions;
    use proptest::prelude::*;
    use tau_ipld::block::{cid_of, DAG_CBOR, RAW};

    #[test]
    fn heads_are_minimal() {
        for (arg, len) in [
            (0u64, 1),
            (23, 1),
            (24, 2),
            (255, 2),
            (256, 3),
            (65_535, 3),
            (65_536, 5),
            (u64::from(u32::MAX), 5),
            (u64::from(u32::MAX) + 1, 9),
        ] {
            let mut out = Vec::new();
            write_head(BYTES, arg, &mut out);
            assert_eq!(out.len(), len, "{arg}");
            assert_eq!(head_len(arg), len);
            // serde_ipld_dagcbor writes the same head for a byte string that long.
            if arg < 70_000 {
                let want = dagcbor::encode(&Ipld::Bytes(vec![0; arg as usize])).unwrap();
                assert_eq!(&want[..len], &out[..]);
            }
        }
    }

    fn message(sizes: &[usize], with_request: bool, with_response: bool) -> Message {
        let blocks = sizes
            .iter()
            .enumerate()
            .map(|(i, n)| {
                let data: Vec<u8> = (0..*n).map(|j| (i + j) as u8).collect();
                let codec = if i % 2 == 0 { RAW } else { DAG_CBOR };
                Block::new(&cid_of(codec, &data), data)
            })
            .collect::<Vec<_>>();
        let link = cid_of(RAW, b"link");
        Message {
            requests: if with_request {
                vec![Request {
                    id: RequestId([9; 16]),
                    kind: RequestKind::New {
                        root: link,
                        selector: Ipld::Map(Default::default()),
                        priority: 3,
                        extensions: Extensions::default(),
                    },
                }]
            } else {
                Vec::new()
            },
            responses: if with_response {
                vec![Response {
                    id: RequestId([4; 16]),
                    status: Status::PartialResponse,
                    metadata: vec![Metadatum {
                        link,
                        action: LinkAction::Present,
                    }],
                    extensions: Extensions::default(),
                }]
            } else {
                Vec::new()
            },
            blocks,
        }
    }

    proptest! {
        #[test]
        fn direct_encoding_equals_the_ipld_encoding(
            sizes in proptest::collection::vec(
                prop_oneof![0usize..30, 250usize..260, 65_530usize..65_540],
                0..4,
            ),
            with_request: bool,
            with_response: bool,
            max in 0usize..200_000,
        ) {
            let msg = message(&sizes, with_request, with_response);
            let want = dagcbor::encode(&msg.to_ipld()).unwrap();
            prop_assert_eq!(&msg.encode().unwrap(), &want);
            let mut frame = vec![0xee];
            match msg.encode_frame_into(max, &mut frame) {
                Ok(n) => {
                    prop_assert!(want.len() <= max);
                    prop_assert_eq!(n, frame.len() - 1);
                    let mut expected = vec![0xee];
                    crate::framing::encode_frame(&want, &mut expected);
                    prop_assert_eq!(frame, expected);
                }
                Err(Error::FrameTooLarge { len, .. }) => {
                    prop_assert!(want.len() > max);
                    prop_assert_eq!(len, want.len() as u64);
                    prop_assert_eq!(frame, vec![0xee]);
                }
                Err(e) => prop_assert!(false, "unexpected error {}", e),
            }
        }
    }
}
