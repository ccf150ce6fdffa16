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
//!
//! ```text
//! cargo run --release --example trustme-network -- --real N [--rounds R] [--seed S]
//!     [--partition M] [--cut-secs T] [--pow devnet|tiny]
//! ```
//!
//! `--real N` runs N real super nodes + the foundation node in this process
//! instead of the simulator (tau-trustme-net: libp2p on 127.0.0.1, units
//! gossiped and fetched by id, every unit checked before it is stored): each
//! node pays the next one every second, mines on a blocking thread and
//! attests; the run ends once every node has seen R round switches and
//! reached the same stable point. It prints, per node, the rewards credited
//! (coinbase) and the ledger balance, then whether all replicas agree (the
//! same stable units and state digest at every MCI both have). It exits 1 if
//! they do not, if no coinbase was credited, or if a partition's minority
//! did not stall while its majority stabilized. With `--partition M` the last M attestors of the current round are
//! cut off (connections closed, redials refused) for T seconds (default 8)
//! once 3 MCIs are stable, and the stable MCI growth of each side is printed
//! (TR §4.1: the majority stabilizes, the minority stalls); after the heal
//! the minority catches up with catch-up proofs.

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
    /// Run N real super nodes over libp2p on 127.0.0.1 instead of the simulator.
    #[arg(long)]
    real: Option<usize>,
    /// With --real and --partition: how long the cut lasts, in seconds.
    #[arg(long, default_value_t = 8)]
    cut_secs: u64,
}

fn main() {
    // Errors are printed for people (Display), not as a Debug dump.
    if let Err(e) = run(&Args::parse()) {
        eprintln!("trustme-network: {e}");
        std::process::exit(1);
    }
}

fn run(args: &Args) -> Result<(), Box<dyn Error>> {
    if let Some(n) = args.real {
        return real(args, n);
    }
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

/// `--real N`: N super nodes over libp2p in this process.
fn real(args: &Args, n: usize) -> Result<(), Box<dyn Error>> {
    use std::time::Duration;
    use tau::trustme_net::{run, PartitionPlan, RunConfig};

    let params = match args.pow.as_str() {
        "tiny" => Params::tiny(),
        "devnet" => Params::devnet(),
        other => return Err(format!("--real runs --pow devnet or tiny, not {other}").into()),
    };
    let f = params.foundation_attestors;
    let config = RunConfig {
        params,
        super_nodes: n,
        rounds: args.rounds,
        seed: args.seed,
        funds: 10_000_000,
        payment_every: Some(Duration::from_secs(1)),
        partition: args.partition.map(|m| PartitionPlan {
            minority: m,
            cut: Duration::from_secs(args.cut_secs.max(3)),
            settle: Duration::from_secs(2),
        }),
        timeout: Duration::from_secs(120 + 60 * args.rounds),
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    eprintln!(
        "trustme-network --real: {} nodes on 127.0.0.1, waiting for {} round switches...",
        n + f,
        args.rounds
    );
    let report = runtime.block_on(run(config))?;
    let minority = report
        .partition
        .as_ref()
        .map(|p| p.minority.clone())
        .unwrap_or_default();
    println!(
        "{:>4} {:>5} {:>4} {:>5} {:>6} {:>16} {:>16} {:>9} {:>15} {:>7}",
        "node",
        "role",
        "side",
        "round",
        "stable",
        "rewards (notes)",
        "balance (notes)",
        "paid/conf",
        "made/recv/refd",
        "catchup"
    );
    for (i, s) in report.statuses.iter().enumerate() {
        let role = if i < f { "fdn" } else { "super" };
        let side = if report.partition.is_none() {
            "-"
        } else if minority.contains(&i) {
            "min"
        } else {
            "maj"
        };
        let st = &s.stats;
        println!(
            "{:>4} {:>5} {:>4} {:>5} {:>6} {:>16} {:>16} {:>9} {:>15} {:>7}",
            i,
            role,
            side,
            s.round,
            s.last_stable_mci,
            s.rewards.get(&s.address).copied().unwrap_or(0),
            s.balances.get(&s.address).copied().unwrap_or(0),
            format!("{}/{}", st.payments_sent, st.payments_confirmed),
            format!(
                "{}/{}/{}",
                st.units_made, st.units_received, st.units_refused
            ),
            st.catchup_mcis
        );
    }
    println!();
    let first = &report.statuses[0];
    println!("nodes={}", report.statuses.len());
    println!("wall_s={:.1}", report.elapsed.as_secs_f64());
    println!("round_switches={}", first.stats.round_switches);
    println!("stable_mci={}", first.last_stable_mci);
    println!("rewards_total={}", first.rewards.values().sum::<u64>());
    println!("issued={}", first.issued);
    println!(
        "payments_confirmed={}",
        report
            .statuses
            .iter()
            .map(|s| s.stats.payments_confirmed)
            .sum::<u64>()
    );
    println!("genesis_funds_per_node={}", report.funds);
    if let Some(p) = &report.partition {
        println!("partition_minority={:?}", p.minority);
        println!(
            "partition_stable_growth_per_node={:?} (over {:.1} s of the cut)",
            p.growth,
            p.measured.as_secs_f64()
        );
        println!("partition_majority_growth={}", p.majority_growth());
        println!("partition_minority_growth={}", p.minority_growth());
        println!("partition_claim_holds={}", p.claim_holds());
        println!("catchup_mcis_per_node={:?}", p.catchup_mcis);
    }
    println!("compared_mcis={}", report.agreement.compared);
    println!("replicas_agree={}", report.agreement.agree());
    let mut failed = false;
    if let Some(d) = &report.agreement.difference {
        eprintln!("trustme-network --real: the replicas disagree: {d}");
        failed = true;
    }
    if report.agreement.compared == 0 {
        eprintln!("trustme-network --real: no stable MCI to compare");
        failed = true;
    }
    for (i, s) in report.statuses.iter().enumerate() {
        if let Some(f) = &s.fatal {
            eprintln!("trustme-network --real: node {i} stopped on a fatal error: {f}");
            failed = true;
        }
    }
    if first.issued == 0 || first.rewards.values().sum::<u64>() == 0 {
        eprintln!("trustme-network --real: no coinbase was credited");
        failed = true;
    }
    if report.partition.as_ref().is_some_and(|p| !p.claim_holds()) {
        eprintln!(
            "trustme-network --real: the minority did not stall while the majority stabilized"
        );
        failed = true;
    }
    if failed {
        std::process::exit(1);
    }
    Ok(())
}
