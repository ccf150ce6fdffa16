//! A replica kept in a redb store survives crashes (issue #14, point 4).
//!
//! A network's units go to a persistent replica that crashes at seeded
//! random points and is reopened from its directory; once it has every
//! unit it must equal a replica that never stopped: the same DAG order,
//! main chain, stable point, stable units per MCI, state digest after every
//! stable MCI, ledger digest and rounds. Each reopened replica must also hold
//! everything accepted before the crash (the state after the last call that
//! returned, or after the one the crash interrupted).
//!
//! The crashes are real: a child process (this test binary, re-run with
//! [`CHILD_DIR`] set) feeds the units and is killed with SIGKILL
//! (`Child::kill`) while it works. The in-process test closes the store at
//! every crash point instead (redb refuses a second handle on a file this
//! process still holds, so a leaked handle cannot be reopened here).

#![cfg(feature = "redb")]

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};

use cid::Cid;
use tau_dag::VerifiedUnit;
use tau_ipld::{Blockstore, MemoryBlockstore, RedbBlockstore};
use tau_trustme::persist::{LogSegment, ROOT};
use tau_trustme::sim::{Sim, SimConfig};
use tau_trustme::{Error, Replica, RoundInfo};

mod common;

/// Set in a child process: the directory of the replica it feeds.
const CHILD_DIR: &str = "TAU_TRUSTME_RESTART_CHILD_DIR";
/// Set in a child process: the simulator seed.
const CHILD_SEED: &str = "TAU_TRUSTME_RESTART_CHILD_SEED";

/// A finished network run: what a fresh replica needs and every unit.
struct Run {
    sim: Sim,
    genesis: VerifiedUnit,
    units: Vec<VerifiedUnit>,
}

fn run(seed: u64) -> Run {
    let mut sim = Sim::new(SimConfig::devnet(6, 3, seed)).unwrap();
    sim.run().unwrap();
    let genesis = sim.genesis_unit().unwrap();
    let units = sim
        .units_in_creation_order()
        .into_iter()
        .filter(|u| u.id() != genesis.id())
        .collect();
    Run {
        sim,
        genesis,
        units,
    }
}

/// Builds a replica with `run`'s parameters and genesis through `make`
/// (`Replica::new`, `create` or `open` have the same arguments).
macro_rules! replica {
    ($make:path, $store:expr, $run:expr) => {{
        let r = $run.sim.replica(0);
        $make(
            $store,
            r.chain().dag().params().clone(),
            r.chain().params().clone(),
            r.rounds().params().clone(),
            r.rounds().genesis().clone(),
            $run.genesis.clone(),
        )
    }};
}

fn path(dir: &Path) -> std::path::PathBuf {
    dir.join("replica.redb")
}

/// Opens the replica in `dir`, or creates it there.
fn open_or_create(dir: &Path, run: &Run) -> Replica<RedbBlockstore> {
    let store = RedbBlockstore::open(path(dir)).unwrap();
    if store.root(ROOT).unwrap().is_some() {
        replica!(Replica::open, store, run).unwrap()
    } else {
        replica!(Replica::create, store, run).unwrap()
    }
}

/// Everything a replica decided, by unit id (unit numbers are local).
#[derive(Debug, PartialEq)]
struct State {
    dag: Vec<(Cid, Option<u64>)>,
    main_chain: Vec<Cid>,
    last_stable: u64,
    stable: Vec<(Vec<Cid>, Option<[u8; 32]>)>,
    ledger: [u8; 32],
    rounds: Vec<RoundInfo>,
}

fn state<BS: Blockstore>(r: &Replica<BS>) -> State {
    let chain = r.chain();
    let dag = chain.dag();
    let id = |n: u32| dag.id(n).unwrap();
    let last_stable = chain.last_stable_mci();
    State {
        dag: (0..dag.len() as u32)
            .map(|n| (id(n), r.unit_round(n)))
            .collect(),
        main_chain: chain.main_chain().iter().map(|&n| id(n)).collect(),
        last_stable,
        stable: (1..=last_stable)
            .map(|m| {
                let units = chain.stable_units(m).unwrap().iter().map(|&n| id(n));
                (units.collect(), r.rounds().state_digest(m))
            })
            .collect(),
        ledger: r.rounds().ledger().digest(),
        rounds: r.rounds().all().to_vec(),
    }
}

/// Feeds every unit of `run` in order (units already in the DAG are
/// refused as duplicates and change nothing).
fn feed_all<BS: Blockstore>(r: &mut Replica<BS>, run: &Run) {
    for u in &run.units {
        let _ = r.receive(u.clone());
    }
}

/// The replica that never stopped, and its state after each unit.
fn reference(run: &Run) -> (State, Vec<State>) {
    let mut r = replica!(Replica::new, MemoryBlockstore::new(), run).unwrap();
    let mut after = vec![state(&r)];
    for u in &run.units {
        let _ = r.receive(u.clone());
        after.push(state(&r));
    }
    assert!(r.chain().last_stable_mci() > 5);
    assert!(r.rounds().all().len() > 1);
    (state(&r), after)
}

/// xorshift64: deterministic crash points.
fn points(seed: u64, count: usize, below: usize) -> Vec<usize> {
    let mut next = common::xorshift(seed);
    let mut v: Vec<usize> = (0..count)
        .map(|_| (next() % below as u64) as usize)
        .collect();
    v.sort_unstable();
    v
}

#[test]
fn closing_at_any_point_loses_nothing() {
    let run = run(11);
    let (done, after) = reference(&run);
    let n = run.units.len();
    let mut crash_at = points(0xC0FFEE, 6, n);
    crash_at.extend([0, 1, n]);
    for k in crash_at {
        let dir = tempfile::tempdir().unwrap();
        {
            let mut r = open_or_create(dir.path(), &run);
            for u in &run.units[..k] {
                let _ = r.receive(u.clone());
            }
        }
        let mut r = open_or_create(dir.path(), &run);
        assert_eq!(state(&r), after[k], "reopened after {k} units");
        assert_eq!(r.waiting(), 0);
        feed_all(&mut r, &run);
        assert_eq!(state(&r), done, "crash after {k} units");
        // Reopened once more with everything: the same again.
        drop(r);
        let r = open_or_create(dir.path(), &run);
        assert_eq!(state(&r), done, "second reopen, crash after {k} units");
    }
}

/// Run as a child: opens or creates the replica in `$CHILD_DIR`, feeds every
/// unit and prints `fed <i> <dag length>` after each (until killed).
#[test]
fn child_writer() {
    let (Ok(dir), Ok(seed)) = (std::env::var(CHILD_DIR), std::env::var(CHILD_SEED)) else {
        return;
    };
    let run = run(seed.parse().unwrap());
    let mut r = open_or_create(Path::new(&dir), &run);
    println!("open {}", r.chain().dag().len());
    for (i, u) in run.units.iter().enumerate() {
        let _ = r.receive(u.clone());
        println!("fed {i} {}", r.chain().dag().len());
    }
    println!("done");
}

/// Starts a child writer on `dir`, kills it (SIGKILL) `delay_us`
/// microseconds after it reports unit `kill_after` fed (a delay lands the
/// kill inside a later `receive`, often in a store commit), and returns the
/// DAG length it reported last.
fn crash_child(dir: &Path, seed: u64, kill_after: usize, delay_us: u64) -> usize {
    let exe = std::env::current_exe().unwrap();
    let mut child = Command::new(exe)
        .args(["--exact", "child_writer", "--nocapture", "--test-threads=1"])
        .env(CHILD_DIR, dir)
        .env(CHILD_SEED, seed.to_string())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let mut reported = 0;
    for line in BufReader::new(stdout).lines() {
        let line = line.unwrap();
        let mut words = line.split_whitespace();
        if words.next() != Some("fed") {
            continue;
        }
        let i: usize = words.next().unwrap().parse().unwrap();
        reported = words.next().unwrap().parse().unwrap();
        if i >= kill_after {
            std::thread::sleep(std::time::Duration::from_micros(delay_us));
            child.kill().unwrap();
            break;
        }
    }
    child.wait().unwrap();
    reported
}

#[test]
fn sigkill_at_random_points_loses_nothing() {
    let seed = 11;
    let run = run(seed);
    let (done, after) = reference(&run);
    let dir = tempfile::tempdir().unwrap();
    let n = run.units.len();
    let delays = points(0xD1CE, 6, 20_000);
    let kills = points(0x5EED, 6, n - 1);
    for (round, (kill_after, delay_us)) in kills.into_iter().zip(delays).enumerate() {
        let reported = crash_child(dir.path(), seed, kill_after, delay_us as u64);
        let r = open_or_create(dir.path(), &run);
        let now = state(&r);
        drop(r);
        // What the child reported accepted is there; the state is the one
        // after some call at or past the kill point (the child went on
        // while the kill was on its way).
        assert!(now.dag.len() >= reported, "crash {round}: lost units");
        assert!(
            after[kill_after + 1..].contains(&now),
            "crash {round} after unit {kill_after}: a state no call left"
        );
    }
    let mut r = open_or_create(dir.path(), &run);
    feed_all(&mut r, &run);
    assert_eq!(state(&r), done);
}

/// A replica built like `tests/catchup.rs`'s minority that catches up from
/// a proof, then reopens: the adopted MCIs replay.
#[test]
fn catch_up_adoptions_replay() {
    let sim = common::partitioned();
    let dir = tempfile::tempdir().unwrap();
    let store = RedbBlockstore::open(path(dir.path())).unwrap();
    let mut behind = common::minority_replica(&sim, store, Replica::create);
    common::feed(&mut behind, &sim, 3);
    assert_eq!(behind.rounds().all().len(), 1);
    // Two steps carry too few units for the replica's own rule: both are
    // adopted on their witnesses (a long proof's units may let the own rule
    // get there first, and nothing would be adopted).
    let from = behind.chain().last_stable_mci();
    let proof = sim
        .replica(0)
        .catchup_proof_steps(&behind.catchup_request(), 2)
        .unwrap();
    assert_eq!(proof.steps.len(), 2);
    let mut out = tau_trustme::UnitDelivery::default();
    behind.apply_catchup(&proof, &mut out).unwrap();
    assert_eq!(out.stabilized, vec![from + 1, from + 2]);
    let caught_up = state(&behind);
    drop(behind);
    // Reopened on a shared store (as a node shares its store).
    let store = std::sync::Arc::new(RedbBlockstore::open(path(dir.path())).unwrap());
    let again = common::minority_replica(&sim, store, Replica::open);
    assert_eq!(state(&again), caught_up);
}

fn open_err(dir: &Path, run: &Run) -> Error {
    let store = RedbBlockstore::open(path(dir)).unwrap();
    match replica!(Replica::open, store, run) {
        Ok(_) => panic!("a damaged store opened"),
        Err(e) => e,
    }
}

#[test]
fn missing_or_corrupt_roots_are_errors() {
    let run = run(11);
    // No replica at all.
    let dir = tempfile::tempdir().unwrap();
    assert!(matches!(open_err(dir.path(), &run), Error::NoReplica(_)));

    // A root naming a block that is not there.
    let store = RedbBlockstore::open(path(dir.path())).unwrap();
    let nowhere = tau_ipld::block::cid_of(tau_ipld::block::DAG_CBOR, b"nothing");
    store.put_root(ROOT, &nowhere).unwrap();
    drop(store);
    let err = open_err(dir.path(), &run);
    assert!(matches!(err, Error::CorruptReplica(_)), "{err}");

    // A root naming a block that is no log segment (the genesis unit).
    let store = RedbBlockstore::open(path(dir.path())).unwrap();
    store
        .put_keyed(&run.genesis.id(), run.genesis.bytes())
        .unwrap();
    store.put_root(ROOT, &run.genesis.id()).unwrap();
    drop(store);
    let err = open_err(dir.path(), &run);
    assert!(matches!(err, Error::CorruptReplica(_)), "{err}");

    // Segments that do not fit the genesis or the store.
    let segment = |genesis: Cid, prev, start, units: Vec<Cid>| LogSegment {
        version: 1,
        genesis,
        prev,
        start,
        units,
        adopted: vec![],
    };
    let first = |g| segment(g, None, 0, vec![g]);
    let g = run.genesis.id();
    let missing = run.units[0].id();
    let cases = [
        ("another genesis", vec![first(nowhere)]),
        (
            "a first segment without the genesis",
            vec![segment(g, None, 0, vec![])],
        ),
        ("a gap", vec![first(g), segment(g, None, 2, vec![missing])]),
        (
            "a unit not in the store",
            vec![first(g), segment(g, None, 1, vec![missing])],
        ),
        (
            "a unit that does not replay",
            vec![first(g), segment(g, None, 1, vec![g])],
        ),
    ];
    for (what, chain) in cases {
        let dir = tempfile::tempdir().unwrap();
        let store = RedbBlockstore::open(path(dir.path())).unwrap();
        store
            .put_keyed(&run.genesis.id(), run.genesis.bytes())
            .unwrap();
        let mut prev = None;
        for mut s in chain {
            if s.start > 0 {
                s.prev = prev;
            }
            let bytes = tau_ipld::canonical::encode("segment", &s).unwrap();
            let cid = tau_ipld::block::cid_of(tau_ipld::block::DAG_CBOR, &bytes);
            store
                .put_many_keyed_with_roots(&[(cid, bytes)], &[(ROOT, cid)])
                .unwrap();
            prev = Some(cid);
        }
        drop(store);
        let err = open_err(dir.path(), &run);
        assert!(matches!(err, Error::CorruptReplica(_)), "{what}: {err}");
    }

    // A replica cannot be created over another.
    let dir = tempfile::tempdir().unwrap();
    drop(open_or_create(dir.path(), &run));
    let store = RedbBlockstore::open(path(dir.path())).unwrap();
    let Err(err) = replica!(Replica::create, store, run) else {
        panic!("a replica was created over another");
    };
    assert!(matches!(err, Error::ReplicaExists(_)), "{err}");
}

/// The log links its segments, the genesis and every unit (DAG-CBOR links),
/// so a garbage collection of a store the replica shares (from every named
/// root, as a node collects) keeps all it needs and deletes the rest.
#[test]
fn a_garbage_collection_keeps_the_replica() {
    let run = run(11);
    let (done, _) = reference(&run);
    let dir = tempfile::tempdir().unwrap();
    let mut r = open_or_create(dir.path(), &run);
    feed_all(&mut r, &run);
    let garbage = r
        .chain()
        .dag()
        .store()
        .put(tau_ipld::block::RAW, b"garbage")
        .unwrap();
    drop(r);
    let store = RedbBlockstore::open(path(dir.path())).unwrap();
    let roots: Vec<Cid> = store.roots().unwrap().into_iter().map(|(_, c)| c).collect();
    let report = store
        .collect_garbage(&roots, &Default::default(), 1024)
        .unwrap();
    assert_eq!(
        (report.deleted, report.missing, report.unreadable),
        (1, 0, 0)
    );
    assert!(!store.has(&garbage).unwrap());
    let r = replica!(Replica::open, store, run).unwrap();
    assert_eq!(state(&r), done);
}
