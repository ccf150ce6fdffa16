//! Scenarios on one replica driven by `Producer`s (every unit delivered at
//! once): deposits funded by real payments, their silent-locking time and
//! return; fees paid with the coinbase; the coinbase in an attestor's first
//! TrustME unit of a round.

use tau_dag::{Input, Message, Output, Payment, VerifiedUnit};
use tau_ipld::MemoryBlockstore;

mod common;
use tau_keys::{Address, Keypair};
use tau_trustme::{
    build_unit, deposit_address, round_issuance, DepositPayload, Params, Producer, Replica,
    RoundEvent, TrustMePayload, UnitDelivery, WITHDRAWAL_OUTPUTS,
};

type R = Replica<MemoryBlockstore>;

/// Key 0: foundation; 1..=4: super nodes with genesis deposits (round 1's
/// attestors); 5: a super node with no deposit and 3 × the minimum deposit
/// in a genesis output.
struct Net {
    keys: Vec<Keypair>,
    replica: R,
    producers: Vec<Producer>,
    /// Which producers mine.
    mining: Vec<bool>,
    solver: tau_pow::Solver,
    now: u64,
    nonce: u32,
    events: Vec<RoundEvent>,
    genesis_id: cid::Cid,
    /// PoW units made, with their miner.
    pow_units: Vec<(usize, cid::Cid)>,
}

const S: usize = 5;

impl Net {
    fn new() -> Self {
        let params = Params::tiny();
        let (keys, replica) = common::round1_replica_with(
            [3; 32],
            vec![
                Message::Data(b"deposit scenarios".to_vec()),
                Message::Payment(Payment {
                    inputs: vec![],
                    outputs: vec![Output {
                        address: common::key(S).address(),
                        amount: 3 * params.min_deposit,
                    }],
                }),
            ],
        );
        let genesis_id = replica.chain().dag().id(0).unwrap();
        let solver = tau_pow::Solver::new(params.equihash).unwrap();
        let producers = keys.iter().cloned().map(Producer::new).collect();
        Self {
            keys,
            replica,
            producers,
            mining: vec![false, true, true, true, true, true],
            solver,
            now: 0,
            nonce: 0,
            events: Vec::new(),
            genesis_id,
            pow_units: Vec::new(),
        }
    }

    fn params(&self) -> &Params {
        self.replica.rounds().params()
    }

    fn deliver(&mut self, unit: VerifiedUnit) -> UnitDelivery {
        let d = self.replica.receive(unit).unwrap();
        for p in &mut self.producers {
            p.observe(&self.replica, &d, self.now).unwrap();
        }
        self.events.extend(d.events.iter().cloned());
        d
    }

    /// 200 ms: every attestor whose turn it is attests, every miner mines.
    fn step(&mut self) {
        self.now += 200;
        for i in 0..self.producers.len() {
            if let Some(u) = self.producers[i].attest(&self.replica, self.now).unwrap() {
                self.deliver(u);
            }
        }
        // S first: its PoW unit is in the DAG before the others of the step.
        for i in (0..self.producers.len()).rev() {
            if !self.mining[i] {
                continue;
            }
            self.nonce = self.nonce.wrapping_add(7_919);
            let found = self.producers[i]
                .mine(&self.replica, &mut self.solver, self.nonce, 10_000)
                .unwrap();
            if let Some((payload, _)) = found {
                if let Some(u) = self.producers[i]
                    .pow_unit(&self.replica, self.now, &payload)
                    .unwrap()
                {
                    self.pow_units.push((i, u.id()));
                    self.deliver(u);
                }
            }
        }
    }

    fn round(&self) -> u64 {
        self.replica.rounds().current().round
    }

    fn run_to_round(&mut self, round: u64) {
        let mut steps = 0;
        while self.round() < round {
            self.step();
            steps += 1;
            assert!(steps < 5_000, "stuck in round {}", self.round());
        }
    }

    /// Runs until `unit` is stable.
    fn settle(&mut self, unit: &cid::Cid) {
        let mut steps = 0;
        loop {
            let chain = self.replica.chain();
            if chain.dag().num(unit).is_some_and(|n| chain.is_stable(n)) {
                return;
            }
            self.step();
            steps += 1;
            assert!(steps < 5_000, "never stable");
        }
    }

    /// A unit by node `i` with these messages, delivered; its id.
    fn send(&mut self, i: usize, messages: Vec<Message>) -> cid::Cid {
        let unit = self.producers[i]
            .make_unit(&self.replica, self.now, messages)
            .unwrap();
        let id = unit.id();
        self.deliver(unit);
        id
    }

    fn rejected(&self, unit: &cid::Cid) -> Option<&str> {
        self.events.iter().find_map(|e| match e {
            RoundEvent::Rejected { unit: u, reason } if u == unit => Some(reason.as_str()),
            _ => None,
        })
    }

    fn address(&self, i: usize) -> Address {
        self.keys[i].address()
    }
}

fn deposit(node: Address, lock: u64, withdraw: bool) -> Message {
    Message::Deposit(
        DepositPayload {
            withdraw,
            lock_rounds: lock,
            payout_address: node,
            reward_address: node,
        }
        .encode()
        .unwrap(),
    )
}

#[test]
fn a_deposit_funded_by_a_payment_locks_and_returns() {
    let mut net = Net::new();
    let min = net.params().min_deposit;
    let lock = net.params().silent_lock_rounds;
    let s = net.address(S);
    let contract = deposit_address(&s);

    // Without a deposit, S's PoW unit for round 2 counts for nothing.
    net.run_to_round(2);
    let attestors = net.replica.rounds().current().addresses();
    assert!(!attestors.contains(&s));
    let (_, first_pow) = *net.pow_units.iter().find(|(i, _)| *i == S).unwrap();
    let reason = net.rejected(&first_pow).expect("S's PoW unit counted");
    assert!(reason.contains("below the minimum"), "{reason}");

    // A deposit unit whose payment does not cover the amount (more out than
    // in) opens nothing.
    let genesis_output = Input {
        unit: net.genesis_id,
        message_index: 1,
        output_index: 0,
    };
    let greedy = net.send(
        S,
        vec![
            deposit(s, lock, false),
            Message::Payment(Payment {
                inputs: vec![genesis_output],
                outputs: vec![Output {
                    address: contract,
                    amount: 4 * min,
                }],
            }),
        ],
    );
    net.settle(&greedy);
    assert!(net.rejected(&greedy).unwrap().contains("commission"));
    assert_eq!(net.replica.rounds().deposits().balance(&s), 0);

    // Paid for real: min to the contract, the change back, 10,000 notes of fee.
    let fee = 10_000;
    let paid = net.send(
        S,
        vec![
            deposit(s, lock, false),
            Message::Payment(Payment {
                inputs: vec![genesis_output],
                outputs: vec![
                    Output {
                        address: contract,
                        amount: min,
                    },
                    Output {
                        address: s,
                        amount: 2 * min - fee,
                    },
                ],
            }),
        ],
    );
    net.settle(&paid);
    assert_eq!(net.rejected(&paid), None);
    let rounds = net.replica.rounds();
    assert_eq!(rounds.deposits().balance(&s), min);
    assert_eq!(rounds.ledger().contract_balance(&contract), min);
    assert_eq!(rounds.ledger().balance(&s), 2 * min - fee);
    let opened = rounds.deposits().get(&s).unwrap().last_activity;

    // Now S's PoW units count: it competes and is elected for a later round.
    net.run_to_round(opened + 3);
    let elected = net
        .replica
        .rounds()
        .all()
        .iter()
        .any(|r| r.position(&s).is_some());
    assert!(elected, "S was never elected");
    // S stops mining; its TrustME units keep its deposit locked meanwhile.
    net.mining[S] = false;
    let last_round_as_attestor = net
        .replica
        .rounds()
        .all()
        .iter()
        .filter(|r| r.position(&s).is_some())
        .map(|r| r.round)
        .max()
        .unwrap();
    net.run_to_round(last_round_as_attestor + 1);
    let active = net
        .replica
        .rounds()
        .deposits()
        .get(&s)
        .unwrap()
        .last_activity;
    assert!(
        active >= last_round_as_attestor,
        "{active} < {last_round_as_attestor}"
    );

    // Too early: refused, and a refused unit restarts the lock (TR §2.3).
    let early = net.send(S, vec![deposit(s, lock, true)]);
    net.settle(&early);
    assert!(net.rejected(&early).unwrap().contains("locked"));
    assert_eq!(net.replica.rounds().deposits().balance(&s), min);
    let restarted = net
        .replica
        .rounds()
        .deposits()
        .get(&s)
        .unwrap()
        .last_activity;
    assert!(restarted > active || restarted == net.round());

    // After the lock: the whole deposit goes back to the payout address.
    net.run_to_round(restarted + lock);
    let before = net.replica.rounds().ledger().balance(&s);
    let out = net.send(S, vec![deposit(s, lock, true)]);
    net.settle(&out);
    assert_eq!(net.rejected(&out), None);
    let withdrawn = net.events.iter().any(|e| {
        matches!(e, RoundEvent::Withdrawn { node, payout, amount } if *node == s && *payout == s && *amount == min)
    });
    assert!(withdrawn);
    let ledger = net.replica.rounds().ledger();
    assert_eq!(ledger.balance(&s), before + min);
    assert_eq!(ledger.contract_balance(&contract), 0);
    let back = Input {
        unit: out,
        message_index: WITHDRAWAL_OUTPUTS,
        output_index: 0,
    };
    assert_eq!(ledger.output(&back).map(|o| o.amount), Some(min));

    // Every coinbase paid its round's issuance plus the fees of its units:
    // over the run, exactly the issuance plus S's one fee.
    let rounds = net.replica.rounds();
    let mut coinbases = 0u64;
    let mut issuance = 0u64;
    for r in rounds.all().iter().filter(|r| r.coinbase.is_some()) {
        coinbases += r
            .coinbase
            .as_ref()
            .unwrap()
            .iter()
            .map(|e| e.amount)
            .sum::<u64>();
        issuance += round_issuance(rounds.params(), r.round);
    }
    assert_eq!(coinbases + ledger.pool(), issuance + fee);
    let genesis_supply = 3 * min + 4 * min;
    assert_eq!(ledger.check_supply().unwrap(), genesis_supply + issuance);
}

#[test]
fn an_attestors_first_unit_of_round_3_must_carry_the_coinbase() {
    let mut net = Net::new();
    net.run_to_round(3);
    // The attestor with priority 2 sends its first round-3 unit without the
    // coinbase of round 1, before its producer would.
    let info = net.replica.rounds().current().clone();
    let author = info.attestors[1].address;
    let i = net.keys.iter().position(|k| k.address() == author).unwrap();
    let payload = TrustMePayload {
        round: 3,
        pow_unit: info.attestors[1].pow_unit,
        priority: 2,
        coinbase: None,
        coinbase_hash: None,
    };
    let unit = build_unit(
        &net.keys[i],
        net.replica.chain().dag().params(),
        3,
        net.now,
        net.replica.chain().dag().choose_parents(),
        vec![Message::TrustMe(payload.encode().unwrap())],
    )
    .unwrap();
    let id = unit.id();
    net.deliver(unit);
    net.settle(&id);
    let reason = net.rejected(&id).expect("accepted without the coinbase");
    assert!(
        reason.contains("does not carry the coinbase of round 1"),
        "{reason}"
    );
    // Its next unit counts as usual; no other unit was refused for it.
    let missing = net
        .events
        .iter()
        .filter(|e| matches!(e, RoundEvent::Rejected { reason, .. } if reason.contains("coinbase")))
        .count();
    assert_eq!(missing, 1);
}

/// A deposit unit that pays nothing into its contract counts for nothing:
/// units pay no commission unless they pay someone, so it would otherwise
/// open a deposit entry for free, from any fresh key, forever.
#[test]
fn an_unfunded_deposit_unit_opens_nothing() {
    let mut net = Net::new();
    let lock = net.params().silent_lock_rounds;
    let s = net.address(S);
    let unit = net.send(S, vec![deposit(s, lock, false)]);
    net.settle(&unit);
    // Judged at stability: run until the rounds have seen it.
    for _ in 0..20 {
        net.step();
    }
    let reason = net.rejected(&unit).expect("the unfunded deposit counted");
    assert!(reason.contains("pays nothing"), "{reason}");
    assert!(net.replica.rounds().deposits().get(&s).is_none());
}
