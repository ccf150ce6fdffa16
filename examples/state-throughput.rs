//! Block execution throughput of tau-state against a large state.
//!
//! ```text
//! cargo run --release --example state-throughput -- [--accounts N] [--blocks B] [--txs T] [--seed S] [--bitwidth B]
//! ```
//!
//! Defaults: `--accounts 100000 --blocks 10 --txs 1000 --seed 1`, the devnet
//! HAMT shape (`--bitwidth B` to try another). Builds a
//! devnet genesis with N funded accounts, signs B blocks of T wirings between
//! random accounts (senders drawn from the first `B·T` accounts, so most send
//! once), then times, each on its own:
//!
//! 1. `recover_per_s`: recovering the signer of every transaction with
//!    tau-keys alone, the floor any execution pays (the in-run anchor);
//! 2. `produce_tx_per_s`: `Chain::produce_next_state` for each block
//!    (signature recovery, nonce and balance checks, HAMT updates, flush,
//!    block signing and the store write), in transactions per second;
//! 3. `validate_tx_per_s`: `Chain::validate_block` of each block (re-execution);
//! 4. `bytes_per_tx`: bytes of new blocks written by production per transaction.
//!
//! Output: one `name=value` line per figure; `produce_vs_recover` is the ratio
//! of 2 to 1 from the same run. Single-threaded.

use std::error::Error;
use std::time::Instant;

use clap::Parser;
use rand::{Rng, SeedableRng};
use tau::hamt::MemoryBlockstore;
use tau::keys::{Keypair, Signature};
use tau::state::{Chain, Genesis, Params, SignedTransaction, Transaction, TxBody};

#[derive(Parser)]
struct Args {
    /// Accounts in the genesis state.
    #[arg(long, default_value_t = 100_000)]
    accounts: usize,
    /// Blocks to execute.
    #[arg(long, default_value_t = 10)]
    blocks: usize,
    /// Transactions per block.
    #[arg(long, default_value_t = 1_000)]
    txs: usize,
    /// Seed of the key and transaction generator.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Bit width of the state HAMT (devnet default: 5).
    #[arg(long)]
    bitwidth: Option<u32>,
}

fn main() -> Result<(), Box<dyn Error>> {
    let args = Args::parse();
    let mut rng = rand::rngs::StdRng::seed_from_u64(args.seed);
    let senders = (args.blocks * args.txs).min(args.accounts).max(1);
    let keys: Vec<Keypair> = (0..senders).map(|_| Keypair::generate(&mut rng)).collect();
    let mut addresses: Vec<_> = keys.iter().map(Keypair::address).collect();
    while addresses.len() < args.accounts {
        addresses.push(tau::keys::Address::new(rng.random()));
    }

    let mut params = Params::devnet();
    if let Some(bits) = args.bitwidth {
        params.hamt = tau::hamt::Config::builder().bit_width(bits).build()?;
    }
    println!("bit_width={}", params.hamt.bit_width());
    let chain = Chain::new(MemoryBlockstore::new(), params.clone())?;
    let genesis = addresses.iter().fold(Genesis::new(1_700_000_000), |g, a| {
        g.allocate(*a, 1_000_000)
    });
    let start = Instant::now();
    let (mut root, _) = chain.genesis(&genesis, &keys[0])?;
    println!("accounts={}", args.accounts);
    println!("genesis_ms={:.0}", start.elapsed().as_secs_f64() * 1e3);
    println!("genesis_store_bytes={}", chain.store().total_bytes());

    let miner = &keys[0];
    let mut nonces = vec![0u64; senders];
    nonces[0] = u64::MAX; // the miner does not send: its nonce moves each block
    let mut blocks: Vec<Vec<SignedTransaction>> = Vec::new();
    for _ in 0..args.blocks {
        let mut txs = Vec::with_capacity(args.txs);
        while txs.len() < args.txs {
            let from = rng.random_range(1..senders.max(2)).min(senders - 1);
            if nonces[from] == u64::MAX {
                continue;
            }
            nonces[from] += 1;
            let tx = Transaction {
                version: params.version,
                chain_id: params.chain_id.clone(),
                sender: keys[from].address(),
                nonce: nonces[from],
                timestamp: 1_700_000_000,
                fee: 1,
                body: TxBody::Wiring {
                    receiver: addresses[rng.random_range(0..addresses.len())],
                    amount: rng.random_range(1..1_000),
                },
                thread: None,
                profile: None,
            };
            txs.push(tx.sign(&keys[from])?);
        }
        blocks.push(txs);
    }
    let total = (args.blocks * args.txs) as f64;
    println!("transactions={total}");

    // Anchor: signature recovery alone.
    let digests: Vec<([u8; 32], Signature)> = blocks
        .iter()
        .flatten()
        .map(|t| Ok((*t.tx.signing_digest()?.as_bytes(), t.signature)))
        .collect::<Result<_, tau::state::Error>>()?;
    let start = Instant::now();
    for (digest, signature) in &digests {
        tau::keys::recover(digest, signature)?;
    }
    let recover = total / start.elapsed().as_secs_f64();
    println!("recover_per_s={recover:.0}");

    let mut roots = vec![root];
    let mut bytes = 0usize;
    let mut produce_s = 0.0;
    for txs in &blocks {
        let when = chain.eligibility(&root, &miner.address())?.earliest;
        let start = Instant::now();
        let produced = chain.produce_next_state(&root, miner, txs, when)?;
        produce_s += start.elapsed().as_secs_f64();
        if !produced.skipped.is_empty() {
            return Err(format!(
                "{} transactions skipped: {:?}",
                produced.skipped.len(),
                produced.skipped[0]
            )
            .into());
        }
        bytes += produced.bytes_written;
        root = produced.root;
        roots.push(root);
    }
    let produce = total / produce_s;
    println!("produce_tx_per_s={produce:.0}");
    println!("produce_vs_recover={:.2}", produce / recover);

    let start = Instant::now();
    for pair in roots.windows(2) {
        chain.validate_block(&pair[0], &pair[1])?;
    }
    println!(
        "validate_tx_per_s={:.0}",
        total / start.elapsed().as_secs_f64()
    );
    println!("bytes_per_tx={:.0}", bytes as f64 / total);
    Ok(())
}
