//! The node's consensus state, without I/O: its chain and head, the views its
//! peers answered, the vote, fork choice, the mempool and process A. It
//! follows the shape of `tau_cbc::sim`'s node (the same rules, same order):
//! receive a peer's head and blocks → validate its view → vote → endorse
//! reported safety points → fork choice → mine on the head.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Instant;

use cid::Cid;
use libp2p::{Multiaddr, PeerId};
use serde::{Deserialize, Serialize};
use tau_cbc::{
    evaluate_pass, ChainView, ForkChoice, Message, Mode, Pass, Planner, SafetyPoint, SafetyTracker,
    ValidatedRoots, ViewEntry,
};
use tau_graphsync::net::SharedStore;
use tau_keys::{Address, Keypair};
use tau_state::{Chain, Produced, SignedTransaction, Transaction, TxBody};

use crate::catchup::{self, Walk};
use crate::protocol::{serde_bytes_vec::Bytes, HeadAnswer, PeerRecord, MAX_ADDRS, MAX_PEERS};
use crate::protocol::{MAX_SEEN, MAX_TRANSACTIONS};
use crate::{Error, Result};

/// Most transactions of other senders held.
const MAX_MEMPOOL: usize = 4096;
/// Signed versions kept per own transaction.
const MAX_VERSIONS: usize = 8;
/// Graphsync or head-protocol failures in a row before a peer is marked.
pub(crate) const MAX_STRIKES: u32 = 3;
/// Most peers whose addresses are kept: beyond it, new peers are not
/// learned (discovery and gossip cannot grow the table without bound).
pub(crate) const MAX_KNOWN_PEERS: usize = 1024;

/// A transaction this node's user asked for. Its nonce depends on the head
/// (mining bumps the miner's nonce too), so it is re-signed with the next
/// free nonce whenever the chain moved; any signed version counts once
/// included.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Intent {
    ticket: u64,
    body: TxBody,
    fee: u64,
    versions: Vec<SignedTransaction>,
    /// Recomputed from the head (not persisted).
    #[serde(skip)]
    included: Option<u64>,
}

/// Own pending transactions as persisted (DAG-CBOR).
#[derive(Serialize, Deserialize)]
struct StoredIntents {
    next_ticket: u64,
    intents: Vec<Intent>,
}

/// How a received answer went.
#[derive(Debug)]
pub(crate) enum Received {
    /// The view is validated and counts in this pass.
    Counted,
    /// Blocks are missing; fetch from this CID (if known) and try again.
    Incomplete(Option<Cid>),
    /// The answer is forged: the peer is marked.
    Forged(String),
    /// The peer is marked already, or the answer is ignored.
    Ignored,
    /// The view counts, and it is heavier than the local chain but no longer
    /// reaches the safety point: catch up with [`Core::catch_up`].
    CatchUp,
}

/// How a catch-up step went.
#[derive(Debug)]
pub(crate) enum CatchUp {
    /// The head moved to the peer's chain.
    Adopted { head: (Cid, u64), reorg_depth: u64 },
    /// Fetch this block and step again.
    Missing(Cid),
    /// The chain does not hold the safety point (or no longer beats ours).
    Refused(String),
    /// A state on the chain is invalid.
    Forged(String),
}

/// What an evaluation changed.
#[derive(Debug, Default)]
pub(crate) struct Outcome {
    pub(crate) head: Option<(Cid, u64)>,
    pub(crate) safety: Option<(Cid, u64)>,
    pub(crate) reorg_depth: u64,
    pub(crate) conflicts: usize,
}

pub(crate) struct Core {
    pub(crate) chain: Chain<SharedStore>,
    key: Keypair,
    mode: Mode,
    params: tau_cbc::Params,
    local: PeerId,
    genesis: Cid,
    pub(crate) head: Cid,
    view: ChainView,
    validated: ValidatedRoots,
    pub(crate) planner: Planner<PeerId>,
    views: BTreeMap<PeerId, ChainView>,
    messages: BTreeMap<PeerId, Message<PeerId>>,
    reports: BTreeMap<PeerId, ViewEntry>,
    pub(crate) tracker: SafetyTracker,
    pub(crate) marked: BTreeSet<PeerId>,
    strikes: BTreeMap<PeerId, u32>,
    failed_in_pass: BTreeSet<PeerId>,
    light_peers: BTreeSet<PeerId>,
    pub(crate) addresses: BTreeMap<PeerId, Vec<Multiaddr>>,
    mempool: BTreeMap<(Address, u64), SignedTransaction>,
    intents: Vec<Intent>,
    next_ticket: u64,
    pass_started: Instant,
    pub(crate) mining_enabled: bool,
}

impl Core {
    #[allow(clippy::too_many_arguments)] // one call site, all distinct roles
    /// A core on `head` (validated through the mutable range) with `safety`
    /// as the restored safety point, if any.
    pub(crate) fn new(
        chain: Chain<SharedStore>,
        key: Keypair,
        mode: Mode,
        params: tau_cbc::Params,
        local: PeerId,
        genesis: Cid,
        head: Cid,
        safety: Option<Cid>,
    ) -> Result<Self> {
        let mut validated = ValidatedRoots::new(genesis);
        let view = ChainView::collect(&chain, &head, params.mutable_range, &mut validated)?;
        let mut tracker = SafetyTracker::new();
        if let Some(root) = safety {
            let block = chain.block(&root)?;
            tracker.update_with(
                SafetyPoint {
                    entry: ViewEntry::of(root, &block),
                    support: 0,
                    traversed: 0,
                    fault_tolerance: None,
                },
                |_, _| Some(true),
            );
        }
        let mut planner = Planner::new(params.clone(), mode);
        planner.start_pass(unix_now());
        Ok(Self {
            chain,
            key,
            mode,
            params,
            local,
            genesis,
            head,
            view,
            validated,
            planner,
            views: BTreeMap::new(),
            messages: BTreeMap::new(),
            reports: BTreeMap::new(),
            tracker,
            marked: BTreeSet::new(),
            strikes: BTreeMap::new(),
            failed_in_pass: BTreeSet::new(),
            light_peers: BTreeSet::new(),
            addresses: BTreeMap::new(),
            mempool: BTreeMap::new(),
            intents: Vec::new(),
            next_ticket: 0,
            pass_started: Instant::now(),
            mining_enabled: mode.produces_next_state(),
        })
    }

    pub(crate) fn address(&self) -> Address {
        self.key.address()
    }

    pub(crate) fn head_entry(&self) -> &ViewEntry {
        self.view.head()
    }

    pub(crate) fn safety(&self) -> Option<&ViewEntry> {
        self.tracker.current().map(|s| &s.entry)
    }

    fn set_head(&mut self, head: Cid) -> Result<()> {
        self.view = ChainView::collect(
            &self.chain,
            &head,
            self.params.mutable_range,
            &mut self.validated,
        )?;
        self.head = head;
        self.prune_mempool();
        self.track_intents();
        Ok(())
    }

    // ---- peers -------------------------------------------------------------

    /// Learns a peer and its addresses; a peer not known to be light is asked.
    pub(crate) fn add_peer(&mut self, peer: PeerId, addrs: impl IntoIterator<Item = Multiaddr>) {
        if peer == self.local || self.marked.contains(&peer) {
            return;
        }
        if !self.addresses.contains_key(&peer) && self.addresses.len() >= MAX_KNOWN_PEERS {
            return;
        }
        let known = self.addresses.entry(peer).or_default();
        for addr in addrs {
            if !known.contains(&addr) && known.len() < MAX_ADDRS {
                known.push(addr);
            }
        }
        if !self.light_peers.contains(&peer) {
            self.planner.add_mining_peer(peer);
        }
    }

    /// Marks `peer` dishonest: it is never asked or counted again.
    pub(crate) fn mark(&mut self, peer: PeerId) {
        self.marked.insert(peer);
        self.planner.remove_peer(&peer);
        self.views.remove(&peer);
        self.messages.remove(&peer);
        self.reports.remove(&peer);
        self.addresses.remove(&peer);
    }

    /// Records a failed exchange; returns whether the peer is now marked.
    pub(crate) fn strike(&mut self, peer: PeerId, fatal: bool) -> bool {
        self.failed_in_pass.insert(peer);
        let strikes = self.strikes.entry(peer).or_insert(0);
        *strikes += 1;
        if fatal || *strikes >= MAX_STRIKES {
            self.mark(peer);
            return true;
        }
        false
    }

    /// A peer that could not be reached this pass (no strike: it may be down).
    pub(crate) fn unreachable(&mut self, peer: PeerId) {
        self.failed_in_pass.insert(peer);
    }

    // ---- process B ---------------------------------------------------------

    /// Takes `peer`'s answer once its blocks are in the store.
    pub(crate) fn receive(&mut self, peer: PeerId, answer: &HeadAnswer) -> Received {
        if self.marked.contains(&peer) {
            return Received::Ignored;
        }
        if !answer.mining {
            self.failed_in_pass.insert(peer);
            self.light_peers.insert(peer);
            self.planner.remove_peer(&peer);
            return Received::Ignored;
        }
        match ChainView::collect(
            &self.chain,
            &answer.head,
            self.params.mutable_range,
            &mut self.validated,
        ) {
            Ok(view) => {
                let catch_up = self.needs_catch_up(&view);
                self.strikes.remove(&peer);
                if let Some(entry) = answer.safety.and_then(|s| view.get(&s)) {
                    self.reports.insert(peer, entry.clone());
                }
                self.views.insert(peer, view);
                self.messages.insert(
                    peer,
                    Message {
                        sender: peer,
                        estimate: answer.head,
                        seen: answer.seen_heads().into_iter().collect(),
                    },
                );
                self.planner.answered(peer, unix_now());
                if catch_up {
                    Received::CatchUp
                } else {
                    Received::Counted
                }
            }
            Err(e) if e.is_forgery() => {
                self.strike(peer, true);
                Received::Forged(e.to_string())
            }
            Err(tau_cbc::Error::Incomplete(e)) => Received::Incomplete(missing_cid(&e)),
            Err(e) => {
                tracing::debug!(%peer, "view of {} not counted: {e}", answer.head);
                Received::Incomplete(None)
            }
        }
    }

    /// The block a catch-up must reach: the safety point, or genesis before
    /// the first one.
    fn anchor(&self) -> Result<ViewEntry> {
        match self.safety() {
            Some(entry) => Ok(entry.clone()),
            None => Ok(ViewEntry::of(
                self.genesis,
                &self.chain.block(&self.genesis)?,
            )),
        }
    }

    /// Whether `view` beats the local chain but starts above the anchor
    /// without holding it: only a walk further back can relate the two.
    fn needs_catch_up(&self, view: &ChainView) -> bool {
        let Ok(anchor) = self.anchor() else {
            return false;
        };
        let oldest = view.entries().last().map_or(0, |e| e.number);
        !view.contains(&anchor.root)
            && oldest > anchor.number
            && !self.view.contains(&view.head().root)
            && view.head().preference(self.view.head()).is_gt()
    }

    /// One step of catching up with the chain at `head`: walk back to the
    /// anchor validating every state (at most `limit` blocks); adopt `head`
    /// once the whole way is valid and it still beats the local head.
    pub(crate) fn catch_up(&mut self, head: Cid, limit: u64) -> Result<CatchUp> {
        let anchor = self.anchor()?;
        let roots = match catchup::walk_back(&self.chain, &mut self.validated, head, &anchor, limit)
        {
            Walk::Reached(roots) => roots,
            Walk::Missing(cid) => return Ok(CatchUp::Missing(cid)),
            Walk::Refused(reason) => return Ok(CatchUp::Refused(reason)),
            Walk::Forged(reason) => return Ok(CatchUp::Forged(reason)),
        };
        let entry = ViewEntry::of(head, &self.chain.block(&head)?);
        if !entry.preference(self.view.head()).is_gt() {
            return Ok(CatchUp::Refused(
                "no longer heavier than the local chain".into(),
            ));
        }
        let reorg_depth = catchup::unwound(&self.chain, self.head, &roots, &anchor);
        self.set_head(head)?;
        Ok(CatchUp::Adopted {
            head: (head, entry.number),
            reorg_depth,
        })
    }

    /// Whether the pass has enough answers and nothing more is coming.
    pub(crate) fn ready_to_vote(&self, pass_timeout: std::time::Duration) -> bool {
        self.planner.pass_complete()
            && self.planner.pass_exhausted()
            && (self.planner.outstanding() <= self.failed_in_pass.len()
                || self.pass_started.elapsed() >= pass_timeout)
    }

    /// Whether the pass asked everyone and waited too long.
    pub(crate) fn pass_stalled(&self, pass_timeout: std::time::Duration) -> bool {
        self.planner.pass_exhausted() && self.pass_started.elapsed() >= pass_timeout
    }

    pub(crate) fn start_pass(&mut self) {
        self.planner.start_pass(unix_now());
        self.views.clear();
        self.failed_in_pass.clear();
        self.pass_started = Instant::now();
    }

    /// Votes on this pass's views, endorses what enough peers report safe,
    /// and follows the best chain holding the safety point (tau-cbc's rules,
    /// in the simulator's order).
    pub(crate) fn evaluate(&mut self) -> Result<Outcome> {
        let params = self.params.clone();
        let before = self.safety().map(|e| e.root);
        let mut outcome = Outcome::default();
        let decided = evaluate_pass(
            &params,
            &self.chain,
            &mut self.tracker,
            Pass {
                local: &self.local,
                own_view: &self.view,
                views: &self.views,
                messages: &self.messages,
                reports: &self.reports,
                known_mining: self.planner.mining_peers().len(),
            },
        );
        outcome.conflicts += decided.conflicts;
        match decided.choice {
            ForkChoice::Keep => {}
            ForkChoice::Switch { head, reorg_depth } => {
                self.set_head(head.root)?;
                outcome.head = Some((head.root, head.number));
                outcome.reorg_depth = reorg_depth;
            }
            ForkChoice::TooDeep { head } => {
                tracing::warn!("refused a reorganization to {} (too deep)", head.root);
            }
        }
        if let Some(now) = self.safety() {
            if before != Some(now.root) {
                outcome.safety = Some((now.root, now.number));
                self.track_intents();
            }
        }
        Ok(outcome)
    }

    /// The heads this node collected, by peer (its justification).
    fn seen(&self) -> BTreeMap<PeerId, Cid> {
        self.messages
            .iter()
            .map(|(p, m)| (*p, m.estimate))
            .collect()
    }

    /// This node's answer to a head request.
    pub(crate) fn answer(&self) -> HeadAnswer {
        let mining = self.mode.produces_next_state();
        HeadAnswer {
            head: self.head,
            number: self.view.head().number,
            safety: self.safety().map(|e| e.root),
            mining,
            seen: self
                .seen()
                .into_iter()
                .take(MAX_SEEN)
                .map(|(p, c)| (Bytes(p.to_bytes()), c))
                .collect(),
            peers: self
                .addresses
                .iter()
                .filter(|(_, a)| !a.is_empty())
                .take(MAX_PEERS)
                .map(|(p, addrs)| PeerRecord {
                    id: p.to_bytes(),
                    addrs: addrs
                        .iter()
                        .take(MAX_ADDRS)
                        .map(|a| Bytes(a.to_vec()))
                        .collect(),
                    mining: !self.light_peers.contains(p),
                })
                .collect(),
        }
    }

    // ---- transactions ------------------------------------------------------

    /// Queues a transaction of this node's user; returns its ticket.
    pub(crate) fn submit(&mut self, body: TxBody, fee: u64) -> Result<u64> {
        let me = self.address();
        let available = self.chain.balance(&self.head, &me)?.unwrap_or(0);
        let pending: u64 = self
            .intents
            .iter()
            .filter(|i| i.included.is_none())
            .map(|i| i.body.amount().saturating_add(i.fee))
            .sum();
        let needed = pending.saturating_add(body.amount()).saturating_add(fee);
        if needed > available {
            return Err(Error::InsufficientBalance { needed, available });
        }
        let ticket = self.next_ticket;
        self.next_ticket += 1;
        self.intents.push(Intent {
            ticket,
            body,
            fee,
            versions: Vec::new(),
            included: None,
        });
        Ok(ticket)
    }

    /// Own pending transactions, encoded for the store (so a restarted node
    /// still sends them).
    pub(crate) fn encode_intents(&self) -> Result<Vec<u8>> {
        serde_ipld_dagcbor::to_vec(&StoredIntents {
            next_ticket: self.next_ticket,
            intents: self.intents.clone(),
        })
        .map_err(|e| Error::Store(tau_hamt::Error::Encode(e.to_string())))
    }

    /// Restores what [`encode_intents`](Self::encode_intents) wrote; signed
    /// versions that fail their signature check are dropped.
    pub(crate) fn restore_intents(&mut self, bytes: &[u8]) -> Result<()> {
        let stored: StoredIntents = serde_ipld_dagcbor::from_slice(bytes).map_err(|e| {
            Error::Store(tau_hamt::Error::CorruptStore(format!(
                "pending transactions: {e}"
            )))
        })?;
        let me = self.address();
        self.next_ticket = stored.next_ticket;
        self.intents = stored
            .intents
            .into_iter()
            .filter(|i| i.ticket < stored.next_ticket)
            .map(|mut i| {
                i.versions.retain(|v| {
                    v.tx.sender == me && v.tx.body == i.body && v.verify_signature().is_ok()
                });
                i.versions.truncate(MAX_VERSIONS);
                i
            })
            .collect();
        self.track_intents();
        Ok(())
    }

    /// Own transactions not yet included at the safety point.
    pub(crate) fn pending_own(&self) -> usize {
        self.intents.len()
    }

    /// The block number that included ticket `ticket` on the head chain, if any
    /// (`Some(None)`: pending; `None`: unknown or already safe and forgotten).
    pub(crate) fn ticket(&self, ticket: u64) -> Option<Option<u64>> {
        self.intents
            .iter()
            .find(|i| i.ticket == ticket)
            .map(|i| i.included)
    }

    /// Own pending transactions signed with nonces from `first` on.
    fn sign_intents(&mut self, first: u64, now: u64) -> Result<Vec<SignedTransaction>> {
        let mut out = Vec::new();
        let chain_id = self.chain.params().chain_id.clone();
        let version = self.chain.params().version;
        let open = self.intents.iter_mut().filter(|i| i.included.is_none());
        for (nonce, intent) in (first..).zip(open) {
            let signed = match intent.versions.iter().find(|v| v.tx.nonce == nonce) {
                Some(v) => v.clone(),
                None => {
                    let signed = Transaction {
                        version,
                        chain_id: chain_id.clone(),
                        sender: self.key.address(),
                        nonce,
                        timestamp: now,
                        fee: intent.fee,
                        body: intent.body.clone(),
                        thread: None,
                        profile: None,
                    }
                    .sign(&self.key)?;
                    if intent.versions.len() == MAX_VERSIONS {
                        intent.versions.remove(0);
                    }
                    intent.versions.push(signed.clone());
                    signed
                }
            };
            out.push(signed);
        }
        Ok(out)
    }

    /// Transactions to hand a peer with a head request: own pending ones
    /// (next nonces at the head) and others' from the mempool.
    pub(crate) fn gossip(&mut self) -> Vec<SignedTransaction> {
        let me = self.address();
        let first = self.chain.nonce(&self.head, &me).unwrap_or(0) + 1;
        let mut out = self.sign_intents(first, unix_now()).unwrap_or_default();
        out.extend(self.mempool.values().cloned());
        out.truncate(MAX_TRANSACTIONS);
        out
    }

    /// Takes transactions a peer sent: signature, chain and nonce checked;
    /// the block producer checks the rest.
    pub(crate) fn accept_transactions(&mut self, transactions: Vec<SignedTransaction>) {
        let me = self.address();
        for tx in transactions.into_iter().take(MAX_TRANSACTIONS) {
            if tx.tx.sender == me
                || tx.tx.chain_id != self.chain.params().chain_id
                || tx.verify_signature().is_err()
                || self.mempool.len() >= MAX_MEMPOOL
            {
                continue;
            }
            let current = self.chain.nonce(&self.head, &tx.tx.sender).unwrap_or(0);
            if tx.tx.nonce > current {
                self.mempool.insert((tx.tx.sender, tx.tx.nonce), tx);
            }
        }
    }

    fn prune_mempool(&mut self) {
        let head = self.head;
        let chain = &self.chain;
        let expiry = chain.params().tx_expiry;
        let now = unix_now();
        self.mempool.retain(|(sender, nonce), tx| {
            chain.nonce(&head, sender).is_ok_and(|n| *nonce > n)
                && tx.tx.timestamp.saturating_add(expiry) > now
        });
    }

    /// Marks own transactions included at the head; forgets those included at
    /// the safety point.
    fn track_intents(&mut self) {
        let me = self.key.address();
        let safety = self.safety().map(|e| e.root);
        let chain = &self.chain;
        let included_at = |root: &Cid, v: &SignedTransaction| -> Option<u64> {
            let out = chain.tx_output(root, &me, v.tx.nonce).ok()??;
            (out.tx == v.id().ok()).then_some(out.block_number)
        };
        for intent in &mut self.intents {
            intent.included = intent
                .versions
                .iter()
                .find_map(|v| included_at(&self.head, v));
        }
        if let Some(safety) = safety {
            self.intents
                .retain(|i| !i.versions.iter().any(|v| included_at(&safety, v).is_some()));
        }
    }

    // ---- process A ---------------------------------------------------------

    /// Produces the next state on the head when the Proof-of-Transaction
    /// allows it at `now` (seconds), with the pending transactions.
    /// `log`: the attachment log of the block (downloads served).
    pub(crate) fn maybe_mine(
        &mut self,
        now: u64,
        log: &[tau_state::ServiceRecord],
    ) -> Result<Option<Produced>> {
        if !self.mining_enabled || !self.mode.produces_next_state() {
            return Ok(None);
        }
        let me = self.address();
        let eligibility = match self.chain.eligibility(&self.head, &me) {
            Ok(e) => e,
            // No account yet: too young to mine (seed 000), keep collecting votes.
            Err(tau_state::Error::UnknownMiner(_)) => return Ok(None),
            Err(e) => return Err(e.into()),
        };
        if now < eligibility.earliest {
            return Ok(None);
        }
        // Mining bumps the miner's nonce first: own transactions follow it.
        let mut pending = self.sign_intents(eligibility.nonce + 2, now)?;
        pending.extend(self.mempool.values().cloned());
        pending.truncate(self.chain.params().max_block_transactions);
        let produced = self
            .chain
            .produce_next_state_with_log(&self.head, &self.key, &pending, log, now)?;
        self.validated.insert(produced.root);
        self.set_head(produced.root)?;
        Ok(Some(produced))
    }
}

/// The CID a "missing block" error names.
pub(crate) fn missing_cid(e: &tau_state::Error) -> Option<Cid> {
    match e {
        tau_state::Error::MissingBlock(cid)
        | tau_state::Error::Hamt(tau_hamt::Error::MissingBlock(cid)) => Some(**cid),
        _ => None,
    }
}

/// Seconds since the Unix epoch (the chain's clock).
pub(crate) fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use tau_hamt::MemoryBlockstore;
    use tau_state::Genesis;

    use super::*;

    fn core() -> Core {
        let key = Keypair::from_bytes(&[7; 32]).unwrap();
        let (params, cbc) = crate::local_devnet(1);
        let store: SharedStore = Arc::new(MemoryBlockstore::new());
        let chain = Chain::new(store, params).unwrap();
        let (genesis, _) = chain
            .genesis(&Genesis::new(1_000).allocate(key.address(), 1_000), &key)
            .unwrap();
        let local = PeerId::random();
        Core::new(chain, key, Mode::Mining, cbc, local, genesis, genesis, None).unwrap()
    }

    #[test]
    fn the_known_peer_table_is_bounded_but_known_peers_still_learn_addresses() {
        let mut core = core();
        let addr = |i: u16| -> Multiaddr { format!("/ip4/127.0.0.1/tcp/{i}").parse().unwrap() };
        let first = PeerId::random();
        core.add_peer(first, [addr(1)]);
        for i in 0..MAX_KNOWN_PEERS + 10 {
            core.add_peer(PeerId::random(), [addr(i as u16)]);
        }
        assert_eq!(core.addresses.len(), MAX_KNOWN_PEERS);
        core.add_peer(first, [addr(2)]);
        assert_eq!(core.addresses.get(&first), Some(&vec![addr(1), addr(2)]));
        let local = core.local;
        core.add_peer(local, [addr(3)]);
        assert!(!core.addresses.contains_key(&local));
    }
}
