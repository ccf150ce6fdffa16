//! Arbitrary bytes as an attachment manifest received for their own CID:
//! decoding and validation never panic, and a manifest that decodes
//! re-encodes to a manifest that decodes to itself.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tau_attach::{Config, Manifest};
use tau_ipld::block::{cid_of, DAG_CBOR};

fuzz_target!(|data: &[u8]| {
    let config = Config::default();
    let root = cid_of(DAG_CBOR, data);
    let Ok(manifest) = Manifest::decode(&root, data, &config) else {
        return;
    };
    let encoded = manifest.encode().expect("a manifest encodes");
    let again = Manifest::decode(&cid_of(DAG_CBOR, &encoded), &encoded, &config)
        .expect("an encoded manifest decodes");
    assert_eq!(again, manifest);
});
