//! The tau-cbc simulator: TAU nodes mining devnet blocks and voting on a
//! safety point over a simulated network, some of them byzantine.
//!
//! ```text
//! cargo run --release --example cbc-sim -- [--nodes N] [--byzantine B] [--seed S]
//!     [--seeds K] [--partition M] [--mining-time T] [--settle-time T]
//! ```
//!
//! Defaults: 16 nodes, 0 byzantine, seed 1, one run, 1,800 s of mining (a
//! block a minute) and 300 s
//! to settle. `--partition M` cuts nodes `0..M` off from 600 s to 900 s.
//! `--seeds K` runs seeds S..S+K. The last `B` nodes are byzantine: forger,
//! withholder, equivocator in turn. Each run prints a progress bar, then one
//! `name=value` line per figure; the exit status is 1 if any run had a safety
//! violation or an honest node adopted a forged state.

use std::error::Error;

use clap::Parser;
use indicatif::{ProgressBar, ProgressStyle};
use tau::cbc::sim::{Partition, SimConfig, Simulation};

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
}

fn main() -> Result<(), Box<dyn Error>> {
    let args = Args::parse();
    let mut failed = false;
    for seed in args.seed..args.seed + args.seeds {
        let mut config = SimConfig::new(args.nodes, args.byzantine, seed);
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
        println!("blocks_mined={}", r.blocks_mined);
        println!("first_agreement_s={}", opt(r.first_agreement_at));
        println!("final_agreement={}", r.final_agreement);
        println!("final_safety_number={}", opt(r.final_safety_number));
        println!("max_reorg_depth={}", r.max_reorg_depth);
        println!("refused_reorgs={}", r.refused_reorgs);
        println!("conflicts_refused={}", r.conflicts_refused);
        println!("safety_violations={}", r.safety_violations);
        println!("forged_adopted={}", r.forged_adopted);
        println!("forgeries_detected={}", r.forgeries_detected);
        println!("byzantine_marked={}", r.byzantine_marked);
        println!("honest_marked={}", r.honest_marked);
        println!("min_fault_tolerance={}", opt(r.min_fault_tolerance));
        if args.partition.is_some() {
            println!(
                "minority_advanced_in_partition={}",
                r.minority_advanced_in_partition
            );
        }
        failed |= r.safety_violations > 0 || r.forged_adopted > 0;
    }
    if failed {
        std::process::exit(1);
    }
    Ok(())
}

fn opt<T: std::fmt::Display>(value: Option<T>) -> String {
    value.map_or_else(|| "none".to_string(), |v| v.to_string())
}
