//! Process B against hostile peers over 127.0.0.1: peers that speak the head
//! protocol and serve their chain over Graphsync, as real nodes do, but
//! answer for an attacker. Two honest nodes must keep their own chain, agree,
//! and never take the attacker's states as head or safety point. Each test
//! stops by itself.

mod common;

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use cid::Cid;
use futures::StreamExt;
use tau_graphsync::net::{Config, Graphsync, TcpNode};
use tau_hamt::{Blockstore, MemoryBlockstore};
use tau_node::protocol::{self, HeadAnswer, HEAD_PROTOCOL};
use tau_node::NodeHandle;
use tau_state::Chain;

use common::{bounded, common_safety, wait_for, Net};

/// A peer with identity `key` whose head protocol answers `answer` to
/// everyone and whose Graphsync serves `store`.
async fn liar(
    key: libp2p::identity::Keypair,
    answer: &HeadAnswer,
    store: Arc<MemoryBlockstore>,
) -> (TcpNode, Graphsync) {
    let listen = "/ip4/127.0.0.1/tcp/0".parse().unwrap();
    let node = TcpNode::spawn_with(key, listen).await.unwrap();
    let graphsync = node.start_graphsync(store, Config::default()).unwrap();
    let mut incoming = node.control().accept(HEAD_PROTOCOL).unwrap();
    let answer = protocol::encode(answer).unwrap();
    tokio::spawn(async move {
        while let Some((_, mut stream)) = incoming.next().await {
            let answer = answer.clone();
            tokio::spawn(async move {
                let _ = protocol::read_frame(&mut stream).await;
                let _ = protocol::write_frame(&mut stream, &answer).await;
            });
        }
    });
    (node, graphsync)
}

/// The attacker's chain store, holding the network's genesis.
fn attacker_chain(net: &Net) -> (Arc<MemoryBlockstore>, Chain<Arc<MemoryBlockstore>>) {
    let store = Arc::new(MemoryBlockstore::new());
    store.put_many_keyed(&net.genesis.blocks).unwrap();
    let chain = Chain::new(store.clone(), net.chain.clone()).unwrap();
    (store, chain)
}

/// Connects every liar to every honest node.
async fn connect_all(liars: &[(TcpNode, Graphsync)], nodes: &[NodeHandle]) {
    for (liar, _) in liars {
        for node in nodes {
            liar.connect(node.peer_id(), node.listen_addrs()[0].clone())
                .await
                .unwrap();
        }
    }
}

/// Watches the honest nodes for `duration`: none may take a state of
/// `attacker` as head or safety point.
async fn watch(nodes: &[NodeHandle], attacker: &HashSet<Cid>, duration: Duration) {
    let deadline = tokio::time::Instant::now() + duration;
    while tokio::time::Instant::now() < deadline {
        for n in nodes {
            assert!(
                !attacker.contains(&n.head().root),
                "took the attacker's head"
            );
            if let Some(s) = n.safety() {
                assert!(
                    !attacker.contains(&s.root),
                    "took the attacker's safety point"
                );
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_heavier_chain_dated_ahead_of_the_clock_is_not_followed() {
    bounded(Duration::from_secs(90), async {
        // Key 2 is funded in the genesis but runs no node: the attacker.
        let net = Net::new(3, 140);
        let (store, chain) = attacker_chain(&net);
        let key = &net.keys[2];
        // As fast as the CPU allows, each block dated at its eligibility:
        // 60 blocks run far ahead of the clock (devnet max_drift is 60 s).
        let mut head = net.genesis.root;
        let mut minted = HashSet::new();
        for _ in 0..60 {
            let when = chain.eligibility(&head, &key.address()).unwrap().earliest;
            head = chain
                .produce_next_state(&head, key, &[], when)
                .unwrap()
                .root;
            minted.insert(head);
        }
        let newest = chain.block(&head).unwrap().timestamp();
        assert!(newest > tau_node::unix_now() + net.chain.max_drift);

        let nodes = net.start(2).await;
        let answer = HeadAnswer {
            head,
            number: 60,
            safety: Some(head),
            mining: true,
            seen: Vec::new(),
            peers: Vec::new(),
        };
        let liars = vec![
            liar(
                libp2p::identity::Keypair::generate_ed25519(),
                &answer,
                store,
            )
            .await,
        ];
        connect_all(&liars, &nodes).await;

        watch(&nodes, &minted, Duration::from_secs(12)).await;
        wait_for(Duration::from_secs(30), "a common safety point", || {
            common_safety(&nodes, 2)
        })
        .await;
        watch(&nodes, &minted, Duration::from_secs(1)).await;
        // Refused for its clock, not marked: clocks may disagree.
        for n in &nodes {
            assert!(!n.marked_peers().contains(&liars[0].0.peer_id()));
        }
        for n in nodes {
            n.shutdown().await.unwrap();
        }
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_sybil_ids_behind_one_private_fork_do_not_decide() {
    bounded(Duration::from_secs(90), async {
        let net = Net::new(3, 150);
        let nodes = net.start(2).await;
        // The attacker mines a private fork from genesis in real time (its
        // blocks are valid and dated within the clock).
        let (store, chain) = attacker_chain(&net);
        let key = &net.keys[2];
        let mut head = net.genesis.root;
        let mut fork = Vec::new();
        while fork.len() < 8 {
            let when = chain.eligibility(&head, &key.address()).unwrap().earliest;
            let now = tau_node::unix_now();
            if now < when {
                tokio::time::sleep(Duration::from_millis(200)).await;
                continue;
            }
            head = chain.produce_next_state(&head, key, &[], now).unwrap().root;
            fork.push(head);
        }
        let minted: HashSet<Cid> = fork.iter().copied().collect();
        // Ten peer ids with keys of no coin, and the attacker itself, all
        // answer the fork and report a deep state of it as safe.
        let answer = HeadAnswer {
            head,
            number: fork.len() as u64,
            safety: Some(fork[2]),
            mining: true,
            seen: Vec::new(),
            peers: Vec::new(),
        };
        let mut liars = Vec::new();
        for _ in 0..10 {
            let sybil = libp2p::identity::Keypair::generate_secp256k1();
            liars.push(liar(sybil, &answer, store.clone()).await);
        }
        let attacker = libp2p::identity::secp256k1::SecretKey::try_from_bytes(key.to_bytes())
            .map(|s| libp2p::identity::Keypair::from(libp2p::identity::secp256k1::Keypair::from(s)))
            .unwrap();
        liars.push(liar(attacker, &answer, store.clone()).await);
        connect_all(&liars, &nodes).await;

        watch(&nodes, &minted, Duration::from_secs(12)).await;
        let before = nodes[0].safety().map_or(0, |s| s.number);
        wait_for(
            Duration::from_secs(40),
            "the honest safety point to advance",
            || common_safety(&nodes, before + 1),
        )
        .await;
        watch(&nodes, &minted, Duration::from_secs(1)).await;
        for n in nodes {
            n.shutdown().await.unwrap();
        }
    })
    .await;
}
