//! The catch-up proof verifier: an honest proof brings a replica stuck
//! behind a round switch (or behind the witnesses' hand-over to TrustME-PoW)
//! across it; forged, wrongly witnessed, conflicting
//! and truncated proofs get their typed errors and change nothing that was
//! not checked.

use cid::Cid;
use serde_bytes::ByteBuf;
use tau_dag::{Message, Unit};
use tau_ipld::MemoryBlockstore;
use tau_trustme::sim::{Partition, Sim, SimConfig};

mod common;
use common::{feed, minority_replica};
use tau_trustme::{CatchupProof, Error, Replica, UnitDelivery};

type R = Replica<MemoryBlockstore>;

/// The partition of `tests/network.rs` just before the heal: node 0 on the
/// majority side has switched rounds, node 3 on the minority side is stuck
/// in round 1.
fn partitioned() -> Sim {
    let sim = common::partitioned();
    assert!(sim.replica(0).rounds().all().len() > 1);
    assert_eq!(sim.replica(3).rounds().all().len(), 1);
    sim
}

/// A fresh replica holding node 3's DAG (the minority), in node 3's order.
fn minority(sim: &Sim) -> R {
    let mut replica = minority_replica(sim, MemoryBlockstore::new(), Replica::new);
    feed(&mut replica, sim, 3);
    replica
}

/// The minority at the heal, before any of the majority's units arrived:
/// in round 1, behind the majority's round switch. (Given all of the
/// majority's units it would mostly cross by its own rule: every present
/// attestor of the majority kept its turn in round 1 until the switch was
/// stable, and those units make it stable for the minority too.)
fn behind(sim: &Sim) -> R {
    let replica = minority(sim);
    assert_eq!(replica.rounds().all().len(), 1);
    replica
}

fn stable_ids(r: &R) -> Vec<Cid> {
    let chain = r.chain();
    chain
        .stable_order()
        .iter()
        .map(|&n| chain.dag().id(n).unwrap())
        .collect()
}

fn proof_for(sim: &Sim, behind: &R) -> CatchupProof {
    let proof = sim
        .replica(0)
        .catchup_proof(&behind.catchup_request())
        .unwrap();
    assert!(proof.steps.len() >= 2, "{} steps", proof.steps.len());
    proof
}

/// A two-step proof, carrying only the units its witnesses need: too few
/// for the replica's own rule to make those steps stable, so each step's
/// witnesses are what is checked (a long proof carries so many units that
/// the own rule may get there first, and a bad witness is never looked at).
fn short_proof(sim: &Sim, behind: &R) -> CatchupProof {
    let proof = sim
        .replica(0)
        .catchup_proof_steps(&behind.catchup_request(), 2)
        .unwrap();
    assert_eq!(proof.steps.len(), 2);
    proof
}

/// Applies `proof` and checks that the replica's stable point and history
/// did not move.
fn rejected(behind: &mut R, proof: &CatchupProof) -> Error {
    let before = stable_ids(behind);
    let mut out = UnitDelivery::default();
    let err = behind.apply_catchup(proof, &mut out).unwrap_err();
    assert!(out.stabilized.is_empty(), "{err}: {:?}", out.stabilized);
    assert_eq!(stable_ids(behind), before);
    err
}

#[test]
fn honest_proof_brings_the_minority_across_the_switch() {
    let sim = partitioned();
    let mut behind = behind(&sim);
    let before = stable_ids(&behind);
    let from = behind.chain().last_stable_mci();
    let proof = proof_for(&sim, &behind);
    // Through the wire format and back.
    let bytes = proof.encode().unwrap();
    let proof = CatchupProof::decode(&bytes, 8 << 20).unwrap();
    let mut out = UnitDelivery::default();
    behind.apply_catchup(&proof, &mut out).unwrap();
    let last = from + proof.steps.len() as u64;
    assert!(behind.chain().last_stable_mci() >= last);
    assert_eq!(out.stabilized.first(), Some(&(from + 1)));
    // Nothing reverted; the adopted MC units are the proof's.
    assert!(stable_ids(&behind).starts_with(&before));
    let ahead = sim.replica(0).chain();
    for step in &proof.steps {
        let n = behind.chain().stable_mc_unit(step.mci).unwrap();
        assert_eq!(behind.chain().dag().id(n), Some(step.mc_unit));
        let a = ahead.stable_mc_unit(step.mci).unwrap();
        assert_eq!(ahead.dag().id(a), Some(step.mc_unit));
    }
    // The same stable units in the same order as the peer, so the same rounds.
    let theirs: Vec<Cid> = ahead
        .stable_order()
        .iter()
        .map(|&n| ahead.dag().id(n).unwrap())
        .collect();
    let mine = stable_ids(&behind);
    assert!(theirs.starts_with(&mine) || mine.starts_with(&theirs));
    let rounds = behind.rounds().all();
    assert!(rounds.len() > 1, "still in round 1");
    for (r, a) in rounds.iter().zip(sim.replica(0).rounds().all()) {
        assert_eq!(r.attestors, a.attestors, "round {}", r.round);
        assert_eq!(r.pub_seed, a.pub_seed, "round {}", r.round);
        if r.coinbase.is_some() && a.coinbase.is_some() {
            assert_eq!(r.coinbase, a.coinbase, "round {}", r.round);
        }
    }
    // Nothing to prove to a replica that is not behind.
    let none = sim
        .replica(0)
        .catchup_proof(&sim.replica(0).catchup_request())
        .unwrap();
    assert!(none.steps.is_empty() && none.units.is_empty());
    // Applied again, every step is checked against the stable chain and
    // nothing moves.
    let now = stable_ids(&behind);
    let mut again = UnitDelivery::default();
    behind.apply_catchup(&proof, &mut again).unwrap();
    assert!(again.stabilized.is_empty());
    assert_eq!(stable_ids(&behind), now);
}

#[test]
fn forged_signature_is_rejected_before_anything_is_used() {
    let sim = partitioned();
    let mut behind = behind(&sim);
    let mut proof = proof_for(&sim, &behind);
    let dag_len = behind.chain().dag().len();
    // Change a carried unit's content, keep its signature.
    let i = proof.units.len() - 1;
    let mut unit: Unit = serde_ipld_dagcbor::from_slice(&proof.units[i]).unwrap();
    unit.unsigned.timestamp += 1;
    proof.units[i] = ByteBuf::from(serde_ipld_dagcbor::to_vec(&unit).unwrap());
    let err = rejected(&mut behind, &proof);
    assert!(
        matches!(err, Error::Dag(tau_dag::Error::BadSignature { .. })),
        "{err:?}"
    );
    assert_eq!(behind.chain().dag().len(), dag_len, "a unit went in");
}

#[test]
fn witness_by_a_non_attestor_is_rejected() {
    let sim = partitioned();
    let mut behind = behind(&sim);
    let mut proof = short_proof(&sim, &behind);
    // A PoW unit the replica holds: signed and valid, but not an
    // attestation (its author attests in round 1 with TrustME units).
    let dag = behind.chain().dag();
    let pow = (1..dag.len() as u32)
        .filter_map(|n| dag.id(n))
        .find(|id| {
            let u = dag.unit(id).unwrap().unwrap();
            matches!(u.unsigned.messages[..], [Message::PowEquihash(_)])
        })
        .expect("a PoW unit");
    proof.steps[0].witnesses[0] = pow;
    let err = rejected(&mut behind, &proof);
    assert!(
        matches!(err, Error::WitnessNotAttestor { round: 1, .. }),
        "{err:?}"
    );
    // The same with a valid TrustME unit that is not built on the MC unit
    // (one below it).
    let mut proof = short_proof(&sim, &behind);
    let below = proof.from_unit;
    let dag = behind.chain().dag();
    let below = std::iter::successors(dag.num(&below), |&n| dag.best_parent(n))
        .find(|&n| dag.is_attestation(n))
        .and_then(|n| dag.id(n))
        .expect("a TrustME unit on the stable chain");
    proof.steps[0].witnesses[0] = below;
    let err = rejected(&mut behind, &proof);
    assert!(matches!(err, Error::WitnessOffChain { .. }), "{err:?}");
}

#[test]
fn proof_conflicting_with_own_stable_units_is_rejected() {
    let sim = partitioned();
    let mut behind = behind(&sim);
    let proof = short_proof(&sim, &behind);
    // Another unit at the replica's own stable MCI.
    let mut other = proof.clone();
    other.from_unit = proof.steps[0].mc_unit;
    let err = rejected(&mut behind, &other);
    assert!(matches!(err, Error::CatchupConflict { .. }), "{err:?}");
    // A first step that does not extend the stable MC unit.
    let mut skip = proof.clone();
    skip.steps[0].mc_unit = proof.steps[1].mc_unit;
    let err = rejected(&mut behind, &skip);
    let from = proof.from_mci;
    assert!(
        matches!(err, Error::CatchupConflict { mci } if mci == from + 1),
        "{err:?}"
    );
    // A replica further on refuses a proof whose steps it has stable with
    // other units.
    let mut out = UnitDelivery::default();
    behind.apply_catchup(&proof, &mut out).unwrap();
    let mut rewritten = proof.clone();
    rewritten.steps[1].mc_unit = proof.steps[0].mc_unit;
    rewritten.steps[1].mci = proof.steps[1].mci;
    let err = rejected(&mut behind, &rewritten);
    assert!(
        matches!(err, Error::CatchupConflict { mci } if mci == proof.steps[1].mci),
        "{err:?}"
    );
}

#[test]
fn truncated_proofs_are_rejected() {
    let sim = partitioned();
    let mut behind = behind(&sim);
    let proof = proof_for(&sim, &behind);
    // Cut bytes.
    let bytes = proof.encode().unwrap();
    let err = CatchupProof::decode(&bytes[..bytes.len() - 7], 8 << 20).unwrap_err();
    assert!(matches!(err, Error::Codec(_)), "{err:?}");
    // Over the size limit: refused before parsing.
    let err = CatchupProof::decode(&bytes, bytes.len() - 1).unwrap_err();
    assert!(matches!(err, Error::ProofTooLarge { .. }), "{err:?}");
    // Witnesses cut below a majority.
    let mut few = short_proof(&sim, &behind);
    few.steps[0].witnesses.truncate(1);
    let err = rejected(&mut behind, &few);
    assert!(
        matches!(
            err,
            Error::TooFewWitnesses {
                got: 1,
                need: 3,
                ..
            }
        ),
        "{err:?}"
    );
    // A step missing in the middle.
    let mut gap = proof.clone();
    gap.steps.remove(1);
    let err = rejected(&mut behind, &gap);
    assert!(matches!(err, Error::CatchupGap { .. }), "{err:?}");
    // Units cut, for a replica that lacks them: the steps that rely on them
    // stop the proof (those before may be applied: they were checked).
    let mut lacking = minority(&sim);
    let proof = proof_for(&sim, &lacking);
    let mut bare = proof.clone();
    bare.units.clear();
    let mut out = UnitDelivery::default();
    let err = lacking.apply_catchup(&bare, &mut out).unwrap_err();
    assert!(matches!(err, Error::CatchupUnknownUnit(_)), "{err:?}");
    let last = proof.from_mci + proof.steps.len() as u64;
    assert!(lacking.chain().last_stable_mci() < last);
    // The whole proof brings it there.
    lacking.apply_catchup(&proof, &mut out).unwrap();
    assert!(lacking.chain().last_stable_mci() >= last);
    // The intact proof still works afterwards: nothing was spoiled.
    let proof = proof_for(&sim, &behind);
    let mut out = UnitDelivery::default();
    behind.apply_catchup(&proof, &mut out).unwrap();
    assert!(!out.stabilized.is_empty());
}

/// TR §5.2 with a partition: a minority of the witnesses cut off during the
/// witness phase stays in round 0 while the majority hands over to
/// TrustME-PoW and switches rounds after it; the majority's proof carries
/// the minority across the hand-over, to the same rounds.
#[test]
fn honest_proof_brings_the_minority_across_the_witness_hand_over() {
    let mut cfg = SimConfig::devnet(6, 100, 5);
    cfg.witness_switch_mci = Some(8);
    cfg.partition = Some(Partition {
        start_ms: 2_000,
        heal_ms: 50_000,
        side: vec![0, 1, 2, 5, 6],
    });
    cfg.max_time_ms = 60_000;
    let mut sim = Sim::new(cfg).unwrap();
    sim.run_until(30_000).unwrap();
    let ahead = sim.replica(0).rounds().all();
    assert_eq!(ahead[0].round, 0);
    assert!(ahead.len() > 2, "the majority did not pass round 1");
    assert_eq!(
        sim.replica(3).rounds().all().len(),
        1,
        "the minority left round 0"
    );
    let mut behind = minority(&sim);
    assert_eq!(behind.rounds().current().round, 0);
    let before = stable_ids(&behind);
    let proof = proof_for(&sim, &behind);
    let proof = CatchupProof::decode(&proof.encode().unwrap(), 8 << 20).unwrap();
    let mut out = UnitDelivery::default();
    behind.apply_catchup(&proof, &mut out).unwrap();
    assert!(stable_ids(&behind).starts_with(&before));
    let rounds = behind.rounds().all();
    assert!(
        rounds.len() > 2,
        "still at round {}",
        behind.rounds().current().round
    );
    for (r, a) in rounds.iter().zip(ahead) {
        assert_eq!(r.round, a.round);
        assert_eq!(r.attestors, a.attestors, "round {}", r.round);
        assert_eq!(r.pub_seed, a.pub_seed, "round {}", r.round);
        assert_eq!(r.start_mci, a.start_mci, "round {}", r.round);
    }
    let last = behind.chain().last_stable_mci();
    assert_eq!(
        behind.rounds().state_digest(last),
        sim.replica(0).rounds().state_digest(last)
    );
}
