//! The `tau` binary as an operator and a wallet use it, as processes on
//! 127.0.0.1: three data directories on the devnet genesis, three nodes, a
//! transfer signed by the wallet and sent through one node's API, its
//! balance shown only once its proof verified against the safety point,
//! the metrics endpoint agreeing with the API, and a node killed with
//! SIGKILL that restarts and catches up without losing the transfer.
//! Stops by itself (every child is killed when the test ends).

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

const TAU: &str = env!("CARGO_BIN_EXE_tau");

fn tau(args: &[&str]) -> Output {
    Command::new(TAU)
        .args(args)
        .env("TAU_PASSPHRASE", "test passphrase")
        .env_remove("TAU_RPC")
        .env_remove("TAU_WALLET")
        .output()
        .unwrap()
}

/// Runs `tau`, which must succeed; its `key=value` output.
fn ok(args: &[&str]) -> Vec<(String, String)> {
    let out = tau(args);
    assert!(
        out.status.success(),
        "tau {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.split_once('=').map(|(k, v)| (k.into(), v.into())))
        .collect()
}

fn field(fields: &[(String, String)], key: &str) -> Option<String> {
    fields
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.clone())
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Node processes, killed when dropped (also when the test fails).
#[derive(Default)]
struct Nodes(Vec<Option<Child>>);

impl Drop for Nodes {
    fn drop(&mut self) {
        for child in self.0.iter_mut().flatten() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// Starts `tau node run` on `dir`; its `dial=` address once it printed
/// its API address.
fn start(nodes: &mut Nodes, slot: usize, dir: &Path) -> String {
    let mut child = Command::new(TAU)
        .args(["node", "run", "--data-dir"])
        .arg(dir)
        .env("TAU_PASSPHRASE", "test passphrase")
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    if nodes.0.len() <= slot {
        nodes.0.resize_with(slot + 1, || None);
    }
    nodes.0[slot] = Some(child);
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let mut dial = None;
    let deadline = Instant::now() + Duration::from_secs(30);
    while let Ok(line) = rx.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
        if let Some(addr) = line.strip_prefix("dial=") {
            dial = Some(addr.to_string());
        }
        if line.starts_with("rpc=") {
            return dial.expect("a dial address before the API's");
        }
    }
    panic!("node {slot} did not start");
}

fn wait_for(what: &str, limit: Duration, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + limit;
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(500));
    }
}

fn head(rpc: &str) -> Option<u64> {
    let out = tau(&["status", "--rpc", rpc]);
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    text.lines()
        .find_map(|l| l.strip_prefix("head="))
        .and_then(|v| v.split(' ').next())
        .and_then(|n| n.parse().ok())
}

/// The balance `tau wallet balance` shows (after verifying its proof at
/// the safety point), if it can yet.
fn verified_balance(rpc: &str, address: &str) -> Option<u64> {
    let out = tau(&["wallet", "balance", "--address", address, "--rpc", rpc]);
    if !out.status.success() {
        return None;
    }
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(text.contains("proof=verified"), "{text}");
    text.lines()
        .find_map(|l| l.strip_prefix("balance="))
        .and_then(|v| v.parse().ok())
}

fn metric(addr: SocketAddr, name: &str) -> Option<u64> {
    let mut stream = TcpStream::connect(addr).ok()?;
    write!(
        stream,
        "GET /metrics HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .ok()?;
    let mut body = String::new();
    stream.read_to_string(&mut body).ok()?;
    body.lines()
        .find_map(|l| l.strip_prefix(&format!("{name} ")))
        .and_then(|v| v.trim().parse().ok())
}

#[test]
fn three_nodes_a_verified_transfer_metrics_and_a_killed_node_that_catches_up() {
    let tmp = tempfile::tempdir().unwrap();
    let dirs: Vec<PathBuf> = (0..3).map(|i| tmp.path().join(format!("n{i}"))).collect();
    let rpc: Vec<String> = (0..3)
        .map(|_| format!("127.0.0.1:{}", free_port()))
        .collect();
    let metrics: SocketAddr = format!("127.0.0.1:{}", free_port()).parse().unwrap();
    let mut nodes = Nodes::default();

    let first = ok(&[
        "init",
        "--data-dir",
        dirs[0].to_str().unwrap(),
        "--network",
        "devnet",
        "--devnet-key",
        "0",
        "--rpc",
        &rpc[0],
        "--metrics",
        &metrics.to_string(),
    ]);
    let genesis = field(&first, "genesis").unwrap();
    let dial = start(&mut nodes, 0, &dirs[0]);
    for i in 1..3 {
        let init = ok(&[
            "init",
            "--data-dir",
            dirs[i].to_str().unwrap(),
            "--network",
            "devnet",
            "--devnet-key",
            &i.to_string(),
            "--rpc",
            &rpc[i],
            "--bootstrap",
            &dial,
        ]);
        assert_eq!(field(&init, "genesis").unwrap(), genesis, "one genesis");
        start(&mut nodes, i, &dirs[i]);
    }
    let urls: Vec<String> = rpc.iter().map(|r| format!("http://{r}")).collect();

    // A funded wallet (devnet key 3, no node) pays a new one.
    let wallets = tmp.path().join("wallets");
    std::fs::create_dir_all(&wallets).unwrap();
    let payer = wallets.join("payer.key");
    let payee = wallets.join("payee.key");
    ok(&[
        "wallet",
        "import",
        "--wallet",
        payer.to_str().unwrap(),
        "--devnet-key",
        "3",
    ]);
    let payee_address = field(
        &ok(&["wallet", "new", "--wallet", payee.to_str().unwrap()]),
        "address",
    )
    .unwrap();
    let started = Instant::now();
    wait_for("a first safety point", Duration::from_secs(240), || {
        verified_balance(&urls[0], &payee_address).is_some()
    });
    println!("first safety point after {:?}", started.elapsed());
    assert_eq!(verified_balance(&urls[0], &payee_address), Some(0));
    let sent = ok(&[
        "wallet",
        "send",
        "--wallet",
        payer.to_str().unwrap(),
        "--to",
        &payee_address,
        "--amount",
        "777",
        "--rpc",
        &urls[1],
    ]);
    assert_eq!(field(&sent, "admitted").as_deref(), Some("true"));
    let sent_at = Instant::now();
    wait_for(
        "the transfer under the safety point",
        Duration::from_secs(300),
        || verified_balance(&urls[0], &payee_address) == Some(777),
    );

    println!(
        "transfer under the safety point after {:?}",
        sent_at.elapsed()
    );

    // An attachment published by node 0 is found on the chain by node 1,
    // downloaded from node 0 without naming it, and unpacked intact.
    let file = tmp.path().join("note.bin");
    let content: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
    std::fs::write(&file, &content).unwrap();
    let put = ok(&[
        "attach",
        "put",
        file.to_str().unwrap(),
        "--publish",
        "a note",
        "--rpc",
        &urls[0],
    ]);
    let root = field(&put, "root").unwrap();
    let out = tmp.path().join("got");
    let mut got = None;
    wait_for(
        "the attachment from the chain's seeders",
        Duration::from_secs(60),
        || {
            let attempt = tau(&[
                "attach",
                "get",
                &root,
                "--out",
                out.to_str().unwrap(),
                "--rpc",
                &urls[1],
            ]);
            got = attempt.status.success().then(|| attempt.stdout.clone());
            got.is_some()
        },
    );
    let got = String::from_utf8(got.unwrap()).unwrap();
    let peer0 = field(&ok(&["status", "--rpc", &urls[0]]), "peer_id").unwrap();
    assert!(got.contains(&format!("sources={peer0}")), "{got}");
    assert_eq!(std::fs::read(out.join("note.bin")).unwrap(), content);

    // The metrics endpoint answers, and its head height is the API's.
    wait_for(
        "metrics matching the API",
        Duration::from_secs(30),
        || match (metric(metrics, "tau_head_height"), head(&urls[0])) {
            (Some(m), Some(h)) => m == h,
            _ => false,
        },
    );

    // kill -9 one node, restart it: it catches up and still sees the transfer.
    let killed = nodes.0[2].as_mut().unwrap();
    killed.kill().unwrap();
    killed.wait().unwrap();
    let before = head(&urls[0]).unwrap();
    wait_for("the others to move on", Duration::from_secs(60), || {
        head(&urls[0]).is_some_and(|h| h >= before + 3)
    });
    start(&mut nodes, 2, &dirs[2]);
    wait_for(
        "the restarted node to catch up",
        Duration::from_secs(240),
        || match (head(&urls[2]), head(&urls[0])) {
            (Some(restarted), Some(other)) => restarted + 1 >= other,
            _ => false,
        },
    );
    wait_for(
        "the transfer on the restarted node",
        Duration::from_secs(120),
        || verified_balance(&urls[2], &payee_address) == Some(777),
    );
}
