//! Process B: asking peers for their heads, fetching their chains with
//! Graphsync into quarantines, validating, voting, catching up. The owner's
//! side (`impl Owner`: the tick, the vote's result, taking views and
//! catch-up steps) and the workers' side ([`ask_peer`], [`catch_up`]).

use std::sync::Arc;

use cid::Cid;
use libp2p::{Multiaddr, PeerId};
use tau_graphsync::net::RequestBudget;
use tau_graphsync::{Extensions, Selector};
use tau_ipld::Quarantine;
use tau_ipld::SharedStore;

use tau_cbc::{AnswerVerdict, CatchUp, ChainView, PassDecision, PeerAnswer, ViewEntry, WalkBack};
use tau_state::Executor;
use tokio::task::JoinSet;

use crate::handle::{ChainPoint, NodeEvent};
use crate::protocol::{self, HeadRequest, HEAD_PROTOCOL};
use crate::runtime::{Message, Owner, Request, Shared};
use crate::state::unix_now;
use crate::swarm::Command;
use crate::Error;

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
    #[tracing::instrument(name = "fetch", skip(self, selector, quarantine), fields(%root))]
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

impl Owner {
    /// Process B, one tick: starts the vote when the pass is ready (decided
    /// by a blocking worker on a snapshot: the clique oracle is exponential
    /// in the voters) unless one is being decided, takes the relayed
    /// transactions, refreshes the head answer, renews relays and starts
    /// asking the next peers. Whether a vote started.
    pub(crate) fn poll(&mut self, workers: &mut JoinSet<Message>, deciding: bool) -> bool {
        let mut started = false;
        if !deciding {
            if self.state.ready_to_vote() {
                let (snapshot, chain) = self.state.snapshot_pass();
                workers.spawn(async move {
                    let decided =
                        tokio::task::spawn_blocking(move || snapshot.decide(&chain)).await;
                    Message::Decided(decided.ok())
                });
                started = true;
            } else if self.state.pass_stalled() {
                self.state.start_pass();
            }
        }
        self.take_relayed();
        self.refresh_answer();
        self.renew_relays();
        self.start_asks();
        started
    }

    /// Applies a vote: the safety point enough proven miners voted or
    /// endorsed and the best chain holding it, unless the head or safety
    /// point moved while it was decided (then the pass stays open and the
    /// next tick votes again).
    pub(crate) fn decided(&mut self, decision: PassDecision) {
        match self.state.apply_pass(decision) {
            Ok(Some(outcome)) => {
                if let Some((root, number)) = outcome.head {
                    self.inner.emit(NodeEvent::HeadChanged {
                        head: ChainPoint { root, number },
                        reorg_depth: outcome.reorg_depth,
                    });
                }
                if let Some((root, number)) = outcome.safety {
                    self.inner
                        .emit(NodeEvent::SafetyAdvanced(ChainPoint { root, number }));
                }
                if outcome.head.is_some() || outcome.safety.is_some() {
                    self.persist();
                }
                self.state.start_pass();
            }
            Ok(None) => tracing::debug!("the head moved during the vote; voting again"),
            Err(e) => {
                tracing::error!("evaluating the pass: {e}");
                self.state.start_pass();
            }
        }
        self.refresh_answer();
    }

    /// Starts asking the peers the planner picks, handing each the
    /// transactions to relay.
    fn start_asks(&mut self) {
        while self.asks.try_join_next().is_some() {}
        let asks = self.state.next_asks(&mut self.rng);
        if asks.is_empty() {
            return;
        }
        let transactions = self.state.gossip();
        for (peer, addrs) in asks {
            let worker = self.inner.clone();
            let transactions = transactions.clone();
            self.asks
                .spawn(async move { ask_peer(worker, peer, addrs, transactions).await });
        }
    }

    /// Takes `peer`'s view as validated on `seen`; marks a forger, and
    /// grants a catch-up only when none runs.
    pub(crate) fn take_view(
        &mut self,
        peer: PeerId,
        answer: &PeerAnswer<PeerId>,
        collected: tau_cbc::Result<ChainView>,
        seen: &Executor<SharedStore>,
    ) -> AnswerVerdict {
        let verdict = self.state.finish_receive(peer, answer, collected, seen);
        let counter = match &verdict {
            AnswerVerdict::Counted => Some(&self.inner.views_counted),
            AnswerVerdict::Forged(_) | AnswerVerdict::Future(_) => Some(&self.inner.views_refused),
            _ => None,
        };
        if let Some(counter) = counter {
            counter.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        }
        match &verdict {
            AnswerVerdict::Forged(reason) => self.mark(peer, format!("forged chain: {reason}")),
            // One catch-up at a time; other answers meanwhile only count
            // as votes.
            AnswerVerdict::CatchUp if self.catching_up => return AnswerVerdict::Ignored,
            AnswerVerdict::CatchUp => self.catching_up = true,
            _ => {}
        }
        verdict
    }

    /// Ends a catch-up step with its walk back: adopts the chain, or marks
    /// a forger.
    pub(crate) fn catch_up_step(
        &mut self,
        peer: PeerId,
        head: Cid,
        anchor: &ViewEntry,
        walk: WalkBack,
    ) -> crate::Result<CatchUp> {
        let step = self.state.finish_catch_up(peer, head, anchor, walk)?;
        match &step {
            CatchUp::Adopted { head, reorg_depth } => {
                self.persist();
                self.refresh_answer();
                let (root, number) = (head.root, head.number);
                tracing::info!(%peer, number, reorg_depth, "caught up to {root}");
                self.inner.emit(NodeEvent::HeadChanged {
                    head: ChainPoint { root, number },
                    reorg_depth: *reorg_depth,
                });
            }
            CatchUp::Forged(reason) => self.mark(peer, format!("forged chain: {reason}")),
            CatchUp::Missing(_) | CatchUp::Refused(_) => {}
        }
        Ok(step)
    }
}

/// Asks one peer for its head, fetches the blocks behind it with Graphsync
/// and hands the view to the owner. Runs as a worker the owner spawned; it
/// talks to the owner only by requests.
#[tracing::instrument(name = "ask", skip_all, fields(%peer))]
pub(crate) async fn ask_peer(
    inner: Arc<Shared>,
    peer: PeerId,
    addrs: Vec<Multiaddr>,
    transactions: Vec<tau_state::SignedTransaction>,
) {
    let timing = &inner.config.timing;
    let request = HeadRequest {
        chain: inner.config.chain.chain_id.as_str().to_string(),
        transactions,
    };
    let (reply, answered) = tokio::sync::oneshot::channel();
    inner.command(Command::AskHead {
        peer,
        addrs,
        request,
        reply,
    });
    // The swarm's request timeout ends every ask; this bounds a stopped swarm.
    let replied = match tokio::time::timeout(timing.request_timeout * 2, answered).await {
        Ok(Ok(replied)) => replied,
        _ => Err(Error::Timeout("head request")),
    };
    let answer = match replied.and_then(|bytes| protocol::decode_answer(&bytes, &peer)) {
        Ok(answer) => answer,
        Err(e @ (Error::BadMessage { .. } | Error::TooLarge { .. })) => {
            inner.tell(Request::Strike {
                peer,
                fatal: true,
                reason: format!("garbage on {HEAD_PROTOCOL}: {e}"),
            });
            return;
        }
        Err(e) => {
            tracing::debug!(%peer, "head request failed: {e}");
            inner.tell(Request::Unreachable(peer));
            return;
        }
    };
    let mining: Vec<_> = answer
        .peer_addrs()
        .into_iter()
        .filter(|(_, _, mining)| *mining)
        .map(|(other, addrs, _)| (other, addrs))
        .collect();
    if !mining.is_empty() {
        inner.tell(Request::Learn(mining));
    }
    let selector = Selector::explore_all_recursively(timing.fetch_depth);
    // The peer's blocks wait here until its view validated.
    let quarantine = inner.quarantine(timing.view_quarantine_bytes);
    let mut last_target = None;
    for _ in 0..timing.fetch_rounds {
        // Until the owner holds the view, its blocks are reachable from
        // nothing a collection sees.
        let writing = inner.writing_blocks();
        let screened = inner
            .ask(|reply| Request::Screen {
                peer,
                answer: answer.clone(),
                reply,
            })
            .await;
        let verdict = match screened {
            None => return,
            Some(Err(done)) => done,
            Some(Ok((taken, validation))) => {
                let validation = validation.in_quarantine(quarantine.clone());
                // What the engine may read of the answer (its head block, to
                // weigh an unanchored chain) is still in the quarantine.
                let seen = validation.chain().clone();
                let kept = quarantine.clone();
                let head = answer.head;
                // Validation can take long: off the async workers.
                let span = tracing::debug_span!("validate", %head, number = answer.number);
                let collected = tokio::task::spawn_blocking(move || {
                    let _span = span.entered();
                    validation.collect(head, unix_now()).and_then(|view| {
                        // Validated and anchored: its blocks are kept.
                        kept.commit().map_err(|e| tau_cbc::Error::Local(e.into()))?;
                        Ok(view)
                    })
                })
                .await;
                let Ok(collected) = collected else {
                    return;
                };
                let taken = inner
                    .ask(|reply| Request::TakeView {
                        peer,
                        answer: taken,
                        collected: Box::new(collected),
                        seen: Box::new(seen),
                        writing,
                        reply,
                    })
                    .await;
                match taken {
                    Some(verdict) => verdict,
                    None => return,
                }
            }
        };
        let target = match verdict {
            AnswerVerdict::Counted | AnswerVerdict::Ignored | AnswerVerdict::Forged(_) => return,
            AnswerVerdict::CatchUp => {
                catch_up(&inner, peer, answer.head).await;
                return;
            }
            AnswerVerdict::Future(reason) => {
                tracing::debug!(%peer, "chain not counted: {reason}");
                return;
            }
            AnswerVerdict::Missing(missing) => missing,
        };
        if last_target == Some(target) {
            // The peer's blocks did not fill the gap: it withholds.
            inner.tell(Request::Strike {
                peer,
                fatal: false,
                reason: "withholds blocks".into(),
            });
            return;
        }
        last_target = Some(target);
        if let Err(e) = inner.fetch(peer, target, &selector, &quarantine).await {
            tracing::debug!(%peer, "fetching {target}: {e}");
            inner.tell(Request::Strike {
                peer,
                fatal: e.is_peer_fault(),
                reason: format!("graphsync: {e}"),
            });
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

/// Tells the owner the catch-up ended, however the worker running it ends.
struct CatchingUp(Arc<Shared>);

impl Drop for CatchingUp {
    fn drop(&mut self) {
        self.0.tell(Request::CatchUpEnded);
    }
}

/// Follows `peer`'s chain from `head` back to the safety point, fetching
/// what is missing over Graphsync, and has the owner adopt it (see
/// `catchup`). The owner grants one catch-up at a time (`Owner::take_view`).
#[tracing::instrument(name = "catch_up", skip_all, fields(%peer, %head))]
pub(crate) async fn catch_up(inner: &Arc<Shared>, peer: PeerId, head: Cid) {
    let _running = CatchingUp(inner.clone());
    let timing = &inner.config.timing;
    let selector = Selector::explore_all_recursively(timing.fetch_depth);
    // The chain's blocks wait here until the walk back validated all of them.
    let quarantine = inner.quarantine(timing.catch_up_quarantine_bytes);
    let mut last_missing = None;
    for _ in 0..CATCH_UP_ROUNDS {
        // Until the owner adopted the chain, its blocks are reachable from
        // nothing a collection sees.
        let writing = inner.writing_blocks();
        let (anchor, validation) = match inner.ask(Request::CatchUpAnchor).await {
            Some(Ok(prepared)) => prepared,
            Some(Err(e)) => {
                tracing::warn!(%peer, "catching up with {head}: {e}");
                return;
            }
            None => return,
        };
        // A walk back validates up to CATCH_UP_BLOCKS states: off the async
        // workers.
        let walked = {
            let quarantine = quarantine.clone();
            let span = tracing::debug_span!("walk_back", anchor = anchor.number);
            tokio::task::spawn_blocking(move || {
                let _span = span.entered();
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
                Ok::<_, Error>((anchor, walk, committed))
            })
            .await
        };
        let (anchor, walk, committed) = match walked {
            Ok(Ok(walked)) => walked,
            Ok(Err(e)) => {
                tracing::warn!(%peer, "catching up with {head}: {e}");
                return;
            }
            Err(_) => return,
        };
        let step = inner
            .ask(|reply| Request::CatchUpStep {
                peer,
                head,
                anchor,
                walk,
                writing,
                reply,
            })
            .await;
        let missing = match step {
            None => return,
            Some(Ok(CatchUp::Adopted { .. } | CatchUp::Forged(_))) => return,
            Some(Ok(CatchUp::Missing(cid))) => cid,
            Some(Ok(CatchUp::Refused(reason))) => {
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
            Some(Err(e)) => {
                tracing::warn!(%peer, "catching up with {head}: {e}");
                return;
            }
        };
        if last_missing == Some(missing) {
            inner.tell(Request::Strike {
                peer,
                fatal: false,
                reason: "withholds blocks".into(),
            });
            return;
        }
        last_missing = Some(missing);
        if let Err(e) = inner.fetch(peer, missing, &selector, &quarantine).await {
            tracing::debug!(%peer, "catch-up fetch of {missing}: {e}");
            inner.tell(Request::Strike {
                peer,
                fatal: e.is_peer_fault(),
                reason: format!("graphsync: {e}"),
            });
            return;
        }
    }
}
