//! The node's block store and the roots that survive a restart (seed 000's
//! local trie): head, safety point, genesis and known peers, held as named
//! roots in the same redb file as the blocks.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use cid::Cid;
use libp2p::{Multiaddr, PeerId};
use serde::{Deserialize, Serialize};
use tau_graphsync::net::SharedStore;
use tau_hamt::block::DAG_CBOR;
use tau_hamt::{Blockstore, MemoryBlockstore, RedbBlockstore};

use crate::protocol::serde_bytes_vec::Bytes;
use crate::{Error, Result};

/// Root names.
pub(crate) const GENESIS: &str = "tau-node/genesis";
pub(crate) const HEAD: &str = "tau-node/head";
pub(crate) const SAFETY: &str = "tau-node/safety";
pub(crate) const PEERS: &str = "tau-node/peers";
pub(crate) const PENDING_SERVICE: &str = "tau-node/pending-service";
pub(crate) const PENDING: &str = "tau-node/pending";

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
    id: Bytes,
    addrs: Vec<Bytes>,
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
        std::fs::create_dir_all(dir).map_err(|e| data_dir(tau_hamt::Error::Io(e)))?;
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
        Ok(Self {
            blocks: redb.clone(),
            redb: Some(redb),
        })
    }

    pub(crate) fn blocks(&self) -> &SharedStore {
        &self.blocks
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

    /// Sets several roots and stores the node's own pending transactions
    /// (`pending`, DAG-CBOR) under [`PENDING`], all in one transaction.
    pub(crate) fn set_roots_with_pending(
        &self,
        roots: &[(&str, Cid)],
        pending: Vec<u8>,
    ) -> Result<()> {
        let Some(redb) = &self.redb else {
            return Ok(());
        };
        let cid = tau_hamt::block::cid_of(DAG_CBOR, &pending);
        let mut all = roots.to_vec();
        all.push((PENDING, cid));
        redb.put_many_keyed_with_roots(&[(cid, pending)], &all)?;
        Ok(())
    }

    /// The pending transactions stored by
    /// [`set_roots_with_pending`](Self::set_roots_with_pending), if any.
    pub(crate) fn load_pending(&self) -> Result<Option<Vec<u8>>> {
        match self.root(PENDING)? {
            Some(cid) => Ok(self.blocks.get(&cid)?),
            None => Ok(None),
        }
    }

    /// Persists the known peers and relays with their addresses (one block
    /// and its root in one transaction).
    pub(crate) fn save_peers(&self, peers: &[KnownPeer]) -> Result<()> {
        let Some(redb) = &self.redb else {
            return Ok(());
        };
        let entries: Vec<PeerEntry> = peers
            .iter()
            .take(MAX_PERSISTED_PEERS)
            .map(|p| PeerEntry {
                id: Bytes(p.id.to_bytes()),
                addrs: p.addrs.iter().map(|a| Bytes(a.to_vec())).collect(),
                relay: p.relay,
            })
            .collect();
        let bytes = serde_ipld_dagcbor::to_vec(&entries)
            .map_err(|e| Error::Store(tau_hamt::Error::Encode(e.to_string())))?;
        let cid = tau_hamt::block::cid_of(DAG_CBOR, &bytes);
        redb.put_many_keyed_with_roots(&[(cid, bytes)], &[(PEERS, cid)])?;
        Ok(())
    }

    /// The peers persisted by [`save_peers`](Self::save_peers); entries that
    /// do not parse are skipped.
    pub(crate) fn load_peers(&self) -> Result<Vec<KnownPeer>> {
        let Some(cid) = self.root(PEERS)? else {
            return Ok(Vec::new());
        };
        let Some(bytes) = self.blocks.get(&cid)? else {
            return Ok(Vec::new());
        };
        let entries: Vec<PeerEntry> = serde_ipld_dagcbor::from_slice(&bytes).unwrap_or_default();
        Ok(entries
            .into_iter()
            .filter_map(|e| {
                let id = PeerId::from_bytes(&e.id.0).ok()?;
                let addrs = e
                    .addrs
                    .into_iter()
                    .filter_map(|a| Multiaddr::try_from(a.0).ok())
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
    pub(crate) fn save_pending_service(
        &self,
        records: &[tau_attach::ServedDownload],
    ) -> Result<()> {
        let Some(redb) = &self.redb else {
            return Ok(());
        };
        let bytes = serde_ipld_dagcbor::to_vec(&records)
            .map_err(|e| Error::Store(tau_hamt::Error::Encode(e.to_string())))?;
        let cid = tau_hamt::block::cid_of(DAG_CBOR, &bytes);
        redb.put_many_keyed_with_roots(&[(cid, bytes)], &[(PENDING_SERVICE, cid)])?;
        Ok(())
    }

    /// The records saved by [`save_pending_service`](Self::save_pending_service) (none if
    /// missing or unreadable: they are a host's own bookkeeping).
    pub(crate) fn load_pending_service(&self) -> Result<Vec<tau_attach::ServedDownload>> {
        let Some(cid) = self.root(PENDING_SERVICE)? else {
            return Ok(Vec::new());
        };
        let Some(bytes) = self.blocks.get(&cid)? else {
            return Ok(Vec::new());
        };
        Ok(serde_ipld_dagcbor::from_slice(&bytes).unwrap_or_default())
    }
}

/// A node's data directory opened offline (the node must not be running):
/// its chain, head and safety point. For wallets and tools.
pub struct StoredChain {
    /// The chain over the directory's store.
    pub chain: tau_state::Chain<SharedStore>,
    /// The persisted head (genesis if none).
    pub head: Option<Cid>,
    /// The persisted safety point.
    pub safety: Option<Cid>,
    /// The block store, e.g. to add an attachment the node will serve.
    pub store: SharedStore,
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
        chain: tau_state::Chain::new(blocks.clone(), params)?,
        head,
        safety,
        store: blocks,
    })
}
