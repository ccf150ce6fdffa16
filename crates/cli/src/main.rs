//! `tau`: initialize, run and query a TAU node, and a wallet.
//!
//! ```sh
//! tau init --data-dir ./n0 --network devnet --devnet-key 0   # key, config, genesis
//! TAU_PASSPHRASE=… tau node run --data-dir ./n0               # until Ctrl-C
//! tau status                                                  # through the API
//! tau wallet new --wallet ./me.key
//! tau wallet send --wallet ./me.key --to T… --amount 100
//! tau wallet balance --wallet ./me.key                        # proof checked
//! ```
//!
//! Output is `key=value` lines; errors are one readable message on stderr
//! and exit status 1. The book's chapter `docs/src/cli.md` has the rest.

mod attach;
mod datadir;
mod genesis;
mod network;
mod secret;
mod wallet;

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use clap::{Args, Parser, Subcommand, ValueEnum};
use tau_node::{Mode, Multiaddr, Node};

use crate::datadir::{Config, DataDir, DEFAULT_RPC};
use crate::network::Network;

#[derive(Parser)]
#[command(name = "tau", version, about = "A TAU node and wallet")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Create a data directory: node key, config and genesis (adds a
    /// missing genesis to an existing one; never replaces a key).
    Init(InitArgs),
    /// Run a node.
    Node {
        #[command(subcommand)]
        command: NodeCommand,
    },
    /// Make a genesis file.
    Genesis {
        #[command(subcommand)]
        command: GenesisCommand,
    },
    /// The node's status, through its API.
    Status {
        /// The node's API.
        #[arg(long, default_value = "http://127.0.0.1:8645", env = "TAU_RPC")]
        rpc: String,
    },
    /// Keys, balances (verified with Merkle proofs) and transfers.
    Wallet {
        #[command(subcommand)]
        command: wallet::WalletCommand,
    },
    /// Attachments: pack, download (sources from the chain), list.
    Attach {
        #[command(subcommand)]
        command: attach::AttachCommand,
    },
}

#[derive(Args)]
struct InitArgs {
    /// The data directory.
    #[arg(long)]
    data_dir: PathBuf,
    /// A network preset with a built-in genesis (`devnet`).
    #[arg(long, conflicts_with = "genesis")]
    network: Option<String>,
    /// A genesis file (its `network` names the parameters).
    #[arg(long)]
    genesis: Option<PathBuf>,
    /// Use devnet test key N as the node key (public keys: tests only).
    #[arg(long)]
    devnet_key: Option<usize>,
    /// libp2p listen address.
    #[arg(long, default_value = "/ip4/127.0.0.1/tcp/0")]
    listen: Vec<String>,
    /// Peers to dial at start (multiaddr ending in /p2p/<peer id>).
    #[arg(long)]
    bootstrap: Vec<String>,
    /// The JSON-RPC API's address.
    #[arg(long, default_value = DEFAULT_RPC)]
    rpc: SocketAddr,
    /// The Prometheus endpoint's address (none by default).
    #[arg(long)]
    metrics: Option<SocketAddr>,
    /// A light node: no mining.
    #[arg(long)]
    light: bool,
    /// Read the key's passphrase from this file (else TAU_PASSPHRASE, else a prompt).
    #[arg(long)]
    passphrase_file: Option<PathBuf>,
}

#[derive(Subcommand)]
enum NodeCommand {
    /// Run the node of a data directory until Ctrl-C or SIGTERM.
    Run {
        /// The data directory.
        #[arg(long)]
        data_dir: PathBuf,
        /// Log format on stderr.
        #[arg(long, value_enum, default_value_t = LogFormat::Text)]
        log_format: LogFormat,
        /// Read the key's passphrase from this file (else TAU_PASSPHRASE, else a prompt).
        #[arg(long)]
        passphrase_file: Option<PathBuf>,
    },
}

#[derive(Clone, Copy, ValueEnum)]
enum LogFormat {
    Text,
    Json,
}

#[derive(Subcommand)]
enum GenesisCommand {
    /// A new genesis funding the given addresses (block 0 signed by a
    /// throwaway key).
    New {
        /// The parameter preset.
        #[arg(long, default_value = "devnet")]
        network: String,
        /// ADDRESS=AMOUNT, repeated.
        #[arg(long, required = true)]
        alloc: Vec<String>,
        /// Genesis time (seconds since the Unix epoch); now by default.
        #[arg(long)]
        time: Option<u64>,
        /// Where to write it.
        #[arg(long)]
        out: PathBuf,
    },
}

fn main() {
    let cli = Cli::parse();
    let outcome = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the runtime")
        .and_then(|runtime| runtime.block_on(run(cli)));
    if let Err(e) = outcome {
        eprintln!("error: {e:#}");
        std::process::exit(1);
    }
}

async fn run(cli: Cli) -> Result<()> {
    match cli.command {
        Command::Init(args) => init(args),
        Command::Node {
            command:
                NodeCommand::Run {
                    data_dir,
                    log_format,
                    passphrase_file,
                },
        } => run_node(data_dir, log_format, passphrase_file).await,
        Command::Genesis {
            command:
                GenesisCommand::New {
                    network,
                    alloc,
                    time,
                    out,
                },
        } => new_genesis(&network, &alloc, time, &out),
        Command::Status { rpc } => status(&rpc).await,
        Command::Wallet { command } => wallet::run(command).await,
        Command::Attach { command } => attach::run(command).await,
    }
}

fn init(args: InitArgs) -> Result<()> {
    let dir = DataDir::new(&args.data_dir);
    std::fs::create_dir_all(dir.root())
        .with_context(|| format!("creating {}", dir.root().display()))?;
    let (network, genesis) = match (&args.network, &args.genesis) {
        (_, Some(file)) => genesis::read(file)?,
        (Some(name), None) => {
            let network = Network::named(name)?;
            (network, network.genesis()?)
        }
        (None, None) if dir.genesis_path().exists() => genesis::read(&dir.genesis_path())?,
        (None, None) => bail!("a genesis is needed: --network devnet or --genesis FILE"),
    };
    if dir.genesis_path().exists() {
        let (_, present) = genesis::read(&dir.genesis_path())?;
        if present.root != genesis.root {
            bail!(
                "{} holds another genesis ({}); a data directory serves one network",
                dir.genesis_path().display(),
                present.root
            );
        }
    } else {
        genesis::write(&dir.genesis_path(), network, &genesis)?;
    }
    if !dir.key_path().exists() {
        let key = match args.devnet_key {
            Some(index) => network::devnet_key(index)?,
            None => tau_keys::Keypair::random(),
        };
        let passphrase = secret::passphrase(args.passphrase_file.as_deref(), "the node key", true)?;
        datadir::write_key(&dir.key_path(), &key, passphrase.as_bytes())?;
    } else if args.devnet_key.is_some() {
        bail!(
            "{} exists: a key is never replaced",
            dir.key_path().display()
        );
    }
    if !dir.config_path().exists() {
        for addr in args.listen.iter().chain(&args.bootstrap) {
            addr.parse::<Multiaddr>()
                .with_context(|| format!("{addr:?} is not a multiaddr"))?;
        }
        dir.write_config(&Config {
            network: network.name().into(),
            listen: args.listen,
            bootstrap: args.bootstrap,
            rpc: args.rpc,
            metrics: args.metrics,
            mining: !args.light,
            follow: Vec::new(),
            follow_budget: 0,
        })?;
    }
    let address = datadir::key_address(&dir.key_path())?;
    println!("data_dir={}", dir.root().display());
    println!("network={}", network.name());
    println!("genesis={}", genesis.root);
    println!("address={address}");
    Ok(())
}

async fn run_node(
    data_dir: PathBuf,
    log_format: LogFormat,
    passphrase_file: Option<PathBuf>,
) -> Result<()> {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let logs = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_writer(std::io::stderr);
    match log_format {
        LogFormat::Text => logs.init(),
        LogFormat::Json => logs.json().init(),
    }
    let dir = DataDir::new(&data_dir);
    let config = dir.config()?;
    let (network, genesis) = genesis::read(&dir.genesis_path())?;
    if network.name() != config.network {
        bail!(
            "config.toml names network {:?} but genesis.json is for {:?}",
            config.network,
            network.name()
        );
    }
    let passphrase = secret::passphrase(passphrase_file.as_deref(), "the node key", false)?;
    let key = dir.key(passphrase.as_bytes())?;
    drop(passphrase);
    let (chain, cbc) = network.params();
    let mut builder = Node::builder()
        .key(key)
        .params(chain, cbc)
        .genesis(genesis)
        .data_dir(dir.store_path())
        .mode(if config.mining {
            Mode::Mining
        } else {
            Mode::Light
        });
    for addr in &config.listen {
        builder = builder.listen(addr.parse().with_context(|| format!("listen {addr:?}"))?);
    }
    for addr in &config.bootstrap {
        builder = builder.bootstrap(
            addr.parse()
                .with_context(|| format!("bootstrap {addr:?}"))?,
        );
    }
    for sender in &config.follow {
        let sender: tau_keys::Address = sender
            .parse()
            .with_context(|| format!("follow {sender:?}"))?;
        builder = builder.follow(sender);
    }
    builder = builder.follow_budget(config.follow_budget);
    let node = builder.start().await?;
    let (rpc, server) = tau_rpc::serve(node.clone(), config.rpc).await?;
    let metrics = match config.metrics {
        Some(addr) => Some(tau_rpc::serve_metrics(node.clone(), addr).await?),
        None => None,
    };
    println!("peer_id={}", node.peer_id());
    println!("address={}", node.address());
    if let Some(addr) = node.dial_addr() {
        println!("dial={addr}");
    }
    println!("rpc=http://{rpc}");
    if let Some(metrics) = &metrics {
        println!("metrics=http://{}/metrics", metrics.local_addr());
    }
    stopped().await;
    tracing::info!("stopping");
    let _ = server.stop();
    drop(metrics);
    node.shutdown().await?;
    Ok(())
}

/// Ctrl-C, or SIGTERM on Unix.
async fn stopped() {
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(term) => term,
                Err(_) => {
                    let _ = tokio::signal::ctrl_c().await;
                    return;
                }
            };
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

fn new_genesis(
    network: &str,
    alloc: &[String],
    time: Option<u64>,
    out: &std::path::Path,
) -> Result<()> {
    let network = Network::named(network)?;
    let mut genesis = tau_state::Genesis::new(time.unwrap_or_else(tau_node::unix_now));
    for entry in alloc {
        let (address, amount) = entry
            .split_once('=')
            .with_context(|| format!("--alloc {entry:?}: expected ADDRESS=AMOUNT"))?;
        let address: tau_keys::Address = address
            .parse()
            .with_context(|| format!("--alloc {entry:?}"))?;
        let amount: u64 = amount
            .parse()
            .with_context(|| format!("--alloc {entry:?}: amount"))?;
        genesis = genesis.allocate(address, amount);
    }
    let (chain, _) = network.params();
    let blocks = tau_node::GenesisBlocks::new(&genesis, &tau_keys::Keypair::random(), &chain)?;
    if out.exists() {
        bail!("{} exists", out.display());
    }
    genesis::write(out, network, &blocks)?;
    println!("genesis={}", blocks.root);
    println!("out={}", out.display());
    Ok(())
}

async fn status(rpc: &str) -> Result<()> {
    use tau_rpc::api::TauApiClient;
    let api = tau_rpc::client(rpc)?;
    let status = api
        .status()
        .await
        .with_context(|| format!("asking {rpc}"))?;
    println!("peer_id={}", status.peer_id);
    println!("address={}", status.address);
    println!("chain_id={}", status.chain_id);
    println!("head={} {}", status.head.head.number, status.head.head.root);
    match &status.head.safety {
        Some(s) => println!("safety={} {}", s.number, s.root),
        None => println!("safety=none"),
    }
    println!("peers={}", status.peers);
    println!("mempool={}", status.mempool);
    Ok(())
}
