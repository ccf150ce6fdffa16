//! Main-chain ingest: a fresh `MainChain` takes 10,000 pre-generated units
//! (20 attestors, width 8, one TrustME unit in four; signatures not checked),
//! with DAG validation, attestation levels, main-chain updates and
//! stabilization. `cargo bench --bench mainchain`; the `mc-ingest` example
//! measures 10k, 100k and 1M units.

// criterion_group! defines an undocumented `pub fn`: the workspace's
// missing_docs lint does not apply to a bench's generated harness.
#![allow(missing_docs)]

use std::hint::black_box;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion, SamplingMode, Throughput};

#[allow(dead_code)]
#[path = "../examples/mc-ingest.rs"]
mod ingest;

const UNITS: usize = 10_000;

fn bench(c: &mut Criterion) {
    let (genesis, units) = ingest::generate(UNITS, 20, 8, 4, 1).expect("generate");
    let (_, set) = ingest::attestor_keys(20);
    let mut group = c.benchmark_group("mainchain");
    group
        .sampling_mode(SamplingMode::Flat)
        .sample_size(10)
        .measurement_time(Duration::from_secs(10))
        .throughput(Throughput::Elements(UNITS as u64));
    group.bench_function("ingest_10k", |b| {
        b.iter_batched(
            || units.clone(),
            |units| black_box(ingest::ingest(&genesis, units, &set).expect("ingest")),
            criterion::BatchSize::LargeInput,
        )
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
