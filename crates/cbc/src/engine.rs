//! Process B as one engine, without I/O: what a TAU node does with its
//! peers' answers, driven the same way by tau-node and by the [`sim`](crate::sim).
//!
//! The engine owns the peer table, the views, the reports, strikes and
//! marks, the planner, the pass timing, the catch-up walk-back and the rule
//! that nothing moves below the safety point. It is told the time (`now`,
//! Unix seconds) and handed the chain on every call; it returns what the
//! caller must do (fetch a block from a peer, catch up, mark a peer) as
//! typed values.
//!
//! Hostile peers shape every rule here (`docs/src/vote-rule.md`):
//! * a view counts only once it is validated down to a state this node
//!   validated itself (anchored), and each of its blocks against the clock;
//! * votes come from proven miners ([`ProvenMiners`]), one per miner
//!   address, never from peer ids;
//! * the peer table is bounded and drops peers that never answer
//!   ([`PeerTable`]); a pass completes on the proven miners that answer.

use std::collections::{BTreeMap, BTreeSet};

use cid::Cid;
use rand::Rng;
use tau_ipld::Blockstore;
use tau_keys::Address;
use tau_state::Executor;

use crate::catchup::{unwound, walk_back, WalkBack};
use crate::miners::ProvenMiners;
use crate::oracle::Message;
use crate::params::Params;
use crate::pass::{evaluate_pass, Pass, PassOutcome};
use crate::peers::{Admission, PeerTable};
use crate::planner::{Mode, Next, Planner};
use crate::safety::SafetyTracker;
use crate::view::{ChainView, ValidatedRoots, ViewEntry};
use crate::vote::SafetyPoint;
use crate::{Error, ForkChoice, Result};

/// Strikes in a row (failed fetches, withheld blocks) before a peer is marked.
pub const MAX_STRIKES: u32 = 3;

/// Most marked peers remembered (the oldest marks are forgotten first).
const MAX_MARKED: usize = 4096;

/// Reads the TAU address a peer's identity proves (tau-node: the secp256k1
/// key inside a peer id; the simulator: its key table).
pub type AddressOf<P> = Box<dyn Fn(&P) -> Option<Address> + Send + Sync>;

/// A peer's answer to "what is your next state?".
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeerAnswer<P> {
    /// Its head.
    pub head: Cid,
    /// The safety point it reports.
    pub safety: Option<Cid>,
    /// The heads it collected from others (its CBC justification).
    pub seen: BTreeMap<P, Cid>,
    /// Whether it says it mines.
    pub mining: bool,
}

/// What [`VoteEngine::receive`] made of an answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AnswerVerdict {
    /// The view is validated and anchored; it counts in this pass (as a vote
    /// if the peer proves a miner address).
    Counted,
    /// The chain of a proven miner is heavier than the local one but cannot
    /// be related to it within the mutable range: run
    /// [`VoteEngine::catch_up`] on it. (Peers proving no miner address never
    /// move the head: only voting views count in fork choice.)
    CatchUp,
    /// This block is missing: fetch it from the peer and receive again.
    Missing(Cid),
    /// A block is dated ahead of the clock: not counted now.
    Future(String),
    /// The chain is forged: the peer is marked.
    Forged(String),
    /// The peer is marked, light, or its chain is not worth following.
    Ignored,
}

/// How a catch-up step went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CatchUp {
    /// The head moved to the peer's chain.
    Adopted {
        /// The new head.
        head: ViewEntry,
        /// Local blocks unwound.
        reorg_depth: u64,
    },
    /// Fetch this block and step again.
    Missing(Cid),
    /// The chain does not hold the safety point, no longer beats the local
    /// one, or is dated ahead of the clock.
    Refused(String),
    /// A state on the chain is invalid: the peer is marked.
    Forged(String),
}

/// What [`VoteEngine::evaluate`] changed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Evaluation {
    /// The new head, if fork choice switched.
    pub head: Option<ViewEntry>,
    /// Local blocks unwound by the switch.
    pub reorg_depth: u64,
    /// The new safety point, if it moved.
    pub safety: Option<ViewEntry>,
    /// Candidate safety points refused because they would revert the current one.
    pub conflicts: usize,
    /// Whether fork choice refused a reorganization deeper than the mutable range.
    pub refused_reorg: bool,
    /// Proven miners whose views voted.
    pub voters: usize,
    /// Whether the decision was taken on a head or safety point that has
    /// moved since ([`VoteEngine::apply_pass`]): nothing was applied.
    pub stale: bool,
}

/// Process B of one node: peers, views, votes, safety point, head.
pub struct VoteEngine<P> {
    params: Params,
    local: P,
    address: Address,
    address_of: AddressOf<P>,
    genesis: Cid,
    head: Cid,
    view: ChainView,
    validated: ValidatedRoots,
    miners: ProvenMiners,
    peers: PeerTable<P>,
    planner: Planner<P>,
    marked: BTreeSet<P>,
    marked_order: Vec<P>,
    views: BTreeMap<P, ChainView>,
    messages: BTreeMap<P, (Cid, BTreeMap<P, Cid>)>,
    reports: BTreeMap<P, ViewEntry>,
    failed_in_pass: BTreeSet<P>,
    tracker: SafetyTracker,
    pass_started: u64,
}

impl<P: Ord + Clone> VoteEngine<P> {
    /// An engine for node `local` (whose TAU address is `address`) on the
    /// chain from `genesis`, with `head` as its head and `safety` as its
    /// restored safety point. Both are states this node validated or
    /// produced before (restored from its own store), so they are trusted.
    #[allow(clippy::too_many_arguments)] // one call per driver, all distinct roles
    pub fn new<BS: Blockstore>(
        chain: &Executor<BS>,
        params: Params,
        mode: Mode,
        local: P,
        address: Address,
        address_of: AddressOf<P>,
        genesis: Cid,
        head: Cid,
        safety: Option<Cid>,
        now: u64,
    ) -> Result<Self> {
        params.validate()?;
        let mut validated = ValidatedRoots::new(genesis);
        let head_block = chain.block(&head).map_err(Error::Local)?;
        validated.insert(head, head_block.number());
        let view = ChainView::collect(chain, &head, params.mutable_range, &mut validated, now)?;
        let mut tracker = SafetyTracker::new();
        if let Some(root) = safety {
            let block = chain.block(&root).map_err(Error::Local)?;
            validated.insert(root, block.number());
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
        let mut miners = ProvenMiners::new();
        let endowed = chain
            .state(&genesis)
            .and_then(|state| state.balances())
            .map_err(Error::Local)?;
        for (address, balance) in endowed {
            if balance > 0 {
                miners.endow(address);
            }
        }
        miners.record(&view);
        miners.expire(view.head().number, params.mutable_range);
        let mut planner = Planner::new(params.clone(), mode);
        planner.start_pass(now);
        Ok(Self {
            peers: PeerTable::new(&params),
            params,
            local,
            address,
            address_of,
            genesis,
            head,
            view,
            validated,
            miners,
            planner,
            marked: BTreeSet::new(),
            marked_order: Vec::new(),
            views: BTreeMap::new(),
            messages: BTreeMap::new(),
            reports: BTreeMap::new(),
            failed_in_pass: BTreeSet::new(),
            tracker,
            pass_started: now,
        })
    }

    // ---- reading -----------------------------------------------------------

    /// This node's peer id.
    pub fn local(&self) -> &P {
        &self.local
    }

    /// The parameters.
    pub fn params(&self) -> &Params {
        &self.params
    }

    /// The head.
    pub fn head(&self) -> Cid {
        self.head
    }

    /// The head's entry.
    pub fn head_entry(&self) -> &ViewEntry {
        self.view.head()
    }

    /// The node's own view (its chain through the mutable range).
    pub fn own_view(&self) -> &ChainView {
        &self.view
    }

    /// The safety point's entry.
    pub fn safety(&self) -> Option<&ViewEntry> {
        self.tracker.current().map(|s| &s.entry)
    }

    /// The safety point with its vote figures.
    pub fn safety_point(&self) -> Option<&SafetyPoint> {
        self.tracker.current()
    }

    /// The states this node validated.
    pub fn validated(&self) -> &ValidatedRoots {
        &self.validated
    }

    /// The proven miners.
    pub fn proven_miners(&self) -> &ProvenMiners {
        &self.miners
    }

    /// The peer table.
    pub fn peers(&self) -> &PeerTable<P> {
        &self.peers
    }

    /// Peers worth telling others about: those that answered, proven miners
    /// first (a table full of ids that never answered shares none of them).
    pub fn shareable_peers(&self) -> impl Iterator<Item = &P> {
        let proven = |r: &crate::PeerRecord| r.address.is_some_and(|a| self.miners.contains(&a));
        let answered = || self.peers.iter().filter(|(_, r)| r.answers > 0);
        answered()
            .filter(move |(_, r)| proven(r))
            .chain(answered().filter(move |(_, r)| !proven(r)))
            .map(|(p, _)| p)
    }

    /// Whether `peer` is marked dishonest.
    pub fn is_marked(&self, peer: &P) -> bool {
        self.marked.contains(peer)
    }

    /// Peer views held for this pass's vote (proven miners' only).
    pub fn views_held(&self) -> usize {
        self.views.len()
    }

    /// Marked peers.
    pub fn marked(&self) -> &BTreeSet<P> {
        &self.marked
    }

    /// The heads this node collected, by peer (its CBC justification).
    pub fn seen(&self) -> BTreeMap<P, Cid> {
        self.messages
            .iter()
            .map(|(p, (head, _))| (p.clone(), *head))
            .collect()
    }

    /// Mining peers that count toward the vote: the proven miners other than
    /// this node.
    pub fn known_mining(&self) -> usize {
        self.miners
            .addresses()
            .filter(|a| **a != self.address)
            .count()
    }

    /// The TAU design note's process A, step 1 (`docs/src/vote-rule.md` §7):
    /// a node answers requests for its next state only while it has a safety
    /// point within the mutable range of its head (the trusted genesis stands
    /// in until the first vote). Otherwise it
    /// exits with no response and keeps collecting votes.
    pub fn answers_requests(&self) -> bool {
        let safe = self.safety().map_or(0, |e| e.number);
        self.view.head().number.saturating_sub(safe) <= self.params.mutable_range
    }

    fn is_voter(&self, peer: &P) -> Option<Address> {
        self.peers
            .address(peer)
            .filter(|a| *a != self.address && self.miners.contains(a))
    }

    // ---- the head ----------------------------------------------------------

    /// Moves the head to `head`, which must be anchored (validated, or
    /// produced by this node on its head: see [`adopt_own`](Self::adopt_own)).
    pub fn set_head<BS: Blockstore>(
        &mut self,
        chain: &Executor<BS>,
        head: Cid,
        now: u64,
    ) -> Result<()> {
        if !self.validated.contains(&head) {
            return Err(Error::Unanchored {
                head: Box::new(head),
                depth: 0,
            });
        }
        self.view = ChainView::collect(
            chain,
            &head,
            self.params.mutable_range,
            &mut self.validated,
            now,
        )?;
        self.head = head;
        self.miners.record(&self.view);
        self.miners
            .expire(self.view.head().number, self.params.mutable_range);
        Ok(())
    }

    /// Takes a state this node produced on its own head (process A).
    pub fn adopt_own<BS: Blockstore>(
        &mut self,
        chain: &Executor<BS>,
        root: Cid,
        now: u64,
    ) -> Result<()> {
        let block = chain.block(&root).map_err(Error::Local)?;
        self.validated.insert(root, block.number());
        self.set_head(chain, root, now)
    }

    // ---- peers -------------------------------------------------------------

    /// Learns a peer; returns what the table did (a replaced peer is
    /// forgotten: the caller drops what it holds for it).
    pub fn add_peer(&mut self, peer: P, now: u64) -> Admission<P> {
        if peer == self.local || self.marked.contains(&peer) {
            return Admission::Refused;
        }
        let address = (self.address_of)(&peer);
        let admission = self.peers.add(peer.clone(), address, &self.miners, now);
        match &admission {
            Admission::Added => self.planner.add_mining_peer(peer),
            Admission::Replaced(victim) => {
                self.forget(victim);
                self.planner.add_mining_peer(peer);
            }
            Admission::Known | Admission::Refused => {}
        }
        admission
    }

    /// Learns a relay (asked when no mining peer is left).
    pub fn add_relay(&mut self, relay: P) {
        self.planner.add_relay(relay);
    }

    fn forget(&mut self, peer: &P) {
        self.planner.remove_peer(peer);
        self.drop_vote(peer);
    }

    /// Drops what `peer` said toward the vote (its view, message, report).
    fn drop_vote(&mut self, peer: &P) {
        self.views.remove(peer);
        self.messages.remove(peer);
        self.reports.remove(peer);
    }

    /// Marks `peer` dishonest: it is never asked or counted again.
    pub fn mark(&mut self, peer: &P) {
        if self.marked.insert(peer.clone()) {
            self.marked_order.push(peer.clone());
            if self.marked_order.len() > MAX_MARKED {
                let oldest = self.marked_order.remove(0);
                self.marked.remove(&oldest);
            }
        }
        self.peers.remove(peer);
        self.forget(peer);
    }

    /// Records a failed exchange that is the peer's fault; returns whether
    /// the peer is now marked (at once if `fatal`).
    pub fn strike(&mut self, peer: &P, fatal: bool) -> bool {
        self.failed_in_pass.insert(peer.clone());
        if fatal || self.peers.strike(peer) >= MAX_STRIKES {
            self.mark(peer);
            return true;
        }
        false
    }

    /// A peer that could not be reached or did not answer this pass (no
    /// strike: it may be down). The pass stops waiting for it; the failed
    /// ask is counted when the pass ends ([`start_pass`](Self::start_pass)).
    pub fn unreachable(&mut self, peer: &P) {
        self.failed_in_pass.insert(peer.clone());
    }

    /// Up to `limit` peers to ask now, each recorded as asked at `now`:
    /// proven miners first, then peers that answered before, then new
    /// peers, then peers that failed their last ask. Asks unanswered for a
    /// pass timeout are counted as failed first.
    pub fn next_peers<R: Rng + ?Sized>(&mut self, rng: &mut R, now: u64, limit: usize) -> Vec<P> {
        self.expire_asks(now);
        let mut out = Vec::new();
        while out.len() < limit {
            let peers = &self.peers;
            let miners = &self.miners;
            let address = self.address;
            let next = self.planner.next_ranked(rng, |p| match peers.get(p) {
                Some(r)
                    if r.address
                        .is_some_and(|a| a != address && miners.contains(&a)) =>
                {
                    0
                }
                Some(r) if r.answers > 0 => 1,
                Some(r) if r.failed_asks == 0 => 2,
                _ => 3,
            });
            let Next::Peer(peer) = next else {
                break;
            };
            self.peers.asked(&peer, now);
            out.push(peer);
        }
        out
    }

    // ---- process B ---------------------------------------------------------

    /// Takes `peer`'s answer once the blocks it names are in `chain`'s store:
    /// [`screen`](Self::screen), then the validation of its view, then
    /// [`take_collected`](Self::take_collected). A caller that must not hold
    /// the engine while a long chain validates runs the three steps itself,
    /// the middle one on a [`validated_handle`](Self::validated_handle).
    pub fn receive<BS: Blockstore>(
        &mut self,
        chain: &Executor<BS>,
        peer: &P,
        answer: &PeerAnswer<P>,
        now: u64,
    ) -> AnswerVerdict {
        if let Some(done) = self.screen(peer, answer, now) {
            return done;
        }
        let collected = ChainView::collect(
            chain,
            &answer.head,
            self.params.mutable_range,
            &mut self.validated,
            now,
        );
        self.take_collected(chain, peer, answer, collected, now)
    }

    /// The cheap part of taking an answer: `Some` when it needs no
    /// validation (a marked or unknown peer, a peer that does not mine).
    pub fn screen(&mut self, peer: &P, answer: &PeerAnswer<P>, now: u64) -> Option<AnswerVerdict> {
        if self.marked.contains(peer) || !self.peers.contains(peer) {
            return Some(AnswerVerdict::Ignored);
        }
        if !answer.mining {
            self.failed_in_pass.insert(peer.clone());
            self.peers.answered(peer, now);
            self.peers.set_light(peer);
            self.planner.remove_peer(peer);
            return Some(AnswerVerdict::Ignored);
        }
        None
    }

    /// The states this node validated, shared: validating a view on it
    /// (with [`ChainView::collect`]) needs no access to the engine.
    pub fn validated_handle(&self) -> ValidatedRoots {
        self.validated.clone()
    }

    /// Takes `peer`'s answer with its view as [`ChainView::collect`] made it.
    pub fn take_collected<BS: Blockstore>(
        &mut self,
        chain: &Executor<BS>,
        peer: &P,
        answer: &PeerAnswer<P>,
        collected: Result<ChainView>,
        now: u64,
    ) -> AnswerVerdict {
        if self.marked.contains(peer) || !self.peers.contains(peer) {
            return AnswerVerdict::Ignored;
        }
        match collected {
            Ok(view) => {
                let catch_up = self.needs_catch_up(chain, &view);
                self.peers.clear_strikes(peer);
                self.peers.answered(peer, now);
                self.miners.record(&view);
                self.miners
                    .expire(self.view.head().number, self.params.mutable_range);
                self.planner.answered(peer.clone(), now);
                // Only a proven miner's view is kept: it alone votes, is
                // reported, counts in fork choice or moves the head. (Kept
                // for every answering id, views of a mutable range each
                // would cost a table of sybils hundreds of MB.)
                if self.is_voter(peer).is_none() {
                    self.drop_vote(peer);
                    return AnswerVerdict::Counted;
                }
                match answer.safety.and_then(|s| view.get(&s)) {
                    Some(entry) => {
                        self.reports.insert(peer.clone(), entry.clone());
                    }
                    None => {
                        self.reports.remove(peer);
                    }
                }
                self.views.insert(peer.clone(), view);
                self.messages
                    .insert(peer.clone(), (answer.head, answer.seen.clone()));
                if catch_up {
                    AnswerVerdict::CatchUp
                } else {
                    AnswerVerdict::Counted
                }
            }
            Err(e) if e.is_forgery() => {
                self.mark(peer);
                AnswerVerdict::Forged(e.to_string())
            }
            Err(Error::Incomplete(e)) => {
                AnswerVerdict::Missing(crate::catchup::missing_cid(&e).unwrap_or(answer.head))
            }
            Err(e @ Error::FutureBlock { .. }) => {
                self.failed_in_pass.insert(peer.clone());
                AnswerVerdict::Future(e.to_string())
            }
            Err(Error::Unanchored { .. }) => {
                self.peers.answered(peer, now);
                self.planner.answered(peer.clone(), now);
                // Worth a catch-up only if the chain claims more work than
                // ours (a claim: the walk back validates it).
                let heavier = chain.block(&answer.head).is_ok_and(|b| {
                    ViewEntry::of(answer.head, &b)
                        .preference(self.view.head())
                        .is_gt()
                });
                if heavier && self.is_voter(peer).is_some() {
                    AnswerVerdict::CatchUp
                } else {
                    self.failed_in_pass.insert(peer.clone());
                    AnswerVerdict::Ignored
                }
            }
            Err(_) => {
                self.failed_in_pass.insert(peer.clone());
                AnswerVerdict::Ignored
            }
        }
    }

    /// The block a catch-up must reach: the safety point, or genesis before
    /// the first one.
    fn anchor<BS: Blockstore>(&self, chain: &Executor<BS>) -> Result<ViewEntry> {
        match self.safety() {
            Some(entry) => Ok(entry.clone()),
            None => Ok(ViewEntry::of(
                self.genesis,
                &chain.block(&self.genesis).map_err(Error::Local)?,
            )),
        }
    }

    /// Whether `view` beats the local chain but starts above the anchor
    /// without holding it: only a walk further back can relate the two.
    fn needs_catch_up<BS: Blockstore>(&self, chain: &Executor<BS>, view: &ChainView) -> bool {
        let Ok(anchor) = self.anchor(chain) else {
            return false;
        };
        let oldest = view.entries().last().map_or(0, |e| e.number);
        !view.contains(&anchor.root)
            && oldest > anchor.number
            && !self.view.contains(&view.head().root)
            && view.head().preference(self.view.head()).is_gt()
    }

    /// One step of catching up with the chain at `head`: walk back to the
    /// safety point validating every state (at most `limit` blocks); adopt
    /// `head` once the whole way is valid and it still beats the local head.
    /// A forged chain marks `peer`. (A caller that must not hold the engine
    /// during the walk runs [`walk_back`] itself from
    /// [`catch_up_anchor`](Self::catch_up_anchor) on a
    /// [`validated_handle`](Self::validated_handle), then
    /// [`finish_catch_up`](Self::finish_catch_up).)
    pub fn catch_up<BS: Blockstore>(
        &mut self,
        chain: &Executor<BS>,
        peer: &P,
        head: Cid,
        limit: u64,
        now: u64,
    ) -> Result<CatchUp> {
        let anchor = self.catch_up_anchor(chain)?;
        let walk = walk_back(chain, &mut self.validated, head, &anchor, limit, now);
        self.finish_catch_up(chain, peer, head, &anchor, walk, now)
    }

    /// The state a catch-up must reach: the safety point, or genesis before
    /// the first one.
    pub fn catch_up_anchor<BS: Blockstore>(&self, chain: &Executor<BS>) -> Result<ViewEntry> {
        self.anchor(chain)
    }

    /// Ends a catch-up step with the walk back from `head` to `anchor`.
    pub fn finish_catch_up<BS: Blockstore>(
        &mut self,
        chain: &Executor<BS>,
        peer: &P,
        head: Cid,
        anchor: &ViewEntry,
        walk: WalkBack,
        now: u64,
    ) -> Result<CatchUp> {
        let roots = match walk {
            WalkBack::Reached(roots) => roots,
            WalkBack::Missing(cid) => return Ok(CatchUp::Missing(cid)),
            WalkBack::Refused(reason) | WalkBack::Future(reason) => {
                return Ok(CatchUp::Refused(reason))
            }
            WalkBack::Forged(reason) => {
                self.mark(peer);
                return Ok(CatchUp::Forged(reason));
            }
        };
        if self.anchor(chain)?.root != anchor.root {
            return Ok(CatchUp::Refused(
                "the safety point moved during the walk".into(),
            ));
        }
        let entry = ViewEntry::of(head, &chain.block(&head).map_err(Error::Local)?);
        if !entry.preference(self.view.head()).is_gt() {
            return Ok(CatchUp::Refused(
                "no longer heavier than the local chain".into(),
            ));
        }
        let reorg_depth = unwound(chain, self.head, &roots, anchor);
        self.set_head(chain, head, now)?;
        Ok(CatchUp::Adopted {
            head: entry,
            reorg_depth,
        })
    }

    /// Whether the pass can be voted on: enough proven miners answered
    /// (half of those known), and every proven miner in the peer table was
    /// asked and answered or failed — or the pass timed out. A node that
    /// knows peers but no proven miner besides itself does not vote (its
    /// own chain alone would decide); a node with no peer at all does.
    pub fn ready_to_vote(&self, now: u64) -> bool {
        if self.known_mining() == 0 && !self.peers.is_empty() {
            return false;
        }
        let needed = self.params.needed_peers(self.known_mining() + 1);
        let voters = self.voting_peers();
        // The node's own view is one of the views the rule needs.
        if voters.len() + 1 < needed {
            return false;
        }
        let settled = self
            .peers
            .iter()
            .filter(|(p, r)| !r.light && self.is_voter(p).is_some())
            .all(|(p, _)| {
                self.planner.has_answered(p)
                    || (self.planner.was_asked(p) && self.failed_in_pass.contains(p))
            });
        settled || self.pass_stalled(now)
    }

    /// Whether the pass has run for the pass timeout.
    pub fn pass_stalled(&self, now: u64) -> bool {
        now.saturating_sub(self.pass_started) >= self.params.pass_timeout
    }

    /// Counts the asks unanswered for a pass timeout as failed and forgets
    /// the peers dropped for it.
    fn expire_asks(&mut self, now: u64) {
        let timeout = self.params.pass_timeout;
        for peer in self.peers.expire_asks(timeout, &self.miners, now) {
            self.forget(&peer);
        }
    }

    /// Starts a new pass.
    pub fn start_pass(&mut self, now: u64) {
        self.expire_asks(now);
        self.planner.start_pass(now);
        self.views.clear();
        self.failed_in_pass.clear();
        self.pass_started = now;
    }

    /// The peers whose views vote in this pass: one per proven miner address
    /// (the first peer in order if several prove the same one).
    fn voting_peers(&self) -> BTreeMap<Address, &P> {
        let mut voters = BTreeMap::new();
        for peer in self.views.keys() {
            if let Some(address) = self.is_voter(peer) {
                voters.entry(address).or_insert(peer);
            }
        }
        voters
    }

    /// Votes on this pass's views (one per proven miner address), endorses
    /// what enough of them report safe, and follows the best chain holding
    /// the safety point: tau-cbc's rules in the one order every node follows.
    ///
    /// The same as [`snapshot_pass`](Self::snapshot_pass), then
    /// [`PassSnapshot::decide`], then [`apply_pass`](Self::apply_pass); a
    /// node that must keep answering while the vote runs (the clique oracle
    /// is exponential in the number of voters) calls the three itself and
    /// runs `decide` without the engine.
    pub fn evaluate<BS: Blockstore>(
        &mut self,
        chain: &Executor<BS>,
        now: u64,
    ) -> Result<Evaluation> {
        let decision = self.snapshot_pass().decide(chain);
        self.apply_pass(decision, chain, now)
    }

    /// What the vote of this pass needs, copied out of the engine (views
    /// and messages keyed by proven miner address, one per address).
    pub fn snapshot_pass(&self) -> PassSnapshot {
        let voters = self.voting_peers();
        let mut views = BTreeMap::new();
        let mut messages = BTreeMap::new();
        let mut reports = BTreeMap::new();
        for (address, peer) in &voters {
            if let Some(view) = self.views.get(*peer) {
                views.insert(*address, view.clone());
            }
            if let Some((estimate, seen)) = self.messages.get(*peer) {
                let seen = seen
                    .iter()
                    .filter_map(|(p, head)| (self.address_of)(p).map(|a| (a, *head)))
                    .collect();
                messages.insert(
                    *address,
                    Message {
                        sender: *address,
                        estimate: *estimate,
                        seen,
                    },
                );
            }
            if let Some(report) = self.reports.get(*peer) {
                reports.insert(*address, report.clone());
            }
        }
        PassSnapshot {
            params: self.params.clone(),
            local: self.address,
            head: self.head,
            own_view: self.view.clone(),
            views,
            messages,
            reports,
            known_mining: self.known_mining(),
            validated: self.validated.clone(),
            tracker: self.tracker.clone(),
        }
    }

    /// Applies a decision taken on [`snapshot_pass`](Self::snapshot_pass):
    /// the new safety point and the fork choice. If the head or the safety
    /// point changed since the snapshot (the node mined or caught up
    /// meanwhile), nothing is applied and the evaluation says
    /// [`stale`](Evaluation::stale): the pass is still open, so the caller
    /// keeps it and votes again on the views it holds.
    pub fn apply_pass<BS: Blockstore>(
        &mut self,
        decision: PassDecision,
        chain: &Executor<BS>,
        now: u64,
    ) -> Result<Evaluation> {
        let safety_root = |t: &SafetyTracker| t.current().map(|p| p.entry.root);
        if decision.head != self.head || decision.safety_before != safety_root(&self.tracker) {
            return Ok(Evaluation {
                stale: true,
                ..Evaluation::default()
            });
        }
        let before = self.safety().map(|e| e.root);
        self.tracker = decision.tracker;
        let mut evaluation = Evaluation {
            conflicts: decision.outcome.conflicts,
            voters: decision.voters,
            ..Evaluation::default()
        };
        match decision.outcome.choice {
            ForkChoice::Keep => {}
            ForkChoice::Switch { head, reorg_depth } => {
                self.set_head(chain, head.root, now)?;
                evaluation.head = Some(head);
                evaluation.reorg_depth = reorg_depth;
            }
            ForkChoice::TooDeep { .. } => evaluation.refused_reorg = true,
        }
        if let Some(current) = self.safety().cloned() {
            if before != Some(current.root) {
                // Nothing below the safety point can count again.
                self.validated
                    .prune_below(current.number, &[current.root, self.head]);
                evaluation.safety = Some(current);
            }
        }
        Ok(evaluation)
    }
}

/// A pass's inputs taken out of a [`VoteEngine`], so the vote can run on
/// another thread while the engine keeps serving (see
/// [`VoteEngine::evaluate`]).
#[derive(Debug, Clone)]
pub struct PassSnapshot {
    params: Params,
    local: Address,
    head: Cid,
    own_view: ChainView,
    views: BTreeMap<Address, ChainView>,
    messages: BTreeMap<Address, Message<Address>>,
    reports: BTreeMap<Address, ViewEntry>,
    known_mining: usize,
    validated: ValidatedRoots,
    tracker: SafetyTracker,
}

impl PassSnapshot {
    /// Proven miners whose views vote.
    pub fn voters(&self) -> usize {
        self.views.len()
    }

    /// Runs the vote, the endorsement and the fork choice
    /// ([`evaluate_pass`]) on the snapshot; `chain` is read for ancestry
    /// along validated links only.
    pub fn decide<BS: Blockstore>(self, chain: &Executor<BS>) -> PassDecision {
        let mut tracker = self.tracker;
        let safety_before = tracker.current().map(|p| p.entry.root);
        let outcome = evaluate_pass(
            &self.params,
            chain,
            &self.validated,
            &mut tracker,
            Pass {
                local: &self.local,
                own_view: &self.own_view,
                views: &self.views,
                messages: &self.messages,
                reports: &self.reports,
                known_mining: self.known_mining,
            },
        );
        PassDecision {
            head: self.head,
            safety_before,
            voters: self.views.len(),
            tracker,
            outcome,
        }
    }
}

/// What [`PassSnapshot::decide`] found, for [`VoteEngine::apply_pass`].
#[derive(Debug, Clone)]
pub struct PassDecision {
    head: Cid,
    safety_before: Option<Cid>,
    voters: usize,
    tracker: SafetyTracker,
    outcome: PassOutcome,
}

impl PassDecision {
    /// The safety points refused and the fork choice.
    pub fn outcome(&self) -> &PassOutcome {
        &self.outcome
    }
}
