//! The public API: [`NodeHandle`], [`ChainPoint`], [`NodeEvent`].

use std::path::Path;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use cid::Cid;
use libp2p::multiaddr::Protocol;
use libp2p::{Multiaddr, PeerId};
use tau_keys::Address;
use tau_state::{AttachmentRef, Executor, TxBody};
use tokio::sync::{broadcast, oneshot};
use tokio::task::JoinHandle;

use crate::discovery;
use crate::runtime::{lock, Request, Shared};
use crate::source::GraphsyncSource;
use crate::swarm::{self, Command};
use crate::{Error, Result};

/// A state on the chain: its root and block number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ChainPoint {
    /// The state root.
    pub root: Cid,
    /// The block number.
    pub number: u64,
}

/// Something that happened in the node.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum NodeEvent {
    /// This node produced a block (process A).
    Mined {
        /// The new head.
        head: ChainPoint,
        /// Transactions it carries.
        transactions: usize,
    },
    /// Fork choice moved the head to a peer's chain (process B).
    HeadChanged {
        /// The new head.
        head: ChainPoint,
        /// Local blocks unwound (0: a pure extension).
        reorg_depth: u64,
    },
    /// The safety point advanced.
    SafetyAdvanced(ChainPoint),
    /// A connection to a peer is up.
    PeerConnected(PeerId),
    /// A random walk of the Kademlia table found this peer (reported once
    /// per peer).
    PeerDiscovered(PeerId),
    /// A relay accepted this node's reservation: it is reachable through it.
    RelayReserved(PeerId),
    /// A peer was marked dishonest (forged chain, garbage, repeated failures).
    PeerMarked {
        /// The peer.
        peer: PeerId,
        /// Why.
        reason: String,
    },
}

/// Counts since a node started ([`NodeHandle::counters`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct NodeCounters {
    /// Peers' chain views validated and counted in the vote.
    pub views_counted: u64,
    /// Peers' chain views refused: forged, or dated in the future.
    pub views_refused: u64,
    /// Attachment bytes served to visitors (charged to their quota).
    pub attachment_bytes_served: u64,
}

/// The queue of transactions peers relayed with their head requests,
/// waiting for process B's next tick to be offered to the mempool
/// ([`NodeHandle::relayed_queue`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct RelayedQueue {
    /// Transactions queued now.
    pub queued: usize,
    /// Peers with transactions queued now.
    pub peers: usize,
    /// Transactions the peer with the most queued holds now.
    pub longest: usize,
    /// Most transactions queued at once since start (at most
    /// [`MAX_RELAYED_QUEUE`](crate::MAX_RELAYED_QUEUE)).
    pub most_queued: usize,
    /// Most transactions one peer had queued at once since start (at most
    /// [`MAX_RELAYED_PER_PEER`](crate::MAX_RELAYED_PER_PEER)).
    pub most_per_peer: usize,
    /// Most peers with transactions queued at once since start.
    pub most_peers: usize,
    /// Relayed transactions refused since start (the queue's bounds).
    pub refused: u64,
    /// Queued transactions dropped since start to make room for a peer
    /// holding fewer.
    pub displaced: u64,
    /// Relayed transactions dropped since start before queueing, on the
    /// mempool's rules that need no state (sender, static rules, time).
    pub screened: u64,
}

/// Bytes of an attachment upload buffered before they are written.
pub(crate) const UPLOAD_BATCH_BYTES: usize = 8 << 20;

/// What an application holds: queries, transactions, attachments, events,
/// shutdown. Clones share the node.
#[derive(Clone)]
pub struct NodeHandle {
    pub(crate) inner: Arc<Shared>,
}

impl std::fmt::Debug for NodeHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NodeHandle")
            .field("peer_id", &self.inner.local)
            .finish_non_exhaustive()
    }
}

impl NodeHandle {
    /// The libp2p peer id.
    pub fn peer_id(&self) -> PeerId {
        self.inner.local
    }

    /// The node's TAU address.
    pub fn address(&self) -> Address {
        self.inner.address
    }

    /// Addresses it listens on.
    pub fn listen_addrs(&self) -> Vec<Multiaddr> {
        self.inner.view.borrow().listen_addrs.clone()
    }

    /// The first listen address with `/p2p/<peer id>`: what another node
    /// bootstraps from.
    pub fn dial_addr(&self) -> Option<Multiaddr> {
        let local = self.inner.local;
        self.listen_addrs().into_iter().next().map(|a| {
            // Circuit listen addresses end in the node's id already.
            if discovery::peer_of(&a) == Some(local) {
                a
            } else {
                a.with(Protocol::P2p(local))
            }
        })
    }

    /// The chain over the node's store, for any read (history, proofs, outputs).
    pub fn chain(&self) -> Executor<tau_ipld::SharedStore> {
        self.inner.chain.clone()
    }

    /// The head.
    pub fn head(&self) -> ChainPoint {
        self.inner.view.borrow().head
    }

    /// The safety point, if one was reached.
    pub fn safety(&self) -> Option<ChainPoint> {
        self.inner.view.borrow().safety
    }

    /// Balance of `address` at the head (0 for no account).
    pub fn balance(&self, address: &Address) -> Result<u64> {
        let head = self.head().root;
        Ok(self.inner.chain.balance(&head, address)?.unwrap_or(0))
    }

    /// Nonce of `address` at the head.
    pub fn nonce(&self, address: &Address) -> Result<u64> {
        let head = self.head().root;
        Ok(self.inner.chain.nonce(&head, address)?)
    }

    /// Sends `amount` to `receiver` with `fee` (opt 1). Returns a ticket for
    /// [`included`](Self::included); the transaction is signed with the next
    /// free nonce, re-signed if the chain moves first, handed to every peer
    /// asked and put in this node's own blocks.
    pub async fn send(&self, receiver: Address, amount: u64, fee: u64) -> Result<u64> {
        self.submit(TxBody::Wiring { receiver, amount }, fee).await
    }

    /// Queues an own transaction with the owner task (which persists it).
    async fn submit(&self, body: TxBody, fee: u64) -> Result<u64> {
        self.inner
            .ask(|reply| Request::Submit { body, fee, reply })
            .await
            .unwrap_or(Err(Error::Stopped))
    }

    /// Publishes a message (opt 2), optionally with an attachment.
    pub async fn message(
        &self,
        text: impl Into<String>,
        attachment: Option<AttachmentRef>,
        fee: u64,
    ) -> Result<u64> {
        let text = text.into();
        if text.len() > self.inner.config.chain.max_message_len {
            return Err(Error::Config("message longer than max_message_len"));
        }
        self.submit(TxBody::Message { text, attachment }, fee).await
    }

    /// Offers a transaction signed elsewhere (a wallet's) to the mempool,
    /// checked as a relayed one is (static rules, time, signature, nonce
    /// run, balance); once admitted it is handed to the peers asked and put
    /// in this node's blocks. Says whether it was admitted and why not.
    pub async fn submit_transaction(
        &self,
        transaction: tau_state::SignedTransaction,
    ) -> Result<tau_state::mempool::Admission> {
        self.inner
            .ask(|reply| Request::Admit {
                transaction: Box::new(transaction),
                reply,
            })
            .await
            .unwrap_or(Err(Error::Stopped))
    }

    /// For a ticket of [`send`](Self::send) or [`message`](Self::message):
    /// `Some(Some(n))` included in block `n` on the head chain, `Some(None)`
    /// pending, `None` included at the safety point (and forgotten) or unknown.
    pub fn included(&self, ticket: u64) -> Option<Option<u64>> {
        let view = self.inner.view.borrow();
        view.tickets
            .iter()
            .find(|(t, _)| *t == ticket)
            .map(|(_, included)| *included)
    }

    /// The Graphsync service's counters (bytes and blocks sent and
    /// received, requests served and refused).
    pub fn graphsync_stats(&self) -> tau_graphsync::net::Stats {
        self.inner.graphsync.stats()
    }

    /// Counts since the node started, for monitoring.
    pub fn counters(&self) -> NodeCounters {
        let load = |c: &std::sync::atomic::AtomicU64| c.load(Ordering::Relaxed);
        NodeCounters {
            views_counted: load(&self.inner.views_counted),
            views_refused: load(&self.inner.views_refused),
            attachment_bytes_served: self.inner.host.served_bytes(),
        }
    }

    /// The queue of relayed transactions (its length, high-water marks and
    /// refusals), as the owner task last updated it.
    pub fn relayed_queue(&self) -> RelayedQueue {
        *crate::runtime::lock(&self.inner.relayed)
    }

    /// Transactions waiting in the mempool (others' and relayed).
    pub fn mempool_size(&self) -> usize {
        self.inner.view.borrow().mempool
    }

    /// Own transactions not yet under the safety point.
    pub fn pending_transactions(&self) -> usize {
        self.inner.view.borrow().tickets.len()
    }

    /// Packs and stores the file or directory at `path` as an attachment.
    pub async fn attach_put(&self, path: &Path) -> Result<tau_attach::Uploaded> {
        let store = self.inner.store.blocks().clone();
        let config = self.inner.config.attach;
        let path = path.to_path_buf();
        // Sections reach redb in batches (one transaction per flush), not one
        // transaction each.
        let inner = self.inner.clone();
        tokio::task::spawn_blocking(move || {
            // Sections are reachable from nothing until the pin.
            let _writing = inner.writing_blocks();
            let batch = tau_ipld::blockstore::WriteBatch::new(&store, UPLOAD_BATCH_BYTES);
            let uploaded = tau_attach::upload(&batch, &path, &config)?;
            batch.flush()?;
            inner.store.pin(&uploaded.root)?;
            Ok(uploaded)
        })
        .await
        .map_err(|e| Error::Network(format!("upload task: {e}")))?
    }

    /// Process C: downloads the attachment `root` from `peers` over Graphsync
    /// (sections in parallel, each verified, liars dropped; gives up after
    /// `rounds` rounds).
    pub async fn attach_get(
        &self,
        root: Cid,
        peers: &[PeerId],
        rounds: u32,
    ) -> Result<tau_attach::DownloadReport> {
        self.download(root, peers, rounds, None).await
    }

    /// What the follower reports: scan height, queue, fetched roots, bytes
    /// spent (see [`NodeBuilder::follow`](crate::NodeBuilder::follow)).
    pub fn following(&self) -> crate::FollowStatus {
        self.inner.follow_status.borrow().clone()
    }

    /// [`attach_get`](Self::attach_get) refusing an attachment larger than
    /// `max_total_size` before fetching its sections.
    pub(crate) async fn download(
        &self,
        root: Cid,
        peers: &[PeerId],
        rounds: u32,
        max_total_size: Option<u64>,
    ) -> Result<tau_attach::DownloadReport> {
        let store = self.inner.store.blocks().clone();
        let config = self.inner.config.attach;
        let runtime = tokio::runtime::Handle::current();
        let timeout = self.inner.config.timing.request_timeout;
        let known = self
            .inner
            .ask(|reply| Request::Addresses {
                peers: peers.to_vec(),
                reply,
            })
            .await
            .ok_or(Error::Stopped)?;
        let sources: Vec<Arc<GraphsyncSource>> = peers
            .iter()
            .zip(known)
            .map(|(p, addrs)| {
                self.inner.command(Command::DialPeer(*p, addrs));
                Arc::new(GraphsyncSource::new(
                    self.inner.graphsync.clone(),
                    store.clone(),
                    *p,
                    runtime.clone(),
                    timeout,
                    root,
                ))
            })
            .collect();
        let asked = sources.clone();
        let options = tau_attach::DownloadOptions {
            max_rounds: Some(rounds.max(1)),
            max_total_size,
            ..Default::default()
        };
        let inner = self.inner.clone();
        let downloaded = tokio::task::spawn_blocking(move || {
            // Sections are reachable from nothing until the pin.
            let _writing = inner.writing_blocks();
            // Shutdown stops the download (its blocking thread would
            // otherwise keep the runtime from ending).
            let cancel = &*inner.stopping;
            let refs: Vec<&dyn tau_attach::Source> = sources
                .iter()
                .map(|s| &**s as &dyn tau_attach::Source)
                .collect();
            let report =
                tau_attach::download(&store, &root, &refs, &config, &options, cancel, &|_| {})?;
            inner.store.pin(&root)?;
            Ok(report)
        })
        .await
        .map_err(|e| Error::Network(format!("download task: {e}")))?;
        match downloaded {
            Ok(report) => Ok(report),
            // Say why when a peer refused (e.g. the quota), not just "gave up".
            Err(e @ tau_attach::Error::GaveUp { .. }) => Err(asked
                .iter()
                .find_map(|s| {
                    s.refusal().map(|reason| Error::Refused {
                        peer: s.peer().to_string(),
                        reason,
                    })
                })
                .unwrap_or(Error::Attach(e))),
            Err(e) => Err(Error::Attach(e)),
        }
    }

    /// Peers this node knows that the chain names as holding the
    /// attachment `root` (see `seeders`): the senders of messages that
    /// attach it, and the miners and visitors of attachment logs that
    /// record serving it, within the last [`SEEDER_SCAN_BLOCKS`] blocks.
    /// Process C asks these when no peers are given
    /// ([`attach_get_from_chain`](Self::attach_get_from_chain)).
    ///
    /// [`SEEDER_SCAN_BLOCKS`]: crate::SEEDER_SCAN_BLOCKS
    pub async fn attachment_seeders(&self, root: Cid) -> Result<Vec<PeerId>> {
        let chain = self.chain();
        let head = self.head().root;
        let holders = tokio::task::spawn_blocking(move || {
            crate::seeders::holders(&chain, &head, &root, crate::SEEDER_SCAN_BLOCKS)
        })
        .await
        .map_err(|e| Error::Network(format!("seeder scan task: {e}")))??;
        let peers = self.peers();
        Ok(holders
            .iter()
            .filter(|a| **a != self.inner.address)
            .filter_map(|a| {
                peers
                    .iter()
                    .find(|p| crate::peer_address(p) == Some(*a))
                    .copied()
            })
            .collect())
    }

    /// Process C with sources from the chain: downloads `root` from the
    /// peers [`attachment_seeders`](Self::attachment_seeders) finds.
    pub async fn attach_get_from_chain(
        &self,
        root: Cid,
        rounds: u32,
    ) -> Result<tau_attach::DownloadReport> {
        let seeders = self.attachment_seeders(root).await?;
        if seeders.is_empty() {
            return Err(Error::NoSeeders(Box::new(root)));
        }
        self.attach_get(root, &seeders, rounds).await
    }

    /// Bytes of attachments this node served to `visitor` (in its logs in
    /// the state and not yet in a block): what counts against its quota.
    pub fn served_to(&self, visitor: &Address) -> u64 {
        self.inner.host.used(visitor)
    }

    /// Downloads served and not yet written into a block.
    pub fn pending_service(&self) -> Vec<tau_state::ServiceRecord> {
        self.inner.host.pending()
    }

    /// Keeps `root` and every block it links to through garbage collections
    /// (a named root `tau-node/pin/<root>` in the store; nothing in memory
    /// mode). Attachments this node uploads or downloads are pinned.
    pub fn pin(&self, root: Cid) -> Result<()> {
        Ok(self.inner.store.pin(&root)?)
    }

    /// Removes the pin of `root`; whether it was pinned. Its blocks go at the
    /// next collection unless something kept still reaches them.
    pub fn unpin(&self, root: Cid) -> Result<bool> {
        self.inner.store.unpin(&root)
    }

    /// The pinned roots.
    pub fn pinned(&self) -> Result<Vec<Cid>> {
        self.inner.store.pins()
    }

    /// Forgets the attachment `root` this node published
    /// ([`attach_put`](Self::attach_put)) or downloaded
    /// ([`attach_get`](Self::attach_get)): it is no longer pinned, so the
    /// next garbage collection deletes its manifest, section map and
    /// sections (those another pinned attachment shares stay) and the node
    /// stops serving it. Messages already on the chain that name it are
    /// unaffected (they hold its CID, not a link). Returns whether it was
    /// pinned.
    pub fn drop_attachment(&self, root: Cid) -> Result<bool> {
        self.inner.store.unpin(&root)
    }

    /// Runs a garbage collection of the store now (off the async workers),
    /// as the node does every [`Timing::gc_interval`](crate::Timing): keeps
    /// genesis, head, safety point with the mutable range below it, the heads
    /// peers answered with and pinned roots, deletes every other block.
    /// `None` without a data directory, when a collection already runs or
    /// when uploads and validations in flight kept it from starting.
    pub async fn collect_garbage(&self) -> Result<Option<tau_ipld::blockstore::GcReport>> {
        let inner = self.inner.clone();
        tokio::task::spawn_blocking(move || inner.collect_garbage())
            .await
            .map_err(|e| Error::Network(format!("garbage collection task: {e}")))?
    }

    /// Blocks in the store and their bytes (`None` without a data
    /// directory). Walks the whole block table.
    pub fn stored_blocks(&self) -> Result<Option<(u64, u64)>> {
        match self.inner.store.redb() {
            Some(redb) => Ok(Some((redb.block_count()?, redb.total_bytes()?))),
            None => Ok(None),
        }
    }

    /// Unpacks a stored attachment into `dir`.
    pub async fn attach_export(&self, root: Cid, dir: &Path) -> Result<tau_attach::Exported> {
        let store = self.inner.store.blocks().clone();
        let config = self.inner.config.attach;
        let dir = dir.to_path_buf();
        tokio::task::spawn_blocking(move || tau_attach::export(&store, &root, &dir, &config))
            .await
            .map_err(|e| Error::Network(format!("export task: {e}")))?
            .map_err(Error::from)
    }

    /// The node's events (each subscriber sees those after it subscribed).
    pub fn events(&self) -> broadcast::Receiver<NodeEvent> {
        self.inner.events.subscribe()
    }

    /// Pauses or resumes process A (a mining node only).
    pub fn set_mining(&self, enabled: bool) {
        self.inner.mining.store(enabled, Ordering::Relaxed);
    }

    /// Peers known (with addresses).
    pub fn peers(&self) -> Vec<PeerId> {
        self.inner.view.borrow().peers.clone()
    }

    /// The connections the node holds and is setting up (`None` once the
    /// swarm has stopped).
    pub async fn connections(&self) -> Option<swarm::Connections> {
        let (reply, answer) = oneshot::channel();
        self.inner.command(Command::Connections(reply));
        answer.await.ok()
    }

    /// Peers found by random walks of the Kademlia table.
    pub fn discovered_peers(&self) -> Vec<PeerId> {
        self.inner.view.borrow().walked.clone()
    }

    /// Relays known (found by identify, configured or persisted).
    pub fn relays(&self) -> Vec<PeerId> {
        self.inner.view.borrow().relays.clone()
    }

    /// Relays holding a reservation for this node.
    pub fn relay_reservations(&self) -> Vec<PeerId> {
        self.inner.view.borrow().reservations.clone()
    }

    /// Peers marked dishonest.
    pub fn marked_peers(&self) -> Vec<PeerId> {
        self.inner.view.borrow().marked.clone()
    }

    /// Dials `addr` (e.g. a peer's [`dial_addr`](Self::dial_addr)).
    pub fn dial(&self, addr: Multiaddr) {
        self.inner.command(Command::Dial(addr));
    }

    /// Stops the node: tasks end, head, safety point and peers are written,
    /// the swarm closes and the store is closed once the last handle drops.
    pub async fn shutdown(self) -> Result<()> {
        // The owner writes head, safety point, pending transactions and
        // peers, stops the swarm and its workers, and ends.
        let _ = self.inner.shutdown.send(true);
        self.inner.stopping.store(true, Ordering::Relaxed);
        let mut tasks: Vec<JoinHandle<()>> = lock(&self.inner.tasks).drain(..).collect();
        // The owner task is the last: give it the time its stop takes.
        if let Some(mut owner) = tasks.pop() {
            if tokio::time::timeout(Duration::from_secs(10), &mut owner)
                .await
                .is_err()
            {
                owner.abort();
                let _ = owner.await;
            }
        }
        for task in tasks {
            task.abort();
            let _ = task.await;
        }
        tracing::info!(peer = %self.inner.local, "node stopped");
        Ok(())
    }
}
