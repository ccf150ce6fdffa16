//! Main-chain ingest throughput: units per second and index bytes per unit.
//!
//! ```text
//! cargo run --release --example mc-ingest -- --units N [--attestors 20] [--width 8] [--trustme-every 4] [--seed 1]
//! ```
//!
//! First generates N units (not timed) with an honest simulation: `width`
//! lanes of normal units, each on its lane's last unit and sometimes on
//! another lane's; every `trustme-every`-th unit is a TrustME unit by a
//! random attestor on the best free units (`Dag::choose_parents`), so the
//! main chain advances and stabilizes. Signatures are real-sized but not
//! checked (`Unit::assume_verified`), so the figure is the consensus logic.
//!
//! Then times inserting all units into a fresh `MainChain` (store write,
//! DAG validation and index, attestation level, main chain update,
//! stabilization with total order). Prints `name=value` lines: `units_per_s`,
//! `ns_per_unit`, `index_bytes_per_unit` (DAG + main-chain index, not the unit
//! bytes in the store), `stable_mci`, `main_chain_len`. Single-threaded.

use std::error::Error;
use std::time::Instant;

use clap::Parser;
use rand::{Rng, SeedableRng};
use tau::dag::{Dag, FixedAttestors, Message, Params, Unit, UnsignedUnit, VerifiedUnit};
use tau::hamt::MemoryBlockstore;
use tau::keys::{Keypair, Signature};
use tau::mainchain::MainChain;

#[derive(Parser)]
struct Args {
    /// Units to ingest.
    #[arg(long, default_value_t = 100_000)]
    units: usize,
    /// Attestors per round.
    #[arg(long, default_value_t = 20)]
    attestors: usize,
    /// Concurrent lanes of normal units (about the number of free units).
    #[arg(long, default_value_t = 8)]
    width: usize,
    /// One unit in this many is a TrustME unit.
    #[arg(long, default_value_t = 4)]
    trustme_every: usize,
    /// Random seed.
    #[arg(long, default_value_t = 1)]
    seed: u64,
}

/// The attestor keys and set of a simulation.
pub fn attestor_keys(n: usize) -> (Vec<Keypair>, FixedAttestors) {
    let keys: Vec<Keypair> = (0..n)
        .map(|i| Keypair::from_bytes(&[(i % 250) as u8 + 1; 32]).expect("valid key"))
        .collect();
    let set = FixedAttestors::new(keys.iter().map(|k| k.address()));
    (keys, set)
}

/// Generates `n` units after genesis (see the module docs); returns genesis and them.
pub fn generate(
    n: usize,
    attestors: usize,
    width: usize,
    trustme_every: usize,
    seed: u64,
) -> Result<(VerifiedUnit, Vec<VerifiedUnit>), Box<dyn Error>> {
    let params = Params::mainnet();
    let (keys, set) = attestor_keys(attestors);
    let normal = Keypair::from_bytes(&[0xEE; 32])?;
    // One signature per author, reused: signatures are not checked here.
    let digest = [7u8; 32];
    let sig_of = |k: &Keypair| -> Signature { k.sign(&digest) };
    let attestor_sigs: Vec<Signature> = keys.iter().map(sig_of).collect();
    let normal_sig = sig_of(&normal);
    let make = |parents: Vec<tau::hamt::Cid>, author: Option<usize>, stamp: u64| {
        let (address, signature, message) = match author {
            Some(i) => (
                keys[i].address(),
                attestor_sigs[i],
                Message::TrustMe(vec![0; 32]),
            ),
            None => (normal.address(), normal_sig, Message::Data(vec![0; 64])),
        };
        let mut parents = parents;
        parents.sort_unstable_by_key(|c| c.to_bytes());
        Unit {
            unsigned: UnsignedUnit {
                version: 1,
                round: 1,
                timestamp: stamp,
                parents,
                authors: vec![address],
                messages: vec![message],
            },
            signatures: vec![signature],
        }
        .assume_verified(&params)
    };
    let genesis = make(vec![], Some(0), 0)?;
    let mut dag = Dag::new(MemoryBlockstore::new(), params.clone(), genesis.clone())?;
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let mut lanes = vec![0u32; width.max(1)];
    let mut units = Vec::with_capacity(n);
    for i in 0..n {
        let stamp = i as u64 + 1;
        let lane = rng.random_range(0..lanes.len());
        let unit = if trustme_every > 0 && i % trustme_every == 0 {
            let author = rng.random_range(0..attestors);
            make(dag.choose_parents(), Some(author), stamp)?
        } else {
            let own = lanes[lane];
            let mut parents = vec![own];
            let other = lanes[rng.random_range(0..lanes.len())];
            if rng.random_bool(0.5)
                && other != own
                && !dag.includes(other, own)
                && !dag.includes(own, other)
            {
                parents.push(other);
            }
            let ids = parents.iter().filter_map(|&p| dag.id(p)).collect();
            make(ids, None, stamp)?
        };
        let num = dag.insert(unit.clone(), &set)?.accepted[0].num;
        lanes[lane] = num;
        units.push(unit);
    }
    Ok((genesis, units))
}

/// Inserts every unit into a fresh main chain; returns it.
pub fn ingest(
    genesis: &VerifiedUnit,
    units: Vec<VerifiedUnit>,
    set: &FixedAttestors,
) -> Result<MainChain<MemoryBlockstore>, Box<dyn Error>> {
    let dag = Dag::new(MemoryBlockstore::new(), Params::mainnet(), genesis.clone())?;
    let (mut chain, _) = MainChain::new(dag, tau::mainchain::Params::mainnet())?;
    for unit in units {
        chain.insert(unit, set)?;
    }
    Ok(chain)
}

#[allow(dead_code)]
fn main() -> Result<(), Box<dyn Error>> {
    let args = Args::parse();
    let t = Instant::now();
    let (genesis, units) = generate(
        args.units,
        args.attestors,
        args.width,
        args.trustme_every,
        args.seed,
    )?;
    eprintln!("generated {} units in {:.1?}", units.len(), t.elapsed());
    let (_, set) = attestor_keys(args.attestors);
    let n = units.len();
    let t = Instant::now();
    let chain = ingest(&genesis, units, &set)?;
    let elapsed = t.elapsed();
    let index = chain.dag().index_bytes() + chain.index_bytes();
    println!("units={n}");
    println!("attestors={}", args.attestors);
    println!("width={}", args.width);
    println!("units_per_s={:.0}", n as f64 / elapsed.as_secs_f64());
    println!("ns_per_unit={:.0}", elapsed.as_nanos() as f64 / n as f64);
    println!(
        "index_bytes_per_unit={:.0}",
        index as f64 / chain.dag().len() as f64
    );
    println!(
        "store_bytes_per_unit={:.0}",
        chain.dag().store().total_bytes() as f64 / chain.dag().len() as f64
    );
    println!("stable_mci={}", chain.last_stable_mci());
    println!("main_chain_len={}", chain.main_chain().len());
    println!("free_units={}", chain.dag().free_count());
    Ok(())
}
