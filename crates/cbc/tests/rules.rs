//! The vote rule, the safety tracker, fork choice and view validation on
//! real tau-state chains.

use std::collections::BTreeMap;

use cid::Cid;
use tau_cbc::{
    endorsed_point, fork_choice, is_ancestor, safety_point, ChainView, Error, ForkChoice, Params,
    SafetyTracker, SafetyUpdate, ThresholdBase, ValidatedRoots, ViewEntry,
};
use tau_ipld::{Blockstore, MemoryBlockstore};
use tau_keys::Keypair;
use tau_state::{Executor, Genesis, StateKey};

/// A clock past every block these tests mine (devnet blocks are dated from
/// the genesis at 0 by their Proof-of-Transaction intervals).
const NOW: u64 = 1 << 40;

struct Fixture {
    chain: Executor<MemoryBlockstore>,
    genesis: Cid,
    keys: Vec<Keypair>,
}

fn fixture() -> Fixture {
    let keys: Vec<Keypair> = (1..=3u8)
        .map(|i| Keypair::from_bytes(&[i; 32]).unwrap())
        .collect();
    let chain = Executor::new(MemoryBlockstore::new(), tau_state::Params::devnet()).unwrap();
    let genesis = keys
        .iter()
        .fold(Genesis::new(0), |g, k| g.allocate(k.address(), 1_000));
    let (genesis, _) = chain.genesis(&genesis, &keys[0]).unwrap();
    Fixture {
        chain,
        genesis,
        keys,
    }
}

impl Fixture {
    /// `n` blocks on `from` mined by key `miner`; returns the roots, oldest first.
    fn extend(&self, from: Cid, miner: usize, n: usize) -> Vec<Cid> {
        let mut roots = Vec::new();
        let mut head = from;
        for _ in 0..n {
            let key = &self.keys[miner];
            let when = self
                .chain
                .eligibility(&head, &key.address())
                .unwrap()
                .earliest;
            head = self
                .chain
                .produce_next_state(&head, key, &[], when)
                .unwrap()
                .root;
            roots.push(head);
        }
        roots
    }

    /// The view of `head` by a node that validated the whole chain from
    /// genesis before (so the view is anchored however long the chain).
    fn view(&self, head: Cid, params: &Params) -> ChainView {
        let mut validated = ValidatedRoots::new(self.genesis);
        let everything = u64::from(u32::MAX);
        ChainView::collect(&self.chain, &head, everything, &mut validated, NOW).unwrap();
        ChainView::collect(
            &self.chain,
            &head,
            params.mutable_range,
            &mut validated,
            NOW,
        )
        .unwrap()
    }
}

fn params() -> Params {
    let mut p = Params::devnet();
    p.confirmations = 0;
    p
}

#[test]
fn the_newest_state_held_by_two_thirds_is_safe() {
    let f = fixture();
    let p = params();
    let main = f.extend(f.genesis, 0, 4);
    let side = f.extend(main[1], 1, 3); // forks after block 2
    let mut views = BTreeMap::new();
    for (peer, head) in [
        (0, main[3]),
        (1, main[3]),
        (2, main[2]),
        (3, side[2]),
        (4, side[1]),
        (5, main[3]),
    ] {
        views.insert(peer, f.view(head, &p));
    }
    // 6 known peers: 2/3 is 4. Block 4 (main[3]) has 3, block 3 has 4.
    let safe = safety_point(&p, 6, &views).unwrap().unwrap();
    assert_eq!(safe.entry.root, main[2]);
    assert_eq!((safe.support, safe.traversed), (4, 6));
    // Counted against the traversed peers only, the same views give the same point.
    let mut literal = p.clone();
    literal.base = ThresholdBase::Traversed;
    assert_eq!(
        safety_point(&literal, 6, &views)
            .unwrap()
            .unwrap()
            .entry
            .root,
        main[2]
    );
    // With 12 known peers the 6 views are enough to vote (half) but no state
    // reaches 8: no safety point, keep collecting.
    assert_eq!(safety_point(&p, 12, &views).unwrap(), None);
    // Fewer than half the known peers traversed: no vote.
    assert!(matches!(
        safety_point(&p, 13, &views),
        Err(Error::NotEnoughPeers {
            traversed: 6,
            needed: 7
        })
    ));
}

#[test]
fn confirmations_keep_the_tip_out_of_the_vote() {
    let f = fixture();
    let mut p = params();
    p.confirmations = 2;
    let main = f.extend(f.genesis, 0, 5);
    let views: BTreeMap<_, _> = (0..3).map(|i| (i, f.view(main[4], &p))).collect();
    // Everyone holds block 5, but only block 3 has two blocks on top.
    let safe = safety_point(&p, 3, &views).unwrap().unwrap();
    assert_eq!(safe.entry.root, main[2]);
}

#[test]
fn states_beyond_the_mutable_range_are_never_safe() {
    let f = fixture();
    let mut p = params();
    p.mutable_range = 3;
    let main = f.extend(f.genesis, 0, 8);
    let side = f.extend(main[0], 1, 8);
    // Half on each fork: they share only block 1, 7 blocks behind the tips.
    let mut views = BTreeMap::new();
    views.insert(0, f.view(main[7], &p));
    views.insert(1, f.view(side[7], &p));
    assert_eq!(safety_point(&p, 2, &views).unwrap(), None);
}

#[test]
fn the_tracker_only_moves_forward_on_one_chain() {
    let f = fixture();
    let p = params();
    let main = f.extend(f.genesis, 0, 4);
    let side = f.extend(main[0], 1, 4);
    let views: BTreeMap<_, _> = [(0, f.view(main[3], &p)), (1, f.view(side[3], &p))].into();
    let point = |root: Cid| {
        let view = views.values().find(|v| v.contains(&root)).unwrap();
        tau_cbc::SafetyPoint {
            entry: view.get(&root).unwrap().clone(),
            support: 1,
            traversed: 2,
            fault_tolerance: None,
        }
    };
    let mut tracker = SafetyTracker::new();
    assert_eq!(
        tracker.update(point(main[1]), &views),
        SafetyUpdate::Advanced
    );
    assert_eq!(
        tracker.update(point(main[0]), &views),
        SafetyUpdate::Unchanged
    );
    assert_eq!(
        tracker.update(point(main[3]), &views),
        SafetyUpdate::Advanced
    );
    // A state on the other fork would revert the point: refused.
    assert!(matches!(
        tracker.update(point(side[3]), &views),
        SafetyUpdate::Conflict(_)
    ));
    assert_eq!(tracker.current().unwrap().entry.root, main[3]);
}

#[test]
fn fork_choice_follows_the_heaviest_chain_holding_the_safety_point() {
    let f = fixture();
    let p = params();
    let main = f.extend(f.genesis, 0, 3);
    let heavy = f.extend(f.genesis, 1, 6); // heavier, but does not hold main[0]
    let local = f.view(main[1], &p);
    let candidates = [f.view(main[2], &p), f.view(heavy[5], &p)];
    // No safety point: the heaviest chain wins, unwinding two local blocks.
    match fork_choice(&p, &local, None, candidates.iter()) {
        ForkChoice::Switch { head, reorg_depth } => {
            assert_eq!(head.root, heavy[5]);
            assert_eq!(reorg_depth, 2);
        }
        other => panic!("{other:?}"),
    }
    // With main[0] safe, only chains holding it count.
    let safe = tau_cbc::SafetyPoint {
        entry: local.get(&main[0]).unwrap().clone(),
        support: 2,
        traversed: 2,
        fault_tolerance: None,
    };
    match fork_choice(&p, &local, Some(&safe), candidates.iter()) {
        ForkChoice::Switch { head, reorg_depth } => {
            assert_eq!(head.root, main[2]);
            assert_eq!(reorg_depth, 0);
        }
        other => panic!("{other:?}"),
    }
    // A reorganization deeper than the mutable range is refused.
    let mut short = p.clone();
    short.mutable_range = 1;
    assert!(matches!(
        fork_choice(&short, &local, None, candidates.iter()),
        ForkChoice::TooDeep { .. }
    ));
}

/// A state like `root` whose block was edited and re-signed by `signer`.
fn forge(
    f: &Fixture,
    root: &Cid,
    signer: &Keypair,
    edit: impl FnOnce(&mut tau_state::UnsignedBlock),
) -> Cid {
    let mut unsigned = f.chain.block(root).unwrap().unsigned;
    edit(&mut unsigned);
    let block = unsigned.sign(signer).unwrap();
    let cid = f
        .chain
        .store()
        .put(tau_ipld::block::DAG_CBOR, &block.encode().unwrap())
        .unwrap();
    let mut state = f.chain.state(root).unwrap();
    state
        .set(&StateKey::Contract(f.chain.params().chain_id.clone()), &cid)
        .unwrap();
    state.flush().unwrap()
}

#[test]
fn forged_answers_are_rejected_and_withheld_blocks_are_not_forgery() {
    let f = fixture();
    let p = params();
    let main = f.extend(f.genesis, 0, 2);
    let collect = |head: &Cid| {
        let mut validated = ValidatedRoots::new(f.genesis);
        ChainView::collect(&f.chain, head, p.mutable_range, &mut validated, NOW)
    };
    // A state root that does not match its block.
    let mut state = f.chain.state(&main[1]).unwrap();
    state
        .set(&StateKey::Balance(f.keys[2].address()), &1_000_000u64)
        .unwrap();
    let wrong_root = state.flush().unwrap();
    // A bad signature and an invalid PoT (dated before the miner's interval).
    let bad_signature = forge(&f, &main[1], &f.keys[1], |_| {});
    let bad_pot = forge(&f, &main[1], &f.keys[0], |b| b.timestamp -= 1);
    for forged in [wrong_root, bad_signature, bad_pot] {
        let err = collect(&forged).unwrap_err();
        assert!(err.is_forgery(), "{err}");
        assert!(matches!(err, Error::InvalidChain { .. }));
    }
    // A peer whose blocks never arrived: incomplete, not proof of malice.
    let empty = Executor::new(MemoryBlockstore::new(), tau_state::Params::devnet()).unwrap();
    let mut validated = ValidatedRoots::new(f.genesis);
    let err =
        ChainView::collect(&empty, &main[1], p.mutable_range, &mut validated, NOW).unwrap_err();
    assert!(matches!(err, Error::Incomplete(_)), "{err}");
    assert!(!err.is_forgery());
    // Our own disk failing on a block: not the peer's fault either.
    let disk = tau_ipld::blockstore::FailingReads::new(f.chain.store(), [main[1]]);
    let failing = f.chain.with_store(disk);
    let mut validated = ValidatedRoots::new(f.genesis);
    let err =
        ChainView::collect(&failing, &main[1], p.mutable_range, &mut validated, NOW).unwrap_err();
    assert!(matches!(err, Error::Local(_)), "{err}");
    assert!(!err.is_forgery());
    // The honest chain still validates.
    assert_eq!(collect(&main[1]).unwrap().head().number, 2);
}

#[test]
fn the_ghost_estimate_follows_the_most_held_branch_not_the_heaviest() {
    let f = fixture();
    let p = params();
    let trunk = f.extend(f.genesis, 0, 2);
    let popular = f.extend(trunk[1], 1, 1); // one block, held by three views
    let heavy = f.extend(trunk[1], 2, 3); // three blocks, held by one view
    let views: BTreeMap<_, _> = [
        (0, f.view(popular[0], &p)),
        (1, f.view(popular[0], &p)),
        (2, f.view(popular[0], &p)),
        (3, f.view(heavy[2], &p)),
    ]
    .into();
    let estimate = tau_cbc::ghost_estimate(&views).unwrap();
    assert_eq!(estimate.root, popular[0]);
    // Fork choice by difficulty would pick the heavy branch instead.
    let local = f.view(trunk[1], &p);
    match fork_choice(&p, &local, None, views.values()) {
        ForkChoice::Switch { head, .. } => assert_eq!(head.root, heavy[2]),
        other => panic!("{other:?}"),
    }
    // Views sharing nothing (different geneses would) give no estimate.
    let empty: BTreeMap<u8, ChainView> = BTreeMap::new();
    assert!(tau_cbc::ghost_estimate(&empty).is_none());
}

#[test]
fn a_chain_dated_ahead_of_the_clock_does_not_count_and_cannot_win_fork_choice() {
    let f = fixture();
    let p = params();
    let honest = f.extend(f.genesis, 0, 3);
    // The clock: the honest head's time.
    let now = f.chain.block(&honest[2]).unwrap().timestamp();
    // A second miner mints as fast as its CPU allows, each block dated at its
    // eligibility however far ahead of the clock.
    let racing = f.extend(f.genesis, 1, 25);
    let newest = f.chain.block(&racing[24]).unwrap().timestamp();
    let max_drift = f.chain.params().max_drift;
    assert!(newest > now + max_drift, "the race outruns the clock");
    let mut validated = ValidatedRoots::new(f.genesis);
    let local =
        ChainView::collect(&f.chain, &honest[2], p.mutable_range, &mut validated, now).unwrap();
    let err = ChainView::collect(&f.chain, &racing[24], p.mutable_range, &mut validated, now)
        .unwrap_err();
    assert!(matches!(err, Error::FutureBlock { .. }), "{err}");
    assert!(
        !err.is_forgery(),
        "a clock disagreement is not proof of malice"
    );
    assert!(!validated.contains(&racing[24]));
    // What the clock check prevents: the same chain, collected by a clock
    // that has reached it, is heavier and fork choice would follow it.
    let mut later = ValidatedRoots::new(f.genesis);
    let race =
        ChainView::collect(&f.chain, &racing[24], p.mutable_range, &mut later, newest).unwrap();
    assert!(matches!(
        fork_choice(&p, &local, None, [&race]),
        ForkChoice::Switch { .. }
    ));
    // The part of the race dated within the drift does count.
    let in_time = racing
        .iter()
        .rposition(|r| f.chain.block(r).unwrap().timestamp() <= now + max_drift);
    if let Some(i) = in_time {
        ChainView::collect(&f.chain, &racing[i], p.mutable_range, &mut validated, now).unwrap();
    }
}

/// A forged chain resting on an invented state: `base`'s state with a huge
/// balance for `miner` (the block under it still claims `base`'s previous
/// state), then `n` valid blocks mined on it. Returns the invented root and
/// the chain, oldest first.
fn forge_bottom(f: &Fixture, base: Cid, miner: usize, n: usize) -> (Cid, Vec<Cid>) {
    let mut state = f.chain.state(&base).unwrap();
    state
        .set(
            &StateKey::Balance(f.keys[miner].address()),
            &1_000_000_000u64,
        )
        .unwrap();
    let invented = state.flush().unwrap();
    (invented, f.extend(invented, miner, n))
}

#[test]
fn a_chain_on_an_invented_state_is_unanchored_and_cannot_move_the_safety_point() {
    let f = fixture();
    let mut p = params();
    p.mutable_range = 8;
    let honest = f.extend(f.genesis, 0, 4);
    let mut validated = ValidatedRoots::new(f.genesis);
    let own =
        ChainView::collect(&f.chain, &honest[3], p.mutable_range, &mut validated, NOW).unwrap();
    // Our safety point: honest block 3. The invented state sits on block 4's
    // place (its block claims block 3 as previous), with a range of valid
    // blocks on top, so the walk back never reaches the invented state's
    // parent within the range.
    let (invented, forged) = forge_bottom(&f, honest[3], 1, p.mutable_range as usize);
    let head = *forged.last().unwrap();
    let err =
        ChainView::collect(&f.chain, &head, p.mutable_range, &mut validated, NOW).unwrap_err();
    assert!(matches!(err, Error::Unanchored { .. }), "{err}");
    assert!(!validated.contains(&invented));
    assert!(forged.iter().all(|r| !validated.contains(r)));
    // Ancestry walks validated links only: "is our safety point below the
    // forged head?" has no answer, so nothing can advance onto it.
    let safety = own.get(&honest[2]).unwrap().clone();
    assert_eq!(is_ancestor(&f.chain, &validated, &safety, &head), None);
    let forged_entry = |root: &Cid| ViewEntry::of(*root, &f.chain.block(root).unwrap());
    let mut tracker = SafetyTracker::new();
    tracker.update_with(
        tau_cbc::SafetyPoint {
            entry: safety.clone(),
            support: 1,
            traversed: 1,
            fault_tolerance: None,
        },
        |_, _| Some(true),
    );
    // Sixteen fake peers all report a forged entry as their safety point.
    let claimed = forged_entry(&forged[2]);
    let reports: BTreeMap<u32, ViewEntry> = (0..16).map(|i| (i, claimed.clone())).collect();
    let relation =
        |old: &ViewEntry, new: &ViewEntry| is_ancestor(&f.chain, &validated, old, &new.root);
    if let Some(entry) = endorsed_point(&p, 16, &reports, relation) {
        let update = tracker.update_with(
            tau_cbc::SafetyPoint {
                entry,
                support: 0,
                traversed: 16,
                fault_tolerance: None,
            },
            relation,
        );
        assert_ne!(update, SafetyUpdate::Advanced);
    }
    assert_eq!(tracker.current().unwrap().entry.root, honest[2]);
    // A shorter forged chain reaches our validated state within the range:
    // the invented state is re-executed, and fails as a forgery.
    let (_, short) = forge_bottom(&f, honest[3], 1, 2);
    let err =
        ChainView::collect(&f.chain, &short[1], p.mutable_range, &mut validated, NOW).unwrap_err();
    assert!(err.is_forgery(), "{err}");
}
