//! The process-B engine decides the same whatever order its peers' answers
//! arrive in: same safety point, same head, same evaluation.

use std::collections::BTreeMap;

use cid::Cid;
use proptest::prelude::*;
use tau_cbc::{Evaluation, Mode, Params, PeerAnswer, VoteEngine};
use tau_ipld::MemoryBlockstore;
use tau_keys::{Address, Keypair};
use tau_state::{Executor, Genesis};

/// A clock past every block of the fixture.
const NOW: u64 = 1 << 40;

/// Miners 0..6; node 0 runs the engine, 1..6 answer.
const MINERS: usize = 6;

struct Fixture {
    chain: Executor<MemoryBlockstore>,
    genesis: Cid,
    keys: Vec<Keypair>,
    /// A main chain of 12 blocks and a fork of 6 from its 4th block.
    main: Vec<Cid>,
    fork: Vec<Cid>,
}

fn fixture() -> Fixture {
    let keys: Vec<Keypair> = (1..=MINERS as u8)
        .map(|i| Keypair::from_bytes(&[i; 32]).unwrap())
        .collect();
    let chain = Executor::new(MemoryBlockstore::new(), tau_state::Params::devnet()).unwrap();
    let genesis = keys
        .iter()
        .fold(Genesis::new(0), |g, k| g.allocate(k.address(), 1_000));
    let (genesis, _) = chain.genesis(&genesis, &keys[0]).unwrap();
    let mine = |from: Cid, miners: &[usize]| -> Vec<Cid> {
        let mut head = from;
        let mut out = Vec::new();
        for &m in miners {
            let key = &keys[m];
            let when = chain.eligibility(&head, &key.address()).unwrap().earliest;
            head = chain
                .produce_next_state(&head, key, &[], when)
                .unwrap()
                .root;
            out.push(head);
        }
        out
    };
    let main = mine(genesis, &[1, 2, 3, 4, 5, 1, 2, 3, 4, 5, 1, 2]);
    let fork = mine(main[3], &[5, 4, 3, 2, 1, 5]);
    Fixture {
        chain,
        genesis,
        keys,
        main,
        fork,
    }
}

fn params() -> Params {
    let mut p = Params::devnet();
    p.confirmations = 2;
    p
}

/// The engine of node 0 after it took `answers` in order, then evaluated.
/// The engine of node 0 at the main chain's third block; peer `i` proves
/// miner `i`'s address, and `extra` addresses follow.
fn engine(f: &Fixture, extra: Vec<Address>) -> VoteEngine<u8> {
    let mut addresses: Vec<Address> = f.keys.iter().map(Keypair::address).collect();
    addresses.extend(extra);
    VoteEngine::new(
        &f.chain,
        params(),
        Mode::Mining,
        0u8,
        addresses[0],
        Box::new(move |p: &u8| addresses.get(usize::from(*p)).copied()),
        f.genesis,
        f.main[2],
        None,
        NOW,
    )
    .unwrap()
}

fn decide(f: &Fixture, answers: &[(u8, PeerAnswer<u8>)]) -> (Evaluation, Option<Cid>, Cid) {
    let mut engine = engine(f, Vec::new());
    for peer in 1..MINERS as u8 {
        engine.add_peer(peer, NOW);
    }
    for (peer, answer) in answers {
        engine.receive(&f.chain, peer, answer, NOW);
    }
    let evaluation = engine.evaluate(&f.chain, NOW).unwrap();
    let safety = engine.safety().map(|e| e.root);
    (evaluation, safety, engine.head())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    #[test]
    fn decisions_do_not_depend_on_the_order_of_answers(
        picks in proptest::collection::vec((1..MINERS as u8, 0usize..18, proptest::option::of(0usize..18)), 1..12),
        order_seed in any::<u64>(),
    ) {
        let f = fixture();
        let all: Vec<Cid> = f.main.iter().chain(f.fork.iter()).copied().collect();
        let answers: Vec<(u8, PeerAnswer<u8>)> = picks
            .iter()
            .map(|&(peer, head, safety)| {
                (peer, PeerAnswer {
                    head: all[head],
                    safety: safety.map(|s| all[s]),
                    seen: BTreeMap::new(),
                    mining: true,
                })
            })
            .collect();
        // Only each peer's latest answer counts, so shuffle peers' answers
        // as whole sequences: the last answer of each peer stays its last.
        let mut by_peer: BTreeMap<u8, Vec<(u8, PeerAnswer<u8>)>> = BTreeMap::new();
        for a in &answers {
            by_peer.entry(a.0).or_default().push(a.clone());
        }
        let mut groups: Vec<Vec<(u8, PeerAnswer<u8>)>> = by_peer.into_values().collect();
        let mut state = order_seed;
        for i in (1..groups.len()).rev() {
            state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            let j = (state >> 33) as usize % (i + 1);
            groups.swap(i, j);
        }
        let shuffled: Vec<(u8, PeerAnswer<u8>)> = groups.into_iter().flatten().collect();
        let first = decide(&f, &answers);
        prop_assert_eq!(first, decide(&f, &shuffled));
    }
}

#[test]
fn only_proven_miners_views_are_kept() {
    let f = fixture();
    // Peer 6 holds a key of no coin that never mined: it proves nothing.
    let mut engine = engine(&f, vec![Keypair::from_bytes(&[99; 32]).unwrap().address()]);
    engine.add_peer(6, NOW);
    engine.add_peer(1, NOW);
    let answer = PeerAnswer {
        head: f.main[11],
        safety: Some(f.main[5]),
        seen: BTreeMap::new(),
        mining: true,
    };
    // A valid, anchored view from a peer that proves nothing is taken (its
    // blocks may prove miners) but not kept.
    engine.receive(&f.chain, &6, &answer, NOW);
    assert_eq!(engine.views_held(), 0);
    engine.receive(&f.chain, &1, &answer, NOW);
    assert_eq!(engine.views_held(), 1);
}

#[test]
fn a_vote_decided_while_the_head_moved_is_not_applied() {
    let f = fixture();
    let mut engine = engine(&f, Vec::new());
    let answer = PeerAnswer {
        head: f.main[11],
        safety: Some(f.main[5]),
        seen: BTreeMap::new(),
        mining: true,
    };
    for peer in 1..MINERS as u8 {
        engine.add_peer(peer, NOW);
        engine.receive(&f.chain, &peer, &answer, NOW);
    }
    // The vote is decided off the engine; meanwhile the node mines.
    let snapshot = engine.snapshot_pass();
    assert_eq!(snapshot.voters(), MINERS - 1);
    let decision = snapshot.decide(&f.chain);
    assert!(matches!(
        decision.outcome().choice,
        tau_cbc::ForkChoice::Switch { .. }
    ));
    engine.adopt_own(&f.chain, f.main[3], NOW).unwrap();
    let stale = engine.apply_pass(decision, &f.chain, NOW).unwrap();
    assert!(stale.stale);
    assert_eq!(engine.head(), f.main[3]);
    assert_eq!(engine.safety(), None);
    // Decided again on the same views, it applies: the switch and a safety
    // point, as one evaluate would.
    let decision = engine.snapshot_pass().decide(&f.chain);
    let applied = engine.apply_pass(decision, &f.chain, NOW).unwrap();
    assert!(!applied.stale);
    assert_eq!(engine.head(), f.main[11]);
    assert_eq!(applied.head.map(|h| h.root), Some(f.main[11]));
    // What lies below the new safety point is forgotten; the genesis, the
    // safety point and what is above it stay validated.
    let safety = applied.safety.unwrap();
    let validated = engine.validated();
    assert!(validated.contains(&f.genesis));
    for (number, root) in (1u64..).zip(&f.main) {
        assert_eq!(
            validated.contains(root),
            number >= safety.number,
            "block {number} against the safety point at {}",
            safety.number
        );
    }
}
