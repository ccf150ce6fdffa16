//! Process C's network side: a [`tau_attach::Source`] that fetches one block
//! from one peer with a Graphsync request (selector: the block itself), naming
//! the attachment in the `tau/attachment` extension so the host logs the
//! download under it. A host's refusal (e.g. quota exceeded) is kept.
//!
//! The downloader calls `fetch` from its own worker threads; each call blocks
//! on the node's tokio runtime until the block is verified against its CID.
//! The block lands in a scratch store, not the node's: the downloader checks
//! it (manifest, section-map node shape and bounds) and stores it itself, so
//! a block it refuses is never kept.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use cid::Cid;
use libp2p::PeerId;
use tau_graphsync::net::{Graphsync, SharedStore};
use tau_graphsync::Selector;
use tau_ipld::{Blockstore, MemoryBlockstore};

/// One peer as a block source for attachment downloads: each missing block
/// is one verified Graphsync request naming the attachment (so a host logs
/// and charges the download under it), received into a scratch store and
/// handed to the downloader, which stores it in `store` once checked.
pub struct GraphsyncSource {
    graphsync: Graphsync,
    store: SharedStore,
    peer: PeerId,
    runtime: tokio::runtime::Handle,
    timeout: Duration,
    attachment: Cid,
    refusal: Arc<Mutex<Option<String>>>,
}

impl GraphsyncSource {
    /// A source asking `peer` over `graphsync` for blocks of `attachment`,
    /// blocking on `runtime`, giving up on a request after `timeout`.
    pub fn new(
        graphsync: Graphsync,
        store: SharedStore,
        peer: PeerId,
        runtime: tokio::runtime::Handle,
        timeout: Duration,
        attachment: Cid,
    ) -> Self {
        Self {
            graphsync,
            store,
            peer,
            runtime,
            timeout,
            attachment,
            refusal: Arc::default(),
        }
    }

    /// The peer.
    pub fn peer(&self) -> PeerId {
        self.peer
    }

    /// The reason of the last refusal this peer gave, if any.
    pub fn refusal(&self) -> Option<String> {
        self.refusal
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

impl tau_attach::Source for GraphsyncSource {
    fn name(&self) -> String {
        self.peer.to_string()
    }

    fn fetch(&self, cid: &Cid) -> Result<Vec<u8>, String> {
        if let Ok(Some(data)) = self.store.get(cid) {
            return Ok(data);
        }
        let scratch: SharedStore = Arc::new(MemoryBlockstore::new());
        let request = self
            .graphsync
            .request_into(
                self.peer,
                *cid,
                &Selector::Matcher,
                crate::serve::attachment_extensions(self.attachment),
                scratch.clone(),
            )
            .map_err(|e| e.to_string())?;
        let outcome = self
            .runtime
            .block_on(async { tokio::time::timeout(self.timeout, request.finish()).await });
        match outcome {
            Ok(Ok(_)) => {}
            Ok(Err(e)) => {
                if let tau_graphsync::Error::Refused { reason, .. } = e.cause() {
                    *self.refusal.lock().unwrap_or_else(PoisonError::into_inner) =
                        Some(reason.clone());
                }
                return Err(e.to_string());
            }
            Err(_) => return Err(format!("no answer within {:?}", self.timeout)),
        }
        scratch
            .get(cid)
            .map_err(|e| e.to_string())?
            .ok_or_else(|| format!("{} did not send {cid}", self.peer))
    }
}
