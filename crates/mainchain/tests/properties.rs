//! Properties over random DAGs built by honest authors (parents = best free
//! units) and adversarial ones (stale parents anywhere in the DAG, TrustME
//! units by a non-attestor, long side chains, equivocating attestors).
//!
//! What holds (TR rules):
//! * In every DAG, on every replica: (1) stability is monotonic, (2) the
//!   total order is a linear extension of the DAG, (4) every unit included by
//!   a stable MC unit has an MCI; a unit that would move the main chain below
//!   the stable point is refused with `StableRewrite` and changes nothing.
//! * When attestors post serially (each TrustME unit by an attestor includes
//!   its previous one; TR §3.1 eliminates non-sequential units), stale
//!   parents and TrustME units by non-attestors included: no unit is ever
//!   refused, and (3) replicas receiving the units in different orders agree
//!   on the main chain, every MCI and what is stable.
//! * An equivocating attestor breaks the TR rule's assumption: a replica that
//!   declared a unit stable before a conflicting branch arrived refuses that
//!   branch (`tr_rule_with_an_equivocating_attestor`), so replicas may differ.

mod common;

use std::collections::HashMap;

use cid::Cid;
use common::{make_unit, Kind};
use proptest::prelude::*;
use tau_dag::{Dag, FixedAttestors, VerifiedUnit};
use tau_ipld::MemoryBlockstore;
use tau_mainchain::{Error, MainChain, Params, StabilityRule};

#[derive(Debug, Clone)]
struct Step {
    /// 0..=2 attestors A..C, 3 a non-attestor TrustME author, 4 normal units.
    author: usize,
    honest: bool,
    picks: Vec<u16>,
}

/// Attestors A..C (author numbers 0..=2).
const ATTESTORS: usize = 3;

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

/// A random DAG: genesis, its units in creation (topological) order, and
/// whether every attestor's TrustME units form a chain (each includes the
/// author's previous one).
struct Built {
    genesis: VerifiedUnit,
    units: Vec<VerifiedUnit>,
    serial: bool,
}

/// Builds the units of a random DAG in a valid (topological) order. With
/// `serial`, an attestor's unit also lists its previous unit as a parent when
/// the chosen parents do not include it (stale parents stay possible).
fn build(steps: &[Step], serial: bool) -> Built {
    let genesis = make_unit(vec![], &Kind::T(0), 1, 0);
    let mut dag = Dag::new(
        MemoryBlockstore::new(),
        tau_dag::Params::devnet(),
        genesis.clone(),
    )
    .unwrap();
    let set = attestors();
    let mut units = Vec::new();
    // Each attestor's latest TrustME unit (genesis is A's).
    let mut last: [Option<u32>; ATTESTORS] = [Some(0), None, None];
    let mut is_serial = true;
    for (i, s) in steps.iter().enumerate() {
        let mut nums: Vec<u32> = if s.honest {
            let free: Vec<u32> = dag.free_units().collect();
            let take = 1 + (s.picks[0] as usize % 3);
            free.into_iter().take(take).collect()
        } else {
            let n = dag.len() as u32;
            s.picks.iter().map(|&p| u32::from(p) % n).collect()
        };
        let previous = last.get(s.author).copied().flatten();
        let reaches = |nums: &[u32], dag: &Dag<MemoryBlockstore>, p: u32| {
            nums.iter().any(|&b| b == p || dag.includes(b, p))
        };
        if let Some(p) = previous {
            if serial && !reaches(&nums, &dag, p) {
                nums.push(p);
            }
        }
        nums.sort_unstable();
        nums.dedup();
        let keep: Vec<u32> = nums
            .iter()
            .copied()
            .filter(|&a| !nums.iter().any(|&b| dag.includes(b, a)))
            .collect();
        if let Some(p) = previous {
            is_serial &= reaches(&keep, &dag, p);
        }
        let parents: Vec<Cid> = keep.iter().filter_map(|&n| dag.id(n)).collect();
        let kind = match s.author {
            a @ 0..=3 => Kind::T(a),
            _ => Kind::N,
        };
        let unit = make_unit(parents, &kind, 1, i as u64 + 1);
        let num = dag.insert(unit.clone(), &set).unwrap().accepted[0].num;
        if let Some(slot) = last.get_mut(s.author) {
            *slot = Some(num);
        }
        units.push(unit);
    }
    Built {
        genesis,
        units,
        serial: is_serial,
    }
}

struct Replica {
    chain: MainChain<MemoryBlockstore>,
    /// Stable unit id -> MCI, as first seen.
    stable_seen: HashMap<Cid, u64>,
    /// Units refused with `StableRewrite` (the unit or a released orphan).
    refused: usize,
}

/// What a refused insert must leave unchanged.
type View = (usize, usize, Vec<u32>, Vec<Option<u64>>, u64, Vec<u32>, u32);

fn view(chain: &MainChain<MemoryBlockstore>) -> View {
    let dag = chain.dag();
    (
        dag.len(),
        dag.orphan_count(),
        chain.main_chain().to_vec(),
        (0..dag.len() as u32).map(|n| chain.mci(n)).collect(),
        chain.last_stable_mci(),
        chain.stable_order().to_vec(),
        chain.tip(),
    )
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
        refused: 0,
    };
    let mut last_stable = 0;
    for unit in units {
        let before = view(&r.chain);
        match r.chain.insert(unit.clone(), &set) {
            Ok(update) => {
                for (_, e) in &update.rejected {
                    assert!(matches!(e, Error::StableRewrite { .. }), "{e}");
                    r.refused += 1;
                }
            }
            Err(Error::StableRewrite {
                stable_mci,
                fork_mci,
                ..
            }) => {
                // Refused: nothing changed, the unit is not in the DAG.
                assert!(fork_mci < stable_mci);
                assert_eq!(view(&r.chain), before);
                assert!(!r.chain.dag().contains(&unit.id()));
                r.refused += 1;
            }
            Err(e) => panic!("{e}"),
        }
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
    // 48 cases unless PROPTEST_CASES says otherwise.
    #![proptest_config(ProptestConfig {
        cases: std::env::var("PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(48),
        ..ProptestConfig::default()
    })]

    #[test]
    fn random_dags(
        steps in prop::collection::vec(step(), 10..60),
        seed in any::<u64>(),
        serial in any::<bool>(),
    ) {
        // TR rules only: TrustNote's literal rule can rewrite a stable unit
        // (`trustnote_rule_can_rewrite_a_stable_unit` below).
        let rule = StabilityRule::Tr;
        let built = build(&steps, serial);
        let a = replica(&built.genesis, &built.units, rule);
        check_order(&a.chain);

        // (3) Another replica receives the same units shuffled (out of
        // order: parents may come later and wait as orphans).
        let mut shuffled = built.units.clone();
        let mut x = seed | 1;
        for i in (1..shuffled.len()).rev() {
            x ^= x << 13; x ^= x >> 7; x ^= x << 17;
            shuffled.swap(i, (x % (i as u64 + 1)) as usize);
        }
        let b = replica(&built.genesis, &shuffled, rule);
        check_order(&b.chain);
        if !built.serial {
            // An equivocating attestor: a replica may have refused units
            // (each refusal checked in `replica`), and then the replicas'
            // DAGs differ. Nothing more is claimed.
            return Ok(());
        }
        prop_assert_eq!(a.refused, 0);
        prop_assert_eq!(b.refused, 0);
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
    let Built { genesis, units, .. } = build(&list, false);
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
    let Built { genesis, units, .. } = build(&list, false);
    let r = replica(&genesis, &units, StabilityRule::Tr);
    check_order(&r.chain);
    assert!(
        r.chain.last_stable_mci() >= 10,
        "{}",
        r.chain.last_stable_mci()
    );
}

/// Found by `random_dags` (minimized): B equivocates — B's T4 and T7 do not
/// include each other — and the units reach a replica in the order T3, N2,
/// T6, T7, T5, T4, N1 (T3, T5 and T4 wait as orphans):
///
/// ```text
/// G <- N2 <- T3(A) <- T6(C) <- T7(B)          the replica's main chain
/// G <- N1 <- T4(B){N1,T3} <- T5(A)            arrives last
/// ```
///
/// With T7 the replica's main chain is G, N2, T3, T6, T7 and, L = G having
/// one child, TR case 1 makes N2 stable: minAL = min AL(T6, T7) = 2 >
/// level(N2) = 1. That is the TR rule applied exactly. Then N1 arrives and
/// releases T4 (best parent N1: attestation level 0 like T3, lower level) and
/// T5 (AL 3 from A and B, level 4, like T7; smaller id): T5 would be the tip,
/// leaving the main chain at genesis, below the stable MCI 1. Before the fix
/// the insert left T4 and T5 in the DAG and failed, and so did every later
/// insert while T5 stayed the best free unit. Now T5 is refused with
/// `StableRewrite`, nothing changes, and later units extend the main chain.
#[test]
fn tr_rule_with_an_equivocating_attestor() {
    // (author, parents as indexes with 0 = genesis, timestamp) of N1..T7.
    let spec: [(Kind, &[usize], u64); 7] = [
        (Kind::N, &[0], 1),
        (Kind::N, &[0], 2),
        (Kind::T(0), &[2], 3),
        (Kind::T(1), &[1, 3], 4),
        (Kind::T(0), &[4], 6),
        (Kind::T(2), &[3], 9),
        (Kind::T(1), &[6], 15),
    ];
    let genesis = make_unit(vec![], &Kind::T(0), 1, 0);
    let mut ids = vec![genesis.id()];
    let mut units = Vec::new();
    for (kind, parents, stamp) in &spec {
        let unit = make_unit(parents.iter().map(|&p| ids[p]).collect(), kind, 1, *stamp);
        ids.push(unit.id());
        units.push(unit);
    }
    let dag = Dag::new(
        MemoryBlockstore::new(),
        tau_dag::Params::devnet(),
        genesis.clone(),
    )
    .unwrap();
    let (mut chain, _) = MainChain::new(dag, Params::mainnet()).unwrap();
    let set = attestors();
    for i in [3, 2, 6, 7, 5, 4] {
        chain.insert(units[i - 1].clone(), &set).unwrap();
    }
    let num = |chain: &MainChain<MemoryBlockstore>, i: usize| chain.dag().num(&ids[i]);
    let mc = |chain: &MainChain<MemoryBlockstore>| -> Vec<Option<u32>> {
        [0, 2, 3, 6, 7].iter().map(|&i| num(chain, i)).collect()
    };
    assert_eq!(
        chain
            .main_chain()
            .iter()
            .map(|&n| Some(n))
            .collect::<Vec<_>>(),
        mc(&chain)
    );
    assert_eq!(chain.last_stable_mci(), 1);
    assert_eq!(chain.dag().orphan_count(), 2);
    let before = view(&chain);

    // N1 is accepted and releases T4 (accepted) and T5 (refused).
    let update = chain.insert(units[0].clone(), &set).unwrap();
    assert_eq!(update.accepted.len(), 2);
    match update.rejected.as_slice() {
        [(
            id,
            Error::StableRewrite {
                stable_mci: 1,
                fork_mci: 0,
                tip,
            },
        )] => assert!(*id == ids[5] && **tip == ids[5]),
        other => panic!("{other:?}"),
    }
    assert!(update.stabilized.is_empty());
    assert!(!chain.dag().contains(&ids[5]));
    let (n1, t4) = (num(&chain, 1).unwrap(), num(&chain, 4).unwrap());
    // B equivocated: T4 and T7 do not include each other.
    let t7 = num(&chain, 7).unwrap();
    assert!(!chain.dag().includes(t4, t7) && !chain.dag().includes(t7, t4));
    assert_eq!(chain.dag().best_parent(t4), Some(n1));
    // The main chain, MCIs, stable point and tip are as before.
    let after = view(&chain);
    assert_eq!(
        (&after.2, &after.4, &after.5, after.6),
        (&before.2, &before.4, &before.5, before.6)
    );
    assert_eq!(&after.3[..before.3.len()], &before.3[..]);
    assert_eq!(chain.mci(num(&chain, 2).unwrap()), Some(1));

    // T5 sent again is refused again, as the unit itself this time.
    let before = view(&chain);
    assert!(matches!(
        chain.insert(units[4].clone(), &set),
        Err(Error::StableRewrite {
            stable_mci: 1,
            fork_mci: 0,
            ..
        })
    ));
    assert_eq!(view(&chain), before);

    // Later units work: A and C extend the main chain from the free units
    // (T7, T4), the stable point moves on and N2 keeps MCI 1.
    for (i, author) in [0usize, 2, 0, 2].into_iter().enumerate() {
        let unit = make_unit(
            chain.dag().choose_parents(),
            &Kind::T(author),
            1,
            100 + i as u64,
        );
        chain.insert(unit, &set).unwrap();
    }
    assert!(chain.last_stable_mci() > 1, "{}", chain.last_stable_mci());
    assert_eq!(chain.mci(num(&chain, 2).unwrap()), Some(1));
    check_order(&chain);
    assert!(chain.mci(t4).is_some());

    // A replica receiving the units in creation order (N1 first) never
    // declares N2 stable early and accepts all seven.
    let r = replica(&genesis, &units, StabilityRule::Tr);
    assert_eq!(r.refused, 0);
    assert_eq!(r.chain.dag().len(), 8);
    check_order(&r.chain);
}
