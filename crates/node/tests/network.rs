//! Four nodes on 127.0.0.1 (one without a warm head state): mining, a
//! transfer, a small attachment fetched over Graphsync, and a common safety
//! point. Stops by itself.

mod common;

use std::time::Duration;

use common::{bounded, common_safety, wait_for, Net, FUNDS};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn four_nodes_mine_transfer_share_and_agree() {
    bounded(Duration::from_secs(60), async {
        let net = Net::new(4, 10);
        // Node 3 keeps no warm head state: it reads every previous state from
        // its store, and must still agree with the others on every block.
        let nodes = net
            .start_with(4, |i, b| if i == 3 { b.warm_state_nodes(0) } else { b })
            .await;
        assert_eq!(nodes[3].chain().warm_state_nodes(), 0);
        assert_eq!(
            nodes[0].chain().warm_state_nodes(),
            tau_state::DEFAULT_WARM_STATE_NODES
        );
        wait_for(Duration::from_secs(20), "first blocks", || {
            nodes.iter().all(|n| n.head().number >= 2)
        })
        .await;

        // A transfer from node 1 to node 2.
        let ticket = nodes[1]
            .send(net.keys[2].address(), 12_345, 7)
            .await
            .unwrap();

        // A small attachment published on node 0, fetched by node 3.
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("note.bin");
        let content: Vec<u8> = (0..300_000u32).map(|i| (i % 251) as u8).collect();
        std::fs::write(&file, &content).unwrap();
        let uploaded = nodes[0].attach_put(&file).await.unwrap();
        nodes[0]
            .message(
                "a note",
                Some(tau_state::AttachmentRef {
                    root: uploaded.root,
                    size: uploaded.size,
                }),
                1,
            )
            .await
            .unwrap();
        let report = nodes[3]
            .attach_get(uploaded.root, &[nodes[0].peer_id()], 5)
            .await
            .unwrap();
        assert_eq!(report.sections_fetched, report.manifest.section_count);
        let out = dir.path().join("out");
        nodes[3].attach_export(uploaded.root, &out).await.unwrap();
        assert_eq!(std::fs::read(out.join("note.bin")).unwrap(), content);

        // Both transactions end up under the safety point.
        wait_for(Duration::from_secs(30), "transactions safe", || {
            nodes[1].pending_transactions() == 0 && nodes[0].pending_transactions() == 0
        })
        .await;
        assert_eq!(nodes[1].included(ticket), None);

        // Node 2 was given no peers: the chain names node 0 (it sent the
        // message attaching the root), and node 2 downloads from it.
        let seeders = nodes[2].attachment_seeders(uploaded.root).await.unwrap();
        assert!(seeders.contains(&nodes[0].peer_id()), "{seeders:?}");
        let from_chain = nodes[2]
            .attach_get_from_chain(uploaded.root, 5)
            .await
            .unwrap();
        assert_eq!(
            from_chain.sections_fetched,
            from_chain.manifest.section_count
        );
        let unknown = tau_ipld::block::cid_of(tau_ipld::block::RAW, b"nobody holds this");
        assert!(matches!(
            nodes[2].attach_get_from_chain(unknown, 1).await,
            Err(tau_node::Error::NoSeeders(_))
        ));
        for n in &nodes {
            n.set_mining(false);
        }
        wait_for(Duration::from_secs(20), "a common safety point", || {
            common_safety(&nodes, 1)
        })
        .await;
        let safety = nodes[0].safety().unwrap();
        let chain = nodes[0].chain();
        let b1 = chain
            .balance(&safety.root, &net.keys[1].address())
            .unwrap()
            .unwrap();
        let b2 = chain
            .balance(&safety.root, &net.keys[2].address())
            .unwrap()
            .unwrap();
        // Node 1 paid 12,345 + 7 but may have earned fees by mining; node 2 received 12,345.
        assert!(b2 >= FUNDS + 12_345, "receiver balance {b2}");
        assert!(b1 <= FUNDS - 12_345 - 7 + 8, "sender balance {b1}");
        assert!(nodes.iter().all(|n| n.marked_peers().is_empty()));
        for n in nodes {
            n.shutdown().await.unwrap();
        }
    })
    .await;
}
