//! Arbitrary bytes as a block, a signed transaction or a block's
//! transaction list (what a peer's chain is made of): decoding never panics,
//! a decoded block or transaction re-encodes to the very same bytes (the
//! encodings are canonical), and checking a signature never panics.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tau_state::{decode_transactions, Block, SignedTransaction};

fuzz_target!(|data: &[u8]| {
    if let Ok(block) = Block::decode(data) {
        let _ = block.verify_signature();
        assert_eq!(block.encode().expect("a block encodes"), data);
    }
    if let Ok(tx) = SignedTransaction::decode(data) {
        let _ = tx.verify_signature();
        let _ = tx.tx.check_static(&tau_state::Params::devnet());
        assert_eq!(tx.encode().expect("a transaction encodes"), data);
    }
    if let Ok(list) = decode_transactions(data) {
        for tx in &list {
            let _ = tx.id();
        }
    }
});
