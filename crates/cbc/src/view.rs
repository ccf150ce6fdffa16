//! Chain views: what a peer's answer shows of its chain, validated.

use std::collections::HashMap;
use std::sync::{Arc, PoisonError, RwLock};

use cid::Cid;
use tau_ipld::Blockstore;
use tau_keys::{Address, Signature};
use tau_state::{Block, Executor};

use crate::{Error, Result};

/// One block of a chain view.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ViewEntry {
    /// Block number.
    pub number: u64,
    /// The state root the block produced.
    pub root: Cid,
    /// Cumulative difficulty at the block.
    pub cumulative_difficulty: u64,
    /// Who mined it.
    pub miner: Address,
    /// The block's signature (the fork-preference tie-break).
    pub signature: Signature,
}

impl ViewEntry {
    /// The entry of `block`, whose state root is `root`.
    pub fn of(root: Cid, block: &Block) -> Self {
        Self {
            number: block.number(),
            root,
            cumulative_difficulty: block.cumulative_difficulty(),
            miner: block.unsigned.miner,
            signature: block.signature,
        }
    }

    /// Fork preference (`docs/src/formats/pot.md`): higher cumulative difficulty, then the
    /// higher signature. `Greater` means `self` is preferred.
    pub fn preference(&self, other: &ViewEntry) -> std::cmp::Ordering {
        self.cumulative_difficulty
            .cmp(&other.cumulative_difficulty)
            .then_with(|| self.signature.as_bytes().cmp(other.signature.as_bytes()))
    }
}

/// States this node has validated itself, and the trusted genesis.
///
/// The set is closed under ancestry: a state enters only when the block that
/// produced it was re-executed on a previous state already in the set (or it
/// is the genesis, or a state this node produced or stored itself). So every
/// member is *anchored*: its whole history down to the trusted genesis is
/// valid, and a chain walk that meets a member needs to go no deeper. A
/// block shared by many peers' chains is re-executed once.
///
/// Clones share one set (every member stays anchored), so a node can
/// validate a peer's chain on another thread, outside the lock that guards
/// the rest of its state, and the result is there for everyone.
///
/// Each member is kept with its block number, so the set can forget what
/// lies below the safety point ([`prune_below`](Self::prune_below)): no
/// chain that counts can pass below it, so nothing there is ever needed
/// again, and the set stays as large as the states validated above the
/// safety point, however many forks peers send.
#[derive(Debug, Clone, Default)]
pub struct ValidatedRoots {
    genesis: Cid,
    roots: Arc<RwLock<HashMap<Cid, u64>>>,
}

impl ValidatedRoots {
    /// A set trusting `genesis` as the chain's first state.
    pub fn new(genesis: Cid) -> Self {
        Self {
            genesis,
            roots: Arc::new(RwLock::new(HashMap::from([(genesis, 0)]))),
        }
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, HashMap<Cid, u64>> {
        self.roots.read().unwrap_or_else(PoisonError::into_inner)
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, HashMap<Cid, u64>> {
        self.roots.write().unwrap_or_else(PoisonError::into_inner)
    }

    /// Whether `root` was validated (or is the trusted genesis).
    pub fn contains(&self, root: &Cid) -> bool {
        self.read().contains_key(root)
    }

    /// Records a state (of block `number`) this node produced on a
    /// validated state, validated on one, or persisted itself after doing
    /// either. The caller vouches for the state's whole history: never
    /// insert a peer's state that was not re-executed on a member of this
    /// set.
    pub fn insert(&mut self, root: Cid, number: u64) {
        self.write().insert(root, number);
    }

    /// Forgets the states of blocks below `number` (the safety point's),
    /// except the genesis; `keep` are kept whatever their number (the
    /// safety point itself, the head).
    pub fn prune_below(&mut self, number: u64, keep: &[Cid]) {
        let genesis = self.genesis;
        self.write()
            .retain(|root, n| *n >= number || *root == genesis || keep.contains(root));
    }

    /// How many states are in the set.
    pub fn len(&self) -> usize {
        self.read().len()
    }

    /// Whether the set is empty.
    pub fn is_empty(&self) -> bool {
        self.read().is_empty()
    }
}

/// A peer's chain from its head back through the mutable range, newest
/// first, every block validated with tau-state (re-executed on its previous
/// state) before it counts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainView {
    entries: Vec<ViewEntry>,
}

impl ChainView {
    /// Walks back from `head` at most `range` blocks (or to genesis) and
    /// validates, oldest first, every block above the newest state this node
    /// validated before ([`ValidatedRoots`]): each block is re-executed on a
    /// previous state that is itself anchored, and may not be dated more than
    /// the chain's `max_drift` after `now` (Unix seconds). The blocks must be
    /// in `chain`'s store.
    ///
    /// Errors: [`Error::Incomplete`] if blocks are missing (withheld or not yet
    /// fetched); [`Error::InvalidChain`] if a block fails validation;
    /// [`Error::FutureBlock`] if one is dated ahead of the clock;
    /// [`Error::Unanchored`] if the walk meets no validated state within
    /// `range + 1` blocks (the chain may be a long fork, a chain far ahead, or
    /// a forgery resting on an invented state: it cannot count until a
    /// catch-up validates it from an anchored state);
    /// [`Error::UntrustedGenesis`] if it ends at another genesis.
    pub fn collect<BS: Blockstore>(
        chain: &Executor<BS>,
        head: &Cid,
        range: u64,
        validated: &mut ValidatedRoots,
        now: u64,
    ) -> Result<Self> {
        let depth = usize::try_from(range)
            .unwrap_or(usize::MAX)
            .saturating_add(1);
        let history = chain.history(head, depth).map_err(classify(head))?;
        let anchored_at = match history
            .iter()
            .position(|(root, _)| validated.contains(root))
        {
            Some(index) => index,
            None => {
                return Err(match history.last() {
                    Some((root, block)) if block.unsigned.previous.is_none() => {
                        Error::UntrustedGenesis(Box::new(*root))
                    }
                    _ => Error::Unanchored {
                        head: Box::new(*head),
                        depth: history.len(),
                    },
                })
            }
        };
        // Oldest first, so each block runs on a state already anchored.
        for (root, block) in history.iter().take(anchored_at).rev() {
            let Some(previous) = block.unsigned.previous else {
                return Err(Error::UntrustedGenesis(Box::new(*root)));
            };
            chain
                .validate_block_at(&previous, root, now)
                .map_err(classify(root))?;
            validated.insert(*root, block.number());
        }
        // The block just past the range only anchors its child.
        let shown = usize::try_from(range).unwrap_or(usize::MAX).max(1);
        let entries = history
            .iter()
            .take(shown)
            .map(|(root, block)| ViewEntry::of(*root, block))
            .collect();
        Ok(Self { entries })
    }

    /// A view made of entries already validated elsewhere (newest first).
    /// Returns `None` if `entries` is empty or not a descending chain of numbers.
    pub fn from_entries(entries: Vec<ViewEntry>) -> Option<Self> {
        let descending = entries.windows(2).all(|w| w[0].number > w[1].number);
        (!entries.is_empty() && descending).then_some(Self { entries })
    }

    /// The head (newest entry).
    pub fn head(&self) -> &ViewEntry {
        // Never empty: both constructors guarantee an entry.
        &self.entries[0]
    }

    /// Entries, newest first.
    pub fn entries(&self) -> &[ViewEntry] {
        &self.entries
    }

    /// The entry for `root`, if the view holds it.
    pub fn get(&self, root: &Cid) -> Option<&ViewEntry> {
        self.entries.iter().find(|e| e.root == *root)
    }

    /// Whether `root` is on this chain (within the view).
    pub fn contains(&self, root: &Cid) -> bool {
        self.get(root).is_some()
    }

    /// The newest state on both this view and `other`, if any.
    pub fn common_ancestor(&self, other: &ChainView) -> Option<&ViewEntry> {
        self.entries.iter().find(|e| other.contains(&e.root))
    }
}

/// Whether `ancestor` is `descendant` or one of its ancestors, walking the
/// chain back from `descendant` through the store along validated links only
/// (`None` if the walk meets a state this node has not validated, or blocks
/// on the way are missing: a `previous` link nobody checked proves nothing).
pub fn is_ancestor<BS: Blockstore>(
    chain: &Executor<BS>,
    validated: &ValidatedRoots,
    ancestor: &ViewEntry,
    descendant: &Cid,
) -> Option<bool> {
    let mut cursor = *descendant;
    loop {
        if cursor == ancestor.root {
            return Some(true);
        }
        if !validated.contains(&cursor) {
            return None;
        }
        let block = chain.block(&cursor).ok()?;
        // Reached the ancestor's height (or below) without meeting it.
        if block.number() <= ancestor.number {
            return Some(false);
        }
        cursor = block.unsigned.previous?;
    }
}

/// Sorts a tau-state error into "blocks missing" and "forged".
fn classify(root: &Cid) -> impl Fn(tau_state::Error) -> Error + '_ {
    move |e| match e {
        tau_state::Error::MissingBlock(_)
        | tau_state::Error::Hamt(tau_hamt::Error::MissingBlock(_)) => Error::Incomplete(e),
        tau_state::Error::FutureBlock { timestamp, now } => Error::FutureBlock {
            root: Box::new(*root),
            timestamp,
            now,
        },
        e if e.is_store_failure() => Error::Local(e),
        other => Error::InvalidChain {
            root: Box::new(*root),
            source: other,
        },
    }
}
