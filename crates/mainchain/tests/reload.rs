//! A main chain reloads from its store with the same main chain, MCIs and
//! stable point.

mod common;

use common::{Kind, Net};
use tau_ipld::{Blockstore, MemoryBlockstore};
use tau_mainchain::{MainChain, Params};

#[test]
fn reload_keeps_main_chain_and_stable_point() {
    let mut net = Net::new(3, 2, Params::mainnet());
    net.add("N1", &["G"], Kind::N);
    let mut prev = "G".to_string();
    for i in 0..8 {
        let name = format!("T{i}");
        net.add(&name, &[&prev], Kind::T(i % 3));
        prev = name;
    }
    net.add("N2", &["N1", &prev], Kind::N);
    let root = net.chain.checkpoint().unwrap();
    let stable = net.stable();
    assert!(stable >= 3);

    // Copy every block to a fresh store (as after a restart).
    let store = MemoryBlockstore::new();
    let dag = net.chain.dag();
    for n in 0..dag.len() as u32 {
        let id = dag.id(n).unwrap();
        store
            .put_keyed(&id, &dag.store().get(&id).unwrap().unwrap())
            .unwrap();
    }
    let mut extra = vec![root];
    let record: tau_mainchain::MainChainRoot =
        serde_ipld_dagcbor::from_slice(&dag.store().get(&root).unwrap().unwrap()).unwrap();
    extra.push(record.dag);
    for id in extra {
        store
            .put_keyed(&id, &dag.store().get(&id).unwrap().unwrap())
            .unwrap();
    }
    let (again, events) = MainChain::open(
        store,
        tau_dag::Params::devnet(),
        Params::mainnet(),
        &root,
        &net.attestors,
    )
    .unwrap();
    assert!(events.is_empty());
    assert_eq!(again.last_stable_mci(), stable);
    let ids = |c: &MainChain<MemoryBlockstore>| -> Vec<_> {
        c.main_chain()
            .iter()
            .map(|&n| c.dag().id(n).unwrap())
            .collect()
    };
    assert_eq!(ids(&again), ids(&net.chain));
    let n1 = net.id("N1");
    assert_eq!(
        again.mci(again.dag().num(&n1).unwrap()),
        net.chain.mci(net.num("N1"))
    );
    assert_eq!(again.stable_order().len(), net.chain.stable_order().len());
}
