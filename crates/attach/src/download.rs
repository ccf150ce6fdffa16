//! Download (process C): fetch an attachment's blocks from several peers at
//! once, verify each against its CID, survive slow and lying peers, resume
//! from what the store already holds, and retry until done or cancelled.

use std::collections::{HashSet, VecDeque};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use cid::Cid;
use tau_ipld::block;
use tau_ipld::Blockstore;

use crate::config::Config;
use crate::manifest::Manifest;
use crate::section_map::{decode_map_node, MapLimits, MapWalk};
use crate::sections::section_cids;
use crate::{Error, Result};

/// A peer that can hand out blocks by CID (tau-node implements it with a
/// Graphsync request; tests with an in-memory store).
pub trait Source: Send + Sync {
    /// A name for reports and progress.
    fn name(&self) -> String;
    /// The block `cid`, or an error (unreachable, timed out, not found).
    /// The bytes are verified by the caller; a source cannot make a wrong
    /// block count.
    fn fetch(&self, cid: &Cid) -> std::result::Result<Vec<u8>, String>;
}

/// Download settings; [`DownloadOptions::default`] is relentless.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DownloadOptions {
    /// Sections each peer is asked for at once (one thread each).
    pub per_peer: usize,
    /// Failures in a row after which a peer sits out the rest of the round.
    pub max_failures: u32,
    /// First wait between rounds; doubled each round up to `max_backoff`.
    pub backoff: Duration,
    /// Longest wait between rounds.
    pub max_backoff: Duration,
    /// Rounds before giving up (`None`: until done or cancelled, "relentless").
    pub max_rounds: Option<u32>,
    /// Refuse an attachment whose manifest declares more packed bytes than
    /// this ([`Error::OverBudget`], checked before any section is fetched).
    pub max_total_size: Option<u64>,
}

impl Default for DownloadOptions {
    fn default() -> Self {
        Self {
            per_peer: 4,
            max_failures: 3,
            backoff: Duration::from_millis(200),
            max_backoff: Duration::from_secs(10),
            max_rounds: None,
            max_total_size: None,
        }
    }
}

/// Progress of a download, reported after each section.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Progress {
    /// Sections stored so far (including those already present).
    pub sections_done: u64,
    /// Sections in the attachment.
    pub sections_total: u64,
    /// Bytes stored so far.
    pub bytes_done: u64,
    /// Bytes in the attachment.
    pub bytes_total: u64,
    /// Peers still serving in this round.
    pub peers_active: usize,
}

/// What a finished download did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DownloadReport {
    /// The manifest.
    pub manifest: Manifest,
    /// Sections that were already in the store (resume).
    pub sections_present: u64,
    /// Sections fetched by this download.
    pub sections_fetched: u64,
    /// Sections fetched from each source, in the order given.
    pub per_source: Vec<u64>,
    /// Sources dropped for serving a block that did not match its CID.
    pub liars: Vec<String>,
    /// Rounds it took.
    pub rounds: u32,
}

/// Downloads the attachment `root` into `store` from `sources`.
///
/// The manifest and the section map come first (from the first source that
/// has them), each block checked against its CID and its expected shape
/// before it is stored; the map walk visits each node once and refuses a
/// node linked twice, a map deeper or with more nodes or entries than a
/// HAMT of the manifest's declared section count can have, and any entry
/// beyond the declared sections ([`Error::SectionMap`]). Then the missing sections in parallel: `per_peer` threads per
/// source take the next missing section from a shared queue (work stealing),
/// so faster peers serve more. A block that does not hash to its CID drops
/// its source for good and goes back in the queue; errors and timeouts put
/// the section back and bench the source after `max_failures` in a row. When
/// no source is left the download waits (backoff) and starts a new round,
/// until every section is stored, `cancel` is set, or `max_rounds` pass.
/// Sections stored before a restart are not fetched again.
pub fn download<BS: Blockstore + Sync>(
    store: &BS,
    root: &Cid,
    sources: &[&dyn Source],
    config: &Config,
    options: &DownloadOptions,
    cancel: &AtomicBool,
    progress: &(dyn Fn(Progress) + Sync),
) -> Result<DownloadReport> {
    let liars = Mutex::new(HashSet::<usize>::new());
    let mut rounds = 0u32;
    let mut backoff = options.backoff;
    loop {
        rounds += 1;
        let attempt = attempt(
            store, root, sources, config, options, cancel, progress, &liars,
        );
        match attempt {
            Ok(mut report) => {
                report.rounds = rounds;
                return Ok(report);
            }
            Err(Attempt::Fatal(e)) => return Err(e),
            Err(Attempt::Retry { missing, error }) => {
                if cancel.load(Ordering::Relaxed) {
                    let total = Manifest::load(store, root, config).map_or(0, |m| m.section_count);
                    return Err(Error::Cancelled { missing, total });
                }
                if options.max_rounds.is_some_and(|max| rounds >= max) {
                    return Err(Error::GaveUp {
                        missing,
                        last_error: error,
                    });
                }
                sleep_unless_cancelled(backoff, cancel);
                backoff = (backoff * 2).min(options.max_backoff);
            }
        }
    }
}

enum Attempt {
    /// Not a network problem: retrying cannot help.
    Fatal(Error),
    /// Sections still missing after this round.
    Retry { missing: u64, error: String },
}

#[allow(clippy::too_many_arguments)]
fn attempt<BS: Blockstore + Sync>(
    store: &BS,
    root: &Cid,
    sources: &[&dyn Source],
    config: &Config,
    options: &DownloadOptions,
    cancel: &AtomicBool,
    progress: &(dyn Fn(Progress) + Sync),
    liars: &Mutex<HashSet<usize>>,
) -> std::result::Result<DownloadReport, Attempt> {
    let honest: Vec<usize> = (0..sources.len())
        .filter(|i| !liars.lock().map(|l| l.contains(i)).unwrap_or(true))
        .collect();
    // 1. The manifest and every node of the section map, each checked
    //    before it is stored, the walk bounded by what the manifest declares.
    let manifest = ensure(store, root, sources, &honest, liars, |data| {
        Manifest::decode(root, data, config)
    })?;
    if let Some(max) = options.max_total_size {
        if manifest.total_size > max {
            return Err(Attempt::Fatal(Error::OverBudget {
                size: manifest.total_size,
                max,
            }));
        }
    }
    let mut walk = MapWalk::new(MapLimits::of(&manifest, config));
    let mut structure = vec![(manifest.sections, 0u32)];
    while let Some((cid, depth)) = structure.pop() {
        walk.enter(&cid, depth).map_err(Attempt::Fatal)?;
        let node = ensure(store, &cid, sources, &honest, liars, |data| {
            let node = decode_map_node(data, config, manifest.section_count, depth == 0)?;
            walk.count(&node)?;
            Ok(node)
        })?;
        structure.extend(node.children.iter().map(|child| (*child, depth + 1)));
    }
    let cids = section_cids(store, &manifest, config).map_err(Attempt::Fatal)?;

    // 2. The sections the store lacks.
    let mut queue = VecDeque::new();
    let mut bytes_done = 0u64;
    for (index, cid) in cids.iter().enumerate() {
        if store.has(cid).map_err(|e| Attempt::Fatal(e.into()))? {
            bytes_done += manifest.section_len(index as u64);
        } else {
            queue.push_back(index);
        }
    }
    let present = cids.len() as u64 - queue.len() as u64;
    let shared = Mutex::new(Shared {
        queue,
        done: present,
        bytes_done,
        active: honest.len(),
        per_source: vec![0; sources.len()],
        last_error: String::new(),
    });
    let report = |s: &Shared| {
        progress(Progress {
            sections_done: s.done,
            sections_total: manifest.section_count,
            bytes_done: s.bytes_done,
            bytes_total: manifest.total_size,
            peers_active: s.active,
        })
    };
    if let Ok(s) = shared.lock() {
        report(&s);
    }
    let failures: Vec<Mutex<u32>> = sources.iter().map(|_| Mutex::new(0)).collect();
    std::thread::scope(|scope| {
        for &source in &honest {
            let Some(failures) = failures.get(source) else {
                continue;
            };
            for _ in 0..options.per_peer.max(1) {
                let (shared, cids, manifest, report) = (&shared, &cids, &manifest, &report);
                scope.spawn(move || {
                    worker(
                        store, sources, source, cids, manifest, shared, failures, liars, options,
                        cancel, report,
                    )
                });
            }
        }
    });
    let shared = shared.into_inner().map_err(|_| Attempt::Retry {
        missing: 0,
        error: "a worker panicked".into(),
    })?;
    if shared.queue.is_empty() && shared.done == manifest.section_count {
        return Ok(DownloadReport {
            sections_present: present,
            sections_fetched: manifest.section_count - present,
            per_source: shared.per_source,
            liars: liars
                .lock()
                .map(|l| {
                    let mut names: Vec<_> = l
                        .iter()
                        .filter_map(|i| sources.get(*i).map(|s| s.name()))
                        .collect();
                    names.sort();
                    names
                })
                .unwrap_or_default(),
            rounds: 0,
            manifest,
        });
    }
    Err(Attempt::Retry {
        missing: shared.queue.len() as u64,
        error: shared.last_error,
    })
}

struct Shared {
    queue: VecDeque<usize>,
    done: u64,
    bytes_done: u64,
    active: usize,
    per_source: Vec<u64>,
    last_error: String,
}

#[allow(clippy::too_many_arguments)]
fn worker<BS: Blockstore + Sync>(
    store: &BS,
    sources: &[&dyn Source],
    source: usize,
    cids: &[Cid],
    manifest: &Manifest,
    shared: &Mutex<Shared>,
    failures: &Mutex<u32>,
    liars: &Mutex<HashSet<usize>>,
    options: &DownloadOptions,
    cancel: &AtomicBool,
    report: &(dyn Fn(&Shared) + Sync),
) {
    let Some(peer) = sources.get(source) else {
        return;
    };
    loop {
        if cancel.load(Ordering::Relaxed)
            || liars.lock().map(|l| l.contains(&source)).unwrap_or(true)
            || failures
                .lock()
                .map(|f| *f >= options.max_failures)
                .unwrap_or(true)
        {
            break;
        }
        let Some(index) = shared.lock().ok().and_then(|mut s| s.queue.pop_front()) else {
            break;
        };
        let Some(cid) = cids.get(index) else {
            break;
        };
        let expected = manifest.section_len(index as u64);
        let outcome = peer
            .fetch(cid)
            .and_then(|data| match block::verify(cid, &data) {
                Ok(()) => Ok(data),
                Err(_) => Err(String::from("lie")),
            })
            .and_then(|data| {
                // The right block, but not what the manifest declares: the
                // publisher's fault, not the source's. Never stored, so a
                // manifest cannot understate what a download writes.
                if data.len() as u64 == expected {
                    Ok(data)
                } else {
                    Err(format!(
                        "section {index} holds {} bytes, its manifest declares {expected}",
                        data.len()
                    ))
                }
            });
        match outcome {
            Ok(data) => {
                if let Err(e) = store.put_keyed(cid, &data) {
                    give_back(shared, index, format!("store: {e}"));
                    break;
                }
                if let Ok(mut f) = failures.lock() {
                    *f = 0;
                }
                if let Ok(mut s) = shared.lock() {
                    s.done += 1;
                    s.bytes_done += manifest.section_len(index as u64);
                    if let Some(n) = s.per_source.get_mut(source) {
                        *n += 1;
                    }
                    report(&s);
                }
            }
            Err(e) if e == "lie" => {
                tracing::debug!(
                    source = sources.get(source).map(|s| s.name()).unwrap_or_default(),
                    section = index,
                    "attachment source dropped: a section did not match its CID"
                );
                if let Ok(mut l) = liars.lock() {
                    l.insert(source);
                }
                give_back(
                    shared,
                    index,
                    format!("{} served a block that does not match {cid}", peer.name()),
                );
                break;
            }
            Err(e) => {
                if let Ok(mut f) = failures.lock() {
                    *f += 1;
                }
                give_back(shared, index, format!("{}: {e}", peer.name()));
            }
        }
    }
    if let Ok(mut s) = shared.lock() {
        s.active = s.active.saturating_sub(1);
    }
}

fn give_back(shared: &Mutex<Shared>, index: usize, error: String) {
    if let Ok(mut s) = shared.lock() {
        s.queue.push_back(index);
        s.last_error = error;
    }
}

/// The block `cid`, read from the store or fetched from the first honest
/// source that returns it, then passed through `check` (decode and shape)
/// before it is stored: a block that does not hash to its CID makes its
/// source a liar; one that hashes right but fails `check` is what the root
/// names, so no source can do better (fatal).
fn ensure<BS: Blockstore, T>(
    store: &BS,
    cid: &Cid,
    sources: &[&dyn Source],
    honest: &[usize],
    liars: &Mutex<HashSet<usize>>,
    mut check: impl FnMut(&[u8]) -> Result<T>,
) -> std::result::Result<T, Attempt> {
    if let Ok(Some(data)) = store.get(cid) {
        return check(&data).map_err(Attempt::Fatal);
    }
    let mut last = String::from("no source");
    for &i in honest {
        let Some(source) = sources.get(i) else {
            continue;
        };
        match source.fetch(cid) {
            Ok(data) if block::verify(cid, &data).is_ok() => {
                let checked = check(&data).map_err(Attempt::Fatal)?;
                store.put_keyed(cid, &data).map_err(|e| Attempt::Retry {
                    missing: 0,
                    error: format!("store: {e}"),
                })?;
                return Ok(checked);
            }
            Ok(_) => {
                tracing::debug!(source = source.name(), %cid, "attachment source dropped: a block did not match its CID");
                if let Ok(mut l) = liars.lock() {
                    l.insert(i);
                }
                last = format!("{} served a block that does not match {cid}", source.name());
            }
            Err(e) => last = format!("{}: {e}", source.name()),
        }
    }
    Err(Attempt::Retry {
        missing: 0,
        error: last,
    })
}

fn sleep_unless_cancelled(total: Duration, cancel: &AtomicBool) {
    let step = Duration::from_millis(20);
    let mut slept = Duration::ZERO;
    while slept < total && !cancel.load(Ordering::Relaxed) {
        std::thread::sleep(step.min(total - slept));
        slept += step;
    }
}
