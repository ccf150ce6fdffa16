//! Load test of the HAMT: insert N generated entries, read them back from a cold
//! load, delete half, and report timings, root CIDs and store size.
//!
//! ```text
//! cargo run --release --example hamt-load -- [--n N] [--seed S] [--bitwidth B]
//!     [--store memory|redb] [--path FILE] [--impl tau|fvm] [--insert set|bulk]
//!     [--check-vector]
//! ```
//!
//! Defaults: `--n 100000 --seed 1 --bitwidth 5 --store memory --impl tau`.
//! Keys and values follow `docs/src/formats/hamt.md` ("Reference vectors"): key i is the i-th splitmix64 draw
//! (state starting at S) as 8 bytes big-endian, value i is `i as u64`, buckets of
//! 3. The steps, each timed on its own:
//!
//! 1. `insert_flush_ms`: new map, `set` all N entries, `flush` → `root_cid`
//!    (with `--insert bulk`, tau-hamt's `Hamt::extend` with all N entries
//!    instead of N calls to `set`);
//! 2. `get_ms`: fresh load from `root_cid` (no cached nodes), `get` all N keys and
//!    check each value (a wrong or missing value is an error, exit status 1);
//! 3. `delete_flush_ms`: fresh load, delete the first N/2 keys in generation
//!    order, `flush` → `root_cid_after_delete`;
//! 4. `store_blocks`, `store_bytes`: every block in the store at the end, those
//!    written before the delete included.
//!
//! The output is one `name=value` line per figure, in that order.
//!
//! `--impl fvm` runs the same steps with the reference crate `fvm_ipld_hamt`
//! 0.10.6 on its own in-memory store (memory only): the in-run baseline.
//! `--store redb` writes to a temporary redb file removed at exit, or to
//! `--path FILE`, which is kept (blocks already in it count in the store figures).
//! `--check-vector` compares the run with the row of the reference-vector table in `docs/src/formats/hamt.md` for
//! the same seed, bit width and N: `root_cid` (where §10 lists one) and the
//! blocks and bytes in the store right after step 1 (a new map flushed once
//! writes exactly the blocks reachable from its root). A mismatch, or no row
//! for these parameters, is an error; the verdict goes to stderr.

use std::cell::Cell;
use std::error::Error;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use clap::{Parser, ValueEnum};
use tau::hamt::{vectors, Config, Hamt};
use tau::ipld::{Blockstore, Cid, MemoryBlockstore, RedbBlockstore};

/// The reference-vector table of `docs/src/formats/hamt.md`: (seed, bit width, N, root CID if listed, reachable
/// blocks, their bytes).
type Vector = (u64, u32, usize, Option<&'static str>, u64, u64);
const VECTORS: &[Vector] = &[
    (
        1,
        5,
        1_000,
        Some("bafy2bzacebgzr7gu73yf2qfwqtmemkfdzuszcwrzjskt5wccsbzlj5jysmdls"),
        50,
        15_875,
    ),
    (
        1,
        5,
        100_000,
        Some("bafy2bzacecx2uenvdtpjw5kqbf2fbicz6g5ncnd2xxdcwewhw6pkppz6khxxw"),
        12_895,
        2_085_035,
    ),
    (
        1,
        5,
        1_000_000,
        Some("bafy2bzacea3dk62ugdzlwrxh26dackljx5flvqbnq773a6rflfqjvhhq3swl6"),
        50_836,
        18_103_286,
    ),
    (1, 8, 1_000, None, 141, 24_050),
    (1, 8, 100_000, None, 4_900, 1_795_601),
    (1, 8, 1_000_000, None, 65_794, 20_928_706),
];

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum StoreKind {
    Memory,
    Redb,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum Insert {
    /// One `set` per entry (what the reference crate offers).
    Set,
    /// One `Hamt::extend` with every entry (tau-hamt only).
    Bulk,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum Impl {
    /// tau-hamt (this workspace).
    Tau,
    /// fvm_ipld_hamt 0.10.6, the reference implementation.
    Fvm,
}

/// Insert, cold-get and delete N generated entries in a HAMT and report timings.
#[derive(Parser, Debug)]
#[command(version, about)]
struct Args {
    /// Number of entries.
    #[arg(long, default_value_t = 100_000)]
    n: usize,
    /// splitmix64 seed of the keys.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Bits of the key hash per level (1..=8).
    #[arg(long, default_value_t = 5)]
    bitwidth: u32,
    /// Block store.
    #[arg(long, value_enum, default_value_t = StoreKind::Memory)]
    store: StoreKind,
    /// redb file to use and keep (default: a temporary file removed at exit).
    #[arg(long)]
    path: Option<PathBuf>,
    /// HAMT implementation.
    #[arg(long = "impl", value_enum, default_value_t = Impl::Tau)]
    implementation: Impl,
    /// How step 1 inserts the entries.
    #[arg(long, value_enum, default_value_t = Insert::Set)]
    insert: Insert,
    /// Check root_cid against the `docs/src/formats/hamt.md` vector for these parameters.
    #[arg(long)]
    check_vector: bool,
}

/// What one run measured.
struct Report {
    root_cid: String,
    insert_flush_ms: f64,
    get_ms: f64,
    delete_flush_ms: f64,
    root_cid_after_delete: String,
    store_blocks: u64,
    store_bytes: u64,
    /// Blocks and bytes in the store right after step 1 (not timed): a new map
    /// flushed once writes exactly the blocks reachable from its root.
    inserted: (u64, u64),
}

fn ms(start: Instant) -> f64 {
    start.elapsed().as_secs_f64() * 1000.0
}

/// The three steps with tau-hamt on any store, `stats` giving its block count
/// and total bytes.
fn run_tau<BS: Blockstore>(
    store: &BS,
    stats: impl Fn(&BS) -> Result<(u64, u64), Box<dyn Error>>,
    keys: &[[u8; 8]],
    config: Config,
    insert: Insert,
) -> Result<Report, Box<dyn Error>> {
    let start = Instant::now();
    let mut map: Hamt<&BS, u64> = Hamt::new_with_config(store, config);
    match insert {
        Insert::Set => {
            for (i, key) in keys.iter().enumerate() {
                map.set(key, i as u64)?;
            }
        }
        Insert::Bulk => map.extend(keys.iter().zip(0u64..))?,
    }
    let root = map.flush()?;
    let insert_flush_ms = ms(start);
    drop(map);
    let inserted = stats(store)?;

    let start = Instant::now();
    let map: Hamt<&BS, u64> = Hamt::load_with_config(store, &root, config)?;
    for (i, key) in keys.iter().enumerate() {
        match map.get(key)? {
            Some(v) if v == i as u64 => {}
            other => return Err(format!("get key {i}: expected {i}, found {other:?}").into()),
        }
    }
    let get_ms = ms(start);
    drop(map);

    let start = Instant::now();
    let mut map: Hamt<&BS, u64> = Hamt::load_with_config(store, &root, config)?;
    for (i, key) in keys[..keys.len() / 2].iter().enumerate() {
        match map.delete(key)? {
            Some(v) if v == i as u64 => {}
            other => return Err(format!("delete key {i}: expected {i}, found {other:?}").into()),
        }
    }
    let after = map.flush()?;
    let delete_flush_ms = ms(start);
    drop(map);

    let (store_blocks, store_bytes) = stats(store)?;
    Ok(Report {
        root_cid: root.to_string(),
        insert_flush_ms,
        get_ms,
        delete_flush_ms,
        root_cid_after_delete: after.to_string(),
        store_blocks,
        store_bytes,
        inserted,
    })
}

/// An fvm block store that only counts what is put into it: the store figures
/// of fvm's `MemoryBlockstore`, which has no accessors, come from copying it
/// here between the timed steps.
#[derive(Default)]
struct CountingSink {
    blocks: Cell<u64>,
    bytes: Cell<u64>,
}

impl CountingSink {
    fn stats_of(store: &fvm_ipld_blockstore::MemoryBlockstore) -> anyhow::Result<(u64, u64)> {
        let sink = CountingSink::default();
        store.copy_to(&sink)?;
        Ok((sink.blocks.get(), sink.bytes.get()))
    }
}

impl fvm_ipld_blockstore::Blockstore for CountingSink {
    fn get(&self, _: &Cid) -> anyhow::Result<Option<Vec<u8>>> {
        Ok(None)
    }

    fn put_keyed(&self, _: &Cid, block: &[u8]) -> anyhow::Result<()> {
        self.blocks.set(self.blocks.get() + 1);
        self.bytes.set(self.bytes.get() + block.len() as u64);
        Ok(())
    }
}

/// The three steps with fvm_ipld_hamt on its in-memory store.
fn run_fvm(keys: &[[u8; 8]], bit_width: u32) -> Result<Report, Box<dyn Error>> {
    use fvm_ipld_hamt::{BytesKey, Hamt};
    type FvmHamt<'a> = Hamt<&'a fvm_ipld_blockstore::MemoryBlockstore, u64, BytesKey>;
    let store = fvm_ipld_blockstore::MemoryBlockstore::new();

    let start = Instant::now();
    let mut map = FvmHamt::new_with_bit_width(&store, bit_width);
    for (i, key) in keys.iter().enumerate() {
        map.set(BytesKey(key.to_vec()), i as u64)?;
    }
    let root = map.flush()?;
    let insert_flush_ms = ms(start);
    drop(map);
    let inserted = CountingSink::stats_of(&store)?;

    let start = Instant::now();
    let map = FvmHamt::load_with_bit_width(&root, &store, bit_width)?;
    for (i, key) in keys.iter().enumerate() {
        match map.get(&key[..])? {
            Some(&v) if v == i as u64 => {}
            other => return Err(format!("get key {i}: expected {i}, found {other:?}").into()),
        }
    }
    let get_ms = ms(start);
    drop(map);

    let start = Instant::now();
    let mut map = FvmHamt::load_with_bit_width(&root, &store, bit_width)?;
    for (i, key) in keys[..keys.len() / 2].iter().enumerate() {
        match map.delete(&key[..])? {
            Some((_, v)) if v == i as u64 => {}
            other => {
                let found = other.map(|(_, v)| v);
                return Err(format!("delete key {i}: expected {i}, found {found:?}").into());
            }
        }
    }
    let after = map.flush()?;
    let delete_flush_ms = ms(start);
    drop(map);

    let (store_blocks, store_bytes) = CountingSink::stats_of(&store)?;
    Ok(Report {
        root_cid: root.to_string(),
        insert_flush_ms,
        get_ms,
        delete_flush_ms,
        root_cid_after_delete: after.to_string(),
        store_blocks,
        store_bytes,
        inserted,
    })
}

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("hamt-load: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run() -> Result<(), Box<dyn Error>> {
    let args = Args::parse();
    if args.path.is_some() && args.store != StoreKind::Redb {
        return Err("--path needs --store redb".into());
    }
    let config = Config::with_bit_width(args.bitwidth)?;
    let keys = vectors::keys(args.seed, args.n);

    let report = match (args.implementation, args.store) {
        (Impl::Fvm, StoreKind::Redb) => {
            return Err("--impl fvm runs on fvm's in-memory store only".into())
        }
        (Impl::Fvm, _) if args.insert == Insert::Bulk => {
            return Err("--insert bulk is tau-hamt's Hamt::extend; fvm has no bulk insert".into())
        }
        (Impl::Fvm, StoreKind::Memory) => run_fvm(&keys, args.bitwidth)?,
        (Impl::Tau, StoreKind::Memory) => {
            let stats = |s: &MemoryBlockstore| Ok((s.len() as u64, s.total_bytes() as u64));
            run_tau(&MemoryBlockstore::new(), stats, &keys, config, args.insert)?
        }
        (Impl::Tau, StoreKind::Redb) => {
            // The temporary directory (if any) lives until the end of this arm.
            let (_dir, path) = match &args.path {
                Some(path) => (None, path.clone()),
                None => {
                    let dir = tempfile::tempdir()?;
                    let path = dir.path().join("hamt-load.redb");
                    (Some(dir), path)
                }
            };
            let store = RedbBlockstore::open(&path)?;
            let stats = |s: &RedbBlockstore| Ok((s.block_count()?, s.total_bytes()?));
            run_tau(&store, stats, &keys, config, args.insert)?
        }
    };

    println!("root_cid={}", report.root_cid);
    println!("insert_flush_ms={:.3}", report.insert_flush_ms);
    println!("get_ms={:.3}", report.get_ms);
    println!("delete_flush_ms={:.3}", report.delete_flush_ms);
    println!("root_cid_after_delete={}", report.root_cid_after_delete);
    println!("store_blocks={}", report.store_blocks);
    println!("store_bytes={}", report.store_bytes);

    if args.check_vector {
        check_vector(&args, &report)?;
    }
    Ok(())
}

/// `--check-vector`: the root, and the blocks and bytes written by step 1,
/// against the table of `docs/src/formats/hamt.md`. A store that already held blocks (`--path`)
/// skews the block figures.
fn check_vector(args: &Args, report: &Report) -> Result<(), Box<dyn Error>> {
    let key = (args.seed, args.bitwidth, args.n);
    let Some(&(.., root, blocks, bytes)) = VECTORS.iter().find(|v| (v.0, v.1, v.2) == key) else {
        // Asked to check and nothing to check against: not a pass.
        return Err(format!(
            "check-vector: docs/src/formats/hamt.md (Generated maps) has no row for seed {}, bit width {}, n {}",
            key.0, key.1, key.2
        )
        .into());
    };
    if let Some(root) = root {
        if report.root_cid != root {
            return Err(format!(
                "check-vector: root_cid {} differs from §10's {root}",
                report.root_cid
            )
            .into());
        }
    }
    if report.inserted != (blocks, bytes) {
        return Err(format!(
            "check-vector: step 1 wrote {} blocks, {} bytes; §10 lists {blocks} blocks, {bytes} bytes",
            report.inserted.0, report.inserted.1
        )
        .into());
    }
    let what = if root.is_some() {
        "root, blocks and bytes"
    } else {
        "blocks and bytes"
    };
    eprintln!("check-vector: {what} match docs/src/formats/hamt.md (Generated maps)");
    Ok(())
}
