//! Blocks: the TAU design note's "contract" X, the record of how a state was produced.

use cid::Cid;
use serde_tuple::{Deserialize_tuple, Serialize_tuple};
use tau_keys::{Address, Keypair, Signature};

use crate::digest::Digest;
use crate::params::ChainId;
use crate::tx::SignedTransaction;
use crate::Result;

/// The unsigned part of a block; its DAG-CBOR encoding is what the miner signs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize_tuple, Deserialize_tuple)]
pub struct UnsignedBlock {
    /// Block version (`Params::version`).
    pub version: u64,
    /// The chain.
    pub chain_id: ChainId,
    /// Height: 0 for genesis, previous + 1 after.
    pub number: u64,
    /// The state root this block builds on (`None` only for genesis).
    pub previous: Option<Cid>,
    /// Seconds since the Unix epoch.
    pub timestamp: u64,
    /// Proof-of-Transaction base target.
    pub base_target: u64,
    /// Sum of ⌊2^64 / base target⌋ over the chain.
    pub cumulative_difficulty: u64,
    /// BLAKE2b-256(previous generation signature ‖ miner address).
    pub generation_signature: Digest,
    /// Who mined the block.
    pub miner: Address,
    /// The miner's nonce after the block (mining counts as a transaction to self).
    pub miner_nonce: u64,
    /// CID of the transactions applied, in order: a DAG-CBOR list of
    /// [`SignedTransaction`]s stored as its own block, so a header (what a
    /// chain walk or a light client reads) stays small.
    pub transactions: Cid,
    /// CID of the miner's attachment log for this block (the downloads it
    /// served, a DAG-CBOR list of [`ServiceRecord`](crate::ServiceRecord)s),
    /// also held under `<miner><miner_nonce>AttachmentsLog`; `None`: none.
    pub attachments_log: Option<Cid>,
}

impl UnsignedBlock {
    /// The digest the miner signs: BLAKE2b-256 of the DAG-CBOR encoding.
    pub fn signing_digest(&self) -> Result<Digest> {
        Ok(Digest::of(&[&tau_ipld::canonical::encode("block", self)?]))
    }

    /// Signs the block with the miner's key.
    pub fn sign(self, key: &Keypair) -> Result<Block> {
        let signature = key.sign(self.signing_digest()?.as_bytes());
        Ok(Block {
            unsigned: self,
            signature,
        })
    }
}

/// The DAG-CBOR list block of a block's transactions.
pub fn encode_transactions(transactions: &[SignedTransaction]) -> Result<Vec<u8>> {
    Ok(tau_ipld::canonical::encode(
        "transaction list",
        &transactions,
    )?)
}

/// Decodes a block's transaction list, requiring its canonical encoding
/// (signatures unchecked).
pub fn decode_transactions(bytes: &[u8]) -> Result<Vec<SignedTransaction>> {
    Ok(tau_ipld::canonical::decode_canonical(
        "transaction list",
        bytes,
    )?)
}

/// A signed block, encoded `[unsigned, signature]` and stored as its own
/// DAG-CBOR block; the state's contract key holds its CID.
#[derive(Debug, Clone, PartialEq, Eq, Serialize_tuple, Deserialize_tuple)]
pub struct Block {
    /// The signed content.
    pub unsigned: UnsignedBlock,
    /// The miner's signature over [`UnsignedBlock::signing_digest`].
    pub signature: Signature,
}

impl Block {
    /// Decodes a block, requiring its canonical encoding (signature unchecked).
    pub fn decode(bytes: &[u8]) -> Result<Self> {
        Ok(tau_ipld::canonical::decode_canonical("block", bytes)?)
    }

    /// The canonical DAG-CBOR encoding.
    pub fn encode(&self) -> Result<Vec<u8>> {
        Ok(tau_ipld::canonical::encode("block", self)?)
    }

    /// Checks that the signature recovers to the miner.
    pub fn verify_signature(&self) -> Result<()> {
        let digest = self.unsigned.signing_digest()?;
        tau_keys::verify(digest.as_bytes(), &self.signature, &self.unsigned.miner)
            .map_err(crate::Error::BlockSignature)
    }

    /// Block height.
    pub fn number(&self) -> u64 {
        self.unsigned.number
    }

    /// Timestamp.
    pub fn timestamp(&self) -> u64 {
        self.unsigned.timestamp
    }

    /// Cumulative difficulty.
    pub fn cumulative_difficulty(&self) -> u64 {
        self.unsigned.cumulative_difficulty
    }
}
