//! What a peer can send is refused, never fatal: a replica that refuses a
//! unit is unchanged and goes on taking units.

use tau_dag::Message;

mod common;
use common::unit;

fn data(d: &str) -> Message {
    Message::Data(d.as_bytes().to_vec())
}

/// Parents that include each other pass every check before the DAG's
/// insertion, which refuses them: the error is a refusal (`is_fatal` is
/// false), nothing changed, and the next unit goes in.
#[test]
fn a_unit_the_dag_refuses_is_not_fatal() {
    let (_, mut replica) = common::round1_replica(b"refusals test genesis");
    let genesis = replica.chain().dag().id(0).unwrap();
    let a = unit(&[genesis], 5, 1, 1, data("a"));
    replica.receive(a.clone()).unwrap();
    let units = replica.chain().dag().len();
    let bad = unit(
        &[genesis, a.id()],
        5,
        1,
        2,
        data("parents include each other"),
    );
    let err = replica.receive(bad.clone()).unwrap_err();
    assert!(
        matches!(
            err,
            tau_trustme::Error::MainChain(tau_mainchain::Error::Dag(
                tau_dag::Error::ParentsIncludeEachOther { .. }
            ))
        ),
        "{err}"
    );
    assert!(!err.is_fatal(), "{err}");
    assert_eq!(replica.chain().dag().len(), units);
    assert!(!replica.holds(&bad.id()));
    let b = unit(&[a.id()], 5, 1, 3, data("b"));
    assert_eq!(replica.receive(b.clone()).unwrap().accepted, vec![b.id()]);
}
