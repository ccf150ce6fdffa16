//! The public API: iteration and cursors, map semantics of set/delete, flush
//! memoisation (counted block writes), lazy loading, configuration mistakes.

mod common;
use common::proptest_config;

use std::cell::Cell;
use std::collections::{BTreeMap, BTreeSet};

use fvm_ipld_hamt::BytesKey;
use proptest::prelude::*;
use tau_hamt::{Config, Cursor, Error, Hamt, KeyHash};
use tau_ipld::block::{cid_of, DAG_CBOR};
use tau_ipld::{Blockstore, Cid, MemoryBlockstore};

type FvmStore = fvm_ipld_blockstore::MemoryBlockstore;

const EMPTY_ROOT: &str = "bafy2bzaceamp42wmmgr2g2ymg46euououzfyck7szknvfacqscohrvaikwfay";

/// A memory store counting reads and writes.
#[derive(Default)]
struct Counting {
    inner: MemoryBlockstore,
    puts: Cell<usize>,
    gets: Cell<usize>,
}

impl Counting {
    fn puts(&self) -> usize {
        self.puts.get()
    }
    fn gets(&self) -> usize {
        self.gets.get()
    }
    fn reset(&self) {
        self.puts.set(0);
        self.gets.set(0);
    }
}

impl Blockstore for Counting {
    fn get_raw(&self, cid: &Cid) -> tau_ipld::Result<Option<Vec<u8>>> {
        self.gets.set(self.gets.get() + 1);
        self.inner.get_raw(cid)
    }
    fn put_keyed(&self, cid: &Cid, block: &[u8]) -> tau_ipld::Result<()> {
        self.puts.set(self.puts.get() + 1);
        self.inner.put_keyed(cid, block)
    }
    fn has(&self, cid: &Cid) -> tau_ipld::Result<bool> {
        self.inner.has(cid)
    }
    fn put_many_keyed(&self, blocks: &[(Cid, Vec<u8>)]) -> tau_ipld::Result<()> {
        self.puts.set(self.puts.get() + blocks.len());
        self.inner.put_many_keyed(blocks)
    }
}

fn config(bw: u32) -> Config {
    Config::with_bit_width(bw).unwrap()
}

fn key(i: u32) -> Vec<u8> {
    format!("key-{i}").into_bytes()
}

/// A flushed map of `n` keys `key(i) → i`.
fn filled<BS: Blockstore>(store: BS, bw: u32, n: u32) -> (Hamt<BS, u64>, Cid) {
    let mut map = Hamt::new_with_config(store, config(bw));
    for i in 0..n {
        map.set(key(i), u64::from(i)).unwrap();
    }
    let root = map.flush().unwrap();
    (map, root)
}

fn entries_of<BS: Blockstore>(map: &Hamt<BS, u64>) -> Vec<(Vec<u8>, u64)> {
    map.iter()
        .map(|e| e.map(|(k, v)| (k.to_vec(), v)))
        .collect::<tau_hamt::Result<_>>()
        .unwrap()
}

/// Pages of at most `page` entries, each resumed from the previous page's cursor.
fn paged<BS: Blockstore>(map: &Hamt<BS, u64>, page: usize) -> Vec<(Vec<u8>, u64)> {
    let mut out = Vec::new();
    let mut it = map.iter();
    assert_eq!(it.cursor(), None, "no cursor before the first entry");
    loop {
        let mut got = 0;
        for e in it.by_ref().take(page) {
            let (k, v) = e.unwrap();
            out.push((k.to_vec(), v));
            got += 1;
        }
        if got < page {
            return out;
        }
        let cursor = it.cursor().expect("a cursor after a full page");
        assert_eq!(cursor.key(), out.last().unwrap().0.as_slice());
        // A cursor is only a key: rebuilding it from the bytes resumes the same way.
        let rebuilt = Cursor::after(cursor.key().to_vec());
        assert_eq!(rebuilt, cursor);
        it = map.iter_from(&rebuilt).unwrap();
    }
}

fn map_strategy() -> impl Strategy<Value = BTreeMap<Vec<u8>, u64>> {
    proptest::collection::btree_map(
        proptest::collection::vec(any::<u8>(), 0..5),
        any::<u64>(),
        0..400,
    )
}

proptest! {
    #![proptest_config(proptest_config(96))]

    /// Every entry exactly once, in fvm's order, whether the nodes are in memory
    /// (unflushed), cached after a flush, or loaded lazily from a root.
    #[test]
    fn iteration_yields_each_entry_once_in_fvm_order(
        bw in 1u32..=8,
        model in map_strategy(),
    ) {
        let store = MemoryBlockstore::new();
        let mut map: Hamt<_, u64> = Hamt::new_with_config(&store, config(bw));
        for (k, v) in &model {
            map.set(k, *v).unwrap();
        }
        let dirty = entries_of(&map);
        let root = map.flush().unwrap();
        let cached = entries_of(&map);
        let loaded: Hamt<_, u64> = Hamt::load_with_config(&store, &root, config(bw)).unwrap();
        let lazy = entries_of(&loaded);

        let fvm_store = FvmStore::default();
        let mut fvm: fvm_ipld_hamt::Hamt<_, u64, BytesKey> =
            fvm_ipld_hamt::Hamt::new_with_bit_width(&fvm_store, bw);
        for (k, v) in &model {
            fvm.set(BytesKey(k.clone()), *v).unwrap();
        }
        prop_assert_eq!(fvm.flush().unwrap(), root);
        let mut fvm_order = Vec::new();
        fvm.for_each(|k, v| {
            fvm_order.push((k.0.clone(), *v));
            Ok(())
        })
        .unwrap();

        prop_assert_eq!(&dirty, &fvm_order);
        prop_assert_eq!(&cached, &fvm_order);
        prop_assert_eq!(&lazy, &fvm_order);
        let distinct: BTreeMap<Vec<u8>, u64> = lazy.into_iter().collect();
        prop_assert_eq!(&distinct, &model);
        prop_assert_eq!(loaded.len().unwrap(), model.len());
        prop_assert_eq!(map.len().unwrap(), model.len());
        prop_assert_eq!(loaded.is_empty(), model.is_empty());
    }

    /// Paging with cursors gives the same sequence as one full iteration, on a
    /// loaded map, on an unflushed one, and across map instances.
    #[test]
    fn paging_with_cursors_equals_full_iteration(
        bw in prop::sample::select(vec![1u32, 3, 5, 8]),
        page in 1usize..=9,
        model in map_strategy(),
    ) {
        let store = MemoryBlockstore::new();
        let mut map: Hamt<_, u64> = Hamt::new_with_config(&store, config(bw));
        for (k, v) in &model {
            map.set(k, *v).unwrap();
        }
        let full = entries_of(&map);
        prop_assert_eq!(&paged(&map, page), &full);
        let root = map.flush().unwrap();
        let loaded: Hamt<_, u64> = Hamt::load_with_config(&store, &root, config(bw)).unwrap();
        prop_assert_eq!(&paged(&loaded, page), &full);

        // Resuming after entry i, on a fresh instance, yields exactly the rest.
        for (i, (k, _)) in full.iter().enumerate().step_by(7) {
            let fresh: Hamt<_, u64> = Hamt::load_with_config(&store, &root, config(bw)).unwrap();
            let rest: Vec<(Vec<u8>, u64)> = fresh
                .iter_from(&Cursor::after(k.clone()))
                .unwrap()
                .map(|e| e.map(|(k, v)| (k.to_vec(), v)))
                .collect::<tau_hamt::Result<_>>()
                .unwrap();
            prop_assert_eq!(&rest[..], &full[i + 1..]);
        }
        if let Some((last, _)) = full.last() {
            prop_assert_eq!(loaded.iter_from(&Cursor::after(last.clone())).unwrap().count(), 0);
        }
    }

    /// A cursor whose key is not in the map (e.g. deleted since) resumes somewhere
    /// in the iteration: the rest is a suffix of the full iteration.
    #[test]
    fn cursor_of_an_absent_key_yields_a_suffix(
        bw in prop::sample::select(vec![1u32, 5, 8]),
        model in map_strategy(),
        absent in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..6), 1..20),
    ) {
        let store = MemoryBlockstore::new();
        let mut map: Hamt<_, u64> = Hamt::new_with_config(&store, config(bw));
        for (k, v) in &model {
            map.set(k, *v).unwrap();
        }
        let root = map.flush().unwrap();
        let loaded: Hamt<_, u64> = Hamt::load_with_config(&store, &root, config(bw)).unwrap();
        let full = entries_of(&loaded);
        for a in absent.iter().filter(|a| !model.contains_key(*a)) {
            let rest: Vec<(Vec<u8>, u64)> = loaded
                .iter_from(&Cursor::after(a.clone()))
                .unwrap()
                .map(|e| e.map(|(k, v)| (k.to_vec(), v)))
                .collect::<tau_hamt::Result<_>>()
                .unwrap();
            prop_assert!(rest.len() <= full.len());
            prop_assert_eq!(&rest[..], &full[full.len() - rest.len()..]);
        }
    }
}

#[test]
fn set_returns_the_old_value_and_set_if_absent_keeps_it() {
    let store = MemoryBlockstore::new();
    let mut map: Hamt<_, u64> = Hamt::new_with_config(&store, config(5));
    assert!(map.is_empty());
    assert_eq!(map.set(b"a", 1).unwrap(), None);
    assert_eq!(map.set(b"a", 2).unwrap(), Some(1));
    assert_eq!(map.get(b"a").unwrap(), Some(2));

    assert!(!map.set_if_absent(b"a", 3).unwrap());
    assert_eq!(
        map.get(b"a").unwrap(),
        Some(2),
        "set_if_absent must not overwrite"
    );
    assert!(map.set_if_absent(b"b", 4).unwrap());
    assert_eq!(map.get(b"b").unwrap(), Some(4));
    assert_eq!(map.len().unwrap(), 2);

    // The empty key is a key like any other.
    assert_eq!(map.set(b"", 9).unwrap(), None);
    assert_eq!(map.get(b"").unwrap(), Some(9));
    assert!(map.contains_key(b"").unwrap());
    assert_eq!(map.delete(b"").unwrap(), Some(9));

    assert_eq!(map.delete(b"a").unwrap(), Some(2));
    assert_eq!(map.delete(b"a").unwrap(), None);
    assert!(!map.contains_key(b"a").unwrap());
    assert_eq!(map.delete(b"b").unwrap(), Some(4));
    assert!(map.is_empty());
    assert_eq!(map.flush().unwrap().to_string(), EMPTY_ROOT);
}

#[test]
fn delete_of_an_absent_key_returns_none_and_keeps_the_root() {
    let store = MemoryBlockstore::new();
    let (mut map, root) = filled(&store, 5, 2_000);
    for i in 2_000..2_300 {
        assert_eq!(map.delete(key(i)).unwrap(), None);
        assert_eq!(
            map.root_cid(),
            Some(root),
            "an absent delete dirtied the map"
        );
    }
    // Also on a freshly loaded map, whose nodes are all still unloaded links.
    let mut loaded: Hamt<_, u64> = Hamt::load_with_config(&store, &root, config(5)).unwrap();
    for i in 2_000..2_300 {
        assert_eq!(loaded.delete(key(i)).unwrap(), None);
    }
    assert_eq!(loaded.root_cid(), Some(root));
    assert_eq!(loaded.flush().unwrap(), root);
}

#[test]
fn flushing_an_unchanged_map_writes_nothing() {
    let store = Counting::default();
    let mut empty: Hamt<_, u64> = Hamt::new_with_config(&store, config(5));
    assert_eq!(empty.flush().unwrap().to_string(), EMPTY_ROOT);
    assert_eq!(store.puts(), 1, "the empty root is written once");
    assert_eq!(empty.flush().unwrap().to_string(), EMPTY_ROOT);
    assert_eq!(store.puts(), 1);

    let (mut map, root) = filled(&store, 5, 2_000);
    store.reset();
    assert_eq!(map.flush().unwrap(), root);
    assert_eq!(store.puts(), 0, "second flush wrote blocks");

    // No-op changes keep the map clean.
    assert_eq!(map.set(key(7), 7).unwrap(), Some(7));
    assert!(!map.set_if_absent(key(8), 99).unwrap());
    assert_eq!(map.delete(key(5_000)).unwrap(), None);
    assert_eq!(map.root_cid(), Some(root));
    assert_eq!(map.flush().unwrap(), root);
    assert_eq!(store.puts(), 0, "no-op changes wrote blocks");

    // A loaded map is clean too.
    let mut loaded: Hamt<_, u64> = Hamt::load_with_config(&store, &root, config(5)).unwrap();
    assert_eq!(loaded.root_cid(), Some(root));
    assert_eq!(loaded.flush().unwrap(), root);
    assert_eq!(store.puts(), 0);

    // One change rewrites only the nodes on one path.
    assert_eq!(map.set(key(7), 70).unwrap(), Some(7));
    assert_eq!(map.root_cid(), None);
    let changed = map.flush().unwrap();
    assert_ne!(changed, root);
    let written = store.puts();
    assert!(
        (1..=5).contains(&written),
        "one change wrote {written} blocks"
    );
    store.reset();
    assert_eq!(map.flush().unwrap(), changed);
    assert_eq!(store.puts(), 0);
}

#[test]
fn loading_reads_nodes_lazily() {
    let store = Counting::default();
    let (_, root) = filled(&store, 5, 2_000);
    store.reset();
    let map: Hamt<_, u64> = Hamt::load_with_config(&store, &root, config(5)).unwrap();
    assert_eq!(store.gets(), 1, "load reads only the root");
    assert_eq!(map.get(key(1)).unwrap(), Some(1));
    let first = store.gets();
    assert!((1..=6).contains(&first), "a get read {first} blocks");
    // Nodes stay cached: the same lookup reads nothing more.
    assert_eq!(map.get(key(1)).unwrap(), Some(1));
    assert_eq!(store.gets(), first);
    assert_eq!(map.len().unwrap(), 2_000);
    let after_walk = store.gets();
    assert_eq!(map.len().unwrap(), 2_000);
    assert_eq!(store.gets(), after_walk, "a second walk re-read blocks");
}

#[test]
fn set_then_delete_restores_the_root() {
    let store = MemoryBlockstore::new();
    let (mut map, root) = filled(&store, 5, 2_000);
    // New keys land in every kind of slot: empty, a bucket with room, a full
    // bucket that splits into a child, a child node.
    for i in 2_000..2_400 {
        assert_eq!(map.set(key(i), 1).unwrap(), None);
        let changed = map.flush().unwrap();
        assert_ne!(changed, root);
        assert_eq!(map.delete(key(i)).unwrap(), Some(1));
        assert_eq!(
            map.flush().unwrap(),
            root,
            "set+delete of {i} changed the root"
        );
    }
    // Updating a value and putting it back.
    for i in (0..2_000).step_by(97) {
        assert_eq!(map.set(key(i), 1 << 40).unwrap(), Some(u64::from(i)));
        assert_ne!(map.flush().unwrap(), root);
        assert_eq!(map.set(key(i), u64::from(i)).unwrap(), Some(1 << 40));
        assert_eq!(map.flush().unwrap(), root);
    }
    // Without flushing in between, on a freshly loaded map.
    let mut loaded: Hamt<_, u64> = Hamt::load_with_config(&store, &root, config(5)).unwrap();
    for i in 2_000..2_400 {
        loaded.set(key(i), 1).unwrap();
    }
    for i in 0..1_000 {
        assert_eq!(loaded.delete(key(i)).unwrap(), Some(u64::from(i)));
    }
    for i in 0..1_000 {
        loaded.set(key(i), u64::from(i)).unwrap();
    }
    for i in 2_000..2_400 {
        loaded.delete(key(i)).unwrap();
    }
    assert_eq!(loaded.flush().unwrap(), root);
}

#[test]
fn deleting_everything_gives_the_empty_root() {
    let store = MemoryBlockstore::new();
    let (_, root) = filled(&store, 5, 1_500);
    let mut map: Hamt<_, u64> = Hamt::load_with_config(&store, &root, config(5)).unwrap();
    for i in (0..1_500).rev() {
        assert_eq!(map.delete(key(i)).unwrap(), Some(u64::from(i)));
    }
    assert!(map.is_empty());
    assert_eq!(map.len().unwrap(), 0);
    assert_eq!(map.flush().unwrap().to_string(), EMPTY_ROOT);
}

#[test]
fn clear_empties_the_map() {
    let store = MemoryBlockstore::new();
    let (mut map, root) = filled(&store, 5, 300);
    map.clear();
    assert!(map.is_empty());
    assert_eq!(map.root_cid(), None);
    assert_eq!(map.len().unwrap(), 0);
    assert_eq!(map.get(key(1)).unwrap(), None);
    assert_eq!(map.iter().count(), 0);
    assert_eq!(map.flush().unwrap().to_string(), EMPTY_ROOT);
    // The old root is still readable.
    let old: Hamt<_, u64> = Hamt::load_with_config(&store, &root, config(5)).unwrap();
    assert_eq!(old.len().unwrap(), 300);
}

#[test]
fn get_encoded_and_typed_decoding() {
    let store = MemoryBlockstore::new();
    let mut map: Hamt<_, u64> = Hamt::new_with_config(&store, config(5));
    map.set(b"small", 5).unwrap();
    map.set(b"big", 1_000).unwrap();
    assert_eq!(map.get_encoded(b"small").unwrap(), Some(&[0x05][..]));
    assert_eq!(
        map.get_encoded(b"big").unwrap(),
        Some(&[0x19, 0x03, 0xe8][..])
    );
    assert_eq!(map.get_encoded(b"none").unwrap(), None);
    let raw: Vec<(Vec<u8>, Vec<u8>)> = map
        .iter_encoded()
        .map(|e| e.map(|(k, v)| (k.to_vec(), v.to_vec())))
        .collect::<tau_hamt::Result<_>>()
        .unwrap();
    assert_eq!(raw.len(), 2);
    let root = map.flush().unwrap();

    // Reading the values as the wrong type is a decode error, not a panic.
    let wrong: Hamt<_, String> = Hamt::load_with_config(&store, &root, config(5)).unwrap();
    assert!(matches!(wrong.get(b"small"), Err(Error::Decode(_))));
    assert!(matches!(wrong.iter().next(), Some(Err(Error::Decode(_)))));
    assert_eq!(wrong.len().unwrap(), 2, "len does not decode values");
    let mut wrong = wrong;
    assert!(matches!(wrong.delete(b"small"), Err(Error::Decode(_))));
}

#[test]
fn invalid_configurations_and_keys_are_refused() {
    for bw in [0, 9, 32] {
        assert!(matches!(
            Config::with_bit_width(bw),
            Err(Error::InvalidConfig(_))
        ));
    }
    for size in [0, 65] {
        assert!(matches!(
            Config::builder().bucket_size(size).build(),
            Err(Error::InvalidConfig(_))
        ));
    }
    let identity = Config::builder()
        .bit_width(8)
        .key_hash(KeyHash::Identity)
        .build()
        .unwrap();
    let store = MemoryBlockstore::new();
    let mut map: Hamt<_, u64> = Hamt::new_with_config(&store, identity);
    map.set([7u8; 32], 1).unwrap();
    assert!(matches!(map.set([7u8; 33], 1), Err(Error::KeyTooLong(33))));
    assert!(matches!(map.get([7u8; 33]), Err(Error::KeyTooLong(33))));
    assert!(matches!(map.delete([7u8; 33]), Err(Error::KeyTooLong(33))));
    assert_eq!(map.get([7u8; 32]).unwrap(), Some(1));
}

/// Values that have no strict DAG-CBOR encoding are refused before anything changes.
#[test]
fn values_without_a_dag_cbor_encoding_are_refused() {
    let store = MemoryBlockstore::new();
    let mut map: Hamt<_, BTreeMap<u32, u32>> = Hamt::new_with_config(&store, config(5));
    let empty = map.flush().unwrap();
    let int_keys = BTreeMap::from([(1u32, 2u32)]);
    assert!(matches!(
        map.set(b"k", int_keys.clone()),
        Err(Error::Encode(_))
    ));
    assert!(matches!(
        map.set_if_absent(b"k", int_keys),
        Err(Error::Encode(_))
    ));
    assert_eq!(map.root_cid(), Some(empty));

    let mut floats: Hamt<_, f64> = Hamt::new_with_config(&store, config(5));
    floats.set(b"one", 1.5).unwrap();
    assert_eq!(
        floats.get_encoded(b"one").unwrap().map(<[u8]>::len),
        Some(9)
    );
    for bad in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY] {
        assert!(
            matches!(floats.set(b"bad", bad), Err(Error::Encode(_))),
            "{bad}"
        );
    }
    assert_eq!(floats.len().unwrap(), 1);
}

/// With the identity key hash, `k`, `k‖00`, `k‖00 00`, … share the whole hash:
/// more of them than fit a bucket exhaust the hash bits. That is an error, and the
/// map is left as it was.
#[test]
fn exhausted_hash_bits_are_an_error_that_leaves_the_map_unchanged() {
    for bw in [5, 8] {
        let identity = Config::builder()
            .bit_width(bw)
            .key_hash(KeyHash::Identity)
            .build()
            .unwrap();
        let store = MemoryBlockstore::new();
        let mut map: Hamt<_, u64> = Hamt::new_with_config(&store, identity);
        let colliding: Vec<Vec<u8>> = (0..4).map(|n| [&b"k"[..], &vec![0; n]].concat()).collect();
        for k in &colliding[..3] {
            map.set(k, 1).unwrap();
        }
        map.set(b"other", 2).unwrap();
        let root = map.flush().unwrap();
        assert!(matches!(map.set(&colliding[3], 1), Err(Error::MaxDepth)));
        assert!(!map.set_if_absent(&colliding[0], 5).unwrap());
        assert_eq!(map.get(&colliding[3]).unwrap(), None);
        assert_eq!(map.len().unwrap(), 4);
        assert_eq!(map.flush().unwrap(), root, "a failed set changed the map");
    }
}

#[test]
fn a_missing_block_is_reported_and_stops_iteration() {
    let full = MemoryBlockstore::new();
    let (_, root) = filled(&full, 5, 500);
    // Copy only the root block into a second store.
    let partial = MemoryBlockstore::new();
    partial
        .put_keyed(&root, &full.get(&root).unwrap().unwrap())
        .unwrap();
    let map: Hamt<_, u64> = Hamt::load_with_config(&partial, &root, config(5)).unwrap();
    assert!(matches!(map.len(), Err(Error::MissingBlock(_))));
    let mut it = map.iter();
    let mut errors = 0;
    for e in it.by_ref() {
        if let Err(e) = e {
            assert!(matches!(e, Error::MissingBlock(_)), "{e}");
            errors += 1;
        }
    }
    assert_eq!(errors, 1, "iteration stops after the first error");
    assert!(it.next().is_none());
    let misses = (0..500)
        .filter(|&i| matches!(map.get(key(i)), Err(Error::MissingBlock(_))))
        .count();
    assert!(misses > 0);
    // Loading a root that is not there at all.
    let absent = cid_of(DAG_CBOR, b"\x82\x41\x01\x80");
    assert!(matches!(
        Hamt::<_, u64>::load_with_config(&full, &absent, config(5)),
        Err(Error::MissingBlock(c)) if *c == absent
    ));
}

/// The bit width is not stored in the root: loading with the wrong one must
/// fail with a typed error or read something else, never panic.
#[test]
fn loading_with_the_wrong_bit_width() {
    let store = MemoryBlockstore::new();
    let (_, root8) = filled(&store, 8, 2_000);
    // The bw-8 root sets slots up to 255; at bw 5 only 32 exist.
    assert!(matches!(
        Hamt::<_, u64>::load_with_config(&store, &root8, config(5)),
        Err(Error::MalformedNode(_))
    ));

    let mut outcomes = BTreeSet::new();
    for written in 1..=8 {
        for n in [1u32, 3, 4, 20, 300] {
            let (_, root) = filled(&store, written, n);
            for read in (1..=8).filter(|&r| r != written) {
                let map = match Hamt::<_, u64>::load_with_config(&store, &root, config(read)) {
                    Ok(map) => map,
                    Err(e) => {
                        outcomes.insert(
                            format!("load: {e:?}")
                                .split('(')
                                .next()
                                .unwrap()
                                .to_string(),
                        );
                        continue;
                    }
                };
                for e in map.iter() {
                    if let Err(e) = e {
                        outcomes.insert(
                            format!("iter: {e:?}")
                                .split('(')
                                .next()
                                .unwrap()
                                .to_string(),
                        );
                    }
                }
                for i in 0..n {
                    match map.get(key(i)) {
                        Ok(Some(v)) => assert_eq!(v, u64::from(i)),
                        Ok(None) => {}
                        Err(e) => {
                            outcomes.insert(
                                format!("get: {e:?}").split('(').next().unwrap().to_string(),
                            );
                        }
                    }
                }
            }
        }
    }
    // Small maps whose root is a single bucket read fine at any width; larger ones fail.
    assert!(
        outcomes.iter().any(|o| o.contains("MalformedNode")),
        "{outcomes:?}"
    );
}
