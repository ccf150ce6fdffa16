//! The warm head state: the decoded HAMT of the state a [`Chain`](crate::Chain)
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
    slot: Mutex<Option<CachedTree>>,
    max_nodes: usize,
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
    pub(crate) fn take(&self, root: &Cid) -> Option<CachedTree> {
        let mut slot = self.slot.lock().unwrap_or_else(PoisonError::into_inner);
        if slot.as_ref().is_some_and(|tree| tree.root() == root) {
            slot.take()
        } else {
            None
        }
    }

    /// Keeps `tree` (its blocks must be in the store), trimmed to the bound;
    /// with a bound of zero keeps nothing.
    pub(crate) fn keep(&self, tree: Option<CachedTree>) {
        let tree = tree.filter(|_| self.max_nodes > 0).map(|mut tree| {
            tree.trim(self.max_nodes);
            tree
        });
        if let Some(tree) = tree {
            *self.slot.lock().unwrap_or_else(PoisonError::into_inner) = Some(tree);
        }
    }

    /// The root held and its number of decoded nodes.
    pub(crate) fn held(&self) -> Option<(Cid, usize)> {
        let slot = self.slot.lock().unwrap_or_else(PoisonError::into_inner);
        slot.as_ref()
            .map(|tree| (*tree.root(), tree.decoded_nodes()))
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
