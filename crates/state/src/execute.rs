//! Block execution (process A): applying transactions to a state.
//!
//! One function, [`draft`], computes a block's header fields and applies its
//! transactions on the previous state. Producing a block calls it leniently
//! (invalid transactions are skipped and reported); validating a block calls
//! it strictly (any invalid transaction fails the block), so both sides run
//! exactly the same rules.

use cid::Cid;
use tau_ipld::Blockstore;
use tau_keys::Address;

use crate::block::{Block, UnsignedBlock};
use crate::digest::Digest;
use crate::error::TxError;
use crate::params::Params;
use crate::pot;
use crate::record::TxOutput;
use crate::state::State;
use crate::state_key::StateKey;
use crate::tx::{OptCode, SignedTransaction, TxBody};
use crate::tx_list::{TxHashes, TxList};
use crate::{Error, Result};

/// A pending transaction that was not applied, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Skipped {
    /// Position in the pending list given to the producer.
    pub index: usize,
    /// Why it was skipped.
    pub reason: TxError,
}

/// How [`draft`] treats an invalid transaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mode {
    /// Skip it and report it (block production).
    Lenient,
    /// Fail the block (validation).
    Strict,
}

/// What the Proof-of-Transaction allows a miner on a state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Eligibility {
    /// The earliest timestamp the miner's block may carry.
    pub earliest: u64,
    /// The miner's generation signature for the next block.
    pub generation_signature: Digest,
    /// The miner's nonce before the block.
    pub nonce: u64,
}

/// The miner's Proof-of-Transaction on the state whose block is `previous`.
pub(crate) fn eligibility<BS: Blockstore>(
    state: &State<BS>,
    params: &Params,
    previous: &Block,
    miner: &Address,
) -> Result<Eligibility> {
    if state.balance(miner)?.is_none() {
        return Err(Error::UnknownMiner(*miner));
    }
    let nonce = state.nonce(miner)?;
    let prev = &previous.unsigned;
    let generation_signature = pot::generation_signature(&prev.generation_signature, miner);
    let interval = pot::required_interval(
        params,
        pot::hit(&generation_signature),
        prev.base_target,
        pot::real_power(nonce),
    );
    let earliest = prev
        .timestamp
        .checked_add(interval)
        .ok_or(Error::Overflow("timestamp"))?;
    Ok(Eligibility {
        earliest,
        generation_signature,
        nonce,
    })
}

/// The timestamp of the block `window` blocks before `previous`, if the chain
/// is that long.
fn ancestor_time<BS: Blockstore>(
    store: &BS,
    params: &Params,
    previous: &Block,
) -> Result<Option<u64>> {
    if previous.number() < params.adjust_window {
        return Ok(None);
    }
    let mut block = previous.clone();
    for _ in 0..params.adjust_window {
        let Some(root) = block.unsigned.previous else {
            return Ok(None);
        };
        let state = State::load(store, params, &root)?;
        block = state
            .block()?
            .ok_or_else(|| Error::NotAChainState(Box::new(root)))?
            .1;
    }
    Ok(Some(block.timestamp()))
}

/// A block's content computed on the previous state, and the state with its
/// transactions applied (contract key not yet written).
pub(crate) struct Draft<S> {
    pub(crate) state: State<S>,
    pub(crate) unsigned: UnsignedBlock,
    pub(crate) transactions: Vec<SignedTransaction>,
    pub(crate) skipped: Vec<Skipped>,
}

/// Computes the block `miner` makes at `timestamp` on `previous_root` with
/// `transactions`, applying them to the state (which starts from `warm`'s
/// decoded nodes if it holds `previous_root`).
#[allow(clippy::too_many_arguments)]
pub(crate) fn draft<BS: Blockstore>(
    store: BS,
    warm: Option<tau_hamt::CachedTree>,
    params: &Params,
    previous_root: &Cid,
    miner: &Address,
    timestamp: u64,
    transactions: &[SignedTransaction],
    mode: Mode,
) -> Result<Draft<BS>> {
    let mut state = State::load_warm(store, params, previous_root, warm)?;
    let (_, previous) = state
        .block()?
        .ok_or_else(|| Error::NotAChainState(Box::new(*previous_root)))?;
    let pot = eligibility(&state, params, &previous, miner)?;
    if timestamp < pot.earliest {
        return Err(Error::TooEarly {
            timestamp,
            earliest: pot.earliest,
        });
    }
    if mode == Mode::Strict && transactions.len() > params.max_block_transactions {
        return Err(Error::TooManyTransactions {
            count: transactions.len(),
            max: params.max_block_transactions,
        });
    }
    let prev = &previous.unsigned;
    let number = prev
        .number
        .checked_add(1)
        .ok_or(Error::Overflow("number"))?;
    let ancestor = ancestor_time(state.store(), params, &previous)?;
    let base_target = pot::next_base_target(
        params,
        prev.base_target,
        prev.timestamp,
        ancestor,
        timestamp,
    );
    let cumulative_difficulty = prev
        .cumulative_difficulty
        .checked_add(pot::difficulty(base_target))
        .ok_or(Error::Overflow("cumulative difficulty"))?;

    // Mining is a transaction to self: the miner's nonce goes up first.
    let miner_nonce = pot.nonce.checked_add(1).ok_or(Error::Overflow("nonce"))?;
    state.set(&StateKey::Nonce(*miner), &miner_nonce)?;

    let context = Context {
        params,
        number,
        timestamp,
    };
    let mut applied = Vec::with_capacity(transactions.len());
    let mut list = TxList::with_capacity(transactions.len());
    let mut skipped = Vec::new();
    let mut fees: u64 = 0;
    for (index, signed) in transactions.iter().enumerate() {
        if applied.len() == params.max_block_transactions {
            skipped.push(Skipped {
                index,
                reason: TxError::BlockFull,
            });
            continue;
        }
        let hashes = list
            .append(signed)
            .map_err(|e| TxError::Encode(e.to_string()));
        match apply(&mut state, &context, signed, hashes)? {
            Ok(()) => {
                list.keep();
                fees = fees
                    .checked_add(signed.tx.fee)
                    .ok_or(Error::Overflow("fees"))?;
                applied.push(signed.clone());
            }
            Err(reason) if mode == Mode::Lenient => skipped.push(Skipped { index, reason }),
            Err(reason) => return Err(Error::InvalidTransaction { index, reason }),
        }
    }

    // Coinbase (opt 0): the fees go to the miner, recorded under its new nonce.
    let miner_balance = state.balance(miner)?.unwrap_or(0);
    let credited = miner_balance
        .checked_add(fees)
        .ok_or(Error::Overflow("miner balance"))?;
    state.set(&StateKey::Balance(*miner), &credited)?;
    state.set(
        &StateKey::TxOutput(*miner, miner_nonce),
        &TxOutput {
            opt_code: OptCode::Coinbase,
            block_number: number,
            block_time: timestamp,
            amount: fees,
            fee: 0,
            counterparty: None,
            tx: None,
            message: None,
            attachment: None,
        },
    )?;

    let transactions = state
        .store()
        .put(tau_ipld::block::DAG_CBOR, &list.finish())?;
    let unsigned = UnsignedBlock {
        version: params.version,
        chain_id: params.chain_id.clone(),
        number,
        previous: Some(*previous_root),
        timestamp,
        base_target,
        cumulative_difficulty,
        generation_signature: pot.generation_signature,
        miner: *miner,
        miner_nonce,
        transactions,
        attachments_log: None,
    };
    Ok(Draft {
        state,
        unsigned,
        transactions: applied,
        skipped,
    })
}

struct Context<'p> {
    params: &'p Params,
    number: u64,
    timestamp: u64,
}

/// Applies one transaction. The outer `Result` is a store failure (fatal);
/// the inner one says why the transaction is invalid, in which case the state
/// is unchanged.
///
/// `hashes` are the transaction's signed digest and id, computed from its
/// one encoding (see [`TxList`]): the signature is recovered once, here.
fn apply<BS: Blockstore>(
    state: &mut State<BS>,
    cx: &Context<'_>,
    signed: &SignedTransaction,
    hashes: std::result::Result<TxHashes, TxError>,
) -> Result<std::result::Result<(), TxError>> {
    let tx = &signed.tx;
    let checked = tx
        .check_static(cx.params)
        .and_then(|()| tx.check_time(cx.params, cx.timestamp))
        .and(hashes)
        .and_then(|hashes| {
            tau_keys::verify(
                hashes.signing_digest.as_bytes(),
                &signed.signature,
                &tx.sender,
            )?;
            Ok(hashes)
        });
    let hashes = match checked {
        Ok(hashes) => hashes,
        Err(e) => return Ok(Err(e)),
    };
    let sender = tx.sender;
    // Each key read here is written below: its HAMT index is hashed once.
    let nonce_slot = state.slot(StateKey::Nonce(sender))?;
    let expected = state
        .get_slot::<u64>(&nonce_slot)?
        .unwrap_or(0)
        .saturating_add(1);
    if tx.nonce != expected {
        return Ok(Err(TxError::WrongNonce {
            sender,
            expected,
            found: tx.nonce,
        }));
    }
    let balance_slot = state.slot(StateKey::Balance(sender))?;
    let balance = state.get_slot::<u64>(&balance_slot)?.unwrap_or(0);
    let amount = tx.body.amount();
    let needed = amount.checked_add(tx.fee);
    let Some(needed) = needed.filter(|n| *n <= balance) else {
        return Ok(Err(TxError::InsufficientBalance {
            sender,
            balance,
            needed: needed.unwrap_or(u64::MAX),
        }));
    };
    // Credit the receiver before touching the sender, so an overflow leaves
    // the state unchanged.
    let mut output = TxOutput {
        opt_code: tx.body.opt_code(),
        block_number: cx.number,
        block_time: cx.timestamp,
        amount,
        fee: tx.fee,
        counterparty: None,
        tx: None,
        message: None,
        attachment: None,
    };
    match &tx.body {
        TxBody::Wiring { receiver, .. } if *receiver != sender => {
            let receiver_slot = state.slot(StateKey::Balance(*receiver))?;
            let current = state.get_slot::<u64>(&receiver_slot)?.unwrap_or(0);
            let Some(credited) = current.checked_add(amount) else {
                return Ok(Err(TxError::Overflow));
            };
            state.set_slot(&receiver_slot, &credited)?;
            state.set_slot(&balance_slot, &(balance - needed))?;
            output.counterparty = Some(*receiver);
        }
        TxBody::Wiring { receiver, .. } => {
            // To self: only the fee leaves.
            state.set_slot(&balance_slot, &(balance - tx.fee))?;
            output.counterparty = Some(*receiver);
        }
        TxBody::Message { text, attachment } => {
            state.set_slot(&balance_slot, &(balance - needed))?;
            output.message = Some(text.clone());
            output.attachment = *attachment;
        }
    }
    state.set_slot(&nonce_slot, &tx.nonce)?;
    if let Some(profile) = &tx.profile {
        state.set(&StateKey::Profile(sender), profile)?;
    }
    output.tx = Some(hashes.id);
    state.set(&StateKey::TxOutput(sender, tx.nonce), &output)?;
    Ok(Ok(()))
}
