//! Records written into the state by execution: transaction outputs.

use serde_tuple::{Deserialize_tuple, Serialize_tuple};
use tau_keys::Address;

use crate::digest::Digest;
use crate::tx::{AttachmentRef, OptCode};

/// The output of one transaction of an account, stored under
/// `<address><nonce>TXOutput` (the design note's `TXOutputJSON`; `docs/src/formats/state.md`).
///
/// * opt 0, coinbase: under the miner's nonce of the block; `amount` = the
///   block's fees, `tx` is `None`.
/// * opt 1, wiring: under the sender's nonce; `counterparty` = receiver.
/// * opt 2, message: under the sender's nonce; `message` and `attachment` copied
///   from the transaction so a wallet reads them with one key lookup.
#[derive(Debug, Clone, PartialEq, Eq, Serialize_tuple, Deserialize_tuple)]
pub struct TxOutput {
    /// What kind of output.
    pub opt_code: OptCode,
    /// Number of the block that applied it.
    pub block_number: u64,
    /// Timestamp of that block.
    pub block_time: u64,
    /// Amount moved (wiring) or credited (coinbase).
    pub amount: u64,
    /// Fee paid (0 for a coinbase).
    pub fee: u64,
    /// The receiver of a wiring.
    pub counterparty: Option<Address>,
    /// The id of the transaction (none for a coinbase).
    pub tx: Option<Digest>,
    /// The message text of an opt-2 transaction.
    pub message: Option<String>,
    /// The attachment of an opt-2 transaction.
    pub attachment: Option<AttachmentRef>,
}
