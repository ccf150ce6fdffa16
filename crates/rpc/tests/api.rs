//! The API over 127.0.0.1 against a running one-node devnet: account proofs
//! that verify against the root they are for and are refused when tampered
//! with or checked against another root, a wallet's transaction mined, and
//! the metrics endpoint; an oversized request and a crowd of idle
//! connections do not stop it. Stops by itself.

use std::time::Duration;

use tau_keys::Keypair;
use tau_node::{local_devnet, GenesisBlocks, Node};
use tau_rpc::api::TauApiClient;
use tau_rpc::{parse_cid, Error};
use tau_state::{Genesis, Transaction, TxBody};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

async fn wait_for(what: &str, mut done: impl AsyncFnMut() -> bool) {
    let waited = tokio::time::timeout(Duration::from_secs(60), async {
        while !done().await {
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    })
    .await;
    assert!(waited.is_ok(), "timed out waiting for {what}");
}

/// What a test runs against: a one-node devnet mined by `miner`, its
/// genesis funding `funded`, with its API on 127.0.0.1.
struct Devnet {
    chain: tau_state::Params,
    genesis: GenesisBlocks,
    node: tau_node::NodeHandle,
    addr: std::net::SocketAddr,
    server: jsonrpsee::server::ServerHandle,
}

async fn devnet(miner: &Keypair, funded: &[(tau_keys::Address, u64)]) -> Devnet {
    let (chain, cbc) = local_devnet(1);
    let genesis = funded
        .iter()
        .fold(Genesis::new(tau_node::unix_now()), |g, (a, v)| {
            g.allocate(*a, *v)
        });
    let genesis = GenesisBlocks::new(&genesis, miner, &chain).unwrap();
    let node = Node::builder()
        .key(miner.clone())
        .params(chain.clone(), cbc)
        .genesis(genesis.clone())
        .start()
        .await
        .unwrap();
    let (addr, server) = tau_rpc::serve(node.clone(), "127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    Devnet {
        chain,
        genesis,
        node,
        addr,
        server,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn accounts_are_proven_transactions_mined_and_metrics_served() {
    let miner = Keypair::from_bytes(&[1; 32]).unwrap();
    let wallet = Keypair::from_bytes(&[2; 32]).unwrap();
    let payee = Keypair::from_bytes(&[3; 32]).unwrap().address();
    let Devnet {
        chain,
        genesis,
        node,
        addr,
        server,
    } = devnet(
        &miner,
        &[(miner.address(), 1_000_000), (wallet.address(), 50_000)],
    )
    .await;
    let api = tau_rpc::client(&format!("http://{addr}")).unwrap();

    let status = api.status().await.unwrap();
    assert_eq!(status.address, miner.address().to_string());
    assert_eq!(status.chain_id, chain.chain_id.to_string());
    wait_for("a mined block", async || node.head().number >= 1).await;

    // The wallet's account at the head, proven against the head's root.
    let address = wallet.address();
    let proof = api
        .account(address.to_string(), Some("head".into()))
        .await
        .unwrap();
    let root = parse_cid(&proof.at.root).unwrap();
    let verified = proof.verify(&chain, &root, &address).unwrap();
    assert_eq!(verified.balance, 50_000);
    assert_eq!(verified.nonce, 0);

    // A claim the proof does not back, a tampered node, another root.
    let mut inflated = proof.clone();
    inflated.balance += 1;
    assert!(matches!(
        inflated.verify(&chain, &root, &address),
        Err(Error::BadProof(_))
    ));
    let mut tampered = proof.clone();
    let last = tampered.balance_proof.last_mut().unwrap();
    let mut data = base64_decode(&last.data);
    let end = data.len() - 1;
    data[end] ^= 1;
    last.data = base64_encode(&data);
    assert!(matches!(
        tampered.verify(&chain, &root, &address),
        Err(Error::BadProof(_))
    ));
    assert!(matches!(
        proof.verify(&chain, &genesis.root, &address),
        Err(Error::BadProof(_))
    ));

    // A transaction the wallet signs itself, through the API.
    let tx = Transaction {
        version: chain.version,
        chain_id: chain.chain_id.clone(),
        sender: address,
        nonce: 1,
        timestamp: tau_node::unix_now(),
        fee: chain.min_fee.max(1),
        body: TxBody::Wiring {
            receiver: payee,
            amount: 1_234,
        },
        thread: None,
        profile: None,
    }
    .sign(&wallet)
    .unwrap();
    let sent = api
        .send_transaction(hex::encode(tx.encode().unwrap()))
        .await
        .unwrap();
    assert!(sent.admitted, "{:?}", sent.reason);
    // Garbage is refused with an error, not a panic or a silent success.
    assert!(api.send_transaction("zz".into()).await.is_err());
    wait_for("the transfer mined", async || {
        let history = api.history(address.to_string(), None).await.unwrap();
        history.iter().any(|h| h.nonce == 1 && h.amount == 1_234)
    })
    .await;
    let payee_now = api
        .account(payee.to_string(), Some("head".into()))
        .await
        .unwrap();
    let head_root = parse_cid(&payee_now.at.root).unwrap();
    assert_eq!(
        payee_now
            .verify(&chain, &head_root, &payee)
            .unwrap()
            .balance,
        1_234
    );

    // Blocks by number and name agree.
    let by_number = api.block(tau_rpc::api::BlockId::Number(1)).await.unwrap();
    assert_eq!(by_number.at.number, 1);
    let by_root = api
        .block(tau_rpc::api::BlockId::Named(by_number.at.root.clone()))
        .await
        .unwrap();
    assert_eq!(by_root, by_number);

    // Metrics: the head height the node reports.
    let metrics = tau_rpc::serve_metrics(node.clone(), "127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    tokio::time::sleep(tau_rpc::SAMPLE_INTERVAL * 2).await;
    let text = http_get(metrics.local_addr(), "/metrics").await;
    let height: u64 = text
        .lines()
        .find_map(|l| l.strip_prefix("tau_head_height "))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("no tau_head_height in:\n{text}"));
    assert!(height >= 1);
    assert!(text.contains("tau_blocks_mined_total"));

    server.stop().unwrap();
    node.shutdown().await.unwrap();
}

fn base64_decode(text: &str) -> Vec<u8> {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD
        .decode(text)
        .unwrap()
}

fn base64_encode(bytes: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

async fn http_get(addr: std::net::SocketAddr, path: &str) -> String {
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let request = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).await.unwrap();
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    response
}

/// Sends `body` as a JSON-RPC POST and returns the raw HTTP response.
async fn http_post(addr: std::net::SocketAddr, body: &[u8]) -> String {
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let head = format!(
        "POST / HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    // The server may answer and close before reading all of an oversized
    // body: a failed write is part of the outcome, not an error here.
    let _ = stream.write_all(body).await;
    let mut response = Vec::new();
    let _ = stream.read_to_end(&mut response).await;
    String::from_utf8_lossy(&response).into_owned()
}

/// What a local client can do to the API without credentials: a request
/// over `MAX_REQUEST_BYTES` is refused (HTTP 413) without being answered,
/// and hundreds of connections that never send a request (each is a
/// socket and a task on the server until its first-request timeout) take
/// none of the `MAX_CONNECTIONS` request permits: the API keeps answering
/// while they are held.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversized_requests_and_idle_connections_do_not_stop_the_api() {
    let miner = Keypair::from_bytes(&[1; 32]).unwrap();
    let Devnet {
        node, addr, server, ..
    } = devnet(&miner, &[(miner.address(), 1_000_000)]).await;
    let api = tau_rpc::client(&format!("http://{addr}")).unwrap();

    // A well-formed call padded past the bound.
    let pad = "x".repeat(tau_rpc::MAX_REQUEST_BYTES as usize + 1);
    let big =
        format!(r#"{{"jsonrpc":"2.0","id":1,"method":"tau_status","params":[],"pad":"{pad}"}}"#);
    let answer = http_post(addr, big.as_bytes()).await;
    let status_line = answer.lines().next().unwrap_or("").to_string();
    assert!(status_line.contains(" 413"), "{status_line}");
    // The same call, small, is answered.
    let small = http_post(
        addr,
        br#"{"jsonrpc":"2.0","id":1,"method":"tau_status","params":[]}"#,
    )
    .await;
    assert!(small.starts_with("HTTP/1.1 200"), "{small}");

    // A batch past MAX_BATCH is refused as a whole; a small one is answered.
    let call = r#"{"jsonrpc":"2.0","id":1,"method":"tau_status","params":[]}"#;
    let batch = |n: usize| format!("[{}]", vec![call; n].join(","));
    let big_batch = http_post(addr, batch(tau_rpc::MAX_BATCH as usize + 1).as_bytes()).await;
    assert!(!big_batch.contains("\"result\""), "{big_batch}");
    assert!(big_batch.contains("\"error\""), "{big_batch}");
    let two = http_post(addr, batch(2).as_bytes()).await;
    assert_eq!(two.matches("\"result\"").count(), 2, "{two}");

    // Many more idle connections than request permits.
    let idle_count = 4 * tau_rpc::MAX_CONNECTIONS as usize;
    let mut idle = Vec::new();
    for _ in 0..idle_count {
        idle.push(tokio::net::TcpStream::connect(addr).await.unwrap());
    }
    let answered = tokio::time::timeout(Duration::from_secs(10), api.status()).await;
    eprintln!(
        "oversized request: {status_line:?}; {} idle connections held, status answered: {}",
        idle.len(),
        matches!(answered, Ok(Ok(_)))
    );
    assert!(matches!(answered, Ok(Ok(_))), "{answered:?}");
    drop(idle);
    server.stop().unwrap();
    node.shutdown().await.unwrap();
}
