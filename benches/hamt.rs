//! tau-hamt against the reference `fvm_ipld_hamt` 0.10.6, side by side in one run.
//!
//! `cargo bench --bench hamt`. Data as `docs/src/formats/hamt.md` ("Reference vectors") and the `hamt-load`
//! example: seed 1, key i = i-th splitmix64 draw as 8 bytes big-endian, value
//! i = `i as u64`, bit width 5, buckets of 3, in-memory stores.
//!
//! - `insert_flush`: new map on an empty store, set all n, flush.
//! - `cold_get`: fresh load from the root (no cached nodes), get all n.
//! - `delete_half_flush`: fresh load, delete the first n/2 keys, flush; each
//!   iteration gets its own freshly built store.

// criterion_group! defines an undocumented `pub fn`: the workspace's
// missing_docs lint does not apply to a bench's generated harness.
#![allow(missing_docs)]

use std::hint::black_box;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, BatchSize, BenchmarkId, Criterion, SamplingMode};
use fvm_ipld_hamt::BytesKey;
use tau::hamt::{vectors, Config};
use tau::ipld::{Cid, MemoryBlockstore};

type TauHamt<BS> = tau::hamt::Hamt<BS, u64>;
type FvmHamt<BS> = fvm_ipld_hamt::Hamt<BS, u64, BytesKey>;
type FvmStore = fvm_ipld_blockstore::MemoryBlockstore;

const BIT_WIDTH: u32 = 5;
const SIZES: [usize; 2] = [1_000, 100_000];

fn config() -> Config {
    Config::with_bit_width(BIT_WIDTH).expect("valid bit width")
}

fn tau_build(store: MemoryBlockstore, keys: &[[u8; 8]]) -> (MemoryBlockstore, Cid) {
    let mut map = TauHamt::new_with_config(store, config());
    for (i, key) in keys.iter().enumerate() {
        map.set(key, i as u64).expect("tau set");
    }
    let root = map.flush().expect("tau flush");
    (map.into_store(), root)
}

/// A new map filled with one `Hamt::extend`, flushed.
fn tau_build_bulk(store: MemoryBlockstore, keys: &[[u8; 8]]) -> (MemoryBlockstore, Cid) {
    let mut map = TauHamt::new_with_config(store, config());
    map.extend(keys.iter().zip(0u64..)).expect("tau extend");
    let root = map.flush().expect("tau flush");
    (map.into_store(), root)
}

fn fvm_build(store: FvmStore, keys: &[[u8; 8]]) -> (FvmStore, Cid) {
    let mut map = FvmHamt::new_with_bit_width(store, BIT_WIDTH);
    for (i, key) in keys.iter().enumerate() {
        map.set(BytesKey(key.to_vec()), i as u64).expect("fvm set");
    }
    let root = map.flush().expect("fvm flush");
    (map.into_store(), root)
}

/// Few samples, flat sampling and short windows for the large maps, so the whole
/// run takes a couple of minutes on two cores.
fn tune(group: &mut criterion::BenchmarkGroup<'_, criterion::measurement::WallTime>, n: usize) {
    if n >= 100_000 {
        group.sample_size(10);
        group.sampling_mode(SamplingMode::Flat);
        group.warm_up_time(Duration::from_secs(1));
        group.measurement_time(Duration::from_secs(4));
    } else {
        group.sample_size(50);
        group.sampling_mode(SamplingMode::Auto);
        group.warm_up_time(Duration::from_secs(1));
        group.measurement_time(Duration::from_secs(3));
    }
}

fn insert_flush(c: &mut Criterion) {
    let mut group = c.benchmark_group("insert_flush");
    for n in SIZES {
        tune(&mut group, n);
        let keys = vectors::keys(1, n);
        // The filled store is returned so that dropping it is not timed.
        group.bench_with_input(BenchmarkId::new("tau", n), &keys, |b, keys| {
            b.iter_batched(
                MemoryBlockstore::new,
                |store| tau_build(store, keys),
                BatchSize::LargeInput,
            )
        });
        group.bench_with_input(BenchmarkId::new("tau_extend", n), &keys, |b, keys| {
            b.iter_batched(
                MemoryBlockstore::new,
                |store| tau_build_bulk(store, keys),
                BatchSize::LargeInput,
            )
        });
        group.bench_with_input(BenchmarkId::new("fvm", n), &keys, |b, keys| {
            b.iter_batched(
                FvmStore::new,
                |store| fvm_build(store, keys),
                BatchSize::LargeInput,
            )
        });
    }
    group.finish();
}

fn cold_get(c: &mut Criterion) {
    let mut group = c.benchmark_group("cold_get");
    for n in SIZES {
        tune(&mut group, n);
        let keys = vectors::keys(1, n);

        let (store, root) = tau_build(MemoryBlockstore::new(), &keys);
        group.bench_with_input(BenchmarkId::new("tau", n), &keys, |b, keys| {
            b.iter(|| {
                let map = TauHamt::load_with_config(&store, &root, config()).expect("tau load");
                for (i, key) in keys.iter().enumerate() {
                    let v = map.get(black_box(key)).expect("tau get");
                    assert_eq!(v, Some(i as u64));
                }
            })
        });
        drop(store);

        let (store, root) = fvm_build(FvmStore::new(), &keys);
        group.bench_with_input(BenchmarkId::new("fvm", n), &keys, |b, keys| {
            b.iter(|| {
                let map = FvmHamt::load_with_bit_width(&root, &store, BIT_WIDTH).expect("fvm load");
                for (i, key) in keys.iter().enumerate() {
                    let v = map.get(black_box(&key[..])).expect("fvm get");
                    assert_eq!(v, Some(&(i as u64)));
                }
            })
        });
    }
    group.finish();
}

fn delete_half_flush(c: &mut Criterion) {
    let mut group = c.benchmark_group("delete_half_flush");
    for n in SIZES {
        tune(&mut group, n);
        let keys = vectors::keys(1, n);
        let half = &keys[..n / 2];
        group.bench_with_input(BenchmarkId::new("tau", n), &keys, |b, keys| {
            b.iter_batched(
                || tau_build(MemoryBlockstore::new(), keys),
                |(store, root)| {
                    let mut map =
                        TauHamt::load_with_config(store, &root, config()).expect("tau load");
                    for key in half {
                        map.delete(black_box(key)).expect("tau delete");
                    }
                    let after = map.flush().expect("tau flush");
                    (map.into_store(), after)
                },
                BatchSize::LargeInput,
            )
        });
        group.bench_with_input(BenchmarkId::new("fvm", n), &keys, |b, keys| {
            b.iter_batched(
                || fvm_build(FvmStore::new(), keys),
                |(store, root)| {
                    let mut map =
                        FvmHamt::load_with_bit_width(&root, store, BIT_WIDTH).expect("fvm load");
                    for key in half {
                        map.delete(black_box(&key[..])).expect("fvm delete");
                    }
                    let after = map.flush().expect("fvm flush");
                    (map.into_store(), after)
                },
                BatchSize::LargeInput,
            )
        });
    }
    group.finish();
}

criterion_group!(benches, insert_flush, cold_get, delete_half_flush);
criterion_main!(benches);
