//! [`CachedTree`]: a map handed from one edit to the next in memory gives the
//! same roots as one loaded from the store each time, reads no node it holds,
//! and stays within its node budget.

mod common;
use common::proptest_config;

use std::cell::Cell;

use proptest::prelude::*;
use tau_hamt::{CachedTree, Config, Hamt};
use tau_ipld::{Blockstore, Cid, MemoryBlockstore};

/// A memory store counting reads.
#[derive(Default)]
struct Counting {
    inner: MemoryBlockstore,
    gets: Cell<usize>,
}

impl Blockstore for Counting {
    fn get_raw(&self, cid: &Cid) -> tau_ipld::Result<Option<Vec<u8>>> {
        self.gets.set(self.gets.get() + 1);
        self.inner.get_raw(cid)
    }
    fn put_keyed(&self, cid: &Cid, block: &[u8]) -> tau_ipld::Result<()> {
        self.inner.put_keyed(cid, block)
    }
    fn has(&self, cid: &Cid) -> tau_ipld::Result<bool> {
        self.inner.has(cid)
    }
    fn put_many_keyed(&self, blocks: &[(Cid, Vec<u8>)]) -> tau_ipld::Result<()> {
        self.inner.put_many_keyed(blocks)
    }
}

fn key(i: u16) -> [u8; 2] {
    i.to_be_bytes()
}

#[derive(Debug, Clone)]
enum Op {
    Set(u16, u64),
    Delete(u16),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        3 => (0u16..600, any::<u64>()).prop_map(|(k, v)| Op::Set(k, v)),
        1 => (0u16..600).prop_map(Op::Delete),
    ]
}

fn apply<BS: Blockstore>(map: &mut Hamt<BS, u64>, ops: &[Op]) {
    for op in ops {
        match op {
            Op::Set(k, v) => {
                map.set(key(*k), *v).unwrap();
            }
            Op::Delete(k) => {
                map.delete(key(*k)).unwrap();
            }
        }
    }
}

proptest! {
    #![proptest_config(proptest_config(48))]

    /// Rounds of edits, each started from the previous round's cached tree
    /// (trimmed to a random budget) or from the store: the same root after
    /// every round, and the trimmed tree within its budget.
    #[test]
    fn warm_and_cold_maps_give_the_same_roots(
        bit_width in 3u32..=6,
        rounds in prop::collection::vec(prop::collection::vec(op(), 0..120), 1..6),
        budget in 1usize..40,
    ) {
        let config = Config::with_bit_width(bit_width).unwrap();
        let store = MemoryBlockstore::new();
        let mut cold: Hamt<_, u64> = Hamt::new_with_config(&store, config);
        let mut cold_root = cold.flush().unwrap();
        let mut warm: Option<CachedTree> = None;
        for ops in &rounds {
            let mut loaded: Hamt<_, u64> = Hamt::load_with_config(&store, &cold_root, config).unwrap();
            apply(&mut loaded, ops);
            cold_root = loaded.flush().unwrap();

            let mut map: Hamt<_, u64> = match warm.take() {
                Some(tree) => Hamt::from_cached_tree(&store, tree),
                None => Hamt::new_with_config(&store, config),
            };
            apply(&mut map, ops);
            let root = map.flush().unwrap();
            prop_assert_eq!(root, cold_root);
            let mut tree = map.into_cached_tree().unwrap();
            prop_assert_eq!(tree.root(), &root);
            prop_assert_eq!(tree.config(), &config);
            let held = tree.trim(budget);
            prop_assert!(held <= budget.max(1));
            prop_assert_eq!(held, tree.decoded_nodes());
            warm = Some(tree);
        }
        let map: Hamt<_, u64> = Hamt::from_cached_tree(&store, warm.unwrap());
        let cold: Hamt<_, u64> = Hamt::load_with_config(&store, &cold_root, config).unwrap();
        let a: Vec<_> = map.iter().map(Result::unwrap).collect();
        let b: Vec<_> = cold.iter().map(Result::unwrap).collect();
        prop_assert_eq!(a, b);
    }
}

#[test]
fn a_map_with_unflushed_changes_gives_no_tree() {
    let store = MemoryBlockstore::new();
    let mut map: Hamt<_, u64> = Hamt::new(&store);
    map.set(b"a", 1).unwrap();
    assert!(map.into_cached_tree().is_none());

    let mut map: Hamt<_, u64> = Hamt::new(&store);
    map.set(b"a", 1).unwrap();
    let root = map.flush().unwrap();
    map.set(b"b", 2).unwrap();
    assert!(map.into_cached_tree().is_none());

    let map: Hamt<_, u64> = Hamt::load(&store, &root).unwrap();
    assert_eq!(map.into_cached_tree().unwrap().root(), &root);
}

#[test]
fn a_cached_tree_reads_no_node_it_holds_and_trimming_frees_them() {
    let store = Counting::default();
    let mut map: Hamt<_, u64> = Hamt::new(&store);
    for i in 0u16..5_000 {
        map.set(key(i), u64::from(i)).unwrap();
    }
    let root = map.flush().unwrap();
    let tree = map.into_cached_tree().unwrap();
    let all = tree.decoded_nodes();
    assert!(all > 100, "{all} nodes");

    // Every node was built in memory by `set`: reading every key touches no block.
    store.gets.set(0);
    let map: Hamt<_, u64> = Hamt::from_cached_tree(&store, tree);
    for i in 0u16..5_000 {
        assert_eq!(map.get(key(i)).unwrap(), Some(u64::from(i)));
    }
    assert_eq!(store.gets.get(), 0);

    // A budget it fits changes nothing; a smaller one keeps only the root,
    // and the nodes are read (and checked) again when used.
    let mut tree = map.into_cached_tree().unwrap();
    assert_eq!(tree.trim(all), all);
    assert_eq!(tree.trim(all - 1), 1);
    assert_eq!(tree.decoded_nodes(), 1);
    let map: Hamt<_, u64> = Hamt::from_cached_tree(&store, tree);
    for i in 0u16..5_000 {
        assert_eq!(map.get(key(i)).unwrap(), Some(u64::from(i)));
    }
    assert_eq!(store.gets.get(), all - 1);
    let tree = map.into_cached_tree().unwrap();
    assert_eq!(tree.decoded_nodes(), all);
    assert_eq!(tree.root(), &root);
}
