//! Crash safety of [`RedbBlockstore`]: a child process keeps inserting and flushing
//! and is killed with `SIGKILL` mid-write; the reopened store loads the last committed
//! root and every block reachable from it.
//!
//! The child is this test binary itself, re-invoked to run only the ignored test
//! [`child_process_entry`] with [`CHILD_DB_ENV`] set; it loops over [`write_round`]
//! until it is killed, printing `committed <round>` after each commit. The parent
//! ([`crash_mid_write_recovers_last_committed_root`]) kills it at several points of a
//! round, reopens the file and checks it with [`verify_chain`]. Each cycle continues
//! the chain the previous (killed) child left, so repairs stack up.
//!
//! A "round" mimics a HAMT flush: a batch of new blocks plus a head block linking the
//! batch and the previous head, committed together with the root pointer `head` in one
//! transaction. To test the HAMT itself, replace `write_round` (set the round's keys,
//! flush, commit the new blocks with the root) and `verify_chain` (load the HAMT at the
//! root and read every key of the rounds up to the recovered one).

use std::io::{BufRead, BufReader, Read};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use tau_hamt::block::{cid_of, RAW};
use tau_hamt::blockstore::RedbOptions;
use tau_hamt::{Blockstore, Cid, RedbBlockstore};

/// Path of the database the child writes; set only in the child.
const CHILD_DB_ENV: &str = "TAU_CRASH_CHILD_DB";
/// When `1`, the child opens the store with redb's quick repair.
const CHILD_QUICK_REPAIR_ENV: &str = "TAU_CRASH_CHILD_QUICK_REPAIR";
/// The root pointer the child moves forward.
const HEAD: &str = "head";
/// Blocks per round besides the head block.
const BLOCKS_PER_ROUND: u32 = 200;
/// Size range of those blocks.
const BLOCK_SIZES: std::ops::Range<usize> = 1024..2048;
/// Rounds the child must report in a cycle before the parent schedules the kill.
const MIN_ROUNDS_PER_CYCLE: usize = 2;
/// Where in a round the kill lands, one crash cycle per entry: the delay after a
/// reported commit, in percent of the interval between the last two reports. Spread
/// over the whole round so kills hit block generation, inserts and the commit itself
/// whatever the machine's speed.
const KILL_PHASES_PERCENT: [u32; 6] = [0, 15, 35, 55, 75, 95];
/// Guard against a child that never reports (not a timing assertion on the store).
const CHILD_REPORT_TIMEOUT: Duration = Duration::from_secs(120);

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
    let mut prev = store.root(HEAD).expect("child: read head");
    let mut round = match prev {
        Some(head) => read_head(&store, &head).0 + 1,
        None => 0,
    };
    loop {
        let head = write_round(&store, round, prev).expect("child: write round");
        // stdout is line-buffered: the line is out once println returns.
        println!("committed {round}");
        prev = Some(head);
        round += 1;
    }
}

/// One flush: [`BLOCKS_PER_ROUND`] new blocks and a head block linking them and
/// `prev`, committed with the root pointer in one transaction. Returns the head's CID.
fn write_round(store: &RedbBlockstore, round: u64, prev: Option<Cid>) -> tau_hamt::Result<Cid> {
    let mut batch: Vec<(Cid, Vec<u8>)> = (0..BLOCKS_PER_ROUND)
        .map(|index| {
            let data = block_data(round, index);
            (cid_of(RAW, &data), data)
        })
        .collect();
    let head = encode_head(round, prev, batch.iter().map(|(cid, _)| cid));
    let head_cid = cid_of(RAW, &head);
    batch.push((head_cid, head));
    store.put_many_keyed_with_roots(&batch, &[(HEAD, head_cid)])?;
    Ok(head_cid)
}

/// How thoroughly [`verify_chain`] checks the batch blocks.
#[derive(Clone, Copy)]
enum Check {
    /// [`Blockstore::get`]: re-hash every block against its CID, compare its bytes.
    Verified,
    /// [`Blockstore::get_raw`]: compare bytes only (a cheaper re-check of rounds
    /// already verified). Head blocks are always re-hashed.
    Bytes,
}

/// Walks the chain from `head` back to round 0, or back to `stop` (a head already
/// verified, which the chain must then reach), checking that every block is present
/// and holds what the child wrote. Returns the head's round.
fn verify_chain(store: &RedbBlockstore, head: &Cid, stop: Option<Cid>, check: Check) -> u64 {
    let (head_round, _, _) = read_head(store, head);
    let mut next = Some(*head);
    let mut expected_round = head_round;
    while let Some(cid) = next {
        if Some(cid) == stop {
            return head_round;
        }
        let (round, prev, links) = read_head(store, &cid);
        assert_eq!(round, expected_round, "rounds are consecutive");
        assert_eq!(links.len(), BLOCKS_PER_ROUND as usize, "round {round}");
        for (index, link) in (0u32..).zip(&links) {
            let data = match check {
                Check::Verified => store.get(link),
                Check::Bytes => store.get_raw(link),
            };
            let data = data
                .unwrap_or_else(|e| panic!("round {round} block {index}: {e}"))
                .unwrap_or_else(|| panic!("round {round} block {index} missing"));
            assert!(
                data == block_data(round, index),
                "round {round} block {index}: wrong bytes"
            );
        }
        match prev {
            Some(_) => assert!(round > 0, "round 0 has no predecessor"),
            None => assert_eq!(round, 0, "only round 0 lacks a predecessor"),
        }
        expected_round = round.wrapping_sub(1);
        next = prev;
    }
    assert_eq!(stop, None, "the chain does not reach the verified head");
    head_round
}

/// The head block `cid` (re-hashed against its CID), decoded.
fn read_head(store: &RedbBlockstore, cid: &Cid) -> (u64, Option<Cid>, Vec<Cid>) {
    let bytes = store
        .get(cid)
        .unwrap_or_else(|e| panic!("head block {cid}: {e}"))
        .unwrap_or_else(|| panic!("head block {cid} missing"));
    decode_head(&bytes)
}

/// Deterministic content of block `index` of `round`: a header and filler, of a size
/// in [`BLOCK_SIZES`].
fn block_data(round: u64, index: u32) -> Vec<u8> {
    let mut state = round
        .wrapping_mul(0x9e37_79b9_7f4a_7c15)
        .wrapping_add(u64::from(index).wrapping_mul(0xbf58_476d_1ce4_e5b9))
        | 1;
    let mut next = move || {
        // xorshift64
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let span = (BLOCK_SIZES.end - BLOCK_SIZES.start) as u64;
    let len = BLOCK_SIZES.start + (next() % span) as usize;
    let mut data = Vec::with_capacity(len + 8);
    data.extend_from_slice(&round.to_be_bytes());
    data.extend_from_slice(&index.to_be_bytes());
    while data.len() < len {
        data.extend_from_slice(&next().to_le_bytes());
    }
    data.truncate(len);
    data
}

/// Head block: round (8 bytes BE), a flag byte (1 if a previous head follows), the
/// previous head's CID if any, then the batch's CIDs back to back.
fn encode_head<'a>(round: u64, prev: Option<Cid>, links: impl Iterator<Item = &'a Cid>) -> Vec<u8> {
    let mut out = round.to_be_bytes().to_vec();
    out.push(u8::from(prev.is_some()));
    if let Some(prev) = prev {
        out.extend_from_slice(&prev.to_bytes());
    }
    for link in links {
        out.extend_from_slice(&link.to_bytes());
    }
    out
}

fn decode_head(bytes: &[u8]) -> (u64, Option<Cid>, Vec<Cid>) {
    assert!(bytes.len() >= 9, "head block too short");
    let round = u64::from_be_bytes(bytes[..8].try_into().expect("8 bytes"));
    let mut rest = &bytes[9..];
    let prev = match bytes[8] {
        0 => None,
        1 => Some(Cid::read_bytes(&mut rest).expect("previous head CID")),
        flag => panic!("bad head flag {flag}"),
    };
    let mut links = Vec::new();
    while !rest.is_empty() {
        links.push(Cid::read_bytes(&mut rest).expect("link CID"));
    }
    (round, prev, links)
}

/// Parses a `committed <round>` line of the child.
fn committed_round(line: &str) -> Option<u64> {
    line.strip_prefix("committed ")?.trim().parse().ok()
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
        assert!(!status.success(), "cycle {cycle}: child exited by itself");
        // Everything the child printed before it died.
        stdout_reader.join().expect("stdout reader");
        reported.extend(rx.try_iter());
        let _ = stderr_reader.join();

        // The rounds continue where the previous cycle's recovered head left off.
        let first_expected = recovered.map_or(0, |(round, _)| round + 1);
        assert_eq!(reported[0], first_expected, "cycle {cycle}: first round");
        assert!(
            reported.windows(2).all(|w| w[1] == w[0] + 1),
            "cycle {cycle}: rounds reported in order: {reported:?}"
        );
        let last_reported = *reported.last().expect("at least one report");

        // Reopen (redb repairs the file after the crash) and check the recovered head;
        // rounds recovered in earlier cycles were verified then (and again below).
        let store = RedbBlockstore::open(&db).expect("reopen after SIGKILL");
        let head = store
            .root(HEAD)
            .expect("read head")
            .expect("head present after committed rounds");
        let stop = recovered.map(|(_, cid)| cid);
        let round = verify_chain(&store, &head, stop, Check::Verified);
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
        // No stray blocks of a torn round: exactly the blocks of rounds 0..=round.
        let expected_blocks = (round + 1) * (u64::from(BLOCKS_PER_ROUND) + 1);
        assert_eq!(
            store.block_count().expect("block count"),
            expected_blocks,
            "cycle {cycle}: block count"
        );
        drop(store);
        recovered = Some((round, head));
    }

    // Finally the whole chain once more: later crashes and repairs lost nothing older.
    let (round, head) = recovered.expect("cycles ran");
    let store = RedbBlockstore::open(&db).expect("final reopen");
    assert_eq!(store.root(HEAD).expect("read head"), Some(head));
    assert_eq!(verify_chain(&store, &head, None, Check::Bytes), round);
}

#[test]
fn child_entry_is_inert_without_env() {
    // The ignored child test is harmless when run directly (e.g. with `--ignored`).
    if std::env::var_os(CHILD_DB_ENV).is_none() {
        child_process_entry();
    }
}
