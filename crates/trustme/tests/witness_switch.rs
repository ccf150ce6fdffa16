//! TR-2018-02 §5.2: a network started by fixed witnesses switches to
//! TrustME-PoW (`Genesis::witness_phase`). The simulator runs the phase,
//! the switch and three round switches after it; a single replica shows a
//! PoW unit made before the switch MCI was stable counting for nothing.

mod common;
use common::{key, two_pow_params, unit};

use cid::Cid;
use tau_dag::{Message, Unit, VerifiedUnit};
use tau_ipld::MemoryBlockstore;
use tau_keys::Address;
use tau_trustme::sim::{Sim, SimConfig};
use tau_trustme::{
    classify, mine, round_issuance, Error, Genesis, Kind, Params, PowContext, Replica, RoundEvent,
    TrustMePayload, WitnessPhase,
};

const SWITCH_MCI: u64 = 12;

/// Every stable unit of node 0, in total order, with its MCI.
fn stable_units(sim: &Sim) -> Vec<(u64, Cid, Unit)> {
    let chain = sim.replica(0).chain();
    let mut out = Vec::new();
    for mci in 1..=chain.last_stable_mci() {
        for &n in chain.stable_units(mci).unwrap() {
            let id = chain.dag().id(n).unwrap();
            out.push((mci, id, chain.dag().unit(&id).unwrap().unwrap()));
        }
    }
    out
}

#[test]
fn witnesses_hand_over_to_trustme_pow() {
    let mut cfg = SimConfig::devnet(6, 4, 11);
    cfg.witness_switch_mci = Some(SWITCH_MCI);
    let params = cfg.params.clone();
    let k = params.pow_attestors;
    let mut sim = Sim::new(cfg).unwrap();
    let report = sim.run().unwrap();
    let rounds = sim.replica(0).rounds();
    let witnesses: Vec<Address> = (0..1 + k).map(|i| sim.address(i)).collect();

    // The phase is round 0, run by the witnesses; then rounds 1..=4 started.
    let phase = rounds.get(0).unwrap();
    assert_eq!(phase.round, 0);
    assert_eq!(phase.addresses(), witnesses);
    assert!(rounds.get(4).is_some(), "{:?}", report.rounds);
    assert_eq!(report.rounds[0].round, 0);
    let r1 = rounds.get(1).unwrap();
    assert_eq!(phase.end_mci, Some(r1.start_mci));
    assert!(r1.start_mci > SWITCH_MCI);
    // The witnesses attested: their round-0 TrustME units are stable.
    assert!(phase.trustme_counts.iter().sum::<u64>() > 0);

    // pubSeed(1) is the genesis's, published at the switch MCI.
    let genesis = rounds.genesis();
    assert_eq!(phase.next_pub_seed, Some(genesis.pub_seed));
    assert_eq!(r1.pub_seed, genesis.pub_seed);
    assert_eq!(r1.bits, params.initial_bits);

    // No reward for the phase: its coinbase is empty and everything paid
    // out is the issuance of rounds 1..=3.
    assert_eq!(phase.coinbase, Some(Vec::new()));
    assert!(report.rounds[0].coinbase.is_empty());
    let paid: u64 = report.rewards.values().sum();
    let issued: u64 = (1..=3).map(|r| round_issuance(&params, r)).sum();
    assert_eq!(paid, issued);

    // R1's attestors: the foundation, then the authors of the first k
    // distinct valid stable PoW units for round 1 by (MCI, id).
    let units = stable_units(&sim);
    let rejected: Vec<Cid> = rounds.rejected().iter().map(|(id, _)| *id).collect();
    let mut pow1: Vec<(u64, Vec<u8>, Cid, Address)> = units
        .iter()
        .filter(|(_, id, _)| !rejected.contains(id))
        .filter_map(|(mci, id, u)| match classify(u) {
            Ok(Kind::Pow(p)) if p.round == 1 => {
                Some((*mci, id.to_bytes(), *id, u.unsigned.authors[0]))
            }
            _ => None,
        })
        .collect();
    assert!(pow1.iter().all(|&(mci, ..)| mci > SWITCH_MCI));
    pow1.sort_by(|a, b| (a.0, &a.1).cmp(&(b.0, &b.1)));
    let mut expected = vec![(witnesses[0], None)];
    for (_, _, id, author) in pow1 {
        if expected.len() < 1 + k && !expected.iter().any(|(a, _)| *a == author) {
            expected.push((author, Some(id)));
        }
    }
    let got: Vec<(Address, Option<Cid>)> = r1
        .attestors
        .iter()
        .map(|a| (a.address, a.pow_unit))
        .collect();
    assert_eq!(got, expected);

    // Round 3's first TrustME units carry round 1's coinbase (not the
    // phase's empty one), and the check refers to round 1.
    let r1_coinbase = rounds.coinbase(1).unwrap();
    assert!(!r1_coinbase.is_empty());
    let (p, first3) = units
        .iter()
        .find_map(|(_, _, u)| match classify(u) {
            Ok(Kind::TrustMe(p)) if p.round == 3 && p.coinbase.is_some() => Some((p, u.clone())),
            _ => None,
        })
        .expect("round 3's first unit by the foundation");
    assert_eq!(p.coinbase.as_ref(), Some(&r1_coinbase));
    let kind = classify(&first3).unwrap();
    assert!(rounds.check_unit(&first3, &kind).unwrap());
    for wrong in [Vec::new(), rounds.coinbase(2).unwrap()] {
        if wrong == r1_coinbase {
            continue;
        }
        let mut forged = first3.clone();
        let payload = TrustMePayload {
            coinbase: Some(wrong),
            ..p.clone()
        };
        forged.unsigned.messages = vec![Message::TrustMe(payload.encode().unwrap())];
        let kind = classify(&forged).unwrap();
        assert!(matches!(
            rounds.check_unit(&forged, &kind),
            Err(Error::CoinbaseMismatch { round: 1 })
        ));
    }
}

// A single replica: foundation F, witnesses W1..W3, miners C and B.
const F: usize = 0;
const W: [usize; 3] = [1, 2, 3];
const C: usize = 4;
const B: usize = 5;
const SWITCH: u64 = 2;

fn genesis(params: &Params) -> Genesis {
    Genesis {
        foundation: vec![key(F).address()],
        foundation_reward: key(F).address(),
        initial_attestors: Vec::new(),
        pub_seed: [9; 32],
        deposits: [C, B]
            .iter()
            .map(|&i| (key(i).address(), params.min_deposit))
            .collect(),
        witness_phase: Some(WitnessPhase {
            witnesses: W.iter().map(|&i| key(i).address()).collect(),
            switch_mci: SWITCH,
        }),
    }
}

fn pow_unit(parents: &[Cid], miner: usize, ctx: &PowContext, stamp: u64) -> VerifiedUnit {
    let p = two_pow_params();
    let mut solver = tau_pow::Solver::new(p.equihash).unwrap();
    let (payload, _) = mine(&mut solver, &key(miner).public_key(), ctx, &p, 0, 10_000)
        .unwrap()
        .unwrap();
    let msg = Message::PowEquihash(payload.encode().unwrap());
    unit(parents, miner, 0, stamp, msg)
}

struct Net {
    replica: Replica<MemoryBlockstore>,
    events: Vec<RoundEvent>,
    stamp: u64,
    turn: usize,
}

impl Net {
    fn new() -> Self {
        let params = two_pow_params();
        let g = unit(&[], F, 0, 0, Message::Data(b"genesis".to_vec()));
        let replica = Replica::new(
            MemoryBlockstore::new(),
            tau_dag::Params::devnet(),
            tau_mainchain::Params::mainnet(),
            params.clone(),
            genesis(&params),
            g,
        )
        .unwrap();
        Self {
            replica,
            events: Vec::new(),
            stamp: 0,
            turn: 0,
        }
    }

    fn put(&mut self, u: VerifiedUnit) -> bool {
        let r = self.replica.receive(u).unwrap();
        self.events.extend(r.events);
        r.waiting
    }

    /// The next witness's round-0 TrustME unit on every free unit.
    fn witness(&mut self) {
        let who = W[self.turn % W.len()];
        self.turn += 1;
        let payload = TrustMePayload {
            round: 0,
            pow_unit: None,
            priority: (self.turn - 1) as u32 % W.len() as u32 + 1,
            coinbase: None,
            coinbase_hash: None,
        };
        self.stamp += 1_000;
        let parents = self.replica.chain().dag().choose_parents();
        let u = unit(
            &parents,
            who,
            0,
            self.stamp,
            Message::TrustMe(payload.encode().unwrap()),
        );
        assert!(!self.put(u));
    }
}

#[test]
fn pow_units_before_the_switch_mci_count_nothing() {
    let mut net = Net::new();
    let g = net.replica.chain().dag().choose_parents();
    // pubSeed(1) is in the genesis, so a PoW unit can be made at once; it
    // waits outside the DAG while round 1's competition is not open.
    let ctx = PowContext {
        round: 1,
        pub_seed: [9; 32],
        bits: two_pow_params().initial_bits,
    };
    assert_eq!(net.replica.rounds().pow_context(1), None);
    let early = pow_unit(&g, C, &ctx, 1);
    let early_id = early.id();
    assert!(net.put(early));
    while !net
        .events
        .iter()
        .any(|e| matches!(e, RoundEvent::SeedKnown { round: 1, .. }))
    {
        net.witness();
        assert!(net.turn < 20, "the switch MCI never became stable");
    }
    assert!(net.replica.chain().last_stable_mci() >= SWITCH);
    assert_eq!(net.replica.rounds().pow_context(1), Some(ctx));
    // Released into the DAG now, on genesis only.
    assert!(net.replica.chain().dag().contains(&early_id));

    // Fresh PoW units by C and B on the current tips.
    let tip = net.replica.chain().dag().choose_parents();
    net.stamp += 1_000;
    let c = pow_unit(&tip, C, &ctx, net.stamp);
    let c_id = c.id();
    assert!(!net.put(c));
    let b = pow_unit(&tip, B, &ctx, net.stamp + 1);
    let b_id = b.id();
    assert!(!net.put(b));
    while net.replica.rounds().get(1).is_none() {
        net.witness();
        assert!(net.turn < 40, "round 1 never started");
    }

    let rounds = net.replica.rounds();
    assert!(rounds.rejected().iter().any(|(id, e)| *id == early_id
        && matches!(
            e,
            Error::PowBeforeSwitch {
                limci: 0,
                switch_mci: SWITCH
            }
        )));
    let r1 = rounds.get(1).unwrap();
    let mut elected = [(key(C).address(), c_id), (key(B).address(), b_id)];
    elected.sort_by_key(|(_, id)| id.to_bytes());
    let mut expected = vec![(key(F).address(), None)];
    expected.extend(elected.iter().map(|&(a, id)| (a, Some(id))));
    let got: Vec<(Address, Option<Cid>)> = r1
        .attestors
        .iter()
        .map(|a| (a.address, a.pow_unit))
        .collect();
    assert_eq!(got, expected);
    // Nothing rewarded for the phase.
    assert!(net.events.iter().any(|e| matches!(
        e,
        RoundEvent::Switched { round: 1, coinbase, .. } if coinbase.is_empty()
    )));
    // The witnesses' units no longer count (their round has ended), and
    // they are not attestors of round 1.
    assert!(!r1.addresses().contains(&key(W[0]).address()));
}

#[test]
fn witness_phase_is_validated() {
    let p = two_pow_params();
    let ok = genesis(&p);
    assert!(ok.validate(&p).is_ok());
    assert_eq!(ok.first_round(), 0);
    let with = |f: &dyn Fn(&mut Genesis)| {
        let mut g = genesis(&p);
        f(&mut g);
        g.validate(&p)
    };
    let phase = |g: &mut Genesis| g.witness_phase.as_mut().unwrap().clone();
    let empty = with(&|g| {
        let mut w = phase(g);
        w.witnesses.clear();
        g.witness_phase = Some(w);
    });
    assert!(matches!(empty, Err(Error::InvalidParams(m)) if m.contains("needs witnesses")));
    let dup = with(&|g| {
        let mut w = phase(g);
        w.witnesses.push(w.witnesses[0]);
        g.witness_phase = Some(w);
    });
    assert!(matches!(dup, Err(Error::InvalidParams(m)) if m.contains("distinct")));
    let zero = with(&|g| {
        let mut w = phase(g);
        w.switch_mci = 0;
        g.witness_phase = Some(w);
    });
    assert!(matches!(zero, Err(Error::InvalidParams(m)) if m.contains("switch_mci")));
    let listed = with(&|g| g.initial_attestors = vec![key(C).address()]);
    assert!(matches!(listed, Err(Error::InvalidParams(m)) if m.contains("initial_attestors")));

    // The genesis unit carries round 0.
    let g1 = unit(&[], F, 1, 0, Message::Data(b"genesis".to_vec()));
    let r = Replica::new(
        MemoryBlockstore::new(),
        tau_dag::Params::devnet(),
        tau_mainchain::Params::mainnet(),
        p.clone(),
        genesis(&p),
        g1,
    );
    assert!(matches!(r, Err(Error::InvalidParams(_))));
}
