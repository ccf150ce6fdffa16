//! Arbitrary bytes as a stream of varint-framed messages, with a size limit
//! taken from the first two bytes: the three frame readers never panic and
//! never yield a frame over the limit.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tau_graphsync::framing::{decode_frame, read_message, FrameDecoder};

fuzz_target!(|data: &[u8]| {
    let (max, bytes) = match data {
        [a, b, rest @ ..] => (usize::from(u16::from_le_bytes([*a, *b])), rest),
        _ => return,
    };
    if let Ok(Some((frame, _))) = decode_frame(bytes, max) {
        assert!(frame.len() <= max);
    }
    let mut decoder = FrameDecoder::new(max);
    for chunk in bytes.chunks(7) {
        decoder.extend(chunk);
        while let Ok(Some(frame)) = decoder.next_frame() {
            assert!(frame.len() <= max);
        }
    }
    let mut reader = bytes;
    while let Ok(Some(_)) = read_message(&mut reader, max) {}
});
