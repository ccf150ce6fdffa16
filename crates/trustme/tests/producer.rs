//! `Producer`: the take-over schedule, what a TrustME unit carries, mining
//! jobs once per round, PoW units.

use tau_dag::{Message, Unit, VerifiedUnit};
use tau_ipld::MemoryBlockstore;

mod common;
use tau_keys::Keypair;
use tau_trustme::sim::{Sim, SimConfig};
use tau_trustme::{coinbase_hash, PowPayload, Producer, Replica, TrustMePayload};

type R = Replica<MemoryBlockstore>;

fn devnet() -> (Vec<Keypair>, R) {
    common::round1_replica(b"producer test genesis")
}

fn trustme(unit: &Unit) -> TrustMePayload {
    let bytes = unit
        .unsigned
        .messages
        .iter()
        .find_map(|m| match m {
            Message::TrustMe(b) => Some(b.clone()),
            _ => None,
        })
        .expect("a TrustME unit");
    TrustMePayload::decode(&bytes).unwrap()
}

/// A fresh producer for each attestor; which of them send at `now_ms`.
fn senders(keys: &[Keypair], replica: &R, now_ms: u64) -> Vec<usize> {
    (0..keys.len())
        .filter(|&i| {
            let mut p = Producer::new(keys[i].clone());
            p.attest(replica, now_ms).unwrap().is_some()
        })
        .collect()
}

#[test]
fn the_attestor_on_turn_sends_the_others_take_over_after_silence() {
    let (keys, mut replica) = devnet();
    // Round 1 started at 0, nothing seen: priority 1 sends at once, 2 and 3
    // after takeover_ms, 4 and 5 after twice that; key 5 is no attestor.
    assert_eq!(senders(&keys, &replica, 0), vec![0]);
    assert_eq!(senders(&keys, &replica, 999), vec![0]);
    assert_eq!(senders(&keys, &replica, 1_000), vec![0, 1, 2]);
    assert_eq!(senders(&keys, &replica, 1_999), vec![0, 1, 2]);
    assert_eq!(senders(&keys, &replica, 2_000), vec![0, 1, 2, 3, 4]);
    assert_eq!(senders(&keys, &replica, 1_000_000), vec![0, 1, 2, 3, 4]);

    let mut p: Vec<Producer> = keys.iter().cloned().map(Producer::new).collect();
    let first = p[0].attest(&replica, 300).unwrap().expect("on turn");
    let payload = trustme(first.unit());
    assert_eq!((payload.round, payload.priority), (1, 1));
    assert_eq!((payload.coinbase, payload.coinbase_hash), (None, None));
    assert_eq!(first.unit().unsigned.timestamp, 300);
    assert_eq!(
        first.unit().parents(),
        replica.chain().dag().choose_parents().as_slice()
    );
    // The sender does not send again before someone else does.
    assert!(p[0].attest(&replica, 100_000).unwrap().is_none());

    // Priority 2 sees it at 500: its turn at once; 3 now waits from 500.
    let delivery = replica.receive(first).unwrap();
    for q in &mut p[1..] {
        q.observe(&replica, &delivery, 500).unwrap();
    }
    assert_eq!(p[2].last_seen().author, Some(0));
    assert_eq!(p[2].last_seen().at_ms, 500);
    assert!(p[2].attest(&replica, 1_499).unwrap().is_none());
    let second = p[1].attest(&replica, 500).unwrap().expect("on turn");
    assert_eq!(trustme(second.unit()).priority, 2);
    let third = p[2].attest(&replica, 1_500).unwrap().expect("took over");
    assert_eq!(trustme(third.unit()).priority, 3);
    // Priorities 1 and 2 see priority 3's unit at 2000: 4 is on turn, 5
    // and 1 would take over after takeover_ms, 2 after twice that. But both
    // sent already this round and have heard one other attestor since: each
    // waits for a majority − 1 = 2 others, however long the silence (else,
    // with just a majority present, two of them could answer each other
    // while the third's longer take-over delay never runs out).
    let delivery = replica.receive(third.clone()).unwrap();
    p[0].observe(&replica, &delivery, 2_000).unwrap();
    p[1].observe(&replica, &delivery, 2_000).unwrap();
    assert!(p[0].attest(&replica, 100_000).unwrap().is_none());
    assert!(p[1].attest(&replica, 100_000).unwrap().is_none());
    // Priority 2's unit reaches priority 1 at 2500 (its second): 3 is on
    // turn, so priority 1 takes over after twice takeover_ms.
    p[0].observe_units(replica.rounds(), [second.unit()], 2_500);
    assert!(p[0].attest(&replica, 4_499).unwrap().is_none());
    let fourth = p[0].attest(&replica, 4_500).unwrap().expect("took over");
    assert_eq!(trustme(fourth.unit()).priority, 1);
    // Which is priority 2's second: on turn at once.
    p[1].observe_units(replica.rounds(), [fourth.unit()], 4_600);
    assert!(p[1].attest(&replica, 4_600).unwrap().is_some());
}

/// A sim run until node 0 is in round `round` or later.
fn sim_at_round(round: u64) -> Sim {
    let mut sim = Sim::new(SimConfig::devnet(6, 20, 7)).unwrap();
    while sim.replica(0).rounds().current().round < round {
        assert!(sim.now() < 600_000, "round {round} never came");
        let next = sim.now() + 250;
        sim.run_until(next).unwrap();
    }
    sim
}

/// A fresh producer for the node with priority index `k` in node 0's round.
fn producer_at(sim: &Sim, k: usize) -> Producer {
    let a = sim.replica(0).rounds().current().attestors[k].address;
    let i = (0..sim.node_count())
        .find(|&i| sim.address(i) == a)
        .unwrap();
    Producer::new(sim.producer(i).key().clone())
}

#[test]
fn the_first_unit_of_a_round_carries_the_coinbase_of_round_minus_two() {
    let sim = sim_at_round(3);
    let replica = sim.replica(0);
    let rounds = replica.rounds();
    let cur = rounds.current().clone();
    assert!(cur.round >= 3);
    let coinbase = rounds.coinbase(cur.round - 2).expect("known");
    let t = sim.now();
    let takeover = rounds.params().takeover_ms;

    // Priority 1: the full list.
    let mut p1 = producer_at(&sim, 0);
    let u1 = p1.attest(replica, t).unwrap().expect("on turn");
    let first = trustme(u1.unit());
    assert_eq!((first.round, first.priority), (cur.round, 1));
    assert_eq!(first.pow_unit, cur.attestors[0].pow_unit);
    assert_eq!(first.coinbase.as_ref(), Some(&coinbase));
    assert_eq!(first.coinbase_hash, None);

    // Priority 2 (taking over): its hash, and its electing PoW unit.
    let mut p2 = producer_at(&sim, 1);
    assert!(p2.attest(replica, t).unwrap().is_none());
    let u2 = p2
        .attest(replica, t + takeover)
        .unwrap()
        .expect("took over");
    let second = trustme(u2.unit());
    assert_eq!(second.priority, 2);
    assert!(second.pow_unit.is_some());
    assert_eq!(second.pow_unit, cur.attestors[1].pow_unit);
    assert_eq!(second.coinbase, None);
    assert_eq!(
        second.coinbase_hash,
        Some(coinbase_hash(&coinbase).unwrap())
    );

    // Priority 3 takes over too (each waits for two others between its
    // own units).
    let mut p3 = producer_at(&sim, 2);
    assert!(p3.attest(replica, t).unwrap().is_none());
    let u3 = p3
        .attest(replica, t + takeover)
        .unwrap()
        .expect("took over");

    // Their next units carry nothing.
    p2.observe_units(rounds, [u3.unit(), u1.unit()], t + 2 * takeover);
    let again = p2.attest(replica, t + 2 * takeover).unwrap().expect("turn");
    let again = trustme(again.unit());
    assert_eq!((again.coinbase, again.coinbase_hash), (None, None));
    p1.observe_units(rounds, [u3.unit(), u2.unit()], t + 2 * takeover);
    let later = t + 2 * takeover + takeover * (cur.attestors.len() as u64 - 2).div_ceil(2);
    let again = p1.attest(replica, later).unwrap().expect("took over");
    let again = trustme(again.unit());
    assert_eq!((again.coinbase, again.coinbase_hash), (None, None));
}

#[test]
fn a_round_is_mined_for_once_and_late_solutions_are_dropped() {
    let mut sim = sim_at_round(2);
    while {
        let rounds = sim.replica(0).rounds();
        rounds.pow_context(rounds.current().round + 1).is_none()
    } {
        let next = sim.now() + 250;
        sim.run_until(next).unwrap();
    }
    let replica = sim.replica(0);
    let round = replica.rounds().current().round;
    let params = replica.rounds().params().clone();

    // The foundation does not mine.
    let mut foundation = Producer::new(sim.producer(0).key().clone());
    assert_eq!(foundation.mining_job(replica), None);

    let mut p = Producer::new(sim.producer(1).key().clone());
    let ctx = p.mining_job(replica).expect("the seed is known");
    assert_eq!(ctx.round, round + 1);
    assert_eq!(p.mined_for(), round + 1);
    assert_eq!(p.mining_job(replica), None);

    // The inline helper: one search per round too.
    let mut solver = tau_pow::Solver::new(params.equihash).unwrap();
    let mut q = Producer::new(sim.producer(2).key().clone());
    let (payload, tries) = q
        .mine(replica, &mut solver, 0, 10_000)
        .unwrap()
        .expect("a solution");
    assert!(tries >= 1);
    assert_eq!(payload.round, round + 1);
    payload.check(&q.key().public_key(), &ctx, &params).unwrap();
    assert!(q.mine(replica, &mut solver, 0, 10_000).unwrap().is_none());

    let unit: VerifiedUnit = q
        .pow_unit(replica, 12_345, &payload)
        .unwrap()
        .expect("still for the next round");
    let u = &unit.unit().unsigned;
    assert_eq!((u.round, u.timestamp), (round, 12_345));
    assert_eq!(u.authors, vec![q.address()]);
    assert_eq!(
        u.messages,
        vec![Message::PowEquihash(payload.encode().unwrap())]
    );
    // A solution for a round already on duty (or further) comes too late.
    for r in [round, round + 2] {
        let late = PowPayload {
            round: r,
            ..payload.clone()
        };
        assert!(q.pow_unit(replica, 12_345, &late).unwrap().is_none());
    }
}

/// Sequential units: each unit of a producer includes its last one, even
/// when other nodes' older free units fill the DAG's parent choice (which
/// takes the oldest free units). Otherwise the attestor's next stable unit
/// would not include its previous one, and it would be eliminated.
#[test]
fn a_producers_units_include_its_last_one_whatever_other_tips_exist() {
    let (keys, mut replica) = devnet();
    let genesis = replica.chain().dag().choose_parents();
    let dag_params = replica.chain().dag().params().clone();
    let max_parents = dag_params.max_parents;
    // Others' free units, more than two choices' worth, all older than
    // anything the producer makes.
    for i in 0..(2 * max_parents + 8) as u64 {
        let unit = tau_trustme::build_unit(
            &keys[5],
            &dag_params,
            1,
            i,
            genesis.clone(),
            vec![Message::Data(i.to_be_bytes().to_vec())],
        )
        .unwrap();
        replica.receive(unit).unwrap();
    }
    let mut producer = Producer::new(keys[1].clone());
    let first = producer
        .make_unit(&replica, 100, vec![Message::Data(b"first".to_vec())])
        .unwrap();
    let first_id = first.id();
    replica.receive(first).unwrap();
    // The DAG's own choice now leaves the producer's unit out...
    let choice = replica.chain().dag().choose_parents();
    assert_eq!(choice.len(), max_parents);
    assert!(!choice.contains(&first_id));
    // ...the producer's does not, and stays within the bound.
    let second = producer
        .make_unit(&replica, 200, vec![Message::Data(b"second".to_vec())])
        .unwrap();
    let parents = second.unit().parents().to_vec();
    assert!(parents.contains(&first_id), "{parents:?}");
    assert_eq!(parents.len(), max_parents);
    let second_id = second.id();
    replica.receive(second).unwrap();
    let dag = replica.chain().dag();
    let (a, b) = (dag.num(&second_id).unwrap(), dag.num(&first_id).unwrap());
    assert!(dag.includes(a, b));
}
