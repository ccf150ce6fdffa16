//! Attachment logs: produced with a block, re-derived by validation, and a
//! block whose log does not match its state (or breaks the rules) is refused.

mod common;

use common::*;
use tau_ipld::block::{cid_of, DAG_CBOR, RAW};
use tau_ipld::Blockstore;
use tau_state::{Error, ServiceRecord, StateKey};

fn record(visitor: u8, bytes: u64, time: u64) -> ServiceRecord {
    ServiceRecord {
        visitor: key(visitor).address(),
        root: cid_of(RAW, &[visitor]),
        bytes,
        time,
    }
}

#[test]
fn a_block_carries_its_log_into_the_miners_state_and_validates() {
    let (chain, g, k) = devnet(3, 1_000);
    let t = earliest(&chain, &g, &k[1]);
    let log = vec![record(0, 300, t - 5), record(2, 7, t)];
    let next = chain
        .produce_next_state_with_log(&g, &k[1], &[], &log, t)
        .unwrap();
    let nonce = next.block.unsigned.miner_nonce;
    assert!(next.block.unsigned.attachments_log.is_some());
    chain.validate_block(&g, &next.root).unwrap();
    assert_eq!(
        chain
            .attachments_log(&next.root, &k[1].address(), nonce)
            .unwrap(),
        Some(log.clone())
    );
    assert_eq!(
        chain.attachments_logs(&next.root, &k[1].address()).unwrap(),
        log
    );
    // The key holds the same link as the block.
    let link: Option<cid::Cid> = chain
        .state(&next.root)
        .unwrap()
        .get(&StateKey::AttachmentsLog(k[1].address(), nonce))
        .unwrap();
    assert_eq!(link, next.block.unsigned.attachments_log);

    // A second block adds a second log; both are found.
    let t2 = earliest(&chain, &next.root, &k[1]);
    let more = vec![record(0, 11, t2)];
    let after = chain
        .produce_next_state_with_log(&next.root, &k[1], &[], &more, t2)
        .unwrap();
    chain.validate_block(&next.root, &after.root).unwrap();
    let all = chain
        .attachments_logs(&after.root, &k[1].address())
        .unwrap();
    assert_eq!(all, [log, more].concat());

    // No records: no log, no key.
    let plain = chain.produce_next_state(&g, &k[2], &[], t).unwrap();
    assert_eq!(plain.block.unsigned.attachments_log, None);
    assert!(chain
        .attachments_logs(&plain.root, &k[2].address())
        .unwrap()
        .is_empty());
}

#[test]
fn a_log_the_state_does_not_hold_is_refused() {
    let (chain, g, k) = devnet(3, 1_000);
    let t = earliest(&chain, &g, &k[1]);
    let honest = chain
        .produce_next_state_with_log(&g, &k[1], &[], &[record(0, 300, t)], t)
        .unwrap();
    // The header claims a bigger log than the state recorded.
    let inflated = tau_state::encode_attachments_log(&[record(0, 300_000, t)]).unwrap();
    let inflated = chain.store().put(DAG_CBOR, &inflated).unwrap();
    let forged = forge(&chain, &honest.root, &k[1], |b, _| {
        b.attachments_log = Some(inflated)
    });
    assert!(matches!(
        chain.validate_block(&g, &forged),
        Err(Error::StateRootMismatch { .. })
    ));
    // The header drops the log the state holds.
    let forged = forge(&chain, &honest.root, &k[1], |b, _| b.attachments_log = None);
    assert!(matches!(
        chain.validate_block(&g, &forged),
        Err(Error::StateRootMismatch { .. })
    ));
    // The header links a log that is not in the store.
    let absent = cid_of(DAG_CBOR, b"not stored");
    let forged = forge(&chain, &honest.root, &k[1], |b, _| {
        b.attachments_log = Some(absent)
    });
    assert!(matches!(
        chain.validate_block(&g, &forged),
        Err(Error::MissingBlock(_))
    ));
    // Garbage under the link.
    let garbage = chain.store().put(DAG_CBOR, &[0x82, 0x01, 0x02]).unwrap();
    let forged = forge(&chain, &honest.root, &k[1], |b, _| {
        b.attachments_log = Some(garbage)
    });
    assert!(chain.validate_block(&g, &forged).is_err());
}

#[test]
fn logs_breaking_the_rules_are_not_produced_nor_accepted() {
    let (chain, g, k) = devnet(2, 1_000);
    let t = earliest(&chain, &g, &k[1]);
    let future = [record(0, 1, t + 1)];
    assert!(matches!(
        chain.produce_next_state_with_log(&g, &k[1], &[], &future, t),
        Err(Error::BadAttachmentsLog(_))
    ));
    let max = chain.params().max_attachments_log_records;
    let too_many = vec![record(0, 1, t); max + 1];
    assert!(matches!(
        chain.produce_next_state_with_log(&g, &k[1], &[], &too_many, t),
        Err(Error::BadAttachmentsLog(_))
    ));
    // A block claiming an empty log is refused too (no log is `None`).
    let plain = chain.produce_next_state(&g, &k[1], &[], t).unwrap();
    let empty = chain
        .store()
        .put(DAG_CBOR, &tau_state::encode_attachments_log(&[]).unwrap())
        .unwrap();
    let forged = forge(&chain, &plain.root, &k[1], |b, _| {
        b.attachments_log = Some(empty)
    });
    assert!(matches!(
        chain.validate_block(&g, &forged),
        Err(Error::BadAttachmentsLog(_))
    ));
}

#[test]
fn records_encode_as_tau_attach_does() {
    // [visitor bytes, root link, bytes, time]: the tuple a ServiceRecord
    // is written as (tau-attach's host logs these); decoding is
    // canonical-only.
    let r = record(4, 1 << 40, 99);
    let bytes = tau_state::encode_attachments_log(std::slice::from_ref(&r)).unwrap();
    assert_eq!(bytes[0], 0x81); // a list of one
    assert_eq!(bytes[1], 0x84); // a tuple of four
    assert_eq!(tau_state::decode_attachments_log(&bytes).unwrap(), vec![r]);
    let mut longer = bytes.clone();
    longer.push(0);
    assert!(tau_state::decode_attachments_log(&longer).is_err());
}

/// Every block reachable from `root` by following DAG-CBOR links.
fn reachable<BS: Blockstore>(store: &BS, root: cid::Cid) -> std::collections::HashSet<cid::Cid> {
    use ipld_core::ipld::Ipld;
    let mut seen = std::collections::HashSet::new();
    let mut todo = vec![root];
    while let Some(cid) = todo.pop() {
        if !seen.insert(cid) || cid.codec() != DAG_CBOR {
            continue;
        }
        let Some(bytes) = store.get(&cid).unwrap() else {
            continue;
        };
        let ipld: Ipld = serde_ipld_dagcbor::from_slice(&bytes).unwrap();
        let mut stack = vec![ipld];
        while let Some(node) = stack.pop() {
            match node {
                Ipld::Link(link) => todo.push(link),
                Ipld::List(items) => stack.extend(items),
                Ipld::Map(map) => stack.extend(map.into_values()),
                _ => {}
            }
        }
    }
    seen
}

#[test]
fn attachments_are_named_not_linked_so_chain_sync_never_reaches_them() {
    let (chain, g, k) = devnet(2, 1_000);
    let p = chain.params().clone();
    let t = earliest(&chain, &g, &k[1]);
    // The attachments are in the store: a link would make them reachable.
    let announced = chain.store().put(DAG_CBOR, &[0x81, 0x01]).unwrap();
    let served = chain.store().put(RAW, b"section").unwrap();
    let mut tx = wiring(&p, &k[0], k[0].address(), 1, 0, 4, t);
    let attachment = tau_state::AttachmentRef {
        root: announced,
        size: 2,
    };
    tx.body = tau_state::TxBody::Message {
        text: "media".into(),
        attachment: Some(attachment),
    };
    let log = vec![ServiceRecord {
        visitor: k[0].address(),
        root: served,
        bytes: 7,
        time: t,
    }];
    let next = chain
        .produce_next_state_with_log(&g, &k[1], &[tx.sign(&k[0]).unwrap()], &log, t)
        .unwrap();
    assert!(next.skipped.is_empty());
    chain.validate_block(&g, &next.root).unwrap();
    // The state names both…
    let out = chain
        .tx_output(&next.root, &k[0].address(), 1)
        .unwrap()
        .unwrap();
    assert_eq!(out.attachment, Some(attachment));
    assert_eq!(
        chain.attachments_logs(&next.root, &k[1].address()).unwrap(),
        log
    );
    // …and a traversal that follows every link from the state root (and so
    // through the block, its transactions and its log) reaches neither.
    let reached = reachable(chain.store(), next.root);
    assert!(reached.contains(&next.block.unsigned.attachments_log.unwrap()));
    assert!(reached.contains(&g), "the traversal follows the chain");
    assert!(!reached.contains(&announced));
    assert!(!reached.contains(&served));
}
