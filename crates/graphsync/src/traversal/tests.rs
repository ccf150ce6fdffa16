use std::collections::BTreeMap;

use proptest::prelude::*;
use tau_hamt::{Config, Hamt};
use tau_ipld::MemoryBlockstore;

use super::*;
use crate::selector::{HamtLayout, KeyEncoding, RecursionLimit};
use ipld_core::ipld::Ipld;

fn put(store: &MemoryBlockstore, v: &Ipld) -> Cid {
    store.put(DAG_CBOR, &dagcbor::encode(v).unwrap()).unwrap()
}

fn raw(store: &MemoryBlockstore, s: &str) -> Cid {
    store.put(RAW, s.as_bytes()).unwrap()
}

fn map(entries: Vec<(&str, Ipld)>) -> Ipld {
    Ipld::Map(
        entries
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect(),
    )
}

fn links(store: &MemoryBlockstore, root: Cid, sel: &Selector) -> Vec<Cid> {
    walk(store, root, sel, &Limits::default()).unwrap().links
}

fn all() -> Selector {
    Selector::explore_all_recursively(100)
}

#[test]
fn depth_first_in_dag_cbor_key_order_with_repeats() {
    let s = MemoryBlockstore::new();
    let (a, b, c) = (raw(&s, "a"), raw(&s, "b"), raw(&s, "c"));
    let mid = put(&s, &Ipld::List(vec![Ipld::Link(c), Ipld::Link(a)]));
    // Keys "zz", "b", "aaa": DAG-CBOR order is "b", "zz", "aaa" (length first).
    let root = put(
        &s,
        &map(vec![
            ("zz", Ipld::Link(mid)),
            ("b", Ipld::Link(b)),
            ("aaa", Ipld::Link(a)),
            ("n", Ipld::Integer(1)),
        ]),
    );
    // Depth first: b, then mid and its children c, a, then aaa -> a again.
    assert_eq!(links(&s, root, &all()), [root, b, mid, c, a, a]);
}

#[test]
fn recursion_depth_counts_levels_as_go_does() {
    let s = MemoryBlockstore::new();
    let mut chain = vec![raw(&s, "end")];
    for _ in 0..5 {
        let next = *chain.last().unwrap();
        chain.push(put(&s, &map(vec![("next", Ipld::Link(next))])));
    }
    chain.reverse(); // chain[0] is the head, chain[5] the raw end.
    let head = chain[0];
    for depth in 1..=7u64 {
        let got = links(&s, head, &Selector::explore_all_recursively(depth));
        // go: the sequence is applied `depth` times; depth 1 keeps the root only.
        let n = (depth as usize).min(chain.len());
        assert_eq!(got, chain[..n], "depth {depth}");
    }
    let unbounded = Selector::ExploreRecursive {
        limit: RecursionLimit::None,
        sequence: Box::new(Selector::ExploreAll {
            next: Box::new(Selector::ExploreRecursiveEdge),
        }),
    };
    assert!(matches!(
        Traversal::new(head, &unbounded, &Limits::default()),
        Err(Error::RecursionLimit { .. })
    ));
    let open = Limits {
        allow_unbounded_recursion: true,
        ..Limits::default()
    };
    assert_eq!(walk(&s, head, &unbounded, &open).unwrap().links, chain);
}

#[test]
fn missing_blocks_skip_their_subtree() {
    let s = MemoryBlockstore::new();
    let absent_leaf = tau_ipld::block::cid_of(RAW, b"never stored");
    let absent_node = tau_ipld::block::cid_of(
        DAG_CBOR,
        &dagcbor::encode(&Ipld::List(vec![Ipld::Link(absent_leaf)])).unwrap(),
    );
    let b = raw(&s, "b");
    let root = put(
        &s,
        &Ipld::List(vec![Ipld::Link(absent_node), Ipld::Link(b)]),
    );
    let w = walk(&s, root, &all(), &Limits::default()).unwrap();
    assert_eq!(w.links, [root, absent_node, b]);
    assert_eq!(w.missing, [absent_node]);
    // A missing root: one link, missing.
    let w = walk(&s, absent_node, &all(), &Limits::default()).unwrap();
    assert_eq!((w.links.len(), w.missing.len()), (1, 1));
}

#[test]
fn fields_indexes_ranges_and_unions() {
    let s = MemoryBlockstore::new();
    let l: Vec<Cid> = (0..5).map(|i| raw(&s, &format!("l{i}"))).collect();
    let list = put(&s, &Ipld::List(l.iter().map(|c| Ipld::Link(*c)).collect()));
    let root = put(
        &s,
        &map(vec![("list", Ipld::Link(list)), ("x", Ipld::Link(l[0]))]),
    );
    let under_list = |sel: Selector| Selector::field_path(&["list"], sel);
    let range = Selector::ExploreRange {
        start: -3,
        end: 3,
        next: Box::new(Selector::Matcher),
    };
    assert_eq!(
        links(&s, root, &under_list(range)),
        [root, list, l[0], l[1], l[2]]
    );
    let index = |i| Selector::ExploreIndex {
        index: i,
        next: Box::new(Selector::Matcher),
    };
    assert_eq!(links(&s, root, &under_list(index(4))), [root, list, l[4]]);
    assert_eq!(links(&s, root, &under_list(index(9))), [root, list]);
    // A matcher alone loads nothing below the root; a field to a link loads it.
    assert_eq!(links(&s, root, &Selector::Matcher), [root]);
    assert_eq!(
        links(&s, root, &Selector::field_path(&["x"], Selector::Matcher)),
        [root, l[0]]
    );
    // Index interests do not apply to maps; decimal field names apply to lists.
    assert_eq!(links(&s, root, &index(0)), [root]);
    assert_eq!(
        links(
            &s,
            root,
            &under_list(Selector::field_path(&["3"], Selector::Matcher))
        ),
        [root, list, l[3]]
    );
    // Identical union members count once (a set: go concatenates their
    // interests and would load the link twice; see selector::explore), and
    // distinct members that share a child visit it once per member.
    let x = Selector::field_path(&["x"], Selector::Matcher);
    let union = Selector::ExploreUnion(vec![x.clone(), x.clone()]);
    assert_eq!(links(&s, root, &union), [root, l[0]]);
    let x_all = Selector::field_path(&["x"], Selector::explore_all_recursively(1));
    let union = Selector::ExploreUnion(vec![x, x_all]);
    assert_eq!(links(&s, root, &union), [root, l[0], l[0]]);
    // Absent fields are skipped.
    assert_eq!(
        links(
            &s,
            root,
            &Selector::field_path(&["nope"], Selector::Matcher)
        ),
        [root]
    );
}

#[test]
fn raw_roots_are_leaves_and_unknown_codecs_fail() {
    let s = MemoryBlockstore::new();
    let leaf = raw(&s, "x");
    assert_eq!(links(&s, leaf, &all()), [leaf]);
    let pb = s.put(0x70, b"\x0a\x00").unwrap();
    assert!(matches!(
        walk(&s, pb, &all(), &Limits::default()),
        Err(Error::UnsupportedCodec { codec: 0x70, .. })
    ));
    let hamt_of_raw = Selector::hamt_key(HamtLayout::default(), b"k", Selector::Matcher).unwrap();
    assert!(matches!(
        walk(&s, leaf, &hamt_of_raw, &Limits::default()),
        Err(Error::MalformedHamt(_))
    ));
}

#[test]
fn link_budget_is_enforced() {
    let s = MemoryBlockstore::new();
    let l: Vec<Ipld> = (0..10)
        .map(|i| Ipld::Link(raw(&s, &format!("{i}"))))
        .collect();
    let root = put(&s, &Ipld::List(l));
    let tight = Limits {
        max_links: Some(5),
        ..Limits::default()
    };
    assert!(matches!(
        walk(&s, root, &all(), &tight),
        Err(Error::LinkBudget(5))
    ));
    let enough = Limits {
        max_links: Some(11),
        ..Limits::default()
    };
    assert_eq!(walk(&s, root, &all(), &enough).unwrap().links.len(), 11);
}

#[test]
fn provide_without_a_link_is_misuse() {
    let s = MemoryBlockstore::new();
    let leaf = raw(&s, "x");
    let mut t = Traversal::new(leaf, &Selector::Matcher, &Limits::default()).unwrap();
    assert_eq!(t.next_link().unwrap(), Some(leaf));
    t.provide(Some(b"x")).unwrap();
    assert_eq!(t.next_link().unwrap(), None);
    assert!(matches!(t.provide(None), Err(Error::TraversalState(_))));
}

/// A HAMT of `n` keys whose values are links to raw blocks (as a state root
/// pointing at contract blocks).
fn hamt_of_links(store: &MemoryBlockstore, n: u32, config: Config) -> (Cid, Vec<(Vec<u8>, Cid)>) {
    let mut map: Hamt<_, Cid> = Hamt::new_with_config(store, config);
    let mut entries = Vec::new();
    for i in 0..n {
        let key = format!("acct-{i}").into_bytes();
        let value = store
            .put(RAW, format!("contract of {i}").as_bytes())
            .unwrap();
        map.set(&key, value).unwrap();
        entries.push((key, value));
    }
    (map.flush().unwrap(), entries)
}

#[test]
fn hamt_key_walks_exactly_the_proof_path_then_the_value() {
    for bw in [3u32, 5, 8] {
        let config = Config::with_bit_width(bw).unwrap();
        let s = MemoryBlockstore::new();
        let (root, entries) = hamt_of_links(&s, 600, config);
        let layout = HamtLayout::for_config(&config).unwrap();
        for (key, value) in entries.iter().step_by(37) {
            let proof = tau_hamt::prove(&s, &root, key, &config).unwrap();
            let mut want: Vec<Cid> = proof.blocks().iter().map(|(c, _)| *c).collect();
            // A matcher on the value: the value is a link, so it is loaded.
            want.push(*value);
            let sel = Selector::hamt_key(layout, key, Selector::Matcher).unwrap();
            assert_eq!(links(&s, root, &sel), want, "bw {bw}");
        }
        // Absent keys: exactly the proof of absence.
        for key in [&b"nobody"[..], b"acct-600", b""] {
            let proof = tau_hamt::prove(&s, &root, key, &config).unwrap();
            let want: Vec<Cid> = proof.blocks().iter().map(|(c, _)| *c).collect();
            let sel = Selector::hamt_key(layout, key, Selector::Matcher).unwrap();
            assert_eq!(links(&s, root, &sel), want);
        }
    }
}

#[test]
fn several_hamt_keys_in_field_order_and_utf8_layout() {
    let config = Config::default();
    let s = MemoryBlockstore::new();
    let (root, entries) = hamt_of_links(&s, 300, config);
    let (k1, v1) = &entries[7];
    let (k2, v2) = &entries[123];
    let names: BTreeMap<String, Selector> = [k1, k2]
        .iter()
        .map(|k| (String::from_utf8(k.to_vec()).unwrap(), Selector::Matcher))
        .collect();
    let sel = Selector::InterpretAs {
        layout: HamtLayout::new(5, KeyEncoding::Utf8).unwrap(),
        next: Box::new(Selector::ExploreFields { fields: names }),
    };
    let path = |k: &[u8], v: &Cid| {
        let p = tau_hamt::prove(&s, &root, k, &config).unwrap();
        let mut c: Vec<Cid> = p.blocks().iter().skip(1).map(|(c, _)| *c).collect();
        c.push(*v);
        c
    };
    // "acct-7" (6 chars) before "acct-123" (8 chars): DAG-CBOR order.
    let mut want = vec![root];
    want.extend(path(k1, v1));
    want.extend(path(k2, v2));
    assert_eq!(links(&s, root, &sel), want);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]
    #[test]
    fn hamt_paths_match_prove_for_random_keys(
        n in 1u32..400,
        bw in 1u32..=8,
        probes in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..12), 1..6),
    ) {
        let config = Config::with_bit_width(bw).unwrap();
        let s = MemoryBlockstore::new();
        let (root, entries) = hamt_of_links(&s, n, config);
        let layout = HamtLayout::for_config(&config).unwrap();
        let keys = probes.into_iter().chain(entries.iter().take(3).map(|(k, _)| k.clone()));
        for key in keys {
            let proof = tau_hamt::prove(&s, &root, &key, &config).unwrap();
            let mut want: Vec<Cid> = proof.blocks().iter().map(|(c, _)| *c).collect();
            if let Some((_, v)) = entries.iter().find(|(k, _)| *k == key) {
                want.push(*v);
            }
            let sel = Selector::hamt_key(layout, &key, Selector::Matcher).unwrap();
            prop_assert_eq!(links(&s, root, &sel), want);
        }
    }

    #[test]
    fn random_blocks_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
        let s = MemoryBlockstore::new();
        let root = s.put(DAG_CBOR, &bytes).unwrap();
        let _ = walk(&s, root, &all(), &Limits::default());
        let sel = Selector::hamt_key(HamtLayout::default(), b"k", all()).unwrap();
        let _ = walk(&s, root, &sel, &Limits::default());
    }
}

/// A chain of `len` maps `{"a": next, "b": [next, 1], "c": 1}` (the last one
/// links nothing): every level offers fields, an index, a range and links,
/// and a walk that follows both links of a level doubles its loads.
fn ladder(s: &MemoryBlockstore, len: usize) -> Cid {
    let mut next = put(s, &map(vec![("c", Ipld::Integer(1))]));
    for _ in 0..len {
        next = put(
            s,
            &map(vec![
                ("a", Ipld::Link(next)),
                ("b", Ipld::List(vec![Ipld::Link(next), Ipld::Integer(1)])),
                ("c", Ipld::Integer(1)),
            ]),
        );
    }
    next
}

/// Selector nodes, the measure of a selector's size.
fn size(s: &Selector) -> usize {
    1 + match s {
        Selector::Matcher | Selector::ExploreRecursiveEdge => 0,
        Selector::ExploreAll { next }
        | Selector::ExploreIndex { next, .. }
        | Selector::ExploreRange { next, .. }
        | Selector::InterpretAs { next, .. } => size(next),
        Selector::ExploreFields { fields } => fields.values().map(size).sum(),
        Selector::ExploreUnion(m) => m.iter().map(size).sum(),
        Selector::ExploreRecursive { sequence, .. } => size(sequence),
    }
}

/// Selectors over the ladder's fields, with edges anywhere beneath a
/// recursion (nested recursions and unions of edges included).
fn arb_explore(in_recursion: bool) -> BoxedStrategy<Selector> {
    let leaf = if in_recursion {
        prop_oneof![
            Just(Selector::Matcher),
            Just(Selector::ExploreRecursiveEdge)
        ]
        .boxed()
    } else {
        Just(Selector::Matcher).boxed()
    };
    leaf.prop_recursive(5, 32, 3, move |inner| {
        let recursive = arb_explore(true);
        prop_oneof![
            inner
                .clone()
                .prop_map(|n| Selector::ExploreAll { next: Box::new(n) }),
            proptest::collection::btree_map("[abc0]", inner.clone(), 1..3)
                .prop_map(|fields| Selector::ExploreFields { fields }),
            (0i64..2, inner.clone()).prop_map(|(index, n)| Selector::ExploreIndex {
                index,
                next: Box::new(n)
            }),
            (0i64..2, inner.clone()).prop_map(|(start, n)| Selector::ExploreRange {
                start,
                end: start + 2,
                next: Box::new(n)
            }),
            proptest::collection::vec(inner, 1..4).prop_map(Selector::ExploreUnion),
            (1u64..=100, recursive).prop_map(|(d, seq)| Selector::ExploreRecursive {
                limit: RecursionLimit::Depth(d),
                // At least one edge of its own.
                sequence: Box::new(Selector::ExploreUnion(vec![
                    seq,
                    Selector::ExploreAll {
                        next: Box::new(Selector::ExploreRecursiveEdge)
                    },
                ])),
            }),
        ]
    })
    .boxed()
}

/// Limits for the property tests: a walk that doubles its loads stops at the
/// link budget.
fn small_budget() -> Limits {
    Limits {
        max_links: Some(2_000),
        ..Limits::default()
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(96))]

    /// The selector state at any node stays linear in the selector's size,
    /// whatever the selector (unions under recursion, nested recursions, any
    /// depth up to the limit): at most 4 nodes per selector node.
    #[test]
    fn selector_state_is_linear_in_the_selector(sel in arb_explore(false)) {
        let s = MemoryBlockstore::new();
        let root = ladder(&s, 110);
        let mut t = Traversal::new(root, &sel, &small_budget()).unwrap();
        loop {
            match t.next_link() {
                Ok(Some(cid)) => {
                    let block = s.get(&cid).unwrap();
                    if let Err(e) = t.provide(block.as_deref()) {
                        prop_assert!(matches!(e, Error::LinkBudget(_)), "{e}");
                        break;
                    }
                }
                Ok(None) => break,
                Err(e) => {
                    prop_assert!(matches!(e, Error::LinkBudget(_)), "{e}");
                    break;
                }
            }
        }
        let n = size(&sel);
        prop_assert!(
            t.peak_selector_state() <= 4 * n + 4,
            "state {} for a selector of {} nodes: {:?}",
            t.peak_selector_state(),
            n,
            sel
        );
    }
}

/// The selector of issue 20: a union of two identical recursive edges under
/// a depth-100 recursion used to double the state per level (2^100).
#[test]
fn union_under_recursion_does_not_multiply() {
    // {"R":{"l":{"depth":100},":>":{"|":[{"a":{">":{"@":{}}}},{"a":{">":{"@":{}}}}]}}}
    let all_edge = Selector::ExploreAll {
        next: Box::new(Selector::ExploreRecursiveEdge),
    };
    let sel = Selector::ExploreRecursive {
        limit: RecursionLimit::Depth(100),
        sequence: Box::new(Selector::ExploreUnion(vec![all_edge.clone(), all_edge])),
    };
    let s = MemoryBlockstore::new();
    let root = ladder(&s, 300);
    let mut t = Traversal::new(root, &sel, &small_budget()).unwrap();
    let end = loop {
        match t.next_link() {
            Ok(Some(cid)) => {
                if let Err(e) = t.provide(s.get(&cid).unwrap().as_deref()) {
                    break Err(e);
                }
            }
            Ok(None) => break Ok(()),
            Err(e) => break Err(e),
        }
    };
    // Each level has two links to the next, so the walk doubles its loads
    // and stops at the link budget; the state stays a few nodes throughout.
    assert!(matches!(end, Err(Error::LinkBudget(2_000))), "{end:?}");
    assert_eq!(t.links(), 2_000);
    assert!(t.peak_selector_state() <= 4, "{}", t.peak_selector_state());
}

/// A chain of blocks `[next, 64 KiB of bytes]`: the walk holds one block at a
/// time, not every ancestor (the bytes after the link load nothing).
#[test]
fn the_stack_holds_only_what_it_still_needs() {
    let s = MemoryBlockstore::new();
    let payload = Ipld::Bytes(vec![7; 64 << 10]);
    let mut head = put(&s, &Ipld::List(vec![]));
    for _ in 0..50 {
        head = put(&s, &Ipld::List(vec![Ipld::Link(head), payload.clone()]));
    }
    let mut t = Traversal::new(head, &all(), &Limits::default()).unwrap();
    let mut most = 0;
    let mut loads = 0;
    while let Some(cid) = t.next_link().unwrap() {
        most = most.max(t.held_bytes());
        t.provide(s.get(&cid).unwrap().as_deref()).unwrap();
        most = most.max(t.held_bytes());
        loads += 1;
    }
    assert_eq!(loads, 51);
    assert!(most < 2 * (64 << 10) + 1024, "{most}");
}
