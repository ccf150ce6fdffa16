//! Attachment hosting with proof of service: the node's Graphsync
//! [`ServeHook`]. Requests for attachment data are charged to the visitor's
//! TAU address (read from its authenticated peer id), refused past the free
//! quota, and each served download becomes a pending record that process A
//! writes into the node's next block (its `AttachmentsLog` key).
//!
//! A request is attachment data when its root is a raw block (sections: the
//! chain itself has no raw blocks, so chain sync stays free), a stored
//! attachment manifest, or a node of a section map (a HAMT node whose
//! entries are raw chunk links: [`tau_attach::is_section_map_node`]). The
//! attachment it belongs to is the request's [`ATTACHMENT_EXTENSION`] if it
//! names one (tau-node's downloader does), the root otherwise.
//!
//! Each admitted request reserves quota for what its selector can reach
//! until it ends (then what it really served is charged):
//!
//! * one block (the selector is a bare matcher, or the root is raw, which
//!   links nothing): the block's size, a section at most. Admitted while the
//!   visitor's used and reserved bytes are under its quota, so concurrent
//!   requests cannot all be admitted on the same remaining quota, and a
//!   visitor ends over its quota by less than one block per request. This
//!   is what honest downloads do, one section per request;
//! * anything that may follow links from a manifest or a map node: the whole
//!   attachment, which must fit the visitor's remaining quota: the declared
//!   size of the manifest (or of the attachment the request names, when the
//!   root is that attachment's map root), else the largest attachment the
//!   configuration allows (its most sections of its section size). An
//!   explore-all request cannot take a whole attachment on one byte of
//!   quota.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::{Mutex, MutexGuard, PoisonError};

use cid::Cid;
use ipld_core::ipld::Ipld;
use libp2p::PeerId;
use tau_attach::{QuotaPolicy, ServedDownload, ServiceLog};
use tau_graphsync::net::SharedStore;
use tau_graphsync::responder::{Admission, Incoming, ServeHook, Served};
use tau_graphsync::{Extensions, RequestId, Selector, Status};
use tau_hamt::block::RAW;
use tau_keys::Address;
use tau_state::ServiceRecord;

use crate::core::unix_now;
use crate::identity::peer_address;

/// Request extension naming the attachment a block is fetched for (a link).
pub const ATTACHMENT_EXTENSION: &str = "tau/attachment";

/// How a refusal for quota starts (the rest names the visitor and numbers).
pub const QUOTA_EXCEEDED: &str = "quota exceeded";

/// Records served but not yet in a block, at most (older ones are dropped
/// from the pending list; their bytes still count against the quota).
const MAX_PENDING: usize = 1 << 16;

/// Root classifications remembered (manifest, map node, or free).
const MAX_KNOWN_ROOTS: usize = 4096;

/// Charged requests in flight tracked, at most (a request whose end is never
/// reported cannot hold quota forever: the oldest reservations go first).
const MAX_IN_FLIGHT: usize = 4096;

/// The extensions naming `root` as the attachment requested.
pub(crate) fn attachment_extensions(root: Cid) -> Extensions {
    let mut ext = Extensions::default();
    ext.other
        .insert(ATTACHMENT_EXTENSION.into(), Ipld::Link(root));
    ext
}

/// The attachment a request's extensions name, if any.
fn named_attachment(extensions: &Extensions) -> Option<Cid> {
    match extensions.other.get(ATTACHMENT_EXTENSION) {
        Some(Ipld::Link(cid)) => Some(*cid),
        _ => None,
    }
}

/// What a charged request's root is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Data {
    /// A raw block: a section.
    Section,
    /// An attachment manifest of `len` bytes declaring `total` bytes under
    /// the section map `sections`.
    Manifest { len: u64, total: u64, sections: Cid },
    /// A node of a section map, `len` bytes.
    MapNode { len: u64 },
}

struct HostState {
    log: ServiceLog,
    pending: Vec<ServedDownload>,
    /// Non-raw roots checked: what each is (`None`: not attachment data).
    known: HashMap<Cid, Option<Data>>,
    /// Quota reserved by admitted requests not ended yet, by visitor and
    /// request id, in admission order.
    in_flight: VecDeque<InFlight>,
}

/// An admitted, charged request that has not ended.
struct InFlight {
    visitor: Address,
    id: RequestId,
    reserved: u64,
}

impl HostState {
    /// Quota `visitor`'s requests in flight hold.
    fn reserved(&self, visitor: &Address) -> u64 {
        self.in_flight
            .iter()
            .filter(|r| r.visitor == *visitor)
            .map(|r| r.reserved)
            .sum()
    }

    /// Ends the reservation of request `id` of `visitor`, if any.
    fn release(&mut self, visitor: &Address, id: &RequestId) {
        if let Some(i) = self
            .in_flight
            .iter()
            .position(|r| r.visitor == *visitor && r.id == *id)
        {
            self.in_flight.remove(i);
        }
    }
}

/// The serving side of attachments: quota, served downloads, pending records.
pub(crate) struct Host {
    store: SharedStore,
    attach: tau_attach::Config,
    state: Mutex<HostState>,
}

impl Host {
    /// A host whose usage is rebuilt from `records` (its logs in the state).
    pub(crate) fn new(
        store: SharedStore,
        attach: tau_attach::Config,
        policy: QuotaPolicy,
        records: Vec<ServedDownload>,
        pending: Vec<ServedDownload>,
    ) -> Self {
        let mut log = ServiceLog::from_records(policy, records);
        for record in &pending {
            log.record(record.clone());
        }
        Self {
            store,
            attach,
            state: Mutex::new(HostState {
                log,
                pending,
                known: HashMap::new(),
                in_flight: VecDeque::new(),
            }),
        }
    }

    fn lock(&self) -> MutexGuard<'_, HostState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Changes the quota policy (the node's profile changed).
    pub(crate) fn set_policy(&self, policy: QuotaPolicy) {
        self.lock().log.set_policy(policy);
    }

    /// Bytes served to `visitor` (in the state and pending).
    pub(crate) fn used(&self, visitor: &Address) -> u64 {
        self.lock().log.used(visitor)
    }

    /// Records served and not yet in a block.
    pub(crate) fn pending(&self) -> Vec<ServedDownload> {
        self.lock().pending.clone()
    }

    /// The log for the next block: the oldest pending records merged by
    /// visitor and attachment (bytes summed, the latest time, at most
    /// `block_time`), at most `max` of them; and how many pending records it
    /// covers (for [`included`](Self::included)).
    pub(crate) fn next_log(&self, max: usize, block_time: u64) -> (Vec<ServiceRecord>, usize) {
        let state = self.lock();
        let mut merged: BTreeMap<(Address, Cid), usize> = BTreeMap::new();
        let mut out: Vec<ServiceRecord> = Vec::new();
        let mut covered = 0;
        for r in &state.pending {
            let time = r.time.min(block_time);
            match merged.get(&(r.visitor, r.root)) {
                Some(&i) => {
                    if let Some(m) = out.get_mut(i) {
                        m.bytes = m.bytes.saturating_add(r.bytes);
                        m.time = m.time.max(time);
                    }
                }
                None if out.len() == max => break,
                None => {
                    merged.insert((r.visitor, r.root), out.len());
                    out.push(ServiceRecord {
                        visitor: r.visitor,
                        root: r.root,
                        bytes: r.bytes,
                        time,
                    });
                }
            }
            covered += 1;
        }
        (out, covered)
    }

    /// The first `covered` pending records are in a block now.
    pub(crate) fn included(&self, covered: usize) {
        let mut state = self.lock();
        let n = covered.min(state.pending.len());
        state.pending.drain(..n);
    }

    /// What `root` is, or `None` when it is not attachment data (free).
    fn classify(&self, state: &mut HostState, root: &Cid) -> Option<Data> {
        if root.codec() == RAW {
            return Some(Data::Section);
        }
        if let Some(known) = state.known.get(root) {
            return *known;
        }
        // Not stored (yet): nothing to serve now, and nothing to remember,
        // so the block is classified once it arrives.
        let bytes = self.store.get(root).ok().flatten()?;
        let data = self.inspect(root, &bytes);
        if state.known.len() >= MAX_KNOWN_ROOTS {
            state.known.clear();
        }
        state.known.insert(*root, data);
        data
    }

    /// What the stored block `root` (`bytes`) is: a manifest (anything that
    /// decodes as one, even past this host's limits), a section-map node, or
    /// neither.
    fn inspect(&self, root: &Cid, bytes: &[u8]) -> Option<Data> {
        let len = bytes.len() as u64;
        if let Ok(manifest) = serde_ipld_dagcbor::from_slice::<tau_attach::Manifest>(bytes) {
            return Some(Data::Manifest {
                len,
                total: manifest.total_size,
                sections: manifest.sections,
            });
        }
        tau_attach::is_section_map_node(&self.store, root, &self.attach)
            .then_some(Data::MapNode { len })
    }

    /// The attachment a request is charged to and what its root is, or
    /// `None` (free).
    fn charged(
        &self,
        state: &mut HostState,
        root: &Cid,
        extensions: &Extensions,
    ) -> Option<(Cid, Data)> {
        let data = self.classify(state, root)?;
        let attachment = match data {
            Data::Manifest { .. } => *root,
            Data::Section | Data::MapNode { .. } => named_attachment(extensions).unwrap_or(*root),
        };
        Some((attachment, data))
    }

    /// The quota a request for `data` at `root` reserves, and whether all
    /// of it must fit the remaining quota (a request that may follow links)
    /// or only its first byte (one block).
    fn reservation(
        &self,
        state: &mut HostState,
        root: &Cid,
        data: Data,
        selector: &Ipld,
        extensions: &Extensions,
    ) -> (u64, bool) {
        let one_block = matches!(Selector::from_ipld(selector), Ok(Selector::Matcher));
        match data {
            // A raw block links nothing: one block whatever the selector.
            Data::Section => (self.attach.section_size(), false),
            Data::Manifest { len, .. } | Data::MapNode { len } if one_block => (len, false),
            Data::Manifest { len, total, .. } => (len.saturating_add(total), true),
            Data::MapNode { len } => {
                let named = named_attachment(extensions)
                    .and_then(|named| self.classify(state, &named))
                    .and_then(|named| match named {
                        Data::Manifest {
                            total, sections, ..
                        } if sections == *root => Some(total),
                        _ => None,
                    });
                let most = self
                    .attach
                    .max_sections()
                    .saturating_mul(self.attach.section_size());
                (len.saturating_add(named.unwrap_or(most)), true)
            }
        }
    }
}

impl ServeHook<PeerId> for Host {
    fn admit(&self, peer: &PeerId, request: &Incoming<'_>) -> Admission {
        let mut state = self.lock();
        let Some((_, data)) = self.charged(&mut state, request.root, request.extensions) else {
            return Admission::Allow;
        };
        let Some(visitor) = peer_address(peer) else {
            return Admission::Reject {
                status: Status::Rejected,
                reason: format!("attachments are served to TAU addresses; peer id {peer} carries no secp256k1 key"),
            };
        };
        let (estimate, whole) = self.reservation(
            &mut state,
            request.root,
            data,
            request.selector,
            request.extensions,
        );
        let held = state.reserved(&visitor);
        let needed = if whole { estimate } else { 1 };
        match state.log.admit(&visitor, held.saturating_add(needed)) {
            Ok(()) => {
                if state.in_flight.len() >= MAX_IN_FLIGHT {
                    state.in_flight.pop_front();
                }
                state.in_flight.push_back(InFlight {
                    visitor,
                    id: request.id,
                    reserved: estimate,
                });
                Admission::Allow
            }
            Err(tau_attach::Error::QuotaExceeded {
                used,
                quota,
                requested,
                ..
            }) => Admission::Reject {
                status: Status::Rejected,
                reason: format!(
                    "{QUOTA_EXCEEDED}: {visitor} has used {used} of its {quota} byte free quota \
                     ({requested} bytes reserved or asked for)"
                ),
            },
            Err(e) => Admission::Reject {
                status: Status::Rejected,
                reason: e.to_string(),
            },
        }
    }

    fn served(&self, peer: &PeerId, served: &Served<'_>) {
        let mut state = self.lock();
        if let Some(visitor) = peer_address(peer) {
            state.release(&visitor, &served.id);
        }
        if served.bytes == 0 {
            return;
        }
        let Some((root, _)) = self.charged(&mut state, served.root, served.extensions) else {
            return;
        };
        let Some(visitor) = peer_address(peer) else {
            return;
        };
        let record = ServedDownload {
            visitor,
            root,
            bytes: served.bytes,
            time: unix_now(),
        };
        state.log.record(record.clone());
        if state.pending.len() >= MAX_PENDING {
            state.pending.remove(0);
        }
        state.pending.push(record);
    }
}

/// tau-attach's record of a log entry in the state.
pub(crate) fn from_state(r: ServiceRecord) -> ServedDownload {
    ServedDownload {
        visitor: r.visitor,
        root: r.root,
        bytes: r.bytes,
        time: r.time,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use tau_graphsync::RequestId;
    use tau_graphsync::Selector;
    use tau_hamt::block::DAG_CBOR;
    use tau_hamt::{Blockstore, MemoryBlockstore};

    #[test]
    fn sections_are_charged_chain_blocks_are_free_and_logs_merge() {
        let store: SharedStore = Arc::new(MemoryBlockstore::new());
        let section = store.put(RAW, b"section").unwrap();
        let chain_block = store.put(DAG_CBOR, &[0x80]).unwrap();
        let attachment = tau_hamt::block::cid_of(DAG_CBOR, b"manifest");
        let policy = QuotaPolicy {
            free_per_address: 100,
            ..QuotaPolicy::default()
        };
        let host = Host::new(
            store,
            tau_attach::Config::default(),
            policy,
            Vec::new(),
            Vec::new(),
        );
        let key = tau_keys::Keypair::from_bytes(&[9; 32]).unwrap();
        let peer = crate::identity::peer_id_of(&key).unwrap();
        let ext = attachment_extensions(attachment);
        let selector = Ipld::Null;
        let incoming = |root: &Cid, ext: &Extensions| {
            host.admit(
                &peer,
                &Incoming {
                    id: RequestId([1; 16]),
                    root,
                    selector: &selector,
                    extensions: ext,
                },
            )
        };
        let serve = |root: &Cid, ext: &Extensions, bytes| {
            host.served(
                &peer,
                &Served {
                    id: RequestId([1; 16]),
                    root,
                    extensions: ext,
                    bytes,
                    blocks: 1,
                    status: Some(Status::CompletedFull),
                },
            )
        };
        assert_eq!(incoming(&section, &ext), Admission::Allow);
        serve(&section, &ext, 60);
        serve(&section, &ext, 50);
        serve(&chain_block, &Extensions::default(), 1_000);
        assert_eq!(host.used(&key.address()), 110);
        // Over quota: sections refused with the reason, chain blocks still free.
        match incoming(&section, &ext) {
            Admission::Reject { status, reason } => {
                assert_eq!(status, Status::Rejected);
                assert!(reason.starts_with(QUOTA_EXCEEDED), "{reason}");
                assert!(reason.contains(&key.address().to_string()), "{reason}");
            }
            Admission::Allow => panic!("admitted over quota"),
        }
        assert_eq!(
            incoming(&chain_block, &Extensions::default()),
            Admission::Allow
        );
        // A peer without a TAU key is refused attachment data.
        let anonymous = libp2p::identity::Keypair::generate_ed25519()
            .public()
            .to_peer_id();
        assert!(matches!(
            host.admit(
                &anonymous,
                &Incoming {
                    id: RequestId([2; 16]),
                    root: &section,
                    selector: &selector,
                    extensions: &ext,
                }
            ),
            Admission::Reject { .. }
        ));
        // The two downloads of one attachment merge into one record.
        let (log, covered) = host.next_log(10, 5);
        assert_eq!(covered, 2);
        assert_eq!(
            log,
            vec![ServiceRecord {
                visitor: key.address(),
                root: attachment,
                bytes: 110,
                time: 5,
            }]
        );
        host.included(covered);
        assert!(host.pending().is_empty());
        assert_eq!(host.used(&key.address()), 110);
    }

    #[test]
    fn requests_in_flight_reserve_a_section_of_quota_each() {
        const SECTION: u64 = 64 * 1024;
        let store: SharedStore = Arc::new(MemoryBlockstore::new());
        let section = store.put(RAW, b"section").unwrap();
        let policy = QuotaPolicy {
            free_per_address: 100_000,
            ..QuotaPolicy::default()
        };
        let attach = tau_attach::Config::builder()
            .section_size(SECTION)
            .build()
            .unwrap();
        let host = Host::new(store, attach, policy, Vec::new(), Vec::new());
        let key = tau_keys::Keypair::from_bytes(&[9; 32]).unwrap();
        let peer = crate::identity::peer_id_of(&key).unwrap();
        let ext = Extensions::default();
        let selector = Ipld::Null;
        let admit = |id: u8| {
            host.admit(
                &peer,
                &Incoming {
                    id: RequestId([id; 16]),
                    root: &section,
                    selector: &selector,
                    extensions: &ext,
                },
            ) == Admission::Allow
        };
        let end = |id: u8, bytes| {
            host.served(
                &peer,
                &Served {
                    id: RequestId([id; 16]),
                    root: &section,
                    extensions: &ext,
                    bytes,
                    blocks: 1,
                    status: Some(Status::CompletedFull),
                },
            )
        };
        // 100,000 bytes of quota: two concurrent section requests fit
        // (nothing used, then one section held), a third does not.
        assert!(admit(1));
        assert!(admit(2));
        assert!(!admit(3), "a third section on the same remaining quota");
        // Request 1 served its section: used plus request 2's hold is over.
        end(1, SECTION);
        assert_eq!(host.used(&key.address()), SECTION);
        assert!(!admit(4));
        // An end never admitted (a refused request) changes nothing held.
        end(3, 0);
        assert!(!admit(5));
        // Request 2 served little: its hold is gone, the rest is usable.
        end(2, 10);
        assert_eq!(host.used(&key.address()), SECTION + 10);
        assert!(admit(6));
    }

    #[test]
    fn requests_that_may_follow_links_reserve_the_whole_attachment() {
        const SECTION: u64 = 16 * 1024;
        let dir = tempfile::tempdir().unwrap();
        let mem = Arc::new(MemoryBlockstore::new());
        let attach = tau_attach::Config::builder()
            .section_size(SECTION)
            .build()
            .unwrap();
        let upload = |name: &str, len: usize| {
            let path = dir.path().join(name);
            let data: Vec<u8> = (0..len).map(|i| (i * 7 % 251) as u8).collect();
            std::fs::write(&path, data).unwrap();
            tau_attach::upload(&*mem, &path, &attach).unwrap()
        };
        let big = upload("big", 300_000);
        let small = upload("small", 20_000);
        // A HAMT of the same shape that is no section map (chain-like values).
        let mut other: tau_hamt::Hamt<_, u64> = tau_hamt::Hamt::new(&*mem);
        for i in 0..100u64 {
            other.set(tau_attach::section_key(i), i).unwrap();
        }
        let other = other.flush().unwrap();
        let store: SharedStore = mem.clone();
        let policy = QuotaPolicy {
            free_per_address: 100_000,
            ..QuotaPolicy::default()
        };
        let host = Host::new(store, attach, policy, Vec::new(), Vec::new());
        let key = tau_keys::Keypair::from_bytes(&[9; 32]).unwrap();
        let peer = crate::identity::peer_id_of(&key).unwrap();
        let everything = Selector::explore_all_recursively(16).to_ipld();
        let block = Selector::Matcher.to_ipld();
        let admit = |id: u8, root: &Cid, selector: &Ipld, ext: &Extensions| {
            host.admit(
                &peer,
                &Incoming {
                    id: RequestId([id; 16]),
                    root,
                    selector,
                    extensions: ext,
                },
            ) == Admission::Allow
        };
        let none = Extensions::default();
        let map = big.manifest.sections;
        // The big attachment (300 KB) whole: not on a 100 KB quota.
        assert!(!admit(1, &big.root, &everything, &none));
        assert!(!admit(2, &map, &everything, &none));
        assert!(!admit(
            3,
            &map,
            &everything,
            &attachment_extensions(big.root)
        ));
        // Naming a small attachment does not make a big map small.
        assert!(!admit(
            4,
            &map,
            &everything,
            &attachment_extensions(small.root)
        ));
        assert!(host.lock().in_flight.is_empty());
        // One block of it is fine, and reserves that block.
        assert!(admit(5, &map, &block, &none));
        let map_len = mem.get(&map).unwrap().unwrap().len() as u64;
        assert_eq!(host.lock().reserved(&key.address()), map_len);
        // The small one whole fits, and holds its declared size.
        let small_len = mem.get(&small.root).unwrap().unwrap().len() as u64;
        assert!(admit(6, &small.root, &everything, &none));
        assert_eq!(
            host.lock().reserved(&key.address()),
            map_len + small_len + small.size
        );
        // Chain data stays free, whatever the selector.
        assert!(admit(7, &other, &everything, &none));
        assert_eq!(
            host.lock().reserved(&key.address()),
            map_len + small_len + small.size
        );
    }
}
