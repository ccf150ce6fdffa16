//! The tau-cbc simulator: TAU nodes mining devnet blocks and voting on a
//! safety point over a simulated network, some of them byzantine.
//!
//! ```text
//! cargo run --release --example cbc-sim -- [--nodes N] [--byzantine B] [--seed S]
//!     [--seeds K] [--partition M] [--mining-time T] [--settle-time T] [--transfers S]
//!     [--attack sybil|future|forged-bottom|peer-flood|mempool-flood|forger|withholder|equivocator|partition]
//! ```
//!
//! Defaults: 16 nodes, 0 byzantine, seed 1, one run, 1,800 s of mining (a
//! block a minute) and 300 s
//! to settle. `--partition M` cuts nodes `0..M` off from 600 s to 900 s.
//! `--seeds K` runs seeds S..S+K. The last `B` nodes are byzantine: forger,
//! withholder, equivocator in turn. `--attack NAME` runs one of tau-cbc's
//! `sim::Attack`s against the nodes: 10 sybil ids per honest node behind one
//! funded lead, a miner dating blocks ahead of the clock, a chain on an
//! invented state, 2,000 silent peer ids, two flooders sending honest
//! mempools junk while honest nodes pay each other (mempool-flood), 5 added
//! forgers, withholders or equivocators, or nodes 0..5 cut off from 600 s to
//! 900 s (partition). `--transfers S` has honest nodes pay each other, one
//! transfer at a time, the next S seconds after the previous reached the
//! sender's safety point (mempool-flood does so every 60 s). Each run
//! prints a progress bar, then one `name=value` line per figure;
//! `time_to_honest_safety` is the seconds from the
//! attack's start (0 for attacks from genesis, the invention of a
//! forged-bottom attack, a partition's split) to the first time an honest
//! node's safety point moves onto a state an honest node mined. The exit
//! status is 1 if any run had a safety violation, an honest node adopted a
//! forged state or an attacker's chain, the honest nodes did not end on one
//! safety point, (under an attack) an honest safety point never advanced,
//! or (under mempool-flood) an honest mempool admitted junk, outgrew its
//! bound, or no honest transfer was mined.

use std::error::Error;

use clap::Parser;
use indicatif::{ProgressBar, ProgressStyle};
use tau::cbc::sim::{Attack, Partition, SimConfig, Simulation};
use tau::state::mempool::MAX_MEMPOOL;

#[derive(Parser)]
struct Args {
    /// Number of nodes.
    #[arg(long, default_value_t = 16)]
    nodes: usize,
    /// Byzantine nodes among them.
    #[arg(long, default_value_t = 0)]
    byzantine: usize,
    /// First seed.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Number of seeds to run.
    #[arg(long, default_value_t = 1)]
    seeds: u64,
    /// Cut nodes 0..M off from 600 s to 900 s.
    #[arg(long)]
    partition: Option<usize>,
    /// Seconds of mining.
    #[arg(long, default_value_t = 1_800)]
    mining_time: u64,
    /// Quiet seconds after mining.
    #[arg(long, default_value_t = 300)]
    settle_time: u64,
    /// Honest nodes pay each other, a transfer this many seconds after the
    /// previous one reached the sender's safety point (mempool-flood: 60).
    #[arg(long)]
    transfers: Option<u64>,
    /// Run an attack: sybil, future, forged-bottom, peer-flood,
    /// mempool-flood, forger, withholder, equivocator or partition.
    #[arg(long, value_parser = parse_attack)]
    attack: Option<Attack>,
}

fn parse_attack(name: &str) -> Result<Attack, String> {
    Attack::from_name(name).ok_or_else(|| {
        let names: Vec<&str> = Attack::ALL.iter().map(|a| a.name()).collect();
        format!("unknown attack {name:?} ({})", names.join(", "))
    })
}

fn main() -> Result<(), Box<dyn Error>> {
    let args = Args::parse();
    let mut failed: Vec<String> = Vec::new();
    for seed in args.seed..args.seed + args.seeds {
        let mut config = SimConfig::new(args.nodes, args.byzantine, seed);
        config.attack = args.attack;
        config.transfer_every = args.transfers;
        config.mining_time = args.mining_time;
        config.settle_time = args.settle_time;
        config.partition = args.partition.map(|minority| Partition {
            minority,
            from: 600,
            until: 900,
        });
        let mut sim = Simulation::new(config)?;
        let bar = ProgressBar::new(sim.config().duration());
        bar.set_style(ProgressStyle::with_template(
            "seed {msg} [{bar:40}] {pos}/{len} s simulated",
        )?);
        bar.set_message(seed.to_string());
        while sim.step()? {
            bar.set_position(sim.now());
        }
        bar.finish_and_clear();
        let r = sim.report();
        println!("seed={seed}");
        println!("nodes={} byzantine={}", args.nodes, args.byzantine);
        println!("attack={}", args.attack.map_or("none", Attack::name));
        println!("blocks_mined={}", r.blocks_mined);
        println!("first_agreement_s={}", opt(r.first_agreement_at));
        println!("final_agreement={}", r.final_agreement);
        println!("final_safety_number={}", opt(r.final_safety_number));
        println!("max_reorg_depth={}", r.max_reorg_depth);
        println!("refused_reorgs={}", r.refused_reorgs);
        println!("conflicts_refused={}", r.conflicts_refused);
        println!("safety_violations={}", r.safety_violations);
        println!("forged_states_adopted={}", r.forged_adopted);
        println!("attacker_chain_adopted={}", r.attacker_chain_adopted);
        println!("honest_safety_advanced={}", r.honest_safety_advanced);
        println!("future_refused={}", r.future_refused);
        println!("max_peer_table={}", r.max_peer_table);
        println!("forgeries_detected={}", r.forgeries_detected);
        println!("byzantine_marked={}", r.byzantine_marked);
        println!("honest_marked={}", r.honest_marked);
        println!("min_fault_tolerance={}", opt(r.min_fault_tolerance));
        println!("time_to_honest_safety={}", opt(r.time_to_honest_safety));
        let flood = args.attack == Some(Attack::MempoolFlood);
        if flood || args.transfers.is_some() {
            println!("mempool_peak={}", r.mempool_peak);
            println!("junk_sent={}", r.junk_sent);
            println!("junk_admitted={}", r.junk_admitted);
            println!("spam_admitted={}", r.spam_admitted);
            println!("honest_tx_sent={}", r.honest_tx_sent);
            println!("honest_tx_mined={}", r.honest_tx_mined);
            println!("honest_tx_safe={}", r.honest_tx_safe);
        }
        if args.partition.is_some() || args.attack == Some(Attack::Partition) {
            println!(
                "minority_advanced_in_partition={}",
                r.minority_advanced_in_partition
            );
        }
        let checks = [
            (r.safety_violations > 0, "a safety violation"),
            (
                r.forged_adopted > 0,
                "an honest node adopted a forged state",
            ),
            (
                r.attacker_chain_adopted > 0,
                "an honest node adopted the attacker's chain",
            ),
            (
                !r.final_agreement,
                "the honest nodes did not end on one safety point",
            ),
            (
                args.attack.is_some() && !r.honest_safety_advanced,
                "no honest safety point advanced under the attack",
            ),
            (
                flood && r.junk_admitted > 0,
                "an honest mempool admitted junk",
            ),
            (
                flood && r.mempool_peak > MAX_MEMPOOL,
                "an honest mempool outgrew its bound",
            ),
            (
                flood && r.honest_tx_mined == 0,
                "no honest transfer was mined",
            ),
        ];
        failed.extend(
            checks
                .iter()
                .filter(|(fault, _)| *fault)
                .map(|(_, what)| format!("seed {seed}: {what}")),
        );
    }
    if !failed.is_empty() {
        for what in &failed {
            eprintln!("cbc-sim: {what}");
        }
        std::process::exit(1);
    }
    Ok(())
}

fn opt<T: std::fmt::Display>(value: Option<T>) -> String {
    value.map_or_else(|| "none".to_string(), |v| v.to_string())
}
