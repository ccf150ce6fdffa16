//! A garbage collection killed with SIGKILL at a random point loses nothing
//! reachable: the test re-runs its own binary as a child that collects a big
//! store in a loop (while it keeps moving its root to new data), kills it,
//! reopens the store and checks every block reachable from the roots.

#![cfg(feature = "redb")]

use std::collections::HashSet;
use std::hash::{BuildHasher, Hasher};
use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use tau_ipld::block::{links, DAG_CBOR, RAW};
use tau_ipld::{Blockstore, Cid, RedbBlockstore};

/// Set in the child: the store it collects.
const CHILD_ENV: &str = "TAU_HAMT_GC_KILL_STORE";
const ROOT: &str = "head";

/// Leaves under each node of the tree.
const FANOUT: usize = 64;

fn random_u64() -> u64 {
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u64(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(0),
    );
    h.finish()
}

/// A DAG-CBOR node: a tag and links.
fn node_bytes(tag: u64, children: &[Cid]) -> Vec<u8> {
    #[derive(serde::Serialize)]
    struct Node(u64, Vec<Cid>);
    serde_ipld_dagcbor::to_vec(&Node(tag, children.to_vec())).unwrap()
}

/// A two-level tree over `leaves` fresh raw blocks tagged `tag`, plus a link
/// to `shared` (a subtree of the previous version, so versions share data).
fn version(tag: u64, leaves: usize, shared: Option<Cid>) -> (Cid, Vec<(Cid, Vec<u8>)>) {
    let mut blocks = Vec::new();
    let mut children = Vec::new();
    for chunk in 0..leaves.div_ceil(FANOUT) {
        let mut group = Vec::new();
        for i in 0..FANOUT.min(leaves - chunk * FANOUT) {
            let mut data = format!("leaf {tag} {chunk} {i} ").into_bytes();
            data.resize(200, b'.');
            let cid = tau_ipld::block::cid_of(RAW, &data);
            group.push(cid);
            blocks.push((cid, data));
        }
        let bytes = node_bytes(tag, &group);
        let cid = tau_ipld::block::cid_of(DAG_CBOR, &bytes);
        children.push(cid);
        blocks.push((cid, bytes));
    }
    children.extend(shared);
    let bytes = node_bytes(tag, &children);
    let root = tau_ipld::block::cid_of(DAG_CBOR, &bytes);
    blocks.push((root, bytes));
    (root, blocks)
}

/// Garbage: raw blocks nothing links to.
fn garbage(tag: u64, n: usize) -> Vec<(Cid, Vec<u8>)> {
    (0..n)
        .map(|i| {
            let mut data = format!("garbage {tag} {i} ").into_bytes();
            data.resize(300, b'#');
            (tau_ipld::block::cid_of(RAW, &data), data)
        })
        .collect()
}

/// Every block reachable from the roots is present, matches its CID and
/// parses; returns how many.
fn check_reachable(store: &RedbBlockstore) -> usize {
    let roots = store.roots().unwrap();
    assert!(!roots.is_empty());
    let mut seen = HashSet::new();
    let mut stack: Vec<Cid> = roots.iter().map(|(_, cid)| *cid).collect();
    while let Some(cid) = stack.pop() {
        if !seen.insert(cid) {
            continue;
        }
        let data = store
            .get(&cid)
            .unwrap()
            .unwrap_or_else(|| panic!("reachable block {cid} lost"));
        stack.extend(links(&cid, &data).unwrap());
    }
    seen.len()
}

/// The child: moves the root to a new version, adds garbage and collects,
/// over and over, until it is killed.
fn child(path: &Path) -> ! {
    let store = RedbBlockstore::open(path).unwrap();
    let mut tag = 1_000_000 + (random_u64() % 1_000_000) * 1000;
    loop {
        tag += 1;
        // The previous version's first subtree stays; the rest of it
        // becomes garbage once the root moves.
        let previous = store.root(ROOT).unwrap().unwrap();
        let data = store.get(&previous).unwrap().unwrap();
        let shared = links(&previous, &data).unwrap().first().copied();
        let (root, blocks) = version(tag, 2 * FANOUT, shared);
        store
            .put_many_keyed_with_roots(&blocks, &[(ROOT, root)])
            .unwrap();
        store.put_many_keyed(&garbage(tag, 500)).unwrap();
        let roots: Vec<Cid> = store.roots().unwrap().into_iter().map(|(_, c)| c).collect();
        let mut collection = store.begin_collection().unwrap();
        collection.mark(&roots, &HashSet::new()).unwrap();
        // Tells the parent the sweep starts (it kills at random from here).
        println!("sweep");
        std::io::stdout().flush().unwrap();
        // Small batches: many commits, so that kills land inside sweeps.
        collection.sweep(32).unwrap();
    }
}

#[test]
fn gc_killed_at_a_random_point_loses_nothing_reachable() {
    if let Ok(path) = std::env::var(CHILD_ENV) {
        child(Path::new(&path));
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("big.redb");
    {
        // A big store: 20,000 reachable leaves, 30,000 garbage blocks.
        let store = RedbBlockstore::open(&path).unwrap();
        let (root, blocks) = version(0, 20_000, None);
        // "big" stays; the child moves ROOT on from it.
        store
            .put_many_keyed_with_roots(&blocks, &[(ROOT, root), ("big", root)])
            .unwrap();
        store.put_many_keyed(&garbage(0, 30_000)).unwrap();
        assert!(check_reachable(&store) > 20_000);
    }
    let exe = std::env::current_exe().unwrap();
    for round in 0..4u64 {
        // Fresh garbage each round, so that the child's first sweep is long.
        RedbBlockstore::open(&path)
            .unwrap()
            .put_many_keyed(&garbage(1 + round, 10_000))
            .unwrap();
        let mut child = Command::new(&exe)
            .args([
                "--exact",
                "gc_killed_at_a_random_point_loses_nothing_reachable",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(CHILD_ENV, &path)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        // Wait for the child's first sweep, then kill it at a random point:
        // mostly inside that sweep (it deletes the round's garbage), else in
        // a later iteration.
        let stdout = child.stdout.take().unwrap();
        let sweeps = 1;
        let mut lines = BufReader::new(stdout).lines();
        let mut seen = 0;
        while seen < sweeps {
            match lines.next() {
                // libtest may print "test … ... " on the same line first.
                Some(Ok(line)) if line.ends_with("sweep") => seen += 1,
                Some(Ok(_)) => {}
                _ => panic!("round {round}: the child ended before its sweep"),
            }
        }
        std::thread::sleep(Duration::from_millis(random_u64() % 1500));
        // std's kill is SIGKILL on Unix.
        child.kill().unwrap();
        let status = child.wait().unwrap();
        assert!(
            !status.success(),
            "round {round}: the child stopped by itself"
        );

        let store = RedbBlockstore::open(&path).unwrap();
        let reachable = check_reachable(&store);
        let total = store.block_count().unwrap();
        eprintln!("round {round}: {reachable} reachable of {total} blocks");
        assert!(reachable as u64 <= total);
    }
}
