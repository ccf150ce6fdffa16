//! The node's block store and what survives a restart (the TAU design note's local
//! trie), all in one redb file: head, safety point, genesis and pinned data
//! as named roots over the blocks; known peers, own pending transactions and
//! served downloads as records (node-local bookkeeping, not blocks, so that
//! rewriting them leaves no garbage). See `docs/src/storage.md`.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use cid::Cid;
use libp2p::{Multiaddr, PeerId};
use serde::{Deserialize, Serialize};
use tau_ipld::SharedStore;
use tau_ipld::{MemoryBlockstore, RedbBlockstore};

use crate::{Error, Result};
use serde_bytes::ByteBuf;

/// Root names.
pub(crate) const GENESIS: &str = "tau-node/genesis";
pub(crate) const HEAD: &str = "tau-node/head";
pub(crate) const SAFETY: &str = "tau-node/safety";
/// Prefix of pinned roots: `tau-node/pin/<cid>` holds `<cid>`.
pub(crate) const PIN_PREFIX: &str = "tau-node/pin/";
/// Record names (stores written before the records table held them as
/// DAG-CBOR blocks under roots of the same names; [`NodeStore::open`]
/// moves them).
pub(crate) const PEERS: &str = "tau-node/peers";
pub(crate) const PENDING_SERVICE: &str = "tau-node/pending-service";
pub(crate) const PENDING: &str = "tau-node/pending";
/// The follower's queue, scan height and spending (`follower`).
pub(crate) const FOLLOW: &str = "tau-node/follow";

/// The file inside the data directory.
pub const STORE_FILE: &str = "blocks.redb";

/// Most peers persisted.
const MAX_PERSISTED_PEERS: usize = 256;

/// Blocks plus, when persistent, named roots.
#[derive(Clone)]
pub(crate) struct NodeStore {
    blocks: SharedStore,
    redb: Option<Arc<RedbBlockstore>>,
}

#[derive(Serialize, Deserialize)]
struct PeerEntry {
    id: ByteBuf,
    addrs: Vec<ByteBuf>,
    /// Serves circuit-relay v2 (absent in stores written before relays).
    #[serde(default)]
    relay: bool,
}

/// A peer as persisted: its addresses and whether it relays.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct KnownPeer {
    pub(crate) id: PeerId,
    pub(crate) addrs: Vec<Multiaddr>,
    pub(crate) relay: bool,
}

impl NodeStore {
    /// In memory: nothing survives the process.
    pub(crate) fn memory() -> Self {
        Self {
            blocks: Arc::new(MemoryBlockstore::new()),
            redb: None,
        }
    }

    /// The redb file in `dir` (created if missing).
    pub(crate) fn open(dir: &Path) -> Result<Self> {
        let data_dir = |source| Error::DataDir {
            path: PathBuf::from(dir),
            source,
        };
        std::fs::create_dir_all(dir).map_err(|e| data_dir(tau_ipld::Error::Io(e)))?;
        // A previous instance in this process may still be closing: wait a little.
        let path = dir.join(STORE_FILE);
        let mut attempts = 0;
        let redb = loop {
            match RedbBlockstore::open(&path) {
                Ok(store) => break Arc::new(store),
                Err(e) if attempts < 50 && e.to_string().contains("already open") => {
                    attempts += 1;
                    std::thread::sleep(std::time::Duration::from_millis(100));
                }
                Err(e) => return Err(data_dir(e)),
            }
        };
        // Migration: records an older store kept as blocks under roots.
        for name in [PEERS, PENDING, PENDING_SERVICE] {
            if redb.move_root_to_record(name).map_err(data_dir)? {
                tracing::info!("moved {name} from a block into the records table");
            }
        }
        Ok(Self {
            blocks: redb.clone(),
            redb: Some(redb),
        })
    }

    pub(crate) fn blocks(&self) -> &SharedStore {
        &self.blocks
    }

    /// The redb store (`None` in memory).
    pub(crate) fn redb(&self) -> Option<&Arc<RedbBlockstore>> {
        self.redb.as_ref()
    }

    /// Keeps `root` and what it links to through garbage collections (a
    /// root named [`PIN_PREFIX`]`<cid>`; nothing in memory mode).
    pub(crate) fn pin(&self, root: &Cid) -> tau_ipld::Result<()> {
        if let Some(redb) = &self.redb {
            redb.put_root(&pin_name(root), root)?;
        }
        Ok(())
    }

    /// Removes the pin of `root`; whether it was pinned.
    pub(crate) fn unpin(&self, root: &Cid) -> Result<bool> {
        match &self.redb {
            Some(redb) => Ok(redb.remove_root(&pin_name(root))?),
            None => Ok(false),
        }
    }

    /// The pinned roots.
    pub(crate) fn pins(&self) -> Result<Vec<Cid>> {
        let Some(redb) = &self.redb else {
            return Ok(Vec::new());
        };
        Ok(redb
            .roots()?
            .into_iter()
            .filter(|(name, _)| name.starts_with(PIN_PREFIX))
            .map(|(_, cid)| cid)
            .collect())
    }

    pub(crate) fn root(&self, name: &str) -> Result<Option<Cid>> {
        match &self.redb {
            Some(redb) => Ok(redb.root(name)?),
            None => Ok(None),
        }
    }

    /// Sets several roots in one transaction (nothing in memory mode).
    pub(crate) fn set_roots(&self, roots: &[(&str, Cid)]) -> Result<()> {
        if let Some(redb) = &self.redb {
            redb.put_many_keyed_with_roots(&[], roots)?;
        }
        Ok(())
    }

    /// Sets several roots and the record of the node's own pending
    /// transactions (`pending`, DAG-CBOR) under [`PENDING`], all in one
    /// transaction.
    pub(crate) fn set_roots_with_pending(
        &self,
        roots: &[(&str, Cid)],
        pending: Vec<u8>,
    ) -> Result<()> {
        let Some(redb) = &self.redb else {
            return Ok(());
        };
        redb.put_roots_and_records(roots, &[(PENDING, &pending)])?;
        Ok(())
    }

    /// The pending transactions stored by
    /// [`set_roots_with_pending`](Self::set_roots_with_pending), if any.
    pub(crate) fn load_pending(&self) -> Result<Option<Vec<u8>>> {
        self.record(PENDING)
    }

    fn record(&self, name: &str) -> Result<Option<Vec<u8>>> {
        match &self.redb {
            Some(redb) => Ok(redb.record(name)?),
            None => Ok(None),
        }
    }

    /// Persists the known peers and relays with their addresses (one record,
    /// one transaction).
    pub(crate) fn save_peers(&self, peers: &[KnownPeer]) -> Result<()> {
        let Some(redb) = &self.redb else {
            return Ok(());
        };
        let entries: Vec<PeerEntry> = peers
            .iter()
            .take(MAX_PERSISTED_PEERS)
            .map(|p| PeerEntry {
                id: ByteBuf::from(p.id.to_bytes()),
                addrs: p.addrs.iter().map(|a| ByteBuf::from(a.to_vec())).collect(),
                relay: p.relay,
            })
            .collect();
        let bytes = tau_ipld::canonical::encode("peer table", &entries)?;
        redb.put_record(PEERS, &bytes)?;
        Ok(())
    }

    /// The peers persisted by [`save_peers`](Self::save_peers); entries that
    /// do not parse are skipped.
    pub(crate) fn load_peers(&self) -> Result<Vec<KnownPeer>> {
        let Some(bytes) = self.record(PEERS)? else {
            return Ok(Vec::new());
        };
        let entries: Vec<PeerEntry> = serde_ipld_dagcbor::from_slice(&bytes).unwrap_or_default();
        Ok(entries
            .into_iter()
            .filter_map(|e| {
                let id = PeerId::from_bytes(&e.id).ok()?;
                let addrs = e
                    .addrs
                    .into_iter()
                    .filter_map(|a| Multiaddr::try_from(a.into_vec()).ok())
                    .collect();
                Some(KnownPeer {
                    id,
                    addrs,
                    relay: e.relay,
                })
            })
            .collect())
    }
}

impl NodeStore {
    /// Persists the downloads served and not yet in a block.
    pub(crate) fn save_pending_service(&self, records: &[tau_state::ServiceRecord]) -> Result<()> {
        let Some(redb) = &self.redb else {
            return Ok(());
        };
        let bytes = tau_ipld::canonical::encode("pending service records", &records)?;
        redb.put_record(PENDING_SERVICE, &bytes)?;
        Ok(())
    }

    /// The records saved by [`save_pending_service`](Self::save_pending_service) (none if
    /// missing or unreadable: they are a host's own bookkeeping).
    pub(crate) fn load_pending_service(&self) -> Result<Vec<tau_state::ServiceRecord>> {
        let Some(bytes) = self.record(PENDING_SERVICE)? else {
            return Ok(Vec::new());
        };
        Ok(serde_ipld_dagcbor::from_slice(&bytes).unwrap_or_default())
    }
}

impl NodeStore {
    /// Persists the follower's state.
    pub(crate) fn save_follow(&self, state: &crate::follower::FollowState) -> Result<()> {
        let Some(redb) = &self.redb else {
            return Ok(());
        };
        let bytes = tau_ipld::canonical::encode("follow state", state)?;
        redb.put_record(FOLLOW, &bytes)?;
        Ok(())
    }

    /// The state [`save_follow`](Self::save_follow) wrote (a fresh one if
    /// missing or unreadable: the follower scans again).
    pub(crate) fn load_follow(&self) -> Result<crate::follower::FollowState> {
        let Some(bytes) = self.record(FOLLOW)? else {
            return Ok(Default::default());
        };
        Ok(serde_ipld_dagcbor::from_slice(&bytes).unwrap_or_default())
    }
}

/// The root name pinning `root`.
fn pin_name(root: &Cid) -> String {
    format!("{PIN_PREFIX}{root}")
}

/// A node's data directory opened offline (the node must not be running):
/// its chain, head and safety point. For wallets and tools.
pub struct StoredChain {
    /// The chain over the directory's store.
    pub chain: tau_state::Executor<SharedStore>,
    /// The persisted head (genesis if none).
    pub head: Option<Cid>,
    /// The persisted safety point.
    pub safety: Option<Cid>,
    /// The block store, e.g. to add an attachment the node will serve
    /// (then [`pin`](Self::pin) it, or the node's next garbage collection
    /// deletes it).
    pub store: SharedStore,
    node_store: NodeStore,
}

impl StoredChain {
    /// Keeps `root` and what it links to through the node's garbage
    /// collections, as [`NodeHandle::pin`](crate::NodeHandle::pin) does.
    pub fn pin(&self, root: Cid) -> Result<()> {
        Ok(self.node_store.pin(&root)?)
    }
}

impl std::fmt::Debug for StoredChain {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoredChain")
            .field("head", &self.head)
            .field("safety", &self.safety)
            .finish_non_exhaustive()
    }
}

/// Opens the data directory `dir` of a stopped node with `params`.
pub fn open_stored(dir: &Path, params: tau_state::Params) -> Result<StoredChain> {
    let store = NodeStore::open(dir)?;
    let head = store.root(HEAD)?.or(store.root(GENESIS)?);
    let safety = store.root(SAFETY)?;
    let blocks = store.blocks().clone();
    Ok(StoredChain {
        chain: tau_state::Executor::new(blocks.clone(), params)?,
        head,
        safety,
        store: blocks,
        node_store: store,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use tau_ipld::block::DAG_CBOR;
    use tau_ipld::Blockstore;

    #[test]
    fn an_older_store_keeps_its_records_and_they_leave_the_blocks() {
        let dir = tempfile::tempdir().unwrap();
        let peer = KnownPeer {
            id: PeerId::random(),
            addrs: vec!["/ip4/127.0.0.1/tcp/4001".parse().unwrap()],
            relay: true,
        };
        {
            // The old layout: each record a DAG-CBOR block under a root.
            let redb = RedbBlockstore::open(dir.path().join(STORE_FILE)).unwrap();
            let entries = vec![PeerEntry {
                id: ByteBuf::from(peer.id.to_bytes()),
                addrs: peer
                    .addrs
                    .iter()
                    .map(|a| ByteBuf::from(a.to_vec()))
                    .collect(),
                relay: true,
            }];
            let peers = serde_ipld_dagcbor::to_vec(&entries).unwrap();
            let pending = vec![0x81, 0x01];
            let service = serde_ipld_dagcbor::to_vec(&Vec::<u8>::new()).unwrap();
            let mut blocks = Vec::new();
            let mut roots = Vec::new();
            for (name, bytes) in [
                (PEERS, peers),
                (PENDING, pending),
                (PENDING_SERVICE, service),
            ] {
                let cid = redb.put(DAG_CBOR, &bytes).unwrap();
                blocks.push(cid);
                roots.push((name, cid));
            }
            redb.put_many_keyed_with_roots(&[], &roots).unwrap();
        }
        let store = NodeStore::open(dir.path()).unwrap();
        assert_eq!(store.load_peers().unwrap(), vec![peer.clone()]);
        assert_eq!(store.load_pending().unwrap(), Some(vec![0x81, 0x01]));
        assert_eq!(store.load_pending_service().unwrap(), Vec::new());
        let redb = store.redb().unwrap();
        // The old roots are gone: a collection may delete their blocks.
        assert!(redb.roots().unwrap().is_empty());
        let report = redb.collect_garbage(&[], &Default::default(), 16).unwrap();
        assert_eq!(report.deleted, 3);
        assert_eq!(redb.block_count().unwrap(), 0);

        // New writes are records; blocks stay untouched.
        store.save_peers(std::slice::from_ref(&peer)).unwrap();
        store.set_roots_with_pending(&[], vec![0x80]).unwrap();
        assert_eq!(redb.block_count().unwrap(), 0);
        drop(store);
        let store = NodeStore::open(dir.path()).unwrap();
        assert_eq!(store.load_peers().unwrap(), vec![peer]);
        assert_eq!(store.load_pending().unwrap(), Some(vec![0x80]));
    }

    #[test]
    fn pins_are_roots_under_their_prefix() {
        let dir = tempfile::tempdir().unwrap();
        let store = NodeStore::open(dir.path()).unwrap();
        let cid = store.blocks().put(DAG_CBOR, &[0x80]).unwrap();
        store.pin(&cid).unwrap();
        assert_eq!(store.pins().unwrap(), vec![cid]);
        assert!(store.unpin(&cid).unwrap());
        assert!(!store.unpin(&cid).unwrap());
        assert!(store.pins().unwrap().is_empty());
        // In memory nothing is pinned, nothing fails.
        let memory = NodeStore::memory();
        memory.pin(&cid).unwrap();
        assert!(memory.pins().unwrap().is_empty());
    }
}
