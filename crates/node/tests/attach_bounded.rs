//! A downloading node keeps nothing of a section map it refuses, on
//! 127.0.0.1: a host serving a manifest that declares 2 sections over a map
//! of 500 is refused with the typed error, and the map's root never reaches
//! the visitor's store (blocks arrive in a scratch store and are stored only
//! once checked). Stops by itself.

mod common;

use std::time::Duration;

use common::{bounded, Net};
use tau_attach::{section_key, ContentHash, Kind, Manifest, MANIFEST_VERSION};
use tau_hamt::Hamt;
use tau_ipld::block::{DAG_CBOR, RAW};
use tau_ipld::{Blockstore, Cid};
use tau_node::{Error, Mode};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_map_larger_than_declared_is_refused_and_not_stored() {
    bounded(Duration::from_secs(60), async {
        let net = Net::new(2, 130);
        let attach = tau_attach::Config::builder()
            .section_size(1024)
            .build()
            .unwrap();
        let host = net.builder(0).attach_config(attach).start().await.unwrap();
        let visitor = net
            .builder(1)
            .mode(Mode::Light)
            .attach_config(attach)
            .bootstrap(host.dial_addr().unwrap())
            .start()
            .await
            .unwrap();

        let (root, map) = {
            let store = host.chain().store().clone();
            let mut map: Hamt<_, Cid> = Hamt::new(&store);
            for i in 0..500u64 {
                let chunk = store.put(RAW, &[i as u8; 1024]).unwrap();
                map.set(section_key(i), chunk).unwrap();
            }
            let map = map.flush().unwrap();
            let manifest = Manifest {
                version: MANIFEST_VERSION,
                name: "liar".into(),
                kind: Kind::File,
                total_size: 2 * 1024,
                section_size: 1024,
                section_count: 2,
                content_hash: ContentHash([0; 32]),
                sections: map,
            };
            let root = store.put(DAG_CBOR, &manifest.encode().unwrap()).unwrap();
            (root, map)
        };

        let err = visitor
            .attach_get(root, &[host.peer_id()], 2)
            .await
            .unwrap_err();
        assert!(
            matches!(err, Error::Attach(tau_attach::Error::SectionMap(_))),
            "{err}"
        );
        let store = visitor.chain().store().clone();
        assert!(store.has(&root).unwrap(), "the manifest itself is fine");
        assert!(!store.has(&map).unwrap(), "the refused map root was stored");
        drop(store);

        visitor.shutdown().await.unwrap();
        host.shutdown().await.unwrap();
    })
    .await;
}
