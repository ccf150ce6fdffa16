//! Attachment hosting with proof of service: the node's Graphsync
//! [`ServeHook`]. Requests for attachment data are charged to the visitor's
//! TAU address (read from its authenticated peer id), refused past the free
//! quota, and each served download becomes a pending record that process A
//! writes into the node's next block (its `AttachmentsLog` key).
//!
//! A request is attachment data when its root is a raw block (sections: the
//! chain itself has no raw blocks, so chain sync stays free), a stored
//! attachment manifest, or a node of a section map (a HAMT node whose
//! entries are raw chunk links: [`tau_attach::probe_section_map`]). The
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
//!   configuration allows (its most sections of its section size), plus
//!   [`MAP_BYTES_PER_SECTION`] per section for the map's own nodes. An
//!   explore-all request cannot take a whole attachment on one byte of
//!   quota.
//!
//! Every charged request is then served at most what it reserved
//! ([`Admission::AllowUpTo`]): a manifest whose declared size is wrong, or
//! a selector that reaches more than its root suggests, ends the request
//! instead of serving past the reservation. A manifest that does not
//! validate is taken to declare the largest attachment allowed.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::{Mutex, MutexGuard, PoisonError};

use cid::Cid;
use ipld_core::ipld::Ipld;
use libp2p::PeerId;
use tau_attach::{MapProbe, QuotaPolicy, ServiceLog};
use tau_graphsync::responder::{Admission, Incoming, ServeHook, Served};
use tau_graphsync::{Extensions, RequestId, Selector, Status};
use tau_ipld::block::RAW;
use tau_ipld::SharedStore;
use tau_keys::Address;
use tau_state::ServiceRecord;

use crate::identity::peer_address;
use crate::state::unix_now;

/// Request extension naming the attachment a block is fetched for (a link).
pub const ATTACHMENT_EXTENSION: &str = "tau/attachment";

/// How a refusal for quota starts (the rest names the visitor and numbers).
pub const QUOTA_EXCEEDED: &str = "quota exceeded";

/// Records served but not yet in a block, at most (older ones are dropped
/// from the pending list; their bytes still count against the quota).
const MAX_PENDING: usize = 1 << 16;

/// Bytes reserved per section for a section map's own nodes when a request
/// may walk the map: an entry (an 8-byte key and a CID link of about 40
/// bytes, with its CBOR framing) plus its share of the interior nodes,
/// rounded up generously.
pub const MAP_BYTES_PER_SECTION: u64 = 128;

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
    pending: Vec<ServiceRecord>,
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
pub(crate) struct AttachmentHost {
    store: SharedStore,
    attach: tau_attach::Config,
    state: Mutex<HostState>,
    /// Attachment bytes served since start (charged requests).
    served_bytes: std::sync::atomic::AtomicU64,
}

impl AttachmentHost {
    /// A host whose usage is rebuilt from `records` (its logs in the state).
    pub(crate) fn new(
        store: SharedStore,
        attach: tau_attach::Config,
        policy: QuotaPolicy,
        records: Vec<ServiceRecord>,
        pending: Vec<ServiceRecord>,
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
            served_bytes: std::sync::atomic::AtomicU64::new(0),
        }
    }

    /// Attachment bytes served since the node started.
    pub(crate) fn served_bytes(&self) -> u64 {
        self.served_bytes.load(std::sync::atomic::Ordering::Relaxed)
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
    pub(crate) fn pending(&self) -> Vec<ServiceRecord> {
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
    /// The store is read without the host's lock (a redb read must not
    /// hold up other requests' admission); only definite answers are
    /// remembered.
    fn classify(&self, root: &Cid) -> Option<Data> {
        if root.codec() == RAW {
            return Some(Data::Section);
        }
        if let Some(known) = self.lock().known.get(root) {
            return *known;
        }
        // Not stored (yet): nothing to serve now, and nothing to remember,
        // so the block is classified once it arrives.
        let bytes = self.store.get(root).ok().flatten()?;
        let (data, definite) = self.inspect(root, &bytes);
        if definite {
            let mut state = self.lock();
            if state.known.len() >= MAX_KNOWN_ROOTS {
                state.known.clear();
            }
            state.known.insert(*root, data);
        }
        data
    }

    /// The largest attachment this host's configuration allows.
    fn largest(&self) -> u64 {
        self.attach
            .max_sections()
            .saturating_mul(self.attach.section_size())
    }

    /// `total` bytes of sections and the map nodes that hold them.
    fn with_map(&self, total: u64) -> u64 {
        let sections = total.div_ceil(self.attach.section_size().max(1));
        total.saturating_add(sections.saturating_mul(MAP_BYTES_PER_SECTION))
    }

    /// What the stored block `root` (`bytes`) is, and whether that is
    /// final: a manifest (anything that decodes as one, even past this
    /// host's limits; a manifest that does not validate declares at least
    /// the largest attachment allowed, so its own `total_size` cannot make
    /// it cheap), a section-map node, or neither. A map whose entries are
    /// not stored yet is charged as a map node and asked about again later:
    /// taking it for free data would serve it free once it is complete.
    fn inspect(&self, root: &Cid, bytes: &[u8]) -> (Option<Data>, bool) {
        let len = bytes.len() as u64;
        if let Ok(manifest) = serde_ipld_dagcbor::from_slice::<tau_attach::Manifest>(bytes) {
            let total = match manifest.validate(root, &self.attach) {
                Ok(()) => manifest.total_size,
                Err(_) => manifest.total_size.max(self.largest()),
            };
            let data = Data::Manifest {
                len,
                total,
                sections: manifest.sections,
            };
            return (Some(data), true);
        }
        match tau_attach::probe_section_map(&self.store, root, &self.attach) {
            MapProbe::SectionMap => (Some(Data::MapNode { len }), true),
            MapProbe::NotSectionMap => (None, true),
            MapProbe::Incomplete => (Some(Data::MapNode { len }), false),
        }
    }

    /// The attachment a request is charged to and what its root is, or
    /// `None` (free).
    fn charged(&self, root: &Cid, extensions: &Extensions) -> Option<(Cid, Data)> {
        let data = self.classify(root)?;
        let attachment = match data {
            Data::Manifest { .. } => *root,
            Data::Section | Data::MapNode { .. } => named_attachment(extensions).unwrap_or(*root),
        };
        Some((attachment, data))
    }

    /// The quota a request for `data` at `root` reserves (and the most it
    /// may be served), and whether all of it must fit the remaining quota
    /// (a request that may follow links) or only its first byte (one
    /// block).
    fn reservation(
        &self,
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
            Data::Manifest { len, total, .. } => (len.saturating_add(self.with_map(total)), true),
            Data::MapNode { len } => {
                let named = named_attachment(extensions)
                    .and_then(|named| self.classify(&named))
                    .and_then(|named| match named {
                        Data::Manifest {
                            total, sections, ..
                        } if sections == *root => Some(total),
                        _ => None,
                    });
                let total = self.with_map(named.unwrap_or(self.largest()));
                (len.saturating_add(total), true)
            }
        }
    }
}

impl ServeHook<PeerId> for AttachmentHost {
    fn admit(&self, peer: &PeerId, request: &Incoming<'_>) -> Admission {
        let Some((_, data)) = self.charged(request.root, request.extensions) else {
            return Admission::Allow;
        };
        let Some(visitor) = peer_address(peer) else {
            return Admission::Reject {
                status: Status::Rejected,
                reason: format!("attachments are served to TAU addresses; peer id {peer} carries no secp256k1 key"),
            };
        };
        let (estimate, whole) =
            self.reservation(request.root, data, request.selector, request.extensions);
        let mut state = self.lock();
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
                // Served up to what it reserved, whatever its selector
                // reaches: a request cannot take more than was admitted.
                Admission::AllowUpTo { bytes: estimate }
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
        let visitor = peer_address(peer);
        if let Some(visitor) = &visitor {
            self.lock().release(visitor, &served.id);
        }
        if served.bytes == 0 {
            return;
        }
        let Some(visitor) = visitor else {
            return;
        };
        let Some((root, _)) = self.charged(served.root, served.extensions) else {
            return;
        };
        self.served_bytes
            .fetch_add(served.bytes, std::sync::atomic::Ordering::Relaxed);
        let mut state = self.lock();
        let record = ServiceRecord {
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use tau_graphsync::RequestId;
    use tau_graphsync::Selector;
    use tau_ipld::block::DAG_CBOR;
    use tau_ipld::{Blockstore, MemoryBlockstore};

    #[test]
    fn sections_are_charged_chain_blocks_are_free_and_logs_merge() {
        let store: SharedStore = Arc::new(MemoryBlockstore::new());
        let section = store.put(RAW, b"section").unwrap();
        let chain_block = store.put(DAG_CBOR, &[0x80]).unwrap();
        let attachment = tau_ipld::block::cid_of(DAG_CBOR, b"manifest");
        let policy = QuotaPolicy {
            free_per_address: 100,
            ..QuotaPolicy::default()
        };
        let host = AttachmentHost::new(
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
        // Charged requests are served at most what they reserved.
        assert_eq!(
            incoming(&section, &ext),
            Admission::AllowUpTo {
                bytes: tau_attach::Config::default().section_size()
            }
        );
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
            Admission::Allow | Admission::AllowUpTo { .. } => panic!("admitted over quota"),
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
        let host = AttachmentHost::new(store, attach, policy, Vec::new(), Vec::new());
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
            ) == Admission::AllowUpTo { bytes: SECTION }
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
        let host = AttachmentHost::new(store, attach, policy, Vec::new(), Vec::new());
        let key = tau_keys::Keypair::from_bytes(&[9; 32]).unwrap();
        let peer = crate::identity::peer_id_of(&key).unwrap();
        let everything = Selector::explore_all_recursively(16).to_ipld();
        let block = Selector::Matcher.to_ipld();
        let admit = |id: u8, root: &Cid, selector: &Ipld, ext: &Extensions| {
            !matches!(
                host.admit(
                    &peer,
                    &Incoming {
                        id: RequestId([id; 16]),
                        root,
                        selector,
                        extensions: ext,
                    },
                ),
                Admission::Reject { .. }
            )
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
        // The small one whole fits, and holds its declared size and its map.
        let small_len = mem.get(&small.root).unwrap().unwrap().len() as u64;
        assert!(admit(6, &small.root, &everything, &none));
        let small_whole = small_len + host.with_map(small.size);
        assert_eq!(host.lock().reserved(&key.address()), map_len + small_whole);
        // Chain data stays free, whatever the selector.
        assert!(admit(7, &other, &everything, &none));
        assert_eq!(host.lock().reserved(&key.address()), map_len + small_whole);
    }

    /// A store holding a copy of `from`'s blocks listed in `keep`.
    fn partial_copy(from: &MemoryBlockstore, keep: &[Cid]) -> Arc<MemoryBlockstore> {
        let to = Arc::new(MemoryBlockstore::new());
        for cid in keep {
            to.put_keyed(cid, &from.get(cid).unwrap().unwrap()).unwrap();
        }
        to
    }

    #[test]
    fn a_map_still_downloading_is_charged_and_not_remembered_as_free() {
        const SECTION: u64 = 1024;
        let dir = tempfile::tempdir().unwrap();
        let full = MemoryBlockstore::new();
        let attach = tau_attach::Config::builder()
            .section_size(SECTION)
            .build()
            .unwrap();
        let path = dir.path().join("big");
        std::fs::write(
            &path,
            (0..600_000)
                .map(|i| (i * 13 % 251) as u8)
                .collect::<Vec<_>>(),
        )
        .unwrap();
        let big = tau_attach::upload(&full, &path, &attach).unwrap();
        let map = big.manifest.sections;
        // The map's root node arrived, its children not yet (this node is
        // downloading the attachment itself). 586 sections: the root holds
        // links only.
        let store = partial_copy(&full, &[map]);
        let root_node =
            tau_attach::decode_map_node(&full.get(&map).unwrap().unwrap(), &attach, u64::MAX, true);
        assert!(root_node.unwrap().sections.is_empty());
        let shared: SharedStore = store.clone();
        let policy = QuotaPolicy {
            free_per_address: 100_000,
            ..QuotaPolicy::default()
        };
        let host = AttachmentHost::new(shared, attach, policy, Vec::new(), Vec::new());
        let key = tau_keys::Keypair::from_bytes(&[9; 32]).unwrap();
        let peer = crate::identity::peer_id_of(&key).unwrap();
        let everything = Selector::explore_all_recursively(16).to_ipld();
        let none = Extensions::default();
        let admit = |id: u8| {
            host.admit(
                &peer,
                &Incoming {
                    id: RequestId([id; 16]),
                    root: &map,
                    selector: &everything,
                    extensions: &none,
                },
            )
        };
        // Charged as a whole map, so refused on a 100 KB quota; the answer
        // is not remembered, either way.
        assert!(matches!(admit(1), Admission::Reject { .. }));
        assert!(!host.lock().known.contains_key(&map));
        // Once the whole map is stored it is known for what it is.
        let mut below = vec![map];
        while let Some(cid) = below.pop() {
            let bytes = full.get(&cid).unwrap().unwrap();
            store.put_keyed(&cid, &bytes).unwrap();
            if cid.codec() != RAW {
                let node = tau_attach::decode_map_node(&bytes, &attach, u64::MAX, cid == map);
                below.extend(node.unwrap().children);
            }
        }
        assert!(matches!(admit(2), Admission::Reject { .. }));
        assert_eq!(
            host.lock().known.get(&map),
            Some(&Some(Data::MapNode {
                len: full.get(&map).unwrap().unwrap().len() as u64
            }))
        );
    }

    #[test]
    fn a_manifest_that_does_not_validate_cannot_declare_itself_cheap() {
        let dir = tempfile::tempdir().unwrap();
        let mem = Arc::new(MemoryBlockstore::new());
        let attach = tau_attach::Config::builder()
            .section_size(16 * 1024)
            .build()
            .unwrap();
        let path = dir.path().join("file");
        std::fs::write(&path, vec![7u8; 50_000]).unwrap();
        let real = tau_attach::upload(&*mem, &path, &attach).unwrap();
        // The same map under a manifest declaring one byte (and still four
        // sections, so it does not validate).
        let mut lie = real.manifest.clone();
        lie.total_size = 1;
        let lie_bytes = serde_ipld_dagcbor::to_vec(&lie).unwrap();
        let lie_root = mem.put(tau_ipld::block::DAG_CBOR, &lie_bytes).unwrap();
        let store: SharedStore = mem.clone();
        let host = AttachmentHost::new(
            store,
            attach,
            QuotaPolicy::default(),
            Vec::new(),
            Vec::new(),
        );
        let Some(Data::Manifest { total, .. }) = host.classify(&lie_root) else {
            panic!("not classified as a manifest");
        };
        assert_eq!(total, host.largest());
        // The honest one keeps its declared size.
        let Some(Data::Manifest { total, .. }) = host.classify(&real.root) else {
            panic!("not classified as a manifest");
        };
        assert_eq!(total, real.size);
    }

    /// A store whose reads wait until the test lets them through.
    struct Gated {
        inner: MemoryBlockstore,
        entered: std::sync::mpsc::SyncSender<()>,
        release: Mutex<std::sync::mpsc::Receiver<()>>,
    }

    impl Blockstore for Gated {
        fn get_raw(&self, cid: &Cid) -> tau_ipld::Result<Option<Vec<u8>>> {
            let _ = self.entered.try_send(());
            let _ = self
                .release
                .lock()
                .unwrap()
                .recv_timeout(std::time::Duration::from_secs(30));
            self.inner.get_raw(cid)
        }

        fn put_keyed(&self, cid: &Cid, block: &[u8]) -> tau_ipld::Result<()> {
            self.inner.put_keyed(cid, block)
        }

        fn has(&self, cid: &Cid) -> tau_ipld::Result<bool> {
            self.inner.has(cid)
        }
    }
    impl tau_ipld::BlockstoreExt for Gated {}

    #[test]
    fn store_reads_for_a_request_do_not_hold_up_the_host() {
        let inner = MemoryBlockstore::new();
        let root = inner.put(DAG_CBOR, &[0x80]).unwrap();
        let (entered_tx, entered) = std::sync::mpsc::sync_channel(1);
        let (release, release_rx) = std::sync::mpsc::channel();
        let store: SharedStore = Arc::new(Gated {
            inner,
            entered: entered_tx,
            release: Mutex::new(release_rx),
        });
        let host = Arc::new(AttachmentHost::new(
            store,
            tau_attach::Config::default(),
            QuotaPolicy::default(),
            Vec::new(),
            Vec::new(),
        ));
        let key = tau_keys::Keypair::from_bytes(&[9; 32]).unwrap();
        let peer = crate::identity::peer_id_of(&key).unwrap();
        let asking = {
            let host = host.clone();
            std::thread::spawn(move || {
                let selector = Selector::explore_all_recursively(4).to_ipld();
                host.admit(
                    &peer,
                    &Incoming {
                        id: RequestId([1; 16]),
                        root: &root,
                        selector: &selector,
                        extensions: &Extensions::default(),
                    },
                )
            })
        };
        // The request is inside a store read; the host still answers.
        entered
            .recv_timeout(std::time::Duration::from_secs(30))
            .unwrap();
        let (done_tx, done) = std::sync::mpsc::channel();
        let other = {
            let host = host.clone();
            std::thread::spawn(move || done_tx.send(host.used(&key.address())).unwrap())
        };
        let answered = done.recv_timeout(std::time::Duration::from_secs(10));
        for _ in 0..4 {
            let _ = release.send(());
        }
        other.join().unwrap();
        assert_eq!(answered, Ok(0), "the host was locked during a store read");
        // Chain data (no attachment shape): free.
        assert_eq!(asking.join().unwrap(), Admission::Allow);
    }
}
