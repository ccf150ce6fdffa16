//! tau-state block execution on a 100,000-account state, next to its floor.
//!
//! `cargo bench --bench state`. A devnet genesis funds 100,000 accounts; one
//! block of 1,000 signed wirings between random accounts (distinct senders)
//! is then, in the same run:
//!
//! - `recover`: the signer of each transaction recovered with tau-keys alone
//!   (the anchor: every execution pays at least this);
//! - `produce`: `Executor::produce_next_state` on the genesis state;
//! - `validate`: `Executor::validate_block` of the produced state (re-execution).
//!
//! Throughput is in transactions. The bytes written per transaction are
//! printed once (the `state-throughput` example reports both over many blocks).
//! Every iteration executes the same block on genesis, so the chain runs
//! without its warm head state (`with_warm_state_nodes(0)`): each block reads
//! its previous state from the store. The example measures the warm chain.

// criterion_group! defines an undocumented `pub fn`: the workspace's
// missing_docs lint does not apply to a bench's generated harness.
#![allow(missing_docs)]

use std::hint::black_box;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion, SamplingMode, Throughput};
use rand::{Rng, SeedableRng};
use tau::ipld::MemoryBlockstore;
use tau::keys::{Address, Keypair};
use tau::state::{Executor, Genesis, Params, SignedTransaction, Transaction, TxBody};

const ACCOUNTS: usize = 100_000;
const TXS: usize = 1_000;

fn fixture() -> (
    Executor<MemoryBlockstore>,
    tau::ipld::Cid,
    Keypair,
    Vec<SignedTransaction>,
) {
    let mut rng = rand::rngs::StdRng::seed_from_u64(7);
    let params = Params::devnet();
    let keys: Vec<Keypair> = (0..=TXS).map(|_| Keypair::generate(&mut rng)).collect();
    let mut addresses: Vec<Address> = keys.iter().map(Keypair::address).collect();
    while addresses.len() < ACCOUNTS {
        addresses.push(Address::new(rng.random()));
    }
    let genesis = addresses.iter().fold(Genesis::new(1_700_000_000), |g, a| {
        g.allocate(*a, 1_000_000)
    });
    let chain = Executor::new(MemoryBlockstore::new(), params.clone())
        .expect("params")
        .with_warm_state_nodes(0);
    let (root, _) = chain.genesis(&genesis, &keys[0]).expect("genesis");
    let txs = keys[1..]
        .iter()
        .map(|k| {
            Transaction {
                version: params.version,
                chain_id: params.chain_id.clone(),
                sender: k.address(),
                nonce: 1,
                timestamp: 1_700_000_000,
                fee: 1,
                body: TxBody::Wiring {
                    receiver: addresses[rng.random_range(0..ACCOUNTS)],
                    amount: 10,
                },
                thread: None,
                profile: None,
            }
            .sign(k)
            .expect("sign")
        })
        .collect();
    let miner = keys.into_iter().next().expect("a miner key");
    (chain, root, miner, txs)
}

fn execution(c: &mut Criterion) {
    let (chain, genesis, miner, txs) = fixture();
    let when = chain
        .eligibility(&genesis, &miner.address())
        .expect("eligibility")
        .earliest;
    let produced = chain
        .produce_next_state(&genesis, &miner, &txs, when)
        .expect("produce");
    assert!(produced.skipped.is_empty());
    eprintln!(
        "state: {} accounts, block of {TXS} txs writes {} bytes ({} per tx)",
        ACCOUNTS,
        produced.bytes_written,
        produced.bytes_written / TXS
    );

    let mut group = c.benchmark_group("state/block_of_1000");
    group.sampling_mode(SamplingMode::Flat);
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(10));
    group.throughput(Throughput::Elements(TXS as u64));
    let digests: Vec<_> = txs
        .iter()
        .map(|t| {
            (
                *t.tx.signing_digest().expect("digest").as_bytes(),
                t.signature,
            )
        })
        .collect();
    group.bench_function("recover", |b| {
        b.iter(|| {
            for (digest, signature) in &digests {
                black_box(tau::keys::recover(digest, signature).expect("recover"));
            }
        })
    });
    group.bench_function("produce", |b| {
        b.iter(|| {
            black_box(
                chain
                    .produce_next_state(&genesis, &miner, &txs, when)
                    .expect("produce"),
            )
        })
    });
    group.bench_function("validate", |b| {
        b.iter(|| {
            black_box(
                chain
                    .validate_block(&genesis, &produced.root)
                    .expect("validate"),
            )
        })
    });
    group.finish();
}

criterion_group!(benches, execution);
criterion_main!(benches);
