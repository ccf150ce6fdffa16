//! A node's pool of other senders' transactions: what it relays to peers and
//! puts in the blocks it mines.
//!
//! Logic only, no I/O: the head state is read through [`Accounts`]
//! ([`HeadAccounts`] reads an [`Executor`]'s state) and the clock is an argument
//! (`now`, seconds since the Unix epoch), so the same pool runs in tau-node
//! and in tau-cbc's simulator. Admission fails only when the head state
//! cannot be read ([`Error`](crate::Error)); every refusal is an
//! [`Admission::Refused`] with its [`Refusal`].
//!
//! ```
//! use tau_keys::Keypair;
//! use tau_state::mempool::{Admission, HeadAccounts, Mempool, Refusal};
//! use tau_state::{Executor, Genesis, Params, Transaction, TxBody};
//! use tau_ipld::MemoryBlockstore;
//!
//! let (alice, miner) = (Keypair::from_bytes(&[1; 32])?, Keypair::from_bytes(&[2; 32])?);
//! let chain = Executor::new(MemoryBlockstore::new(), Params::devnet())?;
//! let (head, _) = chain.genesis(
//!     &Genesis::new(1_000).allocate(alice.address(), 1_000).allocate(miner.address(), 0),
//!     &miner,
//! )?;
//! let accounts = HeadAccounts { chain: &chain, head: &head };
//! let mut pool = Mempool::new();
//! let pay = |nonce, timestamp| Transaction {
//!     version: 1,
//!     chain_id: chain.params().chain_id.clone(),
//!     sender: alice.address(),
//!     nonce,
//!     timestamp,
//!     fee: 1,
//!     body: TxBody::Wiring { receiver: miner.address(), amount: 10 },
//!     thread: None,
//!     profile: None,
//! }
//! .sign(&alice);
//! let now = 1_000;
//! let admitted = pool.admit(pay(1, now)?, chain.params(), &miner.address(), &accounts, now)?;
//! assert_eq!(admitted, Admission::Admitted { evicted: 0 });
//! // Dated far ahead of the clock: refused before its signature is checked.
//! let future = pool.admit(pay(2, u64::MAX)?, chain.params(), &miner.address(), &accounts, now)?;
//! assert!(matches!(future, Admission::Refused(Refusal::Time(_))));
//! assert_eq!(pool.for_block(chain.params(), now, 100).len(), 1);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! The pool admits only what the next block on the head can execute, with
//! the checks tau-state's block execution runs (`execute::apply`), cheapest
//! first:
//!
//! 1. not this node's own sender (its own transactions are its intents);
//!    [`Transaction::check_static`](crate::Transaction::check_static):
//!    chain id, version, minimum fee, sizes, no overflow of amount + fee;
//! 2. [`Transaction::check_time`](crate::Transaction::check_time) at
//!    `now`: at most `max_drift` ahead, not older than `tx_expiry`;
//! 3. what the pool alone decides: not already held, the sender below
//!    [`MAX_PER_SENDER`], and when the pool is full a fee above its lowest;
//! 4. the signature, once all of the above passed;
//! 5. against the head state: the nonce comes right after the sender's
//!    nonce at the head and its pending transactions (never more than
//!    [`MAX_NONCE_AHEAD`] ahead), the sender has an account, and its balance
//!    covers amount + fee of all its pending transactions with this one.
//!
//! So per sender the pool holds a run of consecutive nonces starting right
//! after the sender's nonce at the head, and a block takes each run in nonce
//! order: a transaction whose nonce leaves a gap is refused, since no block
//! could execute it before the gap is filled (a sender gossips its pending
//! transactions in nonce order, so the one filling the gap arrives first).
//! Refusing senders without an account is stricter than a block (which
//! applies a zero-fee message of an empty account): such a sender cannot pay
//! for the place it takes.
//!
//! **Eviction.** When the pool holds [`MAX_MEMPOOL`] transactions, a new one
//! must pay a fee strictly above the lowest fee in the pool; it then evicts
//! the transaction with the lowest fee and that sender's later nonces (which
//! no block could execute without it). Among equal lowest fees the one with
//! the highest nonce goes first, then the one of the highest sender address:
//! a deterministic order that takes the ends of runs first. Fees are
//! compared as they are, not per byte: a block is limited by a count of
//! transactions (`Params::max_block_transactions`), not by bytes, so a place
//! in it is worth its fee; integers only. A transaction of the sender whose
//! transaction would be evicted is refused (the eviction would leave it
//! behind a gap).
//!
//! **Blocks** take the best fees first ([`Mempool::for_block`]), each
//! sender's run in nonce order.
//!
//! **Replacement.** A transaction with the nonce of one the sender has
//! pending replaces it if it is dated later (a sender re-signs its pending
//! transactions with a new date when its nonces move) and the sender can
//! still pay for its run; otherwise it is refused.
//!
//! **Pruning** on a new head ([`Mempool::prune`]) drops what the head
//! included (nonces at or below the sender's), expired transactions, what
//! the sender can no longer pay for, and everything behind a dropped one.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BTreeSet};

use crate::{Executor, Params, Result, SignedTransaction, TxError};
use cid::Cid;
use tau_ipld::Blockstore;
use tau_keys::Address;

/// Most transactions held, all senders together: beyond it a new one must
/// outbid the lowest fee.
pub const MAX_MEMPOOL: usize = 4096;

/// Most transactions held per sender.
pub const MAX_PER_SENDER: usize = 16;

/// Furthest a nonce may be ahead of the sender's nonce at the head. Runs are
/// consecutive, so with [`MAX_PER_SENDER`] this is the furthest a sender's
/// run can reach anyway; it is checked on its own to name the refusal.
pub const MAX_NONCE_AHEAD: u64 = MAX_PER_SENDER as u64;

/// What admission and pruning read of the head state.
pub trait Accounts {
    /// The sender's nonce at the head (0 without an account).
    fn nonce(&self, sender: &Address) -> Result<u64>;
    /// The sender's balance at the head (`None`: no account).
    fn balance(&self, sender: &Address) -> Result<Option<u64>>;
}

/// The accounts of the state `head` of `chain`.
pub struct HeadAccounts<'a, BS> {
    /// The chain.
    pub chain: &'a Executor<BS>,
    /// The state whose accounts are read (the node's head).
    pub head: &'a Cid,
}

impl<BS: Blockstore> Accounts for HeadAccounts<'_, BS> {
    fn nonce(&self, sender: &Address) -> Result<u64> {
        self.chain.nonce(self.head, sender)
    }

    fn balance(&self, sender: &Address) -> Result<Option<u64>> {
        self.chain.balance(self.head, sender)
    }
}

/// How an offered transaction went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Admission {
    /// Added to the pool; `evicted` transactions of lower fee made room.
    Admitted {
        /// Transactions evicted for it.
        evicted: usize,
    },
    /// It replaced the sender's pending transaction with the same nonce.
    Replaced,
    /// Not added, and why.
    Refused(Refusal),
}

/// Why a transaction was not admitted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    /// Sent by this node's own key (its own transactions are not relayed
    /// back to it).
    #[error("sent by this node's own key")]
    OwnSender,
    /// Breaks a rule that needs no state (chain id, version, fee, sizes).
    #[error("{0}")]
    Static(TxError),
    /// Dated too far ahead of `now`, or expired.
    #[error("{0}")]
    Time(TxError),
    /// The very same signed transaction is pending.
    #[error("the same transaction is already pending")]
    Known,
    /// The sender has a transaction with this nonce pending, dated as late
    /// or later.
    #[error("a transaction of the sender with this nonce is pending, dated as late or later")]
    NotNewer,
    /// The sender has [`MAX_PER_SENDER`] transactions pending.
    #[error("the sender has {MAX_PER_SENDER} transactions pending")]
    SenderFull,
    /// The pool is full and the fee does not beat the lowest one (or the
    /// eviction would hit this sender's own run).
    #[error("the pool is full and the fee does not beat its lowest, {lowest_fee}")]
    PoolFull {
        /// The lowest fee in the pool.
        lowest_fee: u64,
    },
    /// The signature does not recover to the sender.
    #[error("{0}")]
    Signature(TxError),
    /// The nonce is at or below the sender's nonce at the head.
    #[error("nonce {nonce} is not above the sender's nonce {current}")]
    StaleNonce {
        /// The sender's nonce at the head.
        current: u64,
        /// The transaction's.
        nonce: u64,
    },
    /// The nonce is more than [`MAX_NONCE_AHEAD`] above the sender's.
    #[error("nonce {nonce} is more than {MAX_NONCE_AHEAD} above the sender's nonce {current}")]
    NonceTooFar {
        /// The sender's nonce at the head.
        current: u64,
        /// The transaction's.
        nonce: u64,
    },
    /// The nonce is not the one after the sender's pending ones.
    #[error("nonce {nonce} leaves a gap: the sender's next is {expected}")]
    NonceGap {
        /// The next nonce the sender's run takes.
        expected: u64,
        /// The transaction's.
        nonce: u64,
    },
    /// The sender has no account at the head.
    #[error("the sender has no account")]
    UnknownSender,
    /// The sender's balance does not cover its pending transactions and
    /// this one.
    #[error("balance {balance} does not cover {needed} (amount and fee of the sender's pending run with this one)")]
    InsufficientBalance {
        /// Balance at the head.
        balance: u64,
        /// Amount + fee of the sender's run with this transaction.
        needed: u64,
    },
}

/// Order of eviction: the smallest key goes first (lowest fee, then highest
/// nonce, then highest sender).
type FeeKey = (u64, Reverse<u64>, Reverse<Address>);

fn fee_key(tx: &SignedTransaction) -> FeeKey {
    (tx.tx.fee, Reverse(tx.tx.nonce), Reverse(tx.tx.sender))
}

/// What executing `tx` needs the sender to hold (amount + fee; saturated,
/// so an impossible cost is refused, never wrapped).
fn cost(tx: &SignedTransaction) -> u64 {
    tx.tx.body.amount().saturating_add(tx.tx.fee)
}

/// Pending transactions of other senders: per sender a run of consecutive
/// nonces, with an index by fee for eviction.
#[derive(Debug)]
pub struct Mempool {
    capacity: usize,
    senders: BTreeMap<Address, BTreeMap<u64, SignedTransaction>>,
    by_fee: BTreeSet<FeeKey>,
}

impl Default for Mempool {
    fn default() -> Self {
        Self::new()
    }
}

impl Mempool {
    /// An empty pool of [`MAX_MEMPOOL`] transactions.
    pub fn new() -> Self {
        Self::with_capacity(MAX_MEMPOOL)
    }

    /// An empty pool of at most `capacity` transactions.
    pub fn with_capacity(capacity: usize) -> Self {
        Self {
            capacity,
            senders: BTreeMap::new(),
            by_fee: BTreeSet::new(),
        }
    }

    /// Transactions held.
    pub fn len(&self) -> usize {
        self.by_fee.len()
    }

    /// Whether the pool holds nothing.
    pub fn is_empty(&self) -> bool {
        self.by_fee.is_empty()
    }

    /// Most transactions the pool holds.
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// The transactions by sender, then nonce: the order they are gossiped
    /// in, and per sender the order a block executes them in.
    pub fn iter(&self) -> impl Iterator<Item = &SignedTransaction> {
        self.senders.values().flat_map(BTreeMap::values)
    }

    /// Offers each of `transactions` at `now` against the state `head` of
    /// `chain` ([`admit`](Self::admit) with [`HeadAccounts`]), in order;
    /// says how each went. Fails only if the head state cannot be read.
    pub fn admit_at_head<BS: Blockstore>(
        &mut self,
        transactions: Vec<SignedTransaction>,
        chain: &Executor<BS>,
        head: &Cid,
        own: &Address,
        now: u64,
    ) -> Result<Vec<Admission>> {
        let accounts = HeadAccounts { chain, head };
        transactions
            .into_iter()
            .map(|tx| self.admit(tx, chain.params(), own, &accounts, now))
            .collect()
    }

    /// Offers `tx` at `now`: admits it if the next block on the head of
    /// `accounts` can execute it after the sender's pending ones (see the
    /// module's rules). `own`: this node's address. Fails only if the head
    /// state cannot be read.
    pub fn admit(
        &mut self,
        tx: SignedTransaction,
        params: &Params,
        own: &Address,
        accounts: &impl Accounts,
        now: u64,
    ) -> Result<Admission> {
        let refused = |why| Ok(Admission::Refused(why));
        let sender = tx.tx.sender;
        let nonce = tx.tx.nonce;
        if sender == *own {
            return refused(Refusal::OwnSender);
        }
        if let Err(e) = tx.tx.check_static(params) {
            return refused(Refusal::Static(e));
        }
        if let Err(e) = tx.tx.check_time(params, now) {
            return refused(Refusal::Time(e));
        }
        let run = self.senders.get(&sender);
        let held = run.map_or(0, BTreeMap::len);
        let replacing = match run.and_then(|r| r.get(&nonce)) {
            Some(old) if *old == tx => return refused(Refusal::Known),
            Some(old) if old.tx.timestamp >= tx.tx.timestamp => return refused(Refusal::NotNewer),
            Some(_) => true,
            None => false,
        };
        if !replacing {
            if held >= MAX_PER_SENDER {
                return refused(Refusal::SenderFull);
            }
            if self.len() >= self.capacity {
                let lowest = self.by_fee.first();
                let lowest_fee = lowest.map_or(0, |k| k.0);
                if lowest
                    .is_none_or(|(fee, _, Reverse(victim))| tx.tx.fee <= *fee || *victim == sender)
                {
                    return refused(Refusal::PoolFull { lowest_fee });
                }
            }
        }
        if let Err(e) = tx.verify_signature() {
            return refused(Refusal::Signature(e));
        }
        let current = accounts.nonce(&sender)?;
        if nonce <= current {
            return refused(Refusal::StaleNonce { current, nonce });
        }
        if nonce > current.saturating_add(MAX_NONCE_AHEAD) {
            return refused(Refusal::NonceTooFar { current, nonce });
        }
        if !replacing {
            // `held` < MAX_PER_SENDER, so this cannot overflow past the window.
            let expected = current.saturating_add(1).saturating_add(held as u64);
            if nonce != expected {
                return refused(Refusal::NonceGap { expected, nonce });
            }
        }
        let Some(balance) = accounts.balance(&sender)? else {
            return refused(Refusal::UnknownSender);
        };
        let others = run
            .into_iter()
            .flat_map(BTreeMap::iter)
            .filter(|(n, _)| **n != nonce)
            .map(|(_, p)| cost(p));
        let needed = others
            .chain(std::iter::once(cost(&tx)))
            .try_fold(0u64, u64::checked_add)
            .unwrap_or(u64::MAX);
        if needed > balance {
            return refused(Refusal::InsufficientBalance { balance, needed });
        }

        let mut evicted = 0;
        if !replacing {
            // One eviction frees a place; popping the key first makes the
            // loop end even if the index ever disagreed with the runs.
            while self.len() >= self.capacity {
                let Some((_, Reverse(n), Reverse(victim))) = self.by_fee.pop_first() else {
                    break;
                };
                evicted += self.remove_from(&victim, n);
            }
        }
        let key = fee_key(&tx);
        let run = self.senders.entry(sender).or_default();
        if let Some(old) = run.insert(nonce, tx) {
            self.by_fee.remove(&fee_key(&old));
        }
        self.by_fee.insert(key);
        Ok(if replacing {
            Admission::Replaced
        } else {
            Admission::Admitted { evicted }
        })
    }

    /// Removes `sender`'s transactions from nonce `from` on; returns how many.
    fn remove_from(&mut self, sender: &Address, from: u64) -> usize {
        let Some(run) = self.senders.get_mut(sender) else {
            return 0;
        };
        let removed = run.split_off(&from);
        if run.is_empty() {
            self.senders.remove(sender);
        }
        for tx in removed.values() {
            self.by_fee.remove(&fee_key(tx));
        }
        removed.len()
    }

    /// Keeps what the next block on the head of `accounts` at `now` can
    /// still execute: per sender, the run from the nonce after the sender's
    /// while every transaction is in its time window and the balance covers
    /// the run so far. Included (at or below the sender's nonce), expired
    /// and unpaid transactions are dropped, with everything behind them. A
    /// sender whose account cannot be read is dropped.
    pub fn prune(&mut self, params: &Params, accounts: &impl Accounts, now: u64) {
        let senders = std::mem::take(&mut self.senders);
        self.by_fee.clear();
        for (sender, run) in senders {
            let (Ok(current), Ok(Some(balance))) =
                (accounts.nonce(&sender), accounts.balance(&sender))
            else {
                continue;
            };
            let Some(mut expected) = current.checked_add(1) else {
                continue;
            };
            let mut spent: u64 = 0;
            let mut kept = BTreeMap::new();
            for (nonce, tx) in run.into_iter().filter(|(n, _)| *n > current) {
                let paid = spent.checked_add(cost(&tx)).filter(|s| *s <= balance);
                let Some(paid) = paid.filter(|_| {
                    nonce == expected
                        && kept.len() < MAX_PER_SENDER
                        && tx.tx.check_time(params, now).is_ok()
                }) else {
                    break;
                };
                spent = paid;
                expected = expected.saturating_add(1);
                self.by_fee.insert(fee_key(&tx));
                kept.insert(nonce, tx);
            }
            if !kept.is_empty() {
                self.senders.insert(sender, kept);
            }
        }
    }

    /// What a block dated `now` takes from the pool, at most `max`, best
    /// fees first: each sender's run is taken in nonce order (a later nonce
    /// cannot go before an earlier one), and at each step the block takes
    /// the run whose next transaction pays the most (equal fees: the lower
    /// sender address first), so a place in a full block goes to whoever
    /// pays for it, not to an address that sorts first. A run stops at its
    /// first transaction out of its time window at `now` (the rest would
    /// then have a gap). The result is in the order taken, which keeps each
    /// sender's nonces in order. Integers only, deterministic.
    pub fn for_block(&self, params: &Params, now: u64, max: usize) -> Vec<SignedTransaction> {
        let mut runs: Vec<_> = self
            .senders
            .values()
            .map(|run| run.values().peekable())
            .collect();
        // (fee of the run's next transaction, run index reversed): the
        // largest fee, then the lowest index (sender address) first.
        let mut next = std::collections::BinaryHeap::new();
        let eligible = |tx: &SignedTransaction| tx.tx.check_time(params, now).is_ok();
        for (i, run) in runs.iter_mut().enumerate() {
            if let Some(tx) = run.peek().filter(|tx| eligible(tx)) {
                next.push((tx.tx.fee, Reverse(i)));
            }
        }
        let mut out = Vec::new();
        while out.len() < max {
            let Some((_, Reverse(i))) = next.pop() else {
                break;
            };
            let Some(run) = runs.get_mut(i) else {
                break;
            };
            if let Some(tx) = run.next() {
                out.push(tx.clone());
            }
            if let Some(tx) = run.peek().filter(|tx| eligible(tx)) {
                next.push((tx.tx.fee, Reverse(i)));
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use crate::{ChainId, Transaction, TxBody};
    use proptest::prelude::*;
    use tau_keys::Keypair;

    use super::*;

    /// The test clock.
    const NOW: u64 = 1_000_000;

    /// Head state of the unit tests: nonce and balance per address.
    #[derive(Default)]
    struct Book(BTreeMap<Address, (u64, Option<u64>)>);

    impl Book {
        fn fund(mut self, key: &Keypair, nonce: u64, balance: u64) -> Self {
            self.0.insert(key.address(), (nonce, Some(balance)));
            self
        }
    }

    impl Accounts for Book {
        fn nonce(&self, sender: &Address) -> Result<u64> {
            Ok(self.0.get(sender).map_or(0, |a| a.0))
        }
        fn balance(&self, sender: &Address) -> Result<Option<u64>> {
            Ok(self.0.get(sender).and_then(|a| a.1))
        }
    }

    fn params() -> Params {
        Params::devnet()
    }

    fn key(i: u8) -> Keypair {
        Keypair::from_bytes(&[i; 32]).unwrap()
    }

    /// This node's key.
    fn own() -> Address {
        key(200).address()
    }

    fn unsigned(from: &Keypair, nonce: u64, fee: u64, amount: u64) -> Transaction {
        Transaction {
            version: params().version,
            chain_id: params().chain_id,
            sender: from.address(),
            nonce,
            timestamp: NOW,
            fee,
            body: TxBody::Wiring {
                receiver: key(201).address(),
                amount,
            },
            thread: None,
            profile: None,
        }
    }

    fn tx(from: &Keypair, nonce: u64, fee: u64, amount: u64) -> SignedTransaction {
        unsigned(from, nonce, fee, amount).sign(from).unwrap()
    }

    fn offer(pool: &mut Mempool, book: &Book, tx: SignedTransaction) -> Admission {
        pool.admit(tx, &params(), &own(), book, NOW).unwrap()
    }

    fn refused(pool: &mut Mempool, book: &Book, tx: SignedTransaction) -> Refusal {
        match offer(pool, book, tx) {
            Admission::Refused(why) => why,
            other => panic!("admitted: {other:?}"),
        }
    }

    const ADMITTED: Admission = Admission::Admitted { evicted: 0 };

    /// The pool's invariants: caps, the fee index matches the runs, each run
    /// is consecutive from the sender's next nonce and paid for, and every
    /// transaction passes the static, time and signature checks at `now`.
    fn check_invariants(pool: &Mempool, book: &Book, now: u64) {
        assert!(pool.len() <= pool.capacity);
        let keys: BTreeSet<FeeKey> = pool.iter().map(fee_key).collect();
        assert_eq!(keys, pool.by_fee);
        assert_eq!(pool.iter().count(), pool.len());
        for (sender, run) in &pool.senders {
            assert!(!run.is_empty() && run.len() <= MAX_PER_SENDER);
            let current = book.nonce(sender).unwrap();
            let nonces: Vec<u64> = run.keys().copied().collect();
            let expected: Vec<u64> = (current + 1..=current + run.len() as u64).collect();
            assert_eq!(nonces, expected);
            let spent: u64 = run.values().map(cost).sum();
            assert!(spent <= book.balance(sender).unwrap().unwrap());
            for tx in run.values() {
                assert_eq!(tx.tx.sender, *sender);
                assert_ne!(tx.tx.sender, own());
                tx.tx.check_static(&params()).unwrap();
                tx.tx.check_time(&params(), now).unwrap();
                tx.verify_signature().unwrap();
            }
        }
    }

    #[test]
    fn an_honest_run_is_admitted_in_nonce_order() {
        let a = key(1);
        let book = Book::default().fund(&a, 3, 1_000);
        let mut pool = Mempool::new();
        for nonce in 4..8 {
            assert_eq!(offer(&mut pool, &book, tx(&a, nonce, 1, 10)), ADMITTED);
        }
        let nonces: Vec<u64> = pool.iter().map(|t| t.tx.nonce).collect();
        assert_eq!(nonces, [4, 5, 6, 7]);
        check_invariants(&pool, &book, NOW);
    }

    #[test]
    fn own_transactions_are_refused() {
        let me = key(200);
        let book = Book::default().fund(&me, 0, 1_000);
        let mut pool = Mempool::new();
        assert_eq!(
            refused(&mut pool, &book, tx(&me, 1, 1, 1)),
            Refusal::OwnSender
        );
    }

    #[test]
    fn static_rules_are_checked() {
        let a = key(1);
        let book = Book::default().fund(&a, 0, 1_000);
        let mut pool = Mempool::new();
        let mut t = unsigned(&a, 1, 1, 1);
        t.chain_id = ChainId::new("elsewhere").unwrap();
        assert!(matches!(
            refused(&mut pool, &book, t.sign(&a).unwrap()),
            Refusal::Static(TxError::WrongChain { .. })
        ));
        let mut t = unsigned(&a, 1, 1, 1);
        t.version += 1;
        assert!(matches!(
            refused(&mut pool, &book, t.sign(&a).unwrap()),
            Refusal::Static(TxError::UnsupportedVersion(_))
        ));
        let mut t = unsigned(&a, 1, 1, 1);
        t.body = TxBody::Message {
            text: "x".repeat(params().max_message_len + 1),
            attachment: None,
        };
        assert!(matches!(
            refused(&mut pool, &book, t.sign(&a).unwrap()),
            Refusal::Static(TxError::MessageTooLong { .. })
        ));
        let mut t = unsigned(&a, 1, u64::MAX, 1);
        t.fee = u64::MAX;
        assert!(matches!(
            refused(&mut pool, &book, t.sign(&a).unwrap()),
            Refusal::Static(TxError::Overflow)
        ));
        let mut p = params();
        p.min_fee = 5;
        assert!(matches!(
            pool.admit(tx(&a, 1, 4, 1), &p, &own(), &book, NOW),
            Ok(Admission::Refused(Refusal::Static(
                TxError::FeeTooLow { .. }
            )))
        ));
        assert_eq!(pool.len(), 0);
    }

    #[test]
    fn the_time_window_is_checked() {
        let a = key(1);
        let book = Book::default().fund(&a, 0, 1_000);
        let mut pool = Mempool::new();
        let mut t = unsigned(&a, 1, 1, 1);
        t.timestamp = u64::MAX;
        assert!(matches!(
            refused(&mut pool, &book, t.sign(&a).unwrap()),
            Refusal::Time(TxError::FutureDated { .. })
        ));
        let mut t = unsigned(&a, 1, 1, 1);
        t.timestamp = NOW + params().max_drift + 1;
        assert!(matches!(
            refused(&mut pool, &book, t.sign(&a).unwrap()),
            Refusal::Time(TxError::FutureDated { .. })
        ));
        let mut t = unsigned(&a, 1, 1, 1);
        t.timestamp = NOW - params().tx_expiry - 1;
        assert!(matches!(
            refused(&mut pool, &book, t.sign(&a).unwrap()),
            Refusal::Time(TxError::Expired { .. })
        ));
        // The edges of the window are in it.
        let mut t = unsigned(&a, 1, 1, 1);
        t.timestamp = NOW + params().max_drift;
        assert_eq!(offer(&mut pool, &book, t.sign(&a).unwrap()), ADMITTED);
        let mut t = unsigned(&a, 2, 1, 1);
        t.timestamp = NOW - params().tx_expiry;
        assert_eq!(offer(&mut pool, &book, t.sign(&a).unwrap()), ADMITTED);
    }

    #[test]
    fn a_forged_signature_is_refused() {
        let (a, thief) = (key(1), key(2));
        let book = Book::default().fund(&a, 0, 1_000);
        let mut pool = Mempool::new();
        let forged = unsigned(&a, 1, 1, 500).sign(&thief).unwrap();
        assert!(matches!(
            refused(&mut pool, &book, forged),
            Refusal::Signature(_)
        ));
        assert_eq!(pool.len(), 0);
    }

    #[test]
    fn nonces_must_continue_the_senders_run() {
        let a = key(1);
        let book = Book::default().fund(&a, 5, 1_000);
        let mut pool = Mempool::new();
        for stale in [0, 4, 5] {
            assert_eq!(
                refused(&mut pool, &book, tx(&a, stale, 1, 1)),
                Refusal::StaleNonce {
                    current: 5,
                    nonce: stale
                }
            );
        }
        for far in [5 + MAX_NONCE_AHEAD + 1, u64::MAX] {
            assert_eq!(
                refused(&mut pool, &book, tx(&a, far, 1, 1)),
                Refusal::NonceTooFar {
                    current: 5,
                    nonce: far
                }
            );
        }
        assert_eq!(
            refused(&mut pool, &book, tx(&a, 7, 1, 1)),
            Refusal::NonceGap {
                expected: 6,
                nonce: 7
            }
        );
        assert_eq!(offer(&mut pool, &book, tx(&a, 6, 1, 1)), ADMITTED);
        assert_eq!(
            refused(&mut pool, &book, tx(&a, 8, 1, 1)),
            Refusal::NonceGap {
                expected: 7,
                nonce: 8
            }
        );
        assert_eq!(offer(&mut pool, &book, tx(&a, 7, 1, 1)), ADMITTED);
    }

    #[test]
    fn the_sender_must_have_an_account_that_pays_for_its_run() {
        let (a, empty) = (key(1), key(3));
        let book = Book::default().fund(&a, 0, 100);
        let mut pool = Mempool::new();
        assert_eq!(
            refused(&mut pool, &book, tx(&empty, 1, 0, 0)),
            Refusal::UnknownSender
        );
        assert_eq!(
            refused(&mut pool, &book, tx(&a, 1, 1, 100)),
            Refusal::InsufficientBalance {
                balance: 100,
                needed: 101
            }
        );
        assert_eq!(offer(&mut pool, &book, tx(&a, 1, 10, 50)), ADMITTED);
        // Each alone is affordable, not with the one pending.
        assert_eq!(
            refused(&mut pool, &book, tx(&a, 2, 1, 40)),
            Refusal::InsufficientBalance {
                balance: 100,
                needed: 101
            }
        );
        assert_eq!(offer(&mut pool, &book, tx(&a, 2, 1, 39)), ADMITTED);
        check_invariants(&pool, &book, NOW);
    }

    #[test]
    fn a_sender_holds_at_most_its_cap() {
        let a = key(1);
        let book = Book::default().fund(&a, 0, 1_000_000);
        let mut pool = Mempool::new();
        for nonce in 1..=MAX_PER_SENDER as u64 {
            assert_eq!(offer(&mut pool, &book, tx(&a, nonce, 1, 1)), ADMITTED);
        }
        let next = MAX_PER_SENDER as u64 + 1;
        assert_eq!(
            refused(&mut pool, &book, tx(&a, next, 1, 1)),
            Refusal::SenderFull
        );
        assert_eq!(pool.len(), MAX_PER_SENDER);
        // Another sender is not affected.
        let b = key(2);
        let book = book.fund(&b, 0, 10);
        assert_eq!(offer(&mut pool, &book, tx(&b, 1, 1, 1)), ADMITTED);
        check_invariants(&pool, &book, NOW);
    }

    #[test]
    fn a_known_transaction_is_refused_and_a_later_signing_replaces() {
        let a = key(1);
        let book = Book::default().fund(&a, 0, 100);
        let mut pool = Mempool::new();
        let first = tx(&a, 1, 5, 10);
        assert_eq!(offer(&mut pool, &book, first.clone()), ADMITTED);
        assert_eq!(offer(&mut pool, &book, tx(&a, 2, 5, 10)), ADMITTED);
        assert_eq!(refused(&mut pool, &book, first), Refusal::Known);
        // Another body under nonce 1, dated the same: refused.
        assert_eq!(
            refused(&mut pool, &book, tx(&a, 1, 7, 20)),
            Refusal::NotNewer
        );
        // Dated later: replaces nonce 1, if the run stays paid for.
        let mut t = unsigned(&a, 1, 7, 90);
        t.timestamp = NOW + 1;
        assert_eq!(
            refused(&mut pool, &book, t.sign(&a).unwrap()),
            Refusal::InsufficientBalance {
                balance: 100,
                needed: 112
            }
        );
        let mut t = unsigned(&a, 1, 7, 20);
        t.timestamp = NOW + 1;
        let newer = t.sign(&a).unwrap();
        assert_eq!(offer(&mut pool, &book, newer.clone()), Admission::Replaced);
        assert_eq!(pool.len(), 2);
        assert_eq!(pool.iter().next(), Some(&newer));
        check_invariants(&pool, &book, NOW);
    }

    #[test]
    fn a_full_pool_evicts_its_lowest_fee_for_a_higher_one() {
        let keys: Vec<Keypair> = (1..=5).map(key).collect();
        let book = keys
            .iter()
            .fold(Book::default(), |b, k| b.fund(k, 0, 1_000));
        let mut pool = Mempool::with_capacity(4);
        // keys 0, 1 and 2 pay 3 (a tie), key 3 pays 5.
        for t in [
            tx(&keys[0], 1, 3, 0),
            tx(&keys[1], 1, 3, 0),
            tx(&keys[2], 1, 3, 0),
            tx(&keys[3], 1, 5, 0),
        ] {
            assert_eq!(offer(&mut pool, &book, t), ADMITTED);
        }
        // Paying the lowest fee is not enough.
        assert_eq!(
            refused(&mut pool, &book, tx(&keys[4], 1, 3, 0)),
            Refusal::PoolFull { lowest_fee: 3 }
        );
        // Among the fee-3 ties (all nonce 1) the highest sender goes first.
        let mut tied: Vec<Address> = keys[..3].iter().map(Keypair::address).collect();
        tied.sort();
        let gone = |pool: &Mempool, addr: &Address| !pool.senders.contains_key(addr);
        assert_eq!(
            offer(&mut pool, &book, tx(&keys[4], 1, 4, 0)),
            Admission::Admitted { evicted: 1 }
        );
        assert!(gone(&pool, &tied[2]) && !gone(&pool, &tied[1]) && !gone(&pool, &tied[0]));
        assert_eq!(pool.len(), 4);
        // The next victim's own sender cannot take its place: its new nonce
        // would follow a gap.
        let next_victim = keys.iter().find(|k| k.address() == tied[1]).unwrap();
        assert_eq!(
            refused(&mut pool, &book, tx(next_victim, 2, 100, 0)),
            Refusal::PoolFull { lowest_fee: 3 }
        );
        check_invariants(&pool, &book, NOW);
    }

    #[test]
    fn among_equal_fees_the_highest_nonce_is_evicted_first() {
        let (a, b, c) = (key(1), key(2), key(3));
        let book = Book::default()
            .fund(&a, 0, 1_000)
            .fund(&b, 0, 1_000)
            .fund(&c, 0, 1_000);
        let mut pool = Mempool::with_capacity(3);
        for t in [tx(&a, 1, 3, 0), tx(&a, 2, 3, 0), tx(&b, 1, 3, 0)] {
            assert_eq!(offer(&mut pool, &book, t), ADMITTED);
        }
        assert_eq!(
            offer(&mut pool, &book, tx(&c, 1, 4, 0)),
            Admission::Admitted { evicted: 1 }
        );
        let left: Vec<(Address, u64)> = pool.iter().map(|t| (t.tx.sender, t.tx.nonce)).collect();
        assert!(left.contains(&(a.address(), 1)) && left.contains(&(b.address(), 1)));
        assert!(!left.contains(&(a.address(), 2)));
    }

    #[test]
    fn evicting_a_transaction_evicts_the_senders_later_nonces() {
        let (a, b, c) = (key(1), key(2), key(3));
        let book = Book::default()
            .fund(&a, 0, 1_000)
            .fund(&b, 0, 1_000)
            .fund(&c, 0, 1_000);
        let mut pool = Mempool::with_capacity(3);
        for t in [tx(&a, 1, 1, 0), tx(&a, 2, 9, 0), tx(&b, 1, 5, 0)] {
            assert_eq!(offer(&mut pool, &book, t), ADMITTED);
        }
        // a's nonce 2 cannot execute without nonce 1: both go.
        assert_eq!(
            offer(&mut pool, &book, tx(&c, 1, 2, 0)),
            Admission::Admitted { evicted: 2 }
        );
        assert_eq!(pool.len(), 2);
        assert!(!pool.senders.contains_key(&a.address()));
        check_invariants(&pool, &book, NOW);
    }

    #[test]
    fn pruning_keeps_what_the_next_block_can_execute() {
        let (a, b, c, d, e) = (key(1), key(2), key(3), key(4), key(5));
        let book = Book::default()
            .fund(&a, 0, 1_000)
            .fund(&b, 0, 1_000)
            .fund(&c, 0, 1_000)
            .fund(&d, 2, 1_000)
            .fund(&e, 0, 1_000);
        let mut pool = Mempool::new();
        for nonce in 1..=3 {
            offer(&mut pool, &book, tx(&a, nonce, 1, 100));
            offer(&mut pool, &book, tx(&b, nonce, 1, 100));
        }
        let mut early = unsigned(&c, 1, 1, 1);
        early.timestamp = NOW - params().tx_expiry + 10;
        offer(&mut pool, &book, early.sign(&c).unwrap());
        offer(&mut pool, &book, tx(&c, 2, 1, 1));
        offer(&mut pool, &book, tx(&d, 3, 1, 1));
        offer(&mut pool, &book, tx(&e, 1, 1, 1));
        assert_eq!(pool.len(), 10);
        // The head included a's nonces 1 and 2; b spent most of its balance
        // elsewhere; d's nonce went down (a reorganization): its run starts
        // after a gap.
        let head = Book::default()
            .fund(&a, 2, 800)
            .fund(&b, 0, 202)
            .fund(&c, 0, 1_000)
            .fund(&d, 0, 1_000)
            .fund(&e, 0, 1_000);
        pool.prune(&params(), &head, NOW);
        check_invariants(&pool, &head, NOW);
        let held =
            |pool: &Mempool, k: &Keypair| pool.senders.get(&k.address()).map_or(0, BTreeMap::len);
        assert_eq!(
            [&a, &b, &c, &d, &e].map(|k| held(&pool, k)),
            [1, 2, 2, 0, 1]
        );
        // Later, c's first transaction expires: its second goes with it.
        let later = NOW + 11;
        pool.prune(&params(), &head, later);
        check_invariants(&pool, &head, later);
        assert_eq!(
            [&a, &b, &c, &d, &e].map(|k| held(&pool, k)),
            [1, 2, 0, 0, 1]
        );
    }

    #[test]
    fn a_full_block_goes_to_the_best_fees_whatever_the_addresses() {
        // Find two keys, the first sorting before the second.
        let (mut low, mut high) = (key(1), key(2));
        if low.address() > high.address() {
            std::mem::swap(&mut low, &mut high);
        }
        let book = Book::default().fund(&low, 0, 1_000).fund(&high, 0, 1_000);
        let mut pool = Mempool::new();
        // The low address pays 1, the high one 5 then 1 then 9.
        for nonce in 1..=3 {
            offer(&mut pool, &book, tx(&low, nonce, 1, 1));
        }
        for (nonce, fee) in [(1, 5), (2, 1), (3, 9)] {
            offer(&mut pool, &book, tx(&high, nonce, fee, 1));
        }
        let taken = pool.for_block(&params(), NOW, 2);
        let fees: Vec<(bool, u64, u64)> = taken
            .iter()
            .map(|t| (t.tx.sender == high.address(), t.tx.nonce, t.tx.fee))
            .collect();
        // 5 first; then a tie at 1 goes to the lower address.
        assert_eq!(fees, [(true, 1, 5), (false, 1, 1)]);
        // With room for all, each sender's nonces stay in order.
        let all = pool.for_block(&params(), NOW, 100);
        assert_eq!(all.len(), 6);
        for sender in [low.address(), high.address()] {
            let nonces: Vec<u64> = all
                .iter()
                .filter(|t| t.tx.sender == sender)
                .map(|t| t.tx.nonce)
                .collect();
            assert_eq!(nonces, [1, 2, 3]);
        }
    }

    #[test]
    fn a_block_takes_runs_in_nonce_order_up_to_expiry_and_room() {
        let (a, b) = (key(1), key(2));
        let book = Book::default().fund(&a, 0, 1_000).fund(&b, 0, 1_000);
        let mut pool = Mempool::new();
        for nonce in 1..=3 {
            offer(&mut pool, &book, tx(&a, nonce, 1, 1));
        }
        let mut t = unsigned(&b, 1, 1, 1);
        t.timestamp = NOW - params().tx_expiry;
        offer(&mut pool, &book, t.sign(&b).unwrap());
        offer(&mut pool, &book, tx(&b, 2, 1, 1));
        assert_eq!(pool.len(), 5);
        let all: Vec<SignedTransaction> = pool.iter().cloned().collect();
        assert_eq!(pool.for_block(&params(), NOW, 100), all);
        let taken = pool.for_block(&params(), NOW, 2);
        assert_eq!(taken, all[..2]);
        // One second later b's first expired: b's run is left out whole.
        let taken = pool.for_block(&params(), NOW + 1, 100);
        assert_eq!(taken.len(), 3);
        assert!(taken.iter().all(|t| t.tx.sender == a.address()));
    }

    /// What the proptest offers: a sender, a nonce relative to its nonce at
    /// the head, a fee, an amount, a time shift and a corruption.
    fn offers() -> impl Strategy<Value = Vec<(usize, i8, u64, u64, i64, u8)>> {
        prop::collection::vec(
            (0usize..8, -1i8..5, 0u64..6, 0u64..400, -2i64..2, 0u8..12),
            1..48,
        )
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(48))]
        #[test]
        fn the_pool_keeps_its_caps_and_only_admits_valid_transactions(
            offers in offers(),
            capacity in 1usize..24,
        ) {
            // Senders 0..6 have accounts of various balances; 6 has none;
            // 7 is this node.
            let keys: Vec<Keypair> = (0..7u8).map(|i| key(i + 1)).chain([key(200)]).collect();
            let book = keys[..6].iter().enumerate().fold(Book::default(), |b, (i, k)| {
                b.fund(k, i as u64 * 3, 200 * i as u64 + 50)
            });
            let mut pool = Mempool::with_capacity(capacity);
            for (who, ahead, fee, amount, shift, corrupt) in offers {
                let from = &keys[who];
                let current = book.nonce(&from.address()).unwrap();
                let held = pool.senders.get(&from.address()).map_or(0, |r| r.len() as u64);
                let mut t = unsigned(from, (current + held + 1).saturating_add_signed(ahead.into()), fee, amount);
                let span = params().tx_expiry as i64;
                t.timestamp = NOW.saturating_add_signed(shift * span / 2 + shift.signum());
                let signer = match corrupt {
                    0 => { t.chain_id = ChainId::new("other").unwrap(); from }
                    1 => { t.version += 1; from }
                    2 => &keys[(who + 1) % keys.len()],
                    3 => { t.timestamp = u64::MAX; from }
                    _ => from,
                };
                let signed = t.sign(signer).unwrap();
                let before = pool.len();
                let outcome = offer(&mut pool, &book, signed.clone());
                match outcome {
                    Admission::Admitted { evicted } => {
                        prop_assert!(pool.iter().any(|p| *p == signed));
                        prop_assert_eq!(pool.len() + evicted, before + 1);
                    }
                    Admission::Replaced => {
                        prop_assert!(pool.iter().any(|p| *p == signed));
                        prop_assert_eq!(pool.len(), before);
                    }
                    Admission::Refused(_) => {
                        prop_assert_eq!(pool.len(), before);
                    }
                }
                check_invariants(&pool, &book, NOW);
            }
            pool.prune(&params(), &book, NOW + params().tx_expiry / 2);
            check_invariants(&pool, &book, NOW + params().tx_expiry / 2);
        }
    }
}
