//! A persistent replica against the in-memory one, in the same run: the
//! units a simulated devnet's node 0 took in, received one by one by a
//! fresh replica on a memory store (the anchor), by a fresh persistent
//! replica on redb in a temporary directory (each `receive` that changes
//! something is one durable commit of the unit and one of the log), and
//! that store reopened (`Replica::open` replays the log).
//! `cargo bench --bench trustme_persist`.

// criterion_group! defines an undocumented `pub fn`: the workspace's
// missing_docs lint does not apply to a bench's generated harness.
#![allow(missing_docs)]

use std::hint::black_box;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, SamplingMode, Throughput};
use tau::dag::VerifiedUnit;
use tau::ipld::{MemoryBlockstore, RedbBlockstore};
use tau::trustme::sim::{Sim, SimConfig};
use tau::trustme::Replica;

/// What a replica is made from: node 0's parameters and genesis.
struct Setup {
    dag: tau::dag::Params,
    chain: tau::mainchain::Params,
    params: tau::trustme::Params,
    genesis: tau::trustme::Genesis,
    genesis_unit: VerifiedUnit,
}

/// `Replica::new`, `Replica::create` or `Replica::open`.
type Make<BS> = fn(
    BS,
    tau::dag::Params,
    tau::mainchain::Params,
    tau::trustme::Params,
    tau::trustme::Genesis,
    VerifiedUnit,
) -> tau::trustme::Result<Replica<BS>>;

impl Setup {
    fn make<BS>(&self, store: BS, how: Make<BS>) -> Replica<BS> {
        how(
            store,
            self.dag.clone(),
            self.chain.clone(),
            self.params.clone(),
            self.genesis.clone(),
            self.genesis_unit.clone(),
        )
        .expect("replica")
    }

    fn memory(&self) -> Replica<MemoryBlockstore> {
        self.make(MemoryBlockstore::new(), Replica::new)
    }

    fn redb(&self, dir: &tempfile::TempDir, how: Make<RedbBlockstore>) -> Replica<RedbBlockstore> {
        let store = RedbBlockstore::open(dir.path().join("replica.redb")).expect("store");
        self.make(store, how)
    }
}

fn bench(c: &mut Criterion) {
    let mut sim = Sim::new(SimConfig::devnet(6, 100, 5)).expect("sim");
    sim.run_until(60_000).expect("run");
    let node = sim.replica(0);
    let setup = Setup {
        dag: tau::dag::Params::devnet(),
        chain: node.chain().params().clone(),
        params: node.rounds().params().clone(),
        genesis: node.rounds().genesis().clone(),
        genesis_unit: sim.genesis_unit().expect("genesis"),
    };
    let dag = node.chain().dag();
    let units: Vec<VerifiedUnit> = (1..dag.len() as u32)
        .map(|n| {
            let id = dag.id(n).expect("id");
            let unit = dag.unit(&id).expect("read").expect("unit");
            unit.verify(&setup.dag).expect("verify")
        })
        .collect();
    // The persistent replica must end where the memory one does.
    let mut memory = setup.memory();
    let reopened = tempfile::tempdir().expect("tempdir");
    let mut persistent = setup.redb(&reopened, Replica::create);
    for unit in &units {
        memory.receive(unit.clone()).expect("receive");
        persistent.receive(unit.clone()).expect("receive");
    }
    let last = memory.chain().last_stable_mci();
    assert_eq!(persistent.chain().last_stable_mci(), last);
    assert_eq!(
        persistent.rounds().state_digest(last),
        memory.rounds().state_digest(last)
    );
    drop(persistent);
    println!(
        "{} units, last stable MCI {last}, round {}",
        units.len(),
        memory.rounds().current().round
    );

    let mut group = c.benchmark_group("trustme_persist");
    group
        .sampling_mode(SamplingMode::Flat)
        .sample_size(10)
        .measurement_time(Duration::from_secs(20))
        .throughput(Throughput::Elements(units.len() as u64));
    group.bench_function("receive_memory_anchor", |b| {
        b.iter_batched(
            || setup.memory(),
            |mut replica| {
                for unit in &units {
                    let _ = black_box(replica.receive(unit.clone()));
                }
                replica
            },
            BatchSize::PerIteration,
        )
    });
    group.bench_function("receive_redb", |b| {
        b.iter_batched(
            || {
                let dir = tempfile::tempdir().expect("tempdir");
                let replica = setup.redb(&dir, Replica::create);
                (dir, replica)
            },
            |(dir, mut replica)| {
                for unit in &units {
                    let _ = black_box(replica.receive(unit.clone()));
                }
                (dir, replica)
            },
            BatchSize::PerIteration,
        )
    });
    group.bench_function("reopen_redb", |b| {
        b.iter(|| {
            black_box(
                setup
                    .redb(&reopened, Replica::open)
                    .chain()
                    .last_stable_mci(),
            )
        })
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
