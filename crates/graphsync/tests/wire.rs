//! Exact DAG-CBOR bytes of hand-built messages, derived by hand from go-graphsync's
//! `message/ipldbind/schema.ipldsch` and the DAG-CBOR rules (map keys sorted
//! length-first, then bytewise; links as tag 42 over `0x00 ‖ binary CID`), plus
//! round-trip and robustness properties of the decoder.

use std::collections::BTreeMap;

use cid::Cid;
use ipld_core::ipld::Ipld;
use proptest::prelude::*;
use tau_graphsync::{
    Block, Extensions, LinkAction, Message, Metadatum, Request, RequestId, RequestKind, Response,
    Status,
};
use tau_ipld::block::{cid_of, RAW};

/// `d8 2a 58 27 00 ‖ cid`: CBOR tag 42, a 39-byte string, the multibase-identity
/// zero, then the 38-byte binary CIDv1 (01 55 a0 e4 02 20 ‖ 32-byte digest).
fn link_bytes(cid: &Cid) -> Vec<u8> {
    let bin = cid.to_bytes();
    assert_eq!(bin.len(), 38);
    let mut out = vec![0xd8, 0x2a, 0x58, 0x27, 0x00];
    out.extend_from_slice(&bin);
    out
}

#[test]
fn cancel_request_bytes() {
    let msg = Message {
        requests: vec![Request {
            id: RequestId([1; 16]),
            kind: RequestKind::Cancel,
        }],
        ..Message::default()
    };
    let mut want = vec![
        0xa1, 0x63, b'g', b's', b'2', // {"gs2":
        0xa1, 0x63, b'r', b'e', b'q', // {"req":
        0x81, // [ one request
        0xa2, // { two fields, "id" (2 chars) before "type" (4)
        0x62, b'i', b'd', 0x50, // "id": 16-byte string
    ];
    want.extend_from_slice(&[1; 16]);
    want.extend_from_slice(&[0x64, b't', b'y', b'p', b'e', 0x61, b'c']); // "type": "c"
    assert_eq!(msg.encode().unwrap(), want);
    assert_eq!(Message::decode(&want).unwrap(), msg);
}

#[test]
fn new_request_bytes() {
    let root = cid_of(RAW, b"root");
    let ext = Extensions {
        do_not_send_first_blocks: Some(2),
        ..Extensions::default()
    };
    let msg = Message {
        requests: vec![Request {
            id: RequestId([3; 16]),
            kind: RequestKind::New {
                root,
                selector: tau_graphsync::Selector::Matcher.to_ipld(),
                priority: 5,
                extensions: ext,
            },
        }],
        ..Message::default()
    };
    let mut want = vec![
        0xa1, 0x63, b'g', b's', b'2', 0xa1, 0x63, b'r', b'e', b'q', 0x81,
    ];
    // Six fields sorted length-first: id, ext, pri, sel, root, type.
    want.push(0xa6);
    want.extend_from_slice(&[0x62, b'i', b'd', 0x50]);
    want.extend_from_slice(&[3; 16]);
    // "ext": {"graphsync/do-not-send-first-blocks" (34 = 0x22 chars, so 78 22): 2}
    want.extend_from_slice(&[0x63, b'e', b'x', b't', 0xa1, 0x78, 0x22]);
    want.extend_from_slice(b"graphsync/do-not-send-first-blocks");
    want.push(0x02);
    want.extend_from_slice(&[0x63, b'p', b'r', b'i', 0x05]); // "pri": 5
    want.extend_from_slice(&[0x63, b's', b'e', b'l', 0xa1, 0x61, b'.', 0xa0]); // "sel": {".": {}}
    want.extend_from_slice(&[0x64, b'r', b'o', b'o', b't']);
    want.extend_from_slice(&link_bytes(&root));
    want.extend_from_slice(&[0x64, b't', b'y', b'p', b'e', 0x61, b'n']);
    assert_eq!(msg.encode().unwrap(), want);
    assert_eq!(Message::decode(&want).unwrap(), msg);
}

#[test]
fn zero_priority_is_omitted_and_negative_is_a_negative_int() {
    let req = |priority| Request {
        id: RequestId([0; 16]),
        kind: RequestKind::New {
            root: cid_of(RAW, b"r"),
            selector: Ipld::Map(BTreeMap::new()),
            priority,
            extensions: Extensions::default(),
        },
    };
    let Ipld::Map(m) = req(0).to_ipld() else {
        panic!()
    };
    assert!(!m.contains_key("pri"));
    let msg = Message {
        requests: vec![req(-1)],
        ..Message::default()
    };
    let bytes = msg.encode().unwrap();
    // "pri": -1 is 63 'p' 'r' 'i' 20 (major type 1, argument 0).
    assert!(bytes
        .windows(5)
        .any(|w| w == [0x63, b'p', b'r', b'i', 0x20]));
    assert_eq!(Message::decode(&bytes).unwrap(), msg);
}

#[test]
fn response_with_block_bytes() {
    let data = b"hi".to_vec();
    let cid = cid_of(RAW, &data);
    let msg = Message {
        responses: vec![Response {
            id: RequestId([2; 16]),
            status: Status::CompletedFull,
            metadata: vec![Metadatum {
                link: cid,
                action: LinkAction::Present,
            }],
            extensions: Extensions::default(),
        }],
        blocks: vec![Block::new(&cid, data)],
        ..Message::default()
    };
    // {"gs2": {"blk": …, "rsp": …}}: "blk" < "rsp" (same length, bytewise).
    let mut want = vec![0xa1, 0x63, b'g', b's', b'2', 0xa2];
    // "blk": [[h'01 55 a0e402 20', h'6869']]: prefix = v1, raw, blake2b-256, 32.
    want.extend_from_slice(&[0x63, b'b', b'l', b'k', 0x81, 0x82, 0x46]);
    want.extend_from_slice(&[0x01, 0x55, 0xa0, 0xe4, 0x02, 0x20, 0x42, b'h', b'i']);
    // "rsp": [{"meta": [[link, "p"]], "stat": 20, "reqid": h'02…'}]
    want.extend_from_slice(&[0x63, b'r', b's', b'p', 0x81, 0xa3]);
    want.extend_from_slice(&[0x64, b'm', b'e', b't', b'a', 0x81, 0x82]);
    want.extend_from_slice(&link_bytes(&cid));
    want.extend_from_slice(&[0x61, b'p']);
    want.extend_from_slice(&[0x64, b's', b't', b'a', b't', 0x14]);
    want.extend_from_slice(&[0x65, b'r', b'e', b'q', b'i', b'd', 0x50]);
    want.extend_from_slice(&[2; 16]);
    assert_eq!(msg.encode().unwrap(), want);
    let back = Message::decode(&want).unwrap();
    assert_eq!(back, msg);
    assert_eq!(back.blocks[0].cid().unwrap(), cid);
}

#[test]
fn empty_message_is_an_empty_inner_map() {
    // go omits every empty list: {"gs2": {}}.
    let bytes = Message::default().encode().unwrap();
    assert_eq!(bytes, [0xa1, 0x63, b'g', b's', b'2', 0xa0]);
    assert_eq!(Message::decode(&bytes).unwrap(), Message::default());
}

fn enc(v: Ipld) -> Vec<u8> {
    serde_ipld_dagcbor::to_vec(&v).unwrap()
}

fn map(entries: Vec<(&str, Ipld)>) -> Ipld {
    Ipld::Map(
        entries
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect(),
    )
}

fn gs2(inner: Vec<(&str, Ipld)>) -> Vec<u8> {
    enc(map(vec![("gs2", map(inner))]))
}

#[test]
fn malformed_messages_are_typed_errors() {
    let id = Ipld::Bytes(vec![0; 16]);
    let rsp = |stat: i128, extra: Vec<(&str, Ipld)>| {
        let mut e = vec![("reqid", id.clone()), ("stat", Ipld::Integer(stat))];
        e.extend(extra);
        gs2(vec![("rsp", Ipld::List(vec![map(e)]))])
    };
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("unknown status", rsp(16, vec![])),
        ("unknown field", rsp(20, vec![("foo", Ipld::Null)])),
        (
            "unknown action",
            rsp(
                20,
                vec![(
                    "meta",
                    Ipld::List(vec![Ipld::List(vec![
                        Ipld::Link(cid_of(RAW, b"x")),
                        Ipld::String("x".into()),
                    ])]),
                )],
            ),
        ),
        (
            "short id",
            gs2(vec![(
                "req",
                Ipld::List(vec![map(vec![
                    ("id", Ipld::Bytes(vec![0; 15])),
                    ("type", Ipld::String("c".into())),
                ])]),
            )]),
        ),
        (
            "new without root",
            gs2(vec![(
                "req",
                Ipld::List(vec![map(vec![
                    ("id", id.clone()),
                    ("type", Ipld::String("n".into())),
                    ("sel", map(vec![(".", map(vec![]))])),
                ])]),
            )]),
        ),
        (
            "block 3-tuple",
            gs2(vec![(
                "blk",
                Ipld::List(vec![Ipld::List(vec![
                    Ipld::Bytes(vec![1, 0x55, 0x12, 0x20]),
                    Ipld::Bytes(vec![]),
                    Ipld::Bytes(vec![]),
                ])]),
            )]),
        ),
        (
            "two roots",
            enc(map(vec![("gs2", map(vec![])), ("gs1", map(vec![]))])),
        ),
        ("not a map", enc(Ipld::List(vec![]))),
        (
            "bad first-blocks",
            rsp(
                20,
                vec![(
                    "ext",
                    map(vec![(
                        "graphsync/do-not-send-first-blocks",
                        Ipld::Integer(-1),
                    )]),
                )],
            ),
        ),
    ];
    for (what, bytes) in cases {
        let r = Message::decode(&bytes);
        assert!(
            matches!(r, Err(tau_graphsync::Error::InvalidMessage(_))),
            "{what}: {r:?}"
        );
    }
}

#[test]
fn cancel_ignores_other_fields_as_go_does() {
    let bytes = gs2(vec![(
        "req",
        Ipld::List(vec![map(vec![
            ("id", Ipld::Bytes(vec![9; 16])),
            ("type", Ipld::String("c".into())),
            ("pri", Ipld::Integer(3)),
            ("root", Ipld::Link(cid_of(RAW, b"x"))),
        ])]),
    )]);
    let msg = Message::decode(&bytes).unwrap();
    assert_eq!(msg.requests[0].kind, RequestKind::Cancel);
}

// ---- properties ----

fn arb_cid() -> impl Strategy<Value = Cid> {
    (any::<[u8; 8]>(), prop_oneof![Just(RAW), Just(0x71u64)])
        .prop_map(|(seed, codec)| cid_of(codec, &seed))
}

fn arb_ipld() -> impl Strategy<Value = Ipld> {
    let leaf = prop_oneof![
        Just(Ipld::Null),
        any::<bool>().prop_map(Ipld::Bool),
        any::<i64>().prop_map(|i| Ipld::Integer(i.into())),
        "[a-z]{0,6}".prop_map(Ipld::String),
        proptest::collection::vec(any::<u8>(), 0..8).prop_map(Ipld::Bytes),
        arb_cid().prop_map(Ipld::Link),
    ];
    leaf.prop_recursive(3, 16, 4, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..4).prop_map(Ipld::List),
            proptest::collection::btree_map("[a-z]{0,4}", inner, 0..4).prop_map(Ipld::Map),
        ]
    })
}

fn arb_ext() -> impl Strategy<Value = Extensions> {
    (
        proptest::option::of(proptest::collection::vec(arb_cid(), 0..3)),
        proptest::option::of(0u64..=i64::MAX as u64),
        proptest::option::of("[a-z]{0,5}"),
        proptest::collection::btree_map("x/[a-z]{0,4}", arb_ipld(), 0..2),
    )
        .prop_map(|(cids, first, key, other)| Extensions {
            do_not_send_cids: cids,
            do_not_send_first_blocks: first,
            dedup_by_key: key,
            other,
        })
}

fn arb_request() -> impl Strategy<Value = Request> {
    let kind = prop_oneof![
        (arb_cid(), arb_ipld(), any::<i32>(), arb_ext()).prop_map(
            |(root, selector, priority, extensions)| {
                RequestKind::New {
                    root,
                    selector,
                    priority,
                    extensions,
                }
            }
        ),
        Just(RequestKind::Cancel),
        arb_ext().prop_map(|extensions| RequestKind::Update { extensions }),
    ];
    (any::<[u8; 16]>(), kind).prop_map(|(id, kind)| Request {
        id: RequestId(id),
        kind,
    })
}

fn arb_response() -> impl Strategy<Value = Response> {
    let action = prop_oneof![
        Just(LinkAction::Present),
        Just(LinkAction::DuplicateNotSent),
        Just(LinkAction::Missing),
        Just(LinkAction::DuplicateDagSkipped),
    ];
    (
        any::<[u8; 16]>(),
        proptest::sample::select(Status::ALL.to_vec()),
        proptest::collection::vec((arb_cid(), action), 0..4),
        arb_ext(),
    )
        .prop_map(|(id, status, meta, extensions)| Response {
            id: RequestId(id),
            status,
            metadata: meta
                .into_iter()
                .map(|(link, action)| Metadatum { link, action })
                .collect(),
            extensions,
        })
}

fn arb_message() -> impl Strategy<Value = Message> {
    (
        proptest::collection::vec(arb_request(), 0..3),
        proptest::collection::vec(arb_response(), 0..3),
        proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..40), 0..3),
    )
        .prop_map(|(requests, responses, datas)| Message {
            requests,
            responses,
            blocks: datas
                .into_iter()
                .map(|d| Block::new(&cid_of(RAW, &d), d))
                .collect(),
        })
}

proptest! {
    #[test]
    fn messages_round_trip(msg in arb_message()) {
        let bytes = msg.encode().unwrap();
        prop_assert_eq!(Message::decode(&bytes).unwrap(), msg.clone());
        // Re-encoding gives the same bytes (one canonical form).
        prop_assert_eq!(Message::decode(&bytes).unwrap().encode().unwrap(), bytes);
    }

    #[test]
    fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
        let _ = Message::decode(&bytes);
    }

    #[test]
    fn mutated_messages_never_panic(msg in arb_message(), flips in proptest::collection::vec((any::<usize>(), any::<u8>()), 1..4)) {
        let mut bytes = msg.encode().unwrap();
        for (at, x) in flips {
            let n = bytes.len();
            bytes[at % n] ^= x;
        }
        if let Ok(m) = Message::decode(&bytes) {
            for b in &m.blocks {
                let _ = b.cid();
            }
        }
    }
}
