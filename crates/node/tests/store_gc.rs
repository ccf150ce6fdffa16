//! Garbage collection of a node's store on 127.0.0.1: a dropped attachment
//! (uploaded or downloaded) leaves the store, which returns to its size
//! before the attachment (slack: none, the chain is quiet); states older
//! than the mutable range below the head leave it while the mutable range,
//! the head's state and genesis stay, and the node mines on and restarts
//! from what is left. Stops by itself.

mod common;

use std::collections::BTreeMap;
use std::time::Duration;

use common::{bounded, noise, wait_for, Net};
use tau_ipld::Blockstore;
use tau_node::{Mode, NodeEvent, Timing};

/// Collections only when the test asks.
fn manual_gc() -> Timing {
    let mut timing = Timing::default();
    timing.gc_interval = Duration::ZERO;
    timing
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dropped_attachments_leave_the_store() {
    bounded(Duration::from_secs(120), async {
        let dir = tempfile::tempdir().unwrap();
        let net = Net::new(2, 90);
        let attach = tau_attach::Config::builder()
            .section_size(64 * 1024)
            .build()
            .unwrap();
        // The host does not mine: the chain stays at genesis, so the store
        // size before and after is comparable exactly.
        let host = net.builder(0).attach_config(attach).start().await.unwrap();
        host.set_mining(false);
        let node_builder = || {
            net.builder(1)
                .mode(Mode::Light)
                .data_dir(dir.path().join("node"))
                .attach_config(attach)
                .timing(manual_gc())
                .bootstrap(host.dial_addr().unwrap())
        };
        let node = node_builder().start().await.unwrap();
        let first = node.collect_garbage().await.unwrap().unwrap();
        assert!(first.marked > 0, "{first:?}");
        let before = node.stored_blocks().unwrap().unwrap();

        // One attachment uploaded, one downloaded: both pinned, both kept.
        let own_file = dir.path().join("own.bin");
        std::fs::write(&own_file, noise(1, 400_000)).unwrap();
        let own = node.attach_put(&own_file).await.unwrap();
        let their_file = dir.path().join("theirs.bin");
        std::fs::write(&their_file, noise(2, 300_000)).unwrap();
        let theirs = host.attach_put(&their_file).await.unwrap();
        wait_for(Duration::from_secs(30), "a peer", || {
            !node.peers().is_empty()
        })
        .await;
        node.attach_get(theirs.root, &[host.peer_id()], 3)
            .await
            .unwrap();
        let mut pinned = node.pinned().unwrap();
        pinned.sort();
        let mut expected = vec![own.root, theirs.root];
        expected.sort();
        assert_eq!(pinned, expected);
        let with_both = node.stored_blocks().unwrap().unwrap();
        assert!(with_both.0 > before.0 + 10, "{before:?} {with_both:?}");
        assert!(with_both.1 > before.1 + 700_000, "{before:?} {with_both:?}");
        let kept = node.collect_garbage().await.unwrap().unwrap();
        assert_eq!(kept.deleted, 0, "{kept:?}");
        assert_eq!(node.stored_blocks().unwrap().unwrap(), with_both);
        for (root, file) in [(own.root, &own_file), (theirs.root, &their_file)] {
            let out = tempfile::tempdir().unwrap();
            node.attach_export(root, out.path()).await.unwrap();
            let name = file.file_name().unwrap();
            assert_eq!(
                std::fs::read(out.path().join(name)).unwrap(),
                std::fs::read(file).unwrap()
            );
        }

        // Dropped: the next collection deletes them, back to the size before.
        assert!(node.drop_attachment(own.root).unwrap());
        assert!(!node.drop_attachment(own.root).unwrap());
        let half = node.collect_garbage().await.unwrap().unwrap();
        assert!(half.deleted > 0, "{half:?}");
        assert!(node.chain().store().has(&theirs.root).unwrap());
        assert!(!node.chain().store().has(&own.root).unwrap());
        assert!(node.drop_attachment(theirs.root).unwrap());
        let rest = node.collect_garbage().await.unwrap().unwrap();
        assert_eq!(
            half.deleted + rest.deleted,
            with_both.0 - before.0,
            "{half:?} {rest:?}"
        );
        assert_eq!(node.stored_blocks().unwrap().unwrap(), before);
        println!(
            "blocks, bytes: before {before:?}, with both attachments {with_both:?}, \
             after dropping them and collecting {before:?}"
        );
        assert!(node.attach_export(theirs.root, dir.path()).await.is_err());

        // A restart finds the same store and chain.
        let head = node.head();
        node.shutdown().await.unwrap();
        let node = node_builder().start().await.unwrap();
        assert_eq!(node.head(), head);
        assert!(node.pinned().unwrap().is_empty());
        assert_eq!(node.stored_blocks().unwrap().unwrap(), before);
        node.shutdown().await.unwrap();
        host.shutdown().await.unwrap();
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn states_below_the_mutable_range_leave_the_store() {
    bounded(Duration::from_secs(180), async {
        let dir = tempfile::tempdir().unwrap();
        let mut net = Net::new(1, 95);
        net.cbc.mutable_range = 4;
        let builder = || {
            net.builder(0)
                .data_dir(dir.path().join("miner"))
                .timing(manual_gc())
        };
        let node = builder().start().await.unwrap();
        let genesis = node.head().root;
        let mut events = node.events();
        let mut mined = BTreeMap::new();
        while node.head().number < 14 {
            if let Ok(NodeEvent::Mined { head, .. }) = events.recv().await {
                mined.insert(head.number, head.root);
            }
        }
        node.set_mining(false);
        // A block being produced when mining stopped may still land.
        tokio::time::sleep(Duration::from_secs(1)).await;
        while let Ok(event) = events.try_recv() {
            if let NodeEvent::Mined { head, .. } = event {
                mined.insert(head.number, head.root);
            }
        }
        let head = node.head();
        assert_eq!(mined.get(&head.number), Some(&head.root));
        let low = node
            .safety()
            .map_or(head.number, |s| s.number.min(head.number));
        let floor = low.saturating_sub(4);
        assert!(floor > 2, "head {head:?}");

        let before = node.stored_blocks().unwrap().unwrap();
        let report = node.collect_garbage().await.unwrap().unwrap();
        assert!(report.deleted > 0, "{report:?}");
        let after = node.stored_blocks().unwrap().unwrap();
        assert_eq!(after.0, before.0 - report.deleted);
        println!(
            "head {}, floor {floor}: blocks, bytes {before:?} -> {after:?}; {report:?}",
            head.number
        );

        let chain = node.chain();
        let store = chain.store();
        assert!(store.has(&genesis).unwrap());
        for (number, root) in &mined {
            if *number < floor {
                assert!(
                    !store.has(root).unwrap(),
                    "state {number} below {floor} kept"
                );
            } else {
                assert!(store.has(root).unwrap(), "state {number} from {floor} lost");
                // Its block, transactions and whole state are readable.
                let block = chain.block(root).unwrap();
                chain.transactions(&block).unwrap();
            }
        }
        let me = net.keys[0].address();
        let balance = node.balance(&me).unwrap();
        assert!(!chain
            .state(&head.root)
            .unwrap()
            .balances()
            .unwrap()
            .is_empty());
        // The store stays open while anyone holds it: let go before the restart.
        drop(chain);
        // A second collection right after finds nothing more.
        assert_eq!(node.collect_garbage().await.unwrap().unwrap().deleted, 0);

        // The node mines on over what is left, and restarts from it.
        node.set_mining(true);
        wait_for(Duration::from_secs(60), "two more blocks", || {
            node.head().number >= head.number + 2
        })
        .await;
        let head = node.head();
        node.shutdown().await.unwrap();
        let node = builder().start().await.unwrap();
        assert!(node.head().number >= head.number);
        assert!(node.balance(&me).unwrap() >= balance);
        node.shutdown().await.unwrap();
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_node_collects_by_itself_while_it_mines() {
    bounded(Duration::from_secs(180), async {
        let dir = tempfile::tempdir().unwrap();
        let mut net = Net::new(1, 97);
        net.cbc.mutable_range = 4;
        let mut timing = Timing::default();
        timing.gc_interval = Duration::from_millis(500);
        let node = net
            .builder(0)
            .data_dir(dir.path().join("miner"))
            .timing(timing)
            .start()
            .await
            .unwrap();
        let mut events = node.events();
        let first = loop {
            if let Ok(NodeEvent::Mined { head, .. }) = events.recv().await {
                break head;
            }
        };
        assert_eq!(first.number, 1);
        // Collections every half second while blocks come: the first mined
        // state leaves once the chain has moved on past the mutable range.
        let chain = node.chain();
        wait_for(Duration::from_secs(150), "state 1 collected", || {
            !chain.store().has(&first.root).unwrap()
        })
        .await;
        let head = node.head();
        assert!(head.number > 5, "{head:?}");
        // The head's state is whole: the node mines on it.
        wait_for(Duration::from_secs(60), "two more blocks", || {
            node.head().number >= head.number + 2
        })
        .await;
        let block = chain.block(&node.head().root).unwrap();
        chain.transactions(&block).unwrap();
        drop(chain);
        node.shutdown().await.unwrap();
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_miners_collecting_all_the_time_still_agree() {
    bounded(Duration::from_secs(180), async {
        let dir = tempfile::tempdir().unwrap();
        let mut net = Net::new(2, 99);
        net.cbc.mutable_range = 6;
        let mut timing = Timing::default();
        timing.gc_interval = Duration::from_millis(300);
        let nodes = net
            .start_with(2, |i, b| {
                b.data_dir(dir.path().join(format!("node{i}")))
                    .timing(timing.clone())
            })
            .await;
        let mut events = nodes[1].events();
        let first = loop {
            if let Ok(NodeEvent::Mined { head, .. }) | Ok(NodeEvent::HeadChanged { head, .. }) =
                events.recv().await
            {
                if head.number == 1 {
                    break head;
                }
            }
        };
        // Views, catch-ups and mining all run between collections: the
        // nodes keep agreeing, mark nobody, and their old states leave.
        wait_for(
            Duration::from_secs(150),
            "a common head past 12, state 1 collected",
            || {
                let head = nodes[0].head();
                head.number >= 12
                    && nodes[1].head() == head
                    && nodes
                        .iter()
                        .all(|n| !n.chain().store().has(&first.root).unwrap())
            },
        )
        .await;
        for node in &nodes {
            assert!(node.marked_peers().is_empty());
        }
        for node in nodes {
            node.shutdown().await.unwrap();
        }
    })
    .await;
}
