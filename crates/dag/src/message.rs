//! The messages a unit carries: payments, PoW-Equihash, TrustME, deposits
//! and plain data (TR-2018-02 §2.3, §4.3, §4.6).
//!
//! Payments are typed (the main chain resolves double spends by their
//! inputs); the payloads of PoW, TrustME and deposit messages belong to
//! tau-trustme and stay opaque bytes here.

use std::fmt;

use cid::Cid;
use serde::de::{self, SeqAccess, Visitor};
use serde::ser::SerializeTuple;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_bytes::{ByteBuf, Bytes};
use serde_tuple::{Deserialize_tuple, Serialize_tuple};
use tau_keys::Address;

/// An output being spent: the unit, the message inside it and the output
/// inside that message.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize_tuple, Deserialize_tuple,
)]
pub struct Input {
    /// The unit holding the output.
    pub unit: Cid,
    /// Index of the payment message in that unit.
    pub message_index: u32,
    /// Index of the output in that message.
    pub output_index: u32,
}

/// An amount sent to an address.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize_tuple, Deserialize_tuple)]
pub struct Output {
    /// Who receives.
    pub address: Address,
    /// How much, in notes.
    pub amount: u64,
}

/// A transfer: outputs spent and outputs created.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize_tuple, Deserialize_tuple)]
pub struct Payment {
    /// Outputs of earlier units spent by this payment.
    pub inputs: Vec<Input>,
    /// New outputs.
    pub outputs: Vec<Output>,
}

/// One message of a unit. Encoded as the tuple `[kind, payload]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Message {
    /// Kind 0: a payment.
    Payment(Payment),
    /// Kind 1: a PoW unit's Equihash solution (payload owned by tau-trustme).
    PowEquihash(Vec<u8>),
    /// Kind 2: an attestation; a unit carrying one is a TrustME unit and
    /// counts towards attestation levels (payload owned by tau-trustme).
    TrustMe(Vec<u8>),
    /// Kind 3: a deposit contract (payload owned by tau-trustme).
    Deposit(Vec<u8>),
    /// Kind 4: plain data.
    Data(Vec<u8>),
}

impl Message {
    /// The kind number on the wire.
    pub fn kind(&self) -> u8 {
        match self {
            Message::Payment(_) => 0,
            Message::PowEquihash(_) => 1,
            Message::TrustMe(_) => 2,
            Message::Deposit(_) => 3,
            Message::Data(_) => 4,
        }
    }
}

impl Serialize for Message {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut t = s.serialize_tuple(2)?;
        t.serialize_element(&self.kind())?;
        match self {
            Message::Payment(p) => t.serialize_element(p)?,
            Message::PowEquihash(b)
            | Message::TrustMe(b)
            | Message::Deposit(b)
            | Message::Data(b) => t.serialize_element(Bytes::new(b))?,
        }
        t.end()
    }
}

impl<'de> Deserialize<'de> for Message {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Message;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("[kind 0..=4, payload]")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Message, A::Error> {
                let missing = || de::Error::invalid_length(1, &"2 elements");
                let kind: u8 = seq.next_element()?.ok_or_else(missing)?;
                let bytes = |seq: &mut A| -> Result<Vec<u8>, A::Error> {
                    let b: ByteBuf = seq.next_element()?.ok_or_else(missing)?;
                    Ok(b.into_vec())
                };
                let message = match kind {
                    0 => Message::Payment(seq.next_element()?.ok_or_else(missing)?),
                    1 => Message::PowEquihash(bytes(&mut seq)?),
                    2 => Message::TrustMe(bytes(&mut seq)?),
                    3 => Message::Deposit(bytes(&mut seq)?),
                    4 => Message::Data(bytes(&mut seq)?),
                    k => return Err(de::Error::custom(format!("unknown message kind {k}"))),
                };
                if seq.next_element::<de::IgnoredAny>()?.is_some() {
                    return Err(de::Error::invalid_length(3, &"2 elements"));
                }
                Ok(message)
            }
        }
        d.deserialize_tuple(2, V)
    }
}
