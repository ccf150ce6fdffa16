//! The main job: a local TAU network on 127.0.0.1.
//!
//! Starts `--nodes` tau-node instances in one process with fresh keys (from
//! `--seed`) and a devnet genesis funding every key, lets them mine, sends a
//! coin transfer from each node to the next, publishes an attachment on node 0
//! and downloads it on the last node over Graphsync, mines until the heads
//! reach `--blocks`, stops mining and waits until every node reports the same
//! safety point. Then it checks, on every node's own store, each account's
//! balance at the safety point against an independent replay of the chain's
//! transactions, that every transfer and the attachment message are on the
//! safe chain, that the supply is unchanged and that the downloaded bytes
//! equal the published ones. Prints `name=value` lines and exits 0 only if
//! every check passed.
//!
//! ```sh
//! cargo run --release --example tau-network
//! cargo run --release --example tau-network -- --nodes 5 --blocks 12 --seed 1 --data-dir /tmp/taunet
//! ```

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context, Result};
use clap::Parser;
use indicatif::{ProgressBar, ProgressStyle};
use rand::{Rng, SeedableRng};
use tau::keys::{Address, Keypair};
use tau::node::{local_devnet, GenesisBlocks, Node, NodeEvent, NodeHandle};
use tau::state::{AttachmentRef, Genesis, TxBody};

/// Coins every key starts with.
const FUNDS: u64 = 1_000_000;

#[derive(Parser, Debug)]
#[command(about = "A local TAU network: mine, transfer, share a file, agree on a safety point")]
struct Args {
    /// Nodes to run.
    #[arg(long, default_value_t = 5)]
    nodes: usize,
    /// Mine until the heads reach this block number.
    #[arg(long, default_value_t = 12)]
    blocks: u64,
    /// Seed of the keys and the attachment's bytes.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Persist each node in DIR/node-<i> (redb); in memory if absent.
    #[arg(long)]
    data_dir: Option<PathBuf>,
    /// Attachment size in bytes.
    #[arg(long, default_value_t = 1 << 20)]
    attachment_bytes: usize,
}

struct Transfer {
    from: usize,
    to: usize,
    amount: u64,
    fee: u64,
}

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    let args = Args::parse();
    let started = Instant::now();
    match run(&args, started).await {
        Ok(()) => {
            println!("wall_time_s={:.1}", started.elapsed().as_secs_f64());
            println!("result=PASS");
        }
        Err(e) => {
            println!("wall_time_s={:.1}", started.elapsed().as_secs_f64());
            println!("result=FAIL");
            eprintln!("tau-network: {e:#}");
            std::process::exit(1);
        }
    }
}

async fn run(args: &Args, started: Instant) -> Result<()> {
    if args.nodes < 2 {
        bail!("--nodes must be at least 2");
    }
    let bar = ProgressBar::new_spinner();
    bar.set_style(ProgressStyle::with_template(
        "{spinner} [{elapsed_precise}] {msg}",
    )?);
    bar.enable_steady_tick(Duration::from_millis(120));

    // Keys, genesis, nodes.
    let mut rng = rand::rngs::StdRng::seed_from_u64(args.seed);
    let keys: Vec<Keypair> = (0..args.nodes)
        .map(|_| Keypair::generate(&mut rng))
        .collect();
    let (chain_params, cbc_params) = local_devnet(args.nodes);
    let allocations = keys
        .iter()
        .fold(Genesis::new(tau::node::unix_now()), |g, k| {
            g.allocate(k.address(), FUNDS)
        });
    let genesis = GenesisBlocks::new(&allocations, &keys[0], &chain_params)?;
    bar.set_message(format!("starting {} nodes", args.nodes));
    let mut nodes: Vec<NodeHandle> = Vec::new();
    for (i, key) in keys.iter().enumerate() {
        let mut builder = Node::builder()
            .key(key.clone())
            .params(chain_params.clone(), cbc_params.clone())
            .genesis(genesis.clone())
            .rng_seed(args.seed.wrapping_add(i as u64));
        if let Some(dir) = &args.data_dir {
            builder = builder.data_dir(dir.join(format!("node-{i}")));
        }
        if let Some(first) = nodes.first() {
            builder = builder.bootstrap(first.dial_addr().context("node 0 has no address")?);
        }
        nodes.push(
            builder
                .start()
                .await
                .with_context(|| format!("starting node {i}"))?,
        );
    }
    let mined = count_mined(&nodes);
    let status = |phase: &str, nodes: &[NodeHandle]| {
        let heads: Vec<String> = nodes
            .iter()
            .map(|n| {
                let safe = n.safety().map_or("-".into(), |s| s.number.to_string());
                format!("{}/{}", n.head().number, safe)
            })
            .collect();
        format!("{phase} · head/safety per node: {}", heads.join(" "))
    };

    // Mining starts by itself; wait for the first blocks everywhere.
    wait(
        &bar,
        Duration::from_secs(40),
        "first blocks",
        &nodes,
        &status,
        |n| n.iter().all(|n| n.head().number >= 2),
    )
    .await?;

    // Transfers: each node pays the next one.
    let mut transfers = Vec::new();
    for i in 0..args.nodes {
        let t = Transfer {
            from: i,
            to: (i + 1) % args.nodes,
            amount: 1_000 * (i as u64 + 1),
            fee: 1 + (i as u64 % 3),
        };
        nodes[t.from]
            .send(keys[t.to].address(), t.amount, t.fee)
            .await?;
        transfers.push(t);
    }

    // An attachment on node 0, downloaded by the last node.
    bar.set_message("publishing and downloading an attachment");
    let work = tempfile::tempdir()?;
    let mut content = vec![0u8; args.attachment_bytes];
    rng.fill(&mut content[..]);
    let file = work.path().join("tau-network.bin");
    std::fs::write(&file, &content)?;
    let uploaded = nodes[0].attach_put(&file).await?;
    let attachment = AttachmentRef {
        root: uploaded.root,
        size: uploaded.size,
    };
    nodes[0]
        .message("tau-network attachment", Some(attachment), 1)
        .await?;
    let last = nodes.len() - 1;
    let download = nodes[last]
        .attach_get(uploaded.root, &[nodes[0].peer_id()], 10)
        .await
        .context("downloading the attachment")?;
    let out = work.path().join("out");
    nodes[last].attach_export(uploaded.root, &out).await?;
    let fetched = std::fs::read(out.join("tau-network.bin"))?;
    if fetched != content {
        bail!("the downloaded attachment differs from the published one");
    }
    let attachment_bytes = fetched.len();

    // Mine until the heads reach --blocks and every transaction is safe.
    wait(
        &bar,
        Duration::from_secs(90),
        "mining",
        &nodes,
        &status,
        |n| {
            n.iter()
                .all(|n| n.head().number >= args.blocks && n.pending_transactions() == 0)
        },
    )
    .await?;
    for n in &nodes {
        n.set_mining(false);
    }
    wait(
        &bar,
        Duration::from_secs(30),
        "agreeing on a safety point",
        &nodes,
        &status,
        |n| {
            let first = (n[0].head(), n[0].safety());
            first.1.is_some() && n.iter().all(|m| (m.head(), m.safety()) == first)
        },
    )
    .await?;
    bar.finish_and_clear();

    // Checks on the common safety point, on every node's own store.
    let safety = nodes[0]
        .safety()
        .ok_or_else(|| anyhow!("no safety point"))?;
    let history = nodes[0].chain().history(&safety.root, usize::MAX)?;
    let mut expected: BTreeMap<Address, u64> = keys.iter().map(|k| (k.address(), FUNDS)).collect();
    let mut wirings = Vec::new();
    let mut attachment_on_chain = false;
    let mut transactions = 0usize;
    for (_, block) in history.iter().rev().skip(1) {
        let txs = nodes[0].chain().transactions(block)?;
        let mut fees = 0u64;
        for tx in &txs {
            let t = &tx.tx;
            transactions += 1;
            fees += t.fee;
            let balance = expected.entry(t.sender).or_default();
            *balance = balance
                .checked_sub(t.body.amount() + t.fee)
                .ok_or_else(|| anyhow!("replay: {} overspent", t.sender))?;
            match &t.body {
                TxBody::Wiring { receiver, amount } => {
                    *expected.entry(*receiver).or_default() += amount;
                    wirings.push((t.sender, *receiver, *amount));
                }
                TxBody::Message { attachment: a, .. } => {
                    attachment_on_chain |= *a == Some(attachment);
                }
            }
        }
        *expected.entry(block.unsigned.miner).or_default() += fees;
    }
    let mut balances_checked = 0;
    for (i, node) in nodes.iter().enumerate() {
        let chain = node.chain();
        for key in &keys {
            let address = key.address();
            let got = chain.balance(&safety.root, &address)?.unwrap_or(0);
            let want = expected.get(&address).copied().unwrap_or(0);
            if got != want {
                bail!("node {i}: balance of {address} is {got}, the replay gives {want}");
            }
            balances_checked += 1;
        }
    }
    for t in &transfers {
        let wanted = (keys[t.from].address(), keys[t.to].address(), t.amount);
        if !wirings.contains(&wanted) {
            bail!(
                "transfer {} -> {} of {} is not on the safe chain",
                t.from,
                t.to,
                t.amount
            );
        }
    }
    if !attachment_on_chain {
        bail!("the attachment message is not on the safe chain");
    }
    let supply: u64 = expected.values().sum();
    if supply != FUNDS * args.nodes as u64 {
        bail!("supply changed: {supply}");
    }
    let marked: usize = nodes.iter().map(|n| n.marked_peers().len()).sum();
    if marked != 0 {
        bail!("{marked} honest peers were marked");
    }

    let head = nodes[0].head();
    println!("nodes={}", args.nodes);
    println!(
        "blocks_mined={}",
        mined.load(std::sync::atomic::Ordering::Relaxed)
    );
    println!("head_height={}", head.number);
    println!("safety_height={}", safety.number);
    println!("safety_root={}", safety.root);
    println!("transactions_on_chain={transactions}");
    println!("transfers_checked={}", transfers.len());
    println!("balances_checked={balances_checked}");
    println!(
        "attachment_bytes_verified={attachment_bytes} (sections={}, root={})",
        download.manifest.section_count, uploaded.root
    );
    println!("agreement_after_s={:.1}", started.elapsed().as_secs_f64());
    for n in nodes {
        n.shutdown().await?;
    }
    Ok(())
}

/// Counts blocks mined by all nodes from now on.
fn count_mined(nodes: &[NodeHandle]) -> std::sync::Arc<std::sync::atomic::AtomicU64> {
    let count = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
    for node in nodes {
        let mut events = node.events();
        let count = count.clone();
        tokio::spawn(async move {
            loop {
                match events.recv().await {
                    Ok(NodeEvent::Mined { .. }) => {
                        count.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    }
                    Ok(_) | Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {}
                    Err(_) => return,
                }
            }
        });
    }
    count
}

/// Waits until `done(nodes)` holds, updating the progress line.
async fn wait(
    bar: &ProgressBar,
    limit: Duration,
    phase: &str,
    nodes: &[NodeHandle],
    status: &impl Fn(&str, &[NodeHandle]) -> String,
    done: impl Fn(&[NodeHandle]) -> bool,
) -> Result<()> {
    let deadline = Instant::now() + limit;
    loop {
        bar.set_message(status(phase, nodes));
        if done(nodes) {
            return Ok(());
        }
        if Instant::now() > deadline {
            bail!("timed out: {}", status(phase, nodes));
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}
