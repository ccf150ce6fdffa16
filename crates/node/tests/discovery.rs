//! Kademlia random walks and circuit relay v2 on 127.0.0.1: a node finds a
//! peer it was never told of, a node behind NAT is reached through a relay
//! (Graphsync over the circuit), a relay found by a walk survives a
//! restart, and a reservation lost with its relay moves to another relay.
//! All stop by themselves.

mod common;

use std::time::Duration;

use common::{bounded, wait_for, Net};
use tau_node::{Mode, NodeBuilder, Timing};

fn logs() {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_test_writer()
        .try_init();
}

fn fast_walks(builder: NodeBuilder) -> NodeBuilder {
    let mut timing = Timing::default();
    timing.walk_interval = Duration::from_millis(300);
    builder.timing(timing)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_random_walk_finds_a_peer_only_the_bootstrap_peer_knows() {
    logs();
    bounded(Duration::from_secs(60), async {
        let net = Net::new(3, 80);
        let a = fast_walks(net.builder(0)).start().await.unwrap();
        let b = fast_walks(net.builder(1))
            .bootstrap(a.dial_addr().unwrap())
            .start()
            .await
            .unwrap();
        wait_for(Duration::from_secs(10), "B to know A", || {
            b.peers().contains(&a.peer_id())
        })
        .await;
        let c = fast_walks(net.builder(2))
            .bootstrap(b.dial_addr().unwrap())
            .start()
            .await
            .unwrap();
        wait_for(Duration::from_secs(30), "C's walk to find A", || {
            c.discovered_peers().contains(&a.peer_id())
        })
        .await;
        assert!(c.peers().contains(&a.peer_id()), "A is in C's peer set");
        for n in [a, b, c] {
            n.shutdown().await.unwrap();
        }
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_behind_nat_is_reached_through_a_relay() {
    logs();
    bounded(Duration::from_secs(60), async {
        let net = Net::new(3, 90);
        let relay = net
            .builder(1)
            .relay_server(true)
            .mode(Mode::Light)
            .start()
            .await
            .unwrap();
        let hidden = net
            .builder(2)
            .behind_nat(true)
            .relay(relay.dial_addr().unwrap())
            .start()
            .await
            .unwrap();
        wait_for(
            Duration::from_secs(20),
            "a reservation on the relay",
            || {
                hidden.relay_reservations().contains(&relay.peer_id())
                    && hidden.dial_addr().is_some()
            },
        )
        .await;
        let circuit = hidden.dial_addr().unwrap();
        assert!(
            circuit.to_string().contains("/p2p-circuit/"),
            "C listens only through the relay: {circuit}"
        );
        assert_eq!(
            hidden.listen_addrs().len(),
            1,
            "{:?}",
            hidden.listen_addrs()
        );

        // A state of C's, fetched over Graphsync through the circuit: an
        // attachment stored only on C.
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("state.bin");
        let content: Vec<u8> = (0..50_000u32).map(|i| (i % 241) as u8).collect();
        std::fs::write(&file, &content).unwrap();
        let uploaded = hidden.attach_put(&file).await.unwrap();

        let a = net.builder(0).bootstrap(circuit).start().await.unwrap();
        wait_for(Duration::from_secs(20), "A to connect to C", || {
            a.peers().contains(&hidden.peer_id())
        })
        .await;
        let report = a
            .attach_get(uploaded.root, &[hidden.peer_id()], 5)
            .await
            .unwrap();
        assert_eq!(report.sections_fetched, report.manifest.section_count);
        let out = dir.path().join("out");
        a.attach_export(uploaded.root, &out).await.unwrap();
        assert_eq!(std::fs::read(out.join("state.bin")).unwrap(), content);
        // And the chain C mines reaches A through the circuit too.
        wait_for(Duration::from_secs(30), "A to follow the chain", || {
            a.head().number >= 2 && hidden.head().number >= 2
        })
        .await;
        for n in [a, hidden, relay] {
            n.shutdown().await.unwrap();
        }
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_relay_found_by_a_walk_survives_a_restart() {
    logs();
    bounded(Duration::from_secs(60), async {
        let dir = tempfile::tempdir().unwrap();
        let net = Net::new(3, 100);
        let a = fast_walks(net.builder(0)).start().await.unwrap();
        let relay = fast_walks(net.builder(1))
            .relay_server(true)
            .bootstrap(a.dial_addr().unwrap())
            .start()
            .await
            .unwrap();
        wait_for(Duration::from_secs(10), "A to know the relay", || {
            a.peers().contains(&relay.peer_id())
        })
        .await;
        // C is behind NAT and told only of A: its walk finds the relay,
        // identify says it relays, and C reserves a slot on it.
        let hidden = fast_walks(net.builder(2))
            .data_dir(dir.path())
            .behind_nat(true)
            .bootstrap(a.dial_addr().unwrap())
            .start()
            .await
            .unwrap();
        wait_for(Duration::from_secs(30), "C to reserve on the relay", || {
            hidden.relay_reservations().contains(&relay.peer_id())
        })
        .await;
        assert!(hidden.discovered_peers().contains(&relay.peer_id()));
        assert_eq!(hidden.relays(), vec![relay.peer_id()]);
        hidden.shutdown().await.unwrap();

        // Restarted with no bootstrap and no relay given: both come from the store.
        let restarted = fast_walks(net.builder(2))
            .data_dir(dir.path())
            .behind_nat(true)
            .start()
            .await
            .unwrap();
        assert_eq!(restarted.relays(), vec![relay.peer_id()]);
        assert!(restarted.peers().contains(&a.peer_id()));
        wait_for(Duration::from_secs(20), "a new reservation", || {
            restarted.relay_reservations().contains(&relay.peer_id())
                && restarted.dial_addr().is_some()
        })
        .await;
        for n in [restarted, relay, a] {
            n.shutdown().await.unwrap();
        }
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_behind_nat_replaces_a_relay_that_went_away() {
    logs();
    bounded(Duration::from_secs(60), async {
        let net = Net::new(4, 110);
        let mut relays = Vec::new();
        for i in 0..3 {
            let relay = net
                .builder(i)
                .relay_server(true)
                .mode(Mode::Light)
                .start()
                .await
                .unwrap();
            relays.push(relay);
        }
        // C holds two reservations (both configured relays) and knows a
        // third relay through identify, with no slot left for it.
        let hidden = fast_walks(net.builder(3))
            .behind_nat(true)
            .relay(relays[0].dial_addr().unwrap())
            .relay(relays[1].dial_addr().unwrap())
            .bootstrap(relays[2].dial_addr().unwrap())
            .start()
            .await
            .unwrap();
        let ids: Vec<_> = relays.iter().map(|r| r.peer_id()).collect();
        wait_for(
            Duration::from_secs(20),
            "reservations on two relays",
            || {
                let held = hidden.relay_reservations();
                held.contains(&ids[0])
                    && held.contains(&ids[1])
                    && hidden.relays().contains(&ids[2])
            },
        )
        .await;
        assert!(!hidden.relay_reservations().contains(&ids[2]));

        // The first relay goes away: its circuit listener closes and the
        // freed slot goes to the third relay.
        let gone = relays.remove(0);
        gone.shutdown().await.unwrap();
        wait_for(
            Duration::from_secs(20),
            "a reservation on the third relay",
            || {
                let held = hidden.relay_reservations();
                held.contains(&ids[2]) && !held.contains(&ids[0])
            },
        )
        .await;
        wait_for(
            Duration::from_secs(10),
            "listening through the third relay",
            || {
                hidden
                    .listen_addrs()
                    .iter()
                    .any(|a| a.to_string().contains(&ids[2].to_string()))
            },
        )
        .await;
        for n in relays.into_iter().chain([hidden]) {
            n.shutdown().await.unwrap();
        }
    })
    .await;
}
