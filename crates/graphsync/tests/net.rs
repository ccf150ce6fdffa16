//! Two libp2p nodes on 127.0.0.1 (tcp + noise + yamux): whole DAGs, HAMTs,
//! single HAMT keys, raw attachments, a lying responder, cancel, and limits
//! under 50 concurrent requests. Every test ends by itself (a timeout).
#![cfg(feature = "net")]

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use cid::Cid;
use futures::io::{AsyncWriteExt, BufReader};
use futures::StreamExt;
use ipld_core::ipld::Ipld;
use tau_graphsync::net::{io, Config, Event, Graphsync, PeerId, TcpNode, PROTOCOL};
use tau_graphsync::responder::{Responder, ResponderConfig};
use tau_graphsync::traversal::{walk, Limits};
use tau_graphsync::{dagcbor, Block, Error, Extensions, HamtLayout, Message, Selector, Status};
use tau_hamt::Hamt;
use tau_ipld::block::{DAG_CBOR, RAW};
use tau_ipld::{Blockstore, MemoryBlockstore};

/// Every test stops after this, passing or not.
const LIMIT: Duration = Duration::from_secs(120);

async fn bounded<T>(f: impl Future<Output = T>) -> T {
    tokio::time::timeout(LIMIT, f)
        .await
        .expect("test timed out")
}

struct Side {
    node: TcpNode,
    gs: Graphsync,
    store: Arc<MemoryBlockstore>,
}

async fn side(config: Config) -> Side {
    let node = TcpNode::spawn().await.unwrap();
    let store = Arc::new(MemoryBlockstore::new());
    let gs = node.start_graphsync(store.clone(), config).unwrap();
    Side { node, gs, store }
}

/// A server and a client connected to it.
async fn pair(server: Config, client: Config) -> (Side, Side) {
    let s = side(server).await;
    let c = side(client).await;
    c.node
        .connect(s.node.peer_id(), s.node.listen_addr().clone())
        .await
        .unwrap();
    (s, c)
}

fn link_node(store: &MemoryBlockstore, links: Vec<Cid>) -> Cid {
    let node = Ipld::List(links.into_iter().map(Ipld::Link).collect());
    store
        .put(DAG_CBOR, &dagcbor::encode(&node).unwrap())
        .unwrap()
}

/// root → `nodes` DAG-CBOR nodes → `leaves` raw leaves of `size` bytes each,
/// plus one leaf every node shares.
fn tree(store: &MemoryBlockstore, nodes: u32, leaves: u32, size: usize) -> Cid {
    let shared = store.put(RAW, b"shared").unwrap();
    let kids = (0..nodes)
        .map(|n| {
            let mut links: Vec<Cid> = (0..leaves)
                .map(|l| {
                    let mut data = vec![(n * leaves + l) as u8; size];
                    data[..4].copy_from_slice(&(n * leaves + l).to_be_bytes());
                    store.put(RAW, &data).unwrap()
                })
                .collect();
            links.push(shared);
            link_node(store, links)
        })
        .collect();
    link_node(store, kids)
}

/// An attachment: a root listing raw chunks of `chunk` bytes, `total` bytes in all.
fn attachment(store: &MemoryBlockstore, total: usize, chunk: usize) -> (Cid, Vec<u8>) {
    let bytes: Vec<u8> = (0..total).map(|i| (i * 7 + i / 4093) as u8).collect();
    let links = bytes
        .chunks(chunk)
        .map(|c| store.put(RAW, c).unwrap())
        .collect();
    (link_node(store, links), bytes)
}

fn hamt(store: &MemoryBlockstore, keys: u64) -> Cid {
    let mut h: Hamt<_, u64> = Hamt::new_with_config(store, tau_hamt::Config::default());
    h.extend((0..keys).map(|i| (format!("key-{i}").into_bytes(), i)))
        .unwrap();
    h.flush().unwrap()
}

/// Runs a request to the end, collecting block events and the last progress.
async fn run(
    gs: &Graphsync,
    peer: PeerId,
    root: Cid,
    sel: &Selector,
) -> (
    Vec<(Cid, Vec<u8>)>,
    u64,
    Result<tau_graphsync::verifier::RequestEnd, Error>,
) {
    let mut handle = gs.request(peer, root, sel, Extensions::default()).unwrap();
    let mut blocks = Vec::new();
    let mut messages = 0;
    while let Some(event) = handle.next().await {
        match event {
            Event::Block { cid, data } => blocks.push((cid, data.to_vec())),
            Event::Progress(p) => messages = p.messages,
            Event::Finished(result) => return (blocks, messages, result),
        }
    }
    panic!("no Finished event");
}

/// Every block the selector reaches on `from` is in `to`, byte for byte.
fn assert_copied(
    from: &MemoryBlockstore,
    to: &MemoryBlockstore,
    root: Cid,
    sel: &Selector,
) -> usize {
    let links = walk(from, root, sel, &Limits::default()).unwrap().links;
    for cid in &links {
        assert_eq!(to.get(cid).unwrap(), from.get(cid).unwrap(), "{cid}");
    }
    links.len()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn whole_dag_with_a_depth_limit() {
    bounded(async {
        let (s, c) = pair(Config::default(), Config::default()).await;
        let root = tree(&s.store, 6, 8, 50_000);
        let sel = Selector::explore_all_recursively(10);
        let (blocks, messages, result) = run(&c.gs, s.node.peer_id(), root, &sel).await;
        let outcome = result.unwrap();
        assert_eq!(outcome.status, Status::CompletedFull);
        assert!(messages >= 5, "{messages}");
        let links = assert_copied(&s.store, &c.store, root, &sel);
        assert_eq!(outcome.links as usize, links);
        // 1 root + 6 nodes + 48 leaves + the shared leaf, each delivered once.
        assert_eq!(blocks.len(), 56);
        // A depth limit of 2 stops below the root's children.
        let shallow = Selector::explore_all_recursively(2);
        let (blocks, _, result) = run(&c.gs, s.node.peer_id(), root, &shallow).await;
        assert_eq!(result.unwrap().status, Status::CompletedFull);
        assert_eq!(blocks.len(), 7, "the root and its 6 children, sent again");
    })
    .await;
}

async fn fetch_hamt(keys: u64) {
    bounded(async {
        let (s, c) = pair(Config::default(), Config::default()).await;
        let root = hamt(&s.store, keys);
        let sel = Selector::explore_all_recursively(100);
        let (blocks, _, result) = run(&c.gs, s.node.peer_id(), root, &sel).await;
        assert_eq!(result.unwrap().status, Status::CompletedFull);
        let links = assert_copied(&s.store, &c.store, root, &sel);
        assert_eq!(blocks.len(), links);
        let copy: Hamt<_, u64> = Hamt::load(&*c.store, &root).unwrap();
        for i in [0, keys / 2, keys - 1] {
            assert_eq!(copy.get(format!("key-{i}")).unwrap(), Some(i));
        }
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hamt_of_20_000_keys() {
    fetch_hamt(20_000).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "large: cargo test -p tau-graphsync --release -- --ignored"]
async fn hamt_of_100_000_keys() {
    fetch_hamt(100_000).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn single_hamt_key_is_its_path_in_one_message() {
    bounded(async {
        let (s, c) = pair(Config::default(), Config::default()).await;
        let root = hamt(&s.store, 20_000);
        let config = tau_hamt::Config::default();
        let layout = HamtLayout::for_config(&config).unwrap();
        for key in ["key-0", "key-12345", "key-19999"] {
            let sel = Selector::hamt_key(layout, key.as_bytes(), Selector::Matcher).unwrap();
            let (blocks, messages, result) = run(&c.gs, s.node.peer_id(), root, &sel).await;
            assert_eq!(result.unwrap().status, Status::CompletedFull);
            let proof = tau_hamt::prove(&*s.store, &root, key.as_bytes(), &config).unwrap();
            assert!(proof.blocks().len() >= 2);
            assert_eq!(blocks.len(), proof.blocks().len());
            assert_eq!(blocks, proof.into_blocks());
            assert_eq!(messages, 1, "one response message: one round trip");
        }
    })
    .await;
}

async fn fetch_attachment(total: usize) {
    bounded(async {
        let (s, c) = pair(Config::default(), Config::default()).await;
        let (root, bytes) = attachment(&s.store, total, 256 << 10);
        let sel = Selector::explore_all_recursively(2);
        let (blocks, _, result) = run(&c.gs, s.node.peer_id(), root, &sel).await;
        assert_eq!(result.unwrap().status, Status::CompletedFull);
        let got: Vec<u8> = blocks
            .iter()
            .filter(|(cid, _)| cid.codec() == RAW)
            .flat_map(|(_, data)| data.iter().copied())
            .collect();
        assert!(got == bytes, "attachment bytes differ");
        assert_copied(&s.store, &c.store, root, &sel);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn raw_attachment_of_6_mib() {
    fetch_attachment(6 << 20).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "large: cargo test -p tau-graphsync --release -- --ignored"]
async fn raw_attachment_of_64_mib() {
    fetch_attachment(64 << 20).await;
}

/// A responder that answers honestly through the core [`Responder`], then
/// lets `tamper` change the messages before it sends them back on a new
/// stream, as graphsync does.
async fn lying_responder(store: Arc<MemoryBlockstore>, tamper: fn(&mut Vec<Message>)) -> TcpNode {
    let node = TcpNode::spawn().await.unwrap();
    let mut control = node.control();
    let mut incoming = control.accept(PROTOCOL).unwrap();
    tokio::spawn(async move {
        while let Some((peer, stream)) = incoming.next().await {
            let mut reader = BufReader::new(stream);
            let mut responder: Responder<PeerId> = Responder::new(ResponderConfig::default());
            while let Ok(Some(msg)) = io::read_message(&mut reader, 4 << 20).await {
                let mut out: Vec<Message> =
                    responder.receive(&peer, msg.requests).into_iter().collect();
                while let Some(m) = responder.poll(&peer, &*store) {
                    out.push(m);
                }
                if out.is_empty() {
                    continue; // a cancel
                }
                tamper(&mut out);
                // The requester may hang up as soon as it sees the lie.
                let Ok(mut back) = control.open_stream(peer, PROTOCOL).await else {
                    continue;
                };
                for m in &out {
                    if io::write_message(&mut back, m, 4 << 20).await.is_err() {
                        break;
                    }
                }
                let _ = back.close().await;
            }
        }
    });
    node
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[allow(clippy::ptr_arg)] // one signature for every tamper; some insert messages
async fn a_lying_responder_is_caught_and_named() {
    // root → 6 leaves of 200 kB: with 512 KiB batches, messages carry
    // [root, L0, L1], [L2, L3], [L4, L5].
    fn honest(_: &mut Vec<Message>) {}
    fn wrong_block(m: &mut Vec<Message>) {
        let mut data = m[1].blocks[0].data.to_vec();
        data[7] ^= 1;
        m[1].blocks[0].data = data.into();
    }
    fn extra_block(m: &mut Vec<Message>) {
        let data = b"not asked for".to_vec();
        m[1].blocks
            .push(Block::new(&tau_ipld::block::cid_of(RAW, &data), data));
    }
    fn missing_block(m: &mut Vec<Message>) {
        m[1].blocks.remove(1);
    }
    fn replayed_block(m: &mut Vec<Message>) {
        let old = m[0].blocks[1].clone();
        m[2].blocks.push(old);
    }
    fn replayed_message(m: &mut Vec<Message>) {
        let old = m[0].clone();
        m.insert(1, old);
    }
    fn out_of_order(m: &mut Vec<Message>) {
        m[1].responses[0].metadata.swap(0, 1);
    }
    type Check = fn(&Error) -> bool;
    type Tamper = fn(&mut Vec<Message>);
    let cases: [(&str, Tamper, Check); 7] = [
        ("honest", honest, |_| false),
        ("wrong block", wrong_block, |e| {
            matches!(e, Error::BlockNotReceived(_))
        }),
        ("extra block", extra_block, |e| {
            matches!(e, Error::UnexpectedBlock(_))
        }),
        ("missing block", missing_block, |e| {
            matches!(e, Error::BlockNotReceived(_))
        }),
        ("replayed block", replayed_block, |e| {
            matches!(e, Error::UnexpectedBlock(_))
        }),
        ("replayed message", replayed_message, |e| {
            matches!(e, Error::UnexpectedLink { .. })
        }),
        ("out of order", out_of_order, |e| {
            matches!(e, Error::UnexpectedLink { .. })
        }),
    ];
    bounded(async {
        let served = Arc::new(MemoryBlockstore::new());
        let leaves: Vec<Cid> = (0..6u8)
            .map(|i| served.put(RAW, &vec![i; 200_000]).unwrap())
            .collect();
        let root = link_node(&served, leaves.clone());
        let honest_blocks: Vec<Cid> = leaves.into_iter().chain([root]).collect();
        let sel = Selector::explore_all_recursively(2);
        for (name, tamper, check) in cases {
            let liar = lying_responder(served.clone(), tamper).await;
            let c = side(Config::default()).await;
            c.node
                .connect(liar.peer_id(), liar.listen_addr().clone())
                .await
                .unwrap();
            let (_, _, result) = run(&c.gs, liar.peer_id(), root, &sel).await;
            match result {
                Ok(outcome) => {
                    assert_eq!(name, "honest");
                    assert_eq!(outcome.status, Status::CompletedFull);
                    assert_eq!(c.store.len(), 7);
                }
                Err(e) => {
                    assert_eq!(e.peer(), Some(&liar.peer_id()), "{name}: {e}");
                    assert!(check(e.cause()), "{name}: {e}");
                    // Only verified blocks were stored: nothing outside the DAG.
                    let honest = honest_blocks.iter().filter(|c2| c.store.has(c2).unwrap());
                    assert_eq!(c.store.len(), honest.count(), "{name}");
                }
            }
        }
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancel_stops_the_transfer() {
    bounded(async {
        let client = Config::default().with_event_buffer(2);
        let (s, c) = pair(Config::default(), client).await;
        let (root, _) = attachment(&s.store, 32 << 20, 256 << 10);
        let sel = Selector::explore_all_recursively(2);
        let mut handle =
            c.gs.request(s.node.peer_id(), root, &sel, Extensions::default())
                .unwrap();
        loop {
            match handle.next().await {
                Some(Event::Block { .. }) => break,
                Some(Event::Progress(_)) => {}
                other => panic!("{other:?}"),
            }
        }
        handle.cancel();
        let mut last = None;
        while let Some(event) = handle.next().await {
            last = Some(event);
        }
        match last {
            Some(Event::Finished(Err(Error::Cancelled { peer }))) => {
                assert_eq!(*peer, s.node.peer_id())
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(c.gs.stats().requests_in_flight, 0);
        // The server drops the request once the cancel arrives.
        while s.gs.stats().requests_serving > 0 {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let sent = s.gs.stats().blocks_sent;
        assert!(sent < 129, "all {sent} blocks were sent");
        // The connection still serves.
        let (_, _, result) = run(&c.gs, s.node.peer_id(), root, &Selector::Matcher).await;
        assert_eq!(result.unwrap().status, Status::CompletedFull);
    })
    .await;
}

#[tokio::test(flavor = "current_thread")]
async fn fifty_concurrent_requests_hit_the_limits() {
    bounded(async {
        // One thread: the 50 requests leave in one message, so the server
        // sees them at once and must refuse all but its limit.
        let server = Config::default().with_max_requests_per_peer(6);
        let (s, c) = pair(server, Config::default()).await;
        let roots: Vec<Cid> = (0..10).map(|i| tree(&s.store, 2, 3, 30_000 + i)).collect();
        let sel = Selector::explore_all_recursively(10);
        let handles: Vec<_> = (0..50)
            .map(|i| {
                c.gs.request(s.node.peer_id(), roots[i % 10], &sel, Extensions::default())
                    .unwrap()
            })
            .collect();
        let mut ok = 0;
        let mut busy = 0;
        for handle in handles {
            match handle.finish().await {
                Ok(outcome) => {
                    assert_eq!(outcome.status, Status::CompletedFull);
                    ok += 1;
                }
                Err(e) => {
                    assert_eq!(e.peer(), Some(&s.node.peer_id()));
                    assert!(
                        matches!(e.cause(), Error::RequestFailed(Status::Busy)),
                        "{e}"
                    );
                    busy += 1;
                }
            }
        }
        let stats = s.gs.stats();
        assert_eq!((ok, busy), (6, 44));
        assert_eq!(stats.busy, 44);
        assert!(stats.peak_requests_in_flight <= 6, "{stats:?}");
        assert_eq!(c.gs.stats().requests_in_flight, 0);
        // Requests within the limit all succeed, overlapping DAGs included
        // (the server sends a shared block once; the client finds it stored).
        for chunk in roots.chunks(5) {
            let handles: Vec<_> = chunk
                .iter()
                .map(|root| {
                    c.gs.request(s.node.peer_id(), *root, &sel, Extensions::default())
                        .unwrap()
                })
                .collect();
            for handle in handles {
                assert_eq!(handle.finish().await.unwrap().status, Status::CompletedFull);
            }
        }
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_silent_peer_times_out_and_missing_roots_are_34() {
    bounded(async {
        let client = Config::default().with_request_timeout(Duration::from_millis(300));
        let (s, c) = pair(Config::default(), client).await;
        let absent = tau_ipld::block::cid_of(RAW, b"absent");
        let (_, _, result) = run(&c.gs, s.node.peer_id(), absent, &Selector::Matcher).await;
        let e = result.unwrap_err();
        assert!(
            matches!(e.cause(), Error::RequestFailed(Status::ContentNotFound)),
            "{e}"
        );
        // A node that accepts the protocol and never answers.
        let mute = TcpNode::spawn().await.unwrap();
        let mut incoming = mute.control().accept(PROTOCOL).unwrap();
        tokio::spawn(async move {
            let mut held = Vec::new();
            while let Some(stream) = incoming.next().await {
                held.push(stream);
            }
        });
        c.node
            .connect(mute.peer_id(), mute.listen_addr().clone())
            .await
            .unwrap();
        let (_, _, result) = run(&c.gs, mute.peer_id(), absent, &Selector::Matcher).await;
        match result {
            Err(Error::Timeout { peer }) => assert_eq!(*peer, mute.peer_id()),
            other => panic!("{other:?}"),
        }
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn repeated_structured_blocks_are_read_back_from_the_store() {
    bounded(async {
        // Level k is [k+1, k+1]: 2^6 walks to the bottom, every DAG-CBOR
        // block repeats; the requester keeps CIDs and reads repeats back.
        let (s, c) = pair(Config::default(), Config::default()).await;
        let mut head = link_node(&s.store, vec![]);
        for _ in 0..6 {
            head = link_node(&s.store, vec![head, head]);
        }
        let sel = Selector::explore_all_recursively(100);
        let (blocks, _, result) = run(&c.gs, s.node.peer_id(), head, &sel).await;
        let outcome = result.unwrap();
        assert_eq!(outcome.status, Status::CompletedFull);
        assert_eq!(outcome.links, 127);
        assert_eq!(blocks.len(), 7);
        assert_eq!(c.store.len(), 7);
    })
    .await;
}

#[tokio::test(flavor = "current_thread")]
async fn service_wide_limits_hold() {
    bounded(async {
        // Two requests of all peers at once (fewer than one peer's 6): of
        // three sent together, one is Busy.
        let server = Config::default()
            .with_max_requests_serving(2)
            .with_max_outbound_bytes(64 << 10);
        let (s, c) = pair(server, Config::default()).await;
        let roots: Vec<Cid> = (0..3).map(|i| tree(&s.store, 2, 3, 30_000 + i)).collect();
        let sel = Selector::explore_all_recursively(10);
        let handles: Vec<_> = roots
            .iter()
            .map(|root| {
                c.gs.request(s.node.peer_id(), *root, &sel, Extensions::default())
                    .unwrap()
            })
            .collect();
        let mut busy = 0;
        for handle in handles {
            match handle.finish().await {
                Ok(outcome) => assert_eq!(outcome.status, Status::CompletedFull),
                Err(e) if matches!(e.cause(), Error::RequestFailed(Status::Busy)) => busy += 1,
                Err(e) => panic!("{e}"),
            }
        }
        assert_eq!(busy, 1);
        // Frames of 512 KiB go out through a 64 KiB service-wide budget one
        // at a time: a 4 MiB attachment still arrives whole.
        let (root, bytes) = attachment(&s.store, 4 << 20, 256 << 10);
        let (blocks, _, result) = run(&c.gs, s.node.peer_id(), root, &sel).await;
        assert_eq!(result.unwrap().status, Status::CompletedFull);
        let got: Vec<u8> = blocks.iter().skip(1).flat_map(|(_, d)| d.clone()).collect();
        assert_eq!(got, bytes);
    })
    .await;
}
