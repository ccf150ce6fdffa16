use ipld_core::ipld::Ipld;
use tau_ipld::block::{cid_of, DAG_CBOR, RAW};
use tau_ipld::{Blockstore, MemoryBlockstore};

use super::*;
use crate::dagcbor;
use crate::traversal::walk;

const PEER: &str = "peer";

fn request(n: u8, root: Cid, selector: &Selector, extensions: Extensions) -> Request {
    Request {
        id: RequestId([n; 16]),
        kind: RequestKind::New {
            root,
            selector: selector.to_ipld(),
            priority: 0,
            extensions,
        },
    }
}

fn all() -> Selector {
    Selector::explore_all_recursively(100)
}

/// A root list linking `n` raw blocks of `size` bytes each.
fn fan(store: &MemoryBlockstore, n: usize, size: usize) -> (Cid, Vec<Cid>) {
    let leaves: Vec<Cid> = (0..n)
        .map(|i| {
            let mut data = vec![(i % 251) as u8; size];
            data.extend_from_slice(&(i as u64).to_be_bytes());
            store.put(RAW, &data).unwrap()
        })
        .collect();
    let list = Ipld::List(leaves.iter().map(|c| Ipld::Link(*c)).collect());
    let root = store
        .put(DAG_CBOR, &dagcbor::encode(&list).unwrap())
        .unwrap();
    (root, leaves)
}

/// Every message for `peer` until its requests end, acknowledging as it goes.
fn drain(r: &mut Responder<&'static str>, store: &MemoryBlockstore) -> Vec<Message> {
    let mut out = Vec::new();
    while let Some(m) = r.poll(&PEER, store) {
        let bytes = m.blocks.iter().map(|b| b.data.len()).sum();
        r.acknowledge(&PEER, bytes);
        out.push(m);
        assert!(out.len() < 10_000);
    }
    out
}

fn statuses(msgs: &[Message]) -> Vec<u8> {
    msgs.iter()
        .flat_map(|m| m.responses.iter().map(|r| r.status.code()))
        .collect()
}

fn meta(msgs: &[Message]) -> Vec<(Cid, LinkAction)> {
    msgs.iter()
        .flat_map(|m| {
            m.responses
                .iter()
                .flat_map(|r| r.metadata.iter().map(|md| (md.link, md.action)))
        })
        .collect()
}

fn sent_cids(msgs: &[Message]) -> Vec<Cid> {
    msgs.iter()
        .flat_map(|m| m.blocks.iter().map(|b| b.cid().unwrap()))
        .collect()
}

#[test]
fn complete_request_is_20_with_every_block_in_walk_order() {
    let s = MemoryBlockstore::new();
    let (root, _) = fan(&s, 5, 10);
    let mut r = Responder::new(ResponderConfig::default());
    assert!(r
        .receive(&PEER, vec![request(1, root, &all(), Extensions::default())])
        .is_none());
    let msgs = drain(&mut r, &s);
    assert_eq!(statuses(&msgs), [20]);
    let order = walk(&s, root, &all(), &Limits::default()).unwrap().links;
    assert_eq!(sent_cids(&msgs), order);
    assert!(meta(&msgs).iter().all(|(_, a)| *a == LinkAction::Present));
    assert_eq!(r.in_flight(&PEER), 0);
}

#[test]
fn missing_blocks_give_21_and_missing_root_34() {
    let full = MemoryBlockstore::new();
    let (root, leaves) = fan(&full, 4, 10);
    let partial = MemoryBlockstore::new();
    for c in std::iter::once(root).chain(leaves.iter().copied()) {
        if c != leaves[2] {
            partial
                .put_keyed(&c, &full.get(&c).unwrap().unwrap())
                .unwrap();
        }
    }
    let mut r = Responder::new(ResponderConfig::default());
    r.receive(&PEER, vec![request(1, root, &all(), Extensions::default())]);
    let msgs = drain(&mut r, &partial);
    assert_eq!(statuses(&msgs), [21]);
    assert_eq!(meta(&msgs)[3], (leaves[2], LinkAction::Missing));
    assert_eq!(sent_cids(&msgs).len(), 4);

    let empty = MemoryBlockstore::new();
    r.receive(&PEER, vec![request(2, root, &all(), Extensions::default())]);
    let msgs = drain(&mut r, &empty);
    assert_eq!(statuses(&msgs), [34]);
    assert_eq!(meta(&msgs), [(root, LinkAction::Missing)]);
}

#[test]
fn refused_selectors_are_30() {
    let s = MemoryBlockstore::new();
    let (root, _) = fan(&s, 1, 1);
    let mut r = Responder::new(ResponderConfig::default());
    let too_deep = Selector::explore_all_recursively(101);
    let unbounded = Selector::ExploreRecursive {
        limit: crate::RecursionLimit::None,
        sequence: Box::new(Selector::ExploreAll {
            next: Box::new(Selector::ExploreRecursiveEdge),
        }),
    };
    let mut conditional = Request {
        id: RequestId([3; 16]),
        kind: RequestKind::Cancel,
    };
    conditional.kind = RequestKind::New {
        root,
        selector: crate::fields::single_entry("&", Ipld::Map(Default::default())),
        priority: 0,
        extensions: Extensions::default(),
    };
    let mut garbage = conditional.clone();
    garbage.id = RequestId([4; 16]);
    if let RequestKind::New { selector, .. } = &mut garbage.kind {
        *selector = Ipld::Integer(7);
    }
    let answer = r
        .receive(
            &PEER,
            vec![
                request(1, root, &too_deep, Extensions::default()),
                request(2, root, &unbounded, Extensions::default()),
                conditional,
                garbage,
            ],
        )
        .unwrap();
    assert_eq!(statuses(&[answer]), [30, 30, 30, 30]);
    assert_eq!(r.in_flight(&PEER), 0);
}

#[test]
fn cancel_is_35_and_stops_the_request() {
    let s = MemoryBlockstore::new();
    let (root, _) = fan(&s, 20, 100_000);
    let mut r = Responder::new(ResponderConfig::default());
    r.receive(&PEER, vec![request(1, root, &all(), Extensions::default())]);
    let first = r.poll(&PEER, &s).unwrap();
    assert_eq!(first.responses[0].status, Status::PartialResponse);
    let cancel = Request {
        id: RequestId([1; 16]),
        kind: RequestKind::Cancel,
    };
    let answer = r.receive(&PEER, vec![cancel.clone()]).unwrap();
    assert_eq!(answer.responses[0].status, Status::Cancelled);
    assert_eq!(r.in_flight(&PEER), 0);
    assert!(r.poll(&PEER, &s).is_none());
    // Cancelling again (or an unknown id) is ignored.
    assert!(r.receive(&PEER, vec![cancel]).is_none());
}

#[test]
fn blocks_are_batched_under_512_kib() {
    let s = MemoryBlockstore::new();
    let (root, _) = fan(&s, 40, 100_000); // about 4 MB
    let mut r = Responder::new(ResponderConfig::default());
    r.receive(&PEER, vec![request(1, root, &all(), Extensions::default())]);
    let msgs = drain(&mut r, &s);
    let st = statuses(&msgs);
    assert!(msgs.len() >= 8, "{}", msgs.len());
    assert!(st[..st.len() - 1].iter().all(|c| *c == 14));
    assert_eq!(st.last(), Some(&20));
    for m in &msgs {
        let bytes: usize = m.blocks.iter().map(|b| b.data.len()).sum();
        assert!(bytes <= DEFAULT_MAX_BLOCK_BYTES);
        // Every encoded message fits the 4 MiB frame limit.
        assert!(m.encode().unwrap().len() <= DEFAULT_MAX_MESSAGE_SIZE);
    }
    assert_eq!(
        sent_cids(&msgs),
        walk(&s, root, &all(), &Limits::default()).unwrap().links
    );
}

#[test]
fn link_count_per_message_is_bounded() {
    let s = MemoryBlockstore::new();
    let (root, _) = fan(&s, 50, 1);
    let config = ResponderConfig {
        max_links_per_message: 8,
        ..ResponderConfig::default()
    };
    let mut r = Responder::new(config);
    r.receive(&PEER, vec![request(1, root, &all(), Extensions::default())]);
    let msgs = drain(&mut r, &s);
    assert!(msgs.iter().all(|m| m.responses[0].metadata.len() <= 8));
    assert_eq!(meta(&msgs).len(), 51);
}

#[test]
fn busy_when_too_many_requests_or_bytes() {
    let s = MemoryBlockstore::new();
    let (root, _) = fan(&s, 40, 100_000);
    let mut r = Responder::new(ResponderConfig::default());
    let reqs: Vec<Request> = (0..7)
        .map(|i| request(i, root, &all(), Extensions::default()))
        .collect();
    let answer = r.receive(&PEER, reqs).unwrap();
    assert_eq!(answer.responses.len(), 1);
    assert_eq!(answer.responses[0].id, RequestId([6; 16]));
    assert_eq!(answer.responses[0].status, Status::Busy);
    assert_eq!(r.in_flight(&PEER), 6);
    // Another peer is not affected.
    assert!(r
        .receive(
            &"other",
            vec![request(0, root, &all(), Extensions::default())]
        )
        .is_none());

    // Bytes: poll without acknowledging until the budget is exceeded.
    let config = ResponderConfig {
        max_buffered_bytes_per_peer: 1 << 20,
        ..ResponderConfig::default()
    };
    let mut r = Responder::new(config);
    r.receive(&PEER, vec![request(1, root, &all(), Extensions::default())]);
    let mut polled = 0;
    while r.poll(&PEER, &s).is_some() {
        polled += 1;
    }
    assert!((2..=4).contains(&polled), "{polled}");
    let answer = r
        .receive(&PEER, vec![request(2, root, &all(), Extensions::default())])
        .unwrap();
    assert_eq!(answer.responses[0].status, Status::Busy);
    r.acknowledge(&PEER, usize::MAX);
    assert!(r.poll(&PEER, &s).is_some());
}

#[test]
fn do_not_send_cids_and_first_blocks() {
    let s = MemoryBlockstore::new();
    let (root, leaves) = fan(&s, 6, 10);
    let mut r = Responder::new(ResponderConfig::default());
    let ext = Extensions {
        do_not_send_cids: Some(vec![leaves[1], leaves[4]]),
        ..Extensions::default()
    };
    r.receive(&PEER, vec![request(1, root, &all(), ext)]);
    let msgs = drain(&mut r, &s);
    assert_eq!(statuses(&msgs), [20]);
    let sent = sent_cids(&msgs);
    assert!(!sent.contains(&leaves[1]) && !sent.contains(&leaves[4]));
    assert_eq!(sent.len(), 5);
    assert_eq!(meta(&msgs)[2], (leaves[1], LinkAction::DuplicateNotSent));

    let ext = Extensions {
        do_not_send_first_blocks: Some(3),
        ..Extensions::default()
    };
    r.receive(&PEER, vec![request(2, root, &all(), ext)]);
    let msgs = drain(&mut r, &s);
    assert_eq!(sent_cids(&msgs), leaves[2..]);
    assert_eq!(meta(&msgs).len(), 7);
}

#[test]
fn dedup_within_and_across_requests_and_by_key() {
    let s = MemoryBlockstore::new();
    let leaf = s.put(RAW, b"shared").unwrap();
    let root = s
        .put(
            DAG_CBOR,
            &dagcbor::encode(&Ipld::List(vec![Ipld::Link(leaf); 3])).unwrap(),
        )
        .unwrap();
    let mut r = Responder::new(ResponderConfig::default());
    // Within one request: the leaf is sent once, listed three times.
    r.receive(&PEER, vec![request(1, root, &all(), Extensions::default())]);
    let msgs = drain(&mut r, &s);
    assert_eq!(sent_cids(&msgs), [root, leaf]);
    assert_eq!(meta(&msgs).len(), 4);

    // Two concurrent requests in the default group, interleaved by poll: a block
    // goes out once for both while both are in flight (go's link tracker).
    let (big, leaves) = fan(&s, 12, 100_000);
    r.receive(
        &PEER,
        vec![
            request(2, big, &all(), Extensions::default()),
            request(3, big, &all(), Extensions::default()),
        ],
    );
    let msgs = drain(&mut r, &s);
    assert!(msgs.len() >= 4);
    let mut sent = sent_cids(&msgs);
    // Without dedup both requests would send all 13 blocks. Blocks are shared
    // only while both requests are in flight: once the first ends, the blocks
    // it sent are released and the second sends what it still needs.
    assert!(sent.len() < 2 * 13, "{}", sent.len());
    sent.sort();
    sent.dedup();
    let mut want: Vec<Cid> = std::iter::once(big).chain(leaves).collect();
    want.sort();
    assert_eq!(sent, want);
    assert_eq!(statuses(&msgs).iter().filter(|c| **c == 20).count(), 2);
    // With distinct dedup keys each request gets its own blocks.
    let keyed = |k: &str| Extensions {
        dedup_by_key: Some(k.into()),
        ..Extensions::default()
    };
    r.receive(
        &PEER,
        vec![
            request(4, root, &all(), keyed("a")),
            request(5, root, &all(), keyed("b")),
        ],
    );
    let msgs = drain(&mut r, &s);
    assert_eq!(sent_cids(&msgs).len(), 4);
    // After requests end, their blocks may be sent again.
    r.receive(&PEER, vec![request(6, root, &all(), Extensions::default())]);
    assert_eq!(sent_cids(&drain(&mut r, &s)).len(), 2);
}

#[test]
fn unwalkable_blocks_end_with_32() {
    let s = MemoryBlockstore::new();
    let pb = s.put(0x70, b"\x0a\x00").unwrap();
    let root = s
        .put(
            DAG_CBOR,
            &dagcbor::encode(&Ipld::List(vec![Ipld::Link(pb)])).unwrap(),
        )
        .unwrap();
    let mut r = Responder::new(ResponderConfig::default());
    r.receive(&PEER, vec![request(1, root, &all(), Extensions::default())]);
    let msgs = drain(&mut r, &s);
    assert_eq!(statuses(&msgs), [32]);
    // The root was sent; the block that cannot be walked is not announced.
    assert_eq!(meta(&msgs), [(root, LinkAction::Present)]);
    // A corrupt store entry counts as missing.
    let bad = cid_of(RAW, b"good");
    s.put_keyed(&bad, b"evil").unwrap();
    r.receive(&PEER, vec![request(2, bad, &all(), Extensions::default())]);
    assert_eq!(statuses(&drain(&mut r, &s)), [34]);
}

/// What the hook heard: root, bytes, blocks, final status.
type Heard = (Cid, u64, u64, Option<Status>);

/// Refuses requests for `refused`, records what the others served.
#[derive(Default)]
struct Gate {
    refused: Option<Cid>,
    served: std::sync::Mutex<Vec<Heard>>,
}

impl ServeHook<&'static str> for Gate {
    fn admit(&self, _: &&'static str, request: &Incoming<'_>) -> Admission {
        if Some(*request.root) == self.refused {
            Admission::Reject {
                status: Status::Rejected,
                reason: format!("quota exceeded for {}", request.root),
            }
        } else {
            Admission::Allow
        }
    }

    fn served(&self, _: &&'static str, served: &Served<'_>) {
        self.served.lock().unwrap().push((
            *served.root,
            served.bytes,
            served.blocks,
            served.status,
        ));
    }
}

#[test]
fn hook_refuses_with_a_reason_and_hears_the_bytes_served() {
    let store = MemoryBlockstore::new();
    let (open, leaves) = fan(&store, 5, 1000);
    let (closed, _) = fan(&store, 2, 10);
    let gate = Arc::new(Gate {
        refused: Some(closed),
        ..Gate::default()
    });
    let mut r = Responder::with_hook(ResponderConfig::default(), Some(gate.clone()));
    let answer = r
        .receive(
            &PEER,
            vec![request(1, closed, &all(), Extensions::default())],
        )
        .unwrap();
    let refusal = &answer.responses[0];
    assert_eq!(refusal.status, Status::Rejected);
    assert_eq!(
        rejection_reason(&refusal.extensions),
        Some(format!("quota exceeded for {closed}").as_str())
    );
    assert_eq!(r.in_flight(&PEER), 0);
    // The requester's verifier turns the refusal into a typed error.
    let mut verifier = crate::verifier::Verifier::new(closed, &all(), &Limits::default()).unwrap();
    let mut pool = crate::verifier::BlockPool::default();
    let (back, _) = crate::loopback::through_the_wire(&answer).unwrap();
    match verifier.receive(&back.responses[0], &mut pool) {
        Err(Error::Refused { status, reason }) => {
            assert_eq!(status, Status::Rejected);
            assert!(reason.starts_with("quota exceeded"), "{reason}");
        }
        other => panic!("expected a refusal, got {other:?}"),
    }

    assert!(r
        .receive(&PEER, vec![request(2, open, &all(), Extensions::default())])
        .is_none());
    let msgs = drain(&mut r, &store);
    assert_eq!(statuses(&msgs).last(), Some(&20));
    let list_len = store.get(&open).unwrap().unwrap().len() as u64;
    let leaf_bytes: u64 = leaves
        .iter()
        .map(|c| store.get(c).unwrap().unwrap().len() as u64)
        .sum();
    assert_eq!(
        *gate.served.lock().unwrap(),
        vec![(open, list_len + leaf_bytes, 6, Some(Status::CompletedFull))]
    );

    // A cancelled request and a vanished peer report too.
    r.receive(&PEER, vec![request(3, open, &all(), Extensions::default())]);
    r.cancel(&PEER, &RequestId([3; 16]));
    r.receive(&PEER, vec![request(4, open, &all(), Extensions::default())]);
    r.remove_peer(&PEER);
    let served = gate.served.lock().unwrap();
    assert_eq!(served[1], (open, 0, 0, Some(Status::Cancelled)));
    assert_eq!(served[2], (open, 0, 0, None));
}

#[test]
fn long_reasons_are_cut_at_a_char_boundary() {
    let ext = hook::rejection_extensions(&"é".repeat(MAX_REASON_LEN));
    let reason = rejection_reason(&ext).unwrap();
    assert!(reason.len() <= MAX_REASON_LEN && reason.len() >= MAX_REASON_LEN - 1);
    assert!(reason.chars().all(|c| c == 'é'));
}

/// A store that hands out owned vectors only: the `Blockstore` defaults of
/// the shared-bytes methods (a copy of each block, as before they existed).
struct Copying<'a>(&'a MemoryBlockstore);

impl tau_ipld::Blockstore for Copying<'_> {
    fn get_raw(&self, cid: &Cid) -> tau_ipld::Result<Option<Vec<u8>>> {
        self.0.get_raw(cid)
    }
    fn put_keyed(&self, cid: &Cid, block: &[u8]) -> tau_ipld::Result<()> {
        self.0.put_keyed(cid, block)
    }
    fn has(&self, cid: &Cid) -> tau_ipld::Result<bool> {
        self.0.has(cid)
    }
}

impl tau_ipld::BlockstoreExt for Copying<'_> {
    fn get_trusted(&self, cid: &Cid) -> tau_ipld::Result<Option<Vec<u8>>> {
        self.0.get_trusted(cid)
    }
}

/// The frames of every message served for one request from `store`.
fn frames<BS: tau_ipld::BlockstoreExt + ?Sized>(store: &BS, root: Cid) -> Vec<Vec<u8>> {
    let mut r = Responder::new(ResponderConfig::default());
    r.receive(&PEER, vec![request(1, root, &all(), Extensions::default())]);
    let mut out = Vec::new();
    while let Some(m) = r.poll(&PEER, store) {
        let bytes = m.blocks.iter().map(|b| b.data.len()).sum();
        r.acknowledge(&PEER, bytes);
        let mut frame = Vec::new();
        m.encode_frame_into(crate::framing::DEFAULT_MAX_MESSAGE_SIZE, &mut frame)
            .unwrap();
        out.push(frame);
        assert!(out.len() < 1_000);
    }
    out
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(12))]

    /// Blocks served from shared store buffers give byte-identical frames to
    /// blocks copied out of the store, and the blocks decoded from them and
    /// stored through the shared path read back identical to the copying one.
    #[test]
    fn shared_block_bytes_give_identical_frames_and_blocks(
        sizes in proptest::collection::vec(
            proptest::prop_oneof![1usize..300, 262_000usize..262_200, 300_000usize..300_010],
            1..6,
        ),
        keyed in proptest::prelude::any::<bool>(),
    ) {
        let store = MemoryBlockstore::new();
        let mut leaves = Vec::new();
        for (i, size) in sizes.iter().enumerate() {
            let data = vec![(i * 37 % 251) as u8; *size];
            let cid = cid_of(RAW, &data);
            // Keyed blocks are re-hashed on a trusted read, shared or not.
            if keyed {
                store.put_keyed(&cid, &data).unwrap();
            } else {
                store.put(RAW, &data).unwrap();
            }
            leaves.push(Ipld::Link(cid));
        }
        let root = store
            .put(DAG_CBOR, &dagcbor::encode(&Ipld::List(leaves)).unwrap())
            .unwrap();
        let shared = frames(&store, root);
        let copied = frames(&Copying(&store), root);
        proptest::prop_assert_eq!(&shared, &copied);
        let (into_shared, into_copies) = (MemoryBlockstore::new(), MemoryBlockstore::new());
        let mut cids = Vec::new();
        for frame in &shared {
            let (body, _) = crate::framing::decode_frame(frame, usize::MAX).unwrap().unwrap();
            let msg = Message::decode(body).unwrap();
            let blocks: Vec<(Cid, bytes::Bytes)> =
                msg.blocks.iter().map(|b| (b.cid().unwrap(), b.data.clone())).collect();
            let owned: Vec<(Cid, Vec<u8>)> =
                blocks.iter().map(|(c, d)| (*c, d.to_vec())).collect();
            into_shared.put_many_keyed_shared(&blocks).unwrap();
            into_copies.put_many_keyed(&owned).unwrap();
            cids.extend(blocks.iter().map(|(c, _)| *c));
        }
        proptest::prop_assert_eq!(cids.len(), sizes.len() + 1);
        for cid in &cids {
            let want = store.get(cid).unwrap();
            proptest::prop_assert!(want.is_some());
            proptest::prop_assert_eq!(&into_shared.get(cid).unwrap(), &want);
            proptest::prop_assert_eq!(&into_copies.get(cid).unwrap(), &want);
        }
    }
}

#[test]
fn per_request_budgets_end_the_request_with_a_reason() {
    let s = MemoryBlockstore::new();
    let (root, _) = fan(&s, 20, 1000);
    let reason_of = |msgs: &[Message]| {
        let last = msgs.last().unwrap().responses.last().unwrap();
        assert_eq!(last.status, Status::Unknown);
        rejection_reason(&last.extensions).unwrap().to_string()
    };
    // Blocks: the root and 4 leaves, then the budget is spent.
    let mut r = Responder::new(ResponderConfig {
        max_blocks_per_request: 5,
        ..ResponderConfig::default()
    });
    r.receive(&PEER, vec![request(1, root, &all(), Extensions::default())]);
    let msgs = drain(&mut r, &s);
    assert_eq!(sent_cids(&msgs).len(), 5);
    assert!(
        reason_of(&msgs).contains("5 blocks"),
        "{}",
        reason_of(&msgs)
    );
    // Bytes: about three leaves' worth.
    let mut r = Responder::new(ResponderConfig {
        max_bytes_per_request: 3_500,
        ..ResponderConfig::default()
    });
    r.receive(&PEER, vec![request(1, root, &all(), Extensions::default())]);
    let msgs = drain(&mut r, &s);
    let sent: usize = msgs
        .iter()
        .flat_map(|m| &m.blocks)
        .map(|b| b.data.len())
        .sum();
    assert!(sent <= 3_500, "{sent}");
    assert!(reason_of(&msgs).contains("3500 bytes"));
    // Links, through the traversal limits.
    let mut r = Responder::new(ResponderConfig {
        limits: Limits {
            max_links: Some(3),
            ..Limits::default()
        },
        ..ResponderConfig::default()
    });
    r.receive(&PEER, vec![request(1, root, &all(), Extensions::default())]);
    let msgs = drain(&mut r, &s);
    assert_eq!(meta(&msgs).len(), 3);
    assert!(reason_of(&msgs).contains("3 links"));
    // Time: a zero budget ends the request at its first poll.
    let mut r = Responder::new(ResponderConfig {
        max_request_duration: Duration::ZERO,
        ..ResponderConfig::default()
    });
    r.receive(&PEER, vec![request(1, root, &all(), Extensions::default())]);
    std::thread::sleep(Duration::from_millis(2));
    let msgs = drain(&mut r, &s);
    assert_eq!(msgs.len(), 1);
    assert!(reason_of(&msgs).contains("time budget"));
}

/// Admits every request up to `cap` bytes.
struct Cap(u64);

impl ServeHook<&'static str> for Cap {
    fn admit(&self, _: &&'static str, _: &Incoming<'_>) -> Admission {
        Admission::AllowUpTo { bytes: self.0 }
    }

    fn served(&self, _: &&'static str, _: &Served<'_>) {}
}

#[test]
fn a_hook_caps_the_bytes_of_the_request_it_admits() {
    let s = MemoryBlockstore::new();
    let (root, _) = fan(&s, 20, 1000);
    let mut r = Responder::with_hook(ResponderConfig::default(), Some(Arc::new(Cap(3_500))));
    r.receive(&PEER, vec![request(1, root, &all(), Extensions::default())]);
    let msgs = drain(&mut r, &s);
    let sent: usize = msgs
        .iter()
        .flat_map(|m| &m.blocks)
        .map(|b| b.data.len())
        .sum();
    assert!((2_000..=3_500).contains(&sent), "{sent}");
    let last = msgs.last().unwrap().responses.last().unwrap();
    assert_eq!(last.status, Status::Unknown);
    let reason = rejection_reason(&last.extensions).unwrap();
    assert!(reason.contains("3500 bytes"), "{reason}");
    // The responder's own budget still applies under a larger cap.
    let mut r = Responder::with_hook(
        ResponderConfig {
            max_bytes_per_request: 2_500,
            ..ResponderConfig::default()
        },
        Some(Arc::new(Cap(1 << 30))),
    );
    r.receive(&PEER, vec![request(1, root, &all(), Extensions::default())]);
    let msgs = drain(&mut r, &s);
    let last = msgs.last().unwrap().responses.last().unwrap();
    assert!(rejection_reason(&last.extensions)
        .unwrap()
        .contains("2500 bytes"));
}

#[test]
fn work_is_sliced_per_message() {
    // One node with 5,000 scalar children and no links: a tiny work slice
    // answers in many partial messages, each returned promptly.
    let s = MemoryBlockstore::new();
    let list = Ipld::List((0..5_000).map(Ipld::Integer).collect());
    let root = s.put(DAG_CBOR, &dagcbor::encode(&list).unwrap()).unwrap();
    let mut r = Responder::new(ResponderConfig {
        max_work_per_message: 100,
        ..ResponderConfig::default()
    });
    r.receive(&PEER, vec![request(1, root, &all(), Extensions::default())]);
    let msgs = drain(&mut r, &s);
    assert!(msgs.len() >= 40, "{}", msgs.len());
    assert_eq!(
        *statuses(&msgs).last().unwrap(),
        Status::CompletedFull.code()
    );
    assert_eq!(meta(&msgs).len(), 1);
}

#[test]
fn selectors_over_the_size_limit_are_rejected() {
    let s = MemoryBlockstore::new();
    let (root, _) = fan(&s, 2, 10);
    let fields = (0..200)
        .map(|i| (format!("f{i}"), Selector::Matcher))
        .collect();
    let wide = Selector::ExploreFields { fields };
    assert_eq!(wide.size(), 401);
    let mut r = Responder::new(ResponderConfig {
        limits: Limits {
            max_selector_size: 400,
            ..Limits::default()
        },
        ..ResponderConfig::default()
    });
    let answer = r
        .receive(&PEER, vec![request(1, root, &wide, Extensions::default())])
        .unwrap();
    assert_eq!(answer.responses[0].status, Status::Rejected);
}
