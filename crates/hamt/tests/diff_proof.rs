//! Property tests of `diff` (against the set difference of full iterations) and
//! of Merkle proofs (every proof verifies; every tampered proof is rejected).

use std::collections::BTreeMap;

use proptest::prelude::*;
use tau_hamt::{diff, prove, verify_proof, Change, Config, Hamt, Proof};
use tau_ipld::{Blockstore, Cid, MemoryBlockstore};

type Model = BTreeMap<Vec<u8>, u64>;

/// Keys from a small space (2 bytes below 512) so edits hit existing keys.
fn key_of(k: u16) -> Vec<u8> {
    k.to_be_bytes().to_vec()
}

fn bit_width() -> impl Strategy<Value = u32> {
    prop_oneof![Just(1u32), Just(3), Just(5), Just(8)]
}

fn model() -> impl Strategy<Value = Model> {
    // Small values so that "set to the same value" happens too.
    prop::collection::btree_map(0u16..512, 0u64..4, 0..300)
        .prop_map(|m| m.into_iter().map(|(k, v)| (key_of(k), v)).collect())
}

/// Edits: `Some(v)` sets the key, `None` deletes it.
fn edits() -> impl Strategy<Value = Vec<(u16, Option<u64>)>> {
    prop::collection::vec((0u16..512, prop::option::of(0u64..4)), 0..80)
}

fn write(store: &MemoryBlockstore, config: Config, m: &Model) -> Cid {
    let mut map: Hamt<_, u64> = Hamt::new_with_config(store, config);
    for (k, v) in m {
        map.set(k, *v).unwrap();
    }
    map.flush().unwrap()
}

fn read_all(store: &MemoryBlockstore, config: Config, root: &Cid) -> Model {
    let map: Hamt<_, u64> = Hamt::load_with_config(store, root, config).unwrap();
    map.iter()
        .map(|e| e.map(|(k, v)| (k.to_vec(), v)))
        .collect::<Result<_, _>>()
        .unwrap()
}

/// The set difference of two full listings, sorted by key.
fn set_difference(old: &Model, new: &Model) -> Vec<Change<u64>> {
    let mut out = Vec::new();
    for (k, v) in old {
        match new.get(k) {
            None => out.push(Change::Removed {
                key: k.clone(),
                value: *v,
            }),
            Some(n) if n != v => out.push(Change::Changed {
                key: k.clone(),
                old: *v,
                new: *n,
            }),
            Some(_) => {}
        }
    }
    for (k, v) in new {
        if !old.contains_key(k) {
            out.push(Change::Added {
                key: k.clone(),
                value: *v,
            });
        }
    }
    out.sort_by(|a, b| a.key().cmp(b.key()));
    out
}

fn apply(mut m: Model, changes: &[Change<u64>]) -> Model {
    for c in changes {
        match c {
            Change::Added { key, value }
            | Change::Changed {
                key, new: value, ..
            } => {
                m.insert(key.clone(), *value);
            }
            Change::Removed { key, .. } => {
                m.remove(key);
            }
        }
    }
    m
}

fn invert(c: Change<u64>) -> Change<u64> {
    match c {
        Change::Added { key, value } => Change::Removed { key, value },
        Change::Removed { key, value } => Change::Added { key, value },
        Change::Changed { key, old, new } => Change::Changed {
            key,
            old: new,
            new: old,
        },
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn diff_is_the_set_difference(bw in bit_width(), a in model(), script in edits()) {
        let config = Config::with_bit_width(bw).unwrap();
        let mut b = a.clone();
        for (k, op) in &script {
            match op {
                Some(v) => { b.insert(key_of(*k), *v); }
                None => { b.remove(&key_of(*k)); }
            }
        }
        let store = MemoryBlockstore::new();
        let ra = write(&store, config, &a);
        let rb = write(&store, config, &b);
        let (la, lb) = (read_all(&store, config, &ra), read_all(&store, config, &rb));
        prop_assert_eq!(&la, &a);
        prop_assert_eq!(&lb, &b);

        let changes: Vec<Change<u64>> = diff(&store, &ra, &rb, &config).unwrap();
        prop_assert_eq!(&changes, &set_difference(&la, &lb));
        prop_assert_eq!(&apply(la.clone(), &changes), &lb);
        prop_assert_eq!(changes.is_empty(), ra == rb);

        let back: Vec<Change<u64>> = diff(&store, &rb, &ra, &config).unwrap();
        let inverted: Vec<Change<u64>> = changes.into_iter().map(invert).collect();
        prop_assert_eq!(back, inverted);
    }

    #[test]
    fn proofs_verify_and_tampering_is_rejected(
        bw in bit_width(),
        m in model(),
        probes in prop::collection::vec(0u16..512, 1..16),
        seed in any::<u64>(),
    ) {
        let config = Config::with_bit_width(bw).unwrap();
        let store = MemoryBlockstore::new();
        let root = write(&store, config, &m);
        let map: Hamt<_, u64> = Hamt::load_with_config(&store, &root, config).unwrap();

        // Every present key, plus random (often absent) keys.
        let mut keys: Vec<Vec<u8>> = m.keys().cloned().collect();
        keys.extend(probes.iter().map(|k| key_of(*k)));
        let proofs: Vec<Proof> = keys.iter().map(|k| prove(&store, &root, k, &config).unwrap()).collect();

        for (i, (k, proof)) in keys.iter().zip(&proofs).enumerate() {
            prop_assert_eq!(proof.blocks()[0].0, root);
            let got: Option<u64> = verify_proof(&root, k, proof, &config).unwrap();
            prop_assert_eq!(got, m.get(k).copied());

            // The probe keys' proofs and a sample of the others get the slower checks.
            if i + probes.len() < keys.len() && i % 32 != 0 {
                continue;
            }
            prop_assert_eq!(&map.prove(k).unwrap(), proof);
            for (cid, data) in proof.blocks() {
                prop_assert_eq!(store.get(cid).unwrap(), Some(data.clone()));
            }
            let blocks = proof.blocks();
            for b in 0..blocks.len() {
                let len = blocks[b].1.len();
                let spread = (seed as usize).wrapping_add(b) % len;
                for pos in [0, len - 1, spread] {
                    let mut bad = proof.clone().into_blocks();
                    bad[b].1[pos] ^= 1 << (seed % 8);
                    let r = verify_proof::<u64>(&root, k, &Proof::from_blocks(bad), &config);
                    prop_assert!(r.is_err(), "flip of block {} byte {} accepted: {:?}", b, pos, r);
                }
                let mut short = proof.clone().into_blocks();
                short.remove(b);
                let r = verify_proof::<u64>(&root, k, &Proof::from_blocks(short), &config);
                prop_assert!(r.is_err(), "proof without block {} accepted: {:?}", b, r);
            }
        }

        // A proof for X never proves a wrong value for Y.
        for (i, proof) in proofs.iter().enumerate() {
            for j in [i + 1, i.wrapping_mul(31) + 3] {
                let y = &keys[j % keys.len()];
                if let Ok(v) = verify_proof::<u64>(&root, y, proof, &config) {
                    prop_assert_eq!(v, m.get(y).copied(), "proof {} verified a wrong value", i);
                }
            }
        }
    }
}
