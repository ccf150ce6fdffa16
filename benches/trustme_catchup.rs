//! Catch-up: a replica stuck in round 1 after a partition (node 3 of
//! `crates/trustme/tests/network.rs`' scenario, at 24 s) checks and applies
//! the majority's proof, against an anchor measured in the same run:
//! receiving the same carried units one by one as gossip (decode, signature,
//! Equihash and round checks, DAG insert; units of unknown rounds wait).
//! `cargo bench --bench trustme_catchup`.

// criterion_group! defines an undocumented `pub fn`: the workspace's
// missing_docs lint does not apply to a bench's generated harness.
#![allow(missing_docs)]

use std::hint::black_box;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, SamplingMode};
use tau::ipld::MemoryBlockstore;
use tau::trustme::sim::{Partition, Sim, SimConfig};
use tau::trustme::{CatchupProof, Replica, UnitDelivery};

type R = Replica<MemoryBlockstore>;

fn partitioned() -> Sim {
    let mut cfg = SimConfig::devnet(6, 100, 5);
    cfg.partition = Some(Partition {
        start_ms: 3_000,
        heal_ms: 25_000,
        side: vec![0, 1, 2, 5, 6],
    });
    cfg.max_time_ms = 45_000;
    let mut sim = Sim::new(cfg).expect("sim");
    sim.run_until(24_000).expect("run");
    sim
}

/// A fresh replica with node 3's DAG.
fn minority(sim: &Sim) -> R {
    let r0 = sim.replica(0).rounds();
    let mut dag_params = tau::dag::Params::devnet();
    dag_params.max_orphans = 10_000;
    let mut replica = Replica::new(
        MemoryBlockstore::new(),
        dag_params.clone(),
        tau::mainchain::Params::mainnet(),
        r0.params().clone(),
        r0.genesis().clone(),
        sim.genesis_unit().expect("genesis"),
    )
    .expect("replica");
    let dag = sim.replica(3).chain().dag();
    for n in 1..dag.len() as u32 {
        let id = dag.id(n).expect("id");
        let unit = dag.unit(&id).expect("read").expect("unit");
        let _ = replica.receive(unit.verify(&dag_params).expect("verify"));
    }
    replica
}

fn bench(c: &mut Criterion) {
    let sim = partitioned();
    let probe = minority(&sim);
    let proof = sim
        .replica(0)
        .catchup_proof(&probe.catchup_request())
        .expect("proof");
    let bytes = proof.encode().expect("encode");
    println!(
        "proof: {} steps (MCI {}..={}), {} units, {} bytes",
        proof.steps.len(),
        proof.from_mci + 1,
        proof.from_mci + proof.steps.len() as u64,
        proof.units.len(),
        bytes.len()
    );
    let dag_params = tau::dag::Params::devnet();
    let mut group = c.benchmark_group("trustme_catchup");
    group
        .sampling_mode(SamplingMode::Flat)
        .sample_size(20)
        .measurement_time(Duration::from_secs(10));
    group.bench_function("receive_carried_units_anchor", |b| {
        b.iter_batched(
            || minority(&sim),
            |mut replica| {
                for unit in &proof.units {
                    let unit = tau::dag::VerifiedUnit::from_bytes(unit, &dag_params).expect("unit");
                    let _ = black_box(replica.receive(unit));
                }
                replica
            },
            BatchSize::PerIteration,
        )
    });
    group.bench_function("decode_check_apply_proof", |b| {
        b.iter_batched(
            || minority(&sim),
            |mut replica| {
                let proof = CatchupProof::decode(&bytes, 8 << 20).expect("decode");
                let mut out = UnitDelivery::default();
                replica.apply_catchup(&proof, &mut out).expect("apply");
                black_box(out.stabilized.len());
                replica
            },
            BatchSize::PerIteration,
        )
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
