//! One simulated node: its chain, process A, and how it answers; process B
//! is the production [`VoteEngine`].

use std::collections::BTreeMap;

use cid::Cid;
use tau_ipld::{Blockstore, MemoryBlockstore};
use tau_keys::{Address, Keypair};
use tau_state::mempool::{Admission, HeadAccounts, Mempool};
use tau_state::{Executor, SignedTransaction, StateKey, Transaction, TxBody};

use super::transfer::missing_blocks;
use super::{state_error, Behaviour, SimConfig};
use crate::engine::{AnswerVerdict, CatchUp, PeerAnswer, VoteEngine};
use crate::planner::Mode;
use crate::Result;

/// Blocks a catch-up follows at most in the simulator.
const CATCH_UP_BLOCKS: u64 = 4096;

/// Balance an attacker writes into the invented state under a forged chain.
const FORGED_BALANCE: u64 = 1_000_000_000_000;

/// What an honest transfer moves, and its fee (above a flood's minimum fee).
const TRANSFER_AMOUNT: u64 = 1_000;
const TRANSFER_FEE: u64 = 10;

/// Transactions an ask carries at most (tau-node's head requests: 64).
const GOSSIP_TRANSACTIONS: usize = 64;

/// An honest node's transfers: one at a time to `receiver`, each pending
/// until this node's safety point includes it, the next one `every` seconds
/// later.
struct Transfers {
    every: u64,
    receiver: Address,
    /// The transfer waiting to be mined, as last signed.
    pending: Option<SignedTransaction>,
    next_at: u64,
}

pub(crate) struct SimNode {
    pub(crate) id: usize,
    key: Keypair,
    pub(crate) behaviour: Behaviour,
    chain: Executor<MemoryBlockstore>,
    pub(crate) engine: VoteEngine<usize>,
    /// An equivocator's sibling of its head.
    sibling: Option<Cid>,
    /// An attacker's private head (a chain it mines apart from the engine's).
    private: Option<Cid>,
    next_mine: Option<u64>,
    pub(crate) next_poll: u64,
    forgeries: u32,
    /// Other senders' transactions (kept by nodes that send transfers).
    pub(crate) mempool: Mempool,
    transfers: Option<Transfers>,
    /// Transfers sent (each once, however often re-signed).
    pub(crate) transfers_sent: usize,
    /// Own transfers included at this node's safety point, as signed.
    transfers_safe: Vec<SignedTransaction>,
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
pub(crate) struct IncomingAnswer {
    pub(crate) head: Cid,
    pub(crate) blocks: Vec<(Cid, Vec<u8>)>,
    pub(crate) seen: BTreeMap<usize, Cid>,
    pub(crate) safety: Option<Cid>,
    /// Peers the answerer shares.
    pub(crate) peers: Vec<usize>,
}

/// How a received answer ended, for the report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Verdict {
    Counted,
    Forgery,
    Future,
    Other,
}

impl SimNode {
    #[allow(clippy::too_many_arguments)] // one call site, all distinct roles
    pub(crate) fn new(
        id: usize,
        key: Keypair,
        behaviour: Behaviour,
        chain: Executor<MemoryBlockstore>,
        genesis: Cid,
        config: &SimConfig,
        addresses: Vec<Option<Address>>,
        peers: impl Iterator<Item = usize>,
        transfers: Option<(u64, Address)>,
    ) -> Result<Self> {
        let mut params = config.cbc.clone();
        params.pass_timeout = 4 * (config.poll_every + config.latency.1);
        let mut engine = VoteEngine::new(
            &chain,
            params,
            Mode::Mining,
            id,
            key.address(),
            Box::new(move |p: &usize| addresses.get(*p).copied().flatten()),
            genesis,
            genesis,
            None,
            0,
        )?;
        peers.for_each(|p| {
            engine.add_peer(p, 0);
        });
        engine.start_pass(0);
        let next_mine = match behaviour {
            Behaviour::Sybil | Behaviour::Flooder => None,
            _ => Some(
                chain
                    .eligibility(&genesis, &key.address())
                    .map_err(state_error)?
                    .earliest,
            ),
        };
        let private =
            matches!(behaviour, Behaviour::Lead | Behaviour::FutureMiner).then_some(genesis);
        Ok(Self {
            id,
            key,
            behaviour,
            chain,
            engine,
            sibling: None,
            private,
            next_mine,
            next_poll: (id as u64) % config.poll_every.max(1),
            forgeries: 0,
            mempool: Mempool::new(),
            transfers: transfers.map(|(every, receiver)| Transfers {
                every,
                receiver,
                pending: None,
                // Spread the first transfers over the first interval.
                next_at: (id as u64).wrapping_mul(7) % every.max(1),
            }),
            transfers_sent: 0,
            transfers_safe: Vec::new(),
        })
    }

    pub(crate) fn pass_timeout(&self) -> u64 {
        self.engine.params().pass_timeout
    }

    pub(crate) fn head(&self) -> Cid {
        self.private.unwrap_or_else(|| self.engine.head())
    }

    pub(crate) fn head_number(&self) -> u64 {
        self.engine.head_entry().number
    }

    pub(crate) fn safety_root(&self) -> Option<Cid> {
        self.engine.safety().map(|s| s.root)
    }

    pub(crate) fn safety_number(&self) -> Option<u64> {
        self.engine.safety().map(|s| s.number)
    }

    pub(crate) fn store(&self) -> &MemoryBlockstore {
        self.chain.store()
    }

    /// Whether this node runs process B (attackers that mine a private
    /// chain never vote or follow anyone).
    pub(crate) fn votes(&self) -> bool {
        self.private.is_none() && !matches!(self.behaviour, Behaviour::Sybil | Behaviour::Flooder)
    }

    pub(crate) fn address(&self) -> Address {
        self.key.address()
    }

    /// `address`'s nonce at this node's head.
    pub(crate) fn nonce_of(&self, address: &Address) -> Result<u64> {
        self.chain
            .nonce(&self.engine.head(), address)
            .map_err(state_error)
    }

    /// Every transfer this node sent, as last signed: those its safety
    /// point includes, then the pending one.
    pub(crate) fn transfers(&self) -> impl Iterator<Item = &SignedTransaction> {
        let pending = self.transfers.as_ref().and_then(|t| t.pending.as_ref());
        self.transfers_safe.iter().chain(pending)
    }

    /// Whether this node keeps a mempool (it sends transfers).
    pub(crate) fn keeps_mempool(&self) -> bool {
        self.transfers.is_some()
    }

    /// Whether the state `root` (on this node's chain) includes `tx`.
    pub(crate) fn holds(&self, root: &Cid, tx: &SignedTransaction) -> bool {
        self.chain
            .tx_output(root, &tx.tx.sender, tx.tx.nonce)
            .ok()
            .flatten()
            .is_some_and(|out| out.tx.is_some() && out.tx == tx.id().ok())
    }

    /// Offers peers' `transactions` to the mempool at `now`, against the head.
    pub(crate) fn admit(
        &mut self,
        transactions: Vec<SignedTransaction>,
        now: u64,
    ) -> Result<Vec<Admission>> {
        let head = self.engine.head();
        self.mempool
            .admit_at_head(transactions, &self.chain, &head, &self.key.address(), now)
            .map_err(state_error)
    }

    /// What an ask carries: the own pending transfer, then the mempool's
    /// transactions.
    pub(crate) fn gossip(&self) -> Vec<SignedTransaction> {
        let own = self.transfers.as_ref().and_then(|t| t.pending.clone());
        let room = GOSSIP_TRANSACTIONS.saturating_sub(usize::from(own.is_some()));
        own.into_iter()
            .chain(self.mempool.iter().take(room).cloned())
            .collect()
    }

    /// Before asking: notes the pending transfer once the safety point
    /// includes it; re-signs it if the head does not include it and its
    /// nonce went stale (this node mined, or a reorganization dropped it) or
    /// its date left the window; starts the next one when due (before
    /// `stop`). A transfer mined at the head but not yet safe is left alone
    /// (a reorganization may still drop it, then it is re-signed).
    pub(crate) fn tend_transfer(&mut self, now: u64, stop: u64) -> Result<()> {
        let Some(transfers) = &self.transfers else {
            return Ok(());
        };
        let head = self.engine.head();
        let me = self.key.address();
        let current = self.chain.nonce(&head, &me).map_err(state_error)?;
        let (every, receiver) = (transfers.every, transfers.receiver);
        let safe = |tx: &SignedTransaction| {
            self.safety_root()
                .is_some_and(|point| self.holds(&point, tx))
        };
        match transfers.pending.clone() {
            Some(tx) if safe(&tx) => {
                self.transfers_safe.push(tx);
                if let Some(t) = self.transfers.as_mut() {
                    t.pending = None;
                    t.next_at = now.saturating_add(every);
                }
            }
            Some(tx) if self.holds(&head, &tx) => {}
            Some(tx)
                if current >= tx.tx.nonce
                    || tx.tx.check_time(self.chain.params(), now).is_err() =>
            {
                let signed = self.sign_transfer(receiver, current.saturating_add(1), now)?;
                if let Some(t) = self.transfers.as_mut() {
                    t.pending = Some(signed);
                }
            }
            Some(_) => {}
            None if now >= transfers.next_at && now < stop => {
                let signed = self.sign_transfer(receiver, current.saturating_add(1), now)?;
                self.transfers_sent += 1;
                if let Some(t) = self.transfers.as_mut() {
                    t.pending = Some(signed);
                }
            }
            None => {}
        }
        Ok(())
    }

    fn sign_transfer(&self, receiver: Address, nonce: u64, now: u64) -> Result<SignedTransaction> {
        let params = self.chain.params();
        Transaction {
            version: params.version,
            chain_id: params.chain_id.clone(),
            sender: self.key.address(),
            nonce,
            timestamp: now,
            fee: TRANSFER_FEE,
            body: TxBody::Wiring {
                receiver,
                amount: TRANSFER_AMOUNT,
            },
            thread: None,
            profile: None,
        }
        .sign(&self.key)
        .map_err(state_error)
    }

    /// What a block on `previous` at `now` carries: the own pending transfer
    /// (re-signed after the nonce mining bumps) and the mempool's.
    fn pending_for_block(&mut self, previous: &Cid, now: u64) -> Result<Vec<SignedTransaction>> {
        let Some(transfers) = &self.transfers else {
            return Ok(Vec::new());
        };
        let receiver = transfers.receiver;
        let max = self.chain.params().max_block_transactions;
        let mut out = Vec::new();
        // Already in the chain it builds on: wait for it to become safe.
        let included = transfers
            .pending
            .as_ref()
            .is_some_and(|tx| self.holds(previous, tx));
        if transfers.pending.is_some() && !included {
            let nonce = self
                .chain
                .eligibility(previous, &self.key.address())
                .map_err(state_error)?
                .nonce;
            let signed = self.sign_transfer(receiver, nonce.saturating_add(2), now)?;
            if let Some(t) = self.transfers.as_mut() {
                t.pending = Some(signed.clone());
            }
            out.push(signed);
        }
        let room = max.saturating_sub(out.len());
        out.extend(self.mempool.for_block(self.chain.params(), now, room));
        Ok(out)
    }

    fn after_head_change(&mut self, now: u64) -> Result<()> {
        self.sibling = None;
        if self.transfers.is_some() {
            let head = self.engine.head();
            let accounts = HeadAccounts {
                chain: &self.chain,
                head: &head,
            };
            self.mempool.prune(self.chain.params(), &accounts, now);
        }
        self.next_mine = Some(
            self.chain
                .eligibility(&self.engine.head(), &self.key.address())
                .map_err(state_error)?
                .earliest,
        );
        Ok(())
    }

    /// Mines when its Proof-of-Transaction allows; returns the new states
    /// (two for an equivocator) as (root, number, previous).
    pub(crate) fn maybe_mine(&mut self, now: u64) -> Result<Option<Vec<Mined>>> {
        if let Some(private) = self.private {
            return self.mine_private(private, now);
        }
        if self.next_mine.is_none_or(|t| now < t) {
            return Ok(None);
        }
        let previous = self.engine.head();
        let pending = self.pending_for_block(&previous, now)?;
        let produced = self
            .chain
            .produce_next_state(&previous, &self.key, &pending, now)
            .map_err(state_error)?;
        let number = produced.block.number();
        let mut mined = vec![(produced.root, number, Some(previous))];
        self.engine.adopt_own(&self.chain, produced.root, now)?;
        self.after_head_change(now)?;
        if self.behaviour == Behaviour::Equivocator {
            let twin = self
                .chain
                .produce_next_state(&previous, &self.key, &[], now + 1)
                .map_err(state_error)?;
            mined.push((twin.root, number, Some(previous)));
            self.sibling = Some(twin.root);
        }
        Ok(Some(mined))
    }

    /// An attacker's private chain: a lead mines at its eligibility once the
    /// clock is there; a future miner mints a block every second dated at
    /// its eligibility, however far ahead of the clock that is.
    fn mine_private(&mut self, head: Cid, now: u64) -> Result<Option<Vec<Mined>>> {
        let earliest = self
            .chain
            .eligibility(&head, &self.key.address())
            .map_err(state_error)?
            .earliest;
        if self.behaviour != Behaviour::FutureMiner && now < earliest {
            return Ok(None);
        }
        let produced = self
            .chain
            .produce_next_state(&head, &self.key, &[], earliest.max(now))
            .map_err(state_error)?;
        self.private = Some(produced.root);
        // Only states that extend a validly mined one are "mined" for the
        // observer: a chain over an invented state is not.
        let number = produced.block.number();
        Ok(Some(vec![(produced.root, number, Some(head))]))
    }

    /// Forged-bottom attack: takes `honest`'s head H, writes a huge balance
    /// for itself into H's state (the block under it still claims H's
    /// previous state, which honest nodes validated) and mines on that
    /// invented state from then on.
    pub(crate) fn forge_bottom(&mut self, honest: &SimNode) -> Result<Cid> {
        let head = honest.engine.head();
        let blocks = missing_blocks(honest.store(), self.store(), &head);
        self.chain
            .store()
            .put_many_keyed(&blocks)
            .map_err(|e| state_error(e.into()))?;
        let mut state = self.chain.state(&head).map_err(state_error)?;
        state
            .set(&StateKey::Balance(self.key.address()), &FORGED_BALANCE)
            .map_err(state_error)?;
        let invented = state.flush().map_err(state_error)?;
        self.private = Some(invented);
        Ok(invented)
    }

    /// The timestamp of the block that produced `root`, if stored.
    pub(crate) fn store_block_timestamp(&self, root: &Cid) -> Option<u64> {
        self.chain.block(root).ok().map(|b| b.timestamp())
    }

    /// This node's answer to `asker`; `None`: it does not answer (an honest
    /// node without a safety point within the mutable range).
    pub(crate) fn answer(&mut self, asker: &SimNode, confirmations: u64) -> Result<Option<Answer>> {
        let head = match self.behaviour {
            Behaviour::Honest | Behaviour::Withholder => {
                if self.behaviour == Behaviour::Honest && !self.engine.answers_requests() {
                    return Ok(None);
                }
                self.engine.head()
            }
            Behaviour::Equivocator => match self.sibling {
                Some(twin) if asker.id % 2 == 1 => twin,
                _ => self.engine.head(),
            },
            Behaviour::Forger => self.forge()?,
            Behaviour::Lead | Behaviour::FutureMiner => self.head(),
            // A sybil answers with what its lead gives it (see `Simulation`).
            Behaviour::Sybil | Behaviour::Flooder => return Ok(None),
        };
        let blocks = if self.behaviour == Behaviour::Withholder {
            Vec::new()
        } else {
            missing_blocks(self.chain.store(), asker.chain.store(), &head)
        };
        let safety = match self.behaviour {
            Behaviour::Honest => self.safety_root(),
            // A lead claims a deep entry of its chain safe, for its sybils
            // to endorse; other byzantine nodes claim their head.
            Behaviour::Lead => self.ancestor(head, confirmations + 1),
            _ => Some(head),
        };
        Ok(Some(Answer {
            head,
            blocks,
            safety,
        }))
    }

    /// The state `depth` blocks below `root` on this node's chain, if stored.
    fn ancestor(&self, root: Cid, depth: u64) -> Option<Cid> {
        let mut cursor = root;
        for _ in 0..depth {
            cursor = self.chain.block(&cursor).ok()?.unsigned.previous?;
        }
        Some(cursor)
    }

    /// A forged state on top of the head: wrong state root, bad signature or
    /// invalid Proof-of-Transaction, in turn.
    fn forge(&mut self) -> Result<Cid> {
        self.forgeries += 1;
        let chain = &self.chain;
        let head = self.engine.head();
        let block = chain.block(&head).map_err(state_error)?;
        let mut state = chain.state(&head).map_err(state_error)?;
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
                    .put(tau_ipld::block::DAG_CBOR, &bytes)
                    .map_err(|e| state_error(e.into()))?;
                state
                    .set(&StateKey::Contract(chain.params().chain_id.clone()), &cid)
                    .map_err(state_error)?;
            }
        }
        state.flush().map_err(state_error)
    }

    /// Takes an answer from `peer`.
    pub(crate) fn receive(
        &mut self,
        peer: usize,
        answer: IncomingAnswer,
        now: u64,
    ) -> Result<Verdict> {
        let IncomingAnswer {
            head,
            blocks,
            seen,
            safety,
            peers,
        } = answer;
        if self.engine.is_marked(&peer) {
            return Ok(Verdict::Other);
        }
        for other in peers {
            self.engine.add_peer(other, now);
        }
        self.chain
            .store()
            .put_many_keyed(&blocks)
            .map_err(|e| state_error(e.into()))?;
        let answer = PeerAnswer {
            head,
            safety,
            seen,
            mining: true,
        };
        Ok(
            match self.engine.receive(&self.chain, &peer, &answer, now) {
                AnswerVerdict::Counted => Verdict::Counted,
                AnswerVerdict::Forged(_) => Verdict::Forgery,
                AnswerVerdict::Future(_) => Verdict::Future,
                AnswerVerdict::CatchUp => {
                    // Every block came with the answer: one step decides.
                    match self
                        .engine
                        .catch_up(&self.chain, &peer, head, CATCH_UP_BLOCKS, now)?
                    {
                        CatchUp::Adopted { .. } => {
                            self.after_head_change(now)?;
                            Verdict::Counted
                        }
                        CatchUp::Forged(_) => Verdict::Forgery,
                        CatchUp::Missing(_) | CatchUp::Refused(_) => Verdict::Other,
                    }
                }
                AnswerVerdict::Missing(_) | AnswerVerdict::Ignored => Verdict::Other,
            },
        )
    }

    /// Votes on this pass's views, updates the safety point and follows the best chain.
    pub(crate) fn evaluate(&mut self, now: u64) -> Result<Outcome> {
        let previous_safety = self.safety_root();
        let evaluation = self.engine.evaluate(&self.chain, now)?;
        if evaluation.head.is_some() {
            self.after_head_change(now)?;
        }
        Ok(Outcome {
            previous_safety,
            conflicts: evaluation.conflicts,
            refused_reorgs: usize::from(evaluation.refused_reorg),
            reorg_depth: evaluation.reorg_depth,
        })
    }
}
