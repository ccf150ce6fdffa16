//! Bounded work against hostile section maps: a map whose nodes link the
//! same child twice (a diamond: exponentially many paths), a map holding
//! more sections than its manifest declares, and a map node that is not a
//! HAMT node. Each is refused after a few block reads, with nothing of the
//! bad structure stored.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use ipld_core::ipld::Ipld;
use tau_attach::{download, section_key, Config, DownloadOptions, Error, Kind, Manifest, Source};
use tau_hamt::Hamt;
use tau_ipld::block::{DAG_CBOR, RAW};
use tau_ipld::{Blockstore, Cid, MemoryBlockstore};

/// Reads (store) and fetches (peer) allowed before each side plays dead:
/// enough for any honest walk here, far too few for an exponential one.
const BUDGET: u64 = 10_000;

/// A store counting its reads; past [`BUDGET`] it claims to hold nothing.
#[derive(Default)]
struct Counting {
    inner: MemoryBlockstore,
    reads: AtomicU64,
}

impl Blockstore for Counting {
    fn get_raw(&self, cid: &Cid) -> tau_ipld::Result<Option<Vec<u8>>> {
        if self.reads.fetch_add(1, Ordering::SeqCst) >= BUDGET {
            return Ok(None);
        }
        self.inner.get_raw(cid)
    }
    fn put_keyed(&self, cid: &Cid, block: &[u8]) -> tau_ipld::Result<()> {
        self.inner.put_keyed(cid, block)
    }
    fn has(&self, cid: &Cid) -> tau_ipld::Result<bool> {
        self.inner.has(cid)
    }
}

/// A peer serving from a store, counting its fetches; past [`BUDGET`] it fails.
struct Peer<'a> {
    store: &'a MemoryBlockstore,
    fetches: AtomicU64,
}

impl Source for Peer<'_> {
    fn name(&self) -> String {
        "peer".into()
    }
    fn fetch(&self, cid: &Cid) -> Result<Vec<u8>, String> {
        if self.fetches.fetch_add(1, Ordering::SeqCst) >= BUDGET {
            return Err("budget spent".into());
        }
        self.store
            .get(cid)
            .map_err(|e| e.to_string())?
            .ok_or_else(|| "not found".into())
    }
}

fn config() -> Config {
    Config::builder().section_size(1024).build().unwrap()
}

/// Stores a manifest of `sections` sections of 1 KiB whose map is `map`.
fn manifest(store: &MemoryBlockstore, sections: u64, map: Cid) -> Cid {
    let manifest = Manifest {
        version: tau_attach::MANIFEST_VERSION,
        name: "x".into(),
        kind: Kind::File,
        total_size: sections * 1024,
        section_size: 1024,
        section_count: sections,
        content_hash: tau_attach::ContentHash([0; 32]),
        sections: map,
    };
    store.put(DAG_CBOR, &manifest.encode().unwrap()).unwrap()
}

/// A HAMT node `[bitfield, pointers]` with one set bit per pointer.
fn node(pointers: Vec<Ipld>) -> Vec<u8> {
    let bits: u32 = (1u32 << pointers.len()) - 1;
    let bitfield = bits.to_be_bytes().into_iter().skip_while(|b| *b == 0);
    serde_ipld_dagcbor::to_vec(&Ipld::List(vec![
        Ipld::Bytes(bitfield.collect()),
        Ipld::List(pointers),
    ]))
    .unwrap()
}

/// Downloads `root` from `host` into a counting store: the result, the
/// store (what it kept) and how many block reads and fetches it took.
fn fetch(host: &MemoryBlockstore, root: &Cid) -> (Result<u64, Error>, Counting, u64) {
    let mine = Counting::default();
    let peer = Peer {
        store: host,
        fetches: AtomicU64::new(0),
    };
    let options = DownloadOptions {
        per_peer: 1,
        backoff: Duration::from_millis(1),
        max_backoff: Duration::from_millis(1),
        max_rounds: Some(1),
        ..DownloadOptions::default()
    };
    let result = download(
        &mine,
        root,
        &[&peer],
        &config(),
        &options,
        &AtomicBool::new(false),
        &|_| {},
    )
    .map(|r| r.sections_fetched);
    let work = mine.reads.load(Ordering::SeqCst) + peer.fetches.load(Ordering::SeqCst);
    (result, mine, work)
}

#[test]
fn a_diamond_section_map_is_refused_after_a_few_reads() {
    let host = MemoryBlockstore::new();
    // The bottom: a leaf of four real sections (more than one bucket holds).
    let chunks: Vec<Cid> = (0..4u64)
        .map(|i| host.put(RAW, &[i as u8; 1024]).unwrap())
        .collect();
    let entry = |i: u64| {
        Ipld::List(vec![
            Ipld::Bytes(section_key(i).to_vec()),
            Ipld::Link(chunks[i as usize]),
        ])
    };
    let mut top = host
        .put(
            DAG_CBOR,
            &node(vec![
                Ipld::List(vec![entry(0), entry(1)]),
                Ipld::List(vec![entry(2), entry(3)]),
            ]),
        )
        .unwrap();
    // Forty levels, each linking the one below twice: 2^40 paths to walk.
    for _ in 0..40 {
        top = host
            .put(DAG_CBOR, &node(vec![Ipld::Link(top), Ipld::Link(top)]))
            .unwrap();
    }
    let root = manifest(&host, 4, top);
    let (result, _, work) = fetch(&host, &root);
    assert!(matches!(result, Err(Error::SectionMap(_))), "{result:?}");
    // Each of the 42 distinct blocks read and fetched at most once, not 2^40.
    assert!(work <= 2 * 42, "{work} block reads and fetches");
}

#[test]
fn a_map_larger_than_declared_or_not_a_hamt_is_refused_and_not_stored() {
    let host = MemoryBlockstore::new();
    // A real section map of 500 sections under a manifest declaring 2.
    let mut map: Hamt<_, Cid> = Hamt::new(&host);
    for i in 0..500u64 {
        // Sections as long as the manifest below declares (1024 bytes).
        let mut data = vec![0u8; 1024];
        data[..8].copy_from_slice(&i.to_be_bytes());
        let chunk = host.put(RAW, &data).unwrap();
        map.set(section_key(i), chunk).unwrap();
    }
    let big = map.flush().unwrap();
    let root = manifest(&host, 2, big);
    let (result, mine, work) = fetch(&host, &root);
    assert!(matches!(result, Err(Error::SectionMap(_))), "{result:?}");
    assert!(work <= 20, "{work} block reads and fetches");
    assert!(mine.inner.has(&root).unwrap(), "the manifest is fine");
    assert!(!mine.inner.has(&big).unwrap(), "the bad root was stored");

    // The same map declared in full downloads.
    let root = manifest(&host, 500, big);
    let (result, mine, _) = fetch(&host, &root);
    assert_eq!(result.unwrap(), 500);
    assert!(mine.inner.has(&big).unwrap());

    // A DAG-CBOR block that is no HAMT node.
    let junk = host
        .put(
            DAG_CBOR,
            &serde_ipld_dagcbor::to_vec(&vec![1u64, 2, 3]).unwrap(),
        )
        .unwrap();
    let root = manifest(&host, 2, junk);
    let (result, mine, _) = fetch(&host, &root);
    assert!(matches!(result, Err(Error::SectionMap(_))), "{result:?}");
    assert!(
        !mine.inner.has(&junk).unwrap(),
        "a non-HAMT block was stored"
    );
}

#[test]
fn sections_longer_than_the_manifest_declares_are_never_stored() {
    let host = MemoryBlockstore::new();
    // Two sections of 4 KiB each under a manifest declaring 1 KiB each: the
    // blocks hash right (the publisher made them), but a download would
    // write four times what the manifest, and a budget, allow.
    let mut map: Hamt<_, Cid> = Hamt::new(&host);
    let mut chunks = Vec::new();
    for i in 0..2u64 {
        let chunk = host.put(RAW, &[i as u8 + 1; 4096]).unwrap();
        chunks.push(chunk);
        map.set(section_key(i), chunk).unwrap();
    }
    let root = manifest(&host, 2, map.flush().unwrap());
    let (result, mine, _) = fetch(&host, &root);
    assert!(result.is_err(), "{result:?}");
    for chunk in chunks {
        assert!(
            !mine.inner.has(&chunk).unwrap(),
            "an oversized section was stored"
        );
    }
}
