//! Bad input is rejected with typed errors and changes nothing; orphans
//! wait and are released; a DAG reloads from its store; arbitrary bytes
//! never panic the decoder.

use cid::Cid;
use proptest::prelude::*;
use tau_dag::{Dag, Error, FixedAttestors, Message, Params, Unit, UnsignedUnit, VerifiedUnit};
use tau_ipld::MemoryBlockstore;
use tau_keys::Keypair;

fn key(i: u8) -> Keypair {
    Keypair::from_bytes(&[i + 1; 32]).unwrap()
}

fn attestors() -> FixedAttestors {
    FixedAttestors::new((0..3).map(|i| key(i).address()))
}

fn unsigned(parents: Vec<Cid>, stamp: u64) -> UnsignedUnit {
    let mut parents = parents;
    parents.sort_unstable_by_key(|c| c.to_bytes());
    UnsignedUnit {
        version: 1,
        round: 1,
        timestamp: stamp,
        parents,
        authors: vec![key(0).address()],
        messages: vec![Message::TrustMe(vec![1, 2, 3])],
    }
}

fn unit(parents: Vec<Cid>, stamp: u64) -> VerifiedUnit {
    unsigned(parents, stamp)
        .sign(&[&key(0)])
        .unwrap()
        .verify(&Params::devnet())
        .unwrap()
}

fn new_dag() -> Dag<MemoryBlockstore> {
    Dag::new(MemoryBlockstore::new(), Params::devnet(), unit(vec![], 0)).unwrap()
}

/// The parts of a DAG a rejected unit must not change.
fn snapshot(dag: &Dag<MemoryBlockstore>) -> (usize, Vec<u32>, usize, usize) {
    (
        dag.len(),
        dag.free_units().collect(),
        dag.orphan_count(),
        dag.store().len(),
    )
}

#[test]
fn bad_units_are_rejected_and_change_nothing() {
    let mut dag = new_dag();
    let set = attestors();
    let g = dag.genesis();
    let a = unit(vec![g], 1);
    let a_id = a.id();
    dag.insert(a.clone(), &set).unwrap();
    let b = unit(vec![a_id], 2);
    let b_id = b.id();
    dag.insert(b, &set).unwrap();
    let before = snapshot(&dag);

    // Duplicate.
    assert!(matches!(dag.insert(a, &set), Err(Error::Duplicate(_))));
    // Parents including one another: b includes a.
    let c = unit(vec![a_id, b_id], 3);
    assert!(matches!(
        dag.insert(c, &set),
        Err(Error::ParentsIncludeEachOther { .. })
    ));
    // Including genesis and a descendant of it.
    let c = unit(vec![g, b_id], 4);
    assert!(matches!(
        dag.insert(c, &set),
        Err(Error::ParentsIncludeEachOther { .. })
    ));
    // Second genesis.
    let second = unit(vec![], 5);
    assert!(matches!(
        dag.insert(second, &set),
        Err(Error::SecondGenesis(_))
    ));
    assert_eq!(snapshot(&dag), before);

    // Unsorted and repeated parents, bad parent ids: structure errors.
    let params = Params::devnet();
    let mut u = unsigned(vec![], 6);
    let (lo, hi) = if a_id.to_bytes() < b_id.to_bytes() {
        (a_id, b_id)
    } else {
        (b_id, a_id)
    };
    u.parents = vec![hi, lo];
    let signed = u.clone().sign(&[&key(0)]).unwrap();
    assert!(matches!(
        signed.verify(&params),
        Err(Error::UnsortedParents)
    ));
    u.parents = vec![lo, lo];
    let signed = u.clone().sign(&[&key(0)]).unwrap();
    assert!(matches!(
        signed.verify(&params),
        Err(Error::UnsortedParents)
    ));
    u.parents = vec![tau_ipld::block::cid_of(tau_ipld::block::RAW, b"x")];
    let signed = u.clone().sign(&[&key(0)]).unwrap();
    assert!(matches!(signed.verify(&params), Err(Error::BadParentId(_))));
    // Too many parents.
    u.parents = (0..17u8).map(|i| tau_dag::id::unit_id(&[i])).collect();
    u.parents.sort_unstable_by_key(|c| c.to_bytes());
    let signed = u.clone().sign(&[&key(0)]).unwrap();
    assert!(matches!(
        signed.verify(&params),
        Err(Error::ParentCount { count: 17, .. })
    ));
    // Bad signature: signed by another key.
    let u = unsigned(vec![g], 7);
    let forged = Unit {
        signatures: vec![key(1).sign(&u.signing_digest().unwrap())],
        unsigned: u,
    };
    assert!(matches!(
        forged.verify(&params),
        Err(Error::BadSignature { .. })
    ));
    // Oversize.
    let mut big = unsigned(vec![g], 8);
    big.messages = vec![Message::Data(vec![0; params.max_unit_size])];
    let big = big.sign(&[&key(0)]).unwrap();
    assert!(matches!(
        big.clone().verify(&params),
        Err(Error::Oversize { .. })
    ));
    let bytes = big.encode().unwrap();
    assert!(matches!(
        VerifiedUnit::from_bytes(&bytes, &params),
        Err(Error::Oversize { .. })
    ));
    assert_eq!(snapshot(&dag), before);
}

#[test]
fn orphans_wait_for_parents_and_forged_links_never_resolve() {
    let mut dag = new_dag();
    let set = attestors();
    let a = unit(vec![dag.genesis()], 1);
    let b = unit(vec![a.id()], 2);
    let c = unit(vec![b.id()], 3);
    // Children first.
    assert!(dag.insert(c.clone(), &set).unwrap().orphaned);
    assert!(dag.insert(b.clone(), &set).unwrap().orphaned);
    assert!(matches!(
        dag.insert(c.clone(), &set),
        Err(Error::Duplicate(_))
    ));
    assert_eq!((dag.len(), dag.orphan_count()), (1, 2));
    let done = dag.insert(a.clone(), &set).unwrap();
    let ids: Vec<Cid> = done.accepted.iter().map(|x| x.unit.id()).collect();
    assert_eq!(ids, [a.id(), b.id(), c.id()]);
    assert_eq!((dag.len(), dag.orphan_count()), (4, 0));
    assert_eq!(dag.level(dag.num(&c.id()).unwrap()), Some(3));

    // A "cycle" through forged ids: each unit names the id the other would
    // have. Ids are hashes of the content, so neither parent ever exists.
    let ghost_x = tau_dag::id::unit_id(b"x");
    let ghost_y = tau_dag::id::unit_id(b"y");
    let x = unit(vec![ghost_y], 10);
    let y = unit(vec![ghost_x], 11);
    assert!(dag.insert(x, &set).unwrap().orphaned);
    assert!(dag.insert(y, &set).unwrap().orphaned);
    assert_eq!(dag.len(), 4);
}

#[test]
fn orphan_pool_is_bounded() {
    let mut params = Params::devnet();
    params.max_orphans = 5;
    let mut dag = Dag::new(MemoryBlockstore::new(), params, unit(vec![], 0)).unwrap();
    let set = attestors();
    let mut dropped = 0;
    for i in 0..20u8 {
        let ghost = tau_dag::id::unit_id(&[i]);
        dropped += dag
            .insert(unit(vec![ghost], u64::from(i) + 1), &set)
            .unwrap()
            .dropped_orphans;
    }
    assert_eq!(dag.orphan_count(), 5);
    assert_eq!(dropped, 15);
}

#[test]
fn choose_parents_and_reload() {
    let mut dag = new_dag();
    let set = attestors();
    let g = dag.genesis();
    let mut ids = Vec::new();
    for i in 0..20u64 {
        let u = unit(vec![g], i + 1);
        ids.push(u.id());
        dag.insert(u, &set).unwrap();
    }
    let parents = dag.choose_parents();
    assert_eq!(parents.len(), 16);
    assert!(parents
        .windows(2)
        .all(|w| w[0].to_bytes() < w[1].to_bytes()));
    let top = unit(parents, 99);
    dag.insert(top.clone(), &set).unwrap();
    let root = dag.checkpoint().unwrap();

    let store = MemoryBlockstore::new();
    for id in ids.iter().chain([&g, &top.id(), &root]) {
        use tau_ipld::Blockstore;
        store
            .put_keyed(id, &dag.store().get(id).unwrap().unwrap())
            .unwrap();
    }
    let again = Dag::open(store, Params::devnet(), &root, &set).unwrap();
    assert_eq!(again.len(), dag.len());
    for id in ids.iter().chain([&g, &top.id()]) {
        let (a, b) = (dag.num(id).unwrap(), again.num(id).unwrap());
        assert_eq!(dag.level(a), again.level(b));
        assert_eq!(dag.attestation_level(a), again.attestation_level(b));
        assert_eq!(
            dag.best_parent(a).and_then(|p| dag.id(p)),
            again.best_parent(b).and_then(|p| again.id(p))
        );
    }
    assert_eq!(again.unit(&top.id()).unwrap().unwrap(), top.into_unit());
}

proptest! {
    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        let _ = VerifiedUnit::from_bytes(&bytes, &Params::devnet());
    }

    #[test]
    fn mutated_units_never_panic(flip in any::<(usize, u8)>(), stamp in any::<u64>()) {
        let mut bytes = unit(vec![tau_dag::id::unit_id(b"p")], stamp).bytes().to_vec();
        let i = flip.0 % bytes.len();
        bytes[i] ^= flip.1.max(1);
        let _ = VerifiedUnit::from_bytes(&bytes, &Params::devnet());
        let _ = Unit::decode(&bytes, &Params::devnet());
    }

    #[test]
    fn encoding_round_trips(stamp in any::<u64>(), data in prop::collection::vec(any::<u8>(), 0..64)) {
        let mut u = unsigned(vec![tau_dag::id::unit_id(b"p")], stamp);
        u.messages.push(Message::Data(data));
        let v = u.sign(&[&key(0)]).unwrap().verify(&Params::devnet()).unwrap();
        let back = VerifiedUnit::from_bytes(v.bytes(), &Params::devnet()).unwrap();
        prop_assert_eq!(back, v);
    }
}

/// A unit or released orphan refused by the caller's admission check is not
/// added and changes nothing (attestation slots included: a unit accepted
/// afterwards gets the same attestation level as without the refusal).
#[test]
fn refused_units_change_nothing() {
    let mut dag = new_dag();
    let set = attestors();
    let g = dag.genesis();
    let a = unit(vec![g], 1);
    let a_id = a.id();
    let before = snapshot(&dag);
    let mut seen = Vec::new();
    let mut refuse = |_: &Dag<MemoryBlockstore>, c: &tau_dag::Candidate<'_>| {
        seen.push((c.level, c.best_parent, c.best_free_after));
        false
    };
    assert!(matches!(
        dag.insert_with(a.clone(), &set, &mut refuse),
        Err(Error::Refused(_))
    ));
    // The candidate: level 1 on genesis, and it would be the best free unit.
    assert_eq!(seen, [(1, 0, None)]);
    assert_eq!(snapshot(&dag), before);
    assert!(!dag.contains(&a_id));

    // An orphan released by an admitted unit and then refused.
    let b = unit(vec![a_id], 2);
    let b_id = b.id();
    assert!(dag.insert(b, &set).unwrap().orphaned);
    let mut first = true;
    let done = dag
        .insert_with(a, &set, &mut |_, _| std::mem::take(&mut first))
        .unwrap();
    assert_eq!(done.accepted.len(), 1);
    assert!(matches!(done.rejected.as_slice(), [(id, Error::Refused(_))] if *id == b_id));
    assert!(!dag.contains(&b_id));
    assert_eq!(dag.orphan_count(), 0);

    // Later units are unaffected by the refused ones.
    let b = unit(vec![a_id], 3);
    let n = dag.insert(b, &set).unwrap().accepted[0].num;
    let mut fresh = new_dag();
    let a2 = unit(vec![g], 1);
    fresh.insert(a2, &set).unwrap();
    let m = fresh.insert(unit(vec![a_id], 3), &set).unwrap().accepted[0].num;
    assert_eq!(dag.attestation_level(n), fresh.attestation_level(m));
    assert_eq!(dag.best_free(), Some(n));
}
