//! Arbitrary bytes as request messages from two peers to a responder serving
//! a small store: it never panics, answers stay under the message size limit,
//! and it never holds more requests per peer than its limit.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tau_graphsync::framing::{read_message, DEFAULT_MAX_MESSAGE_SIZE};
use tau_graphsync::responder::{Responder, ResponderConfig};
use tau_ipld::block::RAW;
use tau_ipld::{Blockstore, MemoryBlockstore};

fuzz_target!(|data: &[u8]| {
    let store = MemoryBlockstore::new();
    for i in 0..8u8 {
        let _ = store.put(RAW, &[i; 300]);
    }
    let config = ResponderConfig::default();
    let mut responder: Responder<u8> = Responder::new(config);
    let mut reader = data;
    let mut peer = 0u8;
    while let Ok(Some(message)) = read_message(&mut reader, 1 << 20) {
        peer ^= 1;
        if let Some(answer) = responder.receive(&peer, message.requests) {
            let size = answer.encode().map(|b| b.len()).unwrap_or(0);
            assert!(size <= DEFAULT_MAX_MESSAGE_SIZE, "{size} bytes");
        }
        assert!(responder.in_flight(&peer) <= config.max_requests_per_peer);
        for _ in 0..16 {
            match responder.poll(&peer, &store) {
                Some(message) => {
                    let size = message.encode().map(|b| b.len()).unwrap_or(0);
                    assert!(size <= DEFAULT_MAX_MESSAGE_SIZE, "{size} bytes");
                    responder.acknowledge(&peer, size);
                }
                None => break,
            }
        }
    }
});
