//! Typed reads and writes of one state (a HAMT root).

use cid::Cid;
use serde::de::DeserializeOwned;
use serde::Serialize;
use tau_hamt::{CachedTree, Hamt, PreparedKey};
use tau_ipld::Blockstore;
use tau_keys::Address;

use crate::block::Block;
use crate::params::Params;
use crate::record::TxOutput;
use crate::state_key::StateKey;
use crate::tx::Profile;
use crate::{Error, Result};

/// One TAU state: the HAMT of [`StateKey`]s, read and written through typed
/// accessors. Changes stay in memory until [`flush`](State::flush).
pub struct State<BS> {
    hamt: Hamt<BS, ()>,
    /// The contract key's bytes.
    contract_key: Vec<u8>,
    scratch: Vec<u8>,
}

impl<BS: Blockstore> State<BS> {
    /// An empty state.
    pub fn empty(store: BS, params: &Params) -> Self {
        Self {
            hamt: Hamt::new_with_config(store, params.hamt),
            contract_key: StateKey::Contract(params.chain_id.clone()).to_bytes(),
            scratch: Vec::new(),
        }
    }

    /// The state at `root`.
    pub fn load(store: BS, params: &Params, root: &Cid) -> Result<Self> {
        Ok(Self {
            hamt: Hamt::load_with_config(store, root, params.hamt)?,
            contract_key: StateKey::Contract(params.chain_id.clone()).to_bytes(),
            scratch: Vec::new(),
        })
    }

    /// The state at `root`, starting from `tree`'s decoded nodes if `tree`
    /// holds that root with the chain's HAMT shape (else `tree` is dropped and
    /// the root is read from the store, as [`load`](State::load) does).
    pub(crate) fn load_warm(
        store: BS,
        params: &Params,
        root: &Cid,
        tree: Option<CachedTree>,
    ) -> Result<Self> {
        match tree {
            Some(tree) if tree.root() == root && *tree.config() == params.hamt => Ok(Self {
                hamt: Hamt::from_cached_tree(store, tree),
                contract_key: StateKey::Contract(params.chain_id.clone()).to_bytes(),
                scratch: Vec::new(),
            }),
            _ => Self::load(store, params, root),
        }
    }

    /// The decoded nodes of this state, if it is flushed (see
    /// [`Hamt::into_cached_tree`]).
    pub(crate) fn into_cached_tree(self) -> Option<CachedTree> {
        self.hamt.into_cached_tree()
    }

    /// The store.
    pub fn store(&self) -> &BS {
        self.hamt.store()
    }

    /// Writes the changed nodes and returns the root.
    pub fn flush(&mut self) -> Result<Cid> {
        Ok(self.hamt.flush()?)
    }

    /// The value under `key`, decoded as `T`.
    pub fn get<T: DeserializeOwned>(&self, key: &StateKey) -> Result<Option<T>> {
        decode_value(key, self.hamt.get_encoded(key.to_bytes())?)
    }

    /// Sets `key` to `value`.
    pub fn set<T: Serialize>(&mut self, key: &StateKey, value: &T) -> Result<()> {
        encode_value(&mut self.scratch, value)?;
        self.hamt.set_encoded(key.to_bytes(), &self.scratch)?;
        Ok(())
    }

    /// `key` with its HAMT index hash computed once, for a read and a
    /// write of the same key ([`get_slot`](Self::get_slot), [`set_slot`](Self::set_slot)).
    pub(crate) fn slot(&self, key: StateKey) -> Result<Slot> {
        let prepared = PreparedKey::new(self.hamt.config().key_hash(), key.to_bytes())?;
        Ok(Slot { key, prepared })
    }

    /// [`get`](Self::get) of a prepared key.
    pub(crate) fn get_slot<T: DeserializeOwned>(&self, slot: &Slot) -> Result<Option<T>> {
        decode_value(&slot.key, self.hamt.get_prepared(&slot.prepared)?)
    }

    /// [`set`](Self::set) of a prepared key.
    pub(crate) fn set_slot<T: Serialize>(&mut self, slot: &Slot, value: &T) -> Result<()> {
        encode_value(&mut self.scratch, value)?;
        self.hamt.set_prepared(&slot.prepared, &self.scratch)?;
        Ok(())
    }

    /// The balance of `address` (`None` if it has no account).
    pub fn balance(&self, address: &Address) -> Result<Option<u64>> {
        self.get(&StateKey::Balance(*address))
    }

    /// The nonce of `address` (0 if it never sent or mined).
    pub fn nonce(&self, address: &Address) -> Result<u64> {
        Ok(self.get(&StateKey::Nonce(*address))?.unwrap_or(0))
    }

    /// The output record of `address`'s transaction `nonce`.
    pub fn tx_output(&self, address: &Address, nonce: u64) -> Result<Option<TxOutput>> {
        self.get(&StateKey::TxOutput(*address, nonce))
    }

    /// The profile last published by `address`.
    pub fn profile(&self, address: &Address) -> Result<Option<Profile>> {
        self.get(&StateKey::Profile(*address))
    }

    /// The CID of the block that produced this state.
    pub fn block_cid(&self) -> Result<Option<Cid>> {
        let Some(bytes) = self.hamt.get_encoded(&self.contract_key)? else {
            return Ok(None);
        };
        serde_ipld_dagcbor::from_slice(bytes)
            .map(Some)
            .map_err(|e| Error::BadValue {
                key: String::from("Contract"),
                reason: e.to_string(),
            })
    }

    /// The block that produced this state, loaded and decoded.
    pub fn block(&self) -> Result<Option<(Cid, Block)>> {
        let Some(cid) = self.block_cid()? else {
            return Ok(None);
        };
        Ok(Some((cid, load_block(self.store(), &cid)?)))
    }

    /// Every account and its balance, in HAMT order.
    pub fn balances(&self) -> Result<Vec<(Address, u64)>> {
        let mut out = Vec::new();
        for entry in self.hamt.iter_encoded() {
            let (key, value) = entry?;
            if let Ok(StateKey::Balance(address)) = StateKey::from_bytes(key) {
                let balance: u64 =
                    serde_ipld_dagcbor::from_slice(value).map_err(|e| Error::BadValue {
                        key: StateKey::Balance(address).to_string(),
                        reason: e.to_string(),
                    })?;
                out.push((address, balance));
            }
        }
        Ok(out)
    }
}

/// A state key and its HAMT index hash (see [`State::slot`]).
pub(crate) struct Slot {
    key: StateKey,
    prepared: PreparedKey,
}

fn decode_value<T: DeserializeOwned>(key: &StateKey, bytes: Option<&[u8]>) -> Result<Option<T>> {
    let Some(bytes) = bytes else {
        return Ok(None);
    };
    serde_ipld_dagcbor::from_slice(bytes)
        .map(Some)
        .map_err(|e| Error::BadValue {
            key: key.to_string(),
            reason: e.to_string(),
        })
}

fn encode_value<T: Serialize>(out: &mut Vec<u8>, value: &T) -> Result<()> {
    out.clear();
    Ok(tau_ipld::canonical::encode_into("state value", value, out)?)
}

/// Loads and decodes the block `cid` (verified against its CID by the store).
pub(crate) fn load_block<BS: Blockstore>(store: &BS, cid: &Cid) -> Result<Block> {
    let bytes = store
        .get(cid)?
        .ok_or_else(|| Error::MissingBlock(Box::new(*cid)))?;
    Block::decode(&bytes)
}

/// Stores `block` as a DAG-CBOR block and returns its CID.
pub(crate) fn store_block<BS: Blockstore>(store: &BS, block: &Block) -> Result<Cid> {
    Ok(store.put(tau_ipld::block::DAG_CBOR, &block.encode()?)?)
}
