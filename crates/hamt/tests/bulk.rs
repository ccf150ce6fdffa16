//! `Hamt::extend` must leave exactly the map a loop of `set` leaves: same root
//! CID, same contents, on fresh maps, on loaded maps and on maps with unflushed
//! changes, at every bit width and bucket size.

mod common;
use common::proptest_config;

use std::collections::BTreeMap;

use proptest::prelude::*;
use tau_hamt::{Config, Error, Hamt};
use tau_ipld::{Blockstore, MemoryBlockstore};

fn config(bw: u32, bucket: usize) -> Config {
    Config::builder()
        .bit_width(bw)
        .bucket_size(bucket)
        .build()
        .unwrap()
}

fn key(k: u16) -> Vec<u8> {
    // Short keys from a small alphabet: updates, splits and deep paths happen.
    if k < 256 {
        vec![k as u8]
    } else {
        k.to_be_bytes().to_vec()
    }
}

proptest! {
    #![proptest_config(proptest_config(64))]

    #[test]
    fn extend_equals_a_loop_of_set(
        bw in 1u32..=8,
        bucket in 1usize..=4,
        before in proptest::collection::vec((0u16..600, any::<u32>()), 0..300),
        flush_before in any::<bool>(),
        deletes in proptest::collection::vec(0u16..600, 0..40),
        batch in proptest::collection::vec((0u16..600, any::<u32>()), 0..400),
        after in proptest::collection::vec((0u16..600, proptest::option::of(any::<u32>())), 0..60),
    ) {
        let cfg = config(bw, bucket);
        let store = MemoryBlockstore::new();
        let mut model = BTreeMap::new();

        // The same starting map twice: one gets `extend`, the other `set`s.
        let mut base: Hamt<_, u32> = Hamt::new_with_config(&store, cfg);
        for (k, v) in &before {
            base.set(key(*k), *v).unwrap();
            model.insert(key(*k), *v);
        }
        let root0 = base.flush().unwrap();
        let load = || -> Hamt<_, u32> {
            let mut m = Hamt::load_with_config(&store, &root0, cfg).unwrap();
            if !flush_before {
                for k in &deletes {
                    m.delete(key(*k)).unwrap();
                }
            }
            m
        };
        if !flush_before {
            for k in &deletes {
                model.remove(&key(*k));
            }
        }
        let mut bulk = load();
        let mut looped = load();

        bulk.extend(batch.iter().map(|(k, v)| (key(*k), *v))).unwrap();
        for (k, v) in &batch {
            looped.set(key(*k), *v).unwrap();
            model.insert(key(*k), *v);
        }
        // Contents before flushing, then roots.
        let got: BTreeMap<Vec<u8>, u32> =
            bulk.iter().map(|e| e.map(|(k, v)| (k.to_vec(), v))).collect::<Result<_, _>>().unwrap();
        prop_assert_eq!(&got, &model);
        prop_assert_eq!(bulk.len().unwrap(), model.len());
        prop_assert_eq!(bulk.flush().unwrap(), looped.flush().unwrap());

        // The bulk-built map keeps working like any other: edit both again.
        for (k, v) in &after {
            match v {
                Some(v) => {
                    prop_assert_eq!(bulk.set(key(*k), *v).unwrap(), model.get(&key(*k)).copied());
                    looped.set(key(*k), *v).unwrap();
                    model.insert(key(*k), *v);
                }
                None => {
                    prop_assert_eq!(bulk.delete(key(*k)).unwrap(), model.remove(&key(*k)));
                    looped.delete(key(*k)).unwrap();
                }
            }
        }
        let root = bulk.flush().unwrap();
        prop_assert_eq!(root, looped.flush().unwrap());
        let reloaded: Hamt<_, u32> = Hamt::load_with_config(&store, &root, cfg).unwrap();
        for (k, v) in &model {
            prop_assert_eq!(reloaded.get(k).unwrap(), Some(*v));
        }
    }
}

#[test]
fn later_duplicates_win_and_empty_batches_change_nothing() {
    let store = MemoryBlockstore::new();
    let mut m: Hamt<_, u32> = Hamt::new(&store);
    m.extend([(b"a", 1), (b"b", 2), (b"a", 3)]).unwrap();
    assert_eq!(m.get(b"a").unwrap(), Some(3));
    let root = m.flush().unwrap();
    m.extend(std::iter::empty::<(&[u8], u32)>()).unwrap();
    assert_eq!(m.root_cid(), Some(root));
}

#[test]
fn a_missing_block_is_an_error_and_the_map_stays_consistent() {
    // Build a map, then lose one child block: extending into it must fail with
    // MissingBlock, and the map must still iterate without panicking.
    let full = MemoryBlockstore::new();
    let mut m: Hamt<_, u32> = Hamt::new(&full);
    m.extend((0u32..2_000).map(|i| (i.to_be_bytes(), i)))
        .unwrap();
    let root = m.flush().unwrap();
    let partial = MemoryBlockstore::new();
    let root_bytes = full.get(&root).unwrap().unwrap();
    partial.put_keyed(&root, &root_bytes).unwrap();
    let mut broken: Hamt<_, u32> = Hamt::load(&partial, &root).unwrap();
    let err = broken
        .extend((0u32..2_000).map(|i| (i.to_be_bytes(), i + 1)))
        .unwrap_err();
    assert!(matches!(err, Error::MissingBlock(_)), "{err}");
    for entry in broken.iter() {
        if let Err(e) = entry {
            assert!(matches!(e, Error::MissingBlock(_)), "{e}");
            break;
        }
    }
}
