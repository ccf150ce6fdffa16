//! A requester and a responder joined in memory, through the real wire path:
//! request → encode → frame → decode → [`Responder`] → response messages →
//! encode → frame → decode → [`Verifier`]. Used by tests (here and in crates
//! above) to exercise the whole pipeline without a network.

use cid::Cid;
use tau_ipld::BlockstoreExt;

use crate::framing::{encode_frame, FrameDecoder, DEFAULT_MAX_MESSAGE_SIZE};
use crate::message::{Extensions, Message, Request, RequestId, RequestKind};
use crate::responder::Responder;
use crate::selector::Selector;
use crate::verifier::{BlockPool, RequestEnd, Verifier};
use crate::{Error, Result};

/// What a request fetched.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Fetched {
    /// Verified blocks, in traversal order.
    pub blocks: Vec<(Cid, crate::Bytes)>,
    /// How the request ended.
    pub outcome: RequestEnd,
    /// Response messages received.
    pub messages: usize,
    /// Framed bytes received.
    pub wire_bytes: usize,
}

/// Sends `message` through framing: encode, frame, then reassemble and decode
/// as a receiver would.
pub fn through_the_wire(message: &Message) -> Result<(Message, usize)> {
    let mut wire = Vec::new();
    encode_frame(&message.encode()?, &mut wire);
    let mut decoder = FrameDecoder::new(DEFAULT_MAX_MESSAGE_SIZE);
    decoder.extend(&wire);
    let msg = decoder.next_message()?.ok_or(Error::TruncatedFrame)?;
    Ok((msg, wire.len()))
}

/// Runs one request of `selector` from `root` against `responder` serving
/// `store`, verifying every response. `known` are blocks the requester already
/// holds (pass their CIDs in `do-not-send-cids` to have them skipped). `tamper` may alter each response message
/// in flight (after framing, before the requester sees it), to test that the
/// verifier rejects what a dishonest peer could send.
pub fn fetch<BS: BlockstoreExt + ?Sized>(
    responder: &mut Responder<u64>,
    store: &BS,
    root: Cid,
    selector: &Selector,
    extensions: Extensions,
    known: &[(Cid, Vec<u8>)],
    mut tamper: impl FnMut(&mut Message),
) -> Result<Fetched> {
    const PEER: u64 = 1;
    let id = RequestId([0x42; 16]);
    let limits = responder.config().limits;
    let mut verifier = Verifier::new(root, selector, &limits)?;
    for (cid, data) in known {
        verifier.add_known(*cid, data.clone())?;
    }
    let request = Message {
        requests: vec![Request {
            id,
            kind: RequestKind::New {
                root,
                selector: selector.to_ipld(),
                priority: 0,
                extensions,
            },
        }],
        ..Message::default()
    };
    let (request, _) = through_the_wire(&request)?;
    let mut queue: Vec<Message> = responder
        .receive(&PEER, request.requests)
        .into_iter()
        .collect();
    let mut fetched = Fetched {
        blocks: Vec::new(),
        outcome: RequestEnd {
            status: crate::Status::PartialResponse,
            missing: Vec::new(),
            links: 0,
        },
        messages: 0,
        wire_bytes: 0,
    };
    loop {
        let next = match queue.pop() {
            Some(m) => Some(m),
            None => responder.poll(&PEER, store),
        };
        let Some(mut msg) = next else {
            return Err(Error::Incomplete {
                status: crate::Status::PartialResponse,
            });
        };
        let bytes: usize = msg.blocks.iter().map(|b| b.data.len()).sum();
        responder.acknowledge(&PEER, bytes);
        tamper(&mut msg);
        let (msg, wire) = through_the_wire(&msg)?;
        fetched.messages += 1;
        fetched.wire_bytes += wire;
        let mut pool = BlockPool::new(&msg.blocks)?;
        let mut outcome = None;
        for response in msg.responses.iter().filter(|r| r.id == id) {
            let received = verifier.receive(response, &mut pool)?;
            fetched.blocks.extend(received.blocks);
            outcome = outcome.or(received.outcome);
        }
        pool.check_all_used()?;
        if let Some(outcome) = outcome {
            fetched.outcome = outcome;
            return Ok(fetched);
        }
    }
}
