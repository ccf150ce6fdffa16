//! A chain of 1,000 devnet blocks mined by 5 keys, each key mining whenever
//! its Proof-of-Transaction allows it first, then validated from genesis.

mod common;

use std::cmp::Ordering;

use common::*;
use rand::{Rng, SeedableRng};
use tau_state::pot;

#[test]
fn thousand_blocks_by_five_miners_validate_from_genesis() {
    const BLOCKS: usize = 1_000;
    let (chain, genesis, keys) = devnet(5, 1_000_000);
    let p = chain.params().clone();
    let mut rng = rand::rngs::StdRng::seed_from_u64(2026);
    let mut nonces = [0u64; 5];
    let mut root = genesis;
    let mut mined = [0usize; 5];
    let mut applied = 0;
    for _ in 0..BLOCKS {
        // The miner whose required interval ends first wins the height.
        let (winner, t) = keys
            .iter()
            .enumerate()
            .map(|(i, k)| (i, earliest(&chain, &root, k)))
            .min_by_key(|&(i, t)| (t, i))
            .unwrap();
        nonces[winner] += 1;
        // A few random payments between the keys.
        let txs: Vec<_> = (0..rng.random_range(0..4))
            .map(|_| {
                let from = rng.random_range(0..5);
                let to = rng.random_range(0..5);
                nonces[from] += 1;
                pay(
                    &p,
                    &keys[from],
                    keys[to].address(),
                    nonces[from],
                    rng.random_range(1..100),
                    1,
                    t,
                )
            })
            .collect();
        let produced = chain
            .produce_next_state(&root, &keys[winner], &txs, t)
            .unwrap();
        assert!(produced.skipped.is_empty(), "{:?}", produced.skipped);
        applied += txs.len();
        mined[winner] += 1;
        root = produced.root;
    }

    // Validate every block from genesis, as a node syncing the chain would.
    let history = chain.history(&root, BLOCKS + 1).unwrap();
    assert_eq!(history.len(), BLOCKS + 1);
    let mut states: Vec<_> = history.iter().map(|(r, _)| *r).collect();
    states.reverse();
    assert_eq!(states[0], genesis);
    let mut previous_cd = 0;
    for pair in states.windows(2) {
        let block = chain.validate_block(&pair[0], &pair[1]).unwrap();
        assert!(block.cumulative_difficulty() > previous_cd);
        previous_cd = block.cumulative_difficulty();
    }

    let head = &history[0].1;
    assert_eq!(head.number(), BLOCKS as u64);
    assert_eq!(supply(&chain, &root), 5 * 1_000_000);
    assert!(applied > BLOCKS, "only {applied} transactions applied");
    // Every key got to mine, and the base target moved away from genesis.
    assert!(mined.iter().all(|&m| m > 0), "{mined:?}");
    assert_ne!(head.unsigned.base_target, p.genesis_base_target);
    // The mean block time is within the interval bounds and near the target.
    let span = head.timestamp() - GENESIS_TIME;
    let mean = span / BLOCKS as u64;
    assert!(
        (p.min_interval..=p.max_interval).contains(&mean),
        "mean {mean}"
    );
    // Fork preference: the longer chain's head beats its ancestor.
    assert_eq!(pot::fork_preference(head, &history[1].1), Ordering::Greater);
}
