//! End to end: requester → wire → responder → wire → verifier, in memory, and a
//! dishonest responder caught by the verifier.

use cid::Cid;
use ipld_core::ipld::Ipld;
use tau_graphsync::loopback::fetch;
use tau_graphsync::responder::{Responder, ResponderConfig};
use tau_graphsync::traversal::{walk, Limits};
use tau_graphsync::{
    dagcbor, Block, Error, Extensions, HamtLayout, LinkAction, Message, Selector, Status,
};
use tau_hamt::{Config, Hamt, Proof};
use tau_ipld::block::{DAG_CBOR, RAW};
use tau_ipld::{Blockstore, MemoryBlockstore};

fn all() -> Selector {
    Selector::explore_all_recursively(100)
}

/// A three-level tree: root → 6 DAG-CBOR nodes → 8 raw leaves each (50 KB),
/// with one leaf shared by every node (a repeated link).
fn tree(store: &MemoryBlockstore) -> Cid {
    let shared = store.put(RAW, b"shared leaf").unwrap();
    let nodes: Vec<Ipld> = (0..6u8)
        .map(|n| {
            let mut links: Vec<Ipld> = (0..8u8)
                .map(|l| Ipld::Link(store.put(RAW, &vec![n * 8 + l; 50_000]).unwrap()))
                .collect();
            links.push(Ipld::Link(shared));
            let node = Ipld::Map(
                [
                    ("n".to_string(), Ipld::Integer(n.into())),
                    ("kids".to_string(), Ipld::List(links)),
                ]
                .into(),
            );
            Ipld::Link(
                store
                    .put(DAG_CBOR, &dagcbor::encode(&node).unwrap())
                    .unwrap(),
            )
        })
        .collect();
    store
        .put(DAG_CBOR, &dagcbor::encode(&Ipld::List(nodes)).unwrap())
        .unwrap()
}

fn responder() -> Responder<u64> {
    Responder::new(ResponderConfig::default())
}

#[test]
fn whole_dag_arrives_verified_in_several_messages() {
    let store = MemoryBlockstore::new();
    let root = tree(&store);
    let got = fetch(
        &mut responder(),
        &store,
        root,
        &all(),
        Extensions::default(),
        &[],
        |_| {},
    )
    .unwrap();
    assert_eq!(got.outcome.status, Status::CompletedFull);
    assert!(got.messages >= 5, "{}", got.messages);
    let mut distinct = walk(&store, root, &all(), &Limits::default())
        .unwrap()
        .links;
    assert_eq!(got.outcome.links as usize, distinct.len());
    distinct.sort();
    distinct.dedup();
    let mut received: Vec<Cid> = got.blocks.iter().map(|(c, _)| *c).collect();
    received.sort();
    assert_eq!(received, distinct); // every block once
    for (cid, data) in &got.blocks {
        tau_ipld::block::verify(cid, data).unwrap();
    }
}

#[test]
fn one_request_fetches_the_block_under_a_hamt_key_with_its_proof() {
    let store = MemoryBlockstore::new();
    let config = Config::default();
    let mut state: Hamt<_, Cid> = Hamt::new_with_config(&store, config);
    for i in 0..2_000u32 {
        let contract = store.put(RAW, format!("contract {i}").as_bytes()).unwrap();
        state.set(format!("key-{i}"), contract).unwrap();
    }
    let root = state.flush().unwrap();
    let key = b"key-1234";
    let contract = state.get(key).unwrap().unwrap();
    let sel = Selector::hamt_key(
        HamtLayout::for_config(&config).unwrap(),
        key,
        Selector::Matcher,
    )
    .unwrap();
    let got = fetch(
        &mut responder(),
        &store,
        root,
        &sel,
        Extensions::default(),
        &[],
        |_| {},
    )
    .unwrap();
    assert_eq!(got.outcome.status, Status::CompletedFull);
    assert_eq!(got.messages, 1);
    let blocks: Vec<(Cid, Vec<u8>)> = got.blocks.iter().map(|(c, d)| (*c, d.to_vec())).collect();
    let (path, value) = blocks.split_at(blocks.len() - 1);
    assert_eq!(value[0], (contract, b"contract 1234".to_vec()));
    // The path blocks are exactly tau-hamt's proof, and check offline.
    assert_eq!(
        path.to_vec(),
        tau_hamt::prove(&store, &root, key, &config)
            .unwrap()
            .into_blocks()
    );
    let proof = Proof::from_blocks(path.to_vec());
    assert_eq!(
        tau_hamt::verify_proof::<Cid>(&root, key, &proof, &config).unwrap(),
        Some(contract)
    );
}

#[test]
fn partial_and_missing_root() {
    let full = MemoryBlockstore::new();
    let root = tree(&full);
    let links = walk(&full, root, &all(), &Limits::default()).unwrap().links;
    let dropped = links[3];
    let partial = MemoryBlockstore::new();
    for c in &links {
        if *c != dropped {
            partial
                .put_keyed(c, &full.get(c).unwrap().unwrap())
                .unwrap();
        }
    }
    let got = fetch(
        &mut responder(),
        &partial,
        root,
        &all(),
        Extensions::default(),
        &[],
        |_| {},
    )
    .unwrap();
    assert_eq!(got.outcome.status, Status::CompletedPartial);
    assert_eq!(got.outcome.missing, [dropped]);
    let empty = MemoryBlockstore::new();
    let r = fetch(
        &mut responder(),
        &empty,
        root,
        &all(),
        Extensions::default(),
        &[],
        |_| {},
    );
    assert!(
        matches!(r, Err(Error::RequestFailed(Status::ContentNotFound))),
        "{r:?}"
    );
    let r = fetch(
        &mut responder(),
        &full,
        root,
        &Selector::explore_all_recursively(101),
        Extensions::default(),
        &[],
        |_| {},
    );
    assert!(matches!(r, Err(Error::RecursionLimit { .. })), "{r:?}");
}

#[test]
fn known_blocks_are_not_sent_and_still_verify() {
    let store = MemoryBlockstore::new();
    let root = tree(&store);
    let links = walk(&store, root, &all(), &Limits::default())
        .unwrap()
        .links;
    let known: Vec<(Cid, Vec<u8>)> = links[1..4]
        .iter()
        .map(|c| (*c, store.get(c).unwrap().unwrap()))
        .collect();
    let ext = Extensions {
        do_not_send_cids: Some(known.iter().map(|(c, _)| *c).collect()),
        ..Extensions::default()
    };
    let got = fetch(&mut responder(), &store, root, &all(), ext, &known, |_| {}).unwrap();
    assert_eq!(got.outcome.status, Status::CompletedFull);
    assert!(got
        .blocks
        .iter()
        .all(|(c, _)| !known.iter().any(|(k, _)| k == c)));
    // Without declaring them, the verifier refuses the gap.
    let ext = Extensions {
        do_not_send_cids: Some(known.iter().map(|(c, _)| *c).collect()),
        ..Extensions::default()
    };
    let r = fetch(&mut responder(), &store, root, &all(), ext, &[], |_| {});
    assert!(matches!(r, Err(Error::BlockNotReceived(_))), "{r:?}");
}

/// Runs the tree fetch with `tamper` applied to the first response message.
fn tampered(tamper: impl Fn(&mut Message)) -> Result<tau_graphsync::loopback::Fetched, Error> {
    let store = MemoryBlockstore::new();
    let root = tree(&store);
    let mut first = true;
    fetch(
        &mut responder(),
        &store,
        root,
        &all(),
        Extensions::default(),
        &[],
        |m| {
            if first {
                tamper(m);
                first = false;
            }
        },
    )
}

#[test]
fn verifier_rejects_dishonest_responses() {
    // A flipped byte: the rebuilt CID is not the announced link.
    let r = tampered(|m| {
        let mut data = m.blocks[2].data.to_vec();
        data[0] ^= 1;
        m.blocks[2].data = data.into();
    });
    assert!(matches!(r, Err(Error::BlockNotReceived(_))), "{r:?}");
    // An extra, well-formed block nobody asked for.
    let r = tampered(|m| {
        m.blocks.push(Block::new(
            &tau_ipld::block::cid_of(RAW, b"spam"),
            b"spam".to_vec(),
        ))
    });
    assert!(matches!(r, Err(Error::UnexpectedBlock(_))), "{r:?}");
    // Metadata out of order.
    let r = tampered(|m| m.responses[0].metadata.swap(1, 2));
    assert!(matches!(r, Err(Error::UnexpectedLink { .. })), "{r:?}");
    // A different link than the selector reaches.
    let r =
        tampered(|m| m.responses[0].metadata[1].link = tau_ipld::block::cid_of(RAW, b"elsewhere"));
    assert!(matches!(r, Err(Error::UnexpectedLink { .. })), "{r:?}");
    // Claiming completion early.
    let r = tampered(|m| {
        m.responses[0].metadata.truncate(3);
        m.blocks.truncate(3);
        m.responses[0].status = Status::CompletedFull;
    });
    assert!(matches!(r, Err(Error::Incomplete { .. })), "{r:?}");
    // Claiming a block was present without sending it.
    let r = tampered(|m| {
        m.blocks.remove(1);
    });
    assert!(matches!(r, Err(Error::BlockNotReceived(_))), "{r:?}");
    // Claiming a block missing but "complete".
    let r = tampered(|m| {
        let last = m.responses[0].metadata.len() - 1;
        let cid = m.responses[0].metadata[last].link;
        m.responses[0].metadata[last].action = LinkAction::Missing;
        m.blocks.retain(|b| b.cid().unwrap() != cid);
        m.responses[0].status = Status::CompletedFull;
        m.responses[0].metadata.truncate(last + 1);
    });
    // The traversal continues after the last entry, so this is incomplete or
    // inconsistent, never accepted.
    assert!(
        matches!(
            r,
            Err(Error::Incomplete { .. }) | Err(Error::InconsistentStatus { .. })
        ),
        "{r:?}"
    );
    // An error status from the responder.
    let r = tampered(|m| m.responses[0].status = Status::Busy);
    assert!(
        matches!(r, Err(Error::RequestFailed(Status::Busy))),
        "{r:?}"
    );
}

#[test]
fn duplicates_in_one_message_are_tolerated() {
    // @dcdn/graphsync sends a block twice when the DAG references it twice.
    let r = tampered(|m| {
        let copy = m.blocks[1].clone();
        m.blocks.push(copy);
    })
    .unwrap();
    assert_eq!(r.outcome.status, Status::CompletedFull);
}

#[test]
fn metadata_after_the_end_is_rejected() {
    let store = MemoryBlockstore::new();
    let leaf = store.put(RAW, b"only").unwrap();
    let r = fetch(
        &mut responder(),
        &store,
        leaf,
        &all(),
        Extensions::default(),
        &[],
        |m| {
            let extra = m.responses[0].metadata[0];
            m.responses[0].metadata.push(extra);
        },
    );
    assert!(matches!(r, Err(Error::ExtraLink(_))), "{r:?}");
}
