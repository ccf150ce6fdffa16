//! Shared fixtures for the tau-state integration tests.
#![allow(dead_code)]

use cid::Cid;
use tau_ipld::MemoryBlockstore;
use tau_keys::{Address, Keypair};
use tau_state::{Executor, Genesis, Params, SignedTransaction, Transaction, TxBody};

pub const GENESIS_TIME: u64 = 1_700_000_000;

/// Deterministic key number `i`.
pub fn key(i: u8) -> Keypair {
    Keypair::from_bytes(&[i.wrapping_add(1); 32]).unwrap()
}

/// A devnet chain whose keys `0..n` each hold `balance`.
pub fn devnet(n: u8, balance: u64) -> (Executor<MemoryBlockstore>, Cid, Vec<Keypair>) {
    let chain = Executor::new(MemoryBlockstore::new(), Params::devnet()).unwrap();
    let keys: Vec<Keypair> = (0..n).map(key).collect();
    let genesis = keys.iter().fold(Genesis::new(GENESIS_TIME), |g, k| {
        g.allocate(k.address(), balance)
    });
    let (root, _) = chain.genesis(&genesis, &keys[0]).unwrap();
    (chain, root, keys)
}

/// An unsigned wiring transaction on devnet.
pub fn wiring(
    params: &Params,
    from: &Keypair,
    to: Address,
    nonce: u64,
    amount: u64,
    fee: u64,
    timestamp: u64,
) -> Transaction {
    Transaction {
        version: params.version,
        chain_id: params.chain_id.clone(),
        sender: from.address(),
        nonce,
        timestamp,
        fee,
        body: TxBody::Wiring {
            receiver: to,
            amount,
        },
        thread: None,
        profile: None,
    }
}

/// A signed wiring transaction.
pub fn pay(
    params: &Params,
    from: &Keypair,
    to: Address,
    nonce: u64,
    amount: u64,
    fee: u64,
    timestamp: u64,
) -> SignedTransaction {
    wiring(params, from, to, nonce, amount, fee, timestamp)
        .sign(from)
        .unwrap()
}

/// The earliest block `miner` may make on `root`.
pub fn earliest<BS: tau_ipld::Blockstore>(
    chain: &Executor<BS>,
    root: &Cid,
    miner: &Keypair,
) -> u64 {
    chain.eligibility(root, &miner.address()).unwrap().earliest
}

/// The sum of all balances at `root`.
pub fn supply<BS: tau_ipld::Blockstore>(chain: &Executor<BS>, root: &Cid) -> u64 {
    chain
        .state(root)
        .unwrap()
        .balances()
        .unwrap()
        .iter()
        .map(|(_, b)| *b)
        .sum()
}

/// A state like `root` but whose contract key holds its block edited by
/// `edit` (header and transaction list) and re-signed by `signer`: what a
/// dishonest peer could serve.
pub fn forge<BS: tau_ipld::Blockstore>(
    chain: &Executor<BS>,
    root: &Cid,
    signer: &Keypair,
    edit: impl FnOnce(&mut tau_state::UnsignedBlock, &mut Vec<SignedTransaction>),
) -> Cid {
    let block = chain.block(root).unwrap();
    let mut txs = chain.transactions(&block).unwrap();
    let mut unsigned = block.unsigned;
    let listed = unsigned.transactions;
    edit(&mut unsigned, &mut txs);
    if unsigned.transactions == listed {
        let list = tau_state::encode_transactions(&txs).unwrap();
        unsigned.transactions = chain.store().put(tau_ipld::block::DAG_CBOR, &list).unwrap();
    }
    let block = unsigned.sign(signer).unwrap();
    put_block(chain, root, &block.encode().unwrap())
}

/// A state like `root` whose contract key points at a block with these bytes.
pub fn put_block<BS: tau_ipld::Blockstore>(chain: &Executor<BS>, root: &Cid, bytes: &[u8]) -> Cid {
    let cid = chain.store().put(tau_ipld::block::DAG_CBOR, bytes).unwrap();
    let mut state = chain.state(root).unwrap();
    state
        .set(
            &tau_state::StateKey::Contract(chain.params().chain_id.clone()),
            &cid,
        )
        .unwrap();
    state.flush().unwrap()
}

/// One random transaction: sender, receiver, amount, fee, and a nonce skew
/// (0 = the right nonce, otherwise off by that much).
#[derive(Debug, Clone)]
pub struct Op {
    pub from: u8,
    pub to: u8,
    pub amount: u64,
    pub fee: u64,
    pub skew: i8,
}

/// A random [`Op`] between keys `0..keys`: mostly right nonces, small and
/// sometimes unaffordable amounts.
pub fn op(keys: u8) -> impl proptest::strategy::Strategy<Value = Op> {
    use proptest::prelude::*;
    (
        0..keys,
        0..keys,
        prop_oneof![0u64..50, 0u64..2_000],
        0u64..20,
        prop_oneof![4 => Just(0i8), 1 => -2i8..3],
    )
        .prop_map(|(from, to, amount, fee, skew)| Op {
            from,
            to,
            amount,
            fee,
            skew,
        })
}
