//! Node configuration: the builder, parameter presets, timing and genesis.

use std::path::PathBuf;
use std::sync::PoisonError;
use std::time::Duration;

use cid::Cid;
use libp2p::Multiaddr;
use tau_ipld::Blockstore;
use tau_keys::Keypair;
use tau_state::{Executor, Genesis};

pub use tau_cbc::Mode;

use crate::{Error, Result};

/// The genesis state every node of a network starts from: its root and the
/// blocks that make it (nodes trust this root as the first state).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GenesisBlocks {
    /// The genesis state root.
    pub root: Cid,
    /// Every block of the genesis state.
    pub blocks: Vec<(Cid, Vec<u8>)>,
}

impl GenesisBlocks {
    /// Builds the genesis state of `genesis`, block 0 signed by `creator`.
    pub fn new(genesis: &Genesis, creator: &Keypair, params: &tau_state::Params) -> Result<Self> {
        let store = Recorder::default();
        let chain = Executor::new(&store, params.clone())?;
        let (root, _) = chain.genesis(genesis, creator)?;
        let blocks = store
            .blocks
            .into_inner()
            .unwrap_or_else(PoisonError::into_inner);
        Ok(Self { root, blocks })
    }
}

/// A store that keeps every block put into it, in order.
#[derive(Default)]
struct Recorder {
    blocks: std::sync::Mutex<Vec<(Cid, Vec<u8>)>>,
}

impl Blockstore for Recorder {
    fn get_raw(&self, cid: &Cid) -> tau_ipld::Result<Option<Vec<u8>>> {
        let blocks = self.blocks.lock().unwrap_or_else(PoisonError::into_inner);
        Ok(blocks
            .iter()
            .find(|(c, _)| c == cid)
            .map(|(_, d)| d.clone()))
    }
    fn put_keyed(&self, cid: &Cid, block: &[u8]) -> tau_ipld::Result<()> {
        let mut blocks = self.blocks.lock().unwrap_or_else(PoisonError::into_inner);
        if !blocks.iter().any(|(c, _)| c == cid) {
            blocks.push((*cid, block.to_vec()));
        }
        Ok(())
    }
    fn has(&self, cid: &Cid) -> tau_ipld::Result<bool> {
        Ok(self.get_raw(cid)?.is_some())
    }
}

/// How often the node does things. [`Timing::default`] suits a LAN or
/// 127.0.0.1; slow links want longer timeouts.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Timing {
    /// Process B: how often the node asks peers and votes.
    pub poll_interval: Duration,
    /// Process A: how often a miner checks whether its Proof-of-Transaction
    /// allows the next block.
    pub mine_check: Duration,
    /// One head request (open, ask, answer).
    pub request_timeout: Duration,
    /// Recursion depth of the Graphsync request that fetches a peer's chain
    /// from its head (each state takes a dozen levels; go peers accept 100).
    pub fetch_depth: u64,
    /// Graphsync requests per answer at most, each resuming where blocks were
    /// still missing.
    pub fetch_rounds: usize,
    /// How often the node walks the Kademlia table at random to find peers
    /// and relays.
    pub walk_interval: Duration,
    /// One Graphsync request for a peer's blocks fails when it has not
    /// finished this long after it was made (a responder that dribbles blocks
    /// just inside the idle timeout cannot hold the fetch longer).
    pub fetch_timeout: Duration,
    /// Bytes of a peer's blocks held unchecked while its view (the mutable
    /// range under its head) is fetched and validated. They reach the store
    /// only once the view validated; a forged or unanchored chain leaves
    /// nothing behind.
    pub view_quarantine_bytes: u64,
    /// The same bound for a catch-up: the blocks between the safety point and
    /// the peer's head, held until the walk back validated all of them.
    pub catch_up_quarantine_bytes: u64,
    /// Bytes held unchecked by all fetches together (every peer's view and
    /// the catch-up).
    pub total_quarantine_bytes: u64,
    /// How often a node with a data directory collects the garbage of its
    /// store (blocks no kept root reaches, `docs/src/storage.md`); also after a
    /// catch-up refused once its blocks were stored. `Duration::ZERO`: only on
    /// [`NodeHandle::collect_garbage`](crate::NodeHandle::collect_garbage).
    pub gc_interval: Duration,
    /// Blocks a collection deletes per redb write transaction (each a short
    /// pause for other writers).
    pub gc_batch: usize,
    /// How often a node following senders looks for their new attachments
    /// and fetches the next one ([`NodeBuilder::follow`]).
    pub follow_interval: Duration,
}

impl Default for Timing {
    fn default() -> Self {
        Self {
            poll_interval: Duration::from_millis(250),
            mine_check: Duration::from_millis(100),
            request_timeout: Duration::from_secs(5),
            fetch_depth: 100,
            fetch_rounds: 12,
            walk_interval: Duration::from_secs(5),
            fetch_timeout: Duration::from_secs(60),
            view_quarantine_bytes: 64 << 20,
            catch_up_quarantine_bytes: 512 << 20,
            total_quarantine_bytes: 1 << 30,
            gc_interval: Duration::from_secs(600),
            gc_batch: tau_ipld::blockstore::DEFAULT_SWEEP_BATCH,
            follow_interval: Duration::from_secs(2),
        }
    }
}

/// Parameters for a small local network of `nodes` miners: 2 s blocks
/// (intervals in [1, 12] s, a genesis base target giving about one block per
/// 2 s among `nodes` fresh miners), 3 confirmations and a 32-block mutable
/// range. On 127.0.0.1 a block reaches every node within a poll interval
/// (250 ms), well below the block time, as the vote rule needs.
pub fn local_devnet(nodes: usize) -> (tau_state::Params, tau_cbc::Params) {
    let mut chain = tau_state::Params::devnet();
    chain.block_time = 2;
    chain.min_interval = 1;
    chain.max_interval = 12;
    chain.genesis_base_target = u64::MAX / (2 * (nodes as u64 + 1)).max(1);
    let mut cbc = tau_cbc::Params::devnet();
    cbc.confirmations = 3;
    cbc.mutable_range = 32;
    (chain, cbc)
}

/// Everything a node is started with; made by [`NodeBuilder`].
#[derive(Debug, Clone)]
pub struct NodeConfig {
    pub(crate) key: Keypair,
    pub(crate) data_dir: Option<PathBuf>,
    pub(crate) listen: Vec<Multiaddr>,
    pub(crate) bootstrap: Vec<Multiaddr>,
    pub(crate) mode: Mode,
    pub(crate) chain: tau_state::Params,
    pub(crate) cbc: tau_cbc::Params,
    pub(crate) genesis: Option<GenesisBlocks>,
    pub(crate) timing: Timing,
    pub(crate) attach: tau_attach::Config,
    pub(crate) rng_seed: Option<u64>,
    pub(crate) free_quota: u64,
    pub(crate) relay_server: bool,
    pub(crate) relays: Vec<Multiaddr>,
    pub(crate) behind_nat: bool,
    pub(crate) warm_state_nodes: usize,
    pub(crate) follow: crate::follower::FollowConfig,
}

/// Builds a node: key, data directory, listen addresses, bootstrap peers,
/// mode and parameters.
///
/// Defaults: a random key, in-memory store, `/ip4/127.0.0.1/tcp/0`, mining,
/// [`local_devnet`]`(4)` parameters, [`Timing::default`]. A genesis is required.
#[derive(Debug, Clone)]
pub struct NodeBuilder {
    config: NodeConfig,
}

impl Default for NodeBuilder {
    fn default() -> Self {
        let (chain, cbc) = local_devnet(4);
        Self {
            config: NodeConfig {
                key: Keypair::random(),
                data_dir: None,
                listen: Vec::new(),
                bootstrap: Vec::new(),
                mode: Mode::Mining,
                chain,
                cbc,
                genesis: None,
                timing: Timing::default(),
                attach: tau_attach::Config::default(),
                rng_seed: None,
                free_quota: tau_attach::DEFAULT_FREE_QUOTA,
                relay_server: false,
                relays: Vec::new(),
                behind_nat: false,
                warm_state_nodes: tau_state::DEFAULT_WARM_STATE_NODES,
                follow: crate::follower::FollowConfig::default(),
            },
        }
    }
}

impl NodeBuilder {
    /// The TAU key (address, block and transaction signatures, and the
    /// libp2p identity: the peer id embeds its public key, so peers read the
    /// node's TAU address from it and a restarted node keeps its peer id).
    pub fn key(mut self, key: Keypair) -> Self {
        self.config.key = key;
        self
    }

    /// Persist blocks, head, safety point and peers in this directory (redb).
    pub fn data_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.config.data_dir = Some(dir.into());
        self
    }

    /// Listen on this address (may be given several times).
    pub fn listen(mut self, addr: Multiaddr) -> Self {
        self.config.listen.push(addr);
        self
    }

    /// Dial this peer at start (may be given several times).
    pub fn bootstrap(mut self, addr: Multiaddr) -> Self {
        self.config.bootstrap.push(addr);
        self
    }

    /// Mining (processes A and B) or light (B only).
    pub fn mode(mut self, mode: Mode) -> Self {
        self.config.mode = mode;
        self
    }

    /// Chain and safety parameters (e.g. [`local_devnet`]).
    pub fn params(mut self, chain: tau_state::Params, cbc: tau_cbc::Params) -> Self {
        self.config.chain = chain;
        self.config.cbc = cbc;
        self
    }

    /// The network's genesis.
    pub fn genesis(mut self, genesis: GenesisBlocks) -> Self {
        self.config.genesis = Some(genesis);
        self
    }

    /// Polling and timeouts.
    pub fn timing(mut self, timing: Timing) -> Self {
        self.config.timing = timing;
        self
    }

    /// Attachment settings (section size, limits).
    pub fn attach_config(mut self, config: tau_attach::Config) -> Self {
        self.config.attach = config;
        self
    }

    /// Bytes of attachments served free to each visitor address when the
    /// node's own published profile names no `free_quota` (default 1 GiB).
    pub fn free_quota(mut self, bytes: u64) -> Self {
        self.config.free_quota = bytes;
        self
    }

    /// Serve circuit-relay v2 reservations and circuits (a relay router for
    /// nodes behind NAT). Off by default.
    pub fn relay_server(mut self, enabled: bool) -> Self {
        self.config.relay_server = enabled;
        self
    }

    /// Listen through this relay (its address ending in `/p2p/<relay id>`):
    /// the node reserves a slot and is reachable at
    /// `…/p2p/<relay id>/p2p-circuit/p2p/<own id>`. May be given several times.
    pub fn relay(mut self, addr: Multiaddr) -> Self {
        self.config.relays.push(addr);
        self
    }

    /// The node cannot be reached directly: it listens on no address of its
    /// own, only through relays — those given with [`relay`](Self::relay),
    /// the persisted ones and those its random walks find (at most two
    /// reservations). Incompatible with [`listen`](Self::listen).
    pub fn behind_nat(mut self, behind: bool) -> Self {
        self.config.behind_nat = behind;
        self
    }

    /// Bounds the chain's warm head state (the decoded HAMT of the state the
    /// node last mined or validated, reused by the next block) to this many
    /// decoded nodes, about 1 KiB each; 0 turns it off. Default
    /// [`DEFAULT_WARM_STATE_NODES`](tau_state::DEFAULT_WARM_STATE_NODES).
    /// It changes no result, only memory and speed.
    pub fn warm_state_nodes(mut self, max_nodes: usize) -> Self {
        self.config.warm_state_nodes = max_nodes;
        self
    }

    /// Follows `sender`: the attachments its new messages reference are
    /// fetched in the background from the peers the chain names as holding
    /// them, within [`follow_budget`](Self::follow_budget) (opt-in; resumes
    /// after a restart with a data directory).
    pub fn follow(mut self, sender: tau_keys::Address) -> Self {
        if !self.config.follow.senders.contains(&sender) {
            self.config.follow.senders.push(sender);
        }
        self
    }

    /// Bytes of followed attachments stored at most (default 0: set it
    /// with [`follow`](Self::follow)).
    pub fn follow_budget(mut self, bytes: u64) -> Self {
        self.config.follow.budget_bytes = bytes;
        self
    }

    /// Seeds the random walk (reproducible peer order in tests).
    pub fn rng_seed(mut self, seed: u64) -> Self {
        self.config.rng_seed = Some(seed);
        self
    }

    /// The configuration, checked.
    pub fn build(self) -> Result<NodeConfig> {
        let c = &self.config;
        if c.genesis.is_none() {
            return Err(Error::Config("a genesis is required"));
        }
        c.chain.validate()?;
        c.cbc.validate()?;
        if c.behind_nat && !c.listen.is_empty() {
            return Err(Error::Config(
                "a node behind NAT listens only through relays",
            ));
        }
        if c.relays
            .iter()
            .any(|a| crate::discovery::peer_of(a).is_none())
        {
            return Err(Error::Config("a relay address must end in /p2p/<peer id>"));
        }
        if c.timing.walk_interval.is_zero() {
            return Err(Error::Config("walk_interval must be positive"));
        }
        if c.timing.fetch_rounds == 0 || c.timing.fetch_depth == 0 {
            return Err(Error::Config(
                "fetch_rounds and fetch_depth must be positive",
            ));
        }
        Ok(self.config)
    }

    /// Builds and starts the node (see [`Node::start`](crate::Node::start)).
    pub async fn start(self) -> Result<crate::NodeHandle> {
        crate::Node::start(self.build()?).await
    }
}
