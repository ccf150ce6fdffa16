//! The warm head state (`Executor` keeps the decoded HAMT of the state it last
//! produced or validated): results byte-identical to a chain that reads every
//! state from the store, a failed validation never leaves a half-changed tree
//! behind, and the tree stays within its node bound.

mod common;

use std::collections::BTreeMap;

use cid::Cid;
use common::*;
use proptest::prelude::*;
use tau_ipld::{Blockstore, MemoryBlockstore};
use tau_keys::{Address, Keypair};
use tau_state::{Error, Executor, Genesis, Params, SignedTransaction, StateKey};

const KEYS: u8 = 4;
const START: u64 = 1_000;

/// Chains over their own stores, the same genesis on each: index 0 cold
/// (bound 0), 1 with the default bound, 2 with a bound of two nodes (trimmed
/// after every block).
fn chains(stores: &[MemoryBlockstore; 3]) -> (Vec<Executor<&MemoryBlockstore>>, Cid, Vec<Keypair>) {
    let keys: Vec<Keypair> = (0..KEYS).map(key).collect();
    let genesis = keys.iter().fold(Genesis::new(GENESIS_TIME), |g, k| {
        g.allocate(k.address(), START)
    });
    let chains: Vec<_> = stores
        .iter()
        .zip([0, tau_state::DEFAULT_WARM_STATE_NODES, 2])
        .map(|(store, bound)| {
            Executor::new(store, Params::devnet())
                .unwrap()
                .with_warm_state_nodes(bound)
        })
        .collect();
    let roots: Vec<Cid> = chains
        .iter()
        .map(|c| c.genesis(&genesis, &keys[0]).unwrap().0)
        .collect();
    assert!(roots.iter().all(|r| *r == roots[0]));
    assert_eq!(chains[0].warm_state(), None);
    assert_eq!(chains[1].warm_state().map(|w| w.0), Some(roots[0]));
    (chains, roots[0], keys)
}

/// A state like `root` with one more key: its block is honest, its root is not
/// what re-executing the block gives, which validation finds only after
/// re-executing the whole block.
fn with_extra_key<BS: Blockstore>(chain: &Executor<BS>, root: &Cid, who: Address) -> Cid {
    let mut state = chain.state(root).unwrap();
    state
        .set(&StateKey::Profile(who), &b"junk".to_vec())
        .unwrap();
    state.flush().unwrap()
}

/// An invalid block built on a produced one.
#[derive(Debug, Clone, Copy)]
enum Forgery {
    /// The state holds an extra key (fails at the root comparison).
    ExtraKey,
    /// The first transaction is dropped and the block re-signed (a later
    /// transaction of the same sender then fails mid-execution, or the root
    /// differs); an extra key if the block has no transaction.
    DropFirst,
    /// The block is signed by another key (fails before execution).
    WrongSigner,
}

fn forge_on<BS: Blockstore>(
    chain: &Executor<BS>,
    root: &Cid,
    miner: &Keypair,
    other: &Keypair,
    how: Forgery,
) -> Cid {
    match how {
        Forgery::ExtraKey => with_extra_key(chain, root, other.address()),
        Forgery::DropFirst => {
            let block = chain.block(root).unwrap();
            if chain.transactions(&block).unwrap().is_empty() {
                return with_extra_key(chain, root, other.address());
            }
            forge(chain, root, miner, |_, txs| {
                txs.remove(0);
            })
        }
        Forgery::WrongSigner => forge(chain, root, other, |_, _| {}),
    }
}

/// How a step's block reaches the chains.
#[derive(Debug, Clone, Copy)]
enum Role {
    /// Each chain produces it, then validates it.
    Produce,
    /// A clone of each chain (over the same store, without the warm state)
    /// produces it; the chain itself first rejects the forgery, if any, then
    /// validates it, from the warm state it holds.
    Validate(Option<Forgery>),
}

fn role() -> impl Strategy<Value = Role> {
    prop_oneof![
        2 => Just(Role::Produce),
        1 => Just(Role::Validate(None)),
        1 => Just(Role::Validate(Some(Forgery::ExtraKey))),
        1 => Just(Role::Validate(Some(Forgery::DropFirst))),
        1 => Just(Role::Validate(Some(Forgery::WrongSigner))),
    ]
}

/// One step: the miner, the transactions, the role, and whether the block is
/// built on the state before the previous one (a fork: the warm state does not
/// hold it).
fn steps() -> impl Strategy<Value = Vec<(u8, Vec<Op>, Role, bool)>> {
    proptest::collection::vec(
        (
            0..KEYS,
            proptest::collection::vec(op(KEYS), 0..8),
            role(),
            prop::bool::weighted(0.15),
        ),
        1..8,
    )
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 32, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn warm_and_cold_chains_give_identical_roots_and_blocks(steps in steps()) {
        let stores: [MemoryBlockstore; 3] = Default::default();
        let (chains, genesis, keys) = chains(&stores);
        let p = chains[0].params().clone();
        let mut root = genesis;
        let mut parent: Option<Cid> = None;
        for (miner, ops, role, fork) in steps {
            let other = &keys[(usize::from(miner) + 1) % keys.len()];
            let miner = &keys[usize::from(miner)];
            let base = match (fork, parent) {
                (true, Some(parent)) => parent,
                _ => root,
            };
            let t = earliest(&chains[0], &base, miner);
            let mut nonces: BTreeMap<Address, u64> = BTreeMap::new();
            for k in &keys {
                nonces.insert(k.address(), chains[0].nonce(&base, &k.address()).unwrap());
            }
            *nonces.get_mut(&miner.address()).unwrap() += 1;
            let txs: Vec<SignedTransaction> = ops.iter().map(|op| {
                let from = &keys[usize::from(op.from)];
                let n = nonces.get_mut(&from.address()).unwrap();
                *n += 1;
                let nonce = n.saturating_add_signed(i64::from(op.skew));
                pay(&p, from, keys[usize::from(op.to)].address(), nonce, op.amount, op.fee, t)
            }).collect();

            let produced: Vec<_> = chains
                .iter()
                .map(|c| match role {
                    Role::Produce => c.produce_next_state(&base, miner, &txs, t).unwrap(),
                    Role::Validate(_) => c.clone().produce_next_state(&base, miner, &txs, t).unwrap(),
                })
                .collect();
            let bytes = produced[0].block.encode().unwrap();
            for other in &produced[1..] {
                prop_assert_eq!(other.root, produced[0].root);
                prop_assert_eq!(other.block_cid, produced[0].block_cid);
                prop_assert_eq!(&other.block.encode().unwrap(), &bytes);
                prop_assert_eq!(&other.transactions, &produced[0].transactions);
                prop_assert_eq!(&other.skipped, &produced[0].skipped);
                prop_assert_eq!(other.bytes_written, produced[0].bytes_written);
            }
            let new_root = produced[0].root;

            if let Role::Validate(Some(how)) = role {
                let errors: Vec<String> = chains
                    .iter()
                    .map(|c| {
                        let forged = forge_on(c, &new_root, miner, other, how);
                        let e = c.validate_block(&base, &forged);
                        prop_assert!(e.is_err(), "{:?} passed validation", how);
                        Ok(e.err().map(|e| e.to_string()).unwrap_or_default())
                    })
                    .collect::<Result<_, TestCaseError>>()?;
                prop_assert!(errors.iter().all(|e| *e == errors[0]), "{:?}", errors);
            }
            // Every chain validates the honest block, from whatever it holds.
            for c in &chains {
                let block = c.validate_block(&base, &new_root).unwrap();
                prop_assert_eq!(&block.encode().unwrap(), &bytes);
                if let Some((held, nodes)) = c.warm_state() {
                    prop_assert_eq!(held, new_root);
                    prop_assert!(nodes <= c.warm_state_nodes().max(1));
                }
            }
            prop_assert_eq!(chains[0].warm_state(), None);
            prop_assert!(chains[1].warm_state().is_some());
            parent = Some(base);
            root = new_root;
        }
        // Each store holds every block of the last state (the walk reads them all).
        let supplies: Vec<u64> = chains.iter().map(|c| supply(c, &root)).collect();
        prop_assert!(supplies.iter().all(|s| *s == u64::from(KEYS) * START));
    }
}

/// Blocks 1 and 2 produced by one chain; a validator over the same store.
fn two_blocks(store: &MemoryBlockstore) -> (Cid, Cid, Cid, Vec<Keypair>) {
    let producer = Executor::new(store, Params::devnet()).unwrap();
    let keys: Vec<Keypair> = (0..KEYS).map(key).collect();
    let genesis = keys.iter().fold(Genesis::new(GENESIS_TIME), |g, k| {
        g.allocate(k.address(), START)
    });
    let (root0, _) = producer.genesis(&genesis, &keys[0]).unwrap();
    let p = producer.params().clone();
    let mut root = root0;
    let mut roots = vec![root0];
    for n in 1..=2u64 {
        let miner = &keys[1];
        let t = earliest(&producer, &root, miner);
        let txs = vec![
            pay(&p, &keys[2], keys[3].address(), n, 10, 1, t),
            pay(&p, &keys[3], keys[2].address(), n, 5, 2, t),
        ];
        let produced = producer.produce_next_state(&root, miner, &txs, t).unwrap();
        assert!(produced.skipped.is_empty());
        root = produced.root;
        roots.push(root);
    }
    (roots[0], roots[1], roots[2], keys)
}

#[test]
fn a_failed_validation_does_not_poison_the_warm_state() {
    for how in [Forgery::ExtraKey, Forgery::DropFirst] {
        let store = MemoryBlockstore::new();
        let (root0, root1, root2, keys) = two_blocks(&store);
        let validator = Executor::new(&store, Params::devnet()).unwrap();
        validator.validate_block(&root0, &root1).unwrap();
        assert_eq!(validator.warm_state().map(|w| w.0), Some(root1));

        // Rejected before execution: the warm tree is not touched.
        let wrong_signer = forge_on(&validator, &root2, &keys[1], &keys[0], Forgery::WrongSigner);
        assert!(matches!(
            validator.validate_block(&root1, &wrong_signer),
            Err(Error::BlockSignature(_))
        ));
        assert_eq!(validator.warm_state().map(|w| w.0), Some(root1));

        // Rejected after (or during) re-execution on the warm tree: the tree
        // was changed, so it is dropped, not kept.
        let forged = forge_on(&validator, &root2, &keys[1], &keys[0], how);
        let err = validator.validate_block(&root1, &forged).unwrap_err();
        assert!(
            matches!(
                err,
                Error::StateRootMismatch { .. } | Error::InvalidTransaction { .. }
            ),
            "{how:?}: {err}"
        );
        assert_eq!(validator.warm_state(), None);

        // The honest block still validates (from the store) and matches.
        validator.validate_block(&root1, &root2).unwrap();
        assert_eq!(validator.warm_state().map(|w| w.0), Some(root2));
        // The forged state fails again from a cold load, and the tree of root2
        // stays untouched by a validation whose previous state it does not hold.
        assert!(validator.validate_block(&root1, &forged).is_err());
        assert_eq!(validator.warm_state().map(|w| w.0), Some(root2));
    }
}

#[test]
fn a_production_that_fails_drops_the_warm_state() {
    let stores: [MemoryBlockstore; 3] = Default::default();
    let (chains, genesis, keys) = chains(&stores);
    let warm = &chains[1];
    // Too early: fails after the tree was taken.
    let t = earliest(warm, &genesis, &keys[1]);
    assert!(matches!(
        warm.produce_next_state(&genesis, &keys[1], &[], t - 1),
        Err(Error::TooEarly { .. })
    ));
    assert_eq!(warm.warm_state(), None);
    let a = warm.produce_next_state(&genesis, &keys[1], &[], t).unwrap();
    let b = chains[0]
        .produce_next_state(&genesis, &keys[1], &[], t)
        .unwrap();
    assert_eq!(a.root, b.root);
    assert_eq!(warm.warm_state().map(|w| w.0), Some(a.root));
}

#[test]
fn the_warm_state_stays_within_its_node_bound() {
    // Enough accounts for a tree of many nodes.
    let keys: Vec<Keypair> = (0..4).map(key).collect();
    let mut genesis = Genesis::new(GENESIS_TIME);
    for k in &keys {
        genesis = genesis.allocate(k.address(), START);
    }
    for i in 0..3_000u32 {
        let mut bytes = [0u8; 20];
        bytes[..4].copy_from_slice(&i.to_be_bytes());
        genesis = genesis.allocate(Address::new(bytes), 1);
    }
    let unbounded = Executor::new(MemoryBlockstore::new(), Params::devnet()).unwrap();
    let (root, _) = unbounded.genesis(&genesis, &keys[0]).unwrap();
    let (held, all) = unbounded.warm_state().unwrap();
    assert_eq!(held, root);
    assert!(all > 50, "{all} nodes");

    for bound in [0, 1, all / 2, all - 1, all, all + 1] {
        let chain = Executor::new(MemoryBlockstore::new(), Params::devnet())
            .unwrap()
            .with_warm_state_nodes(bound);
        assert_eq!(chain.warm_state_nodes(), bound);
        assert_eq!(chain.genesis(&genesis, &keys[0]).unwrap().0, root);
        match chain.warm_state() {
            None => assert_eq!(bound, 0),
            Some((held, nodes)) => {
                assert_eq!(held, root);
                // Over the bound, only the root node stays decoded.
                assert_eq!(nodes, if all <= bound { all } else { 1 });
            }
        }
        // Blocks that add keys (new nodes): the bound holds after each, and
        // the roots are those of the chain that keeps every node.
        let p = chain.params().clone();
        let (mut a_root, mut b_root) = (root, root);
        for n in 1..=4u64 {
            let t = earliest(&chain, &a_root, &keys[1]);
            let txs: Vec<_> = (0..20u8)
                .map(|i| {
                    let mut to = [0xee; 20];
                    to[0] = i;
                    to[1] = n as u8;
                    pay(
                        &p,
                        &keys[2],
                        Address::new(to),
                        n * 20 - 19 + u64::from(i),
                        1,
                        1,
                        t,
                    )
                })
                .collect();
            let a = chain
                .produce_next_state(&a_root, &keys[1], &txs, t)
                .unwrap();
            let b = unbounded
                .produce_next_state(&b_root, &keys[1], &txs, t)
                .unwrap();
            assert!(a.skipped.is_empty(), "{:?}", a.skipped);
            assert_eq!(a.root, b.root);
            assert_eq!(a.block.encode().unwrap(), b.block.encode().unwrap());
            (a_root, b_root) = (a.root, b.root);
            if let Some((held, nodes)) = chain.warm_state() {
                assert_eq!(held, a_root);
                assert!(nodes <= bound.max(1), "{nodes} nodes, bound {bound}");
            }
        }
    }
}
