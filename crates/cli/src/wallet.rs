//! `tau wallet`: a key file of its own, and a node's API for everything
//! else. A balance is shown only after its Merkle proof checked against the
//! safety point (or, with `--at head`, the head); the wallet never takes the
//! node's word for it.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use clap::{Args, Subcommand};
use tau_keys::{Address, Keypair};
use tau_rpc::api::TauApiClient;
use tau_state::{Transaction, TxBody};

use crate::datadir;
use crate::network::{self, Network};
use crate::secret;

#[derive(Args)]
pub struct Connection {
    /// The node's API.
    #[arg(long, default_value = "http://127.0.0.1:8645", env = "TAU_RPC")]
    rpc: String,
    /// The network whose parameters check proofs.
    #[arg(long, default_value = "devnet")]
    network: String,
}

#[derive(Args)]
pub struct KeyFile {
    /// The wallet's key file.
    #[arg(long, env = "TAU_WALLET")]
    wallet: PathBuf,
    /// Read the passphrase from this file (else TAU_PASSPHRASE, else a prompt).
    #[arg(long)]
    passphrase_file: Option<PathBuf>,
}

#[derive(Subcommand)]
pub enum WalletCommand {
    /// Create a new key.
    New(KeyFile),
    /// Store an existing key: devnet test key N, or a 32-byte secret (hex)
    /// read from a file.
    Import {
        #[command(flatten)]
        key: KeyFile,
        /// Devnet test key N (public: tests only).
        #[arg(long, conflicts_with = "secret_file")]
        devnet_key: Option<usize>,
        /// A file holding the secret key as hex.
        #[arg(long)]
        secret_file: Option<PathBuf>,
    },
    /// The wallet's address.
    Address {
        /// The wallet's key file.
        #[arg(long, env = "TAU_WALLET")]
        wallet: PathBuf,
    },
    /// A balance, proven against the safety point.
    Balance {
        /// Whose balance (default: the wallet's).
        #[arg(long)]
        address: Option<Address>,
        /// The wallet's key file (for its address).
        #[arg(long, env = "TAU_WALLET")]
        wallet: Option<PathBuf>,
        /// `safety` (default) or `head` (not yet final).
        #[arg(long, default_value = "safety")]
        at: String,
        /// A state root you trust (e.g. a checkpoint read from another
        /// node): the proof must be against it, whatever the node says.
        #[arg(long)]
        trust_root: Option<String>,
        #[command(flatten)]
        connection: Connection,
    },
    /// Send an amount, signed here, submitted through the node.
    Send {
        #[command(flatten)]
        key: KeyFile,
        /// The receiver.
        #[arg(long)]
        to: Address,
        /// The amount.
        #[arg(long)]
        amount: u64,
        /// The fee (default: the chain's minimum).
        #[arg(long)]
        fee: Option<u64>,
        #[command(flatten)]
        connection: Connection,
    },
    /// The last transactions of an address at the head.
    History {
        /// Whose history (default: the wallet's).
        #[arg(long)]
        address: Option<Address>,
        /// The wallet's key file (for its address).
        #[arg(long, env = "TAU_WALLET")]
        wallet: Option<PathBuf>,
        /// Entries at most.
        #[arg(long, default_value_t = 20)]
        limit: u32,
        #[command(flatten)]
        connection: Connection,
    },
}

pub async fn run(command: WalletCommand) -> Result<()> {
    match command {
        WalletCommand::New(key) => store(&key, Keypair::random()),
        WalletCommand::Import {
            key,
            devnet_key,
            secret_file,
        } => {
            let keypair = match (devnet_key, secret_file) {
                (Some(index), _) => network::devnet_key(index)?,
                (None, Some(file)) => {
                    let text = zeroize::Zeroizing::new(
                        std::fs::read_to_string(&file)
                            .with_context(|| format!("reading {}", file.display()))?,
                    );
                    let bytes = zeroize::Zeroizing::new(
                        hex::decode(text.trim()).context("the secret file must hold hex")?,
                    );
                    Keypair::from_slice(&bytes)?
                }
                (None, None) => bail!("--devnet-key N or --secret-file FILE"),
            };
            store(&key, keypair)
        }
        WalletCommand::Address { wallet } => {
            println!("address={}", datadir::key_address(&wallet)?);
            Ok(())
        }
        WalletCommand::Balance {
            address,
            wallet,
            at,
            trust_root,
            connection,
        } => {
            let address = whose(address, wallet.as_deref())?;
            balance(&connection, &address, &at, trust_root.as_deref()).await
        }
        WalletCommand::Send {
            key,
            to,
            amount,
            fee,
            connection,
        } => send(&key, &connection, to, amount, fee).await,
        WalletCommand::History {
            address,
            wallet,
            limit,
            connection,
        } => {
            let address = whose(address, wallet.as_deref())?;
            let api = tau_rpc::client(&connection.rpc)?;
            let entries = api
                .history(address.to_string(), Some(limit))
                .await
                .with_context(|| format!("asking {}", connection.rpc))?;
            for e in entries {
                println!(
                    "nonce={} kind={} block={} amount={} fee={} counterparty={}",
                    e.nonce,
                    e.kind,
                    e.block_number,
                    e.amount,
                    e.fee,
                    e.counterparty.as_deref().unwrap_or("-")
                );
            }
            Ok(())
        }
    }
}

fn store(key: &KeyFile, keypair: Keypair) -> Result<()> {
    let passphrase = secret::passphrase(key.passphrase_file.as_deref(), "the wallet", true)?;
    datadir::write_key(&key.wallet, &keypair, passphrase.as_bytes())?;
    println!("address={}", keypair.address());
    println!("wallet={}", key.wallet.display());
    Ok(())
}

fn whose(address: Option<Address>, wallet: Option<&Path>) -> Result<Address> {
    match (address, wallet) {
        (Some(address), _) => Ok(address),
        (None, Some(wallet)) => datadir::key_address(wallet),
        (None, None) => bail!("--address or --wallet (or TAU_WALLET)"),
    }
}

/// Shows `address`'s balance proven against a root: `trust_root` if given,
/// else the node's safety point (or head). A proof ties the balance to that
/// root; which root is canonical is then the node's word (or the user's,
/// with `--trust-root`), and the output says which.
async fn balance(
    connection: &Connection,
    address: &Address,
    at: &str,
    trust_root: Option<&str>,
) -> Result<()> {
    let (chain, _) = Network::named(&connection.network)?.params();
    let api = tau_rpc::client(&connection.rpc)?;
    let (root_text, number, source) = match trust_root {
        Some(root) => (root.to_string(), None, "user"),
        None => {
            let head = api
                .head()
                .await
                .with_context(|| format!("asking {}", connection.rpc))?;
            let point = match at {
                "safety" => head
                    .safety
                    .context("the node has no safety point yet: try again, or --at head")?,
                "head" => head.head,
                other => bail!("--at {other:?}: safety or head"),
            };
            (point.root, Some(point.number), "node")
        }
    };
    let root = tau_rpc::parse_cid(&root_text)?;
    let proof = api
        .account(address.to_string(), Some(root_text.clone()))
        .await
        .with_context(|| format!("asking {}", connection.rpc))?;
    let verified = proof
        .verify(&chain, &root, address)
        .context("the node's answer did not verify")?;
    println!("address={address}");
    println!("balance={}", verified.balance);
    println!("nonce={}", verified.nonce);
    match number {
        Some(number) => println!("at={number} {root}"),
        None => println!("at={} {root}", proof.at.number),
    }
    println!("root_from={source}");
    println!("proof=verified");
    Ok(())
}

async fn send(
    key: &KeyFile,
    connection: &Connection,
    to: Address,
    amount: u64,
    fee: Option<u64>,
) -> Result<()> {
    let passphrase = secret::passphrase(key.passphrase_file.as_deref(), "the wallet", false)?;
    let keypair = datadir::open_key(&key.wallet, passphrase.as_bytes())?;
    drop(passphrase);
    let api = tau_rpc::client(&connection.rpc)?;
    let status = api
        .status()
        .await
        .with_context(|| format!("asking {}", connection.rpc))?;
    // The nonce at the head: a wrong one only makes the node refuse it.
    let account = api
        .account(keypair.address().to_string(), Some("head".into()))
        .await
        .with_context(|| format!("asking {}", connection.rpc))?;
    // Chain id, version and the default fee come from the wallet's own
    // network preset, never from the node: a node must not choose what the
    // user signs.
    let (chain, _) = Network::named(&connection.network)?.params();
    if status.chain_id != chain.chain_id.as_str() {
        bail!(
            "the node serves chain {:?}, not {:?} (--network {})",
            status.chain_id,
            chain.chain_id.as_str(),
            connection.network
        );
    }
    let nonce = account
        .nonce
        .checked_add(1)
        .context("the node reported an impossible nonce")?;
    let fee = fee.unwrap_or(chain.min_fee);
    let signed = Transaction {
        version: chain.version,
        chain_id: chain.chain_id.clone(),
        sender: keypair.address(),
        nonce,
        timestamp: tau_node::unix_now(),
        fee,
        body: TxBody::Wiring {
            receiver: to,
            amount,
        },
        thread: None,
        profile: None,
    }
    .sign(&keypair)?;
    let submitted = api
        .send_transaction(hex::encode(signed.encode()?))
        .await
        .with_context(|| format!("asking {}", connection.rpc))?;
    if !submitted.admitted {
        bail!(
            "the node refused the transaction: {}",
            submitted.reason.unwrap_or_default()
        );
    }
    println!("id={}", submitted.id);
    println!("nonce={nonce}");
    println!("fee={fee}");
    println!("admitted=true");
    Ok(())
}
