//! Untrusted blocks: arbitrary or corrupted node bytes never panic, and each kind
//! of invalid node is refused with its typed error.

mod common;
use common::proptest_config;

use std::collections::HashMap;
use std::sync::OnceLock;

use proptest::prelude::*;
use tau_hamt::{Config, Error, Hamt};
use tau_ipld::block::{cid_of, DAG_CBOR, RAW};
use tau_ipld::{Blockstore, Cid, MemoryBlockstore};

// ---------------------------------------------------------------- CBOR helpers

fn hdr(major: u8, arg: u64) -> Vec<u8> {
    let m = major << 5;
    match arg {
        0..=23 => vec![m | arg as u8],
        24..=0xff => vec![m | 24, arg as u8],
        0x100..=0xffff => [&[m | 25][..], &(arg as u16).to_be_bytes()].concat(),
        0x1_0000..=0xffff_ffff => [&[m | 26][..], &(arg as u32).to_be_bytes()].concat(),
        _ => [&[m | 27][..], &arg.to_be_bytes()].concat(),
    }
}

fn uint(v: u64) -> Vec<u8> {
    hdr(0, v)
}

fn bstr(b: &[u8]) -> Vec<u8> {
    [hdr(2, b.len() as u64), b.to_vec()].concat()
}

fn arr(items: &[Vec<u8>]) -> Vec<u8> {
    let mut out = hdr(4, items.len() as u64);
    for i in items {
        out.extend_from_slice(i);
    }
    out
}

/// A CID link: tag 42 over `0x00 ‖ CID bytes`.
fn link(cid: &Cid) -> Vec<u8> {
    [
        vec![0xd8, 0x2a],
        bstr(&[&[0u8][..], &cid.to_bytes()].concat()),
    ]
    .concat()
}

fn entry(k: &[u8], v: u64) -> Vec<u8> {
    arr(&[bstr(k), uint(v)])
}

fn bucket(entries: &[(&[u8], u64)]) -> Vec<u8> {
    arr(&entries
        .iter()
        .map(|(k, v)| entry(k, *v))
        .collect::<Vec<_>>())
}

/// The trimmed big-endian bitfield with `slots` set.
fn bits(slots: impl IntoIterator<Item = u32>) -> Vec<u8> {
    let mut be = [0u8; 32];
    for s in slots {
        be[31 - (s / 8) as usize] |= 1 << (s % 8);
    }
    let skip = be.iter().take_while(|b| **b == 0).count();
    be[skip..].to_vec()
}

fn node(bitfield: &[u8], pointers: &[Vec<u8>]) -> Vec<u8> {
    arr(&[bstr(bitfield), arr(pointers)])
}

fn config(bw: u32) -> Config {
    Config::with_bit_width(bw).unwrap()
}

/// Stores `bytes` under their CID and loads them as a root.
fn load_root<'s>(
    store: &'s MemoryBlockstore,
    bytes: &[u8],
    bw: u32,
) -> tau_hamt::Result<Hamt<&'s MemoryBlockstore, u64>> {
    let cid = store.put(DAG_CBOR, bytes).unwrap();
    Hamt::load_with_config(store, &cid, config(bw))
}

fn root_err(bytes: &[u8], bw: u32) -> Error {
    let store = MemoryBlockstore::new();
    match load_root(&store, bytes, bw) {
        Ok(_) => panic!("accepted a malformed root: {bytes:02x?}"),
        Err(e) => e,
    }
}

/// A root at bit width 5 whose every slot links to `child`, so that every key
/// and every iteration reaches it.
fn root_over<'s>(store: &'s MemoryBlockstore, child: &Cid) -> Hamt<&'s MemoryBlockstore, u64> {
    let root = node(&bits(0..32), &vec![link(child); 32]);
    load_root(store, &root, 5).expect("the root itself is valid")
}

/// The first error of a full iteration, and of a lookup.
fn child_errs(map: &Hamt<&MemoryBlockstore, u64>) -> (Error, Error) {
    let iter = map
        .iter()
        .find_map(Result::err)
        .expect("iteration reached no error");
    let get = map.get(b"any key").expect_err("lookup reached no error");
    (iter, get)
}

/// Stores `child` under its CID and returns the errors reaching it.
fn child_err(child: &[u8]) -> (Error, Error) {
    let store = MemoryBlockstore::new();
    let cid = store.put(DAG_CBOR, child).unwrap();
    let map = root_over(&store, &cid);
    child_errs(&map)
}

macro_rules! assert_err {
    ($e:expr, $pat:pat $(if $guard:expr)?) => {{
        let e = $e;
        assert!(matches!(&e, $pat $(if $guard)?), "unexpected error: {e:?}");
    }};
}

// ---------------------------------------------------------- hand-built cases

#[test]
fn valid_hand_built_nodes_are_accepted() {
    // The helpers produce what tau writes: sanity for every case below.
    let store = MemoryBlockstore::new();
    let empty = load_root(&store, &node(&[], &[]), 5).unwrap();
    assert!(empty.is_empty());
    assert_eq!(
        store.put(DAG_CBOR, &node(&[], &[])).unwrap().to_string(),
        "bafy2bzaceamp42wmmgr2g2ymg46euououzfyck7szknvfacqscohrvaikwfay"
    );
    let one = load_root(&store, &node(&bits([0]), &[bucket(&[(b"a", 1)])]), 5).unwrap();
    assert_eq!(one.iter().count(), 1);

    let mut real: Hamt<_, u64> = Hamt::new_with_config(&store, config(5));
    real.set(b"a", 1).unwrap();
    let cid = real.flush().unwrap();
    let bytes = store.get(&cid).unwrap().unwrap();
    assert_eq!(bits([0, 9]), vec![0x02, 0x01]);
    // One entry: a one-bucket root at the key's slot.
    assert_eq!(bytes[0], 0x82);
    assert!(bytes.ends_with(&[0x81, 0x81, 0x82, 0x41, b'a', 0x01]));

    // A child with four entries in two buckets (more than a bucket holds) is canonical.
    let child = node(
        &bits([1, 7]),
        &[
            bucket(&[(b"a", 1), (b"b", 2)]),
            bucket(&[(b"c", 3), (b"d", 4)]),
        ],
    );
    let child_cid = store.put(DAG_CBOR, &child).unwrap();
    let map = root_over(&store, &child_cid);
    assert_eq!(map.iter().take(8).filter(Result::is_ok).count(), 8);
    assert_eq!(map.get(b"zzz").unwrap(), None);
}

#[test]
fn pointer_count_must_equal_the_bitfield_popcount() {
    let b = bucket(&[(b"a", 1)]);
    assert_err!(
        root_err(&node(&bits([0, 1]), std::slice::from_ref(&b)), 5),
        Error::MalformedNode(_)
    );
    assert_err!(
        root_err(&node(&bits([0]), &[b.clone(), b.clone()]), 5),
        Error::MalformedNode(_)
    );
    assert_err!(root_err(&node(&[], &[b]), 5), Error::MalformedNode(_));
}

#[test]
fn buckets_must_be_non_empty_within_size_and_strictly_sorted() {
    let at0 = |b: Vec<u8>| node(&bits([0]), &[b]);
    assert_err!(root_err(&at0(arr(&[])), 5), Error::MalformedNode(_));
    let four = bucket(&[(b"a", 1), (b"b", 2), (b"c", 3), (b"d", 4)]);
    assert_err!(root_err(&at0(four.clone()), 5), Error::MalformedNode(_));
    // …but a map configured with buckets of 4 accepts it.
    let store = MemoryBlockstore::new();
    let cid = store.put(DAG_CBOR, &at0(four)).unwrap();
    let wide = Config::builder().bucket_size(4).build().unwrap();
    let map: Hamt<_, u64> = Hamt::load_with_config(&store, &cid, wide).unwrap();
    assert_eq!(map.len().unwrap(), 4);

    assert_err!(
        root_err(&at0(bucket(&[(b"b", 1), (b"a", 2)])), 5),
        Error::MalformedNode(_)
    );
    assert_err!(
        root_err(&at0(bucket(&[(b"a", 1), (b"a", 2)])), 5),
        Error::MalformedNode(_)
    );
    assert_err!(
        root_err(&at0(bucket(&[(b"ab", 1), (b"a", 2)])), 5),
        Error::MalformedNode(_)
    );
    // Entries must be [bytes, value] pairs.
    let text_key = arr(&[arr(&[[hdr(3, 1), b"a".to_vec()].concat(), uint(1)])]);
    assert_err!(root_err(&at0(text_key), 5), Error::MalformedNode(_));
    let triple = arr(&[arr(&[bstr(b"a"), uint(1), uint(2)])]);
    assert_err!(root_err(&at0(triple), 5), Error::MalformedNode(_));
    let lone = arr(&[arr(&[bstr(b"a")])]);
    assert_err!(root_err(&at0(lone), 5), Error::MalformedNode(_));
}

#[test]
fn links_must_be_dag_cbor_cidv1_with_the_multibase_prefix() {
    let at0 = |p: Vec<u8>| node(&bits([0]), &[p]);
    let raw = cid_of(RAW, b"chunk");
    assert_err!(root_err(&at0(link(&raw)), 5), Error::MalformedNode(_));

    // CIDv0 (dag-pb, sha2-256).
    let v0 = Cid::try_from(&[&[0x12u8, 0x20][..], &[7u8; 32]].concat()[..]).unwrap();
    assert_eq!(u64::from(v0.version()), 0);
    assert_err!(root_err(&at0(link(&v0)), 5), Error::MalformedNode(_));

    let good = cid_of(DAG_CBOR, &node(&[], &[]));
    let no_prefix = [vec![0xd8, 0x2a], bstr(&good.to_bytes())].concat();
    assert_err!(root_err(&at0(no_prefix), 5), Error::MalformedNode(_));
    let bad_prefix = [
        vec![0xd8, 0x2a],
        bstr(&[&[1u8][..], &good.to_bytes()].concat()),
    ]
    .concat();
    assert_err!(root_err(&at0(bad_prefix), 5), Error::MalformedNode(_));
    let trailing = [
        vec![0xd8, 0x2a],
        bstr(&[&[0u8][..], &good.to_bytes(), &[0]].concat()),
    ]
    .concat();
    assert_err!(root_err(&at0(trailing), 5), Error::MalformedNode(_));
    let truncated = [
        vec![0xd8, 0x2a],
        bstr(&[&[0u8][..], &good.to_bytes()[..20]].concat()),
    ]
    .concat();
    assert_err!(root_err(&at0(truncated), 5), Error::MalformedNode(_));
    // Tag 43 instead of 42, and tag 42 over a non-byte-string.
    let tag43 = [
        vec![0xd8, 0x2b],
        bstr(&[&[0u8][..], &good.to_bytes()].concat()),
    ]
    .concat();
    assert_err!(root_err(&at0(tag43), 5), Error::MalformedNode(_));
    assert_err!(
        root_err(&at0(vec![0xd8, 0x2a, 0x01]), 5),
        Error::MalformedNode(_)
    );
    // A pointer that is neither a link nor a bucket.
    assert_err!(root_err(&at0(uint(1)), 5), Error::MalformedNode(_));
    assert_err!(root_err(&at0(bstr(b"x")), 5), Error::MalformedNode(_));
}

#[test]
fn a_link_with_an_unsupported_multihash_is_refused_when_followed() {
    // DAG-CBOR CIDv1 over a SHA3-256 multihash (0x16): well-formed, unverifiable.
    let sha3 = Cid::try_from(&[&[0x01u8, 0x71, 0x16, 0x20][..], &[9u8; 32]].concat()[..]).unwrap();
    let store = MemoryBlockstore::new();
    store.put_keyed(&sha3, &node(&[], &[])).unwrap();
    let map = root_over(&store, &sha3);
    let (iter, get) = child_errs(&map);
    assert_err!(
        iter,
        Error::Store(tau_ipld::Error::UnsupportedHash { code: 0x16, .. })
    );
    assert_err!(
        get,
        Error::Store(tau_ipld::Error::UnsupportedHash { code: 0x16, .. })
    );
}

#[test]
fn trailing_bytes_and_wrong_shapes_are_refused() {
    let good = node(&bits([0]), &[bucket(&[(b"a", 1)])]);
    assert_err!(
        root_err(&[good.clone(), vec![0x00]].concat(), 5),
        Error::MalformedNode(_)
    );
    assert_err!(
        root_err(&[good.clone(), good.clone()].concat(), 5),
        Error::MalformedNode(_)
    );
    assert_err!(
        root_err(&good[..good.len() - 1], 5),
        Error::MalformedNode(_)
    );
    assert_err!(root_err(&[], 5), Error::MalformedNode(_));
    // Not a 2-array.
    assert_err!(
        root_err(&arr(&[bstr(&[]), arr(&[]), arr(&[])]), 5),
        Error::MalformedNode(_)
    );
    assert_err!(root_err(&arr(&[bstr(&[])]), 5), Error::MalformedNode(_));
    assert_err!(root_err(&[0xa0], 5), Error::MalformedNode(_));
    // Fields of the wrong type.
    assert_err!(
        root_err(&arr(&[arr(&[]), arr(&[])]), 5),
        Error::MalformedNode(_)
    );
    assert_err!(
        root_err(&arr(&[bstr(&[]), bstr(&[])]), 5),
        Error::MalformedNode(_)
    );
}

#[test]
fn bitfields_must_be_trimmed_and_within_the_bit_width() {
    let b = bucket(&[(b"a", 1)]);
    // Leading zero byte: a second encoding of the set {0}.
    assert_err!(
        root_err(&node(&[0x00, 0x01], std::slice::from_ref(&b)), 5),
        Error::MalformedNode(_)
    );
    assert_err!(root_err(&node(&[0x00], &[]), 5), Error::MalformedNode(_));
    // Slot 40 at bit width 5 (32 slots); fine at bit width 6.
    let slot40 = node(&bits([40]), std::slice::from_ref(&b));
    assert_eq!(bits([40]), vec![0x01, 0, 0, 0, 0, 0]);
    assert_err!(root_err(&slot40, 5), Error::MalformedNode(_));
    assert!(load_root(&MemoryBlockstore::new(), &slot40, 6).is_ok());
    // Slot 255 is beyond every width but 8.
    let slot255 = node(&bits([255]), std::slice::from_ref(&b));
    for bw in 1..=7 {
        assert_err!(root_err(&slot255, bw), Error::MalformedNode(_));
    }
    assert!(load_root(&MemoryBlockstore::new(), &slot255, 8).is_ok());
    // 33 bytes.
    let long = [vec![0x01], vec![0; 32]].concat();
    assert_err!(root_err(&node(&long, &[b]), 8), Error::MalformedNode(_));
}

#[test]
fn non_root_children_must_be_non_empty_and_canonical() {
    let (iter, get) = child_err(&node(&[], &[]));
    assert_err!(iter, Error::MalformedNode(_));
    assert_err!(get, Error::MalformedNode(_));

    // Entries that would fit one bucket must not be a child node.
    for entries in [
        vec![bucket(&[(b"a", 1)])],
        vec![bucket(&[(b"a", 1), (b"b", 2), (b"c", 3)])],
        vec![bucket(&[(b"a", 1)]), bucket(&[(b"b", 2), (b"c", 3)])],
    ] {
        let slots = (0..entries.len() as u32).map(|i| i * 3);
        let (iter, get) = child_err(&node(&bits(slots), &entries));
        assert_err!(iter, Error::NonCanonical(_));
        assert_err!(get, Error::NonCanonical(_));
    }

    // The same one level further down, below a child holding only a link.
    let store = MemoryBlockstore::new();
    let small = store
        .put(DAG_CBOR, &node(&bits([4]), &[bucket(&[(b"a", 1)])]))
        .unwrap();
    let middle = store
        .put(DAG_CBOR, &node(&bits(0..32), &vec![link(&small); 32]))
        .unwrap();
    let (iter, get) = child_errs(&root_over(&store, &middle));
    assert_err!(iter, Error::NonCanonical(_));
    assert_err!(get, Error::NonCanonical(_));
}

#[test]
fn non_canonical_cbor_is_refused() {
    let b = bucket(&[(b"a", 1)]);
    // Node array header 0x98 0x02 instead of 0x82.
    let long_hdr = [
        vec![0x98, 0x02],
        bstr(&bits([0])),
        arr(std::slice::from_ref(&b)),
    ]
    .concat();
    assert_err!(root_err(&long_hdr, 5), Error::MalformedNode(_));
    // Bitfield length 0x58 0x01 instead of 0x41.
    let long_bits = [vec![0x82, 0x58, 0x01, 0x01], arr(std::slice::from_ref(&b))].concat();
    assert_err!(root_err(&long_bits, 5), Error::MalformedNode(_));
    // Pointers array 0x98 0x01 instead of 0x81.
    let long_ptrs = [vec![0x82], bstr(&bits([0])), vec![0x98, 0x01], b.clone()].concat();
    assert_err!(root_err(&long_ptrs, 5), Error::MalformedNode(_));
    // Value 5 as 0x18 0x05, and 1000 as a 4-byte integer.
    let at0 = |v: Vec<u8>| node(&bits([0]), &[arr(&[arr(&[bstr(b"a"), v])])]);
    assert_err!(root_err(&at0(vec![0x18, 0x05]), 5), Error::MalformedNode(_));
    assert_err!(
        root_err(&at0(vec![0x1a, 0, 0, 0x03, 0xe8]), 5),
        Error::MalformedNode(_)
    );
    assert!(load_root(&MemoryBlockstore::new(), &at0(vec![0x19, 0x03, 0xe8]), 5).is_ok());
    // Key length 0x58 0x01.
    let long_key = node(
        &bits([0]),
        &[arr(&[arr(&[vec![0x58, 0x01, b'a'], uint(1)])])],
    );
    assert_err!(root_err(&long_key, 5), Error::MalformedNode(_));
    // Values that are not DAG-CBOR: half float, undefined, tag 1, unsorted map, bad UTF-8.
    for v in [
        vec![0xf9, 0x3c, 0x00],
        vec![0xf7],
        vec![0xc1, 0x00],
        vec![0xa2, 0x61, b'b', 0x00, 0x61, b'a', 0x00],
        vec![0x62, 0xff, 0xfe],
    ] {
        assert_err!(root_err(&at0(v), 5), Error::MalformedNode(_));
    }
    // Values nested very deeply.
    let deep = [vec![0x81; 100], vec![0x00]].concat();
    assert_err!(root_err(&at0(deep), 5), Error::MalformedNode(_));
}

#[test]
fn indefinite_lengths_are_refused() {
    let b = bucket(&[(b"a", 1)]);
    // Indefinite node array.
    let node_indef = [
        vec![0x9f],
        bstr(&bits([0])),
        arr(std::slice::from_ref(&b)),
        vec![0xff],
    ]
    .concat();
    assert_err!(root_err(&node_indef, 5), Error::MalformedNode(_));
    // Indefinite pointers array.
    let ptrs_indef = [
        vec![0x82],
        bstr(&bits([0])),
        vec![0x9f],
        b.clone(),
        vec![0xff],
    ]
    .concat();
    assert_err!(root_err(&ptrs_indef, 5), Error::MalformedNode(_));
    // Indefinite bucket, and an indefinite (chunked) bitfield byte string.
    let bucket_indef = [
        vec![0x82],
        bstr(&bits([0])),
        vec![0x81, 0x9f],
        entry(b"a", 1),
        vec![0xff],
    ]
    .concat();
    assert_err!(root_err(&bucket_indef, 5), Error::MalformedNode(_));
    let bits_indef = [vec![0x82, 0x5f, 0x41, 0x01, 0xff], arr(&[b])].concat();
    assert_err!(root_err(&bits_indef, 5), Error::MalformedNode(_));
    // Indefinite value.
    let value_indef = node(
        &bits([0]),
        &[arr(&[arr(&[bstr(b"a"), vec![0x9f, 0x01, 0xff]])])],
    );
    assert_err!(root_err(&value_indef, 5), Error::MalformedNode(_));
}

/// Stores a chain root → … → `levels` nodes below it, each linking to the next
/// from every slot of its level, ending in a node of two buckets. Returns the root.
fn chain(store: &MemoryBlockstore, bw: u32, levels: u32, all_slots: bool) -> Cid {
    let last = node(
        &bits([0, 1]),
        &[
            bucket(&[(b"a", 1), (b"b", 2)]),
            bucket(&[(b"c", 3), (b"d", 4)]),
        ],
    );
    let mut next = store.put(DAG_CBOR, &last).unwrap();
    for depth in (0..levels).rev() {
        let width = bw.min(256u32.saturating_sub(depth * bw));
        let slots = if all_slots { 1u32 << width } else { 1 };
        let n = node(&bits(0..slots), &vec![link(&next); slots as usize]);
        next = store.put(DAG_CBOR, &n).unwrap();
    }
    next
}

#[test]
fn nodes_deeper_than_the_key_hash_are_refused() {
    for bw in 1..=8u32 {
        // Depths 0..=max are addressable: at bw 5 the last level (51) has 1 bit.
        let max_depth = 255 / bw;
        let store = MemoryBlockstore::new();

        // Positive control: the deepest legal node is read (one path only).
        let ok = chain(&store, bw, max_depth, false);
        let map: Hamt<_, u64> = Hamt::load_with_config(&store, &ok, config(bw)).unwrap();
        let entries: Vec<_> = map.iter().collect::<tau_hamt::Result<_>>().unwrap();
        assert_eq!(entries.len(), 4, "bw {bw}");

        // One level more: refused with a typed error, on iteration and on lookup,
        // never a stack overflow.
        let too_deep = chain(&store, bw, max_depth + 1, true);
        let map: Hamt<_, u64> = Hamt::load_with_config(&store, &too_deep, config(bw)).unwrap();
        let iter = map
            .iter()
            .find_map(Result::err)
            .expect("iteration accepted it");
        assert_err!(iter, Error::MalformedNode(_) | Error::MaxDepth);
        for k in [&b"a"[..], b"b", b"zz", b""] {
            assert_err!(
                map.get(k).unwrap_err(),
                Error::MalformedNode(_) | Error::MaxDepth
            );
        }
        let mut map = map;
        assert_err!(
            map.delete(b"a").unwrap_err(),
            Error::MalformedNode(_) | Error::MaxDepth
        );
        // bw 1: see `set_through_the_deepest_tree_at_bit_width_1_fits_a_2_mib_stack`.
        if bw > 1 {
            assert_err!(
                map.set(b"new", 1).unwrap_err(),
                Error::MalformedNode(_) | Error::MaxDepth
            );
        }
        let cursor = tau_hamt::Cursor::after(b"a".to_vec());
        if let Ok(it) = map.iter_from(&cursor) {
            assert!(it.take(10).any(|e| e.is_err()));
        }
    }
}

/// At bit width 1 a legal tree is up to 256 levels deep, and `set` recurses once
/// per level. Anyone can hand us such a root, so a `set` through it must fit the
/// 2 MiB stack of a spawned thread (test threads, tokio workers) even in a debug
/// build. (At 475f344 a debug `Node::put` frame took 8–10 KiB and this aborted the
/// process; with the boxed error variants it needs under 1 MiB.)
#[test]
fn set_through_the_deepest_tree_at_bit_width_1_fits_a_2_mib_stack() {
    let outcome = std::thread::Builder::new()
        .stack_size(2 << 20)
        .spawn(|| {
            let store = MemoryBlockstore::new();
            // Legal depth: the set succeeds.
            let legal = chain(&store, 1, 255, true);
            let mut map: Hamt<_, u64> = Hamt::load_with_config(&store, &legal, config(1)).unwrap();
            assert_eq!(map.set(b"new", 1).unwrap(), None);
            // One level more: a typed error.
            let too_deep = chain(&store, 1, 256, true);
            let mut map: Hamt<_, u64> =
                Hamt::load_with_config(&store, &too_deep, config(1)).unwrap();
            assert_err!(
                map.set(b"new", 1).unwrap_err(),
                Error::MalformedNode(_) | Error::MaxDepth
            );
        })
        .unwrap()
        .join();
    assert!(outcome.is_ok());
}

#[test]
fn blocks_that_do_not_match_their_cid_are_refused() {
    let good = node(&bits([0]), &[bucket(&[(b"a", 1)])]);
    let other = node(&bits([1]), &[bucket(&[(b"b", 2)])]);

    // As the root.
    let store = MemoryBlockstore::new();
    let lie = cid_of(DAG_CBOR, &other);
    store.put_keyed(&lie, &good).unwrap();
    assert_err!(
        Hamt::<_, u64>::load_with_config(&store, &lie, config(5)).unwrap_err(),
        Error::Store(tau_ipld::Error::CidMismatch { cid }) if Cid::clone(cid) == lie
    );

    // As a child.
    let child = node(
        &bits([1, 7]),
        &[
            bucket(&[(b"a", 1), (b"b", 2)]),
            bucket(&[(b"c", 3), (b"d", 4)]),
        ],
    );
    let other_child = node(
        &bits([2, 7]),
        &[
            bucket(&[(b"a", 1), (b"b", 2)]),
            bucket(&[(b"c", 3), (b"d", 4)]),
        ],
    );
    let lie = cid_of(DAG_CBOR, &other_child);
    store.put_keyed(&lie, &child).unwrap();
    let (iter, get) = child_errs(&root_over(&store, &lie));
    assert_err!(iter, Error::Store(tau_ipld::Error::CidMismatch { .. }));
    assert_err!(get, Error::Store(tau_ipld::Error::CidMismatch { .. }));

    // In a real map: swap one child's bytes for another's.
    let real_store = MemoryBlockstore::new();
    let base = base();
    let (victim, _) = base.nodes.iter().find(|(c, _)| *c != base.root).unwrap();
    let (_, impostor) = base
        .nodes
        .iter()
        .find(|(c, _)| c != victim && *c != base.root)
        .unwrap();
    for (c, b) in &base.nodes {
        real_store
            .put_keyed(c, if c == victim { impostor } else { b })
            .unwrap();
    }
    let map: Hamt<_, u64> = Hamt::load_with_config(&real_store, &base.root, config(5)).unwrap();
    assert_err!(map.len().unwrap_err(), Error::Store(tau_ipld::Error::CidMismatch { cid }) if Cid::clone(cid) == *victim);
}

// ------------------------------------------------------------------ fuzzing

/// A flushed map of 2,000 keys at bit width 5 and all its nodes.
struct Base {
    store: MemoryBlockstore,
    root: Cid,
    /// Every node, root first.
    nodes: Vec<(Cid, Vec<u8>)>,
    /// Child CID → (parent CID, offset of the child's CID bytes in the parent).
    parent: HashMap<Cid, (Cid, usize)>,
}

const BASE_KEYS: u32 = 2_000;

fn base_key(i: u32) -> Vec<u8> {
    format!("k{i}").into_bytes()
}

/// Offsets of the CIDs linked from a node: `d8 2a 58 27 00` then 38 CID bytes.
fn links_in(bytes: &[u8]) -> Vec<(Cid, usize)> {
    let mut out = Vec::new();
    let mut i = 0;
    while i + 43 <= bytes.len() {
        if bytes[i..i + 5] == [0xd8, 0x2a, 0x58, 0x27, 0x00] {
            out.push((Cid::try_from(&bytes[i + 5..i + 43]).unwrap(), i + 5));
            i += 43;
        } else {
            i += 1;
        }
    }
    out
}

fn base() -> &'static Base {
    static BASE: OnceLock<Base> = OnceLock::new();
    BASE.get_or_init(|| {
        let store = MemoryBlockstore::new();
        let mut map: Hamt<_, u64> = Hamt::new_with_config(&store, config(5));
        for i in 0..BASE_KEYS {
            map.set(base_key(i), u64::from(i)).unwrap();
        }
        let root = map.flush().unwrap();
        let mut nodes = Vec::new();
        let mut parent = HashMap::new();
        let mut todo = vec![root];
        while let Some(c) = todo.pop() {
            let bytes = store.get(&c).unwrap().unwrap();
            for (child, at) in links_in(&bytes) {
                parent.insert(child, (c, at));
                todo.push(child);
            }
            nodes.push((c, bytes));
        }
        assert!(nodes.len() > 50, "{} nodes", nodes.len());
        Base {
            store,
            root,
            nodes,
            parent,
        }
    })
}

/// Replaces node `cid` by `bytes` in place: rewrites the links up to the root
/// (blake2b-256 CIDs keep their length) and stores every new block. Returns the new root.
fn replace_in_tree(base: &Base, cid: Cid, bytes: Vec<u8>) -> Cid {
    let mut new_cid = base.store.put(DAG_CBOR, &bytes).unwrap();
    let mut current = cid;
    while let Some(&(parent, at)) = base.parent.get(&current) {
        let mut pbytes = base.store.get(&parent).unwrap().unwrap();
        pbytes[at..at + 38].copy_from_slice(&new_cid.to_bytes());
        new_cid = base.store.put(DAG_CBOR, &pbytes).unwrap();
        current = parent;
    }
    new_cid
}

#[derive(Clone, Debug)]
enum Mutation {
    Flip(usize, u8),
    Set(usize, u8),
    Insert(usize, u8),
    Delete(usize),
    Truncate(usize),
}

fn mutate(bytes: &mut Vec<u8>, m: &Mutation) {
    let len = bytes.len();
    match *m {
        Mutation::Flip(at, bit) if len > 0 => bytes[at % len] ^= 1 << (bit % 8),
        Mutation::Set(at, b) if len > 0 => bytes[at % len] = b,
        Mutation::Insert(at, b) => bytes.insert(at % (len + 1), b),
        Mutation::Delete(at) if len > 0 => {
            bytes.remove(at % len);
        }
        Mutation::Truncate(at) if len > 0 => bytes.truncate(at % len),
        _ => {}
    }
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        4 => (any::<usize>(), any::<u8>()).prop_map(|(a, b)| Mutation::Flip(a, b)),
        3 => (any::<usize>(), any::<u8>()).prop_map(|(a, b)| Mutation::Set(a, b)),
        2 => (any::<usize>(), any::<u8>()).prop_map(|(a, b)| Mutation::Insert(a, b)),
        2 => any::<usize>().prop_map(Mutation::Delete),
        1 => any::<usize>().prop_map(Mutation::Truncate),
    ]
}

/// Everything a reader can do with a map; only `Result`s, never a panic.
fn exercise<BS: Blockstore>(map: &mut Hamt<BS, u64>, probe_keys: impl Iterator<Item = Vec<u8>>) {
    let mut last = None;
    for e in map.iter() {
        match e {
            Ok((k, _)) => last = Some(k.to_vec()),
            Err(_) => break,
        }
    }
    let _ = map.len();
    for k in probe_keys {
        let _ = map.get(&k);
        let _ = map.get_encoded(&k);
    }
    if let Some(k) = last {
        if let Ok(it) = map.iter_from(&tau_hamt::Cursor::after(k)) {
            for e in it.take(50) {
                if e.is_err() {
                    break;
                }
            }
        }
    }
    // Writes through corrupted nodes must fail cleanly as well.
    let _ = map.set(base_key(1), 11);
    let _ = map.delete(base_key(2));
    let _ = map.set(b"fresh key", 1);
    let _ = map.flush();
}

proptest! {
    #![proptest_config(proptest_config(1024))]

    /// Arbitrary bytes as a root, at every bit width.
    #[test]
    fn arbitrary_bytes_never_panic(
        bytes in proptest::collection::vec(any::<u8>(), 0..600),
        bw in 1u32..=8,
    ) {
        let store = MemoryBlockstore::new();
        if let Ok(mut map) = load_root(&store, &bytes, bw) {
            exercise(&mut map, (0..20).map(base_key));
        }
    }

    /// Arbitrary bytes that start like a node (`[bitfield, [` …), to get past the header.
    #[test]
    fn arbitrary_node_bodies_never_panic(
        bitfield in proptest::collection::vec(any::<u8>(), 0..5),
        count in 0u8..6,
        body in proptest::collection::vec(any::<u8>(), 0..300),
        bw in 1u32..=8,
    ) {
        let bytes = [vec![0x82], bstr(&bitfield), hdr(4, u64::from(count)), body].concat();
        let store = MemoryBlockstore::new();
        if let Ok(mut map) = load_root(&store, &bytes, bw) {
            exercise(&mut map, (0..20).map(base_key));
        }
    }
}

proptest! {
    #![proptest_config(proptest_config(512))]

    /// Corrupted real nodes, loaded as the root or put back in place in the tree,
    /// read fully and written through: errors only.
    #[test]
    fn corrupted_real_nodes_never_panic(
        which in any::<prop::sample::Index>(),
        mutations in proptest::collection::vec(mutation(), 1..4),
        bw in prop_oneof![4 => Just(5u32), 1 => 1u32..=8],
    ) {
        let base = base();
        let (cid, original) = &base.nodes[which.index(base.nodes.len())];
        let mut bytes = original.clone();
        for m in &mutations {
            mutate(&mut bytes, m);
        }
        let probes = || (0..BASE_KEYS).step_by(7).map(base_key);

        let as_root = base.store.put(DAG_CBOR, &bytes).unwrap();
        if let Ok(mut map) = Hamt::<_, u64>::load_with_config(&base.store, &as_root, config(bw)) {
            exercise(&mut map, probes());
        }

        let root = replace_in_tree(base, *cid, bytes);
        if let Ok(mut map) = Hamt::<_, u64>::load_with_config(&base.store, &root, config(bw)) {
            exercise(&mut map, probes());
        }
    }
}
