//! Process A: producing the next state (one tick of it; the owner task
//! `runtime::run` runs it on its timer).

use crate::handle::{ChainPoint, NodeEvent};
use crate::runtime::Shared;
use crate::startup::quota_policy;
use crate::state::unix_now;

/// Process A, one tick (blocking: the owner runs it as a worker): mines on
/// the head if the Proof-of-Transaction allows; the event to emit. A busy
/// core (validating, catching up) skips the tick.
pub(crate) fn mine(inner: &Shared) -> Option<NodeEvent> {
    let now = unix_now();
    let (log, covered) = inner
        .host
        .next_log(inner.config.chain.max_attachments_log_records, now);
    let produced = {
        let mut core = inner.try_core()?;
        match core.maybe_mine(now, &log) {
            Ok(Some(produced)) => {
                inner.persist(&core);
                inner.refresh_answer(&core);
                let head = core.head();
                let policy = quota_policy(&core, &head, inner.config.free_quota);
                drop(core);
                inner.host.set_policy(policy);
                if produced.block.unsigned.attachments_log.is_some() {
                    inner.host.included(covered);
                    inner.persist_pending();
                }
                produced
            }
            Ok(None) => return None,
            Err(e) => {
                tracing::error!("producing the next state: {e}");
                return None;
            }
        }
    };
    let head = ChainPoint {
        root: produced.root,
        number: produced.block.number(),
    };
    tracing::debug!(number = head.number, "mined {}", head.root);
    Some(NodeEvent::Mined {
        head,
        transactions: produced.transactions.len(),
    })
}
