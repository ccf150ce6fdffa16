//! Arbitrary bytes as a Graphsync message: decoding never panics, and a
//! message that decodes re-encodes to a message that decodes to itself.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tau_graphsync::Message;

fuzz_target!(|data: &[u8]| {
    let Ok(message) = Message::decode(data) else {
        return;
    };
    for block in &message.blocks {
        let _ = block.cid();
    }
    let encoded = message.encode().expect("a decoded message encodes");
    let again = Message::decode(&encoded).expect("an encoded message decodes");
    assert_eq!(again, message);
});
