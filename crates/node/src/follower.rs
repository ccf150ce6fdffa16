//! Following senders (process C in the background, opt-in): the node scans
//! each new block of its head's chain for messages from the addresses it
//! follows that attach something, and downloads those attachments, one at
//! a time, from the peers the chain names as holding them
//! (`seeders`), within a disk budget. Its queue, the height it scanned to
//! and the bytes it spent are a record in the store, so it resumes after a
//! restart.
//!
//! The follower is its own task, owning its state; it reads the chain and
//! the published head like any reader and downloads through process C's
//! code ([`Follower::tick`]).

use std::sync::Arc;

use cid::Cid;
use serde::{Deserialize, Serialize};
use tau_keys::Address;
use tau_state::TxBody;

use crate::runtime::Shared;
use crate::Result;

/// Blocks back from the head one scan reads at most. A node further behind
/// than this (or whose store no longer holds those states: a collection
/// keeps the mutable range below the safety point) scans only the newest
/// ones; messages in the blocks it skips are not followed.
pub const FOLLOW_SCAN_BLOCKS: usize = 10_000;

/// Attachments queued at most (older ones are dropped first).
pub const FOLLOW_QUEUE: usize = 1_024;

/// Fetched roots remembered (so a root seen again is not fetched twice).
pub const FOLLOW_REMEMBERED: usize = 4_096;

/// Failed downloads of one attachment before it is dropped from the queue.
pub const FOLLOW_ATTEMPTS: u32 = 8;

/// What is followed: the senders and the disk budget.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FollowConfig {
    /// Senders whose attachments are fetched.
    pub senders: Vec<Address>,
    /// Bytes of followed attachments stored at most (packed sizes).
    pub budget_bytes: u64,
}

/// One attachment waiting.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct Wanted {
    root: Cid,
    size: u64,
    sender: Address,
    attempts: u32,
}

/// The follower's state, persisted as one record.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct FollowState {
    /// Block number scanned up to, inclusive.
    scanned: u64,
    queue: Vec<Wanted>,
    /// Bytes of followed attachments fetched so far.
    spent: u64,
    /// Roots fetched (never queued again).
    fetched: Vec<Cid>,
}

/// What [`NodeHandle::following`](crate::NodeHandle::following) reports.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct FollowStatus {
    /// Block number scanned up to.
    pub scanned: u64,
    /// Attachments waiting.
    pub queued: usize,
    /// Attachments fetched.
    pub fetched: Vec<Cid>,
    /// Bytes spent of the budget.
    pub spent: u64,
}

/// The follower task: a tick every [`Timing::follow_interval`] until
/// shutdown.
///
/// [`Timing::follow_interval`]: crate::Timing::follow_interval
pub(crate) async fn run(inner: Arc<Shared>, mut shutdown: tokio::sync::watch::Receiver<bool>) {
    let config = inner.config.follow.clone();
    let mut tick = tokio::time::interval(inner.config.timing.follow_interval);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut follower = Follower::resume(inner, config);
    loop {
        tokio::select! {
            _ = shutdown.changed() => break,
            _ = tick.tick() => follower.tick().await,
        }
    }
}

pub(crate) struct Follower {
    inner: Arc<Shared>,
    config: FollowConfig,
    state: FollowState,
}

impl Follower {
    /// The follower, resumed from its record.
    pub(crate) fn resume(inner: Arc<Shared>, config: FollowConfig) -> Self {
        let state = inner.store.load_follow().unwrap_or_default();
        Self {
            inner,
            config,
            state,
        }
    }

    fn status(&self) -> FollowStatus {
        FollowStatus {
            scanned: self.state.scanned,
            queued: self.state.queue.len(),
            fetched: self.state.fetched.clone(),
            spent: self.state.spent,
        }
    }

    /// One step: scan the new blocks, then try the first attachment waiting.
    pub(crate) async fn tick(&mut self) {
        let before = self.state.clone();
        if let Err(e) = self.scan().await {
            tracing::debug!("following: scanning: {e}");
        }
        self.fetch_one().await;
        if self.state != before {
            if let Err(e) = self.inner.store.save_follow(&self.state) {
                tracing::error!("following: persisting: {e}");
            }
        }
        self.inner.follow_status.send_replace(self.status());
    }

    async fn scan(&mut self) -> Result<()> {
        let head = self.inner.view.borrow().head;
        if head.number <= self.state.scanned {
            return Ok(());
        }
        let depth = ((head.number - self.state.scanned) as usize).min(FOLLOW_SCAN_BLOCKS);
        let chain = self.inner.chain.clone();
        let senders = self.config.senders.clone();
        let found = tokio::task::spawn_blocking(move || -> Result<Vec<Wanted>> {
            let mut found = Vec::new();
            for (_, block) in chain.available_history(&head.root, depth)? {
                for tx in chain.transactions(&block)? {
                    if let TxBody::Message {
                        attachment: Some(attached),
                        ..
                    } = &tx.tx.body
                    {
                        if senders.contains(&tx.tx.sender) {
                            found.push(Wanted {
                                root: attached.root,
                                size: attached.size,
                                sender: tx.tx.sender,
                                attempts: 0,
                            });
                        }
                    }
                }
            }
            Ok(found)
        })
        .await
        .map_err(|e| crate::Error::Network(format!("follow scan task: {e}")))??;
        // Oldest first.
        for wanted in found.into_iter().rev() {
            let known = self.state.fetched.contains(&wanted.root)
                || self.state.queue.iter().any(|w| w.root == wanted.root);
            if !known {
                tracing::debug!(root = %wanted.root, sender = %wanted.sender, "following: queued");
                if self.state.queue.len() >= FOLLOW_QUEUE {
                    self.state.queue.remove(0);
                }
                self.state.queue.push(wanted);
            }
        }
        self.state.scanned = head.number;
        Ok(())
    }

    async fn fetch_one(&mut self) {
        let Some(wanted) = self.state.queue.first().cloned() else {
            return;
        };
        let room = self.config.budget_bytes.saturating_sub(self.state.spent);
        if wanted.size > room {
            tracing::info!(
                root = %wanted.root,
                size = wanted.size,
                room,
                "following: over the disk budget; not fetched"
            );
            self.state.queue.remove(0);
            return;
        }
        let handle = crate::NodeHandle {
            inner: self.inner.clone(),
        };
        let rounds = 3;
        let fetched = match handle.attachment_seeders(wanted.root).await {
            Ok(seeders) if seeders.is_empty() => {
                Err(crate::Error::NoSeeders(Box::new(wanted.root)))
            }
            Ok(seeders) => {
                handle
                    .download(wanted.root, &seeders, rounds, Some(room))
                    .await
            }
            Err(e) => Err(e),
        };
        match fetched {
            Ok(report) => {
                let size = report.manifest.total_size.max(wanted.size);
                tracing::info!(root = %wanted.root, size, "following: fetched");
                self.state.spent = self.state.spent.saturating_add(size);
                if self.state.fetched.len() >= FOLLOW_REMEMBERED {
                    self.state.fetched.remove(0);
                }
                self.state.fetched.push(wanted.root);
                self.state.queue.remove(0);
            }
            Err(e) => {
                tracing::debug!(root = %wanted.root, "following: not fetched yet: {e}");
                let mut retry = self.state.queue.remove(0);
                retry.attempts += 1;
                if retry.attempts < FOLLOW_ATTEMPTS {
                    // To the back: the others get their turn.
                    self.state.queue.push(retry);
                }
            }
        }
    }
}
