//! The node's consensus state, without I/O: its chain, process B's
//! [`VoteEngine`] (the same engine tau-cbc's simulator runs: peers, views,
//! votes, fork choice, catch-up), the mempool and process A. This module is
//! glue: it reads TAU addresses from peer ids, keeps the peers' multiaddrs
//! beside the engine's peer table, and keeps the mempool and own pending
//! transactions in step with the head.

use std::collections::{BTreeMap, BTreeSet};

use cid::Cid;
use libp2p::{Multiaddr, PeerId};
use serde::{Deserialize, Serialize};
use tau_cbc::{
    Admission, AnswerVerdict, CatchUp, ChainView, Mode, PassDecision, PassSnapshot, PeerAnswer,
    ValidatedRoots, ViewEntry, VoteEngine, WalkBack,
};
use tau_ipld::SharedStore;
use tau_keys::{Address, Keypair};
use tau_state::{Executor, Produced, SignedTransaction, Transaction, TxBody};

use crate::identity::peer_address;
use crate::protocol::{HeadAnswer, PeerRecord, MAX_ADDRS, MAX_PEERS};
use crate::protocol::{MAX_SEEN, MAX_TRANSACTIONS};
use crate::{Error, Result};
use serde_bytes::ByteBuf;
use tau_state::mempool::{self, HeadAccounts, Mempool};

/// Peers asked per process-B tick at most (a table of 1,024 would
/// otherwise be dialed all at once).
const MAX_ASKS_PER_POLL: usize = 32;

/// Signed versions kept per own transaction.
const MAX_VERSIONS: usize = 8;

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

/// Validating a peer's chain without the core: a clone of the chain (its
/// store is shared, its warm state its own) and the shared set of validated
/// states, so a long validation holds no lock that head answers, mining or
/// the node's handle need.
pub(crate) struct Validation {
    chain: Executor<SharedStore>,
    validated: ValidatedRoots,
    range: u64,
}

impl Validation {
    /// Validates reading through `quarantine` (the node's store with a
    /// peer's unchecked blocks in front of it), writing only to it.
    pub(crate) fn in_quarantine(self, quarantine: SharedStore) -> Self {
        Self {
            chain: self.chain.with_store(quarantine),
            ..self
        }
    }

    /// The chain it validates on.
    pub(crate) fn chain(&self) -> &Executor<SharedStore> {
        &self.chain
    }

    /// The view of the chain at `head` (see [`ChainView::collect`]).
    pub(crate) fn collect(mut self, head: Cid, now: u64) -> tau_cbc::Result<ChainView> {
        ChainView::collect(&self.chain, &head, self.range, &mut self.validated, now)
    }

    /// The walk back from `head` to `anchor` (see [`tau_cbc::walk_back`]).
    pub(crate) fn walk(mut self, head: Cid, anchor: &ViewEntry, limit: u64, now: u64) -> WalkBack {
        tau_cbc::walk_back(&self.chain, &mut self.validated, head, anchor, limit, now)
    }
}

/// What an evaluation changed.
#[derive(Debug, Default)]
pub(crate) struct PassOutcome {
    pub(crate) head: Option<(Cid, u64)>,
    pub(crate) safety: Option<(Cid, u64)>,
    pub(crate) reorg_depth: u64,
}

pub(crate) struct NodeState {
    pub(crate) chain: Executor<SharedStore>,
    key: Keypair,
    mode: Mode,
    engine: VoteEngine<PeerId>,
    /// Multiaddrs of the peers in the engine's peer table.
    pub(crate) addresses: BTreeMap<PeerId, Vec<Multiaddr>>,
    /// Peers of the table this node held a connection with (the noise
    /// handshake proved the id; ids from peer lists never were).
    reached: BTreeSet<PeerId>,
    pub(crate) mempool: Mempool,
    intents: Vec<Intent>,
    next_ticket: u64,
}

impl NodeState {
    #[allow(clippy::too_many_arguments)] // one call site, all distinct roles
    /// A core on `head` with `safety` as the restored safety point, if any
    /// (both read from this node's own store, so trusted).
    pub(crate) fn new(
        chain: Executor<SharedStore>,
        key: Keypair,
        mode: Mode,
        params: tau_cbc::Params,
        local: PeerId,
        genesis: Cid,
        head: Cid,
        safety: Option<Cid>,
    ) -> Result<Self> {
        let engine = VoteEngine::new(
            &chain,
            params,
            mode,
            local,
            key.address(),
            Box::new(peer_address),
            genesis,
            head,
            safety,
            unix_now(),
        )?;
        Ok(Self {
            chain,
            key,
            mode,
            engine,
            addresses: BTreeMap::new(),
            reached: BTreeSet::new(),
            mempool: Mempool::new(),
            intents: Vec::new(),
            next_ticket: 0,
        })
    }

    pub(crate) fn address(&self) -> Address {
        self.key.address()
    }

    pub(crate) fn head(&self) -> Cid {
        self.engine.head()
    }

    pub(crate) fn head_entry(&self) -> &ViewEntry {
        self.engine.head_entry()
    }

    pub(crate) fn safety(&self) -> Option<&ViewEntry> {
        self.engine.safety()
    }

    pub(crate) fn engine(&self) -> &VoteEngine<PeerId> {
        &self.engine
    }

    /// The head moved: the mempool and own transactions follow it.
    fn head_moved(&mut self) {
        self.prune_mempool();
        self.track_intents();
    }

    // ---- peers -------------------------------------------------------------

    /// Learns a peer and its addresses (the engine's bounded table decides
    /// whether it is kept).
    pub(crate) fn add_peer(&mut self, peer: PeerId, addrs: impl IntoIterator<Item = Multiaddr>) {
        match self.engine.add_peer(peer, unix_now()) {
            Admission::Refused => return,
            Admission::Replaced(victim) => {
                self.addresses.remove(&victim);
                self.reached.remove(&victim);
            }
            Admission::Added | Admission::Known => {}
        }
        let known = self.addresses.entry(peer).or_default();
        for addr in addrs {
            if !known.contains(&addr) && known.len() < MAX_ADDRS {
                known.push(addr);
            }
        }
    }

    /// Learns a peer this node is connected with.
    pub(crate) fn add_connected(
        &mut self,
        peer: PeerId,
        addrs: impl IntoIterator<Item = Multiaddr>,
    ) {
        self.add_peer(peer, addrs);
        if self.addresses.contains_key(&peer) {
            self.reached.insert(peer);
        }
    }

    /// Whether `peer` is marked dishonest.
    pub(crate) fn is_marked(&self, peer: &PeerId) -> bool {
        self.engine.is_marked(peer)
    }

    /// Records a failed exchange; returns whether the peer is now marked.
    pub(crate) fn strike(&mut self, peer: PeerId, fatal: bool) -> bool {
        let marked = self.engine.strike(&peer, fatal);
        if marked {
            self.addresses.remove(&peer);
        }
        marked
    }

    /// A peer that could not be reached this pass (no strike: it may be
    /// down; dropped after a few passes of silence).
    pub(crate) fn unreachable(&mut self, peer: PeerId) {
        self.engine.unreachable(&peer);
    }

    /// The peers to ask now, with their addresses.
    pub(crate) fn next_asks<R: rand::Rng + ?Sized>(
        &mut self,
        rng: &mut R,
    ) -> Vec<(PeerId, Vec<Multiaddr>)> {
        self.engine
            .next_peers(rng, unix_now(), MAX_ASKS_PER_POLL)
            .into_iter()
            .map(|peer| {
                let addrs = self.addresses.get(&peer).cloned().unwrap_or_default();
                (peer, addrs)
            })
            .collect()
    }

    /// Peers worth remembering across a restart: those that answered or
    /// that this node reached (never ids only heard of).
    pub(crate) fn responsive_peers(&self) -> impl Iterator<Item = (&PeerId, &Vec<Multiaddr>)> {
        self.addresses.iter().filter(|(p, a)| {
            !a.is_empty()
                && (self.reached.contains(p)
                    || self.engine.peers().get(p).is_some_and(|r| r.answers > 0))
        })
    }

    // ---- process B ---------------------------------------------------------

    /// Starts taking `peer`'s answer (its blocks in the store): `Err` with
    /// the outcome when there is nothing to validate, else what validating
    /// its view needs, to run without the core
    /// ([`Validation::collect`], then [`finish_receive`](Self::finish_receive)).
    pub(crate) fn prepare_receive(
        &mut self,
        peer: PeerId,
        answer: &HeadAnswer,
    ) -> std::result::Result<(PeerAnswer<PeerId>, Validation), AnswerVerdict> {
        let answer = PeerAnswer {
            head: answer.head,
            safety: answer.safety,
            seen: answer.seen_heads().into_iter().collect(),
            mining: answer.mining,
        };
        if let Some(done) = self.engine.screen(&peer, &answer, unix_now()) {
            return Err(done);
        }
        Ok((answer, self.validation()))
    }

    /// Takes `peer`'s answer with its view as [`Validation::collect`] made it
    /// on `seen` (the chain it validated on: the node's store with the
    /// peer's blocks, kept or not, in front).
    pub(crate) fn finish_receive(
        &mut self,
        peer: PeerId,
        answer: &PeerAnswer<PeerId>,
        collected: tau_cbc::Result<ChainView>,
        seen: &Executor<SharedStore>,
    ) -> AnswerVerdict {
        let received = self
            .engine
            .take_collected(seen, &peer, answer, collected, unix_now());
        if let AnswerVerdict::Forged(_) = received {
            self.addresses.remove(&peer);
        }
        received
    }

    /// What a catch-up step needs to walk without the core: the state to
    /// reach and the validation context.
    pub(crate) fn prepare_catch_up(&self) -> Result<(ViewEntry, Validation)> {
        Ok((self.engine.catch_up_anchor(&self.chain)?, self.validation()))
    }

    /// Ends a catch-up step of `peer`'s chain at `head` with its walk.
    pub(crate) fn finish_catch_up(
        &mut self,
        peer: PeerId,
        head: Cid,
        anchor: &ViewEntry,
        walk: WalkBack,
    ) -> Result<CatchUp> {
        let step =
            self.engine
                .finish_catch_up(&self.chain, &peer, head, anchor, walk, unix_now())?;
        match &step {
            CatchUp::Adopted { .. } => self.head_moved(),
            CatchUp::Forged(_) => {
                self.addresses.remove(&peer);
            }
            CatchUp::Missing(_) | CatchUp::Refused(_) => {}
        }
        Ok(step)
    }

    fn validation(&self) -> Validation {
        Validation {
            chain: self.chain.clone(),
            validated: self.engine.validated_handle(),
            range: self.engine.params().mutable_range,
        }
    }

    /// Whether the pass can be voted on.
    pub(crate) fn ready_to_vote(&self) -> bool {
        self.engine.ready_to_vote(unix_now())
    }

    /// Whether the pass ran out of time.
    pub(crate) fn pass_stalled(&self) -> bool {
        self.engine.pass_stalled(unix_now())
    }

    pub(crate) fn start_pass(&mut self) {
        self.engine.start_pass(unix_now());
        // Peers the engine dropped (silent for several passes) go too.
        let engine = &self.engine;
        self.addresses.retain(|p, _| engine.peers().contains(p));
        let addresses = &self.addresses;
        self.reached.retain(|p| addresses.contains_key(p));
    }

    /// This pass's vote, to be decided without the core
    /// ([`PassSnapshot::decide`] on the chain clone it comes with) and then
    /// applied with [`apply_pass`](Self::apply_pass).
    pub(crate) fn snapshot_pass(&self) -> (PassSnapshot, Executor<SharedStore>) {
        (self.engine.snapshot_pass(), self.chain.clone())
    }

    /// Applies a vote decided on [`snapshot_pass`](Self::snapshot_pass):
    /// the safety point enough proven miners voted or endorsed, and the best
    /// chain holding it. `None` when the head or safety point moved while it
    /// was decided (the pass stays open and is voted on again).
    pub(crate) fn apply_pass(&mut self, decision: PassDecision) -> Result<Option<PassOutcome>> {
        let evaluation = self.engine.apply_pass(decision, &self.chain, unix_now())?;
        if evaluation.stale {
            return Ok(None);
        }
        let mut outcome = PassOutcome {
            reorg_depth: evaluation.reorg_depth,
            ..PassOutcome::default()
        };
        if evaluation.conflicts > 0 {
            tracing::warn!(
                conflicts = evaluation.conflicts,
                "refused safety points that would revert the current one"
            );
        }
        if evaluation.refused_reorg {
            tracing::warn!("refused a reorganization deeper than the mutable range");
        }
        if let Some(head) = evaluation.head {
            outcome.head = Some((head.root, head.number));
            self.head_moved();
        }
        if let Some(safety) = evaluation.safety {
            outcome.safety = Some((safety.root, safety.number));
            self.track_intents();
        }
        Ok(Some(outcome))
    }

    /// This node's answer to a head request, or `None` when it has no safety
    /// point within the mutable range (the design note's process A, step 1: no
    /// response; it keeps collecting votes).
    pub(crate) fn answer(&self) -> Option<HeadAnswer> {
        if !self.engine.answers_requests() {
            return None;
        }
        let mining = self.mode.produces_next_state();
        Some(HeadAnswer {
            head: self.head(),
            number: self.head_entry().number,
            safety: self.safety().map(|e| e.root),
            mining,
            seen: self
                .engine
                .seen()
                .into_iter()
                .take(MAX_SEEN)
                .map(|(p, c)| (ByteBuf::from(p.to_bytes()), c))
                .collect(),
            peers: self
                .engine
                .shareable_peers()
                .filter_map(|p| self.addresses.get(p).map(|a| (p, a)))
                .filter(|(_, a)| !a.is_empty())
                .take(MAX_PEERS)
                .map(|(p, addrs)| PeerRecord {
                    id: p.to_bytes(),
                    addrs: addrs
                        .iter()
                        .take(MAX_ADDRS)
                        .map(|a| ByteBuf::from(a.to_vec()))
                        .collect(),
                    mining: !self.engine.peers().get(p).is_some_and(|r| r.light),
                })
                .collect(),
        })
    }

    // ---- transactions ------------------------------------------------------

    /// Queues a transaction of this node's user; returns its ticket.
    pub(crate) fn submit(&mut self, body: TxBody, fee: u64) -> Result<u64> {
        let me = self.address();
        let available = self.chain.balance(&self.head(), &me)?.unwrap_or(0);
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
        Ok(tau_ipld::canonical::encode(
            "pending transactions",
            &StoredIntents {
                next_ticket: self.next_ticket,
                intents: self.intents.clone(),
            },
        )?)
    }

    /// Restores what [`encode_intents`](Self::encode_intents) wrote; signed
    /// versions that fail their signature check are dropped.
    pub(crate) fn restore_intents(&mut self, bytes: &[u8]) -> Result<()> {
        let stored: StoredIntents = serde_ipld_dagcbor::from_slice(bytes).map_err(|e| {
            Error::Store(tau_ipld::Error::CorruptStore(format!(
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

    /// Own transactions not yet included at the safety point, by ticket:
    /// the block number that included each on the head chain, if any.
    pub(crate) fn tickets(&self) -> Vec<(u64, Option<u64>)> {
        self.intents
            .iter()
            .map(|i| (i.ticket, i.included))
            .collect()
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
        let first = self.chain.nonce(&self.head(), &me).unwrap_or(0) + 1;
        let mut out = self.sign_intents(first, unix_now()).unwrap_or_default();
        let room = MAX_TRANSACTIONS.saturating_sub(out.len());
        out.extend(self.mempool.iter().take(room).cloned());
        out
    }

    /// Takes transactions a peer sent into the mempool (see
    /// [`Mempool::admit`] for what it admits).
    pub(crate) fn accept_transactions(&mut self, transactions: Vec<SignedTransaction>) {
        if let Err(e) = self.admit_transactions(transactions, unix_now()) {
            tracing::warn!("mempool admission stopped: {e}");
        }
    }

    /// Offers `transactions` to the mempool at `now`, against the head; says
    /// how each went. The caller bounds the batch (a head request carries at
    /// most [`MAX_TRANSACTIONS`]); each costs at most one signature check and
    /// two state reads. Fails if the head state cannot be read.
    pub(crate) fn admit_transactions(
        &mut self,
        transactions: Vec<SignedTransaction>,
        now: u64,
    ) -> Result<Vec<mempool::Admission>> {
        let (me, head) = (self.address(), self.head());
        Ok(self
            .mempool
            .admit_at_head(transactions, &self.chain, &head, &me, now)?)
    }

    /// Drops from the mempool what the next block on the head cannot take.
    fn prune_mempool(&mut self) {
        let head = self.head();
        let accounts = HeadAccounts {
            chain: &self.chain,
            head: &head,
        };
        self.mempool
            .prune(self.chain.params(), &accounts, unix_now());
    }

    /// Marks own transactions included at the head; forgets those included at
    /// the safety point.
    fn track_intents(&mut self) {
        let me = self.key.address();
        let safety = self.safety().map(|e| e.root);
        let head = self.head();
        let chain = &self.chain;
        let included_at = |root: &Cid, v: &SignedTransaction| -> Option<u64> {
            let out = chain.tx_output(root, &me, v.tx.nonce).ok()??;
            (out.tx == v.id().ok()).then_some(out.block_number)
        };
        for intent in &mut self.intents {
            intent.included = intent.versions.iter().find_map(|v| included_at(&head, v));
        }
        if let Some(safety) = safety {
            self.intents
                .retain(|i| !i.versions.iter().any(|v| included_at(&safety, v).is_some()));
        }
    }

    // ---- process A ---------------------------------------------------------

    /// What producing the next state on the head needs, when the
    /// Proof-of-Transaction allows it at `now` (seconds): the head, the
    /// pending transactions (own ones signed with the nonces after the
    /// miner's) and a chain to produce on. The production itself runs
    /// without the state ([`MineJob::produce`]); its result is taken with
    /// [`adopt_mined`](Self::adopt_mined).
    pub(crate) fn prepare_mine(&mut self, now: u64) -> Result<Option<MineJob>> {
        if !self.mode.produces_next_state() {
            return Ok(None);
        }
        let me = self.address();
        let head = self.head();
        let eligibility = match self.chain.eligibility(&head, &me) {
            Ok(e) => e,
            // No account yet: too young to mine (`docs/src/formats/state.md`), keep collecting votes.
            Err(tau_state::Error::UnknownMiner(_)) => return Ok(None),
            Err(e) => return Err(e.into()),
        };
        if now < eligibility.earliest {
            return Ok(None);
        }
        // Mining bumps the miner's nonce first: own transactions follow it.
        let mut pending = self.sign_intents(eligibility.nonce + 2, now)?;
        let max = self.chain.params().max_block_transactions;
        let room = max.saturating_sub(pending.len());
        pending.extend(self.mempool.for_block(self.chain.params(), now, room));
        pending.truncate(max);
        Ok(Some(MineJob {
            chain: self.chain.clone(),
            key: self.key.clone(),
            head,
            pending,
            now,
        }))
    }

    /// Takes a state [`MineJob::produce`] made on `on`: it becomes the head
    /// unless the head moved meanwhile (then it is dropped: `false`).
    pub(crate) fn adopt_mined(&mut self, on: Cid, produced: &Produced, now: u64) -> Result<bool> {
        if self.head() != on {
            return Ok(false);
        }
        self.engine.adopt_own(&self.chain, produced.root, now)?;
        self.head_moved();
        Ok(true)
    }
}

/// Producing one state, apart from the node's state (see
/// [`NodeState::prepare_mine`]): executing a block's transactions is the
/// longest step of process A.
pub(crate) struct MineJob {
    chain: Executor<SharedStore>,
    key: Keypair,
    head: Cid,
    pending: Vec<SignedTransaction>,
    now: u64,
}

impl MineJob {
    /// The head it produces on.
    pub(crate) fn head(&self) -> Cid {
        self.head
    }

    /// Produces the next state with `log` as its attachment log (downloads
    /// served), writing its blocks to the store.
    pub(crate) fn produce(&self, log: &[tau_state::ServiceRecord]) -> Result<Produced> {
        let _span = tracing::debug_span!(
            "mine",
            on = %self.head,
            transactions = self.pending.len(),
            log = log.len()
        )
        .entered();
        Ok(self.chain.produce_next_state_with_log(
            &self.head,
            &self.key,
            &self.pending,
            log,
            self.now,
        )?)
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

    use tau_ipld::MemoryBlockstore;
    use tau_state::Genesis;

    use super::*;

    fn core() -> NodeState {
        let key = Keypair::from_bytes(&[7; 32]).unwrap();
        let (params, cbc) = crate::local_devnet(1);
        let store: SharedStore = Arc::new(MemoryBlockstore::new());
        let chain = Executor::new(store, params).unwrap();
        let (genesis, _) = chain
            .genesis(&Genesis::new(1_000).allocate(key.address(), 1_000), &key)
            .unwrap();
        let local = PeerId::random();
        NodeState::new(chain, key, Mode::Mining, cbc, local, genesis, genesis, None).unwrap()
    }

    #[test]
    fn the_peer_table_is_bounded_but_known_peers_still_learn_addresses() {
        let mut core = core();
        let max = core.engine().params().max_peers;
        let addr = |i: u16| -> Multiaddr { format!("/ip4/127.0.0.1/tcp/{i}").parse().unwrap() };
        let first = PeerId::random();
        core.add_peer(first, [addr(1)]);
        for i in 0..max + 10 {
            core.add_peer(PeerId::random(), [addr(i as u16)]);
        }
        assert_eq!(core.addresses.len(), max);
        assert_eq!(core.engine().peers().len(), max);
        if core.addresses.contains_key(&first) {
            core.add_peer(first, [addr(2)]);
            assert_eq!(core.addresses.get(&first), Some(&vec![addr(1), addr(2)]));
        }
        let local = *core.engine().local();
        core.add_peer(local, [addr(3)]);
        assert!(!core.addresses.contains_key(&local));
    }

    #[test]
    fn a_block_mined_on_a_head_that_moved_is_dropped() {
        let mut core = core();
        let first = core.head();
        let earliest = |core: &NodeState| {
            core.chain
                .eligibility(&core.head(), &core.address())
                .unwrap()
                .earliest
        };
        let now = earliest(&core).max(unix_now());
        // Two productions prepared on the same head: the first taken moves
        // the head, so the second, produced meanwhile, is stale.
        let taken = core.prepare_mine(now).unwrap().expect("eligible");
        let stale = core.prepare_mine(now).unwrap().expect("eligible");
        let produced = taken.produce(&[]).unwrap();
        assert!(core.adopt_mined(taken.head(), &produced, now).unwrap());
        assert_eq!(core.head(), produced.root);
        let late = stale.produce(&[]).unwrap();
        assert_eq!(stale.head(), first);
        assert!(!core.adopt_mined(stale.head(), &late, now).unwrap());
        assert_eq!(core.head(), produced.root, "the stale block is not adopted");
    }
}
