//! Process A: producing the next state. The owner prepares a block on its
//! timer ([`Owner::start_mining`]), a blocking worker executes it on a
//! chain clone, and the owner takes the result ([`Owner::mined`]).

use std::sync::atomic::Ordering;

use cid::Cid;
use tau_state::Produced;
use tokio::task::JoinSet;

use crate::handle::{ChainPoint, NodeEvent};
use crate::runtime::{Message, Owner};
use crate::startup::quota_policy;
use crate::state::unix_now;
use crate::Result;

impl Owner {
    /// Starts producing the next state on the head if mining is on and the
    /// Proof-of-Transaction allows it; whether a worker started.
    pub(crate) fn start_mining(&mut self, workers: &mut JoinSet<Message>) -> bool {
        if !self.inner.mining.load(Ordering::Relaxed) {
            return false;
        }
        let now = unix_now();
        let job = match self.state.prepare_mine(now) {
            Ok(Some(job)) => job,
            Ok(None) => return false,
            Err(e) => {
                tracing::error!("preparing the next state: {e}");
                return false;
            }
        };
        let max_records = self.inner.config.chain.max_attachments_log_records;
        let (log, covered) = self.inner.host.next_log(max_records, now);
        // The block's blocks reach the store before the state refers to
        // them: the ticket travels with the result to the owner.
        let writing = self.inner.writing_blocks();
        workers.spawn(async move {
            let on = job.head();
            let produced = tokio::task::spawn_blocking(move || job.produce(&log)).await;
            let produced = match produced {
                Ok(produced) => produced,
                Err(e) => Err(crate::Error::Network(format!("mining task: {e}"))),
            };
            Message::Mined {
                on,
                produced,
                covered,
                writing,
            }
        });
        true
    }

    /// Takes a state produced on `on`: the new head, unless the head moved
    /// while it was produced (then it is dropped and the next tick mines on
    /// the new head).
    pub(crate) fn mined(&mut self, on: Cid, produced: Result<Produced>, covered: usize) {
        let produced = match produced {
            Ok(produced) => produced,
            Err(e) => {
                tracing::error!("producing the next state: {e}");
                return;
            }
        };
        match self.state.adopt_mined(on, &produced, unix_now()) {
            Ok(true) => {}
            Ok(false) => {
                tracing::debug!("the head moved while mining; block dropped");
                return;
            }
            Err(e) => {
                tracing::error!("adopting the mined state: {e}");
                return;
            }
        }
        self.persist();
        self.refresh_answer();
        let head = self.state.head();
        let policy = quota_policy(&self.state, &head, self.inner.config.free_quota);
        self.inner.host.set_policy(policy);
        if produced.block.unsigned.attachments_log.is_some() {
            self.inner.host.included(covered);
            self.inner.persist_pending();
        }
        let head = ChainPoint {
            root: produced.root,
            number: produced.block.number(),
        };
        tracing::debug!(number = head.number, "mined {}", head.root);
        self.inner.emit(NodeEvent::Mined {
            head,
            transactions: produced.transactions.len(),
        });
    }
}
