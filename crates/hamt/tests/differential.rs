//! Differential tests against the reference implementation, `fvm_ipld_hamt`
//! 0.10.6: the same operations applied to both maps give the same return values
//! at every step and the same root CID after every flush, and a tau map loaded
//! from the blocks fvm wrote holds exactly the model's contents.

mod common;
use common::proptest_config;

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Debug;

use fvm_ipld_hamt::BytesKey;
use proptest::prelude::*;
use proptest::test_runner::TestCaseError;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use tau_hamt::{Config, Hamt};
use tau_ipld::{Blockstore, Cid, MemoryBlockstore};

type FvmStore = fvm_ipld_blockstore::MemoryBlockstore;
type FvmHamt<'a, V> = fvm_ipld_hamt::Hamt<&'a FvmStore, V, BytesKey>;

/// A byte-string value, encoded as a CBOR byte string by both crates.
#[derive(Serialize, Deserialize, Clone, PartialEq, Eq, Debug)]
struct Bytes(#[serde(with = "fvm_ipld_encoding::strict_bytes")] Vec<u8>);

/// tau's [`Blockstore`] over fvm's memory store, so tau can read what fvm wrote.
struct FvmBlocks<'a>(&'a FvmStore);

fn fvm_err(e: impl std::fmt::Display) -> tau_ipld::Error {
    tau_ipld::Error::Io(std::io::Error::other(e.to_string()))
}

impl Blockstore for FvmBlocks<'_> {
    fn get_raw(&self, cid: &Cid) -> tau_ipld::Result<Option<Vec<u8>>> {
        fvm_ipld_blockstore::Blockstore::get(self.0, cid).map_err(fvm_err)
    }
    fn put_keyed(&self, cid: &Cid, block: &[u8]) -> tau_ipld::Result<()> {
        fvm_ipld_blockstore::Blockstore::put_keyed(self.0, cid, block).map_err(fvm_err)
    }
    fn has(&self, cid: &Cid) -> tau_ipld::Result<bool> {
        fvm_ipld_blockstore::Blockstore::has(self.0, cid).map_err(fvm_err)
    }
}

#[derive(Clone, Debug)]
enum Op<V> {
    Set(u16, V),
    SetIfAbsent(u16, V),
    Delete(u16),
    Flush,
}

/// Key `k` as its decimal digits: 1–3 bytes for the alphabets used here.
fn key(k: u16) -> Vec<u8> {
    k.to_string().into_bytes()
}

fn config(bw: u32) -> Config {
    Config::with_bit_width(bw).unwrap()
}

fn ops<V: Clone + Debug + 'static>(
    value: impl Strategy<Value = V> + Clone + 'static,
    max_len: usize,
) -> impl Strategy<Value = Vec<Op<V>>> {
    // The alphabet size varies per case: small alphabets make updates,
    // re-inserts and collapses back into the root frequent, large ones deep trees.
    (1u16..=600).prop_flat_map(move |n| {
        let op = prop_oneof![
            5 => (0..n, value.clone()).prop_map(|(k, v)| Op::Set(k, v)),
            1 => (0..n, value.clone()).prop_map(|(k, v)| Op::SetIfAbsent(k, v)),
            3 => (0..n).prop_map(Op::Delete),
            1 => Just(Op::Flush),
        ];
        proptest::collection::vec(op, 0..max_len)
    })
}

fn u64_value() -> impl Strategy<Value = u64> + Clone {
    // Few distinct small values, so that setting a key to its current value happens.
    prop_oneof![0u64..3, any::<u64>()]
}

fn bytes_value() -> impl Strategy<Value = Bytes> + Clone {
    prop_oneof![
        proptest::collection::vec(0u8..2, 0..2),
        proptest::collection::vec(any::<u8>(), 0..40),
    ]
    .prop_map(Bytes)
}

/// Applies `ops` to a tau map, an fvm map and a model, checking every return value,
/// and the roots and lookups at every flush and at the end.
fn run<V>(bw: u32, ops: &[Op<V>]) -> Result<(), TestCaseError>
where
    V: Serialize + DeserializeOwned + Clone + PartialEq + Debug,
{
    run_with_bucket(bw, 3, ops)
}

/// [`run`] with another bucket size (fvm's `max_array_width`).
fn run_with_bucket<V>(bw: u32, bucket: usize, ops: &[Op<V>]) -> Result<(), TestCaseError>
where
    V: Serialize + DeserializeOwned + Clone + PartialEq + Debug,
{
    let conf = Config::builder()
        .bit_width(bw)
        .bucket_size(bucket)
        .build()
        .unwrap();
    let fvm_conf = fvm_ipld_hamt::Config {
        bit_width: bw,
        max_array_width: bucket,
        ..Default::default()
    };
    let tau_store = MemoryBlockstore::new();
    let fvm_store = FvmStore::default();
    let mut tau: Hamt<_, V> = Hamt::new_with_config(&tau_store, conf);
    let mut fvm: FvmHamt<V> = fvm_ipld_hamt::Hamt::new_with_config(&fvm_store, fvm_conf);
    let mut model: BTreeMap<Vec<u8>, V> = BTreeMap::new();
    let mut touched: BTreeSet<Vec<u8>> = BTreeSet::new();

    for (step, op) in ops.iter().enumerate() {
        match op {
            Op::Set(k, v) => {
                let k = key(*k);
                let ours = tau.set(&k, v.clone()).unwrap();
                let theirs = fvm.set(BytesKey(k.clone()), v.clone()).unwrap();
                let expect = model.insert(k.clone(), v.clone());
                prop_assert_eq!(&ours, &theirs, "set return at step {}", step);
                prop_assert_eq!(&ours, &expect, "set return at step {}", step);
                touched.insert(k);
            }
            Op::SetIfAbsent(k, v) => {
                let k = key(*k);
                let ours = tau.set_if_absent(&k, v.clone()).unwrap();
                let theirs = fvm.set_if_absent(BytesKey(k.clone()), v.clone()).unwrap();
                let expect = !model.contains_key(&k);
                if expect {
                    model.insert(k.clone(), v.clone());
                }
                prop_assert_eq!(ours, theirs, "set_if_absent return at step {}", step);
                prop_assert_eq!(ours, expect, "set_if_absent return at step {}", step);
                touched.insert(k);
            }
            Op::Delete(k) => {
                let k = key(*k);
                let ours = tau.delete(&k).unwrap();
                let theirs = fvm.delete(&BytesKey(k.clone())).unwrap().map(|(_, v)| v);
                let expect = model.remove(&k);
                prop_assert_eq!(&ours, &theirs, "delete return at step {}", step);
                prop_assert_eq!(&ours, &expect, "delete return at step {}", step);
                touched.insert(k);
            }
            Op::Flush => {
                let ours = tau.flush().unwrap();
                let theirs = fvm.flush().unwrap();
                prop_assert_eq!(ours, theirs, "roots differ at flush, step {}", step);
                prop_assert_eq!(tau.root_cid(), Some(ours));
                for k in &touched {
                    let expect = model.get(k);
                    prop_assert_eq!(tau.get(k).unwrap(), expect.cloned(), "tau get {:?}", k);
                    prop_assert_eq!(fvm.get(&BytesKey(k.clone())).unwrap(), expect);
                    prop_assert_eq!(tau.contains_key(k).unwrap(), expect.is_some());
                }
            }
        }
        prop_assert_eq!(tau.is_empty(), model.is_empty());
    }

    let root = tau.flush().unwrap();
    prop_assert_eq!(root, fvm.flush().unwrap(), "final roots differ");

    // fvm's iteration order (depth first by slot, buckets by key).
    let fvm_order: Vec<(Vec<u8>, V)> = fvm
        .iter()
        .map(|e| e.map(|(k, v)| (k.0.clone(), v.clone())))
        .collect::<Result<_, _>>()
        .unwrap();

    // tau over the blocks fvm wrote, read lazily from a flushed root.
    let from_fvm: Hamt<_, V> = Hamt::load_with_config(FvmBlocks(&fvm_store), &root, conf).unwrap();
    prop_assert_eq!(from_fvm.len().unwrap(), model.len());
    let entries: Vec<(Vec<u8>, V)> = from_fvm
        .iter()
        .map(|e| e.map(|(k, v)| (k.to_vec(), v)))
        .collect::<tau_hamt::Result<_>>()
        .unwrap();
    prop_assert_eq!(&entries, &fvm_order, "iteration order differs from fvm");
    let as_map: BTreeMap<Vec<u8>, V> = entries.into_iter().collect();
    prop_assert_eq!(as_map.len(), model.len(), "an entry was yielded twice");
    prop_assert_eq!(&as_map, &model);
    for k in &touched {
        prop_assert_eq!(from_fvm.get(k).unwrap(), model.get(k).cloned());
    }

    // tau's own in-memory map iterates the same way.
    let own: Vec<Vec<u8>> = tau
        .iter()
        .map(|e| e.map(|(k, _)| k.to_vec()))
        .collect::<tau_hamt::Result<_>>()
        .unwrap();
    let theirs: Vec<Vec<u8>> = fvm_order.iter().map(|(k, _)| k.clone()).collect();
    prop_assert_eq!(own, theirs);
    Ok(())
}

proptest! {
    #![proptest_config(proptest_config(96))]

    #[test]
    fn same_results_and_roots_as_fvm_u64_values(
        bw in prop::sample::select(vec![5u32, 8]),
        ops in ops(u64_value(), 400),
    ) {
        run(bw, &ops)?;
    }

    #[test]
    fn same_results_and_roots_as_fvm_byte_values(
        bw in prop::sample::select(vec![5u32, 8]),
        ops in ops(bytes_value(), 400),
    ) {
        run(bw, &ops)?;
    }
}

proptest! {
    #![proptest_config(proptest_config(64))]

    /// Every bit width, not only the two Filecoin uses.
    #[test]
    fn same_roots_as_fvm_any_bit_width(bw in 1u32..=8, ops in ops(u64_value(), 250)) {
        run(bw, &ops)?;
    }

    /// Bucket sizes other than 3 (fvm's configurable `max_array_width`).
    #[test]
    fn same_roots_as_fvm_any_bucket_size(
        bw in 1u32..=8,
        bucket in 1usize..=6,
        ops in ops(u64_value(), 250),
    ) {
        run_with_bucket(bw, bucket, &ops)?;
    }
}

/// Distinct keys, and extra keys disjoint from them, in two random orders each.
fn key_sets() -> impl Strategy<Value = (Vec<u16>, Vec<u16>, Vec<u16>, Vec<u16>)> {
    (
        proptest::collection::btree_set(any::<u16>(), 0..300),
        proptest::collection::btree_set(any::<u16>(), 0..60),
    )
        .prop_flat_map(|(keys, extra)| {
            let keys: Vec<u16> = keys.into_iter().collect();
            let extra: Vec<u16> = extra.into_iter().filter(|k| !keys.contains(k)).collect();
            (
                Just(keys.clone()).prop_shuffle(),
                Just(keys).prop_shuffle(),
                Just(extra.clone()).prop_shuffle(),
                Just(extra).prop_shuffle(),
            )
        })
}

proptest! {
    #![proptest_config(proptest_config(96))]

    /// The root is a function of the contents: two insertion orders, or an order
    /// with extra keys that are later deleted, give the same root (and fvm's).
    #[test]
    fn insertion_order_does_not_change_the_root(
        bw in 1u32..=8,
        (first, second, extra, extra_deletes) in key_sets(),
    ) {
        let store = MemoryBlockstore::new();
        let mut a: Hamt<_, u64> = Hamt::new_with_config(&store, config(bw));
        for &k in &first {
            a.set(k.to_be_bytes(), u64::from(k)).unwrap();
        }
        let root_a = a.flush().unwrap();

        let mut b: Hamt<_, u64> = Hamt::new_with_config(&store, config(bw));
        // Interleave the extra keys with the real ones, then delete them.
        let mut extra_it = extra.iter();
        for &k in &second {
            b.set(k.to_be_bytes(), u64::from(k)).unwrap();
            if let Some(&x) = extra_it.next() {
                b.set(x.to_be_bytes(), 7).unwrap();
            }
        }
        for &x in extra_it {
            b.set(x.to_be_bytes(), 7).unwrap();
        }
        // A flush in the middle makes later deletes go through stored links.
        b.flush().unwrap();
        for &x in &extra_deletes {
            prop_assert_eq!(b.delete(x.to_be_bytes()).unwrap(), Some(7));
        }
        prop_assert_eq!(b.flush().unwrap(), root_a);

        let fvm_store = FvmStore::default();
        let mut fvm: FvmHamt<u64> = fvm_ipld_hamt::Hamt::new_with_bit_width(&fvm_store, bw);
        for &k in &first {
            fvm.set(BytesKey(k.to_be_bytes().to_vec()), u64::from(k)).unwrap();
        }
        prop_assert_eq!(fvm.flush().unwrap(), root_a);
    }
}

/// 20,000 random operations at bit width 5 over 3,000 two-byte keys, return values
/// checked at every step and roots every 1,000 operations.
#[test]
fn twenty_thousand_random_ops_match_fvm() {
    let tau_store = MemoryBlockstore::new();
    let fvm_store = FvmStore::default();
    let mut tau: Hamt<_, u64> = Hamt::new_with_config(&tau_store, config(5));
    let mut fvm: FvmHamt<u64> = fvm_ipld_hamt::Hamt::new_with_bit_width(&fvm_store, 5);
    let mut model = BTreeMap::new();
    let mut rng = tau_hamt::vectors::SplitMix64::new(0x7a75);
    let mut roots = BTreeSet::new();
    for step in 1..=20_000u32 {
        let r = rng.next().unwrap_or_default();
        let k = ((r >> 8) % 3_000) as u16;
        let k = k.to_be_bytes().to_vec();
        // The key set grows for the first half, then mostly shrinks.
        let set_share = if step <= 10_000 { 7 } else { 4 };
        let v = r >> 40;
        match r % 10 {
            x if x < set_share => {
                let ours = tau.set(&k, v).unwrap();
                assert_eq!(
                    ours,
                    fvm.set(BytesKey(k.clone()), v).unwrap(),
                    "step {step}"
                );
                assert_eq!(ours, model.insert(k, v), "step {step}");
            }
            9 => {
                let ours = tau.set_if_absent(&k, v).unwrap();
                assert_eq!(ours, fvm.set_if_absent(BytesKey(k.clone()), v).unwrap());
                if ours {
                    assert!(model.insert(k, v).is_none(), "step {step}");
                }
            }
            _ => {
                let ours = tau.delete(&k).unwrap();
                let theirs = fvm.delete(&BytesKey(k.clone())).unwrap().map(|(_, v)| v);
                assert_eq!(ours, theirs, "step {step}");
                assert_eq!(ours, model.remove(&k), "step {step}");
            }
        }
        if step % 1_000 == 0 {
            let root = tau.flush().unwrap();
            assert_eq!(root, fvm.flush().unwrap(), "roots differ after {step} ops");
            roots.insert(root);
        }
    }
    assert_eq!(roots.len(), 20, "every checkpoint saw a distinct map");
    let root = tau.flush().unwrap();
    let reloaded: Hamt<_, u64> =
        Hamt::load_with_config(FvmBlocks(&fvm_store), &root, config(5)).unwrap();
    assert_eq!(reloaded.len().unwrap(), model.len());
    assert!(
        model.len() > 200,
        "the map should still be large: {}",
        model.len()
    );
    for (k, v) in &model {
        assert_eq!(reloaded.get(k).unwrap(), Some(*v));
    }
}
