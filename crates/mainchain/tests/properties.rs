//! Properties over random DAGs built by honest authors (parents = best free
//! units) and adversarial ones (stale parents anywhere in the DAG, TrustME
//! units by a non-attestor, long side chains).

mod common;

use std::collections::HashMap;

use cid::Cid;
use common::{make_unit, Kind};
use proptest::prelude::*;
use tau_dag::{Dag, FixedAttestors, VerifiedUnit};
use tau_hamt::MemoryBlockstore;
use tau_mainchain::{MainChain, Params, StabilityRule};

#[derive(Debug, Clone)]
struct Step {
    /// 0..=2 attestors A..C, 3 a non-attestor TrustME author, 4 normal units.
    author: usize,
    honest: bool,
    picks: Vec<u16>,
}

fn step() -> impl Strategy<Value = Step> {
    (
        0usize..5,
        prop::bool::weighted(0.7),
        prop::collection::vec(any::<u16>(), 1..4),
    )
        .prop_map(|(author, honest, picks)| Step {
            author,
            honest,
            picks,
        })
}

fn attestors() -> FixedAttestors {
    common::attestors(3, 2)
}

/// Builds the units of a random DAG in a valid (topological) order.
fn build(steps: &[Step]) -> (VerifiedUnit, Vec<VerifiedUnit>) {
    let genesis = make_unit(vec![], &Kind::T(0), 1, 0);
    let mut dag = Dag::new(
        MemoryBlockstore::new(),
        tau_dag::Params::devnet(),
        genesis.clone(),
    )
    .unwrap();
    let set = attestors();
    let mut units = Vec::new();
    for (i, s) in steps.iter().enumerate() {
        let parents: Vec<Cid> = if s.honest {
            let free: Vec<u32> = dag.free_units().collect();
            let take = 1 + (s.picks[0] as usize % 3);
            free.iter().take(take).filter_map(|&n| dag.id(n)).collect()
        } else {
            let n = dag.len() as u32;
            let mut nums: Vec<u32> = s.picks.iter().map(|&p| u32::from(p) % n).collect();
            nums.sort_unstable();
            nums.dedup();
            let keep: Vec<u32> = nums
                .iter()
                .copied()
                .filter(|&a| !nums.iter().any(|&b| dag.includes(b, a)))
                .collect();
            keep.iter().filter_map(|&n| dag.id(n)).collect()
        };
        let kind = match s.author {
            a @ 0..=2 => Kind::T(a),
            3 => Kind::T(3),
            _ => Kind::N,
        };
        let unit = make_unit(parents, &kind, 1, i as u64 + 1);
        dag.insert(unit.clone(), &set).unwrap();
        units.push(unit);
    }
    (genesis, units)
}

struct Replica {
    chain: MainChain<MemoryBlockstore>,
    /// Stable unit id -> MCI, as first seen.
    stable_seen: HashMap<Cid, u64>,
}

fn replica(genesis: &VerifiedUnit, units: &[VerifiedUnit], rule: StabilityRule) -> Replica {
    let params = match rule {
        StabilityRule::Tr => Params::mainnet(),
        StabilityRule::TrustNote => Params::trustnote(),
    };
    let dag = Dag::new(
        MemoryBlockstore::new(),
        tau_dag::Params::devnet(),
        genesis.clone(),
    )
    .unwrap();
    let (chain, _) = MainChain::new(dag, params).unwrap();
    let set = attestors();
    let mut r = Replica {
        chain,
        stable_seen: HashMap::new(),
    };
    let mut last_stable = 0;
    for unit in units {
        r.chain.insert(unit.clone(), &set).unwrap();
        // (1) Stability is monotonic: a stable unit keeps its MCI forever.
        assert!(r.chain.last_stable_mci() >= last_stable);
        last_stable = r.chain.last_stable_mci();
        for (id, mci) in &r.stable_seen {
            let n = r.chain.dag().num(id).unwrap();
            assert!(r.chain.is_stable(n));
            assert_eq!(r.chain.mci(n), Some(*mci));
        }
        for &n in r.chain.stable_order() {
            let id = r.chain.dag().id(n).unwrap();
            let mci = r.chain.mci(n).unwrap();
            r.stable_seen.entry(id).or_insert(mci);
        }
    }
    r
}

/// (2) The total order is a linear extension of the DAG order, and
/// (4) every unit included by a stable MC unit has an MCI.
fn check_order(chain: &MainChain<MemoryBlockstore>) {
    let dag = chain.dag();
    let mut position = HashMap::new();
    for (i, &n) in chain.stable_order().iter().enumerate() {
        for p in dag.parents(n) {
            assert!(
                position.contains_key(p),
                "parent after child in the total order"
            );
        }
        position.insert(n, i);
    }
    assert_eq!(position.len(), chain.stable_order().len());
    for &mc in &chain.main_chain()[..=chain.last_stable_mci() as usize] {
        let top = chain.mci(mc).unwrap();
        let mut stack = vec![mc];
        let mut seen = std::collections::HashSet::new();
        while let Some(x) = stack.pop() {
            if !seen.insert(x) {
                continue;
            }
            let m = chain
                .mci(x)
                .expect("included by a stable MC unit but no MCI");
            assert!(m <= top);
            assert!(chain.is_stable(x));
            stack.extend_from_slice(dag.parents(x));
        }
    }
}

fn by_id(chain: &MainChain<MemoryBlockstore>) -> (Vec<Cid>, HashMap<Cid, Option<u64>>, Vec<Cid>) {
    let dag = chain.dag();
    let mc = chain
        .main_chain()
        .iter()
        .map(|&n| dag.id(n).unwrap())
        .collect();
    let mcis = (0..dag.len() as u32)
        .map(|n| (dag.id(n).unwrap(), chain.mci(n)))
        .collect();
    let order = chain
        .stable_order()
        .iter()
        .map(|&n| dag.id(n).unwrap())
        .collect();
    (mc, mcis, order)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn random_dags(steps in prop::collection::vec(step(), 10..60), seed in any::<u64>()) {
        // TR rules only: TrustNote's literal rule can rewrite a stable unit
        // (`trustnote_rule_can_rewrite_a_stable_unit` below).
        let rule = StabilityRule::Tr;
        let (genesis, units) = build(&steps);
        let a = replica(&genesis, &units, rule);
        check_order(&a.chain);

        // (3) Another replica receives the same units shuffled (out of
        // order: parents may come later and wait as orphans).
        let mut shuffled = units.clone();
        let mut x = seed | 1;
        for i in (1..shuffled.len()).rev() {
            x ^= x << 13; x ^= x >> 7; x ^= x << 17;
            shuffled.swap(i, (x % (i as u64 + 1)) as usize);
        }
        let b = replica(&genesis, &shuffled, rule);
        check_order(&b.chain);
        prop_assert_eq!(b.chain.dag().orphan_count(), 0);
        let (mc_a, mci_a, order_a) = by_id(&a.chain);
        let (mc_b, mci_b, order_b) = by_id(&b.chain);
        prop_assert_eq!(mc_a, mc_b);
        prop_assert_eq!(mci_a, mci_b);
        // Stable points may differ (see the scenario test
        // `stable_point_depends_on_arrival_order`); what is stable agrees.
        let common = order_a.len().min(order_b.len());
        prop_assert_eq!(&order_a[..common], &order_b[..common]);
    }
}

fn steps(list: &[(usize, bool, &[u16])]) -> Vec<Step> {
    list.iter()
        .map(|&(author, honest, picks)| Step {
            author,
            honest,
            picks: picks.to_vec(),
        })
        .collect()
}

/// Found by `random_dags` when it also ran TrustNote's rule: its alt-branch
/// filter (only units with a lower-AL parent) and non-strict case 1 let a
/// unit become stable that a later tip leaves: the fork is below the stable
/// point. TR's rule keeps the same DAG consistent.
#[test]
fn trustnote_rule_can_rewrite_a_stable_unit() {
    let list = steps(&[
        (0, false, &[0]),
        (2, false, &[8209]),
        (2, false, &[32897]),
        (2, false, &[3134]),
        (1, false, &[28782]),
        (0, false, &[6167]),
        (3, true, &[0]),
        (0, false, &[7635]),
        (4, false, &[24196, 21560]),
        (4, true, &[42508, 28191]),
    ]);
    let (genesis, units) = build(&list);
    let dag = Dag::new(
        MemoryBlockstore::new(),
        tau_dag::Params::devnet(),
        genesis.clone(),
    )
    .unwrap();
    let (mut chain, _) = MainChain::new(dag, Params::trustnote()).unwrap();
    let set = attestors();
    let errors: Vec<_> = units
        .iter()
        .filter_map(|u| chain.insert(u.clone(), &set).err())
        .collect();
    assert!(matches!(
        errors.as_slice(),
        [tau_mainchain::Error::StableRewrite { .. }, ..]
    ));
    let tr = replica(&genesis, &units, StabilityRule::Tr);
    check_order(&tr.chain);
}

/// Random honest DAGs do stabilize (the properties above are not vacuous).
#[test]
fn honest_random_dags_stabilize() {
    let list: Vec<Step> = (0..80)
        .map(|i| Step {
            author: [0, 1, 2, 4][i % 4],
            honest: true,
            picks: vec![(i * 7919 % 65536) as u16],
        })
        .collect();
    let (genesis, units) = build(&list);
    let r = replica(&genesis, &units, StabilityRule::Tr);
    check_order(&r.chain);
    assert!(
        r.chain.last_stable_mci() >= 10,
        "{}",
        r.chain.last_stable_mci()
    );
}
