//! Solve Equihash on M nonces with tau-pow, verify every solution, and report
//! throughput, verification cost and peak memory; optionally run the reference
//! solver (`equihash::tromp::solve_200_9`, the `equihash` crate 0.3.1 with the
//! `unsafe-solver` feature) on the same nonces.
//!
//! ```text
//! cargo run --release --example equihash-solve -- [--n N] [--k K] [--nonces M]
//!     [--threads T] [--reference]
//! ```
//!
//! Defaults: `--n 200 --k 9 --nonces 10 --threads 1`. The input is 108 bytes of
//! `0x5a`; the nonce of run i (0-based) is 32 bytes, i as u32 little-endian in
//! the first 4, the rest zero (`docs/src/formats/equihash.md`, "Input layout": Zcash's 108 + 32-byte
//! layout, the same for both solvers).
//!
//! Every solution is checked with `tau_pow::verify`, timed on its own (the
//! solve times do not include it); a rejected solution is an error, exit
//! status 1. The output is one `name=value` line per figure:
//!
//! - `params=(n,k)`, `threads=`, `runs=`;
//! - `solutions=`, `solutions_per_run=` (≈ 1.88 on average for (200,9)),
//!   `solutions_per_s=`, `ms_per_run=`; `first_run_ms=` (it also faults in
//!   the solver's heaps) and `ms_per_run_after_first=`;
//! - `phase_min_ms=`: each phase's minimum over the runs after the first
//!   ([`tau::pow::Phases`]: leaf hashing, each round, the last round and the
//!   candidates, and their sum) — the noise-free shape of a run;
//! - `worker_busy_min_ms=w0:…,w1:…`: each worker's time in its own share of
//!   all phases, minimum over the same runs ([`tau::pow::Phases::busy`]); the
//!   phase sum minus it is that worker's waiting at the phase ends;
//! - `dropped_entries=`: entries dropped for full buckets over all runs (0 in
//!   practice; otherwise a run may have missed a solution);
//! - `us_per_verification=` (mean over all solutions);
//! - `peak_rss_kb=`: `VmHWM` of `/proc/self/status` (`unknown` where absent).
//!
//! `--reference` (only for `--n 200 --k 9`) frees tau-pow's buffers, records
//! `peak_rss_kb_before_reference=`, then runs the reference once per nonce and
//! adds `reference_solutions=`, `reference_ms_per_run=`,
//! `reference_solutions_per_s=`, `ratio_solutions_per_s=` (tau-pow /
//! reference) and `identical_sets=X/M`: nonces where both solvers return the
//! same set. The reference keeps at most 8 solutions per run, so where it
//! returns 8 the nonce counts as identical if all 8 are among tau-pow's.
//! Differences go to stderr, and a nonce whose sets differ is an error,
//! exit status 1. `peak_rss_kb` is then the peak of the whole process, both
//! solvers included.

use std::error::Error;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use clap::Parser;
use tau::pow::{verify, Params, Phases, Solver};

/// Input bytes before the nonce (Zcash's header prefix).
const INPUT: [u8; 108] = [0x5a; 108];

/// Solutions the reference solver keeps per run.
const REFERENCE_MAX_SOLUTIONS: usize = 8;

/// Solve Equihash (n, k) on M nonces with tau-pow and report throughput.
#[derive(Parser, Debug)]
#[command(version, about)]
struct Args {
    /// Equihash n.
    #[arg(long, default_value_t = 200)]
    n: u32,
    /// Equihash k.
    #[arg(long, default_value_t = 9)]
    k: u32,
    /// Number of nonces (runs): 0, 1, …, M − 1.
    #[arg(long, default_value_t = 10)]
    nonces: u32,
    /// Threads per run of tau-pow's solver.
    #[arg(long, default_value_t = 1)]
    threads: usize,
    /// Also run the reference solver on the same nonces (n = 200, k = 9 only).
    #[arg(long)]
    reference: bool,
}

/// The 32-byte nonce of run `i`.
fn nonce(i: u32) -> [u8; 32] {
    let mut nonce = [0u8; 32];
    nonce[..4].copy_from_slice(&i.to_le_bytes());
    nonce
}

/// Each phase's minimum of `a` and `b`.
fn min_phases(a: &Phases, b: &Phases) -> Phases {
    Phases {
        leaves: a.leaves.min(b.leaves),
        rounds: a
            .rounds
            .iter()
            .zip(&b.rounds)
            .map(|(x, y)| *x.min(y))
            .collect(),
        last: a.last.min(b.last),
        dropped: a.dropped.max(b.dropped),
        busy: a.busy.iter().zip(&b.busy).map(|(x, y)| *x.min(y)).collect(),
    }
}

/// `leaves:…,round1:…,…,last:…,sum:…` in milliseconds.
fn show_phases(p: &Phases) -> String {
    let ms = |d: &Duration| format!("{:.1}", d.as_secs_f64() * 1e3);
    let mut parts = vec![format!("leaves:{}", ms(&p.leaves))];
    for (r, d) in p.rounds.iter().enumerate() {
        parts.push(format!("round{}:{}", r + 1, ms(d)));
    }
    parts.push(format!("last:{}", ms(&p.last)));
    let sum = p.leaves + p.rounds.iter().sum::<Duration>() + p.last;
    parts.push(format!("sum:{}", ms(&sum)));
    parts.join(",")
}

/// `VmHWM` (peak resident set) of this process in KiB, if the kernel reports it.
fn peak_rss_kb() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

fn show_rss(rss: Option<u64>) -> String {
    rss.map_or_else(|| "unknown".to_owned(), |kb| kb.to_string())
}

fn per_s(count: usize, time: Duration) -> f64 {
    count as f64 / time.as_secs_f64()
}

fn ms_per(time: Duration, runs: u32) -> f64 {
    time.as_secs_f64() * 1000.0 / f64::from(runs)
}

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("equihash-solve: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run() -> Result<(), Box<dyn Error>> {
    let args = Args::parse();
    let params = Params::new(args.n, args.k)?;
    if args.reference && (args.n, args.k) != (200, 9) {
        return Err(
            "--reference needs --n 200 --k 9 (the reference solver is (200,9) only)".into(),
        );
    }
    if args.nonces == 0 {
        return Err("--nonces must be at least 1".into());
    }
    let runs = args.nonces;

    // Solve: only `solve` is timed.
    let mut solver = Solver::new(params)?.threads(args.threads);
    let mut ours: Vec<Vec<Vec<u8>>> = Vec::with_capacity(runs as usize);
    let mut solve_time = Duration::ZERO;
    let mut first_run = Duration::ZERO;
    let mut fastest: Option<Phases> = None;
    let mut dropped = 0u64;
    for i in 0..runs {
        let nonce = nonce(i);
        let start = Instant::now();
        let found = solver.solve(&INPUT, &nonce);
        let took = start.elapsed();
        solve_time += took;
        dropped += solver.phases().dropped;
        if i == 0 {
            first_run = took;
        }
        // Phase minima over the runs after the first (which faults in the heaps).
        if i > 0 || runs == 1 {
            fastest = Some(match fastest {
                None => solver.phases().clone(),
                Some(best) => min_phases(&best, solver.phases()),
            });
        }
        ours.push(found);
    }
    let threads = solver.thread_count();
    drop(solver);

    // Verify every solution, timed separately.
    let mut verify_time = Duration::ZERO;
    let mut failures = 0usize;
    for (i, solutions) in (0u32..).zip(&ours) {
        let nonce = nonce(i);
        for solution in solutions {
            let start = Instant::now();
            let result = verify(&params, &INPUT, &nonce, solution);
            verify_time += start.elapsed();
            if let Err(e) = result {
                failures += 1;
                eprintln!("nonce {i}: solution rejected by verify: {e}");
            }
        }
    }
    let solutions: usize = ours.iter().map(Vec::len).sum();

    println!("params=({},{})", params.n(), params.k());
    println!("threads={threads}");
    println!("runs={runs}");
    println!("solutions={solutions}");
    println!(
        "solutions_per_run={:.3}",
        solutions as f64 / f64::from(runs)
    );
    println!("solutions_per_s={:.3}", per_s(solutions, solve_time));
    println!("ms_per_run={:.1}", ms_per(solve_time, runs));
    println!("first_run_ms={:.1}", first_run.as_secs_f64() * 1e3);
    if runs > 1 {
        println!(
            "ms_per_run_after_first={:.1}",
            ms_per(solve_time - first_run, runs - 1)
        );
    }
    if let Some(phases) = &fastest {
        println!("phase_min_ms={}", show_phases(phases));
        let busy: Vec<String> = phases
            .busy
            .iter()
            .enumerate()
            .map(|(w, d)| format!("w{w}:{:.1}", d.as_secs_f64() * 1e3))
            .collect();
        println!("worker_busy_min_ms={}", busy.join(","));
    }
    println!("dropped_entries={dropped}");
    if solutions > 0 {
        println!(
            "us_per_verification={:.1}",
            verify_time.as_secs_f64() * 1e6 / solutions as f64
        );
    } else {
        println!("us_per_verification=n/a");
    }
    let before_reference = peak_rss_kb();
    let mut differing = 0u32;
    if !args.reference {
        println!("peak_rss_kb={}", show_rss(before_reference));
    } else {
        println!(
            "peak_rss_kb_before_reference={}",
            show_rss(before_reference)
        );
        let mut reference_time = Duration::ZERO;
        let mut reference_solutions = 0usize;
        let mut identical = 0u32;
        for (i, ours) in (0u32..).zip(&ours) {
            let mut once = Some(nonce(i));
            let start = Instant::now();
            let theirs = equihash::tromp::solve_200_9(&INPUT, || once.take());
            reference_time += start.elapsed();
            reference_solutions += theirs.len();
            let same = if theirs.len() < REFERENCE_MAX_SOLUTIONS {
                *ours == theirs
            } else {
                theirs.iter().all(|s| ours.contains(s))
            };
            if same {
                identical += 1;
            } else {
                differing += 1;
                let missing = theirs.iter().filter(|s| !ours.contains(s)).count();
                let extra = ours.iter().filter(|s| !theirs.contains(s)).count();
                eprintln!(
                    "nonce {i}: sets differ: tau-pow {} solutions, reference {}; \
                     {missing} only in the reference, {extra} only in tau-pow",
                    ours.len(),
                    theirs.len()
                );
            }
        }
        let ours_rate = per_s(solutions, solve_time);
        let reference_rate = per_s(reference_solutions, reference_time);
        println!("reference_solutions={reference_solutions}");
        println!("reference_ms_per_run={:.1}", ms_per(reference_time, runs));
        println!("reference_solutions_per_s={reference_rate:.3}");
        if reference_rate > 0.0 {
            println!("ratio_solutions_per_s={:.3}", ours_rate / reference_rate);
        } else {
            println!("ratio_solutions_per_s=n/a");
        }
        println!("identical_sets={identical}/{runs}");
        println!("peak_rss_kb={}", show_rss(peak_rss_kb()));
    }

    if failures > 0 {
        return Err(format!("{failures} of {solutions} solutions failed verification").into());
    }
    if differing > 0 {
        return Err(format!(
            "{differing} of {runs} nonces: tau-pow's solution set differs from the reference solver's"
        )
        .into());
    }
    Ok(())
}
