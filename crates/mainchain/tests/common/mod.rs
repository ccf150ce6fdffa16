//! Shared fixtures: a small named DAG built unit by unit.
#![allow(dead_code)]

use std::collections::HashMap;

use cid::Cid;
use tau_dag::{
    Attestors, Dag, FixedAttestors, Input, Message, Payment, UnsignedUnit, VerifiedUnit,
};
use tau_ipld::MemoryBlockstore;
use tau_keys::{Address, Keypair};
use tau_mainchain::{MainChain, Params, Update};

/// Deterministic key number `i` (0 = A, 1 = B, …).
pub fn key(i: usize) -> Keypair {
    Keypair::from_bytes(&[i as u8 + 1; 32]).unwrap()
}

/// What a unit is.
#[derive(Clone, Debug)]
pub enum Kind {
    /// A TrustME unit by attestor key `i`.
    T(usize),
    /// A normal unit (data) by the normal author.
    N,
    /// A normal unit spending `input`.
    Spend(Input),
}

/// The normal (non-attestor) author.
pub const NORMAL: usize = 50;

/// Builds a unit.
pub fn make_unit(parents: Vec<Cid>, kind: &Kind, round: u64, stamp: u64) -> VerifiedUnit {
    let (author, message) = match kind {
        Kind::T(i) => (*i, Message::TrustMe(vec![])),
        Kind::N => (NORMAL, Message::Data(vec![])),
        Kind::Spend(input) => (
            NORMAL,
            Message::Payment(Payment {
                inputs: vec![*input],
                outputs: vec![],
            }),
        ),
    };
    let k = key(author);
    let mut parents = parents;
    parents.sort_unstable_by_key(|c| c.to_bytes());
    UnsignedUnit {
        version: 1,
        round,
        timestamp: stamp,
        parents,
        authors: vec![k.address()],
        messages: vec![message],
    }
    .sign(&[&k])
    .unwrap()
    .verify(&tau_dag::Params::devnet())
    .unwrap()
}

/// A named DAG with its main chain.
pub struct Net<A: Attestors = FixedAttestors> {
    pub chain: MainChain<MemoryBlockstore>,
    pub attestors: A,
    names: HashMap<String, u32>,
    ids: HashMap<String, Cid>,
    stamp: u64,
    pub round: u64,
    pub stable_events: Vec<u64>,
}

/// Attestors A, B, C, … (`n` of them) with majority `m`.
pub fn attestors(n: usize, m: usize) -> FixedAttestors {
    FixedAttestors::with_majority((0..n).map(|i| key(i).address()), m)
}

pub fn address(i: usize) -> Address {
    key(i).address()
}

impl Net<FixedAttestors> {
    /// n attestors, majority m, TR rules unless `params` says otherwise.
    pub fn new(n: usize, m: usize, params: Params) -> Self {
        Net::with_attestors(attestors(n, m), params, tau_dag::Params::devnet())
    }
}

impl<A: Attestors> Net<A> {
    pub fn with_attestors(attestors: A, params: Params, dag_params: tau_dag::Params) -> Self {
        let genesis = make_unit(vec![], &Kind::T(0), 1, 0);
        let gid = genesis.id();
        let dag = Dag::new(MemoryBlockstore::new(), dag_params, genesis).unwrap();
        let (chain, _) = MainChain::new(dag, params).unwrap();
        let mut names = HashMap::new();
        names.insert("G".to_string(), 0);
        let mut ids = HashMap::new();
        ids.insert("G".to_string(), gid);
        Self {
            chain,
            attestors,
            names,
            ids,
            stamp: 1,
            round: 1,
            stable_events: Vec::new(),
        }
    }

    /// The unit `name` would be, without inserting it.
    pub fn build(&mut self, parents: &[&str], kind: Kind) -> VerifiedUnit {
        let parents: Vec<Cid> = parents.iter().map(|p| self.ids[*p]).collect();
        self.stamp += 1;
        make_unit(parents, &kind, self.round, self.stamp)
    }

    /// Names an id without inserting the unit (it may arrive later).
    pub fn ids_insert(&mut self, name: &str, id: Cid) {
        self.ids.insert(name.to_string(), id);
    }

    /// Inserts a built unit under `name`.
    pub fn insert(&mut self, name: &str, unit: VerifiedUnit) -> tau_mainchain::Result<Update> {
        let id = unit.id();
        self.ids.insert(name.to_string(), id);
        let update = self.chain.insert(unit, &self.attestors)?;
        if let Some(n) = self.chain.dag().num(&id) {
            self.names.insert(name.to_string(), n);
        }
        for e in &update.stabilized {
            self.stable_events.push(e.mci);
        }
        Ok(update)
    }

    /// Builds and inserts.
    pub fn add(&mut self, name: &str, parents: &[&str], kind: Kind) -> Update {
        let unit = self.build(parents, kind);
        self.insert(name, unit).unwrap()
    }

    pub fn num(&self, name: &str) -> u32 {
        self.names[name]
    }

    pub fn id(&self, name: &str) -> Cid {
        self.ids[name]
    }

    pub fn name_of(&self, n: u32) -> String {
        self.names
            .iter()
            .find(|(_, &v)| v == n)
            .map(|(k, _)| k.clone())
            .unwrap_or_else(|| format!("#{n}"))
    }

    pub fn level(&self, name: &str) -> u32 {
        self.chain.dag().level(self.num(name)).unwrap()
    }

    pub fn wl(&self, name: &str) -> u32 {
        self.chain.dag().attestation_level(self.num(name)).unwrap()
    }

    pub fn bp(&self, name: &str) -> String {
        self.name_of(self.chain.dag().best_parent(self.num(name)).unwrap())
    }

    pub fn mci(&self, name: &str) -> Option<u64> {
        self.chain.mci(self.num(name))
    }

    pub fn mc_names(&self) -> Vec<String> {
        self.chain
            .main_chain()
            .iter()
            .map(|&n| self.name_of(n))
            .collect()
    }

    pub fn stable(&self) -> u64 {
        self.chain.last_stable_mci()
    }
}
