//! Reward split invariants.

use proptest::prelude::*;
use tau_keys::Address;
use tau_trustme::{round_issuance, split_reward, Params};

proptest! {
    #[test]
    fn reward_sum_is_the_round_total(
        total in any::<u64>(),
        counts in proptest::collection::vec(0u64..1_000_000, 0..24),
        bps in 0u32..=10_000,
    ) {
        let pairs: Vec<(Address, u64)> = counts
            .iter()
            .enumerate()
            .map(|(i, &c)| (Address::new([i as u8 + 1; 20]), c))
            .collect();
        let list = split_reward(total, &pairs, Address::new([0xff; 20]), bps);
        let sum: u128 = list.iter().map(|e| u128::from(e.amount)).sum();
        prop_assert_eq!(sum, u128::from(total));
        // The foundation is last and gets at least its share.
        let f = list.last().unwrap();
        prop_assert_eq!(f.address, Address::new([0xff; 20]));
        let s: u64 = counts.iter().sum();
        if s > 0 {
            prop_assert!(u128::from(f.amount) * 10_000 >= u128::from(total) * u128::from(10_000 - bps));
        }
        // Attestors in priority order, more units never pay less.
        for (e, (a, c)) in list.iter().zip(pairs.iter().filter(|(_, c)| *c > 0)) {
            prop_assert_eq!(e.address, *a);
            prop_assert_eq!(u128::from(e.amount), u128::from(total) * u128::from(bps) * u128::from(*c) / (10_000 * u128::from(s)));
        }
    }

    #[test]
    fn issuance_is_integer_and_bounded(round in 1u64..20_000_000) {
        let p = Params::mainnet();
        let r = round_issuance(&p, round);
        prop_assert!(r <= 33_950_000 * 1_000_000 / p.rounds_per_year + 1);
    }
}

/// The arithmetic of `docs/src/trustme.md` scenario 10 (TrustNote's 80/20 split
/// and base + commission total) and the same counts under the TR's 90/10.
#[test]
fn scenario_10_reward_arithmetic() {
    let (a, b, f) = (
        Address::new([b'M'; 20]),
        Address::new([b'C'; 20]),
        Address::new([b'F'; 20]),
    );
    let code = split_reward(217_590_000 + 10_000, &[(a, 2), (b, 1)], f, 8_000);
    let amounts: Vec<u64> = code.iter().map(|e| e.amount).collect();
    assert_eq!(amounts, vec![116_053_333, 58_026_666, 43_520_001]);
    let tr = split_reward(217_600_000, &[(a, 2), (b, 1)], f, 9_000);
    let amounts: Vec<u64> = tr.iter().map(|e| e.amount).collect();
    assert_eq!(amounts, vec![130_560_000, 65_280_000, 21_760_000]);
}

/// Every round's coinbase is credited to the ledger when the round ends:
/// on every node, each address holds exactly the rewards it was paid (the
/// simulated network makes no payments), each coinbase pays the round's
/// issuance exactly, and the supply is the genesis deposits plus the issuance.
#[test]
fn coinbases_are_credited_to_the_ledger() {
    use tau_trustme::sim::{Sim, SimConfig};
    let mut sim = Sim::new(SimConfig::devnet(6, 4, 5)).unwrap();
    let report = sim.run().unwrap();
    assert!(report.rounds.len() >= 4, "{}", report.rounds.len());
    for i in 0..sim.node_count() {
        let rounds = sim.replica(i).rounds();
        let ledger = rounds.ledger();
        let mut paid = std::collections::BTreeMap::new();
        let mut issued = 0u64;
        for r in rounds.all().iter().filter(|r| r.coinbase.is_some()) {
            let coinbase = r.coinbase.as_ref().unwrap();
            let issuance = round_issuance(rounds.params(), r.round);
            assert_eq!(coinbase.iter().map(|e| e.amount).sum::<u64>(), issuance);
            issued += issuance;
            for e in coinbase {
                *paid.entry(e.address).or_insert(0u64) += e.amount;
            }
        }
        assert!(issued > 0);
        for (address, amount) in &paid {
            assert_eq!(ledger.balance(address), *amount, "node {i}");
        }
        let deposits: u64 = rounds.genesis().deposits.iter().map(|d| d.1).sum();
        assert_eq!(ledger.issued(), issued);
        assert_eq!(ledger.check_supply().unwrap(), deposits + issued);
    }
}
