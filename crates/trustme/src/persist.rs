//! Persistence of a replica: a log of what entered its DAG, replayed on open.
//!
//! A replica's state is a deterministic function of the order in which
//! units entered its DAG and of the MCIs it adopted from catch-up proofs:
//! stabilization depends on arrival history, the rounds and the ledger on
//! the stable prefix. So the store keeps exactly that history and nothing
//! derived from it:
//!
//! * unit bytes, under their ids, written by the DAG as each unit enters it;
//! * a chain of [`LogSegment`] blocks, one per [`Replica::receive`] or
//!   [`Replica::apply_catchup`] that changed something: the ids of the units
//!   the call added (in DAG order) and the MC units it adopted by catch-up,
//!   each with the DAG length at that moment, and the previous segment's id;
//! * the named root [`ROOT`] pointing at the newest segment.
//!
//! [`Replica::open`] rebuilds a replica from the genesis unit and replays
//! the log: every unit goes in through the same path as on receipt (the
//! stateless checks are skipped: they passed before the unit was logged,
//! and the bytes are re-hashed against their id when read), every adoption
//! goes to [`MainChain::adopt_stable`](tau_mainchain::MainChain::adopt_stable)
//! at the same DAG length (its witnesses were checked before it was
//! logged). Each newly stable MCI is fed to the rounds as it was the first
//! time, so the main chain, the stable point, the rounds, eliminated
//! attestors, the ledger and every `state_digest` come out the same as on a
//! replica that never stopped; `unit_round` is rebuilt unit by unit.
//!
//! Crash safety: a segment and the root naming it are committed in one
//! transaction ([`RootStore::commit_with_root`]) after the DAG wrote the
//! units' bytes, so a crash leaves the root at the state before the call or
//! after it. Bytes of units no root names yet are harmless: the next replay
//! does not read them (a peer sends such units again). A root naming a
//! missing or damaged block, a gap in the log, another genesis or a unit
//! that does not replay is [`Error::CorruptReplica`], never a panic.
//!
//! Not stored: the waiting pool (units waiting for parents or a round). It
//! is lost on a crash; peers send those units again. The cost is one small
//! write transaction per call that changed something, on top of the DAG's
//! own write of each unit.

use cid::Cid;
use serde_tuple::{Deserialize_tuple, Serialize_tuple};
use tau_dag::VerifiedUnit;
use tau_ipld::block::{cid_of, DAG_CBOR};
use tau_ipld::Blockstore;

use crate::params::{Genesis, Params};
use crate::replica::{Replica, UnitDelivery};
use crate::{Error, Result};

/// The name of the root pointing at a replica's newest [`LogSegment`].
pub const ROOT: &str = "tau-trustme/replica";

/// Version of the [`LogSegment`] format.
const VERSION: u64 = 1;

/// A block store with named roots, committed together with blocks.
pub trait RootStore: Blockstore {
    /// The CID the root `name` holds, if it is set.
    fn root(&self, name: &str) -> tau_ipld::Result<Option<Cid>>;

    /// Stores `blocks` and sets the root `name` to `root` in one atomic
    /// write: after a crash either all of it is stored or none of it.
    fn commit_with_root(
        &self,
        blocks: &[(Cid, Vec<u8>)],
        name: &str,
        root: &Cid,
    ) -> tau_ipld::Result<()>;
}

#[cfg(feature = "redb")]
impl RootStore for tau_ipld::RedbBlockstore {
    fn root(&self, name: &str) -> tau_ipld::Result<Option<Cid>> {
        tau_ipld::RedbBlockstore::root(self, name)
    }

    fn commit_with_root(
        &self,
        blocks: &[(Cid, Vec<u8>)],
        name: &str,
        root: &Cid,
    ) -> tau_ipld::Result<()> {
        self.put_many_keyed_with_roots(blocks, &[(name, *root)])
    }
}

macro_rules! forward_root_store {
    ($($ptr:ty),*) => {$(
        impl<T: RootStore + ?Sized> RootStore for $ptr {
            fn root(&self, name: &str) -> tau_ipld::Result<Option<Cid>> {
                (**self).root(name)
            }

            fn commit_with_root(
                &self,
                blocks: &[(Cid, Vec<u8>)],
                name: &str,
                root: &Cid,
            ) -> tau_ipld::Result<()> {
                (**self).commit_with_root(blocks, name, root)
            }
        }
    )*};
}

// A store shared with other parts of a node (an `Arc<RedbBlockstore>`).
forward_root_store!(&T, std::rc::Rc<T>, std::sync::Arc<T>);

/// An MC unit adopted from a catch-up proof.
#[derive(Debug, Clone, PartialEq, Eq, Serialize_tuple, Deserialize_tuple)]
pub struct Adoption {
    /// Units in the DAG (genesis included) when it was adopted.
    pub after: u64,
    /// The adopted MC unit.
    pub unit: Cid,
}

/// One block of a replica's log: what one call added.
#[derive(Debug, Clone, PartialEq, Eq, Serialize_tuple, Deserialize_tuple)]
pub struct LogSegment {
    /// Format version (1).
    pub version: u64,
    /// The genesis unit.
    pub genesis: Cid,
    /// The previous segment; `None` for the first.
    pub prev: Option<Cid>,
    /// DAG number of the first unit in `units` (the genesis is 0).
    pub start: u64,
    /// Units that entered the DAG, in order.
    pub units: Vec<Cid>,
    /// Catch-up adoptions, in order, with `after` in
    /// `start..=start + units.len()`.
    pub adopted: Vec<Adoption>,
}

type CommitFn<BS> = fn(&BS, &[(Cid, Vec<u8>)], &str, &Cid) -> tau_ipld::Result<()>;

/// The log state of a persistent replica.
pub(crate) struct Journal<BS> {
    commit: CommitFn<BS>,
    genesis: Cid,
    /// The newest segment written.
    head: Option<Cid>,
    /// DAG units covered by the log (the genesis included).
    logged: u64,
    /// Adoptions not written yet.
    adopted: Vec<Adoption>,
}

impl<BS> std::fmt::Debug for Journal<BS> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Journal")
            .field("head", &self.head)
            .field("logged", &self.logged)
            .field("adopted", &self.adopted)
            .finish_non_exhaustive()
    }
}

fn commit_root<BS: RootStore>(
    store: &BS,
    blocks: &[(Cid, Vec<u8>)],
    name: &str,
    root: &Cid,
) -> tau_ipld::Result<()> {
    store.commit_with_root(blocks, name, root)
}

fn corrupt(what: impl Into<String>) -> Error {
    Error::CorruptReplica(what.into())
}

impl<BS: Blockstore> Replica<BS> {
    /// Notes an MC unit adopted from a catch-up proof (persistent replicas).
    pub(crate) fn log_adopted(&mut self, unit: Cid) {
        let after = self.chain().dag().len() as u64;
        if let Some(j) = self.journal.as_mut() {
            j.adopted.push(Adoption { after, unit });
        }
    }

    /// Writes what entered the DAG or was adopted since the last write
    /// (nothing for an in-memory replica or when nothing changed).
    pub(crate) fn persist(&mut self) -> Result<()> {
        let Some(j) = self.journal.as_ref() else {
            return Ok(());
        };
        let dag = self.chain().dag();
        let len = dag.len() as u64;
        if len == j.logged && j.adopted.is_empty() {
            return Ok(());
        }
        let mut units = Vec::new();
        for n in j.logged..len {
            let id = u32::try_from(n)
                .ok()
                .and_then(|n| dag.id(n))
                .ok_or_else(|| corrupt(format!("unit {n} has no id")))?;
            units.push(id);
        }
        let segment = LogSegment {
            version: VERSION,
            genesis: j.genesis,
            prev: j.head,
            start: j.logged,
            units,
            adopted: j.adopted.clone(),
        };
        let bytes = tau_ipld::canonical::encode("replica log segment", &segment)?;
        let cid = cid_of(DAG_CBOR, &bytes);
        (j.commit)(dag.store(), &[(cid, bytes)], ROOT, &cid).map_err(Error::Store)?;
        if let Some(j) = self.journal.as_mut() {
            j.head = Some(cid);
            j.logged = len;
            j.adopted.clear();
        }
        Ok(())
    }
}

impl<BS: RootStore> Replica<BS> {
    /// A new persistent replica whose DAG holds only `genesis_unit`, kept in
    /// `store` under the root [`ROOT`]; [`Error::ReplicaExists`] if the
    /// store already holds one.
    pub fn create(
        store: BS,
        dag_params: tau_dag::Params,
        chain_params: tau_mainchain::Params,
        params: Params,
        genesis: Genesis,
        genesis_unit: VerifiedUnit,
    ) -> Result<Self> {
        if store.root(ROOT).map_err(Error::Store)?.is_some() {
            return Err(Error::ReplicaExists(ROOT));
        }
        let genesis_id = genesis_unit.id();
        let mut replica = Self::new(
            store,
            dag_params,
            chain_params,
            params,
            genesis,
            genesis_unit,
        )?;
        replica.keep_journal(genesis_id, None, 0);
        // Logs the genesis: the root exists from now on.
        replica.persist()?;
        Ok(replica)
    }

    /// Reopens the persistent replica kept in `store` (after a restart or
    /// a crash) with the same parameters and genesis it was created with:
    /// replays its log (see [`crate::persist`]). The result is the replica
    /// as it was after the last call that returned, with an empty waiting
    /// pool. [`Error::NoReplica`] if the store holds none,
    /// [`Error::CorruptReplica`] if its log is damaged.
    pub fn open(
        store: BS,
        dag_params: tau_dag::Params,
        chain_params: tau_mainchain::Params,
        params: Params,
        genesis: Genesis,
        genesis_unit: VerifiedUnit,
    ) -> Result<Self> {
        let head = store
            .root(ROOT)
            .map_err(Error::Store)?
            .ok_or(Error::NoReplica(ROOT))?;
        let genesis_id = genesis_unit.id();
        // Newest first, then reversed.
        let mut segments = Vec::new();
        let mut next = Some(head);
        while let Some(id) = next {
            let bytes = store
                .get(&id)
                .map_err(|e| corrupt(format!("log segment {id}: {e}")))?
                .ok_or_else(|| corrupt(format!("log segment {id} is missing")))?;
            let segment: LogSegment =
                tau_ipld::canonical::decode_canonical("replica log segment", &bytes)
                    .map_err(|e| corrupt(format!("log segment {id}: {e}")))?;
            if segment.version != VERSION {
                return Err(corrupt(format!(
                    "log segment {id} has version {}",
                    segment.version
                )));
            }
            if segment.genesis != genesis_id {
                return Err(corrupt(format!(
                    "the log's genesis is {}, not {genesis_id}",
                    segment.genesis
                )));
            }
            next = segment.prev;
            segments.push(segment);
        }
        segments.reverse();
        let mut replica = Self::new(
            store,
            dag_params,
            chain_params,
            params,
            genesis,
            genesis_unit,
        )?;
        let mut logged = 0u64;
        for segment in &segments {
            replica.replay(segment, logged)?;
            logged = segment
                .start
                .checked_add(segment.units.len() as u64)
                .ok_or_else(|| corrupt("log length overflows"))?;
        }
        replica.keep_journal(genesis_id, Some(head), logged);
        Ok(replica)
    }

    /// From now on the replica logs what changes it, after the segment
    /// `head` (none: nothing logged yet), the log covering `logged` units.
    fn keep_journal(&mut self, genesis: Cid, head: Option<Cid>, logged: u64) {
        self.journal = Some(Journal {
            commit: commit_root::<BS>,
            genesis,
            head,
            logged,
            adopted: Vec::new(),
        });
    }

    /// Replays one segment; `logged` is the DAG length the log reached so far.
    fn replay(&mut self, segment: &LogSegment, logged: u64) -> Result<()> {
        if segment.start != logged {
            return Err(corrupt(format!(
                "log segment starts at unit {}, the log reached {logged}",
                segment.start
            )));
        }
        let mut units = segment.units.iter();
        // The genesis is unit 0; the replica already holds it.
        let mut n = segment.start;
        if n == 0 {
            match units.next() {
                Some(id) if *id == segment.genesis => n = 1,
                _ => return Err(corrupt("the log does not begin with the genesis")),
            }
        }
        let mut adopted = segment.adopted.iter().peekable();
        let mut out = UnitDelivery::default();
        for id in units {
            self.replay_adoptions(&mut adopted, n, &mut out)?;
            self.replay_unit(id, n, &mut out)?;
            n += 1;
        }
        self.replay_adoptions(&mut adopted, n, &mut out)?;
        if let Some(a) = adopted.next() {
            return Err(corrupt(format!(
                "adoption of {} after unit {} is out of the segment",
                a.unit, a.after
            )));
        }
        Ok(())
    }

    fn replay_adoptions<'a>(
        &mut self,
        adopted: &mut std::iter::Peekable<impl Iterator<Item = &'a Adoption>>,
        n: u64,
        out: &mut UnitDelivery,
    ) -> Result<()> {
        while let Some(a) = adopted.next_if(|a| a.after == n) {
            let m = self
                .chain()
                .dag()
                .num(&a.unit)
                .ok_or_else(|| corrupt(format!("adopted unit {} is not in the DAG", a.unit)))?;
            let stable = self
                .chain_mut()
                .adopt_stable(m)
                .map_err(|e| corrupt(format!("adoption of {} does not replay: {e}", a.unit)))?;
            self.apply_stable(stable, out)?;
        }
        Ok(())
    }

    fn replay_unit(&mut self, id: &Cid, n: u64, out: &mut UnitDelivery) -> Result<()> {
        let bytes = self
            .chain()
            .dag()
            .store()
            .get(id)
            .map_err(|e| corrupt(format!("unit {id}: {e}")))?
            .ok_or_else(|| corrupt(format!("unit {id} is missing from the store")))?;
        // Verified when it was received; `get` re-hashed the bytes.
        let dag_params = self.chain().dag().params();
        let unit = tau_dag::Unit::decode(&bytes, dag_params)
            .and_then(|u| u.assume_verified(dag_params))
            .map_err(|e| corrupt(format!("unit {id}: {e}")))?;
        let inserted = self.try_insert(unit, out);
        // As on receipt: an error after the unit entered the DAG (a rule
        // judged at stability) left it there, and the replay goes on.
        let at = u32::try_from(n).ok().and_then(|n| self.chain().dag().id(n));
        match inserted {
            Ok(true) | Err(_) if at == Some(*id) => Ok(()),
            Ok(_) => Err(corrupt(format!("unit {id} does not replay as unit {n}"))),
            Err(e) => Err(corrupt(format!("unit {id} does not replay: {e}"))),
        }
    }
}
