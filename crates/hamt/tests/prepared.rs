//! Keys hashed once (`PreparedKey`) and flushes that move their blocks into
//! the store (`Blockstore::put_many_owned`) give exactly the roots and values
//! of the plain paths, checked against `fvm_ipld_hamt` too.

mod common;
use common::proptest_config;

use std::cell::{Cell, RefCell};
use std::collections::HashMap;

use fvm_ipld_hamt::BytesKey;
use proptest::prelude::*;
use tau_hamt::{Config, Error, Hamt, KeyHash, PreparedKey};
use tau_ipld::{Blockstore, Cid, MemoryBlockstore};

/// A store that keeps owned blocks as they are, and fails batch writes
/// while `failing` is set.
#[derive(Default)]
struct Owning {
    blocks: RefCell<HashMap<Cid, Vec<u8>>>,
    owned_batches: Cell<usize>,
    failing: Cell<bool>,
}

impl Blockstore for Owning {
    fn get_raw(&self, cid: &Cid) -> tau_ipld::Result<Option<Vec<u8>>> {
        Ok(self.blocks.borrow().get(cid).cloned())
    }
    fn put_keyed(&self, cid: &Cid, block: &[u8]) -> tau_ipld::Result<()> {
        self.blocks.borrow_mut().insert(*cid, block.to_vec());
        Ok(())
    }
    fn has(&self, cid: &Cid) -> tau_ipld::Result<bool> {
        Ok(self.blocks.borrow().contains_key(cid))
    }
    fn put_many_owned(&self, blocks: &mut Vec<(Cid, Vec<u8>)>) -> tau_ipld::Result<()> {
        if self.failing.get() {
            return Err(tau_ipld::Error::Io(std::io::Error::other("disk full")));
        }
        self.owned_batches.set(self.owned_batches.get() + 1);
        self.blocks.borrow_mut().extend(blocks.drain(..));
        Ok(())
    }
}

fn ops() -> impl Strategy<Value = Vec<(Vec<u8>, u64, bool)>> {
    proptest::collection::vec(
        (
            proptest::collection::vec(any::<u8>(), 0..6),
            any::<u64>(),
            any::<bool>(),
        ),
        0..300,
    )
}

proptest! {
    #![proptest_config(proptest_config(64))]

    /// Reading then writing through prepared keys (mixed with plain calls)
    /// gives the plain path's values and root, and fvm's root.
    #[test]
    fn prepared_keys_give_the_plain_roots(bw in 1u32..=8, ops in ops()) {
        let config = Config::with_bit_width(bw).unwrap();
        let (a, b) = (MemoryBlockstore::new(), Owning::default());
        let mut plain: Hamt<_, u64> = Hamt::new_with_config(&a, config);
        let mut prepared: Hamt<_, u64> = Hamt::new_with_config(&b, config);
        let fvm_store = fvm_ipld_blockstore::MemoryBlockstore::default();
        let mut fvm: fvm_ipld_hamt::Hamt<_, u64, BytesKey> =
            fvm_ipld_hamt::Hamt::new_with_bit_width(&fvm_store, bw);
        for (i, (key, value, use_prepared)) in ops.iter().enumerate() {
            let encoded = serde_ipld_dagcbor::to_vec(value).unwrap();
            let before = plain.get_encoded(key).unwrap().map(<[u8]>::to_vec);
            if *use_prepared {
                let k = PreparedKey::new(KeyHash::Sha256, key.clone()).unwrap();
                prop_assert_eq!(prepared.get_prepared(&k).unwrap().map(<[u8]>::to_vec), before.clone());
                let old = prepared.set_prepared(&k, &encoded).unwrap();
                prop_assert_eq!(old, before);
            } else {
                prepared.set_encoded(key, &encoded).unwrap();
            }
            plain.set_encoded(key, &encoded).unwrap();
            fvm.set(BytesKey(key.clone()), *value).unwrap();
            if i % 97 == 0 {
                // Owned flushes midway, then more edits on the flushed tree.
                prop_assert_eq!(prepared.flush().unwrap(), plain.flush().unwrap());
            }
        }
        let root = plain.flush().unwrap();
        prop_assert_eq!(prepared.flush().unwrap(), root);
        prop_assert_eq!(fvm.flush().unwrap(), root);
        let reloaded: Hamt<_, u64> = Hamt::load_with_config(&b, &root, config).unwrap();
        for (key, _, _) in &ops {
            let k = PreparedKey::new(KeyHash::Sha256, key.clone()).unwrap();
            prop_assert_eq!(reloaded.get_prepared(&k).unwrap(), plain.get_encoded(key).unwrap());
        }
    }
}

#[test]
fn a_key_prepared_for_another_hash_is_rehashed() {
    let store = MemoryBlockstore::new();
    let identity = Config::builder()
        .key_hash(KeyHash::Identity)
        .build()
        .unwrap();
    let mut map: Hamt<_, u64> = Hamt::new_with_config(&store, identity);
    // Prepared under SHA-256, used in an identity-hashed map: still the right slot.
    let key = PreparedKey::new(KeyHash::Sha256, b"short".to_vec()).unwrap();
    map.set_prepared(&key, &[0x07]).unwrap();
    assert_eq!(map.get(b"short").unwrap(), Some(7));
    assert_eq!(map.get_prepared(&key).unwrap(), Some(&[0x07][..]));
    assert!(matches!(
        PreparedKey::new(KeyHash::Identity, vec![0; 33]),
        Err(Error::KeyTooLong(33))
    ));
    // A value that is not one DAG-CBOR item is refused, the map unchanged.
    assert!(map.set_prepared(&key, &[0x18]).is_err());
    assert_eq!(map.get(b"short").unwrap(), Some(7));
}

#[test]
fn an_owned_flush_moves_the_blocks_and_a_failed_one_is_retried() {
    let store = Owning::default();
    let mut map: Hamt<_, u64> = Hamt::new(&store);
    for i in 0u64..500 {
        map.set(i.to_be_bytes(), i).unwrap();
    }
    store.failing.set(true);
    assert!(matches!(
        map.flush(),
        Err(Error::Store(tau_ipld::Error::Io(_)))
    ));
    assert!(map.root_cid().is_none());
    assert!(store.blocks.borrow().is_empty());
    store.failing.set(false);
    let root = map.flush().unwrap();
    assert_eq!(store.owned_batches.get(), 1);
    let reloaded: Hamt<_, u64> = Hamt::load(&store, &root).unwrap();
    assert_eq!(reloaded.len().unwrap(), 500);
    // The same contents through the default (copying) path: the same root.
    let copy = MemoryBlockstore::new();
    let mut other: Hamt<_, u64> = Hamt::new(&copy);
    for i in 0u64..500 {
        other.set(i.to_be_bytes(), i).unwrap();
    }
    assert_eq!(other.flush().unwrap(), root);
}
