//! Answering head requests (`/tau/head/1.0.0`) from a snapshot of the core,
//! within per-peer and total slots, and queueing the transactions they relay.

use std::sync::{Arc, Mutex};

use libp2p::PeerId;

use crate::protocol::{self, HeadRequest};
use crate::runtime::{lock, Shared};
use crate::state::NodeState;
use crate::Error;

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
    pub(crate) answer: Option<Arc<Vec<u8>>>,
    /// Peers marked dishonest (not answered).
    pub(crate) marked: std::collections::BTreeSet<PeerId>,
}

impl Shared {
    /// Copies what head requests are answered with out of `core`.
    pub(crate) fn refresh_answer(&self, core: &NodeState) {
        let answer = core
            .answer()
            .and_then(|a| protocol::encode(&a).ok())
            .map(Arc::new);
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

/// Head requests served at once, for all peers.
pub(crate) const MAX_HEAD_STREAMS: usize = 64;

/// Head requests served at once for one peer.
pub(crate) const MAX_HEAD_STREAMS_PER_PEER: usize = 4;

/// Head requests in progress per peer.
#[derive(Default)]
pub(crate) struct HeadSlots {
    in_use: std::collections::HashMap<PeerId, usize>,
}

/// One peer's head-request slot, given back when dropped.
pub(crate) struct HeadSlot {
    slots: Arc<Mutex<HeadSlots>>,
    peer: PeerId,
}

impl HeadSlots {
    /// A slot for `peer`, if it has fewer than its share in use.
    fn take(slots: &Arc<Mutex<HeadSlots>>, peer: PeerId) -> Option<HeadSlot> {
        let mut table = lock(slots);
        let used = table.in_use.entry(peer).or_insert(0);
        if *used >= MAX_HEAD_STREAMS_PER_PEER {
            return None;
        }
        *used += 1;
        Some(HeadSlot {
            slots: slots.clone(),
            peer,
        })
    }
}

impl Drop for HeadSlot {
    fn drop(&mut self) {
        let mut table = lock(&self.slots);
        if let Some(used) = table.in_use.get_mut(&self.peer) {
            *used = used.saturating_sub(1);
            if *used == 0 {
                table.in_use.remove(&self.peer);
            }
        }
    }
}

/// The limits head requests are admitted within: a few slots per peer, then
/// the shared total.
pub(crate) struct HeadServer {
    busy: Arc<tokio::sync::Semaphore>,
    per_peer: Arc<Mutex<HeadSlots>>,
}

impl HeadServer {
    pub(crate) fn new() -> Self {
        Self {
            busy: Arc::new(tokio::sync::Semaphore::new(MAX_HEAD_STREAMS)),
            per_peer: Arc::new(Mutex::new(HeadSlots::default())),
        }
    }

    /// Admits the head request `peer` opened `stream` for: answered by a
    /// worker (the head, safety point, seen heads and peers, from the
    /// snapshot; never pushes anything, seed 000) if the peer has a slot
    /// left and the node is not at its total, else the stream is dropped.
    pub(crate) fn admit(&self, inner: &Arc<Shared>, peer: PeerId, mut stream: libp2p::Stream) {
        // One peer holding slow streams must not take everyone's
        // slots: a few per peer, then the shared total.
        let Some(slot) = HeadSlots::take(&self.per_peer, peer) else {
            return; // this peer has its share: drop the stream
        };
        let Ok(permit) = self.busy.clone().try_acquire_owned() else {
            return; // overloaded: drop the stream
        };
        let worker = inner.clone();
        lock(&inner.workers).spawn(async move {
            let inner = worker;
            let _permit = permit;
            let _slot = slot;
            let timeout = inner.config.timing.request_timeout;
            let serve = async {
                let bytes = protocol::read_frame(&mut stream).await?;
                let request: HeadRequest = protocol::decode(&bytes, &peer)?;
                request.check().map_err(|r| Error::BadMessage {
                    peer: peer.to_string(),
                    reason: r.into(),
                })?;
                let answer = {
                    let snapshot = lock(&inner.snapshot);
                    if snapshot.marked.contains(&peer) {
                        return Ok(());
                    }
                    snapshot.answer.clone()
                };
                if request.chain == inner.config.chain.chain_id.as_str() {
                    let mut queue = lock(&inner.relayed);
                    let room = MAX_RELAYED_QUEUE.saturating_sub(queue.len());
                    queue.extend(request.transactions.into_iter().take(room));
                }
                // No safety point within the mutable range: no
                // response (seed 000, process A step 1).
                let Some(answer) = answer else {
                    return Ok(());
                };
                protocol::write_frame(&mut stream, &answer).await?;
                let _ = futures::AsyncWriteExt::close(&mut stream).await;
                Ok::<(), Error>(())
            };
            match tokio::time::timeout(timeout, serve).await {
                Ok(Ok(())) => {}
                Ok(Err(e)) => tracing::debug!(%peer, "head request: {e}"),
                Err(_) => tracing::debug!(%peer, "head request timed out"),
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_peer_holds_at_most_its_share_of_head_slots_and_gets_them_back() {
        let slots = Arc::new(Mutex::new(HeadSlots::default()));
        let (greedy, other) = (PeerId::random(), PeerId::random());
        let held: Vec<HeadSlot> = (0..MAX_HEAD_STREAMS_PER_PEER)
            .filter_map(|_| HeadSlots::take(&slots, greedy))
            .collect();
        assert_eq!(held.len(), MAX_HEAD_STREAMS_PER_PEER);
        assert!(HeadSlots::take(&slots, greedy).is_none(), "over its share");
        assert!(
            HeadSlots::take(&slots, other).is_some(),
            "others unaffected"
        );
        drop(held);
        assert!(lock(&slots).in_use.is_empty(), "dropped slots are returned");
        assert!(HeadSlots::take(&slots, greedy).is_some());
    }
}
