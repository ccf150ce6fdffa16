//! Arbitrary bytes as a head-protocol request or answer (the frame body a
//! peer sends on `/tau/head/1.0.0`): decoding never panics, the size checks
//! never panic, and what decodes re-encodes to itself.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tau_node::protocol::{encode, HeadAnswer, HeadRequest};

fuzz_target!(|data: &[u8]| {
    if let Ok(request) = serde_ipld_dagcbor::from_slice::<HeadRequest>(data) {
        let _ = request.check();
        let again: HeadRequest =
            serde_ipld_dagcbor::from_slice(&encode(&request).expect("a request encodes"))
                .expect("an encoded request decodes");
        assert_eq!(again, request);
    }
    if let Ok(answer) = serde_ipld_dagcbor::from_slice::<HeadAnswer>(data) {
        let _ = answer.check();
        let _ = answer.peer_addrs();
        let _ = answer.seen_heads();
        let again: HeadAnswer =
            serde_ipld_dagcbor::from_slice(&encode(&answer).expect("an answer encodes"))
                .expect("an encoded answer decodes");
        assert_eq!(again, answer);
    }
});
