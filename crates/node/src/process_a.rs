//! Process A: producing the next state.

use std::sync::Arc;

use tokio::sync::watch;

use crate::core::unix_now;
use crate::handle::{ChainPoint, NodeEvent};
use crate::runtime::Inner;
use crate::startup::quota_policy;

/// Process A: mine on the head whenever the Proof-of-Transaction allows.
pub(crate) async fn process_a(inner: Arc<Inner>, mut shutdown: watch::Receiver<bool>) {
    let mut tick = tokio::time::interval(inner.config.timing.mine_check);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = shutdown.changed() => return,
            _ = tick.tick() => {}
        }
        let now = unix_now();
        let (log, covered) = inner
            .host
            .next_log(inner.config.chain.max_attachments_log_records, now);
        let mined = {
            // Busy core (validating, catching up): mine at the next tick.
            let Some(mut core) = inner.try_core() else {
                continue;
            };
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
                    Some(produced)
                }
                Ok(None) => None,
                Err(e) => {
                    tracing::error!("producing the next state: {e}");
                    None
                }
            }
        };
        if let Some(produced) = mined {
            let head = ChainPoint {
                root: produced.root,
                number: produced.block.number(),
            };
            tracing::debug!(number = head.number, "mined {}", head.root);
            inner.emit(NodeEvent::Mined {
                head,
                transactions: produced.transactions.len(),
            });
        }
    }
}
