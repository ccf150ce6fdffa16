//! `docs/src/trustme.md` scenario 10 (round switch, k = 2) on real units, with
//! the TR-2018-02 rules, and the bad inputs of issue 5.

mod common;
use common::{key, two_pow_params, unit};

use cid::Cid;
use tau_dag::{Message, VerifiedUnit};
use tau_ipld::MemoryBlockstore;
use tau_trustme::{
    mine, round_issuance, split_reward, Error, Genesis, Params, PowContext, PowPayload, Replica,
    RoundEvent, TrustMePayload,
};

const F: usize = 0;
const A1: usize = 1;
const A2: usize = 2;
const C: usize = 3;
const B: usize = 4;
const A: usize = 5;
const POOR: usize = 6;

struct Net {
    replica: Replica<MemoryBlockstore>,
    params: Params,
    events: Vec<RoundEvent>,
    stamp: u64,
}

impl Net {
    fn new() -> (Self, Cid) {
        let params = two_pow_params();
        let genesis = Genesis {
            foundation: vec![key(F).address()],
            foundation_reward: key(F).address(),
            initial_attestors: vec![key(A1).address(), key(A2).address()],
            pub_seed: [7; 32],
            deposits: [C, B, A]
                .iter()
                .map(|&i| (key(i).address(), params.min_deposit))
                .collect(),
            witness_phase: None,
        };
        let g = unit(&[], F, 1, 0, Message::Data(b"genesis".to_vec()));
        let id = g.id();
        let replica = Replica::new(
            MemoryBlockstore::new(),
            tau_dag::Params::devnet(),
            tau_mainchain::Params::mainnet(),
            params.clone(),
            genesis,
            g,
        )
        .unwrap();
        (
            Self {
                replica,
                params,
                events: Vec::new(),
                stamp: 0,
            },
            id,
        )
    }

    fn put(&mut self, u: VerifiedUnit) -> Result<Cid, Error> {
        let id = u.id();
        let r = self.replica.receive(u)?;
        assert!(!r.waiting, "unit waits");
        self.events.extend(r.events);
        Ok(id)
    }

    fn trustme(&mut self, parents: &[Cid], author: usize, round: u64) -> VerifiedUnit {
        let info = self.replica.rounds().get(round).unwrap();
        let idx = info.position(&key(author).address()).unwrap_or(0);
        let payload = TrustMePayload {
            round,
            pow_unit: info.attestors.get(idx).and_then(|a| a.pow_unit),
            priority: idx as u32 + 1,
            coinbase: None,
            coinbase_hash: None,
        };
        self.stamp += 1_000;
        unit(
            parents,
            author,
            round,
            self.stamp,
            Message::TrustMe(payload.encode().unwrap()),
        )
    }

    fn pow_payload(&self, miner: usize, seed_of: usize, round: u64) -> PowPayload {
        let ctx: PowContext = self.replica.rounds().pow_context(round).unwrap();
        let mut solver = tau_pow::Solver::new(self.params.equihash).unwrap();
        mine(
            &mut solver,
            &key(seed_of).public_key(),
            &ctx,
            &self.params,
            miner as u32 * 1000,
            10_000,
        )
        .unwrap()
        .unwrap()
        .0
    }

    fn pow(&mut self, parents: &[Cid], miner: usize, round: u64) -> VerifiedUnit {
        let p = self.pow_payload(miner, miner, round);
        self.stamp += 1_000;
        unit(
            parents,
            miner,
            round - 1,
            self.stamp,
            Message::PowEquihash(p.encode().unwrap()),
        )
    }
}

#[test]
fn scenario_10_round_switch() {
    let (mut net, g) = Net::new();
    let rot = [F, A1, A2];
    // M1..M7: TrustME units of round 1, F, A1, A2 in turn.
    let mut m = vec![g];
    for k in 1..=7 {
        let u = net.trustme(&[m[k - 1]], rot[(k - 1) % 3], 1);
        m.push(net.put(u).unwrap());
    }
    // M1 is stable: pubSeed(2) is known.
    assert!(net.replica.chain().last_stable_mci() >= 1);
    assert!(matches!(
        net.events[0],
        RoundEvent::SeedKnown { round: 2, .. }
    ));

    // PoW c on M7 (MCI 9 via M9); a, b, a duplicate by c and a poor node's on M8 (MCI 10 via M10).
    let pc = net.pow(&[m[7]], C, 2);
    let pc = net.put(pc).unwrap();
    let u = net.trustme(&[m[7]], rot[7 % 3], 1);
    m.push(net.put(u).unwrap()); // M8
    let mut at10 = Vec::new();
    for who in [B, A, C] {
        let u = net.pow(&[m[8]], who, 2);
        at10.push((who, net.put(u).unwrap()));
    }
    let u = net.trustme(&[m[8], pc], rot[8 % 3], 1);
    m.push(net.put(u).unwrap()); // M9
    let mut parents10 = vec![m[9]];
    parents10.extend(at10.iter().map(|&(_, id)| id));
    let u = net.trustme(&parents10, rot[9 % 3], 1);
    m.push(net.put(u).unwrap()); // M10
    for k in 11..=16 {
        let u = net.trustme(&[m[k - 1]], rot[(k - 1) % 3], 1);
        m.push(net.put(u).unwrap());
    }

    let chain = net.replica.chain();
    let mci = |id: &Cid| chain.mci(chain.dag().num(id).unwrap()).unwrap();
    assert_eq!(mci(&pc), 9);
    for (_, id) in &at10 {
        assert_eq!(mci(id), 10);
    }
    assert!(chain.last_stable_mci() >= 10);

    // The switch happens at MCI 10: c first (MCI 9), then the smaller id of a and b.
    let rounds = net.replica.rounds();
    let r2 = rounds.get(2).expect("round 2 started");
    assert_eq!(r2.start_mci, 10);
    let (ab_first, _) = at10[..2]
        .iter()
        .min_by_key(|(_, id)| id.to_bytes())
        .copied()
        .unwrap();
    let expected: Vec<_> = [F, C, ab_first].iter().map(|&i| key(i).address()).collect();
    assert_eq!(r2.addresses(), expected);
    assert_eq!(r2.attestors[1].pow_unit, Some(pc));

    // Round 1's rewards: MC TrustME units M1..M10 (MCI ≤ 10); A1 has M2, M5, M8, A2 has M3, M6, M9.
    let r1 = rounds.get(1).unwrap();
    assert_eq!(r1.end_mci, Some(10));
    assert_eq!(r1.trustme_counts, vec![4, 3, 3]);
    let coinbase = r1.coinbase.clone().unwrap();
    let total = round_issuance(&net.params, 1);
    assert_eq!(coinbase.iter().map(|e| e.amount).sum::<u64>(), total);
    assert_eq!(
        coinbase,
        split_reward(
            total,
            &[(key(A1).address(), 3), (key(A2).address(), 3)],
            key(F).address(),
            9_000
        )
    );
    assert_eq!(coinbase[0].amount, total * 9 / 20);

    // c's second PoW unit for round 2 is a duplicate; round-1 TrustME units
    // stable after the switch are invalid (TR §5.1).
    let reasons: Vec<String> = rounds
        .rejected()
        .iter()
        .map(|(_, e)| e.to_string())
        .collect();
    assert!(
        rounds
            .rejected()
            .iter()
            .any(|(id, e)| *id == at10[2].1 && matches!(e, Error::DuplicatePow { .. })),
        "{reasons:?}"
    );
    assert!(rounds.rejected().iter().any(|(_, e)| matches!(
        e,
        Error::StaleRound {
            round: 1,
            current: 2
        }
    )));

    // Round 2: c may attest, A1 (round 1 only) may not.
    let tip = net.replica.chain().dag().choose_parents();
    let ok = net.trustme(&tip, C, 2);
    net.put(ok).unwrap();
    let tip = net.replica.chain().dag().choose_parents();
    let not = net.trustme(&tip, A1, 2);
    assert!(matches!(
        net.put(not),
        Err(Error::NotAttestor { round: 2, .. })
    ));
    // A unit of round 1 on a round-2 parent: rounds never go back.
    let tip = net.replica.chain().dag().choose_parents();
    let back = unit(&tip, B, 1, 99, Message::Data(vec![]));
    assert!(matches!(net.put(back), Err(Error::RoundBelowParent { .. })));
}

#[test]
fn bad_pow_units_are_rejected_with_typed_errors() {
    let (mut net, g) = Net::new();
    let rot = [F, A1, A2];
    let mut m = vec![g];
    for k in 1..=6 {
        let u = net.trustme(&[m[k - 1]], rot[(k - 1) % 3], 1);
        m.push(net.put(u).unwrap());
    }
    let tip = net.replica.chain().dag().choose_parents();

    // Wrongly seeded: mined on A's seed, signed by B.
    let p = net.pow_payload(B, A, 2);
    let u = unit(&tip, B, 1, 1, Message::PowEquihash(p.encode().unwrap()));
    assert!(matches!(net.put(u), Err(Error::WrongSeed { round: 2 })));

    // Under target: a valid solution claiming much harder bits.
    let mut p = net.pow_payload(B, B, 2);
    p.bits = 0x0300_0001;
    let u = unit(&tip, B, 1, 2, Message::PowEquihash(p.encode().unwrap()));
    assert!(matches!(net.put(u), Err(Error::UnderTarget { .. })));

    // A corrupted solution.
    let mut p = net.pow_payload(B, B, 2);
    p.solution[0] ^= 0x80;
    let u = unit(&tip, B, 1, 3, Message::PowEquihash(p.encode().unwrap()));
    assert!(matches!(net.put(u), Err(Error::Pow(_))));

    // Payload round that does not fit the unit's round.
    let p = net.pow_payload(B, B, 2);
    let u = unit(&tip, B, 2, 4, Message::PowEquihash(p.encode().unwrap()));
    assert!(matches!(net.put(u), Err(Error::RoundMismatch { .. })));

    // Without a deposit: in the DAG, but never counted.
    let u = net.pow(&tip, POOR, 2);
    let poor = net.put(u).unwrap();
    for k in 7..=12 {
        let parents = net.replica.chain().dag().choose_parents();
        let u = net.trustme(&parents, rot[(k - 1) % 3], 1);
        net.put(u).unwrap();
    }
    let rounds = net.replica.rounds();
    assert!(rounds
        .rejected()
        .iter()
        .any(|(id, e)| *id == poor && matches!(e, Error::InsufficientDeposit { .. })));
    assert!(rounds.current().candidates.is_empty());
}

#[test]
fn bad_trustme_units_are_rejected_with_typed_errors() {
    let (mut net, g) = Net::new();
    // By a super node that is not an attestor.
    let payload = TrustMePayload {
        round: 1,
        pow_unit: None,
        priority: 1,
        coinbase: None,
        coinbase_hash: None,
    };
    let u = unit(&[g], C, 1, 1, Message::TrustMe(payload.encode().unwrap()));
    assert!(matches!(
        net.put(u),
        Err(Error::NotAttestor { round: 1, .. })
    ));
    // Wrong priority.
    let u = unit(&[g], A2, 1, 1, Message::TrustMe(payload.encode().unwrap()));
    assert!(matches!(
        net.put(u),
        Err(Error::WrongPriority {
            expected: 3,
            got: 1
        })
    ));
    // Out of round: payload round 2 in a round-1 unit.
    let mut p2 = payload.clone();
    p2.round = 2;
    let u = unit(&[g], F, 1, 1, Message::TrustMe(p2.encode().unwrap()));
    assert!(matches!(net.put(u), Err(Error::RoundMismatch { .. })));
    // A coinbase list that does not match (round − 2 has none).
    let mut p3 = payload.clone();
    p3.coinbase = Some(vec![tau_trustme::CoinbaseEntry {
        address: key(F).address(),
        amount: 1,
    }]);
    let u = unit(&[g], F, 1, 1, Message::TrustMe(p3.encode().unwrap()));
    assert!(matches!(net.put(u), Err(Error::CoinbaseMismatch { .. })));
    let mut p4 = payload.clone();
    p4.coinbase_hash = Some([0; 32]);
    let u = unit(&[g], F, 1, 1, Message::TrustMe(p4.encode().unwrap()));
    assert!(matches!(net.put(u), Err(Error::CoinbaseMismatch { .. })));
    // A unit of a round not known yet waits instead.
    let mut p5 = payload;
    p5.round = 3;
    let u = unit(&[g], F, 3, 1, Message::TrustMe(p5.encode().unwrap()));
    assert!(net.replica.receive(u).unwrap().waiting);
    // Nothing of the above reached the DAG.
    assert_eq!(net.replica.chain().dag().len(), 1);
}
