//! One collection of the redb store (what is
//! kept: `gc`).

use std::time::{Duration, Instant};

use cid::Cid;
use tau_state::Executor;

use crate::gc;
use crate::runtime::{Request, Shared};
use crate::Result;

impl Shared {
    /// One garbage collection of the redb store (blocking: run it off the
    /// async workers). `None` in memory mode, when a collection already runs
    /// or when an upload or validation that started before it did not end
    /// within [`GC_START_WAIT`].
    pub(crate) fn collect_garbage(&self) -> Result<Option<tau_ipld::blockstore::GcReport>> {
        let Some(redb) = self.store.redb() else {
            return Ok(None);
        };
        let collection = match redb.begin_collection() {
            Ok(collection) => collection.cancel_on(self.stopping.clone()),
            Err(tau_ipld::Error::CollectionRunning) => return Ok(None),
            Err(e) => return Err(e.into()),
        };
        // Work started before the barrier may hold blocks nothing refers to
        // yet: wait for it (work started since is seen by the barrier).
        let mark = self.in_flight.mark();
        if !self.in_flight.wait_before(mark, GC_START_WAIT) {
            tracing::debug!("garbage collection postponed: blocks being written");
            return Ok(None);
        }
        // Asked after the barrier rose and that work ended (the owner took
        // what it wrote before it answers): a root set later was built from
        // blocks the barrier keeps.
        let Some(core_roots) = self.ask_blocking(Request::ChainRoots) else {
            // The owner stopped (shutdown).
            return Ok(None);
        };
        let stored: Vec<Cid> = redb.roots()?.into_iter().map(|(_, cid)| cid).collect();
        let chain = Executor::new(self.store.blocks().clone(), self.config.chain.clone())?
            .with_warm_state_nodes(0);
        let started = Instant::now();
        let report = gc::finish(
            collection,
            &chain,
            &core_roots,
            &stored,
            self.config.cbc.mutable_range,
            self.config.timing.gc_batch,
        )?;
        tracing::info!(
            marked = report.marked,
            deleted = report.deleted,
            deleted_bytes = report.deleted_bytes,
            kept_touched = report.touched,
            cancelled = report.cancelled,
            ms = started.elapsed().as_millis() as u64,
            "garbage collected"
        );
        Ok(Some(report))
    }
}

/// How long a collection waits at most for uploads and validations that
/// started before it before it skips its turn.
pub(crate) const GC_START_WAIT: Duration = Duration::from_secs(30);
