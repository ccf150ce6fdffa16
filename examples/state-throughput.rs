//! Block execution throughput of tau-state against a large state.
//!
//! ```text
//! cargo run --release --example state-throughput -- [--accounts N] [--blocks B] [--txs T] [--seed S] [--bitwidth B] [--warm-nodes W]
//! ```
//!
//! Defaults: `--accounts 100000 --blocks 10 --seed 1`, full blocks (`--txs`
//! defaults to the parameters' `max_block_transactions`, 10,000), the devnet
//! HAMT shape (`--bitwidth B` to try another) and the default bound of the
//! warm head state (`--warm-nodes 0`: every block reads its previous state
//! from the store). Builds a devnet genesis with N funded accounts, signs B
//! blocks of T wirings between random accounts (senders drawn from the first
//! `B·T` accounts, so most send once), then, block by block:
//!
//! 1. recovers the signer of each of the block's transactions with tau-keys
//!    alone (the anchor: the floor any execution pays), then produces the
//!    block with `Executor::produce_next_state` (signature recovery, nonce and
//!    balance checks, HAMT updates, flush, block signing and the store
//!    write);
//! 2. recovers the same signatures again, then validates the block with
//!    `Executor::validate_block` (re-execution) on a second chain over the same
//!    store: a validator following the producer, with its own warm head
//!    state.
//!
//! Each of the four is summed over all blocks, so the anchor and the
//! execution see the same machine noise.
//!
//! Output: one `name=value` line per figure: `recover_per_s` and
//! `produce_tx_per_s` (step 1), `produce_vs_recover` (their ratio, from the
//! summed times), `validate_recover_per_s`, `validate_tx_per_s` and
//! `validate_vs_recover` (step 2), and `bytes_per_tx`: bytes of new blocks
//! written by production per transaction; `warm_nodes_held`: decoded HAMT
//! nodes the producer's warm head state holds at the end. Single-threaded.

use std::error::Error;
use std::time::Instant;

use clap::Parser;
use rand::{Rng, SeedableRng};
use tau::ipld::MemoryBlockstore;
use tau::keys::{Keypair, Signature};
use tau::state::{Executor, Genesis, Params, SignedTransaction, Transaction, TxBody};

#[derive(Parser)]
struct Args {
    /// Accounts in the genesis state.
    #[arg(long, default_value_t = 100_000)]
    accounts: usize,
    /// Blocks to execute.
    #[arg(long, default_value_t = 10)]
    blocks: usize,
    /// Transactions per block (default: the parameters' maximum).
    #[arg(long)]
    txs: Option<usize>,
    /// Seed of the key and transaction generator.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Bit width of the state HAMT (devnet default: 5).
    #[arg(long)]
    bitwidth: Option<u32>,
    /// Bound of the chain's warm head state in decoded HAMT nodes (0: off).
    #[arg(long, default_value_t = tau::state::DEFAULT_WARM_STATE_NODES)]
    warm_nodes: usize,
}

fn main() -> Result<(), Box<dyn Error>> {
    let args = Args::parse();
    let mut params = Params::devnet();
    if let Some(bits) = args.bitwidth {
        params.hamt = tau::hamt::Config::builder().bit_width(bits).build()?;
    }
    println!("bit_width={}", params.hamt.bit_width());
    let per_block = args.txs.unwrap_or(params.max_block_transactions);
    println!("txs_per_block={per_block}");

    let mut rng = rand::rngs::StdRng::seed_from_u64(args.seed);
    let senders = (args.blocks * per_block).min(args.accounts).max(1);
    let keys: Vec<Keypair> = (0..senders).map(|_| Keypair::generate(&mut rng)).collect();
    let mut addresses: Vec<_> = keys.iter().map(Keypair::address).collect();
    while addresses.len() < args.accounts {
        addresses.push(tau::keys::Address::new(rng.random()));
    }

    let chain = Executor::new(MemoryBlockstore::new(), params.clone())?
        .with_warm_state_nodes(args.warm_nodes);
    println!("warm_nodes={}", args.warm_nodes);
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
        let mut txs = Vec::with_capacity(per_block);
        while txs.len() < per_block {
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
    let total = (args.blocks * per_block) as f64;
    println!("transactions={total}");

    // The anchor's input: each block's (digest, signature) pairs.
    let digests: Vec<Vec<([u8; 32], Signature)>> = blocks
        .iter()
        .map(|txs| {
            txs.iter()
                .map(|t| Ok((*t.tx.signing_digest()?.as_bytes(), t.signature)))
                .collect::<Result<_, tau::state::Error>>()
        })
        .collect::<Result<_, _>>()?;
    let recover_block = |i: usize| -> Result<f64, Box<dyn Error>> {
        let start = Instant::now();
        for (digest, signature) in &digests[i] {
            tau::keys::recover(digest, signature)?;
        }
        Ok(start.elapsed().as_secs_f64())
    };

    // Block by block: recovery then production; recovery then validation
    // by a second chain following the first.
    let validator =
        Executor::new(chain.store(), params.clone())?.with_warm_state_nodes(args.warm_nodes);
    let mut bytes = 0usize;
    let (mut recover_s, mut produce_s) = (0.0, 0.0);
    let (mut validate_recover_s, mut validate_s) = (0.0, 0.0);
    for (i, txs) in blocks.iter().enumerate() {
        recover_s += recover_block(i)?;
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

        validate_recover_s += recover_block(i)?;
        let start = Instant::now();
        validator.validate_block(&root, &produced.root)?;
        validate_s += start.elapsed().as_secs_f64();
        root = produced.root;
    }
    println!("recover_per_s={:.0}", total / recover_s);
    println!("produce_tx_per_s={:.0}", total / produce_s);
    println!("produce_vs_recover={:.2}", recover_s / produce_s);
    println!("validate_recover_per_s={:.0}", total / validate_recover_s);
    println!("validate_tx_per_s={:.0}", total / validate_s);
    println!("validate_vs_recover={:.2}", validate_recover_s / validate_s);
    println!("bytes_per_tx={:.0}", bytes as f64 / total);
    let held = chain.warm_state().map_or(0, |(_, nodes)| nodes);
    println!("warm_nodes_held={held}");
    Ok(())
}
