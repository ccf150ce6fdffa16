//! Catch-up beyond the mutable range.
//!
//! A node that was offline longer than the mutable range sees peers' chains
//! that no longer meet a state it validated within the range, so their views
//! are unanchored and fork choice cannot relate them to its chain. If such a
//! chain extends the node's safety point, that is catch-up, not a
//! reorganization: follow previous-state links from the peer's head back to
//! the safety block, validate every state oldest first (each on a state
//! already anchored, each against the clock), and only then adopt the head.
//! A chain that passes below the safety point without holding it is refused.

use cid::Cid;
use tau_ipld::Blockstore;
use tau_state::Executor;

use crate::view::{ValidatedRoots, ViewEntry};

/// Where a walk back from a peer's head got to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WalkBack {
    /// Every state from the head down to the anchor is in the store and
    /// valid; the roots above the anchor, newest first.
    Reached(Vec<Cid>),
    /// This block is missing: fetch it and walk again.
    Missing(Cid),
    /// The chain does not hold the anchor (it passes below it, ends at
    /// another genesis, or is longer than the limit): not a catch-up.
    Refused(String),
    /// A block is dated ahead of the clock: not now.
    Future(String),
    /// A state failed validation: the chain is forged.
    Forged(String),
}

/// Walks from `head` back to `anchor` (the node's safety block, or genesis),
/// validating every state not validated before, oldest first, against the
/// clock `now` (Unix seconds). At most `limit` states are walked (a bound on
/// the work one peer answer can cause).
pub fn walk_back<BS: Blockstore>(
    chain: &Executor<BS>,
    validated: &mut ValidatedRoots,
    head: Cid,
    anchor: &ViewEntry,
    limit: u64,
    now: u64,
) -> WalkBack {
    let mut links = Vec::new();
    let mut cursor = head;
    while cursor != anchor.root {
        let block = match chain.block(&cursor) {
            Ok(block) => block,
            Err(e) => return blame(&e, &cursor),
        };
        if block.number() <= anchor.number {
            return WalkBack::Refused(format!(
                "block {} at {cursor} passes the safety point {} without holding it",
                block.number(),
                anchor.number
            ));
        }
        if links.len() as u64 >= limit {
            return WalkBack::Refused(format!("more than {limit} blocks above the safety point"));
        }
        let Some(previous) = block.unsigned.previous else {
            return WalkBack::Refused(format!("another genesis at {cursor}"));
        };
        links.push((previous, cursor, block.number()));
        cursor = previous;
    }
    for (previous, root, number) in links.iter().rev() {
        if validated.contains(root) {
            continue;
        }
        match chain.validate_block_at(previous, root, now) {
            Ok(_) => validated.insert(*root, *number),
            Err(e @ tau_state::Error::FutureBlock { .. }) => {
                return WalkBack::Future(format!("state {root}: {e}"))
            }
            Err(e) => return blame(&e, root),
        }
    }
    WalkBack::Reached(links.into_iter().map(|(_, root, _)| root).collect())
}

/// A walk's failure at `root`: a block to fetch, a failure of our own store
/// (not the peer's fault: refused for now), or a forgery.
fn blame(e: &tau_state::Error, root: &Cid) -> WalkBack {
    if let Some(cid) = missing_cid(e) {
        WalkBack::Missing(cid)
    } else if e.is_store_failure() {
        WalkBack::Refused(format!("local store at {root}: {e}"))
    } else {
        WalkBack::Forged(format!("state {root}: {e}"))
    }
}

/// Local blocks unwound when the head moves from `old_head` to a chain made
/// of `new_chain` (roots above `anchor`): the old head's ancestors not on it.
pub fn unwound<BS: Blockstore>(
    chain: &Executor<BS>,
    old_head: Cid,
    new_chain: &[Cid],
    anchor: &ViewEntry,
) -> u64 {
    let mut depth = 0;
    let mut cursor = old_head;
    while cursor != anchor.root && !new_chain.contains(&cursor) {
        let Ok(block) = chain.block(&cursor) else {
            break;
        };
        let Some(previous) = block.unsigned.previous else {
            break;
        };
        depth += 1;
        cursor = previous;
    }
    depth
}

/// The CID a "missing block" error names.
pub fn missing_cid(e: &tau_state::Error) -> Option<Cid> {
    match e {
        tau_state::Error::MissingBlock(cid)
        | tau_state::Error::Hamt(tau_hamt::Error::MissingBlock(cid)) => Some(**cid),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use tau_ipld::MemoryBlockstore;
    use tau_keys::Keypair;
    use tau_state::Genesis;

    use super::*;

    /// Far enough ahead that no block of these tests is dated beyond it.
    const NOW: u64 = 1 << 40;

    struct Fixture {
        chain: Executor<MemoryBlockstore>,
        genesis: Cid,
        keys: [Keypair; 2],
    }

    impl Fixture {
        fn new() -> Self {
            let keys = [
                Keypair::from_bytes(&[7; 32]).unwrap(),
                Keypair::from_bytes(&[8; 32]).unwrap(),
            ];
            let chain =
                Executor::new(MemoryBlockstore::new(), tau_state::Params::devnet()).unwrap();
            let allocations = keys
                .iter()
                .fold(Genesis::new(1_000), |g, k| g.allocate(k.address(), 1_000));
            let (genesis, _) = chain.genesis(&allocations, &keys[0]).unwrap();
            Self {
                chain,
                genesis,
                keys,
            }
        }

        /// `n` blocks mined by key `miner` on `from`, oldest first.
        fn mine(&self, from: Cid, miner: usize, n: usize) -> Vec<Cid> {
            let key = &self.keys[miner];
            let mut head = from;
            let mut out = Vec::new();
            for _ in 0..n {
                let now = self
                    .chain
                    .eligibility(&head, &key.address())
                    .unwrap()
                    .earliest;
                head = self
                    .chain
                    .produce_next_state(&head, key, &[], now)
                    .unwrap()
                    .root;
                out.push(head);
            }
            out
        }

        fn entry(&self, root: Cid) -> ViewEntry {
            ViewEntry::of(root, &self.chain.block(&root).unwrap())
        }
    }

    #[test]
    fn a_chain_holding_the_anchor_is_walked_and_validated() {
        let f = Fixture::new();
        let main = f.mine(f.genesis, 0, 4);
        let anchor = f.entry(main[0]);
        let mut validated = ValidatedRoots::new(f.genesis);
        let walk = walk_back(&f.chain, &mut validated, main[3], &anchor, 100, NOW);
        assert_eq!(walk, WalkBack::Reached(vec![main[3], main[2], main[1]]));
        assert!(main[1..].iter().all(|r| validated.contains(r)));
        assert!(
            !validated.contains(&main[0]),
            "the anchor is trusted, not re-run"
        );
        // The anchor itself: nothing to walk.
        assert_eq!(
            walk_back(&f.chain, &mut validated, main[0], &anchor, 100, NOW),
            WalkBack::Reached(vec![])
        );
    }

    #[test]
    fn a_failure_of_our_own_store_is_not_blamed_on_the_chain() {
        let f = Fixture::new();
        let main = f.mine(f.genesis, 0, 4);
        let anchor = f.entry(main[0]);
        for bad in [main[3], main[1]] {
            let disk = tau_ipld::blockstore::FailingReads::new(f.chain.store(), [bad]);
            let chain = f.chain.with_store(disk);
            let mut validated = ValidatedRoots::new(f.genesis);
            let walk = walk_back(&chain, &mut validated, main[3], &anchor, 100, NOW);
            assert!(matches!(walk, WalkBack::Refused(_)), "{walk:?}");
        }
    }

    #[test]
    fn a_chain_dated_ahead_of_the_clock_is_not_adopted() {
        let f = Fixture::new();
        let main = f.mine(f.genesis, 0, 3);
        let newest = f.chain.block(&main[2]).unwrap().timestamp();
        let mut validated = ValidatedRoots::new(f.genesis);
        let max_drift = f.chain.params().max_drift;
        let walk = walk_back(
            &f.chain,
            &mut validated,
            main[2],
            &f.entry(f.genesis),
            100,
            newest - max_drift - 1,
        );
        assert!(matches!(walk, WalkBack::Future(_)), "{walk:?}");
        assert!(!validated.contains(&main[2]));
        // Once the clock is there, the same chain is fine.
        let walk = walk_back(
            &f.chain,
            &mut validated,
            main[2],
            &f.entry(f.genesis),
            100,
            newest - max_drift,
        );
        assert!(matches!(walk, WalkBack::Reached(_)), "{walk:?}");
    }

    #[test]
    fn a_chain_passing_below_the_anchor_is_refused() {
        let f = Fixture::new();
        let main = f.mine(f.genesis, 0, 2);
        let fork = f.mine(f.genesis, 1, 5);
        let mut validated = ValidatedRoots::new(f.genesis);
        let walk = walk_back(
            &f.chain,
            &mut validated,
            fork[4],
            &f.entry(main[1]),
            100,
            NOW,
        );
        assert!(matches!(walk, WalkBack::Refused(_)), "{walk:?}");
        // Too long a way back is refused as well.
        let walk = walk_back(
            &f.chain,
            &mut validated,
            fork[4],
            &f.entry(f.genesis),
            3,
            NOW,
        );
        assert!(matches!(walk, WalkBack::Refused(_)), "{walk:?}");
    }

    #[test]
    fn a_missing_state_is_named() {
        let f = Fixture::new();
        let unknown = tau_ipld::block::cid_of(tau_ipld::block::DAG_CBOR, b"not stored");
        let mut validated = ValidatedRoots::new(f.genesis);
        assert_eq!(
            walk_back(
                &f.chain,
                &mut validated,
                unknown,
                &f.entry(f.genesis),
                100,
                NOW
            ),
            WalkBack::Missing(unknown)
        );
    }

    #[test]
    fn unwound_counts_the_local_blocks_off_the_new_chain() {
        let f = Fixture::new();
        let main = f.mine(f.genesis, 0, 3);
        let fork = f.mine(main[0], 1, 2);
        let anchor = f.entry(f.genesis);
        assert_eq!(unwound(&f.chain, fork[1], &main, &anchor), 2);
        assert_eq!(unwound(&f.chain, main[1], &main, &anchor), 0);
    }
}
