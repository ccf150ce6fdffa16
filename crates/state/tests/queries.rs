//! Wallet queries: values and absences proven against a state root alone,
//! and a chain that survives reopening its persistent store.

mod common;

use common::*;
use tau_hamt::Proof;
use tau_ipld::RedbBlockstore;
use tau_state::{verify_proof, Error, Executor, Genesis, OptCode, Params, StateKey, TxOutput};

#[test]
fn balances_nonces_and_outputs_are_proven_against_the_root() {
    let (chain, g, k) = devnet(3, 1_000);
    let p = chain.params().clone();
    let t = earliest(&chain, &g, &k[2]);
    let tx = pay(&p, &k[0], k[1].address(), 1, 250, 5, t);
    let next = chain.produce_next_state(&g, &k[2], &[tx], t).unwrap();
    let root = next.root;

    let key = StateKey::Balance(k[1].address());
    let proof = chain.prove(&root, &key).unwrap();
    assert_eq!(
        verify_proof::<u64>(&p, &root, &key, &proof).unwrap(),
        Some(1_250)
    );

    let key = StateKey::Nonce(k[0].address());
    let proof = chain.prove(&root, &key).unwrap();
    assert_eq!(
        verify_proof::<u64>(&p, &root, &key, &proof).unwrap(),
        Some(1)
    );

    let key = StateKey::TxOutput(k[0].address(), 1);
    let proof = chain.prove(&root, &key).unwrap();
    let output: TxOutput = verify_proof(&p, &root, &key, &proof).unwrap().unwrap();
    assert_eq!(
        (output.opt_code, output.amount, output.fee),
        (OptCode::Wiring, 250, 5)
    );

    // Absence is proven too: a stranger has no account.
    let key = StateKey::Balance(key_address(77));
    let proof = chain.prove(&root, &key).unwrap();
    assert_eq!(verify_proof::<u64>(&p, &root, &key, &proof).unwrap(), None);

    // The contract key proves which block made the state.
    let key = StateKey::Contract(p.chain_id.clone());
    let proof = chain.prove(&root, &key).unwrap();
    let cid: cid::Cid = verify_proof(&p, &root, &key, &proof).unwrap().unwrap();
    assert_eq!(cid, next.block_cid);
}

#[test]
fn proofs_do_not_transfer_between_roots_or_survive_tampering() {
    let (chain, g, k) = devnet(2, 1_000);
    let p = chain.params().clone();
    let t = earliest(&chain, &g, &k[1]);
    let next = chain
        .produce_next_state(&g, &k[1], &[pay(&p, &k[0], k[1].address(), 1, 1, 0, t)], t)
        .unwrap();
    let key = StateKey::Balance(k[0].address());
    let old = chain.prove(&g, &key).unwrap();
    // A proof of the genesis balance does not verify against the new root.
    assert!(verify_proof::<u64>(&p, &next.root, &key, &old).is_err());
    // A flipped byte in any proof block is rejected.
    let proof = chain.prove(&next.root, &key).unwrap();
    for i in 0..proof.blocks().len() {
        let mut blocks = proof.blocks().to_vec();
        let data = &mut blocks[i].1;
        let last = data.len() - 1;
        data[last] ^= 1;
        assert!(verify_proof::<u64>(&p, &next.root, &key, &Proof::from_blocks(blocks)).is_err());
    }
    // A value of the wrong type is a typed error, not a panic.
    let key = StateKey::TxOutput(k[1].address(), 1);
    let proof = chain.prove(&next.root, &key).unwrap();
    assert!(matches!(
        verify_proof::<u64>(&p, &next.root, &key, &proof),
        Err(Error::BadValue { .. })
    ));
}

#[test]
fn a_chain_on_redb_survives_reopening() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("chain.redb");
    let k: Vec<_> = (0..2).map(key).collect();
    let (genesis, head) = {
        let chain = Executor::new(RedbBlockstore::open(&path).unwrap(), Params::devnet()).unwrap();
        let (g, _) = chain
            .genesis(
                &Genesis::new(GENESIS_TIME)
                    .allocate(k[0].address(), 500)
                    .allocate(k[1].address(), 0),
                &k[0],
            )
            .unwrap();
        let p = chain.params().clone();
        // Key 1 mines (an account with a zero balance may mine).
        let t = earliest(&chain, &g, &k[1]);
        let tx = pay(&p, &k[0], k[1].address(), 1, 200, 2, t);
        let next = chain.produce_next_state(&g, &k[1], &[tx], t).unwrap();
        assert!(next.skipped.is_empty());
        (g, next.root)
    };
    let chain = Executor::new(RedbBlockstore::open(&path).unwrap(), Params::devnet()).unwrap();
    chain.validate_block(&genesis, &head).unwrap();
    assert_eq!(chain.balance(&head, &k[1].address()).unwrap(), Some(202));
    assert_eq!(chain.balance(&head, &k[0].address()).unwrap(), Some(298));
    assert_eq!(chain.history(&head, 10).unwrap().len(), 2);
}

fn key_address(i: u8) -> tau_keys::Address {
    key(i).address()
}

#[test]
fn available_history_ends_where_the_store_lost_states() {
    let (chain, g, k) = devnet(2, 1_000);
    let mut roots = vec![g];
    for _ in 0..3 {
        let last = *roots.last().unwrap();
        let t = earliest(&chain, &last, &k[0]);
        roots.push(chain.produce_next_state(&last, &k[0], &[], t).unwrap().root);
    }
    let head = roots[3];
    // A collection removed the genesis state (its root node).
    let collected = tau_ipld::blockstore::FailingReads::new(chain.store(), [g]);
    let pruned = chain.with_store(&collected);
    assert!(pruned.history(&head, 10).is_err(), "history fails there");
    let available: Vec<_> = pruned
        .available_history(&head, 10)
        .unwrap()
        .into_iter()
        .map(|(root, _)| root)
        .collect();
    assert_eq!(available, vec![roots[3], roots[2], roots[1]]);
    // A depth bound and an early stop.
    assert_eq!(pruned.available_history(&head, 2).unwrap().len(), 2);
    let found = pruned
        .walk_available(&head, 10, |root, block| {
            if root == roots[2] {
                std::ops::ControlFlow::Break(block.number())
            } else {
                std::ops::ControlFlow::Continue(())
            }
        })
        .unwrap();
    assert_eq!(found, Some(2));
    // The starting state itself must be there.
    assert!(pruned.available_history(&g, 10).is_err());
}
