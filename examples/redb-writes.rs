//! How fast does a node's redb store take blocks, one transaction per block
//! versus one per batch? The question behind `tau_ipld::blockstore::WriteBatch`
//! (BENCHMARKS.md, "tau-node: redb writes").
//!
//! ```text
//! cargo run --release --example redb-writes -- [--blocks N] [--size BYTES]
//!     [--upload-mib M] [--repeats R]
//! ```
//!
//! Each repeat, on fresh redb files in a temporary directory:
//!
//! - `per_put`: `N` blocks of `BYTES`, each with its own `put_keyed` (one redb
//!   transaction each — how attachment uploads wrote before);
//! - `batched`: the same blocks through a `WriteBatch` (8 MiB per flush);
//! - `re_put`: the `N` blocks put again though present (no transaction is
//!   committed for them any more);
//! - `upload_direct` / `upload_batched`: `tau_attach::upload` of an `M` MiB
//!   file straight into redb versus through a `WriteBatch`, as
//!   `NodeHandle::attach_put` does now.
//!
//! Output: one line per repeat with blocks/s (or MiB/s) of each, and the
//! ratio batched / per_put (the anchor is per_put of the same repeat).

use std::error::Error;
use std::time::Instant;

use clap::Parser;
use tau_ipld::block::{cid_of, RAW};
use tau_ipld::blockstore::WriteBatch;
use tau_ipld::{Blockstore, RedbBlockstore};

/// Time redb block writes: per block, batched, re-put, and attachment uploads.
#[derive(Parser, Debug)]
#[command(version, about)]
struct Args {
    /// Blocks written per mode.
    #[arg(long, default_value_t = 2000)]
    blocks: usize,
    /// Bytes per block.
    #[arg(long, default_value_t = 4096)]
    size: usize,
    /// Size of the uploaded file in MiB.
    #[arg(long, default_value_t = 16)]
    upload_mib: usize,
    /// Repeats (each on fresh files).
    #[arg(long, default_value_t = 3)]
    repeats: usize,
}

const BATCH_BYTES: usize = 8 << 20;

fn main() -> Result<(), Box<dyn Error>> {
    let args = Args::parse();
    let blocks: Vec<(tau_ipld::Cid, Vec<u8>)> = (0..args.blocks)
        .map(|i| {
            let mut data = vec![0u8; args.size];
            for (j, b) in data.iter_mut().enumerate() {
                *b = (i.wrapping_mul(31) ^ j.wrapping_mul(7)) as u8;
            }
            data[..8].copy_from_slice(&(i as u64).to_be_bytes());
            (cid_of(RAW, &data), data)
        })
        .collect();
    let dir = tempfile::tempdir()?;
    let file = dir.path().join("upload.bin");
    let content: Vec<u8> = (0..args.upload_mib << 20)
        .map(|i| (i as u32).wrapping_mul(2_654_435_761).to_be_bytes()[0])
        .collect();
    std::fs::write(&file, &content)?;
    let config = tau_attach::Config::default();
    let mib = args.upload_mib as f64;
    for repeat in 0..args.repeats {
        let per_put = {
            let store = RedbBlockstore::open(dir.path().join(format!("a{repeat}.redb")))?;
            let start = Instant::now();
            for (cid, data) in &blocks {
                store.put_keyed(cid, data)?;
            }
            let per_put = start.elapsed().as_secs_f64();
            let start = Instant::now();
            for (cid, data) in &blocks {
                store.put_keyed(cid, data)?;
            }
            let re_put = start.elapsed().as_secs_f64();
            (per_put, re_put)
        };
        let batched = {
            let store = RedbBlockstore::open(dir.path().join(format!("b{repeat}.redb")))?;
            let start = Instant::now();
            let batch = WriteBatch::new(&store, BATCH_BYTES);
            for (cid, data) in &blocks {
                batch.put_keyed(cid, data)?;
            }
            batch.flush()?;
            let took = start.elapsed().as_secs_f64();
            assert_eq!(store.block_count()? as usize, blocks.len());
            took
        };
        let upload_direct = {
            let store = RedbBlockstore::open(dir.path().join(format!("c{repeat}.redb")))?;
            let start = Instant::now();
            tau_attach::upload(&store, &file, &config)?;
            start.elapsed().as_secs_f64()
        };
        let upload_batched = {
            let store = RedbBlockstore::open(dir.path().join(format!("d{repeat}.redb")))?;
            let start = Instant::now();
            let batch = WriteBatch::new(&store, BATCH_BYTES);
            tau_attach::upload(&batch, &file, &config)?;
            batch.flush()?;
            start.elapsed().as_secs_f64()
        };
        let n = blocks.len() as f64;
        println!(
            "repeat={repeat} per_put_blocks_s={:.0} batched_blocks_s={:.0} ratio={:.1} \
             re_put_blocks_s={:.0} upload_direct_mib_s={:.1} upload_batched_mib_s={:.1} \
             upload_ratio={:.2}",
            n / per_put.0,
            n / batched,
            per_put.0 / batched,
            n / per_put.1,
            mib / upload_direct,
            mib / upload_batched,
            upload_direct / upload_batched,
        );
    }
    Ok(())
}
