//! tau-pow's Equihash solver and verifier against the reference solver
//! (`equihash::tromp::solve_200_9`, the `equihash` crate 0.3.1 with
//! `unsafe-solver`), side by side in one run.
//!
//! `cargo bench --bench equihash`. Inputs as the `equihash-solve` example and
//! `docs/src/formats/equihash.md` ("Input layout"): 108 bytes of `0x5a`, then a 32-byte nonce holding the
//! run number as u32 little-endian in its first 4 bytes.
//!
//! - `solve_200_9`: one iteration solves the same 3 nonces (0, 1, 2) with
//!   tau-pow on 1 thread, tau-pow on 2 threads, and the reference (one call per
//!   nonce, which allocates its tables each time). Throughput is in runs.
//! - `verify`: `tau_pow::verify` of one solution of (200,9), (96,5) and (48,5)
//!   (the first solution of the first nonce that has one).

// criterion_group! defines an undocumented `pub fn`: the workspace's
// missing_docs lint does not apply to a bench's generated harness.
#![allow(missing_docs)]

use std::hint::black_box;
use std::time::Duration;

use criterion::{
    criterion_group, criterion_main, BenchmarkId, Criterion, SamplingMode, Throughput,
};
use tau::pow::{verify, Params, Solver};

const INPUT: [u8; 108] = [0x5a; 108];
const NONCES: u32 = 3;

fn nonce(i: u32) -> [u8; 32] {
    let mut nonce = [0u8; 32];
    nonce[..4].copy_from_slice(&i.to_le_bytes());
    nonce
}

fn solve_200_9(c: &mut Criterion) {
    let mut group = c.benchmark_group("solve_200_9");
    // 0.3–1.1 s per run: 10 samples of about one iteration each, the windows
    // sized so the whole bench takes under 2 minutes on two cores.
    group.sample_size(10);
    group.sampling_mode(SamplingMode::Flat);
    group.warm_up_time(Duration::from_secs(1));
    group.throughput(Throughput::Elements(u64::from(NONCES)));
    let nonces: Vec<[u8; 32]> = (0..NONCES).map(nonce).collect();

    for (threads, window) in [(1, 30), (2, 25)] {
        group.measurement_time(Duration::from_secs(window));
        let mut solver = Solver::new(Params::zcash())
            .expect("(200,9) is supported")
            .threads(threads);
        group.bench_with_input(
            BenchmarkId::new("tau_pow", format!("{threads}_threads")),
            &nonces,
            |b, nonces| {
                b.iter(|| {
                    let mut found = 0;
                    for nonce in nonces {
                        found += solver.solve(black_box(&INPUT), black_box(nonce)).len();
                    }
                    found
                })
            },
        );
    }
    group.measurement_time(Duration::from_secs(12));
    group.bench_with_input(
        BenchmarkId::new("reference", "1_thread"),
        &nonces,
        |b, nonces| {
            b.iter(|| {
                let mut found = 0;
                for nonce in nonces {
                    let mut once = Some(*nonce);
                    found += equihash::tromp::solve_200_9(black_box(&INPUT), || once.take()).len();
                }
                found
            })
        },
    );
    group.finish();
}

/// The first solution of the first nonce that has one.
fn some_solution(params: Params) -> ([u8; 32], Vec<u8>) {
    let mut solver = Solver::new(params).expect("supported params");
    (0..1_000)
        .map(nonce)
        .find_map(|n| solver.solve(&INPUT, &n).into_iter().next().map(|s| (n, s)))
        .expect("a solution within 1000 nonces")
}

fn verify_solutions(c: &mut Criterion) {
    let mut group = c.benchmark_group("verify");
    group.warm_up_time(Duration::from_secs(1));
    group.measurement_time(Duration::from_secs(3));
    for params in [Params::zcash(), Params::devnet(), Params::tiny()] {
        let (nonce, solution) = some_solution(params);
        verify(&params, &INPUT, &nonce, &solution).expect("the solver's solution verifies");
        let id = BenchmarkId::new("tau_pow", format!("{}_{}", params.n(), params.k()));
        group.bench_with_input(id, &solution, |b, solution| {
            b.iter(|| {
                verify(
                    &params,
                    black_box(&INPUT),
                    black_box(&nonce),
                    black_box(solution),
                )
            })
        });
    }
    group.finish();
}

criterion_group!(benches, solve_200_9, verify_solutions);
criterion_main!(benches);
