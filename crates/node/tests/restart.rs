//! A node shut down and restarted from its data directory keeps its head and
//! safety point and catches up with the others. Stops by itself.

mod common;

use std::time::Duration;

use common::{bounded, common_safety, wait_for, Net};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restarted_node_resumes_from_its_data_dir_and_catches_up() {
    bounded(Duration::from_secs(90), async {
        let dir = tempfile::tempdir().unwrap();
        let net = Net::new(3, 40);
        let mut nodes = net.start(2).await;
        let bootstrap = nodes[0].dial_addr().unwrap();
        let third = net
            .builder(2)
            .data_dir(dir.path().join("node-2"))
            .bootstrap(bootstrap.clone())
            .start()
            .await
            .unwrap();
        let peer_id = third.peer_id();
        nodes.push(third);
        wait_for(Duration::from_secs(30), "a first safety point", || {
            common_safety(&nodes, 1)
        })
        .await;

        let stopped = nodes.pop().unwrap();
        let head_before = stopped.head();
        let safety_before = stopped.safety().unwrap();
        stopped.shutdown().await.unwrap();
        wait_for(Duration::from_secs(30), "the others to move on", || {
            nodes
                .iter()
                .all(|n| n.head().number >= head_before.number + 3)
        })
        .await;

        // Restart from the data directory (no bootstrap: the peers were persisted).
        let restarted = net
            .builder(2)
            .data_dir(dir.path().join("node-2"))
            .start()
            .await
            .unwrap();
        assert_eq!(restarted.peer_id(), peer_id, "the peer id survives");
        assert_eq!(restarted.head(), head_before, "the head survives");
        assert_eq!(
            restarted.safety(),
            Some(safety_before),
            "the safety point survives"
        );
        nodes.push(restarted);
        for n in &nodes {
            n.set_mining(false);
        }
        wait_for(
            Duration::from_secs(30),
            "the restarted node to catch up",
            || {
                let first = nodes[0].head();
                nodes.iter().all(|n| n.head() == first)
                    && common_safety(&nodes, safety_before.number + 1)
            },
        )
        .await;
        for n in nodes {
            n.shutdown().await.unwrap();
        }
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_foreign_genesis_in_the_data_dir_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let a = Net::new(1, 50);
    let node = a.builder(0).data_dir(dir.path()).start().await.unwrap();
    node.shutdown().await.unwrap();
    let b = Net::new(1, 60);
    let err = b.builder(0).data_dir(dir.path()).start().await.unwrap_err();
    assert!(
        matches!(err, tau_node::Error::GenesisMismatch { .. }),
        "{err}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_port_in_use_is_a_clear_error() {
    let net = Net::new(1, 70);
    let first = net.builder(0).start().await.unwrap();
    let taken = first.listen_addrs()[0].clone();
    let err = net.builder(0).listen(taken).start().await.unwrap_err();
    assert!(matches!(err, tau_node::Error::Listen { .. }), "{err}");
    first.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pending_transaction_survives_a_restart_and_is_mined() {
    bounded(Duration::from_secs(90), async {
        let dir = tempfile::tempdir().unwrap();
        let net = Net::new(2, 120);
        let first = net.builder(0).start().await.unwrap();
        first.set_mining(false);
        let second = net
            .builder(1)
            .data_dir(dir.path())
            .bootstrap(first.dial_addr().unwrap())
            .start()
            .await
            .unwrap();
        second.set_mining(false);
        wait_for(
            Duration::from_secs(10),
            "the nodes to know each other",
            || second.peers().contains(&first.peer_id()),
        )
        .await;
        let ticket = second.send(net.keys[0].address(), 777, 3).await.unwrap();
        assert_eq!(second.included(ticket), Some(None));
        let started = std::time::Instant::now();
        second.shutdown().await.unwrap();

        let second = net.builder(1).data_dir(dir.path()).start().await.unwrap();
        println!("restart took {:?}", started.elapsed());
        assert_eq!(second.pending_transactions(), 1, "still pending");
        assert_eq!(second.included(ticket), Some(None));
        // The next ticket does not reuse the pending one's.
        let next = second.send(net.keys[0].address(), 1, 1).await.unwrap();
        assert!(next > ticket);

        first.set_mining(true);
        let nodes = [first, second];
        wait_for(Duration::from_secs(60), "both transactions safe", || {
            nodes[1].pending_transactions() == 0 && common_safety(&nodes, 1)
        })
        .await;
        let safety = nodes[0].safety().unwrap();
        let received = nodes[0]
            .chain()
            .balance(&safety.root, &net.keys[0].address())
            .unwrap()
            .unwrap();
        assert!(
            received >= common::FUNDS + 778,
            "receiver balance {received}"
        );
        for n in nodes {
            n.shutdown().await.unwrap();
        }
    })
    .await;
}
