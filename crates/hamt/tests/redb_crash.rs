//! Crash safety of a [`Hamt`] on a [`RedbBlockstore`]: a child process keeps inserting
//! into and flushing a HAMT and is killed with `SIGKILL` mid-write; the reopened store
//! loads the last committed root and every key of it.
//!
//! The child is this test binary itself, re-invoked to run only the ignored test
//! [`child_process_entry`] with [`CHILD_DB_ENV`] set. It loads the map at the root
//! pointer [`HEAD`] (or starts an empty one), learns the last committed round from the
//! reserved key [`ROUND_KEY`] and loops over [`write_round`] until it is killed,
//! printing `committed <round>` after each commit. The parent
//! ([`crash_mid_write_recovers_last_committed_root`]) kills it at several points of a
//! round, reopens the file and checks the map at the root with [`verify_map`] against
//! a model of what rounds `0..=R` leave in the map. Each cycle continues the map the
//! previous (killed) child left, so repairs stack up.
//!
//! Round `r` sets [`KEYS_PER_ROUND`] keys `r ‖ i` (both big-endian `u64`) to
//! `r * 1_000_000 + i`, deletes every [`DELETE_EVERY`]th key of round `r - 1`, sets
//! [`ROUND_KEY`] to `r`, and flushes the map with [`Hamt::flush_with`], committing
//! the changed nodes and the moved root pointer in one redb transaction.

use std::io::{BufRead, BufReader, Read};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use tau_hamt::Hamt;
use tau_ipld::blockstore::RedbOptions;
use tau_ipld::{Cid, RedbBlockstore};

/// Path of the database the child writes; set only in the child.
const CHILD_DB_ENV: &str = "TAU_CRASH_CHILD_DB";
/// When `1`, the child opens the store with redb's quick repair.
const CHILD_QUICK_REPAIR_ENV: &str = "TAU_CRASH_CHILD_QUICK_REPAIR";
/// The root pointer the child moves forward.
const HEAD: &str = "head";
/// Reserved key holding the number of the last round written into the map.
const ROUND_KEY: &[u8] = b"round";
/// Keys inserted per round (a round takes tens of milliseconds in debug builds).
const KEYS_PER_ROUND: u64 = 2_000;
/// Round `r` deletes the keys `(r - 1, i)` with `i % DELETE_EVERY == 0`.
const DELETE_EVERY: u64 = 7;
/// Rounds the child must report in a cycle before the parent schedules the kill.
const MIN_ROUNDS_PER_CYCLE: usize = 2;
/// Where in a round the kill lands, one crash cycle per entry: the delay after a
/// reported commit, in percent of the interval between the last two reports. Spread
/// over the whole round so kills hit the inserts, the node flush and the root update
/// whatever the machine's speed.
const KILL_PHASES_PERCENT: [u32; 6] = [0, 15, 35, 55, 75, 95];
/// Guard against a child that never reports (not a timing assertion on the store).
const CHILD_REPORT_TIMEOUT: Duration = Duration::from_secs(120);

type Map<'a> = Hamt<&'a RedbBlockstore, u64>;

/// Entry point of the child process: does nothing unless [`CHILD_DB_ENV`] is set, then
/// writes rounds until it is killed.
#[test]
#[ignore = "child process of crash_mid_write_recovers_last_committed_root"]
fn child_process_entry() {
    let Some(path) = std::env::var_os(CHILD_DB_ENV) else {
        return;
    };
    let quick_repair = std::env::var(CHILD_QUICK_REPAIR_ENV).is_ok_and(|v| v == "1");
    let options = RedbOptions::default()
        .cache_size(64 << 20)
        .quick_repair(quick_repair);
    let store = RedbBlockstore::open_with(Path::new(&path), options).expect("child: open store");
    // Continue from whatever the previous (killed) child committed.
    let (mut map, mut round): (Map<'_>, u64) = match store.root(HEAD).expect("child: read head") {
        Some(head) => {
            let map = Hamt::load(&store, &head).expect("child: load head");
            let last = map
                .get(ROUND_KEY)
                .expect("child: read round")
                .expect("child: committed map has a round");
            (map, last + 1)
        }
        None => (Hamt::new(&store), 0),
    };
    loop {
        write_round(&mut map, round).expect("child: write round");
        // stdout is line-buffered: the line is out once println returns.
        println!("committed {round}");
        round += 1;
    }
}

/// One round: the inserts and deletes of `round`, then the commit. Returns the new root.
fn write_round(map: &mut Map<'_>, round: u64) -> tau_hamt::Result<Cid> {
    for i in 0..KEYS_PER_ROUND {
        let old = map.set(key(round, i), value(round, i))?;
        assert_eq!(old, None, "child: key ({round}, {i}) already set");
    }
    if let Some(prev) = round.checked_sub(1) {
        for i in (0..KEYS_PER_ROUND).step_by(DELETE_EVERY as usize) {
            let old = map.delete(key(prev, i))?;
            assert_eq!(old, Some(value(prev, i)), "child: delete ({prev}, {i})");
        }
    }
    map.set(ROUND_KEY, round)?;
    // One transaction: the changed nodes and the root pointer commit together, so
    // after a crash the root is either the previous round's (all of whose nodes were
    // committed with it) or this one's, never a root naming unwritten nodes.
    map.flush_with(|store, blocks, root| store.put_many_keyed_with_roots(blocks, &[(HEAD, *root)]))
}

/// Key `i` of `round`: `round ‖ i`, both big-endian.
fn key(round: u64, i: u64) -> [u8; 16] {
    let mut out = [0; 16];
    out[..8].copy_from_slice(&round.to_be_bytes());
    out[8..].copy_from_slice(&i.to_be_bytes());
    out
}

fn value(round: u64, i: u64) -> u64 {
    round * 1_000_000 + i
}

/// Model: whether key `(q, i)` is in the map after rounds `0..=last` committed.
fn in_model(q: u64, i: u64, last: u64) -> bool {
    q <= last && i < KEYS_PER_ROUND && !(q < last && i.is_multiple_of(DELETE_EVERY))
}

/// Model: number of round keys (not counting [`ROUND_KEY`]) after rounds `0..=last`.
fn model_count(last: u64) -> usize {
    let deleted = KEYS_PER_ROUND.div_ceil(DELETE_EVERY);
    (last * (KEYS_PER_ROUND - deleted) + KEYS_PER_ROUND) as usize
}

/// Loads the map at `head` and checks it against the model of the round it records:
/// every key the model holds is present with its value, every deleted key is absent,
/// `len` matches, and a full iteration (which loads and re-hashes every node against
/// its CID) yields exactly the model's entries. Returns the recorded round.
fn verify_map(store: &RedbBlockstore, head: &Cid) -> u64 {
    let map: Map<'_> = Hamt::load(store, head).unwrap_or_else(|e| panic!("load root {head}: {e}"));
    let last = map
        .get(ROUND_KEY)
        .unwrap_or_else(|e| panic!("read round key: {e}"))
        .expect("committed map has a round key");
    for q in 0..=last + 1 {
        for i in 0..KEYS_PER_ROUND {
            let got = map
                .get(key(q, i))
                .unwrap_or_else(|e| panic!("round {last}: get ({q}, {i}): {e}"));
            let want = in_model(q, i, last).then(|| value(q, i));
            assert_eq!(got, want, "round {last}: key ({q}, {i})");
        }
    }
    let expected_len = model_count(last) + 1;
    assert_eq!(
        map.len()
            .unwrap_or_else(|e| panic!("round {last}: len: {e}")),
        expected_len,
        "round {last}: len"
    );
    let mut seen = 0;
    for entry in map.iter() {
        let (k, v) = entry.unwrap_or_else(|e| panic!("round {last}: iteration: {e}"));
        seen += 1;
        if k == ROUND_KEY {
            assert_eq!(v, last, "round key");
            continue;
        }
        let k: [u8; 16] = k
            .try_into()
            .unwrap_or_else(|_| panic!("round {last}: unexpected key {k:?}"));
        let q = u64::from_be_bytes(k[..8].try_into().expect("8 bytes"));
        let i = u64::from_be_bytes(k[8..].try_into().expect("8 bytes"));
        assert!(in_model(q, i, last), "round {last}: stray key ({q}, {i})");
        assert_eq!(v, value(q, i), "round {last}: value of ({q}, {i})");
    }
    assert_eq!(seen, expected_len, "round {last}: entries iterated");
    last
}

/// Parses a `committed <round>` line of the child.
fn committed_round(line: &str) -> Option<u64> {
    line.strip_prefix("committed ")?.trim().parse().ok()
}

/// Whether the child died of our kill rather than, say, a panic.
#[cfg(unix)]
fn killed_by_sigkill(status: std::process::ExitStatus) -> bool {
    use std::os::unix::process::ExitStatusExt;
    const SIGKILL: i32 = 9;
    status.signal() == Some(SIGKILL)
}

#[cfg(not(unix))]
fn killed_by_sigkill(status: std::process::ExitStatus) -> bool {
    !status.success()
}

#[test]
fn crash_mid_write_recovers_last_committed_root() {
    let dir = tempfile::tempdir().expect("temp dir");
    let db = dir.path().join("crash.redb");
    let exe = std::env::current_exe().expect("test binary path");
    // The last recovered (round, head), already verified.
    let mut recovered: Option<(u64, Cid)> = None;

    for (cycle, phase) in KILL_PHASES_PERCENT.into_iter().enumerate() {
        let mut child = Command::new(&exe)
            .args(["--exact", "child_process_entry", "--nocapture", "--ignored"])
            .env(CHILD_DB_ENV, &db)
            .env(
                CHILD_QUICK_REPAIR_ENV,
                if cycle % 2 == 1 { "1" } else { "0" },
            )
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn child");

        // Forward the child's `committed` rounds through a channel so that waiting for
        // them can time out; the channel closes when the child's stdout does.
        let stdout = child.stdout.take().expect("child stdout");
        let (tx, rx) = mpsc::channel::<u64>();
        let stdout_reader = std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if let Some(round) = committed_round(&line) {
                    if tx.send(round).is_err() {
                        break;
                    }
                }
            }
        });
        let mut stderr = child.stderr.take().expect("child stderr");
        let stderr_reader = std::thread::spawn(move || {
            let mut text = String::new();
            let _ = stderr.read_to_string(&mut text);
            text
        });

        // Wait until the child has committed a few rounds, timing the last interval.
        let mut reported = Vec::new();
        let mut report_times = Vec::new();
        while reported.len() < MIN_ROUNDS_PER_CYCLE {
            match rx.recv_timeout(CHILD_REPORT_TIMEOUT) {
                Ok(round) => {
                    reported.push(round);
                    report_times.push(Instant::now());
                }
                Err(e) => {
                    let _ = child.kill();
                    let _ = child.wait();
                    let err = stderr_reader.join().unwrap_or_default();
                    panic!("cycle {cycle}: child stopped reporting ({e}); stderr:\n{err}");
                }
            }
        }
        let n = report_times.len();
        let interval = report_times[n - 1] - report_times[n - 2];
        std::thread::sleep(interval * phase / 100);
        child.kill().expect("kill child"); // SIGKILL on unix
        let status = child.wait().expect("wait for child");
        // Everything the child printed before it died.
        stdout_reader.join().expect("stdout reader");
        reported.extend(rx.try_iter());
        let child_stderr = stderr_reader.join().unwrap_or_default();
        assert!(
            killed_by_sigkill(status),
            "cycle {cycle}: child ended by itself ({status}); stderr:\n{child_stderr}"
        );

        // The rounds continue where the previous cycle's recovered head left off.
        let first_expected = recovered.map_or(0, |(round, _)| round + 1);
        assert_eq!(reported[0], first_expected, "cycle {cycle}: first round");
        assert!(
            reported.windows(2).all(|w| w[1] == w[0] + 1),
            "cycle {cycle}: rounds reported in order: {reported:?}"
        );
        let last_reported = *reported.last().expect("at least one report");

        // Reopen (redb repairs the file after the crash) and check the whole map at the
        // recovered root against the model of the round it records.
        let store = RedbBlockstore::open(&db).expect("reopen after SIGKILL");
        let head = store
            .root(HEAD)
            .expect("read head")
            .expect("head present after committed rounds");
        let round = verify_map(&store, &head);
        // Every reported commit survived; at most one more commit (killed before it
        // could print) may have landed.
        assert!(
            round >= last_reported,
            "cycle {cycle}: recovered round {round} older than reported {last_reported}"
        );
        assert!(
            round <= last_reported + 1,
            "cycle {cycle}: recovered round {round} beyond reported {last_reported} + 1"
        );
        drop(store);
        recovered = Some((round, head));
    }

    // Finally once more from a fresh open: the last root is unchanged and whole.
    let (round, head) = recovered.expect("cycles ran");
    let store = RedbBlockstore::open(&db).expect("final reopen");
    assert_eq!(store.root(HEAD).expect("read head"), Some(head));
    assert_eq!(verify_map(&store, &head), round);
}

#[test]
fn child_entry_is_inert_without_env() {
    // The ignored child test is harmless when run directly (e.g. with `--ignored`).
    if std::env::var_os(CHILD_DB_ENV).is_none() {
        child_process_entry();
    }
}
