//! Attachments from the command line: pack and serve, fetch from several
//! peers over the network, export.
//!
//! ```text
//! cargo run --release --example attach -- put PATH --store FILE [--serve MULTIADDR]
//! cargo run --release --example attach -- serve --store FILE [--listen MULTIADDR]
//! cargo run --release --example attach -- get ROOT --peers MULTIADDR[,MULTIADDR…] --out DIR [--store FILE]
//! cargo run --release --example attach -- bench [--mib 512] [--level L]
//! ```
//!
//! `put` packs a file or directory into the redb block store FILE and prints
//! `root=` and `size=`; with `--serve` it then serves the store (as `serve`
//! does). `serve` serves a store over Graphsync v2 on libp2p (tcp + noise +
//! yamux, `/ip4/127.0.0.1/tcp/0` by default), prints `addr=` (a multiaddress
//! ending in `/p2p/<peer id>`) and runs until Ctrl-C. `get` downloads the
//! attachment from the peers at those multiaddresses — each section one
//! Graphsync request, verified by CID, several peers at once — into
//! `--store` (a temporary store if omitted), with a progress bar, then
//! exports it under DIR. Two shells on one machine:
//!
//! ```text
//! attach put ./photos --store host.redb --serve /ip4/127.0.0.1/tcp/4001   # prints root= and addr=
//! attach get ROOT --peers /ip4/127.0.0.1/tcp/4001/p2p/PEER --out ./copy
//! ```
//!
//! (Quotas and attachment logs are the TAU node's: see tau-node.)
//! `bench` measures, in memory:
//! upload (pack + chunk + store) of N MiB of incompressible data, then the
//! download of it from 1 and from 3 peers, and prints MB/s for each.

use std::error::Error;
use std::path::PathBuf;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::{Parser, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};
use rand::{RngCore, SeedableRng};
use tau::attach::{download, export, upload, Config, DownloadOptions, Progress, Source};
use tau::graphsync::net::{self, Multiaddr, PeerId, SharedStore, TcpNode};
use tau::ipld::{Blockstore, Cid, MemoryBlockstore, RedbBlockstore};
use tau::node::GraphsyncSource;

/// How long one section request may go without an answer.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

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
        /// Then serve the store on this address until Ctrl-C.
        #[arg(long)]
        serve: Option<Multiaddr>,
    },
    /// Serve the block store FILE over Graphsync until Ctrl-C.
    Serve {
        #[arg(long)]
        store: PathBuf,
        #[arg(long, default_value = "/ip4/127.0.0.1/tcp/0")]
        listen: Multiaddr,
    },
    /// Download ROOT from the peers (multiaddresses ending in /p2p/<peer id>)
    /// and export it under DIR.
    Get {
        root: Cid,
        #[arg(long, value_delimiter = ',', required = true)]
        peers: Vec<Multiaddr>,
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

/// Serves `store` on `listen` until Ctrl-C.
fn serve(store: SharedStore, listen: Multiaddr) -> Result<(), Box<dyn Error>> {
    let runtime = tokio::runtime::Runtime::new()?;
    runtime.block_on(async {
        let node =
            TcpNode::spawn_with(libp2p::identity::Keypair::generate_ed25519(), listen).await?;
        let _graphsync = node.start_graphsync(store, net::Config::default())?;
        println!("addr={}/p2p/{}", node.listen_addr(), node.peer_id());
        println!("serving; Ctrl-C stops");
        tokio::signal::ctrl_c().await?;
        Ok(())
    })
}

/// The peer id a multiaddress ends with.
fn peer_of(addr: &Multiaddr) -> Result<PeerId, Box<dyn Error>> {
    match addr.iter().last() {
        Some(libp2p::multiaddr::Protocol::P2p(peer)) => Ok(peer),
        _ => Err(format!("{addr} does not end with /p2p/<peer id>").into()),
    }
}

fn main() -> Result<(), Box<dyn Error>> {
    let config = Config::default();
    match Args::parse().command {
        Command::Put {
            path,
            store,
            serve: listen,
        } => {
            let store = Arc::new(RedbBlockstore::open(store)?);
            let up = upload(&*store, &path, &config)?;
            println!("root={}", up.root);
            println!("size={}", up.size);
            println!("sections={}", up.manifest.section_count);
            if let Some(listen) = listen {
                serve(store, listen)?;
            }
        }
        Command::Serve { store, listen } => serve(Arc::new(RedbBlockstore::open(store)?), listen)?,
        Command::Get {
            root,
            peers,
            out,
            store,
        } => {
            let temp = tempfile::tempdir()?;
            let path = store.unwrap_or_else(|| temp.path().join("store.redb"));
            let mine: SharedStore = Arc::new(RedbBlockstore::open(path)?);
            let runtime = tokio::runtime::Runtime::new()?;
            let (node, graphsync) = runtime.block_on(async {
                let node = TcpNode::spawn().await?;
                let graphsync = node.start_graphsync(
                    mine.clone(),
                    net::Config::default().with_request_timeout(REQUEST_TIMEOUT),
                )?;
                for addr in &peers {
                    let peer = peer_of(addr)?;
                    if let Err(e) = node.connect(peer, addr.clone()).await {
                        eprintln!("cannot reach {addr}: {e}");
                    }
                }
                Ok::<_, Box<dyn Error>>((node, graphsync))
            })?;
            // Each block is one verified Graphsync request naming the
            // attachment, so a tau-node host charges and logs it under `root`.
            let peers: Vec<GraphsyncSource> = peers
                .iter()
                .map(|addr| {
                    Ok(GraphsyncSource::new(
                        graphsync.clone(),
                        mine.clone(),
                        peer_of(addr)?,
                        runtime.handle().clone(),
                        REQUEST_TIMEOUT,
                        root,
                    ))
                })
                .collect::<Result<_, Box<dyn Error>>>()?;
            let sources: Vec<&dyn Source> = peers.iter().map(|p| p as &dyn Source).collect();
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
            drop(node);
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
