//! Hostile peers over 127.0.0.1 (issue 20, "bounded work per peer"): each
//! test runs one attack against a victim node, measures the victim's peak
//! allocation above its state before the attack (a counting global
//! allocator; the attacker runs in the same process, so its own buffers are
//! counted too and the bounds include them), checks that the victim stops
//! working soon after the attacker leaves, and that an honest request to the
//! victim succeeds meanwhile.
//!
//! The tests run one at a time (they share the allocator's counters) and
//! print their figures: `cargo test -p tau-graphsync --test hostile --
//! --nocapture`.
#![cfg(feature = "net")]

use std::alloc::{GlobalAlloc, Layout, System};
use std::future::Future;
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use cid::Cid;
use futures::io::AsyncWriteExt;
use futures::StreamExt;
use ipld_core::ipld::Ipld;
use tau_graphsync::net::{io, Config, Graphsync, PeerId, RequestBudget, TcpNode, PROTOCOL};
use tau_graphsync::responder::ResponderConfig;
use tau_graphsync::traversal::Limits;
use tau_graphsync::{
    dagcbor, Error, Extensions, Message, RecursionLimit, RequestKind, Response, Selector, Status,
};
use tau_ipld::block::{DAG_CBOR, RAW};
use tau_ipld::{Blockstore, MemoryBlockstore};

/// Counts live heap bytes and their peak.
struct Counting;

static CURRENT: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

fn grew(by: usize) {
    let now = CURRENT.fetch_add(by, Relaxed) + by;
    PEAK.fetch_max(now, Relaxed);
}

// SAFETY: every call is forwarded to `System` unchanged; the counters are
// only arithmetic on the sizes.
// A global allocator cannot be written without `unsafe` (the workspace
// denies it): the counting allocator is this test's instrument.
#[allow(unsafe_code)]
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            grew(layout.size());
        }
        p
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        let p = unsafe { System.alloc_zeroed(layout) };
        if !p.is_null() {
            grew(layout.size());
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) };
        CURRENT.fetch_sub(layout.size(), Relaxed);
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            CURRENT.fetch_sub(layout.size(), Relaxed);
            grew(new_size);
        }
        p
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

const MIB: usize = 1 << 20;

/// The victim's peak allocation above what was live when it was created.
struct Meter(usize);

impl Meter {
    fn start() -> Self {
        let now = CURRENT.load(Relaxed);
        PEAK.store(now, Relaxed);
        Meter(now)
    }

    fn peak(&self) -> usize {
        PEAK.load(Relaxed).saturating_sub(self.0)
    }
}

/// One test at a time: they share the counters.
fn serial() -> MutexGuard<'static, ()> {
    static SERIAL: Mutex<()> = Mutex::new(());
    SERIAL.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Every test stops after this, passing or not.
const LIMIT: Duration = Duration::from_secs(60);

/// Runs a test alone (see [`serial`]) on its own runtime, at most [`LIMIT`].
fn serially(f: impl Future<Output = ()>) {
    let _serial = serial();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        tokio::time::timeout(LIMIT, f)
            .await
            .expect("test timed out")
    });
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

async fn connect(from: &TcpNode, to: &TcpNode) {
    from.connect(to.peer_id(), to.listen_addr().clone())
        .await
        .unwrap();
}

fn put(store: &MemoryBlockstore, v: &Ipld) -> Cid {
    store.put(DAG_CBOR, &dagcbor::encode(v).unwrap()).unwrap()
}

/// A chain of `n` DAG-CBOR blocks `[previous, i]`; returns the head.
fn chain(store: &MemoryBlockstore, n: usize) -> Cid {
    let mut head = put(store, &Ipld::List(vec![Ipld::Integer(0)]));
    for i in 1..n {
        head = put(
            store,
            &Ipld::List(vec![Ipld::Link(head), Ipld::Integer(i as i128)]),
        );
    }
    head
}

/// A small honest DAG: a root listing 20 raw leaves.
fn honest_dag(store: &MemoryBlockstore) -> Cid {
    let leaves = (0..20u32)
        .map(|i| Ipld::Link(store.put(RAW, &i.to_be_bytes().repeat(256)).unwrap()))
        .collect();
    put(store, &Ipld::List(leaves))
}

/// Fetches `root` with the whole-DAG selector and checks it completes.
async fn honest_fetch(gs: &Graphsync, peer: PeerId, root: Cid) {
    let outcome = gs
        .request(
            peer,
            root,
            &Selector::explore_all_recursively(10),
            Extensions::default(),
        )
        .unwrap()
        .finish()
        .await
        .unwrap();
    assert_eq!(outcome.status, Status::CompletedFull);
}

/// Waits until the victim serves no request, at most `within`; returns how
/// long it took.
async fn serving_stops(victim: &Graphsync, within: Duration) -> Duration {
    let start = Instant::now();
    while victim.stats().requests_serving > 0 {
        assert!(
            start.elapsed() < within,
            "the victim still serves after {within:?}: {:?}",
            victim.stats()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    start.elapsed()
}

/// The selector of issue 20 (about 60 bytes, passes the depth check):
/// `{"R":{"l":{"depth":100},":>":{"|":[{"a":{">":{"@":{}}}},{"a":{">":{"@":{}}}}]}}}`.
fn union_in_recursion() -> Selector {
    let all_edge = Selector::ExploreAll {
        next: Box::new(Selector::ExploreRecursiveEdge),
    };
    Selector::ExploreRecursive {
        limit: RecursionLimit::Depth(100),
        sequence: Box::new(Selector::ExploreUnion(vec![all_edge.clone(), all_edge])),
    }
}

/// Victim: a responder serving a 300-block chain. Attack: one request with
/// the union-in-recursion selector (it used to double the selector state per
/// level: 25 MB to 2.7-5.4 GB in 45 s). Bound: 32 MiB above the victim's
/// state before the attack, the attack request answered in full (100
/// levels), the honest request served, the victim idle within 5 s.
#[test]
fn union_under_recursion_costs_linear_state() {
    serially(async {
        let victim = side(Config::default()).await;
        let attacker = side(Config::default()).await;
        connect(&attacker.node, &victim.node).await;
        let root = chain(&victim.store, 300);
        let honest = honest_dag(&victim.store);
        let sel = union_in_recursion();
        assert!(sel.to_dag_cbor().unwrap().len() < 70);
        let meter = Meter::start();
        let started = Instant::now();
        let attack = attacker
            .gs
            .request(victim.node.peer_id(), root, &sel, Extensions::default())
            .unwrap();
        // Consumed on its own, so its events do not hold up the honest one's.
        let attack = tokio::spawn(attack.finish());
        honest_fetch(&attacker.gs, victim.node.peer_id(), honest).await;
        let outcome = attack.await.unwrap().unwrap();
        assert_eq!(outcome.status, Status::CompletedFull);
        // Depth 100 from the root: 100 blocks (as go counts levels).
        assert_eq!(outcome.links, 100);
        let stop = serving_stops(&victim.gs, Duration::from_secs(5)).await;
        let peak = meter.peak();
        eprintln!(
            "union_under_recursion: victim peak +{:.1} MiB, attack answered in {:?}, serving stopped {:?} after",
            peak as f64 / MIB as f64,
            started.elapsed(),
            stop
        );
        assert!(peak < 32 * MIB, "peak {peak}");
    });
}

/// Victim: a responder serving a chain of 300 maps `{"a": next}`. Attack:
/// a recursion over an ExploreFields of 8,000 names (within the selector
/// size limit), so each of the 100 nested frames walks 8,000 interests.
/// Bound: 32 MiB above the state before the request, for both sides (the
/// requester's verifier walks it too): the selector's own copies (framed
/// message, `Ipld`, parsed, compiled, on both sides) are about 25 MiB;
/// copying the interests per frame, as before, added about 21 MiB more. The
/// request completes (100 blocks); the victim is idle within 5 s; an honest
/// request is served.
#[test]
fn a_wide_field_selector_is_shared_by_the_frames() {
    serially(async {
        let victim = side(Config::default()).await;
        let attacker = side(Config::default()).await;
        connect(&attacker.node, &victim.node).await;
        let mut head = put(&victim.store, &Ipld::Map(Default::default()));
        for _ in 0..300 {
            head = put(
                &victim.store,
                &Ipld::Map([("a".to_string(), Ipld::Link(head))].into()),
            );
        }
        let honest = honest_dag(&victim.store);
        let mut fields: std::collections::BTreeMap<String, Selector> = (0..7_999)
            .map(|i| {
                (
                    format!("not-in-the-block-{i:016}"),
                    Selector::ExploreRecursiveEdge,
                )
            })
            .collect();
        fields.insert("a".into(), Selector::ExploreRecursiveEdge);
        let sel = Selector::ExploreRecursive {
            limit: RecursionLimit::Depth(100),
            sequence: Box::new(Selector::ExploreFields { fields }),
        };
        assert!(sel.size() <= Limits::default().max_selector_size);
        let meter = Meter::start();
        let attack = attacker
            .gs
            .request(victim.node.peer_id(), head, &sel, Extensions::default())
            .unwrap();
        let attack = tokio::spawn(attack.finish());
        honest_fetch(&attacker.gs, victim.node.peer_id(), honest).await;
        let outcome = attack.await.unwrap().unwrap();
        assert_eq!(outcome.status, Status::CompletedFull);
        assert_eq!(outcome.links, 100);
        serving_stops(&victim.gs, Duration::from_secs(5)).await;
        let peak = meter.peak();
        eprintln!(
            "wide_field_selector: peak +{:.1} MiB (victim and attacker: both walk it)",
            peak as f64 / MIB as f64
        );
        assert!(peak < 32 * MIB, "peak {peak}");
    });
}

/// Victim: a responder. Attack: 8 streams (the per-peer maximum), each
/// sending 4 MiB frames of adversarial CBOR: a list of 4 Mi zeros (used to
/// decode to some 400 MB of `Ipld`), 4 Mi nested one-element lists, a byte
/// string and a map declaring 2^64-1 bytes and entries, a message of 100,000
/// tiny requests. Bound: 96 MiB above the victim's state (8 streams' 4 MiB
/// read buffers and the attacker's own frames are most of it); the victim
/// reads nothing more once the attacker's streams end; an honest request
/// from another peer is served meanwhile.
#[test]
fn adversarial_frames_are_refused_in_proportion() {
    serially(async {
        let victim = side(Config::default()).await;
        let honest_root = honest_dag(&victim.store);
        let client = side(Config::default()).await;
        connect(&client.node, &victim.node).await;
        let attacker = TcpNode::spawn().await.unwrap();
        connect(&attacker, &victim.node).await;

        let size = 4 * MIB;
        let mut zeros = vec![0x9a];
        zeros.extend_from_slice(&((size - 5) as u32).to_be_bytes());
        zeros.resize(size, 0);
        let mut nested = vec![0x81u8; size - 1];
        nested.push(0x00);
        let mut lying = vec![0x82, 0x5b];
        lying.extend_from_slice(&[0xff; 8]);
        lying.extend_from_slice(&[0xbb]);
        lying.extend_from_slice(&[0xff; 8]);
        lying.resize(size, 0);
        // {"gs2": {"req": [100,000 × {"id": 16 bytes, "type": "c"}]}}: valid
        // CBOR of small items.
        let mut tiny = Vec::new();
        tiny.extend_from_slice(&[0xa1, 0x63, b'g', b's', b'2', 0xa1, 0x63, b'r', b'e', b'q']);
        tiny.extend_from_slice(&[0x9a, 0, 1, 0x86, 0xa0]);
        for i in 0..100_000u32 {
            tiny.extend_from_slice(&[0xa2, 0x62, b'i', b'd', 0x50]);
            tiny.extend_from_slice(&[0; 12]);
            tiny.extend_from_slice(&i.to_be_bytes());
            tiny.extend_from_slice(&[0x64, b't', b'y', b'p', b'e', 0x61, b'c']);
        }
        assert!(tiny.len() <= size);
        let frames = [zeros, nested, lying, tiny];

        let meter = Meter::start();
        let peer = victim.node.peer_id();
        let mut control = attacker.control();
        let mut sends = Vec::new();
        for round in 0..2 {
            for (i, frame) in frames.iter().enumerate() {
                let mut stream = control.open_stream(peer, PROTOCOL).await.unwrap();
                let frame = frame.clone();
                sends.push(tokio::spawn(async move {
                    let mut head = Vec::new();
                    tau_graphsync::varint::encode(frame.len() as u64, &mut head);
                    let _ = stream.write_all(&head).await;
                    let _ = stream.write_all(&frame).await;
                    let _ = stream.close().await;
                    (round, i)
                }));
            }
        }
        honest_fetch(&client.gs, peer, honest_root).await;
        for s in sends {
            let _ = s.await;
        }
        drop(control);
        drop(attacker);
        // Nothing of the attack stays: the victim serves nothing and the
        // honest client still gets answers.
        serving_stops(&victim.gs, Duration::from_secs(5)).await;
        honest_fetch(&client.gs, peer, honest_root).await;
        let peak = meter.peak();
        eprintln!(
            "adversarial_frames: victim peak +{:.1} MiB over 8 streams of 4 MiB frames",
            peak as f64 / MIB as f64
        );
        assert!(peak < 96 * MIB, "peak {peak}");
    });
}

/// Victim: a requester. Attack: a responder serving a chain of nested
/// blocks of almost 4 MiB each, `[next, 3.9 MiB of bytes]`, 24 deep (94 MiB).
/// Bound: the victim's request budget (16 MiB here) stops it with
/// [`Error::RequestBudget`]; its peak stays under 64 MiB (the attacker's
/// frames and the victim's read buffers included); an honest fetch from the
/// same peer succeeds meanwhile.
#[test]
fn nested_huge_blocks_stop_at_the_requester_budget() {
    serially(async {
        let big = ResponderConfig {
            max_block_size: 4 * MIB,
            ..ResponderConfig::default()
        };
        let attacker = side(Config::default().with_responder(big)).await;
        let budget = RequestBudget {
            max_bytes: 16 * MIB as u64,
            ..RequestBudget::default()
        };
        let victim = side(Config::default().with_request_budget(budget)).await;
        connect(&victim.node, &attacker.node).await;
        let payload = vec![0x5au8; 4 * MIB - 100 * 1024];
        let mut head = put(&attacker.store, &Ipld::List(vec![]));
        for _ in 0..24 {
            head = put(
                &attacker.store,
                &Ipld::List(vec![Ipld::Link(head), Ipld::Bytes(payload.clone())]),
            );
        }
        drop(payload);
        let honest = honest_dag(&attacker.store);
        let meter = Meter::start();
        let started = Instant::now();
        let attack = victim.gs.request(
            attacker.node.peer_id(),
            head,
            &Selector::explore_all_recursively(100),
            Extensions::default(),
        );
        let attack = tokio::spawn(attack.unwrap().finish());
        honest_fetch(&victim.gs, attacker.node.peer_id(), honest).await;
        let result = attack.await.unwrap();
        match result {
            Err(Error::RequestBudget { what: "bytes", .. }) => {}
            other => panic!("{other:?}"),
        }
        let took = started.elapsed();
        // The attacker is told to cancel and stops serving.
        serving_stops(&attacker.gs, Duration::from_secs(5)).await;
        let peak = meter.peak();
        eprintln!(
            "nested_huge_blocks: victim peak +{:.1} MiB, stopped by its budget after {took:?}",
            peak as f64 / MIB as f64
        );
        assert!(peak < 64 * MIB, "peak {peak}");
    });
}

/// Victim: a requester (idle timeout 1 s, total 3 s). Attack: a responder
/// that answers with an empty partial response (status 14) every 400 ms,
/// forever. Bound: the victim's request fails with a timeout within 3 s +
/// 4 s of slack; its peak stays under 16 MiB; an honest fetch from another
/// peer succeeds meanwhile.
#[test]
fn a_dribbling_responder_hits_the_total_deadline() {
    serially(async {
        let budget = RequestBudget {
            total_timeout: Some(Duration::from_secs(3)),
            ..RequestBudget::default()
        };
        let victim = side(
            Config::default()
                .with_request_timeout(Duration::from_secs(1))
                .with_request_budget(budget),
        )
        .await;
        let honest = side(Config::default()).await;
        let honest_root = honest_dag(&honest.store);
        connect(&victim.node, &honest.node).await;
        let attacker = TcpNode::spawn().await.unwrap();
        connect(&victim.node, &attacker).await;
        let mut incoming = attacker.control().accept(PROTOCOL).unwrap();
        let mut control = attacker.control();
        let victim_peer = victim.node.peer_id();
        let dribbler = tokio::spawn(async move {
            let Some((_, stream)) = incoming.next().await else {
                return;
            };
            let mut reader = futures::io::BufReader::new(stream);
            let Ok(Some(msg)) = io::read_message(&mut reader, 4 * MIB).await else {
                return;
            };
            let Some(request) = msg.requests.first() else {
                return;
            };
            assert!(matches!(request.kind, RequestKind::New { .. }));
            let Ok(mut out) = control.open_stream(victim_peer, PROTOCOL).await else {
                return;
            };
            let partial = Message {
                responses: vec![Response {
                    id: request.id,
                    status: Status::PartialResponse,
                    metadata: Vec::new(),
                    extensions: Extensions::default(),
                }],
                ..Message::default()
            };
            // Until the victim closes the connection or the test ends.
            while io::write_message(&mut out, &partial, 4 * MIB).await.is_ok() {
                tokio::time::sleep(Duration::from_millis(400)).await;
            }
        });
        let meter = Meter::start();
        let started = Instant::now();
        let attack = victim.gs.request(
            attacker.peer_id(),
            tau_ipld::block::cid_of(RAW, b"anything"),
            &Selector::Matcher,
            Extensions::default(),
        );
        let attack = tokio::spawn(attack.unwrap().finish());
        honest_fetch(&victim.gs, honest.node.peer_id(), honest_root).await;
        let result = attack.await.unwrap();
        let took = started.elapsed();
        match result {
            Err(Error::Timeout { peer }) => assert_eq!(*peer, attacker.peer_id()),
            other => panic!("{other:?}"),
        }
        dribbler.abort();
        let peak = meter.peak();
        eprintln!(
            "dribbling_responder: victim gave up after {took:?}, peak +{:.1} MiB",
            peak as f64 / MIB as f64
        );
        assert!(took < Duration::from_secs(7), "{took:?}");
        assert!(peak < 16 * MIB, "peak {peak}");
    });
}

/// A DAG that never ends for a depth-100 walk: level k is `[k+1, k+1]`, so
/// the walk reaches the bottom 2^100 times (every block repeats).
fn doubling(store: &MemoryBlockstore, levels: usize) -> Cid {
    let mut head = put(store, &Ipld::List(vec![]));
    for _ in 0..levels {
        head = put(store, &Ipld::List(vec![Ipld::Link(head), Ipld::Link(head)]));
    }
    head
}

/// Victim: a responder. Attack: a request whose walk never ends (a
/// doubling DAG, depth 100: 2^100 loads), after which the attacker leaves
/// (drops the request and disconnects). Bound: the victim stops serving
/// within 5 s of the attacker leaving, its peak stays under 32 MiB, and an
/// honest request of another peer is served during the attack.
#[test]
fn an_endless_walk_stops_when_the_requester_leaves() {
    serially(async {
        let victim = side(Config::default()).await;
        let root = doubling(&victim.store, 120);
        let honest_root = honest_dag(&victim.store);
        let client = side(Config::default()).await;
        connect(&client.node, &victim.node).await;
        let attacker = side(Config::default()).await;
        connect(&attacker.node, &victim.node).await;
        let meter = Meter::start();
        let peer = victim.node.peer_id();
        let mut attack = attacker
            .gs
            .request(
                peer,
                root,
                &Selector::explore_all_recursively(100),
                Extensions::default(),
            )
            .unwrap();
        // Let it run a while.
        let mut events = 0u64;
        let until = Instant::now() + Duration::from_secs(2);
        while Instant::now() < until {
            match tokio::time::timeout(Duration::from_millis(200), attack.next()).await {
                Ok(Some(_)) => events += 1,
                Ok(None) => break,
                Err(_) => {}
            }
        }
        assert!(
            victim.gs.stats().requests_serving > 0,
            "the walk ended early"
        );
        honest_fetch(&client.gs, peer, honest_root).await;
        // The attacker leaves.
        drop(attack);
        drop(attacker);
        let stop = serving_stops(&victim.gs, Duration::from_secs(5)).await;
        honest_fetch(&client.gs, peer, honest_root).await;
        let peak = meter.peak();
        eprintln!(
            "endless_walk: {events} events received, victim stopped {stop:?} after the attacker left, peak +{:.1} MiB",
            peak as f64 / MIB as f64
        );
        assert!(peak < 32 * MIB, "peak {peak}");
    });
}

/// Victim: a requester. Attack: a responder streaming far more than asked
/// for (64 MiB of distinct raw blocks under one root). Bound: the victim's
/// block budget (100 blocks here) stops the request with
/// [`Error::RequestBudget`], the attacker is told to cancel and stops
/// serving within 5 s, the victim's peak stays under 32 MiB.
#[test]
fn an_unbounded_dag_stops_at_the_requester_block_budget() {
    serially(async {
        let attacker = side(Config::default()).await;
        let budget = RequestBudget {
            max_blocks: 100,
            ..RequestBudget::default()
        };
        let victim = side(Config::default().with_request_budget(budget)).await;
        connect(&victim.node, &attacker.node).await;
        let leaves: Vec<Ipld> = (0..1024u32)
            .map(|i| {
                let mut data = vec![(i % 251) as u8; 64 * 1024];
                data[..4].copy_from_slice(&i.to_be_bytes());
                Ipld::Link(attacker.store.put(RAW, &data).unwrap())
            })
            .collect();
        let root = put(&attacker.store, &Ipld::List(leaves));
        let honest = honest_dag(&attacker.store);
        let meter = Meter::start();
        let attack = victim.gs.request(
            attacker.node.peer_id(),
            root,
            &Selector::explore_all_recursively(2),
            Extensions::default(),
        );
        let attack = tokio::spawn(attack.unwrap().finish());
        honest_fetch(&victim.gs, attacker.node.peer_id(), honest).await;
        match attack.await.unwrap() {
            Err(Error::RequestBudget {
                what: "blocks",
                max: 100,
            }) => {}
            other => panic!("{other:?}"),
        }
        let stop = serving_stops(&attacker.gs, Duration::from_secs(5)).await;
        let stored = victim.store.len();
        let peak = meter.peak();
        eprintln!(
            "unbounded_dag: victim stored {stored} blocks, attacker stopped {stop:?} after, victim peak +{:.1} MiB",
            peak as f64 / MIB as f64
        );
        assert!(stored <= 100 + 21, "{stored}");
        assert!(peak < 32 * MIB, "peak {peak}");
    });
}

/// The traversal limits a victim can tighten are the ones both sides use.
#[test]
fn limits_defaults_are_stated() {
    let l = Limits::default();
    assert_eq!(l.max_links, Some(1 << 20));
    assert_eq!(l.max_selector_state, 1024);
    let r = ResponderConfig::default();
    assert_eq!(r.max_bytes_per_request, 1 << 30);
    assert_eq!(r.max_blocks_per_request, 1 << 20);
    assert_eq!(r.max_request_duration, Duration::from_secs(600));
}
