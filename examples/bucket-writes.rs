//! How much does filing entries into random buckets cost, by bucket count and
//! slot layout? The question behind tau-pow's solver design (BENCHMARKS.md,
//! "Where the time goes"): every Equihash round writes 2^21 entries of 28
//! bytes (a 4-byte tree word and 24 bytes of hash) into random buckets.
//!
//! ```text
//! cargo run --release --example bucket-writes -- [--entries N] [--repeats R]
//!     [--buckets 4096,2048,1024,512,256]
//! ```
//!
//! For each bucket count, each layout is timed `R` times (the minimum is
//! printed) writing `N` entries to buckets drawn by a fixed xorshift sequence,
//! with 659/512 of the mean bucket size as capacity (as the solver):
//!
//! - `apart`: per bucket, a region of tree words then a region of hashes (the
//!   solver's layout: two open cache lines per bucket);
//! - `slot`: the tree word beside its hash, 7 words per slot (one open line).
//!
//! Output: one line per bucket count, `buckets=B apart_ms=… slot_ms=…`, then a
//! checksum of the buffer so that no store can be optimised away.

use std::error::Error;
use std::hint::black_box;
use std::time::{Duration, Instant};

use clap::Parser;

/// Time random-bucket writes by bucket count and slot layout.
#[derive(Parser, Debug)]
#[command(version, about)]
struct Args {
    /// Entries written per pass.
    #[arg(long, default_value_t = 1 << 21)]
    entries: usize,
    /// Passes per (bucket count, layout); the minimum is printed.
    #[arg(long, default_value_t = 4)]
    repeats: u32,
    /// Bucket counts (powers of two), comma-separated.
    #[arg(long, value_delimiter = ',', default_value = "4096,2048,1024,512,256")]
    buckets: Vec<usize>,
}

/// Hash words per entry (list 0 of (200,9)).
const HASH_WORDS: usize = 6;

#[derive(Clone, Copy)]
enum Layout {
    Apart,
    Slot,
}

/// One pass: `entries` writes into `buckets` buckets of `heap`.
fn pass(
    heap: &mut [u32],
    entries: usize,
    buckets: usize,
    layout: Layout,
    seed: &mut u64,
) -> Duration {
    let cap = entries / buckets * 659 / 512;
    let bucket_words = cap * (1 + HASH_WORDS);
    let mut counts = vec![0usize; buckets];
    let start = Instant::now();
    for _ in 0..entries {
        *seed ^= *seed << 13;
        *seed ^= *seed >> 7;
        *seed ^= *seed << 17;
        let x = *seed;
        let bucket = (x as usize) & (buckets - 1);
        let slot = counts[bucket];
        counts[bucket] += 1;
        if slot >= cap {
            continue;
        }
        let base = bucket * bucket_words;
        let (tree_at, hash_at) = match layout {
            Layout::Apart => (base + slot, base + cap + slot * HASH_WORDS),
            Layout::Slot => (
                base + slot * (1 + HASH_WORDS),
                base + slot * (1 + HASH_WORDS) + 1,
            ),
        };
        if let Some(t) = heap.get_mut(tree_at) {
            *t = x as u32;
        }
        if let Some(h) = heap.get_mut(hash_at..hash_at + HASH_WORDS) {
            for (i, w) in h.iter_mut().enumerate() {
                *w = (x >> (4 * i)) as u32;
            }
        }
    }
    start.elapsed()
}

fn main() -> Result<(), Box<dyn Error>> {
    let args = Args::parse();
    if args
        .buckets
        .iter()
        .any(|b| !b.is_power_of_two() || *b > args.entries)
    {
        return Err("--buckets must be powers of two, at most --entries".into());
    }
    let most = args.entries * 659 / 512 * (1 + HASH_WORDS) + (1 + HASH_WORDS) * 4096;
    // Touch every page first: the passes measure writes, not page faults.
    let mut heap = vec![1u32; most];
    let mut seed = 0x9e37_79b9_7f4a_7c15u64;
    for &buckets in &args.buckets {
        let mut line = format!("buckets={buckets}");
        for (name, layout) in [("apart", Layout::Apart), ("slot", Layout::Slot)] {
            let best = (0..args.repeats.max(1))
                .map(|_| {
                    pass(
                        black_box(&mut heap),
                        args.entries,
                        buckets,
                        layout,
                        &mut seed,
                    )
                })
                .min()
                .unwrap_or_default();
            line.push_str(&format!(" {name}_ms={:.1}", best.as_secs_f64() * 1e3));
        }
        println!("{line}");
    }
    println!("checksum={}", heap.iter().fold(0u32, |a, &w| a ^ w));
    Ok(())
}
