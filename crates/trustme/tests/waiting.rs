//! The waiting pool: what a unit still needs before it can enter the DAG,
//! followed through waiting units to the ids nobody sent yet.

use cid::Cid;
use tau_dag::Message;

mod common;
use common::unit;

fn data(d: &str) -> Message {
    Message::Data(d.as_bytes().to_vec())
}

/// A chain genesis ← a ← b ← c where only b and c arrived: c needs a, not
/// just its own parent b (which waits); once a arrives nothing is missing.
#[test]
fn missing_ancestors_follow_waiting_parents_to_the_unknown_ones() {
    let (_, mut replica) = common::round1_replica(b"waiting test genesis");
    let genesis = replica.chain().dag().id(0).unwrap();
    let a = unit(&[genesis], 5, 1, 1, data("a"));
    let side = unit(&[genesis], 4, 1, 1, data("side"));
    let b = unit(&[a.id()], 5, 1, 2, data("b"));
    let c = unit(&[b.id(), side.id()], 5, 1, 3, data("c"));

    // Nothing held: the unit itself is what is missing.
    assert_eq!(replica.missing_ancestors(&c.id(), 16), vec![c.id()]);
    assert!(replica.receive(c.clone()).unwrap().waiting);
    let mut missing = replica.missing_ancestors(&c.id(), 16);
    missing.sort_by_key(Cid::to_bytes);
    let mut want = vec![b.id(), side.id()];
    want.sort_by_key(Cid::to_bytes);
    assert_eq!(missing, want);

    assert!(replica.receive(b.clone()).unwrap().waiting);
    assert!(replica.receive(side.clone()).unwrap().accepted.len() == 1);
    // b waits on a: a is what c needs now, though c names only b and side.
    assert_eq!(replica.missing_ancestors(&c.id(), 16), vec![a.id()]);
    assert_eq!(replica.missing_ancestors(&b.id(), 16), vec![a.id()]);

    let delivery = replica.receive(a.clone()).unwrap();
    assert_eq!(delivery.accepted, vec![a.id(), b.id(), c.id()]);
    assert_eq!(replica.waiting(), 0);
    assert!(replica.missing_ancestors(&c.id(), 16).is_empty());
}

/// A chain of waiting units, each with its own made-up parent: the walk
/// finds all of them, but a caller gets at most the `max` it asks for.
#[test]
fn missing_ancestors_are_capped() {
    let (_, mut replica) = common::round1_replica(b"waiting cap genesis");
    let mut below = tau_dag::id::unit_id(b"made up 0");
    for i in 1..=40u64 {
        let ghost = tau_dag::id::unit_id(format!("made up {i}").as_bytes());
        let u = unit(&[below, ghost], 5, 1, i, data(&format!("u{i}")));
        below = u.id();
        assert!(replica.receive(u).unwrap().waiting);
    }
    assert_eq!(replica.missing_ancestors(&below, 1_000).len(), 41);
    assert_eq!(replica.missing_ancestors(&below, 16).len(), 16);
}
