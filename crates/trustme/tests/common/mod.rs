//! Shared fixtures of the tau-trustme tests: deterministic random numbers,
//! the partitioned network of `tests/network.rs` and replicas built like
//! its minority, and the hand-built units of the round-switch tests.
#![allow(dead_code)]

use cid::Cid;
use tau_dag::{Message, UnsignedUnit, VerifiedUnit};
use tau_ipld::Blockstore;
use tau_keys::Keypair;
use tau_trustme::sim::{Partition, Sim, SimConfig};
use tau_trustme::{Genesis, Params, Replica, Result};

/// xorshift64 from `seed`: the tests' deterministic random numbers.
pub fn xorshift(seed: u64) -> impl FnMut() -> u64 {
    let mut x = seed | 1;
    move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    }
}

/// Six super nodes; nodes 3 and 4 (two of the five attestors) cut off from
/// the others from 3 s to 25 s.
pub fn partitioned_config() -> SimConfig {
    let mut cfg = SimConfig::devnet(6, 100, 5);
    cfg.partition = Some(Partition {
        start_ms: 3_000,
        heal_ms: 25_000,
        side: vec![0, 1, 2, 5, 6],
    });
    cfg.max_time_ms = 45_000;
    cfg
}

/// `partitioned_config`'s network run to 24 s, just before the heal.
pub fn partitioned() -> Sim {
    let mut sim = Sim::new(partitioned_config()).unwrap();
    sim.run_until(24_000).unwrap();
    sim
}

/// `Replica::new`, `Replica::create` or `Replica::open`.
pub type Make<BS> = fn(
    BS,
    tau_dag::Params,
    tau_mainchain::Params,
    Params,
    Genesis,
    VerifiedUnit,
) -> Result<Replica<BS>>;

/// A replica of `sim`'s network with node 0's parameters and genesis,
/// made by `make` on `store`, whose waiting pool holds 10,000 units (a
/// minority after a partition holds many units of rounds it does not know).
pub fn minority_replica<BS>(sim: &Sim, store: BS, make: Make<BS>) -> Replica<BS> {
    let r0 = sim.replica(0).rounds();
    let mut dag_params = tau_dag::Params::devnet();
    dag_params.max_orphans = 10_000;
    make(
        store,
        dag_params,
        tau_mainchain::Params::mainnet(),
        r0.params().clone(),
        r0.genesis().clone(),
        sim.genesis_unit().unwrap(),
    )
    .unwrap()
}

/// Gives `replica` node `i`'s units, in node `i`'s order.
pub fn feed<BS: Blockstore>(replica: &mut Replica<BS>, sim: &Sim, i: usize) {
    let dag = sim.replica(i).chain().dag();
    for n in 1..dag.len() as u32 {
        let id = dag.id(n).unwrap();
        let unit = dag.unit(&id).unwrap().unwrap();
        let unit = unit.verify(&tau_dag::Params::devnet()).unwrap();
        let _ = replica.receive(unit);
    }
}

/// The key of node `i` of the hand-built networks.
pub fn key(i: usize) -> Keypair {
    Keypair::from_bytes(&[i as u8 + 1; 32]).unwrap()
}

/// Six keys (`key(0..6)`) and a round-1 genesis as the simulator builds
/// it: key 0 the foundation, keys 1 to 4 the round's PoW attestors, each
/// with a deposit of `params.min_deposit`.
pub fn round1_devnet(params: &Params, pub_seed: [u8; 32]) -> (Vec<Keypair>, Genesis) {
    let keys: Vec<Keypair> = (0..6).map(key).collect();
    let genesis = Genesis {
        foundation: vec![keys[0].address()],
        foundation_reward: keys[0].address(),
        initial_attestors: keys[1..5].iter().map(|k| k.address()).collect(),
        pub_seed,
        deposits: keys[1..5]
            .iter()
            .map(|k| (k.address(), params.min_deposit))
            .collect(),
        witness_phase: None,
    };
    (keys, genesis)
}

/// Tiny parameters with two PoW attestors.
pub fn two_pow_params() -> Params {
    let mut p = Params::tiny();
    p.pow_attestors = 2;
    p
}

/// A unit by node `author` on `parents` (sorted here), signed and checked.
pub fn unit(parents: &[Cid], author: usize, round: u64, stamp: u64, msg: Message) -> VerifiedUnit {
    let k = key(author);
    let mut parents = parents.to_vec();
    parents.sort_by_key(|c| c.to_bytes());
    UnsignedUnit {
        version: 1,
        round,
        timestamp: stamp,
        parents,
        authors: vec![k.address()],
        messages: vec![msg],
    }
    .sign(&[&k])
    .unwrap()
    .verify(&tau_dag::Params::devnet())
    .unwrap()
}

/// A round-1 devnet replica in memory: one foundation node and four super
/// nodes (five attestors, `takeover_ms` 1000), as the simulator builds it,
/// with a genesis unit carrying `data`; and the six keys.
pub fn round1_replica(data: &[u8]) -> (Vec<Keypair>, Replica<tau_ipld::MemoryBlockstore>) {
    round1_replica_with([7; 32], vec![Message::Data(data.to_vec())])
}

/// [`round1_replica`] with the genesis `pub_seed` and the genesis unit's
/// `messages` (e.g. a payment funding a sixth node).
pub fn round1_replica_with(
    pub_seed: [u8; 32],
    messages: Vec<Message>,
) -> (Vec<Keypair>, Replica<tau_ipld::MemoryBlockstore>) {
    let params = Params::tiny();
    let (keys, genesis) = round1_devnet(&params, pub_seed);
    let dag_params = tau_dag::Params::devnet();
    let genesis_unit = UnsignedUnit {
        version: dag_params.version,
        round: 1,
        timestamp: 0,
        parents: vec![],
        authors: vec![keys[0].address()],
        messages,
    }
    .sign(&[&keys[0]])
    .unwrap()
    .verify(&dag_params)
    .unwrap();
    let replica = Replica::new(
        tau_ipld::MemoryBlockstore::new(),
        dag_params,
        tau_mainchain::Params::mainnet(),
        params,
        genesis,
        genesis_unit,
    )
    .unwrap();
    (keys, replica)
}
