//! A TAU node from the command line, on a devnet whose genesis funds
//! `--devnet-keys` keys drawn from `--devnet-seed` (so separate processes
//! agree on it); this node is key `--index`.
//!
//! ```sh
//! # two nodes in two terminals
//! cargo run --release --example tau-node -- run --index 0 --data-dir /tmp/n0 --listen /ip4/127.0.0.1/tcp/4000
//! cargo run --release --example tau-node -- run --index 1 --data-dir /tmp/n1 --bootstrap /ip4/127.0.0.1/tcp/4000
//! # a relay router, and a node behind NAT reachable only through it:
//! cargo run --release --example tau-node -- run --index 2 --relay-server --listen /ip4/127.0.0.1/tcp/4002
//! cargo run --release --example tau-node -- run --index 3 --behind-nat --relay /ip4/127.0.0.1/tcp/4002/p2p/12D3…
//! # offline queries and commands on a stopped node's directory
//! cargo run --release --example tau-node -- balance --data-dir /tmp/n0
//! cargo run --release --example tau-node -- attach put ./photos --data-dir /tmp/n0
//! # online: start, act, wait, stop
//! cargo run --release --example tau-node -- send --index 1 --data-dir /tmp/n1 --to T… --amount 100 --bootstrap /ip4/127.0.0.1/tcp/4000
//! cargo run --release --example tau-node -- attach get ROOT --out ./got --bootstrap /ip4/127.0.0.1/tcp/4000/p2p/12D3…
//! ```
//!
//! Logs go to stderr through `tracing` (`RUST_LOG=tau_node=debug` for more).

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{anyhow, bail, Context, Result};
use clap::{Args, Parser, Subcommand};
use rand::SeedableRng;
use tau::keys::{Address, Keypair};
use tau::node::{local_devnet, GenesisBlocks, Mode, Multiaddr, Node, NodeEvent, NodeHandle};
use tau::state::Genesis;

#[derive(Parser)]
#[command(about = "A TAU node: run, balance, send, attach put|get")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Args, Clone)]
struct NodeArgs {
    /// This node's key: index among the devnet keys.
    #[arg(long, default_value_t = 0)]
    index: usize,
    /// Keys the devnet genesis funds.
    #[arg(long, default_value_t = 5)]
    devnet_keys: usize,
    /// Seed of the devnet keys.
    #[arg(long, default_value_t = 1)]
    devnet_seed: u64,
    /// Genesis timestamp (seconds; the same on every node).
    #[arg(long, default_value_t = 1_767_225_600)]
    genesis_time: u64,
    /// Data directory (redb); in memory if absent.
    #[arg(long)]
    data_dir: Option<PathBuf>,
    /// Listen address.
    #[arg(long, default_value = "/ip4/127.0.0.1/tcp/0")]
    listen: Multiaddr,
    /// Peers to dial at start.
    #[arg(long)]
    bootstrap: Vec<Multiaddr>,
    /// Do not mine (process B only).
    #[arg(long)]
    light: bool,
    /// Serve circuit-relay v2 reservations (a relay router).
    #[arg(long)]
    relay_server: bool,
    /// Behind NAT: no listener of its own, reachable only through relays.
    #[arg(long)]
    behind_nat: bool,
    /// Listen through this relay (its address ending in /p2p/<id>).
    #[arg(long)]
    relay: Vec<Multiaddr>,
}

#[derive(Subcommand)]
enum Command {
    /// Run a node until Ctrl-C.
    Run(NodeArgs),
    /// Balances at the head of a stopped node's data directory.
    Balance {
        #[command(flatten)]
        node: NodeArgs,
    },
    /// Start, send coins, wait until the transfer is safe, stop.
    Send {
        #[command(flatten)]
        node: NodeArgs,
        /// Receiver address (T…).
        #[arg(long)]
        to: Address,
        /// Amount.
        #[arg(long)]
        amount: u64,
        /// Fee.
        #[arg(long, default_value_t = 1)]
        fee: u64,
    },
    /// Attachments.
    Attach {
        #[command(subcommand)]
        command: AttachCommand,
    },
}

#[derive(Subcommand)]
enum AttachCommand {
    /// Pack PATH into a stopped node's data directory; `run` then serves it.
    Put {
        path: PathBuf,
        #[command(flatten)]
        node: NodeArgs,
    },
    /// Start, download ROOT from the bootstrap peers, export into --out, stop.
    Get {
        root: tau::ipld::Cid,
        #[arg(long)]
        out: PathBuf,
        #[command(flatten)]
        node: NodeArgs,
    },
}

fn devnet(
    args: &NodeArgs,
) -> Result<(Keypair, GenesisBlocks, tau::state::Params, tau::cbc::Params)> {
    let mut rng = rand::rngs::StdRng::seed_from_u64(args.devnet_seed);
    let keys: Vec<Keypair> = (0..args.devnet_keys)
        .map(|_| Keypair::generate(&mut rng))
        .collect();
    let key = keys
        .get(args.index)
        .cloned()
        .ok_or_else(|| anyhow!("--index must be below --devnet-keys"))?;
    let (chain, cbc) = local_devnet(args.devnet_keys);
    let genesis = keys.iter().fold(Genesis::new(args.genesis_time), |g, k| {
        g.allocate(k.address(), 1_000_000)
    });
    let genesis = GenesisBlocks::new(&genesis, &keys[0], &chain)?;
    Ok((key, genesis, chain, cbc))
}

async fn start(args: &NodeArgs) -> Result<NodeHandle> {
    let (key, genesis, chain, cbc) = devnet(args)?;
    let mut builder = Node::builder()
        .key(key)
        .params(chain, cbc)
        .genesis(genesis)
        .relay_server(args.relay_server)
        .behind_nat(args.behind_nat)
        .mode(if args.light {
            Mode::Light
        } else {
            Mode::Mining
        });
    if !args.behind_nat {
        builder = builder.listen(args.listen.clone());
    }
    for addr in &args.relay {
        builder = builder.relay(addr.clone());
    }
    if let Some(dir) = &args.data_dir {
        builder = builder.data_dir(dir);
    }
    for addr in &args.bootstrap {
        builder = builder.bootstrap(addr.clone());
    }
    let node = builder.start().await?;
    tracing::info!(
        "node {} listening on {}",
        node.address(),
        node.dial_addr().map_or("-".into(), |a| a.to_string())
    );
    Ok(node)
}

#[tokio::main(flavor = "multi_thread")]
async fn main() -> Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    match Cli::parse().command {
        Command::Run(args) => {
            let node = start(&args).await?;
            let mut events = node.events();
            loop {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => break,
                    event = events.recv() => match event {
                        Ok(NodeEvent::Mined { head, transactions }) => {
                            tracing::info!(number = head.number, transactions, "mined {}", head.root)
                        }
                        Ok(NodeEvent::SafetyAdvanced(p)) => {
                            tracing::info!(number = p.number, "safety point {}", p.root)
                        }
                        Ok(NodeEvent::PeerMarked { peer, reason }) => {
                            tracing::warn!(%peer, "marked: {reason}")
                        }
                        Ok(other) => tracing::debug!("{other:?}"),
                        Err(_) => {}
                    },
                }
            }
            node.shutdown().await?;
        }
        Command::Balance { node } => {
            let dir = node.data_dir.clone().context("--data-dir is required")?;
            let (_, _, params, _) = devnet(&node)?;
            let stored = tau::node::open_stored(&dir, params)?;
            let head = stored.head.context("the directory holds no chain")?;
            let block = stored.chain.block(&head)?;
            println!("head={head} number={}", block.number());
            let mut rng = rand::rngs::StdRng::seed_from_u64(node.devnet_seed);
            for i in 0..node.devnet_keys {
                let address = Keypair::generate(&mut rng).address();
                let balance = stored.chain.balance(&head, &address)?.unwrap_or(0);
                let nonce = stored.chain.nonce(&head, &address)?;
                println!("key={i} address={address} balance={balance} nonce={nonce}");
            }
        }
        Command::Send {
            node: args,
            to,
            amount,
            fee,
        } => {
            let node = start(&args).await?;
            let ticket = node.send(to, amount, fee).await?;
            tracing::info!(ticket, "sent {amount} to {to}; waiting until it is safe");
            let waited = tokio::time::timeout(Duration::from_secs(120), async {
                while node.pending_transactions() > 0 {
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
            })
            .await;
            let safety = node.safety();
            node.shutdown().await?;
            if waited.is_err() {
                bail!("the transfer was not safe within 120 s");
            }
            println!("sent={amount} to={to} safety={safety:?}");
        }
        Command::Attach {
            command: AttachCommand::Put { path, node },
        } => {
            let dir = node.data_dir.clone().context("--data-dir is required")?;
            let (_, _, params, _) = devnet(&node)?;
            let stored = tau::node::open_stored(&dir, params)?;
            let uploaded = tau::attach::upload(&stored.store, &path, &Default::default())?;
            // Kept by the node's garbage collections until dropped.
            stored.pin(uploaded.root)?;
            println!("root={} size={}", uploaded.root, uploaded.size);
        }
        Command::Attach {
            command:
                AttachCommand::Get {
                    root,
                    out,
                    node: args,
                },
        } => {
            let node = start(&args).await?;
            let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
            while node.peers().is_empty() && tokio::time::Instant::now() < deadline {
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            let peers = node.peers();
            let report = node.attach_get(root, &peers, 10).await?;
            let exported = node.attach_export(root, &out).await?;
            node.shutdown().await?;
            println!(
                "sections={} bytes={} exported={:?}",
                report.manifest.section_count, report.manifest.total_size, exported
            );
        }
    }
    Ok(())
}
