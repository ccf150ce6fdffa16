//! Attachment download over the network: one file published on three TAU
//! nodes, fetched by a fourth node from one of them and by a fifth from all
//! three, over Graphsync on 127.0.0.1 (tcp + noise + yamux).
//!
//! ```text
//! cargo run --release --example attach-network -- [--mib 512]
//! ```
//!
//! The nodes run in light mode (no mining). Each host packs the same file
//! (same bytes, same root); each downloader runs tau-attach's downloader
//! (4 sections in flight per peer, every block verified by CID) through
//! tau-node's Graphsync source, into its in-memory store, then exports it
//! and compares the file with the uploaded one (a difference is an error,
//! exit status 1). Prints `name=value` lines: upload MB/s per host, download
//! MB/s from 1 and from 3 peers, and their ratio.

use std::fs::File;
use std::io::Read;
use std::path::Path;
use std::process::ExitCode;
use std::time::Instant;

use anyhow::{bail, Context, Result};
use clap::Parser;
use rand::{RngCore, SeedableRng};
use tau::keys::Keypair;
use tau::node::{local_devnet, GenesisBlocks, Mode, Node, NodeHandle};
use tau::state::Genesis;

#[derive(Parser)]
struct Args {
    /// Size of the attachment in MiB (random, incompressible bytes).
    #[arg(long, default_value_t = 512)]
    mib: usize,
}

#[tokio::main(flavor = "multi_thread")]
async fn main() -> ExitCode {
    match run(Args::parse()).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("attach-network: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(args: Args) -> Result<()> {
    let mut rng = rand::rngs::StdRng::seed_from_u64(1);
    let keys: Vec<Keypair> = (0..5).map(|_| Keypair::generate(&mut rng)).collect();
    let (chain, cbc) = local_devnet(keys.len());
    let allocations = keys
        .iter()
        .fold(Genesis::new(tau::node::unix_now()), |g, k| {
            g.allocate(k.address(), 1_000)
        });
    let genesis = GenesisBlocks::new(&allocations, &keys[0], &chain)?;
    let mut nodes: Vec<NodeHandle> = Vec::new();
    for key in &keys {
        let mut builder = Node::builder()
            .key(key.clone())
            .mode(Mode::Light)
            .params(chain.clone(), cbc.clone())
            .genesis(genesis.clone());
        if let Some(first) = nodes.first() {
            builder = builder.bootstrap(first.dial_addr().context("node 0 has no address")?);
        }
        nodes.push(builder.start().await?);
    }

    let dir = tempfile::tempdir()?;
    let file = dir.path().join("media.bin");
    let mut data = vec![0u8; args.mib << 20];
    rng.fill_bytes(&mut data);
    std::fs::write(&file, &data)?;
    drop(data);

    let mut root = None;
    for (i, host) in nodes.iter().take(3).enumerate() {
        let start = Instant::now();
        let up = host.attach_put(&file).await?;
        let secs = start.elapsed().as_secs_f64();
        println!("upload_host{i}_mb_per_s={:.0}", up.size as f64 / secs / 1e6);
        if root.is_some_and(|r| r != up.root) {
            bail!("hosts packed the same file into different roots");
        }
        root = Some(up.root);
    }
    let root = root.context("no host")?;
    let hosts: Vec<_> = nodes.iter().take(3).map(NodeHandle::peer_id).collect();
    println!("attachment_mib={}", args.mib);

    let mut rates = Vec::new();
    for (n, (downloader, peers)) in [(&nodes[3], &hosts[..1]), (&nodes[4], &hosts[..])]
        .into_iter()
        .enumerate()
    {
        let start = Instant::now();
        let report = downloader.attach_get(root, peers, 20).await?;
        let secs = start.elapsed().as_secs_f64();
        let rate = report.manifest.total_size as f64 / secs / 1e6;
        println!("download_{}_peers_mb_per_s={rate:.0}", peers.len());
        println!(
            "download_{}_peers_per_source={:?}",
            peers.len(),
            report.per_source
        );
        rates.push(rate);
        let out = dir.path().join(format!("downloaded-{n}"));
        downloader
            .attach_export(root, &out)
            .await
            .context("exporting the downloaded attachment")?;
        if !same_contents(&file, &out.join("media.bin"))? {
            bail!(
                "the attachment downloaded from {} peers differs from the uploaded file",
                peers.len()
            );
        }
        std::fs::remove_dir_all(&out)?;
    }
    if let [one, three] = rates[..] {
        println!("three_vs_one={:.2}", three / one);
    }
    for node in nodes {
        node.shutdown().await?;
    }
    Ok(())
}

/// Whether the files at `a` and `b` hold the same bytes (read in 1 MiB
/// pieces: the attachment may be larger than the memory to spare).
fn same_contents(a: &Path, b: &Path) -> Result<bool> {
    let len = std::fs::metadata(a)?.len();
    if std::fs::metadata(b)?.len() != len {
        return Ok(false);
    }
    let (mut a, mut b) = (File::open(a)?, File::open(b)?);
    let (mut x, mut y) = (vec![0u8; 1 << 20], vec![0u8; 1 << 20]);
    let mut left = len;
    while left > 0 {
        let n = usize::try_from(left.min(1 << 20))?;
        let (x, y) = (&mut x[..n], &mut y[..n]);
        a.read_exact(x)?;
        b.read_exact(y)?;
        if x != y {
            return Ok(false);
        }
        left -= n as u64;
    }
    Ok(true)
}
