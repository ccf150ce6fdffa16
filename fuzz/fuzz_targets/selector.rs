//! Arbitrary bytes as a DAG-CBOR selector, run over a small store (a HAMT
//! and a chain of links): decoding, the depth check and the traversal never
//! panic, and a traversal under a link budget stays within it.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tau_graphsync::traversal::{walk, Limits, Traversal};
use tau_graphsync::Selector;
use tau_ipld::block::{DAG_CBOR, RAW};
use tau_hamt::{Config, Hamt};
use tau_ipld::{Blockstore, Cid, MemoryBlockstore};

fn store() -> (MemoryBlockstore, Cid) {
    let store = MemoryBlockstore::new();
    let mut hamt: Hamt<_, Cid> = Hamt::new_with_config(&store, Config::default());
    for i in 0..40u32 {
        let leaf = store.put(RAW, &i.to_le_bytes()).expect("memory store");
        hamt.set(format!("k{i}"), leaf).expect("memory store");
    }
    let hamt_root = hamt.flush().expect("memory store");
    // [hamt root, previous] chains, as blocks link their previous state.
    let mut previous: Option<Cid> = None;
    for _ in 0..5 {
        let mut node = vec![0x82, 0xd8, 0x2a];
        push_link(&mut node, &hamt_root);
        match previous {
            Some(p) => {
                node.extend([0xd8, 0x2a]);
                push_link(&mut node, &p);
            }
            None => node.push(0xf6),
        }
        previous = Some(store.put(DAG_CBOR, &node).expect("memory store"));
    }
    (store, previous.unwrap_or(hamt_root))
}

/// A DAG-CBOR link body (after tag 42): bytes of 0x00 + the CID.
fn push_link(out: &mut Vec<u8>, cid: &Cid) {
    let mut bytes = vec![0];
    bytes.extend(cid.to_bytes());
    out.push(0x58);
    out.push(bytes.len() as u8);
    out.extend(bytes);
}

fuzz_target!(|data: &[u8]| {
    let Ok(selector) = Selector::from_dag_cbor(data) else {
        return;
    };
    let _ = selector.check_depth(100, false);
    let (store, root) = store();
    let limits = Limits {
        max_links: Some(200),
        ..Limits::default()
    };
    if let Ok(walked) = walk(&store, root, &selector, &limits) {
        assert!(walked.links.len() <= 200);
    }
    // The selector state never exceeds its cap, whatever the walk did.
    if let Ok(mut t) = Traversal::new(root, &selector, &limits) {
        while let Ok(Some(cid)) = t.next_link() {
            let block = store.get(&cid).ok().flatten();
            if t.provide(block.as_deref()).is_err() {
                break;
            }
        }
        assert!(t.peak_selector_state() <= limits.max_selector_state);
    }
});
