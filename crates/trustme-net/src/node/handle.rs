//! What a node is told and what it tells: its configuration, the handle
//! that commands its task, and the status and counters it reports.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use cid::Cid;
use libp2p::{Multiaddr, PeerId};
use tau_dag::VerifiedUnit;
use tau_keys::{Address, Keypair};
use tau_trustme::{Genesis, Params};
use tokio::sync::{mpsc, oneshot};

use crate::devnet::PaymentPlan;
use crate::{Error, Result};

/// A super node's configuration ([`Devnet::node_config`](crate::Devnet::node_config)).
#[derive(Debug, Clone)]
pub struct NodeConfig {
    /// The node's consensus key.
    pub key: Keypair,
    /// DAG parameters.
    pub dag_params: tau_dag::Params,
    /// Main-chain parameters.
    pub chain_params: tau_mainchain::Params,
    /// Consensus parameters.
    pub params: Params,
    /// The genesis configuration.
    pub genesis: Genesis,
    /// The genesis unit.
    pub genesis_unit: VerifiedUnit,
    /// Time zero of the network: unit timestamps are ms since it.
    pub epoch: Instant,
    /// How often the node attests, mines and pays.
    pub tick: Duration,
    /// Payments this node sends (none: it sends none).
    pub payment: Option<PaymentPlan>,
    /// Addresses whose ledger balances [`Status`] reports.
    pub watch: Vec<Address>,
    /// Mixed into the first Equihash nonce of each mining job.
    pub nonce_seed: u64,
}

/// Counters of one node.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Stats {
    /// Units received from peers (gossip and fetches).
    pub units_received: u64,
    /// Units this node made and published.
    pub units_made: u64,
    /// Units from peers refused (size, decoding, signatures, parents,
    /// round rules or PoW).
    pub units_refused: u64,
    /// Fetch requests sent.
    pub fetches: u64,
    /// Fetches that failed or came back empty.
    pub fetch_failures: u64,
    /// Fetches not queued because the queue was full.
    pub fetch_dropped: u64,
    /// Payments sent.
    pub payments_sent: u64,
    /// Payments found in the stable ledger.
    pub payments_confirmed: u64,
    /// Round switches this node's replica went through.
    pub round_switches: u64,
    /// PoW solutions found.
    pub pow_found: u64,
    /// Catch-up proofs that moved this node's stable point.
    pub catchups: u64,
    /// MCIs adopted from catch-up proofs.
    pub catchup_mcis: u64,
    /// Catch-up exchanges that failed (no answer, bad proof).
    pub catchup_errors: u64,
    /// Catch-up proofs served to peers.
    pub catchups_served: u64,
    /// Catch-up requests refused because the peer, or all peers together,
    /// asked too often.
    pub catchups_refused: u64,
}

/// A snapshot of one node's replica.
#[derive(Debug, Clone)]
pub struct Status {
    /// The node's address.
    pub address: Address,
    /// Its libp2p id.
    pub peer_id: PeerId,
    /// Its replica's current round.
    pub round: u64,
    /// The attestors of that round, in priority order.
    pub attestors: Vec<Address>,
    /// Its last stable MCI.
    pub last_stable_mci: u64,
    /// `state_digest(mci)` for MCIs `1..=last_stable_mci` (index `mci - 1`).
    pub digests: Vec<Option<[u8; 32]>>,
    /// The stable units of each MCI `0..=last_stable_mci`, in total order.
    pub stable_units: Vec<Vec<Cid>>,
    /// Ledger balances of the watched addresses.
    pub balances: BTreeMap<Address, u64>,
    /// Coinbase credited per address by the round switches it saw.
    pub rewards: BTreeMap<Address, u64>,
    /// Notes issued so far (the ledger's count).
    pub issued: u64,
    /// Units waiting in the replica's pool.
    pub waiting: usize,
    /// Peers connected now.
    pub connected: usize,
    /// Unit ids queued or in flight to be fetched.
    pub fetch_queued: usize,
    /// Connections established now that peers dialed.
    pub connections_in: usize,
    /// Connections established now that this node dialed.
    pub connections_out: usize,
    /// Connected peers known to be subscribed to
    /// [`UNITS_TOPIC`](super::UNITS_TOPIC) (they get what this node
    /// publishes).
    pub topic_peers: usize,
    /// Counters.
    pub stats: Stats,
    /// The error that stopped the node ([`tau_trustme::Error::is_fatal`]: a
    /// store failure part way), if one did.
    pub fatal: Option<String>,
}

/// Commands to a node task.
pub(super) enum Command {
    Dial(PeerId, Multiaddr),
    Block(PeerId),
    Unblock(PeerId),
    Status(oneshot::Sender<Box<Status>>),
    /// Publish raw bytes on the units topic (tests: a hostile peer).
    PublishRaw(Vec<u8>, oneshot::Sender<bool>),
    Has(Cid, oneshot::Sender<bool>),
    Stop,
}

/// A running node: its identity, where it listens, and a command channel.
#[derive(Debug)]
pub struct NodeHandle {
    /// Its libp2p id.
    pub peer_id: PeerId,
    /// Where it listens.
    pub addr: Multiaddr,
    /// Its consensus address.
    pub address: Address,
    pub(super) commands: mpsc::UnboundedSender<Command>,
    pub(super) task: tokio::task::JoinHandle<()>,
}

impl NodeHandle {
    fn send(&self, c: Command) -> Result<()> {
        self.commands.send(c).map_err(|_| Error::Stopped)
    }

    /// Dials `peer` at `addr` (and redials it whenever it is not connected
    /// and not blocked).
    pub fn dial(&self, peer: PeerId, addr: Multiaddr) -> Result<()> {
        self.send(Command::Dial(peer, addr))
    }

    /// Closes every connection to `peer` and refuses new ones.
    pub fn block(&self, peer: PeerId) -> Result<()> {
        self.send(Command::Block(peer))
    }

    /// Lets `peer` connect again (the node redials it).
    pub fn unblock(&self, peer: PeerId) -> Result<()> {
        self.send(Command::Unblock(peer))
    }

    /// A snapshot of the node's replica and counters.
    pub async fn status(&self) -> Result<Status> {
        let (tx, rx) = oneshot::channel();
        self.send(Command::Status(tx))?;
        match tokio::time::timeout(Duration::from_secs(10), rx).await {
            Ok(Ok(s)) => Ok(*s),
            Ok(Err(_)) => Err(Error::Stopped),
            Err(_) => Err(Error::Timeout("status")),
        }
    }

    /// Publishes raw bytes on [`UNITS_TOPIC`](super::UNITS_TOPIC) as if
    /// they were a unit (for tests of what peers do with garbage); whether
    /// gossipsub took them.
    pub async fn publish_raw(&self, bytes: Vec<u8>) -> Result<bool> {
        let (tx, rx) = oneshot::channel();
        self.send(Command::PublishRaw(bytes, tx))?;
        rx.await.map_err(|_| Error::Stopped)
    }

    /// Whether the node holds unit `id`: in its DAG, or waiting in its
    /// replica's pool for parents or a round.
    pub async fn has_unit(&self, id: Cid) -> Result<bool> {
        let (tx, rx) = oneshot::channel();
        self.send(Command::Has(id, tx))?;
        rx.await.map_err(|_| Error::Stopped)
    }

    /// Stops the task and waits for it.
    pub async fn stop(self) {
        let _ = self.commands.send(Command::Stop);
        let _ = self.task.await;
    }
}
