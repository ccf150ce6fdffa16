//! Attachments from the command line: pack, fetch from several peers, export.
//!
//! ```text
//! cargo run --release --example attach -- put PATH --store FILE
//! cargo run --release --example attach -- get ROOT --peers FILE[,FILE…] --out DIR [--store FILE]
//! cargo run --release --example attach -- bench [--mib 512] [--level L]
//! ```
//!
//! `put` packs a file or directory into the redb block store FILE and prints
//! `root=` and `size=`. `get` downloads the attachment from the peers' block
//! stores (redb files standing in for network peers until tau-node serves
//! them over Graphsync) into `--store` (a temporary store if omitted), with a
//! progress bar, then exports it under DIR. `bench` measures, in memory:
//! upload (pack + chunk + store) of N MiB of incompressible data, then the
//! download of it from 1 and from 3 peers, and prints MB/s for each.

use std::error::Error;
use std::path::PathBuf;
use std::sync::atomic::AtomicBool;
use std::time::Instant;

use clap::{Parser, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};
use rand::{RngCore, SeedableRng};
use tau::attach::{download, export, upload, Config, DownloadOptions, Progress, Source};
use tau::hamt::{Blockstore, Cid, MemoryBlockstore, RedbBlockstore};

#[derive(Parser)]
struct Args {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Pack PATH into the block store FILE.
    Put {
        path: PathBuf,
        #[arg(long)]
        store: PathBuf,
    },
    /// Download ROOT from the peers' stores and export it under DIR.
    Get {
        root: Cid,
        #[arg(long, value_delimiter = ',')]
        peers: Vec<PathBuf>,
        #[arg(long)]
        out: PathBuf,
        #[arg(long)]
        store: Option<PathBuf>,
    },
    /// Upload and download throughput in memory.
    Bench {
        #[arg(long, default_value_t = 512)]
        mib: usize,
        /// gzip level (the default config's level if omitted).
        #[arg(long)]
        level: Option<u32>,
    },
}

/// A peer that serves blocks from a store.
struct StorePeer<BS> {
    name: String,
    store: BS,
}

impl<BS: Blockstore + Send + Sync> Source for StorePeer<BS> {
    fn name(&self) -> String {
        self.name.clone()
    }

    fn fetch(&self, cid: &Cid) -> Result<Vec<u8>, String> {
        self.store
            .get(cid)
            .map_err(|e| e.to_string())?
            .ok_or_else(|| "not found".into())
    }
}

fn main() -> Result<(), Box<dyn Error>> {
    let config = Config::default();
    match Args::parse().command {
        Command::Put { path, store } => {
            let store = RedbBlockstore::open(store)?;
            let up = upload(&store, &path, &config)?;
            println!("root={}", up.root);
            println!("size={}", up.size);
            println!("sections={}", up.manifest.section_count);
        }
        Command::Get {
            root,
            peers,
            out,
            store,
        } => {
            let peers: Vec<StorePeer<RedbBlockstore>> = peers
                .iter()
                .map(|p| {
                    Ok(StorePeer {
                        name: p.display().to_string(),
                        store: RedbBlockstore::open(p)?,
                    })
                })
                .collect::<Result<_, tau::hamt::Error>>()?;
            let sources: Vec<&dyn Source> = peers.iter().map(|p| p as &dyn Source).collect();
            let temp = tempfile::tempdir()?;
            let path = store.unwrap_or_else(|| temp.path().join("store.redb"));
            let mine = RedbBlockstore::open(path)?;
            let bar = ProgressBar::new(0);
            bar.set_style(ProgressStyle::with_template(
                "{bar:40} {bytes}/{total_bytes} {msg}",
            )?);
            let show = |p: Progress| {
                bar.set_length(p.bytes_total);
                bar.set_position(p.bytes_done);
                bar.set_message(format!(
                    "{}/{} sections, {} peers",
                    p.sections_done, p.sections_total, p.peers_active
                ));
            };
            let cancel = AtomicBool::new(false);
            let report = download(
                &mine,
                &root,
                &sources,
                &config,
                &DownloadOptions::default(),
                &cancel,
                &show,
            )?;
            bar.finish_and_clear();
            let exported = export(&mine, &root, &out, &config)?;
            println!("sections_present={}", report.sections_present);
            println!("sections_fetched={}", report.sections_fetched);
            println!("per_peer={:?}", report.per_source);
            println!("liars={:?}", report.liars);
            println!("files={} bytes={}", exported.files, exported.bytes);
        }
        Command::Bench { mib, level } => {
            let config = match level {
                Some(level) => Config::builder().compression(level).build()?,
                None => config,
            };
            bench(mib, &config)?
        }
    }
    Ok(())
}

fn bench(mib: usize, config: &Config) -> Result<(), Box<dyn Error>> {
    let dir = tempfile::tempdir()?;
    let file = dir.path().join("media.bin");
    let mut data = vec![0u8; mib << 20];
    rand::rngs::StdRng::seed_from_u64(1).fill_bytes(&mut data);
    std::fs::write(&file, &data)?;
    drop(data);
    let host = MemoryBlockstore::new();
    let start = Instant::now();
    let up = upload(&host, &file, config)?;
    let secs = start.elapsed().as_secs_f64();
    println!("attachment_mib={mib}");
    println!("gzip_level={}", config.compression());
    println!("upload_mb_per_s={:.0}", up.size as f64 / secs / 1e6);
    let peers: Vec<StorePeer<&MemoryBlockstore>> = (0..3)
        .map(|i| StorePeer {
            name: format!("peer{i}"),
            store: &host,
        })
        .collect();
    for n in [1usize, 3] {
        let sources: Vec<&dyn Source> = peers.iter().take(n).map(|p| p as &dyn Source).collect();
        let mine = MemoryBlockstore::new();
        let cancel = AtomicBool::new(false);
        let start = Instant::now();
        download(
            &mine,
            &up.root,
            &sources,
            config,
            &DownloadOptions::default(),
            &cancel,
            &|_| {},
        )?;
        let secs = start.elapsed().as_secs_f64();
        println!(
            "download_{n}_peers_mb_per_s={:.0}",
            up.size as f64 / secs / 1e6
        );
    }
    Ok(())
}
