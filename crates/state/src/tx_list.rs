//! A block's transaction list, built while its transactions apply: each
//! transaction is encoded once, and its signed digest and id are hashed from
//! those bytes instead of from re-encodings.
//!
//! A signed transaction encodes as `[tx, signature]`: the array header
//! `0x82`, the transaction's encoding (what is signed), the signature's. The
//! list block is the array header of the count followed by those encodings,
//! byte for byte what [`encode_transactions`](crate::block::encode_transactions)
//! gives for the same transactions.

use serde::Serialize;

use crate::digest::Digest;
use crate::tx::SignedTransaction;
use crate::Result;

/// The CBOR header of a two-element array.
const PAIR: u8 = 0x82;

/// The encodings of the transactions kept so far.
#[derive(Debug, Default)]
pub(crate) struct TxList {
    body: Vec<u8>,
    count: u64,
    /// Where the last appended, not yet kept, transaction starts.
    pending: Option<usize>,
}

/// The hashes of one appended transaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct TxHashes {
    /// What the sender signed ([`Transaction::signing_digest`](crate::Transaction::signing_digest)).
    pub(crate) signing_digest: Digest,
    /// The transaction id ([`SignedTransaction::id`]).
    pub(crate) id: Digest,
}

impl TxList {
    /// An empty list with room for about `transactions` wirings.
    pub(crate) fn with_capacity(transactions: usize) -> Self {
        Self {
            body: Vec::with_capacity(transactions.saturating_mul(200)),
            count: 0,
            pending: None,
        }
    }

    /// Appends `signed` tentatively and returns its hashes; [`keep`](Self::keep)
    /// keeps it, the next `append` or [`finish`](Self::finish) drops it.
    pub(crate) fn append(&mut self, signed: &SignedTransaction) -> Result<TxHashes> {
        self.drop_pending();
        let start = self.body.len();
        self.pending = Some(start);
        self.body.push(PAIR);
        let tx_start = self.body.len();
        write(&mut self.body, &signed.tx)?;
        let tx_end = self.body.len();
        write(&mut self.body, &signed.signature)?;
        let (signing_digest, id) = match (self.body.get(tx_start..tx_end), self.body.get(start..)) {
            (Some(tx), Some(whole)) => (Digest::of(&[tx]), Digest::of(&[whole])),
            _ => {
                return Err(tau_ipld::canonical::CodecError::Encode {
                    what: "signed transaction",
                    reason: "encoding shorter than written".into(),
                }
                .into())
            }
        };
        Ok(TxHashes { signing_digest, id })
    }

    /// Keeps the transaction appended last.
    pub(crate) fn keep(&mut self) {
        if self.pending.take().is_some() {
            self.count += 1;
        }
    }

    fn drop_pending(&mut self) {
        if let Some(start) = self.pending.take() {
            self.body.truncate(start);
        }
    }

    /// The list block: the kept transactions as a DAG-CBOR array.
    pub(crate) fn finish(mut self) -> Vec<u8> {
        self.drop_pending();
        let mut out = Vec::with_capacity(self.body.len() + 9);
        tau_ipld::canonical::write_array_header(&mut out, self.count);
        out.extend_from_slice(&self.body);
        out
    }
}

fn write<T: Serialize>(out: &mut Vec<u8>, value: &T) -> Result<()> {
    Ok(tau_ipld::canonical::encode_into(
        "signed transaction",
        value,
        out,
    )?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::block::encode_transactions;
    use crate::params::Params;
    use crate::tx::{AttachmentRef, Profile, Transaction, TxBody, TxRef};
    use proptest::prelude::*;
    use tau_keys::{Address, Keypair};

    fn transaction(
        seed: u8,
        nonce: u64,
        message: Option<String>,
        extras: bool,
    ) -> SignedTransaction {
        let key = Keypair::from_bytes(&[seed % 100 + 1; 32]).unwrap();
        let params = Params::devnet();
        let body = match message {
            Some(text) => TxBody::Message {
                text,
                attachment: extras.then(|| AttachmentRef {
                    root: tau_ipld::block::cid_of(tau_ipld::block::RAW, &[seed]),
                    size: nonce,
                }),
            },
            None => TxBody::Wiring {
                receiver: Address::new([seed; 20]),
                amount: nonce.wrapping_mul(7),
            },
        };
        Transaction {
            version: params.version,
            chain_id: params.chain_id,
            sender: key.address(),
            nonce,
            timestamp: nonce ^ 0x5555,
            fee: u64::from(seed),
            body,
            thread: extras.then(|| TxRef {
                sender: Address::new([seed ^ 1; 20]),
                nonce,
            }),
            profile: extras.then(|| Profile {
                relays: vec![format!("/ip4/127.0.0.1/tcp/{seed}")],
                peer_id: None,
                contact: Some("c".into()),
                free_quota: Some(nonce),
            }),
        }
        .sign(&key)
        .unwrap()
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

        /// The list built here is byte for byte the encoding of the kept
        /// transactions, and the hashes are those of the re-encoding path.
        #[test]
        fn same_bytes_and_hashes_as_encoding_each_transaction(
            txs in proptest::collection::vec(
                (any::<u8>(), any::<u64>(), proptest::option::of("[a-z ]{0,40}"), any::<bool>(), any::<bool>()),
                0..300,
            )
        ) {
            let mut list = TxList::with_capacity(4);
            let mut kept = Vec::new();
            for (seed, nonce, message, extras, keep) in txs {
                let signed = transaction(seed, nonce, message, extras);
                let hashes = list.append(&signed).unwrap();
                prop_assert_eq!(hashes.signing_digest, signed.tx.signing_digest().unwrap());
                prop_assert_eq!(hashes.id, signed.id().unwrap());
                if keep {
                    list.keep();
                    kept.push(signed);
                }
            }
            prop_assert_eq!(list.finish(), encode_transactions(&kept).unwrap());
        }
    }
}
