//! The crate's error types.

use cid::Cid;
use tau_keys::Address;

/// Why one transaction cannot be applied to a state.
///
/// When a block is produced these are reported (the transaction is skipped);
/// when a block is validated any of them makes the block invalid.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TxError {
    /// The transaction names another chain.
    #[error("transaction is for chain {found:?}, this chain is {expected:?}")]
    WrongChain {
        /// This chain's id.
        expected: String,
        /// The chain id in the transaction.
        found: String,
    },
    /// The transaction's version is not one this chain accepts.
    #[error("unsupported transaction version {0}")]
    UnsupportedVersion(u64),
    /// The signature does not recover to the sender.
    #[error("bad signature: {0}")]
    Signature(#[from] tau_keys::Error),
    /// The nonce is not the sender's nonce + 1.
    #[error("wrong nonce for {sender}: expected {expected}, found {found}")]
    WrongNonce {
        /// The sender.
        sender: Address,
        /// Sender's current nonce + 1.
        expected: u64,
        /// The nonce in the transaction.
        found: u64,
    },
    /// The sender cannot pay amount + fee.
    #[error("{sender} has {balance}, needs {needed}")]
    InsufficientBalance {
        /// The sender.
        sender: Address,
        /// The sender's balance.
        balance: u64,
        /// Amount + fee.
        needed: u64,
    },
    /// The fee is below the chain's minimum.
    #[error("fee {fee} below the minimum {min}")]
    FeeTooLow {
        /// The fee offered.
        fee: u64,
        /// The minimum fee.
        min: u64,
    },
    /// The transaction is older than the expiry window at the block's time.
    #[error("transaction of time {timestamp} expired at block time {block_time}")]
    Expired {
        /// The transaction's timestamp.
        timestamp: u64,
        /// The block's timestamp.
        block_time: u64,
    },
    /// The transaction is dated after the block (beyond the allowed drift).
    #[error("transaction of time {timestamp} is in the future of block time {block_time}")]
    FutureDated {
        /// The transaction's timestamp.
        timestamp: u64,
        /// The block's timestamp.
        block_time: u64,
    },
    /// The message text is longer than allowed.
    #[error("message of {len} bytes exceeds {max}")]
    MessageTooLong {
        /// Length in bytes.
        len: usize,
        /// The maximum.
        max: usize,
    },
    /// The sender profile encodes to more bytes than allowed.
    #[error("sender profile of {len} bytes exceeds {max}")]
    ProfileTooLong {
        /// Encoded length in bytes.
        len: usize,
        /// The maximum.
        max: usize,
    },
    /// A balance or amount sum does not fit 64 bits.
    #[error("amount overflow")]
    Overflow,
    /// The block already holds `Params::max_block_transactions` transactions.
    #[error("the block is full")]
    BlockFull,
    /// The transaction cannot be encoded (to compute its digest).
    #[error("cannot encode the transaction: {0}")]
    Encode(String),
}

/// Everything that can go wrong in `tau-state`.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The block store failed (includes CID mismatches of stored blocks).
    #[error(transparent)]
    Store(#[from] tau_ipld::Error),
    /// The state's HAMT failed (a malformed node, or its store).
    #[error(transparent)]
    Hamt(#[from] tau_hamt::Error),
    /// A `Params` value is inconsistent.
    #[error("invalid params: {0}")]
    InvalidParams(&'static str),
    /// Bytes that do not decode, are not canonical, or an object that does not encode.
    #[error(transparent)]
    Codec(#[from] tau_ipld::canonical::CodecError),
    /// A state key's bytes do not name any key.
    #[error("not a state key: {0:02x?}")]
    BadKey(Vec<u8>),
    /// A chain id is empty or too long.
    #[error("chain id must be 1..=32 bytes, got {0}")]
    BadChainId(usize),
    /// A block's attachment log breaks the rules (empty, too long, records
    /// dated after the block).
    #[error("bad attachment log: {0}")]
    BadAttachmentsLog(String),
    /// A block the chain needs is not in the store.
    #[error("block {0} is not in the store")]
    MissingBlock(Box<Cid>),
    /// A state root has no block under its contract key.
    #[error("state {0} holds no block under the contract key")]
    NotAChainState(Box<Cid>),
    /// The miner has no account in the state it would mine on.
    #[error("{0} has no account in this state and cannot mine")]
    UnknownMiner(Address),
    /// The block comes before its miner's Proof-of-Transaction allows.
    #[error("block time {timestamp} is before the earliest allowed time {earliest}")]
    TooEarly {
        /// The block's timestamp.
        timestamp: u64,
        /// Previous timestamp + required interval.
        earliest: u64,
    },
    /// The block is dated too far after the local clock.
    #[error("block time {timestamp} is ahead of local time {now} by more than the drift")]
    FutureBlock {
        /// The block's timestamp.
        timestamp: u64,
        /// Local time.
        now: u64,
    },
    /// The block does not build on the given previous state.
    #[error("block builds on {found:?}, expected {expected}")]
    WrongPrevious {
        /// The state root it should build on.
        expected: Box<Cid>,
        /// The previous state root it names.
        found: Option<Box<Cid>>,
    },
    /// A block header field differs from what re-execution computes.
    #[error("block field {field}: expected {expected}, found {found}")]
    WrongField {
        /// The field name.
        field: &'static str,
        /// The value re-execution computes.
        expected: String,
        /// The value in the block.
        found: String,
    },
    /// The block signature does not recover to its miner.
    #[error("bad block signature: {0}")]
    BlockSignature(tau_keys::Error),
    /// A transaction of a block under validation cannot be applied.
    #[error("transaction {index} of the block: {reason}")]
    InvalidTransaction {
        /// Position in the block.
        index: usize,
        /// Why.
        reason: TxError,
    },
    /// The block carries more transactions than allowed.
    #[error("{count} transactions exceed the block limit {max}")]
    TooManyTransactions {
        /// Transactions in the block.
        count: usize,
        /// The limit.
        max: usize,
    },
    /// Re-executing the block gives another state root.
    #[error("state root mismatch: block claims {claimed}, re-execution gives {computed}")]
    StateRootMismatch {
        /// The root being validated.
        claimed: Box<Cid>,
        /// The root re-execution computed.
        computed: Box<Cid>,
    },
    /// A value in the state has the wrong type for its key.
    #[error("state value under {key} is malformed: {reason}")]
    BadValue {
        /// The key, printed.
        key: String,
        /// The decoder's message.
        reason: String,
    },
    /// A sum of balances or difficulties does not fit 64 bits.
    #[error("overflow in {0}")]
    Overflow(&'static str),
}

/// `Result` with this crate's [`Error`].
pub type Result<T> = std::result::Result<T, Error>;

impl Error {
    /// Whether the local store failed (see
    /// [`tau_ipld::Error::is_store_failure`]): not a fault of the block or
    /// transaction being checked.
    pub fn is_store_failure(&self) -> bool {
        match self {
            Error::Store(e) => e.is_store_failure(),
            Error::Hamt(e) => e.is_store_failure(),
            _ => false,
        }
    }
}
