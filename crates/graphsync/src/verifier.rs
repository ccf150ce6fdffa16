//! The requester's check of a response, as go-graphsync's reconciled loader
//! does it (`docs/src/formats/network.md`, "Verification and bounds"): the requester re-runs the same selector locally
//! and accepts a block only when its own traversal loads that link next.
//!
//! For each `meta` entry the local traversal's next link must be the entry's
//! link ([`Error::UnexpectedLink`] otherwise, which also catches out-of-order
//! responses). For `p` / `d` the block must be in the message, or have been
//! received earlier in this request, or be known locally
//! ([`Verifier::add_known`], for `do-not-send-cids`); each message block is
//! re-hashed from its prefix, so a tampered block has a different CID and is
//! never found ([`Error::BlockNotReceived`]). For `m` / `s` the subtree is
//! skipped, as the responder did. Blocks of a message that no entry used are
//! [`Error::UnexpectedBlock`]; duplicates of a block in one message are tolerated.

use std::collections::HashMap;

use bytes::Bytes;
use cid::Cid;
use tau_ipld::block::RAW;
use tau_ipld::Blockstore;

use crate::message::{Block, LinkAction, Metadatum, Response, Status};
use crate::selector::Selector;
use crate::traversal::{Limits, Traversal};
use crate::{Error, Result};

/// The blocks of one message, by rebuilt CID, with a note of which were used.
/// Block bytes are shared buffers: handing a block to several metadata
/// entries (responses of one message may share a block) copies nothing.
#[derive(Debug, Default)]
pub struct BlockPool {
    blocks: HashMap<Cid, Pooled>,
}

#[derive(Debug)]
struct Pooled {
    data: Bytes,
    used: bool,
}

impl BlockPool {
    /// Rebuilds each block's CID from its prefix and data. A block whose prefix
    /// names an unsupported hash is an error; a block sent twice is kept once.
    pub fn new(blocks: &[Block]) -> Result<Self> {
        Self::from_blocks(blocks.to_vec())
    }

    /// As [`new`](Self::new), taking the blocks.
    pub fn from_blocks(blocks: Vec<Block>) -> Result<Self> {
        let mut pool = BlockPool::default();
        for b in blocks {
            let cid = b.cid()?;
            pool.blocks.entry(cid).or_insert(Pooled {
                data: b.data,
                used: false,
            });
        }
        Ok(pool)
    }

    /// Marks the block for `cid` used; whether the pool has it.
    fn mark(&mut self, cid: &Cid) -> bool {
        self.blocks.get_mut(cid).map(|p| p.used = true).is_some()
    }

    /// The block for `cid` (its shared bytes), marking it used.
    fn take(&mut self, cid: &Cid) -> Option<Bytes> {
        self.blocks.get_mut(cid).map(|p| {
            p.used = true;
            p.data.clone()
        })
    }

    /// Fails with [`Error::UnexpectedBlock`] if some block was used by no
    /// metadata entry (call after every response of the message was pushed).
    pub fn check_all_used(&self) -> Result<()> {
        match self.blocks.iter().find(|(_, p)| !p.used) {
            Some((cid, _)) => Err(Error::UnexpectedBlock(Box::new(*cid))),
            None => Ok(()),
        }
    }
}

/// How a verified request ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RequestEnd {
    /// The final status (20 or 21).
    pub status: Status,
    /// Links the responder reported missing (`m`) or skipped (`s`).
    pub missing: Vec<Cid>,
    /// Links the traversal loaded.
    pub links: u64,
}

/// Verifies the responses to one request.
///
/// ```
/// use tau_graphsync::{verifier::{BlockPool, Verifier}, traversal::Limits};
/// use tau_graphsync::{Block, LinkAction, Metadatum, Selector, Status};
/// use tau_ipld::block::{cid_of, RAW};
///
/// let data = b"hello".to_vec();
/// let root = cid_of(RAW, &data);
/// let mut v = Verifier::new(root, &Selector::Matcher, &Limits::default())?;
/// let meta = [Metadatum { link: root, action: LinkAction::Present }];
/// let mut pool = BlockPool::new(&[Block::new(&root, data.clone())])?;
/// assert_eq!(v.push(&meta, &mut pool)?, vec![(root, data.into())]);
/// pool.check_all_used()?;
/// assert!(v.finish(Status::CompletedFull)?.missing.is_empty());
/// # Ok::<(), tau_graphsync::Error>(())
/// ```
#[derive(Debug)]
pub struct Verifier {
    traversal: Traversal,
    /// Structured blocks accepted or known, kept to walk them again when the
    /// DAG repeats a link. Raw blocks are leaves and are not kept.
    have: HashMap<Cid, Bytes>,
    /// CIDs of raw blocks accepted or known.
    have_raw: std::collections::HashSet<Cid>,
    /// CIDs of structured blocks accepted with a local store given: the
    /// caller stored them, so only their CIDs are kept here (a request's
    /// memory is then its CIDs, not its blocks).
    stored: std::collections::HashSet<Cid>,
    missing: Vec<Cid>,
    finished: bool,
}

impl Verifier {
    /// A verifier for a request of `selector` from `root`, with the same limits
    /// the responder applies.
    pub fn new(root: Cid, selector: &Selector, limits: &Limits) -> Result<Self> {
        Ok(Verifier {
            traversal: Traversal::new(root, selector, limits)?,
            have: HashMap::new(),
            have_raw: Default::default(),
            stored: Default::default(),
            missing: Vec::new(),
            finished: false,
        })
    }

    /// Declares a block the requester already has (e.g. listed in
    /// `do-not-send-cids`); it is checked against its CID.
    pub fn add_known(&mut self, cid: Cid, data: Vec<u8>) -> Result<()> {
        tau_ipld::block::verify(&cid, &data)?;
        self.remember(cid, data.into());
        Ok(())
    }

    fn remember(&mut self, cid: Cid, data: Bytes) {
        if cid.codec() == RAW {
            self.have_raw.insert(cid);
        } else {
            self.have.insert(cid, data);
        }
    }

    /// Checks one response's metadata against the local traversal, taking
    /// blocks from `pool`. Returns the newly verified blocks, in traversal order.
    pub fn push(&mut self, meta: &[Metadatum], pool: &mut BlockPool) -> Result<Vec<(Cid, Bytes)>> {
        self.push_with_store(meta, pool, None)
    }

    /// As [`push`](Self::push), and a link marked `d` (duplicate not sent)
    /// whose block is neither known nor in the message may be in `local` (the
    /// requester's store, where another request to the same peer put it: the
    /// responder deduplicates across a peer's requests in flight). Blocks read
    /// from `local` are verified against their CID and not returned as new.
    ///
    /// With `local` given, the caller must put the blocks returned into it
    /// (before the next push): the verifier then keeps only their CIDs and
    /// reads a repeated block back from `local`.
    pub fn push_with_store(
        &mut self,
        meta: &[Metadatum],
        pool: &mut BlockPool,
        local: Option<&dyn Blockstore>,
    ) -> Result<Vec<(Cid, Bytes)>> {
        if self.finished {
            return Err(Error::Finished);
        }
        let mut verified = Vec::new();
        for md in meta {
            let expected = self
                .traversal
                .next_link()?
                .ok_or_else(|| Error::ExtraLink(Box::new(md.link)))?;
            if expected != md.link {
                return Err(Error::UnexpectedLink {
                    expected: Box::new(expected),
                    got: Box::new(md.link),
                });
            }
            match md.action {
                LinkAction::Present | LinkAction::DuplicateNotSent => {
                    let cid = md.link;
                    if let Some(data) = self.have.get(&cid) {
                        self.traversal.provide_shared(Some(data.clone()))?;
                        // A re-sent copy in the pool is a tolerated duplicate.
                        pool.mark(&cid);
                    } else if self.have_raw.contains(&cid) {
                        // Raw blocks are leaves: the traversal needs no bytes.
                        self.traversal.provide(Some(&[]))?;
                        pool.mark(&cid);
                    } else if let Some(data) = pool.take(&cid) {
                        self.traversal.provide_shared(Some(data.clone()))?;
                        if self.stored.contains(&cid) {
                            // A repeat, already verified and handed out.
                            continue;
                        }
                        if cid.codec() == RAW {
                            self.have_raw.insert(cid);
                        } else if local.is_some() {
                            // The caller stores it: read it back if it repeats,
                            // rather than hold every block of the request.
                            self.stored.insert(cid);
                        } else {
                            self.have.insert(cid, data.clone());
                        }
                        verified.push((cid, data));
                    } else {
                        let stored = match (md.action, local) {
                            (LinkAction::DuplicateNotSent, Some(store)) => store.get(&cid)?,
                            (_, Some(store)) if self.stored.contains(&cid) => store.get(&cid)?,
                            _ => None,
                        };
                        let data: Bytes = stored
                            .ok_or_else(|| Error::BlockNotReceived(Box::new(cid)))?
                            .into();
                        self.traversal.provide_shared(Some(data.clone()))?;
                        if local.is_some() && cid.codec() != RAW {
                            self.stored.insert(cid);
                        } else {
                            self.remember(cid, data);
                        }
                    }
                }
                LinkAction::Missing | LinkAction::DuplicateDagSkipped => {
                    self.missing.push(md.link);
                    self.traversal.provide(None)?;
                }
            }
        }
        Ok(verified)
    }

    /// Ends the request with the responder's final `status`: an error status
    /// is [`Error::RequestFailed`]; a success must leave the local traversal
    /// complete ([`Error::Incomplete`]) and 20 must have no missing block.
    pub fn finish(&mut self, status: Status) -> Result<RequestEnd> {
        if self.finished {
            return Err(Error::Finished);
        }
        if !status.is_terminal() {
            return Err(Error::TraversalState("finish needs a terminal status"));
        }
        self.finished = true;
        if status.is_error() {
            return Err(Error::RequestFailed(status));
        }
        if self.traversal.next_link()?.is_some() {
            return Err(Error::Incomplete { status });
        }
        if status == Status::CompletedFull && !self.missing.is_empty() {
            return Err(Error::InconsistentStatus {
                status,
                reason: "blocks were reported missing",
            });
        }
        Ok(RequestEnd {
            status,
            missing: self.missing.clone(),
            links: self.traversal.links(),
        })
    }

    /// [`push`](Self::push) the response's metadata, then
    /// [`finish`](Self::finish) if its status is terminal; an error status
    /// with a reason ([`REJECTION_REASON`](crate::responder::REJECTION_REASON))
    /// is [`Error::Refused`].
    pub fn receive(
        &mut self,
        response: &Response,
        pool: &mut BlockPool,
    ) -> Result<VerifiedResponse> {
        self.receive_with_store(response, pool, None)
    }

    /// [`receive`](Self::receive) with [`push_with_store`](Self::push_with_store).
    pub fn receive_with_store(
        &mut self,
        response: &Response,
        pool: &mut BlockPool,
        local: Option<&dyn Blockstore>,
    ) -> Result<VerifiedResponse> {
        let blocks = self.push_with_store(&response.metadata, pool, local)?;
        if response.status.is_error() {
            if let Some(reason) = crate::responder::rejection_reason(&response.extensions) {
                self.finished = true;
                return Err(Error::Refused {
                    status: response.status,
                    reason: reason.to_string(),
                });
            }
        }
        let outcome = if response.status.is_terminal() {
            Some(self.finish(response.status)?)
        } else {
            None
        };
        Ok(VerifiedResponse { blocks, outcome })
    }

    /// Whether a terminal status was processed.
    pub fn is_finished(&self) -> bool {
        self.finished
    }
}

/// What one response delivered.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerifiedResponse {
    /// Newly verified blocks, in traversal order.
    pub blocks: Vec<(Cid, Bytes)>,
    /// Set when the response ended the request.
    pub outcome: Option<RequestEnd>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::message::RequestId;
    use tau_ipld::block::cid_of;

    fn response(id: u8, links: &[(Cid, LinkAction)]) -> Response {
        Response {
            id: RequestId([id; 16]),
            status: Status::CompletedFull,
            metadata: links
                .iter()
                .map(|(link, action)| Metadatum {
                    link: *link,
                    action: *action,
                })
                .collect(),
            extensions: Default::default(),
        }
    }

    #[test]
    fn a_block_shared_by_two_responses_reaches_both() {
        let data = b"shared leaf".to_vec();
        let cid = cid_of(RAW, &data);
        let other = b"other leaf".to_vec();
        let other_cid = cid_of(RAW, &other);
        let responses = [
            response(1, &[(cid, LinkAction::Present)]),
            response(2, &[(cid, LinkAction::DuplicateNotSent)]),
            response(3, &[(other_cid, LinkAction::Present)]),
        ];
        let blocks = vec![
            Block::new(&cid, data.clone()),
            Block::new(&other_cid, other.clone()),
        ];
        let mut pool = BlockPool::from_blocks(blocks).unwrap();
        for (r, root, want) in [(0, cid, &data), (1, cid, &data), (2, other_cid, &other)] {
            let mut v = Verifier::new(root, &Selector::Matcher, &Limits::default()).unwrap();
            let got = v.receive(&responses[r], &mut pool).unwrap();
            assert_eq!(got.blocks, vec![(root, Bytes::from(want.clone()))]);
            assert_eq!(got.outcome.unwrap().status, Status::CompletedFull);
        }
        pool.check_all_used().unwrap();
    }
}
