//! Order independence with equivocating attestors (TR §3, sequential units).
//!
//! The simulator runs a network in which attestors equivocate (each of
//! their TrustME units has a twin on the same parents, sent to the other
//! half of the network). Fresh replicas then receive every unit the network
//! made, each in its own random order (any order a network could deliver:
//! a unit may arrive before its parents and wait). Every pair of replicas
//! must agree, on every MCI both made stable, on its units in total order
//! and on the state digest of rounds and ledger after it, which covers the
//! eliminated attestors, TrustME counts, PoW candidates, rewards and every
//! ledger change.

use std::collections::HashMap;

use cid::Cid;
use proptest::prelude::*;
use tau_dag::VerifiedUnit;
use tau_ipld::MemoryBlockstore;
use tau_trustme::sim::{Sim, SimConfig};
use tau_trustme::{Error, Replica};

mod common;

/// A finished network run: what a fresh replica needs and every unit.
struct Run {
    sim: Sim,
    genesis: VerifiedUnit,
    units: Vec<VerifiedUnit>,
}

fn run(seed: u64, equivocators: Vec<usize>) -> Run {
    let mut cfg = SimConfig::devnet(6, 3, seed);
    cfg.equivocators = equivocators;
    let mut sim = Sim::new(cfg).unwrap();
    sim.run().unwrap();
    let genesis = sim.genesis_unit().unwrap();
    let units = sim.units_in_creation_order();
    Run {
        sim,
        genesis,
        units,
    }
}

fn fresh(run: &Run) -> Replica<MemoryBlockstore> {
    let r = run.sim.replica(0);
    Replica::new(
        MemoryBlockstore::new(),
        r.chain().dag().params().clone(),
        r.chain().params().clone(),
        r.rounds().params().clone(),
        r.rounds().genesis().clone(),
        run.genesis.clone(),
    )
    .unwrap()
}

/// A delivery order: mostly parents first (a random linear extension), with
/// one unit in `early_pct` handed over before its parents.
fn order(units: &[VerifiedUnit], seed: u64, early_pct: u64) -> Vec<VerifiedUnit> {
    let mut next = common::xorshift(seed);
    let index: HashMap<Cid, usize> = units.iter().enumerate().map(|(i, u)| (u.id(), i)).collect();
    let mut delivered = vec![false; units.len()];
    let ready = |i: usize, delivered: &[bool]| {
        units[i]
            .unit()
            .parents()
            .iter()
            .all(|p| index.get(p).is_none_or(|&j| delivered[j]))
    };
    let mut out = Vec::with_capacity(units.len());
    while out.len() < units.len() {
        let pending: Vec<usize> = (0..units.len()).filter(|&i| !delivered[i]).collect();
        let early = next() % 100 < early_pct;
        let candidates: Vec<usize> = if early {
            pending.clone()
        } else {
            pending
                .iter()
                .copied()
                .filter(|&i| ready(i, &delivered))
                .collect()
        };
        let pool = if candidates.is_empty() {
            &pending
        } else {
            &candidates
        };
        let pick = pool[(next() % pool.len() as u64) as usize];
        delivered[pick] = true;
        out.push(units[pick].clone());
    }
    out
}

/// What a replica ends with: stable units by MCI and the digest after each.
struct Outcome {
    stable: Vec<Vec<Cid>>,
    digests: Vec<[u8; 32]>,
    eliminated: Vec<tau_keys::Address>,
    main_chain: Vec<Cid>,
    main_chain_refusals: usize,
}

fn feed(run: &Run, units: &[VerifiedUnit]) -> Outcome {
    let mut replica = fresh(run);
    let mut main_chain_refusals = 0;
    for unit in units {
        match replica.receive(unit.clone()) {
            Ok(_) => {}
            Err(Error::MainChain(_)) => main_chain_refusals += 1,
            Err(_) => {}
        }
    }
    let chain = replica.chain();
    let last = chain.last_stable_mci();
    let stable = (1..=last)
        .map(|m| {
            chain
                .stable_units(m)
                .unwrap_or(&[])
                .iter()
                .filter_map(|&n| chain.dag().id(n))
                .collect()
        })
        .collect();
    let digests = (1..=last)
        .map(|m| replica.rounds().state_digest(m).unwrap())
        .collect();
    Outcome {
        stable,
        digests,
        eliminated: replica.rounds().eliminated().keys().copied().collect(),
        main_chain: chain
            .main_chain()
            .iter()
            .filter_map(|&n| chain.dag().id(n))
            .collect(),
        main_chain_refusals,
    }
}

fn assert_agree(a: &Outcome, b: &Outcome) {
    let common = a.stable.len().min(b.stable.len());
    assert_eq!(
        a.stable[..common],
        b.stable[..common],
        "stable units differ"
    );
    assert_eq!(
        a.digests[..common],
        b.digests[..common],
        "state digests differ"
    );
}

/// The network itself: every node of an equivocating network agrees with
/// every other on every common stable MCI, and the equivocator is
/// eliminated on all of them.
#[test]
fn equivocators_are_eliminated_alike_on_every_node() {
    let run = run(21, vec![3, 5]);
    let sim = &run.sim;
    let reference = sim.replica(0).rounds();
    assert_eq!(
        reference.eliminated().len(),
        2,
        "both equivocators found: {:?}",
        reference.eliminated()
    );
    let eq: Vec<_> = [3usize, 5].iter().map(|&i| sim.address(i)).collect();
    for a in reference.eliminated().keys() {
        assert!(eq.contains(a), "an honest attestor was eliminated");
    }
    let last = (0..sim.node_count())
        .map(|i| sim.replica(i).chain().last_stable_mci())
        .min()
        .unwrap();
    assert!(last > 10, "{last}");
    // Honest producers put the coinbase of round − 2 in their first unit
    // of each round, so no unit is refused for lacking it.
    let report = sim.report();
    let missing: Vec<_> = report
        .rejected
        .iter()
        .filter(|r| r.contains("does not carry the coinbase"))
        .collect();
    assert!(missing.is_empty(), "{missing:?}");
    assert!(report.rounds.len() >= 4, "{}", report.rounds.len());
    for i in 1..sim.node_count() {
        let r = sim.replica(i).rounds();
        for m in 1..=last {
            assert_eq!(
                r.state_digest(m),
                reference.state_digest(m),
                "node {i} MCI {m}"
            );
        }
    }
}

/// The rule is not vacuous: with one equivocator, once it is eliminated it
/// counts in no later round and is paid by no later round's coinbase,
/// while later rounds do run and pay others.
#[test]
fn an_eliminated_attestor_stops_earning() {
    let with = run(21, vec![3]);
    let rounds = with.sim.replica(0).rounds();
    let eliminated = with.sim.address(3);
    let at = *rounds
        .eliminated()
        .get(&eliminated)
        .expect("node 3 eliminated");
    let later: Vec<_> = rounds.all().iter().filter(|r| r.start_mci > at).collect();
    assert!(!later.is_empty(), "no round started after MCI {at}");
    let mut paid_others = false;
    for r in later {
        if let Some(i) = r.position(&eliminated) {
            assert_eq!(r.trustme_counts[i], 0, "round {} counted it", r.round);
        }
        for entry in r.coinbase.iter().flatten() {
            assert!(
                entry.address != eliminated || entry.amount == 0,
                "round {} paid it {}",
                r.round,
                entry.amount
            );
            paid_others |= entry.amount > 0;
        }
    }
    assert!(paid_others, "no later round paid anyone");
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: std::env::var("PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(12),
        // A failing order is already small enough to read; shrinking
        // re-feeds every unit per step.
        max_shrink_iters: 16,
        ..ProptestConfig::default()
    })]

    /// Replicas fed the same units in any order agree on everything both
    /// made stable; with all units delivered and no unit refused, they end
    /// on the same main chain and stable point.
    #[test]
    fn any_delivery_order_gives_the_same_stable_state(
        a in any::<u64>(),
        b in any::<u64>(),
        early in 0u64..8,
    ) {
        thread_local! {
            static RUN: Run = run(33, vec![4]);
        }
        RUN.with(|run| {
            let x = feed(run, &order(&run.units, a, early));
            let y = feed(run, &order(&run.units, b, early));
            assert_agree(&x, &y);
            if x.main_chain_refusals == 0 && y.main_chain_refusals == 0 {
                assert_eq!(&x.main_chain, &y.main_chain);
                assert_eq!(x.stable.len(), y.stable.len());
                assert_eq!(&x.eliminated, &y.eliminated);
            }
            // And with the network's own nodes.
            let node = run.sim.replica(0);
            let common = x.stable.len().min(node.chain().last_stable_mci() as usize);
            for m in 1..=common as u64 {
                assert_eq!(Some(x.digests[m as usize - 1]), node.rounds().state_digest(m));
            }
        });
    }
}
