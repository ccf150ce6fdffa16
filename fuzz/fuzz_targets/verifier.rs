//! A lying responder: arbitrary bytes as the response messages to a request
//! for a small DAG. The requester's verifier never panics, and every block it
//! accepts hashes to its CID and is one its own traversal asked for.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tau_graphsync::framing::read_message;
use tau_graphsync::traversal::{walk, Limits};
use tau_graphsync::verifier::{BlockPool, Verifier};
use tau_graphsync::Selector;
use tau_ipld::block::{verify, DAG_CBOR, RAW};
use tau_ipld::{Blockstore, Cid, MemoryBlockstore};

fuzz_target!(|data: &[u8]| {
    // The honest DAG: a list of two links to raw leaves.
    let store = MemoryBlockstore::new();
    let a = store.put(RAW, b"leaf a").expect("memory store");
    let b = store.put(RAW, b"leaf b").expect("memory store");
    let mut node = vec![0x82];
    for cid in [a, b] {
        let mut bytes = vec![0];
        bytes.extend(cid.to_bytes());
        node.extend([0xd8, 0x2a, 0x58, bytes.len() as u8]);
        node.extend(bytes);
    }
    let root = store.put(DAG_CBOR, &node).expect("memory store");
    let selector = Selector::explore_all_recursively(4);
    let honest: Vec<Cid> = walk(&store, root, &selector, &Limits::default())
        .expect("the honest walk")
        .links;

    let Ok(mut verifier) = Verifier::new(root, &selector, &Limits::default()) else {
        return;
    };
    let mut reader = data;
    while let Ok(Some(message)) = read_message(&mut reader, 1 << 20) {
        let Ok(mut pool) = BlockPool::from_blocks(message.blocks) else {
            return;
        };
        for response in &message.responses {
            match verifier.receive(response, &mut pool) {
                Ok(received) => {
                    for (cid, bytes) in &received.blocks {
                        assert!(
                            verify(cid, bytes).is_ok(),
                            "accepted a block that does not hash to its CID"
                        );
                        assert!(
                            honest.contains(cid),
                            "accepted a block the traversal never asked for"
                        );
                    }
                    if received.outcome.is_some() {
                        return;
                    }
                }
                Err(_) => return,
            }
        }
    }
});
