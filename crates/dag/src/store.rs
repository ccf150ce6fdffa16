//! Persistence: unit bytes live in the block store under their ids; a small
//! root record names the genesis and the free units. Every unit is reachable
//! from the free units through parent links, so a DAG reloads by walking
//! them and re-inserting the units parents first (the in-memory index is
//! rebuilt; unit numbers may differ, every consensus value is the same).

use std::collections::{HashMap, HashSet};

use cid::Cid;
use serde_tuple::{Deserialize_tuple, Serialize_tuple};
use tau_ipld::block::DAG_CBOR;
use tau_ipld::Blockstore;

use crate::attestors::Attestors;
use crate::dag::Dag;
use crate::params::Params;
use crate::unit::{Unit, VerifiedUnit};
use crate::{Error, Result};

/// The root record of a stored DAG.
#[derive(Debug, Clone, PartialEq, Eq, Serialize_tuple, Deserialize_tuple)]
pub struct DagRoot {
    /// Format version (1).
    pub version: u64,
    /// The genesis unit.
    pub genesis: Cid,
    /// The free units when the record was written, ascending by id.
    pub free: Vec<Cid>,
}

fn load_unit<BS: Blockstore>(store: &BS, id: &Cid, params: &Params) -> Result<VerifiedUnit> {
    let bytes = store
        .get(id)?
        .ok_or_else(|| Error::MissingUnit(Box::new(*id)))?;
    // Units in our store were verified when inserted; `get` re-hashed them.
    Unit::decode(&bytes, params)?.assume_verified(params)
}

impl<BS: Blockstore> Dag<BS> {
    /// Writes the root record and returns its CID; keep it to [`open`](Self::open) the DAG later.
    pub fn checkpoint(&self) -> Result<Cid> {
        let mut free: Vec<Cid> = self.free_units().filter_map(|n| self.id(n)).collect();
        free.sort_unstable_by_key(|c| c.to_bytes());
        let root = DagRoot {
            version: 1,
            genesis: self.genesis(),
            free,
        };
        let bytes = tau_ipld::canonical::encode("dag root", &root)?;
        Ok(self.store().put(DAG_CBOR, &bytes)?)
    }

    /// Reloads the DAG whose root record is `root` from `store`.
    pub fn open<A: Attestors + ?Sized>(
        store: BS,
        params: Params,
        root: &Cid,
        attestors: &A,
    ) -> Result<Self> {
        let bytes = store
            .get(root)?
            .ok_or_else(|| Error::MissingUnit(Box::new(*root)))?;
        let record: DagRoot = tau_ipld::canonical::decode_canonical("dag root", &bytes)?;
        let genesis = load_unit(&store, &record.genesis, &params)?;
        // Parents-first order by an iterative depth-first walk from the free units.
        let mut order = Vec::new();
        let mut loaded: HashMap<Cid, VerifiedUnit> = HashMap::new();
        let mut seen: HashSet<Cid> = HashSet::from([record.genesis]);
        let mut stack: Vec<(Cid, bool)> = record.free.iter().rev().map(|c| (*c, false)).collect();
        while let Some((id, expanded)) = stack.pop() {
            if expanded {
                if let Some(unit) = loaded.remove(&id) {
                    order.push(unit);
                }
                continue;
            }
            if !seen.insert(id) {
                continue;
            }
            let unit = load_unit(&store, &id, &params)?;
            stack.push((id, true));
            for parent in unit.unit().parents().iter().rev() {
                if !seen.contains(parent) {
                    stack.push((*parent, false));
                }
            }
            loaded.insert(id, unit);
        }
        let mut dag = Dag::new(store, params, genesis)?;
        for unit in order {
            let id = unit.id();
            let done = dag.insert(unit, attestors)?;
            if done.orphaned || done.accepted.is_empty() {
                return Err(Error::MissingUnit(Box::new(id)));
            }
        }
        Ok(dag)
    }
}
