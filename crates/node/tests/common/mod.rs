//! Helpers shared by the multi-node tests: a devnet of N nodes on 127.0.0.1.
#![allow(dead_code)]

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use tau_graphsync::net::{Config, Graphsync, TcpNode};
use tau_ipld::MemoryBlockstore;
use tau_node::protocol::{self, HEAD_PROTOCOL};

use tau_keys::Keypair;
use tau_node::{local_devnet, GenesisBlocks, Node, NodeBuilder, NodeHandle};
use tau_state::Genesis;

pub const FUNDS: u64 = 1_000_000;

pub struct Net {
    pub keys: Vec<Keypair>,
    pub genesis: GenesisBlocks,
    pub chain: tau_state::Params,
    pub cbc: tau_cbc::Params,
}

impl Net {
    pub fn new(n: usize, seed: u8) -> Self {
        Self::dated(n, seed, tau_node::unix_now())
    }

    /// [`new`](Self::new) with the genesis dated `genesis_time` (Unix seconds).
    pub fn dated(n: usize, seed: u8, genesis_time: u64) -> Self {
        let keys: Vec<Keypair> = (0..n)
            .map(|i| Keypair::from_bytes(&[seed.wrapping_add(i as u8 + 1); 32]).unwrap())
            .collect();
        let (chain, cbc) = local_devnet(n);
        let allocations = keys.iter().fold(Genesis::new(genesis_time), |g, k| {
            g.allocate(k.address(), FUNDS)
        });
        let genesis = GenesisBlocks::new(&allocations, &keys[0], &chain).unwrap();
        Self {
            keys,
            genesis,
            chain,
            cbc,
        }
    }

    pub fn builder(&self, i: usize) -> NodeBuilder {
        Node::builder()
            .key(self.keys[i].clone())
            .params(self.chain.clone(), self.cbc.clone())
            .genesis(self.genesis.clone())
            .rng_seed(i as u64)
    }

    /// Starts nodes 0..n, each bootstrapping from node 0.
    pub async fn start(&self, n: usize) -> Vec<NodeHandle> {
        self.start_with(n, |_, b| b).await
    }

    /// [`start`](Self::start), with node `i`'s builder passed through `tweak`.
    pub async fn start_with(
        &self,
        n: usize,
        tweak: impl Fn(usize, NodeBuilder) -> NodeBuilder,
    ) -> Vec<NodeHandle> {
        let first = tweak(0, self.builder(0)).start().await.unwrap();
        let addr = first.dial_addr().unwrap();
        let mut nodes = vec![first];
        for i in 1..n {
            nodes.push(
                tweak(i, self.builder(i).bootstrap(addr.clone()))
                    .start()
                    .await
                    .unwrap(),
            );
        }
        nodes
    }
}

/// Polls `check` every 100 ms until it holds or `limit` passes.
pub async fn wait_for(limit: Duration, what: &str, mut check: impl FnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + limit;
    while !check() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Runs `f` with a hard limit.
pub async fn bounded<T>(limit: Duration, f: impl Future<Output = T>) -> T {
    tokio::time::timeout(limit, f)
        .await
        .expect("test timed out")
}

/// Whether every node holds the same safety point at or above `min`.
pub fn common_safety(nodes: &[NodeHandle], min: u64) -> bool {
    let first = nodes[0].safety();
    first.is_some_and(|s| s.number >= min) && nodes.iter().all(|n| n.safety() == first)
}

/// A peer with identity `key` whose head protocol answers the framed
/// `answer` bytes to everyone and whose Graphsync serves `store`.
pub async fn liar(
    key: libp2p::identity::Keypair,
    answer: Vec<u8>,
    store: Arc<MemoryBlockstore>,
) -> (TcpNode, Graphsync) {
    let listen = "/ip4/127.0.0.1/tcp/0".parse().unwrap();
    let node = TcpNode::spawn_with(key, listen).await.unwrap();
    let graphsync = node.start_graphsync(store, Config::default()).unwrap();
    let mut incoming = node.control().accept(HEAD_PROTOCOL).unwrap();
    tokio::spawn(async move {
        while let Some((_, mut stream)) = incoming.next().await {
            let answer = answer.clone();
            tokio::spawn(async move {
                let _ = protocol::read_message(&mut stream).await;
                // Raw bytes: a liar keeps no size limit of its own.
                let _ = futures::AsyncWriteExt::write_all(&mut stream, &answer).await;
                let _ = futures::AsyncWriteExt::close(&mut stream).await;
            });
        }
    });
    (node, graphsync)
}

/// `len` bytes that do not compress (so an attachment's packed size is
/// about `len`), the same for the same `seed`.
pub fn noise(seed: u64, len: usize) -> Vec<u8> {
    use rand::{RngCore, SeedableRng};
    let mut out = vec![0; len];
    rand::rngs::StdRng::seed_from_u64(seed).fill_bytes(&mut out);
    out
}
