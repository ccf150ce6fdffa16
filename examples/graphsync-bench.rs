//! Graphsync over libp2p between two nodes on 127.0.0.1 (tcp + noise + yamux),
//! against a plain libp2p stream copy of the same bytes in the same run.
//!
//! ```text
//! cargo run --release --example graphsync-bench -- [--mib N] [--block-kib K]
//!     [--hamt-keys H] [--rounds R]
//! ```
//!
//! Defaults: `--mib 256 --block-kib 256 --hamt-keys 100000 --rounds 3`.
//!
//! 1. Large transfer: N MiB of raw blocks of K KiB under one DAG-CBOR root
//!    listing them, fetched with one request (`ExploreRecursive` depth 2 of
//!    `ExploreAll`) into an empty store; and the same N MiB copied over a
//!    plain libp2p stream (`/tau/bench-copy/1.0.0`, 256 KiB writes, read to
//!    EOF). R rounds, alternating; the median of each is reported with the
//!    ratio `graphsync_vs_plain` (target ≥ 0.60).
//! 2. A whole H-key HAMT (values `u64`) fetched with one request.
//! 3. One HAMT key: the `~ hamt` selector for one key; `lookup_round_trips` is
//!    the number of messages the requester sent (target: exactly 1), and
//!    `lookup_response_messages` the messages that answered it.
//!
//! One `name=value` line per figure. Exit status 1 if a transfer fails.

use std::error::Error;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use cid::Cid;
use futures::io::{AsyncReadExt, AsyncWriteExt};
use futures::StreamExt;
use ipld_core::ipld::Ipld;
use libp2p::StreamProtocol;
use tau::graphsync::net::{Config, Event, Graphsync, TcpNode};
use tau::graphsync::{dagcbor, Extensions, HamtLayout, Selector, Status};
use tau::hamt::Hamt;
use tau::ipld::block::{DAG_CBOR, RAW};
use tau::ipld::{Blockstore, MemoryBlockstore};

const COPY: StreamProtocol = StreamProtocol::new("/tau/bench-copy/1.0.0");
const WRITE: usize = 256 << 10;

struct Args {
    mib: usize,
    block_kib: usize,
    hamt_keys: u64,
    rounds: usize,
}

fn args() -> Result<Args, Box<dyn Error>> {
    let mut a = Args {
        mib: 256,
        block_kib: 256,
        hamt_keys: 100_000,
        rounds: 3,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let value = it.next().ok_or(format!("{flag} needs a value"))?;
        match flag.as_str() {
            "--mib" => a.mib = value.parse()?,
            "--block-kib" => a.block_kib = value.parse()?,
            "--hamt-keys" => a.hamt_keys = value.parse()?,
            "--rounds" => a.rounds = value.parse::<usize>()?.max(1),
            _ => return Err(format!("unknown flag {flag}").into()),
        }
    }
    Ok(a)
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn mb_per_s(bytes: usize, d: Duration) -> f64 {
    bytes as f64 / 1e6 / d.as_secs_f64()
}

/// Fetches `root` with `sel` into a fresh store; returns the time, blocks,
/// block bytes and response messages.
async fn fetch(
    gs: &Graphsync,
    server: &TcpNode,
    root: Cid,
    sel: &Selector,
) -> Result<(Duration, u64, u64, u64), Box<dyn Error>> {
    let store = Arc::new(MemoryBlockstore::new());
    let start = Instant::now();
    let mut handle = gs.request_into(server.peer_id(), root, sel, Extensions::default(), store)?;
    let mut progress = Default::default();
    while let Some(event) = handle.next().await {
        match event {
            Event::Progress(p) => progress = p,
            Event::Block { .. } => {}
            Event::Finished(result) => {
                let outcome = result?;
                if outcome.status != Status::CompletedFull {
                    return Err(format!("status {:?}", outcome.status).into());
                }
                break;
            }
        }
    }
    let elapsed = start.elapsed();
    Ok((elapsed, progress.blocks, progress.bytes, progress.messages))
}

/// Copies the payload (`expected` bytes) from the server over a plain
/// stream; returns the time, or an error if the stream ended short or long.
async fn plain_copy(
    client: &TcpNode,
    server: &TcpNode,
    expected: usize,
) -> Result<Duration, Box<dyn Error>> {
    let start = Instant::now();
    let mut stream = client.control().open_stream(server.peer_id(), COPY).await?;
    let mut buf = vec![0u8; WRITE];
    let mut got = 0usize;
    loop {
        let n = stream.read(&mut buf).await?;
        if n == 0 {
            break;
        }
        got += n;
    }
    if got != expected {
        return Err(format!("plain copy: received {got} bytes of {expected}").into());
    }
    Ok(start.elapsed())
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> ExitCode {
    match run().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("graphsync-bench: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn run() -> Result<(), Box<dyn Error>> {
    let a = args()?;
    let served = Arc::new(MemoryBlockstore::new());
    let server = TcpNode::spawn().await?;
    let _serving = server.start_graphsync(served.clone(), Config::default())?;
    let client = TcpNode::spawn().await?;
    let gs = client.start_graphsync(Arc::new(MemoryBlockstore::new()), Config::default())?;
    client
        .connect(server.peer_id(), server.listen_addr().clone())
        .await?;

    // The attachment: raw blocks under one root.
    let block = a.block_kib << 10;
    let total = a.mib << 20;
    let mut payload = vec![0u8; total];
    let mut x = 0x9e37_79b9_7f4a_7c15u64;
    for chunk in payload.chunks_mut(8) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        chunk.copy_from_slice(&x.to_le_bytes()[..chunk.len()]);
    }
    let links: Vec<Ipld> = payload
        .chunks(block)
        .map(|c| served.put(RAW, c).map(Ipld::Link))
        .collect::<Result<_, _>>()?;
    let blocks = links.len();
    let root = served.put(DAG_CBOR, &dagcbor::encode(&Ipld::List(links))?)?;
    let payload = Arc::new(payload);

    // The plain copy: the server writes the payload on each stream it accepts.
    let mut incoming = server.control().accept(COPY)?;
    let source = payload.clone();
    tokio::spawn(async move {
        while let Some((_, mut stream)) = incoming.next().await {
            for chunk in source.chunks(WRITE) {
                if stream.write_all(chunk).await.is_err() {
                    break;
                }
            }
            let _ = stream.close().await;
        }
    });

    let sel = Selector::explore_all_recursively(2);
    let (mut gs_times, mut plain_times) = (Vec::new(), Vec::new());
    for _ in 0..a.rounds {
        let (t, got, bytes, _) = fetch(&gs, &server, root, &sel).await?;
        if got as usize != blocks + 1
            || bytes as usize != total + served.get(&root)?.map_or(0, |b| b.len())
        {
            return Err(format!("fetched {got} blocks, {bytes} bytes").into());
        }
        gs_times.push(t);
        plain_times.push(plain_copy(&client, &server, total).await?);
    }
    let (g, p) = (median(gs_times), median(plain_times));
    println!("payload_mib={}", a.mib);
    println!("block_kib={}", a.block_kib);
    println!("rounds={}", a.rounds);
    println!("graphsync_ms={}", g.as_millis());
    println!("graphsync_mb_per_s={:.1}", mb_per_s(total, g));
    println!(
        "graphsync_blocks_per_s={:.0}",
        blocks as f64 / g.as_secs_f64()
    );
    println!("plain_ms={}", p.as_millis());
    println!("plain_mb_per_s={:.1}", mb_per_s(total, p));
    println!(
        "graphsync_vs_plain={:.2}",
        p.as_secs_f64() / g.as_secs_f64()
    );

    // A whole HAMT.
    let mut map: Hamt<_, u64> = Hamt::new_with_config(&*served, tau::hamt::Config::default());
    map.extend((0..a.hamt_keys).map(|i| (format!("key-{i}").into_bytes(), i)))?;
    let hamt_root = map.flush()?;
    let (t, nodes, bytes, messages) = fetch(
        &gs,
        &server,
        hamt_root,
        &Selector::explore_all_recursively(100),
    )
    .await?;
    println!("hamt_keys={}", a.hamt_keys);
    println!("hamt_blocks={nodes}");
    println!("hamt_bytes={bytes}");
    println!("hamt_response_messages={messages}");
    println!("hamt_ms={}", t.as_millis());
    println!("hamt_mb_per_s={:.1}", mb_per_s(bytes as usize, t));
    println!("hamt_blocks_per_s={:.0}", nodes as f64 / t.as_secs_f64());

    // One key.
    let layout = HamtLayout::for_config(&tau::hamt::Config::default())?;
    let key = format!("key-{}", a.hamt_keys / 2);
    let one = Selector::hamt_key(layout, key.as_bytes(), Selector::Matcher)?;
    let sent_before = gs.stats().messages_sent;
    let (t, path, _, messages) = fetch(&gs, &server, hamt_root, &one).await?;
    let round_trips = gs.stats().messages_sent - sent_before;
    println!("lookup_path_blocks={path}");
    println!("lookup_round_trips={round_trips}");
    println!("lookup_response_messages={messages}");
    println!("lookup_us={}", t.as_micros());
    if round_trips != 1 || messages != 1 {
        return Err("a single-key lookup took more than one round trip".into());
    }
    Ok(())
}
