//! A node offline for longer than the mutable range catches up when it comes
//! back: the peers' views no longer reach its safety point, so it follows
//! their chain back to that point, validating every state, and adopts it.
//! Stops by itself.

mod common;

use std::time::Duration;

use common::{bounded, common_safety, wait_for, Net};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_offline_past_the_mutable_range_catches_up() {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_test_writer()
        .try_init();
    bounded(Duration::from_secs(120), async {
        let dir = tempfile::tempdir().unwrap();
        let mut net = Net::new(3, 110);
        net.cbc.mutable_range = 6;
        let range = net.cbc.mutable_range;
        let mut nodes = net.start(2).await;
        let third = net
            .builder(2)
            .data_dir(dir.path())
            .bootstrap(nodes[0].dial_addr().unwrap())
            .start()
            .await
            .unwrap();
        nodes.push(third);
        wait_for(Duration::from_secs(30), "a first safety point", || {
            common_safety(&nodes, 1)
        })
        .await;

        let stopped = nodes.pop().unwrap();
        let head_before = stopped.head();
        let safety_before = stopped.safety().unwrap();
        stopped.shutdown().await.unwrap();
        // Past the mutable range: no peer's view reaches the old safety point.
        wait_for(
            Duration::from_secs(60),
            "the others to move past the mutable range",
            || {
                nodes
                    .iter()
                    .all(|n| n.head().number > head_before.number + range + 2)
            },
        )
        .await;
        let started = std::time::Instant::now();
        let restarted = net.builder(2).data_dir(dir.path()).start().await.unwrap();
        assert_eq!(restarted.head(), head_before);
        assert_eq!(restarted.safety(), Some(safety_before));
        nodes.push(restarted);
        for n in &nodes {
            n.set_mining(false);
        }
        wait_for(
            Duration::from_secs(40),
            "the restarted node to catch up",
            || {
                let first = nodes[0].head();
                nodes.iter().all(|n| n.head() == first)
                    && common_safety(&nodes, safety_before.number + range)
            },
        )
        .await;
        println!(
            "caught up {} blocks in {:?}",
            nodes[0].head().number - head_before.number,
            started.elapsed()
        );
        for n in nodes {
            n.shutdown().await.unwrap();
        }
    })
    .await;
}
