//! Attachment logs (proof of service): the downloads a miner served since
//! its previous block, carried by its next block and written into the state
//! under `<miner><miner nonce>AttachmentsLog` (`docs/src/formats/attachments.md`).
//!
//! The records are a DAG-CBOR list stored as their own block; the block
//! header links it ([`UnsignedBlock::attachments_log`](crate::UnsignedBlock))
//! and the state key holds the same link, so validation by re-execution
//! re-derives the key from the block. The record layout is the tuple
//! `[visitor, root, bytes, time]`; tau-attach's `ServiceLog` (the host's
//! bookkeeping) keeps the same [`ServiceRecord`]s.

use cid::Cid;
use serde_tuple::{Deserialize_tuple, Serialize_tuple};
use tau_ipld::block::DAG_CBOR;
use tau_ipld::Blockstore;
use tau_keys::Address;

use crate::params::Params;
use crate::state::State;
use crate::state_key::StateKey;
use crate::{Error, Result};

/// One served download: who fetched what from the miner, how much, when.
#[derive(Debug, Clone, PartialEq, Eq, Serialize_tuple, Deserialize_tuple)]
pub struct ServiceRecord {
    /// The visitor's address.
    pub visitor: Address,
    /// The attachment root. Named, not linked: chain sync never
    /// descends into attachment data ([`tau_ipld::cid_as_bytes`]).
    #[serde(with = "tau_ipld::cid_as_bytes")]
    pub root: Cid,
    /// Bytes served.
    pub bytes: u64,
    /// When (seconds since the Unix epoch).
    pub time: u64,
}

/// The canonical DAG-CBOR list block of a log.
pub fn encode_attachments_log(records: &[ServiceRecord]) -> Result<Vec<u8>> {
    Ok(tau_ipld::canonical::encode("attachments log", &records)?)
}

/// Decodes a log block, requiring its canonical encoding.
pub fn decode_attachments_log(bytes: &[u8]) -> Result<Vec<ServiceRecord>> {
    Ok(tau_ipld::canonical::decode_canonical(
        "attachments log",
        bytes,
    )?)
}

/// Checks a block's log against the rules: 1 to
/// `Params::max_attachments_log_records` records, none dated after the block.
pub(crate) fn check(params: &Params, records: &[ServiceRecord], block_time: u64) -> Result<()> {
    let bad = |reason: String| Err(Error::BadAttachmentsLog(reason));
    if records.is_empty() {
        return bad("an empty log is carried as no log".into());
    }
    if records.len() > params.max_attachments_log_records {
        return bad(format!(
            "{} records, more than {}",
            records.len(),
            params.max_attachments_log_records
        ));
    }
    if let Some(r) = records.iter().find(|r| r.time > block_time) {
        return bad(format!(
            "a record dated {} after the block time {block_time}",
            r.time
        ));
    }
    Ok(())
}

/// Stores `records` (checked) and writes the link under the miner's key;
/// returns the log's CID. Nothing is written for an empty log.
pub(crate) fn write<BS: Blockstore>(
    state: &mut State<BS>,
    params: &Params,
    miner: &Address,
    miner_nonce: u64,
    block_time: u64,
    records: &[ServiceRecord],
) -> Result<Option<Cid>> {
    if records.is_empty() {
        return Ok(None);
    }
    check(params, records, block_time)?;
    let cid = state
        .store()
        .put(DAG_CBOR, &encode_attachments_log(records)?)?;
    state.set(&StateKey::AttachmentsLog(*miner, miner_nonce), &cid)?;
    Ok(Some(cid))
}

/// Loads, decodes and checks the log `cid` a block claims.
pub(crate) fn load<BS: Blockstore>(
    store: &BS,
    params: &Params,
    cid: &Cid,
    block_time: u64,
) -> Result<Vec<ServiceRecord>> {
    let bytes = store
        .get(cid)?
        .ok_or_else(|| Error::MissingBlock(Box::new(*cid)))?;
    let records = decode_attachments_log(&bytes)?;
    check(params, &records, block_time)?;
    Ok(records)
}
