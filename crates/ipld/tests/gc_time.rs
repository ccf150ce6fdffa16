//! How long a collection of a redb store of N blocks takes (BENCHMARKS.md,
//! "tau-node: redb writes", the GC row). Ignored: a measurement, not a check.
//!
//! ```text
//! TAU_GC_BLOCKS=200000 cargo test --release -p tau-ipld --test gc_time -- --ignored --nocapture
//! ```
//!
//! The store: half the blocks reachable (raw leaves of 200 bytes under
//! DAG-CBOR nodes of 64 links, one root), half garbage (raw blocks of 200
//! bytes). Prints the mark, sweep and total times and the report.

#![cfg(feature = "redb")]

use std::collections::HashSet;
use std::time::Instant;

use tau_ipld::block::{cid_of, DAG_CBOR, RAW};
use tau_ipld::blockstore::DEFAULT_SWEEP_BATCH;
use tau_ipld::{Blockstore, Cid, RedbBlockstore};

fn leaf(tag: &str, i: usize) -> (Cid, Vec<u8>) {
    let mut data = format!("{tag} {i} ").into_bytes();
    data.resize(200, b'.');
    (cid_of(RAW, &data), data)
}

#[test]
#[ignore = "a measurement: run with --release --ignored --nocapture"]
fn gc_time_of_a_store_of_n_blocks() {
    let n: usize = std::env::var("TAU_GC_BLOCKS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(200_000);
    let dir = tempfile::tempdir().unwrap();
    let store = RedbBlockstore::open(dir.path().join("gc.redb")).unwrap();

    #[derive(serde::Serialize)]
    struct Node(Vec<Cid>);
    let mut blocks = Vec::new();
    let mut groups = Vec::new();
    let mut group = Vec::new();
    let reachable_leaves = n / 2 - n / 2 / 64 - 1;
    for i in 0..reachable_leaves {
        let (cid, data) = leaf("kept", i);
        group.push(cid);
        blocks.push((cid, data));
        if group.len() == 64 || i + 1 == reachable_leaves {
            let bytes = serde_ipld_dagcbor::to_vec(&Node(std::mem::take(&mut group))).unwrap();
            let cid = cid_of(DAG_CBOR, &bytes);
            groups.push(cid);
            blocks.push((cid, bytes));
        }
        if blocks.len() >= 50_000 {
            store.put_many_keyed(&std::mem::take(&mut blocks)).unwrap();
        }
    }
    let root_bytes = serde_ipld_dagcbor::to_vec(&Node(groups)).unwrap();
    let root = cid_of(DAG_CBOR, &root_bytes);
    blocks.push((root, root_bytes));
    store
        .put_many_keyed_with_roots(&std::mem::take(&mut blocks), &[("head", root)])
        .unwrap();
    let garbage = n - store.block_count().unwrap() as usize;
    for i in 0..garbage {
        blocks.push(leaf("garbage", i));
        if blocks.len() >= 50_000 || i + 1 == garbage {
            store.put_many_keyed(&std::mem::take(&mut blocks)).unwrap();
        }
    }
    let total = store.block_count().unwrap();

    let started = Instant::now();
    let mut collection = store.begin_collection().unwrap();
    collection.mark(&[root], &HashSet::new()).unwrap();
    let marked = started.elapsed();
    let report = collection.sweep(DEFAULT_SWEEP_BATCH).unwrap();
    let all = started.elapsed();
    println!(
        "blocks {total}: mark {:.3} s, sweep {:.3} s, total {:.3} s; {report:?}",
        marked.as_secs_f64(),
        (all - marked).as_secs_f64(),
        all.as_secs_f64()
    );
    assert_eq!(report.deleted as usize, garbage);
    assert_eq!(store.block_count().unwrap(), total - garbage as u64);
}
