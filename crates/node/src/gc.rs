//! Garbage collection of the node's redb store: which blocks the node keeps
//! (`docs/src/storage.md`) and the collection itself, over tau-ipld's
//! mark-and-sweep ([`tau_ipld::blockstore::Collection`]).
//!
//! Kept: every named root of the store (genesis, the persisted head and
//! safety point, pinned data), and the states the node's core works with —
//! its head, its safety point and the heads peers answered with this pass —
//! each with its history back to the *floor*: the mutable range below the
//! lower of head and safety point. The walk from a state follows every link
//! (its HAMT, its block, the block's transactions and attachment log, and
//! the previous state) but is cut at the state before the floor, so older
//! states leave the store once nothing else reaches them.

use std::collections::{BTreeSet, HashSet};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use cid::Cid;
use tau_ipld::blockstore::{Collection, GcReport};
use tau_ipld::Blockstore;
use tau_state::Executor;

use crate::state::NodeState;
use crate::Result;

/// Work in flight that writes (or relies on) blocks before anything a
/// collection keeps refers to them: an upload until its pin, a peer's view
/// from its validation until the core holds it, a catch-up until the chain
/// is adopted. Each holds a [`Writing`] ticket. A collection raises its
/// barrier, then waits for the tickets taken *before* that moment to end
/// (what they wrote is then reachable from the core or a pin) and only then
/// reads its roots; work that starts later is seen by the barrier, so it is
/// never waited for, and nothing ever waits for the collection.
#[derive(Debug, Default)]
pub(crate) struct InFlight {
    tickets: Mutex<Tickets>,
    ended: Condvar,
}

#[derive(Debug, Default)]
struct Tickets {
    next: u64,
    live: BTreeSet<u64>,
}

/// One piece of work in flight (see [`InFlight`]); ends when dropped. It
/// is owned, so it can travel with the work's result to the owner task and
/// end only once the owner took what the work wrote.
#[derive(Debug)]
pub(crate) struct Writing {
    in_flight: Arc<InFlight>,
    ticket: u64,
}

impl InFlight {
    fn lock(&self) -> MutexGuard<'_, Tickets> {
        self.tickets
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Starts a piece of work.
    pub(crate) fn enter(self: &Arc<Self>) -> Writing {
        let mut tickets = self.lock();
        let ticket = tickets.next;
        tickets.next += 1;
        tickets.live.insert(ticket);
        Writing {
            in_flight: self.clone(),
            ticket,
        }
    }

    /// The ticket the next piece of work will get: work with a lower one
    /// started before this call.
    pub(crate) fn mark(&self) -> u64 {
        self.lock().next
    }

    /// Waits until no work that started before `mark` is in flight; `false`
    /// if some still is after `wait`.
    pub(crate) fn wait_before(&self, mark: u64, wait: Duration) -> bool {
        let deadline = Instant::now() + wait;
        let mut tickets = self.lock();
        loop {
            if tickets.live.first().is_none_or(|oldest| *oldest >= mark) {
                return true;
            }
            let now = Instant::now();
            if now >= deadline {
                return false;
            }
            tickets = match self.ended.wait_timeout(tickets, deadline - now) {
                Ok((guard, _)) => guard,
                Err(poisoned) => poisoned.into_inner().0,
            };
        }
    }
}

impl Drop for Writing {
    fn drop(&mut self) {
        self.in_flight.lock().live.remove(&self.ticket);
        self.in_flight.ended.notify_all();
    }
}

/// States walked back at most when looking for the floor from one state.
const MAX_HISTORY_WALK: u64 = 1 << 20;

/// The states of the node a collection keeps, copied out of its state by
/// the owner task so that the walk runs without it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct ChainRoots {
    /// The head and its block number.
    pub(crate) head: (Cid, u64),
    /// The safety point and its block number.
    pub(crate) safety: Option<(Cid, u64)>,
    /// Other states in use: the heads peers answered with.
    pub(crate) others: Vec<Cid>,
}

impl ChainRoots {
    /// What `core` holds.
    pub(crate) fn of(core: &NodeState) -> Self {
        let head = core.head_entry();
        Self {
            head: (head.root, head.number),
            safety: core.safety().map(|s| (s.root, s.number)),
            others: core.engine().seen().into_values().collect(),
        }
    }

    /// The lowest block number kept: the mutable range below the lower of
    /// head and safety point.
    pub(crate) fn floor(&self, mutable_range: u64) -> u64 {
        let low = match self.safety {
            Some((_, number)) => number.min(self.head.1),
            None => self.head.1,
        };
        low.saturating_sub(mutable_range)
    }
}

/// The roots and cuts of a collection: `stored` (the store's named roots)
/// and the core's states are roots; the state below the floor on each
/// state's history is a cut.
pub(crate) fn plan<BS: Blockstore>(
    chain: &Executor<BS>,
    core: &ChainRoots,
    stored: &[Cid],
    mutable_range: u64,
) -> (Vec<Cid>, HashSet<Cid>) {
    let floor = core.floor(mutable_range);
    let mut roots: Vec<Cid> = stored.to_vec();
    roots.push(core.head.0);
    roots.extend(core.safety.map(|(root, _)| root));
    roots.extend(core.others.iter().copied());
    let mut cuts = HashSet::new();
    // Stored roots that are states (the persisted head and safety point)
    // get their cut too; for others `cut_below` finds no block and no cut.
    for root in &roots {
        if let Some(cut) = cut_below(chain, root, floor) {
            cuts.insert(cut);
        }
    }
    let kept: HashSet<Cid> = roots.iter().copied().collect();
    cuts.retain(|cut| !kept.contains(cut));
    roots.sort();
    roots.dedup();
    (roots, cuts)
}

/// The previous state of the first state at or below `floor` on `root`'s
/// history: where the walk stops. `None` when `root` is not a chain state,
/// its history is not all in the store, or reaches genesis first (then
/// nothing is cut: keeping more is always safe).
fn cut_below<BS: Blockstore>(chain: &Executor<BS>, root: &Cid, floor: u64) -> Option<Cid> {
    let mut at = *root;
    for _ in 0..MAX_HISTORY_WALK {
        let block = chain.block(&at).ok()?;
        let previous = block.unsigned.previous?;
        if block.number() <= floor {
            return Some(previous);
        }
        at = previous;
    }
    None
}

/// Marks from the plan's roots and sweeps `collection`, `batch` keys per
/// transaction.
pub(crate) fn finish<BS: Blockstore>(
    mut collection: Collection<'_>,
    chain: &Executor<BS>,
    core: &ChainRoots,
    stored: &[Cid],
    mutable_range: u64,
    batch: usize,
) -> Result<GcReport> {
    let (roots, cuts) = plan(chain, core, stored, mutable_range);
    collection.mark(&roots, &cuts)?;
    Ok(collection.sweep(batch)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cid(n: u8) -> Cid {
        tau_ipld::block::cid_of(tau_ipld::block::RAW, &[n])
    }

    #[test]
    fn a_collection_waits_only_for_work_older_than_its_mark() {
        let in_flight = std::sync::Arc::new(InFlight::default());
        let old = in_flight.enter();
        let mark = in_flight.mark();
        let new = in_flight.enter();
        // The old work holds it; the new one does not count.
        assert!(!in_flight.wait_before(mark, Duration::from_millis(10)));
        drop(old);
        assert!(in_flight.wait_before(mark, Duration::ZERO));
        assert!(!in_flight.wait_before(in_flight.mark(), Duration::ZERO));
        drop(new);
        // Woken when the old work ends, not only at the deadline.
        let old = in_flight.enter();
        let mark = in_flight.mark();
        let waiter = {
            let in_flight = in_flight.clone();
            std::thread::spawn(move || in_flight.wait_before(mark, Duration::from_secs(60)))
        };
        drop(old);
        assert!(waiter.join().unwrap());
    }

    #[test]
    fn the_floor_is_the_mutable_range_below_head_or_safety_point() {
        let mut roots = ChainRoots {
            head: (cid(1), 100),
            safety: Some((cid(2), 90)),
            others: vec![],
        };
        assert_eq!(roots.floor(32), 58);
        roots.safety = None;
        assert_eq!(roots.floor(32), 68);
        roots.head.1 = 10;
        assert_eq!(roots.floor(32), 0);
        // A safety point above the head (a reorg below it is refused, but
        // the figure must not underflow either way).
        roots.safety = Some((cid(2), 20));
        assert_eq!(roots.floor(4), 6);
    }

    #[test]
    fn non_state_roots_are_kept_uncut() {
        let store = tau_ipld::MemoryBlockstore::new();
        let chain = Executor::new(&store, tau_state::Params::devnet()).unwrap();
        let pinned = store.put(tau_ipld::block::RAW, b"attachment").unwrap();
        let core = ChainRoots {
            head: (cid(1), 5),
            safety: None,
            others: vec![cid(3), cid(1)],
        };
        let (roots, cuts) = plan(&chain, &core, &[pinned], 2);
        assert!(cuts.is_empty());
        let mut expected = vec![pinned, cid(1), cid(3)];
        expected.sort();
        assert_eq!(roots, expected);
    }
}
