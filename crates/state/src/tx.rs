//! Transactions: wiring (opt code 1) and messages with optional attachments
//! (opt code 2), signed by their sender.

use std::fmt;

use cid::Cid;
use serde::de::{self, SeqAccess, Visitor};
use serde::ser::SerializeTuple;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_tuple::{Deserialize_tuple, Serialize_tuple};
use tau_keys::{Address, Keypair, Signature};

use crate::digest::Digest;
use crate::error::TxError;
use crate::params::{ChainId, Params};
use crate::Result;

/// What a transaction does. Encoded as a tuple whose first element is the
/// opt code of the TAU design note: `[1, receiver, amount]` or `[2, text, attachment]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TxBody {
    /// Opt code 1: move `amount` to `receiver`.
    Wiring {
        /// Who receives.
        receiver: Address,
        /// How much.
        amount: u64,
    },
    /// Opt code 2: publish a message, optionally with an attachment.
    Message {
        /// The text (at most `Params::max_message_len` bytes).
        text: String,
        /// The attachment's root and size, if any.
        attachment: Option<AttachmentRef>,
    },
}

impl TxBody {
    /// The opt code (1 wiring, 2 message).
    pub fn opt_code(&self) -> OptCode {
        match self {
            TxBody::Wiring { .. } => OptCode::Wiring,
            TxBody::Message { .. } => OptCode::Message,
        }
    }

    /// The amount moved (0 for a message).
    pub fn amount(&self) -> u64 {
        match self {
            TxBody::Wiring { amount, .. } => *amount,
            TxBody::Message { .. } => 0,
        }
    }
}

/// The opt code of a transaction output (the TAU design note; `docs/src/formats/state.md`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OptCode {
    /// 0: the miner's coinbase (sum of the block's fees).
    Coinbase,
    /// 1: a transfer.
    Wiring,
    /// 2: a message, with or without attachment.
    Message,
}

impl OptCode {
    /// The number on the wire.
    pub const fn code(self) -> u8 {
        match self {
            OptCode::Coinbase => 0,
            OptCode::Wiring => 1,
            OptCode::Message => 2,
        }
    }

    /// The opt code with this number.
    pub const fn from_code(code: u8) -> Option<Self> {
        match code {
            0 => Some(OptCode::Coinbase),
            1 => Some(OptCode::Wiring),
            2 => Some(OptCode::Message),
            _ => None,
        }
    }
}

impl Serialize for OptCode {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.serialize_u8(self.code())
    }
}

impl<'de> Deserialize<'de> for OptCode {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        let code = u8::deserialize(d)?;
        OptCode::from_code(code)
            .ok_or_else(|| de::Error::custom(format!("unknown opt code {code}")))
    }
}

impl Serialize for TxBody {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        let mut t = s.serialize_tuple(3)?;
        t.serialize_element(&self.opt_code())?;
        match self {
            TxBody::Wiring { receiver, amount } => {
                t.serialize_element(receiver)?;
                t.serialize_element(amount)?;
            }
            TxBody::Message { text, attachment } => {
                t.serialize_element(text)?;
                t.serialize_element(attachment)?;
            }
        }
        t.end()
    }
}

impl<'de> Deserialize<'de> for TxBody {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = TxBody;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("[opt code, ..] with opt code 1 or 2")
            }
            fn visit_seq<A: SeqAccess<'de>>(
                self,
                mut seq: A,
            ) -> std::result::Result<TxBody, A::Error> {
                let missing = || de::Error::invalid_length(1, &"3 elements");
                let code: OptCode = seq.next_element()?.ok_or_else(missing)?;
                let body = match code {
                    OptCode::Wiring => TxBody::Wiring {
                        receiver: seq.next_element()?.ok_or_else(missing)?,
                        amount: seq.next_element()?.ok_or_else(missing)?,
                    },
                    OptCode::Message => TxBody::Message {
                        text: seq.next_element()?.ok_or_else(missing)?,
                        attachment: seq.next_element()?.ok_or_else(missing)?,
                    },
                    OptCode::Coinbase => {
                        return Err(de::Error::custom("a coinbase is not a transaction"))
                    }
                };
                if seq.next_element::<de::IgnoredAny>()?.is_some() {
                    return Err(de::Error::invalid_length(4, &"3 elements"));
                }
                Ok(body)
            }
        }
        d.deserialize_tuple(3, V)
    }
}

/// An attachment carried by a message: its root CID and total size in bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize_tuple, Deserialize_tuple)]
pub struct AttachmentRef {
    /// Root of the attachment (a HAMT of sections, see tau-attach). Named, not linked: chain sync never
    /// descends into attachment data ([`tau_ipld::cid_as_bytes`]).
    #[serde(with = "tau_ipld::cid_as_bytes")]
    pub root: Cid,
    /// Size in bytes.
    pub size: u64,
}

/// A reference to a transaction: its sender and nonce. A message's `thread`
/// names the transaction it answers (the design note: "other sender address + tx nonce").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize_tuple, Deserialize_tuple)]
pub struct TxRef {
    /// The sender of the referenced transaction.
    pub sender: Address,
    /// Its nonce.
    pub nonce: u64,
}

/// How to reach a sender (the design note's `senderProfileJSON`): relay multiaddresses,
/// an IPLD peer id and free-form contact text, and what the sender grants as
/// a host of attachments (the free download quota per new address). At most
/// `Params::max_profile_len` bytes encoded.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize_tuple, Deserialize_tuple)]
pub struct Profile {
    /// Relay multiaddresses, as text.
    pub relays: Vec<String>,
    /// The sender's IPLD (libp2p) peer id, as text.
    pub peer_id: Option<String>,
    /// Free-form contact (e.g. a Telegram handle).
    pub contact: Option<String>,
    /// Bytes of attachments the sender, as a host, serves free to each new
    /// visitor address (issue 9: "a free quota per new address, configurable
    /// per sender profile"); `None`: the host's default (1 GiB in tau-attach).
    pub free_quota: Option<u64>,
}

/// The unsigned part of a transaction; its DAG-CBOR encoding is what is signed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize_tuple, Deserialize_tuple)]
pub struct Transaction {
    /// Transaction version (`Params::version`).
    pub version: u64,
    /// The chain the transaction is for.
    pub chain_id: ChainId,
    /// Who sends and pays.
    pub sender: Address,
    /// The sender's nonce after this transaction (current + 1).
    pub nonce: u64,
    /// Seconds since the Unix epoch; the transaction expires `Params::tx_expiry` later.
    pub timestamp: u64,
    /// Fee paid to the miner.
    pub fee: u64,
    /// Wiring or message.
    pub body: TxBody,
    /// The transaction this one answers, if any.
    pub thread: Option<TxRef>,
    /// A new sender profile to publish, if any.
    pub profile: Option<Profile>,
}

impl Transaction {
    /// The digest that is signed: BLAKE2b-256 of the DAG-CBOR encoding.
    pub fn signing_digest(&self) -> Result<Digest> {
        Ok(Digest::of(&[&tau_ipld::canonical::encode(
            "transaction",
            self,
        )?]))
    }

    /// Signs the transaction with the sender's key.
    pub fn sign(self, key: &Keypair) -> Result<SignedTransaction> {
        let signature = key.sign(self.signing_digest()?.as_bytes());
        Ok(SignedTransaction {
            tx: self,
            signature,
        })
    }

    /// Checks the rules that need no state: chain, version, sizes, fee.
    pub fn check_static(&self, params: &Params) -> std::result::Result<(), TxError> {
        if self.chain_id != params.chain_id {
            return Err(TxError::WrongChain {
                expected: params.chain_id.to_string(),
                found: self.chain_id.to_string(),
            });
        }
        if self.version != params.version {
            return Err(TxError::UnsupportedVersion(self.version));
        }
        if self.fee < params.min_fee {
            return Err(TxError::FeeTooLow {
                fee: self.fee,
                min: params.min_fee,
            });
        }
        if let TxBody::Message { text, .. } = &self.body {
            if text.len() > params.max_message_len {
                return Err(TxError::MessageTooLong {
                    len: text.len(),
                    max: params.max_message_len,
                });
            }
        }
        if let Some(profile) = &self.profile {
            let len = tau_ipld::canonical::encode("profile", profile)
                .map(|b| b.len())
                .unwrap_or(usize::MAX);
            if len > params.max_profile_len {
                return Err(TxError::ProfileTooLong {
                    len,
                    max: params.max_profile_len,
                });
            }
        }
        self.fee
            .checked_add(self.body.amount())
            .ok_or(TxError::Overflow)?;
        Ok(())
    }

    /// Checks the transaction's time against a block's time.
    pub fn check_time(&self, params: &Params, block_time: u64) -> std::result::Result<(), TxError> {
        if self.timestamp > block_time.saturating_add(params.max_drift) {
            return Err(TxError::FutureDated {
                timestamp: self.timestamp,
                block_time,
            });
        }
        if block_time.saturating_sub(self.timestamp) > params.tx_expiry {
            return Err(TxError::Expired {
                timestamp: self.timestamp,
                block_time,
            });
        }
        Ok(())
    }
}

/// A transaction with its sender's 65-byte signature, encoded `[tx, signature]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize_tuple, Deserialize_tuple)]
pub struct SignedTransaction {
    /// The transaction.
    pub tx: Transaction,
    /// The sender's signature over [`Transaction::signing_digest`].
    pub signature: Signature,
}

impl SignedTransaction {
    /// Decodes a signed transaction, requiring its canonical encoding.
    /// Does not check the signature (see [`verify_signature`](Self::verify_signature)).
    pub fn decode(bytes: &[u8]) -> Result<Self> {
        Ok(tau_ipld::canonical::decode_canonical(
            "signed transaction",
            bytes,
        )?)
    }

    /// The canonical DAG-CBOR encoding.
    pub fn encode(&self) -> Result<Vec<u8>> {
        Ok(tau_ipld::canonical::encode("signed transaction", self)?)
    }

    /// The transaction id: BLAKE2b-256 of the signed encoding.
    pub fn id(&self) -> Result<Digest> {
        Ok(Digest::of(&[&self.encode()?]))
    }

    /// Checks that the signature recovers to the sender.
    pub fn verify_signature(&self) -> std::result::Result<(), TxError> {
        let digest = self
            .tx
            .signing_digest()
            .map_err(|e| TxError::Encode(e.to_string()))?;
        tau_keys::verify(digest.as_bytes(), &self.signature, &self.tx.sender)?;
        Ok(())
    }
}
