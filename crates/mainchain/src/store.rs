//! Persistence: the DAG's root record plus the stable point.
//!
//! Stabilization is decided as units arrive, so it depends on arrival
//! history; a reload therefore restores the recorded stable point instead of
//! recomputing it from the final DAG.

use cid::Cid;
use serde_tuple::{Deserialize_tuple, Serialize_tuple};
use tau_dag::{Attestors, Dag};
use tau_ipld::block::DAG_CBOR;
use tau_ipld::Blockstore;

use crate::chain::MainChain;
use crate::order::StableMci;
use crate::params::Params;
use crate::{Error, Result};

/// The root record of a stored main chain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize_tuple, Deserialize_tuple)]
pub struct MainChainRoot {
    /// The DAG's root record ([`Dag::checkpoint`]).
    pub dag: Cid,
    /// The last stable MCI.
    pub stable_mci: u64,
    /// The last stable MC unit.
    pub stable_unit: Cid,
}

impl<BS: Blockstore> MainChain<BS> {
    /// Writes the DAG root and the stable point; returns the record's CID.
    pub fn checkpoint(&self) -> Result<Cid> {
        let record = MainChainRoot {
            dag: self.dag.checkpoint()?,
            stable_mci: self.last_stable_mci(),
            stable_unit: self.dag.id(self.last_stable_unit()).unwrap_or_default(),
        };
        let bytes = serde_ipld_dagcbor::to_vec(&record).map_err(|e| Error::Encode {
            what: "main chain root",
            reason: e.to_string(),
        })?;
        Ok(self.dag.store().put(DAG_CBOR, &bytes)?)
    }

    /// Reloads a main chain from its record: the DAG is re-indexed, the main
    /// chain rebuilt, and stability restored to the recorded point (checked
    /// against the recorded unit). Returns MCIs that became stable beyond
    /// the record (not reported before).
    pub fn open<A: Attestors + ?Sized>(
        store: BS,
        dag_params: tau_dag::Params,
        params: Params,
        root: &Cid,
        attestors: &A,
    ) -> Result<(Self, Vec<StableMci>)> {
        let bytes = store
            .get(root)?
            .ok_or(Error::Reload("the root record is not in the store"))?;
        let record: MainChainRoot =
            serde_ipld_dagcbor::from_slice(&bytes).map_err(|e| Error::Decode {
                what: "main chain root",
                reason: e.to_string(),
            })?;
        let dag = Dag::open(store, dag_params, &record.dag, attestors)?;
        let (mut chain, mut events) = MainChain::new(dag, params)?;
        let target = u32::try_from(record.stable_mci)
            .map_err(|_| Error::Reload("stable MCI out of range"))?;
        if chain.mc.get(target as usize).and_then(|&u| chain.dag.id(u)) != Some(record.stable_unit)
        {
            return Err(Error::Reload(
                "the recorded stable unit is not on the rebuilt main chain",
            ));
        }
        while chain.last_stable < target {
            chain.mark_next_stable();
        }
        events.retain(|e| e.mci > record.stable_mci);
        Ok((chain, events))
    }
}
