//! [`Executor`]: a store and the chain's parameters, with the operations of
//! a TAU chain (genesis, execution, validation, queries). It holds no head:
//! every operation is given the state root it works on.

use cid::Cid;
use tau_hamt::Proof;
use tau_ipld::block::DAG_CBOR;
use tau_ipld::Blockstore;
use tau_keys::{Address, Keypair};

use crate::attachments_log::{self, ServiceRecord};
use crate::block::{decode_transactions, encode_transactions, Block, UnsignedBlock};
use crate::execute::{self, Eligibility, Mode, Skipped};
use crate::genesis::Genesis;
use crate::overlay::Overlay;
use crate::params::Params;
use crate::pot;
use crate::record::TxOutput;
use crate::state::{load_block, store_block, State};
use crate::state_key::StateKey;
use crate::tx::SignedTransaction;
use crate::warm::{WarmState, DEFAULT_WARM_STATE_NODES};
use crate::{Error, Result};

/// The result of [`Executor::produce_next_state`].
#[derive(Debug, Clone)]
pub struct Produced {
    /// The new state root.
    pub root: Cid,
    /// The CID of the new block (stored, and held under the contract key).
    pub block_cid: Cid,
    /// The new block.
    pub block: Block,
    /// The transactions applied, in order (stored under `block.unsigned.transactions`).
    pub transactions: Vec<SignedTransaction>,
    /// Pending transactions that were not applied, and why.
    pub skipped: Vec<Skipped>,
    /// Bytes of new blocks written to the store (state nodes and the block).
    pub bytes_written: usize,
}

/// The rules of a TAU chain executed over a block store: genesis, block
/// production (process A), validation, history and wallet queries. It holds
/// no head (the caller passes the state root of each operation; fork choice
/// is tau-cbc's). Pure: the clock is an argument.
///
/// The executor keeps the decoded HAMT of the state it last produced or
/// validated (its *warm head state*, bounded by
/// [`with_warm_state_nodes`](Executor::with_warm_state_nodes)), so the next
/// block built or validated on that state does not read, re-hash and decode
/// the same nodes again. It changes no result: roots and blocks are the ones
/// an executor without it computes. A clone starts without it.
#[derive(Debug, Clone)]
pub struct Executor<BS> {
    store: BS,
    params: Params,
    warm: WarmState,
}

impl<BS: Blockstore> Executor<BS> {
    /// An executor over `store` with `params` (checked with [`Params::validate`]),
    /// keeping a warm head state of at most [`DEFAULT_WARM_STATE_NODES`].
    pub fn new(store: BS, params: Params) -> Result<Self> {
        params.validate()?;
        Ok(Self {
            store,
            params,
            warm: WarmState::new(DEFAULT_WARM_STATE_NODES),
        })
    }

    /// The same chain rules over another store (e.g. a
    /// [`Quarantine`](tau_ipld::Quarantine) in front of this one, to validate
    /// a peer's blocks without keeping them), with a warm state of the same
    /// bound, empty.
    pub fn with_store<S: Blockstore>(&self, store: S) -> Executor<S> {
        Executor {
            store,
            params: self.params.clone(),
            warm: WarmState::new(self.warm.max_nodes()),
        }
    }

    /// Bounds the warm head state to `max_nodes` decoded HAMT nodes: a state
    /// holding more after a block keeps only its root node decoded. Zero
    /// turns it off (every block reads its previous state from the store).
    pub fn with_warm_state_nodes(self, max_nodes: usize) -> Self {
        Self {
            warm: WarmState::new(max_nodes),
            ..self
        }
    }

    /// The bound set by [`with_warm_state_nodes`](Executor::with_warm_state_nodes).
    pub fn warm_state_nodes(&self) -> usize {
        self.warm.max_nodes()
    }

    /// The warm head state if it holds `root`, and an upper bound of its
    /// decoded nodes (0 without it): every node the execution decodes or
    /// creates is read from or written to its overlay, so the bound after the
    /// execution is this plus the overlay's count.
    fn take_warm(&self, root: &Cid) -> (Option<tau_hamt::CachedTree>, usize) {
        match self.warm.take(root) {
            Some(held) => (Some(held.tree), held.at_most),
            None => (None, 0),
        }
    }

    /// The root of the warm head state and how many decoded nodes it holds,
    /// if the executor holds one.
    pub fn warm_state(&self) -> Option<(Cid, usize)> {
        self.warm.held()
    }

    /// The parameters.
    pub fn params(&self) -> &Params {
        &self.params
    }

    /// The store.
    pub fn store(&self) -> &BS {
        &self.store
    }

    /// Creates the genesis state: the allocations and block 0, signed by `creator`.
    /// Returns the genesis state root and block.
    pub fn genesis(&self, genesis: &Genesis, creator: &Keypair) -> Result<(Cid, Block)> {
        genesis
            .total_supply()
            .ok_or(Error::Overflow("genesis supply"))?;
        let overlay = Overlay::new(&self.store);
        let mut state = State::empty(&overlay, &self.params);
        let no_transactions = overlay.put(DAG_CBOR, &encode_transactions(&[])?)?;
        for (address, balance) in genesis.allocations() {
            state.set(&StateKey::Balance(*address), balance)?;
        }
        let block = UnsignedBlock {
            version: self.params.version,
            chain_id: self.params.chain_id.clone(),
            number: 0,
            previous: None,
            timestamp: genesis.timestamp(),
            base_target: self.params.genesis_base_target,
            cumulative_difficulty: 0,
            generation_signature: pot::genesis_generation_signature(&self.params.chain_id),
            miner: creator.address(),
            miner_nonce: 0,
            transactions: no_transactions,
            attachments_log: None,
        }
        .sign(creator)?;
        let cid = store_block(&overlay, &block)?;
        state.set(&StateKey::Contract(self.params.chain_id.clone()), &cid)?;
        let root = state.flush()?;
        let tree = state.into_cached_tree();
        let at_most = overlay.touched();
        overlay.commit()?;
        self.warm.keep(tree, at_most);
        Ok((root, block))
    }

    /// When `miner` may mine on `root`, and with which generation signature.
    pub fn eligibility(&self, root: &Cid, miner: &Address) -> Result<Eligibility> {
        let state = State::load(&self.store, &self.params, root)?;
        let (_, previous) = state
            .block()?
            .ok_or_else(|| Error::NotAChainState(Box::new(*root)))?;
        execute::eligibility(&state, &self.params, &previous, miner)
    }

    /// Process A: the next state after `previous_root`, mined by `miner` at
    /// `now` with as many of `pending` as are valid (the others are skipped and
    /// reported). Bumps the miner's nonce, applies the transactions, credits
    /// the fees to the miner (coinbase, opt 0), writes the block under the
    /// contract key and stores all new blocks in one batch.
    ///
    /// The miner's nonce goes up before the transactions apply, so a
    /// transaction the miner itself sends in this block carries nonce + 2.
    ///
    /// Fails with [`Error::TooEarly`] if the miner's Proof-of-Transaction does
    /// not allow a block at `now` yet (see [`eligibility`](Self::eligibility)).
    pub fn produce_next_state(
        &self,
        previous_root: &Cid,
        miner: &Keypair,
        pending: &[SignedTransaction],
        now: u64,
    ) -> Result<Produced> {
        self.produce_next_state_with_log(previous_root, miner, pending, &[], now)
    }

    /// [`produce_next_state`](Self::produce_next_state), with the attachment
    /// log of the downloads the miner served since its previous block: stored
    /// as a block, linked from the new block and written under
    /// `<miner><miner nonce>AttachmentsLog`. Fails with
    /// [`Error::BadAttachmentsLog`] for more than
    /// `Params::max_attachments_log_records` records or one dated after `now`.
    pub fn produce_next_state_with_log(
        &self,
        previous_root: &Cid,
        miner: &Keypair,
        pending: &[SignedTransaction],
        log: &[ServiceRecord],
        now: u64,
    ) -> Result<Produced> {
        let overlay = Overlay::new(&self.store);
        let (warm, held) = self.take_warm(previous_root);
        let draft = execute::draft(
            &overlay,
            warm,
            &self.params,
            previous_root,
            &miner.address(),
            now,
            pending,
            Mode::Lenient,
        )?;
        let execute::Draft {
            mut state,
            mut unsigned,
            transactions,
            skipped,
        } = draft;
        unsigned.attachments_log = attachments_log::write(
            &mut state,
            &self.params,
            &unsigned.miner,
            unsigned.miner_nonce,
            unsigned.timestamp,
            log,
        )?;
        let block = unsigned.sign(miner)?;
        let block_cid = store_block(&overlay, &block)?;
        state.set(
            &StateKey::Contract(self.params.chain_id.clone()),
            &block_cid,
        )?;
        let root = state.flush()?;
        let tree = state.into_cached_tree();
        let at_most = held.saturating_add(overlay.touched());
        let bytes_written = overlay.commit()?;
        // Committed: the new root's blocks are all in the store.
        self.warm.keep(tree, at_most);
        Ok(Produced {
            root,
            block_cid,
            block,
            transactions,
            skipped,
            bytes_written,
        })
    }

    /// Checks that `new_root` is a valid next state of `previous_root`: the
    /// block under its contract key builds on `previous_root`, is signed by its
    /// miner, carries the Proof-of-Transaction fields re-computation gives, and
    /// re-executing its transactions on `previous_root` yields exactly
    /// `new_root` (with its attachment log, if any, checked and written under
    /// the miner's `AttachmentsLog` key). Writes nothing to the store.
    /// Returns the block.
    pub fn validate_block(&self, previous_root: &Cid, new_root: &Cid) -> Result<Block> {
        let overlay = Overlay::new(&self.store);
        let new_state = State::load(&overlay, &self.params, new_root)?;
        let (block_cid, block) = new_state
            .block()?
            .ok_or_else(|| Error::NotAChainState(Box::new(*new_root)))?;
        drop(new_state);
        if block.unsigned.previous != Some(*previous_root) {
            return Err(Error::WrongPrevious {
                expected: Box::new(*previous_root),
                found: block.unsigned.previous.map(Box::new),
            });
        }
        block.verify_signature()?;
        let claimed = &block.unsigned;
        check_field("chain_id", &self.params.chain_id, &claimed.chain_id)?;
        check_field("version", &self.params.version, &claimed.version)?;
        let transactions = self.transactions(&block)?;
        if transactions.len() > self.params.max_block_transactions {
            return Err(Error::TooManyTransactions {
                count: transactions.len(),
                max: self.params.max_block_transactions,
            });
        }
        let (warm, held) = self.take_warm(previous_root);
        let draft = execute::draft(
            &overlay,
            warm,
            &self.params,
            previous_root,
            &claimed.miner,
            claimed.timestamp,
            &transactions,
            Mode::Strict,
        )?;
        let computed = &draft.unsigned;
        check_field("number", &computed.number, &claimed.number)?;
        check_field("base_target", &computed.base_target, &claimed.base_target)?;
        check_field(
            "cumulative_difficulty",
            &computed.cumulative_difficulty,
            &claimed.cumulative_difficulty,
        )?;
        check_field(
            "generation_signature",
            &computed.generation_signature,
            &claimed.generation_signature,
        )?;
        check_field("miner_nonce", &computed.miner_nonce, &claimed.miner_nonce)?;
        check_field(
            "transactions",
            &computed.transactions,
            &claimed.transactions,
        )?;
        let mut state = draft.state;
        if let Some(log) = &claimed.attachments_log {
            attachments_log::load(&overlay, &self.params, log, claimed.timestamp)?;
            state.set(
                &StateKey::AttachmentsLog(claimed.miner, claimed.miner_nonce),
                log,
            )?;
        }
        state.set(
            &StateKey::Contract(self.params.chain_id.clone()),
            &block_cid,
        )?;
        let root = state.flush()?;
        if root != *new_root {
            return Err(Error::StateRootMismatch {
                claimed: Box::new(*new_root),
                computed: Box::new(root),
            });
        }
        // Nothing is written, so the tree is kept only if the store already
        // holds every node it computed (it does when it holds all of `new_root`).
        // (A store that cannot answer just leaves the chain without it.)
        let tree = state.into_cached_tree();
        if matches!(overlay.all_in_base(), Ok(true)) {
            self.warm.keep(tree, held.saturating_add(overlay.touched()));
        }
        Ok(block)
    }

    /// [`validate_block`](Self::validate_block), and the block may not be
    /// dated more than `Params::max_drift` after `now`.
    pub fn validate_block_at(
        &self,
        previous_root: &Cid,
        new_root: &Cid,
        now: u64,
    ) -> Result<Block> {
        let block = self.block(new_root)?;
        if block.timestamp() > now.saturating_add(self.params.max_drift) {
            return Err(Error::FutureBlock {
                timestamp: block.timestamp(),
                now,
            });
        }
        self.validate_block(previous_root, new_root)
    }

    /// The block that produced the state `root`.
    pub fn block(&self, root: &Cid) -> Result<Block> {
        let state = State::load(&self.store, &self.params, root)?;
        let cid = state
            .block_cid()?
            .ok_or_else(|| Error::NotAChainState(Box::new(*root)))?;
        load_block(&self.store, &cid)
    }

    /// The transactions of `block`, loaded from the store (verified against
    /// their CID) and decoded.
    pub fn transactions(&self, block: &Block) -> Result<Vec<SignedTransaction>> {
        let cid = block.unsigned.transactions;
        let bytes = self
            .store
            .get(&cid)?
            .ok_or_else(|| Error::MissingBlock(Box::new(cid)))?;
        decode_transactions(&bytes)
    }

    /// The states from `root` back along previous-state-root links, newest
    /// first: at most `depth` of them, fewer if genesis comes first.
    pub fn history(&self, root: &Cid, depth: usize) -> Result<Vec<(Cid, Block)>> {
        let mut out = Vec::new();
        let mut next = Some(*root);
        while let Some(root) = next {
            if out.len() == depth {
                break;
            }
            let block = self.block(&root)?;
            next = block.unsigned.previous;
            out.push((root, block));
        }
        Ok(out)
    }

    /// Like [`history`](Self::history), but ends where the store no longer
    /// holds a state (a node's garbage collection keeps only the mutable
    /// range below its safety point) instead of failing; only `root` itself
    /// must be readable.
    pub fn available_history(&self, root: &Cid, depth: usize) -> Result<Vec<(Cid, Block)>> {
        let mut out = Vec::new();
        self.walk_available(root, depth, |root, block| {
            out.push((root, block));
            std::ops::ControlFlow::<()>::Continue(())
        })?;
        Ok(out)
    }

    /// Visits the states from `root` back, newest first, at most `depth` of
    /// them, until `visit` breaks (its value is returned), ending where the
    /// store no longer holds a state, as
    /// [`available_history`](Self::available_history) does.
    pub fn walk_available<B>(
        &self,
        root: &Cid,
        depth: usize,
        mut visit: impl FnMut(Cid, Block) -> std::ops::ControlFlow<B>,
    ) -> Result<Option<B>> {
        let mut next = Some(*root);
        let mut walked = 0;
        while let Some(root) = next {
            if walked == depth {
                break;
            }
            let block = match self.block(&root) {
                Ok(block) => block,
                Err(_) if walked > 0 => break,
                Err(e) => return Err(e),
            };
            next = block.unsigned.previous;
            walked += 1;
            if let std::ops::ControlFlow::Break(found) = visit(root, block) {
                return Ok(Some(found));
            }
        }
        Ok(None)
    }

    /// The state at `root`, for typed reads.
    pub fn state(&self, root: &Cid) -> Result<State<&BS>> {
        State::load(&self.store, &self.params, root)
    }

    /// Balance of `address` at `root` (`None`: no account).
    pub fn balance(&self, root: &Cid, address: &Address) -> Result<Option<u64>> {
        self.state(root)?.balance(address)
    }

    /// Nonce of `address` at `root`.
    pub fn nonce(&self, root: &Cid, address: &Address) -> Result<u64> {
        self.state(root)?.nonce(address)
    }

    /// The output of `address`'s transaction `nonce` at `root`.
    pub fn tx_output(&self, root: &Cid, address: &Address, nonce: u64) -> Result<Option<TxOutput>> {
        self.state(root)?.tx_output(address, nonce)
    }

    /// The attachment log `address` wrote with its mining nonce `nonce`, as
    /// the state at `root` holds it (`None`: no log under that nonce).
    pub fn attachments_log(
        &self,
        root: &Cid,
        address: &Address,
        nonce: u64,
    ) -> Result<Option<Vec<ServiceRecord>>> {
        let state = self.state(root)?;
        let Some(cid) = state.get::<Cid>(&StateKey::AttachmentsLog(*address, nonce))? else {
            return Ok(None);
        };
        let bytes = self
            .store
            .get(&cid)?
            .ok_or_else(|| Error::MissingBlock(Box::new(cid)))?;
        Ok(Some(attachments_log::decode_attachments_log(&bytes)?))
    }

    /// Every attachment log of `address` in the state at `root`, oldest
    /// first (one key lookup per nonce of the account).
    pub fn attachments_logs(&self, root: &Cid, address: &Address) -> Result<Vec<ServiceRecord>> {
        let nonce = self.nonce(root, address)?;
        let mut out = Vec::new();
        for n in 1..=nonce {
            if let Some(records) = self.attachments_log(root, address, n)? {
                out.extend(records);
            }
        }
        Ok(out)
    }

    /// A Merkle proof of `key`'s value (or absence) at `root`, checkable with
    /// [`verify_proof`](crate::verify_proof) and nothing but the root.
    pub fn prove(&self, root: &Cid, key: &StateKey) -> Result<Proof> {
        Ok(tau_hamt::prove(
            &self.store,
            root,
            &key.to_bytes(),
            &self.params.hamt,
        )?)
    }
}

fn check_field<T: PartialEq + std::fmt::Debug>(
    field: &'static str,
    expected: &T,
    found: &T,
) -> Result<()> {
    if expected == found {
        Ok(())
    } else {
        Err(Error::WrongField {
            field,
            expected: format!("{expected:?}"),
            found: format!("{found:?}"),
        })
    }
}
