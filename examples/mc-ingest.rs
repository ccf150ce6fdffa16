//! Main-chain ingest throughput: units per second and index bytes per unit.
//!
//! ```text
//! cargo run --release --example mc-ingest -- --units N [--attestors 20] [--width 8] [--trustme-every 4] [--seed 1] [--anchor-runs 3] [--anchor-every K]
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
//!
//! Before the main run, the first `--anchor` units (default 10,000) are
//! ingested `--anchor-runs` times into fresh chains in the same process
//! (`anchor_ns_per_unit` per run, the first one cold), and as many times
//! again after it, once its chain is dropped (`anchor_after_ns_per_unit`):
//! `ratio_vs_anchor` is the main run's ns/unit over the median of all of
//! them, so that a drift of the machine during the process weighs on both
//! sides. With `--anchor-every K` the main run also pauses every K units
//! for one more anchor run (`anchor_during_ns_per_unit`), left out of the
//! main run's time and counted in the median, so the anchors also sample
//! the machine while the main run is going on. On Linux the same figures are also given in CPU time of the
//! thread (`cpu_ns_per_unit`, `anchor_cpu_ns_per_unit`,
//! `anchor_after_cpu_ns_per_unit`, `cpu_ratio_vs_anchor`), which leaves out
//! the time other jobs on a busy machine held the core.
//!
//! Informative, not the target figure: `tail_cpu_ns_per_unit` (and
//! `tail_ns_per_unit`, wall clock) is the marginal cost of the last 10 % of
//! the main run's units, inserted into a DAG of 0.9 N units, and
//! `tail_cpu_ratio_vs_anchor` its ratio to the anchors' median (not given
//! with `--batch`).

use std::error::Error;
use std::time::Instant;

use clap::Parser;
use rand::{Rng, SeedableRng};
use tau::dag::{Dag, FixedAttestors, Message, Params, Unit, UnsignedUnit, VerifiedUnit};
use tau::ipld::MemoryBlockstore;
use tau::keys::{Keypair, Signature};
use tau::mainchain::MainChain;
use tau::trustme::Ledger;

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
    /// Before the main run, ingest the first this-many units into a fresh
    /// chain, timed the same way: the same-process anchor for the per-unit
    /// cost ratio (0: none).
    #[arg(long, default_value_t = 10_000)]
    anchor: usize,
    /// How many anchor runs before the main run, and again after it (each
    /// printed; the ratio uses the median of all of them).
    #[arg(long, default_value_t = 3)]
    anchor_runs: usize,
    /// Generate and ingest in turns of this many units (0: generate all
    /// first). Pre-generated units are cold in memory when a large run
    /// reaches them; in turns they are as fresh as a node's received units.
    #[arg(long, default_value_t = 0)]
    batch: usize,
    /// Also pause the main run every this-many units for one more anchor run
    /// (not counted in the main run's time; 0: none), so the anchors sample
    /// the machine while the main run is going on, not only before and after.
    #[arg(long, default_value_t = 0)]
    anchor_every: usize,
    /// Instead of the runs above: ingest the units K times without and K
    /// times with tau-trustme's coin ledger applied to every newly stable
    /// MCI, alternating, and print both medians and their ratio (0: off).
    #[arg(long, default_value_t = 0)]
    ledger_ab: usize,
}

/// The attestor keys and set of a simulation.
pub fn attestor_keys(n: usize) -> (Vec<Keypair>, FixedAttestors) {
    let keys: Vec<Keypair> = (0..n)
        .map(|i| Keypair::from_bytes(&[(i % 250) as u8 + 1; 32]).expect("valid key"))
        .collect();
    let set = FixedAttestors::new(keys.iter().map(|k| k.address()));
    (keys, set)
}

/// Where generated units go, genesis first.
type Sink<'a> = &'a mut dyn FnMut(VerifiedUnit) -> Result<(), Box<dyn Error>>;

/// Generates `n` units after genesis (see the module docs); returns genesis and them.
pub fn generate(
    n: usize,
    attestors: usize,
    width: usize,
    trustme_every: usize,
    seed: u64,
) -> Result<(VerifiedUnit, Vec<VerifiedUnit>), Box<dyn Error>> {
    let mut all = Vec::with_capacity(n + 1);
    generate_into(n, attestors, width, trustme_every, seed, &mut |u| {
        all.push(u);
        Ok(())
    })?;
    let mut units = all.into_iter();
    let genesis = units.next().ok_or("no genesis")?;
    Ok((genesis, units.collect()))
}

/// [`generate`], handing each unit (genesis first) to `sink` as it is made.
fn generate_into(
    n: usize,
    attestors: usize,
    width: usize,
    trustme_every: usize,
    seed: u64,
    sink: Sink<'_>,
) -> Result<(), Box<dyn Error>> {
    let params = Params::mainnet();
    let (keys, set) = attestor_keys(attestors);
    let normal = Keypair::from_bytes(&[0xEE; 32])?;
    // One signature per author, reused: signatures are not checked here.
    let digest = [7u8; 32];
    let sig_of = |k: &Keypair| -> Signature { k.sign(&digest) };
    let attestor_sigs: Vec<Signature> = keys.iter().map(sig_of).collect();
    let normal_sig = sig_of(&normal);
    let make = |parents: Vec<tau::ipld::Cid>, author: Option<usize>, stamp: u64| {
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
    sink(genesis)?;
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let mut lanes = vec![0u32; width.max(1)];
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
        sink(unit)?;
    }
    Ok(())
}

/// Nanoseconds this thread has run on a CPU (Linux `schedstat`; `None`
/// elsewhere): unlike the wall clock it does not count time other jobs on a
/// busy machine held the core.
///
/// The kernel brings that sum up to date only at a scheduler tick or a
/// context switch, so a plain read lags by up to one tick (4 ms, 400 ns per
/// unit of a 10,000-unit run); yielding first makes the scheduler account
/// the running slice, and the read is exact.
fn cpu_ns() -> Option<u64> {
    std::thread::yield_now();
    let text = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    text.split_whitespace().next()?.parse().ok()
}

/// Wall-clock and CPU nanoseconds per unit of `f` over `n` units.
fn timed<T>(
    n: usize,
    f: impl FnOnce() -> Result<T, Box<dyn Error>>,
) -> Result<(T, f64, Option<f64>), Box<dyn Error>> {
    let (c, t) = (cpu_ns(), Instant::now());
    let out = f()?;
    let wall = t.elapsed().as_nanos() as f64 / n as f64;
    let cpu = c
        .zip(cpu_ns())
        .map(|(a, b)| b.saturating_sub(a) as f64 / n as f64);
    Ok((out, wall, cpu))
}

/// Inserts every unit into a fresh main chain; returns it.
pub fn ingest(
    genesis: &VerifiedUnit,
    units: Vec<VerifiedUnit>,
    set: &FixedAttestors,
) -> Result<MainChain<MemoryBlockstore>, Box<dyn Error>> {
    Ok(ingest_marked(genesis, units, set, usize::MAX)?.0)
}

/// Wall-clock and CPU nanoseconds (the latter where available) spent on
/// the units from a mark to the end of a run.
type Tail = (u128, Option<u64>);

/// [`ingest`], also timing the units from index `mark` on (if there are any).
fn ingest_marked(
    genesis: &VerifiedUnit,
    units: Vec<VerifiedUnit>,
    set: &FixedAttestors,
    mark: usize,
) -> Result<(MainChain<MemoryBlockstore>, Option<Tail>), Box<dyn Error>> {
    let mut no_pause = |_: usize| Ok(());
    let (chain, tail, _) = ingest_paused(genesis, units, set, mark, 0, &mut no_pause)?;
    Ok((chain, tail))
}

/// A main chain, its tail's figures and the time spent in pauses.
type Paused = (MainChain<MemoryBlockstore>, Option<Tail>, Tail);

/// [`ingest_marked`], calling `pause(i)` before unit `i` for every nonzero
/// multiple `i` of `every` (0: never). Returns also the wall and CPU
/// nanoseconds spent in the pauses, which the caller leaves out of its
/// figures; the tail's figures already leave them out.
fn ingest_paused(
    genesis: &VerifiedUnit,
    units: Vec<VerifiedUnit>,
    set: &FixedAttestors,
    mark: usize,
    every: usize,
    pause: &mut dyn FnMut(usize) -> Result<(), Box<dyn Error>>,
) -> Result<Paused, Box<dyn Error>> {
    let dag = Dag::new(MemoryBlockstore::new(), Params::mainnet(), genesis.clone())?;
    let (mut chain, _) = MainChain::new(dag, tau::mainchain::Params::mainnet())?;
    let mut start = None;
    let (mut paused_wall, mut paused_cpu) = (0u128, Some(0u64));
    let mut paused_since_mark: Tail = (0, Some(0));
    for (i, unit) in units.into_iter().enumerate() {
        if every > 0 && i > 0 && i % every == 0 {
            let (c, t) = (cpu_ns(), Instant::now());
            pause(i)?;
            let wall = t.elapsed().as_nanos();
            let cpu = c.zip(cpu_ns()).map(|(a, b)| b.saturating_sub(a));
            paused_wall += wall;
            paused_cpu = paused_cpu.zip(cpu).map(|(a, b)| a + b);
            if start.is_some() {
                paused_since_mark.0 += wall;
                paused_since_mark.1 = paused_since_mark.1.zip(cpu).map(|(a, b)| a + b);
            }
        }
        if i == mark {
            start = Some((cpu_ns(), Instant::now()));
        }
        chain.insert(unit, set)?;
    }
    let tail = start.map(|(c, t)| {
        let cpu = c
            .zip(cpu_ns())
            .map(|(a, b)| b.saturating_sub(a))
            .zip(paused_since_mark.1)
            .map(|(a, p)| a.saturating_sub(p));
        (
            t.elapsed().as_nanos().saturating_sub(paused_since_mark.0),
            cpu,
        )
    });
    Ok((chain, tail, (paused_wall, paused_cpu)))
}

/// Inserts every unit into a fresh main chain, applying a coin ledger
/// (opened on the genesis) to each newly stable MCI; returns both.
pub fn ingest_with_ledger(
    genesis: &VerifiedUnit,
    units: Vec<VerifiedUnit>,
    set: &FixedAttestors,
) -> Result<(MainChain<MemoryBlockstore>, Ledger), Box<dyn Error>> {
    let dag = Dag::new(MemoryBlockstore::new(), Params::mainnet(), genesis.clone())?;
    let (mut chain, _) = MainChain::new(dag, tau::mainchain::Params::mainnet())?;
    let mut ledger = Ledger::new();
    ledger.open_genesis(genesis.id(), genesis.unit(), &[])?;
    for unit in units {
        for stable in chain.insert(unit, set)?.stabilized {
            ledger.apply_stable(&stable, &chain)?;
        }
    }
    Ok((chain, ledger))
}

/// `--ledger-ab`: K alternating runs without and with the ledger; prints
/// the medians of each and their ratio.
fn ledger_ab(
    genesis: &VerifiedUnit,
    units: &[VerifiedUnit],
    set: &FixedAttestors,
    runs: usize,
) -> Result<(), Box<dyn Error>> {
    let n = units.len();
    let (mut off, mut on) = (Vec::new(), Vec::new());
    let mut stable = (0, 0);
    for _ in 0..runs {
        let (chain, wall, _) = timed(n, || ingest(genesis, units.to_vec(), set))?;
        stable.0 = chain.last_stable_mci();
        drop(chain);
        off.push(wall);
        let ((chain, ledger), wall, _) =
            timed(n, || ingest_with_ledger(genesis, units.to_vec(), set))?;
        stable.1 = chain.last_stable_mci();
        ledger.check_supply()?;
        drop((chain, ledger));
        on.push(wall);
        println!("ledger_off_ns_per_unit={:.0}", off[off.len() - 1]);
        println!("ledger_on_ns_per_unit={:.0}", on[on.len() - 1]);
    }
    if stable.0 != stable.1 {
        return Err(format!(
            "stable MCI {} without the ledger, {} with it",
            stable.0, stable.1
        )
        .into());
    }
    let median = |v: &mut Vec<f64>| {
        v.sort_by(f64::total_cmp);
        (v[(v.len() - 1) / 2] + v[v.len() / 2]) / 2.0
    };
    let (off, on) = (median(&mut off), median(&mut on));
    println!("units={n}");
    println!("stable_mci={}", stable.1);
    println!("ledger_off_units_per_s={:.0}", 1e9 / off);
    println!("ledger_on_units_per_s={:.0}", 1e9 / on);
    println!("ledger_on_over_off={:.3}", on / off);
    Ok(())
}

/// A main chain with wall-clock and CPU ns per unit of its ingest.
type Measured = (MainChain<MemoryBlockstore>, f64, Option<f64>);

/// `--batch`: generates and ingests in turns of `batch` units, timing only
/// the ingest; returns the chain and the summed wall and CPU ns per unit.
fn ingest_in_batches(
    args: &Args,
    set: &FixedAttestors,
    batch: usize,
) -> Result<Measured, Box<dyn Error>> {
    let mut chain: Option<MainChain<MemoryBlockstore>> = None;
    let mut pending = Vec::with_capacity(batch);
    let (mut wall, mut cpu) = (0.0, Some(0.0));
    let mut flush = |chain: &mut MainChain<MemoryBlockstore>,
                     pending: &mut Vec<VerifiedUnit>|
     -> Result<(), Box<dyn Error>> {
        let k = pending.len();
        let units = std::mem::take(pending);
        let (_, w, c) = timed(k.max(1), || {
            for unit in units {
                chain.insert(unit, set)?;
            }
            Ok(())
        })?;
        wall += w * k as f64;
        cpu = cpu.zip(c).map(|(a, b)| a + b * k as f64);
        Ok(())
    };
    generate_into(
        args.units,
        args.attestors,
        args.width,
        args.trustme_every,
        args.seed,
        &mut |unit| {
            match chain.as_mut() {
                None => {
                    let dag = Dag::new(MemoryBlockstore::new(), Params::mainnet(), unit)?;
                    chain = Some(MainChain::new(dag, tau::mainchain::Params::mainnet())?.0);
                }
                Some(c) => {
                    pending.push(unit);
                    if pending.len() >= batch {
                        flush(c, &mut pending)?;
                    }
                }
            }
            Ok(())
        },
    )?;
    let mut chain = chain.ok_or("no genesis")?;
    flush(&mut chain, &mut pending)?;
    let n = args.units.max(1) as f64;
    Ok((chain, wall / n, cpu.map(|c| c / n)))
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
    if args.ledger_ab > 0 {
        return ledger_ab(&genesis, &units, &set, args.ledger_ab);
    }
    let n = units.len();
    let anchor_n = args.anchor.min(n);
    let anchor_units = units[..anchor_n].to_vec();
    let anchor_wall = std::cell::RefCell::new(Vec::new());
    let anchor_cpu = std::cell::RefCell::new(Vec::new());
    // One anchor run into a fresh chain, dropped after; printed as `name`.
    let anchor_run = |name: &str| -> Result<(), Box<dyn Error>> {
        let prefix = anchor_units.clone();
        let (chain, wall, cpu) = timed(anchor_n, || ingest(&genesis, prefix, &set))?;
        drop(chain);
        println!("{name}_ns_per_unit={wall:.0}");
        anchor_wall.borrow_mut().push(wall);
        if let Some(cpu) = cpu {
            println!("{name}_cpu_ns_per_unit={cpu:.0}");
            anchor_cpu.borrow_mut().push(cpu);
        }
        Ok(())
    };
    let anchors = |name: &str| -> Result<(), Box<dyn Error>> {
        if anchor_n > 0 {
            for _ in 0..args.anchor_runs {
                anchor_run(name)?;
            }
        }
        Ok(())
    };
    anchors("anchor")?;
    let tail_n = n / 10;
    let mut tail = None;
    let (chain, ns_per_unit, cpu_per_unit) = if args.batch > 0 {
        drop(units);
        ingest_in_batches(&args, &set, args.batch)?
    } else {
        let every = if anchor_n > 0 { args.anchor_every } else { 0 };
        let mut pause = |_: usize| anchor_run("anchor_during");
        let mut paused: Tail = (0, Some(0));
        let (chain, wall, cpu) = timed(n, || {
            let (chain, t, p) =
                ingest_paused(&genesis, units, &set, n - tail_n, every, &mut pause)?;
            tail = t.filter(|_| tail_n > 0);
            paused = p;
            Ok(chain)
        })?;
        let per_unit = n.max(1) as f64;
        let wall = wall - paused.0 as f64 / per_unit;
        let cpu = cpu.zip(paused.1).map(|(c, p)| c - p as f64 / per_unit);
        (chain, wall, cpu)
    };
    let index = chain.dag().index_bytes() + chain.index_bytes();
    let dag_len = chain.dag().len() as f64;
    let store_bytes = chain.dag().store().total_bytes();
    let stable_mci = chain.last_stable_mci();
    let main_chain_len = chain.main_chain().len();
    let free_units = chain.dag().free_count();
    drop(chain);
    anchors("anchor_after")?;
    println!("units={n}");
    println!("attestors={}", args.attestors);
    println!("width={}", args.width);
    println!("units_per_s={:.0}", 1e9 / ns_per_unit);
    println!("ns_per_unit={ns_per_unit:.0}");
    if let Some(cpu) = cpu_per_unit {
        println!("cpu_ns_per_unit={cpu:.0}");
    }
    let tail_cpu = tail.and_then(|(wall, cpu)| {
        println!("tail_ns_per_unit={:.0}", wall as f64 / tail_n as f64);
        cpu.map(|c| c as f64 / tail_n as f64)
    });
    if let Some(c) = tail_cpu {
        println!("tail_cpu_ns_per_unit={c:.0}");
    }
    let median = |v: &mut Vec<f64>| {
        // The mean of the middle two for an even count.
        v.sort_by(f64::total_cmp);
        let hi = v.get(v.len() / 2).copied()?;
        let lo = v.get((v.len() - 1) / 2).copied()?;
        Some((lo + hi) / 2.0)
    };
    let (mut anchor_wall, mut anchor_cpu) = (anchor_wall.take(), anchor_cpu.take());
    if let Some(m) = median(&mut anchor_wall) {
        println!("anchor_units={anchor_n}");
        println!("ratio_vs_anchor={:.2}", ns_per_unit / m);
    }
    if let Some(m) = median(&mut anchor_cpu) {
        println!("anchor_cpu_median_ns_per_unit={m:.0}");
        if let Some(cpu) = cpu_per_unit {
            println!("cpu_ratio_vs_anchor={:.2}", cpu / m);
        }
        if let Some(c) = tail_cpu {
            println!("tail_cpu_ratio_vs_anchor={:.2}", c / m);
        }
    }
    println!("index_bytes_per_unit={:.0}", index as f64 / dag_len);
    println!("store_bytes_per_unit={:.0}", store_bytes as f64 / dag_len);
    println!("stable_mci={stable_mci}");
    println!("main_chain_len={main_chain_len}");
    println!("free_units={free_units}");
    Ok(())
}
