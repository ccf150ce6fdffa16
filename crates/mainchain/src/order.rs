//! Marking an MCI stable: the total order of its units (MCI, then level,
//! then id, as ocore; TrustNote has no explicit sort), LIMCIs, and double
//! spends resolved by that order — the first unit to spend an output keeps
//! it, every later one is marked bad.

use cid::Cid;
use tau_dag::{Input, UnitNum};
use tau_ipld::Blockstore;

use crate::chain::{MainChain, BAD};

/// An output being spent, as a map key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct InputKey {
    unit: [u8; 32],
    message: u32,
    output: u32,
}

impl InputKey {
    pub(crate) fn of(input: &Input) -> Self {
        let mut unit = [0u8; 32];
        let bytes = input.unit.to_bytes();
        let n = bytes.len().min(32);
        // Unit ids are 36 bytes with a fixed 4-byte prefix; other CIDs never
        // name an output and only need to stay distinct from each other.
        let tail = bytes.get(bytes.len() - n..).unwrap_or(&[]);
        unit[..tail.len()].copy_from_slice(tail);
        Self {
            unit,
            message: input.message_index,
            output: input.output_index,
        }
    }
}

/// A unit of a newly stable MCI.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StableUnit {
    /// Its number in this DAG.
    pub num: UnitNum,
    /// Its id.
    pub id: Cid,
    /// It lost a double spend to a unit earlier in the total order.
    pub bad: bool,
    /// Its payments name at least one input (known from the insert, so a
    /// ledger can pass over the other units without reading them back).
    pub spends: bool,
}

/// A newly stable MCI with its units in total order (level, then id).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StableMci {
    /// The MCI.
    pub mci: u64,
    /// Its units; the MC unit is the last one (it has the highest level).
    pub units: Vec<StableUnit>,
}

impl<BS: Blockstore> MainChain<BS> {
    /// Marks MCI `last_stable + 1` stable.
    pub(crate) fn mark_next_stable(&mut self) -> StableMci {
        let m = self.last_stable + 1;
        let mut bucket = self.unstable.pop_front().unwrap_or_default();
        let dag = &self.dag;
        bucket.sort_unstable_by_key(|&u| (dag.level(u), dag.digest(u).copied()));
        let mut units = Vec::with_capacity(bucket.len());
        for &u in &bucket {
            let limci = self
                .dag
                .parents(u)
                .iter()
                .filter_map(|&p| {
                    if self.on_mc(p) {
                        Some(self.mci[p as usize])
                    } else {
                        Some(self.limci[p as usize]).filter(|&l| l != crate::chain::NONE)
                    }
                })
                .max();
            if let Some(l) = limci {
                self.limci[u as usize] = l;
            }
            let mut bad = false;
            let keys = if self.inputs.is_empty() {
                None
            } else {
                self.inputs.remove(&u)
            };
            let spends = keys.is_some();
            if let Some(keys) = keys {
                let mut own = std::collections::HashSet::new();
                bad = keys
                    .iter()
                    .any(|k| self.spent.contains_key(k) || !own.insert(*k));
                if bad {
                    self.flags[u as usize] |= BAD;
                } else {
                    for k in keys {
                        self.spent.insert(k, u);
                    }
                }
            }
            units.push(StableUnit {
                num: u,
                id: self.dag.id(u).unwrap_or_default(),
                bad,
                spends,
            });
        }
        self.order.extend_from_slice(&bucket);
        self.order_start.push(self.order.len() as u32);
        self.last_stable = m;
        StableMci {
            mci: u64::from(m),
            units,
        }
    }
}
