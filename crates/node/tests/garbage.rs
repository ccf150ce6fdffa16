//! Peers that answer garbage, too much, or a forged head on `/tau/head/2.0.0` are
//! marked and disconnected; a peer that closes without answering is not;
//! the node keeps mining and agreeing with the honest peer. Stops by itself.

mod common;

use std::sync::Arc;
use std::time::Duration;

use tau_ipld::block::DAG_CBOR;
use tau_ipld::{Blockstore, MemoryBlockstore};
use tau_node::protocol::{self, HeadAnswer};

use common::{bounded, wait_for, Net};

/// A liar with a fresh identity.
async fn liar(
    answer: Vec<u8>,
    store: Arc<MemoryBlockstore>,
) -> (tau_graphsync::net::TcpNode, tau_graphsync::net::Graphsync) {
    common::liar(libp2p::identity::Keypair::generate_ed25519(), answer, store).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn garbage_and_forged_heads_mark_the_peer_and_the_node_keeps_running() {
    bounded(Duration::from_secs(60), async {
        let net = Net::new(2, 90);
        let nodes = net.start(2).await;

        // Liar 1: bytes that are not DAG-CBOR.
        let (garbage, _gs1) = liar(b"\xffthis is not a head".to_vec(), Arc::default()).await;
        // Liar 2: a well-formed answer whose head is a block that is no state.
        let store = Arc::new(MemoryBlockstore::new());
        let bogus = store
            .put(
                DAG_CBOR,
                &serde_ipld_dagcbor::to_vec(&vec![1u64, 2, 3]).unwrap(),
            )
            .unwrap();
        let forged = HeadAnswer {
            head: bogus,
            number: 1_000,
            safety: Some(bogus),
            mining: true,
            seen: Vec::new(),
            peers: Vec::new(),
        };
        let (forger, _gs2) = liar(protocol::encode(&forged).unwrap(), store).await;
        // Liar 3: an answer one byte past the size limit (the asker stops
        // reading there and blames the peer, not the network).
        let oversized = vec![0xa0; protocol::MAX_MESSAGE_SIZE + 1];
        let (flooder, _gs3) = liar(oversized, Arc::default()).await;
        // Not a liar: a peer that closes the stream without answering, as a
        // node without a safety point within its mutable range does.
        let (silent, _gs4) = liar(Vec::new(), Arc::default()).await;

        for liar in [&garbage, &forger, &flooder, &silent] {
            liar.connect(nodes[0].peer_id(), nodes[0].listen_addrs()[0].clone())
                .await
                .unwrap();
        }
        wait_for(Duration::from_secs(20), "every liar marked", || {
            let marked = nodes[0].marked_peers();
            [&garbage, &forger, &flooder]
                .iter()
                .all(|liar| marked.contains(&liar.peer_id()))
        })
        .await;
        // The node keeps mining with its honest peer and never adopts the forgery.
        let head = nodes[0].head().number;
        wait_for(Duration::from_secs(20), "more blocks", || {
            nodes[0].head().number >= head + 2 && nodes[0].safety().is_some()
        })
        .await;
        assert!(!nodes[0].marked_peers().contains(&nodes[1].peer_id()));
        assert!(
            !nodes[0].marked_peers().contains(&silent.peer_id()),
            "a peer with no answer is not a liar"
        );
        assert_ne!(nodes[0].safety().unwrap().root, bogus);
        for n in nodes {
            n.shutdown().await.unwrap();
        }
    })
    .await;
}
