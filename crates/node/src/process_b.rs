//! Process B: asking peers for their heads, fetching their chains with
//! Graphsync into quarantines, validating, voting, catching up.

use std::sync::Arc;

use cid::Cid;
use libp2p::{Multiaddr, PeerId};
use tau_graphsync::net::RequestBudget;
use tau_graphsync::{Extensions, Selector};
use tau_ipld::Quarantine;
use tau_ipld::SharedStore;

use crate::handle::{ChainPoint, NodeEvent};
use crate::protocol::{self, HeadRequest, HEAD_PROTOCOL};
use crate::runtime::{lock, Shared};
use crate::state::unix_now;
use crate::swarm::Command;
use crate::Error;
use tau_cbc::{AnswerVerdict, CatchUp, WalkBack};

impl Shared {
    /// An empty quarantine of at most `limit` bytes in front of the store,
    /// drawing from the node's total.
    pub(crate) fn quarantine(&self, limit: u64) -> Arc<Quarantine<SharedStore>> {
        Arc::new(Quarantine::new(
            self.store.blocks().clone(),
            limit,
            self.quarantined.clone(),
        ))
    }

    /// Fetches what `selector` reaches from `root` on `peer` into
    /// `quarantine`, within the node's fetch budget.
    pub(crate) async fn fetch(
        &self,
        peer: PeerId,
        root: Cid,
        selector: &Selector,
        quarantine: &Arc<Quarantine<SharedStore>>,
    ) -> std::result::Result<(), tau_graphsync::Error> {
        let timing = &self.config.timing;
        let room = quarantine.limit().saturating_sub(quarantine.held_bytes());
        let budget = RequestBudget {
            total_timeout: Some(timing.fetch_timeout),
            max_blocks: room / MIN_BLOCK_COST,
            max_bytes: room,
        };
        let store: SharedStore = quarantine.clone();
        self.graphsync
            .request_into_with_budget(peer, root, selector, Extensions::default(), store, budget)?
            .finish()
            .await
            .map(|_| ())
    }
}

/// What one process-B tick leaves for the owner: events to emit, peers to
/// ask (with their addresses) and the transactions to hand them.
pub(crate) struct Poll {
    pub(crate) events: Vec<NodeEvent>,
    pub(crate) asks: Vec<(PeerId, Vec<Multiaddr>)>,
    pub(crate) transactions: Vec<tau_state::SignedTransaction>,
}

/// Process B, one tick (blocking: the owner runs it as a worker): votes if
/// the pass is ready, takes the relayed transactions, refreshes the head
/// answer and picks the next peers to ask. `None`: the core was busy.
///
/// The vote runs without the core: its inputs are copied out under a brief
/// lock, the clique oracle (exponential in the voters) runs on them alone,
/// and the result is applied under a second brief lock, unless the head or
/// safety point moved meanwhile (then the pass stays open for the next
/// tick). A tick finding the core busy (validating, catching up) is skipped.
pub(crate) fn poll(inner: &Shared) -> Option<Poll> {
    let mut events = Vec::new();
    let snapshot = {
        let core = inner.try_core()?;
        core.ready_to_vote().then(|| core.snapshot_pass())
    };
    let decision = snapshot.map(|(snapshot, chain)| snapshot.decide(&chain));
    let mut core = inner.core();
    match decision.map(|decision| core.apply_pass(decision)) {
        Some(Ok(Some(outcome))) => {
            if let Some((root, number)) = outcome.head {
                events.push(NodeEvent::HeadChanged {
                    head: ChainPoint { root, number },
                    reorg_depth: outcome.reorg_depth,
                });
            }
            if let Some((root, number)) = outcome.safety {
                events.push(NodeEvent::SafetyAdvanced(ChainPoint { root, number }));
            }
            if outcome.head.is_some() || outcome.safety.is_some() {
                inner.persist(&core);
            }
            core.start_pass();
        }
        Some(Ok(None)) => {
            tracing::debug!("the head moved during the vote; voting again")
        }
        Some(Err(e)) => {
            tracing::error!("evaluating the pass: {e}");
            core.start_pass();
        }
        None if core.pass_stalled() => core.start_pass(),
        None => {}
    }
    inner.take_relayed(&mut core);
    inner.refresh_answer(&core);
    let asks = core.next_asks(&mut *lock(&inner.rng));
    let transactions = core.gossip();
    Some(Poll {
        events,
        asks,
        transactions,
    })
}

/// Asks one peer for its head, fetches the blocks behind it with Graphsync
/// and hands the view to the vote.
/// Runs as a worker the owner spawned.
pub(crate) async fn ask_peer(
    inner: Arc<Shared>,
    peer: PeerId,
    addrs: Vec<Multiaddr>,
    transactions: Vec<tau_state::SignedTransaction>,
) {
    let timing = &inner.config.timing;
    inner.command(Command::DialPeer(peer, addrs));
    let mut control = inner.control.clone();
    let opened = tokio::time::timeout(
        timing.request_timeout,
        control.open_stream(peer, HEAD_PROTOCOL),
    )
    .await;
    let mut stream = match opened {
        Ok(Ok(stream)) => stream,
        _ => {
            inner.core().unreachable(peer);
            return;
        }
    };
    let request = HeadRequest {
        chain: inner.config.chain.chain_id.as_str().to_string(),
        transactions,
    };
    let answer = match protocol::ask(&mut stream, &peer, &request, timing.request_timeout).await {
        Ok(answer) => answer,
        Err(e @ (Error::BadMessage { .. } | Error::TooLarge { .. })) => {
            inner.core().strike(peer, true);
            inner.mark(peer, format!("garbage on {HEAD_PROTOCOL}: {e}"));
            return;
        }
        Err(e) => {
            tracing::debug!(%peer, "head request failed: {e}");
            inner.core().unreachable(peer);
            return;
        }
    };
    drop(stream);
    {
        let mut core = inner.core();
        for (other, addrs, mining) in answer.peer_addrs() {
            if mining {
                core.add_peer(other, addrs);
            }
        }
    }
    let selector = Selector::explore_all_recursively(timing.fetch_depth);
    // The peer's blocks wait here until its view validated.
    let quarantine = inner.quarantine(timing.view_quarantine_bytes);
    let mut last_target = None;
    for _ in 0..timing.fetch_rounds {
        // Validation can take long: off the async workers, and without the
        // core (the core is taken only before and after it, briefly).
        let received = {
            let (inner, answer, quarantine) = (inner.clone(), answer.clone(), quarantine.clone());
            tokio::task::spawn_blocking(move || {
                // Until the core holds the view, its blocks are reachable
                // from nothing a collection sees.
                let _writing = inner.writing_blocks();
                let prepared = inner.core().prepare_receive(peer, &answer);
                match prepared {
                    Err(done) => done,
                    Ok((taken, validation)) => {
                        let validation = validation.in_quarantine(quarantine.clone());
                        // What the engine may read of the answer (its head
                        // block, to weigh an unanchored chain) is still in
                        // the quarantine.
                        let seen = validation.chain().clone();
                        let collected =
                            validation
                                .collect(answer.head, unix_now())
                                .and_then(|view| {
                                    // Validated and anchored: its blocks are kept.
                                    quarantine
                                        .commit()
                                        .map_err(|e| tau_cbc::Error::Local(e.into()))?;
                                    Ok(view)
                                });
                        inner.core().finish_receive(peer, &taken, collected, &seen)
                    }
                }
            })
            .await
        };
        let Ok(received) = received else {
            return;
        };
        let target = match received {
            AnswerVerdict::Counted | AnswerVerdict::Ignored => return,
            AnswerVerdict::CatchUp => {
                catch_up(&inner, peer, answer.head).await;
                return;
            }
            AnswerVerdict::Future(reason) => {
                tracing::debug!(%peer, "chain not counted: {reason}");
                return;
            }
            AnswerVerdict::Forged(reason) => {
                inner.mark(peer, format!("forged chain: {reason}"));
                return;
            }
            AnswerVerdict::Missing(missing) => missing,
        };
        if last_target == Some(target) {
            // The peer's blocks did not fill the gap: it withholds.
            let marked = inner.core().strike(peer, false);
            if marked {
                inner.mark(peer, "withholds blocks".into());
            }
            return;
        }
        last_target = Some(target);
        if let Err(e) = inner.fetch(peer, target, &selector, &quarantine).await {
            let fatal = e.is_peer_fault();
            let marked = inner.core().strike(peer, fatal);
            tracing::debug!(%peer, "fetching {target}: {e}");
            if marked {
                inner.mark(peer, format!("graphsync: {e}"));
            }
            return;
        }
    }
}

/// Bytes of quarantine a fetched block costs at least (its CID and entry):
/// the block count of a fetch's budget is its room in bytes over this.
pub(crate) const MIN_BLOCK_COST: u64 = 128;

/// Catch-up rounds per peer answer at most (each fetches what the walk back
/// found missing).
pub(crate) const CATCH_UP_ROUNDS: usize = 4096;

/// Blocks above the safety point a catch-up follows at most.
pub(crate) const CATCH_UP_BLOCKS: u64 = 1 << 20;

/// Follows `peer`'s chain from `head` back to the safety point, fetching
/// what is missing over Graphsync, and adopts it (see `catchup`). One
/// catch-up runs at a time; other answers meanwhile only count as votes.
pub(crate) async fn catch_up(inner: &Arc<Shared>, peer: PeerId, head: Cid) {
    let Ok(_running) = inner.catching_up.try_lock() else {
        return;
    };
    let timing = &inner.config.timing;
    let selector = Selector::explore_all_recursively(timing.fetch_depth);
    // The chain's blocks wait here until the walk back validated all of them.
    let quarantine = inner.quarantine(timing.catch_up_quarantine_bytes);
    let mut last_missing = None;
    for _ in 0..CATCH_UP_ROUNDS {
        // A walk back validates up to CATCH_UP_BLOCKS states: off the
        // async workers.
        let step = {
            let (inner, quarantine) = (inner.clone(), quarantine.clone());
            tokio::task::spawn_blocking(move || {
                let _writing = inner.writing_blocks();
                // The walk validates without the core.
                let (anchor, validation) = inner.core().prepare_catch_up()?;
                let walk = validation.in_quarantine(quarantine.clone()).walk(
                    head,
                    &anchor,
                    CATCH_UP_BLOCKS,
                    unix_now(),
                );
                let committed = matches!(walk, WalkBack::Reached(_));
                if committed {
                    quarantine.commit()?;
                }
                let mut core = inner.core();
                let step = core.finish_catch_up(peer, head, &anchor, walk);
                if let Ok(CatchUp::Adopted { .. }) = step {
                    inner.persist(&core);
                    inner.refresh_answer(&core);
                }
                step.map(|step| (step, committed))
            })
            .await
        };
        let Ok(step) = step else {
            return;
        };
        let missing = match step {
            Ok((CatchUp::Adopted { head, reorg_depth }, _)) => {
                let (root, number) = (head.root, head.number);
                tracing::info!(%peer, number, reorg_depth, "caught up to {root}");
                inner.emit(NodeEvent::HeadChanged {
                    head: ChainPoint { root, number },
                    reorg_depth,
                });
                return;
            }
            Ok((CatchUp::Missing(cid), _)) => cid,
            Ok((CatchUp::Refused(reason), committed)) => {
                tracing::warn!(%peer, "not catching up with {head}: {reason}");
                // Only a chain refused after its walk reached the safety
                // point left blocks in the store (a walk refused earlier
                // kept them in the quarantine): collect those, and do not
                // let every refused catch-up start a full collection.
                if committed {
                    inner.gc_wake.notify_one();
                }
                return;
            }
            Ok((CatchUp::Forged(reason), _)) => {
                inner.mark(peer, format!("forged chain: {reason}"));
                return;
            }
            Err(e) => {
                tracing::warn!(%peer, "catching up with {head}: {e}");
                return;
            }
        };
        if last_missing == Some(missing) {
            if inner.core().strike(peer, false) {
                inner.mark(peer, "withholds blocks".into());
            }
            return;
        }
        last_missing = Some(missing);
        if let Err(e) = inner.fetch(peer, missing, &selector, &quarantine).await {
            let marked = inner.core().strike(peer, e.is_peer_fault());
            tracing::debug!(%peer, "catch-up fetch of {missing}: {e}");
            if marked {
                inner.mark(peer, format!("graphsync: {e}"));
            }
            return;
        }
    }
}
