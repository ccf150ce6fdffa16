//! The warm head state: the decoded HAMT of the state an [`Executor`](crate::Executor)
//! last produced or validated, handed to the next block's execution.

use std::sync::{Mutex, PoisonError};

use cid::Cid;
use tau_hamt::CachedTree;

/// Default bound of the warm head state in decoded HAMT nodes: 65,536, about
/// 64 MiB (a devnet state of 100,000 accounts is ≈ 13,300 nodes, ≈ 1 KiB each
/// when decoded).
pub const DEFAULT_WARM_STATE_NODES: usize = 1 << 16;

/// One slot holding the decoded tree of one state root whose blocks are all
/// in the chain's store. Execution takes the tree (a move, no copy) and gives
/// back the tree of the new root only on success, so a failed execution never
/// leaves a half-changed tree behind.
pub(crate) struct WarmState {
    slot: Mutex<Option<Held>>,
    max_nodes: usize,
}

/// A tree and an upper bound of its decoded nodes (counting them is a walk
/// over the whole tree, so it is done only when the bound passes the limit).
pub(crate) struct Held {
    pub(crate) tree: CachedTree,
    pub(crate) at_most: usize,
}

impl WarmState {
    pub(crate) fn new(max_nodes: usize) -> Self {
        Self {
            slot: Mutex::new(None),
            max_nodes,
        }
    }

    pub(crate) fn max_nodes(&self) -> usize {
        self.max_nodes
    }

    /// Takes the tree if it holds `root`; otherwise leaves the slot as it is.
    pub(crate) fn take(&self, root: &Cid) -> Option<Held> {
        let mut slot = self.slot.lock().unwrap_or_else(PoisonError::into_inner);
        if slot.as_ref().is_some_and(|held| held.tree.root() == root) {
            slot.take()
        } else {
            None
        }
    }

    /// Keeps `tree` (its blocks must be in the store), which holds at most
    /// `at_most` decoded nodes, trimmed to the bound; with a bound of zero
    /// keeps nothing.
    pub(crate) fn keep(&self, tree: Option<CachedTree>, at_most: usize) {
        let Some(mut tree) = tree.filter(|_| self.max_nodes > 0) else {
            return;
        };
        let at_most = if at_most > self.max_nodes {
            tree.trim(self.max_nodes)
        } else {
            at_most
        };
        *self.slot.lock().unwrap_or_else(PoisonError::into_inner) = Some(Held { tree, at_most });
    }

    /// The root held and its number of decoded nodes (counted).
    pub(crate) fn held(&self) -> Option<(Cid, usize)> {
        let slot = self.slot.lock().unwrap_or_else(PoisonError::into_inner);
        slot.as_ref()
            .map(|held| (*held.tree.root(), held.tree.decoded_nodes()))
    }
}

/// A clone starts cold (with the same bound): trees are never shared.
impl Clone for WarmState {
    fn clone(&self) -> Self {
        Self::new(self.max_nodes)
    }
}

impl std::fmt::Debug for WarmState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WarmState")
            .field("max_nodes", &self.max_nodes)
            .field("held", &self.held())
            .finish()
    }
}
