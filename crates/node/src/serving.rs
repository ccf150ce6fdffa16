//! Answering head requests (`/tau/head/2.0.0`) from a snapshot of the
//! consensus state, and queueing the transactions they relay.
//!
//! The swarm's request-response behaviour reads and checks each request
//! within its bounds (the size limit, the request timeout, at most
//! `MAX_HEAD_STREAMS_PER_CONNECTION` streams per connection and the
//! connection limits); the owner task answers it here at once, without a
//! worker, so answering costs one copy of a shared buffer.

use bytes::Bytes;
use libp2p::request_response::ResponseChannel;
use libp2p::PeerId;

use crate::protocol::{self, HeadRequest};
use crate::runtime::{lock, Shared};
use crate::state::NodeState;
use crate::swarm::Command;

/// Relayed transactions queued at most between two process-B ticks.
pub(crate) const MAX_RELAYED_QUEUE: usize = 4096;

/// A head request is answered from this copy, never from the core itself, so
/// an answer does not wait while the core validates a peer's chain, catches
/// up or mines. Process B refreshes it every tick (and process A after each
/// block), so it is at most a poll interval old.
#[derive(Default)]
pub(crate) struct AnswerSnapshot {
    /// The encoded answer; `None`: no answer (no safety point within the
    /// mutable range: seed 000, process A step 1).
    pub(crate) answer: Option<Bytes>,
    /// Peers marked dishonest (not answered).
    pub(crate) marked: std::collections::BTreeSet<PeerId>,
}

impl Shared {
    /// Copies what head requests are answered with out of `core`.
    pub(crate) fn refresh_answer(&self, core: &NodeState) {
        let answer = core
            .answer()
            .and_then(|a| protocol::encode(&a).ok())
            .map(Bytes::from);
        let marked = core.engine().marked().clone();
        *lock(&self.snapshot) = AnswerSnapshot { answer, marked };
    }

    /// Hands the queued relayed transactions to the mempool.
    pub(crate) fn take_relayed(&self, core: &mut NodeState) {
        let relayed: Vec<_> = lock(&self.relayed).drain(..).collect();
        if !relayed.is_empty() {
            core.accept_transactions(relayed);
        }
    }
}

impl Shared {
    /// Answers `peer`'s head request: the head, safety point, seen heads and
    /// peers from the snapshot (never pushes anything, seed 000), unless the
    /// peer is marked or the node holds no safety point within the mutable
    /// range (then no answer: `channel` is dropped). The transactions it
    /// relays for our chain join the queue, within its cap.
    pub(crate) fn answer_head(
        &self,
        peer: PeerId,
        request: HeadRequest,
        channel: ResponseChannel<Bytes>,
    ) {
        let answer = {
            let snapshot = lock(&self.snapshot);
            if snapshot.marked.contains(&peer) {
                return;
            }
            snapshot.answer.clone()
        };
        if request.chain == self.config.chain.chain_id.as_str() {
            let mut queue = lock(&self.relayed);
            let room = MAX_RELAYED_QUEUE.saturating_sub(queue.len());
            queue.extend(request.transactions.into_iter().take(room));
        }
        if let Some(answer) = answer {
            self.command(Command::AnswerHead(channel, answer));
        }
    }
}
