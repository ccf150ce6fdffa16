//! Block validation: every tampered field is caught, and nothing is stored.

mod common;

use cid::Cid;
use common::*;
use tau_ipld::{Blockstore, MemoryBlockstore};
use tau_keys::Keypair;
use tau_state::{Error, Executor, StateKey, TxError};

/// Genesis, and one honest block with two transactions mined by key 2.
fn one_block() -> (Executor<MemoryBlockstore>, Cid, Cid, Vec<Keypair>) {
    let (chain, g, k) = devnet(3, 1_000);
    let p = chain.params().clone();
    let t = earliest(&chain, &g, &k[2]);
    let txs = [
        pay(&p, &k[0], k[1].address(), 1, 100, 3, t),
        pay(&p, &k[1], k[0].address(), 1, 7, 1, t),
    ];
    let next = chain.produce_next_state(&g, &k[2], &txs, t).unwrap();
    chain.validate_block(&g, &next.root).unwrap();
    (chain, g, next.root, k)
}

fn wrong_field(result: Result<tau_state::Block, Error>) -> &'static str {
    match result {
        Err(Error::WrongField { field, .. }) => field,
        other => panic!("expected a wrong field, got {other:?}"),
    }
}

#[test]
fn tampered_header_fields_are_named() {
    let (chain, g, r, k) = one_block();
    let forged = forge(&chain, &r, &k[2], |b, _| b.base_target += 1);
    assert_eq!(
        wrong_field(chain.validate_block(&g, &forged)),
        "base_target"
    );
    let forged = forge(&chain, &r, &k[2], |b, _| b.cumulative_difficulty += 1);
    assert_eq!(
        wrong_field(chain.validate_block(&g, &forged)),
        "cumulative_difficulty"
    );
    let forged = forge(&chain, &r, &k[2], |b, _| b.generation_signature.0[0] ^= 1);
    assert_eq!(
        wrong_field(chain.validate_block(&g, &forged)),
        "generation_signature"
    );
    let forged = forge(&chain, &r, &k[2], |b, _| b.miner_nonce += 1);
    assert_eq!(
        wrong_field(chain.validate_block(&g, &forged)),
        "miner_nonce"
    );
    let forged = forge(&chain, &r, &k[2], |b, _| b.number += 1);
    assert_eq!(wrong_field(chain.validate_block(&g, &forged)), "number");
    let forged = forge(&chain, &r, &k[2], |b, _| b.version += 1);
    assert_eq!(wrong_field(chain.validate_block(&g, &forged)), "version");
}

#[test]
fn wrong_signature_miner_or_time_fail() {
    let (chain, g, r, k) = one_block();
    // Signed by someone else than the miner it names.
    let forged = forge(&chain, &r, &k[0], |_, _| {});
    assert!(matches!(
        chain.validate_block(&g, &forged),
        Err(Error::BlockSignature(
            tau_keys::Error::SignatureMismatch { .. }
        ))
    ));
    // Claims another miner (and is signed by it): its PoT and state differ.
    let forged = forge(&chain, &r, &k[0], |b, _| b.miner = k[0].address());
    assert!(chain.validate_block(&g, &forged).is_err());
    // Dated before the miner's required interval.
    let forged = forge(&chain, &r, &k[2], |b, _| b.timestamp = GENESIS_TIME + 1);
    assert!(matches!(
        chain.validate_block(&g, &forged),
        Err(Error::TooEarly { .. })
    ));
    // Dated too far ahead of the local clock.
    let ts = chain.block(&r).unwrap().timestamp();
    let drift = chain.params().max_drift;
    chain.validate_block_at(&g, &r, ts - drift).unwrap();
    assert!(matches!(
        chain.validate_block_at(&g, &r, ts - drift - 1),
        Err(Error::FutureBlock { .. })
    ));
    // Builds on another state.
    let (_, other_genesis, _) = devnet(4, 1);
    assert!(matches!(
        chain.validate_block(&other_genesis, &r),
        Err(Error::WrongPrevious { .. })
    ));
}

#[test]
fn wrong_state_root_is_caught() {
    let (chain, g, r, k) = one_block();
    // Same block, but the state gives key 2 one more coin.
    let mut state = chain.state(&r).unwrap();
    let key = StateKey::Balance(k[2].address());
    let balance: u64 = state.get(&key).unwrap().unwrap();
    state.set(&key, &(balance + 1)).unwrap();
    let forged = state.flush().unwrap();
    assert!(matches!(
        chain.validate_block(&g, &forged),
        Err(Error::StateRootMismatch { .. })
    ));
}

#[test]
fn invalid_transactions_in_a_block_fail_it() {
    let (chain, g, r, k) = one_block();
    let p = chain.params().clone();
    // A transaction with a stale nonce.
    let forged = forge(&chain, &r, &k[2], |b, txs| {
        txs.push(pay(&p, &k[0], k[1].address(), 1, 1, 0, b.timestamp));
    });
    assert!(matches!(
        chain.validate_block(&g, &forged),
        Err(Error::InvalidTransaction {
            index: 2,
            reason: TxError::WrongNonce { .. }
        })
    ));
    // A transaction whose signature was swapped for another signer's.
    let forged = forge(&chain, &r, &k[2], |_, txs| {
        let d = txs[0].tx.signing_digest().unwrap();
        txs[0].signature = k[1].sign(d.as_bytes());
    });
    assert!(matches!(
        chain.validate_block(&g, &forged),
        Err(Error::InvalidTransaction {
            index: 0,
            reason: TxError::Signature(_)
        })
    ));
    // A transaction dropped: the state no longer matches.
    let forged = forge(&chain, &r, &k[2], |_, txs| {
        txs.pop();
    });
    assert!(chain.validate_block(&g, &forged).is_err());
    // A transaction list that is not in the store.
    let forged = forge(&chain, &r, &k[2], |b, _| {
        b.transactions = tau_ipld::block::cid_of(tau_ipld::block::DAG_CBOR, b"missing");
    });
    assert!(matches!(
        chain.validate_block(&g, &forged),
        Err(Error::MissingBlock(_))
    ));
}

#[test]
fn failed_validation_stores_nothing_and_loses_nothing() {
    let (chain, g, r, k) = one_block();
    let forged = forge(&chain, &r, &k[2], |b, _| b.base_target += 1);
    let before = chain.store().len();
    assert!(chain.validate_block(&g, &forged).is_err());
    assert!(chain.validate_block(&g, &r).is_ok());
    assert_eq!(chain.store().len(), before);
    // Both honest roots still load.
    assert_eq!(chain.balance(&g, &k[0].address()).unwrap(), Some(1_000));
    assert_eq!(chain.balance(&r, &k[0].address()).unwrap(), Some(904));
}

#[test]
fn any_flipped_byte_of_a_block_fails_validation() {
    let (chain, g, r, _) = one_block();
    let state = chain.state(&r).unwrap();
    let cid = state.block_cid().unwrap().unwrap();
    let bytes = chain.store().get(&cid).unwrap().unwrap();
    // The harness itself accepts the unflipped block.
    assert_eq!(put_block(&chain, &r, &bytes), r);
    for i in 0..bytes.len() {
        for bit in [0x01, 0x80] {
            let mut flipped = bytes.clone();
            flipped[i] ^= bit;
            let forged = put_block(&chain, &r, &flipped);
            assert!(
                chain.validate_block(&g, &forged).is_err(),
                "flipping bit {bit:#x} of byte {i} went unnoticed"
            );
        }
    }
}
