//! The tau-trustme simulator: super nodes mining Equihash PoW units,
//! attestors chosen per round, TrustME units, rewards, over a seeded network.
//!
//! ```text
//! cargo run --release --example trustme-network -- [--nodes N] [--rounds R] [--seed S]
//!     [--partition M] [--pow devnet|tiny|mainnet] [--loss P] [--offline I] [--equivocate I]
//! ```
//!
//! Defaults: 8 super nodes + the foundation (devnet: 1 foundation + 4 PoW
//! attestors per round), 10 rounds, seed 1, Equihash (96,5). `--pow mainnet`
//! uses (200,9) with TR mainnet counts (2 + 18 attestors; needs ≥ 18 nodes
//! and about 150 MiB of solver tables). `--partition M` cuts the last M
//! attestors of round 1 off from every other node from 5 s to 35 s: with M
//! at most half of them the other side keeps stabilizing and switching
//! rounds while they stall, and after the heal they catch up (catch-up
//! proofs) to the same history. A progress bar runs while it works; at the
//! end, a summary table. Exit status 1 if the replicas disagree on a
//! finished round.

use std::error::Error;

use clap::Parser;
use indicatif::{ProgressBar, ProgressStyle};
use tau::trustme::sim::{Partition, Sim, SimConfig};
use tau::trustme::Params;

#[derive(Parser)]
struct Args {
    /// Super nodes (besides the foundation).
    #[arg(long, default_value_t = 8)]
    nodes: usize,
    /// Rounds to run after round 1.
    #[arg(long, default_value_t = 10)]
    rounds: u64,
    /// The seed of every random choice.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Cut the last M attestors of round 1 off from 5 s to 35 s.
    #[arg(long)]
    partition: Option<usize>,
    /// Equihash parameters: devnet (96,5), tiny (48,5) or mainnet (200,9).
    #[arg(long, default_value = "devnet")]
    pow: String,
    /// Percent of messages lost (retransmitted after 500 ms).
    #[arg(long, default_value_t = 0)]
    loss: u32,
    /// A node offline from 5 s to 20 s.
    #[arg(long)]
    offline: Option<usize>,
    /// An attestor that equivocates.
    #[arg(long)]
    equivocate: Option<usize>,
}

fn main() -> Result<(), Box<dyn Error>> {
    let args = Args::parse();
    let mut cfg = SimConfig::devnet(args.nodes, args.rounds, args.seed);
    cfg.params = match args.pow.as_str() {
        "tiny" => Params::tiny(),
        "devnet" => Params::devnet(),
        "mainnet" => {
            let mut p = Params::mainnet();
            // TR counts and (200,9), with devnet's easy limit and short rounds.
            let d = Params::devnet();
            p.retarget = d.retarget;
            p.initial_bits = d.initial_bits;
            p.takeover_ms = d.takeover_ms;
            p
        }
        other => return Err(format!("unknown --pow {other}").into()),
    };
    cfg.loss_pct = args.loss;
    cfg.normal_unit_ms = 3_000;
    if let Some(m) = args.partition {
        // Nodes 0..attestors() are round 1's attestors, foundation first.
        let n = cfg.params.attestors();
        cfg.partition = Some(Partition {
            start_ms: 5_000,
            heal_ms: 35_000,
            side: (n - m.min(n)..n).collect(),
        });
    }
    if let Some(i) = args.offline {
        cfg.offline = vec![(i, 5_000, 20_000)];
    }
    if let Some(i) = args.equivocate {
        cfg.equivocators = vec![i];
    }
    let f = cfg.params.foundation_attestors;
    let mut sim = Sim::new(cfg)?;
    let bar = ProgressBar::new(args.rounds);
    bar.set_style(ProgressStyle::with_template(
        "{spinner} round {pos}/{len} [{bar:30}] {msg}",
    )?);
    while !sim.done() {
        let until = sim.now() + 1_000;
        sim.run_until(until)?;
        let r = sim.report();
        bar.set_position((r.rounds.len() as u64).saturating_sub(1));
        bar.set_message(format!(
            "t={} s, stable MCI {}, units {}",
            r.end_ms / 1000,
            r.last_stable_mci,
            r.units_created
        ));
    }
    bar.finish_and_clear();
    // Let the last units settle everywhere.
    sim.run_until(sim.now() + 10_000)?;
    let report = sim.report();

    println!(
        "{:>5} {:>9} {:>9} {:>4}  attestors",
        "round", "start s", "length s", "new"
    );
    let durations = report.round_durations_ms();
    for (i, r) in report.rounds.iter().enumerate() {
        let len = durations
            .get(i)
            .map_or("-".to_string(), |d| format!("{:.1}", *d as f64 / 1000.0));
        println!(
            "{:>5} {:>9.1} {:>9} {:>4}  {}",
            r.round,
            r.start_ms as f64 / 1000.0,
            len,
            r.new_attestors,
            r.attestors
                .iter()
                .map(|a| sim_index(&sim, a))
                .collect::<Vec<_>>()
                .join(",")
        );
    }
    println!();
    println!("{:>5} {:>6} {:>22}", "node", "role", "rewards (notes)");
    for i in 0..sim.node_count() {
        let role = if i < f { "fdn" } else { "super" };
        println!("{:>5} {:>6} {:>22}", i, role, report.rewards_by_node[i]);
    }
    println!();
    let disagree = (1..sim.node_count()).any(|i| {
        let a = sim.replica(0).rounds().all();
        let b = sim.replica(i).rounds().all();
        a.iter()
            .zip(b)
            .filter(|(x, y)| x.coinbase.is_some() && y.coinbase.is_some())
            .any(|(x, y)| x.attestors != y.attestors || x.coinbase != y.coinbase)
    });
    println!("rounds={}", report.rounds.len().saturating_sub(1));
    println!("simulated_s={:.1}", report.end_ms as f64 / 1000.0);
    println!("units={}", report.units_created);
    println!("stable_units={}", report.stable_units);
    println!("mc_len={}", report.mc_len);
    println!("mean_stabilization_ms={}", report.mean_stabilization_ms());
    println!("stable_mci_per_node={:?}", report.stable_mci_per_node);
    println!("rejected_units={}", report.rejected.len());
    println!("catchups={}", report.catchups);
    println!("catchup_mcis={}", report.catchup_mcis);
    println!("catchup_errors={}", report.catchup_errors.len());
    for e in report.catchup_errors.iter().take(5) {
        println!("  catchup_error: {e}");
    }
    println!("rewards_total={}", report.rewards.values().sum::<u64>());
    println!("replicas_agree={}", !disagree);
    if disagree {
        eprintln!("trustme-network: the replicas disagree on a round's attestors or coinbase");
        std::process::exit(1);
    }
    Ok(())
}

fn sim_index(sim: &Sim, a: &tau::keys::Address) -> String {
    (0..sim.node_count())
        .find(|&i| sim.address(i) == *a)
        .map_or("?".to_string(), |i| i.to_string())
}
