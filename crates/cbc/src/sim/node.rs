//! One simulated node: its chain, its votes, and how it answers.

use std::collections::{BTreeMap, BTreeSet};

use cid::Cid;
use tau_hamt::{Blockstore, MemoryBlockstore};
use tau_keys::Keypair;
use tau_state::{Chain, StateKey};

use super::transfer::missing_blocks;
use super::{state_error, Behaviour, SimConfig};
use crate::oracle::Message;
use crate::params::Params;
use crate::planner::{Mode, Planner};
use crate::safety::SafetyTracker;
use crate::view::{ChainView, ValidatedRoots};
use crate::{ForkChoice, Result};

pub(crate) struct SimNode {
    pub(crate) id: usize,
    key: Keypair,
    pub(crate) behaviour: Behaviour,
    chain: Chain<MemoryBlockstore>,
    pub(crate) head: Cid,
    view: ChainView,
    /// An equivocator's sibling of its head.
    sibling: Option<Cid>,
    validated: ValidatedRoots,
    pub(crate) planner: Planner<usize>,
    views: BTreeMap<usize, ChainView>,
    messages: BTreeMap<usize, Message<usize>>,
    /// The safety point each peer last reported, as found on its view.
    reports: BTreeMap<usize, crate::ViewEntry>,
    pub(crate) tracker: SafetyTracker,
    pub(crate) marked: BTreeSet<usize>,
    next_mine: Option<u64>,
    pub(crate) next_poll: u64,
    pass_started: u64,
    pass_timeout: u64,
    forgeries: u32,
    range: u64,
}

/// A mined state: root, number, previous root.
pub(crate) type Mined = (Cid, u64, Option<Cid>);

/// What an evaluation did.
pub(crate) struct Outcome {
    pub(crate) previous_safety: Option<Cid>,
    pub(crate) conflicts: usize,
    pub(crate) refused_reorgs: usize,
    pub(crate) reorg_depth: u64,
}

/// An answer to an ask.
pub(crate) struct Answer {
    pub(crate) head: Cid,
    pub(crate) blocks: Vec<(Cid, Vec<u8>)>,
    /// The safety point the answerer reports.
    pub(crate) safety: Option<Cid>,
}

/// An answer as it arrives.
pub(crate) struct Received {
    pub(crate) head: Cid,
    pub(crate) blocks: Vec<(Cid, Vec<u8>)>,
    pub(crate) seen: BTreeMap<usize, Cid>,
    pub(crate) safety: Option<Cid>,
}

impl SimNode {
    pub(crate) fn new(
        id: usize,
        key: Keypair,
        behaviour: Behaviour,
        chain: Chain<MemoryBlockstore>,
        genesis: Cid,
        config: &SimConfig,
        peers: impl Iterator<Item = usize>,
    ) -> Result<Self> {
        let mut validated = ValidatedRoots::new(genesis);
        let view = ChainView::collect(&chain, &genesis, config.cbc.mutable_range, &mut validated)?;
        let mut planner = Planner::new(config.cbc.clone(), Mode::Mining);
        peers.for_each(|p| planner.add_mining_peer(p));
        planner.start_pass(0);
        let next_mine = Some(
            chain
                .eligibility(&genesis, &key.address())
                .map_err(state_error)?
                .earliest,
        );
        Ok(Self {
            id,
            key,
            behaviour,
            chain,
            head: genesis,
            view,
            sibling: None,
            validated,
            planner,
            views: BTreeMap::new(),
            messages: BTreeMap::new(),
            reports: BTreeMap::new(),
            tracker: SafetyTracker::new(),
            marked: BTreeSet::new(),
            next_mine,
            next_poll: (id as u64) % config.poll_every.max(1),
            pass_started: 0,
            pass_timeout: 4 * (config.poll_every + config.latency.1),
            forgeries: 0,
            range: config.cbc.mutable_range,
        })
    }

    pub(crate) fn pass_timeout(&self) -> u64 {
        self.pass_timeout
    }

    pub(crate) fn head_number(&self) -> u64 {
        self.view.head().number
    }

    pub(crate) fn safety_root(&self) -> Option<Cid> {
        self.tracker.current().map(|s| s.entry.root)
    }

    fn set_head(&mut self, head: Cid) -> Result<()> {
        self.view = ChainView::collect(&self.chain, &head, self.range, &mut self.validated)?;
        self.head = head;
        self.sibling = None;
        self.next_mine = Some(
            self.chain
                .eligibility(&head, &self.key.address())
                .map_err(state_error)?
                .earliest,
        );
        Ok(())
    }

    /// Mines on the head when its Proof-of-Transaction allows; returns the
    /// new states (two for an equivocator) as (root, number, previous).
    pub(crate) fn maybe_mine(&mut self, now: u64) -> Result<Option<Vec<Mined>>> {
        if self.next_mine.is_none_or(|t| now < t) {
            return Ok(None);
        }
        let previous = self.head;
        let produced = self
            .chain
            .produce_next_state(&previous, &self.key, &[], now)
            .map_err(state_error)?;
        let number = produced.block.number();
        let mut mined = vec![(produced.root, number, Some(previous))];
        self.validated.insert(produced.root);
        self.set_head(produced.root)?;
        if self.behaviour == Behaviour::Equivocator {
            let twin = self
                .chain
                .produce_next_state(&previous, &self.key, &[], now + 1)
                .map_err(state_error)?;
            self.validated.insert(twin.root);
            mined.push((twin.root, number, Some(previous)));
            self.sibling = Some(twin.root);
        }
        Ok(Some(mined))
    }

    /// The heads this node collected, by peer (its justification).
    pub(crate) fn seen(&self) -> BTreeMap<usize, Cid> {
        self.messages
            .iter()
            .map(|(p, m)| (*p, m.estimate))
            .collect()
    }

    /// This node's answer to `asker`.
    pub(crate) fn answer(&mut self, asker: &SimNode) -> Result<Answer> {
        let head = match self.behaviour {
            Behaviour::Honest | Behaviour::Withholder => self.head,
            Behaviour::Equivocator => match self.sibling {
                Some(twin) if asker.id % 2 == 1 => twin,
                _ => self.head,
            },
            Behaviour::Forger => self.forge()?,
        };
        let blocks = if self.behaviour == Behaviour::Withholder {
            Vec::new()
        } else {
            missing_blocks(self.chain.store(), asker.chain.store(), &head)
        };
        // Byzantine nodes claim their head is safe.
        let safety = match self.behaviour {
            Behaviour::Honest => self.safety_root(),
            _ => Some(head),
        };
        Ok(Answer {
            head,
            blocks,
            safety,
        })
    }

    /// A forged state on top of the head: wrong state root, bad signature or
    /// invalid Proof-of-Transaction, in turn.
    fn forge(&mut self) -> Result<Cid> {
        self.forgeries += 1;
        let chain = &self.chain;
        let block = chain.block(&self.head).map_err(state_error)?;
        let mut state = chain.state(&self.head).map_err(state_error)?;
        match self.forgeries % 3 {
            0 => {
                // Same block, one more coin for the forger.
                let key = StateKey::Balance(self.key.address());
                let balance: u64 = state.get(&key).map_err(state_error)?.unwrap_or(0);
                state.set(&key, &(balance + 1_000)).map_err(state_error)?;
            }
            kind => {
                let mut unsigned = block.unsigned.clone();
                let signer = if kind == 1 {
                    // Signed by a key that is not the miner's.
                    Keypair::from_bytes(&[0x42; 32])
                        .map_err(|_| crate::Error::InvalidParams("forger key"))?
                } else {
                    // Dated right after its parent, before its PoT interval.
                    let parent = unsigned
                        .previous
                        .map(|p| chain.block(&p))
                        .transpose()
                        .map_err(state_error)?;
                    unsigned.timestamp = parent.map_or(1, |p| p.timestamp() + 1);
                    self.key.clone()
                };
                let forged = unsigned.sign(&signer).map_err(state_error)?;
                let bytes = forged.encode().map_err(state_error)?;
                let cid = chain
                    .store()
                    .put(tau_hamt::block::DAG_CBOR, &bytes)
                    .map_err(|e| state_error(e.into()))?;
                state
                    .set(&StateKey::Contract(chain.params().chain_id.clone()), &cid)
                    .map_err(state_error)?;
            }
        }
        state.flush().map_err(state_error)
    }

    /// Takes an answer from `peer`; returns whether it was a detected forgery.
    pub(crate) fn receive(&mut self, peer: usize, answer: Received, now: u64) -> Result<bool> {
        let Received {
            head,
            blocks,
            seen,
            safety,
        } = answer;
        if self.marked.contains(&peer) {
            return Ok(false);
        }
        self.chain
            .store()
            .put_many_keyed(&blocks)
            .map_err(|e| state_error(e.into()))?;
        match ChainView::collect(&self.chain, &head, self.range, &mut self.validated) {
            Ok(view) => {
                if let Some(entry) = safety.and_then(|s| view.get(&s)) {
                    self.reports.insert(peer, entry.clone());
                }
                self.views.insert(peer, view);
                self.messages.insert(
                    peer,
                    Message {
                        sender: peer,
                        estimate: head,
                        seen,
                    },
                );
                self.planner.answered(peer, now);
                Ok(false)
            }
            Err(e) if e.is_forgery() => {
                self.marked.insert(peer);
                self.planner.remove_peer(&peer);
                self.views.remove(&peer);
                self.messages.remove(&peer);
                self.reports.remove(&peer);
                Ok(true)
            }
            Err(_) => Ok(false),
        }
    }

    /// Votes on this pass's views, updates the safety point and follows the best chain.
    pub(crate) fn evaluate(&mut self, params: &Params, _now: u64) -> Result<Outcome> {
        let previous_safety = self.safety_root();
        let mut outcome = Outcome {
            previous_safety,
            conflicts: 0,
            refused_reorgs: 0,
            reorg_depth: 0,
        };
        let decided = crate::evaluate_pass(
            params,
            &self.chain,
            &mut self.tracker,
            crate::Pass {
                local: &self.id,
                own_view: &self.view,
                views: &self.views,
                messages: &self.messages,
                reports: &self.reports,
                known_mining: self.planner.mining_peers().len(),
            },
        );
        outcome.conflicts += decided.conflicts;
        let choice = decided.choice;
        match choice {
            ForkChoice::Keep => {}
            ForkChoice::Switch { head, reorg_depth } => {
                self.set_head(head.root)?;
                outcome.reorg_depth = reorg_depth;
            }
            ForkChoice::TooDeep { .. } => outcome.refused_reorgs += 1,
        }
        Ok(outcome)
    }

    pub(crate) fn start_pass(&mut self, now: u64) {
        self.planner.start_pass(now);
        self.views.clear();
        self.pass_started = now;
    }

    /// Whether the pass has enough answers and nothing more is coming: every
    /// peer asked, and all answered or the pass timed out.
    pub(crate) fn ready_to_vote(&self, now: u64) -> bool {
        self.planner.pass_complete()
            && self.planner.pass_exhausted()
            && (self.planner.outstanding() == 0 || self.pass_stalled(now))
    }

    /// Whether the pass has asked everyone and waited long enough without completing.
    pub(crate) fn pass_stalled(&self, now: u64) -> bool {
        self.planner.pass_exhausted() && now.saturating_sub(self.pass_started) >= self.pass_timeout
    }
}
