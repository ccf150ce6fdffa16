//! Proof of service on 127.0.0.1: a host serves an attachment to a visitor
//! whose TAU address it reads from the peer id, records the bytes, writes
//! them into its next block's attachment log (validated by re-execution),
//! refuses the visitor past its free quota with a typed error naming it,
//! and rebuilds the usage from its state after a restart. Stops by itself.

mod common;

use std::time::Duration;

use common::{bounded, noise, wait_for, Net};
use tau_ipld::Blockstore;
use tau_node::{peer_address, Error, Mode};

const SECTION: u64 = 64 * 1024;

/// Bytes of the section map of `manifest` (every node).
fn map_len(
    store: &impl Blockstore,
    manifest: &tau_attach::Manifest,
    attach: &tau_attach::Config,
) -> u64 {
    let mut total = 0;
    let mut stack = vec![(manifest.sections, true)];
    while let Some((cid, root)) = stack.pop() {
        let bytes = store.get(&cid).unwrap().unwrap();
        total += bytes.len() as u64;
        let node =
            tau_attach::decode_map_node(&bytes, attach, manifest.section_count, root).unwrap();
        stack.extend(node.children.iter().map(|c| (*c, false)));
    }
    total
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn served_downloads_are_logged_in_state_and_quota_is_enforced() {
    bounded(Duration::from_secs(120), async {
        let dir = tempfile::tempdir().unwrap();
        let net = Net::new(2, 70);
        let attach = tau_attach::Config::builder()
            .section_size(SECTION)
            .build()
            .unwrap();
        let quota = 300_000;
        let host_builder = || {
            net.builder(0)
                .data_dir(dir.path().join("host"))
                .attach_config(attach)
                .free_quota(quota)
        };
        let host = host_builder().start().await.unwrap();
        let visitor = net
            .builder(1)
            .mode(Mode::Light)
            .attach_config(attach)
            .bootstrap(host.dial_addr().unwrap())
            .start()
            .await
            .unwrap();
        let me = net.keys[1].address();
        assert_eq!(peer_address(&visitor.peer_id()), Some(me));

        // Attachment A (200 KB) fits the quota.
        let a_file = dir.path().join("a.bin");
        std::fs::write(&a_file, noise(1, 200_000)).unwrap();
        let a = host.attach_put(&a_file).await.unwrap();
        let report = visitor
            .attach_get(a.root, &[host.peer_id()], 3)
            .await
            .unwrap();
        assert_eq!(report.sections_fetched, report.manifest.section_count);
        // Charged: every section (raw), the manifest block and the nodes of
        // the section map.
        let store = host.chain().store().clone();
        let manifest_len = store.get(&a.root).unwrap().unwrap().len() as u64;
        let served_a = a.size + manifest_len + map_len(&store, &a.manifest, &attach);
        drop(store);
        assert_eq!(host.served_to(&me), served_a);
        let pending: u64 = host
            .pending_service()
            .iter()
            .filter(|r| r.visitor == me && r.root == a.root)
            .map(|r| r.bytes)
            .sum();
        assert_eq!(pending, served_a);

        // Attachment B (600 KB) goes over: refused with the reason.
        let b_file = dir.path().join("b.bin");
        std::fs::write(&b_file, noise(2, 600_000)).unwrap();
        let b = host.attach_put(&b_file).await.unwrap();
        let refused = visitor
            .attach_get(b.root, &[host.peer_id()], 2)
            .await
            .unwrap_err();
        assert!(refused.is_quota_exceeded(), "{refused}");
        match &refused {
            Error::Refused { peer, reason } => {
                assert_eq!(*peer, host.peer_id().to_string());
                assert!(reason.contains(&me.to_string()), "{reason}");
            }
            other => panic!("expected a refusal, got {other}"),
        }
        let used = host.served_to(&me);
        assert!(used >= quota, "used {used}");
        // Admitted requests in flight may end over the quota, by a few sections.
        assert!(used < quota + 8 * SECTION, "used {used}");

        // The host writes the records into its next blocks.
        wait_for(Duration::from_secs(60), "the log in a block", || {
            host.pending_service().is_empty()
        })
        .await;
        let chain = host.chain();
        let head = host.head();
        let host_addr = net.keys[0].address();
        let logged = chain.attachments_logs(&head.root, &host_addr).unwrap();
        assert!(logged.iter().all(|r| r.visitor == me));
        let logged_a: u64 = logged
            .iter()
            .filter(|r| r.root == a.root)
            .map(|r| r.bytes)
            .sum();
        assert_eq!(logged_a, served_a);
        assert_eq!(logged.iter().map(|r| r.bytes).sum::<u64>(), used);
        // Every block carrying a log validates by re-execution.
        let history = chain.history(&head.root, usize::MAX).unwrap();
        let mut with_log = 0;
        for pair in history.windows(2) {
            let [(root, block), (previous, _)] = pair else {
                continue;
            };
            if block.unsigned.attachments_log.is_some() {
                with_log += 1;
                assert_eq!(block.unsigned.miner, host_addr);
                chain.validate_block(previous, root).unwrap();
            }
        }
        assert!(with_log >= 1);
        drop(chain); // it holds the store open

        // The visitor follows the chain that carries the log, which names B:
        // chain sync must not fetch B's sections through it (a link would
        // let any explore-all request take them free of quota).
        wait_for(Duration::from_secs(60), "the visitor to follow", || {
            visitor.head().number >= head.number
        })
        .await;
        let held = {
            let store = visitor.chain().store().clone();
            let manifest = tau_attach::Manifest::load(&store, &b.root, &attach).unwrap();
            let sections = tau_attach::section_cids(&store, &manifest, &attach).unwrap();
            let held = sections.iter().filter(|c| store.has(c).unwrap()).count();
            assert!(
                held < sections.len(),
                "all {held} sections of B arrived free"
            );
            held as u64
        };
        assert!(held * SECTION <= used - served_a, "held {held} sections");

        // Restart: usage comes back from the state; the visitor is still refused.
        host.shutdown().await.unwrap();
        let host = host_builder()
            .bootstrap(visitor.dial_addr().unwrap())
            .start()
            .await
            .unwrap();
        assert_eq!(host.served_to(&me), used);
        let again = visitor
            .attach_get(b.root, &[host.peer_id()], 2)
            .await
            .unwrap_err();
        assert!(again.is_quota_exceeded(), "{again}");
        host.shutdown().await.unwrap();
        visitor.shutdown().await.unwrap();
    })
    .await;
}
