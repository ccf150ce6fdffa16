//! The attachment quota cannot be bypassed on 127.0.0.1: a visitor with a
//! small quota asking a host, with an explore-all selector, for the section
//! map of a larger attachment or for its manifest is refused and receives
//! none of its sections; a request for one map node is charged; an honest
//! download within the quota still succeeds. Stops by itself.

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::{bounded, noise, Net};
use tau_graphsync::net::{Config as GraphsyncConfig, TcpNode};
use tau_graphsync::{Extensions, Selector};
use tau_ipld::{Blockstore, MemoryBlockstore};
use tau_node::{Mode, QUOTA_EXCEEDED};

const SECTION: u64 = 64 * 1024;
const QUOTA: u64 = 100_000;

/// A bare Graphsync peer on 127.0.0.1 whose peer id carries the TAU key
/// `key` (so the host charges its address).
async fn bare_peer(
    key: &tau_keys::Keypair,
    store: Arc<MemoryBlockstore>,
) -> (TcpNode, tau_graphsync::net::Graphsync) {
    let secret = libp2p::identity::secp256k1::SecretKey::try_from_bytes(key.to_bytes()).unwrap();
    let identity = libp2p::identity::secp256k1::Keypair::from(secret).into();
    let node = TcpNode::spawn_with(identity, "/ip4/127.0.0.1/tcp/0".parse().unwrap())
        .await
        .unwrap();
    let graphsync = node
        .start_graphsync(store, GraphsyncConfig::default())
        .unwrap();
    (node, graphsync)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn explore_all_requests_for_attachment_data_are_charged_in_full() {
    bounded(Duration::from_secs(120), async {
        let dir = tempfile::tempdir().unwrap();
        let net = Net::new(3, 110);
        let attach = tau_attach::Config::builder()
            .section_size(SECTION)
            .build()
            .unwrap();
        let host = net
            .builder(0)
            .data_dir(dir.path().join("host"))
            .attach_config(attach)
            .free_quota(QUOTA)
            .start()
            .await
            .unwrap();

        // B: 600 KB, six times the quota.
        let b_file = dir.path().join("b.bin");
        std::fs::write(&b_file, noise(7, 600_000)).unwrap();
        let b = host.attach_put(&b_file).await.unwrap();
        let (manifest, sections) = {
            let store = host.chain().store().clone();
            let manifest = tau_attach::Manifest::load(&store, &b.root, &attach).unwrap();
            let sections = tau_attach::section_cids(&store, &manifest, &attach).unwrap();
            (manifest, sections)
        };
        assert_eq!(sections.len(), 10);

        // The attacker: a bare peer with a TAU key and the default quota.
        let key = &net.keys[2];
        let loot = Arc::new(MemoryBlockstore::new());
        let (attacker, graphsync) = bare_peer(key, loot.clone()).await;
        attacker
            .connect(host.peer_id(), host.dial_addr().unwrap())
            .await
            .unwrap();
        let everything = Selector::explore_all_recursively(16);
        let named = {
            let mut ext = Extensions::default();
            ext.other.insert(
                tau_node::ATTACHMENT_EXTENSION.into(),
                ipld_core::ipld::Ipld::Link(b.root),
            );
            ext
        };
        // The section map's root, the manifest, and the map's root naming
        // B (whose declared size is then the reservation): all refused.
        for (root, extensions) in [
            (manifest.sections, Extensions::default()),
            (b.root, Extensions::default()),
            (manifest.sections, named),
        ] {
            let request = graphsync
                .request(host.peer_id(), root, &everything, extensions)
                .unwrap();
            let err = request.finish().await.unwrap_err();
            match err.cause() {
                tau_graphsync::Error::Refused { reason, .. } => {
                    assert!(reason.starts_with(QUOTA_EXCEEDED), "{reason}");
                    assert!(reason.contains(&key.address().to_string()), "{reason}");
                }
                other => panic!("expected a refusal for {root}, got {other}"),
            }
        }
        let taken = sections.iter().filter(|c| loot.has(c).unwrap()).count();
        assert_eq!(taken, 0, "sections of B served past the quota");
        assert_eq!(host.served_to(&key.address()), 0);

        // One block of the map (what an honest downloader asks for) is
        // served, and charged.
        let request = graphsync
            .request(
                host.peer_id(),
                manifest.sections,
                &Selector::Matcher,
                Extensions::default(),
            )
            .unwrap();
        request.finish().await.unwrap();
        assert!(loot.has(&manifest.sections).unwrap());
        let map_len = loot.get(&manifest.sections).unwrap().unwrap().len() as u64;
        assert_eq!(host.served_to(&key.address()), map_len);
        assert!(sections.iter().all(|c| !loot.has(c).unwrap()));

        // An honest visitor downloads A (50 KB) within the same quota.
        let visitor = net
            .builder(1)
            .mode(Mode::Light)
            .attach_config(attach)
            .bootstrap(host.dial_addr().unwrap())
            .start()
            .await
            .unwrap();
        let a_file = dir.path().join("a.bin");
        std::fs::write(&a_file, noise(8, 50_000)).unwrap();
        let a = host.attach_put(&a_file).await.unwrap();
        let report = visitor
            .attach_get(a.root, &[host.peer_id()], 3)
            .await
            .unwrap();
        assert_eq!(report.sections_fetched, report.manifest.section_count);
        let me = net.keys[1].address();
        let used = host.served_to(&me);
        assert!(used > a.size && used <= QUOTA, "used {used}");

        drop(attacker);
        visitor.shutdown().await.unwrap();
        host.shutdown().await.unwrap();
    })
    .await;
}
